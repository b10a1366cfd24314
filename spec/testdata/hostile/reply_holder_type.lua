-- HOSTILE: reply.holder a table, a number, a boolean (one per call).
-- kind: lock
-- hook: apply_lock
-- expect: expected a string or nil
-- repeat: 3
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

local HOLDERS = { { "mallory" }, 42, true }
local calls = 0

function M.apply(state, req, ctx) -- BAD: reply.holder is not a string
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  calls = calls % 3 + 1
  return { holder = "mallory" }, { status = "granted", holder = HOLDERS[calls] }
end

return M
