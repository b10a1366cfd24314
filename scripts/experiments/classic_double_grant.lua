-- classic_double_grant: the original Skinny grants one lock twice.
return {
  title = "classic_double_grant: the original's flaws, caught by the checker (UNSAFE on purpose)",
  about = [[
Classic mode reproduces the original Skinny: increment IDs, the commit result
ignored, no promise raised on accept, nothing persisted. beaver (through
kanta) and giraffe (through mei) acquire at the same moment, on a network
with a few milliseconds of delay, then both release; five rounds of that. One proposer loses phase 2 to the other's
higher ballot, but answers its client "granted" anyway, from its own state:
two holders at once. The checker reports the overlap and that the history is
not linearizable. Run the same experiment with --proposer paxos --backoff
exponential_jitter --lock advisory to see the fix.]],
  lab = { nodes = 5, proposer = "classic", backoff = "classic", lock = "classic",
          latency = { kind = "uniform", a = 1, b = 9 } },
  run = function(lab)
    local beaver = lab:client("beaver", { node = "kanta" })
    local giraffe = lab:client("giraffe", { node = "mei" })
    for _ = 1, 5 do
      local a = beaver:acquire("printer")
      local b = giraffe:acquire("printer")
      lab:run_until(function() return a.done and b.done end, 5000)
      lab:run_for(20)
      a = beaver:release("printer")
      lab:run_until(function() return a.done end, 5000)
      b = giraffe:release("printer")
      lab:run_until(function() return b.done end, 5000)
      lab:run_for(20)
    end
  end,
}
