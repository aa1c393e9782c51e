/*
 * txt_webhook: TXT values through an HTTPS POST to a receiver the operator
 * writes (Route 53, Cloudflare, Google Cloud DNS, an in-house API), with
 * the protocol of schemas/webhook.md.
 *
 * One request per add or remove: {"action":"present"|"cleanup", "name",
 * "value", "zone", "ttl", "id"}, signed with HMAC-SHA256 over "TIMESTAMP.BODY"
 * (X-DCV-Timestamp, X-DCV-Signature: sha256=HEX).  The receiver carries the
 * contract of txt_provider.h (one value added or removed, idempotent); this
 * side retries what is transient (no answer, 408, 429, 5xx) up to
 * provider.tries times, each try cut by the job's deadline, with a short
 * pause between.  Redirects are not followed (a 3xx is permanent: the URL
 * is wrong).  Messages name the receiver's origin (scheme, host, port),
 * never the path or query (which may hold a token) nor the secret.
 */
#include "txt_provider_impl.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "crypto.h"
#include "deadline.h"
#include "http_body.h"
#include "job.h"
#include "txt_answer.h"

struct webhook {
	struct txt_provider base;     /* must be first */
	char origin[TXT_URL_MAX];     /* scheme://host[:port], for messages */
	bool loopback;                /* the host is loopback: never a proxy */
};

char *txt_webhook_body(const char *action, const char *name,
                       const char *value, const char *zone, int ttl,
                       const char *id)
{
	json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:i,s:s}", "action", action,
	                      "name", name, "value", value, "zone", zone, "ttl",
	                      ttl, "id", id);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	return s;
}

int txt_webhook_sign(const char *key, size_t keylen, long long timestamp,
                     const char *body, size_t len, char out[65])
{
	char ts[24];
	int tl = snprintf(ts, sizeof ts, "%lld.", timestamp);
	unsigned char mac[32];
	char *input = malloc((size_t)tl + len + 1);
	int rc = -1;

	out[0] = '\0';
	if (!input)
		return -1;
	memcpy(input, ts, (size_t)tl);
	if (len)
		memcpy(input + tl, body, len);
	if (crypto_hmac_sha256((const unsigned char *)key, keylen, input,
	                       (size_t)tl + len, mac) == CRYPTO_OK) {
		for (int i = 0; i < 32; i++)
			snprintf(out + 2 * i, 3, "%02x", mac[i]);
		rc = 0;
	}
	explicit_bzero(mac, sizeof mac);
	free(input);
	return rc;
}

/* Whether HOST (no brackets, no port) is a loopback name or address: an
 * IPv4 address in 127.0.0.0/8 or ::1 as inet_pton() reads them (so no
 * "127.0.0.1.example" and no name that DNS would resolve), or localhost,
 * which libcurl resolves to loopback itself. */
static bool loopback_host(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, host, &a6) == 1 &&
	       memcmp(&a6, &in6addr_loopback, sizeof a6) == 0;
}

/* txt_webhook_url_check(), and *LOOPBACK: whether the host is loopback. */
static int check_url(const char *url, bool allow_http, char *origin,
                     bool *loopback, char *err, size_t errlen)
{
	const char *rest, *end, *hs, *he;
	char host[256];
	bool http;
	size_t n;

	origin[0] = '\0';
	if (strncasecmp(url, "https://", 8) == 0) {
		http = false;
		rest = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		http = true;
		rest = url + 7;
	} else {
		snprintf(err, errlen, "not an https:// URL");
		return -1;
	}
	end = rest + strcspn(rest, "/?#");
	n = (size_t)(end - rest);
	if (n == 0 || n >= sizeof host) {
		snprintf(err, errlen, "no host in the URL");
		return -1;
	}
	for (const char *p = rest; p < end; p++) {
		if (*p == '@') {
			snprintf(err, errlen, "user or password in the URL: give the "
			         "secret as webhook.secret or secret_file");
			return -1;
		}
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
			snprintf(err, errlen, "the URL's host has a space or a "
			         "control character");
			return -1;
		}
	}
	for (const char *p = end; *p; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
			snprintf(err, errlen, "the URL has a space or a control "
			         "character");
			return -1;
		}
	}
	/* the host without its port: [v6]:port or name:port */
	if (rest[0] == '[') {
		hs = rest + 1;
		he = memchr(hs, ']', (size_t)(end - hs));
		if (!he) {
			snprintf(err, errlen, "unclosed [ in the URL's host");
			return -1;
		}
	} else {
		hs = rest;
		he = memchr(rest, ':', n);
		if (!he)
			he = end;
	}
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = '\0';
	if (!host[0]) {
		snprintf(err, errlen, "no host in the URL");
		return -1;
	}
	*loopback = loopback_host(host);
	if (http && !allow_http && !*loopback) {
		snprintf(err, errlen, "http:// only to a loopback host (127.0.0.1, "
		         "[::1], localhost); use https://, or set "
		         "webhook.allow_http: true for a network you trust");
		return -1;
	}
	snprintf(origin, TXT_URL_MAX, "%.*s", (int)(end - url), url);
	return 0;
}

int txt_webhook_url_check(const char *url, bool allow_http, char *origin,
                          char *err, size_t errlen)
{
	bool loopback;

	return check_url(url, allow_http, origin, &loopback, err, errlen);
}

enum txt_status txt_webhook_status(long code, const char *body, size_t len,
                                   const char *origin, const char *what,
                                   char *msg, size_t msglen)
{
	char why[160] = "";
	json_t *j;
	const char *e = NULL;

	if (code >= 200 && code < 300)
		return TXT_OK;
	j = body && len ? json_loadb(body, len, 0, NULL) : NULL;
	if (j)
		e = json_string_value(json_object_get(j, "error"));
	if (e)
		txt_printable(why, sizeof why, e, strlen(e));
	else if (body && !j) { /* text: its first line */
		size_t l = 0;
		while (l < len && body[l] != '\n' && body[l] != '\r')
			l++;
		txt_printable(why, sizeof why, body, l);
	}
	json_decref(j);
	snprintf(msg, msglen, "webhook: %s: %s: HTTP %ld%s%s%s", origin, what,
	         code, why[0] ? " (" : "", why, why[0] ? ")" : "");
	if (code <= 0 || code == 408 || code == 429 || (code >= 500 && code < 600))
		return TXT_TRANSIENT;
	return TXT_PERMANENT;
}

/* One POST of BODY.  Returns the HTTP status, or 0 when no answer came
 * (MSG says why; transient).  ANSWER gets the response body. */
static long post(struct webhook *w, const char *body, struct http_body *answer,
                 char *msg, size_t msglen)
{
	const struct txt_provider_opts *o = &w->base.o;
	long timeout = (long)deadline_left(w->base.deadline, o->timeout_ms);
	struct curl_slist *hdr = NULL, *h2;
	char sig[65], line[128], tsline[64];
	long long ts = (long long)time(NULL);
	CURL *c = NULL;
	long code = 0;
	CURLcode cc;

	if (timeout <= 0) {
		snprintf(msg, msglen, "webhook: %s: not sent: the job's deadline "
		         "had passed", w->origin);
		return 0;
	}
	if (txt_webhook_sign(o->hook_secret, strlen(o->hook_secret), ts, body,
	                     strlen(body), sig) != 0 || !(c = curl_easy_init())) {
		snprintf(msg, msglen, "webhook: %s: out of memory", w->origin);
		return 0;
	}
	snprintf(tsline, sizeof tsline, "X-DCV-Timestamp: %lld", ts);
	snprintf(line, sizeof line, "X-DCV-Signature: sha256=%s", sig);
	const char *lines[] = {"Content-Type: application/json",
	                       "User-Agent: dcvfleet-webhook/1", "Expect:",
	                       tsline, line};
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		h2 = curl_slist_append(hdr, lines[i]);
		if (!h2) {
			snprintf(msg, msglen, "webhook: %s: out of memory", w->origin);
			goto out;
		}
		hdr = h2;
	}
	curl_easy_setopt(c, CURLOPT_URL, o->hook_url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_body_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, answer);
	if (o->hook_ca[0]) {  /* the only trust, not beside the system's CA path */
		curl_easy_setopt(c, CURLOPT_CAINFO, o->hook_ca);
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	}
	/* a receiver beside the worker is reached directly: an http_proxy or
	 * all_proxy in the environment would otherwise take the request (in
	 * clear, for an http:// URL) off the host */
	if (w->loopback)
		curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		const char *why = curl_easy_strerror(cc);
		if (answer->toobig)
			why = "answer longer than 64 KiB";
		else if (cc == CURLE_OPERATION_TIMEDOUT && timeout < o->timeout_ms)
			why = "no answer by the job's deadline";
		snprintf(msg, msglen, "webhook: %s: %s", w->origin, why);
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
out:
	explicit_bzero(sig, sizeof sig);
	explicit_bzero(line, sizeof line);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	return code;
}

static enum txt_status call(struct webhook *w, const char *action,
                            const char *name, const char *value, char *msg,
                            size_t msglen)
{
	const struct txt_provider_opts *o = &w->base.o;
	enum txt_status rc = TXT_TRANSIENT;

	for (int t = 0; t < o->tries; t++) {
		struct http_body a;
		char id[33], *body;
		long code;
		if (t > 0 && txt_pause(&w->base, 200 * t) != 0)
			break; /* the deadline: keep the last try's message */
		job_new_id(id);
		body = txt_webhook_body(action, name, value, o->zone, o->ttl, id);
		if (!body) {
			snprintf(msg, msglen, "webhook: out of memory");
			return TXT_TRANSIENT;
		}
		http_body_init(&a, WEBHOOK_BODY_MAX);
		code = post(w, body, &a, msg, msglen);
		rc = code > 0 ? txt_webhook_status(code, a.buf, a.len, w->origin,
		                                   action, msg, msglen)
		              : TXT_TRANSIENT;
		http_body_free(&a);
		free(body);
		if (rc != TXT_TRANSIENT)
			break;
	}
	return rc;
}

static enum txt_status hook_add(struct txt_provider *base, const char *name,
                                const char *value, char *msg, size_t msglen)
{
	return call((struct webhook *)base, "present", name, value, msg, msglen);
}

static enum txt_status hook_remove(struct txt_provider *base,
                                   const char *name, const char *value,
                                   char *msg, size_t msglen)
{
	return call((struct webhook *)base, "cleanup", name, value, msg, msglen);
}

static void hook_free(struct txt_provider *base)
{
	struct webhook *w = (struct webhook *)base;
	explicit_bzero(w->base.o.hook_secret, sizeof w->base.o.hook_secret);
	free(w);
}

static const struct txt_provider_ops webhook_ops = {
	.name = "webhook",
	.add = hook_add,
	.remove = hook_remove,
	.free = hook_free,
};

struct txt_provider *txt_webhook_new(const struct txt_provider_opts *o,
                                     char *err, size_t errlen)
{
	struct webhook *w;
	char origin[TXT_URL_MAX], why[160];
	bool loopback;

	if (!o->zone[0] || strlen(o->hook_secret) < WEBHOOK_SECRET_MIN) {
		snprintf(err, errlen, "webhook: need zone and a secret of at "
		         "least %d bytes", WEBHOOK_SECRET_MIN);
		return NULL;
	}
	if (check_url(o->hook_url, o->hook_allow_http, origin, &loopback, why,
	              sizeof why) != 0) {
		snprintf(err, errlen, "webhook: url: %s", why);
		return NULL;
	}
	if (http_curl_init() != 0) {
		snprintf(err, errlen, "webhook: curl init failed");
		return NULL;
	}
	w = calloc(1, sizeof *w);
	if (!w) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->base.ops = &webhook_ops;
	w->base.o = *o;
	memcpy(w->origin, origin, sizeof origin);
	w->loopback = loopback;
	return &w->base;
}
