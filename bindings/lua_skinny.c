/* lua_skinny.c - the `skinny.core` Lua module: the simulator as a userdata
 * ("skinny.Sim"), each node with its own sandboxed strategy state, and a
 * fixed JSON-lines trace formatter (so traces are byte-stable).
 *
 * The Lua half (scripts/skinny/init.lua) builds the lab API on top. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "lua_pattern.h"
#include "lua_explore.h"
#include "lua_strategy.h"
#include "lua_value.h"
#include "sim/sim.h"
#include "trace_fmt.h"

#define SIM_MT "skinny.Sim"
#define MAX_CLIENTS 4096

struct lsim {
    struct sk_sim *sim;
    struct skl_strategy *st[SK_MAX_NODES + 1]; /* NULL: C defaults */
    char names[SK_MAX_NODES + 1][64];
    uint32_t n;
    char **clients; /* client names, index = id - 1 */
    uint32_t n_clients, cap_clients;
    bool tracing;
    struct sk_buf trace;  /* JSON lines */
    size_t trace_lines;
    size_t trace_read;    /* byte offset already handed to Lua */
    FILE *trace_file;     /* optional: lines also written here */
    uint64_t req_ids;
};

/* ------------------------------------------------------------- the trace */

static const char *node_name(struct lsim *ls, uint32_t id)
{
    return id >= 1 && id <= ls->n ? ls->names[id] : "?";
}

static const char *client_name(struct lsim *ls, uint32_t id)
{
    return id >= 1 && id <= ls->n_clients ? ls->clients[id - 1] : "?";
}

/* What register value v of lock key means on node i, for people: that
 * node's lock script's describe (or the C default's), run protected, with
 * the node's clock and a generator of its own (a description never moves
 * the node's, so a run replays the same with or without them). */
static void describe_on(struct lsim *ls, uint32_t i, const uint8_t *key, uint32_t key_len,
                        const uint8_t *v, size_t len, char *out, size_t cap)
{
    struct sk_rng rng = {0x9e3779b97f4a7c15ull ^ i};
    struct sk_hook_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.node_id = i;
    ctx.node_name = node_name(ls, i);
    ctx.cluster_size = ls->n;
    ctx.now_ms = sk_sim_local_now(ls->sim, i);
    ctx.rng = &rng;
    ctx.key = key;
    ctx.key_len = key_len;
    const struct sk_strategy *st = i >= 1 && i <= ls->n && ls->st[i] != NULL
                                       ? skl_strategy_vtable(ls->st[i])
                                       : &sk_strategy_default;
    sk_describe(st, &ctx, v, len, out, cap);
}

static const char *node_name_cb(void *ud, uint32_t id)
{
    return node_name(ud, id);
}

static const char *client_name_cb(void *ud, uint32_t id)
{
    return client_name(ud, id);
}

static void on_event(void *ud, const struct sk_sim_event *e)
{
    struct lsim *ls = ud;
    if (!ls->tracing) {
        return;
    }
    struct sk_buf *b = &ls->trace;
    size_t start = b->len;
    /* Descriptions go into the trace on decisions only: one describe per
     * decided value, not one per acceptance (five times as many, most of
     * them repeats). The pictures (render.lua) show an accepted value with
     * the description of the decision at the same lock, ballot and state,
     * else the state itself. */
    char text[SK_DESCRIBE_MAX];
    const char *describe = NULL;
    if (e->kind == SK_EV_NOTE && e->note->kind == SK_NOTE_DECIDED) {
        describe_on(ls, e->node, e->note->key, e->note->key_len, e->note->value,
                    e->note->value_len, text, sizeof text);
        describe = text;
    }
    struct skl_trace_names nm = {node_name_cb, client_name_cb, ls};
    if (!skl_trace_event(b, e, &nm, describe)) {
        return;
    }
    ls->trace_lines++;
    if (ls->trace_file != NULL) {
        fwrite(b->data + start, 1, b->len - start, ls->trace_file);
    }
}

/* ------------------------------------------------------------ userdata */

static struct lsim *check_sim(lua_State *L)
{
    struct lsim *ls = luaL_checkudata(L, 1, SIM_MT);
    if (ls->sim == NULL) {
        luaL_error(L, "the simulation is closed");
    }
    return ls;
}

static void lsim_release(struct lsim *ls)
{
    if (ls->sim != NULL) {
        sk_sim_free(ls->sim);
        ls->sim = NULL;
    }
    for (uint32_t i = 0; i <= SK_MAX_NODES; i++) {
        skl_strategy_close(ls->st[i]);
        ls->st[i] = NULL;
    }
    for (uint32_t i = 0; i < ls->n_clients; i++) {
        free(ls->clients[i]);
    }
    free(ls->clients);
    ls->clients = NULL;
    ls->n_clients = 0;
    free(ls->trace.data);
    ls->trace.data = NULL;
    ls->trace.len = ls->trace.cap = 0;
    if (ls->trace_file != NULL) {
        fclose(ls->trace_file);
        ls->trace_file = NULL;
    }
}

static int l_sim_gc(lua_State *L)
{
    struct lsim *ls = luaL_checkudata(L, 1, SIM_MT);
    lsim_release(ls);
    return 0;
}

static const char *opt_str(lua_State *L, int t, const char *k, const char *dflt)
{
    lua_getfield(L, t, k);
    const char *v = lua_isnil(L, -1) ? dflt : lua_tostring(L, -1);
    if (!lua_isnil(L, -1) && v == NULL) {
        luaL_error(L, "option '%s' must be a string", k);
    }
    lua_pop(L, 1); /* strings in the options table stay alive */
    return v;
}

static lua_Integer opt_int(lua_State *L, int t, const char *k, lua_Integer dflt)
{
    lua_getfield(L, t, k);
    lua_Integer v = dflt;
    if (!lua_isnil(L, -1)) {
        int ok;
        v = lua_tointegerx(L, -1, &ok);
        if (!ok) {
            luaL_error(L, "option '%s' must be an integer", k);
        }
    }
    lua_pop(L, 1);
    return v;
}

/* Lock parameters from the Lua table at idx (nil: none) added to *ps, a key
 * given again replacing its value: string keys of at most 32 bytes, values
 * integers, strings of at most 128 bytes or booleans (spec/LAB.md,
 * lock_params). 0, or -1 with the reason (naming `where` and the key) in err. */
static int read_params(lua_State *L, int idx, const char *where, struct sk_params *ps, char *err,
                       size_t errlen)
{
    idx = lua_absindex(L, idx);
    if (lua_isnil(L, idx)) {
        return 0;
    }
    if (!lua_istable(L, idx)) {
        snprintf(err, errlen, "%s must be a table of parameters (permits = 3, ...), got a %s",
                 where, luaL_typename(L, idx));
        return -1;
    }
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        size_t kl;
        if (lua_type(L, -2) != LUA_TSTRING) {
            snprintf(err, errlen, "%s: keys are names (strings), got a %s key", where,
                     luaL_typename(L, -2));
            lua_pop(L, 2);
            return -1;
        }
        const char *k = lua_tolstring(L, -2, &kl);
        if (kl < 1 || kl > SK_PARAM_KEY_MAX) {
            snprintf(err, errlen, "%s: key \"%.40s\" must be 1 to %d bytes", where, k,
                     SK_PARAM_KEY_MAX);
            lua_pop(L, 2);
            return -1;
        }
        struct sk_param *p = NULL;
        for (uint32_t i = 0; i < ps->n && p == NULL; i++) {
            if (strcmp(ps->p[i].key, k) == 0) {
                p = &ps->p[i];
            }
        }
        if (p == NULL) {
            if (ps->n >= SK_PARAMS_MAX) {
                snprintf(err, errlen, "%s: at most %d parameters", where, SK_PARAMS_MAX);
                lua_pop(L, 2);
                return -1;
            }
            p = &ps->p[ps->n++];
        }
        memset(p, 0, sizeof *p);
        memcpy(p->key, k, kl);
        int isnum = 0;
        lua_Integer iv = lua_tointegerx(L, -1, &isnum);
        if (lua_type(L, -1) == LUA_TNUMBER && isnum) {
            p->type = SK_PARAM_INT;
            p->i = (int64_t)iv;
        } else if (lua_type(L, -1) == LUA_TBOOLEAN) {
            p->type = SK_PARAM_BOOL;
            p->i = lua_toboolean(L, -1);
        } else if (lua_type(L, -1) == LUA_TSTRING && lua_rawlen(L, -1) <= SK_PARAM_STR_MAX) {
            p->type = SK_PARAM_STR;
            snprintf(p->s, sizeof p->s, "%s", lua_tostring(L, -1));
        } else {
            snprintf(err, errlen,
                     "%s: key \"%s\" must be an integer, a string of at most %d bytes or a "
                     "boolean, got %s",
                     where, k, SK_PARAM_STR_MAX,
                     lua_type(L, -1) == LUA_TNUMBER ? "a number with a fraction"
                                                    : luaL_typename(L, -1));
            lua_pop(L, 2);
            return -1;
        }
        lua_pop(L, 1);
    }
    return 0;
}

/* core.sim{ seed=, nodes={names}, scripts_dir=, proposer=, backoff=, lock=,
 *           builtin=bool, phase_timeout=, budget=, trace=bool, trace_file=,
 *           per_node = { [name] = {proposer=, backoff=, lock=} } }
 * -> sim, or nil, message, code */
static int l_sim_new(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    struct lsim *ls = lua_newuserdatauv(L, sizeof *ls, 0);
    memset(ls, 0, sizeof *ls);
    luaL_setmetatable(L, SIM_MT); /* created closed: sim == NULL until ready */
    int ud = lua_gettop(L);
    uint64_t seed = (uint64_t)opt_int(L, 1, "seed", 1);
    lua_Integer phase_timeout = opt_int(L, 1, "phase_timeout", 500);
    /* identity = false: request identity off (unsafe, for the failover
     * lesson); it is on unless said otherwise */
    lua_getfield(L, 1, "identity");
    bool identity = lua_isnil(L, -1) || lua_toboolean(L, -1);
    lua_pop(L, 1);
    lua_Integer budget = opt_int(L, 1, "budget", 0);
    bool builtin = false;
    lua_getfield(L, 1, "builtin");
    builtin = lua_toboolean(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, 1, "trace");
    ls->tracing = lua_isnil(L, -1) || lua_toboolean(L, -1);
    lua_pop(L, 1);
    const char *trace_file = opt_str(L, 1, "trace_file", NULL);
    const char *dir = opt_str(L, 1, "scripts_dir", "scripts");
    const char *proposer = opt_str(L, 1, "proposer", "paxos");
    const char *backoff = opt_str(L, 1, "backoff", "exponential_jitter");
    const char *lock = opt_str(L, 1, "lock", "advisory");
    lua_getfield(L, 1, "nodes");
    if (!lua_istable(L, -1)) {
        return luaL_error(L, "option 'nodes' must be a list of instance names");
    }
    int nodes = lua_gettop(L);
    uint32_t n = (uint32_t)luaL_len(L, nodes);
    if (n < 1 || n > SK_MAX_NODES) {
        return luaL_error(L, "a cluster has 1 to %d instances, not %d", SK_MAX_NODES, (int)n);
    }
    lua_getfield(L, 1, "per_node");
    int per_node = lua_istable(L, -1) ? lua_gettop(L) : 0;
    struct sk_params params = {0};
    char perr[SK_ERRMSG_LEN];
    lua_getfield(L, 1, "lock_params");
    if (read_params(L, -1, "option 'lock_params'", &params, perr, sizeof perr) != 0) {
        return luaL_error(L, "%s", perr);
    }
    lua_pop(L, 1);
    ls->sim = sk_sim_new(seed);
    if (ls->sim == NULL) {
        return luaL_error(L, "out of memory");
    }
    sk_sim_on_event(ls->sim, on_event, ls);
    if (trace_file != NULL) {
        ls->trace_file = fopen(trace_file, "w");
        if (ls->trace_file == NULL) {
            lua_pushnil(L);
            lua_pushfstring(L, "%s: cannot write the trace file", trace_file);
            lua_pushstring(L, "SK_EIO");
            lsim_release(ls);
            return 3;
        }
    }
    for (uint32_t i = 1; i <= n; i++) {
        lua_rawgeti(L, nodes, i);
        const char *name = lua_tostring(L, -1);
        if (name == NULL) {
            lsim_release(ls);
            return luaL_error(L, "instance %d has no name", (int)i);
        }
        snprintf(ls->names[i], sizeof ls->names[i], "%s", name);
        lua_pop(L, 1);
        const char *p = proposer, *b = backoff, *lk = lock;
        struct sk_params mine = params;
        if (per_node) {
            lua_getfield(L, per_node, ls->names[i]);
            if (lua_istable(L, -1)) {
                int t = lua_gettop(L);
                p = opt_str(L, t, "proposer", p);
                b = opt_str(L, t, "backoff", b);
                lk = opt_str(L, t, "lock", lk);
                lua_getfield(L, t, "lock_params");
                char where[128];
                snprintf(where, sizeof where, "option 'per_node.%s.lock_params'", ls->names[i]);
                if (read_params(L, -1, where, &mine, perr, sizeof perr) != 0) {
                    lsim_release(ls);
                    return luaL_error(L, "%s", perr);
                }
                lua_pop(L, 1);
            }
            lua_pop(L, 1);
        }
        uint32_t classic = 0;
        if (!builtin) {
            struct skl_strategy_config sc = {dir, p, b, lk, (uint64_t)budget, true, &mine};
            char err[SK_ERRMSG_LEN];
            if (skl_strategy_open(&ls->st[i], &sc, err, sizeof err) != 0) {
                lsim_release(ls);
                lua_pushnil(L);
                lua_pushstring(L, err);
                lua_pushstring(L, "SK_EHOOK");
                return 3;
            }
            classic = skl_strategy_classic(ls->st[i]);
        }
        struct sk_config cfg = {0};
        cfg.id = i;
        cfg.name = ls->names[i];
        cfg.cluster_size = n;
        cfg.phase_timeout_ms = (uint64_t)phase_timeout;
        cfg.classic = classic | (identity ? 0 : SK_CLASSIC_NO_IDENTITY);
        cfg.seed = seed * 0x9e3779b97f4a7c15ull + i;
        int rv = sk_sim_add_node(ls->sim, &cfg, ls->st[i] ? skl_strategy_vtable(ls->st[i]) : NULL);
        if (rv != 0) {
            lsim_release(ls);
            return luaL_error(L, "cannot add instance %s: %s", ls->names[i], sk_strerror(rv));
        }
    }
    ls->n = n;
    lua_settop(L, ud);
    return 1;
}

static int l_sim_close(lua_State *L)
{
    struct lsim *ls = luaL_checkudata(L, 1, SIM_MT);
    lsim_release(ls);
    return 0;
}

static uint32_t check_node(lua_State *L, struct lsim *ls, int idx)
{
    if (lua_type(L, idx) == LUA_TSTRING) {
        const char *name = lua_tostring(L, idx);
        for (uint32_t i = 1; i <= ls->n; i++) {
            if (strcmp(ls->names[i], name) == 0) {
                return i;
            }
        }
        luaL_argerror(L, idx, lua_pushfstring(L, "no instance named '%s'", name));
    }
    lua_Integer id = luaL_checkinteger(L, idx);
    luaL_argcheck(L, id >= 1 && id <= (lua_Integer)ls->n, idx, "no such instance");
    return (uint32_t)id;
}

/* sim:client(name) -> id */
static int l_sim_client(lua_State *L)
{
    struct lsim *ls = check_sim(L);
    const char *name = luaL_checkstring(L, 2);
    luaL_argcheck(L, ls->n_clients < MAX_CLIENTS, 2, "too many clients");
    if (ls->n_clients == ls->cap_clients) {
        uint32_t cap = ls->cap_clients ? ls->cap_clients * 2 : 16;
        char **c = realloc(ls->clients, cap * sizeof *c);
        if (c == NULL) {
            return luaL_error(L, "out of memory");
        }
        ls->clients = c;
        ls->cap_clients = cap;
    }
    char *copy = strdup(name);
    if (copy == NULL) {
        return luaL_error(L, "out of memory");
    }
    ls->clients[ls->n_clients++] = copy;
    lua_pushinteger(L, ls->n_clients);
    return 1;
}

static int op_code(lua_State *L, int idx)
{
    /* in the order of enum sk_op */
    static const char *const ops[] = {"acquire", "release", "renew", "acquire_shared", NULL};
    return luaL_checkoption(L, idx, NULL, ops) + 1;
}

/* sim:request(client_id, node, op, lock, holder, ttl_ms, timeout_ms, seq, fence, opts) -> req_id
 * The request's identity is (client_id, seq); seq must be non-zero and, for
 * a new request of a holder, larger than the last (spec/PROTOCOL.md 7.4).
 * opts (optional): { resend_of = req_id of the first send of this same
 * request, attempt = 2, 3, ..., fail_fast = bool } (sk_sim_req_opts). */
static int l_sim_request(lua_State *L)
{
    struct lsim *ls = check_sim(L);
    lua_Integer client = luaL_checkinteger(L, 2);
    luaL_argcheck(L, client >= 1 && client <= (lua_Integer)ls->n_clients, 2, "no such client");
    uint32_t node = check_node(L, ls, 3);
    int op = op_code(L, 4);
    size_t key_len, holder_len;
    const char *key = luaL_checklstring(L, 5, &key_len);
    const char *holder = luaL_checklstring(L, 6, &holder_len);
    lua_Integer ttl = luaL_optinteger(L, 7, 0);
    lua_Integer timeout = luaL_optinteger(L, 8, 0);
    lua_Integer seq = luaL_checkinteger(L, 9);
    lua_Integer fence = luaL_optinteger(L, 10, 0);
    luaL_argcheck(L, seq > 0, 9, "sequence numbers are > 0");
    luaL_argcheck(L, fence >= 0, 10, "a token is >= 0");
    luaL_argcheck(L, fence == 0 || !SK_OP_IS_ACQUIRE(op), 10, "an acquire carries no token");
    luaL_argcheck(L, key_len >= 1 && key_len <= SK_KEY_MAX, 5, "lock names are 1 to 128 bytes");
    luaL_argcheck(L, holder_len <= SK_HOLDER_MAX, 6, "holder names are at most 128 bytes");
    luaL_argcheck(L, ttl >= 0 && ttl <= UINT32_MAX, 7, "ttl out of range");
    luaL_argcheck(L, timeout >= 0, 8, "timeout must be >= 0");
    struct sk_client_req r = {0,
                              (uint8_t)op,
                              (uint32_t)ttl,
                              (const uint8_t *)key,
                              (uint32_t)key_len,
                              (const uint8_t *)holder,
                              (uint32_t)holder_len,
                              (uint64_t)client,
                              (uint64_t)seq,
                              (uint64_t)fence};
    struct sk_sim_req_opts o = {.timeout_ms = (uint64_t)timeout, .attempt = 1};
    if (!lua_isnoneornil(L, 11)) {
        luaL_checktype(L, 11, LUA_TTABLE);
        lua_Integer of = opt_int(L, 11, "resend_of", 0);
        lua_Integer attempt = opt_int(L, 11, "attempt", 1);
        luaL_argcheck(L, of >= 0 && (lua_Unsigned)of <= ls->req_ids, 11, "resend_of: no such request");
        luaL_argcheck(L, attempt >= 1 && attempt <= UINT32_MAX, 11, "attempt: 1 or more");
        luaL_argcheck(L, (of == 0) == (attempt == 1), 11, "a resend (attempt > 1) names its first send");
        o.resend_of = (uint64_t)of;
        o.attempt = (uint32_t)attempt;
        lua_getfield(L, 11, "fail_fast");
        o.fail_fast = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    int rv = sk_sim_request_opts(ls->sim, (uint32_t)client, node, &r, &o);
    if (rv != 0) {
        lua_pushnil(L);
        lua_pushstring(L, sk_strerror(rv));
        lua_pushstring(L, sk_err_name(rv));
        return 3;
    }
    lua_pushinteger(L, (lua_Integer)++ls->req_ids);
    return 1;
}

/* sim:run(until_ms, stop_on_reply) -> "time"|"timer"|"reply"|"idle", cookie */
static int l_sim_run(lua_State *L)
{
    struct lsim *ls = check_sim(L);
    lua_Integer until = luaL_checkinteger(L, 2);
    luaL_argcheck(L, until >= 0, 2, "time must be >= 0");
    bool stop_on_reply = lua_toboolean(L, 3);
    uint64_t cookie = 0;
    int why = sk_sim_run(ls->sim, (uint64_t)until, stop_on_reply, &cookie);
    static const char *const names[] = {"time", "timer", "reply", "idle"};
    lua_pushstring(L, names[why]);
    if (why == SK_SIM_TIMER) {
        lua_pushinteger(L, (lua_Integer)cookie);
        return 2;
    }
    return 1;
}

static int l_sim_at(lua_State *L)
{
    struct lsim *ls = check_sim(L);
    lua_Integer t = luaL_checkinteger(L, 2);
    lua_Integer cookie = luaL_checkinteger(L, 3);
    luaL_argcheck(L, t >= 0, 2, "time must be >= 0");
    sk_sim_at(ls->sim, (uint64_t)t, (uint64_t)cookie);
    return 0;
}

static int l_sim_now(lua_State *L)
{
    struct lsim *ls = check_sim(L);
    lua_pushinteger(L, (lua_Integer)sk_sim_now(ls->sim));
    return 1;
}

/* sim:replies() -> { {req=, client=, node=, status=, token=, holder=, text=, t=}, ... } */
static int l_sim_replies(lua_State *L)
{
    struct lsim *ls = check_sim(L);
    lua_newtable(L);
    struct sk_sim_reply r;
    lua_Integer i = 0;
    while (sk_sim_next_reply(ls->sim, &r)) {
        lua_createtable(L, 0, 8);
        lua_pushinteger(L, (lua_Integer)r.req_id);
        lua_setfield(L, -2, "req");
        lua_pushinteger(L, r.client);
        lua_setfield(L, -2, "client");
        lua_pushstring(L, ls->names[r.node]);
        lua_setfield(L, -2, "node");
        lua_pushstring(L, skl_status_name(r.status));
        lua_setfield(L, -2, "status");
        if (r.token) {
            lua_pushinteger(L, (lua_Integer)r.token);
            lua_setfield(L, -2, "token");
        }
        if (r.holder[0]) {
            lua_pushstring(L, r.holder);
            lua_setfield(L, -2, "holder");
        }
        if (r.text[0]) {
            lua_pushstring(L, r.text);
            lua_setfield(L, -2, "text");
        }
        lua_pushinteger(L, (lua_Integer)r.t);
        lua_setfield(L, -2, "t");
        if (r.waited) {
            lua_pushboolean(L, 1);
            lua_setfield(L, -2, "waited");
        }
        lua_rawseti(L, -2, ++i);
    }
    return 1;
}

static int fault_result(lua_State *L, int rv)
{
    if (rv != 0) {
        lua_pushnil(L);
        lua_pushstring(L, sk_strerror(rv));
        lua_pushstring(L, sk_err_name(rv));
        return 3;
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int l_sim_crash(lua_State *L)
{
    struct lsim *ls = check_sim(L);
    return fault_result(L, sk_sim_crash(ls->sim, check_node(L, ls, 2)));
}

/* sim:restart(node, amnesia, rejoin): rejoin defaults to true; false lets
 * a blank node vote at once (unsafe on purpose) */
static int l_sim_restart(lua_State *L)
{
    struct lsim *ls = check_sim(L);
    uint32_t node = check_node(L, ls, 2);
    bool rejoin = lua_isnoneornil(L, 4) || lua_toboolean(L, 4);
    return fault_result(L, sk_sim_restart_ex(ls->sim, node, lua_toboolean(L, 3), rejoin));
}

static int l_sim_pause(lua_State *L)
{
    struct lsim *ls = check_sim(L);
    return fault_result(L, sk_sim_pause(ls->sim, check_node(L, ls, 2)));
}

static int l_sim_resume(lua_State *L)
{
    struct lsim *ls = check_sim(L);
    return fault_result(L, sk_sim_resume(ls->sim, check_node(L, ls, 2)));
}

static int l_sim_skew(lua_State *L)
{
    struct lsim *ls = check_sim(L);
    uint32_t node = check_node(L, ls, 2);
    return fault_result(L, sk_sim_skew(ls->sim, node, (int64_t)luaL_checkinteger(L, 3)));
}

static int l_sim_fault_note(lua_State *L)
{
    struct lsim *ls = check_sim(L);
    uint32_t node = lua_isnoneornil(L, 2) ? 0 : check_node(L, ls, 2);
    sk_sim_fault_note(ls->sim, node, luaL_checkstring(L, 3));
    return 0;
}

static double field_num(lua_State *L, int t, const char *k, double dflt)
{
    lua_getfield(L, t, k);
    double v = dflt;
    if (!lua_isnil(L, -1)) {
        int ok;
        v = (double)lua_tonumberx(L, -1, &ok);
        if (!ok) {
            luaL_error(L, "link option '%s' must be a number", k);
        }
    }
    lua_pop(L, 1);
    return v;
}

/* sim:link(from or 0, to or 0, {kind="const"|"uniform"|"exp", a=, b=, loss=,
 *          dup=, reorder=, reorder_ms=, blocked=}) - fields left out keep
 * their current value. */
static int l_sim_link(lua_State *L)
{
    struct lsim *ls = check_sim(L);
    uint32_t from = lua_isinteger(L, 2) && lua_tointeger(L, 2) == 0 ? 0 : check_node(L, ls, 2);
    uint32_t to = lua_isinteger(L, 3) && lua_tointeger(L, 3) == 0 ? 0 : check_node(L, ls, 3);
    luaL_checktype(L, 4, LUA_TTABLE);
    for (uint32_t i = 1; i <= ls->n; i++) {
        for (uint32_t j = 1; j <= ls->n; j++) {
            if ((from && from != i) || (to && to != j)) {
                continue;
            }
            struct sk_link l;
            sk_sim_get_link(ls->sim, i, j, &l);
            lua_getfield(L, 4, "kind");
            if (!lua_isnil(L, -1)) {
                static const char *const kinds[] = {"const", "uniform", "exp", NULL};
                l.kind = (uint8_t)luaL_checkoption(L, -1, NULL, kinds);
            }
            lua_pop(L, 1);
            l.a = field_num(L, 4, "a", l.a);
            l.b = field_num(L, 4, "b", l.b);
            l.loss = field_num(L, 4, "loss", l.loss);
            l.dup = field_num(L, 4, "dup", l.dup);
            l.reorder = field_num(L, 4, "reorder", l.reorder);
            l.reorder_ms = field_num(L, 4, "reorder_ms", l.reorder_ms);
            lua_getfield(L, 4, "blocked");
            if (!lua_isnil(L, -1)) {
                l.blocked = lua_toboolean(L, -1);
            }
            lua_pop(L, 1);
            sk_sim_set_link(ls->sim, i, j, &l);
        }
    }
    return 0;
}

/* sim:client_link(client_id or 0, node or 0, way, {kind=, a=, b=, loss=,
 *                 reorder=, reorder_ms=, blocked=}) - way: "both", "requests"
 * (client -> instance) or "answers"; fields left out keep their value;
 * client 0: every client, node 0: every instance. */
static int l_sim_client_link(lua_State *L)
{
    struct lsim *ls = check_sim(L);
    lua_Integer client = luaL_checkinteger(L, 2);
    luaL_argcheck(L, client >= 0 && client <= (lua_Integer)ls->n_clients, 2, "no such client");
    uint32_t node = lua_isinteger(L, 3) && lua_tointeger(L, 3) == 0 ? 0 : check_node(L, ls, 3);
    static const char *const ways[] = {"requests", "answers", "both", NULL};
    int way = luaL_checkoption(L, 4, "both", ways) + 1;
    luaL_checktype(L, 5, LUA_TTABLE);
    struct sk_link l = {0};
    int fields = 0;
    lua_getfield(L, 5, "kind");
    if (!lua_isnil(L, -1)) {
        static const char *const kinds[] = {"const", "uniform", "exp", NULL};
        l.kind = (uint8_t)luaL_checkoption(L, -1, NULL, kinds);
        l.a = field_num(L, 5, "a", 0);
        l.b = field_num(L, 5, "b", l.a);
        fields |= SK_LINK_LATENCY;
    } else if (field_num(L, 5, "a", -1) != -1 || field_num(L, 5, "b", -1) != -1) {
        return luaL_error(L, "client_link: a latency is given whole (kind, a, b)");
    }
    lua_pop(L, 1);
    lua_getfield(L, 5, "loss");
    if (!lua_isnil(L, -1)) {
        l.loss = field_num(L, 5, "loss", 0);
        fields |= SK_LINK_LOSS;
    }
    lua_pop(L, 1);
    lua_getfield(L, 5, "reorder");
    if (!lua_isnil(L, -1)) {
        l.reorder = field_num(L, 5, "reorder", 0);
        l.reorder_ms = field_num(L, 5, "reorder_ms", 0);
        fields |= SK_LINK_REORDER;
    }
    lua_pop(L, 1);
    lua_getfield(L, 5, "blocked");
    if (!lua_isnil(L, -1)) {
        l.blocked = lua_toboolean(L, -1);
        fields |= SK_LINK_BLOCKED;
    }
    lua_pop(L, 1);
    int rv = sk_sim_set_client_link(ls->sim, (uint32_t)client, node, way, &l, fields);
    if (rv != 0) {
        return luaL_error(L, "client_link: %s", sk_strerror(rv));
    }
    return 0;
}

/* sim:client_link_of(client_id or 0, node, way) -> {kind=, a=, b=, loss=, blocked=} */
static int l_sim_client_link_of(lua_State *L)
{
    struct lsim *ls = check_sim(L);
    lua_Integer client = luaL_checkinteger(L, 2);
    luaL_argcheck(L, client >= 0 && client <= (lua_Integer)ls->n_clients, 2, "no such client");
    uint32_t node = check_node(L, ls, 3);
    static const char *const ways[] = {"requests", "answers", NULL};
    int way = luaL_checkoption(L, 4, NULL, ways) + 1;
    struct sk_link l;
    sk_sim_get_client_link(ls->sim, (uint32_t)client, node, way, &l);
    static const char *const kinds[] = {"const", "uniform", "exp"};
    lua_createtable(L, 0, 6);
    lua_pushstring(L, l.kind <= SK_LAT_EXP ? kinds[l.kind] : "?");
    lua_setfield(L, -2, "kind");
    lua_pushnumber(L, l.a);
    lua_setfield(L, -2, "a");
    lua_pushnumber(L, l.b);
    lua_setfield(L, -2, "b");
    lua_pushnumber(L, l.loss);
    lua_setfield(L, -2, "loss");
    lua_pushnumber(L, l.reorder);
    lua_setfield(L, -2, "reorder");
    lua_pushboolean(L, l.blocked);
    lua_setfield(L, -2, "blocked");
    return 1;
}

static int l_sim_client_latency(lua_State *L)
{
    struct lsim *ls = check_sim(L);
    lua_Integer ms = luaL_checkinteger(L, 2);
    luaL_argcheck(L, ms >= 0, 2, "latency must be >= 0");
    sk_sim_set_client_latency(ls->sim, (uint64_t)ms);
    return 0;
}

static void push_ballot(lua_State *L, struct sk_ballot b)
{
    char buf[SK_BALLOT_STR_MAX];
    lua_pushstring(L, sk_ballot_str(b, buf, sizeof buf));
}

/* sim:status() -> { {name=, up=, locks = { {lock=, promised="r.n",
 *   accepted="r.n", state=table|nil, describe=string}, ... } }, ... }
 *   sorted by lock; describe: what the state means, by the node's lock
 *   script (spec/HOOKS.md, "Lock hooks") */
static int l_sim_status(lua_State *L)
{
    struct lsim *ls = check_sim(L);
    lua_createtable(L, (int)ls->n, 0);
    for (uint32_t i = 1; i <= ls->n; i++) {
        lua_createtable(L, 0, 4);
        lua_pushstring(L, ls->names[i]);
        lua_setfield(L, -2, "name");
        struct sk_node *nd = sk_sim_node(ls->sim, i);
        lua_pushboolean(L, nd != NULL);
        lua_setfield(L, -2, "up");
        lua_newtable(L);
        if (nd != NULL) {
            size_t cur = 0;
            struct sk_register_view v;
            lua_Integer k = 0;
            while (sk_node_registers(nd, &cur, &v)) {
                lua_createtable(L, 0, 4);
                lua_pushlstring(L, (const char *)v.key, v.key_len);
                lua_setfield(L, -2, "lock");
                push_ballot(L, v.promised);
                lua_setfield(L, -2, "promised");
                push_ballot(L, v.accepted);
                lua_setfield(L, -2, "accepted");
                const uint8_t *st;
                size_t st_len;
                char why[160] = "not a register value";
                if (sk_value_state(v.value, v.value_len, &st, &st_len) == 0 &&
                    skl_value_push(L, st, st_len, why, sizeof why) == 0) {
                    lua_setfield(L, -2, "state");
                } else {
                    lua_pushstring(L, why);
                    lua_setfield(L, -2, "state_error");
                }
                char text[SK_DESCRIBE_MAX];
                describe_on(ls, i, v.key, v.key_len, v.value, v.value_len, text, sizeof text);
                lua_pushstring(L, text);
                lua_setfield(L, -2, "describe");
                lua_rawseti(L, -2, ++k);
            }
        }
        lua_setfield(L, -2, "locks");
        lua_rawseti(L, -2, i);
    }
    return 1;
}

/* sim:trace_new() -> string of the JSON lines written since the last call */
static int l_sim_trace_new(lua_State *L)
{
    struct lsim *ls = check_sim(L);
    lua_pushlstring(L, (const char *)ls->trace.data + ls->trace_read, ls->trace.len - ls->trace_read);
    ls->trace_read = ls->trace.len;
    return 1;
}

/* sim:trace_all() -> the whole trace as one string */
static int l_sim_trace_all(lua_State *L)
{
    struct lsim *ls = check_sim(L);
    lua_pushlstring(L, (const char *)ls->trace.data, ls->trace.len);
    return 1;
}

static int l_sim_trace_note(lua_State *L)
{
    struct lsim *ls = check_sim(L);
    size_t len;
    const char *line = luaL_checklstring(L, 2, &len);
    if (ls->tracing) {
        skl_trace_put(&ls->trace, line, len);
        skl_trace_put(&ls->trace, "\n", 1);
        ls->trace_lines++;
        if (ls->trace_file != NULL) {
            fwrite(line, 1, len, ls->trace_file);
            fputc('\n', ls->trace_file);
        }
    }
    return 0;
}

static int l_sim_stats(lua_State *L)
{
    struct lsim *ls = check_sim(L);
    struct sk_sim_stats st;
    sk_sim_stats(ls->sim, &st);
    lua_createtable(L, 0, 8);
    lua_pushinteger(L, (lua_Integer)st.events);
    lua_setfield(L, -2, "events");
    lua_pushinteger(L, (lua_Integer)st.sent);
    lua_setfield(L, -2, "sent");
    lua_pushinteger(L, (lua_Integer)st.delivered);
    lua_setfield(L, -2, "delivered");
    lua_pushinteger(L, (lua_Integer)st.dropped);
    lua_setfield(L, -2, "dropped");
    lua_pushinteger(L, (lua_Integer)st.duplicated);
    lua_setfield(L, -2, "duplicated");
    uint64_t attempts = 0, decisions = 0, nays = 0, timeouts = 0, hook_errors = 0, msgs = 0;
    for (uint32_t i = 1; i <= ls->n; i++) {
        struct sk_node *nd = sk_sim_node(ls->sim, i);
        if (nd != NULL) {
            struct sk_node_stats ns;
            sk_node_stats(nd, &ns);
            attempts += ns.attempts;
            decisions += ns.decisions;
            nays += ns.nays;
            timeouts += ns.timeouts;
            hook_errors += ns.hook_errors;
            msgs += ns.msgs_sent;
        }
    }
    lua_pushinteger(L, (lua_Integer)attempts);
    lua_setfield(L, -2, "attempts");
    lua_pushinteger(L, (lua_Integer)decisions);
    lua_setfield(L, -2, "decisions");
    lua_pushinteger(L, (lua_Integer)nays);
    lua_setfield(L, -2, "nays");
    lua_pushinteger(L, (lua_Integer)timeouts);
    lua_setfield(L, -2, "timeouts");
    lua_pushinteger(L, (lua_Integer)hook_errors);
    lua_setfield(L, -2, "hook_errors");
    return 1;
}

/* sim:reload(node, {proposer=, backoff=, lock=}) -> true or nil, msg, code.
 * Builds a new state and swaps it in only when it loads cleanly. */
static int l_sim_reload(lua_State *L)
{
    struct lsim *ls = check_sim(L);
    uint32_t node = check_node(L, ls, 2);
    luaL_checktype(L, 3, LUA_TTABLE);
    struct skl_strategy_config sc = {opt_str(L, 3, "scripts_dir", "scripts"),
                                     opt_str(L, 3, "proposer", "paxos"),
                                     opt_str(L, 3, "backoff", "exponential_jitter"),
                                     opt_str(L, 3, "lock", "advisory"),
                                     (uint64_t)opt_int(L, 3, "budget", 0), true, NULL};
    struct sk_params params = {0};
    char err[SK_ERRMSG_LEN];
    lua_getfield(L, 3, "lock_params");
    if (read_params(L, -1, "lock_params", &params, err, sizeof err) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        lua_pushstring(L, "SK_EINVAL");
        return 3;
    }
    lua_pop(L, 1);
    sc.params = &params;
    struct skl_strategy *st;
    if (skl_strategy_open(&st, &sc, err, sizeof err) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        lua_pushstring(L, "SK_EHOOK");
        return 3;
    }
    sk_sim_set_strategy(ls->sim, node, skl_strategy_vtable(st));
    skl_strategy_close(ls->st[node]);
    ls->st[node] = st;
    lua_pushboolean(L, 1);
    return 1;
}

/* core.encode_value(v) -> bytes; core.decode_value(bytes) -> v (or nil, msg) */
static int l_encode_value(lua_State *L)
{
    luaL_checkany(L, 1);
    uint8_t *buf = lua_newuserdatauv(L, SK_STATE_MAX, 0); /* scratch that Lua frees */
    char err[160];
    int len = skl_value_encode(L, 1, buf, SK_STATE_MAX, err, sizeof err);
    if (len < 0) {
        return luaL_error(L, "%s", err);
    }
    lua_pushlstring(L, (const char *)buf, (size_t)len);
    return 1;
}

static int l_decode_value(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    char why[160];
    if (skl_value_push(L, (const uint8_t *)s, len, why, sizeof why) != 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "not a lock state: %s", why);
        return 2;
    }
    return 1;
}

/* core.check_script(kind, name_or_path, scripts_dir) -> true or nil, message */
static int l_check_script(lua_State *L)
{
    static const char *const kinds[] = {"proposer", "backoff", "lock", NULL};
    int kind = luaL_checkoption(L, 1, NULL, kinds);
    const char *name = luaL_checkstring(L, 2);
    struct skl_strategy_config sc = {luaL_optstring(L, 3, "scripts"), NULL, NULL, NULL, 0, true, NULL};
    if (kind == 0) sc.proposer = name;
    if (kind == 1) sc.backoff = name;
    if (kind == 2) sc.lock = name;
    struct skl_strategy *st;
    char err[SK_ERRMSG_LEN];
    if (skl_strategy_open(&st, &sc, err, sizeof err) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    skl_strategy_close(st);
    lua_pushboolean(L, 1);
    return 1;
}

static const luaL_Reg sim_methods[] = {
    {"client", l_sim_client},     {"request", l_sim_request},
    {"run", l_sim_run},           {"at", l_sim_at},
    {"now", l_sim_now},           {"replies", l_sim_replies},
    {"crash", l_sim_crash},       {"restart", l_sim_restart},
    {"pause", l_sim_pause},       {"resume", l_sim_resume},
    {"skew", l_sim_skew},         {"fault_note", l_sim_fault_note},
    {"link", l_sim_link},         {"client_latency", l_sim_client_latency},
    {"client_link", l_sim_client_link}, {"client_link_of", l_sim_client_link_of},
    {"status", l_sim_status},     {"trace_new", l_sim_trace_new},
    {"trace_all", l_sim_trace_all}, {"trace_note", l_sim_trace_note},
    {"stats", l_sim_stats},       {"reload", l_sim_reload},
    {"close", l_sim_close},       {NULL, NULL},
};

/* core.bounded_string([budget]) -> {find=, match=, gmatch=, gsub=}: the
 * sandbox's own pattern functions (bindings/lua_pattern.c), their steps
 * counted against budget (default 10 000 000) over all their calls, for
 * comparing them with Lua's (spec/patterns_spec.lua). */
static int l_bounded_string(lua_State *L)
{
    lua_Integer budget = luaL_optinteger(L, 1, 10 * 1000 * 1000);
    luaL_argcheck(L, budget >= 0, 1, "the budget must be at least 0");
    struct skl_pattern_meter m = {NULL, NULL, 0, (uint64_t)budget};
    lua_newtable(L);
    skl_pattern_register(L, -1, &m);
    return 1;
}

static const luaL_Reg funcs[] = {
    {"sim", l_sim_new},
    {"encode_value", l_encode_value},
    {"decode_value", l_decode_value},
    {"check_script", l_check_script},
    {"bounded_string", l_bounded_string},
    {"explore", skl_explore},
    {NULL, NULL},
};

__attribute__((visibility("default"))) int luaopen_skinny_core(lua_State *L);
int luaopen_skinny_core(lua_State *L)
{
    luaL_newmetatable(L, SIM_MT); /* [mt] */
    luaL_newlib(L, sim_methods);  /* [mt, methods] */
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_sim_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_sim_gc);
    lua_setfield(L, -2, "__close");
    lua_pop(L, 1);
    luaL_newlib(L, funcs);
    return 1;
}
