/*
 * scripts: the Lua scripts that make every queue transition atomic.
 *
 * Each runs inside Redis as one unit, so no other client ever sees a job
 * both forwarded and still pending, or promoted twice.  The key layout they
 * use is the Redis contract (schemas/redis.md).  Scripts receive the key
 * prefix and build key names from it; with a "{dcv}" prefix every key shares
 * one Redis Cluster hash slot, which is what makes that legal in a cluster.
 *
 * Each script is a source file, common/lua/<name>.lua, whose header comment
 * names its KEYS and ARGV in order; the build embeds the files as C strings
 * (common/lua/embed.cmake), pasting in the ACTIVE set of lifecycle_names.h.
 * The C side builds each script's arguments in that order with
 * script_args.h, in one place per script (queue.c, ratelimit.c and the
 * callers named in the file's header).  tests/integration/test_scripts.py
 * runs every script directly against a real redis-server.
 */
#ifndef DCV_SCRIPTS_H
#define DCV_SCRIPTS_H

enum script_id {
	SCRIPT_COMMIT,   /* ack a batch of entries and route each one */
	SCRIPT_PROMOTE,  /* move due jobs from the delayed set to their streams */
	SCRIPT_RECLAIM,  /* XAUTOCLAIM idle entries; dead-letter the poison ones */
	SCRIPT_TRIM,     /* XTRIM MINID below the oldest pending entry */
	SCRIPT_REPLAY,   /* move a dead letter back to its stage stream */
	SCRIPT_ONBOARD,  /* start a domain's pipeline, or nudge the running one */
	SCRIPT_CLAIM,    /* verify-cname adopts a job without a generation */
	SCRIPT_NUDGE,    /* make a domain's waiting job due now */
	SCRIPT_OFFBOARD, /* flag a running pipeline, or start the offboarding */
	SCRIPT_RELEASE,  /* give up an ended domain's names (tenant ownership) */
	SCRIPT_BUCKET,   /* a token bucket of the rate limiter */
	SCRIPT_DOMAIN_SET, /* a stage's writes to the domain, if still its job */
	SCRIPT_CERT_RETIRE, /* a departed domain's certificate revoked or deleted */
	SCRIPT_REVOKE,   /* record a revocation; start the re-issue it asks for */
	SCRIPT_REINDEX,  /* a batch of the rebuild of the expiry index */
	SCRIPT_COUNT
};

/* The source text of script ID (static; NULL for an unknown ID). */
const char *script_source(enum script_id id);

/* Its name in lower case ("onboard"), for tests and messages; NULL for an
 * unknown ID. */
const char *script_name(enum script_id id);

#endif
