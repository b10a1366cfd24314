--[[
skinny.contend -- clients contending for one lock, for experiments (spec/LAB.md).

contend.run(lab, o) -> summary
  o.lock     the lock's name (default "printer")
  o.clients  array of { holder =, node =, shared = bool, failover = true|list|nil }
  o.rounds   acquires each client makes (default 4); a refused acquire counts as one
  o.hold     { min, max } ms a client holds what it was granted before releasing
             (default { 20, 80 })
  o.think    { min, max } ms between an answer and the client's next acquire
             (default { 5, 40 })
  o.limit    virtual ms after which the run stops waiting (default 60000)
  Each client runs one operation at a time: acquire (shared when it says so); granted,
  or an unknown outcome (an indefinite answer): hold, then release; refused: think and
  try again. The waits come from a small generator seeded with lab.opts.seed, so each
  seed is another run and the same seed replays it. Both labs have what it uses.
  summary = { granted =, refused =, indefinite =, max_holders = the most clients that
  held at once by their answers (granted until their release was sent) }.
]]

local M = {}

function M.rng(seed)
  local s = (seed or 1) * 7919 + 17
  return function(lo, hi) -- a small LCG; its high bits
    s = (s * 1103515245 + 12345) % 2147483648
    return lo + (s >> 15) % (hi - lo + 1)
  end
end

function M.run(lab, o)
  local lock = o.lock or "printer"
  local rand = M.rng(lab.opts and lab.opts.seed)
  local hold, think = o.hold or { 20, 80 }, o.think or { 5, 40 }
  local sum = { granted = 0, refused = 0, indefinite = 0, max_holders = 0 }
  local holding, finished = 0, 0
  local cls, by = {}, {}
  for i, spec in ipairs(o.clients) do
    local c = lab:client(spec.holder, { node = spec.node, failover = spec.failover })
    cls[i] = { c = c, shared = spec.shared, left = o.rounds or 4 }
    by[c.name] = cls[i]
  end
  local function acquire(cl)
    if cl.left <= 0 then
      finished = finished + 1
      return
    end
    cl.left = cl.left - 1
    cl.op = cl.c:acquire(lock, { shared = cl.shared or nil })
  end
  local prev = lab.on_reply
  lab.on_reply = function(op)
    if prev then prev(op) end
    local cl = by[op.client]
    if cl == nil or cl.op ~= op then return end
    if op.op == "acquire" then
      if op.status == "refused" then
        sum.refused = sum.refused + 1
        lab:after(rand(think[1], think[2]), function() acquire(cl) end)
        return
      end
      if op.status == "granted" then
        sum.granted = sum.granted + 1
        holding = holding + 1
        if holding > sum.max_holders then sum.max_holders = holding end
        cl.counted = true
      else
        sum.indefinite = sum.indefinite + 1 -- may hold: release to be safe
      end
      lab:after(rand(hold[1], hold[2]), function()
        if cl.counted then holding, cl.counted = holding - 1, nil end
        cl.op = cl.c:release(lock)
      end)
    else
      lab:after(rand(think[1], think[2]), function() acquire(cl) end)
    end
  end
  for _, cl in ipairs(cls) do lab:after(rand(0, 20), function() acquire(cl) end) end
  lab:run_until(function() return finished == #cls end, o.limit or 60000)
  lab.on_reply = prev
  return sum
end

return M
