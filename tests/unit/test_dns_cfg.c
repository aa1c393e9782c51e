/*
 * Unit tests of dns_cfg_load() and txt_provider_cfg_load(): defaults,
 * values, bad values named with their line, secrets from the environment.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cfg.h"
#include "dns.h"
#include "txt_provider.h"

static void test_defaults(void **state)
{
	struct cfg *c = cfg_new_empty();
	struct dns_opts o;
	(void)state;

	assert_int_equal(dns_cfg_load(c, &o), 0);
	assert_int_equal(o.n_resolvers, 1);
	assert_int_equal(o.ns_port, 53);
	assert_int_equal(o.confirmations, 2);
	assert_int_equal(o.max_ns_names, 10);
	assert_int_equal(o.max_ns_addrs, 16);
	assert_int_equal(o.n_allowed_ns, 0);
	assert_null(cfg_error(c));
	cfg_free(c);
}

static void test_values(void **state)
{
	const char *y =
		"dns:\n"
		"  resolvers: [\"127.0.0.1:5300\", \"::1\"]\n"
		"  timeout_ms: 1s\n"
		"  tries: 3\n"
		"  confirmations: 4\n"
		"  confirmation_interval_ms: 2m\n"
		"  port_map: [\"192.0.2.1=127.0.0.1:5301\", \"ns2.example.com=5302\"]\n"
		"  allowed_ns_ranges: [\"192.0.2.0/24\", \"2001:db8::/32\"]\n"
		"  max_ns_names: 4\n"
		"  max_ns_addrs: 32\n"
		"  pointing:\n"
		"    ip_ranges: [\"203.0.113.0/24\", \"2001:db8::/32\"]\n"
		"    host_suffixes: [\"*.cdn.example.net\"]\n";
	char err[256];
	struct cfg *c = cfg_load_string(y, "t.yaml", err, sizeof err);
	struct dns_opts o;
	(void)state;

	assert_non_null(c);
	assert_int_equal(dns_cfg_load(c, &o), 0);
	cfg_check_unknown(c);
	assert_null(cfg_error(c));
	assert_int_equal(o.n_resolvers, 2);
	assert_string_equal(o.resolvers[0], "127.0.0.1:5300");
	assert_string_equal(o.resolvers[1], "[::1]:53");
	assert_int_equal(o.timeout_ms, 1000);
	assert_int_equal(o.tries, 3);
	assert_int_equal(o.confirmations, 4);
	assert_int_equal(o.confirmation_interval_ms, 120000);
	assert_int_equal(o.n_port_map, 2);
	assert_int_equal(o.port_map[1].port, 5302);
	assert_int_equal(o.n_allowed_ns, 2);
	assert_int_equal(o.allowed_ns[1].prefix, 32);
	assert_int_equal(o.max_ns_names, 4);
	assert_int_equal(o.max_ns_addrs, 32);
	assert_int_equal(o.n_ranges, 2);
	assert_int_equal(o.ranges[1].family, AF_INET6);
	assert_int_equal(o.n_suffixes, 1);
	assert_string_equal(o.suffixes[0], "cdn.example.net");
	cfg_free(c);
}

static void test_bad(void **state)
{
	const char *y =
		"dns:\n"
		"  resolvers: [\"resolver.example:53\"]\n"
		"  pointing:\n"
		"    ip_ranges: [\"10.0.0.0/40\"]\n";
	char err[256];
	struct cfg *c = cfg_load_string(y, "t.yaml", err, sizeof err);
	struct dns_opts o;
	(void)state;

	assert_non_null(c);
	assert_int_equal(dns_cfg_load(c, &o), -1);
	assert_non_null(cfg_error(c));
	assert_non_null(strstr(cfg_error(c), "dns.resolvers"));
	cfg_free(c);
}

/* A cap above its array, below 1, a bad allowed range: each an error
 * that names the key and its line. */
static void test_bad_caps(void **state)
{
	static const char *const y[][2] = {
		{ "dns:\n  tries: 2\n  max_ns_addrs: 33\n", "t.yaml:3: dns.max_ns_addrs" },
		{ "dns:\n  max_ns_names: 0\n", "t.yaml:2: dns.max_ns_names" },
		{ "dns:\n  max_ns_names: 17\n", "t.yaml:2: dns.max_ns_names" },
		{ "dns:\n  allowed_ns_ranges: [\"127.0.0.0/8\", \"loopback\"]\n",
		  "t.yaml:2: dns.allowed_ns_ranges: bad CIDR (at most 16): loopback" },
	};
	(void)state;

	for (size_t i = 0; i < sizeof y / sizeof y[0]; i++) {
		char err[256];
		struct cfg *c = cfg_load_string(y[i][0], "t.yaml", err, sizeof err);
		struct dns_opts o;
		assert_non_null(c);
		dns_cfg_load(c, &o);
		assert_non_null(cfg_error(c));
		if (!strstr(cfg_error(c), y[i][1]))
			fail_msg("%s: want %s", cfg_error(c), y[i][1]);
		cfg_free(c);
	}
}

static void test_provider_env_secret(void **state)
{
	const char *y =
		"provider:\n"
		"  type: rfc2136\n"
		"  zone: Validation.Example.NET.\n"
		"  server: 127.0.0.1:5300\n"
		"  tsig:\n"
		"    name: k1\n"
		"    algorithm: hmac-sha512\n";
	char err[256];
	struct cfg *c;
	struct txt_provider_opts o;
	(void)state;

	setenv("DCV_PROVIDER_TSIG_SECRET", "c2VjcmV0", 1);
	c = cfg_load_string(y, "t.yaml", err, sizeof err);
	assert_non_null(c);
	assert_int_equal(txt_provider_cfg_load(c, &o), 0);
	assert_null(cfg_error(c));
	assert_string_equal(o.secret, "c2VjcmV0");
	assert_string_equal(o.zone, "validation.example.net");
	assert_string_equal(o.algorithm, "hmac-sha512");
	assert_int_equal(o.ttl, 60);
	unsetenv("DCV_PROVIDER_TSIG_SECRET");
	cfg_free(c);

	/* no secret anywhere: an error that does not print one */
	c = cfg_load_string(y, "t.yaml", err, sizeof err);
	assert_int_equal(txt_provider_cfg_load(c, &o), -1);
	assert_non_null(strstr(cfg_error(c), "tsig"));
	cfg_free(c);
}

static void test_provider_bad(void **state)
{
	const char *y =
		"provider:\n"
		"  type: route53\n"
		"  zone: v.example.net\n";
	char err[256];
	struct cfg *c = cfg_load_string(y, "t.yaml", err, sizeof err);
	struct txt_provider_opts o;
	(void)state;

	assert_int_equal(txt_provider_cfg_load(c, &o), -1);
	assert_non_null(strstr(cfg_error(c), "provider.type"));
	cfg_free(c);
}

static void test_txt_args(void **state)
{
	struct txt_provider_opts o;
	struct txt_provider *p;
	char err[128], msg[TXT_MSG_MAX];
	(void)state;

	memset(&o, 0, sizeof o);
	o.type = TXT_RFC2136;
	strcpy(o.zone, "validation.example.net");
	strcpy(o.server, "127.0.0.1:9"); /* nothing is sent for bad input */
	strcpy(o.key_name, "k");
	strcpy(o.algorithm, "hmac-sha256");
	strcpy(o.secret, "c2VjcmV0");
	o.ttl = 60;
	o.timeout_ms = 100;
	o.tries = 1;
	p = txt_provider_new(&o, err, sizeof err);
	assert_non_null(p);
	assert_int_equal(txt_add(p, "x.other.net", "v", msg, sizeof msg),
	                 TXT_INVALID);
	assert_int_equal(txt_add(p, "x.validation.example.net", "a\"b", msg,
	                         sizeof msg), TXT_INVALID);
	assert_int_equal(txt_add(p, "x.validation.example.net", "", msg,
	                         sizeof msg), TXT_INVALID);
	assert_int_equal(txt_remove(p, "bad..name.validation.example.net", "v",
	                            msg, sizeof msg), TXT_INVALID);
	txt_provider_free(p);

	strcpy(o.algorithm, "hmac-md5");
	assert_null(txt_provider_new(&o, err, sizeof err));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_bad_caps),
		cmocka_unit_test(test_provider_env_secret),
		cmocka_unit_test(test_provider_bad),
		cmocka_unit_test(test_txt_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
