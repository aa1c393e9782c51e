/*
 * ca_choice: which CA create-order orders from (README, "More than one
 * CA"), as a pure function of what the driver observed of each CA; and the
 * record's "cas" list (the CAs CAA allows, written by verify-cname).
 * tests/unit/test_ca_choice.c walks the rules:
 *
 *   - only CAs the domain's CAA allows are candidates, in the order of
 *     acme.cas; none: caa-blocked (verify-cname's);
 *   - a renewal goes to the CA that issued the current certificate when it
 *     is usable (allowed, its account stored, healthy): "renewal";
 *   - a job holding a place in a CA's new-order line keeps it while that
 *     CA is usable and either has budget or no usable CA has (a line
 *     blocked by an outage or a rateLimited answer is left for a CA that
 *     can order now);
 *   - else the first usable CA with budget (a new-order token now), else
 *     the first usable one (it waits in that CA's line);
 *   - the reason is "preferred" when no candidate before the one chosen
 *     was skipped, else "fallback:<skipped CA>-<unhealthy|no-account|
 *     rate-limited>" (the first skipped), "fallback:in-line" for a place
 *     kept in a later CA's line.
 */
#ifndef DCV_CA_CHOICE_H
#define DCV_CA_CHOICE_H

#include <stdbool.h>
#include <stddef.h>

#include "ca_cfg.h"

/* What the driver saw of one CA. */
struct ca_view {
	bool allowed;   /* the record's "cas" lists it (CAA allows it) */
	bool account;   /* its account is in Redis and loads */
	bool healthy;   /* not marked unhealthy, or its re-probe time came */
	bool budget;    /* its new-order bucket has a token now */
};

#define CA_WHY_MAX 96

struct ca_choice {
	int ca;                  /* index into the list, or below 0 (see below) */
	bool fallback;           /* another candidate was preferred */
	char why[CA_WHY_MAX];    /* "preferred", "renewal", "fallback:..." */
};

enum {
	CA_CHOICE_NONE_ALLOWED = -1,  /* no CA is allowed: caa-blocked */
	CA_CHOICE_NONE_USABLE = -2,   /* allowed ones, none usable: wait */
};

/* Chooses among the N CAs NAMES (V in order of preference).  RENEWAL: the
 * index of the CA of the current certificate when this is a renewal, else
 * -1; HELD: the CA whose new-order line the job stands in, else -1.
 * Returns OUT->ca. */
int ca_choose(const struct ca_view *v, const char *const *names, int n, int renewal,
              int held, struct ca_choice *out);

/* Which of L's CAs the record's "cas" value LIST (comma-separated names)
 * allows, into ALLOWED (L->n entries).  A NULL LIST (the record has none:
 * verified before CAs were listed, or with lifecycle.caa_check off)
 * allows every CA; names not configured are ignored. */
void ca_allowed_parse(const struct ca_list *l, const char *list, bool *allowed);

/* The names of the CAs ALLOWED, comma-separated, into BUF (LEN bytes);
 * returns BUF ("" when none). */
const char *ca_allowed_join(const struct ca_list *l, const bool *allowed, char *buf,
                            size_t len);

#endif
