-- No backoff at all: retry at once, up to 8 attempts. Duelling proposers
-- keep pre-empting each other: compare with exponential_jitter.lua in
-- scripts/experiments/duelling.lua.
local M = {}

function M.delay(ctx, attempt, why)
  if attempt > 8 then return nil end
  return 0
end

return M
