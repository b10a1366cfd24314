-- The process binding (bindings/lua_proc.c: spawn, wait, poll, kill, write_private,
-- free_ports, ...) for specs. It lives in skinny.core's shared object under its own
-- entry point, found through package.cpath (`--cpath` of the test command).
--   local proc = require "helpers.proc"
local so = assert(package.searchpath("skinny.core", package.cpath))
return assert(package.loadlib(so, "luaopen_skinny_proc"))()
