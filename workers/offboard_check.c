/*
 * offboard-check: watches every issued domain, at lifecycle.
 * offboard_interval_ms with jitter (so a million domains do not fall in the
 * same minute), follows the CA's renewal window (ARI), and starts the
 * renewal when due.  What it decides is offboard_policy.h's: nothing is
 * ended on one answer.
 *
 *   every name points at us or rides along,  renew when due, else nothing
 *   delegations in place
 *   a delegation gone (min_checks checks)    "delegation-missing" (once)
 *                                            while the certificate is
 *                                            valid; no renewal
 *   a name that pointed at us points         "moving-away"; "back" when it
 *   elsewhere                                returns in time
 *   ... for offboard_after_ms and            "name-left": dropped from the
 *   min_checks checks, others stay           names, the next renewal orders
 *                                            the rest
 *   ... and no name that pointed stays,      "offboarded": TXT removed;
 *   or dcvctl offboard                       while _acme-challenge still
 *                                            points at us "stale-delegation"
 *                                            (once), checked every
 *                                            lifecycle.stale_interval_ms
 *                                            until "delegation-removed"
 *   never pointed at us, grace over          "parked", "never-pointed"
 *   parked or offboarded                     the job stays until lifecycle.
 *                                            cert_retention_ms after it
 *                                            left, then deletes dcv:cert
 *                                            ("cert-deleted"); offboarded
 *                                            with lifecycle.
 *                                            revoke_on_departure: revoked
 *                                            first ("revoked")
 *   no dns.pointing rule                     never parked nor offboarded on
 *                                            its own; renews
 *
 * Each run also checks what earlier stages assumed: TXT values still listed
 * in the record are removed again, and a certificate missing from
 * dcv:cert (or not the one the record names) is renewed at once.
 *
 * This file is the driver: it asks DNS, the CA and Redis, and
 * offboard_policy.h decides.
 */
#include <stdio.h>
#include <string.h>

#include "certstore.h"
#include "domain_rec.h"
#include "gate.h"
#include "log.h"
#include "offboard_policy.h"
#include "pipeline.h"
#include "stages.h"

/* A random number for JOB at NOW (jitter, a renewal moment). */
static uint64_t mix(const struct stage_env *env, const struct job *job)
{
	uint64_t h = env->now_ms * 0x9E3779B97F4A7C15ull;
	for (const char *s = job->domain; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001B3ull;
	return h;
}

/* D with +- lifecycle.offboard_jitter. */
static int64_t jittered(struct stage_env *env, const struct job *job, long long d)
{
	struct pipeline *p = pipeline_of(env);
	double u = (double)(mix(env, job) >> 11) / (double)(1ull << 53);      /* [0, 1) */
	double j = p->lc.offboard_jitter * (2 * u - 1);
	int64_t r = (int64_t)((double)d * (1 + j));
	return r < 1 ? 1 : r;
}

/* The distinct base names (a wildcard's "*." dropped) of the current names
 * of ST, or of every name with ALL. */
static int bases(const struct ob_state *st, bool all, char (*out)[DNAME_MAX + 1])
{
	int n = 0;

	for (int i = 0; i < st->n; i++) {
		if (!all && !st->name[i].current)
			continue;
		const char *b = dname_base(st->name[i].name);
		int k = 0;
		while (k < n && strcmp(out[k], b) != 0)
			k++;
		if (k == n)
			snprintf(out[n++], DNAME_MAX + 1, "%s", b);
	}
	return n;
}

/* The delegation check of BASE's _acme-challenge into RES: 0, or -1 when
 * it could not be made (not a name). */
static int delegation_of(struct stage_env *env, const struct job *job, const char *base,
                         struct dns_check_result *res)
{
	struct pipeline *p = pipeline_of(env);
	char target[DNAME_MAX + 1];

	memset(res, 0, sizeof(*res));
	if (pipeline_target(env, job, base, target, sizeof(target)) != 0 ||
	    dns_delegation_check(pipeline_dns(env), base, target, p->dns.confirmations - 1,
	                         res) != 0)
		return -1;
	pipeline_dns_count("delegation", res);
	return 0;
}

/* The delegations of the current names, as offboard_policy.h sees them;
 * DETAIL gets the first one's trouble. */
static enum ob_deleg delegations(struct stage_env *env, const struct job *job,
                                 const struct ob_state *st, char *detail, size_t len)
{
	char b[OB_NAMES_MAX][DNAME_MAX + 1];
	struct dns_check_result res;
	enum ob_deleg d = OB_DELEG_OK;

	detail[0] = '\0';
	int n = bases(st, false, b);
	for (int i = 0; i < n && d != OB_DELEG_MISSING; i++) {
		if (delegation_of(env, job, b[i], &res) != 0 || res.status == DNS_CHECK_ERROR ||
		    res.status == DNS_CHECK_TRANSIENT) {
			if (!detail[0])
				snprintf(detail, len, "_acme-challenge.%.253s: %.200s", b[i],
				         res.detail[0] ? res.detail : "the check failed");
			d = OB_DELEG_UNKNOWN;
		} else if (res.status != DNS_CHECK_OK && res.status != DNS_CHECK_CONFIRMING) {
			snprintf(detail, len, "_acme-challenge.%.253s: %.200s", b[i], res.detail);
			d = OB_DELEG_MISSING;
		}
	}
	return d;
}

/* Where each name points (names with the same base are looked at once). */
static void pointing(struct stage_env *env, struct ob_state *st)
{
	struct dns_check_result res;

	for (int i = 0; i < st->n; i++) {
		const char *b = dname_base(st->name[i].name);
		int k = 0;
		while (k < i && strcmp(dname_base(st->name[k].name), b) != 0)
			k++;
		if (k < i) {
			st->name[i].seen = st->name[k].seen;
			continue;
		}
		if (dns_pointing_check(pipeline_dns(env), b, &res) != 0) {
			st->name[i].seen = OB_SEEN_UNKNOWN;
			continue;
		}
		pipeline_dns_count("pointing", &res);
		st->name[i].seen = res.status == DNS_CHECK_TRANSIENT ? OB_SEEN_UNKNOWN :
		                   res.status == DNS_CHECK_OK && res.pointing ? OB_SEEN_US :
		                   res.status == DNS_CHECK_ERROR ? OB_SEEN_UNKNOWN :
		                   OB_SEEN_ELSEWHERE;
	}
}

/* The domain is no longer ours: TXT away, then watch the delegations go. */
static void offboarded(struct stage_env *env, struct job *job,
                       const struct domain_rec *rec, const char *why, struct outcome *out)
{
	struct pipeline *p = pipeline_of(env);
	struct dns_check_result res;
	struct ob_state st;
	struct ob_watch w = { 0 };
	char err[OUTCOME_REASON_MAX], b[OB_NAMES_MAX][DNAME_MAX + 1];

	if (pipeline_txt_cleanup(env, job, rec, err, sizeof(err)) != 0) {
		ob_watch_retry(err, out);
		return;
	}
	ob_state_parse(&st, rec_str(rec, "names", job->domain), rec_str(rec, "left", ""),
	               NULL, NULL, NULL);
	int n = bases(&st, true, b);
	for (int i = 0; i < n && !w.unchecked; i++) {
		if (delegation_of(env, job, b[i], &res) != 0 || res.status == DNS_CHECK_TRANSIENT) {
			snprintf(err, sizeof(err), "delegation check: %.400s", res.detail);
			ob_watch_retry(err, out);
			return;
		}
		if (res.n_vantage == 0) {
			w.unchecked = b[i];
			w.detail = res.detail;
			break;
		}
		for (int v = 0; v < res.n_vantage; v++)
			w.seen += res.vantage[v].outcome == DNS_MATCH;
		w.of += res.n_vantage;
	}
	ob_watch(&w, why, dname_base(job->domain), p->lc.stale_interval_ms,
	         rec_str(rec, "notified", ""), out);
}

/* Starts the renewal: back through verify-cname, which must pass again. */
static void renew(struct stage_env *env, struct job *job, const struct domain_rec *rec,
                  const char *why, struct outcome *out)
{
	const char *ari = rec_str(rec, "ari_id", "");

	if (domain_set(env, job, "verified_gen", (const char *)NULL,
	               "order_url", (const char *)NULL, "order_gen", (const char *)NULL,
	               "order_started", (const char *)NULL, "pending_key", (const char *)NULL,
	               (const char *)NULL) != 0) {
		outcome_retry(out, 1000, "redis: %s", queue_errstr(env->q));
		outcome_keep_state(out);
		return;
	}
	if (ari[0])
		job_ctx_set_str(job, "replaces", ari);
	job_ctx_set_int(job, "renewal", 1);
	ob_renewing(why, out);
}

/* Whether dcv:cert:<domain> holds the certificate the record names. */
static int cert_stored(struct stage_env *env, const struct job *job,
                       const struct domain_rec *rec)
{
	char key[400];
	const char *serial = rec_str(rec, "serial", "");

	queue_key(env->q, key, sizeof(key), "cert:");
	size_t l = strlen(key);
	snprintf(key + l, sizeof(key) - l, "%s", job->domain);
	const char *argv[] = { "HGET", key, "serial" };
	struct queue_reply *r = queue_command(env->q, 3, argv, NULL);
	const char *got = queue_reply_str(r, NULL);
	int v = got && strcmp(got, serial) == 0 ? 1 :
	        got || queue_reply_kind(r) == QR_NIL ? 0 : -1;
	queue_reply_free(r);
	return v;
}

/* Revokes an offboarded domain's certificate (lifecycle.
 * revoke_on_departure) with cessationOfOperation, once, recorded with the
 * event "revoked" (CERT_RETIRE).  The CA failing never holds up the
 * offboarding: it is asked again after lifecycle.offboard_interval_ms (the
 * returned wait; -1: nothing more to do), and a refusal for good is
 * recorded ("revoke_error") and not asked again. */
static long long revoke(struct stage_env *env, const struct job *job,
                        const struct domain_rec *rec, bool parked)
{
	struct pipeline *p = pipeline_of(env);
	struct outcome scratch = { 0 };
	struct acme_client *c;
	char key[400];
	long long again = p->lc.offboard_interval_ms, wait = -1;

	if (!p->lc.revoke_on_departure || parked)
		return -1;
	queue_key(env->q, key, sizeof(key), "cert:");
	size_t l = strlen(key);
	snprintf(key + l, sizeof(key) - l, "%s", job->domain);
	const char *argv[] = { "HMGET", key, "serial", "chain", "revoked_at", "revoke_error" };
	struct queue_reply *r = queue_command(env->q, 6, argv, NULL);
	const char *serial = queue_reply_str(queue_reply_at(r, 0), NULL);
	const char *chain = queue_reply_str(queue_reply_at(r, 1), NULL);
	bool done = queue_reply_str(queue_reply_at(r, 2), NULL) ||
	            queue_reply_str(queue_reply_at(r, 3), NULL);
	if (queue_reply_kind(r) != QR_ARRAY) {
		wait = again;   /* Redis failed */
		goto out;
	}
	/* the leaf itself must be the certificate recorded: a chain copied in
	 * from another domain's hash would revoke that domain's certificate */
	struct cert_summary leaf;
	bool stored = serial && chain && strcmp(serial, rec_str(rec, "serial", "")) == 0 &&
	              certstore_summary(chain, &leaf) == 0 && certstore_same_serial(leaf.serial, serial);
	if (!ob_revoke_due(true, parked, stored, done))
		goto out;
	if (!(c = pipeline_acme_issuer(env, rec, &scratch))) {
		wait = again;
		goto out;
	}
	enum acme_status st = acme_revoke(c, chain, OB_REVOKE_REASON);
	switch (ob_revoke_result(st)) {
	case OB_REVOKE_RECORD:
		if (domain_cert_retire(env, job, "revoked", domain_event_name(EVENT_REVOKED),
		                       OB_REVOKE_REASON_NAME) == -4)
			wait = again;
		log_msg(LOG_INFO, "stage=offboard-check domain=%s revoked: serial %s (%s)",
		        job->domain, serial, acme_strerror(st));
		break;
	case OB_REVOKE_RETRY:
		wait = again;
		log_msg(LOG_WARN, "stage=offboard-check domain=%s revoking serial %s: %s; "
		        "again in %lld ms", job->domain, serial, acme_strerror(st), again);
		break;
	case OB_REVOKE_GIVE_UP:
		domain_cert_retire(env, job, "refused", NULL, acme_strerror(st));
		log_msg(LOG_WARN, "stage=offboard-check domain=%s revoking serial %s: %s; "
		        "not asked again", job->domain, serial, acme_strerror(st));
		break;
	}
out:
	queue_reply_free(r);
	return wait;
}

/* The retention of a departed domain's certificate: "left_at" recorded by
 * the first run that sees it gone (unless the check that decided it wrote
 * it), the certificate deleted when lifecycle.cert_retention_ms has passed
 * since (CERT_RETIRE, which checks the generation and the serial again).
 * Returns the wait until the deletion (ob_retention_wait()), -1 none. */
static long long retention(struct stage_env *env, const struct job *job,
                           const struct domain_rec *rec)
{
	struct pipeline *p = pipeline_of(env);
	char now[24];

	if (rec_str(rec, "cert_deleted_at", NULL))
		return -1;
	int stored = cert_stored(env, job, rec);
	if (stored < 0)
		return 1000;   /* Redis failed: look again soon */
	long long left = rec_int(rec, "left_at", 0);
	if (!left) {
		left = (long long)env->now_ms;
		snprintf(now, sizeof(now), "%lld", left);
		if (domain_set(env, job, "left_at", now, (const char *)NULL) != 0)
			return stored ? 1000 : -1;
	}
	long long w = ob_retention_wait(env->now_ms, left, p->lc.cert_retention_ms, stored == 1);
	if (w != 0)
		return w;
	int r = domain_cert_retire(env, job, "delete", domain_event_name(EVENT_CERT_DELETED),
	                           NULL);
	if (r == 1)
		log_msg(LOG_INFO, "stage=offboard-check domain=%s %s: serial %s, %lld ms after "
		        "it left", job->domain, domain_event_name(EVENT_CERT_DELETED),
		        rec_str(rec, "serial", ""), (long long)env->now_ms - left);
	return r == -4 ? 1000 : -1;
}

/* Follows the CA's renewal window: when "ari_next" has come, asks the CA
 * (renewalInfo) and moves "renew_at" and "ari_next" as it says.  *RENEW_AT
 * and *NEXT get the values in force.  A CA without ARI is not asked. */
static void follow_ari(struct stage_env *env, const struct job *job,
                       const struct domain_rec *rec, long long *renew_at, long long *next)
{
	struct pipeline *p = pipeline_of(env);
	const char *id = rec_str(rec, "ari_id", "");
	const struct acme_directory *d;
	struct acme_renewal_info ri;
	struct outcome scratch;
	struct acme_client *c;
	char ra[24], an[24];

	*renew_at = rec_int(rec, "renew_at", 0);
	*next = rec_int(rec, "ari_next", 0);
	if (!id[0] || (*next && *next > (long long)env->now_ms))
		return;
	memset(&scratch, 0, sizeof(scratch));
	if (!(c = pipeline_acme_issuer(env, rec, &scratch)) || !pipeline_cur_ca(env)->ari ||
	    acme_directory(c, &d) != ACME_OK ||
	    !d->renewal_info) {
		*next = 0;
		return;
	}
	enum acme_status st = acme_renewal_info_by_id(c, id, &ri);
	if (st != ACME_OK) {
		/* asked again at the shortest interval */
		*next = (long long)env->now_ms + p->lc.ari_poll_min_ms;
		log_msg(LOG_INFO, "stage=offboard-check domain=%s renewalInfo: %s", job->domain,
		        acme_strerror(st));
	} else {
		long long was = *renew_at;
		ari_schedule(env->now_ms, (long long)ri.start * 1000, (long long)ri.end * 1000,
		             ri.retry_after_ms, p->lc.ari_poll_min_ms, p->lc.ari_poll_max_ms,
		             was, mix(env, job), renew_at, next);
		acme_renewal_info_free(&ri);
		if (*renew_at != was)
			log_msg(LOG_INFO, "stage=offboard-check domain=%s the CA's renewal window "
			        "moved: renewal at %lld (was %lld)", job->domain, *renew_at, was);
	}
	snprintf(ra, sizeof(ra), "%lld", *renew_at);
	snprintf(an, sizeof(an), "%lld", *next);
	domain_set(env, job, "renew_at", ra, "ari_next", an, (const char *)NULL);
}

/* The full check: where the names point, the delegations, the stored
 * certificate; ob_decide(), and what it learnt and tells written in one
 * step (guarded by the time of the check it started from).  Then D is
 * performed. */
static void full_check(struct stage_env *env, struct job *job, const struct domain_rec *rec,
                       long long renew_at, long long ari_next, struct outcome *out)
{
	struct pipeline *p = pipeline_of(env);
	struct ob_state st;
	struct ob_decision d;
	char names[OB_FIELD_MAX], left[OB_FIELD_MAX], pointed[OB_FIELD_MAX];
	char away[OB_FIELD_MAX], missing[OB_FIELD_MAX], detail[512], now[24], next_at[24];

	ob_state_parse(&st, rec_str(rec, "names", job->domain), rec_str(rec, "left", ""),
	               rec_str(rec, "pointed", ""), rec_str(rec, "away", ""),
	               rec_str(rec, "missing", ""));
	if (p->lc.pointing_rule)
		pointing(env, &st);
	enum ob_deleg deleg = delegations(env, job, &st, detail, sizeof(detail));
	int stored = cert_stored(env, job, rec);
	struct ob_params op = {
		.offboard_after_ms = p->lc.offboard_after_ms,
		.min_checks = p->lc.offboard_min_checks,
		.park_grace_ms = p->lc.park_grace_ms,
		.interval_ms = p->lc.offboard_interval_ms,
		.rule = p->lc.pointing_rule,
	};
	struct ob_facts f = {
		.now_ms = env->now_ms,
		.first_issued_at = rec_int(rec, "first_issued_at", 0),
		.renew_at = renew_at,
		.not_after_ms = rec_int(rec, "not_after", 0) * 1000,
		.deleg = deleg,
		.deleg_detail = detail,
		.renew_now = stored == 0,
	};
	ob_decide(&op, &f, &st, &d);

	ob_state_format(&st, names, left, pointed, away, missing);
	int64_t delay = ob_next_delay(env->now_ms, jittered(env, job, d.next_ms), renew_at,
	                              ari_next);
	snprintf(now, sizeof(now), "%llu", (unsigned long long)env->now_ms);
	snprintf(next_at, sizeof(next_at), "%llu", (unsigned long long)(env->now_ms + (uint64_t)delay));
	bool leaving = d.action == OB_OFFBOARD || d.action == OB_PARK;
	int w = domain_note(env, job, "checked_at", rec_str(rec, "checked_at", ""),
	                    d.action == OB_PARK ? NULL : d.event, d.detail,
	                    "names", d.names_changed ? names : rec_str(rec, "names", job->domain),
	                    "left", left[0] ? left : NULL, "pointed", pointed[0] ? pointed : NULL,
	                    "away", away[0] ? away : NULL, "missing", missing[0] ? missing : NULL,
	                    "ever_pointed", ob_ever_pointed(&st) ? "1" : NULL,
	                    "checked_at", now, "check_at", next_at,
	                    "left_at", leaving ? now : NULL, (const char *)NULL);
	if (w == -2) {
		ob_checked_meanwhile(out);
		return;
	}
	if (w != 0) {
		outcome_retry(out, 1000, "redis: %s", queue_errstr(env->q));
		outcome_keep_state(out);
		return;
	}
	if (d.event && d.action != OB_PARK)
		log_msg(LOG_INFO, "stage=offboard-check domain=%s %s: %s", job->domain, d.event,
		        d.detail);
	if (d.action == OB_OFFBOARD)
		offboarded(env, job, rec, d.detail, out);
	else if (d.action == OB_RENEW)
		renew(env, job, rec, ob_renew_reason(stored == 0, d.names_changed), out);
	else
		ob_outcome(&d, delay, deleg, detail, out);
	if (leaving) {
		/* it left now: the job stays for the certificate's retention, and
		 * comes back at once for a revocation (the commit records the
		 * domain gone first) */
		bool rv = p->lc.revoke_on_departure && d.action == OB_OFFBOARD && stored == 1;
		ob_retain(rv ? 0 : ob_retention_wait(env->now_ms, (long long)env->now_ms,
		                                     p->lc.cert_retention_ms, stored == 1), out);
	}
}

void stage_offboard_check(struct stage_env *env, struct job *job, struct outcome *out)
{
	struct domain_rec rec = { 0 };
	char err[256];
	long long renew_at, ari_next;

	if (!gate_pass(env, job, &rec, out))
		goto out;
	const char *state = rec_str(&rec, "state", "");
	bool parked = strcmp(state, domain_state_name(STATE_PARKED)) == 0;
	if (parked || rec_int(&rec, "offboard_requested", 0) ||
	    strcmp(state, domain_state_name(STATE_OFFBOARDED)) == 0) {
		/* gone: the watch of the delegations (offboarded), then only the
		 * certificate's retention */
		/* revoked before the retention may delete it: while a revocation
		 * is due (the CA failing), the certificate is kept */
		long long again = revoke(env, job, &rec, parked);
		long long wait = again >= 0 ? again : retention(env, job, &rec);
		if (parked)
			ob_gone(STATE_PARKED, out);
		else if (strcmp(rec_str(&rec, "notified", ""),
		                domain_event_name(EVENT_DELEGATION_REMOVED)) == 0)
			ob_gone(STATE_OFFBOARDED, out);
		else
			offboarded(env, job, &rec, rec_int(&rec, "offboard_requested", 0) ?
			           "offboarded by the backend" : "moved away from us", out);
		ob_retain(wait, out);
		goto out;
	}
	if (!rec_str(&rec, "issued_gen", NULL)) {
		ob_never_issued(out);
		goto out;
	}
	/* what finalize could not remove, removed now */
	if (rec_str(&rec, "txt", "")[0] &&
	    pipeline_txt_cleanup(env, job, &rec, err, sizeof(err)) != 0)
		log_msg(LOG_WARN, "stage=offboard-check domain=%s: %s", job->domain, err);
	follow_ari(env, job, &rec, &renew_at, &ari_next);
	long long check_at = rec_int(&rec, "check_at", 0);
	if (check_at > (long long)env->now_ms && renew_at > (long long)env->now_ms) {
		/* only the renewal window was due: the DNS checks keep their pace */
		ob_window_only(ob_next_delay(env->now_ms, check_at - (long long)env->now_ms,
		                             renew_at, ari_next), out);
		goto out;
	}
	full_check(env, job, &rec, renew_at, ari_next, out);
out:
	domain_rec_free(&rec);
}
