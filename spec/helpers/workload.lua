-- A seeded random workload with random faults, for seed sweeps.
--
-- workload.run(opts) -> lab (already run). opts:
--   seed                 the run's seed (the workload's own choices come from it too)
--   clients (3), ops (30 per client), locks ({"a", "b"})
--   holders (one per client)  how many holders the clients act for (fewer than the
--                        clients: some clients share a holder, and the older of two
--                        racing requests of a holder is answered stale)
--   failover (true)      clients fail over like skinnyctl (skinny.failover): the same
--                        request, resent to the next instance
--   faults (true)        random faults: crashes and restarts, partitions, one-way cuts,
--                        instances slowed by seconds, loss, duplication, reordering, and
--                        client link faults (a client's link to one instance slowed by
--                        seconds, cut one way or both, lossy)
--   amnesia (true)       some restarts lose their state (blank restarts), always within
--                        one fixed minority of the instances
--   rejoin (true)        false: blank instances vote at once (UNSAFE, to show the checker
--                        catching it)
--   faults_n (10)        how many faults
--   kinds (all)          the kinds of fault to draw from, a list of names from
--                        workload.KINDS
--   readers (0)          the first `readers` clients acquire shared (a read-write lock's
--                        readers); the others plain
--   identity, proposer, backoff, lock, lock_params, builtin, nodes, trace: lab options
--
-- Each client runs one operation at a time: acquire, and release what it holds (also
-- after an indefinite acquire), with a think time of 1 to 40 ms between an answer and
-- its next operation (so the checkers can tell a client's operations apart in time).
local skinny = require "skinny"
local scenario = require "skinny.scenario"

local M = {}

M.KINDS = scenario.KINDS

function M.run(o)
  local rand = scenario.rng(o.seed) -- the workload's own choices, independent of the simulator's
  local lab_opts = { seed = o.seed, nodes = o.nodes or 5, client_timeout = 3000,
                     phase_timeout = 150, proposer = o.proposer, backoff = o.backoff,
                     lock = o.lock, builtin = o.builtin, trace = o.trace or false,
                     identity = o.identity, latency = { kind = "uniform", a = 1, b = 8 },
                     lock_params = o.lock_params }
  local lab = skinny.lab(lab_opts)
  local names = lab.names
  local locks = o.locks or { "a", "b" }
  local holders = { "beaver", "giraffe", "alien", "otter", "heron" }
  local failover = o.failover ~= false
  local clients = {}
  for i = 1, (o.clients or 3) do
    local h = holders[(i - 1) % (o.holders or #holders) + 1]
    clients[i] = { c = lab:client(h, { node = names[rand(#names)], failover = failover,
                                       name = h .. i }),
                   left = o.ops or 30, shared = i <= (o.readers or 0) or nil }
  end
  if o.faults ~= false then
    -- the schedule (skinny.scenario): blank restarts (half the restarts, unless
    -- amnesia = false) only ever hit one fixed minority: a blank instance rejoins before
    -- it votes (PROTOCOL.md 7.6), which is safe while a majority keeps its state
    lab.faults_planned = scenario.random_faults(rand, names, {
      n = o.faults_n or 10, kinds = o.kinds, amnesia = o.amnesia, rejoin = o.rejoin,
      clients = #clients,
    })
    scenario.apply_faults(lab, lab.faults_planned)
  end
  -- each client: one op at a time, acquire then release if granted
  local finished = 0
  local by_name = {}
  local function next_op(cl)
    if cl.left <= 0 then
      finished = finished + 1
      return
    end
    cl.left = cl.left - 1
    if cl.holding then
      cl.op = cl.c:release(cl.holding)
      cl.holding = nil
    else
      local lock = locks[rand(#locks)]
      cl.op = cl.c:acquire(lock, cl.shared and { shared = true } or nil)
      cl.want = lock
    end
  end
  lab.on_reply = function(op)
    local cl = by_name[op.client]
    if cl == nil or cl.op ~= op then return end
    if op.op == "acquire" and op.status ~= "refused" then
      cl.holding = cl.want -- granted, or an unknown outcome: release it to be safe
    end
    lab:after(rand(40), function() next_op(cl) end)
  end
  for _, cl in ipairs(clients) do
    by_name[cl.c.name] = cl
    lab:after(rand(20), function() next_op(cl) end)
  end
  lab:run_until(function() return finished == #clients end, 3600 * 1000)
  lab.on_reply = nil
  lab:heal()
  lab:run_for(2000)
  return lab
end

return M
