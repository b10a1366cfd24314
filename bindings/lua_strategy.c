/* lua_strategy.c - the strategy vtable as calls into a per-node Lua state.
 *
 * Each node gets its own lua_State. Every script and every module it
 * requires runs in its own sandbox _ENV (its own copies of the libraries,
 * without io, os.execute, debug, collectgarbage or bytecode loading);
 * require reaches only the scripts directory; math.random, os.time and
 * os.clock come from the hook context (the node's seeded generator and
 * virtual clock in the simulator). Every call into the state goes through
 * run(): one protected call under an instruction budget and a memory cap,
 * with errors naming script, line and reason (spec/HOOKS.md). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "lua_pattern.h"
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
    char oom_where[300]; /* "file:line: " of an allocation the cap refused, or "" */
    int cur_kind; /* the kind of script whose hook runs */
    uint32_t classic;
    int fn_ref[8];            /* the hook functions (H_*), taken when loaded */
    char path[K_COUNT][256];
    char scripts_dir[256];
    struct sk_params params; /* ctx.params, rebuilt for every call */
};

static void lua_where(lua_State *L, char *buf, size_t len);

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
        /* A memory error skips the message handler, so note here where
         * the script was: the innermost Lua function of the main thread
         * (for a coroutine, the line resuming it). Not for a new block of
         * no object type (ptr NULL, osize 0): that is how a Lua stack is
         * reallocated, and Lua 5.4.6 does it with the frames' pointers
         * turned into offsets. A growing buffer or table, or a new object,
         * is made with the frames intact. */
        if (s->L != NULL && !(ptr == NULL && osize == 0)) {
            lua_where(s->L, s->oom_where, sizeof s->oom_where);
        }
        return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (p != NULL) {
        s->mem = s->mem - old + nsize;
        /* a refusal Lua recovered from (its emergency collection freed
         * enough for the retry) must not name a line later */
        s->oom_where[0] = 0;
    }
    return p;
}

/* ------------------------------------------------------------ the budget */

#define BUDGET_STEP 1000

static void budget_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    struct skl_strategy *s = owner(L);
    int step = lua_gethookcount(L);
    s->used += (uint64_t)step;
    bool over = s->mem > MEM_LIMIT / 4 * 3 || s->used > s->budget;
    if (over && step != 1) {
        /* from now on this thread stops at every instruction: a script that
         * catches the error below (pcall, coroutine.resume, load with a
         * reader function) gets it again at its next instruction instead of
         * going round again (while true do pcall(spin) end never ended) */
        lua_sethook(L, budget_hook, LUA_MASKCOUNT, 1);
    } else if (!over && step != BUDGET_STEP) {
        lua_sethook(L, budget_hook, LUA_MASKCOUNT, BUDGET_STEP); /* a later call */
    }
    if (s->mem > MEM_LIMIT / 4 * 3) {
        /* caught here, a growing table or string names its line; a single
         * allocation past the cap is LUA_ERRMEM (l_alloc notes the line) */
        luaL_where(L, 0);
        lua_pushfstring(L, "not enough memory: the script's state holds %d MiB of at most %d",
                        (int)(s->mem >> 20), (int)(MEM_LIMIT >> 20));
        lua_concat(L, 2);
        lua_error(L);
    }
    if (s->used > s->budget) {
        /* level 0 is the function being run: the script's file and line */
        luaL_where(L, 0);
        lua_pushfstring(L, "instruction budget exceeded (%I instructions): an endless loop?",
                        (lua_Integer)s->budget);
        lua_concat(L, 2);
        lua_error(L);
    }
}

/* The pattern functions (lua_pattern.c) run in C, where the hook never
 * fires: their steps count against the same budget as instructions. Spent,
 * the next instruction stops too (as in budget_hook), so catching the
 * pattern's error gains nothing. */
static uint64_t pattern_charge(lua_State *L, void *ud, uint64_t steps)
{
    struct skl_strategy *s = ud;
    s->used += steps;
    if (s->used <= s->budget) {
        return 0;
    }
    lua_sethook(L, budget_hook, LUA_MASKCOUNT, 1);
    return s->budget;
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
    /* unsigned: hi - lo overflows a lua_Integer for wide intervals */
    lua_Unsigned span = (lua_Unsigned)hi - (lua_Unsigned)lo;
    lua_Unsigned off = (lua_Unsigned)(u * ((double)span + 1.0));
    lua_pushinteger(L, (lua_Integer)((lua_Unsigned)lo + (off > span ? span : off)));
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

static int l_require(lua_State *L);
static int l_load(lua_State *L);

/* Push a fresh sandbox environment: the template's functions, and a copy
 * of each of its library tables, so whatever a chunk does to its globals
 * or its libraries (string.format = nil, _ENV.pairs = ...) stays in that
 * chunk. Its require and load share the module cache at index `loaded`
 * (0: a new one): each script loaded by name has its own cache, shared
 * with the modules it requires, so one script changing a module's table
 * (require("proposers.paxos").enough = error) changes nothing for another. */
static void push_env(lua_State *L, int loaded)
{
    if (loaded == 0) {
        lua_newtable(L);
    } else {
        lua_pushvalue(L, loaded);
    }
    lua_getfield(L, LUA_REGISTRYINDEX, "skinny.sandbox.template");
    int tpl = lua_gettop(L);
    lua_createtable(L, 0, 32);
    lua_pushnil(L);
    while (lua_next(L, tpl) != 0) {
        if (lua_type(L, -1) == LUA_TTABLE) {
            lua_createtable(L, 0, 32); /* [.., k, lib, copy] */
            lua_pushnil(L);
            while (lua_next(L, -3) != 0) {
                lua_pushvalue(L, -2);
                lua_insert(L, -2);
                lua_rawset(L, -4);
            }
            lua_remove(L, -2);
        }
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, -4);
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, -2, "_G");
    lua_pushvalue(L, tpl - 1);
    lua_pushcclosure(L, l_require, 1);
    lua_setfield(L, -2, "require");
    lua_pushvalue(L, tpl - 1);
    lua_pushcclosure(L, l_load, 1);
    lua_setfield(L, -2, "load");
    lua_remove(L, tpl);
    lua_remove(L, tpl - 1);
}

/* require(name): only "<scripts_dir>/<name with dots as slashes>.lua",
 * loaded as text into its own sandbox; cached in the module cache that is
 * its upvalue (one per script loaded by name). */
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
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushstring(L, name);
    if (lua_rawget(L, -2) != LUA_TNIL) {
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
    push_env(L, lua_upvalueindex(1));
    lua_setupvalue(L, -2, 1);
    lua_call(L, 0, 1);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushboolean(L, 1);
    }
    lua_pushstring(L, name);
    lua_pushvalue(L, -2);
    lua_rawset(L, -4);
    return 1;
}

/* load(chunk, name, mode, env): text only, default env a fresh sandbox. */
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
        push_env(L, lua_upvalueindex(1));
    }
    lua_setupvalue(L, -2, 1);
    return 1;
}

/* setmetatable without finalizers: a __gc would run at a time no hook
 * controls (and differently from run to run), outside the budget. */
static int l_setmetatable(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int t = lua_type(L, 2);
    luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
    if (t == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL) {
            return luaL_error(L, "setmetatable: __gc (a finalizer) is not allowed in scripts");
        }
        lua_pop(L, 1);
    }
    if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL) {
        return luaL_error(L, "cannot change a protected metatable");
    }
    lua_settop(L, 2);
    lua_setmetatable(L, 1);
    return 1;
}

/* string.rep that refuses, with the script's line, a result larger than a
 * script's state may hold, or than it has room for (the result is built in
 * a buffer, then copied: twice its size), instead of failing in the
 * allocator. */
static int l_rep(lua_State *L)
{
    size_t l, lsep;
    luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &lsep);
    if (n <= 0 || l + lsep == 0) {
        /* Lua's own rep copies nothing n - 1 times: ("").rep("", 1e15) is a
         * loop in C the budget cannot stop */
        lua_pushliteral(L, "");
        return 1;
    }
    double total = (double)l * (double)n + (double)lsep * (double)(n - 1);
    size_t mem = owner(L)->mem;
    char msg[160] = "";
    if (total > (double)MEM_LIMIT / 2) {
        snprintf(msg, sizeof msg, "a string of %.0f bytes is more than a script may hold (%d MiB "
                 "in all)", total, (int)(MEM_LIMIT >> 20));
    } else if (2 * total > (double)(MEM_LIMIT - (mem < MEM_LIMIT ? mem : MEM_LIMIT))) {
        snprintf(msg, sizeof msg, "not enough memory for a string of %.0f bytes (the script's "
                 "state holds %d MiB of at most %d)", total, (int)(mem >> 20),
                 (int)(MEM_LIMIT >> 20));
    }
    if (msg[0] != 0) {
        /* (lua_pushfstring has no %.0f: format here) */
        return luaL_error(L, "string.rep: %s", msg);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

/* table.move(a1, f, e, t[, a2]) that refuses to move more elements than a
 * table a script may hold has slots (16 bytes each): moving nils is a loop
 * in C the budget cannot stop (table.move({}, 1, 1e15, 2)). */
static int l_move(lua_State *L)
{
    lua_Integer f = luaL_checkinteger(L, 2);
    lua_Integer e = luaL_checkinteger(L, 3);
    if (e >= f && (lua_Unsigned)e - (lua_Unsigned)f >= (lua_Unsigned)(MEM_LIMIT / 16)) {
        return luaL_error(L, "table.move: %f elements is more than a script's table may hold",
                          (lua_Number)((lua_Unsigned)e - (lua_Unsigned)f) + 1);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* Build the sandbox template (stored in the registry) from the state's
 * libraries: base functions, copies of string, table, utf8, coroutine and
 * math, and an os with time and clock only. */
static void build_sandbox(lua_State *L, struct skl_strategy *s)
{
    static const char *const base[] = {"assert", "error", "ipairs", "next", "pairs", "pcall",
                                       "rawequal", "rawget", "rawlen", "rawset", "select",
                                       "getmetatable", "tonumber", "tostring", "type",
                                       "xpcall", "print", "_VERSION", NULL};
    static const char *const libs[] = {"string", "table", "utf8", "coroutine", "math", NULL};
    lua_pushglobaltable(L);
    int g = lua_gettop(L);
    /* the real string table is reached through every string's metatable:
     * guard its rep, and hide the metatable from scripts */
    lua_getfield(L, g, "string");
    lua_getfield(L, -1, "rep");
    lua_pushcclosure(L, l_rep, 1);
    lua_setfield(L, -2, "rep");
    /* and its pattern functions: Skinny's own, under the budget */
    struct skl_pattern_meter meter = {pattern_charge, s, 0, 0};
    skl_pattern_register(L, -1, &meter);
    lua_pop(L, 1);
    lua_getfield(L, g, "table");
    lua_getfield(L, -1, "move");
    lua_pushcclosure(L, l_move, 1);
    lua_setfield(L, -2, "move");
    lua_pop(L, 1);
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushliteral(L, "the string metatable is not for scripts");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);
    lua_newtable(L); /* the template */
    int tpl = lua_gettop(L);
    for (const char *const *b = base; *b; b++) {
        lua_getfield(L, g, *b);
        lua_setfield(L, tpl, *b);
    }
    lua_pushcfunction(L, l_setmetatable);
    lua_setfield(L, tpl, "setmetatable");
    for (const char *const *l = libs; *l; l++) {
        lua_getfield(L, g, *l);
        lua_setfield(L, tpl, *l); /* copied per env by push_env */
    }
    if (s->virtual_time) {
        lua_newtable(L); /* math with the node's generator */
        lua_getfield(L, g, "math");
        lua_pushnil(L);
        while (lua_next(L, -2) != 0) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, -5);
        }
        lua_pop(L, 1);
        lua_pushcfunction(L, l_random);
        lua_setfield(L, -2, "random");
        lua_pushcfunction(L, l_randomseed);
        lua_setfield(L, -2, "randomseed");
        lua_setfield(L, tpl, "math");
    }
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
    lua_setfield(L, tpl, "os");
    lua_setfield(L, LUA_REGISTRYINDEX, "skinny.sandbox.template");
    lua_pop(L, 1); /* g */
}

/* ------------------------------------------------------------ hook calls */

/* The one protected boundary (spec/HOOKS.md, "Hooks run protected").
 *
 * Every hook call and every script load is one lua_pcall of a C body
 * (trampoline below), under the instruction budget and the memory cap.
 * The body does everything that touches Lua: it builds the arguments,
 * calls the script's function, and reads and converts what it returned,
 * raw (no metamethods), raising an error with the script's file and line
 * for anything it cannot use. So an error, an endless loop or a memory
 * bomb anywhere, including in a metamethod of a returned table or in the
 * value encoder, fails that one hook call with a message, never the
 * process. Outside run() no Lua code runs and nothing can raise. */

struct call {
    struct skl_strategy *s;
    struct sk_hook_ctx *ctx;
    int kind;         /* K_PROPOSER, K_BACKOFF, K_LOCK */
    int fn_ref;       /* the hook function, LUA_NOREF when loading */
    const char *hook; /* its name, for messages */
    int (*body)(lua_State *L, struct call *c);
    void *io;         /* the hook's arguments and results */
};

/* Where the innermost running Lua function is, "file:line: ", or "". */
static void lua_where(lua_State *L, char *buf, size_t len)
{
    lua_Debug ar;
    buf[0] = 0;
    for (int level = 0; lua_getstack(L, level, &ar); level++) {
        if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
            snprintf(buf, len, "%s:%d: ", ar.short_src, ar.currentline);
            return;
        }
    }
}

/* The message handler: the error as a string naming file and line. Error
 * objects that are not strings are described, not converted (no
 * __tostring runs); a message without a location gets the innermost Lua
 * line's. */
static int traceback(lua_State *L)
{
    char at[300];
    lua_where(L, at, sizeof at);
    const char *msg = lua_type(L, 1) == LUA_TSTRING ? lua_tostring(L, 1) : NULL;
    if (msg == NULL) {
        lua_pushfstring(L, "%s(error object is a %s value)", at, luaL_typename(L, 1));
    } else if (at[0] != 0 && strstr(msg, ".lua:") == NULL) {
        lua_pushfstring(L, "%s%s", at, msg);
    } else {
        lua_pushvalue(L, 1);
    }
    return 1;
}

/* msg without repeats of its leading "file:line: ": an error passed up
 * through nested coroutines gains one at each level ("a.lua:3: a.lua:3:
 * ... C stack overflow"), and the reason must survive the length limit. */
static const char *one_where(const char *msg)
{
    const char *p = strstr(msg, ".lua:");
    if (p == NULL) {
        return msg;
    }
    p += 5;
    while (*p >= '0' && *p <= '9') {
        p++;
    }
    if (p[0] != ':' || p[1] != ' ' || p[-1] == ':') {
        return msg;
    }
    size_t n = (size_t)(p + 2 - msg);
    while (strncmp(msg + n, msg, n) == 0) {
        msg += n;
    }
    return msg;
}

static int trampoline(lua_State *L)
{
    struct call *c = lua_touserdata(L, 1);
    lua_settop(L, 0);
    if (c->s->mem > MEM_LIMIT / 2) {
        /* what an earlier failed call left behind must not fail this one */
        lua_gc(L, LUA_GCCOLLECT);
    }
    return c->body(L, c);
}

/* Run c->body protected. Returns 0, or SK_EHOOK with the message in
 * errmsg (errlen bytes); the stack is as it was either way. */
static int run(struct call *c, char *errmsg, size_t errlen)
{
    struct skl_strategy *s = c->s;
    lua_State *L = s->L;
    int base = lua_gettop(L);
    if (!lua_checkstack(L, 8)) {
        snprintf(errmsg, errlen, "%s: no room on the Lua stack", s->path[c->kind]);
        return SK_EHOOK;
    }
    s->cur_kind = c->kind;
    s->ctx = c->ctx;
    s->used = 0;
    s->oom_where[0] = 0;
    lua_sethook(L, budget_hook, LUA_MASKCOUNT, BUDGET_STEP); /* 1 after a call that ran out */
    lua_pushcfunction(L, traceback);
    lua_pushcfunction(L, trampoline);
    lua_pushlightuserdata(L, c);
    int rv = lua_pcall(L, 1, 0, base + 1);
    int result = 0;
    if (rv == LUA_ERRMEM && s->oom_where[0] != 0) {
        snprintf(errmsg, errlen,
                 "%snot enough memory in %s (a script's state may hold at most %zu MiB)",
                 s->oom_where, c->hook, MEM_LIMIT >> 20);
        result = SK_EHOOK;
    } else if (rv == LUA_ERRMEM) {
        snprintf(errmsg, errlen,
                 "%s: not enough memory in %s (a script's state may hold at most %zu MiB)",
                 s->path[c->kind][0] ? s->path[c->kind] : "(setup)", c->hook, MEM_LIMIT >> 20);
        result = SK_EHOOK;
    } else if (rv != LUA_OK) {
        const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        snprintf(errmsg, errlen, "%s", msg != NULL ? one_where(msg) : "error while handling an error");
        result = SK_EHOOK;
    }
    lua_settop(L, base);
    s->ctx = NULL;
    return result;
}

/* Raise "file:line: <hook> returned ..." for a result the core cannot
 * use; file:line is where the hook function is defined. */
static int bad(lua_State *L, struct call *c, const char *fmt, ...)
{
    char at[300];
    lua_Debug ar;
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->fn_ref);
    if (lua_getinfo(L, ">S", &ar) && ar.linedefined > 0) {
        snprintf(at, sizeof at, "%s:%d", ar.short_src, ar.linedefined);
    } else {
        snprintf(at, sizeof at, "%s", c->s->path[c->kind]);
    }
    char msg[SK_ERRMSG_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return luaL_error(L, "%s: %s %s", at, c->hook, msg);
}

/* What a result is, for messages, without running any metamethod. */
static const char *what(lua_State *L, int idx, char *buf, size_t len)
{
    switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            snprintf(buf, len, "number %lld", (long long)lua_tointeger(L, idx));
        } else {
            snprintf(buf, len, "number %.17g", (double)lua_tonumber(L, idx));
        }
        break;
    case LUA_TSTRING: snprintf(buf, len, "string \"%.40s\"", lua_tostring(L, idx)); break;
    case LUA_TBOOLEAN:
        snprintf(buf, len, "boolean %s", lua_toboolean(L, idx) ? "true" : "false");
        break;
    case LUA_TNIL: snprintf(buf, len, "nil"); break;
    default: snprintf(buf, len, "a %s", luaL_typename(L, idx));
    }
    return buf;
}

/* A number the core will use as an integer: an integer, or a float with
 * an integral value, within [lo, hi]. NaN, infinities and fractions are
 * refused. */
static bool int_in(lua_State *L, int idx, lua_Integer lo, lua_Integer hi, lua_Integer *out)
{
    int ok = 0;
    if (lua_type(L, idx) != LUA_TNUMBER) {
        return false;
    }
    lua_Integer v = lua_tointegerx(L, idx, &ok);
    if (!ok || v < lo || v > hi) {
        return false;
    }
    *out = v;
    return true;
}

/* Milliseconds: a finite number within [lo, hi], fractions dropped. */
static bool ms_in(lua_State *L, int idx, double lo, double hi, uint64_t *out)
{
    if (lua_type(L, idx) != LUA_TNUMBER) {
        return false;
    }
    double d = (double)lua_tonumber(L, idx);
    if (!(d >= lo && d <= hi)) { /* false for NaN */
        return false;
    }
    *out = (uint64_t)d;
    return true;
}

/* Push the hook function and a fresh ctx table (a script that keeps or
 * changes its ctx affects nothing else). Raw sets throughout. */
static void push_fn_ctx(lua_State *L, struct call *c)
{
    struct sk_hook_ctx *ctx = c->ctx;
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->fn_ref);
    lua_createtable(L, 0, 7);
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
    /* ctx.params, for lock scripts (the proposer's and backoff's hot
     * paths build no table): a fresh table per call, so a script that
     * changes it changes nothing another call sees */
    if (c->kind != K_LOCK) {
        return;
    }
    const struct sk_params *ps = &c->s->params;
    lua_createtable(L, 0, (int)ps->n);
    for (uint32_t i = 0; i < ps->n; i++) {
        const struct sk_param *p = &ps->p[i];
        if (p->type == SK_PARAM_INT) {
            lua_pushinteger(L, (lua_Integer)p->i);
        } else if (p->type == SK_PARAM_BOOL) {
            lua_pushboolean(L, p->i != 0);
        } else {
            lua_pushstring(L, p->s);
        }
        lua_setfield(L, -2, p->key);
    }
    lua_setfield(L, -2, "params");
}

/* Read field `name` of the table at idx, raw: [..] -> [.., value]. */
static int raw_field(lua_State *L, int idx, const char *name)
{
    idx = lua_absindex(L, idx);
    lua_pushstring(L, name);
    return lua_rawget(L, idx);
}

/* A lock's name for a message: printable, at most 64 bytes. */
struct name64 {
    char s[68];
};

static struct name64 lock_name(const uint8_t *key, size_t len)
{
    struct name64 n;
    size_t i = 0;
    for (; i < len && i < 64; i++) {
        n.s[i] = key[i] >= 0x20 && key[i] < 0x7f ? (char)key[i] : '?';
    }
    n.s[i] = 0;
    return n;
}

/* Run hook `name` of `kind` with body; 1 when the script does not define
 * it (the caller uses the C default), else 0 or SK_EHOOK. */
static int hook(struct skl_strategy *s, struct sk_hook_ctx *ctx, int kind, int which,
                const char *name, int (*body)(lua_State *L, struct call *c), void *io)
{
    int ref = s->fn_ref[which];
    if (ref == LUA_NOREF) {
        return 1;
    }
    struct call c = {s, ctx, kind, ref, name, body, io};
    return run(&c, ctx->errmsg, SK_ERRMSG_LEN);
}

/* The hooks a script may define, in the order of fn_ref[]. */
enum {
    H_NEXT_BALLOT, H_ENOUGH, H_PICK_VALUE, H_SKIP_PHASE1, H_THRIFTY, H_DELAY, H_APPLY, H_DESCRIBE,
    H_COUNT
};
static const struct {
    int kind;
    const char *name;
} hooks[H_COUNT] = {
    {K_PROPOSER, "next_ballot"}, {K_PROPOSER, "enough"},  {K_PROPOSER, "pick_value"},
    {K_PROPOSER, "skip_phase1"}, {K_PROPOSER, "thrifty"}, {K_BACKOFF, "delay"},
    {K_LOCK, "apply"},           {K_LOCK, "describe"},
};

struct io_next_ballot {
    const struct sk_ballot_info *info;
    struct sk_ballot *out;
};

static int b_next_ballot(lua_State *L, struct call *c)
{
    struct io_next_ballot *io = c->io;
    push_fn_ctx(L, c);
    lua_createtable(L, 0, 5);
    lua_pushinteger(L, io->info->attempt);
    lua_setfield(L, -2, "attempt");
    lua_pushinteger(L, (lua_Integer)io->info->last.round);
    lua_setfield(L, -2, "last");
    lua_pushinteger(L, (lua_Integer)io->info->promised.round);
    lua_setfield(L, -2, "promised");
    lua_pushinteger(L, (lua_Integer)io->info->highest.round);
    lua_setfield(L, -2, "highest");
    lua_pushinteger(L, io->info->increment);
    lua_setfield(L, -2, "increment");
    lua_call(L, 2, 2);
    char w[64];
    lua_Integer round, node = c->ctx->node_id;
    if (!int_in(L, -2, 1, LUA_MAXINTEGER, &round)) {
        return bad(L, c, "returned %s, expected a round number (an integer >= 1)",
                   what(L, -2, w, sizeof w));
    }
    if (!lua_isnil(L, -1) && !int_in(L, -1, 0, UINT32_MAX, &node)) {
        return bad(L, c, "returned %s as its second result, expected a node id or nothing",
                   what(L, -1, w, sizeof w));
    }
    /* the core's own check (sk_ballot_check), made here too so that the
     * message names the script's line; with the script's classic flags */
    struct sk_ballot b = {(uint64_t)round, (uint32_t)node};
    char why[SK_ERRMSG_LEN];
    if (sk_ballot_check(io->info, b, c->ctx->node_id, c->s->classic != 0, why, sizeof why) != 0) {
        return bad(L, c, "%s", why);
    }
    io->out->round = (uint64_t)round;
    io->out->node = (uint32_t)node;
    return 0;
}

static int h_next_ballot(void *ud, struct sk_hook_ctx *ctx, const struct sk_ballot_info *info,
                         struct sk_ballot *out)
{
    struct io_next_ballot io = {info, out};
    int rv = hook(ud, ctx, K_PROPOSER, H_NEXT_BALLOT, "next_ballot", b_next_ballot, &io);
    return rv == 1 ? sk_strategy_default.next_ballot(NULL, ctx, info, out) : rv;
}

struct io_enough {
    int phase;
    uint32_t yeas, nays;
    bool timed_out;
    int *verdict;
};

static int b_enough(lua_State *L, struct call *c)
{
    struct io_enough *io = c->io;
    push_fn_ctx(L, c);
    lua_pushinteger(L, io->phase);
    lua_pushinteger(L, io->yeas);
    lua_pushinteger(L, io->nays);
    lua_pushboolean(L, io->timed_out);
    lua_call(L, 5, 1);
    static const char *const names[] = {"wait", "proceed", "fail"};
    static const int verdicts[] = {SK_WAIT, SK_PROCEED, SK_FAIL};
    const char *v = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
    for (int i = 0; i < 3; i++) {
        if (strcmp(v, names[i]) == 0) {
            *io->verdict = verdicts[i];
            return 0;
        }
    }
    char w[64];
    return bad(L, c, "returned %s, expected \"wait\", \"proceed\" or \"fail\"",
               what(L, -1, w, sizeof w));
}

static int h_enough(void *ud, struct sk_hook_ctx *ctx, int phase, uint32_t yeas, uint32_t nays,
                    bool timed_out, int *verdict)
{
    struct io_enough io = {phase, yeas, nays, timed_out, verdict};
    int rv = hook(ud, ctx, K_PROPOSER, H_ENOUGH, "enough", b_enough, &io);
    return rv == 1 ? sk_strategy_default.enough(NULL, ctx, phase, yeas, nays, timed_out, verdict)
                   : rv;
}

struct io_pick_value {
    const struct sk_promise_view *p;
    size_t count;
    int *index;
};

static int b_pick_value(lua_State *L, struct call *c)
{
    struct io_pick_value *io = c->io;
    push_fn_ctx(L, c);
    lua_createtable(L, (int)io->count, 0);
    for (size_t i = 0; i < io->count; i++) {
        const struct sk_promise_view *p = &io->p[i];
        lua_createtable(L, 0, 4);
        lua_pushinteger(L, p->from);
        lua_setfield(L, -2, "from");
        lua_pushinteger(L, (lua_Integer)p->accepted.round);
        lua_setfield(L, -2, "round");
        lua_pushinteger(L, p->accepted.node);
        lua_setfield(L, -2, "node");
        char why[160];
        if (skl_value_push(L, p->value, p->value_len, why, sizeof why) != 0) {
            return luaL_error(L, "lock '%s': the state promised by instance %d cannot be read: %s",
                              lock_name(c->ctx->key, c->ctx->key_len).s, (int)p->from, why);
        }
        lua_setfield(L, -2, "state");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_call(L, 2, 1);
    lua_Integer idx;
    if (lua_isnil(L, -1)) {
        *io->index = -1;
    } else if (int_in(L, -1, 1, (lua_Integer)io->count, &idx)) {
        *io->index = (int)idx - 1;
    } else {
        char w[64];
        return bad(L, c, "returned %s, expected nil or an index 1..%d", what(L, -1, w, sizeof w),
                   (int)io->count);
    }
    return 0;
}

static int h_pick_value(void *ud, struct sk_hook_ctx *ctx, const struct sk_promise_view *p,
                        size_t count, int *index)
{
    struct io_pick_value io = {p, count, index};
    int rv = hook(ud, ctx, K_PROPOSER, H_PICK_VALUE, "pick_value", b_pick_value, &io);
    return rv == 1 ? sk_strategy_default.pick_value(NULL, ctx, p, count, index) : rv;
}

static int b_skip_phase1(lua_State *L, struct call *c)
{
    push_fn_ctx(L, c);
    lua_call(L, 1, 1);
    *(bool *)c->io = lua_toboolean(L, -1);
    return 0;
}

static int h_skip_phase1(void *ud, struct sk_hook_ctx *ctx, bool *skip)
{
    int rv = hook(ud, ctx, K_PROPOSER, H_SKIP_PHASE1, "skip_phase1", b_skip_phase1, skip);
    return rv == 1 ? sk_strategy_default.skip_phase1(NULL, ctx, skip) : rv;
}

/* The longest wait a hook may ask for: an hour. */
#define MAX_WAIT_MS 3600000.0

static int b_thrifty(lua_State *L, struct call *c)
{
    uint64_t *fill_ms = c->io;
    push_fn_ctx(L, c);
    lua_call(L, 1, 1);
    if (lua_isnil(L, -1) || (lua_isboolean(L, -1) && !lua_toboolean(L, -1))) {
        *fill_ms = 0;
    } else if (!ms_in(L, -1, 1, MAX_WAIT_MS, fill_ms)) {
        char w[64];
        return bad(L, c,
                   "returned %s, expected milliseconds (1 to 3600000) before the other "
                   "acceptors are asked too, or false to ask all at once",
                   what(L, -1, w, sizeof w));
    }
    return 0;
}

static int h_thrifty(void *ud, struct sk_hook_ctx *ctx, uint64_t *fill_ms)
{
    int rv = hook(ud, ctx, K_PROPOSER, H_THRIFTY, "thrifty", b_thrifty, fill_ms);
    return rv == 1 ? sk_strategy_default.thrifty(NULL, ctx, fill_ms) : rv;
}

struct io_backoff {
    uint32_t attempt;
    const char *why;
    uint64_t *delay_ms;
    bool *give_up;
};

static int b_backoff(lua_State *L, struct call *c)
{
    struct io_backoff *io = c->io;
    push_fn_ctx(L, c);
    lua_pushinteger(L, io->attempt);
    lua_pushstring(L, io->why);
    lua_call(L, 3, 1);
    if (lua_isnil(L, -1) || (lua_isboolean(L, -1) && !lua_toboolean(L, -1))) {
        *io->give_up = true;
        *io->delay_ms = 0;
    } else if (ms_in(L, -1, 0, MAX_WAIT_MS, io->delay_ms)) {
        *io->give_up = false;
    } else {
        char w[64];
        return bad(L, c, "returned %s, expected milliseconds (0 to 3600000) or nil to give up",
                   what(L, -1, w, sizeof w));
    }
    return 0;
}

static int h_backoff(void *ud, struct sk_hook_ctx *ctx, uint32_t attempt, const char *why,
                     uint64_t *delay_ms, bool *give_up)
{
    struct io_backoff io = {attempt, why, delay_ms, give_up};
    int rv = hook(ud, ctx, K_BACKOFF, H_DELAY, "delay", b_backoff, &io);
    return rv == 1 ? sk_strategy_default.backoff(NULL, ctx, attempt, why, delay_ms, give_up) : rv;
}

struct io_apply {
    const uint8_t *state;
    size_t state_len;
    const struct sk_client_req *req;
    struct sk_ballot ballot;
    struct sk_buf *out;
    struct sk_lock_reply *reply;
};

/* An optional string field of the reply: [.., reply] unchanged. */
static void reply_str(lua_State *L, struct call *c, const char *name, char *out, size_t cap,
                      bool must_fit)
{
    int t = raw_field(L, -1, name);
    if (t == LUA_TSTRING) {
        size_t len;
        const char *v = lua_tolstring(L, -1, &len);
        if (must_fit && len >= cap) {
            bad(L, c, "returned reply.%s of %d bytes, at most %d", name, (int)len, (int)cap - 1);
        }
        snprintf(out, cap, "%s", v);
    } else if (t != LUA_TNIL) {
        char w[64];
        bad(L, c, "returned reply.%s = %s, expected a string or nil", name,
            what(L, -1, w, sizeof w));
    }
    lua_pop(L, 1);
}

static int b_apply(lua_State *L, struct call *c)
{
    struct io_apply *io = c->io;
    const struct sk_client_req *req = io->req;
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->fn_ref);
    char why[160];
    if (skl_value_push(L, io->state, io->state_len, why, sizeof why) != 0) {
        return luaL_error(L, "lock '%s': its stored state cannot be read (written by an older "
                             "version?): %s",
                          lock_name(req->key, req->key_len).s, why);
    }
    lua_createtable(L, 0, 8);
    /* a shared acquire is an acquire with req.shared = true (absent otherwise) */
    lua_pushstring(L, SK_OP_IS_ACQUIRE(req->op) ? "acquire" : sk_op_name(req->op));
    lua_setfield(L, -2, "op");
    if (req->op == SK_OP_ACQUIRE_SHARED) {
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "shared");
    }
    lua_pushlstring(L, (const char *)req->holder, req->holder_len);
    lua_setfield(L, -2, "holder");
    lua_pushlstring(L, (const char *)req->key, req->key_len);
    lua_setfield(L, -2, "lock");
    if (req->ttl_ms) {
        lua_pushinteger(L, req->ttl_ms);
        lua_setfield(L, -2, "ttl");
    }
    lua_pushinteger(L, (lua_Integer)sk_ballot_token(io->ballot));
    lua_setfield(L, -2, "token");
    if (req->fence) {
        lua_pushinteger(L, (lua_Integer)req->fence);
        lua_setfield(L, -2, "fence");
    }
    /* apply(state, req, ctx): the function sits below state and req */
    push_fn_ctx(L, c);
    lua_remove(L, -2); /* the second copy of the function */
    lua_call(L, 3, 2);
    /* [new_state, reply] */
    char w[64];
    if (!lua_istable(L, -1)) {
        return bad(L, c,
                   "returned %s as its reply, expected a table {status = \"granted\"|"
                   "\"refused\"|\"released\"|\"not_holder\", ...}",
                   what(L, -1, w, sizeof w));
    }
    if (lua_getmetatable(L, -1)) {
        return bad(L, c, "returned a reply table with a metatable, expected a plain table");
    }
    static const char *const names[] = {"granted", "refused", "released", "not_holder"};
    int code = 0;
    raw_field(L, -1, "status");
    const char *st = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
    for (int i = 0; i < 4 && code == 0; i++) {
        if (strcmp(st, names[i]) == 0) {
            code = SK_ST_GRANTED + i;
        }
    }
    if (strcmp(st, "queued") == 0) {
        code = SK_ST_QUEUED;
    }
    if (code == 0) {
        return bad(L, c,
                   "returned reply.status = %s, expected \"granted\", \"refused\", \"released\", "
                   "\"not_holder\" or \"queued\"",
                   what(L, -1, w, sizeof w));
    }
    lua_pop(L, 1);
    struct sk_lock_reply *reply = io->reply;
    /* the core's rules for waiting (PROTOCOL.md 7.4), said here with the script's
     * line (the place is checked below, with its type) */
    if (sk_lock_answer_check(req->op, (uint8_t)code, 1, why, sizeof why) != 0) {
        return bad(L, c, "%s", why);
    }
    reply->status = (uint8_t)code;
    reply_str(L, c, "holder", reply->holder, sizeof reply->holder, true);
    reply_str(L, c, "text", reply->text, sizeof reply->text, false);
    lua_Integer token = 0;
    if (raw_field(L, -1, "token") != LUA_TNIL && !int_in(L, -1, 1, LUA_MAXINTEGER, &token)) {
        return bad(L, c, "returned reply.token = %s, expected a positive integer or nil",
                   what(L, -1, w, sizeof w));
    }
    lua_pop(L, 1);
    reply->token = (uint64_t)token;
    if (code == SK_ST_QUEUED) {
        /* the place in the queue travels in the token field (PROTOCOL.md 8) */
        lua_Integer pos = 0;
        raw_field(L, -1, "position");
        if (!int_in(L, -1, 1, 1 << 30, &pos)) {
            return bad(L, c, "returned status \"queued\" with reply.position = %s, expected the "
                             "place in the queue, an integer from 1 (next) up",
                       what(L, -1, w, sizeof w));
        }
        lua_pop(L, 1);
        reply->token = (uint64_t)pos;
    }
    if (!lua_isnil(L, -2) && !lua_istable(L, -2)) {
        return bad(L, c, "returned %s as the new state, expected a table or nil (free)",
                   what(L, -2, w, sizeof w));
    }
    int len = skl_value_encode(L, -2, io->out->data, io->out->cap, why, sizeof why);
    if (len < 0) {
        return bad(L, c, "returned a new state that cannot be stored: %s", why);
    }
    io->out->len = (size_t)len;
    return 0;
}

static int h_apply_lock(void *ud, struct sk_hook_ctx *ctx, const uint8_t *state, size_t state_len,
                        const struct sk_client_req *req, struct sk_ballot ballot,
                        struct sk_buf *out, struct sk_lock_reply *reply)
{
    struct io_apply io = {state, state_len, req, ballot, out, reply};
    int rv = hook(ud, ctx, K_LOCK, H_APPLY, "apply", b_apply, &io);
    return rv == 1 ? sk_strategy_default.apply_lock(NULL, ctx, state, state_len, req, ballot, out,
                                                    reply)
                   : rv;
}

/* describe is for people, called once per register a status table shows
 * (on a daemon, inside its event loop): it gets a tenth of the budget, at
 * most a million instructions, so a describe that loops stalls a status
 * answer for milliseconds, not seconds. */
#define DESCRIBE_BUDGET 1000000u

struct io_describe {
    const uint8_t *state;
    size_t len;
    char *out;
    size_t cap;
};

static int b_describe(lua_State *L, struct call *c)
{
    struct io_describe *io = c->io;
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->fn_ref);
    char why[160];
    if (skl_value_push(L, io->state, io->len, why, sizeof why) != 0) {
        return luaL_error(L, "lock '%s': its state cannot be read: %s",
                          lock_name(c->ctx->key, c->ctx->key_len).s, why);
    }
    /* describe(state, ctx): the function sits below state */
    push_fn_ctx(L, c);
    lua_remove(L, -2); /* the second copy of the function */
    lua_call(L, 2, 1);
    if (lua_type(L, -1) != LUA_TSTRING) {
        char w[64];
        return bad(L, c, "returned %s, expected a string (a short text for people)",
                   what(L, -1, w, sizeof w));
    }
    size_t len;
    const char *text = lua_tolstring(L, -1, &len);
    if (len >= io->cap) {
        len = io->cap - 1; /* cut; sk_describe drops a split UTF-8 sequence */
    }
    memcpy(io->out, text, len);
    io->out[len] = 0;
    return 0;
}

static int h_describe_lock(void *ud, struct sk_hook_ctx *ctx, const uint8_t *state, size_t len,
                           char *out, size_t cap)
{
    struct skl_strategy *s = ud;
    if (cap == 0) {
        snprintf(ctx->errmsg, SK_ERRMSG_LEN, "no room for a description");
        return SK_EHOOK;
    }
    struct io_describe io = {state, len, out, cap};
    uint64_t budget = s->budget;
    s->budget = budget / 10 < DESCRIBE_BUDGET ? budget / 10 : DESCRIBE_BUDGET;
    if (s->budget < BUDGET_STEP) {
        s->budget = BUDGET_STEP;
    }
    int rv = hook(s, ctx, K_LOCK, H_DESCRIBE, "describe", b_describe, &io);
    s->budget = budget;
    return rv == 1 ? sk_strategy_default.describe_lock(NULL, ctx, state, len, out, cap) : rv;
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

/* Load the script of c->kind (its path is resolved): run its chunk in a
 * fresh sandbox, check what it returned, and take its hook functions.
 * A script that later changes its table changes nothing. */
static int b_load(lua_State *L, struct call *c)
{
    struct skl_strategy *s = c->s;
    int kind = c->kind;
    const char *path = s->path[kind];
    if (luaL_loadfilex(L, path, "t") != LUA_OK) {
        return lua_error(L);
    }
    push_env(L, 0);
    lua_setupvalue(L, -2, 1);
    lua_call(L, 0, 1);
    if (!lua_istable(L, -1)) {
        return luaL_error(L, "%s: the script returned %s, expected a table of functions (%s%s)",
                          path, luaL_typename(L, -1), kind == K_LOCK ? "apply, describe" : "",
                          kind == K_PROPOSER ? "next_ballot, enough, pick_value, ..."
                          : kind == K_BACKOFF ? "delay" : "");
    }
    if (lua_getmetatable(L, -1)) {
        /* hooks are read raw: one reached through __index would be
         * silently missed (and the C default run instead) */
        return luaL_error(L, "%s: the script returned a table with a metatable, expected a "
                             "plain table of functions (copy inherited hooks into it)",
                          path);
    }
    /* unknown keys are likely typos: say so rather than silently ignore */
    char list[160] = "";
    for (int h = 0; h < H_COUNT; h++) {
        if (hooks[h].kind == kind) {
            size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "", hooks[h].name);
        }
    }
    if (kind == K_PROPOSER || kind == K_LOCK) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used,
                 kind == K_PROPOSER ? ", classic" : ", model, describe");
    }
    lua_pushnil(L);
    while (lua_next(L, 1) != 0) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING) {
            continue;
        }
        const char *k = lua_tostring(L, -1);
        /* a lock script's model is for the checker, which loads the file itself */
        bool ok = k[0] == '_' || (kind == K_PROPOSER && strcmp(k, "classic") == 0) ||
                  (kind == K_LOCK && strcmp(k, "model") == 0) ||
                  (kind == K_LOCK && strcmp(k, "describe") == 0);
        for (int h = 0; !ok && h < H_COUNT; h++) {
            ok = hooks[h].kind == kind && strcmp(k, hooks[h].name) == 0;
        }
        if (!ok) {
            return luaL_error(L,
                              "%s: unknown hook '%s' (a %s script may define: %s; prefix "
                              "private helpers with _)",
                              path, k, kind_dirs[kind], list);
        }
    }
    for (int h = 0; h < H_COUNT; h++) {
        if (hooks[h].kind != kind) {
            continue;
        }
        int t = raw_field(L, 1, hooks[h].name);
        if (t == LUA_TFUNCTION) {
            s->fn_ref[h] = luaL_ref(L, LUA_REGISTRYINDEX);
        } else if (t != LUA_TNIL) {
            return luaL_error(L, "%s: '%s' is a %s, expected a function", path, hooks[h].name,
                              luaL_typename(L, -1));
        } else {
            lua_pop(L, 1);
        }
    }
    if (kind == K_PROPOSER && raw_field(L, 1, "classic") == LUA_TTABLE) {
        static const struct {
            const char *k;
            uint32_t f;
        } flags[] = {{"answer_local", SK_CLASSIC_ANSWER_LOCAL},
                     {"no_raise", SK_CLASSIC_NO_RAISE},
                     {"no_persist", SK_CLASSIC_NO_PERSIST},
                     {"ack_rejected", SK_CLASSIC_ACK_REJECTED},
                     {"no_identity", SK_CLASSIC_NO_IDENTITY}};
        for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
            raw_field(L, -1, flags[i].k);
            if (lua_toboolean(L, -1)) {
                s->classic |= flags[i].f;
            }
            lua_pop(L, 1);
        }
    }
    return 0;
}

static int load_script(struct skl_strategy *s, int kind, const char *name, char *err,
                       size_t errlen)
{
    resolve(s, kind, name, s->path[kind], sizeof s->path[kind]);
    if (!file_exists(s->path[kind])) {
        snprintf(err, errlen, "%s: no such script (a %s script: a name in %s/%s/ or a path)",
                 s->path[kind], kind_dirs[kind], s->scripts_dir, kind_dirs[kind]);
        return SK_EINVAL;
    }
    struct call c = {s, NULL, kind, LUA_NOREF, "loading", b_load, NULL};
    return run(&c, err, errlen);
}

/* Build the state's libraries and the sandbox template. */
static int b_setup(lua_State *L, struct call *c)
{
    luaL_openlibs(L);
    build_sandbox(L, c->s);
    return 0;
}

/* Errors never escape run(); if one does, say so before Lua aborts. */
static int panic(lua_State *L)
{
    const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?";
    fprintf(stderr, "skinny: a Lua error escaped the protected boundary (a bug in "
                    "bindings/lua_strategy.c): %s\n",
            msg);
    fflush(stderr);
    return 0; /* Lua then aborts */
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
    if (cfg->params != NULL) {
        s->params = *cfg->params;
        if (s->params.n > SK_PARAMS_MAX) {
            s->params.n = SK_PARAMS_MAX;
        }
    }
    for (int h = 0; h < H_COUNT; h++) {
        s->fn_ref[h] = LUA_NOREF;
    }
    s->L = lua_newstate(l_alloc, s);
    if (s->L == NULL) {
        free(s);
        snprintf(err, errlen, "out of memory");
        return SK_ENOMEM;
    }
    lua_atpanic(s->L, panic);
    /* the budget applies to every Lua instruction this state ever runs,
     * coroutines included (they inherit the hook) */
    lua_sethook(s->L, budget_hook, LUA_MASKCOUNT, BUDGET_STEP);
    struct call setup = {s, NULL, K_PROPOSER, LUA_NOREF, "setup", b_setup, NULL};
    int rv = run(&setup, err, errlen);
    const char *names[K_COUNT] = {cfg->proposer, cfg->backoff, cfg->lock};
    for (int k = 0; rv == 0 && k < K_COUNT; k++) {
        if (names[k] != NULL && names[k][0] != 0) {
            rv = load_script(s, k, names[k], err, errlen);
        }
    }
    if (rv != 0) {
        skl_strategy_close(s);
        return rv;
    }
    s->vt.ud = s;
    s->vt.next_ballot = h_next_ballot;
    s->vt.enough = h_enough;
    s->vt.pick_value = h_pick_value;
    s->vt.skip_phase1 = h_skip_phase1;
    s->vt.thrifty = h_thrifty;
    s->vt.backoff = h_backoff;
    s->vt.apply_lock = h_apply_lock;
    s->vt.describe_lock = h_describe_lock;
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
