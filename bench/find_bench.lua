-- Finding and explaining bugs: the explorer's search sizes and rates, and what shrinking
-- does to failing runs (bench/README.md, "Exploration" and "Shrinking"). Figures are
-- printed, never asserted.
--   lua5.4 bench/find_bench.lua [--quick]
-- --quick leaves out the largest search (the default scripts' whole timer-free space
-- with a loss and a duplication, about 2.4 million states).
local here = arg[0]:match("^(.*)/bench/[^/]*$") or "."
if here:sub(1, 1) ~= "/" then -- absolute: the shrink runs happen in a temporary directory
  local p = io.popen("cd " .. here .. " && pwd")
  here = p:read("l")
  p:close()
end
package.path = here .. "/scripts/?.lua;" .. here .. "/scripts/?/init.lua;" .. package.path
package.cpath = (os.getenv("SKINNY_BUILD") and (here .. "/" .. os.getenv("SKINNY_BUILD") .. "/?.so;") or "")
  .. here .. "/build/?.so;" .. package.cpath
local skinny = require "skinny"
skinny.scripts_dir = here .. "/scripts"
local quick = arg[1] == "--quick"

local TWO = { { node = 1, ops = { "acquire" } }, { node = 2, ops = { "acquire" } } }
local ACQ_REL = { { node = 1, ops = { "acquire", "release" } }, { node = 2, ops = { "acquire" } } }

local rows = {
  { "C defaults, 1 loss + 1 dup, no timers, whole space", { builtin = true, drops = 1, dups = 1, timers = false }, true },
  { "Lua scripts, 1 loss + 1 dup, no timers, whole space", { drops = 1, dups = 1, timers = false }, true },
  { "Lua scripts, 1 loss + 1 dup, no timers, histories off", { drops = 1, dups = 1, timers = false, history = false }, true },
  { "Lua scripts, no faults, no timers", { drops = 0, dups = 0, timers = false } },
  { "C defaults, 1 loss + 1 dup, timers, depth <= 10", { builtin = true, drops = 1, dups = 1, max_depth = 10 } },
  { "C defaults, 1 crash with state, no timers", { builtin = true, drops = 0, dups = 0, crashes = 1, timers = false } },
  { "C defaults, 1 crash with state lost (rejoin), no timers", { builtin = true, drops = 0, dups = 0, wipes = 1, timers = false } },
  { "Lua scripts, 1 failover, no timers, depth <= 10", { drops = 0, dups = 0, failovers = 1, timers = false, max_depth = 10 } },
  { "classic scripts (the original)", { proposer = "classic", backoff = "classic", lock = "classic", drops = 0, dups = 0 } },
  { "C defaults, blank restart votes at once", { builtin = true, drops = 0, dups = 0, wipes = 1, blank_votes = true, timers = false } },
  { "sticky_release.lua, c1 acquire+release, c2 acquire", { clients = ACQ_REL, drops = 0, dups = 0, timers = false,
      lock = here .. "/spec/testdata/bad/sticky_release.lua" } },
  { "minority_quorum.lua on 5 instances", { nodes = 5, clients = { { node = 1, ops = { "acquire" } }, { node = 4, ops = { "acquire" } } },
      proposer = here .. "/spec/testdata/bad/minority_quorum.lua", timers = false, drops = 0, dups = 0 } },
}

print("## Exploration (3 instances, 2 clients, one acquire each, unless said)")
print()
print("| configuration | distinct states | depth | histories checked (distinct) | time | states/s | result |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for _, row in ipairs(rows) do
  if not (quick and row[3]) then
    local o = row[2]
    o.clients = o.clients or TWO
    local r = assert(skinny.explore(o))
    local result
    if r.violation then
      result = ("violation, %d steps: %s"):format(#r.path, r.what:sub(1, 60))
    elseif r.depth_bound or r.state_bound then
      result = "no violation within the bound"
    else
      result = "no violation, whole space"
    end
    print(("| %s | %d | %d | %s | %.2f s | %.0f | %s |"):format(row[1], r.distinct, r.depth,
      o.history == false and "off" or ("%d (%d)"):format(r.histories, r.distinct_histories),
      r.seconds, r.seconds > 0 and r.distinct / r.seconds or 0, result))
    io.stdout:flush()
  end
end

print()
print("## Shrinking")
print()
print("| run | client ops | instances | trace events | replays |")
print("| --- | --- | --- | --- | --- |")
local tmp = os.tmpname()
os.remove(tmp)
assert(os.execute("mkdir -p " .. tmp))
for _, run in ipairs{
  { "classic_double_grant.lua", "scripts/experiments/classic_double_grant.lua" },
  { "semaphore.lua + semaphore_off_by_one.lua (seed 2)",
    "scripts/experiments/semaphore.lua --seed 2 --lock spec/testdata/bad/semaphore_off_by_one.lua" },
} do
  local cmd = ("cd %s && %s/bin/skinny shrink %s 2>&1"):format(tmp, here, run[2]:gsub("(%S+%.lua)", here .. "/%1"))
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  p:close()
  local ops, inst = out:match("client operations (%d+ %-> %d+).-instances (%d+ %-> %d+)")
  local ev = out:match("trace events (%d+ %-> %d+)")
  local reps = out:match("shrunk in (%d+) replays")
  print(("| %s | %s | %s | %s | %s |"):format(run[1], ops or "?", inst or "?", ev or "?", reps or "?"))
end
os.execute("rm -rf " .. tmp)
