/* A failed ACME call as an outcome; see acme_outcome.h. */
#include "acme_outcome.h"

#include "account.h"

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
		/* the CA failing (5xx, timeouts, no connection): every domain
		 * waits for it with a growing backoff, none is given up */
		outcome_retry(out, after >= 0 ? after : -1, "%s: %s", what, f->detail);
		outcome_keep_state(out);
		out->outage = true;
		return ACME_EFFECT_NONE;
	}
	outcome_fail(out, "%s: %s (%s)", what, f->detail, f->type);
	outcome_state(out, STATE_FAILED);
	return ACME_EFFECT_NONE;
}
