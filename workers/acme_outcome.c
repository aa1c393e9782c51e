/* A failed ACME call as an outcome; see acme_outcome.h. */
#include "acme_outcome.h"

#include "account.h"
#include "bucket.h"
#include "metrics.h"
#include "pipeline.h"
#include "ratelimit.h"

enum acme_effect acme_outcome_decide(const struct acme_failure *f, const char *what,
                                     struct outcome *out, long long *block_ms)
{
	long long after = f->retry_after_ms;

	if (f->st == ACME_E_RATELIMITED) {
		/* without a Retry-After: a minute, or the bucket's period when
		 * that is shorter (limits scaled down in tests behave the same) */
		if (after < 0)
			after = f->orders_period_ms < 60000 ? f->orders_period_ms : 60000;
		*block_ms = after;
		outcome_retry(out, after, "%s: rate limited by the CA: %s", what, f->detail);
		outcome_state(out, STATE_RATE_LIMITED);
		out->wait = true;   /* waiting for the CA's budget is not an attempt */
		return ACME_EFFECT_BLOCK;
	}
	if (account_key_refused(f->st)) {
		/* a key rotated under us: the next attempt reloads it */
		if (f->key_moved) {
			outcome_retry(out, 0, "%s: the account key was rotated; again with the new key",
			              what);
			outcome_keep_state(out);
			return ACME_EFFECT_RELOAD;
		}
		if (f->attempt < KEY_REFUSED_RETRIES) {
			outcome_retry(out, 1000, "%s: the CA refused the account key (%s); "
			              "again in case a rotation is half-way", what, f->detail);
			outcome_keep_state(out);
			return ACME_EFFECT_RELOAD;
		}
	}
	if (acme_status_retryable(f->st)) {
		outcome_retry(out, after >= 0 ? after : -1, "%s: %s", what, f->detail);
		outcome_keep_state(out);
		return ACME_EFFECT_NONE;
	}
	outcome_fail(out, "%s: %s (%s)", what, f->detail, f->type);
	outcome_state(out, STATE_FAILED);
	return ACME_EFFECT_NONE;
}

void acme_outcome_failed(struct stage_env *env, const struct job *job,
                         enum acme_status st, const char *what, struct outcome *out)
{
	struct pipeline *p = pipeline_of(env);
	struct stage_thread *t = pipeline_thread(env);
	const struct acme_problem *pr = acme_last_problem(t->acme);
	char labels[256], name[600];
	long long v = 0, block_ms = 0;
	struct acme_failure f = {
		.st = st,
		.type = pr->type[0] ? pr->type : acme_strerror(st),
		.detail = pr->detail[0] ? pr->detail : acme_strerror(st),
		.retry_after_ms = pr->retry_after_ms,
		.attempt = job->attempt,
		.orders_period_ms = p->lc.new_orders.period_ms,
	};

	if (metrics_labels(labels, sizeof(labels), "type", f.type, NULL) == METRICS_OK)
		metrics_counter_add(METRICS_ACME_PROBLEMS, METRICS_ACME_PROBLEMS_HELP,
		                    labels, 1);
	f.key_moved = account_key_refused(st) && t->have_account &&
	              account_version(queue_redis(env->q), queue_prefix(env->q), &v) ==
	              ACCOUNT_OK && v != t->account.key_version;
	switch (acme_outcome_decide(&f, what, out, &block_ms)) {
	case ACME_EFFECT_BLOCK:
		ratelimit(env->q, bucket_name(p->ca, "new-orders", NULL, name, sizeof(name)),
		          &p->lc.new_orders, RL_BLOCK, env->now_ms,
		          env->now_ms + (uint64_t)block_ms);
		metrics_counter_add(METRICS_RATELIMIT_WAITS, METRICS_RATELIMIT_WAITS_HELP,
		                    "bucket=\"ca\"", 1);
		break;
	case ACME_EFFECT_RELOAD:
		t->account_checked_ms = 0;   /* reload at the next job */
		break;
	case ACME_EFFECT_NONE:
		break;
	}
}
