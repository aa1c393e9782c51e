-- TRIM: XTRIM MINID below the oldest pending entry (queue.c: queue_trim).
--
-- KEYS: stream        the stage stream
-- ARGV: group, consumer_idle_ms
-- Every entry older than both the oldest pending one and the group's last
-- delivered one has been acknowledged: XTRIM MINID drops them (approximately,
-- by whole nodes), and never a pending or undelivered entry.  Trimming from
-- the head, unlike XDEL, keeps XINFO GROUPS' lag exact for autoscalers.
-- Also forgets consumers (dead workers) idle longer than consumer_idle_ms
-- with nothing pending.  Returns the number of entries trimmed (0 when the
-- group does not exist).
local s = KEYS[1]
local group, cidle = unpack(ARGV, 1, 2)
cidle = tonumber(cidle)
local last
for _, g in ipairs(redis.call('XINFO', 'GROUPS', s)) do
  local name, ld
  for i = 1, #g, 2 do
    if g[i] == 'name' then name = g[i+1] elseif g[i] == 'last-delivered-id' then ld = g[i+1] end
  end
  if name == group then last = ld end
end
if not last then return 0 end
local minid = last
local pend = redis.call('XPENDING', s, group)
if pend[1] > 0 then minid = pend[2] end
local trimmed = 0
if minid ~= '0-0' then trimmed = redis.call('XTRIM', s, 'MINID', '~', minid) end
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', s, group)) do
  local name, pending, cid
  for i = 1, #c, 2 do
    if c[i] == 'name' then name = c[i+1] elseif c[i] == 'pending' then pending = c[i+1]
    elseif c[i] == 'idle' then cid = c[i+1] end
  end
  if pending == 0 and cid > cidle then redis.call('XGROUP', 'DELCONSUMER', s, group, name) end
end
return trimmed
