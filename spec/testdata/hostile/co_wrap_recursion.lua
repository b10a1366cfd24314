-- HOSTILE: each coroutine wraps the next, until the C stack limit. The
-- error comes back up through every level, each adding this line in front:
-- the reply keeps one, so the reason still fits.
-- kind: lock
-- hook: apply_lock
-- expect: C stack overflow
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

local function nest() return coroutine.wrap(nest)() end -- BAD

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  return nest()
end

return M
