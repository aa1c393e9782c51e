/*
 * account: the ACME account shared by the whole fleet, kept in Redis.
 *
 * Workers are stateless, so the account URL and key live in a hash,
 * "<prefix>:account" (prefix default "dcv") for the CA named "default" (the
 * only one of a single-CA configuration) and "<prefix>:account:<ca>" for
 * each other CA of acme.cas, "<prefix>:account:<ca>:tenant:<tenant>" for a
 * tenant's own account at a CA (account_hash(), account_tenant_hash();
 * every call below takes that name):
 *
 *   url          the account URL (the JWS kid)
 *   key          the private key sealed under the key-encryption key (KEK):
 *                "aesgcm1:..." (AES-256-GCM, the AAD binds it to the hash
 *                name and key_version); PKCS#8 PEM only where the operator
 *                chose acme.allow_plaintext_keys and configured no KEK
 *   enc          "aes-256-gcm" or "none"
 *   alg          ES256 / ES384 / RS256
 *   created_at   unix seconds
 *   key_version  1, 2, ... incremented by every rotation
 *   rotated_at   unix seconds of the last rotation
 *   pending_key, pending_version   a rotation in progress (see below)
 *
 * Rotation: the new key is first written as pending_key with a Lua
 * compare-and-set on key_version (which also refuses a second concurrent
 * rotation), then keyChange is sent to the CA, then a second CAS promotes
 * pending_key to key and bumps key_version.  If the process dies between
 * keyChange and the promotion, a reader that finds its requests refused can
 * try the pending key (account_load() exposes it), so the account is never
 * lost.
 *
 * Workers call account_refresh() cheaply (one HGET of key_version) and
 * reload when it moved; a request refused for its key
 * (account_key_refused()) is tried again with the reloaded key.
 *
 * With a KEK configured, a key read back in the clear is refused
 * (ACCOUNT_EPLAINTEXT), never used: anyone who can write to Redis could
 * have planted it, and the fleet would then sign, or hold certificate keys,
 * with a key someone else knows.  This KEK seals the account key only:
 * certificate keys are sealed under the certificate KEK (certstore.h).
 *
 * Nothing here logs the key.  All functions take a connected redisContext
 * (borrowed; not thread-safe, like hiredis itself).
 */
#ifndef DCV_ACCOUNT_H
#define DCV_ACCOUNT_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#include "acme.h"
#include "crypto.h"

/* The environment variable the KEK may come from (account_kek_load). */
#define ACCOUNT_KEK_ENV "DCV_ACME_KEK"

enum account_status {
	ACCOUNT_OK = 0,
	ACCOUNT_NOTFOUND,   /* no account in Redis */
	ACCOUNT_EXISTS,     /* register: an account is already stored */
	ACCOUNT_CONFLICT,   /* key_version moved, or a rotation is in progress */
	ACCOUNT_EREDIS,     /* Redis error or unexpected reply */
	ACCOUNT_EKEK,       /* key is encrypted and no/wrong KEK, or KEK unreadable */
	ACCOUNT_EPLAINTEXT, /* a KEK is configured and the stored key is not sealed */
	ACCOUNT_ECORRUPT,   /* stored fields do not parse */
	ACCOUNT_EACME,      /* the CA refused (see the client's last problem) */
	ACCOUNT_ENOMEM,
	ACCOUNT_EINVAL,
};

const char *account_strerror(enum account_status st);

/* The CA whose account keeps the hash of a single-CA fleet. */
#define ACCOUNT_DEFAULT_CA "default"

/* The name of CA's account hash under PREFIX (NULL or "": "dcv"): the
 * sealed key's AAD binds it, so the default CA's stays "<prefix>:account".
 * CA NULL or "" is the default.  Into OUT (LEN bytes); returns OUT. */
const char *account_hash(const char *prefix, const char *ca, char *out, size_t len);

/* The hash of TENANT's own account at CA (a tenant's EAB account, README
 * "More than one CA"): "<prefix>:account:<ca>:tenant:<tenant>", the CA
 * named even when it is "default".  TENANT must be a valid tenant
 * (job_tenant_check: no ':' or space) and CA a CA name; NULL or "" TENANT
 * is account_hash()'s.  Into OUT (LEN bytes); returns OUT. */
const char *account_tenant_hash(const char *prefix, const char *ca, const char *tenant,
                                char *out, size_t len);

/* A key-encryption key: 32 bytes.  The account KEK seals the account key
 * only; the certificates' keys have their own (certstore.h), so a backend
 * given the one that opens certificate keys cannot open the account key. */
struct account_kek {
	bool set;
	unsigned char key[32];
};

/* Loads the KEK from FILE if not NULL, else from the environment variable
 * DCV_ACME_KEK if set; either holds 64 hex digits or base64url of 32 bytes
 * (whitespace trimmed).  Neither: out->set = false and ACCOUNT_OK.
 * Wipe with account_kek_wipe(). */
enum account_status account_kek_load(const char *file, struct account_kek *out);

/* The same with the environment variable VAR instead of DCV_ACME_KEK: the
 * certificate KEK (certstore.h, CERTSTORE_KEK_ENV) is read this way, in
 * the same format, from its own file or variable. */
enum account_status account_kek_load_env(const char *file, const char *var,
                                         struct account_kek *out);
void account_kek_wipe(struct account_kek *k);

/* Whether keys may be stored with KEK (loaded): NULL when KEK is set or
 * ALLOW_PLAINTEXT (acme.allow_plaintext_keys), else the reason to refuse,
 * for the worker's start and dcvctl's commands that store a key.  Static. */
const char *account_kek_policy(const struct account_kek *kek, bool allow_plaintext);

/* The account as loaded. */
struct account {
	char *url;
	struct crypto_key *key;
	char alg[8];
	long long created_at;
	long long key_version;
	bool encrypted;
	struct crypto_key *pending_key; /* a rotation in progress, else NULL */
	long long pending_version;
};

void account_free(struct account *a);

/* Reads the account in HASH (account_hash()).  KEK may be NULL (or unset): an
 * encrypted key then gives ACCOUNT_EKEK.  With KEK set, a key stored in the
 * clear gives ACCOUNT_EPLAINTEXT (a pending key in the clear is dropped
 * the same way, as an unreadable one is).  OUT is filled on ACCOUNT_OK. */
enum account_status account_load(redisContext *rc, const char *hash,
                                 const struct account_kek *kek,
                                 struct account *out);

/* Stores a new account (URL, KEY borrowed) with key_version 1; encrypted
 * when KEK is set.  ACCOUNT_EXISTS if one is already stored (atomic). */
enum account_status account_store_new(redisContext *rc, const char *hash,
                                      const struct account_kek *kek,
                                      const char *url,
                                      const struct crypto_key *key);

/* The stored key_version (0 when there is no account): one HGET. */
enum account_status account_version(redisContext *rc, const char *hash,
                                    long long *version);

/* Reloads A when the stored key_version differs from a->key_version;
 * *CHANGED tells whether it did.  CLIENT (may be NULL) is pointed at the
 * new key and URL before the old key is freed. */
enum account_status account_refresh(redisContext *rc, const char *hash,
                                    const struct account_kek *kek,
                                    struct account *a,
                                    struct acme_client *client, bool *changed);

/* Rotates the account key: a new key of NEW_TYPE, staged in Redis, keyChange
 * at the CA through CLIENT (which must be set to A's key and URL), then
 * promoted atomically.  A rotation left half-done by a crash (a pending key
 * in Redis) is finished first if the CA already knows the pending key, or
 * dropped if it does not.  On ACCOUNT_OK, A holds the new key and version and
 * CLIENT signs with it.  ACCOUNT_CONFLICT if another rotation is in progress
 * or A is stale; ACCOUNT_EACME when the CA refused (the staged key is
 * dropped again). */
enum account_status account_rotate(redisContext *rc, const char *hash,
                                   const struct account_kek *kek,
                                   struct acme_client *client,
                                   struct account *a,
                                   enum crypto_key_type new_type);

/* Removes the account hash HASH (after deactivation). */
enum account_status account_delete(redisContext *rc, const char *hash);

/* Whether ST is a request refused for the key that signed it:
 * unauthorized, badPublicKey, malformed (a JWS the CA cannot verify) or
 * accountDoesNotExist, depending on the CA.  Only a key_version that moved
 * (account_refresh) makes it a rotation; the stages' rule for it is in
 * workers/acme_outcome.h. */
bool account_key_refused(enum acme_status st);

#endif
