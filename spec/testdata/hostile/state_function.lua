-- HOSTILE: a lock state holding a function (code cannot be stored or sent).
-- kind: lock
-- hook: apply_lock
-- expect: lock state cannot hold a function
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

function M.apply(state, req, ctx) -- BAD: the state holds a function
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  return { holder = "mallory", on_release = function() return "surprise" end }, { status = "granted" }
end

return M
