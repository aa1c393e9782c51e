/*
 * dns_check: the three checks (delegation, propagation, pointing)
 * declared in dns.h, as tasks over the engine of dns_engine.c.
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
 * Queries of all tasks share the engine's channels and are driven by
 * dns_run() (dns_engine.c).
 * What an answer of ASK and TAIL means, and how the check ends, is decided
 * by the pure verdicts of dns_verdict.c; this file only gets the answers.
 */
#include "dns.h"

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "dns_engine.h"
#include "dns_internal.h"
#include "dns_verdict.h"
#include "log.h"

#define PUB_KEPT 64           /* published NS addresses told apart */

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

/* ---- phase handlers ---- */

static void on_zone(struct task *t, const struct dns_msg *m, int status)
{
	char chain[1][DNAME_MAX + 1];

	if (!m) {
		task_fail(t, DNS_CHECK_TRANSIENT,
		          "finding the zone of %s: resolvers: %s", t->walk,
		          dns_outcome_str(dns_status_outcome(status)));
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
		                                     dns_status_outcome(status)));
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
		if (dns_outcome_transient(dns_status_outcome(status)))
			log_msg(LOG_DEBUG, "dns: address of NS %s: %s", ns,
			        dns_outcome_str(dns_status_outcome(status)));
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
		if (dns_past_deadline(t->ctx)) {
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
		bad = dns_status_outcome(status);
	if (m && status != ARES_SUCCESS && status != ARES_ENODATA &&
	    status != ARES_ENOTFOUND && status != ARES_ESERVFAIL &&
	    status != ARES_EREFUSED)
		m = NULL, bad = dns_status_outcome(status);

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
		dns_hostport(hp, sizeof hp, t->servers[i].addr, t->servers[i].port);
		dns_putf(dv->server, sizeof dv->server, "auth %s", hp);
		dns_putf(dv->ns_name, sizeof dv->ns_name, "%s",
		         t->servers[i].ns_name);
	}
	for (int i = 0; i < t->n_servers; i++) {
		struct chan *c = dns_chan_for(ctx, &t->servers[i]);
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
		z = dns_zone_get(ctx, t->r.zone);
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
		dns_zone_put(ctx, t->r.zone, t->servers, t->n_servers);
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
	    dns_past_deadline(t->ctx)) {
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

/* ---- what the engine asks of the tasks (dns_engine.h) ---- */

void dns_tasks_wake_parked(struct dns_ctx *ctx)
{
	for (;;) {
		struct task *w = NULL;
		for (struct task *t = ctx->tasks; t && !w; t = t->next_t)
			if (t->parked)
				w = t;
		if (!w)
			return;
		w->parked = false;
		if (--w->outstanding == 0)
			task_step(w);
	}
}

void dns_tasks_free(struct dns_ctx *ctx)
{
	while (ctx->tasks) {
		struct task *t = ctx->tasks;
		ctx->tasks = t->next_t;
		free(t);
	}
}
