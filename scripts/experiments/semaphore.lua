-- semaphore: a lock that N may hold at once (scripts/locks/semaphore.lua),
-- five clients contending for two permits while messages are lost and
-- duplicated and instances crash.
return {
  title = "semaphore: five clients, two permits, with faults",
  about = [[
The lock "printer" is a counting semaphore (scripts/locks/semaphore.lua) with
permits = 2 (the lab's lock_params; try --lock-param permits=3). Five clients
(failing over like skinnyctl) each acquire it four times, hold it 20 to 80 ms
and release; a refused client tries again. Meanwhile 10% of messages between
instances are lost for a while, then 20% duplicated, kanta crashes and comes
back, and mei restarts with its disk wiped (it rejoins before it votes).
Look for: refusals naming a holder and listing every holder in their text
("all 2 permits held: beaver, otter"); at most two granted at any moment; the
checker holding the history to the semaphore's model ("linearizable as a
semaphore", single holder "0 overlaps": the bound is the permits).
With --real the same runs on skinnyd processes (the crashes; loss and
duplication exist only in the simulator).
Then run it with the off-by-one variant, which grants a third permit:
  bin/skinny run scripts/experiments/semaphore.lua --lock spec/testdata/bad/semaphore_off_by_one.lua
and the checker names three holders at once.]],
  lab = { nodes = 5, lock = "semaphore", lock_params = { permits = 2 },
          latency = { kind = "uniform", a = 1, b = 8 }, client_timeout = 3000, phase_timeout = 150 },
  run = function(lab)
    if not lab.real then -- loss and duplication exist only in the simulator
      lab:at(100, function(l) l:loss(0.1) end)
      lab:at(400, function(l) l:loss(0) end)
      lab:at(300, function(l) l:duplicate(0.2) end)
      lab:at(600, function(l) l:duplicate(0) end)
    end
    lab:at(200, function(l) l:crash("kanta") end)
    lab:at(700, function(l) l:restart("kanta") end)
    lab:at(800, function(l) l:crash("mei") end)
    lab:at(1100, function(l) l:restart("mei", { amnesia = true }) end)
    local out = require("skinny.contend").run(lab, {
      lock = "printer", rounds = 4,
      clients = {
        { holder = "beaver", node = "catbus", failover = true },
        { holder = "otter", node = "kanta", failover = true },
        { holder = "giraffe", node = "mei", failover = true },
        { holder = "heron", node = "satsuki", failover = true },
        { holder = "alien", node = "totoro", failover = true },
      },
    })
    lab:run_for(2000)
    return out
  end,
}
