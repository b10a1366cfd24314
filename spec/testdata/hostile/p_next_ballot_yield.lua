-- HOSTILE: next_ballot yields: there is no coroutine to yield to.
-- kind: proposer
-- hook: next_ballot
-- expect: attempt to yield from outside a coroutine
-- trigger: the first call in the instance (loading or reloading the script
-- arms it again); later calls: proposers/paxos.lua
local paxos = require "proposers.paxos"
local M = { enough = paxos.enough, pick_value = paxos.pick_value }

local calls = 0

function M.next_ballot(ctx, info)
  calls = calls + 1
  if calls == 1 then coroutine.yield(1) end -- BAD
  return paxos.next_ballot(ctx, info)
end

return M
