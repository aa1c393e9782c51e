/*
 * fuzz_acme: every parser of what an ACME CA answers (common/acme.c and
 * the Link header parser of acme_http.c): directory, order,
 * authorization (with its challenges), renewal information (ARI), problem
 * documents, Retry-After, RFC 3339 times, Link headers, and the DNS-01
 * value of a token the CA chose.
 *
 * The first byte chooses the parser; the rest is its input.  For a problem
 * document two bytes of HTTP status and a Retry-After value up to the first
 * newline come before the body.  Checked beyond the sanitizers: a parser
 * that fails leaves nothing to free and one that succeeds hands out what
 * its header promises (the required URLs, counts within their caps, a
 * token of base64url only, a window whose pick lies inside it, delays
 * within [0, ACME_RETRY_MAX_MS]).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acme.h"
#include "acme_http.h"
#include "fuzz.h"

/* A fixed "now" (2023-11-14), so that a crash replays the same. */
#define NOW ((time_t)1700000000)

static bool https_or_http(const char *u)
{
	return u && (strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0) &&
	       strlen(u) <= ACME_URL_MAX;
}

static void directory(const char *b, size_t n)
{
	struct acme_directory d;
	if (acme_directory_parse(b, n, &d) != ACME_OK) {
		FUZZ_CHECK(d.new_nonce == NULL && d.n_profiles == 0);
		return;
	}
	FUZZ_CHECK(https_or_http(d.new_nonce) && https_or_http(d.new_account) &&
	           https_or_http(d.new_order));
	FUZZ_CHECK(!d.renewal_info || https_or_http(d.renewal_info));
	FUZZ_CHECK(d.n_profiles <= ACME_MAX_PROFILES);
	for (size_t i = 0; i < d.n_profiles; i++)
		FUZZ_CHECK(d.profiles[i].name && d.profiles[i].description);
	acme_directory_free(&d);
}

static void order(const char *b, size_t n)
{
	struct acme_order o;
	if (acme_order_parse(b, n, &o) != ACME_OK) {
		FUZZ_CHECK(o.status == NULL && o.n_authz == 0);
		return;
	}
	FUZZ_CHECK(o.status && https_or_http(o.finalize));
	FUZZ_CHECK(o.n_authz <= ACME_MAX_AUTHZ && o.n_identifiers <= ACME_MAX_AUTHZ);
	for (size_t i = 0; i < o.n_authz; i++)
		FUZZ_CHECK(https_or_http(o.authorizations[i]));
	for (size_t i = 0; i < o.n_identifiers; i++)
		FUZZ_CHECK(o.identifiers[i] != NULL);
	FUZZ_CHECK(strlen(o.error.detail) < sizeof(o.error.detail));
	acme_order_free(&o);
}

static void authz(const char *b, size_t n)
{
	struct acme_authz a;
	if (acme_authz_parse(b, n, &a) != ACME_OK) {
		FUZZ_CHECK(a.status == NULL && a.dns01_token == NULL);
		return;
	}
	FUZZ_CHECK(a.status && a.identifier);
	if (a.dns01_url) {
		size_t tl = strlen(a.dns01_token);
		FUZZ_CHECK(https_or_http(a.dns01_url));
		FUZZ_CHECK(tl >= 16 && tl <= 256);
		FUZZ_CHECK(strspn(a.dns01_token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijkl"
		                  "mnopqrstuvwxyz0123456789-_") == tl);
		/* what provision-txt makes of it */
		char v[44];
		FUZZ_CHECK(acme_dns01_value(a.dns01_token,
		           "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", v) == ACME_OK);
		FUZZ_CHECK(strlen(v) == 43);
	}
	acme_authz_free(&a);
}

static void renewal(const char *b, size_t n, uint64_t rnd)
{
	struct acme_renewal_info r;
	if (acme_renewal_info_parse(b, n, &r) != ACME_OK) {
		FUZZ_CHECK(r.explanation_url == NULL);
		return;
	}
	FUZZ_CHECK(r.start <= r.end);
	time_t t = acme_renewal_pick(&r, rnd);
	FUZZ_CHECK(t >= r.start && t <= r.end);
	acme_renewal_info_free(&r);
}

static void problem(struct fuzz_in *in)
{
	char retry[256];
	struct acme_problem p;
	int http = fuzz_u16(in) % 600;
	fuzz_str(in, '\n', retry, sizeof(retry));
	char *b = malloc(in->n ? in->n : 1);
	if (!b)
		return;
	memcpy(b, in->p, in->n);
	enum acme_status st = acme_problem_parse(b, in->n, http, retry[0] ? retry : NULL,
	                                         NOW, &p);
	FUZZ_CHECK(st == p.status && st != ACME_OK && st != ACME_PENDING);
	FUZZ_CHECK(strlen(p.type) < sizeof(p.type) && strlen(p.detail) < sizeof(p.detail));
	FUZZ_CHECK(p.retry_after_ms >= -1 && p.retry_after_ms <= ACME_RETRY_MAX_MS);
	FUZZ_CHECK(acme_strerror(st) != NULL);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t which = fuzz_byte(&in);
	uint64_t rnd = (uint64_t)size * 0x9e3779b97f4a7c15ull;
	long long ms;
	time_t t;

	if (which % 9 == 4) {
		problem(&in);
		return 0;
	}
	/* the body alone, in a buffer of its size (the parsers take a length;
	 * the text ones a string, so one more byte for the NUL) */
	char *b = malloc(in.n + 1);
	if (!b)
		return 0;
	memcpy(b, in.p, in.n);
	b[in.n] = '\0';
	switch (which % 9) {
	case 0: directory(b, in.n); break;
	case 1: order(b, in.n); break;
	case 2: authz(b, in.n); break;
	case 3: renewal(b, in.n, rnd); break;
	case 5:
		if (acme_retry_after_parse(b, NOW, &ms))
			FUZZ_CHECK(ms >= 0 && ms <= ACME_RETRY_MAX_MS);
		break;
	case 6:
		(void)acme_rfc3339_parse(b, &t);
		break;
	case 7: {
		struct acme_http_resp r = { 0 };
		acme_http_parse_link(b, &r);
		FUZZ_CHECK(r.n_links <= ACME_HTTP_MAX_LINKS);
		for (size_t i = 0; i < r.n_links; i++)
			FUZZ_CHECK(r.link_url[i] && r.link_rel[i]);
		acme_http_resp_free(&r);
		break;
	}
	case 8: {
		char v[44];
		if (acme_dns01_value(b, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", v) == ACME_OK)
			FUZZ_CHECK(strlen(v) == 43);
		(void)acme_problem_status(b, (int)(rnd % 600));
		break;
	}
	}
	free(b);
	return 0;
}
