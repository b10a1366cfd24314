-- HOSTILE: describe swallows the budget's error with pcall and loops again:
-- once spent, the budget stops its next instruction outside the catch.
-- describe's budget is a tenth of the hooks' (at most 1 000 000).
-- kind: lock
-- hook: describe
-- expect: instruction budget exceeded
-- trigger: status after an acquire by holder "mallory" (anyone else: locks/advisory.lua)
-- budget: 200000
local advisory = require "locks.advisory"
local M = { apply = advisory.apply }

function M.describe(state, ctx)
  if not (state and state.holder == "mallory") then return advisory.describe(state, ctx) end
  while true do pcall(function() while true do end end) end -- BAD
end

return M
