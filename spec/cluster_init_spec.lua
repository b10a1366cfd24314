-- `bin/skinny cluster init` (scripts/skinny/cluster_cli.lua): the files it writes for a
-- cluster on real hosts (configs, key, unit, quorum.json, README.txt), what they say,
-- the key's mode and format, and the refusals (exit 2, nothing written). Plus the
-- binding that writes the key (proc.write_private, bindings/lua_proc.c). The cluster
-- itself runs in spec/e2e/cluster_init_spec.lua.
local cjson = require "cjson"
local cluster = require "skinny.cluster_cli"

local REPO = os.getenv("PWD")

local function proc() return require "helpers.proc" end

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local tmp = os.tmpname()
os.remove(tmp)
assert(os.execute("mkdir -p " .. q(tmp)))
local serial = 0
-- a path in tmp that does not exist yet
local function fresh(name)
  serial = serial + 1
  return ("%s/%s%d"):format(tmp, name or "out", serial)
end

-- Run a shell command: stdout, stderr, exit status.
local function sh(cmd)
  local p = io.popen(cmd .. " 2>" .. q(tmp .. "/stderr") .. "; echo \"exit=$?\"")
  local out = p:read("a")
  p:close()
  local f = assert(io.open(tmp .. "/stderr"))
  local err = f:read("a")
  f:close()
  local code = tonumber(out:match("exit=(%d+)\n$"))
  return out:gsub("exit=%d+\n$", ""), err, code
end

local function init(args) return sh("bin/skinny cluster init " .. args) end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function mode(path)
  local out = sh("stat -c %a " .. q(path))
  return out:match("^(%d+)")
end

local function ls(dir)
  local out, _, code = sh("ls -A " .. q(dir))
  if code ~= 0 then return nil end
  local t = {}
  for w in out:gmatch("[^\n]+") do t[#t + 1] = w end
  table.sort(t)
  return t
end

local function plain(hay, needle) return hay ~= nil and hay:find(needle, 1, true) ~= nil end

teardown(function() os.execute("rm -rf " .. q(tmp)) end)

describe("skinny cluster init", function()
  it("writes a config per host, the key, quorum.json, the unit and README.txt", function()
    local dir = fresh()
    local out, err, code = init("--hosts 10.0.0.1,10.0.0.2,10.0.0.3 -o " .. q(dir))
    assert.equal(0, code, err)
    assert.same({ "README.txt", "catbus.json", "cluster.key", "kanta.json", "mei.json", "quorum.json",
                  "skinnyd@.service" }, ls(dir))
    assert.equal("700", mode(dir)) -- it holds the key
    -- the key: 32 random bytes as 64 lowercase hex digits and a newline, mode 0600
    local key = read(dir .. "/cluster.key")
    assert.truthy(key:match("^%x+\n$") and key == key:lower(), key)
    assert.equal(65, #key)
    assert.equal("600", mode(dir .. "/cluster.key"))
    -- never printed, nor written anywhere else
    local hex = key:sub(1, 64)
    assert.is_false(plain(out, hex) or plain(err, hex))
    for _, f in ipairs(ls(dir)) do
      if f ~= "cluster.key" then assert.is_false(plain(read(dir .. "/" .. f), hex), f) end
    end
    -- the configs: the same cluster list everywhere, each listening on its own address
    local want = { { name = "catbus", address = "10.0.0.1:7000" }, { name = "kanta", address = "10.0.0.2:7000" },
                   { name = "mei", address = "10.0.0.3:7000" } }
    for _, m in ipairs(want) do
      local c = cjson.decode(read(dir .. "/" .. m.name .. ".json"))
      assert.equal(m.name, c.name)
      assert.equal(m.address, c.listen)
      assert.same(want, c.cluster)
      assert.equal("/var/lib/skinny/" .. m.name, c.data_dir)
      assert.equal("/usr/local/share/skinny/scripts", c.scripts_dir)
      assert.equal("cluster.key", c.cluster_key)
      local keys = {}
      for k in pairs(c) do keys[#keys + 1] = k end
      table.sort(keys)
      assert.same({ "cluster", "cluster_key", "data_dir", "listen", "name", "scripts_dir" }, keys)
      assert.is_false(plain(read(dir .. "/" .. m.name .. ".json"), "\\/")) -- plain paths
    end
    assert.same({ "10.0.0.1:7000", "10.0.0.2:7000", "10.0.0.3:7000" }, cjson.decode(read(dir .. "/quorum.json")))
    -- the unit, rendered with the default prefix
    local unit = read(dir .. "/skinnyd@.service")
    assert.truthy(plain(unit, "\nExecStart=/usr/local/bin/skinnyd --config /etc/skinny/%i.json $SKINNYD_BOOTSTRAP\n"))
    assert.falsy(unit:match("@[%u_]+@"))
    -- README.txt: every host, its instance and its files; the commands
    local readme = read(dir .. "/README.txt")
    for _, m in ipairs(want) do
      assert.truthy(plain(readme, m.address) and plain(readme, m.name .. ".json"), m.name)
    end
    for _, s in ipairs{ "scp ", "install -o skinny -g skinny -m 0600 cluster.key /etc/skinny/",
                        "systemctl enable --now skinnyd@catbus", "SKINNYD_BOOTSTRAP=--bootstrap",
                        "skinnyctl --quorum /etc/skinny/quorum.json status" } do
      assert.truthy(plain(readme, s), s)
    end
    -- the summary names the files and says where to read on
    assert.truthy(plain(out, "cluster init: 3 instances in " .. dir))
    assert.truthy(plain(out, "README.txt"))
  end)

  it("makes a new key each time, mode 0600 whatever the umask", function()
    local a, b = fresh(), fresh()
    local _, err, code = sh("umask 000; bin/skinny cluster init --hosts 10.0.0.1 -o " .. q(a))
    assert.equal(0, code, err)
    assert.equal("600", mode(a .. "/cluster.key"))
    _, err, code = init("--hosts 10.0.0.1 -o " .. q(b))
    assert.equal(0, code, err)
    assert.are_not.equal(read(a .. "/cluster.key"), read(b .. "/cluster.key"))
    assert.truthy(plain(err, "one host: no instance may fail"))
  end)

  it("takes host:port entries, --names, --port, IPv6 in brackets, and the prefix", function()
    local dir = fresh()
    local _, err, code = init("--hosts 127.0.0.1:7101,127.0.0.1:7102,[2001:DB8::5],127.0.0.2 --port 7200 "
      .. "--names a1,b-2,c_3,D4 --prefix /opt/skinny/ --data-dir /srv/skinny -o " .. q(dir))
    assert.equal(0, code, err)
    local c = cjson.decode(read(dir .. "/c_3.json"))
    assert.same({ { name = "a1", address = "127.0.0.1:7101" }, { name = "b-2", address = "127.0.0.1:7102" },
                  { name = "c_3", address = "[2001:db8::5]:7200" }, { name = "D4", address = "127.0.0.2:7200" } },
                c.cluster)
    assert.equal("[2001:db8::5]:7200", c.listen)
    assert.equal("/srv/skinny/c_3", c.data_dir)
    assert.equal("/opt/skinny/share/skinny/scripts", c.scripts_dir)
    assert.truthy(plain(read(dir .. "/skinnyd@.service"), "ExecStart=/opt/skinny/bin/skinnyd "))
    -- a data directory outside the unit's StateDirectory= gets a drop-in that lets it write there
    assert.equal("[Service]\nReadWritePaths=/srv/skinny\n",
                 read(dir .. "/skinnyd@.service.d/data-dir.conf"):match("%[Service%].*$"))
    assert.truthy(plain(read(dir .. "/README.txt"), "install -d -o skinny -g skinny -m 0700 /srv/skinny"))
    -- four hosts: the note says why an odd count is better
    assert.truthy(plain(err, "4 hosts: an even count survives no more failures than 3 hosts do"), err)
  end)

  it("names more than five hosts node1..nodeN, and takes at most 16", function()
    local hosts = {}
    for i = 1, 7 do hosts[i] = "10.0.1." .. i end
    local dir = fresh()
    local _, err, code = init("--hosts " .. table.concat(hosts, ",") .. " -o " .. q(dir))
    assert.equal(0, code, err)
    local c = cjson.decode(read(dir .. "/node7.json"))
    assert.equal("node7", c.name)
    assert.equal("node1", c.cluster[1].name)
    assert.equal(7, #c.cluster)
    for i = 8, 17 do hosts[i] = "10.0.1." .. i end
    dir = fresh()
    _, err, code = init("--hosts " .. table.concat(hosts, ",") .. " -o " .. q(dir))
    assert.equal(2, code)
    assert.truthy(plain(err, "17 hosts; a cluster has at most 16"), err)
    assert.is_nil(ls(dir))
  end)

  it("points scripts_dir at PREFIX/scripts when PREFIX is a source tree, or at --scripts-dir", function()
    local dir = fresh()
    local out, err, code = init("--hosts 10.0.0.1,10.0.0.2,10.0.0.3 --prefix " .. q(REPO) .. " -o " .. q(dir))
    assert.equal(0, code, err)
    assert.equal(REPO .. "/scripts", cjson.decode(read(dir .. "/kanta.json")).scripts_dir)
    assert.truthy(plain(out, "PREFIX is a Skinny source tree"))
    assert.truthy(plain(read(dir .. "/skinnyd@.service"), "ExecStart=" .. REPO .. "/bin/skinnyd "))
    dir = fresh()
    out, err, code = init("--hosts 10.0.0.1 --prefix " .. q(REPO) .. " --scripts-dir /etc/skinny/scripts -o " .. q(dir))
    assert.equal(0, code, err)
    assert.truthy(plain(out, "scripts_dir: /etc/skinny/scripts (--scripts-dir)"), out)
    assert.equal("/etc/skinny/scripts", cjson.decode(read(dir .. "/catbus.json")).scripts_dir)
    -- the sandbox hides /home and /tmp from the unit: said, not refused (tests start daemons by hand)
    dir = fresh()
    out, err, code = init("--hosts 10.0.0.1 --prefix /home/ann/skinny --data-dir /tmp/x -o " .. q(dir))
    assert.equal(0, code, out .. err)
    assert.truthy(plain(err, "note: --prefix /home/ann/skinny: the unit skinnyd@.service cannot reach /home "
                             .. "(ProtectHome=yes, PrivateTmp=yes)"), err)
    assert.truthy(plain(err, "note: --data-dir /tmp/x: the unit"), err)
  end)

  it("renders the unit template's one placeholder, and refuses a template with another", function()
    local text = read("deploy/skinnyd@.service.in")
    local seen = {}
    for p in text:gmatch("@[%u_]+@") do seen[p] = true end
    assert.same({ ["@BINDIR@"] = true }, seen)
    local unit = assert(cluster.render_unit(text, "/usr/bin"))
    assert.truthy(plain(unit, "ExecStart=/usr/bin/skinnyd --config /etc/skinny/%i.json"))
    local u2, why = cluster.render_unit(text .. "\n# @SYSCONFDIR@\n", "/usr/bin")
    assert.is_nil(u2)
    assert.truthy(plain(why, "@SYSCONFDIR@"))
    -- what the brief of the unit promises
    for _, line in ipairs{ "User=skinny", "NoNewPrivileges=yes", "StateDirectory=skinny/%i", "ProtectSystem=strict",
                           "ProtectHome=yes", "PrivateTmp=yes", "Restart=on-failure",
                           "RestrictAddressFamilies=AF_INET AF_INET6",
                           "EnvironmentFile=-/run/skinny/%i.bootstrap",
                           "ExecStartPost=+/bin/rm -f /run/skinny/%i.bootstrap" } do
      assert.truthy(plain(text, "\n" .. line .. "\n"), line)
    end
  end)

  it("writes a unit that systemd-analyze verify accepts (where systemd is installed)", function()
    local _, _, has = sh("command -v systemd-analyze")
    if has ~= 0 then pending("systemd-analyze is not installed here") return end
    local dir = fresh()
    local _, err, code = init("--hosts 10.0.0.1 --prefix " .. q(REPO) .. " -o " .. q(dir))
    assert.equal(0, code, err)
    local out
    out, err, code = sh("cd " .. q(dir) .. " && systemd-analyze verify --man=no ./skinnyd@.service")
    assert.equal(0, code, out .. err)
    -- and it says so when something is wrong: a unit that runs a program that is not there
    local bad = read(dir .. "/skinnyd@.service"):gsub("bin/skinnyd ", "bin/no-such-skinnyd ")
    local f = assert(io.open(dir .. "/bad@.service", "w"))
    f:write(bad)
    f:close()
    out, err, code = sh("cd " .. q(dir) .. " && systemd-analyze verify --man=no ./bad@.service")
    assert.are_not.equal(0, code, out .. err)
  end)
end)

describe("skinny cluster init refuses, with exit 2 and nothing written", function()
  local cases = {
    { "no --hosts", "-o DIR", "--hosts is required" },
    { "-o missing", "--hosts 10.0.0.1", "-o DIR is required" },
    { "a host name", "--hosts 10.0.0.1,db1.example.org -o DIR",
      "'db1.example.org' is not a numeric address (skinnyd takes no host names" },
    { "an IPv4 address out of range", "--hosts 10.0.0.1,10.0.0.256 -o DIR", "'10.0.0.256' is not an IPv4 address" },
    { "0.0.0.0", "--hosts 0.0.0.0 -o DIR", "0.0.0.0 names no host" },
    { "IPv6 without brackets", "--hosts 2001:db8::1 -o DIR", "an IPv6 address goes in brackets" },
    { "a bad IPv6 address", "--hosts [2001:db8::1::2] -o DIR", "'2001:db8::1::2' is not an IPv6 address" },
    { "port 0", "--hosts 10.0.0.1:0 -o DIR", "--hosts: '10.0.0.1:0': the port must be a number from 1 to 65535" },
    { "port 70000", "--hosts 10.0.0.1:70000 -o DIR", "the port must be a number from 1 to 65535, not '70000'" },
    { "a bad --port", "--hosts 10.0.0.1 --port seven -o DIR", "--port: the port must be a number" },
    { "an empty entry", "--hosts 10.0.0.1,,10.0.0.2 -o DIR", "--hosts: an empty entry" },
    { "a host twice", "--hosts 10.0.0.1,10.0.0.2,10.0.0.1:7000 -o DIR",
      "--hosts: 10.0.0.1:7000 is given twice (entries 1 and 3)" },
    { "fewer names than hosts", "--hosts 10.0.0.1,10.0.0.2,10.0.0.3 --names a,b -o DIR",
      "--names gives 2 names for 3 hosts" },
    { "more names than hosts", "--hosts 10.0.0.1 --names a,b -o DIR", "--names gives 2 names for 1 host" },
    { "a name with a slash", "--hosts 10.0.0.1,10.0.0.2 --names a,b/c -o DIR", "--names: 'b/c' is not a name" },
    { "a name starting with a digit", "--hosts 10.0.0.1 --names 1a -o DIR", "--names: '1a' is not a name" },
    { "a name twice", "--hosts 10.0.0.1,10.0.0.2 --names a,a -o DIR", "--names: 'a' is given twice" },
    { "a name taken by a file", "--hosts 10.0.0.1 --names quorum -o DIR", "--names: 'quorum' is taken" },
    { "a relative prefix", "--hosts 10.0.0.1 --prefix usr/local -o DIR", "--prefix must be an absolute path" },
    { "a data dir with a space", "--hosts 10.0.0.1 --data-dir '/var/lib/my skinny' -o DIR",
      "the character ' ' is not allowed" },
    { "an unknown option", "--hosts 10.0.0.1 --colour -o DIR", "unknown option --colour" },
  }
  for _, c in ipairs(cases) do
    it(c[1], function()
      local dir = fresh()
      local out, err, code = init((c[2]:gsub("DIR", function() return q(dir) end)))
      assert.equal(2, code, out .. err)
      assert.truthy(plain(err, c[3]), ("want %q in: %s"):format(c[3], err))
      assert.truthy(plain(err, "skinny cluster init: "), err)
      assert.is_nil(ls(dir)) -- not even the directory
    end)
  end

  it("a directory that is not empty, unless --force", function()
    local dir = fresh()
    assert(os.execute("mkdir " .. q(dir) .. " && echo hi > " .. q(dir .. "/notes.txt")))
    local out, err, code = init("--hosts 10.0.0.1 -o " .. q(dir))
    assert.equal(2, code, out)
    assert.truthy(plain(err, "-o " .. dir .. " is not empty (notes.txt): choose an empty or new directory, "
                             .. "or give --force"), err)
    assert.same({ "notes.txt" }, ls(dir))
    out, err, code = init("--hosts 10.0.0.1 --force -o " .. q(dir))
    assert.equal(0, code, out .. err)
    assert.same({ "README.txt", "catbus.json", "cluster.key", "notes.txt", "quorum.json", "skinnyd@.service" },
                ls(dir))
  end)

  it("a key already there, even with --force, and the key is left as it was", function()
    local dir = fresh()
    local _, err, code = init("--hosts 10.0.0.1,10.0.0.2,10.0.0.3 -o " .. q(dir))
    assert.equal(0, code, err)
    local key, conf = read(dir .. "/cluster.key"), read(dir .. "/kanta.json")
    for _, force in ipairs{ "", "--force " } do
      local out
      out, err, code = init("--hosts 10.0.0.4,10.0.0.5,10.0.0.6 " .. force .. "-o " .. q(dir))
      assert.equal(2, code, out)
      assert.truthy(plain(err, dir .. "/cluster.key already exists: cluster init never replaces a key"), err)
      assert.equal(key, read(dir .. "/cluster.key"))
      assert.equal(conf, read(dir .. "/kanta.json"))
    end
  end)

  it("a subcommand other than init", function()
    local _, err, code = sh("bin/skinny cluster frob")
    assert.equal(2, code)
    assert.truthy(plain(err, "skinny cluster: unknown subcommand 'frob' (there is one: init)"), err)
  end)

  it("-o naming a file", function()
    local file = fresh()
    assert(os.execute("echo x > " .. q(file)))
    local _, err, code = init("--hosts 10.0.0.1 -o " .. q(file))
    assert.equal(2, code)
    assert.truthy(plain(err, "-o " .. file .. ": not a directory"), err)
  end)
end)

describe("proc.write_private", function()
  local p = proc()

  it("creates the file with mode 0600 and the text, fsync'd", function()
    local path = fresh("key")
    assert.is_true(p.write_private(path, "secret\n"))
    assert.equal("secret\n", read(path))
    assert.equal("600", mode(path))
  end)

  it("never replaces a file, nor follows a symlink", function()
    local path = fresh("key")
    assert(os.execute("echo old > " .. q(path)))
    local ok, err = p.write_private(path, "new\n")
    assert.is_nil(ok)
    assert.equal("cannot create " .. path .. ": File exists", err)
    assert.equal("old\n", read(path))
    local target, link = fresh("target"), fresh("link")
    assert(os.execute("ln -s " .. q(target) .. " " .. q(link)))
    ok, err = p.write_private(link, "new\n")
    assert.is_nil(ok)
    assert.truthy(plain(err, link), err)
    assert.is_nil(read(target))
  end)

  it("names the path when the directory is missing", function()
    local path = fresh("nodir") .. "/key"
    local ok, err = p.write_private(path, "x")
    assert.is_nil(ok)
    assert.equal("cannot create " .. path .. ": No such file or directory", err)
  end)
end)
