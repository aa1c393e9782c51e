/*
 * pipeline: dcv-worker's dependencies (struct stage_env.deps) and what each
 * worker thread holds: an ACME client per CA (ca_cfg.h), each signing with
 * that CA's account, a DNS context and a TXT provider.  The stages get their clients here only,
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
#include "ca_cfg.h"
#include "dns.h"
#include "domain_rec.h"
#include "lifecycle_cfg.h"
#include "txt_provider.h"
#include "worker.h"

/* One worker thread's client of one CA, and that CA's account. */
struct ca_client {
	struct acme_client *acme;
	struct account account;
	bool have_account;
	bool caps_noted;              /* the CA's capabilities recorded */
	uint64_t account_checked_ms;  /* last look at the stored key_version */
	bool stale;                   /* the CA refused it: load it anew */
	char tenant[JOB_TENANT_MAX + 1];  /* whose own account (a tenant
	                                     client), "" the fleet's */
};

/* One worker thread's connections to the world. */
struct stage_thread {
	struct ca_client ca[CA_MAX];  /* by the index of the CA in the list */
	struct ca_client tca[CA_MAX]; /* the same signing with a tenant's own
	                                 account (the last tenant asked for) */
	int cur;                      /* the CA of the last pipeline_acme*() */
	struct ca_client *curc;       /* and its client (fleet's or tenant's) */
	char cur_hash[400];           /* its account hash */
	char cur_scope[400];          /* its account's buckets' scope */
	struct dns_ctx *dns;
	struct txt_provider *txt;
};

/* dcv-worker's dependencies (struct stage_env.deps). */
struct pipeline {
	struct lifecycle_opts lc;
	struct acme_opts acme;        /* the shared acme.* keys (timeouts, KEKs,
	                                 cert_key_type); a CA's own are in cas */
	struct ca_list cas;
	struct dns_opts dns;
	struct txt_provider_opts txt;
	bool have_txt;
	struct account_kek kek;       /* the account key's */
	struct account_kek cert_kek;  /* the certificates' keys' (finalize) */
	struct stage_thread *threads;
	unsigned nthreads;
};

/* worker_app.configure / release of dcv-worker. */
int pipeline_configure(struct cfg *c, const struct worker_cfg *wc, void **deps);
void pipeline_release(void *deps);

/* ENV's dependencies and the thread's own share of them (borrowed). */
struct pipeline *pipeline_of(struct stage_env *env);
struct stage_thread *pipeline_thread(struct stage_env *env);

/* The thread's ACME client of CA number CA (ca_cfg.h), signing with that
 * CA's account (loaded from Redis, reloaded when another process rotated
 * the key), its requests bounded by the job's deadline (env->deadline_ms).
 * It becomes the thread's current CA (pipeline_acme_failed,
 * pipeline_cur_ca).  NULL with OUT set to a retry when there is no account
 * or Redis failed. */
struct acme_client *pipeline_acme_ca(struct stage_env *env, int ca, struct outcome *out);

/* The same signing with TENANT's own account at CA ("<prefix>:account:
 * <ca>:tenant:<tenant>") when TENANT is not NULL or "", never the fleet's:
 * NULL with OUT set to a retry when the tenant has none. */
struct acme_client *pipeline_acme_as(struct stage_env *env, int ca, const char *tenant,
                                     struct outcome *out);

/* The account a domain of TENANT uses at CA: the tenant's own
 * (ca_tenant_account) or the fleet's; pipeline_acme_as() of it. */
struct acme_client *pipeline_acme_for(struct stage_env *env, int ca, const char *tenant,
                                      struct outcome *out);

/* Whether the thread's current client signs with a tenant's own account,
 * and that account's scope of bucket names (bucket.h: the CA's scope, or
 * "<scope>:tenant:<tenant>": a tenant account's new-order and
 * failed-authorization buckets are its own). */
bool pipeline_cur_tenant(struct stage_env *env);
const char *pipeline_cur_scope(struct stage_env *env);

/* The CA's capabilities (ca_caps.h) recorded, once per thread, from the
 * directory the current CA's client fetched for a job: never a request of its own,
 * which would spend the job's deadline.  pipeline_acme_ca() calls it, and
 * finalize after its ACME calls (every issuance records them). */
void pipeline_note_caps(struct stage_env *env);

/* The index of the CA the record REC names ("ca": the CA of its order and
 * of the certificate it issued), ca_of_record()'s when it names none (a
 * record of a single-CA fleet: the CA "default", else the first), -1 when
 * it names one no longer configured. */
int pipeline_rec_ca(const struct pipeline *p, const struct domain_rec *rec);

/* pipeline_acme_ca() for the CA of REC's order (pipeline_rec_ca), with the
 * account the record names ("acct": "tenant" is the record's tenant's own
 * account, else the fleet's); a CA no longer configured is a retry that
 * says so. */
struct acme_client *pipeline_acme(struct stage_env *env, const struct domain_rec *rec,
                                  struct outcome *out);

/* The same for the CA and account that issued REC's certificate
 * ("issued_ca" and "issued_acct", else "ca" and "acct"): revocation and ARI
 * ask that one. */
struct acme_client *pipeline_acme_issuer(struct stage_env *env, const struct domain_rec *rec,
                                         struct outcome *out);

/* The thread's current CA (of the last pipeline_acme*()). */
const struct ca_conf *pipeline_cur_ca(struct stage_env *env);

/* The URL of the account a domain of TENANT uses at CA number CA
 * (pipeline_acme_for; for CAA's accounturi), or NULL when there is none
 * yet. */
const char *pipeline_account_url(struct stage_env *env, int ca, const char *tenant);

/* acme_outcome_decide() for status ST of the thread's last ACME call (WHAT
 * names it: "new order"), to the current CA, performed: counts
 * dcv_acme_problems_total, blocks the CA's new-order bucket on rateLimited,
 * marks the account for a reload when the CA refused its key. */
void pipeline_acme_failed(struct stage_env *env, const struct job *job,
                          enum acme_status st, const char *what, struct outcome *out);

/* Counts one in the counter NAME (HELP) with the label ca="CA" and, when
 * KEY is not NULL, KEY="VALUE" (the dcv_ca_* counters of metrics.h). */
void pipeline_ca_count(const char *name, const char *help, const char *ca,
                       const char *key, const char *value);

/* Sets dcv_ca_healthy{ca="CA"} (metrics.h) to HEALTHY. */
void pipeline_ca_health_gauge(const char *ca, bool healthy);

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
