-- KNOWN BAD (spec/bad_scripts_spec.lua): a backoff whose delay raises. It is
-- only called after a conflict or a phase timeout, so the spec makes one.
local M = {}

function M.delay(ctx, attempt, why)
  error("backoff broke after a " .. why) -- BAD
end

return M
