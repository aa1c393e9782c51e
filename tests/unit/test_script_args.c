/*
 * script_args: the argument list of a script call (pure).  Keys first and
 * counted, numbers formatted, binary arguments kept whole, the cap and the
 * order enforced, the first failure kept.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "script_args.h"

static void test_layout(void **state)
{
	struct script_args a;
	const char **argv;
	const size_t *lens;
	int argc;
	(void)state;

	sa_init(&a, 0);
	sa_key(&a, "dcv:stream:finalize");
	sa_arg(&a, "dcv");
	sa_arg(&a, NULL);
	sa_argn(&a, "a\0b", 3);
	sa_argu(&a, 18446744073709551615ull);
	sa_argi(&a, -42);
	sa_argn(&a, NULL, 0);
	assert_int_equal(sa_nargs(&a), 6);
	assert_int_equal(sa_command(&a, "EVALSHA", "abc", &argc, &argv, &lens), SA_OK);
	assert_int_equal(argc, 3 + 7);
	assert_string_equal(argv[0], "EVALSHA");
	assert_string_equal(argv[1], "abc");
	assert_string_equal(argv[2], "1");
	assert_string_equal(argv[3], "dcv:stream:finalize");
	assert_string_equal(argv[4], "dcv");
	assert_int_equal(lens[5], 0);
	assert_int_equal(lens[6], 3);
	assert_memory_equal(argv[6], "a\0b", 3);
	assert_int_equal(lens[7], 20);
	assert_memory_equal(argv[7], "18446744073709551615", 20);
	assert_int_equal(lens[8], 3);
	assert_memory_equal(argv[8], "-42", 3);
	assert_int_equal(lens[9], 0);
	sa_free(&a);
}

/* Many arguments: the list grows, and the numbers stay put. */
static void test_grows(void **state)
{
	struct script_args a;
	const char **argv;
	const size_t *lens;
	int argc;
	char want[24];
	(void)state;

	sa_init(&a, 0);
	for (unsigned i = 0; i < 5000; i++)
		sa_argu(&a, i);
	assert_int_equal(sa_command(&a, "EVAL", "return 1", &argc, &argv, &lens), SA_OK);
	assert_int_equal(argc, 5003);
	assert_string_equal(argv[2], "0");
	for (unsigned i = 0; i < 5000; i += 499) {
		int n = snprintf(want, sizeof(want), "%u", i);
		assert_int_equal(lens[3 + i], (size_t)n);
		assert_memory_equal(argv[3 + i], want, (size_t)n);
	}
	sa_free(&a);
}

static void test_cap(void **state)
{
	struct script_args a;
	const char **argv;
	const size_t *lens;
	int argc = -1;
	(void)state;

	sa_init(&a, 3);
	sa_key(&a, "k");
	sa_arg(&a, "1");
	sa_arg(&a, "2");
	sa_arg(&a, "3");        /* the fourth: over the cap */
	sa_arg(&a, "4");        /* a no-op after the failure */
	assert_int_equal(sa_command(&a, "EVALSHA", "x", &argc, &argv, &lens), SA_E_TOOBIG);
	assert_int_equal(argc, -1);
	assert_string_equal(sa_strerror(SA_E_TOOBIG), "too many script arguments");
	sa_free(&a);
	/* freed lists may be used again */
	sa_init(&a, 3);
	sa_arg(&a, "1");
	assert_int_equal(sa_command(&a, "EVALSHA", "x", &argc, &argv, &lens), SA_OK);
	assert_int_equal(argc, 4);
	sa_free(&a);
}

static void test_keys_first(void **state)
{
	struct script_args a;
	const char **argv;
	const size_t *lens;
	int argc;
	(void)state;

	sa_init(&a, 0);
	sa_key(&a, "k1");
	sa_key(&a, "k2");
	sa_arg(&a, "a");
	sa_key(&a, "late");
	assert_int_equal(sa_command(&a, "EVALSHA", "x", &argc, &argv, &lens), SA_E_ORDER);
	sa_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_grows),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_keys_first),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
