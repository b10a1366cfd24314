-- HOSTILE: table.move of 1e15 nils: a loop in C, out of the budget's reach.
-- Refused: no table a script may hold has that many slots.
-- kind: lock
-- hook: apply_lock
-- expect: table.move: 1e+15 elements is more than a script's table may hold
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  local t = table.move({}, 1, 1e15, 2) -- BAD
  return state, { status = "granted", token = #t }
end

return M
