-- HOSTILE: the chunk yields while it is being loaded.
-- kind: proposer
-- when: load
-- expect: attempt to yield from outside a coroutine
local M = {}
coroutine.yield(M) -- BAD
return M
