-- A proposer that looks its hooks up in proposers.paxos at every call
-- (a script that requires it at call time would see a rewritten module
-- if modules were shared between scripts; see hijack_module.lua).
local M = {}

function M.enough(ctx, phase, yeas, nays, timed_out)
  return require("proposers.paxos").enough(ctx, phase, yeas, nays, timed_out)
end

function M.next_ballot(ctx, info)
  return require("proposers.paxos").next_ballot(ctx, info)
end

return M
