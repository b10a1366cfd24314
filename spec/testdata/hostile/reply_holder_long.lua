-- HOSTILE: a 200-byte reply.holder (at most 128).
-- kind: lock
-- hook: apply_lock
-- expect: returned reply.holder of 200 bytes, at most 128
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

function M.apply(state, req, ctx) -- BAD: reply.holder is too long
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  return { holder = "mallory" }, { status = "granted", holder = ("m"):rep(200) }
end

return M
