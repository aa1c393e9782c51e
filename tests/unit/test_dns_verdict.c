/*
 * Unit tests of the DNS verdicts (dns_verdict.h): wire messages built by
 * hand (dns_wire.h), parsed by dns_msg_parse(), read by the verdict of each
 * check, and the conclusion over the vantage outcomes.  One test per case.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "dns.h"
#include "dns_verdict.h"
#include "dns_wire.h"

#define Q "_acme-challenge.www.example.com"
#define ZONE "example.com"
#define WANT "www.example.com.validation.test"

static struct wire w;
static struct dns_msg msg;
static struct dns_opts opts;
static struct dns_verdict_check chk;
static struct dns_vantage dv;
static struct dns_hops hops;
static char next[DNAME_MAX + 1];
static struct dns_check_result res;

static int setup(void **state)
{
	(void)state;
	dns_opts_default(&opts);
	opts.max_cname_depth = 4;
	memset(&chk, 0, sizeof chk);
	chk.kind = DNS_KIND_DELEGATION;
	chk.o = &opts;
	strcpy(chk.domain, "www.example.com");
	strcpy(chk.qname, Q);
	strcpy(chk.want, WANT);
	strcpy(chk.zone, ZONE);
	memset(&dv, 0, sizeof dv);
	dv.outcome = DNS_NETERR;
	memset(&hops, 0, sizeof hops);
	next[0] = '\0';
	return 0;
}

/* Parses the message in W into MSG. */
static const struct dns_msg *parsed(void)
{
	assert_int_equal(dns_msg_parse(w.b, w.n, &msg), DNS_PARSE_OK);
	return &msg;
}

/* Delegation verdict of W, as from an authoritative server of ZONE. */
static bool deleg(const char *asked, bool auth)
{
	return dns_verdict_delegation(&chk, asked, auth, parsed(), &hops, &dv,
	                              next);
}

/* Every octet of S is printable ASCII (what a detail or log line gets). */
static void assert_printable(const char *s)
{
	for (; *s; s++)
		assert_true(*s >= 0x20 && *s < 0x7f);
}

/* ---- delegation ---- */

static void test_deleg_match(void **state)
{
	(void)state;
	wire_header(&w, 0, 1, 1, 1, 0);
	wire_question(&w, Q, DNS_T_TXT);
	wire_rr_name(&w, Q, DNS_T_CNAME, WANT);
	assert_false(deleg(Q, true));
	assert_int_equal(dv.outcome, DNS_MATCH);
	assert_string_equal(dv.seen, WANT);
}

static void test_deleg_match_after_hops_in_zone(void **state)
{
	(void)state;
	wire_header(&w, 0, 1, 1, 2, 0);
	wire_question(&w, Q, DNS_T_TXT);
	wire_rr_name(&w, Q, DNS_T_CNAME, "hop.example.com");
	wire_rr_name(&w, "hop.example.com", DNS_T_CNAME, WANT);
	assert_false(deleg(Q, true));
	assert_int_equal(dv.outcome, DNS_MATCH);
	assert_string_equal(dv.seen, "hop.example.com -> " WANT);
}

static void test_deleg_different(void **state)
{
	(void)state;
	wire_header(&w, 0, 1, 1, 2, 0);
	wire_question(&w, Q, DNS_T_TXT);
	wire_rr_name(&w, Q, DNS_T_CNAME, "elsewhere.example.com");
	wire_rr_txt(&w, "elsewhere.example.com", "x");
	assert_false(deleg(Q, true));
	assert_int_equal(dv.outcome, DNS_DIFFERENT);
	assert_string_equal(dv.seen, "elsewhere.example.com");
}

static void test_deleg_nxdomain(void **state)
{
	(void)state;
	wire_header(&w, 3, 1, 1, 0, 0);
	wire_question(&w, Q, DNS_T_TXT);
	assert_false(deleg(Q, true));
	assert_int_equal(dv.outcome, DNS_NXDOMAIN);
}

static void test_deleg_nodata(void **state)
{
	(void)state;
	wire_header(&w, 0, 1, 1, 0, 0);
	wire_question(&w, Q, DNS_T_TXT);
	assert_false(deleg(Q, true));
	assert_int_equal(dv.outcome, DNS_NODATA);
	assert_string_equal(dv.seen, "");
}

static void test_deleg_txt_instead_of_cname(void **state)
{
	(void)state;
	wire_header(&w, 0, 1, 1, 1, 0);
	wire_question(&w, Q, DNS_T_TXT);
	wire_rr_txtn(&w, Q, "a\"b\n\x01\xff", 6);
	assert_false(deleg(Q, true));
	assert_int_equal(dv.outcome, DNS_DIFFERENT);
	/* quoted, escaped, octets outside printable ASCII as \DDD */
	assert_string_equal(dv.seen, "TXT \"a\\\"b\\010\\001\\255\"");
	assert_printable(dv.seen);
}

static void test_deleg_ns_delegated(void **state)
{
	(void)state;
	wire_header(&w, 0, 0, 1, 0, 1);
	wire_question(&w, Q, DNS_T_TXT);
	wire_rr_name(&w, Q, DNS_T_NS, "ns.other.net");
	assert_false(deleg(Q, true));
	assert_int_equal(dv.outcome, DNS_NS_DELEGATED);
	assert_string_equal(dv.seen, "NS ns.other.net");
}

static void test_deleg_referral_up_is_lame(void **state)
{
	(void)state;
	/* a referral for the zone itself, or above it: not a delegation of
	 * _acme-challenge, the server is lame */
	wire_header(&w, 0, 0, 1, 0, 1);
	wire_question(&w, Q, DNS_T_TXT);
	wire_rr_name(&w, "com", DNS_T_NS, "a.gtld.net");
	assert_false(deleg(Q, true));
	assert_int_equal(dv.outcome, DNS_REFUSED);
	assert_non_null(strstr(dv.seen, "lame"));
}

static void test_deleg_lame(void **state)
{
	(void)state;
	wire_header(&w, 0, 0, 1, 0, 0);
	wire_question(&w, Q, DNS_T_TXT);
	assert_false(deleg(Q, true));
	assert_int_equal(dv.outcome, DNS_REFUSED);
	assert_string_equal(dv.seen, "not authoritative for example.com (lame)");
}

static void test_deleg_resolver_without_aa_is_not_lame(void **state)
{
	(void)state;
	wire_header(&w, 0, 0, 1, 0, 0);
	wire_question(&w, Q, DNS_T_TXT);
	assert_false(deleg(Q, false));
	assert_int_equal(dv.outcome, DNS_NODATA);
}

static void test_deleg_servfail_and_refused(void **state)
{
	(void)state;
	wire_header(&w, 2, 0, 1, 0, 0);
	wire_question(&w, Q, DNS_T_TXT);
	assert_false(deleg(Q, true));
	assert_int_equal(dv.outcome, DNS_SERVFAIL);
	wire_header(&w, 5, 0, 1, 0, 0);
	wire_question(&w, Q, DNS_T_TXT);
	assert_false(deleg(Q, true));
	assert_int_equal(dv.outcome, DNS_REFUSED);
	wire_header(&w, 4, 0, 1, 0, 0);   /* NOTIMP */
	wire_question(&w, Q, DNS_T_TXT);
	assert_false(deleg(Q, true));
	assert_int_equal(dv.outcome, DNS_NETERR);
}

static void test_deleg_loop_in_one_answer(void **state)
{
	(void)state;
	wire_header(&w, 0, 1, 1, 2, 0);
	wire_question(&w, Q, DNS_T_TXT);
	wire_rr_name(&w, Q, DNS_T_CNAME, "a.example.com");
	wire_rr_name(&w, "a.example.com", DNS_T_CNAME, Q);
	assert_false(deleg(Q, true));
	assert_int_equal(dv.outcome, DNS_CNAME_LOOP);
}

static void test_deleg_follows_a_chain_out_of_the_zone(void **state)
{
	(void)state;
	wire_header(&w, 0, 1, 1, 1, 0);
	wire_question(&w, Q, DNS_T_TXT);
	wire_rr_name(&w, Q, DNS_T_CNAME, "hop.other.net");
	assert_true(deleg(Q, true));
	assert_string_equal(next, "hop.other.net");
	/* the resolvers' answer to "hop.other.net CNAME" */
	wire_header(&w, 0, 0, 1, 1, 0);
	wire_question(&w, "hop.other.net", DNS_T_CNAME);
	wire_rr_name(&w, "hop.other.net", DNS_T_CNAME, WANT);
	assert_false(deleg("hop.other.net", true));
	assert_int_equal(dv.outcome, DNS_MATCH);
	assert_string_equal(dv.seen, "hop.other.net -> " WANT);
}

static void test_deleg_chain_ends_elsewhere(void **state)
{
	(void)state;
	wire_header(&w, 0, 1, 1, 1, 0);
	wire_question(&w, Q, DNS_T_TXT);
	wire_rr_name(&w, Q, DNS_T_CNAME, "hop.other.net");
	assert_true(deleg(Q, true));
	wire_header(&w, 0, 0, 1, 0, 0);    /* hop.other.net: no CNAME */
	wire_question(&w, "hop.other.net", DNS_T_CNAME);
	assert_false(deleg(next, true));
	assert_int_equal(dv.outcome, DNS_DIFFERENT);
	assert_string_equal(dv.seen, "hop.other.net (end)");
	wire_header(&w, 3, 0, 1, 0, 0);    /* or it does not exist */
	wire_question(&w, "hop.other.net", DNS_T_CNAME);
	assert_false(deleg("hop.other.net", true));
	assert_int_equal(dv.outcome, DNS_DIFFERENT);
	assert_non_null(strstr(dv.seen, "(nxdomain)"));
}

static void test_deleg_alias_of_the_root_ends(void **state)
{
	(void)state;
	/* found by fuzz_dns_verdict_delegation: a CNAME to "." was followed,
	 * with "" as the next name to ask */
	wire_header(&w, 0, 1, 1, 1, 0);
	wire_question(&w, Q, DNS_T_TXT);
	wire_rr_name(&w, Q, DNS_T_CNAME, "");
	assert_false(deleg(Q, true));
	assert_int_equal(dv.outcome, DNS_DIFFERENT);
	assert_string_equal(dv.seen, ". (the root)");
}

static void test_deleg_loop_across_hops(void **state)
{
	(void)state;
	wire_header(&w, 0, 1, 1, 1, 0);
	wire_question(&w, Q, DNS_T_TXT);
	wire_rr_name(&w, Q, DNS_T_CNAME, "a.other.net");
	assert_true(deleg(Q, true));
	wire_header(&w, 0, 0, 1, 1, 0);
	wire_question(&w, "a.other.net", DNS_T_CNAME);
	wire_rr_name(&w, "a.other.net", DNS_T_CNAME, "b.other.net");
	assert_true(deleg("a.other.net", true));
	assert_string_equal(next, "b.other.net");
	wire_header(&w, 0, 0, 1, 1, 0);
	wire_question(&w, "b.other.net", DNS_T_CNAME);
	wire_rr_name(&w, "b.other.net", DNS_T_CNAME, "a.other.net");
	assert_false(deleg("b.other.net", true));
	assert_int_equal(dv.outcome, DNS_CNAME_LOOP);
	assert_non_null(strstr(dv.seen, "(loop)"));
}

static void test_deleg_too_long_in_one_answer(void **state)
{
	char from[DNAME_MAX + 1], to[DNAME_MAX + 1];
	(void)state;
	wire_header(&w, 0, 1, 1, 6, 0);
	wire_question(&w, Q, DNS_T_TXT);
	strcpy(from, Q);
	for (int i = 0; i < 6; i++) {
		snprintf(to, sizeof to, "h%d.example.com", i);
		wire_rr_name(&w, from, DNS_T_CNAME, to);
		strcpy(from, to);
	}
	assert_false(deleg(Q, true));
	assert_int_equal(dv.outcome, DNS_CHAIN_TOO_LONG);
	assert_non_null(strstr(dv.seen, "(over 4 hops)"));
}

static void test_deleg_too_long_across_hops(void **state)
{
	char from[DNAME_MAX + 1], to[DNAME_MAX + 1];
	bool follow;
	int rounds = 0;
	(void)state;
	/* every hop answer leads one name on: the depth cap ends it */
	wire_header(&w, 0, 1, 1, 1, 0);
	wire_question(&w, Q, DNS_T_TXT);
	wire_rr_name(&w, Q, DNS_T_CNAME, "h0.other.net");
	follow = deleg(Q, true);
	while (follow && rounds < 100) {
		strcpy(from, next);
		snprintf(to, sizeof to, "h%d.other.net", ++rounds);
		wire_header(&w, 0, 0, 1, 1, 0);
		wire_question(&w, from, DNS_T_CNAME);
		wire_rr_name(&w, from, DNS_T_CNAME, to);
		follow = deleg(from, true);
	}
	assert_false(follow);
	assert_true(rounds <= opts.max_cname_depth);
	assert_int_equal(dv.outcome, DNS_CHAIN_TOO_LONG);
}

static void test_deleg_more_hops_than_read_from_one_answer(void **state)
{
	char from[DNAME_MAX + 1], to[DNAME_MAX + 1];
	(void)state;
	opts.max_cname_depth = 16;
	wire_header(&w, 0, 1, 1, 20, 0);
	wire_question(&w, Q, DNS_T_TXT);
	strcpy(from, Q);
	for (int i = 0; i < 20; i++) {
		snprintf(to, sizeof to, "h%d.example.com", i);
		wire_rr_name(&w, from, DNS_T_CNAME, to);
		strcpy(from, to);
	}
	assert_false(deleg(Q, true));
	assert_int_equal(dv.outcome, DNS_CHAIN_TOO_LONG);
}

static void test_deleg_cut_answer_is_too_big(void **state)
{
	uint8_t a[4] = { 192, 0, 2, 1 };
	(void)state;
	/* 32 records the parser keeps, then the CNAME it does not: no
	 * "nodata" from what was not read */
	wire_header(&w, 0, 1, 1, DNS_MAX_RR + 1, 0);
	wire_question(&w, Q, DNS_T_TXT);
	for (int i = 0; i < DNS_MAX_RR; i++)
		wire_rr_addr(&w, "junk.example.com", DNS_T_A, a);
	wire_rr_name(&w, Q, DNS_T_CNAME, WANT);
	assert_false(deleg(Q, true));
	assert_true(msg.too_many);
	assert_int_equal(dv.outcome, DNS_TOOBIG);
	assert_non_null(strstr(dv.seen, "not all read"));
}

/* ---- propagation ---- */

static void prop_setup(const char *value)
{
	chk.kind = DNS_KIND_PROPAGATION;
	strcpy(chk.qname, WANT);
	strcpy(chk.want, value);
	strcpy(chk.zone, "validation.test");
}

static void test_prop_match(void **state)
{
	(void)state;
	prop_setup("tok-1");
	wire_header(&w, 0, 1, 1, 2, 0);
	wire_question(&w, WANT, DNS_T_TXT);
	wire_rr_txt(&w, WANT, "other");
	wire_rr_txt(&w, WANT, "tok-1");
	dns_verdict_propagation(&chk, true, parsed(), &dv);
	assert_int_equal(dv.outcome, DNS_MATCH);
	assert_string_equal(dv.seen, "tok-1");
}

static void test_prop_different(void **state)
{
	(void)state;
	prop_setup("tok-1");
	wire_header(&w, 0, 1, 1, 2, 0);
	wire_question(&w, WANT, DNS_T_TXT);
	wire_rr_txt(&w, WANT, "a");
	wire_rr_txt(&w, WANT, "b");
	dns_verdict_propagation(&chk, true, parsed(), &dv);
	assert_int_equal(dv.outcome, DNS_DIFFERENT);
	assert_string_equal(dv.seen, "\"a\", \"b\"");
}

static void test_prop_truncated_txt_never_matches(void **state)
{
	char big[DNS_MAX_TXT + 1], rdata[300];
	size_t start;
	(void)state;
	memset(big, 'v', DNS_MAX_TXT);
	big[DNS_MAX_TXT] = '\0';
	prop_setup(big);
	/* the value, then one more character-string: over what is kept */
	wire_header(&w, 0, 1, 1, 1, 0);
	wire_question(&w, WANT, DNS_T_TXT);
	start = wire_rr_head(&w, WANT, DNS_T_TXT);
	put8(&w, DNS_MAX_TXT);
	memcpy(w.b + w.n, big, DNS_MAX_TXT);
	w.n += DNS_MAX_TXT;
	memset(rdata, 'v', 3);
	put8(&w, 3);
	memcpy(w.b + w.n, rdata, 3);
	w.n += 3;
	wire_rdlen(&w, start);
	dns_verdict_propagation(&chk, true, parsed(), &dv);
	assert_true(msg.an[0].u.txt.cut);
	assert_int_equal(dv.outcome, DNS_DIFFERENT);
	assert_non_null(strstr(dv.seen, "(cut)"));
}

static void test_prop_nul_octet_is_not_the_end(void **state)
{
	(void)state;
	prop_setup("tok");
	wire_header(&w, 0, 1, 1, 1, 0);
	wire_question(&w, WANT, DNS_T_TXT);
	wire_rr_txtn(&w, WANT, "tok\0more", 8);
	dns_verdict_propagation(&chk, true, parsed(), &dv);
	assert_int_equal(dv.outcome, DNS_DIFFERENT);
	assert_string_equal(dv.seen, "\"tok\\000more\"");
}

static void test_prop_nxdomain_nodata(void **state)
{
	(void)state;
	prop_setup("tok");
	wire_header(&w, 3, 1, 1, 0, 0);
	wire_question(&w, WANT, DNS_T_TXT);
	dns_verdict_propagation(&chk, true, parsed(), &dv);
	assert_int_equal(dv.outcome, DNS_NXDOMAIN);
	wire_header(&w, 0, 1, 1, 0, 0);
	wire_question(&w, WANT, DNS_T_TXT);
	dns_verdict_propagation(&chk, true, parsed(), &dv);
	assert_int_equal(dv.outcome, DNS_NODATA);
}

static void test_prop_lame(void **state)
{
	(void)state;
	prop_setup("tok");
	wire_header(&w, 0, 0, 1, 1, 0);
	wire_question(&w, WANT, DNS_T_TXT);
	wire_rr_txt(&w, WANT, "tok");
	dns_verdict_propagation(&chk, true, parsed(), &dv);
	assert_int_equal(dv.outcome, DNS_REFUSED);
	assert_non_null(strstr(dv.seen, "not authoritative"));
	/* from a resolver AA is not expected */
	memset(&dv, 0, sizeof dv);
	dns_verdict_propagation(&chk, false, parsed(), &dv);
	assert_int_equal(dv.outcome, DNS_MATCH);
}

static void test_prop_too_many_values(void **state)
{
	(void)state;
	prop_setup("tok");
	wire_header(&w, 0, 1, 1, DNS_MAX_RR + 1, 0);
	wire_question(&w, WANT, DNS_T_TXT);
	for (int i = 0; i <= DNS_MAX_RR; i++)
		wire_rr_txt(&w, WANT, i == DNS_MAX_RR ? "tok" : "other");
	dns_verdict_propagation(&chk, true, parsed(), &dv);
	assert_true(msg.too_many);
	assert_int_equal(dv.outcome, DNS_TOOBIG);
}

static void test_prop_through_a_chain_and_loop(void **state)
{
	(void)state;
	prop_setup("tok");
	wire_header(&w, 0, 1, 1, 2, 0);
	wire_question(&w, WANT, DNS_T_TXT);
	wire_rr_name(&w, WANT, DNS_T_CNAME, "x.validation.test");
	wire_rr_txt(&w, "x.validation.test", "tok");
	dns_verdict_propagation(&chk, true, parsed(), &dv);
	assert_int_equal(dv.outcome, DNS_MATCH);
	wire_header(&w, 0, 1, 1, 1, 0);
	wire_question(&w, WANT, DNS_T_TXT);
	wire_rr_name(&w, WANT, DNS_T_CNAME, WANT);
	dns_verdict_propagation(&chk, true, parsed(), &dv);
	assert_int_equal(dv.outcome, DNS_CNAME_LOOP);
}

/* ---- pointing ---- */

static void point_setup(void)
{
	chk.kind = DNS_KIND_POINTING;
	strcpy(chk.qname, "www.example.com");
	chk.zone[0] = '\0';
	assert_int_equal(dns_parse_cidr("203.0.113.0/24", &opts.ranges[0]), 0);
	assert_int_equal(dns_parse_cidr("2001:db8:cafe::/48", &opts.ranges[1]), 0);
	opts.n_ranges = 2;
	strcpy(opts.suffixes[0], "cdn.example.net");
	opts.n_suffixes = 1;
}

static bool point(int type)
{
	return dns_verdict_pointing(&chk, type, parsed(), &dv);
}

static void test_point_by_range_v4(void **state)
{
	uint8_t a[4];
	(void)state;
	point_setup();
	inet_pton(AF_INET, "203.0.113.7", a);
	wire_header(&w, 0, 0, 1, 1, 0);
	wire_question(&w, "www.example.com", DNS_T_A);
	wire_rr_addr(&w, "www.example.com", DNS_T_A, a);
	assert_true(point(DNS_T_A));
	assert_int_equal(dv.outcome, DNS_MATCH);
	assert_string_equal(dv.seen, "203.0.113.7");
}

static void test_point_by_range_v6_through_chain(void **state)
{
	uint8_t a[16];
	(void)state;
	point_setup();
	inet_pton(AF_INET6, "2001:db8:cafe::9", a);
	wire_header(&w, 0, 0, 1, 2, 0);
	wire_question(&w, "www.example.com", DNS_T_AAAA);
	wire_rr_name(&w, "www.example.com", DNS_T_CNAME, "lb.example.org");
	wire_rr_addr(&w, "lb.example.org", DNS_T_AAAA, a);
	assert_true(point(DNS_T_AAAA));
	assert_string_equal(dv.seen, "lb.example.org: 2001:db8:cafe::9");
}

static void test_point_by_suffix(void **state)
{
	uint8_t a[4];
	(void)state;
	point_setup();
	inet_pton(AF_INET, "192.0.2.1", a);
	wire_header(&w, 0, 0, 1, 2, 0);
	wire_question(&w, "www.example.com", DNS_T_A);
	wire_rr_name(&w, "www.example.com", DNS_T_CNAME, "x.cdn.example.net");
	wire_rr_addr(&w, "x.cdn.example.net", DNS_T_A, a);
	assert_true(point(DNS_T_A));
	/* the suffix itself is not under it */
	wire_header(&w, 0, 0, 1, 2, 0);
	wire_question(&w, "www.example.com", DNS_T_A);
	wire_rr_name(&w, "www.example.com", DNS_T_CNAME, "cdn.example.net");
	wire_rr_addr(&w, "cdn.example.net", DNS_T_A, a);
	memset(&dv, 0, sizeof dv);
	assert_false(point(DNS_T_A));
	assert_int_equal(dv.outcome, DNS_DIFFERENT);
}

static void test_point_elsewhere(void **state)
{
	uint8_t a[4];
	(void)state;
	point_setup();
	inet_pton(AF_INET, "198.51.100.1", a);
	wire_header(&w, 0, 0, 1, 1, 0);
	wire_question(&w, "www.example.com", DNS_T_A);
	wire_rr_addr(&w, "www.example.com", DNS_T_A, a);
	assert_false(point(DNS_T_A));
	assert_int_equal(dv.outcome, DNS_DIFFERENT);
	assert_string_equal(dv.seen, "198.51.100.1");
}

static void test_point_other_type_and_owner_ignored(void **state)
{
	uint8_t a[4];
	(void)state;
	point_setup();
	inet_pton(AF_INET, "203.0.113.7", a);
	wire_header(&w, 0, 0, 1, 2, 0);
	wire_question(&w, "www.example.com", DNS_T_AAAA);
	wire_rr_addr(&w, "www.example.com", DNS_T_A, a);     /* not AAAA */
	wire_rr_addr(&w, "evil.example.com", DNS_T_A, a);    /* not the name */
	assert_false(dns_verdict_pointing(&chk, DNS_T_AAAA, parsed(), &dv));
	assert_int_equal(dv.outcome, DNS_NODATA);
	memset(&dv, 0, sizeof dv);
	assert_false(dns_verdict_pointing(&chk, DNS_T_TXT, parsed(), &dv));
}

static void test_point_cut_answer_is_undecided(void **state)
{
	uint8_t a[4] = { 198, 51, 100, 1 }, ours[4] = { 203, 0, 113, 7 };
	(void)state;
	point_setup();
	wire_header(&w, 0, 0, 1, DNS_MAX_RR + 1, 0);
	wire_question(&w, "www.example.com", DNS_T_A);
	for (int i = 0; i < DNS_MAX_RR; i++) {
		a[3] = (uint8_t)i;
		wire_rr_addr(&w, "www.example.com", DNS_T_A, a);
	}
	wire_rr_addr(&w, "www.example.com", DNS_T_A, ours); /* not kept */
	assert_false(point(DNS_T_A));
	assert_int_equal(dv.outcome, DNS_TOOBIG);
	/* never taken for "not pointing": that would offboard the domain */
	memset(&res, 0, sizeof res);
	res.n_vantage = 2;
	res.vantage[0] = dv;
	res.vantage[1].outcome = DNS_NODATA;
	dns_verdict_conclude(&chk, false, &res);
	assert_int_equal(res.status, DNS_CHECK_TRANSIENT);
	assert_false(res.pointing);
}

static void test_point_nxdomain_servfail(void **state)
{
	(void)state;
	point_setup();
	wire_header(&w, 3, 0, 1, 0, 0);
	wire_question(&w, "www.example.com", DNS_T_A);
	assert_false(point(DNS_T_A));
	assert_int_equal(dv.outcome, DNS_NXDOMAIN);
	wire_header(&w, 2, 0, 1, 0, 0);
	wire_question(&w, "www.example.com", DNS_T_A);
	assert_false(point(DNS_T_A));
	assert_int_equal(dv.outcome, DNS_SERVFAIL);
}

/* ---- conclusion ---- */

static void outcomes(int n, ...)
{
	va_list ap;
	memset(&res, 0, sizeof res);
	res.bad = -1;
	res.n_vantage = n;
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		res.vantage[i].outcome = (enum dns_outcome)va_arg(ap, int);
		snprintf(res.vantage[i].server, sizeof res.vantage[i].server,
		         "auth 192.0.2.%d:53", i + 1);
	}
	va_end(ap);
}

static void test_conclude_confirming_then_ok(void **state)
{
	(void)state;
	opts.confirmations = 2;
	opts.confirmation_interval_ms = 1500;
	outcomes(3, DNS_MATCH, DNS_MATCH, DNS_MATCH);
	dns_verdict_conclude(&chk, false, &res);
	assert_int_equal(res.status, DNS_CHECK_CONFIRMING);
	assert_int_equal(res.confirmations, 1);
	assert_int_equal(res.needed, 2);
	assert_int_equal(res.retry_after_ms, 1500);
	chk.prev = 1;
	dns_verdict_conclude(&chk, false, &res);
	assert_int_equal(res.status, DNS_CHECK_OK);
	assert_int_equal(res.retry_after_ms, 0);
	assert_int_equal(res.bad, -1);
}

static void test_conclude_mismatch_resets(void **state)
{
	(void)state;
	chk.prev = 1;
	outcomes(3, DNS_MATCH, DNS_TIMEOUT, DNS_NXDOMAIN);
	dns_verdict_conclude(&chk, false, &res);
	assert_int_equal(res.status, DNS_CHECK_MISMATCH);
	assert_int_equal(res.bad, 2);
	assert_int_equal(res.confirmations, 0);
	assert_string_equal(res.detail, "auth 192.0.2.3:53 answered nxdomain: -");
}

static void test_conclude_transients_keep_the_count(void **state)
{
	(void)state;
	chk.prev = 1;
	/* two transient outcomes: still transient, not a mismatch */
	outcomes(3, DNS_TIMEOUT, DNS_MATCH, DNS_SERVFAIL);
	dns_verdict_conclude(&chk, false, &res);
	assert_int_equal(res.status, DNS_CHECK_TRANSIENT);
	assert_int_equal(res.bad, 0);
	assert_int_equal(res.confirmations, 1);
}

static void test_conclude_ns_delegated_first(void **state)
{
	(void)state;
	outcomes(2, DNS_DIFFERENT, DNS_NS_DELEGATED);
	strcpy(res.vantage[1].seen, "NS ns.other.net");
	dns_verdict_conclude(&chk, false, &res);
	assert_int_equal(res.status, DNS_CHECK_NS_DELEGATED);
	assert_int_equal(res.bad, 1);
	assert_non_null(strstr(res.detail, "replace the delegation with a CNAME"));
}

static void test_conclude_failed_keeps_engine_status(void **state)
{
	(void)state;
	chk.prev = 1;
	outcomes(2, DNS_MATCH, DNS_DEADLINE);
	res.status = DNS_CHECK_TRANSIENT;
	res.bad = 1;
	strcpy(res.detail, "deadline reached: auth 192.0.2.2:53 did not answer");
	dns_verdict_conclude(&chk, true, &res);
	assert_int_equal(res.status, DNS_CHECK_TRANSIENT);
	assert_int_equal(res.bad, 1);
	assert_int_equal(res.confirmations, 1);
	assert_string_equal(res.detail,
	                    "deadline reached: auth 192.0.2.2:53 did not answer");
}

static void test_conclude_nothing_asked(void **state)
{
	(void)state;
	outcomes(0);
	dns_verdict_conclude(&chk, false, &res);
	assert_int_equal(res.status, DNS_CHECK_ERROR);
	res.n_vantage = DNS_MAX_VANTAGE + 1;
	dns_verdict_conclude(&chk, false, &res);
	assert_int_equal(res.status, DNS_CHECK_ERROR);
}

static void test_conclude_propagation(void **state)
{
	(void)state;
	chk.kind = DNS_KIND_PROPAGATION;
	outcomes(2, DNS_MATCH, DNS_MATCH);
	dns_verdict_conclude(&chk, false, &res);
	assert_int_equal(res.status, DNS_CHECK_OK);
	assert_int_equal(res.needed, 1);
	outcomes(2, DNS_MATCH, DNS_NODATA);
	dns_verdict_conclude(&chk, false, &res);
	assert_int_equal(res.status, DNS_CHECK_MISMATCH);
}

static void test_conclude_pointing(void **state)
{
	(void)state;
	chk.kind = DNS_KIND_POINTING;
	outcomes(2, DNS_SERVFAIL, DNS_MATCH);
	dns_verdict_conclude(&chk, false, &res);
	assert_int_equal(res.status, DNS_CHECK_OK);
	assert_true(res.pointing);
	outcomes(2, DNS_SERVFAIL, DNS_NODATA);
	dns_verdict_conclude(&chk, false, &res);
	assert_int_equal(res.status, DNS_CHECK_TRANSIENT);
	assert_false(res.pointing);
	assert_int_equal(res.bad, 0);
	outcomes(2, DNS_DIFFERENT, DNS_NXDOMAIN);
	dns_verdict_conclude(&chk, false, &res);
	assert_int_equal(res.status, DNS_CHECK_MISMATCH);
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_deleg_match),
		T(test_deleg_match_after_hops_in_zone),
		T(test_deleg_different),
		T(test_deleg_nxdomain),
		T(test_deleg_nodata),
		T(test_deleg_txt_instead_of_cname),
		T(test_deleg_ns_delegated),
		T(test_deleg_referral_up_is_lame),
		T(test_deleg_lame),
		T(test_deleg_resolver_without_aa_is_not_lame),
		T(test_deleg_servfail_and_refused),
		T(test_deleg_loop_in_one_answer),
		T(test_deleg_follows_a_chain_out_of_the_zone),
		T(test_deleg_chain_ends_elsewhere),
		T(test_deleg_alias_of_the_root_ends),
		T(test_deleg_loop_across_hops),
		T(test_deleg_too_long_in_one_answer),
		T(test_deleg_too_long_across_hops),
		T(test_deleg_more_hops_than_read_from_one_answer),
		T(test_deleg_cut_answer_is_too_big),
		T(test_prop_match),
		T(test_prop_different),
		T(test_prop_truncated_txt_never_matches),
		T(test_prop_nul_octet_is_not_the_end),
		T(test_prop_nxdomain_nodata),
		T(test_prop_lame),
		T(test_prop_too_many_values),
		T(test_prop_through_a_chain_and_loop),
		T(test_point_by_range_v4),
		T(test_point_by_range_v6_through_chain),
		T(test_point_by_suffix),
		T(test_point_elsewhere),
		T(test_point_other_type_and_owner_ignored),
		T(test_point_cut_answer_is_undecided),
		T(test_point_nxdomain_servfail),
		T(test_conclude_confirming_then_ok),
		T(test_conclude_mismatch_resets),
		T(test_conclude_transients_keep_the_count),
		T(test_conclude_ns_delegated_first),
		T(test_conclude_failed_keeps_engine_status),
		T(test_conclude_nothing_asked),
		T(test_conclude_propagation),
		T(test_conclude_pointing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
