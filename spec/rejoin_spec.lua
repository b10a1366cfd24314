-- Rejoining after state loss (PROTOCOL.md 7.6), in the simulator.
local skinny = require "skinny"

-- beaver is granted through catbus by the thrifty proposer, whose ACCEPT goes to
-- exactly a majority (catbus and its two fastest peers) first. Then kanta, one of
-- that majority, loses its state and catbus is down: giraffe asks satsuki, whose
-- phase 1 may now meet kanta blank and two instances that never heard of beaver.
local function unchoose(seed, rejoin)
  local lab = skinny.lab{ seed = seed, proposer = "thrifty" }
  local a = lab:client("beaver", { node = "catbus" }):acquire("printer")
  lab:run_until(function() return a.done end, 5000)
  lab:crash("kanta"):crash("catbus")
  lab:restart("kanta", { amnesia = true, rejoin = rejoin })
  local b = lab:client("giraffe", { node = "satsuki" }):acquire("printer")
  lab:run_until(function() return b.done end, 10000)
  lab:restart("catbus")
  lab:run_for(1000)
  return lab, a, b
end

describe("rejoining after state loss #sim", function()
  it("a blank instance voting at once un-chooses a value, and the checker says so", function()
    local caught = 0
    for seed = 1, 20 do
      local lab, a, b = unchoose(seed, false)
      assert.equal("granted", a.status)
      if not lab:check().ok then caught = caught + 1 end
      if b.status == "granted" then assert.is_false(lab:check().ok) end
      lab:close()
    end
    assert.is_true(caught >= 15, "caught on only " .. caught .. " of 20 seeds")
  end)

  it("the same instance rejoining first keeps beaver's grant on every seed", function()
    for seed = 1, 20 do
      local lab, a, b = unchoose(seed, nil)
      assert.equal("granted", a.status)
      assert.equal("refused", b.status, "seed " .. seed)
      assert.equal("beaver", b.by)
      local rejoined
      for _, e in ipairs(lab:trace()) do
        if e.ev == "rejoin" and e.node == "kanta" and (e.text or ""):match("^rejoined") then rejoined = e end
      end
      assert.is_not_nil(rejoined, "kanta never rejoined (seed " .. seed .. ")")
      assert.matches("^e1:0%.2$", rejoined.ballot) -- the fence: epoch 1, kanta's id
      assert.is_true(lab:check().ok)
      lab:close()
    end
  end)

  -- Reproduction 2 of the at-most-once issue: beaver acquires through catbus; any
  -- one instance (the proposer included) restarts blank; giraffe then asks that
  -- instance. Before rejoining existed, catbus reissued ballot 1.1 and answered
  -- giraffe "granted (applied by an earlier attempt)" while beaver held the lock.
  for _, proposer in ipairs{ "paxos", "fast", "thrifty" } do
    it(proposer .. ": any one instance wiped, giraffe is refused on every seed", function()
      for _, victim in ipairs{ "catbus", "kanta", "mei", "satsuki", "totoro" } do
        for seed = 1, 10 do
          local lab = skinny.lab{ seed = seed, proposer = proposer }
          local a = lab:client("beaver", { node = "catbus" }):acquire("printer")
          lab:run_until(function() return a.done end, 5000)
          lab:crash(victim)
          lab:run_for(10)
          lab:restart(victim, { amnesia = true })
          local b = lab:client("giraffe", { node = victim }):acquire("printer")
          lab:run_until(function() return b.done end, 10000)
          local ctx = ("%s wiped, seed %d"):format(victim, seed)
          assert.equal("granted", a.status, ctx)
          assert.equal("refused", b.status, ctx)
          assert.equal("beaver", b.by, ctx)
          assert.is_true(lab:check().ok, ctx)
          lab:close()
        end
      end
    end)
  end

  it("a blank majority cannot rejoin: nothing is decided, nothing is broken", function()
    local lab = skinny.lab{ seed = 3, client_timeout = 2000 }
    local a = lab:client("beaver", { node = "totoro" }):acquire("printer")
    lab:run_until(function() return a.done end, 5000)
    for _, n in ipairs{ "catbus", "kanta", "mei" } do lab:restart(n, { amnesia = true }) end
    local b = lab:client("giraffe", { node = "satsuki" }):acquire("printer")
    lab:settle(5000)
    assert.equal("granted", a.status)
    assert.is_not.equal("granted", b.status)
    assert.is_true(lab:check().ok)
    lab:close()
  end)
end)
