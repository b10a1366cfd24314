-- HOSTILE: enough returns what is not a verdict: "PROCEED", "proceed ",
-- true, nil, 1, a table, a table whose __eq and __tostring say "proceed"
-- (read raw: still a table) (one per call).
-- kind: proposer
-- hook: enough
-- expect: expected "wait", "proceed" or "fail"
-- repeat: 7
-- trigger: the first 7 calls in the instance (loading or reloading the
-- script arms it again); later calls: proposers/paxos.lua
local paxos = require "proposers.paxos"
local M = { next_ballot = paxos.next_ballot, pick_value = paxos.pick_value }

local liar = setmetatable({}, { __eq = function() return true end,
                                __tostring = function() return "proceed" end })
local VERDICTS = table.pack("PROCEED", "proceed ", true, nil, 1, { "proceed" }, liar)
local calls = 0

function M.enough(ctx, phase, yeas, nays, timed_out) -- BAD: not a verdict
  calls = calls + 1
  if calls > VERDICTS.n then return paxos.enough(ctx, phase, yeas, nays, timed_out) end
  return VERDICTS[calls]
end

return M
