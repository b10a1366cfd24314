-- Specs for waiting (deferred answers, spec/PROTOCOL.md 7.4 "Waiting") and the fair lock
-- scripts/locks/fifo.lua: queued answers with their place, polls that hear granted when
-- the turn comes, cancelling by release, giving up, an answer lost on the way, and the
-- checker holding all of it to fifo's model (and catching the LIFO variant).

local skinny = require "skinny"
local check = require "skinny.check"
local history = require "skinny.history"
local workload = require "helpers.workload"

local LIFO = "spec/testdata/bad/fifo_lifo.lua"

local function wait_done(lab, op, ms)
  assert(lab:run_until(function() return op.done end, ms or 5000), "no answer in time")
end

local function check_ok(lab)
  local rep = lab:check()
  assert(rep.ok, check.format(rep))
  return rep
end

-- beaver holds printer; otter, then giraffe, then heron ask for it
local function three_waiters(o)
  o = o or {}
  local lab = skinny.lab{ seed = o.seed or 5, nodes = 3, lock = o.lock or "fifo" }
  local c = {}
  for _, h in ipairs{ "beaver", "otter", "giraffe", "heron" } do c[h] = lab:client(h) end
  local ops = { beaver = c.beaver:acquire("printer") }
  wait_done(lab, ops.beaver)
  for _, h in ipairs{ "otter", "giraffe", "heron" } do
    ops[h] = c[h]:acquire("printer")
    lab:run_for(30)
  end
  return lab, c, ops
end

describe("waiting in a fair lock (scripts/locks/fifo.lua) #unit", function()
  it("answers queued with each waiter's place, then grants in arrival order", function()
    local lab, c, ops = three_waiters()
    assert.equal("granted", ops.beaver.status)
    for i, h in ipairs{ "otter", "giraffe", "heron" } do
      assert.equal("queued", ops[h].status, h)
      assert.equal(i, ops[h].queued.position, h)
      assert.is_false(ops[h].done)
    end
    local order, last_token = {}, ops.beaver.token
    local holder = "beaver"
    for _ = 1, 3 do
      local rel = c[holder]:release("printer")
      wait_done(lab, rel)
      assert.equal("released", rel.status)
      local nxt
      lab:run_until(function()
        for _, h in ipairs{ "otter", "giraffe", "heron" } do
          if ops[h].done and not order[h] then nxt = h; return true end
        end
      end, 2000)
      assert.is_not_nil(nxt, "nobody heard granted after " .. holder .. "'s release")
      order[#order + 1], order[nxt] = nxt, true
      assert.equal("granted", ops[nxt].status)
      assert.is_true(ops[nxt].token > last_token, "a new grant has a higher token")
      last_token, holder = ops[nxt].token, nxt
    end
    assert.same({ "otter", "giraffe", "heron" }, { order[1], order[2], order[3] })
    check_ok(lab)
    lab:close()
  end)

  it("lets a waiter leave the queue by releasing; its wait is then stale", function()
    local lab, c, ops = three_waiters()
    local cancel = c.otter:release("printer")
    wait_done(lab, cancel)
    assert.equal("released", cancel.status)
    assert.matches("left the queue", cancel.text)
    wait_done(lab, ops.otter, 1000) -- its next poll: a newer request of otter was applied
    assert.equal("stale", ops.otter.status)
    -- giraffe moved up: beaver's release hands the lock to giraffe, not otter
    local rel = c.beaver:release("printer")
    wait_done(lab, rel)
    assert.matches("giraffe holds it now", rel.text)
    wait_done(lab, ops.giraffe, 1000)
    assert.equal("granted", ops.giraffe.status)
    check_ok(lab)
    lab:close()
  end)

  it("gives up after `wait` ms, leaves the queue, and the history says so", function()
    local lab = skinny.lab{ seed = 2, nodes = 3, lock = "fifo" }
    local beaver, otter = lab:client("beaver"), lab:client("otter")
    wait_done(lab, beaver:acquire("printer"))
    local op = otter:acquire("printer", { wait = 450, poll = 100 })
    wait_done(lab, op, 2000)
    assert.is_true(op.gave_up)
    assert.equal("queued", op.status) -- the last thing it heard
    assert.is_not_nil(op.cancel)
    wait_done(lab, op.cancel)
    assert.equal("released", op.cancel.status)
    assert.matches("left the queue", op.cancel.text)
    assert.is_true(op.polls >= 3 and op.polls <= 5, "polls every 100 ms for 450 ms: " .. op.polls)
    check_ok(lab)
    lab:close()
  end)

  it("knows a request waited even when the client never heard it queued", function()
    local lab = skinny.lab{ seed = 4, nodes = 3, lock = "fifo" }
    local beaver = lab:client("beaver", { node = "catbus" })
    local otter = lab:client("otter", { node = "catbus", failover = true, timeout = 4000 })
    wait_done(lab, beaver:acquire("printer"))
    -- otter's answers from catbus are lost: its queued answer never arrives
    lab:cut_client(otter, "catbus", "answers")
    local op = otter:acquire("printer")
    lab:run_for(600)
    assert.is_nil(op.queued, "the queued answer was lost")
    wait_done(lab, beaver:release("printer"))
    wait_done(lab, op, 4000)
    assert.equal("granted", op.status)
    assert.same({}, op.queued) -- the answer said it waited; when it joined is not known
    check_ok(lab)
    -- the trace tells the same story
    local ops = history.from_trace(lab:trace())
    local found
    for _, h in ipairs(ops) do if h.holder == "otter" and h.op == "acquire" then found = h end end
    assert.same({}, found.queued)
    lab:close()
  end)

  it("fails a script that answers queued without a place, naming the script and line", function()
    local path = os.tmpname() .. ".lua"
    local f = assert(io.open(path, "w"))
    f:write([[
local M = {}
function M.apply(state, req)
  if state then return state, { status = "queued" } end
  return { holder = req.holder }, { status = "granted" }
end
return M
]])
    f:close()
    local lab = skinny.lab{ seed = 1, nodes = 1, lock = path }
    wait_done(lab, lab:client("a"):acquire("L"))
    local op = lab:client("b"):acquire("L")
    wait_done(lab, op)
    os.remove(path)
    assert.equal("error", op.status)
    assert.matches("reply.position", op.text)
    -- the reply is read after apply returned: the line is the function's
    assert.matches(path:gsub("%p", "%%%0") .. ":2:", op.text)
    lab:close()
  end)
end)

describe("a script that queues but answers a wait wrongly #unit", function()
  it("fails the wait naming the script, the line and what a wait may hear", function()
    local path = os.tmpname() .. ".lua"
    local f = assert(io.open(path, "w"))
    f:write([[
local M = {}
function M.apply(state, req)
  if state and state.holder ~= req.holder then
    if req.op == "wait" then return state, { status = "not_holder", holder = state.holder } end
    return state, { status = "queued", position = 1, holder = state.holder }
  end
  return { holder = req.holder }, { status = "granted" }
end
return M
]])
    f:close()
    local lab = skinny.lab{ seed = 1, nodes = 1, lock = path }
    wait_done(lab, lab:client("a"):acquire("L"))
    local op = lab:client("b"):acquire("L", { wait = 500 })
    wait_done(lab, op, 2000)
    os.remove(path)
    assert.equal("error", op.status)
    assert.matches(path:gsub("%p", "%%%0") .. ":2: apply answered \"not_holder\" to a wait", op.text)
    assert.matches('"granted", "queued" or "refused"', op.text, 1, true)
    lab:close()
  end)
end)

describe("the checker and fair locks #unit", function()
  it("fails the fifo script held to the advisory lock's model (it queues)", function()
    local lab = three_waiters()
    local rep = lab:check{ model = "advisory" }
    assert.is_false(rep.ok)
    lab:close()
  end)

  it("catches the LIFO variant in a scenario with two waiters", function()
    local lab, c, ops = three_waiters{ lock = LIFO }
    wait_done(lab, c.beaver:release("printer"))
    lab:run_until(function() return ops.heron.done end, 2000)
    assert.equal("granted", ops.heron.status) -- the last one came first
    local rep = lab:check()
    assert.is_false(rep.ok)
    assert.matches("linearizable", check.format(rep))
    lab:close()
  end)

  it("does not take a waiter leaving the queue for the end of a grant (fencing tokens)", function()
    -- beaver holds token 7 (two clients of beaver, so granted twice); otter queues, then
    -- leaves the queue ("released") between the two grants: the token need not change
    local function h(otter_queued)
      return {
        { id = 1, client = "b1", op = "acquire", lock = "L", holder = "beaver", invoke = 0, complete = 5,
          status = "granted", token = 7 },
        { id = 2, client = "o", op = "acquire", lock = "L", holder = "otter", invoke = 10, complete = 40,
          status = otter_queued and "queued" or "refused", by = "beaver",
          queued = otter_queued and { t = 15, position = 1 } or nil },
        { id = 3, client = "o", op = "release", lock = "L", holder = "otter", invoke = 50, complete = 55,
          status = "released" },
        { id = 4, client = "b2", op = "acquire", lock = "L", holder = "beaver", invoke = 60, complete = 65,
          status = "granted", token = 7 },
      }
    end
    assert.is_true((check.tokens(h(true))))
    -- without a queue in the history, a release by anyone means the lock changed hands
    local ok, v = check.tokens(h(false))
    assert.is_false(ok)
    assert.matches("release in between", v[1].text, 1, true)
  end)

  it("checks the place a queued answer names", function()
    local function h(pos)
      return {
        { id = 1, client = "a", op = "acquire", lock = "L", holder = "a", invoke = 0, complete = 5,
          status = "granted", token = 1 },
        { id = 2, client = "b", op = "acquire", lock = "L", holder = "b", invoke = 10, status = "queued",
          queued = { t = 15, position = pos } },
      }
    end
    local fifo = require("skinny.models").resolve("fifo")
    assert.is_true(check.linearizable(h(1), { model = fifo }))
    assert.is_false(check.linearizable(h(2), { model = fifo }))
  end)
end)

describe("fair locks under faults #sim", function()
  it("has no violation over 30 seeds with faults and failover", function()
    for seed = 1, 30 do
      local lab = workload.run{ seed = seed, lock = "fifo" }
      local rep = lab:check()
      assert(rep.ok, ("seed %d:\n%s"):format(seed, check.format(rep)))
      lab:close()
    end
  end)

  it("catches the LIFO variant within 10 seeds", function()
    local caught
    for seed = 1, 10 do
      local lab = workload.run{ seed = seed, lock = LIFO }
      if not lab:check().ok then caught = seed end
      lab:close()
      if caught then break end
    end
    assert.is_not_nil(caught)
  end)
end)
