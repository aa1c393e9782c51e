#include "scripts.h"

#include <stddef.h>

/*
 * COMMIT
 * ARGV: prefix, group, now_ms, events_maxlen, dead_maxlen, n, then n items of
 * COMMIT_ITEM_ARGS fields:
 *   src stage, entry id, kind (f forward | l later | d done | x dead),
 *   dst stage, due ms, job bytes, domain, job id, state, attempts,
 *   last_error (also the dead letter's reason), event type, event detail.
 * An item is applied only if its XACK acknowledged something: when a slow
 * worker and the one that reclaimed its entry both finish, the first commit
 * wins and the second is dropped, so a job is never forwarded twice.
 * state "" means: do not touch the domain hash (a job too broken to trust
 * its domain).  Returns the number of items applied.
 */
static const char commit_lua[] =
"local p, group, now = ARGV[1], ARGV[2], ARGV[3]\n"
"local evmax, deadmax, n = ARGV[4], ARGV[5], tonumber(ARGV[6])\n"
"local applied, counts = 0, {}\n"
"for i = 0, n - 1 do\n"
"  local b = 7 + i * 13\n"
"  local src, id, kind, dst = ARGV[b], ARGV[b+1], ARGV[b+2], ARGV[b+3]\n"
"  local due, job, dom, jid = ARGV[b+4], ARGV[b+5], ARGV[b+6], ARGV[b+7]\n"
"  local state, att, err = ARGV[b+8], ARGV[b+9], ARGV[b+10]\n"
"  local ev, detail = ARGV[b+11], ARGV[b+12]\n"
"  if redis.call('XACK', p..':stream:'..src, group, id) == 1 then\n"
"    applied = applied + 1\n"
"    local stage = src\n"
"    if kind == 'f' then\n"
"      redis.call('XADD', p..':stream:'..dst, '*', 'domain', dom, 'job', job)\n"
"      stage = dst\n"
"    elseif kind == 'l' then\n"
"      local m = dst..' '..dom..' '..jid\n"
"      redis.call('ZADD', p..':delayed', due, m)\n"
"      redis.call('HSET', p..':delayed:jobs', m, job)\n"
"      stage = dst\n"
"    elseif kind == 'x' then\n"
"      redis.call('XADD', p..':dead', 'MAXLEN', '~', deadmax, '*', 'domain', dom,\n"
"        'stage', src, 'reason', err, 'time', now, 'job', job)\n"
"    end\n"
"    if state ~= '' then\n"
"      local k = p..':domain:'..dom\n"
"      redis.call('HSET', k, 'state', state, 'stage', stage, 'attempts', att,\n"
"        'updated_at', now, 'job', jid)\n"
"      if err ~= '' then redis.call('HSET', k, 'last_error', err)\n"
"      else redis.call('HDEL', k, 'last_error') end\n"
"    end\n"
"    if ev ~= '' then\n"
"      redis.call('XADD', p..':events', 'MAXLEN', '~', evmax, '*', 'type', ev,\n"
"        'domain', dom, 'detail', detail, 'time', now)\n"
"    end\n"
"    local c = src..'.'..kind\n"
"    counts[c] = (counts[c] or 0) + 1\n"
"  end\n"
"end\n"
"if applied > 0 then\n"
"  local names = {f = 'forwarded', l = 'delayed', d = 'done', x = 'dead'}\n"
"  local total = {}\n"
"  for c, k in pairs(counts) do\n"
"    local src, kind = c:match('^(.*)%.(.)$')\n"
"    redis.call('HINCRBY', p..':stats', src..'.'..names[kind], k)\n"
"    total[names[kind]] = (total[names[kind]] or 0) + k\n"
"  end\n"
"  for name, k in pairs(total) do redis.call('HINCRBY', p..':stats', name, k) end\n"
"  redis.call('HINCRBY', p..':stats', 'transitions', applied)\n"
"end\n"
"return applied\n";

/*
 * PROMOTE
 * ARGV: prefix, now_ms, max.  Members of <p>:delayed are
 * "<stage> <domain> <job id>"; the job bytes are in <p>:delayed:jobs.
 * Returns the number of jobs moved to their stage streams.
 */
static const char promote_lua[] =
"local p, now, max = ARGV[1], ARGV[2], tonumber(ARGV[3])\n"
"local due = redis.call('ZRANGEBYSCORE', p..':delayed', '-inf', now, 'LIMIT', 0, max)\n"
"for _, m in ipairs(due) do\n"
"  local job = redis.call('HGET', p..':delayed:jobs', m)\n"
"  local stage, dom = m:match('^(%S+) (%S+) ')\n"
"  if job and stage then\n"
"    redis.call('XADD', p..':stream:'..stage, '*', 'domain', dom, 'job', job)\n"
"  end\n"
"  redis.call('ZREM', p..':delayed', m)\n"
"  redis.call('HDEL', p..':delayed:jobs', m)\n"
"end\n"
"return #due\n";

/*
 * RECLAIM
 * KEYS[1]: the stage stream.  ARGV: prefix, group, consumer, min_idle_ms,
 * count, max_deliveries, stage, now_ms, dead_maxlen, events_maxlen.
 * Claims entries idle longer than min_idle_ms for CONSUMER.  An entry
 * delivered more than max_deliveries times is a poison job (it keeps killing
 * or stalling workers): it goes to <p>:dead with the reason instead.
 * Returns the claimed entries in XREADGROUP's entry format.
 */
static const char reclaim_lua[] =
"local s = KEYS[1]\n"
"local p, group, consumer = ARGV[1], ARGV[2], ARGV[3]\n"
"local idle, count, maxd = ARGV[4], ARGV[5], tonumber(ARGV[6])\n"
"local stage, now, deadmax, evmax = ARGV[7], ARGV[8], ARGV[9], ARGV[10]\n"
"local r = redis.call('XAUTOCLAIM', s, group, consumer, idle, '0-0', 'COUNT', count)\n"
"local out = {}\n"
"for _, e in ipairs(r[2]) do\n"
"  local id, f = e[1], e[2]\n"
"  local pend = redis.call('XPENDING', s, group, id, id, 1)\n"
"  local n = pend[1] and pend[1][4] or 0\n"
"  if n > maxd then\n"
"    local dom, job = '', ''\n"
"    for i = 1, #f, 2 do\n"
"      if f[i] == 'domain' then dom = f[i+1] elseif f[i] == 'job' then job = f[i+1] end\n"
"    end\n"
"    local why = 'poison: delivered '..n..' times without completing'\n"
"    redis.call('XADD', p..':dead', 'MAXLEN', '~', deadmax, '*', 'domain', dom,\n"
"      'stage', stage, 'reason', why, 'time', now, 'job', job)\n"
"    redis.call('XACK', s, group, id)\n"
"    redis.call('XADD', p..':events', 'MAXLEN', '~', evmax, '*', 'type', 'dead-letter',\n"
"      'domain', dom, 'detail', why, 'time', now)\n"
"    if dom ~= '' and redis.call('EXISTS', p..':domain:'..dom) == 1 then\n"
"      redis.call('HSET', p..':domain:'..dom, 'state', 'failed', 'last_error', why,\n"
"        'updated_at', now)\n"
"    end\n"
"    redis.call('HINCRBY', p..':stats', 'dead', 1)\n"
"    redis.call('HINCRBY', p..':stats', stage..'.poison', 1)\n"
"  else\n"
"    out[#out + 1] = e\n"
"  end\n"
"end\n"
"return out\n";

/*
 * TRIM
 * KEYS[1]: the stage stream.  ARGV: group, consumer_idle_ms.
 * Every entry older than both the oldest pending one and the group's last
 * delivered one has been acknowledged: XTRIM MINID drops them (approximately,
 * by whole nodes), and never a pending or undelivered entry.  Trimming from
 * the head, unlike XDEL, keeps XINFO GROUPS' lag exact for autoscalers.
 * Also forgets consumers (dead workers) idle longer than consumer_idle_ms
 * with nothing pending.  Returns the number of entries trimmed.
 */
static const char trim_lua[] =
"local s, group, cidle = KEYS[1], ARGV[1], tonumber(ARGV[2])\n"
"local last\n"
"for _, g in ipairs(redis.call('XINFO', 'GROUPS', s)) do\n"
"  local name, ld\n"
"  for i = 1, #g, 2 do\n"
"    if g[i] == 'name' then name = g[i+1] elseif g[i] == 'last-delivered-id' then ld = g[i+1] end\n"
"  end\n"
"  if name == group then last = ld end\n"
"end\n"
"if not last then return 0 end\n"
"local minid = last\n"
"local pend = redis.call('XPENDING', s, group)\n"
"if pend[1] > 0 then minid = pend[2] end\n"
"local trimmed = 0\n"
"if minid ~= '0-0' then trimmed = redis.call('XTRIM', s, 'MINID', '~', minid) end\n"
"for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', s, group)) do\n"
"  local name, pending, idle\n"
"  for i = 1, #c, 2 do\n"
"    if c[i] == 'name' then name = c[i+1] elseif c[i] == 'pending' then pending = c[i+1]\n"
"    elseif c[i] == 'idle' then idle = c[i+1] end\n"
"  end\n"
"  if pending == 0 and idle > cidle then redis.call('XGROUP', 'DELCONSUMER', s, group, name) end\n"
"end\n"
"return trimmed\n";

/*
 * REPLAY
 * ARGV: prefix, dead entry id, now_ms.  Moves the dead letter's job back to
 * the stream of the stage it died in, with its attempt count as it was.
 * Returns the stage name, or false when the entry does not exist.
 */
static const char replay_lua[] =
"local p, id = ARGV[1], ARGV[2]\n"
"local r = redis.call('XRANGE', p..':dead', id, id)\n"
"if #r == 0 then return false end\n"
"local f, dom, stage, job = r[1][2], '', nil, nil\n"
"for i = 1, #f, 2 do\n"
"  if f[i] == 'domain' then dom = f[i+1] elseif f[i] == 'stage' then stage = f[i+1]\n"
"  elseif f[i] == 'job' then job = f[i+1] end\n"
"end\n"
"if not stage or not job then return false end\n"
"redis.call('XADD', p..':stream:'..stage, '*', 'domain', dom, 'job', job)\n"
"redis.call('XDEL', p..':dead', id)\n"
"return stage\n";

const char *script_source(enum script_id id)
{
	switch (id) {
	case SCRIPT_COMMIT: return commit_lua;
	case SCRIPT_PROMOTE: return promote_lua;
	case SCRIPT_RECLAIM: return reclaim_lua;
	case SCRIPT_TRIM: return trim_lua;
	case SCRIPT_REPLAY: return replay_lua;
	case SCRIPT_COUNT: break;
	}
	return NULL;
}
