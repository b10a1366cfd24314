--[[
skinny.check -- safety checkers over a client history of lock operations.

    local check = require "skinny.check"
    local report = check.all(history)          -- run every checker
    print(check.format(report))

A history is an array of operations:

    { id = 17, client = "c1", op = "acquire" | "release" | "renew",
      lock = "printer", holder = "beaver",
      invoke = 120, complete = 135,            -- virtual ms; complete nil: no answer came
      status = "granted" | "refused" | "released" | "not_holder"   -- definite outcomes
             | "stale"                                                  -- settled, effect unknown
             | "contended" | "unavailable" | "error" | "timeout" | "down" | nil,
      token = 4353,                            -- fencing token of a grant
      by = "beaver",                           -- who holds it, for refused (optional)
      ttl = 10000,                             -- lease length, lease model only (optional)
      shared = true }                          -- an acquire asking for a shared hold (optional)

An operation is DEFINITE when it has a `complete` time and one of the four definite statuses;
every other operation (any other status, "error" included, or no `complete`) is INDEFINITE:
it may have taken effect at any moment after its invoke, or never. Except STALE (status
"stale" with a `complete` time, spec/PROTOCOL.md 8): the request is settled, no copy of it
can take effect after the answer, so it took effect between its invoke and its complete,
or never (a BOUNDED indefinite op). Real-time order is
strict: a precedes b only when a.complete < b.invoke; equal times count as concurrent.
Locks are independent registers and are checked one at a time. A malformed operation
(unknown `op`, no `lock`/`holder`, no numeric `invoke`, complete before invoke) raises an
error naming its index in the history.

THE MODELS (opts.model)
  opts.model is the model a lock script declares (spec/HOOKS.md, "The model"): a model
  table, or a lock script's name or path (skinny.models); default "lock", the advisory
  script's model. A model has `engine` = "lock" or "lease" (below), or `init` and `step`
  (a sequential specification without time, run through an adapter: states interned by
  their canonical text; `step(state, op, params)` answers {status=, holder=}, where op is
  {op=, holder=, ttl=, shared=}); its `max_holders` (default 1; a function of the params
  for a semaphore's permits) bounds the single-holder check, and its optional
  `invariant(holds, params)` (holds: array of {holder=, shared=, token=}, all certainly
  held at one moment) returns nil or why they may not be held at once (a read-write lock:
  a writer with anyone else). opts.lock_params override the model's params.
  engine "lock", per lock, state = holder or free:
    acquire by h: free -> granted, held by h; held by h -> granted (re-entrant, unchanged);
                  held by g -> refused (a recorded `by` must be g), unchanged.
    release by h: held by h -> released, free; otherwise not_holder (a recorded `by` must
                  be the holder, or h itself: a fenced release, see matches), unchanged.
    renew by h:   held by h -> granted, unchanged; otherwise not_holder, unchanged.
  engine "lease": the lock model plus expiry. A grant (acquire or renew, granted) with a
    ttl (op.ttl, else opts.ttl, else the model's params.ttl; less params.drift) makes the
    lease run until at least t + ttl, where t is the grant's invoke or, if later, the
    latest invoke among the state-changing ops placed
    before it in the order being searched (its point comes after theirs). A grant with no
    ttl at all sets a lease that never expires (a renewal included). t is the earliest
    the server can have applied the grant on its own clock, so t + ttl is the earliest the
    lease can run out, and the choice never flags a correct server. An operation that
    may take effect after that moment (the latest point it can have in that order is
    later) may see the lock as held or as free, since servers may expire leases lazily.
    So an acquire invoked after the previous grant's complete + ttl may always be
    granted, as may some invoked a little earlier: this is looser than "free only for
    ops invoked after complete + ttl", never stricter.

THE CHECKERS

check.single_holder(history, opts) -> ok, violations
  At no time more holders than the model's max_holders (1: no two at once).
  From definite grants only (acquire or renew, status granted): a grant of h completing at
  c is certainly held from c until the invoke time of the first release by h on that lock
  that could come after the grant (a "released" one, or an indefinite one, whose complete
  is not before the grant's invoke), or the end of the history; in the lease model also no
  later than invoke + ttl of the grant or of any grant to h that may come after it (a
  renewal may reset the lease). Two such holds by different holders that overlap
  (from < to, strictly) are a violation: both held at once in every possible order.
  (A stale release counts like an indefinite one whose complete is its own: it cannot end
  a hold granted after it completed.)
  violations: array of { lock=, a={holder=, token=, from=, to=, op=}, b={...}, from=, to=,
  open=bool, text="lock printer held by beaver (token 4353) and giraffe (token 4610) at
  once from t=120 to t=180" }. A hold with no end runs to the end of the history: its
  `to` is the largest time in the history and `open` is true. At most opts.max_violations
  (default 100) are collected. With max_holders n > 1 a violation is n + 1 holds at once,
  with holds = the array of them. A model with an invariant: a violation each time a new
  hold joins holds the invariant refuses, with its reason. opts: model, ttl,
  max_violations, lock_params.

check.tokens(history, opts) -> ok, violations
  Per lock, over definite grants that carry a token: when grant a precedes grant b in real
  time (a.complete < b.invoke), b.token must be strictly greater than a.token if the
  holders differ or a "released" release happened between them (a.complete < r.invoke and
  r.complete < b.invoke; on a lock where some acquire waited in a queue, only a release by
  a's holder counts, since a waiter that leaves the queue is answered "released" too), and
  must not be smaller otherwise (a re-entrant grant may keep
  its token). With a model several may hold at once (max_holders above 1, or an
  invariant), holds overlap and a holder may hear its token again: b.token must exceed
  every token granted before it, unless it is b's holder's own latest earlier token and
  that holder released nothing in between (a re-entrant acquire or a renew). violations:
  array of { lock=, a=<earlier op>, b=<later op>, text= }, one for each offending grant b
  at most, at most opts.max_violations (default 100). opts: model, lock_params.

check.linearizable(history, opts) -> ok, info
  Is there, for every lock, one order of the operations that respects real time and that
  the model accepts? Definite ops must all be placed with their recorded outcome;
  indefinite ops may be placed anywhere after their invoke with whatever outcome the model
  gives, or left out; a stale op is placed between its invoke and its complete like a
  definite one, either with whatever outcome the model gives or with no effect at all.
  A depth-first search in the manner of Wing & Gong and Lowe over (ops placed, model
  state), memoised on that pair, per lock (P-compositionality).
  Prunings, each exact (none loses a valid order): an indefinite op is only placed where
  it changes the state for the better (leaving it out is otherwise as good); indefinite
  ops with the same effect are interchangeable, so they are placed earliest-invoked
  first; a node that has placed more indefinite ops (and, for leases, holds a lease no
  shorter) than a visited node with the same definite ops and holder is skipped; a
  definite op that cannot change the state (refused, not_holder, and a granted renew in
  the lock model) and fits the current state is placed at once without alternatives.
  opts: model, ttl, budget = the most search steps per lock (default 2e6).
  ok = true:  info = { ops=, locks=, steps=, text= }
  ok = false: info = { lock=, op=<the original op table that could not be placed>,
                       prefix=<number of definite ops of that lock placed before getting
                       stuck, at the deepest point reached>, definite=<their total>,
                       state=<"held by beaver" | "free" ...>, last=<op placed just
                       before, or nil>, steps=, text= }
  ok = nil:   info = { unknown=true, lock=, steps=, budget=, text= } when the budget ran
              out (the answer is not known; raise opts.budget).

check.all(history, opts) -> report
  Runs the three checkers and check.cost. report = { ok=bool (every check passed),
  unknown=bool, cost=<check.cost>, checks={ {name="single_holder", label=, ok=, text=,
  violations=}, {name="linearizable", label=, ok=(true|false|nil), text=, info=},
  {name="fencing_tokens", label=, ok=, text=, violations=} } }.

check.format(report) -> string
  One line per check: "  PASS  single holder: 0 overlaps over 3 locks",
  "  FAIL  linearizable: lock printer: ...", "  ????  linearizable: ... gave up ...".

check.cost(history) -> counts
  { ops, completed (ops with a complete time), granted, refused, released, not_holder
  (definite outcomes), indefinite, stale (indefinite ops answered stale), mean_latency_ms,
  p99_latency_ms } with latency =
  complete - invoke over the completed ops (nearest-rank p99; both 0 when none completed).

check.describe(op) -> string
  "op 17 (client c2: acquire by giraffe -> granted token 4610, t=120..135)".
]]

local M = {}

local huge = math.huge
local floor = math.floor
local sort = table.sort
local concat = table.concat
local format = string.format

local DEFINITE = { granted = true, refused = true, released = true, not_holder = true,
                   queued = true }
local OPS = { acquire = true, release = true, renew = true }
local DEFAULT_BUDGET = 2e6
local DEFAULT_MAX_VIOLATIONS = 100

-- Formatting ---------------------------------------------------------------------------

local function fmt_t(x)
  if x == nil then return "?" end
  if x == huge then return "inf" end
  if x == floor(x) and x > -2 ^ 53 and x < 2 ^ 53 then return format("%d", floor(x)) end
  return format("%.3f", x)
end

local function str(v) return tostring(v) end

function M.describe(op)
  local who = op.client ~= nil and ("client " .. str(op.client) .. ": ") or ""
  local out
  local status = op.status
  if status == nil then
    out = "no answer"
  elseif status == "granted" and op.token ~= nil then
    out = "granted token " .. str(op.token)
  elseif status == "refused" and op.by ~= nil then
    out = "refused, held by " .. str(op.by)
  elseif status == "queued" and op.position ~= nil then
    out = "queued at place " .. str(op.position)
  else
    out = str(status)
  end
  if op.complete == nil or not DEFINITE[status] then out = out .. " (indefinite)" end
  local q = op.queued
  if q ~= nil then out = format("queued at place %s (t=%s), then %s", str(q.position), fmt_t(q.t), out) end
  return format("op %s (%s%s%s by %s -> %s, t=%s..%s)", str(op.id), who, str(op.op),
    op.shared and " shared" or "", str(op.holder),
    out, fmt_t(op.invoke), fmt_t(op.complete))
end

-- An internal record for people: its op, and which part of a waiting acquire it is.
local function describe_rec(rec)
  if rec.part == "queue" then return M.describe(rec.op) .. ", joining the queue" end
  if rec.part == "wait" then return M.describe(rec.op) .. ", waiting in the queue" end
  return M.describe(rec.op)
end

-- Input ---------------------------------------------------------------------------------

local function bad(i, op, what)
  error(format("skinny.check: history[%d] (id %s): %s", i, str(op.id), what), 0)
end

-- Internal record for each op: the original table plus what the checkers need.
local function normalize(history)
  if type(history) ~= "table" then
    error("skinny.check: the history must be an array of operations, got a " .. type(history), 0)
  end
  local recs = {}
  for i, op in ipairs(history) do
    if type(op) ~= "table" then
      error(format("skinny.check: history[%d] is a %s, expected an operation table", i, type(op)), 0)
    end
    if not OPS[op.op] then
      bad(i, op, "field 'op' must be \"acquire\", \"release\" or \"renew\", got " .. str(op.op))
    end
    if op.lock == nil then bad(i, op, "field 'lock' (the lock's name) is missing") end
    if op.holder == nil then bad(i, op, "field 'holder' is missing") end
    if type(op.invoke) ~= "number" then bad(i, op, "field 'invoke' must be a number (ms), got " .. str(op.invoke)) end
    if op.complete ~= nil and (type(op.complete) ~= "number" or op.complete < op.invoke) then
      bad(i, op, "field 'complete' must be nil or a number no smaller than 'invoke', got " .. str(op.complete))
    end
    local q = op.queued
    if q ~= nil and (op.op ~= "acquire" or type(q) ~= "table"
                     or (q.t ~= nil and (type(q.t) ~= "number" or q.t < op.invoke
                                         or (op.complete ~= nil and op.complete < q.t)))) then
      bad(i, op, "field 'queued' must be {t=, position=} on an acquire, with invoke <= t <= complete"
        .. " (t nil: queued at a time not known)")
    end
    local definite = op.complete ~= nil and DEFINITE[op.status] == true
    if q == nil then
      recs[#recs + 1] = {
        seq = #recs + 1, op = op, kind = op.op, lock = op.lock, holder = op.holder, by = op.by,
        invoke = op.invoke, complete = op.complete, status = op.status, definite = definite,
        token = op.token, ttl = op.ttl, position = op.status == "queued" and op.position or nil,
        fence = op.fence, shared = op.shared == true or nil,
        -- settled with its effect unknown: took effect by its complete, or never
        bounded = op.complete ~= nil and op.status == "stale",
      }
    else
      -- A waiting acquire is two operations: joining the queue (answered queued at q.t,
      -- with its place), then waiting (from q.t to the last answer: the one that said
      -- granted, refused or still queued, or none), placed after the first. When the client
      -- never heard the queued answer (it was lost; a later copy's answer said the request
      -- had waited: PROTOCOL.md 7.4), both span the whole op.
      local qt = q.t or op.complete
      local join = {
        seq = #recs + 1, op = op, kind = "acquire", lock = op.lock, holder = op.holder,
        by = q.by, invoke = op.invoke, complete = qt, status = "queued", definite = qt ~= nil,
        ttl = op.ttl, position = q.position, part = "queue", shared = op.shared == true or nil,
      }
      recs[#recs + 1] = join
      recs[#recs + 1] = {
        seq = #recs + 1, op = op, kind = "wait", lock = op.lock, holder = op.holder, by = op.by,
        invoke = q.t or op.invoke, complete = op.complete, status = op.status, definite = definite,
        token = op.token, ttl = op.ttl, position = op.status == "queued" and op.position or nil,
        bounded = op.complete ~= nil and op.status == "stale", part = "wait", after = join,
        shared = op.shared == true or nil,
      }
    end
  end
  return recs
end

-- Group records by lock; lock names sorted (as strings) for a stable order of reports.
local function group(recs)
  local bylock, names = {}, {}
  for _, r in ipairs(recs) do
    local l = bylock[r.lock]
    if not l then
      l = {}
      bylock[r.lock] = l
      names[#names + 1] = r.lock
    end
    l[#l + 1] = r
  end
  sort(names, function(a, b) return str(a) < str(b) end)
  return bylock, names
end

local function history_end(recs)
  local e = 0
  for _, r in ipairs(recs) do
    local t = r.complete or r.invoke
    if t > e then e = t end
  end
  return e
end

-- The model the history is checked against (skinny.models): opts.model, a model table or
-- a lock script's name or path, default "lock" (the advisory script's model).
local function get_model(opts)
  return require("skinny.models").resolve(opts and opts.model, opts)
end

-- A lease model's lease length for a grant: its ttl, else opts.ttl, else the model's
-- default, less the clock drift the model tolerates; nil: the lease never runs out.
local function lease_ttl(model, opts, r)
  local ttl = r.ttl or opts.ttl or model.params.ttl
  if ttl == nil then return nil end
  return ttl - (model.params.drift or 0)
end

local function plural(n, one, many) return n == 1 and (n .. " " .. one) or (n .. " " .. (many or one .. "s")) end

-- Single holder -------------------------------------------------------------------------

-- How many elements of the non-decreasing array a are < x.
local function count_below(a, x)
  local lo, hi = 1, #a + 1
  while lo < hi do
    local mid = (lo + hi) // 2
    if a[mid] >= x then hi = mid else lo = mid + 1 end
  end
  return lo - 1
end

local function hold_text(lock, a, b, from, to, open)
  local function who(h)
    if h.token ~= nil then return format("%s (token %s)", str(h.holder), str(h.token)) end
    return str(h.holder)
  end
  local till = open and ("the end of the history (t=" .. fmt_t(to) .. ")") or ("t=" .. fmt_t(to))
  return format("lock %s held by %s and %s at once from t=%s to %s", str(lock), who(a), who(b), fmt_t(from), till)
end

local function public_hold(h, hend)
  return { holder = h.holder, token = h.token, from = h.from, to = h.to == huge and hend or h.to, op = h.op,
           shared = h.shared }
end

local function single_holder(recs, opts)
  opts = opts or {}
  local model = get_model(opts)
  local lease = model.engine == "lease"
  local bound = model.max_holders
  local invariant = model.invariant
  local limit = opts.max_violations or DEFAULT_MAX_VIOLATIONS
  local bylock, names = group(recs)
  local hend = history_end(recs)
  local violations = {}
  for _, lock in ipairs(names) do
    -- Per holder, the ops that may end or shorten a hold: releases ("released" or
    -- indefinite) and, for leases, grants that may reset the lease (acquire or renew,
    -- granted or indefinite). Each list is sorted by invoke with a prefix maximum of
    -- complete (indefinite: infinite), so the first op that may come after a grant's
    -- invoke is found by binary search.
    local rel, regrant = {}, {}
    local function add(t, r)
      local l = t[r.holder]
      if not l then l = { ops = {}, pm = {} }; t[r.holder] = l end
      l.ops[#l.ops + 1] = r
    end
    for _, r in ipairs(bylock[lock]) do
      if r.kind == "release" then
        if r.status == "released" or not r.definite then add(rel, r) end
      elseif lease and (r.status == "granted" or not r.definite) and lease_ttl(model, opts, r) then
        add(regrant, r)
      end
    end
    for _, t in ipairs { rel, regrant } do
      for _, l in pairs(t) do
        sort(l.ops, function(a, b) if a.invoke ~= b.invoke then return a.invoke < b.invoke end return a.seq < b.seq end)
        local best = -huge
        for i, r in ipairs(l.ops) do
          local c = (r.definite or r.bounded) and r.complete or huge
          if c > best then best = c end
          l.pm[i] = best
        end
      end
    end
    -- certain holds, per holder
    local holds_by = {}
    for _, g in ipairs(bylock[lock]) do
      if g.definite and g.status == "granted" then
        local e = huge
        local l = rel[g.holder]
        if l then
          -- the first release (by invoke) whose complete is not before the grant's invoke
          local r = l.ops[count_below(l.pm, g.invoke) + 1]
          if r then e = r.invoke end
        end
        l = lease and regrant[g.holder]
        if l then
          -- the lease runs at least until invoke + ttl of the grant, or of any later grant
          -- to the same holder that may have reset it (perhaps to a shorter ttl)
          local i = count_below(l.pm, g.invoke) + 1
          while l.ops[i] and l.ops[i].invoke < e do
            local r = l.ops[i]
            if not (r.definite or r.bounded) or r.complete >= g.invoke then
              local until_ = r.invoke + lease_ttl(model, opts, r)
              if until_ < e then e = until_ end
            end
            i = i + 1
          end
        end
        if g.complete < e then
          local hl = holds_by[g.holder]
          if not hl then hl = {}; holds_by[g.holder] = hl end
          hl[#hl + 1] = { holder = g.holder, token = g.token, from = g.complete, to = e, op = g.op, seq = g.seq,
                          shared = g.shared == true }
        end
      end
    end
    -- merge each holder's overlapping holds (re-entrant grants), then sweep
    local holds = {}
    for _, hl in pairs(holds_by) do
      sort(hl, function(a, b)
        if a.from ~= b.from then return a.from < b.from end
        return a.seq < b.seq
      end)
      local cur
      for _, h in ipairs(hl) do
        if cur and h.from <= cur.to then
          if h.to > cur.to then cur.to = h.to end
          cur.shared = cur.shared and h.shared -- shared only while every merged grant is
        else
          cur = { holder = h.holder, token = h.token, from = h.from, to = h.to, op = h.op, seq = h.seq,
                  shared = h.shared }
          holds[#holds + 1] = cur
        end
      end
    end
    sort(holds, function(a, b)
      if a.from ~= b.from then return a.from < b.from end
      return a.seq < b.seq
    end)
    local active = {}
    for _, x in ipairs(holds) do
      local keep = {}
      for _, y in ipairs(active) do
        if y.to > x.from then keep[#keep + 1] = y end
      end
      -- the holds still active are of distinct holders (each holder's are merged), all
      -- certainly held at x.from: more than the model allows, with x, is a violation
      if bound == 1 then
        for _, y in ipairs(keep) do
          if y.holder ~= x.holder and #violations < limit then
            local to = y.to < x.to and y.to or x.to
            local open = to == huge
            if open then to = hend end
            violations[#violations + 1] = {
              lock = lock, a = public_hold(y, hend), b = public_hold(x, hend), from = x.from, to = to, open = open,
              text = hold_text(lock, y, x, x.from, to, open),
            }
          end
        end
      elseif #keep >= bound and #violations < limit then
        local to, all, names_ = x.to, {}, {}
        for _, y in ipairs(keep) do
          if y.to < to then to = y.to end
          all[#all + 1] = public_hold(y, hend)
          names_[#names_ + 1] = str(y.holder)
        end
        all[#all + 1] = public_hold(x, hend)
        names_[#names_ + 1] = str(x.holder)
        local open = to == huge
        if open then to = hend end
        violations[#violations + 1] = {
          lock = lock, a = all[1], b = all[#all], holds = all, from = x.from, to = to, open = open,
          text = format("lock %s held by %d at once (%s; the model allows %d) from t=%s to %s", str(lock),
            #all, concat(names_, ", "), bound, fmt_t(x.from),
            open and ("the end of the history (t=" .. fmt_t(to) .. ")") or ("t=" .. fmt_t(to))),
        }
      end
      if invariant and #violations < limit then
        local all = {}
        for _, y in ipairs(keep) do all[#all + 1] = public_hold(y, hend) end
        all[#all + 1] = public_hold(x, hend)
        local iok, why = pcall(invariant, all, model.params)
        if not iok then
          error(format("skinny.check: model %s: invariant failed: %s", str(model.name), str(why)), 0)
        end
        if why ~= nil then
          local to, names_ = x.to, {}
          for _, y in ipairs(keep) do
            if y.to < to then to = y.to end
            names_[#names_ + 1] = str(y.holder) .. (y.shared and " (shared)" or " (exclusive)")
          end
          names_[#names_ + 1] = str(x.holder) .. (x.shared and " (shared)" or " (exclusive)")
          local open = to == huge
          if open then to = hend end
          violations[#violations + 1] = {
            lock = lock, a = all[1], b = all[#all], holds = all, from = x.from, to = to, open = open,
            text = format("lock %s held by %s at once from t=%s to %s: %s", str(lock),
              concat(names_, ", "), fmt_t(x.from),
              open and ("the end of the history (t=" .. fmt_t(to) .. ")") or ("t=" .. fmt_t(to)), str(why)),
          }
        end
      end
      keep[#keep + 1] = x
      active = keep
    end
  end
  return #violations == 0, violations, #names
end

function M.single_holder(history, opts)
  local ok, v = single_holder(normalize(history), opts)
  return ok, v
end

-- Fencing tokens ------------------------------------------------------------------------

local function token_text(lock, a, b, why)
  return format("lock %s: fencing token %s: %s was granted token %s (t=%s..%s)"
    .. " after %s was granted token %s (t=%s..%s)%s",
    str(lock), b.token < a.token and "went backwards" or "did not increase",
    str(b.holder), str(b.token), fmt_t(b.invoke), fmt_t(b.complete),
    str(a.holder), str(a.token), fmt_t(a.invoke), fmt_t(a.complete), why)
end

local function holder_of(r) return r.holder end

-- Per key (key(r); default the holder): the "released" releases by complete, with the
-- latest invoke so far; and the keys in the order first seen.
local function by_holder(rels, key)
  key = key or holder_of
  local hr, order = {}, {}
  for _, r in ipairs(rels) do
    local k = key(r)
    local l = hr[k]
    if not l then l = { c = {}, inv = {} }; hr[k] = l; order[#order + 1] = k end
    local n = #l.c
    l.c[n + 1] = r.complete
    l.inv[n + 1] = math.max(l.inv[n] or -huge, r.invoke)
  end
  return hr, order
end

-- Per key (key(g); default the holder): the grants' completes, and the grant with the
-- highest token so far.
local function grants_by(grants, key)
  key = key or holder_of
  local own = {}
  for _, g in ipairs(grants) do
    local k = key(g)
    local l = own[k]
    if not l then l = { c = {}, best = {} }; own[k] = l end
    local n = #l.c
    l.c[n + 1] = g.complete
    l.best[n + 1] = (l.best[n] and l.best[n].token > g.token) and l.best[n] or g
  end
  return own
end

local function tokens(recs, opts)
  opts = opts or {}
  local limit = opts.max_violations or DEFAULT_MAX_VIOLATIONS
  local bylock, names = group(recs)
  local violations, ngrants = {}, 0
  -- a lock several may hold at once (a model whose max_holders is above 1, or with an
  -- invariant): holds overlap, so a grant may keep its holder's token
  local model = get_model(opts)
  local multi = model.max_holders > 1 or model.invariant ~= nil
  for _, lock in ipairs(names) do
    local grants, rels = {}, {}
    for _, r in ipairs(bylock[lock]) do
      if r.definite then
        if r.status == "granted" and type(r.token) == "number" then grants[#grants + 1] = r
        elseif r.status == "released" then rels[#rels + 1] = r end
      end
    end
    ngrants = ngrants + #grants
    local by_complete = function(a, b)
      if a.complete ~= b.complete then return a.complete < b.complete end
      return a.seq < b.seq
    end
    sort(grants, by_complete)
    sort(rels, by_complete)
    -- prefix over grants by complete: best1 = highest token so far, best2 = highest token
    -- of a holder other than best1's
    local gc, best1, best2 = {}, {}, {}
    local b1, b2
    for i, g in ipairs(grants) do
      gc[i] = g.complete
      if b1 == nil or g.token > b1.token then
        if b1 ~= nil and g.holder ~= b1.holder then b2 = b1 end
        b1 = g
      elseif g.holder ~= b1.holder and (b2 == nil or g.token > b2.token) then
        b2 = g
      end
      best1[i], best2[i] = b1, b2
    end
    if multi then
      -- each grant's token exceeds every token granted before it (ballots grow), except
      -- that a holder may be granted its own latest token again (a re-entrant acquire or a
      -- renew) while it has not released since
      local hr = by_holder(rels)
      -- per holder: its grants by token, and its acquires whose outcome is unknown (a grant
      -- whose token nobody heard), by invoke
      local same, unknown = {}, {}
      for _, g in ipairs(grants) do
        local t = same[g.holder]
        if not t then t = {}; same[g.holder] = t end
        local l = t[g.token]
        if not l then l = {}; t[g.token] = l end
        l[#l + 1] = g
      end
      for _, r in ipairs(bylock[lock]) do
        if r.kind == "acquire" and not r.definite then
          local l = unknown[r.holder]
          if not l then l = {}; unknown[r.holder] = l end
          l[#l + 1] = r
        end
      end
      for _, l in pairs(unknown) do
        sort(l, function(x, y) if x.invoke ~= y.invoke then return x.invoke < y.invoke end return x.seq < y.seq end)
      end
      -- the highest token granted (answered) before time t, or nil
      local function top_before(t)
        local k = count_below(gc, t)
        return k >= 1 and best1[k] or nil
      end
      -- a "released" release by holder h invoked after t and answered before t2?
      local function released_between(h, t, t2)
        local r = hr[h]
        local j = r and count_below(r.c, t2) or 0
        return j >= 1 and r.inv[j] > t and r.inv[j] or nil
      end
      -- per holder: its grants' completes and the highest of its tokens so far
      local own = grants_by(grants)
      for _, b in ipairs(grants) do
        if #violations >= limit then break end
        local top = top_before(b.invoke)
        local mine = own[b.holder]
        local kh = count_below(mine.c, b.invoke)
        if kh >= 1 and b.token < mine.best[kh].token then
          -- below a token its own holder was answered before: never a re-grant
          top = mine.best[kh]
          violations[#violations + 1] = { lock = lock, a = top.op, b = b.op, text = token_text(lock, top, b, "") }
        elseif top and b.token <= top.token then
          -- b may re-grant its holder's token: from another grant of it with that token
          -- that may have taken effect first (invoked before b answered) with no release of
          -- the holder's in between, or from an acquire of the holder's whose answer nobody
          -- heard, invoked before b answered, whose token b's may be (above every token
          -- answered before it was invoked)
          local why = ""
          for _, g in ipairs(same[b.holder][b.token]) do
            if g ~= b and g.invoke < b.complete then
              local rt = released_between(b.holder, g.complete, b.invoke)
              if not rt then why = nil; break end
              why = format(" and %s released in between (invoked at t=%s)", str(b.holder), fmt_t(rt))
            end
          end
          if why ~= nil then
            for _, u in ipairs(unknown[b.holder] or {}) do
              if u.invoke >= b.complete then break end
              local t0 = top_before(u.invoke)
              if t0 == nil or b.token > t0.token then why = nil; break end
            end
          end
          if why then
            violations[#violations + 1] = { lock = lock, a = top.op, b = b.op, text = token_text(lock, top, b, why) }
          end
        end
      end
    else
      -- A release ends the grants before it. In a lock that never queued, any release
      -- ends every grant before it (it was its holder's, and the holder at that time holds
      -- by the latest grant): all releases count as one holder's. Where acquires queued, a
      -- release ends its own holder's grants only: a waiter that leaves the queue is
      -- answered "released" too, and ends nobody's grant.
      local queues = false
      for _, r in ipairs(bylock[lock]) do queues = queues or r.status == "queued" or r.part ~= nil end
      local key = queues and holder_of or function() return true end
      local hr, order = by_holder(rels, key)
      local own = grants_by(grants, key)
      for _, b in ipairs(grants) do
        if #violations >= limit then break end
        local bad_a, why
        local k = count_below(gc, b.invoke) -- grants that precede b
        if k >= 1 then
          local a1, a2 = best1[k], best2[k]
          if a1.holder ~= b.holder then
            if b.token <= a1.token then bad_a, why = a1, "" end
          else
            if b.token < a1.token then bad_a, why = a1, ""
            elseif a2 and b.token <= a2.token then bad_a, why = a2, "" end
          end
        end
        for _, h in ipairs(order) do
          if bad_a then break end
          local r, g = hr[h], own[h]
          local j = count_below(r.c, b.invoke) -- the key's releases that precede b
          if j >= 1 and g then
            local rb = r.inv[j]                -- the latest invoke among them
            local k2 = count_below(g.c, rb)    -- the key's grants that precede such a release
            if k2 >= 1 and b.token <= g.best[k2].token then
              bad_a, why = g.best[k2], format(" and a release%s in between (invoked at t=%s)",
                                              queues and (" by " .. str(h)) or "", fmt_t(rb))
            end
          end
        end
        if bad_a then
          violations[#violations + 1] = { lock = lock, a = bad_a.op, b = b.op, text = token_text(lock, bad_a, b, why) }
        end
      end
    end
  end
  return #violations == 0, violations, ngrants, #names
end

function M.tokens(history, opts)
  local ok, v = tokens(normalize(history), opts)
  return ok, v
end

-- Models for the linearizability search -------------------------------------------------
--
-- States are interned tables { id=, holder=, exp= } (holder nil: free; exp: the earliest
-- time the lease can run out, lease model only; -inf once it may have run out for every
-- op still to place), so states compare with ==.
-- model.step(state, rec, m, t) -> up to two successor states consistent with rec (for an
-- indefinite rec: every outcome the model allows), where rec takes effect no earlier than
-- t and no later than m at this point of the search.
-- model.canon(state, m) -> the state with a lease that may already have run out for every
-- op still to place (exp < m: m never decreases down a path) made one canonical state.
-- model.pure(rec) -> true for a definite op that never changes the state.

-- A state also has hid, a number naming its holder (0: free), and rank, its exp (-inf
-- when none): of two states with the same holder, the one of lower rank lets through
-- every sequence of ops that the other does (a lease that may run out sooner only adds
-- the choice of seeing the lock free).
local function new_states()
  local by_key, hids, n, nh = {}, {}, 0, 0
  return function(holder, exp)
    local hkey = holder == nil and "-" or (type(holder) .. ":" .. str(holder))
    local key = hkey
    if exp ~= nil then
      key = key .. "@" .. (math.type(exp) == "float" and format("%.17g", exp) or str(exp))
    end
    local s = by_key[key]
    if not s then
      local hid = hids[hkey]
      if not hid then
        hid = holder == nil and 0 or nh + 1
        if holder ~= nil then nh = hid end
        hids[hkey] = hid
      end
      n = n + 1
      s = { id = n, hid = hid, holder = holder, exp = exp, rank = exp or -huge }
      by_key[key] = s
    end
    return s
  end
end

-- The lock model's answer to rec when the holder is h0 (nil: free): result, new holder.
local function outcome(h0, rec)
  local kind, h = rec.kind, rec.holder
  if kind == "acquire" then
    if h0 == nil or h0 == h then return "granted", h end
    return "refused", h0
  elseif kind == "release" then
    if h0 == h then return "released", nil end
    return "not_holder", h0
  elseif kind == "wait" then
    -- the built-in models never queue, so no acquire waits; a wait hears what it holds
    if h0 == h then return "granted", h0 end
    return "refused", h0
  else
    if h0 == h then return "granted", h0 end
    return "not_holder", h0
  end
end

-- Does a recorded answer agree with the model's? Its status, the place a queued answer
-- gives, and the holder a refusal or a not_holder names (when the history records one).
-- Except a not_holder that names the asking holder itself on a release or renew that
-- carried a fence (op.fence): fenced with an earlier grant's token, it gets that answer
-- from the holder's own lock (spec/HOOKS.md, "fencing"), and the models do not know
-- tokens. (A duplicate's replayed answer names whom the first one named, nobody
-- included: PROTOCOL.md 9.1.)
local function matches(rec, result, h0, position)
  if not rec.definite then return true end
  if rec.status ~= result then return false end
  if position ~= nil and rec.position ~= nil and rec.position ~= position then return false end
  if rec.by ~= nil and rec.by ~= h0 then
    if result == "refused" then return false end
    if result == "not_holder" and (rec.by ~= rec.holder or rec.fence == nil) then return false end
  end
  return true
end

-- A canonical text for a model state (any Lua value), to intern states by: tables by
-- their sorted keys.
local function state_key(v, depth)
  local t = type(v)
  if t == "table" then
    depth = (depth or 0) + 1
    if depth > 20 then error("skinny.check: a model state nests too deep (or is cyclic)", 0) end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    sort(keys, function(a, b)
      if type(a) ~= type(b) then return type(a) < type(b) end
      if type(a) == "number" or type(a) == "string" then return a < b end
      return str(a) < str(b)
    end)
    local parts = {}
    for i, k in ipairs(keys) do parts[i] = state_key(k, depth) .. "=" .. state_key(v[k], depth) end
    return "{" .. concat(parts, ",") .. "}"
  elseif t == "string" then
    return format("%q", v)
  elseif t == "number" then
    return math.type(v) == "float" and format("%.17g", v) or str(v)
  elseif t == "nil" or t == "boolean" then
    return str(v)
  end
  error("skinny.check: a model state may hold only tables, strings, numbers and booleans, got a " .. t, 0)
end

local function deep_copy(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = deep_copy(x) end
  return out
end

-- A model given by its step function (skinny.models): states are interned by their
-- canonical text; every state is its own "holder" (hid), with no lease (rank -inf).
local function step_model(spec)
  local by_key, n = {}, 0
  local function intern(v)
    local k = state_key(v)
    local s = by_key[k]
    if not s then
      n = n + 1
      s = { id = n, hid = n, rank = -huge, value = v, key = k }
      by_key[k] = s
    end
    return s
  end
  local params = spec.params
  local model = { name = spec.name, spec = spec }
  local init = spec.init
  if type(init) == "function" then init = init(deep_copy(params)) end
  model.init = intern(deep_copy(init))
  -- no time and no fence in op: the prunings take ops of one kind, holder and ttl as
  -- interchangeable, which a step that looked at more would break
  function model.step(s, rec)
    local op = { op = rec.kind, holder = rec.holder, ttl = rec.ttl, shared = rec.shared }
    local ok, ns, ans = pcall(spec.step, deep_copy(s.value), op, params)
    if not ok then
      error(format("skinny.check: model %s: step failed on %s: %s", str(spec.name), describe_rec(rec), str(ns)), 0)
    end
    if type(ans) ~= "table" or type(ans.status) ~= "string" then
      error(format("skinny.check: model %s: step must return the new state and an answer {status=, holder=},"
        .. " got %s for %s", str(spec.name), type(ans), describe_rec(rec)), 0)
    end
    if not matches(rec, ans.status, ans.holder, ans.position) then return nil end
    return intern(ns)
  end
  function model.pure() return false end
  function model.may_change() return true end
  function model.class_key(rec)
    return rec.kind .. "\0" .. type(rec.holder) .. ":" .. str(rec.holder) .. "\0" .. str(rec.ttl)
      .. (rec.shared and "\0shared" or "")
  end
  return model
end

local function make_model(opts)
  opts = opts or {}
  local spec = get_model(opts)
  if not spec.engine then return step_model(spec) end
  local name = spec.name
  local state = new_states()
  local model = { name = name, spec = spec }
  if spec.engine == "lock" then
    model.init = state(nil)
    function model.step(s, rec)
      local r, nh = outcome(s.holder, rec)
      if matches(rec, r, s.holder) then return state(nh) end
      return nil
    end
    -- definite ops that never change the state
    function model.pure(rec)
      return rec.status == "refused" or rec.status == "not_holder" or (rec.kind == "renew" and rec.status == "granted")
    end
    function model.may_change(rec) return rec.kind ~= "renew" end
    function model.class_key(rec) return rec.kind .. "\0" .. type(rec.holder) .. ":" .. str(rec.holder) end
  else
    local free = state(nil)
    model.init = free
    local function view(s, h0, rec, t)
      local r, nh = outcome(h0, rec)
      if not matches(rec, r, h0) then return nil end
      if r == "granted" then
        local ttl = lease_ttl(spec, opts, rec)
        if ttl then return state(nh, t + ttl) end
        return state(nh, huge)
      end
      if nh == nil then return free end
      return s
    end
    function model.step(s, rec, m, t)
      local a = view(s, s.holder, rec, t)
      local b
      if s.holder ~= nil and m > s.exp then
        b = view(s, nil, rec, t) -- the lease may have run out: the server may see it free
        -- free is no better than s, whose lease may have run out for every later op too
        if b == a or (b == free and a == s) then b = nil end
      end
      if a == nil then return b end
      return a, b
    end
    function model.canon(s, m)
      if s.holder ~= nil and s.exp < m and s.exp ~= -huge then return state(s.holder, -huge) end
      return s
    end
    -- not_holder may free a lease that ran out, but keeping it is never worse
    function model.pure(rec) return rec.status == "refused" or rec.status == "not_holder" end
    function model.may_change() return true end
    -- same effect; the earlier invoked gives the earlier (weaker) lease bound, so placing
    -- the earliest-invoked first still loses nothing
    function model.class_key(rec)
      return rec.kind .. "\0" .. type(rec.holder) .. ":" .. str(rec.holder) .. "\0" .. str(rec.ttl)
    end
  end
  return model
end

local function describe_state(s)
  if s.key ~= nil then return "the model's state is " .. s.key end
  if s.holder == nil then return "the lock is free" end
  if s.exp == -huge then
    return format("the lock is held by %s (the lease may have run out)", str(s.holder))
  end
  if s.exp ~= nil and s.exp ~= huge then
    return format("the lock is held by %s (lease runs until at least t=%s)", str(s.holder), fmt_t(s.exp))
  end
  return "the lock is held by " .. str(s.holder)
end

-- Linearizability -----------------------------------------------------------------------

-- Search one lock's records. Returns "ok", steps | "fail", details | "unknown", details.
local function search_lock(recs, model, budget)
  local D, classes, class_index = {}, {}, {}
  for _, r in ipairs(recs) do
    if r.definite or r.bounded then
      D[#D + 1] = r -- a bounded op is placed within its window (with no effect, if need be)
    elseif model.may_change(r) then
      local ck = model.class_key(r)
      local c = class_index[ck]
      if not c then
        c = { ops = {} }
        class_index[ck] = c
        classes[#classes + 1] = c
      end
      c.ops[#c.ops + 1] = r
    end
  end
  local by_invoke = function(a, b)
    if a.invoke ~= b.invoke then return a.invoke < b.invoke end
    return a.seq < b.seq
  end
  sort(D, function(a, b)
    if a.invoke ~= b.invoke then return a.invoke < b.invoke end
    if a.complete ~= b.complete then return a.complete < b.complete end
    return a.seq < b.seq
  end)
  for _, c in ipairs(classes) do sort(c.ops, by_invoke) end
  sort(classes, function(a, b) return by_invoke(a.ops[1], b.ops[1]) end)

  local nd, ncls = #D, #classes
  local lin = {}          -- lin[i]: D[i] placed
  -- A wait (the second part of a queued acquire) comes after its first part: after[i] is
  -- the index in D of the part D[i] must follow (nil: none, or the part is not definite).
  local at_index, after = {}, {}
  for i = 1, nd do at_index[D[i]] = i end
  for i = 1, nd do
    if D[i].after then after[i] = at_index[D[i].after] end
  end
  local function ready(r, i)
    local a = i and after[i] or (r.after and at_index[r.after])
    return a == nil or lin[a] == true
  end
  local w = 0             -- D[1..w] all placed
  local extra = 0         -- placed D ops above w
  local nlin = 0          -- placed D ops
  local cnt = {}          -- cnt[c]: ops of class c placed (always its earliest-invoked ones)
  for i = 1, ncls do cnt[i] = 0 end
  local ncons = 0         -- indefinite ops placed
  -- tmax: the latest invoke among placed ops that may change the state (pure ones left
  -- out, so that placing them early changes nothing): the next op takes effect after it.
  local tmax = -huge
  local pure = {}         -- pure[i]: D[i] never changes the state
  for i = 1, nd do pure[i] = model.pure(D[i]) end
  local state = model.init
  local last = nil
  local memo = {}
  local steps = 0
  local best, best_state, best_op, best_last = -1, nil, nil, nil

  -- The memo. A node is (definite ops placed, state, indefinite ops placed per class).
  -- `seen` holds the exact nodes visited. `memo` is keyed by the definite ops placed and
  -- the holder: memo[key] = true once visited with no indefinite op placed and a state of
  -- the lowest rank, else the minimal (rank, per-class counts) it was visited with, as
  -- flat arrays {rank, class, count, ...} sorted by class. A node whose rank and counts
  -- are all at least those of one of these is subsumed: indefinite ops are optional and
  -- those of a class interchangeable, and a lower rank is never worse, so whatever
  -- completes it completes the visited one too, and the visited one did not complete
  -- (else the search would have stopped).
  local KEEP = 256 -- most minimal vectors kept per key (keeping fewer only prunes less)
  local seen = {}
  local function leq(a, b)
    if a[1] > b[1] then return false end
    local j, nb = 2, #b
    for i = 2, #a, 2 do
      local c = a[i]
      while j <= nb and b[j] < c do j = j + 2 end
      if j > nb or b[j] ~= c or b[j + 1] < a[i + 1] then return false end
    end
    return true
  end
  -- Visit the current node: false if the memo already covers it, else record it.
  local function visit(k)
    local entry = memo[k]
    if entry == true then return false end
    if ncons == 0 and state.rank == -huge then
      memo[k] = true
      return true
    end
    local v = { state.rank }
    if ncons > 0 then
      for ci = 1, ncls do
        if cnt[ci] > 0 then
          v[#v + 1] = ci
          v[#v + 1] = cnt[ci]
        end
      end
    end
    local full = k .. "|" .. state.id .. "|" .. concat(v, ",", 2)
    if seen[full] then return false end
    seen[full] = true
    if entry == nil then
      memo[k] = { v }
      return true
    end
    for e = 1, #entry do
      if leq(entry[e], v) then return false end
    end
    local j = 0
    for e = 1, #entry do
      local u = entry[e]
      if not leq(v, u) then
        j = j + 1
        entry[j] = u
      end
    end
    for e = #entry, j + 1, -1 do entry[e] = nil end
    if j < KEEP then entry[j + 1] = v end
    return true
  end

  local function key()
    local k = state.hid .. "|" .. w
    if extra > 0 then
      local buf, n, i = { k }, 0, w + 2
      while n < extra do
        if lin[i] then
          n = n + 1
          buf[#buf + 1] = i
        end
        i = i + 1
      end
      k = concat(buf, ",")
    end
    return k
  end

  -- m: the earliest complete among unplaced definite ops (huge when none), and that op.
  -- Every op placed next must be invoked no later than m, and takes effect by m.
  local function deadline()
    local m, mop = huge, nil
    local i = w + 1
    while i <= nd do
      local r = D[i]
      if r.invoke > m then break end
      if not lin[i] and r.complete < m then
        m, mop = r.complete, i
      end
      i = i + 1
    end
    return m, mop
  end

  -- Children of the current node as a flat array {kind, index, state, ...} (kind 1: D[index],
  -- kind 2: next op of classes[index]).
  local function expand(m, mop)
    if nlin > best then
      best, best_state, best_op, best_last = nlin, state, D[mop], last
    end
    local ch, n = {}, 0
    local i = w + 1
    while i <= nd do
      local r = D[i]
      if r.invoke > m then break end
      if not lin[i] and ready(r, i) then
        local t = r.invoke > tmax and r.invoke or tmax
        local s1, s2 = model.step(state, r, m, t)
        if s1 and s1 == state and pure[i] then
          -- placing it now loses nothing: wherever else it goes it changes neither the
          -- state (or for the worse) nor tmax, and the ops before it only gain room
          return { 1, i, s1 }
        end
        if s1 then
          ch[n + 1], ch[n + 2], ch[n + 3] = 1, i, s1
          n = n + 3
        end
        if s2 then
          ch[n + 1], ch[n + 2], ch[n + 3] = 1, i, s2
          n = n + 3
        end
        if r.bounded and s1 ~= state and s2 ~= state then
          -- a stale op may have had no effect at all
          ch[n + 1], ch[n + 2], ch[n + 3] = 1, i, state
          n = n + 3
        end
      end
      i = i + 1
    end
    for ci = 1, ncls do
      local r = classes[ci].ops[cnt[ci] + 1]
      if r and r.invoke <= m and ready(r) then
        -- an indefinite op is only worth placing where it leads to a state no worse
        -- than staying put (not the same holder with a lease as long or longer)
        local s1, s2 = model.step(state, r, m, r.invoke > tmax and r.invoke or tmax)
        if s1 and (s1.hid ~= state.hid or s1.rank < state.rank) then
          ch[n + 1], ch[n + 2], ch[n + 3] = 2, ci, s1
          n = n + 3
        end
        if s2 and (s2.hid ~= state.hid or s2.rank < state.rank) then
          ch[n + 1], ch[n + 2], ch[n + 3] = 2, ci, s2
          n = n + 3
        end
      end
    end
    return ch
  end

  local u_kind, u_idx, u_state, u_w, u_extra, u_last, u_tmax = {}, {}, {}, {}, {}, {}, {}
  local function apply(d, kind, idx, s)
    u_kind[d], u_idx[d], u_state[d], u_w[d], u_extra[d], u_last[d] = kind, idx, state, w, extra, last
    u_tmax[d] = tmax
    if kind == 1 then
      lin[idx] = true
      nlin = nlin + 1
      if idx == w + 1 then
        w = idx
        while lin[w + 1] do
          w = w + 1
          extra = extra - 1
        end
      else
        extra = extra + 1
      end
      last = D[idx]
    else
      cnt[idx] = cnt[idx] + 1
      ncons = ncons + 1
      last = classes[idx].ops[cnt[idx]]
    end
    if last.invoke > tmax and (kind == 2 or not pure[idx]) then tmax = last.invoke end
    state = s
  end
  local function undo(d)
    if u_kind[d] == 1 then
      lin[u_idx[d]] = nil
      nlin = nlin - 1
    else
      cnt[u_idx[d]] = cnt[u_idx[d]] - 1
      ncons = ncons - 1
    end
    state, w, extra, last, tmax = u_state[d], u_w[d], u_extra[d], u_last[d], u_tmax[d]
  end

  -- Enter the current node: nil if the memo covers it, "ok" if every definite op is
  -- placed, else its children.
  local canon = model.canon
  local function enter()
    local m, mop = deadline()
    if canon then state = canon(state, m) end
    if not visit(key()) then return nil end
    if nlin == nd then return "ok" end
    return expand(m, mop)
  end

  local root = enter()
  if root == "ok" then return "ok", steps end
  local frames, pos = { root }, { 0 }
  local depth = 1
  while depth > 0 do
    local ch, p = frames[depth], pos[depth]
    if p >= #ch then
      frames[depth] = nil
      depth = depth - 1
      if depth > 0 then undo(depth) end
    else
      pos[depth] = p + 3
      apply(depth, ch[p + 1], ch[p + 2], ch[p + 3])
      steps = steps + 1
      if steps > budget then
        return "unknown", { steps = steps, prefix = best, definite = nd }
      end
      local sub = enter()
      if sub == nil then
        undo(depth)
      elseif sub == "ok" then
        return "ok", steps
      else
        depth = depth + 1
        frames[depth], pos[depth] = sub, 0
      end
    end
  end
  return "fail", { steps = steps, prefix = best, definite = nd, state = best_state, op = best_op, last = best_last }
end

local function linearizable(recs, opts)
  opts = opts or {}
  local model = make_model(opts)
  local budget = opts.budget or DEFAULT_BUDGET
  local bylock, names = group(recs)
  local total, unknown = 0, nil
  for _, lock in ipairs(names) do
    local res, d = search_lock(bylock[lock], model, budget)
    if res == "ok" then
      total = total + d
    elseif res == "fail" then
      total = total + d.steps
      local text = format("lock %s: %s cannot be linearized: after %d of %d definite ops, %s%s",
        str(lock), describe_rec(d.op), d.prefix, d.definite, describe_state(d.state),
        d.last and (" (last placed: " .. describe_rec(d.last) .. ")") or "")
      return false, {
        lock = lock, op = d.op.op, prefix = d.prefix, definite = d.definite,
        state = describe_state(d.state), last = d.last and d.last.op or nil, steps = total, text = text,
      }
    else
      total = total + d.steps
      unknown = unknown or {
        unknown = true, lock = lock, budget = budget,
        text = format("lock %s: gave up after %d search steps (budget %d) with %d of %d definite ops placed;"
          .. " linearizability not known, raise opts.budget", str(lock), d.steps, budget, math.max(d.prefix, 0),
          d.definite),
      }
    end
  end
  if unknown then
    unknown.steps = total
    return nil, unknown
  end
  return true, {
    ops = #recs, locks = #names, steps = total,
    text = format("%s over %s linearizable as a %s (%d search steps)", plural(#recs, "op"),
      plural(#names, "lock"), model.name, total),
  }
end

function M.linearizable(history, opts)
  return linearizable(normalize(history), opts)
end

-- Cost ----------------------------------------------------------------------------------

local function cost(recs)
  local c = {
    ops = #recs, completed = 0, granted = 0, refused = 0, released = 0, not_holder = 0,
    indefinite = 0, stale = 0, mean_latency_ms = 0, p99_latency_ms = 0, queued = 0,
  }
  local lat, sum = {}, 0
  for _, r in ipairs(recs) do
    -- a waiting acquire counts once, by its wait's outcome; queued: ops that waited
    if r.part == "queue" then
      c.ops = c.ops - 1
      c.queued = c.queued + 1
    elseif r.complete ~= nil then
      c.completed = c.completed + 1
      local l = r.complete - r.op.invoke
      lat[#lat + 1] = l
      sum = sum + l
    end
    if r.part == "queue" then -- luacheck: ignore 542
    elseif r.definite then
      c[r.status] = (c[r.status] or 0) + 1
    else
      c.indefinite = c.indefinite + 1
      if r.status == "stale" then c.stale = c.stale + 1 end
    end
  end
  if #lat > 0 then
    sort(lat)
    c.mean_latency_ms = sum / #lat
    c.p99_latency_ms = lat[math.max(1, math.ceil(0.99 * #lat))]
  end
  return c
end

function M.cost(history)
  return cost(normalize(history))
end

-- All -----------------------------------------------------------------------------------

function M.all(history, opts)
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  o.model = get_model(o) -- found once for the three checkers, with the lock_params
  o.lock_params = nil
  opts = o
  local recs = normalize(history)
  local checks = {}

  local ok1, v1, nlocks = single_holder(recs, opts)
  local t1
  if ok1 then
    t1 = format("0 overlaps over %s", plural(nlocks, "lock"))
  else
    t1 = v1[1].text
    if #v1 > 1 then t1 = t1 .. format(" (and %s)", plural(#v1 - 1, "more overlap")) end
  end
  checks[1] = { name = "single_holder", label = "single holder", ok = ok1, text = t1, violations = v1 }

  local ok2, info2 = linearizable(recs, opts)
  checks[2] = { name = "linearizable", label = "linearizable", ok = ok2, text = info2.text, info = info2 }

  local ok3, v3, ngrants, nl3 = tokens(recs, opts)
  local t3
  if ok3 then
    t3 = format("%s over %s, never out of order", plural(ngrants, "token"), plural(nl3, "lock"))
  else
    t3 = v3[1].text
    if #v3 > 1 then t3 = t3 .. format(" (and %s)", plural(#v3 - 1, "more violation")) end
  end
  checks[3] = { name = "fencing_tokens", label = "fencing tokens", ok = ok3, text = t3, violations = v3 }

  return {
    ok = ok1 and ok2 == true and ok3,
    unknown = ok2 == nil,
    checks = checks,
    cost = cost(recs),
  }
end

function M.format(report)
  local lines = {}
  for _, c in ipairs(report.checks) do
    local tag = c.ok == true and "PASS" or (c.ok == nil and "????" or "FAIL")
    lines[#lines + 1] = format("  %s  %s: %s", tag, c.label or c.name, c.text)
  end
  return concat(lines, "\n")
end

return M
