-- REVOKE: record a revocation the CA confirmed (dcvctl revoke,
-- workers/ctl_revoke.c), and start the re-issue it asks for.
--
-- KEYS: none.
-- ARGV: prefix, now_ms, domain, serial (the one revoked, as read from
--       <p>:cert:<domain> before asking the CA), reason (its name),
--       renew ('1': a new certificate with a new key is wanted now),
--       detail, events_maxlen
-- The certificate hash gets revoked_at, revoked_reason, revoked_serial only
-- while it still holds SERIAL (a renewal that stored another certificate
-- meanwhile is not marked revoked); the domain record gets them when it
-- exists (never created here).  The event "revoked" (serial, reason) is
-- added in the same step, so the record and the telling cannot part.
-- "notified" is left alone: offboard-check tells stale-delegation once by
-- it, and a revocation must not make it tell again.
-- With RENEW, a domain that is still ours (an ACTIVE state, no offboard
-- request, not released) gets renew_at = now and its job nudged, so that
-- offboard-check starts the renewal at once (finalize makes a new key for
-- every order).
-- Returns a bit set: 1 the certificate hash was marked, 2 the record was,
-- 4 the renewal was started.
--@include lib/lifecycle.lua
local p, now, dom, serial, reason, renew, detail, evmax = unpack(ARGV, 1, 8)
local k, c = p..':domain:'..dom, p..':cert:'..dom
local r = 0
if redis.call('HGET', c, 'serial') == serial then
  redis.call('HSET', c, 'revoked_at', now, 'revoked_reason', reason,
    'revoked_serial', serial)
  r = r + 1
end
local h = redis.call('HMGET', k, 'state', 'offboard_requested', 'released_at')
if h[1] then
  redis.call('HSET', k, 'revoked_at', now, 'revoked_reason', reason,
    'revoked_serial', serial)
  r = r + 2
  if renew == '1' and ACTIVE[h[1]] and not h[2] and not h[3] then
    redis.call('HSET', k, 'renew_at', now)
    nudge(p, k, dom, now)
    r = r + 4
  end
end
redis.call('XADD', p..':events', 'MAXLEN', '~', evmax, '*', 'type', 'revoked',
  'domain', dom, 'detail', detail, 'time', now, 'serial', serial, 'reason', reason)
return r
