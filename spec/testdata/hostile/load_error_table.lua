-- HOSTILE: the chunk raises a table (no message, only where).
-- kind: backoff
-- when: load
-- expect: (error object is a table value)
local M = {}
error({ reason = "not today" }) -- BAD
return M
