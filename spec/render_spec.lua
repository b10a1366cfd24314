-- Specs for skinny.render: the self-contained HTML page and the SVG diagram of a run.
-- The page itself is tried in a real browser by tests/browser/render.test.mjs; here we check
-- what can be checked as text: the skeleton, that nothing is fetched, that the trace and the
-- checker's verdict are embedded, that the SVG has one arrow per message, that a double
-- grant is marked.

local cjson = require "cjson"
local render = require "skinny.render"
local render_cli = require "skinny.render_cli"

local function read(path)
  local f = assert(io.open(path, "r"))
  local s = f:read("a")
  f:close()
  return s
end

local function decode_lines(text)
  local out = {}
  for line in text:gmatch("[^\n]+") do
    local e = cjson.decode(line)
    for k, v in pairs(e) do
      if v == cjson.null then e[k] = nil
      elseif math.type(v) == "float" and v == math.floor(v) then e[k] = math.tointeger(v) end
    end
    out[#out + 1] = e
  end
  return out
end

local function count(s, plain)
  local n, i = 0, 1
  while true do
    local a, b = s:find(plain, i, true)
    if not a then return n end
    n, i = n + 1, b + 1
  end
end

local function count_ev(events, ev)
  local n = 0
  for _, e in ipairs(events) do if e.ev == ev then n = n + 1 end end
  return n
end

local function embedded(html, id)
  local text = html:match('<script type="application/json" id="' .. id:gsub("%-", "%%-") .. '">(.-)</script>')
  assert(text, "no embedded " .. id)
  return cjson.decode(text)
end

-- The hand-made classic double grant the browser test uses: beaver and giraffe both granted
-- "printer", held at once from t=12 to t=30.
local DOUBLE_GRANT = decode_lines(read("tests/browser/testdata/double_grant.jsonl"))

-- A correct run in the same shape: one grant, a release, another grant; one message
-- dropped, one duplicated, an instance crashed and restarted, a partition healed.
local function correct_run()
  local ev = {}
  local function e(t) ev[#ev + 1] = t end
  e { t = 0, ev = "run", nodes = { "catbus", "kanta", "mei" }, seed = 7, experiment = "scripts/experiments/x.lua",
      proposer = "paxos", backoff = "exponential_jitter", lock = "advisory" }
  e { t = 0, ev = "invoke", req = 1, client = "beaver", node = "catbus", op = "acquire", lock = "printer",
      holder = "beaver" }
  e { t = 1, ev = "attempt", node = "catbus", lock = "printer", ballot = "1.1", req = 1, attempt = 1 }
  e { t = 1, ev = "persist", node = "catbus", lock = "printer", promised = "1.1", accepted = "0.0" }
  e { t = 1, ev = "promised", node = "catbus", lock = "printer", ballot = "1.1" }
  e { t = 1, ev = "send", id = 1, from = "catbus", to = "kanta", msg = "prepare", lock = "printer", ballot = "1.1" }
  e { t = 1, ev = "send", id = 2, from = "catbus", to = "mei", msg = "prepare", lock = "printer", ballot = "1.1" }
  e { t = 1, ev = "drop", id = 2, from = "catbus", to = "mei", msg = "prepare", lock = "printer", ballot = "1.1",
      why = "loss" }
  e { t = 2, ev = "recv", id = 1, from = "catbus", to = "kanta", msg = "prepare", lock = "printer", ballot = "1.1" }
  e { t = 2, ev = "persist", node = "kanta", lock = "printer", promised = "1.1", accepted = "0.0" }
  e { t = 2, ev = "promised", node = "kanta", lock = "printer", ballot = "1.1" }
  e { t = 2, ev = "send", id = 3, from = "kanta", to = "catbus", msg = "promise", lock = "printer", ballot = "1.1",
      accepted = "0.0" }
  e { t = 2, ev = "dup", id = 3, from = "kanta", to = "catbus", msg = "promise", lock = "printer", ballot = "1.1" }
  e { t = 3, ev = "recv", id = 3, from = "kanta", to = "catbus", msg = "promise", lock = "printer", ballot = "1.1" }
  e { t = 3, ev = "accepted", node = "catbus", lock = "printer", ballot = "1.1",
      state = { holder = "beaver", token = 257 } }
  e { t = 3, ev = "send", id = 4, from = "catbus", to = "kanta", msg = "accept", lock = "printer", ballot = "1.1",
      state = { holder = "beaver", token = 257 } }
  e { t = 4, ev = "recv", id = 3, from = "kanta", to = "catbus", msg = "promise", lock = "printer", ballot = "1.1" }
  e { t = 4, ev = "recv", id = 4, from = "catbus", to = "kanta", msg = "accept", lock = "printer", ballot = "1.1" }
  e { t = 4, ev = "accepted", node = "kanta", lock = "printer", ballot = "1.1",
      state = { holder = "beaver", token = 257 } }
  e { t = 4, ev = "send", id = 5, from = "kanta", to = "catbus", msg = "accepted", lock = "printer", ballot = "1.1" }
  e { t = 5, ev = "recv", id = 5, from = "kanta", to = "catbus", msg = "accepted", lock = "printer", ballot = "1.1" }
  e { t = 5, ev = "decided", node = "catbus", lock = "printer", ballot = "1.1", req = 1, result = "granted",
      state = { holder = "beaver", token = 257 } }
  e { t = 6, ev = "complete", req = 1, client = "beaver", node = "catbus", lock = "printer", status = "granted",
      holder = "beaver", token = 257 }
  e { t = 7, ev = "fault", node = "mei", what = "crash" }
  e { t = 8, ev = "fault", node = "*", what = "partition catbus / kanta,mei" }
  e { t = 40, ev = "fault", node = "*", what = "heal" }
  e { t = 41, ev = "fault", node = "mei", what = "restart" }
  e { t = 50, ev = "invoke", req = 2, client = "beaver", node = "catbus", op = "release", lock = "printer",
      holder = "beaver" }
  e { t = 52, ev = "complete", req = 2, client = "beaver", node = "catbus", lock = "printer", status = "released",
      holder = "beaver" }
  return ev
end

describe("skinny.render #unit", function()
  describe("html", function()
    local events = correct_run()
    local html = render.html(events, { title = "a correct run", command = "bin/skinny run x.lua --seed 7" })

    it("is a complete HTML document", function()
      assert.truthy(html:match("^<!DOCTYPE html>\n<html lang=\"en\">"))
      assert.truthy(html:find("<head>", 1, true))
      assert.truthy(html:find('<meta charset="utf-8">', 1, true))
      assert.truthy(html:find("<title>a correct run - Skinny run</title>", 1, true))
      assert.truthy(html:find("</body>\n</html>\n$"))
      assert.equal(1, count(html, "<body>"))
      assert.equal(1, count(html, "<style>"))
      -- one script of code, two of data
      assert.equal(3, count(html, "<script"))
      assert.equal(count(html, "<script"), count(html, "</script>"))
    end)

    it("is self-contained: nothing is fetched", function()
      assert.falsy(html:lower():find("<link", 1, true))
      assert.falsy(html:lower():find("@import", 1, true))
      assert.falsy(html:find("url%(%s*['\"]?https?:"))
      assert.falsy(html:find("src%s*=%s*['\"]?https?:"))
      assert.falsy(html:find("href%s*=%s*['\"]?https?:"))
      assert.falsy(html:find("<script[^>]* src="))
      assert.falsy(html:find("fetch%("))
      assert.falsy(html:find("XMLHttpRequest", 1, true))
    end)

    it("embeds the whole trace as one JSON array", function()
      local got = embedded(html, "skinny-events")
      assert.equal(#events, #got)
      assert.equal("run", got[1].ev)
      assert.equal("beaver", got[#events].client)
      assert.same({ holder = "beaver", token = 257 }, got[15].state)
    end)

    it("embeds the checker's verdict and the command that reproduces the run", function()
      local model = embedded(html, "skinny-model")
      assert.equal("pass", model.verdict)
      assert.equal(3, #model.checks)
      assert.truthy(html:find('data-verdict="pass"', 1, true))
      assert.truthy(html:find("<b>single holder</b>: 0 overlaps over 1 lock", 1, true))
      assert.truthy(html:find('<code id="command">bin/skinny run x.lua --seed 7</code>', 1, true))
      assert.falsy(html:find('id="overlap-text"', 1, true))
    end)

    it("builds the command from the run event when none is given", function()
      local h = render.html(events)
      assert.truthy(h:find("bin/skinny run scripts/experiments/x.lua --seed 7 --proposer paxos "
        .. "--backoff exponential_jitter --lock advisory", 1, true))
      assert.truthy(h:find("<title>x - Skinny run</title>", 1, true))
    end)

    it("counts what happened", function()
      local m = render.analyse(events).metrics
      assert.equal(5, m.sends)
      assert.equal(1, m.drops)
      assert.equal(1, m.dups)
      assert.same({ loss = 1 }, m.drop_why)
      assert.equal(1, m.decisions)
      assert.equal(4, m.faults)
      assert.equal(2, m.invokes)
    end)

    it("escapes what it shows and keeps the embedded JSON inside its script element", function()
      local evil = correct_run()
      evil[2].holder = "</script><script>alert(1)</script>"
      local h = render.html(evil, { title = "<b>x</b> & y" })
      assert.truthy(h:find("<title>&lt;b&gt;x&lt;/b&gt; &amp; y - Skinny run</title>", 1, true))
      assert.falsy(h:find("alert(1)</script>", 1, true))
      assert.equal(3, count(h, "</script>"))
      local got = embedded(h, "skinny-events")
      assert.equal("</script><script>alert(1)</script>", got[2].holder)
    end)

    it("renders a trace with no client and no run event", function()
      local h = render.html({ { t = 0, ev = "fault", node = "*", what = "heal" } })
      assert.truthy(h:find("(the trace has no run event: it did not come from skinny run)", 1, true))
      assert.equal(1, #embedded(h, "skinny-events"))
      assert.truthy(render.html({}):find("</html>", 1, true))
    end)
  end)

  describe("analyse", function()
    local m = render.analyse(correct_run())

    it("has a lane per instance, then one per client", function()
      local names = {}
      for i, l in ipairs(m.lanes) do names[i] = l.kind .. ":" .. l.name end
      assert.same({ "node:catbus", "node:kanta", "node:mei", "client:beaver" }, names)
      assert.equal(3, m.nnodes)
    end)

    it("has one message arrow per send, marks the dropped one and draws the duplicate apart", function()
      local msg, dup, drop, client = 0, 0, 0, 0
      for _, a in ipairs(m.arrows) do
        if a.k == "msg" then msg = msg + 1 end
        if a.k == "dup" then dup = dup + 1 end
        if a.drop then drop = drop + 1; assert.equal("loss", a.drop); assert.equal("prepare", a.msg) end
        if a.k == "req" or a.k == "ans" then client = client + 1 end
      end
      assert.equal(5, msg)
      assert.equal(1, dup)
      assert.equal(1, drop)
      assert.equal(4, client)
    end)

    it("draws the crash until the restart, and the partition until the heal", function()
      local down
      for _, s in ipairs(m.spans) do if s.k == "down" then down = s end end
      assert.same({ 7, 41, 2 }, { down.t0, down.t1, down.lane })
      local part
      for _, g in ipairs(m.globals) do if g.k == "partition" then part = g end end
      assert.same({ { 0 }, { 1, 2 } }, part.groups)
      assert.equal(40, part.t1)
    end)

    it("knows the quorum behind each decision", function()
      assert.equal(1, #m.decisions)
      assert.same({ "catbus", "kanta" }, m.decisions[1].quorum)
      assert.equal("beaver #257", m.decisions[1].value)
    end)

    it("holds the lock from the grant's answer to the release", function()
      assert.equal(1, #m.holds)
      local h = m.holds[1]
      assert.same({ "beaver", 257, 6, 50, 52 }, { h.holder, h.token, h.from, h.to, h.release_end })
    end)
  end)

  describe("a double grant", function()
    local html = render.html(DOUBLE_GRANT, { title = "double grant" })
    local model = embedded(html, "skinny-model")

    it("fails the verdict", function()
      assert.equal("fail", model.verdict)
      assert.truthy(html:find('data-verdict="fail"', 1, true))
    end)

    it("marks the overlap of the two holders with the checker's explanation", function()
      assert.equal(1, #model.overlaps)
      local o = model.overlaps[1]
      assert.same({ "printer", 12, 30, "beaver", "giraffe" }, { o.lock, o.from, o.to, o.a.holder, o.b.holder })
      local text = "lock printer held by beaver (token 512) and giraffe (token 768) at once from t=12 to t=30"
      assert.equal(text, o.text)
      assert.truthy(html:find('id="overlap-text"', 1, true))
      assert.truthy(html:find(text, 1, true))
    end)

    it("shows the classic-mode warning", function()
      assert.truthy(html:find("CLASSIC MODE", 1, true))
    end)

    it("and the correct run has no overlap", function()
      assert.equal(0, #render.analyse(correct_run()).overlaps)
    end)
  end)

  describe("svg", function()
    it("has one message path per send", function()
      local svg = render.svg(DOUBLE_GRANT)
      assert.truthy(svg:match('^<svg xmlns="http://www.w3.org/2000/svg"'))
      assert.truthy(svg:find("</svg>\n$"))
      assert.equal(count_ev(DOUBLE_GRANT, "send"), count(svg, 'class="msg '))
      assert.equal(count_ev(DOUBLE_GRANT, "invoke") + count_ev(DOUBLE_GRANT, "complete"),
        count(svg, 'class="client '))
      assert.equal(0, count(svg, 'class="dup '))
      -- the overlap is marked in red there too
      assert.truthy(svg:find("held by beaver (token 512) and giraffe (token 768)", 1, true))
    end)

    it("marks drops with an x and duplicates apart", function()
      local events = correct_run()
      local svg = render.svg(events)
      assert.equal(count_ev(events, "send"), count(svg, 'class="msg '))
      assert.equal(1, count(svg, 'class="msg prepare dropped"'))
      assert.equal(1, count(svg, 'class="dup promise"'))
      assert.equal(1, count(svg, 'class="x"') - 1) -- one in the legend
      assert.falsy(svg:find("href%s*=%s*['\"]?https?:"))
    end)
  end)

  describe("traces from real daemons", function()
    -- two daemons' files, concatenated: wall-clock times, no message ids, each daemon
    -- numbering its own requests, answers without the client's name
    local T = 1795324383607
    local catbus = {
      { t = T, ev = "invoke", req = 1, client = "127.0.0.1:4000", node = "catbus", op = "acquire",
        lock = "printer", holder = "beaver" },
      { t = T, ev = "send", from = "catbus", to = "kanta", msg = "prepare", lock = "printer", ballot = "1.1" },
      { t = T + 1, ev = "recv", from = "kanta", to = "catbus", msg = "promise", lock = "printer", ballot = "1.1" },
      { t = T + 2, ev = "complete", req = 1, node = "catbus", lock = "printer", status = "granted",
        holder = "beaver", token = 257 },
    }
    local kanta = {
      { t = T, ev = "recv", from = "catbus", to = "kanta", msg = "prepare", lock = "printer", ballot = "1.1" },
      { t = T + 1, ev = "send", from = "kanta", to = "catbus", msg = "promise", lock = "printer", ballot = "1.1" },
      { t = T + 3, ev = "invoke", req = 1, client = "127.0.0.1:4001", node = "kanta", op = "release",
        lock = "printer", holder = "beaver" },
    }
    local events = {}
    for _, e in ipairs(catbus) do events[#events + 1] = e end
    for _, e in ipairs(kanta) do events[#events + 1] = e end

    it("leaves the simulator's traces as they are", function()
      local sim = correct_run()
      assert.equal(sim, (render.normalise(sim)))
    end)

    it("merges them in time order, from t = 0, pairing each receive with its send", function()
      local out, t0 = render.normalise(events)
      assert.equal(T, t0)
      local ts = {}
      for i, e in ipairs(out) do ts[i] = e.t end
      assert.same({ 0, 0, 0, 1, 1, 2, 3 }, ts)
      local by = {}
      for _, e in ipairs(out) do by[e.ev .. ":" .. tostring(e.msg)] = e end
      assert.is_not_nil(by["send:prepare"].id)
      assert.equal(by["send:prepare"].id, by["recv:prepare"].id)
      assert.equal(by["send:promise"].id, by["recv:promise"].id)
      assert.are_not.equal(by["send:prepare"].id, by["send:promise"].id)
      assert.equal("127.0.0.1:4000", by["complete:nil"].client)
      assert.equal("catbus:1", by["complete:nil"].req)
      assert.equal("kanta:1", by["invoke:nil"].req)
      assert.equal(T, events[1].t) -- the input is not changed
      assert.is_nil(events[2].id)
    end)

    it("draws them: two arrows, the client's answer, the wall-clock start", function()
      local m = render.analyse(events)
      local msg, ans = 0, 0
      for _, a in ipairs(m.arrows) do
        if a.k == "msg" then msg = msg + 1; assert.is_nil(a.lost) end
        if a.k == "ans" then ans = ans + 1 end
      end
      assert.equal(2, msg)
      assert.equal(1, ans)
      assert.equal(T, m.wall_t0)
      local html = render.html(events)
      assert.truthy(html:find("t = 0 is 2026-", 1, true))
      assert.equal(#events, #embedded(html, "skinny-events"))
    end)
  end)

  describe("render_cli", function()
    it("reads a trace and names the line it cannot read", function()
      local path = os.tmpname()
      local f = assert(io.open(path, "w"))
      f:write('{"t":0,"ev":"run","nodes":["a"]}\n\nnot json\n')
      f:close()
      local events, err = render_cli.read_trace(path)
      os.remove(path)
      assert.is_nil(events)
      assert.equal(path .. ":3: not a JSON trace event (one JSON object a line expected)", err)
    end)

    it("writes the page and the SVG", function()
      local html, svg = os.tmpname(), os.tmpname()
      local real_print = _G.print
      local said
      _G.print = function(s) said = s end
      local ok, rc = pcall(render_cli.render_cmd,
        { "tests/browser/testdata/double_grant.jsonl", "-o", html, "--svg", svg, "--title", "dg" })
      _G.print = real_print
      assert.is_true(ok, rc)
      assert.equal(0, rc)
      assert.truthy(said:find("55 events", 1, true))
      assert.truthy(said:find("verdict: FAIL", 1, true))
      assert.truthy(read(html):find("<title>dg - Skinny run</title>", 1, true))
      assert.truthy(read(svg):find("</svg>", 1, true))
      os.remove(html)
      os.remove(svg)
    end)
  end)

  describe("from a lab", function()
    local ok_core = pcall(require, "skinny.core")

    it("renders lab:trace() as `skinny run --html` will", function()
      if not ok_core then pending("skinny.core is not built (run make)"); return end
      local skinny = require "skinny"
      local chunk = assert(loadfile("scripts/experiments/basic.lua"))
      local exp = chunk()
      local opts = { seed = 7, scripts_dir = "scripts" }
      for k, v in pairs(exp.lab or {}) do opts[k] = v end
      local lab = skinny.lab(opts)
      exp.run(lab)
      local events = lab:trace()
      lab:close()
      local html = render.html(events, { title = "basic", command = "bin/skinny run scripts/experiments/basic.lua" })
      assert.equal(#events, #embedded(html, "skinny-events"))
      local model = embedded(html, "skinny-model")
      assert.equal(count_ev(events, "send"), model.counts.msg)
      assert.equal("pass", model.verdict)
    end)

    it("draws a failover: resends as requests, late answers and lost ones as answers, op outcomes", function()
      if not ok_core then pending("skinny.core is not built (run make)"); return end
      local skinny = require "skinny"
      local exp = assert(loadfile("scripts/experiments/failover.lua"))()
      local lab = skinny.lab{ seed = 1, identity = false, latency = exp.lab.latency }
      exp.run(lab)
      local heron = lab.clients[1]
      lab:cut_client(heron, "mei", "answers")
      heron:acquire("M", { node = "mei" })
      lab:settle()
      lab.sim:trace_note('{"t":0,"ev":"run","experiment":"failover.lua","seed":1,"identity":false}')
      local events = lab:trace()
      table.insert(events, 1, table.remove(events)) -- the run event first, as skinny run writes it
      local nops = #lab.ops
      lab:close()
      local m = render.analyse(events)
      assert.equal(nops, m.metrics.invokes) -- operations, not attempts
      assert.equal(count_ev(events, "invoke") - nops, m.metrics.resends)
      assert.equal(1, m.metrics.late)
      assert.equal(1, m.metrics.statuses.released) -- heron's release: timeout, then released
      assert.is_nil(m.metrics.statuses.timeout)
      assert.equal(count_ev(events, "invoke"), m.counts.req)
      assert.equal(count_ev(events, "complete") + count_ev(events, "late") + count_ev(events, "client_drop"),
                   m.counts.ans)
      local late, lost = 0, 0
      for _, a in ipairs(m.arrows) do
        if a.late then late = late + 1 end
        if a.k == "ans" and a.drop == "cut" then lost = lost + 1 end
      end
      assert.same({ 1, 1 }, { late, lost })
      assert.equal("fail", m.verdict)
      local html = render.html(events)
      assert.truthy(html:find("IDENTITY OFF", 1, true))
      assert.truthy(html:find("resends, ", 1, true))
    end)
  end)
end)
