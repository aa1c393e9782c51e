/*
 * dns_verdict_fuzz: what the three DNS verdict harnesses
 * (fuzz_dns_verdict_{delegation,propagation,pointing}.c) share.
 *
 * An input is one flags byte and then up to DVF_MAX_MSGS DNS messages, each
 * prefixed by its length (two bytes, big-endian; a length past the end
 * takes what is left).  Each message is parsed by dns_msg_parse() as the
 * engine would; one the parser refuses stands for a vantage that gave no
 * usable answer.  The check's question is the first message's own
 * question (else a fixed name), so that the fuzzer controls whether the
 * records are about it.  The flags choose the rest (see each harness).
 *
 * After the verdicts, the harness concludes over the vantages and checks
 * the invariants every caller relies on: outcomes and statuses in range,
 * "seen" and "detail" NUL-terminated and printable ASCII (they go into log
 * lines and events), "bad" a vantage or -1, a followed chain never longer
 * than dns.max_cname_depth.
 */
#ifndef DCV_DNS_VERDICT_FUZZ_H
#define DCV_DNS_VERDICT_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "dns_verdict.h"

#define DVF_MAX_MSGS 16
#define DVF_DEFAULT_QNAME "_acme-challenge.www.example.com"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DVF_CHECK(cond)                                                       \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "%s:%d: invariant broken: %s\n",      \
			        __FILE__, __LINE__, #cond);                   \
			abort();                                              \
		}                                                             \
	} while (0)

/* The input cut into messages. */
struct dvf_input {
	uint8_t flags;
	const uint8_t *msg[DVF_MAX_MSGS];
	size_t len[DVF_MAX_MSGS];
	int n;
};

static inline void dvf_split(const uint8_t *data, size_t size,
                             struct dvf_input *in)
{
	size_t off = 1;

	memset(in, 0, sizeof *in);
	if (size == 0)
		return;
	in->flags = data[0];
	while (off + 2 <= size && in->n < DVF_MAX_MSGS) {
		size_t l = (size_t)data[off] << 8 | data[off + 1];
		off += 2;
		if (l > size - off)
			l = size - off;
		in->msg[in->n] = data + off;
		in->len[in->n++] = l;
		off += l;
	}
}

/* Parses message I into M; false when the engine would have no message. */
static inline bool dvf_parse(const struct dvf_input *in, int i,
                             struct dns_msg *m)
{
	return i < in->n && dns_msg_parse(in->msg[i], in->len[i], m) ==
	                    DNS_PARSE_OK;
}

/* The check's question: the first message's own, when it is a name. */
static inline void dvf_qname(const struct dvf_input *in, char *out)
{
	static struct dns_msg m;

	snprintf(out, DNAME_MAX + 1, "%s", DVF_DEFAULT_QNAME);
	if (dvf_parse(in, 0, &m) && m.qname[0])
		snprintf(out, DNAME_MAX + 1, "%s", m.qname);
}

static inline bool dvf_is_printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s >= 0x7f)
			return false;
	return true;
}

static inline void dvf_printable(const char *s, size_t cap)
{
	size_t l = strnlen(s, cap);
	DVF_CHECK(l < cap);
	for (size_t i = 0; i < l; i++)
		DVF_CHECK(s[i] >= 0x20 && s[i] < 0x7f);
}

static inline void dvf_vantage_ok(const struct dns_vantage *v)
{
	DVF_CHECK((unsigned)v->outcome <= DNS_DEADLINE);
	dvf_printable(v->seen, sizeof v->seen);
}

/* Options the harnesses share: a depth from the flags' top bits (1..8),
 * the provider ranges and suffix of the pointing check. */
static inline void dvf_opts(struct dns_opts *o, uint8_t flags)
{
	dns_opts_default(o);
	o->max_cname_depth = 1 + (flags >> 5);
	dns_parse_cidr("203.0.113.0/24", &o->ranges[0]);
	dns_parse_cidr("2001:db8:cafe::/48", &o->ranges[1]);
	o->n_ranges = 2;
	snprintf(o->suffixes[0], sizeof o->suffixes[0], "cdn.example.net");
	o->n_suffixes = 1;
}

/* The start of every harness: IN from the input, O from its flags, C a
 * check of KIND asking the first message's question, R with no vantage. */
static inline void dvf_start(const uint8_t *data, size_t size,
                             enum dns_check_kind kind, struct dvf_input *in,
                             struct dns_opts *o, struct dns_verdict_check *c,
                             struct dns_check_result *r)
{
	dvf_split(data, size, in);
	dvf_opts(o, in->flags);
	memset(c, 0, sizeof *c);
	c->kind = kind;
	c->o = o;
	dvf_qname(in, c->qname);
	snprintf(c->domain, sizeof c->domain, "%s", c->qname);
	memset(r, 0, sizeof *r);
	r->bad = -1;
}

/* Concludes over R's vantages and checks the result. */
static inline void dvf_conclude(const struct dns_verdict_check *c,
                                struct dns_check_result *r)
{
	dns_verdict_conclude(c, false, r);
	DVF_CHECK((unsigned)r->status <= DNS_CHECK_ERROR);
	DVF_CHECK(r->bad >= -1 && r->bad < r->n_vantage);
	DVF_CHECK(r->confirmations >= 0 && r->confirmations <= c->prev + 1);
	DVF_CHECK(r->status != DNS_CHECK_OK || r->bad == -1);
	dvf_printable(r->detail, sizeof r->detail);
	for (int i = 0; i < r->n_vantage; i++)
		dvf_vantage_ok(&r->vantage[i]);
#ifdef DVF_DEBUG /* -DDVF_DEBUG: what each input concluded, on stderr */
	fprintf(stderr, "%s: %s\n", dns_check_strerror(r->status), r->detail);
	for (int i = 0; i < r->n_vantage; i++)
		fprintf(stderr, "  %s: %s\n", dns_outcome_str(r->vantage[i].outcome),
		        r->vantage[i].seen);
#endif
}

#endif
