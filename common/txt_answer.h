/*
 * txt_answer: the pure halves of the TXT providers, what their servers
 * answer read without I/O, so that unit tests and the fuzzers
 * (tests/fuzz/fuzz_powerdns.c, fuzz_rfc2136.c) can hand them any bytes.
 * The providers (txt_powerdns.c, txt_rfc2136.c) do the I/O and call these.
 * Messages never hold a secret, and hold what the server sent only as
 * printable text.
 */
#ifndef DCV_TXT_ANSWER_H
#define DCV_TXT_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "txt_provider.h"

/* ---- PowerDNS HTTP API ---- */

#define PDNS_VALUES_MAX 64         /* TXT values kept at one name */

/* Classifies the HTTP status CODE of an API answer whose body is BODY (LEN
 * octets, may be NULL).  Not 2xx: MSG gets "powerdns: WHAT: HTTP CODE" and
 * the API's "error" text; 401/403/400/404/422 are permanent (key refused,
 * zone unknown, data refused), the rest transient. */
enum txt_status txt_powerdns_status(long code, const char *body, size_t len,
                                    const char *what, char *msg,
                                    size_t msglen);

/* Reads the zone answer BODY (LEN octets) for the TXT RRset at FQDN (with
 * the trailing dot; NAME is the same without it, for messages), adds VALUE
 * to it (ADD) or takes it out (every copy), and builds the PATCH payload that writes
 * the result back with TTL (an add) or the RRset's own TTL (a remove).
 * *PAYLOAD (malloc'd, caller frees) is NULL when the RRset is already as
 * wanted.  Other values are kept as they were, verbatim when not in the
 * simple quoted form.  Returns TXT_OK, or a failure with MSG: the answer
 * is not the JSON expected (transient), more than PDNS_VALUES_MAX values
 * or one too long to keep (permanent). */
enum txt_status txt_powerdns_merge(const char *body, size_t len,
                                   const char *fqdn, const char *name,
                                   const char *value, bool add, int ttl,
                                   char **payload, char *msg, size_t msglen);

/* ---- RFC 2136 UPDATE with TSIG ---- */

/* The update an answer is read against.  Strings and MAC are borrowed. */
struct txt_rfc2136_req {
	uint16_t id;            /* the request's message id */
	const uint8_t *mac;     /* the request's TSIG MAC field as on the wire
	                           (2-octet length, then the MAC): the answer's
	                           MAC covers it (RFC 8945 section 5.3) */
	size_t mac_len;
	const char *key_name;   /* TSIG key name, trailing dot */
	const char *key_label;  /* the key name as configured, for messages */
	const char *algorithm;  /* "hmac-sha256" or "hmac-sha512" */
	const char *secret;     /* base64 TSIG secret; never in a message */
	const char *server;     /* "addr:port", for messages */
	const char *zone;       /* for messages */
	const char *name;       /* the updated name, for messages */
};

/* Whether WIRE (LEN octets) holds at most one TSIG record, as the last
 * record (RFC 8945 section 5.1: anything else is FORMERR).  ldns_wire2pkt()
 * keeps only the last TSIG it meets and loses the earlier ones (ldns 1.8.3
 * leaks them, found by tests/fuzz/fuzz_rfc2136): such an answer is refused
 * before ldns reads it, here and in the fuzzer's own parse. */
bool txt_rfc2136_tsig_placement_ok(const uint8_t *wire, size_t len);

/* Reads the answer WIRE (LEN octets) to the update REQ: an answer that is
 * not a DNS response to it is transient; NOTAUTH or a TSIG error (BADSIG,
 * BADKEY, BADTIME) is permanent; an answer whose TSIG does not verify with
 * the key over the request's MAC is permanent; then its rcode: NOERROR is
 * TXT_OK, SERVFAIL transient, REFUSED, NOTZONE and the rest permanent.
 * MSG gets one line on failure. */
enum txt_status txt_rfc2136_answer(const uint8_t *wire, size_t len,
                                   const struct txt_rfc2136_req *req,
                                   char *msg, size_t msglen);

#endif
