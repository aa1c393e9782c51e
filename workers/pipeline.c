/* dcv-worker's dependencies and each thread's clients; see pipeline.h. */
#include "pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme_outcome.h"
#include "bucket.h"
#include "ca_caps.h"
#include "ca_health.h"
#include "certstore.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "txt_list.h"

/* How long a thread signs with the account it loaded before it looks
 * whether another process rotated the key (a request refused meanwhile
 * makes it look at once). */
#define ACCOUNT_CHECK_MS 1000

/* Where one KEK comes from and whose keys it seals. */
struct kek_src {
	const char *path;   /* its configuration key, for errors */
	const char *file;   /* its file, or NULL: the variable */
	const char *var;    /* the environment variable */
	const char *whose;  /* "the account key", for messages */
	const char *(*policy)(const struct account_kek *, bool allow_plaintext);
};

/* Loads S into K, refused when absent unless ALLOW (plaintext keys).  0, or
 * -1 with the error recorded in C (naming the file, never the key). */
static int load_kek(struct cfg *c, const struct kek_src *s, bool allow, struct account_kek *k)
{
	if (account_kek_load_env(s->file, s->var, k) != ACCOUNT_OK) {
		cfg_fail(c, s->path, "cannot read the key-encryption key of %s from %s "
		         "(64 hex digits or base64url of 32 bytes)", s->whose,
		         s->file ? s->file : s->var);
		return -1;
	}
	const char *why = s->policy(k, allow);
	if (why) {
		cfg_fail(c, s->path, "%s", why);
		return -1;
	}
	if (!k->set)
		log_msg(LOG_WARN, "acme.allow_plaintext_keys: %s stored in Redis in the clear",
		        s->whose);
	return 0;
}

/* The account KEK (every stage that signs) and, for a worker that runs
 * finalize, the certificate KEK: each on its own.  A worker without
 * finalize never holds the certificate KEK.  0, or -1 with the error
 * recorded in C. */
static int load_keks(struct cfg *c, const struct worker_cfg *wc, struct pipeline *p)
{
	const struct kek_src account = { "acme.kek_file", p->acme.kek_file, ACCOUNT_KEK_ENV,
	                                 "the account key", account_kek_policy };
	const struct kek_src cert = { "acme.cert_kek_file", p->acme.cert_kek_file,
	                              CERTSTORE_KEK_ENV, "the certificate keys",
	                              certstore_kek_policy };
	bool allow = p->acme.allow_plaintext_keys;

	if (load_kek(c, &account, allow, &p->kek) != 0)
		return -1;
	if (!(wc->stage_mask & 1u << STAGE_FINALIZE))
		return 0;
	if (load_kek(c, &cert, allow, &p->cert_kek) != 0)
		return -1;
	if (p->kek.set && p->cert_kek.set &&
	    memcmp(p->kek.key, p->cert_kek.key, sizeof(p->kek.key)) == 0)
		log_msg(LOG_WARN, "acme.cert_kek_file: the certificate KEK is the account's: "
		        "whoever can open a certificate key can open the account key");
	return 0;
}

int pipeline_configure(struct cfg *c, const struct worker_cfg *wc, void **deps)
{
	struct pipeline *p = calloc(1, sizeof(*p));
	char err[256];

	*deps = p;
	if (!p)
		return -1;
	lifecycle_cfg_load(c, &p->lc);
	/* the shared keys first: a CA's copy of them reports nothing again */
	if (acme_cfg_load(c, &p->acme) == 0)
		ca_list_load(c, &p->lc.new_orders, &p->cas);
	dns_cfg_load(c, &p->dns);
	p->have_txt = (wc->stage_mask & (1u << STAGE_PROVISION_TXT | 1u << STAGE_FINALIZE |
	                                 1u << STAGE_OFFBOARD_CHECK)) != 0;
	if (p->have_txt) {
		if (!cfg_has(c, "provider"))
			cfg_fail(c, "provider", "the stages provision-txt, finalize and "
			         "offboard-check need a provider section");
		else
			txt_provider_cfg_load(c, &p->txt);
	} else {
		cfg_skip(c, "provider");
	}
	if (cfg_error(c))
		return -1;
	if (load_keks(c, wc, p) != 0)
		return -1;
	p->nthreads = (unsigned)wc->concurrency;
	p->threads = calloc(p->nthreads, sizeof(*p->threads));
	if (!p->threads)
		return -1;
	for (unsigned i = 0; i < p->nthreads; i++) {
		struct stage_thread *t = &p->threads[i];
		t->curc = &t->ca[0];
		for (int k = 0; k < p->cas.n; k++) {
			if (acme_client_new(&p->cas.ca[k].acme, &t->ca[k].acme) != ACME_OK ||
			    acme_client_new(&p->cas.ca[k].acme, &t->tca[k].acme) != ACME_OK) {
				cfg_fail(c, "acme", "cannot create the ACME client of CA %s",
				         p->cas.ca[k].name);
				return -1;
			}
		}
		if (!(t->dns = dns_new(&p->dns, err, sizeof(err)))) {
			cfg_fail(c, "dns", "%s", err);
			return -1;
		}
		if (p->have_txt && !(t->txt = txt_provider_new(&p->txt, err, sizeof(err)))) {
			cfg_fail(c, "provider", "%s", err);
			return -1;
		}
	}
	explicit_bzero(p->txt.secret, sizeof(p->txt.secret));
	explicit_bzero(p->txt.api_key, sizeof(p->txt.api_key));
	if ((wc->stage_mask & 1u << STAGE_OFFBOARD_CHECK) && !p->lc.pointing_rule)
		log_msg(LOG_WARN, "dns.pointing sets no ip_ranges or host_suffixes: nothing can be "
		        "seen pointing at us, so no domain is parked or offboarded on its own "
		        "(only by dcvctl offboard); certificates keep renewing");
	return 0;
}

void pipeline_release(void *deps)
{
	struct pipeline *p = deps;

	if (!p)
		return;
	for (unsigned i = 0; p->threads && i < p->nthreads; i++) {
		struct stage_thread *t = &p->threads[i];
		for (int k = 0; k < CA_MAX; k++) {
			acme_client_free(t->ca[k].acme);
			acme_client_free(t->tca[k].acme);
			if (t->ca[k].have_account)
				account_free(&t->ca[k].account);
			if (t->tca[k].have_account)
				account_free(&t->tca[k].account);
		}
		dns_free(t->dns);
		txt_provider_free(t->txt);
	}
	free(p->threads);
	ca_list_free(&p->cas);
	acme_opts_free(&p->acme);
	account_kek_wipe(&p->kek);
	account_kek_wipe(&p->cert_kek);
	explicit_bzero(p, sizeof(*p));
	free(p);
}

struct pipeline *pipeline_of(struct stage_env *env)
{
	return env->deps;
}

struct stage_thread *pipeline_thread(struct stage_env *env)
{
	struct pipeline *p = env->deps;
	return &p->threads[env->thread % p->nthreads];
}

/* The thread's clients are handed out here only, each with the job's
 * deadline set: whatever a stage asks of DNS, the TXT provider or the CA
 * ends by env->deadline_ms. */
struct dns_ctx *pipeline_dns(struct stage_env *env)
{
	struct dns_ctx *d = pipeline_thread(env)->dns;
	dns_set_deadline(d, env->deadline_ms);
	return d;
}

struct txt_provider *pipeline_txt(struct stage_env *env)
{
	struct txt_provider *t = pipeline_thread(env)->txt;
	if (t)
		txt_set_deadline(t, env->deadline_ms);
	return t;
}

void pipeline_note_caps(struct stage_env *env)
{
	struct pipeline *p = env->deps;
	struct stage_thread *th = pipeline_thread(env);
	struct ca_client *t = th->curc;
	const struct acme_directory *d = acme_directory_cached(t->acme);
	struct ca_caps caps;

	if (t->caps_noted || !d)
		return;
	ca_caps_from_directory(d, &caps);
	t->caps_noted = ca_caps_record(queue_redis(env->q), queue_prefix(env->q),
	                               p->cas.ca[th->cur].name, &caps,
	                               (long long)(env->now_ms / 1000)) == 0;
}

struct acme_client *pipeline_acme_as(struct stage_env *env, int ca, const char *tenant,
                                     struct outcome *out)
{
	struct pipeline *p = env->deps;
	struct stage_thread *th = pipeline_thread(env);
	bool own = tenant && *tenant;
	struct ca_client *t = own ? &th->tca[ca] : &th->ca[ca];
	redisContext *rc = queue_redis(env->q);
	const char *name = p->cas.ca[ca].name;
	enum account_status as;
	const char *hash = th->cur_hash;
	bool changed;

	if (own && strcmp(t->tenant, tenant) != 0) {
		/* another tenant's: its account is loaded anew */
		acme_set_account(t->acme, NULL, NULL);
		if (t->have_account)
			account_free(&t->account);
		t->have_account = t->stale = false;
		snprintf(t->tenant, sizeof(t->tenant), "%s", tenant);
	}
	th->cur = ca;
	th->curc = t;
	account_tenant_hash(queue_prefix(env->q), name, own ? tenant : NULL, th->cur_hash,
	                    sizeof(th->cur_hash));
	if (own)
		snprintf(th->cur_scope, sizeof(th->cur_scope), "%s:tenant:%s",
		         p->cas.ca[ca].scope, tenant);
	else
		snprintf(th->cur_scope, sizeof(th->cur_scope), "%s", p->cas.ca[ca].scope);
	acme_set_deadline(t->acme, env->deadline_ms);
	pipeline_note_caps(env);
	if (!t->have_account) {
		as = account_load(rc, hash, &p->kek, &t->account);
		if (as == ACCOUNT_OK) {
			t->have_account = true;
			t->account_checked_ms = env->now_ms;
			acme_set_account(t->acme, t->account.key, t->account.url);
			return t->acme;
		}
	} else if (t->stale) {
		/* the CA refused it: read it again whatever its key_version (a
		 * new registration starts at 1 again); the client signs with the
		 * old one until the new one is there */
		struct account fresh;
		as = account_load(rc, hash, &p->kek, &fresh);
		if (as == ACCOUNT_OK) {
			acme_set_account(t->acme, fresh.key, fresh.url);
			account_free(&t->account);
			t->account = fresh;
			t->stale = false;
			t->account_checked_ms = env->now_ms;
			return t->acme;
		}
	} else if (env->now_ms - t->account_checked_ms < ACCOUNT_CHECK_MS) {
		return t->acme;
	} else {
		as = account_refresh(rc, hash, &p->kek, &t->account, t->acme, &changed);
		if (as == ACCOUNT_OK) {
			t->account_checked_ms = env->now_ms;
			return t->acme;
		}
	}
	if (as == ACCOUNT_NOTFOUND && own)
		outcome_retry(out, 30000, "no ACME account of tenant %s at CA %s in Redis "
		              "(acme.tenants.%s.own_account: the fleet's is not used): run "
		              "\"dcvctl account register --ca %s --tenant %s --eab-kid ...\"",
		              tenant, name, tenant, name, tenant);
	else if (as == ACCOUNT_NOTFOUND)
		outcome_retry(out, 30000, "no ACME account for CA %s in Redis: run "
		              "\"dcvctl account register --ca %s --email ...\"", name, name);
	else
		outcome_retry(out, -1, "ACME account of %s%s%sCA %s: %s", own ? "tenant " : "",
		              own ? tenant : "", own ? " at " : "", name, account_strerror(as));
	return NULL;
}

struct acme_client *pipeline_acme_ca(struct stage_env *env, int ca, struct outcome *out)
{
	return pipeline_acme_as(env, ca, NULL, out);
}

struct acme_client *pipeline_acme_for(struct stage_env *env, int ca, const char *tenant,
                                      struct outcome *out)
{
	struct pipeline *p = env->deps;

	return pipeline_acme_as(env, ca, ca_tenant_account(&p->cas, tenant, ca) ? tenant : NULL,
	                        out);
}

bool pipeline_cur_tenant(struct stage_env *env)
{
	struct stage_thread *th = pipeline_thread(env);
	return th->curc == &th->tca[th->cur];
}

const char *pipeline_cur_scope(struct stage_env *env)
{
	return pipeline_thread(env)->cur_scope;
}

int pipeline_rec_ca(const struct pipeline *p, const struct domain_rec *rec)
{
	const char *name = rec_str(rec, "ca", "");

	return ca_of_record(&p->cas, name);
}

/* The client of the CA named in REC's FIELD (else "ca"; neither: the
 * first CA), with the account its ACCT field (else "acct") names: "tenant"
 * the record's tenant's own, else the fleet's; a CA no longer configured
 * is a retry that says so. */
static struct acme_client *acme_of(struct stage_env *env, const struct domain_rec *rec,
                                   const char *field, const char *acct,
                                   struct outcome *out)
{
	struct pipeline *p = env->deps;
	const char *name = rec_str(rec, field, rec_str(rec, "ca", ""));
	const char *who = rec_str(rec, acct, rec_str(rec, "acct", ""));
	int ca = ca_of_record(&p->cas, name);
	const char *tenant = strcmp(who, "tenant") == 0 ? rec_str(rec, "tenant", "") : NULL;

	if (ca < 0) {
		outcome_retry(out, 600000, "the CA %.40s is not in acme.cas any more", name);
		return NULL;
	}
	if (tenant && job_tenant_check(tenant)) {
		outcome_retry(out, 600000, "the record's account is a tenant's, and its "
		              "tenant is not valid");
		return NULL;
	}
	return pipeline_acme_as(env, ca, tenant, out);
}

struct acme_client *pipeline_acme(struct stage_env *env, const struct domain_rec *rec,
                                  struct outcome *out)
{
	return acme_of(env, rec, "ca", "acct", out);
}

struct acme_client *pipeline_acme_issuer(struct stage_env *env, const struct domain_rec *rec,
                                         struct outcome *out)
{
	return acme_of(env, rec, "issued_ca", "issued_acct", out);
}

const struct ca_conf *pipeline_cur_ca(struct stage_env *env)
{
	struct pipeline *p = env->deps;
	return &p->cas.ca[pipeline_thread(env)->cur];
}

const char *pipeline_account_url(struct stage_env *env, int ca, const char *tenant)
{
	struct outcome scratch;
	struct acme_client *c = pipeline_acme_for(env, ca, tenant, &scratch);
	return c ? acme_account_url(c) : NULL;
}

void pipeline_ca_count(const char *name, const char *help, const char *ca,
                       const char *key, const char *value)
{
	char labels[256];

	if (metrics_labels(labels, sizeof(labels), "ca", ca, key, value, NULL) == METRICS_OK)
		metrics_counter_add(name, help, labels, 1);
}

void pipeline_ca_health_gauge(const char *ca, bool healthy)
{
	char labels[128];

	if (metrics_labels(labels, sizeof(labels), "ca", ca, NULL) == METRICS_OK)
		metrics_gauge_set(metrics_gauge(METRICS_CA_HEALTHY, METRICS_CA_HEALTHY_HELP,
		                                labels), healthy ? 1 : 0);
}

/* Whether the account T signs with is still the one stored in HASH, and
 * no rotation of its key is under way: a thread that signed with one
 * replaced since (dcvctl account register --force), or between keyChange
 * and the new key's promotion, says nothing of the CA's health. */
static bool account_current(struct stage_env *env, const struct ca_client *t,
                            const char *hash)
{
	const char *argv[] = { "HMGET", hash, "url", "pending_key" };
	struct queue_reply *r = queue_command(env->q, 4, argv, NULL);
	const char *url = queue_reply_str(queue_reply_at(r, 0), NULL);
	bool same = url && t->account.url && strcmp(url, t->account.url) == 0 &&
	            !queue_reply_str(queue_reply_at(r, 1), NULL);
	queue_reply_free(r);
	return same;
}

/* A failure of CA counted in its health record (ca_health.h): an outage
 * (no answer, 5xx) counts towards acme.ca_health.failures; an account the
 * CA refuses (not for a rotated key) makes it unhealthy at once, and the
 * thread loads the account again at its next use. */
static void ca_health_note(struct stage_env *env, struct ca_client *t,
                           const struct ca_conf *ca, const struct acme_failure *f,
                           const char *what, const struct outcome *out)
{
	struct pipeline *p = env->deps;
	/* newOrder is where a CA refuses the account as such (paused,
	 * deactivated, unknown); a refusal of another request may be that
	 * order's own */
	bool refused = f->st == ACME_E_UNAUTHORIZED || f->st == ACME_E_NOACCOUNT ||
	               f->st == ACME_E_USERACTION;
	bool account = refused && !f->key_moved && strcmp(what, "new order") == 0;
	const char *hash = pipeline_thread(env)->cur_hash;
	char reason[CA_REASON_MAX];
	const char *kind;

	if (account && pipeline_cur_tenant(env)) {
		/* a tenant's own account refused says nothing of the CA: that
		 * tenant's orders wait (never signed with the fleet's) */
		t->stale = true;
		return;
	}
	if (account) {
		if (!t->have_account || !account_current(env, t, hash)) {
			t->stale = true;   /* replaced since: load the new one */
			return;
		}
		kind = "account refused";
	} else if (out->outage) {
		kind = "no answer";
	} else {
		t->stale = t->stale || (refused && !f->key_moved);
		return;
	}
	snprintf(reason, sizeof(reason), "%s: %s: %.80s (%.60s)", kind, what, f->detail,
	         f->type);
	for (char *s = reason; *s; s++)
		if ((unsigned char)*s < 0x20)
			*s = ' ';
	int r = ca_health_failed(queue_redis(env->q), queue_prefix(env->q), ca->name, reason,
	                         (long long)env->now_ms, p->cas.health_failures,
	                         p->cas.health_reprobe_ms, account);
	if (r == 1) {
		log_msg(LOG_WARN, "CA %s is unhealthy: %s", ca->name, reason);
		pipeline_ca_health_gauge(ca->name, false);
		pipeline_ca_count(METRICS_CA_UNHEALTHY, METRICS_CA_UNHEALTHY_HELP, ca->name,
		                  NULL, NULL);
	}
	pipeline_ca_count(METRICS_CA_FAILURES, METRICS_CA_FAILURES_HELP, ca->name, "kind",
	                  account ? "account" : "outage");
	t->stale = true;   /* loaded anew at its next use */
}

void pipeline_acme_failed(struct stage_env *env, const struct job *job,
                         enum acme_status st, const char *what, struct outcome *out)
{
	struct stage_thread *th = pipeline_thread(env);
	struct ca_client *t = th->curc;
	const struct ca_conf *ca = pipeline_cur_ca(env);
	const struct acme_problem *pr = acme_last_problem(t->acme);
	const char *hash = th->cur_hash;
	char labels[256], name[600];
	long long v = 0, block_ms = 0;
	struct acme_failure f = {
		.st = st,
		.type = pr->type[0] ? pr->type : acme_strerror(st),
		.detail = pr->detail[0] ? pr->detail : acme_strerror(st),
		.retry_after_ms = pr->retry_after_ms,
		.attempt = job->attempt,
		.orders_period_ms = ca->new_orders.period_ms,
	};

	if (metrics_labels(labels, sizeof(labels), "type", f.type, NULL) == METRICS_OK)
		metrics_counter_add(METRICS_ACME_PROBLEMS, METRICS_ACME_PROBLEMS_HELP,
		                    labels, 1);
	f.key_moved = account_key_refused(st) && t->have_account &&
	              account_version(queue_redis(env->q), hash, &v) ==
	              ACCOUNT_OK && v != t->account.key_version;
	enum acme_effect eff = acme_outcome_decide(&f, what, out, &block_ms);
	ca_health_note(env, t, ca, &f, what, out);
	switch (eff) {
	case ACME_EFFECT_BLOCK:
		ratelimit(env->q, bucket_name(th->cur_scope, "new-orders", NULL, name, sizeof(name)),
		          &ca->new_orders, RL_BLOCK, env->now_ms,
		          env->now_ms + (uint64_t)block_ms);
		metrics_counter_add(METRICS_RATELIMIT_WAITS, METRICS_RATELIMIT_WAITS_HELP,
		                    "bucket=\"ca\"", 1);
		pipeline_ca_count(METRICS_CA_WAITS, METRICS_CA_WAITS_HELP, ca->name, "bucket", "ca");
		break;
	case ACME_EFFECT_RELOAD:
		t->account_checked_ms = 0;   /* reload at the next job */
		break;
	case ACME_EFFECT_NONE:
		break;
	}
}

void pipeline_dns_count(const char *check, const struct dns_check_result *r)
{
	char labels[128];
	if (metrics_labels(labels, sizeof(labels), "check", check, "status",
	                   dns_check_strerror(r->status), NULL) == METRICS_OK)
		metrics_counter_add(METRICS_DNS_CHECKS, METRICS_DNS_CHECKS_HELP, labels, 1);
}

int pipeline_target(struct stage_env *env, const struct job *job,
                    const char *base, char *out, size_t len)
{
	return dname_target(env->cfg->target_template, base, env->cfg->zone,
	                    job->tenant[0] ? job->tenant : NULL, out, len) ? -1 : 0;
}

int pipeline_txt_cleanup(struct stage_env *env, const struct job *job,
                const struct domain_rec *rec, char *why, size_t whylen)
{
	struct txt_list l;
	char msg[TXT_MSG_MAX];
	const char *list = rec_str(rec, "txt", "");
	struct txt_provider *txt;

	if (!list[0])
		return 0;
	if (!(txt = pipeline_txt(env))) {
		snprintf(why, whylen, "this worker has no TXT provider");
		return -1;
	}
	txt_list_parse(&l, list);
	for (int i = 0; i < l.n; i++) {
		if (txt_remove(txt, l.e[i].name, l.e[i].value, msg, sizeof(msg)) == TXT_TRANSIENT) {
			snprintf(why, whylen, "removing the TXT at %s: %s", l.e[i].name, msg);
			return -1;
		}
	}
	return domain_set(env, job, "txt", (const char *)NULL, (const char *)NULL);
}
