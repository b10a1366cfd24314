-- tests/man/check.lua: the man pages of doc/man/ against the programs.
--
--   lua5.4 tests/man/check.lua [--pages DIR] [--bin DIR] [--config-source FILE]
--                              [--only PAGE]...
--
-- For every page, one line per check ("ok N - ..." or "not ok N - ..."), each
-- problem on a line of its own starting "FAIL  " (naming the page, the flag or
-- key, and the help it is missing from), then the closing line
-- "N passed, N failed" that tools/test.sh sums. The checks:
--   renders    groff -man -ww -z, on the ps and the utf8 devices, says nothing
--   sections   NAME, SYNOPSIS, DESCRIPTION, SEE ALSO, and for a program's page
--              OPTIONS or COMMANDS, EXIT STATUS, ENVIRONMENT, FILES, EXAMPLES
--   help->page every flag the program's --help lists (and its subcommands')
--              appears in the page
--   page->help every flag the page names appears in one of those helps
--   commands   (skinny.1) every subcommand `skinny --help` lists has its
--              subsection `.SS "skinny SUB ..."`
--   keys       (skinnyd.conf.5) the keys under KEYS are the keys the config
--              parser accepts (its known_keys list), both ways
-- A line of the page that runs another of the programs (an example's
-- `skinnyctl acquire ... --wait` in skinny-lab.1) is that program's
-- business, not the page's: its flags are not held to the page's helps.
-- --help and -h are left out of the flag checks: every program takes them
-- and no help lists itself. --pages, --bin and --config-source point the
-- check at other copies (spec/man_spec.lua feeds it doctored ones).
local function die(msg)
  io.stderr:write("check.lua: ", msg, "\n")
  os.exit(2)
end

local opts = { pages = "doc/man", bin = "bin", config_source = "runtime/cmd/skinnyd_config.c", only = {} }
do
  local i = 1
  while i <= #arg do
    local a, v = arg[i], arg[i + 1]
    if a == "--pages" and v then opts.pages = v
    elseif a == "--bin" and v then opts.bin = v
    elseif a == "--config-source" and v then opts.config_source = v
    elseif a == "--only" and v then opts.only[v] = true
    else die("usage: lua5.4 tests/man/check.lua [--pages DIR] [--bin DIR] [--config-source FILE] [--only PAGE]...") end
    i = i + 2
  end
end

local function sh_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function read(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- Run a command line; its standard output and error together, and whether it exited 0.
local function run(cmd)
  local h = io.popen(cmd .. " 2>&1", "r")
  local out = h:read("a")
  local ok = h:close()
  return out, ok
end

local function abspath(p)
  if p:sub(1, 1) == "/" then return p end
  return (os.getenv("PWD") or run("pwd"):gsub("%s+$", "")) .. "/" .. p
end
local BIN = abspath(opts.bin)

-- Help commands run in a scratch directory (none should write, but a
-- command that does not know --help might), bounded in time; under
-- `make asan` the Lua launcher's C module needs the sanitizer runtime.
local scratch = run("mktemp -d"):gsub("%s+$", "")
local preload = os.getenv("SKINNY_ASAN_PRELOAD")
local env = (preload and preload ~= "") and ("env LD_PRELOAD=" .. sh_quote(preload) .. " ASAN_OPTIONS=detect_leaks=0 ")
  or ""
local function help_of(words)
  local parts = {}
  for i, w in ipairs(words) do parts[i] = i == 1 and sh_quote(BIN .. "/" .. w) or sh_quote(w) end
  local out = run("cd " .. sh_quote(scratch) .. " && " .. env .. "timeout 20 " .. table.concat(parts, " ")
                  .. " </dev/null")
  -- error lines ("skinny: unknown option --help") are not the help
  local keep = {}
  for line in (out .. "\n"):gmatch("([^\n]*)\n") do
    if not line:match("^skinny[%w%-]*:? ?[%w]*: ") then keep[#keep + 1] = line end
  end
  return table.concat(keep, "\n"), out
end

-- roff source -> the text a reader sees, near enough to find flags and words in
local function deroff(src)
  local lines = {}
  for line in (src .. "\n"):gmatch("([^\n]*)\n") do
    if not line:match("^%.%s*\\\"") and not line:match("^'\\\"") then
      line = line:gsub('\\".*$', "")
      line = line:gsub("\\%-", "-"):gsub("\\%(hy", "-"):gsub("\\%(dq", '"'):gsub("\\%(%a%a", " ")
      line = line:gsub("\\f%[[^%]]*%]", ""):gsub("\\f%(%a%a", ""):gsub("\\f.", "")
      line = line:gsub("\\[&c%%:]", ""):gsub("\\e", "\\")
      lines[#lines + 1] = line
    end
  end
  return table.concat(lines, "\n")
end

local EXEMPT = { ["--help"] = true, ["-h"] = true }

-- The flags a text names: --long-ones, and -x where a single letter stands alone.
local function flags(text)
  local set = {}
  for pre, f in ("\n" .. text):gmatch("([^%w%-])(%-%-%a[%w%-]*)") do
    f = f:gsub("%-+$", "")
    if not EXEMPT[f] and pre then set[f] = true end
  end
  for f in ("\n" .. text .. "\n"):gmatch("[%s%[%(|,]+(%-%a)[%s%]%)|,=]") do
    if not EXEMPT[f] then set[f] = true end
  end
  return set
end

local PROGRAMS = { skinny = true, ["skinny-lab"] = true, skinnyctl = true, skinnyd = true }

-- The page's text without the lines that run a program the page is not about.
local function own_lines(text, own)
  local keep = {}
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    local first = line:gsub("^%.%a+%s+", ""):match("^%s*([%w%-]+)")
    if not (first and PROGRAMS[first] and not own[first]) then keep[#keep + 1] = line end
  end
  return table.concat(keep, "\n")
end

local function sorted(set)
  local t = {}
  for k in pairs(set) do t[#t + 1] = k end
  table.sort(t)
  return t
end

-- The pages: each program page with the help commands its flags are held to.
-- skinny.1 takes its subcommands from `skinny --help`; `skinny lab` is
-- skinny-lab's, so skinny-lab.1 and skinny.1 both answer for its flags.
local function skinny_subcommands()
  local subs, seen = {}, {}
  for line in (help_of({ "skinny", "--help" }) .. "\n"):gmatch("([^\n]*)\n") do
    local sub = line:match("^%s*usage: skinny ([%a][%w%-]*)") or line:match("^%s+skinny ([%a][%w%-]*)")
    if sub and not seen[sub] then
      seen[sub] = true
      subs[#subs + 1] = sub
    end
  end
  return subs
end

local PROGRAM_SECTIONS = { "NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS|COMMANDS", "EXIT STATUS", "ENVIRONMENT",
                           "FILES", "EXAMPLES", "SEE ALSO" }
local PAGES = {
  { page = "skinny.1", helps = function()
      local h = { { "skinny", "--help" } }
      for _, sub in ipairs(skinny_subcommands()) do
        if sub ~= "help" then h[#h + 1] = { "skinny", sub, "--help" } end
      end
      return h
    end, subcommands = true, own = { skinny = true } },
  { page = "skinny-lab.1", helps = function() return { { "skinny-lab", "--help" } } end,
    own = { ["skinny-lab"] = true, skinny = true } },
  { page = "skinnyctl.1", helps = function() return { { "skinnyctl", "--help" } } end, own = { skinnyctl = true } },
  { page = "skinnyd.8", helps = function() return { { "skinnyd", "--help" } } end, own = { skinnyd = true } },
  { page = "skinnyd.conf.5", keys = true,
    sections = { "NAME", "SYNOPSIS", "DESCRIPTION", "KEYS", "EXAMPLES", "FILES", "SEE ALSO" } },
}

local n, passed, failed = 0, 0, 0
local function result(ok, what, problems)
  n = n + 1
  if ok then
    passed = passed + 1
    print(("ok %d - %s"):format(n, what))
  else
    failed = failed + 1
    print(("not ok %d - %s"):format(n, what))
    for _, p in ipairs(problems or {}) do print("FAIL  " .. p) end
  end
end

local function check_renders(path, name)
  local problems = {}
  for _, dev in ipairs{ "ps", "utf8" } do
    -- env -u LD_PRELOAD: under `make asan` the sanitizer runtime is preloaded for
    -- the Lua module; groff is not built with it and would print its complaints
    local out, ok = run("env -u LD_PRELOAD groff -man -ww -T" .. dev .. " -z " .. sh_quote(path))
    out = out:gsub("%s+$", "")
    if out ~= "" or not ok then
      for line in (out .. "\n"):gmatch("([^\n]*)\n") do
        if line ~= "" then problems[#problems + 1] = ("%s: groff -T%s: %s"):format(name, dev, line) end
      end
      if out == "" then problems[#problems + 1] = ("%s: groff -T%s failed"):format(name, dev) end
    end
  end
  result(#problems == 0, name .. ": renders without warnings (groff -man -ww, devices ps and utf8)", problems)
end

local function check_sections(src, name, wanted)
  local have = {}
  for title in src:gmatch("\n%.SH%s+\"?([^\"\n]+)\"?") do have[title:gsub("%s+$", "")] = true end
  local problems = {}
  for _, w in ipairs(wanted) do
    local found = false
    for alt in w:gmatch("[^|]+") do if have[alt] then found = true end end
    if not found then problems[#problems + 1] = ("%s: no section %s (.SH %s)"):format(name, w, w) end
  end
  result(#problems == 0, name .. ": has the sections " .. table.concat(wanted, ", "), problems)
end

local function check_flags(text, name, path, helps, own)
  local page_flags = flags(text)
  local own_flags = flags(own_lines(text, own))
  local in_help, where = {}, {}
  local problems, broken = {}, nil
  for _, words in ipairs(helps) do
    local label = table.concat(words, " ")
    local h, raw = help_of(words)
    if not h:match("usage") then
      problems[#problems + 1] = ("%s: `%s` printed no usage: %s"):format(name, label,
        (raw:gsub("%s+", " ")):sub(1, 200))
      broken = broken or label
    end
    for f in pairs(flags(h)) do
      in_help[f] = true
      where[f] = where[f] or label
    end
  end
  for _, f in ipairs(sorted(in_help)) do
    if not page_flags[f] then
      problems[#problems + 1] = ("%s: %s is in `%s` but not in the page %s"):format(name, f, where[f], path)
    end
  end
  local labels = {}
  for i, w in ipairs(helps) do labels[i] = "`" .. table.concat(w, " ") .. "`" end
  result(#problems == 0, name .. ": every flag of " .. table.concat(labels, ", ") .. " is in the page", problems)
  problems = {}
  if broken then
    problems[1] = ("%s: the page's flags cannot be held to the helps: `%s` printed no usage"):format(name, broken)
  end
  for _, f in ipairs(broken and {} or sorted(own_flags)) do
    if not in_help[f] then
      problems[#problems + 1] = ("%s: the page names %s, which is in none of the helps (%s)")
        :format(name, f, table.concat(labels, ", "))
    end
  end
  result(#problems == 0, name .. ": every flag the page names is in one of those helps", problems)
end

local function check_subcommands(src, name)
  local problems = {}
  for _, sub in ipairs(skinny_subcommands()) do
    if not src:match('\n%.SS%s+"?skinny ' .. sub:gsub("%-", "%%-") .. '[%s"]') then
      problems[#problems + 1] = ("%s: the subcommand `%s` (in `skinny --help`) has no subsection "
        .. '(.SS "skinny %s ...")'):format(name, sub, sub)
    end
  end
  result(#problems == 0, name .. ": a subsection for every subcommand of `skinny --help`", problems)
end

-- The keys the parser accepts: its known_keys list.
local function parser_keys()
  local src = read(opts.config_source)
  if not src then return nil, "cannot read " .. opts.config_source end
  local body = src:match("known_keys%s*%[%]%s*=%s*(%b{})")
  if not body then
    return nil, opts.config_source .. " has no known_keys[] = {...} list (update tests/man/check.lua)"
  end
  local keys = {}
  for k in body:gmatch('"([^"]+)"') do keys[k] = true end
  return keys
end

-- The keys the page documents: the bold .TP tags of its KEYS section.
local function page_keys(src)
  local section = src:match("\n%.SH%s+KEYS%s*\n(.-)\n%.SH") or ""
  local keys, lines = {}, {}
  for line in (section .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
  for i, line in ipairs(lines) do
    if line:match("^%.TP") and lines[i + 1] then
      local k = lines[i + 1]:match("^%.B%s+([%w_]+)%s*$")
      if k then keys[k] = true end
    end
  end
  return keys
end

local function check_keys(src, name, path)
  local pk = page_keys(src)
  local ck, err = parser_keys()
  local problems = {}
  if not ck then
    problems[1] = name .. ": " .. err
  else
    for _, k in ipairs(sorted(ck)) do
      if not pk[k] then
        problems[#problems + 1] = ('%s: the key "%s" is accepted by %s but not under KEYS in %s (.TP, then .B %s)')
          :format(name, k, opts.config_source, path, k)
      end
    end
  end
  result(#problems == 0, name .. ": every key the config parser accepts is under KEYS", problems)
  problems = {}
  if not ck then
    problems[1] = name .. ": " .. err
  else
    for _, k in ipairs(sorted(pk)) do
      if not ck[k] then
        problems[#problems + 1] = ('%s: the page documents the key "%s", which %s does not accept')
          :format(name, k, opts.config_source)
      end
    end
  end
  result(#problems == 0, name .. ": every key under KEYS is one the config parser accepts", problems)
end

-- every page in the directory is checked for rendering, even one not listed above
local listed = {}
for _, p in ipairs(PAGES) do listed[p.page] = true end
local extra = {}
for f in run("ls " .. sh_quote(opts.pages)):gmatch("[^\n]+") do
  if f:match("%.[1-8]$") and not listed[f] then
    extra[#extra + 1] = { page = f, sections = { "NAME", "DESCRIPTION" } }
  end
end
for _, p in ipairs(extra) do PAGES[#PAGES + 1] = p end

for _, p in ipairs(PAGES) do
  if next(opts.only) == nil or opts.only[p.page] then
    local path = opts.pages .. "/" .. p.page
    local src = read(path)
    if not src then
      result(false, p.page .. ": exists", { ("%s: %s is missing"):format(p.page, path) })
    else
      src = "\n" .. src
      check_renders(path, p.page)
      check_sections(src, p.page, p.sections or PROGRAM_SECTIONS)
      if p.helps then check_flags(deroff(src), p.page, path, p.helps(), p.own) end
      if p.subcommands then check_subcommands(src, p.page) end
      if p.keys then check_keys(src, p.page, path) end
    end
  end
end

os.execute("rm -rf " .. sh_quote(scratch))
print(("%d passed, %d failed"):format(passed, failed))
os.exit(failed == 0 and 0 or 1)
