-- A lock script for spec/semaphore_spec.lua: it records what ctx.params held
-- when it ran, then tries to change ctx.params for the calls after it (which
-- must not see the change: ctx is fresh for every call).
local M = {}

function M.apply(state, req, ctx)
  local p = ctx.params
  local seen = { permits = p.permits, name = p.name, strict = p.strict, calls = (state and state.calls or 0) + 1 }
  p.permits = 999
  p.name = "changed"
  p.injected = true
  return seen, { status = "granted", holder = req.holder, token = req.token }
end

return M
