-- Specs for the model a lock script declares (spec/HOOKS.md, "The model") and for the
-- checkers holding a history to it (issue 11): the shipped scripts' models, the lease
-- re-acquire, the holder a not_holder names, a student's own model (tag #sim for labs).

local skinny = require "skinny"
local check = require "skinny.check"
local models = require "skinny.models"

-- rows: { client, op, holder, invoke, complete, status, token=, by=, ttl= }
local function history(rows)
  local h = {}
  for i, r in ipairs(rows) do
    h[i] = { id = i, client = r[1], op = r[2], holder = r[3], invoke = r[4], complete = r[5],
             status = r[6], lock = "printer", token = r.token, by = r.by, ttl = r.ttl,
             fence = r.fence }
  end
  return h
end

-- a fresh path ending as asked (os.tmpname makes its file: remove it)
local function tmp_path(suffix)
  local base = os.tmpname()
  os.remove(base)
  return base .. suffix
end

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

-- A two-permit semaphore as a student would write it from HOOKS.md: the script and its
-- model. `permits` in apply may differ from the model's (a broken script).
local function semaphore_script(permits)
  return ([[
local M = {}
local PERMITS = %d

M.model = {
  name = "semaphore", max_holders = 2, params = { permits = 2 },
  init = function() return {} end,
  step = function(s, op, p)
    local n = 0
    for _ in pairs(s) do n = n + 1 end
    if op.op == "acquire" then
      if s[op.holder] then return s, { status = "granted", holder = op.holder } end
      if n < p.permits then
        s[op.holder] = true
        return s, { status = "granted", holder = op.holder }
      end
      return s, { status = "refused" }
    end
    if not s[op.holder] then return s, { status = "not_holder" } end
    if op.op == "release" then
      s[op.holder] = nil
      return s, { status = "released", holder = op.holder }
    end
    return s, { status = "granted", holder = op.holder }
  end,
}

function M.apply(state, req)
  local hs = state and state.holders or {}
  local mine
  for i = 1, #hs do if hs[i] == req.holder then mine = i end end
  if req.op == "acquire" then
    if mine then return state, { status = "granted", holder = req.holder } end
    if #hs < PERMITS then
      local n = {}
      for i = 1, #hs do n[i] = hs[i] end
      n[#n + 1] = req.holder
      return { holders = n }, { status = "granted", holder = req.holder }
    end
    return state, { status = "refused" }
  end
  if not mine then return state, { status = "not_holder" } end
  if req.op == "release" then
    local n = {}
    for i = 1, #hs do if i ~= mine then n[#n + 1] = hs[i] end end
    if #n == 0 then return nil, { status = "released", holder = req.holder } end
    return { holders = n }, { status = "released", holder = req.holder }
  end
  return state, { status = "granted", holder = req.holder }
end

return M
]]):format(permits)
end

describe("lock models", function()
  describe("the shipped scripts", function()
    it("carry their models, with the parameters the checker needs", function()
      local adv = models.resolve("advisory")
      assert.equal("lock", adv.engine)
      assert.equal(1, adv.max_holders)
      local lease = models.resolve("lease")
      assert.equal("lease", lease.engine)
      assert.equal(10000, lease.params.ttl)
      assert.equal(0, lease.params.drift)
      assert.equal("lock", models.resolve("classic").engine)
      -- "lock" names the advisory script's model; a path works as a name does
      assert.equal("lock", models.resolve("lock").engine)
      assert.equal("lease", models.resolve("scripts/locks/lease.lua").engine)
    end)

    it("checks a script without a model as an advisory lock, saying so; refuses malformed models",
       function()
      local path = os.tmpname()
      write(path, "return { apply = function(s) return s, { status = 'granted' } end }")
      local m = models.resolve(path)
      assert.is_true(m.defaulted)
      assert.equal("lock", m.engine)
      assert.equal(1, m.max_holders)
      assert.matches(path .. " declares no model", m.name, 1, true)
      write(path, "return 42")
      local ok, err = pcall(models.resolve, path)
      assert.is_false(ok)
      assert.matches(path, err, 1, true)
      assert.matches("returned a number", err, 1, true)
      os.remove(path)
      assert.has_error(function() models.resolve({ engine = "queue" }) end)
      assert.has_error(function() models.resolve({ name = "x" }) end)
      assert.has_error(function() models.resolve({ engine = "lease", params = { ttl = -1 } }) end)
      assert.has_error(function() models.resolve({ step = function() end, max_holders = 0 }) end)
    end)
  end)

  describe("the lease re-acquire (issue 11 a)", function()
    -- beaver acquires with ttl 500, re-acquires at t=111 with ttl 5000 (granted), giraffe is
    -- granted at t=720: what the lease script answered before it extended on a re-acquire
    local old = history {
      { "c1", "acquire", "beaver", 0, 10, "granted", token = 1, ttl = 500 },
      { "c1", "acquire", "beaver", 111, 120, "granted", token = 1, ttl = 5000 },
      { "c2", "acquire", "giraffe", 720, 730, "granted", token = 2 },
    }

    it("the lease model holds beaver's lease to the re-acquire's ttl: giraffe's grant fails", function()
      local rep = check.all(old, { model = "lease" })
      assert.is_false(rep.ok)
      assert.is_false(rep.checks[1].ok)
      assert.is_false(rep.checks[2].ok)
      assert.matches("lease runs until at least t=5111", rep.checks[2].text, 1, true)
      -- refused, as the script now answers, it passes
      old[3].status, old[3].token, old[3].by = "refused", nil, "beaver"
      assert.is_true(check.all(old, { model = "lease" }).ok)
    end)

    it("the lease script extends on a re-acquire, and its lab passes (#sim)", function()
      local lab = skinny.lab { seed = 3, lock = "lease" }
      local beaver, giraffe = lab:client("beaver"), lab:client("giraffe")
      local a = beaver:acquire("printer", { ttl = 500 })
      lab:run_until(function() return a.done end, 2000)
      lab:run_for(111 - lab:now())
      local b = beaver:acquire("printer", { ttl = 5000 })
      lab:run_until(function() return b.done end, 2000)
      assert.is_true(lab:now() < 720)
      lab:run_for(720 - lab:now())
      local c = giraffe:acquire("printer")
      lab:run_until(function() return c.done end, 2000)
      assert.equal("granted", a.status)
      assert.equal("granted", b.status)
      assert.equal(a.token, b.token)
      assert.equal("refused", c.status)
      assert.equal("beaver", c.by)
      assert.is_true(lab:check().ok)
      lab:close()
    end)
  end)

  describe("random lease workloads with re-acquires (#sim)", function()
    -- two clients, one lock, random acquires (re-acquires by the holder included), renews
    -- and releases with random ttls and gaps; returns how many of n seeds fail lab:check
    local function failures(lock, n)
      local bad = 0
      for seed = 1, n do
        local rng = seed * 7919
        local function rand(k)
          rng = (rng * 1103515245 + 12345) % 2147483648
          return (rng >> 8) % k + 1
        end
        local lab = skinny.lab { seed = seed, lock = lock, model = "lease" }
        local cs = { lab:client("beaver"), lab:client("giraffe") }
        for _ = 1, 12 do
          lab:run_for(rand(600))
          local c = cs[rand(2)]
          local r = rand(10)
          local op
          if r <= 6 then op = c:acquire("printer", { ttl = 100 * rand(20) })
          elseif r <= 8 then op = c:renew("printer", { ttl = 100 * rand(20) })
          else op = c:release("printer") end
          lab:run_until(function() return op.done end, 5000)
        end
        if not lab:check().ok then bad = bad + 1 end
        lab:close()
      end
      return bad
    end

    it("pass with lease.lua, and fail with the old lease.lua that kept the expiry on a re-acquire", function()
      assert.equal(0, failures("lease", 40))
      local src = assert(io.open("scripts/locks/lease.lua")):read("a")
      local old, n = src:gsub("local s = { holder = held, token = state.token, expires = now %+ ttl }\n"
        .. "%s*return s, { status = \"granted\", holder = held, token = state.token,\n"
        .. "%s*text = \"already held by you; lease extended\" }",
        "return state, { status = \"granted\", holder = held, token = state.token }")
      assert.equal(1, n)
      local path = tmp_path("_old_lease.lua")
      write(path, old)
      local bad = failures(path, 40)
      os.remove(path)
      assert.is_true(bad > 0, "the old script's runs all passed")
    end)
  end)

  describe("a lease acquired without a ttl (issue 11 b, #sim)", function()
    local function run(model)
      local lab = skinny.lab { seed = 5, lock = "lease", model = model }
      local beaver, giraffe = lab:client("beaver"), lab:client("giraffe")
      local a = beaver:acquire("printer")
      lab:run_until(function() return a.done end, 2000)
      lab:run_for(10500 - lab:now())
      local b = giraffe:acquire("printer")
      lab:run_until(function() return b.done end, 2000)
      assert.equal("granted", a.status)
      assert.equal("granted", b.status) -- the default 10 s lease lapsed
      local rep = lab:check()
      lab:close()
      return rep
    end

    it("passes: lab:check knows the script's default ttl from its model", function()
      assert.is_true(run(nil).ok)
    end)

    it("fails when checked against a model that disagrees with the script (a 60 s default)", function()
      local rep = run { name = "long lease", engine = "lease", params = { ttl = 60000 } }
      assert.is_false(rep.ok)
      assert.matches("lease runs until at least t=6", rep.checks[2].text, 1, true)
    end)
  end)

  describe("a lease model's drift (#sim)", function()
    -- lease_skew: mei's clock 600 ms fast ends beaver's 1000 ms lease 600 ms early
    local function run(model)
      local exp = dofile("scripts/experiments/lease_skew.lua")
      local v = exp.variants[2]
      local lab = skinny.lab { seed = 1, nodes = 5, lock = "lease", model = model }
      exp.run(lab, v)
      local ok = lab:check().ok
      lab:close()
      return ok
    end

    it("the script's model (drift 0) catches the early grant; one tolerating 600 ms does not", function()
      assert.is_false(run(nil))
      assert.is_false(run { engine = "lease", params = { ttl = 10000, drift = 400 } })
      assert.is_true(run { engine = "lease", params = { ttl = 10000, drift = 600 } })
    end)
  end)

  describe("the holder a not_holder names", function()
    local h = history {
      { "c1", "acquire", "beaver", 0, 10, "granted", token = 1 },
      { "c2", "release", "giraffe", 20, 30, "not_holder", by = "otter" },
    }

    it("must be the holder: a stale 'not_holder, held by otter' fails linearizable", function()
      local ok, info = check.linearizable(h)
      assert.is_false(ok)
      assert.matches("release by giraffe -> not_holder", info.text, 1, true)
      h[2].by = "beaver"
      assert.is_true((check.linearizable(h)))
      h[2].by = nil
      assert.is_true((check.linearizable(h)))
      -- naming the asker: only a fenced release gets that answer (from the holder's own
      -- lock, naming an earlier grant's token; the models know no tokens), so it is let
      -- through when the op carried a fence, and fails without one
      h[2].by = "giraffe"
      assert.is_false((check.linearizable(h)))
      h[2].fence = 3
      assert.is_true((check.linearizable(h)))
      h[2].fence = nil
    end)

    it("is checked against a step model's answer too", function()
      h[2].by = "otter"
      local sem = assert(load(semaphore_script(2)))().model
      assert.is_false((check.linearizable(h, { model = sem })))
      h[2].by = nil
      assert.is_true((check.linearizable(h, { model = sem })))
    end)
  end)

  describe("a student's two-permit semaphore", function()
    local sem = assert(load(semaphore_script(2)))().model
    local two = history {
      { "c1", "acquire", "beaver", 0, 10, "granted", token = 1 },
      { "c2", "acquire", "giraffe", 20, 30, "granted", token = 2 },
      { "c3", "acquire", "otter", 40, 50, "refused" },
      { "c1", "release", "beaver", 60, 70, "released" },
      { "c3", "acquire", "otter", 80, 90, "granted", token = 3 },
    }

    it("passes a correct history against its model, fails it against the lock's", function()
      local rep = check.all(two, { model = sem })
      assert.is_true(rep.ok, check.format(rep))
      assert.matches("linearizable as a semaphore", rep.checks[2].text, 1, true)
      local lock = check.all(two, { model = "lock" })
      assert.is_false(lock.checks[1].ok)
      assert.is_false(lock.checks[2].ok)
    end)

    it("fails a third holder at once: single holder bound and linearizable", function()
      local three = history {
        { "c1", "acquire", "beaver", 0, 10, "granted", token = 1 },
        { "c2", "acquire", "giraffe", 20, 30, "granted", token = 2 },
        { "c3", "acquire", "otter", 40, 50, "granted", token = 3 },
      }
      local rep = check.all(three, { model = sem })
      assert.is_false(rep.checks[1].ok)
      assert.matches("held by 3 at once (beaver, giraffe, otter; the model allows 2)", rep.checks[1].text, 1, true)
      assert.is_false(rep.checks[2].ok)
      -- with an indefinite op that may have freed a permit, it is fine
      table.insert(three, 3, { id = 9, client = "c1", op = "release", holder = "beaver", invoke = 32,
                               lock = "printer", status = "timeout" })
      assert.is_true((check.linearizable(three, { model = sem })))
    end)

    local function lab_run(permits)
      local path = tmp_path("_semaphore.lua")
      write(path, semaphore_script(permits))
      local lab = skinny.lab { seed = 11, lock = path }
      local ops = {}
      for i, who in ipairs { "beaver", "giraffe", "otter" } do
        local c = lab:client(who)
        lab:run_for(100 * i - lab:now())
        ops[i] = c:acquire("printer")
        lab:run_until(function() return ops[i].done end, 2000)
      end
      local rep = lab:check()
      lab:close()
      os.remove(path)
      return ops, rep
    end

    it("runs in a lab and is checked green by its own model (#sim)", function()
      local ops, rep = lab_run(2)
      assert.same({ "granted", "granted", "refused" }, { ops[1].status, ops[2].status, ops[3].status })
      assert.is_true(rep.ok, check.format(rep))
    end)

    it("is checked red when the script breaks its model: three permits (#sim)", function()
      local ops, rep = lab_run(3)
      assert.same({ "granted", "granted", "granted" }, { ops[1].status, ops[2].status, ops[3].status })
      assert.is_false(rep.ok)
      assert.is_false(rep.checks[1].ok)
      assert.is_false(rep.checks[2].ok)
    end)
  end)

  describe("skinny run | check | render --model", function()
    local sh = require "helpers.sh"
    -- a model that disagrees with basic.lua's run: nobody may ever release
    local strict = tmp_path("_strict.lua")
    write(strict, [[
return { model = { name = "no release", init = false,
  step = function(s, op)
    if op.op == "release" then return s, { status = "not_holder" } end
    if s == false or s == op.holder then return op.holder, { status = "granted", holder = op.holder } end
    return s, { status = "refused", holder = s }
  end } }
]])
    teardown(function() os.remove(strict) end)

    it("checks a run and a trace against the model named (#sim)", function()
      local t = os.tmpname()
      local out, code = sh("bin/skinny run scripts/experiments/basic.lua --quiet --trace " .. t)
      assert.equal(0, code, out)
      out, code = sh("bin/skinny check " .. t .. " --model " .. strict)
      assert.equal(1, code, out)
      assert.matches("FAIL  linearizable", out, 1, true)
      out, code = sh("bin/skinny check " .. t .. " --model lock")
      assert.equal(0, code, out)
      out, code = sh("bin/skinny render " .. t .. " -o " .. t .. ".html --model " .. strict)
      assert.equal(0, code, out)
      assert.matches("verdict: FAIL", out, 1, true)
      out, code = sh("bin/skinny render " .. t .. " -o " .. t .. ".html")
      assert.equal(0, code, out)
      assert.matches("verdict: PASS", out, 1, true)
      -- run --model: checked against it, named in the reproduce line and in the trace
      out, code = sh("bin/skinny run scripts/experiments/basic.lua --quiet --model " .. strict
        .. " --trace " .. t)
      assert.equal(1, code, out)
      assert.matches("--model " .. strict, out, 1, true)
      out, code = sh("bin/skinny check " .. t)
      assert.equal(1, code, out)
      out, code = sh("bin/skinny check " .. t .. " --model nosuch")
      assert.equal(2, code, out)
      assert.matches("no lock script of that name", out, 1, true)
      os.remove(t); os.remove(t .. ".html")
    end)
  end)

  describe("the sandbox's check of a lock script's keys (#sim)", function()
    it("lets `model` through and still refuses a misspelt key, listing model", function()
      local path = tmp_path("_typo.lua")
      write(path, semaphore_script(2):gsub("M%.model =", "M.modle ="))
      local ok, err = pcall(skinny.lab, { seed = 1, lock = path })
      os.remove(path)
      assert.is_false(ok)
      assert.matches("unknown hook 'modle'", tostring(err), 1, true)
      assert.matches("may define: apply, describe, model", tostring(err), 1, true)
    end)
  end)

  describe("no choice by name", function()
    it("a copy of the advisory script named like a lease is checked as a lock (#sim)", function()
      local path = tmp_path("_lease.lua")
      local src = assert(io.open("scripts/locks/advisory.lua")):read("a")
      write(path, src)
      local lab = skinny.lab { seed = 2, lock = path }
      assert.equal("lock", lab:model().engine)
      lab:close()
      os.remove(path)
    end)
  end)
end)

describe("models with parameters and invariants #unit", function()
  local function sem(n)
    return { name = "sem", params = { permits = n }, max_holders = function(p) return p.permits end,
             init = {}, step = function(s, op) return s, { status = "granted", holder = op.holder } end }
  end

  it("lock_params override the model's params, and max_holders follows them", function()
    local m = models.resolve(sem(2))
    assert.equal(2, m.max_holders)
    local m3 = models.resolve(sem(2), { lock_params = { permits = 3, extra = "x" } })
    assert.equal(3, m3.max_holders)
    assert.same({ permits = 3, extra = "x" }, m3.params)
    assert.equal(2, m.max_holders) -- the original is unchanged
    assert.equal(m, models.with_params(m, {}))
    -- the shipped semaphore, by name
    assert.equal(4, models.resolve("semaphore", { lock_params = { permits = 4 } }).max_holders)
  end)

  it("a bad invariant or bound is refused, naming where", function()
    local ok, err = pcall(models.normalize, { name = "x", init = {}, step = function() end, invariant = 3 }, "mine.lua")
    assert.is_false(ok)
    assert.truthy(err:find("mine.lua: 'invariant' must be a function", 1, true))
    ok, err = pcall(models.resolve, sem(2), { lock_params = { permits = 0 } })
    assert.is_false(ok)
    assert.truthy(err:find("'max_holders' must be a number of at least 1", 1, true))
    ok, err = pcall(models.normalize, { name = "y", init = {}, step = function() end,
                                        max_holders = function() error("boom") end }, "y.lua")
    assert.is_false(ok)
    assert.truthy(err:find("y.lua: max_holders(params) failed", 1, true))
  end)

  it("the single-holder check uses the bound from the params and the model's invariant", function()
    local h = history{
      { "c1", "acquire", "a", 0, 1, "granted", token = 1 },
      { "c2", "acquire", "b", 2, 3, "granted", token = 2 },
      { "c3", "acquire", "c", 4, 5, "granted", token = 3 },
    }
    assert.is_false(check.single_holder(h, { model = sem(2) }))
    assert.is_true(check.single_holder(h, { model = sem(2), lock_params = { permits = 3 } }))
    local seen
    local inv = { name = "inv", init = {}, step = sem(1).step,
                  invariant = function(holds) seen = #holds; if #holds > 2 then return "too many" end end }
    local ok, v = check.single_holder(h, { model = inv })
    assert.is_false(ok)
    assert.equal(3, seen)
    assert.truthy(v[1].text:find("a (exclusive), b (exclusive), c (exclusive) at once", 1, true), v[1].text)
    assert.truthy(v[1].text:find(": too many", 1, true))
  end)

  it("a step model sees op.shared, and describe says so", function()
    local got = {}
    local m = { name = "probe", init = {}, max_holders = 10,
                step = function(s, op) got[#got + 1] = op.shared or false
                  return s, { status = "granted", holder = op.holder } end }
    local h = history{ { "c1", "acquire", "a", 0, 1, "granted", token = 1 },
                       { "c2", "acquire", "b", 2, 3, "granted", token = 2 } }
    h[1].shared = true
    assert.is_true(check.linearizable(h, { model = m }))
    assert.same({ true, false }, got)
    assert.truthy(check.describe(h[1]):find("acquire shared by a", 1, true))
  end)
end)

describe("fencing tokens with several holders #unit", function()
  local sem = { name = "sem2", max_holders = 2, init = {},
                step = function(s, op) return s, { status = "granted", holder = op.holder } end }
  local function g(id, holder, t0, t1, token)
    return { id = id, op = "acquire", lock = "L", holder = holder, invoke = t0, complete = t1,
             status = "granted", token = token }
  end
  local function rel(id, holder, t0, t1)
    return { id = id, op = "release", lock = "L", holder = holder, invoke = t0, complete = t1, status = "released" }
  end

  it("a holder may hear its own token again after another holder's newer grant", function()
    local h = { g(1, "a", 0, 1, 5), g(2, "b", 2, 3, 9), g(3, "a", 4, 5, 5) }
    assert.is_true(check.tokens(h, { model = sem }))
    -- the same history for a one-holder lock: a's token is older than b's
    assert.is_false(check.tokens(h, { model = "lock" }))
  end)

  it("a new holder with an old token, or an old token after its holder released, is flagged", function()
    local ok, v = check.tokens({ g(1, "a", 0, 1, 5), g(2, "b", 2, 3, 9), g(3, "c", 4, 5, 7) }, { model = sem })
    assert.is_false(ok)
    assert.truthy(v[1].text:find("c was granted token 7", 1, true), v[1].text)
    ok, v = check.tokens({ g(1, "a", 0, 1, 5), g(2, "b", 2, 3, 9), rel(3, "a", 4, 5), g(4, "a", 6, 7, 5) },
                         { model = sem })
    assert.is_false(ok)
    assert.truthy(v[1].text:find("a released in between", 1, true), v[1].text)
    -- and a smaller token than the holder's own latest
    ok = check.tokens({ g(1, "a", 0, 1, 5), g(2, "a", 2, 3, 9), g(3, "a", 4, 5, 5) }, { model = sem })
    assert.is_false(ok)
  end)

  it("a holder's token from an acquire nobody heard the answer to is let through", function()
    local lost = { id = 2, op = "acquire", lock = "L", holder = "a", invoke = 2, status = "timeout" }
    -- a's first acquire timed out (its token 7 unheard), b was granted 9, a asks again: 7
    local h = { g(1, "c", 0, 1, 5), lost, g(3, "b", 3, 4, 9), g(4, "a", 5, 6, 7) }
    assert.is_true(check.tokens(h, { model = sem }))
    -- but not a token no earlier unknown acquire of a's can have had (below c's 5, which
    -- was answered before a's lost acquire was invoked)
    h = { g(1, "c", 0, 1, 5), lost, g(3, "b", 3, 4, 9), g(4, "a", 5, 6, 4) }
    assert.is_false(check.tokens(h, { model = sem }))
  end)
end)
