-- A two-permit semaphore whose state is { holders = { beaver = token, ... } }:
-- it has no `holder` key, so a status that only read `holder` showed it as
-- free while two clients held it. Its describe says what it is.
-- (spec/describe_spec.lua and spec/e2e/describe_spec.lua)
local M = {}

local PERMITS = 2

M.model = {
  name = "semaphore", max_holders = PERMITS, params = { permits = PERMITS },
  init = function() return {} end,
  step = function(s, op, p)
    local n = 0
    for _ in pairs(s) do n = n + 1 end
    if op.op == "acquire" then
      if s[op.holder] then return s, { status = "granted", holder = op.holder } end
      if n < p.permits then
        s[op.holder] = true
        return s, { status = "granted", holder = op.holder }
      end
      return s, { status = "refused" }
    end
    if not s[op.holder] then return s, { status = "not_holder" } end
    if op.op == "release" then
      s[op.holder] = nil
      return s, { status = "released", holder = op.holder }
    end
    return s, { status = "granted", holder = op.holder }
  end,
}

function M._names(state)
  local names = {}
  for name in pairs(state and state.holders or {}) do names[#names + 1] = name end
  table.sort(names)
  return names
end

function M.apply(state, req, ctx)
  local holders = {}
  for k, v in pairs(state and state.holders or {}) do holders[k] = v end
  local n = #M._names(state)
  if req.op == "acquire" then
    if holders[req.holder] then
      return { holders = holders }, { status = "granted", holder = req.holder,
                                       token = holders[req.holder] }
    end
    if n >= PERMITS then
      return state, { status = "refused",
                      text = "no permit left: " .. table.concat(M._names(state), ", ") .. " hold them" }
    end
    holders[req.holder] = req.token
    return { holders = holders }, { status = "granted", holder = req.holder, token = req.token }
  end
  if not holders[req.holder] then
    return state, { status = "not_holder", text = req.holder .. " holds no permit" }
  end
  if req.op == "release" then
    holders[req.holder] = nil
    return { holders = holders }, { status = "released", holder = req.holder }
  end
  return state, { status = "granted", holder = req.holder, token = holders[req.holder] }
end

function M.describe(state, ctx)
  local names = M._names(state)
  return ("%d of %d permits: %s"):format(#names, PERMITS,
                                         #names > 0 and table.concat(names, ", ") or "none taken")
end

return M
