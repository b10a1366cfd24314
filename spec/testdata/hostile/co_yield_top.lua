-- HOSTILE: apply yields. A hook is called from C, not resumed: there is no
-- coroutine to yield to.
-- kind: lock
-- hook: apply_lock
-- expect: attempt to yield from outside a coroutine
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  coroutine.yield(state, { status = "granted" }) -- BAD
  return state, { status = "granted" }
end

return M
