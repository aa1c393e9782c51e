/* Building DNS messages by hand for the parser and verdict tests
 * (test_dns_parse.c, test_dns_verdict.c, test_caa.c): append octets,
 * 16/32-bit big-endian numbers, names, a header, a question and records.
 * No bounds checks: a test writes far less than DNS_MAX_ANSWER. */
#ifndef DCV_TEST_DNS_WIRE_H
#define DCV_TEST_DNS_WIRE_H

#include <stdint.h>
#include <string.h>

#include "dns.h"

struct wire {
	uint8_t b[DNS_MAX_ANSWER + 64];
	size_t n;
};

static inline void put8(struct wire *w, unsigned v) { w->b[w->n++] = (uint8_t)v; }
static inline void put16(struct wire *w, unsigned v) { put8(w, v >> 8); put8(w, v & 0xff); }

static inline void put32(struct wire *w, unsigned long v)
{
	put16(w, (unsigned)(v >> 16));
	put16(w, (unsigned)(v & 0xffff));
}

/* NAME as uncompressed labels ("a.b" -> 1 a 1 b 0). */
static inline void putname(struct wire *w, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);
		put8(w, (unsigned)l);
		memcpy(w->b + w->n, name, l);
		w->n += l;
		name += l + (dot ? 1 : 0);
	}
	put8(w, 0);
}

/* A response header: id 0x1234, QR (and AA when AA), RCODE, the counts. */
static inline void wire_header(struct wire *w, int rcode, int aa, int qd,
                               int an, int ns)
{
	w->n = 0;
	put16(w, 0x1234);
	put8(w, 0x80 | (aa ? 0x04 : 0));
	put8(w, (unsigned)rcode);
	put16(w, (unsigned)qd);
	put16(w, (unsigned)an);
	put16(w, (unsigned)ns);
	put16(w, 0);
}

/* The question NAME TYPE IN. */
static inline void wire_question(struct wire *w, const char *name, int type)
{
	putname(w, name);
	put16(w, (unsigned)type);
	put16(w, 1);
}

/* Writes the RDLENGTH of an RR whose RDATA began at START. */
static inline void wire_rdlen(struct wire *w, size_t start)
{
	w->b[start - 2] = (uint8_t)((w->n - start) >> 8);
	w->b[start - 1] = (uint8_t)((w->n - start) & 0xff);
}

/* Owner, type, class IN, TTL and a zero RDLENGTH; returns where the RDATA
 * starts (for wire_rdlen). */
static inline size_t wire_rr_head(struct wire *w, const char *owner, int type)
{
	putname(w, owner);
	put16(w, (unsigned)type);
	put16(w, 1);
	put32(w, 300);
	put16(w, 0);
	return w->n;
}

/* A record whose RDATA is one name: CNAME, NS, or the start of an SOA. */
static inline void wire_rr_name(struct wire *w, const char *owner, int type,
                                const char *target)
{
	size_t start = wire_rr_head(w, owner, type);
	putname(w, target);
	wire_rdlen(w, start);
}

/* A TXT record of one character-string of LEN octets (at most 255). */
static inline void wire_rr_txtn(struct wire *w, const char *owner,
                                const char *text, size_t len)
{
	size_t start = wire_rr_head(w, owner, DNS_T_TXT);
	put8(w, (unsigned)len);
	memcpy(w->b + w->n, text, len);
	w->n += len;
	wire_rdlen(w, start);
}

static inline void wire_rr_txt(struct wire *w, const char *owner,
                               const char *text)
{
	wire_rr_txtn(w, owner, text, strlen(text));
}

/* An A (4 octets) or AAAA (16) record. */
static inline void wire_rr_addr(struct wire *w, const char *owner, int type,
                                const uint8_t *addr)
{
	size_t start = wire_rr_head(w, owner, type);
	size_t l = type == DNS_T_A ? 4 : 16;
	memcpy(w->b + w->n, addr, l);
	w->n += l;
	wire_rdlen(w, start);
}

#endif
