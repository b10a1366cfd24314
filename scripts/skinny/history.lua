-- skinny.history: the client history (the checkers' input) rebuilt from a
-- trace's invoke and complete events, for traces read back from files.
--
-- One op per client operation. A resend (an invoke with `resend_of`, a client
-- failing over: the same request sent to another instance) is another attempt
-- of the op it names, not a new op; the op keeps its first invoke, and its
-- outcome is the last answer the client listened to (each attempt's answer
-- comes before the next resend, the final one last). `late` answers (to
-- attempts the client had stopped waiting for) are not part of it.
local M = {}

--- history.from_trace(events) -> ops, model (the model the run's "run" event names, else its
--- lock script, a name or a path; nil when there is none: the checkers' default then),
--- lock_params (the run event's, or nil)
function M.from_trace(events)
  local ops, by, model, params = {}, {}, nil, nil
  for _, e in ipairs(events) do
    if e.ev == "invoke" and e.resend_of ~= nil and by[e.resend_of] then
      local op = by[e.resend_of]
      by[e.req] = op
      op.attempts[#op.attempts + 1] = { node = e.node, req = e.req, t = e.t }
    elseif e.ev == "invoke" then
      local op = { id = e.req, client = e.client, op = e.op, lock = e.lock, holder = e.holder,
                   invoke = e.t, ttl = e.ttl, fence = e.fence, shared = e.shared == true or nil,
                   attempts = { { node = e.node, req = e.req, t = e.t } } }
      ops[#ops + 1] = op
      by[e.req] = op
    elseif e.ev == "complete" and by[e.req] then
      local op = by[e.req]
      if e.status == "queued" and op.queued == nil then
        -- a waiting acquire: its first queued answer (spec/LAB.md "Waiting"); the place it
        -- joined at, unless that answer was lost and this one answers a wait
        op.queued = { t = e.t, position = not e.waited and e.token or nil, by = e.holder }
      end
      if e.waited and op.queued == nil then op.queued = {} end -- queued at a time not known
      op.position = e.status == "queued" and e.token or nil
      op.status = e.status
      op.complete = e.status ~= "timeout" and e.t or nil
      op.token = e.token
      op.by = (e.status == "refused" or e.status == "not_holder") and e.holder or nil
      local a = op.attempts[#op.attempts]
      if a and a.req == e.req then a.status, a.complete = e.status, e.t end
    elseif e.ev == "run" then
      if type(e.model) == "string" or type(e.lock) == "string" then
        model = type(e.model) == "string" and e.model or e.lock
      end
      if type(e.lock_params) == "table" then params = e.lock_params end
    end
  end
  return ops, model, params
end

return M
