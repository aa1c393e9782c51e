/* The CAs of the configuration; see ca_cfg.h. */
#include "ca_cfg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "crypto.h"

bool ca_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CA_NAME_MAX)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

int ca_find(const struct ca_list *l, const char *name)
{
	for (int i = 0; name && i < l->n; i++)
		if (strcmp(l->ca[i].name, name) == 0)
			return i;
	return -1;
}

int ca_of_record(const struct ca_list *l, const char *name)
{
	int k;

	if (name && *name)
		return ca_find(l, name);
	k = ca_find(l, ACCOUNT_DEFAULT_CA);
	return k >= 0 ? k : 0;
}

/* The host (and port) of URL into OUT: the default CA's bucket scope. */
static void url_host(const char *url, char *out, size_t len)
{
	const char *h = strstr(url, "://");
	size_t n;

	h = h ? h + 3 : url;
	n = strcspn(h, "/");
	if (n >= len)
		n = len - 1;
	memmove(out, h, n);
	out[n] = '\0';
}

/* The CAA identities at PATH into CA; DEF when the list is absent (NULL:
 * required). */
static void load_caa(struct cfg *c, const char *path, const char *def, struct ca_conf *ca)
{
	size_t n = cfg_list_len(c, path);

	if (n > CA_CAA_MAX)
		cfg_fail(c, path, "at most %d names", CA_CAA_MAX);
	for (size_t i = 0; i < n && i < CA_CAA_MAX; i++) {
		const char *s = cfg_list_str(c, path, i);
		if (!s || !*s || strlen(s) >= CA_CAA_LEN) {
			cfg_fail(c, path, "item %zu: expected an issuer domain name", i + 1);
			continue;
		}
		snprintf(ca->caa[ca->n_caa], CA_CAA_LEN, "%s", s);
		ca->caa_ptr[ca->n_caa] = ca->caa[ca->n_caa];
		ca->n_caa++;
	}
	if (!n && def) {
		snprintf(ca->caa[0], CA_CAA_LEN, "%s", def);
		ca->caa_ptr[0] = ca->caa[0];
		ca->n_caa = 1;
	} else if (!n) {
		cfg_fail(c, path, "required: the issuer domain names this CA accepts in "
		         "CAA records (\"letsencrypt.org\")");
	}
}

/* A string option of CA NAME ("acme.cas.NAME.KEY") replacing *SLOT when
 * given. */
static void opt_str(struct cfg *c, const char *base, const char *key, char **slot)
{
	char path[128];
	snprintf(path, sizeof(path), "%s.%s", base, key);
	const char *s = cfg_str(c, path, NULL);
	if (s) {
		free(*slot);
		*slot = strdup(s);
	}
}

/* The keys of the CA named in CA->name under BASE ("acme.cas.NAME") over
 * the shared acme.* options already in CA->acme. */
static void load_one(struct cfg *c, const char *base, const struct rl_bucket *def,
                     struct ca_conf *ca)
{
	char path[128];
	const char *s;

	snprintf(path, sizeof(path), "%s.directory", base);
	s = cfg_str(c, path, NULL);
	if (!s)
		cfg_fail(c, path, "required: the CA's ACME directory URL");
	else if (strncmp(s, "https://", 8) != 0)
		cfg_fail(c, path, "must be an https:// URL (over plain http anyone on the "
		         "path could read and change the CA's answers)");
	else
		opt_str(c, base, "directory", &ca->acme.directory_url);
	opt_str(c, base, "ca_bundle", &ca->acme.ca_bundle);
	opt_str(c, base, "profile", &ca->acme.profile);
	snprintf(path, sizeof(path), "%s.key_type", base);
	if ((s = cfg_str(c, path, NULL))) {
		int t = crypto_key_type_parse(s);
		if (t < 0 || t == CRYPTO_KEY_RSA3072)
			cfg_fail(c, path, "expected es256, es384 or rs256 (got %s)", s);
		else
			ca->acme.key_type = (enum crypto_key_type)t;
	}
	opt_str(c, base, "eab_kid", &ca->acme.eab_kid);
	snprintf(path, sizeof(path), "%s.eab_hmac", base);
	s = cfg_str(c, path, NULL);
	snprintf(path, sizeof(path), "%s.eab_hmac_file", base);
	const char *hf = cfg_str(c, path, NULL);
	if (s)
		ca->acme.eab_hmac = strdup(s);
	else if (hf && !(ca->acme.eab_hmac = acme_read_secret_file(hf)))
		cfg_fail(c, path, "cannot read %s", hf);
	snprintf(path, sizeof(path), "%s.caa_identities", base);
	load_caa(c, path, NULL, ca);
	snprintf(path, sizeof(path), "%s.ari", base);
	ca->ari = cfg_bool(c, path, true);
	snprintf(path, sizeof(path), "%s.ratelimit.new_orders.limit", base);
	ca->new_orders.limit = cfg_int(c, path, def->limit, 0, 1LL << 40);
	snprintf(path, sizeof(path), "%s.ratelimit.new_orders.period_ms", base);
	ca->new_orders.period_ms = cfg_int(c, path, def->period_ms, 1, 365 * 24 * 3600000LL);
	memcpy(ca->scope, ca->name, sizeof(ca->name));  /* both NUL-terminated */
	if (strcmp(ca->name, ACCOUNT_DEFAULT_CA) == 0)
		url_host(ca->acme.directory_url, ca->scope, sizeof(ca->scope));
}

/* With acme.cas, the acme.* keys that belong to one CA are refused: one
 * would not know which CA they meant. */
static void refuse_single(struct cfg *c)
{
	static const char *const keys[] = {
		"acme.directory", "acme.caa_identities", "acme.eab_kid", "acme.eab_hmac",
		"acme.eab_hmac_file",
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (cfg_has(c, keys[i]))
			cfg_fail(c, keys[i], "with acme.cas this key belongs in each CA "
			         "(acme.cas.<name>.%s)", keys[i] + 5);
}

/* TENANT's entry of acme.tenants, or NULL. */
static const struct ca_tenant *tenant_of(const struct ca_list *l, const char *tenant)
{
	for (int i = 0; tenant && *tenant && i < l->n_tenants; i++)
		if (strcmp(l->tenants[i].name, tenant) == 0)
			return &l->tenants[i];
	return NULL;
}

bool ca_tenant_account(const struct ca_list *l, const char *tenant, int ca)
{
	const struct ca_tenant *t = tenant_of(l, tenant);

	for (int i = 0; t && t->own_account && i < t->n; i++)
		if (t->cas[i] == ca)
			return true;
	return false;
}

int ca_candidates(const struct ca_list *l, const char *tenant, int *order)
{
	const struct ca_tenant *t = tenant_of(l, tenant);
	bool taken[CA_MAX] = { false };
	int n = 0;

	for (int i = 0; t && i < t->n; i++) {
		order[n++] = t->cas[i];
		taken[t->cas[i]] = true;
	}
	for (int i = 0; i < l->n && (!t || t->fallback); i++)
		if (!taken[i])
			order[n++] = i;
	return n;
}

/* acme.tenants into L (after the CAs). */
static void load_tenants(struct cfg *c, struct ca_list *l)
{
	size_t n = 0;
	const char *const *names = cfg_keys(c, "acme.tenants", &n);

	if (n > CA_TENANTS_MAX)
		cfg_fail(c, "acme.tenants", "at most %d tenants", CA_TENANTS_MAX);
	for (size_t i = 0; names && i < n && i < CA_TENANTS_MAX; i++) {
		char base[128], path[160];
		struct ca_tenant *t = &l->tenants[l->n_tenants];
		snprintf(base, sizeof(base), "acme.tenants.%.63s", names[i]);
		const char *why = job_tenant_check(names[i]);
		if (why) {
			cfg_fail(c, base, "%s", why);
			cfg_skip(c, base);
			continue;
		}
		snprintf(t->name, sizeof(t->name), "%s", names[i]);
		snprintf(path, sizeof(path), "%s.cas", base);
		size_t m = cfg_list_len(c, path);
		for (size_t k = 0; k < m; k++) {
			const char *ca = cfg_list_str(c, path, k);
			int x = ca_find(l, ca);
			bool again = false;
			for (int j = 0; j < t->n; j++)
				again = again || t->cas[j] == x;
			if (x < 0 || again)
				cfg_fail(c, path, "item %zu: %s is %s", k + 1, ca ? ca : "?",
				         x < 0 ? "no CA of acme.cas" : "listed twice");
			else
				t->cas[t->n++] = x;
		}
		if (!m)
			cfg_fail(c, path, "required: the CAs of acme.cas this tenant's domains "
			         "are issued by, preferred first");
		snprintf(path, sizeof(path), "%s.fallback", base);
		t->fallback = cfg_bool(c, path, false);
		snprintf(path, sizeof(path), "%s.own_account", base);
		t->own_account = cfg_bool(c, path, false);
		l->n_tenants++;
	}
}

/* The CA of L whose keys NAME's environment variables would be too ("a-b"
 * and "a_b": cfg_env_for's '-' is '_'), or -1. */
static int env_twin(const struct ca_list *l, const char *name)
{
	for (int i = 0; i < l->n; i++) {
		const char *a = l->ca[i].name, *b = name;
		while (*a && (*a == *b || (strchr("-_", *a) && strchr("-_", *b)))) {
			a++;
			b++;
		}
		if (!*a && !*b)
			return i;
	}
	return -1;
}

int ca_list_load(struct cfg *c, const struct rl_bucket *new_orders, struct ca_list *l)
{
	size_t n = 0;

	memset(l, 0, sizeof(*l));
	l->health_failures = cfg_int(c, "acme.ca_health.failures", 3, 1, 1000);
	l->health_reprobe_ms = cfg_int(c, "acme.ca_health.reprobe_ms", 60000, 100,
	                               24 * 3600000LL);
	if (!cfg_has(c, "acme.cas")) {
		struct ca_conf *ca = &l->ca[0];
		l->n = 1;
		snprintf(ca->name, sizeof(ca->name), "%s", ACCOUNT_DEFAULT_CA);
		acme_cfg_load(c, &ca->acme);
		load_caa(c, "acme.caa_identities", "letsencrypt.org", ca);
		ca->ari = true;
		ca->new_orders = *new_orders;
		url_host(ca->acme.directory_url ? ca->acme.directory_url : "", ca->scope,
		         sizeof(ca->scope));
		load_tenants(c, l);
		return cfg_error(c) ? -1 : 0;
	}
	l->listed = true;
	refuse_single(c);
	const char *const *names = cfg_keys(c, "acme.cas", &n);
	if (!names || n == 0) {
		cfg_fail(c, "acme.cas", "expected a mapping of CAs by name, the preferred first");
		return -1;
	}
	if (n > CA_MAX)
		cfg_fail(c, "acme.cas", "at most %d CAs", CA_MAX);
	for (size_t i = 0; i < n && i < CA_MAX; i++) {
		char base[96];
		struct ca_conf *ca = &l->ca[l->n];
		snprintf(base, sizeof(base), "acme.cas.%.60s", names[i]);
		if (!ca_name_ok(names[i])) {
			cfg_fail(c, base, "a CA's name is 1 to %d of a-z, 0-9, '_' and '-'",
			         CA_NAME_MAX);
			cfg_skip(c, base);
			continue;
		}
		if (env_twin(l, names[i]) >= 0) {
			cfg_fail(c, base, "the same environment variables as the CA %s "
			         "(DCV_ACME_CAS_<NAME>_...: '-' is '_' there)",
			         l->ca[env_twin(l, names[i])].name);
			cfg_skip(c, base);
			continue;
		}
		l->n++;
		snprintf(ca->name, sizeof(ca->name), "%s", names[i]);
		/* the shared keys: read again for each CA, so each owns its copy
		 * (the caller read them once first: an error in them would be
		 * told once per CA) */
		acme_cfg_load(c, &ca->acme);
		free(ca->acme.eab_kid);
		ca->acme.eab_kid = NULL;
		if (ca->acme.eab_hmac)
			crypto_free_secret(ca->acme.eab_hmac);
		ca->acme.eab_hmac = NULL;
		load_one(c, base, new_orders, ca);
	}
	load_tenants(c, l);
	return cfg_error(c) ? -1 : 0;
}

void ca_list_free(struct ca_list *l)
{
	for (int i = 0; i < l->n; i++)
		acme_opts_free(&l->ca[i].acme);
	l->n = 0;
}
