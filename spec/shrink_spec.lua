-- Shrinking a failing run (scripts/skinny/shrink.lua, `bin/skinny shrink`, `bin/skinny
-- replay`; tag #sim): the schedule an experiment made is recorded, replayed without its
-- code, and reduced while it fails the same checks.
local shrink = require "skinny.shrink"
local sh = require "helpers.sh"
local cjson = require "cjson"

local function tmp_prefix()
  local base = os.tmpname()
  os.remove(base)
  return base
end

local function lines(path)
  local n = 0
  for _ in io.lines(path) do n = n + 1 end
  return n
end

describe("skinny shrink #sim", function()
  it("shrinks the classic double grant to two acquires a student can follow", function()
    local p = tmp_prefix()
    local out, rc = sh(("bin/skinny shrink scripts/experiments/classic_double_grant.lua -o %s"):format(p))
    assert.equal(0, rc, out)
    assert.matches("fails: linearizable, single_holder", out, 1, true)
    assert.matches("client operations 20 -> 2", out, 1, true)
    assert.matches("still fails: linearizable, single_holder", out, 1, true)
    local before, after = out:match("trace events (%d+) %-> (%d+)")
    assert.is_true(tonumber(after) * 5 < tonumber(before), out)
    assert.equal(tonumber(after), lines(p .. ".jsonl"))
    -- the schedule replays to the same failure, with exit 1
    local rout, rrc = sh("bin/skinny replay " .. p .. ".schedule.json")
    assert.equal(1, rrc, rout)
    assert.matches("FAIL  single holder", rout, 1, true)
    local f = assert(io.open(p .. ".html"))
    assert.matches("bin/skinny replay", f:read("a"), 1, true)
    f:close()
    for _, s in ipairs{ ".schedule.json", ".jsonl", ".html" } do os.remove(p .. s) end
  end)

  it("shrinks from a trace bin/skinny run wrote, and a student's broken semaphore", function()
    local p = tmp_prefix()
    local out, rc = sh(("bin/skinny run scripts/experiments/semaphore.lua --seed 2 --quiet --lock "
      .. "spec/testdata/bad/semaphore_off_by_one.lua --trace %s.jsonl"):format(p))
    assert.equal(1, rc, out)
    out, rc = sh(("bin/skinny shrink %s.jsonl"):format(p))
    assert.equal(0, rc, out)
    assert.matches("still fails: linearizable, single_holder", out, 1, true)
    local ops = tonumber(out:match("client operations %d+ %-> (%d+)"))
    assert.is_true(ops >= 3 and ops <= 6, out) -- three holders at once need three acquires
    for _, s in ipairs{ ".jsonl", ".min.schedule.json", ".min.jsonl", ".min.html" } do os.remove(p .. s) end
  end)

  it("shrinks at the end of a failing run (--shrink) and of a failing sweep", function()
    local dir = tmp_prefix()
    assert(os.execute("mkdir -p " .. dir))
    local root = os.getenv("PWD")
    local out, rc = sh(("cd %s && %s/bin/skinny run %s/scripts/experiments/failover.lua --variant 'no identity' "
      .. "--quiet --shrink"):format(dir, root, root))
    assert.equal(1, rc, out)
    assert.matches("still fails: linearizable, single_holder", out, 1, true)
    assert.matches("replay:   bin/skinny replay failover.no_identity.seed1.min.schedule.json", out, 1, true)
    assert.truthy(io.open(dir .. "/failover.no_identity.seed1.min.schedule.json"))
    out, rc = sh(("cd %s && %s/bin/skinny sweep %s/scripts/experiments/failover.lua --variant 'no identity' "
      .. "--seeds 1..4 --random-faults --jobs 1 --shrink"):format(dir, root, root))
    assert.equal(1, rc, out)
    assert.matches("shrinking seed %d+ of variant no identity", out)
    -- the random faults go: only what the late copy needs is left
    local faults_after = tonumber(out:match("faults %d+ %-> (%d+)"))
    assert.is_true(faults_after <= 4, out)
    os.execute("rm -rf " .. dir)
  end)

  it("refuses what it cannot shrink, with a reason and exit 2", function()
    local out, rc = sh("bin/skinny shrink scripts/experiments/basic.lua -o /nonexistent/x")
    assert.equal(2, rc, out)
    assert.matches("passes every check: nothing to shrink", out, 1, true)
    out, rc = sh("bin/skinny shrink scripts/experiments/duelling.lua")
    assert.equal(2, rc, out)
    assert.matches("pick one with --variant", out, 1, true)
    local p = tmp_prefix()
    local f = assert(io.open(p, "w"))
    f:write('{"ev":"invoke"}\n')
    f:close()
    out, rc = sh("bin/skinny shrink " .. p)
    assert.equal(2, rc, out)
    assert.matches("not a trace of bin/skinny run", out, 1, true)
    out, rc = sh("bin/skinny replay " .. p)
    assert.equal(2, rc, out)
    assert.matches("not a schedule written by skinny shrink", out, 1, true)
    f = assert(io.open(p, "w"))
    f:write(cjson.encode({ version = 99, lab = {}, clients = {}, events = {} }))
    f:close()
    out, rc = sh("bin/skinny replay " .. p)
    assert.equal(2, rc, out)
    assert.matches("a schedule of version 99", out, 1, true)
    os.remove(p)
  end)

  it("records and replays through the API: the replay fails as the run did", function()
    local exp = dofile("scripts/experiments/classic_double_grant.lua")
    local opts = {}
    for k, v in pairs(exp.lab) do opts[k] = v end
    opts.seed, opts.trace = 1, false
    local sched, lab = shrink.record(opts, function(l) exp.run(l) end)
    local want = shrink.failing(lab)
    lab:close()
    assert.same({ "linearizable", "single_holder" }, want)
    assert.equal(20, #sched.events)
    local again = shrink.replay(sched, { trace = false })
    assert.same(want, (shrink.failing(again)))
    again:close()
    local small, info = shrink.minimize(sched, want)
    assert.is_true(#small.events < #sched.events)
    assert.is_true(info.replays >= 1)
    local last = shrink.replay(small, { trace = false })
    assert.same(want, (shrink.failing(last)))
    last:close()
  end)
end)
