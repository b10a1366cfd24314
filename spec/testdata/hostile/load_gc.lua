-- HOSTILE: the chunk sets a finalizer.
-- kind: lock
-- when: load
-- expect: __gc (a finalizer) is not allowed in scripts
local M = {}
setmetatable(M, { __gc = function() while true do end end }) -- BAD
return M
