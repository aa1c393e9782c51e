/*
 * acme_driver: a small CLI over the ACME library for the integration tests
 * and the issuance benchmark.  Prints one JSON object on stdout per command;
 * exit 0 when it succeeded, 1 on an ACME/runtime failure, 2 on usage.
 *
 *   acme_driver [global] newkey
 *   acme_driver [global] register [--email E] [--eab-kid K --eab-hmac H] [--only-existing]
 *   acme_driver [global] deactivate
 *   acme_driver [global] order --names a,b
 *   acme_driver [global] issue --names a,b --challtestsrv URL [--count N]
 *                        [--wrong-txt] [--out DIR]
 *   acme_driver [global] keychange --new-key FILE
 *   acme_driver [global] revoke --cert FILE [--reason N]
 *   acme_driver [global] account-worker --redis HOST:PORT [--prefix P] --names a
 *   acme_driver --redis HOST:PORT [--prefix P] account <dcvctl account args>
 * global: --dir URL --ca FILE --key FILE --key-type T --account URL
 *         --nonce-retries N
 *
 * Unlike the library, the driver may sleep: it plays the queue's part.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "account.h"
#include "acme.h"
#include "acme_http.h"
#include "cfg.h"
#include "crypto.h"
#include "ctl_account.h"

struct opts {
	const char *dir, *ca, *key, *key_type, *account, *email, *eab_kid;
	const char *eab_hmac, *names, *challtestsrv, *out, *new_key, *cert;
	const char *redis, *prefix;
	int count, reason, nonce_retries;
	bool only_existing, wrong_txt;
};

static json_t *result;

static int emit(int rc)
{
	char *s = json_dumps(result, JSON_COMPACT);
	printf("%s\n", s ? s : "{}");
	free(s);
	json_decref(result);
	return rc;
}

static int acme_fail(struct acme_client *c, enum acme_status st, const char *step)
{
	const struct acme_problem *p = acme_last_problem(c);
	json_object_set_new(result, "status", json_string("error"));
	json_object_set_new(result, "step", json_string(step));
	json_object_set_new(result, "code", json_string(acme_strerror(st)));
	json_object_set_new(result, "retryable", json_boolean(acme_status_retryable(st)));
	json_object_set_new(result, "type", json_string(p->type));
	json_object_set_new(result, "detail", json_string(p->detail));
	return emit(1);
}

static int other_fail(const char *msg)
{
	json_object_set_new(result, "status", json_string("error"));
	json_object_set_new(result, "detail", json_string(msg));
	return emit(1);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(CRYPTO_CHAIN_MAX + 1);
	size_t n = buf ? fread(buf, 1, CRYPTO_CHAIN_MAX, f) : 0;
	fclose(f);
	if (!buf)
		return NULL;
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static int spit(const char *path, const char *data)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	fputs(data, f);
	return fclose(f);
}

static struct crypto_key *load_key(const char *path)
{
	size_t n;
	char *pem = slurp(path, &n);
	struct crypto_key *k = NULL;
	if (pem && crypto_key_from_pem(pem, n, &k) != CRYPTO_OK)
		k = NULL;
	crypto_free_secret(pem);
	return k;
}

static void sleep_ms(long long ms)
{
	if (ms < 0)
		ms = 0;
	if (ms > 200) /* Pebble with NOSLEEP validates in milliseconds */
		ms = 200;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Splits a comma list into a NULL-terminated array (modifies S). */
static size_t split(char *s, char **v, size_t max)
{
	size_t n = 0;
	for (char *tok = strtok(s, ","); tok && n < max; tok = strtok(NULL, ","))
		v[n++] = tok;
	return n;
}

/* POSTs {"host":..,"value":..} to the challtestsrv management API. */
static int challtest(struct acme_http *h, const char *base, const char *path,
                     const char *host, const char *value)
{
	char url[512];
	struct acme_http_resp r;
	json_t *j = value ? json_pack("{ssss}", "host", host, "value", value)
	                  : json_pack("{ss}", "host", host);
	char *body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	snprintf(url, sizeof(url), "%s%s", base, path);
	enum acme_http_status st = acme_http_do(h, "POST", url, body, NULL, &r,
	                                        NULL, 0);
	free(body);
	int ok = st == ACME_HTTP_OK && r.code == 200 ? 0 : -1;
	acme_http_resp_free(&r);
	return ok;
}

/* One complete issuance for NAMES.  Returns 0, or the exit code after
 * printing the error. */
static int issue_one(struct acme_client *c, struct acme_http *ctl,
                     const struct opts *o, char **names, size_t n,
                     int idx, json_t *certs, int *failed)
{
	struct acme_order order;
	struct acme_authz az;
	char *key_pem = NULL, *pem = NULL;
	char hosts[100][300];
	size_t nh = 0;
	long long wait;
	enum acme_status st;
	int ret = 0;
	memset(&az, 0, sizeof(az));
	st = acme_order_new(c, (const char *const *)names, n, NULL, NULL, &order);
	if (st != ACME_OK) {
		*failed = 1;
		return acme_fail(c, st, "newOrder");
	}
	/* Publish every TXT, then answer every challenge. */
	char *chall[100];
	size_t nc = 0;
	for (size_t i = 0; i < order.n_authz; i++) {
		st = acme_authz_get(c, order.authorizations[i], &az);
		if (st != ACME_OK)
			goto acme_err;
		if (strcmp(az.status, "valid") != 0) {
			char txt[44];
			if (!az.dns01_url) {
				st = ACME_E_PROTOCOL;
				goto acme_err;
			}
			st = acme_dns01_txt(c, az.dns01_token, txt);
			if (st != ACME_OK)
				goto acme_err;
			if (o->wrong_txt)
				txt[0] = txt[0] == 'A' ? 'B' : 'A';
			snprintf(hosts[nh], sizeof(hosts[nh]), "_acme-challenge.%s.",
			         az.identifier);
			if (challtest(ctl, o->challtestsrv, "/set-txt", hosts[nh], txt)) {
				acme_authz_free(&az);
				*failed = 1;
				ret = other_fail("set-txt failed");
				goto out;
			}
			nh++;
			chall[nc++] = strdup(az.dns01_url);
		}
		acme_authz_free(&az);
	}
	for (size_t i = 0; i < nc; i++) {
		st = acme_challenge_respond(c, chall[i]);
		if (st != ACME_OK)
			goto acme_err;
	}
	for (size_t i = 0; i < order.n_authz; i++) {
		while ((st = acme_authz_poll(c, order.authorizations[i], &az, &wait)) ==
		       ACME_PENDING) {
			acme_authz_free(&az);
			sleep_ms(wait);
		}
		acme_authz_free(&az);
		if (st != ACME_OK)
			goto acme_err;
	}
	while ((st = acme_order_poll(c, &order, &wait)) == ACME_PENDING)
		sleep_ms(wait);
	if (st != ACME_OK)
		goto acme_err;
	st = acme_finalize(c, &order, &key_pem, &wait);
	while (st == ACME_PENDING || (st == ACME_OK && !order.certificate)) {
		sleep_ms(wait);
		st = acme_order_poll(c, &order, &wait);
		if (st == ACME_OK && strcmp(order.status, "valid") != 0)
			st = ACME_PENDING;
	}
	if (st != ACME_OK)
		goto acme_err;
	st = acme_cert_download(c, order.certificate, key_pem,
	                        (const char *const *)names, n, &pem);
	if (st != ACME_OK)
		goto acme_err;
	if (o->out) {
		char path[1024];
		snprintf(path, sizeof(path), "%s/cert-%d.pem", o->out, idx);
		spit(path, pem);
		json_array_append_new(certs, json_string(path));
		snprintf(path, sizeof(path), "%s/key-%d.pem", o->out, idx);
		spit(path, key_pem);
	}
	goto out;
acme_err:
	*failed = 1;
	ret = acme_fail(c, st, "issue");
out:
	for (size_t i = 0; i < nc; i++)
		free(chall[i]);
	for (size_t i = 0; i < nh; i++)
		challtest(ctl, o->challtestsrv, "/clear-txt", hosts[i], NULL);
	crypto_free_secret(key_pem);
	free(pem);
	acme_order_free(&order);
	return ret;
}

static int cmd_issue(struct acme_client *c, const struct opts *o)
{
	char *names[100];
	char *list = strdup(o->names ? o->names : "");
	size_t n = split(list, names, 100);
	struct acme_http_opts ho = { 0 };
	struct acme_http *ctl = acme_http_new(&ho);
	json_t *certs = json_array();
	int failed = 0, ret = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < o->count && !failed; i++)
		ret = issue_one(c, ctl, o, names, n, i, certs, &failed);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	acme_http_free(ctl);
	free(list);
	if (failed) {
		json_decref(certs);
		return ret;
	}
	double el = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	json_object_set_new(result, "status", json_string("ok"));
	json_object_set_new(result, "issued", json_integer(o->count));
	json_object_set_new(result, "seconds", json_real(el));
	json_object_set_new(result, "certs", certs);
	return emit(0);
}

/* account-worker: loads the account from Redis, makes one order, then waits
 * for a line on stdin (the test rotates the key meanwhile) and makes a
 * second, again with the reloaded key when the CA refused the old one
 * and the stored key moved (account_key_refused, account_refresh), as
 * the stages do (workers/acme_outcome.h). */
struct order_arg {
	char **names;
	size_t n;
};

static enum acme_status do_order(struct acme_client *c, void *arg)
{
	struct order_arg *oa = arg;
	struct acme_order order;
	enum acme_status st = acme_order_new(c, (const char *const *)oa->names,
	                                     oa->n, NULL, NULL, &order);
	if (st == ACME_OK)
		acme_order_free(&order);
	return st;
}

static redisContext *redis_connect(const char *hp)
{
	char host[256];
	int port = 6379;
	snprintf(host, sizeof(host), "%s", hp);
	char *colon = strrchr(host, ':');
	if (colon) {
		*colon = '\0';
		port = atoi(colon + 1);
	}
	redisContext *rc = redisConnect(host, port);
	if (!rc || rc->err) {
		redisFree(rc);
		return NULL;
	}
	return rc;
}

static int cmd_account_worker(struct acme_client *c, const struct opts *o)
{
	struct account_kek kek;
	struct account a;
	char *names[10];
	char *list = strdup(o->names ? o->names : "");
	struct order_arg oa = { names, split(list, names, 10) };
	int ret = 1;
	char hash[300];
	redisContext *rc = redis_connect(o->redis);
	account_hash(o->prefix, NULL, hash, sizeof(hash));
	if (!rc || account_kek_load(NULL, &kek) != ACCOUNT_OK ||
	    account_load(rc, hash, &kek, &a) != ACCOUNT_OK) {
		free(list);
		redisFree(rc);
		return other_fail("cannot load the account");
	}
	acme_set_account(c, a.key, a.url);
	long long v0 = a.key_version;
	enum acme_status st = do_order(c, &oa);
	printf("{\"ready\":%s}\n", st == ACME_OK ? "true" : "false");
	fflush(stdout);
	char line[16];
	if (!fgets(line, sizeof(line), stdin))
		goto out;
	st = do_order(c, &oa);
	bool changed = false;
	if (account_key_refused(st) &&
	    account_refresh(rc, hash, &kek, &a, c, &changed) == ACCOUNT_OK && changed)
		st = do_order(c, &oa);
	if (st != ACME_OK) {
		ret = acme_fail(c, st, "order-after-rotate");
		goto out;
	}
	json_object_set_new(result, "status", json_string("ok"));
	json_object_set_new(result, "version_before", json_integer(v0));
	json_object_set_new(result, "version_after", json_integer(a.key_version));
	ret = emit(0);
out:
	account_free(&a);
	account_kek_wipe(&kek);
	redisFree(rc);
	free(list);
	return ret;
}

int main(int argc, char **argv)
{
	struct opts o = { .count = 1, .reason = -1, .nonce_retries = 10,
	                  .prefix = "dcv" };
	int i = 1;
	result = json_object();
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v) {
			fprintf(stderr, "%s needs a value\n", k);
			return 2;
		}
		if (!strcmp(k, "--dir")) o.dir = v;
		else if (!strcmp(k, "--ca")) o.ca = v;
		else if (!strcmp(k, "--key")) o.key = v;
		else if (!strcmp(k, "--key-type")) o.key_type = v;
		else if (!strcmp(k, "--account")) o.account = v;
		else if (!strcmp(k, "--nonce-retries")) o.nonce_retries = atoi(v);
		else if (!strcmp(k, "--redis")) o.redis = v;
		else if (!strcmp(k, "--prefix")) o.prefix = v;
		else {
			fprintf(stderr, "unknown option %s\n", k);
			return 2;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "usage: see the comment at the top of acme_driver.c\n");
		return 2;
	}
	const char *cmd = argv[i++];
	if (!strcmp(cmd, "account")) {
		/* dcvctl's path: configuration from the environment only. */
		struct cfg *cfg = cfg_new_empty();
		redisContext *rc = o.redis ? redis_connect(o.redis) : NULL;
		if (!rc) {
			fprintf(stderr, "cannot connect to redis\n");
			cfg_free(cfg);
			return 1;
		}
		int r = ctl_account_main(argc - i + 1, argv + i - 1, cfg, rc, o.prefix);
		redisFree(rc);
		cfg_free(cfg);
		json_decref(result);
		return r;
	}
	for (; i < argc; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(k, "--only-existing")) { o.only_existing = true; continue; }
		if (!strcmp(k, "--wrong-txt")) { o.wrong_txt = true; continue; }
		if (!v) {
			fprintf(stderr, "%s needs a value\n", k);
			return 2;
		}
		i++;
		if (!strcmp(k, "--email")) o.email = v;
		else if (!strcmp(k, "--eab-kid")) o.eab_kid = v;
		else if (!strcmp(k, "--eab-hmac")) o.eab_hmac = v;
		else if (!strcmp(k, "--names")) o.names = v;
		else if (!strcmp(k, "--challtestsrv")) o.challtestsrv = v;
		else if (!strcmp(k, "--count")) o.count = atoi(v);
		else if (!strcmp(k, "--out")) o.out = v;
		else if (!strcmp(k, "--new-key")) o.new_key = v;
		else if (!strcmp(k, "--cert")) o.cert = v;
		else if (!strcmp(k, "--reason")) o.reason = atoi(v);
		else {
			fprintf(stderr, "unknown option %s\n", k);
			return 2;
		}
	}
	int kt = crypto_key_type_parse(o.key_type ? o.key_type : "p256");
	if (kt < 0) {
		fprintf(stderr, "bad --key-type\n");
		return 2;
	}
	if (!strcmp(cmd, "newkey")) {
		struct crypto_key *k = NULL;
		char *pem = NULL;
		if (!o.key || crypto_key_new((enum crypto_key_type)kt, &k) != CRYPTO_OK ||
		    crypto_key_to_pem(k, &pem, NULL) != CRYPTO_OK || spit(o.key, pem))
			return other_fail("cannot write a key");
		crypto_free_secret(pem);
		crypto_key_free(k);
		json_object_set_new(result, "status", json_string("ok"));
		return emit(0);
	}

	struct acme_opts ao;
	acme_opts_defaults(&ao);
	free(ao.directory_url);
	ao.directory_url = strdup(o.dir ? o.dir : "");
	ao.ca_bundle = o.ca ? strdup(o.ca) : NULL;
	ao.bad_nonce_retries = o.nonce_retries;
	ao.poll_default_ms = 50;
	struct acme_client *c = NULL;
	struct crypto_key *key = o.key ? load_key(o.key) : NULL;
	int ret = 2;
	if (acme_client_new(&ao, &c) != ACME_OK) {
		fprintf(stderr, "bad --dir\n");
		goto out;
	}
	if (!strcmp(cmd, "account-worker")) {
		ret = cmd_account_worker(c, &o);
		goto out;
	}
	if (!key) {
		fprintf(stderr, "--key FILE with a private key is required\n");
		goto out;
	}
	acme_set_account(c, key, o.account);
	enum acme_status st;
	if (!strcmp(cmd, "register")) {
		st = acme_account_register(c, o.email, o.eab_kid, o.eab_hmac,
		                           o.only_existing);
		if (st != ACME_OK) {
			ret = acme_fail(c, st, "register");
			goto out;
		}
		json_object_set_new(result, "status", json_string("ok"));
		json_object_set_new(result, "account", json_string(acme_account_url(c)));
		ret = emit(0);
	} else if (!strcmp(cmd, "deactivate")) {
		st = acme_account_deactivate(c);
		if (st != ACME_OK) {
			ret = acme_fail(c, st, "deactivate");
			goto out;
		}
		json_object_set_new(result, "status", json_string("ok"));
		ret = emit(0);
	} else if (!strcmp(cmd, "order")) {
		char *names[100];
		char *list = strdup(o.names ? o.names : "");
		struct order_arg oa = { names, split(list, names, 100) };
		st = do_order(c, &oa);
		free(list);
		if (st != ACME_OK) {
			ret = acme_fail(c, st, "newOrder");
			goto out;
		}
		json_object_set_new(result, "status", json_string("ok"));
		ret = emit(0);
	} else if (!strcmp(cmd, "issue")) {
		if (!o.names || !o.challtestsrv) {
			fprintf(stderr, "issue needs --names and --challtestsrv\n");
			goto out;
		}
		ret = cmd_issue(c, &o);
	} else if (!strcmp(cmd, "keychange")) {
		struct crypto_key *nk = NULL;
		char *pem = NULL;
		if (!o.new_key || crypto_key_new((enum crypto_key_type)kt, &nk) != CRYPTO_OK) {
			ret = other_fail("cannot make a key");
			goto out;
		}
		st = acme_key_change(c, nk);
		if (st != ACME_OK) {
			crypto_key_free(nk);
			ret = acme_fail(c, st, "keyChange");
			goto out;
		}
		crypto_key_to_pem(nk, &pem, NULL);
		spit(o.new_key, pem);
		crypto_free_secret(pem);
		crypto_key_free(nk);
		json_object_set_new(result, "status", json_string("ok"));
		ret = emit(0);
	} else if (!strcmp(cmd, "revoke")) {
		char *pem = o.cert ? slurp(o.cert, NULL) : NULL;
		if (!pem) {
			ret = other_fail("--cert FILE needed");
			goto out;
		}
		st = acme_revoke(c, pem, o.reason);
		free(pem);
		if (st != ACME_OK) {
			ret = acme_fail(c, st, "revoke");
			goto out;
		}
		json_object_set_new(result, "status", json_string("ok"));
		ret = emit(0);
	} else {
		fprintf(stderr, "unknown command %s\n", cmd);
	}
out:
	acme_client_free(c);
	crypto_key_free(key);
	acme_opts_free(&ao);
	if (ret == 2)
		json_decref(result);
	return ret;
}
