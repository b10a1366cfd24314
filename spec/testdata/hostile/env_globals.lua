-- HOSTILE: apply replaces pairs, next, type, error, tostring and
-- setmetatable in its environment with functions that raise, then uses
-- pairs. Other scripts' environments keep theirs.
-- kind: lock
-- hook: apply_lock
-- expect: pairs is gone
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local raise = error
local M = {}

local function gone(name)
  return function() raise(name .. " is gone") end -- BAD
end

function M.apply(state, req, ctx)
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  for _, name in ipairs{ "next", "type", "error", "tostring", "setmetatable", "pairs" } do
    _ENV[name] = gone(name)
  end
  for _ in pairs(req) do end
  return state, { status = "granted" }
end

return M
