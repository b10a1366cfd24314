-- skinny.history: the client history (the checkers' input) rebuilt from a
-- trace's invoke and complete events, for traces read back from files.
local M = {}

--- history.from_trace(events) -> ops, model ("lease" when the run used leases)
function M.from_trace(events)
  local ops, by, model = {}, {}, nil
  for _, e in ipairs(events) do
    if e.ev == "invoke" then
      local op = { id = e.req, client = e.client, op = e.op, lock = e.lock, holder = e.holder,
                   invoke = e.t, ttl = e.ttl }
      ops[#ops + 1] = op
      by[e.req] = op
    elseif e.ev == "complete" and by[e.req] then
      local op = by[e.req]
      op.status = e.status
      if e.status ~= "timeout" then op.complete = e.t end
      op.token = e.token
      if e.status == "refused" or e.status == "not_holder" then op.by = e.holder end
    elseif e.ev == "run" and tostring(e.lock):match("lease") then
      model = "lease"
    end
  end
  return ops, model
end

return M
