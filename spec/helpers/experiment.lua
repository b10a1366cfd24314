-- Run a shipped experiment (scripts/experiments/NAME.lua, or a path) at a seed, for
-- specs and benchmarks that reuse an experiment's scenario:
--   local experiment = require "helpers.experiment"
--   local lab, result = experiment.run("semaphore", 7, { lock = "spec/testdata/bad/x.lua" })
-- The lab gets the experiment's `lab` options, then `over` on top (a variant's fields,
-- another lock script, ...); no trace is kept unless `over` asks for one.
local skinny = require "skinny"

local M = {}

function M.load(name)
  local path = (name:find("/", 1, true) or name:match("%.lua$")) and name
               or ("scripts/experiments/" .. name .. ".lua")
  return dofile(path)
end

--- experiment.run(name, seed, over) -> lab (already run), what the experiment's run returned
function M.run(name, seed, over)
  local exp = M.load(name)
  local o = {}
  for k, v in pairs(exp.lab or {}) do o[k] = v end
  for k, v in pairs(over or {}) do if k ~= "name" then o[k] = v end end
  o.seed = seed
  if o.trace == nil then o.trace = false end
  local lab = skinny.lab(o)
  return lab, exp.run(lab, over)
end

--- experiment.check_named(report, name) -> the check of that name in a lab:check() report
function M.check_named(rep, name)
  for _, c in ipairs(rep.checks) do if c.name == name then return c end end
end

return M
