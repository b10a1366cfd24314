-- KNOWN BAD (spec/bad_scripts_spec.lua): a lock whose apply raises a runtime
-- error on every request: a request has no `client` field (only op, holder,
-- lock, ttl and token), so `client` is nil and indexing it fails.
local M = {}

function M.apply(state, req, ctx)
  local client = req.client
  return state, { status = "granted", holder = client.name } -- BAD: client is nil
end

return M
