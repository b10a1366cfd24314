-- HOSTILE: table.concat of 40 MB of pieces, twice: the buffer grows in C
-- until the allocator refuses it.
-- kind: lock
-- hook: apply_lock
-- expect: not enough memory
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  local pieces = {}
  for i = 1, 20 do pieces[i] = ("x"):rep(1e6) .. i end
  local whole = table.concat({ table.concat(pieces), table.concat(pieces) }) -- BAD
  return state, { status = "granted", text = whole }
end

return M
