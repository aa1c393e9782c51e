/*
 * fleet_gauges: see fleet_gauges.h.
 */
#include "fleet_gauges.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle_names.h"
#include "metrics.h"

/* The windows of dcv_certificates_expiring, in days. */
static const int expiry_days[] = { 7, 14, 30 };
#define NWINDOWS (sizeof(expiry_days) / sizeof(*expiry_days))

/* Handles, registered once by fleet_gauges_setup(); NULL ones are no-ops. */
static struct {
	struct metrics_gauge *lag[STAGE_COUNT], *pending[STAGE_COUNT], *oldest[STAGE_COUNT];
	struct metrics_gauge *delayed, *noeviction, *used, *maxmem, *updated;
	struct metrics_gauge *expiring[NWINDOWS][2];   /* [window][0 none, 1 under way] */
	struct metrics_gauge *domains[STATE_COUNT];
} g;

/*
 * One read-only pass over the fleet's keys (EVAL, no writes: safe on a
 * replica too).
 * KEYS: the five stage streams in enum stage order, <p>:delayed, <p>:expiry.
 * ARGV: group, now (unix s), the domain key prefix ("<p>:domain:"), the scan
 * cap, then the windows in seconds.
 * Returns, flat: per stage lag (-1 unknown), pending, oldest pending idle ms
 * (0 when none); the delayed count; used_memory, maxmemory; then per window
 * the counts with no renewal and with one under way.
 * The states of lifecycle_names.h: a RUN state means a renewal is under
 * way; GONE domains (offboarded, parked), released ones and vanished
 * records are not ours to renew.
 */
static const char gauges_lua[] = LIFECYCLE_UNDER_WAY_LUA LIFECYCLE_GONE_LUA
"local group, now, dprefix, cap = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])\n"
"local out = {}\n"
"for i = 1, 5 do\n"
"  local s, lag, pending, idle = KEYS[i], -1, 0, 0\n"
"  if redis.call('EXISTS', s) == 1 then\n"
"    for _, gr in ipairs(redis.call('XINFO', 'GROUPS', s)) do\n"
"      local name, l, p\n"
"      for j = 1, #gr, 2 do\n"
"        if gr[j] == 'name' then name = gr[j+1] elseif gr[j] == 'lag' then l = gr[j+1]\n"
"        elseif gr[j] == 'pending' then p = gr[j+1] end\n"
"      end\n"
"      if name == group then lag = l or -1; pending = p or 0 end\n"
"    end\n"
"    if pending > 0 then\n"
"      local e = redis.call('XPENDING', s, group, '-', '+', 1)\n"
"      if e[1] then idle = e[1][3] end\n"
"    end\n"
"  end\n"
"  out[#out+1] = lag; out[#out+1] = pending; out[#out+1] = idle\n"
"end\n"
"out[#out+1] = redis.call('ZCARD', KEYS[6])\n"
"local info = redis.call('INFO', 'memory')\n"
"out[#out+1] = tonumber(string.match(info, '\\nused_memory:(%d+)') or '-1')\n"
"out[#out+1] = tonumber(string.match(info, '\\nmaxmemory:(%d+)') or '-1')\n"
"local win, nwin = {}, #ARGV - 4\n"
"for w = 1, nwin do win[w] = tonumber(ARGV[4 + w]) end\n"
"local count = {}\n"
"for w = 1, 2 * nwin do count[w] = 0 end\n"
"local e = redis.call('ZRANGEBYSCORE', KEYS[7], '-inf', now + win[nwin], 'WITHSCORES', 'LIMIT', 0, cap)\n"
"for i = 1, #e, 2 do\n"
"  local h = redis.call('HMGET', dprefix .. e[i], 'state', 'released_at')\n"
"  local st = h[1]\n"
"  if st and not GONE[st] and not h[2] then\n"
"    local na, k = tonumber(e[i+1]), UNDER_WAY[st] and 2 or 1\n"
"    for w = 1, nwin do\n"
"      if na <= now + win[w] then count[2 * (w - 1) + k] = count[2 * (w - 1) + k] + 1 end\n"
"    end\n"
"  end\n"
"end\n"
"for w = 1, 2 * nwin do out[#out+1] = count[w] end\n"
"return out\n";

void fleet_gauges_setup(long long visibility_ms)
{
	char l[128];

	for (int s = 0; s < STAGE_COUNT; s++) {
		snprintf(l, sizeof(l), "stage=\"%s\"", stage_name((enum stage)s));
		g.lag[s] = metrics_gauge(METRICS_STREAM_LAG, METRICS_STREAM_LAG_HELP, l);
		g.pending[s] = metrics_gauge(METRICS_STREAM_PENDING, METRICS_STREAM_PENDING_HELP, l);
		g.oldest[s] = metrics_gauge(METRICS_OLDEST_PENDING, METRICS_OLDEST_PENDING_HELP, l);
	}
	g.delayed = metrics_gauge(METRICS_DELAYED, METRICS_DELAYED_HELP, NULL);
	g.noeviction = metrics_gauge(METRICS_REDIS_NOEVICTION, METRICS_REDIS_NOEVICTION_HELP, NULL);
	g.used = metrics_gauge(METRICS_REDIS_USED_MEMORY, METRICS_REDIS_USED_MEMORY_HELP, NULL);
	g.maxmem = metrics_gauge(METRICS_REDIS_MAXMEMORY, METRICS_REDIS_MAXMEMORY_HELP, NULL);
	g.updated = metrics_gauge(METRICS_GAUGES_UPDATED, METRICS_GAUGES_UPDATED_HELP, NULL);
	for (size_t w = 0; w < NWINDOWS; w++)
		for (int k = 0; k < 2; k++) {
			snprintf(l, sizeof(l), "within=\"%dd\",renewal=\"%s\"", expiry_days[w],
			         k ? "under_way" : "none");
			g.expiring[w][k] = metrics_gauge(METRICS_CERTS_EXPIRING,
			                                 METRICS_CERTS_EXPIRING_HELP, l);
		}
	for (int s = 0; s < STATE_COUNT; s++) {
		snprintf(l, sizeof(l), "state=\"%s\"", domain_state_name((enum domain_state)s));
		g.domains[s] = metrics_gauge(METRICS_DOMAINS, METRICS_DOMAINS_HELP, l);
	}
	metrics_gauge_set(metrics_gauge(METRICS_VISIBILITY, METRICS_VISIBILITY_HELP, NULL),
	                  (double)visibility_ms / 1000.0);
}

/* dcv_domains{state}: one HMGET of <p>:states, a field per state (a
 * missing one is 0). */
static enum queue_status domains_update(struct queue *q, char *err, size_t errlen)
{
	char key[300];
	const char *argv[2 + STATE_COUNT];
	struct queue_reply *r;
	enum queue_status st = Q_OK;

	argv[0] = "HMGET";
	argv[1] = queue_key(q, key, sizeof(key), "states");
	for (int s = 0; s < STATE_COUNT; s++)
		argv[2 + s] = domain_state_name((enum domain_state)s);
	r = queue_command(q, 2 + STATE_COUNT, argv, NULL);
	if (!r) {
		snprintf(err, errlen, "fleet gauges: %s", queue_errstr(q));
		return Q_E_IO;
	}
	if (queue_reply_len(r) != STATE_COUNT) {
		snprintf(err, errlen, "fleet gauges: %s",
		         queue_reply_error(r) ? queue_reply_error(r) : "unexpected reply");
		st = Q_E_REPLY;
	} else {
		for (int s = 0; s < STATE_COUNT; s++) {
			const char *v = queue_reply_str(queue_reply_at(r, (size_t)s), NULL);
			metrics_gauge_set(g.domains[s], v ? strtod(v, NULL) : 0);
		}
	}
	queue_reply_free(r);
	return st;
}

enum queue_status fleet_gauges_update(struct queue *q, const char *group, char *err,
                                      size_t errlen)
{
	/* EVAL, the script, numkeys, 7 keys, 4 arguments, the windows */
	enum { NKEYS = STAGE_COUNT + 2, NARGV = 3 + NKEYS + 4 + NWINDOWS,
	       NOUT = 3 * STAGE_COUNT + 3 + 2 * NWINDOWS };
	char keys[NKEYS][300], now[24], cap[24], dprefix[300], win[NWINDOWS][24], policy[64];
	const char *argv[NARGV];
	struct queue_reply *r = NULL;
	long long v[NOUT];
	enum queue_status st = Q_OK;
	size_t n = 0;
	long long now_s = (long long)(queue_now_ms() / 1000);

	err[0] = '\0';
	argv[n++] = "EVAL";
	argv[n++] = gauges_lua;
	argv[n++] = "7";   /* NKEYS */
	for (int s = 0; s < STAGE_COUNT; s++) {
		char suffix[64];
		snprintf(suffix, sizeof(suffix), "stream:%s", stage_name((enum stage)s));
		argv[n++] = queue_key(q, keys[s], sizeof(keys[s]), suffix);
	}
	argv[n++] = queue_key(q, keys[5], sizeof(keys[5]), "delayed");
	argv[n++] = queue_key(q, keys[6], sizeof(keys[6]), "expiry");
	argv[n++] = group;
	snprintf(now, sizeof(now), "%lld", now_s);
	argv[n++] = now;
	argv[n++] = queue_key(q, dprefix, sizeof(dprefix), "domain:");
	snprintf(cap, sizeof(cap), "%d", FLEET_EXPIRY_SCAN);
	argv[n++] = cap;
	for (size_t w = 0; w < NWINDOWS; w++) {
		snprintf(win[w], sizeof(win[w]), "%d", expiry_days[w] * 86400);
		argv[n++] = win[w];
	}

	_Static_assert(NKEYS == 7, "the script takes seven keys");
	r = queue_command(q, (int)n, argv, NULL);
	if (!r) {
		st = Q_E_IO;
		snprintf(err, errlen, "fleet gauges: %s", queue_errstr(q));
		goto out;
	}
	if (queue_reply_len(r) != NOUT) {
		st = Q_E_REPLY;
		snprintf(err, errlen, "fleet gauges: %s",
		         queue_reply_error(r) ? queue_reply_error(r) : "unexpected reply");
		goto out;
	}
	for (size_t i = 0; i < NOUT; i++)
		if (!queue_reply_int(queue_reply_at(r, i), &v[i])) {
			st = Q_E_REPLY;
			snprintf(err, errlen, "fleet gauges: a non-integer in the reply");
			goto out;
		}
	for (int s = 0; s < STAGE_COUNT; s++) {
		metrics_gauge_set(g.lag[s], (double)v[3 * s]);
		metrics_gauge_set(g.pending[s], (double)v[3 * s + 1]);
		metrics_gauge_set(g.oldest[s], (double)v[3 * s + 2] / 1000.0);
	}
	n = 3 * STAGE_COUNT;
	metrics_gauge_set(g.delayed, (double)v[n++]);
	metrics_gauge_set(g.used, (double)v[n++]);
	metrics_gauge_set(g.maxmem, (double)v[n++]);
	for (size_t w = 0; w < NWINDOWS; w++)
		for (int k = 0; k < 2; k++)
			metrics_gauge_set(g.expiring[w][k], (double)v[n++]);

	st = domains_update(q, err, errlen);
	if (st != Q_OK)
		goto out;

	/* the policy as the start-up check reads it (managed Redis included) */
	st = queue_eviction_policy(q, policy, sizeof(policy));
	if (st != Q_OK) {
		snprintf(err, errlen, "fleet gauges: %s", queue_errstr(q));
		goto out;
	}
	metrics_gauge_set(g.noeviction, strcmp(policy, "noeviction") == 0 ? 1 : 0);
	metrics_gauge_set(g.updated, (double)now_s);
out:
	queue_reply_free(r);
	return st;
}
