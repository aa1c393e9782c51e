/*
 * job: the unit of work, a msgpack map (schema version 1, schemas/job.yaml).
 *
 *   v          uint   schema version, 1
 *   id         str    job id, 1-64 chars [A-Za-z0-9_-] (dcvctl: 32 hex digits)
 *   domain     str    the certificate identifier, normalised (dname.h)
 *   tenant     str    optional: the provider's customer, a token of 1-63
 *                     characters A-Z a-z 0-9 - _ (it goes into delegation
 *                     targets: no dots, no control bytes)
 *   attempt    uint   attempts made in the current stage (0 on entry)
 *   created_at uint   unix ms when the job was first enqueued
 *   since      uint   unix ms when it entered the current stage (optional)
 *   gen        uint   the domain's pipeline generation (optional, 0)
 *   ctx        map    optional stage context: str keys -> str or int values
 *
 * Unknown top-level keys are ignored (and not carried forward).  A key that
 * appears twice in the job map or in ctx makes the job malformed.  Decoding is
 * pure (bytes in, struct out) and never trusts the input: every size is
 * capped before anything is allocated.
 */
#ifndef DCV_JOB_H
#define DCV_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dname.h"

#define JOB_VERSION 1
#define JOB_ID_MAX 64
#define JOB_TENANT_MAX 63      /* a DNS label: {tenant} is part of targets */
#define JOB_CTX_MAX 32          /* entries in ctx */
#define JOB_CTX_KEY_MAX 64      /* octets of a ctx key */
#define JOB_CTX_VAL_MAX 8192    /* octets of a ctx string value */
#define JOB_DEFAULT_MAX_BYTES 65536

enum job_status {
	JOB_OK = 0,
	JOB_E_TOOBIG,     /* larger than the size cap */
	JOB_E_MSGPACK,    /* not (exactly one) msgpack object */
	JOB_E_NOTMAP,     /* not a map */
	JOB_E_VERSION,    /* v missing or not 1 */
	JOB_E_NODOMAIN,   /* domain missing */
	JOB_E_DOMAIN,     /* domain malformed */
	JOB_E_FIELD,      /* another field of the wrong type or size */
	JOB_E_NOMEM,
};

struct job_kv {
	char key[JOB_CTX_KEY_MAX + 1];
	int is_int;     /* 1: i holds the value; 0: s does */
	int64_t i;
	char *s;        /* owned, NUL-terminated */
};

struct job {
	unsigned v;
	char id[JOB_ID_MAX + 1];
	char domain[DNAME_MAX + 1];
	char tenant[JOB_TENANT_MAX + 1];  /* "" when absent */
	uint32_t attempt;
	uint64_t created_at;
	uint64_t since;
	uint64_t gen;
	size_t nctx;
	struct job_kv ctx[JOB_CTX_MAX];
};

/* Decodes BUF (LEN bytes, at most MAXLEN) into J, which the caller then
 * releases with job_clear().  On failure J is left cleared and WHY gets a
 * human-readable reason (for the dead-letter stream). */
enum job_status job_decode(const void *buf, size_t len, size_t maxlen,
                           struct job *j, char *why, size_t whylen);

/* Whether BUF (LEN bytes) is exactly one msgpack object whose declared
 * lengths all fit in the bytes there, nested at most 16 deep: the check
 * job_decode() makes before msgpack-c allocates anything, for any other
 * reader of msgpack from outside.  Pure. */
bool job_msgpack_sane(const void *buf, size_t len);

/* Encodes J into a malloc'd buffer *OUT of *OUTLEN bytes; the caller frees
 * it.  Returns JOB_OK or JOB_E_NOMEM. */
enum job_status job_encode(const struct job *j, char **out, size_t *outlen);

/* Initialises J as a new job for DOMAIN (already normalised) with a random
 * id and created_at = since = NOW_MS.  TENANT may be NULL. */
void job_init(struct job *j, const char *domain, const char *tenant,
              uint64_t now_ms);

/* Frees what J owns (ctx strings) and zeroes it; safe on a zeroed job. */
void job_clear(struct job *j);

/* Context accessors.  Getters return NULL / DEF when the key is absent or of
 * the other type; the pointer is borrowed until the entry changes.  Setters
 * copy; they return -1 when ctx is full or the value too large. */
const char *job_ctx_str(const struct job *j, const char *key);
int64_t job_ctx_int(const struct job *j, const char *key, int64_t def);
int job_ctx_set_str(struct job *j, const char *key, const char *val);
int job_ctx_set_int(struct job *j, const char *key, int64_t val);
void job_ctx_del(struct job *j, const char *key);
/* Deletes every ctx entry but KEEP's (a job as a backend may send it holds
 * only "names": schemas/job.md).  The deleted keys, comma-separated, go
 * into DROPPED (LEN bytes; the list stops at the last key that fits; ""
 * when none).  Returns how many were deleted. */
size_t job_ctx_keep_only(struct job *j, const char *keep, char *dropped, size_t len);

const char *job_strerror(enum job_status s);

/* Whether T is a valid tenant (see above): NULL, or the reason it is not. */
const char *job_tenant_check(const char *t);

/* Fills ID (at least 33 bytes) with 32 random hex digits. */
void job_new_id(char *id);

#endif
