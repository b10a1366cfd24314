/* explore.c - breadth-first search over the states of a small cluster of
 * real cores (explore.h has the design note). */
#include "explore/explore.h"

#include "sim/sim.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NONE UINT64_MAX
#define KEY "printer"

/* ------------------------------------------------------------ tables */

/* A node state, stored once per digest. node is NULL while no
 * configuration on the frontier holds it (the entry stays, small). */
struct nent {
    uint64_t a, b; /* the node's digest */
    struct sk_node *node;
    uint64_t wake; /* its wakeup, on its own clock */
    uint32_t refs;
};

struct frame {
    uint32_t to, len;
    size_t off; /* into frames.pool */
    uint64_t h;
};

struct conf {
    struct nent *n[SK_EXPLORE_MAX_NODES + 1];
    uint32_t id; /* index of the distinct configuration (parents, steps) */
    uint32_t depth;
    uint8_t drops, dups, fails, crashes, wipes;
    uint8_t next_op[SK_EXPLORE_MAX_CLIENTS];
    uint8_t at[SK_EXPLORE_MAX_CLIENTS]; /* the node the current request went to last */
    uint8_t gen[SK_EXPLORE_MAX_NODES + 1]; /* restarts of each node (its seed) */
    uint8_t ans[SK_EXPLORE_MAX_CLIENTS][SK_EXPLORE_MAX_OPS]; /* status; 0: none yet */
    /* the history, for a checker (not in the digest) */
    uint8_t by[SK_EXPLORE_MAX_CLIENTS][SK_EXPLORE_MAX_OPS];
    uint32_t tok[SK_EXPLORE_MAX_CLIENTS][SK_EXPLORE_MAX_OPS];
    uint64_t order; /* client events, 3 bits each: client << 1 | (1: an answer) */
    uint8_t n_ev;   /* events in order; ORDER_FULL: more than it holds */
    bool answered;  /* the step that made it gave a client an answer */
    uint32_t n_msgs, cap_msgs;
    uint32_t *msgs; /* frame ids, sorted: a multiset */
};

struct sk_explorer {
    struct sk_explore_config cfg;
    char holders[SK_EXPLORE_MAX_CLIENTS][16];
    const char *holder[SK_EXPLORE_MAX_CLIENTS];
    struct sk_config ncfg[SK_EXPLORE_MAX_NODES + 1];
    char names[SK_EXPLORE_MAX_NODES + 1][8];
    /* node table: open addressing on the digest */
    struct nent **nodes;
    size_t n_nodes, cap_nodes;
    /* frames: interned (to, bytes) */
    struct frame *fr;
    size_t n_fr, cap_fr;
    uint8_t *pool;
    size_t pool_len, pool_cap;
    uint32_t *fr_slots; /* id + 1; 0: empty */
    size_t cap_fr_slots;
    /* visited configurations */
    uint64_t *seen; /* pairs (a, b); a == 0: empty (digests have a | 1) */
    size_t n_seen, cap_seen;
    uint32_t *parent;
    struct sk_explore_step *step;
    size_t cap_parent;
    /* the result's path */
    struct sk_explore_step *path;
    /* the last text a step produced (replay) */
    char *trace;
    size_t trace_len, trace_cap;
    bool tracing;
    bool oom;
    uint64_t hook_errors; /* SK_NOTE_HOOK_ERROR notes met, and the first one's text */
    char hook_error[256];
    /* replay as simulator events (sk_explore_events) */
    void (*ev_cb)(void *ud, const struct sk_sim_event *ev);
    void *ev_ud;
    uint64_t ev_t, ev_next_id;
    uint32_t ev_attempt[SK_EXPLORE_MAX_CLIENTS];
    uint32_t *q_fr; /* messages in flight: frame id, and the id the trace gave it */
    uint64_t *q_id;
    size_t n_q, cap_q;
};

static void *xrealloc(struct sk_explorer *x, void *p, size_t size)
{
    void *q = realloc(p, size);
    if (q == NULL) {
        x->oom = true;
    }
    return q;
}

static uint64_t hash64(const void *p, size_t len)
{
    struct sk_hasher h;
    uint8_t d[SK_DIGEST_LEN];
    sk_hash_init(&h);
    sk_hash_bytes(&h, p, len);
    sk_hash_final(&h, d);
    uint64_t v;
    memcpy(&v, d, sizeof v);
    return v;
}

static uint64_t load64(const uint8_t *d)
{
    uint64_t v;
    memcpy(&v, d, sizeof v);
    return v;
}

/* ------------------------------------------------------------ events */

static void emit(struct sk_explorer *x, struct sk_sim_event e)
{
    e.t = x->ev_t;
    x->ev_cb(x->ev_ud, &e);
}

/* A frame sent: the trace's id for this copy. */
static uint64_t q_push(struct sk_explorer *x, uint32_t fr, uint64_t id)
{
    if (x->n_q == x->cap_q) {
        size_t cap = x->cap_q ? x->cap_q * 2 : 64;
        uint32_t *f = xrealloc(x, x->q_fr, cap * sizeof *f);
        if (f == NULL) {
            return id;
        }
        x->q_fr = f;
        uint64_t *d = xrealloc(x, x->q_id, cap * sizeof *d);
        if (d == NULL) {
            return id;
        }
        x->q_id = d;
        x->cap_q = cap;
    }
    x->q_fr[x->n_q] = fr;
    x->q_id[x->n_q++] = id;
    return id;
}

/* The oldest copy of frame fr in flight: its trace id (removed when take). */
static uint64_t q_find(struct sk_explorer *x, uint32_t fr, bool take)
{
    for (size_t k = 0; k < x->n_q; k++) {
        if (x->q_fr[k] == fr) {
            uint64_t id = x->q_id[k];
            if (take) {
                memmove(&x->q_fr[k], &x->q_fr[k + 1], (x->n_q - k - 1) * sizeof *x->q_fr);
                memmove(&x->q_id[k], &x->q_id[k + 1], (x->n_q - k - 1) * sizeof *x->q_id);
                x->n_q--;
            }
            return id;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ trace text */

__attribute__((format(printf, 2, 3))) static void say(struct sk_explorer *x, const char *fmt,
                                                      ...)
{
    if (!x->tracing) {
        return;
    }
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (k < 0) {
        return;
    }
    size_t n = (size_t)k < sizeof line ? (size_t)k : sizeof line - 1;
    if (x->trace_len + n + 1 > x->trace_cap) {
        size_t cap = (x->trace_len + n + 1) * 2;
        char *t = xrealloc(x, x->trace, cap);
        if (t == NULL) {
            return;
        }
        x->trace = t;
        x->trace_cap = cap;
    }
    memcpy(x->trace + x->trace_len, line, n);
    x->trace_len += n;
    x->trace[x->trace_len] = 0;
}

/* What a register value says, in the default lock's words. */
static void value_text(const uint8_t *v, size_t len, char *buf, size_t cap)
{
    const uint8_t *st;
    size_t st_len;
    struct sk_value_field f;
    if (len == 0) {
        snprintf(buf, cap, "none");
    } else if (sk_value_state(v, len, &st, &st_len) != 0) {
        snprintf(buf, cap, "unreadable");
    } else if (sk_value_get(st, st_len, "holder", &f) == 1 && f.tag == 's') {
        snprintf(buf, cap, "held by %.*s", (int)(f.s_len < 32 ? f.s_len : 32),
                 (const char *)f.s);
    } else {
        snprintf(buf, cap, "free");
    }
}

static void frame_text(const struct sk_explorer *x, uint32_t id, char *buf, size_t cap)
{
    const struct frame *f = &x->fr[id];
    struct sk_msg m;
    if (sk_msg_decode(x->pool + f->off, f->len, &m) != (int)f->len) {
        snprintf(buf, cap, "#%u (undecodable)", id);
        return;
    }
    char b[SK_BALLOT_STR_MAX], o[SK_BALLOT_STR_MAX], v[64] = "";
    sk_ballot_str(m.ballot, b, sizeof b);
    sk_ballot_str(m.other, o, sizeof o);
    switch (m.type) {
    case SK_MSG_PROMISE:
        value_text(m.value, m.value_len, v, sizeof v);
        snprintf(buf, cap, "promise %s %u->%u (accepted %s: %s)", b, m.from, m.to,
                 sk_ballot_is_zero(m.other) ? "nothing" : o, v);
        break;
    case SK_MSG_NAY:
        snprintf(buf, cap, "nay %s %u->%u (phase %u; promised %s)", b, m.from, m.to, m.phase,
                 o);
        break;
    case SK_MSG_ACCEPT:
        value_text(m.value, m.value_len, v, sizeof v);
        snprintf(buf, cap, "accept %s %u->%u (%s)", b, m.from, m.to, v);
        break;
    default:
        snprintf(buf, cap, "%s %s %u->%u", sk_msg_type_name(m.type), b, m.from, m.to);
        break;
    }
}

void sk_explore_step_text(const struct sk_explorer *x, struct sk_explore_step s, char *buf,
                          size_t len)
{
    char f[160];
    switch (s.kind) {
    case SK_X_DELIVER:
    case SK_X_DROP:
    case SK_X_DUP:
        if (s.arg >= x->n_fr) {
            snprintf(buf, len, "? frame %u", s.arg);
            return;
        }
        frame_text(x, s.arg, f, sizeof f);
        snprintf(buf, len, "%s %s",
                 s.kind == SK_X_DELIVER ? "deliver" : s.kind == SK_X_DROP ? "drop" : "duplicate",
                 f);
        break;
    case SK_X_REQUEST:
        if (s.arg >= x->cfg.n_clients) {
            snprintf(buf, len, "? client %u", s.arg);
            return;
        }
        snprintf(buf, len, "%s sends its next request to node %u", x->holder[s.arg],
                 x->cfg.clients[s.arg].node);
        break;
    case SK_X_TIMER:
        snprintf(buf, len, "node %u's timer fires", s.arg);
        break;
    case SK_X_FAILOVER:
        if ((s.arg >> 8) >= x->cfg.n_clients) {
            snprintf(buf, len, "? client %u", s.arg >> 8);
            return;
        }
        snprintf(buf, len, "%s fails over: sends the same request to node %u",
                 x->holder[s.arg >> 8], s.arg & 0xff);
        break;
    case SK_X_CRASH:
        snprintf(buf, len, "node %u crashes and restarts with its durable state", s.arg);
        break;
    case SK_X_WIPE:
        snprintf(buf, len, "node %u crashes and restarts with its state lost%s", s.arg,
                 x->cfg.blank_votes ? " (votes at once: UNSAFE)" : " (rejoins)");
        break;
    default:
        snprintf(buf, len, "? step %u", s.kind);
    }
}

/* ------------------------------------------------------------ frames */

static uint32_t frame_intern(struct sk_explorer *x, uint32_t to, const uint8_t *b, uint32_t len)
{
    uint64_t h = hash64(b, len) ^ ((uint64_t)to * 0x9e3779b97f4a7c15ull);
    if ((x->n_fr + 1) * 2 > x->cap_fr_slots) {
        size_t cap = x->cap_fr_slots ? x->cap_fr_slots * 2 : 1024;
        uint32_t *s = calloc(cap, sizeof *s);
        if (s == NULL) {
            x->oom = true;
            return UINT32_MAX;
        }
        for (size_t i = 0; i < x->n_fr; i++) {
            size_t j = (size_t)x->fr[i].h & (cap - 1);
            while (s[j] != 0) {
                j = (j + 1) & (cap - 1);
            }
            s[j] = (uint32_t)i + 1;
        }
        free(x->fr_slots);
        x->fr_slots = s;
        x->cap_fr_slots = cap;
    }
    size_t j = (size_t)h & (x->cap_fr_slots - 1);
    while (x->fr_slots[j] != 0) {
        const struct frame *f = &x->fr[x->fr_slots[j] - 1];
        if (f->h == h && f->to == to && f->len == len && memcmp(x->pool + f->off, b, len) == 0) {
            return x->fr_slots[j] - 1;
        }
        j = (j + 1) & (x->cap_fr_slots - 1);
    }
    if (x->n_fr == x->cap_fr) {
        size_t cap = x->cap_fr ? x->cap_fr * 2 : 1024;
        struct frame *f = xrealloc(x, x->fr, cap * sizeof *f);
        if (f == NULL) {
            return UINT32_MAX;
        }
        x->fr = f;
        x->cap_fr = cap;
    }
    if (x->pool_len + len > x->pool_cap) {
        size_t cap = x->pool_cap ? x->pool_cap : 65536;
        while (cap < x->pool_len + len) {
            cap *= 2;
        }
        uint8_t *p = xrealloc(x, x->pool, cap);
        if (p == NULL) {
            return UINT32_MAX;
        }
        x->pool = p;
        x->pool_cap = cap;
    }
    memcpy(x->pool + x->pool_len, b, len);
    x->fr[x->n_fr] = (struct frame){to, len, x->pool_len, h};
    x->pool_len += len;
    x->fr_slots[j] = (uint32_t)x->n_fr + 1;
    return (uint32_t)x->n_fr++;
}

/* ------------------------------------------------------------ node table */

static struct nent **nent_slot(struct nent **t, size_t cap, uint64_t a, uint64_t b)
{
    size_t j = (size_t)a & (cap - 1);
    while (t[j] != NULL && (t[j]->a != a || t[j]->b != b)) {
        j = (j + 1) & (cap - 1);
    }
    return &t[j];
}

/* Take n (a node between inputs, its batch consumed; wake its wakeup): the
 * entry of its state, with a reference. n is freed when the state is
 * already held by another configuration. */
static struct nent *node_intern(struct sk_explorer *x, struct sk_node *n, uint64_t wake)
{
    uint8_t d[SK_DIGEST_LEN];
    sk_node_trim(n);
    sk_node_digest(n, d);
    uint64_t a = load64(d), b = load64(d + 8);
    if ((x->n_nodes + 1) * 2 > x->cap_nodes) {
        size_t cap = x->cap_nodes ? x->cap_nodes * 2 : 1024;
        struct nent **t = calloc(cap, sizeof *t);
        if (t == NULL) {
            x->oom = true;
            sk_node_free(n);
            return NULL;
        }
        for (size_t i = 0; i < x->cap_nodes; i++) {
            if (x->nodes[i] != NULL) {
                *nent_slot(t, cap, x->nodes[i]->a, x->nodes[i]->b) = x->nodes[i];
            }
        }
        free(x->nodes);
        x->nodes = t;
        x->cap_nodes = cap;
    }
    struct nent **slot = nent_slot(x->nodes, x->cap_nodes, a, b);
    struct nent *e = *slot;
    if (e == NULL) {
        e = calloc(1, sizeof *e);
        if (e == NULL) {
            x->oom = true;
            sk_node_free(n);
            return NULL;
        }
        e->a = a;
        e->b = b;
        *slot = e;
        x->n_nodes++;
    }
    if (e->node == NULL) {
        e->node = n;
        e->wake = wake;
    } else {
        sk_node_free(n); /* the same state: same future (sk_node_digest) */
    }
    e->refs++;
    return e;
}

static void nent_put(struct nent *e)
{
    if (e != NULL && --e->refs == 0) {
        sk_node_free(e->node);
        e->node = NULL;
    }
}

/* ------------------------------------------------------------ configurations */

static void conf_free(struct sk_explorer *x, struct conf *c)
{
    if (c == NULL) {
        return;
    }
    for (uint32_t i = 1; i <= x->cfg.nodes; i++) {
        nent_put(c->n[i]);
    }
    free(c->msgs);
    free(c);
}

static struct conf *conf_copy(struct sk_explorer *x, const struct conf *c, uint32_t extra)
{
    struct conf *s = malloc(sizeof *s);
    if (s == NULL) {
        x->oom = true;
        return NULL;
    }
    *s = *c;
    s->cap_msgs = c->n_msgs + extra;
    s->msgs = malloc((s->cap_msgs ? s->cap_msgs : 1) * sizeof *s->msgs);
    if (s->msgs == NULL) {
        x->oom = true;
        free(s);
        return NULL;
    }
    if (c->n_msgs > 0) {
        memcpy(s->msgs, c->msgs, c->n_msgs * sizeof *s->msgs);
    }
    for (uint32_t i = 1; i <= x->cfg.nodes; i++) {
        s->n[i]->refs++;
    }
    return s;
}

static bool msg_add(struct sk_explorer *x, struct conf *c, uint32_t id)
{
    if (c->n_msgs == c->cap_msgs) {
        uint32_t cap = c->cap_msgs ? c->cap_msgs * 2 : 8;
        uint32_t *m = xrealloc(x, c->msgs, cap * sizeof *m);
        if (m == NULL) {
            return false;
        }
        c->msgs = m;
        c->cap_msgs = cap;
    }
    uint32_t at = c->n_msgs;
    while (at > 0 && c->msgs[at - 1] > id) {
        c->msgs[at] = c->msgs[at - 1];
        at--;
    }
    c->msgs[at] = id;
    c->n_msgs++;
    return true;
}

static bool msg_remove(struct conf *c, uint32_t id)
{
    for (uint32_t i = 0; i < c->n_msgs; i++) {
        if (c->msgs[i] == id) {
            memmove(&c->msgs[i], &c->msgs[i + 1], (c->n_msgs - i - 1) * sizeof *c->msgs);
            c->n_msgs--;
            return true;
        }
    }
    return false;
}

static bool msg_has(const struct conf *c, uint32_t id)
{
    for (uint32_t i = 0; i < c->n_msgs; i++) {
        if (c->msgs[i] == id) {
            return true;
        }
    }
    return false;
}

#define REQ_ID(c, k) ((uint64_t)((c) + 1) << 8 | (uint64_t)((k) + 1))
#define ORDER_MAX 21 /* events of 3 bits in 64 */
#define ORDER_FULL 0xff

static void order_add(struct conf *s, uint32_t client, bool answer)
{
    if (s->n_ev >= ORDER_MAX) {
        s->n_ev = ORDER_FULL;
        return;
    }
    s->order |= (uint64_t)(client << 1 | (answer ? 1u : 0u)) << (3 * s->n_ev);
    s->n_ev++;
}

/* An answer that leaves the outcome open: the client may ask another node. */
static bool indefinite(uint8_t status)
{
    return status == SK_ST_CONTENDED || status == SK_ST_UNAVAILABLE;
}

/* Whether client k may fail over: its current request is unanswered, or
 * answered indefinitely. */
static bool can_fail_over(const struct sk_explorer *x, const struct conf *c, uint32_t k)
{
    uint8_t j = c->next_op[k];
    return c->fails < x->cfg.max_failovers && j > 0 &&
           (c->ans[k][j - 1] == 0 || indefinite(c->ans[k][j - 1]));
}

/* Node i of s crashes and starts again: with its durable state (keep), or
 * blank. Returns the new node (its first batch not yet taken), or NULL when
 * memory runs out. */
static struct sk_node *restarted(struct sk_explorer *x, struct conf *s, uint32_t i, bool keep)
{
    const struct sk_node *old = s->n[i]->node;
    struct sk_config nc = x->ncfg[i];
    s->gen[i]++;
    nc.seed = x->cfg.seed + s->gen[i] * 0x9e3779b97f4a7c15ull;
    nc.rejoin = keep || !x->cfg.blank_votes;
    struct sk_node *n = sk_node_new(&nc, x->cfg.st, sk_node_now(old));
    if (n == NULL || !keep || (x->cfg.classic & SK_CLASSIC_NO_PERSIST) != 0) {
        return n;
    }
    struct sk_persist p;
    sk_node_record(old, &p);
    int rv = sk_node_restore(n, &p);
    size_t cur = 0;
    struct sk_register_view v;
    while (rv == 0 && sk_node_registers(old, &cur, &v)) {
        struct sk_persist q = {v.key, v.key_len, v.promised, v.accepted, v.value, v.value_len};
        rv = sk_node_restore(n, &q);
    }
    if (rv != 0) {
        sk_node_free(n);
        return NULL;
    }
    return n;
}

/* Node i of s was stepped into n: fold its batch into s, then store it. */
static void fold(struct sk_explorer *x, struct conf *s, uint32_t i, struct sk_node *n)
{
    struct sk_actions a;
    sk_node_actions(n, &a);
    for (size_t k = 0; k < a.n_note; k++) {
        if (a.note[k].kind == SK_NOTE_HOOK_ERROR) {
            if (x->hook_errors++ == 0) {
                snprintf(x->hook_error, sizeof x->hook_error, "%s",
                         a.note[k].text != NULL ? a.note[k].text : "a hook failed");
            }
        }
    }
    if (x->ev_cb != NULL) {
        for (size_t k = 0; k < a.n_note; k++) {
            emit(x, (struct sk_sim_event){.kind = SK_EV_NOTE, .node = i, .note = &a.note[k]});
        }
        for (size_t k = 0; k < a.n_persist; k++) {
            emit(x, (struct sk_sim_event){.kind = SK_EV_PERSIST, .node = i,
                                          .persist = &a.persist[k]});
        }
    }
    for (size_t k = 0; k < a.n_send; k++) {
        uint32_t id = frame_intern(x, a.send[k].to, a.send[k].frame, a.send[k].len);
        if (id == UINT32_MAX || !msg_add(x, s, id)) {
            break;
        }
        if (x->ev_cb != NULL) {
            struct sk_msg m;
            if (sk_msg_decode(a.send[k].frame, a.send[k].len, &m) == (int)a.send[k].len) {
                emit(x, (struct sk_sim_event){.kind = SK_EV_SEND, .node = i, .peer = a.send[k].to,
                                              .msg = &m,
                                              .msg_id = q_push(x, id, ++x->ev_next_id)});
            }
        }
        if (x->tracing) {
            char t[160];
            frame_text(x, id, t, sizeof t);
            say(x, "\n      sends %s", t);
        }
    }
    for (size_t k = 0; k < a.n_reply; k++) {
        const struct sk_reply *r = &a.reply[k];
        uint64_t c = (r->req_id >> 8) - 1, op = (r->req_id & 0xff) - 1;
        if (c < x->cfg.n_clients && op < x->cfg.clients[c].n_ops && op + 1 == s->next_op[c] &&
            (s->ans[c][op] == 0 || indefinite(s->ans[c][op]))) {
            s->ans[c][op] = r->status;
            s->tok[c][op] = (uint32_t)r->token;
            s->by[c][op] = 0;
            for (uint32_t w = 0; w < x->cfg.n_clients && r->holder != NULL; w++) {
                if (strcmp(r->holder, x->holder[w]) == 0) {
                    s->by[c][op] = (uint8_t)(w + 1);
                }
            }
            order_add(s, (uint32_t)c, true);
            s->answered = true;
        }
        if (x->ev_cb != NULL && c < x->cfg.n_clients) {
            emit(x, (struct sk_sim_event){.kind = SK_EV_COMPLETE, .node = i,
                                          .client = (uint32_t)c + 1, .reply = r});
        }
        if (x->tracing && c < x->cfg.n_clients) {
            say(x, "\n      answers %s's %s: %s", x->holder[c],
                sk_op_name(op < x->cfg.clients[c].n_ops ? x->cfg.clients[c].ops[op] : 0),
                sk_status_name(r->status));
            if (r->status == SK_ST_GRANTED) {
                say(x, " (token %llu)", (unsigned long long)r->token);
            } else if (r->holder != NULL && r->holder[0] != 0) {
                say(x, " (holder %s)", r->holder);
            }
        }
    }
    uint64_t wake = a.wakeup_ms;
    sk_node_advance(n);
    struct nent *old = s->n[i];
    s->n[i] = node_intern(x, n, wake);
    nent_put(old);
    if (s->n[i] == NULL) {
        x->oom = true;
        s->n[i] = old; /* keep the configuration freeable */
        old->refs++;
    }
}

/* The successor of c by step t, or NULL when t is not enabled in c or
 * memory ran out (x->oom). */
static struct conf *successor(struct sk_explorer *x, const struct conf *c,
                              struct sk_explore_step t)
{
    const struct sk_explore_config *g = &x->cfg;
    switch (t.kind) {
    case SK_X_DELIVER:
    case SK_X_DROP:
    case SK_X_DUP:
        if (t.arg >= x->n_fr || !msg_has(c, t.arg) ||
            (t.kind == SK_X_DROP && c->drops >= g->max_drops) ||
            (t.kind == SK_X_DUP && c->dups >= g->max_dups)) {
            return NULL;
        }
        break;
    case SK_X_REQUEST:
        if (t.arg >= g->n_clients || c->next_op[t.arg] >= g->clients[t.arg].n_ops ||
            (c->next_op[t.arg] > 0 && c->ans[t.arg][c->next_op[t.arg] - 1] == 0)) {
            return NULL;
        }
        break;
    case SK_X_TIMER:
        if (t.arg < 1 || t.arg > g->nodes || c->n[t.arg]->wake == NONE || g->no_timers) {
            return NULL;
        }
        break;
    case SK_X_FAILOVER:
        if ((t.arg >> 8) >= g->n_clients || (t.arg & 0xff) < 1 || (t.arg & 0xff) > g->nodes ||
            (t.arg & 0xff) == c->at[t.arg >> 8] || !can_fail_over(x, c, t.arg >> 8)) {
            return NULL;
        }
        break;
    case SK_X_CRASH:
    case SK_X_WIPE:
        if (t.arg < 1 || t.arg > g->nodes ||
            (t.kind == SK_X_CRASH ? c->crashes >= g->max_crashes : c->wipes >= g->max_wipes)) {
            return NULL;
        }
        break;
    default:
        return NULL;
    }
    struct conf *s = conf_copy(x, c, 1);
    if (s == NULL) {
        return NULL;
    }
    s->depth = c->depth + 1;
    s->answered = false;
    if (t.kind == SK_X_DROP || t.kind == SK_X_DUP) {
        if (x->ev_cb != NULL) {
            const struct frame *f = &x->fr[t.arg];
            struct sk_msg m;
            if (sk_msg_decode(x->pool + f->off, f->len, &m) == (int)f->len) {
                uint64_t id = q_find(x, t.arg, t.kind == SK_X_DROP);
                emit(x, (struct sk_sim_event){.kind = t.kind == SK_X_DROP ? SK_EV_DROP : SK_EV_DUP,
                                              .node = m.from, .peer = f->to, .msg = &m,
                                              .msg_id = id, .text = "loss"});
                if (t.kind == SK_X_DUP) {
                    q_push(x, t.arg, id);
                }
            }
        }
        if (t.kind == SK_X_DROP) {
            msg_remove(s, t.arg);
            s->drops++;
        } else {
            msg_add(x, s, t.arg);
            s->dups++;
        }
        return s;
    }
    uint32_t i = t.kind == SK_X_DELIVER    ? x->fr[t.arg].to
                 : t.kind == SK_X_REQUEST  ? g->clients[t.arg].node
                 : t.kind == SK_X_FAILOVER ? (t.arg & 0xff)
                                           : t.arg;
    if (t.kind == SK_X_CRASH || t.kind == SK_X_WIPE) {
        bool keep = t.kind == SK_X_CRASH;
        *(keep ? &s->crashes : &s->wipes) += 1;
        if (x->ev_cb != NULL) {
            emit(x, (struct sk_sim_event){.kind = SK_EV_FAULT, .node = i,
                                          .text = keep ? "crash, restart with its durable state"
                                                  : x->cfg.blank_votes
                                                      ? "crash, restart with state lost, voting "
                                                        "at once (UNSAFE)"
                                                      : "crash, restart with state lost "
                                                        "(rejoins before voting)"});
        }
        struct sk_node *n = restarted(x, s, i, keep);
        if (n == NULL) {
            x->oom = true;
            conf_free(x, s);
            return NULL;
        }
        fold(x, s, i, n);
        return s;
    }
    struct sk_node *n = sk_node_clone(s->n[i]->node);
    if (n == NULL) {
        x->oom = true;
        conf_free(x, s);
        return NULL;
    }
    uint64_t now = sk_node_now(n);
    if (t.kind == SK_X_DELIVER) {
        msg_remove(s, t.arg);
        const struct frame *f = &x->fr[t.arg];
        struct sk_msg m;
        if (sk_msg_decode(x->pool + f->off, f->len, &m) != (int)f->len) {
            abort(); /* a node encoded it */
        }
        if (x->ev_cb != NULL) {
            emit(x, (struct sk_sim_event){.kind = SK_EV_RECV, .node = i, .peer = m.from,
                                          .msg = &m, .msg_id = q_find(x, t.arg, true)});
        }
        sk_node_recv(n, &m, now);
    } else if (t.kind == SK_X_REQUEST || t.kind == SK_X_FAILOVER) {
        uint32_t cl = t.kind == SK_X_REQUEST ? t.arg : t.arg >> 8;
        uint32_t k = t.kind == SK_X_REQUEST ? s->next_op[cl]++ : s->next_op[cl] - 1u;
        if (t.kind == SK_X_FAILOVER) {
            s->fails++;
            s->ans[cl][k] = 0; /* it waits for this node's answer */
        } else {
            order_add(s, cl, false);
        }
        s->at[cl] = (uint8_t)i;
        const char *h = x->holder[cl];
        struct sk_client_req rq = {REQ_ID(cl, k), g->clients[cl].ops[k], 0,
                                   (const uint8_t *)KEY, (uint32_t)strlen(KEY),
                                   (const uint8_t *)h, (uint32_t)strlen(h), cl + 1u, k + 1u, 0};
        if (x->ev_cb != NULL) {
            x->ev_attempt[cl] = t.kind == SK_X_REQUEST ? 1 : x->ev_attempt[cl] + 1;
            emit(x, (struct sk_sim_event){.kind = SK_EV_INVOKE, .node = i, .client = cl + 1,
                                          .req = &rq, .attempt = x->ev_attempt[cl],
                                          .resend_of = x->ev_attempt[cl] > 1 ? rq.req_id : 0});
        }
        if (sk_node_request(n, &rq, now) != 0) {
            s->ans[cl][k] = SK_ST_ERROR;
        }
    } else {
        uint64_t at = s->n[i]->wake > now ? s->n[i]->wake : now;
        sk_node_tick(n, at);
    }
    fold(x, s, i, n);
    return s;
}

/* The invariant: at most one client holds the lock. Returns the number of
 * holders and names two of them. */
static int holders(const struct sk_explorer *x, const struct conf *c, uint32_t who[2])
{
    int count = 0;
    for (uint32_t k = 0; k < x->cfg.n_clients; k++) {
        bool holds = false;
        for (uint32_t j = 0; j < c->next_op[k]; j++) {
            uint8_t op = x->cfg.clients[k].ops[j];
            if (SK_OP_IS_ACQUIRE(op) && c->ans[k][j] == SK_ST_GRANTED) {
                holds = true;
            } else if (op == SK_OP_RELEASE) {
                holds = false; /* from the moment it is sent */
            }
        }
        if (holds) {
            if (count < 2) {
                who[count] = k;
            }
            count++;
        }
    }
    return count;
}

static void history_of(const struct sk_explorer *x, const struct conf *c,
                       struct sk_explore_history *h)
{
    memset(h, 0, sizeof *h);
    h->n_clients = x->cfg.n_clients;
    h->truncated = c->n_ev == ORDER_FULL;
    for (uint32_t k = 0; k < x->cfg.n_clients; k++) {
        h->c[k].n_sent = c->next_op[k];
        for (uint32_t j = 0; j < c->next_op[k]; j++) {
            h->c[k].op[j] = x->cfg.clients[k].ops[j];
            h->c[k].status[j] = c->ans[k][j];
            h->c[k].by[j] = c->by[k][j];
            h->c[k].token[j] = c->tok[k][j];
        }
    }
    uint32_t sent[SK_EXPLORE_MAX_CLIENTS] = {0};
    for (uint32_t e = 0; e < c->n_ev && c->n_ev != ORDER_FULL; e++) {
        uint32_t v = (uint32_t)(c->order >> (3 * e)) & 7u, k = v >> 1;
        if (k >= x->cfg.n_clients) {
            continue;
        }
        if ((v & 1u) == 0 && sent[k] < SK_EXPLORE_MAX_OPS) {
            h->c[k].invoke[sent[k]++] = e + 1;
        } else if ((v & 1u) != 0 && sent[k] > 0) {
            h->c[k].complete[sent[k] - 1] = e + 1;
        }
    }
}

/* The invariants at c: two holders; and, when history is set (where the
 * search ends), the history checker. Returns true for a violation. */
static bool violated_at(struct sk_explorer *x, const struct conf *c, bool history,
                        uint64_t *calls, char *what, size_t len)
{
    uint32_t who[2];
    if (holders(x, c, who) >= 2) {
        snprintf(what, len,
                 "two holders at once: %s and %s were both granted the lock, and neither has "
                 "sent a release",
                 x->holder[who[0]], x->holder[who[1]]);
        return true;
    }
    if (history && x->cfg.check != NULL) {
        struct sk_explore_history h;
        history_of(x, c, &h);
        if (calls != NULL) {
            (*calls)++;
        }
        what[0] = 0;
        if (!x->cfg.check(x->cfg.check_ud, &h, what, len)) {
            if (what[0] == 0) {
                snprintf(what, len, "the history checker found a violation");
            }
            return true;
        }
    }
    return false;
}

static void conf_digest(const struct sk_explorer *x, const struct conf *c, uint64_t *a,
                        uint64_t *b)
{
    struct sk_hasher h;
    sk_hash_init(&h);
    for (uint32_t i = 1; i <= x->cfg.nodes; i++) {
        sk_hash_u64(&h, c->n[i]->a);
        sk_hash_u64(&h, c->n[i]->b);
    }
    sk_hash_u64(&h, c->n_msgs);
    for (uint32_t k = 0; k < c->n_msgs; k++) {
        sk_hash_u64(&h, c->msgs[k]);
    }
    for (uint32_t k = 0; k < x->cfg.n_clients; k++) {
        sk_hash_u64(&h, c->next_op[k]);
        for (uint32_t j = 0; j < x->cfg.clients[k].n_ops; j++) {
            sk_hash_u64(&h, c->ans[k][j]);
        }
    }
    for (uint32_t k = 0; k < x->cfg.n_clients; k++) {
        sk_hash_u64(&h, c->at[k]);
    }
    for (uint32_t i = 1; i <= x->cfg.nodes; i++) {
        sk_hash_u64(&h, c->gen[i]);
    }
    sk_hash_u64(&h, c->drops);
    sk_hash_u64(&h, c->dups);
    sk_hash_u64(&h, (uint64_t)c->fails << 16 | (uint64_t)c->crashes << 8 | c->wipes);
    uint8_t d[SK_DIGEST_LEN];
    sk_hash_final(&h, d);
    *a = load64(d) | 1; /* 0 marks an empty slot */
    *b = load64(d + 8);
}

/* Add a digest to the visited set: true when it is new. */
static bool seen_add(struct sk_explorer *x, uint64_t a, uint64_t b)
{
    if ((x->n_seen + 1) * 2 > x->cap_seen) {
        size_t cap = x->cap_seen ? x->cap_seen * 2 : 1u << 16;
        uint64_t *t = calloc(cap * 2, sizeof *t);
        if (t == NULL) {
            x->oom = true;
            return false;
        }
        for (size_t i = 0; i < x->cap_seen; i++) {
            if (x->seen[2 * i] != 0) {
                size_t j = (size_t)(x->seen[2 * i] >> 1) & (cap - 1);
                while (t[2 * j] != 0) {
                    j = (j + 1) & (cap - 1);
                }
                t[2 * j] = x->seen[2 * i];
                t[2 * j + 1] = x->seen[2 * i + 1];
            }
        }
        free(x->seen);
        x->seen = t;
        x->cap_seen = cap;
    }
    size_t j = (size_t)(a >> 1) & (x->cap_seen - 1);
    while (x->seen[2 * j] != 0) {
        if (x->seen[2 * j] == a && x->seen[2 * j + 1] == b) {
            return false;
        }
        j = (j + 1) & (x->cap_seen - 1);
    }
    x->seen[2 * j] = a;
    x->seen[2 * j + 1] = b;
    x->n_seen++;
    return true;
}

/* The steps enabled in c, into out (which has room for max). */
static size_t enabled(const struct sk_explorer *x, const struct conf *c,
                      struct sk_explore_step *out, size_t max)
{
    const struct sk_explore_config *g = &x->cfg;
    size_t k = 0;
    for (uint32_t i = 0; i < c->n_msgs; i++) {
        if (i > 0 && c->msgs[i] == c->msgs[i - 1]) {
            continue; /* two copies of one frame: the same steps */
        }
        if (k + 3 > max) {
            break;
        }
        out[k++] = (struct sk_explore_step){SK_X_DELIVER, c->msgs[i]};
        if (c->drops < g->max_drops) {
            out[k++] = (struct sk_explore_step){SK_X_DROP, c->msgs[i]};
        }
        if (c->dups < g->max_dups) {
            out[k++] = (struct sk_explore_step){SK_X_DUP, c->msgs[i]};
        }
    }
    for (uint32_t i = 0; i < g->n_clients && k < max; i++) {
        uint8_t j = c->next_op[i];
        if (j < g->clients[i].n_ops && (j == 0 || c->ans[i][j - 1] != 0)) {
            out[k++] = (struct sk_explore_step){SK_X_REQUEST, i};
        }
    }
    for (uint32_t i = 1; i <= g->nodes && k < max && !g->no_timers; i++) {
        if (c->n[i]->wake != NONE) {
            out[k++] = (struct sk_explore_step){SK_X_TIMER, i};
        }
    }
    for (uint32_t i = 0; i < g->n_clients; i++) {
        if (!can_fail_over(x, c, i)) {
            continue;
        }
        for (uint32_t j = 1; j <= g->nodes && k < max; j++) {
            if (j != c->at[i]) {
                out[k++] = (struct sk_explore_step){SK_X_FAILOVER, i << 8 | j};
            }
        }
    }
    for (uint32_t i = 1; i <= g->nodes && k + 2 <= max; i++) {
        if (c->crashes < g->max_crashes) {
            out[k++] = (struct sk_explore_step){SK_X_CRASH, i};
        }
        if (c->wipes < g->max_wipes) {
            out[k++] = (struct sk_explore_step){SK_X_WIPE, i};
        }
    }
    return k;
}

/* Whether any step is enabled in c. */
static bool has_steps(const struct sk_explorer *x, const struct conf *c)
{
    if (c->n_msgs > 0) {
        return true;
    }
    for (uint32_t i = 0; i < x->cfg.n_clients; i++) {
        uint8_t j = c->next_op[i];
        if (j < x->cfg.clients[i].n_ops && (j == 0 || c->ans[i][j - 1] != 0)) {
            return true;
        }
    }
    for (uint32_t i = 1; i <= x->cfg.nodes && !x->cfg.no_timers; i++) {
        if (c->n[i]->wake != NONE) {
            return true;
        }
    }
    for (uint32_t i = 0; i < x->cfg.n_clients; i++) {
        if (can_fail_over(x, c, i) && x->cfg.nodes > 1) {
            return true;
        }
    }
    return c->crashes < x->cfg.max_crashes || c->wipes < x->cfg.max_wipes;
}

/* ------------------------------------------------------------ public */

struct sk_explorer *sk_explore_new(const struct sk_explore_config *cfg, char *why,
                                   size_t whylen)
{
    struct sk_explore_config g = *cfg;
    if (g.nodes == 0) {
        g.nodes = 3;
    }
    if (g.phase_timeout_ms == 0) {
        g.phase_timeout_ms = 100;
    }
    const char *bad = NULL;
    if (g.nodes > SK_EXPLORE_MAX_NODES) {
        bad = "too many nodes";
    } else if (g.n_clients > SK_EXPLORE_MAX_CLIENTS) {
        bad = "too many clients";
    } else if (g.max_drops > 255 || g.max_dups > 255 || g.max_failovers > 255 ||
               g.max_crashes > 255 || g.max_wipes > 255) {
        bad = "a fault budget above 255";
    }
    for (uint32_t i = 0; i < g.n_clients && bad == NULL; i++) {
        const struct sk_explore_client *c = &g.clients[i];
        if (c->node < 1 || c->node > g.nodes) {
            bad = "a client sends to a node that does not exist";
        } else if (c->n_ops > SK_EXPLORE_MAX_OPS) {
            bad = "a client with too many operations";
        } else if (c->holder != NULL && (c->holder[0] == 0 || strlen(c->holder) > SK_HOLDER_MAX)) {
            bad = "a client's holder name is empty or too long";
        }
        for (uint32_t k = 0; k < c->n_ops && bad == NULL; k++) {
            if (c->ops[k] != SK_OP_ACQUIRE && c->ops[k] != SK_OP_RELEASE) {
                bad = "an operation other than acquire or release";
            }
        }
    }
    if (bad != NULL) {
        if (why != NULL && whylen > 0) {
            snprintf(why, whylen, "%s", bad);
        }
        return NULL;
    }
    struct sk_explorer *x = calloc(1, sizeof *x);
    if (x == NULL) {
        return NULL;
    }
    x->cfg = g;
    for (uint32_t i = 0; i < g.n_clients; i++) {
        snprintf(x->holders[i], sizeof x->holders[i], "c%u", i + 1);
        x->holder[i] = g.clients[i].holder != NULL ? g.clients[i].holder : x->holders[i];
    }
    for (uint32_t i = 1; i <= g.nodes; i++) {
        snprintf(x->names[i], sizeof x->names[i], "n%u", i);
        struct sk_config *c = &x->ncfg[i];
        c->id = i;
        c->name = x->names[i];
        c->cluster_size = g.nodes;
        c->phase_timeout_ms = g.phase_timeout_ms;
        c->classic = g.classic;
        c->seed = g.seed;
    }
    return x;
}

static struct conf *initial(struct sk_explorer *x)
{
    struct conf *c = calloc(1, sizeof *c);
    if (c == NULL) {
        x->oom = true;
        return NULL;
    }
    for (uint32_t k = 0; k < x->cfg.n_clients; k++) {
        c->at[k] = (uint8_t)x->cfg.clients[k].node;
    }
    for (uint32_t i = 1; i <= x->cfg.nodes; i++) {
        struct sk_node *n = sk_node_new(&x->ncfg[i], x->cfg.st, 0);
        if (n == NULL) {
            x->oom = true;
            conf_free(x, c);
            return NULL;
        }
        struct sk_actions a;
        sk_node_actions(n, &a); /* its node record */
        uint64_t wake = a.wakeup_ms;
        sk_node_advance(n);
        c->n[i] = node_intern(x, n, wake);
        if (c->n[i] == NULL) {
            conf_free(x, c);
            return NULL;
        }
    }
    return c;
}

static bool remember(struct sk_explorer *x, uint32_t parent, struct sk_explore_step t)
{
    if (x->n_seen > x->cap_parent) {
        size_t cap = x->cap_parent ? x->cap_parent * 2 : 1u << 16;
        uint32_t *p = xrealloc(x, x->parent, cap * sizeof *p);
        if (p == NULL) {
            return false;
        }
        x->parent = p;
        struct sk_explore_step *s = xrealloc(x, x->step, cap * sizeof *s);
        if (s == NULL) {
            return false;
        }
        x->step = s;
        x->cap_parent = cap;
    }
    x->parent[x->n_seen - 1] = parent;
    x->step[x->n_seen - 1] = t;
    return true;
}

static void make_path(struct sk_explorer *x, uint32_t id, struct sk_explore_result *out)
{
    size_t len = 0;
    for (uint32_t at = id; at != 0; at = x->parent[at]) {
        len++;
    }
    free(x->path);
    x->path = malloc((len ? len : 1) * sizeof *x->path);
    if (x->path == NULL) {
        x->oom = true;
        return;
    }
    size_t k = len;
    for (uint32_t at = id; at != 0; at = x->parent[at]) {
        x->path[--k] = x->step[at];
    }
    out->path = x->path;
    out->path_len = len;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Every enabled step of one configuration: at most 3 per distinct frame,
 * one per client and per node. */
static size_t max_steps(const struct sk_explorer *x, const struct conf *c)
{
    return 3u * c->n_msgs + x->cfg.n_clients * (x->cfg.nodes + 1) + 3u * x->cfg.nodes;
}

int sk_explore_run(struct sk_explorer *x, struct sk_explore_result *out)
{
    memset(out, 0, sizeof *out);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    x->oom = false;
    x->tracing = false;
    x->hook_errors = 0;
    x->hook_error[0] = 0;
    if (x->seen != NULL) { /* a second run starts afresh */
        memset(x->seen, 0, x->cap_seen * 2 * sizeof *x->seen);
        x->n_seen = 0;
    }
    struct conf *root = initial(x);
    if (root == NULL) {
        return SK_ENOMEM;
    }
    uint64_t a, b;
    conf_digest(x, root, &a, &b);
    seen_add(x, a, b);
    root->id = 0;
    remember(x, 0, (struct sk_explore_step){0, 0});
    /* the frontier: a queue of configurations, in depth order */
    struct conf **q = malloc(1024 * sizeof *q);
    size_t qh = 0, qt = 0, qcap = 1024;
    struct sk_explore_step *steps = NULL;
    size_t steps_cap = 0;
    if (q == NULL) {
        conf_free(x, root);
        return SK_ENOMEM;
    }
    q[qt++] = root;
    while (qh < qt && !out->violation && !x->oom) {
        struct conf *c = q[qh];
        q[qh++] = NULL;
        if (qh > 4096 && qh * 2 > qt) { /* reuse the queue's consumed front */
            memmove(q, q + qh, (qt - qh) * sizeof *q);
            qt -= qh;
            qh = 0;
        }
        if (c->depth > out->depth) {
            out->depth = c->depth;
        }
        size_t need = max_steps(x, c);
        if (need > steps_cap) {
            steps_cap = need * 2;
            struct sk_explore_step *s = xrealloc(x, steps, steps_cap * sizeof *s);
            if (s == NULL) {
                conf_free(x, c);
                break;
            }
            steps = s;
        }
        size_t ns = enabled(x, c, steps, steps_cap);
        if (ns == 0 && violated_at(x, c, true, &out->histories, out->what, sizeof out->what)) {
            out->violation = true; /* an ending whose history fails the checker */
            make_path(x, c->id, out);
            conf_free(x, c);
            break;
        }
        if (x->cfg.max_depth != 0 && c->depth >= x->cfg.max_depth) {
            out->depth_bound |= ns > 0;
            conf_free(x, c);
            continue;
        }
        out->expanded++;
        for (size_t k = 0; k < ns && !out->violation && !x->oom; k++) {
            struct conf *s = successor(x, c, steps[k]);
            if (s == NULL) {
                continue;
            }
            out->transitions++;
            conf_digest(x, s, &a, &b);
            if (!seen_add(x, a, b)) {
                conf_free(x, s);
                continue;
            }
            s->id = (uint32_t)(x->n_seen - 1);
            if (!remember(x, c->id, steps[k])) {
                conf_free(x, s);
                break;
            }
            bool last = x->cfg.max_depth != 0 && s->depth >= x->cfg.max_depth;
            if (violated_at(x, s, last || s->answered, &out->histories, out->what, sizeof out->what)) {
                out->violation = true;
                make_path(x, s->id, out);
                if (s->depth > out->depth) {
                    out->depth = s->depth;
                }
                conf_free(x, s);
                break;
            }
            if (x->cfg.max_states != 0 && x->n_seen >= x->cfg.max_states) {
                out->state_bound = true;
                conf_free(x, s);
                break;
            }
            if (x->cfg.max_depth != 0 && s->depth >= x->cfg.max_depth) {
                /* the last level: checked, never expanded, so not kept */
                if (s->depth > out->depth) {
                    out->depth = s->depth;
                }
                if (!out->depth_bound) {
                    out->depth_bound = has_steps(x, s);
                }
                conf_free(x, s);
                continue;
            }
            if (qt == qcap) {
                struct conf **nq = xrealloc(x, q, qcap * 2 * sizeof *nq);
                if (nq == NULL) {
                    conf_free(x, s);
                    break;
                }
                q = nq;
                qcap *= 2;
            }
            q[qt++] = s;
        }
        conf_free(x, c);
        if (out->state_bound) {
            break;
        }
    }
    for (size_t k = qh; k < qt; k++) {
        conf_free(x, q[k]);
    }
    free(q);
    free(steps);
    out->distinct = x->n_seen;
    out->node_states = x->n_nodes;
    out->hook_errors = x->hook_errors;
    snprintf(out->hook_error, sizeof out->hook_error, "%s", x->hook_error);
    out->seconds = seconds_since(&t0);
    return x->oom ? SK_ENOMEM : 0;
}

/* One step of a replayed path: *c becomes its successor by t. 0, or
 * SK_EINVAL (t is not enabled in *c) or SK_ENOMEM; *c is kept on error. */
static int advance(struct sk_explorer *x, struct conf **c, struct sk_explore_step t)
{
    struct conf *s = successor(x, *c, t);
    if (s == NULL) {
        return x->oom ? SK_ENOMEM : SK_EINVAL;
    }
    conf_free(x, *c);
    *c = s;
    return 0;
}

int sk_explore_replay(struct sk_explorer *x, const struct sk_explore_step *path, size_t len,
                      sk_put_fn put, void *ud, bool *violated)
{
    if (violated != NULL) {
        *violated = false;
    }
    x->oom = false;
    struct conf *c = initial(x);
    if (c == NULL) {
        return SK_ENOMEM;
    }
    int rv = 0;
    x->tracing = true;
    for (size_t k = 0; k < len && rv == 0; k++) {
        x->trace_len = 0;
        char t[256];
        sk_explore_step_text(x, path[k], t, sizeof t);
        rv = advance(x, &c, path[k]);
        if (rv != 0) {
            break;
        }
        char head[300];
        int n = snprintf(head, sizeof head, "%3zu. %s", k + 1, t);
        rv = put(ud, head, (size_t)(n < (int)sizeof head ? n : (int)sizeof head - 1));
        if (rv == 0 && x->trace_len > 0) {
            rv = put(ud, x->trace, x->trace_len);
        }
        if (rv == 0) {
            rv = put(ud, "\n", 1);
        }
    }
    x->tracing = false;
    char what[256];
    if (rv == 0 && violated != NULL) {
        *violated = violated_at(x, c, true, NULL, what, sizeof what);
    }
    conf_free(x, c);
    return rv;
}

int sk_explore_events(struct sk_explorer *x, const struct sk_explore_step *path, size_t len,
                      void (*cb)(void *ud, const struct sk_sim_event *ev), void *ud)
{
    x->oom = false;
    x->ev_cb = cb;
    x->ev_ud = ud;
    x->ev_t = 0;
    x->ev_next_id = 0;
    x->n_q = 0;
    memset(x->ev_attempt, 0, sizeof x->ev_attempt);
    struct conf *c = initial(x);
    int rv = c == NULL ? SK_ENOMEM : 0;
    for (size_t k = 0; k < len && rv == 0; k++) {
        x->ev_t = k + 1;
        rv = advance(x, &c, path[k]);
    }
    conf_free(x, c);
    x->ev_cb = NULL;
    return rv != 0 ? rv : x->oom ? SK_ENOMEM : 0;
}

const char *sk_explore_node_name(const struct sk_explorer *x, uint32_t i)
{
    return i >= 1 && i <= x->cfg.nodes ? x->names[i] : "?";
}

const char *sk_explore_client_name(const struct sk_explorer *x, uint32_t c)
{
    return c < x->cfg.n_clients ? x->holder[c] : "?";
}

void sk_explore_free(struct sk_explorer *x)
{
    if (x == NULL) {
        return;
    }
    for (size_t i = 0; i < x->cap_nodes; i++) {
        if (x->nodes[i] != NULL) {
            sk_node_free(x->nodes[i]->node);
            free(x->nodes[i]);
        }
    }
    free(x->nodes);
    free(x->fr);
    free(x->pool);
    free(x->fr_slots);
    free(x->seen);
    free(x->parent);
    free(x->step);
    free(x->path);
    free(x->trace);
    free(x->q_fr);
    free(x->q_id);
    free(x);
}
