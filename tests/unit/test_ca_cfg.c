/* ca_cfg: acme.cas read in the file's order, each CA's keys over the
 * shared acme.* ones, a single-CA configuration as the CA "default", and
 * errors that name the file and the line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ca_cfg.h"

static const struct rl_bucket orders = { 300, 10800000 };

/* Loads TEXT into *L; returns the errors ("" none), borrowed from *C. */
static const char *load(const char *text, struct cfg **c, struct ca_list *l)
{
	char err[256];

	*c = cfg_load_string(text, "t.yaml", err, sizeof(err));
	assert_non_null(*c);
	ca_list_load(*c, &orders, l);
	cfg_check_unknown(*c);
	const char *e = cfg_error(*c);
	return e ? e : "";
}

static void test_single_ca_is_default(void **state)
{
	(void)state;
	struct ca_list *l = calloc(1, sizeof(*l));
	struct cfg *c;

	assert_string_equal(load("acme:\n  directory: https://ca.test/dir\n"
	                         "  caa_identities: [ca.test]\n", &c, l), "");
	assert_int_equal(l->n, 1);
	assert_false(l->listed);
	assert_string_equal(l->ca[0].name, "default");
	assert_string_equal(l->ca[0].acme.directory_url, "https://ca.test/dir");
	assert_string_equal(l->ca[0].caa_ptr[0], "ca.test");
	assert_string_equal(l->ca[0].scope, "ca.test");   /* the buckets of before */
	assert_int_equal(l->ca[0].new_orders.limit, 300);
	ca_list_free(l);
	cfg_free(c);
	/* nothing said: Let's Encrypt */
	assert_string_equal(load("acme: {}\n", &c, l), "");
	assert_string_equal(l->ca[0].caa_ptr[0], "letsencrypt.org");
	ca_list_free(l);
	cfg_free(c);
	free(l);
}

static void test_listed_in_file_order(void **state)
{
	(void)state;
	struct ca_list *l = calloc(1, sizeof(*l));
	struct cfg *c;

	assert_string_equal(load(
		"acme:\n"
		"  email: ops@example.net\n"
		"  key_type: es384\n"
		"  cas:\n"
		"    zz-first:\n"
		"      directory: https://a.test/dir\n"
		"      caa_identities: [a.test, a2.test]\n"
		"      ratelimit: { new_orders: { limit: 5, period_ms: 1m } }\n"
		"    b:\n"
		"      directory: https://b.test/dir\n"
		"      caa_identities: [b.test]\n"
		"      eab_kid: kid-b\n"
		"      eab_hmac: c2VjcmV0\n"
		"      key_type: es256\n"
		"      profile: shortlived\n"
		"      ari: false\n", &c, l), "");
	assert_int_equal(l->n, 2);
	assert_true(l->listed);
	assert_string_equal(l->ca[0].name, "zz-first");
	assert_string_equal(l->ca[1].name, "b");
	assert_int_equal(l->ca[0].n_caa, 2);
	assert_int_equal(l->ca[0].new_orders.limit, 5);
	assert_int_equal(l->ca[0].new_orders.period_ms, 60000);
	assert_int_equal(l->ca[1].new_orders.limit, 300);
	assert_string_equal(l->ca[0].scope, "zz-first");
	assert_int_equal(l->ca[0].acme.key_type, CRYPTO_KEY_P384);
	assert_int_equal(l->ca[1].acme.key_type, CRYPTO_KEY_P256);
	assert_string_equal(l->ca[1].acme.contact_email, "ops@example.net");
	assert_null(l->ca[0].acme.eab_kid);
	assert_string_equal(l->ca[1].acme.eab_kid, "kid-b");
	assert_string_equal(l->ca[1].acme.profile, "shortlived");
	assert_true(l->ca[0].ari);
	assert_false(l->ca[1].ari);
	assert_int_equal(ca_find(l, "b"), 1);
	assert_int_equal(ca_find(l, "c"), -1);
	ca_list_free(l);
	cfg_free(c);
	free(l);
}

static void test_errors_name_file_and_line(void **state)
{
	(void)state;
	struct ca_list *l = calloc(1, sizeof(*l));
	struct cfg *c;

	const char *e = load(
		"acme:\n"
		"  directory: https://a.test/dir\n"           /* 2: belongs in a CA */
		"  cas:\n"
		"    a:\n"
		"      directory: http://a.test/dir\n"        /* 5: not https */
		"      caa_identities: [a.test]\n"
		"    Bad.Name:\n"                             /* 7 */
		"      directory: https://b.test/dir\n"
		"    c:\n"                                    /* 9: no identities */
		"      directory: https://c.test/dir\n"
		"      colour: red\n", &c, l);                /* 11: unknown */
	assert_non_null(strstr(e, "t.yaml:2: acme.directory: with acme.cas"));
	assert_non_null(strstr(e, "t.yaml:5: acme.cas.a.directory: must be an https://"));
	/* a name with a dot has no path of its own: told at its section,
	 * and its own line as a key nobody read */
	assert_non_null(strstr(e, "t.yaml:3: acme.cas.Bad.Name: a CA's name is"));
	assert_non_null(strstr(e, "t.yaml:7: unknown key 'acme.cas.Bad.Name'"));
	assert_non_null(strstr(e, "t.yaml:9: acme.cas.c.caa_identities: required"));
	assert_non_null(strstr(e, "t.yaml:11:"));
	assert_non_null(strstr(e, "colour"));
	ca_list_free(l);
	cfg_free(c);
	free(l);
}

static void test_tenants_pinned(void **state)
{
	(void)state;
	struct ca_list *l = calloc(1, sizeof(*l));
	struct cfg *c;
	int order[CA_MAX];

	assert_string_equal(load(
		"acme:\n"
		"  cas:\n"
		"    a: { directory: https://a.test/d, caa_identities: [a.test] }\n"
		"    b: { directory: https://b.test/d, caa_identities: [b.test] }\n"
		"    c: { directory: https://c.test/d, caa_identities: [c.test] }\n"
		"  tenants:\n"
		"    only-c: { cas: [c] }\n"
		"    c-then-all: { cas: [c], fallback: true }\n"
		"    own-b: { cas: [b, a], own_account: true, fallback: true }\n", &c, l), "");
	assert_int_equal(l->n_tenants, 3);
	/* its own account at its CAs only; nobody else's */
	assert_true(ca_tenant_account(l, "own-b", 1) && ca_tenant_account(l, "own-b", 0));
	assert_false(ca_tenant_account(l, "own-b", 2));
	assert_false(ca_tenant_account(l, "only-c", 2));
	assert_false(ca_tenant_account(l, "other", 1));
	assert_false(ca_tenant_account(l, "", 1));
	assert_false(ca_tenant_account(l, NULL, 1));
	/* a tenant not listed, or none: every CA in the fleet's order */
	assert_int_equal(ca_candidates(l, "other", order), 3);
	assert_true(order[0] == 0 && order[1] == 1 && order[2] == 2);
	assert_int_equal(ca_candidates(l, "", order), 3);
	assert_int_equal(ca_candidates(l, "only-c", order), 1);
	assert_int_equal(order[0], 2);
	assert_int_equal(ca_candidates(l, "c-then-all", order), 3);
	assert_true(order[0] == 2 && order[1] == 0 && order[2] == 1);
	ca_list_free(l);
	cfg_free(c);

	const char *e = load(
		"acme:\n"
		"  cas:\n"
		"    a: { directory: https://a.test/d, caa_identities: [a.test] }\n"
		"  tenants:\n"
		"    t1: { cas: [a, nosuch, a] }\n"      /* 5 */
		"    t2: { fallback: true }\n", &c, l);  /* 6 */
	assert_non_null(strstr(e, "t.yaml:5: acme.tenants.t1.cas: item 2: nosuch is no CA"));
	assert_non_null(strstr(e, "item 3: a is listed twice"));
	assert_non_null(strstr(e, "t.yaml:6: acme.tenants.t2.cas: required"));
	ca_list_free(l);
	cfg_free(c);
	free(l);
}

/* A record from before CAs had names (no "ca", no "issued_ca") was the
 * single CA "default"'s: with acme.cas it is the CA still named "default"
 * (its account kept), else the first; a name no longer configured is -1. */
static void test_record_of_before(void **state)
{
	(void)state;
	struct ca_list *l = calloc(1, sizeof(*l));
	struct cfg *c;

	assert_string_equal(load(
		"acme:\n"
		"  cas:\n"
		"    zerossl: { directory: https://z.test/dir, caa_identities: [z.test] }\n"
		"    default: { directory: https://le.test/dir, caa_identities: [le.test] }\n",
		&c, l), "");
	assert_int_equal(ca_of_record(l, NULL), 1);
	assert_int_equal(ca_of_record(l, ""), 1);
	assert_int_equal(ca_of_record(l, "zerossl"), 0);
	assert_int_equal(ca_of_record(l, "gone"), -1);
	ca_list_free(l);
	cfg_free(c);
	assert_string_equal(load(
		"acme:\n"
		"  cas:\n"
		"    a: { directory: https://a.test/dir, caa_identities: [a.test] }\n"
		"    b: { directory: https://b.test/dir, caa_identities: [b.test] }\n",
		&c, l), "");
	assert_int_equal(ca_of_record(l, ""), 0);
	assert_int_equal(ca_of_record(l, "b"), 1);
	ca_list_free(l);
	cfg_free(c);
	free(l);
}

/* Two CAs whose environment variables are the same (DCV_ACME_CAS_A_B_...
 * for "a-b" and "a_b") are refused: one variable would set both. */
static void test_env_twins_refused(void **state)
{
	(void)state;
	struct ca_list *l = calloc(1, sizeof(*l));
	struct cfg *c;
	const char *e = load(
		"acme:\n"
		"  cas:\n"
		"    a-b: { directory: https://a.test/dir, caa_identities: [a.test] }\n"
		"    a_b: { directory: https://b.test/dir, caa_identities: [b.test] }\n"
		"    a-c: { directory: https://c.test/dir, caa_identities: [c.test] }\n",
		&c, l);

	assert_non_null(strstr(e, "t.yaml:4"));
	assert_non_null(strstr(e, "the same environment variables as the CA a-b"));
	assert_int_equal(l->n, 2);
	assert_int_equal(ca_find(l, "a-c"), 1);
	ca_list_free(l);
	cfg_free(c);
	free(l);
}

static void test_names(void **state)
{
	(void)state;
	assert_true(ca_name_ok("letsencrypt"));
	assert_true(ca_name_ok("zero_ssl-2"));
	assert_false(ca_name_ok(""));
	assert_false(ca_name_ok("Upper"));
	assert_false(ca_name_ok("a:b"));
	assert_false(ca_name_ok("a b"));
	assert_false(ca_name_ok("123456789012345678901234567890123"));   /* 33 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_ca_is_default),
		cmocka_unit_test(test_listed_in_file_order),
		cmocka_unit_test(test_errors_name_file_and_line),
		cmocka_unit_test(test_tenants_pinned),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_record_of_before),
		cmocka_unit_test(test_env_twins_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
