/* crypto: base64url, RFC 7638 thumbprint, keys, JWS, CSR, AES-GCM, certs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certstore.h"
#include "crypto.h"

#include "ari_cert.h"


static void b64_is(const char *in, size_t len, const char *want)
{
	char *s = crypto_b64url_encode(in, len);
	assert_non_null(s);
	assert_string_equal(s, want);
	unsigned char *d = NULL;
	size_t dl = 0;
	assert_int_equal(crypto_b64url_decode(s, strlen(s), &d, &dl), CRYPTO_OK);
	assert_int_equal(dl, len);
	assert_memory_equal(d, in, len);
	free(d);
	free(s);
}

static void test_b64url(void **state)
{
	(void)state;
	b64_is("", 0, "");
	b64_is("f", 1, "Zg");
	b64_is("fo", 2, "Zm8");
	b64_is("foo", 3, "Zm9v");
	b64_is("foob", 4, "Zm9vYg");
	b64_is("\xfb\xff", 2, "-_8");
	b64_is("\x00\x00\x00", 3, "AAAA");
	unsigned char *d = NULL;
	size_t dl;
	/* Padding is tolerated, standard-alphabet characters are not. */
	assert_int_equal(crypto_b64url_decode("Zg==", 4, &d, &dl), CRYPTO_OK);
	assert_int_equal(dl, 1);
	free(d);
	assert_int_equal(crypto_b64url_decode("+/8", 3, &d, &dl), CRYPTO_EPARSE);
	assert_null(d);
	assert_int_equal(crypto_b64url_decode("Z", 1, &d, &dl), CRYPTO_EPARSE);
	assert_int_equal(crypto_b64url_decode("Zh", 2, &d, &dl), CRYPTO_EPARSE);
	assert_int_equal(crypto_b64url_decode("Zm 9v", 5, &d, &dl), CRYPTO_EPARSE);
}

/* RFC 7638 section 3.1. */
static void test_thumbprint_rfc7638(void **state)
{
	(void)state;
	json_t *jwk = json_pack("{ssssssss}", "kty", "RSA",
		"n", "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
		"e", "AQAB", "alg", "RS256");
	char tp[44];
	assert_int_equal(crypto_jwk_thumbprint(jwk, tp), CRYPTO_OK);
	assert_string_equal(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	/* Optional members do not change it; a missing required one fails. */
	json_object_set_new(jwk, "kid", json_string("whatever"));
	assert_int_equal(crypto_jwk_thumbprint(jwk, tp), CRYPTO_OK);
	assert_string_equal(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	json_object_del(jwk, "e");
	assert_int_equal(crypto_jwk_thumbprint(jwk, tp), CRYPTO_EPARSE);
	json_decref(jwk);
}

/* Verifies a JWS (flattened) with the public key of K. */
static void verify_jws(const struct crypto_key *k, json_t *jws, EVP_PKEY *pkey)
{
	const char *p = json_string_value(json_object_get(jws, "protected"));
	const char *y = json_string_value(json_object_get(jws, "payload"));
	const char *s = json_string_value(json_object_get(jws, "signature"));
	assert_non_null(p);
	assert_non_null(y);
	assert_non_null(s);
	char input[4096];
	snprintf(input, sizeof(input), "%s.%s", p, y);
	unsigned char *sig = NULL;
	size_t sl = 0;
	assert_int_equal(crypto_b64url_decode(s, strlen(s), &sig, &sl), CRYPTO_OK);
	unsigned char der[600];
	size_t derlen = sl;
	enum crypto_key_type t = crypto_key_type(k);
	if (t == CRYPTO_KEY_P256 || t == CRYPTO_KEY_P384) {
		size_t half = t == CRYPTO_KEY_P256 ? 32 : 48;
		assert_int_equal(sl, 2 * half);
		ECDSA_SIG *es = ECDSA_SIG_new();
		ECDSA_SIG_set0(es, BN_bin2bn(sig, (int)half, NULL),
		               BN_bin2bn(sig + half, (int)half, NULL));
		unsigned char *pp = der;
		derlen = (size_t)i2d_ECDSA_SIG(es, &pp);
		ECDSA_SIG_free(es);
	} else {
		memcpy(der, sig, sl);
	}
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, t == CRYPTO_KEY_P384
	                                      ? EVP_sha384() : EVP_sha256(),
	                                      NULL, pkey), 1);
	assert_int_equal(EVP_DigestVerify(ctx, der, derlen,
	                                  (unsigned char *)input, strlen(input)), 1);
	EVP_MD_CTX_free(ctx);
	free(sig);
}

static void test_keys_and_jws(void **state)
{
	(void)state;
	static const enum crypto_key_type types[] = {
		CRYPTO_KEY_P256, CRYPTO_KEY_P384, CRYPTO_KEY_RSA2048 };
	static const char *const algs[] = { "ES256", "ES384", "RS256" };
	for (size_t i = 0; i < 3; i++) {
		struct crypto_key *k = NULL, *k2 = NULL;
		char *pem = NULL;
		size_t pl = 0;
		char tp1[44], tp2[44];
		assert_int_equal(crypto_key_new(types[i], &k), CRYPTO_OK);
		assert_string_equal(crypto_key_alg(k), algs[i]);
		assert_int_equal(crypto_key_to_pem(k, &pem, &pl), CRYPTO_OK);
		assert_int_equal(crypto_key_from_pem(pem, pl, &k2), CRYPTO_OK);
		assert_int_equal(crypto_key_thumbprint(k, tp1), CRYPTO_OK);
		assert_int_equal(crypto_key_thumbprint(k2, tp2), CRYPTO_OK);
		assert_string_equal(tp1, tp2);
		assert_int_equal(strlen(tp1), 43);

		json_t *prot = json_pack("{ssss}", "nonce", "n1", "url", "https://x/y");
		json_t *jws = NULL;
		assert_int_equal(crypto_jws(k, NULL, 0, prot, "{\"a\":1}", &jws),
		                 CRYPTO_OK);
		assert_string_equal(json_string_value(json_object_get(prot, "alg")),
		                    algs[i]);
		BIO *bio = BIO_new_mem_buf(pem, (int)pl);
		EVP_PKEY *pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		verify_jws(k, jws, pk);
		EVP_PKEY_free(pk);
		BIO_free(bio);
		json_decref(jws);
		json_decref(prot);
		crypto_free_secret(pem);
		crypto_key_free(k);
		crypto_key_free(k2);
	}
	struct crypto_key *k = NULL;
	assert_int_equal(crypto_key_from_pem("garbage", 7, &k), CRYPTO_EPARSE);
	assert_int_equal(crypto_key_type_parse("ES384"), CRYPTO_KEY_P384);
	assert_int_equal(crypto_key_type_parse("rsa3072"), CRYPTO_KEY_RSA3072);
	assert_int_equal(crypto_key_type_parse("dsa"), -1);
}

static void test_hs256_jws(void **state)
{
	(void)state;
	/* EAB: HS256 over protected "." payload. */
	const unsigned char mac[] = "secret-key";
	json_t *prot = json_pack("{ss}", "kid", "kid-1");
	json_t *jws = NULL;
	assert_int_equal(crypto_jws(NULL, mac, 10, prot, "{}", &jws), CRYPTO_OK);
	const char *p = json_string_value(json_object_get(jws, "protected"));
	const char *y = json_string_value(json_object_get(jws, "payload"));
	char input[512];
	snprintf(input, sizeof(input), "%s.%s", p, y);
	unsigned char want[32];
	assert_int_equal(crypto_hmac_sha256(mac, 10, input, strlen(input), want),
	                 CRYPTO_OK);
	char *w = crypto_b64url_encode(want, 32);
	assert_string_equal(json_string_value(json_object_get(jws, "signature")), w);
	free(w);
	json_decref(jws);
	json_decref(prot);
}

static void test_csr(void **state)
{
	(void)state;
	static const enum crypto_key_type types[] = {
		CRYPTO_KEY_P256, CRYPTO_KEY_P384, CRYPTO_KEY_RSA2048 };
	const char *names[] = { "a.example.com", "*.b.example.com" };
	for (size_t i = 0; i < 3; i++) {
		char *csr = NULL, *key = NULL;
		assert_int_equal(crypto_csr_new(types[i], names, 2, &csr, &key),
		                 CRYPTO_OK);
		assert_non_null(strstr(key, "PRIVATE KEY"));
		unsigned char *der = NULL;
		size_t dl = 0;
		assert_int_equal(crypto_b64url_decode(csr, strlen(csr), &der, &dl),
		                 CRYPTO_OK);
		const unsigned char *pp = der;
		X509_REQ *req = d2i_X509_REQ(NULL, &pp, (long)dl);
		assert_non_null(req);
		EVP_PKEY *pub = X509_REQ_get0_pubkey(req);
		assert_int_equal(X509_REQ_verify(req, pub), 1);
		STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
		GENERAL_NAMES *g = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
		assert_int_equal(sk_GENERAL_NAME_num(g), 2);
		const GENERAL_NAME *g1 = sk_GENERAL_NAME_value(g, 1);
		assert_int_equal(g1->type, GEN_DNS);
		assert_string_equal((const char *)ASN1_STRING_get0_data(g1->d.dNSName),
		                    "*.b.example.com");
		GENERAL_NAMES_free(g);
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
		X509_REQ_free(req);
		free(der);
		free(csr);
		crypto_free_secret(key);
	}
}

static void test_seal_open(void **state)
{
	(void)state;
	unsigned char kek[32], other[32];
	memset(kek, 7, sizeof(kek));
	memset(other, 8, sizeof(other));
	const char secret[] = "-----BEGIN PRIVATE KEY-----\nxyz\n";
	char *sealed = NULL, *plain = NULL;
	size_t pl = 0;
	assert_int_equal(crypto_seal(kek, secret, strlen(secret), "dcv:account|1",
	                             &sealed), CRYPTO_OK);
	assert_int_equal(strncmp(sealed, "aesgcm1:", 8), 0);
	assert_null(strstr(sealed, "PRIVATE"));
	assert_int_equal(crypto_open(kek, sealed, "dcv:account|1", &plain, &pl),
	                 CRYPTO_OK);
	assert_string_equal(plain, secret);
	crypto_free_secret(plain);
	assert_int_equal(crypto_open(other, sealed, "dcv:account|1", &plain, &pl),
	                 CRYPTO_EAUTH);
	assert_int_equal(crypto_open(kek, sealed, "dcv:account|2", &plain, &pl),
	                 CRYPTO_EAUTH);
	/* Flip one ciphertext character. */
	size_t n = strlen(sealed);
	sealed[n - 30] = sealed[n - 30] == 'A' ? 'B' : 'A';
	assert_int_equal(crypto_open(kek, sealed, "dcv:account|1", &plain, &pl),
	                 CRYPTO_EAUTH);
	assert_int_equal(crypto_open(kek, "aesgcm1:AAAA", NULL, &plain, &pl),
	                 CRYPTO_EPARSE);
	assert_int_equal(crypto_open(kek, "plain", NULL, &plain, &pl),
	                 CRYPTO_EPARSE);
	free(sealed);
}

/* Every certificate key read back from Redis goes through certstore_open:
 * with a KEK, one in the clear is refused, whatever its "key_enc" says. */
static void test_certstore_open(void **state)
{
	(void)state;
	struct account_kek kek = { .set = true }, none = { 0 }, other = { .set = true };
	memset(kek.key, 7, sizeof(kek.key));
	memset(other.key, 8, sizeof(other.key));
	static const char *const aads[] = { "dcv:domain:a.example:pending_key",
	                                    "dcv:cert:a.example" };
	const char pem[] = "-----BEGIN PRIVATE KEY-----\nplanted\n-----END PRIVATE KEY-----\n";
	for (size_t i = 0; i < 2; i++) {
		char *sealed = NULL, *out = (char *)1;
		assert_int_equal(certstore_seal(&kek, pem, aads[i], &sealed), 0);
		assert_int_equal(certstore_open(&kek, sealed, aads[i], &out), CERTSTORE_OK);
		assert_string_equal(out, pem);
		crypto_free_secret(out);
		/* the plaintext value under a KEK: refused, nothing handed out */
		out = (char *)1;
		assert_int_equal(certstore_open(&kek, pem, aads[i], &out), CERTSTORE_EPLAINTEXT);
		assert_null(out);
		assert_non_null(strstr(certstore_strerror(CERTSTORE_EPLAINTEXT), "in the clear"));
		/* sealed: needs the right KEK and the right place */
		assert_int_equal(certstore_open(&none, sealed, aads[i], &out), CERTSTORE_EKEK);
		assert_int_equal(certstore_open(&other, sealed, aads[i], &out), CERTSTORE_EKEK);
		assert_int_equal(certstore_open(&kek, sealed, aads[1 - i], &out), CERTSTORE_EKEK);
		assert_null(out);
		/* no KEK configured (acme.allow_plaintext_keys): plain PEM is read */
		assert_int_equal(certstore_open(&none, pem, aads[i], &out), CERTSTORE_OK);
		assert_string_equal(out, pem);
		crypto_free_secret(out);
		crypto_free_secret(sealed);
	}
}

static void test_cert_info(void **state)
{
	(void)state;
	struct crypto_cert_info ci;
	assert_int_equal(crypto_cert_info(ari_cert, strlen(ari_cert), &ci), CRYPTO_OK);
	const unsigned char serial[] = { 0x00, 0x87, 0x65, 0x43, 0x21 };
	const unsigned char aki[] = { 0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40,
		0x41, 0xE1, 0xB3, 0x7B, 0x84, 0x7B, 0xA0, 0xAE, 0x2C, 0xDE, 0x01,
		0xC8, 0xD4 };
	assert_int_equal(ci.serial_len, sizeof(serial));
	assert_memory_equal(ci.serial, serial, sizeof(serial));
	assert_int_equal(ci.aki_len, sizeof(aki));
	assert_memory_equal(ci.aki, aki, sizeof(aki));
	assert_int_equal(ci.n_sans, 2);
	assert_string_equal(ci.sans[1], "www.ari.example.com");
	assert_int_equal(ci.not_after - ci.not_before, 90 * 86400);
	assert_string_equal(ci.issuer_cn, "ari.example.com");
	crypto_cert_info_free(&ci);
	assert_true(crypto_chain_has_issuer(ari_cert, strlen(ari_cert),
	                                    "ari.example.com"));
	assert_false(crypto_chain_has_issuer(ari_cert, strlen(ari_cert), "Other"));
	assert_int_equal(crypto_cert_info("x", 1, &ci), CRYPTO_EPARSE);
}

/* ari_cert with its SANs replaced by ONE_SAN (LEN octets, may hold a NUL),
 * signed again with a throwaway key; *OUT is malloc'd PEM. */
static void cert_with_san(const char *one_san, size_t len, char **out)
{
	BIO *in = BIO_new_mem_buf(ari_cert, (int)strlen(ari_cert)), *pem = BIO_new(BIO_s_mem());
	X509 *x = PEM_read_bio_X509(in, NULL, NULL, NULL);
	EVP_PKEY *k = EVP_EC_gen("P-256");
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
	char *data;
	long n;

	assert_non_null(x);
	assert_non_null(k);
	assert_true(ASN1_STRING_set(ia5, one_san, (int)len));
	GENERAL_NAME_set0_value(g, GEN_DNS, ia5);
	sk_GENERAL_NAME_push(gens, g);
	assert_int_equal(X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0,
	                                   X509V3_ADD_REPLACE), 1);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	assert_int_equal(PEM_write_bio_X509(pem, x), 1);
	n = BIO_get_mem_data(pem, &data);  /* not NUL-terminated */
	*out = malloc((size_t)n + 1);
	assert_non_null(*out);
	memcpy(*out, data, (size_t)n);
	(*out)[n] = '\0';
	GENERAL_NAMES_free(gens);
	EVP_PKEY_free(k);
	X509_free(x);
	BIO_free(in);
	BIO_free(pem);
}

/* A dNSName with a NUL inside would come out cut at the NUL: a certificate
 * for "shop.example.com\0.evil.test" must not read as one for
 * shop.example.com. */
static void test_cert_san_with_nul(void **state)
{
	(void)state;
	static const char san[] = "shop.example.com\0.evil.test";
	struct crypto_cert_info ci;
	char *pem;

	cert_with_san("shop.example.com", 16, &pem);
	assert_int_equal(crypto_cert_info(pem, strlen(pem), &ci), CRYPTO_OK);
	assert_int_equal(ci.n_sans, 1);
	assert_string_equal(ci.sans[0], "shop.example.com");
	crypto_cert_info_free(&ci);
	free(pem);
	cert_with_san(san, sizeof(san) - 1, &pem);
	assert_int_equal(crypto_cert_info(pem, strlen(pem), &ci), CRYPTO_EPARSE);
	assert_int_equal(ci.n_sans, 0);
	free(pem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_thumbprint_rfc7638),
		cmocka_unit_test(test_keys_and_jws),
		cmocka_unit_test(test_hs256_jws),
		cmocka_unit_test(test_csr),
		cmocka_unit_test(test_seal_open),
		cmocka_unit_test(test_certstore_open),
		cmocka_unit_test(test_cert_info),
		cmocka_unit_test(test_cert_san_with_nul),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
