-- Thrifty Paxos: ask only as many acceptors as a decision needs.
--
-- A proposer needs a majority of answers, yet plain Paxos sends every
-- PREPARE and ACCEPT to all instances: with five, two of the five answers
-- are never waited for, but each of those instances still wakes up, writes
-- and syncs its disk, and answers. On a small machine where the instances
-- share CPUs and one disk, that work slows down the three that matter.
--
-- How: each phase's message goes to this instance's own acceptor and to the
-- majority - 1 peers that answered fastest the last time (the core keeps
-- that order; at first it is the next ids round the ring). If the phase has
-- no verdict after FILL_MS, or a nay arrives (then those few cannot all say
-- yes), the core sends the same message to the rest. Everything else is
-- fast.lua: phase 1 is skipped while this instance holds a majority's
-- promise of its next ballot.
--
-- Why it is safe: which acceptors hear a PREPARE or an ACCEPT never
-- matters to Paxos's safety, only which answers the proposer counts; it
-- still waits for a majority in each phase, and any two majorities share an
-- acceptor. Sending the same message to more acceptors later is a
-- duplicate that acceptors handle like any late message. The cost is in
-- liveness: when one of the chosen peers is slow or down, that phase waits
-- FILL_MS before the others are asked, and then the order learns to leave
-- that peer out.
--
-- The other instances still learn every value: the next proposal that
-- reaches them (phase 1 of any proposer) carries the highest accepted one
-- forward, as in plain Paxos.
--
-- See it: the thrifty variant of experiments/one_round_trip.lua sends
-- 3 accepts per decision instead of 5; experiments/instance_failure.lua
-- with --proposer thrifty shows the FILL_MS pause when a chosen peer dies.
local fast = require "proposers.fast"
local M = {}

-- Milliseconds to wait for the chosen majority before asking the rest.
-- Well above a round trip on the network in use (simulated: a few ms;
-- loopback: well under one), so it only fires when a peer is slow or gone.
local FILL_MS = 20

M.next_ballot = fast.next_ballot
M.enough = fast.enough
M.pick_value = fast.pick_value
M.skip_phase1 = fast.skip_phase1

function M.thrifty(ctx)
  return FILL_MS
end

return M
