-- skinny.report: the text `skinny run` prints: a timeline, the status table
-- per lock (the original `skinnyctl status` table), the checkers' verdict
-- and the liveness/cost figures.
local cjson = require "cjson"
local check = require "skinny.check"

local M = {}

local UNSAFE = "!! CLASSIC MODE: the original Skinny's flaws, reproduced on purpose. UNSAFE. !!"

local function holder_of(state)
  if state == nil then return "-" end
  if type(state) ~= "table" then return tostring(state) end
  if state.holder then
    local s = state.holder
    if state.token then s = s .. " (token " .. tostring(state.token) .. ")" end
    return s
  end
  return cjson.encode(state)
end
M.holder_of = holder_of

local QUIET = { run = true, send = true, recv = true, persist = true, promised = true, accepted = true,
                refused = true, drop = true, dup = true }

--- M.timeline(events, {verbose=}) -> lines
function M.timeline(events, o)
  local out = {}
  for _, e in ipairs(events) do
    if o.verbose or not QUIET[e.ev] then
      local who = e.node or e.from or ""
      local what
      if e.ev == "invoke" then
        what = ("%s asks: %s %s"):format(e.client, e.op, e.lock)
      elseif e.ev == "complete" then
        what = ("%s hears: %s"):format(e.client, e.status)
        if e.holder and e.status ~= "granted" and e.status ~= "released" then
          what = what .. " (held by " .. e.holder .. ")"
        end
        if e.token then what = what .. " token " .. e.token end
        if e.text then what = what .. " - " .. e.text end
      elseif e.ev == "attempt" then
        what = ("proposes ballot %s for %s (attempt %d%s)"):format(e.ballot, e.lock, e.attempt,
                                                                  e.text and (", " .. e.text) or "")
      elseif e.ev == "decided" then
        what = ("majority accepted %s at %s: %s -> %s"):format(e.lock, e.ballot, e.result,
                                                            holder_of(e.state))
      elseif e.ev == "conflict" then
        what = ("ballot %s failed in phase %d (%s)"):format(e.ballot, e.phase, e.why)
      elseif e.ev == "backoff" then
        what = ("backs off %d ms"):format(e.delay)
      elseif e.ev == "hook_error" then
        what = "SCRIPT ERROR " .. e.text
      elseif e.ev == "fault" then
        what = "FAULT " .. e.what
      elseif e.ev == "resend" then -- failover: the same request to the next instance
        what = ("%s's request again (attempt %d; %s)"):format(e.client, e.attempt or 0,
                                                             e.why or "")
      elseif e.ev == "send" or e.ev == "recv" or e.ev == "drop" or e.ev == "dup" then
        who = e.ev == "recv" and e.to or e.from
        what = ("%s %s %s %s %s"):format(e.ev, e.msg, e.ev == "recv" and "from" or "to",
                                         e.ev == "recv" and e.from or e.to, e.ballot)
        if e.why then what = what .. " (" .. e.why .. ")" end
      else
        what = e.ev .. " " .. (e.lock or "") .. " " .. (e.ballot or "")
      end
      out[#out + 1] = ("%7d ms  %-9s %s"):format(e.t, who, what)
    end
  end
  return out
end

--- M.status_table(status) -> lines: per lock, each instance's promised and
-- accepted ballot and holder.
function M.status_table(status)
  local locks, seen = {}, {}
  for _, s in ipairs(status) do
    for _, l in ipairs(s.locks) do
      if not seen[l.lock] then seen[l.lock] = true; locks[#locks + 1] = l.lock end
    end
  end
  table.sort(locks)
  local out = {}
  for _, lock in ipairs(locks) do
    out[#out + 1] = "lock " .. lock
    out[#out + 1] = ("  %-10s %-10s %-10s %s"):format("NAME", "PROMISED", "ACCEPTED", "HOLDER")
    for _, s in ipairs(status) do
      local row
      for _, l in ipairs(s.locks) do if l.lock == lock then row = l end end
      if not s.up then
        out[#out + 1] = ("  %-10s %s"):format(s.name, "(down)")
      elseif row then
        out[#out + 1] = ("  %-10s %-10s %-10s %s"):format(s.name, row.promised, row.accepted,
                                                         holder_of(row.state))
      else
        out[#out + 1] = ("  %-10s %-10s %-10s %s"):format(s.name, "0.0", "0.0", "-")
      end
    end
  end
  if #locks == 0 then out[1] = "(no lock has been touched)" end
  return out
end

local function fmt(x)
  if x == nil then return "-" end
  if math.type(x) == "float" then return ("%.2f"):format(x) end
  return tostring(x)
end

--- M.metrics(m) -> lines
function M.metrics(m)
  return {
    ("  operations %d, completed %d (granted %d, refused %d, released %d), indefinite %d")
      :format(m.ops, m.completed, m.granted, m.refused, m.released, m.indefinite),
    ("  rounds per decision %s, messages per decision %s, conflicts (nays) %d, preemptions %d, phase timeouts %d")
      :format(fmt(m.rounds_per_decision), fmt(m.messages_per_decision), m.nays, m.preemptions,
              m.phase_timeouts),
    ("  time to first grant %s ms, mean latency %s ms, p99 latency %s ms, messages %d (dropped %d), script errors %d")
      :format(fmt(m.first_grant_ms), fmt(m.mean_latency_ms), fmt(m.p99_latency_ms), m.messages,
              m.dropped, m.hook_errors),
  }
end

--- M.text(lab, {verbose=, title=, timeline=}) -> string, check report
function M.text(lab, o)
  local lines = {}
  local function add(s) lines[#lines + 1] = s end
  if lab.classic then add(UNSAFE) end
  if o.title then add("== " .. o.title) end
  add(("seed %d, %d instances (%s), proposer %s, backoff %s, lock %s%s"):format(
    lab.opts.seed, #lab.names, table.concat(lab.names, ", "), lab.opts.proposer,
    lab.opts.backoff, lab.opts.lock, lab.opts.builtin and " (built-in C defaults)" or ""))
  if o.timeline ~= false then
    add("")
    add("timeline")
    for _, l in ipairs(M.timeline(lab:trace(), o)) do add(l) end
  end
  add("")
  add("status at " .. lab:now() .. " ms")
  for _, l in ipairs(M.status_table(lab:status())) do add("  " .. l) end
  local rep = lab:check()
  add("")
  add("safety")
  add(check.format(rep))
  add("")
  add("liveness and cost")
  for _, l in ipairs(M.metrics(lab:metrics())) do add(l) end
  if lab.classic then add(UNSAFE) end
  return table.concat(lines, "\n"), rep
end

return M
