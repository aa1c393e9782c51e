/*
 * finalize: waits for the CA's verdict on every authorization, finalizes the
 * order with a fresh key and CSR, downloads the chain and stores it
 * (certstore.h), removes the TXT values, emits "issued" and hands the domain
 * to offboard-check, which also schedules the renewal.
 *
 * The new key and its CSR are made, and the key recorded (sealed under the
 * certificate KEK when there is one, never the account's), before the
 * finalize request is sent, so a job reclaimed at any point downloads the chain for the key it has; only a
 * Redis that loses the record of the key costs a new order.  The order's
 * fields leave the domain record with the commit that moves the job on,
 * never before it.  An invalid authorization removes the TXT, records the
 * CA's detail and goes back to verify-cname with a longer backoff each time;
 * after lifecycle.max_invalid_authz in a row the domain is "failed" (CAs
 * pause accounts that keep failing).
 *
 * This file is the driver: it asks the CA and Redis, and finalize_policy.h
 * decides each step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bucket.h"
#include "certstore.h"
#include "crypto.h"
#include "domain_rec.h"
#include "finalize_policy.h"
#include "gate.h"
#include "log.h"
#include "offboard_policy.h"
#include "order.h"
#include "pipeline.h"
#include "stages.h"

/* An authorization the CA found invalid: the TXT removed (best effort),
 * a token of the identifier's failed-authorization bucket taken, the run
 * counted. */
static void invalid(struct stage_env *env, struct job *job, const struct domain_rec *rec,
                    const char *identifier, const char *detail, struct outcome *out)
{
	struct pipeline *p = pipeline_of(env);
	char bucket[600], why[256];

	if (pipeline_txt_cleanup(env, job, rec, why, sizeof(why)) != 0)
		log_msg(LOG_WARN, "stage=finalize domain=%s: %s", job->domain, why);
	bucket_name(pipeline_cur_scope(env), "failed-authz", identifier, bucket, sizeof(bucket));
	ratelimit(env->q, bucket, &p->lc.failed_authz, RL_TAKE, env->now_ms, 0);
	long long k = domain_incr(env, job, "invalid_count");
	job_ctx_del(job, "chal_err");   /* the next order's errors are new */
	job_ctx_del(job, "chal_err_n");
	fz_invalid(k, p->lc.max_invalid, p->lc.invalid_backoff_ms, identifier, detail, out);
}

/* A pending authorization: the error the CA attached to its challenge
 * (RFC 8555 section 8.2 retries: Pebble and Let's Encrypt make it invalid,
 * step-ca keeps it pending) shown, once per new error as an event (at most
 * FZ_CHAL_EVENTS_MAX for the order), and the
 * wait bounded by lifecycle.validation_timeout_ms from the moment the job
 * first came to finalize for this order (the challenges answered), kept in
 * the record's "validating_at".  FZ_WAIT or FZ_INVALID with the reason in
 * DETAIL. */
static enum fz_step pending(struct stage_env *env, struct job *job, const struct domain_rec *rec,
                            const struct acme_authz *a, long long ra, char *detail, size_t len,
                            struct outcome *out)
{
	struct pipeline *p = pipeline_of(env);
	static const char urn[] = "urn:ietf:params:acme:error:";
	const char *type = a->error.type;
	char raw[sizeof(a->error.detail) + sizeof(a->error.type) + 4], err[sizeof(raw)];

	if (strncmp(type, urn, sizeof(urn) - 1) == 0)
		type += sizeof(urn) - 1;
	/* the detail with its type: step-ca's details are its types' stock texts */
	snprintf(raw, sizeof(raw), "%s%s%s%s", a->error.detail, a->error.detail[0] && type[0]
	         ? " (" : "", type, a->error.detail[0] && type[0] ? ")" : "");
	fz_redact(raw, a->dns01_token, err, sizeof(err));
	uint32_t id = fz_error_id(err);
	bool new_err = fz_chal_event(job_ctx_int(job, "chal_err", 0),
	                             job_ctx_int(job, "chal_err_n", 0), id);
	char at[2200];
	long long start = fz_validating_since(rec_str(rec, "validating_at", NULL),
	                                      rec_str(rec, "order_url", NULL), job->since,
	                                      env->now_ms, at, sizeof(at));
	long long waited = (long long)env->now_ms - start;

	/* best effort: a Redis that fails it measures from this run's start */
	if (at[0])
		domain_set(env, job, "validating_at", at, (const char *)NULL);

	if (id)
		job_ctx_set_int(job, "chal_err", (int64_t)id);
	if (new_err)
		job_ctx_set_int(job, "chal_err_n", job_ctx_int(job, "chal_err_n", 0) + 1);
	return fz_pending(a->identifier ? a->identifier : job->domain, err, new_err, waited,
	                  p->lc.validation_timeout_ms, ra, p->lc.authz_poll_ms, detail, len,
	                  out);
}

/* Every authorization valid?  False with OUT set otherwise. */
static bool authorized(struct stage_env *env, struct acme_client *c, struct job *job,
                       const struct domain_rec *rec, const struct acme_order *order,
                       struct outcome *out)
{
	struct pipeline *p = pipeline_of(env);

	for (size_t i = 0; i < order->n_authz; i++) {
		struct acme_authz a = { 0 };
		long long ra = -1;
		enum acme_status st = acme_authz_poll(c, order->authorizations[i], &a, &ra);
		char late[640];
		enum fz_step step = fz_authz(st, a.status, a.identifier, ra, p->lc.authz_poll_ms,
		                             out);
		late[0] = '\0';
		if (step == FZ_WAIT)
			step = pending(env, job, rec, &a, ra, late, sizeof(late), out);
		if (step == FZ_INVALID && !late[0])
			fz_redact(a.error.detail[0] ? a.error.detail : acme_strerror(st),
			          a.dns01_token, late, sizeof(late));
		if (step == FZ_INVALID)
			invalid(env, job, rec, a.identifier ? a.identifier : job->domain, late, out);
		else if (step == FZ_ACME_FAILED)
			pipeline_acme_failed(env, job, st, "authorization", out);
		acme_authz_free(&a);
		if (step != FZ_GO)
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
	struct pipeline *p = pipeline_of(env);
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
	return fz_renew_at((long long)s->not_before, (long long)s->not_after, p->lc.renew_fraction);
}

/* The fields of the "issued" event (schemas/redis.md, "Events: the fields
 * of `issued`"): what a backend needs to act on it.  RENEWAL: the domain
 * had a certificate before this one.  A field that cannot be added (a byte
 * no event may carry) is left out, with a warning. */
static void issued_fields(struct stage_env *env, const struct job *job,
                          const struct domain_rec *rec, const char *names,
                          const struct cert_summary *s, bool renewal, struct outcome *out)
{
	char key[400], na[24];

	queue_key(env->q, key, sizeof(key), "cert:");
	size_t l = strlen(key);
	snprintf(key + l, sizeof(key) - l, "%s", job->domain);
	snprintf(na, sizeof(na), "%lld", (long long)s->not_after);
	const char *why = rec_str(rec, "ca_why", "preferred");
	const char *kv[][2] = {
		{ "names", names }, { "serial", s->serial }, { "not_after", na },
		{ "cert_key", key }, { "renewal", renewal ? "1" : "0" },
		{ "ca", pipeline_cur_ca(env)->name }, { "ca_why", why },
		{ "fallback", strncmp(why, "fallback", 8) == 0 ? "1" : "0" },
		{ "acct", pipeline_cur_tenant(env) ? "tenant" : "fleet" },
	};
	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
		if (outcome_event_field(out, kv[i][0], kv[i][1]) != 0)
			log_msg(LOG_WARN, "stage=finalize domain=%s: event field %s left out "
			        "(unsafe or too long)", job->domain, kv[i][0]);
}

/* The chain is there: store it, clean up, announce. */
static void issued(struct stage_env *env, struct acme_client *c, struct job *job,
                   const struct domain_rec *rec, const char *chain, const char *key_pem,
                   struct outcome *out)
{
	struct pipeline *p = pipeline_of(env);
	struct cert_summary s;
	char err[256], na[24], renew[24], now[24], gen[24], an[24];

	if (certstore_summary(chain, &s) != 0) {
		outcome_fail(out, "the CA's certificate does not parse");
		outcome_state(out, STATE_FAILED);
		return;
	}
	/* read before this run writes the record: a renewal replaces another
	 * serial of this generation, or was started by offboard-check (a run
	 * that stored this certificate and died before its commit left only
	 * the new serial).  The serial of an earlier generation (a departed
	 * domain onboarded again) makes no renewal: it starts fresh. */
	char gen_s[24];
	snprintf(gen_s, sizeof(gen_s), "%llu", (unsigned long long)job->gen);
	const char *prev = strcmp(rec_str(rec, "issued_gen", ""), gen_s) == 0 ?
	                   rec_str(rec, "serial", "") : "";
	bool renewal = job_ctx_int(job, "renewal", 0) != 0 ||
	               (prev[0] && strcmp(prev, s.serial) != 0);
	long long ari_next;
	uint64_t at = renew_at(env, c, chain, &s, &ari_next);
	if (certstore_put(env->q, job->domain, chain, key_pem, &p->cert_kek,
	                  rec_str(rec, "names", job->domain), &s, at, err, sizeof(err)) != 0) {
		outcome_retry(out, 1000, "%s", err);
		outcome_keep_state(out);
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
	               "issued_ca", pipeline_cur_ca(env)->name,
	               "issued_acct", pipeline_cur_tenant(env) ? "tenant" : "fleet",
	               "ari_next", ari_next ? an : NULL, (const char *)NULL) != 0) {
		outcome_retry(out, 1000, "redis: %s", queue_errstr(env->q));
		outcome_keep_state(out);
		return;
	}
	domain_incr(env, job, "certificates");
	job_ctx_del(job, "replaces");
	job_ctx_del(job, "renewal");
	job_ctx_del(job, "chal_err");
	job_ctx_del(job, "chal_err_n");
	fz_issued(s.serial, (long long)s.not_after, out);
	issued_fields(env, job, rec, rec_str(rec, "names", job->domain), &s, renewal, out);
}

/* A ready order: the key is recorded before the CA sees its CSR (whatever
 * the CA issues for this order, a later run has its key), then finalized.
 * 0 to go on (*KEY_PEM is the new key), or -1 with OUT set. */
static int finalize_ready(struct stage_env *env, struct acme_client *c, struct job *job,
                          const struct domain_rec *rec, struct acme_order *order,
                          const char *aad, char **key_pem, long long *ra,
                          struct outcome *out)
{
	struct pipeline *p = pipeline_of(env);
	char *sealed = NULL, *csr = NULL;
	int rc = -1;

	if (order->n_identifiers == 0 ||
	    crypto_csr_new(p->acme.cert_key_type, (const char *const *)order->identifiers,
	                   order->n_identifiers, &csr, key_pem) != CRYPTO_OK) {
		outcome_retry(out, 1000, "cannot make the key and CSR");
		outcome_keep_state(out);
		goto out;
	}
	if (certstore_seal(&p->cert_kek, *key_pem, aad, &sealed) != 0) {
		outcome_retry(out, 1000, "cannot seal the new key");
		outcome_keep_state(out);
		goto out;
	}
	if (domain_set(env, job, "pending_key", sealed, (const char *)NULL) != 0) {
		outcome_retry(out, 1000, "cannot record the new key: %s", queue_errstr(env->q));
		outcome_keep_state(out);
		goto out;
	}
	enum acme_status st = acme_finalize_csr(c, order, csr, ra);
	if (st != ACME_OK && st != ACME_PENDING) {
		pipeline_acme_failed(env, job, st, "finalize", out);
		goto out;
	}
	/* a CA that issues at once has the certificate now: one look before
	 * waiting a poll interval */
	if (st == ACME_PENDING && acme_order_poll(c, order, ra) == ACME_E_INVALID) {
		invalid(env, job, rec, job->domain, order->error.detail[0] ?
		        order->error.detail : "the order became invalid", out);
		goto out;
	}
	rc = 0;
out:
	crypto_free_secret(sealed);
	free(csr);
	return rc;
}

/* A valid order: the key recorded for it, opened into *KEY_PEM.  0, or -1
 * with OUT set (lost or refused: a new order). */
static int key_of_valid(struct stage_env *env, const struct job *job,
                        const struct domain_rec *rec, const char *aad, char **key_pem,
                        struct outcome *out)
{
	struct pipeline *p = pipeline_of(env);
	const char *stored = rec_str(rec, "pending_key", NULL);
	/* a key recorded under the account KEK (a run from before the split)
	 * is named as such, for the operator to rewrap; it costs a new order */
	enum certstore_status cs = stored ? certstore_open_diag(&p->cert_kek, &p->kek, stored,
	                                                        aad, key_pem)
	                                  : CERTSTORE_OK;

	if (stored && cs == CERTSTORE_OK)
		return 0;
	domain_set(env, job, "order_url", (const char *)NULL, "order_gen", (const char *)NULL,
	           "pending_key", (const char *)NULL, (const char *)NULL);
	fz_key_lost(stored != NULL, certstore_strerror(cs), out);
	if (cs == CERTSTORE_EPLAINTEXT || cs == CERTSTORE_EACCOUNTKEK)
		log_msg(LOG_WARN, "stage=finalize domain=%s: %s", job->domain, out->reason);
	return -1;
}

/* The chain, checked against what we asked for (the record's names, not
 * the CA's order object) and the key we hold, then stored. */
static void download(struct stage_env *env, struct acme_client *c, struct job *job,
                     const struct domain_rec *rec, const struct acme_order *order,
                     const char *key_pem, struct outcome *out)
{
	char names[DNAME_NAMES_MAX][DNAME_MAX + 2], *chain = NULL;
	const char *namev[DNAME_NAMES_MAX];
	int nn = rec_names(rec, job, names, DNAME_NAMES_MAX);

	for (int i = 0; i < nn; i++)
		namev[i] = names[i];
	enum acme_status st = acme_cert_download(c, order->certificate, key_pem, namev,
	                                         (size_t)nn, &chain);
	if (st != ACME_OK)
		pipeline_acme_failed(env, job, st, "certificate download", out);
	else
		issued(env, c, job, rec, chain, key_pem, out);
	free(chain);
}

void stage_finalize(struct stage_env *env, struct job *job, struct outcome *out)
{
	struct pipeline *p = pipeline_of(env);
	struct domain_rec rec = { 0 };
	struct acme_order order = { 0 };
	struct acme_client *c = NULL;
	char *key_pem = NULL, aad[400];
	long long ra = -1;
	enum acme_status st;

	if (!gate_pass(env, job, &rec, out) || !(c = pipeline_acme(env, &rec, out)) ||
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
	if (strcmp(order.status, "ready") == 0 &&
	    finalize_ready(env, c, job, &rec, &order, aad, &key_pem, &ra, out) != 0)
		goto out;
	if (strcmp(order.status, "valid") == 0 && !key_pem &&
	    key_of_valid(env, job, &rec, aad, &key_pem, out) != 0)
		goto out;
	if (strcmp(order.status, "valid") != 0 || !order.certificate) {
		fz_issuing(ra, p->lc.authz_poll_ms, out);
		goto out;
	}
	download(env, c, job, &rec, &order, key_pem, out);
out:
	if (c)
		pipeline_note_caps(env);
	crypto_free_secret(key_pem);
	acme_order_free(&order);
	domain_rec_free(&rec);
}
