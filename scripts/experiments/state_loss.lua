-- state_loss: can we recover from state loss? Only if state is durable.
return {
  title = "state_loss: a majority restarting with amnesia breaks safety",
  about = [[
beaver holds the lock. Then catbus, kanta and mei restart; satsuki and totoro
are slow to answer. In the "amnesia" variant the three lost their disk: they
promise anything, report no accepted value, and giraffe's acquire through
catbus is granted although beaver still holds the lock. The checker says so.
In the "durable" variant they restart with what they had written and fsync'd
before answering, and giraffe is refused. Paxos's majorities only intersect
if every member of a majority remembers what it promised and accepted.]],
  lab = { nodes = 5 },
  variants = {
    { name = "durable", amnesia = false },
    { name = "amnesia", amnesia = true },
  },
  run = function(lab, variant)
    local beaver = lab:client("beaver", { node = "totoro" })
    local giraffe = lab:client("giraffe", { node = "catbus" })
    local a = beaver:acquire("printer")
    lab:run_until(function() return a.done end, 5000)
    lab:run_for(20)
    for _, n in ipairs{ "catbus", "kanta", "mei" } do
      lab:restart(n, { amnesia = variant.amnesia })
    end
    lab:slow("satsuki", 100)
    lab:slow("totoro", 100)
    local b = giraffe:acquire("printer")
    lab:run_until(function() return b.done end, 5000)
    lab:run_for(500)
  end,
}
