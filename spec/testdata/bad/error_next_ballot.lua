-- KNOWN BAD (spec/bad_scripts_spec.lua): a proposer whose next_ballot raises.
-- The other hooks are missing, so the C defaults take over for them.
local M = {}

function M.next_ballot(ctx, info)
  error("no ballot for you (attempt " .. info.attempt .. ")") -- BAD
end

return M
