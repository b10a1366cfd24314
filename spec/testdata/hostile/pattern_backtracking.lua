-- HOSTILE: a pattern that backtracks: ".-.-.-b" over 3000 bytes has
-- billions of ways to fail, tried in C (Lua's own string.find took over ten
-- minutes). The sandbox's string.find is Skinny's and charges each step to
-- the budget, so the call fails at the script's line well within a second.
-- kind: lock
-- hook: apply_lock
-- expect: string.find: instruction budget exceeded (10000000 instructions): a pattern that backtracks?
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  local s = ("a"):rep(3000)
  local at = s:find(".-.-.-b") -- BAD
  return state, { status = "granted", text = tostring(at) }
end

return M
