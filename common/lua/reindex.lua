-- REINDEX: one batch of the rebuild of the expiry index <prefix>:expiry
-- from the certificate hashes (dcvctl cert reindex, workers/ctl_cert.c),
-- for a fleet whose certificates were stored before the index was written.
--
-- KEYS: none.
-- ARGV: prefix, cursor (a SCAN cursor, '0' to start), count (SCAN's COUNT)
-- For each hash <prefix>:cert:<domain> of one SCAN step: a domain still ours
-- (its record present, not offboarded and not released) gets the score
-- not_after of its hash (ZADD: the same score again changes nothing); any
-- other domain's member is removed.  A hash without a numeric not_after
-- is left alone.  Idempotent: run it again, the index is the same.
-- Returns {next cursor ('0' when done), indexed, removed}.
local p, cursor, count = unpack(ARGV, 1, 3)
local pre = p..':cert:'
local r = redis.call('SCAN', cursor, 'MATCH', pre..'*', 'COUNT', count, 'TYPE', 'hash')
local added, removed = 0, 0
for _, ck in ipairs(r[2]) do
  local dom = ck:sub(#pre + 1)
  local na = tonumber(redis.call('HGET', ck, 'not_after') or '')
  local h = redis.call('HMGET', p..':domain:'..dom, 'state', 'released_at')
  if na and h[1] and h[1] ~= 'offboarded' and not h[2] then
    redis.call('ZADD', p..':expiry', na, dom)
    added = added + 1
  elseif na then
    removed = removed + redis.call('ZREM', p..':expiry', dom)
  end
end
return {r[1], added, removed}
