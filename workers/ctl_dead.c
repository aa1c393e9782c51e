/*
 * ctl_dead: "dcvctl dead list|replay|purge", the dead-letter stream.
 */
#include "ctl.h"
#include "ctl_term.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script_args.h"
#include "scripts.h"

/* The fields of a dead letter as JSON. */
static json_t *dead_json(const struct queue_reply *e)
{
	json_t *j = json_object();
	const struct queue_reply *f = queue_reply_at(e, 1);
	const char *id = queue_reply_str(queue_reply_at(e, 0), NULL);
	json_object_set_new(j, "id", json_string(id ? id : ""));
	for (size_t i = 0; i + 1 < queue_reply_len(f); i += 2) {
		const char *k = queue_reply_str(queue_reply_at(f, i), NULL);
		size_t len;
		const char *v = queue_reply_str(queue_reply_at(f, i + 1), &len);
		if (!k || !v)
			continue;
		if (strcmp(k, "job") == 0) {
			/* binary msgpack: show it as hex, as in schemas/ */
			char *hex = malloc(2 * len + 1);
			for (size_t b = 0; hex && b < len; b++)
				snprintf(hex + 2 * b, 3, "%02x", (unsigned char)v[b]);
			if (hex) {
				hex[2 * len] = '\0';
				json_object_set_new(j, "job_hex", json_string(hex));
			}
			free(hex);
		} else {
			json_object_set_new(j, k, json_stringn(v, len));
		}
	}
	return j;
}

json_t *ctl_dead_fetch(struct ctl *c, long count)
{
	return ctl_dead_fetch_upto(c, "+", count);
}

json_t *ctl_dead_fetch_upto(struct ctl *c, const char *max_id, long count)
{
	struct queue_reply *r = ctl_run(c, "XREVRANGE %s:dead %s - COUNT %ld", c->wc.q.prefix,
	                                max_id, count);
	json_t *arr = NULL;

	if (queue_reply_kind(r) == QR_ARRAY) {
		arr = json_array();
		for (size_t i = 0; i < queue_reply_len(r); i++)
			json_array_append_new(arr, dead_json(queue_reply_at(r, i)));
	}
	queue_reply_free(r);
	return arr;
}

/* "dead list": the newest COUNT dead letters. */
static int dead_list(struct ctl *c, long count)
{
	if (count < 1 || count > 100000)
		return ctl_usage(stderr), EXIT_USAGE;
	json_t *arr = ctl_dead_fetch(c, count);
	if (!arr)
		return EXIT_FAIL;
	if (c->json) {
		ctl_print_json(arr);
		return EXIT_OK;
	}
	size_t i;
	json_t *e;
	json_array_foreach(arr, i, e) {
		/* every field came from Redis: no escape reaches the terminal */
		char id[64], stage[64], domain[300], reason[1024];
		printf("%s  %s  %s  %s\n",
		       ctl_term_safe(json_string_value(json_object_get(e, "id")), id, sizeof(id)),
		       ctl_term_safe(json_string_value(json_object_get(e, "stage")), stage, sizeof(stage)),
		       ctl_term_safe(json_string_value(json_object_get(e, "domain")), domain, sizeof(domain)),
		       ctl_term_safe(json_string_value(json_object_get(e, "reason")), reason, sizeof(reason)));
	}
	json_decref(arr);
	return EXIT_OK;
}

/* The id of the oldest dead letter into ID (64 bytes).  Returns 1, 0 when
 * there is none, -1 after saying why. */
static int oldest(struct ctl *c, char *id)
{
	struct queue_reply *r = ctl_run(c, "XRANGE %s:dead - + COUNT 1", c->wc.q.prefix);
	int found = -1;

	if (queue_reply_kind(r) == QR_ARRAY) {
		const char *first = queue_reply_str(queue_reply_at(queue_reply_at(r, 0), 0), NULL);
		found = queue_reply_len(r) > 0;
		if (found && !first)
			found = -1;   /* an entry without an id */
		if (found > 0)
			snprintf(id, 64, "%s", first);
	}
	queue_reply_free(r);
	return found;
}

/* Replays (REPLAY) or purges the dead letter ID.  Returns 1 when it did,
 * 0 when there is no such dead letter (or it cannot be replayed), -1 after
 * saying why it failed. */
static int dead_one(struct ctl *c, const char *sub, bool replay, const char *id)
{
	const char *p = c->wc.q.prefix;
	struct queue_reply *r;
	long long n = 0;

	if (replay) {
		/* layout: common/lua/replay.lua */
		struct script_args a;
		sa_init(&a, 0);
		sa_arg(&a, p);
		sa_arg(&a, id);
		r = queue_eval(c->q, SCRIPT_REPLAY, &a);
		if (!r || queue_reply_error(r)) {
			fprintf(stderr, "dcvctl dead %s: %s\n", sub, queue_errstr(c->q));
			queue_reply_free(r);
			return -1;
		}
	} else if (!(r = ctl_run(c, "XDEL %s:dead %s", p, id))) {
		return -1;
	}
	int found = replay ? queue_reply_str(r, NULL) != NULL
	                   : queue_reply_int(r, &n) && n == 1;
	if (found && replay)
		printf("%s replayed into %s\n", id, queue_reply_str(r, NULL));
	else if (found)
		printf("%s purged\n", id);
	queue_reply_free(r);
	return found;
}

/* "dead replay|purge --all": oldest first, until none is left. */
static int dead_all(struct ctl *c, const char *sub, bool replay)
{
	char id[64];
	long done = 0;
	int more;

	if (!replay) {
		struct queue_reply *r = ctl_run(c, "DEL %s:dead", c->wc.q.prefix);
		if (!r)
			return EXIT_FAIL;
		printf("purged all dead letters\n");
		queue_reply_free(r);
		return EXIT_OK;
	}
	while ((more = oldest(c, id)) > 0) {
		int found = dead_one(c, sub, replay, id);
		if (found < 0)
			return EXIT_FAIL;
		if (!found) {
			/* a malformed dead letter cannot be replayed: purge it */
			struct queue_reply *r = ctl_run(c, "XDEL %s:dead %s", c->wc.q.prefix, id);
			if (!r)
				return EXIT_FAIL;
			queue_reply_free(r);
		}
		done++;
	}
	if (more < 0)
		return EXIT_FAIL;
	printf("%ld dead letters %s\n", done, replay ? "replayed" : "purged");
	return EXIT_OK;
}

int ctl_dead(struct ctl *c, int argc, char **argv)
{
	long count = 20;
	const char *id = NULL;
	int all = 0;

	if (argc < 1)
		return ctl_usage(stderr), EXIT_USAGE;
	const char *sub = argv[0];
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			c->json = 1;
		else if (strcmp(argv[i], "--all") == 0)
			all = 1;
		else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
			count = atol(argv[++i]);
		else if (!id && argv[i][0] != '-' && strlen(argv[i]) < 64 &&
		         strspn(argv[i], "0123456789-") == strlen(argv[i]))
			id = argv[i];
		else
			return ctl_usage(stderr), EXIT_USAGE;
	}
	if (strcmp(sub, "list") == 0)
		return dead_list(c, count);
	bool replay = strcmp(sub, "replay") == 0;
	if (!replay && strcmp(sub, "purge") != 0)
		return ctl_usage(stderr), EXIT_USAGE;
	if (!!id == all) {
		fprintf(stderr, "dcvctl dead %s: give one ID or --all\n", sub);
		return EXIT_USAGE;
	}
	if (all)
		return dead_all(c, sub, replay);
	int found = dead_one(c, sub, replay, id);
	if (found < 0)
		return EXIT_FAIL;
	if (!found) {
		fprintf(stderr, "dcvctl dead %s: no dead letter %s\n", sub, id);
		return EXIT_NOTFOUND;
	}
	return EXIT_OK;
}
