-- The original Skinny's retry loop: 2 ms times the retry number plus up to
-- 1 ms of jitter, three retries in all, then "failed" (spec/PROTOCOL.md 7.5).
local M = {}

function M.delay(ctx, attempt, why)
  if attempt > 4 then return nil end
  return 2 * (attempt - 1) + math.random(0, 1)
end

return M
