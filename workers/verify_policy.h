/*
 * verify_policy: what verify-cname decides, as pure functions of the job,
 * the domain record's fields and what DNS said (schemas/lifecycle.md, the
 * rows of "States" and "Events" set by verify-cname).  No I/O:
 * verify_cname.c gathers the observations in this order and performs what
 * each step decides; tests/unit/test_verify_cname.c walks the rows.
 *
 *   0. vc_claimed: what CLAIM answered a job without a generation;
 *   1. vc_abandoned: past lifecycle.verify_max_wait_ms since the job
 *      entered the stage: "abandoned" (event), the pipeline ends;
 *   2. vc_nudged: a nudge the job has not seen starts the backoff again;
 *   3. vc_delegation, per base name in turn: OK goes on, CONFIRMING goes
 *      on but ends in vc_confirming ("verifying"); a transient lookup or a
 *      wrong delegation stops at "waiting-cname" (a wrong one also forgets
 *      the confirmations);
 *   4. vc_caa, per name in turn: FORBIDDEN stops at "caa-blocked" (the
 *      event once per stay), anything else not ALLOWED at "verifying";
 *   5. vc_verified: everything passed: "ordering", on to create-order;
 *   6. vc_wake_by_deadline: a retry's backoff is cut short so that the job
 *      is back when the wait for the customer is over.
 */
#ifndef DCV_VERIFY_POLICY_H
#define DCV_VERIFY_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "caa.h"
#include "dns.h"
#include "worker.h"

/* What CLAIM answered for a job without a generation (CODE, and WHY for
 * a refusal): below 0 another tenant holds a name (dead letter with WHY,
 * the domain untouched); 0 another pipeline runs (nudged; this job is
 * done, the state left alone); above 0 the job is the pipeline (true). */
bool vc_claimed(long long code, const char *why, struct outcome *out);

/* The job's time in the stage is over: fills OUT (done, "abandoned", event
 * "abandoned", the detail with LAST_ERROR, the record's) and returns
 * true; else false. */
bool vc_abandoned(uint64_t now_ms, uint64_t since_ms, long long max_wait_ms,
                  const char *last_error, struct outcome *out);

/* Whether a nudge at NUDGED_AT (the record's) is one the job has not seen
 * (ctx.nudge_seen): then its attempt goes back to 0 and nudge_seen takes
 * NUDGED_AT. */
bool vc_nudged(long long nudged_at, long long nudge_seen);

enum vc_step {
	VC_NEXT = 0,       /* passed: the next name */
	VC_CONFIRMING,     /* seen everywhere, not yet confirmed enough: the
	                      next name, then vc_confirming */
	VC_STOP,           /* OUT is set: the stage ends here */
	VC_STOP_FORGET,    /* VC_STOP, and ctx.confirmed is deleted */
};

/* One base name's delegation check R (to TARGET). */
enum vc_step vc_delegation(const char *base, const char *target,
                           const struct dns_check_result *r, struct outcome *out);

/* Every delegation seen, some still confirming: confirmation PREV + 1 of
 * NEEDED (the last check's), looked at again after RETRY_AFTER_MS.  Fills
 * OUT ("verifying"); ctx.confirmed takes PREV + 1. */
void vc_confirming(int prev, int needed, long retry_after_ms, struct outcome *out);

/* One name's CAA result R; STATE is the record's.  True when it allows. */
bool vc_caa(const char *name, const struct caa_result *r, const char *state,
            struct outcome *out);

/* The delegation and CAA passed (verified_gen recorded): on to
 * create-order, "ordering"; ctx.confirmed is deleted. */
void vc_verified(struct outcome *out);

/* A retry without a delay of its own gets POLICY's backoff for ATTEMPT + 1
 * (drawn from RND), cut so that it ends just after the wait for the
 * customer (SINCE + MAX_WAIT).  Other outcomes are left alone. */
void vc_wake_by_deadline(const struct stage_policy *policy, uint32_t attempt,
                         uint64_t now_ms, uint64_t since_ms, long long max_wait_ms,
                         uint64_t rnd, struct outcome *out);

#endif
