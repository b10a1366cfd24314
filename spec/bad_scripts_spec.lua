-- Specs for what happens when a strategy script is wrong: the known-bad
-- scripts in spec/testdata/bad/ are loaded into a simulated cluster.
--   * a script that does not parse is refused when the lab is built (and by
--     `bin/skinny run`, exit status 2), naming the file and line;
--   * a hook that raises, loops forever or returns the wrong type fails that
--     one request: the client hears status "error" with the script, line and
--     reason; the trace has a hook_error event; no value is accepted; the
--     instance keeps serving;
--   * a script that is wrong without raising (a minority quorum, ignoring
--     accepted values) cannot be refused by the core: the checkers catch it.
-- Run with `busted --lua=lua5.4 spec/bad_scripts_spec.lua` from the
-- repository root after `make`.

local skinny = require "skinny"

local BAD = "spec/testdata/bad/"

-- The line of `path` holding the "BAD" marker comment: where the script goes
-- wrong (for a wrong result: the line where the hook function is defined).
local function bad_line(path)
  local n = 0
  for line in io.lines(path) do
    n = n + 1
    if line:find("%-%- BAD") then return n end
  end
  error(path .. " has no -- BAD marker")
end

local function plain(haystack, needle)
  return type(haystack) == "string" and haystack:find(needle, 1, true) ~= nil
end

-- Every up instance has accepted nothing for `lock`.
local function nothing_accepted(lab, lock)
  for _, inst in ipairs(lab:status()) do
    for _, l in ipairs(inst.locks) do
      if l.lock == lock then
        assert.are.equal("0.0", l.accepted, inst.name .. " accepted a value for " .. lock)
        assert.is_nil(l.state, inst.name .. " holds a state for " .. lock)
      end
    end
  end
end

local function wait(lab, op, max_ms)
  assert.is_true(lab:run_until(function() return op.done end, max_ms or 10000),
                 "no answer to " .. op.op .. " in time")
  return op
end

describe("scripts that do not parse #bindings", function()
  local path = BAD .. "syntax_error.lua"
  local where = path .. ":" .. bad_line(path) .. ":"

  it("make skinny.lab raise, naming the file and line", function()
    for _, kind in ipairs{ "lock", "proposer", "backoff" } do
      local ok, err = pcall(skinny.lab, { seed = 1, [kind] = path })
      assert.is_false(ok)
      assert.is_true(plain(err, where), ("as a %s script: %s"):format(kind, tostring(err)))
      assert.is_true(plain(err, "expected"), err)
    end
  end)

  it("make reload refuse the script and keep the old one", function()
    local lab = skinny.lab{ seed = 1 }
    local ok, err = lab:reload("catbus", { lock = path })
    assert.is_nil(ok)
    assert.is_true(plain(err, where), err)
    local op = wait(lab, lab:client("beaver", { node = "catbus" }):acquire("printer"))
    assert.are.equal("granted", op.status)
    lab:close()
  end)

  it("make `bin/skinny run` exit 2 with the file and line", function()
    local p = io.popen("bin/skinny run scripts/experiments/basic.lua --lock " .. path ..
                       " 2>&1; echo \"exit=$?\"")
    local out = p:read("a")
    p:close()
    assert.is_true(plain(out, "exit=2"), out)
    assert.is_true(plain(out, where), out)
  end)

  it("name a missing script as such", function()
    local ok, err = pcall(skinny.lab, { seed = 1, lock = BAD .. "no_such_script.lua" })
    assert.is_false(ok)
    assert.is_true(plain(err, "no such script"), err)
  end)
end)

-- Each case: the script, its kind, the hook name the core puts first in the
-- text, the reason, optional lab options and a fault that makes the hook run.
-- The next_ballot, enough, pick_value and apply hooks run on every request;
-- delay only after a conflict or a timeout, so those cases cut catbus off.
local function cut_off(lab) lab:partition({ "catbus" }, { "kanta", "mei", "satsuki", "totoro" }) end

local CASES = {
  { file = "runtime_error_apply.lua", kind = "lock", hook = "apply_lock",
    reason = "attempt to index a nil value" },
  { file = "error_next_ballot.lua", kind = "proposer", hook = "next_ballot",
    reason = "no ballot for you (attempt 1)" },
  { file = "error_enough.lua", kind = "proposer", hook = "enough",
    reason = "cannot count 1 yeas in phase 1" },
  { file = "error_pick_value.lua", kind = "proposer", hook = "pick_value",
    reason = "attempt to perform arithmetic on a nil value (field 'missing')" },
  { file = "error_delay.lua", kind = "backoff", hook = "backoff",
    reason = "backoff broke after a timeout", fault = cut_off, heal = true },
  { file = "endless_loop.lua", kind = "lock", hook = "apply_lock",
    reason = "instruction budget exceeded", opts = { budget = 200000 } },
  { file = "wrong_type_enough.lua", kind = "proposer", hook = "enough",
    reason = "enough returned number 42, expected \"wait\", \"proceed\" or \"fail\"" },
  { file = "wrong_type_apply.lua", kind = "lock", hook = "apply_lock",
    reason = "apply returned string \"granted\" as its reply, expected a table" },
  { file = "wrong_type_delay.lua", kind = "backoff", hook = "backoff",
    reason = "delay returned string \"soon\", expected milliseconds", fault = cut_off, heal = true },
  { file = "wrong_type_thrifty.lua", kind = "proposer", hook = "thrifty",
    reason = "thrifty returned boolean true, expected milliseconds (1 to 3600000)" },
}

local GOOD = { proposer = "paxos", backoff = "exponential_jitter", lock = "advisory" }

describe("hooks that fail #bindings", function()
  for _, case in ipairs(CASES) do
    local path = BAD .. case.file
    describe(case.file, function()
      local lab, op, seconds

      setup(function()
        local opts = { seed = 1, phase_timeout = 100, client_timeout = 5000, [case.kind] = path }
        for k, v in pairs(case.opts or {}) do opts[k] = v end
        lab = skinny.lab(opts)
        if case.fault then case.fault(lab) end
        local t0 = os.clock()
        op = lab:client("beaver", { node = "catbus" }):acquire("printer")
        lab:run_until(function() return op.done end, 10000)
        seconds = os.clock() - t0
      end)

      teardown(function() if lab then lab:close() end end)

      it("fails the request with status error", function()
        assert.is_true(op.done)
        assert.are.equal("error", op.status)
      end)

      it("names the hook, the script, the line and the reason", function()
        local where = path .. ":" .. bad_line(path) .. ":"
        assert.is_true(plain(op.text, case.hook .. ": "), op.text)
        assert.is_true(plain(op.text, where), ("expected %q in %q"):format(where, tostring(op.text)))
        assert.is_true(plain(op.text, case.reason), ("expected %q in %q"):format(case.reason, tostring(op.text)))
      end)

      it("records a hook_error event in the trace and the metrics", function()
        local found
        for _, e in ipairs(lab:trace()) do
          if e.ev == "hook_error" and e.req == op.id then found = e end
        end
        assert.is_table(found, "no hook_error event for the request")
        assert.are.equal(op.text, found.text)
        assert.are.equal("catbus", found.node)
        assert.are.equal(1, lab:metrics().hook_errors)
      end)

      it("leaves the acceptors without an accepted value", function()
        nothing_accepted(lab, "printer")
      end)

      it("returns promptly", function()
        assert.is_true(seconds < 2, ("took %.2f s of CPU"):format(seconds))
      end)

      it("keeps the instance serving once a good script is reloaded", function()
        if case.heal then lab:heal() end
        assert.is_true(lab:reload("catbus", { [case.kind] = GOOD[case.kind] }))
        local again = wait(lab, lab:client("giraffe", { node = "catbus" }):acquire("printer"))
        assert.are.equal("granted", again.status, again.text)
      end)
    end)
  end

  it("fail only the instance running the bad script (per_node)", function()
    local lab = skinny.lab{ seed = 3, per_node = { catbus = { lock = BAD .. "runtime_error_apply.lua" } } }
    local bad = wait(lab, lab:client("beaver", { node = "catbus" }):acquire("printer"))
    assert.are.equal("error", bad.status)
    nothing_accepted(lab, "printer")
    local good = wait(lab, lab:client("giraffe", { node = "mei" }):acquire("printer"))
    assert.are.equal("granted", good.status)
    -- catbus's next request fails the same way, for that request only
    local again = wait(lab, lab:client("otter", { node = "catbus" }):acquire("printer"))
    assert.are.equal("error", again.status)
    assert.are.equal(2, lab:metrics().hook_errors)
    assert.is_true(lab:check().ok)
    lab:close()
  end)

  it("stop an endless loop within the default budget too", function()
    local lab = skinny.lab{ seed = 1, lock = BAD .. "endless_loop.lua" }
    local t0 = os.clock()
    local op = wait(lab, lab:client("beaver"):acquire("printer"))
    assert.is_true(os.clock() - t0 < 5)
    assert.are.equal("error", op.status)
    assert.is_true(plain(op.text, "instruction budget exceeded"), op.text)
    lab:close()
  end)

  it("stop a script that eats memory, naming it, and go on serving", function()
    local lab = skinny.lab{ seed = 1, lock = BAD .. "memory_hog.lua", budget = 1e12,
                            per_node = { kanta = { lock = "advisory" } } }
    local op = wait(lab, lab:client("beaver"):acquire("printer"))
    assert.are.equal("error", op.status)
    assert.is_true(plain(op.text, "memory_hog.lua:2: not enough memory"), op.text)
    local ok = wait(lab, lab:client("giraffe", { node = "kanta" }):acquire("printer"))
    assert.are.equal("granted", ok.status)
    lab:close()
  end)
end)

describe("scripts of one instance are isolated #bindings", function()
  it("a script that rewrites a shared module or a library fails alone", function()
    local path = BAD .. "hijack_module.lua"
    local lab = skinny.lab{ seed = 1, lock = path, proposer = BAD .. "late_lookup.lua" }
    local op = wait(lab, lab:client("mallory"):acquire("printer"))
    assert.are.equal("error", op.status)
    assert.is_true(plain(op.text, path .. ":" .. bad_line(path) .. ":"), op.text)
    -- the proposer's require("proposers.paxos") is its own copy: not hijacked
    local ok = wait(lab, lab:client("beaver"):acquire("printer"))
    assert.are.equal("granted", ok.status, ok.text)
    assert.are.equal("released", wait(lab, lab:client("beaver"):release("printer")).status)
    lab:close()
  end)
end)

-- The unsafe scripts. A duelling workload: three clients on one lock, each
-- acquiring, holding a while and releasing, through instances on both sides
-- of a fault (a 2/3 partition, or a crash), on a jittery network.

-- Run client bodies as coroutines: a body yields an op record to wait for
-- its answer, or a number of ms to sleep.
local function drive(lab, bodies, max_ms)
  local tasks = {}
  for i, body in ipairs(bodies) do tasks[i] = { co = coroutine.create(body), ready = true } end
  local function runnable(t) return not t.dead and (t.ready or (t.op ~= nil and t.op.done)) end
  local deadline = lab:now() + max_ms
  while lab:now() < deadline do
    local live = false
    for _, t in ipairs(tasks) do
      if runnable(t) then
        t.op, t.ready = nil, false
        local ok, what = coroutine.resume(t.co)
        assert(ok, what)
        if coroutine.status(t.co) == "dead" then
          t.dead = true
        elseif type(what) == "number" then
          lab:after(what, function() t.ready = true end)
        else
          t.op = what
        end
      end
      live = live or not t.dead
    end
    if not live then return end
    lab:run_until(function()
      for _, t in ipairs(tasks) do if runnable(t) then return true end end
      return false
    end, deadline - lab:now())
  end
end

local function contest(proposer, seed)
  local lab = skinny.lab{
    seed = seed, proposer = proposer, phase_timeout = 100, client_timeout = 2000,
    latency = { kind = "uniform", a = 1, b = 8 },
  }
  local t_fault = 5 + seed % 25
  if seed % 2 == 0 then
    lab:after(t_fault, function(l) l:partition({ "catbus", "kanta" }, { "mei", "satsuki", "totoro" }) end)
    lab:after(t_fault + 150, function(l) l:heal() end)
  else
    lab:after(t_fault, function(l) l:crash("satsuki") end)
    lab:after(t_fault + 150, function(l) l:restart("satsuki") end)
  end
  local bodies = {}
  for i, who in ipairs{ { "beaver", "catbus" }, { "giraffe", "mei" }, { "otter", "totoro" } } do
    local c = lab:client(who[1], { node = who[2] })
    bodies[i] = function()
      for round = 1, 3 do
        local op = c:acquire("printer")
        coroutine.yield(op)
        if op.status == "granted" then
          coroutine.yield(10 + (seed * 7 + i * 13 + round) % 30) -- hold it a while
          coroutine.yield(c:release("printer"))
        else
          coroutine.yield(5 + (seed + i * 3 + round) % 20)
        end
      end
    end
  end
  drive(lab, bodies, 5000)
  lab:run_for(50)
  local rep = lab:check()
  lab:close()
  return rep
end

describe("unsafe scripts, caught by the checkers #bindings", function()
  it("the same workload passes with the default scripts (control)", function()
    for seed = 1, 6 do
      local rep = contest("paxos", seed)
      assert.is_true(rep.ok, ("seed %d:\n%s"):format(seed, skinny.check.format(rep)))
    end
  end)

  for _, file in ipairs{ "minority_quorum.lua", "own_value.lua" } do
    it(file .. " breaks safety for some seed", function()
      local caught
      for seed = 1, 200 do
        local rep = contest(BAD .. file, seed)
        if not rep.ok then
          caught = seed
          print("caught at seed", seed, "(" .. file .. ")")
          print(skinny.check.format(rep))
          break
        end
      end
      assert.is_number(caught, file .. ": 200 seeds and the checkers saw nothing wrong")
    end)
  end
end)
