/*
 * txt_provider: configuration, argument checks and dispatch to the
 * provider chosen in the configuration.
 */
#include "txt_provider_impl.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "deadline.h"
#include "dns.h"
#include "metrics.h"
#include "secret.h"
#include "txt_answer.h"

const char *txt_strerror(enum txt_status s)
{
	switch (s) {
	case TXT_OK: return "ok";
	case TXT_TRANSIENT: return "transient";
	case TXT_PERMANENT: return "permanent";
	case TXT_INVALID: return "invalid";
	}
	return "unknown";
}

/* Reads a secret from PATH into OUT (secret_read_file(): trailing
 * whitespace dropped).  The message names the path, never the content. */
static int read_secret_file(struct cfg *c, const char *key, const char *path,
                            char *out, size_t outlen)
{
	char *s = NULL;
	size_t n = 0;
	enum secret_status st = secret_read_file(path, outlen - 1, &s, &n);

	out[0] = '\0';
	if (st == SECRET_EOPEN) {
		cfg_fail(c, key, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (st != SECRET_OK) {
		cfg_fail(c, key, "%s: unreadable or longer than %zu bytes", path,
		         outlen - 1);
		return -1;
	}
	memcpy(out, s, n + 1);
	secret_free(s);
	return 0;
}

/* A secret from KEY, or from the file at FILEKEY. */
static int load_secret(struct cfg *c, const char *key, const char *filekey,
                       char *out, size_t outlen)
{
	const char *v = cfg_str(c, key, NULL);
	const char *f = cfg_str(c, filekey, NULL);

	if (v) {
		if (strlen(v) >= outlen) {
			cfg_fail(c, key, "longer than %zu bytes", outlen - 1);
			return -1;
		}
		snprintf(out, outlen, "%s", v);
		return 0;
	}
	if (f)
		return read_secret_file(c, filekey, f, out, outlen);
	out[0] = '\0';
	return 0;
}

static int copy_str(struct cfg *c, const char *path, const char *def,
                    char *out, size_t outlen)
{
	const char *v = cfg_str(c, path, def);
	if (!v) {
		out[0] = '\0';
		return 0;
	}
	if (strlen(v) >= outlen) {
		cfg_fail(c, path, "longer than %zu bytes", outlen - 1);
		return -1;
	}
	snprintf(out, outlen, "%s", v);
	return 0;
}

/* provider.webhook.*: checked only when it is the provider chosen. */
static int load_webhook(struct cfg *c, struct txt_provider_opts *o)
{
	char origin[TXT_URL_MAX], why[200];
	int rc = 0;

	rc |= copy_str(c, "provider.webhook.url", NULL, o->hook_url,
	               sizeof o->hook_url);
	rc |= load_secret(c, "provider.webhook.secret",
	                  "provider.webhook.secret_file", o->hook_secret,
	                  sizeof o->hook_secret);
	/* the key is used as bytes: drop the newline a Secret made from a
	 * file carries into DCV_PROVIDER_WEBHOOK_SECRET, as from secret_file
	 * (and as the example receiver does with its own copy) */
	for (size_t l = strlen(o->hook_secret);
	     l > 0 && isspace((unsigned char)o->hook_secret[l - 1]); l--)
		o->hook_secret[l - 1] = '\0';
	rc |= copy_str(c, "provider.webhook.ca_bundle", NULL, o->hook_ca,
	               sizeof o->hook_ca);
	o->hook_allow_http = cfg_bool(c, "provider.webhook.allow_http", false);
	if (rc || o->type != TXT_WEBHOOK)
		return rc;
	if (!o->hook_url[0]) {
		cfg_fail(c, "provider.webhook.url", "the webhook needs its url");
		rc = -1;
	} else if (txt_webhook_url_check(o->hook_url, o->hook_allow_http, origin,
	                                 why, sizeof why) != 0) {
		cfg_fail(c, "provider.webhook.url", "%s", why);
		rc = -1;
	}
	if (strlen(o->hook_secret) < WEBHOOK_SECRET_MIN) {
		cfg_fail(c, "provider.webhook.secret", "need a secret of at least "
		         "%d bytes (secret, secret_file, or "
		         "DCV_PROVIDER_WEBHOOK_SECRET)", WEBHOOK_SECRET_MIN);
		rc = -1;
	}
	/* unreadable, libcurl would fail every request as a TLS error, which
	 * is transient: said here instead, once */
	if (o->hook_ca[0] && access(o->hook_ca, R_OK) != 0) {
		cfg_fail(c, "provider.webhook.ca_bundle", "%s: %s", o->hook_ca,
		         strerror(errno));
		rc = -1;
	}
	return rc;
}

/* provider.exec.*: checked only when it is the provider chosen. */
static int load_exec(struct cfg *c, struct txt_provider_opts *o)
{
	size_t n = cfg_list_len(c, "provider.exec.env");
	int rc = copy_str(c, "provider.exec.program", NULL, o->exec_program,
	                  sizeof o->exec_program);

	if (n > TXT_EXEC_ENV_MAX) {
		cfg_fail(c, "provider.exec.env", "at most %d entries",
		         TXT_EXEC_ENV_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const char *e = cfg_list_str(c, "provider.exec.env", i);
		const char *eq = e ? strchr(e, '=') : NULL;
		if (!eq || eq == e || strlen(e) >= TXT_EXEC_ENV_LEN ||
		    strncmp(e, "PATH=", 5) == 0 || strncmp(e, "DCV_", 4) == 0) {
			cfg_fail(c, "provider.exec.env", "entry %zu: NAME=VALUE (at "
			         "most %d bytes, not PATH nor DCV_*)", i + 1,
			         TXT_EXEC_ENV_LEN - 1);
			rc = -1;
			continue;
		}
		snprintf(o->exec_env[o->exec_nenv++], TXT_EXEC_ENV_LEN, "%s", e);
	}
	if (rc || o->type != TXT_EXEC)
		return rc;
	if (o->exec_program[0] != '/') {
		cfg_fail(c, "provider.exec.program", "need the program's absolute "
		         "path (it is run without a shell and without PATH)");
		rc = -1;
	} else if (access(o->exec_program, X_OK) != 0) {
		cfg_fail(c, "provider.exec.program", "%s: %s", o->exec_program,
		         strerror(errno));
		rc = -1;
	}
	return rc;
}

int txt_provider_cfg_load(struct cfg *c, struct txt_provider_opts *o)
{
	const char *type = cfg_str(c, "provider.type", "rfc2136");
	int rc = 0;

	memset(o, 0, sizeof *o);
	if (strcmp(type, "rfc2136") == 0) {
		o->type = TXT_RFC2136;
	} else if (strcmp(type, "powerdns") == 0) {
		o->type = TXT_POWERDNS;
	} else if (strcmp(type, "webhook") == 0) {
		o->type = TXT_WEBHOOK;
	} else if (strcmp(type, "exec") == 0) {
		o->type = TXT_EXEC;
	} else {
		cfg_fail(c, "provider.type", "unknown provider %s (rfc2136, "
		         "powerdns, webhook, exec)", type);
		rc = -1;
	}
	o->ttl = (int)cfg_int(c, "provider.ttl", 60, 1, 86400);
	o->timeout_ms = (int)cfg_int(c, "provider.timeout_ms", 3000, 10, 120000);
	o->tries = (int)cfg_int(c, "provider.tries", 2, 1, 10);
	if (cfg_has(c, "provider.zone")) {
		const char *z = cfg_str(c, "provider.zone", "");
		if (dname_normalize(z, o->zone, sizeof o->zone) != NULL) {
			cfg_fail(c, "provider.zone", "not a domain name: %s", z);
			rc = -1;
		}
	}
	/* rfc2136 */
	rc |= copy_str(c, "provider.server", NULL, o->server, sizeof o->server);
	rc |= copy_str(c, "provider.tsig.name", NULL, o->key_name,
	               sizeof o->key_name);
	rc |= copy_str(c, "provider.tsig.algorithm", "hmac-sha256", o->algorithm,
	               sizeof o->algorithm);
	rc |= load_secret(c, "provider.tsig.secret", "provider.tsig.secret_file",
	                  o->secret, sizeof o->secret);
	/* powerdns */
	rc |= copy_str(c, "provider.api_url", NULL, o->api_url, sizeof o->api_url);
	rc |= load_secret(c, "provider.api_key", "provider.api_key_file",
	                  o->api_key, sizeof o->api_key);
	rc |= copy_str(c, "provider.server_id", "localhost", o->server_id,
	               sizeof o->server_id);
	rc |= load_webhook(c, o);
	rc |= load_exec(c, o);
	if (rc == 0 && o->type == TXT_RFC2136) {
		char addr[DNS_ADDR_MAX];
		int port;
		if (!o->server[0] ||
		    dns_parse_hostport(o->server, 53, addr, &port) != 0) {
			cfg_fail(c, "provider.server", "need the primary's addr[:port]");
			rc = -1;
		}
		if (!o->key_name[0] || !o->secret[0]) {
			cfg_fail(c, "provider.tsig", "need tsig.name and tsig.secret "
			         "(or secret_file, or DCV_PROVIDER_TSIG_SECRET)");
			rc = -1;
		}
		if (strcmp(o->algorithm, "hmac-sha256") &&
		    strcmp(o->algorithm, "hmac-sha512")) {
			cfg_fail(c, "provider.tsig.algorithm", "hmac-sha256 or "
			         "hmac-sha512, not %s", o->algorithm);
			rc = -1;
		}
	}
	if (rc == 0 && o->type == TXT_POWERDNS && (!o->api_url[0] ||
	                                           !o->api_key[0])) {
		cfg_fail(c, "provider.api_url", "powerdns needs api_url and api_key"
		         " (or api_key_file, or DCV_PROVIDER_API_KEY)");
		rc = -1;
	}
	if (rc == 0 && !o->zone[0]) {
		cfg_fail(c, "provider.zone", "the validation zone is required");
		rc = -1;
	}
	return rc ? -1 : 0;
}

struct txt_provider *txt_provider_new(const struct txt_provider_opts *o,
                                      char *err, size_t errlen)
{
	switch (o->type) {
	case TXT_RFC2136:
		return txt_rfc2136_new(o, err, errlen);
	case TXT_POWERDNS:
		return txt_powerdns_new(o, err, errlen);
	case TXT_WEBHOOK:
		return txt_webhook_new(o, err, errlen);
	case TXT_EXEC:
		return txt_exec_new(o, err, errlen);
	}
	snprintf(err, errlen, "unknown provider type");
	return NULL;
}

/* Checks NAME (normalised into NORM, must be in the zone) and VALUE. */
static enum txt_status check_args(const struct txt_provider *p,
                                  const char *name, const char *value,
                                  char *norm, char *msg, size_t msglen)
{
	const char *e = dname_normalize(name, norm, DNAME_MAX + 1);
	size_t n;

	if (e) {
		snprintf(msg, msglen, "bad name: %s", e);
		return TXT_INVALID;
	}
	if (norm[0] == '*' || !dns_name_under(norm, p->o.zone)) {
		snprintf(msg, msglen, "%s is not in the zone %s", norm, p->o.zone);
		return TXT_INVALID;
	}
	n = value ? strlen(value) : 0;
	if (n == 0 || n > TXT_VALUE_MAX) {
		snprintf(msg, msglen, "TXT value must be 1-%d characters",
		         TXT_VALUE_MAX);
		return TXT_INVALID;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)value[i];
		if (ch < 0x20 || ch > 0x7e || ch == '"' || ch == '\\') {
			snprintf(msg, msglen, "TXT value has a character outside "
			         "printable ASCII (or a quote/backslash)");
			return TXT_INVALID;
		}
	}
	return TXT_OK;
}

/* Checks the arguments, then runs OP (the provider's add or remove) on the
 * normalised name. */
static enum txt_status apply(struct txt_provider *p,
                             enum txt_status (*op)(struct txt_provider *,
                                                   const char *, const char *,
                                                   char *, size_t),
                             const char *name, const char *value,
                             char *msg, size_t msglen)
{
	char norm[DNAME_MAX + 1];
	enum txt_status st = check_args(p, name, value, norm, msg, msglen);

	if (st != TXT_OK)
		return st;
	msg[0] = '\0';
	return op(p, norm, value, msg, msglen);
}

/* Counts one update in dcv_dns_provider_requests_total and returns ST: the
 * one place every TXT update of every provider goes through. */
static enum txt_status counted(const struct txt_provider *p, const char *op,
                               enum txt_status st)
{
	char labels[128];

	if (metrics_labels(labels, sizeof(labels), "provider", p->ops->name, "op", op,
	                   "result", txt_strerror(st), NULL) == METRICS_OK)
		metrics_counter_add(METRICS_DNS_PROVIDER, METRICS_DNS_PROVIDER_HELP, labels, 1);
	return st;
}

enum txt_status txt_add(struct txt_provider *p, const char *name,
                        const char *value, char *msg, size_t msglen)
{
	return counted(p, "add", apply(p, p->ops->add, name, value, msg, msglen));
}

enum txt_status txt_remove(struct txt_provider *p, const char *name,
                           const char *value, char *msg, size_t msglen)
{
	return counted(p, "remove", apply(p, p->ops->remove, name, value, msg, msglen));
}

int txt_pause(const struct txt_provider *p, long long ms)
{
	long long left = deadline_left(p->deadline, ms + 1);
	struct timespec ts;

	if (left <= ms)
		return -1;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	return 0;
}

void txt_printable(char *out, size_t outlen, const char *in, size_t inlen)
{
	size_t k = 0;

	for (size_t i = 0; i < inlen && k + 1 < outlen; i++) {
		unsigned char ch = (unsigned char)in[i];
		out[k++] = (ch < 0x20 || ch >= 0x7f) ? '?' : (char)ch;
	}
	out[k] = '\0';
}

void txt_set_deadline(struct txt_provider *p, long long deadline_mono_ms)
{
	p->deadline = deadline_mono_ms > 0 ? deadline_mono_ms : 0;
}

void txt_provider_free(struct txt_provider *p)
{
	if (p)
		p->ops->free(p);
}
