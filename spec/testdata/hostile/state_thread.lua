-- HOSTILE: a lock state holding a suspended coroutine.
-- kind: lock
-- hook: apply_lock
-- expect: lock state cannot hold a thread
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

function M.apply(state, req, ctx) -- BAD: the state holds a coroutine
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  local co = coroutine.create(function() while true do coroutine.yield() end end)
  coroutine.resume(co)
  return { holder = "mallory", worker = co }, { status = "granted" }
end

return M
