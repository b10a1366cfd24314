-- What a lock state means, shown to people (tag #bindings): a lock script's
-- describe(state, ctx) in the simulator's status table, the report, the trace
-- and the HTML scrubber; a describe that raises, loops or returns the wrong
-- type falls back to the C default's text plus why, and status still works
-- (spec/HOOKS.md, "Lock hooks").
local skinny = require "skinny"
local report = require "skinny.report"
local render = require "skinny.render"

local SEM = "spec/testdata/describe/semaphore.lua"

local function wait(lab, op)
  assert.is_true(lab:run_until(function() return op.done end, 5000), "no answer in time")
  return op
end

-- catbus's row for lock `name` in lab:status()
local function row(lab, node, name)
  for _, s in ipairs(lab:status()) do
    if s.name == node then
      for _, l in ipairs(s.locks) do if l.lock == name then return l end end
    end
  end
end

describe("describe #bindings", function()
  it("shows a semaphore's two holders in lab:status() and the report, not 'free'", function()
    local lab = skinny.lab{ seed = 1, lock = SEM }
    finally(function() lab:close() end)
    assert.equal("granted", wait(lab, lab:client("beaver"):acquire("sem")).status)
    assert.equal("granted", wait(lab, lab:client("otter", { node = "mei" }):acquire("sem")).status)
    local refused = wait(lab, lab:client("giraffe"):acquire("sem"))
    assert.equal("refused", refused.status)
    assert.equal("no permit left: beaver, otter hold them", refused.text)
    lab:run_for(50)
    for _, s in ipairs(lab:status()) do
      local l = s.locks[1]
      assert.equal("2 of 2 permits: beaver, otter", l.describe, s.name)
      assert.is_nil(l.state.holder) -- the shape a holder-only status showed as free
    end
    local lines = table.concat(report.status_table(lab:status()), "\n")
    assert.matches("NAME%s+PROMISED%s+ACCEPTED%s+DESCRIPTION", lines)
    assert.truthy(lines:find("\n  catbus +%S+ +%S+ +2 of 2 permits: beaver, otter\n"), lines)
    assert.falsy(lines:find("free", 1, true), lines)
    assert.is_true(lab:check().ok)
  end)

  it("advisory.lua and classic.lua say who holds it, with the token or without one", function()
    for _, case in ipairs{ { "advisory", "held by beaver (token 257)" },
                           { "classic", "held by beaver (no fencing token)" } } do
      local lab = skinny.lab{ seed = 1, lock = case[1] }
      finally(function() lab:close() end)
      wait(lab, lab:client("beaver"):acquire("printer"))
      lab:run_for(50)
      assert.equal(case[2], row(lab, "kanta", "printer").describe, case[1])
      wait(lab, lab:client("beaver"):release("printer"))
      lab:run_for(50)
      assert.equal("free", row(lab, "kanta", "printer").describe, case[1])
    end
  end)

  it("the C default (--builtin) describes a free and a held lock", function()
    local lab = skinny.lab{ seed = 1, builtin = true }
    finally(function() lab:close() end)
    wait(lab, lab:client("beaver"):acquire("printer"))
    lab:run_for(50)
    assert.equal("held by beaver (token 257)", row(lab, "catbus", "printer").describe)
    wait(lab, lab:client("beaver"):release("printer"))
    lab:run_for(50)
    assert.equal("free", row(lab, "catbus", "printer").describe)
  end)

  it("lease.lua says until when, on the describing instance's clock", function()
    local lab = skinny.lab{ seed = 1, lock = "lease" }
    finally(function() lab:close() end)
    local op = wait(lab, lab:client("beaver"):acquire("printer", { ttl = 1000 }))
    lab:run_for(50)
    local d = row(lab, "catbus", "printer").describe
    local expires = row(lab, "catbus", "printer").state.expires
    assert.equal(("held by beaver until t=%d, %d ms from now (token %d)")
                 :format(expires, expires - lab:now(), op.token), d)
    lab:run_for(2000)
    assert.equal(("free: beaver's lease ended at t=%d (token %d)"):format(expires, op.token),
                 row(lab, "catbus", "printer").describe)
  end)

  -- a describe that fails: the default's text, then the script's file:line and reason
  local FAILING = {
    { file = "raises.lua", line = 9, why = "no words for beaver" },
    { file = "loops.lua", line = 9, why = "instruction budget exceeded (20000 instructions)" },
    { file = "table.lua", line = 7, why = "describe returned a table, expected a string" },
  }
  for _, f in ipairs(FAILING) do
    it(f.file .. ": falls back to the default, saying why, and status still works", function()
      local path = "spec/testdata/describe/" .. f.file
      local lab = skinny.lab{ seed = 1, lock = path, budget = 200000 }
      finally(function() lab:close() end)
      local op = wait(lab, lab:client("beaver"):acquire("printer"))
      assert.equal("granted", op.status) -- describe is never on a request's path
      lab:run_for(50)
      local want = ("held by beaver (token 257) (describe failed: %s:%d: "):format(path, f.line)
      for _, s in ipairs(lab:status()) do
        local d = s.locks[1].describe
        assert.equal(want, d:sub(1, #want), s.name .. ": " .. d)
        assert.truthy(d:find(f.why, 1, true), d)
      end
      -- the decided line of the trace carries the same fallback
      local decided
      for _, e in ipairs(lab:trace()) do if e.ev == "decided" then decided = e end end
      assert.equal(want, decided.describe:sub(1, #want))
      -- and the instance goes on serving
      assert.equal("released", wait(lab, lab:client("beaver"):release("printer")).status)
      assert.equal("granted", wait(lab, lab:client("giraffe"):acquire("printer")).status)
      assert.is_true(lab:check().ok)
    end)
  end

  it("a description is one line of at most 511 bytes, cut at a character's end", function()
    local lab = skinny.lab{ seed = 1, lock = "spec/testdata/describe/long.lua" }
    finally(function() lab:close() end)
    wait(lab, lab:client("beaver"):acquire("printer"))
    lab:run_for(50)
    local d = row(lab, "catbus", "printer").describe
    -- 20 bytes of text, then 245 whole e-acute (2 bytes each): the 246th was cut in half
    assert.equal("line one line two:  " .. ("\u{e9}"):rep(245), d)
    assert.equal(510, #d)
    assert.is_truthy(utf8.len(d))
  end)

  it("the trace's decided lines carry describe, and the HTML shows it", function()
    local lab = skinny.lab{ seed = 1, lock = SEM }
    finally(function() lab:close() end)
    wait(lab, lab:client("beaver"):acquire("sem"))
    wait(lab, lab:client("otter"):acquire("sem"))
    lab:run_for(50)
    local events = lab:trace()
    local texts, accepted = {}, 0
    for _, e in ipairs(events) do
      if e.ev == "decided" then texts[#texts + 1] = e.describe end
      if e.ev == "accepted" then accepted = accepted + 1 end
    end
    assert.same({ "1 of 2 permits: beaver", "2 of 2 permits: beaver, otter" }, texts)
    -- every acceptance of a decided value gets that decision's description
    local m = render.analyse(events)
    local n = 0
    for i, text in pairs(m.described) do
      n = n + 1
      local e = events[tonumber(i) + 1]
      assert.equal("accepted", e.ev)
      local k = 0
      for _ in pairs(e.state.holders) do k = k + 1 end
      assert.equal(("%d of 2 permits:"):format(k), text:sub(1, 15))
    end
    assert.equal(accepted, n)
    assert.equal("2 of 2 permits: beaver, otter", m.decisions[#m.decisions].value)
    local html = render.html(events)
    assert.truthy(html:find("2 of 2 permits: beaver, otter", 1, true))
    assert.truthy(html:find('"described":{', 1, true))
  end)

  it("an acceptance no decision covers shows no description (its state instead)", function()
    local events = {
      { t = 0, ev = "accepted", node = "a", lock = "l", ballot = "1.1", state = { holder = "x" } },
      { t = 1, ev = "accepted", node = "b", lock = "l", ballot = "2.1", state = { holder = "y" } },
      { t = 2, ev = "decided", node = "a", lock = "l", ballot = "2.1", state = { holder = "y" },
        describe = "held by y" },
      -- same ballot, another value (classic ballots can repeat): not described
      { t = 3, ev = "accepted", node = "c", lock = "l", ballot = "2.1", state = { holder = "z" } },
    }
    local got = render.analyse(events).described
    assert.same({ ["1"] = "held by y" }, got)
  end)
end)
