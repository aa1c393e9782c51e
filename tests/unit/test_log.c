/* log: every line is one line, and in JSON one valid object, whatever the
 * message holds (control bytes, quotes, bytes that are not UTF-8) and however
 * long it is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "log.h"

/* Runs FN with stderr sent to a temporary file; returns what it wrote. */
static char *capture(void (*fn)(const char *), const char *arg)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	assert_non_null(tmp);
	dup2(fileno(tmp), STDERR_FILENO);
	fn(arg);
	dup2(saved, STDERR_FILENO);
	close(saved);
	long n = ftell(tmp);
	if (n <= 0)
		n = lseek(fileno(tmp), 0, SEEK_END);
	char *out = calloc(1, (size_t)n + 1);
	assert_non_null(out);
	lseek(fileno(tmp), 0, SEEK_SET);
	assert_int_equal(read(fileno(tmp), out, (size_t)n), n);
	fclose(tmp);
	return out;
}

static void one_job_line(const char *msg)
{
	struct log_job lj = { "verify-cname", "j1", "www.example.com", "retry", 12 };
	log_jobmsg(LOG_WARN, &lj, "%s", msg);
}

static void check_json(const char *msg, const char *expect_msg)
{
	log_setup(LOG_DEBUG, LOG_FMT_JSON);
	char *out = capture(one_job_line, msg);
	size_t len = strlen(out);
	assert_true(len > 0 && out[len - 1] == '\n');
	assert_null(memchr(out, '\n', len - 1));      /* one line */
	assert_true(len <= 4096);
	json_error_t e;
	json_t *o = json_loads(out, 0, &e);
	if (!o)
		fail_msg("not JSON (%s): %s", e.text, out);
	assert_string_equal(json_string_value(json_object_get(o, "domain")), "www.example.com");
	assert_int_equal(json_integer_value(json_object_get(o, "duration_ms")), 12);
	const char *m = json_string_value(json_object_get(o, "msg"));
	assert_non_null(m);
	if (expect_msg)
		assert_string_equal(m, expect_msg);
	json_decref(o);
	free(out);
}

static void test_json_escapes(void **state)
{
	(void)state;
	check_json("plain", "plain");
	check_json("q\"uote\\ and\ttab\nnewline", "q\"uote\\ and\ttab\nnewline");
	check_json("caf\xc3\xa9 \xff\x80", "caf\\xc3\\xa9 \\xff\\x80");
}

static void test_json_long_lines_stay_valid(void **state)
{
	(void)state;
	/* every length around the cut, with escapes that grow 6 times */
	char msg[8192];
	for (size_t n = 600; n < 8000; n += 97) {
		for (size_t i = 0; i < n; i++)
			msg[i] = i % 3 == 0 ? '\x01' : (i % 3 == 1 ? '"' : '\xe9');
		msg[n] = '\0';
		check_json(msg, NULL);
	}
}

static void test_logfmt_one_line(void **state)
{
	(void)state;
	log_setup(LOG_DEBUG, LOG_FMT_LOGFMT);
	char *out = capture(one_job_line, "a\nb c=\xff");
	size_t len = strlen(out);
	assert_null(memchr(out, '\n', len - 1));
	assert_non_null(strstr(out, "domain=www.example.com"));
	assert_non_null(strstr(out, "msg=\"a?b c=\\xff\""));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_escapes),
		cmocka_unit_test(test_json_long_lines_stay_valid),
		cmocka_unit_test(test_logfmt_one_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
