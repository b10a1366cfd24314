-- HOSTILE: string.rep asked for a gigabyte: refused before any allocation.
-- kind: lock
-- hook: apply_lock
-- expect: string.rep: a string of 1000000000 bytes is more than a script may hold
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  local blob = string.rep("x", 1e9) -- BAD
  return state, { status = "granted", text = blob }
end

return M
