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
                     [--lock L] [--lock-param K=V]... [--random-faults] [-o PREFIX]
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

-- The one variant a shrink is about: the one named, or the experiment's only one.
local function pick_variant(exp, path, variant)
  if variant == nil and exp.variants and #exp.variants > 0 then
    local names = {}
    for i, x in ipairs(exp.variants) do names[i] = "'" .. tostring(x.name) .. "'" end
    die("the experiment has variants: pick one with --variant (" .. table.concat(names, ", ") .. ")")
  end
  return require("skinny.cli").pick_variants(exp, path, variant, die)[1]
end

local function write(path, text)
  local f, err = io.open(path, "w")
  if not f then die(("cannot write %s: %s"):format(path, err)) end
  f:write(text)
  f:close()
end

-- The events in a lab's trace (one JSON line each).
local function trace_events(lab)
  return select(2, lab:trace_text():gsub("\n", ""))
end

--- shrink_cli.shrink_run(path, exp, variant, opts, { random_faults =, prefix = }) -> true,
--- or false and the reason printed: record the run, shrink it, write and print the result.
function M.shrink_run(path, exp, v, opts, o)
  opts.trace, opts.trace_file = false, nil
  local prefix = o.prefix
  io.stderr:write(("skinny: recording %s%s at seed %d%s\n"):format(path, v.name and (" (" .. v.name .. ")") or "",
                                                                  opts.seed or 1,
                                                                  o.random_faults and " with random faults" or ""))
  local ok, sched, lab = pcall(shrink.record, opts, function(l)
    if o.random_faults then require("skinny.cli").random_faults(l, opts.seed or 1) end
    exp.run(l, v)
  end)
  if not ok then
    io.stderr:write(("skinny: %s: the experiment failed: %s\n"):format(path, tostring(sched)))
    return false
  end
  local want = shrink.failing(lab)
  lab:close()
  if #want == 0 then
    io.stderr:write(("skinny: %s at seed %d passes every check: nothing to shrink\n"):format(path, opts.seed or 1))
    return false
  end
  local small, info = shrink.minimize(sched, want)
  if not small then
    io.stderr:write("skinny: ", info, "\n")
    return false
  end
  -- the original run's trace, for the before/after count
  local before = shrink.replay(sched, { trace = true })
  local n_before = trace_events(before)
  before:close()
  write(prefix .. ".schedule.json", cjson.encode(small) .. "\n")
  local after = shrink.replay(small, { trace = true, trace_file = prefix .. ".jsonl" })
  local got = shrink.failing(after)
  local n_after = trace_events(after)
  local html = require("skinny.render").html(after:trace(), {
    title = (path:match("([^/]+)%.lua$") or path) .. " (shrunk)",
    command = require("skinny.args").prog .. " replay " .. prefix .. ".schedule.json" })
  after:close()
  write(prefix .. ".html", html)
  print(("fails: %s"):format(table.concat(want, ", ")))
  print(shrink.text(info, n_before, n_after))
  print("the minimal schedule:")
  for _, line in ipairs(shrink.describe(small)) do print("  " .. line) end
  print(("still fails: %s"):format(table.concat(got, ", ")))
  print("schedule: " .. prefix .. ".schedule.json")
  print("trace:    " .. prefix .. ".jsonl")
  print("picture:  " .. prefix .. ".html")
  print(("replay:   %s replay %s.schedule.json"):format(require("skinny.args").prog, prefix))
  return true
end

local function shrink_cmd(argv, skinny)
  for i, a in ipairs(argv) do if a == "-o" then argv[i] = "--out" end end
  local o, pos = require("skinny.args").parse(argv, {
    seed = "int", variant = "str", proposer = "str", backoff = "str", lock = "str",
    ["lock-param"] = require("skinny.cli").lock_param_option(), out = "str",
    ["random-faults"] = "flag",
  }, die, USAGE, true)
  if #pos ~= 1 then die("shrink takes one trace or experiment file\n\n" .. USAGE) end
  local src = pos[1]
  local path, variant, chosen, prefix
  local random_faults = o.random_faults
  if src:match("%.lua$") then
    path, variant = src, o.variant
    chosen = { seed = o.seed or 1, proposer = o.proposer, backoff = o.backoff, lock = o.lock,
               lock_param = o.lock_param }
    prefix = o.out or ((src:match("([^/]+)%.lua$") or "run") .. ".min")
  else
    local e = read_run_event(src)
    path, variant = e.experiment, e.variant
    chosen = { seed = e.seed, proposer = e.proposer, backoff = e.backoff, lock = e.lock,
               lock_param = e.lock_params, model = e.model }
    random_faults = random_faults or e.random_faults
    prefix = o.out or (src:gsub("%.jsonl$", "") .. ".min")
  end
  local exp = require("skinny.cli").load_experiment(path, die)
  local v = pick_variant(exp, path, variant)
  local lok, opts = pcall(require("skinny.cli").lab_options, exp, v, chosen, chosen.seed)
  if not lok then die(tostring(opts)) end
  if not M.shrink_run(path, exp, v, opts, { random_faults = random_faults, prefix = prefix }) then
    os.exit(2)
  end
  os.exit(0)
end

local function replay_cmd(argv, skinny)
  local o, pos = require("skinny.args").parse(argv, { trace = "str", html = "str" }, die, USAGE, true)
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
