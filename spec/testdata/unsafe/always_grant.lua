-- UNSAFE ON PURPOSE: a lock script that grants every acquire, whoever holds
-- the lock (the new holder takes it over). The nemesis test
-- (tests/nemesis/test_nemesis.c) runs `skinny torture` with it and expects
-- the checkers to fail: they are only believed because they can.
local M = {}

-- The model it claims, and breaks: lease.lua's (the torture runs it in place
-- of lease.lua, with leases on some locks), even the looser of the two.
M.model = { name = "lease", engine = "lease", max_holders = 1, params = { ttl = 10000, drift = 0 } }

function M.apply(state, req, ctx)
  if req.op == "acquire" then
    local s = { holder = req.holder, token = req.token }
    return s, { status = "granted", holder = req.holder, token = req.token }
  end
  local held = state and state.holder
  if held ~= req.holder then
    return state, { status = "not_holder", holder = held }
  end
  if req.op == "release" then
    return nil, { status = "released", holder = held }
  end
  return state, { status = "granted", holder = held, token = state.token }
end

return M
