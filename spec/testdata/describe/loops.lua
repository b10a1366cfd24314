-- The advisory lock with a describe that never returns: the budget stops it.
local M = {}
local advisory = require "locks.advisory"
M.model = advisory.model
M.apply = advisory.apply

function M.describe(state, ctx)
  local n = 0
  while true do n = n + 1 end -- line 9
end

return M
