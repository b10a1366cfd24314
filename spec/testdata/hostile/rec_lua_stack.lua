-- HOSTILE: unbounded Lua recursion (not a tail call): the Lua stack
-- overflows.
-- kind: lock
-- hook: apply_lock
-- expect: stack overflow
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

local function depth(n)
  return 1 + depth(n + 1) -- BAD
end

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  return state, { status = "granted", token = depth(1) }
end

return M
