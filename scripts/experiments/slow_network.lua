-- slow_network: the workshop's very slow network, and early stopping.
return {
  title = "slow_network: early stopping at a majority vs waiting for every reply",
  about = [[
satsuki and totoro sit behind a very slow network (every message to or from
them takes 300-450 ms). Paxos needs only a majority: with early stopping the
proposer moves on as soon as catbus, kanta and mei answered, and each lock
operation takes a few milliseconds. Waiting for every reply (wait_all.lua)
makes every operation as slow as the slowest instance; a phase timeout caps
the wait. Look for: mean latency and time to first grant in each variant.]],
  lab = { nodes = 5, phase_timeout = 1000 },
  variants = {
    { name = "early stopping", proposer = "paxos" },
    { name = "wait for all", proposer = "wait_all" },
  },
  run = function(lab)
    lab:slow("satsuki", 300)
    lab:slow("totoro", 300)
    local beaver = lab:client("beaver", { node = "catbus", timeout = 10000 })
    for _ = 1, 5 do
      local a = beaver:acquire("printer")
      lab:run_until(function() return a.done end, 10000)
      local r = beaver:release("printer")
      lab:run_until(function() return r.done end, 10000)
    end
    lab:run_for(1000)
  end,
}
