-- HOSTILE: #t on a table whose __len never returns.
-- kind: lock
-- hook: apply_lock
-- expect: instruction budget exceeded
-- budget: 200000
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

local queue = setmetatable({}, { __len = function()
  local n = 0
  while true do n = n + 1 end -- BAD: spins until the budget runs out
end })

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  return state, { status = "granted", text = "queue of " .. #queue }
end

return M
