/*
 * caa_driver: the CAA check from the command line, for the integration
 * tests.  Prints the result as one JSON object on stdout.
 *
 *   caa_driver CONFIG DOMAIN [-w] [-i ISSUER]... [-a ACCOUNT_URI] [-m METHOD]
 *              [-d DEADLINE_MS]
 *
 * CONFIG holds a dns: section (as for dns_driver).  -w checks DOMAIN as a
 * wildcard, -i adds an issuer domain name (default "letsencrypt.org"), -a
 * sets our account URL (default none), -m the method (default "dns-01"),
 * -d gives the context a deadline that many ms from the start
 * (dns_set_deadline).
 * Exit status 0 when the check ran (whatever the verdict), 2 on usage or
 * configuration errors.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "caa.h"
#include "cfg.h"
#include "dns.h"

#define MAX_ISSUERS 8

/* Prints S as a JSON string. */
static void jstr(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static int usage(void)
{
	fprintf(stderr, "usage: caa_driver CONFIG DOMAIN [-w] [-i ISSUER]... "
	        "[-a ACCOUNT_URI] [-m METHOD] [-d DEADLINE_MS]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *issuers[MAX_ISSUERS];
	struct caa_policy pol = { .issuers = issuers, .method = "dns-01" };
	struct cfg *c = NULL;
	struct dns_ctx *ctx = NULL;
	struct dns_opts o;
	struct caa_result r;
	bool wild = false;
	char err[512];
	long deadline_ms = 0;
	int rc = 2, opt, st;

	if (argc < 3)
		return usage();
	optind = 3;
	while ((opt = getopt(argc, argv, "wi:a:m:d:")) != -1) {
		switch (opt) {
		case 'd':
			deadline_ms = atol(optarg);
			break;
		case 'w':
			wild = true;
			break;
		case 'i':
			if (pol.n_issuers >= MAX_ISSUERS)
				return usage();
			issuers[pol.n_issuers++] = optarg;
			break;
		case 'a':
			pol.account_uri = optarg;
			break;
		case 'm':
			pol.method = optarg;
			break;
		default:
			return usage();
		}
	}
	if (optind != argc)
		return usage();
	if (pol.n_issuers == 0)
		issuers[pol.n_issuers++] = "letsencrypt.org";

	c = cfg_load_file(argv[1], err, sizeof err);
	if (!c) {
		fprintf(stderr, "config: %s\n", err);
		goto out;
	}
	if (dns_cfg_load(c, &o) != 0 || (cfg_check_unknown(c), cfg_error(c))) {
		fprintf(stderr, "config: %s\n", cfg_error(c));
		goto out;
	}
	ctx = dns_new(&o, err, sizeof err);
	if (!ctx) {
		fprintf(stderr, "dns_new: %s\n", err);
		goto out;
	}
	if (deadline_ms > 0) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		dns_set_deadline(ctx, (long long)ts.tv_sec * 1000 +
		                 ts.tv_nsec / 1000000 + deadline_ms);
	}
	st = dns_caa_check(ctx, argv[2], wild, &pol, &r);
	printf("{\"rc\":%d,\"verdict\":", st);
	jstr(caa_strerror(r.verdict));
	printf(",\"owner\":");
	jstr(r.owner);
	printf(",\"record\":");
	jstr(r.record);
	printf(",\"detail\":");
	jstr(r.detail);
	printf(",\"queries\":%lu}\n", dns_queries_sent(ctx));
	rc = 0;
out:
	dns_free(ctx);
	cfg_free(c);
	return rc;
}
