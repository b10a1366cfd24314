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
};

static void wr_fail(struct wr *w, const char *msg)
{
    if (!w->failed) {
        snprintf(w->err, w->errlen, "%s", msg);
        w->failed = 1;
    }
}

static void wr_bytes(struct wr *w, const void *p, size_t n)
{
    if (w->failed) {
        return;
    }
    if (w->cap - w->len < n) {
        wr_fail(w, "lock state too large (over 4096 bytes encoded)");
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

/* Sort comparator over stack positions holding keys: ints first, then
 * strings bytewise. */
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

static void wr_table(lua_State *L, int idx, struct wr *w, int depth)
{
    idx = lua_absindex(L, idx);
    /* collect keys into a scratch array table: [..] -> [.., keys] */
    lua_newtable(L);
    int keys = lua_gettop(L);
    int count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        lua_pop(L, 1);
        int t = lua_type(L, -1);
        if (!(t == LUA_TSTRING || (t == LUA_TNUMBER && lua_isinteger(L, -1)))) {
            wr_fail(w, "lock state keys must be strings or integers");
        }
        lua_pushvalue(L, -1);
        lua_rawseti(L, keys, ++count);
    }
    if (w->failed) {
        lua_pop(L, 1);
        return;
    }
    struct keyref *refs = count ? malloc((size_t)count * sizeof *refs) : NULL;
    if (count && refs == NULL) {
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
    qsort(refs, (size_t)count, sizeof *refs, key_cmp);
    wr_bytes(w, "m", 1);
    wr_varint(w, (uint64_t)count);
    for (int i = 0; i < count && !w->failed; i++) {
        lua_rawgeti(L, keys, refs[i].pos); /* [.., keys, k] */
        wr_item(L, -1, w, depth + 1);
        lua_gettable(L, idx); /* [.., keys, v] */
        wr_item(L, -1, w, depth + 1);
        lua_pop(L, 1);
    }
    free(refs);
    lua_pop(L, 1);
}

static void wr_item(lua_State *L, int idx, struct wr *w, int depth)
{
    if (depth > MAX_DEPTH) {
        wr_fail(w, "lock state nested too deeply (max 16)");
        return;
    }
    switch (lua_type(L, idx)) {
    case LUA_TNIL: wr_bytes(w, "n", 1); break;
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
        char msg[96];
        snprintf(msg, sizeof msg, "lock state cannot hold a %s (only nil, booleans, numbers, "
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
    luaL_checkstack(L, 40, "lock state");
    struct wr w = {out, cap, 0, err, errlen, 0};
    wr_item(L, idx, &w, 0);
    return w.failed ? -1 : (int)w.len;
}

/* ---------------------------------------------------------------- reader */

struct rd {
    const uint8_t *p, *end;
};

static int rd_varint(struct rd *r, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) {
            return -1;
        }
        uint8_t c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

static int rd_push(lua_State *L, struct rd *r, int depth)
{
    if (depth > MAX_DEPTH || r->p >= r->end || !lua_checkstack(L, 4)) {
        return -1;
    }
    uint64_t u;
    switch (*r->p++) {
    case 'n': lua_pushnil(L); return 0;
    case 't': lua_pushboolean(L, 1); return 0;
    case 'f': lua_pushboolean(L, 0); return 0;
    case 'i':
        if (rd_varint(r, &u) != 0) return -1;
        lua_pushinteger(L, (lua_Integer)((int64_t)(u >> 1) ^ -(int64_t)(u & 1)));
        return 0;
    case 'd': {
        if (r->end - r->p < 8) return -1;
        uint64_t bits = 0;
        for (int i = 0; i < 8; i++) bits = bits << 8 | r->p[i];
        double d;
        memcpy(&d, &bits, sizeof d);
        r->p += 8;
        lua_pushnumber(L, d);
        return 0;
    }
    case 's':
        if (rd_varint(r, &u) != 0 || u > (uint64_t)(r->end - r->p)) return -1;
        lua_pushlstring(L, (const char *)r->p, (size_t)u);
        r->p += u;
        return 0;
    case 'm':
        if (rd_varint(r, &u) != 0 || u > (uint64_t)(r->end - r->p)) return -1;
        lua_createtable(L, 0, (int)u);
        for (uint64_t i = 0; i < u; i++) {
            if (rd_push(L, r, depth + 1) != 0) return -1;
            if (rd_push(L, r, depth + 1) != 0) return -1;
            if (lua_isnil(L, -2)) return -1;
            lua_rawset(L, -3);
        }
        return 0;
    default: return -1;
    }
}

int skl_value_push(lua_State *L, const uint8_t *v, size_t len)
{
    if (len == 0) {
        lua_pushnil(L);
        return 0;
    }
    int top = lua_gettop(L);
    struct rd r = {v, v + len};
    if (rd_push(L, &r, 0) != 0 || r.p != r.end) {
        lua_settop(L, top);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ JSON */

static int js_put(struct sk_buf *b, const void *p, size_t n)
{
    if (b->cap - b->len < n + 1) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < n + 1) cap *= 2;
        uint8_t *d = realloc(b->data, cap);
        if (d == NULL) return -1;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

static int js_str(struct sk_buf *b, const uint8_t *s, size_t n)
{
    js_put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            js_put(b, esc, 2);
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            js_put(b, esc, 6);
        } else {
            js_put(b, &c, 1);
        }
    }
    return js_put(b, "\"", 1);
}

static int js_item(struct rd *r, struct sk_buf *b, int depth, int as_key)
{
    if (depth > MAX_DEPTH || r->p >= r->end) return -1;
    uint64_t u;
    char num[64];
    switch (*r->p++) {
    case 'n': return js_put(b, as_key ? "\"null\"" : "null", as_key ? 6 : 4);
    case 't': return js_put(b, as_key ? "\"true\"" : "true", as_key ? 6 : 4);
    case 'f': return js_put(b, as_key ? "\"false\"" : "false", as_key ? 7 : 5);
    case 'i': {
        if (rd_varint(r, &u) != 0) return -1;
        long long i = (long long)((int64_t)(u >> 1) ^ -(int64_t)(u & 1));
        int n = snprintf(num, sizeof num, as_key ? "\"%lld\"" : "%lld", i);
        return js_put(b, num, (size_t)n);
    }
    case 'd': {
        if (r->end - r->p < 8) return -1;
        uint64_t bits = 0;
        for (int i = 0; i < 8; i++) bits = bits << 8 | r->p[i];
        double d;
        memcpy(&d, &bits, sizeof d);
        r->p += 8;
        int n = isfinite(d) ? snprintf(num, sizeof num, as_key ? "\"%.17g\"" : "%.17g", d)
                            : snprintf(num, sizeof num, "null");
        return js_put(b, num, (size_t)n);
    }
    case 's':
        if (rd_varint(r, &u) != 0 || u > (uint64_t)(r->end - r->p)) return -1;
        js_str(b, r->p, (size_t)u);
        r->p += u;
        return 0;
    case 'm':
        if (as_key) return -1;
        if (rd_varint(r, &u) != 0 || u > (uint64_t)(r->end - r->p)) return -1;
        js_put(b, "{", 1);
        for (uint64_t i = 0; i < u; i++) {
            if (i) js_put(b, ",", 1);
            if (js_item(r, b, depth + 1, 1) != 0) return -1;
            js_put(b, ":", 1);
            if (js_item(r, b, depth + 1, 0) != 0) return -1;
        }
        return js_put(b, "}", 1);
    default: return -1;
    }
}

int skl_value_json(const uint8_t *v, size_t len, struct sk_buf *out)
{
    if (len == 0) {
        return js_put(out, "null", 4);
    }
    size_t mark = out->len;
    struct rd r = {v, v + len};
    if (js_item(&r, out, 0, 0) != 0 || r.p != r.end) {
        out->len = mark;
        return js_put(out, "\"<undecodable>\"", 15);
    }
    return 0;
}
