-- HOSTILE: math.random over the widest interval (the node's generator in
-- the simulator computed hi - lo + 1, which overflowed), then an empty one.
-- kind: lock
-- hook: apply_lock
-- expect: interval is empty
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  local wide = math.random(math.mininteger, math.maxinteger)
  local half = math.random(-2 ^ 62, 2 ^ 62)
  local none = math.random(3, 1) -- BAD
  return state, { status = "granted", text = ("%d %d %d"):format(wide, half, none) }
end

return M
