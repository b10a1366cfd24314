-- UNSAFE ON PURPOSE: the original's lock. A release names nobody and frees
-- the lock whoever asks (spec/PROTOCOL.md 7.5), and there is no fencing token.
local M = {}

-- The specification it claims, and breaks (a release by anyone frees the
-- lock): the plain lock's, as advisory.lua's. The checker says where.
M.model = { name = "lock", engine = "lock", max_holders = 1 }

function M.apply(state, req, ctx)
  local held = state and state.holder
  if req.op == "acquire" then
    if not held or held == req.holder then
      return { holder = req.holder }, { status = "granted", holder = req.holder }
    end
    return state, { status = "refused", holder = held }
  end
  if req.op == "release" then
    return nil, { status = "released", holder = held }
  end
  return state, { status = held == req.holder and "granted" or "not_holder", holder = held }
end

-- For people: no token to show, the original had none.
function M.describe(state, ctx)
  if not (state and state.holder) then return "free" end
  return "held by " .. state.holder .. " (no fencing token)"
end

return M
