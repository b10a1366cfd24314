-- HOSTILE: enough recurses without end on its first call.
-- kind: proposer
-- hook: enough
-- expect: stack overflow
-- trigger: the first call in the instance (loading or reloading the script
-- arms it again); later calls: proposers/paxos.lua
local paxos = require "proposers.paxos"
local M = { next_ballot = paxos.next_ballot, pick_value = paxos.pick_value }

local calls = 0

local function count(n)
  return count(n + 1) + 1 -- BAD
end

function M.enough(ctx, phase, yeas, nays, timed_out)
  calls = calls + 1
  if calls == 1 then return count(yeas) end
  return paxos.enough(ctx, phase, yeas, nays, timed_out)
end

return M
