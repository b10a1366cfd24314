-- Seed sweeps (tag #sim): the default scripts stay safe under random faults
-- over 200 seeds; the classic scripts are caught.
local skinny = require "skinny"
local workload = require "helpers.workload"

describe("seed sweep #sim", function()
  it("default Lua scripts: 200 seeds with crashes, partitions, loss, duplication: no violation", function()
    local ops, bad = 0, {}
    for seed = 1, 200 do
      local lab = workload.run{ seed = seed }
      local rep = lab:check()
      ops = ops + #lab.ops
      if not rep.ok then bad[#bad + 1] = ("SEED=%d\n%s"):format(seed, skinny.check.format(rep)) end
      lab:close()
    end
    assert.is_true(ops > 200 * 30, "the workload ran too few operations: " .. ops)
    assert.same({}, bad)
  end)

  it("the one-round-trip proposer (fast.lua): 200 seeds with faults, no violation", function()
    for seed = 1, 200 do
      local lab = workload.run{ seed = seed, proposer = "fast" }
      local rep = lab:check()
      assert.is_true(rep.ok, ("SEED=%d\n%s"):format(seed, skinny.check.format(rep)))
      lab:close()
    end
  end)

  it("the thrifty proposer (thrifty.lua): 200 seeds with faults, no violation", function()
    for seed = 1, 200 do
      local lab = workload.run{ seed = seed, proposer = "thrifty" }
      local rep = lab:check()
      assert.is_true(rep.ok, ("SEED=%d\n%s"):format(seed, skinny.check.format(rep)))
      lab:close()
    end
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

  it("built-in C defaults: 50 seeds, no violation", function()
    for seed = 1, 50 do
      local lab = workload.run{ seed = seed, builtin = true }
      local rep = lab:check()
      assert.is_true(rep.ok, ("SEED=%d\n%s"):format(seed, skinny.check.format(rep)))
      lab:close()
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
end)
