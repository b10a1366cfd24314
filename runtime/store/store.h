/* store.h - acceptor state made durable. The in-memory store serves the
 * simulator: what a node persisted survives its crash unless the restart
 * is an amnesia one. */
#ifndef SK_STORE_H
#define SK_STORE_H

#include "sk.h"

struct sk_memstore;

/* Returns owned (free with sk_memstore_free), or NULL. */
struct sk_memstore *sk_memstore_new(void);
void sk_memstore_free(struct sk_memstore *m);
/* Copy one register record in, replacing the key's previous one. */
int sk_memstore_put(struct sk_memstore *m, const struct sk_persist *p);
/* Iterate in insertion order: *cursor starts at 0. Borrowed until the next put. */
bool sk_memstore_next(const struct sk_memstore *m, size_t *cursor, struct sk_persist *out);
void sk_memstore_clear(struct sk_memstore *m);
size_t sk_memstore_count(const struct sk_memstore *m);

#endif
