/*
 * finalize: waits for the CA's verdict on every authorization, finalizes the
 * order with a fresh key and CSR, downloads the chain and stores it
 * (certstore.h), removes the TXT values, emits "issued" and hands the domain
 * to offboard-check, which also schedules the renewal.
 *
 * The new key and its CSR are made, and the key recorded (sealed under the
 * KEK when there is one), before the finalize request is sent, so a job
 * reclaimed at any point downloads the chain for the key it has; only a
 * Redis that loses the record of the key costs a new order.  The order's
 * fields leave the domain record with the commit that moves the job on,
 * never before it.  An invalid authorization removes the TXT, records the
 * CA's detail and goes back to verify-cname with a longer backoff each time;
 * after lifecycle.max_invalid_authz in a row the domain is "failed" (CAs
 * pause accounts that keep failing).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certstore.h"
#include "crypto.h"
#include "log.h"
#include "offboard_policy.h"
#include "acme_outcome.h"
#include "bucket.h"
#include "domain_rec.h"
#include "gate.h"
#include "order.h"
#include "pipeline.h"
#include "stages.h"
#include "txt_list.h"

/* The fields of the order in hand, deleted when it is done with. */
#define ORDER_FIELDS "order_url order_gen order_started pending_key authz challenges"

/* An authorization the CA found invalid. */
static void invalid(struct stage_env *env, struct job *job, const struct domain_rec *rec,
                    const char *identifier, const char *detail, struct outcome *out)
{
	struct pipeline *p = env->deps;
	char bucket[600], why[256];

	if (pipeline_txt_cleanup(env, job, rec, why, sizeof(why)) != 0)
		log_msg(LOG_WARN, "stage=finalize domain=%s: %s", job->domain, why);
	bucket_name(p->ca, "failed-authz", identifier, bucket, sizeof(bucket));
	ratelimit(env->q, bucket, &p->lc.failed_authz, RL_TAKE, env->now_ms, 0);
	long long k = domain_incr(env, job, "invalid_count");
	/* with the commit: a job reclaimed before it still finds its order */
	out->clear = ORDER_FIELDS " verified_gen";
	if (k >= p->lc.max_invalid) {
		outcome_done(out);
		snprintf(out->reason, sizeof(out->reason), "authorization of %s invalid "
		         "%lld times in a row: %s", identifier, k, detail);
		out->state = "failed";
		out->event = "failed";
		out->clear = ORDER_FIELDS " verified_gen";
		return;
	}
	long long delay = p->lc.invalid_backoff_ms;
	for (long long i = 1; i < k && delay < 30LL * 86400000; i++)
		delay *= 2;
	outcome_advance(out, STAGE_VERIFY_CNAME);
	out->delay_ms = delay;
	snprintf(out->reason, sizeof(out->reason), "the CA found %s invalid: %s",
	         identifier, detail);
	out->state = "waiting-cname";
	out->event = "authz-invalid";
	out->clear = ORDER_FIELDS " verified_gen";
}

/* Every authorization valid?  False with OUT set otherwise. */
static bool authorized(struct stage_env *env, struct acme_client *c, struct job *job,
                       const struct domain_rec *rec, const struct acme_order *order,
                       struct outcome *out)
{
	struct pipeline *p = env->deps;

	for (size_t i = 0; i < order->n_authz; i++) {
		struct acme_authz a = { 0 };
		long long ra = -1;
		enum acme_status st = acme_authz_poll(c, order->authorizations[i], &a, &ra);
		bool ok = st == ACME_OK;
		if (st == ACME_PENDING) {
			outcome_retry(out, ra > 0 ? ra : p->lc.authz_poll_ms,
			              "the CA is validating %s", a.identifier ? a.identifier : "?");
			out->state = "validating";
			out->wait = true;  /* waiting is not failing: the CA ends it */
		} else if (!ok && a.status && strcmp(a.status, "invalid") == 0) {
			invalid(env, job, rec, a.identifier ? a.identifier : job->domain,
			        a.error.detail[0] ? a.error.detail : acme_strerror(st), out);
		} else if (!ok) {
			pipeline_acme_failed(env, job, st, "authorization", out);
		}
		acme_authz_free(&a);
		if (!ok)
			return false;
	}
	return true;
}

/* When to renew: in the CA's ARI window when it has one (and *ARI_NEXT:
 * when to ask it again, offboard-check follows the window), else when
 * lifecycle.renew_fraction of the lifetime is left (*ARI_NEXT 0).  Unix ms. */
static uint64_t renew_at(struct stage_env *env, struct acme_client *c,
                         const char *chain, const struct cert_summary *s,
                         long long *ari_next)
{
	struct pipeline *p = env->deps;
	struct acme_renewal_info ri = { 0 };
	long long at;

	*ari_next = 0;
	if (acme_renewal_info(c, chain, &ri) == ACME_OK) {
		ari_schedule(env->now_ms, (long long)ri.start * 1000, (long long)ri.end * 1000,
		             ri.retry_after_ms, p->lc.ari_poll_min_ms, p->lc.ari_poll_max_ms, 0,
		             env->now_ms ^ (uint64_t)(uintptr_t)chain, &at, ari_next);
		acme_renewal_info_free(&ri);
		return (uint64_t)at;
	}
	double life = (double)(s->not_after - s->not_before) * 1000.0;
	return (uint64_t)s->not_after * 1000 - (uint64_t)(life * p->lc.renew_fraction);
}

/* The chain is there: store it, clean up, announce. */
static void issued(struct stage_env *env, struct acme_client *c, struct job *job,
                   const struct domain_rec *rec, const char *chain, const char *key_pem,
                   struct outcome *out)
{
	struct pipeline *p = env->deps;
	struct cert_summary s;
	char err[256], when[24], na[24], renew[24], now[24], gen[24], an[24];

	if (certstore_summary(chain, &s) != 0) {
		outcome_fail(out, "the CA's certificate does not parse");
		out->state = "failed";
		return;
	}
	long long ari_next;
	uint64_t at = renew_at(env, c, chain, &s, &ari_next);
	if (certstore_put(env->q, job->domain, chain, key_pem, &p->kek,
	                  rec_str(rec, "names", job->domain), &s, at, err, sizeof(err)) != 0) {
		outcome_retry(out, 1000, "%s", err);
		out->state = "";
		return;
	}
	if (pipeline_txt_cleanup(env, job, rec, err, sizeof(err)) != 0)
		log_msg(LOG_WARN, "stage=finalize domain=%s: %s (offboard-check retries)",
		        job->domain, err);
	snprintf(na, sizeof(na), "%lld", (long long)s.not_after);
	snprintf(renew, sizeof(renew), "%llu", (unsigned long long)at);
	snprintf(now, sizeof(now), "%llu", (unsigned long long)env->now_ms);
	snprintf(gen, sizeof(gen), "%llu", (unsigned long long)job->gen);
	snprintf(an, sizeof(an), "%lld", ari_next);
	const char *first = rec_str(rec, "first_issued_at", now);
	if (domain_set(env, job, "serial", s.serial, "not_after", na,
	               "renew_at", renew, "ari_id", s.ari_id, "issued_at", now,
	               "issued_gen", gen, "first_issued_at", first,
	               "ari_next", ari_next ? an : NULL, (const char *)NULL) != 0) {
		outcome_retry(out, 1000, "redis: %s", queue_errstr(env->q));
		out->state = "";
		return;
	}
	domain_incr(env, job, "certificates");
	job_ctx_del(job, "replaces");
	struct tm tm;
	time_t t = s.not_after;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	outcome_advance(out, STAGE_OFFBOARD_CHECK);
	out->delay_ms = 1;     /* its first check sets the real schedule */
	snprintf(out->reason, sizeof(out->reason), "serial %s, not after %s", s.serial, when);
	/* with the commit: a job reclaimed before it downloads again instead of
	 * finding neither order nor verification */
	out->clear = ORDER_FIELDS " verified_gen invalid_count";
	out->state = "issued";
	out->event = "issued";
}

void stage_finalize(struct stage_env *env, struct job *job, struct outcome *out)
{
	struct pipeline *p = env->deps;
	struct domain_rec rec = { 0 };
	struct acme_order order = { 0 };
	struct acme_client *c;
	char *key_pem = NULL, *chain = NULL, *sealed = NULL, *csr = NULL, aad[400];
	long long ra = -1;

	enum acme_status st;
	if (!gate_pass(env, job, &rec, out) || !(c = pipeline_acme(env, out)) ||
	    !order_fetch(c, job, &rec, &order, &st, &ra, out))
		goto out;
	if (st != ACME_OK && st != ACME_PENDING && st != ACME_E_INVALID) {
		pipeline_acme_failed(env, job, st, "order", out);
		goto out;
	}
	/* "ready" and after: every authorization is valid already */
	if (strcmp(order.status, "pending") == 0 || st == ACME_E_INVALID)
		if (!authorized(env, c, job, &rec, &order, out))
			goto out;
	if (st == ACME_E_INVALID) {
		invalid(env, job, &rec, job->domain, order.error.detail[0] ?
		        order.error.detail : "the order is invalid", out);
		goto out;
	}
	snprintf(aad, sizeof(aad), "%s:domain:%s:pending_key", queue_prefix(env->q), job->domain);
	if (strcmp(order.status, "ready") == 0) {
		/* the key is recorded before the CA sees its CSR: whatever the
		 * CA issues for this order, a later run has its key */
		if (order.n_identifiers == 0 ||
		    crypto_csr_new(p->acme.cert_key_type, (const char *const *)order.identifiers,
		                   order.n_identifiers, &csr, &key_pem) != CRYPTO_OK) {
			outcome_retry(out, 1000, "cannot make the key and CSR");
			out->state = "";
			goto out;
		}
		if (certstore_seal(&p->kek, key_pem, aad, &sealed) != 0) {
			outcome_retry(out, 1000, "cannot seal the new key");
			out->state = "";
			goto out;
		}
		if (domain_set(env, job, "pending_key", sealed, (const char *)NULL) != 0) {
			outcome_retry(out, 1000, "cannot record the new key: %s", queue_errstr(env->q));
			out->state = "";
			goto out;
		}
		st = acme_finalize_csr(c, &order, csr, &ra);
		if (st != ACME_OK && st != ACME_PENDING) {
			pipeline_acme_failed(env, job, st, "finalize", out);
			goto out;
		}
		/* a CA that issues at once has the certificate now: one look
		 * before waiting a poll interval */
		if (st == ACME_PENDING &&
		    acme_order_poll(c, &order, &ra) == ACME_E_INVALID) {
			invalid(env, job, &rec, job->domain, order.error.detail[0] ?
			        order.error.detail : "the order became invalid", out);
			goto out;
		}
	} else if (strcmp(order.status, "valid") == 0) {
		const char *stored = rec_str(&rec, "pending_key", NULL);
		enum certstore_status cs = stored ? certstore_open(&p->kek, stored, aad, &key_pem)
		                                  : CERTSTORE_OK;
		if (!stored || cs != CERTSTORE_OK) {
			/* finalized by a process that died before recording its
			 * key, or the key recorded cannot be trusted: a new order
			 * and a new key */
			domain_set(env, job, "order_url", (const char *)NULL,
			           "order_gen", (const char *)NULL,
			           "pending_key", (const char *)NULL, (const char *)NULL);
			outcome_advance(out, STAGE_CREATE_ORDER);
			if (!stored)
				snprintf(out->reason, sizeof(out->reason),
				         "the key of the finalized order was lost; ordering again");
			else
				snprintf(out->reason, sizeof(out->reason),
				         "refused the recorded key of the finalized order: %s; "
				         "ordering again", certstore_strerror(cs));
			if (cs == CERTSTORE_EPLAINTEXT)
				log_msg(LOG_WARN, "stage=finalize domain=%s: %s", job->domain,
				        out->reason);
			out->state = "ordering";
			goto out;
		}
	}
	if (strcmp(order.status, "valid") != 0 || !order.certificate) {
		outcome_retry(out, ra > 0 ? ra : p->lc.authz_poll_ms, "the CA is issuing");
		out->state = "finalizing";
		out->wait = true;          /* waiting is not failing */
		goto out;
	}
	/* the chain is checked against what we asked for (the record's names,
	 * not the CA's order object) and the key we hold, before it is stored */
	char names[DNAME_NAMES_MAX][DNAME_MAX + 2];
	const char *namev[DNAME_NAMES_MAX];
	int nn = rec_names(&rec, job, names, DNAME_NAMES_MAX);
	for (int i = 0; i < nn; i++)
		namev[i] = names[i];
	st = acme_cert_download(c, order.certificate, key_pem, namev, (size_t)nn, &chain);
	if (st != ACME_OK) {
		pipeline_acme_failed(env, job, st, "certificate download", out);
		goto out;
	}
	issued(env, c, job, &rec, chain, key_pem, out);
out:
	crypto_free_secret(key_pem);
	crypto_free_secret(sealed);
	free(csr);
	free(chain);
	acme_order_free(&order);
	domain_rec_free(&rec);
}
