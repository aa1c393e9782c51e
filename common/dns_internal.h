/*
 * dns_internal: seams of the DNS layer for its own modules (dns_caa.c,
 * dns_verdict.c), not for stages or workers.  They exist so that a lookup of a record type
 * the checks do not read (CAA, 257) goes through the same configured
 * resolvers, the same c-ares channel and the same dns_run() loop as the
 * checks, and its answer is read with the same name decoder.
 */
#ifndef DCV_DNS_INTERNAL_H
#define DCV_DNS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns.h"

/* Called once when a raw query ends.  When ST is DNS_MATCH, BUF holds the
 * answer (LEN octets, any rcode: the caller reads it; borrowed for the call
 * only).  Otherwise BUF is NULL and ST says what went wrong on the way
 * (DNS_TIMEOUT, DNS_NETERR, ...). */
typedef void (*dns_raw_cb)(void *arg, enum dns_outcome st,
                           const uint8_t *buf, size_t len);

/* Sends the question NAME (presentation form, "" for the root), class IN,
 * type TYPE, with RD=1 through the configured resolvers (the failover
 * channel the checks use for zone and NS lookups).  The query counts as a
 * running check: dns_run() drives it, and dns_free() cancels it without
 * calling CB.  NAME is copied.  Returns 0, or -1 (out of memory, CB not
 * called). */
int dns_raw_start(struct dns_ctx *ctx, const char *name, int type,
                  dns_raw_cb cb, void *arg);

/* Reads the possibly compressed wire name at *OFF of the message BUF (LEN
 * octets) into OUT (DNAME_MAX + 1 bytes; lower case, no trailing dot, ""
 * for the root) and moves *OFF past it.  The decoder of dns_msg_parse().
 * Returns 0 or -1 (malformed, forward pointer, too long). */
int dns_wire_name(const uint8_t *buf, size_t len, size_t *off, char *out);

/* Cuts NAME to its parent in place ("a.b.c" -> "b.c", "c" -> ""). */
void dns_parent_of(char *name);

/* snprintf that cuts silently: names and messages here are bounded on
 * purpose. */
void dns_putf(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Appends printf text to BUF (DNS_SEEN_MAX bytes: a vantage's "seen"),
 * cutting silently. */
void dns_seen_add(char *buf, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Whether the answer section of M has a record of TYPE owned by OWNER
 * (lower case, as the parser stores owners). */
bool dns_msg_has(const struct dns_msg *m, const char *owner, int type);

#endif
