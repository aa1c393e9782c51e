/*
 * ctl_cert: "dcvctl cert get|list", the stored certificates
 * (<prefix>:cert:<domain>, common/certstore.h; the contract of the sealed
 * key is schemas/certificate.md).
 *
 *   cert get DOMAIN [--out DIR] [--json] [--key] [--unchecked]
 *   cert list [--expiring DURATION] [--tenant T] [--json]
 *   reindex
 *
 * reindex rebuilds what the fleet gauges read, one SCAN step per REINDEX
 * script call (common/lua/reindex.lua): the expiry index <prefix>:expiry
 * (dcv_certificates_expiring) from the certificate hashes, then the count
 * by state <prefix>:states (dcv_domains) from the records not yet counted.
 * For a fleet upgraded from a version that wrote neither.  Idempotent,
 * safe while workers run.
 *
 * get --out DIR writes, as certbot names them, cert.pem (the leaf),
 * chain.pem (the intermediates), fullchain.pem (leaf then intermediates,
 * what most servers load) and key.pem (mode 0600).  DIR is created 0700
 * when missing; it is opened with O_NOFOLLOW (a symlink at DIR is refused)
 * and refused unless owned by the effective uid and neither group- nor
 * world-writable.  Before anything is written, each of the four names must
 * be absent or a regular file (fstatat, not followed: a directory, a
 * symlink or anything else there is refused and nothing is written).  Each
 * file is written to a new temporary file in DIR (O_CREAT|O_EXCL|
 * O_NOFOLLOW), fsync'd; only when all four are written are they renamed
 * over their names, the certificate files first and key.pem last, so that
 * a failed rename never leaves a new key next to an old certificate (and
 * stderr says which files were already replaced); the directory is
 * fsync'd last.  Before anything is written the key is checked against the
 * leaf (crypto_chain_check), since the chain is not sealed and a writer to
 * Redis could have replaced it.  Without --out the full chain goes to
 * stdout, and the key only with --key, never to a terminal; the key is
 * opened and checked all the same, and when it cannot be opened (no KEK
 * and plaintext keys not allowed, or a KEK that fails) get refuses unless
 * --unchecked (the chain alone) is given, which warns on stderr.
 *
 * The key is opened with the certificate KEK, read as the worker reads it
 * (acme.cert_kek_file or DCV_CERT_KEK, certstore_kek_load()); the account
 * KEK, when there is one, only tells a key sealed before the two were
 * split (cert rewrap moves those, ctl_rewrap.c).  No message carries key
 * material.
 */
#include "ctl.h"
#include "ctl_term.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "acme.h"
#include "certstore.h"
#include "crypto.h"
#include "dname.h"

#define PEM_END "-----END CERTIFICATE-----"

/* A certificate as read from its hash (the fields dcvctl shows). */
struct stored_cert {
	struct queue_reply *r; /* HGETALL reply owning the strings below */
	const char *chain, *key, *names, *serial, *not_before, *not_after, *issued_at;
};

static const char *hfield(const struct queue_reply *r, const char *name)
{
	for (size_t i = 0; i + 1 < queue_reply_len(r); i += 2) {
		const char *k = queue_reply_str(queue_reply_at(r, i), NULL);
		const char *v = queue_reply_str(queue_reply_at(r, i + 1), NULL);
		if (k && v && strcmp(k, name) == 0)
			return v;
	}
	return NULL;
}

/* HGETALL of NAME's certificate into S.  Returns EXIT_OK, EXIT_NOTFOUND or
 * EXIT_FAIL after saying why. */
static int cert_read(struct ctl *c, const char *name, struct stored_cert *s)
{
	memset(s, 0, sizeof(*s));
	s->r = ctl_run(c, "HGETALL %s:cert:%s", c->wc.q.prefix, name);
	if (queue_reply_kind(s->r) != QR_ARRAY)
		return EXIT_FAIL;
	if (queue_reply_len(s->r) == 0) {
		fprintf(stderr, "dcvctl cert: %s has no certificate\n", name);
		return EXIT_NOTFOUND;
	}
	s->chain = hfield(s->r, "chain");
	s->key = hfield(s->r, "key");
	s->names = hfield(s->r, "names");
	s->serial = hfield(s->r, "serial");
	s->not_before = hfield(s->r, "not_before");
	s->not_after = hfield(s->r, "not_after");
	s->issued_at = hfield(s->r, "issued_at");
	if (!s->chain || !s->key || !s->names || !strstr(s->chain, PEM_END)) {
		fprintf(stderr, "dcvctl cert: %s:cert:%s lacks its chain, key or names\n",
		        c->wc.q.prefix, name);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

int ctl_cert_kek(struct ctl *c, const char *cmd, struct acme_opts *o,
                 struct account_kek *kek)
{
	memset(kek, 0, sizeof(*kek));
	if (acme_cfg_load(c->cfg, o) != 0) {
		cfg_print_errors(c->cfg, stderr, cmd);
		return -1;
	}
	if (certstore_kek_load(o->cert_kek_file, kek) == ACCOUNT_OK)
		return 0;
	if (o->cert_kek_file)
		cfg_fail(c->cfg, "acme.cert_kek_file", "cannot read the certificate "
		         "key-encryption key from %s (64 hex digits or base64url of 32 bytes)",
		         o->cert_kek_file);
	else
		cfg_fail(c->cfg, "acme.cert_kek_file", "%s must hold 64 hex digits or "
		         "base64url of 32 bytes", CERTSTORE_KEK_ENV);
	cfg_print_errors(c->cfg, stderr, cmd);
	return -1;
}

/* Opens the stored key of NAME into *PEM (a secret: crypto_free_secret())
 * and checks it against the leaf and the names.  Returns EXIT_OK or
 * EXIT_FAIL after saying why (never with key material); *UNAVAIL is set
 * when the key could not be opened at all (no KEK and plaintext keys not
 * allowed, a KEK that does not load or does not open it), not when it
 * opened and does not match. */
static int cert_key(struct ctl *c, const char *name, const struct stored_cert *s,
                    char **pem, int *unavail)
{
	struct acme_opts o;
	struct account_kek kek = { 0 }, acct = { 0 };
	char aad[400], why[256] = "";
	char *names = NULL, **v = NULL;
	int rc = EXIT_FAIL;

	*pem = NULL;
	*unavail = 0;
	memset(&o, 0, sizeof(o));
	if (ctl_cert_kek(c, "dcvctl cert", &o, &kek) != 0) {
		*unavail = 1;
		goto out;
	}
	const char *policy = certstore_kek_policy(&kek, o.allow_plaintext_keys);
	if (policy) {
		fprintf(stderr, "dcvctl cert: %s: the key cannot be opened: %s\n", name, policy);
		*unavail = 1;
		goto out;
	}
	/* the account KEK only to tell a key sealed before the split from a
	 * wrong certificate KEK: best effort, a backend need not have it */
	if (account_kek_load(o.kek_file, &acct) != ACCOUNT_OK)
		account_kek_wipe(&acct);
	/* the AAD is the hash's name, as certstore_put() sealed it */
	queue_key(c->q, aad, sizeof(aad), "cert:");
	snprintf(aad + strlen(aad), sizeof(aad) - strlen(aad), "%s", name);
	enum certstore_status st = certstore_open_diag(&kek, &acct, s->key, aad, pem);
	if (st != CERTSTORE_OK) {
		fprintf(stderr, "dcvctl cert: %s: %s%s\n", name, certstore_strerror(st),
		        st == CERTSTORE_EKEK && !kek.set ? " (set acme.cert_kek_file or "
		        CERTSTORE_KEK_ENV ")" : "");
		*unavail = st == CERTSTORE_EKEK || st == CERTSTORE_EACCOUNTKEK;
		goto out;
	}
	size_t n = 1;
	for (const char *p = s->names; *p; p++)
		n += *p == ',';
	names = strdup(s->names);
	v = calloc(n, sizeof(*v));
	if (!names || !v) {
		fprintf(stderr, "dcvctl cert: out of memory\n");
		goto out;
	}
	n = 0;
	for (char *save = NULL, *t = strtok_r(names, ",", &save); t; t = strtok_r(NULL, ",", &save))
		v[n++] = t;
	if (crypto_chain_check(s->chain, strlen(s->chain), *pem, (const char *const *)v, n,
	                       why, sizeof(why)) != CRYPTO_OK) {
		fprintf(stderr, "dcvctl cert: %s: the stored chain does not match its key "
		        "or names (%s): refused\n", name, why);
		goto out;
	}
	rc = EXIT_OK;
out:
	if (rc != EXIT_OK) {
		crypto_free_secret(*pem);
		*pem = NULL;
	}
	free(v);
	free(names);
	account_kek_wipe(&kek);
	account_kek_wipe(&acct);
	acme_opts_free(&o);
	return rc;
}

/* The leaf of CHAIN (through its END line, plus a newline) and the rest
 * (the intermediates, from the next BEGIN), as malloc'd strings.  Returns
 * 0, or -1 after saying why (the caller frees what was set). */
static int split_chain(const char *name, const char *chain, char **leaf, char **rest)
{
	const char *b = strstr(chain, "-----BEGIN CERTIFICATE-----"), *e = strstr(chain, PEM_END);
	if (!b || !e || e < b) {
		fprintf(stderr, "dcvctl cert get: %s: the stored chain is no PEM certificate\n", name);
		return -1;
	}
	e += strlen(PEM_END);
	const char *r = strstr(e, "-----BEGIN");
	*leaf = malloc((size_t)(e - b) + 2);
	*rest = strdup(r ? r : "");
	if (!*leaf || !*rest) {
		fprintf(stderr, "dcvctl cert get: out of memory\n");
		return -1;
	}
	memcpy(*leaf, b, (size_t)(e - b));
	strcpy(*leaf + (e - b), "\n");
	return 0;
}

/* ----------------------------------------------------------- the files */

struct out_file {
	const char *name;      /* in DIR */
	const char *data;      /* borrowed */
	mode_t mode;
	char tmp[64];          /* the temporary name, "" when none */
};

/* Writes F to a new temporary file in DFD: created with O_EXCL|O_NOFOLLOW
 * under a random name, chmod'ed (whatever the umask), written, fsync'd.
 * Returns 0 or -1 with errno set (F->tmp names what to unlink). */
static int write_tmp(int dfd, struct out_file *f)
{
	unsigned char rnd[8];
	int fd = -1, saved;

	f->tmp[0] = '\0';
	if (crypto_random(rnd, sizeof(rnd)) != CRYPTO_OK) {
		errno = EIO;
		return -1;
	}
	snprintf(f->tmp, sizeof(f->tmp), ".%s.%02x%02x%02x%02x%02x%02x%02x%02x", f->name,
	         rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	fd = openat(dfd, f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		f->tmp[0] = '\0';
		return -1;
	}
	if (fchmod(fd, f->mode) != 0)
		goto fail;
	for (size_t off = 0, len = strlen(f->data); off < len;) {
		ssize_t w = write(fd, f->data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		off += (size_t)w;
	}
	if (fsync(fd) != 0)
		goto fail;
	return close(fd);
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* Opens DIR as the directory to write into: created 0700 when missing;
 * never through a symlink (O_NOFOLLOW, trailing slashes dropped first so
 * that they cannot make the last component followed); and only when it is
 * owned by the effective uid and neither group- nor world-writable, since
 * whoever else can write there could swap the files after they are
 * written.  Returns the descriptor, or -1 after saying why. */
static int open_dir(const char *dir)
{
	char path[PATH_MAX];
	struct stat st;
	int dfd, created = 1;
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(path)) {
		fprintf(stderr, "dcvctl cert: --out %s: no usable path\n", dir);
		return -1;
	}
	memcpy(path, dir, n + 1);
	while (n > 1 && path[n - 1] == '/')
		path[--n] = '\0';
	if (mkdir(path, 0700) != 0) {
		if (errno != EEXIST) {
			fprintf(stderr, "dcvctl cert: %s: %s\n", dir, strerror(errno));
			return -1;
		}
		created = 0;
	}
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		int e = errno;
		if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
			fprintf(stderr, "dcvctl cert: %s is a symlink: refused (give the "
			        "directory itself)\n", dir);
		else
			fprintf(stderr, "dcvctl cert: %s: %s\n", dir, strerror(e));
		return -1;
	}
	if (fstat(dfd, &st) != 0 || (created && fchmod(dfd, 0700) != 0)) {
		fprintf(stderr, "dcvctl cert: %s: %s\n", dir, strerror(errno));
		close(dfd);
		return -1;
	}
	if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		fprintf(stderr, "dcvctl cert: %s: owned by uid %u, mode %04o: refused (it must "
		        "be owned by uid %u and writable by it alone)\n", dir, (unsigned)st.st_uid,
		        (unsigned)(st.st_mode & 07777), (unsigned)geteuid());
		close(dfd);
		return -1;
	}
	return dfd;
}

/* Whether each of the N names F in DFD is absent or a regular file (never
 * followed).  Returns 0, or -1 after naming the first that is not. */
static int check_targets(int dfd, const char *dir, const struct out_file *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (fstatat(dfd, f[i].name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno == ENOENT)
				continue;
			fprintf(stderr, "dcvctl cert: %s/%s: %s\n", dir, f[i].name, strerror(errno));
			return -1;
		}
		if (!S_ISREG(st.st_mode)) {
			fprintf(stderr, "dcvctl cert: %s/%s is a %s, not a regular file: refused, "
			        "nothing written\n", dir, f[i].name,
			        S_ISDIR(st.st_mode) ? "directory" : S_ISLNK(st.st_mode) ? "symlink"
			                                                       : "special file");
			return -1;
		}
	}
	return 0;
}

/* Says on stderr which of the first N files F were already replaced when
 * the rename of F[N] failed with errno E. */
static void rename_failed(const char *dir, const struct out_file *f, size_t n, int e)
{
	fprintf(stderr, "dcvctl cert: %s/%s: %s; already replaced:", dir, f[n].name, strerror(e));
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, " %s", f[i].name);
	fprintf(stderr, "%s (the others are unchanged)\n", n ? "" : " none");
}

/* Writes the N files F into DIR (open_dir()): each target checked first
 * (absent or a regular file, else nothing is written), every file written
 * to its temporary file, then each renamed over its name in F's order
 * (the caller puts key.pem last, so that a failure never leaves a new key
 * next to an old certificate), then DIR fsync'd.  Returns EXIT_OK or
 * EXIT_FAIL after saying why; no temporary file is left behind. */
static int write_files(const char *dir, struct out_file *f, size_t n)
{
	int rc = EXIT_FAIL, dfd = open_dir(dir);
	size_t i = 0;

	if (dfd < 0)
		return EXIT_FAIL;
	if (check_targets(dfd, dir, f, n) != 0)
		goto out;
	for (i = 0; i < n; i++)
		if (write_tmp(dfd, &f[i]) != 0) {
			fprintf(stderr, "dcvctl cert: %s/%s: %s\n", dir, f[i].name, strerror(errno));
			goto out;
		}
	for (i = 0; i < n; i++) {
		if (renameat(dfd, f[i].tmp, dfd, f[i].name) != 0) {
			rename_failed(dir, f, i, errno);
			goto out;
		}
		f[i].tmp[0] = '\0';
	}
	if (fsync(dfd) != 0) {
		fprintf(stderr, "dcvctl cert: %s: %s\n", dir, strerror(errno));
		goto out;
	}
	rc = EXIT_OK;
out:
	for (i = 0; i < n; i++)
		if (f[i].tmp[0])
			unlinkat(dfd, f[i].tmp, 0);
	close(dfd);
	return rc;
}

/* ------------------------------------------------------------- get */

static json_t *num_or_null(const char *s)
{
	return s ? json_integer(atoll(s)) : json_null();
}

/* The JSON of "cert get --json": the names as a list, the times as unix
 * seconds, the PEMs; KEY (the key PEM) only when not NULL. */
static json_t *cert_json(const char *name, const struct stored_cert *s, const char *leaf,
                         const char *rest, const char *key, const char *dir)
{
	json_t *j = json_object(), *names = json_array();
	char *copy = strdup(s->names);
	for (char *save = NULL, *t = copy ? strtok_r(copy, ",", &save) : NULL; t;
	     t = strtok_r(NULL, ",", &save))
		json_array_append_new(names, json_string(t));
	free(copy);
	json_object_set_new(j, "domain", json_string(name));
	json_object_set_new(j, "names", names);
	json_object_set_new(j, "serial", s->serial ? json_string(s->serial) : json_null());
	json_object_set_new(j, "not_before", num_or_null(s->not_before));
	json_object_set_new(j, "not_after", num_or_null(s->not_after));
	json_object_set_new(j, "issued_at", num_or_null(s->issued_at));
	json_object_set_new(j, "cert", json_string(leaf));
	json_object_set_new(j, "chain", json_string(rest));
	json_object_set_new(j, "fullchain", json_string(s->chain));
	if (key)
		json_object_set_new(j, "key", json_string(key));
	if (dir)
		json_object_set_new(j, "dir", json_string(dir));
	return j;
}

/* Prints J to stdout and wipes the text and J's "key" (it may hold the
 * key) before they are freed. */
static void print_json_secret(json_t *j)
{
	char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_t *key = json_object_get(j, "key");
	if (text)
		puts(text);
	fflush(stdout);
	crypto_free_secret(text);
	if (json_is_string(key))
		memset((char *)json_string_value(key), 0, json_string_length(key));
	json_decref(j);
}

struct get_args {
	const char *domain, *out;
	int key;
	int unchecked; /* print the chain even when the key cannot be opened */
};

static int get_parse(struct ctl *c, int argc, char **argv, struct get_args *a)
{
	memset(a, 0, sizeof(*a));
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			c->json = 1;
		else if (strcmp(argv[i], "--key") == 0)
			a->key = 1;
		else if (strcmp(argv[i], "--unchecked") == 0)
			a->unchecked = 1;
		else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc && !a->out)
			a->out = argv[++i];
		else if (argv[i][0] != '-' && !a->domain)
			a->domain = argv[i];
		else
			return -1;
	}
	/* --out always writes key.pem; --key is for stdout only; --unchecked
	 * only for the chain alone (the others need the key anyway) */
	return a->domain && !(a->out && a->key) && !(a->unchecked && (a->out || a->key)) ? 0
	                                                                               : -1;
}

/* The key of NAME opened and checked (cert_key) whatever A asks for, since
 * the chain is not sealed: into *PEM, which the caller prints only with
 * --key.  A key that cannot be opened refuses the command unless A is
 * --unchecked (the chain alone), which says so on stderr and leaves *PEM
 * NULL.  Returns EXIT_OK or EXIT_FAIL after saying why. */
static int cert_open_or_warn(struct ctl *c, const char *name, const struct stored_cert *s,
                             const struct get_args *a, char **pem)
{
	int unavail;

	if (cert_key(c, name, s, pem, &unavail) == EXIT_OK)
		return EXIT_OK;
	if (!unavail)
		return EXIT_FAIL;
	if (!a->unchecked) {
		fprintf(stderr, "dcvctl cert get: %s: the chain cannot be checked against its "
		        "key: refused (--unchecked prints it anyway)\n", name);
		return EXIT_FAIL;
	}
	fprintf(stderr, "dcvctl cert get: warning: %s: the chain is printed unchecked (it is "
	        "not sealed: a writer to Redis could have replaced it)\n", name);
	return EXIT_OK;
}

static int cert_get(struct ctl *c, int argc, char **argv)
{
	struct get_args a;
	struct stored_cert s;
	char name[DNAME_MAX + 1];
	char *pem = NULL, *leaf = NULL, *rest = NULL, serial[128];
	int rc;

	if (get_parse(c, argc, argv, &a) != 0)
		return ctl_usage(stderr), EXIT_USAGE;
	const char *why = dname_normalize(a.domain, name, sizeof(name));
	if (why) {
		fprintf(stderr, "dcvctl cert get: %s: %s\n", a.domain, why);
		return EXIT_FAIL;
	}
	if (a.key && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "dcvctl cert get: refusing to print a private key to a "
		        "terminal (redirect stdout, or use --out DIR)\n");
		return EXIT_REFUSED;
	}
	if ((rc = cert_read(c, name, &s)) != EXIT_OK)
		goto out;
	rc = EXIT_FAIL;
	if (cert_open_or_warn(c, name, &s, &a, &pem) != EXIT_OK)
		goto out;
	if (split_chain(name, s.chain, &leaf, &rest) != 0)
		goto out;
	if (a.out) {
		/* key.pem last: renamed only once the certificate files are */
		struct out_file f[] = {
			{ "cert.pem", leaf, 0644, "" },
			{ "chain.pem", rest, 0644, "" },
			{ "fullchain.pem", s.chain, 0644, "" },
			{ "key.pem", pem, 0600, "" },
		};
		if ((rc = write_files(a.out, f, sizeof(f) / sizeof(f[0]))) != EXIT_OK)
			goto out;
		if (c->json)
			print_json_secret(cert_json(name, &s, leaf, rest, NULL, a.out));
		else
			printf("wrote %s/{cert,chain,fullchain,key}.pem (serial %s)\n", a.out,
			       ctl_term_safe(s.serial ? s.serial : "?", serial, sizeof(serial)));
	} else if (c->json) {
		print_json_secret(cert_json(name, &s, leaf, rest, a.key ? pem : NULL, NULL));
	} else {
		size_t n = strlen(s.chain);
		fputs(s.chain, stdout);
		if (a.key && n && s.chain[n - 1] != '\n')
			fputc('\n', stdout);
		if (a.key)
			fputs(pem, stdout);
		fflush(stdout);
	}
	rc = EXIT_OK;
out:
	crypto_free_secret(pem);
	free(leaf);
	free(rest);
	queue_reply_free(s.r);
	return rc;
}

/* ------------------------------------------------------------ list */

struct list_args {
	const char *tenant;
	long long expiring_s;  /* -1: no filter */
};

/* DURATION ("30d", "12h", "90m", "3600s", "3600" seconds) in seconds, or
 * -1.  Read by the configuration's own duration parser (as a "_ms" key);
 * only digits and a unit letter are let through to it. */
static long long parse_duration(const char *s)
{
	char text[64], err[256];
	size_t n = strspn(s, "0123456789");
	if (n == 0 || n > 12 || strlen(s + n) > 1 || (s[n] && !strchr("smhd", s[n])))
		return -1;
	snprintf(text, sizeof(text), "d_ms: %s%s\n", s, s[n] ? "" : "s");
	struct cfg *c = cfg_load_string(text, "--expiring", err, sizeof(err));
	long long ms = c ? cfg_int(c, "d_ms", -1, 0, LLONG_MAX) : -1;
	if (c && cfg_error(c))
		ms = -1;
	cfg_free(c);
	return ms < 0 ? -1 : ms / 1000;
}

static int list_parse(struct ctl *c, int argc, char **argv, struct list_args *a)
{
	a->tenant = NULL;
	a->expiring_s = -1;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			c->json = 1;
		} else if (strcmp(argv[i], "--tenant") == 0 && i + 1 < argc) {
			a->tenant = argv[++i];
		} else if (strcmp(argv[i], "--expiring") == 0 && i + 1 < argc) {
			if ((a->expiring_s = parse_duration(argv[++i])) < 0) {
				fprintf(stderr, "dcvctl cert list: --expiring %s: not a duration "
				        "(30d, 12h, 90m, 3600s)\n", argv[i]);
				return -1;
			}
		} else {
			return -1;
		}
	}
	return 0;
}

static const char *elem(const struct queue_reply *r, size_t i)
{
	return queue_reply_str(queue_reply_at(r, i), NULL);
}

/* One certificate hash KEY (for DOMAIN): its row, unless the filters drop
 * it.  *FIRST: no JSON element printed yet.  Returns 0, or -1 after saying
 * why. */
static int list_one(struct ctl *c, const struct list_args *a, const char *key,
                    const char *domain, time_t now, int *first)
{
	char dkey[400];
	const char *hc[] = { "HMGET", key, "serial", "not_after" };
	snprintf(dkey, sizeof(dkey), "%s:domain:%s", c->wc.q.prefix, domain);
	const char *hd[] = { "HMGET", dkey, "tenant", "state" };
	struct queue_reply *cr = ctl_run_argv(c, 4, hc);
	struct queue_reply *dr = cr ? ctl_run_argv(c, 4, hd) : NULL;
	if (!cr || !dr) {
		queue_reply_free(cr);
		return -1;
	}
	const char *serial = elem(cr, 0), *na = elem(cr, 1);
	const char *tenant = elem(dr, 0), *state = elem(dr, 1);
	long long not_after = na ? atoll(na) : 0;
	int show = (!a->tenant || (tenant && strcmp(tenant, a->tenant) == 0)) &&
	           (a->expiring_s < 0 || (na && not_after <= (long long)now + a->expiring_s));
	if (show && c->json) {
		json_t *j = json_object();
		json_object_set_new(j, "domain", json_string(domain));
		json_object_set_new(j, "tenant", tenant ? json_string(tenant) : json_null());
		json_object_set_new(j, "serial", serial ? json_string(serial) : json_null());
		json_object_set_new(j, "not_after", na ? json_integer(not_after) : json_null());
		json_object_set_new(j, "state", state ? json_string(state) : json_null());
		char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
		printf("%s\n  %s", *first ? "" : ",", text ? text : "null");
		*first = 0;
		free(text);
		json_decref(j);
	} else if (show) {
		char when[32] = "-";
		time_t t = (time_t)not_after;
		struct tm tm;
		if (na && gmtime_r(&t, &tm))
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		/* values from Redis: no escape sequence reaches the terminal */
		char st[64], ss[128], sst[64];
		printf("%-40s %-16s %-20s %-40s %s\n", domain,
		       ctl_term_safe(tenant ? tenant : "-", st, sizeof(st)), when,
		       ctl_term_safe(serial ? serial : "-", ss, sizeof(ss)),
		       ctl_term_safe(state ? state : "-", sst, sizeof(sst)));
	}
	queue_reply_free(cr);
	queue_reply_free(dr);
	return 0;
}

void ctl_key_pattern(const char *prefix, const char *tail, char *out, size_t len)
{
	size_t o = 0;
	for (const char *p = prefix; *p && o + 3 < len; p++) {
		if (strchr("*?[]\\", *p))
			out[o++] = '\\';
		out[o++] = *p;
	}
	snprintf(out + o, len - o, "%s", tail);
}

/* Walks the certificate hashes with SCAN (never KEYS: one batch of about
 * 100 keys in memory at a time, rows printed as they come, in SCAN's
 * order; a key may come twice if Redis rehashes during the walk). */
static int cert_list(struct ctl *c, int argc, char **argv)
{
	struct list_args a;
	char pattern[300], cursor[32] = "0";
	size_t plen = strlen(c->wc.q.prefix) + strlen(":cert:");
	int first = 1, rc = EXIT_OK;
	size_t skipped = 0;
	time_t now = time(NULL);

	if (list_parse(c, argc, argv, &a) != 0)
		return ctl_usage(stderr), EXIT_USAGE;
	ctl_key_pattern(c->wc.q.prefix, ":cert:*", pattern, sizeof(pattern));
	if (c->json)
		fputs("[", stdout);
	else
		printf("%-40s %-16s %-20s %-40s %s\n", "DOMAIN", "TENANT", "NOT_AFTER",
		       "SERIAL", "STATE");
	do {
		const char *scan[] = { "SCAN", cursor, "MATCH", pattern, "COUNT", "100" };
		struct queue_reply *r = ctl_run_argv(c, 6, scan);
		const struct queue_reply *keys = queue_reply_at(r, 1);
		if (queue_reply_len(r) != 2 || !elem(r, 0) || queue_reply_kind(keys) != QR_ARRAY) {
			queue_reply_free(r);
			rc = EXIT_FAIL;
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", elem(r, 0));
		for (size_t i = 0; rc == EXIT_OK && i < queue_reply_len(keys); i++) {
			const char *k = elem(keys, i);
			char name[DNAME_MAX + 1];
			/* a key whose tail is no normalised domain was not written by
			 * the fleet: never echoed (it could hold terminal escapes) */
			if (!k || strlen(k) <= plen || dname_normalize(k + plen, name, sizeof(name)) ||
			    strcmp(name, k + plen) != 0) {
				skipped++;
				continue;
			}
			if (list_one(c, &a, k, name, now, &first) != 0)
				rc = EXIT_FAIL;
		}
		queue_reply_free(r);
	} while (rc == EXIT_OK && strcmp(cursor, "0") != 0);
	if (c->json)
		fputs(first ? "]\n" : "\n]\n", stdout);
	if (skipped)
		fprintf(stderr, "dcvctl cert list: skipped %zu key(s) under %s:cert: that name "
		        "no domain\n", skipped, c->wc.q.prefix);
	return rc;
}

/* One pass of REINDEX (WHAT: "expiry" or "states") until SCAN's cursor is
 * back at 0; the totals into *ADDED and *REMOVED.  Returns an exit code. */
static int reindex_pass(struct ctl *c, const char *what, long long *added, long long *removed)
{
	char cursor[32] = "0";

	do {
		struct script_args a;
		long long v[2];
		size_t len = 0;

		/* layout: common/lua/reindex.lua */
		sa_init(&a, 0);
		sa_arg(&a, c->wc.q.prefix);
		sa_arg(&a, cursor);
		sa_arg(&a, "500");
		sa_arg(&a, what);
		struct queue_reply *r = queue_eval(c->q, SCRIPT_REINDEX, &a);
		const char *next = queue_reply_str(queue_reply_at(r, 0), &len);
		if (queue_reply_len(r) != 3 || !next || len == 0 || len >= sizeof(cursor) ||
		    !queue_reply_int(queue_reply_at(r, 1), &v[0]) ||
		    !queue_reply_int(queue_reply_at(r, 2), &v[1])) {
			fprintf(stderr, "dcvctl reindex: %s\n",
			        queue_reply_error(r) ? queue_reply_error(r) : queue_errstr(c->q));
			queue_reply_free(r);
			return EXIT_FAIL;
		}
		memcpy(cursor, next, len);
		cursor[len] = '\0';
		*added += v[0];
		*removed += v[1];
		queue_reply_free(r);
	} while (strcmp(cursor, "0") != 0);
	return EXIT_OK;
}

int ctl_reindex(struct ctl *c, int argc, char **argv)
{
	long long indexed = 0, removed = 0, counted = 0, none = 0;

	(void)argv;
	if (argc != 0) {
		ctl_usage(stderr);
		return EXIT_USAGE;
	}
	if (reindex_pass(c, "expiry", &indexed, &removed) != EXIT_OK ||
	    reindex_pass(c, "states", &counted, &none) != EXIT_OK)
		return EXIT_FAIL;
	printf("expiry index: %lld certificates indexed, %lld members removed\n"
	       "state counts: %lld records counted\n", indexed, removed, counted);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "dcvctl reindex: cannot write to stdout\n");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

int ctl_cert(struct ctl *c, int argc, char **argv)
{
	int rc;
	if (argc >= 1 && strcmp(argv[0], "get") == 0) {
		rc = cert_get(c, argc - 1, argv + 1);
	} else if (argc >= 1 && strcmp(argv[0], "list") == 0) {
		rc = cert_list(c, argc - 1, argv + 1);
	} else if (argc >= 1 && strcmp(argv[0], "rewrap") == 0) {
		rc = ctl_cert_rewrap(c, argc - 1, argv + 1);
	} else {
		ctl_usage(stderr);
		return EXIT_USAGE;
	}
	/* a script reading a short stdout must not be told it all went well */
	if ((fflush(stdout) != 0 || ferror(stdout)) && rc == EXIT_OK) {
		fprintf(stderr, "dcvctl cert: cannot write to stdout\n");
		rc = EXIT_FAIL;
	}
	return rc;
}
