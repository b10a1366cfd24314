-- instance_failure: what happens if an instance fails unexpectedly?
return {
  title = "instance_failure: two of five down still works; three down does not",
  about = [[
With kanta and mei crashed, three of five instances remain: still a majority,
so beaver's acquire is granted. With satsuki down too, no majority can answer:
giraffe hears a clear "unavailable" within the client timeout, and nothing
unsafe happens. When the instances restart (with their durable state), the
cluster answers again and giraffe is refused: beaver still holds the lock.
Look for: phase timeouts and backoff while three are down; the status table
showing every restarted instance caught up only after a later round.]],
  lab = { nodes = 5, client_timeout = 3000, phase_timeout = 200 },
  run = function(lab)
    local beaver = lab:client("beaver", { node = "catbus" })
    local giraffe = lab:client("giraffe", { node = "totoro" })
    local function step(op, max)
      lab:run_until(function() return op.done end, max or 5000)
      return op
    end
    lab:crash("kanta")
    lab:crash("mei")
    local a = step(beaver:acquire("printer"))
    lab:crash("satsuki")
    local b = step(giraffe:acquire("printer"))
    lab:restart("kanta")
    lab:restart("mei")
    lab:restart("satsuki")
    lab:run_for(50)
    local c = step(giraffe:acquire("printer"))
    return { a.status, b.status, c.status }
  end,
}
