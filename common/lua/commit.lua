-- COMMIT: acknowledge a batch of stage entries and route each one
-- (queue.c: commit_args, the C side of this layout).
--
-- KEYS: none (keys are built from the prefix).
-- ARGV: a header, then n items of ITEM fields each:
--   header  prefix, group, now_ms, events_maxlen, dead_maxlen, n
--   item    src        stage the entry was read from
--           entry      its stream entry id
--           kind       f forward | l later | d done | x dead
--           dst        stage to forward to or delay for ('' for d, x)
--           due_ms     when a delayed job is due
--           job        job bytes
--           domain     '' for a job too broken to trust its domain
--           job_id
--           state      the domain's new state; '' leaves the hash alone
--           attempts
--           last_error '' clears it; a dead letter's reason
--           event      event type, '' none; also recorded as "notified"
--                      (what the backend was last told about the domain)
--           detail     the event's detail
--           gen        the job's generation, 0 none
--           clear      domain hash fields to delete, space-separated
--           fields     more fields of the event: "name\nvalue\n" pairs
--                      ('' none; the C side refuses a LF in either, and a
--                      name of type, domain, detail or time)
--
-- An item is applied only if its XACK acknowledged something: when a slow
-- worker and the one that reclaimed its entry both finish, the first commit
-- wins and the second is dropped, so a job is never forwarded twice.
-- A job of an older generation than the domain's (gen > 0 and below the
-- hash's gen: the domain was onboarded again while it ran) is only
-- acknowledged: it is not routed and leaves the hash alone.
-- A domain whose new state is "offboarded" leaves the expiry index
-- <prefix>:expiry in the same step (its certificate is not ours to renew).
-- A job delayed while its domain has a nudge pending (NUDGE found it in
-- flight) is due at once instead.
-- Returns the number of items applied.
--@include lib/states.lua
local HEAD, ITEM = 6, 16
local RESERVED = {type = true, domain = true, detail = true, time = true}
local p, group, now, evmax, deadmax, n = unpack(ARGV, 1, HEAD)
n = tonumber(n)
local applied, counts = 0, {}
for i = 0, n - 1 do
  local b = HEAD + 1 + i * ITEM
  local src, id, kind, dst, due, job, dom, jid, state, att, err, ev, detail, gen, clear,
    fields =
    unpack(ARGV, b, b + ITEM - 1)
  gen = tonumber(gen)
  if redis.call('XACK', p..':stream:'..src, group, id) == 1 then
    if gen > 0 and dom ~= '' and
       tonumber(redis.call('HGET', p..':domain:'..dom, 'gen') or '0') > gen then
      kind, state, ev = 'd', '', ''
    end
    applied = applied + 1
    local stage = src
    if kind == 'f' then
      redis.call('XADD', p..':stream:'..dst, '*', 'domain', dom, 'job', job)
      stage = dst
    elseif kind == 'l' then
      local m = dst..' '..dom..' '..jid
      if redis.call('HDEL', p..':domain:'..dom, 'nudge_pending') == 1 then due = now end
      redis.call('ZADD', p..':delayed', due, m)
      redis.call('HSET', p..':delayed:jobs', m, job)
      stage = dst
    elseif kind == 'x' then
      redis.call('XADD', p..':dead', 'MAXLEN', '~', deadmax, '*', 'domain', dom,
        'stage', src, 'reason', err, 'time', now, 'job', job)
    end
    if state ~= '' then
      local k = p..':domain:'..dom
      count_state(p, k, state)
      redis.call('HSET', k, 'state', state, 'stage', stage, 'attempts', att,
        'updated_at', now, 'job', jid)
      if err ~= '' then redis.call('HSET', k, 'last_error', err)
      else redis.call('HDEL', k, 'last_error') end
      for f in clear:gmatch('%S+') do redis.call('HDEL', k, f) end
      if ev ~= '' then redis.call('HSET', k, 'notified', ev) end
      if state == 'offboarded' then redis.call('ZREM', p..':expiry', dom) end
    end
    if ev ~= '' then
      local e = {p..':events', 'MAXLEN', '~', evmax, '*', 'type', ev,
        'domain', dom, 'detail', detail, 'time', now}
      local kv = {}
      for v in fields:gmatch('([^\n]*)\n') do kv[#kv + 1] = v end
      for j = 1, #kv - 1, 2 do
        if not RESERVED[kv[j]] then e[#e + 1] = kv[j]; e[#e + 1] = kv[j + 1] end
      end
      redis.call('XADD', unpack(e))
    end
    local c = src..'.'..kind
    counts[c] = (counts[c] or 0) + 1
  end
end
if applied > 0 then
  local names = {f = 'forwarded', l = 'delayed', d = 'done', x = 'dead'}
  local total = {}
  for c, k in pairs(counts) do
    local src, kind = c:match('^(.*)%.(.)$')
    redis.call('HINCRBY', p..':stats', src..'.'..names[kind], k)
    total[names[kind]] = (total[names[kind]] or 0) + k
  end
  for name, k in pairs(total) do redis.call('HINCRBY', p..':stats', name, k) end
  redis.call('HINCRBY', p..':stats', 'transitions', applied)
end
return applied
