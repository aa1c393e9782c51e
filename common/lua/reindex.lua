-- REINDEX: one batch of the rebuild of what the fleet gauges read (dcvctl
-- reindex, workers/ctl_cert.c), for a fleet whose records and
-- certificates were written before these existed.
--
-- KEYS: none.
-- ARGV: prefix, cursor (a SCAN cursor, '0' to start), count (SCAN's
--       COUNT), what ('expiry' or 'states')
-- expiry  for each hash <prefix>:cert:<domain> of one SCAN step: a domain
--         still ours (its record present, not offboarded and not
--         released) gets the score not_after of its hash in
--         <prefix>:expiry (ZADD: the same score again changes nothing);
--         any other domain's member is removed.  A hash without a numeric
--         not_after is left alone.
-- states  for each record <prefix>:domain:<domain> of one SCAN step with a
--         state and not yet counted (no "counted", lib/states.lua): counted
--         in <prefix>:states under its state.
-- Both are idempotent: run again, they change nothing.
-- Returns {next cursor ('0' when done), indexed or counted, removed}.
--@include lib/states.lua
local p, cursor, count, what = unpack(ARGV, 1, 4)
local pre = p..(what == 'states' and ':domain:' or ':cert:')
local r = redis.call('SCAN', cursor, 'MATCH', pre..'*', 'COUNT', count, 'TYPE', 'hash')
local added, removed = 0, 0
for _, key in ipairs(r[2]) do
  local dom = key:sub(#pre + 1)
  if what == 'states' then
    local h = redis.call('HMGET', key, 'state', 'counted')
    if h[1] and not h[2] then
      count_state(p, key, h[1])
      added = added + 1
    end
  else
    local na = tonumber(redis.call('HGET', key, 'not_after') or '')
    local h = redis.call('HMGET', p..':domain:'..dom, 'state', 'released_at')
    if na and h[1] and h[1] ~= 'offboarded' and not h[2] then
      redis.call('ZADD', p..':expiry', na, dom)
      added = added + 1
    elseif na then
      removed = removed + redis.call('ZREM', p..':expiry', dom)
    end
  end
end
return {r[1], added, removed}
