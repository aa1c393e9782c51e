/*
 * fuzz_dns_verdict_propagation: the propagation verdict (dns_verdict.h)
 * over arbitrary DNS messages, one vantage per message, and the conclusion.
 *
 * Needs: dns_verdict.c, dns.c, dname.c, cfg.c, log.c (the dcv_dns and
 * dcv_core libraries; OpenSSL's libcrypto, libyaml).  In CMake:
 *   dcv_fuzz_target(dns_verdict_propagation LIBS dcv_dns)
 * By hand, from the repository root:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Icommon -Itests/fuzz \
 *     tests/fuzz/fuzz_dns_verdict_propagation.c common/dns_verdict.c \
 *     common/dns.c common/dname.c common/cfg.c common/log.c -lcrypto -lyaml \
 *     -o fuzz_dns_verdict_propagation
 *   ./fuzz_dns_verdict_propagation tests/fuzz/corpus/dns_verdict_propagation
 * Seeds: tests/fuzz/make_dns_verdict_corpus.py.
 *
 * Input (dns_verdict_fuzz.h): flags, then length-prefixed messages.  Flags:
 * bit 0 the answers come from authoritative servers (which must set AA);
 * bit 1 the value looked for is the first TXT text of the first message
 * (so that values can match), else "tok"; bit 2 the zone is the question's
 * parent, else "validation.test".
 */
#include "dns_verdict_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dvf_input in;
	static struct dns_opts o;
	static struct dns_verdict_check c;
	static struct dns_check_result r;
	static struct dns_msg m;

	dvf_start(data, size, DNS_KIND_PROPAGATION, &in, &o, &c, &r);
	snprintf(c.want, sizeof c.want, "tok");
	/* dns_propagation_start() takes printable values only */
	if ((in.flags & 2) && dvf_parse(&in, 0, &m))
		for (int i = m.n_an - 1; i >= 0; i--)
			if (m.an[i].type == DNS_T_TXT &&
			    dvf_is_printable(m.an[i].u.txt.text))
				snprintf(c.want, sizeof c.want, "%s", m.an[i].u.txt.text);
	snprintf(c.zone, sizeof c.zone, "validation.test");
	if (in.flags & 4) {
		const char *dot = strchr(c.qname, '.');
		snprintf(c.zone, sizeof c.zone, "%s", dot ? dot + 1 : "");
	}

	for (int i = 0; i < in.n && r.n_vantage < DNS_MAX_VANTAGE; i++) {
		struct dns_vantage *dv = &r.vantage[r.n_vantage++];
		snprintf(dv->server, sizeof dv->server, "auth fuzz-%d", i);
		dv->outcome = DNS_NETERR;
		if (!dvf_parse(&in, i, &m))
			continue;
		dns_verdict_propagation(&c, in.flags & 1, &m, dv);
		dvf_vantage_ok(dv);
		DVF_CHECK(dv->outcome != DNS_MATCH ||
		          strcmp(dv->seen, c.want) == 0);
	}
	if (r.n_vantage > 0)
		dvf_conclude(&c, &r);
	return 0;
}
