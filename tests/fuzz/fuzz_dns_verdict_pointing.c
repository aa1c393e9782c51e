/*
 * fuzz_dns_verdict_pointing: the pointing verdict (dns_verdict.h) over
 * arbitrary DNS messages, as answers to A and AAAA in turn, and the
 * conclusion.
 *
 * Needs: dns_verdict.c, dns.c, dname.c, cfg.c, log.c (the dcv_dns and
 * dcv_core libraries; OpenSSL's libcrypto, libyaml).  In CMake:
 *   dcv_fuzz_target(dns_verdict_pointing LIBS dcv_dns)
 * By hand, from the repository root:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Icommon -Itests/fuzz \
 *     tests/fuzz/fuzz_dns_verdict_pointing.c common/dns_verdict.c \
 *     common/dns.c common/dname.c common/cfg.c common/log.c -lcrypto -lyaml \
 *     -o fuzz_dns_verdict_pointing
 *   ./fuzz_dns_verdict_pointing tests/fuzz/corpus/dns_verdict_pointing
 * Seeds: tests/fuzz/make_dns_verdict_corpus.py.
 *
 * Input (dns_verdict_fuzz.h): flags, then length-prefixed messages, the
 * first read as the answer to A, the next to AAAA, and so on (bit 0 of the
 * flags swaps them; bit 1 asks a type that is neither).  The provider's
 * ranges are 203.0.113.0/24 and 2001:db8:cafe::/48, its suffix
 * *.cdn.example.net.
 */
#include "dns_verdict_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dvf_input in;
	static struct dns_opts o;
	static struct dns_verdict_check c;
	static struct dns_check_result r;
	static struct dns_msg m;

	dvf_start(data, size, DNS_KIND_POINTING, &in, &o, &c, &r);

	for (int i = 0; i < in.n && r.n_vantage < DNS_MAX_VANTAGE; i++) {
		struct dns_vantage *dv = &r.vantage[r.n_vantage++];
		int type = ((i + (in.flags & 1)) % 2) ? DNS_T_AAAA : DNS_T_A;
		bool pointing;
		if (in.flags & 2)
			type = DNS_T_TXT;
		snprintf(dv->server, sizeof dv->server, "resolvers %d", i);
		dv->outcome = DNS_NETERR;
		if (!dvf_parse(&in, i, &m))
			continue;
		pointing = dns_verdict_pointing(&c, type, &m, dv);
		dvf_vantage_ok(dv);
		DVF_CHECK(pointing == (dv->outcome == DNS_MATCH));
		DVF_CHECK(!pointing || type != DNS_T_TXT || m.n_an > 0);
	}
	if (r.n_vantage > 0) {
		dvf_conclude(&c, &r);
		DVF_CHECK(r.pointing == (r.status == DNS_CHECK_OK));
	}
	return 0;
}
