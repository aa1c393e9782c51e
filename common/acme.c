/* acme: the ACME client (acme.h) over acme_http: the client handle, the
 * last problem, the JWS-signed exchange with its nonces, accounts, orders,
 * authorizations, challenges and finalization.  Certificate download,
 * revocation and renewal information are in acme_cert.c; the pure parsers
 * in acme_parse.c; the options in acme_opts.c. */
#include "acme.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acme_http.h"
#include "acme_internal.h"

enum acme_status acme_client_new(const struct acme_opts *opts,
                                 struct acme_client **out)
{
	*out = NULL;
	if (!opts || !opts->directory_url)
		return ACME_E_INVAL;
	if (!acme_url_ok(opts->directory_url))
		return acme_url_check(opts->directory_url) == ACME_E_INSECURE ? ACME_E_INSECURE
		                                                         : ACME_E_INVAL;
	struct acme_client *c = calloc(1, sizeof(*c));
	if (!c)
		return ACME_E_NOMEM;
	c->opts = *opts;
	c->opts.directory_url = acme_strdup_opt(opts->directory_url);
	c->opts.ca_bundle = acme_strdup_opt(opts->ca_bundle);
	c->opts.contact_email = acme_strdup_opt(opts->contact_email);
	c->opts.eab_kid = acme_strdup_opt(opts->eab_kid);
	c->opts.eab_hmac = acme_strdup_opt(opts->eab_hmac);
	c->opts.kek_file = acme_strdup_opt(opts->kek_file);
	c->opts.cert_kek_file = acme_strdup_opt(opts->cert_kek_file);
	c->opts.preferred_chain = acme_strdup_opt(opts->preferred_chain);
	c->opts.profile = acme_strdup_opt(opts->profile);
	if (c->opts.poll_default_ms <= 0)
		c->opts.poll_default_ms = 1000;
	if (c->opts.bad_nonce_retries < 0)
		c->opts.bad_nonce_retries = 0;
	struct acme_http_opts ho = {
		.ca_bundle = opts->ca_bundle,
		.connect_timeout_ms = opts->connect_timeout_ms,
		.timeout_ms = opts->timeout_ms,
		.max_response_bytes = opts->max_response_bytes,
	};
	c->http = acme_http_new(&ho);
	c->prob.retry_after_ms = -1;
	if (!c->http || !c->opts.directory_url) {
		acme_client_free(c);
		return ACME_E_NOMEM;
	}
	*out = c;
	return ACME_OK;
}

void acme_client_free(struct acme_client *c)
{
	if (!c)
		return;
	acme_opts_free(&c->opts);
	acme_http_free(c->http);
	acme_directory_free(&c->dir);
	free(c->nonce);
	free(c->kid);
	free(c);
}

const struct acme_problem *acme_last_problem(const struct acme_client *c)
{
	return &c->prob;
}

enum acme_status acme_fail(struct acme_client *c, enum acme_status st,
                           const char *fmt, ...)
{
	memset(&c->prob, 0, sizeof(c->prob));
	c->prob.status = st;
	c->prob.retry_after_ms = -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->prob.detail, sizeof(c->prob.detail), fmt, ap);
	va_end(ap);
	return st;
}

/* Records PROB (an embedded problem) as the last failure. */
static enum acme_status fail_problem(struct acme_client *c, enum acme_status st,
                                     const struct acme_problem *prob)
{
	c->prob = *prob;
	c->prob.status = st;
	return st;
}

/* Records why the CA's WHAT ("an order") was refused by its parser. */
static enum acme_status parse_failed(struct acme_client *c, enum acme_status st,
                                     const char *what)
{
	if (st == ACME_E_INSECURE)
		return acme_fail(c, st, "the CA sent %s naming a URL that is not https://", what);
	return acme_fail(c, st, "the CA sent %s that does not parse", what);
}

void acme_ok(struct acme_client *c)
{
	memset(&c->prob, 0, sizeof(c->prob));
	c->prob.retry_after_ms = -1;
}

enum acme_status acme_set_account(struct acme_client *c,
                                  const struct crypto_key *key,
                                  const char *kid)
{
	char *k = NULL;
	if (kid && !(k = strdup(kid)))
		return ACME_E_NOMEM;
	free(c->kid);
	c->kid = k;
	c->key = key;
	return ACME_OK;
}

void acme_set_deadline(struct acme_client *c, long long deadline_mono_ms)
{
	acme_http_set_deadline(c->http, deadline_mono_ms);
}

const char *acme_account_url(const struct acme_client *c)
{
	return c->kid;
}

static enum acme_status http_status_map(enum acme_http_status hs)
{
	switch (hs) {
	case ACME_HTTP_OK: return ACME_OK;
	case ACME_HTTP_ETIMEOUT: return ACME_E_TIMEOUT;
	case ACME_HTTP_EDEADLINE: return ACME_E_TIMEOUT;
	case ACME_HTTP_ECONNECT: return ACME_E_CONNECT;
	case ACME_HTTP_ETLS: return ACME_E_TLS;
	case ACME_HTTP_ETOOBIG: return ACME_E_TOOBIG;
	case ACME_HTTP_ENETWORK: return ACME_E_NETWORK;
	case ACME_HTTP_ENOMEM: return ACME_E_NOMEM;
	case ACME_HTTP_EINVAL: return ACME_E_INVAL;
	}
	return ACME_E_NETWORK;
}

enum acme_status acme_exchange(struct acme_client *c, const char *method,
                               const char *url, const char *body,
                               const char *accept, struct acme_http_resp *r)
{
	char err[256];
	memset(r, 0, sizeof(*r));
	/* the one door every request passes: nothing leaves but over TLS */
	enum acme_status us = acme_url_check(url);
	if (us != ACME_OK)
		return acme_fail(c, us, "refused to %s %.200s: not an https:// URL", method,
		                 url ? url : "(none)");
	enum acme_http_status hs = acme_http_do(c->http, method, url, body, accept,
	                                        r, err, sizeof(err));
	if (hs != ACME_HTTP_OK)
		return acme_fail(c, http_status_map(hs), "%s %s: %s", method, url, err);
	if (r->replay_nonce && r->replay_nonce[0] &&
	    strlen(r->replay_nonce) < 256) {
		free(c->nonce);
		c->nonce = strdup(r->replay_nonce);
	}
	if (r->code >= 400) {
		acme_problem_parse(r->body, r->body_len, (int)r->code, r->retry_after,
		                   time(NULL), &c->prob);
		return c->prob.status;
	}
	acme_ok(c);
	return ACME_OK;
}

const struct acme_directory *acme_directory_cached(const struct acme_client *c)
{
	return c->have_dir ? &c->dir : NULL;
}

enum acme_status acme_directory(struct acme_client *c,
                                const struct acme_directory **out)
{
	struct acme_http_resp r;
	enum acme_status st;
	*out = NULL;
	if (c->have_dir) {
		*out = &c->dir;
		return ACME_OK;
	}
	st = acme_exchange(c, "GET", c->opts.directory_url, NULL, "application/json", &r);
	if (st != ACME_OK)
		goto out;
	if (r.code != 200) {
		st = acme_fail(c, ACME_E_PROTOCOL, "directory: HTTP %ld", r.code);
		goto out;
	}
	st = acme_directory_parse(r.body, r.body_len, &c->dir);
	if (st == ACME_E_INSECURE) {
		acme_fail(c, st, "the directory at %s names a URL that is not https://",
		          c->opts.directory_url);
		goto out;
	}
	if (st != ACME_OK) {
		acme_fail(c, st, "directory at %s is not a valid ACME directory",
		          c->opts.directory_url);
		goto out;
	}
	c->have_dir = true;
	*out = &c->dir;
out:
	acme_http_resp_free(&r);
	return st;
}

/* Gets a fresh nonce from newNonce unless one is in hand. */
static enum acme_status ensure_nonce(struct acme_client *c)
{
	const struct acme_directory *d;
	struct acme_http_resp r;
	if (c->nonce)
		return ACME_OK;
	enum acme_status st = acme_directory(c, &d);
	if (st != ACME_OK)
		return st;
	st = acme_exchange(c, "HEAD", d->new_nonce, NULL, NULL, &r);
	if (st == ACME_OK && !c->nonce)
		st = acme_fail(c, ACME_E_PROTOCOL, "newNonce gave no Replay-Nonce");
	acme_http_resp_free(&r);
	return st;
}

enum acme_status acme_signed_post(struct acme_client *c, const char *url,
                                  const char *payload, bool use_jwk,
                                  const char *accept, struct acme_http_resp *r)
{
	enum acme_status st = ACME_OK;
	memset(r, 0, sizeof(*r));
	if (!c->key || (!use_jwk && !c->kid))
		return acme_fail(c, ACME_E_INVAL, "no account set");
	if (acme_url_check(url) != ACME_OK)
		return acme_fail(c, acme_url_check(url), "refused to POST to %.200s: not an "
		                      "https:// URL", url ? url : "(none)");
	for (int attempt = 0;; attempt++) {
		json_t *prot = NULL, *jws = NULL;
		char *body = NULL;
		st = ensure_nonce(c);
		if (st != ACME_OK)
			return st;
		prot = json_pack("{ssss}", "nonce", c->nonce, "url", url);
		if (prot) {
			if (use_jwk)
				json_object_set_new(prot, "jwk", crypto_key_jwk(c->key));
			else
				json_object_set_new(prot, "kid", json_string(c->kid));
		}
		free(c->nonce);
		c->nonce = NULL; /* used once */
		enum crypto_status cs = prot ? crypto_jws(c->key, NULL, 0, prot,
		                                          payload, &jws)
		                             : CRYPTO_ENOMEM;
		json_decref(prot);
		if (cs == CRYPTO_OK)
			body = json_dumps(jws, JSON_COMPACT);
		json_decref(jws);
		if (!body)
			return acme_fail(c, ACME_E_CRYPTO, "cannot sign: %s",
			                 crypto_strerror(cs));
		st = acme_exchange(c, "POST", url, body, accept, r);
		free(body);
		if (st == ACME_E_BADNONCE && attempt < c->opts.bad_nonce_retries) {
			acme_http_resp_free(r);
			continue;
		}
		if (st != ACME_OK)
			acme_http_resp_free(r);
		return st;
	}
}

char *acme_payload_of(json_t *obj)
{
	char *s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	json_decref(obj);
	return s;
}

/* Adds to REQ (a newAccount payload) the externalAccountBinding for the
 * CA's key id KID and its base64url HMAC key HMAC_B64: a JWS over the
 * account's public key, MACed with that key, for the newAccount URL
 * (RFC 8555 7.3.4).  The decoded key is wiped before it is freed. */
static enum acme_status add_eab(struct acme_client *c,
                                const struct acme_directory *d, json_t *req,
                                const char *kid, const char *hmac_b64)
{
	json_t *eab = NULL, *jwk = NULL;
	char *jwk_text = NULL;
	unsigned char *mac = NULL;
	size_t maclen = 0;
	enum acme_status st = ACME_OK;

	if (crypto_b64url_decode(hmac_b64, strlen(hmac_b64), &mac,
	                         &maclen) != CRYPTO_OK || maclen == 0) {
		st = acme_fail(c, ACME_E_INVAL, "EAB HMAC key is not base64url");
		goto out;
	}
	jwk = crypto_key_jwk(c->key);
	jwk_text = jwk ? json_dumps(jwk, JSON_COMPACT) : NULL;
	json_t *prot = json_pack("{ssss}", "kid", kid, "url", d->new_account);
	enum crypto_status cs = (prot && jwk_text)
		? crypto_jws(NULL, mac, maclen, prot, jwk_text, &eab)
		: CRYPTO_ENOMEM;
	json_decref(prot);
	if (cs != CRYPTO_OK) {
		st = acme_fail(c, ACME_E_CRYPTO, "EAB: %s", crypto_strerror(cs));
		goto out;
	}
	json_object_set_new(req, "externalAccountBinding", eab);
	eab = NULL;
out:
	if (mac) {
		memset(mac, 0, maclen);
		free(mac);
	}
	free(jwk_text);
	json_decref(jwk);
	json_decref(eab);
	return st;
}

enum acme_status acme_account_register(struct acme_client *c,
                                       const char *contact,
                                       const char *eab_kid,
                                       const char *eab_hmac,
                                       bool only_existing)
{
	const struct acme_directory *d;
	struct acme_http_resp r = { 0 };
	json_t *req = NULL;
	char *payload = NULL;
	bool eab_sent = false;
	enum acme_status st = acme_directory(c, &d);
	if (st != ACME_OK)
		goto out;
	if (!c->key) {
		st = acme_fail(c, ACME_E_INVAL, "no account key");
		goto out;
	}
	req = json_object();
	if (!req) {
		st = acme_fail(c, ACME_E_NOMEM, "out of memory");
		goto out;
	}
	if (only_existing) {
		json_object_set_new(req, "onlyReturnExisting", json_true());
	} else {
		json_object_set_new(req, "termsOfServiceAgreed", json_true());
		if (contact && *contact) {
			if (strlen(contact) > 254 || strchr(contact, ',') ||
			    !strchr(contact, '@')) {
				st = acme_fail(c, ACME_E_INVAL, "bad contact address");
				goto out;
			}
			char mailto[300];
			snprintf(mailto, sizeof(mailto), "mailto:%s", contact);
			json_object_set_new(req, "contact", json_pack("[s]", mailto));
		}
		if (eab_kid && eab_hmac) {
			st = add_eab(c, d, req, eab_kid, eab_hmac);
			if (st != ACME_OK)
				goto out;
			eab_sent = true;
		} else if (d->eab_required) {
			st = acme_fail(c, ACME_E_EAB,
			               "this CA requires external account binding "
			               "(an EAB key id and HMAC key: dcvctl account register "
			               "--eab-kid K --eab-hmac-file F)");
			goto out;
		}
	}
	payload = acme_payload_of(req);
	req = NULL;
	if (!payload) {
		st = acme_fail(c, ACME_E_NOMEM, "out of memory");
		goto out;
	}
	st = acme_signed_post(c, d->new_account, payload, true, NULL, &r);
	/* A refused binding comes back as unauthorized or malformed: name it,
	 * keeping the CA's detail. */
	if (eab_sent && (st == ACME_E_UNAUTHORIZED || st == ACME_E_MALFORMED))
		st = c->prob.status = ACME_E_EAB;
	if (st != ACME_OK)
		goto out;
	if ((r.code != 200 && r.code != 201) || !r.location) {
		st = acme_fail(c, ACME_E_PROTOCOL, "newAccount: HTTP %ld without Location",
		               r.code);
		goto out;
	}
	if ((st = acme_url_check(r.location)) != ACME_OK) {
		acme_fail(c, st, "newAccount: the account URL (Location) is not https://");
		goto out;
	}
	st = acme_set_account(c, c->key, r.location);
out:
	acme_http_resp_free(&r);
	json_decref(req);
	free(payload);
	return st;
}

enum acme_status acme_account_deactivate(struct acme_client *c)
{
	struct acme_http_resp r;
	char *payload = acme_payload_of(json_pack("{ss}", "status", "deactivated"));
	if (!payload)
		return acme_fail(c, ACME_E_NOMEM, "out of memory");
	enum acme_status st = acme_signed_post(c, c->kid, payload, false, NULL, &r);
	free(payload);
	acme_http_resp_free(&r);
	return st;
}

enum acme_status acme_key_change(struct acme_client *c,
                                 const struct crypto_key *new_key)
{
	const struct acme_directory *d;
	struct acme_http_resp r = { 0 };
	json_t *inner = NULL, *prot = NULL, *old_jwk = NULL;
	char *inner_payload = NULL, *payload = NULL;
	enum acme_status st = acme_directory(c, &d);
	if (st != ACME_OK)
		goto out;
	if (!d->key_change) {
		st = acme_fail(c, ACME_E_UNSUPPORTED, "the directory has no keyChange");
		goto out;
	}
	if (!c->kid || !new_key) {
		st = acme_fail(c, ACME_E_INVAL, "no account or no new key");
		goto out;
	}
	old_jwk = crypto_key_jwk(c->key);
	inner_payload = acme_payload_of(json_pack("{sssO}", "account", c->kid,
	                                     "oldKey", old_jwk));
	prot = json_pack("{soss}", "jwk", crypto_key_jwk(new_key),
	                 "url", d->key_change);
	if (!inner_payload || !prot ||
	    crypto_jws(new_key, NULL, 0, prot, inner_payload, &inner) != CRYPTO_OK) {
		st = acme_fail(c, ACME_E_CRYPTO, "cannot sign the keyChange request");
		goto out;
	}
	payload = json_dumps(inner, JSON_COMPACT);
	if (!payload) {
		st = acme_fail(c, ACME_E_NOMEM, "out of memory");
		goto out;
	}
	st = acme_signed_post(c, d->key_change, payload, false, NULL, &r);
	if (st == ACME_OK)
		c->key = new_key;
out:
	acme_http_resp_free(&r);
	json_decref(inner);
	json_decref(prot);
	json_decref(old_jwk);
	free(inner_payload);
	free(payload);
	return st;
}

/* Delay for a poll: the CA's Retry-After, else the configured default. */
static long long poll_delay(struct acme_client *c, const struct acme_http_resp *r)
{
	long long ms;
	if (r->retry_after && acme_retry_after_parse(r->retry_after, time(NULL), &ms))
		return ms;
	return c->opts.poll_default_ms;
}

/* Replaces ORDER's content with the order in R, keeping its URL. */
static enum acme_status order_update(struct acme_client *c,
                                     struct acme_order *order,
                                     const struct acme_http_resp *r)
{
	struct acme_order fresh;
	enum acme_status st = acme_order_parse(r->body, r->body_len, &fresh);
	if (st != ACME_OK)
		return parse_failed(c, st, "an order");
	fresh.url = order->url;
	order->url = NULL;
	acme_order_free(order);
	*order = fresh;
	return ACME_OK;
}

/* ACME_OK/PENDING/E_INVALID from an order's status. */
static enum acme_status order_state(struct acme_client *c,
                                    const struct acme_order *o,
                                    const struct acme_http_resp *r,
                                    long long *retry_after_ms)
{
	if (retry_after_ms)
		*retry_after_ms = -1;
	if (strcmp(o->status, "ready") == 0 || strcmp(o->status, "valid") == 0)
		return ACME_OK;
	if (strcmp(o->status, "pending") == 0 ||
	    strcmp(o->status, "processing") == 0) {
		if (retry_after_ms)
			*retry_after_ms = poll_delay(c, r);
		return ACME_PENDING;
	}
	if (o->error.type[0])
		return fail_problem(c, o->error.status == ACME_E_CA ? ACME_E_INVALID
		                                                    : o->error.status,
		                    &o->error);
	return acme_fail(c, ACME_E_INVALID, "order is %s", o->status);
}

enum acme_status acme_order_new(struct acme_client *c,
                                const char *const *names, size_t n,
                                const char *profile, const char *replaces,
                                struct acme_order *out)
{
	const struct acme_directory *d;
	struct acme_http_resp r = { 0 };
	json_t *req = NULL, *ids = NULL;
	char *payload = NULL;
	memset(out, 0, sizeof(*out));
	enum acme_status st = acme_directory(c, &d);
	if (st != ACME_OK)
		goto out;
	if (n == 0 || n > ACME_MAX_AUTHZ) {
		st = acme_fail(c, ACME_E_INVAL, "an order needs 1 to %d identifiers",
		               ACME_MAX_AUTHZ);
		goto out;
	}
	ids = json_array();
	for (size_t i = 0; ids && i < n; i++)
		json_array_append_new(ids, json_pack("{ssss}", "type", "dns",
		                                     "value", names[i]));
	req = json_pack("{sO}", "identifiers", ids);
	if (!req) {
		st = acme_fail(c, ACME_E_NOMEM, "out of memory");
		goto out;
	}
	if (!profile)
		profile = c->opts.profile;
	if (profile && *profile && d->n_profiles > 0) {
		bool known = false;
		for (size_t i = 0; i < d->n_profiles; i++)
			known |= strcmp(d->profiles[i].name, profile) == 0;
		if (!known) {
			st = acme_fail(c, ACME_E_UNSUPPORTED,
			               "the CA does not offer profile \"%s\"", profile);
			goto out;
		}
		json_object_set_new(req, "profile", json_string(profile));
	}
	if (replaces && *replaces && d->renewal_info)
		json_object_set_new(req, "replaces", json_string(replaces));
	payload = acme_payload_of(req);
	req = NULL;
	if (!payload) {
		st = acme_fail(c, ACME_E_NOMEM, "out of memory");
		goto out;
	}
	st = acme_signed_post(c, d->new_order, payload, false, NULL, &r);
	if (st != ACME_OK)
		goto out;
	if (r.code != 201 || !r.location) {
		st = acme_fail(c, ACME_E_PROTOCOL, "newOrder: HTTP %ld without Location",
		               r.code);
		goto out;
	}
	if ((st = acme_url_check(r.location)) != ACME_OK) {
		acme_fail(c, st, "newOrder: the order URL (Location) is not https://");
		goto out;
	}
	st = acme_order_parse(r.body, r.body_len, out);
	if (st != ACME_OK) {
		parse_failed(c, st, "an order");
		goto out;
	}
	out->url = strdup(r.location);
	if (!out->url) {
		acme_order_free(out);
		st = acme_fail(c, ACME_E_NOMEM, "out of memory");
	}
out:
	acme_http_resp_free(&r);
	json_decref(ids);
	json_decref(req);
	free(payload);
	return st;
}

enum acme_status acme_order_poll(struct acme_client *c, struct acme_order *order,
                                 long long *retry_after_ms)
{
	struct acme_http_resp r;
	if (retry_after_ms)
		*retry_after_ms = -1;
	enum acme_status st = acme_signed_post(c, order->url, "", false, NULL, &r);
	if (st == ACME_OK)
		st = order_update(c, order, &r);
	if (st == ACME_OK)
		st = order_state(c, order, &r, retry_after_ms);
	acme_http_resp_free(&r);
	return st;
}

enum acme_status acme_authz_get(struct acme_client *c, const char *url,
                                struct acme_authz *out)
{
	struct acme_http_resp r;
	memset(out, 0, sizeof(*out));
	enum acme_status st = acme_signed_post(c, url, "", false, NULL, &r);
	if (st == ACME_OK) {
		st = acme_authz_parse(r.body, r.body_len, out);
		if (st != ACME_OK)
			parse_failed(c, st, "an authorization");
	}
	acme_http_resp_free(&r);
	return st;
}

enum acme_status acme_authz_poll(struct acme_client *c, const char *url,
                                 struct acme_authz *out,
                                 long long *retry_after_ms)
{
	struct acme_http_resp r;
	*retry_after_ms = -1;
	memset(out, 0, sizeof(*out));
	enum acme_status st = acme_signed_post(c, url, "", false, NULL, &r);
	if (st != ACME_OK)
		goto out;
	st = acme_authz_parse(r.body, r.body_len, out);
	if (st != ACME_OK) {
		parse_failed(c, st, "an authorization");
		goto out;
	}
	if (strcmp(out->status, "valid") == 0) {
		st = ACME_OK;
	} else if (strcmp(out->status, "pending") == 0) {
		*retry_after_ms = poll_delay(c, &r);
		st = ACME_PENDING;
	} else if (out->error.type[0]) {
		st = fail_problem(c, out->error.status == ACME_E_CA ? ACME_E_INVALID
		                                                    : out->error.status,
		                  &out->error);
	} else {
		st = acme_fail(c, ACME_E_INVALID, "authorization for %s is %s",
		               out->identifier, out->status);
	}
out:
	acme_http_resp_free(&r);
	return st;
}

enum acme_status acme_dns01_txt(struct acme_client *c, const char *token,
                                char out[44])
{
	char tp[44];
	if (!c->key)
		return acme_fail(c, ACME_E_INVAL, "no account key");
	if (crypto_key_thumbprint(c->key, tp) != CRYPTO_OK)
		return acme_fail(c, ACME_E_CRYPTO, "cannot compute the thumbprint");
	return acme_dns01_value(token, tp, out);
}

enum acme_status acme_challenge_respond(struct acme_client *c, const char *url)
{
	struct acme_http_resp r;
	enum acme_status st = acme_signed_post(c, url, "{}", false, NULL, &r);
	acme_http_resp_free(&r);
	return st;
}

enum acme_status acme_finalize_csr(struct acme_client *c, struct acme_order *order,
                                   const char *csr_b64, long long *retry_after_ms)
{
	struct acme_http_resp r = { 0 };
	char *payload = NULL;
	enum acme_status st;
	if (retry_after_ms)
		*retry_after_ms = -1;
	if (!order->finalize || !csr_b64)
		return acme_fail(c, ACME_E_INVAL, "order has no finalize URL, or no CSR");
	payload = acme_payload_of(json_pack("{ss}", "csr", csr_b64));
	if (!payload) {
		st = acme_fail(c, ACME_E_NOMEM, "out of memory");
		goto out;
	}
	st = acme_signed_post(c, order->finalize, payload, false, NULL, &r);
	if (st == ACME_OK)
		st = order_update(c, order, &r);
	if (st == ACME_OK)
		st = order_state(c, order, &r, retry_after_ms);
	/* "ready" after finalize means the CA has not started yet. */
	if (st == ACME_OK && strcmp(order->status, "ready") == 0) {
		if (retry_after_ms)
			*retry_after_ms = poll_delay(c, &r);
		st = ACME_PENDING;
	}
out:
	acme_http_resp_free(&r);
	free(payload);
	return st;
}

enum acme_status acme_finalize(struct acme_client *c, struct acme_order *order,
                               char **key_pem, long long *retry_after_ms)
{
	char *csr = NULL;
	enum acme_status st;
	*key_pem = NULL;
	if (retry_after_ms)
		*retry_after_ms = -1;
	if (!order->finalize || order->n_identifiers == 0)
		return acme_fail(c, ACME_E_INVAL, "order has no finalize URL or identifiers");
	enum crypto_status cs = crypto_csr_new(c->opts.cert_key_type,
	                                       (const char *const *)order->identifiers,
	                                       order->n_identifiers, &csr, key_pem);
	if (cs != CRYPTO_OK) {
		st = acme_fail(c, ACME_E_CRYPTO, "CSR: %s", crypto_strerror(cs));
		goto out;
	}
	st = acme_finalize_csr(c, order, csr, retry_after_ms);
out:
	if (st != ACME_OK && st != ACME_PENDING) {
		crypto_free_secret(*key_pem);
		*key_pem = NULL;
	}
	free(csr);
	return st;
}
