/* certstore: the sealed-key vectors of schemas/certificate-vectors.yaml
 * (made by make_certificate_vectors.py with python3-cryptography, so an
 * implementation other than common/crypto.c) opened with the KEK reader and
 * the open function the fleet itself uses; and the refusals around them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "account.h"
#include "certstore.h"
#include "cfg.h"
#include "crypto.h"

/* The KEK text of a vector read as the worker reads DCV_ACME_KEK. */
static void kek_from_text(const char *text, struct account_kek *kek)
{
	assert_int_equal(setenv("DCV_ACME_KEK", text, 1), 0);
	assert_int_equal(account_kek_load(NULL, kek), ACCOUNT_OK);
	assert_true(kek->set);
	unsetenv("DCV_ACME_KEK");
}

static void test_vectors(void **state)
{
	(void)state;
	char path[1024], err[512], key[256];
	size_t n = 0, fails = 0;
	snprintf(path, sizeof(path), "%s/certificate-vectors.yaml", getenv("DCV_SCHEMAS"));
	struct cfg *c = cfg_load_file(path, err, sizeof(err));
	if (!c)
		fail_msg("%s", err);
	const char *const *names = cfg_keys(c, "vectors", &n);
	assert_true(n >= 4);
	for (size_t i = 0; i < n; i++) {
#define GET(f) (snprintf(key, sizeof(key), "vectors.%s." f, names[i]), cfg_str(c, key, NULL))
		const char *kektext = GET("kek"), *aad = GET("aad"), *sealed = GET("sealed");
		const char *plain = GET("plaintext"), *expect_err = GET("error");
		(void)GET("description");
#undef GET
		assert_non_null(kektext);
		assert_non_null(aad);
		assert_non_null(sealed);
		assert_true(!plain != !expect_err);
		struct account_kek kek;
		char *out = (char *)"untouched";
		kek_from_text(kektext, &kek);
		enum certstore_status st = certstore_open(&kek, sealed, aad, &out);
		if (expect_err) {
			if (st != CERTSTORE_EKEK || out != NULL)
				fail_msg("vector %s opened (%d), yet must fail", names[i], st);
			fails++;
		} else {
			if (st != CERTSTORE_OK)
				fail_msg("vector %s: %s", names[i], certstore_strerror(st));
			assert_string_equal(out, plain);
			/* the same value without its AAD does not open either */
			char *none = NULL;
			assert_int_equal(certstore_open(&kek, sealed, "", &none), CERTSTORE_EKEK);
			assert_null(none);
			crypto_free_secret(out);
		}
		account_kek_wipe(&kek);
	}
	assert_true(fails >= 2);
	cfg_check_unknown(c);
	assert_null(cfg_error(c));
	cfg_free(c);
}

/* What the fleet seals, the same layout opens: prefix, 12-byte nonce,
 * ciphertext as long as the plaintext, 16-byte tag. */
static void test_seal_layout(void **state)
{
	(void)state;
	struct account_kek kek;
	char *sealed = NULL, *out = NULL;
	unsigned char *raw = NULL;
	size_t rawlen = 0;
	const char *plain = "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n";

	kek_from_text("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", &kek);
	assert_int_equal(certstore_seal(&kek, plain, "dcv:cert:x.example.com", &sealed), 0);
	assert_int_equal(strncmp(sealed, "aesgcm1:", 8), 0);
	assert_null(strchr(sealed + 8, '='));
	assert_int_equal(crypto_b64url_decode(sealed + 8, strlen(sealed + 8), &raw, &rawlen),
	                 CRYPTO_OK);
	assert_int_equal(rawlen, 12 + strlen(plain) + 16);
	free(raw);
	assert_int_equal(certstore_open(&kek, sealed, "dcv:cert:x.example.com", &out),
	                 CERTSTORE_OK);
	assert_string_equal(out, plain);
	crypto_free_secret(out);
	assert_int_equal(certstore_open(&kek, sealed, "dcv:cert:y.example.com", &out),
	                 CERTSTORE_EKEK);
	crypto_free_secret(sealed);
	account_kek_wipe(&kek);
}

/* With a KEK, a key in the clear is refused; without one, a sealed key. */
static void test_refusals(void **state)
{
	(void)state;
	struct account_kek kek, none = { 0 };
	char *out = NULL;

	kek_from_text("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", &kek);
	assert_int_equal(certstore_open(&kek, "-----BEGIN PRIVATE KEY-----\n", "a", &out),
	                 CERTSTORE_EPLAINTEXT);
	assert_null(out);
	assert_int_equal(certstore_open(&none, "aesgcm1:AAAA", "a", &out), CERTSTORE_EKEK);
	assert_int_equal(certstore_open(&kek, "aesgcm1:AAAA", "a", &out), CERTSTORE_EKEK);
	assert_int_equal(certstore_open(&kek, "aesgcm1:!!", "a", &out), CERTSTORE_EKEK);
	assert_int_equal(certstore_open(&none, "plain", "a", &out), CERTSTORE_OK);
	assert_string_equal(out, "plain");
	crypto_free_secret(out);
	account_kek_wipe(&kek);
}

#define ACCOUNT_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define CERT_HEX "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"

/* The certificate KEK is read from DCV_CERT_KEK, never from the account's
 * DCV_ACME_KEK, in the same format (and from its file first). */
static void test_cert_kek_has_its_own_variable(void **state)
{
	(void)state;
	struct account_kek k;

	unsetenv(CERTSTORE_KEK_ENV);
	assert_int_equal(setenv("DCV_ACME_KEK", ACCOUNT_HEX, 1), 0);
	assert_int_equal(certstore_kek_load(NULL, &k), ACCOUNT_OK);
	assert_false(k.set);
	assert_non_null(certstore_kek_policy(&k, false));
	assert_non_null(strstr(certstore_kek_policy(&k, false), "acme.cert_kek_file"));
	assert_null(certstore_kek_policy(&k, true));
	assert_int_equal(setenv(CERTSTORE_KEK_ENV, CERT_HEX, 1), 0);
	assert_int_equal(certstore_kek_load(NULL, &k), ACCOUNT_OK);
	assert_true(k.set);
	assert_int_equal(k.key[0], 0xa0);
	assert_int_equal(k.key[31], 0xbf);
	assert_null(certstore_kek_policy(&k, false));
	assert_int_equal(setenv(CERTSTORE_KEK_ENV, "not a key", 1), 0);
	assert_int_equal(certstore_kek_load(NULL, &k), ACCOUNT_EKEK);
	/* a file that is not there: an error, the variable not consulted */
	assert_int_equal(setenv(CERTSTORE_KEK_ENV, CERT_HEX, 1), 0);
	assert_int_equal(certstore_kek_load("/nonexistent/cert-kek", &k), ACCOUNT_EKEK);
	assert_false(k.set);
	unsetenv(CERTSTORE_KEK_ENV);
	unsetenv("DCV_ACME_KEK");
	account_kek_wipe(&k);
}

/* Two keys with two jobs: a value sealed under the account KEK does not
 * open under the certificate KEK and the reverse, each at its own AAD
 * (the certificate hash's and the pending key's); certstore_open_diag
 * names a value sealed under the account KEK, hands nothing out, and
 * leaves every other refusal as it was. */
static void test_two_keks(void **state)
{
	(void)state;
	struct account_kek acct, cert, none = { 0 };
	const char *pem = "-----BEGIN PRIVATE KEY-----\nMIGHAgEA\n-----END PRIVATE KEY-----\n";
	const char *aads[] = { "dcv:cert:x.example.com", "dcv:domain:x.example.com:pending_key" };
	char *under_acct = NULL, *under_cert = NULL, *out = NULL;

	kek_from_text(ACCOUNT_HEX, &acct);
	kek_from_text(CERT_HEX, &cert);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(certstore_seal(&acct, pem, aads[i], &under_acct), 0);
		assert_int_equal(certstore_seal(&cert, pem, aads[i], &under_cert), 0);
		assert_int_equal(certstore_open(&cert, under_acct, aads[i], &out), CERTSTORE_EKEK);
		assert_null(out);
		assert_int_equal(certstore_open(&acct, under_cert, aads[i], &out), CERTSTORE_EKEK);
		assert_null(out);

		assert_int_equal(certstore_open_diag(&cert, &acct, under_acct, aads[i], &out),
		                 CERTSTORE_EACCOUNTKEK);
		assert_null(out);
		assert_non_null(strstr(certstore_strerror(CERTSTORE_EACCOUNTKEK),
		                       "dcvctl cert rewrap --from-account-kek"));
		/* no certificate KEK at all (plaintext allowed): the same diagnosis */
		assert_int_equal(certstore_open_diag(&none, &acct, under_acct, aads[i], &out),
		                 CERTSTORE_EACCOUNTKEK);
		/* without the account KEK, or at another AAD: only "wrong KEK" */
		assert_int_equal(certstore_open_diag(&cert, NULL, under_acct, aads[i], &out),
		                 CERTSTORE_EKEK);
		assert_int_equal(certstore_open_diag(&cert, &none, under_acct, aads[i], &out),
		                 CERTSTORE_EKEK);
		assert_int_equal(certstore_open_diag(&cert, &acct, under_acct, aads[1 - i], &out),
		                 CERTSTORE_EKEK);
		assert_int_equal(certstore_open_diag(&cert, &acct, pem, aads[i], &out),
		                 CERTSTORE_EPLAINTEXT);
		assert_null(out);

		assert_int_equal(certstore_open_diag(&cert, &acct, under_cert, aads[i], &out),
		                 CERTSTORE_OK);
		assert_string_equal(out, pem);
		crypto_free_secret(out);
		out = NULL;
		crypto_free_secret(under_acct);
		crypto_free_secret(under_cert);
	}
	account_kek_wipe(&acct);
	account_kek_wipe(&cert);
}

/* Serials compare as numbers: a leaf whose serial starts with a zero
 * byte matches the field written without it. */
static void test_same_serial(void **state)
{
	(void)state;
	assert_true(certstore_same_serial("07D7EE19", "7d7ee19"));
	assert_true(certstore_same_serial("AB01", "ab01"));
	assert_false(certstore_same_serial("AB01", "AB02"));
	assert_false(certstore_same_serial("AB01", ""));
	assert_false(certstore_same_serial("07", "70"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_seal_layout),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_cert_kek_has_its_own_variable),
		cmocka_unit_test(test_two_keks),
		cmocka_unit_test(test_same_serial),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
