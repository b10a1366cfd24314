-- The hostile corpus (spec/testdata/hostile/) against real daemons (tag
-- #e2e). One lab of 3 skinnyd on 127.0.0.1 (free ports, a fresh run
-- directory, stopped at the end) is started with copies of the shipped good
-- scripts at temporary paths: lock.lua, proposer.lua and backoff.lua. For
-- each case its file is copied over the path of its kind, the others get
-- their good copies back, and catbus reloads them in place (the daemon's
-- CONTROL reload re-reads the same paths). Then:
--   * a hook case is provoked through catbus as in spec/hostile_spec.lua (a
--     backoff case with catbus cut off from kanta and mei); each provoked
--     request fails with "error", the hook, "<temporary path>:<line>:" and
--     the reason;
--   * a load-time case makes the reload fail with the path, line and reason,
--     and catbus keeps the scripts it had;
--   * either way catbus then grants and releases the same lock for another
--     holder, and it is the same process (same pid, running) throughout.
-- Every case of the corpus runs here. The `budget` header is not applied:
-- the daemons keep their default budget (10 000 000 instructions), which
-- only makes the looping cases take a little longer.
-- The temporary directory is under /tmp, not $TMPDIR: Lua shortens a script
-- path of 60 characters or more in its messages ("...tail"), and the
-- assertions look for the whole path.
-- Run with `busted --lua=lua5.4 spec/e2e/hostile_spec.lua` after `make`.
local real = require "skinny.real"
local hostile = require "helpers.hostile"

local GOOD = { lock = "scripts/locks/advisory.lua", proposer = "scripts/proposers/paxos.lua",
               backoff = "scripts/backoff/exponential_jitter.lua" }

local function copy(from, to)
  local f = assert(io.open(from, "rb"))
  local text = f:read("a")
  f:close()
  local w = assert(io.open(to, "wb"))
  w:write(text)
  w:close()
end

local has = hostile.has

local procs = require "helpers.procs"
local running = procs.running

-- The pid of instance `name`.
local function pid_of(lab, name)
  return (procs.pids(lab))[name]
end

local function wait(lab, op) return hostile.wait(lab, op, 15000) end

local files = hostile.corpus()

describe("the hostile corpus on real daemons #e2e", function()
  local lab, tmp, paths, pid
  local provoked = 0

  -- Put the case's file (or none) at its kind's path, good copies elsewhere.
  local function install(c)
    for kind, p in pairs(paths) do
      copy(c and c.kind == kind and c.path or GOOD[kind], p)
    end
  end

  setup(function()
    tmp = assert(real.C.mkdtemp("/tmp/skinny-hostile.XXXXXX"))
    paths = { lock = tmp .. "/lock.lua", proposer = tmp .. "/proposer.lua",
              backoff = tmp .. "/backoff.lua" }
    install(nil)
    lab = real.lab{ nodes = 3, lock = paths.lock, proposer = paths.proposer,
                    backoff = paths.backoff, phase_timeout = 200, client_timeout = 5000,
                    fsync = false }
    pid = pid_of(lab, "catbus")
  end)

  teardown(function()
    if lab then lab:close() end
    if tmp then os.execute("rm -rf '" .. tmp .. "'") end
  end)

  it("start with catbus running the good copies", function()
    assert.is_number(pid)
    assert.is_true(running(pid))
    local op = wait(lab, lab:client("giraffe", { node = "catbus" }):acquire("printer"))
    assert.are.equal("granted", op.status, op.text)
    op = wait(lab, lab:client("giraffe", { node = "catbus" }):release("printer"))
    assert.are.equal("released", op.status, op.text)
  end)

  for _, file in ipairs(files) do
    local c, why = hostile.read_case(file)
    it(file .. (c and (": " .. c.expect) or ""), function()
      assert.is_table(c, why)
      local path = paths[c.kind]
      local where = c.line == "none" and path .. ":" or ("%s:%d:"):format(path, c.bad)
      install(c)
      finally(function()
        lab:heal()
        install(nil)
        assert.is_true(lab:reload("catbus"))
      end)
      if c.when == "load" then
        local ok, err = lab:reload("catbus")
        local say = ("%s: %s"):format(file, tostring(err))
        assert.is_nil(ok, file .. " loaded")
        assert.is_true(has(err, "keeping the old scripts"), say)
        assert.is_true(has(err, where), ("no %q: %s"):format(where, say))
        assert.is_true(has(err, c.expect), ("no %q: %s"):format(c.expect, say))
      elseif c.hook == "describe" then
        assert.is_true(lab:reload("catbus"))
        hostile.assert_describe_fails(c, lab, where, 15000)
      else
        assert.is_true(lab:reload("catbus"))
        if c.kind == "backoff" then lab:partition({ "catbus" }, { "kanta", "mei" }) end
        for i = 1, c.times do
          local holder = c.kind == "lock" and "mallory" or "beaver"
          local op = wait(lab, lab:client(holder, { node = "catbus" }):acquire("printer"))
          hostile.assert_fails(c, op, where, ("provoked %d of %d"):format(i, c.times))
          provoked = provoked + 1
        end
        if c.kind == "backoff" then lab:heal() end
      end
      -- the same daemon answers a good request on the same lock
      hostile.assert_serves(lab, 15000)
      assert.is_true(running(pid), "catbus (pid " .. pid .. ") is gone")
      assert.are.equal(pid, pid_of(lab, "catbus"))
    end)
  end

  it("count one hook_error in catbus's trace per provoked request", function()
    assert.is_true(provoked > 0)
    assert.are.equal(provoked, lab:metrics().hook_errors)
    print(("hostile corpus on real daemons: %d cases, %d provoked requests failed"):format(
      #files, provoked))
  end)
end)
