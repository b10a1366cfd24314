/* lua_value.c - Lua tables <-> sk value bytes (sk.h), and sk value -> JSON.
 *
 * Tables are written with their keys sorted (integers before strings), so
 * equal tables give equal bytes and traces stay byte-identical. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "lua_value.h"

#define MAX_DEPTH 16

struct wr {
    uint8_t *p;
    size_t cap, len;
    char *err;
    size_t errlen;
    int failed;
    /* the tables being written, outermost first: a table met again on its
     * own path is a cycle */
    const void *path[MAX_DEPTH + 2];
    int depth;
};

static void wr_fail(struct wr *w, const char *msg)
{
    if (!w->failed) {
        snprintf(w->err, w->errlen, "%s", msg);
        w->failed = 1;
    }
}

static void wr_too_large(struct wr *w)
{
    char msg[96];
    snprintf(msg, sizeof msg, "lock state too large (over %zu bytes encoded)", w->cap);
    wr_fail(w, msg);
}

static void wr_bytes(struct wr *w, const void *p, size_t n)
{
    if (w->failed) {
        return;
    }
    if (w->cap - w->len < n) {
        wr_too_large(w);
        return;
    }
    memcpy(w->p + w->len, p, n);
    w->len += n;
}

static void wr_varint(struct wr *w, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        uint8_t c = v & 0x7f;
        v >>= 7;
        tmp[n++] = (uint8_t)(c | (v ? 0x80 : 0));
    } while (v);
    wr_bytes(w, tmp, n);
}

static void wr_item(lua_State *L, int idx, struct wr *w, int depth);

/* A key of the table being written, for sorting: integers first, then
 * strings bytewise (the order sk_value_check demands). */
struct keyref {
    int is_int;
    lua_Integer i;
    const char *s;
    size_t len;
    int pos; /* index of the key in the scratch table */
};

static int key_cmp(const void *a, const void *b)
{
    const struct keyref *x = a, *y = b;
    if (x->is_int != y->is_int) {
        return x->is_int ? -1 : 1;
    }
    if (x->is_int) {
        return x->i < y->i ? -1 : x->i > y->i;
    }
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, n);
    if (c != 0) {
        return c;
    }
    return x->len < y->len ? -1 : x->len > y->len;
}

/* Describe a value for a message without running any metamethod. */
static void describe(lua_State *L, int idx, char *out, size_t len)
{
    switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            snprintf(out, len, "the integer %lld", (long long)lua_tointeger(L, idx));
        } else {
            double d = (double)lua_tonumber(L, idx);
            snprintf(out, len, d != d ? "NaN" : "the float %.17g", d);
        }
        break;
    case LUA_TBOOLEAN: snprintf(out, len, "%s", lua_toboolean(L, idx) ? "true" : "false"); break;
    default: snprintf(out, len, "a %s", lua_typename(L, lua_type(L, idx)));
    }
}

static void wr_table(lua_State *L, int idx, struct wr *w, int depth)
{
    idx = lua_absindex(L, idx);
    if (lua_getmetatable(L, idx)) {
        lua_pop(L, 1);
        wr_fail(w, "lock state must be plain data: a table with a metatable cannot be stored "
                   "(the metatable would not come back)");
        return;
    }
    const void *self = lua_topointer(L, idx);
    for (int i = 0; i < w->depth; i++) {
        if (w->path[i] == self) {
            wr_fail(w, "lock state contains a cycle (a table inside itself): only plain "
                       "data (a tree of tables) can be stored");
            return;
        }
    }
    /* collect keys into a scratch array table: [..] -> [.., keys]. Every
     * entry takes at least 3 bytes, so a table with more entries than a
     * third of the room left cannot fit: stop early instead of walking it */
    lua_createtable(L, 8, 0);
    int keys = lua_gettop(L);
    int count = 0;
    size_t room = (w->cap - w->len) / 3;
    lua_pushnil(L);
    while (!w->failed && lua_next(L, idx) != 0) {
        lua_pop(L, 1);
        int t = lua_type(L, -1);
        if (!(t == LUA_TSTRING || (t == LUA_TNUMBER && lua_isinteger(L, -1)))) {
            char what[64], msg[160];
            describe(L, -1, what, sizeof what);
            snprintf(msg, sizeof msg,
                     "lock state keys must be strings or integers, not %s", what);
            wr_fail(w, msg);
            lua_pop(L, 1);
            break;
        }
        if ((size_t)count >= room) {
            wr_too_large(w);
            lua_pop(L, 1);
            break;
        }
        lua_pushvalue(L, -1);
        lua_rawseti(L, keys, ++count);
    }
    if (w->failed) {
        lua_pop(L, 1);
        return;
    }
    struct keyref *refs = count > 0 ? malloc((size_t)count * sizeof *refs) : NULL;
    if (count > 0 && refs == NULL) {
        wr_fail(w, "out of memory");
        lua_pop(L, 1);
        return;
    }
    for (int i = 0; i < count; i++) {
        lua_rawgeti(L, keys, i + 1);
        refs[i].pos = i + 1;
        refs[i].is_int = lua_type(L, -1) == LUA_TNUMBER;
        if (refs[i].is_int) {
            refs[i].i = lua_tointeger(L, -1);
        } else {
            refs[i].s = lua_tolstring(L, -1, &refs[i].len); /* kept alive by `keys` */
        }
        lua_pop(L, 1);
    }
    if (count > 1) {
        qsort(refs, (size_t)count, sizeof *refs, key_cmp);
    }
    w->path[w->depth++] = self;
    wr_bytes(w, "m", 1);
    wr_varint(w, (uint64_t)count);
    for (int i = 0; i < count && !w->failed; i++) {
        lua_rawgeti(L, keys, refs[i].pos); /* [.., keys, k] */
        wr_item(L, -1, w, depth + 1);
        lua_rawget(L, idx); /* [.., keys, v]: raw, no __index */
        wr_item(L, -1, w, depth + 1);
        lua_pop(L, 1);
    }
    w->depth--;
    free(refs);
    lua_pop(L, 1);
}

static void wr_item(lua_State *L, int idx, struct wr *w, int depth)
{
    if (depth > MAX_DEPTH) {
        wr_fail(w, "lock state nested too deeply (tables at most 16 deep)");
        return;
    }
    switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN: wr_bytes(w, lua_toboolean(L, idx) ? "t" : "f", 1); break;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            int64_t i = (int64_t)lua_tointeger(L, idx);
            wr_bytes(w, "i", 1);
            wr_varint(w, ((uint64_t)i << 1) ^ (uint64_t)(i >> 63));
        } else {
            double d = (double)lua_tonumber(L, idx);
            uint64_t bits;
            memcpy(&bits, &d, sizeof bits);
            uint8_t b[9] = {'d'};
            for (int i = 0; i < 8; i++) {
                b[1 + i] = (uint8_t)(bits >> (56 - 8 * i));
            }
            wr_bytes(w, b, 9);
        }
        break;
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        wr_bytes(w, "s", 1);
        wr_varint(w, len);
        wr_bytes(w, s, len);
        break;
    }
    case LUA_TTABLE: wr_table(L, idx, w, depth); break;
    default: {
        char msg[128];
        snprintf(msg, sizeof msg, "lock state cannot hold a %s (only booleans, numbers, "
                 "strings and tables)", luaL_typename(L, idx));
        wr_fail(w, msg);
    }
    }
}

int skl_value_encode(lua_State *L, int idx, uint8_t *out, size_t cap, char *err, size_t errlen)
{
    if (lua_isnil(L, idx)) {
        return 0;
    }
    if (!lua_istable(L, idx)) {
        snprintf(err, errlen, "lock state must be a table or nil, not a %s", luaL_typename(L, idx));
        return -1;
    }
    luaL_checkstack(L, 2 * MAX_DEPTH + 8, "lock state");
    struct wr w = {out, cap, 0, err, errlen, 0, {NULL}, 0};
    wr_item(L, idx, &w, 0);
    return w.failed ? -1 : (int)w.len;
}

/* ---------------------------------------------------------------- reader */

struct rd {
    const uint8_t *p, *end;
};

static uint64_t rd_varint(struct rd *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        uint8_t c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            break;
        }
    }
    return v;
}

/* Push one item of a value sk_value_check accepted (so no bounds or
 * grammar checks here); raw sets, no metamethods. */
static void rd_push(lua_State *L, struct rd *r)
{
    uint64_t u;
    switch (*r->p++) {
    case 't': lua_pushboolean(L, 1); return;
    case 'f': lua_pushboolean(L, 0); return;
    case 'i':
        u = rd_varint(r);
        lua_pushinteger(L, (lua_Integer)((int64_t)(u >> 1) ^ -(int64_t)(u & 1)));
        return;
    case 'd': {
        uint64_t bits = 0;
        for (int i = 0; i < 8; i++) bits = bits << 8 | r->p[i];
        double d;
        memcpy(&d, &bits, sizeof d);
        r->p += 8;
        lua_pushnumber(L, d);
        return;
    }
    case 's':
        u = rd_varint(r);
        lua_pushlstring(L, (const char *)r->p, (size_t)u);
        r->p += u;
        return;
    case 'm':
        u = rd_varint(r);
        lua_createtable(L, 0, u < 64 ? (int)u : 64);
        for (uint64_t i = 0; i < u; i++) {
            rd_push(L, r);
            rd_push(L, r);
            lua_rawset(L, -3);
        }
        return;
    default: lua_pushnil(L); return; /* 'n': only where sk_value_check allows it */
    }
}

int skl_value_push(lua_State *L, const uint8_t *v, size_t len, char *err, size_t errlen)
{
    if (sk_value_check(v, len, err, errlen) != 0) {
        return -1;
    }
    if (len == 0) {
        lua_pushnil(L);
        return 0;
    }
    luaL_checkstack(L, 2 * MAX_DEPTH + 8, "lock state");
    struct rd r = {v, v + len};
    rd_push(L, &r);
    return 0;
}

/* ------------------------------------------------------------------ JSON */

/* Into a growing buffer (libc's allocator, as the trace's). */
static int js_put(void *ud, const void *p, size_t n)
{
    struct sk_buf *b = ud;
    if (b->cap - b->len < n + 1) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < n + 1) cap *= 2;
        uint8_t *d = realloc(b->data, cap);
        if (d == NULL) return SK_ENOMEM;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

/* The converter is the core's (sk_value_json); a value that is not a lock
 * state is written as a string saying why. */
int skl_value_json(const uint8_t *v, size_t len, struct sk_buf *out)
{
    char why[160];
    if (sk_value_check(v, len, why, sizeof why) != 0) {
        char msg[200];
        snprintf(msg, sizeof msg, "<undecodable: %s>", why);
        return sk_json_string((const uint8_t *)msg, strlen(msg), js_put, out);
    }
    return sk_value_json(v, len, js_put, out);
}
