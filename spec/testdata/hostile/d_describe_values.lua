-- HOSTILE: describe returns a table whose __tostring would make a fine
-- string, a number, nil: none is a string, and no metamethod runs to make one.
-- kind: lock
-- hook: describe
-- expect: describe returned
-- trigger: status after an acquire by holder "mallory" (anyone else: locks/advisory.lua)
-- repeat: 3
local advisory = require "locks.advisory"
local M = { apply = advisory.apply }
local calls = 0
local VALUES = {
  setmetatable({}, { __tostring = function() return "held by mallory" end }),
  42,
  nil,
}

function M.describe(state, ctx) -- BAD
  if not (state and state.holder == "mallory") then return advisory.describe(state, ctx) end
  calls = calls + 1
  return VALUES[(calls - 1) % 3 + 1]
end

return M
