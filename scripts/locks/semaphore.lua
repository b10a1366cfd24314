-- A counting semaphore: up to N holders at once, N = ctx.params.permits
-- (default 2), set by the lab (`lock_params = { permits = 3 }`), by
-- `bin/skinny run --lock-param permits=3`, or by skinnyd's config
-- (`"lock_params": {"permits": 3}`). spec/HOOKS.md, "Your own lock semantics",
-- builds this file step by step.
--
-- State: nil when free, else { holders = { beaver = 4353, otter = 4610 },
-- permits = 3 }: each holder with the fencing token of its grant, and the
-- permits in force when it was written (for describe, which sees only the
-- state).
-- Acquire: granted when already a holder (re-entrant: the same grant, the
-- same token) or when fewer than N hold it (a new grant, this attempt's
-- token); else refused, naming one holder (the first by name, so that the
-- model can name the same one) and listing all in the text. Release and
-- renew: by a holder (a renew keeps the token); anyone else gets not_holder,
-- naming the first holder by name (nobody when free). The fencing check
-- knows the model allows several holders: every new grant's token exceeds
-- all earlier ones, and a holder may hear its own token again until it
-- releases (scripts/skinny/check.lua, tokens).
local M = {}

local DEFAULT_PERMITS = 2

local function permits(params)
  local n = params and params.permits
  if n == nil then return DEFAULT_PERMITS end
  if math.type(n) ~= "integer" or n < 1 then
    error(("lock parameter permits must be a whole number of at least 1, got %s"):format(tostring(n)), 0)
  end
  return n
end

-- The holders' names, sorted.
local function names(holders)
  local t = {}
  for h in pairs(holders or {}) do t[#t + 1] = h end
  table.sort(t)
  return t
end

-- The sequential specification (spec/HOOKS.md, "The model"). Its state is the
-- set of holders ({ beaver = true }); the tokens are the fencing checker's
-- business. At most `permits` hold at once: the single-holder check allows as
-- many (max_holders, from the same params the script reads).
M.model = {
  name = "semaphore",
  params = { permits = DEFAULT_PERMITS },
  max_holders = function(params) return permits(params) end,
  init = {},
  step = function(state, op, params)
    local n = permits(params)
    local held = names(state)
    if op.op == "acquire" then
      if state[op.holder] or #held < n then
        state[op.holder] = true
        return state, { status = "granted", holder = op.holder }
      end
      return state, { status = "refused", holder = held[1] }
    end
    if not state[op.holder] then
      return state, { status = "not_holder", holder = held[1] }
    end
    if op.op == "release" then state[op.holder] = nil end
    return state, { status = op.op == "release" and "released" or "granted", holder = op.holder }
  end,
}

function M.apply(state, req, ctx)
  local n = permits(ctx.params)
  local holders = state and state.holders or {}
  local held = names(holders)
  if req.op == "acquire" then
    if holders[req.holder] then -- re-entrant: the same grant
      return state, { status = "granted", holder = req.holder, token = holders[req.holder],
                      text = "already held by you" }
    end
    if #held < n then
      holders[req.holder] = req.token
      return { holders = holders, permits = n },
             { status = "granted", holder = req.holder, token = req.token }
    end
    return state, { status = "refused", holder = held[1],
                    text = ("all %d permits held: %s"):format(n, table.concat(held, ", ")) }
  end
  local mine = holders[req.holder]
  if not mine then
    return state, { status = "not_holder", holder = held[1] }
  end
  -- fencing: a release or renew naming an earlier grant's token is refused
  if req.fence and req.fence ~= mine then
    return state, { status = "not_holder", holder = req.holder,
                    text = ("token %d names an earlier grant; yours is %d"):format(req.fence, mine) }
  end
  if req.op == "release" then
    holders[req.holder] = nil
    if next(holders) == nil then return nil, { status = "released", holder = req.holder } end
    return { holders = holders, permits = n }, { status = "released", holder = req.holder }
  end
  -- renew: the grant goes on, its token unchanged
  return state, { status = "granted", holder = req.holder, token = mine }
end

-- One line for status tables: "2 of 3 permits: beaver, otter" (the permits
-- from ctx.params when given, else those the state was written with).
function M.describe(state, ctx)
  local held = names(state and state.holders)
  local n = ctx and ctx.params and ctx.params.permits and permits(ctx.params)
            or state and state.permits or DEFAULT_PERMITS
  if #held == 0 then return ("0 of %d permits"):format(n) end
  return ("%d of %d permits: %s"):format(#held, n, table.concat(held, ", "))
end

return M
