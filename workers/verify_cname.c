/*
 * verify-cname: is "_acme-challenge.<name>" delegated to us, as every
 * authoritative server of the customer's zone and every configured resolver
 * sees it, dns.confirmations times in a row?  And does CAA let our CA issue
 * for this account by DNS-01?  Only then is an order spent.
 *
 * The customer may take minutes or a month: until the delegation is seen
 * everywhere the job comes back with the stage's backoff (stages.
 * verify-cname.*), and after lifecycle.verify_max_wait_ms the domain is
 * abandoned.  "dcvctl nudge" makes the waiting job due now and resets the
 * backoff.
 *
 * A job without a generation (from dcvctl onboard, or XADDed by the backend)
 * claims the domain here (SCRIPT_CLAIM): it becomes the domain's pipeline,
 * or, when another pipeline runs already, nudges that one and is dropped.
 * One that names a name another tenant holds is refused into the dead
 * letters (schemas/lifecycle.md, "Tenants").
 *
 * This file is the driver: it asks DNS and Redis, and verify_policy.h
 * decides, step by step in the order of the lifecycle's table.
 */
#include <stdio.h>
#include <string.h>

#include "ca_choice.h"
#include "caa.h"
#include "domain_rec.h"
#include "gate.h"
#include "log.h"
#include "pipeline.h"
#include "script_args.h"
#include "stages.h"
#include "verify_policy.h"

#define NAMES_MAX 16

/* A job that has just become the domain's pipeline came from a backend
 * (or dcvctl onboard), which sends no ctx key but "names" (schemas/job.md):
 * any other is forged or stale (a "replaces" or "renewal"; "verified_at"
 * and "rl_slot", once ctx keys, are the record's now) and is
 * dropped before any stage reads it.  Keys the stages write later are
 * theirs: a job with a generation is never filtered. */
static void intake(struct job *job)
{
	char dropped[512];

	if (job_ctx_keep_only(job, "names", dropped, sizeof(dropped)))
		log_msg(LOG_INFO, "stage=verify-cname domain=%s job=%s: a new job's ctx may "
		        "hold only names; dropped %s", job->domain, job->id, dropped);
}

/* Runs CLAIM for a job without a generation and gives it the domain's.
 * Returns false with OUT set when it must not run. */
static bool claim(struct stage_env *env, struct job *job, struct outcome *out)
{
	char target[DNAME_MAX + 1], names[1024];
	const char *want = job_ctx_str(job, "names"), *why;

	if (job->gen)
		return true;
	if ((why = dname_names(job->domain, want ? want : job->domain, names,
	                       sizeof(names)))) {
		outcome_fail(out, "ctx.names: %s", why);
		outcome_keep_state(out);
		outcome_event(out, EVENT_DEAD_LETTER);
		return false;
	}
	if (pipeline_target(env, job, job->domain, target, sizeof(target)) != 0) {
		outcome_fail(out, "no delegation target can be made for %s", job->domain);
		outcome_keep_state(out);
		return false;
	}
	/* layout: common/lua/claim.lua */
	struct script_args a;
	sa_init(&a, 0);
	sa_arg(&a, queue_prefix(env->q));
	sa_argu(&a, env->now_ms);
	sa_arg(&a, job->domain);
	sa_arg(&a, job->id);
	sa_arg(&a, job->tenant);
	sa_arg(&a, target);
	sa_arg(&a, names);
	sa_arg(&a, env->entry);
	struct queue_reply *r = queue_eval(env->q, SCRIPT_CLAIM, &a);
	long long code, gen;
	if (!queue_reply_int(queue_reply_at(r, 0), &code) ||
	    !queue_reply_int(queue_reply_at(r, 1), &gen)) {
		outcome_retry(out, 1000, "redis: %s", queue_errstr(env->q));
		outcome_keep_state(out);
		queue_reply_free(r);
		return false;
	}
	bool go = vc_claimed(code, queue_reply_str(queue_reply_at(r, 2), NULL), out);
	queue_reply_free(r);
	if (code == 0)
		log_msg(LOG_INFO, "stage=verify-cname domain=%s job=%s: a pipeline runs "
		        "already; nudged it and dropped this job", job->domain, job->id);
	if (go) {
		job->gen = (uint64_t)gen;
		intake(job);
	}
	return go;
}

/* Checks every base name's delegation.  Returns true when all of them are
 * confirmed; otherwise OUT says when to look again and why. */
static bool delegation(struct stage_env *env, struct job *job,
                       char (*names)[DNAME_MAX + 2], int n, struct outcome *out)
{
	struct dns_ctx *dns = pipeline_dns(env);
	int prev = (int)job_ctx_int(job, "confirmed", 0);
	bool confirming = false;
	struct dns_check_result res;
	char target[DNAME_MAX + 1];

	for (int i = 0; i < n; i++) {
		const char *base = dname_base(names[i]);
		if (rec_base_seen(names, i))
			continue;
		if (pipeline_target(env, job, base, target, sizeof(target)) != 0 ||
		    dns_delegation_check(dns, base, target, prev, &res) != 0) {
			outcome_fail(out, "%s: not a name a delegation can be checked for", base);
			return false;
		}
		pipeline_dns_count("delegation", &res);
		switch (vc_delegation(base, target, &res, out)) {
		case VC_NEXT:
			break;
		case VC_CONFIRMING:
			confirming = true;
			break;
		case VC_STOP_FORGET:
			job_ctx_del(job, "confirmed");
			return false;
		case VC_STOP:
			return false;
		}
	}
	if (confirming) {
		job_ctx_set_int(job, "confirmed", prev + 1);
		vc_confirming(prev, res.needed, res.retry_after_ms, out);
		return false;
	}
	return true;
}

/* CAA of every name, as each CA of JOB's tenant (ca_candidates) will
 * evaluate it (its identities, its account's URL for accounturi): the CAs
 * that may issue for all the names,
 * comma-separated, into CAS (the record's "cas"; ca_choice.h), or *CAS
 * NULL when CAA is not checked (every CA).  False with OUT set when no CA
 * may: caa-blocked when each is forbidden, else (a lookup failed) later. */
static bool caa_allows(struct stage_env *env, const struct job *job,
                       const struct domain_rec *rec,
                       char (*names)[DNAME_MAX + 2], int n, char *cas, size_t caslen,
                       bool *checked, struct outcome *out)
{
	struct pipeline *p = pipeline_of(env);
	const struct ca_list *l = &p->cas;
	struct caa_result res, bad;
	const char *bad_name = NULL;
	bool allowed[CA_MAX] = { false }, any = false;
	int order[CA_MAX];

	*checked = p->lc.caa_check;
	if (!p->lc.caa_check)
		return true;
	/* only the CAs the domain's tenant may use (ca_candidates) */
	int m = ca_candidates(l, job->tenant, order);
	for (int j = 0; j < m; j++) {
		int k = order[j];
		struct caa_policy pol = {
			.issuers = l->ca[k].caa_ptr,
			.n_issuers = (size_t)l->ca[k].n_caa,
			.account_uri = pipeline_account_url(env, k, job->tenant),
			.method = "dns-01",
		};
		allowed[k] = true;
		for (int i = 0; i < n && allowed[k]; i++) {
			if (dns_caa_check(pipeline_dns(env), names[i], false, &pol, &res) != 0) {
				outcome_fail(out, "%s: not a name CAA can be checked for", names[i]);
				return false;
			}
			if (res.verdict == CAA_ALLOWED)
				continue;
			allowed[k] = false;
			/* what is said when no CA may: a lookup that failed (it may
			 * allow one) before a refusal */
			if (!bad_name || (bad.verdict == CAA_FORBIDDEN &&
			                  res.verdict != CAA_FORBIDDEN)) {
				bad = res;
				bad_name = names[i];
			}
		}
		any = any || allowed[k];
	}
	if (!any)
		return vc_caa(bad_name, &bad, rec_str(rec, "state", ""), out);
	ca_allowed_join(l, allowed, cas, caslen);
	return true;
}

void stage_verify_cname(struct stage_env *env, struct job *job, struct outcome *out)
{
	struct pipeline *p = pipeline_of(env);
	struct domain_rec rec = { 0 };
	char names[NAMES_MAX][DNAME_MAX + 2];
	char gen[24], at[24], cas[CA_MAX * (CA_NAME_MAX + 1) + 1];
	bool checked = false;

	if (!claim(env, job, out) || !gate_pass(env, job, &rec, out))
		goto out;
	if (vc_abandoned(env->now_ms, job->since, p->lc.verify_max_wait_ms,
	                 rec_str(&rec, "last_error", "?"), out))
		goto out;
	long long nudged = rec_int(&rec, "nudged_at", 0);
	if (vc_nudged(nudged, job_ctx_int(job, "nudge_seen", 0))) {
		job->attempt = 0;           /* the backoff starts again */
		job_ctx_set_int(job, "nudge_seen", nudged);
	}
	int n = rec_names(&rec, job, names, NAMES_MAX);
	if (!delegation(env, job, names, n, out) ||
	    !caa_allows(env, job, &rec, names, n, cas, sizeof(cas), &checked, out)) {
		vc_wake_by_deadline(&env->cfg->policy[STAGE_VERIFY_CNAME], job->attempt,
		                    env->now_ms, job->since, p->lc.verify_max_wait_ms,
		                    env->now_ms * 0x9E3779B97F4A7C15ull, out);
		goto out;
	}
	snprintf(gen, sizeof(gen), "%llu", (unsigned long long)job->gen);
	snprintf(at, sizeof(at), "%llu", (unsigned long long)env->now_ms);
	/* the record, not the job, holds when it was verified and the place in
	 * line (a job can be sent again by anyone who knows its id; the record
	 * is written by the fleet only): create-order looks again when this is
	 * old, and takes a new place */
	if (domain_set(env, job, "verified_gen", gen, "verified_at", at,
	               "cas", checked ? cas : NULL,
	               "rl_slot", (const char *)NULL, "rl_shift", (const char *)NULL,
	               "rl_ca", (const char *)NULL, (const char *)NULL) != 0) {
		outcome_retry(out, 1000, "redis: %s", queue_errstr(env->q));
		outcome_keep_state(out);
		goto out;
	}
	job_ctx_del(job, "confirmed");
	vc_verified(out);
out:
	domain_rec_free(&rec);
}
