-- rwlock: many readers or one writer (scripts/locks/rwlock.lua), with faults.
return {
  title = "rwlock: three readers and two writers, with faults",
  about = [[
The lock "db" is a read-write lock (scripts/locks/rwlock.lua): readers
(acquire with shared = true; skinnyctl acquire --shared) share it, a writer
(a plain acquire) holds it alone. Three readers and two writers (failing over
like skinnyctl) each acquire it four times, hold it 20 to 80 ms and release;
a refused client tries again. Meanwhile messages are lost and duplicated for
a while and two instances crash and come back (one with its disk wiped).
Look for: readers granted while other readers hold; writers refused while
anyone reads ("read by ...: a writer waits until every reader has gone");
the lock leans towards readers (no queue: a writer can starve while readers
overlap); the checker holding the history to the read-write model (many
readers at once pass, a writer with anyone else would be flagged).
With --real the same runs on skinnyd processes (the crashes; loss and
duplication exist only in the simulator).
Then run it with a lock that lets a writer join readers:
  bin/skinny run scripts/experiments/rwlock.lua --lock spec/testdata/bad/rwlock_writer_joins_readers.lua
and the checker names the writer held together with readers.]],
  lab = { nodes = 5, lock = "rwlock",
          latency = { kind = "uniform", a = 1, b = 8 }, client_timeout = 3000, phase_timeout = 150 },
  run = function(lab)
    if not lab.real then -- loss and duplication exist only in the simulator
      lab:at(100, function(l) l:loss(0.1) end)
      lab:at(400, function(l) l:loss(0) end)
      lab:at(300, function(l) l:duplicate(0.2) end)
      lab:at(600, function(l) l:duplicate(0) end)
    end
    lab:at(200, function(l) l:crash("satsuki") end)
    lab:at(700, function(l) l:restart("satsuki") end)
    lab:at(800, function(l) l:crash("kanta") end)
    lab:at(1100, function(l) l:restart("kanta", { amnesia = true }) end)
    local out = require("skinny.contend").run(lab, {
      lock = "db", rounds = 4,
      clients = {
        { holder = "reader1", node = "catbus", shared = true, failover = true },
        { holder = "reader2", node = "kanta", shared = true, failover = true },
        { holder = "reader3", node = "mei", shared = true, failover = true },
        { holder = "writer1", node = "satsuki", failover = true },
        { holder = "writer2", node = "totoro", failover = true },
      },
    })
    lab:run_for(2000)
    return out
  end,
}
