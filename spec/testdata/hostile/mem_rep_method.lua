-- HOSTILE: two 25 MB strings through the method syntax (the string
-- metatable's rep): each may be held, both do not fit.
-- kind: lock
-- hook: apply_lock
-- expect: string.rep: not enough memory for a string of 25000000 bytes
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  local a = ("x"):rep(25e6)
  local b = ("y"):rep(25e6) -- BAD
  return state, { status = "granted", text = a .. b }
end

return M
