/*
 * dns_check: the c-ares engine and the three checks (delegation,
 * propagation, pointing) declared in dns.h.
 *
 * A check is a task that moves through phases; each phase sends a set of
 * queries and the last answer of the set moves the task on:
 *
 *   ZONE  SOA walk through the resolvers to find the zone cut
 *   NS    the zone's NS set through the resolvers
 *   ADDR  A and AAAA of every NS name (port_map applied)
 *   ASK   the question to every authoritative server (RD=0, one c-ares
 *         channel per server address) and, where asked, to every resolver
 *   TAIL  (delegation) a chain that leaves the zone is followed on through
 *         the resolvers from where the authoritative server stopped
 *
 * ZONE..ADDR are skipped while the zone's servers are in the cache.
 * Queries of all tasks share the channels and are driven by dns_run().
 * What an answer of ASK and TAIL means, and how the check ends, is decided
 * by the pure verdicts of dns_verdict.c; this file only gets the answers.
 */
#include "dns.h"

#include <ares.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "dns_internal.h"
#include "dns_verdict.h"
#include "log.h"

#define ZONE_CACHE_MAX 256    /* zones whose servers are remembered */
#define CHAN_MAX 1024         /* idle channels are dropped beyond this */
#define EDNS_SIZE 1232
#define PUB_KEPT 64           /* published NS addresses told apart */

/* One c-ares channel: the resolvers, one resolver, or one server. */
struct chan {
	ares_channel ch;
	char key[DNS_ADDR_MAX + 8]; /* "addr:port", or "*" for the resolvers */
	int pending;                /* queries sent and not yet answered */
	struct chan *next;
};

/* An authoritative server address to ask. */
struct server {
	char addr[DNS_ADDR_MAX];   /* numeric, no brackets */
	int port;
	char ns_name[DNAME_MAX + 1];
};

struct zone_entry {
	char zone[DNAME_MAX + 1];
	struct server servers[DNS_MAX_SERVERS];
	int n;
	long long expires;         /* monotonic ms */
};

enum phase { P_START, P_ZONE, P_NS, P_ADDR, P_ASK, P_DONE };

struct task {
	struct dns_ctx *ctx;
	enum dns_check_kind kind;
	enum phase phase;
	int outstanding;            /* queries (plus holds) not yet finished */
	struct dns_verdict_check chk; /* what is asked and expected */
	char walk[DNAME_MAX + 1];   /* ZONE: name being tried */
	char ns_names[DNS_MAX_NS_NAMES][DNAME_MAX + 1];
	int n_ns;                   /* NS names kept */
	int ns_count;               /* distinct NS names the zone has */
	bool ns_cut;                /* the NS answer held more than we keep */
	struct { int family; uint8_t a[16]; } pub[PUB_KEPT];
	int n_pub;                  /* distinct NS addresses as published */
	int n_mapped;               /* NS names port_map sends elsewhere */
	bool pub_cut;               /* an address answer held more than kept */
	char refused[DNS_SEEN_MAX]; /* NS addresses not queried, and why */
	struct server servers[DNS_MAX_SERVERS];
	int n_servers;
	int n_res_vantage;          /* resolvers asked in ASK */
	bool addr_seen[DNS_MAX_NS_NAMES]; /* NS name got any address */
	struct dns_hops hops[DNS_MAX_VANTAGE]; /* deleg: chain per vantage */
	bool zone_known;            /* r.zone is the zone cut */
	bool parked;                /* waiting for another task to find the
	                               zone's servers (one NS lookup per zone) */
	bool failed;                /* a task-level failure decided the result
	                               (r.status, r.detail, r.bad) */
	struct dns_check_result r;
	dns_check_cb cb;
	void *arg;
	struct task *prev_t, *next_t;
};

/* One query in flight. */
struct query {
	struct task *t;
	struct chan *c;
	int vantage;                /* index into r.vantage, or -1 */
	int aux;                    /* NS index (ADDR), type (point) */
	char name[DNAME_MAX + 1];
};

struct dns_ctx {
	struct dns_opts o;
	struct chan *disc;          /* all resolvers, with failover */
	struct chan *res[DNS_MAX_RESOLVERS]; /* one resolver each */
	struct chan *chans;         /* per-server channels */
	int n_chans;
	struct zone_entry *zones;   /* ZONE_CACHE_MAX entries */
	int n_zones;
	struct task *tasks;
	int n_tasks;
	unsigned long sent;
	struct dns_msg msg;         /* scratch for the answer being handled */
	long long deadline;         /* CLOCK_MONOTONIC ms, 0: none */
	bool closing;
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool past_deadline(const struct dns_ctx *ctx)
{
	return ctx->deadline > 0 && now_ms() >= ctx->deadline;
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

static void hostport(char *out, size_t len, const char *addr, int port)
{
	if (strchr(addr, ':'))
		dns_putf(out, len, "[%s]:%d", addr, port);
	else
		dns_putf(out, len, "%s:%d", addr, port);
}

/* The channel for one authoritative server (RD=0), made on first use. */
static struct chan *chan_for(struct dns_ctx *ctx, const struct server *s)
{
	char key[DNS_ADDR_MAX + 8], err[128];
	struct chan *c;

	hostport(key, sizeof key, s->addr, s->port);
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
		hostport(one, sizeof one, addr, port);
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
	while (ctx->tasks) {
		struct task *t = ctx->tasks;
		ctx->tasks = t->next_t;
		free(t);
	}
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

static struct zone_entry *zone_get(struct dns_ctx *ctx, const char *zone)
{
	long long now = now_ms();
	for (int i = 0; i < ctx->n_zones; i++) {
		struct zone_entry *z = &ctx->zones[i];
		if (strcmp(z->zone, zone) == 0)
			return z->expires > now ? z : NULL;
	}
	return NULL;
}

static void zone_put(struct dns_ctx *ctx, const struct task *t)
{
	struct zone_entry *z = NULL;
	long long now = now_ms();

	if (ctx->o.ns_cache_ms <= 0)
		return;
	for (int i = 0; i < ctx->n_zones && !z; i++)
		if (strcmp(ctx->zones[i].zone, t->r.zone) == 0 ||
		    ctx->zones[i].expires <= now)
			z = &ctx->zones[i];
	if (!z && ctx->n_zones < ZONE_CACHE_MAX)
		z = &ctx->zones[ctx->n_zones++];
	if (!z)
		z = &ctx->zones[now % ZONE_CACHE_MAX];
	dns_putf(z->zone, sizeof z->zone, "%s", t->r.zone);
	memcpy(z->servers, t->servers, sizeof t->servers[0] * (size_t)t->n_servers);
	z->n = t->n_servers;
	z->expires = now + ctx->o.ns_cache_ms;
}

/* ---- tasks ---- */

static void task_step(struct task *t);

/* Wakes the tasks parked on ZONE (after its lookup ended either way). */
static void zone_wake(struct dns_ctx *ctx, const char *zone)
{
	for (;;) {
		struct task *w = NULL;
		for (struct task *o = ctx->tasks; o && !w; o = o->next_t)
			if (o->parked && strcmp(o->r.zone, zone) == 0)
				w = o;
		if (!w)
			return;
		w->parked = false;
		if (--w->outstanding == 0)
			task_step(w);
	}
}

static void task_finish(struct task *t)
{
	struct dns_ctx *ctx = t->ctx;
	bool resolving = t->phase == P_NS || t->phase == P_ADDR;
	char zone[DNAME_MAX + 1];

	dns_putf(zone, sizeof zone, "%s", t->r.zone);
	t->phase = P_DONE;
	if (t->prev_t)
		t->prev_t->next_t = t->next_t;
	else
		ctx->tasks = t->next_t;
	if (t->next_t)
		t->next_t->prev_t = t->prev_t;
	ctx->n_tasks--;
	t->cb(t->arg, &t->r);
	free(t);
	if (resolving)
		zone_wake(ctx, zone); /* they try the lookup themselves */
}

static void task_fail(struct task *t, enum dns_check_status st,
                      const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void task_fail(struct task *t, enum dns_check_status st,
                      const char *fmt, ...)
{
	va_list ap;
	if (t->failed)
		return;
	t->failed = true;
	t->r.status = st;
	va_start(ap, fmt);
	vsnprintf(t->r.detail, sizeof t->r.detail, fmt, ap);
	va_end(ap);
}

static void on_answer(void *arg, int status, int timeouts,
                      unsigned char *abuf, int alen);

/* Sends NAME/TYPE on channel C for task T.  The answer comes back to
 * on_answer() (possibly before this returns). */
static void send_query(struct task *t, struct chan *c, const char *name,
                       int type, int vantage, int aux)
{
	struct query *q = calloc(1, sizeof *q);

	if (!q) {
		task_fail(t, DNS_CHECK_TRANSIENT, "out of memory");
		return;
	}
	q->t = t;
	q->c = c;
	q->vantage = vantage;
	q->aux = aux;
	dns_putf(q->name, sizeof q->name, "%s", name);
	t->outstanding++;
	c->pending++;
	t->ctx->sent++;
	ares_query(c->ch, name[0] ? name : ".", 1 /* IN */, type, on_answer, q);
}

/* Maps a c-ares status without a usable answer to an outcome. */
static enum dns_outcome status_outcome(int status)
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

/* ---- phase handlers ---- */

static void on_zone(struct task *t, const struct dns_msg *m, int status)
{
	char chain[1][DNAME_MAX + 1];

	if (!m) {
		task_fail(t, DNS_CHECK_TRANSIENT,
		          "finding the zone of %s: resolvers: %s", t->walk,
		          dns_outcome_str(status_outcome(status)));
		return;
	}
	if (dns_rcode_outcome(m->rcode) != DNS_MATCH) {
		task_fail(t, DNS_CHECK_TRANSIENT,
		          "finding the zone of %s: resolvers: %s", t->walk,
		          dns_outcome_str(dns_rcode_outcome(m->rcode)));
		return;
	}
	if (dns_msg_has(m, t->walk, DNS_T_SOA)) {
		dns_putf(t->r.zone, sizeof t->r.zone, "%s", t->walk);
		t->zone_known = true;
		return;
	}
	if (dns_msg_chain(m, t->walk, chain, 1) == 0) {
		for (int i = 0; i < m->n_ns; i++) {
			if (m->ns[i].type == DNS_T_SOA &&
			    dns_name_under(t->walk, m->ns[i].owner)) {
				dns_putf(t->r.zone, sizeof t->r.zone, "%s",
				         m->ns[i].owner);
				t->zone_known = true;
				return;
			}
		}
	}
	if (!t->walk[0]) {
		task_fail(t, DNS_CHECK_TRANSIENT, "no zone found for %s",
		          t->chk.domain);
		return;
	}
	dns_parent_of(t->walk); /* an alias, or no SOA at all: one label up */
}

static void on_ns(struct task *t, const struct dns_msg *m, int status)
{
	if (!m || dns_rcode_outcome(m->rcode) != DNS_MATCH) {
		task_fail(t, DNS_CHECK_TRANSIENT, "NS of %s: resolvers: %s",
		          t->r.zone, dns_outcome_str(m ? dns_rcode_outcome(m->rcode) :
		                                     status_outcome(status)));
		return;
	}
	/* Every distinct name is counted, and the count checked against the
	 * cap once the whole set is read: names past the array are not
	 * dropped silently. */
	for (int i = 0; i < m->n_an; i++) {
		bool dup = false;
		if (m->an[i].type != DNS_T_NS || strcmp(m->an[i].owner, t->r.zone))
			continue;
		for (int j = 0; j < t->n_ns; j++)
			dup = dup || strcmp(t->ns_names[j], m->an[i].u.name) == 0;
		if (dup)
			continue;
		if (t->n_ns < DNS_MAX_NS_NAMES)
			dns_putf(t->ns_names[t->n_ns++], DNAME_MAX + 1, "%s",
			         m->an[i].u.name);
		t->ns_count++;
	}
	t->ns_cut = m->too_many;
	if (t->ns_cut || t->ns_count > t->ctx->o.max_ns_names)
		task_fail(t, DNS_CHECK_ERROR, "zone %s has %s%d NS names, over the "
		          "limit of %d (dns.max_ns_names)", t->r.zone,
		          t->ns_cut ? "more than " : "", t->ns_count,
		          t->ctx->o.max_ns_names);
	else if (t->n_ns == 0)
		task_fail(t, DNS_CHECK_TRANSIENT, "zone %s has no NS records",
		          t->r.zone);
}

/* Counts the published address A (FAMILY) of the zone once. */
static void pub_count(struct task *t, int family, const uint8_t *a)
{
	size_t l = family == AF_INET ? 4 : 16;
	int kept = t->n_pub < PUB_KEPT ? t->n_pub : PUB_KEPT;

	for (int i = 0; i < kept; i++)
		if (t->pub[i].family == family && memcmp(t->pub[i].a, a, l) == 0)
			return;
	if (t->n_pub < PUB_KEPT) {
		t->pub[t->n_pub].family = family;
		memcpy(t->pub[t->n_pub].a, a, l);
	}
	if (t->n_pub < 1 << 20)
		t->n_pub++;
}

/* Adds a server (after the port map) unless it is already there. */
static void add_server(struct task *t, const char *addr, const char *ns_name)
{
	const struct dns_opts *o = &t->ctx->o;
	struct server s;

	memset(&s, 0, sizeof s);
	dns_putf(s.addr, sizeof s.addr, "%s", addr);
	s.port = o->ns_port;
	dns_putf(s.ns_name, sizeof s.ns_name, "%s", ns_name);
	for (int i = 0; i < o->n_port_map; i++) {
		const struct dns_portmap *pm = &o->port_map[i];
		if (strcasecmp(pm->from, addr) == 0 ||
		    strcasecmp(pm->from, ns_name) == 0) {
			if (pm->to[0])
				dns_putf(s.addr, sizeof s.addr, "%s", pm->to);
			s.port = pm->port;
			break;
		}
	}
	for (int i = 0; i < t->n_servers; i++)
		if (strcmp(t->servers[i].addr, s.addr) == 0 &&
		    t->servers[i].port == s.port)
			return;
	if (t->n_servers < DNS_MAX_SERVERS)
		t->servers[t->n_servers++] = s;
}

static void on_addr(struct task *t, const struct query *q,
                    const struct dns_msg *m, int status)
{
	const char *ns = t->ns_names[q->aux];
	char chain[16][DNAME_MAX + 1];
	const char *last = ns;
	int n;

	if (!m) {
		if (dns_outcome_transient(status_outcome(status)))
			log_msg(LOG_DEBUG, "dns: address of NS %s: %s", ns,
			        dns_outcome_str(status_outcome(status)));
		return;
	}
	n = dns_msg_chain(m, ns, chain, 16);
	if (n > 0)
		last = chain[n - 1];
	if (m->too_many)
		t->pub_cut = true;
	for (int i = 0; i < m->n_an; i++) {
		const struct dns_rr *rr = &m->an[i];
		char text[INET6_ADDRSTRLEN];
		const char *why;
		int fam;
		if (strcmp(rr->owner, last) != 0 ||
		    (rr->type != DNS_T_A && rr->type != DNS_T_AAAA))
			continue;
		fam = rr->type == DNS_T_A ? AF_INET : AF_INET6;
		inet_ntop(fam, rr->u.addr, text, sizeof text);
		t->addr_seen[q->aux] = true;
		pub_count(t, fam, rr->u.addr);
		/* the address as published, before port_map (see dns.h) */
		why = dns_ns_addr_refused(&t->ctx->o, fam, rr->u.addr);
		if (why) {
			log_msg(LOG_INFO, "dns: zone %s: NS %s address %s not "
			        "queried: %s", t->r.zone, ns, text, why);
			dns_seen_add(t->refused, "%s%s %s is %s", t->refused[0] ?
			             "; " : "", ns, text, why);
			continue;
		}
		add_server(t, text, ns);
	}
}

/* An answer (M, or none for the reason BAD) to the check's question from
 * vantage q->vantage, or to a hop question of its chain: read by the
 * verdict of the check's kind. */
static void on_ask(struct task *t, const struct query *q,
                   const struct dns_msg *m, enum dns_outcome bad)
{
	struct dns_vantage *dv = &t->r.vantage[q->vantage];
	bool auth = q->vantage < t->n_servers;
	char next[DNAME_MAX + 1];

	if (!m) {
		dv->outcome = bad;
		return;
	}
	switch (t->kind) {
	case DNS_KIND_POINTING:
		dns_verdict_pointing(&t->chk, q->aux, m, dv);
		break;
	case DNS_KIND_PROPAGATION:
		dns_verdict_propagation(&t->chk, auth, m, dv);
		break;
	case DNS_KIND_DELEGATION:
		/* A hop question (q->aux) goes to the resolvers for type
		 * CNAME; its answer is read like an authoritative one outside
		 * any zone, so the walk goes on hop by hop (not past the
		 * deadline: the check would end with the hop unanswered). */
		if (!dns_verdict_delegation(&t->chk, q->name, auth || q->aux, m,
		                            &t->hops[q->vantage], dv, next))
			break;
		if (past_deadline(t->ctx)) {
			dv->outcome = DNS_DEADLINE;
			if (!t->failed)
				t->r.bad = q->vantage;
			task_fail(t, DNS_CHECK_TRANSIENT, "deadline reached "
			          "following the chain of %s at %s", dv->server,
			          next);
			break;
		}
		send_query(t, t->ctx->disc, next, DNS_T_CNAME, q->vantage, 1);
		break;
	}
}

/* Q was cancelled at the deadline: its vantage (if any) did not answer,
 * and the task ends saying who did not. */
static void deadline_missed(struct task *t, const struct query *q)
{
	char who[DNS_ADDR_MAX + DNAME_MAX + 64];

	if (t->phase == P_ASK && q->vantage >= 0) {
		struct dns_vantage *dv = &t->r.vantage[q->vantage];
		bool hop = t->kind != DNS_KIND_POINTING && q->aux;
		dv->outcome = DNS_DEADLINE;
		dns_seen_add(dv->seen, "%sno answer by the deadline",
		         dv->seen[0] ? "; " : "");
		if (hop)
			dns_putf(who, sizeof who, "the resolvers (CNAME of %s, on "
			         "the chain from %s)", q->name, dv->server);
		else
			dns_putf(who, sizeof who, "%s%s%s%s", dv->server,
			         dv->ns_name[0] ? " (" : "", dv->ns_name,
			         dv->ns_name[0] ? ")" : "");
		if (!t->failed)
			t->r.bad = q->vantage;
	} else if (t->phase == P_ZONE) {
		dns_putf(who, sizeof who, "the resolvers (SOA of %s, finding the "
		         "zone of %s)", q->name, t->chk.domain);
	} else if (t->phase == P_NS) {
		dns_putf(who, sizeof who, "the resolvers (NS of %s)", q->name);
	} else {
		dns_putf(who, sizeof who, "the resolvers (address of NS %s)",
		         q->name);
	}
	task_fail(t, DNS_CHECK_TRANSIENT, "deadline reached: %s did not answer",
	          who);
}

static void on_answer(void *arg, int status, int timeouts,
                      unsigned char *abuf, int alen)
{
	struct query *q = arg;
	struct task *t = q->t;
	struct dns_ctx *ctx = t->ctx;
	const struct dns_msg *m = NULL;
	enum dns_outcome bad = DNS_MATCH;

	(void)timeouts;
	q->c->pending--;
	if (ctx->closing) {
		free(q);
		return;
	}
	if (status == ARES_ECANCELLED) {
		/* only deadline_expire() cancels */
		deadline_missed(t, q);
		goto done;
	}
	if (abuf && alen > 0 && status != ARES_ETIMEOUT) {
		enum dns_parse_status ps = dns_msg_parse(abuf, (size_t)alen,
		                                         &ctx->msg);
		if (ps == DNS_PARSE_OK)
			m = &ctx->msg;
		else
			bad = ps == DNS_PARSE_TOOBIG ? DNS_TOOBIG : DNS_NETERR;
	}
	if (!m && bad == DNS_MATCH)
		bad = status_outcome(status);
	if (m && status != ARES_SUCCESS && status != ARES_ENODATA &&
	    status != ARES_ENOTFOUND && status != ARES_ESERVFAIL &&
	    status != ARES_EREFUSED)
		m = NULL, bad = status_outcome(status);

	if (!t->failed) {
		switch (t->phase) {
		case P_ZONE:
			on_zone(t, m, status);
			break;
		case P_NS:
			on_ns(t, m, status);
			break;
		case P_ADDR:
			on_addr(t, q, m, status);
			break;
		case P_ASK:
			on_ask(t, q, m, bad);
			break;
		case P_START:
		case P_DONE:
			break;
		}
	}
done:
	free(q);
	if (--t->outstanding == 0)
		task_step(t);
}

/* Sends the questions of the ASK phase. */
static void send_asks(struct task *t)
{
	struct dns_ctx *ctx = t->ctx;
	int nres = 0;

	if (t->kind == DNS_KIND_POINTING) {
		t->r.n_vantage = 2;
		dns_putf(t->r.vantage[0].server, sizeof t->r.vantage[0].server,
		         "resolvers A");
		dns_putf(t->r.vantage[1].server, sizeof t->r.vantage[1].server,
		         "resolvers AAAA");
		t->r.vantage[0].outcome = t->r.vantage[1].outcome = DNS_NETERR;
		send_query(t, ctx->disc, t->chk.domain, DNS_T_A, 0, DNS_T_A);
		send_query(t, ctx->disc, t->chk.domain, DNS_T_AAAA, 1, DNS_T_AAAA);
		return;
	}
	dns_putf(t->chk.zone, sizeof t->chk.zone, "%s", t->r.zone);
	if (t->kind == DNS_KIND_DELEGATION || ctx->o.propagation_resolvers)
		nres = ctx->o.n_resolvers;
	/* Both bounds are kept where the pieces are filled (add_server,
	 * dns_cfg_load); the total is checked here, where the array is. */
	if (t->n_servers > DNS_MAX_SERVERS || nres > DNS_MAX_RESOLVERS ||
	    t->n_servers + nres > DNS_MAX_VANTAGE) {
		task_fail(t, DNS_CHECK_ERROR, "%d servers and %d resolvers: over "
		          "%d vantage points", t->n_servers, nres, DNS_MAX_VANTAGE);
		return;
	}
	t->n_res_vantage = nres;
	t->r.n_vantage = t->n_servers + nres;
	for (int i = 0; i < t->r.n_vantage; i++) {
		struct dns_vantage *dv = &t->r.vantage[i];
		char hp[DNS_ADDR_MAX + 8];
		dv->outcome = DNS_NETERR; /* until an answer says otherwise */
		if (i >= t->n_servers) {
			dns_putf(dv->server, sizeof dv->server, "resolver %s",
			         ctx->o.resolvers[i - t->n_servers]);
			continue;
		}
		hostport(hp, sizeof hp, t->servers[i].addr, t->servers[i].port);
		dns_putf(dv->server, sizeof dv->server, "auth %s", hp);
		dns_putf(dv->ns_name, sizeof dv->ns_name, "%s",
		         t->servers[i].ns_name);
	}
	for (int i = 0; i < t->n_servers; i++) {
		struct chan *c = chan_for(ctx, &t->servers[i]);
		if (c)
			send_query(t, c, t->chk.qname, DNS_T_TXT, i, 0);
		else
			dns_seen_add(t->r.vantage[i].seen, "no channel (too many servers)");
	}
	for (int i = 0; i < nres; i++)
		send_query(t, ctx->res[i], t->chk.qname, DNS_T_TXT, t->n_servers + i, 0);
}

/* Moves T to its next phase and sends that phase's queries. */
static void task_issue(struct task *t)
{
	struct dns_ctx *ctx = t->ctx;
	const struct dns_opts *o = &ctx->o;
	struct zone_entry *z;

	switch (t->phase) {
	case P_START:
		t->phase = t->kind == DNS_KIND_POINTING ? P_ASK : P_ZONE;
		if (t->kind == DNS_KIND_POINTING)
			send_asks(t);
		else
			send_query(t, ctx->disc, t->walk, DNS_T_SOA, -1, 0);
		return;
	case P_ZONE:
		if (!t->zone_known) {
			/* on_zone moved the walk one label up */
			send_query(t, ctx->disc, t->walk, DNS_T_SOA, -1, 0);
			return;
		}
		z = zone_get(ctx, t->r.zone);
		if (z) {
			memcpy(t->servers, z->servers,
			       sizeof z->servers[0] * (size_t)z->n);
			t->n_servers = z->n;
			t->phase = P_ASK;
			send_asks(t);
			return;
		}
		for (struct task *o2 = ctx->tasks; o2; o2 = o2->next_t) {
			if (o2 != t && (o2->phase == P_NS || o2->phase == P_ADDR) &&
			    !o2->failed && strcmp(o2->r.zone, t->r.zone) == 0) {
				/* Resolvers drop many identical questions at once
				 * (BIND: clients-per-query), and one answer serves
				 * all: wait for that task (the hold is the wait). */
				t->parked = true;
				t->outstanding++;
				return;
			}
		}
		t->phase = P_NS;
		send_query(t, ctx->disc, t->r.zone, DNS_T_NS, -1, 0);
		return;
	case P_NS:
		t->phase = P_ADDR;
		for (int i = 0; i < t->n_ns; i++) {
			bool mapped = false;
			for (int j = 0; j < o->n_port_map && !mapped; j++)
				mapped = strcmp(o->port_map[j].from,
				                t->ns_names[i]) == 0 &&
				         o->port_map[j].to[0];
			if (mapped) {
				t->addr_seen[i] = true;
				t->n_mapped++;
				add_server(t, "", t->ns_names[i]);
				continue;
			}
			send_query(t, ctx->disc, t->ns_names[i], DNS_T_A, -1, i);
			send_query(t, ctx->disc, t->ns_names[i], DNS_T_AAAA, -1, i);
		}
		return;
	case P_ADDR:
		/* The total of both sources, against the cap, before any is
		 * asked (add_server keeps at most DNS_MAX_SERVERS, the cap's
		 * own bound, so nothing past it is dropped unseen). */
		if (t->pub_cut || t->n_pub + t->n_mapped > o->max_ns_addrs) {
			task_fail(t, DNS_CHECK_ERROR, "zone %s has %s%d nameserver "
			          "addresses, over the limit of %d (dns.max_ns_addrs)",
			          t->r.zone, t->pub_cut ? "more than " : "",
			          t->n_pub + t->n_mapped, o->max_ns_addrs);
			return;
		}
		if (t->n_servers == 0 && t->refused[0]) {
			task_fail(t, DNS_CHECK_ERROR, "no nameserver address of %s "
			          "may be queried: %s", t->r.zone, t->refused);
			return;
		}
		if (t->n_servers == 0) {
			task_fail(t, DNS_CHECK_TRANSIENT,
			          "no address found for any NS of %s", t->r.zone);
			return;
		}
		for (int i = 0; i < t->n_ns; i++)
			if (!t->addr_seen[i])
				log_msg(LOG_INFO, "dns: NS %s of %s has no address",
				        t->ns_names[i], t->r.zone);
		zone_put(ctx, t);
		t->phase = P_ASK;
		zone_wake(ctx, t->r.zone);
		send_asks(t);
		return;
	case P_ASK:
	case P_DONE:
		t->phase = P_DONE;
		return;
	}
}

/* Called when no query of the current phase is left: issues phases until
 * one has queries in flight, or concludes the task. */
static void task_step(struct task *t)
{
	t->outstanding++; /* hold: answers may arrive inside ares_query() */
	/* Past the deadline nothing more is sent; a check whose last phase
	 * has all its answers (ASK) still concludes from them. */
	if (!t->failed && t->phase != P_ASK && t->phase != P_DONE &&
	    past_deadline(t->ctx)) {
		if (t->kind == DNS_KIND_POINTING)
			task_fail(t, DNS_CHECK_TRANSIENT, "deadline reached before "
			          "the resolvers were asked for %s", t->chk.domain);
		else if (t->phase == P_START ||
		         (t->phase == P_ZONE && !t->zone_known))
			task_fail(t, DNS_CHECK_TRANSIENT, "deadline reached before "
			          "the zone of %s was found", t->chk.domain);
		else
			task_fail(t, DNS_CHECK_TRANSIENT, "deadline reached before "
			          "the servers of %s were asked", t->r.zone);
	}
	while (!t->failed && t->phase != P_DONE) {
		task_issue(t);
		if (t->outstanding > 1)
			break;
	}
	if (--t->outstanding == 0) {
		dns_verdict_conclude(&t->chk, t->failed, &t->r);
		task_finish(t);
	}
}

/* ---- starting checks ---- */

static struct task *task_new(struct dns_ctx *ctx, enum dns_check_kind kind,
                             dns_check_cb cb, void *arg)
{
	struct task *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->ctx = ctx;
	t->kind = kind;
	t->phase = P_START;
	t->cb = cb;
	t->arg = arg;
	t->r.bad = -1;
	t->chk.kind = kind;
	t->chk.o = &ctx->o;
	t->next_t = ctx->tasks;
	if (ctx->tasks)
		ctx->tasks->prev_t = t;
	ctx->tasks = t;
	ctx->n_tasks++;
	return t;
}

int dns_delegation_start(struct dns_ctx *ctx, const char *domain,
                         const char *target, int prev, dns_check_cb cb,
                         void *arg)
{
	char d[DNAME_MAX + 1], tg[DNAME_MAX + 1], q[DNAME_MAX + 1];
	struct task *t;

	if (dname_normalize(domain, d, sizeof d) ||
	    dname_normalize(target, tg, sizeof tg) ||
	    dname_challenge(d, q, sizeof q))
		return -1;
	t = task_new(ctx, DNS_KIND_DELEGATION, cb, arg);
	if (!t)
		return -1;
	dns_putf(t->chk.domain, sizeof t->chk.domain, "%s", d[0] == '*' ? d + 2 : d);
	dns_putf(t->chk.qname, sizeof t->chk.qname, "%s", q);
	dns_putf(t->chk.want, sizeof t->chk.want, "%s", tg);
	dns_putf(t->walk, sizeof t->walk, "%s", t->chk.domain);
	t->chk.prev = prev < 0 ? 0 : prev;
	task_step(t);
	return 0;
}

int dns_propagation_start(struct dns_ctx *ctx, const char *name,
                          const char *value, dns_check_cb cb, void *arg)
{
	char n[DNAME_MAX + 1];
	struct task *t;

	if (!value || !value[0] || strlen(value) > DNS_MAX_TXT ||
	    dname_normalize(name, n, sizeof n) || n[0] == '*')
		return -1;
	for (const char *v = value; *v; v++)
		if (*v < 0x20 || *v >= 0x7f)
			return -1; /* it is shown in details and logs as it is */
	t = task_new(ctx, DNS_KIND_PROPAGATION, cb, arg);
	if (!t)
		return -1;
	dns_putf(t->chk.domain, sizeof t->chk.domain, "%s", n);
	dns_putf(t->chk.qname, sizeof t->chk.qname, "%s", n);
	dns_putf(t->chk.want, sizeof t->chk.want, "%s", value);
	dns_putf(t->walk, sizeof t->walk, "%s", n);
	task_step(t);
	return 0;
}

int dns_pointing_start(struct dns_ctx *ctx, const char *domain,
                       dns_check_cb cb, void *arg)
{
	char d[DNAME_MAX + 1];
	struct task *t;

	if (dname_normalize(domain, d, sizeof d) || d[0] == '*')
		return -1;
	t = task_new(ctx, DNS_KIND_POINTING, cb, arg);
	if (!t)
		return -1;
	dns_putf(t->chk.domain, sizeof t->chk.domain, "%s", d);
	dns_putf(t->chk.qname, sizeof t->chk.qname, "%s", d);
	task_step(t);
	return 0;
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
		       status_outcome(status), NULL, 0);
	free(rq);
}

int dns_raw_start(struct dns_ctx *ctx, const char *name, int type,
                  dns_raw_cb cb, void *arg)
{
	struct raw_query *rq;

	if (past_deadline(ctx)) {
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
	for (;;) {
		struct task *w = NULL;
		for (struct task *t = ctx->tasks; t && !w; t = t->next_t)
			if (t->parked)
				w = t;
		if (!w)
			break;
		w->parked = false;
		if (--w->outstanding == 0)
			task_step(w);
	}
}

int dns_run(struct dns_ctx *ctx, long max_ms)
{
	long long start = now_ms();
	struct pollfd *pfd = NULL;
	struct chan **owner = NULL;
	size_t cap = 0;

	while (ctx->n_tasks > 0) {
		struct chan *all[DNS_MAX_RESOLVERS + 1];
		int n_all = 0, wait = 1000, rc;
		size_t n = 0;
		struct chan *c;

		chans_trim(ctx);
		if (past_deadline(ctx)) {
			deadline_expire(ctx);
			break;
		}
		if (max_ms >= 0 && now_ms() - start >= max_ms)
			break;
		all[n_all++] = ctx->disc;
		for (int i = 0; i < ctx->o.n_resolvers; i++)
			all[n_all++] = ctx->res[i];
		if (cap < (size_t)(ctx->n_chans + n_all) * ARES_GETSOCK_MAXNUM) {
			size_t nc = (size_t)(ctx->n_chans + n_all) * ARES_GETSOCK_MAXNUM;
			struct pollfd *np = realloc(pfd, nc * sizeof *np);
			struct chan **no;
			if (!np)
				break;
			pfd = np;
			no = realloc(owner, nc * sizeof *no);
			if (!no)
				break;
			owner = no;
			cap = nc;
		}
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
			long left = max_ms - (long)(now_ms() - start);
			if (left < wait)
				wait = left < 0 ? 0 : (int)left;
		}
		if (ctx->deadline > 0) {
			long long left = ctx->deadline - now_ms();
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
