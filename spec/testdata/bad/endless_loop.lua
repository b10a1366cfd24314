-- KNOWN BAD (spec/bad_scripts_spec.lua): a lock whose apply never returns.
-- The instruction budget must stop it and fail just that request.
local M = {}

function M.apply(state, req, ctx)
  local n = 0
  while true do n = n + 1 end -- BAD: spins until the budget runs out
end

return M
