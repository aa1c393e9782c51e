/*
 * ctl_release: the end of a domain's life, "dcvctl offboard" (stop issuing,
 * watch the delegation go) and "dcvctl release" (give up its names).
 */
#include "ctl.h"

#include <hiredis/hiredis.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dname.h"
#include "job.h"

/* The domain's generation, job id and tenant, for a job of its pipeline. */
static int pipeline_job(struct ctl *c, const char *name, struct job *j)
{
	redisReply *r = ctl_run(c, "HMGET %s:domain:%s gen job tenant", c->wc.q.prefix, name);
	int rc = EXIT_FAIL;

	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 3) {
		rc = EXIT_NOTFOUND;
		if (r->element[0]->type == REDIS_REPLY_STRING) {
			const redisReply *t = r->element[2];
			job_init(j, name, t->type == REDIS_REPLY_STRING && t->len ? t->str : NULL,
			         queue_now_ms());
			j->gen = strtoull(r->element[0]->str, NULL, 10);
			if (r->element[1]->type == REDIS_REPLY_STRING &&
			    r->element[1]->len <= JOB_ID_MAX)
				snprintf(j->id, sizeof(j->id), "%s", r->element[1]->str);
			rc = EXIT_OK;
		}
	}
	queue_reply_free(r);
	return rc;
}

int ctl_offboard(struct ctl *c, int argc, char **argv)
{
	static const char *const said[] = {
		"already offboarded",
		"offboarding: the running pipeline stops at its next step",
		"offboarding: watching for the delegation to be removed",
	};
	char name[DNAME_MAX + 1], now[24], gen[24];
	int rc = ctl_one_domain("offboard", argc, argv, name);

	for (int tries = 0; rc == EXIT_OK && tries < 5; tries++) {
		struct job j;
		char *enc;
		size_t len;
		if ((rc = pipeline_job(c, name, &j)) != EXIT_OK)
			break;
		if (job_encode(&j, &enc, &len) != JOB_OK) {
			job_clear(&j);
			return EXIT_FAIL;
		}
		snprintf(now, sizeof(now), "%llu", (unsigned long long)queue_now_ms());
		snprintf(gen, sizeof(gen), "%llu", (unsigned long long)j.gen);
		const char *av[] = { c->wc.q.prefix, now, name, enc, gen };
		size_t lens[] = { strlen(av[0]), strlen(now), strlen(name), len, strlen(gen) };
		long long v = ctl_lifecycle(c, SCRIPT_OFFBOARD, 5, av, lens);
		free(enc);
		job_clear(&j);
		if (v == INT_MIN)
			return EXIT_FAIL;
		if (v == -2)            /* onboarded again meanwhile: read anew */
			continue;
		if (v == -1) {
			rc = EXIT_NOTFOUND;
			break;
		}
		if (v == -3) {
			printf("%s: released: nothing runs for it\n", name);
			return EXIT_OK;
		}
		printf("%s: %s\n", name, said[v]);
		return EXIT_OK;
	}
	if (rc == EXIT_NOTFOUND)
		fprintf(stderr, "dcvctl offboard: %s is not known\n", name);
	return rc == EXIT_OK ? EXIT_FAIL : rc;
}

int ctl_release(struct ctl *c, int argc, char **argv)
{
	char name[DNAME_MAX + 1], now[24];
	int rc = ctl_one_domain("release", argc, argv, name);

	if (rc != EXIT_OK)
		return rc;
	snprintf(now, sizeof(now), "%llu", (unsigned long long)queue_now_ms());
	const char *av[] = { c->wc.q.prefix, now, name };
	redisReply *r = queue_script(c->q, SCRIPT_RELEASE, 0, 3, av, NULL);
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER ||
	    r->element[1]->type != REDIS_REPLY_STRING) {
		fprintf(stderr, "dcvctl: %s\n", queue_errstr(c->q));
		queue_reply_free(r);
		return EXIT_FAIL;
	}
	long long v = r->element[0]->integer;
	const char *state = r->element[1]->str;
	if (v == -1) {
		fprintf(stderr, "dcvctl release: %s is not known\n", name);
		rc = EXIT_NOTFOUND;
	} else if (v == -2) {
		fprintf(stderr, "dcvctl release: the pipeline of %s is running (state %s): "
		        "offboard it first (dcvctl offboard %s), then release it once it is "
		        "offboarded\n", name, state, name);
		rc = EXIT_REFUSED;
	} else if (v == 0) {
		printf("%s: already released\n", name);
	} else {
		printf("%s: released (state %s): any tenant may onboard its names\n",
		       name, state);
	}
	queue_reply_free(r);
	return rc;
}
