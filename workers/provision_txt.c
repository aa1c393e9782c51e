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
 *
 * This file is the driver: it asks the CA, the TXT provider and DNS, and
 * provision_txt_policy.h decides each step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain_rec.h"
#include "gate.h"
#include "log.h"
#include "order.h"
#include "pipeline.h"
#include "provision_txt_policy.h"
#include "stages.h"

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
		bool value_ok = st == ACME_OK && a.dns01_url && a.dns01_token && a.identifier &&
		                pipeline_target(env, job, a.identifier, ch[n].target,
		                                sizeof(ch[n].target)) == 0 &&
		                acme_dns01_txt(c, a.dns01_token, ch[n].value) == ACME_OK;
		switch (pt_authz(st, a.status, a.identifier, a.dns01_url != NULL, value_ok, out)) {
		case PT_GO:
			ch[n].url = a.dns01_status && strcmp(a.dns01_status, "pending") == 0 ?
			            strdup(a.dns01_url) : NULL;
			n++;
			break;
		case PT_ACME_FAILED:
			pipeline_acme_failed(env, job, st, "authorization", out);
			break;
		case PT_SKIP:
		case PT_STOP:
			break;
		}
		acme_authz_free(&a);
		if (out->kind != OUT_NONE)
			return -1;
	}
	return n;
}

/* Records S as the domain's "txt", or sets OUT. */
static int record_txt(struct stage_env *env, const struct job *job, const char *s,
                      struct outcome *out)
{
	if (domain_set(env, job, "txt", s, (const char *)NULL) == 0)
		return 0;
	outcome_retry(out, 1000, "redis: %s", queue_errstr(env->q));
	outcome_keep_state(out);
	return -1;
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
	struct pt_publish plan;
	const char *targets[ACME_MAX_AUTHZ], *values[ACME_MAX_AUTHZ];
	char msg[TXT_MSG_MAX];

	for (int i = 0; i < n; i++) {
		targets[i] = ch[i].target;
		values[i] = ch[i].value;
	}
	if (!pt_publish_plan(rec_str(rec, "txt", ""), targets, values, n, &plan, out))
		return -1;
	if (plan.unchanged)
		return 0;
	if (record_txt(env, job, plan.both, out) != 0)
		return -1;
	for (int i = 0; i < n; i++) {
		enum txt_status st = txt_add(pipeline_txt(env), targets[i], values[i],
		                             msg, sizeof(msg));
		if (!pt_txt_failed(PT_ADD, st, targets[i], msg, out))
			return -1;
	}
	job_ctx_set_int(job, "txt_at", (int64_t)env->now_ms);
	for (int i = 0; i < plan.old.n; i++) {
		const struct txt_entry *e = &plan.old.e[i];
		if (plan.remove[i] &&
		    !pt_txt_failed(PT_REMOVE, txt_remove(pipeline_txt(env), e->name, e->value,
		                                         msg, sizeof(msg)), e->name, msg, out))
			return -1;
	}
	return record_txt(env, job, plan.list, out);
}

/* Whether every authoritative server serves every value. */
static bool propagated(struct stage_env *env, struct job *job, struct chal *ch, int n,
                       struct outcome *out)
{
	struct pipeline *p = pipeline_of(env);
	struct dns_check_result res;
	char msg[TXT_MSG_MAX];

	for (int i = 0; i < n; i++) {
		if (dns_propagation_check(pipeline_dns(env), ch[i].target, ch[i].value, &res) != 0) {
			outcome_fail(out, "%s: not a name to check", ch[i].target);
			return false;
		}
		pipeline_dns_count("propagation", &res);
		switch (pt_propagation(&res, ch[i].target, env->now_ms, job->since,
		                       job_ctx_int(job, "txt_at", 0), p->lc.propagation_poll_ms,
		                       p->lc.propagation_timeout_ms, out)) {
		case PT_PROPAGATED:
			continue;
		case PT_REPUBLISH:
			/* adding a TXT that exists changes nothing */
			if (!pt_txt_failed(PT_ADD_AGAIN, txt_add(pipeline_txt(env), ch[i].target,
			                                         ch[i].value, msg, sizeof(msg)),
			                   ch[i].target, msg, out))
				return false;
			log_msg(LOG_INFO, "stage=provision-txt domain=%s published the TXT at %s "
			        "again: %s", job->domain, ch[i].target, res.detail);
			job_ctx_set_int(job, "txt_at", (int64_t)env->now_ms);
			pt_not_yet(ch[i].target, res.detail, p->lc.propagation_poll_ms, out);
			return false;
		case PT_WAIT:
		case PT_FAILED:
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

/* Answers the challenges still pending.  0, or -1 with OUT set. */
static int answer(struct stage_env *env, struct acme_client *c, const struct job *job,
                  const struct chal *ch, int n, struct outcome *out)
{
	for (int i = 0; i < n; i++) {
		if (!ch[i].url)
			continue;
		enum acme_status st = acme_challenge_respond(c, ch[i].url);
		if (st != ACME_OK && acme_status_retryable(st)) {
			pipeline_acme_failed(env, job, st, "answering the challenge", out);
			return -1;
		}
		/* a challenge already being validated may be refused: finalize
		 * reads the authorization's verdict either way */
	}
	return 0;
}

void stage_provision_txt(struct stage_env *env, struct job *job, struct outcome *out)
{
	struct pipeline *p = pipeline_of(env);
	struct domain_rec rec = { 0 };
	struct acme_order order = { 0 };
	struct chal ch[ACME_MAX_AUTHZ];
	struct acme_client *c;
	enum acme_status st;
	long long ra;
	int n = 0;

	memset(ch, 0, sizeof(ch));
	if (!gate_pass(env, job, &rec, out) || !(c = pipeline_acme(env, &rec, out)) ||
	    !order_fetch(c, job, &rec, &order, &st, &ra, out))
		goto out;
	switch (pt_order(st, out)) {
	case PT_GO:
		break;
	case PT_ACME_FAILED:
		pipeline_acme_failed(env, job, st, "order", out);
		goto out;
	default:
		goto out;
	}
	if ((n = pending(env, c, job, &order, ch, out)) < 0 ||
	    publish(env, job, &rec, ch, n, out) != 0 || !propagated(env, job, ch, n, out))
		goto out;
	record_challenges(env, job, ch, n);
	if (answer(env, c, job, ch, n, out) == 0)
		pt_answered(p->lc.authz_poll_ms, out);
out:
	for (int i = 0; i < ACME_MAX_AUTHZ; i++)
		free(ch[i].url);
	acme_order_free(&order);
	domain_rec_free(&rec);
}
