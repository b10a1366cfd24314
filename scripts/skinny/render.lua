--[[
skinny.render -- pictures of a run: one self-contained HTML page, or the diagram as SVG.

    local render = require "skinny.render"
    local html = render.html(events, { title = "basic", command = "skinny run ..." })
    local svg  = render.svg(events, { title = "basic" })

`events` is a trace as a list of tables (`lab:trace()`, or `skinny.decode_trace(text)`:
JSON null already nil, whole numbers already integers).

render.html(events, opts) -> string
  A complete HTML document that opens offline (scripts and styles inline, no fetches):
  1. the space-time (Lamport) diagram: a lane per instance and per client, time downwards,
     an arrow per message, dropped (x) and duplicated (dashed) messages, faults on the lanes;
     hover or click anything for its fields (drawn on a canvas, only the visible part);
  2. the holder timeline per lock, with fencing tokens and the checker's overlaps in red;
  3. a time scrubber with play/pause: every acceptor's state per lock at that moment and
     the quorum behind the last decision, with the diagram's cursor at that moment;
  4. the checkers' verdict (run here, in Lua), metrics counted from the trace, and the
     seed and command that reproduce the run.
  The trace is embedded as one JSON array (<script type="application/json" id="skinny-events">),
  the analysis below as another (id="skinny-model").
  opts: title, command (the command that reproduces the run; default: built from the trace's
  "run" event), history (the client history, default: rebuilt from the trace), model (a model
  table or a lock script's name or path, default the run's lock script's), report (a check.all
  report, default: computed).

render.svg(events, opts) -> string
  The diagram alone, for slides: one <path class="msg TYPE"> per send, client requests and
  answers as <path class="client ...">, duplicate deliveries as <path class="dup ...">.
  opts: title, scale (px per ms, default 10), gap (idle stretches longer than this many ms
  are squeezed, default 15; 0 turns that off).

render.normalise(events) -> events, wall_t0
  Real daemons' traces (one file per daemon, concatenated) made drawable: time-ordered,
  clock started at the first event, each receive paired with its send. html, svg and
  analyse call it; the simulator's traces pass through untouched.

render.analyse(events, opts) -> model
  What both draw from: lanes, arrows, lane marks, spans, holds, decisions with their quorum,
  the verdict and the metrics. Lane and event indices in it are 0-based (for the page's JS).
  The last model analysed is kept in render.last_model (the CLI reports its verdict).
]]

-- luacheck: no max string line length
local cjson = require "cjson"
local check = require "skinny.check"

local M = {}

local format, concat = string.format, table.concat
local huge = math.huge

-- Colours, shared by the page and the SVG.
M.colors = {
  prepare = "#2f6bd8", promise = "#14967a", nay = "#d6336c", accept = "#7b46d4",
  accepted = "#e07b00", req = "#5b6470", ans = "#0b7a8a", drop = "#e03131",
  overlap = "#e03131", lane = "#9aa3ad", fault = "#e03131", restart = "#2b8a3e",
  amnesia = "#e8590c", pause = "#f08c00", slow = "#f59f00", heal = "#2b8a3e",
  holders = { "#2f9e44", "#1c7ed6", "#e8590c", "#ae3ec9", "#0c8599", "#c2255c", "#5c940d", "#4263eb" },
}
local MSG_ORDER = { "prepare", "promise", "nay", "accept", "accepted" }
M.msg_labels = {
  prepare = "prepare (phase 1)", promise = "promise", nay = "nay",
  accept = "accept (phase 2, commit)", accepted = "accepted",
  req = "client request", ans = "client answer",
}

local DEFINITE = { granted = true, refused = true, released = true, not_holder = true }
local CLIENT_HOP_MS = 5   -- a client's request or answer drawn slanted over at most this long

-- Helpers ------------------------------------------------------------------------------

local function esc(s)
  return (tostring(s):gsub("[&<>\"']", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;",
                                         ['"'] = "&quot;", ["'"] = "&#39;" }))
end
M.escape = esc

local function fmt_t(x)
  if x == nil then return "?" end
  if math.type(x) == "integer" then return format("%d", x) end
  if x == math.floor(x) and math.abs(x) < 2 ^ 53 then return format("%d", math.floor(x)) end
  return format("%.3f", x):gsub("0+$", ""):gsub("%.$", "")
end

local function fmt_n(x, digits)
  if x == nil then return "-" end
  if math.type(x) == "integer" then return tostring(x) end
  if x == math.floor(x) and math.abs(x) < 2 ^ 53 then return format("%d", math.floor(x)) end
  return format("%." .. (digits or 2) .. "f", x)
end

-- A copy that cjson can encode: no functions, no infinities, no cycles, no sparse arrays.
local function jsonable(v, seen)
  local tv = type(v)
  if tv == "number" then
    if v ~= v or v == huge or v == -huge then return nil end
    return v
  elseif tv == "string" or tv == "boolean" then
    return v
  elseif tv ~= "table" then
    return nil
  end
  if v == cjson.null then return v end
  seen = seen or {}
  if seen[v] then return nil end
  seen[v] = true
  local n, count = #v, 0
  for _ in pairs(v) do count = count + 1 end
  local out = {}
  if n > 0 and n == count then
    for i = 1, n do
      local x = jsonable(v[i], seen)
      if x == nil then x = cjson.null end
      out[i] = x
    end
  else
    for k, x in pairs(v) do
      local y = jsonable(x, seen)
      if y ~= nil then out[tostring(k)] = y end
    end
  end
  seen[v] = nil
  return out
end
M.jsonable = jsonable

-- JSON text that is safe inside a <script> element.
local function json_for_script(v)
  local text = cjson.encode(v)
  return (text:gsub("<", "\\u003c"):gsub(">", "\\u003e"):gsub("&", "\\u0026"))
end

local function state_text(s)
  if s == nil or s == cjson.null then return "free" end
  if type(s) ~= "table" then return tostring(s) end
  if s.holder ~= nil then
    local out = tostring(s.holder)
    if s.token ~= nil then out = out .. " #" .. tostring(s.token) end
    return out
  end
  local ok, text = pcall(cjson.encode, jsonable(s))
  return ok and text or "?"
end
M.state_text = state_text

-- Two decoded states (JSON values) are the same data.
local function same_state(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  for k, v in pairs(a) do
    if not same_state(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

-- What each accepted value means, for people (the lock script's describe).
-- The trace carries a description on decided lines only: describe is a Lua
-- call in the instance, and one per decision is cheap where one per
-- acceptance would be five times as many, mostly repeats. A value accepted
-- at a ballot is the value proposed at that ballot, so an acceptance takes
-- the description of the decision at the same lock and ballot, when the
-- states are the same data (classic ballots can repeat with another value).
-- An acceptance no decision covers (a minority's, a failed attempt's) has
-- none, and the pictures show its state. Returns { [event index - 1] = text }.
local function accepted_descriptions(events)
  local by_ballot = {}
  for _, e in ipairs(events) do
    if e.ev == "decided" and type(e.describe) == "string" then
      local key = tostring(e.lock) .. "\0" .. tostring(e.ballot)
      by_ballot[key] = by_ballot[key] or {}
      table.insert(by_ballot[key], e)
    end
  end
  local out = {}
  for i, e in ipairs(events) do
    if e.ev == "accepted" then
      for _, d in ipairs(by_ballot[tostring(e.lock) .. "\0" .. tostring(e.ballot)] or {}) do
        local a, b = e.state, d.state
        if a == nil then a = cjson.null end
        if b == nil then b = cjson.null end
        if same_state(a, b) then out[tostring(i - 1)] = d.describe; break end
      end
    end
  end
  return out
end
M.accepted_descriptions = accepted_descriptions

local history_from_trace = require("skinny.history").from_trace

-- The command that reproduces the run, from its "run" event.
local function command_of(run)
  if not run or not run.experiment then return nil end
  local parts = { require("skinny.args").prog .. " run", run.experiment }
  if run.seed ~= nil then parts[#parts + 1] = "--seed " .. tostring(run.seed) end
  if run.variant then parts[#parts + 1] = "--variant " .. tostring(run.variant) end
  for _, k in ipairs { "proposer", "backoff", "lock" } do
    if run[k] then parts[#parts + 1] = "--" .. k .. " " .. tostring(run[k]) end
  end
  return concat(parts, " ")
end
M.command_of = command_of

-- Holds: who certainly held which lock when, by the single-holder checker's rule (from
-- the grant's answer until the holder's first release that may come after it), plus the
-- release's answer, for the lighter tail in the timeline.
local function holds_of(history, model, tend)
  local rel = {}
  for _, r in ipairs(history) do
    if r.op == "release" and r.lock ~= nil and (r.status == "released" or not DEFINITE[r.status]
        or r.complete == nil) then
      local key = tostring(r.lock) .. "\0" .. tostring(r.holder)
      rel[key] = rel[key] or {}
      table.insert(rel[key], r)
    end
  end
  local out = {}
  for _, g in ipairs(history) do
    if (g.op == "acquire" or g.op == "renew") and g.status == "granted" and g.complete then
      local best
      for _, r in ipairs(rel[tostring(g.lock) .. "\0" .. tostring(g.holder)] or {}) do
        if (r.complete == nil or (r.status ~= "released" and r.status ~= "stale") or r.complete >= g.invoke)
            and r.invoke ~= nil and (best == nil or r.invoke < best.invoke) and r ~= g then
          best = r
        end
      end
      local to, open = best and best.invoke or huge, best == nil
      local ttl = model and model.engine == "lease" and (g.ttl or model.params.ttl)
      if ttl then
        local lease_end = g.invoke + ttl - (model.params.drift or 0)
        if lease_end < to then to, open = lease_end, false end
      end
      if to == huge then to = tend end
      if to < g.complete then to = g.complete end
      out[#out + 1] = {
        lock = g.lock, holder = g.holder, token = g.token, from = g.complete, to = to, open = open,
        req = g.id, op = g.op,
        release_req = best and best.id or nil,
        release_end = best and best.status == "released" and best.complete or nil,
      }
    end
  end
  table.sort(out, function(a, b)
    if a.from ~= b.from then return a.from < b.from end
    return tostring(a.holder) < tostring(b.holder)
  end)
  return out
end

-- Metrics counted from the trace.
local function metrics_of(events, history)
  local m = {
    events = #events, sends = 0, recvs = 0, drops = 0, dups = 0, by_msg = {}, drop_why = {},
    attempts = 0, decisions = 0, results = {}, conflicts = 0, nays = 0, backoffs = 0,
    backoff_ms = 0, hook_errors = 0, faults = 0, invokes = 0, completes = 0, statuses = {},
    resends = 0, late = 0,
    persists = 0, span_ms = 0,
  }
  local t0, t1
  for _, e in ipairs(events) do
    local t = e.t
    if type(t) == "number" then
      if t0 == nil or t < t0 then t0 = t end
      if t1 == nil or t > t1 then t1 = t end
    end
    local ev = e.ev
    if ev == "send" then
      m.sends = m.sends + 1
      local k = tostring(e.msg)
      m.by_msg[k] = (m.by_msg[k] or 0) + 1
      if e.msg == "nay" then m.nays = m.nays + 1 end
    elseif ev == "recv" then m.recvs = m.recvs + 1
    elseif ev == "drop" then
      m.drops = m.drops + 1
      local k = tostring(e.why or "?")
      m.drop_why[k] = (m.drop_why[k] or 0) + 1
    elseif ev == "dup" then m.dups = m.dups + 1
    elseif ev == "attempt" then m.attempts = m.attempts + 1
    elseif ev == "decided" then
      m.decisions = m.decisions + 1
      local k = tostring(e.result or "?")
      m.results[k] = (m.results[k] or 0) + 1
    elseif ev == "conflict" then m.conflicts = m.conflicts + 1
    elseif ev == "backoff" then
      m.backoffs = m.backoffs + 1
      m.backoff_ms = m.backoff_ms + (tonumber(e.delay) or 0)
    elseif ev == "hook_error" then m.hook_errors = m.hook_errors + 1
    elseif ev == "fault" then m.faults = m.faults + 1
    elseif ev == "invoke" and e.resend_of ~= nil then m.resends = m.resends + 1
    elseif ev == "invoke" then m.invokes = m.invokes + 1
    elseif ev == "complete" then m.completes = m.completes + 1
    elseif ev == "late" then m.late = m.late + 1
    elseif ev == "persist" then m.persists = m.persists + 1
    end
  end
  m.t0, m.t1 = t0 or 0, t1 or 0
  m.span_ms = (t1 or 0) - (t0 or 0)
  m.rounds_per_decision = m.decisions > 0 and m.attempts / m.decisions or nil
  m.messages_per_decision = m.decisions > 0 and m.sends / m.decisions or nil
  m.preemptions = m.attempts - m.decisions
  local ok, cost = pcall(check.cost, history)
  if ok then m.cost = cost end
  -- each operation's outcome: its last answer (a failover's earlier attempts left out)
  for _, op in ipairs(history) do
    local k = tostring(op.status or "no answer")
    m.statuses[k] = (m.statuses[k] or 0) + 1
  end
  local first
  for _, op in ipairs(history) do
    if op.status == "granted" and op.complete and (first == nil or op.complete < first) then
      first = op.complete
    end
  end
  m.first_grant_ms = first
  return m
end

local function parse_partition(text)
  local a, b = text:match("^partition%s+(.-)%s*/%s*(.-)%s*$")
  if not a then return nil end
  local ga, gb = {}, {}
  for n in a:gmatch("[^,%s]+") do ga[#ga + 1] = n end
  for n in b:gmatch("[^,%s]+") do gb[#gb + 1] = n end
  return ga, gb
end

local NOTE_RANK = { fault = 10, hook_error = 9, decided = 8, conflict = 7, attempt = 6,
                    backoff = 5, refused = 4, accepted = 3, promised = 2, persist = 1 }

-- Traces from real daemons -------------------------------------------------------------

local WALL_CLOCK = 1e11   -- a trace whose times start past this is in wall-clock ms

--- render.normalise(events) -> events, wall_t0
-- Makes any trace drawable the same way. The simulator's are left as they are. The real
-- daemons' (one file per daemon, merged) may be out of order, carry wall-clock times and
-- no message ids: they are put in time order (stably), their times made relative to the
-- first event (wall_t0 is that event's wall-clock time), and each receive paired with the
-- first unpaired send of the same message (from, to, type, lock, ballot), as TCP keeps
-- each link's messages in order. Events are copied, never changed in place.
function M.normalise(events)
  events = events or {}
  local sorted, need_ids, t0 = true, false, nil
  local prev
  for _, e in ipairs(events) do
    local t = tonumber(e.t)
    if t then
      if prev and t < prev then sorted = false end
      prev = t
      if t0 == nil or t < t0 then t0 = t end
    end
    if (e.ev == "send" or e.ev == "recv" or e.ev == "drop" or e.ev == "dup") and e.id == nil then
      need_ids = true
    end
  end
  local rebase = t0 ~= nil and t0 >= WALL_CLOCK
  if sorted and not need_ids and not rebase then return events end
  local out = {}
  for i, e in ipairs(events) do
    local c = {}
    for k, v in pairs(e) do c[k] = v end
    c._seq = i
    if rebase and tonumber(c.t) then c.t = tonumber(c.t) - t0 end
    out[i] = c
  end
  if not sorted then
    table.sort(out, function(a, b)
      local ta, tb = tonumber(a.t) or 0, tonumber(b.t) or 0
      if ta ~= tb then return ta < tb end
      return a._seq < b._seq
    end)
  end
  if need_ids then
    local used, next_id = {}, 0
    for _, e in ipairs(out) do
      if e.id ~= nil then used[e.id] = true end
    end
    local function fresh()
      repeat next_id = next_id + 1 until not used["p" .. next_id]
      return "p" .. next_id
    end
    -- the k-th send of a message on a link goes with its k-th receive (or drop): times
    -- from different daemons tie or differ by a millisecond, so order alone cannot tell
    local sends, ends = {}, {}
    for _, e in ipairs(out) do
      local ev = e.ev
      if (ev == "send" or ev == "recv" or ev == "drop") and e.id == nil then
        local key = concat({ tostring(e.from), tostring(e.to), tostring(e.msg), tostring(e.lock),
                             tostring(e.ballot) }, "\0")
        local t = ev == "send" and sends or ends
        t[key] = t[key] or {}
        table.insert(t[key], e)
      end
    end
    for key, list in pairs(sends) do
      local got = ends[key] or {}
      for k, e in ipairs(list) do
        e.id = fresh()
        if got[k] then got[k].id = e.id end
      end
    end
    for _, e in ipairs(out) do
      if (e.ev == "recv" or e.ev == "drop" or e.ev == "dup") and e.id == nil then e.id = fresh() end
    end
    -- each daemon numbers its own client requests: tell them apart by the daemon's name,
    -- and give each answer the client its request came from
    local client_of = {}
    for _, e in ipairs(out) do
      if e.req ~= nil and e.node ~= nil and type(e.req) ~= "string" then
        e.req = tostring(e.node) .. ":" .. tostring(e.req)
      end
      if e.ev == "invoke" and e.req ~= nil then client_of[e.req] = e.client end
      if e.ev == "complete" and e.client == nil and e.req ~= nil then e.client = client_of[e.req] end
    end
  end
  for _, e in ipairs(out) do e._seq = nil end
  return out, rebase and t0 or nil
end

-- The analysis -------------------------------------------------------------------------

function M.analyse(events, opts)
  opts = opts or {}
  local wall_t0
  events, wall_t0 = M.normalise(events)
  wall_t0 = wall_t0 or opts.wall_t0
  local run
  for _, e in ipairs(events) do
    if e.ev == "run" then run = e; break end
  end

  -- lanes: the instances (the run's order first), then the clients in order of appearance
  local lanes, lane_of = {}, {}
  local function add_node(n)
    if n == nil or n == "*" then return end
    n = tostring(n)
    if lane_of["n:" .. n] == nil then
      lanes[#lanes + 1] = { name = n, kind = "node" }
      lane_of["n:" .. n] = #lanes - 1
    end
  end
  for _, n in ipairs(run and run.nodes or {}) do add_node(n) end
  local client_names = {}
  for _, e in ipairs(events) do
    local ev = e.ev
    if ev == "invoke" or ev == "complete" then
      add_node(e.node)
      if e.client ~= nil and not client_names[tostring(e.client)] then
        client_names[tostring(e.client)] = true
        client_names[#client_names + 1] = tostring(e.client)
      end
    elseif ev == "send" or ev == "recv" or ev == "drop" or ev == "dup" then
      add_node(e.from); add_node(e.to)
    elseif ev ~= "run" and e.node ~= nil then
      add_node(e.node)
    end
  end
  local nnodes = #lanes
  for _, c in ipairs(client_names) do
    lanes[#lanes + 1] = { name = c, kind = "client" }
    lane_of["c:" .. c] = #lanes - 1
  end
  local function nl(n) return n ~= nil and lane_of["n:" .. tostring(n)] or nil end
  local function cl(n) return n ~= nil and lane_of["c:" .. tostring(n)] or nil end

  local tmax, tmin = 0, nil
  for _, e in ipairs(events) do
    local t = tonumber(e.t)
    if t then
      if t > tmax then tmax = t end
      if tmin == nil or t < tmin then tmin = t end
    end
  end
  tmin = tmin or 0

  -- messages: a send and what became of it (recv, drop, dup share its id)
  local fate = {}          -- id -> { deliveries = {idx...}, dup = idx }
  local locks, lock_seen = {}, {}
  local function see_lock(l)
    if l ~= nil and not lock_seen[tostring(l)] then
      lock_seen[tostring(l)] = true
      locks[#locks + 1] = tostring(l)
    end
  end
  for i, e in ipairs(events) do
    local ev = e.ev
    if ev == "recv" or ev == "drop" or ev == "dup" then
      local f = fate[e.id]
      if not f then f = { d = {} }; fate[e.id] = f end
      if ev == "dup" then f.dup = i else f.d[#f.d + 1] = i end
    end
    if ev ~= "run" and e.lock ~= "" then see_lock(e.lock) end -- "": a node record, no lock
  end

  local arrows, marks, spans, globals = {}, {}, {}, {}
  local counts = { msg = 0, dup = 0, req = 0, ans = 0 }
  local mark_at = {}       -- lane .. "@" .. t -> mark
  local function add_mark(lane, t, i, e)
    local key = lane .. "@" .. tostring(t)
    local mk = mark_at[key]
    if not mk then
      mk = { lane = lane, t = t, ev = {}, g = e.ev }
      mark_at[key] = mk
      marks[#marks + 1] = mk
    end
    mk.ev[#mk.ev + 1] = i - 1
    if (NOTE_RANK[e.ev] or 0) > (NOTE_RANK[mk.g] or 0) then mk.g = e.ev end
    return mk
  end
  local function add_label(mk, kind, text)
    mk.labels = mk.labels or {}
    for _, l in ipairs(mk.labels) do if l.k == kind then return end end
    mk.labels[#mk.labels + 1] = { k = kind, text = text, rank = NOTE_RANK[kind] or 0 }
  end

  -- client requests: where the request lands (the node's first attempt for it) and where
  -- the answer leaves (the node's last decision or conflict for it)
  local first_attempt, last_word = {}, {}
  for i, e in ipairs(events) do
    if e.req ~= nil and e.node ~= nil then
      if e.ev == "attempt" and first_attempt[e.req] == nil then first_attempt[e.req] = i end
      if e.ev == "decided" or e.ev == "conflict" or e.ev == "hook_error" then last_word[e.req] = i end
    end
  end
  local invoke_of = {}

  local open_down, open_pause, open_slow, open_part, open_block = {}, {}, {}, nil, {}
  -- quorum bookkeeping: proposer \0 lock \0 ballot -> { names }
  local acks = {}
  local decisions = {}

  for i, e in ipairs(events) do
    local ev, t = e.ev, tonumber(e.t) or 0
    if ev == "send" then
      local a, b = nl(e.from), nl(e.to)
      if a and b then
        local f = fate[e.id]
        local ar = { k = "msg", msg = e.msg, a = a, b = b, t0 = t, e0 = i - 1, lock = e.lock }
        local d = f and f.d or {}
        local first = d[1] and events[d[1]]
        if first then
          ar.t1 = tonumber(first.t) or t
          ar.e1 = d[1] - 1
          if first.ev == "drop" then ar.drop = first.why or "dropped" end
        else
          ar.t1 = t
          ar.lost = true
        end
        if f and f.dup then ar.dup = f.dup - 1 end
        arrows[#arrows + 1] = ar
        counts.msg = counts.msg + 1
        for j = 2, #d do
          local x = events[d[j]]
          local du = { k = "dup", msg = e.msg, a = a, b = b, t0 = t, t1 = tonumber(x.t) or t,
                       e0 = i - 1, e1 = d[j] - 1, lock = e.lock }
          if x.ev == "drop" then du.drop = x.why or "dropped" end
          arrows[#arrows + 1] = du
          counts.dup = counts.dup + 1
        end
      end
    elseif ev == "invoke" then
      local a, b = cl(e.client), nl(e.node)
      invoke_of[e.req] = i
      if a and b then
        -- it lands at the node's first attempt for it, when that follows at once (a
        -- request queued behind another is drawn level: it arrived at once and waited)
        local land = first_attempt[e.req]
        local t1 = t
        if land and events[land].node == e.node and tonumber(events[land].t) >= t
            and tonumber(events[land].t) - t <= CLIENT_HOP_MS then
          t1 = tonumber(events[land].t)
        end
        arrows[#arrows + 1] = { k = "req", a = a, b = b, t0 = t, t1 = t1, e0 = i - 1,
                                e1 = land and land - 1 or nil, lock = e.lock, op = e.op }
        counts.req = counts.req + 1
      end
    elseif ev == "client_drop" then
      local n, c = nl(e.node), cl(e.client)
      if n and c and e.lost == "answer" then
        arrows[#arrows + 1] = { k = "ans", a = n, b = c, t0 = t, t1 = t, e0 = i - 1, drop = e.why or "lost",
                                lock = e.lock }
        counts.ans = counts.ans + 1
      elseif n and c then
        -- the request's own arrow stops short, with an x
        for j = #arrows, 1, -1 do
          local ar = arrows[j]
          if ar.k == "req" and events[ar.e0 + 1].req == e.req then
            ar.drop = e.why or "lost"
            break
          end
        end
      end
    elseif ev == "complete" or ev == "late" then
      local a, b = nl(e.node), cl(e.client)
      if a and b then
        local from = last_word[e.req]
        local t0 = t
        if from and events[from].node == e.node and tonumber(events[from].t) <= t
            and t - tonumber(events[from].t) <= CLIENT_HOP_MS then
          t0 = tonumber(events[from].t)
        end
        arrows[#arrows + 1] = { k = "ans", a = a, b = b, t0 = t0, t1 = t, e0 = i - 1,
                                e1 = invoke_of[e.req] and invoke_of[e.req] - 1 or nil,
                                lock = e.lock, status = e.status, late = ev == "late" or nil }
        counts.ans = counts.ans + 1
      end
    elseif ev == "fault" then
      local what = tostring(e.what or "fault")
      local lane = nl(e.node)
      if lane then
        add_mark(lane, t, i, e)
        if what == "crash" then
          open_down[lane] = { lane = lane, t0 = t, k = "down", e0 = i - 1 }
        elseif what:match("^restart") then
          local s = open_down[lane]
          if s then s.t1 = t; spans[#spans + 1] = s; open_down[lane] = nil end
        elseif what == "pause" then
          open_pause[lane] = { lane = lane, t0 = t, k = "paused", e0 = i - 1 }
        elseif what == "resume" then
          local s = open_pause[lane]
          if s then s.t1 = t; spans[#spans + 1] = s; open_pause[lane] = nil end
        elseif what:match("^slow") then
          local s = open_slow[lane]
          if s then s.t1 = t; spans[#spans + 1] = s; open_slow[lane] = nil end
          local ms = tonumber(what:match("(%d+)"))
          if ms and ms > 0 then
            open_slow[lane] = { lane = lane, t0 = t, k = "slow", label = what, e0 = i - 1 }
          end
        end
      else
        local g = { t0 = t, e0 = i - 1, text = what }
        local ga, gb = parse_partition(what)
        if ga then
          g.k = "partition"
          g.groups = { {}, {} }
          for _, n in ipairs(ga) do if nl(n) then table.insert(g.groups[1], nl(n)) end end
          for _, n in ipairs(gb) do if nl(n) then table.insert(g.groups[2], nl(n)) end end
          if open_part then open_part.t1 = t end
          open_part = g
        elseif what:match("^block") then
          g.k = "block"
          open_block[#open_block + 1] = g
        elseif what == "heal" then
          g.k = "heal"
          if open_part then open_part.t1 = t; open_part = nil end
          for _, b in ipairs(open_block) do b.t1 = t end
          open_block = {}
        else
          g.k = "note"
        end
        globals[#globals + 1] = g
      end
    elseif ev == "backoff" then
      local lane = nl(e.node)
      if lane then
        add_mark(lane, t, i, e)
        local d = tonumber(e.delay) or 0
        if d > 0 then
          spans[#spans + 1] = { lane = lane, t0 = t, t1 = t + d, k = "backoff",
                                label = "backoff " .. fmt_t(d) .. " ms", e0 = i - 1 }
        end
      end
    elseif ev == "attempt" or ev == "decided" or ev == "conflict" or ev == "hook_error"
        or ev == "promised" or ev == "accepted" or ev == "refused" or ev == "persist" then
      local lane = nl(e.node)
      if lane then
        local mk = add_mark(lane, t, i, e)
        if ev == "attempt" then
          add_label(mk, ev, "ballot " .. tostring(e.ballot) .. (e.attempt and e.attempt > 1
            and (" (attempt " .. tostring(e.attempt) .. ")") or ""))
        elseif ev == "decided" then
          add_label(mk, ev, tostring(e.result or "decided") .. ": "
                            .. (e.describe or state_text(e.state)))
          mk.result = e.result
        elseif ev == "conflict" then
          add_label(mk, ev, "conflict (" .. tostring(e.why or "?") .. ")")
        elseif ev == "hook_error" then
          add_label(mk, ev, "script error")
        end
      end
      if ev == "accepted" then
        local key = tostring(e.node) .. "\0" .. tostring(e.lock) .. "\0" .. tostring(e.ballot)
        acks[key] = acks[key] or { list = {}, seen = {} }
        local k = acks[key]
        if not k.seen[e.node] then k.seen[e.node] = true; k.list[#k.list + 1] = e.node end
      elseif ev == "decided" then
        local key = tostring(e.node) .. "\0" .. tostring(e.lock) .. "\0" .. tostring(e.ballot)
        local k = acks[key]
        local q = {}
        if k then for j, n in ipairs(k.list) do q[j] = n end end
        decisions[#decisions + 1] = { e = i - 1, t = t, node = e.node, lock = e.lock,
                                      ballot = e.ballot, result = e.result,
                                      value = e.describe or state_text(e.state), quorum = q }
      end
    end
    if ev == "recv" and e.msg == "accepted" then
      local key = tostring(e.to) .. "\0" .. tostring(e.lock) .. "\0" .. tostring(e.ballot)
      acks[key] = acks[key] or { list = {}, seen = {} }
      local k = acks[key]
      if not k.seen[e.from] then k.seen[e.from] = true; k.list[#k.list + 1] = e.from end
    end
  end
  for _, mk in ipairs(marks) do
    if mk.labels then
      table.sort(mk.labels, function(x, y) return x.rank > y.rank end)
      local parts = {}
      for j, l in ipairs(mk.labels) do parts[j] = l.text end
      mk.label = concat(parts, "  \u{B7}  ")
      mk.labels = nil
    end
  end
  for _, s in pairs(open_down) do s.t1 = tmax; s.open = true; spans[#spans + 1] = s end
  for _, s in pairs(open_pause) do s.t1 = tmax; s.open = true; spans[#spans + 1] = s end
  for _, s in pairs(open_slow) do s.t1 = tmax; s.open = true; spans[#spans + 1] = s end
  if open_part then open_part.t1 = tmax; open_part.open = true end
  for _, b in ipairs(open_block) do b.t1 = tmax; b.open = true end
  table.sort(spans, function(x, y)
    if x.t0 ~= y.t0 then return x.t0 < y.t0 end
    return x.lane < y.lane
  end)

  -- the client history, the checkers' verdict and the holds
  local history, hmodel = opts.history, nil
  if history == nil then history, hmodel = history_from_trace(events) end
  -- the model: opts.model, else the run's lock script's (its "run" event names it)
  local cmodel, check_error
  do
    local ok, m = pcall(require("skinny.models").resolve, opts.model or hmodel or (run and run.lock),
      { lock_params = run and type(run.lock_params) == "table" and run.lock_params or nil })
    if ok then cmodel = m else check_error = tostring(m) end
  end
  local report = opts.report
  if report == nil and cmodel then
    local ok, rep = pcall(check.all, history, { model = cmodel })
    if ok then report = rep else check_error = tostring(rep) end
  end
  local holds = holds_of(history, cmodel, tmax)
  local holders, holder_seen = {}, {}
  for _, c in ipairs(client_names) do
    if not holder_seen[c] then holder_seen[c] = true; holders[#holders + 1] = c end
  end
  for _, h in ipairs(holds) do
    local n = tostring(h.holder)
    if not holder_seen[n] then holder_seen[n] = true; holders[#holders + 1] = n end
    h.lane = cl(h.holder)
    if h.lane == nil then
      -- the holder is not a client's name: draw it on the lane of the client that asked
      for _, op in ipairs(history) do
        if op.id == h.req then h.lane = cl(op.client) end
      end
    end
  end
  local overlaps = {}
  local checks = {}
  if report then
    for _, c in ipairs(report.checks or {}) do
      checks[#checks + 1] = { name = c.name, label = c.label or c.name, ok = c.ok, text = c.text }
      if c.name == "single_holder" then
        for _, v in ipairs(c.violations or {}) do
          overlaps[#overlaps + 1] = {
            lock = v.lock, from = v.from, to = (v.open and tmax > v.to) and tmax or v.to, open = v.open,
            text = v.text,
            a = { holder = v.a and v.a.holder, token = v.a and v.a.token, from = v.a and v.a.from,
                  to = v.a and v.a.to },
            b = { holder = v.b and v.b.holder, token = v.b and v.b.token, from = v.b and v.b.from,
                  to = v.b and v.b.to },
          }
        end
      end
    end
  end
  local verdict
  if check_error then verdict = "error"
  elseif report == nil then verdict = "unknown"
  elseif report.ok then verdict = "pass"
  elseif report.unknown and report.checks then
    verdict = "fail"
    local all_known_ok = true
    for _, c in ipairs(report.checks) do if c.ok == false then all_known_ok = false end end
    if all_known_ok then verdict = "unknown" end
  else verdict = "fail" end

  local meta = {}
  if run then
    for _, k in ipairs { "experiment", "variant", "seed", "proposer", "backoff", "lock" } do
      meta[k] = run[k]
    end
  end
  meta.classic = run ~= nil and (run.proposer == "classic" or run.lock == "classic"
                                 or run.backoff == "classic")
  meta.no_identity = run ~= nil and run.identity == false

  local title = opts.title
  if not title then
    if run and run.experiment then
      title = tostring(run.experiment):match("([^/]+)%.lua$") or tostring(run.experiment)
      if run.variant then title = title .. " (" .. tostring(run.variant) .. ")" end
    else
      title = "Skinny run"
    end
  end

  local model = {
    title = title,
    command = opts.command or command_of(run),
    meta = meta,
    lanes = lanes, nnodes = nnodes, locks = locks, holders = holders,
    tmin = tmin, tmax = tmax,
    arrows = arrows, counts = counts, marks = marks, spans = spans, globals = globals,
    holds = holds, overlaps = overlaps, decisions = decisions,
    described = accepted_descriptions(events),
    verdict = verdict, checks = checks, check_error = check_error,
    metrics = metrics_of(events, history),
    colors = M.colors, msg_labels = M.msg_labels, msg_order = MSG_ORDER,
    nevents = #events, has_run = run ~= nil,
    wall_t0 = wall_t0,
    wall_start = wall_t0 and os.date("!%Y-%m-%d %H:%M:%S UTC", math.floor(wall_t0 / 1000)) or nil,
  }
  M.last_model = model
  return model
end

-- Static parts of the page (they read without JavaScript too) ---------------------------

local function verdict_html(m)
  local out = {}
  local word = ({ pass = "PASS", fail = "FAIL", unknown = "UNKNOWN", error = "CHECKER ERROR" })[m.verdict]
  out[#out + 1] = format('<section class="card verdict v-%s" id="verdict" data-verdict="%s">',
                         m.verdict, m.verdict)
  out[#out + 1] = format('<h2>Verdict <span class="badge b-%s">%s</span></h2>', m.verdict, word)
  out[#out + 1] = '<ul class="checks">'
  for _, c in ipairs(m.checks) do
    local st = c.ok == true and "pass" or (c.ok == false and "fail" or "unknown")
    out[#out + 1] = format('<li class="c-%s" data-check="%s"><span class="tag">%s</span> <b>%s</b>: %s</li>',
      st, esc(c.name), st == "pass" and "PASS" or (st == "fail" and "FAIL" or "????"),
      esc(c.label), esc(c.text or ""))
  end
  if m.check_error then
    out[#out + 1] = format('<li class="c-fail"><span class="tag">ERROR</span> the checkers could not run: %s</li>',
      esc(m.check_error))
  end
  if #m.checks == 0 and not m.check_error then
    out[#out + 1] = '<li class="c-unknown">no client operations in this trace: nothing to check</li>'
  end
  out[#out + 1] = '</ul>'
  if #m.overlaps > 0 then
    out[#out + 1] = '<div class="overlap-text" id="overlap-text"><b>Two holders at once.</b><ul>'
    for _, o in ipairs(m.overlaps) do out[#out + 1] = "<li>" .. esc(o.text) .. "</li>" end
    out[#out + 1] = '</ul></div>'
  end
  out[#out + 1] = '</section>'
  return concat(out, "\n")
end

local function metrics_html(m)
  local x = m.metrics
  local rows = {}
  local function row(k, v, hint)
    rows[#rows + 1] = format('<div class="metric" data-k="%s"%s><dt>%s</dt><dd>%s</dd></div>', esc(k),
      hint and (' title="' .. esc(hint) .. '"') or "", esc(k), v)
  end
  local function kv(t, order)
    local parts, seen = {}, {}
    for _, k in ipairs(order or {}) do
      if t[k] then parts[#parts + 1] = format("%s %s", esc(k), fmt_n(t[k])); seen[k] = true end
    end
    local rest = {}
    for k in pairs(t) do if not seen[k] then rest[#rest + 1] = k end end
    table.sort(rest)
    for _, k in ipairs(rest) do parts[#parts + 1] = format("%s %s", esc(k), fmt_n(t[k])) end
    return concat(parts, ", ")
  end
  local function sub(text) return text ~= "" and (' <span class="sub">(' .. text .. ")</span>") or "" end
  row("events", fmt_n(x.events) .. format(" over %s ms", fmt_t(x.span_ms)))
  row("client operations", fmt_n(x.invokes) .. sub(kv(x.statuses, { "granted", "refused", "released",
    "not_holder", "stale", "contended", "unavailable", "down", "error", "timeout" })))
  if x.resends > 0 or x.late > 0 then
    row("failover", format("%s resends, %s late answers ignored", fmt_n(x.resends), fmt_n(x.late)),
      "a resend is the same request sent to the next instance; a late answer reached a client that had stopped waiting")
  end
  row("decisions / attempts", format("%s / %s", fmt_n(x.decisions), fmt_n(x.attempts))
    .. sub(format("%s rounds per decision, %s preempted", x.rounds_per_decision
      and format("%.2f", x.rounds_per_decision) or "-", fmt_n(x.preemptions))),
    "an attempt is one ballot (a round); a decision is a round a majority accepted")
  row("messages sent", fmt_n(x.sends) .. sub(format("%s per decision", fmt_n(x.messages_per_decision))),
    kv(x.by_msg, MSG_ORDER))
  row("by type", kv(x.by_msg, MSG_ORDER) ~= "" and kv(x.by_msg, MSG_ORDER) or "-")
  row("dropped / duplicated", format("%s / %s", fmt_n(x.drops), fmt_n(x.dups)) .. sub(kv(x.drop_why)))
  row("conflicts / backoffs", format("%s / %s", fmt_n(x.conflicts), fmt_n(x.backoffs))
    .. sub(format("%s nays sent, %s ms backing off", fmt_n(x.nays), fmt_t(x.backoff_ms))))
  row("faults / script errors", format("%s / %s", fmt_n(x.faults), fmt_n(x.hook_errors)))
  row("latency mean / p99", x.cost and format("%s / %s ms", fmt_n(x.cost.mean_latency_ms),
      fmt_n(x.cost.p99_latency_ms)) or "-")
  row("time to first grant", x.first_grant_ms and (fmt_t(x.first_grant_ms) .. " ms") or "-")
  return '<section class="card metrics" id="metrics"><h2>Metrics <span class="hint">counted from the trace</span>'
    .. "</h2><dl>" .. concat(rows, "\n") .. "</dl></section>"
end

-- Fill {{name}} placeholders (no pattern magic in the values).
local function fill(template, vars)
  return (template:gsub("{{([%w_]+)}}", function(k)
    local v = vars[k]
    if v == nil then error("render: no value for {{" .. k .. "}}") end
    return tostring(v)
  end))
end

local HEADER = [==[
<header class="top">
<div class="title"><h1>{{title}}</h1><span class="badge b-{{verdict}}" id="verdict-badge">{{badge}}</span></div>
<div class="meta">{{meta}}</div>
<div class="repro"><span>reproduce</span><code id="command">{{command}}</code>{{copy}}</div>
</header>]==]
local COPY_BUTTON = [==[
<button type="button" id="copy-command" title="copy the command">copy</button>
]==]
local CLASSIC_BANNER = [==[
<div class="classic">CLASSIC MODE: the original Skinny's flaws, reproduced on purpose. UNSAFE.</div>]==]
local NO_IDENTITY_BANNER = [==[
<div class="classic">IDENTITY OFF (identity = false): every copy of a request is applied as new.
UNSAFE on purpose.</div>]==]

local function header_html(m)
  local meta = m.meta
  local bits = {}
  local function bit(k, v)
    if v ~= nil then bits[#bits + 1] = format('<span class="kv"><i>%s</i> %s</span>', esc(k), esc(v)) end
  end
  bit("seed", meta.seed)
  bit("experiment", meta.experiment)
  bit("variant", meta.variant)
  bit("proposer", meta.proposer)
  bit("backoff", meta.backoff)
  bit("lock", meta.lock)
  bit("lanes", format("%d instances, %d clients", m.nnodes, #m.lanes - m.nnodes))
  if m.wall_start then bit("wall clock", "t = 0 is " .. m.wall_start) end
  local command = m.command
  if not command then
    command = m.has_run and "(the trace does not name the experiment that made it)"
      or "(the trace has no run event: it did not come from skinny run)"
  end
  local badge = ({ pass = "safe: PASS", fail = "unsafe: FAIL", unknown = "verdict unknown",
                   error = "checker error" })[m.verdict]
  local out = fill(HEADER, { title = esc(m.title), verdict = m.verdict, badge = badge,
                             meta = concat(bits, " "), command = esc(command),
                             copy = m.command and COPY_BUTTON or "" })
  if meta.classic then out = out .. "\n" .. CLASSIC_BANNER end
  if meta.no_identity then out = out .. "\n" .. NO_IDENTITY_BANNER end
  return out
end

local LEGEND_ARROW = [==[
<span class="lg"><svg width="30" height="10"><line x1="1" y1="5" x2="22" y2="5" stroke="{{c}}" stroke-width="2"/><path d="M22 1 L29 5 L22 9 Z" fill="{{c}}"/></svg>{{label}}</span>
]==]
local LEGEND_REST = [==[
<span class="lg"><svg width="30" height="10"><line x1="1" y1="5" x2="22" y2="5" stroke="{{req}}" stroke-width="1.5" stroke-dasharray="4 2"/><path d="M22 1 L29 5 L22 9 Z" fill="{{ans}}"/></svg>client request / answer</span>
<span class="lg"><svg width="30" height="10"><line x1="1" y1="5" x2="20" y2="5" stroke="#777" stroke-width="2"/><path d="M21 1 L29 9 M29 1 L21 9" stroke="{{drop}}" stroke-width="2"/></svg>dropped</span>
<span class="lg"><svg width="30" height="10"><line x1="1" y1="5" x2="22" y2="5" stroke="#777" stroke-width="1.5" stroke-dasharray="2 3"/><path d="M22 1 L29 5 L22 9 Z" fill="#777"/></svg>duplicate delivery</span>
<span class="lg"><svg width="14" height="14"><path d="M2 2 L12 12 M12 2 L2 12" stroke="{{fault}}" stroke-width="2.5"/></svg>crash</span>
<span class="lg"><svg width="14" height="14"><circle cx="7" cy="7" r="5" fill="none" stroke="{{restart}}" stroke-width="2.5"/></svg>restart</span>
<span class="lg"><svg width="14" height="14"><rect x="2" y="1" width="10" height="12" fill="{{pause}}" opacity=".35"/></svg>paused / slow</span>
<span class="lg"><svg width="14" height="14"><circle cx="7" cy="7" r="5" fill="#fff" stroke="{{prepare}}" stroke-width="2"/></svg>attempt (new ballot)</span>
<span class="lg"><svg width="14" height="14"><path d="M7 1 L13 7 L7 13 L1 7 Z" fill="{{restart}}"/></svg>decided</span>
<span class="lg"><svg width="14" height="14"><path d="M7 2 L13 12 L1 12 Z" fill="{{nay}}"/></svg>conflict</span>
<span class="lg"><svg width="14" height="14"><path d="M3.5 3.5 L10.5 10.5 M10.5 3.5 L3.5 10.5" stroke="{{nay}}" stroke-width="1.6"/></svg>acceptor refused (sent a nay)</span>
<span class="lg"><svg width="14" height="14"><rect x="4" y="0" width="6" height="14" rx="2" fill="{{holder}}" opacity=".6"/></svg>lock held (client lane)</span>
]==]

local function legend_html(m)
  local c = m.colors
  local items = {}
  for _, k in ipairs(MSG_ORDER) do
    items[#items + 1] = fill(LEGEND_ARROW, { c = c[k], label = esc(M.msg_labels[k]) })
  end
  items[#items + 1] = fill(LEGEND_REST, { req = c.req, ans = c.ans, drop = c.drop, fault = c.fault,
    restart = c.restart, pause = c.pause, prepare = c.prepare, nay = c.nay, holder = c.holders[1] })
  return '<div class="legend" id="legend">' .. concat(items, "\n") .. "</div>"
end

local CSS, JS -- defined at the end of the file

local PAGE = [==[
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="skinny render">
<title>{{title}} - Skinny run</title>
<style>{{css}}</style>
</head>
<body>
{{header}}
<div class="summary">
<div class="col">
{{verdict}}
<section class="card holders" id="holders"><h2>Who held which lock, when <span class="hint">fencing tokens on the bars; two holders at once in red</span></h2>
<div id="holder-timeline"><p class="nojs">This page needs JavaScript for its pictures.</p></div></section>
</div>
{{metrics}}
</div>
<div class="main">
<section class="card diagram-card"><h2>Messages <span class="hint">time runs down; hover or click an arrow or a mark for its fields</span></h2>
<div class="toolbar"><span class="zoom"><button type="button" id="zoom-out" title="zoom out">&minus;</button><span id="zoom-label">10 px/ms</span><button type="button" id="zoom-in" title="zoom in">+</button></span>
<label title="squeeze stretches where nothing happens"><input type="checkbox" id="compress" checked> squeeze idle time</label>
<label>lock <select id="lock-filter"><option value="">all</option></select></label></div>
{{legend}}
<div id="diagram" data-lanes="{{lanes}}" data-instances="{{instances}}" data-clients="{{clients}}" data-msg-arrows="{{msg_arrows}}" data-client-arrows="{{client_arrows}}" data-dup-arrows="{{dup_arrows}}">
<div id="lane-heads"></div><div id="diagram-body"><canvas id="diagram-canvas"></canvas></div></div>
</section>
<aside class="side">
<section class="card scrub"><h2>At a moment <span class="hint">space plays, arrow keys step</span></h2>
<div class="controls"><button type="button" id="first" title="first moment (Home)">&#x25C0;&#x25C0;</button><button type="button" id="prev" title="previous moment (&larr;)">&#x25C0;</button><button type="button" id="play" class="play" title="play / pause (space)">&#x25B6; play</button><button type="button" id="next" title="next moment (&rarr;)">&#x25B6;</button><button type="button" id="last" title="last moment (End)">&#x25B6;&#x25B6;</button>
<select id="speed" title="moments per second"><option value="2">2/s</option><option value="5" selected>5/s</option><option value="12">12/s</option><option value="30">30/s</option></select></div>
<input type="range" id="scrubber" min="0" max="0" value="0" aria-label="time">
<div id="clock">t = 0 ms</div>
<div id="state-tables"></div>
</section>
<section class="card details"><h2>Selected <span class="hint">click something in the diagram</span></h2><div id="details"><p class="muted">Nothing selected.</p></div></section>
</aside>
</div>
<footer>Made by <code>skinny render</code> from {{nevents}} trace events. This file is self-contained: it fetches nothing.</footer>
<div id="tooltip" role="tooltip"></div>
<script type="application/json" id="skinny-events">{{events_json}}</script>
<script type="application/json" id="skinny-model">{{model_json}}</script>
<script>{{js}}</script>
</body>
</html>
]==]

function M.html(events, opts)
  opts = opts or {}
  local wall_t0
  events, wall_t0 = M.normalise(events)
  local o2 = {}
  for k, v in pairs(opts) do o2[k] = v end
  o2.wall_t0 = wall_t0
  local m = M.analyse(events, o2)
  local ev_json = json_for_script(jsonable(events) or {})
  if ev_json == "{}" then ev_json = "[]" end
  local model = {}
  for k, v in pairs(m) do model[k] = v end
  local model_json = json_for_script(jsonable(model))
  return fill(PAGE, {
    title = esc(m.title), css = CSS, header = header_html(m), verdict = verdict_html(m),
    metrics = metrics_html(m), legend = legend_html(m),
    lanes = #m.lanes, instances = m.nnodes, clients = #m.lanes - m.nnodes,
    msg_arrows = m.counts.msg, client_arrows = m.counts.req + m.counts.ans, dup_arrows = m.counts.dup,
    nevents = format("%d", m.nevents), events_json = ev_json, model_json = model_json, js = JS,
  })
end

-- SVG ------------------------------------------------------------------------------------

-- y of every time, idle stretches longer than `gap` ms squeezed to gap/3 ms.
local function time_map(m, scale, gap, top)
  local ts, seen = {}, {}
  local function add(t) if t and not seen[t] then seen[t] = true; ts[#ts + 1] = t end end
  for _, a in ipairs(m.arrows) do add(a.t0); add(a.t1) end
  for _, k in ipairs(m.marks) do add(k.t) end
  for _, s in ipairs(m.spans) do add(s.t0); add(s.t1) end
  for _, g in ipairs(m.globals) do add(g.t0); add(g.t1) end
  add(m.tmin); add(m.tmax)
  table.sort(ts)
  local ys, breaks = {}, {}
  local y = top
  for i, t in ipairs(ts) do
    if i > 1 then
      local dt = t - ts[i - 1]
      if gap > 0 and dt > gap then
        local h = gap / 3 * scale + 14
        breaks[#breaks + 1] = { y0 = y, y1 = y + h, t0 = ts[i - 1], t1 = t }
        y = y + h
      else
        y = y + dt * scale
      end
    end
    ys[i] = y
  end
  local function yof(t)
    local lo, hi = 1, #ts
    if #ts == 0 then return top end
    if t <= ts[1] then return ys[1] - (ts[1] - t) * scale end
    if t >= ts[#ts] then return ys[#ts] + (t - ts[#ts]) * scale end
    while hi - lo > 1 do
      local mid = (lo + hi) // 2
      if ts[mid] <= t then lo = mid else hi = mid end
    end
    return ys[lo] + (t - ts[lo]) / (ts[hi] - ts[lo]) * (ys[hi] - ys[lo])
  end
  return yof, breaks, (ys[#ys] or top)
end

local function n2(x) return format("%.1f", x) end

local MARKER = '<marker id="h-%s" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" '
  .. 'markerWidth="9" markerHeight="9" '
  .. 'orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="%s"/></marker>'

function M.svg(events, opts)
  opts = opts or {}
  events = M.normalise(events)
  local m = M.analyse(events, opts)
  local c = m.colors
  local scale = opts.scale or 10
  local gap = opts.gap or 15
  local lane_w, gutter, client_gap = 130, 70, 40
  local nl = #m.lanes
  local function lx(i) return gutter + lane_w / 2 + i * lane_w + (i >= m.nnodes and client_gap or 0) end
  local width = math.floor(lx(math.max(nl - 1, 0)) + lane_w / 2 + 20)
  if width < 720 then width = 720 end
  -- the legend, in as many rows as the width needs
  local legend, row_x, row_y = {}, 12, 42
  local function legend_item(k, label, wide)
    local need = 36 + #label * 6
    if row_x + need > width - 8 and row_x > 12 then row_x, row_y = 12, row_y + 18 end
    legend[#legend + 1] = { k = k, label = label, x = row_x, y = row_y, wide = wide }
    row_x = row_x + need + 8
  end
  for _, k in ipairs { "prepare", "promise", "nay", "accept", "accepted", "req", "ans" } do
    legend_item(k, M.msg_labels[k])
  end
  legend_item("drop", "dropped")
  local top = row_y + 70
  local yof, breaks, ybottom = time_map(m, scale, gap, top)
  local height = math.floor(ybottom + 40)
  local o = {}
  local function w(s) o[#o + 1] = s end
  w(format('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
    .. 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">',
    width, height, width, height))
  w("<title>" .. esc(m.title) .. "</title>")
  w("<style>.lane{stroke:" .. c.lane .. ";stroke-width:1.5}.lane.client{stroke-dasharray:3 4}"
    .. ".msg,.dup,.client{fill:none;stroke-width:1.6}.dup{stroke-dasharray:2 3}.client{stroke-dasharray:5 3}"
    .. ".dropped{stroke-dasharray:5 3}.x{stroke:" .. c.drop .. ";stroke-width:2.2;fill:none}"
    .. ".head{font-weight:600;font-size:13px}.tick{fill:#6b7280;font-size:10px}"
    .. ".lbl{font-size:10.5px;fill:#333;paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}"
    .. "</style>")
  w("<defs>")
  for _, k in ipairs { "prepare", "promise", "nay", "accept", "accepted", "req", "ans" } do
    w(format(MARKER, k, c[k]))
  end
  w(format(MARKER, "other", "#777"))
  w("</defs>")
  w(format('<rect x="0" y="0" width="%d" height="%d" fill="#fff"/>', width, height))
  w(format('<text x="12" y="22" font-size="15" font-weight="700">%s</text>', esc(m.title)))
  -- legend
  for _, it in ipairs(legend) do
    local x, y = it.x, it.y
    if it.k == "drop" then
      w(format('<path d="M%d %d L%d %d M%d %d L%d %d" class="x"/>', x + 14, y - 4, x + 22, y + 4, x + 22, y - 4,
        x + 14, y + 4))
    else
      local dash = (it.k == "req" or it.k == "ans") and ' stroke-dasharray="5 3"' or ""
      w(format('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>'
        .. '<path d="M%d %d L%d %d L%d %d z" fill="%s"/>',
        x, y, x + 18, y, c[it.k], dash, x + 18, y - 4, x + 25, y, x + 18, y + 4, c[it.k]))
    end
    w(format('<text x="%d" y="%d" class="lbl">%s</text>', x + 29, y + 4, esc(it.label)))
  end
  -- squeezed stretches
  for _, b in ipairs(breaks) do
    w(format('<rect x="0" y="%s" width="%d" height="%s" fill="#f1f3f5"/>', n2(b.y0), width, n2(b.y1 - b.y0)))
    w(format('<text x="%d" y="%s" class="tick" font-style="italic">%s ms idle</text>', gutter + 4,
      n2((b.y0 + b.y1) / 2 + 3), fmt_t(b.t1 - b.t0)))
  end
  -- partitions
  for _, g in ipairs(m.globals) do
    local y0 = yof(g.t0)
    if g.k == "partition" then
      local y1 = yof(g.t1)
      for gi, grp in ipairs(g.groups) do
        for _, li in ipairs(grp) do
          w(format('<rect x="%s" y="%s" width="%d" height="%s" fill="%s" opacity="0.08"/>', n2(lx(li) - lane_w / 2 + 4),
            n2(y0), lane_w - 8, n2(y1 - y0), gi == 1 and "#1c7ed6" or "#e8590c"))
        end
      end
    end
    local col = g.k == "heal" and c.heal or c.fault
    w(format('<line x1="%d" x2="%d" y1="%s" y2="%s" stroke="%s" stroke-dasharray="6 4"/>', gutter, width - 10,
      n2(y0), n2(y0), col))
    w(format('<text x="%d" y="%s" class="lbl" fill="%s">%s</text>', gutter + 4, n2(y0 - 4), col, esc(g.text)))
  end
  -- lanes
  for i, l in ipairs(m.lanes) do
    local x = lx(i - 1)
    w(format('<text x="%s" y="%d" text-anchor="middle" class="head"%s>%s</text>', n2(x), top - 20,
      l.kind == "client" and ' fill="#0b7a8a"' or "", esc(l.name)))
    w(format('<line class="lane%s" x1="%s" x2="%s" y1="%d" y2="%s"/>', l.kind == "client" and " client" or "",
      n2(x), n2(x), top - 8, n2(ybottom + 20)))
  end
  -- spans
  for _, s in ipairs(m.spans) do
    local x, y0, y1 = lx(s.lane), yof(s.t0), yof(s.t1)
    if s.k == "down" then
      w(format('<rect x="%s" y="%s" width="10" height="%s" fill="#dee2e6"/>', n2(x - 5), n2(y0), n2(y1 - y0)))
    elseif s.k == "paused" or s.k == "slow" then
      w(format('<rect x="%s" y="%s" width="10" height="%s" fill="%s" opacity="0.35"/>', n2(x - 5), n2(y0),
        n2(y1 - y0), s.k == "paused" and c.pause or c.slow))
    elseif s.k == "backoff" then
      w(format('<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-width="3" stroke-dasharray="1 3"/>',
        n2(x + 7), n2(x + 7), n2(y0), n2(y1), c.pause))
    end
  end
  for _, h in ipairs(m.holds) do
    if h.lane then
      local x, y0, y1 = lx(h.lane), yof(h.from), yof(h.to)
      local col = c.holders[1]
      for i, n in ipairs(m.holders) do if n == tostring(h.holder) then col = c.holders[(i - 1) % #c.holders + 1] end end
      w(format('<rect x="%s" y="%s" width="8" height="%s" rx="2" fill="%s" opacity="0.55">'
        .. '<title>%s holds %s, token %s</title></rect>',
        n2(x - 4), n2(y0), n2(math.max(y1 - y0, 2)), col, esc(h.holder), esc(h.lock), esc(h.token or "-")))
    end
  end
  for _, v in ipairs(m.overlaps) do
    local y0, y1 = yof(v.from), yof(v.to)
    w(format('<rect x="%d" y="%s" width="%d" height="%s" fill="%s" opacity="0.12"/>', gutter, n2(y0),
      width - gutter - 10,
      n2(math.max(y1 - y0, 3)), c.overlap))
    w(format('<text x="%d" y="%s" class="lbl" fill="%s" font-weight="700">%s</text>', gutter + 4, n2(y0 + 12),
      c.overlap, esc(v.text)))
  end
  -- arrows
  for _, a in ipairs(m.arrows) do
    local x0, y0 = lx(a.a), yof(a.t0)
    local x1, y1 = lx(a.b), yof(a.t1)
    local col = c[a.msg or a.k] or "#777"
    local head = c[a.msg or a.k] and (a.msg or a.k) or "other"
    if a.k == "req" or a.k == "ans" then
      col, head = c[a.k], a.k
    end
    local title
    local ev0 = events[a.e0 + 1] or {}
    if a.k == "msg" or a.k == "dup" then
      title = format("%s %s -> %s, lock %s, ballot %s, t %s -> %s", tostring(a.msg), m.lanes[a.a + 1].name,
        m.lanes[a.b + 1].name, tostring(a.lock), tostring(ev0.ballot), fmt_t(a.t0), fmt_t(a.t1))
    elseif a.k == "req" then
      title = format("%s asks %s: %s %s", m.lanes[a.a + 1].name, m.lanes[a.b + 1].name, tostring(a.op),
        tostring(a.lock))
    elseif a.late then
      title = format("%s answers %s late: %s (ignored: the client had stopped waiting)", m.lanes[a.a + 1].name,
        m.lanes[a.b + 1].name, tostring(a.status))
    else
      title = format("%s answers %s: %s", m.lanes[a.a + 1].name, m.lanes[a.b + 1].name, tostring(a.status))
    end
    local cls = a.k == "msg" and ("msg " .. tostring(a.msg)) or (a.k == "dup" and ("dup " .. tostring(a.msg))
      or ("client " .. a.k))
    if a.drop or a.lost then
      -- it never arrived: stop short, with an x (dropped) or a question mark (in flight)
      local f = 0.55
      if a.drop and a.t1 > a.t0 then f = 0.9 end
      if y1 - y0 < 8 then y1 = y0 + 8 end
      local xe, ye = x0 + (x1 - x0) * f, y0 + (y1 - y0) * f
      w(format('<path class="%s dropped" stroke="%s" d="M%s %s L%s %s"><title>%s (%s)</title></path>', cls, col,
        n2(x0), n2(y0), n2(xe), n2(ye), esc(title), esc(a.drop and ("dropped: " .. a.drop) or "never delivered")))
      if a.drop then
        w(format('<path class="x" d="M%s %s L%s %s M%s %s L%s %s"/>', n2(xe - 4), n2(ye - 4), n2(xe + 4), n2(ye + 4),
          n2(xe + 4), n2(ye - 4), n2(xe - 4), n2(ye + 4)))
      else
        w(format('<text x="%s" y="%s" class="lbl">?</text>', n2(xe + 3), n2(ye + 4)))
      end
    else
      w(format('<path class="%s" stroke="%s" d="M%s %s L%s %s" marker-end="url(#h-%s)"><title>%s</title></path>',
        cls, col, n2(x0), n2(y0), n2(x1), n2(y1), head, esc(title)))
    end
  end
  -- marks
  for _, k in ipairs(m.marks) do
    local x, y = lx(k.lane), yof(k.t)
    local g = k.g
    if g == "fault" then
      local e = events[k.ev[#k.ev] + 1] or {}
      local what = tostring(e.what or "")
      for _, j in ipairs(k.ev) do
        local x2 = events[j + 1]
        if x2 and x2.ev == "fault" then what = tostring(x2.what) end
      end
      if what == "crash" then
        w(format('<path d="M%s %s L%s %s M%s %s L%s %s" stroke="%s" stroke-width="3"/>', n2(x - 7), n2(y - 7),
          n2(x + 7), n2(y + 7), n2(x + 7), n2(y - 7), n2(x - 7), n2(y + 7), c.fault))
      else
        local col = what:match("lost") and c.amnesia or (what:match("^restart") and c.restart or c.pause)
        w(format('<circle cx="%s" cy="%s" r="6" fill="#fff" stroke="%s" stroke-width="2.5"/>', n2(x), n2(y), col))
      end
      w(format('<text x="%s" y="%s" class="lbl" font-weight="600">%s</text>', n2(x + 10), n2(y + 4), esc(what)))
    elseif g == "decided" then
      local col = k.result == "granted" and c.restart or (k.result == "released" and c.prepare or "#495057")
      w(format('<path d="M%s %s L%s %s L%s %s L%s %s Z" fill="%s"/>', n2(x), n2(y - 7), n2(x + 7), n2(y), n2(x),
        n2(y + 7), n2(x - 7), n2(y), col))
      w(format('<text x="%s" y="%s" class="lbl" font-weight="600">%s</text>', n2(x + 10), n2(y + 4),
        esc(k.label or "")))
    elseif g == "attempt" then
      w(format('<circle cx="%s" cy="%s" r="5" fill="#fff" stroke="%s" stroke-width="2"/>', n2(x), n2(y), c.prepare))
      w(format('<text x="%s" y="%s" class="lbl">%s</text>', n2(x + 9), n2(y - 4), esc(k.label or "")))
    elseif g == "conflict" or g == "hook_error" then
      w(format('<path d="M%s %s L%s %s L%s %s Z" fill="%s"/>', n2(x), n2(y - 6), n2(x + 6), n2(y + 5), n2(x - 6),
        n2(y + 5), c.nay))
      w(format('<text x="%s" y="%s" class="lbl" fill="%s">%s</text>', n2(x + 9), n2(y + 4), c.nay, esc(k.label or "")))
    elseif g == "accepted" then
      w(format('<rect x="%s" y="%s" width="5" height="5" fill="%s"/>', n2(x - 2.5), n2(y - 2.5), c.accept))
    elseif g == "refused" then
      w(format('<path d="M%s %s L%s %s M%s %s L%s %s" stroke="%s" stroke-width="1.5"/>', n2(x - 3), n2(y - 3),
        n2(x + 3),
        n2(y + 3), n2(x + 3), n2(y - 3), n2(x - 3), n2(y + 3), c.nay))
    elseif g == "promised" then
      w(format('<circle cx="%s" cy="%s" r="2.5" fill="%s"/>', n2(x), n2(y), c.prepare))
    end
  end
  -- time ticks
  local step = 1
  for _, s in ipairs { 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000 } do
    step = s
    if s * scale >= 40 then break end
  end
  local t = math.ceil(m.tmin / step) * step
  while t <= m.tmax do
    local inside = false
    for _, b in ipairs(breaks) do if t > b.t0 and t < b.t1 then inside = true end end
    if not inside then
      local y = yof(t)
      w(format('<text x="%d" y="%s" text-anchor="end" class="tick">%s ms</text>', gutter - 8, n2(y + 3), fmt_t(t)))
      w(format('<line x1="%d" x2="%d" y1="%s" y2="%s" stroke="#ced4da"/>', gutter - 5, gutter, n2(y), n2(y)))
    end
    t = t + step
  end
  w("</svg>")
  return concat(o, "\n") .. "\n"
end

-- The page's style and script -------------------------------------------------------------

CSS = [==[
:root{--fg:#1f2328;--muted:#6b7280;--line:#e5e7eb;--bg:#f6f7f9;--card:#fff;--pass:#2b8a3e;--fail:#e03131;--unk:#f08c00;--accent:#2f6bd8}
*{box-sizing:border-box}
html,body{margin:0;padding:0}
body{font:13px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg)}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:12px}
h1{font-size:20px;margin:0}
h2{font-size:14px;margin:0 0 8px 0;font-weight:650}
.hint{font-weight:400;color:var(--muted);font-size:12px;margin-left:6px}
.muted{color:var(--muted)}
header.top{padding:12px 18px 10px;background:#fff;border-bottom:1px solid var(--line)}
.title{display:flex;align-items:center;gap:12px;flex-wrap:wrap}
.meta{margin-top:4px;color:var(--muted);display:flex;flex-wrap:wrap;gap:4px 14px}
.meta .kv i{font-style:normal;color:#9aa3ad;margin-right:3px}
.meta .kv{color:var(--fg)}
.repro{margin-top:6px;display:flex;align-items:center;gap:8px;flex-wrap:wrap}
.repro span{color:var(--muted)}
.repro code{background:#f1f3f5;border:1px solid var(--line);border-radius:5px;padding:2px 7px;user-select:all}
button,select{font:inherit;border:1px solid #ced4da;background:#fff;border-radius:5px;padding:2px 8px;cursor:pointer;color:var(--fg)}
button:hover{background:#f1f3f5}
.badge{display:inline-block;border-radius:999px;padding:2px 10px;font-weight:700;font-size:12px;color:#fff;letter-spacing:.02em}
.b-pass{background:var(--pass)}.b-fail{background:var(--fail)}.b-unknown,.b-error{background:var(--unk)}
.classic{background:var(--fail);color:#fff;font-weight:700;text-align:center;padding:5px;letter-spacing:.03em}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 14px;min-width:0}
.summary{display:grid;grid-template-columns:minmax(420px,1.3fr) minmax(380px,1fr);gap:12px;padding:12px 18px 0;align-items:start}
.checks{list-style:none;margin:0;padding:0}
.checks li{padding:2px 0}
.checks .tag{display:inline-block;min-width:38px;font-weight:700;font-size:11px}
.c-pass .tag{color:var(--pass)}.c-fail .tag{color:var(--fail)}.c-unknown .tag{color:var(--unk)}
.c-fail{color:#a61e1e}
.overlap-text{margin-top:8px;border-left:4px solid var(--fail);background:#fff5f5;color:#a61e1e;padding:6px 10px;border-radius:4px}
.overlap-text ul{margin:2px 0 0 0;padding-left:18px}
.metrics dl{margin:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:0 14px}
.metric{display:flex;flex-direction:column;padding:1px 0 3px}
.metric dt{color:var(--muted);font-size:11px}
.metric dd{margin:0;font-weight:600}
.metric[data-k="by type"] dd{font-weight:400;font-size:12px}
.metric .sub{font-weight:400;color:var(--muted);font-size:11.5px}
.col{display:flex;flex-direction:column;gap:12px;min-width:0}
#holder-timeline svg{display:block;width:100%}
#holder-timeline .hold{cursor:pointer}
#holder-timeline .hold:hover{filter:brightness(1.1)}
.main{display:grid;grid-template-columns:minmax(0,1fr) 430px;gap:12px;padding:12px 18px}
.diagram-card{padding-bottom:8px}
.toolbar{display:flex;align-items:center;gap:14px;flex-wrap:wrap;margin-bottom:6px}
.zoom{display:inline-flex;align-items:center;gap:4px}
#zoom-label{min-width:64px;text-align:center;color:var(--muted)}
.legend{display:flex;flex-wrap:wrap;gap:3px 14px;margin-bottom:8px;color:#333;font-size:12px}
.lg{display:inline-flex;align-items:center;gap:4px}
#diagram{position:relative;height:calc(100vh - 120px);min-height:360px;max-height:1100px;overflow:auto;border:1px solid var(--line);border-radius:6px;background:#fff}
#lane-heads{position:sticky;top:0;height:38px;z-index:2;background:rgba(255,255,255,.96);border-bottom:1px solid var(--line)}
.lane-head{position:absolute;top:6px;transform:translateX(-50%);padding:3px 9px;border-radius:999px;font-weight:650;font-size:12px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;background:#eef2f7;border:1px solid #d8dee6}
.lane-head.client{background:#e6f4f6;border-color:#b7dde3;color:#0b5f6b}
.lane-head.down{background:#fff0f0;border-color:#f3b3b3;color:#a61e1e;text-decoration:line-through}
#diagram-body{position:relative}
#diagram-canvas{position:sticky;top:38px;left:0;display:block}
.side{display:flex;flex-direction:column;gap:12px;min-width:0}
.scrub{position:sticky;top:10px;max-height:calc(100vh - 20px);overflow:auto}
.controls{display:flex;gap:4px;align-items:center;flex-wrap:wrap}
.controls .play{min-width:78px;font-weight:600}
#scrubber{width:100%;margin:10px 0 2px}
#clock{font-weight:650;margin-bottom:6px}
#clock .muted{font-weight:400}
.lockstate{margin-top:8px}
.lockstate h3{font-size:13px;margin:0 0 3px 0}
.lockstate .dec{font-size:12px;color:#333;margin:0 0 5px 0}
.lockstate .dec.warn{color:#a61e1e}
table.state{border-collapse:collapse;width:100%;font-size:12px}
table.state th{text-align:left;color:var(--muted);font-weight:600;border-bottom:1px solid var(--line);padding:3px 5px}
table.state td{padding:3px 5px;border-bottom:1px solid #f1f3f5;white-space:nowrap}
table.state td.v{white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:150px}
table.state tr.quorum td{background:#ebfbee}
table.state tr.quorum td:first-child{box-shadow:inset 3px 0 0 var(--pass)}
table.state tr.down td{color:#adb5bd;text-decoration:line-through}
table.state tr.paused td{color:#b07800}
table.state td.changed{background:#fff3bf !important;transition:background .3s}
table.state .q{color:var(--pass);font-weight:700;font-size:11px}
.lockstate .foot{font-size:11px;margin:3px 0 0}
#details{font-size:12px;max-height:380px;overflow:auto}
#details h4{margin:6px 0 2px;font-size:12.5px}
table.fields{border-collapse:collapse;width:100%}
table.fields td{padding:1px 4px;vertical-align:top;border-bottom:1px solid #f5f5f5}
table.fields td:first-child{color:var(--muted);width:80px}
#tooltip{position:fixed;z-index:10;pointer-events:none;display:none;max-width:380px;background:#1f2328;color:#f8f9fa;border-radius:6px;padding:7px 9px;font-size:12px;box-shadow:0 4px 14px rgba(0,0,0,.25)}
#tooltip table.fields td{border-color:#343a40}
#tooltip table.fields td:first-child{color:#adb5bd}
#tooltip h4{margin:0 0 3px;font-size:12.5px}
footer{color:var(--muted);padding:0 18px 16px;font-size:12px}
.nojs{color:var(--muted)}
@media (max-width:1100px){.main{grid-template-columns:1fr}.summary{grid-template-columns:1fr}.scrub{position:static}}
]==]

JS = [==[
(function () {
'use strict';
var $ = function (s) { return document.querySelector(s); };
function arr(x) { return Array.isArray(x) ? x : []; }
function h(tag, attrs, kids) {
  var n = document.createElement(tag);
  if (attrs) for (var k in attrs) {
    if (k === 'text') n.textContent = attrs[k];
    else if (k === 'cls') n.className = attrs[k];
    else n.setAttribute(k, attrs[k]);
  }
  arr(kids).forEach(function (c) { if (c != null) n.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
  return n;
}
var SVGNS = 'http://www.w3.org/2000/svg';
function s(tag, attrs) {
  var n = document.createElementNS(SVGNS, tag);
  for (var k in attrs) n.setAttribute(k, attrs[k]);
  return n;
}
function fmtT(t) { var r = Math.round(t * 1000) / 1000; if (r === 0) r = 0; return r.toLocaleString('en-US') + ' ms'; }
function stateText(v) {
  if (v === undefined || v === null) return 'free';
  if (typeof v !== 'object') return String(v);
  if (v.holder !== undefined) return v.holder + (v.token !== undefined ? ' #' + v.token : '');
  return JSON.stringify(v);
}
function val(v) { return (v !== null && typeof v === 'object') ? JSON.stringify(v) : String(v); }

var EV = arr(JSON.parse($('#skinny-events').textContent));
var M = JSON.parse($('#skinny-model').textContent);
var C = M.colors, LANES = arr(M.lanes), NN = M.nnodes, ARROWS = arr(M.arrows), MARKS = arr(M.marks),
    SPANS = arr(M.spans), GLOBALS = arr(M.globals), HOLDS = arr(M.holds), OVERLAPS = arr(M.overlaps),
    DECISIONS = arr(M.decisions), LOCKS = arr(M.locks), HOLDERS = arr(M.holders),
    DESCRIBED = M.described || {};
var errors = [];
function holderColor(name) {
  var i = HOLDERS.indexOf(String(name));
  var p = arr(C.holders);
  return p[(i < 0 ? 0 : i) % p.length];
}

// ------------------------------------------------------------------ time
// Every moment at which something happens; the scrubber steps through them.
var TIMES = (function () {
  var seen = new Set();
  EV.forEach(function (e) { if (typeof e.t === 'number') seen.add(e.t); });
  if (!seen.size) seen.add(0);
  return Array.from(seen).sort(function (a, b) { return a - b; });
})();
// the index of the last event at or before each moment
var LAST_AT = (function () {
  var out = new Array(TIMES.length), k = 0;
  for (var i = 0; i < EV.length; i++) {
    var t = EV[i].t;
    while (k < TIMES.length - 1 && TIMES[k + 1] <= t) { out[k] = i - 1; k++; }
  }
  for (; k < TIMES.length; k++) out[k] = EV.length - 1;
  return out;
})();

// ------------------------------------------------------------------ diagram layout
var HEAD = 38, GUTTER = 64, PAD = 22, GAP_MS = 15;
var scale = 10, compress = true, laneW = 120, clientGap = 36, width = 800, height = 400;
var ANCH = [], YS = [], BREAKS = [];
function buildTimeMap() {
  var set = new Set(TIMES);
  ARROWS.forEach(function (a) { set.add(a.t0); set.add(a.t1); });
  SPANS.forEach(function (x) { set.add(x.t0); set.add(x.t1); });
  GLOBALS.forEach(function (g) { set.add(g.t0); if (g.t1 !== undefined) set.add(g.t1); });
  HOLDS.forEach(function (x) { set.add(x.from); set.add(x.to); });
  ANCH = Array.from(set).filter(function (t) { return typeof t === 'number'; }).sort(function (a, b) { return a - b; });
  YS = []; BREAKS = [];
  var y = PAD;
  for (var k = 0; k < ANCH.length; k++) {
    if (k > 0) {
      var dt = ANCH[k] - ANCH[k - 1];
      if (compress && dt > GAP_MS) {
        var hh = GAP_MS / 3 * scale + 14;
        BREAKS.push({ y0: y, y1: y + hh, t0: ANCH[k - 1], t1: ANCH[k] });
        y += hh;
      } else y += dt * scale;
    }
    YS.push(y);
  }
  height = (YS.length ? YS[YS.length - 1] : PAD) + 60;
}
function yOf(t) {
  var n = ANCH.length;
  if (!n) return PAD;
  if (t <= ANCH[0]) return YS[0] - (ANCH[0] - t) * scale;
  if (t >= ANCH[n - 1]) return YS[n - 1] + (t - ANCH[n - 1]) * scale;
  var lo = 0, hi = n - 1;
  while (hi - lo > 1) { var mid = (lo + hi) >> 1; if (ANCH[mid] <= t) lo = mid; else hi = mid; }
  return YS[lo] + (t - ANCH[lo]) / (ANCH[hi] - ANCH[lo]) * (YS[hi] - YS[lo]);
}
function tOf(y) {
  var n = ANCH.length;
  if (!n) return 0;
  if (y <= YS[0]) return ANCH[0] - (YS[0] - y) / scale;
  if (y >= YS[n - 1]) return ANCH[n - 1] + (y - YS[n - 1]) / scale;
  var lo = 0, hi = n - 1;
  while (hi - lo > 1) { var mid = (lo + hi) >> 1; if (YS[mid] <= y) lo = mid; else hi = mid; }
  return ANCH[lo] + (y - YS[lo]) / (YS[hi] - YS[lo]) * (ANCH[hi] - ANCH[lo]);
}
function laneX(i) { return GUTTER + laneW / 2 + i * laneW + (i >= NN ? clientGap : 0); }

// Geometry of every drawable item, bucketed by y for drawing and hit-testing.
var ITEMS = [], TILE = 400, TILES = [], DOWN = {};
function geometry() {
  var box = $('#diagram');
  var avail = Math.max(box.clientWidth - GUTTER - 16 - (LANES.length > NN ? clientGap : 0), 200);
  laneW = Math.max(80, Math.min(230, avail / Math.max(LANES.length, 1)));
  width = Math.max(laneX(LANES.length - 1) + laneW / 2 + 10, box.clientWidth - 2);
  buildTimeMap();
  ITEMS = [];
  ARROWS.forEach(function (a, i) {
    var x0 = laneX(a.a), y0 = yOf(a.t0), x1 = laneX(a.b), y1 = yOf(a.t1);
    var it = { type: 'arrow', a: a, idx: i, x0: x0, y0: y0, x1: x1, y1: y1 };
    if (a.drop || a.lost) {
      var f = (a.drop && a.t1 > a.t0) ? 0.9 : 0.55;
      if (y1 - y0 < 10) y1 = y0 + 10;
      it.x1 = x0 + (x1 - x0) * f; it.y1 = y0 + (y1 - y0) * f;
    }
    it.top = Math.min(it.y0, it.y1) - 8; it.bot = Math.max(it.y0, it.y1) + 8;
    ITEMS.push(it);
  });
  DOWN = {};
  SPANS.forEach(function (sp, i) {
    var x = laneX(sp.lane);
    if (sp.k === 'down') (DOWN[sp.lane] = DOWN[sp.lane] || []).push([yOf(sp.t0), yOf(sp.t1)]);
    ITEMS.push({ type: 'span', sp: sp, idx: i, x: x, y0: yOf(sp.t0), y1: yOf(sp.t1), top: yOf(sp.t0), bot: yOf(sp.t1) + 1 });
  });
  HOLDS.forEach(function (hd, i) {
    if (hd.lane === undefined || hd.lane === null) return;
    var y0 = yOf(hd.from), y1 = Math.max(yOf(hd.to), y0 + 3);
    ITEMS.push({ type: 'hold', hd: hd, idx: i, x: laneX(hd.lane), y0: y0, y1: y1, top: y0, bot: y1 });
  });
  MARKS.forEach(function (mk, i) {
    var y = yOf(mk.t);
    ITEMS.push({ type: 'mark', mk: mk, idx: i, x: laneX(mk.lane), y: y, top: y - 9, bot: y + 9 });
  });
  GLOBALS.forEach(function (g, i) {
    var y0 = yOf(g.t0), y1 = g.t1 !== undefined ? yOf(g.t1) : y0;
    ITEMS.push({ type: 'global', g: g, idx: i, y0: y0, y1: y1, top: y0 - 12, bot: y0 + 4 });
  });
  OVERLAPS.forEach(function (o, i) {
    var y0 = yOf(o.from), y1 = Math.max(yOf(o.to), y0 + 4);
    ITEMS.push({ type: 'overlap', o: o, idx: i, y0: y0, y1: y1, top: y0, bot: y1 });
  });
  // order: backgrounds first, then arrows, then marks on top
  var ORDER = { overlap: 0, global: 1, span: 2, hold: 3, arrow: 4, mark: 5 };
  ITEMS.sort(function (p, q) { return ORDER[p.type] - ORDER[q.type]; });
  var nt = Math.ceil(height / TILE) + 1;
  TILES = new Array(nt);
  for (var k = 0; k < nt; k++) TILES[k] = [];
  ITEMS.forEach(function (it, n) {
    it.n = n;
    var a = Math.max(0, Math.floor(it.top / TILE)), b = Math.min(nt - 1, Math.floor(it.bot / TILE));
    for (var k = a; k <= b; k++) TILES[k].push(n);
  });
  var body = $('#diagram-body');
  body.style.width = width + 'px';
  body.style.height = Math.max(height, 100) + 'px';
  var heads = $('#lane-heads');
  heads.style.width = width + 'px';
  heads.textContent = '';
  LANES.forEach(function (l, i) {
    var d = h('div', { cls: 'lane-head ' + l.kind, 'data-lane': String(i), text: l.name,
                       title: (l.kind === 'client' ? 'client ' : 'instance ') + l.name });
    d.style.left = laneX(i) + 'px';
    d.style.maxWidth = Math.max(laneW - 6, 40) + 'px';
    heads.appendChild(d);
  });
  $('#zoom-label').textContent = (scale >= 1 ? Math.round(scale * 10) / 10 : scale.toFixed(2)) + ' px/ms';
}
function itemsIn(y0, y1) {
  var a = Math.max(0, Math.floor(y0 / TILE)), b = Math.min(TILES.length - 1, Math.floor(y1 / TILE));
  var seen = new Uint8Array(ITEMS.length), out = [];
  for (var k = a; k <= b; k++) {
    var t = TILES[k];
    for (var j = 0; j < t.length; j++) {
      var n = t[j];
      if (!seen[n]) { seen[n] = 1; var it = ITEMS[n]; if (it.bot >= y0 && it.top <= y1) out.push(it); }
    }
  }
  out.sort(function (p, q) { return p.n - q.n; });
  return out;
}

// ------------------------------------------------------------------ drawing
var canvas = $('#diagram-canvas'), ctx = canvas.getContext('2d');
var cw = 0, ch = 0, dpr = 1, hover = null, selected = null, lockFilter = '';
var cursorT = 0, drawn = 0;
function sizeCanvas() {
  var box = $('#diagram');
  dpr = window.devicePixelRatio || 1;
  cw = box.clientWidth; ch = Math.max(box.clientHeight - HEAD, 50);
  canvas.width = Math.round(cw * dpr); canvas.height = Math.round(ch * dpr);
  canvas.style.width = cw + 'px'; canvas.style.height = ch + 'px';
  canvas.style.marginBottom = (-ch) + 'px';
}
var pending = false;
function redraw() { if (!pending) { pending = true; requestAnimationFrame(function () { pending = false; draw(); }); } }
function faded(lock) { return lockFilter && lock !== undefined && lock !== null && String(lock) !== lockFilter; }
function arrowColor(a) {
  if (a.k === 'req') return C.req;
  if (a.k === 'ans') return C.ans;
  return C[a.msg] || '#777';
}
var everDrawn = new Uint8Array(ARROWS.length);
function drawArrow(it, strong) {
  var a = it.a, col = arrowColor(a);
  everDrawn[it.idx] = 1;
  ctx.save();
  ctx.globalAlpha = faded(a.lock) ? 0.12 : 1;
  ctx.strokeStyle = col; ctx.fillStyle = col;
  ctx.lineWidth = strong ? 3 : (a.k === 'req' || a.k === 'ans' ? 1.4 : 1.6);
  if (a.k === 'dup') ctx.setLineDash([2, 3]);
  else if (a.k === 'req' || a.k === 'ans') ctx.setLineDash([5, 3]);
  else if (a.drop || a.lost) ctx.setLineDash([5, 3]);
  ctx.beginPath(); ctx.moveTo(it.x0, it.y0); ctx.lineTo(it.x1, it.y1); ctx.stroke();
  ctx.setLineDash([]);
  var ang = Math.atan2(it.y1 - it.y0, it.x1 - it.x0);
  if (a.drop) {
    ctx.strokeStyle = C.drop; ctx.lineWidth = 2.4;
    ctx.beginPath();
    ctx.moveTo(it.x1 - 5, it.y1 - 5); ctx.lineTo(it.x1 + 5, it.y1 + 5);
    ctx.moveTo(it.x1 + 5, it.y1 - 5); ctx.lineTo(it.x1 - 5, it.y1 + 5);
    ctx.stroke();
  } else if (a.lost) {
    ctx.font = 'bold 12px system-ui, sans-serif'; ctx.fillText('?', it.x1 + 4, it.y1 + 4);
  } else {
    var L = 8, W = 0.42;
    ctx.beginPath();
    ctx.moveTo(it.x1, it.y1);
    ctx.lineTo(it.x1 - L * Math.cos(ang - W), it.y1 - L * Math.sin(ang - W));
    ctx.lineTo(it.x1 - L * Math.cos(ang + W), it.y1 - L * Math.sin(ang + W));
    ctx.closePath(); ctx.fill();
  }
  if (a.k === 'dup') {
    ctx.font = '10px system-ui, sans-serif'; ctx.fillStyle = '#555';
    ctx.fillText('dup', (it.x0 + it.x1) / 2 + 4, (it.y0 + it.y1) / 2);
  }
  if (a.k === 'ans' && scale >= 3) {
    var e = EV[a.e0] || {};
    var txt = (a.late ? 'late, ignored: ' : '') + String(e.status || '') + (e.token !== undefined ? ' #' + e.token : '');
    ctx.font = '600 11px system-ui, sans-serif'; ctx.fillStyle = C.ans; ctx.textAlign = 'right';
    ctx.fillText(txt, it.x1 - 10, it.y1 - 5); ctx.textAlign = 'left';
  } else if (a.k === 'req' && scale >= 3) {
    var r = EV[a.e0] || {};
    ctx.font = '11px system-ui, sans-serif'; ctx.fillStyle = '#444'; ctx.textAlign = 'right';
    ctx.fillText(String(r.op || '') + ' ' + String(r.lock || '') + (r.resend_of !== undefined ? ' (resend ' + r.attempt + ')' : ''), it.x0 - 10, it.y0 + 13); ctx.textAlign = 'left';
  }
  ctx.restore();
}
function diamond(x, y, r) { ctx.beginPath(); ctx.moveTo(x, y - r); ctx.lineTo(x + r, y); ctx.lineTo(x, y + r); ctx.lineTo(x - r, y); ctx.closePath(); }
// Boxes [x0, y0, x1, y1] taken in this frame by glyphs and labels: a label that would
// cover one moves down a line or more. Mark labels wait in `pendingLabels` until every
// glyph is drawn, so that no glyph is drawn over a label.
var placed = [], pendingLabels = [];
function freeAt(x0, y0, x1, y1) {
  for (var i = placed.length - 1; i >= 0 && i >= placed.length - 80; i--) {
    var p = placed[i];
    if (x0 < p[2] && x1 > p[0] && y0 < p[3] && y1 > p[1]) return false;
  }
  return true;
}
function labelText(txt, x, y, col, bold) {
  ctx.font = (bold ? '600 ' : '') + '11px system-ui, sans-serif';
  var w = ctx.measureText(txt).width;
  for (var tries = 0; tries < 5 && !freeAt(x - 1, y - 10, x + w + 1, y + 2); tries++) y += 13;
  placed.push([x - 1, y - 10, x + w + 1, y + 2]);
  ctx.fillStyle = 'rgba(255,255,255,.85)'; ctx.fillRect(x - 2, y - 10, w + 4, 13);
  ctx.fillStyle = col; ctx.fillText(txt, x, y);
}
function markLabel(txt, x, y, col, bold) { pendingLabels.push([txt, x, y, col, bold, ctx.globalAlpha]); }
function flushLabels() {
  var list = pendingLabels;
  pendingLabels = [];
  ctx.save();
  // a faded mark (another lock than the one picked) keeps its glyph but not its label
  list.forEach(function (l) { if (l[5] >= 0.5) labelText(l[0], l[1], l[2], l[3], l[4]); });
  ctx.restore();
}
function markLock(mk) { var e = EV[mk.ev[0]]; return e && e.lock; }
function drawMark(it, strong) {
  var mk = it.mk, x = it.x, y = it.y, g = mk.g;
  if ((g === 'fault' || g === 'decided' || g === 'attempt' || g === 'conflict' || g === 'hook_error') &&
      !faded(markLock(mk))) {
    placed.push([x - 8, y - 8, x + 8, y + 8]);
  }
  ctx.save();
  ctx.globalAlpha = faded(markLock(mk)) ? 0.15 : 1;
  if (strong) { ctx.fillStyle = 'rgba(47,107,216,.18)'; ctx.beginPath(); ctx.arc(x, y, 11, 0, 7); ctx.fill(); }
  if (g === 'fault') {
    var what = '';
    mk.ev.forEach(function (j) { if (EV[j] && EV[j].ev === 'fault') what = String(EV[j].what); });
    if (what === 'crash') {
      ctx.strokeStyle = C.fault; ctx.lineWidth = 3.2;
      ctx.beginPath(); ctx.moveTo(x - 8, y - 8); ctx.lineTo(x + 8, y + 8); ctx.moveTo(x + 8, y - 8); ctx.lineTo(x - 8, y + 8); ctx.stroke();
    } else {
      var col = /lost/.test(what) ? C.amnesia : (/^restart/.test(what) ? C.restart : (/^slow/.test(what) ? C.slow : C.pause));
      ctx.fillStyle = '#fff'; ctx.strokeStyle = col; ctx.lineWidth = 2.6;
      ctx.beginPath(); ctx.arc(x, y, 6.5, 0, 7); ctx.fill(); ctx.stroke();
    }
    markLabel(what.replace('restart with state lost', 'restart, state lost'), x + 12, y + 4,
              what === 'crash' ? C.fault : '#222', true);
  } else if (g === 'decided') {
    var res = mk.result;
    ctx.fillStyle = res === 'granted' ? C.restart : (res === 'released' ? C.prepare : '#495057');
    diamond(x, y, 7); ctx.fill();
    if (scale >= 2) markLabel(mk.label || '', x + 11, y + 4, '#1f2328', true);
  } else if (g === 'attempt') {
    ctx.fillStyle = '#fff'; ctx.strokeStyle = C.prepare; ctx.lineWidth = 2;
    ctx.beginPath(); ctx.arc(x, y, 5, 0, 7); ctx.fill(); ctx.stroke();
    if (scale >= 2) markLabel(mk.label || '', x + 9, y - 3, C.prepare, false);
  } else if (g === 'conflict' || g === 'hook_error') {
    ctx.fillStyle = C.nay;
    ctx.beginPath(); ctx.moveTo(x, y - 6); ctx.lineTo(x + 6, y + 5); ctx.lineTo(x - 6, y + 5); ctx.closePath(); ctx.fill();
    if (scale >= 2) markLabel(mk.label || '', x + 9, y + 4, C.nay, true);
  } else if (g === 'backoff') {
    ctx.fillStyle = C.pause; ctx.beginPath(); ctx.arc(x, y, 3, 0, 7); ctx.fill();
  } else if (g === 'accepted') {
    ctx.fillStyle = C.accept; ctx.fillRect(x - 3, y - 3, 6, 6);
  } else if (g === 'refused') {
    ctx.strokeStyle = C.nay; ctx.lineWidth = 1.6;
    ctx.beginPath(); ctx.moveTo(x - 3.5, y - 3.5); ctx.lineTo(x + 3.5, y + 3.5); ctx.moveTo(x + 3.5, y - 3.5); ctx.lineTo(x - 3.5, y + 3.5); ctx.stroke();
  } else if (g === 'promised') {
    ctx.fillStyle = C.prepare; ctx.beginPath(); ctx.arc(x, y, 2.8, 0, 7); ctx.fill();
  } else {
    ctx.fillStyle = '#adb5bd'; ctx.beginPath(); ctx.arc(x, y, 2.2, 0, 7); ctx.fill();
  }
  ctx.restore();
}
function drawSpan(it, strong) {
  var sp = it.sp, x = it.x;
  ctx.save();
  if (sp.k === 'down') {
    ctx.fillStyle = 'rgba(224,49,49,.06)'; ctx.fillRect(x - laneW / 2 + 6, it.y0, laneW - 12, it.y1 - it.y0);
  } else if (sp.k === 'paused' || sp.k === 'slow') {
    ctx.fillStyle = sp.k === 'paused' ? 'rgba(240,140,0,.30)' : 'rgba(245,159,0,.22)';
    ctx.fillRect(x - 5, it.y0, 10, it.y1 - it.y0);
  } else if (sp.k === 'backoff') {
    ctx.strokeStyle = C.pause; ctx.lineWidth = strong ? 4 : 3; ctx.setLineDash([1, 3]);
    ctx.beginPath(); ctx.moveTo(x + 8, it.y0); ctx.lineTo(x + 8, it.y1); ctx.stroke();
    if (it.y1 - it.y0 > 24 && scale >= 2) { ctx.setLineDash([]); labelText(sp.label || 'backoff', x + 14, it.y0 + 14, '#9c5700', false); }
  }
  ctx.restore();
}
function drawHold(it, strong) {
  var hd = it.hd;
  ctx.save();
  ctx.globalAlpha = faded(hd.lock) ? 0.12 : (strong ? 0.9 : 0.5);
  ctx.fillStyle = holderColor(hd.holder);
  var r = 3, x = it.x - 5, w = 10, y = it.y0, hh = it.y1 - it.y0;
  ctx.beginPath();
  if (ctx.roundRect) ctx.roundRect(x, y, w, hh, r); else ctx.rect(x, y, w, hh);
  ctx.fill();
  ctx.globalAlpha = 1;
  if (hh > 30) {
    ctx.save(); ctx.translate(it.x - 9, y + 6); ctx.rotate(Math.PI / 2);
    ctx.font = '600 10px system-ui, sans-serif'; ctx.fillStyle = holderColor(hd.holder);
    ctx.fillText(String(hd.lock) + (hd.token !== undefined ? ' #' + hd.token : ''), 0, 0);
    ctx.restore();
  }
  ctx.restore();
}
function drawGlobal(it, x0, x1) {
  var g = it.g;
  ctx.save();
  if (g.k === 'partition' && g.groups) {
    var cols = ['rgba(28,126,214,.07)', 'rgba(232,89,12,.08)'];
    arr(g.groups).forEach(function (grp, gi) {
      arr(grp).forEach(function (li) {
        ctx.fillStyle = cols[gi % 2];
        ctx.fillRect(laneX(li) - laneW / 2 + 4, it.y0, laneW - 8, it.y1 - it.y0);
      });
    });
  }
  var col = g.k === 'heal' ? C.heal : (g.k === 'note' ? '#666' : C.fault);
  ctx.strokeStyle = col; ctx.setLineDash([6, 4]); ctx.lineWidth = 1.3;
  ctx.beginPath(); ctx.moveTo(x0, it.y0); ctx.lineTo(x1, it.y0); ctx.stroke();
  ctx.setLineDash([]);
  labelText(String(g.text), GUTTER + 6, it.y0 - 4, col, true);
  ctx.restore();
}
function drawOverlap(it, x0, x1) {
  ctx.save();
  ctx.fillStyle = 'rgba(224,49,49,.12)';
  ctx.fillRect(x0, it.y0, x1 - x0, it.y1 - it.y0);
  ctx.strokeStyle = C.overlap; ctx.lineWidth = 1;
  ctx.strokeRect(x0 + 0.5, it.y0 + 0.5, x1 - x0 - 1, it.y1 - it.y0 - 1);
  labelText('two holders: ' + (it.o.a && it.o.a.holder) + ' and ' + (it.o.b && it.o.b.holder) + ' (lock ' + it.o.lock + ')',
            GUTTER + 6, it.y0 + 14, C.overlap, true);
  ctx.restore();
}
function niceStep() {
  var steps = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 1e5];
  for (var i = 0; i < steps.length; i++) if (steps[i] * scale >= 44) return steps[i];
  return 1e5;
}
var drawFrames = 0, drawTotal = 0, drawMax = 0;
function draw() {
  var started = performance.now();
  drawInner();
  var ms = performance.now() - started;
  drawFrames++; drawTotal += ms; if (ms > drawMax) drawMax = ms;
}
function drawInner() {
  var box = $('#diagram');
  var sx = box.scrollLeft, sy = box.scrollTop;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, cw, ch);
  ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, cw, ch);
  ctx.translate(-sx, -sy);
  var vy0 = sy - 20, vy1 = sy + ch + 20, vx0 = sx, vx1 = sx + cw;
  // squeezed stretches
  BREAKS.forEach(function (b) {
    if (b.y1 < vy0 || b.y0 > vy1) return;
    ctx.fillStyle = '#f3f4f6'; ctx.fillRect(vx0, b.y0, vx1 - vx0, b.y1 - b.y0);
    ctx.strokeStyle = '#d0d5db'; ctx.lineWidth = 1;
    ctx.beginPath();
    for (var x = GUTTER; x < width; x += 12) { ctx.lineTo(x, b.y0 + 3 + ((x / 12) % 2 ? 3 : 0)); }
    ctx.stroke();
    ctx.beginPath();
    for (var x2 = GUTTER; x2 < width; x2 += 12) { ctx.lineTo(x2, b.y1 - 3 - ((x2 / 12) % 2 ? 3 : 0)); }
    ctx.stroke();
    ctx.font = 'italic 11px system-ui, sans-serif'; ctx.fillStyle = '#6b7280';
    ctx.fillText('\u2026 ' + fmtT(b.t1 - b.t0) + ' with nothing happening', Math.max(GUTTER + 8, vx0 + GUTTER + 8), (b.y0 + b.y1) / 2 + 4);
  });
  // lanes: solid while the instance is up, faint and dotted while it is down
  LANES.forEach(function (l, i) {
    var x = laneX(i);
    if (x < vx0 - 20 || x > vx1 + 20) return;
    var from = Math.max(vy0, 0), to = Math.min(vy1, height);
    var cuts = (DOWN[i] || []).filter(function (d) { return d[1] >= from && d[0] <= to; });
    var y = from;
    var solid = function (a, b) {
      if (b <= a) return;
      ctx.strokeStyle = l.kind === 'client' ? '#8cc7cf' : C.lane;
      ctx.lineWidth = l.kind === 'client' ? 1.2 : 1.6;
      ctx.setLineDash(l.kind === 'client' ? [3, 4] : []);
      ctx.beginPath(); ctx.moveTo(x, a); ctx.lineTo(x, b); ctx.stroke();
    };
    cuts.forEach(function (d) {
      solid(y, Math.max(d[0], from));
      ctx.strokeStyle = '#ced4da'; ctx.lineWidth = 1.4; ctx.setLineDash([2, 5]);
      ctx.beginPath(); ctx.moveTo(x, Math.max(d[0], from)); ctx.lineTo(x, Math.min(d[1], to)); ctx.stroke();
      y = Math.min(d[1], to);
    });
    solid(y, to);
    ctx.setLineDash([]);
  });
  if (NN < LANES.length) {
    var xs = laneX(NN) - laneW / 2 - clientGap / 2;
    ctx.strokeStyle = '#e5e7eb'; ctx.lineWidth = 1;
    ctx.beginPath(); ctx.moveTo(xs, vy0); ctx.lineTo(xs, vy1); ctx.stroke();
  }
  var vis = itemsIn(vy0, vy1);
  drawn = 0;
  placed = [];
  vis.forEach(function (it) {
    var strong = (hover && hover.n === it.n) || (selected && selected.n === it.n);
    if (it.type === 'overlap') drawOverlap(it, GUTTER, width - 6);
    else if (it.type === 'global') drawGlobal(it, GUTTER, width - 6);
    else if (it.type === 'span') drawSpan(it, strong);
    else if (it.type === 'hold') drawHold(it, strong);
    else if (it.type === 'arrow') { drawArrow(it, strong); drawn++; }
    else if (it.type === 'mark') drawMark(it, strong);
  });
  flushLabels();
  // hovered or selected on top
  [selected, hover].forEach(function (it) {
    if (!it || it.bot < vy0 || it.top > vy1) return;
    if (it.type === 'arrow') drawArrow(it, true);
    else if (it.type === 'mark') { placed = []; drawMark(it, true); flushLabels(); }
  });
  // cursor
  var cy = yOf(cursorT);
  if (cy >= vy0 && cy <= vy1) {
    ctx.strokeStyle = 'rgba(47,107,216,.9)'; ctx.lineWidth = 1.5;
    ctx.beginPath(); ctx.moveTo(GUTTER - 4, cy); ctx.lineTo(width, cy); ctx.stroke();
    ctx.fillStyle = 'rgba(47,107,216,.06)'; ctx.fillRect(GUTTER, cy - 6, width - GUTTER, 6);
  }
  // time gutter, fixed at the left
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = 'rgba(255,255,255,.94)'; ctx.fillRect(0, 0, GUTTER - 6, ch);
  ctx.strokeStyle = '#e5e7eb'; ctx.beginPath(); ctx.moveTo(GUTTER - 6, 0); ctx.lineTo(GUTTER - 6, ch); ctx.stroke();
  var step = niceStep();
  var t0 = tOf(vy0), t1 = tOf(vy1);
  ctx.font = '10.5px system-ui, sans-serif'; ctx.fillStyle = '#6b7280'; ctx.textAlign = 'right';
  var bi = 0;
  for (var t = Math.ceil(t0 / step) * step, guard = 0; t <= t1 && guard < 400; t += step, guard++) {
    var inside = false;
    for (bi = 0; bi < BREAKS.length; bi++) if (t > BREAKS[bi].t0 && t < BREAKS[bi].t1) { inside = true; break; }
    if (inside) continue;
    var y = yOf(t) - sy;
    ctx.fillText(fmtT(Math.round(t * 100) / 100), GUTTER - 12, y + 3.5);
    ctx.fillRect(GUTTER - 9, y, 3, 1);
  }
  if (cy - sy >= -10 && cy - sy <= ch + 10) {
    ctx.fillStyle = '#2f6bd8'; ctx.fillRect(0, cy - sy - 8, GUTTER - 6, 16);
    ctx.fillStyle = '#fff'; ctx.font = '600 10.5px system-ui, sans-serif';
    ctx.fillText(fmtT(cursorT), GUTTER - 10, cy - sy + 4);
  }
  ctx.textAlign = 'left';
  box.setAttribute('data-drawn-arrows', String(drawn));
}

// ------------------------------------------------------------------ hit testing and details
function distSeg(px, py, x0, y0, x1, y1) {
  var dx = x1 - x0, dy = y1 - y0, l2 = dx * dx + dy * dy;
  var u = l2 ? Math.max(0, Math.min(1, ((px - x0) * dx + (py - y0) * dy) / l2)) : 0;
  var qx = x0 + u * dx, qy = y0 + u * dy;
  return Math.hypot(px - qx, py - qy);
}
function hitAt(x, y) {
  var best = null, bd = 1e9;
  itemsIn(y - 12, y + 12).forEach(function (it) {
    var d = 1e9;
    if (it.type === 'arrow') d = distSeg(x, y, it.x0, it.y0, it.x1, it.y1);
    else if (it.type === 'mark') d = Math.hypot(x - it.x, y - it.y) - 3;
    else if (it.type === 'span' || it.type === 'hold') d = (Math.abs(x - it.x - (it.type === 'span' && it.sp.k === 'backoff' ? 8 : 0)) <= 6 && y >= it.y0 && y <= it.y1) ? 4 : 1e9;
    else if (it.type === 'global') d = Math.abs(y - it.y0) <= 4 ? 5 : 1e9;
    if (d < 7 && d <= bd) { bd = d; best = it; }
  });
  return best;
}
var KEY_ORDER = ['t', 'ev', 'node', 'client', 'from', 'to', 'msg', 'op', 'lock', 'holder', 'ballot', 'promised',
                 'accepted', 'phase', 'state', 'describe', 'result', 'status', 'token', 'why', 'what', 'text', 'delay', 'req',
                 'attempt', 'id'];
function fieldsTable(e, skip) {
  var t = h('table', { cls: 'fields' });
  var keys = Object.keys(e).sort(function (x, y) {
    var i = KEY_ORDER.indexOf(x), j = KEY_ORDER.indexOf(y);
    return (i < 0 ? 99 : i) - (j < 0 ? 99 : j) || (x < y ? -1 : x > y ? 1 : 0);
  });
  keys.forEach(function (k) {
    if (skip && skip.indexOf(k) >= 0) return;
    t.appendChild(h('tr', null, [h('td', { text: k }), h('td', { cls: 'mono', text: val(e[k]) })]));
  });
  return t;
}
function laneName(i) { return LANES[i] ? LANES[i].name : '?'; }
function describe(it) {
  var out = [];
  if (!it) return out;
  if (it.type === 'arrow') {
    var a = it.a, e0 = EV[a.e0] || {}, e1 = a.e1 !== undefined ? EV[a.e1] : null;
    if (a.k === 'msg' || a.k === 'dup') {
      var head = (a.k === 'dup' ? 'duplicate of ' : '') + a.msg + ' ' + laneName(a.a) + ' \u2192 ' + laneName(a.b);
      var fate = a.drop ? 'dropped at ' + fmtT(a.t1) + ' (' + a.drop + ')' : (a.lost ? 'never delivered in this trace' : 'received at ' + fmtT(a.t1) + ' (' + fmtT(a.t1 - a.t0) + ' in flight)');
      out.push(h('h4', { text: head }));
      out.push(h('div', { cls: 'muted', text: 'sent at ' + fmtT(a.t0) + ', ' + fate + (a.dup !== undefined && a.k === 'msg' ? '; duplicated by the network' : '') }));
      out.push(fieldsTable(e0, ['ev']));
    } else if (a.k === 'req') {
      out.push(h('h4', { text: (e0.resend_of !== undefined ? 'resend (failover, attempt ' + e0.attempt + ', the same request): ' : 'request: ') + e0.client + ' asks ' + e0.node }));
      out.push(fieldsTable(e0, ['ev']));
    } else {
      out.push(h('h4', { text: (a.late ? 'late answer (ignored: the client had stopped waiting): ' : (e0.ev === 'client_drop' ? 'answer lost: ' : 'answer: ')) + e0.node + ' tells ' + e0.client + ' "' + (e0.status || e0.why) + '"' }));
      out.push(fieldsTable(e0, ['ev']));
      if (e1) out.push(h('div', { cls: 'muted', text: 'asked at ' + fmtT(e1.t) + ': ' + e1.op + ' ' + e1.lock + ' by ' + e1.holder + ' (' + fmtT(e0.t - e1.t) + ')' }));
    }
  } else if (it.type === 'mark') {
    out.push(h('h4', { text: laneName(it.mk.lane) + ' at ' + fmtT(it.mk.t) }));
    it.mk.ev.forEach(function (j) {
      var e = EV[j]; if (!e) return;
      out.push(h('div', { cls: 'mono', text: '\u2022 ' + e.ev }));
      out.push(fieldsTable(e, ['ev', 't', 'node']));
    });
  } else if (it.type === 'span') {
    var sp = it.sp;
    out.push(h('h4', { text: laneName(sp.lane) + ': ' + (sp.label || sp.k) }));
    out.push(h('div', { text: 'from ' + fmtT(sp.t0) + ' to ' + fmtT(sp.t1) + (sp.open ? ' (the end of the trace)' : '') }));
    if (EV[sp.e0]) out.push(fieldsTable(EV[sp.e0], ['ev']));
  } else if (it.type === 'hold') {
    var hd = it.hd;
    out.push(h('h4', { text: hd.holder + ' holds ' + hd.lock + (hd.token !== undefined ? ', token ' + hd.token : '') }));
    out.push(h('div', { text: 'from ' + fmtT(hd.from) + ' (granted) to ' + fmtT(hd.to) + (hd.open ? ' (never released in this trace)' : ' (asks to release)') }));
  } else if (it.type === 'global') {
    out.push(h('h4', { text: 'fault: ' + it.g.text }));
    out.push(h('div', { text: 'at ' + fmtT(it.g.t0) + (it.g.t1 !== undefined && it.g.k !== 'heal' && it.g.k !== 'note' ? ' until ' + fmtT(it.g.t1) : '') }));
  } else if (it.type === 'overlap') {
    out.push(h('h4', { text: 'two holders at once' }));
    out.push(h('div', { text: it.o.text }));
  }
  return out;
}
var tip = $('#tooltip');
function showTip(it, cx, cy) {
  if (!it) { tip.style.display = 'none'; return; }
  tip.textContent = '';
  describe(it).forEach(function (n) { tip.appendChild(n); });
  tip.style.display = 'block';
  var w = tip.offsetWidth, hh = tip.offsetHeight;
  var x = cx + 16, y = cy + 14;
  if (x + w > window.innerWidth - 8) x = cx - w - 12;
  if (y + hh > window.innerHeight - 8) y = Math.max(8, window.innerHeight - hh - 8);
  tip.style.left = x + 'px'; tip.style.top = y + 'px';
}
function select(it) {
  selected = it;
  var d = $('#details');
  d.textContent = '';
  if (!it) { d.appendChild(h('p', { cls: 'muted', text: 'Nothing selected.' })); redraw(); return; }
  describe(it).forEach(function (n) { d.appendChild(n); });
  var t = it.type === 'arrow' ? it.a.t1 : it.type === 'mark' ? it.mk.t : it.type === 'span' ? it.sp.t0 :
          it.type === 'hold' ? it.hd.from : it.type === 'global' ? it.g.t0 : it.o.from;
  setTimeAt(t, false);
}
function bodyPoint(ev) {
  var box = $('#diagram'), r = canvas.getBoundingClientRect();
  return { x: ev.clientX - r.left + box.scrollLeft, y: ev.clientY - r.top + box.scrollTop };
}
canvas.addEventListener('mousemove', function (ev) {
  var p = bodyPoint(ev), it = hitAt(p.x, p.y);
  if ((it && it.n) !== (hover && hover.n)) { hover = it; redraw(); }
  canvas.style.cursor = it ? 'pointer' : 'crosshair';
  showTip(it, ev.clientX, ev.clientY);
});
canvas.addEventListener('mouseleave', function () { hover = null; showTip(null); redraw(); });
canvas.addEventListener('click', function (ev) {
  var p = bodyPoint(ev), it = hitAt(p.x, p.y);
  if (it) select(it); else { select(null); setTimeAt(tOf(p.y), false); }
});
$('#diagram').addEventListener('scroll', function () { showTip(null); redraw(); }, { passive: true });

// ------------------------------------------------------------------ acceptors' state over time
// What each event does to an acceptor's state, replayed up to the selected moment.
var NODES = LANES.filter(function (l) { return l.kind === 'node'; }).map(function (l) { return l.name; });
var stateNow = null, stateUpTo = -1, statePrev = null;
function freshState() { return { acc: {}, up: {}, paused: {}, lost: {} }; }
function cellOf(st, node, lock) {
  var k = node + '\u0000' + lock, c = st.acc[k];
  if (!c) { c = st.acc[k] = { p: null, a: null, v: null, d: null, has: false }; }
  return c;
}
// an acceptor's value for people: the lock script's description when the trace has one
// (DESCRIBED, from the decided lines), else the state itself
function valueText(c) {
  return c.a && c.a !== '0.0' ? (c.d !== null && c.d !== undefined ? c.d : stateText(c.v)) : '\u2014';
}
function apply(st, e, i) {
  var c;
  switch (e.ev) {
    case 'persist':
      if (e.lock === '') break; /* the node record (PROTOCOL.md 9.4), not a lock */
      c = cellOf(st, e.node, e.lock); c.p = e.promised; c.a = e.accepted; break;
    case 'promised':
      c = cellOf(st, e.node, e.lock); c.p = e.ballot; break;
    case 'accepted':
      c = cellOf(st, e.node, e.lock); c.a = e.ballot; c.v = e.state === undefined ? null : e.state;
      c.d = DESCRIBED[String(i)] === undefined ? null : DESCRIBED[String(i)]; c.has = true; break;
    case 'fault':
      if (e.node === '*' || e.node === undefined) break;
      var w = String(e.what);
      if (w === 'crash') st.up[e.node] = false;
      else if (/^restart/.test(w)) {
        st.up[e.node] = true;
        if (/lost/.test(w)) {
          st.lost[e.node] = true;
          Object.keys(st.acc).forEach(function (k) {
            if (k.split('\u0000')[0] === e.node) st.acc[k] = { p: null, a: null, v: null, d: null, has: false };
          });
        }
      } else if (w === 'pause') st.paused[e.node] = true;
      else if (w === 'resume') st.paused[e.node] = false;
      break;
  }
}
function cloneState(st) {
  var o = freshState();
  for (var k in st.acc) o.acc[k] = Object.assign({}, st.acc[k]);
  Object.assign(o.up, st.up); Object.assign(o.paused, st.paused); Object.assign(o.lost, st.lost);
  return o;
}
function stateAt(idx) {
  if (!stateNow || idx < stateUpTo) { stateNow = freshState(); stateUpTo = -1; }
  for (var i = stateUpTo + 1; i <= idx; i++) apply(stateNow, EV[i], i);
  stateUpTo = idx;
  return stateNow;
}
function lastDecision(lock, idx) {
  var best = null;
  for (var i = 0; i < DECISIONS.length; i++) {
    var d = DECISIONS[i];
    if (d.e > idx) break;
    if (String(d.lock) === lock) best = d;
  }
  return best;
}
function ballotCell(b) { return (b === null || b === undefined || b === '0.0') ? '\u2014' : String(b); }
function renderState(idx) {
  var st = stateAt(idx);
  var box = $('#state-tables');
  var prevSnap = statePrev;
  box.textContent = '';
  var locks = lockFilter ? [lockFilter] : LOCKS;
  if (!locks.length) box.appendChild(h('p', { cls: 'muted', text: 'No lock is mentioned in this trace.' }));
  var majority = Math.floor(NODES.length / 2) + 1;
  locks.forEach(function (lock) {
    var d = lastDecision(lock, idx);
    var sec = h('div', { cls: 'lockstate', 'data-lock': lock });
    sec.appendChild(h('h3', { text: 'lock ' + lock }));
    var q = new Set(d ? arr(d.quorum) : []);
    if (d) {
      var n = arr(d.quorum).length;
      var txt = 'last decision: ' + d.ballot + ' by ' + d.node + ' at ' + fmtT(d.t) + ': ' + (d.result || '') +
        ' \u2192 ' + d.value + '. Accepted by ' + (n ? arr(d.quorum).join(', ') : 'nobody it heard from') +
        ' (' + n + ' of ' + NODES.length + (n >= majority ? ', a majority)' : ': NOT a majority)');
      sec.appendChild(h('p', { cls: 'dec' + (n >= majority ? '' : ' warn'), text: txt }));
    } else {
      sec.appendChild(h('p', { cls: 'dec muted', text: 'no decision yet' }));
    }
    var tb = h('table', { cls: 'state' });
    tb.appendChild(h('tr', null, [h('th', { text: 'instance' }), h('th', { text: 'promised' }), h('th', { text: 'accepted' }),
      h('th', { text: 'value' }), h('th', { text: '' })]));
    NODES.forEach(function (node) {
      var c = st.acc[node + '\u0000' + lock] || { p: null, a: null, v: null };
      var pc = prevSnap && prevSnap.acc[node + '\u0000' + lock];
      var down = st.up[node] === false, paused = !!st.paused[node];
      var cls = (q.has(node) ? 'quorum ' : '') + (down ? 'down ' : '') + (paused ? 'paused' : '');
      var tr = h('tr', { cls: cls.trim(), 'data-node': node });
      var vtext = valueText(c);
      var cells = [
        ['', node + (d && d.node === node ? ' \u2605' : '') + (down ? ' (down)' : paused ? ' (paused)' : '') + (st.lost[node] ? ' \u21BA' : '')],
        ['p', ballotCell(c.p)], ['a', ballotCell(c.a)], ['v', vtext]];
      cells.forEach(function (x) {
        var td = h('td', { cls: x[0], text: x[1] });
        if (x[0] === 'v' && c.a && c.a !== '0.0') td.title = 'state: ' + stateText(c.v);
        if (prevSnap && x[0]) {
          var before = pc ? (x[0] === 'p' ? ballotCell(pc.p) : x[0] === 'a' ? ballotCell(pc.a) : valueText(pc)) : '\u2014';
          if (before !== x[1]) td.classList.add('changed');
        }
        tr.appendChild(td);
      });
      var note = h('td');
      if (q.has(node)) note.appendChild(h('span', { cls: 'q', text: '\u2713 quorum' }));
      tr.appendChild(note);
      tb.appendChild(tr);
    });
    sec.appendChild(tb);
    var notes = [];
    if (d) notes.push('\u2605 proposer of the last decision; green: the acceptors whose accept it counted');
    if (NODES.some(function (n) { return st.lost[n]; })) notes.push('\u21BA restarted with its state lost');
    if (notes.length) sec.appendChild(h('p', { cls: 'foot muted', text: notes.join('. ') + '.' }));
    box.appendChild(sec);
  });
  statePrev = cloneState(st);
}

// ------------------------------------------------------------------ the scrubber
var slider = $('#scrubber');
slider.max = String(TIMES.length - 1);
var timeIdx = TIMES.length - 1;
function setTimeIdx(k, scroll) {
  k = Math.max(0, Math.min(TIMES.length - 1, k | 0));
  var changed = k !== timeIdx;
  timeIdx = k;
  cursorT = TIMES[k];
  slider.value = String(k);
  var idx = LAST_AT[k];
  $('#clock').textContent = '';
  $('#clock').appendChild(document.createTextNode('t = ' + fmtT(cursorT) + ' '));
  $('#clock').appendChild(h('span', { cls: 'muted', text: '(moment ' + (k + 1) + ' of ' + TIMES.length + ', events 1\u2013' + (idx + 1) + ' of ' + EV.length + ')' }));
  if (!changed) statePrev = null;
  renderState(idx);
  updateTimelineCursor();
  updateLaneHeads(idx);
  if (scroll) scrollToCursor();
  redraw();
}
function setTimeAt(t, scroll) {
  var lo = 0, hi = TIMES.length - 1;
  while (lo < hi) { var mid = (lo + hi + 1) >> 1; if (TIMES[mid] <= t) lo = mid; else hi = mid - 1; }
  setTimeIdx(lo, scroll);
}
function updateLaneHeads(idx) {
  var st = stateAt(idx);
  document.querySelectorAll('.lane-head.node').forEach(function (d) {
    d.classList.toggle('down', st.up[d.textContent] === false);
  });
}
function scrollToCursor() {
  var box = $('#diagram'), y = yOf(cursorT);
  var top = box.scrollTop, vis = box.clientHeight - HEAD;
  if (y < top + 30 || y > top + vis - 30) box.scrollTop = Math.max(0, y - vis / 3);
}
slider.addEventListener('input', function () { stop(); setTimeIdx(+slider.value, true); });
var playing = false, lastStep = 0, raf = 0;
function speed() { return +$('#speed').value || 5; }
function tick(now) {
  if (!playing) return;
  if (now - lastStep >= 1000 / speed()) {
    lastStep = now;
    if (timeIdx >= TIMES.length - 1) { stop(); return; }
    setTimeIdx(timeIdx + 1, true);
  }
  raf = requestAnimationFrame(tick);
}
function play() {
  if (timeIdx >= TIMES.length - 1) setTimeIdx(0, true);
  playing = true; $('#play').textContent = '\u275A\u275A pause'; lastStep = 0;
  raf = requestAnimationFrame(tick);
}
function stop() { playing = false; cancelAnimationFrame(raf); $('#play').textContent = '\u25B6 play'; }
$('#play').addEventListener('click', function () { if (playing) stop(); else play(); });
$('#first').addEventListener('click', function () { stop(); setTimeIdx(0, true); });
$('#last').addEventListener('click', function () { stop(); setTimeIdx(TIMES.length - 1, true); });
$('#prev').addEventListener('click', function () { stop(); setTimeIdx(timeIdx - 1, true); });
$('#next').addEventListener('click', function () { stop(); setTimeIdx(timeIdx + 1, true); });
document.addEventListener('keydown', function (ev) {
  var tg = ev.target && ev.target.tagName;
  if (tg === 'INPUT' || tg === 'SELECT' || tg === 'TEXTAREA' || tg === 'BUTTON') return;
  if (ev.key === ' ') { ev.preventDefault(); if (playing) stop(); else play(); }
  else if (ev.key === 'ArrowRight') { ev.preventDefault(); stop(); setTimeIdx(timeIdx + 1, true); }
  else if (ev.key === 'ArrowLeft') { ev.preventDefault(); stop(); setTimeIdx(timeIdx - 1, true); }
  else if (ev.key === 'Home') { stop(); setTimeIdx(0, true); }
  else if (ev.key === 'End') { stop(); setTimeIdx(TIMES.length - 1, true); }
});

// ------------------------------------------------------------------ holder timeline
var tlCursor = null, tlX = null;
function buildTimeline() {
  var box = $('#holder-timeline');
  box.textContent = '';
  var W = Math.max(box.clientWidth, 400), left = 120, right = 14, rowH = 22;
  var t0 = M.tmin || 0, t1 = Math.max(M.tmax || 0, t0 + 1);
  // idle stretches longer than a fortieth of the run are squeezed (if the diagram squeezes)
  var G = Math.max(20, (t1 - t0) / 40), TT = [t0], SS = [0], gaps = [];
  TIMES.forEach(function (t) {
    if (t <= TT[TT.length - 1]) return;
    var dt = t - TT[TT.length - 1], prev = SS[SS.length - 1];
    if (compress && dt > G) { gaps.push([TT[TT.length - 1], t]); SS.push(prev + G / 2); } else SS.push(prev + dt);
    TT.push(t);
  });
  if (TT[TT.length - 1] < t1) { SS.push(SS[SS.length - 1] + t1 - TT[TT.length - 1]); TT.push(t1); }
  var total = Math.max(SS[SS.length - 1], 1e-9), pxPerUnit = (W - left - right) / total;
  tlX = function (t) {
    var n = TT.length;
    if (t <= TT[0]) return left + (t - TT[0]) * pxPerUnit;
    if (t >= TT[n - 1]) return left + (SS[n - 1] + t - TT[n - 1]) * pxPerUnit;
    var lo = 0, hi = n - 1;
    while (hi - lo > 1) { var mid = (lo + hi) >> 1; if (TT[mid] <= t) lo = mid; else hi = mid; }
    return left + (SS[lo] + (t - TT[lo]) / (TT[hi] - TT[lo]) * (SS[hi] - SS[lo])) * pxPerUnit;
  };
  var tlT = function (x) {
    var u = (x - left) / pxPerUnit, n = SS.length;
    if (u <= 0) return TT[0];
    if (u >= SS[n - 1]) return TT[n - 1];
    var lo = 0, hi = n - 1;
    while (hi - lo > 1) { var mid = (lo + hi) >> 1; if (SS[mid] <= u) lo = mid; else hi = mid; }
    return TT[lo] + (u - SS[lo]) / Math.max(SS[hi] - SS[lo], 1e-9) * (TT[hi] - TT[lo]);
  };
  var locks = LOCKS.filter(function (l) { return HOLDS.some(function (x) { return String(x.lock) === l; }) ||
                                                OVERLAPS.some(function (o) { return String(o.lock) === l; }); });
  var rows = [];
  locks.forEach(function (l) {
    var who = [];
    HOLDS.forEach(function (x) { if (String(x.lock) === l && who.indexOf(String(x.holder)) < 0) who.push(String(x.holder)); });
    rows.push({ lock: l, head: true });
    who.forEach(function (w) { rows.push({ lock: l, holder: w }); });
  });
  var H = Math.max(rows.length, 1) * rowH + 26;
  var svg = s('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, 'data-holds': String(HOLDS.length),
                       'data-overlaps': String(OVERLAPS.length) });
  var defs = s('defs', {}), pat = s('pattern', { id: 'tl-hatch', width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' });
  pat.appendChild(s('rect', { width: 6, height: 6, fill: '#f3f4f6' }));
  pat.appendChild(s('line', { x1: 0, y1: 0, x2: 0, y2: 6, stroke: '#dde1e6', 'stroke-width': 2 }));
  defs.appendChild(pat); svg.insertBefore(defs, svg.firstChild);
  if (!rows.length) {
    var tx = s('text', { x: 8, y: 18, fill: '#6b7280', 'font-size': 12 });
    tx.textContent = 'Nobody was granted a lock in this run.';
    svg.appendChild(tx);
  }
  var rowY = {};
  rows.forEach(function (r, i) {
    var y = 4 + i * rowH;
    if (r.head) rowY[r.lock] = { y0: y };
    else rowY[r.lock + '\u0000' + r.holder] = y;
    rowY[r.lock].y1 = y + rowH;
    if (!r.head) {
      svg.appendChild(s('rect', { x: left, y: y + 2, width: W - left - right, height: rowH - 4, fill: i % 2 ? '#fafbfc' : '#f5f6f8' }));
    }
    var lab = s('text', { x: r.head ? 8 : 20, y: y + rowH / 2 + 4, 'font-size': r.head ? 12 : 11.5,
                          'font-weight': r.head ? 700 : 500, fill: r.head ? '#1f2328' : holderColor(r.holder) });
    lab.textContent = r.head ? 'lock ' + r.lock : r.holder;
    svg.appendChild(lab);
  });
  // squeezed idle stretches
  gaps.forEach(function (g) {
    var x0 = tlX(g[0]) + 2, x1 = tlX(g[1]) - 2;
    if (x1 - x0 < 2) return;
    var r = s('rect', { x: x0, y: 2, width: x1 - x0, height: H - 22, fill: 'url(#tl-hatch)' });
    var tt = s('title', {}); tt.textContent = fmtT(g[1] - g[0]) + ' with nothing happening (squeezed)';
    r.appendChild(tt); svg.appendChild(r);
  });
  // overlaps under the bars, spanning the lock's rows
  OVERLAPS.forEach(function (o, i) {
    var ry = rowY[String(o.lock)]; if (!ry) return;
    var x0 = tlX(o.from), x1 = Math.max(tlX(o.to), x0 + 4);
    var r = s('rect', { 'class': 'overlap', x: x0, y: ry.y0, width: x1 - x0, height: ry.y1 - ry.y0, fill: 'rgba(224,49,49,.18)',
                        stroke: C.overlap, 'stroke-width': 1.5, 'data-i': String(i) });
    var tt = s('title', {}); tt.textContent = o.text; r.appendChild(tt);
    svg.appendChild(r);
    var lt = s('text', { x: x0 + 4, y: ry.y0 + 14, fill: C.overlap, 'font-size': 11, 'font-weight': 700 });
    lt.textContent = 'two holders';
    svg.appendChild(lt);
  });
  HOLDS.forEach(function (hd, i) {
    var y = rowY[String(hd.lock) + '\u0000' + String(hd.holder)]; if (y === undefined) return;
    var x0 = tlX(hd.from), x1 = Math.max(tlX(hd.to), x0 + 2), col = holderColor(hd.holder);
    if (hd.release_end !== undefined && hd.release_end > hd.to) {
      svg.appendChild(s('rect', { x: x1, y: y + 6, width: Math.max(tlX(hd.release_end) - x1, 1), height: rowH - 12, fill: col, opacity: 0.25 }));
    }
    var g = s('g', { 'class': 'hold', 'data-i': String(i) });
    g.appendChild(s('rect', { x: x0, y: y + 4, width: x1 - x0, height: rowH - 8, rx: 3, fill: col, opacity: 0.85 }));
    if (hd.open) g.appendChild(s('path', { d: 'M' + x1 + ' ' + (y + 4) + ' l6 ' + (rowH / 2 - 4) + ' l-6 ' + (rowH / 2 - 4) + 'z', fill: col, opacity: 0.85 }));
    var label = hd.token !== undefined ? '#' + hd.token : '';
    if (label && x1 - x0 > label.length * 6.5 + 6) {
      var tx2 = s('text', { x: x0 + 4, y: y + rowH / 2 + 4, fill: '#fff', 'font-size': 11, 'font-weight': 600 });
      tx2.textContent = label; g.appendChild(tx2);
    }
    var tt = s('title', {});
    tt.textContent = hd.holder + ' holds ' + hd.lock + (hd.token !== undefined ? ' with token ' + hd.token : '') +
      ' from ' + fmtT(hd.from) + ' to ' + fmtT(hd.to) + (hd.open ? ' (never released)' : '');
    g.appendChild(tt);
    g.addEventListener('click', function () { stop(); setTimeAt(hd.from, true); });
    svg.appendChild(g);
  });
  // axis
  var ay = H - 18;
  svg.appendChild(s('line', { x1: left, x2: W - right, y1: ay, y2: ay, stroke: '#d0d5db' }));
  var steps = [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 1e5, 2e5, 5e5, 1e6], st = 1e7;
  for (var k = 0; k < steps.length; k++) if (steps[k] * pxPerUnit >= 70) { st = steps[k]; break; }
  var lastX = -1e9, ticks = [t0];
  for (var t = Math.ceil(t0 / st) * st, guard = 0; t <= t1 && guard < 4000; t += st, guard++) ticks.push(t);
  gaps.forEach(function (g) { ticks.push(g[1]); });
  ticks.sort(function (a, b) { return a - b; });
  ticks.forEach(function (t) {
    for (var gi = 0; gi < gaps.length; gi++) if (t > gaps[gi][0] && t < gaps[gi][1]) return;
    var x = tlX(t);
    if (x - lastX < 64 || x > W - right + 1) return;
    lastX = x;
    svg.appendChild(s('line', { x1: x, x2: x, y1: ay, y2: ay + 4, stroke: '#adb5bd' }));
    var lt2 = s('text', { x: x, y: ay + 15, 'font-size': 10.5, fill: '#6b7280', 'text-anchor': 'middle' });
    lt2.textContent = fmtT(Math.round(t * 100) / 100); svg.appendChild(lt2);
  });
  tlCursor = s('line', { x1: 0, x2: 0, y1: 0, y2: ay, stroke: '#2f6bd8', 'stroke-width': 1.5 });
  svg.appendChild(tlCursor);
  svg.addEventListener('click', function (ev) {
    if (ev.target.closest && ev.target.closest('.hold')) return;
    var r = svg.getBoundingClientRect();
    var x = ev.clientX - r.left;
    if (x < left) return;
    stop(); setTimeAt(tlT(x), true);
  });
  box.appendChild(svg);
  updateTimelineCursor();
}
function updateTimelineCursor() {
  if (!tlCursor || !tlX) return;
  var x = tlX(cursorT);
  tlCursor.setAttribute('x1', x); tlCursor.setAttribute('x2', x);
}

// ------------------------------------------------------------------ controls and start
function zoomTo(ns) {
  var box = $('#diagram');
  var anchorT = tOf(box.scrollTop + (box.clientHeight - HEAD) / 2);
  scale = Math.max(0.05, Math.min(60, ns));
  geometry();
  box.scrollTop = Math.max(0, yOf(anchorT) - (box.clientHeight - HEAD) / 2);
  redraw();
}
$('#zoom-in').addEventListener('click', function () { zoomTo(scale * 1.6); });
$('#zoom-out').addEventListener('click', function () { zoomTo(scale / 1.6); });
$('#compress').addEventListener('change', function (ev) { compress = ev.target.checked; zoomTo(scale); buildTimeline(); });
var lf = $('#lock-filter');
LOCKS.forEach(function (l) { lf.appendChild(h('option', { value: l, text: l })); });
lf.addEventListener('change', function () { lockFilter = lf.value; statePrev = null; renderState(LAST_AT[timeIdx]); redraw(); });
var copyBtn = $('#copy-command');
if (copyBtn) copyBtn.addEventListener('click', function () {
  var text = $('#command').textContent;
  var done = function () { copyBtn.textContent = 'copied'; setTimeout(function () { copyBtn.textContent = 'copy'; }, 1200); };
  if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(text).then(done, function () {
    var r = document.createRange(); r.selectNodeContents($('#command')); var sel = getSelection(); sel.removeAllRanges(); sel.addRange(r);
  });
});
var resizeTimer = 0;
window.addEventListener('resize', function () {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(function () { sizeCanvas(); geometry(); buildTimeline(); redraw(); }, 80);
});

var started = performance.now();
// the default zoom: the busiest millisecond still readable, a long run still a few screens long
(function () {
  var per = {}, most = 1;
  ARROWS.forEach(function (a) { per[a.t0] = (per[a.t0] || 0) + 1; });
  for (var k in per) if (per[k] > most) most = per[k];
  scale = 10;
  var active = 0;
  for (var i = 1; i < TIMES.length; i++) active += Math.min(TIMES[i] - TIMES[i - 1], GAP_MS);
  var room = Math.max($('#diagram').clientHeight - HEAD - 2 * PAD - 40, 200);
  if (active > 0 && active * scale < room) scale = Math.min(28, room / active);
  if (active * scale > 60000) scale = Math.max(1, 60000 / active);
})();
sizeCanvas();
geometry();
buildTimeline();
var hash = /[#&]t=([0-9.]+)/.exec(location.hash);
if (hash) setTimeAt(parseFloat(hash[1]), true); else setTimeIdx(TIMES.length - 1, false);
statePrev = null; renderState(LAST_AT[timeIdx]);
draw();
var api = {
  lanes: LANES.length, instances: NN, clients: LANES.length - NN,
  arrows: { msg: M.counts.msg, dup: M.counts.dup, req: M.counts.req, ans: M.counts.ans, total: ARROWS.length },
  moments: TIMES.length, events: EV.length,
  setTimeIndex: function (k) { setTimeIdx(k, true); },
  timeIndex: function () { return timeIdx; },
  // the n-th arrow (0-based) of a kind ("msg", "dup", "req", "ans"), in diagram coordinates
  arrowAt: function (kind, n) {
    var it = ITEMS.filter(function (x) { return x.type === 'arrow' && x.a.k === kind; })[n || 0];
    return it ? { x0: it.x0, y0: it.y0, x1: it.x1, y1: it.y1, msg: it.a.msg } : null;
  },
  drawStats: function () { return { frames: drawFrames, ms: drawTotal, maxMs: drawMax }; },
  yOf: yOf, laneX: laneX, height: function () { return height; },
  // how many arrows of each kind have been drawn on the canvas since the page opened
  drawnCounts: function () {
    var c = { msg: 0, dup: 0, req: 0, ans: 0 };
    for (var i = 0; i < ARROWS.length; i++) if (everDrawn[i]) c[ARROWS[i].k] = (c[ARROWS[i].k] || 0) + 1;
    return c;
  },
  startupMs: 0
};
api.startupMs = performance.now() - started;
window.skinnyPage = api;
document.documentElement.setAttribute('data-ready', '1');
})();
]==]

return M
