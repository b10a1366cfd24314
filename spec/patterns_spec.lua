-- Skinny's pattern functions against Lua's (tag #bindings). The sandbox's
-- string.find, match, gmatch and gsub are Skinny's own (bindings/
-- lua_pattern.c): the same results and error messages as Lua 5.4's, but
-- every step of the matcher counts against the hook's budget, so a pattern
-- that backtracks fails with a message instead of hanging the instance.
-- core.bounded_string(budget) gives the same functions outside a strategy
-- state, counting against their own budget; every case below runs through
-- both and must give the same values or raise the same message.
-- Run with `busted --lua=lua5.4 --cpath="build/?.so" spec/patterns_spec.lua`.
local core = require "skinny.core"

local FNS = { "find", "match", "gmatch", "gsub" }

-- A description of everything a call returns, or of its error. Argument
-- errors name the function as Lua finds it ('string.find' for Lua's, '?'
-- for a table not in package.loaded): that name is left out.
local function outcome(lib, fn, ...)
  local args = table.pack(...)
  local function call()
    if fn ~= "gmatch" then return lib[fn](table.unpack(args, 1, args.n)) end
    local it, out = lib.gmatch(table.unpack(args, 1, args.n)), {}
    for _ = 1, 100 do
      local r = table.pack(it())
      if r.n == 0 then out[#out + 1] = "end"; break end
      for i = 1, r.n do out[#out + 1] = r[i] end
      out[#out + 1] = "|"
    end
    return table.unpack(out)
  end
  local r = table.pack(pcall(call))
  local parts = {}
  for i = 2, r.n do
    local v = r[i]
    if type(v) == "string" then
      parts[#parts + 1] = ("%q"):format(v)
    elseif math.type(v) == "float" then
      parts[#parts + 1] = ("float %a"):format(v)
    elseif type(v) == "table" or type(v) == "function" then
      parts[#parts + 1] = "a " .. type(v) -- (not its address)
    else
      parts[#parts + 1] = tostring(v)
    end
  end
  local text = table.concat(parts, ", ")
  if not r[1] then
    text = "error " .. text:gsub("bad argument #(%d) to '[^']*'", "bad argument #%1 to F")
  end
  return text
end

local function show(v)
  if type(v) == "string" then return ("%q"):format(v):gsub("\n", "n") end
  return tostring(v)
end

-- Run cases {fn, args...} through both; returns the number run and a list
-- of differences.
local function compare(cases)
  local diffs = {}
  for _, c in ipairs(cases) do
    local lua = outcome(string, c[1], table.unpack(c, 2, c.n or #c))
    local ours = outcome(core.bounded_string(), c[1], table.unpack(c, 2, c.n or #c))
    if lua ~= ours then
      local args = {}
      for i = 2, c.n or #c do args[#args + 1] = show(c[i]) end
      diffs[#diffs + 1] = ("string.%s(%s):\n  Lua's:    %s\n  Skinny's: %s"):format(
        c[1], table.concat(args, ", "), lua, ours)
    end
  end
  return #cases, diffs
end

local function assert_same(cases)
  local n, diffs = compare(cases)
  assert.is_true(n > 0)
  assert.are.equal(0, #diffs, ("%d of %d cases differ:\n%s"):format(
    #diffs, n, table.concat(diffs, "\n", 1, math.min(#diffs, 20))))
  return n
end

local SUBJECTS = {
  "", "a", "abc", "aaa", "hello world", "a,b,,c", "(a(b)c)d", " THE (quick) fox",
  "a\0b", "  x = 1 ", "a.b", "^a^a", "]]a-b", "key=value", "x\n\ty\r", "\200\255\1",
}

local PATTERNS = {
  -- single characters, classes and their complements
  "", "a", ".", "%a", "%A", "%c", "%d", "%D", "%g", "%l", "%p", "%s", "%S", "%u", "%w", "%W",
  "%x", "%z", "%Z", "%.", "%%", "%]", "%q",
  -- quantifiers
  "a*", "a+", "a-", "a?", "%w*", "%w+", ".-", ".*", "o*", ",*", "a?b?c?", ".-b", "[a-z]-b",
  "x*$", "^a-", "%s*(.-)%s*$",
  -- sets
  "[abc]", "[a-c]+", "[^a]", "[^%s]+", "[]a]", "[]a]+", "[^]a]", "[a-]", "[-a]", "[%a-]+",
  "[%w_]+", "[%]]", "[a%-z]", "[z-a]", "[\0]", "[\128-\255]+", "[^\0-\127]",
  -- anchors
  "^", "$", "^a", "a$", "^$", "^(.-)$", "$a", "a$b", "^^",
  -- captures and back-references
  "()", "(a)", "(.)(.)", "()a()", "(%w+)=(%w+)", "((a)(b))", "(a*(.)%2)", "(.)%1", "()a%1",
  "(()", "(a)%1", "%0", "%1", "(a%1)",
  -- %b and %f
  "%b()", "%b((", "%bab", "%f[%w]%w+", "%f[%W]", "%f[%z]", "%f[%Z]", "%f[a]", "%f[^a]",
  -- errors, raised when the matcher reaches them
  "%", "a%", "[a", "[", "[]", "[^]", "[%", "[%]", "(a", "a)", ")", "%f", "%fa", "%b", "%ba",
  "b[", "b%",
}

-- find, match and gmatch with and without init, find plain too
local function search_cases()
  local cases = {}
  for _, s in ipairs(SUBJECTS) do
    for _, p in ipairs(PATTERNS) do
      cases[#cases + 1] = { "find", s, p }
      cases[#cases + 1] = { "match", s, p }
      cases[#cases + 1] = { "gmatch", s, p }
      cases[#cases + 1] = { "find", s, p, 1, true }
      for _, init in ipairs{ 0, 2, -2, 4, 100, -100 } do
        cases[#cases + 1] = { "find", s, p, init }
        cases[#cases + 1] = { "match", s, p, init }
        cases[#cases + 1] = { "gmatch", s, p, init }
      end
    end
  end
  return cases
end

local REPLACEMENTS = {
  "-", "", "%0", "%1", "%2", "%%", "%", "x%1y", "%0%0", "<%1|%2>", "%a", "%\0",
  7, 1.5,
  { a = "A", b = false, ["1"] = "one" },
  { [1] = "first", [2] = 2.5, [4] = true },
  function(x) return x:upper() end,
  function() return nil end,
  function() return false end,
  function() return {} end,
  function(...) return select("#", ...) end,
}

local function gsub_cases()
  local cases = {}
  for _, s in ipairs(SUBJECTS) do
    for _, p in ipairs(PATTERNS) do
      for _, r in ipairs(REPLACEMENTS) do
        cases[#cases + 1] = { "gsub", s, p, r }
      end
      for _, n in ipairs{ 0, 1, 2, -1 } do
        cases[#cases + 1] = { "gsub", s, p, "<%0>", n }
      end
    end
  end
  return cases
end

-- Cases worth naming: each says what it shows.
local NAMED = {
  -- empty matches: after a match ending at p, an empty match at p is skipped
  { "gsub", "abc", "%w*", "-" },                -- "-", 1
  { "gsub", "abc d", "%w*", "-" },              -- "- -", 2
  { "gsub", "hello world", "o*", "x" },
  { "gsub", "", "", "x" },
  { "gsub", "abc", "", "-" },
  { "gsub", "abc", ".-", "x" },
  { "gmatch", "abc", "" },
  { "gmatch", "ab cd", "%w*" },
  { "gmatch", "abc", "()" },
  -- gmatch: '^' is not an anchor in Lua 5.4.4, init is
  { "gmatch", "^a^a", "^a" },
  { "gmatch", "aaa", "^a" },
  { "gmatch", "abcabc", "b", 3 },
  { "gmatch", "abc", ".", -1 },
  { "gmatch", "abc", ".", 10 },
  { "gmatch", "abc", "", 4 },
  -- anchored gsub replaces at most once
  { "gsub", "aaa", "^a", "b" },
  { "gsub", "abc", "^", "x" },
  { "gsub", "abc", "$", "x" },
  -- find searches plainly when the pattern has no special character
  { "find", "a)", "a)" },
  { "match", "a)", "a)" },
  { "find", "a]", "a]" },
  { "find", "a.c", "." , 1, true },
  { "find", "a.c", "", 1, true },
  { "find", "abc", "", 4 },
  { "find", "abc", "", 5 },
  { "find", "abc", "", 10, true },
  -- init
  { "find", "abc", "b", math.maxinteger },
  { "find", "abc", "b", math.mininteger },
  { "find", "abc", "b", 2.0 },
  { "find", "abc", "b", "2" },
  { "find", "abc", "b", 2.5 },
  { "match", "abc", "()", 4 },
  { "match", "abc", "()", 5 },
  { "find", "abc", "c", -1 },
  -- numbers are strings here
  { "find", 12345, 34 },
  { "gsub", 123, "x", "y" },
  { "gsub", "abc", "b", 4.5 },
  { "gsub", "a1b2", "%d", 10 },
  -- %z is still '\0' in 5.4; %Z its complement
  { "find", "a\0b", "%z" },
  { "match", "a\0b\0", "%Z+" },
  { "find", "a\0b", "[%z]" },
  -- a back-reference to a position capture never matches
  { "find", "aa", "()a%1" },
  { "gsub", "abc", "(%w)()", "%2" },
  -- nesting: 199 quantified items are fine, 200 are too complex
  { "find", ("a"):rep(199), ("a?"):rep(199) },
  { "find", ("a"):rep(200), ("a?"):rep(200) },
  { "find", "a", ("%f[a]"):rep(300) },
  { "match", ("a"):rep(300), ("a"):rep(300) },
  -- captures: 32 at most
  { "find", "", ("()"):rep(32) },
  { "find", "", ("()"):rep(33) },
  { "find", "a", ("("):rep(33) },
  { "find", "a", ("(a)"):rep(33) },
  -- balance
  { "match", "((", "%b()" },
  { "match", "aXa", "%baa" },
  { "match", "f(a(b)c) d", "%b()" },
  -- replacement values
  { "gsub", "hello", "l+", function() return 1.5 end },
  { "gsub", "hello", "l+", function() return true end },
  { "gsub", "hello", "(l)(l)", function(a, b) return b .. a .. "!" end },
  { "gsub", "abc", "()", { [1] = "x" } },
  { "gsub", "abc", "%w", setmetatable({}, { __index = function(_, k) return k .. k end }) },
  { "gsub", "abc", "(a", {} },
  { "gsub", "abc", "(a", function() return "x" end },
  { "gsub", "abc", "a", "%1" },
  { "gsub", "abc", "()b", "%1" },
  { "gsub", "abc", "b", "%0%0%%" },
  { "gsub", "abc", "(b)", "%1%0" },
  { "gsub", "abc", "", "-", 2 },
  { "gsub", "abc", "", "-", -1 },
  { "gsub", "abc", "", "-", 2.0 },
  { "gsub", "abc", "", "-", 2.5 },
  -- a replacement function's error passes through
  { "gsub", "abc", "b", function() error("no b") end },
  { "gsub", "abc", "b", function() error({}) end },
  -- argument errors
  { "find", nil, "b", n = 3 },
  { "find", "abc", n = 2 },
  { "match", {}, "a" },
  { "gmatch", "abc", n = 2 },
  { "gmatch", "abc", "b", {} },
  { "gsub", "a", "a", n = 3 },
  { "gsub", "a", "a", true },
  { "gsub", "a", "a", true, "y" },
  { "gsub", "a", "a", "x", "y" },
  { "find", "abc", "b", {} },
  -- from the fuzzer (tests/fuzz/fuzz_pattern.c): results holding NULs
  { "gmatch", "\0z\0\0a", ".-.-.-?" },
  { "gsub", "a\0b\0", "%z", "%%%0" },
}

describe("Skinny's pattern functions #bindings", function()
  it("give Lua's results and errors for find, match and gmatch", function()
    local n = assert_same(search_cases())
    assert.is_true(n > 1000, n)
  end)

  it("give Lua's results and errors for gsub", function()
    local n = assert_same(gsub_cases())
    assert.is_true(n > 1000, n)
  end)

  it("agree with Lua on the cases worth naming", function()
    assert_same(NAMED)
  end)

  it("agree with Lua on Lua 5.4's own examples (manual 6.4)", function()
    local x = "hello world from Lua"
    assert_same{
      { "gsub", "hello world", "(%w+)", "%1 %1" },
      { "gsub", "hello world", "%w+", "%0 %0", 1 },
      { "gsub", x, "(%w+)%s*(%w+)", "%2 %1" },
      { "gsub", "$name-$version.tar.gz", "%$(%w+)", { name = "lua", version = "5.4" } },
      { "gsub", "4+5 = $return 4+5$", "%$(.-)%$", function(s) return "[" .. s .. "]" end },
      { "gmatch", "hello world from Lua", "%a+" },
      { "gmatch", "from=world, to=Lua", "(%w+)=(%w+)" },
      { "find", "THE (quick) fox", "%f[%a]%a+" },
      { "match", " key = value ", "^%s*(%S+)%s*=%s*(%S+)%s*$" },
      { "match", "[[long]]", "%[(=*)%[(.-)%]%1%]" },
    }
  end)

  it("stop a pattern that backtracks with the budget's message, promptly", function()
    local t = os.clock()
    local ok, err = pcall(core.bounded_string().find, ("a"):rep(3000), ".-.-.-b")
    assert.is_false(ok)
    assert.are.equal(
      "string.find: instruction budget exceeded (10000000 instructions): a pattern that backtracks?", err)
    assert.is_true(os.clock() - t < 2, "took " .. (os.clock() - t) .. " s")
  end)

  it("name the function that ran out", function()
    local s = ("a"):rep(3000)
    for _, fn in ipairs(FNS) do
      local lib = core.bounded_string(100000)
      local ok, err = pcall(function()
        if fn == "gmatch" then
          for _ in lib.gmatch(s, ".-.-.-b") do end -- luacheck: ignore 512
        else
          return lib[fn](s, ".-.-.-b", fn == "gsub" and "" or nil)
        end
      end)
      assert.is_false(ok)
      assert.matches("string." .. fn .. ": instruction budget exceeded (100000 instructions)", err, 1, true)
    end
  end)

  it("charge a plain find of a long needle byte by byte", function()
    local hay, needle = ("a"):rep(1000000), ("a"):rep(1000) .. "b"
    local ok, err = pcall(core.bounded_string().find, hay, needle, 1, true)
    assert.is_false(ok)
    assert.matches("string.find: instruction budget exceeded", err, 1, true)
    -- the same without plain: no special character, so a plain search too
    ok, err = pcall(core.bounded_string().find, hay, needle)
    assert.is_false(ok)
    assert.matches("string.find: instruction budget exceeded", err, 1, true)
    -- an ordinary long search is well within the budget
    assert.are.equal(1000001, core.bounded_string().find(hay .. "b", "b", 1, true))
    assert.are.equal(1000001, core.bounded_string().find(hay .. "b", "b$"))
  end)

  it("count the budget over all calls: once spent, it stays spent", function()
    local lib = core.bounded_string(5000)
    local calls = 0
    local ok, err = pcall(function()
      while true do
        lib.find("hello world", "o w")
        lib.match("key=value", "^(%w+)=(%w+)$")
        calls = calls + 1
      end
    end)
    assert.is_false(ok)
    assert.matches("instruction budget exceeded (5000 instructions)", err, 1, true)
    assert.is_true(calls > 10 and calls < 5000, calls)
    assert.has_error(function() lib.find("a", "a") end)
  end)

  it("leave this process's string library alone", function()
    local find, mt = string.find, getmetatable("").__index
    local sim = core.sim{ seed = 1, nodes = { "catbus", "kanta", "mei" } }
    assert.are.equal(find, string.find)
    assert.are.equal(string, mt)
    assert.are_not.equal(find, core.bounded_string().find)
    sim:close()
  end)
end)
