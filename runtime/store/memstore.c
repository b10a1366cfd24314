/* memstore.c - the simulator's store: a map from lock name to the last
 * persisted register, in insertion order so restores are deterministic. */
#include <string.h>

#include "core/core.h"
#include "store.h"

struct rec {
    struct sk_ballot promised, accepted;
    uint32_t key_len, value_len;
    uint8_t *bytes; /* key then value */
};

struct sk_memstore {
    struct rec *recs;
    size_t n, cap;
    size_t *slots; /* index + 1 into recs; 0 is empty */
    size_t n_slots;
};

static uint64_t hash(const uint8_t *k, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ k[i]) * 0x100000001b3ull;
    }
    return h;
}

struct sk_memstore *sk_memstore_new(void)
{
    struct sk_memstore *m = sk__malloc(sizeof *m);
    if (m == NULL) {
        return NULL;
    }
    memset(m, 0, sizeof *m);
    return m;
}

void sk_memstore_clear(struct sk_memstore *m)
{
    for (size_t i = 0; i < m->n; i++) {
        sk__free(m->recs[i].bytes);
    }
    m->n = 0;
    if (m->slots) {
        memset(m->slots, 0, m->n_slots * sizeof *m->slots);
    }
}

void sk_memstore_free(struct sk_memstore *m)
{
    if (m == NULL) {
        return;
    }
    sk_memstore_clear(m);
    sk__free(m->recs);
    sk__free(m->slots);
    sk__free(m);
}

static size_t *find_slot(const struct sk_memstore *m, const uint8_t *k, size_t len)
{
    size_t i = (size_t)hash(k, len) & (m->n_slots - 1);
    for (;;) {
        size_t *s = &m->slots[i];
        if (*s == 0) {
            return s;
        }
        const struct rec *r = &m->recs[*s - 1];
        if (r->key_len == len && memcmp(r->bytes, k, len) == 0) {
            return s;
        }
        i = (i + 1) & (m->n_slots - 1);
    }
}

static int rehash(struct sk_memstore *m, size_t n_slots)
{
    size_t *s = sk__malloc(n_slots * sizeof *s);
    if (s == NULL) {
        return SK_ENOMEM;
    }
    memset(s, 0, n_slots * sizeof *s);
    sk__free(m->slots);
    m->slots = s;
    m->n_slots = n_slots;
    for (size_t i = 0; i < m->n; i++) {
        *find_slot(m, m->recs[i].bytes, m->recs[i].key_len) = i + 1;
    }
    return 0;
}

int sk_memstore_put(struct sk_memstore *m, const struct sk_persist *p)
{
    if ((m->n + 1) * 2 > m->n_slots && rehash(m, m->n_slots ? m->n_slots * 2 : 64) != 0) {
        return SK_ENOMEM;
    }
    uint8_t *bytes = sk__malloc((size_t)p->key_len + p->value_len + 1);
    if (bytes == NULL) {
        return SK_ENOMEM;
    }
    memcpy(bytes, p->key, p->key_len);
    if (p->value_len) {
        memcpy(bytes + p->key_len, p->value, p->value_len);
    }
    size_t *slot = find_slot(m, p->key, p->key_len);
    struct rec *r;
    if (*slot != 0) {
        r = &m->recs[*slot - 1];
        sk__free(r->bytes);
    } else {
        if (m->n == m->cap) {
            size_t cap = m->cap ? m->cap * 2 : 16;
            struct rec *nr = sk__realloc(m->recs, cap * sizeof *nr);
            if (nr == NULL) {
                sk__free(bytes);
                return SK_ENOMEM;
            }
            m->recs = nr;
            m->cap = cap;
        }
        r = &m->recs[m->n++];
        *slot = m->n;
    }
    r->promised = p->promised;
    r->accepted = p->accepted;
    r->key_len = p->key_len;
    r->value_len = p->value_len;
    r->bytes = bytes;
    return 0;
}

bool sk_memstore_next(const struct sk_memstore *m, size_t *cursor, struct sk_persist *out)
{
    if (*cursor >= m->n) {
        return false;
    }
    const struct rec *r = &m->recs[(*cursor)++];
    out->key = r->bytes;
    out->key_len = r->key_len;
    out->value = r->bytes + r->key_len;
    out->value_len = r->value_len;
    out->promised = r->promised;
    out->accepted = r->accepted;
    return true;
}

size_t sk_memstore_count(const struct sk_memstore *m)
{
    return m->n;
}
