-- HOSTILE: describe raises a table with a __tostring that raises too: the
-- error object is described, not converted.
-- kind: lock
-- hook: describe
-- expect: (error object is a table value)
-- trigger: status after an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = { apply = advisory.apply }

function M.describe(state, ctx)
  if not (state and state.holder == "mallory") then return advisory.describe(state, ctx) end
  error(setmetatable({}, { __tostring = function() error("again") end })) -- BAD
end

return M
