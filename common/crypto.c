/* crypto: keys, their JWK and thumbprint, and JWS signatures (crypto.h).
 * The rest of the module: crypto_hash.c (base64url, SHA-256, HMAC,
 * random), crypto_seal.c (AES-GCM sealing), crypto_x509.c (CSRs,
 * certificates, chain checks); crypto_internal.h what they share. */
#include "crypto.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto_internal.h"

const char *crypto_strerror(enum crypto_status st)
{
	switch (st) {
	case CRYPTO_OK: return "ok";
	case CRYPTO_EINVAL: return "invalid argument";
	case CRYPTO_ENOMEM: return "out of memory";
	case CRYPTO_EPARSE: return "malformed input";
	case CRYPTO_EAUTH: return "authentication failed (wrong key or tampered data)";
	case CRYPTO_ETOOBIG: return "input too large";
	case CRYPTO_ELIB: return "OpenSSL error";
	case CRYPTO_EMISMATCH: return "the certificate does not match the request";
	}
	return "unknown crypto status";
}

static const struct {
	const char *name;
	enum crypto_key_type t;
} key_names[] = {
	{ "p256", CRYPTO_KEY_P256 }, { "ec256", CRYPTO_KEY_P256 },
	{ "es256", CRYPTO_KEY_P256 }, { "p384", CRYPTO_KEY_P384 },
	{ "ec384", CRYPTO_KEY_P384 }, { "es384", CRYPTO_KEY_P384 },
	{ "rsa2048", CRYPTO_KEY_RSA2048 }, { "rs256", CRYPTO_KEY_RSA2048 },
	{ "rsa3072", CRYPTO_KEY_RSA3072 },
};

int crypto_key_type_parse(const char *s)
{
	if (!s)
		return -1;
	for (size_t i = 0; i < sizeof(key_names) / sizeof(key_names[0]); i++)
		if (strcasecmp(s, key_names[i].name) == 0)
			return (int)key_names[i].t;
	return -1;
}

const char *crypto_key_type_name(enum crypto_key_type t)
{
	switch (t) {
	case CRYPTO_KEY_P256: return "p256";
	case CRYPTO_KEY_P384: return "p384";
	case CRYPTO_KEY_RSA2048: return "rsa2048";
	case CRYPTO_KEY_RSA3072: return "rsa3072";
	}
	return "?";
}

static EVP_PKEY *gen_pkey(enum crypto_key_type t)
{
	switch (t) {
	case CRYPTO_KEY_P256: return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	case CRYPTO_KEY_P384: return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	case CRYPTO_KEY_RSA2048: return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	case CRYPTO_KEY_RSA3072: return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	}
	return NULL;
}

enum crypto_status crypto_key_new(enum crypto_key_type t,
                                  struct crypto_key **out)
{
	*out = NULL;
	if ((int)t < 0 || t > CRYPTO_KEY_RSA3072)
		return CRYPTO_EINVAL;
	struct crypto_key *k = calloc(1, sizeof(*k));
	if (!k)
		return CRYPTO_ENOMEM;
	k->pkey = gen_pkey(t);
	if (!k->pkey) {
		free(k);
		return CRYPTO_ELIB;
	}
	k->type = t;
	*out = k;
	return CRYPTO_OK;
}

/* The supported type of PKEY, or -1. */
static int classify(EVP_PKEY *pkey)
{
	if (EVP_PKEY_is_a(pkey, "EC")) {
		char grp[64];
		size_t gl = 0;
		if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
		                                    grp, sizeof(grp), &gl))
			return -1;
		if (strcmp(grp, "prime256v1") == 0 || strcmp(grp, "P-256") == 0)
			return CRYPTO_KEY_P256;
		if (strcmp(grp, "secp384r1") == 0 || strcmp(grp, "P-384") == 0)
			return CRYPTO_KEY_P384;
		return -1;
	}
	if (EVP_PKEY_is_a(pkey, "RSA")) {
		int bits = EVP_PKEY_get_bits(pkey);
		if (bits == 2048)
			return CRYPTO_KEY_RSA2048;
		if (bits == 3072)
			return CRYPTO_KEY_RSA3072;
	}
	return -1;
}

enum crypto_status crypto_key_from_pem(const char *pem, size_t len,
                                       struct crypto_key **out)
{
	enum crypto_status st = CRYPTO_OK;
	BIO *bio = NULL;
	EVP_PKEY *pkey = NULL;
	*out = NULL;
	if (!pem || len == 0)
		return CRYPTO_EINVAL;
	if (len > CRYPTO_PEM_MAX)
		return CRYPTO_ETOOBIG;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio) {
		st = CRYPTO_ENOMEM;
		goto out;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	if (!pkey) {
		ERR_clear_error();
		st = CRYPTO_EPARSE;
		goto out;
	}
	int t = classify(pkey);
	if (t < 0) {
		st = CRYPTO_EINVAL;
		goto out;
	}
	struct crypto_key *k = calloc(1, sizeof(*k));
	if (!k) {
		st = CRYPTO_ENOMEM;
		goto out;
	}
	k->pkey = pkey;
	k->type = (enum crypto_key_type)t;
	pkey = NULL;
	*out = k;
out:
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	return st;
}

/* Copies a memory BIO's contents into a new NUL-terminated string. */
static enum crypto_status bio_to_string(BIO *bio, char **out, size_t *len)
{
	char *data = NULL;
	long n = BIO_get_mem_data(bio, &data);
	if (n < 0)
		return CRYPTO_ELIB;
	char *s = malloc((size_t)n + 1);
	if (!s)
		return CRYPTO_ENOMEM;
	memcpy(s, data, (size_t)n);
	s[n] = '\0';
	*out = s;
	if (len)
		*len = (size_t)n;
	return CRYPTO_OK;
}

enum crypto_status crypto_key_to_pem(const struct crypto_key *k, char **out,
                                     size_t *len)
{
	enum crypto_status st;
	*out = NULL;
	BIO *bio = BIO_new(BIO_s_secmem());
	if (!bio)
		return CRYPTO_ENOMEM;
	if (!PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL, NULL)) {
		st = CRYPTO_ELIB;
		goto out;
	}
	st = bio_to_string(bio, out, len);
out:
	BIO_free(bio);
	return st;
}

void crypto_key_free(struct crypto_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

enum crypto_key_type crypto_key_type(const struct crypto_key *k)
{
	return k->type;
}

const char *crypto_key_alg(const struct crypto_key *k)
{
	switch (k->type) {
	case CRYPTO_KEY_P256: return "ES256";
	case CRYPTO_KEY_P384: return "ES384";
	default: return "RS256";
	}
}

/* Size in octets of one EC coordinate / signature half. */
static size_t ec_size(enum crypto_key_type t)
{
	return t == CRYPTO_KEY_P384 ? 48 : 32;
}

/* base64url of BN, left-padded with zeros to PAD octets (0: minimal). */
static char *bn_b64(const BIGNUM *bn, size_t pad)
{
	unsigned char buf[512];
	int n = BN_num_bytes(bn);
	if (n <= 0 || (size_t)n > sizeof(buf) || pad > sizeof(buf))
		return NULL;
	size_t len = pad ? pad : (size_t)n;
	if ((size_t)n > len)
		return NULL;
	if (BN_bn2binpad(bn, buf, (int)len) < 0)
		return NULL;
	return crypto_b64url_encode(buf, len);
}

/* Adds NAME: base64url(BN) to OBJ; false on failure. */
static bool set_bn(json_t *obj, const char *name, const BIGNUM *bn, size_t pad)
{
	char *s = bn_b64(bn, pad);
	if (!s)
		return false;
	int rc = json_object_set_new(obj, name, json_string(s));
	free(s);
	return rc == 0;
}

json_t *crypto_key_jwk(const struct crypto_key *k)
{
	json_t *jwk = json_object(), *ret = NULL;
	BIGNUM *a = NULL, *b = NULL;
	if (!jwk)
		return NULL;
	if (k->type == CRYPTO_KEY_P256 || k->type == CRYPTO_KEY_P384) {
		if (!EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &a) ||
		    !EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &b))
			goto out;
		size_t sz = ec_size(k->type);
		if (json_object_set_new(jwk, "kty", json_string("EC")) ||
		    json_object_set_new(jwk, "crv", json_string(
		            k->type == CRYPTO_KEY_P256 ? "P-256" : "P-384")) ||
		    !set_bn(jwk, "x", a, sz) || !set_bn(jwk, "y", b, sz))
			goto out;
	} else {
		if (!EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_N, &a) ||
		    !EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_E, &b))
			goto out;
		if (json_object_set_new(jwk, "kty", json_string("RSA")) ||
		    !set_bn(jwk, "n", a, 0) || !set_bn(jwk, "e", b, 0))
			goto out;
	}
	ret = jwk;
	jwk = NULL;
out:
	BN_free(a);
	BN_free(b);
	json_decref(jwk);
	return ret;
}

enum crypto_status crypto_jwk_thumbprint(const json_t *jwk, char out[44])
{
	static const char *const ec_members[] = { "crv", "kty", "x", "y", NULL };
	static const char *const rsa_members[] = { "e", "kty", "n", NULL };
	static const char *const oct_members[] = { "k", "kty", NULL };
	enum crypto_status st = CRYPTO_OK;
	json_t *canon = NULL;
	char *text = NULL;
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *const *members;
	out[0] = '\0';
	if (!kty)
		return CRYPTO_EPARSE;
	if (strcmp(kty, "EC") == 0)
		members = ec_members;
	else if (strcmp(kty, "RSA") == 0)
		members = rsa_members;
	else if (strcmp(kty, "oct") == 0)
		members = oct_members;
	else
		return CRYPTO_EINVAL;
	canon = json_object();
	if (!canon)
		return CRYPTO_ENOMEM;
	for (size_t i = 0; members[i]; i++) {
		json_t *v = json_object_get(jwk, members[i]);
		if (!json_is_string(v)) {
			st = CRYPTO_EPARSE;
			goto out;
		}
		if (json_object_set(canon, members[i], v)) {
			st = CRYPTO_ENOMEM;
			goto out;
		}
	}
	/* RFC 7638 section 3: lexicographic member order, no whitespace.
	 * The values are base64url or fixed names, so no escaping differs. */
	text = json_dumps(canon, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text) {
		st = CRYPTO_ENOMEM;
		goto out;
	}
	unsigned char dg[32];
	crypto_sha256(text, strlen(text), dg);
	char *b = crypto_b64url_encode(dg, sizeof(dg));
	if (!b) {
		st = CRYPTO_ENOMEM;
		goto out;
	}
	memcpy(out, b, 44);
	free(b);
out:
	free(text);
	json_decref(canon);
	return st;
}

enum crypto_status crypto_key_thumbprint(const struct crypto_key *k,
                                         char out[44])
{
	json_t *jwk = crypto_key_jwk(k);
	if (!jwk)
		return CRYPTO_ELIB;
	enum crypto_status st = crypto_jwk_thumbprint(jwk, out);
	json_decref(jwk);
	return st;
}

/* Signs DATA with K as JWS wants it: raw r||s for ECDSA, PKCS#1 v1.5 for
 * RSA.  *SIG is malloc'd. */
static enum crypto_status key_sign(const struct crypto_key *k, const void *data,
                                   size_t len, unsigned char **sig,
                                   size_t *siglen)
{
	enum crypto_status st = CRYPTO_OK;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *der = NULL, *raw = NULL;
	ECDSA_SIG *es = NULL;
	size_t derlen = 0;
	*sig = NULL;
	const EVP_MD *md = k->type == CRYPTO_KEY_P384 ? EVP_sha384() : EVP_sha256();
	if (!ctx)
		return CRYPTO_ENOMEM;
	if (EVP_DigestSignInit(ctx, NULL, md, NULL, k->pkey) != 1 ||
	    EVP_DigestSign(ctx, NULL, &derlen, data, len) != 1) {
		st = CRYPTO_ELIB;
		goto out;
	}
	der = malloc(derlen);
	if (!der) {
		st = CRYPTO_ENOMEM;
		goto out;
	}
	if (EVP_DigestSign(ctx, der, &derlen, data, len) != 1) {
		st = CRYPTO_ELIB;
		goto out;
	}
	if (k->type == CRYPTO_KEY_RSA2048 || k->type == CRYPTO_KEY_RSA3072) {
		*sig = der;
		*siglen = derlen;
		der = NULL;
		goto out;
	}
	const unsigned char *p = der;
	es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
	size_t half = ec_size(k->type);
	raw = malloc(2 * half);
	if (!es || !raw) {
		st = es ? CRYPTO_ENOMEM : CRYPTO_ELIB;
		goto out;
	}
	if (BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, (int)half) < 0 ||
	    BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + half, (int)half) < 0) {
		st = CRYPTO_ELIB;
		goto out;
	}
	*sig = raw;
	*siglen = 2 * half;
	raw = NULL;
out:
	ECDSA_SIG_free(es);
	free(raw);
	free(der);
	EVP_MD_CTX_free(ctx);
	return st;
}

enum crypto_status crypto_jws(const struct crypto_key *key,
                              const unsigned char *mac, size_t maclen,
                              json_t *prot, const char *payload,
                              json_t **out)
{
	enum crypto_status st = CRYPTO_OK;
	char *prot_text = NULL, *prot_b64 = NULL, *pay_b64 = NULL;
	char *input = NULL, *sig_b64 = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	json_t *jws = NULL;
	*out = NULL;
	if (json_object_set_new(prot, "alg", json_string(key ? crypto_key_alg(key)
	                                                     : "HS256"))) {
		st = CRYPTO_ENOMEM;
		goto out;
	}
	prot_text = json_dumps(prot, JSON_COMPACT);
	if (!prot_text) {
		st = CRYPTO_ENOMEM;
		goto out;
	}
	prot_b64 = crypto_b64url_encode(prot_text, strlen(prot_text));
	pay_b64 = crypto_b64url_encode(payload, strlen(payload));
	if (!prot_b64 || !pay_b64) {
		st = CRYPTO_ENOMEM;
		goto out;
	}
	size_t pl = strlen(prot_b64), yl = strlen(pay_b64);
	input = malloc(pl + yl + 2);
	if (!input) {
		st = CRYPTO_ENOMEM;
		goto out;
	}
	memcpy(input, prot_b64, pl);
	input[pl] = '.';
	memcpy(input + pl + 1, pay_b64, yl + 1);
	if (key) {
		st = key_sign(key, input, pl + 1 + yl, &sig, &siglen);
	} else {
		sig = malloc(32);
		siglen = 32;
		st = sig ? crypto_hmac_sha256(mac, maclen, input, pl + 1 + yl, sig)
		         : CRYPTO_ENOMEM;
	}
	if (st != CRYPTO_OK)
		goto out;
	sig_b64 = crypto_b64url_encode(sig, siglen);
	jws = json_pack("{ssssss}", "protected", prot_b64, "payload", pay_b64,
	                "signature", sig_b64 ? sig_b64 : "");
	if (!sig_b64 || !jws) {
		st = CRYPTO_ENOMEM;
		goto out;
	}
	*out = jws;
	jws = NULL;
out:
	json_decref(jws);
	free(sig_b64);
	free(sig);
	free(input);
	free(pay_b64);
	free(prot_b64);
	free(prot_text);
	return st;
}
