/*
 * dns_bench: delegation checks per second from one process.
 *
 *   dns_bench CONFIG NAMES SECONDS WINDOW
 *
 * NAMES holds "domain target" lines.  WINDOW checks are kept in flight on
 * one dns context (a new one starts as each ends, cycling through the
 * names) for SECONDS.  Prints one JSON line: checks done, how many were ok,
 * DNS queries sent, elapsed seconds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfg.h"
#include "dns.h"

struct bench {
	struct dns_ctx *ctx;
	char (*dom)[DNAME_MAX + 1];
	char (*tgt)[DNAME_MAX + 1];
	size_t n, next;
	unsigned long done, ok;
	int stopping;
};

static void start_one(struct bench *b);

static void on_done(void *arg, const struct dns_check_result *r)
{
	struct bench *b = arg;
	b->done++;
	if (r->status == DNS_CHECK_OK)
		b->ok++;
	else if (b->done - b->ok <= 3)
		fprintf(stderr, "not ok: %s\n", r->detail);
	if (!b->stopping)
		start_one(b);
}

static void start_one(struct bench *b)
{
	size_t i = b->next++ % b->n;
	if (dns_delegation_start(b->ctx, b->dom[i], b->tgt[i], 0, on_done, b))
		fprintf(stderr, "bad name %s\n", b->dom[i]);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct bench b = { 0 };
	struct dns_opts o;
	struct cfg *c;
	char err[256], line[2 * DNAME_MAX + 8];
	size_t cap = 0;
	double t0, secs;
	int window, rc = 1;
	FILE *f;

	if (argc != 5) {
		fprintf(stderr, "usage: dns_bench CONFIG NAMES SECONDS WINDOW\n");
		return 2;
	}
	c = cfg_load_file(argv[1], err, sizeof err);
	if (!c || dns_cfg_load(c, &o) != 0) {
		fprintf(stderr, "config: %s\n", c ? cfg_error(c) : err);
		goto out;
	}
	f = fopen(argv[2], "r");
	if (!f)
		goto out;
	while (fgets(line, sizeof line, f)) {
		if (b.n == cap) {
			cap = cap ? cap * 2 : 1024;
			b.dom = realloc(b.dom, cap * sizeof *b.dom);
			b.tgt = realloc(b.tgt, cap * sizeof *b.tgt);
			if (!b.dom || !b.tgt)
				goto out;
		}
		if (sscanf(line, "%253s %253s", b.dom[b.n], b.tgt[b.n]) == 2)
			b.n++;
	}
	fclose(f);
	if (b.n == 0)
		goto out;
	b.ctx = dns_new(&o, err, sizeof err);
	if (!b.ctx) {
		fprintf(stderr, "dns_new: %s\n", err);
		goto out;
	}
	secs = atof(argv[3]);
	window = atoi(argv[4]);
	t0 = now();
	for (int i = 0; i < window; i++)
		start_one(&b);
	while (now() - t0 < secs)
		dns_run(b.ctx, 200);
	b.stopping = 1;
	secs = now() - t0;
	{
		unsigned long done = b.done, ok = b.ok;
		unsigned long q = dns_queries_sent(b.ctx);
		dns_run(b.ctx, 5000); /* the window drains, not counted */
		printf("{\"checks\":%lu,\"ok\":%lu,\"queries\":%lu,"
		       "\"seconds\":%.3f}\n", done, ok, q, secs);
	}
	rc = 0;
out:
	dns_free(b.ctx);
	free(b.dom);
	free(b.tgt);
	cfg_free(c);
	return rc;
}
