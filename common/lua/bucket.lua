-- BUCKET: a token bucket of the rate limiter (common/ratelimit.c: bucket).
--
-- KEYS: bucket        the bucket's hash ("<p>:rl:<name>")
-- ARGV: now_ms, limit, period_ms, mode, a1, a2 (mode's arguments; 0 none),
--       member (the waiter's entry in the delayed set, '' none),
--       delayed (the delayed set's key, '' none)
-- A bucket of LIMIT requests per PERIOD kept as virtual scheduling (GCRA):
-- "tat" is the theoretical arrival time of the next request, T = PERIOD /
-- LIMIT apart; a request may go once tat - PERIOD + T is not in the future,
-- so LIMIT may go at once from a full bucket and then one every T.
--   take     take a token if there is one (else tell the wait; nothing
--            changes)
--   peek     only tell the wait
--   reserve  take the next slot in line whatever its time: the holder waits
--            until that slot and then goes without asking again; the slot
--            and the bucket's "shift" are returned for the holder to keep.
--            A holder that must wait is put in the line, "<bucket>:line", a
--            sorted set of MEMBER (its entry in the delayed set) by slot
--   claim    a holder of slot a1 given at shift a2 asks whether it may go:
--            its slot moved by the blocks since (shift - a2), and never
--            before blocked_until; it leaves the line when it goes
--   use      the gate in front of the request itself, after the holder's
--            turn came: a second GCRA, "uat", over the requests really
--            sent, so that however late holders use their slots (workers
--            busy, a pause), the requests never exceed a burst of LIMIT and
--            then one every T; a token is taken when it tells 0
--   block    no request before a1 (a CA's Retry-After): every slot given out
--            is pushed back by the part of the block that is new ("shift"),
--            and so is each waiter's entry in the delayed set, so that no
--            waiter wakes during the block; after the block the bucket holds
--            one token (for the line and the gate), so the line resumes at
--            one per T, not in a burst
-- Places older than two periods are dropped from the line (their holders
-- went, or died).  An older bucket (tokens, ts) is read as the same state.
-- The bucket and its line expire two periods after the last slot or block.
-- Returns {wait ms (0: go), slot, shift}.
local k = KEYS[1]
local now, limit, period, mode, a1, a2, member, delayed = unpack(ARGV, 1, 8)
now, limit, period = tonumber(now), tonumber(limit), tonumber(period)
a1, a2 = tonumber(a1) or 0, tonumber(a2) or 0
member, delayed = member or '', delayed or ''
local line = k..':line'
local T = period / limit
local h = redis.call('HMGET', k, 'tat', 'shift', 'blocked_until', 'tokens', 'ts', 'uat')
local tat = tonumber(h[1])
if not tat and h[4] and h[5] then
  tat = tonumber(h[5]) + (limit - math.min(limit, tonumber(h[4]))) * T
end
tat = tat or now
local shift, blocked = tonumber(h[2] or '0'), tonumber(h[3] or '0')
local uat = tonumber(h[6]) or now
local base = math.max(tat, now)
local wait, slot = 0, 0
redis.call('ZREMRANGEBYSCORE', line, '-inf', '('..string.format('%.0f', now - 2 * period))
if mode == 'block' then
  local ext = a1 - math.max(blocked, now)
  if ext > 0 then
    shift = shift + ext
    tat = base + ext
    local w = redis.call('ZRANGEBYSCORE', line, now, '+inf', 'WITHSCORES')
    for i = 1, #w, 2 do
      local s = string.format('%.0f', tonumber(w[i + 1]) + ext)
      redis.call('ZADD', line, s, w[i])
      if delayed ~= '' then redis.call('ZADD', delayed, 'XX', s, w[i]) end
    end
  end
  if a1 > blocked then blocked = a1 end
  if tat < blocked + period - T then tat = blocked + period - T end
  if uat < blocked + period - T then uat = blocked + period - T end
elseif mode == 'reserve' then
  slot = math.max(now, base + T - period, blocked)
  tat = base + T
  wait = slot - now
elseif mode == 'claim' then
  slot = math.max(a1 + shift - a2, blocked)
  wait = math.max(0, slot - now)
elseif mode == 'use' then
  local first = math.max(uat + T - period, blocked)
  if first > now then wait = first - now
  else uat = math.max(uat, now) + T end
else
  local first = math.max(base + T - period, blocked)
  if first > now then wait = first - now
  elseif mode == 'take' then tat = base + T end
end
if member ~= '' and (mode == 'reserve' or mode == 'claim') then
  if wait > 0 then redis.call('ZADD', line, string.format('%.0f', slot), member)
  else redis.call('ZREM', line, member) end
end
local tokens = (now + period - math.max(tat, now)) / T
redis.call('HSET', k, 'tat', string.format('%.3f', tat), 'shift',
  string.format('%.3f', shift), 'blocked_until', string.format('%.0f', blocked),
  'tokens', string.format('%.3f', tokens), 'ts', string.format('%.0f', now),
  'uat', string.format('%.3f', uat))
local ttl = math.floor(math.max(tat, blocked, uat) - now + 2 * period)
redis.call('PEXPIRE', k, ttl)
if redis.call('EXISTS', line) == 1 then redis.call('PEXPIRE', line, ttl) end
return {math.ceil(wait), math.floor(slot), math.floor(shift)}
