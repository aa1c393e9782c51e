/* secret: the one secret-file reader, over real files in a scratch
 * directory: trimming, the size cap at its edge, a missing file, no
 * descriptor left open. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "secret.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_secret.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/s", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return rmdir(dir);
}

static void put(const char *content, size_t len)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static int open_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void expect(const char *content, size_t max, const char *want)
{
	char *s = NULL;
	size_t n = 99;
	put(content, strlen(content));
	assert_int_equal(secret_read_file(path, max, &s, &n), SECRET_OK);
	assert_string_equal(s, want);
	assert_int_equal(n, strlen(want));
	secret_free(s);
}

static void test_trims_trailing_whitespace(void **state)
{
	(void)state;
	expect("hmac-key\n", 64, "hmac-key");
	expect("hmac-key\r\n", 64, "hmac-key");
	expect("hmac-key \t\n\n", 64, "hmac-key");
	expect("  lead stays", 64, "  lead stays");
	expect("a b", 64, "a b");
	expect("", 64, "");
	expect("\n", 64, "");
}

static void test_cap_is_before_trimming(void **state)
{
	(void)state;
	char *s = NULL;
	expect("12345678", 8, "12345678");  /* exactly MAX bytes */
	put("123456789", 9);                /* one more */
	assert_int_equal(secret_read_file(path, 8, &s, NULL), SECRET_ETOOBIG);
	assert_null(s);
	put("1234567\n\n", 9);              /* the newline counts */
	assert_int_equal(secret_read_file(path, 8, &s, NULL), SECRET_ETOOBIG);
	assert_null(s);
	expect("1234567\n", 8, "1234567");
}

static void test_missing_and_invalid(void **state)
{
	(void)state;
	char *s = (char *)"untouched";
	char missing[160];
	snprintf(missing, sizeof(missing), "%s/none", dir);
	errno = 0;
	assert_int_equal(secret_read_file(missing, 64, &s, NULL), SECRET_EOPEN);
	assert_int_equal(errno, ENOENT);
	assert_null(s);
	assert_int_equal(secret_read_file(dir, 64, &s, NULL), SECRET_EREAD);
	assert_int_equal(errno, EISDIR);
	assert_int_equal(secret_read_file(NULL, 64, &s, NULL), SECRET_EINVAL);
	assert_int_equal(secret_read_file(path, 0, &s, NULL), SECRET_EINVAL);
	assert_string_equal(secret_strerror(SECRET_ETOOBIG), "too big");
	secret_free(NULL);
}

static void test_no_descriptor_left_open(void **state)
{
	(void)state;
	char *s = NULL;
	int before = open_fds();
	put("k\n", 2);
	assert_int_equal(secret_read_file(path, 64, &s, NULL), SECRET_OK);
	secret_free(s);
	put("too long\n", 9);
	assert_int_equal(secret_read_file(path, 4, &s, NULL), SECRET_ETOOBIG);
	assert_int_equal(secret_read_file(dir, 4, &s, NULL), SECRET_EREAD);
	assert_int_equal(open_fds(), before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trims_trailing_whitespace),
		cmocka_unit_test(test_cap_is_before_trimming),
		cmocka_unit_test(test_missing_and_invalid),
		cmocka_unit_test(test_no_descriptor_left_open),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
