-- The read-write lock (scripts/locks/rwlock.lua) and shared acquires (tag #sim):
-- readers share, a writer excludes everyone; a shared acquire travels as its own op
-- and reaches the script as req.shared; the holds check takes many readers at once but
-- flags a writer with anyone; the variant letting a writer join readers is caught.
local skinny = require "skinny"
local check = require "skinny.check"

local BAD = "spec/testdata/bad/rwlock_writer_joins_readers.lua"
local experiment_run = require("helpers.experiment").run
local check_named = require("helpers.experiment").check_named

-- The experiment scripts/experiments/rwlock.lua at a seed, with lab options over it.
local function experiment(seed, over) return experiment_run("rwlock", seed, over) end

-- acquire in order (each waits for its answer): { holder, shared }
local function acquire_each(lab, list)
  local ops = {}
  for i, a in ipairs(list) do
    local c = lab:client(a[1], { node = lab.names[(i - 1) % #lab.names + 1], name = a[1] .. i })
    ops[i] = c:acquire("db", { shared = a[2] })
    assert(lab:run_until(function() return ops[i].done end, 5000), "no answer for " .. a[1])
  end
  return ops
end

local function statuses(ops)
  local t = {}
  for i, op in ipairs(ops) do t[i] = op.status end
  return t
end

describe("rwlock #sim", function()
  it("the experiment is safe on 8 seeds with faults, and readers overlap", function()
    local most = 0
    for seed = 1, 8 do
      local lab, sum = experiment(seed)
      local rep = lab:check()
      assert.is_true(rep.ok, ("seed %d:\n%s"):format(seed, check.format(rep)))
      assert.truthy(rep.checks[2].text:find("linearizable as a rwlock", 1, true))
      most = math.max(most, sum.max_holders)
      lab:close()
    end
    assert.is_true(most >= 2, "readers never held at once")
  end)

  it("readers share; a writer waits for every reader; a writer excludes readers", function()
    local lab = skinny.lab{ seed = 2, lock = "rwlock" }
    local ops = acquire_each(lab, { { "r1", true }, { "r2", true }, { "w1", false } })
    assert.same({ "granted", "granted", "refused" }, statuses(ops))
    assert.equal("r1", ops[3].by)
    assert.truthy(ops[3].text:find("read by r1, r2", 1, true))
    -- a reader asking to write is refused (no upgrade)
    local up = acquire_each(lab, { { "r1", false } })[1]
    assert.equal("refused", up.status)
    assert.truthy(up.text:find("no upgrade", 1, true))
    for _, h in ipairs{ "r1", "r2" } do
      local r = lab:client(h, { name = h .. "rel" }):release("db")
      lab:run_until(function() return r.done end, 5000)
      assert.equal("released", r.status)
    end
    ops = acquire_each(lab, { { "w1", false }, { "r3", true }, { "w2", false }, { "w1", true } })
    -- the writer; a reader refused; another writer refused; the writer may read
    assert.same({ "granted", "refused", "refused", "granted" }, statuses(ops))
    assert.equal("w1", ops[2].by)
    local rep = lab:check()
    assert.is_true(rep.ok, check.format(rep))
    lab:close()
  end)

  it("a shared acquire is traced and recorded as an acquire with shared = true", function()
    local lab = skinny.lab{ seed = 4, lock = "rwlock" }
    local ops = acquire_each(lab, { { "r1", true }, { "w1", false } })
    local h = lab:history()
    assert.equal("acquire", h[1].op)
    assert.is_true(h[1].shared)
    assert.is_nil(h[2].shared)
    local invokes = {}
    for _, e in ipairs(lab:trace()) do if e.ev == "invoke" then invokes[#invokes + 1] = e end end
    assert.equal("acquire", invokes[1].op)
    assert.is_true(invokes[1].shared)
    assert.is_nil(invokes[2].shared)
    -- the history rebuilt from the trace says the same
    local th = require("skinny.history").from_trace(lab:trace())
    assert.is_true(th[1].shared)
    assert.is_nil(th[2].shared)
    assert.equal("refused", ops[2].status)
    -- only an acquire may be shared
    assert.has_error(function() lab:client("x"):release("db", { shared = true }) end)
    lab:close()
  end)

  it("the C default lock (--builtin) serves a shared acquire as an exclusive one", function()
    local lab = skinny.lab{ seed = 4, builtin = true }
    local ops = acquire_each(lab, { { "r1", true }, { "r2", true } })
    assert.same({ "granted", "refused" }, statuses(ops))
    assert.equal("r1", ops[2].by)
    assert.is_true(lab:check().ok)
    lab:close()
  end)

  it("the holds check: many readers at once pass, a writer with a reader is flagged", function()
    local rw = "rwlock"
    local function g(id, holder, shared, t0, t1)
      return { id = id, op = "acquire", lock = "db", holder = holder, shared = shared,
               invoke = t0, complete = t1, status = "granted", token = id }
    end
    local readers = { g(1, "r1", true, 0, 1), g(2, "r2", true, 2, 3), g(3, "r3", true, 4, 5) }
    local ok, v = check.single_holder(readers, { model = rw })
    assert.is_true(ok)
    assert.same({}, v)
    assert.is_true(check.all(readers, { model = rw }).ok)
    local mixed = { g(1, "r1", true, 0, 1), g(2, "w1", nil, 2, 3) }
    ok, v = check.single_holder(mixed, { model = rw })
    assert.is_false(ok)
    assert.equal(1, #v)
    assert.truthy(v[1].text:find("r1 (shared), w1 (exclusive)", 1, true), v[1].text)
    assert.truthy(v[1].text:find("writer w1 held the lock together with 1 other", 1, true), v[1].text)
    -- the same history against the plain lock model: two holders, flagged too
    assert.is_false(check.single_holder(readers, { model = "lock" }))
    -- a writer, then after its release a reader: fine
    local seq = { g(1, "w1", nil, 0, 1),
                  { id = 2, op = "release", lock = "db", holder = "w1", invoke = 2, complete = 3,
                    status = "released" },
                  g(3, "r1", true, 4, 5) }
    assert.is_true(check.all(seq, { model = rw }).ok)
  end)

  it("the writer-joins-readers variant is caught over seeds, the writer named", function()
    local first, text
    for seed = 1, 20 do
      local lab = experiment(seed, { lock = BAD })
      assert.equal("rwlock", lab:model().name)
      local rep = lab:check()
      if not rep.ok then
        first = first or seed
        local sh = check_named(rep, "single_holder")
        if not sh.ok then text = sh.text end
      end
      lab:close()
      if first and text then break end
    end
    assert.is_not_nil(first, "never caught in 20 seeds")
    assert.is_not_nil(text, "the holds check never flagged the writer")
    assert.truthy(text:find("(exclusive)", 1, true), text)
    assert.truthy(text:find("held the lock together with", 1, true), text)
  end)

  it("describe: readers or the writer", function()
    local rw = dofile("scripts/locks/rwlock.lua")
    assert.equal("read by a, b (2 readers)", rw.describe({ mode = "shared", holders = { b = 2, a = 1 } }))
    assert.equal("written by w", rw.describe({ mode = "exclusive", holders = { w = 1 } }))
    assert.equal("free", rw.describe(nil))
  end)
end)
