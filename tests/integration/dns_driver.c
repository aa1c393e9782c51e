/*
 * dns_driver: a command line over the DNS layer for the integration tests.
 * Prints one JSON object per result on stdout.
 *
 *   dns_driver CONFIG [--deadline-ms MS] delegation DOMAIN TARGET [PREV]
 *   dns_driver CONFIG delegations PREV DOMAIN TARGET [DOMAIN TARGET ...]
 *             (all started at once on one context: one line per check,
 *              in the order given)
 *   dns_driver CONFIG propagation NAME VALUE
 *   dns_driver CONFIG pointing DOMAIN
 *   dns_driver CONFIG txt-add NAME VALUE
 *   dns_driver CONFIG txt-remove NAME VALUE
 *
 * --deadline-ms MS gives the DNS context (dns_set_deadline) or the TXT
 * provider (txt_set_deadline) a deadline MS milliseconds from the start; a
 * negative MS one long past.
 *
 * Exit status 0 when the command ran (whatever the result), 2 on usage or
 * configuration errors.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfg.h"
#include "dns.h"
#include "txt_provider.h"

/* One result as one line of JSON (jansson escapes the servers' text). */
static void print_result(const struct dns_check_result *r)
{
	json_t *o = json_pack("{s:s, s:i, s:i, s:I, s:b, s:i, s:s, s:s, s:[]}",
	                      "status", dns_check_strerror(r->status),
	                      "confirmations", r->confirmations,
	                      "needed", r->needed,
	                      "retry_after_ms", (json_int_t)r->retry_after_ms,
	                      "pointing", r->pointing, "bad", r->bad,
	                      "zone", r->zone, "detail", r->detail, "vantage");
	json_t *list = o ? json_object_get(o, "vantage") : NULL;
	char *text = NULL;

	for (int i = 0; list && i < r->n_vantage; i++) {
		const struct dns_vantage *v = &r->vantage[i];
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s}",
		                      "server", v->server, "ns", v->ns_name,
		                      "outcome", dns_outcome_str(v->outcome),
		                      "seen", v->seen));
	}
	text = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	puts(text ? text : "{\"status\":\"out_of_memory\"}");
	free(text);
	json_decref(o);
}

static void store(void *arg, const struct dns_check_result *r)
{
	*(struct dns_check_result *)arg = *r;
}

static int usage(void)
{
	fprintf(stderr, "usage: dns_driver CONFIG delegation|delegations|"
	        "propagation|pointing|txt-add|txt-remove ARGS...\n");
	return 2;
}

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int run_dns(struct cfg *c, long deadline_ms, int argc, char **argv)
{
	struct dns_opts o;
	struct dns_ctx *ctx = NULL;
	struct dns_check_result r, *many = NULL;
	char err[256];
	const char *cmd = argv[0];
	int rc = 2;

	if (dns_cfg_load(c, &o) != 0 || (cfg_check_unknown(c), cfg_error(c))) {
		fprintf(stderr, "config: %s\n", cfg_error(c));
		goto out;
	}
	ctx = dns_new(&o, err, sizeof err);
	if (!ctx) {
		fprintf(stderr, "dns_new: %s\n", err);
		goto out;
	}
	if (deadline_ms > 0)
		dns_set_deadline(ctx, mono_ms() + deadline_ms);
	else if (deadline_ms < 0)
		dns_set_deadline(ctx, 1); /* 1 ms after boot */
	memset(&r, 0, sizeof r);
	if (strcmp(cmd, "delegation") == 0 && (argc == 3 || argc == 4)) {
		if (dns_delegation_check(ctx, argv[1], argv[2],
		                         argc == 4 ? atoi(argv[3]) : 0, &r) != 0)
			goto bad;
		print_result(&r);
	} else if (strcmp(cmd, "delegations") == 0 && argc >= 4 &&
	           argc % 2 == 0) {
		int n = (argc - 2) / 2, prev = atoi(argv[1]);
		many = calloc((size_t)n, sizeof *many);
		if (!many)
			goto out;
		for (int i = 0; i < n; i++)
			if (dns_delegation_start(ctx, argv[2 + 2 * i],
			                         argv[3 + 2 * i], prev, store,
			                         &many[i]) != 0)
				goto bad;
		dns_run(ctx, -1);
		for (int i = 0; i < n; i++)
			print_result(&many[i]);
		printf("{\"queries\":%lu}\n", dns_queries_sent(ctx));
	} else if (strcmp(cmd, "propagation") == 0 && argc == 3) {
		if (dns_propagation_check(ctx, argv[1], argv[2], &r) != 0)
			goto bad;
		print_result(&r);
	} else if (strcmp(cmd, "pointing") == 0 && argc == 2) {
		if (dns_pointing_check(ctx, argv[1], &r) != 0)
			goto bad;
		print_result(&r);
	} else {
		rc = usage();
		goto out;
	}
	rc = 0;
	goto out;
bad:
	fprintf(stderr, "bad name\n");
	puts("{\"status\":\"bad_input\"}");
	rc = 0;
out:
	free(many);
	dns_free(ctx);
	return rc;
}

static int run_txt(struct cfg *c, long deadline_ms, int argc, char **argv)
{
	struct txt_provider_opts o;
	struct txt_provider *p = NULL;
	char err[256], msg[TXT_MSG_MAX] = "";
	enum txt_status st;
	int rc = 2;

	if (argc != 3)
		return usage();
	if (txt_provider_cfg_load(c, &o) != 0 ||
	    (cfg_check_unknown(c), cfg_error(c))) {
		fprintf(stderr, "config: %s\n", cfg_error(c));
		goto out;
	}
	p = txt_provider_new(&o, err, sizeof err);
	if (!p) {
		fprintf(stderr, "provider: %s\n", err);
		goto out;
	}
	if (deadline_ms > 0)
		txt_set_deadline(p, mono_ms() + deadline_ms);
	else if (deadline_ms < 0)
		txt_set_deadline(p, 1);
	if (strcmp(argv[0], "txt-add") == 0)
		st = txt_add(p, argv[1], argv[2], msg, sizeof msg);
	else
		st = txt_remove(p, argv[1], argv[2], msg, sizeof msg);
	printf("{\"status\":\"%s\",\"message\":\"", txt_strerror(st));
	for (const char *s = msg; *s; s++)
		printf(*s == '"' || *s == '\\' ? "\\%c" : "%c", *s);
	puts("\"}");
	rc = 0;
out:
	txt_provider_free(p);
	return rc;
}

int main(int argc, char **argv)
{
	struct cfg *c;
	char err[512];
	long deadline_ms = 0;
	int rc, cmd = 2;

	if (argc > 4 && strcmp(argv[2], "--deadline-ms") == 0) {
		deadline_ms = atol(argv[3]);
		cmd = 4;
	}
	if (argc < cmd + 1)
		return usage();
	c = cfg_load_file(argv[1], err, sizeof err);
	if (!c) {
		fprintf(stderr, "config: %s\n", err);
		return 2;
	}
	/* One file per kind: a dns: section for the checks, a provider:
	 * section for txt-add/txt-remove (unknown keys are errors). */
	if (strncmp(argv[cmd], "txt-", 4) == 0)
		rc = run_txt(c, deadline_ms, argc - cmd, argv + cmd);
	else
		rc = run_dns(c, deadline_ms, argc - cmd, argv + cmd);
	cfg_free(c);
	return rc;
}
