-- HOSTILE: table.sort over tables whose __lt raises: the error crosses the
-- sort (C) back to the hook.
-- kind: lock
-- hook: apply_lock
-- expect: no order among waiters
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

local mt = { __lt = function()
  error("no order among waiters") -- BAD
end }

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  local waiters = { setmetatable({}, mt), setmetatable({}, mt), setmetatable({}, mt) }
  table.sort(waiters)
  return state, { status = "granted" }
end

return M
