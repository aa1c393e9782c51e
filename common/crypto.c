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

struct crypto_key {
	EVP_PKEY *pkey;
	enum crypto_key_type type;
};

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

enum crypto_status crypto_csr_new(enum crypto_key_type t,
                                  const char *const *names, size_t n,
                                  char **csr_b64, char **key_pem)
{
	enum crypto_status st = CRYPTO_OK;
	struct crypto_key *k = NULL;
	X509_REQ *req = NULL;
	GENERAL_NAMES *gens = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	unsigned char *der = NULL;
	*csr_b64 = NULL;
	*key_pem = NULL;
	if (n == 0 || !names)
		return CRYPTO_EINVAL;
	st = crypto_key_new(t, &k);
	if (st != CRYPTO_OK)
		goto out;
	req = X509_REQ_new();
	gens = GENERAL_NAMES_new();
	exts = sk_X509_EXTENSION_new_null();
	if (!req || !gens || !exts) {
		st = CRYPTO_ENOMEM;
		goto out;
	}
	X509_NAME *subj = X509_REQ_get_subject_name(req);
	if (strlen(names[0]) <= 64 &&
	    !X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC,
	                                (const unsigned char *)names[0], -1, -1, 0)) {
		st = CRYPTO_ELIB;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
		if (!g || !ia5 || !ASN1_STRING_set(ia5, names[i], -1)) {
			GENERAL_NAME_free(g);
			ASN1_IA5STRING_free(ia5);
			st = CRYPTO_ENOMEM;
			goto out;
		}
		GENERAL_NAME_set0_value(g, GEN_DNS, ia5);
		if (!sk_GENERAL_NAME_push(gens, g)) {
			GENERAL_NAME_free(g);
			st = CRYPTO_ENOMEM;
			goto out;
		}
	}
	X509_EXTENSION *ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens);
	if (!ext || !sk_X509_EXTENSION_push(exts, ext)) {
		X509_EXTENSION_free(ext);
		st = CRYPTO_ELIB;
		goto out;
	}
	const EVP_MD *md = t == CRYPTO_KEY_P384 ? EVP_sha384() : EVP_sha256();
	if (!X509_REQ_set_version(req, 0) ||
	    !X509_REQ_add_extensions(req, exts) ||
	    !X509_REQ_set_pubkey(req, k->pkey) ||
	    !X509_REQ_sign(req, k->pkey, md)) {
		st = CRYPTO_ELIB;
		goto out;
	}
	int derlen = i2d_X509_REQ(req, &der);
	if (derlen <= 0) {
		st = CRYPTO_ELIB;
		goto out;
	}
	*csr_b64 = crypto_b64url_encode(der, (size_t)derlen);
	if (!*csr_b64) {
		st = CRYPTO_ENOMEM;
		goto out;
	}
	st = crypto_key_to_pem(k, key_pem, NULL);
	if (st != CRYPTO_OK) {
		free(*csr_b64);
		*csr_b64 = NULL;
	}
out:
	OPENSSL_free(der);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(gens);
	X509_REQ_free(req);
	crypto_key_free(k);
	return st;
}

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
	if (!s)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

static time_t asn1_time(const ASN1_TIME *t)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return (time_t)-1;
	return timegm(&tm);
}

/* Content octets of an INTEGER (its DER without tag and length). */
static bool integer_content(const ASN1_INTEGER *ai, unsigned char *buf,
                            size_t cap, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_ASN1_INTEGER(ai, &der);
	bool ok = false;
	if (n < 2)
		goto out;
	size_t hdr = 2;
	if (der[1] & 0x80)
		hdr += der[1] & 0x7f;
	if ((size_t)n <= hdr || (size_t)n - hdr > cap)
		goto out;
	memcpy(buf, der + hdr, (size_t)n - hdr);
	*len = (size_t)n - hdr;
	ok = true;
out:
	OPENSSL_free(der);
	return ok;
}

static X509 *first_cert(const char *pem, size_t len)
{
	if (!pem || len == 0 || len > CRYPTO_CHAIN_MAX)
		return NULL;
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return NULL;
	X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (!x)
		ERR_clear_error();
	return x;
}

enum crypto_status crypto_cert_info(const char *pem, size_t len,
                                    struct crypto_cert_info *out)
{
	enum crypto_status st = CRYPTO_OK;
	GENERAL_NAMES *gens = NULL;
	memset(out, 0, sizeof(*out));
	if (len > CRYPTO_CHAIN_MAX)
		return CRYPTO_ETOOBIG;
	X509 *x = first_cert(pem, len);
	if (!x)
		return CRYPTO_EPARSE;
	out->not_before = asn1_time(X509_get0_notBefore(x));
	out->not_after = asn1_time(X509_get0_notAfter(x));
	if (!integer_content(X509_get0_serialNumber(x), out->serial,
	                     sizeof(out->serial), &out->serial_len)) {
		st = CRYPTO_EPARSE;
		goto out;
	}
	const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(x);
	if (aki && (size_t)ASN1_STRING_length(aki) <= sizeof(out->aki)) {
		out->aki_len = (size_t)ASN1_STRING_length(aki);
		memcpy(out->aki, ASN1_STRING_get0_data(aki), out->aki_len);
	}
	X509_NAME_get_text_by_NID(X509_get_issuer_name(x), NID_commonName,
	                          out->issuer_cn, sizeof(out->issuer_cn));
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int ng = gens ? sk_GENERAL_NAME_num(gens) : 0;
	if (ng > 0) {
		out->sans = calloc((size_t)ng, sizeof(char *));
		if (!out->sans) {
			st = CRYPTO_ENOMEM;
			goto out;
		}
	}
	for (int i = 0; i < ng; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_DNS)
			continue;
		const ASN1_IA5STRING *s = g->d.dNSName;
		size_t sl = (size_t)ASN1_STRING_length(s);
		/* a NUL inside would cut the name short of what was signed */
		if (memchr(ASN1_STRING_get0_data(s), '\0', sl)) {
			st = CRYPTO_EPARSE;
			goto out;
		}
		char *v = strndup((const char *)ASN1_STRING_get0_data(s), sl);
		if (!v) {
			st = CRYPTO_ENOMEM;
			goto out;
		}
		out->sans[out->n_sans++] = v;
	}
out:
	GENERAL_NAMES_free(gens);
	X509_free(x);
	if (st != CRYPTO_OK)
		crypto_cert_info_free(out);
	return st;
}

void crypto_cert_info_free(struct crypto_cert_info *ci)
{
	if (!ci)
		return;
	for (size_t i = 0; i < ci->n_sans; i++)
		free(ci->sans[i]);
	free(ci->sans);
	ci->sans = NULL;
	ci->n_sans = 0;
}

enum crypto_status crypto_cert_der_b64(const char *pem, size_t len, char **out)
{
	unsigned char *der = NULL;
	*out = NULL;
	X509 *x = first_cert(pem, len);
	if (!x)
		return CRYPTO_EPARSE;
	int n = i2d_X509(x, &der);
	X509_free(x);
	if (n <= 0)
		return CRYPTO_ELIB;
	*out = crypto_b64url_encode(der, (size_t)n);
	OPENSSL_free(der);
	return *out ? CRYPTO_OK : CRYPTO_ENOMEM;
}

bool crypto_chain_has_issuer(const char *pem, size_t len, const char *issuer)
{
	bool found = false;
	if (!pem || !issuer || len == 0 || len > CRYPTO_CHAIN_MAX)
		return false;
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return false;
	X509 *x;
	while (!found && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		char cn[256] = "";
		X509_NAME_get_text_by_NID(X509_get_issuer_name(x), NID_commonName,
		                          cn, sizeof(cn));
		found = strcmp(cn, issuer) == 0;
		X509_free(x);
	}
	BIO_free(bio);
	ERR_clear_error(); /* the end of the chain leaves "no start line" */
	return found;
}

static enum crypto_status mismatch(char *why, size_t whylen, enum crypto_status st,
                                   const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static enum crypto_status mismatch(char *why, size_t whylen, enum crypto_status st,
                                   const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return st;
}

static bool name_in(const char *name, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] && strcasecmp(name, names[i]) == 0)
			return true;
	return false;
}

/* The leaf's names against NAMES: DNS SANs only, the same set, CN among
 * them. */
static enum crypto_status check_names(X509 *leaf, const char *const *names, size_t n,
                                      char *why, size_t whylen)
{
	enum crypto_status st = CRYPTO_OK;
	GENERAL_NAMES *gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	int ng = gens ? sk_GENERAL_NAME_num(gens) : 0;
	char cn[256] = "";

	if (ng <= 0) {
		st = mismatch(why, whylen, CRYPTO_EMISMATCH, "the certificate has no "
		              "subjectAltName");
		goto out;
	}
	for (int i = 0; i < ng; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_DNS) {
			st = mismatch(why, whylen, CRYPTO_EMISMATCH, "the certificate names "
			              "something other than a DNS name (subjectAltName %d)", i + 1);
			goto out;
		}
		const char *v = (const char *)ASN1_STRING_get0_data(g->d.dNSName);
		int vl = ASN1_STRING_length(g->d.dNSName);
		if (vl <= 0 || vl > 255 || strlen(v) != (size_t)vl) {
			st = mismatch(why, whylen, CRYPTO_EMISMATCH, "subjectAltName %d of "
			              "the certificate is not a DNS name", i + 1);
			goto out;
		}
		if (!name_in(v, names, n)) {
			st = mismatch(why, whylen, CRYPTO_EMISMATCH, "the certificate names "
			              "%s, which the order does not", v);
			goto out;
		}
	}
	for (size_t k = 0; k < n; k++) {
		bool found = !names[k];
		for (int i = 0; i < ng && !found; i++) {
			const ASN1_IA5STRING *d = sk_GENERAL_NAME_value(gens, i)->d.dNSName;
			found = strcasecmp((const char *)ASN1_STRING_get0_data(d), names[k]) == 0;
		}
		if (!found) {
			st = mismatch(why, whylen, CRYPTO_EMISMATCH, "the certificate lacks "
			              "%s, which the order names", names[k]);
			goto out;
		}
	}
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName,
	                              cn, sizeof(cn)) > 0 && !name_in(cn, names, n))
		st = mismatch(why, whylen, CRYPTO_EMISMATCH, "the certificate's common "
		              "name %s is not a name of the order", cn);
out:
	GENERAL_NAMES_free(gens);
	return st;
}

enum crypto_status crypto_chain_check(const char *pem, size_t len, const char *key_pem,
                                      const char *const *names, size_t n,
                                      char *why, size_t whylen)
{
	X509 *certs[CRYPTO_CHAIN_CERTS_MAX + 1] = { 0 };
	struct crypto_key *key = NULL;
	BIO *bio = NULL;
	size_t nc = 0, blocks = 0;
	enum crypto_status st = CRYPTO_OK;

	snprintf(why, whylen, "%s", "");
	if (!pem || !key_pem || !names || n == 0)
		return mismatch(why, whylen, CRYPTO_EINVAL, "nothing to check against");
	if (len == 0 || len > CRYPTO_CHAIN_MAX)
		return mismatch(why, whylen, CRYPTO_EPARSE, "the chain is empty or over "
		                "%d bytes", CRYPTO_CHAIN_MAX);
	/* every certificate block must parse: count them in the text */
	for (const char *p = pem; (p = strstr(p, "-----BEGIN CERTIFICATE-----")); p++)
		blocks++;
	if (blocks == 0 || blocks > CRYPTO_CHAIN_CERTS_MAX) {
		st = mismatch(why, whylen, CRYPTO_EPARSE, "the chain holds %zu certificates "
		              "(1 to %d expected)", blocks, CRYPTO_CHAIN_CERTS_MAX);
		goto out;
	}
	if (!(bio = BIO_new_mem_buf(pem, (int)len))) {
		st = CRYPTO_ENOMEM;
		goto out;
	}
	while (nc <= CRYPTO_CHAIN_CERTS_MAX &&
	       (certs[nc] = PEM_read_bio_X509(bio, NULL, NULL, NULL)))
		nc++;
	ERR_clear_error();
	if (nc != blocks) {
		st = mismatch(why, whylen, CRYPTO_EPARSE, "certificate %zu of the chain "
		              "does not parse", nc + 1);
		goto out;
	}
	st = crypto_key_from_pem(key_pem, strlen(key_pem), &key);
	if (st != CRYPTO_OK) {
		st = mismatch(why, whylen, st, "our certificate key does not parse");
		goto out;
	}
	if (X509_check_ca(certs[0]) != 0) {
		st = mismatch(why, whylen, CRYPTO_EMISMATCH, "the first certificate of "
		              "the chain is a CA certificate, not a leaf");
		goto out;
	}
	EVP_PKEY *pub = X509_get0_pubkey(certs[0]);
	if (!pub || EVP_PKEY_eq(pub, key->pkey) != 1) {
		st = mismatch(why, whylen, CRYPTO_EMISMATCH, "the certificate's public key "
		              "is not the key of our CSR");
		goto out;
	}
	if ((st = check_names(certs[0], names, n, why, whylen)) != CRYPTO_OK)
		goto out;
	for (size_t i = 0; i + 1 < nc; i++) {
		int v = X509_check_issued(certs[i + 1], certs[i]);
		if (v != X509_V_OK) {
			st = mismatch(why, whylen, CRYPTO_EMISMATCH, "certificate %zu of the "
			              "chain is not issued by certificate %zu (%s)", i + 1, i + 2,
			              X509_verify_cert_error_string(v));
			goto out;
		}
		EVP_PKEY *ik = X509_get0_pubkey(certs[i + 1]);
		if (!ik || X509_verify(certs[i], ik) != 1) {
			st = mismatch(why, whylen, CRYPTO_EMISMATCH, "the signature of "
			              "certificate %zu of the chain does not verify under the "
			              "key of certificate %zu", i + 1, i + 2);
			goto out;
		}
	}
out:
	ERR_clear_error();
	for (size_t i = 0; i <= CRYPTO_CHAIN_CERTS_MAX; i++)
		X509_free(certs[i]);
	crypto_key_free(key);
	BIO_free(bio);
	return st;
}
