-- Sweep throughput: `bin/skinny sweep` over a fixed seed range with 1 worker and with
-- 2, alternating, best and median of the repetitions (bench/README.md, "Sweeps").
--   lua5.4 bench/sweep_bench.lua [--reps 3] [--seeds 1..400] [--experiment FILE]
-- Prints runs/s and simulated messages/s (the sum of every run's lab:metrics().messages
-- over the wall time) per worker count, and the speed-up of 2 workers over 1.
local cjson = require "cjson"

local o = { reps = 3, seeds = "1..400", experiment = "scripts/experiments/duelling.lua" }
local i = 1
while i <= #arg do
  local k = arg[i]:match("^%-%-(.*)$")
  if k and o[k] ~= nil then o[k] = arg[i + 1]; i = i + 1 end
  i = i + 1
end
o.reps = math.tointeger(tonumber(o.reps)) or 3

local function load1()
  local f = io.open("/proc/loadavg")
  local l = f and f:read("l") or "?"
  if f then f:close() end
  return l:match("^(%S+)") or "?"
end

local runs = { [1] = {}, [2] = {} }
local msgs = { [1] = {}, [2] = {} }
local first
io.stderr:write(("sweep bench: %s seeds %s, %d repetitions, load %s\n"):format(o.experiment, o.seeds, o.reps, load1()))
for r = 1, o.reps do
  local order = r % 2 == 1 and { 1, 2 } or { 2, 1 }
  for _, j in ipairs(order) do
    local p = io.popen(("bin/skinny sweep %s --seeds %s --jobs %d --json"):format(o.experiment, o.seeds, j))
    local s = cjson.decode(p:read("a"))
    p:close()
    first = first or s
    assert(s.runs == first.runs and s.messages == first.messages, "the same sweep gave another summary")
    runs[j][#runs[j] + 1] = s.runs_per_s
    msgs[j][#msgs[j] + 1] = s.messages_per_s
    io.stderr:write(("  rep %d, %d worker(s): %.1f runs/s, %.0f msgs/s, %.2f s\n")
      :format(r, j, s.runs_per_s, s.messages_per_s, s.wall_s))
  end
end

local function median(t)
  table.sort(t)
  return t[(#t + 1) // 2]
end
print(("sweep %s --seeds %s: %d runs, %d simulated messages"):format(o.experiment, o.seeds, first.runs,
                                                                     first.messages))
local r1, r2 = median(runs[1]), median(runs[2])
for _, j in ipairs{ 1, 2 } do
  print(("  --jobs %d: %.1f runs/s, %.0f msgs/s (medians of %d; best %.1f runs/s)")
    :format(j, median(runs[j]), median(msgs[j]), #runs[j], runs[j][#runs[j]]))
end
print(("  2 workers / 1: %.2fx (load average at the end %s)"):format(r2 / r1, load1()))
