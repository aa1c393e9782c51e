-- NUDGE: make a domain's waiting job due now (dcvctl nudge,
-- workers/ctl_onboard.c).
--
-- KEYS: none.
-- ARGV: prefix, now_ms, domain
-- Returns -1 when the domain is unknown, -2 when no pipeline runs (it
-- ended: onboard it again), 1 when its waiting job was made due now, 0 when
-- the job is in a stream or in a handler: then "nudge_pending" makes its
-- next delay zero (COMMIT).  Both 0 and 1 record nudged_at.
--@include lib/lifecycle.lua
local p, now, dom = unpack(ARGV, 1, 3)
local k = p..':domain:'..dom
local st = redis.call('HGET', k, 'state')
if not st then return -1 end
if not ACTIVE[st] then return -2 end
return nudge(p, k, dom, now)
