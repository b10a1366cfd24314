-- Paxos that waits for every instance to answer before moving on (no early
-- stopping). Safe, but one slow instance slows every decision: compare it
-- with paxos.lua in scripts/experiments/slow_network.lua.
local paxos = require "proposers.paxos"
local M = {}

M.next_ballot = paxos.next_ballot
M.pick_value = paxos.pick_value

function M.enough(ctx, phase, yeas, nays, timed_out)
  if yeas + nays < ctx.size and not timed_out then return "wait" end
  if yeas >= ctx.majority then return "proceed" end
  return "fail"
end

return M
