-- HOSTILE: the new state is plain at the top, but a table 3 levels down
-- has a looping __pairs: every table in the state is checked raw.
-- kind: lock
-- hook: apply_lock
-- expect: lock state must be plain data
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

function M.apply(state, req, ctx) -- BAD: a nested table has a metatable
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  local deep = setmetatable({}, { __pairs = function() while true do end end })
  return { holder = "mallory", history = { last = { deep } } }, { status = "granted" }
end

return M
