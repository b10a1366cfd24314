-- The advisory lock with a describe that raises: status must still answer,
-- with the default's description and why describe failed.
local M = {}
local advisory = require "locks.advisory"
M.model = advisory.model
M.apply = advisory.apply

function M.describe(state, ctx)
  error("no words for " .. tostring(state and state.holder)) -- line 9
end

return M
