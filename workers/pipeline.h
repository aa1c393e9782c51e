/*
 * pipeline: what the five stages of dcv-worker share.
 *
 *   - the lifecycle and rate-limit configuration (lifecycle.*, ratelimit.*,
 *     acme.caa_identities), read by dcvctl too;
 *   - per worker thread: an ACME client signing with the fleet's account, a
 *     DNS context and a TXT provider;
 *   - the gate every stage passes first: the domain's record, its
 *     generation, and whether the delegation was verified for it;
 *   - the ways a stage turns a failed ACME or DNS call into an outcome.
 *
 * The domain record is "<prefix>:domain:<fqdn>" (schemas/lifecycle.md).
 * The commit script writes state, stage, attempts, last_error, updated_at and
 * job; the lifecycle scripts write gen; the stages write the rest with plain
 * HSET: an order they created before the commit is then found by whoever
 * runs the job next (a reclaimed job resumes instead of ordering again).
 */
#ifndef DCV_PIPELINE_H
#define DCV_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "account.h"
#include "acme.h"
#include "dns.h"
#include "ratelimit.h"
#include "txt_provider.h"
#include "worker.h"

#define CAA_IDENTITIES_MAX 8
#define TXT_LIST_MAX 8192   /* the domain's "txt": 16 names' targets and values */

struct lifecycle_opts {
	long long verify_max_wait_ms;   /* then "abandoned" (30 days) */
	long long propagation_poll_ms;  /* TXT not everywhere yet: look again */
	long long propagation_timeout_ms; /* then the job fails */
	long long authz_poll_ms;        /* authorization pending, no Retry-After */
	double renew_fraction;          /* renew when this much of the lifetime
	                                   is left (no ARI) */
	long long offboard_interval_ms; /* offboard check of an issued domain */
	double offboard_jitter;         /* +- this fraction of the interval */
	long long stale_interval_ms;    /* re-check of a stale delegation */
	long long park_grace_ms;        /* never pointed at us this long after
	                                   the first certificate: parked */
	long long offboard_after_ms;    /* a name that pointed at us points
	                                   elsewhere this long ... */
	int offboard_min_checks;        /* ... and on at least this many checks
	                                   in a row: it left */
	long long ari_poll_min_ms;      /* renewalInfo polled at its Retry-After, */
	long long ari_poll_max_ms;      /* bounded by these */
	bool pointing_rule;             /* dns.pointing has ranges or suffixes:
	                                   without, nothing is parked or
	                                   offboarded on its own */
	long long invalid_backoff_ms;   /* after an invalid authorization */
	int max_invalid;                /* invalid authorizations in a row,
	                                   then "failed" */
	bool caa_check;
	const char *caa_identities[CAA_IDENTITIES_MAX];
	int n_caa_identities;
	struct rl_bucket new_orders;    /* per account */
	struct rl_bucket failed_authz;  /* per identifier */
};

/* Reads lifecycle.*, ratelimit.* and acme.caa_identities (defaults: Let's
 * Encrypt's published limits).  Errors are recorded in C. */
void lifecycle_cfg_load(struct cfg *c, struct lifecycle_opts *o);

/* One worker thread's connections to the world. */
struct stage_thread {
	struct acme_client *acme;
	struct dns_ctx *dns;
	struct txt_provider *txt;
	struct account account;
	bool have_account;
	uint64_t account_checked_ms;  /* last look at the stored key_version */
};

/* dcv-worker's dependencies (struct stage_env.deps). */
struct pipeline {
	struct lifecycle_opts lc;
	struct acme_opts acme;
	struct dns_opts dns;
	struct txt_provider_opts txt;
	bool have_txt;
	struct account_kek kek;
	char ca[256];             /* the CA's host: rate-limit buckets */
	struct stage_thread *threads;
	unsigned nthreads;
};

/* worker_app.configure / release of dcv-worker. */
int pipeline_configure(struct cfg *c, const struct worker_cfg *wc, void **deps);
void pipeline_release(void *deps);

/* The domain record, one HGETALL. */
struct domain_rec {
	void *reply;              /* redisReply; NULL when the read failed */
	bool exists;
};

int domain_read(struct stage_env *env, const char *domain, struct domain_rec *r);
void domain_rec_free(struct domain_rec *r);
/* A field's value, or DEF when absent. */
const char *rec_str(const struct domain_rec *r, const char *field, const char *def);
long long rec_int(const struct domain_rec *r, const char *field, long long def);

/* A stage's writes to its domain: HSET of the NULL-terminated field/value
 * pairs (a NULL value deletes the field), applied only while the domain is
 * at JOB's generation and job (SCRIPT_DOMAIN_SET).  Returns 0, or -1 when
 * Redis failed or the job was overtaken (the next run's gate drops it). */
int domain_set(struct stage_env *env, const struct job *job, ...)
	__attribute__((sentinel));

/* HINCRBY of FIELD under the same condition; the new value or -1. */
long long domain_incr(struct stage_env *env, const struct job *job, const char *field);

/* domain_set() that also requires GUARD (NULL: none) to still hold the
 * value EXPECT (NULL or "" for absent), and adds EVENT (NULL: none) with
 * DETAIL to the events in the same step (SCRIPT_DOMAIN_SET).  Returns 0,
 * -1 when Redis failed or the job was overtaken, -2 when the guard failed
 * (another run of the job got there first: read again). */
int domain_note(struct stage_env *env, const struct job *job, const char *guard,
                const char *expect, const char *event, const char *detail, ...)
	__attribute__((sentinel));

/* Lets JOB run in env->stage, or sets OUT and returns false: an unknown
 * domain, a job without a generation or of a newer one, another job of
 * the current generation, or one of another tenant is refused (dead
 * letter, the domain left alone); a job of an older generation, or of a
 * released domain, is dropped; a later stage for a domain whose
 * delegation was not verified in this generation is refused; an offboard
 * request turns the pipeline to offboard-check.  REC is read here (free it
 * either way).  verify-cname has its own entrance (verify_cname.c). */
bool pipeline_gate(struct stage_env *env, struct job *job, struct domain_rec *rec,
                   struct outcome *out);

/* The rate-limit bucket of this CA: "new-orders" (NAME NULL) or
 * "failed-authz" of NAME (a wildcard counts under its base name, as the CA
 * reports it), into BUF. */
const char *pipeline_bucket(struct stage_env *env, const char *kind, const char *name,
                            char *buf, size_t len);

/* The thread's ACME client, signing with the fleet's account (loaded from
 * Redis, reloaded when another process rotated the key), its requests
 * bounded by the job's deadline (env->deadline_ms).  NULL with OUT set to
 * a retry when there is no account or Redis failed. */
struct acme_client *pipeline_acme(struct stage_env *env, struct outcome *out);

/* The fleet's account URL (for CAA's accounturi), or NULL when there is
 * none yet. */
const char *pipeline_account_url(struct stage_env *env);

/* Turns a failed ACME call (WHAT: "new order") into OUT: retryable ones are
 * retried after the CA's Retry-After or the backoff (rateLimited also blocks
 * the fleet's order bucket); a request refused for a rotated key is retried
 * at once with the new key, and a few times more while a rotation may be
 * half-way (the CA knows the new key before Redis does); the rest fail
 * with the CA's detail. */
void pipeline_acme_failed(struct stage_env *env, const struct job *job,
                          enum acme_status st, const char *what, struct outcome *out);

/* Whether the last ACME failure of this thread was the CA not knowing the
 * resource (HTTP 404: an order or authorization it no longer has). */
bool pipeline_acme_gone(struct stage_env *env);

/* The orders this process created lately (a minute), kept in memory: when
 * Redis loses the record of one (a restart that drops the last second of
 * writes, or a write that failed), the next run of the job in this process
 * resumes it instead of ordering again.  Recall copies the URL recorded for
 * JOB's domain, generation and id into URL and returns true. */
#define PIPELINE_JOURNAL_URL_MAX 512
void pipeline_order_journal(struct stage_env *env, const struct job *job, const char *url);
bool pipeline_order_recall(struct stage_env *env, const struct job *job,
                           char *url, size_t len);

/* Fetches the order create-order recorded for JOB's generation into ORDER
 * (free it either way), its status into *ST and a Retry-After into *RA.
 * Without one, or when the CA no longer has it, OUT sends the job back to
 * create-order and false is returned. */
bool pipeline_order(struct acme_client *c, const struct job *job,
                    const struct domain_rec *rec, struct acme_order *order,
                    enum acme_status *st, long long *ra, struct outcome *out);

/* The N strings of V that are not NULL, space-separated, into OUT (the
 * list stops at the last one that fits in LEN). */
void pipeline_join(const char *const *v, size_t n, char *out, size_t len);

/* The thread's DNS context and TXT provider (NULL in a worker without
 * provision-txt, finalize and offboard-check), given env->deadline_ms as
 * pipeline_acme() gives it to the ACME client. */
struct dns_ctx *pipeline_dns(struct stage_env *env);
struct txt_provider *pipeline_txt(struct stage_env *env);

/* Counts a DNS check's result (dcv_dns_checks_total{check,status}). */
void pipeline_dns_count(const char *check, const struct dns_check_result *r);

/* The domain's names (the certificate's identifiers): the record's "names",
 * else the domain.  Fills NAMES (up to MAX) and returns their number. */
int pipeline_names(const struct domain_rec *rec, const struct job *job,
                   char (*names)[DNAME_MAX + 2], int max);

/* The delegation target of BASE (a name without "*.") for JOB's tenant. */
int pipeline_target(struct stage_env *env, const struct job *job,
                    const char *base, char *out, size_t len);

/* Removes the TXT values listed in the record's "txt" field ("name value"
 * pairs separated by ';') and clears it.  Returns 0 or -1 (transient). */
int pipeline_txt_cleanup(struct stage_env *env, const struct job *job,
                         const struct domain_rec *rec, char *why, size_t whylen);

/* The stages (one file each). */
void stage_verify_cname(struct stage_env *env, struct job *job, struct outcome *out);
void stage_create_order(struct stage_env *env, struct job *job, struct outcome *out);
void stage_provision_txt(struct stage_env *env, struct job *job, struct outcome *out);
void stage_finalize(struct stage_env *env, struct job *job, struct outcome *out);
void stage_offboard_check(struct stage_env *env, struct job *job, struct outcome *out);

#endif
