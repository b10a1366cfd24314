-- HOSTILE: next_ballot jumps to the next epoch (a round's high 32 bits),
-- which only a rejoining instance may open.
-- kind: proposer
-- hook: next_ballot
-- expect: but the highest ballot seen for this lock is in epoch
-- trigger: the first call in the instance (loading or reloading the script
-- arms it again); later calls: proposers/paxos.lua
local paxos = require "proposers.paxos"
local M = { enough = paxos.enough, pick_value = paxos.pick_value }

local calls = 0

function M.next_ballot(ctx, info) -- BAD: a ballot in a new epoch
  calls = calls + 1
  if calls > 1 then return paxos.next_ballot(ctx, info) end
  local seen = math.max(info.last, info.promised, info.highest)
  return (((seen >> 32) + 1) << 32) | 1
end

return M
