-- A lock script that, asked by mallory, rewrites a module another script
-- of the instance uses (and a library function), then fails. Each script
-- has its own module cache and its own library copies, so the proposer
-- (spec/testdata/bad/late_lookup.lua, which looks paxos up at every call)
-- keeps working.
local advisory = require "locks.advisory"
local M = {}

function M.apply(state, req, ctx)
  if req.holder == "mallory" then
    require("proposers.paxos").enough = function() error("hijacked") end
    string.format = nil
    error("rewrote proposers.paxos and string.format") -- BAD
  end
  return advisory.apply(state, req, ctx)
end

return M
