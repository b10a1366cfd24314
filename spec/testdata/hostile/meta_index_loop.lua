-- HOSTILE: the script reads a field whose __index never returns.
-- kind: lock
-- hook: apply_lock
-- expect: instruction budget exceeded
-- budget: 200000
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

local sticky = setmetatable({}, { __index = function()
  while true do end -- BAD: spins until the budget runs out
end })

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  return state, { status = "granted", text = sticky.anything }
end

return M
