/*
 * provision-txt: publishes each pending authorization's DNS-01 value as a
 * TXT record at the delegation target (in our validation zone: the CA's
 * lookup of _acme-challenge.<name> follows the customer's CNAME to it),
 * waits by re-enqueueing until every authoritative server of the zone serves
 * it, then tells the CA to validate.
 *
 * Everything is recomputed from the order on every run (the order's URL is in
 * the domain record), so a reclaimed job does the same thing again: adding
 * a value that is there and answering a challenge twice are harmless.  The
 * values published are recorded in the domain ("txt") for their removal,
 * and published again when they change (a rotated account key).  The record
 * is not taken for the world: whenever the propagation check finds a value
 * missing on a server (NXDOMAIN, NODATA, other values; not a timeout), it
 * is added again (at most once per lifecycle.propagation_poll_ms), so a
 * value the primary lost or never got does not keep the domain waiting.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "acme_outcome.h"
#include "bucket.h"
#include "domain_rec.h"
#include "gate.h"
#include "order.h"
#include "pipeline.h"
#include "stages.h"
#include "txt_list.h"

struct chal {
	char target[DNAME_MAX + 1];
	char value[44];
	char *url;         /* challenge to answer; NULL once it is not pending */
};

/* Reads the pending authorizations of ORDER into CH; returns their number
 * or -1 with OUT set. */
static int pending(struct stage_env *env, struct acme_client *c, const struct job *job,
                   const struct acme_order *order, struct chal *ch, struct outcome *out)
{
	int n = 0;

	for (size_t i = 0; i < order->n_authz && n < ACME_MAX_AUTHZ; i++) {
		struct acme_authz a = { 0 };
		enum acme_status st = acme_authz_get(c, order->authorizations[i], &a);
		if (st != ACME_OK) {
			pipeline_acme_failed(env, job, st, "authorization", out);
			acme_authz_free(&a);
			return -1;
		}
		if (strcmp(a.status, "pending") == 0) {
			if (!a.dns01_url) {
				outcome_fail(out, "the CA offers no dns-01 challenge for %s", a.identifier);
				out->state = "failed";
			} else if (pipeline_target(env, job, a.identifier, ch[n].target,
			                           sizeof(ch[n].target)) != 0 ||
			           (st = acme_dns01_txt(c, a.dns01_token, ch[n].value)) != ACME_OK) {
				outcome_fail(out, "no TXT value for %s", a.identifier);
				out->state = "failed";
			} else {
				ch[n].url = a.dns01_status && strcmp(a.dns01_status, "pending") == 0 ?
				            strdup(a.dns01_url) : NULL;
				n++;
			}
		}
		acme_authz_free(&a);
		if (out->kind != OUT_NONE)
			return -1;
	}
	return n;
}

/* The "name value;..." list of CH, as recorded in the domain's "txt", into
 * LIST (TXT_LIST_MAX bytes).  -1 if it does not fit. */
static int chal_list(const struct chal *ch, int n, char *list)
{
	const char *names[ACME_MAX_AUTHZ], *values[ACME_MAX_AUTHZ];

	for (int i = 0; i < n; i++) {
		names[i] = ch[i].target;
		values[i] = ch[i].value;
	}
	return txt_list_format(names, values, n, list, TXT_LIST_MAX);
}

/* Whether CH holds NAME with VALUE. */
static bool chal_has(const struct chal *ch, int n, const char *name, const char *value)
{
	for (int i = 0; i < n; i++)
		if (strcmp(ch[i].target, name) == 0 && strcmp(ch[i].value, value) == 0)
			return true;
	return false;
}

/* Publishes every value and records them, unless exactly these are
 * published already.  The record always covers what may be published:
 * first the old and the new values together, then, once the new ones are
 * in and the old ones not wanted any more (the account key was rotated:
 * the key authorizations changed) are out, the new ones alone.  0, or -1
 * with OUT set. */
static int publish(struct stage_env *env, struct job *job,
                   const struct domain_rec *rec, struct chal *ch, int n,
                   struct outcome *out)
{
	char list[TXT_LIST_MAX], both[2 * TXT_LIST_MAX + 1];
	struct txt_list old;
	char msg[TXT_MSG_MAX];
	const char *was = rec_str(rec, "txt", "");

	if (chal_list(ch, n, list) != 0) {
		outcome_fail(out, "too many TXT values for one domain record");
		out->state = "failed";
		return -1;
	}
	if (strcmp(list, was) == 0)
		return 0;
	snprintf(both, sizeof(both), "%s%s%s", was, *was && *list ? ";" : "", list);
	if (domain_set(env, job, "txt", both, (const char *)NULL) != 0) {
		outcome_retry(out, 1000, "redis: %s", queue_errstr(env->q));
		out->state = "";
		return -1;
	}
	for (int i = 0; i < n; i++) {
		enum txt_status st = txt_add(pipeline_txt(env), ch[i].target, ch[i].value,
		                             msg, sizeof(msg));
		if (st == TXT_TRANSIENT) {
			outcome_retry(out, -1, "publishing the TXT at %s: %s", ch[i].target, msg);
			out->state = "provisioning";
			return -1;
		}
		if (st != TXT_OK) {
			outcome_fail(out, "publishing the TXT at %s: %s", ch[i].target, msg);
			out->state = "failed";
			return -1;
		}
	}
	job_ctx_set_int(job, "txt_at", (int64_t)env->now_ms);
	txt_list_parse(&old, was);
	for (int i = 0; i < old.n; i++) {
		if (chal_has(ch, n, old.e[i].name, old.e[i].value))
			continue;
		if (txt_remove(pipeline_txt(env), old.e[i].name, old.e[i].value, msg,
		               sizeof(msg)) == TXT_TRANSIENT) {
			outcome_retry(out, -1, "removing the TXT at %s: %s", old.e[i].name, msg);
			out->state = "provisioning";
			return -1;
		}
	}
	if (domain_set(env, job, "txt", list, (const char *)NULL) != 0) {
		outcome_retry(out, 1000, "redis: %s", queue_errstr(env->q));
		out->state = "";
		return -1;
	}
	return 0;
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

/* The record says the value is published; a server says it is not.  Adds
 * it again (adding a TXT that exists changes nothing), at most once per
 * propagation poll, so a secondary that only lags costs one extra update
 * and a primary that lost it (or never got it) gets it back.  0, or -1 with
 * OUT set. */
static int republish(struct stage_env *env, struct job *job, const struct chal *c,
                     const struct dns_check_result *res, struct outcome *out)
{
	struct pipeline *p = env->deps;
	char msg[TXT_MSG_MAX];
	int64_t at = job_ctx_int(job, "txt_at", 0);

	if (!absent_somewhere(res) ||
	    (at && env->now_ms - (uint64_t)at < (uint64_t)p->lc.propagation_poll_ms))
		return 0;
	enum txt_status st = txt_add(pipeline_txt(env), c->target, c->value, msg, sizeof(msg));
	if (st == TXT_TRANSIENT) {
		outcome_retry(out, -1, "publishing the TXT at %s again: %s", c->target, msg);
		out->state = "provisioning";
		return -1;
	}
	if (st != TXT_OK) {
		outcome_fail(out, "publishing the TXT at %s again: %s", c->target, msg);
		out->state = "failed";
		return -1;
	}
	log_msg(LOG_INFO, "stage=provision-txt domain=%s published the TXT at %s again: %s",
	        job->domain, c->target, res->detail);
	job_ctx_set_int(job, "txt_at", (int64_t)env->now_ms);
	return 0;
}

/* Whether every authoritative server serves every value. */
static bool propagated(struct stage_env *env, struct job *job, struct chal *ch, int n,
                       struct outcome *out)
{
	struct pipeline *p = env->deps;
	struct dns_check_result res;

	for (int i = 0; i < n; i++) {
		if (dns_propagation_check(pipeline_dns(env), ch[i].target, ch[i].value, &res) != 0) {
			outcome_fail(out, "%s: not a name to check", ch[i].target);
			return false;
		}
		pipeline_dns_count("propagation", &res);
		if (res.status != DNS_CHECK_OK) {
			if (env->now_ms - job->since > (uint64_t)p->lc.propagation_timeout_ms) {
				outcome_fail(out, "TXT at %s not everywhere after %lld s: %s",
				             ch[i].target, p->lc.propagation_timeout_ms / 1000,
				             res.detail);
				out->state = "failed";
				return false;
			}
			if (republish(env, job, &ch[i], &res, out) != 0)
				return false;
			outcome_retry(out, p->lc.propagation_poll_ms, "TXT at %s not everywhere yet: %s",
			              ch[i].target, res.detail);
			out->state = "provisioning";
			out->wait = true;    /* waiting is not failing */
			return false;
		}
	}
	return true;
}

/* Records the challenges being answered ("challenges", for operators). */
static void record_challenges(struct stage_env *env, const struct job *job,
                              const struct chal *ch, int n)
{
	const char *urls[ACME_MAX_AUTHZ];
	char list[4096];

	for (int i = 0; i < n; i++)
		urls[i] = ch[i].url;
	rec_join(urls, (size_t)n, list, sizeof(list));
	if (list[0])
		domain_set(env, job, "challenges", list, (const char *)NULL);
}

void stage_provision_txt(struct stage_env *env, struct job *job, struct outcome *out)
{
	struct pipeline *p = env->deps;
	struct domain_rec rec = { 0 };
	struct acme_order order = { 0 };
	struct chal ch[ACME_MAX_AUTHZ];
	struct acme_client *c;
	long long ra;
	int n = 0;

	memset(ch, 0, sizeof(ch));
	enum acme_status st;
	if (!gate_pass(env, job, &rec, out) || !(c = pipeline_acme(env, out)) ||
	    !order_fetch(c, job, &rec, &order, &st, &ra, out))
		goto out;
	if (st == ACME_OK || st == ACME_E_INVALID) {
		/* nothing left to publish: finalize takes it from here */
		outcome_advance(out, STAGE_FINALIZE);
		out->state = "validating";
		goto out;
	}
	if (st != ACME_PENDING) {
		pipeline_acme_failed(env, job, st, "order", out);
		goto out;
	}
	if ((n = pending(env, c, job, &order, ch, out)) < 0)
		goto out;
	if (publish(env, job, &rec, ch, n, out) != 0)
		goto out;
	if (!propagated(env, job, ch, n, out))
		goto out;
	record_challenges(env, job, ch, n);
	for (int i = 0; i < n; i++) {
		if (!ch[i].url)
			continue;
		st = acme_challenge_respond(c, ch[i].url);
		if (st != ACME_OK && acme_status_retryable(st)) {
			pipeline_acme_failed(env, job, st, "answering the challenge", out);
			goto out;
		}
		/* a challenge already being validated may be refused: finalize
		 * reads the authorization's verdict either way */
	}
	outcome_advance(out, STAGE_FINALIZE);
	out->delay_ms = p->lc.authz_poll_ms;
	out->state = "validating";
out:
	for (int i = 0; i < ACME_MAX_AUTHZ; i++)
		free(ch[i].url);
	acme_order_free(&order);
	domain_rec_free(&rec);
}
