-- A fixed pause between attempts, the same for everyone: better than none,
-- but two proposers that collided once tend to collide again.
local M = {}

function M.delay(ctx, attempt, why)
  if attempt > 8 then return nil end
  return 20
end

return M
