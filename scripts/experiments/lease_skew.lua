-- lease_skew: why leases need a bound on clock drift.
return {
  title = "lease_skew: a lease judged on a fast clock ends early",
  about = [[
Locks are leases here (scripts/locks/lease.lua): beaver's grant lasts 1000 ms
and then anyone may take the lock. Expiry is judged on the clock of the
instance that proposes. beaver acquires through catbus; 500 ms later giraffe
asks through mei. With honest clocks mei sees 500 ms left and refuses. With
mei's clock 600 ms fast, mei thinks the lease ran out 100 ms ago and grants
giraffe: for 500 ms both believe they hold the lock, and the checker says so.
Leases are only as safe as the bound on drift: a holder must stop using the
lock before its lease ends by at least that bound, and resources should check
the fencing token.]],
  lab = { nodes = 5, lock = "lease" },
  variants = {
    { name = "honest clocks", skew = 0 },
    { name = "mei 600 ms fast", skew = 600 },
  },
  run = function(lab, variant)
    if variant.skew ~= 0 then lab:skew("mei", variant.skew) end
    local beaver = lab:client("beaver", { node = "catbus" })
    local giraffe = lab:client("giraffe", { node = "mei" })
    local a = beaver:acquire("printer", { ttl = 1000 })
    lab:run_until(function() return a.done end, 2000)
    lab:run_for(500 - lab:now())
    local b = giraffe:acquire("printer", { ttl = 1000 })
    lab:run_until(function() return b.done end, 2000)
    lab:run_for(100)
  end,
}
