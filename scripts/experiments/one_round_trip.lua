-- one_round_trip: skipping phase 1 while one instance keeps proposing.
return {
  title = "one_round_trip: Paxos with and without the phase-1 skip",
  about = [[
beaver acquires and releases "printer" five times through catbus; then giraffe
does the same once through mei, and beaver goes on through catbus. With plain
Paxos every change costs two round trips (prepare/promise, accept/accepted).
With proposers/fast.lua, catbus's accepts also carry its next ballot, so while
nobody else proposes, its next change goes straight to phase 2: half the
messages, about half the time. When giraffe proposes through mei, catbus's
own acceptor promises mei's higher ballot, so catbus knows its promise is gone
and runs both phases once before it can skip again (had it not known, its
fast accept would have been refused and it would have retried with both).
With proposers/thrifty.lua, catbus also sends each phase only to itself and
the two peers that answered fastest before: three accepts per decision
instead of five. The status table shows the other two behind; they catch
up when a later phase 1 reaches them.
Look for: "phase 1 skipped" on the proposals in the timeline, messages per
decision and mean latency in each variant; all three are safe.]],
  lab = { nodes = 5, latency = { kind = "const", a = 2 } },
  variants = {
    { name = "paxos", proposer = "paxos" },
    { name = "fast", proposer = "fast" },
    { name = "thrifty", proposer = "thrifty" },
  },
  run = function(lab)
    local beaver = lab:client("beaver", { node = "catbus" })
    local giraffe = lab:client("giraffe", { node = "mei" })
    local function cycle(c)
      for _, op in ipairs{ "acquire", "release" } do
        local o = c:invoke(op, "printer")
        assert(lab:run_until(function() return o.done end, 5000), "no answer in time")
      end
    end
    for _ = 1, 5 do cycle(beaver) end
    cycle(giraffe)
    for _ = 1, 3 do cycle(beaver) end
    lab:run_for(20)
  end,
}
