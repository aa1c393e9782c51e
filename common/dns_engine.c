/*
 * dns_engine: the c-ares side of the DNS layer (dns.h): the context with
 * its channels (the failover resolver channel, one per resolver, one per
 * authoritative server), the cache of zones' servers, raw queries
 * (dns_internal.h), the dns_run() loop that drives every query of every
 * check, and the blocking forms of the checks.  The checks themselves
 * (tasks moving through phases) are dns_check.c; dns_engine.h is what the
 * two share.
 */
#include "dns.h"

#include <ares.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns_engine.h"
#include "dns_internal.h"
#include "log.h"

#define ZONE_CACHE_MAX 256    /* zones whose servers are remembered */
#define CHAN_MAX 1024         /* idle channels are dropped beyond this */
#define EDNS_SIZE 1232

long long dns_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool dns_past_deadline(const struct dns_ctx *ctx)
{
	return ctx->deadline > 0 && dns_now_ms() >= ctx->deadline;
}

/* ---- channels ---- */

static struct chan *chan_new(const struct dns_opts *o, const char *csv,
                             int flags, char *err, size_t errlen)
{
	struct ares_options ao;
	struct chan *c = calloc(1, sizeof *c);
	int st;

	if (!c) {
		dns_putf(err, errlen, "out of memory");
		return NULL;
	}
	memset(&ao, 0, sizeof ao);
	ao.flags = flags | ARES_FLAG_EDNS | ARES_FLAG_NOSEARCH;
	ao.timeout = o->timeout_ms;
	ao.tries = o->tries;
	ao.ednspsz = EDNS_SIZE;
	st = ares_init_options(&c->ch, &ao, ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS |
	                       ARES_OPT_TRIES | ARES_OPT_EDNSPSZ);
	if (st != ARES_SUCCESS) {
		dns_putf(err, errlen, "c-ares init: %s", ares_strerror(st));
		free(c);
		return NULL;
	}
	st = ares_set_servers_ports_csv(c->ch, csv);
	if (st != ARES_SUCCESS) {
		dns_putf(err, errlen, "servers %s: %s", csv, ares_strerror(st));
		ares_destroy(c->ch);
		free(c);
		return NULL;
	}
	dns_putf(c->key, sizeof c->key, "%s", csv);
	return c;
}

static void chan_free(struct chan *c)
{
	if (!c)
		return;
	ares_destroy(c->ch);
	free(c);
}

void dns_hostport(char *out, size_t len, const char *addr, int port)
{
	if (strchr(addr, ':'))
		dns_putf(out, len, "[%s]:%d", addr, port);
	else
		dns_putf(out, len, "%s:%d", addr, port);
}

struct chan *dns_chan_for(struct dns_ctx *ctx, const struct server *s)
{
	char key[DNS_ADDR_MAX + 8], err[128];
	struct chan *c;

	dns_hostport(key, sizeof key, s->addr, s->port);
	for (c = ctx->chans; c; c = c->next)
		if (strcmp(c->key, key) == 0)
			return c;
	if (ctx->n_chans >= CHAN_MAX)
		return NULL;
	c = chan_new(&ctx->o, key, ARES_FLAG_NORECURSE | ARES_FLAG_NOCHECKRESP,
	             err, sizeof err);
	if (!c) {
		log_msg(LOG_WARN, "dns: %s", err);
		return NULL;
	}
	c->next = ctx->chans;
	ctx->chans = c;
	ctx->n_chans++;
	return c;
}

/* Drops idle server channels when there are too many; called only between
 * rounds of dns_run(), where nothing points into the list. */
static void chans_trim(struct dns_ctx *ctx)
{
	struct chan **pp = &ctx->chans;

	if (ctx->n_chans < CHAN_MAX / 2)
		return;
	while (*pp) {
		struct chan *c = *pp;
		if (c->pending == 0) {
			*pp = c->next;
			chan_free(c);
			ctx->n_chans--;
		} else {
			pp = &c->next;
		}
	}
}

/* ---- context ---- */

struct dns_ctx *dns_new(const struct dns_opts *o, char *err, size_t errlen)
{
	struct dns_ctx *ctx = NULL;
	char csv[DNS_MAX_RESOLVERS * (DNS_ADDR_MAX + 8)] = "";
	size_t used = 0;
	static int inited;

	if (!inited) {
		int st = ares_library_init(ARES_LIB_INIT_ALL);
		if (st != ARES_SUCCESS) {
			dns_putf(err, errlen, "c-ares: %s", ares_strerror(st));
			return NULL;
		}
		inited = 1;
	}
	if (o->n_resolvers < 1) {
		dns_putf(err, errlen, "no resolvers configured");
		return NULL;
	}
	/* dns_cfg_load keeps these bounds; a struct filled by hand might not,
	 * and every loop below reads up to the counts */
	if (o->n_resolvers > DNS_MAX_RESOLVERS || o->n_port_map < 0 ||
	    o->n_port_map > DNS_MAX_PORTMAP || o->n_ranges < 0 ||
	    o->n_ranges > DNS_MAX_RANGES || o->n_suffixes < 0 ||
	    o->n_suffixes > DNS_MAX_SUFFIXES || o->n_allowed_ns < 0 ||
	    o->n_allowed_ns > DNS_MAX_ALLOWED || o->max_ns_names < 1 ||
	    o->max_ns_names > DNS_MAX_NS_NAMES || o->max_ns_addrs < 1 ||
	    o->max_ns_addrs > DNS_MAX_SERVERS || o->max_cname_depth < 1) {
		dns_putf(err, errlen, "dns options out of their bounds");
		return NULL;
	}
	ctx = calloc(1, sizeof *ctx);
	if (!ctx)
		goto oom;
	ctx->o = *o;
	ctx->zones = calloc(ZONE_CACHE_MAX, sizeof *ctx->zones);
	if (!ctx->zones)
		goto oom;
	for (int i = 0; i < o->n_resolvers; i++) {
		char addr[DNS_ADDR_MAX], one[DNS_ADDR_MAX + 8];
		int port;
		if (dns_parse_hostport(o->resolvers[i], 53, addr, &port) != 0) {
			dns_putf(err, errlen, "bad resolver %s", o->resolvers[i]);
			goto fail;
		}
		dns_hostport(one, sizeof one, addr, port);
		ctx->res[i] = chan_new(o, one, ARES_FLAG_NOCHECKRESP, err, errlen);
		if (!ctx->res[i])
			goto fail;
		/* the total is checked, not each piece */
		if (used + strlen(one) + 2 > sizeof csv) {
			dns_putf(err, errlen, "resolver list too long");
			goto fail;
		}
		used += (size_t)snprintf(csv + used, sizeof csv - used, "%s%s",
		                         i ? "," : "", one);
	}
	ctx->disc = chan_new(o, csv, 0, err, errlen);
	if (!ctx->disc)
		goto fail;
	return ctx;
oom:
	dns_putf(err, errlen, "out of memory");
fail:
	dns_free(ctx);
	return NULL;
}

void dns_free(struct dns_ctx *ctx)
{
	if (!ctx)
		return;
	ctx->closing = true;
	/* Destroying a channel calls back every pending query with
	 * ARES_EDESTRUCTION; with closing set those only free the query. */
	for (int i = 0; i < DNS_MAX_RESOLVERS; i++)
		chan_free(ctx->res[i]);
	chan_free(ctx->disc);
	while (ctx->chans) {
		struct chan *c = ctx->chans;
		ctx->chans = c->next;
		chan_free(c);
	}
	dns_tasks_free(ctx);
	free(ctx->zones);
	free(ctx);
}

unsigned long dns_queries_sent(const struct dns_ctx *ctx)
{
	return ctx->sent;
}

void dns_set_deadline(struct dns_ctx *ctx, long long deadline_mono_ms)
{
	ctx->deadline = deadline_mono_ms > 0 ? deadline_mono_ms : 0;
}

/* ---- zone cache ---- */

struct zone_entry *dns_zone_get(struct dns_ctx *ctx, const char *zone)
{
	long long now = dns_now_ms();
	for (int i = 0; i < ctx->n_zones; i++) {
		struct zone_entry *z = &ctx->zones[i];
		if (strcmp(z->zone, zone) == 0)
			return z->expires > now ? z : NULL;
	}
	return NULL;
}

void dns_zone_put(struct dns_ctx *ctx, const char *zone,
                  const struct server *servers, int n)
{
	struct zone_entry *z = NULL;
	long long now = dns_now_ms();

	if (ctx->o.ns_cache_ms <= 0)
		return;
	for (int i = 0; i < ctx->n_zones && !z; i++)
		if (strcmp(ctx->zones[i].zone, zone) == 0 ||
		    ctx->zones[i].expires <= now)
			z = &ctx->zones[i];
	if (!z && ctx->n_zones < ZONE_CACHE_MAX)
		z = &ctx->zones[ctx->n_zones++];
	if (!z)
		z = &ctx->zones[now % ZONE_CACHE_MAX];
	dns_putf(z->zone, sizeof z->zone, "%s", zone);
	memcpy(z->servers, servers, sizeof servers[0] * (size_t)n);
	z->n = n;
	z->expires = now + ctx->o.ns_cache_ms;
}

enum dns_outcome dns_status_outcome(int status)
{
	switch (status) {
	case ARES_ETIMEOUT: return DNS_TIMEOUT;
	case ARES_ESERVFAIL: return DNS_SERVFAIL;
	case ARES_EREFUSED: return DNS_REFUSED;
	case ARES_ENOTFOUND: return DNS_NXDOMAIN;
	case ARES_ENODATA: return DNS_NODATA;
	default: return DNS_NETERR;
	}
}

/* ---- raw queries (dns_internal.h) ----
 *
 * A raw query is not a task: it has no phases and no result struct.  It is
 * counted in n_tasks so that dns_run() drives it like a check, and it goes
 * on the failover resolver channel, whose pending count dns_run() reads. */

struct raw_query {
	struct dns_ctx *ctx;
	dns_raw_cb cb;
	void *arg;
};

static void on_raw(void *arg, int status, int timeouts, unsigned char *abuf,
                   int alen)
{
	struct raw_query *rq = arg;
	struct dns_ctx *ctx = rq->ctx;
	bool answer;

	(void)timeouts;
	ctx->disc->pending--;
	ctx->n_tasks--;
	if (ctx->closing) {
		free(rq);
		return;
	}
	/* The statuses with which c-ares hands over an answer worth reading
	 * (its rcode says the rest), as in on_answer(). */
	answer = abuf && alen > 0 &&
	         (status == ARES_SUCCESS || status == ARES_ENODATA ||
	          status == ARES_ENOTFOUND || status == ARES_ESERVFAIL ||
	          status == ARES_EREFUSED);
	if (answer)
		rq->cb(rq->arg, DNS_MATCH, abuf, (size_t)alen);
	else
		rq->cb(rq->arg, status == ARES_ECANCELLED ? DNS_DEADLINE :
		       dns_status_outcome(status), NULL, 0);
	free(rq);
}

int dns_raw_start(struct dns_ctx *ctx, const char *name, int type,
                  dns_raw_cb cb, void *arg)
{
	struct raw_query *rq;

	if (dns_past_deadline(ctx)) {
		cb(arg, DNS_DEADLINE, NULL, 0);
		return 0;
	}
	rq = calloc(1, sizeof *rq);
	if (!rq)
		return -1;
	rq->ctx = ctx;
	rq->cb = cb;
	rq->arg = arg;
	ctx->n_tasks++;
	ctx->disc->pending++;
	ctx->sent++;
	ares_query(ctx->disc->ch, name[0] ? name : ".", 1 /* IN */, type, on_raw,
	           rq);
	return 0;
}

/* ---- the loop ---- */

/* The deadline has passed: cancels every query in flight (their callbacks
 * end the checks, see deadline_missed), servers first so that a check
 * names the server it waited for.  Parked checks are woken by the tasks
 * they waited for, or here. */
static void deadline_expire(struct dns_ctx *ctx)
{
	for (struct chan *c = ctx->chans; c; c = c->next)
		if (c->pending)
			ares_cancel(c->ch);
	for (int i = 0; i < ctx->o.n_resolvers; i++)
		if (ctx->res[i]->pending)
			ares_cancel(ctx->res[i]->ch);
	if (ctx->disc->pending)
		ares_cancel(ctx->disc->ch);
	dns_tasks_wake_parked(ctx);
}

/* Grows the poll set *PFD and its owners *OWNER (*CAP entries each) to
 * hold WANT.  0, or -1 when out of memory (what is there stays). */
static int poll_room(struct pollfd **pfd, struct chan ***owner, size_t *cap,
                     size_t want)
{
	if (*cap >= want)
		return 0;
	struct pollfd *np = realloc(*pfd, want * sizeof *np);
	if (!np)
		return -1;
	*pfd = np;
	struct chan **no = realloc(*owner, want * sizeof *no);
	if (!no)
		return -1;
	*owner = no;
	*cap = want;
	return 0;
}

int dns_run(struct dns_ctx *ctx, long max_ms)
{
	long long start = dns_now_ms();
	struct pollfd *pfd = NULL;
	struct chan **owner = NULL;
	size_t cap = 0;

	while (ctx->n_tasks > 0) {
		struct chan *all[DNS_MAX_RESOLVERS + 1];
		int n_all = 0, wait = 1000, rc;
		size_t n = 0;
		struct chan *c;

		chans_trim(ctx);
		if (dns_past_deadline(ctx)) {
			deadline_expire(ctx);
			break;
		}
		if (max_ms >= 0 && dns_now_ms() - start >= max_ms)
			break;
		all[n_all++] = ctx->disc;
		for (int i = 0; i < ctx->o.n_resolvers; i++)
			all[n_all++] = ctx->res[i];
		if (poll_room(&pfd, &owner, &cap,
		              (size_t)(ctx->n_chans + n_all) * ARES_GETSOCK_MAXNUM) != 0)
			break;
		for (int k = 0; ; k++) {
			ares_socket_t socks[ARES_GETSOCK_MAXNUM];
			struct timeval tv, *tvp;
			int bits;
			c = k < n_all ? all[k] : (k == n_all ? ctx->chans : c->next);
			if (!c)
				break;
			if (c->pending == 0)
				continue;
			bits = ares_getsock(c->ch, socks, ARES_GETSOCK_MAXNUM);
			for (int i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
				short ev = 0;
				/* the c-ares macros shift a signed 1 by up to 31 */
				if ((unsigned)bits & (1u << i))
					ev |= POLLIN;
				if ((unsigned)bits & (1u << (i + ARES_GETSOCK_MAXNUM)))
					ev |= POLLOUT;
				if (!ev)
					continue;
				pfd[n].fd = socks[i];
				pfd[n].events = ev;
				pfd[n].revents = 0;
				owner[n++] = c;
			}
			tvp = ares_timeout(c->ch, NULL, &tv);
			if (tvp) {
				long ms = tvp->tv_sec * 1000 + (tvp->tv_usec + 999) / 1000;
				if (ms < wait)
					wait = (int)ms;
			}
		}
		if (max_ms >= 0) {
			long left = max_ms - (long)(dns_now_ms() - start);
			if (left < wait)
				wait = left < 0 ? 0 : (int)left;
		}
		if (ctx->deadline > 0) {
			long long left = ctx->deadline - dns_now_ms();
			if (left < wait)
				wait = left < 0 ? 0 : (int)left;
		}
		rc = poll(pfd, n, wait);
		if (rc < 0 && errno != EINTR)
			break;
		for (size_t i = 0; rc > 0 && i < n; i++) {
			if (!pfd[i].revents)
				continue;
			ares_process_fd(owner[i]->ch,
			                pfd[i].revents & (POLLIN | POLLERR | POLLHUP) ?
			                pfd[i].fd : ARES_SOCKET_BAD,
			                pfd[i].revents & POLLOUT ? pfd[i].fd :
			                ARES_SOCKET_BAD);
		}
		/* Timeouts: each busy channel once per round. */
		for (int k = 0; ; k++) {
			c = k < n_all ? all[k] : (k == n_all ? ctx->chans : c->next);
			if (!c)
				break;
			if (c->pending)
				ares_process_fd(c->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
		}
	}
	free(pfd);
	free(owner);
	return ctx->n_tasks;
}

/* ---- synchronous forms ---- */

static void copy_result(void *arg, const struct dns_check_result *r)
{
	*(struct dns_check_result *)arg = *r;
}

static int run_one(struct dns_ctx *ctx, int started)
{
	if (started != 0)
		return -1;
	dns_run(ctx, -1);
	return 0;
}

int dns_delegation_check(struct dns_ctx *ctx, const char *domain,
                         const char *target, int prev,
                         struct dns_check_result *out)
{
	return run_one(ctx, dns_delegation_start(ctx, domain, target, prev,
	                                         copy_result, out));
}

int dns_propagation_check(struct dns_ctx *ctx, const char *name,
                          const char *value, struct dns_check_result *out)
{
	return run_one(ctx, dns_propagation_start(ctx, name, value, copy_result,
	                                          out));
}

int dns_pointing_check(struct dns_ctx *ctx, const char *domain,
                       struct dns_check_result *out)
{
	return run_one(ctx, dns_pointing_start(ctx, domain, copy_result, out));
}
