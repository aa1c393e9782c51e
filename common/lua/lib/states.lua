-- The count of domains by state (<prefix>:states, field = a state, value =
-- how many records are counted in it; the gauge dcv_domains{state} reads
-- it), included by every script that writes a record's state: ONBOARD,
-- CLAIM, OFFBOARD, COMMIT, RECLAIM.  A record remembers in "counted" the
-- state it is counted under, so a change is one HINCRBY down and one up
-- (O(1) at any number of domains), a record written before the counts
-- existed is counted at its first change (or by REINDEX), and a state
-- edited by hand does not skew the counts.  Call it before the HSET of
-- the new state.
local function count_state(p, k, new)
  local c = redis.call('HGET', k, 'counted')
  if c == new then return end
  if c then redis.call('HINCRBY', p..':states', c, -1) end
  redis.call('HINCRBY', p..':states', new, 1)
  redis.call('HSET', k, 'counted', new)
end
