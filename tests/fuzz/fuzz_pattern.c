/* fuzz_pattern.c - libFuzzer target: Skinny's pattern functions
 * (bindings/lua_pattern.c, the sandbox's string.find, match, gmatch and
 * gsub) against Lua 5.4's own.
 *
 * An input is a header, then the pieces:
 *   byte 0   what to call: bits 0-1 the function (find, match, gmatch,
 *            gsub); bit 2 find's plain argument (true) or gsub's n; bits
 *            3-5 gsub's replacement (a string, a table, a function, an
 *            integer, a float); bit 6 pass init; bit 7 the pattern's
 *            length's ninth bit
 *   byte 1   init (a signed byte)      byte 2  gsub's n (a signed byte)
 *   byte 3   the pattern's length (its low 8 bits), then the pattern
 *            (up to 511 bytes: deep enough for "pattern too complex")
 *   a byte   the replacement's length, then the replacement
 *   the rest the subject
 * (pieces cut short by the end of the input are shorter).
 *
 * Both run in one fresh Lua state per input: Lua's from the string
 * library, Skinny's with a budget of BUDGET steps. When Skinny's runs out
 * of budget the input is a pattern that backtracks too long, and Lua's,
 * which does the same work without a bound, is not run; otherwise both
 * must return the same values or raise the same message (for gmatch: the
 * same sequence of matches, the first MAX_ITER of them).
 *
 * Standalone (until fuzz.mk has a block for it):
 *   clang -fsanitize=fuzzer,address,undefined -Iruntime/include -Iruntime -Ibindings \
 *       $(pkg-config --cflags lua5.4) tests/fuzz/fuzz_pattern.c bindings/lua_pattern.c \
 *       $(pkg-config --libs lua5.4) -lm
 * Built with -DSK_FUZZ_MAIN it is the plain program of tests/fuzz/fuzz_main.h
 * (--corpus DIR writes the seeds; FILE... replays inputs). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "lua_pattern.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BUDGET 200000
#define MAX_ITER 200

enum { F_FIND, F_MATCH, F_GMATCH, F_GSUB };
enum { R_STRING, R_TABLE, R_FUNCTION, R_INTEGER, R_FLOAT };

struct input {
    int fn;
    int flag;  /* find: plain; gsub: pass n */
    int repl;  /* R_* */
    int pass_init;
    lua_Integer init, n;
    const char *pat, *rep, *subj;
    size_t lpat, lrep, lsubj;
};

/* A deterministic replacement function: a string, a number, the first
 * argument, false, nil or a table (an error), depending on its arguments. */
static const char repl_fn[] =
    "return function(...)\n"
    "  local n, a = select('#', ...), ...\n"
    "  local h = (#tostring(a) + n) % 7\n"
    "  if h == 0 then return nil elseif h == 1 then return false\n"
    "  elseif h == 2 then return n .. ':' .. tostring(a) elseif h == 3 then return n * 1.5\n"
    "  elseif h == 4 then return {} elseif h == 5 then return n end\n"
    "  return a\n"
    "end\n";

struct buf {
    char *p;
    size_t len, cap;
};

/* bytes to standard error as a Lua string literal's contents */
static void show(const char *s, size_t n)
{
    for (size_t i = 0; i < n && i < 2000; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 32 && c < 127 && c != '\\' && c != '"') {
            fputc(c, stderr);
        } else {
            fprintf(stderr, "\\%03u", c);
        }
    }
}

static void die(const char *what)
{
    fprintf(stderr, "fuzz_pattern: %s\n", what);
    abort();
}

static void put(struct buf *b, const void *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            die("out of memory");
        }
        b->p = p;
        b->cap = cap;
    }
    if (n > 0) {
        memcpy(b->p + b->len, s, n);
    }
    b->len += n;
    b->p[b->len] = 0;
}

static void puts_(struct buf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* Describe the values from index first to the top, exactly (a string's
 * bytes, an integer or float's value), then pop them. */
static void describe(lua_State *L, int first, struct buf *b)
{
    char tmp[64];
    for (int i = first; i <= lua_gettop(L); i++) {
        switch (lua_type(L, i)) {
        case LUA_TSTRING: {
            size_t l;
            const char *s = lua_tolstring(L, i, &l);
            snprintf(tmp, sizeof tmp, "s%zu:", l);
            puts_(b, tmp);
            put(b, s, l);
            break;
        }
        case LUA_TNUMBER:
            if (lua_isinteger(L, i)) {
                snprintf(tmp, sizeof tmp, "i%lld", (long long)lua_tointeger(L, i));
            } else {
                snprintf(tmp, sizeof tmp, "f%a", (double)lua_tonumber(L, i));
            }
            puts_(b, tmp);
            break;
        case LUA_TBOOLEAN: puts_(b, lua_toboolean(L, i) ? "true" : "false"); break;
        case LUA_TNIL: puts_(b, "nil"); break;
        default: puts_(b, luaL_typename(L, i)); break;
        }
        puts_(b, ";");
    }
    lua_settop(L, first - 1);
}

/* A failed pcall: the message, or what the error object is. */
static void describe_error(lua_State *L, struct buf *b)
{
    puts_(b, "error:");
    if (lua_type(L, -1) == LUA_TSTRING) {
        size_t l;
        const char *s = lua_tolstring(L, -1, &l);
        put(b, s, l);
    } else {
        puts_(b, luaL_typename(L, -1));
    }
    lua_pop(L, 1);
}

/* Call lib[fn] (lib at index lib) with the input's arguments; describe
 * the results into b. */
static void call(lua_State *L, int lib, int repl_at, const struct input *in, struct buf *b)
{
    static const char *const names[] = {"find", "match", "gmatch", "gsub"};
    int base = lua_gettop(L);
    lua_getfield(L, lib, names[in->fn]);
    lua_pushlstring(L, in->subj, in->lsubj);
    lua_pushlstring(L, in->pat, in->lpat);
    int nargs = 2;
    if (in->fn == F_GSUB) {
        lua_pushvalue(L, repl_at);
        nargs++;
        if (in->flag) {
            lua_pushinteger(L, in->n);
            nargs++;
        }
    } else if (in->pass_init || (in->fn == F_FIND && in->flag)) {
        lua_pushinteger(L, in->init);
        nargs++;
        if (in->fn == F_FIND && in->flag) {
            lua_pushboolean(L, 1);
            nargs++;
        }
    }
    if (lua_pcall(L, nargs, LUA_MULTRET, 0) != LUA_OK) {
        describe_error(L, b);
        lua_settop(L, base);
        return;
    }
    if (in->fn != F_GMATCH) {
        describe(L, base + 1, b);
        return;
    }
    /* the iterator: up to MAX_ITER matches, then one call more */
    int it = lua_gettop(L);
    for (int k = 0; k <= MAX_ITER; k++) {
        lua_pushvalue(L, it);
        if (lua_pcall(L, 0, LUA_MULTRET, 0) != LUA_OK) {
            describe_error(L, b);
            break;
        }
        if (lua_gettop(L) == it) {
            puts_(b, "end");
            break;
        }
        describe(L, it + 1, b);
        puts_(b, "|");
    }
    lua_settop(L, base);
}

static size_t take(const uint8_t **p, const uint8_t *end, size_t want)
{
    size_t have = (size_t)(end - *p);
    size_t n = want < have ? want : have;
    *p += n;
    return n;
}

static int parse(const uint8_t *data, size_t size, struct input *in)
{
    if (size < 4) {
        return 0;
    }
    const uint8_t *p = data + 4, *end = data + size;
    in->fn = data[0] & 3;
    in->flag = (data[0] >> 2) & 1;
    in->repl = ((data[0] >> 3) & 7) % 5;
    in->pass_init = (data[0] >> 6) & 1;
    in->init = (int8_t)data[1];
    in->n = (int8_t)data[2];
    in->pat = (const char *)p;
    in->lpat = take(&p, end, (size_t)data[3] | (size_t)(data[0] & 128) << 1);
    size_t lrep = p < end ? *p : 0;
    take(&p, end, 1);
    in->rep = (const char *)p;
    in->lrep = take(&p, end, lrep);
    in->subj = (const char *)p;
    in->lsubj = (size_t)(end - p);
    return 1;
}

/* The replacement value for gsub, pushed. A table maps each byte of the
 * replacement text (as a one-character string) to the byte after it
 * ("0": false) and 1, 2, 3 (position captures) to a string, a float and a
 * table. */
static void push_repl(lua_State *L, const struct input *in)
{
    switch (in->repl) {
    case R_TABLE:
        lua_newtable(L);
        for (size_t i = 0; i + 1 < in->lrep; i += 2) {
            lua_pushlstring(L, in->rep + i, 1);
            if (in->rep[i + 1] == '0') {
                lua_pushboolean(L, 0);
            } else {
                lua_pushlstring(L, in->rep + i + 1, 1);
            }
            lua_settable(L, -3);
        }
        lua_pushliteral(L, "one");
        lua_rawseti(L, -2, 1);
        lua_pushnumber(L, 2.5);
        lua_rawseti(L, -2, 2);
        lua_newtable(L);
        lua_rawseti(L, -2, 3);
        break;
    case R_FUNCTION:
        if (luaL_loadstring(L, repl_fn) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) {
            die("the replacement function does not load");
        }
        break;
    case R_INTEGER: lua_pushinteger(L, (lua_Integer)in->lrep - 3); break;
    case R_FLOAT: lua_pushnumber(L, (double)in->lrep / 4); break;
    default: lua_pushlstring(L, in->rep, in->lrep); break;
    }
}

/* Did Skinny's run out of budget? (The description may hold NULs.) */
static int spent(const struct buf *b)
{
    static const char msg[] = "instruction budget exceeded (";
    for (size_t i = 0; i + sizeof msg - 1 <= b->len; i++) {
        if (memcmp(b->p + i, msg, sizeof msg - 1) == 0) {
            return 1;
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in;
    if (!parse(data, size, &in)) {
        return 0;
    }
    lua_State *L = luaL_newstate();
    if (L == NULL) {
        die("no Lua state");
    }
    luaL_openlibs(L);
    lua_getglobal(L, "string"); /* 1: Lua's */
    lua_newtable(L);            /* 2: Skinny's */
    struct skl_pattern_meter meter = {NULL, NULL, 0, BUDGET};
    skl_pattern_register(L, 2, &meter);
    push_repl(L, &in); /* 3 */
    struct buf mine = {NULL, 0, 0}, theirs = {NULL, 0, 0};
    call(L, 2, 3, &in, &mine);
    if (!spent(&mine)) {
        call(L, 1, 3, &in, &theirs);
        if (mine.len != theirs.len || memcmp(mine.p, theirs.p, mine.len) != 0) {
            fprintf(stderr, "fuzz_pattern: the results differ\n  function %d, init %lld, n %lld, "
                            "repl kind %d\n  pattern: ",
                    in.fn, (long long)in.init, (long long)in.n, in.repl);
            show(in.pat, in.lpat);
            fprintf(stderr, "\n  subject: ");
            show(in.subj, in.lsubj);
            fprintf(stderr, "\n  replacement: ");
            show(in.rep, in.lrep);
            fprintf(stderr, "\n  mine:    ");
            show(mine.p, mine.len);
            fprintf(stderr, "\n  Lua's:   ");
            show(theirs.p, theirs.len);
            fprintf(stderr, "\n");
            die("Skinny's patterns are not Lua's");
        }
    }
    free(mine.p);
    free(theirs.p);
    lua_close(L);
    return 0;
}

#ifdef SK_FUZZ_MAIN
#include "fuzz_main.h"

/* One seed: the header, the pattern, the replacement, the subject. */
static void seed(const char *dir, const char *name, int mode, int init, int n, const char *pat,
                 const char *rep, const char *subj)
{
    uint8_t buf[2048];
    size_t lp = strlen(pat), lr = strlen(rep), ls = strlen(subj);
    if (lp > 511 || lr > 255 || 5 + lp + lr + ls > sizeof buf) {
        fprintf(stderr, "fuzz_pattern: the seed %s is too long\n", name);
        exit(1);
    }
    size_t k = 0;
    buf[k++] = (uint8_t)(mode | (lp > 255 ? 128 : 0));
    buf[k++] = (uint8_t)(int8_t)init;
    buf[k++] = (uint8_t)(int8_t)n;
    buf[k++] = (uint8_t)(lp & 255);
    memcpy(buf + k, pat, lp);
    k += lp;
    buf[k++] = (uint8_t)lr;
    memcpy(buf + k, rep, lr);
    k += lr;
    memcpy(buf + k, subj, ls);
    k += ls;
    fuzz_write_seed(dir, name, buf, k);
}

/* modes: function | 4 plain or n | kind << 3 | 64 init */
#define M_FIND 0
#define M_MATCH 1
#define M_GMATCH 2
#define M_GSUB 3
#define M_FLAG 4
#define M_INIT 64
#define M_KIND(k) ((k) << 3)

static int write_corpus(const char *dir)
{
    seed(dir, "find-class", M_FIND, 1, 0, "%a+", "", "  hello world");
    seed(dir, "find-plain", M_FIND | M_FLAG, 2, 0, "a.b", "", "xa.ba.b");
    seed(dir, "find-init-neg", M_FIND | M_INIT, -3, 0, "[%w_]+", "", "key_1 = x_2");
    seed(dir, "match-captures", M_MATCH, 1, 0, "^(%w+)=(%w+)$", "", "key=value");
    seed(dir, "match-position", M_MATCH, 1, 0, "()a()", "", "bbab");
    seed(dir, "match-backref", M_MATCH, 1, 0, "([\"'])(.-)%1", "", "say 'hi' \"there\"");
    seed(dir, "match-balance", M_MATCH, 1, 0, "%b()", "", "f(a(b)c) d");
    seed(dir, "match-frontier", M_MATCH, 1, 0, "%f[%a]%a+%f[%A]", "", " THE (quick) fox");
    seed(dir, "match-lazy", M_MATCH, 1, 0, "%s*(.-)%s*$", "", "  trim me  ");
    seed(dir, "match-set", M_MATCH, 1, 0, "[]%-a-c^]+", "", "x]-ab^c");
    seed(dir, "match-neg-set", M_MATCH, 1, 0, "[^%s,]+", "", " a,b ,c");
    seed(dir, "match-optional", M_MATCH, 1, 0, "^[+-]?%d+%.?%d*$", "", "-12.5");
    seed(dir, "match-error", M_MATCH, 1, 0, "(a", "", "a");
    seed(dir, "gmatch-pairs", M_GMATCH, 1, 0, "(%w+)=(%w+)", "", "a=1, b=2, c=3");
    seed(dir, "gmatch-empty", M_GMATCH, 1, 0, "%w*", "", "ab cd");
    seed(dir, "gmatch-init", M_GMATCH | M_INIT, 3, 0, "()", "", "abc");
    seed(dir, "gmatch-caret", M_GMATCH, 1, 0, "^a", "", "^a^aa");
    seed(dir, "gsub-string", M_GSUB, 1, 0, "(%w+)", "<%1:%0%%>", "hello world");
    seed(dir, "gsub-empty", M_GSUB, 1, 0, "%w*", "-", "abc d");
    seed(dir, "gsub-n", M_GSUB | M_FLAG, 1, 2, "o", "0", "foo boo");
    seed(dir, "gsub-table", M_GSUB | M_KIND(R_TABLE), 1, 0, "%w", "aAb0cC", "abcd");
    seed(dir, "gsub-table-pos", M_GSUB | M_KIND(R_TABLE), 1, 0, "()", "", "abc");
    seed(dir, "gsub-function", M_GSUB | M_KIND(R_FUNCTION), 1, 0, "(%w)(%w?)", "", "abcde f");
    seed(dir, "gsub-integer", M_GSUB | M_KIND(R_INTEGER), 1, 0, "%d", "abcdef", "a1b22");
    seed(dir, "gsub-anchor", M_GSUB, 1, 0, "^%s+", "", "   x  ");
    seed(dir, "gsub-bad-repl", M_GSUB, 1, 0, "a", "%9", "banana");
    /* "a?" 199 times nests 200 matcher calls on 199 a's, the most there
     * may be; 200 times is "pattern too complex" */
    char deep[512] = "", as[256] = "";
    for (int i = 0; i < 199; i++) {
        strcat(deep, "a?");
        strcat(as, "a");
    }
    seed(dir, "deepest", M_MATCH, 1, 0, deep, "", as);
    strcat(deep, "a?");
    strcat(as, "a");
    seed(dir, "too-complex", M_MATCH, 1, 0, deep, "", as);
    strcpy(deep + 300, "(()(a))%2");
    seed(dir, "deep-captures", M_GSUB, 1, 0, deep, "%1", as);
    seed(dir, "backtrack", M_FIND, 1, 0, ".-.-.-b", "",
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    return 0;
}
#endif
