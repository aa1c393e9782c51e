/*
 * worker_main: the command line of dcv-worker (and of the test worker):
 * options, configuration, signals, then the runtime (worker.h) until
 * SIGTERM or SIGINT, and the drain.
 */
#include "worker.h"
#include "noop.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "account.h"
#include "certstore.h"
#include "log.h"

/* What the command line asked for. */
struct options {
	const char *path;    /* -c FILE; NULL: embedded defaults */
	unsigned mask;       /* --stage S...: stages served; 0: the config's */
	long concurrency;    /* --concurrency N; 0: the config's */
	int check;           /* --check-config */
};

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
	        "usage: %s [-c FILE] [--stage S]... [--concurrency N] [--check-config]\n"
	        "  -c, --config FILE   configuration (YAML); without it, embedded defaults\n"
	        "  --stage S           serve stage S (repeatable; default: all five)\n"
	        "  --concurrency N     worker threads (overrides worker.concurrency)\n"
	        "  --check-config      validate the configuration and exit\n"
	        "Environment: DCV_<SECTION>_<KEY> overrides a key, e.g. DCV_REDIS_URL.\n",
	        prog);
}

/* Parses ARGV into O.  Returns -1 to go on, else the exit status (0 after
 * --help, 2 on a usage error, said on stderr). */
static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "stage", required_argument, NULL, 's' },
		{ "concurrency", required_argument, NULL, 'n' },
		{ "check-config", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': o->path = optarg; break;
		case 's': {
			int s = stage_parse(optarg);
			if (s < 0) {
				fprintf(stderr, "%s: unknown stage '%s' (verify-cname, create-order, "
				        "provision-txt, finalize, offboard-check)\n", argv[0], optarg);
				return 2;
			}
			o->mask |= 1u << s;
			break;
		}
		case 'n': {
			char *end;
			o->concurrency = strtol(optarg, &end, 10);
			if (*end || o->concurrency < 1 || o->concurrency > 1024) {
				fprintf(stderr, "%s: --concurrency must be 1-1024\n", argv[0]);
				return 2;
			}
			break;
		}
		case 'k': o->check = 1; break;
		case 'h': usage(stdout, argv[0]); return 0;
		default: usage(stderr, argv[0]); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr, argv[0]);
		return 2;
	}
	return -1;
}

extern char **environ;

/* A DCV_* variable that overrides nothing: said, since a misspelt override
 * (DCV_WORKER_CONCURENCY) would otherwise change nothing in silence. */
static void warn_env(void *arg, const char *var, const char *hint)
{
	(void)arg;
	if (hint)
		log_msg(LOG_WARN, "environment variable %s is no configuration key of "
		        "dcv-worker and is ignored (did you mean %s?)", var, hint);
	else
		log_msg(LOG_WARN, "environment variable %s is no configuration key of "
		        "dcv-worker and is ignored", var);
}

/* Reads the runtime's and the program's configuration into *C, W and
 * *DEPS, with the command line's overrides; *APP becomes the no-op
 * handlers when worker.handlers says so.  Returns 0, or 2 after saying
 * why (*C and *DEPS are then still the caller's to free). */
static int load_config(const char *prog, const struct options *o, struct cfg **c,
                       struct worker_cfg *w, const struct worker_app **app,
                       void **deps)
{
	char err[512];

	*c = o->path ? cfg_load_file(o->path, err, sizeof(err)) : cfg_new_empty();
	if (!*c) {
		fprintf(stderr, "%s: %s\n", prog, o->path ? err : "out of memory");
		return 2;
	}
	worker_cfg_load(*c, w);
	if (o->mask)
		w->stage_mask = o->mask;
	if (o->concurrency)
		w->concurrency = (int)o->concurrency;
	if (strcmp(w->handlers, "noop") == 0) {
		/* the runtime alone (benchmarks, the queue tests): the modules'
		 * sections are not read */
		static const char *const modules[] = { "acme", "dns", "provider",
		                                       "lifecycle", "ratelimit" };
		*app = &noop_app;
		for (size_t k = 0; k < sizeof(modules) / sizeof(*modules); k++)
			cfg_skip(*c, modules[k]);
	}
	if ((*app)->configure && (*app)->configure(*c, w, deps) < 0 && !cfg_error(*c))
		cfg_fail(*c, "worker", "the %s configuration is invalid", (*app)->name);
	cfg_check_unknown(*c);
	if (cfg_error(*c)) {
		cfg_print_errors(*c, stderr, prog);
		return 2;
	}
	/* read with getenv, not as keys: the KEKs (account.c, certstore.c), and
	 * the console's secrets (dcvctl console), which a pod may share with the
	 * worker */
	static const char *const direct[] = { ACCOUNT_KEK_ENV, CERTSTORE_KEK_ENV,
	                                      "DCV_CONSOLE_AUTH",
	                                      "DCV_CONSOLE_WRITE_TOKEN", NULL };
	cfg_check_env(*c, environ, direct, warn_env, NULL);
	return 0;
}

/* Runs the runtime until SIGTERM or SIGINT, then drains.  Returns the exit
 * status; a drain that runs out of time ends the process here. */
static int run(const struct worker_cfg *cfg, const struct worker_app *app, void *deps)
{
	sigset_t set;
	int sig;

	/* Signals go to this thread only, which turns them into a drain. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct worker *w = worker_start(cfg, app, deps);
	if (!w)
		return 1;
	while (sigwait(&set, &sig) != 0)
		;
	log_msg(LOG_INFO, "signal %d: draining for up to %lld ms", sig, cfg->drain_ms);
	if (worker_stop(w) != 0)
		_exit(0);   /* threads still in handlers: nothing may be freed */
	log_msg(LOG_INFO, "drained; exiting");
	worker_free(w);
	return 0;
}

int worker_main(int argc, char **argv, const struct worker_app *app)
{
	struct options o;
	struct cfg *c = NULL;
	struct worker_cfg cfg;
	void *deps = NULL;

	int rc = parse_options(argc, argv, &o);
	if (rc >= 0)
		return rc;
	rc = load_config(argv[0], &o, &c, &cfg, &app, &deps);
	if (rc == 0 && o.check)
		printf("%s: configuration ok\n", o.path ? o.path : "(embedded defaults)");
	else if (rc == 0)
		rc = run(&cfg, app, deps);
	if (app->release)
		app->release(deps);
	cfg_free(c);
	return rc;
}
