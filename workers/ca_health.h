/*
 * ca_health: whether a CA is healthy, fleet-wide, in the hash
 * "<prefix>:ca:<name>" (schemas/redis.md), plain fields for redis-cli:
 *
 *   state       healthy | unhealthy
 *   reason      why it was marked so (the last failure, or "account
 *               registered", "order answered")
 *   since       unix ms of the last change of state
 *   reprobe_at  unix ms: an unhealthy CA is tried again from then (one
 *               order at a time: the worker that tries moves it on)
 *   failures    failures in a row (no answer or 5xx from its directory or
 *               newOrder); reset by an answer
 *
 * A CA becomes unhealthy after acme.ca_health.failures failures in a row,
 * or at once when newOrder is refused for its account (unauthorized,
 * paused, gone; not while a rotation of its key is under way), and
 * healthy again when an order is answered or dcvctl registers its account.
 * Counters for dcvctl stats sit beside: orders (answered), fallback_orders
 * (of them, the ones a preferred CA passed on), waits (jobs that took a
 * place in its new-order line and had to wait).
 * Other fields of the hash (cap_*: what the CA supports) are other
 * modules'.  All calls take a connected redisContext (borrowed).
 */
#ifndef DCV_CA_HEALTH_H
#define DCV_CA_HEALTH_H

#include <stdbool.h>

#include <hiredis/hiredis.h>

#define CA_REASON_MAX 200

struct ca_health {
	bool unhealthy;
	long long since, reprobe_at, failures;
	char reason[CA_REASON_MAX];
};

/* Reads CA's record into H (absent: healthy, zeros).  0, or -1 when Redis
 * failed. */
int ca_health_read(redisContext *rc, const char *prefix, const char *ca,
                   struct ca_health *h);

/* Counts a failure of CA (REASON: one line, no secret) at NOW_MS: the CA is
 * unhealthy when its failures in a row reach THRESHOLD, or at once when
 * AT_ONCE; re-probed REPROBE_MS after it became so (later failures do not
 * move that: only ca_health_probe does).  Returns 1 when it is (or stays)
 * unhealthy, 0 when not yet, -1 when Redis failed. */
int ca_health_failed(redisContext *rc, const char *prefix, const char *ca,
                     const char *reason, long long now_ms, long long threshold,
                     long long reprobe_ms, bool at_once);

/* CA answered (or its account was registered anew: WHY says which): healthy,
 * failures 0.  0, or -1 when Redis failed. */
int ca_health_ok(redisContext *rc, const char *prefix, const char *ca, const char *why,
                 long long now_ms);

/* Adds one to the counter FIELD of CA's record ("orders",
 * "fallback_orders", "waits"); best effort (a lost count is no error). */
void ca_health_count(redisContext *rc, const char *prefix, const char *ca,
                     const char *field);

/* An unhealthy CA whose re-probe time came is tried by this worker: the
 * next try is moved to NOW_MS + REPROBE_MS for the others.  Returns true
 * when this worker took the probe (another may have moved it first). */
bool ca_health_probe(redisContext *rc, const char *prefix, const char *ca,
                     long long now_ms, long long reprobe_ms);

#endif
