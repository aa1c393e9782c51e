/*
 * create_order_policy: what create-order decides, as pure functions of the
 * job, the record and what the CA and the rate limiter said
 * (schemas/lifecycle.md: the rows of "States" set by create-order, "Rate
 * limits", "At most one order per issuance").  No I/O: create_order.c
 * asks, in this order, and performs each step's decision;
 * tests/unit/test_create_order.c walks the rows.
 *
 *   1. co_recorded: the order recorded for this generation (or, when the
 *      record lost it, the one this process remembers) is reused while the
 *      CA has it pending, ready or processing ("provisioning"), goes to
 *      finalize when valid with its key recorded ("finalizing"); one that
 *      went invalid, that the CA no longer has, or that was finalized with
 *      a key we lost, is replaced: a new order;
 *   2. co_stale, co_look: a verification (ctx.verified_at) older than
 *      CO_STALE_INTERVALS dns.confirmation_interval_ms, in the future or
 *      absent is looked at again, base name by base name: delegated goes
 *      on; not delegated goes back to verify-cname ("waiting-cname"), no
 *      order; a transient failure goes on when the verification is under
 *      CO_UNSURE_MAX_MS old, else waits;
 *   3. co_rate: the failed-authorization bucket of each name (a peek), then
 *      the job's place in the new-order line: a wait is "rate-limited" and
 *      not an attempt;
 *   4. co_lock_busy: another thread of the process is ordering: wait;
 *      then co_rate again, CO_NEW_ORDERS_SENT: the gate of the orders
 *      really sent (a turn that came late waits for it, its place kept);
 *   5. co_lease, co_lease_written: another run of this job started a
 *      newOrder lately ("order_started"): wait for it; else mark it;
 *   6. co_ordered: newOrder answered and recorded: "provisioning".
 * A failed ACME call is acme_outcome.h's.
 */
#ifndef DCV_CREATE_ORDER_POLICY_H
#define DCV_CREATE_ORDER_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "acme.h"
#include "dns.h"
#include "worker.h"

enum co_recorded {
	CO_ORDER_ANEW = 0,  /* none, or one that cannot be used */
	CO_USABLE,          /* pending, ready or processing: carry on */
	CO_USABLE_RECALLED, /* CO_USABLE, the record lost it: record it again */
	CO_ISSUED,          /* valid, with its key recorded: finalize downloads it */
	CO_ACME_FAILED,     /* the CA could not be asked: acme_outcome_failed */
};

/* The recorded order, polled with status ST (its "status" STATUS, NULL
 * when none came), GONE when the CA no longer has it (HTTP 404); HAS_KEY:
 * the record holds "pending_key"; RECALLED: the URL came from the process's
 * memory, not the record. */
enum co_recorded co_recorded(enum acme_status st, const char *status, bool gone,
                             bool has_key, bool recalled);

/* OUT for a recorded order that is CO_USABLE (to provision-txt) or
 * CO_ISSUED (to finalize). */
void co_resume(enum co_recorded r, struct outcome *out);

/* A verification older than this many dns.confirmation_interval_ms is
 * looked at again before the order: a job can wait days in line, and the
 * customer may remove the delegation meanwhile (tests/soak/README.md,
 * finding 2).  Four intervals is well past the verify-cname run that
 * advanced the job, so a job that orders at once never looks twice. */
#define CO_STALE_INTERVALS 4
/* With DNS failing transiently, a verification this young is trusted. */
#define CO_UNSURE_MAX_MS (24LL * 3600 * 1000)

/* Whether the delegation is looked at again: VERIFIED_AT (ctx.verified_at,
 * unix ms; 0 when absent) is absent, after NOW_MS (forged), or older than
 * CO_STALE_INTERVALS * INTERVAL_MS. */
bool co_stale(long long verified_at, uint64_t now_ms, long long interval_ms);

enum co_look {
	CO_LOOK_PRESENT,    /* delegated to us: the next base name */
	CO_LOOK_UNSURE,     /* a transient failure, the verification young
	                       enough: the next base name, and the order, but
	                       verified_at is not renewed */
	CO_LOOK_STOP,       /* OUT is set: no order this run */
};

/* One base name's delegation check R (to TARGET, asked with the
 * confirmations verify-cname needs but one, so one agreement is OK).
 * Delegated (OK, CONFIRMING): present.  TRANSIENT: unsure when
 * VERIFIED_AT is at most CO_UNSURE_MAX_MS before NOW_MS, else a wait of
 * RETRY_MS ("ordering", not an attempt).  Anything else (no CNAME, one
 * elsewhere, NXDOMAIN, an NS delegation, a zone that cannot be checked:
 * what verify-cname finds not delegated): back to verify-cname,
 * "waiting-cname", verified_gen deleted with the commit. */
enum co_look co_look(const char *base, const char *target, const struct dns_check_result *r,
                     long long verified_at, uint64_t now_ms, long long retry_ms,
                     struct outcome *out);

enum co_bucket {
	CO_FAILED_AUTHZ,    /* NAME's failed-authorization bucket (a peek) */
	CO_NEW_ORDERS,      /* the job's place in the new-order line */
	CO_NEW_ORDERS_SENT, /* the gate of the new orders really sent */
};

/* What the bucket answered: W ms to wait (0: go; below 0: Redis failed, or
 * the place could not be kept in the job, ERR says why).  CA is the
 * bucket's CA; LIMIT and PERIOD_MS the new-order bucket's (the place in
 * line is W * LIMIT / PERIOD + 1).  True to go on, else OUT is set. */
bool co_rate(enum co_bucket b, long long w, const char *name, const char *ca,
             long long limit, long long period_ms, const char *err, struct outcome *out);

/* Another thread of this process holds the ordering lock. */
void co_lock_busy(struct outcome *out);

/* SINCE: the record's "order_started" (0: none); STALE_MS: twice the ACME
 * timeout and ten seconds.  True when this run may mark and order; else OUT
 * waits for the other run. */
bool co_lease(long long since, uint64_t now_ms, long long stale_ms, struct outcome *out);

/* The guarded write of "order_started" answered W (domain_note: 0, -1
 * Redis failed, -2 another run marked it first).  True to order. */
bool co_lease_written(int w, const char *err, struct outcome *out);

/* newOrder failed and OUT (acme_outcome_decide's) says the CA is down
 * (OUT->outage): how long the fleet's new-order line is blocked: the CA's
 * Retry-After when it sent one (OUT->delay_ms), else the ceiling of the
 * job's next backoff under P (ATTEMPT: the job's attempts so far), so that
 * nobody orders before the job that saw the outage tries again; never more
 * than P's cap.  0: no block (not an outage). */
long long co_outage_block(const struct outcome *out, const struct stage_policy *p,
                          uint32_t attempt);

/* How far from now a place in line (the record's rl_slot, rl_shift) may be
 * and still be one the bucket gave: a line of a year, blocks of a year. */
#define CO_TICKET_FAR_MS (400LL * 24 * 3600 * 1000)

/* Whether SLOT and SHIFT (0, 0: no place) can be a place the bucket of
 * PERIOD_MS gave: else the job takes a new one (a value written by hand
 * would make the bucket's arithmetic overflow). */
bool co_ticket_sane(long long slot, long long shift, uint64_t now_ms, long long period_ms);

/* newOrder answered and its URL recorded: on to provision-txt. */
void co_ordered(struct outcome *out);

/* None of the CAs the record's "cas" allows is a candidate of this
 * configuration for the job's tenant (a CA removed from acme.cas, a tenant
 * pinned anew since verify-cname looked; WHY says so): back to
 * verify-cname, which checks CAA against the CAs configured now (and says
 * caa-blocked when none may issue) - not a wait here for ever. */
void co_none_allowed(const char *why, struct outcome *out);

#endif
