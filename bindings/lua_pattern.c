/* lua_pattern.c - Lua 5.4 patterns with every step charged to a budget
 * (lua_pattern.h).
 *
 * Written from the Lua 5.4 reference manual (6.4: find, match, gmatch,
 * gsub; 6.4.1: patterns). Where the manual is silent the behaviour is the
 * real interpreter's (Debian's lua5.4, 5.4.4), established by experiment
 * and held to by spec/patterns_spec.lua and tests/fuzz/fuzz_pattern.c:
 *
 *  - a malformed pattern is only an error once the matcher reaches the
 *    faulty item: ("b"):find("a[") is nil, ("a"):find("a[") an error;
 *  - find searches plainly when the pattern holds none of ^$*+?.([%- (so
 *    ("a)"):find("a)") is 1 2, where match raises "invalid pattern capture");
 *  - %z is the class of '\0' (deprecated since 5.2 but still there), %Z its
 *    complement; another letter after % stands for itself;
 *  - the matcher nests at most 200 calls (one per capture opened or closed
 *    and per attempt of a quantified item) before "pattern too complex";
 *    the nesting here is the same, so the same patterns are refused;
 *  - gmatch takes a leading '^' literally (it anchors nothing);
 *  - a back-reference to a position capture never matches.
 *
 * The matcher is the classic recursive backtracker: one call of
 * match_here per quantifier attempt or capture boundary, a loop for
 * everything else. Each elementary step (entering match_here, testing one
 * subject character against an item, scanning one byte of a set, comparing
 * a byte of a back-reference or of a plain find) is one tick; ticks are
 * charged to the meter every SETTLE_EVERY steps and at the end of each
 * call, and a meter that is spent stops the call with an error. So the
 * cost of a call is bounded by the budget whatever the pattern. */
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "lua_pattern.h"

typedef unsigned char uchar;

enum {
    MAX_CAPTURES = 32, /* LUA_MAXCAPTURES: "too many captures" beyond */
    MAX_DEPTH = 200,   /* nested match_here calls: "pattern too complex" beyond */
    SETTLE_EVERY = 1000,
};

/* a capture's len while it is open, and for a position capture () */
#define CAP_OPEN ((ptrdiff_t)-1)
#define CAP_POSITION ((ptrdiff_t)-2)

struct capture {
    const uchar *at;
    ptrdiff_t len; /* the length, CAP_OPEN or CAP_POSITION */
};

/* One call of find, match, gsub or of a gmatch iterator. */
struct matcher {
    lua_State *L;
    const char *fname; /* for the budget's message */
    struct skl_pattern_meter *meter;
    size_t pending; /* ticks not yet charged */
    const uchar *s0, *s_end; /* the subject */
    const uchar *p_end;      /* the pattern's end */
    int depth_left;
    int ncap;
    struct capture cap[MAX_CAPTURES];
};

/* luaL_error without a return (the compiler then knows control stops):
 * the message as Lua's string library words it, with the location of
 * level 1 (this C function: none), so the caller's message handler adds
 * the script's line. */
static _Noreturn void pattern_error(lua_State *L, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    luaL_where(L, 1);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    lua_concat(L, 2);
    lua_error(L);
    abort(); /* lua_error does not return */
}

/* ------------------------------------------------------------ the budget */

/* Charge the pending ticks; raise once the meter is spent. */
static void settle(struct matcher *m)
{
    uint64_t steps = m->pending;
    struct skl_pattern_meter *mt = m->meter;
    uint64_t budget;
    bool spent;
    m->pending = 0;
    if (mt->charge != NULL) {
        budget = mt->charge(m->L, mt->ud, steps);
        spent = budget != 0;
    } else {
        mt->used += steps;
        budget = mt->budget;
        spent = mt->used > budget;
    }
    if (spent) {
        pattern_error(m->L, "%s: instruction budget exceeded (%I instructions): a pattern that "
                      "backtracks?", m->fname, (lua_Integer)budget);
    }
}

static inline void tick(struct matcher *m, size_t n)
{
    m->pending += n;
    if (m->pending >= SETTLE_EVERY) {
        settle(m);
    }
}

/* ------------------------------------------------------ character classes */

/* Is c in the class %cl? A letter that names a class in lower case names
 * its complement in upper case; any other character stands for itself.
 * The C locale's ctype, as Lua uses. */
static bool in_class(int c, int cl)
{
    int yes;
    switch (tolower(cl)) {
    case 'a': yes = isalpha(c); break;
    case 'c': yes = iscntrl(c); break;
    case 'd': yes = isdigit(c); break;
    case 'g': yes = isgraph(c); break;
    case 'l': yes = islower(c); break;
    case 'p': yes = ispunct(c); break;
    case 's': yes = isspace(c); break;
    case 'u': yes = isupper(c); break;
    case 'w': yes = isalnum(c); break;
    case 'x': yes = isxdigit(c); break;
    case 'z': yes = c == 0; break; /* deprecated, but Lua 5.4 still has it */
    default: return cl == c;
    }
    return isupper(cl) ? yes == 0 : yes != 0;
}

/* Is c in the set that starts at p (its '[') and closes at ec (its ']')?
 * Members: %x classes, ranges a-z (a '-' first or last is itself), single
 * characters; a '^' first complements the set. */
static bool in_set(struct matcher *m, int c, const uchar *p, const uchar *ec)
{
    bool found = true; /* what finding c among the members means */
    p++;
    if (*p == '^') {
        found = false;
        p++;
    }
    while (p < ec) {
        tick(m, 1);
        if (*p == '%') {
            if (in_class(c, p[1])) {
                return found;
            }
            p += 2;
        } else if (p + 2 < ec && p[1] == '-') {
            if (p[0] <= c && c <= p[2]) {
                return found;
            }
            p += 3;
        } else {
            if (*p == c) {
                return found;
            }
            p++;
        }
    }
    return !found;
}

/* One past the single-character class at p (p < p_end): '.', %x, a set
 * [...] or a character. A set ends at the first ']' that is neither its
 * first member (after an optional '^') nor escaped by '%'. */
static const uchar *class_end(struct matcher *m, const uchar *p)
{
    const uchar *end = m->p_end;
    if (*p == '%') {
        if (p + 1 == end) {
            pattern_error(m->L, "malformed pattern (ends with '%%')");
        }
        return p + 2;
    }
    if (*p != '[') {
        return p + 1;
    }
    const uchar *q = p + 1;
    if (q < end && *q == '^') {
        q++;
    }
    const uchar *first = q;
    for (;;) {
        if (q >= end) {
            pattern_error(m->L, "malformed pattern (missing ']')");
        }
        if (*q == ']' && q != first) {
            return q + 1;
        }
        tick(m, 1);
        q += *q == '%' && q + 1 < end ? 2 : 1;
    }
}

/* Does the subject character at s match the class from p to ep? */
static inline bool single(struct matcher *m, const uchar *s, const uchar *p, const uchar *ep)
{
    if (s >= m->s_end) {
        return false;
    }
    tick(m, 1);
    int c = *s;
    switch (*p) {
    case '.': return true;
    case '%': return in_class(c, p[1]);
    case '[': return in_set(m, c, p, ep - 1);
    default: return *p == c;
    }
}

/* ------------------------------------------------------------ the matcher */

static const uchar *match_here(struct matcher *m, const uchar *s, const uchar *p);

/* %bxy at s (p after "%b"): x, then up to the y that balances it. */
static const uchar *balanced(struct matcher *m, const uchar *s, const uchar *p)
{
    if (p + 1 >= m->p_end) {
        pattern_error(m->L, "malformed pattern (missing arguments to '%%b')");
    }
    if (s >= m->s_end || *s != p[0]) {
        return NULL;
    }
    uchar open = p[0], close = p[1];
    size_t depth = 1;
    for (s++; s < m->s_end; s++) {
        tick(m, 1);
        if (*s == close) {
            if (--depth == 0) {
                return s + 1;
            }
        } else if (*s == open) {
            depth++;
        }
    }
    return NULL;
}

/* %f[set] at s (p after "%f"): the character before s (or '\0' at the
 * start) is not in the set and the one at s (or '\0' at the end) is.
 * Returns the pattern after the set, or NULL. */
static const uchar *frontier(struct matcher *m, const uchar *s, const uchar *p)
{
    if (p == m->p_end || *p != '[') {
        pattern_error(m->L, "missing '[' after '%%f' in pattern");
    }
    const uchar *ep = class_end(m, p);
    int before = s == m->s0 ? 0 : s[-1];
    int here = s < m->s_end ? *s : 0;
    if (!in_set(m, before, p, ep - 1) && in_set(m, here, p, ep - 1)) {
        return ep;
    }
    return NULL;
}

/* %1-%9 at s: the same bytes as that closed capture. */
static const uchar *back_reference(struct matcher *m, const uchar *s, int digit)
{
    int i = digit - '1';
    if (i < 0 || i >= m->ncap || m->cap[i].len == CAP_OPEN) {
        pattern_error(m->L, "invalid capture index %%%d", i + 1);
    }
    ptrdiff_t len = m->cap[i].len;
    if (len == CAP_POSITION) {
        return NULL; /* Lua compares it as a length larger than any subject */
    }
    tick(m, (size_t)len + 1);
    if ((size_t)(m->s_end - s) >= (size_t)len &&
        memcmp(m->cap[i].at, s, (size_t)len) == 0) {
        return s + len;
    }
    return NULL;
}

/* x* (n = 0 known matches) or x+ (s already past one): as many x as there
 * are, then fewer until the rest of the pattern matches. */
static const uchar *longest(struct matcher *m, const uchar *s, const uchar *p, const uchar *ep)
{
    size_t n = 0;
    while (single(m, s + n, p, ep)) {
        n++;
    }
    for (;;) {
        const uchar *r = match_here(m, s + n, ep + 1);
        if (r != NULL) {
            return r;
        }
        if (n == 0) {
            return NULL;
        }
        n--;
    }
}

/* x-: as few x as let the rest of the pattern match. */
static const uchar *shortest(struct matcher *m, const uchar *s, const uchar *p, const uchar *ep)
{
    for (;;) {
        const uchar *r = match_here(m, s, ep + 1);
        if (r != NULL) {
            return r;
        }
        if (!single(m, s, p, ep)) {
            return NULL;
        }
        s++;
    }
}

static const uchar *open_capture(struct matcher *m, const uchar *s, const uchar *p,
                                 ptrdiff_t what)
{
    if (m->ncap >= MAX_CAPTURES) {
        pattern_error(m->L, "too many captures");
    }
    m->cap[m->ncap].at = s;
    m->cap[m->ncap].len = what;
    m->ncap++;
    const uchar *r = match_here(m, s, p);
    if (r == NULL) {
        m->ncap--;
    }
    return r;
}

/* ')': closes the innermost capture still open. */
static const uchar *close_capture(struct matcher *m, const uchar *s, const uchar *p)
{
    int i = m->ncap - 1;
    while (i >= 0 && m->cap[i].len != CAP_OPEN) {
        i--;
    }
    if (i < 0) {
        pattern_error(m->L, "invalid pattern capture");
    }
    m->cap[i].len = s - m->cap[i].at;
    const uchar *r = match_here(m, s, p);
    if (r == NULL) {
        m->cap[i].len = CAP_OPEN;
    }
    return r;
}

/* Match the pattern from p against the subject from s: the end of the
 * match, or NULL. One level of nesting. */
static const uchar *match_here(struct matcher *m, const uchar *s, const uchar *p)
{
    if (m->depth_left == 0) {
        pattern_error(m->L, "pattern too complex");
    }
    m->depth_left--;
    tick(m, 1);
    const uchar *pe = m->p_end;
    const uchar *result = NULL;
    while (p < pe) {
        switch (*p) {
        case '(':
            if (p + 1 < pe && p[1] == ')') {
                result = open_capture(m, s, p + 2, CAP_POSITION);
            } else {
                result = open_capture(m, s, p + 1, CAP_OPEN);
            }
            goto done;
        case ')':
            result = close_capture(m, s, p + 1);
            goto done;
        case '$':
            if (p + 1 == pe) {
                result = s == m->s_end ? s : NULL;
                goto done;
            }
            break; /* elsewhere, '$' is itself */
        case '%':
            if (p + 1 < pe && p[1] == 'b') {
                s = balanced(m, s, p + 2);
                if (s == NULL) {
                    goto done;
                }
                p += 4;
                continue;
            }
            if (p + 1 < pe && p[1] == 'f') {
                p = frontier(m, s, p + 2);
                if (p == NULL) {
                    goto done;
                }
                continue;
            }
            if (p + 1 < pe && p[1] >= '0' && p[1] <= '9') {
                s = back_reference(m, s, p[1]);
                if (s == NULL) {
                    goto done;
                }
                p += 2;
                continue;
            }
            break;
        default: break;
        }
        /* a single-character class, perhaps with a quantifier */
        const uchar *ep = class_end(m, p);
        int q = ep < pe ? *ep : 0;
        if (!single(m, s, p, ep)) {
            if (q == '*' || q == '?' || q == '-') {
                p = ep + 1; /* zero of them will do */
                continue;
            }
            goto done; /* NULL */
        }
        switch (q) {
        case '?':
            result = match_here(m, s + 1, ep + 1);
            if (result != NULL) {
                goto done;
            }
            p = ep + 1;
            continue;
        case '+': result = longest(m, s + 1, p, ep); goto done;
        case '*': result = longest(m, s, p, ep); goto done;
        case '-': result = shortest(m, s, p, ep); goto done;
        default:
            s++;
            p = ep;
            continue;
        }
    }
    result = s;
done:
    m->depth_left++;
    return result;
}

/* ------------------------------------------------------------ the calls */

static void begin(struct matcher *m, lua_State *L, struct skl_pattern_meter *meter,
                  const char *fname, const char *s, size_t ls, const char *p, size_t lp)
{
    m->L = L;
    m->fname = fname;
    m->meter = meter;
    m->pending = 0;
    m->s0 = (const uchar *)s;
    m->s_end = m->s0 + ls;
    m->p_end = (const uchar *)p + lp;
    m->depth_left = MAX_DEPTH;
    m->ncap = 0;
}

/* Before each attempt at a new start position. */
static void reset(struct matcher *m)
{
    m->depth_left = MAX_DEPTH;
    m->ncap = 0;
}

/* Capture i of the match s..e: a string, a position (an integer), or the
 * whole match when there are no captures and i is 0. */
static void push_capture(struct matcher *m, int i, const uchar *s, const uchar *e)
{
    lua_State *L = m->L;
    if (i >= m->ncap) {
        if (i != 0) {
            pattern_error(L, "invalid capture index %%%d", i + 1);
        }
        lua_pushlstring(L, (const char *)s, (size_t)(e - s));
        return;
    }
    ptrdiff_t len = m->cap[i].len;
    if (len == CAP_OPEN) {
        pattern_error(L, "unfinished capture");
    }
    if (len == CAP_POSITION) {
        lua_pushinteger(L, (lua_Integer)(m->cap[i].at - m->s0) + 1);
    } else {
        lua_pushlstring(L, (const char *)m->cap[i].at, (size_t)len);
    }
}

/* Every capture; without captures, the whole match s..e (none when s is
 * NULL: find returns positions instead). Returns how many were pushed. */
static int push_captures(struct matcher *m, const uchar *s, const uchar *e)
{
    int n = m->ncap == 0 && s != NULL ? 1 : m->ncap;
    luaL_checkstack(m->L, n, "too many captures");
    for (int i = 0; i < n; i++) {
        push_capture(m, i, s, e);
    }
    return n;
}

/* init as find, match and gmatch read it: 1-based, negative from the end,
 * 0 and anything before the start is the start. A 0-based offset, greater
 * than len when init is past the end. */
static size_t start_offset(lua_Integer init, size_t len)
{
    if (init > 0) {
        return (size_t)init - 1;
    }
    if (init == 0 || init < -(lua_Integer)len) {
        return 0;
    }
    return len - (size_t)-init;
}

/* Does the pattern hold a character with a meaning? Without one, find
 * searches plainly (Lua does; it shows: find("a)", "a)") is no error). */
static bool has_specials(const char *p, size_t lp)
{
    for (size_t i = 0; i < lp; i++) {
        switch (p[i]) {
        case '^': case '$': case '*': case '+': case '?': case '.':
        case '(': case '[': case '%': case '-':
            return true;
        default: break;
        }
    }
    return false;
}

/* The first n (nl bytes) in h (hl bytes), or NULL. Each byte looked at is
 * a tick, the candidate's bytes in chunks of 16 (memcmp stops at the first
 * difference; so does the charge, within a chunk). */
static const char *plain_find(struct matcher *m, const char *h, size_t hl, const char *n,
                              size_t nl)
{
    if (nl == 0) {
        return h;
    }
    if (nl > hl) {
        return NULL;
    }
    const char *last = h + (hl - nl); /* the last place n can start */
    for (const char *at = h; at <= last; at++) {
        size_t span = (size_t)(last - at) + 1;
        const char *hit = memchr(at, n[0], span);
        if (hit == NULL) {
            tick(m, span);
            return NULL;
        }
        tick(m, (size_t)(hit - at) + 1);
        at = hit;
        size_t k = 1; /* bytes known equal */
        while (k < nl) {
            size_t chunk = nl - k < 16 ? nl - k : 16;
            tick(m, chunk);
            if (memcmp(at + k, n + k, chunk) != 0) {
                break;
            }
            k += chunk;
        }
        if (k >= nl) {
            return at;
        }
    }
    return NULL;
}

static int find_or_match(lua_State *L, bool find)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t start = start_offset(luaL_optinteger(L, 3, 1), ls);
    if (start > ls) {
        luaL_pushfail(L);
        return 1;
    }
    struct matcher m;
    begin(&m, L, lua_touserdata(L, lua_upvalueindex(1)), find ? "string.find" : "string.match",
          s, ls, p, lp);
    if (find && (lua_toboolean(L, 4) || !has_specials(p, lp))) {
        const char *at = plain_find(&m, s + start, ls - start, p, lp);
        settle(&m);
        if (at == NULL) {
            luaL_pushfail(L);
            return 1;
        }
        lua_pushinteger(L, (lua_Integer)(at - s) + 1);
        lua_pushinteger(L, (lua_Integer)(at - s) + (lua_Integer)lp);
        return 2;
    }
    const uchar *pat = (const uchar *)p;
    bool anchored = lp > 0 && pat[0] == '^';
    if (anchored) {
        pat++;
    }
    for (const uchar *at = m.s0 + start;; at++) {
        reset(&m);
        const uchar *e = match_here(&m, at, pat);
        if (e != NULL) {
            int n = 0;
            if (find) {
                lua_pushinteger(L, (lua_Integer)(at - m.s0) + 1);
                lua_pushinteger(L, (lua_Integer)(e - m.s0));
                n = 2 + push_captures(&m, NULL, e);
            } else {
                n = push_captures(&m, at, e);
            }
            settle(&m);
            return n;
        }
        if (anchored || at == m.s_end) {
            break;
        }
    }
    settle(&m);
    luaL_pushfail(L);
    return 1;
}

/* string.find(s, pattern [, init [, plain]]) */
static int l_find(lua_State *L)
{
    return find_or_match(L, true);
}

/* string.match(s, pattern [, init]) */
static int l_match(lua_State *L)
{
    return find_or_match(L, false);
}

/* A gmatch iterator's place. */
struct gmatch_state {
    size_t pos;  /* where the next search starts */
    size_t last; /* where the last match ended (SIZE_MAX: none yet) */
};

/* The iterator: upvalues subject, pattern, state, meter. Nothing (not
 * even nil) when no match is left. A match may not end where the previous
 * one did, so an empty match right after a match is skipped. */
static int gmatch_next(lua_State *L)
{
    size_t ls, lp;
    const char *s = lua_tolstring(L, lua_upvalueindex(1), &ls);
    const char *p = lua_tolstring(L, lua_upvalueindex(2), &lp);
    struct gmatch_state *g = lua_touserdata(L, lua_upvalueindex(3));
    struct matcher m;
    begin(&m, L, lua_touserdata(L, lua_upvalueindex(4)), "string.gmatch", s, ls, p, lp);
    for (size_t at = g->pos; at <= ls; at++) {
        reset(&m);
        const uchar *e = match_here(&m, m.s0 + at, (const uchar *)p);
        if (e != NULL && (size_t)(e - m.s0) != g->last) {
            g->pos = g->last = (size_t)(e - m.s0);
            int n = push_captures(&m, m.s0 + at, e);
            settle(&m);
            return n;
        }
    }
    settle(&m);
    return 0;
}

/* string.gmatch(s, pattern [, init]) */
static int l_gmatch(lua_State *L)
{
    size_t ls;
    luaL_checklstring(L, 1, &ls);
    luaL_checklstring(L, 2, NULL);
    size_t start = start_offset(luaL_optinteger(L, 3, 1), ls);
    lua_settop(L, 2); /* the iterator keeps the strings (numbers made strings) */
    struct gmatch_state *g = lua_newuserdatauv(L, sizeof *g, 0);
    g->pos = start > ls ? ls + 1 : start;
    g->last = SIZE_MAX;
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushcclosure(L, gmatch_next, 4);
    return 1;
}

/* gsub's replacement string (argument 3) for the match s..e: %0 the
 * match, %1-%9 captures, %% a '%'. */
static void expand(struct matcher *m, luaL_Buffer *b, const uchar *s, const uchar *e)
{
    lua_State *L = m->L;
    size_t l;
    const char *r = lua_tolstring(L, 3, &l);
    const char *end = r + l;
    tick(m, 1);
    for (;;) {
        const char *pc = memchr(r, '%', (size_t)(end - r));
        if (pc == NULL) {
            break;
        }
        luaL_addlstring(b, r, (size_t)(pc - r));
        int d = pc + 1 < end ? (uchar)pc[1] : 0;
        tick(m, 1);
        if (d == '%') {
            luaL_addchar(b, '%');
        } else if (d == '0') {
            luaL_addlstring(b, (const char *)s, (size_t)(e - s));
        } else if (d >= '1' && d <= '9') {
            push_capture(m, d - '1', s, e);
            luaL_addvalue(b); /* a position capture is written as a number */
        } else {
            pattern_error(L, "invalid use of '%%' in replacement string");
        }
        r = pc + 2;
    }
    luaL_addlstring(b, r, (size_t)(end - r));
}

/* Add the replacement for the match s..e (tr: the type of argument 3).
 * A function's or table's false or nil keeps the match; returns whether
 * anything replaced it. */
static bool replace(struct matcher *m, luaL_Buffer *b, const uchar *s, const uchar *e, int tr)
{
    lua_State *L = m->L;
    if (tr == LUA_TFUNCTION) {
        lua_pushvalue(L, 3);
        int n = push_captures(m, s, e);
        lua_call(L, n, 1);
    } else if (tr == LUA_TTABLE) {
        push_capture(m, 0, s, e);
        lua_gettable(L, 3);
    } else {
        expand(m, b, s, e);
        return true;
    }
    if (!lua_toboolean(L, -1)) {
        lua_pop(L, 1);
        luaL_addlstring(b, (const char *)s, (size_t)(e - s));
        return false;
    }
    if (!lua_isstring(L, -1)) {
        pattern_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    }
    luaL_addvalue(b);
    return true;
}

/* string.gsub(s, pattern, repl [, n]) -> string, matches */
static int l_gsub(lua_State *L)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    int tr = lua_type(L, 3);
    lua_Integer limit = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
    luaL_argexpected(L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION ||
                            tr == LUA_TTABLE,
                     3, "string/function/table");
    struct matcher m;
    begin(&m, L, lua_touserdata(L, lua_upvalueindex(1)), "string.gsub", s, ls, p, lp);
    const uchar *pat = (const uchar *)p;
    bool anchored = lp > 0 && pat[0] == '^';
    if (anchored) {
        pat++;
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    const uchar *at = m.s0, *last = NULL;
    lua_Integer n = 0;
    bool changed = false;
    while (n < limit) {
        reset(&m);
        const uchar *e = match_here(&m, at, pat);
        if (e != NULL && e != last) {
            n++;
            changed = replace(&m, &b, at, e, tr) || changed;
            at = last = e;
        } else if (at < m.s_end) {
            luaL_addchar(&b, (char)*at++);
        } else {
            break;
        }
        if (anchored) {
            break;
        }
    }
    if (changed) {
        luaL_addlstring(&b, (const char *)at, (size_t)(m.s_end - at));
        luaL_pushresult(&b);
    } else {
        lua_pushvalue(L, 1); /* nothing replaced: the subject itself */
    }
    settle(&m);
    lua_pushinteger(L, n);
    return 2;
}

void skl_pattern_register(lua_State *L, int idx, const struct skl_pattern_meter *m)
{
    static const luaL_Reg fns[] = {
        {"find", l_find}, {"match", l_match}, {"gmatch", l_gmatch}, {"gsub", l_gsub}, {NULL, NULL},
    };
    idx = lua_absindex(L, idx);
    struct skl_pattern_meter *copy = lua_newuserdatauv(L, sizeof *copy, 0);
    *copy = *m;
    for (const luaL_Reg *f = fns; f->name != NULL; f++) {
        lua_pushvalue(L, -1);
        lua_pushcclosure(L, f->func, 1);
        lua_setfield(L, idx, f->name);
    }
    lua_pop(L, 1);
}
