/*
 * pipeline: dcv-worker's dependencies (struct stage_env.deps) and what each
 * worker thread holds: an ACME client signing with the fleet's account, a
 * DNS context and a TXT provider.  The stages get their clients here only,
 * each bounded by the job's deadline (env->deadline_ms).
 *
 * Here too is what needs those clients: a failed ACME call turned into an
 * outcome (acme_outcome.h decides, pipeline_acme_failed performs) and the
 * removal of the TXT values the record lists.
 *
 * The rest of what the stages share is a module each: lifecycle_cfg.h (the
 * configuration), domain_rec.h (the domain record), gate.h (the gate every
 * stage passes first), bucket.h (rate-limit bucket names), order.h (the
 * recorded order), txt_list.h (the record's "txt" list); stages.h names
 * the five stages, each a driver over its *_policy.h.
 */
#ifndef DCV_PIPELINE_H
#define DCV_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "account.h"
#include "acme.h"
#include "dns.h"
#include "domain_rec.h"
#include "lifecycle_cfg.h"
#include "txt_provider.h"
#include "worker.h"

/* One worker thread's connections to the world. */
struct stage_thread {
	struct acme_client *acme;
	struct dns_ctx *dns;
	struct txt_provider *txt;
	struct account account;
	bool have_account;
	bool caps_noted;              /* the CA's capabilities recorded */
	uint64_t account_checked_ms;  /* last look at the stored key_version */
};

/* dcv-worker's dependencies (struct stage_env.deps). */
struct pipeline {
	struct lifecycle_opts lc;
	struct acme_opts acme;
	struct dns_opts dns;
	struct txt_provider_opts txt;
	bool have_txt;
	struct account_kek kek;       /* the account key's */
	struct account_kek cert_kek;  /* the certificates' keys' (finalize) */
	char ca[256];             /* the CA's host: rate-limit buckets */
	struct stage_thread *threads;
	unsigned nthreads;
};

/* worker_app.configure / release of dcv-worker. */
int pipeline_configure(struct cfg *c, const struct worker_cfg *wc, void **deps);
void pipeline_release(void *deps);

/* ENV's dependencies and the thread's own share of them (borrowed). */
struct pipeline *pipeline_of(struct stage_env *env);
struct stage_thread *pipeline_thread(struct stage_env *env);

/* The thread's ACME client, signing with the fleet's account (loaded from
 * Redis, reloaded when another process rotated the key), its requests
 * bounded by the job's deadline (env->deadline_ms).  NULL with OUT set to
 * a retry when there is no account or Redis failed. */
struct acme_client *pipeline_acme(struct stage_env *env, struct outcome *out);

/* The CA's capabilities (ca_caps.h) recorded, once per thread, from the
 * directory its client fetched for a job: never a request of its own,
 * which would spend the job's deadline.  pipeline_acme() calls it, and
 * finalize after its ACME calls (every issuance records them). */
void pipeline_note_caps(struct stage_env *env);

/* The fleet's account URL (for CAA's accounturi), or NULL when there is
 * none yet. */
const char *pipeline_account_url(struct stage_env *env);

/* acme_outcome_decide() for status ST of the thread's last ACME call (WHAT
 * names it: "new order"), performed: counts dcv_acme_problems_total, blocks
 * the CA's new-order bucket on rateLimited, marks the account for a reload
 * when the CA refused its key. */
void pipeline_acme_failed(struct stage_env *env, const struct job *job,
                          enum acme_status st, const char *what, struct outcome *out);

/* The thread's DNS context and TXT provider (NULL in a worker without
 * provision-txt, finalize and offboard-check), given env->deadline_ms as
 * pipeline_acme() gives it to the ACME client. */
struct dns_ctx *pipeline_dns(struct stage_env *env);
struct txt_provider *pipeline_txt(struct stage_env *env);

/* Counts a DNS check's result (dcv_dns_checks_total{check,status}). */
void pipeline_dns_count(const char *check, const struct dns_check_result *r);

/* The delegation target of BASE (a name without "*.") for JOB's tenant. */
int pipeline_target(struct stage_env *env, const struct job *job,
                    const char *base, char *out, size_t len);

/* Removes the TXT values listed in the record's "txt" field (txt_list.h)
 * and clears it.  Returns 0 or -1 (transient; WHY says what). */
int pipeline_txt_cleanup(struct stage_env *env, const struct job *job,
                         const struct domain_rec *rec, char *why, size_t whylen);

#endif
