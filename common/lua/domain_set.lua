-- DOMAIN_SET: a stage's writes to the domain, if still its job
-- (workers/pipeline.c: domain_write).
--
-- KEYS: none.
-- ARGV: a header of HEAD fields, then n field/value pairs to set, then the
-- fields to delete (to the end):
--   prefix, domain, gen (the job's), job_id,
--   incr     field to HINCRBY ('' none)
--   guard    field that must still hold expect ('' none; absent reads '')
--   expect   the guard's expected value
--   event    event type ('' none), detail, events_maxlen,
--   now_ms, n
-- The writes are applied only while the domain is still at this job's
-- generation and job: a job that was overtaken (the domain was onboarded
-- again while it ran) writes nothing.  With a guard, only while the guard
-- field still holds the value the stage read: two runs of one job (a slow
-- worker and the one that reclaimed it) cannot both act on the same
-- observation.  With an event, the event is added (and recorded as
-- "notified") together with the writes, so the bookkeeping that says
-- "told" and the telling are one step.
-- Returns -1 when overtaken, -2 when the guard failed, else the incremented
-- value, else 1.
local HEAD = 12
local p, dom, gen, jid, incr, guard, expect, ev, detail, evmax, now, n = unpack(ARGV, 1, HEAD)
n = tonumber(n)
local k = p..':domain:'..dom
local h = redis.call('HMGET', k, 'gen', 'job')
if h[1] ~= gen or h[2] ~= jid then return -1 end
if guard ~= '' and (redis.call('HGET', k, guard) or '') ~= expect then
  return -2
end
for i = 0, n - 1 do redis.call('HSET', k, ARGV[HEAD + 1 + 2 * i], ARGV[HEAD + 2 + 2 * i]) end
for i = HEAD + 1 + 2 * n, #ARGV do redis.call('HDEL', k, ARGV[i]) end
if ev ~= '' then
  redis.call('HSET', k, 'notified', ev)
  redis.call('XADD', p..':events', 'MAXLEN', '~', evmax, '*', 'type', ev,
    'domain', dom, 'detail', detail, 'time', now)
end
if incr ~= '' then return redis.call('HINCRBY', k, incr, 1) end
return 1
