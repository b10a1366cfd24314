-- HOSTILE: raises nil: there is no message at all, only where.
-- kind: lock
-- hook: apply_lock
-- expect: (error object is a nil value)
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  error(nil) -- BAD
end

return M
