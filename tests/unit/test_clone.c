/* test_clone.c - sk_node_clone and sk_node_digest (sk.h, "clones and
 * digests"): a clone acts exactly as its original, digests name states
 * canonically, clones free cleanly.
 *
 * The scripted runs drive three nodes through a tiny in-test network with
 * reordering, loss, duplication and timeouts chosen by a seeded generator,
 * and compare each batch of a clone with its original's byte by byte. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "sk.h"

#define KEY ((const uint8_t *)"lock")
#define KEY_LEN 4u

static const char *const names[] = {"", "one", "two", "three"};

static struct sk_node *make(uint32_t id, uint32_t classic, uint64_t now)
{
    struct sk_config cfg = {0};
    cfg.id = id;
    cfg.name = names[id];
    cfg.cluster_size = 3;
    cfg.phase_timeout_ms = 100;
    cfg.classic = classic;
    cfg.seed = 42;
    return sk_node_new(&cfg, NULL, now);
}

/* ------------------------------------------------------ batches as bytes */

struct dump {
    uint8_t *p;
    size_t len, cap;
};

static void put(struct dump *d, const void *p, size_t n)
{
    if (d->len + n + 8 > d->cap) {
        d->cap = (d->len + n + 8) * 2;
        d->p = realloc(d->p, d->cap);
        if (d->p == NULL) {
            abort();
        }
    }
    uint64_t len = n;
    memcpy(d->p + d->len, &len, 8);
    if (n) {
        memcpy(d->p + d->len + 8, p, n);
    }
    d->len += n + 8;
}

static void put64(struct dump *d, uint64_t v)
{
    put(d, &v, sizeof v);
}

static void put_str(struct dump *d, const char *s)
{
    put(d, s, s != NULL ? strlen(s) : 0);
    put64(d, s == NULL);
}

/* Everything a batch says, in order; then it is consumed. wake gets the
 * wakeup. */
static void take(struct sk_node *n, struct dump *d, uint64_t *wake, struct dump *sent)
{
    struct sk_actions a;
    sk_node_actions(n, &a);
    for (size_t i = 0; i < a.n_persist; i++) {
        const struct sk_persist *p = &a.persist[i];
        put(d, p->key, p->key_len);
        put64(d, p->promised.round), put64(d, p->promised.node);
        put64(d, p->accepted.round), put64(d, p->accepted.node);
        put(d, p->value, p->value_len);
    }
    for (size_t i = 0; i < a.n_send; i++) {
        put64(d, a.send[i].to);
        put(d, a.send[i].frame, a.send[i].len);
        if (sent != NULL) {
            put64(sent, a.send[i].to);
            put(sent, a.send[i].frame, a.send[i].len);
        }
    }
    for (size_t i = 0; i < a.n_reply; i++) {
        const struct sk_reply *r = &a.reply[i];
        put64(d, r->req_id), put64(d, r->status), put64(d, r->token);
        put(d, r->key, r->key_len);
        put_str(d, r->holder), put_str(d, r->text);
        put64(d, r->ballot.round), put64(d, r->ballot.node), put64(d, r->waited);
    }
    for (size_t i = 0; i < a.n_note; i++) {
        const struct sk_note *nt = &a.note[i];
        put64(d, nt->kind);
        put(d, nt->key, nt->key_len);
        put64(d, nt->ballot.round), put64(d, nt->ballot.node);
        put(d, nt->value, nt->value_len);
        put64(d, nt->req_id), put64(d, nt->phase);
        put_str(d, nt->text);
    }
    /* relative to the node's clock: two nodes with one digest but
     * different clocks must agree on this */
    uint64_t now = sk_node_now(n);
    put64(d, a.wakeup_ms == UINT64_MAX ? UINT64_MAX : a.wakeup_ms > now ? a.wakeup_ms - now : 0);
    *wake = a.wakeup_ms;
    sk_node_advance(n);
}

/* ------------------------------------------------------ a scripted run */

struct frame {
    uint32_t to;
    uint32_t len;
    uint8_t b[SK_FRAME_MAX + 4];
};

#define NET_MAX 256

struct run {
    struct sk_node *a[4]; /* the originals */
    struct sk_node *b[4]; /* their twins, cloned at some step; NULL before */
    uint64_t wake[4];
    uint64_t now;
    struct frame *net[NET_MAX];
    size_t n_net;
    uint64_t rng;
    uint64_t steps, twin_steps, batches_compared, replies, timeouts, drops, dups;
    bool mid_proposal_at_clone;
    struct sk_node *scratch; /* the node before the current input (cross checks) */
};

static uint64_t next(struct run *r)
{
    r->rng ^= r->rng << 13;
    r->rng ^= r->rng >> 7;
    r->rng ^= r->rng << 17;
    return r->rng;
}

/* Queue what a batch sent (the dump holds to, frame pairs). */
static void enqueue(struct run *r, const struct dump *sent)
{
    size_t at = 0;
    while (at < sent->len) {
        uint64_t to, len;
        memcpy(&len, sent->p + at, 8); /* the to field: 8 bytes */
        memcpy(&to, sent->p + at + 8, 8);
        at += 16;
        memcpy(&len, sent->p + at, 8);
        at += 8;
        if (r->n_net < NET_MAX) {
            struct frame *f = malloc(sizeof *f);
            if (f == NULL) {
                abort();
            }
            f->to = (uint32_t)to;
            f->len = (uint32_t)len;
            memcpy(f->b, sent->p + at, len);
            r->net[r->n_net++] = f;
        }
        at += len;
    }
}

enum in_kind { IN_RECV, IN_TICK, IN_REQ };

struct input {
    int kind;
    const struct sk_msg *m;
    const struct sk_client_req *rq;
};

static void apply(struct sk_node *n, const struct input *in, uint64_t now)
{
    if (in->kind == IN_RECV) {
        sk_node_recv(n, in->m, now);
    } else if (in->kind == IN_TICK) {
        sk_node_tick(n, now);
    } else {
        sk_node_request(n, in->rq, now);
    }
}

/* Equal digests act alike: every node state met in the scripted runs is
 * kept (a clone, by digest); when a state with a kept digest meets an
 * input, the kept node gets the same input at the same offset from its own
 * clock, and the batches must be the same bytes (wakeups read relative to
 * the clock). */
#define KEPT_SLOTS (1u << 16)
static struct kept {
    uint8_t d[SK_DIGEST_LEN];
    struct sk_node *n;
    uint64_t seed;
} *kept;
static size_t n_kept;
static uint64_t cur_seed, cross_checks, cross_other_clock, cross_other_seed;

static void kept_free(void)
{
    for (size_t k = 0; kept != NULL && k < KEPT_SLOTS; k++) {
        sk_node_free(kept[k].n);
    }
    free(kept);
    kept = NULL;
    n_kept = 0;
}

static void cross_check(struct run *r, uint32_t i, const struct input *in,
                        const uint8_t d[SK_DIGEST_LEN], const struct dump *x, uint64_t offset,
                        uint64_t clock)
{
    uint64_t h;
    memcpy(&h, d, sizeof h);
    size_t k = (size_t)h & (KEPT_SLOTS - 1);
    while (kept[k].n != NULL && memcmp(kept[k].d, d, SK_DIGEST_LEN) != 0) {
        k = (k + 1) & (KEPT_SLOTS - 1);
    }
    if (kept[k].n == NULL) {
        (void)i;
        if (n_kept * 2 < KEPT_SLOTS) { /* keep the one before this input */
            memcpy(kept[k].d, d, SK_DIGEST_LEN);
            kept[k].n = r->scratch;
            kept[k].seed = cur_seed;
            r->scratch = NULL;
            n_kept++;
        }
        return;
    }
    struct sk_node *c = sk_node_clone(kept[k].n);
    ASSERT_NOT_NULL(c);
    uint64_t kclock = sk_node_now(c);
    apply(c, in, kclock + offset);
    struct dump z = {0};
    uint64_t w;
    take(c, &z, &w, NULL);
    sk_node_free(c);
    ASSERT_EQ_U64(z.len, x->len);
    ASSERT_MEM_EQ(z.p, x->p, x->len);
    free(z.p);
    cross_checks++;
    cross_other_clock += kclock != clock;
    cross_other_seed += kept[k].seed != cur_seed;
}

/* Feed one input to node i: to the original, to its twin (when there is
 * one) and to a fresh clone of the original taken just before; all three
 * batches must be the same bytes, and the digests equal. */
static void step(struct run *r, uint32_t i, const struct input *in)
{
    uint8_t before[SK_DIGEST_LEN], da[SK_DIGEST_LEN], db[SK_DIGEST_LEN], dc[SK_DIGEST_LEN];
    sk_node_digest(r->a[i], before);
    struct sk_node *c = sk_node_clone(r->a[i]);
    ASSERT_NOT_NULL(c);
    sk_node_digest(c, dc);
    ASSERT_MEM_EQ(before, dc, SK_DIGEST_LEN);
    struct dump x = {0}, y = {0}, z = {0}, sent = {0};
    uint64_t clock = sk_node_now(r->a[i]);
    uint64_t offset = r->now > clock ? r->now - clock : 0;
    if (kept != NULL) {
        r->scratch = sk_node_clone(r->a[i]);
        ASSERT_NOT_NULL(r->scratch);
    }
    apply(r->a[i], in, r->now);
    take(r->a[i], &x, &r->wake[i], &sent);
    if (kept != NULL) {
        RUN(cross_check(r, i, in, before, &x, offset, clock));
        sk_node_free(r->scratch);
        r->scratch = NULL;
    }
    apply(c, in, r->now);
    uint64_t w;
    take(c, &z, &w, NULL);
    ASSERT_EQ_U64(z.len, x.len);
    ASSERT_MEM_EQ(z.p, x.p, x.len);
    sk_node_digest(r->a[i], da);
    sk_node_digest(c, dc);
    ASSERT_MEM_EQ(da, dc, SK_DIGEST_LEN);
    sk_node_free(c);
    r->batches_compared++;
    if (r->b[i] != NULL) {
        apply(r->b[i], in, r->now);
        take(r->b[i], &y, &w, NULL);
        ASSERT_EQ_U64(y.len, x.len);
        ASSERT_MEM_EQ(y.p, x.p, x.len);
        sk_node_digest(r->b[i], db);
        ASSERT_MEM_EQ(da, db, SK_DIGEST_LEN);
        r->twin_steps++;
    }
    enqueue(r, &sent);
    free(x.p), free(y.p), free(z.p), free(sent.p);
}

static void run_free(struct run *r)
{
    sk_node_free(r->scratch);
    for (int i = 1; i <= 3; i++) {
        sk_node_free(r->a[i]);
        sk_node_free(r->b[i]);
    }
    for (size_t k = 0; k < r->n_net; k++) {
        free(r->net[k]);
    }
    memset(r, 0, sizeof *r);
}

static struct sk_client_req req(uint64_t id, uint8_t op, const char *holder, uint64_t client)
{
    struct sk_client_req q = {id, op, 0, KEY, KEY_LEN, (const uint8_t *)holder,
                              (uint32_t)strlen(holder), client, id, 0};
    return q;
}

/* Acquires by two holders at once (a duel), releases, a second round of
 * acquires; messages delivered in a random order, some lost, some
 * duplicated; timers fired when the network is quiet or by chance. The
 * twins are cloned from the originals at step clone_at. */
static void scripted(struct run *r, uint64_t seed, uint64_t clone_at)
{
    memset(r, 0, sizeof *r);
    r->rng = seed * 0x9e3779b97f4a7c15ull + 1;
    for (uint32_t i = 1; i <= 3; i++) {
        r->a[i] = make(i, 0, 0);
        ASSERT_NOT_NULL(r->a[i]);
        struct dump d = {0};
        take(r->a[i], &d, &r->wake[i], NULL);
        free(d.p);
    }
    struct sk_client_req script[] = {
        req(1, SK_OP_ACQUIRE, "beaver", 1),   req(2, SK_OP_ACQUIRE, "giraffe", 2),
        req(3, SK_OP_RELEASE, "beaver", 1),   req(4, SK_OP_RELEASE, "giraffe", 2),
        req(5, SK_OP_ACQUIRE, "giraffe", 2),  req(6, SK_OP_ACQUIRE, "beaver", 1),
    };
    const uint64_t when[] = {0, 1, 60, 61, 90, 91};
    const uint32_t at[] = {1, 2, 3, 1, 3, 2};
    size_t next_req = 0;
    for (r->steps = 0; r->steps < 400; r->steps++) {
        if (r->steps == clone_at) {
            for (uint32_t i = 1; i <= 3; i++) {
                r->b[i] = sk_node_clone(r->a[i]);
                ASSERT_NOT_NULL(r->b[i]);
                r->mid_proposal_at_clone |= r->wake[i] != UINT64_MAX;
            }
        }
        struct input in = {0};
        if (next_req < 6 && r->steps >= when[next_req]) {
            in.kind = IN_REQ;
            in.rq = &script[next_req];
            RUN(step(r, at[next_req], &in));
            next_req++;
            continue;
        }
        uint64_t dice = next(r) % 100;
        if (r->n_net > 0 && dice >= 8) {
            size_t k = (size_t)(next(r) % r->n_net);
            struct frame *f = r->net[k];
            if (dice < 12) { /* lost */
                r->net[k] = r->net[--r->n_net];
                free(f);
                r->drops++;
                continue;
            }
            if (dice < 15 && r->n_net < NET_MAX) { /* duplicated: both stay */
                struct frame *g = malloc(sizeof *g);
                if (g == NULL) {
                    abort();
                }
                memcpy(g, f, sizeof *g);
                r->net[r->n_net++] = g;
                r->dups++;
            }
            r->net[k] = r->net[--r->n_net];
            struct sk_msg m;
            ASSERT_EQ_INT(sk_msg_decode(f->b, f->len, &m), (int)f->len);
            in.kind = IN_RECV;
            in.m = &m;
            RUN(step(r, f->to, &in));
            free(f);
            continue;
        }
        /* the earliest timer */
        uint32_t best = 0;
        for (uint32_t i = 1; i <= 3; i++) {
            if (r->wake[i] != UINT64_MAX && (best == 0 || r->wake[i] < r->wake[best])) {
                best = i;
            }
        }
        if (best == 0) {
            if (next_req < 6 && r->n_net == 0) {
                r->steps = when[next_req] > r->steps ? when[next_req] - 1 : r->steps;
                continue;
            }
            if (r->n_net == 0) {
                break; /* quiet */
            }
            continue;
        }
        if (r->wake[best] > r->now) {
            r->now = r->wake[best];
        }
        in.kind = IN_TICK;
        RUN(step(r, best, &in));
        r->timeouts++;
    }
}

TEST(clone_acts_like_its_original_through_duels_loss_and_timeouts)
{
    uint64_t steps = 0, twin = 0, timeouts = 0, drops = 0, dups = 0, mid = 0;
    for (uint64_t seed = 1; seed <= 40; seed++) {
        TEST_CONTEXT("seed %llu", (unsigned long long)seed);
        struct run r;
        scripted(&r, seed, 3 + seed % 9);
        steps += r.steps;
        twin += r.twin_steps;
        timeouts += r.timeouts;
        drops += r.drops;
        dups += r.dups;
        mid += r.mid_proposal_at_clone;
        run_free(&r);
        if (sk_test_failed()) {
            return;
        }
    }
    /* the runs did what they are for */
    ASSERT_TRUE(twin > 1000);
    ASSERT_TRUE(timeouts > 40);
    ASSERT_TRUE(drops > 20);
    ASSERT_TRUE(dups > 10);
    ASSERT_TRUE(mid >= 30); /* most twins were cloned while an attempt was under way */
    printf("# %llu steps, %llu on twins, %llu ticks, %llu lost, %llu duplicated, %llu of 40 cloned mid-attempt\n", (unsigned long long)steps, (unsigned long long)twin, (unsigned long long)timeouts, (unsigned long long)drops, (unsigned long long)dups, (unsigned long long)mid);
}

/* ------------------------------------------------------ digests */

TEST(nodes_with_equal_digests_act_alike)
{
    kept = calloc(KEPT_SLOTS, sizeof *kept);
    ASSERT_NOT_NULL(kept);
    cross_checks = cross_other_clock = cross_other_seed = 0;
    for (uint64_t seed = 1; seed <= 40 && !sk_test_failed(); seed++) {
        TEST_CONTEXT("seed %llu", (unsigned long long)seed);
        cur_seed = seed;
        struct run r;
        scripted(&r, seed, UINT64_MAX);
        run_free(&r);
    }
    printf("# %llu inputs met a kept state with the same digest: %llu of them on another "
           "clock, %llu from another run\n",
           (unsigned long long)cross_checks, (unsigned long long)cross_other_clock,
           (unsigned long long)cross_other_seed);
    kept_free();
    ASSERT_TRUE(cross_checks > 100);
    ASSERT_TRUE(cross_other_seed > 50);
}

static void digest(const struct sk_node *n, uint8_t out[SK_DIGEST_LEN])
{
    sk_node_digest(n, out);
}

static void drain(struct sk_node *n)
{
    struct sk_actions a;
    sk_node_actions(n, &a);
    sk_node_advance(n);
}

static struct sk_msg prepare(uint32_t from, const uint8_t *key, uint32_t key_len, uint64_t round)
{
    struct sk_msg m = {0};
    m.type = SK_MSG_PREPARE;
    m.from = from;
    m.to = 1;
    m.seq = round;
    m.ballot = (struct sk_ballot){round, from};
    m.key = key;
    m.key_len = key_len;
    return m;
}

TEST(digest_ignores_the_order_registers_were_made_in)
{
    struct sk_node *x = make(1, 0, 0), *y = make(1, 0, 0);
    ASSERT_NOT_NULL(x);
    ASSERT_NOT_NULL(y);
    drain(x);
    drain(y);
    char keys[100][16];
    for (int k = 0; k < 100; k++) {
        snprintf(keys[k], sizeof keys[k], "lock-%d", k);
    }
    for (int k = 0; k < 100; k++) {
        struct sk_msg m = prepare(2, (const uint8_t *)keys[k], (uint32_t)strlen(keys[k]), 1);
        sk_node_recv(x, &m, 0);
        drain(x);
        struct sk_msg m2 = prepare(2, (const uint8_t *)keys[99 - k],
                                   (uint32_t)strlen(keys[99 - k]), 1);
        sk_node_recv(y, &m2, 0);
        drain(y);
    }
    /* the tables really are laid out differently */
    size_t cx = 0, cy = 0;
    struct sk_register_view vx, vy;
    bool differ = false;
    while (sk_node_registers(x, &cx, &vx) && sk_node_registers(y, &cy, &vy)) {
        differ |= vx.key_len != vy.key_len || memcmp(vx.key, vy.key, vx.key_len) != 0;
    }
    ASSERT_TRUE(differ);
    uint8_t dx[SK_DIGEST_LEN], dy[SK_DIGEST_LEN];
    digest(x, dx);
    digest(y, dy);
    ASSERT_MEM_EQ(dx, dy, SK_DIGEST_LEN);
    /* a register made by an answer that changed nothing (a late promise for
     * an attempt this node never made) digests as no register */
    struct sk_msg late = prepare(2, (const uint8_t *)"other", 5, 1);
    late.type = SK_MSG_PROMISE;
    ASSERT_EQ_INT(sk_node_recv(x, &late, 0), 0);
    drain(x);
    ASSERT_TRUE(sk_node_register(x, (const uint8_t *)"other", 5, &vx));
    digest(x, dx);
    ASSERT_MEM_EQ(dx, dy, SK_DIGEST_LEN);
    /* and one more promise on one side tells them apart */
    struct sk_msg m = prepare(3, (const uint8_t *)keys[7], (uint32_t)strlen(keys[7]), 2);
    sk_node_recv(x, &m, 0);
    drain(x);
    digest(x, dx);
    ASSERT_TRUE(memcmp(dx, dy, SK_DIGEST_LEN) != 0);
    sk_node_free(x);
    sk_node_free(y);
}

/* Feed an input to a clone of n; say whether the digest moved. */
static bool moves(const struct sk_node *n, const struct input *in, uint64_t now)
{
    uint8_t d0[SK_DIGEST_LEN], d1[SK_DIGEST_LEN];
    sk_node_digest(n, d0);
    struct sk_node *c = sk_node_clone(n);
    if (c == NULL) {
        abort();
    }
    apply(c, in, now);
    drain(c);
    sk_node_digest(c, d1);
    sk_node_free(c);
    return memcmp(d0, d1, SK_DIGEST_LEN) != 0;
}

TEST(digest_moves_with_every_change_of_state_and_only_then)
{
    struct sk_node *n = make(1, 0, 0);
    ASSERT_NOT_NULL(n);
    uint8_t d0[SK_DIGEST_LEN], d1[SK_DIGEST_LEN];
    sk_node_digest(n, d0);
    drain(n); /* the node record handed out: no longer owed */
    sk_node_digest(n, d1);
    ASSERT_TRUE(memcmp(d0, d1, SK_DIGEST_LEN) != 0);

    struct sk_client_req acq = req(1, SK_OP_ACQUIRE, "beaver", 1);
    struct input in = {IN_REQ, NULL, &acq};
    ASSERT_TRUE(moves(n, &in, 0));
    sk_node_request(n, &acq, 0);
    drain(n); /* phase 1 at 1.1, its own promise in */

    /* a promise counted: moves; the same promise again: does not */
    struct sk_msg pr = prepare(2, KEY, KEY_LEN, 1);
    pr.type = SK_MSG_PROMISE;
    pr.ballot = (struct sk_ballot){1, 1};
    struct sk_actions a;
    sk_node_actions(n, &a); /* nothing pending */
    pr.seq = 1;
    in = (struct input){IN_RECV, &pr, NULL};
    ASSERT_TRUE(moves(n, &in, 0));
    /* a prepare below the promise: the node answers nay and changes nothing */
    struct sk_msg low = prepare(2, KEY, KEY_LEN, 0);
    low.ballot = (struct sk_ballot){0, 2};
    in = (struct input){IN_RECV, &low, NULL};
    ASSERT_FALSE(moves(n, &in, 0));
    /* a higher prepare: moves (a new promise) */
    struct sk_msg high = prepare(2, KEY, KEY_LEN, 5);
    in = (struct input){IN_RECV, &high, NULL};
    ASSERT_TRUE(moves(n, &in, 0));
    /* a tick at the same time: nothing; later: the deadline is nearer
     * (timers are digested relative to the clock), and at it the attempt
     * fails */
    in = (struct input){IN_TICK, NULL, NULL};
    ASSERT_FALSE(moves(n, &in, 0));
    ASSERT_TRUE(moves(n, &in, 50));
    ASSERT_TRUE(moves(n, &in, 100));
    /* the promise counted, then a duplicate of it: the duplicate changes nothing */
    sk_node_recv(n, &pr, 0);
    drain(n);
    ASSERT_FALSE(moves(n, &(struct input){IN_RECV, &pr, NULL}, 0));
    sk_node_free(n);
}

TEST(digest_reads_timers_relative_to_the_clock)
{
    /* the same history, one node started 1000 ms later */
    struct sk_node *x = make(1, 0, 0), *y = make(1, 0, 1000);
    ASSERT_NOT_NULL(x);
    ASSERT_NOT_NULL(y);
    drain(x);
    drain(y);
    struct sk_client_req acq = req(1, SK_OP_ACQUIRE, "beaver", 1);
    sk_node_request(x, &acq, 0);
    sk_node_request(y, &acq, 1000);
    struct sk_actions ax, ay;
    sk_node_actions(x, &ax);
    sk_node_actions(y, &ay);
    ASSERT_EQ_U64(ax.wakeup_ms + 1000, ay.wakeup_ms);
    sk_node_advance(x);
    sk_node_advance(y);
    uint8_t dx[SK_DIGEST_LEN], dy[SK_DIGEST_LEN];
    sk_node_digest(x, dx);
    sk_node_digest(y, dy);
    ASSERT_MEM_EQ(dx, dy, SK_DIGEST_LEN);
    /* 30 ms on: both 70 ms from the deadline */
    sk_node_tick(x, 30);
    sk_node_tick(y, 1030);
    drain(x);
    drain(y);
    sk_node_digest(x, dx);
    sk_node_digest(y, dy);
    ASSERT_MEM_EQ(dx, dy, SK_DIGEST_LEN);
    /* one 40 ms on, the other not: apart */
    sk_node_tick(x, 70);
    drain(x);
    sk_node_digest(x, dx);
    ASSERT_TRUE(memcmp(dx, dy, SK_DIGEST_LEN) != 0);
    sk_node_free(x);
    sk_node_free(y);
}

TEST(clone_refuses_while_a_batch_is_pending)
{
    struct sk_node *n = make(1, 0, 0);
    ASSERT_NOT_NULL(n);
    drain(n);
    struct sk_client_req acq = req(1, SK_OP_ACQUIRE, "beaver", 1);
    sk_node_request(n, &acq, 0);
    ASSERT_NULL(sk_node_clone(n)); /* its PREPAREs are not handed out yet */
    drain(n);
    struct sk_node *c = sk_node_clone(n);
    ASSERT_NOT_NULL(c);
    sk_node_free(c);
    sk_node_free(n);
}

/* ------------------------------------------------------ memory */

static long live, total;

static void *count_malloc(size_t size)
{
    void *p = malloc(size);
    live += p != NULL;
    total += p != NULL;
    return p;
}

static void *count_realloc(void *p, size_t size)
{
    void *q = realloc(p, size);
    if (p == NULL && q != NULL) {
        live++;
        total++;
    }
    return q;
}

static void count_free(void *p)
{
    live -= p != NULL;
    free(p);
}

static const struct sk_allocator counting = {count_malloc, count_realloc, count_free};

TEST(clones_and_trimmed_nodes_free_every_allocation)
{
    live = total = 0;
    sk_set_allocator(&counting);
    struct run r;
    scripted(&r, 7, 5); /* the twins were cloned mid-duel and ran on */
    bool ok = !sk_test_failed();
    /* clones of clones, trimmed and not */
    struct sk_node *c1 = sk_node_clone(r.a[1]);
    struct sk_node *c2 = c1 != NULL ? sk_node_clone(c1) : NULL;
    if (c2 != NULL) {
        sk_node_trim(c2);
        struct sk_client_req acq = req(9, SK_OP_ACQUIRE, "otter", 3);
        sk_node_request(c2, &acq, r.now); /* a trimmed node works again */
        drain(c2);
        sk_node_trim(c2);
    }
    sk_node_free(c1);
    sk_node_free(c2);
    run_free(&r);
    sk_set_allocator(NULL);
    ASSERT_TRUE(ok);
    ASSERT_NOT_NULL(c2);
    ASSERT_TRUE(total > 100);
    ASSERT_EQ_INT(live, 0);
}
