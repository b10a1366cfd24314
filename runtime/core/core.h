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

#endif
