/* acme: the pure parsers (problem, Retry-After, RFC 3339, directory, order,
 * authorization, renewal info, Link), the DNS-01 digest, the ARI
 * certificate identifier, and a fuzz-style pass over every parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "acme.h"
#include "acme_http.h"

static void test_dns01_digest(void **state)
{
	(void)state;
	char out[44];
	/* Token from RFC 8555 section 8.4's example, thumbprint of RFC 7638's
	 * key; the value is base64url(SHA-256("token.thumbprint")). */
	assert_int_equal(acme_dns01_value("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA",
	                                  "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
	                                  out), ACME_OK);
	assert_string_equal(out, "ZTRx1Ckl1-tM05o5zaizTTA0yUy5AGereMgSNWC6Ll8");
	assert_int_equal(acme_dns01_value("t", "short", out), ACME_E_INVAL);
	assert_int_equal(acme_dns01_value("", "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
	                                  out), ACME_E_INVAL);
}

static void test_problem(void **state)
{
	(void)state;
	struct acme_problem p;
	const char *rl = "{\"type\":\"urn:ietf:params:acme:error:rateLimited\","
	                 "\"detail\":\"too many certificates for example.com\"}";
	assert_int_equal(acme_problem_parse(rl, strlen(rl), 429, "120", 0, &p),
	                 ACME_E_RATELIMITED);
	assert_true(acme_status_retryable(p.status));
	assert_int_equal(p.retry_after_ms, 120000);
	assert_string_equal(p.detail, "too many certificates for example.com");
	assert_int_equal(p.http_status, 429);

	const char *bn = "{\"type\":\"urn:ietf:params:acme:error:badNonce\"}";
	assert_int_equal(acme_problem_parse(bn, strlen(bn), 400, NULL, 0, &p),
	                 ACME_E_BADNONCE);
	assert_true(acme_status_retryable(p.status));
	assert_int_equal(p.retry_after_ms, -1);

	const char *si = "{\"type\":\"urn:ietf:params:acme:error:serverInternal\"}";
	assert_int_equal(acme_problem_parse(si, strlen(si), 500, NULL, 0, &p),
	                 ACME_E_SERVER);
	assert_int_equal(acme_problem_parse("<html>oops</html>", 17, 503, NULL, 0, &p),
	                 ACME_E_SERVER);
	assert_true(acme_status_retryable(p.status));

	static const struct { const char *type; enum acme_status st; } perm[] = {
		{ "unauthorized", ACME_E_UNAUTHORIZED },
		{ "rejectedIdentifier", ACME_E_REJECTEDID },
		{ "caa", ACME_E_CAA },
		{ "malformed", ACME_E_MALFORMED },
		{ "badCSR", ACME_E_BADCSR },
		{ "accountDoesNotExist", ACME_E_NOACCOUNT },
		{ "externalAccountRequired", ACME_E_EAB },
		{ "alreadyRevoked", ACME_E_ALREADYREVOKED },
		{ "userActionRequired", ACME_E_USERACTION },
	};
	for (size_t i = 0; i < sizeof(perm) / sizeof(perm[0]); i++) {
		char body[256];
		snprintf(body, sizeof(body),
		         "{\"type\":\"urn:ietf:params:acme:error:%s\",\"detail\":\"d\"}",
		         perm[i].type);
		assert_int_equal(acme_problem_parse(body, strlen(body), 403, NULL, 0, &p),
		                 perm[i].st);
		assert_false(acme_status_retryable(p.status));
	}
	/* A compound problem takes its cause from the first subproblem. */
	const char *comp = "{\"type\":\"urn:ietf:params:acme:error:compound\","
		"\"subproblems\":[{\"type\":\"urn:ietf:params:acme:error:caa\","
		"\"detail\":\"CAA record forbids\",\"identifier\":{\"type\":\"dns\","
		"\"value\":\"x.example.com\"}}]}";
	assert_int_equal(acme_problem_parse(comp, strlen(comp), 403, NULL, 0, &p),
	                 ACME_E_CAA);
	assert_string_equal(p.identifier, "x.example.com");
	assert_string_equal(p.detail, "CAA record forbids");
	/* Unknown type: by HTTP status. */
	const char *unk = "{\"type\":\"about:blank\",\"detail\":\"?\"}";
	assert_int_equal(acme_problem_parse(unk, strlen(unk), 400, NULL, 0, &p),
	                 ACME_E_CA);
	assert_int_equal(acme_problem_parse(unk, strlen(unk), 502, NULL, 0, &p),
	                 ACME_E_SERVER);
	/* step-ca's keyChange: notImplemented, 501; not a transient 5xx */
	const char *ni = "{\"type\":\"urn:ietf:params:acme:error:notImplemented\","
		"\"detail\":\"this API is not implemented\"}";
	assert_int_equal(acme_problem_parse(ni, strlen(ni), 501, NULL, 0, &p),
	                 ACME_E_UNSUPPORTED);
	assert_false(acme_status_retryable(p.status));
	/* a bare 501 (a proxy in front of the CA, no problem document) is a
	 * server error like any 5xx: retried, never a domain failed for good
	 * (rotate-key still reads it as "no keyChange": ca_caps) */
	assert_int_equal(acme_problem_parse("", 0, 501, NULL, 0, &p), ACME_E_SERVER);
	assert_true(acme_status_retryable(p.status));
	const char *html = "<html>501 Not Implemented</html>";
	assert_int_equal(acme_problem_parse(html, strlen(html), 501, NULL, 0, &p), ACME_E_SERVER);
	assert_int_equal(acme_problem_parse(ni, strlen(ni), 400, NULL, 0, &p),
	                 ACME_E_UNSUPPORTED);
	/* Long detail is truncated, not overflowed. */
	char big[2048];
	int n = snprintf(big, sizeof(big), "{\"type\":\"malformed\",\"detail\":\"");
	memset(big + n, 'x', 1500);
	strcpy(big + n + 1500, "\"}");
	assert_int_equal(acme_problem_parse(big, strlen(big), 400, NULL, 0, &p),
	                 ACME_E_MALFORMED);
	assert_int_equal(strlen(p.detail), sizeof(p.detail) - 1);
}

static void test_retry_after(void **state)
{
	(void)state;
	long long ms;
	const time_t now = 784111747; /* Sun, 06 Nov 1994 08:49:07 GMT */
	assert_true(acme_retry_after_parse("120", now, &ms));
	assert_int_equal(ms, 120000);
	assert_true(acme_retry_after_parse(" 0 ", now, &ms));
	assert_int_equal(ms, 0);
	assert_true(acme_retry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT", now, &ms));
	assert_int_equal(ms, 30000);
	assert_true(acme_retry_after_parse("Sunday, 06-Nov-94 08:49:37 GMT", now, &ms));
	assert_int_equal(ms, 30000);
	assert_true(acme_retry_after_parse("Sun Nov  6 08:49:37 1994", now, &ms));
	assert_int_equal(ms, 30000);
	/* In the past: now. */
	assert_true(acme_retry_after_parse("Sun, 06 Nov 1994 08:00:00 GMT", now, &ms));
	assert_int_equal(ms, 0);
	/* Capped. */
	assert_true(acme_retry_after_parse("99999999999999999999", now, &ms));
	assert_int_equal(ms, ACME_RETRY_MAX_MS);
	assert_true(acme_retry_after_parse("Fri, 01 Jan 2100 00:00:00 GMT", now, &ms));
	assert_int_equal(ms, ACME_RETRY_MAX_MS);
	assert_false(acme_retry_after_parse("", now, &ms));
	assert_false(acme_retry_after_parse("-5", now, &ms));
	assert_false(acme_retry_after_parse("1.5", now, &ms));
	assert_false(acme_retry_after_parse("soon", now, &ms));
	assert_false(acme_retry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT junk", now, &ms));
}

static void test_rfc3339(void **state)
{
	(void)state;
	time_t t;
	assert_true(acme_rfc3339_parse("2021-01-03T00:00:00Z", &t));
	assert_int_equal(t, 1609632000);
	assert_true(acme_rfc3339_parse("2021-01-03T00:00:00.123456789Z", &t));
	assert_int_equal(t, 1609632000);
	assert_true(acme_rfc3339_parse("2021-01-03T02:00:00+02:00", &t));
	assert_int_equal(t, 1609632000);
	assert_true(acme_rfc3339_parse("2021-01-02T23:30:00-00:30", &t));
	assert_int_equal(t, 1609632000);
	assert_false(acme_rfc3339_parse("2021-01-03", &t));
	assert_false(acme_rfc3339_parse("2021-13-03T00:00:00Z", &t));
	assert_false(acme_rfc3339_parse("2021-01-03T00:00:00", &t));
	assert_false(acme_rfc3339_parse("2021-01-03T00:00:00Zx", &t));
	assert_false(acme_rfc3339_parse(NULL, &t));
}

static const char directory[] =
	"{\"newNonce\":\"https://ca/nonce\",\"newAccount\":\"https://ca/acct\","
	"\"newOrder\":\"https://ca/order\",\"revokeCert\":\"https://ca/revoke\","
	"\"keyChange\":\"https://ca/kc\",\"renewalInfo\":\"https://ca/ari/\","
	"\"meta\":{\"termsOfService\":\"https://ca/tos\",\"externalAccountRequired\":true,"
	"\"profiles\":{\"classic\":\"90 days\",\"shortlived\":\"6 days\"}}}";

static void test_directory(void **state)
{
	(void)state;
	struct acme_directory d;
	assert_int_equal(acme_directory_parse(directory, strlen(directory), &d), ACME_OK);
	assert_string_equal(d.new_order, "https://ca/order");
	assert_string_equal(d.renewal_info, "https://ca/ari/");
	assert_true(d.eab_required);
	assert_int_equal(d.n_profiles, 2);
	assert_string_equal(d.profiles[1].name, "shortlived");
	assert_string_equal(d.profiles[1].description, "6 days");
	acme_directory_free(&d);
	const char *bad = "{\"newAccount\":\"https://ca/acct\",\"newOrder\":\"https://ca/o\"}";
	assert_int_equal(acme_directory_parse(bad, strlen(bad), &d), ACME_E_PROTOCOL);
	const char *ftp = "{\"newNonce\":\"ftp://x\",\"newAccount\":\"https://a\",\"newOrder\":\"https://o\"}";
	assert_int_equal(acme_directory_parse(ftp, strlen(ftp), &d), ACME_E_INSECURE);
	const char *rel = "{\"newNonce\":\"/nonce\",\"newAccount\":\"https://a\",\"newOrder\":\"https://o\"}";
	assert_int_equal(acme_directory_parse(rel, strlen(rel), &d), ACME_E_PROTOCOL);
	/* any URL of the directory over plain http, even one never used */
	static const char *const members[] = { "newNonce", "newAccount", "newOrder",
	                                       "revokeCert", "keyChange", "renewalInfo" };
	for (size_t i = 0; i < sizeof(members) / sizeof(*members); i++) {
		char doc[1024], needle[64];
		snprintf(doc, sizeof(doc), "%s", directory);
		snprintf(needle, sizeof(needle), "\"%s\":\"https://", members[i]);
		char *at = strstr(doc, needle);
		assert_non_null(at);
		at += strlen(needle) - 8;
		memmove(at + 7, at + 8, strlen(at + 8) + 1);   /* https:// -> http:// */
		memcpy(at, "http://", 7);
		assert_int_equal(acme_directory_parse(doc, strlen(doc), &d), ACME_E_INSECURE);
	}
}

static const char order[] =
	"{\"status\":\"invalid\",\"expires\":\"2025-01-01T00:00:00Z\","
	"\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.example.com\"},"
	"{\"type\":\"dns\",\"value\":\"*.a.example.com\"}],"
	"\"authorizations\":[\"https://ca/authz/1\",\"https://ca/authz/2\"],"
	"\"finalize\":\"https://ca/order/1/finalize\",\"profile\":\"shortlived\","
	"\"error\":{\"type\":\"urn:ietf:params:acme:error:unauthorized\","
	"\"detail\":\"Incorrect TXT record\"}}";

static void test_order(void **state)
{
	(void)state;
	struct acme_order o;
	assert_int_equal(acme_order_parse(order, strlen(order), &o), ACME_OK);
	assert_string_equal(o.status, "invalid");
	assert_int_equal(o.n_authz, 2);
	assert_int_equal(o.n_identifiers, 2);
	assert_string_equal(o.identifiers[1], "*.a.example.com");
	assert_string_equal(o.profile, "shortlived");
	assert_null(o.certificate);
	/* Embedded "unauthorized" means validation failed. */
	assert_int_equal(o.error.status, ACME_E_INVALID);
	assert_string_equal(o.error.detail, "Incorrect TXT record");
	acme_order_free(&o);
	const char *nofin = "{\"status\":\"pending\",\"authorizations\":[]}";
	assert_int_equal(acme_order_parse(nofin, strlen(nofin), &o), ACME_E_PROTOCOL);
	static const char *const plain[] = {
		"{\"status\":\"pending\",\"authorizations\":[\"https://ca/a/1\",\"http://ca/a/2\"],"
		"\"finalize\":\"https://ca/f\"}",
		"{\"status\":\"pending\",\"authorizations\":[],\"finalize\":\"http://ca/f\"}",
		"{\"status\":\"valid\",\"authorizations\":[],\"finalize\":\"https://ca/f\","
		"\"certificate\":\"http://ca/cert\"}",
	};
	for (size_t i = 0; i < sizeof(plain) / sizeof(*plain); i++)
		assert_int_equal(acme_order_parse(plain[i], strlen(plain[i]), &o), ACME_E_INSECURE);
}

static const char authz[] =
	"{\"status\":\"invalid\",\"identifier\":{\"type\":\"dns\",\"value\":\"a.example.com\"},"
	"\"wildcard\":true,\"challenges\":["
	"{\"type\":\"http-01\",\"url\":\"https://ca/c/1\",\"token\":\"AAAAAAAAAAAAAAAAAAAA\"},"
	"{\"type\":\"dns-01\",\"url\":\"https://ca/c/2\",\"status\":\"invalid\","
	"\"token\":\"evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA\","
	"\"error\":{\"type\":\"urn:ietf:params:acme:error:dns\",\"detail\":\"SERVFAIL\"}},"
	"{\"type\":\"tls-alpn-01\",\"url\":\"https://ca/c/3\",\"token\":\"BBBBBBBBBBBBBBBBBBBB\"}]}";

static void test_authz(void **state)
{
	(void)state;
	struct acme_authz a;
	assert_int_equal(acme_authz_parse(authz, strlen(authz), &a), ACME_OK);
	assert_string_equal(a.identifier, "a.example.com");
	assert_true(a.wildcard);
	assert_string_equal(a.dns01_url, "https://ca/c/2");
	assert_string_equal(a.dns01_token, "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA");
	assert_int_equal(a.error.status, ACME_E_DNS);
	assert_string_equal(a.error.detail, "SERVFAIL");
	acme_authz_free(&a);
	/* A token that is not base64url never reaches DNS. */
	const char *evil = "{\"status\":\"pending\",\"identifier\":{\"value\":\"x\"},"
		"\"challenges\":[{\"type\":\"dns-01\",\"url\":\"https://ca/c\","
		"\"token\":\"abc\\\"; rm -rf / #xxxxxxxx\"}]}";
	assert_int_equal(acme_authz_parse(evil, strlen(evil), &a), ACME_E_PROTOCOL);
	/* No dns-01 offered: parses, url NULL. */
	const char *http = "{\"status\":\"pending\",\"identifier\":{\"value\":\"x\"},"
		"\"challenges\":[{\"type\":\"http-01\",\"url\":\"https://ca/c\",\"token\":\"t\"}]}";
	assert_int_equal(acme_authz_parse(http, strlen(http), &a), ACME_OK);
	assert_null(a.dns01_url);
	acme_authz_free(&a);
	const char *plain = "{\"status\":\"pending\",\"identifier\":{\"value\":\"x\"},"
		"\"challenges\":[{\"type\":\"dns-01\",\"url\":\"http://ca/c\","
		"\"token\":\"AAAAAAAAAAAAAAAAAAAA\"}]}";
	assert_int_equal(acme_authz_parse(plain, strlen(plain), &a), ACME_E_INSECURE);
	/* step-ca after a failed DNS-01: challenge and authorization still
	 * pending (it retries), the error on the challenge, its problem
	 * without "status" */
	const char *retry = "{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\","
		"\"value\":\"s.example\"},\"challenges\":[{\"type\":\"dns-01\","
		"\"status\":\"pending\",\"url\":\"https://ca/c/9\","
		"\"token\":\"AAAAAAAAAAAAAAAAAAAA\",\"error\":{\"type\":"
		"\"urn:ietf:params:acme:error:dns\",\"detail\":\"There was a problem with "
		"a DNS query during identifier validation\"}}]}";
	assert_int_equal(acme_authz_parse(retry, strlen(retry), &a), ACME_OK);
	assert_string_equal(a.status, "pending");
	assert_string_equal(a.dns01_status, "pending");
	assert_int_equal(a.error.status, ACME_E_DNS);
	assert_int_equal(a.error.http_status, 0);
	assert_string_equal(a.error.detail, "There was a problem with a DNS query during "
	                    "identifier validation");
	acme_authz_free(&a);
	/* an error that is not an object is no error */
	const char *odd = "{\"status\":\"pending\",\"identifier\":{\"value\":\"x\"},"
		"\"challenges\":[{\"type\":\"dns-01\",\"url\":\"https://ca/c\","
		"\"token\":\"AAAAAAAAAAAAAAAAAAAA\",\"error\":\"boom\"}]}";
	assert_int_equal(acme_authz_parse(odd, strlen(odd), &a), ACME_OK);
	assert_string_equal(a.error.type, "");
	assert_string_equal(a.error.detail, "");
	acme_authz_free(&a);
}

static const char ari[] =
	"{\"suggestedWindow\":{\"start\":\"2025-01-02T04:00:00Z\","
	"\"end\":\"2025-01-03T04:00:00Z\"},\"explanationURL\":\"https://ca/why\"}";

static void test_ari(void **state)
{
	(void)state;
	struct acme_renewal_info r;
	assert_int_equal(acme_renewal_info_parse(ari, strlen(ari), &r), ACME_OK);
	assert_int_equal(r.start, 1735790400);
	assert_int_equal(r.end, 1735790400 + 86400);
	assert_string_equal(r.explanation_url, "https://ca/why");
	assert_int_equal(acme_renewal_pick(&r, 0), r.start);
	assert_int_equal(acme_renewal_pick(&r, 86400), r.end);
	assert_int_equal(acme_renewal_pick(&r, 86401), r.start);
	for (uint64_t x = 1; x < 1000000000ULL; x *= 7) {
		time_t t = acme_renewal_pick(&r, x * 2654435761ULL);
		assert_true(t >= r.start && t <= r.end);
	}
	acme_renewal_info_free(&r);
	const char *inverted = "{\"suggestedWindow\":{\"start\":\"2025-01-03T04:00:00Z\","
		"\"end\":\"2025-01-02T04:00:00Z\"}}";
	assert_int_equal(acme_renewal_info_parse(inverted, strlen(inverted), &r),
	                 ACME_E_PROTOCOL);

	/* RFC 9773 section 4.1's example identifier. */
	const unsigned char aki[] = { 0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40,
		0x41, 0xE1, 0xB3, 0x7B, 0x84, 0x7B, 0xA0, 0xAE, 0x2C, 0xDE, 0x01,
		0xC8, 0xD4 };
	const unsigned char serial[] = { 0x00, 0x87, 0x65, 0x43, 0x21 };
	char *id = NULL;
	assert_int_equal(acme_ari_certid_parts(aki, sizeof(aki), serial,
	                                       sizeof(serial), &id), ACME_OK);
	assert_string_equal(id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
	free(id);
}

static void test_link(void **state)
{
	(void)state;
	struct acme_http_resp r;
	memset(&r, 0, sizeof(r));
	acme_http_parse_link("<https://ca/cert/1/1>;rel=\"alternate\", "
	                     "<https://ca/dir>; rel=index, <broken; rel=x", &r);
	assert_int_equal(r.n_links, 2);
	assert_string_equal(r.link_url[0], "https://ca/cert/1/1");
	assert_string_equal(r.link_rel[0], "alternate");
	assert_string_equal(r.link_rel[1], "index");
	acme_http_resp_free(&r);
}

/* Feeds DOC, its every truncation and random mutations to every parser. */
static void feed_all(const char *doc, size_t len)
{
	struct acme_problem p;
	struct acme_directory d;
	struct acme_order o;
	struct acme_authz a;
	struct acme_renewal_info r;
	acme_problem_parse(doc, len, 400, "5", 0, &p);
	if (acme_directory_parse(doc, len, &d) == ACME_OK)
		acme_directory_free(&d);
	if (acme_order_parse(doc, len, &o) == ACME_OK)
		acme_order_free(&o);
	if (acme_authz_parse(doc, len, &a) == ACME_OK)
		acme_authz_free(&a);
	if (acme_renewal_info_parse(doc, len, &r) == ACME_OK)
		acme_renewal_info_free(&r);
	char *s = strndup(doc, len < 200 ? len : 200);
	long long ms;
	time_t t;
	acme_retry_after_parse(s, 0, &ms);
	acme_rfc3339_parse(s, &t);
	struct acme_http_resp h;
	memset(&h, 0, sizeof(h));
	acme_http_parse_link(s, &h);
	acme_http_resp_free(&h);
	free(s);
}

static void test_fuzz(void **state)
{
	(void)state;
	const char *docs[] = { directory, order, authz, ari,
		"{\"type\":\"urn:ietf:params:acme:error:compound\",\"subproblems\":[1,{},[]]}",
		"[]", "null", "\"x\"", "{\"status\":1,\"finalize\":[],\"authorizations\":{}}" };
	unsigned seed = 12345;
	char buf[2048];
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		size_t len = strlen(docs[i]);
		for (size_t cut = 0; cut <= len; cut++)
			feed_all(docs[i], cut);
		for (int m = 0; m < 300; m++) {
			memcpy(buf, docs[i], len);
			for (int k = 0; k < 4; k++) {
				seed = seed * 1103515245u + 12345u;
				buf[(seed >> 8) % len] = (char)(seed >> 16);
			}
			feed_all(buf, len);
		}
	}
	for (int m = 0; m < 300; m++) {
		size_t len = 1 + (size_t)m * 5;
		for (size_t k = 0; k < len; k++) {
			seed = seed * 1103515245u + 12345u;
			buf[k] = (char)(seed >> 16);
		}
		feed_all(buf, len);
	}
	/* Oversized input is refused before parsing. */
	struct acme_order o;
	char *huge = malloc(300 * 1024);
	memset(huge, ' ', 300 * 1024);
	assert_int_equal(acme_order_parse(huge, 300 * 1024, &o), ACME_E_TOOBIG);
	free(huge);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dns01_digest),
		cmocka_unit_test(test_problem),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_directory),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_authz),
		cmocka_unit_test(test_ari),
		cmocka_unit_test(test_link),
		cmocka_unit_test(test_fuzz),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
