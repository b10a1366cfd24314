-- failover: a client that fails over sends the same request twice; without
-- request identity a late copy of an old release frees a newer grant.
return {
  title = "failover: a late copy of an old release (the no identity variant is UNSAFE on purpose)",
  about = [[
Real clients (skinnyctl) fail over: an instance that does not answer in time
gets the same request sent to the next one. The first copy is not recalled; it
may still run. heron acquires lock L through kanta. heron's requests to catbus
now take 1500 ms. heron releases L through catbus with a 2 s timeout: catbus
is silent for 1000 ms (half of the timeout, while other instances remain), so
heron fails over to kanta: released. heron acquires L again through kanta:
granted. Then the slow copy of the old release reaches catbus and runs.
Look for what catbus decides at about t=1530, and what beaver hears at t=1600.
In the "no identity" variant (identity = false, every copy applied as new,
the behaviour before request identity: UNSAFE) the old copy frees heron's new
grant, beaver is GRANTED while heron still holds L, and the checker reports
two holders at once. With request identity (the default) every copy carries
(client, seq): the register remembers heron's newer request, the late copy is
answered STALE and changes nothing, beaver is refused (heron holds), and
heron's last release is answered released. The simulator only finds this bug
because its clients now fail over as real ones do.]],
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
    out.acquire = heron:acquire("L")
    wait(out.acquire)
    lab:run_for(9)
    -- heron's requests to catbus now take 1500 ms (its answers stay fast)
    lab:slow_client(heron, "catbus", 1500, "requests", "const")
    out.release = heron:release("L", { node = "catbus" })
    wait(out.release)
    lab:run_for(10)
    out.reacquire = heron:acquire("L", { node = "kanta" })
    wait(out.reacquire)
    -- the copy sent to catbus arrives at about t=1520 and runs
    lab:run_for(1600 - lab:now())
    out.beaver = beaver:acquire("L")
    wait(out.beaver)
    lab:run_for(1700 - lab:now())
    out.last_release = heron:release("L", { node = "kanta" })
    wait(out.last_release)
    lab:run_for(50)
    return out
  end,
}
