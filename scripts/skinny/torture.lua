-- skinny.torture: a nemesis against real daemons, the `skinny torture`
-- command (spec/DAEMON.md, "Torture").
--
-- A lab of real skinnyd processes on 127.0.0.1 (skinny.real); clients, one
-- holder each, hammer a few locks (some of them leases) and fail over from
-- instance to instance with the same request (skinnyctl's policy); a nemesis
-- slows instances for seconds, partitions, SIGKILLs and restarts them (some
-- of the restarts blank: the data directory wiped, the instance rejoins
-- before it votes), and never impairs a majority at once (down, blank until
-- rejoined, slowed and cut off together are at most (N - 1) / 2). It
-- drives only the documented lab commands (skinny lab kill / restart
-- [--wipe] / partition / heal / slow, through skinny.real), printing each
-- with --verbose, so any run can be replayed by hand. The clients' own
-- history (invoke and complete, JSON lines as `skinny check` reads them, with
-- the faults and every resend) is written as it happens, then checked: single
-- holder, linearizable, fencing tokens. Exit status: 0 every check holds, 1 a
-- check failed (or could not finish), 2 bad usage or the lab did not start.
local cjson = require "cjson"

local M = {}

local USAGE = [[
usage: skinny torture [options]    a nemesis against a lab of real daemons
  --duration D      how long the nemesis runs (default 20s; 250ms, 10s, 2m)
  --clients N       client holders (default 6), one op at a time each
  --locks N         locks (default 3)
  --lease-locks N   of which the last N are leases of --ttl (default 1);
                    the others are taken for an hour (never lapse in a run)
  --ttl D           the short leases' length (default 2s)
  --timeout D       an op's whole time, failover included (default 3s)
  --nodes N         instances (default 5)
  --seed N          the nemesis' and the clients' choices (default: the clock)
  --history FILE    keep the history there (default: a temporary file, kept
                    only when a check fails)
  --dir DIR         the lab's run directory (default: a temporary one)
  --phase-timeout D (default 300ms)
  --proposer X, --backoff X, --lock X   scripts, as `skinny lab up` takes
                    them (default paxos, exponential_jitter, lease)
  --fsync           fdatasync every batch (default off: SIGKILL keeps what was
                    written, so only a machine crash would need it)
  --wipe            some restarts are blank (`lab restart --wipe`: the instance
                    lost its state and rejoins before it votes): ON by default;
                    the first restart and a third of the others, never more
                    than a minority blank or down
  --no-wipe         no blank restarts
  --no-kill, --no-slow, --no-partition   leave a fault out
  --keep            keep the lab's directory (logs, data)
  --budget N        linearizability search steps per lock (default 2e6)
  --verbose         print every nemesis command as it runs
exit status: 0 every check holds, 1 a check failed or gave up, 2 bad usage]]

local HOLDERS = { "beaver", "otter", "giraffe", "heron", "marten", "badger", "lynx", "ibex",
                  "stoat", "vole", "wombat", "yak" }
local LOCKS = { "printer", "scanner", "stapler", "plotter", "kettle", "projector", "locker",
                "boiler" }
local LONG_TTL = 3600000 -- "no lease": an hour, longer than any run

local function die(msg)
  io.stderr:write("skinny torture: ", msg, "\n")
  os.exit(2)
end

-- "250ms", "10s", "2m", "1.5s", "1h"; a bare number is milliseconds.
local function duration(flag, v)
  local n, unit = tostring(v):match("^(%d+%.?%d*)(%a*)$")
  local mul = ({ [""] = 1, ms = 1, s = 1000, m = 60000, min = 60000, h = 3600000 })[unit or ""]
  if not n or not mul then die(("%s expects a duration like 500ms, 10s or 2m, not '%s'")
                               :format(flag, tostring(v))) end
  return math.floor(tonumber(n) * mul + 0.5)
end

local function parse(argv)
  local o = { duration = 20000, clients = 6, locks = 3, lease_locks = 1, ttl = 2000,
              timeout = 3000, nodes = 5, phase_timeout = 300, lock = "lease",
              proposer = "paxos", backoff = "exponential_jitter" }
  local kinds = { duration = duration, clients = "int", locks = "int", ["lease-locks"] = "int",
                  ttl = duration, timeout = duration, nodes = "int", seed = "int", history = "str",
                  dir = "str", ["phase-timeout"] = duration, proposer = "str", backoff = "str",
                  lock = "str", fsync = "flag", wipe = "flag", ["no-wipe"] = "flag",
                  ["no-kill"] = "flag",
                  ["no-slow"] = "flag", ["no-partition"] = "flag", keep = "flag",
                  verbose = "flag", budget = "int" }
  local given, pos = require("skinny.args").parse(argv, kinds, die, USAGE, true)
  if pos[1] then die(("unknown argument '%s'\n\n%s"):format(pos[1], USAGE)) end
  for k, v in pairs(given) do o[k] = v end
  if o.clients < 1 or o.clients > #HOLDERS then die(("--clients: 1 to %d"):format(#HOLDERS)) end
  if o.locks < 1 or o.locks > #LOCKS then die(("--locks: 1 to %d"):format(#LOCKS)) end
  if o.lease_locks < 0 or o.lease_locks > o.locks then die("--lease-locks: 0 to --locks") end
  if o.nodes < 3 or o.nodes > 16 then die("--nodes: 3 to 16 (a nemesis needs a minority)") end
  if o.duration < 1 or o.timeout < 250 or o.ttl < 1 then
    die("--duration, --ttl must be positive, --timeout at least 250ms")
  end
  o.seed = o.seed or os.time()
  if o.wipe and o.no_wipe then die("--wipe and --no-wipe: choose one") end
  o.wipe = not o.no_wipe
  return o
end

-- The workload ------------------------------------------------------------------------

-- What a client knows of a lock it may hold: nil (it does not hold it),
-- { token = } (it does, by a definite answer), or "unknown" (its last op on
-- it had no definite answer). It only fences (release/renew with the token)
-- when it knows the grant, and it finds out with a release before it
-- acquires again after an unknown outcome, so that no acquire of it is ever
-- re-entrant (the lease script and its model now agree that a re-entrant
-- grant extends the lease, issue 11; the habit is kept, the runs unchanged).
local function next_op(st, cl)
  if st.stopping then cl.busy = false; return end
  local now = st.lab:now()
  local free = {}
  for _, L in ipairs(st.locks) do
    if not (cl.away[L.name] and cl.away[L.name] > now) then free[#free + 1] = L end
  end
  if #free == 0 then -- every lock left to lapse: wait a little
    cl.busy = false
    st.lab:after(50, function() if not cl.busy then cl.busy = true; next_op(st, cl) end end)
    return
  end
  local L = free[st.rng(#free)]
  local k = cl.known[L.name]
  local node = st.lab.names[st.rng(#st.lab.names)]
  local o = { node = node }
  local op
  if type(k) == "table" then
    if L.lease and st.rng(10) <= 3 then
      op, o.ttl = "renew", L.ttl
    else
      op = "release"
    end
    if st.rng(10) <= 7 then o.token = k.token end
  elseif k == "unknown" then
    op = "release"
  else
    op, o.ttl = "acquire", L.ttl
  end
  cl.busy = true
  cl.client:invoke(op, L.name, o)
end

local INDEFINITE_NAMES = { "timeout", "unavailable", "contended", "down", "stale", "error" }

local function on_reply(st, rec)
  local cl = st.by_name[rec.client]
  if not cl then return end
  st.counts[rec.status] = (st.counts[rec.status] or 0) + 1
  st.ops = st.ops + 1
  local L = st.lock_by_name[rec.lock]
  local s = rec.status
  if s == "granted" then
    cl.known[rec.lock] = { token = rec.token }
    -- now and then a lease is left to lapse: its holder goes quiet on it
    if L.lease and rec.op == "acquire" and st.rng(4) == 1 then
      cl.away[rec.lock] = st.lab:now() + L.ttl + 300
      cl.known[rec.lock] = "unknown"
      st.abandoned = st.abandoned + 1
    end
  elseif s == "released" or s == "not_holder" or s == "refused" then
    cl.known[rec.lock] = nil
  else
    cl.known[rec.lock] = "unknown"
  end
  next_op(st, cl)
end

-- The nemesis -------------------------------------------------------------------------

local function say(st, what)
  st.log[#st.log + 1] = ("%8.3fs  skinny lab %s"):format(st.lab:now() / 1000, what)
  if st.o.verbose then print(st.log[#st.log]) end
end

-- Instances restarted blank that have rejoined since are members again.
local function note_rejoins(st)
  for x, n in pairs(st.blank) do
    -- (n: its blank restarts since it last rejoined; one rejoin ends them all)
    if st.lab:rejoined(x) then st.blank[x] = nil; st.rejoined = st.rejoined + n end
  end
end

local function count(set)
  local n = 0
  for _ in pairs(set) do n = n + 1 end
  return n
end

-- The impaired instances: `out` (down, blank: not yet rejoined, so voting
-- on nothing, or cut off from the majority side: in no majority at all) and
-- `all` (those and the slowed ones), each a set and its size.
local function impaired(st)
  local out, all, n_out, n_all = {}, {}, 0, 0
  local function add(x, hard)
    if hard and not out[x] then out[x] = true; n_out = n_out + 1 end
    if not all[x] then all[x] = true; n_all = n_all + 1 end
  end
  for x in pairs(st.down) do add(x, true) end
  for x in pairs(st.blank) do add(x, true) end
  for x in pairs(st.cut or {}) do add(x, true) end
  for x in pairs(st.slowed) do add(x, false) end
  return out, n_out, all, n_all
end

local function pick(st, list)
  if #list == 0 then return nil end
  return list[st.rng(#list)]
end

local function nemesis_step(st)
  local lab, o = st.lab, st.o
  local max = (#lab.names - 1) // 2
  local down, slowed, can_kill, can_slow = {}, {}, {}, {}
  note_rejoins(st)
  local out, n_out, imp, n_imp = impaired(st)
  for _, x in ipairs(lab.names) do
    if st.down[x] then down[#down + 1] = x end
    if st.slowed[x] then slowed[#slowed + 1] = x end
  end
  for _, x in ipairs(lab.names) do
    -- never a majority down: down, blank and cut off together at most a
    -- minority; a slowed instance may be one too many: the majority then
    -- waits for a slow member (ops time out, their outcome unknown) until
    -- it is cleared
    if not st.down[x] and (out[x] or n_out < max) and (imp[x] or n_imp <= max) then
      can_kill[#can_kill + 1] = x
    end
    if not st.down[x] and not st.slowed[x] and (imp[x] or n_imp <= max) then
      can_slow[#can_slow + 1] = x
    end
  end
  local acts = {}
  local function offer(w, f) acts[#acts + 1] = { w = w, f = f } end
  if not o.no_kill and #can_kill > 0 then
    offer(3, function()
      local x = pick(st, can_kill)
      say(st, "kill " .. x)
      lab:crash(x)
      st.down[x] = true
      st.kills = st.kills + 1
    end)
  end
  if #down > 0 then
    offer(#down * 2, function()
      local x = pick(st, down)
      -- A blank restart (state loss): the instance rejoins (PROTOCOL.md 7.6)
      -- before it votes. The first restart and a third of the others, as
      -- long as the blank ones (this one included) are a minority and a
      -- majority is up: down, blank and cut off are already at most a
      -- minority, and x goes from down to blank.
      local others_blank = count(st.blank) - (st.blank[x] and 1 or 0)
      local wipe = o.wipe and (st.wipes == 0 or st.rng(3) == 1)
                   and others_blank + 1 <= max and #down <= max
      say(st, "restart " .. x .. (wipe and " --wipe" or ""))
      lab:restart(x, { amnesia = wipe })
      st.down[x] = nil
      st.restarts = st.restarts + 1
      if wipe then
        st.wipes = st.wipes + 1
        st.blank[x] = (st.blank[x] or 0) + 1
      end
    end)
  end
  if not o.no_slow then
    if #can_slow > 0 then
      offer(2, function()
        local x = pick(st, can_slow)
        local ms = 1000 + st.rng(2001) - 1
        say(st, ("slow %s %dms"):format(x, ms))
        lab:slow(x, ms)
        st.slowed[x] = ms
        st.slows = st.slows + 1
      end)
    end
    if #slowed > 0 then
      offer(2, function()
        local x = pick(st, slowed)
        say(st, "slow " .. x .. " 0")
        lab:slow(x, 0)
        st.slowed[x] = nil
      end)
    end
  end
  if not o.no_partition then
    if st.cut then
      offer(2, function()
        say(st, "heal")
        lab:heal() -- skinny.real re-applies the slow instances' delays
        st.cut = nil
        st.heals = st.heals + 1
      end)
    else
      -- a minority of one or two that does not impair a majority with the rest
      local cands = {}
      for _, x in ipairs(lab.names) do if not imp[x] then cands[#cands + 1] = x end end
      local k = math.min(st.rng(2), #cands, max - n_imp)
      if k >= 1 then
        offer(1.5, function()
          local side, set = {}, {}
          while #side < k do
            local x = pick(st, cands)
            if not set[x] then set[x] = true; side[#side + 1] = x end
          end
          local rest = {}
          for _, x in ipairs(lab.names) do if not set[x] then rest[#rest + 1] = x end end
          say(st, ("partition %s / %s"):format(table.concat(side, ","), table.concat(rest, ",")))
          lab:partition(side, rest)
          st.cut = set
          st.partitions = st.partitions + 1
        end)
      end
    end
  end
  local total = 0
  for _, a in ipairs(acts) do total = total + a.w end
  if total == 0 then return end
  local r = st.rng(1000) / 1000 * total
  local act = acts[#acts]
  for _, a in ipairs(acts) do
    r = r - a.w
    if r <= 0 then act = a; break end
  end
  act.f()
  local _, n = impaired(st)
  assert(n <= max, "the nemesis left a majority down, blank or cut off (a bug in torture.lua)")
end

-- Bring every instance back, unslowed and healed.
local function calm(st)
  local lab = st.lab
  if st.cut then say(st, "heal"); lab:heal(); st.cut = nil; st.heals = st.heals + 1 end
  for _, x in ipairs(lab.names) do
    if st.slowed[x] then say(st, "slow " .. x .. " 0"); lab:slow(x, 0); st.slowed[x] = nil end
  end
  for _, x in ipairs(lab.names) do
    if st.down[x] then
      say(st, "restart " .. x)
      lab:restart(x)
      st.down[x] = nil
      st.restarts = st.restarts + 1
    end
  end
end

-- Reading the history back, as `skinny check` does ------------------------------------

local function check_file(path, skinny, o)
  local events = {}
  local n = 0
  for line in io.lines(path) do
    n = n + 1
    local ev = line:match('"ev":"(%a+)"')
    if ev == "invoke" or ev == "complete" or ev == "run" then
      events[#events + 1] = skinny.tidy(cjson.decode(line))
    end
  end
  local h, model = require("skinny.history").from_trace(events)
  return skinny.check.all(h, { model = model, budget = o.budget }), h, n
end

local function violations(rep)
  local n = 0
  for _, c in ipairs(rep.checks) do
    if c.violations then
      n = n + #c.violations
    elseif c.ok == false then
      n = n + 1
    end
  end
  return n
end

-- main ---------------------------------------------------------------------------------

function M.main(argv, skinny)
  local o = parse(argv)
  local real = require "skinny.real"
  local rng_state = o.seed
  -- a small LCG of its own: the choices replay for a seed whatever else
  -- draws from math.random
  local function rng(n)
    rng_state = (rng_state * 1103515245 + 12345) % 2147483648
    return (rng_state >> 8) % n + 1
  end
  local hist = o.history
  local tmp
  if not hist then
    local base = os.getenv("TMPDIR")
    if not base or base == "" then base = "/tmp" end
    tmp = real.C.mkdtemp(base .. "/skinny-torture.XXXXXX")
    if not tmp then die("cannot create a temporary directory in " .. base) end
    hist = tmp .. "/history.jsonl"
  end
  local ok, lab = pcall(real.lab, {
    nodes = o.nodes, proposer = o.proposer, backoff = o.backoff, lock = o.lock,
    phase_timeout = o.phase_timeout, client_timeout = o.timeout, daemon_trace = false,
    fsync = o.fsync or false, keep_ops = false, stream = hist, dir = o.dir, keep_dir = o.keep,
  })
  if not ok then die(tostring(lab)) end
  local st = { o = o, lab = lab, rng = rng, down = {}, slowed = {}, log = {}, counts = {},
               ops = 0, kills = 0, restarts = 0, wipes = 0, slows = 0, partitions = 0,
               blank = {}, rejoined = 0,
               heals = 0, abandoned = 0, clients = {}, by_name = {}, locks = {},
               lock_by_name = {} }
  for i = 1, o.locks do
    local lease = i > o.locks - o.lease_locks
    local L = { name = LOCKS[i], lease = lease, ttl = lease and o.ttl or LONG_TTL }
    st.locks[i] = L
    st.lock_by_name[L.name] = L
  end
  local leases = {}
  for _, L in ipairs(st.locks) do if L.lease then leases[#leases + 1] = L.name end end
  print(("torture: %d instances (%s), %d clients, locks %s%s; nemesis for %.1f s; seed %d")
        :format(#lab.names, lab.dir, o.clients, table.concat(LOCKS, ", ", 1, o.locks),
                #leases > 0 and (" (leases of %d ms: %s)"):format(o.ttl, table.concat(leases, ", "))
                  or "", o.duration / 1000, o.seed))
  io.stdout:flush()
  local run_ok, err = xpcall(function()
    for i = 1, o.clients do
      local c = lab:client(HOLDERS[i], { name = "c" .. i, failover = true, timeout = o.timeout })
      local cl = { client = c, known = {}, away = {}, busy = false }
      st.clients[i] = cl
      st.by_name[c.name] = cl
    end
    lab.on_reply = function(rec) on_reply(st, rec) end
    for _, cl in ipairs(st.clients) do next_op(st, cl) end
    local stop = lab:now() + o.duration
    while lab:now() < stop do
      lab:run_for(math.min(300 + rng(900), math.max(0, stop - lab:now())))
      if lab:now() < stop then nemesis_step(st) end
    end
    calm(st)
    -- a second of calm traffic, then every client finishes its op
    lab:run_for(1000)
    st.stopping = true
    lab:run_until(function()
      for _, cl in ipairs(st.clients) do if cl.busy then return false end end
      return true
    end, o.timeout + 2000)
  end, debug.traceback)
  local elapsed = lab:now()
  if run_ok then pcall(note_rejoins, st) end
  local keep_dir = o.keep or o.dir ~= nil
  lab.keep = true -- until the checks have spoken: a failed run keeps the daemons' logs
  lab:close()
  if not run_ok then
    io.stderr:write("skinny torture: the run failed: ", tostring(err), "\n")
    io.stderr:write("history so far: ", hist, "\n")
    os.exit(2)
  end
  local rep, h, lines = check_file(hist, skinny, o)
  local definite = 0
  for _, k in ipairs{ "granted", "refused", "released", "not_holder" } do
    definite = definite + (st.counts[k] or 0)
  end
  local parts = {}
  for _, k in ipairs(INDEFINITE_NAMES) do
    if (st.counts[k] or 0) > 0 then parts[#parts + 1] = ("%s %d"):format(k, st.counts[k]) end
  end
  local nv = violations(rep)
  print(("operations: %d in %.1f s (%.1f ops/s); definite %d (%.1f%%)%s")
        :format(#h, elapsed / 1000, #h / math.max(elapsed, 1) * 1000, definite,
                100 * definite / math.max(#h, 1),
                #parts > 0 and ("; " .. table.concat(parts, ", ")) or ""))
  local late = {}
  for _, k in ipairs{ "stale", "granted", "refused", "released", "not_holder", "unavailable",
                      "contended", "error" } do
    if lab.late[k] then late[#late + 1] = ("%s %d"):format(k, lab.late[k]) end
  end
  print(("failover: %d resends; late answers to copies: %s; leases left to lapse: %d")
        :format(lab.resends, #late > 0 and table.concat(late, ", ") or "none", st.abandoned))
  print(("nemesis: %d kills, %d restarts (%d blank, %d rejoined), %d slows, %d partitions, %d heals")
        :format(st.kills, st.restarts, st.wipes, st.rejoined, st.slows, st.partitions, st.heals))
  print(skinny.check.format(rep))
  print(("violations: %d%s"):format(nv, rep.unknown and " (the linearizability search gave up: "
                                                       .. "raise --budget)" or ""))
  if rep.ok and not keep_dir then
    os.execute("rm -rf '" .. lab.dir:gsub("'", "'\\''") .. "'")
  else
    print("lab directory (configs, logs, data): " .. lab.dir)
  end
  if tmp and rep.ok and not o.keep then
    os.remove(hist)
    os.remove(tmp)
  else
    print(("history: %s (%d lines; check again with: %s check %s)"):format(hist, lines,
      require("skinny.args").prog, hist))
  end
  if not rep.ok and not o.verbose then
    print("nemesis commands, in order:")
    for _, l in ipairs(st.log) do print(l) end
  end
  os.exit(rep.ok and 0 or 1)
end

return M
