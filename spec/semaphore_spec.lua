-- The semaphore (scripts/locks/semaphore.lua) and lock parameters (tag #sim): N holders
-- at once, N from the lab's lock_params reaching both the script (ctx.params) and its
-- model; the experiment green over seeds with faults; the off-by-one variant caught.
local skinny = require "skinny"
local models = require "skinny.models"

local BAD = "spec/testdata/bad/semaphore_off_by_one.lua"

local experiment_run = require("helpers.experiment").run
local check_named = require("helpers.experiment").check_named

-- The experiment scripts/experiments/semaphore.lua at a seed, with lab options over it.
local function experiment(seed, over) return experiment_run("semaphore", seed, over) end

-- n clients on n instances each acquire "printer" once, one after the other.
local function one_each(lab, holders)
  local ops = {}
  for i, h in ipairs(holders) do
    ops[i] = lab:client(h, { node = lab.names[(i - 1) % #lab.names + 1] }):acquire("printer")
    assert(lab:run_until(function() return ops[i].done end, 5000), "no answer for " .. h)
  end
  return ops
end

describe("semaphore #sim", function()
  it("the experiment is safe on 8 seeds with faults, and two hold at once", function()
    local most, refused = 0, 0
    for seed = 1, 8 do
      local lab, sum = experiment(seed)
      local rep = lab:check()
      assert.is_true(rep.ok, ("seed %d:\n%s"):format(seed, skinny.check.format(rep)))
      assert.truthy(rep.checks[2].text:find("linearizable as a semaphore", 1, true))
      assert.is_true(#lab.faults >= 4, "the faults did not happen")
      most = math.max(most, sum.max_holders)
      refused = refused + sum.refused
      lab:close()
    end
    -- the runs reached the bound (two permits in use) and went past it never
    assert.equal(2, most)
    assert.is_true(refused > 0, "nobody was ever refused: no contention")
  end)

  it("a refusal names the first holder by name and lists every holder", function()
    local lab = skinny.lab{ seed = 3, lock = "semaphore" }
    local ops = one_each(lab, { "otter", "beaver", "heron" })
    assert.equal("granted", ops[1].status)
    assert.equal("granted", ops[2].status)
    assert.equal("refused", ops[3].status)
    assert.equal("beaver", ops[3].by)
    assert.equal("all 2 permits held: beaver, otter", ops[3].text)
    -- re-entrant: a holder asking again is granted the same grant, the same token, even
    -- after another holder's newer grant (and the fencing check accepts it)
    local again = lab:client("otter", { name = "otter2" }):acquire("printer")
    lab:run_until(function() return again.done end, 5000)
    assert.equal("granted", again.status)
    assert.equal(ops[1].token, again.token)
    assert.is_true(ops[2].token > ops[1].token)
    assert.equal("already held by you", again.text)
    -- release by a non-holder: not_holder; by a holder: released, and a permit is free
    local r = lab:client("heron", { name = "heron2" }):release("printer")
    lab:run_until(function() return r.done end, 5000)
    assert.equal("not_holder", r.status)
    local r2 = lab:client("beaver", { name = "beaver2" }):release("printer")
    lab:run_until(function() return r2.done end, 5000)
    assert.equal("released", r2.status)
    local h = lab:client("heron", { name = "heron3" }):acquire("printer")
    lab:run_until(function() return h.done end, 5000)
    assert.equal("granted", h.status)
    assert.is_true(lab:check().ok)
    lab:close()
  end)

  it("lab lock_params permits = 3: the script grants three, the model allows three", function()
    local lab = skinny.lab{ seed = 5, lock = "semaphore", lock_params = { permits = 3 } }
    local ops = one_each(lab, { "beaver", "otter", "giraffe", "heron" })
    assert.same({ "granted", "granted", "granted", "refused" },
      { ops[1].status, ops[2].status, ops[3].status, ops[4].status })
    assert.equal("all 3 permits held: beaver, giraffe, otter", ops[4].text)
    assert.equal(3, lab:model().max_holders)
    assert.equal(3, lab:model().params.permits)
    local rep = lab:check()
    assert.is_true(rep.ok, skinny.check.format(rep))
    -- the same history against the model's own default (2 permits): caught, by both
    -- the holds check and the linearizability check
    local wrong = lab:check{ lock_params = { permits = 2 } }
    assert.is_false(wrong.ok)
    assert.is_false(check_named(wrong, "single_holder").ok)
    assert.truthy(check_named(wrong, "single_holder").text:find("held by 3 at once", 1, true))
    assert.truthy(check_named(wrong, "single_holder").text:find("the model allows 2", 1, true))
    assert.is_false(check_named(wrong, "linearizable").ok)
    lab:close()
  end)

  it("script and model disagreeing on the permits is caught (params given per instance only)", function()
    -- every instance's script has 3 permits but the model is checked with the default 2
    local lab = skinny.lab{ seed = 6, lock = "semaphore", nodes = 3,
                            per_node = { catbus = { lock_params = { permits = 3 } },
                                         kanta = { lock_params = { permits = 3 } },
                                         mei = { lock_params = { permits = 3 } } } }
    local ops = one_each(lab, { "beaver", "otter", "giraffe" })
    assert.equal("granted", ops[3].status)
    assert.equal(2, lab:model().max_holders) -- the lab's lock_params are the model's: none
    local rep = lab:check()
    assert.is_false(rep.ok)
    assert.is_false(check_named(rep, "single_holder").ok)
    lab:close()
  end)

  it("lab:reload gives an instance new lock params over the lab's", function()
    local lab = skinny.lab{ seed = 2, nodes = 1, lock = "spec/testdata/locks/params_probe.lua",
                            lock_params = { permits = 3, name = "lab" } }
    assert.is_true(lab:reload("catbus", { lock_params = { permits = 5 } }))
    local op = lab:client("beaver"):acquire("p")
    lab:run_until(function() return op.done end, 5000)
    assert.same({ permits = 5, name = "lab", calls = 1 }, lab:status()[1].locks[1].state)
    local ok, err = lab:reload("catbus", { lock_params = { permits = 1.5 } })
    assert.is_nil(ok)
    assert.truthy(tostring(err):find("permits", 1, true))
    lab:close()
  end)

  it("ctx.params: what the lab gave, fresh for every call (a script cannot change it)", function()
    local lab = skinny.lab{ seed = 1, nodes = 1, lock = "spec/testdata/locks/params_probe.lua",
                            lock_params = { permits = 3, name = "printer room", strict = true } }
    for i = 1, 2 do
      local op = lab:client("beaver" .. i):acquire("p")
      lab:run_until(function() return op.done end, 5000)
      assert.equal("granted", op.status)
    end
    local st = lab:status()[1].locks[1].state
    assert.same({ permits = 3, name = "printer room", strict = true, calls = 2 }, st)
    lab:close()
    -- none given: an empty table
    lab = skinny.lab{ seed = 1, nodes = 1, lock = "spec/testdata/locks/params_probe.lua" }
    local op = lab:client("beaver"):acquire("p")
    lab:run_until(function() return op.done end, 5000)
    assert.same({ calls = 1 }, lab:status()[1].locks[1].state)
    lab:close()
  end)

  it("a lock parameter that is not an integer, a string or a boolean is refused, named", function()
    local ok, err = pcall(skinny.lab, { lock = "semaphore", lock_params = { permits = 2.5 } })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("option 'lock_params': key \"permits\" must be an integer", 1, true))
    ok, err = pcall(skinny.lab, { lock = "semaphore", lock_params = { permits = { 3 } } })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("got table", 1, true))
    ok, err = pcall(skinny.lab, { nodes = 3, lock = "semaphore", per_node = { kanta = { lock_params = 3 } } })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("per_node.kanta.lock_params", 1, true))
    -- a model's bound that the params make nonsense is refused naming the script
    ok, err = pcall(models.resolve, "semaphore", { lock_params = { permits = 0 } })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("semaphore.lua", 1, true))
    assert.truthy(tostring(err):find("at least 1", 1, true))
  end)

  it("the off-by-one variant is caught over seeds, by the holds check naming three holders", function()
    local first, holds_named = nil, nil
    for seed = 1, 20 do
      local lab = experiment(seed, { lock = BAD })
      local rep = lab:check()
      -- the bad script declares the very model of the good one
      assert.equal("semaphore", lab:model().name)
      if not rep.ok then
        first = first or seed
        local sh = check_named(rep, "single_holder")
        if not sh.ok and not holds_named then holds_named = sh.text end
        assert.is_false(check_named(rep, "linearizable").ok or false)
      end
      lab:close()
      if first and holds_named then break end
    end
    assert.is_not_nil(first, "the off-by-one was never caught in 20 seeds")
    assert.is_not_nil(holds_named, "the holds check never flagged the third holder")
    assert.truthy(holds_named:find("held by 3 at once", 1, true), holds_named)
    assert.truthy(holds_named:find("the model allows 2", 1, true), holds_named)
  end)

  it("describe: permits in use and who holds them", function()
    local sem = dofile("scripts/locks/semaphore.lua")
    assert.equal("2 of 3 permits: beaver, otter",
      sem.describe({ holders = { otter = 9, beaver = 4 } }, { params = { permits = 3 } }))
    assert.equal("0 of 2 permits", sem.describe(nil, { params = {} }))
    -- with the state alone: the permits it was written with
    assert.equal("1 of 3 permits: otter", sem.describe({ holders = { otter = 9 }, permits = 3 }))
    local lab = skinny.lab{ seed = 1, nodes = 1, lock = "semaphore", lock_params = { permits = 3 } }
    local op = lab:client("beaver"):acquire("printer")
    lab:run_until(function() return op.done end, 5000)
    assert.equal("1 of 3 permits: beaver", sem.describe(lab:status()[1].locks[1].state))
    lab:close()
  end)

  it("bin/skinny: the experiment green, the off-by-one red, --lock-param recorded for check", function()
    local sh = require "helpers.sh"
    local out, code = sh("bin/skinny run scripts/experiments/semaphore.lua --quiet --seed 2")
    assert.equal(0, code, out)
    assert.matches("PASS  linearizable: %d+ ops over 1 lock linearizable as a semaphore", out)
    out, code = sh("bin/skinny run scripts/experiments/semaphore.lua --quiet --seed 2 --lock " .. BAD)
    assert.equal(1, code, out)
    assert.matches("FAIL  ", out, 1, true)
    local trace = os.tmpname()
    out, code = sh("bin/skinny run scripts/experiments/semaphore.lua --quiet --seed 2 --lock-param permits=3"
                   .. " --trace " .. trace)
    assert.equal(0, code, out)
    assert.matches("--lock-param permits=3", out, 1, true) -- in the reproduce line
    local f = assert(io.open(trace))
    local first = f:read("l")
    f:close()
    assert.matches('"lock_params":{"permits":3}', first, 1, true)
    -- checked again with the run's permits: green; with one permit: red
    out, code = sh("bin/skinny check " .. trace)
    assert.equal(0, code, out)
    out, code = sh("bin/skinny check " .. trace .. " --lock-param permits=1")
    assert.equal(1, code, out)
    assert.matches("FAIL  single holder: lock printer held by .* at once", out)
    out, code = sh("bin/skinny run scripts/experiments/semaphore.lua --quiet --lock-param permits")
    assert.equal(2, code, out)
    assert.matches("NAME=VALUE", out, 1, true)
    os.remove(trace)
  end)

  it("the walk-through in spec/HOOKS.md (\"Your own lock semantics\") checks green as written", function()
    local f = assert(io.open("spec/HOOKS.md"))
    local doc = f:read("a")
    f:close()
    local from = assert(doc:find("## Your own lock semantics", 1, true))
    local blocks = {}
    for code in doc:sub(from, from + 8000):gmatch("```lua\n(.-)```") do blocks[#blocks + 1] = code end
    -- the empty file, then apply, then the model
    local path = os.tmpname() .. ".lua"
    local w = assert(io.open(path, "w"))
    w:write("local M = {}\n", blocks[2], "\n", blocks[3], "\nreturn M\n")
    w:close()
    finally(function() os.remove(path) end)
    for seed = 1, 4 do
      local lab, sum = experiment(seed, { lock = path })
      local rep = lab:check()
      assert.is_true(rep.ok, ("seed %d:\n%s"):format(seed, skinny.check.format(rep)))
      assert.equal("semaphore", lab:model().name)
      assert.is_true(sum.granted > 0)
      lab:close()
    end
  end)
end)
