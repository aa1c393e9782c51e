/*
 * finalize_policy: what finalize decides, as pure functions of the job,
 * the record and what the CA said (schemas/lifecycle.md: the rows of
 * "States" and "Events" set by finalize: validating, finalizing, issued,
 * waiting-cname with authz-invalid, failed, ordering when the finalized
 * order's key was lost; "Renewal": renew_at without ARI).  No I/O:
 * finalize.c asks, in this order, and performs each step;
 * tests/unit/test_finalize.c walks the rows.
 *
 *   1. fz_authz, per authorization: valid goes on; pending waits
 *      ("validating", not an attempt) and fz_pending shows the CA's error
 *      on the pending challenge, or past lifecycle.validation_timeout_ms
 *      makes it invalid; invalid is fz_invalid;
 *   2. fz_invalid: the k-th invalid authorization in a row: back to
 *      verify-cname after lifecycle.invalid_backoff_ms doubled k-1 times
 *      (at most about 30 days; "waiting-cname", event "authz-invalid"),
 *      or at lifecycle.max_invalid_authz "failed" (event "failed");
 *   3. fz_key_lost: a valid order whose key was not recorded, or refused:
 *      a new order ("ordering");
 *   4. fz_issuing: the CA is still issuing ("finalizing", not an attempt);
 *   5. fz_renew_at, fz_issued: the certificate is stored: "issued" (event
 *      with its serial and expiry), on to offboard-check.
 * The order's fields and verified_gen leave the record with the commit
 * (out->clear), so a job reclaimed before it still finds its order.
 */
#ifndef DCV_FINALIZE_POLICY_H
#define DCV_FINALIZE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acme.h"
#include "worker.h"

/* The fields of the order in hand, deleted when it is done with. */
#define FZ_ORDER_FIELDS "order_url order_gen order_started pending_key authz challenges " \
	"validating_at"

enum fz_step {
	FZ_GO = 0,         /* valid: the next one */
	FZ_WAIT,           /* OUT waits */
	FZ_INVALID,        /* the driver takes the effects, then fz_invalid */
	FZ_ACME_FAILED,    /* pipeline_acme_failed decides */
};

/* One authorization, polled with ST (STATUS its status, RA a Retry-After,
 * -1 none); IDENTIFIER for the reason. */
enum fz_step fz_authz(enum acme_status st, const char *status, const char *identifier,
                      long long ra, long long authz_poll_ms, struct outcome *out);

/* A pending authorization of IDENTIFIER (fz_authz said FZ_WAIT), WAITED_MS
 * after its challenge was answered.  CHAL_ERR: the error the CA attached to
 * the still pending challenge (RFC 8555 section 8.2: it will retry), "" or
 * NULL for none; NEW_ERR: not the one reported last.  Waits (the CA's error
 * in the reason, and a "challenge-error" event when NEW_ERR), or past
 * TIMEOUT_MS returns FZ_INVALID with the reason for fz_invalid in DETAIL
 * (LEN bytes) and OUT untouched. */
enum fz_step fz_pending(const char *identifier, const char *chal_err, bool new_err,
                        long long waited_ms, long long timeout_ms, long long ra,
                        long long authz_poll_ms, char *detail, size_t len,
                        struct outcome *out);

/* When the wait for the CA's verdict on ORDER_URL began (unix ms): the
 * record's "validating_at" (STORED, "<ms> <order url>", NULL when absent)
 * when it is this order's and not in the future, else the job's SINCE
 * (when it came to finalize), or NOW when SINCE is 0 or later than NOW (a
 * job from outside cannot hold off the timeout).  A start not read from
 * STORED is put in WRITE (LEN bytes) for the record, else WRITE is "": a
 * restart, a reclaim or a job sent again keeps the first start. */
long long fz_validating_since(const char *stored, const char *order_url, uint64_t since,
                              uint64_t now, char *write, size_t len);

/* DETAIL (the CA's text) into OUT (LEN bytes) with every key authorization
 * of TOKEN (the token, then its run of base64url and '.') replaced by
 * "[key authorization]": step-ca quotes the one it expected ("expected
 * <token>.<thumbprint>"), and key authorizations are never logged.  Control
 * bytes become spaces and a multi-byte character cut at the end is left
 * out: the text is a hostile CA's, bound for last_error and the events. */
void fz_redact(const char *detail, const char *token, char *out, size_t len);

/* At most this many "challenge-error" events for one order: a CA whose
 * text changes at every try (a counter, a time) or flips between two is
 * not an event per poll.  last_error keeps showing the latest. */
#define FZ_CHAL_EVENTS_MAX 5

/* Whether the challenge error ID (fz_error_id) is told as an event: a new
 * one (not LAST_ID, the last seen) while fewer than FZ_CHAL_EVENTS_MAX
 * (TOLD) were told for this order. */
bool fz_chal_event(int64_t last_id, int64_t told, uint32_t id);

/* A short fingerprint of a challenge error's text (FNV-1a), kept in the
 * job to report each new error once; 0 for none. */
uint32_t fz_error_id(const char *chal_err);

/* The K-th invalid authorization of IDENTIFIER in a row (K: the record's
 * invalid_count after its increment; below 1 when it could not be
 * counted), the CA's DETAIL. */
void fz_invalid(long long k, int max_invalid, long long invalid_backoff_ms,
                const char *identifier, const char *detail, struct outcome *out);

/* A valid order whose key is not in the record (HAVE_KEY false), or whose
 * recorded key was refused (WHY: certstore_strerror). */
void fz_key_lost(bool have_key, const char *why, struct outcome *out);

/* The order is not valid yet, or has no certificate URL yet. */
void fz_issuing(long long ra, long long authz_poll_ms, struct outcome *out);

/* Without ARI: when RENEW_FRACTION of the lifetime [NOT_BEFORE, NOT_AFTER]
 * (unix seconds) is left; unix ms. */
uint64_t fz_renew_at(long long not_before, long long not_after, double renew_fraction);

/* The certificate SERIAL, valid until NOT_AFTER (unix seconds), is stored
 * and the record written. */
void fz_issued(const char *serial, long long not_after, struct outcome *out);

#endif
