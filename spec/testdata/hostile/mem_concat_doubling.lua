-- HOSTILE: doubles a string until one allocation is past the cap (a memory
-- error, which skips the message handler: the allocator notes the line).
-- kind: lock
-- hook: apply_lock
-- expect: not enough memory
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  local s = "mallory"
  while true do s = s .. s end -- BAD
end

return M
