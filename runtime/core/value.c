/* value.c - the "sk value" encoding of lock state (sk.h), and sk_buf. */
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

int sk_value_validate(const uint8_t *v, size_t len)
{
    if (len == 0) {
        return 0;
    }
    struct rd r = {v, v + len};
    if (rd_item(&r, NULL, 0) != 0 || r.p != r.end) {
        return SK_EFRAME;
    }
    return 0;
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
