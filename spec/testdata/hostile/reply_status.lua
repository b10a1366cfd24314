-- HOSTILE: reply.status missing, misspelt, a number, a table (one per call).
-- kind: lock
-- hook: apply_lock
-- expect: returned reply.status =
-- repeat: 4
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

local STATUSES = { nil, "GRANTED", 1, { "granted" } }
local calls = 0

function M.apply(state, req, ctx) -- BAD: reply.status is not a status
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  calls = calls % 4 + 1
  return { holder = "mallory" }, { status = STATUSES[calls], holder = "mallory" }
end

return M
