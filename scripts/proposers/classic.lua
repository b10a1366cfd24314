-- UNSAFE ON PURPOSE: the original Skinny's proposer (SREcon19 Asia), kept to
-- watch the checkers catch what it gets wrong (spec/PROTOCOL.md 7.5):
--  * ballots are plain IDs: promised + increment, the same numbers for every
--    instance with the same increment, so two proposers can share one (F4);
--  * the client is answered from local state whatever the commit phase said
--    (F1: two clients can both be told "acquired");
--  * an accept does not raise the acceptor's promise (F2);
--  * nothing is persisted, so a restart forgets every promise (F3);
--  * requests carry no identity: a late copy of a request is applied anew.
local M = {}

M.classic = { answer_local = true, no_raise = true, no_persist = true, no_identity = true }

function M.next_ballot(ctx, info)
  -- the second result is the ballot's node part: 0 makes IDs collide
  return math.max(info.promised, info.highest, info.last) + info.increment, 0
end

function M.enough(ctx, phase, yeas, nays, timed_out)
  if yeas >= ctx.majority then return "proceed" end
  if nays >= ctx.majority or timed_out then return "fail" end
  return "wait"
end

-- learns the value with the larger ID, as the original did
function M.pick_value(ctx, promises)
  local best
  for i, p in ipairs(promises) do
    if p.round > 0 and (best == nil or p.round > promises[best].round) then best = i end
  end
  return best
end

return M
