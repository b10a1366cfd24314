--[[
skinny.failover -- how a client fails over from one instance to the next, as a
real client (skinnyctl) does. Written once, for the simulated lab (skinny/init.lua)
and for real labs; spec/LAB.md "Failover" is the same rule in words, so skinnyctl
can be checked against it. Pure: no clock, no I/O, no randomness; the caller
passes the time in (virtual or wall-clock ms) and does the sending.

    local failover = require "skinny.failover"
    local plan = failover.new{ nodes = { "catbus", "kanta", "mei" }, start = "kanta",
                               now = 0, timeout = 2000 }
    local a = plan:first()          -- { node = "kanta", at = 0, deadline = 1000, n = 1, round = 1 }
    -- send the request to a.node at a.at; wait for an answer until a.deadline
    local b = plan:next("timeout", 1000)   -- no answer: { node = "mei", at = 1000, deadline = 1500, ... }
    local c = plan:next("released", 1003)  -- nil: settled, stop

THE RULE
  The instances, in order: `start` first, then the ones after it in `nodes`,
  wrapping round (start not in nodes: start, then all of nodes). One pass over
  them is a round.
  Every attempt sends the SAME request (same client id and seq, unchanged).
  The overall deadline is the first send's time plus `timeout`.
  An attempt at time t, with L = overall - t left, waits for an answer until
      t + L                        when it is the last instance of its round,
      t + max(L // 2, min(L, 250)) while other instances remain untried in the round
  (skinnyctl's attempt_deadline: half of what is left, at least 250 ms or all that
  is left), and never longer than `attempt_timeout` when one is given.
  The answer decides:
    granted, refused, released, not_holder, stale (settled), error (a script
      failed), or any other status not below: stop, that is the answer;
    unavailable, contended (indefinite: this instance gave up), timeout (no
      answer by the attempt's deadline), down (the instance is down: connection
      refused, or reset): try the next instance at once;
  after the last instance of a round, the next round starts ROUND_PAUSE_MS later.
  Stop, with the last attempt's status as the answer, when the overall deadline
  has come, or when the next round would start at or after it.
  Answers to abandoned attempts are ignored (the copies still run).
]]

local M = {}

M.MIN_ATTEMPT_MS = 250 -- an attempt with others left gets at least this (or all that is left)
M.ROUND_PAUSE_MS = 100 -- between the end of a round and the next

-- Statuses after which the client sends the same request to the next instance.
M.FAIL_OVER = { unavailable = true, contended = true, timeout = true, down = true }
-- Settled: no copy of the request can take effect later (spec/PROTOCOL.md 8).
M.SETTLED = { granted = true, refused = true, released = true, not_holder = true, stale = true }

--- failover.order(nodes, start) -> the instances in the order tried
function M.order(nodes, start)
  local at
  for i, n in ipairs(nodes) do
    if n == start then at = i end
  end
  local out = {}
  if at == nil then
    out[1] = start
    for _, n in ipairs(nodes) do out[#out + 1] = n end
    return out
  end
  for k = 0, #nodes - 1 do out[#out + 1] = nodes[(at - 1 + k) % #nodes + 1] end
  return out
end

--- failover.deadline(now, overall, more, attempt_timeout) -> the attempt's deadline
-- more: other instances remain untried in this round.
function M.deadline(now, overall, more, attempt_timeout)
  if now >= overall then return now end
  local left = overall - now
  local d = overall
  if more then
    local half = left // 2
    d = now + (half < M.MIN_ATTEMPT_MS and math.min(left, M.MIN_ATTEMPT_MS) or half)
  end
  if attempt_timeout and now + attempt_timeout < d then d = now + attempt_timeout end
  return d
end

local Plan = {}
Plan.__index = Plan

--- failover.new{ nodes =, start =, now =, timeout =, attempt_timeout = } -> plan
function M.new(o)
  assert(type(o.nodes) == "table" and #o.nodes >= 1 or o.start ~= nil, "failover: no instances")
  assert(math.type(o.now) == "integer" and math.type(o.timeout) == "integer" and o.timeout > 0,
         "failover: now and timeout are whole ms, timeout > 0")
  assert(o.attempt_timeout == nil or (math.type(o.attempt_timeout) == "integer" and o.attempt_timeout > 0),
         "failover: attempt_timeout is a whole number of ms > 0")
  local order = M.order(o.nodes or {}, o.start or o.nodes[1])
  return setmetatable({ order = order, overall = o.now + o.timeout, start_t = o.now,
                        attempt_timeout = o.attempt_timeout, i = 0, round = 1, n = 0 }, Plan)
end

function Plan:_attempt(at)
  self.i = self.i + 1
  self.n = self.n + 1
  return { node = self.order[self.i], at = at, n = self.n, round = self.round,
           deadline = M.deadline(at, self.overall, self.i < #self.order, self.attempt_timeout) }
end

--- plan:first() -> the first attempt { node =, at =, deadline =, n = 1, round = 1 }
function Plan:first()
  assert(self.n == 0, "failover: first() called twice")
  return self:_attempt(self.start_t)
end

--- plan:next(status, now) -> the next attempt, or nil: stop (the answer is `status`)
-- status: how the current attempt ended (its answer, "timeout" at its deadline, "down").
-- The attempt's `at` may be later than now (a pause between rounds).
function Plan:next(status, now)
  if not M.FAIL_OVER[status] or now >= self.overall then return nil end
  if self.i < #self.order then return self:_attempt(now) end
  local at = now + M.ROUND_PAUSE_MS
  if at >= self.overall then return nil end
  self.i = 0
  self.round = self.round + 1
  return self:_attempt(at)
end

return M
