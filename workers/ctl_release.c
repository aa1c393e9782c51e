/*
 * ctl_release: the end of a domain's life, "dcvctl offboard" (stop issuing,
 * watch the delegation go) and "dcvctl release" (give up its names).
 */
#include "ctl.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dname.h"
#include "job.h"

/* The domain's generation, job id and tenant, for a job of its pipeline. */
static int pipeline_job(struct ctl *c, const char *name, struct job *j)
{
	struct queue_reply *r = ctl_run(c, "HMGET %s:domain:%s gen job tenant",
	                                c->wc.q.prefix, name);
	int rc = EXIT_FAIL;

	if (queue_reply_len(r) == 3) {
		const char *gen = queue_reply_str(queue_reply_at(r, 0), NULL), *id, *t;
		size_t idlen, tlen;
		rc = EXIT_NOTFOUND;
		if (gen) {
			t = queue_reply_str(queue_reply_at(r, 2), &tlen);
			job_init(j, name, t && tlen ? t : NULL, queue_now_ms());
			j->gen = strtoull(gen, NULL, 10);
			id = queue_reply_str(queue_reply_at(r, 1), &idlen);
			if (id && idlen <= JOB_ID_MAX)
				snprintf(j->id, sizeof(j->id), "%s", id);
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
	char name[DNAME_MAX + 1];
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
		/* layout: common/lua/offboard.lua */
		struct script_args a;
		sa_init(&a, 0);
		sa_arg(&a, c->wc.q.prefix);
		sa_argu(&a, queue_now_ms());
		sa_arg(&a, name);
		sa_argn(&a, enc, len);
		sa_argu(&a, j.gen);
		long long v = ctl_lifecycle(c, SCRIPT_OFFBOARD, &a);
		free(enc);
		job_clear(&j);
		if (v == INT_MIN)
			return EXIT_FAIL;
		if (v < -3 || v > 2) {
			fprintf(stderr, "dcvctl offboard: unexpected answer %lld\n", v);
			return EXIT_FAIL;
		}
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
	char name[DNAME_MAX + 1];
	struct script_args a;
	int rc = ctl_one_domain("release", argc, argv, name);

	if (rc != EXIT_OK)
		return rc;
	/* layout: common/lua/release.lua */
	sa_init(&a, 0);
	sa_arg(&a, c->wc.q.prefix);
	sa_argu(&a, queue_now_ms());
	sa_arg(&a, name);
	struct queue_reply *r = queue_eval(c->q, SCRIPT_RELEASE, &a);
	long long v;
	const char *state = queue_reply_str(queue_reply_at(r, 1), NULL);
	if (queue_reply_len(r) != 2 || !queue_reply_int(queue_reply_at(r, 0), &v) || !state) {
		fprintf(stderr, "dcvctl: %s\n", queue_errstr(c->q));
		queue_reply_free(r);
		return EXIT_FAIL;
	}
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
