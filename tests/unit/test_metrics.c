/*
 * Unit tests of the metrics module: exposition format, label escaping and
 * validation, histogram bucket math, caps, updates from several threads,
 * the configuration section, and the HTTP endpoints over a real socket.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "cfg.h"
#include "metrics.h"

static int reset(void **state)
{
	(void)state;
	metrics_stop();
	metrics_reset();
	return 0;
}

/* The whole exposition of a small registry, byte for byte: families sorted
 * by name, series by label text, HELP escaped, integers printed as such. */
static void test_render_format(void **state)
{
	(void)state;
	static const double b[] = { 0.5, 1 };
	struct metrics_counter *adv = metrics_counter(METRICS_JOBS, METRICS_JOBS_HELP,
	                                              "stage=\"verify-cname\",outcome=\"advance\"");
	struct metrics_counter *fin = metrics_counter(METRICS_JOBS, "ignored: first help wins",
	                                              "stage=\"finalize\",outcome=\"done\"");
	struct metrics_gauge *g = metrics_gauge("dcv_jobs_in_flight", "In\\flight\nnow.",
	                                        "stage=\"finalize\"");
	struct metrics_histogram *h = metrics_histogram("a_seconds", "H.", "", b, 2);
	struct metrics_counter *rc = metrics_counter(METRICS_REDIS_RECONNECTS,
	                                             METRICS_REDIS_RECONNECTS_HELP, NULL);
	assert_non_null(adv);
	assert_non_null(fin);
	assert_non_null(g);
	assert_non_null(h);
	assert_non_null(rc);
	assert_ptr_equal(adv, metrics_counter(METRICS_JOBS, NULL,
	                                      "stage=\"verify-cname\",outcome=\"advance\""));

	metrics_counter_inc(adv);
	metrics_counter_incby(adv, 2);
	metrics_counter_incby(adv, -5);   /* ignored: counters never go down */
	metrics_counter_incby(adv, NAN);  /* ignored */
	metrics_counter_incby(fin, 0.25);
	metrics_gauge_set(g, 7);
	metrics_gauge_add(g, -2.5);
	metrics_observe(h, 0.5);
	metrics_observe(h, 3);
	assert_int_equal(metrics_counter_add(METRICS_ACME_PROBLEMS, METRICS_ACME_PROBLEMS_HELP,
	                                     "type=\"rateLimited\"", 1), METRICS_OK);

	const char *want =
		"# HELP a_seconds H.\n"
		"# TYPE a_seconds histogram\n"
		"a_seconds_bucket{le=\"0.5\"} 1\n"
		"a_seconds_bucket{le=\"1\"} 1\n"
		"a_seconds_bucket{le=\"+Inf\"} 2\n"
		"a_seconds_sum 3.5\n"
		"a_seconds_count 2\n"
		"# HELP dcv_acme_problems_total " METRICS_ACME_PROBLEMS_HELP "\n"
		"# TYPE dcv_acme_problems_total counter\n"
		"dcv_acme_problems_total{type=\"rateLimited\"} 1\n"
		"# HELP dcv_jobs_in_flight In\\\\flight\\nnow.\n"
		"# TYPE dcv_jobs_in_flight gauge\n"
		"dcv_jobs_in_flight{stage=\"finalize\"} 4.5\n"
		"# HELP dcv_jobs_total " METRICS_JOBS_HELP "\n"
		"# TYPE dcv_jobs_total counter\n"
		"dcv_jobs_total{stage=\"finalize\",outcome=\"done\"} 0.25\n"
		"dcv_jobs_total{stage=\"verify-cname\",outcome=\"advance\"} 3\n"
		"# HELP dcv_redis_reconnects_total " METRICS_REDIS_RECONNECTS_HELP "\n"
		"# TYPE dcv_redis_reconnects_total counter\n"
		"dcv_redis_reconnects_total 0\n";
	size_t len = 0;
	char *got = metrics_render(&len);
	assert_non_null(got);
	assert_string_equal(got, want);
	assert_int_equal(len, strlen(want));
	free(got);

	/* Rendering is stable: the same registry gives the same bytes. */
	char *again = metrics_render(NULL);
	assert_string_equal(again, want);
	free(again);
}

static void test_special_values(void **state)
{
	(void)state;
	struct metrics_gauge *a = metrics_gauge("g", "", "k=\"a\"");
	struct metrics_gauge *b = metrics_gauge("g", "", "k=\"b\"");
	struct metrics_gauge *c = metrics_gauge("g", "", "k=\"c\"");
	struct metrics_gauge *d = metrics_gauge("g", "", "k=\"d\"");
	metrics_gauge_set(a, INFINITY);
	metrics_gauge_set(b, -INFINITY);
	metrics_gauge_set(c, NAN);
	metrics_gauge_set(d, 0.1);
	char *got = metrics_render(NULL);
	assert_non_null(strstr(got, "g{k=\"a\"} +Inf\n"));
	assert_non_null(strstr(got, "g{k=\"b\"} -Inf\n"));
	assert_non_null(strstr(got, "g{k=\"c\"} NaN\n"));
	assert_non_null(strstr(got, "g{k=\"d\"} 0.1\n"));
	free(got);
	/* NULL handles are accepted and do nothing. */
	metrics_counter_inc(NULL);
	metrics_counter_incby(NULL, 1);
	metrics_gauge_set(NULL, 1);
	metrics_gauge_add(NULL, 1);
	metrics_observe(NULL, 1);
}

/* Values from outside (an ACME problem type) are escaped by
 * metrics_labels(); label text that would break the format is refused. */
static void test_label_escaping(void **state)
{
	(void)state;
	char buf[128];

	assert_int_equal(metrics_labels(buf, sizeof(buf), "type", "a\"b\\c\nd",
	                                "stage", "finalize", NULL), METRICS_OK);
	assert_string_equal(buf, "type=\"a\\\"b\\\\c\\nd\",stage=\"finalize\"");
	assert_int_equal(metrics_counter_add("esc_total", "", buf, 1), METRICS_OK);
	char *got = metrics_render(NULL);
	assert_non_null(strstr(got, "esc_total{type=\"a\\\"b\\\\c\\nd\",stage=\"finalize\"} 1\n"));
	/* no raw newline inside a sample line */
	assert_null(strstr(got, "a\"b"));
	free(got);

	/* empty value and no pairs */
	assert_int_equal(metrics_labels(buf, sizeof(buf), "k", "", NULL), METRICS_OK);
	assert_string_equal(buf, "k=\"\"");
	assert_int_equal(metrics_labels(buf, sizeof(buf), NULL), METRICS_OK);
	assert_string_equal(buf, "");

	/* too small: an error and an empty buffer, never a cut label */
	char small[12];
	assert_int_equal(metrics_labels(small, sizeof(small), "type", "\"\"\"\"\"", NULL),
	                 METRICS_ETOOBIG);
	assert_string_equal(small, "");
	assert_int_equal(metrics_labels(small, sizeof(small), "bad-name", "x", NULL),
	                 METRICS_EINVAL);

	/* label text is validated when a series is created */
	static const char *const bad[] = {
		"k=\"raw\"quote\"", "k=\"raw\nnewline\"", "k=\"bad\\escape\"",
		"k=unquoted", "1k=\"v\"", "__reserved=\"v\"", "k=\"v\",", "k=\"v\" ",
		"k=\"unterminated", ",k=\"v\"", "k=\"v\",,j=\"w\"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_null(metrics_counter("bad_total", "", bad[i]));
		assert_int_equal(metrics_counter_add("bad_total", "", bad[i], 1), METRICS_EINVAL);
	}
	/* bad metric names */
	assert_null(metrics_counter("", "", NULL));
	assert_null(metrics_counter(NULL, "", NULL));
	assert_null(metrics_counter("9lives", "", NULL));
	assert_null(metrics_counter("with-dash", "", NULL));
	assert_non_null(metrics_counter("ns:with_colon", "", NULL));
	got = metrics_render(NULL);
	assert_null(strstr(got, "bad_total"));
	free(got);
}

/* A value lands in the first bucket whose bound is >= it; buckets render
 * cumulatively; _count equals the +Inf bucket; _sum adds the values. */
static void test_histogram_buckets(void **state)
{
	(void)state;
	static const double b[] = { 0.1, 1, 10 };
	struct metrics_histogram *h = metrics_histogram("lat_seconds", "L.",
	                                                "stage=\"finalize\"", b, 3);
	assert_non_null(h);
	static const double obs[] = { 0.05, 0.1, 0.1000001, 0.5, 1, 5, 10, 100, -1 };
	for (size_t i = 0; i < sizeof(obs) / sizeof(obs[0]); i++)
		metrics_observe(h, obs[i]);
	metrics_observe(h, NAN); /* ignored */

	char *got = metrics_render(NULL);
	/* -1, 0.05, 0.1 <= 0.1; then 0.1000001, 0.5, 1 <= 1; 5, 10 <= 10; 100 */
	assert_non_null(strstr(got, "lat_seconds_bucket{stage=\"finalize\",le=\"0.1\"} 3\n"));
	assert_non_null(strstr(got, "lat_seconds_bucket{stage=\"finalize\",le=\"1\"} 6\n"));
	assert_non_null(strstr(got, "lat_seconds_bucket{stage=\"finalize\",le=\"10\"} 8\n"));
	assert_non_null(strstr(got, "lat_seconds_bucket{stage=\"finalize\",le=\"+Inf\"} 9\n"));
	assert_non_null(strstr(got, "lat_seconds_count{stage=\"finalize\"} 9\n"));
	char *sum = strstr(got, "lat_seconds_sum{stage=\"finalize\"} ");
	assert_non_null(sum);
	double want = 0;
	for (size_t i = 0; i < sizeof(obs) / sizeof(obs[0]); i++)
		want += obs[i];
	assert_true(fabs(strtod(sum + strlen("lat_seconds_sum{stage=\"finalize\"} "), NULL)
	                 - want) < 1e-9);
	free(got);

	/* the handler buckets are usable as given */
	assert_non_null(metrics_histogram(METRICS_HANDLER_SECONDS, METRICS_HANDLER_SECONDS_HELP,
	                                  "stage=\"verify-cname\"", metrics_handler_buckets,
	                                  metrics_handler_nbuckets));

	/* bad bounds and clashes */
	static const double unsorted[] = { 1, 0.5 }, dup[] = { 1, 1 }, inf[] = { 1, INFINITY };
	static const double other[] = { 0.1, 1 };
	assert_null(metrics_histogram("x_seconds", "", "", unsorted, 2));
	assert_null(metrics_histogram("x_seconds", "", "", dup, 2));
	assert_null(metrics_histogram("x_seconds", "", "", inf, 2));
	assert_null(metrics_histogram("x_seconds", "", "", b, 0));
	assert_null(metrics_histogram("x_seconds", "", "", NULL, 3));
	double many[METRICS_MAX_BUCKETS + 1];
	for (size_t i = 0; i <= METRICS_MAX_BUCKETS; i++)
		many[i] = (double)i;
	assert_null(metrics_histogram("x_seconds", "", "", many, METRICS_MAX_BUCKETS + 1));
	assert_non_null(metrics_histogram("x_seconds", "", "", many, METRICS_MAX_BUCKETS));
	assert_null(metrics_histogram("lat_seconds", "", "stage=\"x\"", other, 2));
	assert_null(metrics_histogram("lat_seconds", "", "le=\"1\"", b, 3));
	assert_null(metrics_counter("lat_seconds", "", NULL));
	assert_ptr_equal(h, metrics_histogram("lat_seconds", "", "stage=\"finalize\"", b, 3));
}

static void test_type_clash(void **state)
{
	(void)state;
	assert_non_null(metrics_counter("t_total", "", NULL));
	assert_null(metrics_gauge("t_total", "", NULL));
	assert_null(metrics_gauge("t_total", "", "k=\"v\""));
	assert_non_null(metrics_gauge("t_gauge", "", NULL));
	assert_int_equal(metrics_counter_add("t_gauge", "", NULL, 1), METRICS_ETYPE);
}

/* The series cap holds against an unbounded set of label values, and what
 * was refused is counted. */
static void test_series_cap(void **state)
{
	(void)state;
	char labels[64];
	size_t made = 0;
	for (int i = 0; i < METRICS_MAX_SERIES + 10; i++) {
		snprintf(labels, sizeof(labels), "type=\"t%d\"", i);
		if (metrics_counter("many_total", "", labels))
			made++;
	}
	assert_int_equal(made, METRICS_MAX_SERIES);
	assert_int_equal(metrics_counter_add("many_total", "", "type=\"new\"", 1), METRICS_EFULL);
	/* existing series still work when full */
	assert_int_equal(metrics_counter_add("many_total", "", "type=\"t0\"", 1), METRICS_OK);
	char *got = metrics_render(NULL);
	assert_non_null(strstr(got, "dcv_metrics_series_dropped_total 11\n"));
	assert_non_null(strstr(got, "many_total{type=\"t0\"} 1\n"));
	free(got);
}

/* ---- concurrency ---------------------------------------------------- */

#define THREADS 6
#define ROUNDS 20000

static const double conc_bounds[] = { 1, 2 };

struct worker_arg {
	int id;
	struct metrics_counter *shared;
	struct metrics_gauge *inflight;
	struct metrics_histogram *hist;
};

static atomic_int renders_running;
static atomic_int thread_failures; /* cmocka asserts are main-thread only */

static void *worker(void *p)
{
	struct worker_arg *a = p;
	char labels[64];

	snprintf(labels, sizeof(labels), "thread=\"%d\"", a->id);
	for (int i = 0; i < ROUNDS; i++) {
		metrics_counter_inc(a->shared);
		metrics_gauge_add(a->inflight, 1);
		metrics_observe(a->hist, (double)(i % 3)); /* 0, 1, 2 */
		metrics_gauge_add(a->inflight, -1);
		if (i % 100 == 0) {
			/* lookups and creation race with each other and with render */
			if (metrics_counter_add("by_name_total", "", labels, 1) != METRICS_OK ||
			    metrics_counter_add("by_name_total", "", "thread=\"all\"", 1) != METRICS_OK)
				atomic_fetch_add(&thread_failures, 1);
		}
	}
	return NULL;
}

static void *renderer(void *p)
{
	(void)p;
	while (atomic_load(&renders_running)) {
		char *s = metrics_render(NULL);
		if (!s)
			atomic_fetch_add(&thread_failures, 1);
		free(s);
	}
	return NULL;
}

/* The value of the sample line starting with LINE_PREFIX (not a HELP line). */
static double sample(const char *text, const char *line_prefix)
{
	char pfx[128];
	snprintf(pfx, sizeof(pfx), "\n%s", line_prefix);
	const char *p = strstr(text, pfx);
	assert_non_null(p);
	return strtod(p + strlen(pfx), NULL);
}

static void test_concurrency(void **state)
{
	(void)state;
	pthread_t th[THREADS], r;
	struct worker_arg args[THREADS];
	struct metrics_counter *shared = metrics_counter("shared_total", "", NULL);
	struct metrics_gauge *inflight = metrics_gauge("inflight", "", NULL);
	struct metrics_histogram *hist = metrics_histogram("conc_seconds", "", NULL,
	                                                   conc_bounds, 2);

	atomic_store(&renders_running, 1);
	assert_int_equal(pthread_create(&r, NULL, renderer, NULL), 0);
	for (int i = 0; i < THREADS; i++) {
		args[i] = (struct worker_arg){ i, shared, inflight, hist };
		assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	atomic_store(&renders_running, 0);
	pthread_join(r, NULL);
	assert_int_equal(atomic_load(&thread_failures), 0);

	char *got = metrics_render(NULL);
	const double n = (double)THREADS * ROUNDS;
	assert_true(sample(got, "shared_total ") == n);
	assert_true(sample(got, "inflight ") == 0);
	assert_true(sample(got, "conc_seconds_count ") == n);
	assert_true(sample(got, "conc_seconds_bucket{le=\"+Inf\"} ") == n);
	/* i % 3 over ROUNDS: zeros and ones go <= 1, twos <= 2 */
	double twos = (double)THREADS * (ROUNDS / 3);
	assert_true(sample(got, "conc_seconds_bucket{le=\"1\"} ") == n - twos);
	double ones = (double)THREADS * ((ROUNDS + 1) / 3);
	assert_true(sample(got, "conc_seconds_sum ") == ones + 2 * twos);
	assert_true(sample(got, "by_name_total{thread=\"all\"} ") == THREADS * (ROUNDS / 100));
	for (int i = 0; i < THREADS; i++) {
		char pfx[64];
		snprintf(pfx, sizeof(pfx), "by_name_total{thread=\"%d\"} ", i);
		assert_true(sample(got, pfx) == ROUNDS / 100);
	}
	free(got);
}

/* ---- configuration -------------------------------------------------- */

static void test_cfg_load(void **state)
{
	(void)state;
	char err[256];
	struct metrics_opts o;
	struct cfg *c;

	unsetenv("DCV_METRICS_PORT");
	unsetenv("DCV_METRICS_ADDRESS");
	c = cfg_new_empty();
	assert_int_equal(metrics_cfg_load(c, &o), METRICS_OK);
	assert_int_equal(o.port, 9464);
	assert_string_equal(o.address, "0.0.0.0");
	cfg_free(c);

	c = cfg_load_string("metrics:\n  port: 9100\n  address: \"::1\"\n", "t.yaml",
	                    err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(metrics_cfg_load(c, &o), METRICS_OK);
	assert_int_equal(o.port, 9100);
	assert_string_equal(o.address, "::1");
	cfg_free(c);

	c = cfg_load_string("metrics:\n  port: 0\n", "t.yaml", err, sizeof(err));
	assert_int_equal(metrics_cfg_load(c, &o), METRICS_OK);
	assert_int_equal(o.port, 0);
	cfg_free(c);

	c = cfg_load_string("metrics:\n  address: not-an-ip\n", "t.yaml", err, sizeof(err));
	assert_int_equal(metrics_cfg_load(c, &o), METRICS_EINVAL);
	assert_non_null(cfg_error(c));
	assert_non_null(strstr(cfg_error(c), "metrics.address"));
	cfg_free(c);

	c = cfg_load_string("metrics:\n  port: 70000\n", "t.yaml", err, sizeof(err));
	assert_int_equal(metrics_cfg_load(c, &o), METRICS_EINVAL);
	assert_non_null(cfg_error(c));
	cfg_free(c);

	setenv("DCV_METRICS_PORT", "9999", 1);
	c = cfg_new_empty();
	assert_int_equal(metrics_cfg_load(c, &o), METRICS_OK);
	assert_int_equal(o.port, 9999);
	cfg_free(c);
	unsetenv("DCV_METRICS_PORT");
}

/* ---- HTTP ----------------------------------------------------------- */

struct resp {
	int status;
	char head[2048];
	char body[65536];
};

/* One HTTP/1.0 request to 127.0.0.1:PORT; the server closes after it. */
static int http(int port, const char *method, const char *path, struct resp *r)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = 5 };
	char req[256], *buf = NULL, *sep;
	size_t len = 0, cap = 0;
	int fd, rc = -1;

	memset(r, 0, sizeof(*r));
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		goto out;
	int n = snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n",
	                 method, path);
	if (write(fd, req, (size_t)n) != n)
		goto out;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		ssize_t got = read(fd, buf + len, 4096);
		if (got < 0)
			goto out;
		if (got == 0)
			break;
		len += (size_t)got;
	}
	buf[len] = '\0';
	sep = strstr(buf, "\r\n\r\n");
	if (!sep || sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1)
		goto out;
	snprintf(r->head, sizeof(r->head), "%.*s", (int)(sep - buf), buf);
	snprintf(r->body, sizeof(r->body), "%s", sep + 4);
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

struct readiness {
	atomic_int ready;
	atomic_int calls;
};

static int ready_cb(void *arg, char *why, size_t whylen)
{
	struct readiness *s = arg;
	atomic_fetch_add(&s->calls, 1);
	if (atomic_load(&s->ready))
		return 1;
	snprintf(why, whylen, "draining\nsecond line is dropped");
	return 0;
}

static void test_http(void **state)
{
	(void)state;
	struct readiness rs;
	struct resp r;
	atomic_init(&rs.ready, 1);
	atomic_init(&rs.calls, 0);

	struct metrics_counter *c = metrics_counter(METRICS_JOBS, METRICS_JOBS_HELP,
	                                            "stage=\"finalize\",outcome=\"done\"");
	metrics_counter_incby(c, 42);

	assert_int_equal(metrics_port(), 0);
	assert_int_equal(metrics_serve("127.0.0.1", 0, ready_cb, &rs), METRICS_OK);
	int port = metrics_port();
	assert_true(port > 0);
	assert_int_equal(metrics_serve("127.0.0.1", 0, ready_cb, &rs), METRICS_EBUSY);

	assert_int_equal(http(port, "GET", "/metrics", &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.head, "text/plain; version=0.0.4"));
	assert_non_null(strstr(r.body, "# TYPE dcv_jobs_total counter\n"));
	assert_non_null(strstr(r.body, "dcv_jobs_total{stage=\"finalize\",outcome=\"done\"} 42\n"));

	/* a scrape sees updates made after the server started */
	metrics_counter_inc(c);
	assert_int_equal(http(port, "GET", "/metrics", &r), 0);
	assert_non_null(strstr(r.body, "dcv_jobs_total{stage=\"finalize\",outcome=\"done\"} 43\n"));

	assert_int_equal(http(port, "GET", "/healthz", &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "ok\n");

	assert_int_equal(http(port, "GET", "/readyz", &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "ready\n");

	atomic_store(&rs.ready, 0);
	assert_int_equal(http(port, "GET", "/readyz", &r), 0);
	assert_int_equal(r.status, 503);
	assert_string_equal(r.body, "not ready: draining\n");
	/* liveness does not depend on readiness */
	assert_int_equal(http(port, "GET", "/healthz", &r), 0);
	assert_int_equal(r.status, 200);
	atomic_store(&rs.ready, 1);
	assert_int_equal(http(port, "GET", "/readyz", &r), 0);
	assert_int_equal(r.status, 200);
	assert_true(atomic_load(&rs.calls) >= 3);

	assert_int_equal(http(port, "GET", "/nope", &r), 0);
	assert_int_equal(r.status, 404);
	assert_int_equal(http(port, "GET", "/metrics/extra", &r), 0);
	assert_int_equal(r.status, 404);
	assert_int_equal(http(port, "POST", "/metrics", &r), 0);
	assert_int_equal(r.status, 405);
	assert_int_equal(http(port, "HEAD", "/healthz", &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "");

	/* a second server cannot take a port in use */
	metrics_stop();
	int blocker = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
	socklen_t sl = sizeof(sa);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	assert_int_equal(bind(blocker, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(blocker, 1), 0);
	assert_int_equal(getsockname(blocker, (struct sockaddr *)&sa, &sl), 0);
	assert_int_equal(metrics_serve("127.0.0.1", ntohs(sa.sin_port), NULL, NULL),
	                 METRICS_EHTTP);
	close(blocker);
	assert_int_equal(metrics_port(), 0);

	/* bad arguments */
	assert_int_equal(metrics_serve("localhost", 0, NULL, NULL), METRICS_EINVAL);
	assert_int_equal(metrics_serve("127.0.0.1", 65536, NULL, NULL), METRICS_EINVAL);

	/* without a callback it is always ready */
	assert_int_equal(metrics_serve("127.0.0.1", 0, NULL, NULL), METRICS_OK);
	port = metrics_port();
	assert_int_equal(http(port, "GET", "/readyz", &r), 0);
	assert_int_equal(r.status, 200);
	metrics_stop();
	metrics_stop(); /* idempotent */
	assert_int_equal(metrics_port(), 0);
	/* nothing listens any more */
	assert_int_not_equal(http(port, "GET", "/healthz", &r), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_render_format, reset, reset),
		cmocka_unit_test_setup_teardown(test_special_values, reset, reset),
		cmocka_unit_test_setup_teardown(test_label_escaping, reset, reset),
		cmocka_unit_test_setup_teardown(test_histogram_buckets, reset, reset),
		cmocka_unit_test_setup_teardown(test_type_clash, reset, reset),
		cmocka_unit_test_setup_teardown(test_series_cap, reset, reset),
		cmocka_unit_test_setup_teardown(test_concurrency, reset, reset),
		cmocka_unit_test_setup_teardown(test_cfg_load, reset, reset),
		cmocka_unit_test_setup_teardown(test_http, reset, reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
