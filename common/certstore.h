/*
 * certstore: issued certificates in Redis, "<prefix>:cert:<domain>":
 *
 *   chain        the PEM chain as downloaded (leaf first)
 *   key          the certificate's private key: "aesgcm1:..." sealed under
 *                the certificate key-encryption key (acme.cert_kek_file or
 *                DCV_CERT_KEK; the AAD is the hash's name, so a value
 *                cannot be moved to another domain); PKCS#8 PEM only with
 *                acme.allow_plaintext_keys and no certificate KEK
 *   key_enc      "aes-256-gcm" or "none"
 *   names        the certificate's names, comma-separated
 *   serial       hex, as openssl prints it
 *   not_before, not_after, issued_at   unix seconds
 *   ari_id       the RFC 9773 certificate identifier (for "replaces")
 *   renew_at     unix ms when the renewal is due
 *
 * The layout of the sealed key and its AAD is a contract with the backends:
 * schemas/certificate.md (with test vectors).
 *
 * The certificate KEK is not the account's (account.h): a backend that
 * opens certificate keys is given the one and never the other.  The two
 * are independent: either may be missing (its keys then in the clear, only
 * with acme.allow_plaintext_keys).  Keys sealed by a fleet from before the
 * split are under the account KEK: certstore_open_diag() tells them apart
 * and "dcvctl cert rewrap --from-account-kek" moves them.
 *
 * The hash is replaced as a whole on every issuance (MULTI/EXEC), so a
 * reader never sees the chain of one certificate with the key of another.
 * The same transaction sets the domain's score in the expiry index
 * "<prefix>:expiry" to not_after (schemas/redis.md), so the index and the
 * stored certificate cannot disagree.
 */
#ifndef DCV_CERTSTORE_H
#define DCV_CERTSTORE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "account.h"
#include "queue.h"

struct cert_summary {
	char serial[130];      /* hex */
	time_t not_before, not_after;
	char ari_id[256];      /* "" when the certificate has no AKI */
};

/* Reads what the stages need from the first certificate of CHAIN. */
int certstore_summary(const char *chain, struct cert_summary *out);

/* Whether the hex serials A and B are the same number (case and leading
 * zeros aside: "07D7" is "7d7"). */
bool certstore_same_serial(const char *a, const char *b);

enum certstore_status {
	CERTSTORE_OK = 0,
	CERTSTORE_ENOMEM,
	CERTSTORE_EKEK,        /* sealed, and the KEK is missing or wrong, or the
	                          value was altered or moved (AAD) */
	CERTSTORE_EPLAINTEXT,  /* in the clear while a KEK is configured */
	CERTSTORE_EACCOUNTKEK, /* sealed under the account KEK, not the
	                          certificate KEK (certstore_open_diag) */
};

/* The environment variable the certificate KEK may come from, when
 * acme.cert_kek_file is not set (account_kek_load_env(), same format). */
#define CERTSTORE_KEK_ENV "DCV_CERT_KEK"

/* Loads the certificate KEK from FILE, else DCV_CERT_KEK (as
 * account_kek_load()).  Neither: out->set = false and ACCOUNT_OK. */
enum account_status certstore_kek_load(const char *file, struct account_kek *out);

/* NULL when certificate keys may be stored with KEK (loaded): it is set, or
 * ALLOW_PLAINTEXT; else the reason to refuse.  Static. */
const char *certstore_kek_policy(const struct account_kek *kek, bool allow_plaintext);

const char *certstore_strerror(enum certstore_status st);

/* Seals SECRET under KEK with AAD when KEK is set, else copies it.  *OUT is
 * malloc'd (free with crypto_free_secret()).  Returns 0 or -1. */
int certstore_seal(const struct account_kek *kek, const char *secret,
                   const char *aad, char **out);

/* The reverse, for every certificate key read back from Redis (a domain's
 * pending_key, the key of <prefix>:cert:<domain>): opens "aesgcm1:..."
 * (needs KEK) or, with no KEK configured, copies plain PEM.  With a KEK, a
 * value in the clear is refused (CERTSTORE_EPLAINTEXT), never used: anyone
 * who can write to Redis could have planted a key they know.  *OUT is a
 * secret (crypto_free_secret()), set on CERTSTORE_OK only. */
enum certstore_status certstore_open(const struct account_kek *kek, const char *stored,
                                     const char *aad, char **out);

/* certstore_open() under KEK; when that gives CERTSTORE_EKEK and the value
 * opens under ACCOUNT_KEK (may be NULL or unset), CERTSTORE_EACCOUNTKEK
 * instead: a key sealed before the certificate KEK existed, which rewrap
 * moves.  What opened under ACCOUNT_KEK is wiped, never handed out. */
enum certstore_status certstore_open_diag(const struct account_kek *kek,
                                          const struct account_kek *account_kek,
                                          const char *stored, const char *aad,
                                          char **out);

/* Stores the certificate of DOMAIN.  Returns 0, or -1 with ERR filled (never
 * with key material in it). */
int certstore_put(struct queue *q, const char *domain, const char *chain,
                  const char *key_pem, const struct account_kek *kek,
                  const char *names, const struct cert_summary *s,
                  uint64_t renew_at_ms, char *err, size_t errlen);

#endif
