-- Waiting on real daemons (tag #e2e): a three-daemon lab running the fair lock
-- (scripts/locks/fifo.lua), driven with skinnyctl as a person would. An acquire
-- of a held lock is queued (exit 4, its place and how to ask again); --wait waits
-- for the turn (polling with the same request), --timeout gives up and leaves the
-- queue; a release hands the lock to the head of the queue.
local real = require "skinny.real"
local sh = require "helpers.sh"

local function read(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  return text
end

describe("waiting in a fair lock on real daemons #e2e", function()
  it("queues, waits, gives up, and hands the lock on in order", function()
    local lab = real.lab{ nodes = 3, lock = "fifo", fsync = false }
    finally(function() lab:close() end)
    local ctl = ("'%s/skinnyctl' --lab '%s' "):format(lab.bin:match("^(.*)/[^/]*$"), lab.dir)
    local out, rc = sh(ctl .. "acquire beaver --lock printer")
    assert.equal(0, rc, out)

    -- without --wait: queued, exit 4, and how to ask again
    out, rc = sh(ctl .. "acquire otter --lock printer")
    assert.equal(4, rc, out)
    assert.truthy(out:find('queued: otter waits for "printer" at place 1, held by beaver', 1, true), out)
    assert.truthy(out:find("--client %x+ %-%-seq %d+ acquire otter %-%-lock printer"), out)

    -- --wait with a short --timeout: gives up and leaves the queue (exit 1)
    out, rc = sh(ctl .. "acquire giraffe --lock printer --wait --timeout 700ms")
    assert.equal(1, rc, out)
    assert.truthy(out:find("at place 2", 1, true), out)
    assert.truthy(out:find("gave up waiting", 1, true), out)
    assert.truthy(out:find("left the queue", 1, true), out)

    -- heron waits in the background (place 2 again: giraffe left)
    local result = lab.dir .. "/heron.out"
    sh(("(%s --json acquire heron --lock printer --wait --timeout 20s > '%s' 2>&1 < /dev/null; "
        .. "echo \"rc=$?\" >> '%s') > /dev/null 2>&1 &"):format(ctl, result, result))
    sh("sleep 1") -- heron's first ask is queued by then

    -- beaver releases: otter holds it now (without having asked again)
    out, rc = sh(ctl .. "release beaver --lock printer")
    assert.equal(0, rc, out)
    assert.truthy(out:find("otter holds it now", 1, true), out)
    -- otter releases: heron's turn
    out, rc = sh(ctl .. "release otter --lock printer")
    assert.equal(0, rc, out)
    assert.truthy(out:find("heron holds it now", 1, true), out)

    local text
    local t0 = os.time()
    repeat
      sh("sleep 0.1")
      text = read(result)
    until (text and text:find("rc=%d")) or os.time() - t0 > 15
    assert.truthy(text and text:find("rc=0", 1, true), text)
    assert.truthy(text:find('"status":"granted"', 1, true), text)
    assert.truthy(text:find('"waited":true', 1, true), text)
    assert.falsy(text:find('"queued"', 1, true), "--json prints only the final answer: " .. text)
  end)

  it("lab clients on real daemons wait too, and the history checks as a fifo", function()
    local lab = real.lab{ nodes = 3, lock = "fifo", fsync = false }
    finally(function() lab:close() end)
    local beaver, otter = lab:client("beaver"), lab:client("otter", { node = "kanta" })
    local a = beaver:acquire("printer")
    lab:run_until(function() return a.done end, 5000)
    local b = otter:acquire("printer", { wait = 8000 })
    lab:run_until(function() return b.queued ~= nil end, 5000)
    assert.equal(1, b.queued.position)
    assert.is_false(b.done)
    local r = beaver:release("printer")
    lab:run_until(function() return b.done end, 5000)
    assert.equal("released", r.status)
    assert.equal("granted", b.status)
    assert.is_true(b.token > a.token)
    assert.is_true(b.polls >= 1)
    local rep = lab:check()
    assert.is_true(rep.ok, require("skinny.check").format(rep))
  end)
end)
