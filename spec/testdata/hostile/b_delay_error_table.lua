-- HOSTILE: delay raises an empty table on its first call.
-- kind: backoff
-- hook: backoff
-- expect: (error object is a table value)
-- trigger: the first call in the instance (loading or reloading the script
-- arms it again; delay runs only after a conflict or a phase timeout: the
-- specs cut the instance off); later calls: backoff/exponential_jitter.lua
local jitter = require "backoff.exponential_jitter"
local M = {}

local calls = 0

function M.delay(ctx, attempt, why)
  calls = calls + 1
  if calls == 1 then error({ attempt = attempt, why = why }) end -- BAD
  return jitter.delay(ctx, attempt, why)
end

return M
