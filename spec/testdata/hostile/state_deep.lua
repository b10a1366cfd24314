-- HOSTILE: a lock state nested 17 tables deep (at most 16).
-- kind: lock
-- hook: apply_lock
-- expect: lock state nested too deeply
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

function M.apply(state, req, ctx) -- BAD: the state is too deep
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  local s = { holder = "mallory" }
  for _ = 1, 16 do s = { s } end
  return s, { status = "granted" }
end

return M
