-- ONBOARD: start the pipeline of a batch of domains, or nudge the running
-- ones (dcvctl onboard; queue.c: onboard_args).
--
-- KEYS: none.
-- ARGV: a header, then n items of ITEM fields each:
--   header  prefix, now_ms, n
--   item    domain, tenant ('' for none), target (the delegation target),
--           names (the certificate's names, comma-separated), job (bytes),
--           job_id
-- An item naming a name that another tenant holds is refused, and changes
-- nothing; a domain with a pipeline running (an ACTIVE state) is only
-- nudged; any other gets a new generation, claims its names (and gives up
-- the ones its previous generation named and this one does not), state
-- "queued", and its job in verify-cname (the entry id kept in claim_entry);
-- a certificate it kept (<prefix>:cert:<domain>) is back in the expiry
-- index <prefix>:expiry, as it is ours again.
-- Items are applied in order, so a later item sees what an earlier one
-- claimed.  Returns one "queued", "nudged" or "refused: <why>" per item.
--@include lib/lifecycle.lua
--@include lib/owner.lua
--@include lib/states.lua
local HEAD, ITEM = 3, 6
local p, now, n = unpack(ARGV, 1, HEAD)
n = tonumber(n)
local out = {}
for i = 0, n - 1 do
  local b = HEAD + 1 + i * ITEM
  local dom, tenant, target, names, job, jid = unpack(ARGV, b, b + ITEM - 1)
  local k = p..':domain:'..dom
  local h = redis.call('HMGET', k, 'state', 'names')
  local why = held(p, names, tenant)
  if why then
    out[#out + 1] = why
  elseif h[1] and ACTIVE[h[1]] then
    nudge(p, k, dom, now)
    out[#out + 1] = 'nudged'
  else
    unclaim(p, dom, h[2] or dom)
    local gen = redis.call('HINCRBY', k, 'gen', 1)
    claim(p, dom, names, tenant, gen)
    fresh(k)
    redis.call('HSETNX', k, 'created_at', now)
    count_state(p, k, 'queued')
    redis.call('HSET', k, 'state', 'queued', 'stage', 'verify-cname',
      'tenant', tenant, 'target', target, 'names', names, 'job', jid,
      'attempts', 0, 'onboarded_at', now, 'updated_at', now)
    local e = redis.call('XADD', p..':stream:verify-cname', '*', 'domain', dom, 'job', job)
    redis.call('HSET', k, 'claim_entry', e)
    local na = tonumber(redis.call('HGET', p..':cert:'..dom, 'not_after') or '')
    if na then redis.call('ZADD', p..':expiry', na, dom) end
    out[#out + 1] = 'queued'
  end
end
return out
