-- partition: the minority side cannot acquire; healing restores progress.
return {
  title = "partition: catbus and kanta cut off from mei, satsuki and totoro",
  about = [[
A network partition splits the cluster 2 / 3. beaver, talking to catbus on
the minority side, cannot gather a majority: after backing off it hears
"unavailable", and nothing changes. giraffe, on the majority side (mei), is
granted the lock. After the partition heals, beaver through catbus is refused:
catbus learns from the majority that giraffe holds the lock.]],
  lab = { nodes = 5, client_timeout = 5000, phase_timeout = 200 },
  run = function(lab)
    local beaver = lab:client("beaver", { node = "catbus" })
    local giraffe = lab:client("giraffe", { node = "mei" })
    lab:partition({ "catbus", "kanta" }, { "mei", "satsuki", "totoro" })
    local a = beaver:acquire("printer")
    local b = giraffe:acquire("printer")
    lab:run_until(function() return a.done and b.done end, 10000)
    lab:heal()
    local c = beaver:acquire("printer")
    lab:run_until(function() return c.done end, 5000)
    lab:run_for(50)
  end,
}
