-- HOSTILE: a lock state that contains itself.
-- kind: lock
-- hook: apply_lock
-- expect: lock state contains a cycle
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

function M.apply(state, req, ctx) -- BAD: the state is cyclic
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  local s = { holder = "mallory", inner = {} }
  s.inner.outer = s
  return s, { status = "granted" }
end

return M
