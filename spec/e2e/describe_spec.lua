-- What a lock state means, on real daemons (tag #e2e): skinnyd runs the lock
-- script's describe for each register of a status answer and sends the text
-- in the STATUS_REPLY row (spec/PROTOCOL.md 4); `skinnyctl status` shows it
-- in its DESCRIPTION column, `--json` as "describe" beside the state decoded
-- to JSON; refusals print the script's reply text. The lock is a two-permit
-- semaphore whose state has no `holder` key: a status that read only
-- `holder` showed it free while two clients held it.
local real = require "skinny.real"
local sh = require "helpers.sh"
local cjson = require "cjson"

local SEM = "spec/testdata/describe/semaphore.lua"

local function done(op) return function() return op.done end end

describe("describe on real daemons #e2e", function()
  local lab, ctl

  setup(function()
    lab = real.lab{ nodes = 3, lock = SEM, client_timeout = 5000, fsync = false }
    ctl = ("'%s/skinnyctl' --lab '%s' "):format(lab.bin:match("^(.*)/[^/]*$"), lab.dir)
  end)

  teardown(function()
    if lab then lab:close() end
  end)

  it("skinnyctl acquire prints the script's text on a refusal", function()
    local out, rc = sh(ctl .. "acquire beaver --lock sem")
    assert.equal(0, rc, out)
    out, rc = sh(ctl .. "acquire otter --lock sem")
    assert.equal(0, rc, out)
    out, rc = sh(ctl .. "acquire giraffe --lock sem")
    assert.equal(1, rc, out)
    assert.equal('refused: "sem"; no permit left: beaver, otter hold them\n', (out:gsub("exit=%d+%s*$", "")))
    out, rc = sh(ctl .. "release giraffe --lock sem")
    assert.equal(1, rc, out)
    assert.truthy(out:find('refused: giraffe does not hold "sem"; giraffe holds no permit', 1, true), out)
  end)

  it("skinnyctl status shows every instance's description, not 'free'", function()
    local out, rc = sh(ctl .. "status")
    assert.equal(0, rc, out)
    assert.truthy(out:find("NAME +LOCK +PROMISED +ACCEPTED +LAST SEEN +DESCRIPTION\n"), out)
    for _, name in ipairs{ "catbus", "kanta", "mei" } do
      assert.truthy(out:find("\n" .. name .. " +sem +%S+ +%S+ +now +2 of 2 permits: beaver, otter\n"), out)
    end
    assert.falsy(out:find("free", 1, true), out)
  end)

  it("skinnyctl --json status has describe and the state as JSON", function()
    local out, rc = sh(ctl .. "--json status")
    assert.equal(0, rc, out)
    local rows = cjson.decode((out:gsub("exit=%d+%s*$", "")))
    assert.equal(3, #rows)
    local names = {}
    for _, r in ipairs(rows) do
      names[#names + 1] = r.name
      assert.equal("sem", r.lock)
      assert.equal("2 of 2 permits: beaver, otter", r.describe)
      assert.is_number(r.state.holders.beaver)
      assert.is_number(r.state.holders.otter)
      assert.is_true(r.state.holders.otter > r.state.holders.beaver)
      assert.is_nil(r.holder)
    end
    table.sort(names)
    assert.same({ "catbus", "kanta", "mei" }, names) -- the node names are still there
  end)

  it("the real lab's status rows carry it, and so do the daemons' decided trace lines", function()
    for _, s in ipairs(lab:status()) do
      assert.is_true(s.up)
      assert.equal("2 of 2 permits: beaver, otter", s.locks[1].describe, s.name)
    end
    local texts = {}
    for _, e in ipairs(lab:trace()) do
      if e.ev == "decided" and e.describe then texts[e.describe] = true end
    end
    assert.is_true(texts["2 of 2 permits: beaver, otter"])
  end)

  it("a describe that raises falls back, names its line, and the daemon serves on", function()
    assert.is_true(lab:reload("kanta", { lock = "spec/testdata/describe/raises.lua" }))
    local op = lab:client("heron", { node = "kanta" }):acquire("printer")
    lab:run_until(done(op), 5000)
    assert.equal("granted", op.status, op.text)
    local out, rc = sh(ctl .. "--json status --lock printer")
    assert.equal(0, rc, out)
    local by = {}
    for _, r in ipairs(cjson.decode((out:gsub("exit=%d+%s*$", "")))) do by[r.name] = r end
    -- (the lab passes the daemons absolute script paths)
    local want = "^held by heron %(token %d+%) %(describe failed: /%S*spec/testdata/describe/raises%.lua:9: "
                 .. "no words for heron%)$"
    assert.truthy(by.kanta.describe:find(want), by.kanta.describe)
    -- the others run the semaphore script, which has no words for this state either way
    assert.equal("0 of 2 permits: none taken", by.catbus.describe)
    out, rc = sh(ctl .. "ping kanta")
    assert.equal(0, rc, out)
  end)

  it("a describe that loops on many locks: each row stops at its budget, the answer at 200 ms", function()
    assert.is_true(lab:reload("kanta", { lock = "spec/testdata/describe/loops.lua" }))
    local ops = {}
    for i = 1, 60 do ops[i] = lab:client("heron", { node = "kanta" }):acquire(("l%02d"):format(i)) end
    lab:run_until(function()
      for _, op in ipairs(ops) do if not op.done then return false end end
      return true
    end, 20000)
    for _, op in ipairs(ops) do assert.equal("granted", op.status, op.text) end
    local t0 = real.C.now()
    local out, rc = sh(ctl .. "--json status")
    local took = real.C.now() - t0
    assert.equal(0, rc, out)
    local failed, skipped, rows = 0, 0, 0
    for _, r in ipairs(cjson.decode((out:gsub("exit=%d+%s*$", "")))) do
      if r.name == "kanta" and r.lock:match("^l%d%d$") then
        rows = rows + 1
        assert.truthy(r.describe:find("^held by heron %(token %d+%) %(describe "), r.describe)
        if r.describe:find("instruction budget exceeded", 1, true) then failed = failed + 1 end
        if r.describe:find("describe skipped: this status answer spent its 200 ms", 1, true) then
          skipped = skipped + 1
        end
      end
    end
    print(("kanta: %d descriptions stopped at their budget, %d skipped; status took %d ms")
          :format(failed, skipped, took))
    assert.equal(60, rows)
    assert.is_true(failed >= 1, out)
    assert.equal(60, failed + skipped)
    -- every instance answered within skinnyctl's 3 s, kanta's descriptions within about 200 ms
    assert.is_true(took < 3000, took)
  end)
end)
