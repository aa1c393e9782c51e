/* http_body: the capped body reader and the curl initialisation
 * (http_body.h). */
#include "http_body.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

void http_body_init(struct http_body *b, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->cap = cap;
}

size_t http_body_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct http_body *b = ud;
	if (nmemb && size > (size_t)-1 / nmemb) {
		b->toobig = true;
		return 0;
	}
	size_t n = size * nmemb;
	/* the total against the cap (b->len <= b->cap always holds) */
	if (n > b->cap - b->len) {
		b->toobig = true;
		return 0;
	}
	if (b->len + n + 1 > b->alloc) {
		size_t want = b->alloc ? b->alloc : 4096;
		while (want < b->len + n + 1)
			want *= 2;
		char *nb = realloc(b->buf, want);
		if (!nb) {
			b->nomem = true;
			return 0;
		}
		b->buf = nb;
		b->alloc = want;
	}
	memcpy(b->buf + b->len, ptr, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return n;
}

char *http_body_take(struct http_body *b, size_t *len)
{
	char *s = b->buf;
	if (len)
		*len = b->len;
	b->buf = NULL;
	b->len = b->alloc = 0;
	return s;
}

void http_body_free(struct http_body *b)
{
	free(b->buf);
	b->buf = NULL;
	b->len = b->alloc = 0;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int http_curl_init(void)
{
	pthread_once(&curl_once, curl_init_once);
	return curl_init_rc == CURLE_OK ? 0 : -1;
}
