-- HOSTILE: a to-be-closed variable whose __close raises when apply returns.
-- kind: lock
-- hook: apply_lock
-- expect: the door slams on mallory
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

local door = { __close = function()
  error("the door slams on mallory") -- BAD
end }

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  local guard <close> = setmetatable({}, door)
  return state, { status = "granted", holder = "mallory" }
end

return M
