/* digest.c - a small streaming 128-bit hash for state digests (sk.h,
 * "Digests"). Not cryptographic: it tells apart states a search reaches,
 * it does not resist someone choosing states to collide. */
#include <string.h>

#include "core.h"

#define K1 0x9e3779b97f4a7c15ull
#define K2 0xc2b2ae3d27d4eb4full
#define M1 0xbf58476d1ce4e5b9ull
#define M2 0x94d049bb133111ebull

static uint64_t rotl(uint64_t x, unsigned r)
{
    return (x << r) | (x >> (64u - r));
}

/* A 64-bit bijection that spreads every input bit over the output. */
static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= M1;
    x ^= x >> 27;
    x *= M2;
    x ^= x >> 31;
    return x;
}

void sk_hash_init(struct sk_hasher *h)
{
    h->a = K1;
    h->b = K2;
    h->words = 0;
}

void sk_hash_u64(struct sk_hasher *h, uint64_t w)
{
    /* two lanes, each absorbing a different scramble of the word and
     * stepping its state invertibly, so the result depends on every word
     * and on their order; the full mixing is left to sk_hash_final */
    uint64_t k = rotl(w * K2, 31) * K1;
    h->a = rotl(h->a ^ k, 27) * 5 + 0x52dce729u;
    h->b = rotl(h->b ^ (w * M1 + k), 33) * M2;
    h->words++;
}

void sk_hash_bytes(struct sk_hasher *h, const void *p, size_t len)
{
    const uint8_t *s = p;
    sk_hash_u64(h, (uint64_t)len); /* length first: "ab"+"c" is not "a"+"bc" */
    while (len > 0) {
        uint64_t w = 0;
        size_t k = len < 8 ? len : 8;
        for (size_t i = 0; i < k; i++) {
            w |= (uint64_t)s[i] << (8 * i);
        }
        sk_hash_u64(h, w);
        s += k;
        len -= k;
    }
}

void sk_hash_final(const struct sk_hasher *h, uint8_t out[SK_DIGEST_LEN])
{
    uint64_t a = h->a ^ h->words, b = h->b ^ rotl(h->words, 32);
    a += b;
    b += a;
    a = mix(a);
    b = mix(b ^ K2);
    a += b;
    b += a;
    sk__put64(out, a);
    sk__put64(out + 8, b);
}
