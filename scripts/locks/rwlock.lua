-- A read-write lock: many readers at once (an acquire with req.shared, sent
-- by `client:acquire(lock, { shared = true })` or `skinnyctl acquire
-- --shared`), or one writer (a plain acquire), never both.
--
-- Fairness: this lock is READER-PREFERRING. It keeps no queue: a writer is
-- refused while any reader holds, and new readers keep being let in while
-- others read, so under a steady stream of overlapping readers a writer can
-- wait for ever (writer starvation). A writer-preferring lock would refuse
-- new readers once a writer is waiting; that needs the state to remember
-- waiting writers (a queue, or a "writer waiting" mark that expires), which
-- a register that only sees acquire/release/renew cannot clear safely when
-- the waiting writer gives up. Writers here must retry (with backoff).
--
-- State: nil when free, else { mode = "shared" | "exclusive",
-- holders = { beaver = 4353, ... } } (each holder with its grant's token: a
-- re-entrant acquire or a renew keeps it).
-- Acquire shared: granted when free, when readers hold (joins them), or when
-- the asker is the writer (it may read what it writes; the hold stays
-- exclusive). Acquire exclusive: granted when free or when the asker already
-- writes; refused while anyone else holds, and for a reader too (no upgrade:
-- release the read hold first). A refusal names the first holder by name.
-- Release and renew: by a holder; anyone else gets not_holder.
local M = {}

local function names(holders)
  local t = {}
  for h in pairs(holders or {}) do t[#t + 1] = h end
  table.sort(t)
  return t
end

-- The rule both the script and the model follow: the answer to `op` (op,
-- holder, shared) when `mode` and `holders` (a set of names) hold, and the
-- new mode (nil: free). holders is changed in place.
local function decide(mode, holders, op)
  local h = op.holder
  local held = names(holders)
  if op.op == "acquire" then
    if mode == nil then
      holders[h] = true
      return op.shared and "shared" or "exclusive", { status = "granted", holder = h }
    end
    if holders[h] and (mode == "exclusive" or op.shared) then
      return mode, { status = "granted", holder = h, text = "already held by you" }
    end
    if mode == "shared" and op.shared then
      holders[h] = true
      return mode, { status = "granted", holder = h }
    end
    local text
    if mode == "exclusive" then
      text = "held by a writer"
    elseif holders[h] then
      text = "you hold it shared: release that first (no upgrade)"
    else
      text = ("read by %s: a writer waits until every reader has gone"):format(table.concat(held, ", "))
    end
    return mode, { status = "refused", holder = held[1], text = text }
  end
  if not holders[h] then return mode, { status = "not_holder", holder = held[1] } end
  if op.op == "release" then
    holders[h] = nil
    if next(holders) == nil then mode = nil end
    return mode, { status = "released", holder = h }
  end
  return mode, { status = "granted", holder = h }
end

-- The model: readers share, a writer excludes everyone. Its state is
-- { mode =, holders = { name = true } } ({} when free). The holds check
-- accepts any number of readers at once but flags a writer held together
-- with anyone else (invariant).
M.model = {
  name = "rwlock",
  init = {},
  step = function(state, op)
    local holders = state.holders or {}
    local mode, ans = decide(state.mode, holders, op)
    if mode == nil then return {}, ans end
    return { mode = mode, holders = holders }, ans
  end,
  invariant = function(holds)
    if #holds < 2 then return nil end
    for _, h in ipairs(holds) do
      if not h.shared then
        return ("writer %s held the lock together with %d other holder(s)"):format(tostring(h.holder), #holds - 1)
      end
    end
    return nil
  end,
}

function M.apply(state, req, ctx)
  local _ = ctx
  local tokens = state and state.holders or {}
  local mine = tokens[req.holder]
  -- fencing: a release or renew naming an earlier grant's token is refused
  if req.op ~= "acquire" and mine and req.fence and req.fence ~= mine then
    return state, { status = "not_holder", holder = req.holder,
                    text = ("token %d names an earlier grant; yours is %d"):format(req.fence, mine) }
  end
  local set = {}
  for h in pairs(tokens) do set[h] = true end
  local mode, ans = decide(state and state.mode, set, req)
  if ans.status == "refused" or ans.status == "not_holder" then return state, ans end
  if mode == nil then return nil, ans end
  local out = {}
  for h in pairs(set) do out[h] = tokens[h] end
  if ans.status == "granted" then
    -- a new holder gets this attempt's token; a holder asking again, or renewing,
    -- keeps its own (the same grant)
    out[req.holder] = mine or req.token
    ans.token = out[req.holder]
  end
  return { mode = mode, holders = out }, ans
end

-- One line for status tables: "read by beaver, otter" / "written by beaver".
function M.describe(state)
  if not state then return "free" end
  local held = names(state.holders)
  if state.mode == "exclusive" then return "written by " .. table.concat(held, ", ") end
  return ("read by %s (%d reader%s)"):format(table.concat(held, ", "), #held, #held == 1 and "" or "s")
end

return M
