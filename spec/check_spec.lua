-- Specs for skinny.check, the safety checkers over a client history.
-- Every checker is shown both passing a good history and failing a bad one: the checkers
-- are only believed because they fail when they should.

local check = require "skinny.check"

-- rows: { client, op, holder, invoke, complete, status, token=, by=, ttl=, lock= }
local function history(rows, lock)
  local h = {}
  for i, r in ipairs(rows) do
    h[i] = {
      id = i, client = r[1], op = r[2], holder = r[3], invoke = r[4], complete = r[5], status = r[6],
      lock = r.lock or lock or "printer", token = r.token, by = r.by, ttl = r.ttl,
    }
  end
  return h
end

local function copy(h)
  local out = {}
  for i, op in ipairs(h) do
    local o = {}
    for k, v in pairs(op) do o[k] = v end
    out[i] = o
  end
  return out
end

-- A correct lock simulated with random latencies: each client runs one op at a time; each
-- op takes effect at a point inside [invoke, complete]; results come from applying the ops
-- in the order of those points. Some ops time out (no complete); half of those took effect.
local function generate(n, nlocks, nclients, seed, p_timeout)
  math.randomseed(seed)
  local locks = { "printer", "scanner", "door", "vault" }
  local ops, clock, fresh = {}, {}, {}
  for c = 1, nclients do clock[c] = math.random(0, 10) end
  while #ops < n do
    local c = 1
    for k = 2, nclients do if clock[k] < clock[c] then c = k end end
    local t = clock[c]
    local r = math.random()
    local kind = r < 0.5 and "acquire" or (r < 0.85 and "release" or "renew")
    local op = {
      id = #ops + 1, client = "c" .. c, op = kind, lock = locks[math.random(nlocks)],
      holder = "h" .. c, invoke = t,
    }
    if math.random() < p_timeout then
      op.status = "timeout"
      if math.random() < 0.5 then op.point = t + math.random(1, 80) end -- took effect, maybe late
      clock[c] = t + 50 + math.random(1, 5)
    else
      op.point = t + math.random(0, 20)
      op.complete = op.point + math.random(0, 20)
      clock[c] = op.complete + math.random(1, 5)
    end
    ops[#ops + 1] = op
  end
  local order = {}
  for _, op in ipairs(ops) do if op.point then order[#order + 1] = op end end
  table.sort(order, function(a, b)
    if a.point ~= b.point then return a.point < b.point end
    return a.id < b.id
  end)
  local holder, token, counter = {}, {}, {}
  for _, op in ipairs(order) do
    local l, h, cur = op.lock, op.holder, holder[op.lock]
    local status, tok, by
    if op.op == "acquire" then
      if cur == nil then
        counter[l] = (counter[l] or 100) + math.random(1, 3)
        holder[l], token[l] = h, counter[l]
        status, tok = "granted", counter[l]
        fresh[op.id] = true
      elseif cur == h then
        status, tok = "granted", token[l]
      else
        status, by = "refused", cur
      end
    elseif op.op == "release" then
      if cur == h then holder[l], status = nil, "released" else status = "not_holder" end
    else
      if cur == h then status, tok = "granted", token[l] else status = "not_holder" end
    end
    if op.status ~= "timeout" then op.status, op.token, op.by = status, tok, by end
  end
  for _, op in ipairs(ops) do op.point = nil end
  return ops, fresh
end

describe("skinny.check #unit", function()
  local sequential = history {
    { "c1", "acquire", "beaver", 0, 10, "granted", token = 1 },
    { "c2", "acquire", "giraffe", 20, 30, "refused", by = "beaver" },
    { "c1", "release", "beaver", 40, 50, "released" },
    { "c2", "acquire", "giraffe", 60, 70, "granted", token = 2 },
  }

  describe("a correct sequential history", function()
    it("passes all three checkers", function()
      local ok1, v1 = check.single_holder(sequential)
      assert.is_true(ok1)
      assert.same({}, v1)
      local ok2, info = check.linearizable(sequential)
      assert.is_true(ok2, info.text)
      assert.equal(4, info.ops)
      local ok3, v3 = check.tokens(sequential)
      assert.is_true(ok3)
      assert.same({}, v3)
      local report = check.all(sequential)
      assert.is_true(report.ok)
      local text = check.format(report)
      assert.matches("  PASS  single holder: 0 overlaps over 1 lock", text, 1, true)
      assert.matches("  PASS  linearizable: ", text, 1, true)
      assert.matches("  PASS  fencing tokens: ", text, 1, true)
    end)

    it("fails when the refusal names no one who holds it", function()
      local h = copy(sequential)
      h[2].by = "giraffe"
      assert.is_false((check.linearizable(h)))
    end)
  end)

  describe("a double grant", function()
    local double = history {
      { "c1", "acquire", "beaver", 0, 10, "granted", token = 4353 },
      { "c2", "acquire", "giraffe", 20, 30, "granted", token = 4610 },
      { "c1", "release", "beaver", 60, 70, "released" },
      { "c2", "release", "giraffe", 80, 90, "released" },
    }

    it("fails single_holder, naming the lock, both holders and the time", function()
      local ok, v = check.single_holder(double)
      assert.is_false(ok)
      assert.equal(1, #v)
      assert.equal("printer", v[1].lock)
      assert.equal("beaver", v[1].a.holder)
      assert.equal("giraffe", v[1].b.holder)
      assert.equal(30, v[1].from)
      assert.equal(60, v[1].to)
      assert.equal("lock printer held by beaver (token 4353) and giraffe (token 4610) at once from t=30 to t=60",
        v[1].text)
    end)

    it("fails linearizable, naming the lock and both holders", function()
      local ok, info = check.linearizable(double)
      assert.is_false(ok)
      assert.equal("printer", info.lock)
      assert.equal(double[2], info.op)
      assert.equal(1, info.prefix)
      assert.matches("lock printer", info.text, 1, true)
      assert.matches("giraffe", info.text, 1, true)
      assert.matches("held by beaver", info.text, 1, true)
    end)

    it("shows in check.all and check.format as FAIL", function()
      local report = check.all(double)
      assert.is_false(report.ok)
      local text = check.format(report)
      assert.matches("  FAIL  single holder: lock printer held by beaver", text, 1, true)
      assert.matches("  FAIL  linearizable: lock printer: ", text, 1, true)
      assert.matches("  PASS  fencing tokens: ", text, 1, true)
    end)

    it("is not reported when the first holder released in between", function()
      local h = history {
        { "c1", "acquire", "beaver", 0, 10, "granted", token = 1 },
        { "c1", "release", "beaver", 12, 18, "released" },
        { "c2", "acquire", "giraffe", 20, 30, "granted", token = 2 },
      }
      assert.is_true((check.single_holder(h)))
      assert.is_true((check.linearizable(h)))
    end)

    it("is not reported by single_holder when the grants could have been apart", function()
      -- giraffe's grant overlaps beaver's release: it may have come after it
      local h = history {
        { "c1", "acquire", "beaver", 0, 10, "granted", token = 1 },
        { "c1", "release", "beaver", 20, 40, "released" },
        { "c2", "acquire", "giraffe", 15, 35, "granted", token = 2 },
      }
      assert.is_true((check.single_holder(h)))
      assert.is_true((check.linearizable(h)))
    end)

    it("leaves an unreleased hold open to the end of the history", function()
      local h = history {
        { "c1", "acquire", "beaver", 0, 10, "granted" },
        { "c2", "acquire", "giraffe", 20, 30, "granted" },
      }
      local ok, v = check.single_holder(h)
      assert.is_false(ok)
      assert.is_true(v[1].open)
      assert.equal("lock printer held by beaver and giraffe at once from t=30 to the end of the history (t=30)",
        v[1].text)
    end)
  end)

  it("fails linearizable for a release by a non-holder reported as released", function()
    local h = history {
      { "c1", "acquire", "beaver", 0, 10, "granted", token = 1 },
      { "c2", "release", "giraffe", 20, 30, "released" },
    }
    local ok, info = check.linearizable(h)
    assert.is_false(ok)
    assert.equal(h[2], info.op)
    assert.matches("release by giraffe -> released", info.text, 1, true)
    assert.matches("held by beaver", info.text, 1, true)
    -- the same release answered not_holder is fine
    h[2].status = "not_holder"
    assert.is_true((check.linearizable(h)))
  end)

  describe("concurrent operations", function()
    it("pass when their only valid order interleaves them", function()
      -- giraffe's acquire is invoked first but can only take effect after beaver's release
      local h = history {
        { "c2", "acquire", "giraffe", 0, 100, "granted", token = 2 },
        { "c1", "acquire", "beaver", 10, 20, "granted", token = 1 },
        { "c1", "release", "beaver", 30, 40, "released" },
        { "c3", "acquire", "otter", 5, 95, "refused", by = "giraffe" },
      }
      local ok, info = check.linearizable(h)
      assert.is_true(ok, info.text)
      assert.is_true((check.single_holder(h)))
      assert.is_true((check.tokens(h)))
    end)

    it("fail when real time forbids that order", function()
      local h = history {
        { "c2", "acquire", "giraffe", 0, 25, "granted", token = 2 }, -- answered before the release began
        { "c1", "acquire", "beaver", 10, 20, "granted", token = 1 },
        { "c1", "release", "beaver", 30, 40, "released" },
      }
      local ok, info = check.linearizable(h)
      assert.is_false(ok)
      assert.equal("printer", info.lock)
    end)
  end)

  describe("indefinite operations", function()
    it("pass when a timed-out acquire must have happened", function()
      local h = history {
        { "c1", "acquire", "beaver", 0, nil, "timeout" },
        { "c2", "acquire", "giraffe", 100, 110, "refused", by = "beaver" },
      }
      local ok, info = check.linearizable(h)
      assert.is_true(ok, info.text)
    end)

    it("pass when a timed-out acquire never happened", function()
      local h = history {
        { "c1", "acquire", "beaver", 0, nil, "timeout" },
        { "c2", "acquire", "giraffe", 100, 110, "granted", token = 7 },
        { "c2", "release", "giraffe", 120, 130, "released" },
      }
      local ok, info = check.linearizable(h)
      assert.is_true(ok, info.text)
      assert.is_true((check.single_holder(h)))
    end)

    it("may take effect long after the client gave up, as errors and contended answers too", function()
      local h = history {
        { "c1", "acquire", "beaver", 0, 50, "error" },
        { "c2", "acquire", "giraffe", 100, 110, "granted", token = 7 },
        { "c2", "release", "giraffe", 120, 130, "released" },
        { "c3", "acquire", "otter", 140, 150, "refused", by = "beaver" },
        { "c4", "release", "beaver", 160, 170, "contended" },
        { "c3", "acquire", "otter", 180, 190, "granted", token = 9 },
      }
      local ok, info = check.linearizable(h)
      assert.is_true(ok, info.text)
    end)

    it("fail when no placement of them explains the answers", function()
      -- the refusal needs beaver's acquire to have happened; then nobody released it
      local h = history {
        { "c1", "acquire", "beaver", 0, nil, "timeout" },
        { "c2", "acquire", "giraffe", 100, 110, "refused", by = "beaver" },
        { "c2", "acquire", "giraffe", 120, 130, "granted", token = 8 },
      }
      local ok, info = check.linearizable(h)
      assert.is_false(ok)
      assert.equal(h[3], info.op)
      -- and without the timed-out acquire nobody could have refused giraffe
      local ok2 = check.linearizable(history {
        { "c2", "acquire", "giraffe", 100, 110, "refused", by = "beaver" },
      })
      assert.is_false(ok2)
    end)
  end)

  describe("fencing tokens", function()
    it("fail when they go backwards across two sequential grants", function()
      local h = history {
        { "c1", "acquire", "beaver", 0, 10, "granted", token = 5 },
        { "c1", "release", "beaver", 20, 30, "released" },
        { "c2", "acquire", "giraffe", 40, 50, "granted", token = 3 },
      }
      local ok, v = check.tokens(h)
      assert.is_false(ok)
      assert.equal(1, #v)
      assert.equal("printer", v[1].lock)
      assert.equal(h[1], v[1].a)
      assert.equal(h[3], v[1].b)
      assert.matches("lock printer: fencing token went backwards: giraffe was granted token 3", v[1].text, 1, true)
      assert.matches("after beaver was granted token 5", v[1].text, 1, true)
      h[3].token = 6
      assert.is_true((check.tokens(h)))
    end)

    it("fail when a new grant repeats the token, even to the same holder after a release", function()
      local h = history {
        { "c1", "acquire", "beaver", 0, 10, "granted", token = 5 },
        { "c1", "release", "beaver", 20, 30, "released" },
        { "c1", "acquire", "beaver", 40, 50, "granted", token = 5 },
      }
      local ok, v = check.tokens(h)
      assert.is_false(ok)
      assert.matches("did not increase", v[1].text, 1, true)
      assert.matches("release in between", v[1].text, 1, true)
    end)

    it("allow a re-entrant grant to keep its token, and concurrent grants in any order", function()
      local h = history {
        { "c1", "acquire", "beaver", 0, 10, "granted", token = 5 },
        { "c1", "acquire", "beaver", 20, 30, "granted", token = 5 },
        { "c1", "release", "beaver", 40, 50, "released" },
        { "c2", "acquire", "giraffe", 60, 90, "granted", token = 9 },
        { "c2", "release", "giraffe", 95, 100, "released" },
        { "c3", "acquire", "otter", 70, 120, "granted", token = 8 }, -- may have come first
      }
      assert.is_true((check.tokens(h)))
    end)

    it("are checked per lock", function()
      local h = history {
        { "c1", "acquire", "beaver", 0, 10, "granted", token = 5, lock = "printer" },
        { "c2", "acquire", "giraffe", 20, 30, "granted", token = 3, lock = "scanner" },
      }
      assert.is_true((check.tokens(h)))
      assert.is_true((check.single_holder(h)))
      assert.is_true((check.linearizable(h)))
    end)
  end)

  it("fails linearizable for a refusal naming a holder who never could hold it", function()
    local h = history {
      { "c1", "acquire", "beaver", 0, 10, "granted", token = 1 },
      { "c2", "acquire", "giraffe", 20, 30, "refused", by = "otter" },
    }
    local ok, info = check.linearizable(h)
    assert.is_false(ok)
    assert.equal(h[2], info.op)
    assert.matches("refused, held by otter", info.text, 1, true)
    h[2].by = "beaver"
    assert.is_true((check.linearizable(h)))
    h[2].by = nil
    assert.is_true((check.linearizable(h)))
  end)

  describe("the lease model", function()
    local h = history {
      { "c1", "acquire", "beaver", 0, 10, "granted", token = 1, ttl = 100 },
      { "c2", "acquire", "giraffe", 150, 160, "granted", token = 2, ttl = 100 },
      { "c1", "renew", "beaver", 170, 180, "not_holder" },
    }

    it("lets another holder in once the lease may have run out", function()
      assert.is_true((check.linearizable(h, { model = "lease" })))
      assert.is_true((check.single_holder(h, { model = "lease" })))
      -- the plain lock model has no expiry
      assert.is_false((check.linearizable(h)))
      assert.is_false((check.single_holder(h)))
    end)

    it("does not let another holder in while the lease certainly runs", function()
      local early = copy(h)
      early[2].invoke, early[2].complete = 50, 60
      local ok, info = check.linearizable(early, { model = "lease" })
      assert.is_false(ok)
      assert.matches("lease runs until at least t=100", info.text, 1, true)
      local ok2, v = check.single_holder(early, { model = "lease" })
      assert.is_false(ok2)
      assert.equal(60, v[1].from)
      assert.equal(100, v[1].to)
    end)

    it("takes opts.ttl for grants that carry none", function()
      local plain = copy(h)
      for _, op in ipairs(plain) do op.ttl = nil end
      assert.is_false((check.linearizable(plain, { model = "lease" })))
      assert.is_true((check.linearizable(plain, { model = "lease", ttl = 100 })))
    end)
  end)

  describe("a generated history of 2000 ops over 3 locks and 6 clients", function()
    local h, fresh = generate(2000, 3, 6, 20240611, 0.02)

    it("passes linearizable quickly", function()
      local t0 = os.clock()
      local ok, info = check.linearizable(h)
      local cpu = os.clock() - t0
      assert.is_true(ok, info.text)
      assert.equal(2000, info.ops)
      assert.equal(3, info.locks)
      assert.is_true(info.steps < 10 * #h, "search steps: " .. info.steps)
      assert.is_true(cpu < 2, "took " .. cpu .. " s of CPU")
      local report = check.all(h)
      assert.is_true(report.ok, check.format(report))
    end)

    it("fails when one grant's holder is changed", function()
      -- Timed-out ops may be placed anywhere after their invoke, so "granted to X, then X's
      -- lost release, then the old holder's lost acquire" would be a valid order. Pick a
      -- grant whose holder has no timed-out acquire on that lock, and a new holder X with
      -- no timed-out release there.
      local lost = {}
      for _, o in ipairs(h) do
        if o.status == "timeout" then lost[o.lock .. " " .. o.op .. " " .. o.holder] = true end
      end
      local target
      for i = 1000, #h do
        local op = h[i]
        if fresh[op.id] and op.complete and not lost[op.lock .. " acquire " .. op.holder] then
          target = i
          break
        end
      end
      assert.is_not_nil(target)
      local bad = copy(h)
      local victim = bad[target]
      for c = 1, 6 do
        local x = "h" .. c
        if x ~= victim.holder and not lost[victim.lock .. " release " .. x] then
          victim.holder = x
          break
        end
      end
      assert.are_not.equal(h[target].holder, victim.holder)
      local t0 = os.clock()
      local ok, info = check.linearizable(bad)
      local cpu = os.clock() - t0
      assert.is_false(ok)
      assert.equal(victim.lock, info.lock)
      assert.matches("lock " .. victim.lock, info.text, 1, true)
      assert.is_true(cpu < 2, "took " .. cpu .. " s of CPU")
    end)
  end)

  it("returns unknown rather than hanging when the budget runs out", function()
    local h = generate(200, 1, 6, 7, 0)
    local ok, info = check.linearizable(h, { budget = 10 })
    assert.is_nil(ok)
    assert.is_true(info.unknown)
    assert.matches("gave up after", info.text, 1, true)
    local report = check.all(h, { budget = 10 })
    assert.is_false(report.ok)
    assert.is_true(report.unknown)
    assert.matches("  ????  linearizable: ", check.format(report), 1, true)
    assert.is_true((check.linearizable(h)))
  end)

  it("counts the cost of a run", function()
    local h = history {
      { "c1", "acquire", "beaver", 0, 10, "granted", token = 1 },
      { "c2", "acquire", "giraffe", 5, 25, "refused", by = "beaver" },
      { "c1", "release", "beaver", 30, 60, "released" },
      { "c2", "acquire", "giraffe", 40, nil, "timeout" },
      { "c3", "release", "otter", 70, 80, "not_holder" },
    }
    local c = check.cost(h)
    assert.same({
      ops = 5, completed = 4, granted = 1, refused = 1, released = 1, not_holder = 1, indefinite = 1,
      stale = 0, mean_latency_ms = 17.5, p99_latency_ms = 30, queued = 0,
    }, c)
  end)

  -- stale (spec/PROTOCOL.md 8): settled, effect unknown. Any copy of the request took
  -- effect before the answer, or none did: the op's window closes at its complete.
  describe("stale", function()
    it("is indefinite: a stale release may have freed the lock, or not", function()
      local freed = history {
        { "c1", "acquire", "heron", 0, 10, "granted", token = 1 },
        { "c1", "release", "heron", 20, 30, "stale" },
        { "c2", "acquire", "beaver", 40, 50, "granted", token = 2 },
      }
      assert.is_true(check.all(freed).ok)
      local kept = history {
        { "c1", "acquire", "heron", 0, 10, "granted", token = 1 },
        { "c1", "release", "heron", 20, 30, "stale" },
        { "c2", "acquire", "beaver", 40, 50, "refused", by = "heron" },
      }
      assert.is_true(check.all(kept).ok)
      local c = check.cost(freed)
      assert.equal(1, c.indefinite)
      assert.equal(1, c.stale)
    end)

    -- heron re-acquired after its old release was answered stale: the old release cannot
    -- free the new grant (the failover bug), so beaver's grant is a second holder.
    local BAD = {
      { "c1", "acquire", "heron", 0, 10, "granted", token = 1 },
      { "c1", "release", "heron", 20, 30, "stale" },
      { "c1", "acquire", "heron", 32, 35, "granted", token = 3 },
      { "c2", "acquire", "beaver", 40, 50, "granted", token = 4 },
    }

    it("closes its window at its complete: the checker fails a known-bad history", function()
      local rep = check.all(history(BAD))
      assert.is_false(rep.ok)
      assert.is_false(rep.checks[1].ok)
      assert.matches("held by heron %(token 3%) and beaver %(token 4%)", rep.checks[1].text)
      assert.is_false(rep.checks[2].ok)
      assert.matches("op 4", rep.checks[2].text)
    end)

    it("the same history with the release's window left open would pass (why the window matters)", function()
      local open = history(BAD)
      open[2].status = "unavailable" -- indefinite, no bound: may take effect after t=35
      assert.is_true(check.all(open).ok)
    end)

    it("agrees with an exhaustive search on 1500 small random histories with stale ops", function()
      -- every order of the ops that respects real time, each indefinite or stale op
      -- taking effect or not; stale and definite ops are bound by their complete
      local DEF = { granted = true, refused = true, released = true, not_holder = true }
      local function outcome(h0, op)
        if op.op == "acquire" then
          if h0 == nil or h0 == op.holder then return "granted", op.holder end
          return "refused", h0
        end
        if h0 == op.holder then return "released", nil end
        return "not_holder", h0
      end
      local function exhaustive(h)
        local used = {}
        local function may_go(i)
          for j = 1, #h do
            local bound = h[j].complete and (DEF[h[j].status] or h[j].status == "stale")
            if not used[j] and j ~= i and bound and h[j].complete < h[i].invoke then return false end
          end
          return true
        end
        local function go(state)
          local done = true
          for i = 1, #h do if not used[i] and DEF[h[i].status] then done = false end end
          if done then return true end
          for i = 1, #h do
            if not used[i] and may_go(i) then
              used[i] = true
              local r, nh = outcome(state, h[i])
              local found
              if DEF[h[i].status] then
                found = r == h[i].status and (r ~= "refused" or h[i].by == nil or h[i].by == state) and go(nh)
              else
                found = go(nh) or go(state)
              end
              used[i] = nil
              if found then return true end
            end
          end
          return false
        end
        return go(nil)
      end
      local rng = 12345
      local function rand(n) rng = (rng * 1103515245 + 12345) % 2147483648; return rng % n + 1 end
      local ACQ = { "granted", "refused", "stale", "unavailable", "timeout" }
      local REL = { "released", "not_holder", "stale", "unavailable" }
      local H = { "a", "b", "c" }
      for trial = 1, 1500 do
        local rows = {}
        for i = 1, rand(5) + 1 do
          local op = rand(5) <= 3 and "acquire" or "release"
          local st = op == "acquire" and ACQ[rand(#ACQ)] or REL[rand(#REL)]
          local inv = rand(31) - 1
          rows[i] = { "c" .. i, op, H[rand(3)], inv, st ~= "timeout" and inv + rand(16) - 1 or nil, st,
                      by = st == "refused" and rand(2) == 1 and H[rand(3)] or nil }
        end
        local h = history(rows)
        assert.equal(exhaustive(h), check.linearizable(h) == true, "trial " .. trial)
      end
    end)

    it("is placed with no effect when that is what fits", function()
      -- the stale release did nothing: heron still holds at 40
      local h = history {
        { "c1", "acquire", "heron", 0, 10, "granted", token = 1 },
        { "c1", "release", "heron", 20, 30, "stale" },
        { "c2", "acquire", "beaver", 40, 50, "refused", by = "heron" },
        { "c1", "release", "heron", 60, 70, "released" },
      }
      assert.is_true(check.all(h).ok)
      -- and a stale acquire invoked after the lock was freed cannot take it after its answer
      local h2 = history {
        { "c1", "acquire", "heron", 0, 10, "stale" },
        { "c2", "acquire", "beaver", 20, 30, "granted", token = 2 },
      }
      assert.is_true(check.all(h2).ok)
      local h3 = history {
        { "c1", "acquire", "heron", 0, 10, "stale" },
        { "c2", "acquire", "beaver", 20, 30, "refused", by = "heron" },
      }
      assert.is_true(check.all(h3).ok) -- it may have taken effect before t=10
      local h4 = history {
        { "c2", "acquire", "beaver", 0, 5, "granted", token = 1 },
        { "c2", "release", "beaver", 6, 8, "released" },
        { "c1", "acquire", "heron", 10, 20, "stale" },
        { "c3", "acquire", "otter", 30, 40, "refused", by = "heron" },
        { "c3", "acquire", "otter", 50, 60, "granted", token = 2 },
      }
      -- heron's stale acquire, if it took effect, holds the lock from before t=20 on, so
      -- otter cannot be granted at 50..60: not linearizable (and without the bound it
      -- would still fail: refused by heron needs heron to hold, then granted needs free)
      assert.is_false(check.all(h4).ok)
    end)
  end)

  it("describes operations for people", function()
    local h = history { { "c2", "acquire", "giraffe", 120, 135, "granted", token = 4610 } }
    h[1].id = 17
    assert.equal("op 17 (client c2: acquire by giraffe -> granted token 4610, t=120..135)", check.describe(h[1]))
    local t = history { { "c1", "acquire", "beaver", 3, nil, "timeout" } }
    assert.equal("op 1 (client c1: acquire by beaver -> timeout (indefinite), t=3..?)", check.describe(t[1]))
  end)

  it("rejects malformed operations, naming which", function()
    local h = history { { "c1", "grab", "beaver", 0, 10, "granted" } }
    assert.has_error(function() check.linearizable(h) end,
      "skinny.check: history[1] (id 1): field 'op' must be \"acquire\", \"release\" or \"renew\", got grab")
    local h2 = history { { "c1", "acquire", "beaver", 10, 5, "granted" } }
    assert.has_error(function() check.all(h2) end)
    assert.has_error(function() check.linearizable({}, { model = "queue" }) end)
  end)
end)
