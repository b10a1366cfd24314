-- skinny.explore_cli: `skinny explore` -- every interleaving of a small configuration,
-- searched breadth-first over the real cores (runtime/explore), with the C defaults or
-- Lua scripts (spec/LAB.md "Exploring every interleaving").
local M = {}

M.USAGE = [==[
usage: skinny explore [--nodes N] [--clients N] [--ops acquire[,release]] [--drops N]
                      [--dups N] [--failovers N] [--crashes N] [--wipes N] [--blank-votes]
                      [--no-timers] [--max-depth N] [--max-states N] [--proposer P]
                      [--backoff B] [--lock L] [--builtin] [--no-history] [--out PREFIX]
                      [--json]

Searches every interleaving of N instances (default 3) and N clients (default 2;
client i sends its operations to instance i), each sending --ops in turn
(default: one acquire), with up to --drops lost and --dups duplicated messages
(default 1 each), timers firing at any point (--no-timers: never), until the
whole space is searched or a bound is reached (default --max-states 3000000).
More faults, each a budget over the whole run (default 0):
  --failovers N  a client with no answer yet (or an indefinite one) sends the
                 same request to another instance, as skinnyctl does
  --crashes N    an instance crashes and restarts with its durable state
  --wipes N      an instance crashes and restarts with its state lost; it
                 rejoins before voting (--blank-votes: it votes at once, as
                 the original did: UNSAFE, to see why)
Invariants: on every state, no two clients hold the lock at once; wherever an
answer arrives or the search ends (no step left, the depth bound), the clients'
history passes the checkers a run gets (single holder, linearizable against the
lock's model, fencing tokens; --no-history: skip them). Reports the
states, the depth and the time, and either "no violation" (the whole space, or
within the bounds: then not a proof) or the shortest counterexample: its
steps, the trace PREFIX.jsonl (default explore-counterexample), the picture
PREFIX.html, and what the history checkers say of it.
A script that fails (a runtime error, a wrong return type, its budget spent)
is reported with its file and line: its requests are answered "error", so a
clean search of it proves little.
Exit: 0 no violation, 1 a violation, 2 bad usage or a bad script (one that
does not load, or fails in the search with no violation found).]==]

local function die(msg)
  io.stderr:write("skinny: ", msg, "\n")
  os.exit(2)
end

local function count(flag, v, lo, hi)
  local n = math.tointeger(tonumber(v))
  if n == nil or n < lo or (hi and n > hi) then
    die(("%s needs a whole number %s, not '%s'"):format(flag,
      hi and ("from " .. lo .. " to " .. hi) or (">= " .. lo), tostring(v)))
  end
  return n
end

-- The options, checked; the configuration for skinny.core.explore.
function M.config(o, scripts_dir)
  local nodes = count("--nodes", o.nodes or 3, 1, 7)
  local nclients = count("--clients", o.clients or 2, 1, 4)
  local ops = {}
  for w in (o.ops or "acquire"):gmatch("[^,]+") do
    if w ~= "acquire" and w ~= "release" then
      die(("--ops: a list of acquire and release, not '%s'"):format(w))
    end
    ops[#ops + 1] = w
  end
  if #ops < 1 or #ops > 4 then die("--ops: 1 to 4 operations per client") end
  local clients = {}
  for i = 1, nclients do clients[i] = { node = (i - 1) % nodes + 1, ops = ops } end
  local cfg = {
    nodes = nodes, clients = clients,
    drops = count("--drops", o.drops or 1, 0, 255), dups = count("--dups", o.dups or 1, 0, 255),
    failovers = count("--failovers", o.failovers or 0, 0, 255),
    crashes = count("--crashes", o.crashes or 0, 0, 255),
    wipes = count("--wipes", o.wipes or 0, 0, 255), blank_votes = o.blank_votes,
    timers = not o.no_timers,
    max_depth = o.max_depth and count("--max-depth", o.max_depth, 1) or 0,
    max_states = count("--max-states", o.max_states or 3000000, 1),
    builtin = o.builtin, proposer = o.proposer, backoff = o.backoff, lock = o.lock,
    scripts_dir = scripts_dir,
  }
  -- the fewest steps to any answer: the request, then four messages with each of the
  -- majority - 1 other instances (prepare, promise, accept, accepted)
  local first = 1 + 4 * (nodes // 2)
  if cfg.max_depth > 0 and cfg.max_depth < first then
    die(("--max-depth %d cannot reach any client's answer: on %d instances an acquire needs at "
      .. "least %d steps"):format(cfg.max_depth, nodes, first))
  end
  return cfg
end

-- The history checker for skinny.core.explore: the checkers a run gets, against the
-- model of the lock script explored (the C defaults: the advisory lock).
-- The model is found at the first call: a lock script that does not load is the explorer's
-- to report, with its own message.
function M.history_check(skinny, lock)
  local model
  return function(history)
    model = model or require("skinny.models").resolve(lock or "advisory", { lock_params = {} })
    local rep = skinny.check.all(history, { model = model })
    if rep.ok or rep.unknown then return true end
    for _, c in ipairs(rep.checks) do
      if not c.ok then return false, ("the history fails %s: %s"):format(c.label, c.text) end
    end
    return false, "the history fails a checker"
  end
end

function M.text(r, cfg)
  local lines = {}
  local rate = r.seconds > 0 and r.distinct / r.seconds or 0
  lines[#lines + 1] = ("explored %d states (%d distinct, %d transitions, %d node states), depth %d, "
    .. "%.2f s, %.0f states/s"):format(r.expanded, r.distinct, r.transitions, r.node_states, r.depth,
                                      r.seconds, rate)
  if cfg.check then
    lines[#lines + 1] = ("histories checked: %d (%d distinct)")
      :format(r.histories, r.distinct_histories)
  end
  local more = ""
  if cfg.failovers > 0 then more = more .. (", %d failover(s)"):format(cfg.failovers) end
  if cfg.crashes > 0 then more = more .. (", %d crash(es) with state"):format(cfg.crashes) end
  if cfg.wipes > 0 then
    more = more .. (", %d crash(es) with state lost%s"):format(cfg.wipes,
      cfg.blank_votes and " (voting at once)" or "")
  end
  lines[#lines + 1] = ("configuration: %d instances, %d clients (%s each), %d drop(s), %d duplicate(s)%s, "
    .. "timers %s"):format(cfg.nodes, #cfg.clients, table.concat(cfg.clients[1].ops, ", "), cfg.drops,
                            cfg.dups, more, cfg.timers and "on" or "off")
  if (r.hook_errors or 0) > 0 then
    -- a request a script fails is answered `error`, which no invariant holds against: a
    -- clean search of a failing script proves little, so say so before the verdict
    lines[#lines + 1] = ("SCRIPT ERRORS: the scripts failed %d times in the search's steps; the "
      .. "first: %s (requests they fail are answered \"error\"; fix the script, then search "
      .. "again)"):format(r.hook_errors, r.hook_error)
  end
  if r.violation then
    lines[#lines + 1] = "VIOLATION: " .. r.what
    lines[#lines + 1] = ("the shortest counterexample, %d steps:"):format(#r.path)
    for i, s in ipairs(r.path) do lines[#lines + 1] = ("  %2d. %s"):format(i, s) end
    lines[#lines + 1] = "replayed:"
    for l in (r.replay or ""):gmatch("[^\n]+") do lines[#lines + 1] = "  " .. l end
  elseif r.depth_bound or r.state_bound then
    lines[#lines + 1] = ("no violation within these bounds (%s reached): not a proof; raise %s")
      :format(r.state_bound and "the state bound" or "the depth bound",
              r.state_bound and "--max-states" or "--max-depth")
  else
    lines[#lines + 1] = "no violation: every interleaving of this configuration was searched"
  end
  return table.concat(lines, "\n")
end

-- The counterexample as a whole trace: a "run" event naming the instances and scripts
-- (so `skinny check` and the pictures know the lock's model), then the replayed steps.
function M.trace(r, cfg)
  local names = {}
  for i = 1, cfg.nodes do names[i] = "n" .. i end
  local run = require("skinny.cli").ordered_json({ { "t", 0 }, { "ev", "run" },
    { "backend", "explore" }, { "nodes", names },
    { "proposer", cfg.builtin and "builtin" or cfg.proposer or "paxos" },
    { "backoff", cfg.builtin and "builtin" or cfg.backoff or "exponential_jitter" },
    { "lock", cfg.builtin and "advisory" or cfg.lock or "advisory" } })
  return run .. "\n" .. (r.trace or "")
end

local function write(path, text)
  local f, err = io.open(path, "w")
  if not f then die(err) end
  f:write(text)
  f:close()
end

function M.main(argv, skinny)
  local o, pos = require("skinny.args").parse(argv, {
    nodes = "str", clients = "str", ops = "str", drops = "str", dups = "str",
    failovers = "str", crashes = "str", wipes = "str", ["blank-votes"] = "flag",
    ["no-timers"] = "flag", ["max-depth"] = "str", ["max-states"] = "str",
    proposer = "str", backoff = "str", lock = "str", builtin = "flag", ["no-history"] = "flag",
    out = "str", json = "flag",
  }, die, M.USAGE, true)
  if #pos > 0 then die("explore takes options only\n\n" .. M.USAGE) end
  local cfg = M.config(o, skinny.scripts_dir)
  if not o.no_history then cfg.check = M.history_check(skinny, not o.builtin and o.lock or nil) end
  local r, err = skinny.core.explore(cfg)
  if not r then die(err) end
  local files
  if r.violation then
    local prefix = o.out or "explore-counterexample"
    local trace = M.trace(r, cfg)
    local events = skinny.decode_trace(trace)
    write(prefix .. ".jsonl", trace)
    write(prefix .. ".html", require("skinny.render").html(events, {
      title = "skinny explore: " .. r.what,
      command = require("skinny.args").prog .. " explore " .. table.concat(argv, " ") }))
    files = { trace = prefix .. ".jsonl", picture = prefix .. ".html" }
    local rep, why = require("skinny.cli").check_events(events, skinny)
    files.check = rep and skinny.check.format(rep) or ("the checkers could not run: " .. why)
  end
  if o.json then
    r.replay, r.trace, cfg.check = nil, nil, nil
    r.files = files and { trace = files.trace, picture = files.picture } or nil
    print(require("cjson").encode(r))
  else
    print(M.text(r, cfg))
    if files then
      print("the history checkers on the counterexample:")
      for l in files.check:gmatch("[^\n]+") do print("  " .. l) end
      print(("trace:    %s   (%s check %s)"):format(files.trace, require("skinny.args").prog, files.trace))
      print("picture:  " .. files.picture)
    end
  end
  os.exit(r.violation and 1 or (r.hook_errors or 0) > 0 and 2 or 0)
end

return M
