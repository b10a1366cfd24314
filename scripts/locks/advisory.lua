-- The default lock: advisory, as in the original, but a release must name
-- the holder, and every grant carries a fencing token (the ballot that
-- granted it), like Chubby's sequencers and etcd's revisions.
-- State: nil when free, { holder = "beaver", token = 4353 } when held.
local M = {}

-- The sequential specification (spec/HOOKS.md, "The model"): the checker's
-- lock model. Acquire: granted when free or already yours (re-entrant, the
-- grant unchanged), else refused naming the holder; release and renew: by
-- the holder only, else not_holder naming the holder (or nobody when free).
M.model = { name = "lock", engine = "lock", max_holders = 1 }

function M.apply(state, req, ctx)
  local held = state and state.holder
  if req.op == "acquire" then
    if not held then
      return { holder = req.holder, token = req.token },
             { status = "granted", holder = req.holder, token = req.token }
    elseif held == req.holder then
      return state, { status = "granted", holder = held, token = state.token,
                      text = "already held by you" }
    end
    return state, { status = "refused", holder = held }
  end
  -- release and renew need the holder
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
  return state, { status = "granted", holder = held, token = state.token }
end

-- For people (skinnyctl status, the simulator's status table, the pictures):
-- what the state means. Called with the state only, never on a request.
function M.describe(state, ctx)
  if not (state and state.holder) then return "free" end
  return ("held by %s (token %d)"):format(state.holder, state.token)
end

return M
