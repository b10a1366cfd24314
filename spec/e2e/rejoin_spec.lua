-- Reproduction 2 of the state-loss issue on real daemons (tag #e2e): an
-- instance restarted with an empty data directory (`skinny lab restart NAME
-- --wipe`) has forgotten every promise and acceptance. It must not vote
-- until it has rejoined (spec/PROTOCOL.md 7.6): a new epoch recorded by
-- N - M + 1 members, then each lock fetched from as many. Were it to vote at
-- once, with a majority that includes it it could miss beaver's grant and
-- grant the lock to giraffe. spec/rejoin_spec.lua runs the same in the
-- simulator, for every instance and proposer.
local skinny = require "skinny"
local real = require "skinny.real"

local function done(op) return function() return op.done end end

local sh = require "helpers.sh"

local function read(path)
  local f = io.open(path, "r")
  if not f then return "" end
  local text = f:read("a")
  f:close()
  return text
end

describe("a blank restart on real daemons #e2e", function()
  it("catbus restarted with its data wiped rejoins; giraffe through catbus is refused, beaver holds",
     function()
    local lab = real.lab{ nodes = 5, client_timeout = 5000, fsync = false }
    finally(function() lab:close() end)
    local beaver = lab:client("beaver", { node = "catbus" })
    local a = beaver:acquire("printer")
    lab:run_until(done(a), 5000)
    assert.equal("granted", a.status)

    -- skinny lab restart catbus --wipe
    lab:restart("catbus", { amnesia = true })
    assert.equal("restart (state lost, rejoins) catbus", lab.faults[#lab.faults].what)

    -- through catbus: it answers only once it has rejoined and caught
    -- printer up from three members, and then it knows beaver holds it
    local giraffe = lab:client("giraffe", { node = "catbus" })
    local g = giraffe:acquire("printer")
    lab:run_until(done(g), 6000)
    assert.equal("refused", g.status)
    assert.equal("beaver", g.by)
    assert.equal("catbus", g.via)
    assert.is_true(lab:rejoined("catbus"))

    -- skinnyctl status: catbus's promise is in epoch 1, the epoch it opened
    local out, rc = sh(("'%s/skinnyctl' --lab '%s' status --lock printer")
                       :format(lab.bin:match("^(.*)/[^/]*$"), lab.dir))
    assert.equal(0, rc, out)
    local row = out:match("\ncatbus%s+printer%s+([^\n]+)")
    assert.truthy(row, out)
    local promised = row:match("^(%S+)")
    assert.truthy(promised:match("^e1:%d+%.%d+$"), out)
    assert.truthy(row:find("beaver", 1, true), out)

    -- catbus says so: in its log, and as a rejoin event in its trace
    local log = read(lab.dir .. "/catbus/skinnyd.log")
    assert.truthy(log:find("holds no state: this instance lost it", 1, true), log)
    assert.truthy(log:find("catbus info: rejoined: epoch 1 recorded by 3 members", 1, true), log)
    local rejoined
    for _, e in ipairs(skinny.decode_trace(read(lab.dir .. "/catbus/trace.jsonl"))) do
      if e.ev == "rejoin" and tostring(e.text):find("^rejoined") then rejoined = e end
    end
    assert.truthy(rejoined, "no rejoin event starting \"rejoined\" in catbus's trace")
    assert.truthy(rejoined.ballot:match("^e1:"), rejoined.ballot)

    -- and the history holds: one holder, linearizable
    assert.is_true(lab:check().ok)
  end)
end)
