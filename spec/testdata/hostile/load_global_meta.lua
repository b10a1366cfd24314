-- HOSTILE: the chunk sets a metatable on its own globals that forbids new
-- ones, then defines a global.
-- kind: lock
-- when: load
-- expect: no new globals: helper
local raise = error
setmetatable(_ENV, { __newindex = function(_, k)
  raise("no new globals: " .. k) -- BAD
end })
function helper() end
return { apply = helper }
