/*
 * acme_outcome: a failed ACME call turned into a stage's outcome.
 *
 * acme_outcome_decide() is pure: from the failure (status, the CA's
 * problem, whether the stored account key moved, the job's attempt) it
 * fills the outcome and says what else to do.  pipeline_acme_failed()
 * (pipeline.h) is its driver: it gathers those facts from the thread's
 * client and Redis and performs the effect.  tests/unit/test_create_order.c
 * covers the rows.
 *
 *   - rateLimited: retried after the CA's Retry-After (without one: a
 *     minute, or the new-order bucket's period when shorter), state
 *     "rate-limited", not an attempt; the fleet's new-order bucket is
 *     blocked as long;
 *   - a refused key (unauthorized, badPublicKey, malformed,
 *     accountDoesNotExist): when the stored key_version moved, retried at
 *     once with the new key; else, for the first KEY_REFUSED_RETRIES
 *     attempts, again after a second (a rotation may be half-way: the CA
 *     knows the new key before Redis does); the state left alone;
 *   - other retryable ones: after the Retry-After or the backoff, the state
 *     left alone;
 *   - the rest fail, state "failed", with the CA's detail and type.
 */
#ifndef DCV_ACME_OUTCOME_H
#define DCV_ACME_OUTCOME_H

#include <stdbool.h>
#include <stdint.h>

#include "acme.h"
#include "worker.h"

/* Retries of a request the CA refused for its key before the job fails:
 * between keyChange and the new key's promotion in Redis (account.h) the
 * CA already refuses the old key. */
#define KEY_REFUSED_RETRIES 5

struct acme_failure {
	enum acme_status st;
	const char *type;          /* the problem's type, else the status's name */
	const char *detail;        /* the CA's detail, else the status's name */
	long long retry_after_ms;  /* -1: none */
	bool key_moved;            /* the stored key_version is not the one signing */
	uint32_t attempt;          /* the job's */
	long long orders_period_ms; /* ratelimit.new_orders.period_ms */
};

enum acme_effect {
	ACME_EFFECT_NONE = 0,
	ACME_EFFECT_BLOCK,         /* block the CA's new-order bucket for *BLOCK_MS */
	ACME_EFFECT_RELOAD,        /* look at the stored account at the next job */
};

/* Fills OUT for F (WHAT names the call: "new order") and returns the
 * effect; *BLOCK_MS is set for ACME_EFFECT_BLOCK. */
enum acme_effect acme_outcome_decide(const struct acme_failure *f, const char *what,
                                     struct outcome *out, long long *block_ms);

#endif
