-- The default backoff: wait about twice as long after each conflict, with
-- random jitter so duelling proposers stop meeting each other; give up
-- after 8 attempts with a "contended" (or "unavailable") answer.
local M = {}

local BASE_MS, CAP_MS, ATTEMPTS = 10, 640, 8

function M.delay(ctx, attempt, why)
  if attempt > ATTEMPTS then return nil end
  local base = math.min(BASE_MS * 2 ^ (attempt - 2), CAP_MS)
  return math.floor(base / 2 + math.random() * (base / 2 + 1))
end

return M
