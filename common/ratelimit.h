/*
 * ratelimit: fleet-wide rate limits in Redis, so that a thousand workers
 * together stay within what the CA allows.
 *
 * A bucket "<prefix>:rl:<name>" allows LIMIT requests per PERIOD: LIMIT at
 * once from a full bucket, then one every PERIOD / LIMIT (SCRIPT_BUCKET does
 * the arithmetic inside Redis, as virtual scheduling, so concurrent takers
 * never overdraw it).
 *
 * Waiting is never failing, and it is cheap: a job that must wait for a new
 * order reserves the next slot in line (ratelimit_turn) and sleeps in the
 * delayed set until exactly then, holding its token; it asks Redis once to
 * take its place and once when its turn comes, however long the line.  The
 * line is served in the order the places were taken.  A CA's rateLimited
 * answer blocks the bucket until its Retry-After and pushes every place
 * given out back by as much (and the waiters' entries in the delayed set
 * with them), so the line keeps its order and its spacing and nobody wakes
 * before the block is over.  "<bucket>:line" lists the waiters by slot.
 *
 * A place says when a holder's turn comes; it does not say that the holder
 * uses it then (its worker busy, DNS paused, the CA down): holders whose
 * turns passed unused would then all send at once.  So the request itself
 * passes a gate (RL_USE), a second bucket of the same limit over the
 * requests really sent: whatever the line does, the CA never sees more than
 * a burst of LIMIT and then one every PERIOD / LIMIT.
 */
#ifndef DCV_RATELIMIT_H
#define DCV_RATELIMIT_H

#include <stdint.h>

#include "queue.h"

struct rl_bucket {
	long long limit;      /* requests per period; 0: no limit */
	long long period_ms;
};

enum rl_mode {
	RL_TAKE,   /* take a token when there is one */
	RL_PEEK,   /* only tell how long until there is one */
	RL_BLOCK,  /* nothing before UNTIL_MS; places in line move back */
	RL_USE,    /* the gate before the request, once its turn came: take a
	              token of the requests really sent, or tell the wait */
};

/* Applies MODE to bucket NAME (the caller makes names unique: CA, account,
 * identifier) with the limits B at NOW_MS.  Returns the milliseconds to wait
 * (0: go ahead, and for RL_TAKE the token is taken), or -1 when Redis failed
 * (queue_errstr()). */
long long ratelimit(struct queue *q, const char *name, const struct rl_bucket *b,
                    enum rl_mode mode, uint64_t now_ms, uint64_t until_ms);

/* A place in the line of a bucket: the slot (unix ms) it was given and the
 * bucket's shift (ms the line was pushed back by blocks) at that time. */
struct rl_ticket {
	long long slot;       /* 0: no place taken yet */
	long long shift;
};

/* Waits its turn in bucket NAME.  Without a place (T->slot 0) it takes the
 * next one; with one it asks whether its (possibly pushed back) slot has
 * come.  T is updated either way: the caller keeps it (in the job) until
 * the request it stood in line for was sent.  MEMBER is the entry the
 * waiting job will have in the delayed set ("<stage> <domain> <job id>"):
 * while it waits it stands in "<bucket>:line", and a block moves its
 * delayed entry with its slot, so it does not wake during the block.
 * Returns the milliseconds until the turn (0: go now; the token is the
 * holder's), or -1 when Redis failed.  A bucket without a limit returns 0
 * and leaves T alone. */
long long ratelimit_turn(struct queue *q, const char *name, const struct rl_bucket *b,
                         uint64_t now_ms, const char *member, struct rl_ticket *t);

#endif
