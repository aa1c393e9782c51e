-- CERT_DROP: the end of a departed domain's retention: its certificate
-- deleted (workers/offboard_check.c, lifecycle.cert_retention_ms).
--
-- KEYS: none.
-- ARGV: prefix, domain, gen (the job's), job_id, event (type), events_maxlen,
--   now_ms
-- <prefix>:cert:<domain> is deleted only while the domain is still at this
-- job's generation and job, still gone (GONE: parked or offboarded, or its
-- offboarding asked), and the stored certificate is the one the record
-- names (its serial): a domain onboarded again meanwhile is at another
-- generation and keeps whatever certificate it has.  The deletion, its
-- removal from the expiry index, "cert_deleted_at" and the event (with the
-- serial) are one step, so a crash neither loses the event nor tells it
-- twice.  "notified" is left alone: it is the watch's memory of
-- "stale-delegation".
-- Returns 1 deleted, 0 nothing to delete (gone already, or not the
-- record's certificate), -1 overtaken, -3 the domain is not gone.
--@c LIFECYCLE_GONE_LUA
local p, dom, gen, jid, ev, evmax, now = unpack(ARGV, 1, 7)
local k = p..':domain:'..dom
local h = redis.call('HMGET', k, 'gen', 'job', 'state', 'offboard_requested', 'serial')
if h[1] ~= gen or h[2] ~= jid then return -1 end
if not GONE[h[3] or ''] and not h[4] then return -3 end
local ck = p..':cert:'..dom
local serial = redis.call('HGET', ck, 'serial')
if not serial or serial ~= h[5] then return 0 end
redis.call('DEL', ck)
redis.call('ZREM', p..':expiry', dom)
redis.call('HSET', k, 'cert_deleted_at', now)
redis.call('XADD', p..':events', 'MAXLEN', '~', evmax, '*', 'type', ev,
  'domain', dom, 'detail', 'serial '..serial..': the certificate of a departed '..
  'domain deleted after its retention', 'serial', serial, 'time', now)
return 1
