/*
 * fuzz_dns_verdict_delegation: the delegation verdict (dns_verdict.h) over
 * arbitrary DNS messages, with the CNAME chain followed hop by hop as the
 * engine does, and the conclusion over up to 8 vantages.
 *
 * Needs: dns_verdict.c, dns.c, dname.c, cfg.c, log.c (the dcv_dns and
 * dcv_core libraries; OpenSSL's libcrypto, libyaml).  In CMake:
 *   dcv_fuzz_target(dns_verdict_delegation LIBS dcv_dns)
 * By hand, from the repository root:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Icommon -Itests/fuzz \
 *     tests/fuzz/fuzz_dns_verdict_delegation.c common/dns_verdict.c \
 *     common/dns.c common/dname.c common/cfg.c common/log.c -lcrypto -lyaml \
 *     -o fuzz_dns_verdict_delegation
 *   ./fuzz_dns_verdict_delegation tests/fuzz/corpus/dns_verdict_delegation
 * Seeds: tests/fuzz/make_dns_verdict_corpus.py.
 *
 * Input (dns_verdict_fuzz.h): flags, then length-prefixed messages.  Flags:
 * bit 0 the answers come from an authoritative server (else a resolver);
 * bit 1 the target is the last CNAME target of the first message (so that
 * chains can match); bit 2 the zone is the owner of the first authority
 * record (else the question's parent); bit 3 one confirmation before;
 * bits 5-7 dns.max_cname_depth - 1.  Each vantage reads messages until its
 * verdict is decided: the first answers the question, the next ones its
 * chain's hops.
 */
#include "dns_verdict_fuzz.h"

static void pick_want(const struct dvf_input *in, struct dns_verdict_check *c)
{
	static struct dns_msg m;

	snprintf(c->want, sizeof c->want, "t.validation.test");
	if (!(in->flags & 2) || !dvf_parse(in, 0, &m))
		return;
	for (int i = 0; i < m.n_an; i++)
		if (m.an[i].type == DNS_T_CNAME)
			snprintf(c->want, sizeof c->want, "%s", m.an[i].u.name);
}

static void pick_zone(const struct dvf_input *in, struct dns_verdict_check *c)
{
	static struct dns_msg m;
	const char *dot = strchr(c->qname, '.');

	snprintf(c->zone, sizeof c->zone, "%s", dot ? dot + 1 : "");
	if ((in->flags & 4) && dvf_parse(in, 0, &m) && m.n_ns > 0)
		snprintf(c->zone, sizeof c->zone, "%s", m.ns[0].owner);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dvf_input in;
	static struct dns_opts o;
	static struct dns_verdict_check c;
	static struct dns_check_result r;
	static struct dns_msg m;
	char asked[DNAME_MAX + 1], next[DNAME_MAX + 1];
	bool auth;
	int at = 0;

	dvf_start(data, size, DNS_KIND_DELEGATION, &in, &o, &c, &r);
	c.prev = (in.flags & 8) ? 1 : 0;
	pick_want(&in, &c);
	pick_zone(&in, &c);
	auth = in.flags & 1;

	while (at < in.n && r.n_vantage < 8) {
		struct dns_vantage *dv = &r.vantage[r.n_vantage++];
		struct dns_hops h;
		int rounds = 0;

		memset(&h, 0, sizeof h);
		snprintf(dv->server, sizeof dv->server, "auth fuzz-%d", r.n_vantage);
		dv->outcome = DNS_NETERR;
		snprintf(asked, sizeof asked, "%s", c.qname);
		for (;;) {
			bool follow;
			if (!dvf_parse(&in, at++, &m)) {
				dv->outcome = DNS_NETERR; /* no usable message */
				break;
			}
			next[0] = '\0';
			/* a hop answer is read as an authoritative one */
			follow = dns_verdict_delegation(&c, asked, auth || rounds > 0,
			                                &m, &h, dv, next);
			dvf_vantage_ok(dv);
#ifdef DVF_DEBUG
			fprintf(stderr, "zone %s want %s asked %s -> %s %s\n", c.zone,
			        c.want, asked, dns_outcome_str(dv->outcome),
			        follow ? next : "(decided)");
#endif
			if (!follow)
				break;
			DVF_CHECK(next[0] && strlen(next) <= DNAME_MAX);
			DVF_CHECK(++rounds <= o.max_cname_depth);
			memcpy(asked, next, sizeof asked);
			if (at >= in.n) {
				dv->outcome = DNS_TIMEOUT; /* the hop got no answer */
				break;
			}
		}
	}
	if (r.n_vantage > 0)
		dvf_conclude(&c, &r);
	return 0;
}
