-- RELEASE: give up an ended domain's names (dcvctl release,
-- workers/ctl_release.c).
--
-- KEYS: none.
-- ARGV: prefix, now_ms, domain
-- Only a domain whose pipeline has ended (any state but the ACTIVE ones; a
-- running pipeline is offboarded first): the domain is removed from the
-- holders of each of its names (a name without holders is free for any
-- tenant), its member of the expiry index <prefix>:expiry goes (not ours to
-- renew) and the record gets released_at.  The record stays (its
-- counters, its certificate's summary and the TXT values still listed,
-- which the domain's next onboarding removes); a job of its ended pipeline
-- that still runs is dropped at its next stage (the gate).
-- Returns {code, state}: -1 unknown domain (state ''), -2 its pipeline
-- runs (state says which), 0 released already, 1 released.
--@include lib/lifecycle.lua
--@include lib/owner.lua
local p, now, dom = unpack(ARGV, 1, 3)
local k = p..':domain:'..dom
local h = redis.call('HMGET', k, 'state', 'names', 'released_at')
if not h[1] then return {-1, ''} end
if ACTIVE[h[1]] then return {-2, h[1]} end
if h[3] then return {0, h[1]} end
unclaim(p, dom, h[2] or dom)
redis.call('ZREM', p..':expiry', dom)
redis.call('HSET', k, 'released_at', now, 'updated_at', now)
return {1, h[1]}
