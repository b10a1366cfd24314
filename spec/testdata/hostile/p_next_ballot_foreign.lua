-- HOSTILE: next_ballot returns a well-formed ballot of another instance:
-- node -0.0 (that is 0), the next instance's id, 2^32 - 1 (one per call).
-- The core would refuse it too; refused in the binding, the message names
-- this file and line.
-- kind: proposer
-- hook: next_ballot
-- expect: it must carry this instance's id
-- repeat: 3
-- trigger: the first 3 calls in the instance (loading or reloading the
-- script arms it again); later calls: proposers/paxos.lua
local paxos = require "proposers.paxos"
local M = { enough = paxos.enough, pick_value = paxos.pick_value }

local calls = 0

function M.next_ballot(ctx, info) -- BAD: a ballot with another instance's id
  calls = calls + 1
  local round = paxos.next_ballot(ctx, info)
  if calls == 1 then return round, -0.0 end
  if calls == 2 then return round, ctx.node_id % ctx.size + 1 end
  if calls == 3 then return round, 2 ^ 32 - 1 end
  return round
end

return M
