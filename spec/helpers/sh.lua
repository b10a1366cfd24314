-- Run a shell command for a spec: its output (standard output and error
-- together) and its exit status.
--   local sh = require "helpers.sh"
--   local out, code = sh("bin/skinny run ...")
return function(cmd)
  local p = io.popen(cmd .. " 2>&1; echo \"exit=$?\"")
  local out = p:read("a")
  p:close()
  return out, tonumber(out:match("exit=(%d+)%s*$"))
end
