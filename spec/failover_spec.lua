-- Clients that fail over (skinny.failover, spec/LAB.md "Failover") and client link
-- faults in the simulator.
local skinny = require "skinny"
local failover = require "skinny.failover"
local history = require "skinny.history"

describe("skinny.failover #unit", function()
  it("tries the start first, then the instances after it, wrapping round", function()
    local n = { "catbus", "kanta", "mei", "satsuki", "totoro" }
    assert.same({ "mei", "satsuki", "totoro", "catbus", "kanta" }, failover.order(n, "mei"))
    assert.same(n, failover.order(n, "catbus"))
    assert.same({ "jiji", "catbus", "kanta" }, failover.order({ "catbus", "kanta" }, "jiji"))
  end)

  it("gives an attempt half of what is left while others remain (at least 250 ms), the last all", function()
    assert.equal(1000, failover.deadline(0, 2000, true))
    assert.equal(1500, failover.deadline(1000, 2000, true))
    assert.equal(2000, failover.deadline(1000, 2000, false))
    assert.equal(250, failover.deadline(0, 400, true))    -- half is 200: at least 250
    assert.equal(200, failover.deadline(0, 200, true))    -- or all that is left
    assert.equal(2000, failover.deadline(2000, 2000, true)) -- nothing left
    assert.equal(300, failover.deadline(0, 2000, true, 300)) -- attempt_timeout caps it
    assert.equal(2000, failover.deadline(0, 2000, false, 5000))
  end)

  it("fails over on timeout, down, unavailable and contended; stops on settled answers and errors", function()
    for _, st in ipairs { "timeout", "down", "unavailable", "contended" } do
      local p = failover.new{ nodes = { "a", "b", "c" }, start = "a", now = 0, timeout = 2000 }
      p:first()
      local a = p:next(st, 10)
      assert.same({ node = "b", at = 10, deadline = 1005, n = 2, round = 1 }, a)
    end
    for _, st in ipairs { "granted", "refused", "released", "not_holder", "stale", "error", "busy?" } do
      local p = failover.new{ nodes = { "a", "b" }, start = "a", now = 0, timeout = 2000 }
      p:first()
      assert.is_nil(p:next(st, 10), st)
    end
  end)

  it("cycles round with a pause between rounds, and stops at the overall deadline", function()
    local p = failover.new{ nodes = { "a", "b" }, start = "b", now = 100, timeout = 1000 }
    assert.same({ node = "b", at = 100, deadline = 600, n = 1, round = 1 }, p:first())
    assert.same({ node = "a", at = 105, deadline = 1100, n = 2, round = 1 }, p:next("down", 105))
    -- the round is over: the next starts ROUND_PAUSE_MS later, with b again
    local a = p:next("unavailable", 300)
    assert.same({ node = "b", at = 300 + failover.ROUND_PAUSE_MS, n = 3, round = 2,
                  deadline = 300 + failover.ROUND_PAUSE_MS + 350 }, a)
    assert.equal("a", p:next("timeout", a.deadline).node)
    -- a round that would start at or after the deadline does not: the last status stands
    assert.is_nil(p:next("unavailable", 1100 - failover.ROUND_PAUSE_MS))
    local q = failover.new{ nodes = { "a" }, now = 0, timeout = 500 }
    assert.same({ node = "a", at = 0, deadline = 500, n = 1, round = 1 }, q:first())
    assert.is_nil(q:next("timeout", 500))
  end)
end)

local function trace_of(lab, ev)
  local out = {}
  for _, e in ipairs(lab:trace()) do if e.ev == ev then out[#out + 1] = e end end
  return out
end

describe("failing-over clients in the simulator #sim", function()
  it("a down instance answers at once; the same request goes to the next", function()
    local lab = skinny.lab{ seed = 1 }
    lab:crash("catbus")
    local c = lab:client("heron", { node = "catbus", failover = true })
    local op = c:acquire("L")
    lab:settle()
    assert.equal("granted", op.status)
    assert.equal(2, #op.attempts)
    assert.equal("down", op.attempts[1].status)
    assert.is_true(op.attempts[1].complete - op.invoke <= 2, "refused at once, not at the deadline")
    assert.equal("kanta", op.via)
    local inv = trace_of(lab, "invoke")
    assert.equal(2, #inv)
    assert.equal(op.id, inv[2].resend_of)
    assert.equal(2, inv[2].attempt)
    assert.equal(1, #lab:history())
    assert.is_true(lab:check().ok)
    lab:close()
  end)

  it("an instance that crashes holding the request resets the connection", function()
    local lab = skinny.lab{ seed = 1, latency = { kind = "const", a = 20 } }
    local c = lab:client("heron", { node = "catbus", failover = true })
    local op = c:acquire("L")
    lab:run_for(10)
    lab:crash("catbus")
    lab:settle()
    assert.equal("down", op.attempts[1].status)
    assert.matches("connection reset", (trace_of(lab, "complete")[1].text))
    assert.equal("granted", op.status)
    lab:close()
  end)

  it("a cut request times out at half of the timeout; the answer comes from the next instance", function()
    local lab = skinny.lab{ seed = 2 }
    local c = lab:client("heron", { node = "catbus", failover = { "catbus", "mei" }, timeout = 4000 })
    lab:cut_client(c, "catbus", "requests")
    local op = c:acquire("L")
    lab:settle()
    assert.equal("granted", op.status)
    assert.same({ "catbus", "mei" }, { op.attempts[1].node, op.attempts[2].node })
    assert.equal(2000, op.attempts[2].t - op.invoke)
    local drops = trace_of(lab, "client_drop")
    assert.equal(1, #drops)
    assert.same({ "heron", "catbus", "request", "cut" }, { drops[1].client, drops[1].node, drops[1].lost,
                                                          drops[1].why })
    -- heal restores client links too
    lab:heal()
    local r = c:release("L")
    lab:settle()
    assert.equal("released", r.status)
    assert.equal(1, #r.attempts)
    lab:close()
  end)

  it("a lost answer: the copy ran; the resend is answered as before, with the same token", function()
    local lab = skinny.lab{ seed = 3 }
    local c = lab:client("heron", { node = "catbus", failover = true, timeout = 2000 })
    lab:cut_client("heron", "catbus", "answers")
    local op = c:acquire("L")
    lab:settle()
    assert.equal("granted", op.status)
    assert.equal("kanta", op.via)
    assert.matches("answered before", op.text)
    -- applied once: the resend re-committed the value that holds the first grant
    local tokens = {}
    for _, e in ipairs(trace_of(lab, "decided")) do tokens[#tokens + 1] = e.state.token end
    assert.equal(2, #tokens)
    assert.equal(tokens[1], tokens[2])
    assert.equal(op.token, tokens[1])
    assert.equal("answer", trace_of(lab, "client_drop")[1].lost)
    lab:close()
  end)

  it("an abandoned copy still runs; its late answer is traced and ignored", function()
    local lab = skinny.lab{ seed = 4 }
    local c = lab:client("heron", { node = "catbus", failover = true, timeout = 2000 })
    lab:slow_client(c, "catbus", 1500, "requests")
    local op = c:acquire("L")
    lab:settle()
    lab:run_for(3000)
    assert.equal("granted", op.status)
    assert.equal("kanta", op.via)
    local late = trace_of(lab, "late")
    assert.equal(1, #late)
    assert.equal(op.id, late[1].req)
    assert.equal("granted", late[1].status) -- the same request: answered before
    assert.equal(op.token, late[1].token)
    assert.equal("granted", op.status)
    lab:close()
  end)

  it("the history rebuilt from the trace has one op per client operation", function()
    local lab = skinny.lab{ seed = 5, identity = false }
    local c = lab:client("heron", { node = "catbus", failover = true, timeout = 2000 })
    lab:slow_client(c, "catbus", 1500, "requests")
    c:acquire("L")
    lab:settle()
    c:release("L", { node = "catbus" })
    lab:settle()
    lab:crash("catbus")
    c:acquire("L", { node = "catbus" })
    lab:settle()
    lab:run_for(3000)
    local h = history.from_trace(lab:trace())
    local mine = lab:history()
    assert.equal(#mine, #h)
    for i, op in ipairs(mine) do
      for _, k in ipairs { "id", "op", "status", "invoke", "complete", "token", "by" } do
        assert.equal(op[k], h[i][k], ("op %d field %s"):format(i, k))
      end
      assert.equal(#lab.ops[i].attempts, #h[i].attempts)
    end
    assert.same(lab:check().ok, skinny.check.all(h).ok)
    lab:close()
  end)

  it("times out as a whole at the client's timeout, having tried every instance", function()
    local lab = skinny.lab{ seed = 6, nodes = 3 }
    local c = lab:client("heron", { node = "kanta", failover = true, timeout = 3000 })
    lab:cut_client(c, nil, "both")
    local op = c:acquire("L")
    lab:settle()
    assert.equal("timeout", op.status)
    assert.is_nil(op.complete)
    assert.same({ "kanta", "mei", "catbus" }, { op.attempts[1].node, op.attempts[2].node, op.attempts[3].node })
    assert.same({ 1500, 2250, 3000 }, { op.attempts[1].deadline, op.attempts[2].deadline, op.attempts[3].deadline })
    lab:close()
  end)
end)

describe("client links and slow links #sim", function()
  it("client links: latency per client and instance, each way; 0 restores the lab's", function()
    local lab = skinny.lab{ seed = 1, latency = { kind = "const", a = 1 } }
    local a = lab:client("heron", { node = "mei" })
    local b = lab:client("beaver", { node = "mei" })
    lab:client_link({ kind = "const", a = 700 }, a, "mei", "answers")
    local x = a:acquire("L")
    local y = b:acquire("M")
    lab:settle()
    assert.is_true(x.complete - x.invoke >= 700)
    assert.is_true(y.complete - y.invoke < 20)
    local l = lab.sim:client_link_of(a.id, "mei", "answers")
    assert.equal(700, l.a)
    lab:slow_client(a, "mei", 0)
    assert.same({ "const", 1 }, { lab.sim:client_link_of(a.id, "mei", "answers").kind,
                                  lab.sim:client_link_of(a.id, "mei", "answers").a })
    lab:client_loss(1, "beaver", "mei", "requests")
    local z = b:release("M", { timeout = 500 })
    lab:settle()
    assert.equal("timeout", z.status)
    assert.equal("loss", trace_of(lab, "client_drop")[1].why)
    lab:close()
  end)

  it("lab:slow with seconds: the slowed instance lags, the others decide, nothing breaks", function()
    local lab = skinny.lab{ seed = 7 }
    lab:slow("catbus", 2500)
    lab:slow("kanta", 1500.5)
    local a = lab:client("beaver", { node = "mei" }):acquire("L")
    lab:settle()
    assert.equal("granted", a.status)
    assert.is_true(a.complete - a.invoke < 50)
    local b = lab:client("giraffe", { node = "catbus", failover = true, timeout = 20000 }):acquire("L")
    lab:settle()
    assert.equal("refused", b.status)
    assert.equal("beaver", b.by)
    lab:run_for(10000)
    assert.is_true(lab:check().ok)
    local notes = {}
    for _, e in ipairs(trace_of(lab, "fault")) do notes[#notes + 1] = e.what end
    assert.truthy(table.concat(notes, "|"):find("slow 2500 ms|slow 1500.5 ms", 1, true))
    lab:close()
  end)
end)
