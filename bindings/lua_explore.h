/* lua_explore.h - skinny.core.explore (lua_explore.c). */
#ifndef SKL_EXPLORE_H
#define SKL_EXPLORE_H

#include <lua.h>

/* core.explore{...} -> result table, or nil, message. */
int skl_explore(lua_State *L);

#endif
