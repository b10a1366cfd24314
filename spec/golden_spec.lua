-- Golden traces (tag #sim): a fixed experiment and seed must give exactly the
-- trace kept in spec/testdata/golden/. A change to the protocol, the
-- simulator or the trace format shows up here as a diff; when the change is
-- meant, regenerate with
--   SK_REWRITE=1 busted --lua=lua5.4 spec/golden_spec.lua
-- and read the diff before committing it.
local skinny = require "skinny"

local CASES = {
  { file = "basic_seed7.jsonl", experiment = "basic", seed = 7 },
  { file = "partition_seed3.jsonl", experiment = "partition", seed = 3 },
  { file = "fast_slow_network_seed7.jsonl", experiment = "slow_network", seed = 7, proposer = "fast" },
}

local function trace_of(case)
  local exp = dofile("scripts/experiments/" .. case.experiment .. ".lua")
  local opts = {}
  for k, v in pairs(exp.lab or {}) do opts[k] = v end
  opts.seed = case.seed
  opts.proposer = case.proposer or opts.proposer
  local lab = skinny.lab(opts)
  exp.run(lab, {})
  local text = lab:trace_text()
  lab:close()
  return text
end

describe("golden traces #sim", function()
  for _, case in ipairs(CASES) do
    it(case.file, function()
      local path = "spec/testdata/golden/" .. case.file
      local got = trace_of(case)
      if os.getenv("SK_REWRITE") == "1" then
        local f = assert(io.open(path, "w"))
        f:write(got)
        f:close()
      end
      local f = io.open(path, "r")
      assert.is_not_nil(f, path .. " is missing: run with SK_REWRITE=1 to write it")
      local want = f:read("a")
      f:close()
      if got ~= want then
        -- name the first line that differs
        local n, gl, wl = 0
        local gi, wi = got:gmatch("[^\n]*\n?"), want:gmatch("[^\n]*\n?")
        repeat
          n = n + 1
          gl, wl = gi(), wi()
        until gl ~= wl or gl == nil
        error(("%s differs from the run at line %d:\n  want %s\n  got  %s")
              :format(path, n, tostring(wl), tostring(gl)))
      end
    end)
  end
end)
