-- Every shipped experiment's expected behaviour, through the same lab API
-- the experiments use (tag #sim).
local skinny = require "skinny"

local function run_experiment(name, seed, variant_name)
  local exp = dofile("scripts/experiments/" .. name .. ".lua")
  local variants = exp.variants or { {} }
  local out = {}
  for _, v in ipairs(variants) do
    if variant_name == nil or v.name == variant_name then
      local opts = {}
      for k, x in pairs(exp.lab or {}) do opts[k] = x end
      for k, x in pairs(v) do if k ~= "name" then opts[k] = x end end
      opts.seed = seed
      local lab = skinny.lab(opts)
      local result = exp.run(lab, v)
      out[v.name or 1] = { lab = lab, result = result, check = lab:check(), metrics = lab:metrics() }
    end
  end
  return out
end

local function statuses(lab)
  local t = {}
  for _, op in ipairs(lab.ops) do t[#t + 1] = op.client .. ":" .. op.op .. ":" .. tostring(op.status) end
  return t
end

describe("experiment #sim", function()
  it("basic: beaver granted, giraffe refused and told who, release, giraffe granted", function()
    local r = run_experiment("basic", 7)[1]
    assert.same({ "beaver:acquire:granted", "giraffe:acquire:refused", "beaver:release:released",
                  "giraffe:acquire:granted" }, statuses(r.lab))
    assert.equal("beaver", r.lab.ops[2].by)
    assert.is_true(r.lab.ops[4].token > r.lab.ops[1].token)
    assert.is_true(r.check.ok)
    -- every instance ends with the same accepted ballot and holder
    local seen
    for _, s in ipairs(r.lab:status()) do
      local l = s.locks[1]
      assert.equal("giraffe", l.state.holder)
      seen = seen or l.accepted
      assert.equal(seen, l.accepted)
    end
    r.lab:close()
  end)

  it("basic: the same seed gives a byte-identical trace, another seed may not", function()
    local a = run_experiment("basic", 7)[1].lab:trace_text()
    local b = run_experiment("basic", 7)[1].lab:trace_text()
    local c = run_experiment("basic", 8)[1].lab:trace_text()
    assert.equal(a, b)
    assert.are_not.equal(a, c)
  end)

  it("instance_failure: 2 down granted, 3 down unavailable in time, restarted refused", function()
    local r = run_experiment("instance_failure", 7)[1]
    assert.same({ "granted", "unavailable", "refused" }, r.result)
    local b = r.lab.ops[2]
    assert.is_true(b.complete - b.invoke <= r.lab.opts.client_timeout)
    assert.is_true(r.check.ok)
  end)

  it("duelling: both variants safe; jittered backoff conflicts less than none over seeds", function()
    local nays = { none = 0, exponential_jitter = 0 }
    for seed = 1, 8 do
      local r = run_experiment("duelling", seed)
      for name, v in pairs(r) do
        assert.is_true(v.check.ok, name .. " seed " .. seed .. ": " .. skinny.check.format(v.check))
        nays[name] = nays[name] + v.metrics.nays
      end
    end
    assert.is_true(nays.exponential_jitter < nays.none,
      ("nays: jitter %d, none %d"):format(nays.exponential_jitter, nays.none))
  end)

  it("slow_network: early stopping is much faster than waiting for all", function()
    local r = run_experiment("slow_network", 7)
    local fast, slow = r["early stopping"].metrics, r["wait for all"].metrics
    assert.is_true(r["early stopping"].check.ok and r["wait for all"].check.ok)
    assert.equal(10, fast.completed)
    assert.is_true(fast.mean_latency_ms * 10 < slow.mean_latency_ms,
      ("mean latency %s vs %s"):format(fast.mean_latency_ms, slow.mean_latency_ms))
  end)

  it("state_loss: blank instances voting at once break safety; rejoining keeps it", function()
    local r = run_experiment("state_loss", 7)
    assert.is_true(r.durable.check.ok)
    assert.equal("refused", r.durable.lab.ops[2].status)
    local unsafe = r["majority amnesia (votes at once)"]
    assert.is_false(unsafe.check.ok)
    assert.equal("granted", unsafe.lab.ops[2].status)
    assert.matches("held by beaver .* and giraffe", skinny.check.format(unsafe.check))
    -- three of five rejoining: no two members... nothing decided, nothing broken
    local stuck = r["majority amnesia (rejoins)"]
    assert.is_true(stuck.check.ok)
    assert.is_not.equal("granted", stuck.lab.ops[2].status)
    -- one blank instance catches up before it votes: giraffe refused
    local one = r["one blank instance (rejoins)"]
    assert.is_true(one.check.ok)
    assert.equal("refused", one.lab.ops[2].status)
    local rejoined, fetched = false, false
    for _, e in ipairs(one.lab:trace()) do
      if e.ev == "rejoin" and e.node == "catbus" and (e.text or ""):match("^rejoined") then
        rejoined = true
      end
      if e.ev == "fetch" and e.node == "catbus" and e.lock == "printer" then fetched = true end
    end
    assert.is_true(rejoined and fetched)
  end)

  it("partition: minority unavailable, majority granted, healed minority refused", function()
    local r = run_experiment("partition", 7)[1]
    local ops = r.lab.ops
    assert.equal("unavailable", ops[1].status)
    assert.equal("granted", ops[2].status)
    assert.equal("refused", ops[3].status)
    assert.equal("giraffe", ops[3].by)
    assert.is_true(r.check.ok)
  end)

  it("lease_skew: honest clocks refuse; a fast clock grants early and the checker says so", function()
    local r = run_experiment("lease_skew", 7)
    local honest, skewed = r["honest clocks"], r["mei 600 ms fast"]
    assert.equal("refused", honest.lab.ops[2].status)
    assert.is_true(honest.check.ok)
    assert.equal("granted", skewed.lab.ops[2].status)
    assert.is_false(skewed.check.ok)
  end)

  it("one_round_trip: the fast proposer skips phase 1 while alone, safely, with fewer messages", function()
    local r = run_experiment("one_round_trip", 7)
    local paxos, fast = r.paxos, r.fast
    assert.is_true(paxos.check.ok and fast.check.ok)
    assert.equal(16, paxos.metrics.messages_per_decision)
    assert.is_true(fast.metrics.messages_per_decision < 10)
    assert.is_true(fast.metrics.mean_latency_ms < paxos.metrics.mean_latency_ms)
    local skipped = 0
    for _, e in ipairs(fast.lab:trace()) do
      if e.ev == "attempt" and e.text == "phase 1 skipped" then skipped = skipped + 1 end
    end
    assert.is_true(skipped >= 10, "phase 1 skipped only " .. skipped .. " times")
  end)

  it("one_round_trip: the thrifty proposer asks only a majority, safely", function()
    local r = run_experiment("one_round_trip", 7)
    local fast, thrifty = r.fast, r.thrifty
    assert.is_true(thrifty.check.ok)
    assert.equal(thrifty.metrics.completed, fast.metrics.completed)
    -- a skipped phase 1 costs 2 accepts + 2 accepteds instead of 4 + 4
    assert.is_true(thrifty.metrics.messages_per_decision < fast.metrics.messages_per_decision * 0.75,
      ("%s vs %s"):format(thrifty.metrics.messages_per_decision, fast.metrics.messages_per_decision))
    -- the two peers left out lag behind; their acceptors were never asked
    local accepted = {}
    for _, inst in ipairs(thrifty.lab:status()) do
      accepted[inst.name] = inst.locks[1].accepted
    end
    local behind = 0
    for _, a in pairs(accepted) do
      if a ~= accepted.catbus then behind = behind + 1 end
    end
    assert.equal(2, behind)
  end)

  it("failover: without identity a late copy frees a newer grant; with it the copy is stale", function()
    local r = run_experiment("failover", 1)
    local bad, good = r["no identity"], r["identity"]
    -- both: heron's release through catbus times out after half of its 2 s, then kanta
    -- answers the same request (same seq, resend_of the first send)
    for _, v in ipairs { bad, good } do
      local rel = v.result.release
      assert.equal("released", rel.status)
      assert.equal(2, #rel.attempts)
      assert.same({ "catbus", "kanta" }, { rel.attempts[1].node, rel.attempts[2].node })
      assert.equal("timeout", rel.attempts[1].status)
      assert.equal(rel.invoke + 1000, rel.attempts[2].t)
      assert.equal("kanta", rel.via)
      assert.equal("granted", v.result.reacquire.status)
      local resend, late
      for _, e in ipairs(v.lab:trace()) do
        if e.ev == "invoke" and e.resend_of == rel.id then resend = e end
        if e.ev == "late" and e.req == rel.id then late = e end
      end
      assert.equal(2, resend.attempt)
      assert.equal("kanta", resend.node)
      assert.is_not_nil(late, "the copy at catbus ran and answered late")
      assert.is_true(late.t > v.result.reacquire.complete)
    end
    -- unsafe: the old copy was applied; beaver is granted while heron holds
    assert.equal("granted", bad.result.beaver.status)
    assert.equal("not_holder", bad.result.last_release.status)
    assert.is_false(bad.check.ok)
    assert.matches("FAIL%s+single holder: lock L held by heron .* and beaver", skinny.check.format(bad.check))
    -- with identity: the copy is stale, beaver refused, heron's last release released
    assert.equal("refused", good.result.beaver.status)
    assert.equal("heron", good.result.beaver.by)
    assert.equal("released", good.result.last_release.status)
    assert.is_true(good.check.ok)
    local stale
    for _, e in ipairs(good.lab:trace()) do
      if e.ev == "late" and e.status == "stale" then stale = e end
    end
    assert.is_not_nil(stale)
    assert.equal("catbus", stale.node)
    -- the unsafe variant says so in its report
    assert.matches("IDENTITY OFF.*UNSAFE", (bad.lab:report{ timeline = false }))
    assert.not_matches("UNSAFE", (good.lab:report{ timeline = false }))
  end)

  it("failover: the same seed replays byte for byte, resends and late answers included", function()
    for _, name in ipairs { "no identity", "identity" } do
      local a = run_experiment("failover", 3, name)[name].lab:trace_text()
      local b = run_experiment("failover", 3, name)[name].lab:trace_text()
      assert.equal(a, b)
      assert.truthy(a:find('"resend_of"', 1, true))
      assert.truthy(a:find('"ev":"late"', 1, true))
    end
  end)

  it("classic_double_grant: the checker catches the double grant", function()
    local r = run_experiment("classic_double_grant", 1)[1]
    assert.is_false(r.check.ok)
    local text = skinny.check.format(r.check)
    assert.matches("FAIL%s+single holder", text)
    -- the same scripts made correct pass
    local exp = dofile("scripts/experiments/classic_double_grant.lua")
    local lab = skinny.lab{ seed = 1, latency = exp.lab.latency }
    exp.run(lab)
    assert.is_true(lab:check().ok)
  end)
end)

describe("skinny run #sim", function()
  local sh = require "helpers.sh"

  it("prints a timeline, a status table and the verdict, and exits 0", function()
    local out, code = sh("bin/skinny run scripts/experiments/basic.lua --seed 7")
    assert.equal(0, code)
    assert.matches("beaver asks: acquire printer", out, 1, true)
    assert.matches("NAME%s+PROMISED%s+ACCEPTED%s+DESCRIPTION", out)
    assert.matches("PASS  linearizable", out, 1, true)
    assert.matches("rounds per decision", out, 1, true)
  end)

  it("--trace writes the same bytes for the same seed", function()
    local a, b = os.tmpname(), os.tmpname()
    sh("bin/skinny run scripts/experiments/basic.lua --seed 7 --trace " .. a)
    sh("bin/skinny run scripts/experiments/basic.lua --seed 7 --trace " .. b)
    local fa, fb = io.open(a):read("a"), io.open(b):read("a")
    os.remove(a); os.remove(b)
    assert.is_true(#fa > 1000)
    assert.equal(fa, fb)
  end)

  it("failover: exits 1 and labels the no identity variant UNSAFE, with its banner in the picture", function()
    local tmp = os.tmpname()
    local out, code = sh("bin/skinny run scripts/experiments/failover.lua --quiet --html " .. tmp .. ".html")
    assert.equal(1, code)
    assert.matches("IDENTITY OFF (identity = false)", out, 1, true)
    assert.matches("== variant: identity\n", out, 1, true)
    local pages = {}
    for _, v in ipairs { "no_identity", "identity" } do
      local f = assert(io.open(tmp .. "." .. v .. ".html", "r"))
      pages[v] = f:read("a")
      f:close()
      os.remove(tmp .. "." .. v .. ".html")
    end
    os.remove(tmp)
    assert.truthy(pages.no_identity:find("IDENTITY OFF", 1, true))
    assert.falsy(pages.identity:find("IDENTITY OFF", 1, true))
  end)

  it("exits 1 when a safety check fails and says classic mode is unsafe", function()
    local out, code = sh("bin/skinny run scripts/experiments/classic_double_grant.lua --quiet")
    assert.equal(1, code)
    assert.matches("CLASSIC MODE", out, 1, true)
    assert.matches("UNSAFE", out, 1, true)
  end)

  it("exits 2 for bad usage and for a missing script, naming it", function()
    local out, code = sh("bin/skinny run")
    assert.equal(2, code)
    assert.matches("usage", out)
    out, code = sh("bin/skinny run scripts/experiments/basic.lua --backoff nosuch")
    assert.equal(2, code)
    assert.matches("scripts/backoff/nosuch.lua: no such script", out, 1, true)
    out, code = sh("bin/skinny run scripts/experiments/basic.lua --seed x")
    assert.equal(2, code)
    assert.matches("--seed needs a whole number", out, 1, true)
  end)

  it("skinny check re-checks a written trace", function()
    local t = os.tmpname()
    sh("bin/skinny run scripts/experiments/classic_double_grant.lua --quiet --trace " .. t)
    local out, code = sh("bin/skinny check " .. t)
    assert.equal(1, code)
    assert.matches("FAIL  single holder", out, 1, true)
    sh("bin/skinny run scripts/experiments/basic.lua --trace " .. t)
    out, code = sh("bin/skinny check " .. t)
    os.remove(t)
    assert.equal(0, code)
    assert.matches("PASS  single holder", out, 1, true)
  end)
end)
