/* verify-cname's decisions; see verify_policy.h. */
#include "verify_policy.h"

#include <stdio.h>
#include <string.h>

#define DAY_MS 86400000LL

bool vc_claimed(long long code, const char *why, struct outcome *out)
{
	if (code < 0) {
		/* another tenant's name: the dead letter and its event tell the
		 * backend; that tenant's domain was not touched */
		outcome_fail(out, "%s", why ? why : "refused: a name is held by another tenant");
		outcome_keep_state(out);
		outcome_event(out, EVENT_DEAD_LETTER);
		return false;
	}
	if (code == 0) {
		outcome_done(out);
		outcome_keep_state(out);
		return false;
	}
	return true;
}

bool vc_abandoned(uint64_t now_ms, uint64_t since_ms, long long max_wait_ms,
                  const char *last_error, struct outcome *out)
{
	if (now_ms - since_ms <= (uint64_t)max_wait_ms)
		return false;
	outcome_done(out);
	snprintf(out->reason, sizeof(out->reason), "no delegation after %lld days: %s",
	         max_wait_ms / DAY_MS, last_error ? last_error : "?");
	outcome_state(out, STATE_ABANDONED);
	outcome_event(out, EVENT_ABANDONED);
	return true;
}

bool vc_nudged(long long nudged_at, long long nudge_seen)
{
	return nudged_at > nudge_seen;
}

enum vc_step vc_delegation(const char *base, const char *target,
                           const struct dns_check_result *r, struct outcome *out)
{
	switch (r->status) {
	case DNS_CHECK_OK:
		return VC_NEXT;
	case DNS_CHECK_CONFIRMING:
		return VC_CONFIRMING;
	case DNS_CHECK_TRANSIENT:
		outcome_retry(out, -1, "_acme-challenge.%s: %s", base, r->detail);
		outcome_state(out, STATE_WAITING_CNAME);
		return VC_STOP;
	default:
		outcome_retry(out, -1, "_acme-challenge.%s must be a CNAME to %s: %s",
		              base, target, r->detail);
		outcome_state(out, STATE_WAITING_CNAME);
		return VC_STOP_FORGET;
	}
}

void vc_confirming(int prev, int needed, long retry_after_ms, struct outcome *out)
{
	outcome_retry(out, retry_after_ms, "delegation seen everywhere: confirmation %d of %d",
	              prev + 1, needed);
	outcome_state(out, STATE_VERIFYING);
}

bool vc_caa(const char *name, const struct caa_result *r, const char *state,
            struct outcome *out)
{
	if (r->verdict == CAA_ALLOWED)
		return true;
	if (r->verdict == CAA_FORBIDDEN) {
		outcome_retry(out, -1, "CAA forbids issuance for %s: %s (%s)", name, r->record,
		              r->detail);
		outcome_state(out, STATE_CAA_BLOCKED);
		/* once per stay in caa-blocked */
		if (strcmp(state ? state : "", domain_state_name(STATE_CAA_BLOCKED)) != 0)
			outcome_event(out, EVENT_CAA_BLOCKED);
	} else {
		outcome_retry(out, -1, "CAA of %s: %s", name, r->detail);
		outcome_state(out, STATE_VERIFYING);
	}
	return false;
}

void vc_verified(struct outcome *out)
{
	outcome_advance(out, STAGE_CREATE_ORDER);
	outcome_state(out, STATE_ORDERING);
}

void vc_wake_by_deadline(const struct stage_policy *policy, uint32_t attempt,
                         uint64_t now_ms, uint64_t since_ms, long long max_wait_ms,
                         uint64_t rnd, struct outcome *out)
{
	uint64_t deadline = since_ms + (uint64_t)max_wait_ms;

	if (out->kind != OUT_RETRY || out->delay_ms >= 0)
		return;
	out->delay_ms = worker_backoff(policy, attempt + 1, rnd);
	if (deadline > now_ms && (uint64_t)out->delay_ms > deadline - now_ms)
		out->delay_ms = (int64_t)(deadline - now_ms) + 1;
}
