/*
 * crypto: OpenSSL 3 behind one small API, for the ACME client and the
 * account store.
 *
 * Keys are opaque (struct crypto_key).  Everything that leaves this module
 * is either a public value (JWK, thumbprint, CSR, signature) or a secret the
 * caller asked for explicitly (PEM of a private key), which the caller must
 * wipe and free with crypto_free_secret().  Nothing here logs.
 *
 * JWS objects are built with jansson (flattened JSON serialisation, RFC 7515
 * section 7.2.2), never by hand.
 *
 * The module's files: crypto.c keys, JWK and JWS; crypto_hash.c base64url,
 * SHA-256, HMAC and random bytes (in the core library: names are hashed
 * with it, dname.c); crypto_seal.c AES-GCM sealing; crypto_x509.c CSRs,
 * certificates and chain checks.  Nothing else in common/ or workers/
 * calls OpenSSL (the unit tests do, to check what comes out).
 */
#ifndef DCV_CRYPTO_H
#define DCV_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

enum crypto_status {
	CRYPTO_OK = 0,
	CRYPTO_EINVAL,   /* bad argument (unknown key type, empty input) */
	CRYPTO_ENOMEM,
	CRYPTO_EPARSE,   /* input is not the PEM/DER/base64url it should be */
	CRYPTO_EAUTH,    /* AES-GCM tag mismatch: wrong key or tampered data */
	CRYPTO_ETOOBIG,  /* input over a size cap */
	CRYPTO_ELIB,     /* OpenSSL failed */
	CRYPTO_EMISMATCH,/* a certificate is not what was asked for (crypto_chain_check) */
};

const char *crypto_strerror(enum crypto_status st);

/* Account keys (ES256/ES384/RS256) and certificate keys share one enum. */
enum crypto_key_type {
	CRYPTO_KEY_P256 = 0, /* ECDSA P-256, JWS alg ES256 (default) */
	CRYPTO_KEY_P384,     /* ECDSA P-384, ES384 */
	CRYPTO_KEY_RSA2048,  /* RSA 2048, RS256 */
	CRYPTO_KEY_RSA3072,  /* RSA 3072, RS256 */
};

/* Parses "p256"/"ec256"/"es256", "p384"/"ec384"/"es384", "rsa2048"/"rs256",
 * "rsa3072" (case-insensitive).  Returns -1 if unknown. */
int crypto_key_type_parse(const char *s);
const char *crypto_key_type_name(enum crypto_key_type t);

/* Caps on outside input handled here. */
#define CRYPTO_PEM_MAX (64 * 1024)      /* one key or one certificate chain */
#define CRYPTO_CHAIN_MAX (256 * 1024)   /* a downloaded chain */

struct crypto_key;

/* Generates a new key of type T into *OUT; the caller frees it with
 * crypto_key_free(). */
enum crypto_status crypto_key_new(enum crypto_key_type t,
                                  struct crypto_key **out);

/* Reads a private key from PEM (PKCS#8 or traditional, unencrypted).
 * Only the supported types are accepted.  The caller frees *OUT. */
enum crypto_status crypto_key_from_pem(const char *pem, size_t len,
                                       struct crypto_key **out);

/* Writes the private key as PKCS#8 PEM into *OUT (NUL-terminated, length in
 * *LEN if LEN is not NULL).  A secret: free with crypto_free_secret(). */
enum crypto_status crypto_key_to_pem(const struct crypto_key *k, char **out,
                                     size_t *len);

void crypto_key_free(struct crypto_key *k);

enum crypto_key_type crypto_key_type(const struct crypto_key *k);

/* "ES256", "ES384" or "RS256": a static string. */
const char *crypto_key_alg(const struct crypto_key *k);

/* The public JWK of K with only the members RFC 7638 requires (new
 * reference, the caller json_decref()s it); NULL on failure. */
json_t *crypto_key_jwk(const struct crypto_key *k);

/* RFC 7638 thumbprint of a public JWK: base64url(SHA-256(canonical JSON of
 * the required members)).  OUT gets 43 characters and a NUL (44 bytes).
 * Pure: works on any JWK object, not only ours. */
enum crypto_status crypto_jwk_thumbprint(const json_t *jwk, char out[44]);

/* The thumbprint of K's public key. */
enum crypto_status crypto_key_thumbprint(const struct crypto_key *k,
                                         char out[44]);

/* base64url without padding.  Returns a malloc'd NUL-terminated string the
 * caller frees, or NULL when out of memory. */
char *crypto_b64url_encode(const void *data, size_t len);

/* Decodes base64url (padding '=' tolerated, no other characters).  *OUT is
 * malloc'd (with a NUL after *OUTLEN bytes for convenience); the caller
 * frees it. */
enum crypto_status crypto_b64url_decode(const char *s, size_t len,
                                        unsigned char **out, size_t *outlen);

void crypto_sha256(const void *data, size_t len, unsigned char out[32]);

enum crypto_status crypto_hmac_sha256(const unsigned char *key, size_t keylen,
                                      const void *data, size_t len,
                                      unsigned char out[32]);

/* Fills BUF with LEN bytes from the OpenSSL CSPRNG. */
enum crypto_status crypto_random(void *buf, size_t len);

/* Builds a flattened JWS over PAYLOAD (a string; "" for POST-as-GET) with
 * the protected header PROT (borrowed; "alg" is set here).  Signed by KEY,
 * or when KEY is NULL by HMAC-SHA256 under MAC/MACLEN (alg HS256, for
 * External Account Binding).  *OUT is a new reference the caller
 * json_decref()s. */
enum crypto_status crypto_jws(const struct crypto_key *key,
                              const unsigned char *mac, size_t maclen,
                              json_t *prot, const char *payload,
                              json_t **out);

/* Makes a new certificate key of type T and a CSR for NAMES (N of them,
 * borrowed; all in the SAN extension, the first as CN when it fits in 64
 * octets).  *CSR_B64 gets base64url(DER of the CSR) (caller frees);
 * *KEY_PEM gets the new private key (a secret: crypto_free_secret()). */
enum crypto_status crypto_csr_new(enum crypto_key_type t,
                                  const char *const *names, size_t n,
                                  char **csr_b64, char **key_pem);

/* AES-256-GCM for secrets at rest.  The output is the text
 * "aesgcm1:" base64url(12-byte nonce || ciphertext || 16-byte tag), with AAD
 * bound in (it is not stored; the same AAD must be given to open).
 * *OUT is malloc'd; the caller frees it. */
#define CRYPTO_SEAL_PREFIX "aesgcm1:"
enum crypto_status crypto_seal(const unsigned char kek[32],
                               const void *plain, size_t len,
                               const char *aad, char **out);

/* Opens what crypto_seal() made.  *OUT (NUL-terminated, length *OUTLEN) is a
 * secret: crypto_free_secret().  CRYPTO_EAUTH on a wrong key or tampering. */
enum crypto_status crypto_open(const unsigned char kek[32], const char *sealed,
                               const char *aad, char **out, size_t *outlen);

/* Wipes and frees a NUL-terminated secret string (NULL is a no-op). */
void crypto_free_secret(char *s);

/* What the ACME client needs from a certificate. */
struct crypto_cert_info {
	time_t not_before;
	time_t not_after;
	unsigned char serial[64];  /* DER content octets of the serial INTEGER */
	size_t serial_len;
	unsigned char aki[64];     /* authorityKeyIdentifier keyIdentifier */
	size_t aki_len;            /* 0 when absent */
	char **sans;               /* dNSName SANs, lower-case as in the cert */
	size_t n_sans;
	char issuer_cn[256];       /* issuer common name, "" if none */
};

/* Parses the first certificate of PEM (at most CRYPTO_CHAIN_MAX bytes).
 * A dNSName SAN with a NUL inside makes it CRYPTO_EPARSE: as a C string it
 * would read as a shorter name than the one signed.  Free the result with
 * crypto_cert_info_free(). */
enum crypto_status crypto_cert_info(const char *pem, size_t len,
                                    struct crypto_cert_info *out);
void crypto_cert_info_free(struct crypto_cert_info *ci);

/* DER of the first certificate of PEM as base64url (caller frees). */
enum crypto_status crypto_cert_der_b64(const char *pem, size_t len,
                                       char **out);

/* Whether any certificate of the PEM chain has ISSUER as the common name of
 * its issuer (how "preferred chain" is matched, as certbot does). */
bool crypto_chain_has_issuer(const char *pem, size_t len, const char *issuer);

#define CRYPTO_CHAIN_CERTS_MAX 10  /* certificates in one chain */

/* Checks a chain downloaded from a CA before anything trusts it:
 *   - PEM (LEN bytes, at most CRYPTO_CHAIN_MAX) holds 1 to
 *     CRYPTO_CHAIN_CERTS_MAX certificates, all of which parse;
 *   - the first (the leaf) is no CA and its public key is that of KEY_PEM
 *     (the private key of our CSR; borrowed, not kept);
 *   - its subjectAltName holds DNS names only, and as a set exactly NAMES
 *     (N of them, compared without case), and a subject CN, if any, is one
 *     of them;
 *   - each certificate is issued by the next: issuer and subject names
 *     match (and the key identifiers, when present) and its signature
 *     verifies under the next one's key.
 * The last certificate is not checked against any trust anchor here (the
 * CA is the one configured; clients verify to their roots).  Returns
 * CRYPTO_OK, CRYPTO_EMISMATCH or CRYPTO_EPARSE with the reason in WHY (names
 * and positions only, never key material), or CRYPTO_EINVAL / ENOMEM. */
enum crypto_status crypto_chain_check(const char *pem, size_t len, const char *key_pem,
                                      const char *const *names, size_t n,
                                      char *why, size_t whylen);

#endif
