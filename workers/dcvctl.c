/*
 * dcvctl: the operator's and the backend's command line.
 *
 *   dcvctl [-c FILE] onboard DOMAIN [--tenant T] [--names N1,N2...]
 *   dcvctl [-c FILE] onboard --file FILE [--tenant T]   (one domain a line)
 *   dcvctl [-c FILE] nudge DOMAIN
 *   dcvctl [-c FILE] offboard DOMAIN
 *   dcvctl [-c FILE] release DOMAIN
 *   dcvctl [-c FILE] status DOMAIN [--json]
 *   dcvctl [-c FILE] stats [--json]
 *   dcvctl [-c FILE] dead list [--count N] [--json]
 *   dcvctl [-c FILE] dead replay ID|--all
 *   dcvctl [-c FILE] dead purge ID|--all
 *   dcvctl [-c FILE] account register|show|rotate-key|deactivate ...
 *
 * Exit codes: 0 done, 1 failed (Redis unreachable, bad input), 2 usage or
 * configuration error, 3 not found, 4 refused (a name is held by another
 * tenant; a release of a running pipeline).
 */
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "ctl_account.h"
#include "dname.h"
#include "job.h"
#include "log.h"
#include "modules_cfg.h"
#include "pipeline.h"
#include "queue.h"
#include "scripts.h"
#include "worker.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_NOTFOUND = 3, EXIT_REFUSED = 4 };

#define ONBOARD_PIPELINE 1000

struct ctl {
	struct cfg *cfg;
	struct worker_cfg wc;
	struct queue *q;
	int json;
};

static void usage(FILE *f)
{
	fputs("usage: dcvctl [-c FILE] COMMAND ...\n"
	      "  onboard DOMAIN [--tenant T] [--names N1,N2]\n"
	      "                                   start a domain's pipeline (or nudge the\n"
	      "                                   running one); prints the CNAMEs to create\n"
	      "  onboard --file FILE [--tenant T] the same for one domain per line\n"
	      "  nudge DOMAIN                     re-check a waiting domain now\n"
	      "  offboard DOMAIN                  stop issuing; watch the delegation go\n"
	      "  release DOMAIN                   give up an ended domain's names, so that\n"
	      "                                   another tenant may onboard them\n"
	      "  status DOMAIN [--json]           the domain's state\n"
	      "  stats [--json]                   streams, lag, pending, delayed, dead\n"
	      "  dead list [--count N] [--json]   dead letters, newest first\n"
	      "  dead replay ID|--all             send dead letters back to their stage\n"
	      "  dead purge ID|--all              delete dead letters\n"
	      "  account register --email E [--eab-kid K --eab-hmac-file F]\n"
	      "  account show | rotate-key | deactivate --yes\n"
	      "A name belongs to the tenant that onboarded it until it is released:\n"
	      "onboarding it for another tenant (as DOMAIN or in --names) is refused.\n"
	      "Exit codes: 0 ok, 1 failed, 2 usage or configuration, 3 not found,\n"
	      "4 refused (a name held by another tenant, a release of a running pipeline).\n", f);
}

/* Runs a fixed command.  NULL, after saying why, when Redis is unreachable
 * or refused the command (an error reply: NOPERM from an ACL, a wrong
 * type): a refusal is a failure of the command, never a value. */
static redisReply *run(struct ctl *c, const char *fmt, ...)
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
	redisReply *r = queue_command(c->q, argc, argv, NULL);
	if (!r) {
		fprintf(stderr, "dcvctl: %s\n", queue_errstr(c->q));
	} else if (r->type == REDIS_REPLY_ERROR) {
		fprintf(stderr, "dcvctl: %s: %s\n", argv[0], r->str);
		queue_reply_free(r);
		r = NULL;
	}
	return r;
}

static void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (s)
		puts(s);
	free(s);
	json_decref(j);
}

/* Tells what the customer must create for DOMAIN: one CNAME per base name
 * of its certificate (a wildcard is validated at its base name), or why
 * the onboarding was refused.  JOB is the new job's id. */
static void print_onboarded(struct ctl *c, const char *domain, const char *sans,
                            const char *tenant, const struct queue_onboard *d,
                            const char *job)
{
	static const char *const result[] = {
		[ONBOARD_QUEUED] = "queued", [ONBOARD_NUDGED] = "nudged",
		[ONBOARD_REFUSED] = "refused",
	};
	char list[1024], bases[16][DNAME_MAX + 1];
	size_t nb = 0;
	json_t *cn = json_array();

	if (d->result == ONBOARD_REFUSED) {
		fprintf(stderr, "dcvctl onboard: %s: %s\n", domain, d->why);
		if (c->json)
			print_json(json_pack("{s:s,s:s,s:s}", "domain", domain,
			                     "result", "refused", "reason", d->why));
		json_decref(cn);
		return;
	}
	snprintf(list, sizeof(list), "%s", sans ? sans : domain);
	if (!c->json) {
		if (d->result == ONBOARD_QUEUED)
			printf("%s queued (job %s)\nask the customer to create:\n", domain, job);
		else
			printf("%s is already in progress: nudged\nthe customer must have:\n", domain);
	}
	for (char *save = NULL, *t = strtok_r(list, ",", &save); t && nb < 16;
	     t = strtok_r(NULL, ",", &save)) {
		const char *base = dname_base(t);
		size_t k = 0;
		while (k < nb && strcmp(bases[k], base) != 0)
			k++;
		if (k < nb)
			continue;
		snprintf(bases[nb++], sizeof(bases[0]), "%s", base);
		char chal[DNAME_MAX + 1], target[DNAME_MAX + 1];
		dname_challenge(base, chal, sizeof(chal));
		if (dname_target(c->wc.target_template, base, c->wc.zone, tenant,
		                 target, sizeof(target)))
			continue;
		if (c->json)
			json_array_append_new(cn, json_pack("{s:s,s:s}", "cname", chal,
			                                    "target", target));
		else
			printf("  %s. CNAME %s.\n", chal, target);
	}
	if (c->json) {
		json_t *j = json_pack("{s:s,s:s,s:o}", "domain", domain,
		                      "result", result[d->result], "cnames", cn);
		if (d->result == ONBOARD_QUEUED)
			json_object_set_new(j, "job", json_string(job));
		print_json(j);
	} else {
		json_decref(cn);
	}
}

/* Builds and enqueues one chunk of domains; *REFUSED counts the ones
 * refused (each said on stderr). */
static int onboard_chunk(struct ctl *c, char (*names)[DNAME_MAX + 1], size_t n,
                         const char *tenant, const char *sans, int print,
                         size_t *refused)
{
	struct queue_onboard *d = calloc(n, sizeof(*d));
	char (*targets)[DNAME_MAX + 1] = calloc(n, sizeof(*targets));
	struct job *jobs = calloc(n, sizeof(*jobs));
	int rc = EXIT_FAIL;
	uint64_t now = queue_now_ms();

	if (!d || !targets || !jobs)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const char *why = dname_target(c->wc.target_template, names[i],
		                               c->wc.zone, tenant, targets[i],
		                               sizeof(targets[i]));
		if (why) {
			fprintf(stderr, "dcvctl: %s: %s\n", names[i], why);
			goto out;
		}
		job_init(&jobs[i], names[i], tenant, now);
		char *enc;
		size_t len;
		if (job_encode(&jobs[i], &enc, &len) != JOB_OK)
			goto out;
		d[i].domain = jobs[i].domain;
		d[i].tenant = tenant ? tenant : "";
		d[i].target = targets[i];
		d[i].names = sans;
		d[i].job = enc;
		d[i].job_len = len;
		d[i].job_id = jobs[i].id;
	}
	if (queue_onboard(c->q, d, n) != Q_OK) {
		fprintf(stderr, "dcvctl: %s\n", queue_errstr(c->q));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (print)
			print_onboarded(c, names[i], sans, tenant, &d[i], jobs[i].id);
		else if (d[i].result == ONBOARD_REFUSED)
			fprintf(stderr, "dcvctl onboard: %s: %s\n", names[i], d[i].why);
		*refused += d[i].result == ONBOARD_REFUSED;
	}
	rc = EXIT_OK;
out:
	for (size_t i = 0; d && i < n; i++)
		free((void *)d[i].job);
	for (size_t i = 0; jobs && i < n; i++)
		job_clear(&jobs[i]);
	free(d);
	free(targets);
	free(jobs);
	return rc;
}

static int cmd_onboard(struct ctl *c, int argc, char **argv)
{
	const char *file = NULL, *tenant = NULL, *domain = NULL, *sans = NULL;
	char (*names)[DNAME_MAX + 1] = NULL;
	char sanbuf[1024];
	size_t n = 0, total = 0, refused = 0;
	int rc = EXIT_OK;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--file") == 0 && i + 1 < argc)
			file = argv[++i];
		else if (strcmp(argv[i], "--tenant") == 0 && i + 1 < argc)
			tenant = argv[++i];
		else if (strcmp(argv[i], "--names") == 0 && i + 1 < argc)
			sans = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			c->json = 1;
		else if (argv[i][0] != '-' && !domain)
			domain = argv[i];
		else {
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (!!file == !!domain) {
		fprintf(stderr, "dcvctl onboard: give one DOMAIN or --file FILE\n");
		return EXIT_USAGE;
	}
	if (sans && !domain) {
		fprintf(stderr, "dcvctl onboard: --names goes with one DOMAIN\n");
		return EXIT_USAGE;
	}
	const char *bad_tenant = tenant ? job_tenant_check(tenant) : NULL;
	if (bad_tenant) {
		fprintf(stderr, "dcvctl onboard: --tenant: %s\n", bad_tenant);
		return EXIT_USAGE;
	}
	/* the groups start at 0: entries added before any worker ran count */
	if (queue_ensure_groups(c->q) != Q_OK) {
		fprintf(stderr, "dcvctl: %s\n", queue_errstr(c->q));
		return EXIT_FAIL;
	}
	names = calloc(ONBOARD_PIPELINE, sizeof(*names));
	if (!names)
		return EXIT_FAIL;
	if (domain) {
		const char *why = dname_normalize(domain, names[0], sizeof(names[0]));
		if (why) {
			fprintf(stderr, "dcvctl onboard: %s: %s\n", domain, why);
			rc = EXIT_FAIL;
		} else if (sans && (why = dname_names(names[0], sans, sanbuf, sizeof(sanbuf)))) {
			fprintf(stderr, "dcvctl onboard: --names %s: %s\n", sans, why);
			rc = EXIT_USAGE;
		} else {
			rc = onboard_chunk(c, names, 1, tenant, sans ? sanbuf : NULL, 1, &refused);
		}
		free(names);
		return rc == EXIT_OK && refused ? EXIT_REFUSED : rc;
	}
	FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
	if (!f) {
		perror(file);
		free(names);
		return EXIT_FAIL;
	}
	char line[1024];
	unsigned long lineno = 0;
	while (fgets(line, sizeof(line), f) && rc == EXIT_OK) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		char *p = line + strspn(line, " \t");
		if (*p == '\0' || *p == '#')
			continue;
		const char *why = dname_normalize(p, names[n], sizeof(names[n]));
		if (why) {
			fprintf(stderr, "dcvctl onboard: %s:%lu: %s: %s\n", file, lineno, p, why);
			rc = EXIT_FAIL;
			break;
		}
		if (++n == ONBOARD_PIPELINE) {
			rc = onboard_chunk(c, names, n, tenant, NULL, 0, &refused);
			total += n;
			n = 0;
		}
	}
	if (rc == EXIT_OK && n) {
		rc = onboard_chunk(c, names, n, tenant, NULL, 0, &refused);
		total += n;
	}
	if (f != stdin)
		fclose(f);
	free(names);
	if (rc != EXIT_OK)
		return rc;
	if (!refused) {
		printf("%zu domains queued\n", total);
		return EXIT_OK;
	}
	printf("%zu domains queued, %zu refused (held by another tenant)\n",
	       total - refused, refused);
	return EXIT_REFUSED;
}

/* The one DOMAIN argument of nudge and offboard, normalised into NAME. */
static int one_domain(const char *cmd, int argc, char **argv, char *name)
{
	if (argc != 1 || argv[0][0] == '-') {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *why = dname_normalize(argv[0], name, DNAME_MAX + 1);
	if (why) {
		fprintf(stderr, "dcvctl %s: %s: %s\n", cmd, argv[0], why);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* Runs lifecycle script ID for NAME; returns its integer answer, or
 * INT_MIN after printing the error. */
static long long lifecycle(struct ctl *c, enum script_id id, int argc,
                           const char **argv, const size_t *lens)
{
	redisReply *r = queue_script(c->q, id, 0, argc, argv, lens);
	long long v = INT_MIN;

	if (!r || r->type != REDIS_REPLY_INTEGER)
		fprintf(stderr, "dcvctl: %s\n", queue_errstr(c->q));
	else
		v = r->integer;
	queue_reply_free(r);
	return v;
}

static int cmd_nudge(struct ctl *c, int argc, char **argv)
{
	char name[DNAME_MAX + 1], now[24];
	int rc = one_domain("nudge", argc, argv, name);

	if (rc != EXIT_OK)
		return rc;
	snprintf(now, sizeof(now), "%llu", (unsigned long long)queue_now_ms());
	const char *av[] = { c->wc.q.prefix, now, name };
	long long v = lifecycle(c, SCRIPT_NUDGE, 3, av, NULL);
	if (v == INT_MIN)
		return EXIT_FAIL;
	if (v == -1) {
		fprintf(stderr, "dcvctl nudge: %s is not known\n", name);
		return EXIT_NOTFOUND;
	}
	if (v == -2) {
		fprintf(stderr, "dcvctl nudge: no pipeline runs for %s (see dcvctl status); "
		        "onboard it again\n", name);
		return EXIT_FAIL;
	}
	printf(v ? "%s: checking again now\n"
	         : "%s: running now; it checks again as soon as this run ends\n", name);
	return EXIT_OK;
}

/* The domain's generation, job id and tenant, for a job of its pipeline. */
static int pipeline_job(struct ctl *c, const char *name, struct job *j)
{
	redisReply *r = run(c, "HMGET %s:domain:%s gen job tenant", c->wc.q.prefix, name);
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

static int cmd_offboard(struct ctl *c, int argc, char **argv)
{
	static const char *const said[] = {
		"already offboarded",
		"offboarding: the running pipeline stops at its next step",
		"offboarding: watching for the delegation to be removed",
	};
	char name[DNAME_MAX + 1], now[24], gen[24];
	int rc = one_domain("offboard", argc, argv, name);

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
		long long v = lifecycle(c, SCRIPT_OFFBOARD, 5, av, lens);
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

static int cmd_release(struct ctl *c, int argc, char **argv)
{
	char name[DNAME_MAX + 1], now[24];
	int rc = one_domain("release", argc, argv, name);

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

/* A field of the domain record never printed: the key of an order being
 * finalized (plain PEM when no key-encryption key is configured). */
static int secret_field(const char *name)
{
	return strcmp(name, "pending_key") == 0;
}

static int cmd_status(struct ctl *c, int argc, char **argv)
{
	const char *domain = NULL;
	char name[DNAME_MAX + 1];
	int rc = EXIT_OK;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			c->json = 1;
		else if (!domain)
			domain = argv[i];
		else
			return usage(stderr), EXIT_USAGE;
	}
	if (!domain)
		return usage(stderr), EXIT_USAGE;
	const char *why = dname_normalize(domain, name, sizeof(name));
	if (why) {
		fprintf(stderr, "dcvctl status: %s: %s\n", domain, why);
		return EXIT_FAIL;
	}
	redisReply *r = run(c, "HGETALL %s:domain:%s", c->wc.q.prefix, name);
	if (!r || r->type != REDIS_REPLY_ARRAY) {
		queue_reply_free(r);
		return EXIT_FAIL;
	}
	/* without a rule nothing is ever seen pointing at us: say so, since it
	 * is why an abandoned customer domain keeps renewing */
	struct lifecycle_opts lo;
	lifecycle_cfg_load(c->cfg, &lo);
	if (r->elements == 0) {
		fprintf(stderr, "dcvctl status: %s is not known\n", name);
		rc = EXIT_NOTFOUND;
	} else if (c->json) {
		json_t *j = json_object();
		json_object_set_new(j, "domain", json_string(name));
		json_object_set_new(j, "pointing_rule", json_boolean(lo.pointing_rule));
		for (size_t i = 0; i + 1 < r->elements; i += 2)
			if (!secret_field(r->element[i]->str))
				json_object_set_new(j, r->element[i]->str,
				                    json_stringn(r->element[i + 1]->str,
				                                 r->element[i + 1]->len));
		print_json(j);
	} else {
		printf("%-12s %s\n", "domain", name);
		for (size_t i = 0; i + 1 < r->elements; i += 2)
			if (!secret_field(r->element[i]->str))
				printf("%-12s %s\n", r->element[i]->str, r->element[i + 1]->str);
		if (!lo.pointing_rule)
			printf("%-12s %s\n", "pointing", "no dns.pointing rule: never parked or "
			       "offboarded on its own (only by dcvctl offboard)");
	}
	queue_reply_free(r);
	return rc;
}

/* The value of FIELD in a flat [k, v, k, v...] reply, or NULL. */
static const redisReply *field(const redisReply *r, const char *name)
{
	for (size_t i = 0; r && i + 1 < r->elements; i += 2)
		if (r->element[i]->type == REDIS_REPLY_STRING &&
		    strcmp(r->element[i]->str, name) == 0)
			return r->element[i + 1];
	return NULL;
}

static long long as_int(const redisReply *v)
{
	if (!v)
		return -1;
	if (v->type == REDIS_REPLY_INTEGER)
		return v->integer;
	if (v->type == REDIS_REPLY_STRING)
		return atoll(v->str);
	return -1; /* nil: e.g. lag unknown */
}

static int cmd_stats(struct ctl *c, int argc, char **argv)
{
	const char *p = c->wc.q.prefix, *group = c->wc.q.group;
	json_t *root = json_object(), *stages = json_object();
	uint64_t now = queue_now_ms();
	int rc = EXIT_FAIL;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			c->json = 1;
		else
			return json_decref(root), json_decref(stages), usage(stderr), EXIT_USAGE;
	}
	json_object_set_new(root, "stages", stages);
	if (!c->json)
		printf("%-16s %10s %10s %10s %14s\n", "stage", "length", "lag",
		       "pending", "oldest_pend_s");
	for (int s = 0; s < STAGE_COUNT; s++) {
		const char *name = stage_name((enum stage)s);
		long long len, lag = -1, pending = 0, oldest = -1;
		redisReply *r = run(c, "XLEN %s:stream:%s", p, name);
		if (!r)
			goto out;
		len = as_int(r);
		queue_reply_free(r);
		/* XINFO of a stream not created yet is an error: no groups */
		if (!(r = run(c, "EXISTS %s:stream:%s", p, name)))
			goto out;
		long long exists = as_int(r);
		queue_reply_free(r);
		r = exists > 0 ? run(c, "XINFO GROUPS %s:stream:%s", p, name) : NULL;
		if (exists > 0 && !r)
			goto out;
		for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
			const redisReply *g = r->element[i], *n = field(g, "name");
			if (n && strcmp(n->str, group) == 0) {
				lag = as_int(field(g, "lag"));
				pending = as_int(field(g, "pending"));
			}
		}
		queue_reply_free(r);
		if (pending > 0) {
			r = run(c, "XPENDING %s:stream:%s %s", p, name, group);
			if (!r)
				goto out;
			if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
			    r->element[1]->type == REDIS_REPLY_STRING)
				oldest = ((long long)now - atoll(r->element[1]->str)) / 1000;
			queue_reply_free(r);
		}
		json_t *j = json_pack("{s:I,s:I,s:I}", "length", (json_int_t)len,
		                      "pending", (json_int_t)pending,
		                      "oldest_pending_age_s", (json_int_t)oldest);
		json_object_set_new(j, "lag", lag >= 0 ? json_integer(lag) : json_null());
		json_object_set_new(stages, name, j);
		if (!c->json) {
			char lagbuf[24] = "?", oldbuf[24] = "-";
			if (lag >= 0)
				snprintf(lagbuf, sizeof(lagbuf), "%lld", lag);
			if (oldest >= 0)
				snprintf(oldbuf, sizeof(oldbuf), "%lld", oldest);
			printf("%-16s %10lld %10s %10lld %14s\n", name, len, lagbuf,
			       pending, oldbuf);
		}
	}
	static const char *const logs[] = { "dead", "events" };
	for (size_t i = 0; i < 2; i++) {
		redisReply *r = run(c, "XLEN %s:%s", p, logs[i]);
		if (!r)
			goto out;
		json_object_set_new(root, logs[i], json_integer(as_int(r)));
		queue_reply_free(r);
	}
	redisReply *r = run(c, "ZCARD %s:delayed", p);
	if (!r)
		goto out;
	json_object_set_new(root, "delayed", json_integer(as_int(r)));
	queue_reply_free(r);
	r = run(c, "ZCOUNT %s:delayed -inf %llu", p, (unsigned long long)now);
	if (!r)
		goto out;
	json_object_set_new(root, "delayed_due", json_integer(as_int(r)));
	queue_reply_free(r);
	r = run(c, "HGETALL %s:stats", p);
	if (!r)
		goto out;
	json_t *counters = json_object();
	for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
		json_object_set_new(counters, r->element[i]->str,
		                    json_integer(atoll(r->element[i + 1]->str)));
	json_object_set_new(root, "counters", counters);
	queue_reply_free(r);
	if (c->json) {
		print_json(root);
		root = NULL;
	} else {
		printf("delayed %lld (due now %lld)  dead %lld  events %lld\n",
		       (long long)json_integer_value(json_object_get(root, "delayed")),
		       (long long)json_integer_value(json_object_get(root, "delayed_due")),
		       (long long)json_integer_value(json_object_get(root, "dead")),
		       (long long)json_integer_value(json_object_get(root, "events")));
		const char *k;
		json_t *v;
		printf("counters:");
		json_object_foreach(counters, k, v)
			printf(" %s=%lld", k, (long long)json_integer_value(v));
		printf("\n");
	}
	rc = EXIT_OK;
out:
	json_decref(root);
	return rc;
}

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

static int cmd_dead(struct ctl *c, int argc, char **argv)
{
	const char *p = c->wc.q.prefix;
	long count = 20;
	const char *id = NULL;
	int all = 0, rc = EXIT_FAIL;

	if (argc < 1)
		return usage(stderr), EXIT_USAGE;
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
			return usage(stderr), EXIT_USAGE;
	}
	if (strcmp(sub, "list") == 0) {
		if (count < 1 || count > 100000)
			return usage(stderr), EXIT_USAGE;
		redisReply *r = run(c, "XREVRANGE %s:dead + - COUNT %ld", p, count);
		if (!r || r->type != REDIS_REPLY_ARRAY)
			goto out_reply;
		json_t *arr = json_array();
		for (size_t i = 0; i < r->elements; i++)
			json_array_append_new(arr, dead_json(r->element[i]));
		if (c->json) {
			print_json(arr);
		} else {
			size_t i;
			json_t *e;
			json_array_foreach(arr, i, e)
				printf("%s  %s  %s  %s\n",
				       json_string_value(json_object_get(e, "id")),
				       json_string_value(json_object_get(e, "stage")),
				       json_string_value(json_object_get(e, "domain")),
				       json_string_value(json_object_get(e, "reason")));
			json_decref(arr);
		}
		rc = EXIT_OK;
out_reply:
		queue_reply_free(r);
		return rc;
	}
	int replay = strcmp(sub, "replay") == 0;
	if (!replay && strcmp(sub, "purge") != 0)
		return usage(stderr), EXIT_USAGE;
	if (!!id == all) {
		fprintf(stderr, "dcvctl dead %s: give one ID or --all\n", sub);
		return EXIT_USAGE;
	}
	if (!replay && all) {
		redisReply *r = run(c, "DEL %s:dead", p);
		if (!r)
			return EXIT_FAIL;
		printf("purged all dead letters\n");
		queue_reply_free(r);
		return EXIT_OK;
	}
	/* replay one, replay all (oldest first), or purge one */
	long done = 0;
	for (;;) {
		char target[64];
		if (all) {
			redisReply *r = run(c, "XRANGE %s:dead - + COUNT 1", p);
			if (!r || r->type != REDIS_REPLY_ARRAY) {
				queue_reply_free(r);
				return EXIT_FAIL;
			}
			if (r->elements == 0) {
				queue_reply_free(r);
				break;
			}
			snprintf(target, sizeof(target), "%s", r->element[0]->element[0]->str);
			queue_reply_free(r);
		} else {
			snprintf(target, sizeof(target), "%s", id);
		}
		redisReply *r;
		if (replay) {
			const char *argv2[] = { "EVAL", script_source(SCRIPT_REPLAY), "0", p, target };
			r = queue_command(c->q, 5, argv2, NULL);
			if (!r || r->type == REDIS_REPLY_ERROR) {
				fprintf(stderr, "dcvctl dead %s: %s\n", sub,
				        r ? r->str : queue_errstr(c->q));
				queue_reply_free(r);
				return EXIT_FAIL;
			}
		} else if (!(r = run(c, "XDEL %s:dead %s", p, target))) {
			return EXIT_FAIL;
		}
		int found = replay ? r->type == REDIS_REPLY_STRING : r->integer == 1;
		if (found && replay)
			printf("%s replayed into %s\n", target, r->str);
		else if (found)
			printf("%s purged\n", target);
		queue_reply_free(r);
		if (!found) {
			if (!all) {
				fprintf(stderr, "dcvctl dead %s: no dead letter %s\n", sub, target);
				return EXIT_NOTFOUND;
			}
			/* a malformed dead letter cannot be replayed: purge it */
			if (!(r = run(c, "XDEL %s:dead %s", p, target)))
				return EXIT_FAIL;
			queue_reply_free(r);
		}
		done++;
		if (!all)
			break;
	}
	if (all)
		printf("%ld dead letters %s\n", done, replay ? "replayed" : "purged");
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	struct ctl c = { 0 };
	const char *path = NULL;
	char err[512];
	int i = 1, rc = EXIT_USAGE;

	if (i + 1 < argc && (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0)) {
		path = argv[i + 1];
		i += 2;
	}
	if (i >= argc || strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
		usage(i >= argc ? stderr : stdout);
		return i >= argc ? EXIT_USAGE : EXIT_OK;
	}
	c.cfg = path ? cfg_load_file(path, err, sizeof(err)) : cfg_new_empty();
	if (!c.cfg) {
		fprintf(stderr, "dcvctl: %s\n", path ? err : "out of memory");
		return EXIT_USAGE;
	}
	worker_cfg_load(c.cfg, &c.wc);
	modules_cfg_check(c.cfg, 0);
	log_setup(LOG_WARN, LOG_FMT_LOGFMT);
	cfg_check_unknown(c.cfg);
	if (cfg_error(c.cfg)) {
		cfg_print_errors(c.cfg, stderr, "dcvctl");
		goto out;
	}
	struct queue_opts o = c.wc.q;
	o.consumer = "dcvctl";
	c.q = queue_open(&o, err, sizeof(err));
	if (!c.q) {
		fprintf(stderr, "dcvctl: %s\n", err);
		rc = EXIT_FAIL;
		goto out;
	}
	const char *cmd = argv[i++];
	int n = argc - i;
	char **rest = argv + i;
	if (strcmp(cmd, "onboard") == 0)
		rc = cmd_onboard(&c, n, rest);
	else if (strcmp(cmd, "nudge") == 0)
		rc = cmd_nudge(&c, n, rest);
	else if (strcmp(cmd, "offboard") == 0)
		rc = cmd_offboard(&c, n, rest);
	else if (strcmp(cmd, "release") == 0)
		rc = cmd_release(&c, n, rest);
	else if (strcmp(cmd, "status") == 0)
		rc = cmd_status(&c, n, rest);
	else if (strcmp(cmd, "stats") == 0)
		rc = cmd_stats(&c, n, rest);
	else if (strcmp(cmd, "dead") == 0)
		rc = cmd_dead(&c, n, rest);
	else if (strcmp(cmd, "account") == 0)
		rc = ctl_account_main(n + 1, rest - 1, c.cfg, queue_redis(c.q), c.wc.q.prefix);
	else {
		fprintf(stderr, "dcvctl: unknown command '%s'\n", cmd);
		usage(stderr);
	}
out:
	queue_close(c.q);
	cfg_free(c.cfg);
	return rc;
}
