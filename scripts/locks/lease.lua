-- Leases: a grant lasts `ttl` ms (default 10 s) unless renewed; after that
-- anyone may take the lock. Expiry is judged on the clock of whichever
-- instance proposes, so it is only as good as the bound on clock drift:
-- if one instance's clock runs ahead by d ms, it may hand the lock to a new
-- holder d ms before the old holder's lease really ended, and for those
-- d ms two clients believe they hold it (run scripts/experiments/lease_skew
-- ... or skew an instance with lab:skew and watch the checker). Holders must
-- stop using the lock before their lease ends by at least the drift bound,
-- and check the fencing token at the resource.
-- State: nil, or { holder =, token =, expires = ms on the proposer's clock }.
local M = {}

local DEFAULT_TTL = 10000

-- The sequential specification (spec/HOOKS.md, "The model"): the checker's
-- lease model, the lock's plus expiry. Every grant (a first acquire, a
-- re-acquire by the holder, a renew) runs the lease to ttl (or the default)
-- from when it takes effect; once it may have run out the lock may be seen
-- free. drift: the clock drift tolerated, ms (the lease may end that much
-- early); 0: none, so a skewed clock that ends a lease early is caught.
M.model = { name = "lease", engine = "lease", max_holders = 1,
            params = { ttl = DEFAULT_TTL, drift = 0 } }

function M.apply(state, req, ctx)
  local now = ctx.now
  if state and state.expires <= now then state = nil end -- lapsed
  local held = state and state.holder
  local ttl = req.ttl or DEFAULT_TTL
  if req.op == "acquire" then
    if not held then
      local s = { holder = req.holder, token = req.token, expires = now + ttl }
      return s, { status = "granted", holder = req.holder, token = req.token }
    elseif held == req.holder then
      -- a re-acquire by the holder extends the lease, as a renew does (etcd's
      -- keep-alive and Chubby's KeepAlive both restart the lease's clock)
      local s = { holder = held, token = state.token, expires = now + ttl }
      return s, { status = "granted", holder = held, token = state.token,
                  text = "already held by you; lease extended" }
    end
    return state, { status = "refused", holder = held,
                    text = ("lease ends in %d ms"):format(state.expires - now) }
  end
  if held ~= req.holder then
    return state, { status = "not_holder", holder = held }
  end
  -- fencing: a release or renew that names the token of the grant it ends
  -- is refused when that grant is over (a later grant has another token)
  if req.fence and req.fence ~= state.token then
    return state, { status = "not_holder", holder = held,
                    text = ("token %d names an earlier grant; the current grant's token is %d")
                           :format(req.fence, state.token) }
  end
  if req.op == "release" then
    return nil, { status = "released", holder = held }
  end
  local s = { holder = held, token = state.token, expires = now + ttl }
  return s, { status = "granted", holder = held, token = state.token, text = "renewed" }
end

-- For people: who holds it and until when, on the clock of the instance
-- that granted it (ctx.now is the describing instance's clock, which may
-- differ: that is the point of lease_skew.lua). A lapsed lease is free for
-- the next acquire, but the state stays until someone writes over it.
function M.describe(state, ctx)
  if not state then return "free" end
  local left = state.expires - ctx.now
  if left <= 0 then
    return ("free: %s's lease ended at t=%d (token %d)"):format(state.holder, state.expires,
                                                               state.token)
  end
  return ("held by %s until t=%d, %d ms from now (token %d)"):format(state.holder, state.expires,
                                                                   left, state.token)
end

return M
