/* base.c - error names, ballots, the seeded generator, allocation hooks. */
#include <stdio.h>
#include <stdlib.h>

#include "core.h"

const char *sk_err_name(int code)
{
    switch (code) {
#define SK__ERR_NAME(name, val, msg)                                                  \
    case (val): return "SK_" #name;
        SK_ERRNO_MAP(SK__ERR_NAME)
#undef SK__ERR_NAME
    default: return "SK_UNKNOWN";
    }
}

const char *sk_strerror(int code)
{
    switch (code) {
#define SK__ERR_MSG(name, val, msg)                                                   \
    case (val): return msg;
        SK_ERRNO_MAP(SK__ERR_MSG)
#undef SK__ERR_MSG
    default: return "unknown error";
    }
}

const char *sk_op_name(int op)
{
    switch (op) {
    case SK_OP_ACQUIRE: return "acquire";
    case SK_OP_RELEASE: return "release";
    case SK_OP_RENEW: return "renew";
    case SK_OP_ACQUIRE_SHARED: return "acquire_shared";
    case SK_OP_WAIT: return "wait";
    default: return "unknown";
    }
}

const char *sk_status_name(int status)
{
    switch (status) {
    case SK_ST_GRANTED: return "granted";
    case SK_ST_REFUSED: return "refused";
    case SK_ST_RELEASED: return "released";
    case SK_ST_NOT_HOLDER: return "not_holder";
    case SK_ST_CONTENDED: return "contended";
    case SK_ST_UNAVAILABLE: return "unavailable";
    case SK_ST_ERROR: return "error";
    case SK_ST_STALE: return "stale";
    case SK_ST_QUEUED: return "queued";
    default: return "unknown";
    }
}

bool sk_status_is_definite(int status)
{
    return status >= SK_ST_GRANTED && status <= SK_ST_NOT_HOLDER;
}

bool sk_status_is_settled(int status)
{
    return sk_status_is_definite(status) || status == SK_ST_STALE;
}

int sk_ballot_cmp(struct sk_ballot a, struct sk_ballot b)
{
    if (a.round != b.round) {
        return a.round < b.round ? -1 : 1;
    }
    if (a.node != b.node) {
        return a.node < b.node ? -1 : 1;
    }
    return 0;
}

char *sk_ballot_str(struct sk_ballot b, char *buf, size_t len)
{
    uint64_t epoch = b.round >> 32;
    if (epoch == 0) {
        snprintf(buf, len, "%llu.%u", (unsigned long long)b.round, b.node);
    } else {
        snprintf(buf, len, "e%llu:%llu.%u", (unsigned long long)epoch,
                 (unsigned long long)(b.round & 0xffffffffu), b.node);
    }
    return buf;
}

bool sk_ballot_is_zero(struct sk_ballot b)
{
    return b.round == 0 && b.node == 0;
}

uint64_t sk_ballot_token(struct sk_ballot b)
{
    return b.round << 8 | (b.node & 0xffu);
}

/* splitmix64 (Steele, Lea, Flood 2014): tiny, seedable, good enough for
 * jitter and simulated faults. */
uint64_t sk_rng_next(struct sk_rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double sk_rng_unit(struct sk_rng *r)
{
    return (double)(sk_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static struct sk_allocator alloc_libc = {malloc, realloc, free};
static struct sk_allocator alloc = {malloc, realloc, free};

void sk_set_allocator(const struct sk_allocator *a)
{
    alloc = a != NULL ? *a : alloc_libc;
}

void *sk__malloc(size_t size)
{
    return alloc.malloc(size);
}

void *sk__realloc(void *p, size_t size)
{
    return alloc.realloc(p, size);
}

void sk__free(void *p)
{
    if (p != NULL) {
        alloc.free(p);
    }
}
