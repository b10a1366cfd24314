/* lua_explore.c - skinny.core.explore{...}: the exhaustive explorer
 * (runtime/explore) for Lua, with the C defaults or the lab's Lua scripts.
 *
 *   core.explore{ nodes = 3, clients = { {node = 1, ops = {"acquire"}}, ... },
 *                 drops = 1, dups = 1, failovers = 0, crashes = 0, wipes = 0,
 *                 blank_votes = false, timers = true, max_depth = 0, max_states = 0,
 *                 classic = <enum sk_classic_flag bits>, phase_timeout = 100,
 *                 seed = 1, builtin = false, scripts_dir =, proposer =, backoff =,
 *                 lock =, budget =,
 *                 check = function(history) -> ok, what (optional) }
 *     -> { expanded =, transitions =, distinct =, node_states =, depth =,
 *          depth_bound =, state_bound =, seconds =, histories =, distinct_histories =,
 *          hook_errors = (script failures met), hook_error = (the first one's text),
 *          violation = bool, what =,
 *          path = { "step text", ... }, replay = "what each step caused",
 *          trace = "the counterexample as trace events, one JSON object a line" }
 *     or nil, message (a bad configuration or script: the message names it).
 *
 * With scripts, one Lua state serves every node of every configuration: the
 * explorer treats hooks as pure functions of their arguments, ctx.now and
 * ctx's generator (math.random comes from the node's own, which is cloned
 * with the node), as spec/HOOKS.md asks of scripts. A script that keeps
 * state in its module between calls is explored as if it did not.
 *
 * check: called with the clients' history (a list of operations as
 * skinny.check takes them; times are event numbers) on every configuration
 * an answer arrives in or the search ends at (explore.h "Histories"); returns true, or false and what is wrong. Equal
 * histories are checked once (a cache keyed by the history's bytes). */
#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <string.h>

#include "explore/explore.h"
#include "lua_explore.h"
#include "lua_strategy.h"
#include "sim/sim.h"
#include "trace_fmt.h"

static lua_Integer field_int(lua_State *L, int t, const char *k, lua_Integer dflt)
{
    lua_getfield(L, t, k);
    lua_Integer v = dflt;
    if (!lua_isnil(L, -1)) {
        int ok = 0;
        v = lua_tointegerx(L, -1, &ok);
        if (!ok || v < 0) {
            luaL_error(L, "explore: option '%s' must be a whole number >= 0", k);
        }
    }
    lua_pop(L, 1);
    return v;
}

static const char *field_str(lua_State *L, int t, const char *k)
{
    lua_getfield(L, t, k);
    const char *s = lua_isnil(L, -1) ? NULL : luaL_checkstring(L, -1);
    lua_pop(L, 1); /* the string stays alive in the options table */
    return s;
}

static bool field_bool(lua_State *L, int t, const char *k, bool dflt)
{
    lua_getfield(L, t, k);
    bool v = lua_isnil(L, -1) ? dflt : lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

struct text {
    luaL_Buffer *b;
};

static int put_text(void *ud, const void *p, size_t n)
{
    struct text *t = ud;
    luaL_addlstring(t->b, p, n);
    return 0;
}

/* The counterexample as trace lines (trace_fmt.h, as the simulator writes
 * them), decided values described by the lock script. */
struct events {
    struct sk_explorer *x;
    const struct sk_strategy *st;
    uint32_t nodes;
    struct sk_buf b;
};

static const char *ev_node(void *ud, uint32_t id)
{
    struct events *ev = ud;
    return sk_explore_node_name(ev->x, id);
}

static const char *ev_client(void *ud, uint32_t id)
{
    struct events *ev = ud;
    return id >= 1 ? sk_explore_client_name(ev->x, id - 1) : "?";
}

static void on_event(void *ud, const struct sk_sim_event *e)
{
    struct events *ev = ud;
    char text[SK_DESCRIBE_MAX];
    const char *describe = NULL;
    if (e->kind == SK_EV_NOTE && e->note->kind == SK_NOTE_DECIDED) {
        struct sk_rng rng = {0x9e3779b97f4a7c15ull ^ e->node};
        struct sk_hook_ctx ctx;
        memset(&ctx, 0, sizeof ctx);
        ctx.node_id = e->node;
        ctx.node_name = sk_explore_node_name(ev->x, e->node);
        ctx.cluster_size = ev->nodes;
        ctx.now_ms = e->t;
        ctx.rng = &rng;
        ctx.key = e->note->key;
        ctx.key_len = e->note->key_len;
        sk_describe(ev->st, &ctx, e->note->value, e->note->value_len, text, sizeof text);
        describe = text;
    }
    struct skl_trace_names nm = {ev_node, ev_client, ev};
    skl_trace_event(&ev->b, e, &nm, describe);
}

struct checker {
    lua_State *L;
    const struct sk_explorer *x; /* names of clients */
    int fn, cache;      /* stack indexes: the function, the cache table */
    uint64_t distinct;  /* histories the function saw */
    bool failed;        /* the function raised an error: err says it */
    char err[512];
};

static const char *status_word(uint8_t st)
{
    return st == 0 ? NULL : sk_status_name(st);
}

/* The history as skinny.check's operations, pushed on L. */
static void push_history(lua_State *L, const struct sk_explore_history *h,
                         const struct sk_explorer *x)
{
    lua_newtable(L);
    lua_Integer n = 0;
    for (uint32_t k = 0; k < h->n_clients; k++) {
        const char *who = sk_explore_client_name(x, k);
        for (uint32_t j = 0; j < h->c[k].n_sent; j++) {
            lua_createtable(L, 0, 10);
            lua_pushinteger(L, (lua_Integer)((k + 1) << 8 | (j + 1)));
            lua_setfield(L, -2, "id");
            lua_pushstring(L, who);
            lua_setfield(L, -2, "client");
            lua_pushstring(L, who);
            lua_setfield(L, -2, "holder");
            lua_pushstring(L, sk_op_name(h->c[k].op[j]));
            lua_setfield(L, -2, "op");
            lua_pushstring(L, "printer");
            lua_setfield(L, -2, "lock");
            lua_pushinteger(L, h->c[k].invoke[j]);
            lua_setfield(L, -2, "invoke");
            const char *st = status_word(h->c[k].status[j]);
            if (st != NULL && h->c[k].complete[j] != 0) {
                lua_pushinteger(L, h->c[k].complete[j]);
                lua_setfield(L, -2, "complete");
                lua_pushstring(L, st);
                lua_setfield(L, -2, "status");
            }
            if (h->c[k].status[j] == SK_ST_GRANTED) {
                lua_pushinteger(L, h->c[k].token[j]);
                lua_setfield(L, -2, "token");
            }
            if (h->c[k].by[j] != 0) {
                lua_pushstring(L, sk_explore_client_name(x, h->c[k].by[j] - 1u));
                lua_setfield(L, -2, "by");
            }
            lua_rawseti(L, -2, ++n);
        }
    }
}

static bool check_history(void *ud, const struct sk_explore_history *h, char *what, size_t len)
{
    struct checker *ck = ud;
    lua_State *L = ck->L;
    if (ck->failed || h->truncated) {
        return !ck->failed;
    }
    lua_pushlstring(L, (const char *)h, sizeof *h);
    if (lua_rawget(L, ck->cache) != LUA_TNIL) {
        bool ok = lua_toboolean(L, -1) && lua_type(L, -1) == LUA_TBOOLEAN;
        if (!ok && lua_type(L, -1) == LUA_TSTRING) {
            snprintf(what, len, "%s", lua_tostring(L, -1));
        }
        lua_pop(L, 1);
        return ok;
    }
    lua_pop(L, 1);
    ck->distinct++;
    lua_pushvalue(L, ck->fn);
    push_history(L, h, ck->x);
    if (lua_pcall(L, 1, 2, 0) != LUA_OK) {
        snprintf(ck->err, sizeof ck->err, "explore: the history checker failed: %s",
                 lua_tostring(L, -1));
        lua_pop(L, 1);
        ck->failed = true;
        return false;
    }
    bool ok = lua_toboolean(L, -2);
    if (!ok) {
        snprintf(what, len, "%s", lua_isstring(L, -1) ? lua_tostring(L, -1) : "the history "
                                                                               "checker failed");
    }
    lua_pop(L, 2);
    lua_pushlstring(L, (const char *)h, sizeof *h);
    if (ok) {
        lua_pushboolean(L, 1);
    } else {
        lua_pushstring(L, what);
    }
    lua_rawset(L, ck->cache);
    return ok;
}

int skl_explore(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    struct sk_explore_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.nodes = (uint32_t)field_int(L, 1, "nodes", 3);
    cfg.classic = (uint32_t)field_int(L, 1, "classic", 0);
    cfg.phase_timeout_ms = (uint64_t)field_int(L, 1, "phase_timeout", 100);
    cfg.seed = (uint64_t)field_int(L, 1, "seed", 1);
    cfg.max_drops = (uint32_t)field_int(L, 1, "drops", 0);
    cfg.max_dups = (uint32_t)field_int(L, 1, "dups", 0);
    cfg.max_failovers = (uint32_t)field_int(L, 1, "failovers", 0);
    cfg.max_crashes = (uint32_t)field_int(L, 1, "crashes", 0);
    cfg.max_wipes = (uint32_t)field_int(L, 1, "wipes", 0);
    cfg.blank_votes = field_bool(L, 1, "blank_votes", false);
    cfg.no_timers = !field_bool(L, 1, "timers", true);
    struct checker ck = {L, NULL, 0, 0, 0, false, ""};
    lua_getfield(L, 1, "check");
    if (lua_isfunction(L, -1)) {
        ck.fn = lua_gettop(L);
        lua_newtable(L);
        ck.cache = lua_gettop(L);
        cfg.check = check_history;
        cfg.check_ud = &ck;
    } else if (!lua_isnil(L, -1)) {
        return luaL_error(L, "explore: option 'check' must be a function(history) -> ok, what");
    }
    cfg.max_depth = (uint32_t)field_int(L, 1, "max_depth", 0);
    cfg.max_states = (uint64_t)field_int(L, 1, "max_states", 0);
    lua_getfield(L, 1, "clients");
    int ct = lua_gettop(L);
    if (!lua_istable(L, ct)) {
        return luaL_error(L, "explore: option 'clients' must be a list of {node =, ops = {...}}");
    }
    lua_Integer nc = luaL_len(L, ct);
    if (nc < 1 || nc > SK_EXPLORE_MAX_CLIENTS) {
        return luaL_error(L, "explore: 1 to %d clients, not %d", SK_EXPLORE_MAX_CLIENTS, (int)nc);
    }
    cfg.n_clients = (uint32_t)nc;
    for (lua_Integer i = 1; i <= nc; i++) {
        lua_geti(L, ct, i);
        int c = lua_gettop(L);
        if (!lua_istable(L, c)) {
            return luaL_error(L, "explore: clients[%d] must be a table {node =, ops = {...}}", (int)i);
        }
        struct sk_explore_client *cl = &cfg.clients[i - 1];
        cl->node = (uint32_t)field_int(L, c, "node", 1);
        cl->holder = field_str(L, c, "holder");
        lua_getfield(L, c, "ops");
        int ot = lua_gettop(L);
        lua_Integer no = lua_istable(L, ot) ? luaL_len(L, ot) : 0;
        if (no < 1 || no > SK_EXPLORE_MAX_OPS) {
            return luaL_error(L, "explore: clients[%d].ops: 1 to %d operations", (int)i,
                              SK_EXPLORE_MAX_OPS);
        }
        cl->n_ops = (uint32_t)no;
        for (lua_Integer j = 1; j <= no; j++) {
            lua_geti(L, ot, j);
            const char *op = lua_tostring(L, -1);
            if (op != NULL && strcmp(op, "acquire") == 0) {
                cl->ops[j - 1] = SK_OP_ACQUIRE;
            } else if (op != NULL && strcmp(op, "release") == 0) {
                cl->ops[j - 1] = SK_OP_RELEASE;
            } else {
                return luaL_error(L, "explore: clients[%d].ops[%d]: \"acquire\" or \"release\"",
                                  (int)i, (int)j);
            }
            lua_pop(L, 1);
        }
        lua_pop(L, 2); /* ops, the client */
    }
    /* the strategy: the C defaults, or the scripts (one Lua state for all) */
    struct skl_strategy *st = NULL;
    if (!field_bool(L, 1, "builtin", false)) {
        struct skl_strategy_config sc = {
            .scripts_dir = field_str(L, 1, "scripts_dir"),
            .proposer = field_str(L, 1, "proposer"),
            .backoff = field_str(L, 1, "backoff"),
            .lock = field_str(L, 1, "lock"),
            .budget = (uint64_t)field_int(L, 1, "budget", 0),
            .virtual_time = true,
        };
        if (sc.scripts_dir == NULL) {
            sc.scripts_dir = "scripts";
        }
        char err[512];
        if (skl_strategy_open(&st, &sc, err, sizeof err) != 0) {
            lua_pushnil(L);
            lua_pushstring(L, err);
            return 2;
        }
        cfg.st = skl_strategy_vtable(st);
        cfg.classic |= skl_strategy_classic(st);
    }
    char why[256];
    struct sk_explorer *x = sk_explore_new(&cfg, why, sizeof why);
    if (x == NULL) {
        skl_strategy_close(st);
        lua_pushnil(L);
        lua_pushfstring(L, "explore: %s", why);
        return 2;
    }
    struct sk_explore_result r;
    memset(&r, 0, sizeof r);
    ck.x = x;
    int rv = sk_explore_run(x, &r);
    if (ck.failed || rv != 0) {
        sk_explore_free(x);
        skl_strategy_close(st);
        lua_pushnil(L);
        lua_pushstring(L, ck.failed ? ck.err
                                    : "explore: out of memory (lower max_states or max_depth)");
        return 2;
    }
    lua_createtable(L, 0, 14);
    lua_pushinteger(L, (lua_Integer)r.expanded);
    lua_setfield(L, -2, "expanded");
    lua_pushinteger(L, (lua_Integer)r.transitions);
    lua_setfield(L, -2, "transitions");
    lua_pushinteger(L, (lua_Integer)r.distinct);
    lua_setfield(L, -2, "distinct");
    lua_pushinteger(L, (lua_Integer)r.node_states);
    lua_setfield(L, -2, "node_states");
    lua_pushinteger(L, (lua_Integer)r.depth);
    lua_setfield(L, -2, "depth");
    lua_pushboolean(L, r.depth_bound);
    lua_setfield(L, -2, "depth_bound");
    lua_pushboolean(L, r.state_bound);
    lua_setfield(L, -2, "state_bound");
    lua_pushnumber(L, r.seconds);
    lua_setfield(L, -2, "seconds");
    lua_pushboolean(L, r.violation);
    lua_setfield(L, -2, "violation");
    lua_pushinteger(L, (lua_Integer)r.histories);
    lua_setfield(L, -2, "histories");
    lua_pushinteger(L, (lua_Integer)ck.distinct);
    lua_setfield(L, -2, "distinct_histories");
    lua_pushinteger(L, (lua_Integer)r.hook_errors);
    lua_setfield(L, -2, "hook_errors");
    if (r.hook_errors > 0) {
        lua_pushstring(L, r.hook_error);
        lua_setfield(L, -2, "hook_error");
    }
    if (r.violation) {
        lua_pushstring(L, r.what);
        lua_setfield(L, -2, "what");
        lua_createtable(L, (int)r.path_len, 0);
        for (size_t i = 0; i < r.path_len; i++) {
            char step[160];
            sk_explore_step_text(x, r.path[i], step, sizeof step);
            lua_pushstring(L, step);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        lua_setfield(L, -2, "path");
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        struct text t = {&b};
        bool violated = false;
        int prv = sk_explore_replay(x, r.path, r.path_len, put_text, &t, &violated);
        luaL_pushresult(&b);
        lua_setfield(L, -2, "replay");
        lua_pushboolean(L, prv == 0 && violated);
        lua_setfield(L, -2, "replayed");
        struct events ev = {x, cfg.st != NULL ? cfg.st : &sk_strategy_default, cfg.nodes, {0}};
        if (sk_explore_events(x, r.path, r.path_len, on_event, &ev) == 0) {
            lua_pushlstring(L, ev.b.len ? (const char *)ev.b.data : "", ev.b.len);
            lua_setfield(L, -2, "trace");
        }
        free(ev.b.data);
    }
    sk_explore_free(x);
    skl_strategy_close(st);
    return 1;
}
