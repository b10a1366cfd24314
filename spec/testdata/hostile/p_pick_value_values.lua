-- HOSTILE: pick_value returns what is not an index of a promise: NaN, 1.5,
-- 0, -0.0, one past the last, 2^63, "1", inf, true (one per call).
-- kind: proposer
-- hook: pick_value
-- expect: expected nil or an index 1..
-- repeat: 9
-- trigger: the first 9 calls in the instance (loading or reloading the
-- script arms it again); later calls: proposers/paxos.lua
local paxos = require "proposers.paxos"
local M = { next_ballot = paxos.next_ballot, enough = paxos.enough }

local PAST = {}
local INDEXES = { 0 / 0, 1.5, 0, -0.0, PAST, 2 ^ 63, "1", math.huge, true }
local calls = 0

function M.pick_value(ctx, promises) -- BAD: not an index
  calls = calls + 1
  local v = INDEXES[calls]
  if v == nil then return paxos.pick_value(ctx, promises) end
  if v == PAST then return #promises + 1 end
  return v
end

return M
