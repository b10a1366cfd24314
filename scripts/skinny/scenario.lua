--[[
skinny.scenario -- fault schedules as data: drawn from a seed, applied to a lab, printed,
and (being plain tables) recorded in traces, shrunk and replayed.

    local scenario = require "skinny.scenario"
    local faults = scenario.random_faults(7, lab)          -- 10 faults drawn from seed 7
    scenario.apply_faults(lab, faults)                     -- schedule them (lab:at)
    for _, f in ipairs(faults) do print(scenario.text(f)) end

A fault is one table; `t` is when it starts (virtual ms), `span` how long it lasts (it is
undone at t + span, or for "slow" and "slow_client" at t + ms + span):
  { t=, kind="crash", node=, span=, amnesia=bool, rejoin=bool|nil }  crash, then restart
  { t=, kind="partition", a={names}, b={names}, span= }              then heal
  { t=, kind="block", node=, other=, span= }                         one way, then heal
  { t=, kind="slow", node=, ms=, span= }                             its links slowed by ms
  { t=, kind="loss" | "duplicate", p=, span= }                       every link
  { t=, kind="reorder", p=, ms=, span= }                             every link
  { t=, kind="slow_client", client=, node=, ms=, way=, span= }       a client's link
  { t=, kind="cut_client", client=, node=, way=, span= }
  { t=, kind="client_loss", client=, node=, p=, span= }
`client` is a number: the lab's client of that index when the fault starts (wrapping
round the clients there are; none yet: the fault is skipped), so a schedule can be drawn
before an experiment makes its clients.

scenario.rng(seed) -> rand(n): a small seeded generator (1..n), independent of the
  simulator's.
scenario.random_faults(seed_or_rand, lab_or_names, o) -> faults: o.n (10) faults, of
  o.kinds (scenario.KINDS), starting 50..350 ms apart from o.start (0), each lasting
  100..600 ms (o.scale: both divided by it, default 1, so a short run gets faults too);
  blank restarts
  (o.amnesia, default true: half the crashes) only within one fixed minority, drawn
  first; o.rejoin passed to restarts; o.clients: how many clients to pick among (8).
scenario.apply_faults(lab, faults) -> lab: schedules every fault and its end.
scenario.text(f) -> "t=120 crash mei for 300 ms (state lost)".
]]

local M = {}

M.KINDS = { "crash", "partition", "block", "slow", "loss", "duplicate", "reorder",
            "slow_client", "cut_client", "client_loss" }

function M.rng(seed)
  local state = seed * 7919 + 17
  return function(n) -- a small LCG; its high bits (the low ones repeat in short cycles)
    state = (state * 1103515245 + 12345) % 2147483648
    return (state >> 15) % n + 1
  end
end

local WAYS = { "both", "requests", "answers" }

-- The minority blank restarts may hit: drawn first, so that the rest of the schedule
-- does not depend on whether amnesia is on.
local function minority_of(rand, names)
  local m = {}
  for i = 1, (#names - 1) // 2 do m[i] = names[rand(#names)] end
  return m
end

function M.random_faults(seed, where, o)
  o = o or {}
  local rand = type(seed) == "function" and seed or M.rng(seed)
  local names = where.names or where
  assert(type(names) == "table" and #names >= 1, "random_faults: a lab or a list of instance names")
  local kinds = o.kinds or M.KINDS
  for _, k in ipairs(kinds) do
    local known = false
    for _, x in ipairs(M.KINDS) do known = known or x == k end
    if not known then
      error(("random_faults: no fault kind '%s' (kinds: %s)"):format(tostring(k), table.concat(M.KINDS, ", ")), 2)
    end
  end
  local nclients = o.clients or 8
  local minority = minority_of(rand, names)
  local faults, t = {}, o.start or 0
  local scale = o.scale or 1
  assert(type(scale) == "number" and scale >= 1, "random_faults: scale must be a number >= 1")
  local function ms(v) return math.max(1, v // scale) end
  for _ = 1, (o.n or 10) do
    t = t + ms(50 + rand(300))
    local kind = kinds[rand(#kinds)]
    local victim = names[rand(#names)]
    local other = names[rand(#names)]
    local client = rand(nclients)
    local span = ms(100 + rand(500))
    local f = { t = t, kind = kind, span = span }
    if kind == "crash" then
      local amnesia = o.amnesia ~= false and rand(2) == 1
      if amnesia then victim = minority[rand(#minority)] or victim end
      f.node, f.amnesia, f.rejoin = victim, amnesia, o.rejoin
    elseif kind == "partition" then
      local a, b = {}, {}
      for _, n in ipairs(names) do if rand(2) == 1 then a[#a + 1] = n else b[#b + 1] = n end end
      if #a == 0 or #b == 0 then f = nil else f.a, f.b = a, b end
    elseif kind == "block" then
      if other == victim then other = names[victim == names[1] and 2 or 1] end
      if other == nil then f = nil else f.node, f.other = victim, other end
    elseif kind == "slow" then
      f.node = victim
      f.ms = 1000 + rand(2000) -- seconds: phases time out, copies run late
    elseif kind == "loss" then
      f.p, f.span = 0.2, ms(300)
    elseif kind == "duplicate" then
      f.p, f.span = 0.3, ms(300)
    elseif kind == "reorder" then
      f.p, f.ms, f.span = 0.5, 30, ms(300)
    elseif kind == "slow_client" then
      f.client, f.node = client, victim
      f.ms = 1000 + rand(2000) -- draws in this order, one statement each
      f.way = WAYS[rand(3)]
    elseif kind == "cut_client" then
      f.client, f.node, f.span = client, victim, span * 3
      f.way = WAYS[rand(3)]
    elseif kind == "client_loss" then
      f.client, f.node, f.p, f.span = client, victim, 0.3, ms(1000)
    end
    if f then faults[#faults + 1] = f end
  end
  return faults
end

-- The lab's client a fault names (by index, wrapping), or nil when there is none yet.
local function client_of(lab, i)
  local cs = lab.clients or {}
  if #cs == 0 then return nil end
  return cs[(i - 1) % #cs + 1]
end

local BASE = { kind = "uniform", a = 1, b = 8 }

-- Schedule one fault's start and end.
local function apply(lab, f)
  local k, t, span = f.kind, f.t, f.span
  if k == "crash" then
    lab:at(t, function(l) l:crash(f.node) end)
    lab:at(t + span, function(l) l:restart(f.node, { amnesia = f.amnesia, rejoin = f.rejoin }) end)
  elseif k == "partition" then
    lab:at(t, function(l) l:partition(f.a, f.b) end)
    lab:at(t + span, function(l) l:heal() end)
  elseif k == "block" then
    lab:at(t, function(l) l:block(f.node, f.other) end)
    lab:at(t + span, function(l) l:heal() end)
  elseif k == "slow" then
    lab:at(t, function(l) l:slow(f.node, f.ms) end)
    lab:at(t + f.ms + span, function(l)
      l:latency(BASE, f.node, nil)
      l:latency(BASE, nil, f.node)
      if l.sim then l.sim:fault_note(f.node, "slow 0 ms") end
    end)
  elseif k == "loss" then
    lab:at(t, function(l) l:loss(f.p) end)
    lab:at(t + span, function(l) l:loss(0) end)
  elseif k == "duplicate" then
    lab:at(t, function(l) l:duplicate(f.p) end)
    lab:at(t + span, function(l) l:duplicate(0) end)
  elseif k == "reorder" then
    lab:at(t, function(l) l:reorder(f.p, f.ms) end)
    lab:at(t + span, function(l) l:reorder(0, 0) end)
  elseif k == "slow_client" or k == "cut_client" or k == "client_loss" then
    local c -- picked when the fault starts, undone on the same client
    lab:at(t, function(l)
      c = client_of(l, f.client)
      if not c then return end
      if k == "slow_client" then l:slow_client(c, f.node, f.ms, f.way)
      elseif k == "cut_client" then l:cut_client(c, f.node, f.way)
      else l:client_loss(f.p, c, f.node) end
    end)
    local till = k == "slow_client" and t + f.ms + span or t + span
    lab:at(till, function(l)
      if not c then return end
      if k == "slow_client" then l:slow_client(c, f.node, 0)
      elseif k == "cut_client" then l:heal()
      else l:client_loss(0, c, f.node) end
    end)
  else
    error(("apply_faults: no fault kind '%s'"):format(tostring(k)), 3)
  end
end

function M.apply_faults(lab, faults)
  for _, f in ipairs(faults) do apply(lab, f) end
  return lab
end

function M.text(f)
  local k = f.kind
  local what
  if k == "crash" then
    what = ("crash %s for %d ms%s"):format(f.node, f.span, f.amnesia and " (state lost)" or "")
  elseif k == "partition" then
    what = ("partition %s / %s for %d ms"):format(table.concat(f.a, ","), table.concat(f.b, ","), f.span)
  elseif k == "block" then
    what = ("block %s -> %s for %d ms"):format(f.node, f.other, f.span)
  elseif k == "slow" then
    what = ("slow %s by %d ms, for %d ms"):format(f.node, f.ms, f.ms + f.span)
  elseif k == "loss" or k == "duplicate" then
    what = ("%s %g on every link for %d ms"):format(k, f.p, f.span)
  elseif k == "reorder" then
    what = ("reorder %g (up to %d ms) for %d ms"):format(f.p, f.ms, f.span)
  elseif k == "slow_client" then
    what = ("slow client #%d's %s to %s by %d ms"):format(f.client, f.way, f.node, f.ms)
  elseif k == "cut_client" then
    what = ("cut client #%d's %s to %s for %d ms"):format(f.client, f.way, f.node, f.span)
  else
    what = ("lose %g of client #%d's messages to %s for %d ms"):format(f.p, f.client, f.node, f.span)
  end
  return ("t=%d %s"):format(f.t, what)
end

return M
