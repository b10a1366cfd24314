-- HOSTILE: catches the budget's error with pcall and goes round again.
-- Once over budget the hook stops the script at its next instruction
-- outside the pcall (this loop, before the fix, never ended).
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
  while true do pcall(spin) end -- BAD: swallows every error
end

return M
