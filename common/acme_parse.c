#define _XOPEN_SOURCE 700 /* strptime */
/* acme_parse: the pure parts of the ACME client (acme.h): status names,
 * problem documents, Retry-After and RFC 3339 times, the directory, order,
 * authorization and renewal-information parsers, the ARI certificate
 * identifier and the DNS-01 value.  Bytes in, struct out: no I/O. */
#include "acme.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "acme_internal.h"

/* Largest JSON document any parser accepts. */
#define ACME_JSON_MAX (256 * 1024)

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
	/* step-ca's answer to keyChange */
	{ "notImplemented", ACME_E_UNSUPPORTED },
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

enum acme_status acme_url_check(const char *u)
{
	if (!u || !*u || strlen(u) > ACME_URL_MAX)
		return ACME_E_PROTOCOL;
	if (strncmp(u, "https://", 8) != 0)
		return strstr(u, "://") ? ACME_E_INSECURE : ACME_E_PROTOCOL;
	return u[8] ? ACME_OK : ACME_E_PROTOCOL;
}

/* The worst verdict of acme_url_check() over the N URLs of V that are set
 * (NULL ones are skipped: optional members). */
static enum acme_status urls_check(const char *const *v, size_t n)
{
	enum acme_status st = ACME_OK;
	for (size_t i = 0; i < n; i++) {
		enum acme_status u = v[i] ? acme_url_check(v[i]) : ACME_OK;
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
	if (out->dns01_url && (st = acme_url_check(out->dns01_url)) != ACME_OK)
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
