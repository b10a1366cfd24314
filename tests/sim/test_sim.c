/* test_sim.c - the simulator driving real cores: exact virtual times,
 * determinism from the seed, and acceptor invariants checked after every
 * event (ballots never go backwards on an acceptor that kept its state). */
#include <string.h>

#include "runner.h"
#include "sim/sim.h"

struct watch {
    uint64_t hash;       /* FNV over every event */
    uint64_t events;
    uint64_t replies;
    uint64_t last_reply_t;
    uint8_t last_status;
    uint64_t late, client_drops, decided;
    uint64_t last_late_t;
    uint8_t last_late_status;
    int violations;
    /* highest promise seen per node for lock "printer" */
    struct sk_ballot promised[SK_MAX_NODES + 1];
    char why[256];
};

static void mix(struct watch *w, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        w->hash = (w->hash ^ b[i]) * 0x100000001b3ull;
    }
}

static void on_event(void *ud, const struct sk_sim_event *e)
{
    struct watch *w = ud;
    w->events++;
    mix(w, &e->t, sizeof e->t);
    mix(w, &e->kind, sizeof e->kind);
    mix(w, &e->node, sizeof e->node);
    mix(w, &e->msg_id, sizeof e->msg_id);
    if (e->kind == SK_EV_PERSIST && e->persist->key_len > 0) { /* not the node record */
        const struct sk_persist *p = e->persist;
        /* a persisted promise never goes below the one before it */
        if (sk_ballot_cmp(p->promised, w->promised[e->node]) < 0) {
            w->violations++;
            snprintf(w->why, sizeof w->why, "node %u promise went from %llu.%u to %llu.%u",
                     e->node, (unsigned long long)w->promised[e->node].round,
                     w->promised[e->node].node, (unsigned long long)p->promised.round,
                     p->promised.node);
        }
        w->promised[e->node] = p->promised;
        if (sk_ballot_cmp(p->accepted, p->promised) > 0) {
            w->violations++;
            snprintf(w->why, sizeof w->why, "node %u accepted above its promise", e->node);
        }
    }
    if (e->kind == SK_EV_LATE) {
        w->late++;
        w->last_late_t = e->t;
        w->last_late_status = e->reply->status;
    }
    if (e->kind == SK_EV_CLIENT_DROP) {
        w->client_drops++;
    }
    if (e->kind == SK_EV_NOTE && e->note->kind == SK_NOTE_DECIDED) {
        w->decided++;
    }
    if (e->kind == SK_EV_COMPLETE) {
        w->replies++;
        w->last_reply_t = e->t;
        w->last_status = e->reply->status;
        mix(w, &e->reply->status, 1);
        mix(w, &e->reply->token, sizeof e->reply->token);
    }
}

static struct sk_sim *make(uint64_t seed, uint32_t n, struct watch *w)
{
    struct sk_sim *s = sk_sim_new(seed);
    memset(w, 0, sizeof *w);
    w->hash = 0xcbf29ce484222325ull;
    sk_sim_on_event(s, on_event, w);
    static const char *names[] = {"catbus", "kanta", "mei", "satsuki", "totoro", "a", "b"};
    for (uint32_t i = 1; i <= n; i++) {
        struct sk_config cfg = {0};
        cfg.id = i;
        cfg.name = names[i - 1];
        cfg.cluster_size = n;
        cfg.phase_timeout_ms = 100;
        cfg.seed = seed + i;
        sk_sim_add_node(s, &cfg, NULL);
    }
    return s;
}

static int request_opts(struct sk_sim *s, uint32_t client, uint32_t node, uint8_t op,
                        const char *holder, const struct sk_sim_req_opts *o)
{
    static uint64_t last_seq;
    uint64_t seq = sk_sim_now(s) * 1000 > last_seq ? sk_sim_now(s) * 1000 : last_seq + 1;
    last_seq = seq;
    struct sk_client_req r = {0, op, 0, (const uint8_t *)"printer", 7, (const uint8_t *)holder,
                              (uint32_t)strlen(holder), client, seq, 0};
    return sk_sim_request_opts(s, client, node, &r, o);
}

static int request(struct sk_sim *s, uint32_t client, uint32_t node, uint8_t op, const char *holder)
{
    /* identity: the client, and a seq that grows with virtual time */
    static uint64_t last_seq;
    uint64_t seq = sk_sim_now(s) * 1000 > last_seq ? sk_sim_now(s) * 1000 : last_seq + 1;
    last_seq = seq;
    struct sk_client_req r = {0, op, 0, (const uint8_t *)"printer", 7, (const uint8_t *)holder,
                              (uint32_t)strlen(holder), client, seq, 0};
    return sk_sim_request(s, client, node, &r, 2000);
}

TEST(exact_virtual_time_of_one_acquire)
{
    struct watch w;
    struct sk_sim *s = make(1, 5, &w);
    struct sk_link l = {.kind = SK_LAT_CONST, .a = 1};
    sk_sim_set_link(s, 0, 0, &l);
    ASSERT_EQ_INT(request(s, 1, 1, SK_OP_ACQUIRE, "beaver"), 0);
    sk_sim_run(s, 100, false, NULL);
    /* client 1 ms, prepare 1, promise 1, accept 1, accepted 1, reply 1 */
    ASSERT_EQ_INT(w.replies, 1);
    ASSERT_EQ_INT(w.last_reply_t, 6);
    ASSERT_EQ_INT(w.last_status, SK_ST_GRANTED);
    sk_sim_free(s);
}

/* A seeded mix of requests and faults; returns the event hash. */
static uint64_t scenario(uint64_t seed, struct watch *w)
{
    struct sk_sim *s = make(seed, 5, w);
    struct sk_link l = {.kind = SK_LAT_UNIFORM, .a = 1, .b = 9, .loss = 0.05, .dup = 0.05,
                        .reorder = 0.2, .reorder_ms = 20};
    sk_sim_set_link(s, 0, 0, &l);
    struct sk_rng r = {seed};
    static const char *holders[] = {"beaver", "giraffe", "alien"};
    for (int step = 0; step < 60; step++) {
        uint32_t node = 1 + (uint32_t)(sk_rng_next(&r) % 5);
        request(s, (uint32_t)(step % 3) + 1, node, (uint8_t)(1 + sk_rng_next(&r) % 2),
                holders[step % 3]);
        if (step % 15 == 7) {
            sk_sim_crash(s, node);
        }
        if (step % 15 == 12) {
            sk_sim_restart(s, node, false);
        }
        sk_sim_run(s, sk_sim_now(s) + 1 + sk_rng_next(&r) % 40, false, NULL);
    }
    for (uint32_t i = 1; i <= 5; i++) {
        sk_sim_restart(s, i, false);
    }
    sk_sim_run(s, sk_sim_now(s) + 5000, false, NULL);
    sk_sim_free(s);
    return w->hash;
}

TEST(same_seed_same_run_other_seed_other_run)
{
    struct watch a, b, c;
    uint64_t ha = scenario(42, &a);
    uint64_t hb = scenario(42, &b);
    uint64_t hc = scenario(43, &c);
    ASSERT_TRUE(a.events > 1000);
    ASSERT_TRUE(ha == hb);
    ASSERT_TRUE(a.events == b.events);
    ASSERT_TRUE(ha != hc);
}

TEST(promises_never_go_backwards_over_100_seeds)
{
    for (uint64_t seed = 1; seed <= 100; seed++) {
        struct watch w;
        scenario(seed, &w);
        TEST_CONTEXT("SEED=%llu", (unsigned long long)seed);
        if (w.violations != 0) {
            fprintf(stderr, "SEED=%llu: %s\n", (unsigned long long)seed, w.why);
        }
        ASSERT_EQ_INT(w.violations, 0);
        ASSERT_TRUE(w.replies == 60);
    }
}

TEST(three_of_five_down_times_out_and_restart_recovers)
{
    struct watch w;
    struct sk_sim *s = make(3, 5, &w);
    sk_sim_crash(s, 2);
    sk_sim_crash(s, 3);
    sk_sim_crash(s, 4);
    request(s, 1, 1, SK_OP_ACQUIRE, "beaver");
    sk_sim_run(s, 10000, false, NULL);
    ASSERT_EQ_INT(w.replies, 1);
    ASSERT_TRUE(w.last_status == SK_ST_UNAVAILABLE || w.last_status == SK_ST_TIMEOUT);
    sk_sim_restart(s, 2, false);
    sk_sim_restart(s, 3, false);
    request(s, 1, 1, SK_OP_ACQUIRE, "beaver");
    sk_sim_run(s, 20000, false, NULL);
    ASSERT_EQ_INT(w.replies, 2);
    ASSERT_EQ_INT(w.last_status, SK_ST_GRANTED);
    sk_sim_free(s);
}

TEST(paused_instance_catches_up_on_resume)
{
    struct watch w;
    struct sk_sim *s = make(5, 3, &w);
    sk_sim_pause(s, 1);
    request(s, 1, 1, SK_OP_ACQUIRE, "beaver");
    sk_sim_run(s, 500, false, NULL);
    ASSERT_EQ_INT(w.replies, 0);
    sk_sim_resume(s, 1);
    sk_sim_run(s, 1000, false, NULL);
    ASSERT_EQ_INT(w.replies, 1);
    ASSERT_EQ_INT(w.last_status, SK_ST_GRANTED);
    sk_sim_free(s);
}

TEST(client_links_per_client_and_instance)
{
    struct watch w;
    struct sk_sim *s = make(1, 5, &w);
    struct sk_link l = {.kind = SK_LAT_CONST, .a = 1};
    sk_sim_set_link(s, 0, 0, &l);
    /* client 1's requests to catbus take 300 ms; client 2 keeps 1 ms */
    struct sk_link slow = {.kind = SK_LAT_CONST, .a = 300};
    ASSERT_EQ_INT(sk_sim_set_client_link(s, 1, 1, SK_CLIENT_REQUESTS, &slow, SK_LINK_LATENCY), 0);
    struct sk_link got;
    sk_sim_get_client_link(s, 1, 1, SK_CLIENT_REQUESTS, &got);
    ASSERT_TRUE(got.a == 300);
    sk_sim_get_client_link(s, 1, 1, SK_CLIENT_ANSWERS, &got);
    ASSERT_TRUE(got.a == 1);
    sk_sim_get_client_link(s, 2, 1, SK_CLIENT_REQUESTS, &got);
    ASSERT_TRUE(got.a == 1);
    ASSERT_EQ_INT(request(s, 1, 1, SK_OP_ACQUIRE, "beaver"), 0);
    sk_sim_run(s, 1000, false, NULL);
    ASSERT_EQ_INT(w.replies, 1);
    ASSERT_EQ_INT(w.last_reply_t, 305);
    /* cut both ways for every client to kanta (those to come too): the request is
     * dropped and its client times out */
    struct sk_link cut = {.blocked = true};
    ASSERT_EQ_INT(sk_sim_set_client_link(s, 0, 2, SK_CLIENT_BOTH, &cut, SK_LINK_BLOCKED), 0);
    ASSERT_EQ_INT(request(s, 7, 2, SK_OP_ACQUIRE, "giraffe"), 0);
    sk_sim_run(s, 4000, false, NULL);
    ASSERT_EQ_INT(w.client_drops, 1);
    ASSERT_EQ_INT(w.replies, 2);
    ASSERT_EQ_INT(w.last_status, SK_ST_TIMEOUT);
    ASSERT_EQ_INT(w.decided, 1);
    /* the cut kept client 1's slow latency: only the field asked for changed */
    sk_sim_get_client_link(s, 1, 1, SK_CLIENT_REQUESTS, &got);
    ASSERT_TRUE(got.a == 300 && !got.blocked);
    sk_sim_get_client_link(s, 1, 2, SK_CLIENT_REQUESTS, &got);
    ASSERT_TRUE(got.blocked);
    ASSERT_EQ_INT(sk_sim_set_client_link(s, 0, SK_MAX_NODES + 1, SK_CLIENT_BOTH, &cut, 0), SK_EINVAL);
    sk_sim_free(s);
}

TEST(fail_fast_requests_hear_down_at_once)
{
    struct watch w;
    struct sk_sim *s = make(2, 5, &w);
    struct sk_link l = {.kind = SK_LAT_CONST, .a = 50};
    sk_sim_set_link(s, 0, 0, &l);
    struct sk_sim_req_opts o = {.timeout_ms = 2000, .attempt = 1, .fail_fast = true};
    /* refused: down when the request arrives */
    sk_sim_crash(s, 1);
    ASSERT_EQ_INT(request_opts(s, 1, 1, SK_OP_ACQUIRE, "beaver", &o), 0);
    sk_sim_run(s, 100, false, NULL);
    ASSERT_EQ_INT(w.replies, 1);
    ASSERT_EQ_INT(w.last_status, SK_ST_DOWN);
    ASSERT_EQ_INT(w.last_reply_t, 2);
    /* reset: it crashes with the request in hand (phase 1 takes 100 ms here) */
    ASSERT_EQ_INT(request_opts(s, 1, 2, SK_OP_ACQUIRE, "beaver", &o), 0);
    sk_sim_run(s, 130, false, NULL);
    sk_sim_crash(s, 2);
    sk_sim_run(s, 1000, false, NULL);
    ASSERT_EQ_INT(w.replies, 2);
    ASSERT_EQ_INT(w.last_status, SK_ST_DOWN);
    ASSERT_EQ_INT(w.last_reply_t, 131);
    /* paused, it holds the request; a crash then resets the connection too */
    sk_sim_pause(s, 3);
    uint64_t t0 = sk_sim_now(s);
    ASSERT_EQ_INT(request_opts(s, 1, 3, SK_OP_ACQUIRE, "beaver", &o), 0);
    sk_sim_run(s, t0 + 300, false, NULL);
    ASSERT_EQ_INT(w.replies, 2);
    sk_sim_crash(s, 3);
    sk_sim_run(s, t0 + 400, false, NULL);
    ASSERT_EQ_INT(w.replies, 3);
    ASSERT_EQ_INT(w.last_status, SK_ST_DOWN);
    ASSERT_EQ_INT(w.last_reply_t, t0 + 301);
    /* without fail_fast the client just times out */
    ASSERT_EQ_INT(request(s, 1, 1, SK_OP_ACQUIRE, "beaver"), 0);
    sk_sim_run(s, 5000, false, NULL);
    ASSERT_EQ_INT(w.replies, 4);
    ASSERT_EQ_INT(w.last_status, SK_ST_TIMEOUT);
    sk_sim_free(s);
}

TEST(abandoned_copy_still_runs_and_its_answer_is_late)
{
    struct watch w;
    struct sk_sim *s = make(3, 5, &w);
    struct sk_link l = {.kind = SK_LAT_CONST, .a = 1};
    sk_sim_set_link(s, 0, 0, &l);
    struct sk_link slow = {.kind = SK_LAT_CONST, .a = 500};
    sk_sim_set_client_link(s, 1, 1, SK_CLIENT_REQUESTS, &slow, SK_LINK_LATENCY);
    struct sk_sim_req_opts o = {.timeout_ms = 100, .attempt = 1};
    ASSERT_EQ_INT(request_opts(s, 1, 1, SK_OP_ACQUIRE, "beaver", &o), 0);
    sk_sim_run(s, 200, false, NULL);
    ASSERT_EQ_INT(w.replies, 1);
    ASSERT_EQ_INT(w.last_status, SK_ST_TIMEOUT);
    ASSERT_EQ_INT(w.last_reply_t, 100);
    ASSERT_EQ_INT(w.decided, 0);
    sk_sim_run(s, 2000, false, NULL);
    ASSERT_EQ_INT(w.decided, 1); /* the copy arrived at 500 and ran */
    ASSERT_EQ_INT(w.late, 1);
    ASSERT_EQ_INT(w.last_late_t, 505);
    ASSERT_EQ_INT(w.last_late_status, SK_ST_GRANTED);
    ASSERT_EQ_INT(w.replies, 1); /* not queued for the client */
    struct sk_sim_reply r;
    ASSERT_TRUE(sk_sim_next_reply(s, &r));
    ASSERT_EQ_INT(r.status, SK_ST_TIMEOUT);
    ASSERT_FALSE(sk_sim_next_reply(s, &r));
    sk_sim_free(s);
}
