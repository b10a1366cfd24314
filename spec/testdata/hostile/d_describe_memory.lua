-- HOSTILE: describe builds a string past the memory cap, for a status
-- table: string.rep refuses it with the script's line.
-- kind: lock
-- hook: describe
-- expect: string.rep:
-- trigger: status after an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = { apply = advisory.apply }

function M.describe(state, ctx)
  if not (state and state.holder == "mallory") then return advisory.describe(state, ctx) end
  return ("held by mallory "):rep(1 << 40) -- BAD
end

return M
