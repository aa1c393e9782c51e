#include "account.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "secret.h"

/* Longest KEK text taken from a file or the environment (64 hex digits
 * or 43 base64url characters, with room for whitespace). */
#define ACCOUNT_KEK_TEXT_MAX 256

#define ACCOUNT_FIELD_MAX (64 * 1024) /* any stored field */

const char *account_strerror(enum account_status st)
{
	switch (st) {
	case ACCOUNT_OK: return "ok";
	case ACCOUNT_NOTFOUND: return "no ACME account stored";
	case ACCOUNT_EXISTS: return "an ACME account is already stored";
	case ACCOUNT_CONFLICT: return "the account changed meanwhile or a key rotation is in progress";
	case ACCOUNT_EREDIS: return "Redis error";
	case ACCOUNT_EKEK: return "the account key is encrypted and the key-encryption key is missing or wrong";
	case ACCOUNT_EPLAINTEXT: return "refused the stored account key: it is not encrypted, "
	                                "yet a key-encryption key is configured (a key in the "
	                                "clear may have been planted by anyone who can write to Redis)";
	case ACCOUNT_ECORRUPT: return "stored account does not parse";
	case ACCOUNT_EACME: return "the CA refused";
	case ACCOUNT_ENOMEM: return "out of memory";
	case ACCOUNT_EINVAL: return "invalid argument";
	}
	return "unknown account status";
}

/* ---------------------------------------------------------------- KEK */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes 64 hex digits or base64url of 32 bytes. */
static bool kek_decode(const char *s, size_t n, unsigned char out[32])
{
	if (n == 64) {
		for (size_t i = 0; i < 32; i++) {
			int h = hexval((unsigned char)s[2 * i]);
			int l = hexval((unsigned char)s[2 * i + 1]);
			if (h < 0 || l < 0)
				return false;
			out[i] = (unsigned char)(h << 4 | l);
		}
		return true;
	}
	unsigned char *raw = NULL;
	size_t rl = 0;
	bool ok = crypto_b64url_decode(s, n, &raw, &rl) == CRYPTO_OK && rl == 32;
	if (ok)
		memcpy(out, raw, 32);
	if (raw) {
		memset(raw, 0, rl);
		free(raw);
	}
	return ok;
}

enum account_status account_kek_load(const char *file, struct account_kek *out)
{
	return account_kek_load_env(file, ACCOUNT_KEK_ENV, out);
}

enum account_status account_kek_load_env(const char *file, const char *var,
                                         struct account_kek *out)
{
	char *held = NULL; /* the file's content, a secret */
	const char *s;
	size_t n = 0;
	enum account_status st = ACCOUNT_OK;
	memset(out, 0, sizeof(*out));
	if (file) {
		if (secret_read_file(file, ACCOUNT_KEK_TEXT_MAX, &held, &n) != SECRET_OK)
			return ACCOUNT_EKEK;
		s = held;
	} else {
		const char *env = getenv(var);
		if (!env || !*env)
			return ACCOUNT_OK;
		s = env;
		n = strlen(env);
		if (n > ACCOUNT_KEK_TEXT_MAX)
			return ACCOUNT_EKEK;
	}
	while (n > 0 && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	if (!kek_decode(s, n, out->key)) {
		st = ACCOUNT_EKEK;
		goto out;
	}
	out->set = true;
out:
	secret_free(held);
	return st;
}

const char *account_kek_policy(const struct account_kek *kek, bool allow_plaintext)
{
	if ((kek && kek->set) || allow_plaintext)
		return NULL;
	return "no key-encryption key for the account key: set acme.kek_file or "
	       "DCV_ACME_KEK (32 bytes, 64 hex digits), or acme.allow_plaintext_keys: "
	       "true to store the account key in Redis in the clear";
}

void account_kek_wipe(struct account_kek *k)
{
	if (k) {
		volatile unsigned char *p = k->key;
		for (size_t i = 0; i < sizeof(k->key); i++)
			p[i] = 0;
		k->set = false;
	}
}

/* -------------------------------------------------------------- Redis */

const char *account_hash(const char *prefix, const char *ca, char *out, size_t len)
{
	const char *p = prefix && *prefix ? prefix : "dcv";

	if (!ca || !*ca || strcmp(ca, ACCOUNT_DEFAULT_CA) == 0)
		snprintf(out, len, "%s:account", p);
	else
		snprintf(out, len, "%s:account:%s", p, ca);
	return out;
}

const char *account_tenant_hash(const char *prefix, const char *ca, const char *tenant,
                                char *out, size_t len)
{
	const char *p = prefix && *prefix ? prefix : "dcv";

	if (!tenant || !*tenant)
		return account_hash(prefix, ca, out, len);
	snprintf(out, len, "%s:account:%s:tenant:%s", p,
	         ca && *ca ? ca : ACCOUNT_DEFAULT_CA, tenant);
	return out;
}

/* AAD binding a sealed key to its hash and version. */
static void key_aad(const char *hash, long long version, char *out, size_t len)
{
	snprintf(out, len, "%s|%lld", hash, version);
}

/* Serialises KEY for storage (sealed when KEK is set).  *OUT is a secret
 * or ciphertext: crypto_free_secret(). */
static enum account_status key_encode(const struct crypto_key *key,
                                      const struct account_kek *kek,
                                      const char *aad, char **out)
{
	char *pem = NULL;
	size_t pl = 0;
	*out = NULL;
	if (crypto_key_to_pem(key, &pem, &pl) != CRYPTO_OK)
		return ACCOUNT_ENOMEM;
	if (!kek || !kek->set) {
		*out = pem;
		return ACCOUNT_OK;
	}
	enum crypto_status cs = crypto_seal(kek->key, pem, pl, aad, out);
	crypto_free_secret(pem);
	return cs == CRYPTO_OK ? ACCOUNT_OK : ACCOUNT_ENOMEM;
}

/* Whether STORED is sealed (crypto_seal's output): the value decides, not
 * the "enc" field beside it, which whoever wrote the value also wrote. */
static bool is_sealed(const char *stored)
{
	return strncmp(stored, CRYPTO_SEAL_PREFIX, strlen(CRYPTO_SEAL_PREFIX)) == 0;
}

static enum account_status key_decode(const char *stored, bool encrypted,
                                      const struct account_kek *kek,
                                      const char *aad, struct crypto_key **out)
{
	char *pem = NULL;
	size_t pl = 0;
	*out = NULL;
	if (!encrypted && kek && kek->set)
		return ACCOUNT_EPLAINTEXT;
	if (encrypted) {
		if (!kek || !kek->set)
			return ACCOUNT_EKEK;
		enum crypto_status cs = crypto_open(kek->key, stored, aad, &pem, &pl);
		if (cs == CRYPTO_EAUTH)
			return ACCOUNT_EKEK;
		if (cs != CRYPTO_OK)
			return ACCOUNT_ECORRUPT;
		cs = crypto_key_from_pem(pem, pl, out);
		crypto_free_secret(pem);
		return cs == CRYPTO_OK ? ACCOUNT_OK : ACCOUNT_ECORRUPT;
	}
	return crypto_key_from_pem(stored, strlen(stored), out) == CRYPTO_OK
	       ? ACCOUNT_OK : ACCOUNT_ECORRUPT;
}

void account_free(struct account *a)
{
	if (!a)
		return;
	free(a->url);
	crypto_key_free(a->key);
	crypto_key_free(a->pending_key);
	memset(a, 0, sizeof(*a));
}

static bool parse_ll(const char *s, long long *out)
{
	char *end;
	if (!s || !*s)
		return false;
	long long v = strtoll(s, &end, 10);
	if (*end)
		return false;
	*out = v;
	return true;
}

enum account_status account_load(redisContext *rc, const char *hash,
                                 const struct account_kek *kek,
                                 struct account *out)
{
	enum account_status st = ACCOUNT_OK;
	char aad[300];
	const char *url = NULL, *key = NULL, *enc = NULL, *alg = NULL;
	const char *created = NULL, *ver = NULL, *pkey = NULL, *pver = NULL;
	memset(out, 0, sizeof(*out));
	redisReply *r = redisCommand(rc, "HGETALL %s", hash);
	if (!r || r->type != REDIS_REPLY_ARRAY) {
		st = ACCOUNT_EREDIS;
		goto out;
	}
	if (r->elements == 0) {
		st = ACCOUNT_NOTFOUND;
		goto out;
	}
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const redisReply *k = r->element[i], *v = r->element[i + 1];
		if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
		    v->len > ACCOUNT_FIELD_MAX) {
			st = ACCOUNT_ECORRUPT;
			goto out;
		}
		if (strcmp(k->str, "url") == 0) url = v->str;
		else if (strcmp(k->str, "key") == 0) key = v->str;
		else if (strcmp(k->str, "enc") == 0) enc = v->str;
		else if (strcmp(k->str, "alg") == 0) alg = v->str;
		else if (strcmp(k->str, "created_at") == 0) created = v->str;
		else if (strcmp(k->str, "key_version") == 0) ver = v->str;
		else if (strcmp(k->str, "pending_key") == 0) pkey = v->str;
		else if (strcmp(k->str, "pending_version") == 0) pver = v->str;
	}
	if (!url || !key || !ver || !parse_ll(ver, &out->key_version)) {
		st = ACCOUNT_ECORRUPT;
		goto out;
	}
	if (created)
		parse_ll(created, &out->created_at);
	out->encrypted = is_sealed(key);
	if (enc && strcmp(enc, out->encrypted ? "aes-256-gcm" : "none") != 0) {
		st = ACCOUNT_ECORRUPT;
		goto out;
	}
	snprintf(out->alg, sizeof(out->alg), "%s", alg ? alg : "");
	out->url = strdup(url);
	if (!out->url) {
		st = ACCOUNT_ENOMEM;
		goto out;
	}
	key_aad(hash, out->key_version, aad, sizeof(aad));
	st = key_decode(key, out->encrypted, kek, aad, &out->key);
	if (st != ACCOUNT_OK)
		goto out;
	if (pkey && pver && parse_ll(pver, &out->pending_version)) {
		key_aad(hash, out->pending_version, aad, sizeof(aad));
		/* An unreadable (or, under a KEK, unsealed) pending key is not
		 * fatal for normal work: it is left unused. */
		if (key_decode(pkey, is_sealed(pkey), kek, aad,
		               &out->pending_key) != ACCOUNT_OK)
			out->pending_version = 0;
	}
out:
	freeReplyObject(r);
	if (st != ACCOUNT_OK)
		account_free(out);
	return st;
}

static const char store_new_lua[] =
	"if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end "
	"redis.call('HSET', KEYS[1], 'url', ARGV[1], 'key', ARGV[2], 'enc', ARGV[3],"
	" 'alg', ARGV[4], 'created_at', ARGV[5], 'key_version', '1') "
	"return 1";

/* Runs a script that answers an integer; -2 on a Redis error. */
static long long eval_int(redisReply *r)
{
	long long v = -2;
	if (r && r->type == REDIS_REPLY_INTEGER)
		v = r->integer;
	freeReplyObject(r);
	return v;
}

enum account_status account_store_new(redisContext *rc, const char *hash,
                                      const struct account_kek *kek,
                                      const char *url,
                                      const struct crypto_key *key)
{
	char aad[300], now[32];
	char *stored = NULL;
	if (!url || !key)
		return ACCOUNT_EINVAL;
	key_aad(hash, 1, aad, sizeof(aad));
	enum account_status st = key_encode(key, kek, aad, &stored);
	if (st != ACCOUNT_OK)
		return st;
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	long long v = eval_int(redisCommand(rc, "EVAL %s 1 %s %s %s %s %s %s",
	                                    store_new_lua, hash, url, stored,
	                                    kek && kek->set ? "aes-256-gcm" : "none",
	                                    crypto_key_alg(key), now));
	crypto_free_secret(stored);
	return v == 1 ? ACCOUNT_OK : v == 0 ? ACCOUNT_EXISTS : ACCOUNT_EREDIS;
}

enum account_status account_version(redisContext *rc, const char *hash,
                                    long long *version)
{
	enum account_status st = ACCOUNT_OK;
	*version = 0;
	redisReply *r = redisCommand(rc, "HGET %s key_version", hash);
	if (!r)
		st = ACCOUNT_EREDIS;
	else if (r->type == REDIS_REPLY_STRING)
		st = parse_ll(r->str, version) ? ACCOUNT_OK : ACCOUNT_ECORRUPT;
	else if (r->type != REDIS_REPLY_NIL)
		st = ACCOUNT_EREDIS;
	freeReplyObject(r);
	return st;
}

enum account_status account_refresh(redisContext *rc, const char *hash,
                                    const struct account_kek *kek,
                                    struct account *a,
                                    struct acme_client *client, bool *changed)
{
	long long v;
	struct account fresh;
	*changed = false;
	enum account_status st = account_version(rc, hash, &v);
	if (st != ACCOUNT_OK || v == a->key_version)
		return st;
	st = account_load(rc, hash, kek, &fresh);
	if (st != ACCOUNT_OK)
		return st;
	if (client && acme_set_account(client, fresh.key, fresh.url) != ACME_OK) {
		account_free(&fresh);
		return ACCOUNT_ENOMEM;
	}
	account_free(a);
	*a = fresh;
	*changed = true;
	return ACCOUNT_OK;
}

static const char stage_lua[] =
	"local v = redis.call('HGET', KEYS[1], 'key_version') "
	"if not v then return -1 end "
	"if v ~= ARGV[1] then return 0 end "
	"if redis.call('HGET', KEYS[1], 'pending_key') then return 0 end "
	"redis.call('HSET', KEYS[1], 'pending_key', ARGV[2], 'pending_alg', ARGV[3],"
	" 'pending_version', tostring(tonumber(v) + 1)) "
	"return 1";

static const char commit_lua[] =
	"local v = redis.call('HGET', KEYS[1], 'key_version') "
	"if v ~= ARGV[1] then return 0 end "
	"local pk = redis.call('HGET', KEYS[1], 'pending_key') "
	"if not pk then return 0 end "
	"redis.call('HSET', KEYS[1], 'key', pk,"
	" 'alg', redis.call('HGET', KEYS[1], 'pending_alg'),"
	" 'key_version', redis.call('HGET', KEYS[1], 'pending_version'),"
	" 'rotated_at', ARGV[2]) "
	"redis.call('HDEL', KEYS[1], 'pending_key', 'pending_alg', 'pending_version') "
	"return 1";

static const char drop_lua[] =
	"if redis.call('HGET', KEYS[1], 'key_version') ~= ARGV[1] then return 0 end "
	"redis.call('HDEL', KEYS[1], 'pending_key', 'pending_alg', 'pending_version') "
	"return 1";

static long long run_cas(redisContext *rc, const char *script, const char *hash,
                         long long version, const char *arg)
{
	char v[32];
	snprintf(v, sizeof(v), "%lld", version);
	if (arg)
		return eval_int(redisCommand(rc, "EVAL %s 1 %s %s %s", script, hash,
		                             v, arg));
	return eval_int(redisCommand(rc, "EVAL %s 1 %s %s", script, hash, v));
}

/* Finishes or drops a rotation left half-done: asks the CA whether the
 * pending key already owns the account. */
static enum account_status recover_pending(redisContext *rc, const char *hash,
                                           struct acme_client *client,
                                           struct account *a)
{
	char now[32];
	const char *url = acme_account_url(client);
	char *saved = url ? strdup(url) : NULL;
	if (!saved)
		return ACCOUNT_ENOMEM;
	enum account_status st = ACCOUNT_OK;
	acme_set_account(client, a->pending_key, NULL);
	enum acme_status as = acme_account_register(client, NULL, NULL, NULL, true);
	bool moved = as == ACME_OK && strcmp(acme_account_url(client), saved) == 0;
	acme_set_account(client, a->key, saved);
	if (as != ACME_OK && as != ACME_E_NOACCOUNT && as != ACME_E_UNAUTHORIZED) {
		st = ACCOUNT_EACME;
		goto out;
	}
	if (moved) {
		snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
		if (run_cas(rc, commit_lua, hash, a->key_version, now) != 1) {
			st = ACCOUNT_CONFLICT;
			goto out;
		}
		crypto_key_free(a->key);
		a->key = a->pending_key;
		a->key_version = a->pending_version;
		acme_set_account(client, a->key, saved);
	} else {
		if (run_cas(rc, drop_lua, hash, a->key_version, NULL) != 1) {
			st = ACCOUNT_CONFLICT;
			goto out;
		}
		crypto_key_free(a->pending_key);
	}
	a->pending_key = NULL;
	a->pending_version = 0;
out:
	free(saved);
	return st;
}

enum account_status account_rotate(redisContext *rc, const char *hash,
                                   const struct account_kek *kek,
                                   struct acme_client *client,
                                   struct account *a,
                                   enum crypto_key_type new_type)
{
	char aad[300], now[32], ver[32];
	char *stored = NULL;
	struct crypto_key *nk = NULL;
	enum account_status st = ACCOUNT_OK;
	if (!a->key || !a->url)
		return ACCOUNT_EINVAL;
	if (a->pending_key) {
		st = recover_pending(rc, hash, client, a);
		if (st != ACCOUNT_OK)
			return st;
	}
	if (crypto_key_new(new_type, &nk) != CRYPTO_OK)
		return ACCOUNT_ENOMEM;
	key_aad(hash, a->key_version + 1, aad, sizeof(aad));
	st = key_encode(nk, a->encrypted ? kek : NULL, aad, &stored);
	if (st != ACCOUNT_OK)
		goto out;
	if (a->encrypted && (!kek || !kek->set)) {
		st = ACCOUNT_EKEK;
		goto out;
	}
	snprintf(ver, sizeof(ver), "%lld", a->key_version);
	long long v = eval_int(redisCommand(rc, "EVAL %s 1 %s %s %s %s", stage_lua,
	                                    hash, ver, stored, crypto_key_alg(nk)));
	if (v != 1) {
		st = v == -1 ? ACCOUNT_NOTFOUND : v == 0 ? ACCOUNT_CONFLICT
		                                         : ACCOUNT_EREDIS;
		goto out;
	}
	if (acme_key_change(client, nk) != ACME_OK) {
		/* The CA kept the old key: unstage the new one. */
		run_cas(rc, drop_lua, hash, a->key_version, NULL);
		st = ACCOUNT_EACME;
		goto out;
	}
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	if (run_cas(rc, commit_lua, hash, a->key_version, now) != 1) {
		/* The CA has the new key and CLIENT signs with it: it stays
		 * pending in Redis, where the next rotation finishes it, and in
		 * A, which keeps it alive for CLIENT. */
		crypto_key_free(a->pending_key);
		a->pending_key = nk;
		a->pending_version = a->key_version + 1;
		nk = NULL;
		st = ACCOUNT_CONFLICT;
		goto out;
	}
	crypto_key_free(a->key);
	a->key = nk;
	nk = NULL;
	a->key_version++;
	acme_set_account(client, a->key, a->url);
out:
	crypto_key_free(nk);
	crypto_free_secret(stored);
	return st;
}

enum account_status account_delete(redisContext *rc, const char *hash)
{
	redisReply *r = redisCommand(rc, "DEL %s", hash);
	enum account_status st = r && r->type == REDIS_REPLY_INTEGER
	                         ? ACCOUNT_OK : ACCOUNT_EREDIS;
	freeReplyObject(r);
	return st;
}

bool account_key_refused(enum acme_status st)
{
	/* A signature by a rotated-away key is refused as unauthorized,
	 * malformed ("JWS verification error") or accountDoesNotExist,
	 * depending on the CA. */
	return st == ACME_E_UNAUTHORIZED || st == ACME_E_BADPUBLICKEY ||
	       st == ACME_E_NOACCOUNT || st == ACME_E_MALFORMED;
}
