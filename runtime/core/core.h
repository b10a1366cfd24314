/* core.h - internal to runtime/core. */
#ifndef SK_CORE_H
#define SK_CORE_H

#include "sk.h"

void *sk__malloc(size_t size);
void *sk__realloc(void *p, size_t size);
void sk__free(void *p);

/* Grow a buffer to hold at least need bytes. 0 or SK_ENOMEM. */
int sk__buf_reserve(struct sk_buf *b, size_t need);
int sk__buf_set(struct sk_buf *b, const uint8_t *data, size_t len);
void sk__buf_free(struct sk_buf *b);

/* Big-endian bytes, for the wire codec and the store's log. Each put
 * returns the position after what it wrote. */
static inline uint8_t *sk__put8(uint8_t *p, uint8_t v)
{
    *p = v;
    return p + 1;
}

static inline uint8_t *sk__put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return p + 2;
}

static inline uint8_t *sk__put32(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--) {
        *p++ = (uint8_t)(v >> (8 * i));
    }
    return p;
}

static inline uint8_t *sk__put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        *p++ = (uint8_t)(v >> (8 * i));
    }
    return p;
}

static inline uint32_t sk__get16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static inline uint32_t sk__get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t sk__get64(const uint8_t *p)
{
    return (uint64_t)sk__get32(p) << 32 | sk__get32(p + 4);
}

#endif
