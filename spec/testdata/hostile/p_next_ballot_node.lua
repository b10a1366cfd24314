-- HOSTILE: next_ballot's second result (the node id) is not one: NaN, -1,
-- 2^32, 1.5, "1" (one per call).
-- kind: proposer
-- hook: next_ballot
-- expect: as its second result, expected a node id or nothing
-- repeat: 5
-- trigger: the first 5 calls in the instance (loading or reloading the
-- script arms it again); later calls: proposers/paxos.lua
local paxos = require "proposers.paxos"
local M = { enough = paxos.enough, pick_value = paxos.pick_value }

local NODES = { 0 / 0, -1, 2 ^ 32, 1.5, "1" }
local calls = 0

function M.next_ballot(ctx, info) -- BAD: a second result that is not a node id
  calls = calls + 1
  local round = paxos.next_ballot(ctx, info)
  if calls > #NODES then return round end
  return round, NODES[calls]
end

return M
