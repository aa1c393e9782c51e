/*
 * dns_verdict: what the three checks of dns.h conclude from the answers
 * they get, as pure functions (no I/O, no clock, no allocation), so that a
 * unit test or a fuzzer can hand them any parsed message.
 *
 * The checks (dns_check.c, over the engine of dns_engine.c) find the
 * zone, its servers and send the check's question to each vantage point
 * (an authoritative server or a resolver).  Each answer they get, parsed
 * by dns_msg_parse(), goes to the verdict of the check's kind, which
 * writes that vantage's outcome and "seen" text:
 *
 *   delegation   does the CNAME chain of _acme-challenge.<domain> reach
 *                the target?  The chain may leave the zone: the verdict
 *                then asks the engine to follow it on, one CNAME question
 *                per hop through the resolvers, and reads each hop's
 *                answer with the same function, the vantage's hops counted
 *                and remembered in its struct dns_hops.
 *   propagation  does the name (or the end of its chain) carry the value?
 *   pointing     does an A/AAAA record of the name's chain lie in a
 *                provider range, or a name of the chain under a provider
 *                host suffix?
 *
 * When every vantage is done, dns_verdict_conclude() turns the outcomes
 * into the result's status, counters and detail.  A vantage the engine got
 * no message from (timeout, refused connection, malformed answer, the
 * deadline) has its outcome set by the engine, never here.
 */
#ifndef DCV_DNS_VERDICT_H
#define DCV_DNS_VERDICT_H

#include <stdbool.h>
#include <stdint.h>

#include "dns.h"

#define DNS_HOPS_KEPT 16      /* hop names remembered per vantage */
#define DNS_WANT_MAX (DNS_MAX_TXT > DNAME_MAX ? DNS_MAX_TXT : DNAME_MAX)

enum dns_check_kind { DNS_KIND_DELEGATION, DNS_KIND_PROPAGATION,
                      DNS_KIND_POINTING };

/* What a check asks and expects.  Filled by the engine when the check is
 * started (zone when it is found); read-only to the verdicts. */
struct dns_verdict_check {
	enum dns_check_kind kind;
	char domain[DNAME_MAX + 1]; /* the customer's name ("*." dropped) */
	char qname[DNAME_MAX + 1];  /* the name asked: _acme-challenge.<domain>
	                               (delegation), the TXT name (propagation),
	                               the domain (pointing) */
	char want[DNS_WANT_MAX + 1];/* delegation: the target; propagation:
	                               the TXT value; pointing: unused */
	char zone[DNAME_MAX + 1];   /* zone whose servers are asked ("" for
	                               pointing) */
	int prev;                   /* delegation: confirmations before */
	const struct dns_opts *o;   /* max_cname_depth, confirmations, interval,
	                               pointing ranges and suffixes; borrowed */
};

/* The CNAME hops one vantage of a delegation check has gone through. */
struct dns_hops {
	int n;                           /* hops so far, the question included */
	uint64_t hash[DNS_HOPS_KEPT];    /* FNV-1a of the first names */
};

/* The outcome an answer's rcode gives: DNS_MATCH means "NOERROR or
 * NXDOMAIN: read the records"; SERVFAIL, REFUSED/NOTAUTH map to theirs,
 * anything else to DNS_NETERR. */
enum dns_outcome dns_rcode_outcome(int rcode);

/* Reads M, the answer to the delegation question ASKED (C->qname, or a hop
 * name the previous call put in NEXT), into vantage DV, whose hops are H
 * (zeroed before the first call).  AUTH: M comes from an authoritative
 * server of C->zone, or is a hop answer (which is read like one from
 * outside any zone).  Returns true when the chain leaves the zone without
 * reaching the target: the engine must ask the resolvers "NEXT CNAME"
 * (NEXT has DNAME_MAX + 1 bytes) and call this again with that answer;
 * false when DV->outcome is decided. */
bool dns_verdict_delegation(const struct dns_verdict_check *c,
                            const char *asked, bool auth,
                            const struct dns_msg *m, struct dns_hops *h,
                            struct dns_vantage *dv, char *next);

/* Reads M, the answer to "C->qname TXT", into DV.  AUTH: from an
 * authoritative server (which must then set AA). */
void dns_verdict_propagation(const struct dns_verdict_check *c, bool auth,
                             const struct dns_msg *m, struct dns_vantage *dv);

/* Reads M, the answer to "C->qname TYPE" (DNS_T_A or DNS_T_AAAA) from the
 * resolvers, into DV.  Returns whether it points at the provider (then
 * DV->outcome is DNS_MATCH). */
bool dns_verdict_pointing(const struct dns_verdict_check *c, int type,
                          const struct dns_msg *m, struct dns_vantage *dv);

/* Fills R's status, confirmations, needed, retry_after_ms, bad, pointing
 * and detail from R->vantage[0..n_vantage).  FAILED: a lookup of the
 * engine ended the check (status and detail are set, and bad when a
 * vantage is to blame); only the counters are filled then. */
void dns_verdict_conclude(const struct dns_verdict_check *c, bool failed,
                          struct dns_check_result *r);

#endif
