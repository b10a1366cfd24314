-- duelling: two proposers at once, without and with backoff.
return {
  title = "duelling: two proposers on one lock, no backoff vs jittered backoff",
  about = [[
beaver (through catbus) and giraffe (through totoro) each acquire and release
the same lock 10 times, starting at the same moment. Each new ballot pre-empts
the other's round in flight. With no backoff both retry at once and keep
meeting; with jittered exponential backoff one of them steps aside and the
other finishes. Look for: rounds per decision, conflicts (nays), preemptions
and the time to first grant in each variant. Edit scripts/backoff/*.lua and
rerun to see the figures move.]],
  lab = { nodes = 5, latency = { kind = "uniform", a = 2, b = 6 } },
  variants = {
    { name = "none", backoff = "none" },
    { name = "exponential_jitter", backoff = "exponential_jitter" },
  },
  run = function(lab)
    local function worker(holder, node)
      local c = lab:client(holder, { node = node })
      local rounds = 0
      local function again()
        rounds = rounds + 1
        if rounds > 10 then return end
        local op = c:acquire("printer")
        lab.waiting = lab.waiting or {}
        lab.waiting[#lab.waiting + 1] = { op = op, after = function()
          if op.status == "granted" then
            local r = c:release("printer")
            lab.waiting[#lab.waiting + 1] = { op = r, after = again }
          else
            again()
          end
        end }
      end
      again()
    end
    worker("beaver", "catbus")
    worker("giraffe", "totoro")
    -- drive: whenever an op completes, start what follows it
    for _ = 1, 1000 do
      local moved = false
      local pending = false
      for _, w in ipairs(lab.waiting) do if not w.fired then pending = true end end
      if not pending then break end
      lab:run_until(function()
        for _, w in ipairs(lab.waiting) do if w.op.done and not w.fired then return true end end
        return false
      end, 20000)
      for _, w in ipairs(lab.waiting) do
        if w.op.done and not w.fired then w.fired = true; w.after(); moved = true end
      end
      if not moved then break end
    end
    lab:run_for(50)
  end,
}
