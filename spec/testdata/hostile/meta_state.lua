-- HOSTILE: apply grants mallory with a new lock state carrying a
-- metamethod, a different one each time. The state is read raw and must be
-- plain data: a table with a metatable is refused, none of them runs.
-- kind: lock
-- hook: apply_lock
-- expect: lock state must be plain data: a table with a metatable cannot be stored
-- repeat: 9
-- trigger: an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = {}

local function spin() while true do end end
local function raise() error("gotcha") end
local METAS = {
  { __index = raise },
  { __newindex = spin },
  { __len = spin },
  { __tostring = raise },
  { __eq = raise },
  { __lt = spin, __le = spin },
  { __pairs = spin },
  { __close = raise },
  { __index = { holder = "beaver" } },
}
local calls = 0

function M.apply(state, req, ctx) -- BAD: mallory's new state has a metatable
  if req.holder ~= "mallory" then return advisory.apply(state, req, ctx) end
  calls = calls % #METAS + 1
  return setmetatable({ holder = "mallory" }, METAS[calls]), { status = "granted", holder = "mallory" }
end

return M
