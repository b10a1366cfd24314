-- HOSTILE: error("...", 0) leaves the position out of the message; the
-- message handler puts the line back.
-- kind: lock
-- hook: apply_lock
-- expect: nowhere to be found
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  error("nowhere to be found", 0) -- BAD
end

return M
