-- HOSTILE: the chunk itself never returns. Loading runs under the budget.
-- kind: lock
-- when: load
-- expect: instruction budget exceeded
-- budget: 200000
local M = {}
while true do end -- BAD: spins until the budget runs out
return M
