-- skinny: the lab API. The same object drives a simulated cluster (the
-- default: deterministic, virtual time) and, with the real backend, skinnyd
-- processes. Experiments (scripts/experiments/*.lua) and Busted specs use it:
--
--   local skinny = require "skinny"
--   local lab = skinny.lab{ seed = 7 }
--   local beaver = lab:client("beaver")
--   local op = beaver:acquire("printer")
--   lab:run_until(function() return op.done end, 1000)
--   assert(op.status == "granted")
--
-- spec/LAB.md documents every function.
local core = require "skinny.core"
local check = require "skinny.check"
local report = require "skinny.report"
local failover = require "skinny.failover"

local M = { check = check, report = report, core = core, failover = failover }

M.NAMES = { "catbus", "kanta", "mei", "satsuki", "totoro",
            "jiji", "kiki", "ponyo", "sosuke", "haku", "chihiro", "yubaba",
            "kamaji", "lin", "zeniba", "boh" }

local Lab = {}
Lab.__index = Lab
local Client = {}
Client.__index = Client

local function names_for(nodes)
  if type(nodes) == "table" then return nodes end
  local n = nodes or 5
  assert(math.type(n) == "integer" and n >= 1 and n <= #M.NAMES,
         "nodes: a count from 1 to " .. #M.NAMES .. " or a list of names")
  local t = {}
  for i = 1, n do t[i] = M.NAMES[i] end
  return t
end

local DEFAULTS = {
  seed = 1, nodes = 5, proposer = "paxos", backoff = "exponential_jitter",
  lock = "advisory", phase_timeout = 500, client_timeout = 5000, client_latency = 1,
  scripts_dir = nil, builtin = false, trace = true,
}

--- skinny.lab(opts) -> lab, or raises with a message naming the bad script.
-- opts: seed, nodes (count or names), proposer, backoff, lock (script names
-- or paths), builtin (C defaults instead of scripts), phase_timeout,
-- client_timeout (ms before an op is recorded as indefinite), latency
-- ({kind=, a=, b=}), trace (keep the trace; default true), trace_file,
-- per_node ({[name] = {proposer=, backoff=, lock=}}), identity (false: request
-- identity off, unsafe on purpose), model (the model lab:check holds the
-- history to: a table, or a lock script's name or path; default the lock
-- script's own, spec/HOOKS.md "The model"), lock_params ({permits = 3, ...}:
-- the lock script's ctx.params on every instance, and the model's params;
-- per_node[name].lock_params add to or replace them on one instance).
function M.lab(opts)
  opts = opts or {}
  for k, v in pairs(DEFAULTS) do if opts[k] == nil then opts[k] = v end end
  local names = names_for(opts.nodes)
  local sim, err = core.sim{
    seed = opts.seed, nodes = names, proposer = opts.proposer, backoff = opts.backoff,
    lock = opts.lock, builtin = opts.builtin, phase_timeout = opts.phase_timeout,
    scripts_dir = opts.scripts_dir or M.scripts_dir, trace = opts.trace,
    trace_file = opts.trace_file, per_node = opts.per_node, budget = opts.budget,
    identity = opts.identity, lock_params = opts.lock_params,
  }
  if not sim then error(err, 2) end
  local lab = setmetatable({
    sim = sim, opts = opts, names = names, ops = {}, by_req = {}, clients = {},
    timers = {}, next_cookie = 0, classic = (opts.proposer == "classic"),
    faults = {}, unsafe = {},
  }, Lab)
  if lab.classic then lab.unsafe[#lab.unsafe + 1] = report.CLASSIC end
  if opts.identity == false then lab.unsafe[#lab.unsafe + 1] = report.NO_IDENTITY end
  sim:client_latency(opts.client_latency)
  if opts.latency then lab:latency(opts.latency) end
  return lab
end

function Lab:now() return self.sim:now() end

function Lab:start() return self end -- simulated instances start with the lab

local function index_of(lab, node)
  if type(node) == "number" then return node end
  for i, n in ipairs(lab.names) do if n == node then return i end end
  error(("no instance named '%s' (instances: %s)"):format(tostring(node),
        table.concat(lab.names, ", ")), 3)
end

local function node_name(lab, node)
  return type(node) == "number" and lab.names[node] or node
end

--- lab:client(holder, {node = name|index, timeout = ms, name =, failover = true|{names},
-- attempt_timeout = ms}) -> client
function Lab:client(holder, copts)
  copts = copts or {}
  local c = setmetatable({
    lab = self, holder = holder, node = node_name(self, copts.node or self.names[1]),
    timeout = copts.timeout or self.opts.client_timeout,
    name = copts.name or holder, attempt_timeout = copts.attempt_timeout,
    wait = copts.wait, poll = copts.poll,
  }, Client)
  index_of(self, c.node)
  if copts.failover == true then
    c.failover = self.names
  elseif type(copts.failover) == "table" then
    c.failover = {}
    for i, n in ipairs(copts.failover) do
      index_of(self, n)
      c.failover[i] = node_name(self, n)
    end
    assert(#c.failover > 0, "failover: a list of instances, or true for all")
  elseif copts.failover ~= nil and copts.failover ~= false then
    error("failover: true, false or a list of instance names", 2)
  end
  c.id = self.sim:client(c.name)
  self.clients[#self.clients + 1] = c
  return c
end

-- Send one attempt of rec to node (until deadline, or the op's timeout): the
-- same request, identity unchanged; later attempts (a failover's, or a waiting
-- op's poll) name the first send (resend_of). A plain client's first send
-- passes no options (the hot path of every run).
local function send_attempt(client, rec, node, deadline, poll)
  local lab = client.lab
  local sim = lab.sim
  local now = sim:now()
  local timeout = deadline and deadline - now or rec.timeout
  local attempts = rec.attempts -- failover clients only
  local opts = (attempts or poll) and { resend_of = rec.id or 0, fail_fast = attempts ~= nil,
                                        attempt = attempts and #attempts + 1 or rec.polls + 1 }
  local req = assert(sim:request(client.id, node, rec.shared and "acquire_shared" or rec.op, rec.lock, client.holder,
                                 rec.ttl or 0, timeout, rec.seq, rec.fence, opts))
  rec.id = rec.id or req
  rec.cur = req
  lab.by_req[req] = rec
  if attempts then
    attempts[#attempts + 1] = { node = node, req = req, t = now, deadline = deadline, poll = poll }
  end
end

-- Invoke an operation now; returns the op record (its fields fill in when
-- the answer arrives: done, status, token, holder, text, complete).
-- o: node, ttl, token (a release's or renew's fence), timeout, attempt_timeout,
-- shared (an acquire asking for a shared hold: a reader's).
function Client:invoke(op, lock, o)
  o = o or {}
  if o.shared and op ~= "acquire" then error("shared: only an acquire may ask for a shared hold", 2) end
  local lab = self.lab
  local node = node_name(lab, o.node or self.node)
  -- the request's identity is (client id, seq): seq grows with virtual time
  -- (microseconds), as real clients' grow with the wall clock
  self.seq = math.max((self.seq or 0) + 1, lab.sim:now() * 1000)
  local now = lab.sim:now()
  local rec = { client = self.name, op = op, lock = lock, holder = self.holder,
                node = node, invoke = now, ttl = o.ttl, done = false, seq = self.seq,
                fence = o.token, timeout = o.timeout or self.timeout, shared = o.shared and true or nil }
  rec._client = self
  -- a queued acquire waits this long (from its invoke) before it gives up and
  -- leaves the queue, asking again every `poll` ms
  rec.wait = o.wait or self.wait or lab.opts.wait or rec.timeout
  rec.poll = o.poll or self.poll or lab.opts.poll or M.POLL_MS
  if self.failover then
    rec.attempts = {} -- { node =, req =, t =, deadline =, status =, complete = } per send
    rec.plan = failover.new{ nodes = self.failover, start = node, now = now, timeout = rec.timeout,
                             attempt_timeout = o.attempt_timeout or self.attempt_timeout }
    local a = rec.plan:first()
    send_attempt(self, rec, a.node, a.deadline)
  else
    send_attempt(self, rec, node, nil)
  end
  lab.ops[#lab.ops + 1] = rec
  return rec
end

function Client:acquire(lock, o) return self:invoke("acquire", lock or "lock", o) end
function Client:release(lock, o) return self:invoke("release", lock or "lock", o) end
function Client:renew(lock, o) return self:invoke("renew", lock or "lock", o) end

-- Waiting (spec/LAB.md "Waiting"): an acquire answered `queued` took effect
-- (it joined the lock's queue) but its outcome comes later. The client asks
-- again every rec.poll ms with the same request (same identity: a resend of
-- the op), until it hears granted or refused (or stale: a newer request of its
-- holder, a release that cancelled the wait, was applied). A poll that gets no
-- definite answer (unavailable, a timeout, a down instance) is retried, on the
-- next instance for failover clients. When rec.wait ms have passed since the
-- invoke the client gives up: the op ends with the last answer it heard
-- (still queued, or none: it may have been granted meanwhile) and the client
-- leaves the queue with a release, a new op (rec.cancel).
M.POLL_MS = 100
M.POLL_TIMEOUT_MS = 1000 -- a poll unanswered this long is asked again (an instance may be down)
M.SETTLED_WAIT = { granted = true, refused = true, stale = true, error = true }

-- The op's first queued answer (its place and the holder it named) and the latest. A
-- queued answer to a wait (r.waited: the acquire had joined the queue before, and that
-- answer was lost) gives the place now, not the place it joined at.
function M.note_queued(rec, r, t)
  rec.status, rec.position = "queued", r.token
  if rec.queued == nil then
    rec.queued = { t = t, position = not r.waited and r.token or nil, by = r.holder }
  end
end

-- When to ask next, or nil: give up (the wait is over).
function M.next_poll(rec, now)
  local at = now + rec.poll
  if at >= rec.invoke + rec.wait then return nil end
  return at
end

-- Ask again: a poll gets what is left of the wait, at most POLL_TIMEOUT_MS.
local function send_poll(client, rec, node)
  local now = client.lab.sim:now()
  rec.polls = (rec.polls or 0) + 1
  rec.poll_node = node
  local timeout = math.max(math.min(rec.invoke + rec.wait - now, M.POLL_TIMEOUT_MS), 1)
  send_attempt(client, rec, node, now + timeout, true)
end

-- The wait is over: the op's outcome is the last answer heard (still queued, or
-- none), and the client leaves the queue.
local function give_up(lab, rec, r)
  M.answer_op(rec, r, r.t, rec.poll_node or r.node)
  rec.gave_up = true
  rec.cancel = rec._client:release(rec.lock, { node = rec.poll_node or r.node, cancel = true })
  if lab.on_reply then lab.on_reply(rec) end
end

-- An answer to a waiting op (or the queued answer that made it one).
local function on_wait_answer(lab, rec, r)
  if r.status == "queued" then M.note_queued(rec, r, r.t) end
  local node = rec.poll_node or r.node
  if r.status ~= "queued" and M.SETTLED_WAIT[r.status] then
    return false -- the final answer: the caller finishes the op
  end
  if r.status ~= "queued" and rec._client.failover then
    -- no answer from this instance: ask the next one
    local order = failover.order(rec._client.failover, node)
    node = order[2] or node
  end
  rec.poll_node = node
  local at = M.next_poll(rec, lab.sim:now())
  if at == nil then
    give_up(lab, rec, r)
  else
    rec.waiting = at
    lab:at(at, function()
      rec.waiting = nil
      if not rec.done then send_poll(rec._client, rec, node) end
    end)
  end
  return true
end

-- An op's final answer r (status, token, text, holder) from instance via at
-- time t, into its record; both labs (the real one in skinny/real.lua) use it.
function M.answer_op(rec, r, t, via)
  rec.done = true
  rec.status = r.status
  rec.token = r.token
  rec.text = r.text
  rec.answered_by = r.holder
  rec.via = via
  if r.status == "refused" or r.status == "not_holder" then rec.by = r.holder end
  if r.status ~= "timeout" then rec.complete = t end
  -- the answer says the acquire waited in the queue, although this client never heard
  -- it queued (that answer was lost): it joined the queue at a time not known
  if r.waited and rec.queued == nil then rec.queued = {} end
end

local function finish(lab, rec, r)
  M.answer_op(rec, r, r.t, r.node)
  if lab.on_reply then lab.on_reply(rec) end
end

function Lab:_collect()
  for _, r in ipairs(self.sim:replies()) do
    local rec = self.by_req[r.req]
    -- only the current attempt is listened to (abandoned ones are done in the sim)
    if rec and not rec.done and rec.cur == r.req then
      local att = rec.attempts and rec.attempts[#rec.attempts]
      if att then
        att.status = r.status
        att.complete = r.t
      end
      -- a waiting op is polled again later (or given up) by on_wait_answer
      if not ((r.status == "queued" or rec.queued) and on_wait_answer(self, rec, r)) then
        local nxt = not rec.queued and rec.plan and rec.plan:next(r.status, r.t)
        if not nxt then
          finish(self, rec, r)
        elseif nxt.at > self.sim:now() then
          rec.waiting = nxt.at
          self:at(nxt.at, function()
            rec.waiting = nil
            send_attempt(rec._client, rec, nxt.node, nxt.deadline)
          end)
        else
          send_attempt(rec._client, rec, nxt.node, nxt.deadline)
        end
      end
    end
  end
end

-- Run until virtual time `t`, firing lab:at callbacks on the way.
function Lab:_run_to(t, pred)
  while true do
    -- stop at every answer: failover clients and on_reply act at its virtual time
    local why, cookie = self.sim:run(t, true)
    self:_collect()
    if why == "timer" then
      local fn = self.timers[cookie]
      self.timers[cookie] = nil
      if fn then fn(self) end
      if pred and pred(self) then return true end
    elseif why == "reply" then
      if pred and pred(self) then return true end
    else
      return pred ~= nil and pred(self) or false
    end
  end
end

--- lab:run_for(ms): advance virtual time by ms.
function Lab:run_for(ms)
  self:_run_to(self:now() + ms)
  return self
end

--- lab:run_until(pred, max_ms) -> true if pred(lab) held before max_ms passed.
function Lab:run_until(pred, max_ms)
  if pred(self) then return true end
  return self:_run_to(self:now() + (max_ms or 10000), pred)
end

--- lab:settle(max_ms): run until every op has an answer (or max_ms passed).
function Lab:settle(max_ms)
  return self:run_until(function(l)
    for _, op in ipairs(l.ops) do if not op.done then return false end end
    return true
  end, max_ms or 60000)
end

--- lab:at(t, fn) / lab:after(ms, fn): call fn(lab) at virtual time t.
function Lab:at(t, fn)
  self.next_cookie = self.next_cookie + 1
  self.timers[self.next_cookie] = fn
  self.sim:at(t, self.next_cookie)
  return self
end
function Lab:after(ms, fn) return self:at(self:now() + ms, fn) end

-- Faults -----------------------------------------------------------------

local function fault(lab, what) lab.faults[#lab.faults + 1] = { t = lab.sim:now(), what = what } end

function Lab:crash(node) self.sim:crash(index_of(self, node)); fault(self, "crash " .. node); return self end
-- o.amnesia: the node's state is lost; it then rejoins before it votes
-- (PROTOCOL.md 7.6), unless o.rejoin == false: it votes at once with a
-- blank slate, as the original did (UNSAFE on purpose).
function Lab:restart(node, o)
  local amnesia = o and o.amnesia or false
  local rejoin = not (o and o.rejoin == false)
  self.sim:restart(index_of(self, node), amnesia, rejoin)
  if amnesia and not rejoin and not self.unsafe_amnesia then
    self.unsafe_amnesia = true
    self.unsafe[#self.unsafe + 1] = report.AMNESIA
  end
  fault(self, (amnesia and (rejoin and "restart (state lost, rejoins) "
                                    or "restart (state lost, votes at once: UNSAFE) ")
                        or "restart ") .. node)
  return self
end
function Lab:pause(node) self.sim:pause(index_of(self, node)); return self end
function Lab:resume(node) self.sim:resume(index_of(self, node)); return self end
function Lab:skew(node, ms) self.sim:skew(index_of(self, node), ms); return self end
function Lab:is_up(node)
  for _, s in ipairs(self.sim:status()) do if s.name == node then return s.up end end
  return false
end

local function group(lab, g)
  local t = {}
  for _, n in ipairs(g) do t[#t + 1] = index_of(lab, n) end
  return t
end

--- lab:partition({"catbus","kanta"}, {"mei","satsuki","totoro"}): no traffic
-- between the groups (both ways). Instances in no group keep their links.
function Lab:partition(a, b)
  local ga, gb = group(self, a), group(self, b)
  for _, i in ipairs(ga) do
    for _, j in ipairs(gb) do
      self.sim:link(i, j, { blocked = true })
      self.sim:link(j, i, { blocked = true })
    end
  end
  local text = "partition " .. table.concat(a, ",") .. " / " .. table.concat(b, ",")
  self.sim:fault_note(nil, text)
  fault(self, text)
  return self
end

--- lab:block(from, to): one-way partition (from's messages to `to` are lost).
function Lab:block(from, to)
  self.sim:link(index_of(self, from), index_of(self, to), { blocked = true })
  self.sim:fault_note(nil, "block " .. from .. " -> " .. to)
  return self
end

--- lab:heal(): every link unblocked, client links too.
function Lab:heal()
  self.sim:link(0, 0, { blocked = false })
  self.sim:client_link(0, 0, "both", { blocked = false })
  self.sim:fault_note(nil, "heal")
  fault(self, "heal")
  return self
end

--- lab:latency(spec, from, to): spec = {kind="const"|"uniform"|"exp", a=, b=};
-- from/to default to every instance.
function Lab:latency(spec, from, to)
  self.sim:link(from and index_of(self, from) or 0, to and index_of(self, to) or 0, spec)
  return self
end

local function ms_text(ms)
  return math.type(ms) == "float" and ("%g"):format(ms) or tostring(ms)
end

--- lab:slow(node, ms): every message to and from node (from and to the other
-- instances) takes ms to 1.5 ms.
function Lab:slow(node, ms, kind)
  local i = index_of(self, node)
  assert(type(ms) == "number" and ms >= 0, "slow: ms >= 0")
  local spec = { kind = kind or "uniform", a = ms, b = ms * 1.5 }
  self.sim:link(i, 0, spec)
  self.sim:link(0, i, spec)
  self.sim:fault_note(i, ("slow %s ms"):format(ms_text(ms)))
  return self
end

-- Client links ------------------------------------------------------------

local WAYS = { both = true, requests = true, answers = true }

local function client_of(lab, client)
  if type(client) == "table" and client.id then return client end
  for _, c in ipairs(lab.clients) do
    if c.name == client or c.id == client then return c end
  end
  error(("no client named '%s'"):format(tostring(client)), 3)
end

local function client_text(lab, client, node, way)
  local c = client and client_of(lab, client).name or "every client"
  local arrow = way == "requests" and " -> " or way == "answers" and " <- " or " <-> "
  return c .. arrow .. (node and node_name(lab, node) or "every instance")
end

--- lab:client_link(spec, client, node, way): the links between a client (a
-- client object or its name; nil: every client) and an instance (nil: every
-- instance), way "both" (default), "requests" or "answers". spec fields as
-- for lab:latency: kind, a, b, loss, reorder, reorder_ms, blocked; fields
-- left out keep their value.
function Lab:client_link(spec, client, node, way)
  way = way or "both"
  assert(WAYS[way], "client_link: way is \"both\", \"requests\" or \"answers\"")
  local cid = client and client_of(self, client).id or 0
  self.sim:client_link(cid, node and index_of(self, node) or 0, way, spec)
  return self
end

--- lab:slow_client(client, node, ms, way, kind): the client's messages to and
-- from node take ms to 1.5 ms (kind "const": ms; 0: back to the lab's
-- client_latency).
function Lab:slow_client(client, node, ms, way, kind)
  assert(type(ms) == "number" and ms >= 0, "slow_client: ms >= 0")
  local spec = ms == 0 and { kind = "const", a = self.opts.client_latency }
                       or { kind = kind or "uniform", a = ms, b = ms * 1.5 }
  self:client_link(spec, client, node, way)
  self.sim:fault_note(nil, ("slow client %s %s ms"):format(client_text(self, client, node, way), ms_text(ms)))
  return self
end

--- lab:cut_client(client, node, way): the client's requests to node, its
-- answers, or both (default) are lost until lab:heal().
function Lab:cut_client(client, node, way)
  self:client_link({ blocked = true }, client, node, way)
  local text = "cut client " .. client_text(self, client, node, way)
  self.sim:fault_note(nil, text)
  fault(self, text)
  return self
end

--- lab:client_loss(p, client, node, way): lose a share p of the client's
-- messages (0 to stop).
function Lab:client_loss(p, client, node, way)
  self:client_link({ loss = p }, client, node, way)
  self.sim:fault_note(nil, ("client loss %g %s"):format(p, client_text(self, client, node, way)))
  return self
end

local function link_fault(lab, spec, from, to, text)
  lab:latency(spec, from, to)
  lab.sim:fault_note(nil, text .. (from and (" " .. from .. " -> " .. (to or "*")) or ""))
  return lab
end
function Lab:loss(p, from, to) return link_fault(self, { loss = p }, from, to, ("loss %g"):format(p)) end
function Lab:duplicate(p, from, to)
  return link_fault(self, { dup = p }, from, to, ("duplicate %g"):format(p))
end
function Lab:reorder(p, ms, from, to)
  return link_fault(self, { reorder = p, reorder_ms = ms }, from, to, ("reorder %g within %d ms"):format(p, ms))
end

--- lab:reload(node, {proposer=, backoff=, lock=}) -> true or nil, message
function Lab:reload(node, scripts)
  local s = {}
  local name = type(node) == "number" and self.names[node] or node
  local mine = self.opts.per_node and self.opts.per_node[name] or {}
  for _, k in ipairs{ "proposer", "backoff", "lock" } do
    s[k] = scripts[k] or mine[k] or self.opts[k]
  end
  s.scripts_dir = self.opts.scripts_dir or M.scripts_dir
  s.budget = self.opts.budget
  local params = {}
  for k, v in pairs(self.opts.lock_params or {}) do params[k] = v end
  for k, v in pairs(mine.lock_params or {}) do params[k] = v end
  for k, v in pairs(scripts.lock_params or {}) do params[k] = v end
  s.lock_params = params
  return self.sim:reload(index_of(self, node), s)
end

-- Reading the run -----------------------------------------------------------

--- lab:history() -> the client history in the checkers' format.
function Lab:history()
  local h = {}
  for i, op in ipairs(self.ops) do
    h[i] = { id = op.id, client = op.client, op = op.op, lock = op.lock, holder = op.holder,
             invoke = op.invoke, complete = op.complete, status = op.status,
             token = op.token, by = op.by, ttl = op.ttl, queued = op.queued, fence = op.fence,
             position = op.status == "queued" and op.position or nil, shared = op.shared }
  end
  return h
end

--- lab:status() -> per instance {name, up, locks = {{lock, promised, accepted, state}}}
function Lab:status() return self.sim:status() end

--- lab:trace_text() -> the JSON-lines trace so far
function Lab:trace_text() return self.sim:trace_all() end

--- lab:trace() -> the trace as a list of tables
function Lab:trace()
  return M.decode_trace(self.sim:trace_all())
end

-- JSON null becomes nil and whole numbers become integers (lua-cjson
-- decodes every number as a float).
local function tidy(v)
  local cjson = require "cjson"
  if v == cjson.null then return nil end
  if math.type(v) == "float" and v == math.floor(v) and math.abs(v) < 2^53 then
    return math.tointeger(v)
  end
  if type(v) == "table" then
    local out = {}
    for k, x in pairs(v) do out[k] = tidy(x) end
    return out
  end
  return v
end
M.tidy = tidy

--- skinny.decode_trace(text) -> list of event tables
function M.decode_trace(text)
  local cjson = require "cjson"
  local t = {}
  for line in text:gmatch("[^\n]+") do t[#t + 1] = tidy(cjson.decode(line)) end
  return t
end

--- lab:model() -> the model of the lab's lock script (skinny.models): the one the
--- checkers hold its history to unless told otherwise
--- (its params overridden by the lab's lock_params)
function Lab:model()
  local mo = { scripts_dir = self.opts.scripts_dir or M.scripts_dir, lock_params = self.opts.lock_params }
  if self.opts.model ~= nil then
    return require("skinny.models").resolve(self.opts.model, mo)
  end
  if self.opts.builtin then return require("skinny.models").resolve("advisory") end -- the C default
  return require("skinny.models").resolve(self.opts.lock or "advisory", mo)
end

--- lab:check(opts) -> report {ok, checks}; opts.model: a model table, or a lock script's
--- name or path (default: the lab's lock script's model, with the lab's lock_params);
--- opts.lock_params: parameters for the model instead of the lab's
function Lab:check(o)
  local c = {}
  for k, v in pairs(o or {}) do c[k] = v end
  if c.model == nil then
    c.model = self:model()
    if c.lock_params ~= nil then
      -- the model's own defaults, then these (not the lab's)
      local mo = { scripts_dir = self.opts.scripts_dir or M.scripts_dir }
      c.model = require("skinny.models").resolve(self.opts.model or (self.opts.builtin and "advisory")
        or self.opts.lock or "advisory", mo)
    end
  end
  return check.all(self:history(), c)
end

--- lab:metrics() -> liveness and cost figures
function Lab:metrics()
  local st = self.sim:stats()
  local c = check.cost(self:history())
  c.attempts = st.attempts
  c.decisions = st.decisions
  c.nays = st.nays
  c.phase_timeouts = st.timeouts
  c.hook_errors = st.hook_errors
  c.messages = st.sent
  c.dropped = st.dropped
  c.rounds_per_decision = st.decisions > 0 and st.attempts / st.decisions or 0
  c.messages_per_decision = st.decisions > 0 and st.sent / st.decisions or 0
  c.preemptions = st.attempts - st.decisions
  c.first_grant_ms = M.first_grant(self.ops)
  c.resends = 0
  for _, op in ipairs(self.ops) do c.resends = c.resends + math.max(#(op.attempts or {}) - 1, 0) end
  return c
end

--- skinny.first_grant(ops) -> the earliest time a grant was answered, or nil
function M.first_grant(ops)
  local first
  for _, op in ipairs(ops) do
    if op.status == "granted" and op.complete and (not first or op.complete < first) then
      first = op.complete
    end
  end
  return first
end

--- lab:report(opts) -> the text `skinny run` prints
function Lab:report(o)
  return report.text(self, o or {})
end

function Lab:close()
  if self.sim then self.sim:close() end
end

--- skinny.sweep{ experiment =, seeds = {a, b}, jobs =, variant =, options... } -> summary
--- (scripts/skinny/sweep.lua; spec/LAB.md, "Sweeps"); jobs = 1 runs in this process
function M.sweep(o) return require("skinny.sweep").api(M, o) end

M.Lab = Lab
M.Client = Client
--- skinny.explore{ nodes =, clients = {{node =, ops = {...}}}, drops =, dups =, failovers =,
--- crashes =, wipes =, blank_votes =, timers =, max_depth =, max_states =, proposer =,
--- backoff =, lock =, builtin =, history = true, check = } -> result, or nil and a message:
--- every interleaving of a small configuration (spec/LAB.md "Exploring every
--- interleaving"). The run's history checkers are invariants unless history = false (or
--- check = a function of your own).
function M.explore(o)
  local c = {}
  for k, v in pairs(o or {}) do c[k] = v end
  c.scripts_dir = c.scripts_dir or M.scripts_dir
  if c.check == nil and c.history ~= false then
    c.check = require("skinny.explore_cli").history_check(M, not c.builtin and c.lock or nil)
  end
  c.history = nil
  return core.explore(c)
end

-- skinny.shrink: record, replay and shrink a failing run (scripts/skinny/shrink.lua;
-- loaded on first use: it requires this module)
M.shrink = setmetatable({}, { __index = function(_, k) return require("skinny.shrink")[k] end })
return M
