-- Seed sweeps of the semaphore, the read-write lock and the fair lock with a wait queue
-- (scripts/locks/semaphore.lua, rwlock.lua, fifo.lua) under faults, and how soon each
-- known-bad variant is caught.
--
--   lua5.4 bench/lock_sweep.lua [--seeds 1000]      (after `make`, from the repository root)
--
-- Two workloads per lock, each over seeds 1..N:
--   experiment  scripts/experiments/semaphore.lua / rwlock.lua: five clients failing over
--               on one lock, message loss then duplication, two crashes (one restart
--               with the disk wiped, so the instance rejoins)
--   random      spec/helpers/workload.lua: five clients failing over on one lock, ten
--               random faults per seed (crashes and blank restarts of a minority,
--               partitions, one-way cuts, slowed instances, loss, duplication,
--               reordering, client link faults)
--   3holders    the same, the five clients acting for three holders (so a holder asks
--               again while it holds: re-entrant acquires, answered with its token)
-- For the correct scripts it counts the seeds whose history fails a check (it must be
-- 0); for each known-bad variant (spec/testdata/bad/) it finds the first seed caught and
-- the checks that failed there, and how many of the seeds are caught.
package.path = "scripts/?.lua;scripts/?/init.lua;spec/?.lua;" .. package.path
package.cpath = "build/?.so;" .. package.cpath
local workload = require "helpers.workload"
local experiment = require "helpers.experiment"

local N = 1000
local i = 1
while i <= #arg do
  if arg[i] == "--seeds" and arg[i + 1] then
    N = math.tointeger(tonumber(arg[i + 1])) or error("--seeds needs a whole number")
    i = i + 2
  else
    io.stderr:write("usage: lua5.4 bench/lock_sweep.lua [--seeds N]\n")
    os.exit(2)
  end
end

local LOCKS = {
  { name = "semaphore", experiment = "scripts/experiments/semaphore.lua",
    bad = "spec/testdata/bad/semaphore_off_by_one.lua", params = { permits = 2 }, readers = 0 },
  { name = "rwlock", experiment = "scripts/experiments/rwlock.lua",
    bad = "spec/testdata/bad/rwlock_writer_joins_readers.lua", readers = 3 },
  -- acquires wait in its queue (answered queued, polled until granted, given up after
  -- the op's timeout: a release leaves the queue)
  { name = "fifo", experiment = "scripts/experiments/fifo.lua",
    bad = "spec/testdata/bad/fifo_lifo.lua", readers = 0 },
}

-- One seed's lab, already run, for a lock (and a lock script path standing in for it).
local function run_experiment(l, seed, script)
  return (experiment.run(l.experiment, seed, { lock = script }))
end

local function run_random(l, seed, script, holders)
  return workload.run{ seed = seed, clients = 5, ops = 20, locks = { "L" }, faults = true,
                       lock = script or l.name, lock_params = l.params, readers = l.readers,
                       holders = holders }
end

-- the same with five clients acting for three holders: re-entrant acquires
local function run_shared(l, seed, script) return run_random(l, seed, script, 3) end

local function failed_checks(rep)
  local t = {}
  for _, c in ipairs(rep.checks) do if c.ok ~= true then t[#t + 1] = c.name end end
  return table.concat(t, "+")
end

-- Sweep seeds 1..N: ops, granted, violations (seeds failing), first failing seed and its
-- checks, seeds caught.
local function sweep(l, runner, script, stop_at_first)
  local s = { ops = 0, granted = 0, failing = 0, caught = 0, unknown = 0 }
  local t0 = os.clock()
  for seed = 1, N do
    local lab = runner(l, seed, script)
    local rep = lab:check()
    s.ops = s.ops + #lab.ops
    for _, op in ipairs(lab.ops) do if op.status == "granted" then s.granted = s.granted + 1 end end
    if rep.unknown then s.unknown = s.unknown + 1 end
    if not rep.ok then
      s.failing = s.failing + 1
      if not s.first then s.first, s.first_checks = seed, failed_checks(rep) end
    end
    lab:close()
    if stop_at_first and s.first then break end
  end
  s.cpu = os.clock() - t0
  return s
end

print(("lock_sweep: %d seeds per sweep"):format(N))
for _, l in ipairs(LOCKS) do
  for _, w in ipairs{ { "experiment", run_experiment }, { "random", run_random }, { "3holders", run_shared } } do
    local good = sweep(l, w[2], nil)
    print(("%-9s %-10s correct  %5d seeds  %6d ops  %6d grants  violations %d  (unknown %d)  %.1f s cpu")
      :format(l.name, w[1], N, good.ops, good.granted, good.failing, good.unknown, good.cpu))
    local bad = sweep(l, w[2], l.bad)
    print(("%-9s %-10s %s  caught in %d of %d seeds; first at seed %s (%s)  %.1f s cpu")
      :format(l.name, w[1], l.bad:match("[^/]+$"), bad.failing, N, tostring(bad.first or "never"),
        bad.first_checks or "-", bad.cpu))
  end
end
