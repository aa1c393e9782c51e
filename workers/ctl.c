/*
 * ctl: what dcvctl's commands share (see ctl.h).
 */
#include "ctl.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dname.h"

struct queue_reply *ctl_run(struct ctl *c, const char *fmt, ...)
{
	va_list ap;
	char buf[1024];
	const char *argv[16];
	int argc = 0;

	/* a tiny argv splitter for fixed commands with %s substitutions that
	 * never contain spaces (keys, ids) */
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (char *save = NULL, *t = strtok_r(buf, " ", &save); t && argc < 16;
	     t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	return ctl_run_argv(c, argc, argv);
}

struct queue_reply *ctl_run_argv(struct ctl *c, int argc, const char **argv)
{
	struct queue_reply *r = queue_command(c->q, argc, argv, NULL);
	if (!r) {
		fprintf(stderr, "dcvctl: %s\n", queue_errstr(c->q));
	} else if (queue_reply_error(r)) {
		fprintf(stderr, "dcvctl: %s: %s\n", argv[0], queue_reply_error(r));
		queue_reply_free(r);
		r = NULL;
	}
	return r;
}

void ctl_print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (s)
		puts(s);
	free(s);
	json_decref(j);
}

int ctl_one_domain(const char *cmd, int argc, char **argv, char *name)
{
	if (argc != 1 || argv[0][0] == '-') {
		ctl_usage(stderr);
		return EXIT_USAGE;
	}
	const char *why = dname_normalize(argv[0], name, DNAME_MAX + 1);
	if (why) {
		fprintf(stderr, "dcvctl %s: %s: %s\n", cmd, argv[0], why);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

long long ctl_lifecycle(struct ctl *c, enum script_id id, struct script_args *a)
{
	struct queue_reply *r = queue_eval(c->q, id, a);
	long long v = INT_MIN;

	if (!queue_reply_int(r, &v)) {
		fprintf(stderr, "dcvctl: %s\n", queue_errstr(c->q));
		v = INT_MIN;
	}
	queue_reply_free(r);
	return v;
}
