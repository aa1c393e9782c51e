/*
 * dns: the pure half of the module: configuration, address and range
 * parsing, name suffix logic and the DNS answer parser.  No I/O here; the
 * c-ares engine is dns_engine.c, the checks over it dns_check.c.
 */
#include "dns.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "cfg.h"
#include "dns_internal.h"

static const char *const outcome_names[] = {
	[DNS_MATCH] = "match",
	[DNS_DIFFERENT] = "different",
	[DNS_NXDOMAIN] = "nxdomain",
	[DNS_NODATA] = "nodata",
	[DNS_NS_DELEGATED] = "ns_delegated",
	[DNS_CNAME_LOOP] = "cname_loop",
	[DNS_CHAIN_TOO_LONG] = "chain_too_long",
	[DNS_TOOBIG] = "too_big",
	[DNS_SERVFAIL] = "servfail",
	[DNS_REFUSED] = "refused",
	[DNS_TIMEOUT] = "timeout",
	[DNS_NETERR] = "neterr",
	[DNS_DEADLINE] = "deadline",
};

const char *dns_outcome_str(enum dns_outcome o)
{
	if ((unsigned)o < sizeof outcome_names / sizeof outcome_names[0])
		return outcome_names[o];
	return "unknown";
}

bool dns_outcome_transient(enum dns_outcome o)
{
	return o == DNS_SERVFAIL || o == DNS_REFUSED || o == DNS_TIMEOUT ||
	       o == DNS_NETERR || o == DNS_DEADLINE;
}

const char *dns_check_strerror(enum dns_check_status s)
{
	switch (s) {
	case DNS_CHECK_OK: return "ok";
	case DNS_CHECK_CONFIRMING: return "confirming";
	case DNS_CHECK_MISMATCH: return "mismatch";
	case DNS_CHECK_TRANSIENT: return "transient";
	case DNS_CHECK_NS_DELEGATED: return "ns_delegated";
	case DNS_CHECK_ERROR: return "error";
	}
	return "unknown";
}

/* ---- addresses, ranges, names ---- */

int dns_parse_hostport(const char *s, int defport, char *addr, int *port)
{
	char host[DNS_ADDR_MAX];
	const char *p = NULL;
	size_t n;
	unsigned char tmp[16];

	if (!s || !*s)
		return -1;
	if (s[0] == '[') {
		const char *e = strchr(s, ']');
		if (!e || (e[1] != '\0' && e[1] != ':'))
			return -1;
		n = (size_t)(e - s - 1);
		if (n >= sizeof host)
			return -1;
		memcpy(host, s + 1, n);
		host[n] = '\0';
		p = e[1] == ':' ? e + 2 : NULL;
	} else {
		const char *c = strchr(s, ':');
		if (c && strchr(c + 1, ':'))
			c = NULL; /* a bare IPv6 address */
		n = c ? (size_t)(c - s) : strlen(s);
		if (n >= sizeof host)
			return -1;
		memcpy(host, s, n);
		host[n] = '\0';
		p = c ? c + 1 : NULL;
	}
	if (inet_pton(AF_INET, host, tmp) != 1 &&
	    inet_pton(AF_INET6, host, tmp) != 1)
		return -1;
	if (p) {
		char *end;
		long v = strtol(p, &end, 10);
		if (!*p || *end || v < 1 || v > 65535)
			return -1;
		*port = (int)v;
	} else {
		*port = defport;
	}
	strcpy(addr, host);
	return 0;
}

int dns_parse_portmap(const char *s, struct dns_portmap *out)
{
	const char *eq = s ? strchr(s, '=') : NULL;
	size_t n;
	char *end;
	long v;

	if (!eq || eq == s)
		return -1;
	n = (size_t)(eq - s);
	if (n > DNAME_MAX)
		return -1;
	memcpy(out->from, s, n);
	out->from[n] = '\0';
	if (n && out->from[n - 1] == '.')
		out->from[n - 1] = '\0';
	for (char *c = out->from; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	v = strtol(eq + 1, &end, 10);
	if (eq[1] && !*end) {
		if (v < 1 || v > 65535)
			return -1;
		out->to[0] = '\0'; /* same address, other port */
		out->port = (int)v;
		return 0;
	}
	return dns_parse_hostport(eq + 1, 53, out->to, &out->port);
}

int dns_parse_cidr(const char *s, struct dns_cidr *out)
{
	char host[DNS_ADDR_MAX];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	int max;

	if (n == 0 || n >= sizeof host)
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	memset(out, 0, sizeof *out);
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return -1;
	}
	out->prefix = max;
	if (slash) {
		char *end;
		long v = strtol(slash + 1, &end, 10);
		if (!slash[1] || *end || v < 0 || v > max)
			return -1;
		out->prefix = (int)v;
	}
	for (int bit = out->prefix; bit < max; bit++)
		out->addr[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
	return 0;
}

bool dns_cidr_contains(const struct dns_cidr *r, int family,
                       const uint8_t *addr)
{
	int full, rest;

	if (r->family != family)
		return false;
	full = r->prefix / 8;
	rest = r->prefix % 8;
	if (memcmp(r->addr, addr, (size_t)full) != 0)
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xffu << (8 - rest));
		if ((addr[full] & mask) != r->addr[full])
			return false;
	}
	return true;
}

/* Ranges of nameserver addresses never queried (see dns.h): not routable
 * on the public Internet, so a customer naming one could only make us send
 * packets into our own networks, or wait for a timeout. */
static const struct special {
	struct dns_cidr r;
	const char *why;
} specials[] = {
	{ { AF_INET, { 0 }, 8 }, "\"this network\" (0.0.0.0/8)" },
	{ { AF_INET, { 10 }, 8 }, "private (RFC 1918)" },
	{ { AF_INET, { 100, 64 }, 10 }, "shared address space (RFC 6598)" },
	{ { AF_INET, { 127 }, 8 }, "loopback" },
	{ { AF_INET, { 169, 254 }, 16 }, "link-local" },
	{ { AF_INET, { 172, 16 }, 12 }, "private (RFC 1918)" },
	{ { AF_INET, { 192, 0, 0 }, 24 }, "IETF protocol assignments" },
	{ { AF_INET, { 192, 0, 2 }, 24 }, "documentation (TEST-NET-1)" },
	{ { AF_INET, { 192, 88, 99 }, 24 }, "6to4 relay anycast (deprecated)" },
	{ { AF_INET, { 192, 168 }, 16 }, "private (RFC 1918)" },
	{ { AF_INET, { 198, 18 }, 15 }, "benchmarking (RFC 2544)" },
	{ { AF_INET, { 198, 51, 100 }, 24 }, "documentation (TEST-NET-2)" },
	{ { AF_INET, { 203, 0, 113 }, 24 }, "documentation (TEST-NET-3)" },
	{ { AF_INET, { 224 }, 4 }, "multicast" },
	{ { AF_INET, { 240 }, 4 }, "reserved or broadcast (240.0.0.0/4)" },
	{ { AF_INET6, { 0 }, 128 }, "unspecified" },
	{ { AF_INET6, { [15] = 1 }, 128 }, "loopback" },
	{ { AF_INET6, { 0 }, 96 }, "IPv4-compatible (deprecated)" },
	{ { AF_INET6, { 0, 0x64, 0xff, 0x9b, 0, 1 }, 48 }, "NAT64 local use" },
	{ { AF_INET6, { 1 }, 64 }, "discard only (RFC 6666)" },
	{ { AF_INET6, { 0x20, 0x01, 0x0d, 0xb8 }, 32 }, "documentation" },
	{ { AF_INET6, { 0x3f, 0xff }, 20 }, "documentation" },
	{ { AF_INET6, { 0xfc }, 7 }, "unique local (fc00::/7)" },
	{ { AF_INET6, { 0xfe, 0x80 }, 10 }, "link-local" },
	{ { AF_INET6, { 0xfe, 0xc0 }, 10 }, "site-local (deprecated)" },
	{ { AF_INET6, { 0xff }, 8 }, "multicast" },
};

/* IPv6 forms that carry an IPv4 address, and where it is. */
static const struct { struct dns_cidr r; int at; } carriers[] = {
	{ { AF_INET6, { [10] = 0xff, [11] = 0xff }, 96 }, 12 }, /* mapped */
	{ { AF_INET6, { 0, 0x64, 0xff, 0x9b }, 96 }, 12 },       /* NAT64 */
	{ { AF_INET6, { 0x20, 0x02 }, 16 }, 2 },                /* 6to4 */
};

static bool allowed(const struct dns_opts *o, int family, const uint8_t *a)
{
	for (int i = 0; i < o->n_allowed_ns; i++)
		if (dns_cidr_contains(&o->allowed_ns[i], family, a))
			return true;
	return false;
}

static const char *special(int family, const uint8_t *a)
{
	for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++)
		if (dns_cidr_contains(&specials[i].r, family, a))
			return specials[i].why;
	return NULL;
}

const char *dns_ns_addr_refused(const struct dns_opts *o, int family,
                                const uint8_t *addr)
{
	const char *why;

	if (family != AF_INET && family != AF_INET6)
		return "not an IP address";
	if (allowed(o, family, addr))
		return NULL;
	why = special(family, addr);
	if (why || family != AF_INET6)
		return why;
	for (size_t i = 0; i < sizeof carriers / sizeof carriers[0]; i++) {
		const uint8_t *v4 = addr + carriers[i].at;
		if (!dns_cidr_contains(&carriers[i].r, AF_INET6, addr))
			continue;
		if (allowed(o, AF_INET, v4))
			return NULL;
		why = special(AF_INET, v4);
		if (why)
			return why;
	}
	return NULL;
}

bool dns_name_under(const char *name, const char *zone)
{
	size_t ln = strlen(name), lz = strlen(zone);

	if (lz == 0)
		return true; /* the root */
	if (ln < lz || strcasecmp(name + ln - lz, zone) != 0)
		return false;
	return ln == lz || name[ln - lz - 1] == '.';
}

bool dns_suffix_match(const char *name, const char *suffix)
{
	if (suffix[0] == '*' && suffix[1] == '.') {
		size_t ln = strlen(name), ls = strlen(suffix + 2);
		return ln > ls && dns_name_under(name, suffix + 2);
	}
	return dns_name_under(name, suffix);
}

/* ---- configuration ---- */

void dns_opts_default(struct dns_opts *o)
{
	memset(o, 0, sizeof *o);
	strcpy(o->resolvers[0], "127.0.0.1:53");
	o->n_resolvers = 1;
	o->timeout_ms = 2000;
	o->tries = 2;
	o->max_cname_depth = 8;
	o->confirmations = 2;
	o->confirmation_interval_ms = 30000;
	o->ns_port = 53;
	o->ns_cache_ms = 60000;
	o->max_ns_names = 10;
	o->max_ns_addrs = 16;
}

/* dns.resolvers into O (the default kept when the list is absent);
 * -1 when an entry is bad. */
static int load_resolvers(struct cfg *c, struct dns_opts *o)
{
	int rc = 0;
	size_t n = cfg_list_len(c, "dns.resolvers");

	if (n > DNS_MAX_RESOLVERS) {
		cfg_fail(c, "dns.resolvers", "at most %d resolvers",
		         DNS_MAX_RESOLVERS);
		rc = -1;
		n = 0;
	}
	if (n)
		o->n_resolvers = 0;
	for (size_t i = 0; i < n; i++) {
		const char *s = cfg_list_str(c, "dns.resolvers", i);
		char addr[DNS_ADDR_MAX];
		int port;
		if (!s || dns_parse_hostport(s, 53, addr, &port) != 0) {
			cfg_fail(c, "dns.resolvers", "not an address[:port]: %s",
			         s ? s : "");
			rc = -1;
			continue;
		}
		/* addr is at most INET6_ADDRSTRLEN: "[addr]:port" fits */
		if (snprintf(o->resolvers[o->n_resolvers++], DNS_ADDR_MAX,
		             strchr(addr, ':') ? "[%s]:%d" : "%s:%d", addr,
		             port) >= DNS_ADDR_MAX)
			rc = -1;
	}
	return rc;
}

/* The scalar keys of dns: into O, each kept at its default when absent. */
static void load_numbers(struct cfg *c, struct dns_opts *o)
{
	o->timeout_ms = (int)cfg_int(c, "dns.timeout_ms", o->timeout_ms, 10,
	                             60000);
	o->tries = (int)cfg_int(c, "dns.tries", o->tries, 1, 10);
	o->max_cname_depth = (int)cfg_int(c, "dns.max_cname_depth",
	                                  o->max_cname_depth, 1, 16);
	o->confirmations = (int)cfg_int(c, "dns.confirmations",
	                                o->confirmations, 1, 100);
	o->confirmation_interval_ms = (int)cfg_int(c,
		"dns.confirmation_interval_ms", o->confirmation_interval_ms, 0,
		86400000);
	o->ns_port = (int)cfg_int(c, "dns.ns_port", o->ns_port, 1, 65535);
	o->ns_cache_ms = (int)cfg_int(c, "dns.ns_cache_ms", o->ns_cache_ms, 0,
	                              86400000);
	o->propagation_resolvers = cfg_bool(c, "dns.propagation_resolvers",
	                                    false);
	o->max_ns_names = (int)cfg_int(c, "dns.max_ns_names", o->max_ns_names, 1,
	                               DNS_MAX_NS_NAMES);
	o->max_ns_addrs = (int)cfg_int(c, "dns.max_ns_addrs", o->max_ns_addrs, 1,
	                               DNS_MAX_SERVERS);
}

/* dns.allowed_ns_ranges and dns.port_map into O; -1 when an entry is bad. */
static int load_ns_lists(struct cfg *c, struct dns_opts *o)
{
	int rc = 0;
	size_t n = cfg_list_len(c, "dns.allowed_ns_ranges");

	for (size_t i = 0; i < n; i++) {
		const char *s = cfg_list_str(c, "dns.allowed_ns_ranges", i);
		if (o->n_allowed_ns >= DNS_MAX_ALLOWED || !s ||
		    dns_parse_cidr(s, &o->allowed_ns[o->n_allowed_ns]) != 0) {
			cfg_fail(c, "dns.allowed_ns_ranges", "bad CIDR (at most %d): %s",
			         DNS_MAX_ALLOWED, s ? s : "");
			rc = -1;
			continue;
		}
		o->n_allowed_ns++;
	}

	n = cfg_list_len(c, "dns.port_map");
	for (size_t i = 0; i < n; i++) {
		const char *s = cfg_list_str(c, "dns.port_map", i);
		if (o->n_port_map >= DNS_MAX_PORTMAP || !s ||
		    dns_parse_portmap(s, &o->port_map[o->n_port_map]) != 0) {
			cfg_fail(c, "dns.port_map", "bad entry (want from=[addr:]port,"
			         " at most %d): %s", DNS_MAX_PORTMAP, s ? s : "");
			rc = -1;
			continue;
		}
		o->n_port_map++;
	}
	return rc;
}

/* dns.pointing (ip_ranges, host_suffixes) into O; -1 when an entry is
 * bad. */
static int load_pointing(struct cfg *c, struct dns_opts *o)
{
	int rc = 0;
	size_t n = cfg_list_len(c, "dns.pointing.ip_ranges");

	for (size_t i = 0; i < n; i++) {
		const char *s = cfg_list_str(c, "dns.pointing.ip_ranges", i);
		if (o->n_ranges >= DNS_MAX_RANGES || !s ||
		    dns_parse_cidr(s, &o->ranges[o->n_ranges]) != 0) {
			cfg_fail(c, "dns.pointing.ip_ranges", "bad CIDR: %s",
			         s ? s : "");
			rc = -1;
			continue;
		}
		o->n_ranges++;
	}
	n = cfg_list_len(c, "dns.pointing.host_suffixes");
	for (size_t i = 0; i < n; i++) {
		const char *s = cfg_list_str(c, "dns.pointing.host_suffixes", i);
		char norm[DNAME_MAX + 1];
		if (s && s[0] == '*' && s[1] == '.')
			s += 2;
		if (o->n_suffixes >= DNS_MAX_SUFFIXES || !s ||
		    dname_normalize(s, norm, sizeof norm) != NULL) {
			cfg_fail(c, "dns.pointing.host_suffixes", "bad suffix: %s",
			         s ? s : "");
			rc = -1;
			continue;
		}
		snprintf(o->suffixes[o->n_suffixes++], DNAME_MAX + 1, "%s", norm);
	}
	return rc;
}

int dns_cfg_load(struct cfg *c, struct dns_opts *o)
{
	int rc = 0;

	dns_opts_default(o);
	/* in the order the keys were always read: the first known key of
	 * those as close to a misspelt one is the one suggested */
	if (load_resolvers(c, o) < 0)
		rc = -1;
	load_numbers(c, o);
	if (load_ns_lists(c, o) < 0)
		rc = -1;
	if (load_pointing(c, o) < 0)
		rc = -1;
	return rc;
}

/* ---- the answer parser ---- */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* Reads the (possibly compressed) name at *OFF into OUT (lower case,
 * presentation form, no trailing dot, "" for the root) and moves *OFF past
 * it.  Pointers must point strictly backwards, which also bounds the loop.
 * Characters other than letters, digits, '-', '_' and '*' are written as
 * \DDD.  Returns 0 or -1. */
static int read_name(const uint8_t *buf, size_t len, size_t *off, char *out)
{
	size_t pos = *off, o = 0, lim = pos;
	bool jumped = false;
	int total = 0;

	for (;;) {
		uint8_t l;
		if (pos >= len)
			return -1;
		l = buf[pos];
		if ((l & 0xc0) == 0xc0) {
			size_t to;
			if (pos + 1 >= len)
				return -1;
			to = (size_t)((l & 0x3f) << 8 | buf[pos + 1]);
			if (to >= lim)
				return -1; /* forward or self pointer */
			if (!jumped)
				*off = pos + 2;
			jumped = true;
			lim = to;
			pos = to;
			continue;
		}
		if (l & 0xc0)
			return -1;
		pos++;
		if (l == 0)
			break;
		if (pos + l > len)
			return -1;
		total += l + 1;
		if (total > 255)
			return -1;
		if (o)
			out[o++] = '.';
		for (uint8_t i = 0; i < l; i++) {
			unsigned char ch = buf[pos + i];
			if (isalnum(ch) || ch == '-' || ch == '_' || ch == '*') {
				if (o + 1 > DNAME_MAX)
					return -1;
				out[o++] = (char)tolower(ch);
			} else {
				if (o + 4 > DNAME_MAX)
					return -1;
				o += (size_t)sprintf(out + o, "\\%03u", ch);
			}
		}
		pos += l;
	}
	out[o] = '\0';
	if (!jumped)
		*off = pos;
	return 0;
}

/* The decoder above, for dns_caa.c (see dns_internal.h). */
int dns_wire_name(const uint8_t *buf, size_t len, size_t *off, char *out)
{
	return read_name(buf, len, off, out);
}

/* Reads one RR at *OFF; stores it in RR when it is of a type we use (then
 * *KEEP is set).  Returns 0 or -1. */
static int read_rr(const uint8_t *buf, size_t len, size_t *off,
                   struct dns_rr *rr, bool *keep)
{
	size_t p, rdlen, end;

	*keep = false;
	if (read_name(buf, len, off, rr->owner) != 0)
		return -1;
	p = *off;
	if (p + 10 > len)
		return -1;
	rr->type = rd16(buf + p);
	rr->ttl = rd32(buf + p + 4);
	rdlen = rd16(buf + p + 8);
	p += 10;
	end = p + rdlen;
	if (end > len)
		return -1;
	if (rd16(buf + *off + 2) != 1) { /* class IN only */
		*off = end;
		return 0;
	}
	switch (rr->type) {
	case DNS_T_A:
		if (rdlen != 4)
			return -1;
		memcpy(rr->u.addr, buf + p, 4);
		*keep = true;
		break;
	case DNS_T_AAAA:
		if (rdlen != 16)
			return -1;
		memcpy(rr->u.addr, buf + p, 16);
		*keep = true;
		break;
	case DNS_T_CNAME:
	case DNS_T_NS:
	case DNS_T_SOA: {
		size_t q = p;
		if (read_name(buf, end, &q, rr->u.name) != 0)
			return -1;
		if (rr->type != DNS_T_SOA && q != end)
			return -1;
		*keep = true;
		break;
	}
	case DNS_T_TXT: {
		size_t q = p, o = 0;
		rr->u.txt.cut = false;
		while (q < end) {
			size_t sl = buf[q++];
			if (q + sl > end)
				return -1;
			for (size_t i = 0; i < sl; i++) {
				if (o < DNS_MAX_TXT)
					rr->u.txt.text[o++] = (char)buf[q + i];
				else
					rr->u.txt.cut = true;
			}
			q += sl;
		}
		rr->u.txt.text[o] = '\0';
		rr->u.txt.len = (uint16_t)o;
		*keep = true;
		break;
	}
	default:
		break;
	}
	*off = end;
	return 0;
}

enum dns_parse_status dns_msg_parse(const uint8_t *buf, size_t len,
                                    struct dns_msg *out)
{
	size_t off = 12;
	int qd, an, ns;

	if (len > DNS_MAX_ANSWER)
		return DNS_PARSE_TOOBIG;
	if (len < 12)
		return DNS_PARSE_MALFORMED;
	out->id = rd16(buf);
	out->aa = (buf[2] & 0x04) != 0;
	out->tc = (buf[2] & 0x02) != 0;
	out->rcode = buf[3] & 0x0f;
	qd = rd16(buf + 4);
	an = rd16(buf + 6);
	ns = rd16(buf + 8);
	out->n_an = out->n_ns = 0;
	out->too_many = false;
	out->qname[0] = '\0';
	out->qtype = 0;
	if (qd > 1)
		return DNS_PARSE_MALFORMED;
	if (qd == 1) {
		if (read_name(buf, len, &off, out->qname) != 0 || off + 4 > len)
			return DNS_PARSE_MALFORMED;
		out->qtype = rd16(buf + off);
		off += 4;
	}
	for (int sect = 0; sect < 2; sect++) {
		int count = sect == 0 ? an : ns;
		struct dns_rr *rrs = sect == 0 ? out->an : out->ns;
		int *n = sect == 0 ? &out->n_an : &out->n_ns;
		struct dns_rr scratch;
		for (int i = 0; i < count; i++) {
			bool keep;
			struct dns_rr *rr = *n < DNS_MAX_RR ? &rrs[*n] : &scratch;
			if (read_rr(buf, len, &off, rr, &keep) != 0)
				return DNS_PARSE_MALFORMED;
			if (!keep)
				continue;
			if (rr == &scratch)
				out->too_many = true;
			else
				(*n)++;
		}
	}
	return DNS_PARSE_OK;
}

int dns_msg_chain(const struct dns_msg *msg, const char *qname,
                  char (*chain)[DNAME_MAX + 1], int max)
{
	const char *cur = qname;
	int n = 0;

	for (;;) {
		const struct dns_rr *hit = NULL;
		for (int i = 0; i < msg->n_an; i++) {
			if (msg->an[i].type == DNS_T_CNAME &&
			    strcasecmp(msg->an[i].owner, cur) == 0) {
				hit = &msg->an[i];
				break;
			}
		}
		if (!hit)
			return n;
		if (strcasecmp(hit->u.name, qname) == 0)
			return -1;
		for (int i = 0; i < n; i++)
			if (strcasecmp(chain[i], hit->u.name) == 0)
				return -1;
		if (n >= max)
			return -2;
		snprintf(chain[n], DNAME_MAX + 1, "%s", hit->u.name);
		cur = chain[n];
		n++;
	}
}

void dns_putf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

void dns_seen_add(char *buf, const char *fmt, ...)
{
	size_t l = strlen(buf);
	va_list ap;

	if (l + 1 >= DNS_SEEN_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + l, DNS_SEEN_MAX - l, fmt, ap);
	va_end(ap);
}

bool dns_msg_has(const struct dns_msg *m, const char *owner, int type)
{
	for (int i = 0; i < m->n_an; i++)
		if (m->an[i].type == type && strcmp(m->an[i].owner, owner) == 0)
			return true;
	return false;
}

void dns_parent_of(char *name)
{
	char *dot = strchr(name, '.');
	if (dot)
		memmove(name, dot + 1, strlen(dot + 1) + 1);
	else
		name[0] = '\0';
}
