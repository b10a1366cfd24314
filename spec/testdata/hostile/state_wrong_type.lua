-- HOSTILE: a new state that is not a table or nil: a string, a number, a
-- boolean, a function (one per call).
-- kind: lock
-- hook: apply_lock
-- expect: as the new state, expected a table or nil
-- repeat: 4
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

local STATES = { "held by mallory", 42, true, print }
local calls = 0

function M.apply(state, req, ctx) -- BAD: the new state is not a table
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  calls = calls % #STATES + 1
  return STATES[calls], { status = "granted" }
end

return M
