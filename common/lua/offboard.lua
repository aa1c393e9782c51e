-- OFFBOARD: flag a running pipeline, or start the offboarding (dcvctl
-- offboard, workers/ctl_release.c).
--
-- KEYS: none.
-- ARGV: prefix, now_ms, domain, job (an offboard-check job of the domain's
--       current generation and job id), gen (that generation, as read)
-- A running pipeline (an ACTIVE state) is flagged with offboard_requested
-- and nudged (its next stage turns to offboard-check); a domain without one
-- gets state "offboarded" (and leaves the expiry index <prefix>:expiry) and
-- the job in offboard-check.
-- Returns -1 unknown domain, -2 the generation moved (read again and
-- retry), -3 released (nothing runs for it), 0 already offboarded or
-- flagged, 1 flagged, 2 enqueued.
--@include lib/lifecycle.lua
--@include lib/states.lua
local p, now, dom, job, gen = unpack(ARGV, 1, 5)
local k = p..':domain:'..dom
local h = redis.call('HMGET', k, 'state', 'gen', 'offboard_requested', 'released_at')
if not h[1] then return -1 end
if (h[2] or '0') ~= gen then return -2 end
if h[4] then return -3 end
if h[1] == 'offboarded' or h[3] then return 0 end
redis.call('HSET', k, 'offboard_requested', now, 'updated_at', now)
if ACTIVE[h[1]] then
  nudge(p, k, dom, now)
  return 1
end
count_state(p, k, 'offboarded')
redis.call('HSET', k, 'state', 'offboarded', 'stage', 'offboard-check')
redis.call('ZREM', p..':expiry', dom)
redis.call('XADD', p..':stream:offboard-check', '*', 'domain', dom, 'job', job)
return 2
