/*
 * acme_http: the HTTP transport of the ACME client (libcurl).
 *
 * One handle keeps one curl easy handle, so connections to the CA are
 * reused between requests.  Every request has a connect timeout and a total
 * timeout, both cut to what is left of the job's deadline when one is set
 * (acme_http_set_deadline); a response body larger than the cap is
 * abandoned (ACME_HTTP_ETOOBIG)
 * rather than buffered.  Redirects are not followed (ACME never needs them).
 * Not thread-safe: one handle per thread.
 */
#ifndef DCV_ACME_HTTP_H
#define DCV_ACME_HTTP_H

#include <stddef.h>

enum acme_http_status {
	ACME_HTTP_OK = 0,
	ACME_HTTP_ETIMEOUT,   /* connect or total timeout */
	ACME_HTTP_EDEADLINE,  /* no answer by the job's deadline, or not sent
	                         because it had passed */
	ACME_HTTP_ECONNECT,   /* DNS resolution or TCP connect failed */
	ACME_HTTP_ETLS,       /* TLS handshake or certificate verification */
	ACME_HTTP_ETOOBIG,    /* response (body or headers) over the cap */
	ACME_HTTP_ENETWORK,   /* other transfer failure (reset, short read) */
	ACME_HTTP_ENOMEM,
	ACME_HTTP_EINVAL,
};

const char *acme_http_strerror(enum acme_http_status st);

struct acme_http_opts {
	const char *ca_bundle;      /* PEM file of trusted CAs; NULL: system */
	const char *user_agent;     /* NULL: "dcvfleet/" DCV_VERSION */
	long connect_timeout_ms;    /* default 5000 */
	long timeout_ms;            /* whole request; default 30000 */
	size_t max_response_bytes;  /* body cap; default 1 MiB */
};

#define ACME_HTTP_MAX_LINKS 8
#define ACME_HTTP_HDR_MAX 2048  /* longest header value kept */

/* A response; free with acme_http_resp_free().  Strings are NUL-terminated
 * and owned by the struct; absent headers are NULL. */
struct acme_http_resp {
	long code;              /* HTTP status */
	char *body;             /* NUL-terminated (the body may contain NULs) */
	size_t body_len;
	char *content_type;
	char *location;
	char *replay_nonce;
	char *retry_after;
	/* Link headers: target URL and rel of each (at most MAX_LINKS). */
	char *link_url[ACME_HTTP_MAX_LINKS];
	char *link_rel[ACME_HTTP_MAX_LINKS];
	size_t n_links;
};

void acme_http_resp_free(struct acme_http_resp *r);

struct acme_http;

/* Creates a handle; OPTS and its strings are copied.  NULL on failure. */
struct acme_http *acme_http_new(const struct acme_http_opts *opts);
void acme_http_free(struct acme_http *h);

/* Every request from now on ends by DEADLINE_MONO_MS (deadline.h; 0 for
 * none): its timeouts are min(configured, time left), and a request is
 * not sent once the deadline has passed (ACME_HTTP_EDEADLINE). */
void acme_http_set_deadline(struct acme_http *h, long long deadline_mono_ms);

/* Performs METHOD ("GET", "HEAD", "POST") on URL.  For POST, BODY (borrowed,
 * NUL-terminated) is sent as application/jose+json.  ACCEPT, when not NULL,
 * is sent as the Accept header.  On ACME_HTTP_OK, *RESP is filled whatever
 * the HTTP status (the caller looks at resp->code); otherwise *RESP is empty.
 * ERRBUF (may be NULL) gets curl's message on failure. */
enum acme_http_status acme_http_do(struct acme_http *h, const char *method,
                                   const char *url, const char *body,
                                   const char *accept,
                                   struct acme_http_resp *resp,
                                   char *errbuf, size_t errlen);

/* Parses one Link header value ("<url>;rel=\"x\", <url2>;rel=y") into R's
 * link lists; pure, exposed for tests. */
void acme_http_parse_link(const char *value, struct acme_http_resp *r);

#endif
