/* dname: normalisation, validation, delegation targets and their hashed
 * fallback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dname.h"

static void ok(const char *in, const char *want)
{
	char out[DNAME_MAX + 1];
	const char *why = dname_normalize(in, out, sizeof(out));
	if (why)
		fail_msg("'%s' refused: %s", in, why);
	assert_string_equal(out, want);
}

static void bad(const char *in, const char *reason)
{
	char out[DNAME_MAX + 1];
	const char *why = dname_normalize(in, out, sizeof(out));
	if (!why || !strstr(why, reason))
		fail_msg("'%s': expected '%s', got '%s'", in, reason, why ? why : "accepted");
}

static void test_normalize(void **state)
{
	(void)state;
	char l63[64], l64[65], long_name[300];
	memset(l63, 'a', 63);
	l63[63] = '\0';
	memset(l64, 'a', 64);
	l64[64] = '\0';

	ok("example.com", "example.com");
	ok("WWW.Example.COM.", "www.example.com");
	ok("*.example.com", "*.example.com");
	ok("xn--bcher-kva.example", "xn--bcher-kva.example");
	ok("_acme-challenge.example.com", "_acme-challenge.example.com");
	snprintf(long_name, sizeof(long_name), "%s.example.com", l63);
	ok(long_name, long_name);

	bad("", "empty");
	bad("com", "single label");
	bad("a.*.example.com", "wildcard");
	bad("*example.com", "wildcard");
	bad("*.*.example.com", "wildcard");
	bad("a..example.com", "empty label");
	bad(".example.com", "empty label");
	bad("-a.example.com", "hyphen");
	bad("a-.example.com", "hyphen");
	bad("a b.example.com", "character");
	bad("bücher.example", "A-labels");
	bad("192.168.1.1", "IP address");
	snprintf(long_name, sizeof(long_name), "%s.example.com", l64);
	bad(long_name, "63");
	char huge[400];
	memset(huge, 0, sizeof(huge));
	for (int i = 0; i < 5; i++) {
		strcat(huge, l63);
		strcat(huge, ".");
	}
	strcat(huge, "com");
	bad(huge, "253");
}

static void test_target(void **state)
{
	(void)state;
	char out[DNAME_MAX + 1], out2[DNAME_MAX + 1];
	assert_null(dname_target("{domain}.{zone}", "www.example.com", "dcv.example.net", NULL,
	                         out, sizeof(out)));
	assert_string_equal(out, "www.example.com.dcv.example.net");
	/* a wildcard shares its base name's target */
	assert_null(dname_target("{domain}.{zone}", "*.example.com", "dcv.example.net", NULL,
	                         out, sizeof(out)));
	assert_string_equal(out, "example.com.dcv.example.net");
	assert_null(dname_target("{tenant}.{domain}.{zone}", "a.example", "Z.net", "T1",
	                         out, sizeof(out)));
	assert_string_equal(out, "t1.a.example.z.net");
	assert_null(dname_target("{token}.{zone}", "a.example", "z.net", NULL, out, sizeof(out)));
	assert_int_equal(strlen(out), 16 + 1 + 5);
	assert_null(dname_target("{token}.{zone}", "a.example", "z.net", NULL, out2, sizeof(out2)));
	assert_string_equal(out, out2); /* stable */
	assert_non_null(dname_target("{nope}.{zone}", "a.example", "z.net", NULL, out, sizeof(out)));
	assert_non_null(dname_target("{tenant}.{zone}", "a.example", "z.net", NULL, out, sizeof(out)));
	assert_non_null(dname_target("{domain}.{zone}", "a.example", "", NULL, out, sizeof(out)));

	/* too long for {domain}.{zone}: the hashed label, stable, within limits */
	char l63[64], name[300];
	memset(l63, 'b', 63);
	l63[63] = '\0';
	snprintf(name, sizeof(name), "%s.%s.%s.example.com", l63, l63, l63);
	const char *zone = "a-long-validation-zone-name-for-this-test.example.net";
	assert_null(dname_target("{domain}.{zone}", name, zone, NULL, out, sizeof(out)));
	assert_true(strncmp(out, "h-", 2) == 0);
	assert_string_equal(out + 2 + 32 + 1, zone);
	assert_null(dname_target("{domain}.{zone}", name, zone, NULL, out2, sizeof(out2)));
	assert_string_equal(out, out2);
	/* a label over 63 octets from the template also falls back */
	assert_null(dname_target("{token}{token}{token}{token}x.{zone}", "a.example", "z.net",
	                         NULL, out, sizeof(out)));
	assert_true(strncmp(out, "h-", 2) == 0);
}

static void test_challenge(void **state)
{
	(void)state;
	char out[DNAME_MAX + 1];
	assert_null(dname_challenge("*.example.com", out, sizeof(out)));
	assert_string_equal(out, "_acme-challenge.example.com");
	assert_null(dname_challenge("www.example.com", out, sizeof(out)));
	assert_string_equal(out, "_acme-challenge.www.example.com");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_target),
		cmocka_unit_test(test_challenge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
