/*
 * worker: the stage runtime shared by dcv-worker and the test worker.
 *
 * A stage handler is a function over one job that returns an outcome; it
 * never sleeps to wait and never talks to the streams.  The runtime reads
 * batches from the stage streams, runs the handlers, and settles every entry
 * atomically (scripts.h): forward, delay, finish or dead-letter.
 *
 * Concurrency: worker.concurrency threads, each with its own Redis
 * connection, each looping read-batch -> handle -> commit-and-read-next (one
 * round trip).  A handler may block on the network (DNS, HTTP): the other
 * threads carry on.  One more thread promotes due delayed jobs and trims the
 * streams.  See README.md, "Architecture".
 *
 * What commit settles an entry (attempts, give-up, backoff, the domain's
 * default state) is decided without I/O in plan.h.  The runtime is an
 * instance (worker_start, worker_stop, worker_free) with no global state;
 * worker_main wraps it in the dcv-worker command line.
 */
#ifndef DCV_WORKER_H
#define DCV_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "cfg.h"
#include "job.h"
#include "lifecycle_names.h"
#include "metrics.h"
#include "queue.h"

enum outcome_kind {
	OUT_NONE = 0,  /* the handler set nothing: a bug, dead-lettered */
	OUT_ADVANCE,   /* go to stage `next` (after delay_ms when > 0) */
	OUT_RETRY,     /* run this stage again after delay_ms, or the backoff */
	OUT_DONE,      /* the job is finished */
	OUT_FAIL,      /* permanent failure: dead letter and event */
};

#define OUTCOME_REASON_MAX 512
/* The event's own fields: 16 names of 253 octets, comma-separated, and a
 * few short ones. */
#define OUTCOME_FIELDS_MAX 4608

/* What a handler decided.  Zero it before the call (the runtime does). */
struct outcome {
	enum outcome_kind kind;
	enum stage next;          /* OUT_ADVANCE */
	int64_t delay_ms;         /* OUT_RETRY: >= 0 wins over the backoff
	                             (Retry-After); -1: policy backoff.
	                             OUT_ADVANCE: > 0 schedules the next stage */
	const char *state;        /* domain state to record; NULL: default */
	const char *event;        /* event type for <p>:events; NULL: none */
	char reason[OUTCOME_REASON_MAX]; /* RETRY/FAIL: the domain's last_error
	                             and the event's detail */
	char fields[OUTCOME_FIELDS_MAX]; /* the event's fields beyond type,
	                             domain, detail and time: "name\nvalue\n"
	                             pairs (outcome_event_field()); "" none */
	const char *clear;        /* domain fields deleted atomically with the
	                             commit (space-separated); NULL: none */
	bool wait;                /* OUT_RETRY that only waits (a rate-limit
	                             token, the CA or DNS still working): not an
	                             attempt, never counts towards max_attempts */
	bool outage;              /* OUT_RETRY because a server every domain
	                             needs (the CA) fails or cannot be reached:
	                             an attempt for the backoff, which grows to
	                             its cap, but never a reason to give up (an
	                             outage of the CA fails no domain) */
};

/* Backoff and give-up policy of one stage. */
struct stage_policy {
	long long base_ms;       /* first retry's cap */
	long long cap_ms;        /* largest delay */
	long long max_attempts;  /* 0: retry forever */
};

/* The runtime's configuration (immutable after load). */
struct worker_cfg {
	struct queue_opts q;
	const char *eviction_check;   /* "refuse" or "warn" */
	int concurrency;
	int batch;
	int block_ms;
	long long visibility_ms;
	long long job_timeout_ms;     /* one handler's deadline (stage_env) */
	long long reclaim_interval_ms;
	long long promote_interval_ms;
	long long trim_interval_ms;
	long long consumer_idle_ms;
	long long drain_ms;
	long long job_max_bytes;
	unsigned stage_mask;          /* stages served (bit 1 << stage) */
	const char *handlers;
	const char *zone;             /* validation zone */
	const char *target_template;  /* delegation target template */
	struct stage_policy policy[STAGE_COUNT];
	struct metrics_opts metrics;  /* the /metrics, /healthz, /readyz server */
};

/* What a handler gets besides its job. */
struct stage_env {
	const struct worker_cfg *cfg;
	enum stage stage;    /* the stage being run */
	uint64_t now_ms;
	unsigned thread;     /* index of the worker thread */
	void *deps;          /* the program's own dependencies */
	struct queue *q;     /* the thread's Redis connection, for the domain's
	                        own keys (never the streams) */
	const char *entry;   /* the stream entry id of the job */
	long long deadline_ms; /* CLOCK_MONOTONIC ms (deadline.h) by which the
	                        handler returns: every DNS lookup, HTTP request
	                        and TXT update it makes shares it (pipeline.c
	                        gives it to the thread's clients) */
	uint64_t *rnd;       /* the thread's random state, for stage_rand();
	                        a test that builds an env points it at a seed */
};

/* The one random source of handlers (jitter, a backoff of their own, a
 * moment in a window): the next number of ENV's per-thread generator
 * (xorshift64, seeded from getrandom(2) when the thread starts; also the
 * runtime's own backoff draws).  Not for secrets: crypto.h is.  Cheap and
 * lock-free.  With ENV->rnd NULL it draws from a state made of now_ms (the
 * same number for every call at one now_ms). */
uint64_t stage_rand(struct stage_env *env);

typedef void (*stage_fn)(struct stage_env *env, struct job *job,
                         struct outcome *out);

/* A worker program: its handlers and how it reads its own config. */
struct worker_app {
	const char *name;
	stage_fn stages[STAGE_COUNT];
	/* Reads the program's own config keys into *DEPS (may be NULL). */
	int (*configure)(struct cfg *c, const struct worker_cfg *wc, void **deps);
	void (*release)(void *deps);
};

/* How long after a batch is read its last handler may still run: three
 * quarters of worker.visibility_timeout_ms (the rest is for the commit). */
long long worker_job_budget_ms(const struct worker_cfg *w);

/* Reads the runtime's keys (redis, worker, log, streams, stages,
 * validation, metrics) into W; errors are recorded in C.  dcv-worker and
 * dcvctl both read through it, so one dcv.yaml serves both. */
void worker_cfg_load(struct cfg *c, struct worker_cfg *w);

/* The backoff delay for ATTEMPT (1-based) under P: full jitter, a uniform
 * draw in [0, min(cap, base * 2^(attempt-1))].  RND is a random number. */
int64_t worker_backoff(const struct stage_policy *p, uint32_t attempt,
                       uint64_t rnd);

/* The largest delay worker_backoff() draws for ATTEMPT under P:
 * min(cap, base * 2^(attempt-1)). */
int64_t worker_backoff_ceiling(const struct stage_policy *p, uint32_t attempt);

/* "none", "advance", "retry", "done", "fail" (the outcome label of
 * dcv_jobs_total and of log lines); "none" for a kind out of range. */
const char *outcome_name(enum outcome_kind k);

/* Helpers for handlers. */
void outcome_advance(struct outcome *o, enum stage next);
void outcome_retry(struct outcome *o, int64_t delay_ms, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void outcome_fail(struct outcome *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void outcome_done(struct outcome *o);
/* The domain state and the event of O, named from the one list
 * (lifecycle_names.h); outcome_keep_state() leaves the record's state as
 * it was (a retry after a Redis error, a job refused or dropped). */
void outcome_state(struct outcome *o, enum domain_state s);
void outcome_keep_state(struct outcome *o);
void outcome_event(struct outcome *o, enum domain_event e);
/* Adds field NAME = VALUE to the event (written by the same COMMIT).  NAME
 * is 1-32 of a-z 0-9 _ and not type, domain, detail or time; VALUE has no
 * control byte (no CR, LF, NUL) and the pair fits in o->fields.  0, or -1
 * with nothing added. */
int outcome_event_field(struct outcome *o, const char *name, const char *value);

/* A running runtime: its threads, connections and metric handles.  Nothing
 * of it is global, so a process may run one, stop it and run another (one
 * at a time: the consumer names are made of the host name and the pid, and
 * the metrics server is one per process). */
struct worker;

/* Starts the runtime for APP with CFG (copied; its strings stay borrowed
 * from the struct cfg it was loaded from) and DEPS (borrowed: what
 * APP->configure made): checks Redis (the eviction policy as
 * redis.eviction_check says, the consumer groups), serves /metrics,
 * /healthz and /readyz when CFG->metrics.port > 0, and starts
 * CFG->concurrency worker threads and the maintenance thread.  The caller
 * blocks SIGPIPE (and whatever signals it waits for) first.  Returns NULL
 * after logging why. */
struct worker *worker_start(const struct worker_cfg *cfg,
                            const struct worker_app *app, void *deps);

/* Drains W: no new entries are read, /readyz says "draining", and each
 * thread settles what it holds; waits up to worker.drain_ms.  Returns 0
 * when every thread has ended (then call worker_free), else how many are
 * still in a handler: their entries stay pending for reclaim, and W cannot
 * be freed (those threads use it), so the process should _exit. */
int worker_stop(struct worker *w);

/* Stops the maintenance thread and the metrics server, closes the
 * connections and frees W, after worker_stop() returned 0.  NULL: no-op. */
void worker_free(struct worker *w);

/* dcv-worker's main (worker_main.c): parses the command line, loads the
 * configuration, starts the runtime, waits for SIGTERM/SIGINT, drains,
 * exits. */
int worker_main(int argc, char **argv, const struct worker_app *app);

#endif
