/*
 * ctl_console: "dcvctl console", the web console (issue 16).
 *
 *   dcvctl console [--listen ADDR:PORT] [--write-token-file F]
 *                  [--auth-file F] [--host NAME:PORT]...   (--host: at most 8)
 *
 * Served with libmicrohttpd on one thread (the pages share dcvctl's one
 * Redis connection with the sampler, under console.lock), on 127.0.0.1:8080
 * unless told otherwise (console.listen, DCV_CONSOLE_LISTEN, --listen).
 *
 * Safety:
 *   - read-only unless a write token is configured (--write-token-file,
 *     console.write_token_file, or DCV_CONSOLE_WRITE_TOKEN); an action
 *     needs it typed in its form;
 *   - every page behind authentication when a secret is configured
 *     (--auth-file, console.auth_file, or DCV_CONSOLE_AUTH): "user:password"
 *     for basic authentication, else a token (the basic password, or
 *     "Authorization: Bearer");
 *   - actions are POSTs carrying the session's CSRF token and an Origin (or
 *     Referer) of this server (console_guard.h; https:// too for a --host
 *     value); the Host must be one this server answers as (the --host
 *     values, at most MAX_HOSTS, added to its address and localhost),
 *     against DNS rebinding; a non-loopback listener without --host
 *     refuses to start without authentication (rebinding_guard);
 *   - a POST's Host and credentials are checked on its headers, before its
 *     body is read; an announced body over CONSOLE_FORM_MAX is answered 413
 *     at once; a chunked one is cut off as soon as it is over (libmicrohttpd
 *     0.9.75 queues no answer mid-body: the connection is closed);
 *   - headers: CSP default-src 'self' (no script, no inline style),
 *     X-Frame-Options DENY, nosniff, no-store; request bodies capped at
 *     CONSOLE_FORM_MAX, connections at 64 KiB of memory;
 *   - secrets are read with acme_read_secret_file and never logged.
 * The actions are dcvctl's own commands (ctl_nudge, ctl_offboard,
 * ctl_dead), run as if typed.
 */
#include "ctl.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acme.h"
#include "console_guard.h"
#include "console_page.h"
#include "crypto.h"
#include "dname.h"

#define MAX_HOSTS 8

/* The console's configuration keys, read before cfg_check_unknown(). */
static struct {
	const char *listen, *write_token_file, *auth_file;   /* borrowed from the cfg */
} copts;

void ctl_console_cfg(struct cfg *cfg)
{
	copts.listen = cfg_str(cfg, "console.listen", "127.0.0.1:8080");
	copts.write_token_file = cfg_str(cfg, "console.write_token_file", NULL);
	copts.auth_file = cfg_str(cfg, "console.auth_file", NULL);
}

struct server {
	struct console k;
	char *auth;                     /* the page secret (crypto_free_secret), or NULL */
	char *write;                    /* the write token, or NULL: read-only */
	unsigned char key[32];          /* the CSRF key, random per run */
	char hosts[MAX_HOSTS + 2][300]; /* Host values accepted; none: any */
	size_t nhosts;
	size_t nconf;                   /* the first NCONF are --host values */
};

/* One POST body being received. */
struct upload {
	char buf[CONSOLE_FORM_MAX + 1];
	size_t len;
	int too_big;
};

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

const char *console_arg(const struct console_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

void console_form_begin(const struct console_req *r, struct html *h, const char *op)
{
	html_printf(h, "<form method=\"post\" action=\"/action\" class=\"inline\">"
	            "<input type=\"hidden\" name=\"op\" value=\"%s\">"
	            "<input type=\"hidden\" name=\"csrf\" value=\"%s\">", op, r->csrf);
	if (r->k->writable)
		html_raw(h, "<input type=\"password\" name=\"token\" placeholder=\"write token\" "
		         "aria-label=\"write token\" autocomplete=\"current-password\" size=\"10\">");
}

void console_hidden(struct html *h, const char *name, const char *value)
{
	html_raw(h, "<input type=\"hidden\" name=\"");
	html_esc(h, name);
	html_raw(h, "\" value=\"");
	html_esc(h, value);
	html_raw(h, "\">");
}

void console_form_end(struct html *h, const char *label, int danger)
{
	html_raw(h, danger ? "<button class=\"danger\">" : "<button>");
	html_esc(h, label);
	html_raw(h, "</button></form>");
}

/* Queues BODY (LEN bytes, MODE) with the headers every answer carries. */
static enum MHD_Result send_body(struct MHD_Connection *conn, unsigned code, const char *ctype,
                                 void *body, size_t len, enum MHD_ResponseMemoryMode mode,
                                 const char *cookie, int auth_fail)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, "Content-Security-Policy", "default-src 'self'; "
	                        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "same-origin");
	if (cookie) {
		char c[160];
		snprintf(c, sizeof(c), "dcv_console=%s; Path=/; HttpOnly; SameSite=Strict", cookie);
		MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, c);
	}
	if (auth_fail)
		ret = MHD_queue_basic_auth_fail_response(conn, "dcvfleet console", r);
	else
		ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned code, const char *text)
{
	return send_body(conn, code, "text/plain; charset=utf-8", (void *)text, strlen(text),
	                 MHD_RESPMEM_PERSISTENT, NULL, 0);
}

static enum MHD_Result send_html(struct MHD_Connection *conn, unsigned code, struct html *h,
                                 const char *cookie)
{
	if (h->failed || !h->buf) {
		html_free(h);
		return send_text(conn, 500, "page too large or out of memory\n");
	}
	enum MHD_Result ret = send_body(conn, code, "text/html; charset=utf-8", h->buf, h->len,
	                                MHD_RESPMEM_MUST_FREE, cookie, 0);
	h->buf = NULL;
	return ret;
}

/* 1 when HOST is accepted: 2 when it is a --host value. */
static int host_ok(const struct server *s, const char *host)
{
	if (!s->nhosts)
		return 1;
	for (size_t i = 0; host && i < s->nhosts; i++)
		if (strcmp(host, s->hosts[i]) == 0)
			return i < s->nconf ? 2 : 1;
	return 0;
}

static int authorized(const struct server *s, struct MHD_Connection *conn)
{
	if (!s->auth)
		return 1;
	const char *a = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	                                            MHD_HTTP_HEADER_AUTHORIZATION);
	const char *bearer = a && strncmp(a, "Bearer ", 7) == 0 ? a + 7 : NULL;
	char *pass = NULL, *user = MHD_basic_auth_get_username_password(conn, &pass);
	int ok = console_auth_ok(s->auth, user, pass, bearer);
	free(user);
	crypto_free_secret(pass);
	return ok;
}

/* A dead-letter action on every letter matching DOMAIN or REASON (either
 * may be empty: all) among those the page showed: the newest
 * CONSOLE_DEAD_READ with an id <= NEWEST ("+": no bound).  Returns
 * EXIT_OK when at least one was done. */
static int dead_matching(struct ctl *c, const char *op, const char *domain,
                         const char *reason, const char *newest, int *count)
{
	json_t *dead = ctl_dead_fetch_upto(c, newest, CONSOLE_DEAD_READ), *e;
	size_t i;
	int rc = EXIT_NOTFOUND;

	*count = 0;
	if (!dead)
		return EXIT_FAIL;
	json_array_foreach(dead, i, e) {
		const char *d = json_string_value(json_object_get(e, "domain"));
		const char *why = json_string_value(json_object_get(e, "reason"));
		const char *id = json_string_value(json_object_get(e, "id"));
		char sub[16], idb[64];
		if (!id || strlen(id) >= sizeof(idb) || (domain && *domain && (!d || strcmp(d, domain))) ||
		    (reason && *reason && (!why || !strstr(why, reason))))
			continue;
		snprintf(sub, sizeof(sub), "%s", op);
		snprintf(idb, sizeof(idb), "%s", id);
		char *av[] = { sub, idb };
		int one = ctl_dead(c, 2, av);
		if (one == EXIT_OK) {
			(*count)++;
			rc = EXIT_OK;
		} else if (one != EXIT_NOTFOUND) {
			rc = EXIT_FAIL;
			break;
		}
	}
	json_decref(dead);
	return rc;
}

/* Runs the action of the form F (N fields).  Returns an exit code of ctl.h
 * and says what was done into MSG. */
static int run_action(struct ctl *c, const struct console_field *f, int n, char *msg, size_t len)
{
	const char *op = console_form_get(f, n, "op"), *domain = console_form_get(f, n, "domain");
	const char *id = console_form_get(f, n, "id"), *reason = console_form_get(f, n, "reason");
	const char *all = console_form_get(f, n, "all"), *newest = console_form_get(f, n, "newest");
	char arg[300];
	int rc, count = 0;

	if (!op)
		return snprintf(msg, len, "no action given"), EXIT_USAGE;
	if (strcmp(op, "nudge") == 0 || strcmp(op, "offboard") == 0) {
		if (!domain || !*domain)
			return snprintf(msg, len, "no domain given"), EXIT_USAGE;
		char norm[DNAME_MAX + 1];
		if (strlen(domain) >= sizeof(arg) || dname_normalize(domain, norm, sizeof(norm)))
			return snprintf(msg, len, "%s refused: not a domain", op), EXIT_USAGE;
		snprintf(arg, sizeof(arg), "%s", domain);
		char *av[] = { arg };
		rc = op[0] == 'n' ? ctl_nudge(c, 1, av) : ctl_offboard(c, 1, av);
		snprintf(msg, len, "%s %s", op, rc == EXIT_OK ? "done" : rc == EXIT_NOTFOUND ?
		         "refused: no such domain" : "failed (see the console's log)");
		return rc;
	}
	if (strcmp(op, "replay") != 0 && strcmp(op, "purge") != 0)
		return snprintf(msg, len, "unknown action"), EXIT_USAGE;
	if (id && *id) {
		if (strlen(id) >= 64 || strspn(id, "0123456789-") != strlen(id))
			return snprintf(msg, len, "not a dead letter id"), EXIT_USAGE;
		char sub[16];
		snprintf(sub, sizeof(sub), "%s", op);
		snprintf(arg, sizeof(arg), "%s", id);
		char *av[] = { sub, arg };
		rc = ctl_dead(c, 2, av);
		snprintf(msg, len, "%s of the dead letter %s", op, rc == EXIT_OK ? "done" :
		         rc == EXIT_NOTFOUND ? "refused: not found" : "failed");
		return rc;
	}
	if (!(domain && *domain) && !(all && strcmp(all, "1") == 0))
		return snprintf(msg, len, "give a dead letter, a domain or all"), EXIT_USAGE;
	if (!newest || !*newest)   /* the page showed none (or an old form): no bound */
		newest = all && strcmp(all, "1") == 0 ? NULL : "+";
	else if (strlen(newest) >= 64 || strspn(newest, "0123456789-") != strlen(newest))
		newest = NULL;
	if (!newest)
		return snprintf(msg, len, "not a dead letter id (reload the page)"), EXIT_USAGE;
	rc = dead_matching(c, op, domain, reason, newest, &count);
	snprintf(msg, len, "%s: %d dead letter(s)%s", op, count,
	         rc == EXIT_FAIL ? ", then failed (see the console's log)" : "");
	return rc == EXIT_NOTFOUND ? EXIT_OK : rc;
}

/* POST /action: the checks, in order (CSRF and origin, then the token),
 * then the action. */
static enum MHD_Result action(struct server *s, struct MHD_Connection *conn,
                              struct upload *u, const char *sid)
{
	struct console_field f[CONSOLE_FIELDS];
	char want[65], msg[200];
	struct html h = { 0 };
	unsigned code = 200;

	const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	                                             MHD_HTTP_HEADER_CONTENT_TYPE);
	if (u->too_big)
		return send_text(conn, 413, "request too large\n");
	if (!ct || strncmp(ct, "application/x-www-form-urlencoded", 33) != 0)
		return send_text(conn, 415, "a form is expected\n");
	u->buf[u->len] = '\0';
	int n = console_form_parse(u->buf, f);
	if (n < 0)
		return send_text(conn, 400, "malformed form\n");
	const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
	const char *referer = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	                                                  MHD_HTTP_HEADER_REFERER);
	if (!console_sid_valid(sid))
		return send_text(conn, 403, "refused: no session (reload the page)\n");
	console_csrf(s->key, sid, want);
	if (!console_secret_equal(want, console_form_get(f, n, "csrf")))
		return send_text(conn, 403, "refused: CSRF token missing or wrong\n");
	if (!console_origin_ok(host, origin, referer, host_ok(s, host) == 2))
		return send_text(conn, 403, "refused: the request does not come from this console\n");
	if (!s->write)
		return send_text(conn, 403, "refused: the console is read-only (no write token "
		                 "configured)\n");
	if (!console_secret_equal(s->write, console_form_get(f, n, "token")))
		return send_text(conn, 403, "refused: wrong or missing write token\n");
	pthread_mutex_lock(&s->k.lock);
	int rc = run_action(s->k.c, f, n, msg, sizeof(msg));
	pthread_mutex_unlock(&s->k.lock);
	code = rc == EXIT_OK ? 200 : rc == EXIT_NOTFOUND ? 404 : rc == EXIT_USAGE ? 400 : 500;
	html_begin(&h, "Action", "");
	html_printf(&h, "<p class=\"msg%s\" id=\"result\">", rc == EXIT_OK ? "" : " err");
	html_esc(&h, msg);
	html_raw(&h, "</p>");
	const char *domain = console_form_get(f, n, "domain");
	if (domain && *domain) {
		html_raw(&h, "<p><a id=\"back\" href=\"/domain?q=");
		html_url(&h, domain);
		html_raw(&h, "\">back to ");
		html_esc(&h, domain);
		html_raw(&h, "</a></p>");
	} else {
		html_raw(&h, "<p><a id=\"back\" href=\"/dead\">back to the dead letters</a></p>");
	}
	html_end(&h);
	return send_html(conn, code, &h, NULL);
}

static enum MHD_Result page(struct server *s, struct MHD_Connection *conn, const char *url,
                            const char *sid)
{
	static const struct {
		const char *url;
		unsigned (*fn)(struct console_req *, struct html *);
	} pages[] = {
		{ "/", console_page_overview }, { "/domain", console_page_domain },
		{ "/dead", console_page_dead }, { "/expiring", console_page_expiring },
	};
	char fresh[CONSOLE_SID_LEN + 1], csrf[65];
	struct html h = { 0 };

	if (strcmp(url, "/console.css") == 0)
		return send_body(conn, 200, "text/css; charset=utf-8", (void *)console_css,
		                 strlen(console_css), MHD_RESPMEM_PERSISTENT, NULL, 0);
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		if (strcmp(url, pages[i].url) != 0)
			continue;
		const char *cookie = NULL;
		if (!console_sid_valid(sid)) {
			if (console_sid_new(fresh) != 0)
				return send_text(conn, 500, "no randomness\n");
			sid = cookie = fresh;
		}
		console_csrf(s->key, sid, csrf);
		struct console_req r = { &s->k, conn, csrf };
		pthread_mutex_lock(&s->k.lock);
		unsigned code = pages[i].fn(&r, &h);
		pthread_mutex_unlock(&s->k.lock);
		return send_html(conn, code, &h, cookie);
	}
	return send_text(conn, 404, "not found\n");
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version,
                              const char *upload_data, size_t *upload_data_size,
                              void **con_cls)
{
	struct server *s = cls;
	int post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
	(void)version;

	if (post && *con_cls && *upload_data_size) {
		struct upload *u = *con_cls;
		if (u->too_big || u->len + *upload_data_size > CONSOLE_FORM_MAX) {
			/* over the cap (a chunked body): nothing more is kept; the 413
			 * is answered when libmicrohttpd allows it (0.9.75 does not
			 * mid-body), else the connection is closed */
			u->too_big = 1;
			*upload_data_size = 0;
			return send_text(conn, 413, "request too large\n");
		}
		memcpy(u->buf + u->len, upload_data, *upload_data_size);
		u->len += *upload_data_size;
		*upload_data_size = 0;
		return MHD_YES;
	}
	/* GETs, and the first call of a POST (its headers only): the Host and
	 * the credentials are checked before any body is read */
	const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	if (!host_ok(s, host))
		return send_text(conn, 421, "unknown Host (see dcvctl console --host)\n");
	if (!authorized(s, conn))
		return send_body(conn, 401, "text/plain; charset=utf-8", (void *)"authentication "
		                 "required\n", 24, MHD_RESPMEM_PERSISTENT, NULL, 1);
	if (post && !*con_cls) {
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		                                             MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > CONSOLE_FORM_MAX)
			return send_text(conn, 413, "request too large\n");
		struct upload *u = calloc(1, sizeof(*u));
		if (!u)
			return MHD_NO;
		*con_cls = u;
		return MHD_YES;
	}
	const char *sid = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, "dcv_console");
	if (post)
		return strcmp(url, "/action") == 0 ? action(s, conn, *con_cls, sid)
		                                   : send_text(conn, 404, "not found\n");
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return send_text(conn, 405, "method not allowed\n");
	return page(s, conn, url, sid);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	free(*con_cls);
	*con_cls = NULL;
}

/* "ADDR:PORT" ("[V6]:PORT") into SS.  Returns 0 or -1. */
static int parse_listen(const char *spec, struct sockaddr_storage *ss, unsigned *flags,
                        char *addr, size_t alen, int *port)
{
	const char *colon = strrchr(spec, ':');
	char *end;
	if (!colon || colon == spec)
		return -1;
	long p = strtol(colon + 1, &end, 10);
	if (*end || p < 0 || p > 65535)
		return -1;
	size_t n = (size_t)(colon - spec);
	if (spec[0] == '[' && n >= 2 && spec[n - 1] == ']')
		spec++, n -= 2;
	if (n >= alen)
		return -1;
	memcpy(addr, spec, n);
	addr[n] = '\0';
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)p);
	} else if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)p);
		*flags |= MHD_USE_IPv6;
	} else {
		return -1;
	}
	*port = (int)p;
	return 0;
}

/* The Host values a loopback or named listener answers as, after the
 * --host values.  A wildcard address without --host accepts any Host (it
 * has authentication: see rebinding_guard). */
static void default_hosts(struct server *s, const char *addr, int port)
{
	int v6 = strchr(addr, ':') != NULL;
	if (strcmp(addr, "0.0.0.0") == 0 || strcmp(addr, "::") == 0)
		return;
	snprintf(s->hosts[s->nhosts++], sizeof(s->hosts[0]), v6 ? "[%s]:%d" : "%s:%d", addr, port);
	if (strcmp(addr, "127.0.0.1") == 0 || strcmp(addr, "::1") == 0)
		snprintf(s->hosts[s->nhosts++], sizeof(s->hosts[0]), "localhost:%d", port);
}

/* A secret from FILE, else from the environment variable ENV; NULL when
 * neither is set; *BAD when the file cannot be read. */
static char *secret(const char *file, const char *env, int *bad)
{
	if (file) {
		char *v = acme_read_secret_file(file);
		if (!v || !*v) {
			fprintf(stderr, "dcvctl console: cannot read the secret file %s (or it is "
			        "empty)\n", file);
			crypto_free_secret(v);
			*bad = 1;
			return NULL;
		}
		return v;
	}
	const char *e = getenv(env);
	return e && *e ? strdup(e) : NULL;
}

struct console_args {
	const char *listen, *write_file, *auth_file;
	const char *hosts[MAX_HOSTS];
	size_t nhosts;
};

static int console_args(int argc, char **argv, struct console_args *a)
{
	a->listen = copts.listen;
	a->write_file = copts.write_token_file;
	a->auth_file = copts.auth_file;
	a->nhosts = 0;
	for (int i = 0; i < argc; i++) {
		if (i + 1 >= argc)
			return -1;
		if (strcmp(argv[i], "--listen") == 0)
			a->listen = argv[++i];
		else if (strcmp(argv[i], "--write-token-file") == 0)
			a->write_file = argv[++i];
		else if (strcmp(argv[i], "--auth-file") == 0)
			a->auth_file = argv[++i];
		else if (strcmp(argv[i], "--host") == 0 && a->nhosts < MAX_HOSTS &&
		         strlen(argv[i + 1]) < 300)
			a->hosts[a->nhosts++] = argv[++i];
		else
			return -1;
	}
	return 0;
}

/* Samples the counters every CONSOLE_SAMPLE_MS until a signal. */
static void run_until_signal(struct server *s)
{
	struct timespec tick = { 0, 200 * 1000 * 1000 };
	long long next = 0;
	while (!stopping) {
		long long now = (long long)queue_now_ms();
		if (now >= next) {
			pthread_mutex_lock(&s->k.lock);
			console_sample(&s->k);
			pthread_mutex_unlock(&s->k.lock);
			next = now + CONSOLE_SAMPLE_MS;
		}
		nanosleep(&tick, NULL);
	}
}

/* A listener on a non-loopback address answers browsers anywhere: without
 * --host any Host is accepted or only its address, and a DNS rebinding
 * page could drive it; without authentication too, that is refused.
 * Returns 0 or -1 after saying why. */
static int rebinding_guard(const char *addr, size_t nhosts, int auth)
{
	if (strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0 || nhosts)
		return 0;
	if (!auth) {
		fprintf(stderr, "dcvctl console: refusing to listen on %s (not loopback) without "
		        "--host and without authentication: it would be open to DNS rebinding. "
		        "Give --host NAME:PORT (the name browsers use) or configure "
		        "console.auth_file / DCV_CONSOLE_AUTH\n", addr);
		return -1;
	}
	fprintf(stderr, "dcvctl console: warning: listening on %s (not loopback) without --host: "
	        "every Host is accepted (authentication still required); give --host NAME:PORT\n",
	        addr);
	return 0;
}

int ctl_console(struct ctl *c, int argc, char **argv)
{
	struct console_args a;
	struct server s = { .k = { .c = c, .lock = PTHREAD_MUTEX_INITIALIZER } };
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD;
	char addr[64];
	int port, bad = 0, rc = EXIT_FAIL;
	struct MHD_Daemon *d = NULL;

	if (console_args(argc, argv, &a) != 0)
		return ctl_usage(stderr), EXIT_USAGE;
	if (parse_listen(a.listen, &ss, &flags, addr, sizeof(addr), &port) != 0) {
		fprintf(stderr, "dcvctl console: --listen %s: not ADDR:PORT\n", a.listen);
		return EXIT_USAGE;
	}
	s.write = secret(a.write_file, "DCV_CONSOLE_WRITE_TOKEN", &bad);
	s.auth = secret(a.auth_file, "DCV_CONSOLE_AUTH", &bad);
	s.k.writable = s.write != NULL;
	if (bad || rebinding_guard(addr, a.nhosts, s.auth != NULL) != 0 ||
	    crypto_random(s.key, sizeof(s.key)) != CRYPTO_OK) {
		rc = EXIT_USAGE;
		goto out;
	}
	for (size_t i = 0; i < a.nhosts; i++)
		snprintf(s.hosts[s.nhosts++], sizeof(s.hosts[0]), "%s", a.hosts[i]);
	s.nconf = s.nhosts;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	/* one thread: the pages take the Redis connection in turn */
	d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handle, &s,
	                     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	                     MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
	                     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)64,
	                     MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)32,
	                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
	                     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
	                     MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "dcvctl console: cannot listen on %s\n", a.listen);
		goto out;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (info && info->port)
		port = info->port;
	default_hosts(&s, addr, port);
	printf("dcvctl console: listening on http://%s%s%s:%d/ (%s%s)\n",
	       strchr(addr, ':') ? "[" : "", addr, strchr(addr, ':') ? "]" : "", port,
	       s.write ? "actions need the write token" : "read-only",
	       s.auth ? ", authentication required" : "");
	run_until_signal(&s);
	rc = EXIT_OK;
out:
	if (d)
		MHD_stop_daemon(d);
	crypto_free_secret(s.write);
	crypto_free_secret(s.auth);
	OPENSSL_cleanse(s.key, sizeof(s.key));
	return rc;
}
