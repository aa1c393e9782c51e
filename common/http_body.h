/*
 * http_body: the one capped reader of HTTP answer bodies over libcurl, and
 * the one process-wide curl initialisation.  Used by the ACME transport
 * (acme_http.c) and the PowerDNS provider (txt_powerdns.c).
 *
 * A body is collected by http_body_write() (a CURLOPT_WRITEFUNCTION with
 * the struct http_body as CURLOPT_WRITEDATA) and never grows past the cap
 * it was given: the chunk that would pass the cap aborts the transfer
 * (curl then fails with CURLE_WRITE_ERROR) and sets toobig.  The cap is
 * checked against the total received, never per chunk.  The buffer is
 * kept NUL-terminated so that a parser may treat it as a string (the
 * length is still what counts: a body may hold NUL bytes).
 *
 * http_curl_init() calls curl_global_init() once per process under
 * pthread_once, so the threads that create handles need no coordination.
 * A struct http_body belongs to one transfer on one thread.
 */
#ifndef DCV_HTTP_BODY_H
#define DCV_HTTP_BODY_H

#include <stdbool.h>
#include <stddef.h>

struct http_body {
	char *buf;      /* NUL-terminated; NULL until the first byte */
	size_t len;     /* bytes received */
	size_t alloc;   /* bytes allocated at buf */
	size_t cap;     /* most bytes accepted in total */
	bool toobig;    /* a chunk would have passed cap: transfer aborted */
	bool nomem;     /* an allocation failed: transfer aborted */
};

/* An empty body accepting at most CAP bytes. */
void http_body_init(struct http_body *b, size_t cap);

/* The CURLOPT_WRITEFUNCTION: appends SIZE * NMEMB bytes at PTR to the
 * struct http_body UD.  Returns the count taken, or 0 (abort) when the
 * total would pass the cap or memory runs out. */
size_t http_body_write(char *ptr, size_t size, size_t nmemb, void *ud);

/* Hands over the buffer (NULL when nothing arrived) and empties B; the
 * caller frees what it gets.  *LEN gets the length when LEN is set. */
char *http_body_take(struct http_body *b, size_t *len);

/* Frees what B holds and empties it (the cap stays). */
void http_body_free(struct http_body *b);

/* curl_global_init(CURL_GLOBAL_DEFAULT), once per process whoever calls
 * first.  0, or -1 when it failed (every call then says so). */
int http_curl_init(void);

#endif
