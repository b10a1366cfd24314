-- KNOWN BAD (spec/bad_scripts_spec.lua): enough must return "wait",
-- "proceed" or "fail"; this one returns a number.
local M = {}

function M.enough(ctx, phase, yeas, nays, timed_out) -- BAD: returns 42
  return 42
end

return M
