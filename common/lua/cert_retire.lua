-- CERT_RETIRE: the end of a departed domain's certificate
-- (workers/offboard_check.c): revoked when it left
-- (lifecycle.revoke_on_departure), deleted after its retention
-- (lifecycle.cert_retention_ms).
--
-- KEYS: none.
-- ARGV: prefix, domain, gen (the job's), job_id,
--   action   'delete', 'revoked' (the CA revoked it) or 'refused' (the CA
--            refused to: not asked again)
--   event    the event type ('cert-deleted', 'revoked'; '' none)
--   arg      'revoked': the reason's name; 'refused': why
--   events_maxlen, now_ms
-- Acts only while the domain is still at this job's generation and job,
-- still gone (GONE: parked or offboarded, or its offboarding asked), and
-- the stored certificate is the one the record names (its serial): a
-- domain onboarded again meanwhile is at another generation and keeps
-- whatever certificate it has.  What it does, the record of it and the
-- event (with the serial) are one step, so a crash neither loses the event
-- nor tells it twice:
--   delete   DEL <prefix>:cert:<domain>, ZREM <prefix>:expiry, the record's
--            cert_deleted_at, the event;
--   revoked  the certificate's revoked_at and revoked_reason, the event
--            (fields serial and reason);
--   refused  the certificate's revoke_error.
-- "notified" is left alone: it is the watch's memory of "stale-delegation".
-- Returns 1 done, 0 nothing to do (the certificate gone, not the record's,
-- or already revoked or refused), -1 overtaken, -3 the domain is not gone.
--@c LIFECYCLE_GONE_LUA
local p, dom, gen, jid, action, ev, arg, evmax, now = unpack(ARGV, 1, 9)
local k = p..':domain:'..dom
local h = redis.call('HMGET', k, 'gen', 'job', 'state', 'offboard_requested', 'serial')
if h[1] ~= gen or h[2] ~= jid then return -1 end
if not GONE[h[3] or ''] and not h[4] then return -3 end
local ck = p..':cert:'..dom
local c = redis.call('HMGET', ck, 'serial', 'revoked_at', 'revoke_error')
local serial = c[1]
if not serial or serial ~= h[5] then return 0 end
local detail
if action == 'delete' then
  redis.call('DEL', ck)
  redis.call('ZREM', p..':expiry', dom)
  redis.call('HSET', k, 'cert_deleted_at', now)
  detail = 'serial '..serial..': the certificate of a departed domain deleted after its retention'
  redis.call('XADD', p..':events', 'MAXLEN', '~', evmax, '*', 'type', ev,
    'domain', dom, 'detail', detail, 'serial', serial, 'time', now)
  return 1
end
if c[2] or c[3] then return 0 end
if action == 'revoked' then
  redis.call('HSET', ck, 'revoked_at', now, 'revoked_reason', arg)
  detail = 'serial '..serial..' revoked ('..arg..'): the domain left'
  redis.call('XADD', p..':events', 'MAXLEN', '~', evmax, '*', 'type', ev,
    'domain', dom, 'detail', detail, 'serial', serial, 'reason', arg, 'time', now)
  return 1
end
redis.call('HSET', ck, 'revoke_error', arg)
return 1
