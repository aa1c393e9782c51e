/* create-order's decisions; see create_order_policy.h. */
#include "create_order_policy.h"

#include <string.h>

#include "dname.h"

enum co_recorded co_recorded(enum acme_status st, const char *status, bool gone,
                             bool has_key, bool recalled)
{
	if ((st == ACME_OK || st == ACME_PENDING) && status) {
		if (strcmp(status, "valid") != 0)
			return recalled ? CO_USABLE_RECALLED : CO_USABLE;
		/* a valid order whose key we hold; one only this process
		 * remembers has no key in the record that could be trusted */
		return has_key && !recalled ? CO_ISSUED : CO_ORDER_ANEW;
	}
	if (st != ACME_E_INVALID && !gone)
		return CO_ACME_FAILED;
	return CO_ORDER_ANEW;
}

void co_resume(enum co_recorded r, struct outcome *out)
{
	if (r == CO_ISSUED) {
		outcome_advance(out, STAGE_FINALIZE);
		outcome_state(out, STATE_FINALIZING);
	} else {
		outcome_advance(out, STAGE_PROVISION_TXT);
		outcome_state(out, STATE_PROVISIONING);
	}
}

bool co_rate(enum co_bucket b, long long w, const char *name, const char *ca,
             long long limit, long long period_ms, const char *err, struct outcome *out)
{
	if (w == 0)
		return true;
	if (w < 0) {
		outcome_retry(out, 1000, "redis: %s", err ? err : "?");
		outcome_keep_state(out);
		return false;
	}
	if (b == CO_FAILED_AUTHZ) {
		outcome_retry(out, w, "rate limit of failed authorizations for %s at %s: "
		              "waiting %lld ms", dname_base(name), ca, w);
	} else if (b == CO_NEW_ORDERS_SENT) {
		outcome_retry(out, w, "rate limit of new orders at %s: the turn came, waiting "
		              "%lld ms behind the orders sent before it", ca, w);
	} else {
		long long ahead = period_ms > 0 ? w * limit / period_ms : 0;
		outcome_retry(out, w, "rate limit of new orders at %s: place %lld in line, "
		              "waiting %lld ms", ca, ahead + 1, w);
	}
	out->wait = true;       /* waiting for a token is not an attempt */
	outcome_state(out, STATE_RATE_LIMITED);
	return false;
}

long long co_outage_block(const struct outcome *out, const struct stage_policy *p,
                          uint32_t attempt)
{
	if (!out->outage)
		return 0;
	if (out->delay_ms > 0)
		return out->delay_ms;
	long long ms = worker_backoff_ceiling(p, attempt + 1);
	return ms > 0 ? ms : 1;
}

void co_lock_busy(struct outcome *out)
{
	outcome_retry(out, 100, "another thread of this process is ordering; again shortly");
	outcome_state(out, STATE_ORDERING);
	out->wait = true;
}

bool co_lease(long long since, uint64_t now_ms, long long stale_ms, struct outcome *out)
{
	long long now = (long long)now_ms;

	if (!since || now - since >= stale_ms)
		return true;
	long long left = since + stale_ms - now;
	outcome_retry(out, left < 1000 ? left : 1000, "another run of this job is creating "
	              "the order (for %lld ms now): waiting for it", now - since);
	outcome_state(out, STATE_ORDERING);
	out->wait = true;
	return false;
}

bool co_lease_written(int w, const char *err, struct outcome *out)
{
	if (w == 0)
		return true;
	if (w == -2) {
		outcome_retry(out, 100, "another run of this job started the order just now");
		outcome_state(out, STATE_ORDERING);
		out->wait = true;
		return false;
	}
	outcome_retry(out, 1000, "redis: %s", err ? err : "?");
	outcome_keep_state(out);
	return false;
}

void co_ordered(struct outcome *out)
{
	outcome_advance(out, STAGE_PROVISION_TXT);
	outcome_state(out, STATE_PROVISIONING);
}
