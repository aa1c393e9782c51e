/*
 * dcv-runtime-driver: the worker runtime as a library, started and stopped
 * more than once in one process (worker.h: worker_start, worker_stop,
 * worker_free), for test_runtime.py.
 *
 *   dcv-runtime-driver -c FILE      then, one command a line on stdin:
 *     start   worker_start(); prints "started" (or "start failed")
 *     stop    worker_stop(), then worker_free(); prints "stopped 0" when
 *             done, or "stopped <busy>" and exits 3 when threads are busy
 *   EOF stops a running runtime and exits 0.
 *
 * The handlers move a job through the five stages like the no-op ones and
 * print "handled <stage> <domain> <n>" for each call, N a number drawn
 * from stage_rand(), so the test sees that handlers get the runtime's
 * random source.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "worker.h"

static void handle(struct stage_env *env, struct job *job, struct outcome *out)
{
	char line[400];
	int n = snprintf(line, sizeof(line), "handled %s %s %llu\n", stage_name(env->stage),
	                 job->domain, (unsigned long long)stage_rand(env));
	ssize_t w = write(STDOUT_FILENO, line, (size_t)n);
	(void)w;
	if (env->stage == STAGE_OFFBOARD_CHECK)
		outcome_done(out);
	else
		outcome_advance(out, (enum stage)(env->stage + 1));
}

static const struct worker_app app = {
	.name = "dcv-runtime-driver",
	.stages = { handle, handle, handle, handle, handle },
};

int main(int argc, char **argv)
{
	struct worker_cfg wc;
	struct worker *w = NULL;
	char err[512], line[64];
	int rc = 0;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc != 3 || strcmp(argv[1], "-c") != 0) {
		fprintf(stderr, "usage: %s -c FILE\n", argv[0]);
		return 2;
	}
	struct cfg *c = cfg_load_file(argv[2], err, sizeof(err));
	if (!c) {
		fprintf(stderr, "%s: %s\n", argv[0], err);
		return 2;
	}
	worker_cfg_load(c, &wc);
	cfg_check_unknown(c);
	if (cfg_error(c)) {
		fprintf(stderr, "%s: %s\n", argv[0], cfg_error(c));
		cfg_free(c);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = '\0';
		if (strcmp(line, "start") == 0 && !w) {
			w = worker_start(&wc, &app, NULL);
			printf(w ? "started\n" : "start failed\n");
		} else if (strcmp(line, "stop") == 0 && w) {
			int busy = worker_stop(w);
			if (busy) {
				printf("stopped %d\n", busy);
				_exit(3);   /* its threads still use it */
			}
			worker_free(w);
			w = NULL;
			printf("stopped 0\n");
		} else {
			printf("unexpected '%s'\n", line);
			rc = 1;
		}
	}
	if (w && worker_stop(w) != 0)
		_exit(3);
	worker_free(w);
	cfg_free(c);
	return rc;
}
