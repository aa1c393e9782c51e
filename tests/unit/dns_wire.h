/* Building DNS messages by hand for the parser tests (test_dns_parse.c,
 * test_caa.c): append octets, 16/32-bit big-endian numbers and names. */
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

#endif
