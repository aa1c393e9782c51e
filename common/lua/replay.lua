-- REPLAY: move a dead letter back to its stage stream (dcvctl dead replay,
-- workers/ctl_dead.c).
--
-- KEYS: none.
-- ARGV: prefix, id (the <p>:dead entry)
-- The job goes back to the stream of the stage it died in, with its attempt
-- count as it was, and the dead letter is deleted.
-- Returns the stage name, or false when the entry does not exist or has no
-- stage or no job.
local p, id = unpack(ARGV, 1, 2)
local r = redis.call('XRANGE', p..':dead', id, id)
if #r == 0 then return false end
local f, dom, stage, job = r[1][2], '', nil, nil
for i = 1, #f, 2 do
  if f[i] == 'domain' then dom = f[i+1] elseif f[i] == 'stage' then stage = f[i+1]
  elseif f[i] == 'job' then job = f[i+1] end
end
if not stage or not job then return false end
redis.call('XADD', p..':stream:'..stage, '*', 'domain', dom, 'job', job)
redis.call('XDEL', p..':dead', id)
return stage
