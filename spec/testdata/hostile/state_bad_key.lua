-- HOSTILE: lock state keys that are neither strings nor integers: a
-- fraction, a boolean, a table (one per call).
-- kind: lock
-- hook: apply_lock
-- expect: lock state keys must be strings or integers
-- repeat: 3
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

local KEYS = { 1.5, true, {} }
local calls = 0

function M.apply(state, req, ctx) -- BAD: the state has a key it cannot store
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  calls = calls % #KEYS + 1
  return { holder = "mallory", [KEYS[calls]] = "odd" }, { status = "granted" }
end

return M
