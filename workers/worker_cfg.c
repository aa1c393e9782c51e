/*
 * worker_cfg: the runtime's configuration keys (redis, worker, log,
 * streams, stages, validation, metrics) read into struct worker_cfg.  See
 * worker.h; the keys are listed in README.md, "Configuration".
 */
#include "worker.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

/* Default policies: verify-cname waits for people (minutes to weeks), the
 * others for servers (seconds). */
static const struct stage_policy default_policy[STAGE_COUNT] = {
	[STAGE_VERIFY_CNAME] = { 10000, 3600000, 0 },
	[STAGE_CREATE_ORDER] = { 1000, 300000, 20 },
	[STAGE_PROVISION_TXT] = { 2000, 120000, 100 },
	[STAGE_FINALIZE] = { 1000, 60000, 100 },
	[STAGE_OFFBOARD_CHECK] = { 60000, 3600000, 0 },
};

long long worker_job_budget_ms(const struct worker_cfg *w)
{
	return w->visibility_ms - w->visibility_ms / 4;
}

static void load_redis(struct cfg *c, struct worker_cfg *w)
{
	struct queue_url u;
	char why[160];

	w->q.url = cfg_str(c, "redis.url", "redis://127.0.0.1:6379/0");
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
}

/* worker.*: threads, batches and the timeouts that keep a job from being
 * run twice. */
static void load_worker(struct cfg *c, struct worker_cfg *w)
{
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
	if (w->job_timeout_ms > worker_job_budget_ms(w))
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

	size_t n = cfg_list_len(c, "worker.stages");
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
}

/* log.*: applied at once (log_setup), so that what follows logs as asked. */
static void load_log(struct cfg *c)
{
	int lvl = log_level_parse(cfg_str(c, "log.level", "info"));
	int fmt = log_format_parse(cfg_str(c, "log.format", "logfmt"));
	if (lvl < 0)
		cfg_fail(c, "log.level", "must be debug, info, warn or error");
	if (fmt < 0)
		cfg_fail(c, "log.format", "must be logfmt or json");
	log_setup(lvl < 0 ? LOG_INFO : (enum log_level)lvl,
	          fmt < 0 ? LOG_FMT_LOGFMT : (enum log_format)fmt);
}

/* stages.<stage>.*: each stage's backoff and give-up policy. */
static void load_policies(struct cfg *c, struct worker_cfg *w)
{
	char path[128];
	size_t n;

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

void worker_cfg_load(struct cfg *c, struct worker_cfg *w)
{
	memset(w, 0, sizeof(*w));
	load_redis(c, w);
	load_worker(c, w);
	load_log(c);
	w->q.events_maxlen = cfg_int(c, "streams.events_maxlen", 100000, 100, 1LL << 40);
	w->q.dead_maxlen = cfg_int(c, "streams.dead_maxlen", 1000000, 100, 1LL << 40);
	metrics_cfg_load(c, &w->metrics);
	w->zone = cfg_str(c, "validation.zone", "validation.dcv.test");
	w->target_template = cfg_str(c, "validation.target_template", "{domain}.{zone}");
	load_policies(c, w);
}
