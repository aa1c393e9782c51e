/* http_body: the capped body reader fed the write sequences curl makes
 * (chunks of any size, one after the other), and the once-only curl
 * initialisation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "http_body.h"

/* Feeds CHUNKS (NULL-terminated) as curl would; returns how many were
 * taken whole before one was refused. */
static int feed(struct http_body *b, const char *const *chunks)
{
	int i;
	for (i = 0; chunks[i]; i++) {
		size_t n = strlen(chunks[i]);
		if (http_body_write((char *)chunks[i], 1, n, b) != n)
			break;
	}
	return i;
}

static void test_collects_chunks(void **state)
{
	(void)state;
	struct http_body b;
	http_body_init(&b, 64);
	const char *const c[] = { "{\"status\":", "", "\"valid\"", "}", NULL };
	assert_int_equal(feed(&b, c), 4);
	assert_false(b.toobig);
	assert_int_equal(b.len, strlen("{\"status\":\"valid\"}"));
	assert_string_equal(b.buf, "{\"status\":\"valid\"}");
	size_t len = 0;
	char *s = http_body_take(&b, &len);
	assert_int_equal(len, 18);
	assert_null(b.buf);
	assert_int_equal(b.len, 0);
	free(s);
	http_body_free(&b);
}

/* The cap is on the total: chunks each under it are refused once their
 * sum passes it, and a body of exactly the cap is whole. */
static void test_cap_on_total(void **state)
{
	(void)state;
	struct http_body b;
	http_body_init(&b, 10);
	const char *const exact[] = { "1234", "5678", "90", NULL };
	assert_int_equal(feed(&b, exact), 3);
	assert_false(b.toobig);
	assert_int_equal(b.len, 10);
	http_body_free(&b);

	http_body_init(&b, 10);
	const char *const over[] = { "1234", "5678", "901", "2", NULL };
	assert_int_equal(feed(&b, over), 2);  /* the third is refused */
	assert_true(b.toobig);
	assert_int_equal(b.len, 8);           /* nothing of it was kept */
	assert_string_equal(b.buf, "12345678");
	http_body_free(&b);

	http_body_init(&b, 10);
	const char *const one[] = { "12345678901", NULL };
	assert_int_equal(feed(&b, one), 0);
	assert_true(b.toobig);
	assert_null(b.buf);
	http_body_free(&b);
}

/* Many small chunks past the first allocation: growth keeps the content. */
static void test_grows(void **state)
{
	(void)state;
	struct http_body b;
	char chunk[1000];
	http_body_init(&b, 100000);
	for (int i = 0; i < 100; i++) {
		memset(chunk, 'a' + i % 26, sizeof(chunk));
		assert_int_equal(http_body_write(chunk, 1, sizeof(chunk), &b),
		                 sizeof(chunk));
	}
	assert_int_equal(b.len, 100000);
	assert_int_equal(b.buf[100000], '\0');
	for (int i = 0; i < 100; i++)
		assert_int_equal(b.buf[i * 1000 + 999], 'a' + i % 26);
	assert_int_equal(http_body_write(chunk, 1, 1, &b), 0);
	assert_true(b.toobig);
	/* size * nmemb overflowing size_t is refused, not wrapped */
	http_body_free(&b);
	http_body_init(&b, 100);
	assert_int_equal(http_body_write(chunk, (size_t)1 << 40, (size_t)1 << 40, &b), 0);
	assert_true(b.toobig);
	http_body_free(&b);
}

static void test_curl_init_once(void **state)
{
	(void)state;
	assert_int_equal(http_curl_init(), 0);
	assert_int_equal(http_curl_init(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_collects_chunks),
		cmocka_unit_test(test_cap_on_total),
		cmocka_unit_test(test_grows),
		cmocka_unit_test(test_curl_init_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
