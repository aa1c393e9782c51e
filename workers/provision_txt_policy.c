/* provision-txt's decisions; see provision_txt_policy.h. */
#include "provision_txt_policy.h"

#include <stdio.h>
#include <string.h>

enum pt_step pt_order(enum acme_status st, struct outcome *out)
{
	if (st == ACME_OK || st == ACME_E_INVALID) {
		/* nothing left to publish: finalize takes it from here */
		outcome_advance(out, STAGE_FINALIZE);
		outcome_state(out, STATE_VALIDATING);
		return PT_STOP;
	}
	return st == ACME_PENDING ? PT_GO : PT_ACME_FAILED;
}

enum pt_step pt_authz(enum acme_status st, const char *status, const char *identifier,
                      bool has_dns01, bool value_ok, struct outcome *out)
{
	if (st != ACME_OK)
		return PT_ACME_FAILED;
	if (!status || strcmp(status, "pending") != 0)
		return PT_SKIP;
	if (!has_dns01) {
		outcome_fail(out, "the CA offers no dns-01 challenge for %s", identifier);
		outcome_state(out, STATE_FAILED);
		return PT_STOP;
	}
	if (!value_ok) {
		outcome_fail(out, "no TXT value for %s", identifier);
		outcome_state(out, STATE_FAILED);
		return PT_STOP;
	}
	return PT_GO;
}

bool pt_publish_plan(const char *was, const char *const *targets,
                     const char *const *values, int n, struct pt_publish *plan,
                     struct outcome *out)
{
	was = was ? was : "";
	memset(plan->remove, 0, sizeof(plan->remove));
	plan->old.n = 0;
	if (txt_list_format(targets, values, n, plan->list, sizeof(plan->list)) != 0) {
		outcome_fail(out, "too many TXT values for one domain record");
		outcome_state(out, STATE_FAILED);
		return false;
	}
	plan->unchanged = strcmp(plan->list, was) == 0;
	snprintf(plan->both, sizeof(plan->both), "%s%s%s", was, *was && plan->list[0] ? ";" : "",
	         plan->list);
	txt_list_parse(&plan->old, was);
	for (int i = 0; i < plan->old.n; i++) {
		bool wanted = false;
		for (int j = 0; j < n && !wanted; j++)
			wanted = strcmp(plan->old.e[i].name, targets[j]) == 0 &&
			         strcmp(plan->old.e[i].value, values[j]) == 0;
		plan->remove[i] = !wanted;
	}
	return true;
}

bool pt_txt_failed(enum pt_txt_op op, enum txt_status st, const char *target,
                   const char *msg, struct outcome *out)
{
	const char *what = op == PT_REMOVE ? "removing the TXT at" : "publishing the TXT at";
	const char *again = op == PT_ADD_AGAIN ? " again" : "";

	if (st == TXT_OK || (op == PT_REMOVE && st != TXT_TRANSIENT))
		return true;
	if (st == TXT_TRANSIENT) {
		outcome_retry(out, -1, "%s %s%s: %s", what, target, again, msg);
		outcome_state(out, STATE_PROVISIONING);
	} else {
		outcome_fail(out, "%s %s%s: %s", what, target, again, msg);
		outcome_state(out, STATE_FAILED);
	}
	return false;
}

/* Whether a server answered, for certain, that the value is not there
 * (NXDOMAIN, NODATA, other values): not a timeout or a SERVFAIL. */
static bool absent_somewhere(const struct dns_check_result *res)
{
	for (int i = 0; i < res->n_vantage; i++) {
		enum dns_outcome o = res->vantage[i].outcome;
		if (o == DNS_NXDOMAIN || o == DNS_NODATA || o == DNS_DIFFERENT)
			return true;
	}
	return false;
}

enum pt_prop pt_propagation(const struct dns_check_result *r, const char *target,
                            uint64_t now_ms, uint64_t since_ms, int64_t txt_at,
                            long long poll_ms, long long timeout_ms, struct outcome *out)
{
	if (r->status == DNS_CHECK_OK)
		return PT_PROPAGATED;
	if (now_ms - since_ms > (uint64_t)timeout_ms) {
		outcome_fail(out, "TXT at %s not everywhere after %lld s: %s", target,
		             timeout_ms / 1000, r->detail);
		outcome_state(out, STATE_FAILED);
		return PT_FAILED;
	}
	/* the record says it is published, a server says it is not: add it
	 * again, at most once per poll (a lagging secondary costs one update) */
	if (absent_somewhere(r) &&
	    !(txt_at && now_ms - (uint64_t)txt_at < (uint64_t)poll_ms))
		return PT_REPUBLISH;
	pt_not_yet(target, r->detail, poll_ms, out);
	return PT_WAIT;
}

void pt_not_yet(const char *target, const char *detail, long long poll_ms,
                struct outcome *out)
{
	outcome_retry(out, poll_ms, "TXT at %s not everywhere yet: %s", target, detail);
	outcome_state(out, STATE_PROVISIONING);
	out->wait = true;    /* waiting is not failing */
}

void pt_answered(long long authz_poll_ms, struct outcome *out)
{
	outcome_advance(out, STAGE_FINALIZE);
	out->delay_ms = authz_poll_ms;
	outcome_state(out, STATE_VALIDATING);
}
