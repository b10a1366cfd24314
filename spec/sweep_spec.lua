-- Seed sweeps (tag #sim): the default scripts stay safe under random faults over many
-- seeds; the unsafe configurations (classic mode, request identity off) are caught.
--
-- The workload (helpers/workload.lua): clients that fail over like skinnyctl (the same
-- request resent to the next instance when one is silent, down or gives up), with
-- crashes and restarts, partitions, one-way cuts, instances slowed by seconds, loss,
-- duplication, reordering, and client link faults (slowed by seconds, cut one way or
-- both, lossy), and blank restarts of a minority (instances that lost their state and
-- rejoin before they vote, PROTOCOL.md 7.6).
local skinny = require "skinny"
local workload = require "helpers.workload"

-- Run seeds 1..n of a workload; every violation is returned with its seed.
local function sweep(n, opts)
  local ops, resends, bad, blank = 0, 0, {}, 0
  for seed = 1, n do
    local o = { seed = seed }
    for k, v in pairs(opts or {}) do o[k] = v end
    local lab = workload.run(o)
    local rep = lab:check()
    ops = ops + #lab.ops
    resends = resends + lab:metrics().resends
    for _, f in ipairs(lab.faults) do if f.what:match("state lost") then blank = blank + 1 end end
    if not rep.ok then bad[#bad + 1] = ("SEED=%d\n%s"):format(seed, skinny.check.format(rep)) end
    lab:close()
  end
  return ops, resends, bad, blank
end

describe("seed sweep #sim", function()
  it("default Lua scripts: 1000 seeds, failing-over clients, every kind of fault: no violation", function()
    local t0 = os.clock()
    local ops, resends, bad, blank = sweep(1000)
    print(("default sweep: 1000 seeds, %d ops, %d resends, %d blank restarts, %d violations, %.1f s cpu")
          :format(ops, resends, blank, #bad, os.clock() - t0))
    assert.is_true(blank > 200, "hardly any instance lost its state: " .. blank)
    assert.is_true(ops >= 1000 * 90, "the workload ran too few operations: " .. ops)
    assert.is_true(resends > 1000, "the clients hardly failed over: " .. resends .. " resends")
    assert.same({}, bad)
  end)

  it("the same seed replays exactly: failover, client link faults and all", function()
    for _, seed in ipairs { 6, 7 } do
      local a = workload.run{ seed = seed, trace = true }
      local b = workload.run{ seed = seed, trace = true }
      local c = workload.run{ seed = seed + 1, trace = true }
      local ta, tb, tc = a:trace_text(), b:trace_text(), c:trace_text()
      assert.equal(ta, tb)
      assert.are_not.equal(ta, tc)
      assert.truthy(ta:find('"resend_of"', 1, true), "no client failed over at seed " .. seed)
      local quiet = workload.run{ seed = seed } -- no trace kept: the same run
      assert.same(a:history(), quiet:history())
      a:close(); b:close(); c:close(); quiet:close()
    end
  end)

  it("five clients on two locks: 200 seeds with faults, no violation", function()
    local _, _, bad = sweep(200, { clients = 5 })
    assert.same({}, bad)
  end)

  it("clients sharing a holder: racing requests answered stale, 200 seeds, no violation", function()
    -- four clients, two holders: the older of two racing requests of a holder is
    -- answered stale, and the checkers close a stale op's window at its answer
    local stale, bad = 0, {}
    for seed = 1, 200 do
      local lab = workload.run{ seed = seed, clients = 4, holders = 2 }
      local rep = lab:check()
      stale = stale + lab:metrics().stale
      if not rep.ok then bad[#bad + 1] = ("SEED=%d\n%s"):format(seed, skinny.check.format(rep)) end
      lab:close()
    end
    assert.is_true(stale > 100, "too few stale answers: " .. stale)
    assert.same({}, bad)
  end)

  it("the one-round-trip proposer (fast.lua): 300 seeds with faults, no violation", function()
    local _, _, bad = sweep(300, { proposer = "fast" })
    assert.same({}, bad)
  end)

  it("the thrifty proposer (thrifty.lua): 300 seeds with faults, no violation", function()
    local _, _, bad = sweep(300, { proposer = "thrifty" })
    assert.same({}, bad)
  end)

  it("the semaphore (3 permits) and the read-write lock (2 readers): 150 seeds each, no violation", function()
    -- five failing-over clients on one lock, so that holders overlap
    local o = { clients = 5, ops = 20, locks = { "L" } }
    local function with(t)
      local c = {}
      for k, v in pairs(o) do c[k] = v end
      for k, v in pairs(t) do c[k] = v end
      return c
    end
    local _, _, bad = sweep(150, with{ lock = "semaphore", lock_params = { permits = 3 } })
    assert.same({}, bad)
    _, _, bad = sweep(150, with{ lock = "rwlock", readers = 2 })
    assert.same({}, bad)
    -- clients sharing a holder: re-entrant acquires, answered with the holder's token
    _, _, bad = sweep(100, with{ lock = "semaphore", lock_params = { permits = 2 }, holders = 3 })
    assert.same({}, bad)
    _, _, bad = sweep(100, with{ lock = "rwlock", readers = 2, holders = 3 })
    assert.same({}, bad)
    -- the same sweeps catch the known-bad variants (spec/testdata/bad/)
    _, _, bad = sweep(20, with{ lock = "spec/testdata/bad/semaphore_off_by_one.lua",
                                lock_params = { permits = 3 } })
    assert.is_true(#bad > 0, "the off-by-one semaphore was never caught")
    _, _, bad = sweep(20, with{ lock = "spec/testdata/bad/rwlock_writer_joins_readers.lua", readers = 2 })
    assert.is_true(#bad > 0, "the writer joining readers was never caught")
  end)

  it("built-in C defaults: 100 seeds, no violation", function()
    local _, _, bad = sweep(100, { builtin = true })
    assert.same({}, bad)
  end)

  it("the thrifty proposer sends a majority's worth of messages for a lone client", function()
    for seed = 1, 10 do
      local fast = workload.run{ seed = seed, faults = false, clients = 1, proposer = "fast" }
      local thrifty = workload.run{ seed = seed, faults = false, clients = 1, proposer = "thrifty" }
      local mf, mt = fast:metrics().messages_per_decision, thrifty:metrics().messages_per_decision
      assert.is_true(thrifty:check().ok)
      assert.is_true(mt < mf * 0.75, ("SEED=%d: %s vs %s messages per decision"):format(seed, mt, mf))
      fast:close()
      thrifty:close()
    end
  end)

  it("the one-round-trip proposer sends about half the messages for a lone client", function()
    for seed = 1, 10 do
      local paxos = workload.run{ seed = seed, faults = false, clients = 1 }
      local fast = workload.run{ seed = seed, faults = false, clients = 1, proposer = "fast" }
      local mp, mf = paxos:metrics().messages_per_decision, fast:metrics().messages_per_decision
      assert.is_true(fast:check().ok)
      assert.is_true(mf < mp * 0.6, ("SEED=%d: %s vs %s messages per decision"):format(seed, mf, mp))
      paxos:close()
      fast:close()
    end
  end)

  it("classic scripts are caught within a few seeds", function()
    local caught
    for seed = 1, 100 do
      local lab = workload.run{ seed = seed, proposer = "classic", backoff = "classic",
                                lock = "advisory", faults = false, clients = 3 }
      local ok = lab:check().ok
      lab:close()
      if not ok then caught = seed; break end
    end
    print("classic caught at SEED=" .. tostring(caught))
    assert.is_not_nil(caught)
  end)

  -- The checker is only believed because it fails: with request identity off, the same
  -- sweep must find a violation.
  it("identity = false with failing-over clients is caught within 20 seeds", function()
    local caught
    for seed = 1, 20 do
      local lab = workload.run{ seed = seed, identity = false }
      local ok = lab:check().ok
      lab:close()
      if not ok then caught = seed; break end
    end
    print("identity = false caught at SEED=" .. tostring(caught))
    assert.is_not_nil(caught)
  end)

  -- The simulator proves only what it models. A lone client (no contention, so no
  -- proposer retries) and faults on its links only: with identity off, failing over is
  -- what breaks the lock (a copy applied twice, or late); clients that never fail over
  -- hear "timeout", an unknown outcome that lets a late copy take effect, and the same
  -- seeds pass.
  it("identity = false: only failing-over clients expose the double apply", function()
    local kinds = { "slow_client", "cut_client", "client_loss" }
    local function caught(failover)
      local n = 0
      for seed = 1, 60 do
        local lab = workload.run{ seed = seed, identity = false, clients = 1, failover = failover,
                                  kinds = kinds }
        if not lab:check().ok then n = n + 1 end
        lab:close()
      end
      return n
    end
    local with, without = caught(true), caught(false)
    print(("identity = false, lone client, client link faults: %d of 60 seeds caught with failover, %d without")
          :format(with, without))
    assert.is_true(with > 0)
    assert.equal(0, without)
    -- and with identity on, the same failing-over runs are safe
    for seed = 1, 60 do
      local lab = workload.run{ seed = seed, clients = 1, kinds = kinds }
      assert.is_true(lab:check().ok, "SEED=" .. seed)
      lab:close()
    end
  end)
end)
