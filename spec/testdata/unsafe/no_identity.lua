-- UNSAFE ON PURPOSE: the default Paxos proposer with request identity switched
-- off (the classic flag no_identity, spec/HOOKS.md): every copy of a request
-- is applied as if it were new. A late copy of an old release then frees a
-- lock granted since (reproduction 1 of the at-most-once issue, the e2e test
-- late_copy_of_an_old_release in tests/e2e/test_cluster.c). The tests run it
-- to show that they catch what they are meant to catch.
local paxos = require "proposers.paxos"

local M = {}
for k, v in pairs(paxos) do M[k] = v end
M.classic = { no_identity = true }

return M
