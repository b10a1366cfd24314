-- HOSTILE: a lock state holding a 5000-byte string (at most 4096 bytes
-- encoded).
-- kind: lock
-- hook: apply_lock
-- expect: lock state too large
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

function M.apply(state, req, ctx) -- BAD: the state does not fit
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  return { holder = "mallory", diary = ("dear diary "):rep(500) }, { status = "granted" }
end

return M
