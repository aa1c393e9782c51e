/* acme_opts: the ACME client's options (acme.h): defaults, the acme.*
 * configuration keys, and their release. */
#include "acme.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme_internal.h"
#include "cfg.h"
#include "secret.h"

/* Largest secret file read (an EAB HMAC key is 32-64 bytes encoded). */
#define ACME_SECRET_FILE_MAX 4096

int acme_opts_defaults(struct acme_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->directory_url = strdup(ACME_DEFAULT_DIRECTORY);
	o->key_type = CRYPTO_KEY_P256;
	o->cert_key_type = CRYPTO_KEY_P256;
	o->connect_timeout_ms = 5000;
	o->timeout_ms = 30000;
	o->max_response_bytes = 1024 * 1024;
	o->bad_nonce_retries = 10;
	o->poll_default_ms = 1000;
	return o->directory_url ? 0 : -1;
}

void acme_opts_free(struct acme_opts *o)
{
	if (!o)
		return;
	free(o->directory_url);
	free(o->ca_bundle);
	free(o->contact_email);
	free(o->eab_kid);
	if (o->eab_hmac)
		crypto_free_secret(o->eab_hmac);
	free(o->kek_file);
	free(o->cert_kek_file);
	free(o->preferred_chain);
	free(o->profile);
	memset(o, 0, sizeof(*o));
}

char *acme_read_secret_file(const char *path)
{
	char *s = NULL;
	if (secret_read_file(path, ACME_SECRET_FILE_MAX, &s, NULL) != SECRET_OK)
		return NULL;
	return s;
}

int acme_cfg_load(struct cfg *c, struct acme_opts *o)
{
	if (acme_opts_defaults(o) != 0)
		return -1;
	const char *s = cfg_str(c, "acme.directory", ACME_DEFAULT_DIRECTORY);
	if (!acme_url_ok(s))
		cfg_fail(c, "acme.directory", "must be an https:// URL (over plain http "
		         "anyone on the path could read and change the CA's answers)");
	else {
		free(o->directory_url);
		o->directory_url = strdup(s);
	}
	o->ca_bundle = acme_strdup_opt(cfg_str(c, "acme.ca_bundle", NULL));
	s = cfg_str(c, "acme.key_type", "p256");
	int t = crypto_key_type_parse(s);
	if (t < 0 || t == CRYPTO_KEY_RSA3072)
		cfg_fail(c, "acme.key_type", "expected es256, es384 or rs256 (got %s)", s);
	else
		o->key_type = (enum crypto_key_type)t;
	s = cfg_str(c, "acme.cert_key_type", "p256");
	t = crypto_key_type_parse(s);
	if (t < 0)
		cfg_fail(c, "acme.cert_key_type",
		         "expected p256, p384, rsa2048 or rsa3072 (got %s)", s);
	else
		o->cert_key_type = (enum crypto_key_type)t;
	o->contact_email = acme_strdup_opt(cfg_str(c, "acme.email", NULL));
	o->eab_kid = acme_strdup_opt(cfg_str(c, "acme.eab_kid", NULL));
	s = cfg_str(c, "acme.eab_hmac", NULL);
	const char *hf = cfg_str(c, "acme.eab_hmac_file", NULL);
	if (s) {
		o->eab_hmac = strdup(s);
	} else if (hf) {
		o->eab_hmac = acme_read_secret_file(hf);
		if (!o->eab_hmac)
			cfg_fail(c, "acme.eab_hmac_file", "cannot read %s", hf);
	}
	o->kek_file = acme_strdup_opt(cfg_str(c, "acme.kek_file", NULL));
	o->cert_kek_file = acme_strdup_opt(cfg_str(c, "acme.cert_kek_file", NULL));
	o->allow_plaintext_keys = cfg_bool(c, "acme.allow_plaintext_keys", false);
	o->preferred_chain = acme_strdup_opt(cfg_str(c, "acme.preferred_chain", NULL));
	o->profile = acme_strdup_opt(cfg_str(c, "acme.profile", NULL));
	o->connect_timeout_ms = (long)cfg_int(c, "acme.connect_timeout_ms", 5000,
	                                      100, 120000);
	o->timeout_ms = (long)cfg_int(c, "acme.timeout_ms", 30000, 100, 600000);
	o->max_response_bytes = (size_t)cfg_int(c, "acme.max_response_bytes",
	                                        1024 * 1024, 16 * 1024,
	                                        64 * 1024 * 1024);
	o->bad_nonce_retries = (int)cfg_int(c, "acme.bad_nonce_retries", 10, 0, 100);
	o->poll_default_ms = (long)cfg_int(c, "acme.poll_default_ms", 1000, 10,
	                                   600000);
	return cfg_error(c) ? -1 : 0;
}

