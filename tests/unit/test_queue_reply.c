/*
 * queue_reply: the accessors of a server's reply (pure, from RESP bytes).
 * A reply is hostile input: every accessor answers "nothing" for NULL, a
 * wrong kind, an index past the end, and never reads outside the reply.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "queue.h"

static struct queue_reply *parse(const char *resp)
{
	return queue_reply_parse(resp, strlen(resp));
}

static void test_null(void **state)
{
	long long v = 7;
	size_t len = 9;
	(void)state;

	assert_int_equal(queue_reply_kind(NULL), QR_NONE);
	assert_int_equal(queue_reply_len(NULL), 0);
	assert_null(queue_reply_at(NULL, 0));
	assert_false(queue_reply_int(NULL, &v));
	assert_int_equal(v, 7);
	assert_null(queue_reply_str(NULL, &len));
	assert_int_equal(len, 9);
	assert_null(queue_reply_error(NULL));
	queue_reply_free(NULL);
}

static void test_scalars(void **state)
{
	long long v = 0;
	size_t len = 0;
	(void)state;

	struct queue_reply *r = parse(":-42\r\n");
	assert_int_equal(queue_reply_kind(r), QR_INT);
	assert_true(queue_reply_int(r, &v));
	assert_int_equal(v, -42);
	assert_null(queue_reply_str(r, NULL));
	assert_null(queue_reply_error(r));
	assert_int_equal(queue_reply_len(r), 0);
	assert_null(queue_reply_at(r, 0));
	queue_reply_free(r);

	/* a bulk string keeps a NUL inside; its length says so */
	r = queue_reply_parse("$3\r\na\0b\r\n", 9);
	assert_int_equal(queue_reply_kind(r), QR_STRING);
	assert_non_null(queue_reply_str(r, &len));
	assert_int_equal(len, 3);
	assert_memory_equal(queue_reply_str(r, NULL), "a\0b", 3);
	assert_false(queue_reply_int(r, &v));
	queue_reply_free(r);

	r = parse("+OK\r\n");
	assert_string_equal(queue_reply_str(r, NULL), "OK");
	queue_reply_free(r);

	r = parse("$-1\r\n");
	assert_int_equal(queue_reply_kind(r), QR_NIL);
	assert_null(queue_reply_str(r, NULL));
	assert_false(queue_reply_int(r, &v));
	queue_reply_free(r);

	/* an error is no string: only queue_reply_error() reads it */
	r = parse("-NOPERM no permissions\r\n");
	assert_int_equal(queue_reply_kind(r), QR_ERROR);
	assert_null(queue_reply_str(r, NULL));
	assert_string_equal(queue_reply_error(r), "NOPERM no permissions");
	queue_reply_free(r);
}

static void test_array(void **state)
{
	long long v = 0;
	(void)state;

	/* {2, gen, why} as CLAIM answers, with a nested array and a nil */
	struct queue_reply *r = parse("*4\r\n:2\r\n:17\r\n$3\r\nwhy\r\n*2\r\n$-1\r\n:5\r\n");
	assert_int_equal(queue_reply_kind(r), QR_ARRAY);
	assert_int_equal(queue_reply_len(r), 4);
	assert_true(queue_reply_int(queue_reply_at(r, 1), &v));
	assert_int_equal(v, 17);
	assert_string_equal(queue_reply_str(queue_reply_at(r, 2), NULL), "why");
	assert_null(queue_reply_str(queue_reply_at(r, 1), NULL));
	assert_false(queue_reply_int(queue_reply_at(r, 2), &v));
	const struct queue_reply *in = queue_reply_at(r, 3);
	assert_int_equal(queue_reply_kind(queue_reply_at(in, 0)), QR_NIL);
	assert_true(queue_reply_int(queue_reply_at(in, 1), &v));
	assert_int_equal(v, 5);
	assert_null(queue_reply_at(in, 2));
	assert_null(queue_reply_at(r, 4));
	assert_null(queue_reply_at(r, (size_t)-1));
	/* an element of a scalar: nothing */
	assert_null(queue_reply_at(queue_reply_at(r, 0), 0));
	queue_reply_free(r);

	r = parse("*0\r\n");
	assert_int_equal(queue_reply_kind(r), QR_ARRAY);
	assert_int_equal(queue_reply_len(r), 0);
	assert_null(queue_reply_at(r, 0));
	queue_reply_free(r);

	r = parse("*-1\r\n");   /* a nil array */
	assert_int_equal(queue_reply_len(r), 0);
	assert_null(queue_reply_at(r, 0));
	queue_reply_free(r);
}

static void test_malformed(void **state)
{
	(void)state;
	assert_null(parse(""));
	assert_null(parse("*2\r\n:1\r\n"));          /* incomplete */
	assert_null(parse("?what\r\n"));             /* no RESP type */
	assert_null(parse(":1\r\n:2\r\n"));          /* two replies */
	assert_null(parse(":1\r\n:"));               /* a trailing fragment */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_null),
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_array),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
