/* ctl_term_safe: values from Redis made harmless for a terminal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ctl_term.h"

static void test_safe(void **state)
{
	(void)state;
	char out[64];
	assert_string_equal(ctl_term_safe("issued", out, sizeof(out)), "issued");
	assert_string_equal(ctl_term_safe(NULL, out, sizeof(out)), "");
	assert_string_equal(ctl_term_safe("a\x1b]0;x\x07\x1b[2J\r\n\t", out, sizeof(out)),
	                    "a?]0;x??[2J???");
	/* 0x7f and every byte from 0x80 (UTF-8 included) */
	assert_string_equal(ctl_term_safe("\x7f\x80\x9b\xff\xc3\xa9 ~", out, sizeof(out)),
	                    "?????? ~");
}

static void test_truncates(void **state)
{
	(void)state;
	char out[8];
	memset(out, 'Z', sizeof(out));
	assert_string_equal(ctl_term_safe("0123456789", out, sizeof(out)), "0123456");
	assert_string_equal(ctl_term_safe("x", out, 1), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_safe),
		cmocka_unit_test(test_truncates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
