/*
 * metrics_http: /metrics, /healthz and /readyz over libmicrohttpd, in front
 * of the registry of metrics.c, and the metrics section of the
 * configuration.  See metrics.h for the contract.
 */
#include "metrics.h"

#include "cfg.h"
#include "log.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* ---- HTTP server --------------------------------------------------- */

/* The one server.  READY and ARG are written before the daemon starts and
 * read only by its thread until it has stopped. */
static struct {
	pthread_mutex_t lock;    /* serialises serve/stop */
	struct MHD_Daemon *d;    /* NULL when not serving */
	metrics_ready_fn ready;  /* readiness callback, may be NULL */
	void *arg;               /* its argument, borrowed */
	_Atomic int port;        /* bound port, 0 when not serving */
} srv = { .lock = PTHREAD_MUTEX_INITIALIZER };

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned code,
                             const char *ctype, char *body, size_t len,
                             enum MHD_ResponseMemoryMode mode)
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
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned code,
                                  const char *text)
{
	return reply(conn, code, "text/plain; charset=utf-8", (char *)text,
	             strlen(text), MHD_RESPMEM_MUST_COPY);
}

/* Keeps the first line of WHY, at most 200 bytes, printable ASCII only. */
static void one_line(char *why)
{
	size_t i = 0;
	for (; why[i] && i < 200; i++) {
		if (why[i] == '\n' || why[i] == '\r')
			break;
		if ((unsigned char)why[i] < 0x20 || (unsigned char)why[i] > 0x7e)
			why[i] = '?';
	}
	why[i] = '\0';
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
                              const char *url, const char *method,
                              const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
	(void)cls;
	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;

	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
		                  "method not allowed\n");
	if (strcmp(url, "/metrics") == 0) {
		size_t len = 0;
		char *body = metrics_render(&len);
		if (!body)
			return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
			                  "cannot render metrics\n");
		return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
		             body, len, MHD_RESPMEM_MUST_FREE);
	}
	if (strcmp(url, "/healthz") == 0)
		return reply_text(conn, MHD_HTTP_OK, "ok\n");
	if (strcmp(url, "/readyz") == 0) {
		char why[256] = "", body[300];
		if (!srv.ready || srv.ready(srv.arg, why, sizeof(why)))
			return reply_text(conn, MHD_HTTP_OK, "ready\n");
		why[sizeof(why) - 1] = '\0';
		one_line(why);
		snprintf(body, sizeof(body), "not ready: %s\n", why[0] ? why : "unknown");
		return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, body);
	}
	return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found\n");
}

enum metrics_status metrics_serve(const char *addr, int port,
                                  metrics_ready_fn ready, void *arg)
{
	enum metrics_status st = METRICS_OK;
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD;
	const union MHD_DaemonInfo *info;

	if (port < 0 || port > 65535)
		return METRICS_EINVAL;
	if (!addr)
		addr = "0.0.0.0";
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
	} else if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		flags |= MHD_USE_IPv6;
	} else {
		return METRICS_EINVAL;
	}

	pthread_mutex_lock(&srv.lock);
	if (srv.d) {
		st = METRICS_EBUSY;
		goto out;
	}
	srv.ready = ready;
	srv.arg = arg;
	/* Small limits: this endpoint serves a scraper and two probes. */
	srv.d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handle, NULL,
	                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	                         MHD_OPTION_CONNECTION_LIMIT, (unsigned int)32,
	                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
	                         MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
	                         MHD_OPTION_END);
	if (!srv.d) {
		srv.ready = NULL;
		srv.arg = NULL;
		st = METRICS_EHTTP;
		goto out;
	}
	info = MHD_get_daemon_info(srv.d, MHD_DAEMON_INFO_BIND_PORT);
	atomic_store(&srv.port, info && info->port ? info->port : port);
out:
	pthread_mutex_unlock(&srv.lock);
	if (st == METRICS_EHTTP)
		log_msg(LOG_ERROR, "metrics: cannot listen on %s port %d", addr, port);
	return st;
}

int metrics_port(void)
{
	return atomic_load(&srv.port);
}

void metrics_stop(void)
{
	pthread_mutex_lock(&srv.lock);
	if (srv.d) {
		MHD_stop_daemon(srv.d);
		srv.d = NULL;
		srv.ready = NULL;
		srv.arg = NULL;
		atomic_store(&srv.port, 0);
	}
	pthread_mutex_unlock(&srv.lock);
}

/* ---- configuration ------------------------------------------------- */

enum metrics_status metrics_cfg_load(struct cfg *c, struct metrics_opts *out)
{
	const char *addr;
	unsigned char tmp[sizeof(struct in6_addr)];
	bool had_error = cfg_error(c) != NULL;

	out->port = (int)cfg_int(c, "metrics.port", 9464, 0, 65535);
	addr = cfg_str(c, "metrics.address", "0.0.0.0");
	if (!addr || strlen(addr) >= sizeof(out->address) ||
	    (inet_pton(AF_INET, addr, tmp) != 1 && inet_pton(AF_INET6, addr, tmp) != 1)) {
		cfg_fail(c, "metrics.address", "not an IPv4 or IPv6 address");
		snprintf(out->address, sizeof(out->address), "0.0.0.0");
		return METRICS_EINVAL;
	}
	snprintf(out->address, sizeof(out->address), "%s", addr);
	return !had_error && cfg_error(c) ? METRICS_EINVAL : METRICS_OK;
}
