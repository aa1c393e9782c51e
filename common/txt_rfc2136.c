/*
 * txt_rfc2136: TXT values by DNS UPDATE (RFC 2136) signed with TSIG
 * (RFC 8945), built, signed, sent and verified by ldns.
 *
 * add:    one update RR "NAME TTL IN TXT value", no prerequisite.  A server
 *         ignores an RR that is already there (RFC 2136 3.4.2.2), so a retry
 *         is harmless, and other values at NAME are untouched.
 * remove: one update RR "NAME 0 NONE TXT value", which deletes exactly that
 *         RR (RFC 2136 2.5.4); deleting an absent RR is a no-op.
 *
 * The value is put into the RR as raw rdata, never through the zone-file
 * parser, so a value cannot smuggle extra syntax.
 */
#include "txt_provider.h"

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deadline.h"
#include "dns.h"

struct rfc2136 {
	struct txt_provider base;   /* must be first */
	char addr[DNS_ADDR_MAX];
	int port;
	char key_name[DNAME_MAX + 2]; /* with the trailing dot */
	char alg[40];                 /* ldns name, "hmac-sha256." */
};

/* The TSIG error of ANSWER (BADSIG 16, BADKEY 17, BADTIME 18), or 0. */
static int tsig_error(const ldns_pkt *answer)
{
	const ldns_rr *tsig = answer ? ldns_pkt_tsig(answer) : NULL;
	const ldns_rdf *f;

	if (!tsig || ldns_rr_rd_count(tsig) < 6)
		return 0;
	f = ldns_rr_rdf(tsig, 5);
	if (!f || ldns_rdf_size(f) != 2)
		return 0;
	return ldns_rdf2native_int16(f);
}

static const char *tsig_error_str(int e)
{
	switch (e) {
	case 16: return "BADSIG (wrong TSIG secret)";
	case 17: return "BADKEY (the server does not know the TSIG key name or "
	                "algorithm)";
	case 18: return "BADTIME (clocks differ by more than the fudge)";
	default: return NULL;
	}
}

/* Builds "NAME TTL CLASS TXT VALUE" from raw rdata.  NULL on failure. */
static ldns_rr *txt_rr(const char *name, const char *value, ldns_rr_class cls,
                       uint32_t ttl)
{
	uint8_t rdata[TXT_VALUE_MAX + 1];
	size_t n = strlen(value);
	ldns_rr *rr = NULL;
	ldns_rdf *owner = NULL, *txt = NULL;

	if (n > TXT_VALUE_MAX)
		return NULL;
	rdata[0] = (uint8_t)n;
	memcpy(rdata + 1, value, n);
	owner = ldns_dname_new_frm_str(name);
	txt = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_STR, n + 1, rdata);
	rr = ldns_rr_new();
	if (!owner || !txt || !rr)
		goto fail;
	ldns_rr_set_owner(rr, owner);
	owner = NULL;
	ldns_rr_set_type(rr, LDNS_RR_TYPE_TXT);
	ldns_rr_set_class(rr, cls);
	ldns_rr_set_ttl(rr, ttl);
	if (!ldns_rr_push_rdf(rr, txt))
		goto fail;
	return rr;
fail:
	ldns_rdf_deep_free(owner);
	ldns_rdf_deep_free(txt);
	ldns_rr_free(rr);
	return NULL;
}

/* Sends one update of NAME/VALUE (add when ADD) and classifies the answer. */
static enum txt_status update(struct rfc2136 *p, const char *name,
                              const char *value, bool add, char *msg,
                              size_t msglen)
{
	const struct txt_provider_opts *o = &p->base.o;
	enum txt_status rc = TXT_TRANSIENT;
	ldns_resolver *res = NULL;
	ldns_rr_list *up = NULL;
	ldns_rr *rr = NULL;
	ldns_pkt *pkt = NULL, *answer = NULL;
	ldns_rdf *ns = NULL, *zone = NULL;
	ldns_status st;
	struct timeval tv;
	int rcode, terr, tries = o->tries;
	long long per_try = o->timeout_ms;
	long long left = deadline_left(p->base.deadline, per_try * tries);

	if (left <= 0) {
		snprintf(msg, msglen, "rfc2136: not sent to %s:%d: the job's deadline "
		         "had passed", p->addr, p->port);
		goto out;
	}
	if (left < per_try * tries) {
		/* what is left of the job's deadline, in as many whole tries as
		 * fit (at least one, cut short) */
		if (per_try > left)
			per_try = left;
		tries = (int)(left / per_try);
	}
	res = ldns_resolver_new();
	up = ldns_rr_list_new();
	ns = ldns_rdf_new_frm_str(strchr(p->addr, ':') ? LDNS_RDF_TYPE_AAAA :
	                          LDNS_RDF_TYPE_A, p->addr);
	zone = ldns_dname_new_frm_str(o->zone);
	rr = txt_rr(name, value, add ? LDNS_RR_CLASS_IN : LDNS_RR_CLASS_NONE,
	            add ? (uint32_t)o->ttl : 0);
	if (!res || !up || !ns || !zone || !rr) {
		snprintf(msg, msglen, "rfc2136: cannot build the update");
		goto out;
	}
	if (ldns_resolver_push_nameserver(res, ns) != LDNS_STATUS_OK) {
		snprintf(msg, msglen, "rfc2136: bad server address");
		goto out;
	}
	ldns_resolver_set_port(res, (uint16_t)p->port);
	tv.tv_sec = (time_t)(per_try / 1000);
	tv.tv_usec = (suseconds_t)(per_try % 1000) * 1000;
	ldns_resolver_set_timeout(res, tv);
	ldns_resolver_set_retry(res, (uint8_t)tries);
	ldns_resolver_set_retrans(res, 0);
	ldns_resolver_set_random(res, false);
	ldns_resolver_set_fallback(res, true);
	ldns_resolver_set_tsig_keyname(res, p->key_name);
	ldns_resolver_set_tsig_keydata(res, o->secret);
	ldns_resolver_set_tsig_algorithm(res, p->alg);

	ldns_rr_list_push_rr(up, rr);
	rr = NULL;
	pkt = ldns_update_pkt_new(zone, LDNS_RR_CLASS_IN, NULL, up, NULL);
	zone = NULL; /* owned by pkt now */
	if (!pkt) {
		snprintf(msg, msglen, "rfc2136: cannot build the update");
		goto out;
	}
	ldns_pkt_set_random_id(pkt);
	st = ldns_update_pkt_tsig_add(pkt, res);
	if (st != LDNS_STATUS_OK) {
		rc = TXT_PERMANENT;
		snprintf(msg, msglen, "rfc2136: cannot sign with key %s (%s): %s",
		         o->key_name, o->algorithm, ldns_get_errorstr_by_id(st));
		goto out;
	}
	st = ldns_resolver_send_pkt(&answer, res, pkt);
	terr = tsig_error(answer);
	if (answer && (ldns_pkt_get_rcode(answer) == LDNS_RCODE_NOTAUTH ||
	               terr)) {
		const char *why = tsig_error_str(terr);
		rc = TXT_PERMANENT;
		snprintf(msg, msglen, "rfc2136: %s:%d answered NOTAUTH%s%s for zone "
		         "%s with key %s", p->addr, p->port, why ? ": " : "",
		         why ? why : " (not authoritative, or TSIG refused)",
		         o->zone, o->key_name);
		goto out;
	}
	if (st == LDNS_STATUS_CRYPTO_TSIG_BOGUS) {
		rc = TXT_PERMANENT;
		snprintf(msg, msglen, "rfc2136: %s:%d did not accept the TSIG "
		         "signature of key %s (%s): NOTAUTH/BADSIG or BADKEY, the "
		         "secret, key name or algorithm is wrong", p->addr, p->port,
		         o->key_name, o->algorithm);
		goto out;
	}
	if (st != LDNS_STATUS_OK || !answer) {
		snprintf(msg, msglen, "rfc2136: %s:%d: %s%s", p->addr, p->port,
		         deadline_left(p->base.deadline, 1) <= 0
		         ? "no answer by the job's deadline: " : "",
		         ldns_get_errorstr_by_id(st));
		goto out;
	}
	rcode = ldns_pkt_get_rcode(answer);
	switch (rcode) {
	case LDNS_RCODE_NOERROR:
		rc = TXT_OK;
		break;
	case LDNS_RCODE_REFUSED:
		rc = TXT_PERMANENT;
		snprintf(msg, msglen, "rfc2136: %s:%d REFUSED the update of %s TXT "
		         "(the key %s may not update this name, or the zone %s is "
		         "not dynamic there)", p->addr, p->port, name, o->key_name,
		         o->zone);
		break;
	case LDNS_RCODE_NOTZONE:
		rc = TXT_PERMANENT;
		snprintf(msg, msglen, "rfc2136: %s is not in zone %s (NOTZONE)",
		         name, o->zone);
		break;
	case LDNS_RCODE_SERVFAIL:
		snprintf(msg, msglen, "rfc2136: %s:%d SERVFAIL", p->addr, p->port);
		break;
	default:
		rc = TXT_PERMANENT;
		snprintf(msg, msglen, "rfc2136: %s:%d answered rcode %d", p->addr,
		         p->port, rcode);
		break;
	}
out:
	ldns_pkt_free(answer);
	ldns_pkt_free(pkt);
	ldns_rr_list_deep_free(up);
	ldns_rr_free(rr);
	ldns_rdf_deep_free(zone);
	ldns_rdf_deep_free(ns); /* push_nameserver kept a copy */
	if (res)
		ldns_resolver_deep_free(res);
	return rc;
}

static enum txt_status rfc_add(struct txt_provider *base, const char *name,
                               const char *value, char *msg, size_t msglen)
{
	return update((struct rfc2136 *)base, name, value, true, msg, msglen);
}

static enum txt_status rfc_remove(struct txt_provider *base,
                                  const char *name, const char *value,
                                  char *msg, size_t msglen)
{
	return update((struct rfc2136 *)base, name, value, false, msg, msglen);
}

static void rfc_free(struct txt_provider *base)
{
	struct rfc2136 *p = (struct rfc2136 *)base;
	/* The secret is wiped before the memory goes back. */
	explicit_bzero(p->base.o.secret, sizeof p->base.o.secret);
	free(p);
}

static const struct txt_provider_ops rfc2136_ops = {
	.name = "rfc2136",
	.add = rfc_add,
	.remove = rfc_remove,
	.free = rfc_free,
};

struct txt_provider *txt_rfc2136_new(const struct txt_provider_opts *o,
                                     char *err, size_t errlen)
{
	struct rfc2136 *p = calloc(1, sizeof *p);

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->base.ops = &rfc2136_ops;
	p->base.o = *o;
	if (dns_parse_hostport(o->server, 53, p->addr, &p->port) != 0) {
		snprintf(err, errlen, "rfc2136: bad server %s", o->server);
		goto fail;
	}
	if (strcmp(o->algorithm, "hmac-sha256") &&
	    strcmp(o->algorithm, "hmac-sha512")) {
		snprintf(err, errlen, "rfc2136: unsupported TSIG algorithm %s",
		         o->algorithm);
		goto fail;
	}
	if (!o->key_name[0] || !o->secret[0] || !o->zone[0]) {
		snprintf(err, errlen, "rfc2136: need zone, key name and secret");
		goto fail;
	}
	snprintf(p->alg, sizeof p->alg, "%s.", o->algorithm);
	snprintf(p->key_name, sizeof p->key_name, "%s%s", o->key_name,
	         o->key_name[strlen(o->key_name) - 1] == '.' ? "" : ".");
	return &p->base;
fail:
	rfc_free(&p->base);
	return NULL;
}
