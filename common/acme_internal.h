/*
 * acme_internal: what the files of the ACME client share and nobody else
 * sees (acme_parse.c, acme_opts.c, acme.c, acme_cert.c).  The public API
 * is acme.h.
 *
 * The client handle, the one URL check every request and every parsed URL
 * passes, and the client's last-problem bookkeeping and signed exchange.
 * Like the client itself, nothing here is thread-safe: one client per
 * thread.
 */
#ifndef DCV_ACME_INTERNAL_H
#define DCV_ACME_INTERNAL_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acme.h"

struct acme_http;
struct acme_http_resp;

struct acme_client {
	struct acme_opts opts;          /* owned copy */
	struct acme_http *http;
	struct acme_directory dir;
	bool have_dir;
	char *nonce;                    /* one spare Replay-Nonce */
	const struct crypto_key *key;   /* borrowed account key */
	char *kid;                      /* account URL */
	struct acme_problem prob;       /* last failure */
};

/* ACME_OK for an https:// URL of sane length, ACME_E_INSECURE for any
 * other scheme (http:// above all: anyone on the path could read and
 * change the CA's answers), ACME_E_PROTOCOL for no URL at all. */
enum acme_status acme_url_check(const char *u);

static inline bool acme_url_ok(const char *u)
{
	return acme_url_check(u) == ACME_OK;
}

/* strdup(S), or NULL for NULL (an unset option). */
static inline char *acme_strdup_opt(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* Records a failure of our own making (no CA problem document) as C's
 * last problem; returns ST. */
enum acme_status acme_fail(struct acme_client *c, enum acme_status st,
                           const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Clears C's last problem (the step succeeded). */
void acme_ok(struct acme_client *c);

/* One HTTP exchange.  Transport failures and HTTP >= 400 become the last
 * problem; a Replay-Nonce is kept for the next request.  *R is filled
 * (caller frees with acme_http_resp_free()) whatever the result. */
enum acme_status acme_exchange(struct acme_client *c, const char *method,
                               const char *url, const char *body,
                               const char *accept, struct acme_http_resp *r);

/* A JWS-signed POST of PAYLOAD ("" for POST-as-GET) to URL, with the
 * account's kid, or with its jwk when USE_JWK.  On badNonce the request is
 * signed again with the nonce from the error response, at most
 * bad_nonce_retries times.  *R is filled on ACME_OK (caller frees). */
enum acme_status acme_signed_post(struct acme_client *c, const char *url,
                                  const char *payload, bool use_jwk,
                                  const char *accept, struct acme_http_resp *r);

/* Serialises OBJ (stolen) as a payload string; NULL on failure. */
char *acme_payload_of(json_t *obj);

#endif
