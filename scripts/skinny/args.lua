-- skinny.args: the command-line options of `bin/skinny` and `bin/skinny torture`.
--
-- args.parse(argv, spec, die, usage, help) -> options, positional
--   spec: { [name] = "flag" | "int" | "str" | function(flag, text) -> value }
--   An option --some-name is stored as options.some_name. die(message) is
--   called (and must not return) for an unknown option, a missing value or a
--   value that is not a whole number; with help set, --help and -h print
--   usage and exit 0.
local M = {}

-- How people run this program, for the commands it prints (reproduce, replay, check):
-- bin/skinny in a checkout; the installed launcher sets SKINNY_PROG=skinny.
M.prog = os.getenv("SKINNY_PROG") or "bin/skinny"

function M.parse(argv, spec, die, usage, help)
  local o, pos = {}, {}
  local i = 1
  while i <= #argv do
    local a = argv[i]
    if help and (a == "--help" or a == "-h") then print(usage); os.exit(0) end
    local name = a:match("^%-%-([%w%-]+)$")
    if name then
      local kind = spec[name]
      if kind == nil then die(("unknown option --%s\n\n%s"):format(name, usage)) end
      local key = name:gsub("%-", "_")
      if kind == "flag" then
        o[key] = true
      else
        i = i + 1
        local v = argv[i]
        if v == nil then die(("--%s needs a value"):format(name)) end
        if kind == "int" then
          v = math.tointeger(tonumber(v))
          if v == nil then die(("--%s needs a whole number, not '%s'"):format(name, argv[i])) end
        elseif type(kind) == "function" then
          v = kind("--" .. name, v)
        end
        o[key] = v
      end
    else
      pos[#pos + 1] = a
    end
    i = i + 1
  end
  return o, pos
end

return M
