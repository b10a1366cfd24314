-- HOSTILE: skip_phase1 never returns on its first call.
-- kind: proposer
-- hook: skip_phase1
-- expect: instruction budget exceeded
-- budget: 200000
-- trigger: the first call in the instance (loading or reloading the script
-- arms it again); later calls: false
local paxos = require "proposers.paxos"
local M = { next_ballot = paxos.next_ballot, enough = paxos.enough, pick_value = paxos.pick_value }

local calls = 0

function M.skip_phase1(ctx)
  calls = calls + 1
  while calls == 1 do end -- BAD: spins until the budget runs out
  return false
end

return M
