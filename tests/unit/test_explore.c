/* test_explore.c - the explorer (runtime/explore/explore.h): every
 * interleaving of three nodes and two clients, with a fault budget; the C
 * defaults come back clean, classic mode is caught with a short path.
 *
 * The figures (states, depth, time, states/s) are printed as "# " lines;
 * SKINNY_EXPLORE_DEPTH raises the depth bound of the timed search. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explore/explore.h"
#include "runner.h"
#include "sim/sim.h"
#include "sk.h"

/* Under AddressSanitizer a search runs about 8 times slower: the big ones
 * are cut to a depth bound there (memory safety is what they check then). */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

/* Three nodes; c1 acquires at node 1, c2 at node 2. */
static struct sk_explore_config two_acquires(uint32_t classic, uint32_t drops, uint32_t dups)
{
    struct sk_explore_config g = {0};
    g.nodes = 3;
    g.classic = classic;
    g.n_clients = 2;
    g.clients[0] = (struct sk_explore_client){1, NULL, 1, {SK_OP_ACQUIRE}};
    g.clients[1] = (struct sk_explore_client){2, NULL, 1, {SK_OP_ACQUIRE}};
    g.max_drops = drops;
    g.max_dups = dups;
    return g;
}

static void report(const char *what, const struct sk_explore_result *r)
{
    printf("# %s: %llu distinct configurations (%llu expanded, %llu transitions, %llu node "
           "states), depth %u, %.2f s, %.0f states/s: %s%s\n",
           what, (unsigned long long)r->distinct, (unsigned long long)r->expanded,
           (unsigned long long)r->transitions, (unsigned long long)r->node_states, r->depth,
           r->seconds, r->seconds > 0 ? (double)r->distinct / r->seconds : 0.0,
           r->violation ? "VIOLATION: " : "no violation",
           r->violation ? r->what
           : (r->depth_bound || r->state_bound) ? " within these bounds (bound reached: not a proof)"
                                                 : " (the whole space)");
}

static int put_stdout(void *ud, const void *p, size_t n)
{
    (void)ud;
    /* "# " before every line, so the runner's output stays parseable */
    static bool line_start = true;
    const char *s = p;
    for (size_t i = 0; i < n; i++) {
        if (line_start) {
            fputs("#   ", stdout);
        }
        putchar(s[i]);
        line_start = s[i] == '\n';
    }
    return 0;
}

static int put_count(void *ud, const void *p, size_t n)
{
    (void)p;
    *(size_t *)ud += n;
    return 0;
}

TEST(defaults_without_timers_the_whole_space_is_clean)
{
    /* no timeouts, so no retries: the space is finite and searched whole */
    struct sk_explore_config g = two_acquires(0, 1, 1);
    g.no_timers = true;
    g.max_depth = SANITIZED ? 11 : 0;
    struct sk_explorer *x = sk_explore_new(&g, NULL, 0);
    ASSERT_NOT_NULL(x);
    struct sk_explore_result r;
    ASSERT_EQ_INT(sk_explore_run(x, &r), 0);
    report("defaults, 3 nodes, 2 acquires, 1 loss + 1 duplication, no timers", &r);
    ASSERT_FALSE(r.violation);
    ASSERT_FALSE(r.state_bound);
    if (!SANITIZED) {
        ASSERT_FALSE(r.depth_bound);
        ASSERT_TRUE(r.distinct > 100000);
        ASSERT_EQ_U64(r.expanded, r.distinct);
    }
    sk_explore_free(x);
}

TEST(defaults_with_timers_are_clean_within_the_depth_bound)
{
    /* timeouts, retries and backoff: every node's timer may fire at any
     * point; the space is finite (the default proposer gives up after 8
     * attempts) but too large to search whole here */
    struct sk_explore_config g = two_acquires(0, 1, 1);
    const char *d = getenv("SKINNY_EXPLORE_DEPTH");
    g.max_depth = d != NULL && atoi(d) > 0 ? (uint32_t)atoi(d) : SANITIZED ? 8 : 10;
    struct sk_explorer *x = sk_explore_new(&g, NULL, 0);
    ASSERT_NOT_NULL(x);
    struct sk_explore_result r;
    ASSERT_EQ_INT(sk_explore_run(x, &r), 0);
    char what[128];
    snprintf(what, sizeof what, "defaults, 3 nodes, 2 acquires, 1 loss + 1 duplication, timers, "
                                "depth <= %u", g.max_depth);
    report(what, &r);
    ASSERT_FALSE(r.violation);
    ASSERT_TRUE(r.depth_bound); /* reported, never mistaken for a proof */
    ASSERT_EQ_INT((int)r.depth, (int)g.max_depth);
    sk_explore_free(x);
}

/* Search, expect a violation within max_len steps, print the path and
 * check that replaying it violates again. */
static void caught(uint32_t classic, const char *name, size_t max_len)
{
    struct sk_explore_config g = two_acquires(classic, 1, 1);
    g.max_depth = 16;
    struct sk_explorer *x = sk_explore_new(&g, NULL, 0);
    ASSERT_NOT_NULL(x);
    struct sk_explore_result r;
    ASSERT_EQ_INT(sk_explore_run(x, &r), 0);
    report(name, &r);
    ASSERT_TRUE(r.violation);
    ASSERT_TRUE(r.path_len >= 1);
    ASSERT_TRUE(r.path_len <= max_len);
    printf("# the shortest counterexample, %zu steps:\n", r.path_len);
    bool violated = false;
    ASSERT_EQ_INT(sk_explore_replay(x, r.path, r.path_len, put_stdout, NULL, &violated), 0);
    ASSERT_TRUE(violated);
    /* one step less is not a violation (and BFS found no shorter path) */
    size_t n = 0;
    ASSERT_EQ_INT(sk_explore_replay(x, r.path, r.path_len - 1, put_count, &n, &violated), 0);
    ASSERT_FALSE(violated);
    ASSERT_TRUE(n > 0);
    sk_explore_free(x);
}

TEST(classic_answer_local_double_grant_is_found_with_a_short_path)
{
    RUN(caught(SK_CLASSIC_ANSWER_LOCAL, "classic F1 (answer whatever phase 2 said)", 12));
}

TEST(classic_ack_rejected_double_grant_is_found_with_a_short_path)
{
    RUN(caught(SK_CLASSIC_ACK_REJECTED, "classic F5 (acknowledge a rejected accept)", 12));
}

TEST(a_release_between_two_grants_is_not_a_violation)
{
    /* c1 acquires then releases, c2 acquires: both may be granted, never
     * while c1 still holds */
    struct sk_explore_config g = two_acquires(0, 0, 0);
    g.clients[0].n_ops = 2;
    g.clients[0].ops[1] = SK_OP_RELEASE;
    g.no_timers = true;
    g.max_depth = 14; /* the whole space (depth 27, 8.7 million) takes 1.5 minutes */
    struct sk_explorer *x = sk_explore_new(&g, NULL, 0);
    ASSERT_NOT_NULL(x);
    struct sk_explore_result r;
    ASSERT_EQ_INT(sk_explore_run(x, &r), 0);
    report("defaults, c1 acquire + release, c2 acquire, no faults, no timers, depth <= 14", &r);
    ASSERT_FALSE(r.violation);
    sk_explore_free(x);
    /* the same with answer-local: c2 can be granted while c1 holds */
    g.classic = SK_CLASSIC_ANSWER_LOCAL;
    x = sk_explore_new(&g, NULL, 0);
    ASSERT_NOT_NULL(x);
    ASSERT_EQ_INT(sk_explore_run(x, &r), 0);
    ASSERT_TRUE(r.violation);
    sk_explore_free(x);
}

TEST(state_bound_is_reported)
{
    struct sk_explore_config g = two_acquires(0, 1, 1);
    g.max_states = 5000;
    struct sk_explorer *x = sk_explore_new(&g, NULL, 0);
    ASSERT_NOT_NULL(x);
    struct sk_explore_result r;
    ASSERT_EQ_INT(sk_explore_run(x, &r), 0);
    ASSERT_TRUE(r.state_bound);
    ASSERT_FALSE(r.violation);
    ASSERT_EQ_U64(r.distinct, 5000);
    /* a second run of the same explorer starts afresh */
    struct sk_explore_result r2;
    ASSERT_EQ_INT(sk_explore_run(x, &r2), 0);
    ASSERT_EQ_U64(r2.distinct, r.distinct);
    ASSERT_EQ_U64(r2.transitions, r.transitions);
    sk_explore_free(x);
}

TEST(bad_configurations_are_refused_with_a_reason)
{
    char why[128];
    struct sk_explore_config g = two_acquires(0, 0, 0);
    g.clients[1].node = 4;
    ASSERT_NULL(sk_explore_new(&g, why, sizeof why));
    ASSERT_TRUE(strstr(why, "node") != NULL);
    g = two_acquires(0, 0, 0);
    g.clients[0].ops[0] = SK_OP_RENEW;
    ASSERT_NULL(sk_explore_new(&g, why, sizeof why));
    ASSERT_TRUE(strstr(why, "acquire or release") != NULL);
    g = two_acquires(0, 0, 0);
    g.nodes = SK_EXPLORE_MAX_NODES + 1;
    ASSERT_NULL(sk_explore_new(&g, why, sizeof why));
}

TEST(a_replayed_step_that_is_not_enabled_is_refused)
{
    struct sk_explore_config g = two_acquires(0, 0, 0);
    struct sk_explorer *x = sk_explore_new(&g, NULL, 0);
    ASSERT_NOT_NULL(x);
    struct sk_explore_step bad[] = {{SK_X_TIMER, 1}}; /* nothing pending at node 1 */
    size_t n = 0;
    ASSERT_EQ_INT(sk_explore_replay(x, bad, 1, put_count, &n, NULL), SK_EINVAL);
    struct sk_explore_step twice[] = {{SK_X_REQUEST, 0}, {SK_X_REQUEST, 0}};
    ASSERT_EQ_INT(sk_explore_replay(x, twice, 2, put_count, &n, NULL), SK_EINVAL);
    sk_explore_free(x);
}

TEST(crashes_with_state_and_rejoins_after_state_loss_are_clean)
{
    /* one crash anywhere in the interleaving: with the durable state (the
     * registers and node record a step leaves), or blank (it rejoins) */
    struct sk_explore_config g = two_acquires(0, 0, 0);
    g.no_timers = true;
    g.max_depth = SANITIZED ? 10 : 0;
    for (int wipe = 0; wipe <= 1; wipe++) {
        g.max_crashes = wipe ? 0 : 1;
        g.max_wipes = wipe ? 1 : 0;
        struct sk_explorer *x = sk_explore_new(&g, NULL, 0);
        ASSERT_NOT_NULL(x);
        struct sk_explore_result r;
        ASSERT_EQ_INT(sk_explore_run(x, &r), 0);
        report(wipe ? "defaults, 2 acquires, 1 crash with state lost (rejoins), no timers"
                    : "defaults, 2 acquires, 1 crash with state, no timers",
               &r);
        ASSERT_FALSE(r.violation);
        ASSERT_FALSE(r.state_bound);
        if (!SANITIZED) {
            ASSERT_FALSE(r.depth_bound);
            ASSERT_TRUE(r.distinct > 100000);
        }
        sk_explore_free(x);
    }
}

TEST(a_blank_restart_that_votes_at_once_grants_twice)
{
    /* the original's flaw: an instance that lost its state votes again as
     * if it had never promised anything */
    struct sk_explore_config g = two_acquires(0, 0, 0);
    g.no_timers = true;
    g.max_wipes = 1;
    g.blank_votes = true;
    struct sk_explorer *x = sk_explore_new(&g, NULL, 0);
    ASSERT_NOT_NULL(x);
    struct sk_explore_result r;
    ASSERT_EQ_INT(sk_explore_run(x, &r), 0);
    report("defaults, 1 crash with state lost voting at once", &r);
    ASSERT_TRUE(r.violation);
    bool wiped = false;
    for (size_t k = 0; k < r.path_len; k++) {
        wiped = wiped || r.path[k].kind == SK_X_WIPE;
    }
    ASSERT_TRUE(wiped);
    bool violated = false;
    size_t n = 0;
    ASSERT_EQ_INT(sk_explore_replay(x, r.path, r.path_len, put_count, &n, &violated), 0);
    ASSERT_TRUE(violated);
    sk_explore_free(x);
}

TEST(failover_resends_the_same_request_and_stays_clean)
{
    /* a client with no answer sends the same request (same identity) to
     * another node: two proposers for one request, never two grants */
    struct sk_explore_config g = two_acquires(0, 0, 0);
    g.no_timers = true;
    g.max_failovers = 1;
    g.max_depth = SANITIZED ? 8 : 10;
    struct sk_explorer *x = sk_explore_new(&g, NULL, 0);
    ASSERT_NOT_NULL(x);
    struct sk_explore_result r;
    ASSERT_EQ_INT(sk_explore_run(x, &r), 0);
    report("defaults, 2 acquires, 1 failover, no timers, bounded depth", &r);
    ASSERT_FALSE(r.violation);
    ASSERT_TRUE(r.depth_bound);
    sk_explore_free(x);
    /* a failover is a step only while the request is unanswered */
    x = sk_explore_new(&g, NULL, 0);
    ASSERT_NOT_NULL(x);
    struct sk_explore_step early[] = {{SK_X_FAILOVER, 0 << 8 | 2}};
    size_t n = 0;
    ASSERT_EQ_INT(sk_explore_replay(x, early, 1, put_count, &n, NULL), SK_EINVAL);
    struct sk_explore_step same[] = {{SK_X_REQUEST, 0}, {SK_X_FAILOVER, 0 << 8 | 1}};
    ASSERT_EQ_INT(sk_explore_replay(x, same, 2, put_count, &n, NULL), SK_EINVAL);
    struct sk_explore_step ok[] = {{SK_X_REQUEST, 0}, {SK_X_FAILOVER, 0 << 8 | 3}};
    ASSERT_EQ_INT(sk_explore_replay(x, ok, 2, put_count, &n, NULL), 0);
    struct sk_explore_step twice[] = {{SK_X_REQUEST, 0}, {SK_X_FAILOVER, 0 << 8 | 3},
                                      {SK_X_FAILOVER, 0 << 8 | 2}};
    ASSERT_EQ_INT(sk_explore_replay(x, twice, 3, put_count, &n, NULL), SK_EINVAL);
    sk_explore_free(x);
}

struct evcount {
    int invoke, complete, granted, send, recv, fault, resend;
    uint64_t last_t;
    bool ordered;
};

static void count_event(void *ud, const struct sk_sim_event *e)
{
    struct evcount *c = ud;
    c->ordered = c->ordered && e->t >= c->last_t;
    c->last_t = e->t;
    switch (e->kind) {
    case SK_EV_INVOKE:
        c->invoke++;
        c->resend += e->attempt > 1 && e->resend_of == e->req->req_id;
        break;
    case SK_EV_COMPLETE:
        c->complete++;
        c->granted += e->reply->status == SK_ST_GRANTED;
        break;
    case SK_EV_SEND: c->send++; break;
    case SK_EV_RECV: c->recv++; break;
    case SK_EV_FAULT: c->fault++; break;
    default: break;
    }
}

TEST(a_counterexample_replays_as_simulator_events)
{
    struct sk_explore_config g = two_acquires(SK_CLASSIC_ANSWER_LOCAL, 0, 0);
    struct sk_explorer *x = sk_explore_new(&g, NULL, 0);
    ASSERT_NOT_NULL(x);
    struct sk_explore_result r;
    ASSERT_EQ_INT(sk_explore_run(x, &r), 0);
    ASSERT_TRUE(r.violation);
    struct evcount c = {.ordered = true};
    ASSERT_EQ_INT(sk_explore_events(x, r.path, r.path_len, count_event, &c), 0);
    ASSERT_EQ_INT(c.invoke, 2);
    ASSERT_EQ_INT(c.granted, 2); /* the double grant, as the trace shows it */
    ASSERT_TRUE(c.send >= c.recv && c.recv > 0);
    ASSERT_TRUE(c.ordered);
    ASSERT_EQ_U64(c.last_t, r.path_len); /* step k at time k */
    /* failovers are resends of the same request; crashes are faults */
    struct sk_explore_step p[] = {{SK_X_REQUEST, 0}, {SK_X_CRASH, 1}, {SK_X_FAILOVER, 0 << 8 | 2}};
    g = two_acquires(0, 0, 0);
    g.max_crashes = 1;
    g.max_failovers = 1;
    sk_explore_free(x);
    x = sk_explore_new(&g, NULL, 0);
    ASSERT_NOT_NULL(x);
    c = (struct evcount){.ordered = true};
    ASSERT_EQ_INT(sk_explore_events(x, p, 3, count_event, &c), 0);
    ASSERT_EQ_INT(c.invoke, 2);
    ASSERT_EQ_INT(c.resend, 1);
    ASSERT_EQ_INT(c.fault, 1);
    sk_explore_free(x);
}

/* A history checker that refuses any history in which a client was
 * refused, and counts its calls. */
struct refusals {
    int calls;
    bool saw_order;
};

static bool no_refusal(void *ud, const struct sk_explore_history *h, char *what, size_t len)
{
    struct refusals *rf = ud;
    rf->calls++;
    for (uint32_t k = 0; k < h->n_clients; k++) {
        for (uint32_t j = 0; j < h->c[k].n_sent; j++) {
            if (h->c[k].complete[j] != 0) {
                rf->saw_order = rf->saw_order || h->c[k].complete[j] > h->c[k].invoke[j];
            }
            if (h->c[k].status[j] == SK_ST_REFUSED) {
                snprintf(what, len, "client %u was refused (holder: client %u)", k + 1,
                         h->c[k].by[j]);
                return false;
            }
        }
    }
    return true;
}

TEST(a_history_checker_runs_where_answers_arrive_and_its_verdict_stops_the_search)
{
    struct sk_explore_config g = two_acquires(0, 0, 0);
    g.no_timers = true;
    struct refusals rf = {0, false};
    g.check = no_refusal;
    g.check_ud = &rf;
    struct sk_explorer *x = sk_explore_new(&g, NULL, 0);
    ASSERT_NOT_NULL(x);
    struct sk_explore_result r;
    ASSERT_EQ_INT(sk_explore_run(x, &r), 0);
    ASSERT_TRUE(r.violation);
    ASSERT_TRUE(strstr(r.what, "client 2 was refused (holder: client 1)") != NULL ||
                strstr(r.what, "client 1 was refused (holder: client 2)") != NULL);
    ASSERT_TRUE(rf.calls > 0);
    ASSERT_EQ_U64(r.histories, (uint64_t)rf.calls);
    ASSERT_TRUE(rf.saw_order);
    /* the shortest path to a refusal: a grant (5 steps), then the other's
     * request and a round trip that learns of it */
    printf("# a refusal, found in %zu steps\n", r.path_len);
    ASSERT_TRUE(r.path_len >= 7 && r.path_len <= 11);
    bool violated = false;
    size_t n = 0;
    ASSERT_EQ_INT(sk_explore_replay(x, r.path, r.path_len, put_count, &n, &violated), 0);
    ASSERT_TRUE(violated);
    ASSERT_EQ_INT(sk_explore_replay(x, r.path, r.path_len - 1, put_count, &n, &violated), 0);
    ASSERT_FALSE(violated);
    sk_explore_free(x);
}
