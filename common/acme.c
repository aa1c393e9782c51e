#define _XOPEN_SOURCE 700 /* strptime */
#include "acme.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "acme_http.h"
#include "cfg.h"

/* Largest JSON document any parser accepts. */
#define ACME_JSON_MAX (256 * 1024)

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

/* ---------------------------------------------------------------- status */

const char *acme_strerror(enum acme_status st)
{
	switch (st) {
	case ACME_OK: return "ok";
	case ACME_PENDING: return "pending";
	case ACME_E_BADNONCE: return "bad nonce (retries exhausted)";
	case ACME_E_RATELIMITED: return "rate limited";
	case ACME_E_SERVER: return "CA server error";
	case ACME_E_TIMEOUT: return "timed out";
	case ACME_E_CONNECT: return "cannot connect to the CA";
	case ACME_E_NETWORK: return "network error";
	case ACME_E_UNAUTHORIZED: return "unauthorized";
	case ACME_E_BADPUBLICKEY: return "bad public key";
	case ACME_E_NOACCOUNT: return "account does not exist";
	case ACME_E_EAB: return "external account binding required or refused";
	case ACME_E_REJECTEDID: return "identifier rejected";
	case ACME_E_CAA: return "CAA forbids issuance";
	case ACME_E_DNS: return "DNS problem at the CA";
	case ACME_E_INVALID: return "validation failed";
	case ACME_E_MALFORMED: return "malformed request";
	case ACME_E_BADCSR: return "bad CSR";
	case ACME_E_ORDERNOTREADY: return "order not ready";
	case ACME_E_ALREADYREVOKED: return "already revoked";
	case ACME_E_BADREVOCATION: return "bad revocation reason";
	case ACME_E_USERACTION: return "user action required";
	case ACME_E_CA: return "CA refused the request";
	case ACME_E_PROTOCOL: return "unexpected answer from the CA";
	case ACME_E_INSECURE: return "a URL that is not https:// (refused)";
	case ACME_E_BADCERT: return "the CA's certificate is not the one ordered";
	case ACME_E_TOOBIG: return "response too large";
	case ACME_E_TLS: return "TLS failure";
	case ACME_E_UNSUPPORTED: return "not supported by this CA";
	case ACME_E_CRYPTO: return "crypto failure";
	case ACME_E_NOMEM: return "out of memory";
	case ACME_E_INVAL: return "invalid argument";
	}
	return "unknown acme status";
}

bool acme_status_retryable(enum acme_status st)
{
	switch (st) {
	case ACME_PENDING:
	case ACME_E_BADNONCE:
	case ACME_E_RATELIMITED:
	case ACME_E_SERVER:
	case ACME_E_TIMEOUT:
	case ACME_E_CONNECT:
	case ACME_E_NETWORK:
		return true;
	default:
		return false;
	}
}

static const struct {
	const char *name;
	enum acme_status st;
} problem_types[] = {
	{ "badNonce", ACME_E_BADNONCE },
	{ "rateLimited", ACME_E_RATELIMITED },
	{ "serverInternal", ACME_E_SERVER },
	{ "unauthorized", ACME_E_UNAUTHORIZED },
	{ "badPublicKey", ACME_E_BADPUBLICKEY },
	{ "badSignatureAlgorithm", ACME_E_BADPUBLICKEY },
	{ "accountDoesNotExist", ACME_E_NOACCOUNT },
	{ "externalAccountRequired", ACME_E_EAB },
	{ "rejectedIdentifier", ACME_E_REJECTEDID },
	{ "unsupportedIdentifier", ACME_E_REJECTEDID },
	{ "caa", ACME_E_CAA },
	{ "dns", ACME_E_DNS },
	{ "incorrectResponse", ACME_E_INVALID },
	{ "connection", ACME_E_INVALID },
	{ "tls", ACME_E_INVALID },
	{ "unsupportedContact", ACME_E_MALFORMED },
	{ "invalidContact", ACME_E_MALFORMED },
	{ "malformed", ACME_E_MALFORMED },
	{ "badCSR", ACME_E_BADCSR },
	{ "orderNotReady", ACME_E_ORDERNOTREADY },
	{ "alreadyRevoked", ACME_E_ALREADYREVOKED },
	{ "badRevocationReason", ACME_E_BADREVOCATION },
	{ "userActionRequired", ACME_E_USERACTION },
	{ "compound", ACME_E_INVALID },
};

enum acme_status acme_problem_status(const char *type, int http_status)
{
	static const char urn[] = "urn:ietf:params:acme:error:";
	if (type && strncmp(type, urn, sizeof(urn) - 1) == 0)
		type += sizeof(urn) - 1;
	if (type && *type)
		for (size_t i = 0; i < sizeof(problem_types) / sizeof(problem_types[0]); i++)
			if (strcmp(type, problem_types[i].name) == 0)
				return problem_types[i].st;
	if (http_status >= 500)
		return ACME_E_SERVER;
	if (http_status == 429)
		return ACME_E_RATELIMITED;
	if (http_status == 401 || http_status == 403)
		return ACME_E_UNAUTHORIZED;
	return ACME_E_CA;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

/* Fills P from a problem object (embedded or top level). */
static void problem_from_json(const json_t *obj, int http_status,
                              struct acme_problem *p)
{
	copy_str(p->type, sizeof(p->type),
	         json_string_value(json_object_get(obj, "type")));
	copy_str(p->detail, sizeof(p->detail),
	         json_string_value(json_object_get(obj, "detail")));
	const json_t *subs = json_object_get(obj, "subproblems");
	const json_t *first = json_is_array(subs) ? json_array_get(subs, 0) : NULL;
	const json_t *id = first ? json_object_get(first, "identifier") : NULL;
	copy_str(p->identifier, sizeof(p->identifier),
	         json_string_value(json_object_get(id, "value")));
	p->http_status = http_status;
	p->status = acme_problem_status(p->type, http_status);
	/* Embedded in a challenge or order (no HTTP status), "unauthorized"
	 * means the validation failed, not that our account was refused. */
	if (http_status == 0 && p->status == ACME_E_UNAUTHORIZED)
		p->status = ACME_E_INVALID;
	/* A compound problem carries the real cause in its first subproblem. */
	if (first && (p->status == ACME_E_INVALID || p->status == ACME_E_CA)) {
		const char *st = json_string_value(json_object_get(first, "type"));
		if (st)
			p->status = acme_problem_status(st, http_status);
		if (!p->detail[0])
			copy_str(p->detail, sizeof(p->detail),
			         json_string_value(json_object_get(first, "detail")));
	}
}

static json_t *load_json(const char *body, size_t len)
{
	if (!body || len == 0 || len > ACME_JSON_MAX)
		return NULL;
	return json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
}

enum acme_status acme_problem_parse(const char *body, size_t len,
                                    int http_status, const char *retry_after,
                                    time_t now, struct acme_problem *out)
{
	memset(out, 0, sizeof(*out));
	out->retry_after_ms = -1;
	json_t *j = load_json(body, len);
	if (json_is_object(j)) {
		problem_from_json(j, http_status, out);
	} else {
		out->http_status = http_status;
		out->status = acme_problem_status(NULL, http_status);
		snprintf(out->detail, sizeof(out->detail),
		         "HTTP %d without a problem document", http_status);
	}
	json_decref(j);
	long long ms;
	if (retry_after && acme_retry_after_parse(retry_after, now, &ms))
		out->retry_after_ms = ms;
	return out->status;
}

/* -------------------------------------------------------------- time */

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

bool acme_retry_after_parse(const char *v, time_t now, long long *ms)
{
	static const char *const fmts[] = {
		"%a, %d %b %Y %H:%M:%S GMT",  /* IMF-fixdate */
		"%A, %d-%b-%y %H:%M:%S GMT",  /* RFC 850 */
		"%a %b %e %H:%M:%S %Y",       /* asctime */
	};
	char buf[64];
	if (!v)
		return false;
	while (isspace((unsigned char)*v))
		v++;
	size_t n = strlen(v);
	while (n > 0 && isspace((unsigned char)v[n - 1]))
		n--;
	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, v, n);
	buf[n] = '\0';
	if (all_digits(buf)) {
		if (n > 12) {
			*ms = ACME_RETRY_MAX_MS;
			return true;
		}
		long long s = strtoll(buf, NULL, 10);
		*ms = s * 1000 > ACME_RETRY_MAX_MS ? ACME_RETRY_MAX_MS : s * 1000;
		return true;
	}
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		struct tm tm;
		memset(&tm, 0, sizeof(tm));
		const char *end = strptime(buf, fmts[i], &tm);
		if (!end || *end != '\0')
			continue;
		time_t t = timegm(&tm);
		if (t == (time_t)-1)
			return false;
		long long d = (long long)t - (long long)now;
		if (d <= 0)
			*ms = 0;
		else if (d > ACME_RETRY_MAX_MS / 1000)
			*ms = ACME_RETRY_MAX_MS;
		else
			*ms = d * 1000;
		return true;
	}
	return false;
}

/* Reads exactly N digits at *P. */
static bool digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

bool acme_rfc3339_parse(const char *s, time_t *out)
{
	int Y, M, D, h, m, sec;
	const char *p = s;
	if (!s)
		return false;
	if (!digits(&p, 4, &Y) || *p++ != '-' || !digits(&p, 2, &M) ||
	    *p++ != '-' || !digits(&p, 2, &D))
		return false;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return false;
	p++;
	if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &m) ||
	    *p++ != ':' || !digits(&p, 2, &sec))
		return false;
	if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
		return false;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	long off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1, oh, om;
		if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om) ||
		    oh > 23 || om > 59)
			return false;
		off = sign * (oh * 3600L + om * 60L);
	} else {
		return false;
	}
	if (*p != '\0')
		return false;
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = Y - 1900;
	tm.tm_mon = M - 1;
	tm.tm_mday = D;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec == 60 ? 59 : sec;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return false;
	*out = t - off;
	return true;
}

/* ------------------------------------------------------------ parsers */

/* Duplicates the string member NAME of OBJ, or NULL.  *OOM is set when
 * the member exists but copying failed. */
static char *dup_member(const json_t *obj, const char *name, bool *oom)
{
	const char *s = json_string_value(json_object_get(obj, name));
	if (!s)
		return NULL;
	if (strlen(s) > ACME_URL_MAX * 4) {
		return NULL;
	}
	char *d = strdup(s);
	if (!d)
		*oom = true;
	return d;
}

/* ACME_OK for an https:// URL of sane length, ACME_E_INSECURE for any
 * other scheme (http:// above all: anyone on the path could read and
 * change the CA's answers), ACME_E_PROTOCOL for no URL at all. */
static enum acme_status url_check(const char *u)
{
	if (!u || !*u || strlen(u) > ACME_URL_MAX)
		return ACME_E_PROTOCOL;
	if (strncmp(u, "https://", 8) != 0)
		return strstr(u, "://") ? ACME_E_INSECURE : ACME_E_PROTOCOL;
	return u[8] ? ACME_OK : ACME_E_PROTOCOL;
}

static bool url_ok(const char *u)
{
	return url_check(u) == ACME_OK;
}

/* The worst verdict of url_check() over the N URLs of V that are set
 * (NULL ones are skipped: optional members). */
static enum acme_status urls_check(const char *const *v, size_t n)
{
	enum acme_status st = ACME_OK;
	for (size_t i = 0; i < n; i++) {
		enum acme_status u = v[i] ? url_check(v[i]) : ACME_OK;
		if (u == ACME_E_INSECURE || (u != ACME_OK && st == ACME_OK))
			st = u;
	}
	return st;
}

enum acme_status acme_directory_parse(const char *body, size_t len,
                                      struct acme_directory *out)
{
	enum acme_status st = ACME_OK;
	bool oom = false;
	memset(out, 0, sizeof(*out));
	if (len > ACME_JSON_MAX)
		return ACME_E_TOOBIG;
	json_t *j = load_json(body, len);
	if (!json_is_object(j)) {
		st = ACME_E_PROTOCOL;
		goto out;
	}
	out->new_nonce = dup_member(j, "newNonce", &oom);
	out->new_account = dup_member(j, "newAccount", &oom);
	out->new_order = dup_member(j, "newOrder", &oom);
	out->revoke_cert = dup_member(j, "revokeCert", &oom);
	out->key_change = dup_member(j, "keyChange", &oom);
	out->renewal_info = dup_member(j, "renewalInfo", &oom);
	json_t *meta = json_object_get(j, "meta");
	if (json_is_object(meta)) {
		out->terms_of_service = dup_member(meta, "termsOfService", &oom);
		out->website = dup_member(meta, "website", &oom);
		out->eab_required = json_is_true(json_object_get(meta,
		                                   "externalAccountRequired"));
		json_t *profs = json_object_get(meta, "profiles");
		const char *name;
		json_t *desc;
		if (json_is_object(profs)) {
			json_object_foreach(profs, name, desc) {
				if (out->n_profiles >= ACME_MAX_PROFILES)
					break;
				struct acme_profile *p = &out->profiles[out->n_profiles];
				p->name = strdup(name);
				p->description = strdup(json_is_string(desc)
				                        ? json_string_value(desc) : "");
				out->n_profiles++;
				if (!p->name || !p->description)
					oom = true;
			}
		}
	}
	if (oom) {
		st = ACME_E_NOMEM;
		goto out;
	}
	if (!out->new_nonce || !out->new_account || !out->new_order) {
		st = ACME_E_PROTOCOL;
		goto out;
	}
	const char *urls[] = { out->new_nonce, out->new_account, out->new_order,
	                       out->revoke_cert, out->key_change, out->renewal_info };
	st = urls_check(urls, sizeof(urls) / sizeof(*urls));
out:
	json_decref(j);
	if (st != ACME_OK)
		acme_directory_free(out);
	return st;
}

void acme_directory_free(struct acme_directory *d)
{
	if (!d)
		return;
	free(d->new_nonce);
	free(d->new_account);
	free(d->new_order);
	free(d->revoke_cert);
	free(d->key_change);
	free(d->renewal_info);
	free(d->terms_of_service);
	free(d->website);
	for (size_t i = 0; i < d->n_profiles; i++) {
		free(d->profiles[i].name);
		free(d->profiles[i].description);
	}
	memset(d, 0, sizeof(*d));
}

/* Copies the strings of array ARR (at most MAX) into OUT and N. */
static enum acme_status dup_str_array(const json_t *arr, size_t max,
                                      const char *member, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!json_is_array(arr))
		return ACME_E_PROTOCOL;
	size_t len = json_array_size(arr);
	if (len > max)
		return ACME_E_TOOBIG;
	if (len == 0)
		return ACME_OK;
	char **v = calloc(len, sizeof(char *));
	if (!v)
		return ACME_E_NOMEM;
	*out = v;
	for (size_t i = 0; i < len; i++) {
		json_t *e = json_array_get(arr, i);
		if (member)
			e = json_object_get(e, member);
		const char *s = json_string_value(e);
		if (!s || strlen(s) > ACME_URL_MAX)
			return ACME_E_PROTOCOL;
		v[i] = strdup(s);
		if (!v[i])
			return ACME_E_NOMEM;
		(*n)++;
	}
	return ACME_OK;
}

enum acme_status acme_order_parse(const char *body, size_t len,
                                  struct acme_order *out)
{
	enum acme_status st = ACME_OK;
	bool oom = false;
	memset(out, 0, sizeof(*out));
	out->error.retry_after_ms = -1;
	if (len > ACME_JSON_MAX)
		return ACME_E_TOOBIG;
	json_t *j = load_json(body, len);
	if (!json_is_object(j)) {
		st = ACME_E_PROTOCOL;
		goto out;
	}
	out->status = dup_member(j, "status", &oom);
	out->expires = dup_member(j, "expires", &oom);
	out->finalize = dup_member(j, "finalize", &oom);
	out->certificate = dup_member(j, "certificate", &oom);
	out->profile = dup_member(j, "profile", &oom);
	if (oom) {
		st = ACME_E_NOMEM;
		goto out;
	}
	if (!out->status || !out->finalize) {
		st = ACME_E_PROTOCOL;
		goto out;
	}
	const char *urls[] = { out->finalize, out->certificate };
	if ((st = urls_check(urls, 2)) != ACME_OK)
		goto out;
	st = dup_str_array(json_object_get(j, "authorizations"), ACME_MAX_AUTHZ,
	                   NULL, &out->authorizations, &out->n_authz);
	if (st != ACME_OK)
		goto out;
	st = urls_check((const char *const *)out->authorizations, out->n_authz);
	if (st != ACME_OK)
		goto out;
	st = dup_str_array(json_object_get(j, "identifiers"), ACME_MAX_AUTHZ,
	                   "value", &out->identifiers, &out->n_identifiers);
	if (st != ACME_OK)
		goto out;
	json_t *err = json_object_get(j, "error");
	if (json_is_object(err))
		problem_from_json(err, 0, &out->error);
out:
	json_decref(j);
	if (st != ACME_OK)
		acme_order_free(out);
	return st;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void acme_order_free(struct acme_order *o)
{
	if (!o)
		return;
	free(o->url);
	free(o->status);
	free(o->expires);
	free(o->finalize);
	free(o->certificate);
	free(o->profile);
	free_strv(o->authorizations, o->n_authz);
	free_strv(o->identifiers, o->n_identifiers);
	memset(o, 0, sizeof(*o));
	o->error.retry_after_ms = -1;
}

enum acme_status acme_authz_parse(const char *body, size_t len,
                                  struct acme_authz *out)
{
	enum acme_status st = ACME_OK;
	bool oom = false;
	memset(out, 0, sizeof(*out));
	out->error.retry_after_ms = -1;
	if (len > ACME_JSON_MAX)
		return ACME_E_TOOBIG;
	json_t *j = load_json(body, len);
	if (!json_is_object(j)) {
		st = ACME_E_PROTOCOL;
		goto out;
	}
	out->status = dup_member(j, "status", &oom);
	out->expires = dup_member(j, "expires", &oom);
	out->identifier = dup_member(json_object_get(j, "identifier"), "value", &oom);
	out->wildcard = json_is_true(json_object_get(j, "wildcard"));
	json_t *chs = json_object_get(j, "challenges");
	size_t i;
	json_t *ch;
	json_array_foreach(chs, i, ch) {
		const char *type = json_string_value(json_object_get(ch, "type"));
		if (!type || strcmp(type, "dns-01") != 0)
			continue;
		out->dns01_url = dup_member(ch, "url", &oom);
		out->dns01_token = dup_member(ch, "token", &oom);
		out->dns01_status = dup_member(ch, "status", &oom);
		json_t *err = json_object_get(ch, "error");
		if (json_is_object(err))
			problem_from_json(err, 0, &out->error);
		break;
	}
	if (oom) {
		st = ACME_E_NOMEM;
		goto out;
	}
	if (!out->status || !out->identifier || (out->dns01_url && !out->dns01_token)) {
		st = ACME_E_PROTOCOL;
		goto out;
	}
	if (out->dns01_url && (st = url_check(out->dns01_url)) != ACME_OK)
		goto out;
	/* A token is base64url (RFC 8555 section 8.1): refuse anything else
	 * before it reaches a TXT record. */
	if (out->dns01_token) {
		size_t tl = strlen(out->dns01_token);
		if (tl < 16 || tl > 256 ||
		    strspn(out->dns01_token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
		                             "qrstuvwxyz0123456789-_") != tl) {
			st = ACME_E_PROTOCOL;
			goto out;
		}
	}
out:
	json_decref(j);
	if (st != ACME_OK)
		acme_authz_free(out);
	return st;
}

void acme_authz_free(struct acme_authz *a)
{
	if (!a)
		return;
	free(a->status);
	free(a->identifier);
	free(a->expires);
	free(a->dns01_url);
	free(a->dns01_token);
	free(a->dns01_status);
	memset(a, 0, sizeof(*a));
	a->error.retry_after_ms = -1;
}

enum acme_status acme_renewal_info_parse(const char *body, size_t len,
                                         struct acme_renewal_info *out)
{
	enum acme_status st = ACME_OK;
	bool oom = false;
	memset(out, 0, sizeof(*out));
	out->retry_after_ms = -1;
	if (len > ACME_JSON_MAX)
		return ACME_E_TOOBIG;
	json_t *j = load_json(body, len);
	json_t *w = json_object_get(j, "suggestedWindow");
	if (!json_is_object(w) ||
	    !acme_rfc3339_parse(json_string_value(json_object_get(w, "start")),
	                        &out->start) ||
	    !acme_rfc3339_parse(json_string_value(json_object_get(w, "end")),
	                        &out->end) ||
	    out->end < out->start) {
		st = ACME_E_PROTOCOL;
		goto out;
	}
	out->explanation_url = dup_member(j, "explanationURL", &oom);
	if (oom)
		st = ACME_E_NOMEM;
out:
	json_decref(j);
	if (st != ACME_OK)
		acme_renewal_info_free(out);
	return st;
}

void acme_renewal_info_free(struct acme_renewal_info *r)
{
	if (!r)
		return;
	free(r->explanation_url);
	r->explanation_url = NULL;
}

time_t acme_renewal_pick(const struct acme_renewal_info *r, uint64_t rnd)
{
	if (r->end <= r->start)
		return r->start;
	uint64_t span = (uint64_t)(r->end - r->start);
	return r->start + (time_t)(rnd % (span + 1));
}

enum acme_status acme_ari_certid_parts(const unsigned char *aki, size_t aki_len,
                                       const unsigned char *serial,
                                       size_t serial_len, char **out)
{
	*out = NULL;
	if (!aki || aki_len == 0 || !serial || serial_len == 0)
		return ACME_E_INVAL;
	char *a = crypto_b64url_encode(aki, aki_len);
	char *s = crypto_b64url_encode(serial, serial_len);
	char *r = (a && s) ? malloc(strlen(a) + strlen(s) + 2) : NULL;
	if (r)
		sprintf(r, "%s.%s", a, s);
	free(a);
	free(s);
	*out = r;
	return r ? ACME_OK : ACME_E_NOMEM;
}

enum acme_status acme_ari_certid(const char *cert_pem, size_t len, char **out)
{
	struct crypto_cert_info ci;
	*out = NULL;
	enum crypto_status cs = crypto_cert_info(cert_pem, len, &ci);
	if (cs != CRYPTO_OK)
		return cs == CRYPTO_ENOMEM ? ACME_E_NOMEM : ACME_E_INVAL;
	enum acme_status st = acme_ari_certid_parts(ci.aki, ci.aki_len, ci.serial,
	                                            ci.serial_len, out);
	crypto_cert_info_free(&ci);
	return st;
}

enum acme_status acme_dns01_value(const char *token, const char *thumbprint,
                                  char out[44])
{
	out[0] = '\0';
	if (!token || !thumbprint)
		return ACME_E_INVAL;
	size_t tl = strlen(token), hl = strlen(thumbprint);
	if (tl == 0 || tl > 512 || hl != 43)
		return ACME_E_INVAL;
	char buf[512 + 1 + 43 + 1];
	memcpy(buf, token, tl);
	buf[tl] = '.';
	memcpy(buf + tl + 1, thumbprint, hl);
	unsigned char dg[32];
	crypto_sha256(buf, tl + 1 + hl, dg);
	/* The key authorization is a secret until validated: wipe it. */
	memset(buf, 0, sizeof(buf));
	char *b = crypto_b64url_encode(dg, sizeof(dg));
	if (!b)
		return ACME_E_NOMEM;
	memcpy(out, b, 44);
	free(b);
	return ACME_OK;
}

/* ------------------------------------------------------------ options */

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

int acme_opts_defaults(struct acme_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->directory_url = strdup(ACME_DEFAULT_DIRECTORY);
	o->key_type = CRYPTO_KEY_P256;
	o->cert_key_type = CRYPTO_KEY_P256;
	o->connect_timeout_ms = 5000;
	o->timeout_ms = 30000;
	o->max_response_bytes = 1024 * 1024;
	o->bad_nonce_retries = 10;
	o->poll_default_ms = 1000;
	return o->directory_url ? 0 : -1;
}

void acme_opts_free(struct acme_opts *o)
{
	if (!o)
		return;
	free(o->directory_url);
	free(o->ca_bundle);
	free(o->contact_email);
	free(o->eab_kid);
	if (o->eab_hmac)
		crypto_free_secret(o->eab_hmac);
	free(o->kek_file);
	free(o->preferred_chain);
	free(o->profile);
	memset(o, 0, sizeof(*o));
}

char *acme_read_secret_file(const char *path)
{
	char buf[4097];
	char *s = NULL;
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (n < sizeof(buf)) {
		while (n > 0 && isspace((unsigned char)buf[n - 1]))
			n--;
		buf[n] = '\0';
		s = strdup(buf);
	}
	explicit_bzero(buf, sizeof(buf));
	return s;
}

int acme_cfg_load(struct cfg *c, struct acme_opts *o)
{
	if (acme_opts_defaults(o) != 0)
		return -1;
	const char *s = cfg_str(c, "acme.directory", ACME_DEFAULT_DIRECTORY);
	if (!url_ok(s))
		cfg_fail(c, "acme.directory", "must be an https:// URL (over plain http "
		         "anyone on the path could read and change the CA's answers)");
	else {
		free(o->directory_url);
		o->directory_url = strdup(s);
	}
	o->ca_bundle = xstrdup(cfg_str(c, "acme.ca_bundle", NULL));
	s = cfg_str(c, "acme.key_type", "p256");
	int t = crypto_key_type_parse(s);
	if (t < 0 || t == CRYPTO_KEY_RSA3072)
		cfg_fail(c, "acme.key_type", "expected es256, es384 or rs256 (got %s)", s);
	else
		o->key_type = (enum crypto_key_type)t;
	s = cfg_str(c, "acme.cert_key_type", "p256");
	t = crypto_key_type_parse(s);
	if (t < 0)
		cfg_fail(c, "acme.cert_key_type",
		         "expected p256, p384, rsa2048 or rsa3072 (got %s)", s);
	else
		o->cert_key_type = (enum crypto_key_type)t;
	o->contact_email = xstrdup(cfg_str(c, "acme.email", NULL));
	o->eab_kid = xstrdup(cfg_str(c, "acme.eab_kid", NULL));
	s = cfg_str(c, "acme.eab_hmac", NULL);
	const char *hf = cfg_str(c, "acme.eab_hmac_file", NULL);
	if (s) {
		o->eab_hmac = strdup(s);
	} else if (hf) {
		o->eab_hmac = acme_read_secret_file(hf);
		if (!o->eab_hmac)
			cfg_fail(c, "acme.eab_hmac_file", "cannot read %s", hf);
	}
	o->kek_file = xstrdup(cfg_str(c, "acme.kek_file", NULL));
	o->allow_plaintext_keys = cfg_bool(c, "acme.allow_plaintext_keys", false);
	o->preferred_chain = xstrdup(cfg_str(c, "acme.preferred_chain", NULL));
	o->profile = xstrdup(cfg_str(c, "acme.profile", NULL));
	o->connect_timeout_ms = (long)cfg_int(c, "acme.connect_timeout_ms", 5000,
	                                      100, 120000);
	o->timeout_ms = (long)cfg_int(c, "acme.timeout_ms", 30000, 100, 600000);
	o->max_response_bytes = (size_t)cfg_int(c, "acme.max_response_bytes",
	                                        1024 * 1024, 16 * 1024,
	                                        64 * 1024 * 1024);
	o->bad_nonce_retries = (int)cfg_int(c, "acme.bad_nonce_retries", 10, 0, 100);
	o->poll_default_ms = (long)cfg_int(c, "acme.poll_default_ms", 1000, 10,
	                                   600000);
	return cfg_error(c) ? -1 : 0;
}

/* ------------------------------------------------------------- client */

enum acme_status acme_client_new(const struct acme_opts *opts,
                                 struct acme_client **out)
{
	*out = NULL;
	if (!opts || !opts->directory_url)
		return ACME_E_INVAL;
	if (!url_ok(opts->directory_url))
		return url_check(opts->directory_url) == ACME_E_INSECURE ? ACME_E_INSECURE
		                                                         : ACME_E_INVAL;
	struct acme_client *c = calloc(1, sizeof(*c));
	if (!c)
		return ACME_E_NOMEM;
	c->opts = *opts;
	c->opts.directory_url = xstrdup(opts->directory_url);
	c->opts.ca_bundle = xstrdup(opts->ca_bundle);
	c->opts.contact_email = xstrdup(opts->contact_email);
	c->opts.eab_kid = xstrdup(opts->eab_kid);
	c->opts.eab_hmac = xstrdup(opts->eab_hmac);
	c->opts.kek_file = xstrdup(opts->kek_file);
	c->opts.preferred_chain = xstrdup(opts->preferred_chain);
	c->opts.profile = xstrdup(opts->profile);
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

/* Records a failure of our own making (no CA problem document). */
static enum acme_status fail(struct acme_client *c, enum acme_status st,
                             const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum acme_status fail(struct acme_client *c, enum acme_status st,
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
		return fail(c, st, "the CA sent %s naming a URL that is not https://", what);
	return fail(c, st, "the CA sent %s that does not parse", what);
}

static void ok(struct acme_client *c)
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

/* One HTTP exchange.  Transport failures and HTTP >= 400 become the last
 * problem; a Replay-Nonce is kept for the next request. */
static enum acme_status exchange(struct acme_client *c, const char *method,
                                 const char *url, const char *body,
                                 const char *accept, struct acme_http_resp *r)
{
	char err[256];
	memset(r, 0, sizeof(*r));
	/* the one door every request passes: nothing leaves but over TLS */
	enum acme_status us = url_check(url);
	if (us != ACME_OK)
		return fail(c, us, "refused to %s %.200s: not an https:// URL", method,
		            url ? url : "(none)");
	enum acme_http_status hs = acme_http_do(c->http, method, url, body, accept,
	                                        r, err, sizeof(err));
	if (hs != ACME_HTTP_OK)
		return fail(c, http_status_map(hs), "%s %s: %s", method, url, err);
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
	ok(c);
	return ACME_OK;
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
	st = exchange(c, "GET", c->opts.directory_url, NULL, "application/json", &r);
	if (st != ACME_OK)
		goto out;
	if (r.code != 200) {
		st = fail(c, ACME_E_PROTOCOL, "directory: HTTP %ld", r.code);
		goto out;
	}
	st = acme_directory_parse(r.body, r.body_len, &c->dir);
	if (st == ACME_E_INSECURE) {
		fail(c, st, "the directory at %s names a URL that is not https://",
		     c->opts.directory_url);
		goto out;
	}
	if (st != ACME_OK) {
		fail(c, st, "directory at %s is not a valid ACME directory",
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
	st = exchange(c, "HEAD", d->new_nonce, NULL, NULL, &r);
	if (st == ACME_OK && !c->nonce)
		st = fail(c, ACME_E_PROTOCOL, "newNonce gave no Replay-Nonce");
	acme_http_resp_free(&r);
	return st;
}

/* A JWS-signed POST of PAYLOAD ("" for POST-as-GET) to URL, with the
 * account's kid, or with its jwk when USE_JWK.  On badNonce the request is
 * signed again with the nonce from the error response, at most
 * bad_nonce_retries times.  *R is filled on ACME_OK (caller frees). */
static enum acme_status signed_post(struct acme_client *c, const char *url,
                                    const char *payload, bool use_jwk,
                                    const char *accept,
                                    struct acme_http_resp *r)
{
	enum acme_status st = ACME_OK;
	memset(r, 0, sizeof(*r));
	if (!c->key || (!use_jwk && !c->kid))
		return fail(c, ACME_E_INVAL, "no account set");
	if (url_check(url) != ACME_OK)
		return fail(c, url_check(url), "refused to POST to %.200s: not an "
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
			return fail(c, ACME_E_CRYPTO, "cannot sign: %s",
			            crypto_strerror(cs));
		st = exchange(c, "POST", url, body, accept, r);
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

/* Serialises OBJ (stolen) as a payload string; NULL on failure. */
static char *payload_of(json_t *obj)
{
	char *s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	json_decref(obj);
	return s;
}

enum acme_status acme_account_register(struct acme_client *c,
                                       const char *contact,
                                       const char *eab_kid,
                                       const char *eab_hmac,
                                       bool only_existing)
{
	const struct acme_directory *d;
	struct acme_http_resp r = { 0 };
	json_t *req = NULL, *eab = NULL, *jwk = NULL;
	char *payload = NULL, *jwk_text = NULL;
	unsigned char *mac = NULL;
	size_t maclen = 0;
	enum acme_status st = acme_directory(c, &d);
	if (st != ACME_OK)
		goto out;
	if (!c->key) {
		st = fail(c, ACME_E_INVAL, "no account key");
		goto out;
	}
	req = json_object();
	if (!req) {
		st = fail(c, ACME_E_NOMEM, "out of memory");
		goto out;
	}
	if (only_existing) {
		json_object_set_new(req, "onlyReturnExisting", json_true());
	} else {
		json_object_set_new(req, "termsOfServiceAgreed", json_true());
		if (contact && *contact) {
			if (strlen(contact) > 254 || strchr(contact, ',') ||
			    !strchr(contact, '@')) {
				st = fail(c, ACME_E_INVAL, "bad contact address");
				goto out;
			}
			char mailto[300];
			snprintf(mailto, sizeof(mailto), "mailto:%s", contact);
			json_object_set_new(req, "contact", json_pack("[s]", mailto));
		}
		if (eab_kid && eab_hmac) {
			if (crypto_b64url_decode(eab_hmac, strlen(eab_hmac), &mac,
			                         &maclen) != CRYPTO_OK || maclen == 0) {
				st = fail(c, ACME_E_INVAL,
				          "EAB HMAC key is not base64url");
				goto out;
			}
			jwk = crypto_key_jwk(c->key);
			jwk_text = jwk ? json_dumps(jwk, JSON_COMPACT) : NULL;
			json_t *prot = json_pack("{ssss}", "kid", eab_kid,
			                         "url", d->new_account);
			enum crypto_status cs = (prot && jwk_text)
				? crypto_jws(NULL, mac, maclen, prot, jwk_text, &eab)
				: CRYPTO_ENOMEM;
			json_decref(prot);
			if (cs != CRYPTO_OK) {
				st = fail(c, ACME_E_CRYPTO, "EAB: %s", crypto_strerror(cs));
				goto out;
			}
			json_object_set_new(req, "externalAccountBinding", eab);
			eab = NULL;
		} else if (d->eab_required) {
			st = fail(c, ACME_E_EAB,
			          "this CA requires external account binding "
			          "(an EAB key id and HMAC key: dcvctl account register "
			          "--eab-kid K --eab-hmac-file F)");
			goto out;
		}
	}
	payload = payload_of(req);
	req = NULL;
	if (!payload) {
		st = fail(c, ACME_E_NOMEM, "out of memory");
		goto out;
	}
	st = signed_post(c, d->new_account, payload, true, NULL, &r);
	/* A refused binding comes back as unauthorized or malformed: name it,
	 * keeping the CA's detail. */
	if (mac && (st == ACME_E_UNAUTHORIZED || st == ACME_E_MALFORMED))
		st = c->prob.status = ACME_E_EAB;
	if (st != ACME_OK)
		goto out;
	if ((r.code != 200 && r.code != 201) || !r.location) {
		st = fail(c, ACME_E_PROTOCOL, "newAccount: HTTP %ld without Location",
		          r.code);
		goto out;
	}
	if ((st = url_check(r.location)) != ACME_OK) {
		fail(c, st, "newAccount: the account URL (Location) is not https://");
		goto out;
	}
	st = acme_set_account(c, c->key, r.location);
out:
	acme_http_resp_free(&r);
	if (mac) {
		memset(mac, 0, maclen);
		free(mac);
	}
	free(jwk_text);
	json_decref(jwk);
	json_decref(eab);
	json_decref(req);
	free(payload);
	return st;
}

enum acme_status acme_account_deactivate(struct acme_client *c)
{
	struct acme_http_resp r;
	char *payload = payload_of(json_pack("{ss}", "status", "deactivated"));
	if (!payload)
		return fail(c, ACME_E_NOMEM, "out of memory");
	enum acme_status st = signed_post(c, c->kid, payload, false, NULL, &r);
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
		st = fail(c, ACME_E_UNSUPPORTED, "the directory has no keyChange");
		goto out;
	}
	if (!c->kid || !new_key) {
		st = fail(c, ACME_E_INVAL, "no account or no new key");
		goto out;
	}
	old_jwk = crypto_key_jwk(c->key);
	inner_payload = payload_of(json_pack("{sssO}", "account", c->kid,
	                                     "oldKey", old_jwk));
	prot = json_pack("{soss}", "jwk", crypto_key_jwk(new_key),
	                 "url", d->key_change);
	if (!inner_payload || !prot ||
	    crypto_jws(new_key, NULL, 0, prot, inner_payload, &inner) != CRYPTO_OK) {
		st = fail(c, ACME_E_CRYPTO, "cannot sign the keyChange request");
		goto out;
	}
	payload = json_dumps(inner, JSON_COMPACT);
	if (!payload) {
		st = fail(c, ACME_E_NOMEM, "out of memory");
		goto out;
	}
	st = signed_post(c, d->key_change, payload, false, NULL, &r);
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
	return fail(c, ACME_E_INVALID, "order is %s", o->status);
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
		st = fail(c, ACME_E_INVAL, "an order needs 1 to %d identifiers",
		          ACME_MAX_AUTHZ);
		goto out;
	}
	ids = json_array();
	for (size_t i = 0; ids && i < n; i++)
		json_array_append_new(ids, json_pack("{ssss}", "type", "dns",
		                                     "value", names[i]));
	req = json_pack("{sO}", "identifiers", ids);
	if (!req) {
		st = fail(c, ACME_E_NOMEM, "out of memory");
		goto out;
	}
	if (!profile)
		profile = c->opts.profile;
	if (profile && *profile && d->n_profiles > 0) {
		bool known = false;
		for (size_t i = 0; i < d->n_profiles; i++)
			known |= strcmp(d->profiles[i].name, profile) == 0;
		if (!known) {
			st = fail(c, ACME_E_UNSUPPORTED,
			          "the CA does not offer profile \"%s\"", profile);
			goto out;
		}
		json_object_set_new(req, "profile", json_string(profile));
	}
	if (replaces && *replaces && d->renewal_info)
		json_object_set_new(req, "replaces", json_string(replaces));
	payload = payload_of(req);
	req = NULL;
	if (!payload) {
		st = fail(c, ACME_E_NOMEM, "out of memory");
		goto out;
	}
	st = signed_post(c, d->new_order, payload, false, NULL, &r);
	if (st != ACME_OK)
		goto out;
	if (r.code != 201 || !r.location) {
		st = fail(c, ACME_E_PROTOCOL, "newOrder: HTTP %ld without Location",
		          r.code);
		goto out;
	}
	if ((st = url_check(r.location)) != ACME_OK) {
		fail(c, st, "newOrder: the order URL (Location) is not https://");
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
		st = fail(c, ACME_E_NOMEM, "out of memory");
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
	enum acme_status st = signed_post(c, order->url, "", false, NULL, &r);
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
	enum acme_status st = signed_post(c, url, "", false, NULL, &r);
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
	enum acme_status st = signed_post(c, url, "", false, NULL, &r);
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
		st = fail(c, ACME_E_INVALID, "authorization for %s is %s",
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
		return fail(c, ACME_E_INVAL, "no account key");
	if (crypto_key_thumbprint(c->key, tp) != CRYPTO_OK)
		return fail(c, ACME_E_CRYPTO, "cannot compute the thumbprint");
	return acme_dns01_value(token, tp, out);
}

enum acme_status acme_challenge_respond(struct acme_client *c, const char *url)
{
	struct acme_http_resp r;
	enum acme_status st = signed_post(c, url, "{}", false, NULL, &r);
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
		return fail(c, ACME_E_INVAL, "order has no finalize URL, or no CSR");
	payload = payload_of(json_pack("{ss}", "csr", csr_b64));
	if (!payload) {
		st = fail(c, ACME_E_NOMEM, "out of memory");
		goto out;
	}
	st = signed_post(c, order->finalize, payload, false, NULL, &r);
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
		return fail(c, ACME_E_INVAL, "order has no finalize URL or identifiers");
	enum crypto_status cs = crypto_csr_new(c->opts.cert_key_type,
	                                       (const char *const *)order->identifiers,
	                                       order->n_identifiers, &csr, key_pem);
	if (cs != CRYPTO_OK) {
		st = fail(c, ACME_E_CRYPTO, "CSR: %s", crypto_strerror(cs));
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

/* POST-as-GET of a chain; *ALTS gets copies of its rel="alternate" URLs. */
static enum acme_status fetch_chain(struct acme_client *c, const char *url,
                                    char **pem, char **alts, size_t *n_alts)
{
	struct acme_http_resp r;
	*pem = NULL;
	enum acme_status st = signed_post(c, url, "", false,
	                                  "application/pem-certificate-chain", &r);
	if (st != ACME_OK)
		return st;
	if (r.code != 200 || r.body_len == 0 || r.body_len > CRYPTO_CHAIN_MAX ||
	    !strstr(r.body, "-----BEGIN CERTIFICATE-----")) {
		st = fail(c, ACME_E_PROTOCOL, "certificate: HTTP %ld, not a PEM chain",
		          r.code);
		goto out;
	}
	/* only https:// alternates are followed (exchange() refuses the others) */
	for (size_t i = 0; alts && i < r.n_links; i++)
		if (strcmp(r.link_rel[i], "alternate") == 0 && url_ok(r.link_url[i]))
			alts[(*n_alts)++] = strdup(r.link_url[i]);
	*pem = r.body;
	r.body = NULL;
out:
	acme_http_resp_free(&r);
	return st;
}

/* crypto_chain_check() of PEM, as the last problem when it fails. */
static enum acme_status chain_check(struct acme_client *c, const char *pem,
                                    const char *key_pem, const char *const *names,
                                    size_t n)
{
	char why[256];
	enum crypto_status cs = crypto_chain_check(pem, strlen(pem), key_pem, names, n,
	                                           why, sizeof(why));
	if (cs == CRYPTO_OK)
		return ACME_OK;
	if (cs == CRYPTO_ENOMEM)
		return fail(c, ACME_E_NOMEM, "out of memory");
	if (cs == CRYPTO_EINVAL)
		return fail(c, ACME_E_INVAL, "certificate check: %s", why);
	return fail(c, ACME_E_BADCERT, "refused the CA's certificate: %s", why);
}

enum acme_status acme_cert_download(struct acme_client *c, const char *cert_url,
                                    const char *key_pem,
                                    const char *const *names, size_t n,
                                    char **pem)
{
	char *alts[ACME_HTTP_MAX_LINKS] = { 0 };
	size_t n_alts = 0;
	const char *pref = c->opts.preferred_chain;
	enum acme_status st = fetch_chain(c, cert_url, pem, pref ? alts : NULL,
	                                  &n_alts);
	if (st == ACME_OK)
		st = chain_check(c, *pem, key_pem, names, n);
	if (st != ACME_OK) {
		free(*pem);
		*pem = NULL;
		goto out;
	}
	if (!pref || !*pref || crypto_chain_has_issuer(*pem, strlen(*pem), pref))
		goto out;
	for (size_t i = 0; i < n_alts; i++) {
		char *alt = NULL;
		if (!alts[i] || fetch_chain(c, alts[i], &alt, NULL, NULL) != ACME_OK)
			continue;
		if (crypto_chain_has_issuer(alt, strlen(alt), pref) &&
		    chain_check(c, alt, key_pem, names, n) == ACME_OK) {
			free(*pem);
			*pem = alt;
			break;
		}
		free(alt);
	}
	ok(c); /* no preferred chain is not a failure: the default stays */
out:
	for (size_t i = 0; i < n_alts; i++)
		free(alts[i]);
	return st;
}

enum acme_status acme_revoke(struct acme_client *c, const char *cert_pem,
                             int reason)
{
	const struct acme_directory *d;
	struct acme_http_resp r = { 0 };
	char *der = NULL, *payload = NULL;
	enum acme_status st = acme_directory(c, &d);
	if (st != ACME_OK)
		goto out;
	if (!d->revoke_cert) {
		st = fail(c, ACME_E_UNSUPPORTED, "the directory has no revokeCert");
		goto out;
	}
	if (reason < -1 || reason > 10 || reason == 7) {
		st = fail(c, ACME_E_INVAL, "revocation reason %d is not valid", reason);
		goto out;
	}
	if (!cert_pem ||
	    crypto_cert_der_b64(cert_pem, strlen(cert_pem), &der) != CRYPTO_OK) {
		st = fail(c, ACME_E_INVAL, "not a PEM certificate");
		goto out;
	}
	json_t *req = json_pack("{ss}", "certificate", der);
	if (req && reason >= 0)
		json_object_set_new(req, "reason", json_integer(reason));
	payload = payload_of(req);
	if (!payload) {
		st = fail(c, ACME_E_NOMEM, "out of memory");
		goto out;
	}
	st = signed_post(c, d->revoke_cert, payload, false, NULL, &r);
out:
	acme_http_resp_free(&r);
	free(der);
	free(payload);
	return st;
}

enum acme_status acme_renewal_info_by_id(struct acme_client *c, const char *certid,
                                         struct acme_renewal_info *out)
{
	const struct acme_directory *d;
	struct acme_http_resp r = { 0 };
	char *url = NULL;
	memset(out, 0, sizeof(*out));
	out->retry_after_ms = -1;
	enum acme_status st = acme_directory(c, &d);
	if (st != ACME_OK)
		goto out;
	if (!d->renewal_info) {
		st = fail(c, ACME_E_UNSUPPORTED, "the directory has no renewalInfo");
		goto out;
	}
	/* base64url "." base64url: nothing else goes into the URL */
	size_t il = certid ? strlen(certid) : 0;
	if (il == 0 || il > 512 || strspn(certid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                                          "0123456789-_.") != il) {
		st = fail(c, ACME_E_INVAL, "not an ARI certificate identifier");
		goto out;
	}
	size_t bl = strlen(d->renewal_info);
	bool slash = bl > 0 && d->renewal_info[bl - 1] == '/';
	url = malloc(bl + il + 2);
	if (!url) {
		st = fail(c, ACME_E_NOMEM, "out of memory");
		goto out;
	}
	sprintf(url, "%s%s%s", d->renewal_info, slash ? "" : "/", certid);
	st = exchange(c, "GET", url, NULL, "application/json", &r);
	if (st != ACME_OK)
		goto out;
	st = acme_renewal_info_parse(r.body, r.body_len, out);
	if (st != ACME_OK) {
		fail(c, st, "the CA sent renewal information that does not parse");
		goto out;
	}
	long long ms;
	if (r.retry_after && acme_retry_after_parse(r.retry_after, time(NULL), &ms))
		out->retry_after_ms = ms;
out:
	acme_http_resp_free(&r);
	free(url);
	return st;
}

enum acme_status acme_renewal_info(struct acme_client *c, const char *cert_pem,
                                   struct acme_renewal_info *out)
{
	char *id = NULL;
	memset(out, 0, sizeof(*out));
	out->retry_after_ms = -1;
	enum acme_status st = acme_ari_certid(cert_pem, cert_pem ? strlen(cert_pem) : 0, &id);
	if (st != ACME_OK)
		return fail(c, st, "cannot compute the ARI certificate identifier "
		                   "(no authority key identifier?)");
	st = acme_renewal_info_by_id(c, id, out);
	free(id);
	return st;
}
