-- The shipped experiments against real skinnyd processes (tag #e2e): the
-- same scripts and the same lab API as the simulator, through skinny.real,
-- as `bin/skinny run EXPERIMENT --real` runs them. Each lab starts its own
-- daemons (build/skinny-lab, free 127.0.0.1 ports, a fresh run directory)
-- and is closed in a finally, which stops exactly those daemons.
local skinny = require "skinny"
local real = require "skinny.real"

-- The lab options the cli would build for one variant of an experiment.
local function options(exp, v)
  local opts = {}
  for k, x in pairs(exp.lab or {}) do opts[k] = x end
  for k, x in pairs(v or {}) do if k ~= "name" and k ~= "setup" then opts[k] = x end end
  opts.seed = 1
  return opts
end

local function statuses(lab)
  local t = {}
  for _, op in ipairs(lab.ops) do t[#t + 1] = op.client .. ":" .. op.op .. ":" .. tostring(op.status) end
  return t
end

local procs = require "helpers.procs"
local running = procs.running

local function pids_of(lab)
  local _, list = procs.pids(lab)
  return list
end

describe("real daemons #e2e", function()
  it("basic.lua: granted, refused naming beaver, released, granted with a bigger token", function()
    local exp = dofile("scripts/experiments/basic.lua")
    local lab = real.lab(options(exp))
    local pids
    finally(function()
      lab:close()
      -- close stopped exactly the daemons the lab started
      for _, pid in ipairs(pids or {}) do assert.is_false(running(pid), "pid " .. pid) end
    end)
    pids = pids_of(lab)
    assert.equal(5, #pids)
    for _, pid in ipairs(pids) do assert.is_true(running(pid)) end
    exp.run(lab, {})
    assert.same({ "beaver:acquire:granted", "giraffe:acquire:refused", "beaver:release:released",
                  "giraffe:acquire:granted" }, statuses(lab))
    assert.equal("beaver", lab.ops[2].by)
    assert.is_true(lab.ops[4].token > lab.ops[1].token)
    for _, op in ipairs(lab.ops) do assert.is_true(op.complete >= op.invoke) end
    local rep = lab:check()
    assert.is_true(rep.ok)
    -- the checkers read the history back from the trace: same ops as the lab's
    local h = require("skinny.history").from_trace(lab:trace())
    assert.equal(#lab.ops, #h)
    for i, op in ipairs(h) do
      assert.equal(lab.ops[i].status, op.status)
      assert.equal(lab.ops[i].token, op.token)
    end
    -- every instance ends with the same accepted ballot and holder
    local seen
    for _, s in ipairs(lab:status()) do
      assert.is_true(s.up)
      local l = s.locks[1]
      assert.equal("printer", l.lock)
      assert.equal("giraffe", l.state.holder)
      seen = seen or l.accepted
      assert.equal(seen, l.accepted)
    end
    -- the daemons' own events are in the trace too
    local evs = {}
    for _, e in ipairs(lab:trace()) do evs[e.ev] = (evs[e.ev] or 0) + 1 end
    assert.equal(4, evs.invoke)
    assert.equal(4, evs.complete)
    assert.is_true((evs.decided or 0) >= 4)
    -- the report the cli prints
    local text, r2 = lab:report{}
    assert.is_true(r2.ok)
    assert.truthy(text:find("real daemons: 5 skinnyd on 127.0.0.1", 1, true))
    assert.truthy(text:find("PASS  single holder", 1, true))
    assert.truthy(text:find("giraffe hears: refused (held by beaver)", 1, true))
  end)

  it("instance_failure.lua: granted with two down, unavailable with three, refused after restart", function()
    local exp = dofile("scripts/experiments/instance_failure.lua")
    local trace_file = os.tmpname()
    local opts = options(exp)
    opts.trace_file = trace_file
    local lab = real.lab(opts)
    finally(function() lab:close(); os.remove(trace_file) end)
    local t0 = os.time()
    local res = exp.run(lab, {})
    assert.equal("granted", res[1])
    assert.truthy(res[2] == "unavailable" or res[2] == "timeout", tostring(res[2]))
    assert.equal("refused", res[3])
    assert.equal("beaver", lab.ops[3].by)
    assert.is_true(os.time() - t0 <= 15)
    -- "unavailable" came within the client timeout
    local b = lab.ops[2]
    if b.status == "unavailable" then assert.is_true(b.complete - b.invoke <= 3000 + 100) end
    assert.is_true(lab:check().ok)
    local faults = {}
    for _, f in ipairs(lab.faults) do faults[#faults + 1] = f.what end
    assert.same({ "crash kanta", "crash mei", "crash satsuki", "restart kanta", "restart mei",
                  "restart satsuki" }, faults)
    local m = lab:metrics()
    assert.is_true(m.phase_timeouts > 0)
    for _, k in ipairs{ "ops", "completed", "granted", "refused", "released", "indefinite", "nays",
                        "preemptions", "phase_timeouts", "messages", "dropped", "hook_errors" } do
      assert.equal("integer", math.type(m[k]), k)
    end
    -- the trace file, as `skinny check` reads it, gives the same verdict
    lab:close()
    local f = assert(io.open(trace_file, "r"))
    local text = f:read("a")
    f:close()
    local events = skinny.decode_trace(text)
    assert.equal("run", events[1].ev)
    local h, model = require("skinny.history").from_trace(events)
    assert.equal(3, #h)
    assert.is_true(skinny.check.all(h, { model = model }).ok)
  end)

  it("a crashed instance's ops time out, restart reconnects, reload checks scripts first", function()
    local lab = real.lab{ nodes = 3, client_timeout = 600 }
    finally(function() lab:close() end)
    local beaver = lab:client("beaver", { node = "kanta" })
    local a = beaver:acquire("printer")
    assert.is_true(lab:run_until(function() return a.done end, 3000))
    assert.equal("granted", a.status)
    lab:crash("kanta")
    assert.is_false(lab:is_up("kanta"))
    local b = beaver:renew("printer")
    assert.is_true(lab:settle(3000))
    assert.equal("timeout", b.status)
    assert.is_nil(b.complete)
    assert.truthy(b.text:find("no answer from kanta in time", 1, true))
    local st = lab:status()
    assert.is_false(st[2].up)
    assert.is_true(st[1].up)
    lab:restart("kanta")
    local c = beaver:renew("printer")      -- the same client, a new connection
    assert.is_true(lab:settle(3000))
    assert.equal("granted", c.status)
    assert.equal(a.token, c.token)
    -- a script that does not load: nil and the file and line; the old scripts stay
    local ok, err = lab:reload("kanta", { lock = "spec/testdata/bad/syntax_error.lua" })
    assert.is_nil(ok)
    assert.truthy(err:find("syntax_error.lua:7", 1, true), err)
    local d = beaver:release("printer")
    assert.is_true(lab:settle(3000))
    assert.equal("released", d.status)
    assert.is_true(lab:reload("kanta", { lock = "advisory" }))
    assert.is_true(lab:check().ok)
  end)

  it("thrifty.lua on daemons: with both chosen peers down, the others are asked after the delay", function()
    local lab = real.lab{ nodes = 5, proposer = "thrifty" }
    finally(function() lab:close() end)
    -- catbus asks itself, kanta and mei first (the next ids round the ring)
    lab:crash("kanta")
    lab:crash("mei")
    local beaver = lab:client("beaver", { node = "catbus" })
    local a = beaver:acquire("printer")
    assert.is_true(lab:run_until(function() return a.done end, 3000))
    assert.equal("granted", a.status)
    -- satsuki and totoro got the prepare only when 20 ms passed without a
    -- verdict (15: the daemon's timer and the client's clock are not one)
    assert.is_true(a.complete - a.invoke >= 15, ("granted after %s ms"):format(a.complete - a.invoke))
    local b = beaver:release("printer")
    assert.is_true(lab:run_until(function() return b.done end, 3000))
    assert.equal("released", b.status)
    assert.is_true(lab:check().ok)
    -- catbus learned to ask satsuki and totoro first: every accept (the
    -- acquire's phase 2 and the release) went to them, none to the dead
    local sent = {}
    for _, e in ipairs(lab:trace()) do
      if e.ev == "send" and e.from == "catbus" then
        local k = e.msg .. ">" .. e.to
        sent[k] = (sent[k] or 0) + 1
      end
    end
    assert.equal(1, sent["prepare>kanta"])
    assert.equal(1, sent["prepare>satsuki"])
    assert.is_nil(sent["accept>kanta"])
    assert.is_nil(sent["accept>mei"])
    assert.equal(2, sent["accept>satsuki"])
    assert.equal(2, sent["accept>totoro"])
  end)

  it("an experiment that needs virtual time says it is simulated-only", function()
    local exp = dofile("scripts/experiments/lease_skew.lua")
    local v = exp.variants[2]
    assert.is_true(v.skew > 0)
    local lab = real.lab(options(exp, v))
    finally(function() lab:close() end)
    local ok, err = pcall(exp.run, lab, v)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("lab:skew is simulated-only: run this experiment without --real",
                                     1, true), tostring(err))
    for _, m in ipairs{ "pause", "resume", "loss", "duplicate", "reorder", "latency" } do
      local ok2, err2 = pcall(lab[m], lab, "mei", 1)
      assert.is_false(ok2)
      assert.truthy(tostring(err2):find("lab:" .. m .. " is simulated-only", 1, true), m)
    end
    -- client links exist only in the simulator; the message points at lab:slow
    local heron = lab:client("heron")
    for _, m in ipairs{ "slow_client", "cut_client", "client_loss", "client_link" } do
      local ok2, err2 = pcall(lab[m], lab, heron, "mei", 1)
      assert.is_false(ok2)
      assert.truthy(tostring(err2):find("lab:" .. m .. " is simulated-only", 1, true), m)
      assert.truthy(tostring(err2):find("lab:slow(node, ms)", 1, true), m)
    end
    -- skinnyd always rejoins after losing its state: voting at once is not on offer
    local ok3, err3 = pcall(lab.restart, lab, "mei", { amnesia = true, rejoin = false })
    assert.is_false(ok3)
    assert.truthy(tostring(err3):find("rejoin = false is simulated-only", 1, true), tostring(err3))
    -- identity = false needs a proposer script to switch it off in
    local ok4, err4 = pcall(real.lab, { identity = false, builtin = true })
    assert.is_false(ok4)
    assert.truthy(tostring(err4):find("identity = false on real daemons needs a proposer script",
                                      1, true), tostring(err4))
  end)

  it("failover.lua --real: without identity beaver is granted (caught), with it the copy is stale",
     function()
    local dir = assert(real.C.mkdtemp((os.getenv("TMPDIR") or "/tmp") .. "/skinny-spec.XXXXXX"))
    finally(function() os.execute("rm -rf '" .. dir .. "'") end)
    local p = io.popen("bin/skinny run scripts/experiments/failover.lua --real --quiet --trace "
                       .. dir .. "/run.jsonl 2>&1; echo \"exit=$?\"")
    local out = p:read("a")
    p:close()
    assert.equal("1", out:match("exit=(%d+)%s*$"), out) -- the unsafe variant fails its checks
    local bad = out:match("== variant: no identity(.-)== variant: identity")
    local good = out:match("== variant: identity(.*)$")
    assert.truthy(bad and good, out)
    assert.truthy(out:find("IDENTITY OFF", 1, true), out)
    assert.truthy(bad:find("FAIL  single holder: lock L held by heron", 1, true), bad)
    assert.truthy(good:find("PASS  single holder", 1, true), good)
    assert.truthy(good:find("PASS  linearizable", 1, true), good)
    -- the traces tell the same story as the simulator's
    local function story(file)
      local f = assert(io.open(file, "r"))
      local events = skinny.decode_trace(f:read("a"))
      f:close()
      local ops = require("skinny.history").from_trace(events)
      local late
      for _, e in ipairs(events) do if e.ev == "late" then late = e end end
      return ops, late
    end
    local ops, late = story(dir .. "/run.no_identity.jsonl")
    assert.equal(5, #ops) -- one op per client op, the failed-over release included
    assert.same({ "catbus", "kanta" }, { ops[2].attempts[1].node, ops[2].attempts[2].node })
    assert.same({ "catbus", "released" }, { late.node, late.status })
    assert.same({ "beaver", "acquire", "granted" }, { ops[4].holder, ops[4].op, ops[4].status })
    ops, late = story(dir .. "/run.identity.jsonl")
    assert.equal(5, #ops)
    assert.equal(2, #ops[2].attempts)
    assert.equal("released", ops[2].status)
    assert.same({ "catbus", "stale" }, { late.node, late.status })
    assert.same({ "beaver", "refused", "heron" }, { ops[4].holder, ops[4].status, ops[4].by })
    assert.same({ "heron", "release", "released" }, { ops[5].holder, ops[5].op, ops[5].status })
  end)
end)
