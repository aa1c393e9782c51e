/* What the stages share; see pipeline.h. */
#include "pipeline.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"

#define DAY_MS (24LL * 3600 * 1000)

/* How long a thread signs with the account it loaded before it looks
 * whether another process rotated the key (a request refused meanwhile
 * makes it look at once). */
#define ACCOUNT_CHECK_MS 1000

/* Retries of a request the CA refused for its key before the job fails:
 * between keyChange and the new key's promotion in Redis (account.h) the
 * CA already refuses the old key. */
#define KEY_REFUSED_RETRIES 5

void lifecycle_cfg_load(struct cfg *c, struct lifecycle_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->verify_max_wait_ms = cfg_int(c, "lifecycle.verify_max_wait_ms", 30 * DAY_MS, 1000, 365 * DAY_MS);
	o->propagation_poll_ms = cfg_int(c, "lifecycle.propagation_poll_ms", 2000, 1, 3600000);
	o->propagation_timeout_ms = cfg_int(c, "lifecycle.propagation_timeout_ms", 3600000, 1000,
	                                    7 * DAY_MS);
	o->authz_poll_ms = cfg_int(c, "lifecycle.authz_poll_ms", 1000, 1, 3600000);
	o->renew_fraction = cfg_double(c, "lifecycle.renew_fraction", 1.0 / 3, 0.0, 1.0);
	o->offboard_interval_ms = cfg_int(c, "lifecycle.offboard_interval_ms", DAY_MS, 100, 365 * DAY_MS);
	o->offboard_jitter = cfg_double(c, "lifecycle.offboard_jitter", 0.2, 0.0, 1.0);
	o->stale_interval_ms = cfg_int(c, "lifecycle.stale_interval_ms", 7 * DAY_MS, 100, 365 * DAY_MS);
	o->park_grace_ms = cfg_int(c, "lifecycle.park_grace_ms", 30 * DAY_MS, 0, 3650 * DAY_MS);
	o->offboard_after_ms = cfg_int(c, "lifecycle.offboard_after_ms", 7 * DAY_MS, 0, 365 * DAY_MS);
	o->offboard_min_checks = (int)cfg_int(c, "lifecycle.offboard_min_checks", 3, 1, 1000);
	o->ari_poll_min_ms = cfg_int(c, "lifecycle.ari_poll_min_ms", 3600000, 100, 30 * DAY_MS);
	o->ari_poll_max_ms = cfg_int(c, "lifecycle.ari_poll_max_ms", DAY_MS, 100, 30 * DAY_MS);
	if (o->ari_poll_max_ms < o->ari_poll_min_ms)
		cfg_fail(c, "lifecycle.ari_poll_max_ms", "is below lifecycle.ari_poll_min_ms");
	/* what "points at us" means; dns.c reads and checks the values */
	o->pointing_rule = cfg_list_len(c, "dns.pointing.ip_ranges") > 0 ||
	                   cfg_list_len(c, "dns.pointing.host_suffixes") > 0;
	o->invalid_backoff_ms = cfg_int(c, "lifecycle.invalid_backoff_ms", 3600000, 1, 30 * DAY_MS);
	o->max_invalid = (int)cfg_int(c, "lifecycle.max_invalid_authz", 3, 1, 100);
	o->caa_check = cfg_bool(c, "lifecycle.caa_check", true);

	size_t n = cfg_list_len(c, "acme.caa_identities");
	if (n > CAA_IDENTITIES_MAX)
		cfg_fail(c, "acme.caa_identities", "at most %d names", CAA_IDENTITIES_MAX);
	for (size_t i = 0; i < n && i < CAA_IDENTITIES_MAX; i++)
		o->caa_identities[o->n_caa_identities++] = cfg_list_str(c, "acme.caa_identities", i);
	if (!n)
		o->caa_identities[o->n_caa_identities++] = "letsencrypt.org";

	/* Let's Encrypt: 300 new orders per account per 3 hours; 5 failed
	 * authorizations per identifier per account per hour. */
	o->new_orders.limit = cfg_int(c, "ratelimit.new_orders.limit", 300, 0, 1LL << 40);
	o->new_orders.period_ms = cfg_int(c, "ratelimit.new_orders.period_ms", 3 * 3600000LL, 1, 365 * DAY_MS);
	o->failed_authz.limit = cfg_int(c, "ratelimit.failed_authorizations.limit", 5, 0, 1LL << 40);
	o->failed_authz.period_ms = cfg_int(c, "ratelimit.failed_authorizations.period_ms", 3600000, 1, 365 * DAY_MS);
}

/* ---- configuration and threads ---- */

int pipeline_configure(struct cfg *c, const struct worker_cfg *wc, void **deps)
{
	struct pipeline *p = calloc(1, sizeof(*p));
	char err[256];

	*deps = p;
	if (!p)
		return -1;
	lifecycle_cfg_load(c, &p->lc);
	acme_cfg_load(c, &p->acme);
	dns_cfg_load(c, &p->dns);
	p->have_txt = (wc->stage_mask & (1u << STAGE_PROVISION_TXT | 1u << STAGE_FINALIZE |
	                                 1u << STAGE_OFFBOARD_CHECK)) != 0;
	if (p->have_txt) {
		if (!cfg_has(c, "provider"))
			cfg_fail(c, "provider", "the stages provision-txt, finalize and "
			         "offboard-check need a provider section");
		else
			txt_provider_cfg_load(c, &p->txt);
	} else {
		cfg_skip(c, "provider");
	}
	if (cfg_error(c))
		return -1;
	if (account_kek_load(p->acme.kek_file, &p->kek) != ACCOUNT_OK) {
		cfg_fail(c, "acme.kek_file", "cannot read the key-encryption key "
		         "(64 hex digits or base64url of 32 bytes)");
		return -1;
	}
	const char *why = account_kek_policy(&p->kek, p->acme.allow_plaintext_keys);
	if (why) {
		cfg_fail(c, "acme.kek_file", "%s", why);
		return -1;
	}
	if (!p->kek.set)
		log_msg(LOG_WARN, "acme.allow_plaintext_keys: the account and certificate "
		        "keys are stored in Redis in the clear");
	const char *u = p->acme.directory_url, *h = strstr(u, "://");
	h = h ? h + 3 : u;
	snprintf(p->ca, sizeof(p->ca), "%.*s", (int)strcspn(h, "/"), h);

	p->nthreads = (unsigned)wc->concurrency;
	p->threads = calloc(p->nthreads, sizeof(*p->threads));
	if (!p->threads)
		return -1;
	for (unsigned i = 0; i < p->nthreads; i++) {
		struct stage_thread *t = &p->threads[i];
		if (acme_client_new(&p->acme, &t->acme) != ACME_OK) {
			cfg_fail(c, "acme", "cannot create the ACME client");
			return -1;
		}
		if (!(t->dns = dns_new(&p->dns, err, sizeof(err)))) {
			cfg_fail(c, "dns", "%s", err);
			return -1;
		}
		if (p->have_txt && !(t->txt = txt_provider_new(&p->txt, err, sizeof(err)))) {
			cfg_fail(c, "provider", "%s", err);
			return -1;
		}
	}
	explicit_bzero(p->txt.secret, sizeof(p->txt.secret));
	explicit_bzero(p->txt.api_key, sizeof(p->txt.api_key));
	if ((wc->stage_mask & 1u << STAGE_OFFBOARD_CHECK) && !p->lc.pointing_rule)
		log_msg(LOG_WARN, "dns.pointing sets no ip_ranges or host_suffixes: nothing can be "
		        "seen pointing at us, so no domain is parked or offboarded on its own "
		        "(only by dcvctl offboard); certificates keep renewing");
	return 0;
}

void pipeline_release(void *deps)
{
	struct pipeline *p = deps;

	if (!p)
		return;
	for (unsigned i = 0; p->threads && i < p->nthreads; i++) {
		struct stage_thread *t = &p->threads[i];
		acme_client_free(t->acme);
		dns_free(t->dns);
		txt_provider_free(t->txt);
		if (t->have_account)
			account_free(&t->account);
	}
	free(p->threads);
	acme_opts_free(&p->acme);
	account_kek_wipe(&p->kek);
	explicit_bzero(p, sizeof(*p));
	free(p);
}

static struct stage_thread *thread_of(struct stage_env *env)
{
	struct pipeline *p = env->deps;
	return &p->threads[env->thread % p->nthreads];
}

/* The thread's clients are handed out here only, each with the job's
 * deadline set: whatever a stage asks of DNS, the TXT provider or the CA
 * ends by env->deadline_ms. */
struct dns_ctx *pipeline_dns(struct stage_env *env)
{
	struct dns_ctx *d = thread_of(env)->dns;
	dns_set_deadline(d, env->deadline_ms);
	return d;
}

struct txt_provider *pipeline_txt(struct stage_env *env)
{
	struct txt_provider *t = thread_of(env)->txt;
	if (t)
		txt_set_deadline(t, env->deadline_ms);
	return t;
}

/* ---- the domain record ---- */

static void domain_key(struct stage_env *env, const char *domain, char *key, size_t len)
{
	queue_key(env->q, key, len, "domain:");
	size_t l = strlen(key);
	snprintf(key + l, len - l, "%s", domain);
}

int domain_read(struct stage_env *env, const char *domain, struct domain_rec *r)
{
	char key[400];
	domain_key(env, domain, key, sizeof(key));
	const char *argv[] = { "HGETALL", key };
	redisReply *rep = queue_command(env->q, 2, argv, NULL);

	r->reply = NULL;
	r->exists = false;
	if (!rep || rep->type != REDIS_REPLY_ARRAY) {
		queue_reply_free(rep);
		return -1;
	}
	r->reply = rep;
	r->exists = rep->elements > 0;
	return 0;
}

void domain_rec_free(struct domain_rec *r)
{
	queue_reply_free(r->reply);
	r->reply = NULL;
}

const char *rec_str(const struct domain_rec *r, const char *field, const char *def)
{
	const redisReply *rep = r->reply;
	for (size_t i = 0; rep && i + 1 < rep->elements; i += 2)
		if (strcmp(rep->element[i]->str, field) == 0)
			return rep->element[i + 1]->str;
	return def;
}

long long rec_int(const struct domain_rec *r, const char *field, long long def)
{
	const char *v = rec_str(r, field, NULL);
	return v && *v ? strtoll(v, NULL, 10) : def;
}

/* Runs DOMAIN_SET for JOB: NS strings of SET (field, value, ...), ND
 * fields of DEL, HINCRBY of INCR ('' none), under GUARD (field, expected
 * value; NULL none), adding EVENT (NULL none) with DETAIL.  Returns the
 * script's answer, -1 when the job was overtaken or Redis failed. */
static long long domain_write(struct stage_env *env, const struct job *job,
                              const char *incr, const char *const guard[2],
                              const char *event, const char *detail,
                              const char **set, int ns, const char **del, int nd)
{
	const char *argv[80];
	int argc = 0;
	char gen[24], n[16], evmax[24], now[24];

	snprintf(gen, sizeof(gen), "%llu", (unsigned long long)job->gen);
	snprintf(n, sizeof(n), "%d", ns / 2);
	snprintf(evmax, sizeof(evmax), "%lld", env->cfg->q.events_maxlen);
	snprintf(now, sizeof(now), "%llu", (unsigned long long)env->now_ms);
	argv[argc++] = queue_prefix(env->q);
	argv[argc++] = job->domain;
	argv[argc++] = gen;
	argv[argc++] = job->id;
	argv[argc++] = incr;
	argv[argc++] = guard && guard[0] ? guard[0] : "";
	argv[argc++] = guard && guard[1] ? guard[1] : "";
	argv[argc++] = event ? event : "";
	argv[argc++] = detail ? detail : "";
	argv[argc++] = evmax;
	argv[argc++] = now;
	argv[argc++] = n;
	for (int i = 0; i < ns; i++)
		argv[argc++] = set[i];
	for (int i = 0; i < nd; i++)
		argv[argc++] = del[i];
	redisReply *r = queue_script(env->q, SCRIPT_DOMAIN_SET, 0, argc, argv, NULL);
	long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
	queue_reply_free(r);
	return v;
}

long long domain_incr(struct stage_env *env, const struct job *job, const char *field)
{
	return domain_write(env, job, field, NULL, NULL, NULL, NULL, 0, NULL, 0);
}

/* Collects the NULL-terminated field/value pairs of AP (a NULL value
 * deletes) into SET and DEL. */
#define SET_MAX 40
#define DEL_MAX 16
static void pairs(va_list ap, const char **set, int *ns, const char **del, int *nd)
{
	*ns = *nd = 0;
	for (const char *f; (f = va_arg(ap, const char *));) {
		const char *v = va_arg(ap, const char *);
		if (v && *ns < SET_MAX) {
			set[(*ns)++] = f;
			set[(*ns)++] = v;
		} else if (!v && *nd < DEL_MAX) {
			del[(*nd)++] = f;
		}
	}
}

int domain_set(struct stage_env *env, const struct job *job, ...)
{
	const char *set[SET_MAX], *del[DEL_MAX];
	int ns, nd;
	va_list ap;

	va_start(ap, job);
	pairs(ap, set, &ns, del, &nd);
	va_end(ap);
	return domain_write(env, job, "", NULL, NULL, NULL, set, ns, del, nd) < 0 ? -1 : 0;
}

int domain_note(struct stage_env *env, const struct job *job, const char *guard,
                const char *expect, const char *event, const char *detail, ...)
{
	const char *set[SET_MAX], *del[DEL_MAX], *g[2] = { guard, expect };
	int ns, nd;
	va_list ap;

	va_start(ap, detail);
	pairs(ap, set, &ns, del, &nd);
	va_end(ap);
	long long v = domain_write(env, job, "", g, event, detail, set, ns, del, nd);
	return v == -2 ? -2 : v < 0 ? -1 : 0;
}

/* ---- the gate ---- */

/* A job that is not the domain's pipeline: dead letter, domain untouched. */
static void refuse(struct outcome *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void refuse(struct outcome *out, const char *fmt, ...)
{
	va_list ap;

	out->kind = OUT_FAIL;
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
	out->state = "";
	out->event = "dead-letter";
}

bool pipeline_gate(struct stage_env *env, struct job *job, struct domain_rec *rec,
                   struct outcome *out)
{
	const char *stage = stage_name(env->stage);

	if (domain_read(env, job->domain, rec) != 0) {
		outcome_retry(out, 1000, "redis: %s", queue_errstr(env->q));
		out->state = "";
		return false;
	}
	unsigned long long gen = (unsigned long long)rec_int(rec, "gen", 0);
	if (!rec->exists || gen == 0) {
		refuse(out, "refused: %s is not onboarded (jobs enter at verify-cname)",
		       job->domain);
		return false;
	}
	if (job->gen == 0 || job->gen > gen) {
		refuse(out, "refused: a %s job of generation %llu for a domain at generation %llu",
		       stage, (unsigned long long)job->gen, gen);
		return false;
	}
	if (job->gen < gen) {
		log_msg(LOG_INFO, "stage=%s domain=%s dropped a job of generation %llu (now %llu)",
		        stage, job->domain, (unsigned long long)job->gen, gen);
		outcome_done(out);
		out->state = "";
		return false;
	}
	if (strcmp(rec_str(rec, "job", ""), job->id) != 0) {
		refuse(out, "refused: job %s is not the pipeline of this domain", job->id);
		return false;
	}
	if (strcmp(rec_str(rec, "tenant", ""), job->tenant) != 0) {
		refuse(out, "refused: job %s of tenant \"%s\" is not the pipeline of this "
		       "domain (another tenant's)", job->id, job->tenant);
		return false;
	}
	if (rec_str(rec, "released_at", NULL)) {
		/* its names may be another tenant's now: nothing of the ended
		 * pipeline runs again */
		log_msg(LOG_INFO, "stage=%s domain=%s dropped a job of a released domain",
		        stage, job->domain);
		outcome_done(out);
		out->state = "";
		return false;
	}
	if (rec_int(rec, "offboard_requested", 0) && env->stage != STAGE_OFFBOARD_CHECK) {
		outcome_advance(out, STAGE_OFFBOARD_CHECK);
		out->state = "offboarded";
		return false;
	}
	if (env->stage != STAGE_OFFBOARD_CHECK && env->stage != STAGE_VERIFY_CNAME &&
	    (unsigned long long)rec_int(rec, "verified_gen", 0) != gen) {
		refuse(out, "refused: %s before the delegation was verified "
		       "(generation %llu, verified %llu)", stage, gen,
		       (unsigned long long)rec_int(rec, "verified_gen", 0));
		return false;
	}
	return true;
}

const char *pipeline_bucket(struct stage_env *env, const char *kind, const char *name,
                            char *buf, size_t len)
{
	struct pipeline *p = env->deps;

	snprintf(buf, len, "%.255s:%s%s%.255s", p->ca, kind, name ? ":" : "",
	         name ? dname_base(name) : "");
	return buf;
}

/* ---- ACME ---- */

struct acme_client *pipeline_acme(struct stage_env *env, struct outcome *out)
{
	struct pipeline *p = env->deps;
	struct stage_thread *t = thread_of(env);
	redisContext *rc = queue_redis(env->q);
	enum account_status as;
	bool changed;

	acme_set_deadline(t->acme, env->deadline_ms);
	if (!t->have_account) {
		as = account_load(rc, queue_prefix(env->q), &p->kek, &t->account);
		if (as == ACCOUNT_OK) {
			t->have_account = true;
			t->account_checked_ms = env->now_ms;
			acme_set_account(t->acme, t->account.key, t->account.url);
			return t->acme;
		}
	} else if (env->now_ms - t->account_checked_ms < ACCOUNT_CHECK_MS) {
		return t->acme;
	} else {
		as = account_refresh(rc, queue_prefix(env->q), &p->kek, &t->account,
		                     t->acme, &changed);
		if (as == ACCOUNT_OK) {
			t->account_checked_ms = env->now_ms;
			return t->acme;
		}
	}
	if (as == ACCOUNT_NOTFOUND)
		outcome_retry(out, 30000, "no ACME account in Redis: run "
		              "\"dcvctl account register --email ...\"");
	else
		outcome_retry(out, -1, "ACME account: %s", account_strerror(as));
	return NULL;
}

const char *pipeline_account_url(struct stage_env *env)
{
	struct outcome scratch;
	struct acme_client *c = pipeline_acme(env, &scratch);
	return c ? acme_account_url(c) : NULL;
}

void pipeline_acme_failed(struct stage_env *env, const struct job *job,
                          enum acme_status st, const char *what, struct outcome *out)
{
	struct pipeline *p = env->deps;
	const struct acme_problem *pr = acme_last_problem(thread_of(env)->acme);
	char labels[256];
	const char *type = pr->type[0] ? pr->type : acme_strerror(st);

	if (metrics_labels(labels, sizeof(labels), "type", type, NULL) == METRICS_OK)
		metrics_counter_add(METRICS_ACME_PROBLEMS, METRICS_ACME_PROBLEMS_HELP,
		                    labels, 1);
	long long after = pr->retry_after_ms;
	const char *detail = pr->detail[0] ? pr->detail : acme_strerror(st);
	if (st == ACME_E_RATELIMITED) {
		/* without a Retry-After: a minute, or the bucket's period when
		 * that is shorter (limits scaled down in tests behave the same) */
		if (after < 0)
			after = p->lc.new_orders.period_ms < 60000 ? p->lc.new_orders.period_ms : 60000;
		char name[600];
		ratelimit(env->q, pipeline_bucket(env, "new-orders", NULL, name, sizeof(name)),
		          &p->lc.new_orders, RL_BLOCK, env->now_ms, env->now_ms + (uint64_t)after);
		metrics_counter_add(METRICS_RATELIMIT_WAITS, METRICS_RATELIMIT_WAITS_HELP,
		                    "bucket=\"ca\"", 1);
		outcome_retry(out, after, "%s: rate limited by the CA: %s", what, detail);
		out->state = "rate-limited";
		out->wait = true;   /* waiting for the CA's budget is not an attempt */
		return;
	}
	if (st == ACME_E_UNAUTHORIZED || st == ACME_E_BADPUBLICKEY ||
	    st == ACME_E_MALFORMED || st == ACME_E_NOACCOUNT) {
		/* a key rotated under us: the next attempt reloads it */
		long long v = 0;
		struct stage_thread *t = thread_of(env);
		if (t->have_account &&
		    account_version(queue_redis(env->q), queue_prefix(env->q), &v) == ACCOUNT_OK &&
		    v != t->account.key_version) {
			t->account_checked_ms = 0;   /* reload at the next job */
			outcome_retry(out, 0, "%s: the account key was rotated; again with the new key",
			              what);
			out->state = "";
			return;
		}
		if (job->attempt < KEY_REFUSED_RETRIES) {
			t->account_checked_ms = 0;
			outcome_retry(out, 1000, "%s: the CA refused the account key (%s); "
			              "again in case a rotation is half-way", what, detail);
			out->state = "";
			return;
		}
	}
	if (acme_status_retryable(st)) {
		outcome_retry(out, after >= 0 ? after : -1, "%s: %s", what, detail);
		out->state = "";
		return;
	}
	outcome_fail(out, "%s: %s (%s)", what, detail, type);
	out->state = "failed";
}

bool pipeline_order(struct acme_client *c, const struct job *job,
                    const struct domain_rec *rec, struct acme_order *order,
                    enum acme_status *st, long long *ra, struct outcome *out)
{
	const char *url = rec_str(rec, "order_url", NULL);

	if (!url || (uint64_t)rec_int(rec, "order_gen", 0) != job->gen) {
		outcome_advance(out, STAGE_CREATE_ORDER);
		out->state = "ordering";
		return false;
	}
	order->url = strdup(url);
	*st = order->url ? acme_order_poll(c, order, ra) : ACME_E_NOMEM;
	if (*st != ACME_OK && *st != ACME_PENDING && *st != ACME_E_INVALID &&
	    acme_last_problem(c)->http_status == 404) {
		/* the CA no longer has it (expired, or the CA lost it) */
		outcome_advance(out, STAGE_CREATE_ORDER);
		snprintf(out->reason, sizeof(out->reason), "the CA no longer has the order %s", url);
		out->state = "ordering";
		return false;
	}
	return true;
}

bool pipeline_acme_gone(struct stage_env *env)
{
	return acme_last_problem(thread_of(env)->acme)->http_status == 404;
}

/* ---- the process's memory of the orders it created ---- */

#define JOURNAL_MAX 512
#define JOURNAL_KEEP_MS 60000

static struct {
	pthread_mutex_t mu;
	size_t next;
	struct {
		char domain[DNAME_MAX + 1];
		char job[JOB_ID_MAX + 1];
		uint64_t gen, at;
		char url[PIPELINE_JOURNAL_URL_MAX];
	} e[JOURNAL_MAX];
} journal = { .mu = PTHREAD_MUTEX_INITIALIZER };

void pipeline_order_journal(struct stage_env *env, const struct job *job, const char *url)
{
	if (strlen(url) >= PIPELINE_JOURNAL_URL_MAX)
		return;
	pthread_mutex_lock(&journal.mu);
	size_t i = journal.next++ % JOURNAL_MAX;
	snprintf(journal.e[i].domain, sizeof(journal.e[i].domain), "%s", job->domain);
	snprintf(journal.e[i].job, sizeof(journal.e[i].job), "%s", job->id);
	snprintf(journal.e[i].url, sizeof(journal.e[i].url), "%s", url);
	journal.e[i].gen = job->gen;
	journal.e[i].at = env->now_ms;
	pthread_mutex_unlock(&journal.mu);
}

bool pipeline_order_recall(struct stage_env *env, const struct job *job,
                           char *url, size_t len)
{
	uint64_t best = 0;

	pthread_mutex_lock(&journal.mu);
	for (size_t i = 0; i < JOURNAL_MAX; i++) {
		if (journal.e[i].gen == job->gen && journal.e[i].at > best &&
		    env->now_ms - journal.e[i].at < JOURNAL_KEEP_MS &&
		    strcmp(journal.e[i].domain, job->domain) == 0 &&
		    strcmp(journal.e[i].job, job->id) == 0) {
			snprintf(url, len, "%s", journal.e[i].url);
			best = journal.e[i].at;     /* the latest order wins */
		}
	}
	pthread_mutex_unlock(&journal.mu);
	return best != 0;
}

void pipeline_join(const char *const *v, size_t n, char *out, size_t len)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (!v[i])
			continue;
		int w = snprintf(out + o, len - o, "%s%s", o ? " " : "", v[i]);
		if (w < 0 || (size_t)w >= len - o) {
			out[o] = '\0';
			break;
		}
		o += (size_t)w;
	}
}

/* ---- DNS ---- */

void pipeline_dns_count(const char *check, const struct dns_check_result *r)
{
	char labels[128];
	if (metrics_labels(labels, sizeof(labels), "check", check, "status",
	                   dns_check_strerror(r->status), NULL) == METRICS_OK)
		metrics_counter_add(METRICS_DNS_CHECKS, METRICS_DNS_CHECKS_HELP, labels, 1);
}

int pipeline_names(const struct domain_rec *rec, const struct job *job,
                   char (*names)[DNAME_MAX + 2], int max)
{
	char list[1024];
	int n = 0;

	snprintf(list, sizeof(list), "%s", rec_str(rec, "names", job->domain));
	for (char *save = NULL, *t = strtok_r(list, ",", &save); t && n < max;
	     t = strtok_r(NULL, ",", &save))
		snprintf(names[n++], DNAME_MAX + 2, "%s", t);
	if (!n)
		snprintf(names[n++], DNAME_MAX + 2, "%s", job->domain);
	return n;
}

int pipeline_target(struct stage_env *env, const struct job *job,
                    const char *base, char *out, size_t len)
{
	return dname_target(env->cfg->target_template, base, env->cfg->zone,
	                    job->tenant[0] ? job->tenant : NULL, out, len) ? -1 : 0;
}

int pipeline_txt_cleanup(struct stage_env *env, const struct job *job,
                         const struct domain_rec *rec, char *why, size_t whylen)
{
	char list[TXT_LIST_MAX], msg[TXT_MSG_MAX];
	struct txt_provider *txt = pipeline_txt(env);

	snprintf(list, sizeof(list), "%s", rec_str(rec, "txt", ""));
	if (!list[0])
		return 0;
	if (!txt) {
		snprintf(why, whylen, "this worker has no TXT provider");
		return -1;
	}
	for (char *save = NULL, *t = strtok_r(list, ";", &save); t;
	     t = strtok_r(NULL, ";", &save)) {
		char *sp = strchr(t, ' ');
		if (!sp)
			continue;
		*sp = '\0';
		if (txt_remove(txt, t, sp + 1, msg, sizeof(msg)) == TXT_TRANSIENT) {
			snprintf(why, whylen, "removing the TXT at %s: %s", t, msg);
			return -1;
		}
	}
	return domain_set(env, job, "txt", (const char *)NULL, (const char *)NULL);
}
