/* lua_real.h - the C half of skinny.real (scripts/skinny/real.lua): the lab
 * API against real skinnyd processes. Lives in build/skinny/core.so beside
 * skinny.core; real.lua opens it with
 *   package.loadlib(<path of core.so>, "luaopen_skinny_real")
 *
 * It gives real.lua what plain Lua cannot: a monotonic clock, non-blocking
 * client connections speaking the wire codec (poll(), no libuv), blocking
 * STATUS and CONTROL exchanges with a deadline, the simulator's trace line
 * formatter, a temporary run directory and an exit hook that stops a lab's
 * daemons if the process exits before lab:close(). */
#ifndef SKL_REAL_H
#define SKL_REAL_H

#include <lua.h>

__attribute__((visibility("default"))) int luaopen_skinny_real(lua_State *L);

#endif
