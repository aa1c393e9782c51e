/*
 * ca_cfg: the CAs the fleet orders from, in order of preference (README,
 * "More than one CA"), loaded once into an immutable list.
 *
 * Without acme.cas the list is today's single CA, named "default", made of
 * the acme.* keys (acme.directory, acme.caa_identities, ratelimit.
 * new_orders.*): a single-CA configuration keeps working unchanged, its
 * account in "<prefix>:account" and its rate-limit buckets under the
 * directory's host.  With acme.cas, a mapping keyed by name in the file's
 * order (the first is preferred), each CA has
 *
 *   directory          https:// URL (required)
 *   caa_identities     the issuer domain names it accepts in CAA (required)
 *   ca_bundle, key_type, profile      default the acme.* keys of that name
 *   eab_kid, eab_hmac_file / eab_hmac (better from the environment,
 *                      DCV_ACME_CAS_<NAME>_EAB_HMAC): its EAB, never the
 *                      acme.* ones (one CA's EAB key is no other's)
 *   ari                whether it offers ARI (default true)
 *   ratelimit.new_orders.limit, .period_ms   its new-order bucket
 *                      (default ratelimit.new_orders.*)
 *
 * and the shared acme.* keys (email, timeouts, KEKs, cert_key_type,
 * preferred_chain) apply to all.  acme.tenants.<tenant> pins a tenant's
 * domains to some of them: cas (names of acme.cas, preferred first) and
 * fallback (default false: only those; true: then the fleet's others), and
 * own_account (default false; true: at those CAs the tenant signs with its
 * own account, "<prefix>:account:<ca>:tenant:<tenant>", registered with
 * dcvctl account register --ca NAME --tenant T).  A CA has its own account hash
 * (account_hash(): "<prefix>:account:<name>", the CA named "default"
 * keeps "<prefix>:account") and its own buckets ("<name>:new-orders" ...;
 * the CA named "default" keeps the directory's host, as before).
 */
#ifndef DCV_CA_CFG_H
#define DCV_CA_CFG_H

#include <stdbool.h>
#include <stddef.h>

#include "acme.h"
#include "cfg.h"
#include "job.h"
#include "ratelimit.h"

#define CA_MAX 8            /* CAs in acme.cas */
#define CA_NAME_MAX 32      /* [a-z0-9_-], a key part of Redis names */
#define CA_CAA_MAX 8        /* CAA identities of one CA */
#define CA_CAA_LEN 256

/* One CA. */
struct ca_conf {
	char name[CA_NAME_MAX + 1];
	struct acme_opts acme;           /* its client's options (owned) */
	char caa[CA_CAA_MAX][CA_CAA_LEN];/* issuer domain names for CAA */
	const char *caa_ptr[CA_CAA_MAX]; /* the same, as caa_policy wants */
	int n_caa;
	struct rl_bucket new_orders;     /* its new-order bucket (per account) */
	bool ari;                        /* it offers ARI (renewalInfo) */
	char scope[256];                 /* first part of its bucket names */
};

#define CA_TENANTS_MAX 64   /* tenants of acme.tenants */

/* A tenant pinned to some CAs (acme.tenants.<tenant>: cas, fallback). */
struct ca_tenant {
	char name[JOB_TENANT_MAX + 1];
	int cas[CA_MAX];                 /* indices into the list, preferred
	                                    first */
	int n;
	bool fallback;                   /* the fleet's other CAs after them */
	bool own_account;                /* at its CAs (cas) it signs with its
	                                    own account, never the fleet's */
};

/* The CAs, index 0 preferred. */
struct ca_list {
	struct ca_conf ca[CA_MAX];
	int n;
	bool listed;                     /* from acme.cas (else the default) */
	long long health_failures;       /* acme.ca_health.failures: failures
	                                    in a row that make a CA unhealthy */
	long long health_reprobe_ms;     /* acme.ca_health.reprobe_ms: then it
	                                    is tried again (ca_health.h) */
	struct ca_tenant tenants[CA_TENANTS_MAX];
	int n_tenants;
};

/* Reads the CAs from C (acme.cas, else the acme.* keys) into L, with
 * NEW_ORDERS (ratelimit.new_orders.*, lifecycle_cfg) as the default
 * bucket.  Errors are recorded in C, naming file and line; returns 0 or
 * -1 then.  Release with ca_list_free() either way.  The shared acme.*
 * keys are read again for each CA: read them first (acme_cfg_load) and
 * call this only when they hold no error. */
int ca_list_load(struct cfg *c, const struct rl_bucket *new_orders, struct ca_list *l);
void ca_list_free(struct ca_list *l);

/* The index of the CA named NAME, or -1. */
int ca_find(const struct ca_list *l, const char *name);

/* The CA a record's field names (NAME: its "ca" or "issued_ca"), or -1
 * when that CA is not configured.  NULL or "": a record from before CAs
 * had names, whose one CA was the single CA "default": the CA named
 * "default" when acme.cas has one (the account kept, README), else the
 * first. */
int ca_of_record(const struct ca_list *l, const char *name);

/* The CAs a domain of TENANT ("" or NULL: none) may be issued by, as
 * indices into L, in the order they are preferred, into ORDER (L->n
 * entries): a tenant of acme.tenants gets its CAs (cas), then, with
 * fallback, the fleet's others in their order; any other domain every CA.
 * Returns how many. */
int ca_candidates(const struct ca_list *l, const char *tenant, int *order);

/* Whether a domain of TENANT signs with the tenant's own account at CA
 * number CA (acme.tenants.<tenant>.own_account, CA one of its cas), not
 * with the fleet's. */
bool ca_tenant_account(const struct ca_list *l, const char *tenant, int ca);

/* Whether S is a CA name (1 to CA_NAME_MAX of [a-z0-9_-]). */
bool ca_name_ok(const char *s);

#endif
