-- KNOWN BAD (spec/bad_scripts_spec.lua): a proposer whose enough raises on
-- the first answer it counts.
local M = {}

function M.enough(ctx, phase, yeas, nays, timed_out)
  error(("cannot count %d yeas in phase %d"):format(yeas, phase)) -- BAD
end

return M
