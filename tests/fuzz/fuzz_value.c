/* fuzz_value.c - libFuzzer target for register values read by both
 * readers: the core's (sk_register_value_check, sk_value_check,
 * sk_value_get) and the Lua binding's (skl_value_push, skl_value_encode,
 * skl_value_json). `make fuzz FUZZ_TARGET=value`.
 *
 * An input is one byte choosing what the rest is (bit 0: a whole register
 * value with its envelope, else a bare lock state), then the bytes. For
 * every input:
 *   - the core's check and the Lua reader agree: the Lua reader pushes a
 *     table exactly when the core accepts the bytes (both refuse, with a
 *     reason, otherwise), and pushing never raises;
 *   - what the Lua reader built holds what the core's field reader finds:
 *     every top-level string key's value has the same type and contents;
 *   - the Lua writer writes it back as a lock state the core accepts, and
 *     reading and writing that again gives the same bytes (a fixpoint);
 *   - the JSON of the input and of its rewrite are the same.
 *
 * Built with -DSK_FUZZ_MAIN it is a plain program instead
 * (tests/fuzz/fuzz_main.h): `--corpus DIR` writes the seeds, `FILE...`
 * replays inputs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "lua_value.h"
#include "sk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_value: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

struct job {
    const uint8_t *state;
    size_t len;
    int accepted; /* the core's verdict */
    char why[160];
};

/* Compare one top-level field the core's reader found with the Lua table
 * at index 1: [..] unchanged. */
static void same_field(lua_State *L, const struct sk_value_field *f)
{
    lua_pushlstring(L, f->name, f->name_len);
    lua_rawget(L, 1);
    switch (f->tag) {
    case 't':
    case 'f':
        if (!lua_isboolean(L, -1) || lua_toboolean(L, -1) != (f->tag == 't')) {
            die("the readers disagree on a boolean field", NULL);
        }
        break;
    case 'i':
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) != f->i) {
            die("the readers disagree on an integer field", NULL);
        }
        break;
    case 'd': {
        double d = (double)lua_tonumber(L, -1);
        if (lua_type(L, -1) != LUA_TNUMBER || lua_isinteger(L, -1) ||
            memcmp(&d, &f->d, sizeof d) != 0) {
            die("the readers disagree on a float field", NULL);
        }
        break;
    }
    case 's': {
        size_t len;
        const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
        if (s == NULL || len != f->s_len || memcmp(s, f->s, len) != 0) {
            die("the readers disagree on a string field", NULL);
        }
        break;
    }
    case 'm':
        if (!lua_istable(L, -1)) {
            die("the readers disagree on a table field", NULL);
        }
        break;
    default: die("the core's reader found a field with an unknown tag", NULL);
    }
    lua_pop(L, 1);
}

/* Every string key of the state's top-level table, as the core finds it. */
static void walk_fields(lua_State *L, const uint8_t *v, size_t len)
{
    lua_pushnil(L);
    while (lua_next(L, 1) != 0) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING) {
            continue;
        }
        size_t klen;
        const char *k = lua_tolstring(L, -1, &klen);
        if (strlen(k) != klen) {
            continue; /* sk_value_get takes a C string */
        }
        struct sk_value_field f;
        if (sk_value_get(v, len, k, &f) != 1) {
            die("the Lua reader has a field the core's reader does not find", k);
        }
        same_field(L, &f);
    }
}

static void json_of(const uint8_t *v, size_t len, struct sk_buf *out)
{
    out->len = 0;
    if (skl_value_json(v, len, out) != 0) {
        die("no memory for JSON", NULL);
    }
}

static int run_job(lua_State *L)
{
    struct job *j = lua_touserdata(L, 1);
    lua_settop(L, 0);
    char why[160];
    int pushed = skl_value_push(L, j->state, j->len, why, sizeof why);
    if ((pushed == 0) != j->accepted) {
        die("the Lua reader and the core's check disagree", j->accepted ? why : j->why);
    }
    if (pushed != 0) {
        if (why[0] == 0) {
            die("a refusal without a reason", NULL);
        }
        return 0;
    }
    if (j->len == 0) {
        if (!lua_isnil(L, 1)) {
            die("empty bytes are not nil", NULL);
        }
        return 0;
    }
    if (!lua_istable(L, 1)) {
        die("an accepted lock state is not a table", NULL);
    }
    walk_fields(L, j->state, j->len);
    static uint8_t once[SK_STATE_MAX], twice[SK_STATE_MAX];
    int n1 = skl_value_encode(L, 1, once, sizeof once, why, sizeof why);
    if (n1 < 0) {
        /* only a state larger than the writer's room may fail to be written */
        if (strstr(why, "too large") == NULL) {
            die("an accepted lock state cannot be written back", why);
        }
        return 0;
    }
    char why2[160];
    if (sk_value_check(once, (size_t)n1, why2, sizeof why2) != 0) {
        die("the Lua writer wrote a lock state the core refuses", why2);
    }
    if (skl_value_push(L, once, (size_t)n1, why2, sizeof why2) != 0) {
        die("the Lua reader refuses what the Lua writer wrote", why2);
    }
    int n2 = skl_value_encode(L, -1, twice, sizeof twice, why2, sizeof why2);
    if (n2 != n1 || memcmp(once, twice, (size_t)n1) != 0) {
        die("writing what was read back is not a fixpoint", NULL);
    }
    static struct sk_buf a, b;
    json_of(j->state, j->len, &a);
    json_of(once, (size_t)n1, &b);
    if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0) {
        die("the JSON of a lock state and of its rewrite differ", NULL);
    }
    return 0;
}

static lua_State *state(void)
{
    static lua_State *L;
    if (L == NULL) {
        L = luaL_newstate();
        if (L == NULL) {
            die("no Lua state", NULL);
        }
        luaL_openlibs(L); /* for the seeds' expressions */
    }
    return L;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size - 1 > SK_VALUE_MAX) {
        return 0;
    }
    struct job j = {0};
    const uint8_t *v = data + 1;
    size_t len = size - 1;
    j.state = v;
    j.len = len;
    if (data[0] & 1) {
        /* a whole register value: the envelope, then the lock state */
        int whole = sk_register_value_check(v, len, j.why, sizeof j.why) == 0;
        if (sk_value_state(v, len, &j.state, &j.len) != 0) {
            if (whole) {
                die("a register value passes the check but has no lock state", NULL);
            }
            return 0;
        }
        j.accepted = sk_value_check(j.state, j.len, j.why, sizeof j.why) == 0;
        if (whole != j.accepted) {
            die("the register value check and the lock state check disagree", NULL);
        }
    } else {
        j.accepted = sk_value_check(v, len, j.why, sizeof j.why) == 0;
        if (!j.accepted && j.why[0] == 0) {
            die("a refusal without a reason", NULL);
        }
    }
    lua_State *L = state();
    lua_pushcfunction(L, run_job);
    lua_pushlightuserdata(L, &j);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        die("reading a value raised a Lua error", lua_tostring(L, -1));
    }
    lua_settop(L, 0);
    return 0;
}

#ifdef SK_FUZZ_MAIN
#include "fuzz_main.h"

/* ------------------------------------------------------------- seeds */

/* Encode a Lua expression's value as a seed: mode byte, then bytes. */
static void lua_seed(lua_State *L, const char *dir, const char *name, const char *expr,
                     int with_env)
{
    char chunk[1024];
    snprintf(chunk, sizeof chunk, "return %s", expr);
    if (luaL_dostring(L, chunk) != LUA_OK) {
        fprintf(stderr, "fuzz_value: seed %s: %s\n", name, lua_tostring(L, -1));
        exit(1);
    }
    static uint8_t buf[1 + 11 + SK_STATE_MAX];
    char why[160];
    size_t at = 1;
    buf[0] = with_env ? 1 : 0;
    if (with_env) {
        /* an empty sessions table: 'S', no entries, floor 0 */
        memset(buf + 1, 0, 11);
        buf[1] = 'S';
        at += 11;
    }
    int n = skl_value_encode(L, -1, buf + at, SK_STATE_MAX, why, sizeof why);
    if (n < 0) {
        fprintf(stderr, "fuzz_value: seed %s: %s\n", name, why);
        exit(1);
    }
    lua_settop(L, 0);
    fuzz_write_seed(dir, name, buf, at + (size_t)n);
}

static int write_corpus(const char *dir)
{
    lua_State *L = state();
    static const struct {
        const char *name, *expr;
    } seeds[] = {
        {"held", "{holder = 'beaver', token = 4353}"},
        {"lease", "{holder = 'beaver', token = 4353, expires = 12000, ttl = 500}"},
        {"queue", "{holder = 'beaver', queue = {'giraffe', 'otter'}, [1] = true, [-3] = 0.5}"},
        {"numbers", "{a = 1/0, b = -1/0, c = 0/0, d = -0.0, e = math.maxinteger, "
                    "f = math.mininteger, g = 2^63, h = 1.5}"},
        {"nested", "{x = {y = {z = {w = {v = {}}}}}}"},
        {"binary", "{['\\0k'] = '\\0\\255', [''] = ''}"},
        {"empty", "{}"},
    };
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        char name[64];
        lua_seed(L, dir, seeds[i].name, seeds[i].expr, 0);
        snprintf(name, sizeof name, "%s-env", seeds[i].name);
        lua_seed(L, dir, name, seeds[i].expr, 1);
    }
    /* hand-made bytes the writer never produces: a NaN key, a nil value,
     * repeated keys, a non-minimal count, a 'K' envelope of version 1 */
    static const uint8_t nan_key[] = {0, 'm', 1, 'd', 0x7f, 0xf8, 0, 0, 0, 0, 0, 0, 't'};
    static const uint8_t nil_val[] = {0, 'm', 1, 's', 1, 'k', 'n'};
    static const uint8_t twice[] = {0, 'm', 2, 's', 1, 'k', 't', 's', 1, 'k', 'f'};
    static const uint8_t slot[] = {0, 'm', 0x81, 0x80, 0x80, 0x80, 0, 's', 1, 'k', 'i', 2};
    static const uint8_t v1[] = {1, 'K', 0, 'm', 1, 's', 1, 'k', 't'};
    fuzz_write_seed(dir, "nan-key", nan_key, sizeof nan_key);
    fuzz_write_seed(dir, "nil-value", nil_val, sizeof nil_val);
    fuzz_write_seed(dir, "repeated-key", twice, sizeof twice);
    fuzz_write_seed(dir, "count-slot", slot, sizeof slot);
    fuzz_write_seed(dir, "envelope-v1", v1, sizeof v1);
    return 0;
}
#endif
