-- The real lab's clients fail over (tag #e2e): the same request (client id
-- and seq) to the next instance when one is silent, refuses the connection
-- or answers that it does not know; it takes effect at most once.
-- spec/DAEMON.md "Request identity and failover", spec/LAB.md.
local real = require "skinny.real"
local history = require "skinny.history"

local function done(op) return function() return op.done end end

local function nodes(op)
  local t = {}
  for _, a in ipairs(op.attempts) do t[#t + 1] = a.node end
  return t
end

local function events(lab, ev)
  local t = {}
  for _, e in ipairs(lab:trace()) do if e.ev == ev then t[#t + 1] = e end end
  return t
end

local function resends(lab)
  local t = {}
  for _, e in ipairs(events(lab, "invoke")) do if e.resend_of then t[#t + 1] = e end end
  return t
end

local function answers(lab, req)
  local t = {}
  for _, e in ipairs(events(lab, "complete")) do if e.req == req then t[#t + 1] = e end end
  return t
end

describe("real lab clients with failover #e2e", function()
  it("the rule is skinny.failover's, as in the simulated lab", function()
    assert.is_nil(real.attempt_deadline)
    assert.is_nil(real.FAIL_OVER)
    assert.is_nil(real.ROUND_PAUSE_MS)
  end)

  it("a late copy of an old release is stale: heron keeps its new grant (reproduction 1)",
     function()
    local lab = real.lab{ nodes = 5, client_timeout = 2000, fsync = false }
    finally(function() lab:close() end)
    local heron = lab:client("heron", { node = "kanta" })
    -- another process of heron's: its own client id
    local heron2 = lab:client("heron", { name = "heron2", failover = { "catbus", "kanta" } })
    local a = heron:acquire("L")
    lab:run_until(done(a), 3000)
    assert.equal("granted", a.status)
    lab:slow("catbus", 1500)
    local r = heron2:release("L", { token = a.token })
    lab:run_until(done(r), 3000)
    assert.equal("released", r.status)
    assert.same({ "catbus", "kanta" }, nodes(r))
    assert.equal("timeout", r.attempts[1].status)
    assert.equal("released", r.attempts[2].status)
    assert.equal("kanta", r.via)
    assert.equal(0, #events(lab, "resend"))
    -- traced as the simulator does: an invoke per send, the resend naming the
    -- first; a complete per attempt
    local rs = resends(lab)
    assert.equal(1, #rs)
    assert.equal("kanta", rs[1].node)
    assert.equal(2, rs[1].attempt)
    assert.equal(r.id, rs[1].resend_of)
    assert.equal(r.attempts[2].req, rs[1].req)
    local first = answers(lab, r.id)
    assert.equal(1, #first)
    assert.equal("timeout", first[1].status)
    assert.truthy(first[1].text:find("^no answer from catbus in 10%d%d ms"), first[1].text)
    assert.equal("released", answers(lab, rs[1].req)[1].status)
    local a2 = heron:acquire("L")
    lab:run_until(done(a2), 3000)
    assert.equal("granted", a2.status)
    assert.is_true(a2.token > a.token)
    lab:slow("catbus", 0)
    -- catbus's copy of the release is answered stale once its messages flow
    lab:run_until(function() return (lab.late.stale or 0) > 0 end, 8000)
    assert.equal(1, lab.late.stale)
    local late = events(lab, "late")
    assert.equal(1, #late)
    assert.same({ r.id, "catbus", "stale" }, { late[1].req, late[1].node, late[1].status })
    local b = lab:client("beaver", { node = "mei" }):acquire("L")
    lab:run_until(done(b), 3000)
    assert.equal("refused", b.status)
    assert.equal("heron", b.by)
    local r1 = heron:release("L", { token = a.token })
    lab:run_until(done(r1), 3000)
    assert.equal("not_holder", r1.status)
    local r2 = heron:release("L", { token = a2.token })
    lab:run_until(done(r2), 3000)
    assert.equal("released", r2.status)
    assert.is_true(lab:check().ok)
    -- the history read back from the trace (what `skinny check` reads) has
    -- one op per client op, the failed-over release one op with two attempts
    local h = history.from_trace(lab:trace())
    assert.equal(#lab.ops, #h)
    for i, op in ipairs(lab.ops) do
      for _, k in ipairs{ "id", "op", "status", "invoke", "complete", "token", "by" } do
        assert.equal(op[k], h[i][k], ("op %d field %s"):format(i, k))
      end
      assert.equal(#op.attempts, #h[i].attempts)
    end
    assert.equal(2, #h[2].attempts)
    assert.equal("released", h[2].status)
  end)

  it("past a killed instance at once, past an unavailable one with the same request", function()
    local lab = real.lab{ nodes = 3, client_timeout = 3000, phase_timeout = 100, fsync = false }
    finally(function() lab:close() end)
    local c = lab:client("otter", { node = "catbus", failover = true })
    lab:crash("catbus")
    local a = c:acquire("printer")
    lab:run_until(done(a), 4000)
    assert.equal("granted", a.status)
    assert.same({ "catbus", "kanta" }, nodes(a))
    assert.equal("down", a.attempts[1].status)
    assert.is_true(a.complete - a.invoke < 1000) -- a refused connection: no waiting
    -- kanta alone cannot reach a majority: it answers unavailable (or is
    -- silent) and mei, cut off too, the same, round after round until the
    -- op's time is up; the op ends indefinite
    lab:partition({ "kanta" }, { "mei" })
    local r = c:release("printer", { node = "kanta", failover = { "kanta", "mei" },
                                     attempt_timeout = 700 })
    lab:run_until(done(r), 4000)
    local tried = nodes(r)
    assert.same({ "kanta", "mei", "kanta" }, { tried[1], tried[2], tried[3] })
    assert.truthy(r.status == "unavailable" or r.status == "timeout", r.status)
    lab:heal()
    lab:restart("catbus")
    -- the indefinite release may still take effect (a proposer still at it);
    -- the new one then finds the lock free
    local r2 = c:release("printer", { node = "mei" })
    lab:run_until(done(r2), 4000)
    assert.truthy(r2.status == "released" or r2.status == "not_holder", r2.status)
    assert.is_true(lab:check().ok)
  end)
end)
