-- HOSTILE: thrifty returns what is not a wait: NaN, inf, 0, -1, 3600001,
-- 2^63, "5" (one per call).
-- kind: proposer
-- hook: thrifty
-- expect: expected milliseconds (1 to 3600000)
-- repeat: 7
-- trigger: the first 7 calls in the instance (loading or reloading the
-- script arms it again); later calls ask everyone at once (false)
local paxos = require "proposers.paxos"
local M = { next_ballot = paxos.next_ballot, enough = paxos.enough, pick_value = paxos.pick_value }

local WAITS = { 0 / 0, math.huge, 0, -1, 3600001, 2 ^ 63, "5" }
local calls = 0

function M.thrifty(ctx) -- BAD: not a number of milliseconds
  calls = calls + 1
  return WAITS[calls] or false
end

return M
