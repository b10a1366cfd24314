-- skinny.render_cli: `skinny render TRACE.jsonl... [-o run.html] [--svg out.svg] [--title T]`.
-- Reads a JSON-lines trace (from `skinny run --trace`, or the real daemons' traces, one
-- file per daemon, merged in time order), writes the self-contained HTML page and/or the
-- diagram alone as SVG.
-- Exit status: 0 written, 2 bad usage or an unreadable trace (the message names the file
-- and line). The run's verdict does not change the exit status: `skinny check` does that.
local cjson = require "cjson"

local M = {}

M.USAGE = [[
usage: skinny render TRACE.jsonl... [-o run.html] [--svg diagram.svg] [--title TEXT]
                     [--command TEXT] [--model NAME|PATH]

  Several traces (the real daemons write one each) are merged in time order.

  -o, --output FILE  the HTML page (default: the trace's name with .html, unless only
                     --svg is given)
  --svg FILE         also (or only) the message diagram alone, as SVG, for slides
  --title TEXT       the page's title (default: the experiment's name)
  --command TEXT     the command shown as the way to reproduce the run (default: built
                     from the trace's run event)
  --model NAME|PATH  check against this lock script's model (default: the model of the
                     lock script the trace's run event names)]]

local function fail(msg, code)
  io.stderr:write("skinny render: ", msg, "\n")
  os.exit(code or 2)
end

local function tidy_fallback(v)
  if v == cjson.null then return nil end
  if math.type(v) == "float" and v == math.floor(v) and math.abs(v) < 2 ^ 53 then
    return math.tointeger(v)
  end
  if type(v) == "table" then
    local out = {}
    for k, x in pairs(v) do out[k] = tidy_fallback(x) end
    return out
  end
  return v
end

--- M.read_trace(path, skinny) -> events | nil, message
function M.read_trace(path, skinny)
  local tidy = skinny and skinny.tidy or tidy_fallback
  local f, err = io.open(path, "r")
  if not f then return nil, err end
  local events, n = {}, 0
  for line in f:lines() do
    n = n + 1
    if line:match("%S") then
      local ok, e = pcall(cjson.decode, line)
      if not ok or type(e) ~= "table" then
        f:close()
        return nil, ("%s:%d: not a JSON trace event (one JSON object a line expected)"):format(path, n)
      end
      events[#events + 1] = tidy(e)
    end
  end
  f:close()
  return events
end

local function write_file(path, text)
  local f, err = io.open(path, "w")
  if not f then fail(("cannot write %s: %s"):format(path, err)) end
  f:write(text)
  f:close()
end

--- M.render_cmd(argv, skinny): argv without the leading "render".
function M.render_cmd(argv, skinny)
  local o, pos = {}, {}
  local i = 1
  while i <= #argv do
    local a = argv[i]
    local name = a:match("^%-%-([%w%-]+)$") or (a == "-o" and "output") or (a == "-h" and "help")
    if name == "help" then
      print(M.USAGE)
      os.exit(0)
    elseif name then
      if name ~= "output" and name ~= "svg" and name ~= "title" and name ~= "command" and name ~= "model" then
        fail(("unknown option %s\n\n%s"):format(a, M.USAGE))
      end
      i = i + 1
      if argv[i] == nil then fail(("%s needs a value"):format(a)) end
      o[name] = argv[i]
    else
      pos[#pos + 1] = a
    end
    i = i + 1
  end
  if #pos == 0 then fail("render takes a trace file\n\n" .. M.USAGE) end
  local path = pos[1]
  local events = {}
  for _, p in ipairs(pos) do
    local more, err = M.read_trace(p, skinny)
    if not more then fail(err) end
    for _, e in ipairs(more) do events[#events + 1] = e end
  end
  if #events == 0 then fail(("%s: the trace is empty"):format(table.concat(pos, ", "))) end
  local render = require "skinny.render"
  local opts = { title = o.title, command = o.command }
  if o.model then
    local ok, m = pcall(require("skinny.models").resolve, o.model)
    if not ok then fail(tostring(m)) end
    opts.model = m
  end
  local out = o.output
  if out == nil and o.svg == nil then
    out = (path:gsub("%.jsonl?$", "")) .. ".html"
    if out == path then out = path .. ".html" end
  end
  local written = {}
  local model
  if out then
    local ok, html = pcall(render.html, events, opts)
    if not ok then fail(("%s: cannot render: %s"):format(path, html)) end
    write_file(out, html)
    written[#written + 1] = out
  end
  if o.svg then
    local ok, svg = pcall(render.svg, events, opts)
    if not ok then fail(("%s: cannot render: %s"):format(path, svg)) end
    write_file(o.svg, svg)
    written[#written + 1] = o.svg
  end
  model = render.last_model
  local verdict = model and model.verdict or "?"
  print(("%s: %d events -> %s (verdict: %s)"):format(table.concat(pos, " + "), #events, table.concat(written, ", "),
        ({ pass = "PASS", fail = "FAIL", unknown = "unknown", error = "checker error" })[verdict] or verdict))
  return 0
end

return M
