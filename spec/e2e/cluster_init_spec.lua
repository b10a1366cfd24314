-- `bin/skinny cluster init` end to end (tag #e2e): the files it writes run a cluster.
-- Three instances on 127.0.0.1 (ports free at run time, as three hosts would have
-- one address each), `--prefix` the repository (the configs' scripts_dir is then its
-- scripts/), data in a temporary directory. Each daemon is started as the unit would
-- start it on its first start (`skinnyd --config NAME.json --bootstrap`), skinnyctl
-- reads the cluster from the quorum.json written beside the configs, and every daemon
-- started here is stopped by its PID (SIGTERM, then SIGKILL if it lingers).
-- Run with `busted --lua=lua5.4 spec/e2e/cluster_init_spec.lua` after `make`.
local REPO = os.getenv("PWD")

local function proc() return require "helpers.proc" end

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- A shell command's output (stdout and stderr) and exit status.
local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1; echo \"exit=$?\"")
  local out = p:read("a")
  p:close()
  return out:gsub("exit=%d+\n$", ""), tonumber(out:match("exit=(%d+)\n$"))
end

local function plain(hay, needle) return hay:find(needle, 1, true) ~= nil end

local function read(path)
  local f = io.open(path, "r")
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end

local function sleep_ms(p, ms) p.poll({}, ms) end

describe("a cluster from skinny cluster init #e2e", function()
  local p = proc()
  local tmp, pids = nil, {}

  -- SIGTERM to every daemon started here, SIGKILL after 5 s; how each ended
  -- ("exit 0", "signal 9", or nil if it had already been reaped)
  local function stop_all()
    local ended = {}
    for name, pid in pairs(pids) do
      if p.kill(pid, p.SIGTERM) then
        local how, n
        for _ = 1, 50 do
          how, n = p.wait(pid, true)
          if how then break end
          sleep_ms(p, 100)
        end
        if not how then
          p.kill(pid, p.SIGKILL)
          how, n = p.wait(pid)
        end
        ended[name] = how and (how .. " " .. n)
      end
      pids[name] = nil
    end
    return ended
  end

  teardown(function()
    stop_all()
    if tmp then os.execute("rm -rf " .. q(tmp)) end
  end)

  it("three daemons on the written configs: status lists all three, an acquire is granted", function()
    tmp = os.tmpname()
    os.remove(tmp)
    assert(os.execute("mkdir -p " .. q(tmp .. "/data")))
    local dir = tmp .. "/cluster"
    local ports = assert(p.free_ports(3))
    local hosts = {}
    for i, port in ipairs(ports) do hosts[i] = "127.0.0.1:" .. port end
    local out, code = sh(("bin/skinny cluster init --hosts %s --data-dir %s --prefix %s -o %s")
      :format(table.concat(hosts, ","), q(tmp .. "/data"), q(REPO), q(dir)))
    assert.equal(0, code, out)
    local names = { "catbus", "kanta", "mei" }

    for _, name in ipairs(names) do
      local conf = dir .. "/" .. name .. ".json"
      out, code = sh("bin/skinnyd --config " .. q(conf) .. " --check")
      assert.equal(0, code, out)
      assert.truthy(plain(out, conf .. ": ok"), out)
    end
    for _, name in ipairs(names) do
      local log = tmp .. "/" .. name .. ".log"
      local pid, fd = p.spawn({ "sh", "-c", ("exec bin/skinnyd --config %s --bootstrap >%s 2>&1")
        :format(q(dir .. "/" .. name .. ".json"), q(log)) })
      assert.is_number(pid, fd)
      p.close(fd)
      pids[name] = pid -- bin/skinnyd execs build/skinnyd: the same process
    end
    finally(function() stop_all() end)

    -- every instance answers, by the name its config gives it
    local ctl = "bin/skinnyctl --quorum " .. q(dir .. "/quorum.json") .. " --cluster-key "
      .. q(dir .. "/cluster.key") .. " --timeout 2s "
    for i, name in ipairs(names) do
      local ok
      for _ = 1, 100 do
        out, code = sh(ctl .. "ping " .. i)
        if code == 0 then ok = true break end
        for n, pid in pairs(pids) do
          assert.is_nil(p.wait(pid, true), n .. " exited: " .. read(tmp .. "/" .. n .. ".log"))
        end
        sleep_ms(p, 100)
      end
      assert.is_true(ok, out .. read(tmp .. "/" .. name .. ".log"))
      assert.truthy(plain(out, hosts[i] .. ": " .. name), out)
    end
    out, code = sh(ctl .. "status")
    assert.equal(0, code, out)
    for _, name in ipairs(names) do assert.truthy(out:find("\n" .. name .. " "), out) end

    out, code = sh(ctl .. "acquire beaver --lock printer")
    assert.equal(0, code, out)
    assert.truthy(plain(out, 'granted: beaver holds "printer"'), out)
    out, code = sh(ctl .. "acquire giraffe --lock printer")
    assert.equal(1, code, out)
    assert.truthy(plain(out, "beaver"), out)
    -- a majority (2 of 3) accepted the grant, so status shows it on two at least
    out = sh(ctl .. "status --lock printer")
    local held = select(2, out:gsub("held by beaver", ""))
    assert.is_true(held >= 2, out)
    -- each instance keeps its state in DATA/NAME, as its config says
    for _, name in ipairs(names) do
      assert.equal(0, select(2, sh("test -d " .. q(tmp .. "/data/" .. name))), name)
    end

    -- the daemons authenticated their links with the written key, and a control
    -- command without it is refused
    out, code = sh("bin/skinnyctl --quorum " .. q(dir .. "/quorum.json") .. " --timeout 2s ping 1")
    assert.are_not.equal(0, code, out)
    assert.truthy(plain(out, "--cluster-key"), out)

    -- SIGTERM: each closes its connections and exits 0 (spec/DAEMON.md)
    assert.same({ catbus = "exit 0", kanta = "exit 0", mei = "exit 0" }, stop_all())
    for _, name in ipairs(names) do
      assert.falsy(plain(read(tmp .. "/" .. name .. ".log"), " error:"), read(tmp .. "/" .. name .. ".log"))
    end
  end)
end)
