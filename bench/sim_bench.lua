-- Simulator speed: 10,000 acquire/release operations on five simulated
-- instances, with the Lua scripts and with the built-in C defaults.
-- Run: lua5.4 bench/sim_bench.lua [ops]   (after `make`)
package.path = "scripts/?.lua;scripts/?/init.lua;" .. package.path
package.cpath = "build/?.so;" .. package.cpath
local skinny = require "skinny"

local OPS = tonumber(arg[1]) or 10000
local CLIENTS = 10

local function run(builtin)
  local lab = skinny.lab{ seed = 1, builtin = builtin, trace = false,
                          latency = { kind = "uniform", a = 1, b = 3 } }
  local clients, ops = {}, 0
  for i = 1, CLIENTS do
    clients[i] = { c = lab:client("h" .. i, { node = lab.names[(i - 1) % 5 + 1] }), lock = "lock" .. i }
  end
  local t0 = os.clock()
  local function start(cl)
    ops = ops + 1
    if cl.op and cl.op.op == "acquire" then cl.op = cl.c:release(cl.lock) else cl.op = cl.c:acquire(cl.lock) end
  end
  for _, cl in ipairs(clients) do start(cl) end
  while ops < OPS do
    lab:run_until(function()
      for _, cl in ipairs(clients) do if cl.op.done then return true end end
      return false
    end, 100000)
    for _, cl in ipairs(clients) do
      if cl.op.done and ops < OPS then start(cl) end
    end
  end
  lab:settle(100000)
  local wall = os.clock() - t0
  local st = lab.sim:stats()
  lab:close()
  return wall, st.sent
end

print(("%d operations, %d clients on distinct locks, 5 instances"):format(OPS, CLIENTS))
for _, builtin in ipairs{ true, false } do
  local best, msgs = math.huge, 0
  for _ = 1, 3 do
    local w, m = run(builtin)
    if w < best then best, msgs = w, m end
  end
  print(("%-22s %7.3f s cpu  %9d messages  %10.0f simulated messages/s  %8.0f ops/s")
        :format(builtin and "built-in C defaults" or "Lua scripts", best, msgs, msgs / best, OPS / best))
end
