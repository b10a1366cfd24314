-- skinny.sweep: `bin/skinny sweep` and `skinny.sweep{...}`: one experiment over many
-- seeds, in worker processes, summed into one summary (spec/LAB.md, "Sweeps").
--
-- The parent checks the command line, probes the experiment once, then starts
-- `bin/skinny sweep ... --worker J/M` processes (bindings/lua_proc.c: fork+exec with
-- a pipe on stdout). Each worker runs its slice of the seeds and writes one JSON line
-- per finished run; the parent polls the pipes, sums the lines by seed and variant
-- (so the order they arrive in changes nothing) and prints the summary.
local cjson = require "cjson"
local cli = require "skinny.cli"

local M = {}

M.USAGE = [[
usage: skinny sweep EXPERIMENT.lua --seeds A..B [options]
       skinny sweep --merge SHARD.json... [--json]

  --seeds A..B      the seeds (whole numbers >= 1; N alone is N..N)
  --jobs N          worker processes (default: one per core)
  --variant NAME    sweep only this variant (default: every variant, each
                    summed on its own)
  --json            print one JSON object instead of the text summary
  --shard K/N       run only the K-th of N slices of the seeds (seed s is in
                    slice ((s - A) % N) + 1); with --json the output is a
                    shard file for --merge
  --merge FILES...  sum shard files (the same experiment, seeds, options
                    and N) into the summary of the whole
  --random-faults   every run also gets a fault schedule drawn from its seed
  --shrink          then shrink the first failing seed (as `skinny shrink`)
  --proposer P, --backoff B, --lock L, --lock-param K=V, --builtin, --model M
                    passed to every run as `skinny run` takes them

exit status: 0 no violation, 1 a safety check failed in some run,
             2 bad usage, a bad experiment, or a run that raised]]

local CHECKS = { "single_holder", "linearizable", "fencing_tokens" }
local LABELS = { single_holder = "single holder", linearizable = "linearizable",
                 fencing_tokens = "fencing tokens" }
M.SHARD_KIND = "skinny-sweep-shard"

-- Errors: `usage` errors end the command with status 2; in the API they raise.
local Usage = {}
local function usage(msg) error(setmetatable({ msg = msg }, Usage), 0) end

-- JSON with sorted keys, so equal tables give equal text.
local function enc(v)
  local t = type(v)
  if t ~= "table" then return cjson.encode(v) end
  if v[1] ~= nil or next(v) == nil then
    local parts = {}
    for i, x in ipairs(v) do parts[i] = enc(x) end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do
    local x = v[k]
    if x == nil then x = v[math.tointeger(tonumber(k))] end
    parts[#parts + 1] = cjson.encode(k) .. ":" .. enc(x)
  end
  return "{" .. table.concat(parts, ",") .. "}"
end
M.encode = enc

-- cjson decodes every number as a float: whole ones back to integers (seeds, counts).
local function ints(v)
  if type(v) == "number" then return math.tointeger(v) or v end
  if type(v) == "table" then for k, x in pairs(v) do v[k] = ints(x) end end
  return v
end

local function decode(text)
  local ok, v = pcall(cjson.decode, text)
  if not ok then return nil end
  return ints(v)
end

-- "A..B" or "N" -> first, last (raises a usage error).
function M.parse_seeds(text)
  if text == nil then usage("sweep needs --seeds A..B (e.g. --seeds 1..1000)") end
  local a, b = text:match("^%s*(%-?%d+)%s*%.%.%s*(%-?%d+)%s*$")
  if not a then a = text:match("^%s*(%-?%d+)%s*$"); b = a end
  a, b = math.tointeger(tonumber(a)), math.tointeger(tonumber(b))
  if not a or not b then
    usage(("--seeds needs a range A..B of whole numbers (e.g. 1..1000), not '%s'"):format(text))
  end
  if a < 1 then usage(("--seeds %s: seeds start at 1, not %d"):format(text, a)) end
  if b < a then usage(("--seeds %s is empty: the last seed %d is below the first %d"):format(text, b, a)) end
  return a, b
end

-- "K/N" -> k, n
local function parse_slash(flag, text)
  local k, n = (text or ""):match("^(%d+)/(%d+)$")
  k, n = math.tointeger(tonumber(k)), math.tointeger(tonumber(n))
  if not k or not n or n < 1 or k < 1 or k > n then
    usage(("%s needs K/N with 1 <= K <= N (e.g. %s 1/4), not '%s'"):format(flag, flag, tostring(text)))
  end
  return k, n
end

-- The seeds of shard k of n of first..last, then of worker j of m of those.
function M.seeds_of(first, last, shard, worker)
  local out = {}
  local i = 0
  for s = first, last do
    if not shard or (s - first) % shard[2] == shard[1] - 1 then
      i = i + 1
      if not worker or (i - 1) % worker[2] == worker[1] - 1 then out[#out + 1] = s end
    end
  end
  return out
end

-- The command-line words of the options passed through to every run (sorted, so a
-- shard file records them the same way whatever order they were typed in).
local function pass_words(o)
  local w = {}
  for _, k in ipairs{ "proposer", "backoff", "lock", "model", "variant" } do
    if o[k] then w[#w + 1] = "--" .. k; w[#w + 1] = o[k] end
  end
  local keys = {}
  for k in pairs(o.lock_param or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do w[#w + 1] = "--lock-param"; w[#w + 1] = k .. "=" .. tostring(o.lock_param[k]) end
  if o.builtin then w[#w + 1] = "--builtin" end
  if o.random_faults then w[#w + 1] = "--random-faults" end
  return w
end
M.pass_words = pass_words

-- The command that replays one run of the sweep.
function M.replay(path, o, variant, seed)
  return cli.reproduce(path, o, variant, seed)
end

-- One run: seed `seed` of variant v. Returns the record a worker writes.
function M.run_one(skinny, exp, v, o, seed)
  local rec = { seed = seed, variant = v.name }
  local ok, opts = pcall(cli.lab_options, exp, v, o, seed)
  if not ok then rec.error = tostring(opts); return rec end
  opts.trace = false
  local lok, lab = pcall(skinny.lab, opts)
  if not lok then rec.error = tostring(lab); return rec end
  if o.random_faults then
    local fok, ferr = pcall(cli.random_faults, lab, seed)
    if not fok then lab:close(); rec.error = tostring(ferr); return rec end
  end
  local rok, err = xpcall(exp.run, debug.traceback, lab, v)
  if not rok then lab:close(); rec.error = "the experiment failed: " .. tostring(err); return rec end
  local cok, rep = pcall(lab.check, lab)
  if not cok then lab:close(); rec.error = "cannot check the run: " .. tostring(rep); return rec end
  rec.ops = rep.cost.ops
  rec.definite = rep.cost.ops - rep.cost.indefinite
  if rep.unknown then rec.unknown = true end
  local fail = {}
  for _, c in ipairs(rep.checks) do if c.ok == false then fail[#fail + 1] = c.name end end
  if #fail > 0 then rec.fail = fail end
  local lat = {}
  for _, op in ipairs(lab.ops) do
    if op.complete then lat[#lat + 1] = op.complete - op.invoke end
  end
  rec.lat = lat
  rec.messages = lab.sim:stats().sent
  lab:close()
  return rec
end

-- Summing ------------------------------------------------------------------------------

local function new_acc(variants)
  local acc = { by = {}, order = {} }
  for _, v in ipairs(variants) do
    local key = v.name or ""
    acc.order[#acc.order + 1] = key
    acc.by[key] = { name = v.name, runs = 0, ops = 0, definite = 0, unknown = 0, messages = 0,
                    violations = { single_holder = 0, linearizable = 0, fencing_tokens = 0 },
                    lat = {}, failing = {}, errors = {} }
  end
  return acc
end

local function add(acc, rec)
  local a = acc.by[rec.variant or ""]
  if not a then return end
  a.runs = a.runs + 1
  if rec.error then a.errors[#a.errors + 1] = { seed = rec.seed, text = rec.error }; return end
  a.ops = a.ops + rec.ops
  a.definite = a.definite + rec.definite
  a.messages = a.messages + (rec.messages or 0)
  if rec.unknown then a.unknown = a.unknown + 1 end
  for _, l in ipairs(rec.lat or {}) do a.lat[l] = (a.lat[l] or 0) + 1 end
  for _, l in ipairs(rec.lat_hist or {}) do a.lat[l[1]] = (a.lat[l[1]] or 0) + l[2] end
  if rec.fail then
    for _, c in ipairs(rec.fail) do a.violations[c] = (a.violations[c] or 0) + 1 end
    a.failing[#a.failing + 1] = { seed = rec.seed, checks = rec.fail }
  end
end

local function percentile(hist, q)
  local keys, n = {}, 0
  for l, c in pairs(hist) do keys[#keys + 1] = l; n = n + c end
  if n == 0 then return nil end
  table.sort(keys)
  local rank, seen = math.max(1, math.ceil(q * n)), 0
  for _, l in ipairs(keys) do
    seen = seen + hist[l]
    if seen >= rank then return l end
  end
end

local function hist_list(hist)
  local keys = {}
  for l in pairs(hist) do keys[#keys + 1] = l end
  table.sort(keys)
  local out = {}
  for i, l in ipairs(keys) do out[i] = { l, hist[l] } end
  return out
end

-- The summary table (what --json prints). s: {path, o, first, last, shard, jobs,
-- total, done, wall_ms, complete}
local function summarize(acc, s)
  local out = { experiment = s.path, seeds = { s.first, s.last }, options = pass_words(s.o),
                runs = 0, operations = 0, violations = 0, unknown = 0, errors = 0, messages = 0,
                expected_runs = s.total, complete = s.complete, variants = {} }
  if s.shard then out.shard = { s.shard[1], s.shard[2] } end
  for _, key in ipairs(acc.order) do
    local a = acc.by[key]
    table.sort(a.failing, function(x, y) return x.seed < y.seed end)
    table.sort(a.errors, function(x, y) return x.seed < y.seed end)
    local first10, replays = {}, {}
    for i = 1, math.min(10, #a.failing) do
      first10[i] = a.failing[i].seed
      replays[i] = M.replay(s.path, s.o, a.name, a.failing[i].seed)
    end
    local violating = #a.failing
    local v = { name = a.name, runs = a.runs, operations = a.ops, definite = a.definite,
                definite_share = a.ops > 0 and a.definite / a.ops or 0,
                violations = a.violations, violating_runs = violating, unknown = a.unknown,
                latency_p50_ms = percentile(a.lat, 0.5), latency_p99_ms = percentile(a.lat, 0.99),
                messages = a.messages, failing_seeds = first10, failing_count = violating,
                replay = replays, errors = a.errors }
    if s.shard then
      v.latency_histogram = hist_list(a.lat)
      v.failing_all = a.failing
    end
    out.variants[#out.variants + 1] = v
    out.runs = out.runs + a.runs
    out.operations = out.operations + a.ops
    out.violations = out.violations + violating
    out.unknown = out.unknown + a.unknown
    out.errors = out.errors + #a.errors
    out.messages = out.messages + a.messages
  end
  if s.shard then out.kind = M.SHARD_KIND; out.version = 1 end
  out.wall_s = s.wall_ms / 1000
  out.runs_per_s = s.wall_ms > 0 and out.runs / (s.wall_ms / 1000) or 0
  out.messages_per_s = s.wall_ms > 0 and out.messages / (s.wall_ms / 1000) or 0
  if s.jobs then out.jobs = s.jobs end
  return out
end

local function pct(x) return ("%.1f%%"):format(100 * x) end

function M.format(sum)
  local lines = {}
  local head = ("sweep %s, seeds %d..%d"):format(sum.experiment, sum.seeds[1], sum.seeds[2])
  if sum.shard then head = head .. (", shard %d/%d"):format(sum.shard[1], sum.shard[2]) end
  if sum.jobs then head = head .. (", %d worker%s"):format(sum.jobs, sum.jobs == 1 and "" or "s") end
  if #sum.options > 0 then head = head .. ", " .. table.concat(sum.options, " ") end
  lines[1] = head
  for _, v in ipairs(sum.variants) do
    if v.name then lines[#lines + 1] = "variant " .. v.name .. ":" end
    local ind = v.name and "  " or ""
    lines[#lines + 1] = ("%sruns %d, operations %d, simulated messages %d")
      :format(ind, v.runs, v.operations, v.messages)
    local parts = {}
    for _, c in ipairs(CHECKS) do parts[#parts + 1] = ("%s %d"):format(LABELS[c], v.violations[c] or 0) end
    lines[#lines + 1] = ("%sviolations: %d runs (%s)"):format(ind, v.violating_runs, table.concat(parts, ", "))
    lines[#lines + 1] = ("%sunknown verdicts: %d; definite answers: %s of operations"):format(ind, v.unknown,
                                                                                        pct(v.definite_share))
    if v.latency_p50_ms then
      lines[#lines + 1] = ("%slatency p50 %s ms, p99 %s ms (virtual, over all answered operations)")
        :format(ind, tostring(v.latency_p50_ms), tostring(v.latency_p99_ms))
    end
    if v.failing_count > 0 then
      local seeds = {}
      for i, x in ipairs(v.failing_seeds) do seeds[i] = tostring(x) end
      lines[#lines + 1] = ("%sfailing seeds: %d (first %d: %s); replay:"):format(ind, v.failing_count, #seeds,
                                                                             table.concat(seeds, " "))
      for _, r in ipairs(v.replay) do lines[#lines + 1] = ind .. "  " .. r end
    end
    for i, e in ipairs(v.errors) do
      if i > 3 then lines[#lines + 1] = ("%s(and %d more runs that raised)"):format(ind, #v.errors - 3); break end
      lines[#lines + 1] = ("%sERROR at seed %d: %s"):format(ind, e.seed, e.text)
    end
  end
  lines[#lines + 1] = ("total: %d runs, %d operations, %d violating runs, %d unknown verdicts; "
                       .. "wall time %.2f s, %.1f runs/s")
    :format(sum.runs, sum.operations, sum.violations, sum.unknown, sum.wall_s, sum.runs_per_s)
  if sum.interrupted then
    lines[#lines + 1] = ("INCOMPLETE: interrupted; %d of %d runs done"):format(sum.runs, sum.expected_runs)
  elseif sum.missing_shards then
    lines[#lines + 1] = ("INCOMPLETE: shards missing (%s); %d of %d runs done")
      :format(table.concat(sum.missing_shards, " "), sum.runs, sum.expected_runs)
  elseif not sum.complete then
    lines[#lines + 1] = ("INCOMPLETE: %d of %d runs done"):format(sum.runs, sum.expected_runs)
  end
  return table.concat(lines, "\n")
end

-- 1 a violation; else 2 a run raised or (merge) shards missing; else 130 interrupted;
-- else 0.
function M.exit_code(sum)
  if sum.violations > 0 then return 1 end
  if sum.errors > 0 or sum.missing_shards then return 2 end
  if not sum.complete then return 130 end
  return 0
end

-- Running ------------------------------------------------------------------------------

local function proc_lib()
  local so = assert(package.searchpath("skinny.core", package.cpath))
  return assert(package.loadlib(so, "luaopen_skinny_proc"))()
end

-- Check what can be checked before any worker starts; returns the experiment and
-- its variants. o: the parsed options; path: the experiment file.
local function prepare(skinny, path, o)
  if path == nil then usage("sweep takes one experiment file\n\n" .. M.USAGE) end
  local f = io.open(path, "r")
  if not f then usage(("%s: no such experiment file"):format(path)) end
  f:close()
  local exp = cli.load_experiment(path, usage)
  local variants = cli.pick_variants(exp, path, o.variant, usage)
  -- one probe run per variant at the first seed: the options load, and there is a
  -- history to check
  for _, v in ipairs(variants) do
    local rec = M.run_one(skinny, exp, v, o, o.first)
    if rec.error then usage(("%s%s: %s"):format(path, v.name and (" (variant " .. v.name .. ")") or "", rec.error)) end
    if rec.ops == 0 then
      usage(("%s%s has no checkable history: seed %d made no client operations")
        :format(path, v.name and (" (variant " .. v.name .. ")") or "", o.first))
    end
  end
  return exp, variants
end

-- Run the sweep. o: parsed options plus first, last, jobs, shard; progress(done,
-- total, violations, elapsed_ms) is called as results come (may be nil).
-- Returns the summary table.
function M.execute(skinny, path, o, progress)
  local proc = proc_lib()
  local exp, variants = prepare(skinny, path, o)
  local seeds = M.seeds_of(o.first, o.last, o.shard)
  local total = #seeds * #variants
  local acc = new_acc(variants)
  local t0 = proc.now()
  local done, bad = 0, 0
  local complete = true
  local function got(rec)
    add(acc, rec)
    done = done + 1
    if rec.fail then bad = bad + 1 end
    if progress then progress(done, total, bad, proc.now() - t0) end
  end
  local jobs = math.min(o.jobs, math.max(1, #seeds))
  if o.in_process then
    for _, s in ipairs(seeds) do
      for _, v in ipairs(variants) do got(M.run_one(skinny, exp, v, o, s)) end
    end
  else
    proc.trap_sigint()
    local bin = (skinny.root or ".") .. "/bin/skinny"
    local workers, failed = {}, nil
    for j = 1, jobs do
      local argv = { bin, "sweep", path, "--seeds", o.first .. ".." .. o.last, "--worker", j .. "/" .. jobs }
      if o.shard then argv[#argv + 1] = "--shard"; argv[#argv + 1] = o.shard[1] .. "/" .. o.shard[2] end
      for _, w in ipairs(pass_words(o)) do argv[#argv + 1] = w end
      local pid, fd = proc.spawn(argv)
      if not pid then failed = fd; break end
      workers[#workers + 1] = { pid = pid, fd = fd, buf = "", j = j }
    end
    local open = #workers
    while open > 0 and not failed do
      if proc.interrupted() then complete = false; break end
      local fds = {}
      for _, w in ipairs(workers) do if w.fd then fds[#fds + 1] = w.fd end end
      local ready = proc.poll(fds, 250)
      for _, fd in ipairs(ready) do
        for _, w in ipairs(workers) do
          if w.fd == fd then
            local chunk = proc.read(fd)
            if chunk == "" then
              proc.close(fd); w.fd = nil; open = open - 1
              local how, code = proc.wait(w.pid)
              w.pid = nil
              if how ~= "exit" or code ~= 0 then
                failed = ("worker %d/%d stopped (%s %s) before its last seed"):format(w.j, jobs, how, tostring(code))
              end
            elseif chunk then
              w.buf = w.buf .. chunk
              for line in w.buf:gmatch("([^\n]*)\n") do
                local rec = decode(line)
                if type(rec) == "table" and rec.seed then got(rec)
                else
                  failed = ("worker %d/%d wrote a line that is not a result: %s"):format(w.j, jobs, line:sub(1, 200))
                end
              end
              w.buf = w.buf:match("[^\n]*$")
            end
          end
        end
      end
      if proc.interrupted() then complete = false; break end
    end
    -- Ctrl-C on a terminal reaches the workers too: a worker killed by it is the
    -- interruption, not a failure
    if proc.interrupted() then complete = false end
    proc.trap_sigint(false)
    -- stop and reap whatever still runs (interrupted, or another worker failed)
    for _, w in ipairs(workers) do
      if w.pid then proc.kill(w.pid, proc.SIGTERM); proc.wait(w.pid) end
      if w.fd then proc.close(w.fd) end
    end
    if failed and complete then error(failed, 0) end
  end
  local sum = summarize(acc, { path = path, o = o, first = o.first, last = o.last, shard = o.shard, jobs = jobs,
                               total = total, wall_ms = proc.now() - t0, complete = complete and done == total })
  if not complete then sum.interrupted = true end
  return sum
end

-- The worker: runs its seeds, one JSON line each on stdout.
local function worker(skinny, path, o)
  local exp = cli.load_experiment(path, usage)
  local variants = cli.pick_variants(exp, path, o.variant, usage)
  for _, s in ipairs(M.seeds_of(o.first, o.last, o.shard, o.worker)) do
    for _, v in ipairs(variants) do
      io.stdout:write(enc(M.run_one(skinny, exp, v, o, s)), "\n")
      io.stdout:flush()
    end
  end
end

-- --merge: sum shard files into the summary of the whole.
function M.merge(files)
  if #files == 0 then usage("--merge needs shard files (written by sweep --shard K/N --json)") end
  local base, key, seen, acc, wall = nil, nil, {}, nil, 0
  local o
  for _, file in ipairs(files) do
    local f = io.open(file, "r")
    if not f then usage(("--merge: cannot read %s"):format(file)) end
    local text = f:read("a")
    f:close()
    local s = decode(text)
    if type(s) ~= "table" or s.kind ~= M.SHARD_KIND or type(s.shard) ~= "table" then
      usage(("--merge: %s is not a sweep shard file (write one with sweep --shard K/N --json)"):format(file))
    end
    if s.version ~= 1 then
      usage(("--merge: %s is a shard file of version %s, not 1"):format(file, tostring(s.version)))
    end
    local names = {}
    for i, v in ipairs(s.variants) do names[i] = type(v.name) == "string" and v.name or "" end
    local k = enc{ s.experiment, s.seeds, s.options, s.shard[2], names }
    if not base then
      base, key = s, k
      local variants = {}
      for i, n in ipairs(names) do variants[i] = { name = n ~= "" and n or nil } end
      acc = new_acc(variants)
      o = M.options_from_words(s.options)
    elseif k ~= key then
      usage(("--merge: %s comes from another sweep than %s (experiment, seeds, options or shard count differ)")
        :format(file, files[1]))
    end
    if seen[s.shard[1]] then usage(("--merge: shard %d/%d given twice (%s)"):format(s.shard[1], s.shard[2], file)) end
    seen[s.shard[1]] = true
    if s.complete == false then seen.incomplete = true end
    wall = wall + (s.wall_s or 0)
    for _, v in ipairs(s.variants) do
      local a = acc.by[type(v.name) == "string" and v.name or ""]
      a.runs = a.runs + v.runs
      a.ops = a.ops + v.operations
      a.definite = a.definite + v.definite
      a.unknown = a.unknown + v.unknown
      a.messages = a.messages + v.messages
      for c, n in pairs(v.violations) do a.violations[c] = (a.violations[c] or 0) + n end
      for _, l in ipairs(v.latency_histogram or {}) do a.lat[l[1]] = (a.lat[l[1]] or 0) + l[2] end
      for _, x in ipairs(v.failing_all or {}) do a.failing[#a.failing + 1] = x end
      for _, e in ipairs(v.errors or {}) do a.errors[#a.errors + 1] = e end
    end
  end
  local n = base.shard[2]
  local all = true
  for k = 1, n do if not seen[k] then all = false end end
  local total = (base.seeds[2] - base.seeds[1] + 1) * #base.variants
  local sum = summarize(acc, { path = base.experiment, o = o, first = base.seeds[1], last = base.seeds[2],
                               total = total, wall_ms = wall * 1000, complete = all and not seen.incomplete })
  if not all then
    local missing = {}
    for k = 1, n do if not seen[k] then missing[#missing + 1] = k .. "/" .. n end end
    sum.missing_shards = missing
  end
  if seen.incomplete then sum.interrupted = true end
  return sum
end

-- The options a shard file records (its pass-through words) parsed back.
function M.options_from_words(words)
  local o = {}
  local i = 1
  while i <= #words do
    local name = words[i]:match("^%-%-(.*)$")
    if name == "builtin" then o.builtin = true
    elseif name == "random-faults" then o.random_faults = true
    elseif name == "lock-param" then
      o.lock_param = o.lock_param or {}
      local k, v = words[i + 1]:match("^([^=]+)=(.*)$")
      o.lock_param[k] = math.tointeger(tonumber(v)) or (v == "true" and true) or (v ~= "false" and v) or false
      i = i + 1
    elseif name then
      o[name] = words[i + 1]; i = i + 1
    end
    i = i + 1
  end
  return o
end

-- The options sweep takes, parsed (raises a usage error).
local function parse_argv(argv)
  local spec = { seeds = "str", jobs = "str", json = "flag", shard = "str", merge = "flag", worker = "str",
                 ["random-faults"] = "flag", ["lock-param"] = cli.lock_param_option(), shrink = "flag" }
  for k, kind in pairs(cli.RUN_OPTIONS) do spec[k] = kind end
  return require("skinny.args").parse(argv, spec, usage, M.USAGE, true)
end

local function check_jobs(o, proc)
  if o.jobs == nil then o.jobs = proc.ncpu(); return end
  local n = math.tointeger(tonumber(o.jobs))
  if not n or n < 1 then usage(("--jobs needs a whole number >= 1, not '%s'"):format(tostring(o.jobs))) end
  o.jobs = n
end

-- --shrink: the first failing seed (of the first variant with one) shrunk, as `skinny shrink`.
function M.shrink_first(path, o, sum)
  for _, v in ipairs(sum.variants or {}) do
    local seed = v.failing_seeds and v.failing_seeds[1]
    if seed then
      local exp = cli.load_experiment(path, usage)
      local variant = cli.pick_variants(exp, path, v.name, usage)[1]
      local opts = cli.lab_options(exp, variant, o, seed)
      local name = (path:match("([^/]+)%.lua$") or "run") .. (v.name and ("." .. v.name:gsub("%W+", "_")) or "")
      print()
      print(("shrinking seed %d%s:"):format(seed, v.name and (" of variant " .. v.name) or ""))
      require("skinny.shrink_cli").shrink_run(path, exp, variant, opts, {
        random_faults = o.random_faults, prefix = ("%s.seed%d.min"):format(name, seed) })
      return
    end
  end
end

-- bin/skinny sweep ...
function M.main(argv, skinny)
  local ok, err = pcall(function()
    local o, pos = parse_argv(argv)
    if o.merge then
      local sum = M.merge(pos)
      io.stdout:write(o.json and enc(sum) or M.format(sum), "\n")
      if sum.missing_shards then
        io.stderr:write("skinny: shards missing: ", table.concat(sum.missing_shards, " "), "\n")
      end
      os.exit(M.exit_code(sum))
    end
    if #pos ~= 1 then usage("sweep takes one experiment file\n\n" .. M.USAGE) end
    o.first, o.last = M.parse_seeds(o.seeds)
    if o.shard then o.shard = { parse_slash("--shard", o.shard) } end
    if o.worker then
      o.worker = { parse_slash("--worker", o.worker) }
      worker(skinny, pos[1], o)
      os.exit(0)
    end
    local proc = proc_lib()
    check_jobs(o, proc)
    local tty = proc.isatty(2)
    local last_draw = -1e9
    local function progress(done, total, bad, ms)
      if not tty then return end
      if done < total and ms - last_draw < 200 then return end
      last_draw = ms
      local rate = ms > 0 and done / (ms / 1000) or 0
      local eta = rate > 0 and (total - done) / rate or 0
      io.stderr:write(("\r\27[K%d/%d runs, %d violations, %.1f runs/s, ETA %ds"):format(done, total, bad, rate,
                                                                                   math.floor(eta + 0.5)))
    end
    local sum = M.execute(skinny, pos[1], o, progress)
    if tty then io.stderr:write("\r\27[K") end
    io.stdout:write(o.json and enc(sum) or M.format(sum), "\n")
    io.stdout:flush()
    if o.shrink and not o.json then M.shrink_first(pos[1], o, sum) end
    os.exit(M.exit_code(sum))
  end)
  if not ok then
    if getmetatable(err) == Usage then
      io.stderr:write("skinny: ", err.msg, "\n")
      os.exit(2)
    end
    io.stderr:write("skinny: sweep: ", tostring(err), "\n")
    os.exit(2)
  end
end

-- skinny.sweep{ experiment =, seeds = {a, b}, jobs =, variant =, shard = {k, n},
--   proposer =, backoff =, lock =, builtin =, model =, lock_params = {..},
--   random_faults = } -> the summary table (as --json prints it)
function M.api(skinny, t)
  local o = { proposer = t.proposer, backoff = t.backoff, lock = t.lock, builtin = t.builtin,
              model = t.model, variant = t.variant, lock_param = t.lock_params or t.lock_param,
              random_faults = t.random_faults, shard = t.shard }
  local ok, res = pcall(function()
    local seeds = t.seeds or { 1, 1 }
    if type(seeds) == "table" then seeds = seeds[1] .. ".." .. (seeds[2] or seeds[1]) end
    o.first, o.last = M.parse_seeds(tostring(seeds))
    local proc = proc_lib()
    o.jobs = t.jobs
    check_jobs(o, proc)
    o.in_process = o.jobs == 1
    return M.execute(skinny, t.experiment, o)
  end)
  if not ok then error(getmetatable(res) == Usage and res.msg or res, 2) end
  return res
end

return M
