/* cfg: typed getters, file and line in every error, unknown keys, the
 * environment overrides. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cfg.h"

static struct cfg *load(const char *text)
{
	char err[512];
	struct cfg *c = cfg_load_string(text, "t.yaml", err, sizeof(err));
	if (!c)
		fail_msg("load: %s", err);
	return c;
}

static void expect_load_error(const char *text, const char *want)
{
	char err[512];
	struct cfg *c = cfg_load_string(text, "t.yaml", err, sizeof(err));
	assert_null(c);
	if (!strstr(err, want))
		fail_msg("expected '%s' in '%s'", want, err);
}

static void test_values(void **state)
{
	(void)state;
	struct cfg *c = load("redis:\n  url: redis://x:1/0\nworker:\n  concurrency: 8\n"
	                     "  drain_ms: 30s\n  flag: yes\n  ratio: 0.5\n"
	                     "  stages: [verify-cname, finalize]\n");
	assert_string_equal(cfg_str(c, "redis.url", "d"), "redis://x:1/0");
	assert_string_equal(cfg_str(c, "redis.prefix", "dcv"), "dcv");
	assert_int_equal(cfg_int(c, "worker.concurrency", 1, 1, 100), 8);
	assert_int_equal(cfg_int(c, "worker.drain_ms", 1, 0, 100000), 30000);
	assert_true(cfg_bool(c, "worker.flag", false));
	assert_true(cfg_double(c, "worker.ratio", 0, 0, 1) == 0.5);
	assert_int_equal(cfg_list_len(c, "worker.stages"), 2);
	assert_string_equal(cfg_list_str(c, "worker.stages", 1), "finalize");
	assert_null(cfg_list_str(c, "worker.stages", 2));
	cfg_check_unknown(c);
	assert_null(cfg_error(c));
	cfg_free(c);
}

static void test_errors_name_line(void **state)
{
	(void)state;
	struct cfg *c = load("worker:\n  concurrency: lots\n");
	cfg_int(c, "worker.concurrency", 1, 1, 100);
	assert_non_null(strstr(cfg_error(c), "t.yaml:2: worker.concurrency: not an integer"));
	cfg_free(c);

	c = load("worker:\n  concurrency: 4\n  concurrrency: 5\n");
	cfg_int(c, "worker.concurrency", 1, 1, 100);
	cfg_check_unknown(c);
	assert_non_null(strstr(cfg_error(c), "t.yaml:3: unknown key 'worker.concurrrency'"));
	cfg_free(c);

	c = load("wrker:\n  concurrency: 4\n");
	cfg_int(c, "worker.concurrency", 1, 1, 100);
	cfg_check_unknown(c);
	assert_non_null(strstr(cfg_error(c), "t.yaml:1: unknown key 'wrker'"));
	cfg_free(c);

	c = load("worker:\n  concurrency: 4000\n");
	cfg_int(c, "worker.concurrency", 1, 1, 100);
	assert_non_null(strstr(cfg_error(c), "t.yaml:2"));
	assert_non_null(strstr(cfg_error(c), "out of range"));
	cfg_free(c);

	c = load("worker:\n  drain_ms: 5 parsecs\n");
	cfg_int(c, "worker.drain_ms", 1, 0, 100);
	assert_non_null(cfg_error(c));
	cfg_free(c);

	c = load("worker:\n  stages: verify-cname\n");
	cfg_list_len(c, "worker.stages");
	assert_non_null(strstr(cfg_error(c), "expected a list"));
	cfg_free(c);

	expect_load_error("a: 1\na: 2\n", "t.yaml:2: duplicate key 'a'");
	expect_load_error("a: [1, 2\n", "t.yaml");
	expect_load_error("- 1\n- 2\n", "top level must be a mapping");
	expect_load_error("a: &x 1\nb: *x\n", "aliases");
}

static void test_env_override(void **state)
{
	(void)state;
	struct cfg *c = load("redis:\n  url: redis://file:1/0\n");
	setenv("DCV_REDIS_URL", "redis://env:2/0", 1);
	setenv("DCV_WORKER_STAGES", "finalize, create-order", 1);
	setenv("DCV_STAGES_VERIFY_CNAME_MAX_ATTEMPTS", "x", 1);
	assert_string_equal(cfg_str(c, "redis.url", "d"), "redis://env:2/0");
	assert_int_equal(cfg_list_len(c, "worker.stages"), 2);
	assert_string_equal(cfg_list_str(c, "worker.stages", 1), "create-order");
	cfg_int(c, "stages.verify-cname.max_attempts", 0, 0, 10);
	assert_non_null(strstr(cfg_error(c), "DCV_STAGES_VERIFY_CNAME_MAX_ATTEMPTS"));
	unsetenv("DCV_REDIS_URL");
	unsetenv("DCV_WORKER_STAGES");
	unsetenv("DCV_STAGES_VERIFY_CNAME_MAX_ATTEMPTS");
	cfg_check_unknown(c);
	cfg_free(c);

	struct cfg *e = cfg_new_empty();
	assert_int_equal(cfg_int(e, "worker.batch", 32, 1, 100), 32);
	cfg_check_unknown(e);
	assert_null(cfg_error(e));
	cfg_free(e);
}

static void test_empty_file(void **state)
{
	(void)state;
	struct cfg *c = load("");
	assert_string_equal(cfg_str(c, "a.b", "x"), "x");
	cfg_check_unknown(c);
	assert_null(cfg_error(c));
	cfg_free(c);
	c = load("# only a comment\n");
	cfg_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_errors_name_line),
		cmocka_unit_test(test_env_override),
		cmocka_unit_test(test_empty_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
