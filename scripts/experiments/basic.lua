-- basic: how Skinny reaches consensus, the talk's "typical run".
return {
  title = "basic: one lock, two holders, five instances",
  about = [[
beaver acquires the lock "printer" through catbus; giraffe asks through mei
and is refused, told who holds it; beaver releases; giraffe acquires.
Look for: each change is one round, phase 1 (promise) then phase 2 (accept),
answered once a majority accepted; the fencing token grows with each grant;
every instance ends with the same accepted ballot and holder.]],
  lab = { nodes = 5 },
  run = function(lab)
    local beaver = lab:client("beaver", { node = "catbus" })
    local giraffe = lab:client("giraffe", { node = "mei" })
    local function step(op)
      assert(lab:run_until(function() return op.done end, 5000), "no answer in time")
      return op
    end
    step(beaver:acquire("printer"))
    step(giraffe:acquire("printer"))
    step(beaver:release("printer"))
    step(giraffe:acquire("printer"))
    lab:run_for(20) -- let the last accepts land everywhere
  end,
}
