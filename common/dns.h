/*
 * dns: lookups and the checks the stages stand on, over c-ares.
 *
 * The checks see DNS the way the CA will: they follow CNAME chains, find the
 * zone cut of a name and ask EACH authoritative server of that zone directly
 * (RD=0), and, for the delegation check, every configured recursive resolver
 * as well.  One answer from one cached or anycast address is never enough.
 *
 * How a zone cut is found: an SOA query for the name through the configured
 * resolvers.  An SOA owned by the name in the answer makes it the apex; a
 * negative answer carries the enclosing zone's SOA in its authority section;
 * a CNAME (a name that is an alias cannot be an apex) or an answer without
 * any SOA moves the walk one label up.  The zone's NS set is then read
 * through the resolvers, and each NS name's A and AAAA records.  This works
 * the same against the public DNS and against loopback test servers: there,
 * the resolver is a test resolver and "dns.port_map" sends each nameserver
 * address (or NS host name) to a loopback address and port.  The NS set and
 * addresses of a zone are cached for dns.ns_cache_ms.
 *
 * The NS set and its addresses are the customer's: a zone with more than
 * dns.max_ns_names NS names, or more than dns.max_ns_addrs distinct
 * addresses (counted as published, before anything is filtered), ends the
 * check with DNS_CHECK_ERROR and a detail naming the zone and the count,
 * before any of them is asked.  An NS address in a range that is not
 * routable on the public Internet (loopback, RFC 1918 and other private,
 * shared, link-local, multicast, unspecified, broadcast, reserved,
 * documentation and benchmarking ranges, IPv6 unique-local, site-local,
 * discard, NAT64 local-use, and IPv4-mapped/NAT64/6to4 forms of those; see
 * dns_ns_addr_refused) is never queried, unless it lies in
 * dns.allowed_ns_ranges; when no address of the zone is left the check
 * ends with DNS_CHECK_ERROR saying why.  The filter reads the address as
 * the customer's DNS published it, before dns.port_map: the published
 * address is the customer's choice and what the filter is about, while
 * port_map's destination is the operator's own configuration (tests send
 * TEST-NET addresses to loopback ports with it, and allow the TEST-NET
 * ranges they publish).  An NS host name mapped by port_map has no
 * published address and is not filtered.
 *
 * Concurrency: a dns_ctx owns one c-ares channel for the resolvers and one
 * channel per authoritative server address it has talked to.  Checks are
 * started with dns_*_start() and run together by dns_run(); thousands can be
 * in flight on one ctx.  The synchronous wrappers start one check and run it.
 * A ctx is single-threaded: one per worker thread.  What the answers mean
 * (the verdicts) is decided by the pure functions of dns_verdict.h.
 *
 * Every answer is bounded: at most DNS_MAX_ANSWER octets (else DNS_TOOBIG),
 * at most DNS_MAX_RR records kept per section (a "no" read from a cut
 * answer is DNS_TOOBIG, never a "no"), TXT strings cut at DNS_MAX_TXT
 * octets, CNAME chains at dns.max_cname_depth hops, the zone walk by the
 * name's labels (at most 127), a zone's servers by the caps above.  The
 * time all lookups of one job may take is bounded by dns_set_deadline().
 * Text a server sent reaches "seen" and "detail" in presentation form
 * (names and TXT with \DDD escapes): printable ASCII only.
 */
#ifndef DCV_DNS_H
#define DCV_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dname.h"

struct cfg;

#define DNS_MAX_ANSWER 16384  /* octets of one DNS answer we accept */
#define DNS_MAX_RR 32         /* records kept per section of an answer */
#define DNS_MAX_TXT 255       /* octets kept of one TXT record's text */
#define DNS_MAX_SERVERS 32    /* authoritative server addresses per check */
#define DNS_MAX_RESOLVERS 8   /* dns.resolvers */
#define DNS_MAX_NS_NAMES 16   /* NS names of a zone (dns.max_ns_names) */
#define DNS_MAX_ALLOWED 16    /* dns.allowed_ns_ranges */
/* Vantage points of one check: the zone's servers and the resolvers. */
#define DNS_MAX_VANTAGE (DNS_MAX_SERVERS + DNS_MAX_RESOLVERS)
#define DNS_MAX_PORTMAP 32
#define DNS_MAX_RANGES 64
#define DNS_MAX_SUFFIXES 32
#define DNS_SEEN_MAX 256      /* "what was seen" text in a result */
#define DNS_ADDR_MAX 64       /* "addr:port" / "[v6]:port" text */

/* RR types this module reads. */
enum dns_type {
	DNS_T_A = 1, DNS_T_NS = 2, DNS_T_CNAME = 5, DNS_T_SOA = 6,
	DNS_T_TXT = 16, DNS_T_AAAA = 28
};

/* What one server said about one question, as the checks classify it. */
enum dns_outcome {
	DNS_MATCH = 0,     /* the expected answer */
	DNS_DIFFERENT,     /* an answer, but not the expected one (see "seen") */
	DNS_NXDOMAIN,      /* the name (or the chain's end) does not exist */
	DNS_NODATA,        /* the name exists, no record of the type */
	DNS_NS_DELEGATED,  /* _acme-challenge is delegated by NS, not a CNAME */
	DNS_CNAME_LOOP,    /* the CNAME chain comes back on itself */
	DNS_CHAIN_TOO_LONG,/* more than max_cname_depth hops */
	DNS_TOOBIG,        /* answer over DNS_MAX_ANSWER or too many records */
	DNS_SERVFAIL,      /* transient from here on */
	DNS_REFUSED,
	DNS_TIMEOUT,
	DNS_NETERR,        /* connection refused, malformed answer, ... */
	DNS_DEADLINE,      /* no answer by the deadline (dns_set_deadline) */
};

/* Short name of an outcome ("match", "nxdomain", ...). */
const char *dns_outcome_str(enum dns_outcome o);

/* Whether retrying later may change the outcome by itself (SERVFAIL,
 * REFUSED, timeout, network errors, the deadline). */
bool dns_outcome_transient(enum dns_outcome o);

/* An address range of the provider, for the pointing check. */
struct dns_cidr {
	int family;             /* AF_INET or AF_INET6 */
	uint8_t addr[16];       /* network address, host bits cleared */
	int prefix;             /* prefix length */
};

/* A nameserver address (or NS host name) sent elsewhere, for tests. */
struct dns_portmap {
	char from[DNAME_MAX + 1]; /* IP address text or NS host name */
	char to[DNS_ADDR_MAX];    /* IP address to use instead */
	int port;                 /* port to use */
};

/* The dns section of the configuration. */
struct dns_opts {
	char resolvers[DNS_MAX_RESOLVERS][DNS_ADDR_MAX]; /* "addr[:port]" */
	int n_resolvers;
	int timeout_ms;              /* per try */
	int tries;                   /* per server */
	int max_cname_depth;         /* hops of a CNAME chain */
	int confirmations;           /* consecutive agreeing delegation checks */
	int confirmation_interval_ms;/* spacing of those checks */
	int ns_port;                 /* port of authoritative servers (53) */
	int ns_cache_ms;             /* how long a zone's NS addresses are kept */
	int max_ns_names;            /* NS names of a zone, at most */
	int max_ns_addrs;            /* distinct NS addresses of a zone, at most */
	struct dns_cidr allowed_ns[DNS_MAX_ALLOWED]; /* allowed_ns_ranges */
	int n_allowed_ns;
	bool propagation_resolvers;  /* propagation check asks resolvers too */
	struct dns_portmap port_map[DNS_MAX_PORTMAP];
	int n_port_map;
	struct dns_cidr ranges[DNS_MAX_RANGES];   /* pointing.ip_ranges */
	int n_ranges;
	char suffixes[DNS_MAX_SUFFIXES][DNAME_MAX + 1]; /* pointing.host_suffixes,
	                                          stored without the "*." */
	int n_suffixes;
};

/* Fills O with the defaults and then the "dns:" section of C:
 *   dns.resolvers (list "addr[:port]", default 127.0.0.1:53),
 *   dns.timeout_ms (2000), dns.tries (2), dns.max_cname_depth (8),
 *   dns.confirmations (2), dns.confirmation_interval_ms (30s),
 *   dns.ns_port (53), dns.ns_cache_ms (60s), dns.propagation_resolvers (no),
 *   dns.max_ns_names (10, at most DNS_MAX_NS_NAMES), dns.max_ns_addrs (16,
 *   at most DNS_MAX_SERVERS), dns.allowed_ns_ranges (list of CIDR: NS
 *   addresses queried although in a refused range; default none),
 *   dns.port_map (list "from=[to:]port"), dns.pointing.ip_ranges (list of
 *   CIDR), dns.pointing.host_suffixes (list "*.cdn.example.net").
 * Bad values are recorded in C (cfg_fail); returns 0, or -1 if any value of
 * this section was bad. */
int dns_cfg_load(struct cfg *c, struct dns_opts *o);

/* Defaults only (no configuration). */
void dns_opts_default(struct dns_opts *o);

/* ---- pure helpers (no I/O), exposed for tests ---- */

/* Parses "1.2.3.4", "1.2.3.4:53", "::1", "[::1]:53" into ADDR (numeric
 * text, no brackets; DNS_ADDR_MAX bytes) and *PORT (DEFPORT when absent).
 * Returns 0 or -1. */
int dns_parse_hostport(const char *s, int defport, char *addr, int *port);

/* Parses a port map entry "from=port" or "from=addr:port".  0 or -1. */
int dns_parse_portmap(const char *s, struct dns_portmap *out);

/* Parses "10.0.0.0/8" or "2001:db8::/32" (a bare address is a /32 or
 * /128).  Host bits are cleared.  0 or -1. */
int dns_parse_cidr(const char *s, struct dns_cidr *out);

/* Whether the address (AF_INET: 4 octets, AF_INET6: 16) is within R. */
bool dns_cidr_contains(const struct dns_cidr *r, int family,
                       const uint8_t *addr);

/* Why the nameserver address ADDR (AF_INET: 4 octets, AF_INET6: 16) must
 * not be queried: a short name of the special range it lies in
 * ("loopback", "private (RFC 1918)", ...; static text), or NULL when it may
 * be, as every address in O->allowed_ns may.  An IPv4-mapped, NAT64
 * (64:ff9b::/96) or 6to4 (2002::/16) address is judged by the IPv4 address
 * it holds as well. */
const char *dns_ns_addr_refused(const struct dns_opts *o, int family,
                                const uint8_t *addr);

/* Whether NAME equals SUFFIX or ends in "." SUFFIX (case-insensitive; a
 * leading "*." on SUFFIX is ignored; "*.cdn.example.net" matches
 * "a.cdn.example.net", not "cdn.example.net"). */
bool dns_suffix_match(const char *name, const char *suffix);

/* Whether NAME is SUB or a name below it ("a.b.c" is under "b.c"). */
bool dns_name_under(const char *name, const char *zone);

/* One resource record of a parsed answer. */
struct dns_rr {
	char owner[DNAME_MAX + 1];  /* lower case, no trailing dot */
	uint16_t type;
	uint32_t ttl;
	union {
		char name[DNAME_MAX + 1]; /* CNAME/NS target; SOA mname */
		uint8_t addr[16];         /* A (4 octets) / AAAA */
		struct {
			char text[DNS_MAX_TXT + 1]; /* character-strings joined,
			                               raw octets, NUL-terminated */
			uint16_t len;               /* octets in text (a NUL
			                               octet may be among them) */
			bool cut;                   /* longer than DNS_MAX_TXT */
		} txt;
	} u;
};

/* A parsed DNS answer: header bits and the records we read. */
struct dns_msg {
	uint16_t id;
	int rcode;              /* 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED */
	bool aa, tc;
	char qname[DNAME_MAX + 1];
	uint16_t qtype;
	struct dns_rr an[DNS_MAX_RR];  /* answer section (types above only) */
	int n_an;
	struct dns_rr ns[DNS_MAX_RR];  /* authority section */
	int n_ns;
	bool too_many;          /* a section held more than DNS_MAX_RR records */
};

enum dns_parse_status {
	DNS_PARSE_OK = 0,
	DNS_PARSE_TOOBIG,       /* over DNS_MAX_ANSWER octets */
	DNS_PARSE_MALFORMED,
};

/* Parses the answer BUF of LEN octets into OUT.  Pure; reads at most LEN
 * octets; compression pointers must point backwards. */
enum dns_parse_status dns_msg_parse(const uint8_t *buf, size_t len,
                                    struct dns_msg *out);

/* The CNAME chain in MSG starting at QNAME: fills CHAIN with up to MAX
 * target names, in order, and returns their number, -1 when the chain
 * loops, -2 when it has more than MAX hops.  The last name of the chain is CHAIN[n-1] (or QNAME when n is 0). */
int dns_msg_chain(const struct dns_msg *msg, const char *qname,
                  char (*chain)[DNAME_MAX + 1], int max);

/* ---- the engine ---- */

struct dns_ctx;

/* Makes a context for O (copied).  NULL with a message in ERR on failure
 * (c-ares init, a bad resolver address, a count or cap of O outside the
 * bounds dns_cfg_load keeps).  Free with dns_free(). */
struct dns_ctx *dns_new(const struct dns_opts *o, char *err, size_t errlen);

/* Cancels every check still running (their callbacks are not called) and
 * frees the context.  NULL is a no-op. */
void dns_free(struct dns_ctx *ctx);

/* Runs the checks started on CTX until none is left or MAX_MS has passed
 * (-1: no limit), and never past the deadline (dns_set_deadline).  Returns
 * the number still running (0 once the deadline has been reached). */
int dns_run(struct dns_ctx *ctx, long max_ms);

/* Gives every lookup on CTX one deadline: DEADLINE_MONO_MS is a time of
 * CLOCK_MONOTONIC in milliseconds (tv_sec * 1000 + tv_nsec / 1000000), 0
 * for none (the default).  It is meant to be set once per job, before its
 * first check, and replaces any earlier deadline.
 *
 * When dns_run() reaches the deadline, every query still in flight is
 * cancelled and every check still running ends at once: status
 * DNS_CHECK_TRANSIENT, the servers that had not answered with outcome
 * DNS_DEADLINE, "bad" the first of them, and a detail that says the
 * deadline was reached and names that server (or the resolvers, for the
 * zone, NS and address lookups).  A check started once the deadline has
 * passed ends the same way inside dns_*_start(), which then calls its
 * callback before returning.  So the synchronous checks (and
 * dns_caa_check) never block past the deadline, give or take one poll
 * round of scheduling.  Queries a check would send are not capped by what
 * is left: c-ares's own per-try timeout (dns.timeout_ms) still applies
 * within it. */
void dns_set_deadline(struct dns_ctx *ctx, long long deadline_mono_ms);

/* Queries sent since dns_new() (for benchmarks). */
unsigned long dns_queries_sent(const struct dns_ctx *ctx);

/* How a check ended. */
enum dns_check_status {
	DNS_CHECK_OK = 0,      /* done: confirmed / propagated / pointing */
	DNS_CHECK_CONFIRMING,  /* all agree: confirmation k of N, check again */
	DNS_CHECK_MISMATCH,    /* a server disagrees (see vantage); or for the
	                          pointing check: not pointing at us */
	DNS_CHECK_TRANSIENT,   /* SERVFAIL/REFUSED/timeout somewhere, or the
	                          deadline: retry */
	DNS_CHECK_NS_DELEGATED,/* _acme-challenge is NS-delegated: the customer
	                          must replace the delegation by a CNAME */
	DNS_CHECK_ERROR,       /* the zone cannot be checked as it is: more NS
	                          names or addresses than the caps, none of
	                          its NS addresses may be queried (no server
	                          was asked: n_vantage is 0) */
};

const char *dns_check_strerror(enum dns_check_status s);

/* One server's answer in a check. */
struct dns_vantage {
	char server[DNS_ADDR_MAX + 8]; /* "auth 192.0.2.1:53" / "resolver ..." */
	char ns_name[DNAME_MAX + 1];   /* NS host name for auth servers */
	enum dns_outcome outcome;
	char seen[DNS_SEEN_MAX];       /* chain end, TXT values, addresses */
};

/* The result of a check.  "vantage" lists every server asked; "bad" is the
 * index of the one that decided a non-OK status (-1 if none). */
struct dns_check_result {
	enum dns_check_status status;
	int confirmations;        /* consecutive confirmations, this one included */
	int needed;               /* confirmations needed */
	long retry_after_ms;      /* check again after this long (0 when done) */
	char zone[DNAME_MAX + 1]; /* zone whose servers were asked */
	char detail[DNS_SEEN_MAX];/* one-line explanation */
	struct dns_vantage vantage[DNS_MAX_VANTAGE];
	int n_vantage;
	int bad;
	bool pointing;            /* pointing check: does it point at us */
};

/* Called once when a check ends.  R is borrowed for the call only. */
typedef void (*dns_check_cb)(void *arg, const struct dns_check_result *r);

/* Delegation check: does "_acme-challenge.<DOMAIN>" resolve, through its
 * CNAME chain, to TARGET on every authoritative server of the zone holding
 * it and on every configured resolver?  PREV is the number of consecutive
 * confirmations before this one (0 at first).  All agreeing makes it
 * PREV+1: OK when that reaches dns.confirmations, else CONFIRMING with
 * retry_after_ms = dns.confirmation_interval_ms.  Any disagreement resets
 * the count to 0 (MISMATCH).  The check never sleeps.  Strings are copied.
 * Returns 0, or -1 if DOMAIN or TARGET is not a valid name (CB not called). */
int dns_delegation_start(struct dns_ctx *ctx, const char *domain,
                         const char *target, int prev, dns_check_cb cb,
                         void *arg);

/* Propagation check: is the TXT VALUE at NAME served by every authoritative
 * server of NAME's zone (and the resolvers when dns.propagation_resolvers)?
 * OK or MISMATCH/TRANSIENT with the first server lacking it.  Returns -1
 * (CB not called) unless NAME is a valid name and VALUE 1 to DNS_MAX_TXT
 * octets of printable ASCII (an ACME value is base64url). */
int dns_propagation_start(struct dns_ctx *ctx, const char *name,
                          const char *value, dns_check_cb cb, void *arg);

/* Pointing check: do DOMAIN's A/AAAA records (directly or through its
 * CNAME chain) point at the provider?  Pointing when a name of the chain
 * matches a host suffix or any address lies in a configured range; then
 * status OK and r->pointing; MISMATCH when the records point elsewhere or
 * the name does not exist; TRANSIENT on resolver trouble. */
int dns_pointing_start(struct dns_ctx *ctx, const char *domain,
                       dns_check_cb cb, void *arg);

/* Synchronous forms: start one check and run it to the end into OUT. */
int dns_delegation_check(struct dns_ctx *ctx, const char *domain,
                         const char *target, int prev,
                         struct dns_check_result *out);
int dns_propagation_check(struct dns_ctx *ctx, const char *name,
                          const char *value, struct dns_check_result *out);
int dns_pointing_check(struct dns_ctx *ctx, const char *domain,
                       struct dns_check_result *out);

#endif
