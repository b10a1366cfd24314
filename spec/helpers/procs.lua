-- The processes of a real lab, for e2e specs: which pid runs which
-- instance (the run directory's pids file, as skinny-lab writes it), and
-- whether a pid is still running.
local M = {}

--- procs.pids(lab) -> { [instance name] = pid }, { pid, ... } (file order)
function M.pids(lab)
  local by_name, list = {}, {}
  local f = assert(io.open(lab.dir .. "/pids", "r"))
  for line in f:lines() do
    local name, pid = line:match("^(%S+)%s+(%d+)")
    if pid then
      by_name[name] = tonumber(pid)
      list[#list + 1] = tonumber(pid)
    end
  end
  f:close()
  return by_name, list
end

--- procs.running(pid) -> true while the process exists and is not a zombie
function M.running(pid)
  local f = io.open("/proc/" .. pid .. "/stat", "r")
  if not f then return false end
  local s = f:read("a")
  f:close()
  local state = s:match("^%d+ %b() (%a)")
  return state ~= nil and state ~= "Z"
end

return M
