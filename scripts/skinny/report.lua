-- skinny.report: the text `skinny run` prints: a timeline, the status table
-- per lock (the original `skinnyctl status` table), the checkers' verdict
-- and the liveness/cost figures.
local cjson = require "cjson"
local check = require "skinny.check"

local M = {}

M.CLASSIC = "!! CLASSIC MODE: the original Skinny's flaws, reproduced on purpose. UNSAFE. !!"
M.NO_IDENTITY = "!! IDENTITY OFF (identity = false): every copy of a request is applied as new. UNSAFE on purpose. !!"
M.AMNESIA = "!! UNSAFE: an instance lost its state and voted at once, without rejoining. !!"

-- The banners of a lab: lab.unsafe, or the classic one for labs that only say classic.
local function banners(lab)
  if lab.unsafe then return lab.unsafe end
  return lab.classic and { M.CLASSIC } or {}
end
M.banners = banners

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
  -- attempts a resend followed: their end is not the operation's answer
  local superseded, last_attempt = {}, {}
  for _, e in ipairs(events) do
    if e.ev == "invoke" and e.req ~= nil then
      local op = e.resend_of or e.req
      if e.resend_of and last_attempt[op] then superseded[last_attempt[op]] = true end
      last_attempt[op] = e.req
    end
  end
  -- ops that heard queued: their resends ask whether their turn came
  local root, waiting = {}, {}
  for _, e in ipairs(events) do
    if o.verbose or not QUIET[e.ev] then
      local who = e.node or e.from or ""
      local what
      if e.ev == "invoke" and e.req ~= nil then root[e.req] = e.resend_of or e.req end
      if e.ev == "complete" and e.status == "queued" and root[e.req] then waiting[root[e.req]] = true end
      if e.ev == "invoke" and e.resend_of and waiting[e.resend_of] then
        what = ("%s asks again whether its turn came: %s %s, the same request (ask %d of op %s)")
          :format(e.client, e.op, e.lock, e.attempt or 0, tostring(e.resend_of))
      elseif e.ev == "invoke" and e.resend_of then
        what = ("%s fails over: %s %s again, the same request (attempt %d of op %s)")
          :format(e.client, e.op, e.lock, e.attempt or 0, tostring(e.resend_of))
      elseif e.ev == "invoke" then
        what = ("%s asks: %s %s"):format(e.client, e.op, e.lock)
      elseif e.ev == "complete" or e.ev == "late" then
        if e.ev == "late" then
          what = ("late answer to %s, ignored (it stopped waiting): %s"):format(e.client, e.status)
        elseif superseded[e.req] and e.status == "timeout" then
          what = ("%s stops waiting (no answer in time)"):format(e.client)
        elseif e.status == "stale" then
          what = ("%s hears: STALE (this copy changed nothing; a later request of %s was applied)")
            :format(e.client, e.holder or e.client)
        else
          what = ("%s hears: %s"):format(e.client, e.status)
        end
        if e.holder and (e.status == "refused" or e.status == "not_holder") then
          what = what .. " (held by " .. e.holder .. ")"
        end
        if e.token then what = what .. (e.status == "queued" and " at place " or " token ") .. e.token end
        if e.waited then what = what .. " (after waiting in the queue)" end
        if e.text and not (superseded[e.req] and e.status == "timeout") then what = what .. " - " .. e.text end
      elseif e.ev == "client_drop" and e.lost == "answer" then
        what = ("answer to %s lost (%s)"):format(e.client, e.why)
      elseif e.ev == "client_drop" then
        what = ("request from %s lost on the way (%s)"):format(e.client, e.why)
      elseif e.ev == "attempt" then
        what = ("proposes ballot %s for %s (attempt %d%s)"):format(e.ballot, e.lock, e.attempt,
                                                                  e.text and (", " .. e.text) or "")
      elseif e.ev == "decided" then
        what = ("majority accepted %s at %s: %s -> %s"):format(e.lock, e.ballot, e.result,
                                                            e.describe or holder_of(e.state))
      elseif e.ev == "conflict" then
        what = ("ballot %s failed in phase %d (%s)"):format(e.ballot, e.phase, e.why)
      elseif e.ev == "backoff" then
        what = ("backs off %d ms"):format(e.delay)
      elseif e.ev == "hook_error" then
        what = "SCRIPT ERROR " .. e.text
      elseif e.ev == "fault" then
        what = "FAULT " .. e.what
      elseif e.ev == "rejoin" then
        what = "REJOIN " .. (e.text or "")
      elseif e.ev == "fetch" then
        what = ("caught up %s from the members (promised %s)"):format(e.lock, e.ballot)
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
-- accepted ballot and what its state means (the lock script's describe, or
-- the holder read from the state when a row has no description).
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
    out[#out + 1] = ("  %-10s %-10s %-10s %s"):format("NAME", "PROMISED", "ACCEPTED", "DESCRIPTION")
    for _, s in ipairs(status) do
      local row
      for _, l in ipairs(s.locks) do if l.lock == lock then row = l end end
      if not s.up then
        out[#out + 1] = ("  %-10s %s"):format(s.name, "(down)")
      elseif row then
        out[#out + 1] = ("  %-10s %-10s %-10s %s"):format(s.name, row.promised, row.accepted,
                                                         row.describe or holder_of(row.state))
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
  local extra = ""
  if (m.stale or 0) > 0 then extra = extra .. (" (stale %d)"):format(m.stale) end
  if (m.resends or 0) > 0 then extra = extra .. (", resends (failover) %d"):format(m.resends) end
  return {
    ("  operations %d, completed %d (granted %d, refused %d, released %d), indefinite %d%s")
      :format(m.ops, m.completed, m.granted, m.refused, m.released, m.indefinite, extra),
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
  for _, b in ipairs(banners(lab)) do add(b) end
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
  for _, b in ipairs(banners(lab)) do add(b) end
  return table.concat(lines, "\n"), rep
end

return M
