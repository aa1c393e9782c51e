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
#include "txt_provider_impl.h"

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deadline.h"
#include "dns.h"
#include "txt_answer.h"

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

/* Whether the TSIG of ANSWER (WIRE, LEN octets) verifies with REQ's key
 * over REQ's MAC.  ldns_pkt_tsig_verify() takes the TSIG out of the packet
 * while it computes, and does not put it back when the computation fails
 * (an algorithm it does not know): it is put back here, so that the packet
 * still owns it and frees it. */
static bool tsig_verifies(ldns_pkt *answer, const uint8_t *wire, size_t len,
                          const struct txt_rfc2136_req *req)
{
	ldns_rr *tsig = ldns_pkt_tsig(answer);
	ldns_rdf *mac;
	bool ok;

	if (!tsig || !req->mac || req->mac_len < 2)
		return false;
	mac = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, req->mac_len, req->mac);
	if (!mac)
		return false;
	ok = ldns_pkt_tsig_verify(answer, wire, len, req->key_name, req->secret, mac);
	if (!ldns_pkt_tsig(answer))
		ldns_pkt_set_tsig(answer, tsig);
	ldns_rdf_deep_free(mac);
	return ok;
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* Moves *OFF past the wire name there (labels, maybe ending in a
 * compression pointer, which is not followed: only its two octets are
 * skipped).  false when the name runs past LEN or has a reserved label
 * type. */
static bool skip_name(const uint8_t *wire, size_t len, size_t *off)
{
	for (;;) {
		if (*off >= len)
			return false;
		uint8_t l = wire[*off];
		if ((l & 0xc0) == 0xc0) {
			if (len - *off < 2)
				return false;
			*off += 2;
			return true;
		}
		if (l & 0xc0)
			return false;
		*off += 1u + l;
		if (l == 0)
			return true;
	}
}

/* txt_answer.h */
bool txt_rfc2136_tsig_placement_ok(const uint8_t *wire, size_t len)
{
	size_t off = 12, rrs;

	if (len < 12)
		return false;
	rrs = (size_t)rd16(wire + 6) + rd16(wire + 8) + rd16(wire + 10);
	for (unsigned q = rd16(wire + 4); q > 0; q--) {
		if (!skip_name(wire, len, &off) || len - off < 4)
			return false;
		off += 4;
	}
	for (size_t i = 0; i < rrs; i++) {
		if (!skip_name(wire, len, &off) || len - off < 10)
			return false;
		uint16_t type = rd16(wire + off);
		size_t rdlen = rd16(wire + off + 8);
		off += 10;
		if (len - off < rdlen)
			return false;
		off += rdlen;
		if (type == LDNS_RR_TYPE_TSIG && i + 1 != rrs)
			return false;
	}
	return true;
}

enum txt_status txt_rfc2136_answer(const uint8_t *wire, size_t len,
                                   const struct txt_rfc2136_req *req,
                                   char *msg, size_t msglen)
{
	enum txt_status rc = TXT_TRANSIENT;
	ldns_pkt *answer = NULL;
	int rcode, terr;

	if (!wire || len > LDNS_MAX_PACKETLEN || !txt_rfc2136_tsig_placement_ok(wire, len) ||
	    ldns_wire2pkt(&answer, wire, len) != LDNS_STATUS_OK) {
		snprintf(msg, msglen, "rfc2136: %s: malformed answer", req->server);
		goto out;
	}
	/* ldns does not check that the datagram answers our update: a stray
	 * or forged one is no verdict */
	if (!ldns_pkt_qr(answer) || ldns_pkt_id(answer) != req->id ||
	    ldns_pkt_get_opcode(answer) != LDNS_PACKET_UPDATE) {
		snprintf(msg, msglen, "rfc2136: %s: the answer is not a response to "
		         "our update", req->server);
		goto out;
	}
	terr = tsig_error(answer);
	if (ldns_pkt_get_rcode(answer) == LDNS_RCODE_NOTAUTH || terr) {
		const char *why = tsig_error_str(terr);
		rc = TXT_PERMANENT;
		snprintf(msg, msglen, "rfc2136: %s answered NOTAUTH%s%s for zone "
		         "%s with key %s", req->server, why ? ": " : "",
		         why ? why : " (not authoritative, or TSIG refused)",
		         req->zone, req->key_label);
		goto out;
	}
	if (!tsig_verifies(answer, wire, len, req)) {
		rc = TXT_PERMANENT;
		snprintf(msg, msglen, "rfc2136: %s: the answer's TSIG signature "
		         "does not verify with key %s (%s): the secret, key name or "
		         "algorithm is wrong, or the answer is not the server's",
		         req->server, req->key_label, req->algorithm);
		goto out;
	}
	rcode = ldns_pkt_get_rcode(answer);
	switch (rcode) {
	case LDNS_RCODE_NOERROR:
		rc = TXT_OK;
		break;
	case LDNS_RCODE_REFUSED:
		rc = TXT_PERMANENT;
		snprintf(msg, msglen, "rfc2136: %s REFUSED the update of %s TXT "
		         "(the key %s may not update this name, or the zone %s is "
		         "not dynamic there)", req->server, req->name, req->key_label,
		         req->zone);
		break;
	case LDNS_RCODE_NOTZONE:
		rc = TXT_PERMANENT;
		snprintf(msg, msglen, "rfc2136: %s is not in zone %s (NOTZONE)",
		         req->name, req->zone);
		break;
	case LDNS_RCODE_SERVFAIL:
		snprintf(msg, msglen, "rfc2136: %s SERVFAIL", req->server);
		break;
	default:
		rc = TXT_PERMANENT;
		snprintf(msg, msglen, "rfc2136: %s answered rcode %d", req->server,
		         rcode);
		break;
	}
out:
	ldns_pkt_free(answer);
	return rc;
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

/* Sends the update Q to the server, over UDP, TRIES times at most, and
 * again over TCP when the answer is truncated; *ANS (LDNS_FREE) gets the
 * answer's octets. */
static ldns_status send_update(const struct rfc2136 *p, ldns_buffer *q,
                               uint8_t **ans, size_t *alen)
{
	const struct txt_provider_opts *o = &p->base.o;
	struct sockaddr_storage *ss = NULL;
	size_t sslen = 0;
	ldns_status st = LDNS_STATUS_ERR;
	struct timeval tv;
	int tries = o->tries;
	long long per_try = o->timeout_ms;
	long long left = deadline_left(p->base.deadline, per_try * tries);
	ldns_rdf *ns = ldns_rdf_new_frm_str(strchr(p->addr, ':') ? LDNS_RDF_TYPE_AAAA :
	                                    LDNS_RDF_TYPE_A, p->addr);

	*ans = NULL;
	*alen = 0;
	if (left < per_try * tries) {
		/* what is left of the job's deadline, in as many whole tries as
		 * fit (at least one, cut short) */
		if (per_try > left)
			per_try = left > 0 ? left : 1;
		tries = (int)(left / per_try);
		if (tries < 1)
			tries = 1;
	}
	tv.tv_sec = (time_t)(per_try / 1000);
	tv.tv_usec = (suseconds_t)(per_try % 1000) * 1000;
	if (ns)
		ss = ldns_rdf2native_sockaddr_storage(ns, (uint16_t)p->port, &sslen);
	if (!ss)
		goto out;
	for (int t = 0; t < tries && st != LDNS_STATUS_OK &&
	     (t == 0 || deadline_left(p->base.deadline, 1) > 0); t++)
		st = ldns_udp_send(ans, q, ss, (socklen_t)sslen, tv, alen);
	if (st == LDNS_STATUS_OK && *alen >= 3 && ((*ans)[2] & 0x02)) {
		LDNS_FREE(*ans);
		*ans = NULL;
		st = LDNS_STATUS_ERR;
		for (int t = 0; t < tries && st != LDNS_STATUS_OK &&
		     deadline_left(p->base.deadline, 1) > 0; t++)
			st = ldns_tcp_send(ans, q, ss, (socklen_t)sslen, tv, alen);
	}
out:
	LDNS_FREE(ss);
	ldns_rdf_deep_free(ns);
	return st;
}

/* Sends one update of NAME/VALUE (add when ADD) and classifies the answer. */
static enum txt_status update(struct rfc2136 *p, const char *name,
                              const char *value, bool add, char *msg,
                              size_t msglen)
{
	const struct txt_provider_opts *o = &p->base.o;
	enum txt_status rc = TXT_TRANSIENT;
	ldns_rr_list *up = NULL;
	ldns_rr *rr = NULL;
	ldns_pkt *pkt = NULL;
	ldns_rdf *zone = NULL;
	ldns_buffer *q = NULL;
	uint8_t *ans = NULL;
	size_t alen = 0;
	ldns_status st;
	char server[DNS_ADDR_MAX + 8];

	snprintf(server, sizeof(server), "%s:%d", p->addr, p->port);
	if (deadline_left(p->base.deadline, 1) <= 0) {
		snprintf(msg, msglen, "rfc2136: not sent to %s: the job's deadline "
		         "had passed", server);
		goto out;
	}
	up = ldns_rr_list_new();
	zone = ldns_dname_new_frm_str(o->zone);
	rr = txt_rr(name, value, add ? LDNS_RR_CLASS_IN : LDNS_RR_CLASS_NONE,
	            add ? (uint32_t)o->ttl : 0);
	q = ldns_buffer_new(LDNS_MAX_PACKETLEN);
	if (!up || !zone || !rr || !q) {
		snprintf(msg, msglen, "rfc2136: cannot build the update");
		goto out;
	}
	ldns_rr_list_push_rr(up, rr);
	rr = NULL;
	pkt = ldns_update_pkt_new(zone, LDNS_RR_CLASS_IN, NULL, up, NULL);
	zone = NULL; /* owned by pkt now */
	if (!pkt) {
		snprintf(msg, msglen, "rfc2136: cannot build the update");
		goto out;
	}
	ldns_pkt_set_random_id(pkt);
	/* fudge 300 s, as RFC 8945 section 10 recommends */
	st = ldns_pkt_tsig_sign(pkt, p->key_name, o->secret, 300, p->alg, NULL);
	if (st != LDNS_STATUS_OK) {
		rc = TXT_PERMANENT;
		snprintf(msg, msglen, "rfc2136: cannot sign with key %s (%s): %s",
		         o->key_name, o->algorithm, ldns_get_errorstr_by_id(st));
		goto out;
	}
	if (ldns_pkt2buffer_wire(q, pkt) != LDNS_STATUS_OK) {
		snprintf(msg, msglen, "rfc2136: cannot build the update");
		goto out;
	}
	st = send_update(p, q, &ans, &alen);
	if (st != LDNS_STATUS_OK || !ans) {
		snprintf(msg, msglen, "rfc2136: %s: %s%s", server,
		         deadline_left(p->base.deadline, 1) <= 0
		         ? "no answer by the job's deadline: " : "",
		         ldns_get_errorstr_by_id(st));
		goto out;
	}
	const ldns_rdf *mac = ldns_rr_rdf(ldns_pkt_tsig(pkt), 3);
	const struct txt_rfc2136_req req = {
		.id = ldns_pkt_id(pkt),
		.mac = mac ? ldns_rdf_data(mac) : NULL,
		.mac_len = mac ? ldns_rdf_size(mac) : 0,
		.key_name = p->key_name,
		.key_label = o->key_name,
		.algorithm = o->algorithm,
		.secret = o->secret,
		.server = server,
		.zone = o->zone,
		.name = name,
	};
	rc = txt_rfc2136_answer(ans, alen, &req, msg, msglen);
out:
	LDNS_FREE(ans);
	ldns_buffer_free(q);
	ldns_pkt_free(pkt);
	ldns_rr_list_deep_free(up);
	ldns_rr_free(rr);
	ldns_rdf_deep_free(zone);
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
