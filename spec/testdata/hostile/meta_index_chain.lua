-- HOSTILE: a table whose __index is itself: Lua gives up on the chain.
-- kind: lock
-- hook: apply_lock
-- expect: '__index' chain too long; possible loop
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

local loop = {}
loop.__index = loop
setmetatable(loop, loop)

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  return state, { status = "granted", text = loop.anything } -- BAD: an endless chain
end

return M
