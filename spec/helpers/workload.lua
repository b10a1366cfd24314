-- A seeded random workload with random faults, for seed sweeps.
-- workload.run(opts) -> lab (already run); opts: seed, clients (3), locks
-- ({"a","b"}), ops per client (20), faults (true), lab options.
local skinny = require "skinny"

local M = {}

function M.run(o)
  local rng_state = o.seed * 7919 + 17
  local function rand(n) -- a small LCG, independent of the simulator's generators
    rng_state = (rng_state * 1103515245 + 12345) % 2147483648
    return rng_state % n + 1
  end
  local lab_opts = { seed = o.seed, nodes = o.nodes or 5, client_timeout = 3000,
                     phase_timeout = 150, proposer = o.proposer, backoff = o.backoff,
                     lock = o.lock, builtin = o.builtin, trace = o.trace or false,
                     latency = { kind = "uniform", a = 1, b = 8 } }
  local lab = skinny.lab(lab_opts)
  local names = lab.names
  local locks = o.locks or { "a", "b" }
  local holders = { "beaver", "giraffe", "alien", "otter", "heron" }
  local clients = {}
  for i = 1, (o.clients or 3) do
    clients[i] = { c = lab:client(holders[i], { node = names[rand(#names)] }), left = o.ops or 30 }
  end
  if o.faults ~= false then
    local t = 0
    for _ = 1, 6 do
      t = t + 50 + rand(400)
      local kind = rand(5)
      local victim = names[rand(#names)]
      if kind == 1 then
        lab:at(t, function(l) l:crash(victim) end)
        lab:at(t + 100 + rand(500), function(l) l:restart(victim) end)
      elseif kind == 2 then
        local a, b = {}, {}
        for _, n in ipairs(names) do if rand(2) == 1 then a[#a + 1] = n else b[#b + 1] = n end end
        if #a > 0 and #b > 0 then
          lab:at(t, function(l) l:partition(a, b) end)
          lab:at(t + 100 + rand(500), function(l) l:heal() end)
        end
      elseif kind == 3 then
        lab:at(t, function(l) l:loss(0.2) end)
        lab:at(t + 300, function(l) l:loss(0) end)
      elseif kind == 4 then
        lab:at(t, function(l) l:duplicate(0.3) end)
        lab:at(t + 300, function(l) l:duplicate(0) end)
      else
        lab:at(t, function(l) l:reorder(0.5, 30) end)
        lab:at(t + 300, function(l) l:reorder(0, 0) end)
      end
    end
  end
  -- each client: one op at a time, acquire then release if granted
  local pending = {}
  local function next_op(cl)
    if cl.left <= 0 then return end
    cl.left = cl.left - 1
    local lock = locks[rand(#locks)]
    if cl.holding then
      cl.op = cl.c:release(cl.holding)
      cl.holding = nil
    else
      cl.op = cl.c:acquire(lock)
      cl.want = lock
    end
    pending[#pending + 1] = cl
  end
  for _, cl in ipairs(clients) do next_op(cl) end
  for _ = 1, 10000 do
    if #pending == 0 then break end
    lab:run_until(function()
      for _, cl in ipairs(pending) do if cl.op.done then return true end end
      return false
    end, 20000)
    local still = {}
    local done = {}
    for _, cl in ipairs(pending) do
      if cl.op.done then done[#done + 1] = cl else still[#still + 1] = cl end
    end
    if #done == 0 then break end
    pending = still
    for _, cl in ipairs(done) do
      if cl.op.op == "acquire" and cl.op.status == "granted" then cl.holding = cl.want end
      if cl.op.op == "acquire" and cl.op.status ~= "granted" and cl.op.status ~= "refused" then
        cl.holding = cl.want -- unknown outcome: release it to be safe
      end
      next_op(cl)
    end
  end
  lab:heal()
  lab:run_for(2000)
  return lab
end

return M
