-- HOSTILE: reply.token where a positive integer is expected: NaN, inf,
-- -inf, -0.0, 2^63, 1.5, "5", 0, -3 (one per call).
-- kind: lock
-- hook: apply_lock
-- expect: expected a positive integer or nil
-- repeat: 9
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

local TOKENS = { 0 / 0, math.huge, -math.huge, -0.0, 2 ^ 63, 1.5, "5", 0, -3 }
local calls = 0

function M.apply(state, req, ctx) -- BAD: reply.token is not a positive integer
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  calls = calls % #TOKENS + 1
  return { holder = "mallory" }, { status = "granted", token = TOKENS[calls] }
end

return M
