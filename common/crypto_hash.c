/* crypto_hash: base64url, SHA-256, HMAC-SHA-256 and random bytes
 * (crypto.h).  In the core library, as names (dname.c) hash with it too. */
#include "crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

static const char b64url_alpha[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *crypto_b64url_encode(const void *data, size_t len)
{
	const unsigned char *p = data;
	if (len > (SIZE_MAX / 4) * 3 - 4)
		return NULL;
	char *s = malloc((len + 2) / 3 * 4 + 1);
	if (!s)
		return NULL;
	size_t o = 0, i = 0;
	for (; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		s[o++] = b64url_alpha[v >> 18 & 63];
		s[o++] = b64url_alpha[v >> 12 & 63];
		s[o++] = b64url_alpha[v >> 6 & 63];
		s[o++] = b64url_alpha[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		s[o++] = b64url_alpha[v >> 18 & 63];
		s[o++] = b64url_alpha[v >> 12 & 63];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		s[o++] = b64url_alpha[v >> 18 & 63];
		s[o++] = b64url_alpha[v >> 12 & 63];
		s[o++] = b64url_alpha[v >> 6 & 63];
	}
	s[o] = '\0';
	return s;
}

static int b64url_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

enum crypto_status crypto_b64url_decode(const char *s, size_t len,
                                        unsigned char **out, size_t *outlen)
{
	*out = NULL;
	*outlen = 0;
	while (len > 0 && s[len - 1] == '=')
		len--;
	if (len % 4 == 1)
		return CRYPTO_EPARSE;
	unsigned char *buf = malloc(len / 4 * 3 + 3);
	if (!buf)
		return CRYPTO_ENOMEM;
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		int v = b64url_val((unsigned char)s[i]);
		if (v < 0) {
			free(buf);
			return CRYPTO_EPARSE;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Leftover bits must be zero (canonical encoding). */
	if (acc != 0) {
		free(buf);
		return CRYPTO_EPARSE;
	}
	buf[o] = '\0';
	*out = buf;
	*outlen = o;
	return CRYPTO_OK;
}

void crypto_sha256(const void *data, size_t len, unsigned char out[32])
{
	unsigned int n = 32;
	EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

enum crypto_status crypto_hmac_sha256(const unsigned char *key, size_t keylen,
                                      const void *data, size_t len,
                                      unsigned char out[32])
{
	unsigned int n = 32;
	if (!HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &n))
		return CRYPTO_ELIB;
	return CRYPTO_OK;
}

enum crypto_status crypto_random(void *buf, size_t len)
{
	return RAND_bytes(buf, (int)len) == 1 ? CRYPTO_OK : CRYPTO_ELIB;
}
