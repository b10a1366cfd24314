-- HOSTILE: next_ballot returns what is not a round: NaN, inf, -inf, -0.0,
-- 2^63, 1.5, "5", 0, a table, nil (one per call).
-- kind: proposer
-- hook: next_ballot
-- expect: expected a round number (an integer >= 1)
-- repeat: 10
-- trigger: the first 10 calls in the instance (loading or reloading the
-- script arms it again); later calls: proposers/paxos.lua
local paxos = require "proposers.paxos"
local M = { enough = paxos.enough, pick_value = paxos.pick_value }

local ROUNDS = table.pack(0 / 0, math.huge, -math.huge, -0.0, 2 ^ 63, 1.5, "5", 0, {}, nil)
local calls = 0

function M.next_ballot(ctx, info) -- BAD: returns something that is not a round
  calls = calls + 1
  if calls > ROUNDS.n then return paxos.next_ballot(ctx, info) end
  return ROUNDS[calls]
end

return M
