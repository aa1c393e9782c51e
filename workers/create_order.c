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
 * (the slot and the bucket's shift travel in the job's ctx as "rl_slot" and
 * "rl_shift") and sleeps in the delayed set until its slot, without counting
 * an attempt; failed authorizations per identifier (taken by finalize) only
 * delay it the same way.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "acme_outcome.h"
#include "bucket.h"
#include "domain_rec.h"
#include "gate.h"
#include "order.h"
#include "pipeline.h"
#include "stages.h"
#include "txt_list.h"

#define NAMES_MAX 16

/* What the recorded order of this generation is good for. */
enum recorded {
	REC_NONE,       /* none, or one that cannot be used: order anew */
	REC_USABLE,     /* pending, ready or processing: carry on */
	REC_ISSUED,     /* valid, with its key recorded: finalize downloads it */
	REC_FAILED,     /* the CA could not be asked: OUT is set */
};

static enum recorded recorded_order(struct stage_env *env, struct acme_client *c,
                                    const struct domain_rec *rec, const struct job *job,
                                    struct outcome *out)
{
	const char *url = order_recorded(rec, job);
	struct acme_order o = { 0 };
	enum recorded r = REC_NONE;
	char mem[ORDER_URL_MAX], gen[24];
	bool recalled = false, gone;
	long long ra;

	if (!url) {
		/* Redis lost the record (a restart without the last second of
		 * writes) or was down when it was made: this process remembers */
		if (!order_recall(env, job, mem, sizeof(mem)))
			return REC_NONE;
		url = mem;
		recalled = true;
	}
	enum acme_status st = order_poll(c, url, &o, &ra, &gone);
	if ((st == ACME_OK || st == ACME_PENDING) && o.status) {
		if (strcmp(o.status, "valid") != 0)
			r = REC_USABLE;
		else if (rec_str(rec, "pending_key", NULL) && !recalled)
			r = REC_ISSUED;
		snprintf(gen, sizeof(gen), "%llu", (unsigned long long)job->gen);
		if (r == REC_USABLE && recalled) {
			log_msg(LOG_INFO, "stage=create-order domain=%s the record lost the order "
			        "this process created: %s", job->domain, url);
			if (domain_set(env, job, "order_url", url, "order_gen", gen,
			               (const char *)NULL) != 0) {
				outcome_retry(out, 1000, "redis: %s", queue_errstr(env->q));
				out->state = "";
				r = REC_FAILED;
			}
		}
	} else if (st != ACME_E_INVALID && !gone) {
		acme_outcome_failed(env, job, st, "fetching the recorded order", out);
		r = REC_FAILED;
	}
	acme_order_free(&o);
	return r;
}

/* Waits for the failed-authorization buckets of the names (peek only:
 * finalize takes them), then for this job's turn for a new order.  Returns
 * 0 to go, or sets OUT. */
static int budget(struct stage_env *env, struct job *job, char (*names)[DNAME_MAX + 2],
                  int n, struct outcome *out)
{
	struct pipeline *p = env->deps;
	struct rl_ticket t = { job_ctx_int(job, "rl_slot", 0), job_ctx_int(job, "rl_shift", 0) };
	char bucket[1024];
	long long w = 0;

	/* a job holding a place in line checked these before it took it */
	for (int i = 0; i < n && !t.slot && w == 0; i++) {
		bucket_name(p->ca, "failed-authz", names[i], bucket, sizeof(bucket));
		w = ratelimit(env->q, bucket, &p->lc.failed_authz, RL_PEEK, env->now_ms, 0);
		if (w > 0) {
			metrics_counter_add(METRICS_RATELIMIT_WAITS, METRICS_RATELIMIT_WAITS_HELP,
			                    "bucket=\"failed_authz\"", 1);
			outcome_retry(out, w, "rate limit of failed authorizations for %s at %s: "
			              "waiting %lld ms", dname_base(names[i]), p->ca, w);
		}
	}
	if (w == 0) {
		bucket_name(p->ca, "new-orders", NULL, bucket, sizeof(bucket));
		bool had = t.slot != 0;
		char member[DNAME_MAX + JOB_ID_MAX + 32];
		snprintf(member, sizeof(member), "%s %s %s", stage_name(STAGE_CREATE_ORDER),
		         job->domain, job->id);
		w = ratelimit_turn(env->q, bucket, &p->lc.new_orders, env->now_ms, member, &t);
		if (w >= 0 && t.slot &&
		    (job_ctx_set_int(job, "rl_slot", t.slot) != 0 ||
		     job_ctx_set_int(job, "rl_shift", t.shift) != 0))
			w = -1;
		if (w > 0) {
			if (!had)
				metrics_counter_add(METRICS_RATELIMIT_WAITS,
				                    METRICS_RATELIMIT_WAITS_HELP,
				                    "bucket=\"new_orders\"", 1);
			long long ahead = w * p->lc.new_orders.limit / p->lc.new_orders.period_ms;
			outcome_retry(out, w, "rate limit of new orders at %s: place %lld in line, "
			              "waiting %lld ms", p->ca, ahead + 1, w);
		}
	}
	if (w < 0) {
		outcome_retry(out, 1000, "redis: %s", queue_errstr(env->q));
		out->state = "";
		return -1;
	}
	if (w == 0)
		return 0;
	out->wait = true;       /* waiting for a token is not an attempt */
	out->state = "rate-limited";
	return -1;
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
	outcome_retry(out, 100, "another thread of this process is ordering; again shortly");
	out->state = "ordering";
	out->wait = true;
	return false;
}

/* Records "order_started" before newOrder is sent, unless another run of
 * this job did so recently: with a slow CA a job can be reclaimed while its
 * first run still waits for newOrder, and both would order.  A mark older
 * than twice the ACME timeout (and ten seconds) is a run that died: this
 * one orders.  Returns true to go on, or false with OUT set (a wait). */
static bool order_lease(struct stage_env *env, const struct job *job,
                        const struct domain_rec *rec, struct outcome *out)
{
	struct pipeline *p = env->deps;
	const char *was = rec_str(rec, "order_started", "");
	long long since = atoll(was), stale = 2LL * p->acme.timeout_ms + 10000;
	char now[24];

	if (since && (long long)env->now_ms - since < stale) {
		long long left = since + stale - (long long)env->now_ms;
		outcome_retry(out, left < 1000 ? left : 1000, "another run of this job is creating "
		              "the order (for %lld ms now): waiting for it",
		              (long long)env->now_ms - since);
		out->state = "ordering";
		out->wait = true;
		return false;
	}
	snprintf(now, sizeof(now), "%llu", (unsigned long long)env->now_ms);
	int w = domain_note(env, job, "order_started", was, NULL, NULL, "order_started", now,
	                    (const char *)NULL);
	if (w == 0)
		return true;
	outcome_retry(out, w == -2 ? 100 : 1000, w == -2 ? "another run of this job started "
	              "the order just now" : "redis: %s", queue_errstr(env->q));
	out->state = w == -2 ? "ordering" : "";
	out->wait = w == -2;
	return false;
}

void stage_create_order(struct stage_env *env, struct job *job, struct outcome *out)
{
	struct pipeline *p = env->deps;
	struct domain_rec rec = { 0 };
	char names[NAMES_MAX][DNAME_MAX + 2], gen[24], authz[4096];
	const char *ids[NAMES_MAX];
	struct acme_order order = { 0 };
	struct acme_client *c;
	bool locked = false;

	if (!gate_pass(env, job, &rec, out) || !(c = pipeline_acme(env, out)))
		goto out;
	switch (recorded_order(env, c, &rec, job, out)) {
	case REC_USABLE:
		outcome_advance(out, STAGE_PROVISION_TXT);
		out->state = "provisioning";
		goto out;
	case REC_ISSUED:
		outcome_advance(out, STAGE_FINALIZE);
		out->state = "finalizing";
		goto out;
	case REC_FAILED:
		goto out;
	case REC_NONE:
		break;
	}
	int n = rec_names(&rec, job, names, NAMES_MAX);
	if (budget(env, job, names, n, out) != 0 || !one_at_a_time(out))
		goto out;
	locked = true;
	if (!order_lease(env, job, &rec, out))
		goto out;
	for (int i = 0; i < n; i++)
		ids[i] = names[i];
	struct timespec t0, t1, t2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	enum acme_status st = acme_order_new(c, ids, (size_t)n, p->acme.profile,
	                                     job_ctx_str(job, "replaces"), &order);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (st != ACME_OK) {
		/* the place in line is kept: after a rateLimited answer the job
		 * goes first when the block ends */
		domain_set(env, job, "order_started", (const char *)NULL, (const char *)NULL);
		acme_outcome_failed(env, job, st, "new order", out);
		goto out;
	}
	/* first of all: a job that dies after this resumes this order (and
	 * this process remembers it when Redis does not) */
	order_journal(env, job, order.url);
	snprintf(gen, sizeof(gen), "%llu", (unsigned long long)job->gen);
	rec_join((const char *const *)order.authorizations, order.n_authz, authz,
	              sizeof(authz));
	if (domain_set(env, job, "order_url", order.url, "order_gen", gen,
	               "authz", authz, "order_started", (const char *)NULL,
	               (const char *)NULL) != 0) {
		/* the order is lost to the record; this process remembers it */
		outcome_retry(out, 1000, "redis: %s", queue_errstr(env->q));
		out->state = "";
		goto out;
	}
	pthread_mutex_unlock(&ordering);
	locked = false;
	clock_gettime(CLOCK_MONOTONIC, &t2);
	log_msg(LOG_DEBUG, "stage=create-order domain=%s newOrder answered in %ld us, "
	        "recorded %ld us later", job->domain,
	        (long)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000),
	        (long)((t2.tv_sec - t1.tv_sec) * 1000000 + (t2.tv_nsec - t1.tv_nsec) / 1000));
	job_ctx_del(job, "rl_slot");
	job_ctx_del(job, "rl_shift");
	domain_incr(env, job, "orders");
	outcome_advance(out, STAGE_PROVISION_TXT);
	out->state = "provisioning";
out:
	if (locked)
		pthread_mutex_unlock(&ordering);
	acme_order_free(&order);
	domain_rec_free(&rec);
}
