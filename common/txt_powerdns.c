/*
 * txt_powerdns: TXT values through the PowerDNS Authoritative HTTP API.
 *
 * The API replaces whole RRsets, so add and remove read the TXT RRset at the
 * name, merge (add the value if missing / drop it if present) and PATCH the
 * result back with changetype REPLACE (DELETE when no value is left).  When
 * nothing needs to change no PATCH is sent: that is the idempotency.
 *
 * Limit: the read-merge-write is not atomic on the server side.  Two
 * writers for the same name at the same instant can lose one value; the
 * propagation check that follows every add (and the stage's retry) catches
 * that, and the window is one HTTP round trip.
 */
#include "txt_provider_impl.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "deadline.h"
#include "http_body.h"
#include "txt_answer.h"

#define PDNS_BODY_MAX (16u << 20)  /* largest API answer read */

struct powerdns {
	struct txt_provider base;     /* must be first */
	char zone_id[DNAME_MAX + 2];  /* "zone." */
};

/* One request.  Returns the HTTP status, or -1 on transport failure (MSG
 * says why).  BODY (set up by the caller with http_body_init()) gets the answer
 * (caller frees it with http_body_free()). */
static long request(struct powerdns *p, const char *method, const char *url,
                    const char *payload, struct http_body *body, char *msg,
                    size_t msglen)
{
	const struct txt_provider_opts *o = &p->base.o;
	struct curl_slist *hdr = NULL, *h2;
	char keyhdr[TXT_SECRET_MAX + 16];
	long timeout = (long)deadline_left(p->base.deadline, o->timeout_ms);
	CURL *c = timeout > 0 ? curl_easy_init() : NULL;
	long code = -1;
	CURLcode cc;

	if (timeout <= 0) {
		snprintf(msg, msglen, "powerdns: %s %s: not sent: the job's deadline "
		         "had passed", method, url);
		return -1;
	}
	if (!c) {
		snprintf(msg, msglen, "powerdns: curl init failed");
		return -1;
	}
	snprintf(keyhdr, sizeof keyhdr, "X-API-Key: %s", o->api_key);
	h2 = curl_slist_append(hdr, keyhdr);
	explicit_bzero(keyhdr, sizeof keyhdr);
	if (!h2)
		goto out;
	hdr = h2;
	if (payload) {
		h2 = curl_slist_append(hdr, "Content-Type: application/json");
		if (!h2)
			goto out;
		hdr = h2;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_body_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	if (payload)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		const char *why = curl_easy_strerror(cc);
		if (body->toobig)
			why = "answer too large";
		else if (cc == CURLE_OPERATION_TIMEDOUT && timeout < o->timeout_ms)
			why = "no answer by the job's deadline";   /* cut by it */
		snprintf(msg, msglen, "powerdns: %s %s: %s", method, url, why);
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
out:
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	return code;
}

enum txt_status txt_powerdns_status(long code, const char *body, size_t len,
                                    const char *what, char *msg,
                                    size_t msglen)
{
	char err[160] = "";
	json_t *j;

	if (code >= 200 && code < 300)
		return TXT_OK;
	j = body ? json_loadb(body, len, 0, NULL) : NULL;
	if (j) {
		/* the API's own words, as printable text only: they reach logs,
		 * last_error and a terminal */
		const char *e = json_string_value(json_object_get(j, "error"));
		for (size_t i = 0; e && e[i] && i + 1 < sizeof(err); i++)
			err[i] = ((unsigned char)e[i] < 0x20 || e[i] == 0x7f) ? '?' : e[i];
	}
	snprintf(msg, msglen, "powerdns: %s: HTTP %ld%s%s%s", what, code,
	         err[0] ? " (" : "", err, err[0] ? ")" : "");
	json_decref(j);
	if (code == 401 || code == 403)
		return TXT_PERMANENT; /* API key refused */
	if (code == 404 || code == 422 || code == 400)
		return TXT_PERMANENT; /* zone unknown, or data refused */
	return TXT_TRANSIENT;     /* 5xx, 429, ... */
}

/* The unquoted TXT text of a PowerDNS record content ("\"abc\"" -> abc);
 * NULL if it is not one plain quoted string. */
static const char *unquote(const char *content, char *out, size_t outlen)
{
	size_t n = strlen(content);
	if (n < 2 || content[0] != '"' || content[n - 1] != '"' ||
	    n - 2 >= outlen)
		return NULL;
	memcpy(out, content + 1, n - 2);
	out[n - 2] = '\0';
	return out;
}

/* The PowerDNS "records" array of the N values VALS: quoted, or as they
 * were for the ones marked verbatim (a leading \x01).  NULL when out of
 * memory. */
static json_t *records_of(const char vals[][TXT_VALUE_MAX + 1], int n)
{
	json_t *records = json_array();
	for (int v = 0; records && v < n; v++) {
		char content[TXT_VALUE_MAX + 4];
		bool verbatim = vals[v][0] == '\x01';
		const char *src = verbatim ? vals[v] + 1 : vals[v];
		size_t l = strlen(src), k = 0; /* l <= TXT_VALUE_MAX */
		if (!verbatim)
			content[k++] = '"';
		memcpy(content + k, src, l);
		k += l;
		if (!verbatim)
			content[k++] = '"';
		content[k] = '\0';
		json_array_append_new(records, json_pack("{s:s,s:b}", "content",
		                                         content, "disabled", 0));
	}
	return records;
}

/* Appends the records of the TXT RRSET to VALS (*NVALS of them so far);
 * *FOUND gets the index of VALUE when it is among them.  TXT_PERMANENT with
 * MSG set when they do not fit (NAME says where). */
static enum txt_status read_rrset(json_t *rrset, char vals[][TXT_VALUE_MAX + 1],
                                  int *nvals, const char *value, int *found,
                                  const char *name, char *msg, size_t msglen)
{
	size_t k;
	json_t *rec;

	json_array_foreach(json_object_get(rrset, "records"), k, rec) {
		const char *ct = json_string_value(json_object_get(rec, "content"));
		char text[TXT_VALUE_MAX + 1];
		if (!ct)
			continue;
		if (*nvals >= PDNS_VALUES_MAX) {
			snprintf(msg, msglen, "powerdns: more than %d TXT values "
			         "at %s", PDNS_VALUES_MAX, name);
			return TXT_PERMANENT;
		}
		/* Values not in the simple quoted form are kept verbatim,
		 * marked by a leading \x01; one too long to keep whole
		 * stops us, as rewriting it cut would corrupt it. */
		if (unquote(ct, text, sizeof text)) {
			memcpy(vals[*nvals], text, strlen(text) + 1);
		} else if (strlen(ct) + 1 < sizeof vals[0]) {
			vals[*nvals][0] = '\x01';
			memcpy(vals[*nvals] + 1, ct, strlen(ct) + 1);
		} else {
			snprintf(msg, msglen, "powerdns: a TXT record at %s is "
			         "too long to preserve", name);
			return TXT_PERMANENT;
		}
		if (strcmp(vals[*nvals], value) == 0)
			*found = *nvals;
		(*nvals)++;
	}
	return TXT_OK;
}

enum txt_status txt_powerdns_merge(const char *body, size_t len,
                                   const char *fqdn, const char *name,
                                   const char *value, bool add, int ttl_add,
                                   char **payload, char *msg, size_t msglen)
{
	enum txt_status rc = TXT_TRANSIENT;
	json_t *zone = NULL, *patch = NULL, *records = NULL;
	char vals[PDNS_VALUES_MAX][TXT_VALUE_MAX + 1];
	int nvals = 0, found = -1;
	long ttl = ttl_add;
	size_t i;
	json_t *rrset;

	*payload = NULL;
	zone = body ? json_loadb(body, len, 0, NULL) : NULL;
	if (!zone || !json_is_array(json_object_get(zone, "rrsets"))) {
		rc = TXT_TRANSIENT;
		snprintf(msg, msglen, "powerdns: zone answer is not the JSON "
		         "expected");
		goto out;
	}
	json_array_foreach(json_object_get(zone, "rrsets"), i, rrset) {
		const char *rn = json_string_value(json_object_get(rrset, "name"));
		const char *rt = json_string_value(json_object_get(rrset, "type"));
		if (!rn || !rt || strcasecmp(rn, fqdn) || strcmp(rt, "TXT"))
			continue;
		if (json_is_integer(json_object_get(rrset, "ttl")))
			ttl = (long)json_integer_value(json_object_get(rrset, "ttl"));
		rc = read_rrset(rrset, vals, &nvals, value, &found, name, msg, msglen);
		if (rc != TXT_OK)
			goto out;
	}
	if ((add && found >= 0) || (!add && found < 0)) {
		rc = TXT_OK; /* already as wanted */
		goto out;
	}
	if (add) {
		if (nvals >= PDNS_VALUES_MAX) {
			rc = TXT_PERMANENT;
			snprintf(msg, msglen, "powerdns: too many TXT values at %s",
			         name);
			goto out;
		}
		snprintf(vals[nvals++], sizeof vals[0], "%s", value);
	} else {
		/* every copy of it: an answer may list the value twice (found
		 * by tests/fuzz/fuzz_powerdns), and one left is not removed */
		int kept = 0;
		for (int v = 0; v < nvals; v++)
			if (strcmp(vals[v], value) != 0)
				memcpy(vals[kept++], vals[v], sizeof vals[0]);
		nvals = kept;
	}
	records = records_of(vals, nvals);
	patch = json_pack("{s:[{s:s,s:s,s:I,s:s,s:o}]}", "rrsets", "name", fqdn,
	                  "type", "TXT", "ttl", (json_int_t)(add ? ttl_add : ttl),
	                  "changetype", nvals ? "REPLACE" : "DELETE", "records",
	                  records);
	records = NULL; /* stolen by json_pack's "o" */
	*payload = patch ? json_dumps(patch, JSON_COMPACT) : NULL;
	if (!*payload) {
		rc = TXT_TRANSIENT;
		snprintf(msg, msglen, "powerdns: out of memory");
		goto out;
	}
	rc = TXT_OK;
out:
	json_decref(patch);
	json_decref(records);
	json_decref(zone);
	return rc;
}

static enum txt_status change(struct powerdns *p, const char *name,
                              const char *value, bool add, char *msg,
                              size_t msglen)
{
	const struct txt_provider_opts *o = &p->base.o;
	enum txt_status rc = TXT_TRANSIENT;
	struct http_body b;
	char *payload = NULL, *ename = NULL;
	char url[TXT_URL_MAX + 3 * DNAME_MAX + 128], fqdn[DNAME_MAX + 2];
	long code;
	CURL *esc = curl_easy_init();

	http_body_init(&b, PDNS_BODY_MAX);
	snprintf(fqdn, sizeof fqdn, "%s.", name);
	ename = esc ? curl_easy_escape(esc, fqdn, 0) : NULL;
	if (!ename) {
		snprintf(msg, msglen, "powerdns: out of memory");
		goto out;
	}
	snprintf(url, sizeof url, "%s/api/v1/servers/%s/zones/%s?rrset_name=%s"
	         "&rrset_type=TXT", o->api_url, o->server_id, p->zone_id, ename);
	code = request(p, "GET", url, NULL, &b, msg, msglen);
	if (code < 0)
		goto out;
	rc = txt_powerdns_status(code, b.buf, b.len, "reading the zone", msg, msglen);
	if (rc != TXT_OK)
		goto out;
	rc = txt_powerdns_merge(b.buf, b.len, fqdn, name, value, add, o->ttl,
	                        &payload, msg, msglen);
	if (rc != TXT_OK || !payload)
		goto out; /* a failure, or nothing to change */
	snprintf(url, sizeof url, "%s/api/v1/servers/%s/zones/%s", o->api_url,
	         o->server_id, p->zone_id);
	http_body_free(&b);
	code = request(p, "PATCH", url, payload, &b, msg, msglen);
	if (code < 0) {
		rc = TXT_TRANSIENT;
		goto out;
	}
	rc = txt_powerdns_status(code, b.buf, b.len, add ? "adding the TXT value" :
	                         "removing the TXT value", msg, msglen);
out:
	http_body_free(&b);
	free(payload);
	curl_free(ename);
	curl_easy_cleanup(esc);
	return rc;
}

static enum txt_status pdns_add(struct txt_provider *base, const char *name,
                                const char *value, char *msg, size_t msglen)
{
	return change((struct powerdns *)base, name, value, true, msg, msglen);
}

static enum txt_status pdns_remove(struct txt_provider *base,
                                   const char *name, const char *value,
                                   char *msg, size_t msglen)
{
	return change((struct powerdns *)base, name, value, false, msg, msglen);
}

static void pdns_free(struct txt_provider *base)
{
	struct powerdns *p = (struct powerdns *)base;
	explicit_bzero(p->base.o.api_key, sizeof p->base.o.api_key);
	free(p);
}

static const struct txt_provider_ops powerdns_ops = {
	.name = "powerdns",
	.add = pdns_add,
	.remove = pdns_remove,
	.free = pdns_free,
};

struct txt_provider *txt_powerdns_new(const struct txt_provider_opts *o,
                                      char *err, size_t errlen)
{
	struct powerdns *p;

	if (!o->api_url[0] || !o->api_key[0] || !o->zone[0]) {
		snprintf(err, errlen, "powerdns: need api_url, api_key and zone");
		return NULL;
	}
	if (http_curl_init() != 0) {
		snprintf(err, errlen, "powerdns: curl init failed");
		return NULL;
	}
	p = calloc(1, sizeof *p);
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->base.ops = &powerdns_ops;
	p->base.o = *o;
	snprintf(p->zone_id, sizeof p->zone_id, "%s.", o->zone);
	return &p->base;
}
