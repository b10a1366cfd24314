-- skinny.shrink_cli: `skinny shrink` and `skinny replay` (spec/LAB.md "Shrinking").
--   skinny shrink TRACE.jsonl [-o PREFIX]        the run a trace records (bin/skinny run --trace)
--   skinny shrink EXPERIMENT.lua [--seed N] [--variant V] [--proposer P] [--backoff B]
--                 [--lock L] [--lock-param K=V]... [-o PREFIX]
--   skinny replay PREFIX.schedule.json [--trace FILE] [--html FILE]
-- shrink writes PREFIX.schedule.json (the minimal schedule), PREFIX.jsonl (its trace)
-- and PREFIX.html (its picture), and prints what it removed and the replay command.
-- Exit: 0 shrunk (or, replay: the schedule passes), 1 replay: a check fails,
-- 2 bad usage, a run that does not fail, or a schedule that does not replay the failure.
local cjson = require "cjson"
local shrink = require "skinny.shrink"

local M = {}

local USAGE = [==[
usage: skinny shrink TRACE.jsonl [-o|--out PREFIX]
       skinny shrink EXPERIMENT.lua [--seed N] [--variant V] [--proposer P] [--backoff B]
                     [--lock L] [--lock-param K=V]... [-o PREFIX]
       skinny replay PREFIX.schedule.json [--trace FILE] [--html FILE]]==]

local function die(msg, code)
  io.stderr:write("skinny: ", msg, "\n")
  os.exit(code or 2)
end

local function read_run_event(path)
  local f, err = io.open(path, "r")
  if not f then die(err) end
  local first = f:read("l")
  f:close()
  local ok, e = pcall(cjson.decode, first or "")
  if not ok or type(e) ~= "table" or e.ev ~= "run" then
    die(("%s: not a trace of bin/skinny run (its first line is no \"run\" event)"):format(path))
  end
  if type(e.experiment) ~= "string" then
    die(("%s: the trace names no experiment file (it was not written by bin/skinny run)"):format(path))
  end
  return require("skinny").tidy(e)
end

local function load_experiment(path)
  local chunk, err = loadfile(path, "t")
  if not chunk then die(err) end
  local ok, exp = pcall(chunk)
  if not ok then die(tostring(exp)) end
  if type(exp) ~= "table" or type(exp.run) ~= "function" then
    die(("%s: an experiment returns a table with a run(lab) function"):format(path))
  end
  return exp
end

-- The lab options of one run: the experiment's, its variant's, then what the run chose.
local function lab_options(exp, variant, chosen)
  local v
  for _, x in ipairs(exp.variants or {}) do if x.name == variant then v = x end end
  if variant and not v then die(("the experiment has no variant '%s'"):format(variant)) end
  if not variant and exp.variants and #exp.variants > 0 then
    local names = {}
    for i, x in ipairs(exp.variants) do names[i] = "'" .. tostring(x.name) .. "'" end
    die("the experiment has variants: pick one with --variant (" .. table.concat(names, ", ") .. ")")
  end
  local opts = {}
  for k, x in pairs(exp.lab or {}) do opts[k] = x end
  for k, x in pairs(v or {}) do if k ~= "name" and k ~= "setup" then opts[k] = x end end
  for k, x in pairs(chosen) do opts[k] = x end
  return opts, v
end

local function write(path, text)
  local f, err = io.open(path, "w")
  if not f then die(("cannot write %s: %s"):format(path, err)) end
  f:write(text)
  f:close()
end

local function count_lines(path)
  local n = 0
  for _ in io.lines(path) do n = n + 1 end
  return n
end

local function shrink_cmd(argv, skinny)
  for i, a in ipairs(argv) do if a == "-o" then argv[i] = "--out" end end
  local o, pos = require("skinny.args").parse(argv, {
    seed = "int", variant = "str", proposer = "str", backoff = "str", lock = "str",
    ["lock-param"] = require("skinny.cli").lock_param_option(), out = "str",
  }, die, USAGE)
  if #pos ~= 1 then die("shrink takes one trace or experiment file\n\n" .. USAGE) end
  local src = pos[1]
  local path, variant, chosen, prefix
  if src:match("%.lua$") then
    path, variant = src, o.variant
    chosen = { seed = o.seed or 1, proposer = o.proposer, backoff = o.backoff, lock = o.lock,
               lock_params = o.lock_param }
    prefix = o.out or ((src:match("([^/]+)%.lua$") or "run") .. ".min")
  else
    local e = read_run_event(src)
    path, variant = e.experiment, e.variant
    chosen = { seed = e.seed, proposer = e.proposer, backoff = e.backoff, lock = e.lock,
               lock_params = e.lock_params, identity = e.identity, model = e.model }
    prefix = o.out or (src:gsub("%.jsonl$", "") .. ".min")
  end
  local exp = load_experiment(path)
  local opts, v = lab_options(exp, variant, chosen)
  opts.trace = false
  io.stderr:write(("skinny: recording %s%s at seed %d\n"):format(path, variant and (" (" .. variant .. ")") or "",
                                                                  opts.seed or 1))
  local ok, sched, lab = pcall(shrink.record, opts, function(l) exp.run(l, v) end)
  if not ok then die(("%s: the experiment failed: %s"):format(path, tostring(sched))) end
  local want = shrink.failing(lab)
  lab:close()
  if #want == 0 then die(("%s at seed %d passes every check: nothing to shrink"):format(path, opts.seed or 1)) end
  local small, info = shrink.minimize(sched, want)
  if not small then die(info) end
  -- the original run's trace, for the before/after count
  local before = shrink.replay(sched, { trace = true, trace_file = prefix .. ".before.jsonl" })
  before:close()
  local n_before = count_lines(prefix .. ".before.jsonl")
  os.remove(prefix .. ".before.jsonl")
  write(prefix .. ".schedule.json", cjson.encode(small) .. "\n")
  local after = shrink.replay(small, { trace = true, trace_file = prefix .. ".jsonl" })
  local got = shrink.failing(after)
  local html = require("skinny.render").html(after:trace(), {
    title = (path:match("([^/]+)%.lua$") or path) .. " (shrunk)",
    command = "bin/skinny replay " .. prefix .. ".schedule.json" })
  after:close()
  write(prefix .. ".html", html)
  print(("fails: %s"):format(table.concat(want, ", ")))
  print(shrink.text(info, n_before, count_lines(prefix .. ".jsonl")))
  print("the minimal schedule:")
  for _, line in ipairs(shrink.describe(small)) do print("  " .. line) end
  print(("still fails: %s"):format(table.concat(got, ", ")))
  print("schedule: " .. prefix .. ".schedule.json")
  print("trace:    " .. prefix .. ".jsonl")
  print("picture:  " .. prefix .. ".html")
  print("replay:   bin/skinny replay " .. prefix .. ".schedule.json")
  os.exit(0)
end

local function replay_cmd(argv, skinny)
  local o, pos = require("skinny.args").parse(argv, { trace = "str", html = "str" }, die, USAGE)
  if #pos ~= 1 then die("replay takes one schedule file\n\n" .. USAGE) end
  local f, err = io.open(pos[1], "r")
  if not f then die(err) end
  local text = f:read("a")
  f:close()
  local ok, sched = pcall(cjson.decode, text)
  if not ok or type(sched) ~= "table" or type(sched.events) ~= "table" or type(sched.lab) ~= "table" then
    die(("%s: not a schedule written by skinny shrink"):format(pos[1]))
  end
  sched = require("skinny").tidy(sched)
  if sched.version ~= shrink.VERSION then
    die(("%s: a schedule of version %s; this skinny reads version %d"):format(pos[1], tostring(sched.version),
                                                                            shrink.VERSION))
  end
  local lab = shrink.replay(sched, { trace = true, trace_file = o.trace })
  local text2, rep = lab:report({ timeline = true })
  print(text2)
  if o.html then write(o.html, require("skinny.render").html(lab:trace(), { title = pos[1] })) end
  lab:close()
  os.exit(rep.ok and 0 or 1)
end

function M.main(cmd, argv, skinny)
  if cmd == "shrink" then return shrink_cmd(argv, skinny) end
  return replay_cmd(argv, skinny)
end

return M
