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

/* OUT (OUTLEN > 0) gets IN (INLEN octets), cut to fit, with every byte
 * outside printable ASCII as '?': a server's own words made
 * safe for a log line, last_error and a terminal. */
void txt_printable(char *out, size_t outlen, const char *in, size_t inlen);

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

/* ---- webhook (txt_webhook.c, schemas/webhook.md) ---- */

#define WEBHOOK_BODY_MAX (64u << 10)  /* largest receiver answer read */
#define WEBHOOK_SECRET_MIN 16         /* shortest HMAC key accepted */

/* The request body: compact JSON with the keys in this order,
 * {"action":ACTION,"name":NAME,"value":VALUE,"zone":ZONE,"ttl":TTL,
 * "id":ID}; ID is new for every try (32 hex digits), so that a receiver
 * may refuse a request it has seen (a replay) without refusing a retry.
 * Malloc'd (caller frees); NULL when out of memory. */
char *txt_webhook_body(const char *action, const char *name,
                       const char *value, const char *zone, int ttl,
                       const char *id);

/* OUT (65 bytes) gets the lower-case hex HMAC-SHA256 under KEY (KEYLEN
 * bytes) of the decimal TIMESTAMP, ".", and BODY (LEN bytes): the value of
 * the X-DCV-Signature header after "sha256=".  0, or -1 on failure. */
int txt_webhook_sign(const char *key, size_t keylen, long long timestamp,
                     const char *body, size_t len, char out[65]);

/* Whether URL may be used: https://, or http:// to a loopback host
 * (127.0.0.0/8, [::1], localhost) unless ALLOW_HTTP; no user:password in
 * it.  ORIGIN (at least TXT_URL_MAX) gets "scheme://host[:port]", the part
 * messages name.  0, or -1 with ERR. */
int txt_webhook_url_check(const char *url, bool allow_http, char *origin,
                          char *err, size_t errlen);

/* Classifies the receiver's answer CODE (0: none came) with its body BODY
 * (LEN octets, may be NULL).  2xx is TXT_OK; 408, 429, 5xx and no answer
 * are transient; every other code (3xx, 4xx, 1xx) is permanent.  Not OK:
 * MSG gets "webhook: ORIGIN: WHAT: HTTP CODE" and the receiver's "error"
 * (a JSON body) or its first line of text, printable characters only. */
enum txt_status txt_webhook_status(long code, const char *body, size_t len,
                                   const char *origin, const char *what,
                                   char *msg, size_t msglen);

/* ---- exec (txt_exec.c) ---- */

#define EXEC_TEMPFAIL 75              /* exit code: transient (EX_TEMPFAIL) */
#define EXEC_STDERR_MAX 2048          /* stderr kept for the message */

/* Classifies how the program ended: WSTATUS as waitpid() gives it,
 * TIMED_OUT when we killed it.  Exit 0 is TXT_OK; exit 75 (EX_TEMPFAIL), a
 * timeout or death by a signal is transient; any other exit is permanent.
 * Not OK: MSG gets "exec: PROGRAM ACTION NAME: WHY" and the last line of
 * ERRTEXT (its stderr, ERRLEN octets) in printable characters. */
enum txt_status txt_exec_status(int wstatus, bool timed_out,
                                const char *program, const char *action,
                                const char *name, const char *errtext,
                                size_t errlen, char *msg, size_t msglen);

/* The environment of the program, into ENV (O->exec_nenv + 5 slots, the
 * last NULL) with its strings in BUF (BUFLEN): PATH=/usr/local/bin:
 * /usr/bin:/bin, LC_ALL=C, DCV_ZONE, DCV_TTL, then provider.exec.env.
 * 0, or -1 when BUF is too small. */
int txt_exec_env(const struct txt_provider_opts *o, char **env, char *buf,
                 size_t buflen);

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
