-- KNOWN BAD: scripts/locks/semaphore.lua with an off-by-one: it grants an
-- acquire while the holders are no more than the permits (<= instead of <),
-- so N + 1 hold at once. It declares the correct script's model (the very
-- table), so the checker holds it to the semaphore's specification and
-- catches it (spec/semaphore_spec.lua; spec/HOOKS.md, "Your own lock
-- semantics").
local good = require "locks.semaphore"
local M = { model = good.model, describe = good.describe }

local function permits(params)
  return params and params.permits or good.model.params.permits
end

function M.apply(state, req, ctx)
  local n = permits(ctx.params)
  local holders = state and state.holders or {}
  local count = 0
  for _ in pairs(holders) do count = count + 1 end
  if req.op == "acquire" and not holders[req.holder] and count <= n then -- the bug: <= n
    holders[req.holder] = req.token
    return { holders = holders }, { status = "granted", holder = req.holder, token = req.token }
  end
  return good.apply(state, req, ctx)
end

return M
