/* value.c - the "sk value" encoding of lock state (sk.h), and sk_buf. */
#include <stdio.h>
#include <string.h>

#include "core.h"

#define MAX_DEPTH 16

int sk__buf_reserve(struct sk_buf *b, size_t need)
{
    if (need <= b->cap) {
        return 0;
    }
    size_t cap = b->cap ? b->cap : 32;
    while (cap < need) {
        cap *= 2;
    }
    uint8_t *d = sk__realloc(b->data, cap);
    if (d == NULL) {
        return SK_ENOMEM;
    }
    b->data = d;
    b->cap = cap;
    return 0;
}

int sk__buf_set(struct sk_buf *b, const uint8_t *data, size_t len)
{
    int rv = sk__buf_reserve(b, len ? len : 1);
    if (rv != 0) {
        return rv;
    }
    if (len) {
        memmove(b->data, data, len);
    }
    b->len = len;
    return 0;
}

void sk__buf_free(struct sk_buf *b)
{
    sk__free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* ---------------------------------------------------------------- reader */

struct rd {
    const uint8_t *p;
    const uint8_t *end;
};

static int rd_varint(struct rd *r, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) {
            return SK_EFRAME;
        }
        uint8_t c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return SK_EFRAME;
}

/* Read one item into f (f may be NULL), skipping nested contents. */
static int rd_item(struct rd *r, struct sk_value_field *f, int depth)
{
    if (depth > MAX_DEPTH || r->p >= r->end) {
        return SK_EFRAME;
    }
    char tag = (char)*r->p++;
    uint64_t u;
    struct sk_value_field tmp;
    if (f == NULL) {
        f = &tmp;
    }
    f->tag = tag;
    switch (tag) {
    case 'n':
    case 't':
    case 'f':
        return 0;
    case 'i':
        if (rd_varint(r, &u) != 0) {
            return SK_EFRAME;
        }
        f->i = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
        return 0;
    case 'd': {
        if (r->end - r->p < 8) {
            return SK_EFRAME;
        }
        uint64_t bits = 0;
        for (int i = 0; i < 8; i++) {
            bits = bits << 8 | r->p[i];
        }
        memcpy(&f->d, &bits, sizeof f->d);
        r->p += 8;
        return 0;
    }
    case 's':
        if (rd_varint(r, &u) != 0 || u > (uint64_t)(r->end - r->p)) {
            return SK_EFRAME;
        }
        f->s = r->p;
        f->s_len = (size_t)u;
        r->p += u;
        return 0;
    case 'm': {
        const uint8_t *start = r->p - 1;
        if (rd_varint(r, &u) != 0 || u > (uint64_t)(r->end - r->p)) {
            return SK_EFRAME;
        }
        for (uint64_t i = 0; i < 2 * u; i++) {
            if (rd_item(r, NULL, depth + 1) != 0) {
                return SK_EFRAME;
            }
        }
        f->s = start;
        f->s_len = (size_t)(r->p - start);
        return 0;
    }
    default:
        return SK_EFRAME;
    }
}

int sk_value_get(const uint8_t *v, size_t len, const char *name, struct sk_value_field *f)
{
    if (len == 0) {
        return 0;
    }
    struct rd r = {v, v + len};
    if (*r.p != 'm') {
        return SK_EFRAME;
    }
    r.p++;
    uint64_t count;
    if (rd_varint(&r, &count) != 0) {
        return SK_EFRAME;
    }
    size_t nlen = strlen(name);
    for (uint64_t i = 0; i < count; i++) {
        struct sk_value_field k;
        if (rd_item(&r, &k, 1) != 0) {
            return SK_EFRAME;
        }
        if (rd_item(&r, f, 1) != 0) {
            return SK_EFRAME;
        }
        if (k.tag == 's' && k.s_len == nlen && memcmp(k.s, name, nlen) == 0) {
            f->name = (const char *)k.s;
            f->name_len = k.s_len;
            return 1;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- checker */

/* What a lock state may be (spec/HOOKS.md, "Lock state is data"): exactly
 * what a Lua table can hold and what the Lua writer produces, so the C
 * reader and the Lua reader agree on every input: a table at the top;
 * keys that are strings or integers, in increasing order (integers first,
 * then strings bytewise), each once; values that are not nil; tables
 * nested at most MAX_DEPTH deep; varints of at most 64 bits. */
struct ck {
    const uint8_t *start, *p, *end;
    char *why;
    size_t whylen;
};

static int ck_fail(struct ck *c, const uint8_t *at, const char *what)
{
    if (c->why != NULL && c->whylen > 0) {
        snprintf(c->why, c->whylen, "%s (byte %zu of %zu)", what, (size_t)(at - c->start),
                 (size_t)(c->end - c->start));
    }
    return SK_EFRAME;
}

static int ck_varint(struct ck *c, uint64_t *out)
{
    const uint8_t *at = c->p;
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (c->p >= c->end) {
            return ck_fail(c, at, "a number is cut short");
        }
        uint8_t b = *c->p++;
        if (shift == 63 && b > 1) {
            return ck_fail(c, at, "a number is wider than 64 bits");
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return ck_fail(c, at, "a number is wider than 64 bits");
}

static const char *tag_kind(uint8_t tag)
{
    switch (tag) {
    case 'n': return "nil";
    case 't':
    case 'f': return "boolean";
    case 'i': return "integer";
    case 'd': return "float";
    case 's': return "string";
    case 'm': return "table";
    default: return "unknown";
    }
}

/* One key of a table, for ordering: an integer, or string bytes. */
struct ck_key {
    int is_str;
    int64_t i;
    const uint8_t *s;
    size_t len;
};

static int ck_key_cmp(const struct ck_key *a, const struct ck_key *b)
{
    if (a->is_str != b->is_str) {
        return a->is_str ? 1 : -1;
    }
    if (!a->is_str) {
        return a->i < b->i ? -1 : a->i > b->i;
    }
    int c = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);
    return c != 0 ? c : a->len < b->len ? -1 : a->len > b->len;
}

static int ck_item(struct ck *c, int depth, struct ck_key *key);

static int ck_table(struct ck *c, const uint8_t *at, int depth)
{
    uint64_t count;
    if (ck_varint(c, &count) != 0) {
        return SK_EFRAME;
    }
    if (count > (uint64_t)(c->end - c->p) / 2) {
        return ck_fail(c, at, "a table says it has more entries than there are bytes");
    }
    struct ck_key prev = {0, 0, NULL, 0}, cur;
    for (uint64_t i = 0; i < count; i++) {
        const uint8_t *kat = c->p;
        if (kat < c->end && *kat != 's' && *kat != 'i') {
            char what[96];
            double d = 0;
            if (*kat == 'd' && c->end - kat >= 9) {
                uint64_t bits = 0;
                for (int b = 1; b <= 8; b++) {
                    bits = bits << 8 | kat[b];
                }
                memcpy(&d, &bits, sizeof d);
            }
            snprintf(what, sizeof what, "a table key is %s%s: keys must be strings or integers",
                     *kat == 'd' && d != d ? "NaN, a " : "a ", tag_kind(*kat));
            return ck_fail(c, kat, what);
        }
        if (ck_item(c, depth + 1, &cur) != 0) {
            return SK_EFRAME;
        }
        if (i > 0 && ck_key_cmp(&prev, &cur) >= 0) {
            return ck_fail(c, kat, "table keys are repeated or out of order (integers first, "
                                   "then strings, each ascending)");
        }
        prev = cur;
        const uint8_t *vat = c->p;
        if (vat < c->end && *vat == 'n') {
            return ck_fail(c, vat, "a table value is nil (a table cannot hold nil)");
        }
        if (ck_item(c, depth + 1, NULL) != 0) {
            return SK_EFRAME;
        }
    }
    return 0;
}

static int ck_item(struct ck *c, int depth, struct ck_key *key)
{
    const uint8_t *at = c->p;
    if (c->p >= c->end) {
        return ck_fail(c, at, "the value is cut short");
    }
    if (depth > MAX_DEPTH) {
        return ck_fail(c, at, "tables are nested more than 16 deep");
    }
    uint8_t tag = *c->p++;
    uint64_t u;
    switch (tag) {
    case 'n':
    case 't':
    case 'f': return 0;
    case 'i':
        if (ck_varint(c, &u) != 0) {
            return SK_EFRAME;
        }
        if (key != NULL) {
            key->is_str = 0;
            key->i = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
        }
        return 0;
    case 'd':
        if (c->end - c->p < 8) {
            return ck_fail(c, at, "a float is cut short");
        }
        c->p += 8;
        return 0;
    case 's':
        if (ck_varint(c, &u) != 0) {
            return SK_EFRAME;
        }
        if (u > (uint64_t)(c->end - c->p)) {
            return ck_fail(c, at, "a string is longer than the bytes left");
        }
        if (key != NULL) {
            key->is_str = 1;
            key->s = c->p;
            key->len = (size_t)u;
        }
        c->p += u;
        return 0;
    case 'm': return ck_table(c, at, depth);
    default: return ck_fail(c, at, "unknown tag (expected one of n t f i d s m)");
    }
}

int sk_value_check(const uint8_t *v, size_t len, char *why, size_t whylen)
{
    if (why != NULL && whylen > 0) {
        why[0] = 0;
    }
    if (len == 0) {
        return 0;
    }
    struct ck c = {v, v, v + len, why, whylen};
    if (v[0] != 'm') {
        char what[96];
        const char *kind = tag_kind(v[0]);
        if (strcmp(kind, "unknown") == 0) {
            snprintf(what, sizeof what, "a lock state must be a table; this is not a value");
        } else {
            snprintf(what, sizeof what, "a lock state must be a table, not a%s %s",
                     v[0] == 'i' ? "n" : "", kind);
        }
        return ck_fail(&c, v, what);
    }
    if (ck_item(&c, 0, NULL) != 0) {
        return SK_EFRAME;
    }
    if (c.p != c.end) {
        return ck_fail(&c, c.p, "bytes left over after the value");
    }
    return 0;
}

int sk_value_validate(const uint8_t *v, size_t len)
{
    return sk_value_check(v, len, NULL, 0);
}

/* ------------------------------------------------------------------ JSON */

/* A lock state as JSON (sk_value_json): tables are objects, keys strings
 * (an integer key 3 is "3"), NaN and infinities null. Strings are escaped
 * so that the result is valid JSON whatever the bytes: '"', '\\', control
 * characters and DEL as escapes, valid UTF-8 as is, and any byte that is not
 * part of a valid UTF-8 sequence as \u00XX (read as Latin-1). */
struct js {
    sk_put_fn put;
    void *ud;
    int err;
};

static void js_put(struct js *j, const void *p, size_t n)
{
    if (j->err == 0 && n > 0) {
        j->err = j->put(j->ud, p, n);
    }
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_len(const uint8_t *s, size_t n)
{
    size_t len;
    uint32_t cp;
    if (s[0] < 0x80) {
        return 1;
    } else if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
        cp = s[0] & 0x1fu;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        cp = s[0] & 0x0fu;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        cp = s[0] & 0x07u;
    } else {
        return 0;
    }
    if (len > n) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = cp << 6 | (s[i] & 0x3fu);
    }
    /* overlong forms, surrogates and past U+10FFFF are not UTF-8 */
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    return len;
}

static void js_str(struct js *j, const uint8_t *s, size_t n)
{
    js_put(j, "\"", 1);
    size_t run = 0; /* bytes copied as they are, not yet written */
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        size_t u = c == '"' || c == '\\' || c < 0x20 || c == 0x7f ? 0 : utf8_len(s + i, n - i);
        if (u > 0) {
            i += u;
            run += u;
            continue;
        }
        js_put(j, s + i - run, run);
        run = 0;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            js_put(j, esc, 2);
        } else {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            js_put(j, esc, 6);
        }
        i++;
    }
    js_put(j, s + n - run, run);
    js_put(j, "\"", 1);
}

/* One item of a value sk_value_check accepted. */
static void js_item(struct js *j, struct rd *r, bool as_key)
{
    struct sk_value_field f;
    const uint8_t *at = r->p;
    if (rd_item(r, &f, 0) != 0) {
        j->err = SK_EFRAME; /* not reached: the value was checked */
        return;
    }
    char num[40];
    int n;
    switch (f.tag) {
    case 't': js_put(j, "true", 4); return;
    case 'f': js_put(j, "false", 5); return;
    case 'i':
        n = snprintf(num, sizeof num, as_key ? "\"%lld\"" : "%lld", (long long)f.i);
        js_put(j, num, (size_t)n);
        return;
    case 'd':
        if (!(f.d - f.d == 0)) { /* NaN or an infinity */
            js_put(j, "null", 4);
            return;
        }
        n = snprintf(num, sizeof num, "%.17g", f.d);
        js_put(j, num, (size_t)n);
        return;
    case 's': js_str(j, f.s, f.s_len); return;
    case 'm': {
        struct rd in = {at + 1, at + f.s_len};
        uint64_t count = 0;
        rd_varint(&in, &count);
        js_put(j, "{", 1);
        for (uint64_t i = 0; i < count && j->err == 0; i++) {
            if (i > 0) {
                js_put(j, ",", 1);
            }
            js_item(j, &in, true);
            js_put(j, ":", 1);
            js_item(j, &in, false);
        }
        js_put(j, "}", 1);
        return;
    }
    default: js_put(j, "null", 4); return;
    }
}

int sk_json_string(const uint8_t *s, size_t n, sk_put_fn put, void *ud)
{
    struct js j = {put, ud, 0};
    js_str(&j, s, n);
    return j.err;
}

int sk_value_json(const uint8_t *v, size_t len, sk_put_fn put, void *ud)
{
    if (sk_value_check(v, len, NULL, 0) != 0) {
        return SK_EFRAME;
    }
    struct js j = {put, ud, 0};
    if (len == 0) {
        js_put(&j, "null", 4);
        return j.err;
    }
    struct rd r = {v, v + len};
    js_item(&j, &r, false);
    return j.err;
}

struct fixed_out {
    char *buf;
    size_t cap, len;
};

/* Into a fixed buffer, NUL kept room for; what does not fit is cut. */
static int put_fixed(void *ud, const void *p, size_t n)
{
    struct fixed_out *o = ud;
    if (o->len + n >= o->cap) {
        size_t room = o->cap - 1 - o->len;
        memcpy(o->buf + o->len, p, room);
        o->len += room;
        return SK_ENOSPACE;
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
    return 0;
}

int sk_value_json_text(const uint8_t *v, size_t len, char *buf, size_t cap)
{
    if (cap == 0) {
        return SK_ENOSPACE;
    }
    struct fixed_out o = {buf, cap, 0};
    buf[0] = 0;
    int rv = sk_value_json(v, len, put_fixed, &o);
    buf[o.len] = 0;
    return rv;
}

/* ---------------------------------------------------------------- writer */

static void wr_bytes(struct sk_value_writer *w, const void *p, size_t n)
{
    if (w->err) {
        return;
    }
    if (w->cap - w->len < n) {
        w->err = SK_ENOSPACE;
        return;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

static void wr_varint(struct sk_value_writer *w, uint64_t v)
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

static void wr_str(struct sk_value_writer *w, const void *s, size_t len)
{
    wr_bytes(w, "s", 1);
    wr_varint(w, len);
    wr_bytes(w, s, len);
}

/* The count is written as a fixed 5-byte varint slot so it can be patched
 * at the end; the reader accepts non-minimal varints. */
void sk_value_begin(struct sk_value_writer *w, uint8_t *buf, size_t cap)
{
    memset(w, 0, sizeof *w);
    w->buf = buf;
    w->cap = cap;
    wr_bytes(w, "m", 1);
    w->count_pos = w->len;
    wr_bytes(w, "\x80\x80\x80\x80\x00", 5);
}

void sk_value_put_str(struct sk_value_writer *w, const char *key, const uint8_t *s, size_t len)
{
    wr_str(w, key, strlen(key));
    wr_str(w, s, len);
    w->count++;
}

void sk_value_put_int(struct sk_value_writer *w, const char *key, int64_t i)
{
    wr_str(w, key, strlen(key));
    wr_bytes(w, "i", 1);
    wr_varint(w, ((uint64_t)i << 1) ^ (uint64_t)(i >> 63));
    w->count++;
}

int sk_value_end(struct sk_value_writer *w)
{
    if (w->err) {
        return w->err;
    }
    uint32_t c = w->count;
    for (int i = 0; i < 5; i++) {
        w->buf[w->count_pos + (size_t)i] = (uint8_t)((c & 0x7f) | (i < 4 ? 0x80 : 0));
        c >>= 7;
    }
    return (int)w->len;
}
