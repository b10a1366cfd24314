-- KNOWN BAD (spec/bad_scripts_spec.lua): a lock script that does not parse.
-- Loading it must fail with a message naming this file and the line below.
local M = {}

function M.apply(state, req, ctx)
  if req.op == "acquire" then
    return { holder = req.holder }, { status = "granted" holder = req.holder } -- BAD: missing comma
  end
  return state, { status = "refused" }
end

return M
