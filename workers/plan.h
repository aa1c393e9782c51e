/*
 * plan: what the runtime sends to Redis for one entry, decided without I/O.
 *
 * The runtime (worker.c) reads an entry, decodes its job (plan_decode), runs
 * the stage's handler (or, when the batch left it too little time, does not:
 * plan_unrun), and then plan_build() turns (job, outcome, stage policy, now,
 * a random draw) into the commit that settles the entry (queue.h, SCRIPT_
 * COMMIT) plus what to count and log.  worker.c only performs it.  The rules
 * that live here, each covered by tests/unit/test_plan.c:
 *
 *   outcome     commit                                domain state default
 *   ADVANCE     FORWARD to `next` (LATER when delayed) "active"
 *   RETRY       LATER to the same stage, due after     "waiting"
 *               delay_ms (Retry-After) or the backoff
 *   DONE        DONE                                  "done"
 *   FAIL, NONE  DEAD, event "failed" unless one given "failed"
 *
 *   - a RETRY that is an attempt (not out->wait, and run) increments the
 *     job's attempt; at the stage's max_attempts it becomes a FAIL ("gave up
 *     after N attempts: ...", state "failed");
 *   - ADVANCE resets attempt to 0 and since to now;
 *   - an entry sent back unrun is due at once, its attempt not counted;
 *   - a job that cannot be decoded is dead-lettered as it came (domain from
 *     the entry's plain field, no job id, state left alone, event
 *     "dead-letter");
 *   - the job's generation goes with the commit (0: none; COMMIT then
 *     routes without a generation guard); when the domain has a nudge
 *     pending, COMMIT makes a delayed job due at once (schemas/redis.md):
 *     the plan does not know about nudges.
 *
 * Every function here is pure: no clock, no randomness of its own, no
 * Redis, no logging.
 */
#ifndef DCV_PLAN_H
#define DCV_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "worker.h"

/* Which of the runtime's counters a settled entry adds to (dcv_jobs_total
 * is counted when its handler returns, before any give-up). */
enum plan_count {
	PLAN_COUNT_NONE,
	PLAN_COUNT_RETRY_AFTER,   /* dcv_retries_total{reason="retry_after"} */
	PLAN_COUNT_RETRY_BACKOFF, /* dcv_retries_total{reason="backoff"} */
	PLAN_COUNT_DEAD_FAILED,   /* dcv_dead_letters_total{reason="failed"} */
	PLAN_COUNT_DEAD_BAD_JOB,  /* dcv_dead_letters_total{reason="bad_job"} */
};

#define PLAN_REASON_MAX (OUTCOME_REASON_MAX + 64)

/* The strings a commit borrows, and what to say about it.  One per entry of
 * a batch; reused after plan_release(). */
struct plan {
	enum outcome_kind kind;     /* as settled: a RETRY given up is OUT_FAIL */
	bool bad;                   /* the job could not be decoded */
	enum plan_count count;      /* the counter to add 1 to */
	enum log_level log_level;   /* of the line plan_describe() writes */
	const char *log_outcome;    /* its outcome= field: "advance", "retry",
	                               "done", "fail", "none"; "dead" when bad */
	uint64_t delay_ms;          /* COMMIT_LATER: due_ms - now */
	char domain[DNAME_MAX + 1];
	char job_id[JOB_ID_MAX + 1];
	char reason[PLAN_REASON_MAX]; /* last_error and the event's detail */
	char *fields;               /* the event's own fields (struct outcome),
	                               owned; NULL: none */
	char *enc;                  /* the job as sent, owned; NULL: the entry's
	                               own bytes are sent */
	size_t enclen;
};

/* What the runtime knows when it settles one entry.  Everything borrowed. */
struct plan_in {
	const struct queue_entry *entry;   /* as read (id, stage, job bytes) */
	struct job *job;                   /* decoded by plan_decode(); NULL when
	                                      it could not be.  Updated to what
	                                      is sent (attempt, since) */
	const char *bad;                   /* JOB NULL: why (plan_decode) */
	const struct outcome *out;         /* the handler's (or plan_unrun's);
	                                      unused when JOB is NULL */
	bool ran;                          /* false: sent back unrun */
	const struct stage_policy *policy; /* the entry's stage's */
	uint64_t now_ms;                   /* unix ms */
	uint64_t rnd;                      /* a random draw, for the backoff */
};

/* Decodes entry E's job (at most MAX_BYTES) into JOB for its handler, and
 * gives a job from outside what it may lack: an id made from the entry id
 * (the same on every delivery), created_at and since NOW_MS.  Returns true
 * (release JOB with job_clear()), or false with WHY filled (JOB cleared). */
bool plan_decode(const struct queue_entry *e, size_t max_bytes, uint64_t now_ms,
                 struct job *job, char *why, size_t whylen);

/* Whether a handler with LEFT_MS of its JOB_TIMEOUT_MS is run: it needs at
 * least half of it, else the entry is sent back unrun (plan_unrun). */
bool plan_runs(long long left_ms, long long job_timeout_ms);

/* Sets OUT (zeroed by the caller) to the outcome of an entry that is not
 * run: back to its stage at once, the domain's state left alone. */
void plan_unrun(struct outcome *out, long long left_ms, long long job_timeout_ms);

/* Plans the commit of IN->entry into C and P.  C's strings point into P,
 * into IN->entry and into the outcome's static strings (state, event,
 * clear): they live until plan_release(P) and the entry's batch is reset.
 * P->enc is allocated (or NULL when encoding failed: the entry's bytes
 * are sent as they came). */
void plan_build(const struct plan_in *in, struct plan *p, struct queue_commit *c);

/* Frees what plan_build() allocated in P; P may be reused. */
void plan_release(struct plan *p);

/* The message of P's log line (the line's msg=) into BUF, e.g.
 * "retry in 2000 ms (attempt 3): ...".  LEN >= 1. */
void plan_describe(const struct plan *p, const struct queue_commit *c,
                   char *buf, size_t len);

#endif
