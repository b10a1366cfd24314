-- HOSTILE: reply.text a table, a number, false (one per call).
-- kind: lock
-- hook: apply_lock
-- expect: expected a string or nil
-- repeat: 3
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

local TEXTS = { { "hello" }, 42, false }
local calls = 0

function M.apply(state, req, ctx) -- BAD: reply.text is not a string
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  calls = calls % 3 + 1
  return { holder = "mallory" }, { status = "granted", text = TEXTS[calls] }
end

return M
