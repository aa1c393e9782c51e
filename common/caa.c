/*
 * caa: the pure half of the CAA check: RDATA parsing, reading CAA records
 * out of an answer, the issue-value grammar of RFC 8659 section 4.2 and
 * the evaluation of an RRset against our policy.  No I/O here; the lookup
 * is in dns_caa.c.
 */
#include "caa.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dns.h"
#include "dns_internal.h"

const char *caa_strerror(enum caa_verdict v)
{
	switch (v) {
	case CAA_ALLOWED: return "allowed";
	case CAA_FORBIDDEN: return "forbidden";
	case CAA_TRANSIENT: return "transient";
	case CAA_ERROR: return "error";
	}
	return "unknown";
}

/* The one-line "why" of a result. */
static void say(struct caa_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void say(struct caa_result *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof r->detail, fmt, ap);
	va_end(ap);
}

static bool is_alnum(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

static bool is_wsp(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* ---- RDATA ---- */

/* RFC 3597 "\# N hex" of RD into OUT's value, cut to fit. */
static void rdata_generic(const uint8_t *rd, size_t len, struct caa_rr *out)
{
	static const char hex[] = "0123456789abcdef";
	char *v = (char *)out->value;
	size_t o;

	o = (size_t)snprintf(v, CAA_VALUE_MAX + 1, "\\# %zu ", len);
	for (size_t i = 0; i < len; i++) {
		if (o + 2 > CAA_VALUE_MAX) {
			out->cut = true;
			break;
		}
		v[o++] = hex[rd[i] >> 4];
		v[o++] = hex[rd[i] & 15];
	}
	v[o] = '\0';
	out->value_len = o;
}

int caa_rdata_parse(const uint8_t *rd, size_t len, struct caa_rr *out)
{
	size_t tl, vl;

	memset(out, 0, sizeof *out);
	if (len < 2)
		goto bad;
	tl = rd[1];
	if (tl == 0 || tl > CAA_TAG_MAX || 2 + tl > len)
		goto bad;
	for (size_t i = 0; i < tl; i++) {
		uint8_t c = rd[2 + i];
		if (!is_alnum(c))
			goto bad;
		out->tag[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	out->flags = rd[0];
	vl = len - 2 - tl;
	if (vl > CAA_VALUE_MAX) {
		vl = CAA_VALUE_MAX;
		out->cut = true;
	}
	memcpy(out->value, rd + 2 + tl, vl);
	out->value[vl] = '\0';
	out->value_len = vl;
	return 0;
bad:
	memset(out, 0, sizeof *out);
	out->malformed = true;
	rdata_generic(rd, len, out);
	return -1;
}

void caa_rr_format(const char *owner, const struct caa_rr *rr, char *buf,
                   size_t len)
{
	size_t o;

	if (len == 0)
		return;
	if (rr->malformed) {
		dns_putf(buf, len, "%s CAA %s%s", owner, (const char *)rr->value,
		     rr->cut ? "..." : "");
		return;
	}
	dns_putf(buf, len, "%s CAA %u %s \"", owner, rr->flags, rr->tag);
	o = strlen(buf);
	for (size_t i = 0; i < rr->value_len && o + 1 < len; i++) {
		uint8_t c = rr->value[i];
		char esc[8];
		if (c == '"' || c == '\\')
			dns_putf(esc, sizeof esc, "\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			dns_putf(esc, sizeof esc, "\\%03u", c);
		else
			dns_putf(esc, sizeof esc, "%c", c);
		dns_putf(buf + o, len - o, "%s", esc);
		o = strlen(buf);
	}
	dns_putf(buf + o, len - o, "%s\"", rr->cut ? "..." : "");
}

/* ---- reading an answer ---- */

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

int caa_answer_parse(const uint8_t *buf, size_t len, const char *owner,
                     struct caa_rrset *set)
{
	char name[DNAME_MAX + 1];
	size_t off = 12;
	int qd, an;

	memset(set, 0, sizeof *set);
	dns_putf(set->owner, sizeof set->owner, "%s", owner);
	if (len < 12 || len > DNS_MAX_ANSWER)
		return -1;
	qd = rd16(buf + 4);
	an = rd16(buf + 6);
	for (int i = 0; i < qd; i++) {
		if (dns_wire_name(buf, len, &off, name) != 0 || off + 4 > len)
			return -1;
		off += 4;
	}
	for (int i = 0; i < an; i++) {
		size_t rdlen;
		bool ours;
		if (dns_wire_name(buf, len, &off, name) != 0 || off + 10 > len)
			return -1;
		ours = rd16(buf + off) == CAA_TYPE &&
		       rd16(buf + off + 2) == 1 /* IN */ &&
		       strcmp(name, owner) == 0;
		rdlen = rd16(buf + off + 8);
		off += 10;
		if (off + rdlen > len)
			return -1;
		if (ours && set->n < CAA_MAX_RR)
			caa_rdata_parse(buf + off, rdlen, &set->rr[set->n++]);
		else if (ours)
			set->too_many = true;
		off += rdlen;
	}
	return 0;
}

/* ---- the issue / issuewild value (RFC 8659 section 4.2) ---- */

/* What one issue or issuewild value says. */
struct issue_value {
	bool malformed;             /* not in the grammar: names no issuer */
	const uint8_t *issuer;      /* issuer-domain-name, or NULL */
	size_t issuer_len;
	const uint8_t *acct;        /* last accounturi value */
	size_t acct_len;
	int n_acct;                 /* accounturi parameters seen */
	const uint8_t *methods;     /* last validationmethods value */
	size_t methods_len;
	int n_methods;
};

/* Length of the LDH token at S (labels: letters, digits, inner hyphens),
 * with dots between labels when DOTS; 0 if S does not start one or it
 * breaks the label rules. */
static size_t ldh_token(const uint8_t *s, size_t len, bool dots)
{
	size_t i = 0, label = 0;

	while (i < len && (is_alnum(s[i]) || s[i] == '-' ||
	                   (dots && s[i] == '.'))) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
		} else {
			if (label == 0 && s[i] == '-')
				return 0;
			label++;
		}
		i++;
	}
	if (i == 0 || label == 0 || s[i - 1] == '-')
		return 0;
	return i;
}

static size_t skip_wsp(const uint8_t *s, size_t len, size_t i)
{
	while (i < len && is_wsp(s[i]))
		i++;
	return i;
}

static bool tag_is(const uint8_t *t, size_t tl, const char *name)
{
	return tl == strlen(name) && memcmp(t, name, tl) == 0;
}

/* Parses one "tag = value" at *I; records accounturi and
 * validationmethods.  Returns false when it is not in the grammar. */
static bool issue_param(const uint8_t *s, size_t len, size_t *i,
                        struct issue_value *iv)
{
	size_t tl = ldh_token(s + *i, len - *i, false), vs;
	const uint8_t *tag = s + *i;

	if (tl == 0)
		return false;
	*i = skip_wsp(s, len, *i + tl);
	if (*i >= len || s[*i] != '=')
		return false;
	*i = vs = skip_wsp(s, len, *i + 1);
	while (*i < len && s[*i] >= 0x21 && s[*i] <= 0x7e && s[*i] != ';')
		(*i)++;
	if (tag_is(tag, tl, "accounturi")) {
		iv->acct = s + vs;
		iv->acct_len = *i - vs;
		iv->n_acct++;
	} else if (tag_is(tag, tl, "validationmethods")) {
		iv->methods = s + vs;
		iv->methods_len = *i - vs;
		iv->n_methods++;
	}
	return true;
}

/* Parses the value of an issue or issuewild record:
 *   *WSP [issuer-domain-name *WSP] [";" *WSP [parameters *WSP]]
 * with parameters separated by ";" (no ";" after the last one). */
static void issue_parse(const uint8_t *s, size_t len, struct issue_value *iv)
{
	size_t i, n;

	memset(iv, 0, sizeof *iv);
	i = skip_wsp(s, len, 0);
	n = ldh_token(s + i, len - i, true);
	if (n) {
		iv->issuer = s + i;
		iv->issuer_len = n;
		i = skip_wsp(s, len, i + n);
	}
	if (i == len)
		return;
	if (s[i] != ';')
		goto bad;
	i = skip_wsp(s, len, i + 1);
	if (i == len)
		return;
	for (;;) {
		if (!issue_param(s, len, &i, iv))
			goto bad;
		i = skip_wsp(s, len, i);
		if (i == len)
			return;
		if (s[i] != ';')
			goto bad;
		i = skip_wsp(s, len, i + 1);
	}
bad:
	memset(iv, 0, sizeof *iv);
	iv->malformed = true;
}

/* Whether the method list M (comma-separated labels of letters, digits and
 * hyphens, RFC 8657 section 4) names METHOD.  A malformed list names none. */
static bool methods_include(const uint8_t *m, size_t len, const char *method)
{
	bool found = false;
	size_t i = 0;

	for (;;) {
		size_t s = i;
		while (i < len && (is_alnum(m[i]) || m[i] == '-'))
			i++;
		if (i == s)
			return false; /* empty label: malformed */
		if (method && i - s == strlen(method) &&
		    memcmp(m + s, method, i - s) == 0)
			found = true;
		if (i == len)
			return found;
		if (m[i] != ',')
			return false;
		i++;
	}
}

/* Why a record does not permit us, from most to least specific; the
 * evaluation reports the most specific one found. */
enum deny {
	DENY_NONE = 0,    /* it permits us */
	DENY_EMPTY,       /* ";" or malformed: names no issuer */
	DENY_OTHER_CA,    /* names another issuer */
	DENY_PARAM,       /* names us, but a parameter excludes us */
};

static bool is_our_issuer(const struct issue_value *iv,
                          const struct caa_policy *p)
{
	for (size_t k = 0; k < p->n_issuers; k++) {
		const char *is = p->issuers[k];
		if (is && strlen(is) == iv->issuer_len &&
		    strncasecmp(is, (const char *)iv->issuer,
		                iv->issuer_len) == 0)
			return true;
	}
	return false;
}

/* Judges one issue/issuewild record; on DENY_PARAM puts the reason in WHY
 * (a phrase: "validationmethods=http-01 excludes dns-01"). */
static enum deny judge(const struct caa_rr *rr, const struct caa_policy *p,
                       char *why, size_t whylen)
{
	struct issue_value iv;

	if (rr->cut)
		return DENY_EMPTY; /* a value we could not read whole */
	issue_parse(rr->value, rr->value_len, &iv);
	if (iv.malformed || !iv.issuer)
		return DENY_EMPTY;
	if (!is_our_issuer(&iv, p))
		return DENY_OTHER_CA;
	if (iv.n_acct > 1 || iv.n_methods > 1) {
		dns_putf(why, whylen, "%s is given more than once",
		     iv.n_acct > 1 ? "accounturi" : "validationmethods");
		return DENY_PARAM;
	}
	if (iv.n_acct && (!p->account_uri ||
	                  strlen(p->account_uri) != iv.acct_len ||
	                  memcmp(p->account_uri, iv.acct, iv.acct_len) != 0)) {
		dns_putf(why, whylen, "accounturi=%.*s is not our ACME account",
		     (int)iv.acct_len, (const char *)iv.acct);
		return DENY_PARAM;
	}
	if (iv.n_methods && !methods_include(iv.methods, iv.methods_len,
	                                     p->method)) {
		dns_putf(why, whylen, "validationmethods=%.*s excludes %s",
		     (int)iv.methods_len, (const char *)iv.methods,
		     p->method ? p->method : "our method");
		return DENY_PARAM;
	}
	return DENY_NONE;
}

/* ---- evaluation ---- */

static bool known_tag(const char *tag)
{
	return strcmp(tag, "issue") == 0 || strcmp(tag, "issuewild") == 0 ||
	       strcmp(tag, "iodef") == 0;
}

/* Fills OUT->record with RR, and " (+N more)" when MORE > 0. */
static void set_record(struct caa_result *out, const char *owner,
                       const struct caa_rr *rr, int more)
{
	char tail[24] = "";
	size_t room;

	if (more > 0)
		dns_putf(tail, sizeof tail, " (+%d more)", more);
	room = sizeof out->record - strlen(tail);
	caa_rr_format(owner, rr, out->record, room);
	strcat(out->record, tail);
}

void caa_evaluate(const struct caa_rrset *set, bool wildcard,
                  const struct caa_policy *p, struct caa_result *out)
{
	const char *prop = "issue", *own = set->owner;
	int n_wild = 0, n_rel = 0, best = -1;
	enum deny best_why = DENY_NONE;
	char why[160] = "";

	memset(out, 0, sizeof *out);
	if (set->n == 0) {
		out->verdict = CAA_ALLOWED;
		say(out, "no CAA records at %s", own);
		return;
	}
	dns_putf(out->owner, sizeof out->owner, "%s", own);
	if (set->too_many) {
		out->verdict = CAA_ERROR;
		set_record(out, own, &set->rr[0], set->n - 1);
		say(out, "more than %d CAA records at %s: not evaluated",
		    CAA_MAX_RR, own);
		return;
	}
	for (int i = 0; i < set->n; i++) {
		const struct caa_rr *rr = &set->rr[i];
		if (rr->malformed) {
			out->verdict = CAA_FORBIDDEN;
			set_record(out, own, rr, 0);
			say(out, "a CAA record at %s cannot be read (bad "
			    "tag or truncated): no CA may issue", own);
			return;
		}
		if ((rr->flags & 0x80) && !known_tag(rr->tag)) {
			out->verdict = CAA_FORBIDDEN;
			set_record(out, own, rr, 0);
			say(out, "CAA at %s has a critical record with the "
			    "unknown tag \"%s\": no CA may issue", own,
			    rr->tag);
			return;
		}
		if (strcmp(rr->tag, "issuewild") == 0)
			n_wild++;
	}
	if (wildcard && n_wild)
		prop = "issuewild";
	for (int i = 0; i < set->n; i++) {
		const struct caa_rr *rr = &set->rr[i];
		char w[sizeof why] = "";
		enum deny d;
		if (strcmp(rr->tag, prop) != 0)
			continue;
		n_rel++;
		d = judge(rr, p, w, sizeof w);
		if (d == DENY_NONE) {
			out->verdict = CAA_ALLOWED;
			set_record(out, own, rr, 0);
			say(out, "CAA at %s permits us (%s)", own, prop);
			return;
		}
		if (best < 0 || d > best_why) {
			best = i;
			best_why = d;
			memcpy(why, w, sizeof why);
		}
	}
	if (n_rel == 0) {
		out->verdict = CAA_ALLOWED;
		say(out, "CAA at %s does not restrict issuance (no %s "
		    "property)", own,
		    wildcard ? "issuewild or issue" : "issue");
		return;
	}
	out->verdict = CAA_FORBIDDEN;
	set_record(out, own, &set->rr[best], n_rel - 1);
	switch (best_why) {
	case DENY_PARAM:
		say(out, "CAA at %s names our CA but %s", own, why);
		break;
	case DENY_OTHER_CA:
		say(out, "CAA at %s (%s) permits other CAs only", own, prop);
		break;
	case DENY_EMPTY:
	case DENY_NONE:
		say(out, "CAA at %s (%s) names no CA (\";\" or a malformed "
		    "value): no CA may issue", own, prop);
		break;
	}
}
