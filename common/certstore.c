#include "certstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acme.h"
#include "crypto.h"

bool certstore_same_serial(const char *a, const char *b)
{
	while (*a == '0')
		a++;
	while (*b == '0')
		b++;
	return strcasecmp(a, b) == 0;
}

int certstore_summary(const char *chain, struct cert_summary *out)
{
	struct crypto_cert_info ci;
	char *id = NULL;

	memset(out, 0, sizeof(*out));
	if (crypto_cert_info(chain, strlen(chain), &ci) != CRYPTO_OK)
		return -1;
	out->not_before = ci.not_before;
	out->not_after = ci.not_after;
	for (size_t i = 0; i < ci.serial_len && 2 * i + 2 < sizeof(out->serial); i++)
		sprintf(out->serial + 2 * i, "%02X", ci.serial[i]);
	if (ci.aki_len && acme_ari_certid_parts(ci.aki, ci.aki_len, ci.serial,
	                                        ci.serial_len, &id) == ACME_OK)
		snprintf(out->ari_id, sizeof(out->ari_id), "%s", id);
	free(id);
	crypto_cert_info_free(&ci);
	return 0;
}

int certstore_seal(const struct account_kek *kek, const char *secret,
                   const char *aad, char **out)
{
	if (kek && kek->set)
		return crypto_seal(kek->key, secret, strlen(secret), aad, out) == CRYPTO_OK ? 0 : -1;
	*out = strdup(secret);
	return *out ? 0 : -1;
}

const char *certstore_strerror(enum certstore_status st)
{
	switch (st) {
	case CERTSTORE_OK: return "ok";
	case CERTSTORE_ENOMEM: return "out of memory";
	case CERTSTORE_EKEK: return "the key is sealed and the key-encryption key is "
	                            "missing or wrong, or the value was altered";
	case CERTSTORE_EACCOUNTKEK: return "the key is sealed under the account's "
	                                   "key-encryption key, not the certificate KEK "
	                                   "(stored before the two were split): run "
	                                   "dcvctl cert rewrap --from-account-kek";
	case CERTSTORE_EPLAINTEXT: return "the key is stored in the clear, yet a "
	                                  "key-encryption key is configured (refused: "
	                                  "anyone who can write to Redis could have "
	                                  "planted it)";
	}
	return "unknown certstore status";
}

enum certstore_status certstore_open(const struct account_kek *kek, const char *stored,
                                     const char *aad, char **out)
{
	size_t len;
	bool kek_set = kek && kek->set;

	*out = NULL;
	if (strncmp(stored, CRYPTO_SEAL_PREFIX, strlen(CRYPTO_SEAL_PREFIX)) != 0) {
		if (kek_set)
			return CERTSTORE_EPLAINTEXT;
		*out = strdup(stored);
		return *out ? CERTSTORE_OK : CERTSTORE_ENOMEM;
	}
	if (!kek_set)
		return CERTSTORE_EKEK;
	enum crypto_status cs = crypto_open(kek->key, stored, aad, out, &len);
	if (cs == CRYPTO_OK)
		return CERTSTORE_OK;
	*out = NULL;
	return cs == CRYPTO_ENOMEM ? CERTSTORE_ENOMEM : CERTSTORE_EKEK;
}

enum account_status certstore_kek_load(const char *file, struct account_kek *out)
{
	return account_kek_load_env(file, CERTSTORE_KEK_ENV, out);
}

const char *certstore_kek_policy(const struct account_kek *kek, bool allow_plaintext)
{
	if ((kek && kek->set) || allow_plaintext)
		return NULL;
	return "no key-encryption key for the certificate keys: set acme.cert_kek_file "
	       "or DCV_CERT_KEK (32 bytes, 64 hex digits; not the account's KEK), or "
	       "acme.allow_plaintext_keys: true to store the certificate keys in Redis "
	       "in the clear";
}

enum certstore_status certstore_open_diag(const struct account_kek *kek,
                                          const struct account_kek *account_kek,
                                          const char *stored, const char *aad,
                                          char **out)
{
	char *other = NULL;
	enum certstore_status st = certstore_open(kek, stored, aad, out);

	if (st != CERTSTORE_EKEK || !account_kek || !account_kek->set)
		return st;
	if (certstore_open(account_kek, stored, aad, &other) == CERTSTORE_OK)
		st = CERTSTORE_EACCOUNTKEK;
	crypto_free_secret(other);
	return st;
}

int certstore_put(struct queue *q, const char *domain, const char *chain,
                  const char *key_pem, const struct account_kek *kek,
                  const char *names, const struct cert_summary *s,
                  uint64_t renew_at_ms, char *err, size_t errlen)
{
	char key[400], ekey[300], nb[24], na[24], at[24], renew[24];
	char *sealed = NULL;
	int rc = -1;

	queue_key(q, key, sizeof(key), "cert:");
	snprintf(key + strlen(key), sizeof(key) - strlen(key), "%s", domain);
	if (certstore_seal(kek, key_pem, key, &sealed) != 0) {
		snprintf(err, errlen, "cannot seal the certificate key");
		return -1;
	}
	snprintf(nb, sizeof(nb), "%lld", (long long)s->not_before);
	snprintf(na, sizeof(na), "%lld", (long long)s->not_after);
	snprintf(at, sizeof(at), "%lld", (long long)time(NULL));
	snprintf(renew, sizeof(renew), "%llu", (unsigned long long)renew_at_ms);
	const char *hset[] = {
		"HSET", key, "chain", chain, "key", sealed,
		"key_enc", kek && kek->set ? "aes-256-gcm" : "none", "names", names,
		"serial", s->serial, "not_before", nb, "not_after", na,
		"issued_at", at, "ari_id", s->ari_id, "renew_at", renew,
	};
	/* the expiry index (schemas/redis.md) in the same transaction: a
	 * renewal replaces the score, and a crash cannot part the two */
	const char *zadd[] = { "ZADD", queue_key(q, ekey, sizeof(ekey), "expiry"), na, domain };
	const char *multi[] = { "MULTI" }, *del[] = { "DEL", key }, *exec[] = { "EXEC" };
	struct queue_reply *r[5];
	r[0] = queue_command(q, 1, multi, NULL);
	r[1] = r[0] ? queue_command(q, 2, del, NULL) : NULL;
	r[2] = r[1] ? queue_command(q, (int)(sizeof(hset) / sizeof(*hset)), hset, NULL) : NULL;
	r[3] = r[2] ? queue_command(q, 4, zadd, NULL) : NULL;
	r[4] = r[3] ? queue_command(q, 1, exec, NULL) : NULL;
	if (queue_reply_kind(r[4]) == QR_ARRAY) {
		rc = 0;
	} else {
		/* the first refusal (NOPERM of one command, then EXECABORT) says
		 * why; no reply at all: the connection's error */
		const char *why = queue_errstr(q);
		for (int i = 4; i >= 0; i--)
			if (queue_reply_error(r[i]))
				why = queue_reply_error(r[i]);
		snprintf(err, errlen, "cannot store the certificate: %s", why);
	}
	for (int i = 0; i < 5; i++)
		queue_reply_free(r[i]);
	crypto_free_secret(sealed);
	return rc;
}
