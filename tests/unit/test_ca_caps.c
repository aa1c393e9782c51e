/* ca_caps: a CA's capabilities from its directory (the pure part of
 * common/ca_caps.h): step-ca's, Pebble's and a Let's Encrypt-like one with
 * ARI, profiles and EAB; the hash's name; when a failed keyChange means
 * the CA does not offer it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ca_caps.h"

static void caps_of(const char *json, struct ca_caps *out)
{
	struct acme_directory d;

	assert_int_equal(acme_directory_parse(json, strlen(json), &d), ACME_OK);
	ca_caps_from_directory(&d, out);
	acme_directory_free(&d);
}

#define BASE "\"newNonce\":\"https://ca/nonce\",\"newAccount\":\"https://ca/acct\"," \
	"\"newOrder\":\"https://ca/order\""

/* step-ca 0.19 lists keyChange (and answers it 501: not seen here), no
 * ARI, no profiles, no EAB; Pebble the same without the 501. */
static void test_stepca_and_pebble(void **state)
{
	(void)state;
	struct ca_caps c;

	caps_of("{" BASE ",\"keyChange\":\"https://ca/kc\",\"revokeCert\":\"https://ca/rv\"}", &c);
	assert_true(c.keychange);
	assert_false(c.ari);
	assert_false(c.profiles);
	assert_false(c.eab);
	assert_string_equal(c.profile_names, "");
	caps_of("{" BASE ",\"meta\":{\"externalAccountRequired\":false}}", &c);
	assert_false(c.keychange);
	assert_false(c.eab);
}

static void test_ari_profiles_eab(void **state)
{
	(void)state;
	struct ca_caps c;

	caps_of("{" BASE ",\"keyChange\":\"https://ca/kc\",\"renewalInfo\":\"https://ca/ari\","
	        "\"meta\":{\"externalAccountRequired\":true,\"profiles\":"
	        "{\"classic\":\"the old one\",\"tlsserver\":\"short\"}}}", &c);
	assert_true(c.keychange && c.ari && c.profiles && c.eab);
	assert_string_equal(c.profile_names, "classic,tlsserver");
	/* "externalAccountRequired": "yes" is not true */
	caps_of("{" BASE ",\"meta\":{\"externalAccountRequired\":\"yes\",\"profiles\":{}}}", &c);
	assert_false(c.eab);
	assert_false(c.profiles);
}

/* Names too long for the field are left out whole, never cut. */
static void test_profile_names_fit(void **state)
{
	(void)state;
	struct acme_directory d;
	struct ca_caps c;
	char longname[400];

	memset(&d, 0, sizeof(d));
	memset(longname, 'p', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	char *names[] = { "a", longname, longname, "b", "" };
	for (size_t i = 0; i < 5; i++)
		d.profiles[i].name = names[i];
	d.n_profiles = 5;
	ca_caps_from_directory(&d, &c);
	assert_true(c.profiles);
	assert_int_equal(strlen(c.profile_names), 2 + 399 + 2);
	assert_int_equal(strncmp(c.profile_names, "a,ppp", 5), 0);
	assert_string_equal(c.profile_names + strlen(c.profile_names) - 2, ",b");
}

/* A hostile directory's profile names: a comma, a control byte, a
 * newline or a non-ASCII byte leaves that name out, the others stay. */
static void test_profile_names_hostile(void **state)
{
	(void)state;
	struct ca_caps c;

	caps_of("{" BASE ",\"meta\":{\"profiles\":{\"classic\":\"\",\"a,b\":\"\","
	        "\"x\\u001b[2J\":\"\",\"line\\nforged\":\"\",\"caf\\u00e9\":\"\","
	        "\"short-lived.v2\":\"\"}}}", &c);
	assert_true(c.profiles);
	assert_string_equal(c.profile_names, "classic,short-lived.v2");
}

/* A CA's answer to keyChange as kept in cap_keychange_detail and shown. */
static void test_clean(void **state)
{
	(void)state;
	char out[16];

	ca_caps_clean("a\x1b[2J\r\nb\xc3\xa9\x7f", out, sizeof(out));
	assert_string_equal(out, "a?[2J??b???");
	ca_caps_clean(NULL, out, sizeof(out));
	assert_string_equal(out, "");
	ca_caps_clean("0123456789abcdefghij", out, sizeof(out));
	assert_string_equal(out, "0123456789abcde");
}

static void test_key(void **state)
{
	(void)state;
	char k[64];

	assert_int_equal(ca_caps_key("dcv", CA_CAPS_DEFAULT, k, sizeof(k)), 0);
	assert_string_equal(k, "dcv:ca:default");
	assert_int_equal(ca_caps_key("{dcv}", "le-prod.1_x", k, sizeof(k)), 0);
	assert_string_equal(k, "{dcv}:ca:le-prod.1_x");
	assert_int_equal(ca_caps_key("dcv", "", k, sizeof(k)), -1);
	assert_int_equal(ca_caps_key("dcv", NULL, k, sizeof(k)), -1);
	assert_int_equal(ca_caps_key("dcv", "a b", k, sizeof(k)), -1);
	assert_int_equal(ca_caps_key("dcv", "a:b", k, sizeof(k)), -1);
	assert_int_equal(ca_caps_key("dcv", "a\r\nb", k, sizeof(k)), -1);
	char big[CA_CAPS_NAME_MAX + 2];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(ca_caps_key("dcv", big, k, sizeof(k)), -1);
	big[CA_CAPS_NAME_MAX] = '\0';
	assert_int_equal(ca_caps_key("dcv", big, k, sizeof(k)), -1);   /* buffer too small */
	char roomy[200];
	assert_int_equal(ca_caps_key("dcv", big, roomy, sizeof(roomy)), 0);
}

static void test_keychange_missing(void **state)
{
	(void)state;
	struct acme_problem p;

	memset(&p, 0, sizeof(p));
	assert_true(ca_caps_keychange_missing(ACME_E_UNSUPPORTED, &p));
	assert_false(ca_caps_keychange_missing(ACME_E_SERVER, &p));
	p.http_status = 501;
	assert_true(ca_caps_keychange_missing(ACME_E_SERVER, &p));
	p.http_status = 503;
	assert_false(ca_caps_keychange_missing(ACME_E_SERVER, &p));
	assert_false(ca_caps_keychange_missing(ACME_E_UNAUTHORIZED, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stepca_and_pebble),
		cmocka_unit_test(test_ari_profiles_eab),
		cmocka_unit_test(test_profile_names_fit),
		cmocka_unit_test(test_profile_names_hostile),
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_keychange_missing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
