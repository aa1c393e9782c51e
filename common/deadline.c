/* A job's time limit; see deadline.h. */
#include "deadline.h"

#include <time.h>

long long deadline_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long deadline_left(long long deadline, long long limit_ms)
{
	if (deadline <= 0)
		return limit_ms;
	long long left = deadline - deadline_now_ms();
	return left < limit_ms ? left : limit_ms;
}
