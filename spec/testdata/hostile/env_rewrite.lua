-- HOSTILE: apply replaces its own _ENV with a table whose __index raises,
-- then reads a global. _ENV is this chunk's upvalue: from then on every
-- global lookup in this file raises, which is why the good path below uses
-- locals only. locks/advisory.lua has its own environment and still works.
-- kind: lock
-- hook: apply_lock
-- expect: gotcha: tostring
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local setmeta, raise = setmetatable, error
local M = {}

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  _ENV = setmeta({}, { __index = function(_, k)
    raise("gotcha: " .. k) -- BAD
  end })
  return state, { status = "granted", text = tostring(req.holder) }
end

return M
