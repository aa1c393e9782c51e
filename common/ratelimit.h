/*
 * ratelimit: fleet-wide token buckets in Redis, so that a thousand workers
 * together stay within what the CA allows.
 *
 * A bucket "<prefix>:rl:<name>" holds up to LIMIT tokens and refills at
 * LIMIT per PERIOD (SCRIPT_BUCKET does the arithmetic inside Redis, so
 * concurrent takers never overdraw it).  A job that finds the bucket empty
 * is delayed by the time until the next token, never failed.  A CA's
 * rateLimited answer empties the bucket until its Retry-After, so every
 * worker waits, not just the one that was told.
 */
#ifndef DCV_RATELIMIT_H
#define DCV_RATELIMIT_H

#include <stdint.h>

#include "queue.h"

struct rl_bucket {
	long long limit;      /* tokens, and the refill per period; 0: no limit */
	long long period_ms;
};

enum rl_mode {
	RL_TAKE,   /* take a token when there is one */
	RL_PEEK,   /* only tell how long until there is one */
	RL_BLOCK,  /* empty the bucket until UNTIL_MS */
};

/* Applies MODE to bucket NAME (the caller makes names unique: CA, account,
 * identifier) with the limits B at NOW_MS.  Returns the milliseconds to wait
 * (0: go ahead, and for RL_TAKE the token is taken), or -1 when Redis failed
 * (queue_errstr()). */
long long ratelimit(struct queue *q, const char *name, const struct rl_bucket *b,
                    enum rl_mode mode, uint64_t now_ms, uint64_t until_ms);

#endif
