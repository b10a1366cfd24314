-- HOSTILE: a script that answers with a different kind of thing each call:
-- a string, nil, a number, a function, a boolean, a coroutine.
-- kind: lock
-- hook: apply_lock
-- expect: as its reply, expected a table
-- repeat: 6
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

local REPLIES = { "granted", nil, 1, print, true, coroutine.create(print) }
local calls = 0

function M.apply(state, req, ctx) -- BAD: the reply is not a table
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  calls = calls % 6 + 1
  return state, REPLIES[calls]
end

return M
