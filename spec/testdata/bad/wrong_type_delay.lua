-- KNOWN BAD (spec/bad_scripts_spec.lua): delay must return milliseconds or
-- nil; this one returns a string.
local M = {}

function M.delay(ctx, attempt, why) -- BAD: returns "soon"
  return "soon"
end

return M
