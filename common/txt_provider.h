/*
 * txt_provider: put and take ACME challenge TXT values in the validation
 * zone, behind one small interface.
 *
 * Contract of every provider:
 *   - add puts one value at a name, with the configured TTL, and leaves any
 *     other value at that name alone (two orders for one name must not erase
 *     each other's value);
 *   - remove takes away exactly that one value and leaves the others;
 *   - both are idempotent: adding a value that is there, or removing one
 *     that is not, succeeds;
 *   - calls block for at most about timeout_ms * tries, and never past the
 *     deadline set with txt_set_deadline() (the job's): the time left
 *     cuts each try, a call made after it fails at once (TXT_TRANSIENT,
 *     with a message that says so and names the server);
 *   - TXT_PERMANENT is a configuration problem a retry will not fix (bad
 *     TSIG key or secret, not allowed, zone not served, API key refused),
 *     TXT_TRANSIENT may pass by itself (timeout, SERVFAIL, HTTP 5xx).
 *   - messages never contain a secret.
 *
 * A new provider (a cloud DNS API) is one more file: a struct txt_provider
 * whose ops implement add/remove/free (txt_provider_impl.h, included by
 * the providers only), and a case in txt_provider_new().
 */
#ifndef DCV_TXT_PROVIDER_H
#define DCV_TXT_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>

#include "dname.h"

struct cfg;

enum txt_status {
	TXT_OK = 0,
	TXT_TRANSIENT,   /* retry later */
	TXT_PERMANENT,   /* configuration error; retrying will not help */
	TXT_INVALID,     /* the name or value itself is unacceptable */
};

const char *txt_strerror(enum txt_status s);

#define TXT_SECRET_MAX 512
#define TXT_URL_MAX 512
#define TXT_VALUE_MAX 255      /* one character-string */
#define TXT_MSG_MAX 256        /* suggested size of message buffers */
#define TXT_PATH_MAX 512       /* a file name in the configuration */
#define TXT_EXEC_ENV_MAX 8     /* provider.exec.env entries */
#define TXT_EXEC_ENV_LEN 512   /* one NAME=VALUE */

enum txt_type { TXT_RFC2136, TXT_POWERDNS, TXT_WEBHOOK, TXT_EXEC };

/* The "provider:" section of the configuration. */
struct txt_provider_opts {
	enum txt_type type;
	char zone[DNAME_MAX + 1];   /* the validation zone */
	int ttl;                    /* seconds */
	int timeout_ms;             /* per try (DNS) or per request (HTTP) */
	int tries;
	/* rfc2136 */
	char server[64];            /* primary "addr[:port]" */
	char key_name[DNAME_MAX + 1];
	char algorithm[32];         /* "hmac-sha256" or "hmac-sha512" */
	char secret[TXT_SECRET_MAX];/* base64; never logged */
	/* powerdns */
	char api_url[TXT_URL_MAX];  /* e.g. http://127.0.0.1:8081 */
	char api_key[TXT_SECRET_MAX];/* never logged */
	char server_id[64];         /* "localhost" */
	/* webhook (schemas/webhook.md) */
	char hook_url[TXT_URL_MAX];      /* https://... (http:// see allow_http) */
	char hook_secret[TXT_SECRET_MAX];/* HMAC key, as bytes; never logged */
	char hook_ca[TXT_PATH_MAX];      /* CA bundle for the receiver; "": system */
	bool hook_allow_http;            /* http:// to a host other than loopback */
	/* exec */
	char exec_program[TXT_PATH_MAX]; /* absolute path, run without a shell */
	char exec_env[TXT_EXEC_ENV_MAX][TXT_EXEC_ENV_LEN]; /* NAME=VALUE added */
	int exec_nenv;
};

/* Fills O from the "provider:" section of C:
 *   provider.type (rfc2136|powerdns|webhook|exec), provider.zone, provider.ttl (60),
 *   provider.timeout_ms (3000), provider.tries (2),
 *   provider.server, provider.tsig.name, provider.tsig.algorithm
 *   (hmac-sha256), provider.tsig.secret or provider.tsig.secret_file
 *   (env DCV_PROVIDER_TSIG_SECRET overrides),
 *   provider.api_url, provider.api_key (env DCV_PROVIDER_API_KEY) or
 *   provider.api_key_file, provider.server_id (localhost),
 *   provider.webhook.url, provider.webhook.secret (env
 *   DCV_PROVIDER_WEBHOOK_SECRET) or provider.webhook.secret_file,
 *   provider.webhook.ca_bundle, provider.webhook.allow_http (false),
 *   provider.exec.program, provider.exec.env (a list of NAME=VALUE).
 * Errors are recorded in C and return -1; the secret never appears in
 * them. */
int txt_provider_cfg_load(struct cfg *c, struct txt_provider_opts *o);

/* A provider's handle: opaque (its operations are txt_provider_impl.h's,
 * seen only by the providers). */
struct txt_provider;

/* Makes the provider O names (O is copied).  NULL with ERR on failure. */
struct txt_provider *txt_provider_new(const struct txt_provider_opts *o,
                                      char *err, size_t errlen);

/* Adds VALUE at NAME (which must be in the zone).  MSG gets a one-line
 * explanation on failure.  Name and value are checked first (TXT_INVALID):
 * the value at most TXT_VALUE_MAX printable ASCII characters. */
enum txt_status txt_add(struct txt_provider *p, const char *name,
                        const char *value, char *msg, size_t msglen);

/* Removes VALUE (only that one) at NAME. */
enum txt_status txt_remove(struct txt_provider *p, const char *name,
                           const char *value, char *msg, size_t msglen);

/* Every call from now on ends by DEADLINE_MONO_MS (deadline.h; 0 for
 * none): the job's deadline. */
void txt_set_deadline(struct txt_provider *p, long long deadline_mono_ms);

/* NULL is a no-op. */
void txt_provider_free(struct txt_provider *p);

#endif
