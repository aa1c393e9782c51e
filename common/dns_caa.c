/*
 * dns_caa: the CAA lookup over a dns_ctx (see caa.h): one CAA question per
 * name, from the domain up to its top-level domain, through the configured
 * resolvers, each answer read by caa.c.
 */
#include "caa.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "dns_internal.h"

#define CHAIN_MAX 16  /* CNAME hops read from one answer */

/* How one lookup ended. */
enum step {
	STEP_PENDING,    /* no answer yet */
	STEP_EMPTY,      /* no CAA at this name: climb */
	STEP_FOUND,      /* a non-empty RRset, in set */
	STEP_TRANSIENT,  /* resolver trouble, in detail */
	STEP_ERROR,      /* unusable data, in detail */
};

/* One lookup in flight.  Heap-held: if dns_run() gave up before the answer
 * came, the callback frees it later (abandoned). */
struct caa_lookup {
	enum step step;
	bool abandoned;
	char name[DNAME_MAX + 1];       /* name asked */
	char end[DNAME_MAX + 1];        /* end of its CNAME chain */
	char detail[CAA_DETAIL_MAX];
	struct dns_msg msg;             /* scratch for the answer */
	struct caa_rrset set;
};

/* Ends LK's lookup with STEP and a "why" prefixed by the name asked. */
static void lk_end(struct caa_lookup *lk, enum step step, const char *fmt,
                   ...)
	__attribute__((format(printf, 3, 4)));
static void lk_end(struct caa_lookup *lk, enum step step, const char *fmt,
                   ...)
{
	size_t l;
	va_list ap;

	lk->step = step;
	dns_putf(lk->detail, sizeof lk->detail, "CAA lookup of %s: ", lk->name);
	l = strlen(lk->detail);
	va_start(ap, fmt);
	vsnprintf(lk->detail + l, sizeof lk->detail - l, fmt, ap);
	va_end(ap);
}

/* Classifies the answer to "NAME CAA" into LK->step. */
static void read_answer(struct caa_lookup *lk, const uint8_t *buf,
                        size_t len)
{
	char chain[CHAIN_MAX][DNAME_MAX + 1];
	enum dns_parse_status ps = dns_msg_parse(buf, len, &lk->msg);
	int n;

	if (ps == DNS_PARSE_TOOBIG) {
		lk_end(lk, STEP_ERROR, "answer over %d octets", DNS_MAX_ANSWER);
		return;
	}
	if (ps != DNS_PARSE_OK) {
		lk_end(lk, STEP_TRANSIENT, "malformed answer");
		return;
	}
	if (lk->msg.too_many) {
		/* the chain is read from the records the parser kept: with
		 * some dropped, its end (whose CAA decides) is not known */
		lk_end(lk, STEP_ERROR, "more than %d records in a section of the "
		       "answer: not evaluated", DNS_MAX_RR);
		return;
	}
	if (lk->msg.rcode != 0 && lk->msg.rcode != 3) {
		lk_end(lk, STEP_TRANSIENT, "resolvers answered rcode %d (%s)",
		       lk->msg.rcode, lk->msg.rcode == 2 ? "servfail" :
		       lk->msg.rcode == 5 ? "refused" : "error");
		return;
	}
	n = dns_msg_chain(&lk->msg, lk->name, chain, CHAIN_MAX);
	if (n < 0) {
		lk_end(lk, STEP_ERROR, "CNAME chain %s",
		       n == -1 ? "loops" : "too long");
		return;
	}
	dns_putf(lk->end, sizeof lk->end, "%s", n > 0 ? chain[n - 1] : lk->name);
	if (caa_answer_parse(buf, len, lk->end, &lk->set) != 0) {
		lk_end(lk, STEP_TRANSIENT, "malformed answer");
		return;
	}
	lk->step = lk->set.n > 0 || lk->set.too_many ? STEP_FOUND : STEP_EMPTY;
}

static void on_caa(void *arg, enum dns_outcome st, const uint8_t *buf,
                   size_t len)
{
	struct caa_lookup *lk = arg;

	if (lk->abandoned) {
		free(lk);
		return;
	}
	if (st == DNS_NETERR) {
		/* c-ares takes SERVFAIL and REFUSED as a failed server and
		 * tries the next: when none is left, this is what it says */
		lk_end(lk, STEP_TRANSIENT, "resolvers gave no usable answer "
		       "(SERVFAIL, REFUSED or unreachable)");
		return;
	}
	if (st == DNS_DEADLINE) {
		lk_end(lk, STEP_TRANSIENT, "deadline reached: the resolvers did "
		       "not answer");
		return;
	}
	if (st != DNS_MATCH) {
		lk_end(lk, dns_outcome_transient(st) ? STEP_TRANSIENT :
		       STEP_ERROR, "resolvers: %s", dns_outcome_str(st));
		return;
	}
	read_answer(lk, buf, len);
}

/* Asks "NAME CAA" and runs CTX until the answer is in.  Returns LK, or NULL
 * when the loop gave up first (LK is then the callback's to free). */
static struct caa_lookup *ask(struct dns_ctx *ctx, struct caa_lookup *lk,
                              const char *name)
{
	dns_putf(lk->name, sizeof lk->name, "%s", name);
	lk->end[0] = '\0';
	lk->detail[0] = '\0';
	lk->step = STEP_PENDING;
	if (dns_raw_start(ctx, name, CAA_TYPE, on_caa, lk) != 0) {
		lk_end(lk, STEP_TRANSIENT, "out of memory");
		return lk;
	}
	dns_run(ctx, -1);
	if (lk->step == STEP_PENDING) {
		lk->abandoned = true;
		return NULL;
	}
	return lk;
}

/* Appends to OUT's detail that NAME's records came through its alias. */
static void alias_note(struct caa_result *out, const char *name,
                       const char *end)
{
	size_t l = strlen(out->detail);

	dns_putf(out->detail + l, sizeof out->detail - l, " (%s is an alias of %s)",
	     name, end);
}

int dns_caa_check(struct dns_ctx *ctx, const char *domain, bool wildcard,
                  const struct caa_policy *p, struct caa_result *out)
{
	char norm[DNAME_MAX + 1], name[DNAME_MAX + 1];
	struct caa_lookup *lk = NULL;
	const char *base = norm;
	int rc = -1;

	memset(out, 0, sizeof *out);
	out->verdict = CAA_ERROR;
	if (!domain || dname_normalize(domain, norm, sizeof norm) != NULL) {
		dns_putf(out->detail, sizeof out->detail, "not a valid name");
		goto out;
	}
	if (base[0] == '*') {
		base += 2;
		wildcard = true;
	}
	if (!p || !p->issuers || p->n_issuers == 0) {
		dns_putf(out->detail, sizeof out->detail, "no issuer configured");
		goto out;
	}
	lk = calloc(1, sizeof *lk);
	if (!lk) {
		dns_putf(out->detail, sizeof out->detail, "out of memory");
		goto out;
	}
	dns_putf(name, sizeof name, "%s", base);
	rc = 0;
	/* RFC 8659 section 3: the name itself, then each parent up to and
	 * including the top-level domain. */
	while (name[0]) {
		lk = ask(ctx, lk, name);
		if (!lk) {
			out->verdict = CAA_TRANSIENT;
			dns_putf(out->detail, sizeof out->detail,
			     "CAA lookup of %s did not finish", name);
			goto out;
		}
		switch (lk->step) {
		case STEP_EMPTY:
			dns_parent_of(name);
			continue;
		case STEP_FOUND:
			caa_evaluate(&lk->set, wildcard, p, out);
			if (strcmp(lk->end, lk->name) != 0)
				alias_note(out, lk->name, lk->end);
			goto out;
		case STEP_TRANSIENT:
		case STEP_ERROR:
		case STEP_PENDING:
			out->verdict = lk->step == STEP_ERROR ? CAA_ERROR :
			               CAA_TRANSIENT;
			dns_putf(out->detail, sizeof out->detail, "%s", lk->detail);
			goto out;
		}
	}
	out->verdict = CAA_ALLOWED;
	dns_putf(out->detail, sizeof out->detail, "no CAA records at %s or any "
	     "parent", base);
out:
	free(lk);
	return rc;
}
