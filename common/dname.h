/*
 * dname: domain names as the job schema and the CA see them.
 *
 * A name is lower-case ASCII, without trailing dot, at most 253 octets, each
 * label 1-63 octets of letters, digits and hyphens, not starting or ending
 * with a hyphen (underscores are allowed in labels other than the first
 * label of a customer's domain is not checked: they appear in
 * "_acme-challenge").  Internationalised names must arrive as A-labels
 * ("xn--..."); raw UTF-8 is refused with a message that says so.
 */
#ifndef DCV_DNAME_H
#define DCV_DNAME_H

#include <stddef.h>

#define DNAME_MAX 253      /* octets of a presentation name, no trailing dot */
#define DNAME_LABEL_MAX 63

/* Normalises IN (case folded, one trailing dot removed) into OUT (at least
 * DNAME_MAX + 1 bytes) and validates it as a certificate identifier: a
 * leading "*." is allowed (a wildcard), a '*' anywhere else is not.
 * Returns NULL on success, else a static message naming the problem. */
const char *dname_normalize(const char *in, char *out, size_t outlen);

/* Builds the delegation target of DOMAIN from TEMPLATE, which may use
 * {domain}, {zone}, {tenant} and {token} (a stable 16-hex-digit hash of the
 * domain).  A wildcard's "*." is dropped first: "*.example.com" and
 * "example.com" share a target, as they share "_acme-challenge.example.com".
 * When the result would break a length limit (253 octets, a 63-octet label)
 * it falls back to "h-<32 hex digits of SHA-256(domain)>.<zone>", stable for
 * the domain.  OUT must hold DNAME_MAX + 1 bytes.  Returns NULL on success or
 * a static message (an unknown placeholder, a zone too long). */
const char *dname_target(const char *tmpl, const char *domain,
                         const char *zone, const char *tenant,
                         char *out, size_t outlen);

#define DNAME_NAMES_MAX 16  /* names of one certificate */

/* Normalises IN, the comma-separated names of DOMAIN's certificate, into
 * OUT (LEN bytes): every name valid (dname_normalize), at most
 * DNAME_NAMES_MAX, DOMAIN itself among them.  Returns NULL or the reason. */
const char *dname_names(const char *domain, const char *in, char *out, size_t len);

/* DOMAIN without a wildcard's "*." (the name its delegation, pointing and
 * failed authorizations are about). */
const char *dname_base(const char *domain);

/* "_acme-challenge.<domain>" without a wildcard's "*." into OUT. */
const char *dname_challenge(const char *domain, char *out, size_t outlen);

#endif
