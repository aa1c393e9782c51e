/*
 * ctl_revoke: "dcvctl revoke DOMAIN [--reason R]", the revocation of the
 * stored certificate (<prefix>:cert:<domain>, the leaf of its chain) at the
 * CA, signed by the fleet's ACME account (dcv:account).
 *
 * Only what the CA confirmed is recorded: a revocation it accepted, or one
 * it answers alreadyRevoked for (then the command succeeds and says so).
 * A certificate the CA does not know or refuses, a CA that cannot be
 * reached, no stored certificate: a non-zero exit and nothing recorded.
 * The record, the certificate hash and the event "revoked" are written in
 * one step (common/lua/revoke.lua); with keyCompromise the same step starts
 * the re-issue of a domain that is still ours (schemas/lifecycle.md,
 * "Revocation").
 *
 * No message carries key material: the account key stays in this process
 * and in the ACME client, the certificate key is not read at all.
 */
#include "ctl.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "account.h"
#include "acme.h"
#include "ca_cfg.h"
#include "certstore.h"
#include "dname.h"

/* The reasons an operator may give (RFC 5280 CRLReason; the ones Let's
 * Encrypt accepts from a subscriber, less privilegeWithdrawn, which is
 * the CA's to give).  Without --reason the field is left out, which RFC
 * 5280 reads as unspecified: superseded would claim a replacement that may
 * not exist. */
static const struct reason {
	const char *name;
	int code;            /* -1: omitted */
} reasons[] = {
	{ "unspecified", -1 },
	{ "keyCompromise", 1 },
	{ "superseded", 4 },
	{ "cessationOfOperation", 5 },
};

/* The stored certificate of NAME: the chain (the leaf is revoked) and the
 * leaf's serial, read from the chain itself rather than from the field
 * beside it.  Returns EXIT_OK with *R owning CHAIN, or the exit code after
 * saying why. */
static int stored_leaf(struct ctl *c, const char *name, struct queue_reply **r,
                       const char **chain, struct cert_summary *s)
{
	*r = ctl_run(c, "HMGET %s:cert:%s chain serial", c->wc.q.prefix, name);
	if (queue_reply_kind(*r) != QR_ARRAY || queue_reply_len(*r) != 2)
		return EXIT_FAIL;
	*chain = queue_reply_str(queue_reply_at(*r, 0), NULL);
	if (!*chain) {
		fprintf(stderr, "dcvctl revoke: %s has no stored certificate\n", name);
		return EXIT_NOTFOUND;
	}
	if (certstore_summary(*chain, s) != 0) {
		fprintf(stderr, "dcvctl revoke: %s:cert:%s holds no PEM certificate\n",
		        c->wc.q.prefix, name);
		return EXIT_FAIL;
	}
	/* the leaf must be the certificate the hash says it holds: a chain
	 * copied in from another domain's hash would revoke that one */
	const char *field = queue_reply_str(queue_reply_at(*r, 1), NULL);
	if (!field)
		field = "";
	if (!certstore_same_serial(field, s->serial)) {
		fprintf(stderr, "dcvctl revoke: %s:cert:%s: its chain's leaf has serial %s, "
		        "its serial field %s: not revoked (look at the hash)\n",
		        c->wc.q.prefix, name, s->serial, field[0] ? field : "(none)");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* The CA's verdict on revoking CHAIN's leaf with REASON, signed by the
 * account in Redis: ACME_OK, ACME_E_ALREADYREVOKED, or another status
 * after saying why.  ACME_E_INVAL when there is no client to ask. */
static enum acme_status ask_ca(struct ctl *c, const char *name, const char *chain,
                               const struct reason *reason)
{
	struct acme_opts o;
	struct ca_list cas = { 0 };
	const struct rl_bucket any = { 0, 1 };
	struct account_kek kek = { 0 };
	struct account a = { 0 };
	struct acme_client *ac = NULL;
	enum acme_status st = ACME_E_INVAL;
	char hash[300], key[400];

	memset(&o, 0, sizeof(o));
	if (acme_cfg_load(c->cfg, &o) != 0 || ca_list_load(c->cfg, &any, &cas) != 0) {
		cfg_print_errors(c->cfg, stderr, "dcvctl revoke: configuration");
		goto out;
	}
	/* the CA that issued it, with that CA's account */
	queue_key(c->q, key, sizeof(key), "domain:");
	snprintf(key + strlen(key), sizeof(key) - strlen(key), "%s", name);
	const char *argv[] = { "HMGET", key, "issued_ca", "ca", "issued_acct", "acct",
	                       "tenant" };
	struct queue_reply *r = ctl_run_argv(c, 7, argv);
	const char *issuer = queue_reply_str(queue_reply_at(r, 0), NULL);
	if (!issuer)
		issuer = queue_reply_str(queue_reply_at(r, 1), NULL);
	int k = ca_of_record(&cas, issuer);
	if (k < 0) {
		fprintf(stderr, "dcvctl revoke: %s was issued by CA %.40s, not in acme.cas\n",
		        name, issuer);
		queue_reply_free(r);
		goto out;
	}
	/* with the account that ordered it: a tenant's own, or the fleet's */
	const char *acct = queue_reply_str(queue_reply_at(r, 2), NULL);
	if (!acct)
		acct = queue_reply_str(queue_reply_at(r, 3), NULL);
	if (!acct)
		acct = "fleet";
	const char *tenant = queue_reply_str(queue_reply_at(r, 4), NULL);
	if (!tenant)
		tenant = "";
	if (strcmp(acct, "tenant") == 0 && job_tenant_check(tenant)) {
		fprintf(stderr, "dcvctl revoke: %s was ordered with a tenant's account, and "
		        "its tenant is not valid\n", name);
		queue_reply_free(r);
		goto out;
	}
	account_tenant_hash(c->wc.q.prefix, cas.ca[k].name,
	                    strcmp(acct, "tenant") == 0 ? tenant : NULL, hash, sizeof(hash));
	queue_reply_free(r);
	if (account_kek_load(o.kek_file, &kek) != ACCOUNT_OK) {
		fprintf(stderr, "dcvctl revoke: key-encryption key (%s) must hold "
		        "64 hex digits or base64url of 32 bytes\n",
		        o.kek_file ? o.kek_file : ACCOUNT_KEK_ENV);
		goto out;
	}
	enum account_status as = account_load(queue_redis(c->q), hash, &kek, &a);
	if (as != ACCOUNT_OK) {
		fprintf(stderr, "dcvctl revoke: ACME account: %s\n", account_strerror(as));
		goto out;
	}
	if (acme_client_new(&cas.ca[k].acme, &ac) != ACME_OK) {
		fprintf(stderr, "dcvctl revoke: cannot create the ACME client\n");
		goto out;
	}
	acme_set_account(ac, a.key, a.url);
	st = acme_revoke(ac, chain, reason->code);
	if (st != ACME_OK && st != ACME_E_ALREADYREVOKED) {
		const struct acme_problem *p = acme_last_problem(ac);
		fprintf(stderr, "dcvctl revoke: %s: the CA did not revoke it: %s%s%s%s\n", name,
		        acme_strerror(st), p->type[0] ? " [" : "", p->type, p->type[0] ? "]" : "");
		if (p->detail[0])
			fprintf(stderr, "  CA says: %s\n", p->detail);
		fprintf(stderr, "  nothing recorded%s\n", acme_status_retryable(st) ?
		        " (transient: try again later)" : "");
	}
out:
	acme_client_free(ac);
	account_free(&a);
	account_kek_wipe(&kek);
	ca_list_free(&cas);
	acme_opts_free(&o);
	return st;
}

/* Records what the CA confirmed (REVOKE) and says what was done. */
static int record(struct ctl *c, const char *name, const char *serial,
                  const struct reason *reason, bool already)
{
	char detail[300];
	struct script_args a;

	snprintf(detail, sizeof(detail), "serial %s revoked (%s)%s", serial, reason->name,
	         already ? ", the CA had already revoked it" : "");
	/* layout: common/lua/revoke.lua */
	sa_init(&a, 0);
	sa_arg(&a, c->wc.q.prefix);
	sa_argu(&a, queue_now_ms());
	sa_arg(&a, name);
	sa_arg(&a, serial);
	sa_arg(&a, reason->name);
	sa_arg(&a, reason->code == 1 ? "1" : "0");
	sa_arg(&a, detail);
	sa_argi(&a, c->wc.q.events_maxlen);
	long long v = ctl_lifecycle(c, SCRIPT_REVOKE, &a);
	if (v == INT_MIN) {
		fprintf(stderr, "dcvctl revoke: %s: serial %s %s revoked at the CA, but "
		        "recording it failed: run the command again\n", name, serial,
		        already ? "was already" : "is");
		return EXIT_FAIL;
	}
	printf("%s: serial %s %s (%s)\n", name, serial,
	       already ? "was already revoked at the CA; recorded" : "revoked", reason->name);
	if (!(v & 1))
		printf("%s: the stored certificate changed meanwhile: it is not the one "
		       "revoked\n", name);
	if (v & 4)
		printf("%s: renewing now with a new key\n", name);
	else if (reason->code == 1)
		printf("%s: not renewed: no pipeline of the domain runs (see dcvctl status); "
		       "onboard it again for a new certificate\n", name);
	return EXIT_OK;
}

int ctl_revoke(struct ctl *c, int argc, char **argv)
{
	char name[DNAME_MAX + 1];
	const struct reason *reason = &reasons[0];
	struct queue_reply *r = NULL;
	struct cert_summary s;
	const char *chain = NULL;
	int rc;

	/* --reason R before or after the domain */
	for (int i = 0; i + 1 < argc; i++) {
		if (strcmp(argv[i], "--reason") != 0)
			continue;
		reason = NULL;
		for (size_t k = 1; k < sizeof(reasons) / sizeof(reasons[0]); k++) /* not the default */
			if (strcmp(argv[i + 1], reasons[k].name) == 0)
				reason = &reasons[k];
		if (!reason || argc != 3) {
			fprintf(stderr, "dcvctl revoke: usage: revoke DOMAIN [--reason "
			        "keyCompromise|superseded|cessationOfOperation]\n");
			return EXIT_USAGE;
		}
		argv = i == 0 ? argv + 2 : argv;
		argc = 1;
		break;
	}
	if ((rc = ctl_one_domain("revoke", argc, argv, name)) != EXIT_OK)
		return rc;
	if ((rc = stored_leaf(c, name, &r, &chain, &s)) != EXIT_OK)
		goto out;
	enum acme_status st = ask_ca(c, name, chain, reason);
	if (st == ACME_OK || st == ACME_E_ALREADYREVOKED)
		rc = record(c, name, s.serial, reason, st == ACME_E_ALREADYREVOKED);
	else
		rc = EXIT_FAIL;
out:
	queue_reply_free(r);
	return rc;
}
