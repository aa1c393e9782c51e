/*
 * offboard-check: watches every issued domain, at lifecycle.
 * offboard_interval_ms with jitter (so a million domains do not fall in the
 * same minute), and starts its renewal when due.
 *
 *   pointing at us, delegation in place   renew when due, else nothing
 *   pointing at us, delegation gone       "delegation-missing" (once) while
 *                                         the certificate is still valid
 *   never pointed at us, grace over       "parked", "never-pointed": no more
 *                                         renewals until onboarded again
 *   pointed at us before, not any more,   "offboarded": TXT removed; while
 *   or dcvctl offboard                    _acme-challenge still points at us
 *                                         "stale-delegation" (once), checked
 *                                         every lifecycle.stale_interval_ms
 *                                         until "delegation-removed"
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "pipeline.h"

/* The next check: the interval with jitter, or the renewal if sooner. */
static int64_t next_check(struct stage_env *env, const struct job *job,
                          const struct domain_rec *rec)
{
	struct pipeline *p = env->deps;
	uint64_t h = env->now_ms * 0x9E3779B97F4A7C15ull;
	for (const char *s = job->domain; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001B3ull;
	double u = (double)(h >> 11) / (double)(1ull << 53);      /* [0, 1) */
	double j = p->lc.offboard_jitter * (2 * u - 1);
	int64_t d = (int64_t)((double)p->lc.offboard_interval_ms * (1 + j));
	long long renew = rec_int(rec, "renew_at", 0);
	if (renew && renew - (long long)env->now_ms < d)
		d = renew - (long long)env->now_ms;
	return d < 1 ? 1 : d;
}

/* How many servers still show _acme-challenge pointing at our target;
 * -1 when the check could not tell. */
static int delegation_seen(struct stage_env *env, const struct job *job,
                           struct dns_check_result *res)
{
	struct pipeline *p = env->deps;
	char target[DNAME_MAX + 1];
	int n = 0;

	memset(res, 0, sizeof(*res));
	if (pipeline_target(env, job, dname_base(job->domain), target, sizeof(target)) != 0 ||
	    dns_delegation_check(pipeline_dns(env), dname_base(job->domain), target,
	                         p->dns.confirmations - 1, res) != 0)
		return -1;
	pipeline_dns_count("delegation", res);
	if (res->status == DNS_CHECK_TRANSIENT)
		return -1;
	for (int i = 0; i < res->n_vantage; i++)
		n += res->vantage[i].outcome == DNS_MATCH;
	return n;
}

/* Sets the event once per condition: COMMIT records each event it adds as
 * the domain's "notified", with the state. */
static void notify(const struct domain_rec *rec, const char *event, struct outcome *out)
{
	if (strcmp(rec_str(rec, "notified", ""), event) != 0)
		out->event = event;
}

/* The domain is no longer ours: TXT away, then watch the delegation go. */
static void offboarded(struct stage_env *env, struct job *job,
                       const struct domain_rec *rec, const char *why, struct outcome *out)
{
	struct pipeline *p = env->deps;
	struct dns_check_result res;
	char err[256];

	if (pipeline_txt_cleanup(env, job, rec, err, sizeof(err)) != 0) {
		outcome_retry(out, -1, "%s", err);
		out->state = "offboarded";
		return;
	}
	int seen = delegation_seen(env, job, &res);
	if (seen < 0) {
		outcome_retry(out, -1, "delegation check: %s", res.detail);
		out->state = "offboarded";
		return;
	}
	if (seen == 0) {
		outcome_done(out);
		snprintf(out->reason, sizeof(out->reason), "%s; _acme-challenge.%s no longer "
		         "points at us", why, dname_base(job->domain));
		out->state = "offboarded";
		out->event = "delegation-removed";
		return;
	}
	outcome_advance(out, STAGE_OFFBOARD_CHECK);
	out->delay_ms = p->lc.stale_interval_ms;
	snprintf(out->reason, sizeof(out->reason), "%s; _acme-challenge.%s still points "
	         "at us on %d of %d servers: ask the customer to delete it", why,
	         dname_base(job->domain), seen, res.n_vantage);
	out->state = "offboarded";
	notify(rec, "stale-delegation", out);
}

/* Starts the renewal: back through verify-cname, which must pass again. */
static void renew(struct stage_env *env, struct job *job, const struct domain_rec *rec,
                  struct outcome *out)
{
	const char *ari = rec_str(rec, "ari_id", "");

	if (domain_set(env, job, "verified_gen", (const char *)NULL,
	               "order_url", (const char *)NULL, "order_gen", (const char *)NULL,
	               "pending_key", (const char *)NULL, (const char *)NULL) != 0) {
		outcome_retry(out, 1000, "redis: %s", queue_errstr(env->q));
		out->state = "";
		return;
	}
	if (ari[0])
		job_ctx_set_str(job, "replaces", ari);
	outcome_advance(out, STAGE_VERIFY_CNAME);
	snprintf(out->reason, sizeof(out->reason), "renewal due");
	out->state = "renewing";
}

void stage_offboard_check(struct stage_env *env, struct job *job, struct outcome *out)
{
	struct pipeline *p = env->deps;
	struct domain_rec rec = { 0 };
	struct dns_check_result res;

	if (!pipeline_gate(env, job, &rec, out))
		goto out;
	if (rec_int(&rec, "offboard_requested", 0) ||
	    strcmp(rec_str(&rec, "state", ""), "offboarded") == 0) {
		offboarded(env, job, &rec, "offboarded by the backend", out);
		goto out;
	}
	if (!rec_str(&rec, "issued_gen", NULL)) {
		/* offboard-check runs after an issuance, or after an offboard */
		outcome_fail(out, "refused: offboard-check of a domain never issued");
		out->state = "";
		out->event = "dead-letter";
		goto out;
	}
	if (dns_pointing_check(pipeline_dns(env), dname_base(job->domain), &res) != 0) {
		outcome_fail(out, "%s: not a name to check", job->domain);
		goto out;
	}
	pipeline_dns_count("pointing", &res);
	if (res.status == DNS_CHECK_TRANSIENT) {
		outcome_retry(out, -1, "pointing check: %s", res.detail);
		out->state = "issued";
		goto out;
	}
	bool due = rec_int(&rec, "renew_at", 0) <= (long long)env->now_ms;
	if (res.status == DNS_CHECK_OK && res.pointing) {
		if (!rec_int(&rec, "ever_pointed", 0))
			domain_set(env, job, "ever_pointed", "1", (const char *)NULL);
		int seen = delegation_seen(env, job, &res);
		if (seen >= 0 && res.status == DNS_CHECK_OK) {
			if (strcmp(rec_str(&rec, "notified", ""), "delegation-missing") == 0)
				out->clear = "notified";   /* restored: tell again next time */
			if (due) {
				renew(env, job, &rec, out);
				goto out;
			}
		} else if (seen >= 0 && rec_int(&rec, "not_after", 0) * 1000 > (long long)env->now_ms) {
			notify(&rec, "delegation-missing", out);
			snprintf(out->reason, sizeof(out->reason), "pointing at us but the "
			         "delegation is gone: %s", res.detail);
		}
	} else if (rec_int(&rec, "ever_pointed", 0)) {
		offboarded(env, job, &rec, "moved away from us", out);
		goto out;
	} else if (env->now_ms - (uint64_t)rec_int(&rec, "first_issued_at", 0) >
	           (uint64_t)p->lc.park_grace_ms) {
		outcome_done(out);
		snprintf(out->reason, sizeof(out->reason), "never pointed at us within "
		         "%lld s of the first certificate", p->lc.park_grace_ms / 1000);
		out->state = "parked";
		out->event = "never-pointed";
		goto out;
	} else if (due) {
		renew(env, job, &rec, out);
		goto out;
	}
	const char *event = out->event;
	char reason[OUTCOME_REASON_MAX];
	snprintf(reason, sizeof(reason), "%s", out->reason);
	outcome_advance(out, STAGE_OFFBOARD_CHECK);
	out->delay_ms = next_check(env, job, &rec);
	out->state = "issued";
	out->event = event;
	snprintf(out->reason, sizeof(out->reason), "%s", reason);
out:
	domain_rec_free(&rec);
}
