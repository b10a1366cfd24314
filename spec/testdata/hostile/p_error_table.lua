-- HOSTILE: next_ballot raises a table whose __tostring raises.
-- kind: proposer
-- hook: next_ballot
-- expect: (error object is a table value)
-- trigger: the first call in the instance (loading or reloading the script
-- arms it again); later calls: proposers/paxos.lua
local paxos = require "proposers.paxos"
local M = { enough = paxos.enough, pick_value = paxos.pick_value }

local calls = 0
local nasty = setmetatable({}, { __tostring = function() error("not this either") end })

function M.next_ballot(ctx, info)
  calls = calls + 1
  if calls == 1 then error(nasty) end -- BAD
  return paxos.next_ballot(ctx, info)
end

return M
