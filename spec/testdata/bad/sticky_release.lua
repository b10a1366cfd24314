-- KNOWN BAD: scripts/locks/advisory.lua whose release answers "released" but
-- keeps the holder in the state (the line that frees the lock returns the
-- state unchanged). No two clients ever hold it at once, so a check of
-- single holders passes; but after beaver's release, giraffe is refused
-- "held by beaver", which no order of the operations explains: the
-- linearizability checker catches it, in a run and in `skinny explore`
-- (spec/explore_spec.lua). It declares the advisory lock's model.
local advisory = require "locks.advisory"
local M = {}

M.model = advisory.model

function M.apply(state, req, ctx)
  local new, reply = advisory.apply(state, req, ctx)
  if req.op == "release" and reply.status == "released" then
    return state, reply -- the bug: the state still names the holder
  end
  return new, reply
end

M.describe = advisory.describe

return M
