/*
 * ca_caps: what a CA supports, as seen in its directory and its answers,
 * recorded in Redis for operators and for the choice of a CA.
 *
 * CAs differ (issue 14): step-ca lists keyChange in its directory and
 * answers it 501 notImplemented, Pebble has neither ARI nor profiles, Let's
 * Encrypt has both, some CAs require External Account Binding.  The fields
 * are plain strings in the hash <prefix>:ca:<name> (schemas/redis.md, "The
 * CA's capabilities"; the single-CA configuration's CA is named
 * CA_CAPS_DEFAULT), beside whatever else describes that CA:
 *
 *   cap_keychange         yes | no   (keyChange in the directory, and not
 *                                     answered notImplemented / 501)
 *   cap_keychange_detail  why "no" when the CA said so (its answer, printable
 *                         ASCII, at most CA_CAPS_DETAIL_MAX - 1 bytes)
 *   cap_ari               yes | no   (renewalInfo, RFC 9773)
 *   cap_profiles          yes | no   (meta.profiles)
 *   cap_profile_names     the profiles' names, comma-separated (a name of
 *                         other bytes than [A-Za-z0-9._+:/@-] left out)
 *   cap_eab               yes | no   (meta.externalAccountRequired)
 *   cap_seen_at           unix seconds of the last look at the directory
 *
 * ca_caps_from_directory() is pure; the writers take a Redis connection and
 * never fail the caller's work: they return -1 and the caller logs.
 */
#ifndef DCV_CA_CAPS_H
#define DCV_CA_CAPS_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#include "acme.h"

#define CA_CAPS_DEFAULT "default"
#define CA_CAPS_NAME_MAX 64
#define CA_CAPS_DETAIL_MAX 256     /* bytes of cap_keychange_detail, with NUL */

struct ca_caps {
	bool keychange, ari, profiles, eab;
	char profile_names[512];   /* comma-separated; cut at a whole name */
};

/* What directory D offers. */
void ca_caps_from_directory(const struct acme_directory *d, struct ca_caps *out);

/* "<prefix>:ca:<ca>" into BUF.  -1 when CA is not a name (1 to
 * CA_CAPS_NAME_MAX of [A-Za-z0-9._-]) or BUF is too small. */
int ca_caps_key(const char *prefix, const char *ca, char *buf, size_t len);

/* Writes CAPS (seen NOW, unix seconds) to CA's hash.  cap_keychange "yes"
 * does not overwrite a "no" the CA answered (cap_keychange_detail). */
int ca_caps_record(redisContext *rc, const char *prefix, const char *ca,
                   const struct ca_caps *caps, long long now);

/* The CA's directory (C's, fetched if C has none yet) recorded as above.
 * -1 when the CA or Redis cannot be reached. */
int ca_caps_seen(redisContext *rc, const char *prefix, const char *ca,
                 struct acme_client *c, long long now);

/* The outcome of a keyChange: SUPPORTED false records cap_keychange "no"
 * with DETAIL (the CA's answer), true "yes" without a detail. */
int ca_caps_keychange(redisContext *rc, const char *prefix, const char *ca,
                      bool supported, const char *detail);

/* IN (a CA's text, NULL: "") into OUT (LEN bytes, cut to fit, always
 * terminated) with every byte below 0x20, 0x7f and from 0x80 replaced by
 * '?': what cap_keychange_detail and dcvctl's terminal get. */
void ca_caps_clean(const char *in, char *out, size_t len);

/* Whether a failed keyChange means the CA does not offer it (no keyChange
 * in the directory, notImplemented, HTTP 501), from its status and the
 * client's last problem P. */
bool ca_caps_keychange_missing(enum acme_status st, const struct acme_problem *p);

#endif
