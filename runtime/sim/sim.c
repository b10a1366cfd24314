/* sim.c - the deterministic simulator (sim.h).
 *
 * One virtual clock and one binary heap of events ordered by (time, seq),
 * the seq breaking ties in insertion order as libuv's timers do. Every
 * random choice (latency, loss, duplication, reordering) comes from one
 * splitmix64 seeded by the run's seed; nodes get their own generators. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "sim/sim.h"
#include "store/store.h"

enum ev_kind {
    E_DELIVER = 1, /* frame from a to b */
    E_TICK = 2,    /* node a, generation b */
    E_CLIENT = 3,  /* request index a reaches its node */
    E_REPLY = 4,   /* reply index a reaches its client */
    E_TIMEOUT = 5, /* request index a: the client stops waiting */
    E_USER = 6,    /* cookie in a */
};

struct ev {
    uint64_t t;
    uint64_t seq;
    uint8_t kind;
    uint32_t from, to;
    uint64_t a, b;
    uint8_t *frame; /* owned, for E_DELIVER */
    uint32_t len;
};

struct simnode {
    struct sk_node *core; /* NULL while crashed */
    struct sk_config cfg;
    char name[64];
    const struct sk_strategy *st;
    struct sk_memstore *store;
    bool paused;
    int64_t skew;
    uint64_t tick_at;  /* sim time of the scheduled tick, UINT64_MAX: none */
    uint64_t tick_gen;
    uint64_t restarts;
    struct ev *held; /* deliveries and client requests held while paused */
    size_t n_held, cap_held;
};

/* A client request in flight. */
struct creq {
    uint64_t req_id;
    uint32_t client, node;
    uint8_t op;
    uint32_t ttl_ms;
    uint64_t cid, cseq, fence; /* the request's identity and fencing token */
    uint32_t key_len, holder_len;
    uint8_t key[SK_KEY_MAX];
    uint8_t holder[SK_HOLDER_MAX];
    bool fail_fast; /* sk_sim_req_opts */
    bool arrived;   /* handed to the node's core */
    bool answered;  /* the node's answer is on its way (or was lost on the link) */
    bool done;      /* the client stopped waiting: answered or timed out */
    struct sk_sim_reply reply; /* once answered by the node */
};

/* A client's links to every instance: way[0] requests, way[1] answers. */
struct clink {
    struct sk_link way[2][SK_MAX_NODES + 1];
};

struct sk_sim {
    uint64_t now;
    uint64_t seq;
    uint64_t msg_ids;
    struct sk_rng rng;
    struct simnode nodes[SK_MAX_NODES + 1];
    uint32_t n;
    struct sk_link links[SK_MAX_NODES + 1][SK_MAX_NODES + 1];
    struct clink cl_default; /* clients with no links of their own */
    struct clink *cl;        /* per client id - 1, grown when one is set */
    uint32_t n_cl;
    struct ev *heap;
    size_t n_heap, cap_heap;
    struct creq *reqs;
    size_t n_reqs, cap_reqs;
    struct sk_sim_reply *replies; /* unread, FIFO */
    size_t n_replies, cap_replies, head_replies;
    sk_sim_event_cb cb;
    void *cb_ud;
    struct sk_sim_stats stats;
    bool reply_arrived;
};

/* ------------------------------------------------------------------ heap */

static bool ev_less(const struct ev *x, const struct ev *y)
{
    return x->t < y->t || (x->t == y->t && x->seq < y->seq);
}

static void oom(void)
{
    fprintf(stderr, "skinny sim: out of memory\n");
    abort();
}

static void push(struct sk_sim *s, struct ev e)
{
    if (s->n_heap == s->cap_heap) {
        size_t cap = s->cap_heap ? s->cap_heap * 2 : 256;
        struct ev *h = sk__realloc(s->heap, cap * sizeof *h);
        if (h == NULL) {
            oom();
        }
        s->heap = h;
        s->cap_heap = cap;
    }
    e.seq = s->seq++;
    size_t i = s->n_heap++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!ev_less(&e, &s->heap[parent])) {
            break;
        }
        s->heap[i] = s->heap[parent];
        i = parent;
    }
    s->heap[i] = e;
}

static struct ev pop(struct sk_sim *s)
{
    struct ev top = s->heap[0];
    struct ev last = s->heap[--s->n_heap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s->n_heap) {
            break;
        }
        if (c + 1 < s->n_heap && ev_less(&s->heap[c + 1], &s->heap[c])) {
            c++;
        }
        if (!ev_less(&s->heap[c], &last)) {
            break;
        }
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (s->n_heap > 0) {
        s->heap[i] = last;
    }
    return top;
}

/* ---------------------------------------------------------------- events */

static void emit(struct sk_sim *s, struct sk_sim_event *e)
{
    if (s->cb != NULL) {
        e->t = s->now;
        s->cb(s->cb_ud, e);
    }
}

static void emit_msg(struct sk_sim *s, uint8_t kind, uint32_t node, uint32_t peer,
                     uint64_t msg_id, const uint8_t *frame, size_t len, const char *text)
{
    if (s->cb == NULL) {
        return;
    }
    struct sk_msg m;
    if (sk_msg_decode(frame, len, &m) <= 0) {
        abort(); /* frames in the queue were encoded by a core */
    }
    struct sk_sim_event e = {0};
    e.kind = kind;
    e.node = node;
    e.peer = peer;
    e.msg_id = msg_id;
    e.msg = &m;
    e.text = text;
    emit(s, &e);
}

void sk_sim_fault_note(struct sk_sim *s, uint32_t node, const char *text)
{
    struct sk_sim_event e = {0};
    e.kind = SK_EV_FAULT;
    e.node = node;
    e.text = text;
    emit(s, &e);
}

/* --------------------------------------------------------------- helpers */

static uint64_t local_time(const struct sk_sim *s, const struct simnode *nd)
{
    int64_t t = (int64_t)s->now + nd->skew;
    return t < 0 ? 0 : (uint64_t)t;
}

static double unit(struct sk_sim *s)
{
    return sk_rng_unit(&s->rng);
}

static uint64_t sample_latency(struct sk_sim *s, const struct sk_link *l)
{
    double d;
    switch (l->kind) {
    case SK_LAT_UNIFORM: d = l->a + (l->b - l->a) * unit(s); break;
    case SK_LAT_EXP: d = l->a - l->b * log(1.0 - unit(s)); break;
    default: d = l->a; break;
    }
    if (l->reorder > 0 && unit(s) < l->reorder) {
        d += l->reorder_ms * unit(s);
    }
    if (d < 0) {
        d = 0;
    }
    if (d > 1e9) {
        d = 1e9;
    }
    return (uint64_t)llround(d);
}

static void schedule_tick(struct sk_sim *s, uint32_t id, uint64_t wakeup_local)
{
    struct simnode *nd = &s->nodes[id];
    if (wakeup_local == UINT64_MAX) {
        nd->tick_at = UINT64_MAX;
        return;
    }
    int64_t t = (int64_t)wakeup_local - nd->skew;
    uint64_t at = t < (int64_t)s->now ? s->now : (uint64_t)t;
    if (at == nd->tick_at) {
        return;
    }
    nd->tick_at = at;
    nd->tick_gen++;
    push(s, (struct ev){.t = at, .kind = E_TICK, .a = id, .b = nd->tick_gen});
}

static void send_frame(struct sk_sim *s, uint32_t from, uint32_t to, const uint8_t *frame,
                       uint32_t len)
{
    uint64_t id = ++s->msg_ids;
    s->stats.sent++;
    emit_msg(s, SK_EV_SEND, from, to, id, frame, len, NULL);
    if (to < 1 || to > s->n) {
        return;
    }
    const struct sk_link *l = &s->links[from][to];
    if (l->blocked) {
        s->stats.dropped++;
        emit_msg(s, SK_EV_DROP, from, to, id, frame, len, "partition");
        return;
    }
    if (l->loss > 0 && unit(s) < l->loss) {
        s->stats.dropped++;
        emit_msg(s, SK_EV_DROP, from, to, id, frame, len, "loss");
        return;
    }
    int copies = 1;
    if (l->dup > 0 && unit(s) < l->dup) {
        copies = 2;
        s->stats.duplicated++;
        emit_msg(s, SK_EV_DUP, from, to, id, frame, len, NULL);
    }
    for (int c = 0; c < copies; c++) {
        uint8_t *f = sk__malloc(len);
        if (f == NULL) {
            oom();
        }
        memcpy(f, frame, len);
        push(s, (struct ev){.t = s->now + sample_latency(s, l), .kind = E_DELIVER, .from = from,
                            .to = to, .a = id, .frame = f, .len = len});
    }
}

static const struct sk_link *client_link(const struct sk_sim *s, uint32_t client, uint32_t node,
                                        int way)
{
    const struct clink *c = client >= 1 && client <= s->n_cl ? &s->cl[client - 1] : &s->cl_default;
    return &c->way[way == SK_CLIENT_ANSWERS ? 1 : 0][node <= SK_MAX_NODES ? node : 0];
}

/* Is request ri (way SK_CLIENT_REQUESTS) or its answer lost on the client's
 * link? Draws from the generator only when the link can lose anything. */
static bool client_lost(struct sk_sim *s, size_t ri, const struct sk_link *l, int way)
{
    const char *why = NULL;
    if (l->blocked) {
        why = "cut";
    } else if (l->loss > 0 && unit(s) < l->loss) {
        why = "loss";
    }
    if (why == NULL) {
        return false;
    }
    s->stats.dropped++;
    if (s->cb != NULL) {
        struct creq *cr = &s->reqs[ri];
        struct sk_sim_event e = {0};
        e.kind = SK_EV_CLIENT_DROP;
        e.node = cr->node;
        e.client = cr->client;
        e.msg_id = cr->req_id;
        e.way = (uint8_t)way;
        e.text = why;
        emit(s, &e);
    }
    return true;
}

static void client_answer(struct sk_sim *s, size_t ri, const struct sk_reply *r)
{
    struct creq *cr = &s->reqs[ri];
    struct sk_sim_reply *rep = &cr->reply;
    if (cr->answered) {
        return; /* one answer per request */
    }
    cr->answered = true;
    memset(rep, 0, sizeof *rep);
    rep->req_id = cr->req_id;
    rep->client = cr->client;
    rep->node = cr->node;
    rep->status = r->status;
    rep->token = r->token;
    rep->waited = r->waited;
    snprintf(rep->holder, sizeof rep->holder, "%s", r->holder ? r->holder : "");
    snprintf(rep->text, sizeof rep->text, "%s", r->text ? r->text : "");
    const struct sk_link *l = client_link(s, cr->client, cr->node, SK_CLIENT_ANSWERS);
    if (client_lost(s, ri, l, SK_CLIENT_ANSWERS)) {
        return; /* the client hears nothing */
    }
    push(s, (struct ev){.t = s->now + sample_latency(s, l), .kind = E_REPLY, .a = ri});
}

/* A fail-fast request finds its instance down: refused, or reset. */
static void answer_down(struct sk_sim *s, size_t ri, const char *how)
{
    struct creq *cr = &s->reqs[ri];
    char text[SK_TEXT_MAX];
    snprintf(text, sizeof text, "%s: %s is down", how, s->nodes[cr->node].name);
    struct sk_reply rep = {0};
    rep.req_id = cr->req_id;
    rep.status = SK_ST_DOWN;
    rep.text = text;
    client_answer(s, ri, &rep);
}

static size_t find_req(const struct sk_sim *s, uint32_t node, uint64_t req_id)
{
    /* request ids are the index + 1: see sk_sim_request */
    size_t ri = (size_t)(req_id - 1);
    if (req_id == 0 || ri >= s->n_reqs || s->reqs[ri].node != node) {
        return SIZE_MAX;
    }
    return ri;
}

/* Run what a node's core asked for: persist first, then send and reply. */
static void drain(struct sk_sim *s, uint32_t id)
{
    struct simnode *nd = &s->nodes[id];
    struct sk_actions a;
    if (nd->core == NULL) {
        return;
    }
    bool any = sk_node_actions(nd->core, &a);
    for (size_t i = 0; any && i < a.n_persist; i++) {
        if (sk_memstore_put(nd->store, &a.persist[i]) != 0) {
            oom();
        }
        /* the node record is not a register: its changes show as rejoin notes */
        if (s->cb != NULL && a.persist[i].key_len > 0) {
            struct sk_sim_event e = {0};
            e.kind = SK_EV_PERSIST;
            e.node = id;
            e.persist = &a.persist[i];
            emit(s, &e);
        }
    }
    for (size_t i = 0; any && i < a.n_note; i++) {
        if (s->cb != NULL) {
            struct sk_sim_event e = {0};
            e.kind = SK_EV_NOTE;
            e.node = id;
            e.note = &a.note[i];
            emit(s, &e);
        }
    }
    for (size_t i = 0; any && i < a.n_send; i++) {
        send_frame(s, id, a.send[i].to, a.send[i].frame, a.send[i].len);
    }
    for (size_t i = 0; any && i < a.n_reply; i++) {
        size_t ri = find_req(s, id, a.reply[i].req_id);
        if (ri != SIZE_MAX) {
            client_answer(s, ri, &a.reply[i]);
        }
    }
    schedule_tick(s, id, a.wakeup_ms);
    sk_node_advance(nd->core);
}

static void start_core(struct sk_sim *s, uint32_t id, bool rejoin)
{
    struct simnode *nd = &s->nodes[id];
    struct sk_config cfg = nd->cfg;
    cfg.rejoin = rejoin;
    cfg.name = nd->name;
    /* a restarted node draws fresh numbers, still from the run's seed */
    cfg.seed = nd->cfg.seed + nd->restarts * 0x9e3779b97f4a7c15ull;
    nd->core = sk_node_new(&cfg, nd->st, local_time(s, nd));
    if (nd->core == NULL) {
        oom();
    }
    size_t cur = 0;
    struct sk_persist p;
    while (sk_memstore_next(nd->store, &cur, &p)) {
        if (sk_node_restore(nd->core, &p) != 0) {
            oom();
        }
    }
    nd->tick_at = UINT64_MAX;
    drain(s, id); /* the first batch: a member's node record, a rejoin's start */
}

/* ------------------------------------------------------------ public API */

struct sk_sim *sk_sim_new(uint64_t seed)
{
    struct sk_sim *s = sk__malloc(sizeof *s);
    if (s == NULL) {
        return NULL;
    }
    memset(s, 0, sizeof *s);
    s->rng.state = seed;
    for (size_t i = 0; i <= SK_MAX_NODES; i++) {
        for (size_t j = 0; j <= SK_MAX_NODES; j++) {
            s->links[i][j] = (struct sk_link){.kind = SK_LAT_UNIFORM, .a = 1, .b = 3};
        }
        for (size_t w = 0; w < 2; w++) {
            s->cl_default.way[w][i] = (struct sk_link){.kind = SK_LAT_CONST, .a = 1, .b = 1};
        }
    }
    return s;
}

void sk_sim_free(struct sk_sim *s)
{
    if (s == NULL) {
        return;
    }
    for (uint32_t i = 1; i <= s->n; i++) {
        struct simnode *nd = &s->nodes[i];
        sk_node_free(nd->core);
        sk_memstore_free(nd->store);
        for (size_t j = 0; j < nd->n_held; j++) {
            sk__free(nd->held[j].frame);
        }
        sk__free(nd->held);
    }
    for (size_t i = 0; i < s->n_heap; i++) {
        sk__free(s->heap[i].frame);
    }
    sk__free(s->heap);
    sk__free(s->cl);
    sk__free(s->reqs);
    sk__free(s->replies);
    sk__free(s);
}

int sk_sim_add_node(struct sk_sim *s, const struct sk_config *cfg, const struct sk_strategy *st)
{
    if (s->n >= SK_MAX_NODES || cfg->id != s->n + 1) {
        return SK_EINVAL;
    }
    uint32_t id = ++s->n;
    struct simnode *nd = &s->nodes[id];
    memset(nd, 0, sizeof *nd);
    nd->cfg = *cfg;
    snprintf(nd->name, sizeof nd->name, "%s", cfg->name ? cfg->name : "node");
    nd->st = st;
    nd->store = sk_memstore_new();
    if (nd->store == NULL) {
        return SK_ENOMEM;
    }
    start_core(s, id, false); /* a new cluster: members from the start */
    return 0;
}

void sk_sim_set_strategy(struct sk_sim *s, uint32_t node, const struct sk_strategy *st)
{
    if (node >= 1 && node <= s->n) {
        s->nodes[node].st = st;
        if (s->nodes[node].core != NULL) {
            sk_node_set_strategy(s->nodes[node].core, st);
        }
    }
}

uint32_t sk_sim_size(const struct sk_sim *s)
{
    return s->n;
}

struct sk_node *sk_sim_node(struct sk_sim *s, uint32_t node)
{
    return node >= 1 && node <= s->n ? s->nodes[node].core : NULL;
}

void sk_sim_on_event(struct sk_sim *s, sk_sim_event_cb cb, void *ud)
{
    s->cb = cb;
    s->cb_ud = ud;
}

uint64_t sk_sim_now(const struct sk_sim *s)
{
    return s->now;
}

void sk_sim_set_link(struct sk_sim *s, uint32_t from, uint32_t to, const struct sk_link *l)
{
    for (uint32_t i = 1; i <= SK_MAX_NODES; i++) {
        for (uint32_t j = 1; j <= SK_MAX_NODES; j++) {
            if ((from == 0 || from == i) && (to == 0 || to == j)) {
                s->links[i][j] = *l;
            }
        }
    }
}

void sk_sim_get_link(const struct sk_sim *s, uint32_t from, uint32_t to, struct sk_link *out)
{
    *out = s->links[from <= SK_MAX_NODES ? from : 0][to <= SK_MAX_NODES ? to : 0];
}

static void clink_set(struct clink *c, uint32_t node, int ways, const struct sk_link *l,
                      int fields)
{
    for (int w = 0; w < 2; w++) {
        if (!(ways & (1 << w))) {
            continue;
        }
        for (uint32_t j = 0; j <= SK_MAX_NODES; j++) {
            if (node != 0 && node != j) {
                continue;
            }
            struct sk_link *x = &c->way[w][j];
            if (fields & SK_LINK_LATENCY) {
                x->kind = l->kind;
                x->a = l->a;
                x->b = l->b;
            }
            if (fields & SK_LINK_LOSS) {
                x->loss = l->loss;
            }
            if (fields & SK_LINK_DUP) {
                x->dup = l->dup;
            }
            if (fields & SK_LINK_REORDER) {
                x->reorder = l->reorder;
                x->reorder_ms = l->reorder_ms;
            }
            if (fields & SK_LINK_BLOCKED) {
                x->blocked = l->blocked;
            }
        }
    }
}

int sk_sim_set_client_link(struct sk_sim *s, uint32_t client, uint32_t node, int ways,
                           const struct sk_link *l, int fields)
{
    if (node > SK_MAX_NODES || (ways & SK_CLIENT_BOTH) == 0) {
        return SK_EINVAL;
    }
    if (client == 0) {
        clink_set(&s->cl_default, node, ways, l, fields);
        for (uint32_t i = 0; i < s->n_cl; i++) {
            clink_set(&s->cl[i], node, ways, l, fields);
        }
        return 0;
    }
    if (client > s->n_cl) {
        struct clink *c = sk__realloc(s->cl, (size_t)client * sizeof *c);
        if (c == NULL) {
            return SK_ENOMEM;
        }
        for (uint32_t i = s->n_cl; i < client; i++) {
            c[i] = s->cl_default;
        }
        s->cl = c;
        s->n_cl = client;
    }
    clink_set(&s->cl[client - 1], node, ways, l, fields);
    return 0;
}

void sk_sim_get_client_link(const struct sk_sim *s, uint32_t client, uint32_t node, int way,
                            struct sk_link *out)
{
    *out = *client_link(s, client, node, way);
}

void sk_sim_set_client_latency(struct sk_sim *s, uint64_t ms)
{
    struct sk_link l = {.kind = SK_LAT_CONST, .a = (double)ms, .b = (double)ms};
    sk_sim_set_client_link(s, 0, 0, SK_CLIENT_BOTH, &l, SK_LINK_LATENCY);
}

static int check_node(const struct sk_sim *s, uint32_t node)
{
    return node >= 1 && node <= s->n ? 0 : SK_ENOTFOUND;
}

int sk_sim_crash(struct sk_sim *s, uint32_t node)
{
    if (check_node(s, node) != 0) {
        return SK_ENOTFOUND;
    }
    struct simnode *nd = &s->nodes[node];
    if (nd->core == NULL) {
        return 0;
    }
    sk_node_free(nd->core);
    nd->core = NULL;
    nd->paused = false;
    for (size_t j = 0; j < nd->n_held; j++) {
        sk__free(nd->held[j].frame);
    }
    nd->n_held = 0;
    nd->tick_at = UINT64_MAX;
    nd->tick_gen++;
    sk_sim_fault_note(s, node, "crash");
    /* a fail-fast client holding a connection to it sees it reset */
    for (size_t ri = 0; ri < s->n_reqs; ri++) {
        const struct creq *cr = &s->reqs[ri];
        if (cr->node == node && cr->fail_fast && cr->arrived && !cr->answered && !cr->done) {
            answer_down(s, ri, "connection reset");
        }
    }
    return 0;
}

int sk_sim_restart(struct sk_sim *s, uint32_t node, bool amnesia)
{
    return sk_sim_restart_ex(s, node, amnesia, true);
}

int sk_sim_restart_ex(struct sk_sim *s, uint32_t node, bool amnesia, bool rejoin)
{
    if (check_node(s, node) != 0) {
        return SK_ENOTFOUND;
    }
    struct simnode *nd = &s->nodes[node];
    if (nd->core != NULL) {
        sk_sim_crash(s, node);
    }
    if (amnesia) {
        sk_memstore_clear(nd->store);
    }
    nd->restarts++;
    sk_sim_fault_note(s, node,
                      !amnesia ? "restart"
                      : rejoin ? "restart with state lost (rejoins before voting)"
                               : "restart with state lost, voting at once (UNSAFE)");
    /* what is in the store decides: a member with its state, or (blank) a
     * rejoin, unless told to vote at once */
    start_core(s, node, rejoin);
    return 0;
}

int sk_sim_pause(struct sk_sim *s, uint32_t node)
{
    if (check_node(s, node) != 0) {
        return SK_ENOTFOUND;
    }
    s->nodes[node].paused = true;
    sk_sim_fault_note(s, node, "pause");
    return 0;
}

int sk_sim_resume(struct sk_sim *s, uint32_t node)
{
    if (check_node(s, node) != 0) {
        return SK_ENOTFOUND;
    }
    struct simnode *nd = &s->nodes[node];
    if (!nd->paused) {
        return 0;
    }
    nd->paused = false;
    sk_sim_fault_note(s, node, "resume");
    /* what arrived meanwhile is delivered now, in arrival order */
    for (size_t j = 0; j < nd->n_held; j++) {
        struct ev e = nd->held[j];
        e.t = s->now;
        push(s, e);
    }
    nd->n_held = 0;
    if (nd->core != NULL) {
        uint64_t at = nd->tick_at;
        nd->tick_at = UINT64_MAX;
        if (at != UINT64_MAX) {
            schedule_tick(s, node, local_time(s, nd));
        }
    }
    return 0;
}

int sk_sim_skew(struct sk_sim *s, uint32_t node, int64_t ms)
{
    if (check_node(s, node) != 0) {
        return SK_ENOTFOUND;
    }
    s->nodes[node].skew = ms;
    char text[64];
    snprintf(text, sizeof text, "clock skew %+lld ms", (long long)ms);
    sk_sim_fault_note(s, node, text);
    return 0;
}

uint64_t sk_sim_local_now(const struct sk_sim *s, uint32_t node)
{
    return check_node(s, node) == 0 ? local_time(s, &s->nodes[node]) : s->now;
}

bool sk_sim_is_up(const struct sk_sim *s, uint32_t node)
{
    return check_node(s, node) == 0 && s->nodes[node].core != NULL;
}

int sk_sim_request(struct sk_sim *s, uint32_t client, uint32_t node,
                   const struct sk_client_req *req, uint64_t timeout_ms)
{
    struct sk_sim_req_opts o = {.timeout_ms = timeout_ms, .attempt = 1};
    return sk_sim_request_opts(s, client, node, req, &o);
}

int sk_sim_request_opts(struct sk_sim *s, uint32_t client, uint32_t node,
                        const struct sk_client_req *req, const struct sk_sim_req_opts *o)
{
    if (check_node(s, node) != 0) {
        return SK_ENOTFOUND;
    }
    if (req->key_len < 1 || req->key_len > SK_KEY_MAX || req->holder_len > SK_HOLDER_MAX) {
        return SK_EINVAL;
    }
    if (s->n_reqs == s->cap_reqs) {
        size_t cap = s->cap_reqs ? s->cap_reqs * 2 : 64;
        struct creq *r = sk__realloc(s->reqs, cap * sizeof *r);
        if (r == NULL) {
            return SK_ENOMEM;
        }
        s->reqs = r;
        s->cap_reqs = cap;
    }
    size_t ri = s->n_reqs++;
    struct creq *cr = &s->reqs[ri];
    memset(cr, 0, sizeof *cr);
    cr->req_id = ri + 1;
    cr->client = client;
    cr->node = node;
    cr->op = req->op;
    cr->ttl_ms = req->ttl_ms;
    cr->cid = req->client;
    cr->cseq = req->seq;
    cr->fence = req->fence;
    cr->fail_fast = o->fail_fast;
    cr->key_len = req->key_len;
    memcpy(cr->key, req->key, req->key_len);
    cr->holder_len = req->holder_len;
    if (req->holder_len) {
        memcpy(cr->holder, req->holder, req->holder_len);
    }
    if (s->cb != NULL) {
        struct sk_client_req r = *req;
        r.req_id = cr->req_id;
        struct sk_sim_event e = {0};
        e.kind = SK_EV_INVOKE;
        e.node = node;
        e.client = client;
        e.req = &r;
        e.resend_of = o->resend_of;
        e.attempt = o->attempt > 0 ? o->attempt : 1;
        emit(s, &e);
    }
    const struct sk_link *l = client_link(s, client, node, SK_CLIENT_REQUESTS);
    if (!client_lost(s, ri, l, SK_CLIENT_REQUESTS)) {
        push(s, (struct ev){.t = s->now + sample_latency(s, l), .kind = E_CLIENT, .a = ri});
    }
    if (o->timeout_ms > 0) {
        push(s, (struct ev){.t = s->now + o->timeout_ms, .kind = E_TIMEOUT, .a = ri});
    }
    return 0;
}

bool sk_sim_next_reply(struct sk_sim *s, struct sk_sim_reply *out)
{
    if (s->head_replies >= s->n_replies) {
        s->head_replies = s->n_replies = 0;
        return false;
    }
    *out = s->replies[s->head_replies++];
    return true;
}

static void emit_answer(struct sk_sim *s, uint8_t kind, const struct creq *cr,
                        const struct sk_sim_reply *rep)
{
    struct sk_reply r = {0};
    r.req_id = rep->req_id;
    r.status = rep->status;
    r.token = rep->token;
    r.key = cr->key;
    r.key_len = cr->key_len;
    r.holder = rep->holder;
    r.text = rep->text;
    r.waited = rep->waited;
    struct sk_sim_event e = {0};
    e.kind = kind;
    e.node = cr->node;
    e.client = cr->client;
    e.reply = &r;
    emit(s, &e);
}

static void complete(struct sk_sim *s, size_t ri, const struct sk_sim_reply *rep)
{
    struct creq *cr = &s->reqs[ri];
    if (cr->done) {
        return;
    }
    cr->done = true;
    if (s->n_replies == s->cap_replies) {
        size_t cap = s->cap_replies ? s->cap_replies * 2 : 64;
        struct sk_sim_reply *r = sk__realloc(s->replies, cap * sizeof *r);
        if (r == NULL) {
            oom();
        }
        s->replies = r;
        s->cap_replies = cap;
    }
    struct sk_sim_reply *out = &s->replies[s->n_replies++];
    *out = *rep;
    out->t = s->now;
    s->reply_arrived = true;
    if (s->cb != NULL) {
        emit_answer(s, SK_EV_COMPLETE, cr, out);
    }
}

void sk_sim_at(struct sk_sim *s, uint64_t t, uint64_t cookie)
{
    push(s, (struct ev){.t = t < s->now ? s->now : t, .kind = E_USER, .a = cookie});
}

/* A paused node holds what arrives for it until resumed. */
static void hold(struct simnode *nd, const struct ev *e)
{
    if (nd->n_held == nd->cap_held) {
        size_t cap = nd->cap_held ? nd->cap_held * 2 : 16;
        struct ev *h = sk__realloc(nd->held, cap * sizeof *h);
        if (h == NULL) {
            oom();
        }
        nd->held = h;
        nd->cap_held = cap;
    }
    nd->held[nd->n_held++] = *e;
}

static void deliver(struct sk_sim *s, struct ev *e)
{
    struct simnode *nd = &s->nodes[e->to];
    if (nd->core == NULL) {
        s->stats.dropped++;
        emit_msg(s, SK_EV_DROP, e->from, e->to, e->a, e->frame, e->len, "crashed");
        sk__free(e->frame);
        return;
    }
    if (nd->paused) {
        hold(nd, e);
        return;
    }
    s->stats.delivered++;
    struct sk_msg m;
    int rv = sk_msg_decode(e->frame, e->len, &m);
    if (rv > 0) {
        emit_msg(s, SK_EV_RECV, e->to, e->from, e->a, e->frame, e->len, NULL);
        sk_node_recv(nd->core, &m, local_time(s, nd));
        drain(s, e->to);
    }
    sk__free(e->frame);
}

static void handle(struct sk_sim *s, struct ev *e)
{
    switch (e->kind) {
    case E_DELIVER: deliver(s, e); break;
    case E_TICK: {
        struct simnode *nd = &s->nodes[e->a];
        if (nd->core == NULL || e->b != nd->tick_gen) {
            break;
        }
        if (nd->paused) {
            break; /* resume reschedules */
        }
        nd->tick_at = UINT64_MAX;
        sk_node_tick(nd->core, local_time(s, nd));
        drain(s, (uint32_t)e->a);
        break;
    }
    case E_CLIENT: {
        /* the request arrives, even if its client stopped waiting: a copy on
         * the wire is not recalled */
        struct creq *cr = &s->reqs[e->a];
        struct simnode *nd = &s->nodes[cr->node];
        if (nd->core == NULL) {
            if (cr->fail_fast && !cr->done) {
                answer_down(s, e->a, "connection refused");
            }
            break; /* nobody there: the client times out */
        }
        if (nd->paused) {
            /* a stopped process: the request waits in its socket until resume
             * (or a crash, which resets a fail-fast client's connection) */
            cr->arrived = true;
            hold(nd, e);
            break;
        }
        struct sk_client_req r = {cr->req_id, cr->op,     cr->ttl_ms, cr->key,  cr->key_len,
                                  cr->holder, cr->holder_len, cr->cid, cr->cseq, cr->fence};
        cr->arrived = true;
        int rv = sk_node_request(nd->core, &r, local_time(s, nd));
        if (rv != 0) {
            struct sk_reply rep = {0};
            rep.req_id = cr->req_id;
            rep.status = SK_ST_ERROR;
            rep.text = rv == SK_EBUSY ? "busy: too many requests in flight" : sk_strerror(rv);
            client_answer(s, e->a, &rep);
        }
        drain(s, cr->node);
        break;
    }
    case E_REPLY: {
        struct creq *cr = &s->reqs[e->a];
        if (!cr->done) {
            complete(s, e->a, &cr->reply);
        } else if (s->cb != NULL) {
            struct sk_sim_reply late = cr->reply;
            late.t = s->now;
            emit_answer(s, SK_EV_LATE, cr, &late); /* nobody listens any more */
        }
        break;
    }
    case E_TIMEOUT: {
        struct creq *cr = &s->reqs[e->a];
        struct sk_sim_reply rep = {0};
        rep.req_id = cr->req_id;
        rep.client = cr->client;
        rep.node = cr->node;
        rep.status = SK_ST_TIMEOUT;
        snprintf(rep.text, sizeof rep.text, "no answer from %s in time", s->nodes[cr->node].name);
        complete(s, e->a, &rep);
        break;
    }
    default: break;
    }
}

int sk_sim_run(struct sk_sim *s, uint64_t until, bool stop_on_reply, uint64_t *cookie)
{
    s->reply_arrived = false;
    while (s->n_heap > 0 && s->heap[0].t <= until) {
        struct ev e = pop(s);
        s->now = e.t;
        s->stats.events++;
        if (e.kind == E_USER) {
            if (cookie != NULL) {
                *cookie = e.a;
            }
            return SK_SIM_TIMER;
        }
        handle(s, &e);
        if (stop_on_reply && s->reply_arrived) {
            return SK_SIM_REPLY;
        }
    }
    int why = s->n_heap == 0 ? SK_SIM_IDLE : SK_SIM_TIME;
    if (until > s->now) {
        s->now = until;
    }
    return why;
}

void sk_sim_stats(const struct sk_sim *s, struct sk_sim_stats *out)
{
    *out = s->stats;
}
