-- A fair lock: one holder, and a wait queue served first come, first served.
-- An acquire of a held lock does not fail: it joins the queue and is answered
-- `queued` with its place (1 = next). The client then asks again with the
-- same request (same identity: the core hands such a copy to apply as op
-- "wait") until it hears `granted` (its turn came: the holder released and
-- the lock passed to it, with a new fencing token) or `refused`. A release by
-- a waiter cancels its wait: it leaves the queue (answered `released`, text
-- "left the queue"). spec/HOOKS.md "Waiting: deferred answers" walks through it.
--
-- Fairness: strict FIFO. A release hands the lock to the head of the queue in
-- the same step, so no newcomer can overtake a waiter. The price is the
-- convoy: the lock is idle from the release until the next holder hears of
-- it (its next poll), and a waiter that crashed gets the lock and holds it
-- until someone intervenes (as with any advisory lock; leases would end it).
--
-- State: nil when free, else { holder = "beaver", token = 4353,
--                               queue = { "otter", "giraffe" } } (queue may be absent).
local M = {}

local function place(queue, who)
  for i, h in ipairs(queue or {}) do
    if h == who then return i end
  end
  return nil
end

local function without(queue, i)
  local q = {}
  for j, h in ipairs(queue) do
    if j ~= i then q[#q + 1] = h end
  end
  return q
end

local function state_of(holder, token, queue)
  if holder == nil then return nil end
  return { holder = holder, token = token, queue = (queue and #queue > 0) and queue or nil }
end

-- The sequential specification (spec/HOOKS.md, "The model"): the same rules over
-- { holder =, queue = {...} } without tokens. Every answer's status, the holder it
-- names, and a queued answer's place are checked against it.
M.model = {
  name = "fifo",
  init = { queue = {} },
  step = function(s, op)
    local h, q = op.holder, s.queue
    local at = place(q, h)
    if op.op == "acquire" then
      if s.holder == nil then return { holder = h, queue = q }, { status = "granted", holder = h } end
      if s.holder == h then return s, { status = "granted", holder = h } end
      if at then return s, { status = "queued", holder = s.holder, position = at } end
      q[#q + 1] = h
      return s, { status = "queued", holder = s.holder, position = #q }
    elseif op.op == "wait" then
      if s.holder == h then return s, { status = "granted", holder = h } end
      if at then return s, { status = "queued", holder = s.holder, position = at } end
      return s, { status = "refused", holder = s.holder }
    elseif op.op == "release" then
      if s.holder == h then
        local nxt = q[1]
        return { holder = nxt, queue = nxt and without(q, 1) or q }, { status = "released", holder = h }
      end
      if at then return { holder = s.holder, queue = without(q, at) }, { status = "released", holder = h } end
      return s, { status = "not_holder", holder = s.holder }
    end
    -- renew
    if s.holder == h then return s, { status = "granted", holder = h } end
    return s, { status = "not_holder", holder = s.holder }
  end,
}

-- For people (skinnyctl status, the status table, the pictures).
function M.describe(state)
  if not state then return "free" end
  local q = state.queue or {}
  if #q == 0 then return ("held by %s (token %d); nobody waiting"):format(state.holder, state.token) end
  return ("held by %s (token %d); waiting: %s"):format(state.holder, state.token, table.concat(q, ", "))
end

function M.apply(state, req)
  local held = state and state.holder
  local queue = state and state.queue or {}
  local me = req.holder
  local at = place(queue, me)
  if req.op == "acquire" or req.op == "wait" then
    if not held and req.op == "acquire" then
      return state_of(me, req.token, queue), { status = "granted", holder = me, token = req.token }
    elseif held == me then
      return state, { status = "granted", holder = me, token = state.token,
                      text = req.op == "wait" and "your turn came" or "already held by you" }
    elseif at then
      return state, { status = "queued", holder = held, position = at,
                      text = ("place %d in the queue behind %s"):format(at, held) }
    elseif req.op == "wait" then
      -- not waiting any more (left the queue); nothing to hand out
      return state, { status = "refused", holder = held, text = "not in the queue" }
    end
    queue[#queue + 1] = me
    return state_of(held, state.token, queue),
           { status = "queued", holder = held, position = #queue,
             text = ("place %d in the queue behind %s"):format(#queue, held) }
  end
  if held == me then
    if req.fence and req.fence ~= state.token then
      return state, { status = "not_holder", holder = held,
                      text = ("token %d names an earlier grant; the current grant's token is %d")
                             :format(req.fence, state.token) }
    end
    if req.op == "renew" then
      return state, { status = "granted", holder = held, token = state.token }
    end
    -- release: the head of the queue holds it now, with this change's token
    local nxt = queue[1]
    local text = nxt and ("released; %s holds it now"):format(nxt) or nil
    return state_of(nxt, req.token, without(queue, 1)), { status = "released", holder = me, text = text }
  end
  if at and req.op == "release" then
    return state_of(held, state.token, without(queue, at)),
           { status = "released", holder = me, text = "left the queue" }
  end
  return state, { status = "not_holder", holder = held }
end

return M
