/*
 * console_guard and console_html: the console's pure checks and its
 * escaping (workers/console_guard.h, workers/console_html.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "console_guard.h"
#include "console_html.h"

static void test_secret_equal(void **state)
{
	(void)state;
	assert_true(console_secret_equal("abc", "abc"));
	assert_false(console_secret_equal("abc", "abd"));
	assert_false(console_secret_equal("abc", "abcd"));
	assert_false(console_secret_equal("abc", NULL));
	assert_false(console_secret_equal(NULL, NULL));
}

static void test_csrf(void **state)
{
	unsigned char k1[32] = { 1 }, k2[32] = { 2 };
	char sid[CONSOLE_SID_LEN + 1], other[CONSOLE_SID_LEN + 1], a[65], b[65], c[65];
	(void)state;
	assert_int_equal(console_sid_new(sid), 0);
	assert_int_equal(console_sid_new(other), 0);
	assert_true(console_sid_valid(sid));
	assert_string_not_equal(sid, other);
	assert_false(console_sid_valid("abc"));
	assert_false(console_sid_valid("ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"));
	console_csrf(k1, sid, a);
	console_csrf(k1, other, b);
	console_csrf(k2, sid, c);
	assert_int_equal(strlen(a), 64);
	assert_string_not_equal(a, b);   /* per session */
	assert_string_not_equal(a, c);   /* per run (key) */
	console_csrf(k1, sid, b);
	assert_string_equal(a, b);
}

static void test_origin(void **state)
{
	(void)state;
	assert_true(console_origin_ok("127.0.0.1:8080", "http://127.0.0.1:8080", NULL, 0));
	assert_false(console_origin_ok("127.0.0.1:8080", "http://evil.example", NULL, 0));
	assert_false(console_origin_ok("127.0.0.1:8080", "null", "http://127.0.0.1:8080/", 0));
	assert_true(console_origin_ok("127.0.0.1:8080", NULL, "http://127.0.0.1:8080/dead", 0));
	assert_false(console_origin_ok("127.0.0.1:8080", NULL, "http://127.0.0.1:80800/", 0));
	assert_false(console_origin_ok("127.0.0.1:8080", NULL, NULL, 0));
	assert_false(console_origin_ok(NULL, "http://x", NULL, 0));
	/* https only for a --host value (a TLS-terminating proxy in front) */
	assert_false(console_origin_ok("dcv.example", "https://dcv.example", NULL, 0));
	assert_true(console_origin_ok("dcv.example", "https://dcv.example", NULL, 1));
	assert_true(console_origin_ok("dcv.example", NULL, "https://dcv.example/dead", 1));
	assert_true(console_origin_ok("dcv.example", "http://dcv.example", NULL, 1));
	assert_false(console_origin_ok("dcv.example", "https://evil.example", NULL, 1));
	assert_false(console_origin_ok("dcv.example", NULL, "https://dcv.example.evil/", 1));
}

static void test_auth(void **state)
{
	(void)state;
	assert_true(console_auth_ok("ops:pw", "ops", "pw", NULL));
	assert_false(console_auth_ok("ops:pw", "ops", "px", NULL));
	assert_false(console_auth_ok("ops:pw", NULL, NULL, "ops:pw"));
	assert_true(console_auth_ok("tok", "anyone", "tok", NULL));
	assert_true(console_auth_ok("tok", NULL, NULL, "tok"));
	assert_false(console_auth_ok("tok", NULL, NULL, "tok2"));
	assert_false(console_auth_ok(NULL, "a", "b", "c"));
}

static void test_form(void **state)
{
	struct console_field f[CONSOLE_FIELDS];
	char ok[] = "op=nudge&domain=a.example.com&reason=x+y%3Cz%3E";
	char nul[] = "a=%00";
	char bad[] = "a=%zz";
	char noeq[] = "a";
	(void)state;
	int n = console_form_parse(ok, f);
	assert_int_equal(n, 3);
	assert_string_equal(console_form_get(f, n, "op"), "nudge");
	assert_string_equal(console_form_get(f, n, "reason"), "x y<z>");
	assert_null(console_form_get(f, n, "token"));
	assert_int_equal(console_form_parse(nul, f), -1);
	assert_int_equal(console_form_parse(bad, f), -1);
	assert_int_equal(console_form_parse(noeq, f), -1);
	char many[200] = "";
	for (int i = 0; i <= CONSOLE_FIELDS; i++)
		strcat(many, "a=b&");
	assert_int_equal(console_form_parse(many, f), -1);
}

static void test_escape(void **state)
{
	struct html h = { 0 };
	(void)state;
	html_esc(&h, "<img src=x onerror='a'>&\"\x01");
	assert_string_equal(h.buf, "&lt;img src=x onerror=&#39;a&#39;&gt;&amp;&quot;\xef\xbf\xbd");
	html_free(&h);
	html_url(&h, "a b&c=<d>");
	assert_string_equal(h.buf, "a%20b%26c%3D%3Cd%3E");
	html_free(&h);
	html_esc(&h, NULL);
	assert_string_equal(h.buf, "-");
	html_free(&h);
}

static void test_cap(void **state)
{
	struct html h = { 0 };
	char *big = malloc(1024 * 1024 + 1);
	(void)state;
	assert_non_null(big);
	memset(big, 'a', 1024 * 1024);
	big[1024 * 1024] = '\0';
	for (int i = 0; i < 5; i++)
		html_raw(&h, big);
	assert_true(h.failed);
	assert_true(h.len <= HTML_MAX);
	html_free(&h);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secret_equal), cmocka_unit_test(test_csrf),
		cmocka_unit_test(test_origin), cmocka_unit_test(test_auth),
		cmocka_unit_test(test_form), cmocka_unit_test(test_escape),
		cmocka_unit_test(test_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
