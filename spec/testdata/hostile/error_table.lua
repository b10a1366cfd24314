-- HOSTILE: raises a table whose __tostring raises too. The message handler
-- describes an error object that is not a string; it never converts it.
-- kind: lock
-- hook: apply_lock
-- expect: (error object is a table value)
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

local nasty = setmetatable({}, { __tostring = function() error("and this one too") end })

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  error(nasty) -- BAD
end

return M
