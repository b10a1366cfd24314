-- HOSTILE: inside a coroutine, a table.sort comparator yields: the yield
-- would cross the sort (a C call). coroutine.wrap passes the error up with
-- the line that resumed it.
-- kind: lock
-- hook: apply_lock
-- expect: attempt to yield across a C-call boundary
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  local sorter = coroutine.wrap(function()
    table.sort({ 3, 1, 2 }, function(a, b) coroutine.yield() return a < b end)
  end)
  sorter() -- BAD: the error surfaces here
  return state, { status = "granted" }
end

return M
