#include "worker.h"
#include "noop.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "fleet_gauges.h"
#include "deadline.h"
#include "log.h"
#include "metrics.h"

/* Set once by the main thread when SIGTERM or SIGINT arrives. */
static atomic_int stopping;

/* Connections currently lost (for /readyz). */
static atomic_int redis_down;

/* Metric handles, looked up once at start; NULL handles are no-ops. */
static struct {
	struct metrics_counter *jobs[STAGE_COUNT][OUT_FAIL + 1];
	struct metrics_histogram *seconds[STAGE_COUNT];
	struct metrics_gauge *in_flight[STAGE_COUNT];
	struct metrics_counter *retry_backoff[STAGE_COUNT];
	struct metrics_counter *retry_after[STAGE_COUNT];
	struct metrics_counter *dead_bad_job[STAGE_COUNT];
	struct metrics_counter *dead_failed[STAGE_COUNT];
	struct metrics_counter *reconnects;
	struct metrics_gauge *ready;
} mx;

/* Default policies: verify-cname waits for people (minutes to weeks), the
 * others for servers (seconds). */
static const struct stage_policy default_policy[STAGE_COUNT] = {
	[STAGE_VERIFY_CNAME] = { 10000, 3600000, 0 },
	[STAGE_CREATE_ORDER] = { 1000, 300000, 20 },
	[STAGE_PROVISION_TXT] = { 2000, 120000, 100 },
	[STAGE_FINALIZE] = { 1000, 60000, 100 },
	[STAGE_OFFBOARD_CHECK] = { 60000, 3600000, 0 },
};

/* How long after a batch is read its last handler may still run: three
 * quarters of the visibility timeout (the rest is for the commit). */
static long long job_budget_ms(const struct worker_cfg *w)
{
	return w->visibility_ms - w->visibility_ms / 4;
}

void worker_cfg_load(struct cfg *c, struct worker_cfg *w)
{
	char path[128];
	size_t n;

	memset(w, 0, sizeof(*w));
	w->q.url = cfg_str(c, "redis.url", "redis://127.0.0.1:6379/0");
	struct queue_url u;
	char why[160];
	if (queue_url_parse(w->q.url, &u, why, sizeof(why)) != 0)
		cfg_fail(c, "redis.url", "%s", why);   /* WHY never quotes the URL */
	explicit_bzero(&u, sizeof(u));
	w->q.prefix = cfg_str(c, "redis.prefix", "dcv");
	w->q.group = cfg_str(c, "redis.group", "workers");
	w->q.connect_timeout_ms = (int)cfg_int(c, "redis.connect_timeout_ms", 2000, 10, 60000);
	w->eviction_check = cfg_str(c, "redis.eviction_check", "refuse");
	if (strcmp(w->eviction_check, "refuse") && strcmp(w->eviction_check, "warn"))
		cfg_fail(c, "redis.eviction_check", "must be 'refuse' or 'warn'");
	if (strlen(w->q.prefix) == 0 || strlen(w->q.prefix) > 64 || strchr(w->q.prefix, ' '))
		cfg_fail(c, "redis.prefix", "must be 1-64 characters without spaces");

	w->concurrency = (int)cfg_int(c, "worker.concurrency", 4, 1, 1024);
	w->handlers = cfg_str(c, "worker.handlers", "stages");
	if (strcmp(w->handlers, "stages") && strcmp(w->handlers, "noop"))
		cfg_fail(c, "worker.handlers", "must be 'stages' or 'noop'");
	/* A stage handler waits on DNS and the CA: a thread takes one job at a
	 * time so that the others are not stuck behind it.  The no-op handlers
	 * take many per round trip. */
	w->batch = (int)cfg_int(c, "worker.batch", strcmp(w->handlers, "noop") ? 1 : 32, 1, 1000);
	w->block_ms = (int)cfg_int(c, "worker.block_ms", 1000, 10, 30000);
	w->visibility_ms = cfg_int(c, "worker.visibility_timeout_ms", 300000, 100, 86400000LL);
	/* A handler ends by its deadline and its job settles before the entry
	 * may be reclaimed: at most three quarters of the visibility timeout,
	 * the last quarter left for the commit (and a slow clock).  Default:
	 * a minute, or half the visibility timeout when that is shorter. */
	long long jt_def = w->visibility_ms / 2 < 60000 ? w->visibility_ms / 2 : 60000;
	w->job_timeout_ms = cfg_int(c, "worker.job_timeout_ms", jt_def, 10, 86400000LL);
	if (w->job_timeout_ms > job_budget_ms(w))
		cfg_fail(c, "worker.job_timeout_ms", "%lld ms is more than three quarters "
		         "of worker.visibility_timeout_ms (%lld ms): a job could be "
		         "reclaimed and run twice while it waits for a server",
		         w->job_timeout_ms, w->visibility_ms);
	w->reclaim_interval_ms = cfg_int(c, "worker.reclaim_interval_ms", 5000, 10, 3600000);
	w->promote_interval_ms = cfg_int(c, "worker.promote_interval_ms", 200, 10, 60000);
	w->trim_interval_ms = cfg_int(c, "worker.trim_interval_ms", 5000, 10, 3600000);
	w->consumer_idle_ms = cfg_int(c, "worker.consumer_idle_ms", 3600000, 1000, 86400000LL * 30);
	w->q.max_deliveries = (int)cfg_int(c, "worker.max_deliveries", 5, 1, 1000);
	w->drain_ms = cfg_int(c, "worker.drain_ms", 25000, 0, 3600000);
	w->job_max_bytes = cfg_int(c, "worker.job_max_bytes", JOB_DEFAULT_MAX_BYTES, 256, 1 << 24);
	/* the socket timeout must outlast the longest BLOCK */
	w->q.io_timeout_ms = w->block_ms + 10000;

	n = cfg_list_len(c, "worker.stages");
	for (size_t i = 0; i < n; i++) {
		const char *s = cfg_list_str(c, "worker.stages", i);
		int st = s ? stage_parse(s) : -1;
		if (st < 0)
			cfg_fail(c, "worker.stages", "unknown stage '%s'", s ? s : "");
		else
			w->stage_mask |= 1u << st;
	}
	if (!w->stage_mask)
		w->stage_mask = (1u << STAGE_COUNT) - 1;

	int lvl = log_level_parse(cfg_str(c, "log.level", "info"));
	int fmt = log_format_parse(cfg_str(c, "log.format", "logfmt"));
	if (lvl < 0)
		cfg_fail(c, "log.level", "must be debug, info, warn or error");
	if (fmt < 0)
		cfg_fail(c, "log.format", "must be logfmt or json");
	log_setup(lvl < 0 ? LOG_INFO : (enum log_level)lvl,
	          fmt < 0 ? LOG_FMT_LOGFMT : (enum log_format)fmt);

	w->q.events_maxlen = cfg_int(c, "streams.events_maxlen", 100000, 100, 1LL << 40);
	w->q.dead_maxlen = cfg_int(c, "streams.dead_maxlen", 1000000, 100, 1LL << 40);

	metrics_cfg_load(c, &w->metrics);
	w->zone = cfg_str(c, "validation.zone", "validation.dcv.test");
	w->target_template = cfg_str(c, "validation.target_template", "{domain}.{zone}");

	const char *const *keys = cfg_keys(c, "stages", &n);
	for (size_t i = 0; i < n; i++) {
		if (stage_parse(keys[i]) >= 0)
			continue;
		/* reported here, at its own line, and not again as unknown keys */
		snprintf(path, sizeof(path), "stages.%s", keys[i]);
		cfg_fail(c, path, "unknown stage '%s' (verify-cname, create-order, "
		         "provision-txt, finalize, offboard-check)", keys[i]);
		cfg_skip(c, path);
	}
	for (int s = 0; s < STAGE_COUNT; s++) {
		struct stage_policy *p = &w->policy[s];
		const char *name = stage_name((enum stage)s);
		*p = default_policy[s];
		snprintf(path, sizeof(path), "stages.%s.backoff_base_ms", name);
		p->base_ms = cfg_int(c, path, p->base_ms, 1, 86400000LL * 30);
		snprintf(path, sizeof(path), "stages.%s.backoff_cap_ms", name);
		p->cap_ms = cfg_int(c, path, p->cap_ms, 1, 86400000LL * 30);
		snprintf(path, sizeof(path), "stages.%s.max_attempts", name);
		p->max_attempts = cfg_int(c, path, p->max_attempts, 0, 1000000);
		if (p->cap_ms < p->base_ms)
			cfg_fail(c, path, "backoff_cap_ms is below backoff_base_ms");
	}
}

int64_t worker_backoff(const struct stage_policy *p, uint32_t attempt,
                       uint64_t rnd)
{
	long long ceiling = p->base_ms;
	for (uint32_t i = 1; i < attempt && ceiling < p->cap_ms; i++)
		ceiling *= 2;
	if (ceiling > p->cap_ms)
		ceiling = p->cap_ms;
	return (int64_t)(rnd % (uint64_t)(ceiling + 1));
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

/* ---- the threads ---- */

/* What one entry settles to, with the strings the commit borrows. */
struct slot {
	char domain[DNAME_MAX + 1];
	char job_id[JOB_ID_MAX + 1];
	char reason[OUTCOME_REASON_MAX + 64];
	char *enc;           /* encoded job, owned */
	size_t enclen;
};

struct wthread {
	pthread_t tid;
	unsigned index;
	const struct worker_cfg *cfg;
	const struct worker_app *app;
	void *deps;
	struct queue *q;
	uint64_t rnd;                  /* xorshift state */
	size_t cap;                    /* slots */
	struct slot *slots;
	struct queue_commit *commits;
	size_t n;                      /* commits prepared */
	struct queue_batch batch[2];   /* the one being settled, the next one */
	unsigned cur;
	int done;
};

static pthread_mutex_t done_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;
static int threads_done;

static uint64_t next_rand(struct wthread *t)
{
	uint64_t x = t->rnd;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return t->rnd = x;
}

static const char *const default_state[] = {
	[OUT_NONE] = "failed",
	[OUT_ADVANCE] = "active",
	[OUT_RETRY] = "waiting",
	[OUT_DONE] = "done",
	[OUT_FAIL] = "failed",
};

static const char *const outcome_names[OUT_FAIL + 1] = {
	[OUT_NONE] = "none",
	[OUT_ADVANCE] = "advance",
	[OUT_RETRY] = "retry",
	[OUT_DONE] = "done",
	[OUT_FAIL] = "fail",
};

/* Dead-letters an entry whose job could not be decoded. */
static void settle_bad(struct wthread *t, const struct queue_entry *e,
                       struct slot *s, struct queue_commit *c, const char *why)
{
	struct log_job lj = { stage_name(e->stage), NULL, e->domain, "dead", -1 };

	snprintf(s->reason, sizeof(s->reason), "%s", why);
	snprintf(s->domain, sizeof(s->domain), "%s", e->domain);
	c->kind = COMMIT_DEAD;
	c->job = e->job;
	c->job_len = e->job ? e->job_len : 0;
	c->domain = s->domain;
	c->job_id = "";
	c->state = "";
	c->last_error = s->reason;
	c->event = "dead-letter";
	c->detail = s->reason;
	log_jobmsg(LOG_WARN, &lj, "dead letter: %s", why);
	metrics_counter_inc(mx.dead_bad_job[e->stage]);
	(void)t;
}

/* Runs the handler for one entry and prepares its commit.  BATCH_END
 * (CLOCK_MONOTONIC ms) is when the batch the entry came in must be done
 * for its commit to come before any reclaim: the handler's deadline is
 * worker.job_timeout_ms from its start, or BATCH_END if sooner.  An entry
 * left with less than half of its time is not run: it goes back to its
 * stage at once, its attempt not counted. */
static void settle(struct wthread *t, const struct queue_entry *e, long long batch_end)
{
	struct slot *s = &t->slots[t->n];
	struct queue_commit *c = &t->commits[t->n];
	const struct worker_cfg *cfg = t->cfg;
	struct job job;
	struct outcome out;
	char why[256];
	uint64_t now = queue_now_ms();

	memset(c, 0, sizeof(*c));
	s->enc = NULL;
	s->reason[0] = '\0';
	c->src = e->stage;
	c->entry_id = e->id;
	c->last_error = "";
	c->event = "";
	c->detail = "";
	t->n++;

	if (!e->job) {
		settle_bad(t, e, s, c, "stream entry has no job field");
		return;
	}
	if (job_decode(e->job, e->job_len, (size_t)cfg->job_max_bytes, &job,
	               why, sizeof(why)) != JOB_OK) {
		settle_bad(t, e, s, c, why);
		return;
	}
	if (!job.id[0])          /* the same id on every delivery of the entry */
		snprintf(job.id, sizeof(job.id), "x%s", e->id);
	if (!job.created_at)
		job.created_at = now;
	if (!job.since)
		job.since = now;

	stage_fn fn = t->app->stages[e->stage];
	long long start = deadline_now_ms(), deadline = start + cfg->job_timeout_ms;
	if (deadline > batch_end)
		deadline = batch_end;
	struct stage_env env = { cfg, e->stage, now, t->index, t->deps, t->q, e->id,
	                         deadline };
	struct timespec t0, t1;
	long dur = -1;
	bool ran = deadline - start >= cfg->job_timeout_ms / 2;
	memset(&out, 0, sizeof(out));
	out.delay_ms = -1;
	if (!ran) {
		outcome_retry(&out, 0, "not run: the entries read before it in its batch "
		              "left it %lld ms of worker.job_timeout_ms (%lld ms)",
		              deadline - start, cfg->job_timeout_ms);
		out.state = "";
	} else {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		metrics_gauge_add(mx.in_flight[e->stage], 1);
		if (fn)
			fn(&env, &job, &out);
		else
			outcome_fail(&out, "%s serves no handler for stage %s",
			             t->app->name, stage_name(e->stage));
		metrics_gauge_add(mx.in_flight[e->stage], -1);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double secs = (double)(t1.tv_sec - t0.tv_sec) +
		              (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		dur = (long)(secs * 1000);
		metrics_observe(mx.seconds[e->stage], secs);
		metrics_counter_inc(mx.jobs[e->stage][out.kind]);
		long long over = deadline_now_ms() - deadline;
		if (over > 100) {
			/* a call that ignores the deadline: the entry may have been
			 * reclaimed meanwhile (the commit of one of the two is
			 * dropped) */
			struct log_job lj = { stage_name(e->stage), job.id, job.domain, NULL, dur };
			log_jobmsg(LOG_WARN, &lj, "the handler returned %lld ms after its "
			           "deadline", over);
		}
	}

	if (out.kind == OUT_NONE)
		snprintf(out.reason, sizeof(out.reason), "handler returned no outcome");
	if (out.kind == OUT_RETRY && ran && !out.wait) {
		job.attempt++;
		const struct stage_policy *p = &cfg->policy[e->stage];
		if (p->max_attempts > 0 && job.attempt >= p->max_attempts) {
			char r[OUTCOME_REASON_MAX + 64];
			snprintf(r, sizeof(r), "gave up after %u attempts: %s",
			         job.attempt, out.reason);
			size_t l = strlen(r);
			if (l >= sizeof(out.reason))
				l = sizeof(out.reason) - 1;
			memcpy(out.reason, r, l);
			out.reason[l] = '\0';
			out.kind = OUT_FAIL;
			out.state = "failed";  /* not the retry's state: nothing runs */
		}
	}
	snprintf(s->domain, sizeof(s->domain), "%s", job.domain);
	snprintf(s->job_id, sizeof(s->job_id), "%s", job.id);
	snprintf(s->reason, sizeof(s->reason), "%s", out.reason);
	c->domain = s->domain;
	c->job_id = s->job_id;
	c->state = out.state ? out.state : default_state[out.kind];
	c->event = out.event ? out.event : "";
	c->detail = s->reason;

	switch (out.kind) {
	case OUT_ADVANCE:
		job.attempt = 0;
		job.since = now;
		c->dst = out.next;
		c->kind = out.delay_ms > 0 ? COMMIT_LATER : COMMIT_FORWARD;
		c->due_ms = out.delay_ms > 0 ? now + (uint64_t)out.delay_ms : 0;
		break;
	case OUT_RETRY: {
		int64_t d = out.delay_ms >= 0 ? out.delay_ms
		          : worker_backoff(&cfg->policy[e->stage], job.attempt, next_rand(t));
		metrics_counter_inc(out.delay_ms >= 0 ? mx.retry_after[e->stage]
		                                      : mx.retry_backoff[e->stage]);
		c->dst = e->stage;
		c->kind = COMMIT_LATER;
		c->due_ms = now + (uint64_t)d;
		c->last_error = s->reason;
		break;
	}
	case OUT_DONE:
		c->kind = COMMIT_DONE;
		break;
	case OUT_NONE:
	case OUT_FAIL:
		c->kind = COMMIT_DEAD;
		c->last_error = s->reason;
		metrics_counter_inc(mx.dead_failed[e->stage]);
		if (!out.event)
			c->event = "failed";
		break;
	}
	c->attempts = job.attempt;
	c->gen = job.gen;
	c->clear = out.clear;
	if (job_encode(&job, &s->enc, &s->enclen) != JOB_OK) {
		/* keep the original bytes: the entry is settled as it came */
		s->enc = NULL;
		c->job = e->job;
		c->job_len = e->job_len;
	} else {
		c->job = s->enc;
		c->job_len = s->enclen;
	}

	struct log_job lj = { stage_name(e->stage), job.id, job.domain,
	                      outcome_names[out.kind], dur };
	if (out.kind == OUT_FAIL || out.kind == OUT_NONE)
		log_jobmsg(LOG_WARN, &lj, "failed: %s", s->reason);
	else if (out.kind == OUT_RETRY)
		log_jobmsg(LOG_INFO, &lj, "retry in %llu ms (attempt %u): %s",
		           (unsigned long long)(c->due_ms - now), job.attempt, s->reason);
	else
		log_jobmsg(LOG_DEBUG, &lj, "%s%s%s", outcome_names[out.kind],
		           out.kind == OUT_ADVANCE ? " to " : "",
		           out.kind == OUT_ADVANCE ? stage_name(out.next) : "");
	job_clear(&job);
}

static void release_commits(struct wthread *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->slots[i].enc);
	t->n = 0;
}

/* Sends the prepared commits, reading the next batch unless COUNT is 0.
 * Returns the exchange status; the next batch is t->batch[t->cur]. */
static enum queue_status exchange(struct wthread *t, size_t count, int history)
{
	size_t applied = 0;
	unsigned next = t->cur ^ 1;
	enum queue_status st = queue_exchange(t->q, t->commits, t->n, &applied,
	                                      t->cfg->stage_mask, count,
	                                      t->cfg->block_ms, history,
	                                      &t->batch[next]);
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
 * the quarter of the visibility timeout left after job_budget_ms covers,
 * with the commit). */
static void settle_batch(struct wthread *t, const struct queue_batch *b, long long read_at)
{
	for (size_t i = 0; i < b->n && t->n < t->cap; i++)
		settle(t, &b->e[i], read_at + job_budget_ms(t->cfg));
}

/* Claims entries left idle by dead workers and settles them at once. */
static enum queue_status reclaim(struct wthread *t)
{
	struct queue_batch rb = { 0 };
	enum queue_status st = Q_OK;

	for (int s = 0; s < STAGE_COUNT && st == Q_OK; s++) {
		if (!(t->cfg->stage_mask & (1u << s)))
			continue;
		st = queue_reclaim(t->q, (enum stage)s, t->cfg->visibility_ms,
		                   (size_t)t->cfg->batch, &rb);
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

static void mark_done(void)
{
	pthread_mutex_lock(&done_mu);
	threads_done++;
	pthread_cond_broadcast(&done_cv);
	pthread_mutex_unlock(&done_mu);
}

static void *worker_thread(void *arg)
{
	struct wthread *t = arg;
	const struct worker_cfg *cfg = t->cfg;
	uint64_t next_reclaim = (uint64_t)deadline_now_ms() + (uint64_t)cfg->reclaim_interval_ms;
	int history = 0;

	for (;;) {
		int stop = atomic_load(&stopping);
		if (stop && t->n == 0)
			break;
		enum queue_status st = exchange(t, stop ? 0 : (size_t)cfg->batch, history);
		long long read_at = deadline_now_ms();
		if (st == Q_E_IO) {
			log_msg(LOG_WARN, "thread %u: %s", t->index, queue_errstr(t->q));
			atomic_fetch_add(&redis_down, 1);
			st = queue_reconnect(t->q, &stopping);
			atomic_fetch_sub(&redis_down, 1);
			if (st != Q_OK)
				break;
			metrics_counter_inc(mx.reconnects);
			if (queue_ensure_groups(t->q) != Q_OK)
				log_msg(LOG_WARN, "%s", queue_errstr(t->q));
			history = 1; /* re-read what was delivered to us before */
			continue;
		}
		if (st != Q_OK) {
			log_msg(LOG_ERROR, "thread %u: %s", t->index, queue_errstr(t->q));
			if (strstr(queue_errstr(t->q), "NOGROUP"))
				queue_ensure_groups(t->q);
			struct timespec ts = { 0, 200 * 1000000L };
			nanosleep(&ts, NULL);
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
	mark_done();
	return NULL;
}

/* Promotes due delayed jobs and trims the streams. */
struct maint {
	pthread_t tid;
	const struct worker_cfg *cfg;
	struct queue *q;
	atomic_int stop;
};

static int worker_ready(void *arg, char *why, size_t whylen);

/* dcv_worker_ready follows /readyz.  The maintenance thread sets it on every
 * round and clears it before it waits for Redis; it talks to Redis every
 * promote interval, so it sees an outage as soon as the workers do. */
static void ready_update(void)
{
	char why[64];
	metrics_gauge_set(mx.ready, worker_ready(NULL, why, sizeof(why)) ? 1 : 0);
}

static void *maint_thread(void *arg)
{
	struct maint *m = arg;
	uint64_t next_trim = 0, next_gauges = 0;
	char gerr[256];

	while (!atomic_load(&m->stop)) {
		long long moved = 0;
		enum queue_status st;
		ready_update();
		do {
			st = queue_promote(m->q, queue_now_ms(), 1000, &moved);
		} while (st == Q_OK && moved == 1000 && !atomic_load(&m->stop));
		if (st == Q_OK && (uint64_t)deadline_now_ms() >= next_trim) {
			for (int s = 0; s < STAGE_COUNT && st == Q_OK; s++) {
				long long trimmed;
				st = queue_trim(m->q, (enum stage)s, m->cfg->consumer_idle_ms, &trimmed);
			}
			next_trim = (uint64_t)deadline_now_ms() + (uint64_t)m->cfg->trim_interval_ms;
		}
		if (st == Q_OK && (uint64_t)deadline_now_ms() >= next_gauges) {
			/* the fleet's gauges for the alerts (fleet_gauges.h);
			 * a failure costs the gauges, not the maintenance */
			st = fleet_gauges_update(m->q, m->cfg->q.group, gerr, sizeof(gerr));
			if (st == Q_E_REPLY) {
				log_msg(LOG_WARN, "maintenance: %s", gerr);
				st = Q_OK;
			}
			next_gauges = (uint64_t)deadline_now_ms() + FLEET_GAUGES_INTERVAL_MS;
		}
		if (st == Q_E_IO) {
			log_msg(LOG_WARN, "maintenance: %s", queue_errstr(m->q));
			atomic_fetch_add(&redis_down, 1);
			metrics_gauge_set(mx.ready, 0);
			st = queue_reconnect(m->q, &m->stop);
			atomic_fetch_sub(&redis_down, 1);
			if (st != Q_OK)
				break;
			metrics_counter_inc(mx.reconnects);
		} else if (st != Q_OK)
			log_msg(LOG_ERROR, "maintenance: %s", queue_errstr(m->q));
		for (long long slept = 0; slept < m->cfg->promote_interval_ms &&
		     !atomic_load(&m->stop); slept += 10) {
			struct timespec ts = { 0, 10 * 1000000L };
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

static const char *const outcome_names[OUT_FAIL + 1];

static void metrics_setup(void)
{
	char l[128];
	for (int s = 0; s < STAGE_COUNT; s++) {
		const char *st = stage_name((enum stage)s);
		for (int k = OUT_NONE; k <= OUT_FAIL; k++) {
			snprintf(l, sizeof(l), "stage=\"%s\",outcome=\"%s\"", st, outcome_names[k]);
			mx.jobs[s][k] = metrics_counter(METRICS_JOBS, METRICS_JOBS_HELP, l);
		}
		snprintf(l, sizeof(l), "stage=\"%s\"", st);
		mx.seconds[s] = metrics_histogram(METRICS_HANDLER_SECONDS,
		                                  METRICS_HANDLER_SECONDS_HELP, l,
		                                  metrics_handler_buckets,
		                                  metrics_handler_nbuckets);
		mx.in_flight[s] = metrics_gauge(METRICS_IN_FLIGHT, METRICS_IN_FLIGHT_HELP, l);
		snprintf(l, sizeof(l), "stage=\"%s\",reason=\"backoff\"", st);
		mx.retry_backoff[s] = metrics_counter(METRICS_RETRIES, METRICS_RETRIES_HELP, l);
		snprintf(l, sizeof(l), "stage=\"%s\",reason=\"retry_after\"", st);
		mx.retry_after[s] = metrics_counter(METRICS_RETRIES, METRICS_RETRIES_HELP, l);
		snprintf(l, sizeof(l), "stage=\"%s\",reason=\"bad_job\"", st);
		mx.dead_bad_job[s] = metrics_counter(METRICS_DEAD_LETTERS, METRICS_DEAD_LETTERS_HELP, l);
		snprintf(l, sizeof(l), "stage=\"%s\",reason=\"failed\"", st);
		mx.dead_failed[s] = metrics_counter(METRICS_DEAD_LETTERS, METRICS_DEAD_LETTERS_HELP, l);
	}
	mx.reconnects = metrics_counter(METRICS_REDIS_RECONNECTS,
	                                METRICS_REDIS_RECONNECTS_HELP, "");
	mx.ready = metrics_gauge(METRICS_WORKER_READY, METRICS_WORKER_READY_HELP, "");
}

/* /readyz: ready while every connection is up and we are not draining. */
static int worker_ready(void *arg, char *why, size_t whylen)
{
	(void)arg;
	if (atomic_load(&stopping)) {
		snprintf(why, whylen, "draining");
		return 0;
	}
	if (atomic_load(&redis_down) > 0) {
		snprintf(why, whylen, "redis unreachable");
		return 0;
	}
	return 1;
}

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
	        "usage: %s [-c FILE] [--stage S]... [--concurrency N] [--check-config]\n"
	        "  -c, --config FILE   configuration (YAML); without it, embedded defaults\n"
	        "  --stage S           serve stage S (repeatable; default: all five)\n"
	        "  --concurrency N     worker threads (overrides worker.concurrency)\n"
	        "  --check-config      validate the configuration and exit\n"
	        "Environment: DCV_<SECTION>_<KEY> overrides a key, e.g. DCV_REDIS_URL.\n",
	        prog);
}

static struct queue *open_queue(const struct worker_cfg *cfg, const char *consumer)
{
	struct queue_opts o = cfg->q;
	char err[256];
	o.consumer = consumer;
	struct queue *q = queue_open(&o, err, sizeof(err));
	if (!q)
		log_msg(LOG_ERROR, "%s", err);
	return q;
}

int worker_main(int argc, char **argv, const struct worker_app *app)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "stage", required_argument, NULL, 's' },
		{ "concurrency", required_argument, NULL, 'n' },
		{ "check-config", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	unsigned mask = 0;
	long concurrency = 0;
	int check = 0, ch, rc = 1;
	struct cfg *c = NULL;
	struct worker_cfg cfg;
	void *deps = NULL;
	struct wthread *threads = NULL;
	struct maint m = { 0 };
	int started = 0, maint_started = 0;
	char err[512], host[64], consumer[128];

	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 's': {
			int s = stage_parse(optarg);
			if (s < 0) {
				fprintf(stderr, "%s: unknown stage '%s' (verify-cname, create-order, "
				        "provision-txt, finalize, offboard-check)\n", argv[0], optarg);
				return 2;
			}
			mask |= 1u << s;
			break;
		}
		case 'n': {
			char *end;
			concurrency = strtol(optarg, &end, 10);
			if (*end || concurrency < 1 || concurrency > 1024) {
				fprintf(stderr, "%s: --concurrency must be 1-1024\n", argv[0]);
				return 2;
			}
			break;
		}
		case 'k': check = 1; break;
		case 'h': usage(stdout, argv[0]); return 0;
		default: usage(stderr, argv[0]); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr, argv[0]);
		return 2;
	}

	c = path ? cfg_load_file(path, err, sizeof(err)) : cfg_new_empty();
	if (!c) {
		fprintf(stderr, "%s: %s\n", argv[0], path ? err : "out of memory");
		return 2;
	}
	worker_cfg_load(c, &cfg);
	const struct metrics_opts mo = cfg.metrics;
	if (mask)
		cfg.stage_mask = mask;
	if (concurrency)
		cfg.concurrency = (int)concurrency;
	if (strcmp(cfg.handlers, "noop") == 0) {
		/* the runtime alone (benchmarks, the queue tests): the modules'
		 * sections are not read */
		static const char *const modules[] = { "acme", "dns", "provider",
		                                       "lifecycle", "ratelimit" };
		app = &noop_app;
		for (size_t k = 0; k < sizeof(modules) / sizeof(*modules); k++)
			cfg_skip(c, modules[k]);
	}
	if (app->configure && app->configure(c, &cfg, &deps) < 0 && !cfg_error(c))
		cfg_fail(c, "worker", "the %s configuration is invalid", app->name);
	cfg_check_unknown(c);
	if (cfg_error(c)) {
		cfg_print_errors(c, stderr, argv[0]);
		rc = 2;
		goto out;
	}
	if (check) {
		printf("%s: configuration ok\n", path ? path : "(embedded defaults)");
		rc = 0;
		goto out;
	}

	/* Signals go to the main thread only, which turns them into `stopping`. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "worker");
	host[sizeof(host) - 1] = '\0';
	snprintf(consumer, sizeof(consumer), "%s-%ld-m", host, (long)getpid());
	m.cfg = &cfg;
	if (!(m.q = open_queue(&cfg, consumer)))
		goto out;
	char policy[64];
	if (queue_eviction_policy(m.q, policy, sizeof(policy)) != Q_OK) {
		log_msg(LOG_ERROR, "%s", queue_errstr(m.q));
		goto out;
	}
	if (strcmp(policy, "noeviction") != 0) {
		int refuse = strcmp(cfg.eviction_check, "refuse") == 0;
		log_msg(refuse ? LOG_ERROR : LOG_WARN,
		        "redis maxmemory-policy is %s: redis may evict keys and lose jobs; "
		        "set maxmemory-policy noeviction%s", policy,
		        refuse ? " (or redis.eviction_check: warn to run anyway)" : "");
		if (refuse)
			goto out;
	}
	if (queue_ensure_groups(m.q) != Q_OK) {
		log_msg(LOG_ERROR, "%s", queue_errstr(m.q));
		goto out;
	}

	metrics_setup();
	fleet_gauges_setup(cfg.visibility_ms);
	if (mo.port > 0) {
		enum metrics_status ms = metrics_serve(mo.address, mo.port, worker_ready, NULL);
		if (ms != METRICS_OK) {
			log_msg(LOG_ERROR, "cannot serve metrics on %s:%d: %s", mo.address,
			        mo.port, metrics_strerror(ms));
			goto out;
		}
		log_msg(LOG_INFO, "serving /metrics, /healthz, /readyz on %s:%d",
		        mo.address, metrics_port());
	}

	threads = calloc((size_t)cfg.concurrency, sizeof(*threads));
	if (!threads)
		goto out;
	for (int i = 0; i < cfg.concurrency; i++) {
		struct wthread *t = &threads[i];
		t->index = (unsigned)i;
		t->cfg = &cfg;
		t->app = app;
		t->deps = deps;
		t->cap = (size_t)cfg.batch * STAGE_COUNT;
		t->slots = calloc(t->cap, sizeof(*t->slots));
		t->commits = calloc(t->cap, sizeof(*t->commits));
		if (getrandom(&t->rnd, sizeof(t->rnd), 0) < 0 || t->rnd == 0)
			t->rnd = 0x9e3779b97f4a7c15ULL ^ (uint64_t)i;
		snprintf(consumer, sizeof(consumer), "%s-%ld-%d", host, (long)getpid(), i);
		if (!t->slots || !t->commits || !(t->q = open_queue(&cfg, consumer)))
			goto out;
	}
	for (int i = 0; i < cfg.concurrency; i++, started++)
		if (pthread_create(&threads[i].tid, NULL, worker_thread, &threads[i]) != 0)
			goto out;
	if (pthread_create(&m.tid, NULL, maint_thread, &m) != 0)
		goto out;
	maint_started = 1;
	log_msg(LOG_INFO, "%s %s started: %d threads, batch %d, stages mask 0x%x, prefix %s",
	        app->name, DCV_VERSION, cfg.concurrency, cfg.batch, cfg.stage_mask,
	        cfg.q.prefix);

	int sig;
	while (sigwait(&set, &sig) != 0)
		;
	log_msg(LOG_INFO, "signal %d: draining for up to %lld ms", sig, cfg.drain_ms);
	rc = 0;
out:
	atomic_store(&stopping, 1);
	if (started) {
		struct timespec deadline;
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += cfg.drain_ms / 1000;
		deadline.tv_nsec += (cfg.drain_ms % 1000) * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&done_mu);
		while (threads_done < started &&
		       pthread_cond_timedwait(&done_cv, &done_mu, &deadline) != ETIMEDOUT)
			;
		int finished = threads_done;
		pthread_mutex_unlock(&done_mu);
		if (finished < started) {
			/* Jobs still in handlers stay pending; live workers reclaim
			 * them after the visibility timeout. */
			log_msg(LOG_WARN, "drain time over with %d of %d threads busy; their "
			        "jobs stay pending for reclaim", started - finished, started);
			_exit(rc);
		}
		for (int i = 0; i < started; i++)
			pthread_join(threads[i].tid, NULL);
		log_msg(LOG_INFO, "drained; exiting");
	}
	if (maint_started) {
		atomic_store(&m.stop, 1);
		pthread_join(m.tid, NULL);
	}
	for (int i = 0; threads && i < cfg.concurrency; i++) {
		queue_close(threads[i].q);
		queue_batch_free(&threads[i].batch[0]);
		queue_batch_free(&threads[i].batch[1]);
		free(threads[i].slots);
		free(threads[i].commits);
	}
	free(threads);
	queue_close(m.q);
	metrics_stop();
	if (app->release)
		app->release(deps);
	cfg_free(c);
	return rc;
}
