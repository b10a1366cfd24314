-- bench.lua - `make bench` / `make bench-quick`: Skinny side by side with
-- etcd and with the physical limit of this machine, in one run.
--
--   lua5.4 bench/bench.lua [--build DIR] [--quick] [--reps N] [--out DIR] [--no-keys]
--
-- Skinny labs authenticate their peers (a cluster key, spec/PROTOCOL.md 11)
-- as every lab does; --no-keys starts them without one, to measure what
-- authentication costs (bench/README.md, "The cost of authentication").
--
-- Starts etcd clusters (3 and 5 members, ports chosen at run time, data in
-- a temporary directory) and Skinny labs (build/skinny-lab) side by side,
-- alternates the systems run by run, records the CPU steal (/proc/stat)
-- beside every run, and prints one table of medians (with their range over
-- the repetitions), writes bench/results/<timestamp>.json and .svg (the
-- latency distributions). What each row means: bench/README.md.
-- It stops exactly the processes it started, also on failure.

local BUILD, QUICK, REPS, OUT, NOKEYS = "build", false, nil, "bench/results", false
local i = 1
while i <= #arg do
  local a = arg[i]
  if a == "--build" then BUILD = arg[i + 1]; i = i + 1
  elseif a == "--quick" then QUICK = true
  elseif a == "--reps" then REPS = tonumber(arg[i + 1]); i = i + 1
  elseif a == "--out" then OUT = arg[i + 1]; i = i + 1
  elseif a == "--no-keys" then NOKEYS = true
  else io.stderr:write("usage: lua5.4 bench/bench.lua [--build DIR] [--quick] [--reps N] [--out DIR] [--no-keys]\n"); os.exit(64) end
  i = i + 1
end

-- The shape of a run. Quick: under two minutes on the 2-vCPU VM.
local P = QUICK and {
  reps = REPS or 3, cycles = 300, warm = 50, secs = 1.5, rtt_n = 3000, sync_n = 300,
  sizes = { 5 }, tput_sizes = { 5 }, cli_n = 20, locks = 20000, sim_ops = 10000, hook_secs = 1.5,
} or {
  reps = REPS or 5, cycles = 1000, warm = 100, secs = 4, rtt_n = 20000, sync_n = 1000,
  sizes = { 3, 5 }, tput_sizes = { 3, 5 }, cli_n = 100, locks = 100000, sim_ops = 10000, hook_secs = 4,
}

local SK = BUILD .. "/bench/skbench"
local EB = BUILD .. "/bench/etcdbench"

------------------------------------------------------------------ helpers

local function sh(cmd)
  local f = assert(io.popen(cmd, "r"))
  local out = f:read("a")
  local ok, _, code = f:close()
  return out, ok and 0 or code
end

local function shq(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function now() return tonumber((sh("date +%s.%N"))) end

local function log(fmt, ...) io.stderr:write(string.format(fmt, ...) .. "\n") end

local function die(fmt, ...) error(string.format(fmt, ...), 0) end

local function cpu_times()
  local f = assert(io.open("/proc/stat"))
  local line = f:read("l")
  f:close()
  local t, total = {}, 0
  for v in line:gmatch("%d+") do t[#t + 1] = tonumber(v); total = total + tonumber(v) end
  return { total = total, steal = t[8] or 0, idle = (t[4] or 0) + (t[5] or 0) }
end

local function parse(out)
  local r = { lat = {} }
  for line in out:gmatch("[^\n]+") do
    local k, rest = line:match("^(%S+)%s*(.*)$")
    if k == "lat_us" then
      for v in rest:gmatch("%d+") do r.lat[#r.lat + 1] = tonumber(v) end
    elseif k then
      r[k] = tonumber(rest) or rest
    end
  end
  return r
end

local function pct(sorted, p)
  if #sorted == 0 then return nil end
  local k = math.max(1, math.min(#sorted, math.ceil(p * #sorted)))
  return sorted[k]
end

local function median(xs)
  local s = {}
  for _, x in ipairs(xs) do s[#s + 1] = x end
  table.sort(s)
  if #s == 0 then return nil end
  if #s % 2 == 1 then return s[(#s + 1) // 2] end
  return (s[#s // 2] + s[#s // 2 + 1]) / 2
end

local function range(xs)
  local lo, hi = math.huge, -math.huge
  for _, x in ipairs(xs) do lo = math.min(lo, x); hi = math.max(hi, x) end
  return lo, hi
end

-- One measured run: the driver's output parsed, with the steal beside it.
local function loadavg()
  local f = io.open("/proc/loadavg")
  if not f then return nil end
  local v = tonumber(f:read("a"):match("^(%S+)"))
  f:close()
  return v
end

local function run(cmd)
  local load = loadavg()
  local c0, t0 = cpu_times(), now()
  local out, code = sh(cmd .. " 2>&1")
  local c1, t1 = cpu_times(), now()
  if code ~= 0 then die("failed (exit %s): %s\n%s", tostring(code), cmd, out:sub(1, 2000)) end
  local r = parse(out)
  local dt = c1.total - c0.total
  r.steal = dt > 0 and (c1.steal - c0.steal) / dt or 0
  r.wall = t1 - t0
  r.load = load
  table.sort(r.lat)
  return r
end

------------------------------------------------------------ the run dir

local RUN = (sh("mktemp -d \"$PWD/.bench-run.XXXXXX\"")):gsub("%s+$", "")
local started = {} -- pid -> true: every etcd member this run started
local labs = {}    -- lab dir -> true

local function cleanup()
  for dir in pairs(labs) do sh(BUILD .. "/skinny-lab down --dir " .. shq(dir) .. " >/dev/null 2>&1") end
  labs = {}
  local pids = {}
  for pid in pairs(started) do pids[#pids + 1] = pid end
  if #pids > 0 then
    sh("kill " .. table.concat(pids, " ") .. " 2>/dev/null; sleep 0.3; kill -9 " .. table.concat(pids, " ") .. " 2>/dev/null")
  end
  started = {}
  sh("rm -rf " .. shq(RUN))
end

local function ports(k)
  local out = sh(SK .. " ports " .. k)
  local t = {}
  for p in out:gmatch("%d+") do t[#t + 1] = tonumber(p) end
  if #t ~= k then die("cannot find %d free ports", k) end
  return t
end

-------------------------------------------------------------------- etcd

local etcd_n = 0
local function etcd_up(size, durable)
  etcd_n = etcd_n + 1
  local dir = string.format("%s/etcd%d", RUN, etcd_n)
  sh("mkdir -p " .. shq(dir))
  local pp = ports(2 * size)
  local cluster, eps = {}, {}
  for m = 1, size do
    cluster[#cluster + 1] = string.format("e%d=http://127.0.0.1:%d", m, pp[2 * m])
    eps[#eps + 1] = string.format("http://127.0.0.1:%d", pp[2 * m - 1])
  end
  local pids = {}
  for m = 1, size do
    local cmd = table.concat({
      "etcd", "--name e" .. m, "--data-dir " .. shq(dir .. "/e" .. m),
      "--listen-client-urls " .. eps[m], "--advertise-client-urls " .. eps[m],
      "--listen-peer-urls http://127.0.0.1:" .. pp[2 * m],
      "--initial-advertise-peer-urls http://127.0.0.1:" .. pp[2 * m],
      "--initial-cluster " .. table.concat(cluster, ","),
      "--initial-cluster-token bench" .. etcd_n, "--initial-cluster-state new",
      "--logger zap --log-level warn",
      durable and "" or "--unsafe-no-fsync",
    }, " ")
    local pid = (sh(cmd .. " >" .. shq(dir .. "/e" .. m .. ".log") .. " 2>&1 & echo $!")):match("%d+")
    started[pid] = true
    pids[#pids + 1] = pid
  end
  return { eps = table.concat(eps, ","), pids = pids, dir = dir, size = size }
end

local function etcd_down(e)
  sh("kill " .. table.concat(e.pids, " ") .. " 2>/dev/null")
  for _ = 1, 50 do
    local alive = false
    for _, pid in ipairs(e.pids) do
      if select(2, sh("kill -0 " .. pid .. " 2>/dev/null")) == 0 then alive = true end
    end
    if not alive then break end
    sh("sleep 0.1")
  end
  sh("kill -9 " .. table.concat(e.pids, " ") .. " 2>/dev/null")
  for _, pid in ipairs(e.pids) do started[pid] = nil end
  sh("rm -rf " .. shq(e.dir))
end

------------------------------------------------------------------ skinny

local lab_n = 0
local function skinny_up(size, flags)
  lab_n = lab_n + 1
  local dir = string.format("%s/lab%d", RUN, lab_n)
  if NOKEYS then flags = flags .. " --no-key" end
  local out, code = sh(BUILD .. "/skinny-lab up --dir " .. shq(dir) .. " --size " .. size .. " " .. flags .. " 2>&1")
  labs[dir] = true
  if code ~= 0 then die("skinny-lab up failed: %s", out) end
  local f = assert(io.open(dir .. "/members"))
  local first = f:read("l"):match("^%S+%s+(%S+)")
  f:close()
  local pids = {}
  for line in io.lines(dir .. "/pids") do pids[#pids + 1] = line:match("^%S+%s+(%d+)") end
  return { dir = dir, addr = first, pids = pids, size = size,
           cluster = (assert(io.open(dir .. "/cluster")):read("l")) }
end

local function skinny_down(l)
  sh(BUILD .. "/skinny-lab down --dir " .. shq(l.dir) .. " >/dev/null 2>&1")
  labs[l.dir] = nil
end

local function rss_kb(pid)
  local f = io.open("/proc/" .. pid .. "/status")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return tonumber(s:match("VmRSS:%s*(%d+)"))
end

------------------------------------------------------------- the drivers

local function sk_cycle(l) return run(string.format("%s cycle %s -n %d -warm %d", SK, l.addr, P.cycles, P.warm)) end
local function et_cycle(e) return run(string.format("%s -endpoints %s -mode cycle -n %d -warm %d", EB, e.eps, P.cycles, P.warm)) end
local function sk_load(l, mode, c, secs)
  return run(string.format("%s %s %s -clients %d -secs %g", SK, mode, l.addr, c, secs or P.secs))
end
local function et_load(e, mode, c)
  return run(string.format("%s -endpoints %s -mode %s -clients %d -secs %g", EB, e.eps, mode, c, P.secs))
end

------------------------------------------------------------ the results

local R = { rows = {}, runs = {}, limit = {}, meta = {} }
local rows_by_key = {}

-- record one run of system sys in row key
local function rec(key, sys, r, kind)
  local row = rows_by_key[key]
  if not row then
    row = { key = key, kind = kind, runs = { skinny = {}, etcd = {} } }
    rows_by_key[key] = row
    R.rows[#R.rows + 1] = row
  end
  local x = { steal = r.steal, n = #r.lat, load = r.load }
  if kind == "cycle" then
    x.p50, x.p90, x.p99 = pct(r.lat, 0.5) / 1000, pct(r.lat, 0.9) / 1000, pct(r.lat, 0.99) / 1000
    local sum = 0
    for _, v in ipairs(r.lat) do sum = sum + v end
    x.per_s = #r.lat / (sum / 1e6)
    x.errors = r.errors
  else
    x.p50, x.p99 = pct(r.lat, 0.5) / 1000, pct(r.lat, 0.99) / 1000
    x.ops_s = #r.lat / r.secs
    x.grants_s = r.grants / r.secs
    x.refusals_s = r.refusals / r.secs
    x.errors = r.errors
  end
  row.runs[sys] = row.runs[sys] or {}
  table.insert(row.runs[sys], x)
  row.lat = row.lat or {}
  -- keep one run's distribution per system for the plot (the last one)
  if kind == "cycle" then row.lat[sys] = r.lat end
  log("  %-34s %-6s %s  steal %4.1f%%", key, sys,
      kind == "cycle" and string.format("p50 %7.3f ms  p99 %7.3f ms", x.p50, x.p99)
        or string.format("%8.0f ops/s  %7.0f grants/s  %7.0f refusals/s  p99 %7.3f ms", x.ops_s, x.grants_s, x.refusals_s, x.p99),
      100 * r.steal)
end

----------------------------------------------------------------- machine

local function first_line(cmd) return ((sh(cmd)):match("[^\n]*")) end
R.meta = {
  date = first_line("date -u +%Y-%m-%dT%H:%M:%SZ"),
  nproc = tonumber(first_line("nproc")),
  cpu = first_line("grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'"),
  kernel = first_line("uname -r"),
  etcd = first_line("etcd --version 2>/dev/null | head -1"),
  go = first_line("go version 2>/dev/null"),
  quick = QUICK, reps = P.reps, cycles = P.cycles, secs = P.secs,
  commit = first_line("git rev-parse --short HEAD 2>/dev/null"),
}

local T0 = now()
local ok, err = xpcall(function()
  log("bench: %s, %d CPUs, %s; %d repetitions%s", R.meta.cpu, R.meta.nproc, R.meta.kernel, P.reps,
      QUICK and " (quick)" or "")

  -------------------------------------------------- (a) physical limit
  log("(a) physical limit")
  local maxsize = P.sizes[#P.sizes]
  -- Each probe, P.reps times: its p50s (medians kept with every
  -- repetition's value), p99s and steal, as L.<name>_p50_us, _p50_all,
  -- _p99_us.
  local probes = {
    { "rtt", "rtt -n %d", P.rtt_n },
    -- the same with both sides polling: no wake-up of a sleeping process or
    -- an idle virtual CPU in it, which on a VM alone can cost 5..90 us
    { "rtt_spin", "rtt -spin -n %d", P.rtt_n },
    { "sync", "sync " .. shq(RUN) .. " -n %d", P.sync_n },
    { "sync_shared", "sync " .. shq(RUN) .. " -n %d -procs " .. maxsize, P.sync_n },
    -- skinnyd's log overwrites a zero-filled tail instead of growing the file
    { "prealloc", "sync " .. shq(RUN) .. " -n %d -prealloc", P.sync_n },
    { "prealloc_shared", "sync " .. shq(RUN) .. " -n %d -procs " .. maxsize .. " -prealloc", P.sync_n },
  }
  local got = {}
  for _ = 1, P.reps do
    for _, pr in ipairs(probes) do
      local r = run(SK .. " " .. string.format(pr[2], pr[3]))
      got[pr[1]] = got[pr[1]] or {}
      table.insert(got[pr[1]], { p50 = pct(r.lat, .5), p99 = pct(r.lat, .99), steal = r.steal })
    end
  end
  local function med(t, f) local xs = {} for _, x in ipairs(t) do xs[#xs + 1] = x[f] end return median(xs), xs end
  local L = R.limit
  for _, pr in ipairs(probes) do
    local name = pr[1]
    L[name .. "_p50_us"], L[name .. "_p50_all"] = med(got[name], "p50")
    L[name .. "_p99_us"] = med(got[name], "p99")
  end
  L.sync_shared_procs = maxsize
  local rtt, sync = got.rtt, got.sync
  L.steal = median((function() local s = {} for _, x in ipairs(rtt) do s[#s + 1] = x.steal end for _, x in ipairs(sync) do s[#s + 1] = x.steal end return s end)())
  -- floors (ms). One lock operation: the client's round trip to the
  -- proposer plus, per phase, one round trip to the acceptors and one sync.
  -- The round trip is the lower of the two probes (a limit is what cannot
  -- be beaten); the sync is append+fdatasync alone, as the floor is defined.
  L.rtt_floor_us = math.min(L.rtt_p50_us, L.rtt_spin_p50_us)
  local rt, sy = L.rtt_floor_us / 1000, L.sync_p50_us / 1000
  L.floor_op_fast_ms = 2 * rt + sy
  L.floor_op_two_phase_ms = 3 * rt + 2 * sy
  L.floor_cycle_fast_ms = 2 * L.floor_op_fast_ms
  L.floor_cycle_two_phase_ms = 2 * L.floor_op_two_phase_ms
  L.floor_cycle_nosync_ms = 2 * 2 * rt
  log("  loopback rtt p50 %d us p99 %d us; append+fdatasync p50 %d us p99 %d us (%d at once: p50 %d us)",
      L.rtt_p50_us, L.rtt_p99_us, L.sync_p50_us, L.sync_p99_us, maxsize, L.sync_shared_p50_us)

  -------------------------------- (b) lock cycle, (c) throughput: side by side
  for _, durable in ipairs{ true, false } do
    for _, size in ipairs(P.sizes) do
      local tag = string.format("%d, %s", size, durable and "fsync" or "no fsync")
      log("(b,c) %d instances/members, %s", size, durable and "durable" or "NOT durable")
      local l = skinny_up(size, "--proposer fast" .. (durable and "" or " --no-fsync"))
      local e = etcd_up(size, durable)
      -- the thrifty proposer (fast + asks only a majority) beside it, at the largest size
      local lt = size == maxsize and skinny_up(size, "--proposer thrifty" .. (durable and "" or " --no-fsync"))
      local tput = false
      for _, s in ipairs(P.tput_sizes) do tput = tput or s == size end
      if QUICK then tput = durable end
      -- warm etcd (leader elected, connections) and skinny (links, ballots)
      run(string.format("%s -endpoints %s -mode cycle -n 20 -warm 20", EB, e.eps))
      run(string.format("%s cycle %s -n 20 -warm 20", SK, l.addr))
      if lt then run(string.format("%s cycle %s -n 20 -warm 20", SK, lt.addr)) end
      for rep = 1, P.reps do
        local first, second = "skinny", "etcd"
        if rep % 2 == 0 then first, second = "etcd", "skinny" end
        local order = lt and { first, "thrifty", second } or { first, second }
        for _, sys in ipairs(order) do
          if sys == "skinny" then rec("lock cycle " .. tag, "skinny", sk_cycle(l), "cycle")
          elseif sys == "thrifty" then rec("lock cycle " .. tag .. ", thrifty", "skinny", sk_cycle(lt), "cycle")
          else rec("lock cycle " .. tag, "etcd", et_cycle(e), "cycle") end
        end
        if tput then
          for _, sys in ipairs(order) do
            if sys == "skinny" then rec("64 clients, distinct locks, " .. tag, "skinny", sk_load(l, "distinct", 64), "tput")
            elseif sys == "thrifty" then rec("64 clients, distinct locks, " .. tag .. ", thrifty", "skinny", sk_load(lt, "distinct", 64), "tput")
            else rec("64 clients, distinct locks, " .. tag, "etcd", et_load(e, "distinct", 64), "tput") end
          end
          for _, sys in ipairs{ first, second } do
            if sys == "skinny" then rec("8 clients, one lock, " .. tag, "skinny", sk_load(l, "contended", 8), "tput")
            else rec("8 clients, one lock, " .. tag, "etcd", et_load(e, "contended", 8), "tput") end
          end
        end
        if durable and size == maxsize and rep <= (QUICK and 1 or 3) then
          rec("lock cycle, skinnyctl per operation, " .. tag, "skinny",
              run(string.format("%s cli %s/skinnyctl %s -n %d", SK, BUILD, l.cluster, P.cli_n)), "cycle")
        end
      end
      skinny_down(l)
      if lt then skinny_down(lt) end
      etcd_down(e)
    end
  end

  ------------------------------------------------- (d) simulator speed
  log("(d) simulator")
  local sim = { c = {}, lua = {} }
  for _ = 1, QUICK and 1 or 3 do
    local c0 = cpu_times()
    local out, code = sh(string.format("lua5.4 bench/sim_bench.lua %d 2>&1", P.sim_ops))
    if code ~= 0 then die("sim_bench failed: %s", out) end
    local c1 = cpu_times()
    local st = (c1.steal - c0.steal) / math.max(1, c1.total - c0.total)
    for line in out:gmatch("[^\n]+") do
      local secs, msgs, rate = line:match("([%d.]+) s cpu%s+(%d+) messages%s+(%d+) simulated")
      if secs then
        local t = line:find("^built%-in") and sim.c or sim.lua
        t[#t + 1] = { secs = tonumber(secs), msgs = tonumber(msgs), rate = tonumber(rate), steal = st }
        log("  %-6s %.3f s  %d msgs/s", line:find("^built%-in") and "C" or "Lua", tonumber(secs), tonumber(rate))
      end
    end
  end
  R.sim = sim

  ---------------------------------------- (e) Lua hook cost on real daemons
  log("(e) Lua scripts vs C defaults (5 instances, paxos proposer, no fsync and fsync)")
  R.hooks = {}
  for _, durable in ipairs{ false, true } do
    local tag = durable and "fsync" or "no fsync"
    local lua = skinny_up(5, durable and "" or "--no-fsync")
    local cdef = skinny_up(5, "--c-defaults" .. (durable and "" or " --no-fsync"))
    run(string.format("%s cycle %s -n 20 -warm 20", SK, lua.addr))
    run(string.format("%s cycle %s -n 20 -warm 20", SK, cdef.addr))
    local h = { lua = {}, c = {}, lua_cycle = {}, c_cycle = {} }
    for rep = 1, P.reps do
      local order = rep % 2 == 1 and { "lua", "c" } or { "c", "lua" }
      for _, which in ipairs(order) do
        local l = which == "lua" and lua or cdef
        local r = sk_load(l, "distinct", 64, P.hook_secs)
        h[which][#h[which] + 1] = { ops_s = #r.lat / r.secs, steal = r.steal }
        r = sk_cycle(l)
        h[which .. "_cycle"][#h[which .. "_cycle"] + 1] = { p50 = pct(r.lat, .5) / 1000, steal = r.steal }
        log("  %-8s %-4s %8.0f ops/s (64 clients)  cycle p50 %.3f ms", tag, which, h[which][#h[which]].ops_s, pct(r.lat, .5) / 1000)
      end
    end
    R.hooks[tag] = h
    skinny_down(lua)
    skinny_down(cdef)
  end

  ------------------------------------------------------------ (f) memory
  log("(f) memory: 5 instances, Lua scripts, fsync; %d locks", P.locks)
  local l = skinny_up(5, "")
  sh("sleep 0.5")
  local idle = {}
  for _, pid in ipairs(l.pids) do idle[#idle + 1] = rss_kb(pid) end
  local r = run(string.format("%s many %s -n %d", SK, l.addr, P.locks))
  local after = {}
  for _, pid in ipairs(l.pids) do after[#after + 1] = rss_kb(pid) end
  R.memory = { idle_kb = idle, after_kb = after, locks = P.locks, secs = r.secs, steal = r.steal }
  log("  idle %d..%d KiB; after %d locks %d..%d KiB (%.1f s)", ({ range(idle) })[1], ({ range(idle) })[2],
      P.locks, ({ range(after) })[1], ({ range(after) })[2], r.secs)
  skinny_down(l)
end, function(e) return debug.traceback(tostring(e), 2) end)
cleanup()
if not ok then io.stderr:write("bench: " .. tostring(err) .. "\n"); os.exit(1) end
R.meta.wall_s = now() - T0

------------------------------------------------------------------- table

local function fmt(x, d) if x == nil then return "-" end return string.format("%." .. (d or 2) .. "f", x) end
local function col(runs, f)
  local xs = {}
  for _, x in ipairs(runs or {}) do xs[#xs + 1] = x[f] end
  if #xs == 0 then return nil end
  local lo, hi = range(xs)
  return median(xs), lo, hi
end
local function cell(runs, f, d)
  local m, lo, hi = col(runs, f)
  if m == nil then return "-" end
  return string.format("%s [%s..%s]", fmt(m, d), fmt(lo, d), fmt(hi, d))
end

local L = R.limit
local lines = {}
local function out(s) lines[#lines + 1] = s end
out(string.format("machine: %s, %d CPUs, kernel %s; %s; %s", R.meta.cpu, R.meta.nproc, R.meta.kernel, R.meta.etcd, R.meta.date))
out(string.format("medians of %d repetitions [min..max]; steal = stolen CPU during the runs (median)", P.reps))
out(NOKEYS and "Skinny labs WITHOUT keys (--no-keys): peers unauthenticated" or "Skinny labs with a cluster key: peer links authenticated and sealed")
out("")
out("| row | Skinny | etcd | Skinny/etcd | Skinny/limit | steal |")
out("| --- | --- | --- | --- | --- | --- |")
out(string.format("| loopback TCP round trip p50 / p99, sleeping in read | %d / %d us | | | | %.1f%% |", L.rtt_p50_us, L.rtt_p99_us, 100 * L.steal))
out(string.format("| loopback TCP round trip p50 / p99, polling | %d / %d us | | | | |", L.rtt_spin_p50_us, L.rtt_spin_p99_us))
out(string.format("| append+fdatasync p50 / p99 (alone) | %d / %d us | | | | |", L.sync_p50_us, L.sync_p99_us))
out(string.format("| append+fdatasync p50 / p99 (%d at once) | %d / %d us | | | | |", L.sync_shared_procs, L.sync_shared_p50_us, L.sync_shared_p99_us))
out(string.format("| overwrite+fdatasync, preallocated, p50 / p99 (alone) | %d / %d us | | | | |", L.prealloc_p50_us, L.prealloc_p99_us))
out(string.format("| overwrite+fdatasync, preallocated, p50 / p99 (%d at once) | %d / %d us | | | | |", L.sync_shared_procs, L.prealloc_shared_p50_us, L.prealloc_shared_p99_us))
out(string.format("| floor: lock op, 1 phase / 2 phases | %.3f / %.3f ms | | | | |", L.floor_op_fast_ms, L.floor_op_two_phase_ms))
out(string.format("| floor: lock cycle, 1 phase, fsync / no fsync | %.3f / %.3f ms | | | | |", L.floor_cycle_fast_ms, L.floor_cycle_nosync_ms))
for _, row in ipairs(R.rows) do
  local s, e = row.runs.skinny, row.runs.etcd
  local st = {}
  for _, x in ipairs(s) do st[#st + 1] = x.steal end
  for _, x in ipairs(e) do st[#st + 1] = x.steal end
  local steal = string.format("%.1f%%", 100 * (median(st) or 0))
  if row.kind == "cycle" then
    local floor = row.key:find("no fsync") and L.floor_cycle_nosync_ms or L.floor_cycle_fast_ms
    local sm, em = col(s, "p50"), col(e, "p50")
    row.summary = { skinny_p50 = sm, etcd_p50 = em, floor_ms = floor,
                    ratio_etcd = em and sm / em, ratio_limit = sm / floor }
    local function c(r) if #r == 0 then return "-" end
      return string.format("p50 %s, p90 %s, p99 %s ms, %s/s", cell(r, "p50", 3), fmt((col(r, "p90")), 3), fmt((col(r, "p99")), 3), fmt((col(r, "per_s")), 0)) end
    out(string.format("| %s | %s | %s | %s | %s | %s |", row.key, c(s), c(e),
        em and fmt(sm / em, 3) or "-", fmt(sm / floor, 2), steal))
  else
    local sm, em = col(s, "ops_s"), col(e, "ops_s")
    row.summary = { skinny_ops_s = sm, etcd_ops_s = em, ratio_etcd = em and sm / em }
    local function c(r) if #r == 0 then return "-" end
      return string.format("%s ops/s, %s grants/s, %s refusals/s, p99 %s ms", cell(r, "ops_s", 0), fmt((col(r, "grants_s")), 0),
          fmt((col(r, "refusals_s")), 0), fmt((col(r, "p99")), 2)) end
    out(string.format("| %s | %s | %s | %s | - | %s |", row.key, c(s), c(e), em and fmt(sm / em, 2) or "-", steal))
  end
end
local function simrow(name, t)
  local m, lo, hi = col(t, "rate")
  local sm = col(t, "secs")
  return string.format("| simulator, %s: 10,000 ops, 5 instances | %s msgs/s [%s..%s], %s s | | | | %.1f%% |", name,
      fmt(m, 0), fmt(lo, 0), fmt(hi, 0), fmt(sm, 3), 100 * (col(t, "steal") or 0))
end
out(simrow("C defaults", R.sim.c))
out(simrow("Lua scripts", R.sim.lua))
for _, tag in ipairs{ "no fsync", "fsync" } do
  local h = R.hooks[tag]
  local lm, cm = col(h.lua, "ops_s"), col(h.c, "ops_s")
  h.cost = 1 - lm / cm
  out(string.format("| Lua hooks, 64 clients, %s: Lua / C defaults | %s / %s ops/s (cost %.1f%%); cycle p50 %s / %s ms | | | | %.1f%% |",
      tag, cell(h.lua, "ops_s", 0), cell(h.c, "ops_s", 0), 100 * h.cost, fmt((col(h.lua_cycle, "p50")), 3),
      fmt((col(h.c_cycle, "p50")), 3), 100 * (col(h.lua, "steal") or 0)))
end
local M = R.memory
local ilo, ihi = range(M.idle_kb)
local alo, ahi = range(M.after_kb)
out(string.format("| skinnyd RSS idle / with %d locks | %.1f..%.1f MiB / %.1f..%.1f MiB (%.1f s to take them) | | | | %.1f%% |",
    M.locks, ilo / 1024, ihi / 1024, alo / 1024, ahi / 1024, M.secs, 100 * M.steal))
out("")
out(string.format("total wall time %.0f s", R.meta.wall_s))
local table_text = table.concat(lines, "\n") .. "\n"
io.write(table_text)

-------------------------------------------------------------------- JSON

local function json(v, ind)
  ind = ind or ""
  local t = type(v)
  if t == "nil" then return "null"
  elseif t == "boolean" then return tostring(v)
  elseif t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return "null" end
    if math.type(v) == "integer" then return tostring(v) end
    return string.format("%.6g", v)
  elseif t == "string" then
    return '"' .. v:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
  end
  local n = #v
  local is_arr = n > 0 or next(v) == nil
  if is_arr then
    local parts = {}
    local flat = type(v[1]) ~= "table"
    for k = 1, n do parts[k] = json(v[k], ind .. "  ") end
    if flat then return "[" .. table.concat(parts, ",") .. "]" end
    return "[\n" .. ind .. "  " .. table.concat(parts, ",\n" .. ind .. "  ") .. "\n" .. ind .. "]"
  end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = json(k) .. ": " .. json(v[k], ind .. "  ") end
  return "{\n" .. ind .. "  " .. table.concat(parts, ",\n" .. ind .. "  ") .. "\n" .. ind .. "}"
end

sh("mkdir -p " .. shq(OUT))
local stamp = first_line("date -u +%Y%m%dT%H%M%SZ") .. (QUICK and "-quick" or "")
-- the latency distributions go to the SVG; the JSON keeps percentiles only
local plots = {}
for _, row in ipairs(R.rows) do
  if row.lat then
    for _, sys in ipairs{ "skinny", "etcd" } do
      if row.lat[sys] then plots[#plots + 1] = { name = sys .. ": " .. row.key, lat = row.lat[sys] } end
    end
    row.lat = nil
  end
end
local jf = assert(io.open(OUT .. "/" .. stamp .. ".json", "w"))
jf:write(json(R), "\n")
jf:close()
local tf = assert(io.open(OUT .. "/" .. stamp .. ".md", "w"))
tf:write(table_text)
tf:close()

--------------------------------------------------------------------- SVG
-- The distribution of cycle latencies of one run per row and system: the
-- share of cycles (y) that took at most x ms, x on a log scale.

local W, H, ML, MR, MT, MB = 900, 520, 60, 330, 30, 50
local xmin, xmax = math.huge, 0
for _, p in ipairs(plots) do
  xmin = math.min(xmin, p.lat[1] / 1000); xmax = math.max(xmax, p.lat[#p.lat] / 1000)
end
xmin = 10 ^ math.floor(math.log(math.max(xmin, 0.001), 10))
xmax = 10 ^ math.ceil(math.log(xmax, 10))
local function X(ms) return ML + (W - ML - MR) * (math.log(ms, 10) - math.log(xmin, 10)) / (math.log(xmax, 10) - math.log(xmin, 10)) end
local function Y(q) return MT + (H - MT - MB) * (1 - q) end
local colors = { "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22", "#393b79", "#e7ba52", "#843c39", "#637939" }
local svg = {}
local function s(x) svg[#svg + 1] = x end
s(string.format('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">', W, H))
s(string.format('<rect width="%d" height="%d" fill="white"/>', W, H))
s(string.format('<text x="%d" y="18" font-size="13">Lock cycle latency (acquire+release): share of cycles within x ms. %s, %s</text>', ML, R.meta.date, QUICK and "quick" or "full"))
local d = xmin
while d <= xmax * 1.0001 do
  for _, m in ipairs{ 1, 2, 5 } do
    local v = d * m
    if v <= xmax * 1.0001 then
      s(string.format('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/>', X(v), MT, X(v), H - MB, m == 1 and "#bbb" or "#eee"))
      s(string.format('<text x="%.1f" y="%d" text-anchor="middle">%g</text>', X(v), H - MB + 14, v))
    end
  end
  d = d * 10
end
for q = 0, 10 do
  s(string.format('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/>', ML, Y(q / 10), W - MR, Y(q / 10)))
  s(string.format('<text x="%d" y="%.1f" text-anchor="end">%d%%</text>', ML - 4, Y(q / 10) + 4, q * 10))
end
s(string.format('<text x="%d" y="%d" text-anchor="middle">ms (log scale)</text>', (ML + W - MR) // 2, H - 12))
for k, p in ipairs(plots) do
  local c = colors[(k - 1) % #colors + 1]
  local pts, n = {}, #p.lat
  local step = math.max(1, n // 400)
  for j = 1, n, step do pts[#pts + 1] = string.format("%.1f,%.1f", X(math.max(p.lat[j], 1) / 1000), Y(j / n)) end
  pts[#pts + 1] = string.format("%.1f,%.1f", X(math.max(p.lat[n], 1) / 1000), Y(1))
  local dash = p.name:find("^etcd") and ' stroke-dasharray="5,3"' or ""
  s(string.format('<polyline fill="none" stroke="%s" stroke-width="1.5"%s points="%s"/>', c, dash, table.concat(pts, " ")))
  local ly = MT + 10 + (k - 1) * 16
  s(string.format('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>', W - MR + 10, ly, W - MR + 30, ly, c, dash))
  s(string.format('<text x="%d" y="%d">%s</text>', W - MR + 34, ly + 4, p.name:gsub("&", "&amp;"):gsub("<", "&lt;")))
end
s("</svg>")
local sf = assert(io.open(OUT .. "/" .. stamp .. ".svg", "w"))
sf:write(table.concat(svg, "\n"), "\n")
sf:close()
log("bench: wrote %s/%s.json, .md and .svg (%.0f s)", OUT, stamp, R.meta.wall_s)
