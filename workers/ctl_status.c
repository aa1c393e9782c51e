/*
 * ctl_status: the read-only views, "dcvctl status DOMAIN" (the domain's
 * record, secrets left out) and "dcvctl stats" (streams, delayed, dead,
 * counters).
 */
#include "ctl.h"
#include "ctl_term.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca_cfg.h"
#include "dname.h"
#include "lifecycle_cfg.h"

/* A field of the domain record never printed: the key of an order being
 * finalized (plain PEM when no key-encryption key is configured). */
static int secret_field(const char *name)
{
	return strcmp(name, "pending_key") == 0;
}

json_t *ctl_status_record(struct ctl *c, const char *name)
{
	struct queue_reply *r = ctl_run(c, "HGETALL %s:domain:%s", c->wc.q.prefix, name);
	json_t *j = NULL;

	if (queue_reply_kind(r) == QR_ARRAY) {
		j = json_object();
		for (size_t i = 0; i + 1 < queue_reply_len(r); i += 2) {
			const char *k = queue_reply_str(queue_reply_at(r, i), NULL), *v;
			size_t len;
			if (k && (v = queue_reply_str(queue_reply_at(r, i + 1), &len)) &&
			    !secret_field(k))
				json_object_set_new(j, k, json_stringn(v, len));
		}
	}
	queue_reply_free(r);
	return j;
}

int ctl_status(struct ctl *c, int argc, char **argv)
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
			return ctl_usage(stderr), EXIT_USAGE;
	}
	if (!domain)
		return ctl_usage(stderr), EXIT_USAGE;
	const char *why = dname_normalize(domain, name, sizeof(name));
	if (why) {
		fprintf(stderr, "dcvctl status: %s: %s\n", domain, why);
		return EXIT_FAIL;
	}
	json_t *j = ctl_status_record(c, name);
	if (!j)
		return EXIT_FAIL;
	/* without a rule nothing is ever seen pointing at us: say so, since it
	 * is why an abandoned customer domain keeps renewing */
	struct lifecycle_opts lo;
	lifecycle_cfg_load(c->cfg, &lo);
	if (json_object_size(j) == 0) {
		fprintf(stderr, "dcvctl status: %s is not known\n", name);
		rc = EXIT_NOTFOUND;
	} else if (c->json) {
		json_object_set_new(j, "domain", json_string(name));
		json_object_set_new(j, "pointing_rule", json_boolean(lo.pointing_rule));
		ctl_print_json(j);
		j = NULL;
	} else {
		const char *k;
		json_t *v;
		bool colour = ctl_term_colour(stdout);
		printf("%-12s %s\n", "domain", name);
		json_object_foreach(j, k, v) {
			const char *s = json_string_value(v);
			const char *sgr = colour && strcmp(k, "state") == 0 ? ctl_term_state(s) : "";
			char sk[128], sv[1024];
			printf("%-12s %s%s%s\n", ctl_term_safe(k, sk, sizeof(sk)), sgr,
			       ctl_term_safe(s, sv, sizeof(sv)), *sgr ? CTL_TERM_RESET : "");
		}
		if (!lo.pointing_rule)
			printf("%-12s %s\n", "pointing", "no dns.pointing rule: never parked or "
			       "offboarded on its own (only by dcvctl offboard)");
	}
	json_decref(j);
	return rc;
}

/* The value of FIELD in a flat [k, v, k, v...] reply, or NULL. */
static const struct queue_reply *field(const struct queue_reply *r, const char *name)
{
	for (size_t i = 0; i + 1 < queue_reply_len(r); i += 2) {
		const char *k = queue_reply_str(queue_reply_at(r, i), NULL);
		if (k && strcmp(k, name) == 0)
			return queue_reply_at(r, i + 1);
	}
	return NULL;
}

static long long as_int(const struct queue_reply *v)
{
	long long n;
	const char *s = queue_reply_str(v, NULL);
	if (queue_reply_int(v, &n))
		return n;
	if (s)
		return atoll(s);
	return -1; /* nil: e.g. lag unknown */
}

/* One stage's stream into STAGES:
 * length, the group's lag and pending count, the oldest pending entry's
 * age.  Returns 0, or -1 after saying why. */
static int stage_stats(struct ctl *c, enum stage s, uint64_t now, json_t *stages)
{
	const char *p = c->wc.q.prefix, *group = c->wc.q.group;
	const char *name = stage_name(s);
	long long len, lag = -1, pending = 0, oldest = -1;

	struct queue_reply *r = ctl_run(c, "XLEN %s:stream:%s", p, name);
	if (!r)
		return -1;
	len = as_int(r);
	queue_reply_free(r);
	/* XINFO of a stream not created yet is an error: no groups */
	if (!(r = ctl_run(c, "EXISTS %s:stream:%s", p, name)))
		return -1;
	long long exists = as_int(r);
	queue_reply_free(r);
	r = exists > 0 ? ctl_run(c, "XINFO GROUPS %s:stream:%s", p, name) : NULL;
	if (exists > 0 && !r)
		return -1;
	for (size_t i = 0; i < queue_reply_len(r); i++) {
		const struct queue_reply *g = queue_reply_at(r, i);
		const char *n = queue_reply_str(field(g, "name"), NULL);
		if (n && strcmp(n, group) == 0) {
			lag = as_int(field(g, "lag"));
			pending = as_int(field(g, "pending"));
		}
	}
	queue_reply_free(r);
	if (pending > 0) {
		r = ctl_run(c, "XPENDING %s:stream:%s %s", p, name, group);
		if (!r)
			return -1;
		const char *min = queue_reply_str(queue_reply_at(r, 1), NULL);
		if (min)
			oldest = ((long long)now - atoll(min)) / 1000;
		queue_reply_free(r);
	}
	json_t *j = json_pack("{s:I,s:I,s:I}", "length", (json_int_t)len,
	                      "pending", (json_int_t)pending,
	                      "oldest_pending_age_s", (json_int_t)oldest);
	json_object_set_new(j, "lag", lag >= 0 ? json_integer(lag) : json_null());
	json_object_set_new(stages, name, j);
	return 0;
}

/* The rest into ROOT: the lengths of the dead letters and the events, the
 * delayed jobs (and how many are due), the counters of <p>:stats.
 * Returns 0, or -1 after saying why. */
static int totals(struct ctl *c, uint64_t now, json_t *root)
{
	static const char *const logs[] = { "dead", "events" };
	const char *p = c->wc.q.prefix;
	struct queue_reply *r;

	for (size_t i = 0; i < 2; i++) {
		if (!(r = ctl_run(c, "XLEN %s:%s", p, logs[i])))
			return -1;
		json_object_set_new(root, logs[i], json_integer(as_int(r)));
		queue_reply_free(r);
	}
	if (!(r = ctl_run(c, "ZCARD %s:delayed", p)))
		return -1;
	json_object_set_new(root, "delayed", json_integer(as_int(r)));
	queue_reply_free(r);
	if (!(r = ctl_run(c, "ZCOUNT %s:delayed -inf %llu", p, (unsigned long long)now)))
		return -1;
	json_object_set_new(root, "delayed_due", json_integer(as_int(r)));
	queue_reply_free(r);
	if (!(r = ctl_run(c, "HGETALL %s:stats", p)))
		return -1;
	json_t *counters = json_object();
	for (size_t i = 0; i + 1 < queue_reply_len(r); i += 2) {
		const char *k = queue_reply_str(queue_reply_at(r, i), NULL);
		const char *v = queue_reply_str(queue_reply_at(r, i + 1), NULL);
		if (k && v)
			json_object_set_new(counters, k, json_integer(atoll(v)));
	}
	json_object_set_new(root, "counters", counters);
	queue_reply_free(r);
	return 0;
}

/* The lines under the table (without --json). */
static void print_totals(json_t *root)
{
	const char *k;
	json_t *v;

	long long dead = (long long)json_integer_value(json_object_get(root, "dead"));
	/* dead letters want a look: red on a terminal */
	const char *sgr = dead > 0 && ctl_term_colour(stdout) ? CTL_TERM_RED : "";
	printf("delayed %lld (due now %lld)  %sdead %lld%s  events %lld\n",
	       (long long)json_integer_value(json_object_get(root, "delayed")),
	       (long long)json_integer_value(json_object_get(root, "delayed_due")),
	       sgr, dead, *sgr ? CTL_TERM_RESET : "",
	       (long long)json_integer_value(json_object_get(root, "events")));
	printf("counters:");
	json_object_foreach(json_object_get(root, "counters"), k, v) {
		char sk[128];
		printf(" %s=%lld", ctl_term_safe(k, sk, sizeof(sk)), (long long)json_integer_value(v));
	}
	printf("\n");
}

/* Each configured CA's health record (<prefix>:ca:<name>, ca_health.h:
 * state, reason, since, reprobe_at, failures, and the counters orders,
 * fallback_orders, waits) into ROOT's "cas", in the order of preference.
 * Returns 0, or -1 after saying why. */
static int ca_stats(struct ctl *c, json_t *root)
{
	const struct rl_bucket any = { 0, 1 };
	struct ca_list *l = calloc(1, sizeof(*l));
	json_t *cas = json_array();
	int ret = -1;

	json_object_set_new(root, "cas", cas);
	if (!l)
		return -1;
	if (ca_list_load(c->cfg, &any, l) != 0) {
		cfg_print_errors(c->cfg, stderr, "dcvctl stats: configuration");
		goto out;
	}
	for (int i = 0; i < l->n; i++) {
		struct queue_reply *r = ctl_run(c, "HGETALL %s:ca:%s", c->wc.q.prefix,
		                                l->ca[i].name);
		if (!r)
			goto out;
		json_t *j = json_pack("{s:s,s:s}", "name", l->ca[i].name, "state", "healthy");
		for (size_t k = 0; k + 1 < queue_reply_len(r); k += 2) {
			const char *f = queue_reply_str(queue_reply_at(r, k), NULL);
			const char *v = queue_reply_str(queue_reply_at(r, k + 1), NULL);
			if (f && v && strcmp(f, "name") != 0)
				json_object_set_new(j, f, json_string(v));
		}
		json_array_append_new(cas, j);
		queue_reply_free(r);
	}
	ret = 0;
out:
	ca_list_free(l);
	free(l);
	return ret;
}

/* The CAs' lines (without --json). */
static void print_cas(json_t *root)
{
	static const char *const fields[] = { "failures", "orders", "fallback_orders",
	                                      "waits", "reason" };
	size_t i;
	json_t *j;

	json_array_foreach(json_object_get(root, "cas"), i, j) {
		char sv[256], sn[64];
		const char *st = json_string_value(json_object_get(j, "state"));
		printf("ca %s %s", ctl_term_safe(json_string_value(json_object_get(j, "name")),
		                                  sn, sizeof(sn)),
		       ctl_term_safe(st ? st : "healthy", sv, sizeof(sv)));
		for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
			const char *v = json_string_value(json_object_get(j, fields[k]));
			if (v && *v)
				printf(" %s=%s", fields[k], ctl_term_safe(v, sv, sizeof(sv)));
		}
		printf("\n");
	}
}

json_t *ctl_stats_collect(struct ctl *c)
{
	json_t *root = json_object(), *stages = json_object();
	uint64_t now = queue_now_ms();

	json_object_set_new(root, "stages", stages);
	for (int s = 0; s < STAGE_COUNT; s++)
		if (stage_stats(c, (enum stage)s, now, stages) != 0)
			goto fail;
	if (totals(c, now, root) != 0 || ca_stats(c, root) != 0)
		goto fail;
	return root;
fail:
	json_decref(root);
	return NULL;
}

/* The table of the stages (without --json). */
static void print_stages(json_t *root)
{
	const char *name;
	json_t *j;

	printf("%-16s %10s %10s %10s %14s\n", "stage", "length", "lag",
	       "pending", "oldest_pend_s");
	json_object_foreach(json_object_get(root, "stages"), name, j) {
		char lagbuf[24] = "?", oldbuf[24] = "-";
		json_t *lag = json_object_get(j, "lag");
		long long oldest = json_integer_value(json_object_get(j, "oldest_pending_age_s"));
		if (json_is_integer(lag))
			snprintf(lagbuf, sizeof(lagbuf), "%lld", (long long)json_integer_value(lag));
		if (oldest >= 0)
			snprintf(oldbuf, sizeof(oldbuf), "%lld", oldest);
		printf("%-16s %10lld %10s %10lld %14s\n", name,
		       (long long)json_integer_value(json_object_get(j, "length")), lagbuf,
		       (long long)json_integer_value(json_object_get(j, "pending")), oldbuf);
	}
}

int ctl_stats(struct ctl *c, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") != 0)
			return ctl_usage(stderr), EXIT_USAGE;
		c->json = 1;
	}
	json_t *root = ctl_stats_collect(c);
	if (!root)
		return EXIT_FAIL;
	if (c->json) {
		ctl_print_json(root);
		return EXIT_OK;
	}
	print_stages(root);
	print_totals(root);
	print_cas(root);
	json_decref(root);
	return EXIT_OK;
}
