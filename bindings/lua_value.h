/* lua_value.h - Lua tables <-> the sk value encoding of lock state. */
#ifndef SKL_VALUE_H
#define SKL_VALUE_H

#include <lua.h>

#include "sk.h"

/* Encode the value at stack index idx into out (at most cap bytes).
 * Returns the length, or -1 with a message in err (no Lua error raised).
 * nil encodes as zero bytes (a free lock). */
int skl_value_encode(lua_State *L, int idx, uint8_t *out, size_t cap, char *err, size_t errlen);
/* Push the decoded value (nil for empty bytes). Returns 0, or -1 with
 * nothing pushed when the bytes are not a value. */
int skl_value_push(lua_State *L, const uint8_t *v, size_t len);
/* Append the value as JSON to a growing buffer. */
int skl_value_json(const uint8_t *v, size_t len, struct sk_buf *out);

#endif
