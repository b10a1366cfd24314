-- HOSTILE: pick_value wrecks its environment on its first call (string,
-- table and math emptied, require, ipairs and pairs raising, then _ENV
-- replaced by an empty table) and reads a global. Later calls go to
-- proposers/paxos.lua, whose environment is its own, through locals only.
-- kind: proposer
-- hook: pick_value
-- expect: attempt to call a nil value (global 'ipairs')
-- trigger: the first call in the instance (loading or reloading the script
-- arms it again); later calls: proposers/paxos.lua
local paxos = require "proposers.paxos"
local M = { next_ballot = paxos.next_ballot, enough = paxos.enough }

local calls = 0

function M.pick_value(ctx, promises)
  calls = calls + 1
  if calls > 1 then return paxos.pick_value(ctx, promises) end
  for _, lib in ipairs{ string, table, math } do
    for k in pairs(lib) do lib[k] = nil end
  end
  require = function() error("no more modules") end
  pairs = function() error("no more pairs") end
  _ENV = {}
  for i in ipairs(promises) do return i end -- BAD
end

return M
