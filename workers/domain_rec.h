/*
 * domain_rec: the domain record "<prefix>:domain:<fqdn>"
 * (schemas/lifecycle.md, "The domain record"), read with one HGETALL and
 * written by the stages through SCRIPT_DOMAIN_SET only: every write of a
 * stage is applied only while the record is still at the job's generation
 * and job id (a job overtaken while it ran writes nothing).  The commit
 * script writes state, stage, attempts, last_error, updated_at and job; the
 * lifecycle scripts write gen.  An order a stage records before its commit
 * is found by whoever runs the job next (a reclaimed job resumes instead of
 * ordering again).
 */
#ifndef DCV_DOMAIN_REC_H
#define DCV_DOMAIN_REC_H

#include <stdbool.h>
#include <stddef.h>

#include "dname.h"
#include "worker.h"

/* The domain record, one HGETALL. */
struct domain_rec {
	struct queue_reply *reply; /* the HGETALL; NULL when the read failed */
	bool exists;
};

/* Reads DOMAIN's record into R (free it with domain_rec_free either way).
 * 0, or -1 when Redis failed. */
int domain_read(struct stage_env *env, const char *domain, struct domain_rec *r);
void domain_rec_free(struct domain_rec *r);
/* A field's value, or DEF when absent (borrowed from R). */
const char *rec_str(const struct domain_rec *r, const char *field, const char *def);
long long rec_int(const struct domain_rec *r, const char *field, long long def);

/* The domain's names (the certificate's identifiers): the record's "names",
 * else the job's domain.  Fills NAMES (up to MAX) and returns their number. */
int rec_names(const struct domain_rec *rec, const struct job *job,
              char (*names)[DNAME_MAX + 2], int max);

/* Whether NAMES[I]'s base (dname_base) is that of an earlier name: the
 * names come in any order ("a.example,*.b.example,*.a.example"), and a
 * delegation is checked once per base. */
bool rec_base_seen(char (*names)[DNAME_MAX + 2], int i);

/* The N strings of V that are not NULL, space-separated, into OUT (the
 * list stops at the last one that fits in LEN): "authz", "challenges". */
void rec_join(const char *const *v, size_t n, char *out, size_t len);

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

/* The end of the certificate of JOB's departed domain (SCRIPT_CERT_RETIRE,
 * common/lua/cert_retire.lua): ACTION "delete" (dcv:cert:<domain> deleted),
 * "revoked" (ARG: the reason's name) or "refused" (ARG: why), with EVENT
 * (NULL: none) in the same step; only while the domain is at JOB's
 * generation and job, still gone, and the certificate is the one the
 * record names.  Returns 1 done, 0 nothing to do, -1 overtaken, -3 not
 * gone, -4 Redis failed. */
int domain_cert_retire(struct stage_env *env, const struct job *job, const char *action,
                       const char *event, const char *arg);

#endif
