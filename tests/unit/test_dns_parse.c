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
		cmocka_unit_test(test_suffix),
		cmocka_unit_test(test_outcomes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
