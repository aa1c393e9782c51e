/*
 * metrics: a small Prometheus registry and the /metrics, /healthz, /readyz
 * HTTP endpoints (served by libmicrohttpd): metrics.c holds the registry and
 * its text exposition, metrics_http.c the server and the config section.
 *
 * The registry is one per process (metrics describe the process).  A time
 * series is a metric family (name, help, type) plus one label set.  Callers
 * get a handle for a series once, then update it on the hot path with one
 * atomic operation and no lock:
 *
 *     struct metrics_counter *advanced = metrics_counter(METRICS_JOBS,
 *             METRICS_JOBS_HELP, "stage=\"finalize\",outcome=\"advance\"");
 *     ...
 *     metrics_counter_inc(advanced);          // per job: one atomic add
 *
 * Labels are given as the literal text between the braces of the exposition
 * format, values already escaped; metrics_labels() builds that text from
 * values that come from outside (an ACME problem type, say).  The label text
 * is checked when a series is created, and a series is created at most once:
 * asking again for the same family and labels returns the same handle.
 *
 * Handles live until metrics_reset() (tests only), so workers may keep them
 * in static or per-thread storage.  Every update function accepts NULL and
 * does nothing, so a failed registration (bad name, type clash, series cap
 * reached) degrades to a missing metric, never to a crash; a failed
 * registration is logged at warn level (the series cap only the first time).
 *
 * Thread-safety: every function may be called from any thread, except
 * metrics_reset().  Creation and rendering take one mutex; updates through a
 * handle are lock-free atomics.  A scrape sees each value atomically but not
 * a snapshot across series (a histogram's _count is derived from its buckets
 * in the same pass, so the two always agree).
 *
 * Cardinality is capped (METRICS_MAX_SERIES) because some label values come
 * from remote peers; series beyond the cap are refused and counted in
 * dcv_metrics_series_dropped_total.
 */
#ifndef DCV_METRICS_H
#define DCV_METRICS_H

#include <stddef.h>

struct cfg;

/* Metric families the worker emits (name, help).  Labels in comments. */
#define METRICS_JOBS "dcv_jobs_total" /* {stage,outcome} */
#define METRICS_JOBS_HELP "Jobs handled, by stage and outcome (advance, retry, done, fail)."
#define METRICS_HANDLER_SECONDS "dcv_handler_seconds" /* {stage} histogram */
#define METRICS_HANDLER_SECONDS_HELP "Time spent in a stage handler per job, in seconds."
#define METRICS_IN_FLIGHT "dcv_jobs_in_flight" /* {stage} gauge */
#define METRICS_IN_FLIGHT_HELP "Jobs currently held by this worker, by stage."
#define METRICS_RETRIES "dcv_retries_total" /* {stage,reason} */
#define METRICS_RETRIES_HELP "Jobs scheduled for a retry, by stage and reason."
#define METRICS_DEAD_LETTERS "dcv_dead_letters_total" /* {stage,reason} */
#define METRICS_DEAD_LETTERS_HELP "Jobs moved to the dead-letter stream, by stage and reason."
#define METRICS_ACME_PROBLEMS "dcv_acme_problems_total" /* {type} */
#define METRICS_ACME_PROBLEMS_HELP "ACME problem documents received, by problem type."
#define METRICS_DNS_CHECKS "dcv_dns_checks_total" /* {check,status} */
#define METRICS_DNS_CHECKS_HELP "DNS checks (delegation, propagation, pointing), by result."
#define METRICS_REDIS_RECONNECTS "dcv_redis_reconnects_total" /* no labels */
#define METRICS_REDIS_RECONNECTS_HELP "Reconnections to Redis after a lost connection."
#define METRICS_RATELIMIT_WAITS "dcv_ratelimit_waits_total" /* {bucket} */
#define METRICS_RATELIMIT_WAITS_HELP "Jobs deferred by the rate limiter, by bucket."
#define METRICS_CA_HEALTHY "dcv_ca_healthy" /* {ca} gauge */
#define METRICS_CA_HEALTHY_HELP "1 while the CA's fleet-wide health record (<prefix>:ca:<name>) says healthy, 0 while unhealthy, as this worker last read or wrote it."
#define METRICS_CA_ORDERS "dcv_ca_orders_total" /* {ca,why} */
#define METRICS_CA_ORDERS_HELP "New orders the CA answered, by CA and why it was chosen (preferred, fallback, renewal)."
#define METRICS_CA_FAILURES "dcv_ca_failures_total" /* {ca,kind} */
#define METRICS_CA_FAILURES_HELP "Failures counted against a CA's health, by CA and kind (outage: no answer or 5xx; account: the account refused)."
#define METRICS_CA_UNHEALTHY "dcv_ca_unhealthy_total" /* {ca} */
#define METRICS_CA_UNHEALTHY_HELP "Failures that left a CA marked unhealthy fleet-wide."
#define METRICS_CA_WAITS "dcv_ca_ratelimit_waits_total" /* {ca,bucket} */
#define METRICS_CA_WAITS_HELP "Jobs deferred by a CA's rate-limit buckets, by CA and bucket (new_orders, failed_authz, ca, ca_outage)."
#define METRICS_WORKER_READY "dcv_worker_ready" /* gauge */
#define METRICS_WORKER_READY_HELP "1 while this worker is ready (/readyz: Redis reachable, not draining), else 0."
#define METRICS_DNS_PROVIDER "dcv_dns_provider_requests_total" /* {provider,op,result} */
#define METRICS_DNS_PROVIDER_HELP "TXT updates sent to the DNS provider, by operation (add, remove) and result (ok, transient, permanent, invalid)."

/* Fleet-wide gauges, read from Redis by every worker's maintenance thread
 * (workers/fleet_gauges.h): every worker reports the same values, so take
 * max() over the instances. */
#define METRICS_STREAM_LAG "dcv_stream_lag" /* {stage} gauge */
#define METRICS_STREAM_LAG_HELP "Entries of the stage stream not yet delivered to the consumer group (XINFO GROUPS lag); -1 when Redis cannot tell."
#define METRICS_STREAM_PENDING "dcv_stream_pending" /* {stage} gauge */
#define METRICS_STREAM_PENDING_HELP "Entries of the stage stream delivered and not yet acknowledged."
#define METRICS_OLDEST_PENDING "dcv_stream_oldest_pending_seconds" /* {stage} gauge */
#define METRICS_OLDEST_PENDING_HELP "Time since the oldest pending entry of the stage was last delivered (0 when none is pending)."
#define METRICS_DELAYED "dcv_delayed_jobs" /* gauge */
#define METRICS_DELAYED_HELP "Jobs waiting in the delayed set for their due time."
#define METRICS_REDIS_NOEVICTION "dcv_redis_noeviction" /* gauge */
#define METRICS_REDIS_NOEVICTION_HELP "1 when Redis's maxmemory-policy is noeviction, 0 when Redis may evict keys (and lose jobs)."
#define METRICS_REDIS_USED_MEMORY "dcv_redis_used_memory_bytes" /* gauge */
#define METRICS_REDIS_USED_MEMORY_HELP "Redis used_memory (INFO memory)."
#define METRICS_REDIS_MAXMEMORY "dcv_redis_maxmemory_bytes" /* gauge */
#define METRICS_REDIS_MAXMEMORY_HELP "Redis maxmemory (INFO memory); 0 means no limit."
#define METRICS_DOMAINS "dcv_domains" /* {state} gauge */
#define METRICS_DOMAINS_HELP "Domain records by lifecycle state, from the count the transition scripts keep in <prefix>:states."
#define METRICS_CERTS_EXPIRING "dcv_certificates_expiring" /* {within,renewal} gauge */
#define METRICS_CERTS_EXPIRING_HELP "Certificates of domains still ours (not offboarded, parked or released) whose not_after is before now + within (expired ones included), by whether a renewal is under way."
#define METRICS_VISIBILITY "dcv_worker_visibility_timeout_seconds" /* gauge */
#define METRICS_VISIBILITY_HELP "worker.visibility_timeout_ms of this worker, in seconds: a pending entry idle longer is reclaimed."
#define METRICS_GAUGES_UPDATED "dcv_fleet_gauges_updated_timestamp_seconds" /* gauge */
#define METRICS_GAUGES_UPDATED_HELP "When this worker last read the fleet gauges from Redis (unix seconds)."

/* Bucket upper bounds (seconds) for METRICS_HANDLER_SECONDS: handlers do not
 * sleep, so most finish in milliseconds; the top buckets catch slow peers. */
extern const double metrics_handler_buckets[];
extern const size_t metrics_handler_nbuckets;

/* Limits: families, series over all families, buckets per histogram, bytes
 * of a label text, bytes of one rendered exposition. */
#define METRICS_MAX_FAMILIES 128
#define METRICS_MAX_SERIES 4096
#define METRICS_MAX_BUCKETS 32
#define METRICS_MAX_LABELS_LEN 512
#define METRICS_MAX_RENDER (8 * 1024 * 1024)

enum metrics_status {
	METRICS_OK = 0,
	METRICS_EINVAL,  /* bad name, label text, bounds or address */
	METRICS_ETYPE,   /* the family exists with another type or buckets */
	METRICS_EFULL,   /* family or series cap reached */
	METRICS_ENOMEM,
	METRICS_ETOOBIG, /* label text or exposition over its cap */
	METRICS_EHTTP,   /* the HTTP server could not start (port in use...) */
	METRICS_EBUSY,   /* metrics_serve() called while already serving */
};

const char *metrics_strerror(enum metrics_status st);

/* Opaque handles to one series of a counter, gauge or histogram family. */
struct metrics_counter;
struct metrics_gauge;
struct metrics_histogram;

/* Returns the counter series NAME{LABELS}, creating the family (with HELP,
 * copied; the first caller's help wins) and the series (starting at 0) if
 * needed.  LABELS is "" or NULL for none, else text like
 * `stage="finalize",outcome="advance"` (escaped, see metrics_labels()).
 * Returns NULL on error.  The handle stays valid until metrics_reset(). */
struct metrics_counter *metrics_counter(const char *name, const char *help,
                                        const char *labels);

/* Adds 1, or V (which must be >= 0; negative or NaN values are ignored).
 * Lock-free; C may be NULL. */
void metrics_counter_inc(struct metrics_counter *c);
void metrics_counter_incby(struct metrics_counter *c, double v);

/* Looks up (or creates) the series and adds V: for occasional events whose
 * labels are not known in advance.  Takes the registry lock; per-job code
 * should keep a handle instead. */
enum metrics_status metrics_counter_add(const char *name, const char *help,
                                        const char *labels, double v);

/* Gauge series, as metrics_counter(); set or add (V may be negative). */
struct metrics_gauge *metrics_gauge(const char *name, const char *help,
                                    const char *labels);
void metrics_gauge_set(struct metrics_gauge *g, double v);
void metrics_gauge_add(struct metrics_gauge *g, double v);

/* Histogram series with the NBOUNDS upper bounds in BOUNDS (strictly
 * increasing, finite, at most METRICS_MAX_BUCKETS; +Inf is implicit).  The
 * first registration fixes the family's bounds; a later call with other
 * bounds fails with NULL.  LABELS must not use "le".  BOUNDS is copied. */
struct metrics_histogram *metrics_histogram(const char *name, const char *help,
                                            const char *labels,
                                            const double *bounds, size_t nbounds);

/* Counts V in the first bucket whose bound is >= V (and in _sum, _count).
 * NaN is ignored.  Lock-free; H may be NULL. */
void metrics_observe(struct metrics_histogram *h, double v);

/* Builds label text from NULL-terminated (name, value) pairs into BUF,
 * escaping each value (backslash, double quote and newline, as the text
 * format requires):
 *     metrics_labels(buf, sizeof buf, "type", problem_type, NULL);
 * gives `type="urn:ietf:params:acme:error:rateLimited"`.  Returns
 * METRICS_ETOOBIG if it does not fit (BUF then holds ""), METRICS_EINVAL for a
 * bad label name. */
enum metrics_status metrics_labels(char *buf, size_t len, ...)
	__attribute__((sentinel));

/* The whole registry in the Prometheus text format 0.0.4: families sorted by
 * name, series by label text, with HELP and TYPE lines.  Returns a malloc'd
 * NUL-terminated string the caller frees (and its length in *LEN if LEN is
 * not NULL), or NULL if out of memory or over METRICS_MAX_RENDER. */
char *metrics_render(size_t *len);

/* Frees every family and series and invalidates every handle.  For tests
 * and the very end of a process; no other thread may use the registry. */
void metrics_reset(void);

/* Readiness callback: returns nonzero when ready; when not, may write a short
 * one-line reason into WHY (WHYLEN bytes), e.g. "redis unreachable" or
 * "draining".  Called on the HTTP server's thread for every /readyz, so it
 * must be thread-safe and quick (read flags, do no I/O). */
typedef int (*metrics_ready_fn)(void *arg, char *why, size_t whylen);

/* Starts the HTTP server on ADDR (an IPv4 or IPv6 literal; NULL means
 * 0.0.0.0) and PORT (0 picks a free port, see metrics_port()) in its own
 * thread:
 *   GET /metrics  200, metrics_render() as text/plain; version=0.0.4
 *   GET /healthz  200 "ok" while the process runs
 *   GET /readyz   200 "ready", or 503 "not ready: <reason>" when READY(ARG)
 *                 returns 0; READY may be NULL (always ready)
 *   other paths   404; methods other than GET and HEAD 405.
 * ARG is borrowed until metrics_stop() returns.  One server per process. */
enum metrics_status metrics_serve(const char *addr, int port,
                                  metrics_ready_fn ready, void *arg);

/* The port the server listens on, or 0 when not serving. */
int metrics_port(void);

/* Stops the server and waits for its thread; a no-op when not serving. */
void metrics_stop(void);

/* The metrics section of the configuration. */
struct metrics_opts {
	int port;            /* metrics.port, default 9464; 0 = no server */
	char address[64];    /* metrics.address, default "0.0.0.0" */
};

/* Reads metrics.port and metrics.address from C into OUT (defaults where
 * absent).  Bad values are recorded in C (see cfg_error()); returns
 * METRICS_EINVAL when the address is bad or this call recorded C's first
 * error. */
enum metrics_status metrics_cfg_load(struct cfg *c, struct metrics_opts *out);

#endif
