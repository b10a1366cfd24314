-- skinny.cli: the `skinny` command (bin/skinny is a thin launcher).
--   skinny run EXPERIMENT.lua [--seed N] [--trace FILE] [--proposer P]
--              [--backoff B] [--lock L] [--builtin] [--variant NAME]
--              [--verbose] [--quiet] [--model M] [--lock-param K=V]...
--   skinny check TRACE.jsonl [--model M] [--lock-param K=V]...
-- Exit status: 0 every safety check holds, 1 a safety check failed,
-- 2 bad usage or a bad script (the message names the file and line).
local cjson = require "cjson"

local M = {}

local USAGE = [[
usage: skinny run EXPERIMENT.lua [options]   simulate an experiment and check it
       skinny check TRACE.jsonl [--model M] [--lock-param K=V]...
                                             check the history in a trace
       skinny sweep EXPERIMENT.lua --seeds A..B [--jobs N] [--json] ...
                                             run it over many seeds in worker
                                             processes, sum the checks (--help)
       skinny render TRACE.jsonl... [-o run.html] [--svg diagram.svg]
                                             draw a trace: one self-contained page
       skinny lab up|down|status|kill|restart|partition|heal|slow ...
                                             real daemons on this machine
       skinny torture [--duration 20s] ...   a nemesis against real daemons,
                                             the history checked (--help)
       skinny shrink TRACE.jsonl | EXPERIMENT.lua [--seed N] [--variant V] [-o PREFIX]
                                             reduce a failing run to a minimal one
       skinny replay SCHEDULE.json           replay (and check) a shrunk schedule
       skinny explore [--nodes N] [--ops acquire,release] [--drops N] ...
                                             every interleaving of a small cluster (--help)
       skinny cluster init --hosts H1,H2,H3 [--names N1,N2,N3] [--port N] -o DIR
                                             configs, key and systemd unit for a
                                             cluster on real hosts (--help)
       skinny help

run options:
  --seed N          the run's seed (default 1); the same seed replays exactly
  --trace FILE      write the JSON-lines trace (one file per variant: FILE
                    gets the variant's name before its extension)
  --proposer NAME   a script in scripts/proposers/ or a path (default: the
  --backoff NAME    experiment's choice, else paxos / exponential_jitter /
  --lock NAME       advisory)
  --lock-param K=V  a lock parameter for the lock script (ctx.params.K) and its
                    model, over the experiment's lock_params; repeatable;
                    whole numbers are integers, true/false booleans, else a
                    string (e.g. --lock-param permits=3)
  --builtin         use the built-in C defaults instead of the Lua scripts
  --random-faults   add a fault schedule drawn from the seed (skinny.scenario:
                    crashes, blank restarts in a minority, partitions, one-way
                    cuts, slow instances, loss, duplication, reordering,
                    client link faults) on top of the experiment
  --shrink          when a check fails, shrink the run to a minimal one that
                    fails the same checks (as `skinny shrink`; writes
                    NAME.seedN.min.schedule.json, .jsonl, .html)
  --real            run against real skinnyd processes on this machine (a lab
                    in a temporary directory) instead of the simulator;
                    simulated-only faults (skew, pause, loss, ...) refuse
  --model NAME|PATH check against this lock script's model (default: the
                    experiment's `model`, else the lock script's own)
  --variant NAME    run only this variant of the experiment
  --html FILE       draw the run as one self-contained HTML page (one file
                    per variant, named as for --trace)
  --verbose         show every message in the timeline
  --quiet           no timeline

exit status: 0 all safety checks hold, 1 a safety check failed,
             2 bad usage or a bad script]]

local function die(msg, code)
  io.stderr:write("skinny: ", msg, "\n")
  os.exit(code or 2)
end

local function parse(argv, spec) return require("skinny.args").parse(argv, spec, die, USAGE, true) end

-- --lock-param K=V (repeatable): a parser that gathers them into one table.
function M.lock_param_option()
  local params = {}
  return function(flag, text)
    local k, v = text:match("^([%a_][%w_]*)=(.*)$")
    if not k then die(("%s needs NAME=VALUE (e.g. permits=3), not '%s'"):format(flag, text)) end
    if #k > 32 then die(("%s: the name '%s' is longer than 32 bytes"):format(flag, k)) end
    local n = v:match("^[+-]?%d+$") and math.tointeger(tonumber(v))
    if n then params[k] = n
    elseif v == "true" then params[k] = true
    elseif v == "false" then params[k] = false
    else params[k] = v end
    return params
  end
end

-- The run's lock params as "k=v" words, sorted, for the reproduce line.
local function param_words(params)
  local keys = {}
  for k in pairs(params or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  local out = {}
  for _, k in ipairs(keys) do out[#out + 1] = ("--lock-param %s=%s"):format(k, tostring(params[k])) end
  return out
end

local function with_suffix(path, variant)
  if not variant then return path end
  local base, ext = path:match("^(.*)(%.[^./]+)$")
  if not base then base, ext = path, "" end
  return base .. "." .. variant:gsub("[^%w_-]", "_") .. ext
end

-- JSON with its keys in the given order (cjson's order follows the hash
-- table, which changes from run to run): pairs = { {key, value}, ... }.
function M.ordered_json(pairs_)
  local parts = {}
  for _, kv in ipairs(pairs_) do
    if kv[2] ~= nil then parts[#parts + 1] = cjson.encode(kv[1]) .. ":" .. cjson.encode(kv[2]) end
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

-- The command that replays a run.
function M.reproduce(path, o, variant, seed)
  local again = { require("skinny.args").prog .. " run", path, "--seed", tostring(seed) }
  if variant then again[#again + 1] = "--variant '" .. variant .. "'" end
  for _, k in ipairs{ "proposer", "backoff", "lock", "model" } do
    if o[k] then again[#again + 1] = "--" .. k .. " " .. o[k] end
  end
  for _, w in ipairs(param_words(o.lock_param)) do again[#again + 1] = w end
  if o.builtin then again[#again + 1] = "--builtin" end
  if o.random_faults then again[#again + 1] = "--random-faults" end
  if o.real then again[#again + 1] = "--real" end
  return table.concat(again, " ")
end

-- Load an experiment file: a table {title, about, lab, variants, run}.
-- die(message) is called (and must not return) when it cannot be.
function M.load_experiment(path, die_)
  die_ = die_ or die
  local chunk, err = loadfile(path, "t")
  if not chunk then die_(err) end
  local ok, exp = pcall(chunk)
  if not ok then die_(tostring(exp)) end
  if type(exp) ~= "table" or type(exp.run) ~= "function" then
    die_(("%s: an experiment returns a table with a run(lab) function (got %s)")
        :format(path, type(exp)))
  end
  return exp
end
local load_experiment = M.load_experiment

-- The variants a run (or sweep) covers: all of them, or the one --variant names.
function M.pick_variants(exp, path, name, die_)
  local variants = exp.variants or { { name = nil } }
  if name then
    local pick
    for _, v in ipairs(variants) do if v.name == name then pick = v end end
    if not pick then (die_ or die)(("%s has no variant '%s'"):format(path, name)) end
    variants = { pick }
  end
  return variants
end

-- The skinny.lab options of one run of variant v: the experiment's lab, the
-- variant's fields, then the command line's (o: as parsed by `run`) over them.
-- Returns opts and the model's name (for the trace), or raises (a bad --model).
function M.lab_options(exp, v, o, seed)
  local opts = {}
  for k, x in pairs(exp.lab or {}) do opts[k] = x end
  for k, x in pairs(v) do if k ~= "name" and k ~= "setup" then opts[k] = x end end
  opts.seed = seed or opts.seed or 1
  for _, k in ipairs{ "proposer", "backoff", "lock" } do
    if o[k] then opts[k] = o[k] end
  end
  if o.builtin then opts.builtin = true end
  -- lock params: the experiment's (a top-level lock_params, its lab's, a variant's),
  -- then --lock-param over them
  local params = {}
  local srcs = { exp.lock_params or false, exp.lab and exp.lab.lock_params or false, v.lock_params or false,
                 o.lock_param or false }
  for _, src in ipairs(srcs) do
    for k, x in pairs(src or {}) do params[k] = x end
  end
  opts.lock_params = next(params) and params or nil
  -- the model the checkers hold the run to: --model, else the experiment's (its lab, a
  -- variant or a top-level `model`), else the lock script's own
  opts.model = o.model or opts.model or exp.model
  local model_named = type(opts.model) == "string" and opts.model or nil -- for the trace
  if opts.model ~= nil then
    opts.model = require("skinny.models").resolve(opts.model, { scripts_dir = opts.scripts_dir,
                                                                lock_params = opts.lock_params })
  end
  return opts, model_named
end

-- --random-faults: a fault schedule drawn from the run's seed (skinny.scenario), on top
-- of what the experiment does. The same for `run` and every run of a `sweep`. Seeds
-- take turns at three densities (faults 5..35 ms, 17..117 ms or 50..350 ms apart, and as
-- much shorter), so an experiment over in 40 ms gets faults too, and a long one gets
-- both bursts and spread-out faults (the swarm idea: vary the mix per run).
M.FAULT_SCALES = { 10, 3, 1 }
function M.random_faults(lab, seed)
  local scenario = require "skinny.scenario"
  local faults = scenario.random_faults(seed, lab, { scale = M.FAULT_SCALES[seed % 3 + 1] })
  scenario.apply_faults(lab, faults)
  return faults
end

-- The options `run` takes that shape a run (and that `sweep` passes through).
M.RUN_OPTIONS = { proposer = "str", backoff = "str", lock = "str", builtin = "flag", variant = "str",
                  model = "str" }

local function run(argv, skinny)
  local o, pos = parse(argv, { seed = "int", trace = "str", proposer = "str", backoff = "str",
                               lock = "str", builtin = "flag", variant = "str",
                               verbose = "flag", quiet = "flag", html = "str", real = "flag",
                               model = "str", ["lock-param"] = M.lock_param_option(),
                               ["random-faults"] = "flag", shrink = "flag" })
  if o.shrink and o.real then die("--shrink is simulated-only: run without --real") end
  if #pos ~= 1 then die("run takes one experiment file\n\n" .. USAGE) end
  if o.random_faults and o.real then die("--random-faults is simulated-only: run without --real") end
  local path = pos[1]
  local exp = load_experiment(path)
  local variants = M.pick_variants(exp, path, o.variant)
  local failed = false
  if exp.title then print("# " .. exp.title) end
  if exp.about then print((exp.about:gsub("%s+$", ""))); print() end
  for _, v in ipairs(variants) do
    local ook, opts, model_named = pcall(M.lab_options, exp, v, o, o.seed)
    if not ook then die(tostring(opts)) end
    if o.trace then opts.trace_file = with_suffix(o.trace, #variants > 1 and v.name or nil) end
    local ok, lab = pcall(o.real and require("skinny.real").lab or skinny.lab, opts)
    if not ok then die(tostring(lab)) end
    -- the model, with the lock params, before the run: a bad parameter stops it here
    local mok, merr = pcall(lab.model, lab)
    if not mok then lab:close(); die(tostring(merr)) end
    local no_identity = nil -- the run event says identity: false only when it is off
    if opts.identity == false then no_identity = false end
    lab.sim:trace_note(M.ordered_json({ { "t", 0 }, { "ev", "run" }, { "experiment", path },
      { "variant", v.name }, { "seed", opts.seed }, { "nodes", lab.names },
      { "proposer", opts.proposer or "paxos" }, { "backoff", opts.backoff or "exponential_jitter" },
      { "lock", opts.lock or "advisory" }, { "model", model_named },
      { "lock_params", opts.lock_params }, { "identity", no_identity },
      { "random_faults", o.random_faults or nil } }))
    if o.random_faults then M.random_faults(lab, opts.seed) end
    local rok, err = xpcall(exp.run, debug.traceback, lab, v)
    if not rok then die(("%s: the experiment failed: %s"):format(path, err)) end
    local pok, text, rep = pcall(lab.report, lab, { verbose = o.verbose, timeline = not o.quiet,
                                 title = v.name and ("variant: " .. v.name) or nil })
    if not pok then die(("%s: cannot check the run: %s"):format(path, text)) end
    print(text)
    print()
    if not rep.ok then failed = true end
    if not rep.ok and o.shrink then
      local sopts = M.lab_options(exp, v, o, o.seed)
      local name = (path:match("([^/]+)%.lua$") or "run") .. (v.name and ("." .. v.name:gsub("%W+", "_")) or "")
      require("skinny.shrink_cli").shrink_run(path, exp, v, sopts, {
        random_faults = o.random_faults, prefix = ("%s.seed%d.min"):format(name, opts.seed) })
      print()
    end
    if o.html then
      local file = with_suffix(o.html, #variants > 1 and v.name or nil)
      local title = (path:match("([^/]+)%.lua$") or path) .. (v.name and (" (" .. v.name .. ")") or "")
      local hok, html = pcall(require("skinny.render").html, lab:trace(),
                              { title = title, command = M.reproduce(path, o, v.name, opts.seed) })
      if not hok then die(("%s: cannot draw the run: %s"):format(path, html)) end
      local f, ferr = io.open(file, "w")
      if not f then die(("cannot write %s: %s"):format(file, ferr)) end
      f:write(html)
      f:close()
      print("picture: " .. file)
    end
    lab:close()
  end
  print("reproduce: " .. M.reproduce(path, o, o.variant, o.seed or 1))
  os.exit(failed and 1 or 0)
end

--- M.check_events(events, skinny, model, lock_params) -> report, history | nil, message
--- The checkers a run gets, on a trace's events: the history rebuilt from its invokes and
--- completes, held to `model` or else the model its "run" event names, with that event's
--- lock params and then `lock_params` over them. `skinny check` and the explorer's
--- counterexample use it.
function M.check_events(events, skinny, model, lock_params)
  local h, named, params = require("skinny.history").from_trace(events)
  local lp = {}
  for _, src in ipairs{ params or false, lock_params or false } do
    for k, x in pairs(src or {}) do lp[k] = x end
  end
  local ok, m = pcall(require("skinny.models").resolve, model or named, { lock_params = lp })
  if not ok then return nil, tostring(m) end
  return skinny.check.all(h, { model = m }), h
end

local function check_cmd(argv, skinny)
  local o, pos = parse(argv, { model = "str", ["lock-param"] = M.lock_param_option() })
  if #pos ~= 1 then die("check takes one trace file\n\n" .. USAGE) end
  local f, err = io.open(pos[1], "r")
  if not f then die(err) end
  local events, n = {}, 0
  for line in f:lines() do
    n = n + 1
    local ok, e = pcall(cjson.decode, line)
    if not ok or type(e) ~= "table" then
      die(("%s:%d: not a JSON trace event"):format(pos[1], n))
    end
    events[#events + 1] = skinny.tidy(e)
  end
  f:close()
  local rep, h = M.check_events(events, skinny, o.model, o.lock_param)
  if not rep then die(h) end
  print(("%s: %d events, %d client operations"):format(pos[1], #events, #h))
  print(skinny.check.format(rep))
  os.exit(rep.ok and 0 or 1)
end

-- `skinny lab ...` runs real daemons: handled by the compiled skinny-lab.
local function lab_cmd(argv, skinny)
  local bin = (skinny.root or ".") .. "/" .. (os.getenv("SKINNY_BUILD") or "build") .. "/skinny-lab"
  local f = io.open(bin, "r")
  if not f then die(bin .. " is missing: run `make` first") end
  f:close()
  local words = { "'" .. bin:gsub("'", "'\\''") .. "'" }
  for _, a in ipairs(argv) do words[#words + 1] = "'" .. a:gsub("'", "'\\''") .. "'" end
  local ok, how, code = os.execute(table.concat(words, " "))
  if how == "signal" then os.exit(128 + code) end
  os.exit(ok and 0 or code)
end

function M.main(argv, skinny)
  local cmd = table.remove(argv, 1)
  if cmd == "run" then return run(argv, skinny)
  elseif cmd == "lab" then return lab_cmd(argv, skinny)
  elseif cmd == "check" then return check_cmd(argv, skinny)
  elseif cmd == "sweep" then return require("skinny.sweep").main(argv, skinny)
  elseif cmd == "torture" then return require("skinny.torture").main(argv, skinny)
  elseif cmd == "shrink" or cmd == "replay" then return require("skinny.shrink_cli").main(cmd, argv, skinny)
  elseif cmd == "explore" then return require("skinny.explore_cli").main(argv, skinny)
  elseif cmd == "cluster" then return require("skinny.cluster_cli").main(argv, skinny)
  elseif cmd == "render" then os.exit(require("skinny.render_cli").render_cmd(argv, skinny))
  elseif cmd == nil or cmd == "help" or cmd == "--help" or cmd == "-h" then
    print(USAGE)
    os.exit(cmd == nil and 2 or 0)
  end
  die(("unknown command '%s'\n\n%s"):format(cmd, USAGE))
end

return M
