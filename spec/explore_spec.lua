-- `bin/skinny explore` and skinny.core.explore (tag #sim): every interleaving of a small
-- configuration over the real cores (runtime/explore), with the C defaults or the Lua
-- scripts: the shortest counterexample for a broken script, "no violation" for the
-- default scripts (the whole timer-free space without faults here; bench/README.md has
-- the larger searches), bounds reported as not a proof, bad input refused.
local sh = require "helpers.sh"
local core = require "skinny.core"

local TWO = { { node = 1, ops = { "acquire" } }, { node = 2, ops = { "acquire" } } }

describe("skinny explore #sim", function()
  it("finds the original's double grant in 8 steps and replays it", function()
    local out_prefix = os.tmpname()
    local out, rc = sh("bin/skinny explore --proposer classic --backoff classic --lock classic "
      .. "--drops 0 --dups 0 --out " .. out_prefix)
    os.remove(out_prefix); os.remove(out_prefix .. ".jsonl"); os.remove(out_prefix .. ".html")
    assert.equal(1, rc, out)
    assert.matches("VIOLATION: two holders at once", out, 1, true)
    assert.matches("the shortest counterexample, 8 steps:", out, 1, true)
    assert.matches("answers c1's acquire: granted", out, 1, true)
    assert.matches("answers c2's acquire: granted", out, 1, true)
  end)

  it("catches a student's proposer that proceeds with a minority of five", function()
    local r = assert(core.explore{ nodes = 5, clients = { { node = 1, ops = { "acquire" } },
                                                           { node = 4, ops = { "acquire" } } },
                                   proposer = "spec/testdata/bad/minority_quorum.lua",
                                   timers = false, max_states = 1000000 })
    assert.is_true(r.violation)
    assert.equal(10, #r.path) -- two disjoint pairs, four messages each, two requests
    assert.is_true(r.replayed)
  end)

  it("says no violation for the default scripts: the whole space, or within bounds", function()
    local whole = assert(core.explore{ clients = TWO, timers = false })
    assert.is_false(whole.violation)
    assert.is_false(whole.depth_bound or whole.state_bound)
    assert.is_true(whole.distinct > 1000)
    local out, rc = sh("bin/skinny explore --max-depth 8")
    assert.equal(0, rc, out)
    assert.matches("no violation within these bounds (the depth bound reached): not a proof", out, 1, true)
    out, rc = sh("bin/skinny explore --no-timers --drops 0 --dups 0")
    assert.equal(0, rc, out)
    assert.matches("no violation: every interleaving of this configuration was searched", out, 1, true)
  end)

  it("writes the counterexample as a trace and a picture the checkers agree with", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir))
    local out, rc = sh("bin/skinny explore --builtin --no-timers --drops 0 --dups 0 --wipes 1 "
      .. "--blank-votes --out " .. dir .. "/cx")
    assert.equal(1, rc, out)
    assert.matches("1 crash(es) with state lost (voting at once)", out, 1, true)
    assert.matches("crashes and restarts with its state lost (votes at once: UNSAFE)", out, 1, true)
    assert.matches("FAIL  single holder", out, 1, true)
    local f = assert(io.open(dir .. "/cx.jsonl"))
    local trace = f:read("a")
    f:close()
    assert.matches('^{"t":0,"ev":"run","backend":"explore","nodes":%["n1","n2","n3"%]', trace)
    assert.matches('"ev":"fault","node":"n%d","what":"crash, restart with state lost, voting at once', trace)
    local _, grants = trace:gsub('"ev":"complete"[^\n]*"status":"granted"', "")
    assert.equal(2, grants)
    -- the trace is a run's trace: `skinny check` and `skinny render` read it
    out, rc = sh("bin/skinny check " .. dir .. "/cx.jsonl")
    assert.equal(1, rc, out)
    assert.matches("FAIL  single holder: lock printer held by c1", out, 1, true)
    f = assert(io.open(dir .. "/cx.html"))
    local html = f:read("a")
    f:close()
    assert.matches("3 instances, 2 clients", html, 1, true) -- the events were read as events
    assert.matches("crash, restart with state lost", html, 1, true)
    os.execute("rm -rf " .. dir)
  end)

  it("explores failover and crashes through the lab API, histories checked: clean", function()
    local skinny = require "skinny"
    local r = assert(skinny.explore{ clients = TWO, timers = false, builtin = true, crashes = 1,
                                     drops = 0, dups = 0 })
    assert.is_false(r.violation)
    assert.is_false(r.depth_bound or r.state_bound)
    assert.is_true(r.histories > 0 and r.distinct_histories > 1)
    r = assert(skinny.explore{ clients = TWO, timers = false, failovers = 1, drops = 0, dups = 0,
                               max_depth = 9 })
    assert.is_false(r.violation)
    assert.is_true(r.depth_bound)
    -- the same API, a bad lock: caught by the history, not by "two holders"
    local sticky = { { node = 1, ops = { "acquire", "release" } }, { node = 2, ops = { "acquire" } } }
    r = assert(skinny.explore{ clients = sticky, timers = false, drops = 0, dups = 0,
                               lock = "spec/testdata/bad/sticky_release.lua" })
    assert.is_true(r.violation)
    assert.matches("fails linearizable", r.what, 1, true)
    r = assert(skinny.explore{ clients = sticky, timers = false, drops = 0, dups = 0, history = false,
                               lock = "spec/testdata/bad/sticky_release.lua", max_depth = 15 })
    assert.is_false(r.violation)
  end)

  it("runs the history checkers as invariants: a release that frees nothing is caught", function()
    -- spec/testdata/bad/sticky_release.lua never grants twice; only linearizability sees it
    local prefix = os.tmpname()
    local cmd = "bin/skinny explore --lock spec/testdata/bad/sticky_release.lua --no-timers "
      .. "--drops 0 --dups 0 --ops acquire,release --out " .. prefix
    local out, rc = sh(cmd)
    assert.equal(1, rc, out)
    assert.matches("VIOLATION: the history fails linearizable: lock printer: op 513 (client c2: "
      .. "acquire by c2 -> refused, held by c1", out, 1, true)
    assert.matches("the shortest counterexample, 15 steps:", out, 1, true)
    assert.matches("histories checked: %d+ %(%d+ distinct%)", out)
    local f = assert(io.open(prefix .. ".jsonl"))
    assert.matches('sticky_release.lua"}', f:read("l"), 1, true)
    f:close()
    os.remove(prefix); os.remove(prefix .. ".jsonl"); os.remove(prefix .. ".html")
    -- without the history checkers, the same search sees nothing wrong
    out, rc = sh(cmd:gsub("%-%-out %S+", "--no-history --max-depth 15"))
    assert.equal(0, rc, out)
    assert.matches("no violation within these bounds", out, 1, true)
  end)

  it("reports a history checker that raises, and refuses one that is not a function", function()
    local skinny = require "skinny"
    local r, err = skinny.explore{ clients = TWO, timers = false, drops = 0, dups = 0,
                                   check = function() error("boom") end }
    assert.is_nil(r)
    assert.matches("explore: the history checker failed: .*boom", err)
    assert.has_error(function() skinny.explore{ clients = TWO, check = 5 } end,
                     "explore: option 'check' must be a function(history) -> ok, what")
  end)

  it("says when the scripts fail in the search, with file and line, and exits 2", function()
    local out, rc = sh("bin/skinny explore --lock spec/testdata/bad/runtime_error_apply.lua "
      .. "--no-timers --drops 0 --dups 0")
    assert.equal(2, rc, out)
    assert.matches("SCRIPT ERRORS: the scripts failed %d+ times in the search's steps; the first: "
      .. "apply_lock: spec/testdata/bad/runtime_error_apply.lua:8: attempt to index a nil value", out)
    assert.matches("no violation: every interleaving", out, 1, true)
    -- the default scripts fail nowhere
    local r = assert(core.explore{ clients = TWO, timers = false, drops = 0, dups = 0 })
    assert.equal(0, r.hook_errors)
    assert.is_nil(r.hook_error)
  end)

  it("refuses bad input with a reason and exit 2", function()
    local cases = {
      { "--max-depth 3", "cannot reach any client's answer: on 3 instances an acquire needs at least 5 steps" },
      { "--ops grab", "--ops: a list of acquire and release, not 'grab'" },
      { "--nodes 9", "--nodes needs a whole number from 1 to 7, not '9'" },
      { "--clients 0", "--clients needs a whole number from 1 to 4, not '0'" },
      { "--lock nosuch", "nosuch.lua: no such script" },
      { "--max-states x", "--max-states needs a whole number >= 1, not 'x'" },
    }
    for _, c in ipairs(cases) do
      local out, rc = sh("bin/skinny explore " .. c[1])
      assert.equal(2, rc, c[1] .. ": " .. out)
      assert.matches(c[2], out, 1, true)
    end
  end)
end)
