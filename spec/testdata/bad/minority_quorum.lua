-- KNOWN BAD, UNSAFE (spec/bad_scripts_spec.lua): a proposer that proceeds
-- with 2 yeas out of 5, in both phases. Two minorities need not intersect,
-- so two proposers can each collect "their" quorum and each decide a
-- different value: the checkers see two holders at once. Every hook call is
-- well formed, so the core cannot refuse it; only the checkers catch it.
local paxos = require "proposers.paxos"
local M = {}

M.next_ballot = paxos.next_ballot
M.pick_value = paxos.pick_value

function M.enough(ctx, phase, yeas, nays, timed_out)
  if yeas >= 2 then return "proceed" end -- BAD: 2 is not a majority of 5
  if timed_out or nays > ctx.size - 2 then return "fail" end
  return "wait"
end

return M
