-- `bin/skinny sweep` (tag #sim): the same summary whatever --jobs, violations found with
-- replay commands that fail again, --json, shards merged, bad input, SIGINT; and the
-- process binding it runs on (bindings/lua_proc.c) and skinny.sweep{} in the lab API.
local skinny = require "skinny"
local cjson = require "cjson"

local function proc() return require "helpers.proc" end

local tmp = os.tmpname()
os.remove(tmp)
os.execute("mkdir -p " .. tmp)

-- Run a shell command: stdout, stderr, exit status.
local function sh(cmd)
  local p = io.popen(cmd .. " 2>" .. tmp .. "/stderr; echo \"exit=$?\"")
  local out = p:read("a")
  p:close()
  local f = io.open(tmp .. "/stderr")
  local err = f:read("a")
  f:close()
  local code = tonumber(out:match("exit=(%d+)\n$"))
  return out:gsub("exit=%d+\n$", ""), err, code
end

-- A summary without what depends on the machine (time, rate, worker count).
local function stable(json)
  local s = cjson.decode(json)
  s.wall_s, s.runs_per_s, s.messages_per_s, s.jobs = nil, nil, nil, nil
  return s
end

local function plain(hay, needle) return hay:find(needle, 1, true) ~= nil end

-- Read a pipe of the process binding p to its end (at most tries polls of 100 ms).
local function read_to_end(p, fd, tries)
  local buf = ""
  for _ = 1, tries do
    if #p.poll({ fd }, 100) > 0 then
      local s = p.read(fd)
      if s == "" then break end
      buf = buf .. (s or "")
    end
  end
  return buf
end

describe("process binding #sim", function()
  it("spawns, reads a pipe, kills and reaps by pid", function()
    local p = proc()
    local pid, fd = p.spawn({ "sh", "-c", "echo one; echo two" })
    local buf = read_to_end(p, fd, 100)
    p.close(fd)
    assert.are.equal("one\ntwo\n", buf)
    assert.are.same({ "exit", 0 }, { p.wait(pid) })
    local pid2, fd2 = p.spawn({ "sleep", "30" })
    assert.is_nil(p.wait(pid2, true)) -- still running
    assert.is_true(p.kill(pid2, p.SIGTERM))
    assert.are.same({ "signal", p.SIGTERM }, { p.wait(pid2) })
    p.close(fd2)
    assert.is_true(p.ncpu() >= 1)
  end)
end)

describe("sweep's seed slices #unit", function()
  local sweep = require "skinny.sweep"
  it("parses seed ranges", function()
    assert.are.same({ 1, 10 }, { sweep.parse_seeds("1..10") })
    assert.are.same({ 7, 7 }, { sweep.parse_seeds("7") })
    for _, bad in ipairs{ "10..1", "abc", "0..5", "1..", "1.5..3", "" } do
      assert.is_false(pcall(sweep.parse_seeds, bad), bad)
    end
  end)
  it("slices seeds into shards and workers that cover the range once", function()
    assert.are.same({ 3, 6, 9 }, sweep.seeds_of(2, 10, { 2, 3 }))
    assert.are.same({ 3, 9 }, sweep.seeds_of(2, 10, { 2, 3 }, { 1, 2 }))
    assert.are.same({ 6 }, sweep.seeds_of(2, 10, { 2, 3 }, { 2, 2 }))
    local seen = {}
    for k = 1, 4 do
      for j = 1, 3 do
        for _, s in ipairs(sweep.seeds_of(5, 41, { k, 4 }, { j, 3 })) do
          assert.is_nil(seen[s], s)
          seen[s] = true
        end
      end
    end
    for s = 5, 41 do assert.is_true(seen[s], s) end
  end)
end)

describe("skinny sweep #sim", function()
  it("draws a progress line on a terminal", function()
    if not os.execute("command -v script >/dev/null 2>&1") then
      pending("no `script` (util-linux) to give the sweep a terminal")
      return
    end
    local out = sh("script -qc 'bin/skinny sweep scripts/experiments/duelling.lua --seeds 1..150 --jobs 2 "
                   .. ">/dev/null' /dev/null")
    assert.is_true(plain(out, "\r\27[K"), out)
    assert.is_true(plain(out, "/300 runs, 0 violations, "), out)
    assert.is_true(plain(out, "runs/s, ETA "), out)
  end)

  it("gives the same summary with --jobs 1 and --jobs 2", function()
    local one, _, c1 = sh("bin/skinny sweep scripts/experiments/basic.lua --seeds 1..20 --jobs 1 --json")
    local two, err, c2 = sh("bin/skinny sweep scripts/experiments/basic.lua --seeds 1..20 --jobs 2 --json")
    assert.are.equal("", err) -- no progress line in a pipe
    assert.are.equal(0, c1)
    assert.are.equal(0, c2)
    assert.are.same(stable(one), stable(two))
    local s = cjson.decode(two)
    assert.are.equal(20, s.runs)
    assert.are.equal(80, s.operations)
    assert.are.equal(2, s.jobs)
  end)

  it("has the --json shape", function()
    local out, _, code = sh("bin/skinny sweep scripts/experiments/duelling.lua --seeds 1..6 --jobs 2 --json")
    assert.are.equal(0, code)
    local s = cjson.decode(out)
    for _, k in ipairs{ "experiment", "seeds", "options", "runs", "operations", "violations", "unknown",
                        "errors", "messages", "complete", "variants", "wall_s", "runs_per_s" } do
      assert.is_not_nil(s[k], k)
    end
    assert.are.same({ 1, 6 }, s.seeds)
    assert.is_true(s.complete)
    assert.are.equal(12, s.runs) -- two variants
    assert.are.equal("none", s.variants[1].name)
    assert.are.equal("exponential_jitter", s.variants[2].name)
    local v = s.variants[2]
    for _, k in ipairs{ "runs", "operations", "definite", "definite_share", "violations", "violating_runs",
                        "unknown", "latency_p50_ms", "latency_p99_ms", "messages", "failing_seeds",
                        "failing_count", "replay" } do
      assert.is_not_nil(v[k], k)
    end
    assert.are.same({ fencing_tokens = 0, linearizable = 0, single_holder = 0 }, v.violations)
    assert.is_true(v.latency_p50_ms <= v.latency_p99_ms)
    -- one variant picked
    local one = cjson.decode((sh("bin/skinny sweep scripts/experiments/duelling.lua --seeds 1..6 --jobs 1 "
                                 .. "--variant none --json")))
    assert.are.equal(1, #one.variants)
    assert.are.same(s.variants[1], one.variants[1])
  end)

  it("finds the classic double grant, exits 1 and prints replays that fail again", function()
    local out, _, code = sh("bin/skinny sweep scripts/experiments/classic_double_grant.lua --seeds 1..12 --jobs 2")
    assert.are.equal(1, code, out)
    assert.is_true(plain(out, "violations: 12 runs (single holder 12"), out)
    assert.is_true(plain(out, "failing seeds: 12 (first 10: 1 2 3 4 5 6 7 8 9 10)"), out)
    local replay = out:match("\n%s*(bin/skinny run [^\n]*%-%-seed 3)\n")
    assert.is_not_nil(replay, out)
    local again, _, c = sh(replay .. " --quiet")
    assert.are.equal(1, c)
    assert.is_true(plain(again, "FAIL  single holder"), again)
    -- options pass through, to the runs and to the replay command
    local s = cjson.decode((sh("bin/skinny sweep scripts/experiments/basic.lua --seeds 1..3 --jobs 1 --json "
                               .. "--proposer spec/testdata/bad/own_value.lua")))
    assert.is_true(s.violations > 0)
    assert.is_true(plain(s.variants[1].replay[1], "--proposer spec/testdata/bad/own_value.lua"))
  end)

  it("draws a fault schedule per seed with --random-faults, replayed by `run --random-faults`", function()
    local cmd = "bin/skinny sweep scripts/experiments/duelling.lua --seeds 1..8 --json --variant none"
    local plain_run = cjson.decode((sh(cmd .. " --jobs 1")))
    local one, _, c1 = sh(cmd .. " --jobs 1 --random-faults")
    local two, _, c2 = sh(cmd .. " --jobs 2 --random-faults")
    assert.are.equal(0, c1)
    assert.are.equal(0, c2)
    assert.are.same(stable(one), stable(two))
    local faulty = cjson.decode(one)
    assert.are.same({ "--variant", "none", "--random-faults" }, faulty.options)
    assert.are_not.equal(plain_run.messages, faulty.messages) -- the faults changed the runs
    -- a failing seed's replay carries the option and fails the same way
    local out, _, code = sh("bin/skinny sweep scripts/experiments/failover.lua --seeds 1..4 --jobs 2 "
                            .. "--variant 'no identity' --random-faults")
    assert.are.equal(1, code, out)
    local replay = out:match("\n%s*(bin/skinny run [^\n]*)\n")
    assert.is_true(plain(replay, "--random-faults"), replay)
    local again, _, c = sh(replay .. " --quiet")
    assert.are.equal(1, c)
    assert.is_true(plain(again, "FAIL  single holder"), again)
  end)

  it("merges shards into the summary of the whole", function()
    local whole = sh("bin/skinny sweep scripts/experiments/classic_double_grant.lua --seeds 3..14 --jobs 2 --json")
    local files = {}
    for k = 1, 3 do
      local out, _, code = sh(("bin/skinny sweep scripts/experiments/classic_double_grant.lua --seeds 3..14 "
                               .. "--shard %d/3 --jobs 1 --json"):format(k))
      assert.are.equal(1, code)
      local s = cjson.decode(out)
      assert.are.equal("skinny-sweep-shard", s.kind)
      assert.are.equal(4, s.runs)
      files[k] = ("%s/shard%d.json"):format(tmp, k)
      local f = io.open(files[k], "w")
      f:write(out)
      f:close()
    end
    local merged, _, code = sh("bin/skinny sweep --merge " .. table.concat(files, " ", 1, 3) .. " --json")
    assert.are.equal(1, code)
    assert.are.same(stable(whole), stable(merged))
    -- a shard missing: incomplete, said on stderr
    local part, err = sh("bin/skinny sweep --merge " .. files[1] .. " " .. files[3])
    assert.is_true(plain(part, "INCOMPLETE"), part)
    assert.is_true(plain(err, "shards missing: 2/3"), err)
  end)

  it("refuses bad input with a message and exit 2", function()
    local cases = {
      { "scripts/experiments/basic.lua --seeds 10..1", "--seeds 10..1 is empty" },
      { "scripts/experiments/basic.lua --seeds abc", "--seeds needs a range A..B" },
      { "scripts/experiments/basic.lua --seeds 0..5", "seeds start at 1" },
      { "scripts/experiments/basic.lua", "sweep needs --seeds" },
      { "scripts/experiments/basic.lua --seeds 1..5 --jobs 0", "--jobs needs a whole number >= 1, not '0'" },
      { "scripts/experiments/basic.lua --seeds 1..5 --shard 3/2", "--shard needs K/N with 1 <= K <= N" },
      { "no/such/experiment.lua --seeds 1..5", "no/such/experiment.lua: no such experiment file" },
      { "spec/testdata/sweep/no_ops.lua --seeds 1..5", "has no checkable history" },
      { "scripts/experiments/duelling.lua --seeds 1..5 --variant nope", "has no variant 'nope'" },
      { "scripts/experiments/basic.lua --seeds 1..5 --frobnicate", "unknown option --frobnicate" },
      { "--merge scripts/experiments/basic.lua", "is not a sweep shard file" },
    }
    for _, c in ipairs(cases) do
      local _, err, code = sh("bin/skinny sweep " .. c[1])
      assert.are.equal(2, code, c[1] .. ": " .. err)
      assert.is_true(plain(err, c[2]), c[1] .. ": " .. err)
    end
    -- a shard of another sweep
    local a = tmp .. "/a.json"
    local b = tmp .. "/b.json"
    os.execute("bin/skinny sweep scripts/experiments/basic.lua --seeds 1..4 --shard 1/2 --json --jobs 1 >" .. a)
    os.execute("bin/skinny sweep scripts/experiments/basic.lua --seeds 1..4 --shard 2/2 --json --jobs 1 "
               .. "--backoff none >" .. b)
    local _, err, code = sh("bin/skinny sweep --merge " .. a .. " " .. b)
    assert.are.equal(2, code)
    assert.is_true(plain(err, "comes from another sweep"), err)
  end)

  it("stops every worker on SIGINT and prints the summary so far", function()
    local p = proc()
    local pid, fd = p.spawn({ "bin/skinny", "sweep", "scripts/experiments/duelling.lua", "--seeds", "1..1000000",
                              "--jobs", "2" })
    -- wait for both workers to start (children of the sweep in /proc)
    local kids = {}
    for _ = 1, 100 do
      kids = {}
      local ls = io.popen("ls /proc")
      for d in ls:lines() do
        if d:match("^%d+$") then
          local f = io.open("/proc/" .. d .. "/stat")
          local st = f and f:read("l")
          if f then f:close() end
          local ppid = st and st:match("^%d+ %b() %S+ (%d+)")
          if ppid and tonumber(ppid) == pid then kids[#kids + 1] = tonumber(d) end
        end
      end
      ls:close()
      if #kids == 2 then break end
      p.poll({}, 50)
    end
    assert.are.equal(2, #kids)
    p.poll({}, 500) -- let some runs finish
    assert.is_true(p.kill(pid, p.SIGINT))
    local out = read_to_end(p, fd, 200)
    p.close(fd)
    local how, code = p.wait(pid)
    assert.are.equal("exit", how)
    assert.are.equal(130, code)
    assert.is_true(plain(out, "INCOMPLETE: interrupted"), out)
    assert.is_true(plain(out, "of 2000000 runs done"), out)
    for _, k in ipairs(kids) do
      assert.is_nil(io.open("/proc/" .. k .. "/stat"), "worker " .. k .. " still there")
    end
  end)
end)

describe("skinny.sweep #sim", function()
  it("says there is no violation over these seeds, in process or in workers", function()
    local a = skinny.sweep{ experiment = "scripts/experiments/basic.lua", seeds = { 1, 10 }, jobs = 1 }
    assert.are.equal(0, a.violations)
    assert.are.equal(10, a.runs)
    local b = skinny.sweep{ experiment = "scripts/experiments/basic.lua", seeds = { 1, 10 }, jobs = 2 }
    a.wall_s, a.runs_per_s, a.messages_per_s, a.jobs = nil, nil, nil, nil
    b.wall_s, b.runs_per_s, b.messages_per_s, b.jobs = nil, nil, nil, nil
    assert.are.same(a, b)
    local c = skinny.sweep{ experiment = "scripts/experiments/duelling.lua", seeds = { 1, 3 }, jobs = 1,
                            variant = "none", backoff = "exponential_jitter" }
    assert.are.equal(3, c.runs)
    assert.are.same({ "--backoff", "exponential_jitter", "--variant", "none" }, c.options)
    local ok, err = pcall(skinny.sweep, { experiment = "scripts/experiments/basic.lua", seeds = { 5, 1 } })
    assert.is_false(ok)
    assert.is_true(plain(err, "is empty"), err)
  end)
end)

teardown(function() os.execute("rm -rf " .. tmp) end)
