/*
 * domain_rec: a stage's write with more fields than one write carries fails
 * (-1, logged) before anything is sent, never a write with fields left out.
 * The environment has no queue: a write that went on to Redis would crash
 * here, so the test fails unless the refusal comes first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "domain_rec.h"
#include "job.h"

static void test_too_many_fields(void **state)
{
	struct stage_env env;
	struct job j;
	(void)state;

	memset(&env, 0, sizeof(env));
	job_init(&j, "example.com", NULL, 0);
	/* 21 fields to set: one more than a write holds */
	assert_int_equal(domain_set(&env, &j,
	        "f1", "v", "f2", "v", "f3", "v", "f4", "v", "f5", "v", "f6", "v",
	        "f7", "v", "f8", "v", "f9", "v", "f10", "v", "f11", "v", "f12", "v",
	        "f13", "v", "f14", "v", "f15", "v", "f16", "v", "f17", "v", "f18", "v",
	        "f19", "v", "f20", "v", "f21", "v", (char *)NULL), -1);
	/* 17 fields to delete: one more than a write holds */
	assert_int_equal(domain_note(&env, &j, "g", "", NULL, NULL,
	        "d1", NULL, "d2", NULL, "d3", NULL, "d4", NULL, "d5", NULL, "d6", NULL,
	        "d7", NULL, "d8", NULL, "d9", NULL, "d10", NULL, "d11", NULL, "d12", NULL,
	        "d13", NULL, "d14", NULL, "d15", NULL, "d16", NULL, "d17", NULL,
	        (char *)NULL), -1);
	job_clear(&j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_too_many_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
