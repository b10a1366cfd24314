/* lua_strategy.c - the strategy vtable as calls into a per-node Lua state.
 *
 * Each node gets its own lua_State: a fresh _ENV without io, os.execute or
 * bytecode loading; require reaches only the scripts directory; math.random,
 * os.time and os.clock come from the hook context (the node's seeded
 * generator and virtual clock in the simulator). Every call goes through
 * hook_call(): a traceback handler, an instruction budget, and a check of
 * the returned values, with errors naming script, line and reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "lua_strategy.h"
#include "lua_value.h"

enum { K_PROPOSER = 0, K_BACKOFF = 1, K_LOCK = 2, K_COUNT = 3 };
static const char *const kind_dirs[K_COUNT] = {"proposers", "backoff", "locks"};

struct skl_strategy {
    lua_State *L;
    struct sk_strategy vt;
    struct sk_hook_ctx *ctx; /* the context of the hook being run */
    uint64_t budget;
    uint64_t used;
    bool virtual_time;
    size_t mem; /* bytes the state holds */
    int cur_kind; /* the kind of script whose hook runs */
    uint32_t classic;
    int ctx_ref;              /* the reused ctx table */
    int mod_ref[K_COUNT];     /* the script tables */
    char path[K_COUNT][256];
    char scripts_dir[256];
};

/* The state's owner, reachable from C functions running inside it. */
static struct skl_strategy *owner(lua_State *L)
{
    void *ud;
    lua_getallocf(L, &ud);
    return ud;
}

/* Each state may hold at most MEM_LIMIT bytes: a script that builds a huge
 * string or table gets "not enough memory" (and its request fails) instead
 * of taking the daemon's memory. */
#define MEM_LIMIT ((size_t)64 << 20)

static void *l_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct skl_strategy *s = ud;
    size_t old = ptr != NULL ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        s->mem -= old;
        return NULL;
    }
    if (nsize > old && s->mem - old + nsize > MEM_LIMIT) {
        return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (p != NULL) {
        s->mem = s->mem - old + nsize;
    }
    return p;
}

/* ------------------------------------------------------------ the budget */

#define BUDGET_STEP 1000

static void budget_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    struct skl_strategy *s = owner(L);
    s->used += BUDGET_STEP;
    if (s->used > s->budget) {
        /* level 0 is the function being run: the script's file and line */
        luaL_where(L, 0);
        lua_pushfstring(L, "instruction budget exceeded (%I instructions): an endless loop?",
                        (lua_Integer)s->budget);
        lua_concat(L, 2);
        lua_error(L);
    }
}

/* --------------------------------------------------- virtual time/random */

static int l_random(lua_State *L)
{
    struct skl_strategy *s = owner(L);
    struct sk_rng fallback = {0x2545f4914f6cdd1dull};
    struct sk_rng *rng = s->ctx != NULL ? s->ctx->rng : &fallback;
    double u = sk_rng_unit(rng);
    int n = lua_gettop(L);
    if (n == 0) {
        lua_pushnumber(L, u);
        return 1;
    }
    lua_Integer lo = 1, hi;
    if (n == 1) {
        hi = luaL_checkinteger(L, 1);
    } else {
        lo = luaL_checkinteger(L, 1);
        hi = luaL_checkinteger(L, 2);
    }
    luaL_argcheck(L, lo <= hi, n == 1 ? 1 : 2, "interval is empty");
    lua_pushinteger(L, lo + (lua_Integer)(u * (double)(hi - lo + 1)));
    return 1;
}

static int l_randomseed(lua_State *L)
{
    (void)L; /* the generator belongs to the node: seeding is the run's job */
    return 0;
}

static int l_time(lua_State *L)
{
    struct skl_strategy *s = owner(L);
    uint64_t ms = s->ctx != NULL ? s->ctx->now_ms : 0;
    lua_pushinteger(L, (lua_Integer)(ms / 1000));
    return 1;
}

static int l_clock(lua_State *L)
{
    struct skl_strategy *s = owner(L);
    uint64_t ms = s->ctx != NULL ? s->ctx->now_ms : 0;
    lua_pushnumber(L, (double)ms / 1000.0);
    return 1;
}

/* ---------------------------------------------------------- the sandbox */

/* require(name): only "<scripts_dir>/<name with dots as slashes>.lua",
 * loaded as text into the sandbox; cached in the sandbox's own table. */
static int l_require(lua_State *L)
{
    struct skl_strategy *s = owner(L);
    const char *name = luaL_checkstring(L, 1);
    for (const char *p = name; *p; p++) {
        if (!(*p == '.' || *p == '_' || *p == '-' || (*p >= 'a' && *p <= 'z') ||
              (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))) {
            return luaL_error(L, "require '%s': only module names within %s/ may be required",
                              name, s->scripts_dir);
        }
    }
    lua_getfield(L, LUA_REGISTRYINDEX, "skinny.sandbox.loaded");
    lua_getfield(L, -1, name);
    if (!lua_isnil(L, -1)) {
        return 1;
    }
    lua_pop(L, 1);
    char path[512];
    int n = snprintf(path, sizeof path, "%s/", s->scripts_dir);
    for (const char *p = name; *p && n < (int)sizeof path - 5; p++) {
        path[n++] = *p == '.' ? '/' : *p;
    }
    snprintf(path + n, sizeof path - (size_t)n, ".lua");
    if (luaL_loadfilex(L, path, "t") != LUA_OK) {
        return lua_error(L);
    }
    lua_getfield(L, LUA_REGISTRYINDEX, "skinny.sandbox.env");
    lua_setupvalue(L, -2, 1);
    lua_call(L, 0, 1);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushboolean(L, 1);
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, name);
    return 1;
}

/* load(chunk, name, mode, env): text only, default env the sandbox. */
static int l_load(lua_State *L)
{
    size_t len;
    const char *chunk = luaL_checklstring(L, 1, &len);
    const char *name = luaL_optstring(L, 2, "=(load)");
    int has_env = !lua_isnone(L, 4);
    if (luaL_loadbufferx(L, chunk, len, name, "t") != LUA_OK) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    if (has_env) {
        lua_pushvalue(L, 4);
    } else {
        lua_getfield(L, LUA_REGISTRYINDEX, "skinny.sandbox.env");
    }
    lua_setupvalue(L, -2, 1);
    return 1;
}

static void copy_fields(lua_State *L, int from, int to, const char *const *names)
{
    for (; *names; names++) {
        lua_getfield(L, from, *names);
        lua_setfield(L, to, *names);
    }
}

/* Build the sandbox env: [..] -> [..] (stored in the registry). */
static void build_sandbox(lua_State *L, struct skl_strategy *s)
{
    static const char *const base[] = {"assert", "error", "ipairs", "next", "pairs", "pcall",
                                       "rawequal", "rawget", "rawlen", "rawset", "select",
                                       "setmetatable", "getmetatable", "tonumber", "tostring",
                                       "type", "xpcall", "print", "_VERSION", NULL};
    static const char *const libs[] = {"string", "table", "utf8", "coroutine", NULL};
    lua_newtable(L); /* env */
    int env = lua_gettop(L);
    lua_pushglobaltable(L);
    int g = lua_gettop(L);
    copy_fields(L, g, env, base);
    for (const char *const *l = libs; *l; l++) {
        /* copy each library table so scripts cannot change the real one */
        lua_getfield(L, g, *l);
        lua_newtable(L);
        lua_pushnil(L);
        while (lua_next(L, -3) != 0) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, -4);
        }
        lua_setfield(L, env, *l);
        lua_pop(L, 1);
    }
    lua_getfield(L, g, "math");
    lua_newtable(L);
    lua_pushnil(L);
    while (lua_next(L, -3) != 0) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, -4);
    }
    if (s->virtual_time) {
        lua_pushcfunction(L, l_random);
        lua_setfield(L, -2, "random");
        lua_pushcfunction(L, l_randomseed);
        lua_setfield(L, -2, "randomseed");
    }
    lua_setfield(L, env, "math");
    lua_pop(L, 1);
    lua_newtable(L); /* os: time and clock only */
    if (s->virtual_time) {
        lua_pushcfunction(L, l_time);
        lua_setfield(L, -2, "time");
        lua_pushcfunction(L, l_clock);
        lua_setfield(L, -2, "clock");
    } else {
        lua_getfield(L, g, "os");
        lua_getfield(L, -1, "time");
        lua_setfield(L, -3, "time");
        lua_getfield(L, -1, "clock");
        lua_setfield(L, -3, "clock");
        lua_pop(L, 1);
    }
    lua_setfield(L, env, "os");
    lua_pushcfunction(L, l_require);
    lua_setfield(L, env, "require");
    lua_pushcfunction(L, l_load);
    lua_setfield(L, env, "load");
    lua_pushvalue(L, env);
    lua_setfield(L, env, "_G");
    lua_pop(L, 1); /* g */
    lua_setfield(L, LUA_REGISTRYINDEX, "skinny.sandbox.env");
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "skinny.sandbox.loaded");
}

/* ------------------------------------------------------------ hook calls */

static int traceback(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    lua_pushstring(L, msg); /* the message already names file:line */
    return 1;
}

/* Where the hook function is defined, for messages about its results. */
static void where(lua_State *L, int fn, char *buf, size_t len)
{
    lua_Debug ar;
    lua_pushvalue(L, fn);
    if (lua_getinfo(L, ">S", &ar) && ar.currentline != -2) {
        snprintf(buf, len, "%s:%d", ar.short_src, ar.linedefined);
    } else {
        snprintf(buf, len, "?");
    }
}

/* Push the script's function `name` of `kind`, or return false (default). */
static bool get_fn(struct skl_strategy *s, int kind, const char *name)
{
    lua_State *L = s->L;
    if (s->mod_ref[kind] == LUA_NOREF) {
        return false;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->mod_ref[kind]);
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
    if (lua_isfunction(L, -1)) {
        return true;
    }
    lua_pop(L, 1);
    return false;
}

/* Refresh and push the ctx table. */
static void push_ctx(struct skl_strategy *s, struct sk_hook_ctx *ctx)
{
    lua_State *L = s->L;
    s->ctx = ctx;
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->ctx_ref);
    lua_pushinteger(L, ctx->node_id);
    lua_setfield(L, -2, "node_id");
    lua_pushstring(L, ctx->node_name);
    lua_setfield(L, -2, "node");
    lua_pushinteger(L, ctx->cluster_size);
    lua_setfield(L, -2, "size");
    lua_pushinteger(L, ctx->cluster_size / 2 + 1);
    lua_setfield(L, -2, "majority");
    lua_pushinteger(L, (lua_Integer)ctx->now_ms);
    lua_setfield(L, -2, "now");
    lua_pushlstring(L, (const char *)ctx->key, ctx->key_len);
    lua_setfield(L, -2, "lock");
}

/* Call the function below nargs arguments with the budget and traceback.
 * On error fills ctx->errmsg and returns SK_EHOOK (stack restored to base). */
static int hook_call(struct skl_strategy *s, struct sk_hook_ctx *ctx, int nargs, int nres,
                     int base)
{
    lua_State *L = s->L;
    lua_pushcfunction(L, traceback);
    lua_insert(L, -(nargs + 2));
    int h = lua_gettop(L) - nargs - 1;
    s->used = 0;
    lua_sethook(L, budget_hook, LUA_MASKCOUNT, BUDGET_STEP);
    int rv = lua_pcall(L, nargs, nres, h);
    lua_sethook(L, NULL, 0, 0);
    if (rv != LUA_OK) {
        if (rv == LUA_ERRMEM) {
            snprintf(ctx->errmsg, SK_ERRMSG_LEN,
                     "%s: not enough memory (a script's state may hold at most %zu MiB)",
                     s->path[s->cur_kind], MEM_LIMIT >> 20);
        } else {
            snprintf(ctx->errmsg, SK_ERRMSG_LEN, "%s", lua_tostring(L, -1));
        }
        lua_settop(L, base);
        s->ctx = NULL;
        return SK_EHOOK;
    }
    lua_remove(L, h);
    return 0;
}

static int bad_result(struct skl_strategy *s, struct sk_hook_ctx *ctx, int fn_pos, int base,
                      const char *fmt, const char *got)
{
    char at[300];
    where(s->L, fn_pos, at, sizeof at);
    char msg[SK_ERRMSG_LEN];
    snprintf(msg, sizeof msg, fmt, got);
    snprintf(ctx->errmsg, SK_ERRMSG_LEN, "%s: %s", at, msg);
    lua_settop(s->L, base);
    s->ctx = NULL;
    return SK_EHOOK;
}

#define CALL_OR_DEFAULT(s, kind, name, dflt)                                   \
    int base = lua_gettop((s)->L);                                             \
    if (!get_fn((s), (kind), (name))) {                                        \
        return dflt;                                                           \
    }                                                                          \
    (s)->cur_kind = (kind);                                                    \
    lua_pushvalue((s)->L, -1); /* a copy stays below the call, for messages */ \
    int fn = lua_gettop((s)->L) - 1

static int h_next_ballot(void *ud, struct sk_hook_ctx *ctx, const struct sk_ballot_info *info,
                         struct sk_ballot *out)
{
    struct skl_strategy *s = ud;
    lua_State *L = s->L;
    CALL_OR_DEFAULT(s, K_PROPOSER, "next_ballot",
                    sk_strategy_default.next_ballot(NULL, ctx, info, out));
    push_ctx(s, ctx);
    lua_createtable(L, 0, 8);
    lua_pushinteger(L, info->attempt);
    lua_setfield(L, -2, "attempt");
    lua_pushinteger(L, (lua_Integer)info->last.round);
    lua_setfield(L, -2, "last");
    lua_pushinteger(L, (lua_Integer)info->promised.round);
    lua_setfield(L, -2, "promised");
    lua_pushinteger(L, (lua_Integer)info->highest.round);
    lua_setfield(L, -2, "highest");
    lua_pushinteger(L, info->increment);
    lua_setfield(L, -2, "increment");
    if (hook_call(s, ctx, 2, 2, base) != 0) {
        return SK_EHOOK;
    }
    if (!lua_isinteger(L, -2) || lua_tointeger(L, -2) < 1) {
        return bad_result(s, ctx, fn, base,
                          "next_ballot returned %s, expected a round number (integer >= 1)",
                          luaL_typename(L, -2));
    }
    out->round = (uint64_t)lua_tointeger(L, -2);
    out->node = ctx->node_id;
    if (!lua_isnil(L, -1)) {
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 0) {
            return bad_result(s, ctx, fn, base,
                              "next_ballot's second result is %s, expected a node id or nothing",
                              luaL_typename(L, -1));
        }
        out->node = (uint32_t)lua_tointeger(L, -1);
    }
    lua_settop(L, base);
    s->ctx = NULL;
    return 0;
}

static int h_enough(void *ud, struct sk_hook_ctx *ctx, int phase, uint32_t yeas, uint32_t nays,
                    bool timed_out, int *verdict)
{
    struct skl_strategy *s = ud;
    lua_State *L = s->L;
    CALL_OR_DEFAULT(s, K_PROPOSER, "enough",
                    sk_strategy_default.enough(NULL, ctx, phase, yeas, nays, timed_out, verdict));
    push_ctx(s, ctx);
    lua_pushinteger(L, phase);
    lua_pushinteger(L, yeas);
    lua_pushinteger(L, nays);
    lua_pushboolean(L, timed_out);
    if (hook_call(s, ctx, 5, 1, base) != 0) {
        return SK_EHOOK;
    }
    const char *v = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    if (v != NULL && strcmp(v, "wait") == 0) {
        *verdict = SK_WAIT;
    } else if (v != NULL && strcmp(v, "proceed") == 0) {
        *verdict = SK_PROCEED;
    } else if (v != NULL && strcmp(v, "fail") == 0) {
        *verdict = SK_FAIL;
    } else {
        return bad_result(s, ctx, fn, base,
                          "enough returned %s, expected \"wait\", \"proceed\" or \"fail\"",
                          v != NULL ? v : luaL_typename(L, -1));
    }
    lua_settop(L, base);
    s->ctx = NULL;
    return 0;
}

static int h_pick_value(void *ud, struct sk_hook_ctx *ctx, const struct sk_promise_view *p,
                        size_t count, int *index)
{
    struct skl_strategy *s = ud;
    lua_State *L = s->L;
    CALL_OR_DEFAULT(s, K_PROPOSER, "pick_value",
                    sk_strategy_default.pick_value(NULL, ctx, p, count, index));
    push_ctx(s, ctx);
    lua_createtable(L, (int)count, 0);
    for (size_t i = 0; i < count; i++) {
        lua_createtable(L, 0, 4);
        lua_pushinteger(L, p[i].from);
        lua_setfield(L, -2, "from");
        lua_pushinteger(L, (lua_Integer)p[i].accepted.round);
        lua_setfield(L, -2, "round");
        lua_pushinteger(L, p[i].accepted.node);
        lua_setfield(L, -2, "node");
        if (skl_value_push(L, p[i].value, p[i].value_len) == 0) {
            lua_setfield(L, -2, "state");
        }
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    if (hook_call(s, ctx, 2, 1, base) != 0) {
        return SK_EHOOK;
    }
    if (lua_isnil(L, -1)) {
        *index = -1;
    } else if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1 &&
               lua_tointeger(L, -1) <= (lua_Integer)count) {
        *index = (int)lua_tointeger(L, -1) - 1;
    } else {
        char what[64];
        snprintf(what, sizeof what, "%s", luaL_tolstring(L, -1, NULL));
        char fmt[128];
        snprintf(fmt, sizeof fmt, "pick_value returned %%s, expected nil or an index 1..%zu", count);
        return bad_result(s, ctx, fn, base, fmt, what);
    }
    lua_settop(L, base);
    s->ctx = NULL;
    return 0;
}

static int h_skip_phase1(void *ud, struct sk_hook_ctx *ctx, bool *skip)
{
    struct skl_strategy *s = ud;
    lua_State *L = s->L;
    CALL_OR_DEFAULT(s, K_PROPOSER, "skip_phase1",
                    sk_strategy_default.skip_phase1(NULL, ctx, skip));
    (void)fn;
    push_ctx(s, ctx);
    if (hook_call(s, ctx, 1, 1, base) != 0) {
        return SK_EHOOK;
    }
    *skip = lua_toboolean(L, -1);
    lua_settop(L, base);
    s->ctx = NULL;
    return 0;
}

static int h_thrifty(void *ud, struct sk_hook_ctx *ctx, uint64_t *fill_ms)
{
    struct skl_strategy *s = ud;
    lua_State *L = s->L;
    CALL_OR_DEFAULT(s, K_PROPOSER, "thrifty", sk_strategy_default.thrifty(NULL, ctx, fill_ms));
    push_ctx(s, ctx);
    if (hook_call(s, ctx, 1, 1, base) != 0) {
        return SK_EHOOK;
    }
    if (lua_isnil(L, -1) || (lua_isboolean(L, -1) && !lua_toboolean(L, -1))) {
        *fill_ms = 0;
    } else if (lua_type(L, -1) == LUA_TNUMBER && lua_tonumber(L, -1) >= 1 &&
               lua_tonumber(L, -1) <= 3600000) {
        *fill_ms = (uint64_t)lua_tonumber(L, -1);
    } else {
        return bad_result(s, ctx, fn, base,
                          "thrifty returned %s, expected milliseconds (1 to 3600000) before the "
                          "other acceptors are asked too, or false to ask all at once",
                          luaL_typename(L, -1));
    }
    lua_settop(L, base);
    s->ctx = NULL;
    return 0;
}

static int h_backoff(void *ud, struct sk_hook_ctx *ctx, uint32_t attempt, const char *why,
                     uint64_t *delay_ms, bool *give_up)
{
    struct skl_strategy *s = ud;
    lua_State *L = s->L;
    CALL_OR_DEFAULT(s, K_BACKOFF, "delay",
                    sk_strategy_default.backoff(NULL, ctx, attempt, why, delay_ms, give_up));
    push_ctx(s, ctx);
    lua_pushinteger(L, attempt);
    lua_pushstring(L, why);
    if (hook_call(s, ctx, 3, 1, base) != 0) {
        return SK_EHOOK;
    }
    if (lua_isnil(L, -1) || (lua_isboolean(L, -1) && !lua_toboolean(L, -1))) {
        *give_up = true;
        *delay_ms = 0;
    } else if (lua_type(L, -1) == LUA_TNUMBER && lua_tonumber(L, -1) >= 0) {
        *give_up = false;
        *delay_ms = (uint64_t)lua_tonumber(L, -1);
    } else {
        return bad_result(s, ctx, fn, base,
                          "delay returned %s, expected milliseconds (>= 0) or nil to give up",
                          luaL_typename(L, -1));
    }
    lua_settop(L, base);
    s->ctx = NULL;
    return 0;
}

static int status_code(const char *st)
{
    static const char *const names[] = {"granted", "refused", "released", "not_holder"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(st, names[i]) == 0) {
            return SK_ST_GRANTED + i;
        }
    }
    return 0;
}

static int h_apply_lock(void *ud, struct sk_hook_ctx *ctx, const uint8_t *state, size_t state_len,
                        const struct sk_client_req *req, struct sk_ballot ballot,
                        struct sk_buf *out, struct sk_lock_reply *reply)
{
    struct skl_strategy *s = ud;
    lua_State *L = s->L;
    CALL_OR_DEFAULT(s, K_LOCK, "apply",
                    sk_strategy_default.apply_lock(NULL, ctx, state, state_len, req, ballot, out,
                                                   reply));
    if (skl_value_push(L, state, state_len) != 0) {
        return bad_result(s, ctx, fn, base, "%s", "the current lock state is not a value");
    }
    lua_createtable(L, 0, 8);
    lua_pushstring(L, sk_op_name(req->op));
    lua_setfield(L, -2, "op");
    lua_pushlstring(L, (const char *)req->holder, req->holder_len);
    lua_setfield(L, -2, "holder");
    lua_pushlstring(L, (const char *)req->key, req->key_len);
    lua_setfield(L, -2, "lock");
    if (req->ttl_ms) {
        lua_pushinteger(L, req->ttl_ms);
        lua_setfield(L, -2, "ttl");
    }
    lua_pushinteger(L, (lua_Integer)sk_ballot_token(ballot));
    lua_setfield(L, -2, "token");
    if (req->fence) {
        lua_pushinteger(L, (lua_Integer)req->fence);
        lua_setfield(L, -2, "fence");
    }
    push_ctx(s, ctx);
    if (hook_call(s, ctx, 3, 2, base) != 0) {
        return SK_EHOOK;
    }
    /* [.., new_state, reply] */
    if (!lua_istable(L, -1)) {
        return bad_result(s, ctx, fn, base,
                          "apply returned %s as its reply, expected a table {status = \"granted\"|"
                          "\"refused\"|\"released\"|\"not_holder\", ...}",
                          luaL_typename(L, -1));
    }
    lua_getfield(L, -1, "status");
    const char *st = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    int code = st != NULL ? status_code(st) : 0;
    if (code == 0) {
        return bad_result(s, ctx, fn, base,
                          "apply's reply.status is %s, expected \"granted\", \"refused\", "
                          "\"released\" or \"not_holder\"",
                          st != NULL ? st : luaL_typename(L, -1));
    }
    lua_pop(L, 1);
    reply->status = (uint8_t)code;
    lua_getfield(L, -1, "holder");
    if (lua_type(L, -1) == LUA_TSTRING) {
        snprintf(reply->holder, sizeof reply->holder, "%s", lua_tostring(L, -1));
    }
    lua_pop(L, 1);
    lua_getfield(L, -1, "text");
    if (lua_type(L, -1) == LUA_TSTRING) {
        snprintf(reply->text, sizeof reply->text, "%s", lua_tostring(L, -1));
    }
    lua_pop(L, 1);
    lua_getfield(L, -1, "token");
    if (lua_isinteger(L, -1)) {
        reply->token = (uint64_t)lua_tointeger(L, -1);
    }
    lua_pop(L, 1);
    if (!lua_isnil(L, -2) && !lua_istable(L, -2)) {
        return bad_result(s, ctx, fn, base,
                          "apply returned %s as the new state, expected a table or nil (free)",
                          luaL_typename(L, -2));
    }
    char err[160];
    int len = skl_value_encode(L, -2, out->data, out->cap, err, sizeof err);
    if (len < 0) {
        return bad_result(s, ctx, fn, base, "apply's new state: %s", err);
    }
    out->len = (size_t)len;
    lua_settop(L, base);
    s->ctx = NULL;
    return 0;
}

/* ------------------------------------------------------------- loading */

static bool file_exists(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        fclose(f);
        return true;
    }
    return false;
}

/* A name like "paxos" means scripts/proposers/paxos.lua; anything with a
 * slash or ending in .lua is a path. */
static void resolve(const struct skl_strategy *s, int kind, const char *name, char *out,
                    size_t len)
{
    size_t n = strlen(name);
    if (strchr(name, '/') != NULL || (n > 4 && strcmp(name + n - 4, ".lua") == 0)) {
        snprintf(out, len, "%s", name);
    } else {
        snprintf(out, len, "%s/%s/%s.lua", s->scripts_dir, kind_dirs[kind], name);
    }
}

static const char *const known[K_COUNT][7] = {
    {"next_ballot", "enough", "pick_value", "skip_phase1", "thrifty", "classic", NULL},
    {"delay", NULL},
    {"apply", NULL},
};

static int load_script(struct skl_strategy *s, int kind, const char *name, char *err,
                       size_t errlen)
{
    lua_State *L = s->L;
    resolve(s, kind, name, s->path[kind], sizeof s->path[kind]);
    if (!file_exists(s->path[kind])) {
        snprintf(err, errlen, "%s: no such script (a %s script: a name in %s/%s/ or a path)",
                 s->path[kind], kind_dirs[kind], s->scripts_dir, kind_dirs[kind]);
        return SK_EINVAL;
    }
    lua_pushcfunction(L, traceback);
    int h = lua_gettop(L);
    if (luaL_loadfilex(L, s->path[kind], "t") != LUA_OK) {
        snprintf(err, errlen, "%s", lua_tostring(L, -1));
        lua_settop(L, h - 1);
        return SK_EHOOK;
    }
    lua_getfield(L, LUA_REGISTRYINDEX, "skinny.sandbox.env");
    lua_setupvalue(L, -2, 1);
    s->used = 0;
    lua_sethook(L, budget_hook, LUA_MASKCOUNT, BUDGET_STEP);
    int rv = lua_pcall(L, 0, 1, h);
    lua_sethook(L, NULL, 0, 0);
    if (rv != LUA_OK) {
        snprintf(err, errlen, "%s", lua_tostring(L, -1));
        lua_settop(L, h - 1);
        return SK_EHOOK;
    }
    if (!lua_istable(L, -1)) {
        snprintf(err, errlen, "%s: the script returned %s, expected a table of functions (%s%s)",
                 s->path[kind], luaL_typename(L, -1), known[kind][0],
                 kind == K_PROPOSER ? ", enough, pick_value, ..." : "");
        lua_settop(L, h - 1);
        return SK_EHOOK;
    }
    /* unknown keys are likely typos: say so rather than silently ignore */
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
        lua_pop(L, 1);
        bool ok = lua_type(L, -1) != LUA_TSTRING;
        for (int i = 0; !ok && known[kind][i] != NULL; i++) {
            ok = strcmp(lua_tostring(L, -1), known[kind][i]) == 0;
        }
        if (!ok && lua_tostring(L, -1)[0] != '_') {
            char list[160] = "";
            for (int i = 0; known[kind][i] != NULL; i++) {
                size_t used = strlen(list);
                snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", known[kind][i]);
            }
            snprintf(err, errlen,
                     "%s: unknown hook '%s' (a %s script may define: %s; prefix private "
                     "helpers with _)",
                     s->path[kind], lua_tostring(L, -1), kind_dirs[kind], list);
            lua_settop(L, h - 1);
            return SK_EINVAL;
        }
    }
    if (kind == K_PROPOSER) {
        lua_getfield(L, -1, "classic");
        if (lua_istable(L, -1)) {
            static const struct {
                const char *k;
                uint32_t f;
            } flags[] = {{"answer_local", SK_CLASSIC_ANSWER_LOCAL},
                         {"no_raise", SK_CLASSIC_NO_RAISE},
                         {"no_persist", SK_CLASSIC_NO_PERSIST},
                         {"ack_rejected", SK_CLASSIC_ACK_REJECTED},
                         {"no_identity", SK_CLASSIC_NO_IDENTITY}};
            for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
                lua_getfield(L, -1, flags[i].k);
                if (lua_toboolean(L, -1)) {
                    s->classic |= flags[i].f;
                }
                lua_pop(L, 1);
            }
        }
        lua_pop(L, 1);
    }
    s->mod_ref[kind] = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_settop(L, h - 1);
    return 0;
}

int skl_strategy_open(struct skl_strategy **out, const struct skl_strategy_config *cfg, char *err,
                      size_t errlen)
{
    *out = NULL;
    struct skl_strategy *s = calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return SK_ENOMEM;
    }
    s->budget = cfg->budget ? cfg->budget : 10u * 1000u * 1000u;
    s->virtual_time = cfg->virtual_time;
    snprintf(s->scripts_dir, sizeof s->scripts_dir, "%s", cfg->scripts_dir ? cfg->scripts_dir : "scripts");
    for (int k = 0; k < K_COUNT; k++) {
        s->mod_ref[k] = LUA_NOREF;
    }
    s->L = lua_newstate(l_alloc, s);
    if (s->L == NULL) {
        free(s);
        snprintf(err, errlen, "out of memory");
        return SK_ENOMEM;
    }
    lua_State *L = s->L;
    luaL_openlibs(L);
    build_sandbox(L, s);
    lua_newtable(L);
    s->ctx_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    const char *names[K_COUNT] = {cfg->proposer, cfg->backoff, cfg->lock};
    for (int k = 0; k < K_COUNT; k++) {
        if (names[k] == NULL || names[k][0] == 0) {
            continue;
        }
        int rv = load_script(s, k, names[k], err, errlen);
        if (rv != 0) {
            skl_strategy_close(s);
            return rv;
        }
    }
    s->vt.ud = s;
    s->vt.next_ballot = h_next_ballot;
    s->vt.enough = h_enough;
    s->vt.pick_value = h_pick_value;
    s->vt.skip_phase1 = h_skip_phase1;
    s->vt.thrifty = h_thrifty;
    s->vt.backoff = h_backoff;
    s->vt.apply_lock = h_apply_lock;
    *out = s;
    return 0;
}

void skl_strategy_close(struct skl_strategy *s)
{
    if (s == NULL) {
        return;
    }
    lua_close(s->L);
    free(s);
}

const struct sk_strategy *skl_strategy_vtable(struct skl_strategy *s)
{
    return &s->vt;
}

uint32_t skl_strategy_classic(const struct skl_strategy *s)
{
    return s->classic;
}

const char *skl_strategy_path(const struct skl_strategy *s, int kind)
{
    return kind >= 0 && kind < K_COUNT ? s->path[kind] : "";
}
