-- The advisory lock with a describe of two lines and 620 bytes: a
-- description is one line (control characters become spaces) of at most 511
-- bytes, cut at the end of a UTF-8 character.
local M = {}
local advisory = require "locks.advisory"
M.model = advisory.model
M.apply = advisory.apply

function M.describe(state, ctx)
  return "line one\nline two:\t " .. ("\u{e9}"):rep(300)
end

return M
