-- The advisory lock with a describe that returns a table, not a string.
local M = {}
local advisory = require "locks.advisory"
M.model = advisory.model
M.apply = advisory.apply

function M.describe(state, ctx) -- line 7
  return { text = "held" }
end

return M
