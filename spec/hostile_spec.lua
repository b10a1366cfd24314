-- The hostile corpus in the simulator (tag #bindings): every script in
-- spec/testdata/hostile/ misbehaves on purpose when provoked (raising or
-- looping metamethods, error objects that are not strings, yields, deep
-- recursion, memory bombs, states that cannot be stored, numbers and types
-- that are not what a hook must return, scripts that wreck their own
-- environment or libraries, chunks that misbehave while loading). For each:
--   * the provoked request fails, status "error", with the hook's name, the
--     script's "path:line:" (the line with the file's "-- BAD" marker) and
--     the reason the header names; as many times as the header's `repeat`;
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

local DIR = "spec/testdata/hostile/"
local KINDS = { lock = true, proposer = true, backoff = true }
local FIELDS = { kind = true, hook = true, expect = true, trigger = true, ["repeat"] = true,
                 budget = true, when = true, line = true }

-- The corpus, from the directory listing.
local function corpus()
  local p = assert(io.popen("ls " .. DIR))
  local files = {}
  for name in p:lines() do
    if name:match("^[%w_]+%.lua$") then files[#files + 1] = name end
  end
  p:close()
  table.sort(files)
  return files
end

-- A case's header (the comment lines before the code) and BAD line; nil and
-- a message when something is missing or wrong.
local function read_case(file)
  local path = DIR .. file
  local c = { file = file, path = path }
  local n, in_header = 0, true
  for line in io.lines(path) do
    n = n + 1
    if in_header and not line:match("^%-%-") then in_header = false end
    local k, v = line:match("^%-%- (%a+): (.-)%s*$")
    if in_header and k and FIELDS[k] then c[k] = v end
    if line:find("%-%- BAD") then
      if c.bad then return nil, path .. ": two -- BAD markers" end
      c.bad = n
    end
  end
  if not KINDS[c.kind] then return nil, path .. ": no '-- kind: lock|proposer|backoff' line" end
  if not c.expect or c.expect == "" then return nil, path .. ": no '-- expect:' line" end
  if c.when ~= nil and c.when ~= "load" then return nil, path .. ": '-- when:' can only be load" end
  if c.when ~= "load" and not (c.hook and c.trigger) then
    return nil, path .. ": a hook case needs '-- hook:' and '-- trigger:' lines"
  end
  if c.line ~= nil and c.line ~= "none" then return nil, path .. ": '-- line:' can only be none" end
  if c.line == nil and not c.bad then return nil, path .. ": no -- BAD marker" end
  c.times = tonumber(c["repeat"] or "1")
  if math.type(c.times) ~= "integer" or c.times < 1 then return nil, path .. ": bad '-- repeat:'" end
  c.budget = c.budget and tonumber(c.budget)
  -- what every message must contain: "path:line:" or, without a line, "path:"
  c.where = c.line == "none" and path .. ":" or ("%s:%d:"):format(path, c.bad)
  return c
end

local function has(haystack, needle)
  return type(haystack) == "string" and haystack:find(needle, 1, true) ~= nil
end

local function wait(lab, op)
  assert.is_true(lab:run_until(function() return op.done end, 20000),
                 "no answer to " .. op.op .. " in time")
  return op
end

local OTHERS = { "kanta", "mei", "satsuki", "totoro" }

-- Provoke c once through catbus; returns the op.
local function provoke(lab, c, i)
  if c.kind == "lock" then
    return wait(lab, lab:client("mallory", { node = "catbus" }):acquire("printer"))
  end
  return wait(lab, lab:client("beaver" .. i, { node = "catbus" }):acquire("printer"))
end

local function assert_fails(c, op, what)
  local say = ("%s (%s): %s"):format(c.file, what, tostring(op.text))
  assert.are.equal("error", op.status, say)
  assert.is_true(has(op.text, c.hook .. ": "), "no hook name: " .. say)
  assert.is_true(has(op.text, c.where), ("no %q: %s"):format(c.where, say))
  assert.is_true(has(op.text, c.expect), ("no %q: %s"):format(c.expect, say))
end

-- The same instance answers a good request on the same lock, and again.
local function assert_serves(lab)
  local giraffe = lab:client("giraffe", { node = "catbus" })
  local op = wait(lab, giraffe:acquire("printer"))
  assert.are.equal("granted", op.status, op.text)
  op = wait(lab, giraffe:release("printer"))
  assert.are.equal("released", op.status, op.text)
end

local function run_hook_case(c)
  local lab = skinny.lab{ seed = 1, phase_timeout = 100, client_timeout = 5000,
                          [c.kind] = c.path, budget = c.budget }
  finally(function() lab:close() end)
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
