-- The skinny.core C module (tag #bindings): argument errors raise, operational
-- failures return nil + message + code, closed objects refuse use, and lock
-- state survives the trip through the value encoding.
local core = require "skinny.core"
local skinny = require "skinny"

local NODES = { "catbus", "kanta", "mei" }

describe("skinny.core #bindings", function()
  it("refuses bad options with a message naming them", function()
    assert.has_error(function() core.sim{ seed = 1 } end,
                     "option 'nodes' must be a list of instance names")
    assert.has_error(function() core.sim{ seed = 1, nodes = {} } end,
                     "a cluster has 1 to 16 instances, not 0")
    assert.has_error(function() core.sim{ seed = "x", nodes = NODES } end,
                     "option 'seed' must be an integer")
  end)

  it("returns nil, message, code for a script that does not load", function()
    local sim, msg, code = core.sim{ seed = 1, nodes = NODES, lock = "nosuch" }
    assert.is_nil(sim)
    assert.matches("scripts/locks/nosuch.lua: no such script", msg, 1, true)
    assert.equal("SK_EHOOK", code)
  end)

  it("checks arguments of methods", function()
    local sim = core.sim{ seed = 1, nodes = NODES }
    local c = sim:client("beaver")
    assert.has_error(function() sim:request(c, "nobody", "acquire", "printer", "beaver") end)
    assert.has_error(function() sim:request(c, 1, "grab", "printer", "beaver") end)
    assert.has_error(function() sim:request(c, 1, "acquire", "", "beaver") end)
    assert.has_error(function() sim:request(99, 1, "acquire", "printer", "beaver") end)
    assert.has_error(function() sim:run(-1) end)
    assert.has_error(function() sim:link(1, 2, { kind = "warp" }) end)
    sim:close()
  end)

  it("refuses use after close, and closing twice is fine", function()
    local sim = core.sim{ seed = 1, nodes = NODES }
    sim:close()
    sim:close()
    assert.has_error(function() sim:now() end, "the simulation is closed")
    assert.has_error(function() sim:run(10) end, "the simulation is closed")
  end)

  it("closes at the end of a to-be-closed block", function()
    local kept
    do
      local sim <close> = core.sim{ seed = 1, nodes = NODES }
      kept = sim
      assert.equal(0, sim:now())
    end
    assert.has_error(function() kept:now() end, "the simulation is closed")
  end)

  it("frees simulations left unclosed when they are collected (__gc), without crashing", function()
    local granted = 0
    for _ = 1, 50 do
      local lab = skinny.lab{ seed = 1, nodes = 3 }
      local op = lab:client("beaver"):acquire("printer")
      lab:run_until(function() return op.done end, 1000)
      if op.status == "granted" then granted = granted + 1 end
    end
    collectgarbage()
    collectgarbage()
    assert.equal(50, granted)
  end)

  it("round-trips lock state through the value encoding, keys sorted", function()
    local v = { holder = "beaver", token = 4353, ok = true, ratio = 0.5,
                queue = { "giraffe", "otter" }, nested = { deep = { x = -7 } } }
    local bytes = core.encode_value(v)
    assert.same(v, core.decode_value(bytes))
    -- the same table built in another order gives the same bytes
    local w = { nested = { deep = { x = -7 } }, queue = { "giraffe", "otter" }, ratio = 0.5,
                ok = true, token = 4353, holder = "beaver" }
    assert.equal(bytes, core.encode_value(w))
    assert.equal("", core.encode_value(nil))
    assert.is_nil(core.decode_value(""))
  end)

  it("refuses what lock state cannot hold, and garbage bytes", function()
    assert.has_error(function() core.encode_value({ f = print }) end)
    assert.has_error(function() core.encode_value({ [true] = 1 }) end)
    local deep = {}
    local t = deep
    for _ = 1, 40 do t.x = {}; t = t.x end
    assert.has_error(function() core.encode_value(deep) end)
    local v, msg = core.decode_value("\255garbage")
    assert.is_nil(v)
    assert.equal("not a lock state: a lock state must be a table; this is not a value (byte 0 of 8)", msg)
  end)

  it("checks a script without running a cluster", function()
    assert.is_true(core.check_script("lock", "advisory", "scripts"))
    local ok, msg = core.check_script("proposer", "spec/testdata/bad/syntax_error.lua", "scripts")
    assert.is_nil(ok)
    assert.matches("syntax_error.lua:%d+:", msg)
  end)
end)
