--[[
skinny.shrink -- a failing run reduced to a small one that fails the same check.

An experiment is code; what it did to the cluster is a schedule: which clients it made,
which operations they sent when and where, which faults it caused when. shrink records
that schedule while the experiment runs (the lab's methods, wrapped), replays it without
the experiment's code (each operation and fault at its recorded virtual time, on a fresh
lab with the same seed and options), and removes what the failure does not need by delta
debugging (Zeller's ddmin over the events), then tries fewer instances and shorter
network delays. Every candidate is a deterministic replay; one is kept only if it fails
every check the original failed.

    local shrink = require "skinny.shrink"
    local sched, lab = shrink.record(opts, function(lab) exp.run(lab, variant) end)
    local failing = shrink.failing(lab)               -- { "single_holder", ... }
    local small, info = shrink.minimize(sched, failing)
    local lab2 = shrink.replay(small)                 -- fails the same checks

A schedule is plain data (JSON-able): { version = 1, lab = <lab options>, clients =
{ { name =, holder =, opts = {...} }, ... }, events = { { t =, op = "acquire", client =,
lock =, o = {...} } | { t =, call = "crash", args = {...} }, ... } } with clients named in
`args` as { client = name }.
]]

local skinny = require "skinny"

local M = {}

M.VERSION = 1
M.MAX_REPLAYS = 400

-- Lab methods that change the cluster; recorded when an experiment calls them (not when
-- they call each other: only the outermost call is an event).
M.CALLS = { "crash", "restart", "pause", "resume", "skew", "partition", "block", "heal",
            "latency", "slow", "client_link", "slow_client", "cut_client", "client_loss",
            "loss", "duplicate", "reorder" }

local CLIENT_OPTS = { "node", "timeout", "name", "failover", "attempt_timeout", "wait", "poll" }
local OP_OPTS = { "ttl", "timeout", "node", "token", "attempt_timeout", "shared", "wait", "poll" }

local function copy(v)
  if type(v) ~= "table" then return v end
  local t = {}
  for k, x in pairs(v) do t[k] = copy(x) end
  return t
end

-- A call's arguments as data: a client object becomes { client = name }.
local function encode_args(args, n)
  local out = {}
  for i = 1, n do
    local a = args[i]
    if type(a) == "table" and getmetatable(a) == skinny.Client then a = { client = a.name } end
    out[i] = copy(a)
  end
  return out
end

--- shrink.record(opts, run) -> schedule, lab: a lab built from opts, run(lab) on it with
--- every client, operation and fault recorded.
function M.record(opts, run)
  local lab = skinny.lab(opts)
  local sched = { version = M.VERSION, lab = copy(opts), clients = {}, events = {} }
  sched.lab.trace_file, sched.lab.model = nil, type(opts.model) == "string" and opts.model or nil
  local depth = 0
  for _, m in ipairs(M.CALLS) do
    local orig = skinny.Lab[m]
    lab[m] = function(self, ...)
      if depth == 0 then
        sched.events[#sched.events + 1] = { t = self:now(), call = m,
                                           args = encode_args({ ... }, select("#", ...)) }
      end
      depth = depth + 1
      local r = table.pack(pcall(orig, self, ...))
      depth = depth - 1
      if not r[1] then error(r[2], 2) end
      return table.unpack(r, 2, r.n)
    end
  end
  lab.client = function(self, holder, copts)
    local c = skinny.Lab.client(self, holder, copts)
    local o = {}
    for _, k in ipairs(CLIENT_OPTS) do o[k] = copy((copts or {})[k]) end
    sched.clients[#sched.clients + 1] = { name = c.name, holder = holder, opts = o }
    c.invoke = function(cself, op, lock, oo)
      if not (oo and oo.cancel) then -- a waiter's own cancel comes again on replay
        local keep = {}
        for _, k in ipairs(OP_OPTS) do keep[k] = copy((oo or {})[k]) end
        sched.events[#sched.events + 1] = { t = self:now(), op = op, client = c.name,
                                           lock = lock, o = keep }
      end
      return skinny.Client.invoke(cself, op, lock, oo)
    end
    return c
  end
  run(lab)
  return sched, lab
end

--- shrink.failing(lab) -> the names of the checks the lab's history fails (sorted)
function M.failing(lab, o)
  local rep = lab:check(o)
  local out = {}
  for _, c in ipairs(rep.checks) do if c.ok == false then out[#out + 1] = c.name end end
  table.sort(out)
  return out, rep
end

-- The last event's time.
local function horizon(sched)
  local t = 0
  for _, e in ipairs(sched.events) do if e.t > t then t = e.t end end
  return t
end

--- shrink.replay(schedule, extra_lab_opts) -> lab (run): the schedule without the code
function M.replay(sched, extra)
  local opts = copy(sched.lab)
  for k, v in pairs(extra or {}) do opts[k] = v end
  local lab = skinny.lab(opts)
  local clients = {}
  for _, c in ipairs(sched.clients) do
    local o = copy(c.opts)
    o.name = c.name
    clients[c.name] = lab:client(c.holder, o)
  end
  for _, e in ipairs(sched.events) do
    lab:at(e.t, function(l)
      if e.op then
        clients[e.client]:invoke(e.op, e.lock, copy(e.o))
      else
        local args = copy(e.args)
        for i, a in ipairs(args) do
          if type(a) == "table" and a.client and clients[a.client] then args[i] = clients[a.client] end
        end
        l[e.call](l, table.unpack(args, 1, #e.args))
      end
    end)
  end
  local last = horizon(sched)
  lab:run_until(function(l)
    if l:now() < last then return false end
    for _, op in ipairs(l.ops) do if not op.done then return false end end
    return true
  end, last + 60000)
  lab:run_for(100)
  return lab
end

-- Does the schedule still fail every check in `want`?
local function still_fails(sched, want, stats)
  stats.replays = stats.replays + 1
  local ok, lab = pcall(M.replay, sched, { trace = false })
  if not ok then return false end
  local got = M.failing(lab)
  lab:close()
  local have = {}
  for _, n in ipairs(got) do have[n] = true end
  for _, n in ipairs(want) do if not have[n] then return false end end
  return true
end

local function with_events(sched, events)
  local s = copy(sched)
  s.events = events
  return s
end

-- ddmin over the events: the smallest list (1-minimal as far as the budget allows)
-- that still fails.
local function ddmin(sched, want, stats)
  local events = sched.events
  local n = 2
  while #events >= 2 and stats.replays < M.MAX_REPLAYS do
    local size = math.ceil(#events / n)
    local reduced = false
    -- try each complement: drop one chunk
    for start = 1, #events, size do
      if stats.replays >= M.MAX_REPLAYS then break end
      local rest = {}
      for i, e in ipairs(events) do
        if i < start or i >= start + size then rest[#rest + 1] = e end
      end
      if #rest < #events and still_fails(with_events(sched, rest), want, stats) then
        events = rest
        n = math.max(n - 1, 2)
        reduced = true
        break
      end
    end
    if not reduced then
      if n >= #events then break end
      n = math.min(n * 2, #events)
    end
  end
  -- one more pass: each single event
  local i = 1
  while i <= #events and #events > 1 and stats.replays < M.MAX_REPLAYS do
    local rest = {}
    for j, e in ipairs(events) do if j ~= i then rest[#rest + 1] = e end end
    if still_fails(with_events(sched, rest), want, stats) then events = rest else i = i + 1 end
  end
  return with_events(sched, events)
end

-- Clients no event names any more are dropped.
local function drop_idle_clients(sched)
  local used = {}
  for _, e in ipairs(sched.events) do
    if e.client then used[e.client] = true end
    for _, a in ipairs(e.args or {}) do if type(a) == "table" and a.client then used[a.client] = true end end
  end
  local keep = {}
  for _, c in ipairs(sched.clients) do if used[c.name] then keep[#keep + 1] = c end end
  sched.clients = keep
end

-- The instance names a schedule mentions.
local function mentioned(sched)
  local names = {}
  local function add(v)
    if type(v) == "string" then names[v] = true
    elseif type(v) == "table" then for _, x in pairs(v) do add(x) end end
  end
  for _, e in ipairs(sched.events) do
    add(e.args)
    if e.o and e.o.node then add(e.o.node) end
  end
  for _, c in ipairs(sched.clients) do add(c.opts.node) end
  return names
end

-- Fewer instances: the first k of the lab's names, for k below the count, when no event
-- names an instance beyond them.
local function fewer_nodes(sched, want, stats)
  local names = sched.lab.nodes
  if type(names) ~= "table" then
    local n = names or 5
    names = {}
    for i = 1, n do names[i] = skinny.NAMES[i] end
  end
  local used = mentioned(sched)
  local need = 1
  for i, n in ipairs(names) do if used[n] then need = i end end
  for k = need, #names - 1 do
    if stats.replays >= M.MAX_REPLAYS then break end
    local s = copy(sched)
    s.lab.nodes = table.move(names, 1, k, 1, {})
    if still_fails(s, want, stats) then return s, #names, k end
  end
  -- else the instances beyond the first k folded onto them (the j-th onto the
  -- ((j - 1) % k + 1)-th), for the smallest majority-keeping k that still fails
  for k = math.max(1, #names // 2 + (#names % 2)), #names - 1 do
    if stats.replays >= M.MAX_REPLAYS then break end
    local map = {}
    for j = k + 1, #names do map[names[j]] = names[(j - 1) % k + 1] end
    local function fold(v)
      if type(v) == "string" then return map[v] or v end
      if type(v) == "table" then
        local t = {}
        for key, x in pairs(v) do t[key] = fold(x) end
        return t
      end
      return v
    end
    local s = copy(sched)
    s.lab.nodes = table.move(names, 1, k, 1, {})
    for _, e in ipairs(s.events) do
      if e.args then e.args = fold(e.args) end
      if e.o and e.o.node then e.o.node = fold(e.o.node) end
    end
    for _, c in ipairs(s.clients) do c.opts.node = fold(c.opts.node) end
    if still_fails(s, want, stats) then return s, #names, k end
  end
  return sched, #names, #names
end

-- Shorter faults: each whole-number argument of a fault (a delay, a span) halved while
-- the run still fails.
local function shorter_faults(sched, want, stats)
  local best = sched
  for i, e in ipairs(sched.events) do
    for j, a in ipairs(e.args or {}) do
      if math.type(a) == "integer" and a >= 2 then
        while stats.replays < M.MAX_REPLAYS do
          local s = copy(best)
          local cur = s.events[i].args[j]
          if cur < 2 then break end
          s.events[i].args[j] = cur // 2
          if still_fails(s, want, stats) then best = s else break end
        end
      end
    end
  end
  return best
end

-- Shorter delays: the lab's latency made smaller (halved while it fails).
local function shorter_delays(sched, want, stats)
  local lat = sched.lab.latency
  if type(lat) ~= "table" then return sched, nil end
  local best = sched
  for _ = 1, 6 do
    if stats.replays >= M.MAX_REPLAYS then break end
    local s = copy(best)
    local l = s.lab.latency
    local a, b = l.a or 0, l.b or 0
    if a <= 1 and b <= 1 then break end
    l.a, l.b = math.max(a // 2, 0), math.max(b // 2, 1)
    if still_fails(s, want, stats) then best = s else break end
  end
  return best, best ~= sched and copy(best.lab.latency) or nil
end

-- Earlier: every event moved back by the first one's time (a run that starts at once).
local function earlier(sched, want, stats)
  local first = math.huge
  for _, e in ipairs(sched.events) do if e.t < first then first = e.t end end
  if first == math.huge or first == 0 then return sched end
  local s = copy(sched)
  for _, e in ipairs(s.events) do e.t = e.t - first end
  if still_fails(s, want, stats) then return s end
  return sched
end

--- shrink.minimize(schedule, want) -> smaller schedule, info
--- info: { replays =, events_before =, events_after =, ops_before =, ops_after =,
---         faults_before =, faults_after =, clients_before =, clients_after =,
---         nodes_before =, nodes_after =, latency = (the new one, or nil), budget = bool }
function M.minimize(sched, want)
  local stats = { replays = 0 }
  local function counts(s)
    local ops, faults = 0, 0
    for _, e in ipairs(s.events) do if e.op then ops = ops + 1 else faults = faults + 1 end end
    return ops, faults
  end
  local info = {}
  info.ops_before, info.faults_before = counts(sched)
  info.events_before, info.clients_before = #sched.events, #sched.clients
  if not still_fails(sched, want, stats) then
    return nil, "the recorded schedule, replayed without the experiment's code, does not fail "
      .. table.concat(want, " and ") .. " (its code reacts to answers in a way a schedule cannot)"
  end
  local s = ddmin(sched, want, stats)
  drop_idle_clients(s)
  local nb, na
  s, nb, na = fewer_nodes(s, want, stats)
  s, info.latency = shorter_delays(s, want, stats)
  s = shorter_faults(s, want, stats)
  s = ddmin(s, want, stats) -- a smaller cluster may need fewer events still
  drop_idle_clients(s)
  s = earlier(s, want, stats)
  info.ops_after, info.faults_after = counts(s)
  info.events_after, info.clients_after = #s.events, #s.clients
  info.nodes_before, info.nodes_after = nb, na
  info.replays, info.budget = stats.replays, stats.replays >= M.MAX_REPLAYS
  return s, info
end

--- shrink.text(info, trace_before, trace_after) -> lines saying what was removed
function M.text(info, n_before, n_after)
  local lines = {
    ("shrunk in %d replays%s"):format(info.replays,
      info.budget and " (the replay budget ran out: smaller may exist)" or ""),
    ("  client operations %d -> %d, faults %d -> %d, clients %d -> %d, instances %d -> %d")
      :format(info.ops_before, info.ops_after, info.faults_before, info.faults_after,
              info.clients_before, info.clients_after, info.nodes_before, info.nodes_after),
  }
  if info.latency then
    lines[#lines + 1] = ("  network delay now %s %s..%s ms"):format(info.latency.kind or "uniform",
      tostring(info.latency.a), tostring(info.latency.b))
  end
  if n_before then
    lines[#lines + 1] = ("  trace events %d -> %d"):format(n_before, n_after)
  end
  return table.concat(lines, "\n")
end

--- shrink.describe(schedule) -> one line per event, for people
function M.describe(sched)
  local out = {}
  for _, e in ipairs(sched.events) do
    if e.op then
      local extra = {}
      for k, v in pairs(e.o or {}) do extra[#extra + 1] = k .. "=" .. tostring(v) end
      table.sort(extra)
      out[#out + 1] = ("t=%d %s: %s %s%s"):format(e.t, e.client, e.op, tostring(e.lock),
        #extra > 0 and (" (" .. table.concat(extra, ", ") .. ")") or "")
    else
      local args = {}
      for i, a in ipairs(e.args) do
        args[i] = type(a) == "table" and (a.client or require("cjson").encode(a)) or tostring(a)
      end
      out[#out + 1] = ("t=%d %s(%s)"):format(e.t, e.call, table.concat(args, ", "))
    end
  end
  return out
end

return M
