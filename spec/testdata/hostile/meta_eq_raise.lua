-- HOSTILE: comparing two tables whose __eq raises.
-- kind: lock
-- hook: apply_lock
-- expect: tables are not comparable
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

local mt = { __eq = function()
  error("tables are not comparable") -- BAD
end }

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  local a, b = setmetatable({}, mt), setmetatable({}, mt)
  if a == b then return state, { status = "refused" } end
  return state, { status = "granted" }
end

return M
