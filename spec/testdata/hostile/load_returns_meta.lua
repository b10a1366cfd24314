-- HOSTILE: the chunk returns a table whose __index raises (and would hand
-- out hooks). Hooks are read raw, so a module with a metatable is refused
-- (before, its hooks were silently missed and the C defaults ran). The
-- message names the file only: a chunk's result has no line.
-- kind: lock
-- when: load
-- line: none
-- expect: the script returned a table with a metatable, expected a plain table of functions
local advisory = require "locks.advisory"
return setmetatable({}, { __index = function(_, k)
  if k == "apply" then return advisory.apply end
  error("gotcha: " .. tostring(k))
end })
