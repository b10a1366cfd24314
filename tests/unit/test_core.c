/* test_core.c - ballots, quorum math, the acceptor rules, whole rounds on
 * one and three nodes, and the allocation hooks.
 *
 * The acceptor tests drive node 1 of a 3-node cluster with hand-built
 * messages through sk_node_recv and read what it wants done from
 * sk_node_actions; the cluster tests wire nodes together with a tiny
 * in-test network (decode each sent frame, deliver it to its target). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "sk.h"

#define KEY ((const uint8_t *)"lock")
#define KEY_LEN 4u

static const char *const names[] = {"", "one", "two", "three", "four", "five"};

static struct sk_node *node_new_raw(uint32_t id, uint32_t size)
{
    struct sk_config cfg = {0};
    cfg.id = id;
    cfg.name = names[id];
    cfg.cluster_size = size;
    cfg.phase_timeout_ms = 100;
    cfg.seed = 42;
    return sk_node_new(&cfg, NULL, 0);
}

static struct sk_node *node_make_st(uint32_t id, uint32_t size, uint32_t classic,
                                    const struct sk_strategy *st)
{
    struct sk_config cfg = {0};
    cfg.id = id;
    cfg.name = names[id];
    cfg.cluster_size = size;
    cfg.phase_timeout_ms = 100;
    cfg.classic = classic;
    cfg.seed = 42;
    struct sk_node *n = sk_node_new(&cfg, st, 0);
    struct sk_actions a;
    if (n != NULL && sk_node_actions(n, &a)) {
        /* a new member's first batch: its node record, nothing else */
        if (a.n_persist != 1 || a.persist[0].key_len != 0 || a.n_send || a.n_reply) {
            abort();
        }
        sk_node_advance(n);
    }
    return n;
}

static struct sk_node *node_make(uint32_t id, uint32_t size, uint32_t classic)
{
    return node_make_st(id, size, classic, &sk_strategy_default);
}

/* A strategy that asks for the one-round-trip optimisation; every other
 * hook is NULL, which means the C default. */
static int skip_yes(void *ud, struct sk_hook_ctx *ctx, bool *skip)
{
    (void)ud;
    (void)ctx;
    *skip = true;
    return 0;
}

static const struct sk_strategy fast_strategy = {.skip_phase1 = skip_yes};

static struct sk_ballot bal(uint64_t round, uint32_t node)
{
    struct sk_ballot b = {round, node};
    return b;
}

static struct sk_msg peer(uint8_t type, uint32_t from, uint32_t to, uint64_t seq,
                          struct sk_ballot b)
{
    struct sk_msg m = {0};
    m.type = type;
    m.from = from;
    m.to = to;
    m.seq = seq;
    m.ballot = b;
    m.key = KEY;
    m.key_len = KEY_LEN;
    return m;
}

/* A register value named `name`: an empty sessions table ('S', no
 * entries, floor 0) around the lock state {v = name}. An acceptor stores
 * only values that are data (sk_register_value_check), so the tests'
 * values are real ones. Returned from a small ring of buffers. */
static const uint8_t *named_value(const char *name, uint32_t *len)
{
    static uint8_t ring[16][64];
    static unsigned next;
    uint8_t *v = ring[next++ % 16];
    size_t n = strlen(name);
    static const uint8_t head[] = {'S', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'm', 1, 's', 1, 'v', 's'};
    memcpy(v, head, sizeof head);
    v[sizeof head] = (uint8_t)n;
    memcpy(v + sizeof head + 1, name, n);
    *len = (uint32_t)(sizeof head + 1 + n);
    return v;
}

static struct sk_msg accept_msg(uint32_t from, uint64_t seq, struct sk_ballot b, const char *value)
{
    struct sk_msg m = peer(SK_MSG_ACCEPT, from, 1, seq, b);
    m.value = named_value(value, &m.value_len);
    return m;
}

/* The stored value is the one named `name` (see named_value). */
#define ASSERT_NAMED(got, got_len, name)                                               \
    do {                                                                               \
        uint32_t want_len_;                                                            \
        const uint8_t *want_ = named_value(name, &want_len_);                          \
        ASSERT_EQ_INT((int)(got_len), (int)want_len_);                                 \
        ASSERT_MEM_EQ(got, want_, want_len_);                                          \
    } while (0)

#define ASSERT_BALLOT(got, want_round, want_node)                                      \
    do {                                                                               \
        struct sk_ballot sk_b_ = (got);                                                \
        if (sk_b_.round != (uint64_t)(want_round) || sk_b_.node != (uint32_t)(want_node)) { \
            FAIL("%s: ballot %llu.%u, want %llu.%u", #got, (unsigned long long)sk_b_.round, \
                 sk_b_.node, (unsigned long long)(want_round), (unsigned)(want_node)); \
        }                                                                              \
    } while (0)

/* Decode the i-th frame of a batch (the core's output must decode). */
static void sent(const struct sk_actions *a, size_t i, struct sk_msg *out)
{
    ASSERT_TRUE(i < a->n_send);
    int rv = sk_msg_decode(a->send[i].frame, a->send[i].len, out);
    ASSERT_EQ_INT(rv, a->send[i].len);
    ASSERT_EQ_INT(out->to, a->send[i].to);
}

static bool has_note(const struct sk_actions *a, uint8_t kind, const char *text)
{
    for (size_t i = 0; i < a->n_note; i++) {
        if (a->note[i].kind == kind &&
            (text == NULL || (a->note[i].text != NULL && strcmp(a->note[i].text, text) == 0))) {
            return true;
        }
    }
    return false;
}

static void assert_quiet(struct sk_node *n)
{
    struct sk_actions a;
    if (sk_node_actions(n, &a)) {
        FAIL("expected no actions, got %zu persist, %zu send, %zu reply, %zu note", a.n_persist,
             a.n_send, a.n_reply, a.n_note);
    }
}

/* The lock state inside a register value (the envelope of sk_value_state). */
static void state_of(const uint8_t *v, size_t len, const uint8_t **st, size_t *st_len)
{
    int rv = sk_value_state(v, len, st, st_len);
    if (rv != 0) {
        FAIL("a register value of %zu bytes is not an envelope: %s", len, sk_err_name(rv));
    }
}

/* Field `name` of the lock state inside register value v must be string s. */
static void assert_holder(const uint8_t *v, size_t len, const char *holder)
{
    const uint8_t *st;
    size_t st_len;
    RUN(state_of(v, len, &st, &st_len));
    struct sk_value_field f;
    ASSERT_EQ_INT(sk_value_get(st, st_len, "holder", &f), 1);
    ASSERT_EQ_INT(f.tag, 's');
    ASSERT_EQ_INT(f.s_len, strlen(holder));
    ASSERT_MEM_EQ(f.s, holder, f.s_len);
}

/* Give node 1 a promise of ballot b (from node b.node or 2), and drain it. */
static void promise(struct sk_node *n, struct sk_ballot b)
{
    struct sk_msg m = peer(SK_MSG_PREPARE, b.node >= 2 && b.node <= 3 ? b.node : 2, 1, 1, b);
    ASSERT_EQ_INT(sk_node_recv(n, &m, 0), 0);
    struct sk_actions a;
    ASSERT_TRUE(sk_node_actions(n, &a));
    struct sk_msg r;
    RUN(sent(&a, 0, &r));
    ASSERT_EQ_INT(r.type, SK_MSG_PROMISE);
    sk_node_advance(n);
}

/* ------------------------------------------------------------- ballots */

TEST(ballot_order_is_lexicographic)
{
    ASSERT_EQ_INT(sk_ballot_cmp(bal(1, 2), bal(2, 1)), -1);
    ASSERT_EQ_INT(sk_ballot_cmp(bal(2, 1), bal(1, 2)), 1);
    ASSERT_EQ_INT(sk_ballot_cmp(bal(2, 1), bal(2, 2)), -1);
    ASSERT_EQ_INT(sk_ballot_cmp(bal(2, 3), bal(2, 2)), 1);
    ASSERT_EQ_INT(sk_ballot_cmp(bal(7, 3), bal(7, 3)), 0);
    ASSERT_EQ_INT(sk_ballot_cmp(bal(0, 0), bal(0, 1)), -1);
    ASSERT_EQ_INT(sk_ballot_cmp(bal(UINT64_MAX, 0), bal(UINT64_MAX - 1, UINT32_MAX)), 1);
    ASSERT_TRUE(sk_ballot_is_zero(bal(0, 0)));
    ASSERT_FALSE(sk_ballot_is_zero(bal(0, 1)));
    ASSERT_FALSE(sk_ballot_is_zero(bal(1, 0)));
}

TEST(ballots_for_people_show_their_epoch)
{
    char buf[SK_BALLOT_STR_MAX];
    ASSERT_STR_EQ(sk_ballot_str(bal(4, 3), buf, sizeof buf), "4.3");
    ASSERT_STR_EQ(sk_ballot_str(bal((1ull << 32) + 2, 3), buf, sizeof buf), "e1:2.3");
    ASSERT_STR_EQ(sk_ballot_str(bal(UINT64_MAX, 16), buf, sizeof buf), "e4294967295:4294967295.16");
}

TEST(ballot_token_is_monotonic_in_ballot_order)
{
    static const uint64_t rounds[] = {0, 1, 2, 3, 255, 256, 257, 1ull << 40, (1ull << 56) - 1};
    static const uint32_t nodes[] = {0, 1, 2, 3, 7, 16, 254, 255};
    size_t nr = sizeof rounds / sizeof rounds[0], nn = sizeof nodes / sizeof nodes[0];
    ASSERT_EQ_U64(sk_ballot_token(bal(17, 1)), 17u * 256 + 1);
    ASSERT_EQ_U64(sk_ballot_token(bal(0, 0)), 0);
    for (size_t i = 0; i < nr * nn; i++) {
        for (size_t j = 0; j < nr * nn; j++) {
            struct sk_ballot a = bal(rounds[i / nn], nodes[i % nn]);
            struct sk_ballot b = bal(rounds[j / nn], nodes[j % nn]);
            uint64_t ta = sk_ballot_token(a), tb = sk_ballot_token(b);
            int want = sk_ballot_cmp(a, b);
            int got = ta < tb ? -1 : ta > tb ? 1 : 0;
            if (want != got) {
                FAIL("ballots %llu.%u and %llu.%u compare %d but tokens %llu, %llu",
                     (unsigned long long)a.round, a.node, (unsigned long long)b.round, b.node,
                     want, (unsigned long long)ta, (unsigned long long)tb);
            }
        }
    }
}

TEST(default_next_ballot_exceeds_everything_seen)
{
    struct sk_rng rng = {1};
    struct sk_hook_ctx ctx = {0};
    ctx.node_id = 3;
    ctx.cluster_size = 5;
    ctx.rng = &rng;
    struct sk_ballot_info info = {0};
    struct sk_ballot out;
    info.attempt = 1;
    ASSERT_EQ_INT(sk_strategy_default.next_ballot(NULL, &ctx, &info, &out), 0);
    ASSERT_BALLOT(out, 1, 3);
    info.last = bal(4, 3);
    info.promised = bal(6, 1);
    info.highest = bal(5, 5);
    ASSERT_EQ_INT(sk_strategy_default.next_ballot(NULL, &ctx, &info, &out), 0);
    ASSERT_BALLOT(out, 7, 3);
    info.highest = bal(9, 5);
    ASSERT_EQ_INT(sk_strategy_default.next_ballot(NULL, &ctx, &info, &out), 0);
    ASSERT_BALLOT(out, 10, 3);
    ASSERT_TRUE(sk_ballot_cmp(out, info.highest) > 0);
}

/* --------------------------------------------------------- quorum math */

static int enough(uint32_t size, uint32_t yeas, uint32_t nays, bool timed_out)
{
    struct sk_rng rng = {1};
    struct sk_hook_ctx ctx = {0};
    ctx.node_id = 1;
    ctx.cluster_size = size;
    ctx.rng = &rng;
    int verdict = -1;
    if (sk_strategy_default.enough(NULL, &ctx, 1, yeas, nays, timed_out, &verdict) != 0) {
        return -2;
    }
    return verdict;
}

TEST(enough_for_cluster_sizes_1_to_7)
{
    for (uint32_t n = 1; n <= 7; n++) {
        uint32_t majority = n / 2 + 1;
        for (uint32_t yeas = 0; yeas <= n; yeas++) {
            for (uint32_t nays = 0; yeas + nays <= n; nays++) {
                for (int to = 0; to <= 1; to++) {
                    uint32_t silent = n - yeas - nays;
                    int want;
                    if (yeas >= majority) {
                        want = SK_PROCEED; /* early stop: do not wait for the rest */
                    } else if (yeas + silent < majority) {
                        want = SK_FAIL; /* a majority can no longer say yes */
                    } else {
                        want = to ? SK_FAIL : SK_WAIT;
                    }
                    TEST_CONTEXT("n=%u yeas=%u nays=%u timed_out=%d", n, yeas, nays, to);
                    ASSERT_EQ_INT(enough(n, yeas, nays, to != 0), want);
                }
            }
        }
    }
}

TEST(enough_spot_checks)
{
    ASSERT_EQ_INT(enough(1, 1, 0, false), SK_PROCEED);
    ASSERT_EQ_INT(enough(1, 0, 1, false), SK_FAIL);
    ASSERT_EQ_INT(enough(3, 2, 0, false), SK_PROCEED); /* third still silent */
    ASSERT_EQ_INT(enough(3, 1, 1, false), SK_WAIT);
    ASSERT_EQ_INT(enough(3, 1, 2, false), SK_FAIL);
    ASSERT_EQ_INT(enough(4, 2, 0, false), SK_WAIT); /* 2 of 4 is not a majority */
    ASSERT_EQ_INT(enough(4, 2, 2, false), SK_FAIL);
    ASSERT_EQ_INT(enough(5, 3, 0, false), SK_PROCEED);
    ASSERT_EQ_INT(enough(5, 2, 2, false), SK_WAIT);
    ASSERT_EQ_INT(enough(5, 2, 3, false), SK_FAIL);
    ASSERT_EQ_INT(enough(5, 2, 0, true), SK_FAIL);
    ASSERT_EQ_INT(enough(5, 3, 0, true), SK_PROCEED); /* a majority beats the clock */
    ASSERT_EQ_INT(enough(7, 4, 3, false), SK_PROCEED);
}

/* ------------------------------------------------------- acceptor rules */

TEST(prepare_higher_is_promised_and_persisted_before_the_promise)
{
    struct sk_node *n = node_make(1, 3, 0);
    ASSERT_NOT_NULL(n);
    struct sk_msg m = peer(SK_MSG_PREPARE, 2, 1, 11, bal(5, 2));
    ASSERT_EQ_INT(sk_node_recv(n, &m, 10), 0);
    struct sk_actions a;
    ASSERT_TRUE(sk_node_actions(n, &a));
    /* the batch carries the durable record, to be written before any send */
    ASSERT_EQ_INT(a.n_persist, 1);
    ASSERT_EQ_INT(a.persist[0].key_len, KEY_LEN);
    ASSERT_MEM_EQ(a.persist[0].key, KEY, KEY_LEN);
    ASSERT_BALLOT(a.persist[0].promised, 5, 2);
    ASSERT_BALLOT(a.persist[0].accepted, 0, 0);
    ASSERT_EQ_INT(a.persist[0].value_len, 0);
    ASSERT_EQ_INT(a.n_send, 1);
    ASSERT_EQ_INT(a.send[0].to, 2);
    struct sk_msg r;
    RUN(sent(&a, 0, &r));
    ASSERT_EQ_INT(r.type, SK_MSG_PROMISE);
    ASSERT_EQ_INT(r.from, 1);
    ASSERT_EQ_U64(r.seq, 11);       /* seq echoed */
    ASSERT_BALLOT(r.ballot, 5, 2);  /* ballot echoed */
    ASSERT_BALLOT(r.other, 0, 0);   /* nothing accepted yet */
    ASSERT_EQ_INT(r.value_len, 0);
    ASSERT_MEM_EQ(r.key, KEY, KEY_LEN);
    ASSERT_EQ_INT(a.n_reply, 0);
    ASSERT_TRUE(has_note(&a, SK_NOTE_PROMISED, NULL));
    sk_node_advance(n);
    RUN(assert_quiet(n));

    struct sk_register_view v;
    ASSERT_TRUE(sk_node_register(n, KEY, KEY_LEN, &v));
    ASSERT_BALLOT(v.promised, 5, 2);
    ASSERT_BALLOT(v.accepted, 0, 0);
    /* a higher one again: promised again */
    m = peer(SK_MSG_PREPARE, 3, 1, 4, bal(5, 3));
    ASSERT_EQ_INT(sk_node_recv(n, &m, 10), 0);
    ASSERT_TRUE(sk_node_actions(n, &a));
    ASSERT_EQ_INT(a.n_persist, 1);
    ASSERT_BALLOT(a.persist[0].promised, 5, 3);
    RUN(sent(&a, 0, &r));
    ASSERT_EQ_INT(r.type, SK_MSG_PROMISE);
    ASSERT_EQ_INT(r.to, 3);
    sk_node_advance(n);
    sk_node_free(n);
}

TEST(prepare_lower_or_equal_gets_a_nay_with_the_promise)
{
    struct sk_node *n = node_make(1, 3, 0);
    ASSERT_NOT_NULL(n);
    RUN(promise(n, bal(5, 2)));
    /* equal (strict > to promise: a duplicate prepare is not promised
     * twice), lower round, same round lower node */
    static const struct {
        uint64_t round;
        uint32_t node, from;
    } lower[] = {{5, 2, 2}, {5, 2, 3}, {4, 3, 3}, {5, 1, 3}, {0, 1, 2}};
    for (size_t i = 0; i < sizeof lower / sizeof lower[0]; i++) {
        TEST_CONTEXT("prepare %llu.%u", (unsigned long long)lower[i].round, lower[i].node);
        struct sk_msg m = peer(SK_MSG_PREPARE, lower[i].from, 1, 20 + i,
                               bal(lower[i].round, lower[i].node));
        ASSERT_EQ_INT(sk_node_recv(n, &m, 0), 0);
        struct sk_actions a;
        ASSERT_TRUE(sk_node_actions(n, &a));
        ASSERT_EQ_INT(a.n_persist, 0);
        ASSERT_EQ_INT(a.n_send, 1);
        struct sk_msg r;
        RUN(sent(&a, 0, &r));
        ASSERT_EQ_INT(r.type, SK_MSG_NAY);
        ASSERT_EQ_INT(r.phase, 1);
        ASSERT_EQ_INT(r.to, lower[i].from);
        ASSERT_EQ_U64(r.seq, 20 + i);
        ASSERT_BALLOT(r.ballot, lower[i].round, lower[i].node);
        ASSERT_BALLOT(r.other, 5, 2); /* the promise that beat it */
        ASSERT_TRUE(has_note(&a, SK_NOTE_REFUSED, NULL));
        sk_node_advance(n);
        struct sk_register_view v;
        ASSERT_TRUE(sk_node_register(n, KEY, KEY_LEN, &v));
        ASSERT_BALLOT(v.promised, 5, 2);
    }
    sk_node_free(n);
}

TEST(accept_at_or_above_promise_is_accepted_raises_and_persists)
{
    struct sk_node *n = node_make(1, 3, 0);
    ASSERT_NOT_NULL(n);
    RUN(promise(n, bal(5, 2)));
    /* at the promise */
    struct sk_msg m = accept_msg(2, 31, bal(5, 2), "v1");
    ASSERT_EQ_INT(sk_node_recv(n, &m, 0), 0);
    struct sk_actions a;
    ASSERT_TRUE(sk_node_actions(n, &a));
    ASSERT_EQ_INT(a.n_persist, 1);
    ASSERT_BALLOT(a.persist[0].promised, 5, 2);
    ASSERT_BALLOT(a.persist[0].accepted, 5, 2);
    ASSERT_EQ_INT(a.persist[0].value_len, 20); /* named_value of two letters */
    ASSERT_NAMED(a.persist[0].value, a.persist[0].value_len, "v1");
    struct sk_msg r;
    RUN(sent(&a, 0, &r));
    ASSERT_EQ_INT(r.type, SK_MSG_ACCEPTED);
    ASSERT_EQ_INT(r.to, 2);
    ASSERT_EQ_U64(r.seq, 31);
    ASSERT_BALLOT(r.ballot, 5, 2);
    ASSERT_TRUE(has_note(&a, SK_NOTE_ACCEPTED, NULL));
    sk_node_advance(n);

    /* above the promise, with no prepare seen: accepted, and the promise
     * rises to it (TLA+ Paxos Phase2b) */
    m = accept_msg(3, 32, bal(7, 3), "v2");
    ASSERT_EQ_INT(sk_node_recv(n, &m, 0), 0);
    ASSERT_TRUE(sk_node_actions(n, &a));
    ASSERT_EQ_INT(a.n_persist, 1);
    ASSERT_BALLOT(a.persist[0].promised, 7, 3);
    ASSERT_BALLOT(a.persist[0].accepted, 7, 3);
    RUN(sent(&a, 0, &r));
    ASSERT_EQ_INT(r.type, SK_MSG_ACCEPTED);
    ASSERT_EQ_INT(r.to, 3);
    sk_node_advance(n);
    struct sk_register_view v;
    ASSERT_TRUE(sk_node_register(n, KEY, KEY_LEN, &v));
    ASSERT_BALLOT(v.promised, 7, 3);
    ASSERT_BALLOT(v.accepted, 7, 3);
    ASSERT_EQ_INT(v.value_len, 20); /* named_value of two letters */
    ASSERT_NAMED(v.value, v.value_len, "v2");

    /* the raised promise refuses a prepare between the two */
    m = peer(SK_MSG_PREPARE, 2, 1, 33, bal(6, 2));
    ASSERT_EQ_INT(sk_node_recv(n, &m, 0), 0);
    ASSERT_TRUE(sk_node_actions(n, &a));
    RUN(sent(&a, 0, &r));
    ASSERT_EQ_INT(r.type, SK_MSG_NAY);
    ASSERT_BALLOT(r.other, 7, 3);
    sk_node_advance(n);

    /* and a higher prepare learns the accepted ballot and value */
    m = peer(SK_MSG_PREPARE, 2, 1, 34, bal(8, 2));
    ASSERT_EQ_INT(sk_node_recv(n, &m, 0), 0);
    ASSERT_TRUE(sk_node_actions(n, &a));
    RUN(sent(&a, 0, &r));
    ASSERT_EQ_INT(r.type, SK_MSG_PROMISE);
    ASSERT_BALLOT(r.other, 7, 3);
    ASSERT_EQ_INT(r.value_len, 20); /* named_value of two letters */
    ASSERT_NAMED(r.value, r.value_len, "v2");
    sk_node_advance(n);
    sk_node_free(n);
}

TEST(accept_below_promise_gets_a_nay_and_leaves_state_untouched)
{
    struct sk_node *n = node_make(1, 3, 0);
    ASSERT_NOT_NULL(n);
    RUN(promise(n, bal(5, 2)));
    struct sk_msg m = accept_msg(2, 41, bal(5, 2), "v1");
    ASSERT_EQ_INT(sk_node_recv(n, &m, 0), 0);
    sk_node_advance(n);
    RUN(promise(n, bal(9, 3)));

    m = accept_msg(2, 42, bal(6, 2), "v2");
    ASSERT_EQ_INT(sk_node_recv(n, &m, 0), 0);
    struct sk_actions a;
    ASSERT_TRUE(sk_node_actions(n, &a));
    ASSERT_EQ_INT(a.n_persist, 0);
    ASSERT_EQ_INT(a.n_send, 1);
    struct sk_msg r;
    RUN(sent(&a, 0, &r));
    ASSERT_EQ_INT(r.type, SK_MSG_NAY);
    ASSERT_EQ_INT(r.phase, 2);
    ASSERT_EQ_INT(r.to, 2);
    ASSERT_EQ_U64(r.seq, 42);
    ASSERT_BALLOT(r.ballot, 6, 2);
    ASSERT_BALLOT(r.other, 9, 3);
    sk_node_advance(n);

    struct sk_register_view v;
    ASSERT_TRUE(sk_node_register(n, KEY, KEY_LEN, &v));
    ASSERT_BALLOT(v.promised, 9, 3);
    ASSERT_BALLOT(v.accepted, 5, 2);
    ASSERT_EQ_INT(v.value_len, 20); /* named_value of two letters */
    ASSERT_NAMED(v.value, v.value_len, "v1");
    sk_node_free(n);
}

/* Promise(6), Accept(10), then a late Accept(8). */
static void late_accept(uint32_t classic, int *late_type, struct sk_register_view *after)
{
    struct sk_node *n = node_make(1, 3, classic);
    ASSERT_NOT_NULL(n);
    RUN(promise(n, bal(6, 2)));
    struct sk_msg m = accept_msg(3, 1, bal(10, 3), "ten");
    ASSERT_EQ_INT(sk_node_recv(n, &m, 0), 0);
    sk_node_advance(n);
    m = accept_msg(2, 2, bal(8, 2), "eight");
    ASSERT_EQ_INT(sk_node_recv(n, &m, 0), 0);
    struct sk_actions a;
    ASSERT_TRUE(sk_node_actions(n, &a));
    struct sk_msg r;
    RUN(sent(&a, 0, &r));
    *late_type = r.type;
    sk_node_advance(n);
    ASSERT_TRUE(sk_node_register(n, KEY, KEY_LEN, after));
    /* the view borrows from the node: check what we need before freeing */
    after->value = NULL;
    sk_node_free(n);
}

TEST(classic_no_raise_reproduces_flaw_f2)
{
    int type = 0;
    struct sk_register_view v;
    /* correct: Accept(10) raised the promise, the late Accept(8) is refused */
    RUN(late_accept(0, &type, &v));
    ASSERT_EQ_INT(type, SK_MSG_NAY);
    ASSERT_BALLOT(v.promised, 10, 3);
    ASSERT_BALLOT(v.accepted, 10, 3);
    /* classic: the promise stayed at 6, so 8 >= 6 and the late accept
     * overwrites the value accepted at 10 */
    RUN(late_accept(SK_CLASSIC_NO_RAISE, &type, &v));
    ASSERT_EQ_INT(type, SK_MSG_ACCEPTED);
    ASSERT_BALLOT(v.promised, 6, 2);
    ASSERT_BALLOT(v.accepted, 8, 2);
    ASSERT_EQ_INT(v.value_len, 23); /* named_value("eight") */
}

TEST(classic_no_persist_has_no_persist_records)
{
    struct sk_node *n = node_make(1, 3, SK_CLASSIC_NO_PERSIST);
    ASSERT_NOT_NULL(n);
    struct sk_msg m = peer(SK_MSG_PREPARE, 2, 1, 1, bal(5, 2));
    ASSERT_EQ_INT(sk_node_recv(n, &m, 0), 0);
    struct sk_actions a;
    ASSERT_TRUE(sk_node_actions(n, &a));
    ASSERT_EQ_INT(a.n_persist, 0);
    ASSERT_EQ_INT(a.n_send, 1);
    sk_node_advance(n);
    m = accept_msg(2, 2, bal(5, 2), "v");
    ASSERT_EQ_INT(sk_node_recv(n, &m, 0), 0);
    ASSERT_TRUE(sk_node_actions(n, &a));
    ASSERT_EQ_INT(a.n_persist, 0);
    ASSERT_EQ_INT(a.n_send, 1);
    struct sk_msg r;
    RUN(sent(&a, 0, &r));
    ASSERT_EQ_INT(r.type, SK_MSG_ACCEPTED);
    sk_node_advance(n);
    /* and a whole single-node round persists nothing either */
    sk_node_free(n);
    n = node_make(1, 1, SK_CLASSIC_NO_PERSIST);
    ASSERT_NOT_NULL(n);
    struct sk_client_req rq = {1, SK_OP_ACQUIRE, 0, KEY, KEY_LEN, (const uint8_t *)"beaver", 6, 1, 1, 0};
    ASSERT_EQ_INT(sk_node_request(n, &rq, 0), 0);
    ASSERT_TRUE(sk_node_actions(n, &a));
    ASSERT_EQ_INT(a.n_persist, 0);
    ASSERT_EQ_INT(a.n_reply, 1);
    sk_node_advance(n);
    sk_node_free(n);
}

TEST(classic_ack_rejected_acknowledges_without_applying)
{
    struct sk_node *n = node_make(1, 3, SK_CLASSIC_ACK_REJECTED);
    ASSERT_NOT_NULL(n);
    RUN(promise(n, bal(9, 3)));
    struct sk_msg m = accept_msg(2, 5, bal(6, 2), "v");
    ASSERT_EQ_INT(sk_node_recv(n, &m, 0), 0);
    struct sk_actions a;
    ASSERT_TRUE(sk_node_actions(n, &a));
    ASSERT_EQ_INT(a.n_persist, 0);
    struct sk_msg r;
    RUN(sent(&a, 0, &r));
    ASSERT_EQ_INT(r.type, SK_MSG_ACCEPTED); /* flaw F5: a lie */
    sk_node_advance(n);
    struct sk_register_view v;
    ASSERT_TRUE(sk_node_register(n, KEY, KEY_LEN, &v));
    ASSERT_BALLOT(v.accepted, 0, 0);
    sk_node_free(n);
}

TEST(messages_not_for_this_node_are_refused_without_effect)
{
    struct sk_node *n = node_make(1, 3, 0);
    ASSERT_NOT_NULL(n);
    struct sk_msg m = peer(SK_MSG_PREPARE, 2, 2, 1, bal(5, 2)); /* to node 2 */
    ASSERT_EQ_INT(sk_node_recv(n, &m, 0), SK_EINVAL);
    ASSERT_TRUE(sk_node_errmsg(n)[0] != 0);
    m = peer(SK_MSG_PREPARE, 4, 1, 1, bal(5, 4)); /* from outside the cluster */
    ASSERT_EQ_INT(sk_node_recv(n, &m, 0), SK_EINVAL);
    m = peer(SK_MSG_PREPARE, 0, 1, 1, bal(5, 0));
    ASSERT_EQ_INT(sk_node_recv(n, &m, 0), SK_EINVAL);
    m = peer(SK_MSG_CLIENT_REQ, 2, 1, 1, bal(0, 0));
    ASSERT_EQ_INT(sk_node_recv(n, &m, 0), SK_ETYPE);
    RUN(assert_quiet(n));
    struct sk_register_view v;
    ASSERT_FALSE(sk_node_register(n, KEY, KEY_LEN, &v)); /* not even created */
    sk_node_free(n);
}

/* ------------------------------------------------------- one-node cluster */

struct got_reply {
    uint64_t req_id;
    uint8_t status;
    uint64_t token;
    struct sk_ballot ballot;
    char holder[SK_HOLDER_MAX + 1];
    char text[SK_TEXT_MAX + 1];
};

static void copy_reply(struct got_reply *g, const struct sk_reply *r)
{
    g->req_id = r->req_id;
    g->status = r->status;
    g->token = r->token;
    g->ballot = r->ballot;
    snprintf(g->holder, sizeof g->holder, "%s", r->holder ? r->holder : "");
    snprintf(g->text, sizeof g->text, "%s", r->text ? r->text : "");
}

/* A request to a single-node cluster: answered within the call. */
static void solo(struct sk_node *n, uint64_t id, uint8_t op, const char *holder,
                 struct got_reply *g)
{
    struct sk_client_req rq = {id, op, 0, KEY, KEY_LEN, (const uint8_t *)holder,
                               (uint32_t)strlen(holder), 1, id, 0};
    ASSERT_EQ_INT(sk_node_request(n, &rq, 0), 0);
    struct sk_actions a;
    ASSERT_TRUE(sk_node_actions(n, &a));
    ASSERT_EQ_INT(a.n_send, 0); /* nobody to talk to */
    ASSERT_EQ_INT(a.n_reply, 1);
    ASSERT_EQ_INT(a.n_persist, 2); /* the promise and the accept */
    ASSERT_TRUE(has_note(&a, SK_NOTE_DECIDED, NULL));
    ASSERT_EQ_U64(a.reply[0].req_id, id);
    ASSERT_MEM_EQ(a.reply[0].key, KEY, KEY_LEN);
    ASSERT_BALLOT(a.persist[1].accepted, a.reply[0].ballot.round, a.reply[0].ballot.node);
    copy_reply(g, &a.reply[0]);
    sk_node_advance(n);
    RUN(assert_quiet(n));
}

TEST(single_node_acquire_refuse_release)
{
    struct sk_node *n = node_make(1, 1, 0);
    ASSERT_NOT_NULL(n);
    struct got_reply g;

    RUN(solo(n, 1, SK_OP_ACQUIRE, "beaver", &g));
    ASSERT_EQ_INT(g.status, SK_ST_GRANTED);
    ASSERT_BALLOT(g.ballot, 1, 1);
    ASSERT_EQ_U64(g.token, sk_ballot_token(g.ballot));
    ASSERT_STR_EQ(g.holder, "beaver");
    uint64_t first = g.token;
    /* the lock state is an sk value table naming the holder and token */
    struct sk_register_view v;
    ASSERT_TRUE(sk_node_register(n, KEY, KEY_LEN, &v));
    RUN(assert_holder(v.value, v.value_len, "beaver"));
    const uint8_t *st;
    size_t st_len;
    RUN(state_of(v.value, v.value_len, &st, &st_len));
    struct sk_value_field f;
    ASSERT_EQ_INT(sk_value_get(st, st_len, "token", &f), 1);
    ASSERT_EQ_U64(f.i, first);

    RUN(solo(n, 2, SK_OP_ACQUIRE, "giraffe", &g));
    ASSERT_EQ_INT(g.status, SK_ST_REFUSED);
    ASSERT_STR_EQ(g.holder, "beaver");

    RUN(solo(n, 3, SK_OP_ACQUIRE, "beaver", &g)); /* again, by the holder */
    ASSERT_EQ_INT(g.status, SK_ST_GRANTED);
    ASSERT_EQ_U64(g.token, first);

    RUN(solo(n, 4, SK_OP_RELEASE, "giraffe", &g));
    ASSERT_EQ_INT(g.status, SK_ST_NOT_HOLDER);
    ASSERT_STR_EQ(g.holder, "beaver");

    RUN(solo(n, 5, SK_OP_RELEASE, "beaver", &g));
    ASSERT_EQ_INT(g.status, SK_ST_RELEASED);
    ASSERT_TRUE(sk_node_register(n, KEY, KEY_LEN, &v));
    RUN(state_of(v.value, v.value_len, &st, &st_len));
    ASSERT_EQ_INT(st_len, 0); /* free again */

    RUN(solo(n, 6, SK_OP_RELEASE, "beaver", &g)); /* nothing to release */
    ASSERT_EQ_INT(g.status, SK_ST_NOT_HOLDER);

    RUN(solo(n, 7, SK_OP_ACQUIRE, "giraffe", &g));
    ASSERT_EQ_INT(g.status, SK_ST_GRANTED);
    ASSERT_EQ_U64(g.token, sk_ballot_token(g.ballot));
    ASSERT_LT_U64(first, g.token);

    struct sk_node_stats stats;
    sk_node_stats(n, &stats);
    ASSERT_EQ_U64(stats.decisions, 7);
    ASSERT_EQ_U64(stats.attempts, 7);
    sk_node_free(n);
}

/* The C default lock has no shared holds: a shared acquire (a reader's) is
 * served like an exclusive one, so a second reader is refused; a shared
 * acquire naming a token is refused before it reaches the lock. */
TEST(default_lock_serves_a_shared_acquire_as_an_exclusive_one)
{
    struct sk_node *n = node_make(1, 1, 0);
    ASSERT_NOT_NULL(n);
    struct got_reply g;
    RUN(solo(n, 1, SK_OP_ACQUIRE_SHARED, "beaver", &g));
    ASSERT_EQ_INT(g.status, SK_ST_GRANTED);
    ASSERT_STR_EQ(g.holder, "beaver");
    uint64_t first = g.token;
    ASSERT_EQ_U64(first, sk_ballot_token(g.ballot));
    RUN(solo(n, 2, SK_OP_ACQUIRE_SHARED, "giraffe", &g));
    ASSERT_EQ_INT(g.status, SK_ST_REFUSED);
    ASSERT_STR_EQ(g.holder, "beaver");
    RUN(solo(n, 3, SK_OP_ACQUIRE, "giraffe", &g));
    ASSERT_EQ_INT(g.status, SK_ST_REFUSED);
    RUN(solo(n, 4, SK_OP_ACQUIRE_SHARED, "beaver", &g)); /* re-entrant */
    ASSERT_EQ_INT(g.status, SK_ST_GRANTED);
    ASSERT_EQ_U64(g.token, first);
    RUN(solo(n, 5, SK_OP_RELEASE, "beaver", &g));
    ASSERT_EQ_INT(g.status, SK_ST_RELEASED);
    struct sk_client_req rq = {6, SK_OP_ACQUIRE_SHARED, 0, KEY, KEY_LEN,
                               (const uint8_t *)"beaver", 6, 1, 6, first};
    ASSERT_EQ_INT(sk_node_request(n, &rq, 0), SK_EINVAL);
    rq.op = SK_OP_MAX + 1;
    rq.fence = 0;
    ASSERT_EQ_INT(sk_node_request(n, &rq, 0), SK_EINVAL);
    RUN(assert_quiet(n));
    sk_node_free(n);
}

TEST(request_validation)
{
    struct sk_node *n = node_make(1, 1, 0);
    ASSERT_NOT_NULL(n);
    struct sk_client_req rq = {1, SK_OP_ACQUIRE, 0, KEY, 0, (const uint8_t *)"b", 1, 1, 1, 0};
    ASSERT_EQ_INT(sk_node_request(n, &rq, 0), SK_EINVAL); /* empty lock name */
    ASSERT_TRUE(sk_node_errmsg(n)[0] != 0);
    rq.key_len = KEY_LEN;
    rq.op = 9;
    ASSERT_EQ_INT(sk_node_request(n, &rq, 0), SK_EINVAL);
    rq.op = SK_OP_ACQUIRE;
    rq.holder_len = SK_HOLDER_MAX + 1;
    ASSERT_EQ_INT(sk_node_request(n, &rq, 0), SK_EINVAL);
    RUN(assert_quiet(n));
    sk_node_free(n);
    /* and nodes that cannot exist */
    struct sk_config cfg = {0};
    cfg.id = 4;
    cfg.cluster_size = 3;
    ASSERT_NULL(sk_node_new(&cfg, NULL, 0));
    cfg.id = 0;
    ASSERT_NULL(sk_node_new(&cfg, NULL, 0));
    cfg.id = 1;
    cfg.cluster_size = SK_MAX_NODES + 1;
    ASSERT_NULL(sk_node_new(&cfg, NULL, 0));
}

/* -------------------------------------- one proposer, hand-fed replies */

/* Node 1 of 3 starts an acquire; returns the PREPARE it sent to node 2. */
static void start_acquire(struct sk_node *n, struct sk_msg *prep, uint8_t *copy)
{
    struct sk_client_req rq = {1, SK_OP_ACQUIRE, 0, KEY, KEY_LEN, (const uint8_t *)"beaver", 6, 1, 1, 0};
    ASSERT_EQ_INT(sk_node_request(n, &rq, 0), 0);
    struct sk_actions a;
    ASSERT_TRUE(sk_node_actions(n, &a));
    ASSERT_EQ_INT(a.n_persist, 1); /* its own acceptor's promise */
    ASSERT_EQ_INT(a.n_send, 2);
    ASSERT_EQ_INT(a.send[0].to, 2);
    ASSERT_EQ_INT(a.send[1].to, 3);
    ASSERT_EQ_INT(a.n_reply, 0);
    memcpy(copy, a.send[0].frame, a.send[0].len); /* borrowed until advance */
    ASSERT_EQ_INT(sk_msg_decode(copy, a.send[0].len, prep), a.send[0].len);
    ASSERT_EQ_INT(prep->type, SK_MSG_PREPARE);
    sk_node_advance(n);
}

static struct sk_msg answer(const struct sk_msg *to_what, uint8_t type, uint32_t from)
{
    struct sk_msg m = peer(type, from, 1, to_what->seq, to_what->ballot);
    return m;
}

TEST(proposer_stops_early_at_a_majority)
{
    struct sk_node *n = node_make(1, 3, 0);
    ASSERT_NOT_NULL(n);
    struct sk_msg prep;
    uint8_t copy[SK_FRAME_MAX + 4];
    RUN(start_acquire(n, &prep, copy));
    ASSERT_BALLOT(prep.ballot, 1, 1);

    /* its own promise and one more make two of three: phase 2 at once */
    struct sk_msg m = answer(&prep, SK_MSG_PROMISE, 2);
    ASSERT_EQ_INT(sk_node_recv(n, &m, 1), 0);
    struct sk_actions a;
    ASSERT_TRUE(sk_node_actions(n, &a));
    ASSERT_EQ_INT(a.n_send, 2);
    struct sk_msg acc;
    RUN(sent(&a, 0, &acc));
    ASSERT_EQ_INT(acc.type, SK_MSG_ACCEPT);
    ASSERT_BALLOT(acc.ballot, 1, 1);
    ASSERT_EQ_U64(acc.seq, prep.seq);
    RUN(assert_holder(acc.value, acc.value_len, "beaver"));
    ASSERT_EQ_INT(a.n_persist, 1); /* its own accept */
    ASSERT_BALLOT(a.persist[0].accepted, 1, 1);
    sk_node_advance(n);

    /* the late promise of node 3 changes nothing */
    m = answer(&prep, SK_MSG_PROMISE, 3);
    ASSERT_EQ_INT(sk_node_recv(n, &m, 2), 0);
    RUN(assert_quiet(n));

    /* one accept besides its own decides */
    m = answer(&prep, SK_MSG_ACCEPTED, 3);
    ASSERT_EQ_INT(sk_node_recv(n, &m, 3), 0);
    ASSERT_TRUE(sk_node_actions(n, &a));
    ASSERT_EQ_INT(a.n_reply, 1);
    ASSERT_EQ_INT(a.reply[0].status, SK_ST_GRANTED);
    ASSERT_EQ_U64(a.reply[0].token, sk_ballot_token(bal(1, 1)));
    ASSERT_TRUE(has_note(&a, SK_NOTE_DECIDED, NULL));
    sk_node_advance(n);
    ASSERT_EQ_INT(a.wakeup_ms, UINT64_MAX);

    /* duplicates and stale answers are ignored */
    m = answer(&prep, SK_MSG_ACCEPTED, 2);
    ASSERT_EQ_INT(sk_node_recv(n, &m, 4), 0);
    m = answer(&prep, SK_MSG_ACCEPTED, 3);
    ASSERT_EQ_INT(sk_node_recv(n, &m, 4), 0);
    RUN(assert_quiet(n));
    sk_node_free(n);
}

TEST(proposer_carries_forward_the_highest_accepted_value)
{
    /* Paxos Made Simple phase 2a: the value of the highest-numbered
     * proposal among the promises, never the proposer's own wish */
    struct sk_node *n = node_make(1, 3, 0);
    ASSERT_NOT_NULL(n);
    RUN(promise(n, bal(3, 2))); /* node 2 ran a round at 3.2 */
    struct sk_msg prep;
    uint8_t copy[SK_FRAME_MAX + 4];
    RUN(start_acquire(n, &prep, copy));
    ASSERT_BALLOT(prep.ballot, 4, 1); /* above what its acceptor promised */
    /* a register value: an envelope with no slots around giraffe's lock */
    uint8_t held[64] = {'K', 0};
    struct sk_value_writer w;
    sk_value_begin(&w, held + 2, sizeof held - 2);
    sk_value_put_str(&w, "holder", (const uint8_t *)"giraffe", 7);
    sk_value_put_int(&w, "token", 1234);
    int held_len = sk_value_end(&w);
    ASSERT_TRUE(held_len > 0);
    held_len += 2;
    /* node 2's promise: "I accepted giraffe's lock at 3.2" */
    struct sk_msg m = answer(&prep, SK_MSG_PROMISE, 2);
    m.other = bal(3, 2);
    m.value = held;
    m.value_len = (uint32_t)held_len;
    ASSERT_EQ_INT(sk_node_recv(n, &m, 1), 0);
    struct sk_actions a;
    ASSERT_TRUE(sk_node_actions(n, &a));
    struct sk_msg acc;
    RUN(sent(&a, 0, &acc));
    ASSERT_EQ_INT(acc.type, SK_MSG_ACCEPT);
    /* the lock stays giraffe's: beaver is refused, the state is carried */
    const uint8_t *st;
    size_t st_len;
    RUN(state_of(acc.value, acc.value_len, &st, &st_len));
    ASSERT_EQ_INT(st_len, held_len - 2);
    ASSERT_MEM_EQ(st, held + 2, st_len);
    sk_node_advance(n);
    m = answer(&prep, SK_MSG_ACCEPTED, 2);
    ASSERT_EQ_INT(sk_node_recv(n, &m, 2), 0);
    ASSERT_TRUE(sk_node_actions(n, &a));
    ASSERT_EQ_INT(a.n_reply, 1);
    ASSERT_EQ_INT(a.reply[0].status, SK_ST_REFUSED);
    ASSERT_STR_EQ(a.reply[0].holder, "giraffe");
    sk_node_advance(n);
    sk_node_free(n);
}

TEST(proposer_fails_when_a_majority_is_impossible_and_retries_higher)
{
    struct sk_node *n = node_make(1, 3, 0);
    ASSERT_NOT_NULL(n);
    struct sk_msg prep;
    uint8_t copy[SK_FRAME_MAX + 4];
    RUN(start_acquire(n, &prep, copy));
    struct sk_msg m = answer(&prep, SK_MSG_NAY, 2);
    m.phase = 1;
    m.other = bal(9, 2);
    ASSERT_EQ_INT(sk_node_recv(n, &m, 1), 0);
    /* one nay of three: a majority is still possible, keep waiting */
    RUN(assert_quiet(n));
    struct sk_actions a;
    m = answer(&prep, SK_MSG_NAY, 3);
    m.phase = 1;
    m.other = bal(7, 3);
    ASSERT_EQ_INT(sk_node_recv(n, &m, 2), 0);
    ASSERT_TRUE(sk_node_actions(n, &a));
    ASSERT_TRUE(has_note(&a, SK_NOTE_CONFLICT, "nay"));
    ASSERT_TRUE(has_note(&a, SK_NOTE_BACKOFF, NULL));
    ASSERT_EQ_INT(a.n_reply, 0);
    ASSERT_EQ_INT(a.n_send, 0);
    uint64_t wake = a.wakeup_ms;
    ASSERT_TRUE(wake >= 2 && wake < 1000);
    sk_node_advance(n);

    /* too early: nothing; at the wakeup: a new attempt above the nay */
    if (wake > 2) {
        sk_node_tick(n, wake - 1);
        RUN(assert_quiet(n));
    }
    sk_node_tick(n, wake);
    ASSERT_TRUE(sk_node_actions(n, &a));
    ASSERT_EQ_INT(a.n_send, 2);
    struct sk_msg p2;
    RUN(sent(&a, 0, &p2));
    ASSERT_EQ_INT(p2.type, SK_MSG_PREPARE);
    ASSERT_BALLOT(p2.ballot, 10, 1);
    ASSERT_TRUE(p2.seq != prep.seq);
    sk_node_advance(n);

    /* an answer to the old attempt is not counted for the new one */
    m = answer(&prep, SK_MSG_PROMISE, 2);
    ASSERT_EQ_INT(sk_node_recv(n, &m, wake), 0);
    RUN(assert_quiet(n));
    sk_node_free(n);
}

TEST(proposer_times_out_and_gives_up_unavailable)
{
    struct sk_node *n = node_make(1, 3, 0);
    ASSERT_NOT_NULL(n);
    struct sk_msg prep;
    uint8_t copy[SK_FRAME_MAX + 4];
    RUN(start_acquire(n, &prep, copy));
    sk_node_tick(n, 99); /* phase_timeout_ms is 100 */
    RUN(assert_quiet(n));
    uint64_t now = 100;
    struct got_reply g = {0};
    bool replied = false;
    for (int i = 0; i < 100 && !replied; i++) {
        sk_node_tick(n, now);
        struct sk_actions a;
        if (sk_node_actions(n, &a)) {
            if (i == 0) {
                ASSERT_TRUE(has_note(&a, SK_NOTE_CONFLICT, "timeout"));
            }
            if (a.n_reply) {
                ASSERT_EQ_INT(a.n_reply, 1);
                copy_reply(&g, &a.reply[0]);
                replied = true;
            }
        }
        now = a.wakeup_ms;
        sk_node_advance(n);
        if (!replied) {
            ASSERT_TRUE(now != UINT64_MAX);
        }
    }
    ASSERT_TRUE(replied);
    ASSERT_EQ_INT(g.status, SK_ST_UNAVAILABLE);
    ASSERT_STR_EQ(g.text, "gave up after 8 attempts (last: timeout)");
    struct sk_node_stats st;
    sk_node_stats(n, &st);
    ASSERT_EQ_U64(st.attempts, 8);
    ASSERT_EQ_U64(st.timeouts, 8);
    ASSERT_EQ_U64(st.decisions, 0);
    sk_node_free(n);
}

/* ------------------------------------------- three nodes, wired by hand */

#define QMAX 4096
#define FRAME_CAP 512
#define RMAX 256

struct wire {
    uint32_t from, to;
    uint32_t len;
    uint8_t b[FRAME_CAP];
};

/* What a driver made durable for KEY (other keys are not tracked). */
struct disk {
    bool has;
    struct sk_ballot promised, accepted;
};

struct cluster {
    uint32_t size;
    struct sk_node *n[SK_MAX_NODES + 1];
    struct disk disk[SK_MAX_NODES + 1]; /* per node, the one key's durable record */
    uint64_t now;
    struct wire q[QMAX];
    size_t nq;
    struct got_reply replies[RMAX];
    uint32_t reply_node[RMAX];
    size_t nreplies;
    uint64_t frames;
};

static struct cluster cl;

static void cluster_up_st(uint32_t size, const struct sk_strategy *st)
{
    memset(&cl, 0, sizeof cl);
    cl.size = size;
    for (uint32_t i = 1; i <= size; i++) {
        cl.n[i] = node_make_st(i, size, 0, st);
        ASSERT_NOT_NULL(cl.n[i]);
    }
}

static void cluster_up(uint32_t size)
{
    cluster_up_st(size, &sk_strategy_default);
}

static void cluster_down(void)
{
    for (uint32_t i = 1; i <= cl.size; i++) {
        sk_node_free(cl.n[i]);
        cl.n[i] = NULL;
    }
}

/* Run one node's batch as a driver must: persist, then send and reply. */
static void drain(uint32_t i, bool *any)
{
    struct sk_actions a;
    while (sk_node_actions(cl.n[i], &a)) {
        *any = true;
        for (size_t k = 0; k < a.n_persist; k++) {
            if (a.persist[k].key_len != KEY_LEN || memcmp(a.persist[k].key, KEY, KEY_LEN) != 0) {
                continue;
            }
            cl.disk[i].has = true;
            cl.disk[i].promised = a.persist[k].promised;
            cl.disk[i].accepted = a.persist[k].accepted;
        }
        for (size_t k = 0; k < a.n_send; k++) {
            struct sk_msg m;
            ASSERT_EQ_INT(sk_msg_decode(a.send[k].frame, a.send[k].len, &m), a.send[k].len);
            ASSERT_EQ_INT(m.from, i);
            ASSERT_TRUE(m.to >= 1 && m.to <= cl.size && m.to != i);
            /* an acceptor answers only what is durable (PROTOCOL.md 7.2) */
            bool tracked = m.key_len == KEY_LEN && memcmp(m.key, KEY, KEY_LEN) == 0;
            if (tracked && m.type == SK_MSG_PROMISE) {
                ASSERT_TRUE(cl.disk[i].has);
                ASSERT_TRUE(sk_ballot_cmp(cl.disk[i].promised, m.ballot) >= 0);
            }
            if (tracked && m.type == SK_MSG_ACCEPTED) {
                ASSERT_TRUE(cl.disk[i].has);
                ASSERT_TRUE(sk_ballot_cmp(cl.disk[i].accepted, m.ballot) == 0);
            }
            if (tracked && m.type == SK_MSG_FETCHED && m.status == SK_JOIN_OK) {
                /* the raised promise is durable before it is handed out */
                ASSERT_TRUE(cl.disk[i].has);
                ASSERT_TRUE(sk_ballot_cmp(cl.disk[i].promised, m.ballot) >= 0);
            }
            ASSERT_TRUE(cl.nq < QMAX);
            ASSERT_TRUE(a.send[k].len <= FRAME_CAP);
            struct wire *w = &cl.q[cl.nq++];
            w->from = i;
            w->to = a.send[k].to;
            w->len = a.send[k].len;
            memcpy(w->b, a.send[k].frame, a.send[k].len);
        }
        for (size_t k = 0; k < a.n_reply; k++) {
            ASSERT_TRUE(cl.nreplies < RMAX);
            cl.reply_node[cl.nreplies] = i;
            copy_reply(&cl.replies[cl.nreplies++], &a.reply[k]);
        }
        sk_node_advance(cl.n[i]);
    }
}

/* Deliver everything, in order, until nothing moves; advance virtual time
 * to the next wakeup when the network is idle. */
static void pump(void)
{
    static struct wire batch[QMAX];
    for (int guard = 0; guard < 100000; guard++) {
        bool any = false;
        for (uint32_t i = 1; i <= cl.size; i++) {
            RUN(drain(i, &any));
        }
        if (cl.nq > 0) {
            size_t nb = cl.nq;
            memcpy(batch, cl.q, nb * sizeof batch[0]);
            cl.nq = 0;
            for (size_t k = 0; k < nb; k++) {
                struct sk_msg m;
                ASSERT_EQ_INT(sk_msg_decode(batch[k].b, batch[k].len, &m), batch[k].len);
                ASSERT_EQ_INT(sk_node_recv(cl.n[batch[k].to], &m, cl.now), 0);
                cl.frames++;
                bool dummy = false;
                RUN(drain(batch[k].to, &dummy));
            }
            continue;
        }
        if (any) {
            continue;
        }
        uint64_t wake = UINT64_MAX;
        for (uint32_t i = 1; i <= cl.size; i++) {
            struct sk_actions a;
            sk_node_actions(cl.n[i], &a);
            if (a.wakeup_ms < wake) wake = a.wakeup_ms;
        }
        if (wake == UINT64_MAX) {
            return; /* settled */
        }
        if (wake > cl.now) cl.now = wake;
        for (uint32_t i = 1; i <= cl.size; i++) {
            sk_node_tick(cl.n[i], cl.now);
        }
    }
    FAIL("the cluster did not settle");
}

static void ask(uint32_t node, uint64_t id, uint8_t op, const char *holder)
{
    struct sk_client_req rq = {id, op, 0, KEY, KEY_LEN, (const uint8_t *)holder,
                               (uint32_t)strlen(holder), 1, id, 0};
    ASSERT_EQ_INT(sk_node_request(cl.n[node], &rq, cl.now), 0);
}

/* The reply to request id (exactly one). */
static void reply_of(uint64_t id, struct got_reply *out)
{
    int found = 0;
    for (size_t i = 0; i < cl.nreplies; i++) {
        if (cl.replies[i].req_id == id) {
            *out = cl.replies[i];
            found++;
        }
    }
    ASSERT_EQ_INT(found, 1);
}

/* A request to node, run to its answer, which lands in *out. */
static void decide(uint32_t node, uint64_t id, uint8_t op, const char *holder,
                   struct got_reply *out)
{
    RUN(ask(node, id, op, holder));
    RUN(pump());
    RUN(reply_of(id, out));
}

TEST(three_nodes_acquire_refuse_release_acquire)
{
    RUN(cluster_up(3));
    struct got_reply g;

    RUN(decide(1, 1, SK_OP_ACQUIRE, "beaver", &g));
    ASSERT_EQ_INT(g.status, SK_ST_GRANTED);
    ASSERT_EQ_U64(g.token, sk_ballot_token(g.ballot));
    uint64_t beaver_token = g.token;

    RUN(decide(2, 2, SK_OP_ACQUIRE, "giraffe", &g));
    ASSERT_EQ_INT(g.status, SK_ST_REFUSED);
    ASSERT_STR_EQ(g.holder, "beaver");

    RUN(decide(1, 3, SK_OP_RELEASE, "beaver", &g));
    ASSERT_EQ_INT(g.status, SK_ST_RELEASED);

    RUN(decide(2, 4, SK_OP_ACQUIRE, "giraffe", &g));
    ASSERT_EQ_INT(g.status, SK_ST_GRANTED);
    ASSERT_EQ_U64(g.token, sk_ballot_token(g.ballot));
    ASSERT_LT_U64(beaver_token, g.token);
    ASSERT_EQ_INT(cl.nreplies, 4);

    /* every acceptor holds giraffe's lock at the deciding ballot */
    for (uint32_t i = 1; i <= 3; i++) {
        TEST_CONTEXT("node %u", i);
        struct sk_register_view v;
        ASSERT_TRUE(sk_node_register(cl.n[i], KEY, KEY_LEN, &v));
        ASSERT_BALLOT(v.accepted, g.ballot.round, g.ballot.node);
        RUN(assert_holder(v.value, v.value_len, "giraffe"));
        ASSERT_TRUE(cl.disk[i].has);
        ASSERT_BALLOT(cl.disk[i].accepted, g.ballot.round, g.ballot.node);
    }
    cluster_down();
}

TEST(three_nodes_duelling_acquires_grant_once)
{
    RUN(cluster_up(3));
    /* both proposers start before either hears from the other */
    RUN(ask(1, 1, SK_OP_ACQUIRE, "beaver"));
    RUN(ask(2, 2, SK_OP_ACQUIRE, "giraffe"));
    RUN(pump());
    struct got_reply b, g;
    RUN(reply_of(1, &b));
    RUN(reply_of(2, &g));
    int granted = (b.status == SK_ST_GRANTED) + (g.status == SK_ST_GRANTED);
    ASSERT_TRUE(granted <= 1);
    /* a definite loser is refused naming the winner */
    if (b.status == SK_ST_GRANTED && g.status == SK_ST_REFUSED) {
        ASSERT_STR_EQ(g.holder, "beaver");
    }
    if (g.status == SK_ST_GRANTED && b.status == SK_ST_REFUSED) {
        ASSERT_STR_EQ(b.holder, "giraffe");
    }
    /* whoever holds it per the acceptors is who was told GRANTED */
    struct sk_register_view v;
    ASSERT_TRUE(sk_node_register(cl.n[3], KEY, KEY_LEN, &v));
    if (granted == 1) {
        RUN(assert_holder(v.value, v.value_len, b.status == SK_ST_GRANTED ? "beaver" : "giraffe"));
    }
    cluster_down();
}

/* ------------------------------------------ the one-round-trip optimisation */

/* CASPaxos 2.2.1: an accept may carry the proposer's next ballot (round + 1,
 * same node), which the acceptor promises in the same step as it accepts. */
TEST(accept_piggyback_promises_the_next_ballot)
{
    struct sk_node *n = node_make(1, 3, 0);
    ASSERT_NOT_NULL(n);
    struct sk_msg m = accept_msg(2, 1, bal(5, 2), "v");
    m.other = bal(6, 2);
    ASSERT_EQ_INT(sk_node_recv(n, &m, 0), 0);
    struct sk_actions a;
    ASSERT_TRUE(sk_node_actions(n, &a));
    ASSERT_EQ_INT(a.n_persist, 1);
    ASSERT_BALLOT(a.persist[0].promised, 6, 2);
    ASSERT_BALLOT(a.persist[0].accepted, 5, 2);
    struct sk_msg r;
    RUN(sent(&a, 0, &r));
    ASSERT_EQ_INT(r.type, SK_MSG_ACCEPTED);
    ASSERT_BALLOT(r.ballot, 5, 2);
    ASSERT_BALLOT(r.other, 6, 2); /* "and I promised 6.2 too" */
    sk_node_advance(n);

    /* the piggybacked promise is a promise: strict > still applies */
    m = peer(SK_MSG_PREPARE, 2, 1, 2, bal(6, 2));
    ASSERT_EQ_INT(sk_node_recv(n, &m, 0), 0);
    ASSERT_TRUE(sk_node_actions(n, &a));
    RUN(sent(&a, 0, &r));
    ASSERT_EQ_INT(r.type, SK_MSG_NAY);
    ASSERT_BALLOT(r.other, 6, 2);
    sk_node_advance(n);
    m = peer(SK_MSG_PREPARE, 3, 1, 3, bal(6, 3));
    ASSERT_EQ_INT(sk_node_recv(n, &m, 0), 0);
    ASSERT_TRUE(sk_node_actions(n, &a));
    RUN(sent(&a, 0, &r));
    ASSERT_EQ_INT(r.type, SK_MSG_PROMISE);
    ASSERT_BALLOT(r.other, 5, 2);
    sk_node_advance(n);

    /* only the very next ballot of the same proposer is promised */
    m = accept_msg(3, 4, bal(7, 3), "w");
    m.other = bal(9, 3);
    ASSERT_EQ_INT(sk_node_recv(n, &m, 0), 0);
    ASSERT_TRUE(sk_node_actions(n, &a));
    RUN(sent(&a, 0, &r));
    ASSERT_EQ_INT(r.type, SK_MSG_ACCEPTED);
    ASSERT_BALLOT(r.other, 0, 0);
    ASSERT_BALLOT(a.persist[0].promised, 7, 3);
    sk_node_advance(n);
    m = accept_msg(2, 5, bal(8, 2), "x");
    m.other = bal(9, 3);
    ASSERT_EQ_INT(sk_node_recv(n, &m, 0), 0);
    ASSERT_TRUE(sk_node_actions(n, &a));
    RUN(sent(&a, 0, &r));
    ASSERT_BALLOT(r.other, 0, 0);
    ASSERT_BALLOT(a.persist[0].promised, 8, 2);
    sk_node_advance(n);
    sk_node_free(n);
}

/* An acceptor's promise never goes down (Paxos Made Simple P1a). The
 * "next ballot" of round 2^64-1 wraps to round 0. */
TEST(accept_piggyback_never_lowers_the_promise)
{
    struct sk_node *n = node_make(1, 3, 0);
    ASSERT_NOT_NULL(n);
    struct sk_msg m = accept_msg(2, 1, bal(UINT64_MAX, 2), "v");
    m.other = bal(0, 2);
    ASSERT_EQ_INT(sk_node_recv(n, &m, 0), 0);
    sk_node_advance(n);
    struct sk_register_view v;
    ASSERT_TRUE(sk_node_register(n, KEY, KEY_LEN, &v));
    ASSERT_BALLOT(v.accepted, UINT64_MAX, 2);
    ASSERT_TRUE(sk_ballot_cmp(v.promised, v.accepted) >= 0);
    /* so a prepare far below is refused */
    m = peer(SK_MSG_PREPARE, 3, 1, 2, bal(5, 3));
    ASSERT_EQ_INT(sk_node_recv(n, &m, 0), 0);
    struct sk_actions a;
    ASSERT_TRUE(sk_node_actions(n, &a));
    struct sk_msg r;
    RUN(sent(&a, 0, &r));
    ASSERT_EQ_INT(r.type, SK_MSG_NAY);
    sk_node_advance(n);
    sk_node_free(n);
}

TEST(fast_path_skips_phase1_on_a_single_node)
{
    struct sk_node *n = node_make_st(1, 1, 0, &fast_strategy);
    ASSERT_NOT_NULL(n);
    struct got_reply g;
    RUN(solo(n, 1, SK_OP_ACQUIRE, "beaver", &g)); /* both phases: nothing promised yet */
    ASSERT_EQ_INT(g.status, SK_ST_GRANTED);
    ASSERT_BALLOT(g.ballot, 1, 1);
    struct sk_register_view v;
    ASSERT_TRUE(sk_node_register(n, KEY, KEY_LEN, &v));
    ASSERT_BALLOT(v.promised, 2, 1); /* the next ballot, promised with the accept */

    const char *who[] = {"beaver", "giraffe"};
    const uint8_t op[] = {SK_OP_RELEASE, SK_OP_ACQUIRE};
    const uint8_t want[] = {SK_ST_RELEASED, SK_ST_GRANTED};
    for (int i = 0; i < 2; i++) {
        TEST_CONTEXT("request %d", i + 2);
        struct sk_client_req rq = {(uint64_t)i + 2, op[i], 0, KEY, KEY_LEN,
                                   (const uint8_t *)who[i], (uint32_t)strlen(who[i]),
                                   1, (uint64_t)i + 2, 0};
        ASSERT_EQ_INT(sk_node_request(n, &rq, 0), 0);
        struct sk_actions a;
        ASSERT_TRUE(sk_node_actions(n, &a));
        ASSERT_TRUE(has_note(&a, SK_NOTE_ATTEMPT, "phase 1 skipped"));
        ASSERT_FALSE(has_note(&a, SK_NOTE_PROMISED, NULL));
        ASSERT_EQ_INT(a.n_persist, 1); /* only the accept */
        ASSERT_EQ_INT(a.n_reply, 1);
        ASSERT_EQ_INT(a.reply[0].status, want[i]);
        ASSERT_BALLOT(a.reply[0].ballot, i + 2, 1);
        if (want[i] == SK_ST_GRANTED) {
            ASSERT_EQ_U64(a.reply[0].token, sk_ballot_token(bal((uint64_t)i + 2, 1)));
        }
        sk_node_advance(n);
    }
    sk_node_free(n);
}

TEST(fast_path_three_nodes_one_round_trip_until_someone_else_proposes)
{
    RUN(cluster_up_st(3, &fast_strategy));
    struct got_reply g;
    uint64_t before = cl.frames;
    RUN(decide(1, 1, SK_OP_ACQUIRE, "beaver", &g));
    ASSERT_EQ_INT(g.status, SK_ST_GRANTED);
    ASSERT_EQ_INT(cl.frames - before, 8); /* prepare, promise, accept, accepted x 2 */

    before = cl.frames;
    RUN(decide(1, 2, SK_OP_RELEASE, "beaver", &g));
    ASSERT_EQ_INT(g.status, SK_ST_RELEASED);
    ASSERT_BALLOT(g.ballot, 2, 1);
    ASSERT_EQ_INT(cl.frames - before, 4); /* accept, accepted x 2 */

    /* node 2 proposes: its prepare outbids node 1's piggybacked promise */
    RUN(decide(2, 3, SK_OP_ACQUIRE, "giraffe", &g));
    ASSERT_EQ_INT(g.status, SK_ST_GRANTED);
    ASSERT_TRUE(sk_ballot_cmp(g.ballot, bal(3, 1)) > 0);
    uint64_t giraffe = g.token;

    /* node 1 must not build on its stale promise: a full round, and it
     * sees giraffe's lock */
    before = cl.frames;
    RUN(decide(1, 4, SK_OP_ACQUIRE, "beaver", &g));
    ASSERT_EQ_INT(g.status, SK_ST_REFUSED);
    ASSERT_STR_EQ(g.holder, "giraffe");
    ASSERT_TRUE(cl.frames - before >= 8);

    RUN(decide(2, 5, SK_OP_RELEASE, "giraffe", &g));
    ASSERT_EQ_INT(g.status, SK_ST_RELEASED);
    RUN(decide(1, 6, SK_OP_ACQUIRE, "beaver", &g));
    ASSERT_EQ_INT(g.status, SK_ST_GRANTED);
    ASSERT_LT_U64(giraffe, g.token);
    cluster_down();
}

/* ------------------------------------------------------ thrifty proposals */

static int fill_10(void *ud, struct sk_hook_ctx *ctx, uint64_t *fill_ms)
{
    (void)ud;
    (void)ctx;
    *fill_ms = 10;
    return 0;
}

static const struct sk_strategy thrifty_strategy = {.skip_phase1 = skip_yes, .thrifty = fill_10};

/* The peers a batch of actions sends to, as a bitmask. */
static uint32_t send_mask(const struct sk_actions *a)
{
    uint32_t m = 0;
    for (size_t i = 0; i < a->n_send; i++) {
        m |= 1u << (a->send[i].to - 1);
    }
    return m;
}

TEST(thrifty_asks_a_majority_then_the_rest_after_the_delay)
{
    struct sk_node *n = node_make_st(1, 5, 0, &thrifty_strategy);
    ASSERT_NOT_NULL(n);
    struct sk_client_req rq = {1, SK_OP_ACQUIRE, 0, KEY, KEY_LEN, (const uint8_t *)"beaver", 6, 1, 1, 0};
    ASSERT_EQ_INT(sk_node_request(n, &rq, 0), 0);
    struct sk_actions a;
    ASSERT_TRUE(sk_node_actions(n, &a));
    /* itself (persisted promise) and the next two ids round the ring */
    ASSERT_EQ_INT(a.n_persist, 1);
    ASSERT_EQ_INT(send_mask(&a), (1u << 1) | (1u << 2));
    ASSERT_EQ_U64(a.wakeup_ms, 10);
    struct sk_msg prep;
    uint8_t copy[SK_FRAME_MAX + 4];
    memcpy(copy, a.send[0].frame, a.send[0].len);
    ASSERT_EQ_INT(sk_msg_decode(copy, a.send[0].len, &prep), a.send[0].len);
    sk_node_advance(n);

    sk_node_tick(n, 9);
    RUN(assert_quiet(n));
    sk_node_tick(n, 10);
    ASSERT_TRUE(sk_node_actions(n, &a));
    ASSERT_EQ_INT(send_mask(&a), (1u << 3) | (1u << 4)); /* the rest, once */
    struct sk_msg late;
    RUN(sent(&a, 0, &late));
    ASSERT_EQ_INT(late.type, SK_MSG_PREPARE);
    ASSERT_BALLOT(late.ballot, prep.ballot.round, prep.ballot.node);
    ASSERT_EQ_U64(late.seq, prep.seq);
    ASSERT_EQ_U64(a.wakeup_ms, 100); /* only the phase timeout is left */
    sk_node_advance(n);
    sk_node_tick(n, 20);
    RUN(assert_quiet(n));

    /* 5 answers first, then 4: with its own promise, a majority; phase 2
     * goes to those two, fastest first */
    struct sk_msg m = peer(SK_MSG_PROMISE, 5, 1, prep.seq, prep.ballot);
    ASSERT_EQ_INT(sk_node_recv(n, &m, 21), 0);
    RUN(assert_quiet(n));
    m = peer(SK_MSG_PROMISE, 4, 1, prep.seq, prep.ballot);
    ASSERT_EQ_INT(sk_node_recv(n, &m, 22), 0);
    ASSERT_TRUE(sk_node_actions(n, &a));
    ASSERT_EQ_INT(a.n_send, 2);
    ASSERT_EQ_INT(a.send[0].to, 5);
    ASSERT_EQ_INT(a.send[1].to, 4);
    struct sk_msg acc;
    RUN(sent(&a, 0, &acc));
    ASSERT_EQ_INT(acc.type, SK_MSG_ACCEPT);
    ASSERT_EQ_U64(a.wakeup_ms, 32);
    sk_node_advance(n);

    m = peer(SK_MSG_ACCEPTED, 4, 1, acc.seq, acc.ballot);
    m.other = acc.other;
    ASSERT_EQ_INT(sk_node_recv(n, &m, 23), 0);
    m = peer(SK_MSG_ACCEPTED, 5, 1, acc.seq, acc.ballot);
    m.other = acc.other;
    ASSERT_EQ_INT(sk_node_recv(n, &m, 24), 0);
    ASSERT_TRUE(sk_node_actions(n, &a));
    ASSERT_EQ_INT(a.n_reply, 1);
    ASSERT_EQ_INT(a.reply[0].status, SK_ST_GRANTED);
    ASSERT_EQ_U64(a.wakeup_ms, UINT64_MAX); /* no fill-in left behind */
    sk_node_advance(n);
    sk_node_tick(n, 40);
    RUN(assert_quiet(n));
    sk_node_free(n);
}

TEST(thrifty_asks_the_rest_at_once_on_a_nay)
{
    struct sk_node *n = node_make_st(1, 5, 0, &thrifty_strategy);
    ASSERT_NOT_NULL(n);
    struct sk_client_req rq = {1, SK_OP_ACQUIRE, 0, KEY, KEY_LEN, (const uint8_t *)"beaver", 6, 1, 1, 0};
    ASSERT_EQ_INT(sk_node_request(n, &rq, 0), 0);
    struct sk_actions a;
    ASSERT_TRUE(sk_node_actions(n, &a));
    ASSERT_EQ_INT(a.n_send, 2);
    struct sk_msg prep;
    RUN(sent(&a, 0, &prep));
    struct sk_ballot b = prep.ballot;
    uint64_t seq = prep.seq;
    sk_node_advance(n);
    struct sk_msg m = peer(SK_MSG_NAY, 2, 1, seq, b);
    m.phase = 1;
    m.other = bal(7, 2);
    ASSERT_EQ_INT(sk_node_recv(n, &m, 1), 0);
    ASSERT_TRUE(sk_node_actions(n, &a));
    ASSERT_EQ_INT(send_mask(&a), (1u << 3) | (1u << 4));
    sk_node_advance(n);
    sk_node_free(n);
}

/* Five instances, thrifty and fast: a lone client's change costs three
 * messages out and three back (its own acceptor's are local), not eight. */
TEST(thrifty_five_nodes_decide_with_a_majority_of_messages)
{
    RUN(cluster_up_st(5, &thrifty_strategy));
    struct got_reply g;
    uint64_t before = cl.frames;
    RUN(decide(1, 1, SK_OP_ACQUIRE, "beaver", &g));
    ASSERT_EQ_INT(g.status, SK_ST_GRANTED);
    ASSERT_EQ_INT(cl.frames - before, 8); /* prepare, promise, accept, accepted x 2 peers */
    before = cl.frames;
    RUN(decide(1, 2, SK_OP_RELEASE, "beaver", &g));
    ASSERT_EQ_INT(g.status, SK_ST_RELEASED);
    ASSERT_EQ_INT(cl.frames - before, 4);
    /* node 4 never heard of it; its proposal still sees the release,
     * through the majority it asks */
    RUN(decide(4, 3, SK_OP_ACQUIRE, "giraffe", &g));
    ASSERT_EQ_INT(g.status, SK_ST_GRANTED);
    ASSERT_TRUE(sk_ballot_cmp(g.ballot, bal(2, 1)) > 0);
    RUN(decide(1, 4, SK_OP_ACQUIRE, "beaver", &g));
    ASSERT_EQ_INT(g.status, SK_ST_REFUSED);
    ASSERT_STR_EQ(g.holder, "giraffe");
    cluster_down();
}

/* ---------------------------------------------- register value envelope */

/* One sessions-table entry as PROTOCOL.md 9.1 lays it out. */
struct entry_spec {
    const char *holder;
    uint64_t seq, client;
    uint8_t status;
    uint64_t token;
    const char *by; /* NULL: none */
};

static uint8_t *put_be(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--) {
        *p++ = (uint8_t)(v >> (8 * i));
    }
    return p;
}

/* 'S', u16 count, u64 floor, the entries, the state: written here without
 * the core, from the spec. */
static size_t env_build(uint8_t *out, const struct entry_spec *e, size_t n, uint64_t floor,
                        const uint8_t *state, size_t state_len)
{
    uint8_t *p = out;
    *p++ = 'S';
    p = put_be(p, n, 2);
    p = put_be(p, floor, 8);
    for (size_t i = 0; i < n; i++) {
        size_t hl = strlen(e[i].holder), bl = e[i].by ? strlen(e[i].by) : 0;
        *p++ = (uint8_t)hl;
        memcpy(p, e[i].holder, hl);
        p += hl;
        p = put_be(p, e[i].seq, 8);
        p = put_be(p, e[i].client, 8);
        *p++ = e[i].status;
        p = put_be(p, e[i].token, 8);
        *p++ = (uint8_t)bl;
        memcpy(p, e[i].by ? e[i].by : "", bl);
        p += bl;
    }
    if (state_len) {
        memcpy(p, state, state_len);
    }
    return (size_t)(p - out) + state_len;
}

TEST(envelope_layout_after_a_grant)
{
    struct sk_node *n = node_make(1, 1, 0);
    ASSERT_NOT_NULL(n);
    struct got_reply g;
    RUN(solo(n, 1, SK_OP_ACQUIRE, "beaver", &g));
    struct sk_register_view v;
    ASSERT_TRUE(sk_node_register(n, KEY, KEY_LEN, &v));
    static const uint8_t head[] = {
        'S', 0x00, 0x01,                                /* one entry */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* floor 0 */
        6, 'b', 'e', 'a', 'v', 'e', 'r',                /* holder */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, /* seq 1 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, /* client 1 */
        SK_ST_GRANTED,                                  /* status */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, /* token 257 */
        0,                                              /* answer names the requester */
    };
    ASSERT_EQ_INT(v.value_len, 76); /* PROTOCOL.md 9.3 */
    ASSERT_MEM_EQ(v.value, head, sizeof head);
    const uint8_t *st;
    size_t st_len;
    RUN(state_of(v.value, v.value_len, &st, &st_len));
    ASSERT_TRUE(st == v.value + sizeof head);
    ASSERT_EQ_INT(sk_value_validate(st, st_len), 0);
    /* empty is a value too (no state); anything else must be an envelope */
    ASSERT_EQ_INT(sk_value_state(v.value, 0, &st, &st_len), 0);
    ASSERT_EQ_INT(st_len, 0);
    ASSERT_EQ_INT(sk_value_state((const uint8_t *)"m\0", 2, &st, &st_len), SK_EFRAME);
    ASSERT_EQ_INT(sk_value_state((const uint8_t *)"S", 1, &st, &st_len), SK_EFRAME);
    ASSERT_EQ_INT(sk_value_state(v.value, 10, &st, &st_len), SK_EFRAME);
    ASSERT_EQ_INT(sk_value_state(v.value, sizeof head - 1, &st, &st_len), SK_EFRAME);
    /* a version 1 value ('K', one ballot-tagged slot per proposer) still
     * gives its lock state */
    static const uint8_t v1[] = {'K', 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1,
                                 SK_ST_GRANTED, 0, 0, 0, 0, 0, 0, 1, 1, 1, 'b', 'n'};
    ASSERT_EQ_INT(sk_value_state(v1, sizeof v1, &st, &st_len), 0);
    ASSERT_EQ_INT(st_len, 1);
    ASSERT_EQ_INT(st[0], 'n');
    ASSERT_EQ_INT(sk_value_state(v1, sizeof v1 - 3, &st, &st_len), SK_EFRAME);
    sk_node_free(n);
}

TEST(short_holders_and_empty_state_stay_parseable)
{
    /* an entry with a one-byte holder and no state after it is the
     * smallest non-empty envelope (11 + 28 bytes): release by "b", then a
     * release of the free lock */
    struct sk_node *n = node_make(1, 1, 0);
    ASSERT_NOT_NULL(n);
    struct got_reply g;
    RUN(solo(n, 1, SK_OP_ACQUIRE, "b", &g));
    ASSERT_EQ_INT(g.status, SK_ST_GRANTED);
    RUN(solo(n, 2, SK_OP_RELEASE, "b", &g));
    ASSERT_EQ_INT(g.status, SK_ST_RELEASED);
    RUN(solo(n, 3, SK_OP_RELEASE, "b", &g));
    ASSERT_EQ_INT(g.status, SK_ST_NOT_HOLDER);
    struct sk_register_view v;
    ASSERT_TRUE(sk_node_register(n, KEY, KEY_LEN, &v));
    ASSERT_EQ_INT(v.value_len, 39);
    RUN(solo(n, 4, SK_OP_ACQUIRE, "b", &g));
    ASSERT_EQ_INT(g.status, SK_ST_GRANTED);
    sk_node_free(n);
}

/* A release whose accept reached an acceptor but whose answers were lost is
 * retried; the retry finds its own request in the value it carries forward
 * and answers RELEASED again instead of applying the release twice (which
 * would say NOT_HOLDER). */
TEST(retry_answers_from_the_attempt_that_was_chosen)
{
    struct sk_node *n = node_make(1, 3, 0);
    ASSERT_NOT_NULL(n);
    /* restart with beaver holding the lock, accepted at 1.2 */
    uint8_t state[64], value[96];
    struct sk_value_writer w;
    sk_value_begin(&w, state, sizeof state);
    sk_value_put_str(&w, "holder", (const uint8_t *)"beaver", 6);
    sk_value_put_int(&w, "token", 258);
    int state_len = sk_value_end(&w);
    ASSERT_TRUE(state_len > 0);
    size_t value_len = env_build(value, NULL, 0, 0, state, (size_t)state_len);
    struct sk_persist rec = {KEY, KEY_LEN, bal(1, 2), bal(1, 2), value, (uint32_t)value_len};
    ASSERT_EQ_INT(sk_node_restore(n, &rec), 0);

    struct sk_client_req rq = {9, SK_OP_RELEASE, 0, KEY, KEY_LEN, (const uint8_t *)"beaver", 6,
                               1, 9, 0};
    ASSERT_EQ_INT(sk_node_request(n, &rq, 0), 0);
    struct sk_actions a;
    ASSERT_TRUE(sk_node_actions(n, &a));
    uint8_t c1[SK_FRAME_MAX + 4], c2[SK_FRAME_MAX + 4], vcopy[SK_VALUE_MAX];
    struct sk_msg prep, acc;
    RUN(sent(&a, 0, &prep));
    memcpy(c1, a.send[0].frame, a.send[0].len);
    ASSERT_EQ_INT(sk_msg_decode(c1, a.send[0].len, &prep), a.send[0].len);
    ASSERT_BALLOT(prep.ballot, 2, 1);
    sk_node_advance(n);

    struct sk_msg m = answer(&prep, SK_MSG_PROMISE, 2);
    m.other = bal(1, 2);
    m.value = value;
    m.value_len = (uint32_t)value_len;
    ASSERT_EQ_INT(sk_node_recv(n, &m, 1), 0);
    ASSERT_TRUE(sk_node_actions(n, &a));
    RUN(sent(&a, 0, &acc));
    ASSERT_EQ_INT(acc.type, SK_MSG_ACCEPT);
    uint32_t vlen = acc.value_len;
    memcpy(vcopy, acc.value, vlen);
    uint64_t deadline = a.wakeup_ms;
    sk_node_advance(n);

    /* node 2 accepts but its answer is lost; node 3 is silent: timeout */
    sk_node_tick(n, deadline);
    ASSERT_TRUE(sk_node_actions(n, &a));
    ASSERT_TRUE(has_note(&a, SK_NOTE_CONFLICT, "timeout"));
    ASSERT_EQ_INT(a.n_reply, 0);
    uint64_t retry = a.wakeup_ms;
    sk_node_advance(n);
    sk_node_tick(n, retry);
    ASSERT_TRUE(sk_node_actions(n, &a));
    struct sk_msg prep2;
    memcpy(c2, a.send[0].frame, a.send[0].len);
    ASSERT_EQ_INT(sk_msg_decode(c2, a.send[0].len, &prep2), a.send[0].len);
    ASSERT_EQ_INT(prep2.type, SK_MSG_PREPARE);
    ASSERT_BALLOT(prep2.ballot, 3, 1);
    sk_node_advance(n);

    /* node 2 promises, carrying the released value accepted at 2.1 */
    m = answer(&prep2, SK_MSG_PROMISE, 2);
    m.other = bal(2, 1);
    m.value = vcopy;
    m.value_len = vlen;
    ASSERT_EQ_INT(sk_node_recv(n, &m, retry), 0);
    ASSERT_TRUE(sk_node_actions(n, &a));
    RUN(sent(&a, 0, &acc));
    ASSERT_EQ_INT(acc.type, SK_MSG_ACCEPT);
    ASSERT_BALLOT(acc.ballot, 3, 1);
    ASSERT_EQ_INT(acc.value_len, vlen); /* re-committed as it was */
    ASSERT_MEM_EQ(acc.value, vcopy, vlen);
    sk_node_advance(n);
    m = answer(&prep2, SK_MSG_ACCEPTED, 2);
    ASSERT_EQ_INT(sk_node_recv(n, &m, retry), 0);
    ASSERT_TRUE(sk_node_actions(n, &a));
    ASSERT_EQ_INT(a.n_reply, 1);
    ASSERT_EQ_U64(a.reply[0].req_id, 9);
    ASSERT_EQ_INT(a.reply[0].status, SK_ST_RELEASED);
    ASSERT_STR_EQ(a.reply[0].text, "answered before: this request was already applied");
    sk_node_advance(n);
    sk_node_free(n);
}

/* A request with an explicit identity, to a node of the cluster. */
static void ask_as(uint32_t node, uint64_t id, uint8_t op, const char *holder, uint64_t client,
                   uint64_t seq, uint64_t fence)
{
    struct sk_client_req rq = {id,     op,  0,    KEY, KEY_LEN, (const uint8_t *)holder,
                               (uint32_t)strlen(holder), client, seq, fence};
    ASSERT_EQ_INT(sk_node_request(cl.n[node], &rq, cl.now), 0);
}

static void decide_as(uint32_t node, uint64_t id, uint8_t op, const char *holder, uint64_t client,
                      uint64_t seq, uint64_t fence, struct got_reply *out)
{
    RUN(ask_as(node, id, op, holder, client, seq, fence));
    RUN(pump());
    RUN(reply_of(id, out));
}

/* The holder of the lock as node 1's acceptor has it ("" when free). */
static void holder_now(char *out, size_t len)
{
    struct sk_register_view v;
    out[0] = 0;
    if (!sk_node_register(cl.n[1], KEY, KEY_LEN, &v)) {
        return;
    }
    const uint8_t *st;
    size_t st_len;
    RUN(state_of(v.value, v.value_len, &st, &st_len));
    struct sk_value_field f;
    if (sk_value_get(st, st_len, "holder", &f) == 1 && f.tag == 's') {
        snprintf(out, len, "%.*s", (int)f.s_len, (const char *)f.s);
    }
}

/* Reproduction 1 of the at-most-once issue, in the core: heron's release
 * is sent to node 1, the client fails over and sends the same request to
 * node 2 (applied), heron acquires again (a new request), and then node 1
 * runs the first copy. It must change nothing: it is answered as the
 * duplicate it is, and beaver is still refused afterwards. */
TEST(a_late_copy_of_a_request_changes_nothing)
{
    RUN(cluster_up(3));
    struct got_reply g;
    char h[SK_HOLDER_MAX + 1];
    RUN(decide_as(2, 1, SK_OP_ACQUIRE, "heron", 77, 1000, 0, &g));
    ASSERT_EQ_INT(g.status, SK_ST_GRANTED);
    RUN(decide_as(2, 2, SK_OP_RELEASE, "heron", 77, 2000, 0, &g)); /* the failed-over copy */
    ASSERT_EQ_INT(g.status, SK_ST_RELEASED);
    RUN(decide_as(2, 3, SK_OP_ACQUIRE, "heron", 88, 3000, 0, &g)); /* another process */
    ASSERT_EQ_INT(g.status, SK_ST_GRANTED);
    uint64_t grant = g.token;
    /* the first copy of the release, late, at node 1 */
    RUN(decide_as(1, 4, SK_OP_RELEASE, "heron", 77, 2000, 0, &g));
    ASSERT_EQ_INT(g.status, SK_ST_STALE);
    ASSERT_TRUE(strstr(g.text, "later request") != NULL);
    RUN(holder_now(h, sizeof h));
    ASSERT_STR_EQ(h, "heron");
    RUN(decide_as(3, 5, SK_OP_ACQUIRE, "beaver", 99, 5000, 0, &g));
    ASSERT_EQ_INT(g.status, SK_ST_REFUSED);
    ASSERT_STR_EQ(g.holder, "heron");
    /* the same request once more, at yet another node: the answer it had */
    RUN(decide_as(1, 6, SK_OP_ACQUIRE, "heron", 88, 3000, 0, &g));
    ASSERT_EQ_INT(g.status, SK_ST_GRANTED);
    ASSERT_EQ_U64(g.token, grant);
    ASSERT_TRUE(strstr(g.text, "answered before") != NULL);
    /* a refusal is remembered too: giraffe's refused acquire, replayed
     * after the lock is free, must not make giraffe a holder it never
     * heard of ("ghost holds") */
    RUN(decide_as(3, 7, SK_OP_ACQUIRE, "giraffe", 5, 7000, 0, &g));
    ASSERT_EQ_INT(g.status, SK_ST_REFUSED);
    RUN(decide_as(2, 8, SK_OP_RELEASE, "heron", 88, 8000, 0, &g));
    ASSERT_EQ_INT(g.status, SK_ST_RELEASED);
    RUN(decide_as(1, 9, SK_OP_ACQUIRE, "giraffe", 5, 7000, 0, &g));
    ASSERT_EQ_INT(g.status, SK_ST_REFUSED);
    ASSERT_STR_EQ(g.holder, "heron"); /* the answer it had */
    RUN(holder_now(h, sizeof h));
    ASSERT_STR_EQ(h, "");
    /* same seq from another client of the same holder: (seq, client)
     * orders them; the smaller is stale */
    RUN(decide_as(1, 10, SK_OP_ACQUIRE, "giraffe", 4, 7000, 0, &g));
    ASSERT_EQ_INT(g.status, SK_ST_STALE);
    /* an answer that named nobody is replayed naming nobody, not the
     * requester: otter releases the free lock (not_holder, no holder),
     * then the same request again */
    RUN(decide_as(2, 11, SK_OP_RELEASE, "otter", 66, 9000, 0, &g));
    ASSERT_EQ_INT(g.status, SK_ST_NOT_HOLDER);
    ASSERT_STR_EQ(g.holder, "");
    RUN(decide_as(3, 12, SK_OP_RELEASE, "otter", 66, 9000, 0, &g));
    ASSERT_EQ_INT(g.status, SK_ST_NOT_HOLDER);
    ASSERT_TRUE(strstr(g.text, "answered before") != NULL);
    ASSERT_STR_EQ(g.holder, "");
    cluster_down();
}

/* Fencing on release: a release naming an earlier grant's token changes
 * nothing; naming the current one releases. */
TEST(release_with_a_token_is_fenced)
{
    RUN(cluster_up(3));
    struct got_reply g;
    RUN(decide_as(1, 1, SK_OP_ACQUIRE, "heron", 1, 10, 0, &g));
    uint64_t first = g.token;
    RUN(decide_as(1, 2, SK_OP_RELEASE, "heron", 1, 20, first, &g));
    ASSERT_EQ_INT(g.status, SK_ST_RELEASED);
    RUN(decide_as(2, 3, SK_OP_ACQUIRE, "heron", 1, 30, 0, &g));
    uint64_t second = g.token;
    ASSERT_TRUE(second > first);
    RUN(decide_as(3, 4, SK_OP_RELEASE, "heron", 1, 40, first, &g));
    ASSERT_EQ_INT(g.status, SK_ST_NOT_HOLDER);
    ASSERT_TRUE(strstr(g.text, "earlier grant") != NULL);
    RUN(decide_as(3, 5, SK_OP_RENEW, "heron", 1, 50, first, &g));
    ASSERT_EQ_INT(g.status, SK_ST_NOT_HOLDER);
    RUN(decide_as(3, 6, SK_OP_RENEW, "heron", 1, 60, second, &g));
    ASSERT_EQ_INT(g.status, SK_ST_GRANTED);
    RUN(decide_as(1, 7, SK_OP_RELEASE, "heron", 1, 70, second, &g));
    ASSERT_EQ_INT(g.status, SK_ST_RELEASED);
    /* an acquire names no token: refused before any attempt */
    struct sk_client_req rq = {8, SK_OP_ACQUIRE, 0, KEY, KEY_LEN, (const uint8_t *)"heron", 5,
                               1, 80, second};
    ASSERT_EQ_INT(sk_node_request(cl.n[1], &rq, cl.now), SK_EINVAL);
    ASSERT_TRUE(strstr(sk_node_errmsg(cl.n[1]), "token") != NULL);
    cluster_down();
}

/* The sessions table is bounded: with more holders than fit in a value,
 * the oldest are forgotten, the floor rises past them, and a copy of a
 * forgotten request is stale (never applied as new). The sizes for 1, 100
 * and 1,000 holders are printed for the record. */
TEST(sessions_table_stays_within_the_value_limit)
{
    struct sk_node *n = node_make(1, 1, 0);
    ASSERT_NOT_NULL(n);
    char who[32];
    uint32_t size_at[3] = {0};
    for (uint64_t i = 1; i <= 1000; i++) {
        snprintf(who, sizeof who, "client-%04llu", (unsigned long long)i);
        struct sk_client_req rq = {i,   SK_OP_ACQUIRE, 0, KEY, KEY_LEN, (const uint8_t *)who,
                                   (uint32_t)strlen(who), 1000 + i, i * 10, 0};
        ASSERT_EQ_INT(sk_node_request(n, &rq, 0), 0);
        struct sk_actions a;
        ASSERT_TRUE(sk_node_actions(n, &a));
        ASSERT_EQ_INT(a.n_reply, 1);
        ASSERT_EQ_INT(a.reply[0].status, i == 1 ? SK_ST_GRANTED : SK_ST_REFUSED);
        sk_node_advance(n);
        struct sk_register_view v;
        ASSERT_TRUE(sk_node_register(n, KEY, KEY_LEN, &v));
        ASSERT_TRUE(v.value_len <= SK_VALUE_MAX);
        if (i == 1 || i == 100 || i == 1000) {
            size_at[i == 1 ? 0 : i == 100 ? 1 : 2] = v.value_len;
        }
    }
    printf("# register value with 1, 100, 1000 holders: %u, %u, %u bytes\n", size_at[0],
           size_at[1], size_at[2]);
    ASSERT_TRUE(size_at[1] > size_at[0]);
    ASSERT_TRUE(size_at[2] > 8000);
    /* client-0001 (the holder) was forgotten long ago; its old request
     * again is stale, and the lock is unchanged */
    struct sk_client_req rq = {2000, SK_OP_RELEASE, 0, KEY, KEY_LEN,
                               (const uint8_t *)"client-0001", 11, 1001, 10, 0};
    ASSERT_EQ_INT(sk_node_request(n, &rq, 0), 0);
    struct sk_actions a;
    ASSERT_TRUE(sk_node_actions(n, &a));
    ASSERT_EQ_INT(a.reply[0].status, SK_ST_STALE);
    ASSERT_TRUE(strstr(a.reply[0].text, "forgotten") != NULL);
    sk_node_advance(n);
    /* a new request of the same holder is applied */
    rq.req_id = 2001;
    rq.seq = 20000;
    ASSERT_EQ_INT(sk_node_request(n, &rq, 0), 0);
    ASSERT_TRUE(sk_node_actions(n, &a));
    ASSERT_EQ_INT(a.reply[0].status, SK_ST_RELEASED);
    sk_node_advance(n);
    /* the latest holders are still remembered: a duplicate is answered */
    rq = (struct sk_client_req){2002, SK_OP_ACQUIRE, 0, KEY, KEY_LEN,
                                (const uint8_t *)"client-1000", 11, 2000, 10000, 0};
    ASSERT_EQ_INT(sk_node_request(n, &rq, 0), 0);
    ASSERT_TRUE(sk_node_actions(n, &a));
    ASSERT_EQ_INT(a.reply[0].status, SK_ST_REFUSED);
    ASSERT_TRUE(strstr(a.reply[0].text, "answered before") != NULL);
    sk_node_advance(n);
    sk_node_free(n);
}

/* --------------------------------------------------------------- rejoin */

/* Node i loses its state: a new core in its place, blank, that rejoins. */
static void wipe(uint32_t i)
{
    sk_node_free(cl.n[i]);
    struct sk_config cfg = {0};
    cfg.id = i;
    cfg.name = names[i];
    cfg.cluster_size = cl.size;
    cfg.phase_timeout_ms = 100;
    cfg.seed = 1000 + i;
    cfg.rejoin = true;
    cl.n[i] = sk_node_new(&cfg, NULL, cl.now);
    ASSERT_NOT_NULL(cl.n[i]);
    cl.disk[i].has = false;
    ASSERT_FALSE(sk_node_is_member(cl.n[i]));
}

/* Reproduction 2 of the at-most-once issue, in the core: beaver is granted
 * through node 1, which then loses its state. Before the fix, node 1
 * reissued ballot 1.1 and took beaver's grant for giraffe's "earlier
 * attempt". Now it rejoins (a new epoch, the lock fetched from a quorum)
 * before it votes or proposes, and giraffe is refused. */
TEST(a_blank_instance_rejoins_before_it_votes)
{
    RUN(cluster_up(5));
    struct got_reply g;
    RUN(decide(1, 1, SK_OP_ACQUIRE, "beaver", &g));
    ASSERT_EQ_INT(g.status, SK_ST_GRANTED);
    uint64_t beaver = g.token;
    RUN(wipe(1));
    RUN(pump());
    ASSERT_TRUE(sk_node_is_member(cl.n[1]));
    struct sk_persist rec;
    sk_node_record(cl.n[1], &rec);
    ASSERT_BALLOT(rec.promised, 1ull << 32, 1); /* the fence: epoch 1 */
    ASSERT_EQ_U64(rec.accepted.round, 1);
    /* it knows nothing of the lock yet... */
    struct sk_register_view v;
    ASSERT_FALSE(sk_node_register(cl.n[1], KEY, KEY_LEN, &v));
    RUN(decide_as(1, 2, SK_OP_ACQUIRE, "giraffe", 2, 2000, 0, &g));
    ASSERT_EQ_INT(g.status, SK_ST_REFUSED);
    ASSERT_STR_EQ(g.holder, "beaver");
    ASSERT_TRUE(sk_ballot_cmp(g.ballot, rec.promised) > 0); /* a ballot past the fence */
    /* ...until it fetched it: now it holds beaver's grant too */
    ASSERT_TRUE(sk_node_register(cl.n[1], KEY, KEY_LEN, &v));
    RUN(assert_holder(v.value, v.value_len, "beaver"));
    /* beaver's own request, replayed through the rejoined node: answered
     * as before, not granted twice */
    RUN(decide_as(1, 3, SK_OP_ACQUIRE, "beaver", 1, 1, 0, &g));
    ASSERT_EQ_INT(g.status, SK_ST_GRANTED);
    ASSERT_EQ_U64(g.token, beaver);
    /* the rest moved to the new epoch for this lock: their promise is at
     * least the fence */
    for (uint32_t i = 2; i <= 5; i++) {
        ASSERT_TRUE(sk_node_register(cl.n[i], KEY, KEY_LEN, &v));
        ASSERT_TRUE(sk_ballot_cmp(v.promised, rec.promised) >= 0);
    }
    cluster_down();
}

/* A blank instance that cannot reach N - M + 1 members does not vote: three
 * of five wiped can decide nothing (safe, and stuck). */
TEST(a_blank_majority_cannot_rejoin)
{
    RUN(cluster_up(5));
    struct got_reply g;
    RUN(decide(1, 1, SK_OP_ACQUIRE, "beaver", &g));
    RUN(wipe(1));
    RUN(wipe(2));
    RUN(wipe(3));
    for (int k = 0; k < 50; k++) { /* pump() would never settle: they keep asking */
        cl.now += 100;
        for (uint32_t i = 1; i <= 5; i++) {
            sk_node_tick(cl.n[i], cl.now);
        }
        bool any = true;
        while (any) {
            any = false;
            for (uint32_t i = 1; i <= 5; i++) {
                RUN(drain(i, &any));
            }
            size_t nb = cl.nq;
            for (size_t q = 0; q < nb; q++) {
                struct sk_msg m;
                ASSERT_EQ_INT(sk_msg_decode(cl.q[q].b, cl.q[q].len, &m), cl.q[q].len);
                ASSERT_EQ_INT(sk_node_recv(cl.n[cl.q[q].to], &m, cl.now), 0);
            }
            memmove(cl.q, cl.q + nb, (cl.nq - nb) * sizeof cl.q[0]);
            cl.nq -= nb;
            any = any || nb > 0;
        }
    }
    for (uint32_t i = 1; i <= 3; i++) {
        ASSERT_FALSE(sk_node_is_member(cl.n[i]));
    }
    cluster_down();
}

/* A member answers a JOIN: phase 1 with its highest epoch; phase 2 records
 * the epoch only when it is higher than any it knows. */
TEST(an_epoch_is_recorded_only_when_higher)
{
    struct sk_node *n = node_make(1, 3, 0);
    ASSERT_NOT_NULL(n);
    struct sk_msg m = {0};
    m.type = SK_MSG_JOIN;
    m.from = 2;
    m.to = 1;
    m.phase = 2;
    m.seq = 9;
    m.ballot = bal(3, 0);
    ASSERT_EQ_INT(sk_node_recv(n, &m, 0), 0);
    struct sk_actions a;
    ASSERT_TRUE(sk_node_actions(n, &a));
    ASSERT_EQ_INT(a.n_persist, 1); /* the node record, before the answer */
    ASSERT_EQ_INT(a.persist[0].key_len, 0);
    ASSERT_EQ_U64(a.persist[0].accepted.round, 3);
    struct sk_msg r;
    RUN(sent(&a, 0, &r));
    ASSERT_EQ_INT(r.type, SK_MSG_JOIN_OK);
    ASSERT_EQ_INT(r.status, SK_JOIN_OK);
    ASSERT_EQ_U64(r.ballot.round, 3);
    sk_node_advance(n);
    m.seq = 10; /* the same epoch again, from someone else */
    m.from = 3;
    ASSERT_EQ_INT(sk_node_recv(n, &m, 0), 0);
    ASSERT_TRUE(sk_node_actions(n, &a));
    ASSERT_EQ_INT(a.n_persist, 0);
    RUN(sent(&a, 0, &r));
    ASSERT_EQ_INT(r.status, SK_JOIN_NEWER);
    sk_node_advance(n);
    /* a promise in a later epoch counts as knowing it */
    RUN(promise(n, bal((5ull << 32) + 1, 3)));
    m.ballot = bal(4, 0);
    m.from = 2;
    ASSERT_EQ_INT(sk_node_recv(n, &m, 0), 0);
    ASSERT_TRUE(sk_node_actions(n, &a));
    RUN(sent(&a, 0, &r));
    ASSERT_EQ_INT(r.status, SK_JOIN_NEWER);
    ASSERT_EQ_U64(r.ballot.round, 5);
    sk_node_advance(n);
    sk_node_free(n);
}

/* A FETCH raises the member's promise for that lock to the fence (durably,
 * before the answer), so it can never again take a ballot from before it. */
TEST(a_fetch_raises_the_promise_to_the_fence)
{
    struct sk_node *n = node_make(1, 3, 0);
    ASSERT_NOT_NULL(n);
    RUN(promise(n, bal(7, 3)));
    struct sk_msg m = {0};
    m.type = SK_MSG_FETCH;
    m.from = 2;
    m.to = 1;
    m.ballot = bal(1ull << 32, 2);
    m.key = KEY;
    m.key_len = KEY_LEN;
    ASSERT_EQ_INT(sk_node_recv(n, &m, 0), 0);
    struct sk_actions a;
    ASSERT_TRUE(sk_node_actions(n, &a));
    ASSERT_EQ_INT(a.n_persist, 1);
    ASSERT_BALLOT(a.persist[0].promised, 1ull << 32, 2);
    struct sk_msg r;
    RUN(sent(&a, 0, &r));
    ASSERT_EQ_INT(r.type, SK_MSG_FETCHED);
    ASSERT_EQ_INT(r.status, SK_JOIN_OK);
    ASSERT_BALLOT(r.ballot, 1ull << 32, 2);
    sk_node_advance(n);
    /* an ACCEPT from before the fence is refused now */
    struct sk_msg acc = accept_msg(3, 4, bal(8, 3), "x");
    ASSERT_EQ_INT(sk_node_recv(n, &acc, 0), 0);
    ASSERT_TRUE(sk_node_actions(n, &a));
    RUN(sent(&a, 0, &r));
    ASSERT_EQ_INT(r.type, SK_MSG_NAY);
    sk_node_advance(n);
    sk_node_free(n);
}

/* While rejoining an instance answers no PREPARE at all; once rejoined it
 * answers none for a lock it has not fetched, and fetches it instead. A
 * restart with its node record on disk keeps that. */
TEST(a_rejoining_instance_does_not_vote_on_what_it_forgot)
{
    struct sk_config cfg = {0};
    cfg.id = 1;
    cfg.name = "one";
    cfg.cluster_size = 3;
    cfg.phase_timeout_ms = 100;
    cfg.rejoin = true;
    struct sk_node *n = sk_node_new(&cfg, NULL, 0);
    ASSERT_NOT_NULL(n);
    struct sk_msg prep = peer(SK_MSG_PREPARE, 2, 1, 5, bal(3, 2));
    ASSERT_EQ_INT(sk_node_recv(n, &prep, 0), 0);
    struct sk_actions a;
    sk_node_actions(n, &a);
    ASSERT_EQ_INT(a.n_send, 0);
    ASSERT_EQ_INT(a.n_persist, 0);
    sk_node_advance(n);
    sk_node_free(n);
    /* the same instance after a rejoin, restarted from its disk */
    n = sk_node_new(&cfg, NULL, 0);
    struct sk_persist rec = {NULL, 0, bal(1ull << 32, 1), bal(1, 1), NULL, 0};
    ASSERT_EQ_INT(sk_node_restore(n, &rec), 0);
    ASSERT_TRUE(sk_node_is_member(n));
    ASSERT_EQ_INT(sk_node_recv(n, &prep, 0), 0);
    ASSERT_TRUE(sk_node_actions(n, &a));
    ASSERT_EQ_INT(a.n_send, 2); /* a FETCH to each peer, no PROMISE */
    struct sk_msg f;
    RUN(sent(&a, 0, &f));
    ASSERT_EQ_INT(f.type, SK_MSG_FETCH);
    ASSERT_BALLOT(f.ballot, 1ull << 32, 1);
    sk_node_advance(n);
    /* a node record that is not this instance's refuses to load */
    struct sk_persist bad = {NULL, 0, bal(1ull << 32, 2), bal(1, 1), NULL, 0};
    ASSERT_EQ_INT(sk_node_restore(n, &bad), SK_ECORRUPT);
    sk_node_free(n);
}

/* Only a rejoin opens an epoch: a next_ballot that jumps past the epoch of
 * every ballot seen fails that request. */
static int jump_epoch(void *ud, struct sk_hook_ctx *ctx, const struct sk_ballot_info *info,
                      struct sk_ballot *out)
{
    (void)ud;
    (void)info;
    *out = (struct sk_ballot){(7ull << 32) + 1, ctx->node_id};
    return 0;
}

TEST(next_ballot_may_not_open_an_epoch)
{
    static const struct sk_strategy st = {.next_ballot = jump_epoch};
    struct sk_node *n = node_make_st(1, 1, 0, &st);
    ASSERT_NOT_NULL(n);
    struct sk_client_req rq = {1, SK_OP_ACQUIRE, 0, KEY, KEY_LEN, (const uint8_t *)"b", 1, 1, 1, 0};
    ASSERT_EQ_INT(sk_node_request(n, &rq, 0), 0);
    struct sk_actions a;
    ASSERT_TRUE(sk_node_actions(n, &a));
    ASSERT_EQ_INT(a.n_reply, 1);
    ASSERT_EQ_INT(a.reply[0].status, SK_ST_ERROR);
    ASSERT_TRUE(strstr(a.reply[0].text, "epoch 7") != NULL);
    sk_node_advance(n);
    sk_node_free(n);
}

/* Node 1 of 3 (after promising 3.2) runs an acquire at 4.1; node 2
 * promises with `value` accepted at 3.2. What does the client hear? */
static void acquire_over(const uint8_t *value, size_t value_len, struct got_reply *g)
{
    struct sk_node *n = node_make(1, 3, 0);
    ASSERT_NOT_NULL(n);
    RUN(promise(n, bal(3, 2)));
    struct sk_msg prep;
    uint8_t copy[SK_FRAME_MAX + 4];
    RUN(start_acquire(n, &prep, copy));
    ASSERT_BALLOT(prep.ballot, 4, 1);
    struct sk_msg m = answer(&prep, SK_MSG_PROMISE, 2);
    m.other = bal(3, 2);
    m.value = value;
    m.value_len = (uint32_t)value_len;
    ASSERT_EQ_INT(sk_node_recv(n, &m, 1), 0);
    struct sk_actions a;
    ASSERT_TRUE(sk_node_actions(n, &a));
    if (a.n_reply == 0) {
        sk_node_advance(n);
        m = answer(&prep, SK_MSG_ACCEPTED, 2);
        ASSERT_EQ_INT(sk_node_recv(n, &m, 2), 0);
        ASSERT_TRUE(sk_node_actions(n, &a));
    }
    ASSERT_EQ_INT(a.n_reply, 1);
    copy_reply(g, &a.reply[0]);
    sk_node_advance(n);
    sk_node_free(n);
}

TEST(promise_with_a_broken_envelope_fails_the_attempt)
{
    uint8_t v[SK_VALUE_MAX];
    struct got_reply g;
    /* not an envelope at all: the proposer refuses to build on it */
    RUN(acquire_over((const uint8_t *)"m\0", 2, &g));
    ASSERT_EQ_INT(g.status, SK_ST_ERROR);
    /* a well-formed one with another holder's entry: fine */
    struct entry_spec ok = {"otter", 5, 9, SK_ST_RELEASED, 0, NULL};
    RUN(acquire_over(v, env_build(v, &ok, 1, 0, NULL, 0), &g));
    ASSERT_EQ_INT(g.status, SK_ST_GRANTED);
}

/* An acceptor's value comes off the network (or a disk): a proposer must
 * not trust its envelope further than it checks it. Each of these is a
 * value no Skinny proposer writes; building on it must fail the attempt
 * (SK_ST_ERROR), as a value that is no envelope at all does. */
TEST(promise_with_an_impossible_envelope_fails_the_attempt)
{
    uint8_t v[SK_VALUE_MAX];
    char long_name[201];
    memset(long_name, 'h', 200);
    long_name[200] = 0;
    struct got_reply g;
    static const struct {
        const char *why;
        struct entry_spec e[2];
        size_t n;
    } cases[] = {
        /* start_acquire's request is beaver's, client 1, seq 1 */
        {"entry with status 0", {{"beaver", 1, 1, 0, 0, NULL}}, 1},
        {"entry with status 200", {{"beaver", 1, 1, 200, 0, NULL}}, 1},
        {"entry with seq 0", {{"otter", 0, 1, SK_ST_GRANTED, 0, NULL}}, 1},
        {"entry with client 0", {{"otter", 1, 0, SK_ST_GRANTED, 0, NULL}}, 1},
        {"two entries for one holder",
         {{"otter", 1, 1, SK_ST_GRANTED, 0, NULL}, {"otter", 2, 1, SK_ST_GRANTED, 0, NULL}},
         2},
        {"entries out of order",
         {{"zebra", 1, 1, SK_ST_GRANTED, 0, NULL}, {"otter", 2, 1, SK_ST_GRANTED, 0, NULL}},
         2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TEST_CONTEXT("%s", cases[i].why);
        RUN(acquire_over(v, env_build(v, cases[i].e, cases[i].n, 0, NULL, 0), &g));
        ASSERT_EQ_INT(g.status, SK_ST_ERROR);
    }
    /* our own entry, naming this very request, with a holder longer than
     * SK_HOLDER_MAX in its answer: it would be copied into holder[129] */
    TEST_CONTEXT("answer naming a 200-byte holder");
    struct entry_spec big = {"beaver", 1, 1, SK_ST_REFUSED, 0, long_name};
    RUN(acquire_over(v, env_build(v, &big, 1, 0, NULL, 0), &g));
    ASSERT_EQ_INT(g.status, SK_ST_ERROR);
    /* a count larger than the entries that follow */
    TEST_CONTEXT("count past the end");
    size_t len = env_build(v, cases[0].e, 0, 0, NULL, 0);
    v[2] = 3;
    RUN(acquire_over(v, len, &g));
    ASSERT_EQ_INT(g.status, SK_ST_ERROR);
}

/* Values are data (spec/HOOKS.md): a peer's ACCEPT whose value is not a
 * lock state both readers accept is refused, never stored; the register
 * is as it was and the message names the lock and the reason. */
TEST(accept_of_a_value_that_is_not_data_is_refused_and_not_stored)
{
    /* an empty sessions table around {[NaN] = true}, and around {k = nil} */
    static const uint8_t nan_key[] = {'S', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'm', 1,
                                      'd', 0x7f, 0xf8, 0, 0, 0, 0, 0, 0, 't'};
    static const uint8_t nil_val[] = {'S', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'm', 1, 's', 1, 'k', 'n'};
    static const struct {
        const char *why;
        const uint8_t *v;
        size_t len;
        const char *says;
    } cases[] = {{"NaN key", nan_key, sizeof nan_key, "key is NaN"},
                 {"nil value", nil_val, sizeof nil_val, "value is nil"},
                 {"not an envelope", (const uint8_t *)"m\0", 2, "sessions table"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TEST_CONTEXT("%s", cases[i].why);
        struct sk_node *n = node_make(1, 3, 0);
        ASSERT_NOT_NULL(n);
        struct sk_msg m = accept_msg(2, 1, bal(5, 2), "v1");
        ASSERT_EQ_INT(sk_node_recv(n, &m, 0), 0); /* a good value first */
        sk_node_advance(n);
        m = accept_msg(2, 2, bal(6, 2), "x");
        m.value = cases[i].v;
        m.value_len = (uint32_t)cases[i].len;
        ASSERT_EQ_INT(sk_node_recv(n, &m, 0), SK_EFRAME);
        ASSERT_NOT_NULL(strstr(sk_node_errmsg(n), "accept from node 2 for lock 'lock' refused"));
        ASSERT_NOT_NULL(strstr(sk_node_errmsg(n), cases[i].says));
        struct sk_actions a;
        ASSERT_FALSE(sk_node_actions(n, &a)); /* no persist, no answer */
        struct sk_register_view v;
        ASSERT_TRUE(sk_node_register(n, KEY, KEY_LEN, &v));
        ASSERT_BALLOT(v.accepted, 5, 2);
        ASSERT_BALLOT(v.promised, 5, 2);
        ASSERT_NAMED(v.value, v.value_len, "v1");
        /* the same value in a FETCHED (a member's answer to a rejoining
         * instance) is refused before anything looks at it */
        m.type = SK_MSG_FETCHED;
        m.status = SK_JOIN_OK;
        ASSERT_EQ_INT(sk_node_recv(n, &m, 0), SK_EFRAME);
        ASSERT_NOT_NULL(strstr(sk_node_errmsg(n), "from node 2 for lock 'lock' refused"));
        ASSERT_NOT_NULL(strstr(sk_node_errmsg(n), cases[i].says));
        ASSERT_FALSE(sk_node_actions(n, &a));
        sk_node_free(n);
    }
}

/* One stored by an older version reaches a proposer as a promise: only
 * the request that reads it fails, with the lock and the reason. */
TEST(promise_of_a_value_that_is_not_data_fails_the_request_naming_the_lock)
{
    static const uint8_t nan_key[] = {'S', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'm', 1,
                                      'd', 0x7f, 0xf8, 0, 0, 0, 0, 0, 0, 't'};
    struct got_reply g;
    RUN(acquire_over(nan_key, sizeof nan_key, &g));
    ASSERT_EQ_INT(g.status, SK_ST_ERROR);
    ASSERT_NOT_NULL(strstr(g.text, "lock 'lock'"));
    ASSERT_NOT_NULL(strstr(g.text, "instance 2"));
    ASSERT_NOT_NULL(strstr(g.text, "key is NaN"));
}

/* A strategy whose apply writes bytes that are not a lock state. */
static int apply_garbage(void *ud, struct sk_hook_ctx *ctx, const uint8_t *state,
                         size_t state_len, const struct sk_client_req *req, struct sk_ballot ballot,
                         struct sk_buf *out, struct sk_lock_reply *reply)
{
    (void)ud, (void)ctx, (void)state, (void)state_len, (void)req, (void)ballot;
    static const uint8_t nil_val[] = {'m', 1, 's', 1, 'k', 'n'};
    memcpy(out->data, nil_val, sizeof nil_val);
    out->len = sizeof nil_val;
    reply->status = SK_ST_GRANTED;
    return 0;
}

TEST(apply_writing_a_state_that_is_not_data_fails_the_request)
{
    struct sk_strategy st = sk_strategy_default;
    st.apply_lock = apply_garbage;
    struct sk_node *n = node_make_st(1, 1, 0, &st);
    ASSERT_NOT_NULL(n);
    struct sk_client_req rq = {1, SK_OP_ACQUIRE, 0, KEY, KEY_LEN, (const uint8_t *)"beaver", 6,
                               1, 1, 0};
    ASSERT_EQ_INT(sk_node_request(n, &rq, 0), 0);
    struct sk_actions a;
    ASSERT_TRUE(sk_node_actions(n, &a));
    ASSERT_EQ_INT(a.n_reply, 1);
    ASSERT_EQ_INT(a.reply[0].status, SK_ST_ERROR);
    ASSERT_NOT_NULL(strstr(a.reply[0].text, "not data"));
    ASSERT_NOT_NULL(strstr(a.reply[0].text, "value is nil"));
    ASSERT_FALSE(has_note(&a, SK_NOTE_DECIDED, NULL));
    sk_node_advance(n);
    struct sk_register_view v;
    ASSERT_TRUE(!sk_node_register(n, KEY, KEY_LEN, &v) || v.value_len == 0);
    sk_node_free(n);
}

/* --------------------------------------------------------- allocation */

static struct {
    long live;     /* blocks allocated and not freed */
    long total;    /* successful allocations */
    long budget;   /* allocations left before failing; < 0: never fail */
    long failures; /* allocations refused */
} heap;

static bool heap_refuse(void)
{
    if (heap.budget < 0) {
        return false;
    }
    if (heap.budget == 0) {
        heap.failures++;
        return true;
    }
    heap.budget--;
    return false;
}

static void *heap_malloc(size_t size)
{
    if (heap_refuse()) return NULL;
    void *p = malloc(size);
    if (p != NULL) heap.live++, heap.total++;
    return p;
}

static void *heap_realloc(void *p, size_t size)
{
    if (heap_refuse()) return NULL;
    void *q = realloc(p, size);
    if (q != NULL) {
        heap.total++;
        if (p == NULL) heap.live++;
    }
    return q;
}

static void heap_free(void *p)
{
    if (p != NULL) heap.live--;
    free(p);
}

static const struct sk_allocator counting = {heap_malloc, heap_realloc, heap_free};

static void heap_reset(long budget)
{
    memset(&heap, 0, sizeof heap);
    heap.budget = budget;
}

TEST(allocator_counts_every_allocation_freed)
{
    heap_reset(-1);
    sk_set_allocator(&counting);
    /* a single node through a whole lock life */
    struct sk_node *n = node_make(1, 1, 0);
    bool made = n != NULL;
    if (made) {
        for (uint64_t i = 1; i <= 3; i++) {
            struct sk_client_req rq = {i, i == 2 ? SK_OP_RELEASE : SK_OP_ACQUIRE, 0, KEY,
                                       KEY_LEN, (const uint8_t *)"beaver", 6, 1, i, 0};
            sk_node_request(n, &rq, 0);
            struct sk_actions a;
            sk_node_actions(n, &a);
            sk_node_advance(n);
        }
    }
    long during = heap.live;
    sk_node_free(n);
    long after_solo = heap.live;
    sk_set_allocator(NULL);
    ASSERT_TRUE(made);
    ASSERT_TRUE(during > 0);
    ASSERT_EQ_INT(after_solo, 0);

    /* three nodes, many keys (the register table grows), a duel */
    heap_reset(-1);
    sk_set_allocator(&counting);
    cluster_up(3);
    if (!sk_test_failed()) {
        for (uint64_t k = 0; k < 100; k++) {
            char key[16];
            int kl = snprintf(key, sizeof key, "lock-%llu", (unsigned long long)k);
            struct sk_client_req rq = {k, SK_OP_ACQUIRE, 0, (const uint8_t *)key, (uint32_t)kl,
                                       (const uint8_t *)"beaver", 6, 1, k, 0};
            sk_node_request(cl.n[1 + k % 3], &rq, cl.now);
        }
        pump();
    }
    long total = heap.total;
    cluster_down();
    long after_cluster = heap.live;
    sk_set_allocator(NULL);
    ASSERT_FALSE(sk_test_failed());
    ASSERT_TRUE(total > 100);
    ASSERT_EQ_INT(after_cluster, 0);
}

TEST(failing_allocator_makes_node_new_return_null)
{
    /* fail the first allocation, then the second, ... until one succeeds */
    long budget;
    struct sk_node *n = NULL;
    long leaked = 0;
    for (budget = 0; budget < 16 && n == NULL; budget++) {
        heap_reset(budget);
        sk_set_allocator(&counting);
        n = node_new_raw(1, 3); /* node_make's first batch would allocate too */
        if (n == NULL) {
            leaked += heap.live;
        }
    }
    long failures_before_success = budget - 1;
    sk_set_allocator(NULL);
    ASSERT_EQ_INT(leaked, 0);
    ASSERT_NOT_NULL(n);
    struct sk_actions first;
    ASSERT_TRUE(sk_node_actions(n, &first)); /* its node record */
    sk_node_advance(n);
    ASSERT_TRUE(failures_before_success >= 1);

    /* a node that cannot allocate refuses a request with SK_ENOMEM */
    heap_reset(0);
    sk_set_allocator(&counting);
    struct sk_client_req rq = {1, SK_OP_ACQUIRE, 0, KEY, KEY_LEN, (const uint8_t *)"b", 1, 1, 1, 0};
    int rv0 = sk_node_request(n, &rq, 0);
    heap_reset(1); /* the register, but not the request */
    int rv1 = sk_node_request(n, &rq, 0);
    sk_set_allocator(NULL);
    ASSERT_EQ_INT(rv0, SK_ENOMEM);
    ASSERT_EQ_INT(rv1, SK_ENOMEM);
    RUN(assert_quiet(n));
    /* and it still works once memory is back */
    ASSERT_EQ_INT(sk_node_request(n, &rq, 0), 0);
    sk_node_free(n);
}

/* Waiting (PROTOCOL.md 7.4): a lock whose apply answers an acquire of a held
 * lock QUEUED (place 1), and a WAIT with what `turn` says. It counts its
 * calls and remembers the last op it saw. */
static int q_calls, q_last_op;
static uint8_t q_turn = SK_ST_QUEUED;
static int queue_apply(void *ud, struct sk_hook_ctx *ctx, const uint8_t *state, size_t state_len,
                       const struct sk_client_req *req, struct sk_ballot ballot, struct sk_buf *out,
                       struct sk_lock_reply *reply)
{
    (void)ud;
    q_calls++;
    q_last_op = req->op;
    if (req->op == SK_OP_WAIT) {
        if (state_len > 0) {
            memcpy(out->data, state, state_len);
        }
        out->len = state_len;
        reply->status = q_turn;
        reply->token = q_turn == SK_ST_QUEUED ? 1 : 0;
        return 0;
    }
    if (req->op == SK_OP_ACQUIRE && state_len > 0) {
        if (state_len > 0) {
            memcpy(out->data, state, state_len);
        }
        out->len = state_len;
        reply->status = SK_ST_QUEUED;
        reply->token = 1;
        return 0;
    }
    return sk_strategy_default.apply_lock(NULL, ctx, state, state_len, req, ballot, out, reply);
}
static const struct sk_strategy queue_strategy = {.apply_lock = queue_apply};

static void one_reply(struct sk_node *n, const struct sk_client_req *rq, struct sk_reply *out,
                      char *text, size_t len)
{
    ASSERT_EQ_INT(sk_node_request(n, rq, 0), 0);
    struct sk_actions a;
    ASSERT_TRUE(sk_node_actions(n, &a));
    ASSERT_EQ_INT(a.n_reply, 1);
    *out = a.reply[0];
    snprintf(text, len, "%s", a.reply[0].text);
    out->text = NULL;
    out->holder = NULL;
    out->key = NULL;
    sk_node_advance(n);
}

TEST(a_queued_acquire_asked_again_reaches_apply_as_a_wait)
{
    struct sk_node *n = node_make_st(1, 1, 0, &queue_strategy);
    ASSERT_NOT_NULL(n);
    char text[SK_TEXT_MAX];
    struct sk_reply r;
    struct sk_client_req a = {1, SK_OP_ACQUIRE, 0, KEY, KEY_LEN, (const uint8_t *)"a", 1, 1, 1, 0};
    struct sk_client_req b = {2, SK_OP_ACQUIRE, 0, KEY, KEY_LEN, (const uint8_t *)"b", 1, 2, 1, 0};
    RUN(one_reply(n, &a, &r, text, sizeof text));
    ASSERT_EQ_INT(r.status, SK_ST_GRANTED);
    RUN(one_reply(n, &b, &r, text, sizeof text));
    ASSERT_EQ_INT(r.status, SK_ST_QUEUED);
    ASSERT_EQ_U64(r.token, 1); /* its place */
    ASSERT_FALSE(r.waited);
    /* the same request again: apply sees a WAIT, still queued */
    q_calls = 0;
    b.req_id = 3;
    RUN(one_reply(n, &b, &r, text, sizeof text));
    ASSERT_EQ_INT(q_calls, 1);
    ASSERT_EQ_INT(q_last_op, SK_OP_WAIT);
    ASSERT_EQ_INT(r.status, SK_ST_QUEUED);
    ASSERT_TRUE(r.waited); /* an answer to a wait: it had joined before */
    /* its turn came: granted, and the answer says it waited */
    q_turn = SK_ST_GRANTED;
    b.req_id = 4;
    RUN(one_reply(n, &b, &r, text, sizeof text));
    ASSERT_EQ_INT(r.status, SK_ST_GRANTED);
    ASSERT_TRUE(r.waited);
    ASSERT_TRUE(r.token > 0);
    /* a further copy is answered from the sessions table, apply not called,
     * and still says it waited (a client that lost the earlier answers learns it) */
    q_calls = 0;
    b.req_id = 5;
    RUN(one_reply(n, &b, &r, text, sizeof text));
    ASSERT_EQ_INT(q_calls, 0);
    ASSERT_EQ_INT(r.status, SK_ST_GRANTED);
    ASSERT_TRUE(r.waited);
    ASSERT_TRUE(strstr(text, "answered before") != NULL);
    /* a new request of b (a release: cancel) is applied as new; the old one is stale */
    struct sk_client_req rel = {6, SK_OP_RELEASE, 0, KEY, KEY_LEN, (const uint8_t *)"b", 1, 2, 2, 0};
    RUN(one_reply(n, &rel, &r, text, sizeof text));
    ASSERT_FALSE(r.waited);
    b.req_id = 7;
    RUN(one_reply(n, &b, &r, text, sizeof text));
    ASSERT_EQ_INT(r.status, SK_ST_STALE);
    q_turn = SK_ST_QUEUED;
    sk_node_free(n);
}

/* What may answer what: QUEUED only an acquire or a wait, with a place; a
 * wait only granted, queued or refused. Each a hook error naming the rule. */
static uint8_t bad_status, bad_place;
static int bad_apply(void *ud, struct sk_hook_ctx *ctx, const uint8_t *state, size_t state_len,
                     const struct sk_client_req *req, struct sk_ballot ballot, struct sk_buf *out,
                     struct sk_lock_reply *reply)
{
    (void)ud, (void)ctx, (void)ballot, (void)req;
    if (state_len > 0) {
        memcpy(out->data, state, state_len);
    }
    out->len = state_len;
    reply->status = bad_status;
    reply->token = bad_place;
    return 0;
}
static const struct sk_strategy bad_queue_strategy = {.apply_lock = bad_apply};

TEST(queued_answers_are_checked)
{
    struct sk_node *n = node_make_st(1, 1, 0, &bad_queue_strategy);
    ASSERT_NOT_NULL(n);
    char text[SK_TEXT_MAX];
    struct sk_reply r;
    struct sk_client_req rel = {1, SK_OP_RELEASE, 0, KEY, KEY_LEN, (const uint8_t *)"a", 1, 1, 1, 0};
    bad_status = SK_ST_QUEUED, bad_place = 1;
    RUN(one_reply(n, &rel, &r, text, sizeof text));
    ASSERT_EQ_INT(r.status, SK_ST_ERROR);
    ASSERT_TRUE(strstr(text, "answered \"queued\" to a release") != NULL);
    struct sk_client_req acq = {2, SK_OP_ACQUIRE, 0, KEY, KEY_LEN, (const uint8_t *)"a", 1, 1, 2, 0};
    bad_place = 0;
    RUN(one_reply(n, &acq, &r, text, sizeof text));
    ASSERT_EQ_INT(r.status, SK_ST_ERROR);
    ASSERT_TRUE(strstr(text, "without a place") != NULL);
    bad_place = 2;
    acq.req_id = 3;
    RUN(one_reply(n, &acq, &r, text, sizeof text));
    ASSERT_EQ_INT(r.status, SK_ST_QUEUED);
    /* the wait is answered released: refused by the core */
    bad_status = SK_ST_RELEASED;
    acq.req_id = 4;
    RUN(one_reply(n, &acq, &r, text, sizeof text));
    ASSERT_EQ_INT(r.status, SK_ST_ERROR);
    ASSERT_TRUE(strstr(text, "answered \"released\" to a wait") != NULL);
    sk_node_free(n);
}

/* A peer's value whose sessions entry claims a status: 1..4 and 9 (queued),
 * 1 or 2 with the waited bit (0x40); anything else is not a register value
 * (a crafted ACCEPT carrying it is refused, never stored). */
TEST(sessions_entry_statuses_a_value_may_carry)
{
    static const struct {
        uint8_t status;
        bool ok;
    } cases[] = {{1, true},     {2, true},     {3, true},     {4, true},     {9, true},
                 {0x41, true},  {0x42, true},  {0, false},    {5, false},    {8, false},
                 {10, false},   {0x43, false}, {0x44, false}, {0x49, false}, {0x80, false}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct entry_spec e = {"a", 1, 1, cases[i].status, 0, NULL};
        uint8_t v[64];
        size_t len = env_build(v, &e, 1, 0, NULL, 0);
        int rv = sk_register_value_check(v, len, NULL, 0);
        if (cases[i].ok != (rv == 0)) {
            FAIL("entry status 0x%02x: check returned %d", cases[i].status, rv);
        }
    }
}
