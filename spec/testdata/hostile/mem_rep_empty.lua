-- HOSTILE: an empty string repeated 1e15 times is empty, but Lua's own rep
-- would copy nothing 1e15 times in C, out of the budget's reach. It returns
-- at once; the loop around it is stopped by the budget.
-- kind: lock
-- hook: apply_lock
-- expect: instruction budget exceeded
-- budget: 200000
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  local s = ""
  for _ = 1, 1e12 do s = s .. (""):rep(1e15) .. string.rep("", 1e15, "") end -- BAD
  return state, { status = "granted", text = s }
end

return M
