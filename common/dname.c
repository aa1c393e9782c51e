#include "dname.h"

#include <stdio.h>
#include <string.h>

#include "crypto.h"

/* Checks one label of LEN octets at P. */
static const char *check_label(const char *p, size_t len)
{
	if (len == 0)
		return "empty label";
	if (len > DNAME_LABEL_MAX)
		return "label longer than 63 octets";
	if (p[0] == '-' || p[len - 1] == '-')
		return "label starts or ends with a hyphen";
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch == '*')
			return "wildcard '*' allowed only as the whole first label";
		if (ch >= 0x80)
			return "non-ASCII name: give internationalised names as A-labels (xn--)";
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      ch == '-' || ch == '_'))
			return "label has a character other than a-z, 0-9, '-' or '_'";
	}
	return NULL;
}

const char *dname_normalize(const char *in, char *out, size_t outlen)
{
	size_t len;

	if (in == NULL || *in == '\0')
		return "empty name";
	len = strlen(in);
	if (len > 1 && in[len - 1] == '.')
		len--;
	if (len > DNAME_MAX)
		return "name longer than 253 octets";
	if (outlen < len + 1)
		return "name longer than the buffer";
	for (size_t i = 0; i < len; i++) {
		char ch = in[i];
		out[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
	}
	out[len] = '\0';

	const char *p = out;
	if (p[0] == '*') {
		if (p[1] != '.')
			return "wildcard '*' allowed only as the whole first label";
		p += 2;
	}
	if (strchr(p, '.') == NULL)
		return "name has a single label; a fully qualified domain is needed";
	while (1) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		const char *why = check_label(p, l);
		if (why)
			return why;
		if (!dot)
			break;
		p = dot + 1;
	}
	/* The last label (TLD) is never all digits: that is an IPv4 address. */
	const char *tld = strrchr(out, '.') + 1;
	if (strspn(tld, "0123456789") == strlen(tld))
		return "an IP address is not a domain name";
	return NULL;
}

const char *dname_base(const char *domain)
{
	return strncmp(domain, "*.", 2) == 0 ? domain + 2 : domain;
}

/* Whether NAME (no trailing dot) keeps every limit. */
static int within_limits(const char *name)
{
	size_t label = 0, total = strlen(name);

	if (total > DNAME_MAX)
		return 0;
	for (const char *p = name; *p; p++) {
		if (*p == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (++label > DNAME_LABEL_MAX) {
			return 0;
		}
	}
	return label > 0;
}

static void hex_digest(const char *s, size_t nbytes, char *out)
{
	unsigned char md[32];
	crypto_sha256(s, strlen(s), md);
	for (size_t i = 0; i < nbytes; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

const char *dname_target(const char *tmpl, const char *domain,
                         const char *zone, const char *tenant,
                         char *out, size_t outlen)
{
	char buf[1024], token[17], hashed[33];
	size_t len = 0;
	const char *base = dname_base(domain);

	if (zone == NULL || *zone == '\0')
		return "validation zone is not configured";
	if (strlen(zone) > DNAME_MAX - 35)
		return "validation zone too long for a hashed target label";
	hex_digest(base, 8, token);

	for (const char *p = tmpl; *p;) {
		const char *val = NULL;
		size_t skip = 0;
		if (*p == '{') {
			if (strncmp(p, "{domain}", 8) == 0) {
				val = base;
				skip = 8;
			} else if (strncmp(p, "{zone}", 6) == 0) {
				val = zone;
				skip = 6;
			} else if (strncmp(p, "{tenant}", 8) == 0) {
				if (tenant == NULL || *tenant == '\0')
					return "template uses {tenant} but the job has no tenant";
				val = tenant;
				skip = 8;
			} else if (strncmp(p, "{token}", 7) == 0) {
				val = token;
				skip = 7;
			} else {
				return "unknown placeholder in target template";
			}
		}
		size_t n = val ? strlen(val) : 1;
		if (len + n >= sizeof(buf))
			return "target template result too long";
		memcpy(buf + len, val ? val : p, n);
		len += n;
		p += val ? skip : 1;
	}
	buf[len] = '\0';
	for (char *q = buf; *q; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q - 'A' + 'a');

	if (!within_limits(buf)) {
		hex_digest(base, 16, hashed);
		snprintf(buf, sizeof(buf), "h-%s.%s", hashed, zone);
	}
	if (strlen(buf) + 1 > outlen)
		return "target longer than the buffer";
	memcpy(out, buf, strlen(buf) + 1);
	return NULL;
}

const char *dname_challenge(const char *domain, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "_acme-challenge.%s", dname_base(domain));
	if (n < 0 || (size_t)n >= outlen || (size_t)n > DNAME_MAX)
		return "challenge name longer than 253 octets";
	return NULL;
}

const char *dname_names(const char *domain, const char *in, char *out, size_t len)
{
	char list[1024], name[DNAME_MAX + 1];
	size_t o = 0, n = 0;
	int has_domain = 0;

	if (strlen(in) >= sizeof(list))
		return "the list of names is too long";
	snprintf(list, sizeof(list), "%s", in);
	out[0] = '\0';
	for (char *save = NULL, *t = strtok_r(list, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		const char *why = dname_normalize(t, name, sizeof(name));
		if (why)
			return why;
		if (++n > DNAME_NAMES_MAX)
			return "more than 16 names";
		has_domain |= strcmp(name, domain) == 0;
		int w = snprintf(out + o, len - o, "%s%s", o ? "," : "", name);
		if (w < 0 || (size_t)w >= len - o)
			return "the list of names is too long";
		o += (size_t)w;
	}
	if (!has_domain)
		return "the names must include the domain itself";
	return NULL;
}
