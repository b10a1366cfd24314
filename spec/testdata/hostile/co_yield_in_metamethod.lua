-- HOSTILE: inside a coroutine, a __tostring yields; tostring calls it from
-- C, so the yield cannot cross it. The error is caught by coroutine.resume
-- and raised again by the script.
-- kind: lock
-- hook: apply_lock
-- expect: attempt to yield across a C-call boundary
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

local shy = setmetatable({}, { __tostring = function() return coroutine.yield("shy") end })

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  local co = coroutine.create(function() return tostring(shy) end)
  local ok, err = coroutine.resume(co)
  if not ok then error(err, 0) end -- BAD: raised again here
  return state, { status = "granted" }
end

return M
