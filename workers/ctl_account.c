#include "ctl_account.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "account.h"
#include "acme.h"
#include "ca_caps.h"
#include "ca_cfg.h"
#include "ca_health.h"
#include "cfg.h"

/* rotate-key on a CA that does not offer keyChange (README, dcvctl's exit
 * codes) */
#define EXIT_UNSUPPORTED 5

static void usage(void)
{
	fprintf(stderr,
	        "usage: dcvctl account register [--ca NAME] --email E [--eab-kid K [--eab-hmac-file F]]\n"
	        "                               [--key-type es256|es384|rs256] [--force]\n"
	        "         (the EAB HMAC key: --eab-hmac-file, the CA's eab_hmac_file or\n"
	        "          DCV_ACME_EAB_HMAC / DCV_ACME_CAS_<NAME>_EAB_HMAC; --force replaces\n"
	        "          a stored account the CA no longer accepts)\n"
	        "       dcvctl account show [--ca NAME]\n"
	        "       dcvctl account rotate-key [--ca NAME] [--key-type es256|es384|rs256]\n"
	        "       dcvctl account deactivate [--ca NAME] --yes\n"
	        "       (NAME: a CA of acme.cas; default \"default\", the single CA)\n"
	        "       each also takes --tenant T: tenant T's own account at the CA\n"
	        "       (acme.tenants.T.own_account); its EAB HMAC key from\n"
	        "       --eab-hmac-file or DCV_ACME_TENANT_EAB_HMAC, never the CA's)\n");
}

/* Options of the subcommands; values borrowed from argv.  No secret is
 * taken from argv: every user of the machine reads it in ps or /proc. */
struct args {
	const char *email, *eab_kid, *eab_hmac_file, *key_type, *ca, *tenant;
	bool yes, force;
};

/* Parses "--name value" pairs after the subcommand; false on a bad one. */
static bool parse_args(int argc, char **argv, struct args *a)
{
	memset(a, 0, sizeof(*a));
	for (int i = 2; i < argc; i++) {
		const char **slot = NULL;
		if (strcmp(argv[i], "--email") == 0)
			slot = &a->email;
		else if (strcmp(argv[i], "--eab-kid") == 0)
			slot = &a->eab_kid;
		else if (strcmp(argv[i], "--eab-hmac-file") == 0)
			slot = &a->eab_hmac_file;
		else if (strcmp(argv[i], "--eab-hmac") == 0) {
			fprintf(stderr, "dcvctl account: --eab-hmac would put the HMAC key "
			        "where every user sees it (ps, /proc); give "
			        "--eab-hmac-file FILE or DCV_ACME_EAB_HMAC\n");
			return false;
		}
		else if (strcmp(argv[i], "--key-type") == 0)
			slot = &a->key_type;
		else if (strcmp(argv[i], "--ca") == 0)
			slot = &a->ca;
		else if (strcmp(argv[i], "--tenant") == 0)
			slot = &a->tenant;
		else if (strcmp(argv[i], "--yes") == 0) {
			a->yes = true;
			continue;
		} else if (strcmp(argv[i], "--force") == 0) {
			a->force = true;
			continue;
		} else {
			fprintf(stderr, "dcvctl account: unknown option %s\n", argv[i]);
			return false;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "dcvctl account: %s needs a value\n", argv[i]);
			return false;
		}
		*slot = argv[++i];
	}
	return true;
}

static void acme_error(const char *what, enum acme_status st,
                       const struct acme_client *c)
{
	const struct acme_problem *p = acme_last_problem(c);
	char type[sizeof(p->type)], detail[sizeof(p->detail)];

	/* the CA's text reaches a terminal: no escape sequences */
	ca_caps_clean(p->type, type, sizeof(type));
	ca_caps_clean(p->detail, detail, sizeof(detail));
	fprintf(stderr, "dcvctl account: %s: %s%s%s%s\n", what, acme_strerror(st),
	        p->type[0] ? " [" : "", type, p->type[0] ? "]" : "");
	if (p->detail[0])
		fprintf(stderr, "  CA says: %s\n", detail);
	if (acme_status_retryable(st))
		fprintf(stderr, "  (transient: try again later)\n");
}

static int key_type_arg(const char *s, enum crypto_key_type def,
                        enum crypto_key_type *out)
{
	if (!s) {
		*out = def;
		return 0;
	}
	int t = crypto_key_type_parse(s);
	if (t < 0 || t == CRYPTO_KEY_RSA3072) {
		fprintf(stderr, "dcvctl account: --key-type must be es256, es384 or rs256\n");
		return -1;
	}
	*out = (enum crypto_key_type)t;
	return 0;
}

/* The CA an account command is about: the key prefix and the CA's name
 * (its capabilities hash, ca_caps.h); the account's own hash is passed
 * apart, as "prefix". */
struct ca_at {
	const char *prefix;
	const char *ca;
	const char *tenant;   /* a tenant's own account, else NULL */
};

/* The environment variable of a tenant account's EAB HMAC key. */
#define TENANT_EAB_ENV "DCV_ACME_TENANT_EAB_HMAC"

/* --force: whether the CA still accepts the account stored in HASH (a
 * lookup of its key, newAccount with onlyReturnExisting).  1 it does (it
 * must not be replaced: the fleet's orders and CAA accounturi name it), 0
 * it refuses it or the stored key cannot be read (the KEK changed), -1 the
 * CA could not tell (no answer, 5xx): nothing is replaced then. */
static int stored_accepted(const struct acme_opts *o, redisContext *rc, const char *hash,
                           const struct account_kek *kek, char *url, size_t len)
{
	struct account a;
	struct acme_client *c = NULL;
	int ret = 0;

	url[0] = '\0';
	if (account_load(rc, hash, kek, &a) != ACCOUNT_OK)
		return 0;
	snprintf(url, len, "%s", a.url ? a.url : "?");
	if (acme_client_new(o, &c) != ACME_OK) {
		ret = -1;
		goto out;
	}
	acme_set_account(c, a.key, NULL);
	switch (acme_account_register(c, NULL, NULL, NULL, true)) {
	case ACME_OK:
		ret = 1;
		break;
	case ACME_E_SERVER: case ACME_E_TIMEOUT: case ACME_E_CONNECT: case ACME_E_NETWORK:
	case ACME_E_BADNONCE: case ACME_E_RATELIMITED: case ACME_E_TLS: case ACME_E_TOOBIG:
	case ACME_E_NOMEM: case ACME_E_INSECURE:
		ret = -1;
		break;
	default:
		ret = 0;   /* unauthorized, accountDoesNotExist, ...: refused */
	}
out:
	acme_client_free(c);
	account_free(&a);
	return ret;
}

static int cmd_register(struct args *a, const struct acme_opts *o,
                        redisContext *rc, const char *prefix,
                        const struct account_kek *kek, const struct ca_at *at)
{
	int rc_exit = 1;
	struct crypto_key *key = NULL;
	struct acme_client *c = NULL;
	long long ver = 0;
	enum crypto_key_type kt;
	char *file_hmac = NULL;
	const char *email = a->email ? a->email : o->contact_email;
	/* a tenant's own account has its own EAB key, never the CA's */
	const char *kid = a->eab_kid ? a->eab_kid : at->tenant ? NULL : o->eab_kid;
	const char *hmac = at->tenant ? getenv(TENANT_EAB_ENV) : o->eab_hmac;
	if (key_type_arg(a->key_type, o->key_type, &kt) != 0)
		return 2;
	if (!email) {
		fprintf(stderr, "dcvctl account register: --email is required\n");
		usage();
		return 2;
	}
	if (a->eab_hmac_file) {
		if (!(file_hmac = acme_read_secret_file(a->eab_hmac_file))) {
			fprintf(stderr, "dcvctl account register: cannot read %s "
			        "(at most 4 KiB)\n", a->eab_hmac_file);
			goto out;
		}
		hmac = file_hmac;
	}
	if ((kid == NULL) != (hmac == NULL)) {
		fprintf(stderr, "dcvctl account register: an EAB key id goes with its HMAC "
		        "key (--eab-kid with --eab-hmac-file or %s)\n",
		        at->tenant ? TENANT_EAB_ENV : "DCV_ACME_EAB_HMAC");
		rc_exit = 2;
		goto out;
	}
	enum account_status as = account_version(rc, prefix, &ver);
	if (as != ACCOUNT_OK) {
		fprintf(stderr, "dcvctl account register: %s\n", account_strerror(as));
		goto out;
	}
	if (ver != 0 && !a->force) {
		fprintf(stderr, "dcvctl account register: an account is already stored "
		        "(see \"dcvctl account show\"; --force replaces one the CA no "
		        "longer accepts)\n");
		goto out;
	}
	char old[512];
	int acc = ver != 0 ? stored_accepted(o, rc, prefix, kek, old, sizeof(old)) : 0;
	if (acc != 0) {
		fprintf(stderr, "dcvctl account register: %s the stored account %s; nothing "
		        "changed (--force replaces only an account the CA refuses; to "
		        "give up one it accepts: dcvctl account deactivate --ca %s --yes, "
		        "then register)\n",
		        acc > 0 ? "the CA still accepts" : "the CA did not say whether it accepts",
		        old, at->ca);
		goto out;
	}
	if (crypto_key_new(kt, &key) != CRYPTO_OK ||
	    acme_client_new(o, &c) != ACME_OK) {
		fprintf(stderr, "dcvctl account register: cannot create a key or client\n");
		goto out;
	}
	acme_set_account(c, key, NULL);
	enum acme_status st = acme_account_register(c, email, kid, hmac, false);
	if (st != ACME_OK) {
		acme_error("register", st, c);
		goto out;
	}
	/* --force: the stored account is dropped only now that the CA took
	 * the new one (a refusal above leaves it as it was) */
	if (ver != 0 && account_delete(rc, prefix) != ACCOUNT_OK) {
		fprintf(stderr, "dcvctl account register: cannot remove the stored account\n");
		goto out;
	}
	as = account_store_new(rc, prefix, kek, acme_account_url(c), key);
	if (as != ACCOUNT_OK) {
		fprintf(stderr, "dcvctl account register: registered %s at the CA but "
		        "cannot store it: %s\n", acme_account_url(c),
		        account_strerror(as));
		goto out;
	}
	printf("registered %s (%s%s)\n", acme_account_url(c), crypto_key_alg(key),
	       kek->set ? ", key encrypted" : "");
	if (ca_caps_seen(rc, at->prefix, at->ca, c, (long long)time(NULL)) != 0)
		fprintf(stderr, "dcvctl account register: could not record the CA's "
		        "capabilities in %s:ca:%s\n", at->prefix, at->ca);
	rc_exit = 0;
out:
	crypto_free_secret(file_hmac);
	acme_client_free(c);
	crypto_key_free(key);
	return rc_exit;
}

static int load(redisContext *rc, const char *prefix,
                const struct account_kek *kek, struct account *a)
{
	enum account_status as = account_load(rc, prefix, kek, a);
	if (as == ACCOUNT_OK)
		return 0;
	fprintf(stderr, "dcvctl account: %s%s\n", account_strerror(as),
	        as == ACCOUNT_NOTFOUND ? " (run \"dcvctl account register\")"
	        : as == ACCOUNT_EKEK ? " (set acme.kek_file or DCV_ACME_KEK)"
	        : as == ACCOUNT_EPLAINTEXT ? " (to move to a KEK: deactivate this "
	                                     "account without it, then register anew)" : "");
	return -1;
}

static int cmd_show(redisContext *rc, const char *prefix,
                    const struct account_kek *kek)
{
	struct account a;
	char tp[44];
	if (load(rc, prefix, kek, &a) != 0)
		return 1;
	char when[32] = "?";
	time_t t = (time_t)a.created_at;
	struct tm tm;
	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("url: %s\nalg: %s\ncreated_at: %s\nkey_version: %lld\n"
	       "key_encrypted: %s\n", a.url, a.alg, when, a.key_version,
	       a.encrypted ? "yes" : "no");
	if (crypto_key_thumbprint(a.key, tp) == CRYPTO_OK)
		printf("jwk_thumbprint: %s\n", tp);
	if (a.pending_key)
		printf("rotation_pending: version %lld\n", a.pending_version);
	account_free(&a);
	return 0;
}

static int cmd_rotate(struct args *args, const struct acme_opts *o,
                      redisContext *rc, const char *prefix,
                      const struct account_kek *kek, const struct ca_at *at)
{
	struct account a;
	struct acme_client *c = NULL;
	int ret = 1;
	enum crypto_key_type kt;
	if (key_type_arg(args->key_type, o->key_type, &kt) != 0)
		return 2;
	if (load(rc, prefix, kek, &a) != 0)
		return 1;
	if (acme_client_new(o, &c) != ACME_OK)
		goto out;
	acme_set_account(c, a.key, a.url);
	enum account_status as = account_rotate(rc, prefix, kek, c, &a, kt);
	const struct acme_problem *pr = acme_last_problem(c);
	if (as == ACCOUNT_EACME && ca_caps_keychange_missing(pr->status, pr)) {
		char said[sizeof(pr->detail)];
		/* account_rotate unstaged the new key: Redis is as it was */
		ca_caps_clean(pr->detail, said, sizeof(said));
		fprintf(stderr, "dcvctl account rotate-key: the CA does not support account "
		        "key rollover (keyChange, RFC 8555 section 7.3.5)%s%s\n"
		        "  nothing changed: %s keeps its key (key_version %lld); to change "
		        "keys at this CA, deactivate the account and register a new one\n",
		        said[0] ? ": " : "", said, a.url, a.key_version);
		ca_caps_keychange(rc, at->prefix, at->ca, false, pr->detail[0] ? pr->detail
		                  : acme_strerror(pr->status));
		ret = EXIT_UNSUPPORTED;
		goto out;
	}
	if (as == ACCOUNT_EACME) {
		acme_error("rotate-key", pr->status, c);
		goto out;
	}
	if (as != ACCOUNT_OK) {
		fprintf(stderr, "dcvctl account rotate-key: %s\n", account_strerror(as));
		goto out;
	}
	printf("rotated %s to key_version %lld (%s)\n", a.url, a.key_version,
	       crypto_key_alg(a.key));
	ca_caps_keychange(rc, at->prefix, at->ca, true, NULL);
	ret = 0;
out:
	acme_client_free(c);
	account_free(&a);
	return ret;
}

static int cmd_deactivate(struct args *args, const struct acme_opts *o,
                          redisContext *rc, const char *prefix,
                          const struct account_kek *kek)
{
	struct account a;
	struct acme_client *c = NULL;
	int ret = 1;
	if (!args->yes) {
		fprintf(stderr, "dcvctl account deactivate: irreversible; add --yes\n");
		return 2;
	}
	if (load(rc, prefix, kek, &a) != 0)
		return 1;
	if (acme_client_new(o, &c) != ACME_OK)
		goto out;
	acme_set_account(c, a.key, a.url);
	enum acme_status st = acme_account_deactivate(c);
	if (st != ACME_OK) {
		acme_error("deactivate", st, c);
		goto out;
	}
	if (account_delete(rc, prefix) != ACCOUNT_OK) {
		fprintf(stderr, "dcvctl account deactivate: deactivated at the CA "
		        "but cannot remove it from Redis\n");
		goto out;
	}
	printf("deactivated %s\n", a.url);
	ret = 0;
out:
	acme_client_free(c);
	account_free(&a);
	return ret;
}

/* The CA of ARGS (--ca, default "default") in L; -1 after saying why. */
static int which_ca(const struct args *args, const struct ca_list *l)
{
	const char *name = args->ca ? args->ca : ACCOUNT_DEFAULT_CA;
	int k = ca_find(l, name);

	if (k < 0) {
		fprintf(stderr, "dcvctl account: no CA named \"%s\" in the configuration "
		        "(acme.cas:", name);
		for (int i = 0; i < l->n; i++)
			fprintf(stderr, " %s", l->ca[i].name);
		fprintf(stderr, ")\n");
	}
	return k;
}

int ctl_account_main(int argc, char **argv, struct cfg *cfg,
                     redisContext *redis, const char *prefix)
{
	struct acme_opts so;
	struct ca_list cas = { 0 };
	/* the new-order buckets are the worker's business, not read here */
	const struct rl_bucket any = { 0, 1 };
	struct account_kek kek = { 0 };
	struct args args;
	char hash[300];
	int ret = 2, k;
	memset(&so, 0, sizeof(so));
	if (argc < 2) {
		usage();
		return 2;
	}
	const char *sub = argv[1];
	if (!parse_args(argc, argv, &args)) {
		usage();
		return 2;
	}
	if (acme_cfg_load(cfg, &so) != 0 || ca_list_load(cfg, &any, &cas) != 0) {
		cfg_print_errors(cfg, stderr, "dcvctl account: configuration");
		ret = 2;
		goto out;
	}
	if ((k = which_ca(&args, &cas)) < 0)
		goto out;
	const char *tw = args.tenant ? job_tenant_check(args.tenant) : NULL;
	if (tw) {
		fprintf(stderr, "dcvctl account: --tenant: %s\n", tw);
		goto out;
	}
	if (args.tenant && strcmp(sub, "register") == 0 &&
	    !ca_tenant_account(&cas, args.tenant, k)) {
		fprintf(stderr, "dcvctl account register: tenant %s signs with its own account "
		        "at CA %s only when acme.tenants.%s sets own_account: true and lists "
		        "%s in its cas\n", args.tenant, cas.ca[k].name, args.tenant,
		        cas.ca[k].name);
		goto out;
	}
	const struct acme_opts *o = &cas.ca[k].acme;
	account_tenant_hash(prefix, cas.ca[k].name, args.tenant, hash, sizeof(hash));
	const struct ca_at at = { prefix, cas.ca[k].name, args.tenant };
	enum account_status ks = account_kek_load(so.kek_file, &kek);
	if (ks != ACCOUNT_OK) {
		fprintf(stderr, "dcvctl account: key-encryption key (%s) must hold "
		        "64 hex digits or base64url of 32 bytes\n",
		        so.kek_file ? so.kek_file : "DCV_ACME_KEK");
		ret = 1;
		goto out;
	}
	const char *why = account_kek_policy(&kek, so.allow_plaintext_keys);
	if (why && (strcmp(sub, "register") == 0 || strcmp(sub, "rotate-key") == 0)) {
		fprintf(stderr, "dcvctl account %s: %s\n", sub, why);
		ret = 2;
		goto out;
	}
	if (strcmp(sub, "register") == 0) {
		ret = cmd_register(&args, o, redis, hash, &kek, &at);
		/* a tenant's account says nothing of the CA's health */
		if (ret == 0 && !args.tenant)
			ca_health_ok(redis, prefix, cas.ca[k].name, "account registered",
			             (long long)time(NULL) * 1000);
	} else if (strcmp(sub, "show") == 0) {
		if (args.tenant)
			printf("tenant: %s\n", args.tenant);
		ret = cmd_show(redis, hash, &kek);
	}
	else if (strcmp(sub, "rotate-key") == 0)
		ret = cmd_rotate(&args, o, redis, hash, &kek, &at);
	else if (strcmp(sub, "deactivate") == 0)
		ret = cmd_deactivate(&args, o, redis, hash, &kek);
	else {
		fprintf(stderr, "dcvctl account: unknown command \"%s\"\n", sub);
		usage();
		ret = 2;
	}
out:
	account_kek_wipe(&kek);
	ca_list_free(&cas);
	acme_opts_free(&so);
	return ret;
}
