-- KNOWN BAD (spec/bad_scripts_spec.lua): thrifty must return milliseconds
-- (the wait before the other acceptors are asked) or false; this one
-- returns true.
local M = {}

function M.thrifty(ctx) -- BAD: returns true, not a number of milliseconds
  return true
end

return M
