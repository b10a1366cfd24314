--[[
skinny.models -- the sequential specification a lock script declares (its `model`), found
and checked for the checkers (skinny.check). spec/HOOKS.md, "The model", says what a model
is; this module only finds one:

models.resolve(spec, o) -> model
  spec: a model table (as a lock script's `M.model`), or a name or a path:
    a path (holds a "/" or ends ".lua") -> that lock script's model;
    a name -> the model of scripts/locks/NAME.lua (o.scripts_dir, else found through
    package.path as module "locks.NAME"); "lock" names the advisory script's model.
  The result is the normalized model: { name=, engine="lock"|"lease"|nil, params={...},
  init=, step=, max_holders=, invariant=, source= }, marked so that resolving it again
  returns it. Raises an error that names the script when its model is malformed.
  o.lock_params (a table of parameters, the lab's or the run's lock_params): they override
  the model's own params (models.with_params).
models.with_params(model, params) -> model: a copy of the normalized model whose params are
  its own overridden by params (the same model when params is nil or empty); a max_holders
  given as a function of the params is computed again from them.
models.of_script(path) -> model: the model of the lock script at path; a script that
  declares none gets the advisory lock's, named so in every verdict (defaulted = true).
]]

local M = {}

local ALIASES = { lock = "advisory" }
local ENGINES = { lock = true, lease = true }
local NORMAL = setmetatable({}, { __mode = "k" }) -- normalized model tables

local function fail(where, msg) error(("skinny.models: %s: %s"):format(where, msg), 0) end

function M.normalize(t, where)
  if NORMAL[t] then return t end
  where = where or "model"
  if type(t) ~= "table" then fail(where, "a model is a table, got a " .. type(t)) end
  local m = { name = t.name, params = {}, source = where }
  if t.params ~= nil and type(t.params) ~= "table" then fail(where, "'params' must be a table") end
  for k, v in pairs(t.params or {}) do m.params[k] = v end
  -- invariant(holds, params) -> nil, or why those holds may not be held at once
  if t.invariant ~= nil and type(t.invariant) ~= "function" then
    fail(where, "'invariant' must be a function(holds, params) -> nil or a reason")
  end
  m.invariant = t.invariant
  -- max_holders: a number, or a function of the params (a semaphore's permits); with an
  -- invariant and no max_holders, the invariant alone says what may be held at once
  local mh = t.max_holders
  if mh == nil then mh = t.invariant and math.huge or 1 end
  if type(mh) == "function" then m.max_holders_of = mh end
  m.max_holders = mh
  M.bound(m, where)
  if t.engine ~= nil then
    if not ENGINES[t.engine] then
      fail(where, ("'engine' must be \"lock\" or \"lease\" (the checker's built-in models), got %s")
        :format(tostring(t.engine)))
    end
    if t.step ~= nil then fail(where, "a model has either 'engine' or 'step', not both") end
    m.engine = t.engine
    if m.engine == "lease" then
      local p = m.params
      if p.ttl ~= nil and (type(p.ttl) ~= "number" or p.ttl <= 0) then
        fail(where, "params.ttl (the default lease length, ms) must be a positive number")
      end
      p.drift = p.drift or 0
      if type(p.drift) ~= "number" or p.drift < 0 then
        fail(where, "params.drift (the clock drift tolerated, ms) must be a number >= 0")
      end
    end
  else
    if type(t.step) ~= "function" then
      fail(where, "a model needs 'step' (function(state, op, params) -> state, answer) or 'engine'")
    end
    m.step = t.step
    m.init = t.init
  end
  m.name = m.name or m.engine or where
  NORMAL[m] = true
  return m
end

-- Compute m.max_holders from m.params when it is a function of them; check it.
function M.bound(m, where)
  if m.max_holders_of then
    local ok, n = pcall(m.max_holders_of, m.params)
    if not ok then fail(where, "max_holders(params) failed: " .. tostring(n)) end
    m.max_holders = n
  end
  if type(m.max_holders) ~= "number" or m.max_holders < 1 then
    fail(where, ("'max_holders' must be a number of at least 1 (or a function of the params"
      .. " giving one), got %s"):format(tostring(m.max_holders)))
  end
end

function M.with_params(m, params)
  if params == nil or next(params) == nil then return m end
  if type(params) ~= "table" then fail(m.source or "model", "lock_params must be a table") end
  local c = {}
  for k, v in pairs(m) do c[k] = v end
  c.params = {}
  for k, v in pairs(m.params) do c.params[k] = v end
  for k, v in pairs(params) do c.params[k] = v end
  M.bound(c, (m.source or "model") .. " (with lock_params)")
  NORMAL[c] = true
  return c
end

function M.of_script(path)
  local chunk, err = loadfile(path, "t")
  if not chunk then fail(path, tostring(err)) end
  local ok, mod = pcall(chunk)
  if not ok then fail(path, tostring(mod)) end
  if type(mod) ~= "table" then
    fail(path, "the lock script returned a " .. type(mod) .. ", expected a table")
  end
  if mod.model == nil then
    -- No model declared: check it as an advisory lock, and say so in every verdict
    -- (a student's first script need not have one; a semaphore does).
    local m = {}
    for k, v in pairs(M.resolve("lock")) do m[k] = v end
    m.name = ("lock (the default: %s declares no model, spec/HOOKS.md \"The model\")")
      :format(path)
    m.source, m.defaulted = path, true
    NORMAL[m] = true
    return m
  end
  return M.normalize(mod.model, path)
end

function M.path(name, o)
  name = ALIASES[name] or name
  if name:find("/", 1, true) or name:match("%.lua$") then return name end
  local dir = o and o.scripts_dir
  if dir then return dir .. "/locks/" .. name .. ".lua" end
  local p, err = package.searchpath("locks." .. name, package.path)
  if not p then fail(name, "no lock script of that name:" .. err) end
  return p
end

function M.resolve(spec, o)
  if spec == nil then spec = "lock" end
  local m
  if type(spec) == "table" then
    m = M.normalize(spec)
  elseif type(spec) ~= "string" then
    fail(tostring(spec), "a model is a table, a lock script's name or a path, got a " .. type(spec))
  else
    m = M.of_script(M.path(spec, o))
  end
  return M.with_params(m, o and o.lock_params)
end

return M
