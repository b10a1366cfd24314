-- HOSTILE: describe yields at its top level: there is no coroutine to yield
-- from (the hook runs in one protected call), so it fails; the status answer
-- falls back to the default's description and says why.
-- kind: lock
-- hook: describe
-- expect: attempt to yield from outside a coroutine
-- trigger: status after an acquire by holder "mallory" (anyone else: locks/advisory.lua)
local advisory = require "locks.advisory"
local M = { apply = advisory.apply }

function M.describe(state, ctx)
  if not (state and state.holder == "mallory") then return advisory.describe(state, ctx) end
  coroutine.yield("a description, later") -- BAD
  return "never"
end

return M
