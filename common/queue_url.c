/* queue_url_parse() of queue.h: a Redis URL taken apart (pure; its test
 * is tests/unit/test_queue_url.c). */
#include "queue.h"

#include <stdio.h>
#include <string.h>

/* A decimal number of at most 5 digits in S[0..N) from LO to HI, or -1. */
static long url_number(const char *s, size_t n, long lo, long hi)
{
	long v = 0;

	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= lo && v <= hi ? v : -1;
}

int queue_url_parse(const char *url, struct queue_url *out, char *err, size_t errlen)
{
	const char *p, *at, *end, *colon = NULL, *host;
	size_t hl;
	long v;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->port = 6379;
	if (!url || strncmp(url, "redis://", 8) != 0) {
		snprintf(err, errlen, "redis url must start with redis:// "
		         "(TLS: see deploy/README.md)");
		goto out;
	}
	p = url + 8;
	/* host, port and db never hold an '@': the last one ends the
	 * credentials, whatever the password contains */
	at = strrchr(p, '@');
	if (at) {
		const char *c = memchr(p, ':', (size_t)(at - p));
		if (!c || c + 1 == at) {
			snprintf(err, errlen, "redis url: the credentials before the last '@' "
			         "must be user:password or :password");
			goto out;
		}
		if ((size_t)(c - p) >= sizeof(out->user) ||
		    (size_t)(at - c - 1) >= sizeof(out->pass)) {
			snprintf(err, errlen, "redis url: user or password too long "
			         "(at most %zu and %zu bytes)", sizeof(out->user) - 1,
			         sizeof(out->pass) - 1);
			goto out;
		}
		memcpy(out->user, p, (size_t)(c - p));
		memcpy(out->pass, c + 1, (size_t)(at - c - 1));
		p = at + 1;
	}
	end = p + strcspn(p, "/");
	host = p;
	if (*p == '[') {               /* [IPv6 address] */
		const char *rb = memchr(p, ']', (size_t)(end - p));
		if (!rb) {
			snprintf(err, errlen, "redis url: '[' without ']' in the host");
			goto out;
		}
		host = p + 1;
		hl = (size_t)(rb - host);
		if (rb + 1 < end && rb[1] != ':') {
			snprintf(err, errlen, "redis url: only :port may follow ']'");
			goto out;
		}
		colon = rb + 1 < end ? rb + 1 : NULL;
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
		hl = (size_t)((colon ? colon : end) - p);
	}
	if (hl == 0 || hl >= sizeof(out->host)) {
		snprintf(err, errlen, "redis url: the host is missing or longer than "
		         "%zu bytes", sizeof(out->host) - 1);
		goto out;
	}
	for (size_t i = 0; i < hl; i++)
		if ((unsigned char)host[i] <= ' ' || host[i] == 0x7f) {
			snprintf(err, errlen, "redis url: the host contains a space or "
			         "control character");
			goto out;
		}
	memcpy(out->host, host, hl);
	if (colon) {
		if ((v = url_number(colon + 1, (size_t)(end - colon - 1), 1, 65535)) < 0) {
			snprintf(err, errlen, "redis url: the port must be a number from "
			         "1 to 65535");
			goto out;
		}
		out->port = (int)v;
	}
	if (out->pass[0])
		snprintf(out->where, sizeof(out->where), "the server of redis.url");
	else
		snprintf(out->where, sizeof(out->where), "%s:%d", out->host, out->port);
	if (*end == '/' && end[1]) {
		if ((v = url_number(end + 1, strlen(end + 1), 0, 1000)) < 0) {
			snprintf(err, errlen, "redis url: the database must be a number "
			         "from 0 to 1000");
			goto out;
		}
		out->db = (int)v;
	}
	rc = 0;
out:
	if (rc != 0)
		explicit_bzero(out, sizeof(*out));
	return rc;
}
