/*
 * create-order: the ACME order, created only now that the delegation is
 * verified, and only once per generation: the order's URL is recorded in the
 * domain as soon as the CA answers newOrder, before anything else, so a job
 * reclaimed after a crash finds it and carries on with it.  A recorded
 * order is reused while the CA still has it pending, ready or processing,
 * and a valid one whose key was recorded goes on to finalize (which
 * downloads it); only an order the CA no longer has, or that went invalid,
 * or that was finalized with a key we lost, is replaced.
 *
 * A process sends one newOrder at a time (the request and its record are
 * one critical section), and a run that finds another run of its job in
 * the middle of a newOrder ("order_started") waits for it: a crash costs
 * at most one order nobody recorded per process, and a reclaim none.
 *
 * The fleet-wide rate limiter (ratelimit.h) delays the job, never fails it:
 * a job that must wait for a new-order token takes its place in line once
 * (the slot and the bucket's shift are kept in the domain's record as
 * "rl_slot" and "rl_shift") and sleeps in the delayed set until its slot, without counting
 * an attempt; failed authorizations per identifier (taken by finalize) only
 * delay it the same way.  A turn used late passes a second gate, of the
 * orders really sent (sent_within_limit); a newOrder that fails because
 * the CA is down blocks the line until the job's next try (outage_block).
 *
 * A verification older than a few dns.confirmation_interval_ms (the job
 * waited in line, or for the CA) is looked at again before the job asks
 * for its turn: a delegation the customer removed meanwhile sends the job
 * back to verify-cname without an order (tests/soak/README.md, finding 2).
 *
 * This file is the driver: it asks DNS, the CA, the rate limiter and
 * Redis, and create_order_policy.h decides each step.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bucket.h"
#include "ca_choice.h"
#include "ca_health.h"
#include "create_order_policy.h"
#include "domain_rec.h"
#include "gate.h"
#include "log.h"
#include "order.h"
#include "pipeline.h"
#include "stages.h"

#define NAMES_MAX 16

/* Whether the order recorded for this generation decides the run (OUT
 * set: it is resumed, or the CA could not be asked); false: order anew. */
static bool recorded_order(struct stage_env *env, struct acme_client *c,
                           const struct domain_rec *rec, const struct job *job,
                           struct outcome *out)
{
	const char *url = order_recorded(rec, job);
	struct acme_order o = { 0 };
	char mem[ORDER_URL_MAX], gen[24];
	bool recalled = false, gone;
	long long ra;

	if (!url) {
		/* Redis lost the record (a restart without the last second of
		 * writes) or was down when it was made: this process remembers */
		if (!order_recall(env, job, mem, sizeof(mem)))
			return false;
		url = mem;
		recalled = true;
	}
	enum acme_status st = order_poll(c, url, &o, &ra, &gone);
	enum co_recorded r = co_recorded(st, o.status, gone,
	                                 rec_str(rec, "pending_key", NULL) != NULL, recalled);
	acme_order_free(&o);
	if (r == CO_ORDER_ANEW)
		return false;
	if (r == CO_ACME_FAILED) {
		pipeline_acme_failed(env, job, st, "fetching the recorded order", out);
		return true;
	}
	if (r == CO_USABLE_RECALLED) {
		log_msg(LOG_INFO, "stage=create-order domain=%s the record lost the order "
		        "this process created: %s", job->domain, url);
		snprintf(gen, sizeof(gen), "%llu", (unsigned long long)job->gen);
		if (domain_set(env, job, "order_url", url, "order_gen", gen,
		               (const char *)NULL) != 0) {
			outcome_retry(out, 1000, "redis: %s", queue_errstr(env->q));
			outcome_keep_state(out);
			return true;
		}
	}
	co_resume(r, out);
	return true;
}

/* Looks at the delegation of every base name again when the verification
 * is old (co_stale): a job can wait days in line, and an order for a name
 * whose _acme-challenge the customer removed costs the order and a failed
 * authorization.  The look comes before the place in line is asked for,
 * not just before newOrder: the job sleeps until its slot, so the run that
 * orders is the run that looked, milliseconds later; a job sent back takes
 * no token; and no DNS lookup is made under the ordering lock.  Returns
 * true to go on, or false with OUT set. */
static bool still_delegated(struct stage_env *env, struct job *job,
                            const struct domain_rec *rec, char (*names)[DNAME_MAX + 2],
                            int n, struct outcome *out)
{
	struct pipeline *p = pipeline_of(env);
	long long at = rec_int(rec, "verified_at", 0);
	long long every = p->dns.confirmation_interval_ms;
	/* looked at again no sooner than a second: an interval of 0 is valid */
	long long again = CO_STALE_INTERVALS * every > 1000 ? CO_STALE_INTERVALS * every : 1000;
	struct dns_check_result res;
	char target[DNAME_MAX + 1], now[24];
	bool sure = true;

	if (!co_stale(at, env->now_ms, every))
		return true;
	for (int i = 0; i < n; i++) {
		const char *base = dname_base(names[i]);
		if (rec_base_seen(names, i))
			continue;
		/* one agreement is enough: verify-cname confirmed it already */
		if (pipeline_target(env, job, base, target, sizeof(target)) != 0 ||
		    dns_delegation_check(pipeline_dns(env), base, target,
		                         p->dns.confirmations - 1, &res) != 0) {
			outcome_fail(out, "%s: not a name a delegation can be checked for", base);
			return false;
		}
		pipeline_dns_count("delegation", &res);
		enum co_look l = co_look(base, target, &res, at, env->now_ms, again, out);
		if (l == CO_LOOK_STOP)
			return false;   /* sent back: out->clear drops the place too */
		sure = sure && l == CO_LOOK_PRESENT;
	}
	snprintf(now, sizeof(now), "%llu", (unsigned long long)env->now_ms);
	if (sure && domain_set(env, job, "verified_at", now, (const char *)NULL) != 0)
		log_msg(LOG_INFO, "stage=create-order domain=%s job=%s: verified_at not "
		        "kept (redis: %s): the next run looks again", job->domain, job->id,
		        queue_errstr(env->q));
	return true;
}

/* Waits for the failed-authorization buckets of the names (peek only:
 * finalize takes them), then for this job's turn for a new order.  Returns
 * 0 to go, or sets OUT. */
static int budget(struct stage_env *env, struct job *job, const struct domain_rec *rec,
                  char (*names)[DNAME_MAX + 2], int n, struct outcome *out)
{
	struct pipeline *p = pipeline_of(env);
	const struct ca_conf *ca = pipeline_cur_ca(env);
	const char *scope = pipeline_cur_scope(env);   /* the account's buckets */
	const struct rl_bucket *no = &ca->new_orders;
	struct rl_ticket t = { rec_int(rec, "rl_slot", 0), rec_int(rec, "rl_shift", 0) };
	char bucket[1024], member[DNAME_MAX + JOB_ID_MAX + 32], slot[24], shift[24];
	long long w;

	if (!co_ticket_sane(t.slot, t.shift, env->now_ms, no->period_ms) ||
	    strcmp(rec_str(rec, "rl_ca", ACCOUNT_DEFAULT_CA), ca->name) != 0)
		t.slot = t.shift = 0;   /* not one this CA's bucket gave: a new place */

	/* a job holding a place in line checked these before it took it */
	for (int i = 0; i < n && !t.slot; i++) {
		bucket_name(scope, "failed-authz", names[i], bucket, sizeof(bucket));
		w = ratelimit(env->q, bucket, &p->lc.failed_authz, RL_PEEK, env->now_ms, 0);
		if (w > 0) {
			metrics_counter_add(METRICS_RATELIMIT_WAITS, METRICS_RATELIMIT_WAITS_HELP,
			                    "bucket=\"failed_authz\"", 1);
			pipeline_ca_count(METRICS_CA_WAITS, METRICS_CA_WAITS_HELP, ca->name,
			                  "bucket", "failed_authz");
		}
		if (!co_rate(CO_FAILED_AUTHZ, w, names[i], ca->name, no->limit, no->period_ms,
		             queue_errstr(env->q), out))
			return -1;
	}
	bucket_name(scope, "new-orders", NULL, bucket, sizeof(bucket));
	bool had = t.slot != 0;
	snprintf(member, sizeof(member), "%s %s %s", stage_name(STAGE_CREATE_ORDER),
	         job->domain, job->id);
	w = ratelimit_turn(env->q, bucket, no, env->now_ms, member, &t);
	snprintf(slot, sizeof(slot), "%lld", t.slot);
	snprintf(shift, sizeof(shift), "%lld", t.shift);
	if (w >= 0 && t.slot && !had &&
	    domain_set(env, job, "rl_slot", slot, "rl_shift", shift, "rl_ca", ca->name,
	               (const char *)NULL) != 0)
		w = -1;     /* the place could not be kept: as a Redis failure */
	if (w > 0 && !had) {
		metrics_counter_add(METRICS_RATELIMIT_WAITS, METRICS_RATELIMIT_WAITS_HELP,
		                    "bucket=\"new_orders\"", 1);
		pipeline_ca_count(METRICS_CA_WAITS, METRICS_CA_WAITS_HELP, ca->name, "bucket",
		                  "new_orders");
		ca_health_count(queue_redis(env->q), queue_prefix(env->q), ca->name, "waits");
	}
	return co_rate(CO_NEW_ORDERS, w, NULL, ca->name, no->limit, no->period_ms,
	               queue_errstr(env->q), out)
	       ? 0 : -1;
}

/* newOrder failed because the CA is down (no connection, a timeout, a 5xx
 * without a problem document): nobody orders until this job
 * tries again (the places in line move back with the outage, as after a
 * rateLimited answer), so that a dead CA is asked about once per backoff,
 * not once per place that comes. */
static void outage_block(struct stage_env *env, const struct job *job,
                         const struct outcome *out)
{
	const struct ca_conf *ca = pipeline_cur_ca(env);
	long long ms = co_outage_block(out, &env->cfg->policy[STAGE_CREATE_ORDER],
	                               job->attempt);
	uint64_t now = queue_now_ms();     /* newOrder may have taken a while */
	char bucket[1024];

	if (ms <= 0 || ca->new_orders.limit <= 0)
		return;
	bucket_name(pipeline_cur_scope(env), "new-orders", NULL, bucket, sizeof(bucket));
	if (ratelimit(env->q, bucket, &ca->new_orders, RL_BLOCK, now, now + (uint64_t)ms) < 0) {
		log_msg(LOG_WARN, "stage=create-order domain=%s the new-order line could "
		        "not be blocked for the CA's outage: %s", job->domain,
		        queue_errstr(env->q));
		return;
	}
	metrics_counter_add(METRICS_RATELIMIT_WAITS, METRICS_RATELIMIT_WAITS_HELP,
	                    "bucket=\"ca_outage\"", 1);
	pipeline_ca_count(METRICS_CA_WAITS, METRICS_CA_WAITS_HELP, ca->name, "bucket",
	                  "ca_outage");
	log_msg(LOG_WARN, "stage=create-order domain=%s the CA failed newOrder (%s): "
	        "no new order before %lld ms from now (the new-order line is blocked; "
	        "attempt %u of this job)", job->domain, out->reason, ms, job->attempt + 1);
}

/* The gate of the new orders really sent (ratelimit.h, RL_USE), passed
 * under the ordering lock right before newOrder: a turn that came while
 * its job could not run (workers busy, DNS paused, the CA down) is used
 * late, and the late ones together must not exceed the bucket (soak
 * finding 1).  True to send; else OUT waits, the place kept. */
static bool sent_within_limit(struct stage_env *env, struct outcome *out)
{
	const struct ca_conf *ca = pipeline_cur_ca(env);
	const struct rl_bucket *no = &ca->new_orders;
	char bucket[1024];

	bucket_name(pipeline_cur_scope(env), "new-orders", NULL, bucket, sizeof(bucket));
	/* the time of the request, not of the run's start */
	long long w = ratelimit(env->q, bucket, no, RL_USE, queue_now_ms(), 0);
	return co_rate(CO_NEW_ORDERS_SENT, w, NULL, ca->name, no->limit, no->period_ms,
	               queue_errstr(env->q), out);
}

/* One newOrder at a time per process, from the request to its record: a
 * process that dies then leaves at most one order that nobody recorded,
 * however many threads it runs (a burst of N orders costs N round trips
 * to the CA per process; at a CA's pace, hundreds an hour, nothing). */
static pthread_mutex_t ordering = PTHREAD_MUTEX_INITIALIZER;

#define ORDERING_WAIT_MS 2000

/* Takes the process's ordering lock, or sets OUT to wait for it. */
static bool one_at_a_time(struct outcome *out)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ORDERING_WAIT_MS / 1000;
	if (pthread_mutex_timedlock(&ordering, &ts) == 0)
		return true;
	co_lock_busy(out);
	return false;
}

/* Whether no other run of this job is in the middle of a newOrder: looked
 * at before the gate takes a token, written by order_lease after it.  Else
 * OUT waits. */
static bool lease_free(struct stage_env *env, const struct domain_rec *rec,
                       struct outcome *out)
{
	struct pipeline *p = pipeline_of(env);

	return co_lease(atoll(rec_str(rec, "order_started", "")), env->now_ms,
	                2LL * p->acme.timeout_ms + 10000, out);
}

/* Records "order_started" before newOrder is sent, once lease_free found
 * no other run of this job in the middle of one: with a slow CA a job can be
 * reclaimed while its first run still waits for newOrder, and both would
 * order.  A mark older than twice the ACME timeout (and ten seconds) is a
 * run that died: this one orders.  The write is guarded by the mark read,
 * so of two runs only one orders.  Returns true to go on, or false with OUT
 * set (a wait). */
static bool order_lease(struct stage_env *env, const struct job *job,
                        const struct domain_rec *rec, struct outcome *out)
{
	const char *was = rec_str(rec, "order_started", "");
	char now[24];

	snprintf(now, sizeof(now), "%llu", (unsigned long long)env->now_ms);
	int w = domain_note(env, job, "order_started", was, NULL, NULL, "order_started", now,
	                    (const char *)NULL);
	return co_lease_written(w, queue_errstr(env->q), out);
}

static long us_between(const struct timespec *a, const struct timespec *b)
{
	return (long)((b->tv_sec - a->tv_sec) * 1000000 + (b->tv_nsec - a->tv_nsec) / 1000);
}

/* Sends newOrder for the NAMES and records it, under the ordering lock
 * (released here once it is recorded: *LOCKED says whether it still is).
 * Fills OUT either way. */
static void order_new(struct stage_env *env, struct job *job, struct acme_client *c,
                      char (*names)[DNAME_MAX + 2], int n, const struct ca_choice *ch,
                      const struct ca_health *h, bool *locked, struct outcome *out)
{
	const struct ca_conf *ca = pipeline_cur_ca(env);
	/* ARI's replaces names a certificate of this CA only */
	const char *replaces = ch->ca >= 0 && strcmp(ch->why, "renewal") == 0 && ca->ari ?
	                       job_ctx_str(job, "replaces") : NULL;
	struct acme_order order = { 0 };
	const char *ids[NAMES_MAX];
	char gen[24], authz[4096];
	struct timespec t0, t1, t2;

	for (int i = 0; i < n; i++)
		ids[i] = names[i];
	clock_gettime(CLOCK_MONOTONIC, &t0);
	enum acme_status st = acme_order_new(c, ids, (size_t)n, ca->acme.profile, replaces,
	                                     &order);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (st != ACME_OK) {
		/* the place in line is kept: the job goes first when the block
		 * (the CA's Retry-After, or the outage) ends */
		domain_set(env, job, "order_started", (const char *)NULL, (const char *)NULL);
		pipeline_acme_failed(env, job, st, "new order", out);
		/* a CA that answered with a problem document is up: that failure
		 * is this order's, and blocks nobody else */
		if (!acme_last_problem(c)->type[0])
			outage_block(env, job, out);
		goto out;
	}
	/* first of all: a job that dies after this resumes this order (and
	 * this process remembers it when Redis does not) */
	order_journal(env, job, order.url);
	snprintf(gen, sizeof(gen), "%llu", (unsigned long long)job->gen);
	rec_join((const char *const *)order.authorizations, order.n_authz, authz,
	         sizeof(authz));
	if (domain_set(env, job, "order_url", order.url, "order_gen", gen,
	               "ca", ca->name, "ca_why", ch->why,
	               "acct", pipeline_cur_tenant(env) ? "tenant" : "fleet",
	               "authz", authz, "order_started", (const char *)NULL,
	               "rl_slot", (const char *)NULL, "rl_shift", (const char *)NULL,
	               "rl_ca", (const char *)NULL, (const char *)NULL) != 0) {
		/* the order is lost to the record; this process remembers it */
		outcome_retry(out, 1000, "redis: %s", queue_errstr(env->q));
		outcome_keep_state(out);
		goto out;
	}
	pthread_mutex_unlock(&ordering);
	*locked = false;
	clock_gettime(CLOCK_MONOTONIC, &t2);
	log_msg(LOG_DEBUG, "stage=create-order domain=%s newOrder answered in %ld us, "
	        "recorded %ld us later", job->domain, us_between(&t0, &t1),
	        us_between(&t1, &t2));
	domain_incr(env, job, "orders");
	pipeline_ca_count(METRICS_CA_ORDERS, METRICS_CA_ORDERS_HELP, ca->name, "why",
	                  ch->fallback ? "fallback" : strcmp(ch->why, "renewal") == 0 ?
	                  "renewal" : "preferred");
	ca_health_count(queue_redis(env->q), queue_prefix(env->q), ca->name, "orders");
	if (ch->fallback)
		ca_health_count(queue_redis(env->q), queue_prefix(env->q), ca->name,
		                "fallback_orders");
	if ((h->unhealthy || h->failures) &&
	    ca_health_ok(queue_redis(env->q), queue_prefix(env->q), ca->name,
	                 "order answered", (long long)env->now_ms) == 0)
		log_msg(LOG_INFO, "CA %s answered an order: healthy", ca->name);
	pipeline_ca_health_gauge(ca->name, true);
	co_ordered(out);
out:
	acme_order_free(&order);
}

/* Chooses the CA of the new order (ca_choice.h) from what Redis says of
 * each CA the record's "cas" allows: its account, its health record, its
 * new-order budget (a peek).  Returns the CA's client (the thread's current
 * CA) with CH and H (its health) filled, or NULL with OUT set. */
static struct acme_client *choose(struct stage_env *env, const struct job *job,
                                  const struct domain_rec *rec, struct ca_choice *ch,
                                  struct ca_health *h, struct outcome *out)
{
	struct pipeline *p = pipeline_of(env);
	const struct ca_list *l = &p->cas;
	struct ca_view v[CA_MAX];
	struct ca_health hs[CA_MAX];
	const char *names[CA_MAX];
	bool allowed[CA_MAX];
	int order[CA_MAX], renewal = -1, held = -1, renewal_ca = -1, held_ca = -1;
	char bucket[1024], no_acct[OUTCOME_REASON_MAX] = "";
	struct outcome scratch;
	redisContext *rc = queue_redis(env->q);

	ca_allowed_parse(l, rec_str(rec, "cas", NULL), allowed);
	if (job_ctx_int(job, "renewal", 0)) {
		/* a record from before CAs had names: ca_of_record's */
		renewal_ca = ca_of_record(l, rec_str(rec, "issued_ca", rec_str(rec, "ca", "")));
	}
	if (rec_int(rec, "rl_slot", 0))
		held_ca = ca_find(l, rec_str(rec, "rl_ca", ACCOUNT_DEFAULT_CA));
	/* the tenant's CAs in its order (ca_candidates); J indexes them */
	int m = ca_candidates(l, job->tenant, order);
	for (int j = 0; j < m; j++) {
		int i = order[j];
		names[j] = l->ca[i].name;
		v[j] = (struct ca_view){ .allowed = allowed[i] };
		renewal = i == renewal_ca ? j : renewal;
		held = i == held_ca ? j : held;
		if (!allowed[i])
			continue;
		memset(&scratch, 0, sizeof(scratch));
		v[j].account = pipeline_acme_for(env, i, job->tenant, &scratch) != NULL;
		if (!v[j].account && scratch.reason[0] && !no_acct[0])
			snprintf(no_acct, sizeof(no_acct), "%s", scratch.reason);
		if (ca_health_read(rc, queue_prefix(env->q), names[j], &hs[j]) != 0) {
			outcome_retry(out, 1000, "redis: %s", queue_errstr(env->q));
			return NULL;
		}
		v[j].healthy = !hs[j].unhealthy || hs[j].reprobe_at <= (long long)env->now_ms;
		pipeline_ca_health_gauge(names[j], !hs[j].unhealthy);
		bucket_name(pipeline_cur_scope(env), "new-orders", NULL, bucket, sizeof(bucket));
		v[j].budget = ratelimit(env->q, bucket, &l->ca[i].new_orders, RL_PEEK,
		                        env->now_ms, 0) == 0;
	}
	/* health routes orders around a CA, it does not stop them: with no
	 * allowed CA left that is not marked unhealthy, they go on as with a
	 * single CA (each job's own backoff; the line's outage block) */
	bool other = false;
	for (int j = 0; j < m; j++)
		other = other || (v[j].allowed && v[j].account && !hs[j].unhealthy);
	for (int j = 0; j < m && !other; j++)
		v[j].healthy = true;
	int k = ca_choose(v, names, m, renewal, held, ch);
	if (k == CA_CHOICE_NONE_ALLOWED) {
		/* verify-cname allowed CAs this configuration no longer offers
		 * the tenant: it looks again */
		co_none_allowed(ch->why, out);
		return NULL;
	}
	if (k < 0) {
		outcome_retry(out, 5000, "%s%s%.300s", ch->why, no_acct[0] ? "; " : "", no_acct);
		/* an account that does not load is the operator's to fix: the
		 * record's last_error says why (a kept state writes none) */
		if (no_acct[0])
			outcome_state(out, STATE_ORDERING);
		else
			outcome_keep_state(out);
		out->wait = true;   /* not the domain's failure */
		return NULL;
	}
	*h = hs[k];
	if (other && hs[k].unhealthy &&
	    !ca_health_probe(rc, queue_prefix(env->q), names[k], (long long)env->now_ms,
	                     l->health_reprobe_ms)) {
		outcome_retry(out, 1000, "CA %s is being probed by another worker", names[k]);
		outcome_keep_state(out);
		out->wait = true;
		return NULL;
	}
	if (ch->fallback)
		log_msg(LOG_INFO, "stage=create-order domain=%s ordering from CA %s (%s)",
		        job->domain, names[k], ch->why);
	ch->ca = order[k];
	return pipeline_acme_for(env, order[k], job->tenant, out);
}

void stage_create_order(struct stage_env *env, struct job *job, struct outcome *out)
{
	struct domain_rec rec = { 0 };
	char names[NAMES_MAX][DNAME_MAX + 2];
	struct acme_client *c;
	struct ca_choice ch;
	struct ca_health h;
	struct outcome scratch;
	bool locked = false;

	if (!gate_pass(env, job, &rec, out))
		goto out;
	/* the recorded order is the CA's of the record */
	int rca = pipeline_rec_ca(pipeline_of(env), &rec);
	memset(&scratch, 0, sizeof(scratch));
	if (rca >= 0 && (c = pipeline_acme(env, &rec, &scratch)) &&
	    recorded_order(env, c, &rec, job, out))
		goto out;
	if (!(c = choose(env, job, &rec, &ch, &h, out)))
		goto out;
	/* ARI's replaces names a certificate of the account that ordered it
	 * (a tenant moved onto its own account, or off it, replaces nothing) */
	if (strcmp(rec_str(&rec, "issued_acct", "fleet"),
	           pipeline_cur_tenant(env) ? "tenant" : "fleet") != 0)
		job_ctx_del(job, "replaces");
	int n = rec_names(&rec, job, names, NAMES_MAX);
	if (!still_delegated(env, job, &rec, names, n, out) ||
	    budget(env, job, &rec, names, n, out) != 0 || !one_at_a_time(out))
		goto out;
	locked = true;
	/* the lease is looked at before the gate takes a token, and written
	 * after: a run that must wait for another spends none */
	if (!lease_free(env, &rec, out) || !sent_within_limit(env, out) ||
	    !order_lease(env, job, &rec, out))
		goto out;
	order_new(env, job, c, names, n, &ch, &h, &locked, out);
out:
	if (locked)
		pthread_mutex_unlock(&ordering);
	domain_rec_free(&rec);
}
