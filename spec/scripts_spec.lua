-- Specs for the strategy scripts in scripts/, as pure functions: no cluster,
-- no C core. Each hook is called with a hand-made ctx, the way the core calls
-- it (spec/HOOKS.md has the arguments). Run with
--   busted --lua=lua5.4 spec/scripts_spec.lua
-- from the repository root (.busted puts scripts/ on the Lua path).

-- The ctx the core passes every hook (see push_ctx in bindings/lua_strategy.c).
local function ctx_for(size, o)
  o = o or {}
  return {
    node_id = o.node_id or 1, node = o.node or "catbus", size = size,
    majority = size // 2 + 1, now = o.now or 0, lock = o.lock or "printer",
  }
end

-- A promise as pick_value sees it: {from, round, node, state}.
local function promise(from, round, node, state)
  return { from = from, round = round, node = node, state = state }
end

describe("proposer scripts #unit", function()
  local paxos = require "proposers.paxos"
  local wait_all = require "proposers.wait_all"
  local classic = require "proposers.classic"

  describe("paxos.enough", function()
    it("proceeds as soon as a majority said yes, for clusters of 1 to 7", function()
      for size = 1, 7 do
        local ctx = ctx_for(size)
        for phase = 1, 2 do
          -- early stopping: the others have not answered yet
          assert.are.equal("proceed", paxos.enough(ctx, phase, ctx.majority, 0, false),
                           "size " .. size)
          -- nays from the minority do not matter once a majority said yes
          assert.are.equal("proceed",
                           paxos.enough(ctx, phase, ctx.majority, size - ctx.majority, false))
          if ctx.majority > 1 then
            assert.are.equal("wait", paxos.enough(ctx, phase, ctx.majority - 1, 0, false),
                             "size " .. size)
          end
        end
      end
    end)

    it("fails exactly when a majority can no longer say yes", function()
      for size = 1, 7 do
        local ctx = ctx_for(size)
        for yeas = 0, size do
          for nays = 0, size - yeas do
            local got = paxos.enough(ctx, 1, yeas, nays, false)
            local best_possible = size - nays -- every silent instance says yes
            local want = yeas >= ctx.majority and "proceed"
              or (best_possible < ctx.majority and "fail" or "wait")
            assert.are.equal(want, got,
                             ("size %d, %d yeas, %d nays"):format(size, yeas, nays))
          end
        end
      end
    end)

    it("fails on a timeout unless a majority already said yes", function()
      for size = 1, 7 do
        local ctx = ctx_for(size)
        for yeas = 0, ctx.majority - 1 do
          assert.are.equal("fail", paxos.enough(ctx, 2, yeas, 0, true))
        end
        assert.are.equal("proceed", paxos.enough(ctx, 2, ctx.majority, 0, true))
      end
    end)
  end)

  describe("paxos.pick_value", function()
    local ctx = ctx_for(5)

    it("carries forward the value accepted at the highest ballot", function()
      local ps = {
        promise(1, 3, 1, { holder = "beaver" }),
        promise(2, 7, 2, { holder = "giraffe" }),
        promise(3, 5, 4, { holder = "otter" }),
      }
      assert.are.equal(2, paxos.pick_value(ctx, ps))
    end)

    it("returns nil when no promise carries an accepted value", function()
      assert.is_nil(paxos.pick_value(ctx, {}))
      assert.is_nil(paxos.pick_value(ctx, { promise(1, 0, 0), promise(2, 0, 0), promise(3, 0, 0) }))
    end)

    it("ignores promises that accepted nothing", function()
      local ps = { promise(1, 0, 0), promise(2, 0, 0), promise(3, 2, 3, { holder = "beaver" }) }
      assert.are.equal(3, paxos.pick_value(ctx, ps))
    end)

    it("breaks a tie on the round by the ballot's node", function()
      local ps = {
        promise(1, 4, 2, { holder = "beaver" }),
        promise(2, 4, 5, { holder = "giraffe" }),
        promise(3, 4, 3, { holder = "otter" }),
      }
      assert.are.equal(2, paxos.pick_value(ctx, ps))
    end)
  end)

  describe("paxos.next_ballot", function()
    it("picks a round above everything seen", function()
      local ctx = ctx_for(5)
      assert.are.equal(1, paxos.next_ballot(ctx, { attempt = 1, last = 0, promised = 0, highest = 0, increment = 1 }))
      assert.are.equal(10, paxos.next_ballot(ctx, { attempt = 2, last = 3, promised = 9, highest = 4, increment = 1 }))
      assert.are.equal(13, paxos.next_ballot(ctx, { attempt = 3, last = 3, promised = 9, highest = 12, increment = 1 }))
    end)

    it("leaves the node part to the core (no second result)", function()
      local r, node = paxos.next_ballot(ctx_for(5), { attempt = 1, last = 0, promised = 0, highest = 0, increment = 2 })
      assert.are.equal(1, r)
      assert.is_nil(node)
    end)
  end)

  describe("wait_all", function()
    it("waits for every instance even after a majority said yes", function()
      for size = 1, 7 do
        local ctx = ctx_for(size)
        for yeas = 0, size - 1 do
          for nays = 0, size - 1 - yeas do
            assert.are.equal("wait", wait_all.enough(ctx, 1, yeas, nays, false),
                             ("size %d, %d yeas, %d nays"):format(size, yeas, nays))
          end
        end
      end
    end)

    it("decides once everyone answered", function()
      for size = 1, 7 do
        local ctx = ctx_for(size)
        for yeas = 0, size do
          local want = yeas >= ctx.majority and "proceed" or "fail"
          assert.are.equal(want, wait_all.enough(ctx, 2, yeas, size - yeas, false))
        end
      end
    end)

    it("decides with what it has when the phase times out", function()
      local ctx = ctx_for(5)
      assert.are.equal("proceed", wait_all.enough(ctx, 1, 3, 0, true))
      assert.are.equal("fail", wait_all.enough(ctx, 1, 2, 0, true))
    end)

    it("shares next_ballot and pick_value with paxos", function()
      assert.are.equal(paxos.next_ballot, wait_all.next_ballot)
      assert.are.equal(paxos.pick_value, wait_all.pick_value)
    end)
  end)

  describe("thrifty", function()
    local thrifty = require "proposers.thrifty"
    local fast = require "proposers.fast"
    it("is fast.lua that asks a majority first and the rest after a few ms", function()
      local ms = thrifty.thrifty(ctx_for(5))
      assert.is_number(ms)
      assert.is_true(ms >= 1 and ms < 500, "fill-in after " .. ms .. " ms")
      assert.are.equal(fast.skip_phase1, thrifty.skip_phase1)
      assert.are.equal(fast.next_ballot, thrifty.next_ballot)
      assert.is_nil(fast.thrifty)
    end)
  end)

  describe("fast", function()
    local fast = require "proposers.fast"
    it("asks to skip phase 1 and is paxos otherwise", function()
      assert.is_true(fast.skip_phase1(ctx_for(5)))
      assert.are.equal(paxos.next_ballot, fast.next_ballot)
      assert.are.equal(paxos.enough, fast.enough)
      assert.are.equal(paxos.pick_value, fast.pick_value)
    end)
  end)

  describe("classic (unsafe on purpose)", function()
    it("asks for the classic flaws", function()
      assert.is_true(classic.classic.answer_local)
      assert.is_true(classic.classic.no_raise)
      assert.is_true(classic.classic.no_persist)
    end)

    it("returns node 0, so the ballot is a bare number", function()
      local round, node = classic.next_ballot(ctx_for(5, { node_id = 3 }),
        { attempt = 1, last = 0, promised = 4, highest = 2, increment = 3 })
      assert.are.equal(7, round)
      assert.are.equal(0, node)
    end)

    it("gives two instances with the same increment the same ballot", function()
      local info = { attempt = 1, last = 0, promised = 5, highest = 5, increment = 1 }
      local r1, n1 = classic.next_ballot(ctx_for(5, { node_id = 1, node = "catbus" }), info)
      local r2, n2 = classic.next_ballot(ctx_for(5, { node_id = 2, node = "kanta" }), info)
      assert.are.equal(r1, r2)
      assert.are.equal(n1, n2) -- the same (round, node): a collision
      -- different increments keep them apart
      local r3 = classic.next_ballot(ctx_for(5, { node_id = 2 }),
        { attempt = 1, last = 0, promised = 5, highest = 5, increment = 2 })
      assert.are_not.equal(r1, r3)
    end)

    it("still counts a majority in enough", function()
      local ctx = ctx_for(5)
      assert.are.equal("proceed", classic.enough(ctx, 1, 3, 0, false))
      assert.are.equal("wait", classic.enough(ctx, 1, 2, 2, false))
      assert.are.equal("fail", classic.enough(ctx, 1, 0, 3, false))
      assert.are.equal("fail", classic.enough(ctx, 1, 2, 0, true))
    end)
  end)
end)

describe("backoff scripts #unit", function()
  -- math.random stubbed inside insulate: u is what math.random() returns,
  -- pick is "low" or "high" for math.random(lo, hi).
  local function with_random(u, pick, fn)
    local real = math
    _G.math = setmetatable({
      random = function(lo, hi)
        if lo == nil then return u end
        if hi == nil then lo, hi = 1, lo end
        return pick == "high" and hi or lo
      end,
    }, { __index = real })
    local ok, err = pcall(fn)
    _G.math = real
    assert(ok, err)
  end

  -- delays for attempts 2.. until the script gives up (the core asks with
  -- the number of the attempt about to start: the first retry is attempt 2)
  local function sequence(script, why)
    local ctx = ctx_for(5)
    local out = {}
    for attempt = 2, 100 do
      local d = script.delay(ctx, attempt, why or "nay")
      if d == nil then return out, attempt end
      out[#out + 1] = d
    end
    return out, nil
  end

  insulate("exponential_jitter", function()
    local ej = require "backoff.exponential_jitter"

    it("doubles from 5-10 ms up to a 640 ms cap; gives up at attempt 9", function()
      with_random(0, "low", function()
        local seq, gave_up = sequence(ej)
        assert.are.same({ 5, 10, 20, 40, 80, 160, 320 }, seq)
        assert.are.equal(9, gave_up)
      end)
      with_random(0.999999, "high", function()
        local seq, gave_up = sequence(ej, "timeout")
        assert.are.same({ 10, 20, 40, 80, 160, 320, 640 }, seq)
        assert.are.equal(9, gave_up)
      end)
    end)

    it("returns whole milliseconds between base/2 and base", function()
      with_random(0.5, "low", function()
        for i, d in ipairs((sequence(ej))) do
          local base = math.min(10 * 2 ^ (i - 1), 640)
          assert.are.equal("integer", math.type(d))
          assert.is_true(d >= base / 2 and d <= base)
        end
      end)
    end)
  end)

  insulate("none", function()
    local none = require "backoff.none"
    it("retries at once, 8 attempts in all", function()
      local seq, gave_up = sequence(none)
      assert.are.same({ 0, 0, 0, 0, 0, 0, 0 }, seq)
      assert.are.equal(9, gave_up)
    end)
  end)

  insulate("fixed", function()
    local fixed = require "backoff.fixed"
    it("waits 20 ms each time, 8 attempts in all", function()
      local seq, gave_up = sequence(fixed)
      assert.are.same({ 20, 20, 20, 20, 20, 20, 20 }, seq)
      assert.are.equal(9, gave_up)
    end)
  end)

  insulate("classic", function()
    local cb = require "backoff.classic"
    it("waits 2 ms per retry plus up to 1 ms, three retries then gives up", function()
      with_random(0, "low", function()
        local seq, gave_up = sequence(cb)
        assert.are.same({ 2, 4, 6 }, seq)
        assert.are.equal(5, gave_up)
      end)
      with_random(0, "high", function()
        assert.are.same({ 3, 5, 7 }, (sequence(cb)))
      end)
    end)
  end)

  it("leaves the real math.random alone", function()
    assert.are.equal("function", type(math.random))
    local x = math.random()
    assert.is_true(x >= 0 and x < 1)
  end)
end)

describe("lock scripts #unit", function()
  local advisory = require "locks.advisory"
  local lease = require "locks.lease"
  local classic = require "locks.classic"

  local function req(op, holder, o)
    o = o or {}
    return { op = op, holder = holder, lock = "printer", token = o.token or 257, ttl = o.ttl }
  end

  describe("advisory", function()
    local ctx = ctx_for(5)

    it("grants a free lock with the ballot's fencing token", function()
      local s, r = advisory.apply(nil, req("acquire", "beaver", { token = 257 }), ctx)
      assert.are.same({ holder = "beaver", token = 257 }, s)
      assert.are.equal("granted", r.status)
      assert.are.equal("beaver", r.holder)
      assert.are.equal(257, r.token)
    end)

    it("refuses another holder and says who holds it", function()
      local held = { holder = "beaver", token = 257 }
      local s, r = advisory.apply(held, req("acquire", "giraffe", { token = 513 }), ctx)
      assert.are.same(held, s)
      assert.are.equal("refused", r.status)
      assert.are.equal("beaver", r.holder)
      assert.is_nil(r.token)
    end)

    it("grants the holder again, keeping the first token", function()
      local held = { holder = "beaver", token = 257 }
      local s, r = advisory.apply(held, req("acquire", "beaver", { token = 770 }), ctx)
      assert.are.same(held, s)
      assert.are.equal("granted", r.status)
      assert.are.equal(257, r.token)
      assert.are.equal("already held by you", r.text)
    end)

    it("frees the lock on a release by the holder", function()
      local s, r = advisory.apply({ holder = "beaver", token = 257 }, req("release", "beaver"), ctx)
      assert.is_nil(s)
      assert.are.equal("released", r.status)
      assert.are.equal("beaver", r.holder)
    end)

    it("answers not_holder to anyone else's release or renew", function()
      local held = { holder = "beaver", token = 257 }
      for _, op in ipairs{ "release", "renew" } do
        local s, r = advisory.apply(held, req(op, "giraffe"), ctx)
        assert.are.same(held, s)
        assert.are.equal("not_holder", r.status)
        assert.are.equal("beaver", r.holder)
      end
      local s, r = advisory.apply(nil, req("release", "giraffe"), ctx)
      assert.is_nil(s)
      assert.are.equal("not_holder", r.status)
      assert.is_nil(r.holder)
    end)

    it("renews for the holder with the same token", function()
      local held = { holder = "beaver", token = 257 }
      local s, r = advisory.apply(held, req("renew", "beaver", { token = 999 }), ctx)
      assert.are.same(held, s)
      assert.are.equal("granted", r.status)
      assert.are.equal(257, r.token)
    end)
  end)

  describe("lease", function()
    it("grants until now + ttl", function()
      local s, r = lease.apply(nil, req("acquire", "beaver", { ttl = 500 }), ctx_for(5, { now = 1000 }))
      assert.are.same({ holder = "beaver", token = 257, expires = 1500 }, s)
      assert.are.equal("granted", r.status)
      assert.are.equal(257, r.token)
    end)

    it("lasts 10 s when the request names no ttl", function()
      local s = lease.apply(nil, req("acquire", "beaver"), ctx_for(5, { now = 40 }))
      assert.are.equal(10040, s.expires)
    end)

    it("refuses others until it expires, saying how long is left", function()
      local held = { holder = "beaver", token = 257, expires = 1500 }
      local s, r = lease.apply(held, req("acquire", "giraffe", { token = 513 }), ctx_for(5, { now = 1200 }))
      assert.are.same(held, s)
      assert.are.equal("refused", r.status)
      assert.are.equal("beaver", r.holder)
      assert.are.equal("lease ends in 300 ms", r.text)
      local _, r2 = lease.apply(held, req("acquire", "giraffe"), ctx_for(5, { now = 1499 }))
      assert.are.equal("lease ends in 1 ms", r2.text)
    end)

    it("can be taken by someone else from the moment it expires", function()
      local held = { holder = "beaver", token = 257, expires = 1500 }
      local s, r = lease.apply(held, req("acquire", "giraffe", { token = 513, ttl = 100 }),
                               ctx_for(5, { now = 1500 }))
      assert.are.same({ holder = "giraffe", token = 513, expires = 1600 }, s)
      assert.are.equal("granted", r.status)
      assert.are.equal(513, r.token)
    end)

    it("extends on a renew by the holder, keeping the token", function()
      local held = { holder = "beaver", token = 257, expires = 1500 }
      local s, r = lease.apply(held, req("renew", "beaver", { token = 999, ttl = 500 }),
                               ctx_for(5, { now = 1400 }))
      assert.are.same({ holder = "beaver", token = 257, expires = 1900 }, s)
      assert.are.equal("granted", r.status)
      assert.are.equal(257, r.token)
      assert.are.equal("renewed", r.text)
    end)

    it("cannot be renewed or released once it lapsed", function()
      local held = { holder = "beaver", token = 257, expires = 1500 }
      for _, op in ipairs{ "renew", "release" } do
        local s, r = lease.apply(held, req(op, "beaver"), ctx_for(5, { now = 1600 }))
        assert.is_nil(s)
        assert.are.equal("not_holder", r.status)
      end
    end)

    it("is freed by its holder's release, not by others", function()
      local held = { holder = "beaver", token = 257, expires = 1500 }
      local s, r = lease.apply(held, req("release", "giraffe"), ctx_for(5, { now = 1000 }))
      assert.are.same(held, s)
      assert.are.equal("not_holder", r.status)
      s, r = lease.apply(held, req("release", "beaver"), ctx_for(5, { now = 1000 }))
      assert.is_nil(s)
      assert.are.equal("released", r.status)
    end)
  end)

  describe("classic (unsafe on purpose)", function()
    local ctx = ctx_for(5)

    it("lets anyone release the lock", function()
      local s, r = classic.apply({ holder = "beaver" }, req("release", "giraffe"), ctx)
      assert.is_nil(s)
      assert.are.equal("released", r.status)
      assert.are.equal("beaver", r.holder)
    end)

    it("grants without a fencing token", function()
      local s, r = classic.apply(nil, req("acquire", "beaver"), ctx)
      assert.are.same({ holder = "beaver" }, s)
      assert.are.equal("granted", r.status)
      assert.is_nil(r.token)
    end)

    it("still refuses a second holder", function()
      local s, r = classic.apply({ holder = "beaver" }, req("acquire", "giraffe"), ctx)
      assert.are.same({ holder = "beaver" }, s)
      assert.are.equal("refused", r.status)
    end)
  end)
end)
