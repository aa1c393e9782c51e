/*
 * create-order: the ACME order, created only now that the delegation is
 * verified, and only once per generation: the order's URL is recorded in the
 * domain before the job moves on, so a job reclaimed after a crash finds it
 * and carries on with it.
 *
 * The fleet-wide rate limiter (ratelimit.h) delays the job, never fails it,
 * when the CA's budget is spent: new orders per account, and failed
 * authorizations per identifier (taken by finalize).
 */
#include <stdio.h>
#include <string.h>

#include "pipeline.h"

#define NAMES_MAX 16

/* Whether the recorded order of this generation can still be used. */
static bool order_usable(struct stage_env *env, struct acme_client *c,
                         const struct domain_rec *rec, const struct job *job,
                         struct outcome *out, bool *failed)
{
	const char *url = rec_str(rec, "order_url", NULL);
	struct acme_order o = { 0 };
	long long ra;

	*failed = false;
	if (!url || (uint64_t)rec_int(rec, "order_gen", 0) != job->gen)
		return false;
	o.url = strdup(url);
	enum acme_status st = o.url ? acme_order_poll(c, &o, &ra) : ACME_E_NOMEM;
	/* pending, ready or processing: carry on with it; a valid one was
	 * issued already and is not this run's */
	bool usable = (st == ACME_OK || st == ACME_PENDING) && o.status &&
	              strcmp(o.status, "valid") != 0;
	acme_order_free(&o);
	if (usable)
		return true;
	if (st == ACME_OK || st == ACME_PENDING)
		return false;
	if (st != ACME_E_INVALID) {
		pipeline_acme_failed(env, job, st, "fetching the recorded order", out);
		*failed = true;
	}
	return false;
}

/* The rate limiter: how long this order must wait (0: go). */
static long long budget(struct stage_env *env, char (*names)[DNAME_MAX + 2], int n,
                        const char **which)
{
	struct pipeline *p = env->deps;
	char bucket[1024];

	for (int i = 0; i < n; i++) {
		pipeline_bucket(env, "failed-authz", names[i], bucket, sizeof(bucket));
		long long w = ratelimit(env->q, bucket, &p->lc.failed_authz, RL_PEEK, env->now_ms, 0);
		if (w) {
			*which = "failed authorizations";
			return w;
		}
	}
	pipeline_bucket(env, "new-orders", NULL, bucket, sizeof(bucket));
	*which = "new orders";
	return ratelimit(env->q, bucket, &p->lc.new_orders, RL_TAKE, env->now_ms, 0);
}

void stage_create_order(struct stage_env *env, struct job *job, struct outcome *out)
{
	struct pipeline *p = env->deps;
	struct domain_rec rec = { 0 };
	char names[NAMES_MAX][DNAME_MAX + 2], gen[24], authz[4096];
	const char *ids[NAMES_MAX], *which;
	struct acme_order order = { 0 };
	struct acme_client *c;
	bool failed;

	if (!pipeline_gate(env, job, &rec, out) || !(c = pipeline_acme(env, out)))
		goto out;
	if (order_usable(env, c, &rec, job, out, &failed) || failed) {
		if (!failed) {
			outcome_advance(out, STAGE_PROVISION_TXT);
			out->state = "provisioning";
		}
		goto out;
	}
	int n = pipeline_names(&rec, job, names, NAMES_MAX);
	long long wait = budget(env, names, n, &which);
	if (wait) {
		if (wait < 0) {
			outcome_retry(out, 1000, "redis: %s", queue_errstr(env->q));
			out->state = "";
		} else {
			metrics_counter_add(METRICS_RATELIMIT_WAITS, METRICS_RATELIMIT_WAITS_HELP,
			                    strcmp(which, "new orders") ? "bucket=\"failed_authz\""
			                                                : "bucket=\"new_orders\"", 1);
			outcome_retry(out, wait, "rate limit of %s at %s: waiting %lld ms",
			              which, p->ca, wait);
			out->state = "rate-limited";
		}
		goto out;
	}
	for (int i = 0; i < n; i++)
		ids[i] = names[i];
	enum acme_status st = acme_order_new(c, ids, (size_t)n, p->acme.profile,
	                                     job_ctx_str(job, "replaces"), &order);
	if (st != ACME_OK) {
		pipeline_acme_failed(env, job, st, "new order", out);
		goto out;
	}
	snprintf(gen, sizeof(gen), "%llu", (unsigned long long)job->gen);
	pipeline_join((const char *const *)order.authorizations, order.n_authz, authz,
	              sizeof(authz));
	if (domain_set(env, job, "order_url", order.url, "order_gen", gen,
	               "authz", authz, (const char *)NULL) != 0) {
		/* the order is lost to us; the CA lets it expire */
		outcome_retry(out, 1000, "redis: %s", queue_errstr(env->q));
		out->state = "";
		goto out;
	}
	domain_incr(env, job, "orders");
	outcome_advance(out, STAGE_PROVISION_TXT);
	out->state = "provisioning";
out:
	acme_order_free(&order);
	domain_rec_free(&rec);
}
