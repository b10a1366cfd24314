-- HOSTILE: a to-be-closed variable whose __close never returns: it runs
-- after apply's return statement, still under the instruction budget.
-- kind: lock
-- hook: apply_lock
-- expect: instruction budget exceeded
-- budget: 200000
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

local door = { __close = function()
  while true do end -- BAD: spins until the budget runs out
end }

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  local guard <close> = setmetatable({}, door)
  return state, { status = "granted", holder = "mallory" }
end

return M
