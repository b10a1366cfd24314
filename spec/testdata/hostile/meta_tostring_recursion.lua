-- HOSTILE: a __tostring that calls tostring on itself: C calls all the way
-- down, until the C stack limit.
-- kind: lock
-- hook: apply_lock
-- expect: C stack overflow
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

local echo = setmetatable({}, { __tostring = function(self)
  return "<" .. tostring(self) .. ">" -- BAD: recurses through tostring
end })

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  return state, { status = "granted", text = tostring(echo) }
end

return M
