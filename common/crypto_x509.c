/* crypto_x509: certificate signing requests, certificate facts, and the
 * check of a chain the CA sent (crypto.h). */
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
