-- Tenant isolation (schemas/lifecycle.md, "Tenants"), included by the
-- lifecycle scripts.  A name belongs to the tenant that onboarded it:
-- <p>:owner:<base> is a hash with the field "tenant" and one field per
-- domain record whose certificate names <base> (its value: the generation
-- that claimed it).  <base> is a name without a wildcard's "*.": a
-- delegation, which "*.example.com" and "example.com" share.  Every holder
-- of a name has the same tenant ("" is a tenant of its own), so a name is
-- free for a tenant when the hash is absent or has its tenant.  ONBOARD and
-- CLAIM check every name of a new pipeline and claim them all in the same
-- script; RELEASE gives them up.  (Only commands of deploy/redis/users.acl:
-- HGETALL, not HKEYS or HLEN.)
local function bases(names)
  local out, seen = {}, {}
  for n in string.gmatch(names, '[^,]+') do
    local b = string.gsub(n, '^%*%.', '')
    if not seen[b] then seen[b] = true; out[#out + 1] = b end
  end
  return out
end
local function held(p, names, tenant)
  for _, b in ipairs(bases(names)) do
    local o = p..':owner:'..b
    local t = redis.call('HGET', o, 'tenant')
    if t and t ~= tenant then
      local by = b
      local f = redis.call('HGETALL', o)
      for j = 1, #f, 2 do
        if f[j] ~= 'tenant' then by = f[j]; break end
      end
      return 'refused: '..b..' is held by another tenant (domain '..by..
        '); it must be released first (dcvctl release '..by..')'
    end
  end
  return nil
end
local function unclaim(p, dom, names)
  for _, b in ipairs(bases(names)) do
    local o = p..':owner:'..b
    redis.call('HDEL', o, dom)
    if #redis.call('HGETALL', o) <= 2 then redis.call('DEL', o) end
  end
end
local function claim(p, dom, names, tenant, gen)
  for _, b in ipairs(bases(names)) do
    redis.call('HSET', p..':owner:'..b, 'tenant', tenant, dom, gen)
  end
end
