-- skinny.cluster_cli: `skinny cluster init`, the files that run a Skinny cluster on
-- real hosts (doc/DEPLOY.md): one skinnyd config per host, the cluster's secret key,
-- the systemd unit rendered from deploy/skinnyd@.service.in, the addresses for
-- skinnyctl, and a README.txt saying which file goes where.
--
-- M.plan(o) checks the options (as skinny.args parses them, `-o` as o.output) and
-- returns what to write, or raises a usage error (a table {usage = message});
-- M.main runs the command. Exit status: 0 written, 2 bad usage or nothing written.
local M = {}

M.USAGE = [==[
usage: skinny cluster init --hosts H1,H2,H3 [--names N1,N2,N3] [--port N] -o DIR
                           [--prefix DIR] [--data-dir DIR] [--scripts-dir DIR] [--force]

Writes into DIR everything a cluster of skinnyd on real hosts needs:
  NAME.json          one skinnyd config per host (listen on its address, the whole
                     cluster list, data_dir, scripts_dir, cluster_key)
  cluster.key        the cluster's secret key: 32 random bytes as 64 hex digits,
                     mode 0600, never printed; cluster init never replaces one
  quorum.json        the cluster's addresses, for skinnyctl --quorum FILE
  skinnyd@.service   the systemd unit (from deploy/skinnyd@.service.in)
  README.txt         which file goes to which host, and the commands
doc/DEPLOY.md walks from fresh Debian hosts to `skinnyctl status`.

  --hosts LIST       1 to 16 hosts, comma-separated: a numeric IPv4 address, a
                     bracketed IPv6 address ([2001:db8::1]), either with :PORT
                     (10.0.0.1:7001; several instances on one address need it)
  --names LIST       the instances' names, one per host, in the same order
                     (default: catbus, kanta, mei, satsuki, totoro for up to
                     five hosts, else node1..nodeN); letters, digits, '_' and
                     '-', starting with a letter, at most 32
  --port N           the port of hosts given without one (default 7000)
  -o DIR             where to write (created, mode 0700, if missing); it must be
                     empty unless --force
  --prefix DIR       where Skinny is installed on the hosts (default /usr/local):
                     the unit runs PREFIX/bin/skinnyd
  --data-dir DIR     each instance keeps its state in DIR/NAME (default
                     /var/lib/skinny, the unit's state directory)
  --scripts-dir DIR  the configs' scripts_dir (default PREFIX/share/skinny/scripts,
                     or PREFIX/scripts when PREFIX is a Skinny source tree here)
  --force            write into a DIR that is not empty (never over a cluster.key)

An odd number of hosts is recommended: a cluster of N survives N - (N/2 + 1)
failures, so 4 hosts survive no more than 3 do.
exit status: 0 written, 2 bad usage (nothing written)]==]

M.DEFAULT_PORT = 7000
M.DEFAULT_PREFIX = "/usr/local"
M.DEFAULT_DATA_DIR = "/var/lib/skinny"
M.MAX_HOSTS = 16
-- the classic five of the talk and of `skinny lab up` (runtime/cmd/skinny_lab.c)
M.CLASSIC = { "catbus", "kanta", "mei", "satsuki", "totoro" }
-- file names in DIR that an instance's NAME.json must not take
local RESERVED = { quorum = true }

local function usage(msg) error({ usage = msg }, 0) end

-- A JSON string. The values written are checked before (names, addresses, paths of a
-- few characters), but quote properly all the same. No "\/" (cjson writes one).
local function jstr(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    if c == '"' or c == "\\" then return "\\" .. c end
    if c == "\n" then return "\\n" end
    if c == "\t" then return "\\t" end
    return ("\\u%04x"):format(c:byte())
  end) .. '"'
end
M.json_string = jstr

local function sh_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- A port: digits, 1..65535.
local function port_of(text, what)
  local n = text:match("^%d+$") and tonumber(text)
  if not n or n < 1 or n > 65535 then
    usage(("%s: the port must be a number from 1 to 65535, not '%s'"):format(what, text))
  end
  return math.tointeger(n)
end

local function ipv4_ok(h)
  local parts = { h:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$") }
  if #parts ~= 4 then return false end
  for _, p in ipairs(parts) do
    if #p > 1 and p:sub(1, 1) == "0" then return false end -- 010: octal to some readers
    if tonumber(p) > 255 then return false end
  end
  return true
end

local function ipv6_ok(h)
  if not h:match("^[%x:%.]+$") or h:find(":::", 1, true) then return false end
  local groups = 0
  local body = h
  local v4 = h:match(":(%d+%.%d+%.%d+%.%d+)$") -- ::ffff:10.0.0.1
  if v4 then
    if not ipv4_ok(v4) then return false end
    body = h:sub(1, #h - #v4) .. "0" -- stand-in group, counted twice below
    groups = 1
  end
  local dbl = body:find("::", 1, true)
  if dbl and body:find("::", dbl + 1, true) then return false end
  local function count(part)
    if part == "" then return 0 end
    local n = 0
    for g in (part .. ":"):gmatch("([^:]*):") do
      if not g:match("^%x%x?%x?%x?$") then return nil end
      n = n + 1
    end
    return n
  end
  if dbl then
    local a, b = count(body:sub(1, dbl - 1)), count(body:sub(dbl + 2))
    if not a or not b then return false end
    return a + b + groups < 8
  end
  local n = count(body)
  return n ~= nil and n + groups == 8
end

--- M.parse_host(entry, default_port) -> {host =, port =, address =}; raises a usage error.
-- address is what the configs say: "10.0.0.1:7000" or "[2001:db8::1]:7000".
function M.parse_host(entry, default_port)
  local e = entry:match("^%s*(.-)%s*$")
  local what = ("--hosts: '%s'"):format(e)
  if e == "" then usage("--hosts: an empty entry (two commas, or one at an end?)") end
  local host, port
  if e:sub(1, 1) == "[" then
    local h, rest = e:match("^%[([^%]]*)%](.*)$")
    if not h then usage(what .. ": an IPv6 address needs its closing ']'") end
    host = h:lower()
    if rest ~= "" then
      local p = rest:match("^:(.*)$")
      if not p then usage(what .. ": expected [IPv6]:PORT") end
      port = port_of(p, what)
    end
    if not ipv6_ok(host) then usage(what .. ": '" .. h .. "' is not an IPv6 address") end
    if host:match("^[0:]+$") then
      usage(what .. ": the unspecified address [::] names no host; give the host's own address")
    end
  else
    local colons = select(2, e:gsub(":", ""))
    if colons > 1 then
      usage(what .. ": an IPv6 address goes in brackets: [" .. e .. "] or [" .. e .. "]:PORT")
    end
    local h, p = e:match("^([^:]*):(.*)$")
    host = h or e
    if p then port = port_of(p, what) end
    if not ipv4_ok(host) then
      if host:match("^[%d.]+$") then usage(what .. ": '" .. host .. "' is not an IPv4 address") end
      usage(what .. ": '" .. host .. "' is not a numeric address (skinnyd takes no host names: "
        .. "give the host's IPv4 address, or an IPv6 address in brackets)")
    end
    if host == "0.0.0.0" then
      usage(what .. ": 0.0.0.0 names no host; give the host's own address")
    end
  end
  port = port or default_port
  local address = (host:find(":", 1, true) and "[" .. host .. "]" or host) .. ":" .. port
  return { host = host, port = port, address = address }
end

-- An absolute path of plain characters (it goes into JSON, a systemd unit and shell
-- commands in README.txt), without a trailing '/'.
local function abs_path(flag, p)
  if p == "" or p:sub(1, 1) ~= "/" then
    usage(("%s must be an absolute path (it is used on the hosts, by systemd), not '%s'"):format(flag, p))
  end
  local bad = p:match("[^%w%._/+%-]")
  if bad then
    usage(("%s '%s': the character '%s' is not allowed here (letters, digits, and . _ / + -)")
      :format(flag, p, bad))
  end
  if p:find("/%.%.?/") or p:find("/%.%.?$") then
    usage(("%s '%s': no '.' or '..' components, please"):format(flag, p))
  end
  p = p:gsub("/+", "/")
  if #p > 1 then p = p:gsub("/$", "") end
  return p
end

local function exists(path)
  local f = io.open(path, "r")
  if f then f:close() return true end
  return false
end

-- The names given (or the defaults), checked against the hosts.
local function names_for(o, n)
  local names = {}
  if o.names then
    for w in (o.names .. ","):gmatch("([^,]*),") do names[#names + 1] = w:match("^%s*(.-)%s*$") end
    if #names ~= n then
      usage(("--names gives %d name%s for %d host%s: one name per host, in the same order")
        :format(#names, #names == 1 and "" or "s", n, n == 1 and "" or "s"))
    end
  elseif n <= #M.CLASSIC then
    for i = 1, n do names[i] = M.CLASSIC[i] end
  else
    for i = 1, n do names[i] = "node" .. i end
  end
  local seen = {}
  for i, nm in ipairs(names) do
    if nm == "" then usage(("--names: name %d is empty"):format(i)) end
    if #nm > 32 then usage(("--names: '%s' is longer than 32 characters"):format(nm)) end
    if not nm:match("^%a[%w_%-]*$") then
      usage(("--names: '%s' is not a name: letters, digits, '_' and '-', starting with a letter "
        .. "(it names a file NAME.json and the unit skinnyd@NAME)"):format(nm))
    end
    if RESERVED[nm] then
      usage(("--names: '%s' is taken (DIR/%s.json is the skinnyctl address list); choose another")
        :format(nm, nm))
    end
    if seen[nm] then usage(("--names: '%s' is given twice (names %d and %d)"):format(nm, seen[nm], i)) end
    seen[nm] = i
  end
  return names
end

--- M.plan(o, root) -> plan: the options checked (raises {usage = message}).
-- root: where this Skinny is (the template is found there).
function M.plan(o, root)
  if not o.hosts or o.hosts:match("^%s*$") then
    usage("--hosts is required: the cluster's hosts, e.g. --hosts 10.0.0.1,10.0.0.2,10.0.0.3")
  end
  if not o.output or o.output == "" then usage("-o DIR is required: the directory to write the files into") end
  local default_port = o.port and port_of(o.port, "--port") or M.DEFAULT_PORT
  local hosts = {}
  for entry in (o.hosts .. ","):gmatch("([^,]*),") do hosts[#hosts + 1] = M.parse_host(entry, default_port) end
  if #hosts > M.MAX_HOSTS then
    usage(("--hosts: %d hosts; a cluster has at most %d"):format(#hosts, M.MAX_HOSTS))
  end
  local at = {}
  for i, h in ipairs(hosts) do
    if at[h.address] then
      usage(("--hosts: %s is given twice (entries %d and %d); instances on one address need "
        .. "different ports (HOST:PORT)"):format(h.address, at[h.address], i))
    end
    at[h.address] = i
  end
  local names = names_for(o, #hosts)
  local prefix = abs_path("--prefix", o.prefix or M.DEFAULT_PREFIX)
  local data_dir = abs_path("--data-dir", o.data_dir or M.DEFAULT_DATA_DIR)
  local scripts_dir, scripts_why
  if o.scripts_dir then
    scripts_dir, scripts_why = abs_path("--scripts-dir", o.scripts_dir), "--scripts-dir"
  else
    local installed = (prefix == "/" and "" or prefix) .. "/share/skinny/scripts"
    local tree = (prefix == "/" and "" or prefix) .. "/scripts"
    if not exists(installed .. "/proposers/paxos.lua") and exists(tree .. "/proposers/paxos.lua") then
      scripts_dir, scripts_why = tree, "PREFIX is a Skinny source tree"
    else
      scripts_dir, scripts_why = installed, "installed by make install"
    end
  end
  local n = #hosts
  local m = n // 2 + 1
  local notes = {}
  if n == 1 then
    notes[#notes + 1] = "one host: no instance may fail (fine to try Skinny, not for a service)"
  elseif n % 2 == 0 then
    notes[#notes + 1] = ("%d hosts: an even count survives no more failures than %d hosts do "
      .. "(a majority of %d is %d, so %d may fail); an odd count is recommended")
      :format(n, n - 1, n, m, n - m)
  end
  -- paths the unit's sandbox hides from the daemon (ProtectHome=, PrivateTmp=)
  for _, x in ipairs{ { "--prefix", prefix }, { "scripts_dir", scripts_dir }, { "--data-dir", data_dir } } do
    local top = x[2]:match("^/[^/]*")
    if top == "/home" or top == "/root" or top == "/tmp" or top == "/var/tmp" then
      notes[#notes + 1] = ("%s %s: the unit skinnyd@.service cannot reach %s (ProtectHome=yes, "
        .. "PrivateTmp=yes); fine for daemons started by hand, not under systemd"):format(x[1], x[2], top)
    end
  end
  local nodes = {}
  for i, h in ipairs(hosts) do
    nodes[i] = { name = names[i], host = h.host, port = h.port, address = h.address,
                 data_dir = (data_dir == "/" and "" or data_dir) .. "/" .. names[i] }
  end
  local dir = o.output:gsub("(.)/+$", "%1")
  return {
    dir = dir, nodes = nodes, prefix = prefix, bindir = (prefix == "/" and "" or prefix) .. "/bin",
    data_dir = data_dir, scripts_dir = scripts_dir, scripts_why = scripts_why,
    force = o.force and true or false, notes = notes, majority = m, root = root or ".",
  }
end

--- M.config_text(plan, node) -> the skinnyd config of one instance (JSON).
function M.config_text(plan, node)
  local members = {}
  for i, x in ipairs(plan.nodes) do
    members[i] = ('    {"name": %s, "address": %s}'):format(jstr(x.name), jstr(x.address))
  end
  return table.concat({
    "{",
    '  "name": ' .. jstr(node.name) .. ",",
    '  "listen": ' .. jstr(node.address) .. ",",
    '  "cluster": [',
    table.concat(members, ",\n"),
    "  ],",
    '  "data_dir": ' .. jstr(node.data_dir) .. ",",
    '  "scripts_dir": ' .. jstr(plan.scripts_dir) .. ",",
    '  "cluster_key": "cluster.key"',
    "}",
    "",
  }, "\n")
end

function M.quorum_text(plan)
  local a = {}
  for i, x in ipairs(plan.nodes) do a[i] = jstr(x.address) end
  return "[" .. table.concat(a, ", ") .. "]\n"
end

--- M.find_template(root) -> path of skinnyd@.service.in, or nil and where it looked.
function M.find_template(root)
  local tried = {}
  for _, p in ipairs{ root .. "/deploy/skinnyd@.service.in", root .. "/share/skinny/deploy/skinnyd@.service.in" } do
    if exists(p) then return p end
    tried[#tried + 1] = p
  end
  return nil, table.concat(tried, ", ")
end

--- M.render_unit(text, bindir) -> the unit, or nil and why: @BINDIR@ replaced, and no
-- other @PLACEHOLDER@ left.
function M.render_unit(text, bindir)
  local out = text:gsub("@BINDIR@", function() return bindir end)
  local left = out:match("@[%u_]+@")
  if left then return nil, "the template has a placeholder this command does not fill: " .. left end
  return out
end

-- The drop-in that lets the unit write a data directory outside its StateDirectory=.
local function dropin_text(plan)
  return "# written by skinny cluster init: the instances keep their state in\n"
    .. "# " .. plan.data_dir .. "/NAME, outside the unit's StateDirectory=\n"
    .. "[Service]\nReadWritePaths=" .. plan.data_dir .. "\n"
end

local function default_data_dir(plan) return plan.data_dir == M.DEFAULT_DATA_DIR end

--- M.readme_text(plan) -> DIR/README.txt
function M.readme_text(plan)
  local L = {}
  local function add(s) L[#L + 1] = s or "" end
  local nn = #plan.nodes
  add(("A Skinny cluster of %d instance%s, written by `skinny cluster init`."):format(nn, nn == 1 and "" or "s"))
  add(("A majority is %d: the cluster answers while %d of them run and reach each other.")
    :format(plan.majority, plan.majority))
  add("doc/DEPLOY.md in the Skinny sources explains every step.")
  add()
  add("Which files go to which host (configs and key into /etc/skinny/):")
  add()
  for _, x in ipairs(plan.nodes) do
    add(("  %-24s %-12s %s.json cluster.key quorum.json"):format(x.address, x.name, x.name))
  end
  add()
  add("and skinnyd@.service to /etc/systemd/system/ on every host"
    .. (default_data_dir(plan) and "." or (",\nwith skinnyd@.service.d/data-dir.conf into "
      .. "/etc/systemd/system/skinnyd@.service.d/\n(the data is kept in " .. plan.data_dir .. ").")))
  add("cluster.key is the cluster's secret: copy it only to the cluster's hosts, keep")
  add("it mode 0600, owned by the user skinny; never mail it or commit it.")
  add()
  add("Each host needs Skinny installed first (sh tools/setup.sh, then")
  add(("make install PREFIX=%s) and the system user skinny:"):format(plan.prefix))
  add("  adduser --system --group --home /var/lib/skinny --no-create-home skinny")
  add()
  local x = plan.nodes[1]
  local at = x.host:find(":") and "[" .. x.host .. "]" or x.host
  add(("The three commands for each host, shown for %s (%s):"):format(x.name, x.host))
  add()
  add("1. Copy, from this machine:")
  add(("     scp %s%s.json cluster.key quorum.json skinnyd@.service%s ADMIN@%s:")
    :format(default_data_dir(plan) and "" or "-r ", x.name, default_data_dir(plan) and "" or " skinnyd@.service.d", at))
  add("2. Install, as root on the host, in the directory the files were copied to:")
  add("     install -d -m 0755 /etc/skinny")
  add(("     install -o root -g skinny -m 0640 %s.json /etc/skinny/"):format(x.name))
  add("     install -m 0644 quorum.json /etc/skinny/")
  add("     install -o skinny -g skinny -m 0600 cluster.key /etc/skinny/ && rm cluster.key")
  add("     install -m 0644 skinnyd@.service /etc/systemd/system/")
  if not default_data_dir(plan) then
    add("     install -d -m 0755 /etc/systemd/system/skinnyd@.service.d")
    add("     install -m 0644 skinnyd@.service.d/data-dir.conf /etc/systemd/system/skinnyd@.service.d/")
    add(("     install -d -o skinny -g skinny -m 0700 %s"):format(plan.data_dir))
  end
  add("     systemctl daemon-reload")
  add("3. Start, as root on the host. For the FIRST start of a NEW cluster only, first")
  add("   (never for a host that lost its disk or replaces one: it must rejoin):")
  add(("     install -d -m 0700 /run/skinny && echo SKINNYD_BOOTSTRAP=--bootstrap > /run/skinny/%s.bootstrap")
    :format(x.name))
  add("   (the unit deletes that file as soon as the instance has started with it), then:")
  add(("     systemctl enable --now skinnyd@%s"):format(x.name))
  add()
  add("Then, from any host:")
  add("  skinnyctl --quorum /etc/skinny/quorum.json status")
  add()
  add(("The port%s (%s) must be reachable from the cluster's hosts and its clients only.")
    :format(nn == 1 and "" or "s", (function()
      local ps, seen = {}, {}
      for _, y in ipairs(plan.nodes) do
        if not seen[y.port] then seen[y.port] = true; ps[#ps + 1] = tostring(y.port) end
      end
      return table.concat(ps, ", ")
    end)()))
  return table.concat(L, "\n") .. "\n"
end

-- The proc primitives of the C module (bindings/lua_proc.c): write_private.
local function proc_lib()
  local so = package.searchpath("skinny.core", package.cpath)
  if not so then return nil, "the skinny.core module was not found (run `make` first?)" end
  local open, err = package.loadlib(so, "luaopen_skinny_proc")
  if not open then return nil, err end
  return open()
end

local function list_dir(dir)
  local p = io.popen("ls -A " .. sh_quote(dir) .. " 2>/dev/null")
  local entries = {}
  for line in p:lines() do entries[#entries + 1] = line end
  p:close()
  return entries
end

local function is_dir(path)
  return os.execute("test -d " .. sh_quote(path)) == true
end

local function write_file(path, text)
  local f, err = io.open(path, "w")
  if not f then usage(("cannot write %s: %s"):format(path, err)) end
  f:write(text)
  f:close()
end

-- 32 random bytes from /dev/urandom as 64 lowercase hex digits and a newline.
local function new_key()
  local f, err = io.open("/dev/urandom", "rb")
  if not f then usage("cannot read /dev/urandom for the key: " .. tostring(err)) end
  local b = f:read(32)
  f:close()
  if not b or #b ~= 32 then usage("/dev/urandom gave fewer than 32 bytes") end
  return (b:gsub(".", function(c) return ("%02x"):format(c:byte()) end)) .. "\n"
end

--- M.write(plan) -> the list of files written (names in plan.dir); raises {usage=}.
-- Checks the directory first and writes the key first, so that a refusal writes
-- nothing.
function M.write(plan)
  local dir = plan.dir
  local template, tried = M.find_template(plan.root)
  if not template then usage("cannot find the unit template skinnyd@.service.in (looked at " .. tried .. ")") end
  local tf = assert(io.open(template, "r"))
  local unit, uerr = M.render_unit(tf:read("a"), plan.bindir)
  tf:close()
  if not unit then usage(template .. ": " .. uerr) end
  local proc, perr = proc_lib()
  if not proc then usage(perr) end
  if exists(dir) or is_dir(dir) then
    if not is_dir(dir) then usage(("-o %s: not a directory"):format(dir)) end
    if exists(dir .. "/cluster.key") then
      usage(("%s/cluster.key already exists: cluster init never replaces a key (a running "
        .. "cluster keeps the key it has). To make a new cluster, write into another directory; "
        .. "to change this one's configs, run cluster init into a new directory and copy only "
        .. "the .json files"):format(dir))
    end
    local entries = list_dir(dir)
    if #entries > 0 and not plan.force then
      local shown = table.concat(entries, ", ", 1, math.min(#entries, 5)) .. (#entries > 5 and ", ..." or "")
      usage(("-o %s is not empty (%s): choose an empty or new directory, or give --force "
        .. "to write over the files of the same names"):format(dir, shown))
    end
  else
    if not os.execute("mkdir -p -m 0700 " .. sh_quote(dir) .. " 2>/dev/null") then
      usage(("-o %s: cannot create the directory"):format(dir))
    end
  end
  local written = {}
  local ok, err = proc.write_private(dir .. "/cluster.key", new_key())
  if not ok then usage(err) end
  written[#written + 1] = "cluster.key"
  for _, x in ipairs(plan.nodes) do
    write_file(dir .. "/" .. x.name .. ".json", M.config_text(plan, x))
    written[#written + 1] = x.name .. ".json"
  end
  write_file(dir .. "/quorum.json", M.quorum_text(plan))
  written[#written + 1] = "quorum.json"
  write_file(dir .. "/skinnyd@.service", unit)
  written[#written + 1] = "skinnyd@.service"
  if not default_data_dir(plan) then
    os.execute("mkdir -p " .. sh_quote(dir .. "/skinnyd@.service.d"))
    write_file(dir .. "/skinnyd@.service.d/data-dir.conf", dropin_text(plan))
    written[#written + 1] = "skinnyd@.service.d/data-dir.conf"
  end
  write_file(dir .. "/README.txt", M.readme_text(plan))
  written[#written + 1] = "README.txt"
  return written
end

local function die(msg)
  io.stderr:write("skinny cluster init: ", msg, "\n")
  os.exit(2)
end

local function init(argv, skinny)
  -- -o DIR is the one short option: skinny.args knows only --long ones
  local args = {}
  for i, a in ipairs(argv) do args[i] = a == "-o" and "--output" or a end
  local o, pos = require("skinny.args").parse(args, {
    hosts = "str", names = "str", port = "str", output = "str", prefix = "str",
    ["data-dir"] = "str", ["scripts-dir"] = "str", force = "flag",
  }, die, M.USAGE, true)
  if #pos > 0 then die(("unexpected argument '%s'\n\n%s"):format(pos[1], M.USAGE)) end
  local ok, res = pcall(function()
    local plan = M.plan(o, skinny and skinny.root or ".")
    return { plan = plan, written = M.write(plan) }
  end)
  if not ok then
    if type(res) == "table" and res.usage then die(res.usage) end
    error(res, 0)
  end
  local plan = res.plan
  print(("cluster init: %d instance%s in %s (a majority is %d)")
    :format(#plan.nodes, #plan.nodes == 1 and "" or "s", plan.dir, plan.majority))
  for _, x in ipairs(plan.nodes) do
    print(("  %-12s %-24s %s.json"):format(x.name, x.address, x.name))
  end
  print("  cluster.key: the cluster's secret key (mode 0600; copy it only to the cluster's hosts)")
  print("  quorum.json: the addresses, for skinnyctl --quorum")
  print(("  skinnyd@.service: the systemd unit (runs %s/skinnyd)"):format(plan.bindir))
  if not default_data_dir(plan) then
    print("  skinnyd@.service.d/data-dir.conf: lets the unit write " .. plan.data_dir)
  end
  print("  README.txt: which file goes to which host, and the commands")
  print(("scripts_dir: %s (%s)"):format(plan.scripts_dir, plan.scripts_why))
  print("data_dir: " .. plan.data_dir .. "/NAME")
  for _, n in ipairs(plan.notes) do io.stderr:write("skinny cluster init: note: ", n, "\n") end
  print(("next: read %s/README.txt (the whole walk-through: doc/DEPLOY.md)"):format(plan.dir))
  os.exit(0)
end

function M.main(argv, skinny)
  local sub = table.remove(argv, 1)
  if sub == "init" then return init(argv, skinny) end
  if sub == nil or sub == "help" or sub == "--help" or sub == "-h" then
    print(M.USAGE)
    os.exit(sub == nil and 2 or 0)
  end
  io.stderr:write(("skinny cluster: unknown subcommand '%s' (there is one: init)\n\n%s\n"):format(sub, M.USAGE))
  os.exit(2)
end

return M
