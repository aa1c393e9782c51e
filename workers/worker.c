/*
 * worker: the runtime's threads (see worker.h).  Each worker thread loops
 * read-batch -> settle every entry -> commit-and-read-next; settling an
 * entry is plan.c's decision around the handler's call; the maintenance
 * thread promotes, trims and reads the fleet's gauges.  All state lives in
 * one struct worker.
 */
#include "worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "deadline.h"
#include "fleet_gauges.h"
#include "log.h"
#include "metrics.h"
#include "plan.h"

/* The runtime's metric handles, looked up once at start; NULL handles are
 * no-ops. */
struct worker_metrics {
	struct metrics_counter *jobs[STAGE_COUNT][OUT_FAIL + 1];
	struct metrics_histogram *seconds[STAGE_COUNT];
	struct metrics_gauge *in_flight[STAGE_COUNT];
	/* by enum plan_count ([PLAN_COUNT_NONE] stays NULL) */
	struct metrics_counter *counts[STAGE_COUNT][PLAN_COUNT_DEAD_BAD_JOB + 1];
	struct metrics_counter *reconnects;
	struct metrics_gauge *ready;
};

/* One worker thread: its connection, its random state, and the plans and
 * commits of the entries it holds. */
struct wthread {
	pthread_t tid;
	unsigned index;
	struct worker *w;              /* the runtime it belongs to */
	struct queue *q;
	uint64_t rnd;                  /* xorshift state (stage_rand) */
	size_t cap;                    /* plans and commits */
	struct plan *plans;
	struct queue_commit *commits;  /* commits[i] borrows from plans[i] */
	size_t n;                      /* commits prepared */
	struct queue_batch batch[2];   /* the one being settled, the next one */
	unsigned cur;
};

/* The maintenance thread: promotes due delayed jobs, trims the streams,
 * reads the fleet's gauges. */
struct maint {
	pthread_t tid;
	struct worker *w;
	struct queue *q;
	atomic_int stop;
	uint64_t next_trim, next_gauges;  /* CLOCK_MONOTONIC ms */
};

struct worker {
	struct worker_cfg cfg;
	const struct worker_app *app;
	void *deps;                  /* borrowed */
	atomic_int stopping;         /* set by worker_stop(): drain */
	atomic_int redis_down;       /* connections currently lost (/readyz) */
	struct worker_metrics mx;
	pthread_mutex_t done_mu;     /* guards threads_done */
	pthread_cond_t done_cv;      /* signalled when a thread ends */
	int threads_done;
	struct wthread *threads;     /* cfg.concurrency of them */
	int started;                 /* worker threads running or ended */
	struct maint m;
	bool maint_started;
	bool serving;                /* the metrics server is ours to stop */
	char name[128];              /* "<host>-<pid>", the consumers' prefix */
};

const char *outcome_name(enum outcome_kind k)
{
	static const char *const names[OUT_FAIL + 1] = {
		[OUT_NONE] = "none",
		[OUT_ADVANCE] = "advance",
		[OUT_RETRY] = "retry",
		[OUT_DONE] = "done",
		[OUT_FAIL] = "fail",
	};
	return (unsigned)k <= OUT_FAIL ? names[k] : names[OUT_NONE];
}

int64_t worker_backoff_ceiling(const struct stage_policy *p, uint32_t attempt)
{
	long long ceiling = p->base_ms;
	for (uint32_t i = 1; i < attempt && ceiling < p->cap_ms; i++)
		ceiling *= 2;
	return ceiling > p->cap_ms ? p->cap_ms : ceiling;
}

int64_t worker_backoff(const struct stage_policy *p, uint32_t attempt,
                       uint64_t rnd)
{
	return (int64_t)(rnd % (uint64_t)(worker_backoff_ceiling(p, attempt) + 1));
}

void outcome_advance(struct outcome *o, enum stage next)
{
	o->kind = OUT_ADVANCE;
	o->next = next;
	o->delay_ms = 0;
}

void outcome_done(struct outcome *o)
{
	o->kind = OUT_DONE;
}

void outcome_retry(struct outcome *o, int64_t delay_ms, const char *fmt, ...)
{
	va_list ap;
	o->kind = OUT_RETRY;
	o->delay_ms = delay_ms;
	va_start(ap, fmt);
	vsnprintf(o->reason, sizeof(o->reason), fmt, ap);
	va_end(ap);
}

void outcome_fail(struct outcome *o, const char *fmt, ...)
{
	va_list ap;
	o->kind = OUT_FAIL;
	va_start(ap, fmt);
	vsnprintf(o->reason, sizeof(o->reason), fmt, ap);
	va_end(ap);
}

void outcome_state(struct outcome *o, enum domain_state s)
{
	o->state = domain_state_name(s);
}

void outcome_keep_state(struct outcome *o)
{
	o->state = "";
}

void outcome_event(struct outcome *o, enum domain_event e)
{
	o->event = domain_event_name(e);
}

int outcome_event_field(struct outcome *o, const char *name, const char *value)
{
	static const char *const reserved[] = { "type", "domain", "detail", "time" };
	size_t nl = strlen(name), have = strlen(o->fields);

	if (nl == 0 || nl > 32 || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != nl)
		return -1;
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strcmp(name, reserved[i]) == 0)
			return -1;
	for (const unsigned char *v = (const unsigned char *)value; *v; v++)
		if (*v < 0x20 || *v == 0x7f)
			return -1;
	if (have + nl + strlen(value) + 3 > sizeof(o->fields))
		return -1;
	snprintf(o->fields + have, sizeof(o->fields) - have, "%s\n%s\n", name, value);
	return 0;
}

static uint64_t xorshift(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ULL;  /* 0 is a fixed point */
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

uint64_t stage_rand(struct stage_env *env)
{
	if (env->rnd)
		return xorshift(env->rnd);
	uint64_t s = env->now_ms * 0x9e3779b97f4a7c15ULL;
	return xorshift(&s);
}

/* ---- settling one entry ---- */

/* Runs the handler of E's stage over JOB into OUT (zeroed here), under its
 * deadline: worker.job_timeout_ms from its start, or BATCH_END (CLOCK_
 * MONOTONIC ms, when the batch must be done for its commit to come before
 * any reclaim) if sooner.  An entry left less than half of its time is not
 * run (plan_unrun).  Returns whether it ran; *DUR gets the handler's time
 * in ms (-1 when not run). */
static bool run_handler(struct wthread *t, const struct queue_entry *e,
                        struct job *job, uint64_t now, long long batch_end,
                        struct outcome *out, long *dur)
{
	struct worker *w = t->w;
	const struct worker_cfg *cfg = &w->cfg;
	long long start = deadline_now_ms(), deadline = start + cfg->job_timeout_ms;
	struct timespec t0, t1;

	if (deadline > batch_end)
		deadline = batch_end;
	memset(out, 0, sizeof(*out));
	out->delay_ms = -1;
	*dur = -1;
	if (!plan_runs(deadline - start, cfg->job_timeout_ms)) {
		plan_unrun(out, deadline - start, cfg->job_timeout_ms);
		return false;
	}
	struct stage_env env = {
		.cfg = cfg, .stage = e->stage, .now_ms = now, .thread = t->index,
		.deps = w->deps, .q = t->q, .entry = e->id, .deadline_ms = deadline,
		.rnd = &t->rnd,
	};
	stage_fn fn = w->app->stages[e->stage];
	clock_gettime(CLOCK_MONOTONIC, &t0);
	metrics_gauge_add(w->mx.in_flight[e->stage], 1);
	if (fn)
		fn(&env, job, out);
	else
		outcome_fail(out, "%s serves no handler for stage %s", w->app->name,
		             stage_name(e->stage));
	metrics_gauge_add(w->mx.in_flight[e->stage], -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	*dur = (long)(secs * 1000);
	metrics_observe(w->mx.seconds[e->stage], secs);
	if ((unsigned)out->kind <= OUT_FAIL)
		metrics_counter_inc(w->mx.jobs[e->stage][out->kind]);
	long long over = deadline_now_ms() - deadline;
	if (over > 100) {
		/* a call that ignores the deadline: the entry may have been
		 * reclaimed meanwhile (the commit of one of the two is dropped) */
		struct log_job lj = { stage_name(e->stage), job->id, job->domain, NULL, *dur };
		log_jobmsg(LOG_WARN, &lj, "the handler returned %lld ms after its deadline",
		           over);
	}
	return true;
}

/* Counts and logs what P settles (DUR: the handler's time, -1 if none). */
static void account(struct worker *w, enum stage s, const struct plan *p,
                    const struct queue_commit *c, long dur)
{
	char msg[PLAN_REASON_MAX + 96];

	metrics_counter_inc(w->mx.counts[s][p->count]);
	if (!log_enabled(p->log_level))
		return;
	plan_describe(p, c, msg, sizeof(msg));
	struct log_job lj = { stage_name(s), p->bad ? NULL : p->job_id, p->domain,
	                      p->log_outcome, dur };
	log_jobmsg(p->log_level, &lj, "%s", msg);
}

/* Decodes entry E, runs its handler and prepares its commit (plan.h).
 * BATCH_END: see run_handler(). */
static void settle(struct wthread *t, const struct queue_entry *e, long long batch_end)
{
	struct worker *w = t->w;
	struct plan *p = &t->plans[t->n];
	struct queue_commit *c = &t->commits[t->n];
	struct job job;
	struct outcome out;
	char why[256];
	uint64_t now = queue_now_ms();
	struct plan_in in = { .entry = e, .policy = &w->cfg.policy[e->stage], .now_ms = now };
	long dur = -1;

	t->n++;
	if (plan_decode(e, (size_t)w->cfg.job_max_bytes, now, &job, why, sizeof(why))) {
		in.ran = run_handler(t, e, &job, now, batch_end, &out, &dur);
		in.job = &job;
		in.out = &out;
		in.rnd = xorshift(&t->rnd);
	} else {
		in.bad = why;
	}
	plan_build(&in, p, c);
	account(w, e->stage, p, c, dur);
	if (in.job)
		job_clear(&job);
}

static void release_commits(struct wthread *t)
{
	for (size_t i = 0; i < t->n; i++)
		plan_release(&t->plans[i]);
	t->n = 0;
}

/* Sends the prepared commits, reading the next batch unless COUNT is 0.
 * Returns the exchange status; the next batch is t->batch[t->cur]. */
static enum queue_status exchange(struct wthread *t, size_t count, int history)
{
	const struct worker_cfg *cfg = &t->w->cfg;
	size_t applied = 0;
	unsigned next = t->cur ^ 1;
	enum queue_status st = queue_exchange(t->q, t->commits, t->n, &applied,
	                                      cfg->stage_mask, count, cfg->block_ms,
	                                      history, &t->batch[next]);
	if (st == Q_OK && applied < t->n)
		log_msg(LOG_INFO, "%zu of %zu entries had already been settled by another worker",
		        t->n - applied, t->n);
	/* Whatever did not take effect (an I/O error) is still pending in
	 * Redis and is read again from this consumer's history. */
	release_commits(t);
	queue_batch_reset(&t->batch[t->cur]);
	t->cur = next;
	return st;
}

/* Settles the entries of B, read at READ_AT (CLOCK_MONOTONIC ms, when the
 * read returned: Redis delivered them one reply's transit earlier, which
 * the quarter of the visibility timeout left after the job budget covers,
 * with the commit). */
static void settle_batch(struct wthread *t, const struct queue_batch *b, long long read_at)
{
	long long end = read_at + worker_job_budget_ms(&t->w->cfg);
	for (size_t i = 0; i < b->n && t->n < t->cap; i++)
		settle(t, &b->e[i], end);
}

/* Claims entries left idle by dead workers and settles them at once. */
static enum queue_status reclaim(struct wthread *t)
{
	const struct worker_cfg *cfg = &t->w->cfg;
	struct queue_batch rb = { 0 };
	enum queue_status st = Q_OK;

	for (int s = 0; s < STAGE_COUNT && st == Q_OK; s++) {
		if (!(cfg->stage_mask & (1u << s)))
			continue;
		st = queue_reclaim(t->q, (enum stage)s, cfg->visibility_ms,
		                   (size_t)cfg->batch, &rb);
		long long read_at = deadline_now_ms();
		if (st != Q_OK || rb.n == 0)
			continue;
		log_msg(LOG_INFO, "reclaimed %zu idle entries of %s", rb.n,
		        stage_name((enum stage)s));
		settle_batch(t, &rb, read_at);
		size_t applied;
		st = queue_exchange(t->q, t->commits, t->n, &applied, 0, 0, 0, 0, NULL);
		release_commits(t);
	}
	queue_batch_free(&rb);
	return st;
}

/* Waits for Redis again after an I/O error on Q (counted in redis_down,
 * for /readyz).  Returns Q_OK once reconnected, else the runtime stops. */
static enum queue_status reconnect(struct worker *w, struct queue *q, const atomic_int *stop)
{
	atomic_fetch_add(&w->redis_down, 1);
	enum queue_status st = queue_reconnect(q, stop);
	atomic_fetch_sub(&w->redis_down, 1);
	if (st == Q_OK)
		metrics_counter_inc(w->mx.reconnects);
	return st;
}

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void mark_done(struct worker *w)
{
	pthread_mutex_lock(&w->done_mu);
	w->threads_done++;
	pthread_cond_broadcast(&w->done_cv);
	pthread_mutex_unlock(&w->done_mu);
}

static void *worker_thread(void *arg)
{
	struct wthread *t = arg;
	struct worker *w = t->w;
	const struct worker_cfg *cfg = &w->cfg;
	uint64_t next_reclaim = (uint64_t)deadline_now_ms() + (uint64_t)cfg->reclaim_interval_ms;
	int history = 0;

	for (;;) {
		int stop = atomic_load(&w->stopping);
		if (stop && t->n == 0)
			break;
		enum queue_status st = exchange(t, stop ? 0 : (size_t)cfg->batch, history);
		long long read_at = deadline_now_ms();
		if (st == Q_E_IO) {
			log_msg(LOG_WARN, "thread %u: %s", t->index, queue_errstr(t->q));
			if (reconnect(w, t->q, &w->stopping) != Q_OK)
				break;
			if (queue_ensure_groups(t->q) != Q_OK)
				log_msg(LOG_WARN, "%s", queue_errstr(t->q));
			history = 1; /* re-read what was delivered to us before */
			continue;
		}
		if (st != Q_OK) {
			log_msg(LOG_ERROR, "thread %u: %s", t->index, queue_errstr(t->q));
			if (strstr(queue_errstr(t->q), "NOGROUP"))
				queue_ensure_groups(t->q);
			pause_ms(200);
			history = 1;
			continue;
		}
		const struct queue_batch *b = &t->batch[t->cur];
		history = history && b->n > 0; /* until our own backlog is empty */
		settle_batch(t, b, read_at);
		if (!stop && (uint64_t)deadline_now_ms() >= next_reclaim) {
			/* settle what we hold first: reclaim uses the slots */
			if (t->n && exchange(t, 0, 0) != Q_OK)
				continue;
			if (reclaim(t) == Q_E_IO)
				continue;
			next_reclaim = (uint64_t)deadline_now_ms() + (uint64_t)cfg->reclaim_interval_ms;
		}
	}
	release_commits(t);
	mark_done(w);
	return NULL;
}

/* ---- the maintenance thread ---- */

/* /readyz: ready while every connection is up and we are not draining. */
static int worker_ready(void *arg, char *why, size_t whylen)
{
	struct worker *w = arg;
	if (atomic_load(&w->stopping)) {
		snprintf(why, whylen, "draining");
		return 0;
	}
	if (atomic_load(&w->redis_down) > 0) {
		snprintf(why, whylen, "redis unreachable");
		return 0;
	}
	return 1;
}

/* dcv_worker_ready follows /readyz.  The maintenance thread sets it on every
 * round and clears it before it waits for Redis; it talks to Redis every
 * promote interval, so it sees an outage as soon as the workers do. */
static void ready_update(struct worker *w)
{
	char why[64];
	metrics_gauge_set(w->mx.ready, worker_ready(w, why, sizeof(why)) ? 1 : 0);
}

/* Moves every due delayed job to its stream, 1000 per call. */
static enum queue_status promote_due(struct maint *m)
{
	long long moved = 0;
	enum queue_status st;
	do {
		st = queue_promote(m->q, queue_now_ms(), 1000, &moved);
	} while (st == Q_OK && moved == 1000 && !atomic_load(&m->stop));
	return st;
}

/* Trims the stage streams, every worker.trim_interval_ms. */
static enum queue_status trim_streams(struct maint *m)
{
	enum queue_status st = Q_OK;
	if ((uint64_t)deadline_now_ms() < m->next_trim)
		return Q_OK;
	for (int s = 0; s < STAGE_COUNT && st == Q_OK; s++) {
		long long trimmed;
		st = queue_trim(m->q, (enum stage)s, m->w->cfg.consumer_idle_ms, &trimmed);
	}
	m->next_trim = (uint64_t)deadline_now_ms() + (uint64_t)m->w->cfg.trim_interval_ms;
	return st;
}

/* The fleet's gauges for the alerts (fleet_gauges.h), every
 * FLEET_GAUGES_INTERVAL_MS; a failed read costs the gauges, not the
 * maintenance. */
static enum queue_status read_gauges(struct maint *m)
{
	char err[256];
	if ((uint64_t)deadline_now_ms() < m->next_gauges)
		return Q_OK;
	enum queue_status st = fleet_gauges_update(m->q, m->w->cfg.q.group, err, sizeof(err));
	if (st == Q_E_REPLY) {
		log_msg(LOG_WARN, "maintenance: %s", err);
		st = Q_OK;
	}
	m->next_gauges = (uint64_t)deadline_now_ms() + FLEET_GAUGES_INTERVAL_MS;
	return st;
}

static void *maint_thread(void *arg)
{
	struct maint *m = arg;
	struct worker *w = m->w;

	while (!atomic_load(&m->stop)) {
		ready_update(w);
		enum queue_status st = promote_due(m);
		if (st == Q_OK)
			st = trim_streams(m);
		if (st == Q_OK)
			st = read_gauges(m);
		if (st == Q_E_IO) {
			log_msg(LOG_WARN, "maintenance: %s", queue_errstr(m->q));
			metrics_gauge_set(w->mx.ready, 0);
			if (reconnect(w, m->q, &m->stop) != Q_OK)
				break;
		} else if (st != Q_OK) {
			log_msg(LOG_ERROR, "maintenance: %s", queue_errstr(m->q));
		}
		for (long long slept = 0; slept < w->cfg.promote_interval_ms &&
		     !atomic_load(&m->stop); slept += 10)
			pause_ms(10);
	}
	return NULL;
}

/* ---- start and stop ---- */

static void metrics_setup(struct worker_metrics *mx)
{
	static const struct { enum plan_count c; const char *family, *help, *reason; } counts[] = {
		{ PLAN_COUNT_RETRY_BACKOFF, METRICS_RETRIES, METRICS_RETRIES_HELP, "backoff" },
		{ PLAN_COUNT_RETRY_AFTER, METRICS_RETRIES, METRICS_RETRIES_HELP, "retry_after" },
		{ PLAN_COUNT_DEAD_BAD_JOB, METRICS_DEAD_LETTERS, METRICS_DEAD_LETTERS_HELP, "bad_job" },
		{ PLAN_COUNT_DEAD_FAILED, METRICS_DEAD_LETTERS, METRICS_DEAD_LETTERS_HELP, "failed" },
	};
	char l[128];

	memset(mx, 0, sizeof(*mx));
	for (int s = 0; s < STAGE_COUNT; s++) {
		const char *st = stage_name((enum stage)s);
		for (int k = OUT_NONE; k <= OUT_FAIL; k++) {
			snprintf(l, sizeof(l), "stage=\"%s\",outcome=\"%s\"", st, outcome_name((enum outcome_kind)k));
			mx->jobs[s][k] = metrics_counter(METRICS_JOBS, METRICS_JOBS_HELP, l);
		}
		snprintf(l, sizeof(l), "stage=\"%s\"", st);
		mx->seconds[s] = metrics_histogram(METRICS_HANDLER_SECONDS,
		                                   METRICS_HANDLER_SECONDS_HELP, l,
		                                   metrics_handler_buckets,
		                                   metrics_handler_nbuckets);
		mx->in_flight[s] = metrics_gauge(METRICS_IN_FLIGHT, METRICS_IN_FLIGHT_HELP, l);
		for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
			snprintf(l, sizeof(l), "stage=\"%s\",reason=\"%s\"", st, counts[i].reason);
			mx->counts[s][counts[i].c] = metrics_counter(counts[i].family,
			                                             counts[i].help, l);
		}
	}
	mx->reconnects = metrics_counter(METRICS_REDIS_RECONNECTS,
	                                 METRICS_REDIS_RECONNECTS_HELP, "");
	mx->ready = metrics_gauge(METRICS_WORKER_READY, METRICS_WORKER_READY_HELP, "");
}

/* A connection named "<host>-<pid>-<SUFFIX>". */
static struct queue *open_queue(const struct worker *w, const char *suffix)
{
	struct queue_opts o = w->cfg.q;
	char err[256], consumer[192];
	snprintf(consumer, sizeof(consumer), "%s-%s", w->name, suffix);
	o.consumer = consumer;
	struct queue *q = queue_open(&o, err, sizeof(err));
	if (!q)
		log_msg(LOG_ERROR, "%s", err);
	return q;
}

/* Opens the maintenance connection and checks that Redis keeps what it is
 * given (maxmemory-policy) and that the consumer groups exist. */
static int check_redis(struct worker *w)
{
	char policy[64];

	if (!(w->m.q = open_queue(w, "m")))
		return -1;
	if (queue_eviction_policy(w->m.q, policy, sizeof(policy)) != Q_OK) {
		log_msg(LOG_ERROR, "%s", queue_errstr(w->m.q));
		return -1;
	}
	if (strcmp(policy, "noeviction") != 0) {
		int refuse = strcmp(w->cfg.eviction_check, "refuse") == 0;
		log_msg(refuse ? LOG_ERROR : LOG_WARN,
		        "redis maxmemory-policy is %s: redis may evict keys and lose jobs; "
		        "set maxmemory-policy noeviction%s", policy,
		        refuse ? " (or redis.eviction_check: warn to run anyway)" : "");
		if (refuse)
			return -1;
	}
	if (queue_ensure_groups(w->m.q) != Q_OK) {
		log_msg(LOG_ERROR, "%s", queue_errstr(w->m.q));
		return -1;
	}
	return 0;
}

static int serve_metrics(struct worker *w)
{
	const struct metrics_opts *mo = &w->cfg.metrics;

	metrics_setup(&w->mx);
	fleet_gauges_setup(w->cfg.visibility_ms);
	if (mo->port <= 0)
		return 0;
	enum metrics_status ms = metrics_serve(mo->address, mo->port, worker_ready, w);
	if (ms != METRICS_OK) {
		log_msg(LOG_ERROR, "cannot serve metrics on %s:%d: %s", mo->address,
		        mo->port, metrics_strerror(ms));
		return -1;
	}
	w->serving = true;
	log_msg(LOG_INFO, "serving /metrics, /healthz, /readyz on %s:%d",
	        mo->address, metrics_port());
	return 0;
}

/* Prepares the worker threads (connections, buffers, random seeds), then
 * starts them and the maintenance thread. */
static int start_threads(struct worker *w)
{
	const struct worker_cfg *cfg = &w->cfg;
	char suffix[16];

	if (!(w->threads = calloc((size_t)cfg->concurrency, sizeof(*w->threads))))
		return -1;
	for (int i = 0; i < cfg->concurrency; i++) {
		struct wthread *t = &w->threads[i];
		t->index = (unsigned)i;
		t->w = w;
		t->cap = (size_t)cfg->batch * STAGE_COUNT;
		t->plans = calloc(t->cap, sizeof(*t->plans));
		t->commits = calloc(t->cap, sizeof(*t->commits));
		if (getrandom(&t->rnd, sizeof(t->rnd), 0) < 0 || t->rnd == 0)
			t->rnd = 0x9e3779b97f4a7c15ULL ^ (uint64_t)i;
		snprintf(suffix, sizeof(suffix), "%d", i);
		if (!t->plans || !t->commits || !(t->q = open_queue(w, suffix)))
			return -1;
	}
	for (int i = 0; i < cfg->concurrency; i++, w->started++)
		if (pthread_create(&w->threads[i].tid, NULL, worker_thread, &w->threads[i]) != 0)
			return -1;
	w->m.w = w;
	if (pthread_create(&w->m.tid, NULL, maint_thread, &w->m) != 0)
		return -1;
	w->maint_started = true;
	return 0;
}

struct worker *worker_start(const struct worker_cfg *cfg,
                            const struct worker_app *app, void *deps)
{
	struct worker *w = calloc(1, sizeof(*w));
	char host[64];

	if (!w) {
		log_msg(LOG_ERROR, "out of memory");
		return NULL;
	}
	w->cfg = *cfg;
	w->app = app;
	w->deps = deps;
	pthread_mutex_init(&w->done_mu, NULL);
	pthread_cond_init(&w->done_cv, NULL);
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "worker");
	host[sizeof(host) - 1] = '\0';
	snprintf(w->name, sizeof(w->name), "%s-%ld", host, (long)getpid());
	if (check_redis(w) != 0 || serve_metrics(w) != 0 || start_threads(w) != 0) {
		/* threads already started end after their batch (handlers have
		 * deadlines): wait for them however long that takes */
		atomic_store(&w->stopping, 1);
		for (int i = 0; i < w->started; i++)
			pthread_join(w->threads[i].tid, NULL);
		w->started = 0;
		worker_free(w);
		return NULL;
	}
	log_msg(LOG_INFO, "%s %s started: %d threads, batch %d, stages mask 0x%x, prefix %s",
	        app->name, DCV_VERSION, cfg->concurrency, cfg->batch, cfg->stage_mask,
	        cfg->q.prefix);
	return w;
}

int worker_stop(struct worker *w)
{
	struct timespec deadline;
	long long drain_ms = w->cfg.drain_ms;

	atomic_store(&w->stopping, 1);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += drain_ms / 1000;
	deadline.tv_nsec += (drain_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->done_mu);
	while (w->threads_done < w->started &&
	       pthread_cond_timedwait(&w->done_cv, &w->done_mu, &deadline) != ETIMEDOUT)
		;
	int finished = w->threads_done;
	pthread_mutex_unlock(&w->done_mu);
	if (finished < w->started) {
		/* Jobs still in handlers stay pending; live workers reclaim
		 * them after the visibility timeout. */
		log_msg(LOG_WARN, "drain time over with %d of %d threads busy; their "
		        "jobs stay pending for reclaim", w->started - finished, w->started);
		return w->started - finished;
	}
	for (int i = 0; i < w->started; i++)
		pthread_join(w->threads[i].tid, NULL);
	w->started = 0;
	return 0;
}

void worker_free(struct worker *w)
{
	if (!w)
		return;
	if (w->maint_started) {
		atomic_store(&w->m.stop, 1);
		pthread_join(w->m.tid, NULL);
	}
	for (int i = 0; w->threads && i < w->cfg.concurrency; i++) {
		struct wthread *t = &w->threads[i];
		queue_close(t->q);
		queue_batch_free(&t->batch[0]);
		queue_batch_free(&t->batch[1]);
		free(t->plans);
		free(t->commits);
	}
	free(w->threads);
	queue_close(w->m.q);
	if (w->serving)
		metrics_stop();
	pthread_cond_destroy(&w->done_cv);
	pthread_mutex_destroy(&w->done_mu);
	free(w);
}
