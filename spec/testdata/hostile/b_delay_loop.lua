-- HOSTILE: delay never returns on its first call.
-- kind: backoff
-- hook: backoff
-- expect: instruction budget exceeded
-- budget: 200000
-- trigger: the first call in the instance (loading or reloading the script
-- arms it again; delay runs only after a conflict or a phase timeout: the
-- specs cut the instance off); later calls: backoff/exponential_jitter.lua
local jitter = require "backoff.exponential_jitter"
local M = {}

local calls = 0

function M.delay(ctx, attempt, why)
  calls = calls + 1
  while calls == 1 do end -- BAD: spins until the budget runs out
  return jitter.delay(ctx, attempt, why)
end

return M
