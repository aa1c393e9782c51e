/*
 * fuzz_dns_msg: the DNS answer parser (common/dns.c): dns_msg_parse(), the
 * CNAME chain walk dns_msg_chain() and the name decoder dns_wire_name().
 *
 * The input is one DNS message as a server sends it: every customer
 * controls the authoritative servers verify-cname and offboard-check ask.
 * Checked beyond the sanitizers: the answer is refused over DNS_MAX_ANSWER
 * octets; what is kept stays within DNS_MAX_RR records per section, names
 * within DNAME_MAX, TXT within DNS_MAX_TXT; a chain never has more hops
 * than asked and never repeats a name; a name read leaves the offset
 * inside the message.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns.h"
#include "dns_internal.h"
#include "fuzz.h"

#define CHAIN_MAX 16

static void check_names(const struct dns_rr *rr, int n)
{
	for (int i = 0; i < n; i++) {
		FUZZ_CHECK(strlen(rr[i].owner) <= DNAME_MAX);
		switch (rr[i].type) {
		case DNS_T_CNAME:
		case DNS_T_NS:
		case DNS_T_SOA:
			FUZZ_CHECK(strlen(rr[i].u.name) <= DNAME_MAX);
			FUZZ_CHECK(dns_name_under(rr[i].u.name, rr[i].u.name));
			break;
		case DNS_T_TXT:
			FUZZ_CHECK(strlen(rr[i].u.txt.text) <= DNS_MAX_TXT);
			break;
		case DNS_T_A:
		case DNS_T_AAAA:
			break;
		default:
			FUZZ_CHECK(!"a record of a type the parser does not keep");
		}
	}
}

static void check_chain(const struct dns_msg *m, const char *from)
{
	static char chain[CHAIN_MAX][DNAME_MAX + 1];
	static const int maxes[] = { 0, 1, 8, CHAIN_MAX };

	for (size_t k = 0; k < sizeof(maxes) / sizeof(maxes[0]); k++) {
		int n = dns_msg_chain(m, from, chain, maxes[k]);
		FUZZ_CHECK(n >= -2 && n <= maxes[k]);
		for (int i = 0; i < n; i++) {
			FUZZ_CHECK(strlen(chain[i]) <= DNAME_MAX);
			FUZZ_CHECK(strcasecmp(chain[i], from) != 0);
			for (int j = 0; j < i; j++)
				FUZZ_CHECK(strcasecmp(chain[i], chain[j]) != 0);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dns_msg m;
	char name[DNAME_MAX + 1];
	/* a copy of exactly SIZE octets, so that ASan sees any read past it */
	uint8_t *buf = malloc(size ? size : 1);

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	enum dns_parse_status st = dns_msg_parse(buf, size, &m);
	if (size > DNS_MAX_ANSWER)
		FUZZ_CHECK(st == DNS_PARSE_TOOBIG);
	if (st == DNS_PARSE_OK) {
		FUZZ_CHECK(m.n_an >= 0 && m.n_an <= DNS_MAX_RR);
		FUZZ_CHECK(m.n_ns >= 0 && m.n_ns <= DNS_MAX_RR);
		FUZZ_CHECK(strlen(m.qname) <= DNAME_MAX);
		check_names(m.an, m.n_an);
		check_names(m.ns, m.n_ns);
		check_chain(&m, m.qname);
		if (m.n_an > 0)
			check_chain(&m, m.an[m.n_an - 1].owner);
	}
	/* the name decoder from every offset of the first 512 octets */
	for (size_t start = 0; start < size && start < 512; start++) {
		size_t off = start;
		if (dns_wire_name(buf, size, &off, name) == 0) {
			FUZZ_CHECK(off > start && off <= size);
			FUZZ_CHECK(strlen(name) <= DNAME_MAX);
		}
	}
	free(buf);
	return 0;
}
