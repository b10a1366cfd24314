-- A known-bad fair lock: on release it hands the lock to the LAST waiter
-- instead of the first (a stack, not a queue), and keeps the others' places as
-- they were. It declares fifo's model, so the checker holds it to FIFO order and
-- catches it as soon as two clients wait at once (spec/fifo_spec.lua).
local fifo = require "locks.fifo"
local M = { model = fifo.model }

function M.apply(state, req, ctx)
  if req.op == "release" and state and state.holder == req.holder and state.queue
     and #state.queue >= 2 and not req.fence then
    local q = {}
    for i = 1, #state.queue - 1 do q[i] = state.queue[i] end
    return { holder = state.queue[#state.queue], token = req.token, queue = q },
           { status = "released", holder = req.holder }
  end
  return fifo.apply(state, req, ctx)
end

return M
