/* acme: the client against a fake CA on loopback (libmicrohttpd over TLS),
 * for what Pebble 2.4 lacks: profiles, ARI (renewalInfo, replaces),
 * Retry-After on orders (HTTP-date) and rateLimited, alternate chains, the
 * transport limits (bounded badNonce retry, response cap, timeout, refused
 * connection, 5xx, User-Agent), and what a hostile CA may answer: a URL
 * that is not https:// anywhere, and certificates that are not the ones
 * ordered (another key, other names, a chain that does not link up);
 * and what step-ca 0.19 does differently (keyChange 501, challenge errors
 * on pending authorizations, finalize valid at once, no Retry-After). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <microhttpd.h>

#include "acme.h"
#include "crypto.h"

#include "acme_fake_certs.h"
#include "ari_cert.h"
#include "offboard_policy.h"


/* What the fake CA saw; written by the server thread, read after the
 * client's call returned (the HTTP exchange orders the accesses). */
static struct {
	int port;
	int nonce;
	int order_polls;
	int badnonce_hits;
	int requests;           /* every request served */
	int alt_bad_hits, alt_http_hits;
	char ua[128];
	char ari_id[256];
	int ari_hits;
	const char *ari_window;   /* NULL: the default window */
	const char *ari_retry;    /* Retry-After of renewalInfo */
	json_t *last_payload;
	bool last_had_jwk;
	const char *insecure;   /* the one URL the CA hands out as http:// */
} fake;

/* The names of the fixture chains (acme_fake_certs.h). */
static const char *const chk_names[] = { "chk.example.com", "www.chk.example.com" };

/* A URL of the fake CA for PATH: https://, or http:// when it is the one
 * named by fake.insecure (WHICH). */
static const char *url_of(char *buf, size_t len, const char *which, const char *path)
{
	bool plain = fake.insecure && strcmp(fake.insecure, which) == 0;
	snprintf(buf, len, "%s://127.0.0.1:%d%s", plain ? "http" : "https", fake.port, path);
	return buf;
}

struct upload {
	char *data;
	size_t len;
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned code,
                             const char *body, const char *ctype,
                             const char *h1, const char *v1,
                             const char *h2, const char *v2)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	char nonce[32];
	snprintf(nonce, sizeof(nonce), "nonce-%d", ++fake.nonce);
	MHD_add_response_header(r, "Replay-Nonce", nonce);
	if (ctype)
		MHD_add_response_header(r, "Content-Type", ctype);
	if (h1)
		MHD_add_response_header(r, h1, v1);
	if (h2)
		MHD_add_response_header(r, h2, v2);
	enum MHD_Result ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result problem(struct MHD_Connection *conn, unsigned code,
                               const char *type, const char *retry_after)
{
	char body[256];
	snprintf(body, sizeof(body),
	         "{\"type\":\"urn:ietf:params:acme:error:%s\",\"detail\":\"fake %s\"}",
	         type, type);
	return reply(conn, code, body, "application/problem+json",
	             retry_after ? "Retry-After" : NULL, retry_after, NULL, NULL);
}

/* Decodes the JWS in BODY: remembers its payload and whether it used jwk. */
static void record_jws(const char *body, size_t len)
{
	json_decref(fake.last_payload);
	fake.last_payload = NULL;
	json_t *jws = json_loadb(body, len, 0, NULL);
	const char *p = json_string_value(json_object_get(jws, "payload"));
	const char *h = json_string_value(json_object_get(jws, "protected"));
	unsigned char *raw = NULL;
	size_t rl = 0;
	if (p && *p && crypto_b64url_decode(p, strlen(p), &raw, &rl) == CRYPTO_OK)
		fake.last_payload = json_loadb((char *)raw, rl, 0, NULL);
	free(raw);
	raw = NULL;
	if (h && crypto_b64url_decode(h, strlen(h), &raw, &rl) == CRYPTO_OK) {
		json_t *hj = json_loadb((char *)raw, rl, 0, NULL);
		fake.last_had_jwk = json_object_get(hj, "jwk") != NULL;
		json_decref(hj);
	}
	free(raw);
	json_decref(jws);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
                              const char *url, const char *method,
                              const char *version, const char *upload_data,
                              size_t *upload_size, void **con_cls)
{
	(void)cls;
	(void)version;
	struct upload *up = *con_cls;
	char buf[1024], loc[128];
	if (!up) {
		up = calloc(1, sizeof(*up));
		*con_cls = up;
		return MHD_YES;
	}
	if (*upload_size) {
		up->data = realloc(up->data, up->len + *upload_size + 1);
		memcpy(up->data + up->len, upload_data, *upload_size);
		up->len += *upload_size;
		up->data[up->len] = '\0';
		*upload_size = 0;
		return MHD_YES;
	}
	const char *ua = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	                                             "User-Agent");
	snprintf(fake.ua, sizeof(fake.ua), "%s", ua ? ua : "");
	fake.requests++;
	if (strcmp(method, "POST") == 0)
		record_jws(up->data ? up->data : "", up->len);
	char u[6][128];

	if (strcmp(url, "/dir") == 0) {
		snprintf(buf, sizeof(buf),
		         "{\"newNonce\":\"%s\",\"newAccount\":\"%s\","
		         "\"newOrder\":\"%s\",\"renewalInfo\":\"%s\","
		         "\"keyChange\":\"%s\",\"revokeCert\":\"%s\","
		         "\"meta\":{\"profiles\":{\"classic\":\"90 days\","
		         "\"shortlived\":\"6 days\"}}}",
		         url_of(u[0], 128, "newNonce", "/nonce"),
		         url_of(u[1], 128, "newAccount", "/acct"),
		         url_of(u[2], 128, "newOrder", "/order-new"),
		         url_of(u[3], 128, "renewalInfo", "/ari"),
		         url_of(u[4], 128, "keyChange", "/key-change"),
		         url_of(u[5], 128, "revokeCert", "/revoke"));
		return reply(conn, 200, buf, "application/json", NULL, NULL, NULL, NULL);
	}
	if (strcmp(url, "/dir503") == 0)
		return reply(conn, 503, "busy", "text/plain", NULL, NULL, NULL, NULL);
	if (strcmp(url, "/nonce") == 0)
		return reply(conn, 200, "", NULL, NULL, NULL, NULL, NULL);
	if (strcmp(url, "/acct") == 0)
		return reply(conn, 201, "{\"status\":\"valid\"}", "application/json",
		             "Location", url_of(loc, sizeof(loc), "account.location", "/acct/1"),
		             NULL, NULL);
	if (strcmp(url, "/order-new") == 0 || strcmp(url, "/order/1") == 0 ||
	    strcmp(url, "/order/now/finalize") == 0) {
		/* /order/now/finalize: valid at once, as step-ca answers */
		const char *status = strcmp(url, "/order/now/finalize") == 0 ? "valid" : "pending";
		char extra[160] = "";
		char date[64];
		const char *rh = NULL, *rv = NULL;
		if (strcmp(url, "/order/1") == 0) {
			fake.order_polls++;
			if (fake.order_polls == 1) {
				status = "processing";
				time_t t = time(NULL) + 3;
				struct tm tm;
				gmtime_r(&t, &tm);
				strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
				rh = "Retry-After";
				rv = date;
			} else if (fake.order_polls == 2) {
				return problem(conn, 429, "rateLimited", "7");
			} else {
				status = "valid";
			}
		}
		if (strcmp(status, "valid") == 0 ||
		    (fake.insecure && strcmp(fake.insecure, "order.certificate") == 0))
			snprintf(extra, sizeof(extra), ",\"certificate\":\"%s\"",
			         url_of(u[0], 128, "order.certificate", "/cert/1"));
		snprintf(buf, sizeof(buf),
		         "{\"status\":\"%s\",\"identifiers\":[{\"type\":\"dns\","
		         "\"value\":\"ari.example.com\"}],\"authorizations\":"
		         "[\"%s\"],\"finalize\":\"%s\"%s}",
		         status, url_of(u[1], 128, "order.authz", "/authz/1"),
		         url_of(u[2], 128, "order.finalize", "/order/1/finalize"), extra);
		return reply(conn, strcmp(url, "/order-new") == 0 ? 201 : 200, buf,
		             "application/json", "Location",
		             url_of(loc, sizeof(loc), "order.location", "/order/1"), rh, rv);
	}
	if (strcmp(url, "/authz/1") == 0 || strcmp(url, "/authz/retry") == 0) {
		/* /authz/retry: a failed DNS-01 that step-ca keeps pending */
		bool retry = strcmp(url, "/authz/retry") == 0;
		snprintf(buf, sizeof(buf),
		         "{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\","
		         "\"value\":\"ari.example.com\"},\"challenges\":[{\"type\":"
		         "\"dns-01\",\"url\":\"%s\",\"token\":\"tok-0123456789abcdef\","
		         "\"status\":\"pending\"%s}]}",
		         url_of(u[0], 128, "authz.challenge", "/chall/1"),
		         retry ? ",\"error\":{\"type\":\"urn:ietf:params:acme:error:dns\","
		                 "\"detail\":\"There was a problem with a DNS query during "
		                 "identifier validation\"}" : "");
		return reply(conn, 200, buf, "application/json", NULL, NULL, NULL, NULL);
	}
	if (strcmp(url, "/cert/1") == 0) {
		/* three alternates: another key's chain under the preferred
		 * issuer, one over http://, then the right one */
		char links[512];
		snprintf(links, sizeof(links),
		         "<https://127.0.0.1:%d/cert/1/alt-bad>;rel=\"alternate\", "
		         "<http://127.0.0.1:%d/cert/1/alt-http>;rel=\"alternate\", "
		         "<https://127.0.0.1:%d/cert/1/alt>;rel=\"alternate\"",
		         fake.port, fake.port, fake.port);
		return reply(conn, 200, chain_good, "application/pem-certificate-chain",
		             "Link", links, NULL, NULL);
	}
	if (strcmp(url, "/cert/1/alt") == 0)
		return reply(conn, 200, chain_alt, "application/pem-certificate-chain",
		             NULL, NULL, NULL, NULL);
	if (strcmp(url, "/cert/1/alt-bad") == 0) {
		fake.alt_bad_hits++;
		return reply(conn, 200, chain_alt_wrongkey, "application/pem-certificate-chain",
		             NULL, NULL, NULL, NULL);
	}
	if (strcmp(url, "/cert/1/alt-http") == 0) {
		fake.alt_http_hits++;
		return reply(conn, 200, chain_alt, "application/pem-certificate-chain",
		             NULL, NULL, NULL, NULL);
	}
	static const struct { const char *path, *pem; } chains[] = {
		{ "/cert/good", chain_good }, { "/cert/wrongkey", chain_wrongkey },
		{ "/cert/extra", chain_extra }, { "/cert/missing", chain_missing },
		{ "/cert/ipsan", chain_ipsan }, { "/cert/ca-leaf", chain_ca_leaf },
		{ "/cert/broken", chain_broken }, { "/cert/badsig", chain_badsig },
		{ "/cert/corrupt", "-----BEGIN CERTIFICATE-----\nMIIB\n"
		                   "-----END CERTIFICATE-----\n" },
	};
	for (size_t i = 0; i < sizeof(chains) / sizeof(*chains); i++)
		if (strcmp(url, chains[i].path) == 0)
			return reply(conn, 200, chains[i].pem,
			             "application/pem-certificate-chain", NULL, NULL, NULL, NULL);
	if (strncmp(url, "/ari/", 5) == 0) {
		snprintf(fake.ari_id, sizeof(fake.ari_id), "%s", url + 5);
		fake.ari_hits++;
		return reply(conn, 200, fake.ari_window ? fake.ari_window :
		             "{\"suggestedWindow\":{\"start\":\"2027-01-27T00:00:00Z\","
		             "\"end\":\"2027-01-29T00:00:00Z\"}}", "application/json",
		             "Retry-After", fake.ari_retry ? fake.ari_retry : "21600", NULL, NULL);
	}
	/* step-ca 0.19: keyChange listed, answered 501 (the rest of its ways:
	 * /authz/retry, /order/now/finalize above) */
	if (strcmp(url, "/key-change") == 0)
		return reply(conn, 501, "{\"type\":\"urn:ietf:params:acme:error:notImplemented\","
		             "\"detail\":\"The requested operation is not implemented\"}",
		             "application/problem+json", NULL, NULL, NULL, NULL);
	if (strcmp(url, "/badnonce") == 0) {
		fake.badnonce_hits++;
		return problem(conn, 400, "badNonce", NULL);
	}
	if (strcmp(url, "/big") == 0) {
		size_t n = 200 * 1024;
		char *big = malloc(n + 1);
		memset(big, 'x', n);
		big[n] = '\0';
		enum MHD_Result r = reply(conn, 200, big, "text/plain", NULL, NULL,
		                          NULL, NULL);
		free(big);
		return r;
	}
	if (strcmp(url, "/slow") == 0) {
		usleep(1500 * 1000);
		return reply(conn, 200, "{}", "application/json", NULL, NULL, NULL, NULL);
	}
	return problem(conn, 404, "malformed", NULL);
}

static void done(void *cls, struct MHD_Connection *conn, void **con_cls,
                 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	struct upload *up = *con_cls;
	if (up) {
		free(up->data);
		free(up);
	}
	*con_cls = NULL;
}

static struct MHD_Daemon *daemon_;
static struct crypto_key *key;
static char ca_path[64];   /* the fake CA's TLS root, for libcurl */

static int setup(void **state)
{
	(void)state;
	snprintf(ca_path, sizeof(ca_path), "/tmp/dcv-fake-ca-XXXXXX");
	int fd = mkstemp(ca_path);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, tls_root, strlen(tls_root));
	close(fd);
	if (w != (ssize_t)strlen(tls_root))
		return -1;
	daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	                           MHD_USE_THREAD_PER_CONNECTION | MHD_USE_TLS,
	                           0, NULL, NULL, handle, NULL,
	                           MHD_OPTION_HTTPS_MEM_KEY, tls_key,
	                           MHD_OPTION_HTTPS_MEM_CERT, tls_cert,
	                           MHD_OPTION_NOTIFY_COMPLETED, done, NULL,
	                           MHD_OPTION_SOCK_ADDR, NULL, MHD_OPTION_END);
	if (!daemon_)
		return -1;
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(daemon_,
	                                                     MHD_DAEMON_INFO_BIND_PORT);
	fake.port = di->port;
	return crypto_key_new(CRYPTO_KEY_P256, &key) == CRYPTO_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	MHD_stop_daemon(daemon_);
	crypto_key_free(key);
	json_decref(fake.last_payload);
	unlink(ca_path);
	return 0;
}

/* A client of the fake CA's directory at PATH; PREFERRED: the issuer of the
 * preferred chain, or NULL. */
static struct acme_client *client_pref(const char *path, long timeout_ms,
                                       const char *preferred)
{
	struct acme_opts o;
	struct acme_client *c = NULL;
	char url[128];
	acme_opts_defaults(&o);
	free(o.directory_url);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", fake.port, path);
	o.directory_url = strdup(url);
	o.ca_bundle = strdup(ca_path);
	o.bad_nonce_retries = 3;
	o.max_response_bytes = 64 * 1024;
	o.timeout_ms = timeout_ms;
	o.connect_timeout_ms = 1000;
	o.preferred_chain = preferred ? strdup(preferred) : NULL;
	assert_int_equal(acme_client_new(&o, &c), ACME_OK);
	acme_opts_free(&o);
	acme_set_account(c, key, NULL);
	return c;
}

static struct acme_client *client(const char *path, long timeout_ms)
{
	return client_pref(path, timeout_ms, "Alt Root X");
}

static void test_account_profile_replaces(void **state)
{
	(void)state;
	struct acme_client *c = client("/dir", 5000);
	const struct acme_directory *d;
	assert_int_equal(acme_directory(c, &d), ACME_OK);
	assert_int_equal(d->n_profiles, 2);
	assert_int_equal(acme_account_register(c, "a@example.com", NULL, NULL, false),
	                 ACME_OK);
	assert_true(fake.last_had_jwk);
	assert_true(json_is_true(json_object_get(fake.last_payload,
	                                         "termsOfServiceAgreed")));
	assert_int_equal(strncmp(fake.ua, "dcvfleet/", 9), 0);
	assert_non_null(strstr(acme_account_url(c), "/acct/1"));

	const char *names[] = { "ari.example.com" };
	struct acme_order o;
	assert_int_equal(acme_order_new(c, names, 1, "shortlived", "aYhb.AIdl", &o),
	                 ACME_OK);
	assert_false(fake.last_had_jwk);
	assert_string_equal(json_string_value(json_object_get(fake.last_payload,
	                    "profile")), "shortlived");
	assert_string_equal(json_string_value(json_object_get(fake.last_payload,
	                    "replaces")), "aYhb.AIdl");
	assert_non_null(strstr(o.url, "/order/1"));

	/* processing + Retry-After as an HTTP-date three seconds ahead. */
	long long ms;
	assert_int_equal(acme_order_poll(c, &o, &ms), ACME_PENDING);
	assert_true(ms >= 1000 && ms <= 3000);
	/* 429 rateLimited with Retry-After: 7. */
	assert_int_equal(acme_order_poll(c, &o, &ms), ACME_E_RATELIMITED);
	assert_true(acme_status_retryable(ACME_E_RATELIMITED));
	assert_int_equal(acme_last_problem(c)->retry_after_ms, 7000);
	assert_string_equal(acme_last_problem(c)->detail, "fake rateLimited");
	assert_int_equal(acme_order_poll(c, &o, &ms), ACME_OK);
	assert_string_equal(o.status, "valid");

	/* The preferred issuer's chain comes from Link rel="alternate": the
	 * first one, for another key, is passed over, the http:// one is not
	 * even fetched. */
	char *pem = NULL;
	fake.alt_bad_hits = fake.alt_http_hits = 0;
	assert_int_equal(acme_cert_download(c, o.certificate, leaf_key, chk_names, 2,
	                                    &pem), ACME_OK);
	assert_string_equal(pem, chain_alt);
	assert_int_equal(fake.alt_bad_hits, 1);
	assert_int_equal(fake.alt_http_hits, 0);
	free(pem);
	acme_order_free(&o);

	/* A profile the CA does not list is refused before any request. */
	assert_int_equal(acme_order_new(c, names, 1, "nope", NULL, &o),
	                 ACME_E_UNSUPPORTED);
	acme_client_free(c);
}

/* What step-ca does differently (issue 14): keyChange answered 501
 * notImplemented is "unsupported", not a transient 5xx; a pending
 * authorization without Retry-After is polled at poll_default_ms and
 * carries its challenge's error; a finalize answered valid at once is
 * done, with the certificate URL. */
static void test_stepca_ways(void **state)
{
	(void)state;
	struct acme_client *c = client("/dir", 5000);
	struct crypto_key *nk = NULL;
	long long ms = 0;

	assert_int_equal(acme_account_register(c, "a@example.com", NULL, NULL, false),
	                 ACME_OK);
	assert_int_equal(crypto_key_new(CRYPTO_KEY_P256, &nk), CRYPTO_OK);
	assert_int_equal(acme_key_change(c, nk), ACME_E_UNSUPPORTED);
	assert_false(acme_status_retryable(ACME_E_UNSUPPORTED));
	assert_int_equal(acme_last_problem(c)->http_status, 501);
	assert_string_equal(acme_last_problem(c)->detail,
	                    "The requested operation is not implemented");

	char url[128];
	struct acme_authz a;
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/authz/retry", fake.port);
	assert_int_equal(acme_authz_poll(c, url, &a, &ms), ACME_PENDING);
	assert_int_equal(ms, 1000);               /* poll_default_ms */
	assert_int_equal(a.error.status, ACME_E_DNS);
	assert_non_null(strstr(a.error.detail, "DNS query"));
	acme_authz_free(&a);

	struct acme_order o = { 0 };
	char fin[128];
	snprintf(fin, sizeof(fin), "https://127.0.0.1:%d/order/now/finalize", fake.port);
	o.finalize = strdup(fin);
	o.status = strdup("ready");
	ms = 0;
	assert_int_equal(acme_finalize_csr(c, &o, "MIIB", &ms), ACME_OK);
	assert_int_equal(ms, -1);
	assert_string_equal(o.status, "valid");
	assert_non_null(strstr(o.certificate, "/cert/1"));
	acme_order_free(&o);
	/* the signing key is still the old one */
	crypto_key_free(nk);
	acme_client_free(c);
}

static void test_renewal_info(void **state)
{
	(void)state;
	struct acme_client *c = client("/dir", 5000);
	struct acme_renewal_info r;
	assert_int_equal(acme_renewal_info(c, ari_cert, &r), ACME_OK);
	assert_string_equal(fake.ari_id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
	assert_int_equal(r.end - r.start, 2 * 86400);
	assert_int_equal(r.retry_after_ms, 21600LL * 1000);
	time_t t = acme_renewal_pick(&r, 12345);
	assert_true(t >= r.start && t <= r.end);
	acme_renewal_info_free(&r);
	acme_client_free(c);
}

/* ARI followed (issue 11): the window of a stored certificate asked by its
 * identifier, again at the Retry-After; a window that moves earlier (the CA
 * revoked after an incident) moves the renewal with it. */
static void test_renewal_info_followed(void **state)
{
	(void)state;
	struct acme_client *c = client("/dir", 5000);
	struct acme_renewal_info r;
	long long at, next, first;
	const long long H = 3600000LL, DAY = 24 * H;

	fake.ari_window = NULL;
	fake.ari_retry = "21600";
	assert_int_equal(acme_renewal_info_by_id(c, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE", &r),
	                 ACME_OK);
	assert_string_equal(fake.ari_id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
	assert_int_equal(r.retry_after_ms, 21600LL * 1000);
	/* what offboard-check does with it: a moment in the window, and the
	 * next look after the Retry-After (bounded: 1 h .. 1 d) */
	uint64_t now = (uint64_t)(r.start - 30 * 86400) * 1000;
	ari_schedule(now, (long long)r.start * 1000, (long long)r.end * 1000, r.retry_after_ms,
	             H, DAY, 0, 42, &first, &next);
	assert_true(first >= (long long)r.start * 1000 && first <= (long long)r.end * 1000);
	assert_int_equal(next, (long long)now + 6 * H);
	acme_renewal_info_free(&r);

	/* the CA revokes: the window is now, asked again in a minute (the
	 * lower bound holds: an hour) */
	fake.ari_window = "{\"suggestedWindow\":{\"start\":\"2020-01-01T00:00:00Z\","
	                  "\"end\":\"2020-01-02T00:00:00Z\"}}";
	fake.ari_retry = "60";
	int hits = fake.ari_hits;
	assert_int_equal(acme_renewal_info_by_id(c, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE", &r),
	                 ACME_OK);
	assert_int_equal(fake.ari_hits, hits + 1);
	assert_int_equal(r.retry_after_ms, 60000);
	ari_schedule(now + 6 * H, (long long)r.start * 1000, (long long)r.end * 1000,
	             r.retry_after_ms, H, DAY, first, 42, &at, &next);
	assert_int_equal(at, (long long)now + 6 * H);       /* renew now */
	assert_int_equal(next, (long long)now + 7 * H);
	acme_renewal_info_free(&r);

	/* an identifier that is not one never reaches the URL */
	hits = fake.ari_hits;
	assert_int_equal(acme_renewal_info_by_id(c, "../acct/1", &r), ACME_E_INVAL);
	assert_int_equal(acme_renewal_info_by_id(c, "", &r), ACME_E_INVAL);
	assert_int_equal(acme_renewal_info_by_id(c, NULL, &r), ACME_E_INVAL);
	assert_int_equal(fake.ari_hits, hits);
	fake.ari_window = NULL;
	fake.ari_retry = NULL;
	acme_client_free(c);
}

static void test_transport_limits(void **state)
{
	(void)state;
	struct acme_client *c = client("/dir", 400);
	char url[128];
	assert_int_equal(acme_account_register(c, NULL, NULL, NULL, false), ACME_OK);

	/* badNonce forever: 1 try + 3 retries, then a retryable failure. */
	fake.badnonce_hits = 0;
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/badnonce", fake.port);
	assert_int_equal(acme_challenge_respond(c, url), ACME_E_BADNONCE);
	assert_int_equal(fake.badnonce_hits, 4);
	assert_true(acme_status_retryable(ACME_E_BADNONCE));

	snprintf(url, sizeof(url), "https://127.0.0.1:%d/big", fake.port);
	assert_int_equal(acme_challenge_respond(c, url), ACME_E_TOOBIG);

	snprintf(url, sizeof(url), "https://127.0.0.1:%d/slow", fake.port);
	assert_int_equal(acme_challenge_respond(c, url), ACME_E_TIMEOUT);
	assert_true(acme_status_retryable(ACME_E_TIMEOUT));
	acme_client_free(c);

	const struct acme_directory *d;
	c = client("/dir503", 2000);
	assert_int_equal(acme_directory(c, &d), ACME_E_SERVER);
	assert_true(acme_status_retryable(ACME_E_SERVER));
	acme_client_free(c);

	/* Nothing listens on port 1 of loopback (privileged, unused). */
	struct acme_opts o;
	acme_opts_defaults(&o);
	free(o.directory_url);
	o.directory_url = strdup("https://127.0.0.1:1/dir");
	assert_int_equal(acme_client_new(&o, &c), ACME_OK);
	assert_int_equal(acme_directory(c, &d), ACME_E_CONNECT);
	assert_true(acme_status_retryable(ACME_E_CONNECT));
	assert_non_null(strstr(acme_last_problem(c)->detail, "127.0.0.1:1"));
	acme_client_free(c);
	acme_opts_free(&o);
}

/* Every URL the CA hands out must be https://: each one made http:// in
 * turn is a permanent ACME_E_INSECURE with a clear reason, and a request to
 * an http:// URL is never sent. */
static void test_insecure_urls(void **state)
{
	(void)state;
	struct acme_client *c;
	const struct acme_directory *d;
	struct acme_order o;
	struct acme_authz a;
	const char *names[] = { "ari.example.com" };
	char url[128];

	/* configured: refused before any request */
	struct acme_opts opts;
	acme_opts_defaults(&opts);
	free(opts.directory_url);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/dir", fake.port);
	opts.directory_url = strdup(url);
	int before = fake.requests;
	assert_int_equal(acme_client_new(&opts, &c), ACME_E_INSECURE);
	assert_null(c);
	assert_int_equal(fake.requests, before);
	acme_opts_free(&opts);
	assert_false(acme_status_retryable(ACME_E_INSECURE));

	/* in the directory, any of them */
	static const char *const dir_urls[] = { "newNonce", "newAccount", "newOrder",
	                                        "keyChange", "revokeCert", "renewalInfo" };
	for (size_t i = 0; i < sizeof(dir_urls) / sizeof(*dir_urls); i++) {
		fake.insecure = dir_urls[i];
		c = client("/dir", 5000);
		assert_int_equal(acme_directory(c, &d), ACME_E_INSECURE);
		assert_non_null(strstr(acme_last_problem(c)->detail, "not https://"));
		assert_int_equal(acme_account_register(c, NULL, NULL, NULL, false),
		                 ACME_E_INSECURE);
		acme_client_free(c);
	}

	/* Location of the new account, of the new order */
	fake.insecure = "account.location";
	c = client("/dir", 5000);
	assert_int_equal(acme_account_register(c, NULL, NULL, NULL, false), ACME_E_INSECURE);
	assert_non_null(strstr(acme_last_problem(c)->detail, "Location"));
	assert_null(acme_account_url(c));
	acme_client_free(c);
	fake.insecure = "order.location";
	c = client("/dir", 5000);
	assert_int_equal(acme_account_register(c, NULL, NULL, NULL, false), ACME_OK);
	assert_int_equal(acme_order_new(c, names, 1, NULL, NULL, &o), ACME_E_INSECURE);
	assert_non_null(strstr(acme_last_problem(c)->detail, "Location"));
	acme_client_free(c);

	/* the order's authorization, finalize and certificate URLs */
	static const char *const order_urls[] = { "order.authz", "order.finalize",
	                                          "order.certificate" };
	for (size_t i = 0; i < sizeof(order_urls) / sizeof(*order_urls); i++) {
		fake.insecure = order_urls[i];
		c = client("/dir", 5000);
		assert_int_equal(acme_account_register(c, NULL, NULL, NULL, false), ACME_OK);
		assert_int_equal(acme_order_new(c, names, 1, NULL, NULL, &o), ACME_E_INSECURE);
		assert_non_null(strstr(acme_last_problem(c)->detail,
		                       "an order naming a URL that is not https://"));
		acme_client_free(c);
	}

	/* the challenge's URL in an authorization */
	fake.insecure = "authz.challenge";
	c = client("/dir", 5000);
	assert_int_equal(acme_account_register(c, NULL, NULL, NULL, false), ACME_OK);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/authz/1", fake.port);
	assert_int_equal(acme_authz_get(c, url, &a), ACME_E_INSECURE);
	assert_non_null(strstr(acme_last_problem(c)->detail, "authorization naming"));
	fake.insecure = NULL;
	assert_int_equal(acme_authz_get(c, url, &a), ACME_OK);
	assert_int_equal(strncmp(a.dns01_url, "https://", 8), 0);
	acme_authz_free(&a);

	/* at run time: an http:// URL from anywhere is not requested */
	before = fake.requests;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/badnonce", fake.port);
	assert_int_equal(acme_challenge_respond(c, url), ACME_E_INSECURE);
	assert_non_null(strstr(acme_last_problem(c)->detail, "not an https:// URL"));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/cert/good", fake.port);
	char *pem = (char *)1;
	assert_int_equal(acme_cert_download(c, url, leaf_key, chk_names, 2, &pem),
	                 ACME_E_INSECURE);
	assert_null(pem);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/acct/1", fake.port);
	acme_set_account(c, key, url);   /* an account URL planted in Redis */
	assert_int_equal(acme_account_deactivate(c), ACME_E_INSECURE);
	assert_int_equal(fake.requests, before);
	acme_client_free(c);
}

/* A downloaded chain is checked before it is returned: our key, exactly
 * the order's names, each certificate issued by the next. */
static void test_certificate_checked(void **state)
{
	(void)state;
	static const struct { const char *path, *why; } bad[] = {
		{ "/cert/wrongkey", "public key is not the key of our CSR" },
		{ "/cert/extra", "names evil.example.net, which the order does not" },
		{ "/cert/missing", "lacks www.chk.example.com, which the order names" },
		{ "/cert/ipsan", "other than a DNS name" },
		{ "/cert/ca-leaf", "is a CA certificate" },
		{ "/cert/broken", "certificate 1 of the chain is not issued by certificate 2" },
		{ "/cert/badsig", "signature of certificate 1 of the chain does not verify" },
		{ "/cert/corrupt", "certificate 1 of the chain does not parse" },
	};
	struct acme_client *c = client_pref("/dir", 5000, NULL);
	char url[128], *pem = NULL;

	assert_int_equal(acme_account_register(c, NULL, NULL, NULL, false), ACME_OK);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/cert/good", fake.port);
	assert_int_equal(acme_cert_download(c, url, leaf_key, chk_names, 2, &pem), ACME_OK);
	assert_string_equal(pem, chain_good);
	free(pem);
	/* the names compare without case and in any order */
	const char *upper[] = { "WWW.chk.example.com", "Chk.Example.Com" };
	assert_int_equal(acme_cert_download(c, url, leaf_key, upper, 2, &pem), ACME_OK);
	free(pem);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", fake.port, bad[i].path);
		pem = (char *)1;
		enum acme_status st = acme_cert_download(c, url, leaf_key, chk_names, 2, &pem);
		if (st != ACME_E_BADCERT || !strstr(acme_last_problem(c)->detail, bad[i].why))
			fail_msg("%s: %s: %s", bad[i].path, acme_strerror(st),
			         acme_last_problem(c)->detail);
		assert_null(pem);
		assert_false(acme_status_retryable(st));
		assert_null(strstr(acme_last_problem(c)->detail, "PRIVATE"));
	}
	/* the right chain for other names than the order's */
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/cert/good", fake.port);
	assert_int_equal(acme_cert_download(c, url, leaf_key, chk_names, 1, &pem),
	                 ACME_E_BADCERT);
	assert_non_null(strstr(acme_last_problem(c)->detail, "names www.chk.example.com"));
	acme_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_account_profile_replaces),
		cmocka_unit_test(test_stepca_ways),
		cmocka_unit_test(test_renewal_info),
		cmocka_unit_test(test_renewal_info_followed),
		cmocka_unit_test(test_transport_limits),
		cmocka_unit_test(test_insecure_urls),
		cmocka_unit_test(test_certificate_checked),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
