-- The hostile corpus (spec/testdata/hostile/): the list of cases and each
-- case's header, for spec/hostile_spec.lua (simulator) and
-- spec/e2e/hostile_spec.lua (real daemons). spec/HOOKS.md "Hostile scripts"
-- describes the header.
local M = {}

M.DIR = "spec/testdata/hostile/"
local KINDS = { lock = true, proposer = true, backoff = true }
local FIELDS = { kind = true, hook = true, expect = true, trigger = true, ["repeat"] = true,
                 budget = true, when = true, line = true }

-- The corpus, from the directory listing.
function M.corpus()
  local p = assert(io.popen("ls " .. M.DIR))
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
function M.read_case(file)
  local path = M.DIR .. file
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
  if #path > 58 then -- Lua writes "...tail" for a longer path in its messages
    return nil, path .. ": the file name is too long for the messages to name it whole"
  end
  c.times = tonumber(c["repeat"] or "1")
  if math.type(c.times) ~= "integer" or c.times < 1 then return nil, path .. ": bad '-- repeat:'" end
  c.budget = c.budget and tonumber(c.budget)
  -- what every message must contain: "path:line:" or, without a line, "path:"
  c.where = c.line == "none" and path .. ":" or ("%s:%d:"):format(path, c.bad)
  return c
end

-- What both specs assert of a case (spec/HOOKS.md "Hostile scripts").
local luassert = require "luassert"

function M.has(haystack, needle)
  return type(haystack) == "string" and haystack:find(needle, 1, true) ~= nil
end

--- hostile.wait(lab, op, ms) -> op, once answered (fails after ms)
function M.wait(lab, op, ms)
  luassert.is_true(lab:run_until(function() return op.done end, ms),
                   "no answer to " .. op.op .. " in time")
  return op
end

--- The provoked request failed with the hook's name, `where` ("path:line:") and the
--- case's reason; what says which provocation, for the message.
function M.assert_fails(c, op, where, what)
  local say = ("%s (%s): %s"):format(c.file, what, tostring(op.text))
  luassert.are.equal("error", op.status, say)
  luassert.is_true(M.has(op.text, c.hook .. ": "), "no hook name: " .. say)
  luassert.is_true(M.has(op.text, where), ("no %q: %s"):format(where, say))
  luassert.is_true(M.has(op.text, c.expect), ("no %q: %s"):format(c.expect, say))
end

--- A describe case (`-- hook: describe`): describe runs for people, never on a
--- request's path, so mallory's acquire through catbus is granted; then catbus's
--- status row for the lock (lab:status(), each of `repeat` times) falls back to the
--- default's description and says why: "(describe failed: <where>...<expect>...)".
--- Mallory releases the lock again.
function M.assert_describe_fails(c, lab, where, ms)
  local mallory = lab:client("mallory", { node = "catbus" })
  local op = M.wait(lab, mallory:acquire("printer"), ms)
  luassert.are.equal("granted", op.status, op.text)
  for i = 1, c.times do
    local d
    for _, s in ipairs(lab:status()) do
      for _, l in ipairs(s.name == "catbus" and s.locks or {}) do
        if l.lock == "printer" then d = l.describe end
      end
    end
    local say = ("%s (status %d of %d): %s"):format(c.file, i, c.times, tostring(d))
    luassert.is_true(M.has(d, "held by mallory (token "), "no default description: " .. say)
    luassert.is_true(M.has(d, " (describe failed: "), "no fallback note: " .. say)
    luassert.is_true(M.has(d, where), ("no %q: %s"):format(where, say))
    luassert.is_true(M.has(d, c.expect), ("no %q: %s"):format(c.expect, say))
  end
  op = M.wait(lab, mallory:release("printer"), ms)
  luassert.are.equal("released", op.status, op.text)
end

--- The same instance (catbus) answers a good request on the same lock, and again.
function M.assert_serves(lab, ms)
  local giraffe = lab:client("giraffe", { node = "catbus" })
  local op = M.wait(lab, giraffe:acquire("printer"), ms)
  luassert.are.equal("granted", op.status, op.text)
  op = M.wait(lab, giraffe:release("printer"), ms)
  luassert.are.equal("released", op.status, op.text)
end

return M
