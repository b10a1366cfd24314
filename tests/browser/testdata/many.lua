-- many: a long, busy run for the browser test and for timing the page (about 10,000
-- trace events): four clients on three locks through different instances, a lossy
-- network that also duplicates, a crash and restart, a partition and its heal.
return {
  title = "many: four clients, three locks, loss, duplicates, a crash and a partition",
  lab = { nodes = 5, latency = { kind = "uniform", a = 1, b = 6 } },
  run = function(lab)
    local rounds = tonumber(os.getenv("SKINNY_MANY_ROUNDS") or "") or 25
    lab:loss(0.02)
    lab:duplicate(0.03)
    local names = lab.names
    local who = { "beaver", "giraffe", "otter", "heron" }
    local locks = { "printer", "scanner", "door" }
    local clients = {}
    for i, h in ipairs(who) do clients[i] = lab:client(h, { node = names[(i - 1) % #names + 1] }) end
    local t = 0
    for r = 1, rounds do
      for i, c in ipairs(clients) do
        local lock = locks[(r + i) % #locks + 1]
        lab:at(t + i * 3, function() c:acquire(lock) end)
        lab:at(t + 20 + i * 3, function() c:release(lock) end)
      end
      t = t + 45
    end
    lab:at(400, function(l) l:crash(names[4]) end)
    lab:at(900, function(l) l:restart(names[4]) end)
    lab:at(1300, function(l) l:partition({ names[1], names[2] }, { names[3], names[4], names[5] }) end)
    lab:at(1500, function(l) l:heal() end)
    lab:run_for(t + 200)
    lab:settle(20000)
  end,
}
