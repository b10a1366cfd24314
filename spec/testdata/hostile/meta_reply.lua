-- HOSTILE: apply answers mallory with a reply table carrying a metamethod,
-- a different one each time (raising, looping or lying). The core reads
-- the reply raw and refuses any reply with a metatable, so none of them runs.
-- kind: lock
-- hook: apply_lock
-- expect: returned a reply table with a metatable, expected a plain table
-- repeat: 9
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

local function spin() while true do end end
local function raise() error("gotcha") end
local METAS = {
  { __index = raise },
  { __newindex = spin },
  { __len = raise },
  { __tostring = raise, __name = "Reply" },
  { __eq = raise },
  { __lt = raise, __le = raise },
  { __pairs = spin },
  { __close = spin },
  { __call = raise, __metatable = "locked" },
}
local calls = 0

function M.apply(state, req, ctx) -- BAD: mallory's reply has a metatable
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  calls = calls % #METAS + 1
  return state, setmetatable({ status = "granted", holder = "mallory" }, METAS[calls])
end

return M
