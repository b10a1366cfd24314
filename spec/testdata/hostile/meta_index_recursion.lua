-- HOSTILE: an __index function that indexes its own table: each lookup is
-- a C call into the next, until the C stack limit.
-- kind: lock
-- hook: apply_lock
-- expect: C stack overflow
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

local mirror = setmetatable({}, { __index = function(t, k)
  return t[k] -- BAD: recurses through __index
end })

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  return state, { status = "granted", text = mirror.anything }
end

return M
