/*
 * provision_txt_policy: what provision-txt decides, as pure functions of
 * the job, the record's "txt" and what the CA, the TXT provider and DNS
 * said (schemas/lifecycle.md: the rows of "States" set by provision-txt,
 * "What is checked against the world": the TXT is published, the order
 * exists).  No I/O: provision_txt.c asks, in this order, and performs each
 * step; tests/unit/test_provision_txt.c walks the rows.
 *
 *   1. pt_order: the order's poll: pending goes on; valid or invalid has
 *      nothing left to publish: finalize ("validating");
 *   2. pt_authz, per authorization: a pending one is published; one
 *      without a dns-01 challenge, or whose value cannot be made, fails;
 *   3. pt_publish_plan: what to write: nothing when exactly these values
 *      are recorded; else the old and the new values together, then the
 *      old ones not wanted any more are removed, then the new ones alone;
 *      pt_txt_failed maps a provider's failure;
 *   4. pt_propagation, per value: every authoritative server serves it, or
 *      wait ("provisioning", not an attempt), publishing it again when a
 *      server says for certain it is absent (at most once per poll), or
 *      fail after lifecycle.propagation_timeout_ms;
 *   5. pt_answered: the challenges were answered: finalize ("validating")
 *      after lifecycle.authz_poll_ms.
 * A failed ACME call is acme_outcome.h's.
 */
#ifndef DCV_PROVISION_TXT_POLICY_H
#define DCV_PROVISION_TXT_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "acme.h"
#include "dns.h"
#include "txt_list.h"
#include "txt_provider.h"
#include "worker.h"

enum pt_step {
	PT_GO = 0,         /* carry on */
	PT_SKIP,           /* pt_authz: nothing to publish for this one */
	PT_STOP,           /* OUT is set */
	PT_ACME_FAILED,    /* pipeline_acme_failed decides */
};

/* The order's poll answered ST. */
enum pt_step pt_order(enum acme_status st, struct outcome *out);

/* One authorization of IDENTIFIER, fetched with ST, its STATUS; HAS_DNS01:
 * it offers a dns-01 challenge; VALUE_OK: its target and TXT value were
 * made.  PT_GO: publish it. */
enum pt_step pt_authz(enum acme_status st, const char *status, const char *identifier,
                      bool has_dns01, bool value_ok, struct outcome *out);

struct pt_publish {
	bool unchanged;            /* exactly these are recorded: nothing to do */
	char list[TXT_LIST_MAX];   /* the new values, as "txt" holds them */
	char both[2 * TXT_LIST_MAX + 1]; /* the old and the new together */
	struct txt_list old;       /* the old values ... */
	bool remove[TXT_LIST_ENTRIES]; /* ... and which to remove */
};

/* The plan for publishing the N values (TARGETS[i], VALUES[i]) over the
 * recorded WAS.  False with OUT set (failed) when they do not fit in one
 * record. */
bool pt_publish_plan(const char *was, const char *const *targets,
                     const char *const *values, int n, struct pt_publish *plan,
                     struct outcome *out);

enum pt_txt_op { PT_ADD, PT_ADD_AGAIN, PT_REMOVE };

/* The provider answered ST (with MSG) for OP at TARGET: a transient one is
 * retried ("provisioning"), the rest fail ("failed").  Returns true when ST
 * is TXT_OK (OUT untouched); a REMOVE that failed for good is not a
 * failure of the stage either (true). */
bool pt_txt_failed(enum pt_txt_op op, enum txt_status st, const char *target,
                   const char *msg, struct outcome *out);

enum pt_prop {
	PT_PROPAGATED = 0, /* every server serves it: the next value */
	PT_WAIT,           /* OUT waits */
	PT_REPUBLISH,      /* add it again, then pt_not_yet */
	PT_FAILED,         /* OUT fails */
};

/* The propagation check R of TARGET; NOW, the job's SINCE and its ctx
 * "txt_at" (the last publication, 0 none); POLL_MS and TIMEOUT_MS from
 * lifecycle.propagation_*.  PT_WAIT has OUT set by pt_not_yet. */
enum pt_prop pt_propagation(const struct dns_check_result *r, const char *target,
                            uint64_t now_ms, uint64_t since_ms, int64_t txt_at,
                            long long poll_ms, long long timeout_ms, struct outcome *out);

/* Not everywhere yet: look again after POLL_MS, "provisioning", a wait. */
void pt_not_yet(const char *target, const char *detail, long long poll_ms,
                struct outcome *out);

/* Every value is everywhere and the challenges were answered. */
void pt_answered(long long authz_poll_ms, struct outcome *out);

#endif
