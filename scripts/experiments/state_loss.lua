-- state_loss: can we recover from state loss? Only what a majority remembers.
return {
  title = "state_loss: instances that lose their state, with and without rejoining",
  about = [[
beaver holds the lock. Then instances restart, some having lost their disk;
satsuki and totoro are slow to answer. Paxos's majorities only intersect if
every member of a majority remembers what it promised and accepted.
"durable": catbus, kanta and mei restart with what they had written and
fsync'd before answering; giraffe's acquire through catbus is refused.
"majority amnesia (votes at once)": the three lost their disk and vote at
once with a blank slate, as the original did (UNSAFE): they report no
accepted value, giraffe is granted although beaver holds the lock, and the
checker says so.
"majority amnesia (rejoins)": the same three rejoin instead (PROTOCOL.md
7.6): a blank instance votes on a lock only after catching it up from
N - M + 1 members. With three of five blank there are only two members left
to ask, so nothing can be decided: giraffe's acquire is unavailable. Safe,
but stuck: losing a majority's memory cannot be repaired by guessing.
"one blank instance (rejoins)": only catbus lost its disk. It opens a new
epoch with the others, fetches the lock from three members before it votes
on it, and giraffe is refused: beaver still holds it. Look for the "rejoin"
and "fetch" events in the trace.]],
  lab = { nodes = 5 },
  variants = {
    { name = "durable", wiped = { "catbus", "kanta", "mei" }, amnesia = false },
    { name = "majority amnesia (votes at once)", wiped = { "catbus", "kanta", "mei" },
      amnesia = true, rejoin = false, unsafe = true },
    { name = "majority amnesia (rejoins)", wiped = { "catbus", "kanta", "mei" },
      amnesia = true },
    { name = "one blank instance (rejoins)", wiped = { "catbus" }, amnesia = true },
  },
  run = function(lab, variant)
    local beaver = lab:client("beaver", { node = "totoro" })
    local giraffe = lab:client("giraffe", { node = "catbus", timeout = 3000 })
    local a = beaver:acquire("printer")
    lab:run_until(function() return a.done end, 5000)
    lab:run_for(20)
    for _, n in ipairs(variant.wiped) do
      lab:restart(n, { amnesia = variant.amnesia, rejoin = variant.rejoin })
    end
    lab:slow("satsuki", 100)
    lab:slow("totoro", 100)
    local b = giraffe:acquire("printer")
    lab:run_until(function() return b.done end, 5000)
    lab:run_for(500)
  end,
}
