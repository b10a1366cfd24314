-- The default proposer: correct single-decree Paxos per lock (CASPaxos).
-- Every function here mirrors the built-in C default; delete one and the
-- C default takes over. See spec/HOOKS.md for the arguments.
local M = {}

-- A round higher than anything seen; the core adds this instance's id, so
-- ballots (round, id) never collide (Paxos Made Simple, 2.2).
function M.next_ballot(ctx, info)
  return math.max(info.last, info.promised, info.highest) + 1
end

-- Early stopping: go on once a majority said yes; give up as soon as a
-- majority can no longer say yes, or when the phase timed out.
function M.enough(ctx, phase, yeas, nays, timed_out)
  if yeas >= ctx.majority then return "proceed" end
  if nays > ctx.size - ctx.majority or timed_out then return "fail" end
  return "wait"
end

-- Carry forward the value accepted at the highest ballot among the
-- promises (Paxos phase 2a), or nothing if none accepted anything.
function M.pick_value(ctx, promises)
  local best
  for i, p in ipairs(promises) do
    if p.round > 0 and (best == nil or p.round > promises[best].round
        or (p.round == promises[best].round and p.node > promises[best].node)) then
      best = i
    end
  end
  return best
end

return M
