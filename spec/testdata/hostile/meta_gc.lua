-- HOSTILE: a finalizer would run whenever the collector gets to it, outside
-- any hook call and its budget; setmetatable refuses a metatable with __gc.
-- kind: lock
-- hook: apply_lock
-- expect: setmetatable: __gc (a finalizer) is not allowed in scripts
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  setmetatable({}, { __gc = function() while true do end end }) -- BAD: a finalizer
  return state, { status = "granted" }
end

return M
