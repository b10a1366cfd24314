-- Lock parameters and shared acquires on real daemons (tag #e2e): skinnyd's config
-- key lock_params reaches the lock script (a semaphore of 3 permits serves three
-- holders and refuses a fourth), and skinnyctl acquire --shared is a reader's acquire
-- for the read-write lock. Each lab starts its own daemons (free 127.0.0.1 ports, a
-- fresh run directory) and is closed in a finally.
local real = require "skinny.real"
local sh = require "helpers.sh"

local function step(lab, op)
  assert(lab:run_until(function() return op.done end, 10000), "no answer in time")
  return op
end

local function config_of(lab, name)
  local cjson = require "cjson"
  local f = assert(io.open(lab.dir .. "/" .. name .. "/config.json"))
  local cfg = cjson.decode(f:read("a"))
  f:close()
  return cfg
end

describe("lock scripts on real daemons #e2e", function()
  it("lock_params in skinnyd's config: a semaphore of 3 permits serves 3 holders", function()
    local lab = real.lab{ nodes = 3, lock = "semaphore", lock_params = { permits = 3 } }
    finally(function() lab:close() end)
    -- every daemon's config carries the parameter
    for _, name in ipairs(lab.names) do
      assert.equal(3, math.tointeger(config_of(lab, name).lock_params.permits))
    end
    local ops = {}
    for i, h in ipairs{ "beaver", "otter", "giraffe", "heron" } do
      ops[i] = step(lab, lab:client(h, { node = lab.names[(i - 1) % 3 + 1] }):acquire("printer"))
    end
    assert.same({ "granted", "granted", "granted", "refused" },
      { ops[1].status, ops[2].status, ops[3].status, ops[4].status })
    assert.equal("all 3 permits held: beaver, giraffe, otter", ops[4].text)
    local rep = lab:check()
    assert.is_true(rep.ok, require("skinny.check").format(rep))
    assert.equal(3, lab:model().max_holders)
  end)

  it("skinnyctl acquire --shared: readers share the rwlock, a plain acquire is refused", function()
    local lab = real.lab{ nodes = 3, lock = "rwlock" }
    finally(function() lab:close() end)
    local ctl = "build/skinnyctl --lab " .. lab.dir .. " --json "
    local out, code = sh(ctl .. "acquire r1 --lock db --shared")
    assert.equal(0, code, out)
    assert.matches('"shared":true', out, 1, true)
    assert.matches('"status":"granted"', out, 1, true)
    out, code = sh(ctl .. "acquire r2 --lock db --shared")
    assert.equal(0, code, out)
    out, code = sh(ctl .. "acquire w1 --lock db")
    assert.equal(1, code, out)
    assert.matches('"status":"refused"', out, 1, true)
    assert.matches('"holder":"r1"', out, 1, true)
    out, code = sh("build/skinnyctl --lab " .. lab.dir .. " release r1 --lock db --shared")
    assert.equal(64, code, out)
    assert.matches("--shared is for acquire", out, 1, true)
    -- the lab's own client too
    local op = step(lab, lab:client("r3"):acquire("db", { shared = true }))
    assert.equal("granted", op.status)
    local h = require("skinny.history").from_trace(lab:trace())
    assert.is_true(h[#h].shared)
  end)

  it("the semaphore and rwlock experiments run on real daemons, checked green", function()
    for _, name in ipairs{ "semaphore", "rwlock" } do
      local exp = dofile("scripts/experiments/" .. name .. ".lua")
      local o = {}
      for k, v in pairs(exp.lab) do o[k] = v end
      local lab = real.lab(o)
      local ok, err = pcall(function()
        local sum = exp.run(lab)
        assert.is_true(sum.granted > 0, name .. ": nothing granted")
        local rep = lab:check()
        assert.is_true(rep.ok, name .. ":\n" .. require("skinny.check").format(rep))
        assert.truthy(rep.checks[2].text:find("linearizable as a " .. name, 1, true))
        local crashed = 0
        for _, f in ipairs(lab.faults) do if f.what:match("^crash") then crashed = crashed + 1 end end
        assert.equal(2, crashed)
      end)
      lab:close()
      assert(ok, err)
    end
  end)
end)
