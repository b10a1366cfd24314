-- HOSTILE: spins in ever new coroutines and ignores their errors. The
-- coroutines inherit the budget's hook and share its count.
-- kind: lock
-- hook: apply_lock
-- expect: instruction budget exceeded
-- budget: 200000
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

local function spin() while true do end end

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  while true do coroutine.resume(coroutine.create(spin)) end -- BAD
end

return M
