-- The domain lifecycle (schemas/lifecycle.md), included by ONBOARD, CLAIM,
-- NUDGE, OFFBOARD and RELEASE.  ACTIVE is the set of states in which a
-- pipeline job exists for the domain (in a stream or in the delayed set):
-- the RUN and HELD states of common/lifecycle_names.h, pasted in at build
-- time (LIFECYCLE_ACTIVE_LUA) so that the C and the Lua cannot disagree.
-- nudge() makes that job due now, or marks it "nudge_pending" when it is in
-- a stream or in a handler (COMMIT then makes its next delay zero); fresh()
-- forgets what a previous generation recorded.
--@c LIFECYCLE_ACTIVE_LUA
local function nudge(p, k, dom, now)
  local h = redis.call('HMGET', k, 'stage', 'job')
  redis.call('HSET', k, 'nudged_at', now)
  if not h[1] or not h[2] then return 0 end
  local m = h[1]..' '..dom..' '..h[2]
  if not redis.call('ZSCORE', p..':delayed', m) then
    redis.call('HSET', k, 'nudge_pending', 1)
    return 0
  end
  redis.call('ZADD', p..':delayed', 'XX', now, m)
  return 1
end
local function fresh(k)
  redis.call('HDEL', k, 'verified_gen', 'order_url', 'order_gen',
    'offboard_requested', 'last_error', 'invalid_count', 'nudged_at',
    'ever_pointed', 'first_issued_at', 'pending_key', 'notified',
    'nudge_pending', 'claim_entry', 'authz', 'challenges', 'released_at',
    'pointed', 'away', 'left', 'missing', 'checked_at', 'check_at', 'ari_next',
    'order_started', 'left_at', 'cert_deleted_at')
end
