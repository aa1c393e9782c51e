/*
 * ctl_onboard: "dcvctl onboard" (one domain, or a file of them, in chunks
 * of ONBOARD_PIPELINE per SCRIPT_ONBOARD call) and "dcvctl nudge".
 */
#include "ctl.h"
#include "ctl_term.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dname.h"
#include "job.h"

#define ONBOARD_PIPELINE 1000

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
			ctl_print_json(json_pack("{s:s,s:s,s:s}", "domain", domain,
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
		ctl_print_json(j);
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

/* What "onboard" was given; borrowed from argv. */
struct onboard_args {
	const char *file, *tenant, *domain, *sans;
};

/* Parses and checks ARGV into A.  Returns -1 to go on, else the exit code
 * after saying why. */
static int onboard_args(struct ctl *c, int argc, char **argv, struct onboard_args *a)
{
	memset(a, 0, sizeof(*a));
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--file") == 0 && i + 1 < argc)
			a->file = argv[++i];
		else if (strcmp(argv[i], "--tenant") == 0 && i + 1 < argc)
			a->tenant = argv[++i];
		else if (strcmp(argv[i], "--names") == 0 && i + 1 < argc)
			a->sans = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			c->json = 1;
		else if (argv[i][0] != '-' && !a->domain)
			a->domain = argv[i];
		else {
			ctl_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (!!a->file == !!a->domain) {
		fprintf(stderr, "dcvctl onboard: give one DOMAIN or --file FILE\n");
		return EXIT_USAGE;
	}
	if (a->sans && !a->domain) {
		fprintf(stderr, "dcvctl onboard: --names goes with one DOMAIN\n");
		return EXIT_USAGE;
	}
	const char *bad_tenant = a->tenant ? job_tenant_check(a->tenant) : NULL;
	if (bad_tenant) {
		fprintf(stderr, "dcvctl onboard: --tenant: %s\n", bad_tenant);
		return EXIT_USAGE;
	}
	return -1;
}

/* Onboards A->domain (with A->sans), its result printed.  NAMES has room
 * for one name. */
static int onboard_one(struct ctl *c, const struct onboard_args *a,
                       char (*names)[DNAME_MAX + 1])
{
	char sanbuf[1024];
	size_t refused = 0;
	int rc;

	const char *why = dname_normalize(a->domain, names[0], sizeof(names[0]));
	if (why) {
		fprintf(stderr, "dcvctl onboard: %s: %s\n", a->domain, why);
		rc = EXIT_FAIL;
	} else if (a->sans && (why = dname_names(names[0], a->sans, sanbuf, sizeof(sanbuf)))) {
		fprintf(stderr, "dcvctl onboard: --names %s: %s\n", a->sans, why);
		rc = EXIT_USAGE;
	} else {
		rc = onboard_chunk(c, names, 1, a->tenant, a->sans ? sanbuf : NULL, 1, &refused);
	}
	return rc == EXIT_OK && refused ? EXIT_REFUSED : rc;
}

/* Onboards the domains of A->file ("-": stdin), one a line ('#' starts a
 * comment line), ONBOARD_PIPELINE at a time into NAMES; prints a count. */
static int onboard_file(struct ctl *c, const struct onboard_args *a,
                        char (*names)[DNAME_MAX + 1])
{
	const char *file = a->file;
	char line[1024];
	unsigned long lineno = 0;
	size_t n = 0, total = 0, refused = 0;
	int rc = EXIT_OK;

	FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
	if (!f) {
		perror(file);
		return EXIT_FAIL;
	}
	struct ctl_progress pg;
	ctl_progress_start(&pg, f);
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
			rc = onboard_chunk(c, names, n, a->tenant, NULL, 0, &refused);
			total += n;
			n = 0;
			ctl_progress_step(&pg, total, ftell(f), false);
		}
	}
	if (rc == EXIT_OK && n) {
		rc = onboard_chunk(c, names, n, a->tenant, NULL, 0, &refused);
		total += n;
	}
	if (rc == EXIT_OK)
		ctl_progress_step(&pg, total, -1, true);
	ctl_progress_end(&pg);
	if (f != stdin)
		fclose(f);
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

int ctl_onboard(struct ctl *c, int argc, char **argv)
{
	struct onboard_args a;
	int rc = onboard_args(c, argc, argv, &a);

	if (rc >= 0)
		return rc;
	/* the groups start at 0: entries added before any worker ran count */
	if (queue_ensure_groups(c->q) != Q_OK) {
		fprintf(stderr, "dcvctl: %s\n", queue_errstr(c->q));
		return EXIT_FAIL;
	}
	char (*names)[DNAME_MAX + 1] = calloc(ONBOARD_PIPELINE, sizeof(*names));
	if (!names)
		return EXIT_FAIL;
	rc = a.domain ? onboard_one(c, &a, names) : onboard_file(c, &a, names);
	free(names);
	return rc;
}

int ctl_nudge(struct ctl *c, int argc, char **argv)
{
	char name[DNAME_MAX + 1];
	struct script_args a;
	int rc = ctl_one_domain("nudge", argc, argv, name);

	if (rc != EXIT_OK)
		return rc;
	/* layout: common/lua/nudge.lua */
	sa_init(&a, 0);
	sa_arg(&a, c->wc.q.prefix);
	sa_argu(&a, queue_now_ms());
	sa_arg(&a, name);
	long long v = ctl_lifecycle(c, SCRIPT_NUDGE, &a);
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
