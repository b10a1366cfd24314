-- The man page check (tests/man/check.lua, the `man` tier of tools/test.sh) is
-- believed because it fails: fed doctored copies of the pages and of the
-- programs' --help, it names the page, the flag (or key) and the help it is
-- missing from, and passes the checks the doctoring did not touch.
local sh = require "helpers.sh"

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
local function has(hay, needle) return hay:find(needle, 1, true) ~= nil end

local ROOT = sh("pwd"):match("^([^\n]*)")
local tmp = os.tmpname()
os.remove(tmp)

-- the lines of the checker's output that start with prefix
local function lines(out, prefix)
  local t = {}
  for l in out:gmatch("[^\n]+") do if l:sub(1, #prefix) == prefix then t[#t + 1] = l end end
  return t
end

describe("the man page check", function()
  setup(function()
    assert(os.execute("mkdir -p " .. q(tmp .. "/bin") .. " && cp -r doc/man " .. q(tmp .. "/pages")))
    -- the programs as they are, reached through wrappers in another directory
    for _, p in ipairs{ "skinny", "skinny-lab", "skinnyctl", "skinnyd" } do
      local f = assert(io.open(tmp .. "/bin/" .. p, "w"))
      f:write("#!/bin/sh\nexec " .. q(ROOT .. "/bin/" .. p) .. ' "$@"\n')
      f:close()
    end
    assert(os.execute("chmod +x " .. q(tmp) .. "/bin/*"))
  end)
  teardown(function() os.execute("rm -rf " .. q(tmp)) end)

  local function check(only)
    return sh("lua5.4 tests/man/check.lua --pages " .. q(tmp .. "/pages") .. " --bin " .. q(tmp .. "/bin")
              .. " --only " .. only)
  end

  it("passes the pages as they are, through the wrapped programs", function()
    local out, code = check("skinnyctl.1")
    assert.equal(0, code, out)
    assert.truthy(out:match("\n4 passed, 0 failed"), out)
  end)

  it("names a flag the help lists and the page lacks, with the help it is in", function()
    -- every --seq of skinnyctl.1 taken out (the option's entry, the synopsis, the examples)
    assert(os.execute("sed -i 's/\\\\-\\\\-seq//g' " .. q(tmp .. "/pages/skinnyctl.1")))
    local out, code = check("skinnyctl.1")
    assert.equal(1, code, out)
    assert.same({ "FAIL  skinnyctl.1: --seq is in `skinnyctl --help` but not in the page "
                  .. tmp .. "/pages/skinnyctl.1" }, lines(out, "FAIL"))
    assert.truthy(out:match("not ok %d+ %- skinnyctl.1: every flag of `skinnyctl %-%-help` is in the page"), out)
    assert.truthy(out:match("\n3 passed, 1 failed"), out)
    assert(os.execute("cp doc/man/skinnyctl.1 " .. q(tmp .. "/pages/")))
  end)

  it("names a flag the page lists and the help lacks", function()
    -- skinnyctl's --help without --shared, the page as it is
    local f = assert(io.open(tmp .. "/bin/skinnyctl", "w"))
    f:write("#!/bin/sh\n" .. q(ROOT .. "/bin/skinnyctl") .. ' "$@" | sed "s/ *\\[--shared\\]//; s/--shared: //"\n')
    f:close()
    local help = sh(q(tmp .. "/bin/skinnyctl") .. " --help")
    assert.is_false(has(help, "--shared"), help)
    local out, code = check("skinnyctl.1")
    assert.equal(1, code, out)
    assert.same({ "FAIL  skinnyctl.1: the page names --shared, which is in none of the helps (`skinnyctl --help`)" },
                lines(out, "FAIL"))
    f = assert(io.open(tmp .. "/bin/skinnyctl", "w"))
    f:write("#!/bin/sh\nexec " .. q(ROOT .. "/bin/skinnyctl") .. ' "$@"\n')
    f:close()
  end)

  it("names a subcommand's flag missing from skinny.1, with the subcommand's help", function()
    assert(os.execute("sed -i 's/\\\\-\\\\-max\\\\-states//g' " .. q(tmp .. "/pages/skinny.1")))
    local out, code = check("skinny.1")
    assert.equal(1, code, out)
    assert.same({ "FAIL  skinny.1: --max-states is in `skinny explore --help` but not in the page "
                  .. tmp .. "/pages/skinny.1" }, lines(out, "FAIL"))
    assert(os.execute("cp doc/man/skinny.1 " .. q(tmp .. "/pages/")))
  end)

  it("fails a page that groff warns about, quoting the warning", function()
    local f = assert(io.open(tmp .. "/pages/skinnyd.8", "a"))
    f:write(".TP\n.B \\fQoops\n")
    f:close()
    local out, code = check("skinnyd.8")
    assert.equal(1, code, out)
    local fails = lines(out, "FAIL")
    assert.truthy(#fails >= 1, out)
    assert.truthy(has(fails[1], "FAIL  skinnyd.8: groff -Tps: ") and has(fails[1], "warning"), out)
    assert.truthy(out:match("not ok %d+ %- skinnyd.8: renders without warnings"), out)
    assert(os.execute("cp doc/man/skinnyd.8 " .. q(tmp .. "/pages/")))
  end)

  it("names a config key the parser accepts and skinnyd.conf(5) lacks, and one it names that is not", function()
    assert(os.execute("sed -i 's/^\\.B hook_budget$/.B hook_budgets/' " .. q(tmp .. "/pages/skinnyd.conf.5")))
    local out, code = check("skinnyd.conf.5")
    assert.equal(1, code, out)
    assert.same({
      'FAIL  skinnyd.conf.5: the key "hook_budget" is accepted by runtime/cmd/skinnyd_config.c but not under KEYS in '
        .. tmp .. "/pages/skinnyd.conf.5 (.TP, then .B hook_budget)",
      'FAIL  skinnyd.conf.5: the page documents the key "hook_budgets", which '
        .. "runtime/cmd/skinnyd_config.c does not accept",
    }, lines(out, "FAIL"))
    assert(os.execute("cp doc/man/skinnyd.conf.5 " .. q(tmp .. "/pages/")))
  end)
end)
