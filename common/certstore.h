/*
 * certstore: issued certificates in Redis, "<prefix>:cert:<domain>":
 *
 *   chain        the PEM chain as downloaded (leaf first)
 *   key          the certificate's private key: "aesgcm1:..." sealed under
 *                the key-encryption key (the AAD is the hash's name, so a
 *                value cannot be moved to another domain); PKCS#8 PEM only
 *                with acme.allow_plaintext_keys and no KEK
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
 * The hash is replaced as a whole on every issuance (MULTI/EXEC), so a
 * reader never sees the chain of one certificate with the key of another.
 */
#ifndef DCV_CERTSTORE_H
#define DCV_CERTSTORE_H

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

enum certstore_status {
	CERTSTORE_OK = 0,
	CERTSTORE_ENOMEM,
	CERTSTORE_EKEK,        /* sealed, and the KEK is missing or wrong, or the
	                          value was altered or moved (AAD) */
	CERTSTORE_EPLAINTEXT,  /* in the clear while a KEK is configured */
};

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

/* Stores the certificate of DOMAIN.  Returns 0, or -1 with ERR filled (never
 * with key material in it). */
int certstore_put(struct queue *q, const char *domain, const char *chain,
                  const char *key_pem, const struct account_kek *kek,
                  const char *names, const struct cert_summary *s,
                  uint64_t renew_at_ms, char *err, size_t errlen);

#endif
