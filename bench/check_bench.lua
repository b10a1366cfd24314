-- Checker time on a 10,000-operation history, with each kind of model: the
-- lock engine (advisory.lua's model), the lease engine (lease.lua's), and the
-- advisory lock written as a `step` model, as a student would
-- (spec/HOOKS.md, "The model"), and the semaphore's and the read-write lock's
-- step models (scripts/locks/semaphore.lua, rwlock.lua). The histories come from the seed-sweep
-- workload (spec/helpers/workload.lua): 8 clients, 4 locks, random faults.
-- Run: lua5.4 bench/check_bench.lua [ops per client]   (after `make`)
package.path = "scripts/?.lua;scripts/?/init.lua;spec/?.lua;" .. package.path
package.cpath = "build/?.so;" .. package.cpath
local workload = require "helpers.workload"
local check = require "skinny.check"

local PER_CLIENT = tonumber(arg[1]) or 1250

local step_lock = { name = "lock (step)", max_holders = 1, init = false,
  step = function(s, op)
    local held = s or nil
    if op.op == "acquire" then
      if not held then return op.holder, { status = "granted", holder = op.holder } end
      if held == op.holder then return held, { status = "granted", holder = held } end
      return held, { status = "refused", holder = held }
    end
    if held ~= op.holder then return s, { status = "not_holder", holder = held } end
    if op.op == "release" then return false, { status = "released", holder = held } end
    return s, { status = "granted", holder = held }
  end }

local function bench(label, lock, model, extra)
  local o = { seed = 3, clients = 8, ops = PER_CLIENT, locks = { "a", "b", "c", "d" },
              faults = true, lock = lock }
  for k, v in pairs(extra or {}) do o[k] = v end
  local lab = workload.run(o)
  local h = lab:history()
  model = model or lab:model()
  local best, rep = math.huge, nil
  for _ = 1, 3 do
    local t0 = os.clock()
    rep = check.all(h, { model = model })
    best = math.min(best, os.clock() - t0)
  end
  local definite = 0
  for _, op in ipairs(h) do
    if op.status ~= "timeout" and op.status ~= "unavailable" and op.status ~= "contended" and
       op.status ~= "error" and op.status ~= "stale" then definite = definite + 1 end
  end
  print(("%-26s %6d ops (%d definite)  check %.3f s (best of 3)  %s"):format(
    label, #h, definite, best, rep.ok and "all checks pass" or "A CHECK FAILS"))
  lab:close()
end

bench("lock engine (advisory)", "advisory")
bench("lease engine (lease)", "lease")
bench("step model (advisory)", "advisory", step_lock)
-- the semaphore (3 permits, from the lab's lock_params) and the read-write lock (4 of
-- the 8 clients read): step models, with max_holders from the params and an invariant
bench("semaphore (3 permits)", "semaphore", nil, { lock_params = { permits = 3 } })
bench("rwlock (4 readers)", "rwlock", nil, { readers = 4 })
-- the fair lock: acquires that wait in its queue are two operations each (joining, then
-- waiting), checked against fifo.lua's step model
bench("fifo (wait queue)", "fifo")
