/*
 * ctl_dead: "dcvctl dead list|replay|purge", the dead-letter stream.
 */
#include "ctl.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scripts.h"

/* The fields of a dead letter as JSON. */
static json_t *dead_json(const redisReply *e)
{
	json_t *j = json_object();
	const redisReply *f = e->element[1];
	json_object_set_new(j, "id", json_string(e->element[0]->str));
	for (size_t i = 0; f->type == REDIS_REPLY_ARRAY && i + 1 < f->elements; i += 2) {
		const char *k = f->element[i]->str;
		const redisReply *v = f->element[i + 1];
		if (strcmp(k, "job") == 0) {
			/* binary msgpack: show it as hex, as in schemas/ */
			char *hex = malloc(2 * v->len + 1);
			for (size_t b = 0; hex && b < v->len; b++)
				snprintf(hex + 2 * b, 3, "%02x", (unsigned char)v->str[b]);
			if (hex) {
				hex[2 * v->len] = '\0';
				json_object_set_new(j, "job_hex", json_string(hex));
			}
			free(hex);
		} else {
			json_object_set_new(j, k, json_stringn(v->str, v->len));
		}
	}
	return j;
}

json_t *ctl_dead_fetch(struct ctl *c, long count)
{
	redisReply *r = ctl_run(c, "XREVRANGE %s:dead + - COUNT %ld", c->wc.q.prefix, count);
	json_t *arr = NULL;

	if (r && r->type == REDIS_REPLY_ARRAY) {
		arr = json_array();
		for (size_t i = 0; i < r->elements; i++)
			json_array_append_new(arr, dead_json(r->element[i]));
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
	json_array_foreach(arr, i, e)
		printf("%s  %s  %s  %s\n",
		       json_string_value(json_object_get(e, "id")),
		       json_string_value(json_object_get(e, "stage")),
		       json_string_value(json_object_get(e, "domain")),
		       json_string_value(json_object_get(e, "reason")));
	json_decref(arr);
	return EXIT_OK;
}

/* The id of the oldest dead letter into ID (64 bytes).  Returns 1, 0 when
 * there is none, -1 after saying why. */
static int oldest(struct ctl *c, char *id)
{
	redisReply *r = ctl_run(c, "XRANGE %s:dead - + COUNT 1", c->wc.q.prefix);
	int found = -1;

	if (r && r->type == REDIS_REPLY_ARRAY) {
		found = r->elements > 0;
		if (found)
			snprintf(id, 64, "%s", r->element[0]->element[0]->str);
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
	redisReply *r;

	if (replay) {
		const char *argv[] = { "EVAL", script_source(SCRIPT_REPLAY), "0", p, id };
		r = queue_command(c->q, 5, argv, NULL);
		if (!r || r->type == REDIS_REPLY_ERROR) {
			fprintf(stderr, "dcvctl dead %s: %s\n", sub, r ? r->str : queue_errstr(c->q));
			queue_reply_free(r);
			return -1;
		}
	} else if (!(r = ctl_run(c, "XDEL %s:dead %s", p, id))) {
		return -1;
	}
	int found = replay ? r->type == REDIS_REPLY_STRING : r->integer == 1;
	if (found && replay)
		printf("%s replayed into %s\n", id, r->str);
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
		redisReply *r = ctl_run(c, "DEL %s:dead", c->wc.q.prefix);
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
			redisReply *r = ctl_run(c, "XDEL %s:dead %s", c->wc.q.prefix, id);
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
