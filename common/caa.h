/*
 * caa: may our CA issue for a name, as its CAA records say (RFC 8659, with
 * the accounturi and validationmethods parameters of RFC 8657)?
 *
 * The verify-cname stage asks this before it spends an ACME order: a name
 * whose CAA records name another CA, another ACME account or other
 * validation methods would only come back as a failed order.
 *
 * The lookup (dns_caa_check, dns_caa.c) climbs from the name towards the
 * root through the configured resolvers: the relevant RRset is the first
 * non-empty CAA RRset found at the name or an ancestor, the top-level
 * domain included, the root not (RFC 8659 section 3).  Each lookup follows
 * CNAME as the resolver's answer does: the records at the end of the chain
 * are the name's; an alias without CAA moves the climb to the parent of the
 * alias, not of its target.
 *
 * Evaluation (caa_evaluate, caa.c, pure):
 *   - an empty RRset allows;
 *   - a record whose RDATA cannot be read, or a critical (flags bit 0x80)
 *     record whose tag we do not know, forbids (we know issue, issuewild,
 *     iodef);
 *   - a non-wildcard request reads the "issue" records; a wildcard request
 *     reads "issuewild" when there is at least one, else "issue";
 *   - no such record: the RRset does not restrict issuance, allowed;
 *   - else one record must permit us: its issuer-domain-name is one of the
 *     policy's issuers (case-insensitive), and when present its accounturi
 *     equals our account URL and its validationmethods lists our method.
 *     A value that does not match the RFC 8659 grammar names no issuer
 *     (section 4.2), ";" names none on purpose; a parameter given twice, an
 *     accounturi while we have no account URL, a malformed method list make
 *     the record permit nobody; other parameters are ignored.
 */
#ifndef DCV_CAA_H
#define DCV_CAA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dname.h"

struct dns_ctx;

#define CAA_TYPE 257          /* the CAA RR type */
#define CAA_TAG_MAX 15        /* octets of a tag (RFC 8659 section 4.1) */
#define CAA_VALUE_MAX 255     /* octets of a value kept; longer is cut */
#define CAA_MAX_RR 32         /* records kept of one RRset */
#define CAA_RECORD_MAX 320    /* caa_result.record */
#define CAA_DETAIL_MAX 256    /* caa_result.detail */

/* What we are, as CAA sees it.  Borrowed by the calls below. */
struct caa_policy {
	const char *const *issuers; /* issuer domain names our CA accepts in
	                               CAA ("letsencrypt.org"), n_issuers */
	size_t n_issuers;
	const char *account_uri;    /* our ACME account URL, or NULL: then
	                               a record with accounturi never permits
	                               us */
	const char *method;         /* our validation method, "dns-01"; NULL:
	                               a record with validationmethods never
	                               permits us */
};

enum caa_verdict {
	CAA_ALLOWED = 0,  /* no CAA, or a record permits us */
	CAA_FORBIDDEN,    /* the relevant RRset does not permit us: permanent
	                     until the customer changes it */
	CAA_TRANSIENT,    /* SERVFAIL, REFUSED, timeout: ask again later */
	CAA_ERROR,        /* the DNS data cannot be evaluated (CNAME loop, too
	                     many records, answer too big) */
};

/* Short name of a verdict ("allowed", "forbidden", ...). */
const char *caa_strerror(enum caa_verdict v);

/* The outcome of a check. */
struct caa_result {
	enum caa_verdict verdict;
	char owner[DNAME_MAX + 1];     /* owner of the RRset that decided (the
	                                  end of a CNAME chain), "" when no CAA
	                                  anywhere or on TRANSIENT/ERROR before
	                                  any was found */
	char record[CAA_RECORD_MAX];   /* presentation of the deciding
	                                  record: `example.com CAA 0 issue
	                                  "ca.example"`, then " (+N more)"
	                                  when other records were alike */
	char detail[CAA_DETAIL_MAX];   /* one line for humans: why */
};

/* One CAA record, as read from its RDATA. */
struct caa_rr {
	uint8_t flags;                  /* bit 0x80: issuer critical */
	char tag[CAA_TAG_MAX + 1];      /* lower case */
	uint8_t value[CAA_VALUE_MAX + 1]; /* octets as sent, NUL after the
	                                  kept ones (may contain NUL) */
	size_t value_len;               /* octets kept */
	bool cut;                       /* value longer than CAA_VALUE_MAX */
	bool malformed;                 /* RDATA unreadable: tag and value are
	                                  empty, value holds "\# N hex..." */
};

/* An RRset: records of one owner. */
struct caa_rrset {
	char owner[DNAME_MAX + 1];
	struct caa_rr rr[CAA_MAX_RR];
	int n;
	bool too_many;                  /* more than CAA_MAX_RR records */
};

/* ---- pure functions ---- */

/* Reads the CAA RDATA RD (LEN octets) into OUT.  Malformed: shorter than 2
 * octets, tag length 0 or over CAA_TAG_MAX or past the end, a tag octet
 * other than a letter or digit.  Then returns -1 with OUT->malformed set
 * and the RDATA in RFC 3597 form in OUT->value (cut).  Else 0. */
int caa_rdata_parse(const uint8_t *rd, size_t len, struct caa_rr *out);

/* Writes RR at OWNER in presentation form, `owner CAA 0 issue "value"`
 * (quotes and backslashes escaped, other octets outside 0x20-0x7e as \DDD,
 * "..." after a cut value), into BUF, cut at LEN-1. */
void caa_rr_format(const char *owner, const struct caa_rr *rr, char *buf,
                   size_t len);

/* Reads the answer message BUF (LEN octets) for the CAA records owned by
 * OWNER (lower case, no trailing dot: the end of the question's CNAME
 * chain) into SET (owner set to OWNER).  Other records are skipped.
 * Returns 0, or -1 when the message is malformed. */
int caa_answer_parse(const uint8_t *buf, size_t len, const char *owner,
                     struct caa_rrset *set);

/* Decides whether the RRset SET permits the policy P to issue for a name
 * (a wildcard name when WILDCARD), as described at the top.  Fills
 * OUT->verdict (ALLOWED, FORBIDDEN, or ERROR when SET->too_many: records
 * were dropped, so no verdict is safe), record and detail; OUT->owner is
 * SET->owner when the set is not empty, else "". */
void caa_evaluate(const struct caa_rrset *set, bool wildcard,
                  const struct caa_policy *p, struct caa_result *out);

/* ---- the lookup ---- */

/* Checks DOMAIN (a wildcard either as "*.example.com" or as WILDCARD=true
 * with "example.com") against P through CTX's resolvers, synchronously
 * (it runs dns_run(): other checks in flight on CTX progress too).  Fills
 * OUT.  Returns 0, or -1 when DOMAIN is not a valid name, P has no issuer,
 * or memory runs out (OUT then holds CAA_ERROR and a detail). */
int dns_caa_check(struct dns_ctx *ctx, const char *domain, bool wildcard,
                  const struct caa_policy *p, struct caa_result *out);

#endif
