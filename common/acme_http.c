#include "acme_http.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <stdio.h>

#include <curl/curl.h>

#include "deadline.h"
#include "http_body.h"

#ifndef DCV_VERSION
#define DCV_VERSION "dev"
#endif

struct acme_http {
	CURL *curl;
	char *ca_bundle;
	char *user_agent;
	long connect_timeout_ms;
	long timeout_ms;
	size_t max_body;
	long long deadline;   /* CLOCK_MONOTONIC ms; 0: none */
};

const char *acme_http_strerror(enum acme_http_status st)
{
	switch (st) {
	case ACME_HTTP_OK: return "ok";
	case ACME_HTTP_ETIMEOUT: return "timed out";
	case ACME_HTTP_EDEADLINE: return "no answer by the job's deadline";
	case ACME_HTTP_ECONNECT: return "cannot connect";
	case ACME_HTTP_ETLS: return "TLS failure";
	case ACME_HTTP_ETOOBIG: return "response too large";
	case ACME_HTTP_ENETWORK: return "network error";
	case ACME_HTTP_ENOMEM: return "out of memory";
	case ACME_HTTP_EINVAL: return "invalid request";
	}
	return "unknown http status";
}

void acme_http_resp_free(struct acme_http_resp *r)
{
	if (!r)
		return;
	free(r->body);
	free(r->content_type);
	free(r->location);
	free(r->replay_nonce);
	free(r->retry_after);
	for (size_t i = 0; i < r->n_links; i++) {
		free(r->link_url[i]);
		free(r->link_rel[i]);
	}
	memset(r, 0, sizeof(*r));
}

struct acme_http *acme_http_new(const struct acme_http_opts *opts)
{
	if (http_curl_init() != 0)
		return NULL;
	struct acme_http *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->curl = curl_easy_init();
	h->ca_bundle = opts->ca_bundle ? strdup(opts->ca_bundle) : NULL;
	h->user_agent = strdup(opts->user_agent ? opts->user_agent
	                                        : "dcvfleet/" DCV_VERSION);
	h->connect_timeout_ms = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 5000;
	h->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 30000;
	h->max_body = opts->max_response_bytes > 0 ? opts->max_response_bytes
	                                           : 1024 * 1024;
	if (!h->curl || !h->user_agent || (opts->ca_bundle && !h->ca_bundle)) {
		acme_http_free(h);
		return NULL;
	}
	return h;
}

void acme_http_free(struct acme_http *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	free(h->ca_bundle);
	free(h->user_agent);
	free(h);
}

void acme_http_set_deadline(struct acme_http *h, long long deadline_mono_ms)
{
	h->deadline = deadline_mono_ms > 0 ? deadline_mono_ms : 0;
}

/* State of one transfer, shared with the callbacks. */
struct xfer {
	struct acme_http_resp *resp;  /* headers land here, the body at the end */
	struct http_body body;        /* capped at max_body */
	bool toobig;                  /* a header too long */
	bool nomem;
};

/* Trims whitespace at both ends of [s, s+n) into a new string. */
static char *trimdup(const char *s, size_t n)
{
	while (n > 0 && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	return strndup(s, n);
}

/* Parses one link-value "<url>; param; rel=..." of length N. */
static void parse_one_link(const char *s, size_t n, struct acme_http_resp *r)
{
	const char *end = s + n;
	while (s < end && isspace((unsigned char)*s))
		s++;
	if (s >= end || *s != '<')
		return;
	const char *ue = memchr(s, '>', (size_t)(end - s));
	if (!ue)
		return;
	const char *url = s + 1;
	size_t ulen = (size_t)(ue - url);
	const char *p = ue + 1;
	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		if (!semi)
			break;
		p = semi + 1;
		while (p < end && isspace((unsigned char)*p))
			p++;
		if ((size_t)(end - p) < 4 || strncasecmp(p, "rel=", 4) != 0)
			continue;
		p += 4;
		const char *v = p, *ve;
		if (p < end && *p == '"') {
			v = p + 1;
			ve = memchr(v, '"', (size_t)(end - v));
			if (!ve)
				return;
		} else {
			ve = v;
			while (ve < end && *ve != ';' && !isspace((unsigned char)*ve))
				ve++;
		}
		if (r->n_links >= ACME_HTTP_MAX_LINKS)
			return;
		char *u = strndup(url, ulen), *rel = strndup(v, (size_t)(ve - v));
		if (!u || !rel) {
			free(u);
			free(rel);
			return;
		}
		r->link_url[r->n_links] = u;
		r->link_rel[r->n_links] = rel;
		r->n_links++;
		return;
	}
}

void acme_http_parse_link(const char *value, struct acme_http_resp *r)
{
	/* Split on commas outside <...> and quotes. */
	const char *start = value;
	bool in_url = false, in_q = false;
	for (const char *p = value;; p++) {
		if (*p == '\0' || (*p == ',' && !in_url && !in_q)) {
			parse_one_link(start, (size_t)(p - start), r);
			if (*p == '\0')
				break;
			start = p + 1;
		} else if (*p == '<' && !in_q) {
			in_url = true;
		} else if (*p == '>' && !in_q) {
			in_url = false;
		} else if (*p == '"' && !in_url) {
			in_q = !in_q;
		}
	}
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
	struct xfer *x = ud;
	struct acme_http_resp *r = x->resp;
	size_t n = size * nitems;
	const char *colon = memchr(buf, ':', n);
	if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		/* A new status line (e.g. after 100-continue): start over. */
		struct acme_http_resp keep = *r;
		keep.body = NULL;
		acme_http_resp_free(&keep);
		r->content_type = r->location = r->replay_nonce = r->retry_after = NULL;
		memset(r->link_url, 0, sizeof(r->link_url));
		memset(r->link_rel, 0, sizeof(r->link_rel));
		r->n_links = 0;
		return n;
	}
	if (!colon)
		return n;
	size_t nl = (size_t)(colon - buf);
	const char *v = colon + 1;
	size_t vl = n - nl - 1;
	if (vl > ACME_HTTP_HDR_MAX) {
		x->toobig = true;
		return 0;
	}
	char **slot = NULL;
	if (nl == 12 && strncasecmp(buf, "Content-Type", nl) == 0)
		slot = &r->content_type;
	else if (nl == 8 && strncasecmp(buf, "Location", nl) == 0)
		slot = &r->location;
	else if (nl == 12 && strncasecmp(buf, "Replay-Nonce", nl) == 0)
		slot = &r->replay_nonce;
	else if (nl == 11 && strncasecmp(buf, "Retry-After", nl) == 0)
		slot = &r->retry_after;
	else if (nl == 4 && strncasecmp(buf, "Link", nl) == 0) {
		char *val = trimdup(v, vl);
		if (!val) {
			x->nomem = true;
			return 0;
		}
		acme_http_parse_link(val, r);
		free(val);
		return n;
	}
	if (slot) {
		free(*slot);
		*slot = trimdup(v, vl);
		if (!*slot) {
			x->nomem = true;
			return 0;
		}
	}
	return n;
}

/* Sets METHOD (HEAD, GET, or POST of BODY as JOSE) on C, with the headers
 * it needs appended to *HDRS.  False for any other method. */
static bool set_method(CURL *c, const char *method, const char *body,
                       struct curl_slist **hdrs)
{
	if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
		*hdrs = curl_slist_append(*hdrs, "Content-Type: application/jose+json");
		/* No "Expect: 100-continue" round trip. */
		*hdrs = curl_slist_append(*hdrs, "Expect:");
	} else if (strcmp(method, "GET") != 0) {
		return false;
	}
	return true;
}

/* BUNDLE is the only trust: Debian's libcurl would otherwise also trust its
 * compiled-in CA directory (/etc/ssl/certs) beside it. */
static void trust_only(CURL *c, const char *bundle)
{
	curl_easy_setopt(c, CURLOPT_CAINFO, bundle);
	curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
}

enum acme_http_status acme_http_do(struct acme_http *h, const char *method,
                                   const char *url, const char *body,
                                   const char *accept,
                                   struct acme_http_resp *resp,
                                   char *errbuf, size_t errlen)
{
	enum acme_http_status st = ACME_HTTP_OK;
	struct curl_slist *hdrs = NULL;
	char cerr[CURL_ERROR_SIZE] = "";
	char acc[256];
	struct xfer x = { .resp = resp };
	CURL *c = h->curl;
	long timeout = (long)deadline_left(h->deadline, h->timeout_ms);
	bool capped = timeout < h->timeout_ms;   /* the deadline, not ours */
	memset(resp, 0, sizeof(*resp));
	http_body_init(&x.body, h->max_body);
	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (!url || !method)
		return ACME_HTTP_EINVAL;
	if (timeout <= 0) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "not sent: the job's deadline had passed");
		return ACME_HTTP_EDEADLINE;
	}

	curl_easy_reset(c); /* keeps the connection cache */
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, h->user_agent);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	                 h->connect_timeout_ms < timeout ? h->connect_timeout_ms : timeout);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_body_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x.body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)h->max_body);
	if (h->ca_bundle)
		trust_only(c, h->ca_bundle);
	if (!set_method(c, method, body, &hdrs))
		return ACME_HTTP_EINVAL;
	if (accept) {
		snprintf(acc, sizeof(acc), "Accept: %s", accept);
		hdrs = curl_slist_append(hdrs, acc);
	}
	if (hdrs)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);

	CURLcode cc = curl_easy_perform(c);
	resp->body = http_body_take(&x.body, &resp->body_len);
	if (x.nomem || x.body.nomem) {
		st = ACME_HTTP_ENOMEM;
	} else if (x.toobig || x.body.toobig || cc == CURLE_FILESIZE_EXCEEDED) {
		st = ACME_HTTP_ETOOBIG;
	} else if (cc != CURLE_OK) {
		switch (cc) {
		case CURLE_OPERATION_TIMEDOUT:
			st = capped ? ACME_HTTP_EDEADLINE : ACME_HTTP_ETIMEOUT;
			break;
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_RESOLVE_PROXY:
		case CURLE_COULDNT_CONNECT:
			st = ACME_HTTP_ECONNECT;
			break;
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_CERTPROBLEM:
			st = ACME_HTTP_ETLS;
			break;
		case CURLE_OUT_OF_MEMORY:
			st = ACME_HTTP_ENOMEM;
			break;
		default:
			st = ACME_HTTP_ENETWORK;
		}
	}
	if (st == ACME_HTTP_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->code);
		if (!resp->body) {
			resp->body = calloc(1, 1);
			if (!resp->body)
				st = ACME_HTTP_ENOMEM;
		}
	}
	if (st != ACME_HTTP_OK) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "%s: %s", acme_http_strerror(st),
			         cerr[0] ? cerr : curl_easy_strerror(cc));
		acme_http_resp_free(resp);
	}
	curl_slist_free_all(hdrs);
	/* ERRORBUFFER points at our stack: unset before returning. */
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	return st;
}
