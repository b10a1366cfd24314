-- HOSTILE: a lock state with 100000 entries: refused without walking them.
-- kind: lock
-- hook: apply_lock
-- expect: lock state too large
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

function M.apply(state, req, ctx) -- BAD: the state does not fit
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  local waiters = {}
  for i = 1, 100000 do waiters[i] = i end
  return { holder = "mallory", waiters = waiters }, { status = "granted" }
end

return M
