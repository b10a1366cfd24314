-- The hostile corpus in the simulator (tag #bindings): every script in
-- spec/testdata/hostile/ misbehaves on purpose when provoked (raising or
-- looping metamethods, error objects that are not strings, yields, deep
-- recursion, memory bombs, states that cannot be stored, numbers and types
-- that are not what a hook must return, scripts that wreck their own
-- environment or libraries, chunks that misbehave while loading). For each:
--   * the provoked request fails, status "error", with the hook's name, the
--     script's "path:line:" (the line with the file's "-- BAD" marker) and
--     the reason the header names; as many times as the header's `repeat`;
--   * a describe case (hook: describe) fails no request: mallory's acquire is
--     granted, and catbus's status row falls back to the default's
--     description followed by "(describe failed: path:line: reason)";
--   * the same instance then answers a good request on the same lock;
--   * a load-time case makes skinny.lab raise with the file, line and reason,
--     and lab:reload refuse it while the old scripts go on serving.
-- Header lines (before the code; spec/HOOKS.md "Hostile scripts"):
--   -- kind: lock|proposer|backoff      -- hook: the name the core reports
--   -- expect: part of the reason        -- trigger: how the script is provoked
--   -- repeat: N (default 1)             -- budget: N (lab option; default 10M)
--   -- when: load (a load-time case)     -- line: none (file only, no line)
-- Provoking: a lock script misbehaves for holder "mallory" (the spec's
-- acquire), a proposer or backoff script on its first `repeat` calls in the
-- instance; delay runs only after a conflict or a timeout, so for a backoff
-- case catbus is cut off from the others while it is provoked.
-- Run with `busted --lua=lua5.4 spec/hostile_spec.lua` after `make`.
local skinny = require "skinny"
local hostile = require "helpers.hostile"

local DIR = hostile.DIR
local corpus, read_case = hostile.corpus, hostile.read_case

local has = hostile.has
local function wait(lab, op) return hostile.wait(lab, op, 20000) end

local OTHERS = { "kanta", "mei", "satsuki", "totoro" }

-- Provoke c once through catbus; returns the op.
local function provoke(lab, c, i)
  if c.kind == "lock" then
    return wait(lab, lab:client("mallory", { node = "catbus" }):acquire("printer"))
  end
  return wait(lab, lab:client("beaver" .. i, { node = "catbus" }):acquire("printer"))
end

local function assert_fails(c, op, what) hostile.assert_fails(c, op, c.where, what) end
local function assert_serves(lab) hostile.assert_serves(lab, 20000) end

local function run_hook_case(c)
  local lab = skinny.lab{ seed = 1, phase_timeout = 100, client_timeout = 5000,
                          [c.kind] = c.path, budget = c.budget }
  finally(function() lab:close() end)
  if c.hook == "describe" then
    -- describe fails a status row's text, not a request
    hostile.assert_describe_fails(c, lab, c.where, 20000)
    assert.are.equal(0, lab:metrics().hook_errors)
    assert_serves(lab)
    return
  end
  if c.kind == "backoff" then lab:partition({ "catbus" }, OTHERS) end
  for i = 1, c.times do
    assert_fails(c, provoke(lab, c, i), ("provoked %d of %d"):format(i, c.times))
  end
  assert.are.equal(c.times, lab:metrics().hook_errors)
  if c.kind == "backoff" then lab:heal() end
  assert_serves(lab)
end

local function assert_refused(c, ok, err, what)
  local say = ("%s (%s): %s"):format(c.file, what, tostring(err))
  assert.is_falsy(ok, c.file .. " loaded (" .. what .. ")")
  assert.is_true(has(err, c.where), ("no %q: %s"):format(c.where, say))
  assert.is_true(has(err, c.expect), ("no %q: %s"):format(c.expect, say))
end

local function run_load_case(c)
  local ok, err = pcall(skinny.lab, { seed = 1, [c.kind] = c.path, budget = c.budget })
  if ok then err:close() end
  assert_refused(c, ok, err, "skinny.lab")
  local lab = skinny.lab{ seed = 1, budget = c.budget }
  finally(function() lab:close() end)
  local rok, rerr = lab:reload("catbus", { [c.kind] = c.path })
  assert_refused(c, rok, rerr, "lab:reload")
  assert_serves(lab)
end

local files = corpus()

describe("the hostile corpus #bindings", function()
  it("is there, every case with a header the specs can read", function()
    assert.is_true(#files >= 30, "only " .. #files .. " cases in " .. DIR)
    local n = { lock = 0, proposer = 0, backoff = 0, load = 0, provokes = 0 }
    for _, file in ipairs(files) do
      local c, why = read_case(file)
      assert.is_table(c, why)
      if c.when == "load" then n.load = n.load + 1 else n[c.kind] = n[c.kind] + 1 end
      n.provokes = n.provokes + (c.when == "load" and 1 or c.times)
    end
    print(("hostile corpus: %d cases (%d lock, %d proposer, %d backoff, %d at load), "
           .. "%d provocations"):format(#files, n.lock, n.proposer, n.backoff, n.load, n.provokes))
  end)

  for _, file in ipairs(files) do
    local c, why = read_case(file)
    if not c then
      it(file, function() error(why) end)
    elseif c.when == "load" then
      it(("%s: loading is refused (%s), the old scripts serve"):format(file, c.expect),
         function() run_load_case(c) end)
    else
      it(("%s: %s fails %d time(s) (%s), then the instance serves"):format(
           file, c.hook, c.times, c.expect), function() run_hook_case(c) end)
    end
  end
end)
