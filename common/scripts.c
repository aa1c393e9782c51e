#include "scripts.h"

#include <stddef.h>

#include "lifecycle_names.h"

/*
 * COMMIT
 * ARGV: prefix, group, now_ms, events_maxlen, dead_maxlen, n, then n items of
 * COMMIT_ITEM_ARGS fields:
 *   src stage, entry id, kind (f forward | l later | d done | x dead),
 *   dst stage, due ms, job bytes, domain, job id, state, attempts,
 *   last_error (also the dead letter's reason), event type, event detail,
 *   generation, fields of the domain hash to delete (space-separated).
 * With the state it records the event type as "notified": what the backend
 * was last told about the domain (offboard-check tells each condition once).
 * An item is applied only if its XACK acknowledged something: when a slow
 * worker and the one that reclaimed its entry both finish, the first commit
 * wins and the second is dropped, so a job is never forwarded twice.
 * state "" means: do not touch the domain hash (a job too broken to trust
 * its domain).  A job of an older generation than the domain's (gen > 0 and
 * below the hash's gen: the domain was onboarded again while it ran) is only
 * acknowledged: it is not routed and leaves the hash alone.
 * A job delayed while its domain has a nudge pending (NUDGE found it in
 * flight) is due at once instead.
 * Returns the number of items applied.
 */
static const char commit_lua[] =
"local p, group, now = ARGV[1], ARGV[2], ARGV[3]\n"
"local evmax, deadmax, n = ARGV[4], ARGV[5], tonumber(ARGV[6])\n"
"local applied, counts = 0, {}\n"
"for i = 0, n - 1 do\n"
"  local b = 7 + i * 15\n"
"  local src, id, kind, dst = ARGV[b], ARGV[b+1], ARGV[b+2], ARGV[b+3]\n"
"  local due, job, dom, jid = ARGV[b+4], ARGV[b+5], ARGV[b+6], ARGV[b+7]\n"
"  local state, att, err = ARGV[b+8], ARGV[b+9], ARGV[b+10]\n"
"  local ev, detail, gen, clear = ARGV[b+11], ARGV[b+12], tonumber(ARGV[b+13]), ARGV[b+14]\n"
"  if redis.call('XACK', p..':stream:'..src, group, id) == 1 then\n"
"    if gen > 0 and dom ~= '' and\n"
"       tonumber(redis.call('HGET', p..':domain:'..dom, 'gen') or '0') > gen then\n"
"      kind, state, ev = 'd', '', ''\n"
"    end\n"
"    applied = applied + 1\n"
"    local stage = src\n"
"    if kind == 'f' then\n"
"      redis.call('XADD', p..':stream:'..dst, '*', 'domain', dom, 'job', job)\n"
"      stage = dst\n"
"    elseif kind == 'l' then\n"
"      local m = dst..' '..dom..' '..jid\n"
"      if redis.call('HDEL', p..':domain:'..dom, 'nudge_pending') == 1 then due = now end\n"
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
"      for f in clear:gmatch('%S+') do redis.call('HDEL', k, f) end\n"
"      if ev ~= '' then redis.call('HSET', k, 'notified', ev) end\n"
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
"    -- the domain fails only when this was its pipeline's job\n"
"    local ok, j = pcall(cmsgpack.unpack, job)\n"
"    local k = p..':domain:'..dom\n"
"    if dom ~= '' and ok and type(j) == 'table' and j.id and\n"
"       redis.call('HGET', k, 'job') == j.id and\n"
"       ((tonumber(j.gen) or 0) == 0 or\n"
"        tonumber(redis.call('HGET', k, 'gen') or '0') == tonumber(j.gen)) then\n"
"      redis.call('HSET', k, 'state', 'failed', 'last_error', why, 'updated_at', now)\n"
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

/*
 * Tenant isolation (schemas/lifecycle.md, "Tenants").  A name belongs to
 * the tenant that onboarded it: <p>:owner:<base> is a hash with the field
 * "tenant" and one field per domain record whose certificate names <base>
 * (its value: the generation that claimed it).  <base> is a name without a
 * wildcard's "*.": a delegation, which "*.example.com" and "example.com"
 * share.  Every holder of a name has the same tenant ("" is a tenant of its
 * own), so a name is free for a tenant when the hash is absent or has its
 * tenant.  ONBOARD and CLAIM check every name of a new pipeline and claim
 * them all in the same script; RELEASE gives them up.  (Only commands
 * of deploy/redis/users.acl: HGETALL, not HKEYS or HLEN.)
 */
#define OWNER_LUA \
"local function bases(names)\n" \
"  local out, seen = {}, {}\n" \
"  for n in string.gmatch(names, '[^,]+') do\n" \
"    local b = string.gsub(n, '^%*%.', '')\n" \
"    if not seen[b] then seen[b] = true; out[#out + 1] = b end\n" \
"  end\n" \
"  return out\n" \
"end\n" \
"local function held(p, names, tenant)\n" \
"  for _, b in ipairs(bases(names)) do\n" \
"    local o = p..':owner:'..b\n" \
"    local t = redis.call('HGET', o, 'tenant')\n" \
"    if t and t ~= tenant then\n" \
"      local by = b\n" \
"      local f = redis.call('HGETALL', o)\n" \
"      for j = 1, #f, 2 do\n" \
"        if f[j] ~= 'tenant' then by = f[j]; break end\n" \
"      end\n" \
"      return 'refused: '..b..' is held by another tenant (domain '..by..\n" \
"        '); it must be released first (dcvctl release '..by..')'\n" \
"    end\n" \
"  end\n" \
"  return nil\n" \
"end\n" \
"local function unclaim(p, dom, names)\n" \
"  for _, b in ipairs(bases(names)) do\n" \
"    local o = p..':owner:'..b\n" \
"    redis.call('HDEL', o, dom)\n" \
"    if #redis.call('HGETALL', o) <= 2 then redis.call('DEL', o) end\n" \
"  end\n" \
"end\n" \
"local function claim(p, dom, names, tenant, gen)\n" \
"  for _, b in ipairs(bases(names)) do\n" \
"    redis.call('HSET', p..':owner:'..b, 'tenant', tenant, dom, gen)\n" \
"  end\n" \
"end\n"

/*
 * The domain lifecycle (schemas/lifecycle.md).  Shared by ONBOARD, CLAIM,
 * NUDGE and OFFBOARD: the states in which a pipeline job exists for the
 * domain (in a stream or in the delayed set; lifecycle_names.h, RUN and
 * HELD), and NUDGE's move of that job to "due now".
 */
#define LIFECYCLE_LUA_COMMON \
LIFECYCLE_ACTIVE_LUA \
"local function nudge(p, k, dom, now)\n" \
"  local h = redis.call('HMGET', k, 'stage', 'job')\n" \
"  redis.call('HSET', k, 'nudged_at', now)\n" \
"  if not h[1] or not h[2] then return 0 end\n" \
"  local m = h[1]..' '..dom..' '..h[2]\n" \
"  if not redis.call('ZSCORE', p..':delayed', m) then\n" \
"    redis.call('HSET', k, 'nudge_pending', 1)\n" \
"    return 0\n" \
"  end\n" \
"  redis.call('ZADD', p..':delayed', 'XX', now, m)\n" \
"  return 1\n" \
"end\n" \
"local function fresh(k)\n" \
"  redis.call('HDEL', k, 'verified_gen', 'order_url', 'order_gen',\n" \
"    'offboard_requested', 'last_error', 'invalid_count', 'nudged_at',\n" \
"    'ever_pointed', 'first_issued_at', 'pending_key', 'notified',\n" \
"    'nudge_pending', 'claim_entry', 'authz', 'challenges', 'released_at',\n" \
"    'pointed', 'away', 'left', 'missing', 'checked_at', 'check_at', 'ari_next',\n" \
"    'order_started')\n" \
"end\n" \
OWNER_LUA

/*
 * ONBOARD
 * ARGV: prefix, now_ms, n, then n items of: domain, tenant, target, names,
 * job bytes, job id.  An item naming a name that another tenant holds is
 * refused, and changes nothing; a domain with a pipeline running is only
 * nudged; any other gets a new generation, claims its names (and gives up
 * the ones its previous generation named and this one does not) and gets
 * its job in verify-cname.  Items are applied in order, so a later item
 * sees what an earlier one claimed.  Returns one "queued", "nudged" or
 * "refused: <why>" per item.
 */
static const char onboard_lua[] = LIFECYCLE_LUA_COMMON
"local p, now, n = ARGV[1], ARGV[2], tonumber(ARGV[3])\n"
"local out = {}\n"
"for i = 0, n - 1 do\n"
"  local b = 4 + i * 6\n"
"  local dom, tenant, target, names = ARGV[b], ARGV[b+1], ARGV[b+2], ARGV[b+3]\n"
"  local job, jid = ARGV[b+4], ARGV[b+5]\n"
"  local k = p..':domain:'..dom\n"
"  local h = redis.call('HMGET', k, 'state', 'names')\n"
"  local why = held(p, names, tenant)\n"
"  if why then\n"
"    out[#out + 1] = why\n"
"  elseif h[1] and ACTIVE[h[1]] then\n"
"    nudge(p, k, dom, now)\n"
"    out[#out + 1] = 'nudged'\n"
"  else\n"
"    unclaim(p, dom, h[2] or dom)\n"
"    local gen = redis.call('HINCRBY', k, 'gen', 1)\n"
"    claim(p, dom, names, tenant, gen)\n"
"    fresh(k)\n"
"    redis.call('HSETNX', k, 'created_at', now)\n"
"    redis.call('HSET', k, 'state', 'queued', 'stage', 'verify-cname',\n"
"      'tenant', tenant, 'target', target, 'names', names, 'job', jid,\n"
"      'attempts', 0, 'onboarded_at', now, 'updated_at', now)\n"
"    local e = redis.call('XADD', p..':stream:verify-cname', '*', 'domain', dom, 'job', job)\n"
"    redis.call('HSET', k, 'claim_entry', e)\n"
"    out[#out + 1] = 'queued'\n"
"  end\n"
"end\n"
"return out\n";

/*
 * CLAIM
 * ARGV: prefix, now_ms, domain, job id, tenant, target, names, stream entry
 * id.  Run by verify-cname for a job without a generation (enqueued by dcvctl
 * onboard, or XADDed by the backend itself).  Returns {code, gen[, why]}:
 * 2 this entry is the domain's pipeline already (ONBOARD or an earlier
 * delivery claimed it: adopt gen), 1 a new pipeline (new gen; its names
 * claimed as ONBOARD does), 0 another pipeline of the same tenant runs (it
 * was nudged; drop this job; also a second XADD of the same job), -1 a name
 * is held by another tenant (why says which; nothing changed).
 */
static const char claim_lua[] = LIFECYCLE_LUA_COMMON
"local p, now, dom, jid, entry = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[8]\n"
"local tenant, names = ARGV[5], ARGV[7]\n"
"local k = p..':domain:'..dom\n"
"local h = redis.call('HMGET', k, 'state', 'job', 'gen', 'claim_entry', 'names')\n"
"local gen = tonumber(h[3] or '0')\n"
"if h[2] == jid and h[4] == entry and gen > 0 then return {2, gen} end\n"
"local why = held(p, names, tenant)\n"
"if why then return {-1, gen, why} end\n"
"if h[1] and ACTIVE[h[1]] and h[2] then\n"
"  nudge(p, k, dom, now)\n"
"  return {0, gen}\n"
"end\n"
"unclaim(p, dom, h[5] or dom)\n"
"gen = redis.call('HINCRBY', k, 'gen', 1)\n"
"claim(p, dom, names, tenant, gen)\n"
"fresh(k)\n"
"redis.call('HSETNX', k, 'created_at', now)\n"
"redis.call('HSET', k, 'state', 'verifying', 'stage', 'verify-cname', 'job', jid,\n"
"  'tenant', tenant, 'target', ARGV[6], 'names', names, 'attempts', 0,\n"
"  'onboarded_at', now, 'updated_at', now, 'claim_entry', entry)\n"
"return {1, gen}\n";

/*
 * NUDGE
 * ARGV: prefix, now_ms, domain.  Returns -1 when the domain is unknown, -2
 * when no pipeline runs (it ended: onboard it again), 1 when its waiting job
 * was made due now, 0 when the job is in a stream or in a handler: then "nudge_pending" makes its next delay zero (COMMIT).
 */
static const char nudge_lua[] = LIFECYCLE_LUA_COMMON
"local p, now, dom = ARGV[1], ARGV[2], ARGV[3]\n"
"local k = p..':domain:'..dom\n"
"local st = redis.call('HGET', k, 'state')\n"
"if not st then return -1 end\n"
"if not ACTIVE[st] then return -2 end\n"
"return nudge(p, k, dom, now)\n";

/*
 * OFFBOARD
 * ARGV: prefix, now_ms, domain, job bytes (an offboard-check job of the
 * domain's current generation and job id), gen.  A running pipeline is
 * flagged and nudged (its next stage turns to offboard-check); a domain
 * without one gets the job.  Returns -1 unknown domain, -2 the generation
 * moved (retry), -3 released (nothing runs for it), 0 already offboarded,
 * 1 flagged, 2 enqueued.
 */
static const char offboard_lua[] = LIFECYCLE_LUA_COMMON
"local p, now, dom, job, gen = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]\n"
"local k = p..':domain:'..dom\n"
"local h = redis.call('HMGET', k, 'state', 'gen', 'offboard_requested', 'released_at')\n"
"if not h[1] then return -1 end\n"
"if (h[2] or '0') ~= gen then return -2 end\n"
"if h[4] then return -3 end\n"
"if h[1] == 'offboarded' or h[3] then return 0 end\n"
"redis.call('HSET', k, 'offboard_requested', now, 'updated_at', now)\n"
"if ACTIVE[h[1]] then\n"
"  nudge(p, k, dom, now)\n"
"  return 1\n"
"end\n"
"redis.call('HSET', k, 'state', 'offboarded', 'stage', 'offboard-check')\n"
"redis.call('XADD', p..':stream:offboard-check', '*', 'domain', dom, 'job', job)\n"
"return 2\n";

/*
 * RELEASE
 * ARGV: prefix, now_ms, domain.  Gives up the names of a domain whose
 * pipeline has ended (any state but the active ones; a running pipeline
 * is offboarded first), so that any tenant may onboard them: the domain is
 * removed from the holders of each name (a name without holders is free)
 * and the record gets released_at.  The record stays (its counters, its
 * certificate's summary and the TXT values still listed, which the
 * domain's next onboarding removes); a job of its ended pipeline that
 * still runs is dropped at its next stage (the gate).  Returns {code,
 * state}: -1 unknown domain, -2 its pipeline runs (state says which), 0
 * released already, 1 released.
 */
static const char release_lua[] = LIFECYCLE_LUA_COMMON
"local p, now, dom = ARGV[1], ARGV[2], ARGV[3]\n"
"local k = p..':domain:'..dom\n"
"local h = redis.call('HMGET', k, 'state', 'names', 'released_at')\n"
"if not h[1] then return {-1, ''} end\n"
"if ACTIVE[h[1]] then return {-2, h[1]} end\n"
"if h[3] then return {0, h[1]} end\n"
"unclaim(p, dom, h[2] or dom)\n"
"redis.call('HSET', k, 'released_at', now, 'updated_at', now)\n"
"return {1, h[1]}\n";

/*
 * BUCKET
 * KEYS[1]: the bucket.  ARGV: now_ms, limit, period_ms, mode, a1, a2,
 * member, delayed key.
 * A bucket of LIMIT requests per PERIOD kept as virtual scheduling (GCRA):
 * "tat" is the theoretical arrival time of the next request, T = PERIOD /
 * LIMIT apart; a request may go once tat - PERIOD + T is not in the future,
 * so LIMIT may go at once from a full bucket and then one every T.
 *   take     take a token if there is one (else tell the wait; nothing
 *            changes)
 *   peek     only tell the wait
 *   reserve  take the next slot in line whatever its time: the holder waits
 *            until that slot and then goes without asking again; the slot
 *            and the bucket's "shift" are returned for the holder to keep.
 *            A holder that must wait is put in the line, "<bucket>:line", a
 *            sorted set of MEMBER (its entry in the delayed set) by slot
 *   claim    a holder of slot a1 given at shift a2 asks whether it may go:
 *            its slot moved by the blocks since (shift - a2), and never
 *            before blocked_until; it leaves the line when it goes
 *   block    no request before a1 (a CA's Retry-After): every slot given out
 *            is pushed back by the part of the block that is new ("shift"),
 *            and so is each waiter's entry in the delayed set, so that no
 *            waiter wakes during the block; after the block the bucket holds
 *            one token, so the line resumes at one per T, not in a burst
 * Places older than two periods are dropped from the line (their holders
 * went, or died).  An older bucket (tokens, ts) is read as the same state.
 * Returns {wait ms (0: go), slot, shift}.
 */
static const char bucket_lua[] =
"local k, now, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])\n"
"local period, mode = tonumber(ARGV[3]), ARGV[4]\n"
"local a1, a2 = tonumber(ARGV[5]) or 0, tonumber(ARGV[6]) or 0\n"
"local member, delayed = ARGV[7] or '', ARGV[8] or ''\n"
"local line = k..':line'\n"
"local T = period / limit\n"
"local h = redis.call('HMGET', k, 'tat', 'shift', 'blocked_until', 'tokens', 'ts')\n"
"local tat = tonumber(h[1])\n"
"if not tat and h[4] and h[5] then\n"
"  tat = tonumber(h[5]) + (limit - math.min(limit, tonumber(h[4]))) * T\n"
"end\n"
"tat = tat or now\n"
"local shift, blocked = tonumber(h[2] or '0'), tonumber(h[3] or '0')\n"
"local base = math.max(tat, now)\n"
"local wait, slot = 0, 0\n"
"redis.call('ZREMRANGEBYSCORE', line, '-inf', '('..string.format('%.0f', now - 2 * period))\n"
"if mode == 'block' then\n"
"  local ext = a1 - math.max(blocked, now)\n"
"  if ext > 0 then\n"
"    shift = shift + ext\n"
"    tat = base + ext\n"
"    local w = redis.call('ZRANGEBYSCORE', line, now, '+inf', 'WITHSCORES')\n"
"    for i = 1, #w, 2 do\n"
"      local s = string.format('%.0f', tonumber(w[i + 1]) + ext)\n"
"      redis.call('ZADD', line, s, w[i])\n"
"      if delayed ~= '' then redis.call('ZADD', delayed, 'XX', s, w[i]) end\n"
"    end\n"
"  end\n"
"  if a1 > blocked then blocked = a1 end\n"
"  if tat < blocked + period - T then tat = blocked + period - T end\n"
"elseif mode == 'reserve' then\n"
"  slot = math.max(now, base + T - period, blocked)\n"
"  tat = base + T\n"
"  wait = slot - now\n"
"elseif mode == 'claim' then\n"
"  slot = math.max(a1 + shift - a2, blocked)\n"
"  wait = math.max(0, slot - now)\n"
"else\n"
"  local first = math.max(base + T - period, blocked)\n"
"  if first > now then wait = first - now\n"
"  elseif mode == 'take' then tat = base + T end\n"
"end\n"
"if member ~= '' and (mode == 'reserve' or mode == 'claim') then\n"
"  if wait > 0 then redis.call('ZADD', line, string.format('%.0f', slot), member)\n"
"  else redis.call('ZREM', line, member) end\n"
"end\n"
"local tokens = (now + period - math.max(tat, now)) / T\n"
"redis.call('HSET', k, 'tat', string.format('%.3f', tat), 'shift',\n"
"  string.format('%.3f', shift), 'blocked_until', string.format('%.0f', blocked),\n"
"  'tokens', string.format('%.3f', tokens), 'ts', string.format('%.0f', now))\n"
"local ttl = math.floor(math.max(tat, blocked) - now + 2 * period)\n"
"redis.call('PEXPIRE', k, ttl)\n"
"if redis.call('EXISTS', line) == 1 then redis.call('PEXPIRE', line, ttl) end\n"
"return {math.ceil(wait), math.floor(slot), math.floor(shift)}\n";

/*
 * DOMAIN_SET
 * ARGV: prefix, domain, gen, job id, field to HINCRBY ('' none), guard
 * field ('' none), its expected value, event type ('' none), event detail,
 * events_maxlen, now_ms, n, then n field/value pairs to set, then fields to
 * delete.  A stage's own writes to the domain hash, applied only while the
 * domain is still at this job's generation and job: a job that was
 * overtaken (the domain was onboarded again while it ran) writes nothing.
 * With a guard, only while the guard field still holds the value the stage
 * read (absent reads as ''): two runs of one job (a slow worker and the one
 * that reclaimed it) cannot both act on the same observation.  With an
 * event, the event is added (and recorded as "notified") together with the
 * writes, so the bookkeeping that says "told" and the telling are one step.
 * Returns -1 when overtaken, -2 when the guard failed, else the incremented
 * value, else 1.
 */
static const char domain_set_lua[] =
"local p, dom = ARGV[1], ARGV[2]\n"
"local k = p..':domain:'..dom\n"
"local h = redis.call('HMGET', k, 'gen', 'job')\n"
"if h[1] ~= ARGV[3] or h[2] ~= ARGV[4] then return -1 end\n"
"if ARGV[6] ~= '' and (redis.call('HGET', k, ARGV[6]) or '') ~= ARGV[7] then\n"
"  return -2\n"
"end\n"
"local n = tonumber(ARGV[12])\n"
"for i = 0, n - 1 do redis.call('HSET', k, ARGV[13 + 2 * i], ARGV[14 + 2 * i]) end\n"
"for i = 13 + 2 * n, #ARGV do redis.call('HDEL', k, ARGV[i]) end\n"
"if ARGV[8] ~= '' then\n"
"  redis.call('HSET', k, 'notified', ARGV[8])\n"
"  redis.call('XADD', p..':events', 'MAXLEN', '~', ARGV[10], '*', 'type', ARGV[8],\n"
"    'domain', dom, 'detail', ARGV[9], 'time', ARGV[11])\n"
"end\n"
"if ARGV[5] ~= '' then return redis.call('HINCRBY', k, ARGV[5], 1) end\n"
"return 1\n";

const char *script_name(enum script_id id)
{
	static const char *const names[SCRIPT_COUNT] = {
		[SCRIPT_COMMIT] = "commit", [SCRIPT_PROMOTE] = "promote",
		[SCRIPT_RECLAIM] = "reclaim", [SCRIPT_TRIM] = "trim",
		[SCRIPT_REPLAY] = "replay", [SCRIPT_ONBOARD] = "onboard",
		[SCRIPT_CLAIM] = "claim", [SCRIPT_NUDGE] = "nudge",
		[SCRIPT_OFFBOARD] = "offboard", [SCRIPT_RELEASE] = "release",
		[SCRIPT_BUCKET] = "bucket", [SCRIPT_DOMAIN_SET] = "domain_set",
	};
	return (unsigned)id < SCRIPT_COUNT ? names[id] : NULL;
}

const char *script_source(enum script_id id)
{
	switch (id) {
	case SCRIPT_COMMIT: return commit_lua;
	case SCRIPT_PROMOTE: return promote_lua;
	case SCRIPT_RECLAIM: return reclaim_lua;
	case SCRIPT_TRIM: return trim_lua;
	case SCRIPT_REPLAY: return replay_lua;
	case SCRIPT_ONBOARD: return onboard_lua;
	case SCRIPT_CLAIM: return claim_lua;
	case SCRIPT_NUDGE: return nudge_lua;
	case SCRIPT_OFFBOARD: return offboard_lua;
	case SCRIPT_RELEASE: return release_lua;
	case SCRIPT_BUCKET: return bucket_lua;
	case SCRIPT_DOMAIN_SET: return domain_set_lua;
	case SCRIPT_COUNT: break;
	}
	return NULL;
}
