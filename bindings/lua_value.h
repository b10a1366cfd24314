/* lua_value.h - Lua tables <-> the sk value encoding of lock state. */
#ifndef SKL_VALUE_H
#define SKL_VALUE_H

#include <lua.h>

#include "sk.h"

/* Lock state as Lua sees it: a table of plain data, or nil (free). Both
 * directions refuse what sk_value_check (sk.h) refuses, with a reason in
 * err: keys that are not strings or integers, cycles, functions and
 * userdata, tables nested more than 16 deep, more than cap bytes encoded.
 * Both read tables raw (no metamethods run) and may raise a Lua memory
 * error: call them inside a protected call.
 *
 * Encode the value at stack index idx into out (at most cap bytes).
 * Returns the length (0 for nil), or -1 with a message in err. */
int skl_value_encode(lua_State *L, int idx, uint8_t *out, size_t cap, char *err, size_t errlen);
/* Push the decoded value (nil for empty bytes). Returns 0, or -1 with
 * nothing pushed and the reason in err when the bytes are not a lock state
 * (sk_value_check). */
int skl_value_push(lua_State *L, const uint8_t *v, size_t len, char *err, size_t errlen);
/* Append the value as JSON to a growing buffer. */
int skl_value_json(const uint8_t *v, size_t len, struct sk_buf *out);

#endif
