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

/* The newcomer's typo: the section was asked for, the key in it was not. */
static void test_unknown_key_in_known_section(void **state)
{
	(void)state;
	struct cfg *c = load("worker:\n  concurency: 4\n");
	cfg_int(c, "worker.concurrency", 4, 1, 1024);
	cfg_check_unknown(c);
	assert_string_equal(cfg_error(c), "t.yaml:2: unknown key 'worker.concurency' "
	                    "(did you mean 'worker.concurrency'?)");
	cfg_free(c);

	/* a section nobody asked into is still named as a whole, with the
	 * section that was meant */
	c = load("wrker:\n  concurrency: 4\n");
	cfg_int(c, "worker.concurrency", 4, 1, 1024);
	cfg_check_unknown(c);
	assert_string_equal(cfg_error(c), "t.yaml:1: unknown key 'wrker' "
	                    "(did you mean 'worker'?)");
	cfg_free(c);

	/* nothing close: no suggestion */
	c = load("worker:\n  colour: blue\n");
	cfg_int(c, "worker.concurrency", 4, 1, 1024);
	cfg_check_unknown(c);
	assert_string_equal(cfg_error(c), "t.yaml:2: unknown key 'worker.colour'");
	cfg_free(c);
}

/* Every error at once, each on its own line, in file order; a missing key
 * is reported at its section's line, and one with no section at all last. */
static void test_all_errors_in_file_order(void **state)
{
	(void)state;
	struct cfg *c = load("worker:\n  concurency: 4\n  batch: many\n"
	                     "dns:\n  tries: 99\n");
	cfg_fail(c, "provider", "the stages need a provider section");
	cfg_int(c, "dns.tries", 2, 1, 10);
	cfg_int(c, "worker.batch", 1, 1, 1000);
	cfg_int(c, "worker.concurrency", 4, 1, 1024);
	cfg_fail(c, "dns.resolvers", "need at least one");
	cfg_check_unknown(c);
	assert_string_equal(cfg_error(c),
		"t.yaml:2: unknown key 'worker.concurency' (did you mean 'worker.concurrency'?)\n"
		"t.yaml:3: worker.batch: not an integer ('many')\n"
		"t.yaml:4: dns.resolvers: need at least one\n"
		"t.yaml:5: dns.tries: out of range [1, 10] ('99')\n"
		"t.yaml: provider: the stages need a provider section");

	/* printed one a line behind the program's name */
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	cfg_print_errors(c, f, "dcv-worker");
	fclose(f);
	assert_string_equal(buf,
		"dcv-worker: t.yaml:2: unknown key 'worker.concurency' (did you mean 'worker.concurrency'?)\n"
		"dcv-worker: t.yaml:3: worker.batch: not an integer ('many')\n"
		"dcv-worker: t.yaml:4: dns.resolvers: need at least one\n"
		"dcv-worker: t.yaml:5: dns.tries: out of range [1, 10] ('99')\n"
		"dcv-worker: t.yaml: provider: the stages need a provider section\n");
	free(buf);
	cfg_free(c);

	/* the same bad node read twice is one error */
	c = load("worker:\n  stages: verify-cname\n");
	cfg_list_len(c, "worker.stages");
	cfg_list_str(c, "worker.stages", 0);
	assert_string_equal(cfg_error(c), "t.yaml:2: worker.stages: expected a list");
	cfg_free(c);
}

/* A scalar where a section is needed is an error; an empty section
 * ("metrics:" with every key commented out) is no section. */
static void test_sections(void **state)
{
	(void)state;
	struct cfg *c = load("worker: 4\n");
	assert_int_equal(cfg_int(c, "worker.concurrency", 7, 1, 1024), 7);
	cfg_check_unknown(c);
	assert_string_equal(cfg_error(c), "t.yaml:1: worker: expected a mapping "
	                    "(a section), not a single value");
	cfg_free(c);

	c = load("metrics:\n#  port: 9100\nworker:\n  concurrency: 2\n");
	assert_int_equal(cfg_int(c, "metrics.port", 9464, 0, 65535), 9464);
	assert_int_equal(cfg_int(c, "worker.concurrency", 4, 1, 1024), 2);
	cfg_check_unknown(c);
	assert_null(cfg_error(c));
	cfg_free(c);
}

/* Durations never wrap: the bound is checked on the milliseconds. */
static void test_int_overflow(void **state)
{
	(void)state;
	static const char *const huge[] = {
		"2305843009213693954s",      /* the issue's: * 1000 wraps to 1 */
		"9223372036854775807d", "-9223372036854775807h", "106751991167301d",
		"9223372036854775808", "99999999999999999999ms",
	};
	char text[128];
	for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		snprintf(text, sizeof(text), "worker:\n  drain_ms: %s\n", huge[i]);
		struct cfg *c = load(text);
		assert_int_equal(cfg_int(c, "worker.drain_ms", 25000, 0, 3600000), 25000);
		if (!cfg_error(c) || !strstr(cfg_error(c), "t.yaml:2: worker.drain_ms: out of range"))
			fail_msg("%s: %s", huge[i], cfg_error(c) ? cfg_error(c) : "accepted");
		cfg_free(c);
	}
	/* the largest that fits still counts */
	struct cfg *c = load("a:\n  x_ms: 106751991167d\n  y_ms: 9223372036854775807ms\n");
	assert_true(cfg_int(c, "a.x_ms", 0, 0, INT64_MAX) == 106751991167LL * 86400000);
	assert_true(cfg_int(c, "a.y_ms", 0, 0, INT64_MAX) == INT64_MAX);
	assert_null(cfg_error(c));
	cfg_free(c);

	setenv("DCV_WORKER_DRAIN_MS", "2305843009213693954s", 1);
	c = cfg_new_empty();
	assert_int_equal(cfg_int(c, "worker.drain_ms", 25000, 0, 3600000), 25000);
	assert_non_null(strstr(cfg_error(c), "DCV_WORKER_DRAIN_MS: out of range"));
	unsetenv("DCV_WORKER_DRAIN_MS");
	cfg_free(c);
}

/* NaN and infinity are no fraction. */
static void test_double_bounds(void **state)
{
	(void)state;
	static const char *const bad[] = { "nan", "NaN", "inf", "-inf", "1e999", "-nan" };
	char text[64];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "l:\n  f: %s\n", bad[i]);
		struct cfg *c = load(text);
		assert_true(cfg_double(c, "l.f", 0.25, 0.0, 1.0) == 0.25);
		if (!cfg_error(c) || !strstr(cfg_error(c), "t.yaml:2: l.f: out of range [0, 1]"))
			fail_msg("%s: %s", bad[i], cfg_error(c) ? cfg_error(c) : "accepted");
		cfg_free(c);
	}
}

/* A value in a message cannot split the line or flood it. */
static void test_value_shown_safely(void **state)
{
	(void)state;
	struct cfg *c = load("w:\n  n: \"4\\nt.yaml:9: all is well\"\n"
	                     "  m: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n");
	cfg_int(c, "w.n", 1, 1, 10);
	cfg_int(c, "w.m", 1, 1, 10);
	assert_string_equal(cfg_error(c),
		"t.yaml:2: w.n: not an integer ('4\\x0at.yaml:9: all is well')\n"
		"t.yaml:3: w.m: not an integer ('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...')");
	cfg_free(c);
}

/* An index past an environment list is NULL, even a huge one. */
static void test_env_list_index(void **state)
{
	(void)state;
	struct cfg *c = cfg_new_empty();
	setenv("DCV_WORKER_STAGES", "finalize,,create-order", 1);
	assert_int_equal(cfg_list_len(c, "worker.stages"), 2);
	assert_string_equal(cfg_list_str(c, "worker.stages", 1), "create-order");
	assert_null(cfg_list_str(c, "worker.stages", 2));
	assert_null(cfg_list_str(c, "worker.stages", SIZE_MAX));
	unsetenv("DCV_WORKER_STAGES");
	cfg_free(c);
}

/* What cfg_check_env() reported, for test_env_unknown. */
struct env_seen {
	char vars[4][128];
	char hints[4][128];
	int n;
};

static void env_seen(void *arg, const char *var, const char *hint)
{
	struct env_seen *s = arg;
	if (s->n < 4) {
		snprintf(s->vars[s->n], sizeof(s->vars[0]), "%s", var);
		snprintf(s->hints[s->n], sizeof(s->hints[0]), "%s", hint ? hint : "-");
	}
	s->n++;
}

static void test_env_unknown(void **state)
{
	(void)state;
	char err[256];
	struct cfg *c = cfg_load_string("acme:\n  directory: https://x/\n", "t.yaml", err,
	                                sizeof(err));
	assert_non_null(c);
	(void)cfg_int(c, "worker.concurrency", 4, 1, 1024);
	(void)cfg_keys(c, "stages", &(size_t){ 0 });
	cfg_skip(c, "acme");
	char *env[] = {
		"DCV_WORKER_CONCURENCY=8",                 /* misspelt: said, with the key */
		"DCV_WORKER_CONCURRENCY=8",                /* known */
		"DCV_STAGES_FINALIZE_MAX_ATTEMPTS=3",      /* below a section asked for */
		"DCV_ACME_KEK_FILE=/secret/value",         /* below a skipped section */
		"DCV_NOTHING_LIKE_IT=s3cr3t",              /* unknown, no hint */
		"DCV_KEK_OF_ITS_OWN=00",                   /* read by the program itself */
		"PATH=/usr/bin",
		NULL,
	};
	struct env_seen seen = { .n = 0 };
	static const char *const direct[] = { "DCV_KEK_OF_ITS_OWN", NULL };
	assert_int_equal(cfg_check_env(c, env, direct, env_seen, &seen), 2);
	assert_int_equal(seen.n, 2);
	assert_string_equal(seen.vars[0], "DCV_WORKER_CONCURENCY");
	assert_string_equal(seen.hints[0], "DCV_WORKER_CONCURRENCY");
	assert_string_equal(seen.vars[1], "DCV_NOTHING_LIKE_IT");   /* the name, never the value */
	assert_string_equal(seen.hints[1], "-");
	assert_null(cfg_error(c));                                  /* a warning, not an error */
	cfg_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_errors_name_line),
		cmocka_unit_test(test_env_override),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_unknown_key_in_known_section),
		cmocka_unit_test(test_all_errors_in_file_order),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_int_overflow),
		cmocka_unit_test(test_double_bounds),
		cmocka_unit_test(test_value_shown_safely),
		cmocka_unit_test(test_env_list_index),
		cmocka_unit_test(test_env_unknown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
