-- fifo: a fair lock with a wait queue, served in arrival order, under a slow
-- network and a crash; and the same clients on a lock that hands the lock to
-- the LAST waiter, which the checker catches.
return {
  title = "fifo: waiting in a queue for a fair lock (and a LIFO lock the checker catches)",
  about = [[
Four clients (failing over, as skinnyctl does) want the printer at once and
each holds it for 200 ms. With
scripts/locks/fifo.lua an acquire of a held lock is answered QUEUED with its
place; the client asks again (the same request, so it takes effect once)
every 100 ms, and hears GRANTED when the release before it handed the lock
on. Look for: queued answers and their places, grants in the order the
clients queued, tokens that grow with every hand-over, and the time each
client waited. Midway mei crashes and comes back: waiting survives it, since
the queue is in the lock's state, replicated like everything else.
The "lifo" variant runs spec/testdata/bad/fifo_lifo.lua, which hands the lock
to the newest waiter but declares fifo's model: the checker says which wait
could not be placed (FAIL linearizable). Edit scripts/locks/fifo.lua (give
waiters a deadline, or let readers share) and rerun.]],
  lab = { nodes = 3, lock = "fifo", latency = { kind = "uniform", a = 2, b = 12 } },
  variants = {
    { name = "fifo", lock = "fifo" },
    { name = "lifo (known bad)", lock = "spec/testdata/bad/fifo_lifo.lua" },
  },
  run = function(lab)
    local names = { "beaver", "otter", "giraffe", "heron" }
    local out, left = {}, #names
    for i, h in ipairs(names) do
      local c = lab:client(h, { node = lab.names[(i - 1) % #lab.names + 1], wait = 10000,
                                failover = true })
      lab:at(5 * i, function()
        local op = c:acquire("printer")
        out[h] = op
      end)
    end
    lab:at(300, function(l) l:crash("mei") end)
    lab:at(700, function(l) l:restart("mei") end)
    -- whoever hears granted holds the printer for 200 ms, then releases it
    lab.on_reply = function(op)
      if op.op == "acquire" and op.status == "granted" then
        lab:after(200, function()
          local c
          for _, cl in ipairs(lab.clients) do if cl.holder == op.holder then c = cl end end
          c:release("printer")
          left = left - 1
        end)
      end
    end
    lab:run_until(function() return left == 0 end, 20000)
    lab.on_reply = nil
    lab:run_for(100)
    return out
  end,
}
