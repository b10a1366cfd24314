-- HOSTILE: the script writes to a read-only table of its own.
-- kind: lock
-- hook: apply_lock
-- expect: read-only table: cannot set holder
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

local frozen = setmetatable({}, { __newindex = function(_, k)
  error("read-only table: cannot set " .. k) -- BAD
end })

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  frozen.holder = req.holder
  return state, { status = "granted" }
end

return M
