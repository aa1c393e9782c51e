/* crypto_seal: AES-256-GCM sealing of secrets at rest under a KEK, and the
 * wiping of secrets (crypto.h). */
#include "crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "secret.h"

#define GCM_NONCE 12
#define GCM_TAG 16

enum crypto_status crypto_seal(const unsigned char kek[32],
                               const void *plain, size_t len,
                               const char *aad, char **out)
{
	enum crypto_status st = CRYPTO_OK;
	EVP_CIPHER_CTX *ctx = NULL;
	unsigned char *buf = NULL;
	char *b64 = NULL;
	int n = 0;
	*out = NULL;
	if (len > CRYPTO_PEM_MAX)
		return CRYPTO_ETOOBIG;
	buf = malloc(GCM_NONCE + len + GCM_TAG);
	ctx = EVP_CIPHER_CTX_new();
	if (!buf || !ctx) {
		st = CRYPTO_ENOMEM;
		goto out;
	}
	if (crypto_random(buf, GCM_NONCE) != CRYPTO_OK ||
	    EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, kek, buf) != 1 ||
	    (aad && EVP_EncryptUpdate(ctx, NULL, &n, (const unsigned char *)aad,
	                              (int)strlen(aad)) != 1) ||
	    EVP_EncryptUpdate(ctx, buf + GCM_NONCE, &n, plain, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(ctx, buf + GCM_NONCE + n, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, GCM_TAG,
	                        buf + GCM_NONCE + len) != 1) {
		st = CRYPTO_ELIB;
		goto out;
	}
	b64 = crypto_b64url_encode(buf, GCM_NONCE + len + GCM_TAG);
	size_t pl = strlen(CRYPTO_SEAL_PREFIX);
	char *s = b64 ? malloc(pl + strlen(b64) + 1) : NULL;
	if (!s) {
		st = CRYPTO_ENOMEM;
		goto out;
	}
	memcpy(s, CRYPTO_SEAL_PREFIX, pl);
	strcpy(s + pl, b64);
	*out = s;
out:
	free(b64);
	if (buf)
		OPENSSL_cleanse(buf, GCM_NONCE + len + GCM_TAG);
	free(buf);
	EVP_CIPHER_CTX_free(ctx);
	return st;
}

enum crypto_status crypto_open(const unsigned char kek[32], const char *sealed,
                               const char *aad, char **out, size_t *outlen)
{
	enum crypto_status st = CRYPTO_OK;
	EVP_CIPHER_CTX *ctx = NULL;
	unsigned char *raw = NULL;
	size_t rawlen = 0;
	char *plain = NULL;
	int n = 0;
	*out = NULL;
	size_t pl = strlen(CRYPTO_SEAL_PREFIX);
	size_t sl = strnlen(sealed, 2 * CRYPTO_PEM_MAX + 1);
	if (sl > 2 * CRYPTO_PEM_MAX)
		return CRYPTO_ETOOBIG;
	if (strncmp(sealed, CRYPTO_SEAL_PREFIX, pl) != 0)
		return CRYPTO_EPARSE;
	st = crypto_b64url_decode(sealed + pl, sl - pl, &raw, &rawlen);
	if (st != CRYPTO_OK)
		goto out;
	if (rawlen < GCM_NONCE + GCM_TAG) {
		st = CRYPTO_EPARSE;
		goto out;
	}
	size_t clen = rawlen - GCM_NONCE - GCM_TAG;
	plain = malloc(clen + 1);
	ctx = EVP_CIPHER_CTX_new();
	if (!plain || !ctx) {
		st = CRYPTO_ENOMEM;
		goto out;
	}
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, kek, raw) != 1 ||
	    (aad && EVP_DecryptUpdate(ctx, NULL, &n, (const unsigned char *)aad,
	                              (int)strlen(aad)) != 1) ||
	    EVP_DecryptUpdate(ctx, (unsigned char *)plain, &n, raw + GCM_NONCE,
	                      (int)clen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, GCM_TAG,
	                        raw + GCM_NONCE + clen) != 1) {
		st = CRYPTO_ELIB;
		goto out;
	}
	if (EVP_DecryptFinal_ex(ctx, (unsigned char *)plain + n, &n) != 1) {
		st = CRYPTO_EAUTH;
		goto out;
	}
	plain[clen] = '\0';
	*out = plain;
	if (outlen)
		*outlen = clen;
	plain = NULL;
out:
	if (plain) {
		OPENSSL_cleanse(plain, clen + 1);
		free(plain);
	}
	if (raw) {
		OPENSSL_cleanse(raw, rawlen);
		free(raw);
	}
	EVP_CIPHER_CTX_free(ctx);
	return st;
}

void crypto_free_secret(char *s)
{
	secret_free(s); /* the one wipe (secret.h) */
}
