/* acme_cert: the certificate steps of the ACME client (acme.h):
 * download with the preferred chain and its check, revocation, and
 * renewal information (RFC 9773). */
#include "acme.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acme_http.h"
#include "acme_internal.h"

/* POST-as-GET of a chain; *ALTS gets copies of its rel="alternate" URLs. */
static enum acme_status fetch_chain(struct acme_client *c, const char *url,
                                    char **pem, char **alts, size_t *n_alts)
{
	struct acme_http_resp r;
	*pem = NULL;
	enum acme_status st = acme_signed_post(c, url, "", false,
	                                       "application/pem-certificate-chain", &r);
	if (st != ACME_OK)
		return st;
	if (r.code != 200 || r.body_len == 0 || r.body_len > CRYPTO_CHAIN_MAX ||
	    !strstr(r.body, "-----BEGIN CERTIFICATE-----")) {
		st = acme_fail(c, ACME_E_PROTOCOL, "certificate: HTTP %ld, not a PEM chain",
		               r.code);
		goto out;
	}
	/* only https:// alternates are followed (acme_exchange() refuses the others) */
	for (size_t i = 0; alts && i < r.n_links; i++)
		if (strcmp(r.link_rel[i], "alternate") == 0 && acme_url_ok(r.link_url[i]))
			alts[(*n_alts)++] = strdup(r.link_url[i]);
	*pem = r.body;
	r.body = NULL;
out:
	acme_http_resp_free(&r);
	return st;
}

/* crypto_chain_check() of PEM, as the last problem when it fails. */
static enum acme_status chain_check(struct acme_client *c, const char *pem,
                                    const char *key_pem, const char *const *names,
                                    size_t n)
{
	char why[256];
	enum crypto_status cs = crypto_chain_check(pem, strlen(pem), key_pem, names, n,
	                                           why, sizeof(why));
	if (cs == CRYPTO_OK)
		return ACME_OK;
	if (cs == CRYPTO_ENOMEM)
		return acme_fail(c, ACME_E_NOMEM, "out of memory");
	if (cs == CRYPTO_EINVAL)
		return acme_fail(c, ACME_E_INVAL, "certificate check: %s", why);
	return acme_fail(c, ACME_E_BADCERT, "refused the CA's certificate: %s", why);
}

enum acme_status acme_cert_download(struct acme_client *c, const char *cert_url,
                                    const char *key_pem,
                                    const char *const *names, size_t n,
                                    char **pem)
{
	char *alts[ACME_HTTP_MAX_LINKS] = { 0 };
	size_t n_alts = 0;
	const char *pref = c->opts.preferred_chain;
	enum acme_status st = fetch_chain(c, cert_url, pem, pref ? alts : NULL,
	                                  &n_alts);
	if (st == ACME_OK)
		st = chain_check(c, *pem, key_pem, names, n);
	if (st != ACME_OK) {
		free(*pem);
		*pem = NULL;
		goto out;
	}
	if (!pref || !*pref || crypto_chain_has_issuer(*pem, strlen(*pem), pref))
		goto out;
	for (size_t i = 0; i < n_alts; i++) {
		char *alt = NULL;
		if (!alts[i] || fetch_chain(c, alts[i], &alt, NULL, NULL) != ACME_OK)
			continue;
		if (crypto_chain_has_issuer(alt, strlen(alt), pref) &&
		    chain_check(c, alt, key_pem, names, n) == ACME_OK) {
			free(*pem);
			*pem = alt;
			break;
		}
		free(alt);
	}
	acme_ok(c); /* no preferred chain is not a failure: the default stays */
out:
	for (size_t i = 0; i < n_alts; i++)
		free(alts[i]);
	return st;
}

enum acme_status acme_revoke(struct acme_client *c, const char *cert_pem,
                             int reason)
{
	const struct acme_directory *d;
	struct acme_http_resp r = { 0 };
	char *der = NULL, *payload = NULL;
	enum acme_status st = acme_directory(c, &d);
	if (st != ACME_OK)
		goto out;
	if (!d->revoke_cert) {
		st = acme_fail(c, ACME_E_UNSUPPORTED, "the directory has no revokeCert");
		goto out;
	}
	if (reason < -1 || reason > 10 || reason == 7) {
		st = acme_fail(c, ACME_E_INVAL, "revocation reason %d is not valid", reason);
		goto out;
	}
	if (!cert_pem ||
	    crypto_cert_der_b64(cert_pem, strlen(cert_pem), &der) != CRYPTO_OK) {
		st = acme_fail(c, ACME_E_INVAL, "not a PEM certificate");
		goto out;
	}
	json_t *req = json_pack("{ss}", "certificate", der);
	if (req && reason >= 0)
		json_object_set_new(req, "reason", json_integer(reason));
	payload = acme_payload_of(req);
	if (!payload) {
		st = acme_fail(c, ACME_E_NOMEM, "out of memory");
		goto out;
	}
	st = acme_signed_post(c, d->revoke_cert, payload, false, NULL, &r);
out:
	acme_http_resp_free(&r);
	free(der);
	free(payload);
	return st;
}

enum acme_status acme_renewal_info_by_id(struct acme_client *c, const char *certid,
                                         struct acme_renewal_info *out)
{
	const struct acme_directory *d;
	struct acme_http_resp r = { 0 };
	char *url = NULL;
	memset(out, 0, sizeof(*out));
	out->retry_after_ms = -1;
	enum acme_status st = acme_directory(c, &d);
	if (st != ACME_OK)
		goto out;
	if (!d->renewal_info) {
		st = acme_fail(c, ACME_E_UNSUPPORTED, "the directory has no renewalInfo");
		goto out;
	}
	/* base64url "." base64url: nothing else goes into the URL */
	size_t il = certid ? strlen(certid) : 0;
	if (il == 0 || il > 512 || strspn(certid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                                          "0123456789-_.") != il) {
		st = acme_fail(c, ACME_E_INVAL, "not an ARI certificate identifier");
		goto out;
	}
	size_t bl = strlen(d->renewal_info);
	bool slash = bl > 0 && d->renewal_info[bl - 1] == '/';
	url = malloc(bl + il + 2);
	if (!url) {
		st = acme_fail(c, ACME_E_NOMEM, "out of memory");
		goto out;
	}
	sprintf(url, "%s%s%s", d->renewal_info, slash ? "" : "/", certid);
	st = acme_exchange(c, "GET", url, NULL, "application/json", &r);
	if (st != ACME_OK)
		goto out;
	st = acme_renewal_info_parse(r.body, r.body_len, out);
	if (st != ACME_OK) {
		acme_fail(c, st, "the CA sent renewal information that does not parse");
		goto out;
	}
	long long ms;
	if (r.retry_after && acme_retry_after_parse(r.retry_after, time(NULL), &ms))
		out->retry_after_ms = ms;
out:
	acme_http_resp_free(&r);
	free(url);
	return st;
}

enum acme_status acme_renewal_info(struct acme_client *c, const char *cert_pem,
                                   struct acme_renewal_info *out)
{
	char *id = NULL;
	memset(out, 0, sizeof(*out));
	out->retry_after_ms = -1;
	enum acme_status st = acme_ari_certid(cert_pem, cert_pem ? strlen(cert_pem) : 0, &id);
	if (st != ACME_OK)
		return acme_fail(c, st, "cannot compute the ARI certificate identifier "
		                        "(no authority key identifier?)");
	st = acme_renewal_info_by_id(c, id, out);
	free(id);
	return st;
}
