/*
 * Unit tests of the CAA check's pure parts: RDATA parsing, presentation,
 * reading CAA records out of an answer, and the evaluation of an RRset
 * against a policy (RFC 8659 with the RFC 8657 parameters).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "caa.h"
#include "dns_wire.h"

static const char *const LE[] = { "letsencrypt.org", "pebble.test" };
static const char ACCT[] = "https://acme.example/acct/42";

static const struct caa_policy POL = {
	.issuers = LE, .n_issuers = 2, .account_uri = ACCT, .method = "dns-01",
};

/* RDATA of one record: flags, tag length, tag, value. */
static size_t rdata(uint8_t *b, unsigned flags, const char *tag,
                    const char *value)
{
	size_t tl = strlen(tag), vl = strlen(value);

	b[0] = (uint8_t)flags;
	b[1] = (uint8_t)tl;
	memcpy(b + 2, tag, tl);
	memcpy(b + 2 + tl, value, vl);
	return 2 + tl + vl;
}

/* Adds a record to S through the parser. */
static void add(struct caa_rrset *s, unsigned flags, const char *tag,
                const char *value)
{
	uint8_t b[600];
	size_t n = rdata(b, flags, tag, value);

	assert_int_equal(caa_rdata_parse(b, n, &s->rr[s->n++]), 0);
}

static struct caa_rrset *set_new(void)
{
	static struct caa_rrset s;
	memset(&s, 0, sizeof s);
	strcpy(s.owner, "example.com");
	return &s;
}

static enum caa_verdict eval(const struct caa_rrset *s, bool wild,
                             struct caa_result *r)
{
	caa_evaluate(s, wild, &POL, r);
	return r->verdict;
}

/* ---- RDATA ---- */

static void test_rdata_ok(void **state)
{
	struct caa_rr rr;
	uint8_t b[64];
	size_t n = rdata(b, 128, "IsSue", "letsencrypt.org");

	(void)state;
	assert_int_equal(caa_rdata_parse(b, n, &rr), 0);
	assert_int_equal(rr.flags, 128);
	assert_string_equal(rr.tag, "issue"); /* tags match case-insensitively */
	assert_int_equal(rr.value_len, 15);
	assert_memory_equal(rr.value, "letsencrypt.org", 15);
	assert_false(rr.cut);
	assert_false(rr.malformed);

	n = rdata(b, 0, "iodef", "");   /* an empty value is fine */
	assert_int_equal(caa_rdata_parse(b, n, &rr), 0);
	assert_int_equal(rr.value_len, 0);
}

static void test_rdata_malformed(void **state)
{
	struct caa_rr rr;
	uint8_t b[64] = { 0 };
	size_t n;

	(void)state;
	assert_int_equal(caa_rdata_parse(b, 0, &rr), -1);
	assert_true(rr.malformed);
	b[0] = 0;
	assert_int_equal(caa_rdata_parse(b, 1, &rr), -1);   /* no tag length */
	n = rdata(b, 0, "issue", "x");
	assert_int_equal(caa_rdata_parse(b, 5, &rr), -1);   /* tag cut short */
	b[1] = 0;                                           /* tag length 0 */
	assert_int_equal(caa_rdata_parse(b, n, &rr), -1);
	n = rdata(b, 0, "abcdefghijklmnop", "x");           /* 16 octets */
	assert_int_equal(caa_rdata_parse(b, n, &rr), -1);
	n = rdata(b, 0, "abcdefghijklmno", "x");            /* 15 is the max */
	assert_int_equal(caa_rdata_parse(b, n, &rr), 0);
	n = rdata(b, 0, "is-sue", "x");
	assert_int_equal(caa_rdata_parse(b, n, &rr), -1);
	n = rdata(b, 0, "iss_ue", "x");
	assert_int_equal(caa_rdata_parse(b, n, &rr), -1);
	n = rdata(b, 0, "is sue", "x");
	assert_int_equal(caa_rdata_parse(b, n, &rr), -1);
	b[3] = 0xe9;                                        /* non-ASCII */
	assert_int_equal(caa_rdata_parse(b, n, &rr), -1);
	/* kept in RFC 3597 form for the report */
	n = rdata(b, 0, "issue", "x");
	b[1] = 40;
	assert_int_equal(caa_rdata_parse(b, n, &rr), -1);
	assert_true(rr.malformed);
	assert_string_equal((char *)rr.value, "\\# 8 0028697373756578");
}

static void test_rdata_long_value_cut(void **state)
{
	struct caa_rr rr;
	uint8_t b[600];
	char v[401];
	size_t n;

	(void)state;
	memset(v, 'a', 400);
	v[400] = '\0';
	n = rdata(b, 0, "iodef", v);
	assert_int_equal(caa_rdata_parse(b, n, &rr), 0);
	assert_true(rr.cut);
	assert_int_equal(rr.value_len, CAA_VALUE_MAX);
}

static void test_format(void **state)
{
	struct caa_rr rr;
	uint8_t b[64];
	char out[CAA_RECORD_MAX];
	size_t n = rdata(b, 0, "issue", "a\"b\\c");

	(void)state;
	b[n++] = 0x01;
	assert_int_equal(caa_rdata_parse(b, n, &rr), 0);
	caa_rr_format("example.com", &rr, out, sizeof out);
	assert_string_equal(out, "example.com CAA 0 issue \"a\\\"b\\\\c\\001\"");
	caa_rr_format("example.com", &rr, out, 12);          /* cut, NUL ended */
	assert_string_equal(out, "example.com");
}

/* ---- answers ---- */

/* Owner as a compression pointer to offset 12 (the question name) when
 * OWNER is NULL. */
static void rr_head(struct wire *w, const char *owner, unsigned type,
                    unsigned rdlen)
{
	if (owner)
		putname(w, owner);
	else
		put16(w, 0xc00c);
	put16(w, type);
	put16(w, 1);
	put16(w, 0);
	put16(w, 300);
	put16(w, rdlen);
}

static void rr_caa(struct wire *w, const char *owner, unsigned flags,
                   const char *tag, const char *value)
{
	uint8_t b[300];
	size_t n = rdata(b, flags, tag, value);
	rr_head(w, owner, CAA_TYPE, (unsigned)n);
	memcpy(w->b + w->n, b, n);
	w->n += n;
}

static void test_answer_parse(void **state)
{
	struct wire w = { .n = 0 };
	struct caa_rrset s;
	size_t lenpos;

	(void)state;
	put16(&w, 1); put16(&w, 0x8180); put16(&w, 1); put16(&w, 4);
	put16(&w, 0); put16(&w, 0);
	putname(&w, "www.example.com");
	put16(&w, CAA_TYPE); put16(&w, 1);
	rr_head(&w, NULL, 5, 0);                 /* www CNAME cdn.example.net */
	lenpos = w.n - 2;
	putname(&w, "cdn.example.net");
	w.b[lenpos + 1] = (uint8_t)(w.n - lenpos - 2);
	rr_caa(&w, "CDN.example.net", 0, "issue", "ca.example");
	rr_caa(&w, "cdn.example.net", 128, "tbs", "x");
	rr_caa(&w, "other.example.net", 0, "issue", "no");

	assert_int_equal(caa_answer_parse(w.b, w.n, "cdn.example.net", &s), 0);
	assert_string_equal(s.owner, "cdn.example.net");
	assert_int_equal(s.n, 2);
	assert_string_equal(s.rr[0].tag, "issue");
	assert_string_equal(s.rr[1].tag, "tbs");
	assert_int_equal(s.rr[1].flags, 128);
	assert_false(s.too_many);

	/* the CNAME's owner has no CAA of its own */
	assert_int_equal(caa_answer_parse(w.b, w.n, "www.example.com", &s), 0);
	assert_int_equal(s.n, 0);

	/* cut anywhere inside the records: malformed, never a read past */
	for (size_t cut = 12; cut < w.n; cut++)
		assert_int_equal(caa_answer_parse(w.b, cut, "cdn.example.net",
		                                  &s), -1);
}

static void test_answer_too_many(void **state)
{
	struct wire w = { .n = 0 };
	struct caa_rrset s;

	(void)state;
	put16(&w, 1); put16(&w, 0x8180); put16(&w, 0);
	put16(&w, CAA_MAX_RR + 1); put16(&w, 0); put16(&w, 0);
	for (int i = 0; i <= CAA_MAX_RR; i++)
		rr_caa(&w, "a.test", 0, "iodef", "mailto:x@a.test");
	assert_int_equal(caa_answer_parse(w.b, w.n, "a.test", &s), 0);
	assert_int_equal(s.n, CAA_MAX_RR);
	assert_true(s.too_many);
}

/* ---- evaluation ---- */

static void test_no_records(void **state)
{
	struct caa_result r;

	(void)state;
	assert_int_equal(eval(set_new(), false, &r), CAA_ALLOWED);
	assert_string_equal(r.owner, "");
}

static void test_issue_for_us(void **state)
{
	struct caa_rrset *s = set_new();
	struct caa_result r;

	(void)state;
	add(s, 0, "issue", "LetsEncrypt.org");   /* case-insensitive */
	assert_int_equal(eval(s, false, &r), CAA_ALLOWED);
	assert_string_equal(r.owner, "example.com");
	assert_string_equal(r.record,
	                    "example.com CAA 0 issue \"LetsEncrypt.org\"");
	assert_int_equal(eval(s, true, &r), CAA_ALLOWED); /* falls back to issue */
}

static void test_issue_other_ca(void **state)
{
	struct caa_rrset *s = set_new();
	struct caa_result r;

	(void)state;
	add(s, 0, "issue", "otherca.example");
	assert_int_equal(eval(s, false, &r), CAA_FORBIDDEN);
	assert_string_equal(r.record,
	                    "example.com CAA 0 issue \"otherca.example\"");
	assert_non_null(strstr(r.detail, "other CAs"));
	add(s, 0, "issue", "third.example");
	assert_int_equal(eval(s, false, &r), CAA_FORBIDDEN);
	assert_string_equal(r.record, "example.com CAA 0 issue "
	                    "\"otherca.example\" (+1 more)");
}

static void test_issue_nobody(void **state)
{
	struct caa_rrset *s = set_new();
	struct caa_result r;

	(void)state;
	add(s, 0, "issue", ";");
	assert_int_equal(eval(s, false, &r), CAA_FORBIDDEN);
	assert_non_null(strstr(r.detail, "no CA may issue"));
	/* additive: ";" next to us still permits us */
	add(s, 0, "issue", "letsencrypt.org");
	assert_int_equal(eval(s, false, &r), CAA_ALLOWED);
}

static void test_malformed_values_name_nobody(void **state)
{
	static const char *const bad[] = {
		"%%%%%", "letsencrypt.org.", "-letsencrypt.org",
		"letsencrypt-.org", "letsencrypt..org", "letsencrypt.org x",
		"letsencrypt.org; accounturi", "letsencrypt.org; =x",
		"letsencrypt.org; a=b;", "letsencrypt.org; a=b c=d",
		"letsencrypt.org;; a=b", "letsencrypt.org; a=\x01",
	};
	struct caa_result r;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct caa_rrset *s = set_new();
		add(s, 0, "issue", bad[i]);
		if (eval(s, false, &r) != CAA_FORBIDDEN)
			fail_msg("allowed: %s", bad[i]);
	}
}

static void test_wildcards(void **state)
{
	struct caa_rrset *s = set_new();
	struct caa_result r;

	(void)state;
	/* issuewild present: it alone decides for wildcards */
	add(s, 0, "issue", "letsencrypt.org");
	add(s, 0, "issuewild", "otherca.example");
	assert_int_equal(eval(s, true, &r), CAA_FORBIDDEN);
	assert_string_equal(r.record,
	                    "example.com CAA 0 issuewild \"otherca.example\"");
	assert_int_equal(eval(s, false, &r), CAA_ALLOWED);

	s = set_new();
	add(s, 0, "issue", "otherca.example");
	add(s, 0, "issuewild", "letsencrypt.org");
	assert_int_equal(eval(s, true, &r), CAA_ALLOWED);
	assert_int_equal(eval(s, false, &r), CAA_FORBIDDEN);

	/* issuewild only: does not restrict a non-wildcard name */
	s = set_new();
	add(s, 0, "issuewild", ";");
	assert_int_equal(eval(s, false, &r), CAA_ALLOWED);
	assert_int_equal(eval(s, true, &r), CAA_FORBIDDEN);
}

static void test_critical(void **state)
{
	struct caa_rrset *s = set_new();
	struct caa_result r;

	(void)state;
	add(s, 0, "issue", "letsencrypt.org");
	add(s, 0, "tbs", "whatever");            /* not critical: ignored */
	add(s, 128, "iodef", "mailto:a@b.c");    /* critical but known */
	add(s, 128, "issue", "pebble.test");     /* critical but known */
	assert_int_equal(eval(s, false, &r), CAA_ALLOWED);
	add(s, 128, "Future", "x");
	assert_int_equal(eval(s, false, &r), CAA_FORBIDDEN);
	assert_string_equal(r.record, "example.com CAA 128 future \"x\"");
	assert_non_null(strstr(r.detail, "critical"));
	/* only bit 0x80 is the critical flag; reserved bits are ignored */
	s = set_new();
	add(s, 0x7f, "future", "x");
	assert_int_equal(eval(s, false, &r), CAA_ALLOWED);
}

static void test_only_non_restricting(void **state)
{
	struct caa_rrset *s = set_new();
	struct caa_result r;

	(void)state;
	add(s, 0, "iodef", "mailto:sec@example.com");
	assert_int_equal(eval(s, false, &r), CAA_ALLOWED);
	assert_non_null(strstr(r.detail, "does not restrict"));
}

static void test_accounturi(void **state)
{
	struct caa_policy nouri = POL;
	struct caa_rrset *s = set_new();
	struct caa_result r;

	(void)state;
	add(s, 0, "issue", "letsencrypt.org; accounturi=https://acme.example/acct/42");
	assert_int_equal(eval(s, false, &r), CAA_ALLOWED);
	nouri.account_uri = NULL;
	caa_evaluate(s, false, &nouri, &r);
	assert_int_equal(r.verdict, CAA_FORBIDDEN);

	s = set_new();
	add(s, 0, "issue", "letsencrypt.org; accounturi=https://acme.example/acct/7");
	assert_int_equal(eval(s, false, &r), CAA_FORBIDDEN);
	assert_non_null(strstr(r.detail, "accounturi=https://acme.example/acct/7"));
	assert_non_null(strstr(r.record, "acct/7"));

	/* prefixes and case do not match: the URL is compared whole */
	s = set_new();
	add(s, 0, "issue", "letsencrypt.org; accounturi=https://acme.example/acct/4");
	add(s, 0, "issue", "letsencrypt.org; accounturi=HTTPS://acme.example/acct/42");
	assert_int_equal(eval(s, false, &r), CAA_FORBIDDEN);

	/* given twice: permits nobody */
	s = set_new();
	add(s, 0, "issue", "letsencrypt.org; accounturi=https://acme.example/acct/42;"
	    " accounturi=https://acme.example/acct/42");
	assert_int_equal(eval(s, false, &r), CAA_FORBIDDEN);
	assert_non_null(strstr(r.detail, "more than once"));
}

static void test_validationmethods(void **state)
{
	static const struct { const char *v; enum caa_verdict want; } c[] = {
		{ "letsencrypt.org; validationmethods=dns-01", CAA_ALLOWED },
		{ "letsencrypt.org; validationmethods=http-01,dns-01", CAA_ALLOWED },
		{ "letsencrypt.org; validationmethods=http-01", CAA_FORBIDDEN },
		{ "letsencrypt.org; validationmethods=http-01,tls-alpn-01", CAA_FORBIDDEN },
		{ "letsencrypt.org; validationmethods=dns-01x", CAA_FORBIDDEN },
		{ "letsencrypt.org; validationmethods=DNS-01", CAA_FORBIDDEN },
		{ "letsencrypt.org; validationmethods=", CAA_FORBIDDEN },
		{ "letsencrypt.org; validationmethods=,", CAA_FORBIDDEN },
		{ "letsencrypt.org; validationmethods=dns-01,", CAA_FORBIDDEN },
		{ "letsencrypt.org; validationmethods=dns-01,,http-01", CAA_FORBIDDEN },
		{ "letsencrypt.org; validationmethods=dns_01,dns-01", CAA_FORBIDDEN },
	};
	struct caa_result r;

	(void)state;
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		struct caa_rrset *s = set_new();
		add(s, 0, "issue", c[i].v);
		if (eval(s, false, &r) != c[i].want)
			fail_msg("%s: %s", c[i].v, r.detail);
	}
	struct caa_rrset *s = set_new();
	add(s, 0, "issue", "letsencrypt.org; validationmethods=http-01");
	eval(s, false, &r);
	assert_non_null(strstr(r.detail, "validationmethods=http-01 excludes dns-01"));
}

static void test_params_whitespace(void **state)
{
	static const char *const ok[] = {
		"letsencrypt.org;",
		"  letsencrypt.org ; ",
		"\tletsencrypt.org\t;\taccounturi\t=\thttps://acme.example/acct/42\t",
		"letsencrypt.org ; accounturi = https://acme.example/acct/42 ; "
		"validationmethods = dns-01 ",
		"letsencrypt.org;accounturi=https://acme.example/acct/42;"
		"validationmethods=dns-01",
		"letsencrypt.org; policy=ev; x-y-1=a=b",   /* unknown: ignored */
	};
	struct caa_result r;

	(void)state;
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		struct caa_rrset *s = set_new();
		add(s, 0, "issue", ok[i]);
		if (eval(s, false, &r) != CAA_ALLOWED)
			fail_msg("%s: %s", ok[i], r.detail);
	}
}

static void test_one_of_several_permits(void **state)
{
	struct caa_rrset *s = set_new();
	struct caa_result r;

	(void)state;
	add(s, 0, "issue", "otherca.example");
	add(s, 0, "issue", "letsencrypt.org; accounturi=https://acme.example/acct/1");
	add(s, 0, "issue", "letsencrypt.org; validationmethods=http-01");
	add(s, 0, "iodef", "mailto:sec@example.com");
	assert_int_equal(eval(s, false, &r), CAA_FORBIDDEN);
	/* the most useful reason: our CA, wrong parameter */
	assert_non_null(strstr(r.record, "acct/1"));
	assert_non_null(strstr(r.record, "(+2 more)"));
	add(s, 0, "issue", "pebble.test; validationmethods=dns-01");
	assert_int_equal(eval(s, false, &r), CAA_ALLOWED);
	assert_string_equal(r.record, "example.com CAA 0 issue "
	                    "\"pebble.test; validationmethods=dns-01\"");
}

static void test_unreadable_records(void **state)
{
	struct caa_rrset *s = set_new();
	struct caa_result r;
	uint8_t b[8] = { 0, 9, 'i', 's' };
	char v[400];

	(void)state;
	add(s, 0, "issue", "letsencrypt.org");
	caa_rdata_parse(b, 4, &s->rr[s->n++]);
	assert_int_equal(eval(s, false, &r), CAA_FORBIDDEN);
	assert_string_equal(r.record, "example.com CAA \\# 4 00096973");

	/* an issue value we could not keep whole permits nobody */
	s = set_new();
	memset(v, 'a', sizeof v - 1);
	v[sizeof v - 1] = '\0';
	memcpy(v, "letsencrypt.org; x=", 19);
	add(s, 0, "issue", v);
	assert_int_equal(eval(s, false, &r), CAA_FORBIDDEN);

	s = set_new();
	add(s, 0, "issue", "letsencrypt.org");
	s->too_many = true;
	assert_int_equal(eval(s, false, &r), CAA_ERROR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rdata_ok),
		cmocka_unit_test(test_rdata_malformed),
		cmocka_unit_test(test_rdata_long_value_cut),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_answer_parse),
		cmocka_unit_test(test_answer_too_many),
		cmocka_unit_test(test_no_records),
		cmocka_unit_test(test_issue_for_us),
		cmocka_unit_test(test_issue_other_ca),
		cmocka_unit_test(test_issue_nobody),
		cmocka_unit_test(test_malformed_values_name_nobody),
		cmocka_unit_test(test_wildcards),
		cmocka_unit_test(test_critical),
		cmocka_unit_test(test_only_non_restricting),
		cmocka_unit_test(test_accounturi),
		cmocka_unit_test(test_validationmethods),
		cmocka_unit_test(test_params_whitespace),
		cmocka_unit_test(test_one_of_several_permits),
		cmocka_unit_test(test_unreadable_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
