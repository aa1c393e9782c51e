-- CLAIM: verify-cname adopts a job without a generation
-- (workers/verify_cname.c).
--
-- KEYS: none.
-- ARGV: prefix, now_ms, domain, job_id, tenant, target, names
--       (comma-separated), entry (the job's stream entry id)
-- Run for a job enqueued by dcvctl onboard, or XADDed by the backend
-- itself.  Returns {code, gen[, why]}:
--    2  this entry is the domain's pipeline already (ONBOARD or an earlier
--       delivery claimed it: same job id, same entry): adopt gen
--    1  a new pipeline: a new gen, its names claimed as ONBOARD does,
--       state "verifying", a certificate it kept back in the expiry index
--    0  another pipeline runs (an ACTIVE state with a job): it was nudged;
--       drop this job (also a second XADD of the same job)
--   -1  a name is held by another tenant (why says which); nothing changed
--@include lib/lifecycle.lua
--@include lib/owner.lua
--@include lib/states.lua
local p, now, dom, jid, tenant, target, names, entry = unpack(ARGV, 1, 8)
local k = p..':domain:'..dom
local h = redis.call('HMGET', k, 'state', 'job', 'gen', 'claim_entry', 'names')
local gen = tonumber(h[3] or '0')
if h[2] == jid and h[4] == entry and gen > 0 then return {2, gen} end
local why = held(p, names, tenant)
if why then return {-1, gen, why} end
if h[1] and ACTIVE[h[1]] and h[2] then
  nudge(p, k, dom, now)
  return {0, gen}
end
unclaim(p, dom, h[5] or dom)
gen = redis.call('HINCRBY', k, 'gen', 1)
claim(p, dom, names, tenant, gen)
fresh(k)
redis.call('HSETNX', k, 'created_at', now)
count_state(p, k, 'verifying')
redis.call('HSET', k, 'state', 'verifying', 'stage', 'verify-cname', 'job', jid,
  'tenant', tenant, 'target', target, 'names', names, 'attempts', 0,
  'onboarded_at', now, 'updated_at', now, 'claim_entry', entry)
-- a certificate it kept is back in the expiry index, as in ONBOARD
local na = tonumber(redis.call('HGET', p..':cert:'..dom, 'not_after') or '')
if na then redis.call('ZADD', p..':expiry', na, dom) end
return {1, gen}
