/*
 * dns_verdict: the verdicts of the delegation, propagation and pointing
 * checks over parsed answers (see dns_verdict.h).  Pure: everything they
 * read is the message, the check and the vantage's own state.
 */
#include "dns_verdict.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "dns_internal.h"

#define CHAIN_READ 16 /* CNAME hops read from one answer */

enum dns_outcome dns_rcode_outcome(int rcode)
{
	switch (rcode) {
	case 0: case 3: return DNS_MATCH;
	case 2: return DNS_SERVFAIL;
	case 5: case 9: return DNS_REFUSED; /* REFUSED, NOTAUTH */
	default: return DNS_NETERR;
	}
}

#define TXT_SHOWN 64 /* octets of presentation text shown per TXT value */

/* Appends SEP and RR's TXT text to SEEN in presentation form: quoted,
 * '"' and '\\' escaped, octets outside printable ASCII as \DDD, so that
 * what a server sends never puts control bytes into a detail, a log line
 * or an event.  At most TXT_SHOWN octets of it ("..." after), so that a
 * few values fit; " (cut)" when the record was longer than we keep. */
static void seen_txt(char *seen, const char *sep, const struct dns_rr *rr)
{
	char text[TXT_SHOWN + 8];
	size_t o = 0;

	for (size_t i = 0; i < rr->u.txt.len && i < DNS_MAX_TXT; i++) {
		if (o + 4 > TXT_SHOWN) {
			memcpy(text + o, "...", 3);
			o += 3;
			break;
		}
		unsigned char ch = (unsigned char)rr->u.txt.text[i];
		if (ch == '"' || ch == '\\') {
			text[o++] = '\\';
			text[o++] = (char)ch;
		} else if (ch < 0x20 || ch >= 0x7f) {
			dns_putf(text + o, sizeof text - o, "\\%03u", ch);
			o += 4;
		} else {
			text[o++] = (char)ch;
		}
	}
	text[o] = '\0';
	dns_seen_add(seen, "%s\"%s\"%s", sep, text, rr->u.txt.cut ? " (cut)" : "");
}

/* Whether RR's TXT text is exactly WANT (a cut record never is). */
static bool txt_is(const struct dns_rr *rr, const char *want)
{
	size_t l = strlen(want);
	return !rr->u.txt.cut && rr->u.txt.len == l &&
	       memcmp(rr->u.txt.text, want, l) == 0;
}

/* FNV-1a of a (lower-case) name, to remember the hops of a chain. */
static uint64_t name_hash(const char *s)
{
	uint64_t h = 14695981039346656037ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* Records hop NAME; false if the chain was there before.  Past
 * DNS_HOPS_KEPT hops only the count grows (the depth cap ends it). */
static bool hop_add(struct dns_hops *h, const char *name)
{
	uint64_t x = name_hash(name);
	int n = h->n < DNS_HOPS_KEPT ? h->n : DNS_HOPS_KEPT;

	for (int i = 0; i < n; i++)
		if (h->hash[i] == x)
			return false;
	if (h->n < DNS_HOPS_KEPT)
		h->hash[h->n] = x;
	if (h->n < 1 << 20)
		h->n++;
	return true;
}

/* A "no" read from a message the parser cut (more than DNS_MAX_RR records
 * in a section) is not a "no": what we did not keep may hold the rest of
 * the chain or the address.  Such an outcome becomes DNS_TOOBIG. */
static void cut_short(const struct dns_msg *m, struct dns_vantage *dv)
{
	if (!m->too_many || (dv->outcome != DNS_DIFFERENT &&
	                     dv->outcome != DNS_NODATA))
		return;
	dv->outcome = DNS_TOOBIG;
	dns_seen_add(dv->seen, "%s(more than %d records: not all read)",
	             dv->seen[0] ? " " : "", DNS_MAX_RR);
}

/* The outcome of an answer to the question itself with no CNAME at it. */
static void deleg_no_cname(const struct dns_verdict_check *c, bool auth,
                           const struct dns_msg *m, struct dns_vantage *dv)
{
	if (auth && m->rcode == 0 && !m->aa) {
		/* an authoritative server of the zone that is not: a
		 * delegation below the zone, or a lame server */
		for (int i = 0; i < m->n_ns; i++) {
			if (m->ns[i].type == DNS_T_NS &&
			    dns_name_under(c->qname, m->ns[i].owner) &&
			    strcmp(m->ns[i].owner, c->zone) != 0 &&
			    dns_name_under(m->ns[i].owner, c->zone)) {
				dv->outcome = DNS_NS_DELEGATED;
				dns_seen_add(dv->seen, "%sNS %s", dv->seen[0] ?
				             ", " : "", m->ns[i].u.name);
			}
		}
		if (dv->outcome == DNS_NS_DELEGATED)
			return;
		dv->outcome = DNS_REFUSED;
		dns_seen_add(dv->seen, "not authoritative for %s (lame)", c->zone);
		return;
	}
	if (m->rcode == 3) {
		dv->outcome = DNS_NXDOMAIN;
		return;
	}
	for (int i = 0; i < m->n_an; i++)
		if (m->an[i].type == DNS_T_TXT &&
		    strcmp(m->an[i].owner, c->qname) == 0)
			seen_txt(dv->seen, dv->seen[0] ? ", TXT " : "TXT ",
			         &m->an[i]);
	dv->outcome = dv->seen[0] ? DNS_DIFFERENT : DNS_NODATA;
}

bool dns_verdict_delegation(const struct dns_verdict_check *c,
                            const char *asked, bool auth,
                            const struct dns_msg *m, struct dns_hops *h,
                            struct dns_vantage *dv, char *next)
{
	int max = c->o->max_cname_depth;
	char chain[CHAIN_READ][DNAME_MAX + 1];
	const char *last = asked;
	bool first = h->n == 0 && strcmp(asked, c->qname) == 0;
	enum dns_outcome rc = dns_rcode_outcome(m->rcode);
	int n;

	if (rc != DNS_MATCH) {
		dv->outcome = rc;
		return false;
	}
	if (first)
		hop_add(h, asked);
	n = dns_msg_chain(m, asked, chain, CHAIN_READ);
	if (n == -1) {
		dv->outcome = DNS_CNAME_LOOP;
		dns_seen_add(dv->seen, "%sloop at %s", dv->seen[0] ? " " : "",
		             asked);
		return false;
	}
	for (int i = 0; i < (n < 0 ? CHAIN_READ : n); i++) {
		if (h->n > max) {
			dv->outcome = DNS_CHAIN_TOO_LONG;
			dns_seen_add(dv->seen, " ... (over %d hops)", max);
			return false;
		}
		dns_seen_add(dv->seen, "%s%s", dv->seen[0] ? " -> " : "",
		             chain[i][0] ? chain[i] : ". (the root)");
		if (!chain[i][0]) {
			/* an alias of the root ends the chain (nothing to
			 * follow: the root is no one's target) */
			dv->outcome = DNS_DIFFERENT;
			return false;
		}
		if (strcmp(chain[i], c->want) == 0) {
			dv->outcome = DNS_MATCH;
			return false;
		}
		if (!hop_add(h, chain[i])) {
			dv->outcome = DNS_CNAME_LOOP;
			dns_seen_add(dv->seen, " (loop)");
			return false;
		}
	}
	if (n < 0 || h->n > max + 1) {
		dv->outcome = DNS_CHAIN_TOO_LONG;
		dns_seen_add(dv->seen, " ... (over %d hops)", max);
		return false;
	}
	if (n > 0)
		last = chain[n - 1];
	if (n == 0 && first) {
		deleg_no_cname(c, auth, m, dv);
		cut_short(m, dv);
		return false;
	}
	/* A chain from an authoritative server that leaves its zone without
	 * reaching the target: followed on, one CNAME question per hop
	 * through the resolvers (so loops and length are seen here, not
	 * hidden in a resolver's SERVFAIL).  A hop answer without a CNAME
	 * ends the chain. */
	if (auth && m->rcode == 0 && n > 0 && !dns_msg_has(m, last, DNS_T_TXT) &&
	    !dns_name_under(last, c->zone)) {
		dns_putf(next, DNAME_MAX + 1, "%s", last);
		return true;
	}
	dv->outcome = DNS_DIFFERENT;
	if (m->rcode == 3)
		dns_seen_add(dv->seen, " (nxdomain)");
	else if (!first && n == 0 && dv->seen[0])
		dns_seen_add(dv->seen, " (end)");
	cut_short(m, dv);
	return false;
}

void dns_verdict_propagation(const struct dns_verdict_check *c, bool auth,
                             const struct dns_msg *m, struct dns_vantage *dv)
{
	char chain[CHAIN_READ][DNAME_MAX + 1];
	const char *last = c->qname;
	enum dns_outcome rc = dns_rcode_outcome(m->rcode);
	int n, values = 0;

	if (rc != DNS_MATCH) {
		dv->outcome = rc;
		return;
	}
	n = dns_msg_chain(m, c->qname, chain, CHAIN_READ);
	if (n < 0) {
		dv->outcome = n == -1 ? DNS_CNAME_LOOP : DNS_CHAIN_TOO_LONG;
		return;
	}
	if (n > 0)
		last = chain[n - 1];
	if (auth && !m->aa && m->rcode == 0) {
		dv->outcome = DNS_REFUSED;
		dns_seen_add(dv->seen, "not authoritative for %s (lame or "
		             "referral)", c->zone);
		return;
	}
	for (int i = 0; i < m->n_an; i++) {
		const struct dns_rr *rr = &m->an[i];
		if (rr->type != DNS_T_TXT || strcmp(rr->owner, last) != 0)
			continue;
		values++;
		if (txt_is(rr, c->want)) {
			dv->outcome = DNS_MATCH;
			dv->seen[0] = '\0';
			dns_seen_add(dv->seen, "%s", c->want);
			return;
		}
		seen_txt(dv->seen, dv->seen[0] ? ", " : "", rr);
	}
	if (values && m->too_many)
		dv->outcome = DNS_TOOBIG;
	else if (values)
		dv->outcome = DNS_DIFFERENT;
	else
		dv->outcome = m->rcode == 3 ? DNS_NXDOMAIN : DNS_NODATA;
}

bool dns_verdict_pointing(const struct dns_verdict_check *c, int type,
                          const struct dns_msg *m, struct dns_vantage *dv)
{
	const struct dns_opts *o = c->o;
	char chain[CHAIN_READ][DNAME_MAX + 1];
	const char *last = c->qname;
	enum dns_outcome rc = dns_rcode_outcome(m->rcode);
	bool pointing = false;
	int n, naddr = 0;

	if (rc != DNS_MATCH) {
		dv->outcome = rc;
		return false;
	}
	n = dns_msg_chain(m, c->qname, chain, CHAIN_READ);
	if (n < 0) {
		dv->outcome = n == -1 ? DNS_CNAME_LOOP : DNS_CHAIN_TOO_LONG;
		return false;
	}
	for (int i = 0; i < n; i++) {
		dns_seen_add(dv->seen, "%s%s", dv->seen[0] ? " -> " : "", chain[i]);
		for (int s = 0; s < o->n_suffixes; s++)
			if (dns_name_under(chain[i], o->suffixes[s]) &&
			    strcmp(chain[i], o->suffixes[s]) != 0)
				pointing = true;
	}
	if (n > 0)
		last = chain[n - 1];
	for (int i = 0; i < m->n_an; i++) {
		const struct dns_rr *rr = &m->an[i];
		char text[INET6_ADDRSTRLEN];
		int fam;
		if (strcmp(rr->owner, last) != 0 || rr->type != type ||
		    (type != DNS_T_A && type != DNS_T_AAAA))
			continue;
		fam = rr->type == DNS_T_A ? AF_INET : AF_INET6;
		inet_ntop(fam, rr->u.addr, text, sizeof text);
		dns_seen_add(dv->seen, "%s%s", dv->seen[0] ?
		             (naddr ? ", " : ": ") : "", text);
		naddr++;
		for (int r = 0; r < o->n_ranges; r++)
			if (dns_cidr_contains(&o->ranges[r], fam, rr->u.addr))
				pointing = true;
	}
	if (pointing)
		dv->outcome = DNS_MATCH;
	else if (naddr)
		dv->outcome = DNS_DIFFERENT;
	else
		dv->outcome = m->rcode == 3 ? DNS_NXDOMAIN : DNS_NODATA;
	cut_short(m, dv);
	return pointing;
}

/* The pointing check: pointing when any answer points at us; else
 * transient when a resolver failed or an answer was too big to read whole
 * (a domain is never taken for gone on records we did not read), else not
 * pointing. */
static void conclude_pointing(const struct dns_verdict_check *c,
                              struct dns_check_result *r)
{
	int trans = -1, match = -1;

	for (int i = 0; i < r->n_vantage; i++) {
		enum dns_outcome oc = r->vantage[i].outcome;
		if (oc == DNS_MATCH && match < 0)
			match = i;
		else if ((dns_outcome_transient(oc) || oc == DNS_TOOBIG) &&
		         trans < 0)
			trans = i;
	}
	r->pointing = match >= 0;
	if (r->pointing) {
		r->status = DNS_CHECK_OK;
		dns_putf(r->detail, sizeof r->detail, "%s points at the provider "
		         "(%s: %s)", c->qname, r->vantage[match].server,
		         r->vantage[match].seen);
	} else if (trans >= 0) {
		r->status = DNS_CHECK_TRANSIENT;
		r->bad = trans;
		dns_putf(r->detail, sizeof r->detail, "resolvers did not answer "
		         "for %s (%s: %s)", c->qname, r->vantage[trans].server,
		         dns_outcome_str(r->vantage[trans].outcome));
	} else {
		r->status = DNS_CHECK_MISMATCH;
		dns_putf(r->detail, sizeof r->detail,
		         "%s does not point at the provider", c->qname);
	}
}

void dns_verdict_conclude(const struct dns_verdict_check *c, bool failed,
                          struct dns_check_result *r)
{
	const struct dns_opts *o = c->o;
	bool deleg_kind = c->kind == DNS_KIND_DELEGATION;
	int deleg = -1, mism = -1, trans = -1, b;

	r->needed = deleg_kind ? o->confirmations : 1;
	if (failed) {
		/* a lookup neither confirms nor resets */
		r->confirmations = deleg_kind ? c->prev : 0;
		r->retry_after_ms = o->confirmation_interval_ms;
		return;
	}
	r->bad = -1;
	if (r->n_vantage <= 0 || r->n_vantage > DNS_MAX_VANTAGE) {
		/* the engine asks at least one server, never more than fit */
		r->status = DNS_CHECK_ERROR;
		r->confirmations = 0;
		r->retry_after_ms = o->confirmation_interval_ms;
		dns_putf(r->detail, sizeof r->detail, "%d vantage points: nothing "
		         "to conclude from", r->n_vantage);
		return;
	}
	if (c->kind == DNS_KIND_POINTING) {
		conclude_pointing(c, r);
		return;
	}
	for (int i = 0; i < r->n_vantage; i++) {
		enum dns_outcome oc = r->vantage[i].outcome;
		/* a second transient outcome is not a mismatch */
		if (oc == DNS_NS_DELEGATED) {
			if (deleg < 0)
				deleg = i;
		} else if (dns_outcome_transient(oc)) {
			if (trans < 0)
				trans = i;
		} else if (oc != DNS_MATCH && mism < 0) {
			mism = i;
		}
	}
	if (deleg >= 0) {
		r->status = DNS_CHECK_NS_DELEGATED;
		r->bad = deleg;
		r->confirmations = 0;
		r->retry_after_ms = o->confirmation_interval_ms;
		dns_putf(r->detail, sizeof r->detail,
		         "%s is delegated with NS records (%s) by %s; replace the "
		         "delegation with a CNAME", c->qname,
		         r->vantage[deleg].seen, r->vantage[deleg].server);
		return;
	}
	if (mism >= 0 || trans >= 0) {
		b = mism >= 0 ? mism : trans;
		r->status = mism >= 0 ? DNS_CHECK_MISMATCH : DNS_CHECK_TRANSIENT;
		r->bad = b;
		r->confirmations = mism >= 0 || !deleg_kind ? 0 : c->prev;
		r->retry_after_ms = o->confirmation_interval_ms;
		dns_putf(r->detail, sizeof r->detail, "%s%s%s%s answered %s: %s",
		         r->vantage[b].server,
		         r->vantage[b].ns_name[0] ? " (" : "",
		         r->vantage[b].ns_name,
		         r->vantage[b].ns_name[0] ? ")" : "",
		         dns_outcome_str(r->vantage[b].outcome),
		         r->vantage[b].seen[0] ? r->vantage[b].seen : "-");
		return;
	}
	if (deleg_kind) {
		r->confirmations = c->prev + 1;
		if (r->confirmations >= r->needed) {
			r->status = DNS_CHECK_OK;
			r->retry_after_ms = 0;
		} else {
			r->status = DNS_CHECK_CONFIRMING;
			r->retry_after_ms = o->confirmation_interval_ms;
		}
		dns_putf(r->detail, sizeof r->detail,
		         "%d servers agree on %s; confirmation %d of %d",
		         r->n_vantage, c->want, r->confirmations, r->needed);
	} else {
		r->status = DNS_CHECK_OK;
		r->confirmations = 1;
		dns_putf(r->detail, sizeof r->detail,
		         "%d servers serve the value", r->n_vantage);
	}
}
