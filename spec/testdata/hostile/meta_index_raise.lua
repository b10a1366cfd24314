-- HOSTILE: the script reads a field of its own table whose __index raises.
-- kind: lock
-- hook: apply_lock
-- expect: no such field: colour
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

local strict = setmetatable({}, { __index = function(_, k)
  error("no such field: " .. k) -- BAD
end })

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  return state, { status = "granted", text = strict.colour }
end

return M
