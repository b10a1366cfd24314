-- Fault schedules as data (scripts/skinny/scenario.lua): drawn from a seed, applied to a
-- lab, printed (tag #unit).
local skinny = require "skinny"
local scenario = require "skinny.scenario"

local NAMES = { "catbus", "kanta", "mei", "satsuki", "totoro" }

describe("skinny.scenario #unit", function()
  it("draws the same schedule from the same seed, another from another", function()
    local a = scenario.random_faults(7, NAMES)
    local b = scenario.random_faults(7, NAMES)
    local c = scenario.random_faults(8, NAMES)
    assert.same(a, b)
    assert.are_not.same(a, c)
    assert.is_true(#a >= 8 and #a <= 10) -- a one-sided partition is left out
    local last = 0
    for _, f in ipairs(a) do
      assert.is_true(f.t > last, "starts grow")
      last = f.t
      assert.is_string(scenario.text(f))
    end
  end)

  it("packs a schedule closer with a scale, the same faults in the same order", function()
    local wide = scenario.random_faults(7, NAMES)
    local dense = scenario.random_faults(7, NAMES, { scale = 10 })
    assert.equal(#wide, #dense)
    for i, f in ipairs(dense) do
      assert.equal(wide[i].kind, f.kind)
      assert.is_true(f.t < wide[i].t and f.t >= wide[i].t // 10 - i, "starts shrink tenfold")
      assert.is_true(f.span <= math.max(1, wide[i].span // 10))
    end
    assert.is_true(dense[1].t <= 35)
    assert.has_error(function() scenario.random_faults(7, NAMES, { scale = 0.5 }) end)
    -- `--random-faults` takes the scale from the seed: a 40 ms experiment gets faults
    local cli = require "skinny.cli"
    local got = 0
    for seed = 1, 6 do
      local lab = skinny.lab{ seed = seed }
      for _, f in ipairs(cli.random_faults(lab, seed)) do
        if f.t < 40 then got = got + 1 end
      end
      lab:close()
    end
    assert.is_true(got >= 2, "faults in the first 40 ms over six seeds: " .. got)
  end)

  it("keeps blank restarts within one minority, and only the kinds asked for", function()
    local nodes = {}
    for seed = 1, 50 do
      for _, f in ipairs(scenario.random_faults(seed, NAMES, { kinds = { "crash" }, n = 6 })) do
        assert.equal("crash", f.kind)
        if f.amnesia then nodes[seed] = nodes[seed] or {}; nodes[seed][f.node] = true end
      end
    end
    for _, set in pairs(nodes) do
      local n = 0
      for _ in pairs(set) do n = n + 1 end
      assert.is_true(n <= 2, "at most a minority of five loses its state")
    end
    assert.has_error(function() scenario.random_faults(1, NAMES, { kinds = { "meteor" } }) end,
                     "random_faults: no fault kind 'meteor' (kinds: " .. table.concat(scenario.KINDS, ", ") .. ")")
  end)

  it("applies a schedule to a lab: each fault and its end are in the trace", function()
    local lab = skinny.lab{ seed = 3 }
    local faults = {
      { t = 10, kind = "crash", node = "mei", span = 100, amnesia = false },
      { t = 20, kind = "loss", p = 0.2, span = 50 },
      { t = 30, kind = "cut_client", client = 1, node = "kanta", way = "both", span = 40 },
    }
    scenario.apply_faults(lab, faults)
    lab:run_for(200)
    local seen = {}
    for _, e in ipairs(lab:trace()) do
      if e.ev == "fault" then seen[#seen + 1] = e.what .. (e.node and (" " .. e.node) or "") end
    end
    local all = table.concat(seen, "; ")
    assert.matches("crash", all)
    assert.matches("restart", all)
    assert.matches("loss 0.2", all)
    assert.matches("loss 0", all)
    -- no client yet when the cut was due: skipped, not an error
    assert.falsy(all:find("cut", 1, true))
    assert.equal("t=10 crash mei for 100 ms", scenario.text(faults[1]))
    lab:close()
  end)
end)
