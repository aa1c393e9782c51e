/* A CA's capabilities in Redis; see ca_caps.h. */
#include "ca_caps.h"

#include <stdio.h>
#include <string.h>

/* what acme_key_change() says too, and the directory's own "no" */
#define NO_KEYCHANGE "the directory has no keyChange"

/* what a profile's name may hold to be listed in cap_profile_names */
#define PROFILE_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-+:/@"

void ca_caps_from_directory(const struct acme_directory *d, struct ca_caps *out)
{
	size_t used = 0;

	memset(out, 0, sizeof(*out));
	out->keychange = d->key_change != NULL;
	out->ari = d->renewal_info != NULL;
	out->profiles = d->n_profiles > 0;
	out->eab = d->eab_required;
	for (size_t i = 0; i < d->n_profiles && i < ACME_MAX_PROFILES; i++) {
		const char *n = d->profiles[i].name ? d->profiles[i].name : "";
		size_t l = strlen(n);
		/* a name that does not fit is left out whole, never cut; so is
		 * one that is no plain token (a comma would split it, a control
		 * byte would reach an operator's terminal) */
		if (!l || used + l + (used ? 1 : 0) >= sizeof(out->profile_names) ||
		    strspn(n, PROFILE_CHARS) != l)
			continue;
		if (used)
			out->profile_names[used++] = ',';
		memcpy(out->profile_names + used, n, l + 1);
		used += l;
	}
}

int ca_caps_key(const char *prefix, const char *ca, char *buf, size_t len)
{
	size_t l = ca ? strlen(ca) : 0;

	if (!l || l > CA_CAPS_NAME_MAX ||
	    strspn(ca, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != l)
		return -1;
	int n = snprintf(buf, len, "%s:ca:%s", prefix, ca);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int reply_ok(redisReply *r)
{
	int rc = r && r->type != REDIS_REPLY_ERROR ? 0 : -1;
	freeReplyObject(r);
	return rc;
}

int ca_caps_record(redisContext *rc, const char *prefix, const char *ca,
                   const struct ca_caps *caps, long long now)
{
	char key[400], seen[24];

	if (ca_caps_key(prefix, ca, key, sizeof(key)) != 0)
		return -1;
	snprintf(seen, sizeof(seen), "%lld", now);
	const char *yn[] = { "no", "yes" };
	if (reply_ok(redisCommand(rc, "HSET %s cap_ari %s cap_profiles %s "
	                          "cap_profile_names %s cap_eab %s cap_seen_at %s",
	                          key, yn[caps->ari], yn[caps->profiles],
	                          caps->profile_names, yn[caps->eab], seen)) != 0)
		return -1;
	if (!caps->keychange)
		return reply_ok(redisCommand(rc, "HSET %s cap_keychange no "
		                             "cap_keychange_detail %s", key, NO_KEYCHANGE));
	/* listed, but maybe answered notImplemented: what it did wins */
	redisReply *r = redisCommand(rc, "HGET %s cap_keychange_detail", key);
	if (!r || r->type == REDIS_REPLY_ERROR) {
		freeReplyObject(r);
		return -1;
	}
	bool refused = r->type == REDIS_REPLY_STRING && r->len > 0 &&
	               strcmp(r->str, NO_KEYCHANGE) != 0;
	freeReplyObject(r);
	if (refused)
		return 0;
	return reply_ok(redisCommand(rc, "HSET %s cap_keychange yes", key)) ||
	       reply_ok(redisCommand(rc, "HDEL %s cap_keychange_detail", key)) ? -1 : 0;
}

int ca_caps_seen(redisContext *rc, const char *prefix, const char *ca,
                 struct acme_client *c, long long now)
{
	const struct acme_directory *d;
	struct ca_caps caps;

	if (acme_directory(c, &d) != ACME_OK)
		return -1;
	ca_caps_from_directory(d, &caps);
	return ca_caps_record(rc, prefix, ca, &caps, now);
}

int ca_caps_keychange(redisContext *rc, const char *prefix, const char *ca,
                      bool supported, const char *detail)
{
	char key[400];

	if (ca_caps_key(prefix, ca, key, sizeof(key)) != 0)
		return -1;
	if (supported)
		return reply_ok(redisCommand(rc, "HSET %s cap_keychange yes", key)) ||
		       reply_ok(redisCommand(rc, "HDEL %s cap_keychange_detail", key)) ? -1 : 0;
	char clean[CA_CAPS_DETAIL_MAX];
	ca_caps_clean(detail && detail[0] ? detail : "not implemented", clean, sizeof(clean));
	return reply_ok(redisCommand(rc, "HSET %s cap_keychange no cap_keychange_detail %s",
	                             key, clean));
}

void ca_caps_clean(const char *in, char *out, size_t len)
{
	size_t o = 0;

	if (!len)
		return;
	for (const unsigned char *s = (const unsigned char *)(in ? in : ""); *s && o + 1 < len; s++)
		out[o++] = *s < 0x20 || *s >= 0x7f ? '?' : (char)*s;
	out[o] = '\0';
}

bool ca_caps_keychange_missing(enum acme_status st, const struct acme_problem *p)
{
	return st == ACME_E_UNSUPPORTED || (p && p->http_status == 501);
}
