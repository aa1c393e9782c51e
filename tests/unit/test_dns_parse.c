/*
 * Unit tests of the DNS layer's pure parts: the answer parser (with its
 * size and count caps), CNAME chains, addresses, CIDR ranges, suffixes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "dns.h"
#include "dns_wire.h"

static struct dns_msg msg;

static void test_parse_chain(void **state)
{
	static struct wire w;
	char chain[8][DNAME_MAX + 1];
	(void)state;

	wire_header(&w, 3, 1, 1, 2, 0);
	putname(&w, "_ACME-challenge.Example.com");
	put16(&w, DNS_T_TXT);
	put16(&w, 1);
	wire_rr_name(&w, "_acme-challenge.example.com", DNS_T_CNAME, "a.other.net");
	wire_rr_name(&w, "a.other.net", DNS_T_CNAME, "t.val.net");
	assert_int_equal(dns_msg_parse(w.b, w.n, &msg), DNS_PARSE_OK);
	assert_int_equal(msg.rcode, 3);
	assert_true(msg.aa);
	assert_string_equal(msg.qname, "_acme-challenge.example.com");
	assert_int_equal(msg.n_an, 2);
	assert_int_equal(dns_msg_chain(&msg, "_acme-challenge.example.com",
	                               chain, 8), 2);
	assert_string_equal(chain[0], "a.other.net");
	assert_string_equal(chain[1], "t.val.net");
	/* more hops than allowed */
	assert_int_equal(dns_msg_chain(&msg, "_acme-challenge.example.com",
	                               chain, 1), -2);
}

static void test_parse_loop(void **state)
{
	static struct wire w;
	char chain[8][DNAME_MAX + 1];
	(void)state;

	wire_header(&w, 0, 1, 0, 3, 0);
	wire_rr_name(&w, "a.x", DNS_T_CNAME, "b.x");
	wire_rr_name(&w, "b.x", DNS_T_CNAME, "c.x");
	wire_rr_name(&w, "c.x", DNS_T_CNAME, "b.x");
	assert_int_equal(dns_msg_parse(w.b, w.n, &msg), DNS_PARSE_OK);
	assert_int_equal(dns_msg_chain(&msg, "a.x", chain, 8), -1);
}

static void test_parse_compression(void **state)
{
	static struct wire w;
	(void)state;

	wire_header(&w, 0, 1, 1, 1, 0);
	putname(&w, "v.example.com");      /* at offset 12 */
	put16(&w, DNS_T_TXT);
	put16(&w, 1);
	put16(&w, 0xc000 | 12);            /* owner: pointer to the qname */
	put16(&w, DNS_T_TXT);
	put16(&w, 1);
	put32(&w, 60);
	put16(&w, 8);
	put8(&w, 3); memcpy(w.b + w.n, "abc", 3); w.n += 3;
	put8(&w, 3); memcpy(w.b + w.n, "def", 3); w.n += 3;
	assert_int_equal(dns_msg_parse(w.b, w.n, &msg), DNS_PARSE_OK);
	assert_int_equal(msg.n_an, 1);
	assert_string_equal(msg.an[0].owner, "v.example.com");
	assert_string_equal(msg.an[0].u.txt.text, "abcdef");

	/* a pointer to itself (or forward) is refused, not followed */
	wire_header(&w, 0, 1, 0, 1, 0);
	put16(&w, 0xc000 | 12);
	put16(&w, DNS_T_A);
	assert_int_equal(dns_msg_parse(w.b, w.n, &msg), DNS_PARSE_MALFORMED);
}

static void test_parse_caps(void **state)
{
	static struct wire w;
	(void)state;

	/* more records than DNS_MAX_RR: kept up to the cap, flagged */
	wire_header(&w, 0, 1, 0, DNS_MAX_RR + 5, 0);
	for (int i = 0; i < DNS_MAX_RR + 5; i++)
		wire_rr_txt(&w, "v.example.com", "value");
	assert_int_equal(dns_msg_parse(w.b, w.n, &msg), DNS_PARSE_OK);
	assert_int_equal(msg.n_an, DNS_MAX_RR);
	assert_true(msg.too_many);

	/* over the size cap: refused before parsing */
	assert_int_equal(dns_msg_parse(w.b, DNS_MAX_ANSWER + 1, &msg),
	                 DNS_PARSE_TOOBIG);

	/* a record running past the end */
	wire_header(&w, 0, 1, 0, 1, 0);
	wire_rr_txt(&w, "v.example.com", "value");
	assert_int_equal(dns_msg_parse(w.b, w.n - 2, &msg), DNS_PARSE_MALFORMED);
	assert_int_equal(dns_msg_parse(w.b, 5, &msg), DNS_PARSE_MALFORMED);

	/* a TXT string longer than DNS_MAX_TXT is cut and marked */
	{
		char big[300];
		memset(big, 'x', 250);
		big[250] = '\0';
		wire_header(&w, 0, 1, 0, 1, 0);
		putname(&w, "v.x");
		put16(&w, DNS_T_TXT);
		put16(&w, 1);
		put32(&w, 1);
		put16(&w, 2 * 251);
		put8(&w, 250); memcpy(w.b + w.n, big, 250); w.n += 250;
		put8(&w, 250); memcpy(w.b + w.n, big, 250); w.n += 250;
		assert_int_equal(dns_msg_parse(w.b, w.n, &msg), DNS_PARSE_OK);
		assert_true(msg.an[0].u.txt.cut);
		assert_int_equal(strlen(msg.an[0].u.txt.text), DNS_MAX_TXT);
	}
}

static void test_authority_soa(void **state)
{
	static struct wire w;
	(void)state;

	wire_header(&w, 3, 1, 0, 0, 1);
	wire_rr_name(&w, "example.com", DNS_T_SOA, "ns1.example.com");
	/* SOA rdata continues with rname and five numbers: append them */
	assert_int_equal(dns_msg_parse(w.b, w.n, &msg), DNS_PARSE_OK);
	assert_int_equal(msg.n_ns, 1);
	assert_int_equal(msg.ns[0].type, DNS_T_SOA);
	assert_string_equal(msg.ns[0].owner, "example.com");
}

static void test_hostport(void **state)
{
	char a[DNS_ADDR_MAX];
	int port;
	(void)state;

	assert_int_equal(dns_parse_hostport("127.0.0.1:5353", 53, a, &port), 0);
	assert_string_equal(a, "127.0.0.1");
	assert_int_equal(port, 5353);
	assert_int_equal(dns_parse_hostport("10.1.2.3", 53, a, &port), 0);
	assert_int_equal(port, 53);
	assert_int_equal(dns_parse_hostport("::1", 53, a, &port), 0);
	assert_string_equal(a, "::1");
	assert_int_equal(dns_parse_hostport("[2001:db8::1]:99", 53, a, &port), 0);
	assert_string_equal(a, "2001:db8::1");
	assert_int_equal(port, 99);
	assert_int_equal(dns_parse_hostport("host.example:53", 53, a, &port), -1);
	assert_int_equal(dns_parse_hostport("1.2.3.4:0", 53, a, &port), -1);
	assert_int_equal(dns_parse_hostport("1.2.3.4:70000", 53, a, &port), -1);
	assert_int_equal(dns_parse_hostport("[::1", 53, a, &port), -1);
	assert_int_equal(dns_parse_hostport("", 53, a, &port), -1);
}

static void test_portmap(void **state)
{
	struct dns_portmap pm;
	(void)state;

	assert_int_equal(dns_parse_portmap("127.0.0.2=5353", &pm), 0);
	assert_string_equal(pm.from, "127.0.0.2");
	assert_string_equal(pm.to, "");
	assert_int_equal(pm.port, 5353);
	assert_int_equal(dns_parse_portmap("2001:db8::2=127.0.0.1:5301", &pm), 0);
	assert_string_equal(pm.from, "2001:db8::2");
	assert_string_equal(pm.to, "127.0.0.1");
	assert_int_equal(pm.port, 5301);
	assert_int_equal(dns_parse_portmap("NS1.Example.COM.=[::1]:53", &pm), 0);
	assert_string_equal(pm.from, "ns1.example.com");
	assert_string_equal(pm.to, "::1");
	assert_int_equal(dns_parse_portmap("=53", &pm), -1);
	assert_int_equal(dns_parse_portmap("1.2.3.4", &pm), -1);
	assert_int_equal(dns_parse_portmap("1.2.3.4=99999", &pm), -1);
}

static void test_cidr(void **state)
{
	struct dns_cidr r;
	uint8_t a[16];
	(void)state;

	assert_int_equal(dns_parse_cidr("203.0.113.77/24", &r), 0);
	assert_int_equal(r.family, AF_INET);
	inet_pton(AF_INET, "203.0.113.5", a);
	assert_true(dns_cidr_contains(&r, AF_INET, a));
	inet_pton(AF_INET, "203.0.114.5", a);
	assert_false(dns_cidr_contains(&r, AF_INET, a));

	assert_int_equal(dns_parse_cidr("10.0.0.0/9", &r), 0);
	inet_pton(AF_INET, "10.127.255.255", a);
	assert_true(dns_cidr_contains(&r, AF_INET, a));
	inet_pton(AF_INET, "10.128.0.0", a);
	assert_false(dns_cidr_contains(&r, AF_INET, a));

	assert_int_equal(dns_parse_cidr("2001:db8:cafe::/48", &r), 0);
	inet_pton(AF_INET6, "2001:db8:cafe:1::7", a);
	assert_true(dns_cidr_contains(&r, AF_INET6, a));
	assert_false(dns_cidr_contains(&r, AF_INET, a)); /* family differs */
	inet_pton(AF_INET6, "2001:db8:caff::7", a);
	assert_false(dns_cidr_contains(&r, AF_INET6, a));

	assert_int_equal(dns_parse_cidr("0.0.0.0/0", &r), 0);
	inet_pton(AF_INET, "8.8.8.8", a);
	assert_true(dns_cidr_contains(&r, AF_INET, a));

	assert_int_equal(dns_parse_cidr("192.0.2.1", &r), 0);
	assert_int_equal(r.prefix, 32);
	assert_int_equal(dns_parse_cidr("10.0.0.0/33", &r), -1);
	assert_int_equal(dns_parse_cidr("::/129", &r), -1);
	assert_int_equal(dns_parse_cidr("cdn.example/8", &r), -1);
	assert_int_equal(dns_parse_cidr("10.0.0.0/", &r), -1);
}

/* Whether the NS address TEXT is refused, and why. */
static const char *refused(const struct dns_opts *o, const char *text)
{
	uint8_t a[16];
	int fam = strchr(text, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(fam, text, a), 1);
	return dns_ns_addr_refused(o, fam, a);
}

static void test_ns_addr_refused(void **state)
{
	static const char *const bad[][2] = {
		{ "0.0.0.0", "\"this network\" (0.0.0.0/8)" },
		{ "10.1.2.3", "private (RFC 1918)" },
		{ "172.31.255.255", "private (RFC 1918)" },
		{ "192.168.0.1", "private (RFC 1918)" },
		{ "100.127.0.1", "shared address space (RFC 6598)" },
		{ "127.0.0.53", "loopback" },
		{ "169.254.169.254", "link-local" },
		{ "192.0.0.8", "IETF protocol assignments" },
		{ "192.0.2.1", "documentation (TEST-NET-1)" },
		{ "198.18.0.1", "benchmarking (RFC 2544)" },
		{ "198.51.100.7", "documentation (TEST-NET-2)" },
		{ "203.0.113.7", "documentation (TEST-NET-3)" },
		{ "224.0.0.251", "multicast" },
		{ "255.255.255.255", "reserved or broadcast (240.0.0.0/4)" },
		{ "::", "unspecified" },
		{ "::1", "loopback" },
		{ "::10.0.0.1", "IPv4-compatible (deprecated)" },
		{ "::ffff:127.0.0.1", "loopback" },
		{ "::ffff:10.0.0.1", "private (RFC 1918)" },
		{ "64:ff9b::a9fe:a9fe", "link-local" },
		{ "64:ff9b:1::1", "NAT64 local use" },
		{ "2002:c0a8:101::1", "private (RFC 1918)" },
		{ "100::1", "discard only (RFC 6666)" },
		{ "2001:db8::53", "documentation" },
		{ "3fff::1", "documentation" },
		{ "fd12:3456::1", "unique local (fc00::/7)" },
		{ "fe80::1", "link-local" },
		{ "fec0::1", "site-local (deprecated)" },
		{ "ff02::1", "multicast" },
	};
	static const char *const good[] = {
		"8.8.8.8", "172.32.0.1", "100.128.0.1", "192.0.3.1", "198.20.0.1",
		"223.255.255.255", "2001:4860:4860::8888", "::ffff:8.8.8.8",
		"64:ff9b::808:808", "2002:808:808::1", "2606:4700::1111",
	};
	struct dns_opts o;
	(void)state;

	dns_opts_default(&o);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *why = refused(&o, bad[i][0]);
		if (!why || strcmp(why, bad[i][1]) != 0)
			fail_msg("%s: %s, want %s", bad[i][0], why ? why : "allowed",
			         bad[i][1]);
	}
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		if (refused(&o, good[i]))
			fail_msg("%s refused: %s", good[i], refused(&o, good[i]));
	/* the allow-list admits, also through an IPv4-mapped form */
	assert_int_equal(dns_parse_cidr("127.0.0.0/8", &o.allowed_ns[0]), 0);
	assert_int_equal(dns_parse_cidr("fd00::/8", &o.allowed_ns[1]), 0);
	o.n_allowed_ns = 2;
	assert_null(refused(&o, "127.0.0.1"));
	assert_null(refused(&o, "::ffff:127.0.0.1"));
	assert_null(refused(&o, "fd00::53"));
	assert_non_null(refused(&o, "fc00::53"));
	assert_non_null(refused(&o, "::1"));
	assert_string_equal(dns_ns_addr_refused(&o, AF_UNIX, (const uint8_t *)""),
	                    "not an IP address");
}

static void test_suffix(void **state)
{
	(void)state;
	assert_true(dns_suffix_match("a.cdn.example.net", "*.cdn.example.net"));
	assert_true(dns_suffix_match("x.y.CDN.example.net", "*.cdn.example.net"));
	assert_false(dns_suffix_match("cdn.example.net", "*.cdn.example.net"));
	assert_false(dns_suffix_match("evilcdn.example.net", "*.cdn.example.net"));
	assert_true(dns_suffix_match("cdn.example.net", "cdn.example.net"));
	assert_true(dns_name_under("a.b.c", "b.c"));
	assert_true(dns_name_under("b.c", "b.c"));
	assert_false(dns_name_under("ab.c", "b.c"));
	assert_true(dns_name_under("anything", ""));
}

static void test_outcomes(void **state)
{
	(void)state;
	assert_true(dns_outcome_transient(DNS_TIMEOUT));
	assert_true(dns_outcome_transient(DNS_SERVFAIL));
	assert_true(dns_outcome_transient(DNS_REFUSED));
	assert_false(dns_outcome_transient(DNS_NXDOMAIN));
	assert_false(dns_outcome_transient(DNS_NS_DELEGATED));
	assert_string_equal(dns_outcome_str(DNS_NODATA), "nodata");
	assert_string_equal(dns_check_strerror(DNS_CHECK_CONFIRMING),
	                    "confirming");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_chain),
		cmocka_unit_test(test_parse_loop),
		cmocka_unit_test(test_parse_compression),
		cmocka_unit_test(test_parse_caps),
		cmocka_unit_test(test_authority_soa),
		cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_portmap),
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_ns_addr_refused),
		cmocka_unit_test(test_suffix),
		cmocka_unit_test(test_outcomes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
