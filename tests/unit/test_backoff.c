/* worker_backoff: exponential with full jitter, capped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "worker.h"

static void test_bounds(void **state)
{
	(void)state;
	struct stage_policy p = { 100, 1000, 0 };
	uint64_t x = 88172645463325252ULL;
	for (uint32_t attempt = 1; attempt < 40; attempt++) {
		long long ceiling = 100LL << (attempt - 1 < 20 ? attempt - 1 : 20);
		if (ceiling > 1000)
			ceiling = 1000;
		int64_t lo = INT64_MAX, hi = 0;
		for (int i = 0; i < 2000; i++) {
			x ^= x << 13; x ^= x >> 7; x ^= x << 17;
			int64_t d = worker_backoff(&p, attempt, x);
			assert_true(d >= 0 && d <= ceiling);
			if (d < lo) lo = d;
			if (d > hi) hi = d;
		}
		/* full jitter: the draws spread over the whole range */
		assert_true(lo < ceiling / 10 + 1);
		assert_true(hi > ceiling * 9 / 10);
	}
	assert_int_equal(worker_backoff(&p, 1, 100), 100 % 101);
	assert_int_equal(worker_backoff(&p, 1000000, UINT64_MAX), (int64_t)(UINT64_MAX % 1001));
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_bounds) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
