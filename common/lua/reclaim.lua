-- RECLAIM: XAUTOCLAIM idle entries; dead-letter the poison ones
-- (queue.c: queue_reclaim).
--
-- KEYS: stream        the stage stream
-- ARGV: prefix, group, consumer (who gets the claimed entries),
--       min_idle_ms, count, max_deliveries, stage (its name), now_ms,
--       dead_maxlen, events_maxlen
-- Claims entries idle longer than min_idle_ms for consumer.  An entry
-- delivered more than max_deliveries times is a poison job (it keeps killing
-- or stalling workers): it goes to <p>:dead with the reason instead, with a
-- dead-letter event; its domain fails only when the job is the domain's
-- pipeline job (same job id, and same generation when the job has one).
-- Returns the claimed entries in XREADGROUP's entry format.
local s = KEYS[1]
--@include lib/states.lua
local p, group, consumer, idle, count, maxd, stage, now, deadmax, evmax = unpack(ARGV, 1, 10)
maxd = tonumber(maxd)
local r = redis.call('XAUTOCLAIM', s, group, consumer, idle, '0-0', 'COUNT', count)
local out = {}
for _, e in ipairs(r[2]) do
  local id, f = e[1], e[2]
  local pend = redis.call('XPENDING', s, group, id, id, 1)
  local n = pend[1] and pend[1][4] or 0
  if n > maxd then
    local dom, job = '', ''
    for i = 1, #f, 2 do
      if f[i] == 'domain' then dom = f[i+1] elseif f[i] == 'job' then job = f[i+1] end
    end
    local why = 'poison: delivered '..n..' times without completing'
    redis.call('XADD', p..':dead', 'MAXLEN', '~', deadmax, '*', 'domain', dom,
      'stage', stage, 'reason', why, 'time', now, 'job', job)
    redis.call('XACK', s, group, id)
    redis.call('XADD', p..':events', 'MAXLEN', '~', evmax, '*', 'type', 'dead-letter',
      'domain', dom, 'detail', why, 'time', now)
    local ok, j = pcall(cmsgpack.unpack, job)
    local k = p..':domain:'..dom
    if dom ~= '' and ok and type(j) == 'table' and j.id and
       redis.call('HGET', k, 'job') == j.id and
       ((tonumber(j.gen) or 0) == 0 or
        tonumber(redis.call('HGET', k, 'gen') or '0') == tonumber(j.gen)) then
      count_state(p, k, 'failed')
      redis.call('HSET', k, 'state', 'failed', 'last_error', why, 'updated_at', now)
    end
    redis.call('HINCRBY', p..':stats', 'dead', 1)
    redis.call('HINCRBY', p..':stats', stage..'.poison', 1)
  else
    out[#out + 1] = e
  end
end
return out
