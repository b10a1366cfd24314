-- KNOWN BAD (spec/bad_scripts_spec.lua): apply must return new_state, reply
-- with reply a table; this one returns a string as the reply.
local M = {}

function M.apply(state, req, ctx) -- BAD: the reply is a string
  return { holder = req.holder }, "granted"
end

return M
