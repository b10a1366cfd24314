-- skinny.real: the lab API (scripts/skinny/init.lua, spec/LAB.md) against
-- real skinnyd processes on this machine, so the same experiment script runs
-- simulated or real:
--
--   local lab = require("skinny.real").lab{ nodes = 5, client_timeout = 3000 }
--   local beaver = lab:client("beaver", { node = "catbus" })
--   local op = beaver:acquire("printer")
--   lab:run_until(function() return op.done end, 5000)
--   lab:close()   -- always: stops the daemons (skinny-lab down)
--
-- The cluster is started by build/skinny-lab in a fresh run directory. Time
-- is wall-clock milliseconds since the cluster answered (a monotonic clock).
-- Clients send CLIENT_REQ frames over their own connection to each instance
-- (bindings/lua_real.c: non-blocking sockets and poll). Crash, restart,
-- partition, heal and slow go through skinny-lab; block and reload through
-- the daemon's CONTROL message (reload to other scripts restarts the
-- instance, see Lab:reload). Faults that need virtual time (skew, pause,
-- resume, loss, duplicate, reorder, latency distributions) or the
-- simulator's client links (client_link, slow_client, cut_client,
-- client_loss), and a blank restart that votes at once (rejoin = false),
-- raise "lab:NAME is simulated-only: run this experiment without --real".
-- identity = false switches request identity off in the daemons' proposer.
--
-- The trace is what the lab saw (the run header, invoke, complete, late and
-- fault events, in the simulator's format: a failing-over op is one invoke
-- per send, the resends carrying attempt and resend_of, and one complete per
-- attempt) merged with the daemons' own traces
-- (attempts, decisions, messages; their invoke/complete/fault events are
-- left out: the lab's are the client's view). The checkers read the
-- history back from that trace.
local skinny = require "skinny"
local check = require "skinny.check"
local history = require "skinny.history"
local failover = require "skinny.failover"
local report = require "skinny.report"

local M = {}

-- The C half lives in core.so beside skinny.core.
local function load_c()
  local so, err = package.searchpath("skinny.core", package.cpath)
  if not so then error("skinny.real: cannot find skinny/core.so (run `make`): " .. err, 0) end
  local open, lerr = package.loadlib(so, "luaopen_skinny_real")
  if not open then
    error("skinny.real: " .. so .. " has no real-daemon backend (rebuild with `make`): "
          .. tostring(lerr), 0)
  end
  return open(), so
end
local C, CORE_SO = load_c()
M.C = C

local DEFAULTS = {
  seed = 1, nodes = 5, proposer = "paxos", backoff = "exponential_jitter",
  lock = "advisory", phase_timeout = 500, client_timeout = 5000, client_latency = 1,
  builtin = false, trace = true,
}

local SIM_ONLY = "lab:%s is simulated-only: run this experiment without --real"

local function sh_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function dirname(p) return p:match("^(.*)/[^/]*$") or "." end

local function exists(p)
  local f = io.open(p, "r")
  if f then f:close(); return true end
  return false
end

-- build/skinny-lab: beside the core.so we loaded (build/skinny/core.so).
local function find_skinny_lab()
  local cands = { dirname(dirname(CORE_SO)) .. "/skinny-lab" }
  if skinny.root then cands[#cands + 1] = skinny.root .. "/build/skinny-lab" end
  cands[#cands + 1] = "build/skinny-lab"
  for _, p in ipairs(cands) do if exists(p) then return p end end
  error("skinny.real: " .. cands[1] .. " is missing: run `make` first", 0)
end

local function abspath(p)
  if p:sub(1, 1) == "/" then return p end
  local cwd = os.getenv("PWD")
  if not cwd then
    local h = io.popen("pwd")
    cwd = h:read("l")
    h:close()
  end
  return cwd .. "/" .. p
end

-- A script option for skinny-lab or a config: names stay names, paths
-- become absolute (the daemons do not run in our directory).
local function script_arg(v)
  v = tostring(v)
  if v:find("/", 1, true) then return abspath(v) end
  return v
end

local Lab = {}
Lab.__index = Lab
local Client = {}
Client.__index = Client

-- identity = false: the daemons run the proposer with the classic flag
-- no_identity (every copy of a request applied as new: UNSAFE on purpose, as
-- the simulator's identity = false), through a wrapper the lab writes in its
-- run directory. The wrapper requires the proposer by name, so the proposer
-- must be a script in scripts/proposers/, not a path or the C default.
local function no_identity_wrapper(dir, name)
  if not tostring(name):match("^[%w_%-]+$") then
    error(("identity = false on real daemons needs a proposer by name (a script in "
           .. "scripts/proposers/), not '%s'"):format(tostring(name)), 0)
  end
  local path = ("%s/no_identity_%s.lua"):format(dir, name)
  local f = assert(io.open(path, "w"))
  f:write(([[
-- Written by skinny.real for the lab option identity = false: the proposer
-- %s with request identity off (classic flag no_identity): every copy of a
-- request is applied as new. UNSAFE on purpose.
local base = require "proposers.%s"
local M = {}
for k, v in pairs(base) do M[k] = v end
local classic = {}
for k, v in pairs(base.classic or {}) do classic[k] = v end
classic.no_identity = true
M.classic = classic
return M
]]):format(name, name))
  f:close()
  return path
end

-- The proposer option as the daemons' configs take it.
function Lab:_proposer_arg(v)
  if self.opts.identity == false then return no_identity_wrapper(self.dir, v) end
  return script_arg(v)
end

-- Run build/skinny-lab with args; returns ok, output.
function Lab:_skl(...)
  local words = { sh_quote(self.bin) }
  for _, a in ipairs{ ... } do words[#words + 1] = sh_quote(a) end
  words[#words + 1] = "--dir"
  words[#words + 1] = sh_quote(self.dir)
  local h = io.popen(table.concat(words, " ") .. " 2>&1", "r")
  local out = h:read("a")
  local ok = h:close()
  return ok, (out:gsub("%s+$", ""))
end

local function read_members(dir)
  local names, addr = {}, {}
  local f = io.open(dir .. "/members", "r")
  if not f then return nil end
  for line in f:lines() do
    local name, a = line:match("^(%S+)%s+(%S+)")
    if name then names[#names + 1] = name; addr[name] = a end
  end
  f:close()
  return names, addr
end

--- real.lab(opts) -> a lab on real daemons (the simulator's options; see
-- spec/LAB.md). Extra: keep_dir (keep the run directory after close; also
-- $SKINNY_REAL_KEEP=1), daemon_trace (default true: the daemons write
-- traces, merged into lab:trace()), fsync (default true), fast_reconnect
-- (default true: peers redial within RECONNECT_MAX_MS, see below); for long
-- runs: dir (the run directory to use, created; default a fresh one under
-- $TMPDIR), stream (a file the lab's own events are written to as they
-- happen instead of being kept in memory; the daemons' traces are then not
-- merged in), keep_ops = false (lab.ops does not keep the ops: answered ones
-- are forgotten; the history is read back from the stream).
function M.lab(opts)
  opts = opts or {}
  for k, v in pairs(DEFAULTS) do if opts[k] == nil then opts[k] = v end end
  if type(opts.nodes) ~= "number" or math.type(opts.nodes) ~= "integer"
      or opts.nodes < 1 or opts.nodes > 16 then
    error("nodes: the real lab takes a count from 1 to 16 (skinny-lab names the instances "
          .. "catbus, kanta, mei, ...); a list of names is simulated-only: run this experiment "
          .. "without --real", 2)
  end
  local self = setmetatable({
    opts = opts, ops = {}, by_req = {}, clients = {}, timers = {}, next_cookie = 0,
    classic = (opts.proposer == "classic"), faults = {}, real = true, unsafe = {},
    events = {}, conns = {}, conn_list = {}, conn_key = {}, down = {}, slows = {},
    next_req = 0, notes = {}, pending = {}, keep_ops = opts.keep_ops ~= false, late = {},
    resends = 0, abandoned = {}, blank = {},
  }, Lab)
  if opts.identity == false and opts.builtin then
    error("identity = false on real daemons needs a proposer script: the C defaults "
          .. "(--builtin) always keep request identity", 2)
  elseif opts.identity == false and not tostring(opts.proposer):match("^[%w_%-]+$") then
    error(("identity = false on real daemons needs a proposer by name (a script in "
           .. "scripts/proposers/), not '%s'"):format(tostring(opts.proposer)), 2)
  end
  self.bin = find_skinny_lab()
  if self.classic then self.unsafe[#self.unsafe + 1] = report.CLASSIC end
  if opts.identity == false then self.unsafe[#self.unsafe + 1] = report.NO_IDENTITY end
  local base = os.getenv("TMPDIR")
  if not base or base == "" then base = "/tmp" end
  local dir, derr
  if opts.dir then
    dir = abspath(opts.dir)
    if not os.execute("mkdir -p " .. sh_quote(dir)) then derr = "cannot create " .. dir end
  else
    dir, derr = C.mkdtemp(base .. "/skinny-real.XXXXXX")
  end
  if not dir then error(derr, 2) end
  self.dir = dir
  self.keep = opts.keep_dir or os.getenv("SKINNY_REAL_KEEP") == "1"
  C.guard(self.bin, dir, self.keep)
  local args = { "up", "--size", tostring(opts.nodes),
                 "--phase-timeout", tostring(math.tointeger(opts.phase_timeout) or 500) }
  if opts.builtin then
    args[#args + 1] = "--c-defaults"
  else
    for _, k in ipairs{ "proposer", "backoff", "lock" } do
      args[#args + 1] = "--" .. k
      args[#args + 1] = k == "proposer" and self:_proposer_arg(opts[k]) or script_arg(opts[k])
    end
  end
  -- the lab's lock params go into every config (skinny-lab up --lock-param); one that
  -- reads back otherwise (a string of digits) is rewritten below, with per_node ones
  local pkeys = {}
  for k in pairs(opts.lock_params or {}) do pkeys[#pkeys + 1] = k end
  table.sort(pkeys)
  for _, k in ipairs(pkeys) do
    args[#args + 1] = "--lock-param"
    args[#args + 1] = ("%s=%s"):format(k, tostring(opts.lock_params[k]))
  end
  if opts.daemon_trace ~= false then args[#args + 1] = "--trace" end
  if opts.fsync == false then args[#args + 1] = "--no-fsync" end
  local ok, out = self:_skl(table.unpack(args))
  if not ok then
    self:_skl("down")
    C.unguard(dir)
    error(("the real lab did not start (logs kept in %s):\n%s"):format(dir, out), 2)
  end
  self.names, self.addr = read_members(dir)
  if not self.names then
    self:close()
    error("the real lab started but " .. dir .. "/members is missing", 2)
  end
  -- per-instance scripts and lock params: rewrite those configs and reload them (an
  -- instance whose config already says what it should is left as it is)
  local renew = {}
  for name, s in pairs(opts.per_node or {}) do renew[name] = s end
  if opts.lock_params and next(opts.lock_params) then
    for _, name in ipairs(self.names) do renew[name] = renew[name] or {} end
  end
  if next(renew) then
    for name, s in pairs(renew) do
      local rok, done, why = pcall(Lab.reload, self, name, s, true)
      if not rok or not done then
        self:close()
        error(("instance %s (per_node, lock_params): %s"):format(tostring(name), tostring(rok and why or done)), 2)
      end
    end
  end
  if opts.latency then
    local l = opts.latency
    local spec = l.b and ("%s %s-%s ms"):format(tostring(l.kind), tostring(l.a), tostring(l.b))
                     or ("%s %s ms"):format(tostring(l.kind), tostring(l.a))
    self.notes[#self.notes + 1] = ("lab option latency (%s) is simulated-only: the real "
      .. "network's own latency applies"):format(spec)
  end
  if opts.fast_reconnect ~= false then
    local tok, terr = pcall(self._tune_reconnect, self)
    if not tok then
      self:close()
      error("the real lab did not start: " .. tostring(terr), 2)
    end
  else
    local all = {}
    for _, a in ipairs(self.names) do
      for _, b in ipairs(self.names) do
        if a ~= b then all[#all + 1] = { from = a, to = b, offset = 0 } end
      end
    end
    self:_wait_links(all, 3000)
  end
  self.t0 = C.now()
  self.wall0 = C.wall()
  if opts.stream then
    local f, ferr = io.open(opts.stream, "w")
    if not f then
      self:close()
      error("stream: " .. tostring(ferr), 2)
    end
    f:setvbuf("full")
    self.stream_f = f
    f:write(self:_header())
  end
  -- the simulator's lab has `sim`; the cli writes the run header through it
  local lab = self
  self.sim = { trace_note = function(_, line) lab:_note_line(line) end }
  return self
end

-- Each instance sends to a peer only on the link it dialled, and redials a
-- lost link with backoff, so right after `up` or a restart some links are
-- still being made (messages on them are dropped). The lab waits, as the
-- simulator's instances are reachable at once, until the daemons' logs say
-- the links are up: for each {from=, to=, offset=}, from's log after byte
-- offset names `to` and last says "peer TO (...) connected".
local function log_path(lab, name) return lab.dir .. "/" .. name .. "/skinnyd.log" end

function Lab:_log_sizes()
  local t = {}
  for _, n in ipairs(self.names) do
    local f = io.open(log_path(self, n), "r")
    t[n] = f and f:seek("end") or 0
    if f then f:close() end
  end
  return t
end

local function link_states(lab, name, offset)
  local state = {}
  local f = io.open(log_path(lab, name), "r")
  if not f then return state end
  f:seek("set", offset or 0)
  for line in f:lines() do
    local peer, what = line:match(" peer (%S+) %(.-%) (%a+)")
    if peer then state[peer] = (what == "connected") end
    local p2 = line:match(" peer (%S+) %(.-%): cannot connect")
    if p2 then state[p2] = false end
  end
  f:close()
  return state
end

function Lab:_links_up(links)
  local cache = {}
  for _, l in ipairs(links) do
    if not self.down[l.from] and not self.down[l.to] then
      local key = l.from .. "@" .. (l.offset or 0)
      cache[key] = cache[key] or link_states(self, l.from, l.offset)
      if not cache[key][l.to] then return false end
    end
  end
  return true
end

-- Wait up to max_ms (answering clients meanwhile once the run has begun).
function Lab:_wait_links(links, max_ms)
  local deadline = C.now() + max_ms
  while not self:_links_up(links) do
    if C.now() >= deadline then return false end
    if self.t0 then
      self:_pump(5)
      self:_expire()
    else
      C.poll({}, 5)
    end
  end
  return true
end

-- Every link between `name` and the others, from the given log sizes on.
function Lab:_links_of(name, sizes)
  local links = {}
  for _, other in ipairs(self.names) do
    if other ~= name then
      links[#links + 1] = { from = name, to = other, offset = sizes[name] }
      links[#links + 1] = { from = other, to = name, offset = sizes[other] }
    end
  end
  return links
end

-- The daemons redial a lost peer with backoff doubling from 50 ms to 2 s;
-- the lab's daemons stop at RECONNECT_MAX_MS so a restarted instance is
-- back in the mesh within a fraction of a second. Each config gets the key
-- and each daemon is restarted once (before the run's clock starts).
local RECONNECT_MAX_MS = 200

function Lab:_tune_reconnect()
  local cjson = require "cjson"
  local links = {}
  for _, name in ipairs(self.names) do
    local path = self.dir .. "/" .. name .. "/config.json"
    local f = io.open(path, "r")
    if not f then return end
    local cfg = cjson.decode(f:read("a"))
    f:close()
    cfg.reconnect_max_ms = RECONNECT_MAX_MS
    f = assert(io.open(path, "w"))
    f:write(cjson.encode(cfg))
    f:close()
    local sizes = self:_log_sizes()
    local ok, out = self:_skl("restart", name)
    if not ok then error(out, 0) end
    for _, l in ipairs(self:_links_of(name, sizes)) do links[#links + 1] = l end
  end
  -- a link counts from the later of its two ends' restarts
  local latest = {}
  for _, l in ipairs(links) do
    local k = l.from .. ">" .. l.to
    if not latest[k] or l.offset > latest[k].offset then latest[k] = l end
  end
  local final = {}
  for _, l in pairs(latest) do final[#final + 1] = l end
  self:_wait_links(final, 3000)
end

function Lab:now() return C.now() - self.t0 end

-- An answer's time in the history: the next millisecond. Invokes are
-- rounded down (lab:now()), answers up, so a recorded interval always holds
-- the real one. The daemons' clocks are the same monotonic clock in whole
-- milliseconds, and a lease granted at t lapses at t + ttl on them: with
-- answer times rounded down, an acquire granted in the very millisecond a
-- lease lapsed looked, to the lease checker, as if it had been granted
-- before the lease could have run out.
function Lab:_now_up() return C.now() + 1 - self.t0 end

function Lab:start() return self end

local function index_of(lab, node)
  if type(node) == "number" and lab.names[node] then return node end
  for i, n in ipairs(lab.names) do if n == node then return i end end
  error(("no instance named '%s' (instances: %s)"):format(tostring(node),
        table.concat(lab.names, ", ")), 3)
end

local function name_of(lab, node) return lab.names[index_of(lab, node)] end

-- Trace ----------------------------------------------------------------------

-- At the same millisecond a request comes before what the daemons did about
-- it, and its answer after: rank 0 before the daemons' events, 2 after.
function Lab:_emit(t, line, rank)
  if self.stream_f then
    self.stream_f:write(line)
    return
  end
  self.events[#self.events + 1] = { t = t, line = line, rank = rank or 0 }
end

-- A raw JSON line from the caller (the cli's run header).
function Lab:_note_line(line)
  line = line:gsub("%s+$", "")
  if line:match('^{"t":%d+,"ev":"run"') then
    local extra = ',"backend":"real","dir":' .. require("cjson").encode(self.dir) .. "}"
    line = line:gsub("}$", function() return extra end)
    self.header = line .. "\n"
  else
    local t = tonumber(line:match('^{"t":(%d+)')) or self:now()
    self:_emit(t, line .. "\n")
  end
end

local function fault(lab, what, node)
  local t = lab:now()
  lab.faults[#lab.faults + 1] = { t = t, what = what }
  lab:_emit(t, C.trace_fault(t, node or "*", what))
end

-- The daemons' trace lines, t rebased to the lab's clock; their client
-- events and control faults are left out (the lab records its own).
local SKIP = { invoke = true, complete = true, fault = true }
function Lab:_daemon_lines()
  local out = {}
  if self.opts.daemon_trace == false then return out end
  for _, name in ipairs(self.names) do
    local f = io.open(self.dir .. "/" .. name .. "/trace.jsonl", "r")
    if f then
      for line in f:lines() do
        local t, ev = line:match('^{"t":(%d+),"ev":"([%w_]+)"')
        if t and not SKIP[ev] then
          local rel = math.max(0, math.tointeger(tonumber(t)) - self.wall0)
          out[#out + 1] = { t = rel, ev = ev, line = '{"t":' .. rel .. line:sub(#t + 6) .. "\n" }
        end
      end
      f:close()
    end
  end
  return out
end

function Lab:_merged()
  local all, n = {}, 0
  for _, e in ipairs(self.events) do
    n = n + 1; all[n] = { t = e.t, line = e.line, k = n, rank = e.rank }
  end
  for _, e in ipairs(self:_daemon_lines()) do
    n = n + 1; all[n] = { t = e.t, line = e.line, k = n, rank = 1 }
  end
  table.sort(all, function(a, b)
    if a.t ~= b.t then return a.t < b.t end
    if a.rank ~= b.rank then return a.rank < b.rank end
    return a.k < b.k
  end)
  return all
end

function Lab:_header()
  if self.header then return self.header end
  local cjson = require "cjson"
  return ('{"t":0,"ev":"run","backend":"real","dir":%s,"nodes":%s,"proposer":%s,"backoff":%s,'
          .. '"lock":%s}\n'):format(cjson.encode(self.dir), cjson.encode(self.names),
    cjson.encode(tostring(self.opts.proposer)), cjson.encode(tostring(self.opts.backoff)),
    cjson.encode(tostring(self.opts.lock)))
end

--- lab:trace_text() -> the JSON-lines trace so far
function Lab:trace_text()
  if self.stream_f or self.streamed then
    if self.stream_f then self.stream_f:flush() end
    local f = assert(io.open(self.opts.stream, "r"))
    local text = f:read("a")
    f:close()
    return text
  end
  local parts = { self:_header() }
  for _, e in ipairs(self:_merged()) do parts[#parts + 1] = e.line end
  return table.concat(parts)
end

--- lab:trace() -> the trace as a list of tables
function Lab:trace() return skinny.decode_trace(self:trace_text()) end

-- Clients ----------------------------------------------------------------------

--- lab:client(holder, { node =, timeout =, name =, failover =, attempt_timeout = })
-- failover = true (every instance) or { names }: an op that gets no answer
-- in its attempt's time, finds its instance down, or is answered unavailable
-- or contended is sent again, unchanged (same client id and seq: it takes
-- effect at most once), to the next instance: the op's node first, then the
-- others after it, wrapping round, in rounds until `timeout`. Each attempt's
-- deadline is skinnyctl's rule; attempt_timeout caps it. The rule is
-- scripts/skinny/failover.lua's, as in the simulated lab (spec/LAB.md
-- "Failover"; spec/DAEMON.md "Request identity and failover"). Every one of
-- these options may also be given per op (client:acquire(lock, { failover = ... })).
function Lab:client(holder, copts)
  copts = copts or {}
  local c = setmetatable({
    lab = self, holder = holder, node = copts.node or self.names[1],
    timeout = copts.timeout or self.opts.client_timeout,
    name = copts.name or holder, failover = copts.failover,
    attempt_timeout = copts.attempt_timeout,
  }, Client)
  index_of(self, c.node)
  self.clients[#self.clients + 1] = c
  c.id = #self.clients
  c.cid = C.client_id()
  return c
end

-- One connection per client per instance.
function Lab:_conn(client, node)
  local key = client.id .. "@" .. node
  local c = self.conns[key]
  if not c then
    c = C.conn(self.addr[node])
    self.conns[key] = c
    self.conn_list[#self.conn_list + 1] = c
    self.conn_key[#self.conn_list] = key
  end
  return c, key
end

-- Failover ------------------------------------------------------------------------
--
-- The rule is scripts/skinny/failover.lua's (spec/LAB.md "Failover", the same
-- rule as spec/DAEMON.md "Request identity and failover", which skinnyctl
-- follows): the order, every attempt's deadline, the rounds and which
-- answers go on. This lab only sends, waits and records.

-- The instances an op may fail over to: true is every instance.
local function failover_list(lab, list_opt)
  if list_opt == true then return lab.names end
  assert(type(list_opt) == "table" and #list_opt > 0,
         "failover: true or a list of instance names")
  local list = {}
  for _, n in ipairs(list_opt) do list[#list + 1] = name_of(lab, n) end
  return list
end

-- A trace id for a resend: the simulator gives each attempt its own req and
-- names the first in resend_of. Taken from the sequence numbers' counter, so
-- it is never another request's seq (the first attempt's req is the op's seq).
function Lab:_trace_id()
  self.next_req = self.next_req + 1
  return self.next_req
end

function Client:invoke(op, lock, o)
  o = o or {}
  local lab = self.lab
  local node = o.node or self.node
  local nname = name_of(lab, node)
  assert(op == "acquire" or op == "release" or op == "renew",
         "op: acquire, release or renew")
  if o.shared and op ~= "acquire" then error("shared: only an acquire may ask for a shared hold", 2) end
  assert(o.token == nil or op ~= "acquire", "token: for release and renew (an acquire has none)")
  lock = lock or "lock"
  -- the request's sequence number: wall-clock microseconds, so that a
  -- holder's requests grow across processes as skinnyctl's do
  lab.next_req = math.max(lab.next_req + 1, C.wall_us())
  local req = lab.next_req
  local now = lab:now()
  local timeout = o.timeout or self.timeout
  local failover_opt = o.failover
  if failover_opt == nil then failover_opt = self.failover end
  local rec = { id = req, seq = req, client = self.name, op = op, lock = lock,
                holder = self.holder, node = node, invoke = now, ttl = o.ttl, token_sent = o.token,
                done = false, attempts = {}, shared = o.shared and true or nil }
  rec._cid = self.cid
  rec._cl = self
  rec._deadline = timeout and timeout > 0 and now + timeout or nil
  -- a queued acquire waits this long, asking again every `poll` ms (skinny.lua "Waiting")
  rec.wait = o.wait or self.wait or lab.opts.wait or timeout or 5000
  rec.poll = o.poll or self.poll or lab.opts.poll or skinny.POLL_MS
  local first = { node = nname, at = now }
  if failover_opt then
    if not rec._deadline then
      error("failover needs a timeout: the whole op's time, every attempt included", 2)
    end
    local at = o.attempt_timeout or self.attempt_timeout
    rec.plan = failover.new{ nodes = failover_list(lab, failover_opt), start = nname, now = now,
                             timeout = math.tointeger(timeout) or math.ceil(timeout),
                             attempt_timeout = at and (math.tointeger(at) or math.ceil(at)) }
    first = rec.plan:first()
  end
  if lab.keep_ops then lab.ops[#lab.ops + 1] = rec end
  lab.by_req[req] = rec
  lab.pending[#lab.pending + 1] = rec
  lab:_send(rec, first)
  return rec
end

-- Send rec (unchanged: the same client id and seq) to attempt a's instance
-- (a: the plan's attempt, { node =, at =, deadline = }; no deadline without
-- failover). Every send is an invoke event in the trace; a resend carries
-- attempt and resend_of, as in the simulator's trace.
function Lab:_send(rec, a)
  local nname = a.node
  -- the first send is the op's invoke: the same millisecond as rec.invoke (the wall
  -- clock read again here may have moved on, and the trace would disagree with the op)
  local now = #rec.attempts == 0 and rec.invoke or self:now()
  rec._node = nname
  rec._lost = nil
  rec._resume_at = nil
  rec._next = nil
  local n = #rec.attempts + 1
  local tid = n == 1 and rec.id or self:_trace_id()
  local att = { node = nname, t = now, deadline = a.deadline, req = tid }
  rec.attempts[n] = att
  rec._attempt_deadline = a.deadline
  local wire_op = rec.shared and "acquire_shared" or rec.op -- traced as an acquire, shared
  local line = C.trace_invoke(now, tid, rec.client, nname, wire_op, rec.lock, rec.holder,
                              rec.ttl or 0, n, n > 1 and rec.id or 0)
  if rec.token_sent then line = line:gsub("}\n$", (',"fence":%d}\n'):format(rec.token_sent)) end
  if n > 1 then self.resends = self.resends + 1 end
  -- a resend follows the previous attempt's end (rank 2) at the same millisecond
  self:_emit(now, line, n > 1 and 2 or 0)
  local conn, key = self:_conn(rec._cl, nname)
  rec._conn = key
  local ok, werr = conn:send_req(rec.id, wire_op, rec.lock, rec.holder, rec.ttl or 0, rec._cid,
                                 rec.token_sent or 0)
  if not ok then
    self:_attempt_ended(rec, "down", werr)
  elseif werr then -- the connection had ended: what was in flight on it is lost
    self.abandoned[key] = nil
    for _, r in ipairs(self.pending) do
      if not r.done and r._conn == key and r ~= rec and not r._lost then
        self:_attempt_ended(r, "down", nname .. " closed the connection")
      end
    end
  end
end

-- rec's current attempt ended with status (an answer r, "timeout" at its
-- deadline, or "down"): a failing-over op asks its plan what next (the same
-- request to the next instance, now or after a round's pause, or stop with
-- this status); an op without failover keeps waiting for its one answer
-- after "down" (it times out), as before.
function Lab:_attempt_ended(rec, status, why, r)
  if rec.done then return end
  local now = self:now()
  local a = rec.attempts[#rec.attempts]
  a.status = status
  if status ~= "timeout" then a.complete = now end
  if (status == "queued" or rec.queued) and self:_wait_answer(rec, status, why, r) then return end
  if not rec.plan then
    if status == "down" then rec._lost = why else self:_complete(rec, r) end
    return
  end
  rec._attempt_deadline = nil
  local nxt = rec.plan:next(status, now)
  if nxt == nil then
    if r then return self:_complete(rec, r) end
    return self:_complete(rec, { status = status, text = why })
  end
  -- this attempt is over: its end is traced, and a later answer to it is late
  local text = why
  if status == "down" then text = rec._node .. " is down: " .. tostring(why) end
  self:_emit(now, C.trace_complete(now, a.req, rec.client, rec._node, rec.lock, status,
                                   r and r.holder, r and r.token or 0, text), 2)
  if status == "timeout" then
    local ab = self.abandoned[rec._conn]
    if not ab then ab = {}; self.abandoned[rec._conn] = ab end
    ab[rec.id] = { req = a.req, client = rec.client, node = rec._node, lock = rec.lock }
  end
  if nxt.at > now then
    rec._resume_at = nxt.at
    rec._next = nxt
  else
    self:_send(rec, nxt)
  end
end

-- Waiting (spec/LAB.md "Waiting", as the simulated lab's clients do): an answer to a
-- queued acquire, or to one of its polls. Returns false for the final answer (the
-- caller completes the op), true when the op goes on waiting or has given up.
function Lab:_wait_answer(rec, status, why, r)
  local now = self:now()
  if status == "queued" then skinny.note_queued(rec, r, now) end
  if status ~= "queued" and skinny.SETTLED_WAIT[status] then return false end
  local at = skinny.next_poll(rec, now)
  if at == nil then -- the wait is over: the last answer heard, and leave the queue
    self:_complete(rec, r or { status = status, text = why })
    rec.gave_up = true
    rec.cancel = rec._cl:release(rec.lock, { node = rec._node })
    return true
  end
  local a = rec.attempts[#rec.attempts]
  self:_emit(now, C.trace_complete(now, a.req, rec.client, rec._node, rec.lock, status,
                                   r and r.holder, r and r.token or 0, r and r.text or why,
                                   r and r.waited), 2)
  rec.polls = (rec.polls or 0) + 1
  local node = rec._node
  if status ~= "queued" and rec.plan then -- no answer from this instance: ask the next
    node = failover.order(rec.plan.order, node)[2] or node
  end
  local ends = rec.invoke + rec.wait
  rec._deadline = ends
  rec._attempt_deadline = nil
  rec._resume_at = at
  rec._next = { node = node, at = at, deadline = math.min(at + skinny.POLL_TIMEOUT_MS, ends) }
  return true
end

Client.acquire = skinny.Client.acquire
Client.release = skinny.Client.release
Client.renew = skinny.Client.renew

function Lab:_complete(rec, r)
  local t = self:_now_up()
  skinny.answer_op(rec, r, t, rec._node)
  self.by_req[rec.id] = nil -- later copies of the answer are not looked for
  self.n_pending_done = (self.n_pending_done or 0) + 1
  local a = rec.attempts[#rec.attempts]
  self:_emit(t, C.trace_complete(t, a.req, rec.client, rec._node, rec.lock, r.status,
                                 r.holder, r.token or 0, r.text, r.waited), 2)
  if self.on_reply then self.on_reply(rec) end
end

-- An answer nobody waits for any more (to an attempt given up on, or to a
-- copy after its op had its answer): counted in lab.late[status], and traced
-- as `late` when it answers an attempt that timed out.
function Lab:_late(key, e)
  self.late[e.status] = (self.late[e.status] or 0) + 1
  local ab = self.abandoned[key]
  local a = ab and ab[e.seq]
  if not a then return end
  ab[e.seq] = nil
  local t = self:_now_up()
  self:_emit(t, C.trace_late(t, a.req, a.client, a.node, a.lock, e.status, e.holder,
                             e.token or 0, e.text), 2)
end

-- The ops still waiting for an answer (done ones are dropped now and then).
function Lab:_waiting()
  if (self.n_pending_done or 0) > 16 then
    local keep = {}
    for _, r in ipairs(self.pending) do if not r.done then keep[#keep + 1] = r end end
    self.pending = keep
    self.n_pending_done = 0
  end
  return self.pending
end

-- Time -------------------------------------------------------------------------

local function next_timer(lab)
  local best
  for _, tm in ipairs(lab.timers) do
    if not best or tm.t < best.t or (tm.t == best.t and tm.cookie < best.cookie) then best = tm end
  end
  return best
end

-- Ops past their client timeout become "timeout"; a failing-over op's
-- attempt past its deadline ends ("timeout") and the op goes on or ends, and
-- one waiting between rounds starts the next.
function Lab:_expire()
  local now = self:now()
  local any = false
  for _, rec in ipairs(self:_waiting()) do
    if not rec.done then
      if rec._resume_at then
        if now >= rec._resume_at then self:_send(rec, rec._next) end
      elseif rec._attempt_deadline and now >= rec._attempt_deadline then
        local a = rec.attempts[#rec.attempts]
        self:_attempt_ended(rec, "timeout", ("no answer from %s in %d ms"):format(rec._node,
                                                                              now - a.t))
        any = any or rec.done
      elseif not rec.plan and rec._deadline and now >= rec._deadline then
        local text = "no answer from " .. rec._node .. " in time"
        if rec._lost then text = text .. " (" .. rec._lost .. ")" end
        self:_complete(rec, { status = "timeout", text = text })
        any = true
      end
    end
  end
  return any
end

function Lab:_next_deadline()
  local d
  for _, rec in ipairs(self:_waiting()) do
    if not rec.done then
      local x = rec._resume_at or rec._attempt_deadline or rec._deadline
      if x and (not d or x < d) then d = x end
    end
  end
  return d
end

-- Wait for traffic up to `ms`, then record what arrived. True when something did.
function Lab:_pump(ms)
  local evs = C.poll(self.conn_list, ms)
  local any = false
  for _, e in ipairs(evs) do
    local key = self.conn_key[e.conn]
    if e.error then
      self.abandoned[key] = nil -- no late answer comes on a lost connection
      for _, rec in ipairs(self:_waiting()) do
        if not rec.done and not rec._resume_at and rec._conn == key and not rec._lost then
          rec._lost = e.error
          self:_attempt_ended(rec, "down", e.error)
          any = any or rec.done
        end
      end
    else
      local rec = self.by_req[e.seq]
      if rec and not rec.done and not rec._resume_at and rec._conn == key then
        self:_attempt_ended(rec, e.status, e.text, e)
        any = any or rec.done
      else
        self:_late(key, e)
      end
    end
  end
  return any
end

-- Run until lab time `t` (or pred holds), firing lab:at callbacks when due.
function Lab:_run_to(t, pred)
  while true do
    -- callbacks that are due, in time order
    local tm = next_timer(self)
    while tm and tm.t <= self:now() and tm.t <= t do
      for i, x in ipairs(self.timers) do if x == tm then table.remove(self.timers, i); break end end
      tm.fn(self)
      if pred and pred(self) then return true end
      tm = next_timer(self)
    end
    local now = self:now()
    if pred and pred(self) then return true end
    if now >= t then return pred ~= nil and pred(self) or false end
    local wake = t
    if tm and tm.t < wake then wake = tm.t end
    local d = self:_next_deadline()
    if d and d < wake then wake = d end
    local got = self:_pump(math.max(0, math.min(wake - now, 1000)))
    local expired = self:_expire()
    if (got or expired) and pred and pred(self) then return true end
  end
end

-- the same as the simulated lab's, over this lab's _run_to and now
Lab.run_for = skinny.Lab.run_for
Lab.run_until = skinny.Lab.run_until
Lab.settle = skinny.Lab.settle
Lab.model = skinny.Lab.model

function Lab:at(t, fn)
  self.next_cookie = self.next_cookie + 1
  self.timers[#self.timers + 1] = { t = t, fn = fn, cookie = self.next_cookie }
  return self
end
Lab.after = skinny.Lab.after

-- Faults -----------------------------------------------------------------------

local function must(lab, what, ok, out)
  if not ok then error(("skinny-lab %s failed: %s"):format(what, out), 3) end
end

function Lab:crash(node)
  local name = name_of(self, node)
  must(self, "kill " .. name, self:_skl("kill", name))
  self.down[name] = true
  -- the clients' connections to it are dead: ops in flight there time out
  for i, c in ipairs(self.conn_list) do
    local key = self.conn_key[i]
    if key:match("@(.*)$") == name and c:is_open() then
      c:close()
      self.abandoned[key] = nil
      for _, rec in ipairs(self:_waiting()) do
        if not rec.done and not rec._resume_at and rec._conn == key and not rec._lost then
          rec._lost = name .. " crashed"
          self:_attempt_ended(rec, "down", rec._lost)
        end
      end
    end
  end
  fault(self, "crash " .. name, name)
  return self
end

function Lab:restart(node, o)
  local name = name_of(self, node)
  local amnesia = o and o.amnesia or false
  if amnesia and o.rejoin == false then
    error("lab:restart with rejoin = false is simulated-only: skinnyd always rejoins after "
          .. "losing its state (spec/PROTOCOL.md 7.6); run this experiment without --real", 2)
  end
  local sizes = self:_log_sizes()
  if amnesia then
    must(self, "restart " .. name .. " --wipe", self:_skl("restart", name, "--wipe"))
    self.blank[name] = sizes[name] -- its log, from here on, says when it has rejoined
  else
    must(self, "restart " .. name, self:_skl("restart", name))
  end
  self.down[name] = nil
  fault(self, (amnesia and "restart (state lost, rejoins) " or "restart ") .. name, name)
  self:_wait_links(self:_links_of(name, sizes), 2000)
  return self
end

function Lab:is_up(node) return not self.down[name_of(self, node)] end

--- lab:rejoined(node) -> false while an instance restarted blank (restart
-- with amnesia) has not yet rejoined (its log has no "rejoined:" line since
-- that restart), else true. A blank instance votes on nothing until then.
function Lab:rejoined(node)
  local name = name_of(self, node)
  local offset = self.blank[name]
  if not offset then return true end
  local f = io.open(log_path(self, name), "r")
  if not f then return false end
  f:seek("set", offset)
  local text = f:read("a")
  f:close()
  if text:find(" rejoined: ", 1, true) then
    self.blank[name] = nil
    return true
  end
  return false
end

for _, m in ipairs{ "pause", "resume", "skew", "loss", "duplicate", "reorder", "latency" } do
  Lab[m] = function() error(SIM_ONLY:format(m), 2) end
end

-- Client links: the real clients talk to the daemons over loopback TCP,
-- with nothing in between to slow, cut or lose their messages. lab:slow
-- (what an instance sends to its peers) is the instance-level fault both
-- labs have.
for _, m in ipairs{ "client_link", "slow_client", "cut_client", "client_loss" } do
  Lab[m] = function()
    error(SIM_ONLY:format(m) .. " (client links exist only in the simulator; "
          .. "lab:slow(node, ms) slows an instance on both)", 2)
  end
end

local function names_list(lab, g)
  local t = {}
  for _, n in ipairs(g) do t[#t + 1] = name_of(lab, n) end
  return t
end

-- skinny-lab replaces a partition and heal clears every delay: the lab keeps
-- its slow instances and re-applies them after a heal.
function Lab:partition(a, b)
  local ga, gb = names_list(self, a), names_list(self, b)
  must(self, "partition", self:_skl("partition", table.concat(ga, ","), "/", table.concat(gb, ",")))
  fault(self, "partition " .. table.concat(ga, ",") .. " / " .. table.concat(gb, ","))
  return self
end

-- The lab's cluster key file (skinny-lab up makes one; its daemons take
-- control frames only with it), or nil for a lab started without one.
local function lab_key(lab)
  local path = lab.dir .. "/cluster.key"
  local f = io.open(path, "r")
  if not f then return nil end
  f:close()
  return path
end

--- lab:block(from, to): one-way (from drops what it sends to `to`); not kept
-- across a restart of `from`.
function Lab:block(from, to)
  local f, t = name_of(self, from), name_of(self, to)
  local st, text = C.control(self.addr[f], C.CTL_DROP, t, 0, 2000, lab_key(self))
  if st ~= "granted" then error(("block %s -> %s: %s"):format(f, t, tostring(text)), 2) end
  fault(self, "block " .. f .. " -> " .. t, f)
  return self
end

function Lab:heal()
  must(self, "heal", self:_skl("heal"))
  for name, ms in pairs(self.slows) do self:_skl("slow", name, tostring(ms)) end
  fault(self, "heal")
  return self
end

--- lab:slow(node, ms): node delays everything it sends to its peers by ms
-- (a round trip through it takes ms longer; the simulator's slow draws
-- each message both ways from ms to 1.5 ms).
function Lab:slow(node, ms, kind)
  if kind ~= nil and kind ~= "uniform" and kind ~= "const" then
    error(SIM_ONLY:format("slow with a " .. tostring(kind) .. " distribution"), 2)
  end
  local name = name_of(self, node)
  ms = math.tointeger(ms) or math.floor(ms + 0.5)
  must(self, "slow " .. name, self:_skl("slow", name, tostring(ms)))
  self.slows[name] = ms > 0 and ms or nil
  fault(self, ("slow %d ms (what %s sends)"):format(ms, name), name)
  return self
end

-- The instance's config.json (as skinny-lab wrote it).
local function config_path(lab, name) return lab.dir .. "/" .. name .. "/config.json" end

--- lab:reload(node, {proposer=, backoff=, lock=}) -> true | nil, message
-- Kinds left out get the lab's options. skinnyd's RELOAD (SIGHUP) re-reads
-- the script files its config named at start-up, so: the same scripts are
-- reloaded in place; other scripts are first checked (`skinnyd --check` on
-- the new config: a script that does not load gives nil and the message,
-- and the old ones stay), then the instance restarts with the new config
-- (its acceptor state is durable; requests in flight at it are lost).
function Lab:reload(node, scripts, quiet)
  local cjson = require "cjson"
  local name = name_of(self, node)
  scripts = scripts or {}
  local path = config_path(self, name)
  local f = assert(io.open(path, "r"))
  local cfg = cjson.decode(f:read("a"))
  f:close()
  local same = true
  for _, k in ipairs{ "proposer", "backoff", "lock" } do
    local v = scripts[k] or (not self.opts.builtin and self.opts[k]) or nil
    if v and k == "proposer" then
      local ok, arg = pcall(self._proposer_arg, self, v)
      if not ok then return nil, arg end
      v = arg
    elseif v then
      v = script_arg(v)
    end
    if cfg[k] ~= v then same = false end
    cfg[k] = v
  end
  -- lock params: the lab's, then this instance's per_node ones, then these
  local params = {}
  local mine = self.opts.per_node and self.opts.per_node[name] or {}
  for _, src in ipairs{ self.opts.lock_params or false, mine.lock_params or false, scripts.lock_params or false } do
    for k, v in pairs(src or {}) do params[k] = v end
  end
  local had = cfg.lock_params or {}
  for k, v in pairs(params) do if had[k] ~= v then same = false end end
  for k in pairs(had) do if params[k] == nil then same = false end end
  cfg.lock_params = next(params) and params or nil
  if same then
    local st, text = C.control(self.addr[name], C.CTL_RELOAD, "", 0, 5000, lab_key(self))
    if st ~= "granted" then return nil, text or "no answer" end
    if not quiet then fault(self, "reload " .. name, name) end
    return true
  end
  local next_path = path .. ".next"
  local w = assert(io.open(next_path, "w"))
  w:write(cjson.encode(cfg))
  w:close()
  local skinnyd = dirname(self.bin) .. "/skinnyd"
  local h = io.popen(sh_quote(skinnyd) .. " --check --config " .. sh_quote(next_path) .. " 2>&1")
  local out = h:read("a")
  local ok = h:close()
  if not ok then
    os.remove(next_path)
    out = out:gsub("%s+$", "")
    out = out:match("cannot load scripts: (.-); refusing to start") or out:match("[^\n]*$")
    return nil, out
  end
  assert(os.rename(next_path, path))
  if self.down[name] then -- takes effect when it restarts
    if not quiet then fault(self, "reload " .. name .. " (when it restarts)", name) end
    return true
  end
  local sizes = self:_log_sizes()
  local rok, rout = self:_skl("restart", name)
  if not rok then return nil, rout end
  if not quiet then fault(self, "reload " .. name .. " (restarted with the new scripts)", name) end
  self:_wait_links(self:_links_of(name, sizes), 2000)
  return true
end

-- Reading the run ----------------------------------------------------------------

Lab.history = skinny.Lab.history

function Lab:status()
  local out = {}
  for i, name in ipairs(self.names) do
    local s = { name = name, up = false, locks = {} }
    if not self.down[name] then
      local got, rows = C.status(self.addr[name], 1000)
      if got then
        s.up = true
        table.sort(rows, function(a, b) return a.lock < b.lock end)
        s.locks = rows
      else
        s.why = rows
      end
    end
    out[i] = s
  end
  return out
end

--- lab:check(opts): the checkers over the history read back from the trace.
function Lab:check(o)
  local c = {}
  for k, v in pairs(o or {}) do c[k] = v end
  local h = history.from_trace(self:trace())
  if c.model == nil then c.model = self:model() end
  return check.all(h, c)
end

function Lab:metrics()
  local c = check.cost(self:history())
  local n = { attempt = 0, decided = 0, nays = 0, timeouts = 0, hook_error = 0, send = 0, drop = 0 }
  for _, e in ipairs(self:_daemon_lines()) do
    if e.ev == "attempt" then n.attempt = n.attempt + 1
    elseif e.ev == "decided" then n.decided = n.decided + 1
    elseif e.ev == "hook_error" then n.hook_error = n.hook_error + 1
    elseif e.ev == "send" then n.send = n.send + 1
    elseif e.ev == "drop" then n.drop = n.drop + 1
    elseif e.ev == "recv" and e.line:find('"msg":"nay"', 1, true) then n.nays = n.nays + 1
    elseif e.ev == "conflict" and e.line:find('"why":"timeout"', 1, true) then
      n.timeouts = n.timeouts + 1
    end
  end
  c.attempts = n.attempt
  c.decisions = n.decided
  c.nays = n.nays
  c.phase_timeouts = n.timeouts
  c.hook_errors = n.hook_error
  c.messages = n.send
  c.dropped = n.drop
  c.rounds_per_decision = n.decided > 0 and n.attempt / n.decided or 0
  c.messages_per_decision = n.decided > 0 and n.send / n.decided or 0
  c.preemptions = math.max(0, n.attempt - n.decided)
  c.first_grant_ms = skinny.first_grant(self.ops)
  c.resends = self.resends
  return c
end

function Lab:report(o)
  local text, rep = report.text(self, o or {})
  local head = { ("real daemons: %d skinnyd on 127.0.0.1, run directory %s (%s); times are "
                  .. "wall-clock ms, the seed is unused"):format(#self.names, self.dir,
                  self.keep and "kept" or "removed at close; SKINNY_REAL_KEEP=1 keeps it") }
  for _, note in ipairs(self.notes) do head[#head + 1] = "note: " .. note end
  return table.concat(head, "\n") .. "\n" .. text, rep
end

--- lab:close(): stop the daemons (skinny-lab down), write opts.trace_file,
-- remove the run directory (kept with opts.keep_dir or SKINNY_REAL_KEEP=1).
function Lab:close()
  if self.closed then return end
  self.closed = true
  local ok_trace, trace = false, nil
  if self.opts.trace_file then ok_trace, trace = pcall(self.trace_text, self) end
  if self.stream_f then
    self.stream_f:close()
    self.stream_f = nil
    self.streamed = true
  end
  for _, c in ipairs(self.conn_list) do c:close() end
  local ok, out = self:_skl("down")
  C.unguard(self.dir)
  if self.opts.trace_file and ok_trace then
    local f = io.open(self.opts.trace_file, "w")
    if f then f:write(trace); f:close() end
  end
  if not ok then
    io.stderr:write("skinny.real: skinny-lab down: ", out, "\n")
  elseif not self.keep then
    os.execute("rm -rf " .. sh_quote(self.dir))
  end
end

M.Lab = Lab
M.Client = Client
return M
