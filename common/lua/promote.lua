-- PROMOTE: move due jobs from the delayed set to their stage streams
-- (queue.c: queue_promote).
--
-- KEYS: none.
-- ARGV: prefix, now_ms, max (at most this many jobs per call).
-- Members of <p>:delayed are "<stage> <domain> <job id>"; the job bytes are
-- in <p>:delayed:jobs.  A member without its bytes (or of no stage) is
-- dropped.
-- Returns the number of due members taken off the delayed set.
local p, now, max = unpack(ARGV, 1, 3)
local due = redis.call('ZRANGEBYSCORE', p..':delayed', '-inf', now, 'LIMIT', 0, tonumber(max))
for _, m in ipairs(due) do
  local job = redis.call('HGET', p..':delayed:jobs', m)
  local stage, dom = m:match('^(%S+) (%S+) ')
  if job and stage then
    redis.call('XADD', p..':stream:'..stage, '*', 'domain', dom, 'job', job)
  end
  redis.call('ZREM', p..':delayed', m)
  redis.call('HDEL', p..':delayed:jobs', m)
end
return #due
