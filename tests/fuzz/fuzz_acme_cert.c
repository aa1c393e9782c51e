/*
 * fuzz_acme_cert: what the client reads out of a certificate chain the CA
 * sends (common/crypto.c through acme.c): the first certificate's
 * validity, serial, authority key identifier, SANs and issuer
 * (crypto_cert_info), its DER (crypto_cert_der_b64, for revocation), the
 * ARI certificate id (acme_ari_certid) and the preferred-chain match over
 * every certificate of the chain (crypto_chain_has_issuer).
 *
 * The input is the PEM chain as downloaded.  Checked beyond the
 * sanitizers: what is copied out fits its fields, the SAN list has no
 * hole, an ARI id is two base64url parts around one dot.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acme.h"
#include "crypto.h"
#include "fuzz.h"

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                             "0123456789-_";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct crypto_cert_info ci;
	char *der = NULL, *id = NULL;
	char *pem = malloc(size + 1);

	if (!pem)
		return 0;
	memcpy(pem, data, size);
	pem[size] = '\0';
	if (crypto_cert_info(pem, size, &ci) == CRYPTO_OK) {
		FUZZ_CHECK(ci.serial_len <= sizeof(ci.serial));
		FUZZ_CHECK(ci.aki_len <= sizeof(ci.aki));
		FUZZ_CHECK(strlen(ci.issuer_cn) < sizeof(ci.issuer_cn));
		for (size_t i = 0; i < ci.n_sans; i++)
			FUZZ_CHECK(ci.sans[i] != NULL);
		crypto_cert_info_free(&ci);
	}
	if (crypto_cert_der_b64(pem, size, &der) == CRYPTO_OK) {
		FUZZ_CHECK(der && strspn(der, b64url) == strlen(der));
		free(der);
	}
	if (acme_ari_certid(pem, size, &id) == ACME_OK) {
		const char *dot = strchr(id, '.');
		FUZZ_CHECK(dot && dot != id && dot[1] && !strchr(dot + 1, '.'));
		FUZZ_CHECK(strspn(id, b64url) == (size_t)(dot - id));
		FUZZ_CHECK(strspn(dot + 1, b64url) == strlen(dot + 1));
		free(id);
	}
	(void)crypto_chain_has_issuer(pem, size, "Pebble Intermediate CA");
	(void)crypto_chain_has_issuer(pem, size, "");
	free(pem);
	return 0;
}
