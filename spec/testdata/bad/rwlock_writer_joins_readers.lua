-- KNOWN BAD: scripts/locks/rwlock.lua that lets a writer in while readers
-- hold (it checks only for another writer), so a writer and readers hold at
-- once. It declares the correct script's model (the very table), so the
-- checker holds it to the read-write lock's specification and catches it
-- (spec/rwlock_spec.lua).
local good = require "locks.rwlock"
local M = { model = good.model, describe = good.describe }

function M.apply(state, req, ctx)
  if req.op == "acquire" and not req.shared and state and state.mode == "shared"
     and not state.holders[req.holder] then
    -- the bug: readers are no obstacle to a writer
    local holders = {}
    for h, t in pairs(state.holders) do holders[h] = t end
    holders[req.holder] = req.token
    return { mode = "exclusive", holders = holders },
           { status = "granted", holder = req.holder, token = req.token }
  end
  return good.apply(state, req, ctx)
end

return M
