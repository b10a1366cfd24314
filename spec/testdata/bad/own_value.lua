-- KNOWN BAD, UNSAFE (spec/bad_scripts_spec.lua): a proposer whose pick_value
-- ignores the values its promises carry and always starts from a free lock
-- (nil). A value already chosen is then overwritten: an acquire on a held
-- lock is granted again, a second holder while the first still holds it.
local paxos = require "proposers.paxos"
local M = {}

M.next_ballot = paxos.next_ballot
M.enough = paxos.enough

function M.pick_value(ctx, promises)
  return nil -- BAD: must carry forward the highest accepted value
end

return M
