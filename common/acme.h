/*
 * acme: an RFC 8555 client for DNS-01 issuance, with RFC 9773 renewal
 * information (ARI) and certificate profiles.
 *
 * Every step of the flow is one function, so a stage can do one step per
 * delivery of a job: nothing here sleeps.  Polling functions return
 * ACME_PENDING with the delay the CA asked for (Retry-After, seconds or
 * HTTP-date) or the configured default, and the caller re-queues.
 *
 * Errors are values of enum acme_status; acme_status_retryable() says
 * whether the queue should try again later.  For every failure the client
 * keeps the last problem (RFC 7807 type and the CA's detail, plus
 * Retry-After) readable with acme_last_problem(), for a domain's last_error.
 *
 * The parsers (directory, problem, order, authorization, renewal info,
 * Retry-After, RFC 3339) are pure: bytes in, struct out, each with a cap on
 * its input, so they are unit-tested and fuzzed without a network.
 *
 * The module's files: acme_parse.c the parsers, acme_opts.c the options,
 * acme.c the client, acme_cert.c its certificate steps (download,
 * revocation, renewal information); acme_internal.h what they share.
 *
 * A client is not thread-safe: one per worker thread.  It holds the
 * account key it signs with (borrowed, see acme_set_account()), a cached
 * directory and one spare nonce.  Nothing here logs secrets: keys, JWS
 * bodies and key authorizations never reach log.h.
 */
#ifndef DCV_ACME_H
#define DCV_ACME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "crypto.h"

struct cfg;

enum acme_status {
	ACME_OK = 0,
	ACME_PENDING,            /* not there yet: retry after retry_after_ms */
	/* Retryable failures. */
	ACME_E_BADNONCE,         /* badNonce after all retries */
	ACME_E_RATELIMITED,      /* rateLimited; see retry_after_ms */
	ACME_E_SERVER,           /* serverInternal or HTTP 5xx */
	ACME_E_TIMEOUT,          /* connect or total timeout */
	ACME_E_CONNECT,          /* DNS or TCP failure reaching the CA */
	ACME_E_NETWORK,          /* transfer broken mid-way */
	/* Permanent failures. */
	ACME_E_UNAUTHORIZED,     /* unauthorized (also: key rotated elsewhere) */
	ACME_E_BADPUBLICKEY,
	ACME_E_NOACCOUNT,        /* accountDoesNotExist */
	ACME_E_EAB,              /* externalAccountRequired or EAB refused */
	ACME_E_REJECTEDID,       /* rejectedIdentifier */
	ACME_E_CAA,
	ACME_E_DNS,              /* dns problem reported by the CA */
	ACME_E_INVALID,          /* authorization/order invalid (incorrectResponse...) */
	ACME_E_MALFORMED,
	ACME_E_BADCSR,
	ACME_E_ORDERNOTREADY,
	ACME_E_ALREADYREVOKED,
	ACME_E_BADREVOCATION,    /* badRevocationReason */
	ACME_E_USERACTION,       /* userActionRequired (new terms) */
	ACME_E_CA,               /* another problem document from the CA */
	ACME_E_PROTOCOL,         /* the CA's answer is not what RFC 8555 says */
	ACME_E_INSECURE,         /* a URL (configured or from the CA) is not https:// */
	ACME_E_BADCERT,          /* the certificate is not the one ordered
	                            (crypto_chain_check) */
	ACME_E_TOOBIG,           /* a response over max_response_bytes */
	ACME_E_TLS,              /* TLS verification failed: configuration */
	ACME_E_UNSUPPORTED,      /* the directory lacks this feature */
	ACME_E_CRYPTO,
	ACME_E_NOMEM,
	ACME_E_INVAL,            /* bad argument from the caller */
};

const char *acme_strerror(enum acme_status st);

/* Whether the queue should retry: PENDING and the transient failures. */
bool acme_status_retryable(enum acme_status st);

/* Caps on what the CA sends. */
#define ACME_URL_MAX 2048
#define ACME_MAX_AUTHZ 100      /* identifiers per order (LE allows 100) */
#define ACME_MAX_PROFILES 16
#define ACME_RETRY_MAX_MS (7LL * 24 * 3600 * 1000) /* Retry-After ceiling */

/* An RFC 7807 problem as the CA sent it. */
struct acme_problem {
	enum acme_status status;  /* the mapping of type and HTTP status */
	int http_status;          /* 0 for a problem embedded in an object */
	char type[128];           /* e.g. "urn:ietf:params:acme:error:caa" */
	char detail[512];         /* the CA's text, truncated; "" if none */
	char identifier[256];     /* first subproblem's identifier, if any */
	long long retry_after_ms; /* from Retry-After, -1 if absent */
};

/* Maps a problem type (full URN or short name) and an HTTP status to a
 * status.  Unknown types fall back on the HTTP status (5xx: ACME_E_SERVER). */
enum acme_status acme_problem_status(const char *type, int http_status);

/* Parses a problem document BODY (LEN bytes, at most 256 KiB) answered with
 * HTTP_STATUS and the Retry-After header RETRY_AFTER (may be NULL), at time
 * NOW.  Fills OUT even when the body is not JSON (type "" and the status
 * from the HTTP code).  Returns out->status. */
enum acme_status acme_problem_parse(const char *body, size_t len,
                                    int http_status, const char *retry_after,
                                    time_t now, struct acme_problem *out);

/* Retry-After as delta-seconds or HTTP-date (IMF-fixdate, RFC 850 and
 * asctime forms) relative to NOW, in milliseconds, clamped to
 * [0, ACME_RETRY_MAX_MS].  Returns false if V is neither. */
bool acme_retry_after_parse(const char *v, time_t now, long long *ms);

/* An RFC 3339 timestamp ("2025-01-02T03:04:05.123Z", "...+02:00") to
 * seconds since the epoch.  Returns false if malformed. */
bool acme_rfc3339_parse(const char *s, time_t *out);

struct acme_profile {
	char *name;
	char *description;
};

/* The directory; all strings owned, NULL when the CA does not offer them. */
struct acme_directory {
	char *new_nonce, *new_account, *new_order, *revoke_cert, *key_change;
	char *renewal_info;        /* RFC 9773 */
	char *terms_of_service;
	char *website;
	bool eab_required;         /* meta.externalAccountRequired */
	struct acme_profile profiles[ACME_MAX_PROFILES];
	size_t n_profiles;         /* meta.profiles */
};

/* Parses a directory (at most 256 KiB).  ACME_E_PROTOCOL when a required
 * URL (newNonce, newAccount, newOrder) is missing or not a URL,
 * ACME_E_INSECURE when any URL (those, revokeCert, keyChange, renewalInfo)
 * is not https://.  The order and authorization parsers refuse the same
 * way: every URL the client follows is https://, so no one on the path
 * can read or change what the CA says. */
enum acme_status acme_directory_parse(const char *body, size_t len,
                                      struct acme_directory *out);
void acme_directory_free(struct acme_directory *d);

/* An order.  Strings and arrays owned. */
struct acme_order {
	char *url;                 /* from Location (set by acme_order_new) */
	char *status;              /* pending, ready, processing, valid, invalid */
	char *expires;
	char *finalize;
	char *certificate;         /* once valid */
	char *profile;             /* as echoed by the CA, if any */
	char **authorizations;
	size_t n_authz;
	char **identifiers;        /* dns identifier values */
	size_t n_identifiers;
	struct acme_problem error; /* when invalid; type "" otherwise */
};

enum acme_status acme_order_parse(const char *body, size_t len,
                                  struct acme_order *out);
void acme_order_free(struct acme_order *o);

/* An authorization, reduced to what DNS-01 needs. */
struct acme_authz {
	char *status;              /* pending, valid, invalid, deactivated, ... */
	char *identifier;          /* the dns value, without "*." */
	bool wildcard;
	char *expires;
	/* The dns-01 challenge; NULL url when the CA offered none. */
	char *dns01_url;
	char *dns01_token;
	char *dns01_status;
	struct acme_problem error; /* the challenge's error when invalid */
};

enum acme_status acme_authz_parse(const char *body, size_t len,
                                  struct acme_authz *out);
void acme_authz_free(struct acme_authz *a);

/* RFC 9773 renewal information. */
struct acme_renewal_info {
	time_t start, end;         /* suggestedWindow */
	char *explanation_url;     /* may be NULL */
	long long retry_after_ms;  /* when to ask again; -1 if not sent */
};

enum acme_status acme_renewal_info_parse(const char *body, size_t len,
                                         struct acme_renewal_info *out);
void acme_renewal_info_free(struct acme_renewal_info *r);

/* A uniformly chosen moment in the window, from a caller-supplied random
 * value (so it is testable); the window start if the window is empty or
 * inverted. */
time_t acme_renewal_pick(const struct acme_renewal_info *r, uint64_t rnd);

/* The ARI certificate identifier: base64url(AKI keyIdentifier) "."
 * base64url(serial DER content octets).  *OUT is malloc'd. */
enum acme_status acme_ari_certid_parts(const unsigned char *aki, size_t aki_len,
                                       const unsigned char *serial,
                                       size_t serial_len, char **out);
/* The same from a PEM certificate (the first of a chain). */
enum acme_status acme_ari_certid(const char *cert_pem, size_t len, char **out);

/* The DNS-01 TXT value base64url(SHA-256(token "." thumbprint)); OUT gets
 * 43 characters and a NUL.  Pure. */
enum acme_status acme_dns01_value(const char *token, const char *thumbprint,
                                  char out[44]);

/* Client options.  acme_cfg_load() fills every field; strings are owned by
 * the struct and freed by acme_opts_free(). */
struct acme_opts {
	char *directory_url;       /* default Let's Encrypt production */
	char *ca_bundle;           /* NULL: the system store */
	enum crypto_key_type key_type;       /* account key; default P-256 */
	enum crypto_key_type cert_key_type;  /* certificate keys; default P-256 */
	char *contact_email;
	char *eab_kid;
	char *eab_hmac;            /* base64url HMAC key: a secret, never logged */
	char *kek_file;            /* key-encryption key for the account key */
	char *cert_kek_file;       /* the certificates' keys' own KEK (certstore.h) */
	bool allow_plaintext_keys; /* no KEK: store keys in the clear anyway */
	char *preferred_chain;     /* issuer CN of the preferred chain */
	char *profile;             /* certificate profile to ask for */
	long connect_timeout_ms;   /* default 5000 */
	long timeout_ms;           /* default 30000 */
	size_t max_response_bytes; /* default 1 MiB */
	int bad_nonce_retries;     /* default 10 */
	long poll_default_ms;      /* when no Retry-After: default 1000 */
};

#define ACME_DEFAULT_DIRECTORY "https://acme-v02.api.letsencrypt.org/directory"

/* Sets the defaults above (strings NULL except directory_url). */
int acme_opts_defaults(struct acme_opts *o);

/* Reads the "acme:" section of C into O (defaults first).  Keys:
 * directory (https:// only), ca_bundle, key_type, cert_key_type, email, eab_kid, eab_hmac
 * (better from the environment DCV_ACME_EAB_HMAC) or eab_hmac_file,
 * kek_file (or the environment DCV_ACME_KEK, read by account.h),
 * cert_kek_file (or DCV_CERT_KEK, read by certstore.h),
 * allow_plaintext_keys (false: the worker and dcvctl refuse to store keys
 * without a KEK; see account_kek_policy()),
 * preferred_chain, profile, connect_timeout_ms, timeout_ms,
 * max_response_bytes, bad_nonce_retries, poll_default_ms.  Returns 0, or -1
 * after recording the error in C (cfg_error()). */
int acme_cfg_load(struct cfg *c, struct acme_opts *o);
void acme_opts_free(struct acme_opts *o);

/* Reads a small secret file (secret_read_file(): at most 4 KiB, trailing
 * whitespace trimmed),
 * such as an EAB HMAC key.  Returns a copy the caller frees with
 * crypto_free_secret(), or NULL when it cannot be read or is too big. */
char *acme_read_secret_file(const char *path);

struct acme_client;

/* Creates a client (no network yet).  OPTS is copied.  ACME_E_INSECURE
 * when the directory URL is not https://. */
enum acme_status acme_client_new(const struct acme_opts *opts,
                                 struct acme_client **out);
void acme_client_free(struct acme_client *c);

/* The problem behind the last failure of C (status ACME_OK when the last
 * call succeeded).  Borrowed, valid until the next call on C. */
const struct acme_problem *acme_last_problem(const struct acme_client *c);

/* Sets the account C signs with: KEY is borrowed (the caller keeps it alive
 * while C uses it), KID the account URL (copied; NULL before registration,
 * then requests use the jwk form). */
enum acme_status acme_set_account(struct acme_client *c,
                                  const struct crypto_key *key,
                                  const char *kid);

/* The account URL C uses, or NULL.  Borrowed. */
const char *acme_account_url(const struct acme_client *c);

/* Every request C makes from now on ends by DEADLINE_MONO_MS (deadline.h;
 * 0 for none), the job's deadline: each gets min(timeout_ms, time left),
 * and none is sent once it has passed.  Running out is ACME_E_TIMEOUT
 * (retryable) with a last problem that names the request and its URL. */
void acme_set_deadline(struct acme_client *c, long long deadline_mono_ms);

/* Fetches the directory once and caches it (borrowed, lives with C). */
enum acme_status acme_directory(struct acme_client *c,
                                const struct acme_directory **out);

/* The directory C has fetched already, or NULL: no request. */
const struct acme_directory *acme_directory_cached(const struct acme_client *c);

/* newAccount with the key set by acme_set_account().  CONTACT (may be NULL)
 * is an email address; the terms of service are agreed.  EAB_KID and
 * EAB_HMAC (base64url) add External Account Binding.  ONLY_EXISTING looks
 * up the account of this key instead (ACME_E_NOACCOUNT if none).  On
 * success the account URL is stored in C (acme_account_url()). */
enum acme_status acme_account_register(struct acme_client *c,
                                       const char *contact,
                                       const char *eab_kid,
                                       const char *eab_hmac,
                                       bool only_existing);

/* Deactivates the account (status "deactivated"); irreversible. */
enum acme_status acme_account_deactivate(struct acme_client *c);

/* keyChange to NEW_KEY (borrowed like the account key).  On success C signs
 * with NEW_KEY from now on. */
enum acme_status acme_key_change(struct acme_client *c,
                                 const struct crypto_key *new_key);

/* newOrder for NAMES (N dns identifiers, "*.x" allowed).  PROFILE (may be
 * NULL; ACME_E_UNSUPPORTED if the directory lists profiles and not this
 * one, ignored with no profiles) and REPLACES (an ARI certificate id, may be
 * NULL; ignored when the CA has no renewalInfo).  OUT is filled; free it. */
enum acme_status acme_order_new(struct acme_client *c,
                                const char *const *names, size_t n,
                                const char *profile, const char *replaces,
                                struct acme_order *out);

/* Refreshes ORDER (POST-as-GET to order->url).  Returns ACME_OK when it is
 * ready or valid, ACME_PENDING (retry_after_ms) when pending or processing,
 * ACME_E_INVALID with the order's error when invalid. */
enum acme_status acme_order_poll(struct acme_client *c, struct acme_order *order,
                                 long long *retry_after_ms);

/* Fetches the authorization at URL into OUT (free it). */
enum acme_status acme_authz_get(struct acme_client *c, const char *url,
                                struct acme_authz *out);

/* Like acme_authz_get(), then: ACME_OK when valid, ACME_PENDING with
 * retry_after_ms when pending, ACME_E_INVALID (or the challenge error's
 * status, e.g. ACME_E_CAA, ACME_E_DNS) with the CA's detail otherwise. */
enum acme_status acme_authz_poll(struct acme_client *c, const char *url,
                                 struct acme_authz *out,
                                 long long *retry_after_ms);

/* The TXT value for TOKEN under the current account key. */
enum acme_status acme_dns01_txt(struct acme_client *c, const char *token,
                                char out[44]);

/* Tells the CA the challenge at URL is ready to be validated. */
enum acme_status acme_challenge_respond(struct acme_client *c, const char *url);

/* Finalizes a ready ORDER: a new key of the configured cert_key_type, a CSR
 * for the order's identifiers.  *KEY_PEM gets the certificate's private key
 * (a secret: crypto_free_secret()).  ORDER is updated from the answer;
 * returns ACME_OK when valid, ACME_PENDING when processing. */
enum acme_status acme_finalize(struct acme_client *c, struct acme_order *order,
                               char **key_pem, long long *retry_after_ms);

/* The same with a CSR made by the caller (crypto_csr_new()), so that the
 * caller can record the certificate's key before the CA sees the CSR: a
 * process that dies during the request leaves a key that matches whatever
 * the CA issues.  CSR_B64 is borrowed. */
enum acme_status acme_finalize_csr(struct acme_client *c, struct acme_order *order,
                                   const char *csr_b64, long long *retry_after_ms);

/* Downloads the chain at CERT_URL (PEM) and checks it before anyone uses
 * it (crypto_chain_check): the leaf holds the public key of KEY_PEM (our
 * CSR's private key, borrowed), its names are exactly NAMES (N, borrowed),
 * and each certificate is issued by the next.  A chain that fails gives
 * ACME_E_BADCERT with the reason in the last problem.  With a preferred
 * issuer set in the options, the Link rel="alternate" chains (https://
 * only) are fetched too and the first that names that issuer and passes
 * the same check wins; otherwise the default chain.  *PEM is malloc'd. */
enum acme_status acme_cert_download(struct acme_client *c, const char *cert_url,
                                    const char *key_pem,
                                    const char *const *names, size_t n,
                                    char **pem);

/* revokeCert for the first certificate of CERT_PEM with REASON (RFC 5280
 * code 0-10; -1 omits it), signed by the account. */
enum acme_status acme_revoke(struct acme_client *c, const char *cert_pem,
                             int reason);

/* RFC 9773: the renewal window of CERT_PEM (GET renewalInfo/<certid>).
 * ACME_E_UNSUPPORTED when the directory has no renewalInfo. */
enum acme_status acme_renewal_info(struct acme_client *c, const char *cert_pem,
                                   struct acme_renewal_info *out);

/* The same by the certificate's ARI identifier (acme_ari_certid(), as
 * recorded at issuance), for polling the window of a stored certificate. */
enum acme_status acme_renewal_info_by_id(struct acme_client *c, const char *certid,
                                         struct acme_renewal_info *out);

#endif
