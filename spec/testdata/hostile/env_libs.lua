-- HOSTILE: apply breaks its library tables (string.format = nil,
-- table.insert = error, math.floor raising, coroutine emptied), then calls
-- string.format. Each script has its own copies: locks/advisory.lua (which
-- formats with the string methods) is untouched.
-- kind: lock
-- hook: apply_lock
-- expect: attempt to call a nil value (field 'format')
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  string.format = nil
  table.insert = error
  math.floor = function() error("no floor") end
  for k in pairs(coroutine) do coroutine[k] = nil end
  return state, { status = "granted", text = string.format("%s", req.holder) } -- BAD
end

return M
