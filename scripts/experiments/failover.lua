-- failover: a client that fails over sends the same request twice; without
-- request identity a late copy of an old release frees a newer grant. It uses
-- only what both labs have (an instance slowed with lab:slow), so it runs the
-- same on real daemons: bin/skinny run scripts/experiments/failover.lua --real
return {
  title = "failover: a late copy of an old release (the no identity variant is UNSAFE on purpose)",
  about = [[
Real clients (skinnyctl) fail over: an instance that does not answer in time
gets the same request sent to the next one. The first copy is not recalled; it
may still run. heron acquires lock L through kanta. catbus is slowed: what it
sends to the other instances now takes 1500 ms, so it cannot finish anything
in time. heron releases L through catbus with a 2 s timeout: catbus is silent
for 1000 ms (half of the timeout, while other instances remain), so heron
fails over to kanta: released. heron acquires L again through kanta: granted.
Then catbus is no longer slow, and its copy of the old release runs: look for
catbus's late answer to heron's first send, then what beaver hears.
In the "no identity" variant (identity = false, every copy applied as new,
the behaviour before request identity: UNSAFE) the old copy frees heron's new
grant, beaver is GRANTED while heron still holds L, and the checker reports
two holders at once. With request identity (the default) every copy carries
(client, seq): the register remembers heron's newer request, the late copy is
answered STALE and changes nothing, beaver is refused (heron holds), and
heron's last release is answered released. The simulator only finds this bug
because its clients fail over as real ones do.]],
  lab = { nodes = 5, latency = { kind = "const", a = 2 } },
  variants = {
    { name = "no identity", identity = false },
    { name = "identity", identity = true },
  },
  run = function(lab)
    local heron = lab:client("heron", { node = "kanta", failover = true, timeout = 2000 })
    local beaver = lab:client("beaver", { node = "mei", failover = true })
    local out = {}
    local function wait(op) lab:run_until(function() return op.done end, 5000) end
    -- the answer catbus gives heron's first send, after heron stopped waiting
    local function late_answer()
      for _, e in ipairs(lab:trace()) do
        if e.ev == "late" and e.req == out.release.id then return e end
      end
    end
    out.acquire = heron:acquire("L")
    wait(out.acquire)
    lab:run_for(9)
    -- catbus's messages to the other instances now take 1500 ms
    lab:slow("catbus", 1500, "const")
    out.release = heron:release("L", { node = "catbus" })
    wait(out.release)
    lab:run_for(10)
    out.reacquire = heron:acquire("L", { node = "kanta" })
    wait(out.reacquire)
    -- catbus's messages flow again: its copy of the old release runs
    lab:slow("catbus", 0)
    local limit = lab:now() + 10000
    repeat lab:run_for(20) until late_answer() or lab:now() >= limit
    out.late = late_answer()
    lab:run_for(50)
    out.beaver = beaver:acquire("L")
    wait(out.beaver)
    lab:run_for(50)
    out.last_release = heron:release("L", { node = "kanta" })
    wait(out.last_release)
    lab:run_for(50)
    return out
  end,
}
