-- HOSTILE: tries to reach the string library shared by every script through
-- the string metatable and break it. The metatable is hidden:
-- getmetatable("") is a string, and indexing its __index gives nil.
-- kind: lock
-- hook: apply_lock
-- expect: attempt to index a nil value
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  local mt = getmetatable("")
  mt.__index.format = nil -- BAD
  return state, { status = "granted" }
end

return M
