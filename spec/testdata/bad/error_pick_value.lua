-- KNOWN BAD (spec/bad_scripts_spec.lua): a proposer whose pick_value raises
-- once phase 1 has a majority of promises.
local M = {}

function M.pick_value(ctx, promises)
  local best = promises[1]
  return best.round + best.missing -- BAD: arithmetic on a nil field
end

return M
