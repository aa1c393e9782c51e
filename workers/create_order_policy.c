/* create-order's decisions; see create_order_policy.h. */
#include "create_order_policy.h"

#include <stdio.h>
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

/* VERIFIED_AT's age at NOW_MS, or -1 when it is absent or in the future. */
static long long verified_age(long long verified_at, uint64_t now_ms)
{
	long long now = (long long)now_ms;

	return verified_at > 0 && verified_at <= now ? now - verified_at : -1;
}

bool co_stale(long long verified_at, uint64_t now_ms, long long interval_ms)
{
	long long age = verified_age(verified_at, now_ms);

	return age < 0 || age > CO_STALE_INTERVALS * interval_ms;
}

enum co_look co_look(const char *base, const char *target, const struct dns_check_result *r,
                     long long verified_at, uint64_t now_ms, long long retry_ms,
                     struct outcome *out)
{
	long long age = verified_age(verified_at, now_ms);

	switch (r->status) {
	case DNS_CHECK_OK:
	case DNS_CHECK_CONFIRMING:
		return CO_LOOK_PRESENT;
	case DNS_CHECK_TRANSIENT:
		if (age >= 0 && age <= CO_UNSURE_MAX_MS)
			return CO_LOOK_UNSURE;
		outcome_retry(out, retry_ms, "_acme-challenge.%s: %s; no verification of "
		              "the last day to order on: looking again", base, r->detail);
		outcome_state(out, STATE_ORDERING);
		out->wait = true;      /* DNS trouble is not the domain's attempt */
		return CO_LOOK_STOP;
	default:
		outcome_advance(out, STAGE_VERIFY_CNAME);
		snprintf(out->reason, sizeof(out->reason), "_acme-challenge.%s is no longer "
		         "a CNAME to %s: %s", base, target, r->detail);
		outcome_state(out, STATE_WAITING_CNAME);
		/* create-order waits for a new verification, and takes a new
		 * place in line after it */
		out->clear = "verified_gen verified_at rl_slot rl_shift";
		return CO_LOOK_STOP;
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
		long long ahead = period_ms > 0 ? (long long)((double)w * (double)limit /
		                                             (double)period_ms) : 0;
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
	/* a maintenance page's Retry-After of a day stops the whole fleet's
	 * new orders no longer than the stage's longest backoff */
	long long ms = out->delay_ms > 0 ? out->delay_ms : worker_backoff_ceiling(p, attempt + 1);
	if (ms > p->cap_ms)
		ms = p->cap_ms;
	return ms > 0 ? ms : 1;
}

bool co_ticket_sane(long long slot, long long shift, uint64_t now_ms, long long period_ms)
{
	const long long far = CO_TICKET_FAR_MS + 2 * period_ms;
	long long now = (long long)now_ms;

	if (slot == 0 && shift == 0)
		return true;
	return slot > 0 && slot >= now - far && slot <= now + far && shift >= 0 && shift <= far;
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

void co_none_allowed(const char *why, struct outcome *out)
{
	outcome_advance(out, STAGE_VERIFY_CNAME);
	snprintf(out->reason, sizeof(out->reason), "%s: CAA is checked again", why);
	outcome_state(out, STATE_VERIFYING);
	/* a new verification writes "cas" anew, and a new place in line */
	out->clear = "verified_gen verified_at cas rl_slot rl_shift rl_ca";
}
