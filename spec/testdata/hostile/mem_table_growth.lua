-- HOSTILE: fills a table until the memory cap stops it.
-- kind: lock
-- hook: apply_lock
-- expect: not enough memory
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  local hoard = {}
  for i = 1, 1e9 do hoard[i] = ("x"):rep(64) .. i end -- BAD
  return state, { status = "granted", token = #hoard }
end

return M
