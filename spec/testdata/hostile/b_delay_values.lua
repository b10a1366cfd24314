-- HOSTILE: delay returns what is not a wait: NaN, inf, -inf, -1, 3600001,
-- "5", a table (one per call).
-- kind: backoff
-- hook: backoff
-- expect: expected milliseconds (0 to 3600000) or nil to give up
-- repeat: 7
-- trigger: the first 7 calls in the instance (loading or reloading the
-- script arms it again; delay runs only after a conflict or a phase
-- timeout: the specs cut the instance off); later calls:
-- backoff/exponential_jitter.lua
local jitter = require "backoff.exponential_jitter"
local M = {}

local DELAYS = { 0 / 0, math.huge, -math.huge, -1, 3600001, "5", {} }
local calls = 0

function M.delay(ctx, attempt, why) -- BAD: not a number of milliseconds
  calls = calls + 1
  if calls > #DELAYS then return jitter.delay(ctx, attempt, why) end
  return DELAYS[calls]
end

return M
