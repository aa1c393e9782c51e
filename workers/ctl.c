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

int ctl_scan(struct ctl *c, const char *kind, int domains, size_t max,
             int (*fn)(struct ctl *c, const char *key, const char *tail, void *arg),
             void *arg)
{
	char pattern[400], cursor[32] = "0";
	size_t o = 0, seen = 0, plen = strlen(c->wc.q.prefix) + strlen(kind) + 2;
	int rc = 0;

	/* the prefix's glob characters escaped */
	for (const char *p = c->wc.q.prefix; *p && o + 3 < sizeof(pattern) - 64; p++) {
		if (strchr("*?[]\\", *p))
			pattern[o++] = '\\';
		pattern[o++] = *p;
	}
	snprintf(pattern + o, sizeof(pattern) - o, ":%s:*", kind);
	do {
		const char *scan[] = { "SCAN", cursor, "MATCH", pattern, "COUNT", "100" };
		struct queue_reply *r = ctl_run_argv(c, 6, scan);
		const struct queue_reply *keys = queue_reply_at(r, 1);
		const char *next = queue_reply_str(queue_reply_at(r, 0), NULL);
		if (queue_reply_len(r) != 2 || !next || queue_reply_kind(keys) != QR_ARRAY) {
			queue_reply_free(r);
			return -1;
		}
		snprintf(cursor, sizeof(cursor), "%s", next);
		for (size_t i = 0; rc == 0 && i < queue_reply_len(keys); i++) {
			size_t klen;
			const char *k = queue_reply_str(queue_reply_at(keys, i), &klen);
			char name[DNAME_MAX + 1];
			if (!k || klen <= plen || strlen(k) != klen)
				continue;
			if (domains && (dname_normalize(k + plen, name, sizeof(name)) ||
			                strcmp(name, k + plen) != 0))
				continue;
			rc = fn(c, k, k + plen, arg) ? 1 : 0;
			if (max && ++seen >= max)
				rc = 1;
		}
		queue_reply_free(r);
	} while (rc == 0 && strcmp(cursor, "0") != 0);
	return rc;
}
