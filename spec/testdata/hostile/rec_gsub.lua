-- HOSTILE: a string.gsub callback that calls string.gsub with itself: each
-- level is a C call, until the C stack limit.
-- kind: lock
-- hook: apply_lock
-- expect: C stack overflow
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

local function expand(s)
  return (s:gsub(".", expand)) -- BAD
end

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  return state, { status = "granted", text = expand(req.holder) }
end

return M
