/*
 * dcv-test-worker: the worker runtime with handlers whose behaviour the
 * tests choose through the first label of the domain:
 *
 *   sleep<ms>-...      every stage sleeps <ms>, then advances
 *   retry<n>-...       verify-cname retries (policy backoff) until attempt n
 *   retryafter<ms>-... verify-cname asks once for an explicit <ms> delay
 *   fail-...           verify-cname fails permanently
 *   crash-...          verify-cname aborts the process (a poison job)
 *   anything else      advances through every stage like the no-op handlers
 *
 * Each handler call prints "handled <stage> <domain> <attempt>" to stdout,
 * so a test can count executions.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "worker.h"

static long label_num(const char *domain, const char *prefix)
{
	size_t n = strlen(prefix);
	if (strncmp(domain, prefix, n) != 0)
		return -1;
	char *end;
	long v = strtol(domain + n, &end, 10);
	return end != domain + n && *end == '-' ? v : -1;
}

static void handle(struct stage_env *env, struct job *job, struct outcome *out)
{
	enum stage s = env->stage;
	long v;
	char line[400];
	int n = snprintf(line, sizeof(line), "handled %s %s %u\n", stage_name(s),
	                 job->domain, job->attempt);
	ssize_t w = write(STDOUT_FILENO, line, (size_t)n);
	(void)w;

	if ((v = label_num(job->domain, "sleep")) >= 0) {
		struct timespec ts = { v / 1000, (v % 1000) * 1000000L };
		nanosleep(&ts, NULL);
	}
	if (s == STAGE_VERIFY_CNAME) {
		if ((v = label_num(job->domain, "retry")) >= 0 && job->attempt < (unsigned)v) {
			outcome_retry(out, -1, "not yet: attempt %u of %ld", job->attempt + 1, v);
			return;
		}
		if ((v = label_num(job->domain, "retryafter")) >= 0 &&
		    !job_ctx_int(job, "waited", 0)) {
			job_ctx_set_int(job, "waited", 1);
			outcome_retry(out, v, "the server asked to wait %ld ms", v);
			out->event = "waiting";
			return;
		}
		if (strncmp(job->domain, "fail-", 5) == 0) {
			outcome_fail(out, "refused by the test handler");
			out->state = "failed";
			return;
		}
		if (strncmp(job->domain, "crash-", 6) == 0)
			abort();
	}
	if (s == STAGE_OFFBOARD_CHECK)
		outcome_done(out);
	else
		outcome_advance(out, (enum stage)(s + 1));
}

static const struct worker_app test_app = {
	.name = "dcv-test-worker",
	.stages = { handle, handle, handle, handle, handle },
};

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	return worker_main(argc, argv, &test_app);
}
