/* node.c - one Skinny instance: per-key registers, the acceptor and the
 * proposer, as a sans-IO state machine (sk.h).
 *
 * Inputs are messages, ticks and client requests; outputs are batches of
 * persist records, frames to send, client replies and notes. The acceptor
 * rules stay here, in C, because safety rests on them; every proposer
 * decision goes through the strategy vtable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define NO_WAKEUP UINT64_MAX

/* ------------------------------------------------------------- registers */

struct proposal;

struct reg {
    struct sk_ballot promised; /* acceptor: highest ballot promised */
    struct sk_ballot accepted; /* acceptor: ballot of the accepted value */
    struct sk_buf value;       /* acceptor: accepted value (opaque) */
    struct sk_ballot last;     /* proposer: our previous ballot for the key */
    struct sk_ballot highest;  /* proposer: highest ballot seen in replies */
    struct sk_ballot fast;     /* proposer: a majority promised this ballot and
                                  had last accepted fast_value (zero: none) */
    struct sk_buf fast_value;
    struct proposal *head;     /* proposer: active request first, then queued */
    struct proposal *tail;
    /* rejoined instances: 0 caught up; 1 must fetch before voting; 2 fetching */
    uint8_t fetch;
    uint32_t fetched;          /* peers whose FETCHED counted */
    uint64_t fetch_at;         /* resend the FETCH then */
    uint32_t key_len;
    uint8_t key[];
};

struct promise_rec {
    uint32_t from;
    struct sk_ballot accepted;
    struct sk_buf value;
};

struct proposal {
    struct proposal *next;
    struct reg *reg;
    uint64_t req_id;
    uint64_t client, cseq; /* the request's identity (sk_client_req) */
    uint64_t fence;
    uint8_t op;
    uint32_t ttl_ms;
    uint32_t holder_len;
    uint8_t holder[SK_HOLDER_MAX];
    uint32_t attempt;   /* 0 before the first attempt */
    uint64_t seq;       /* id of the current attempt, echoed in replies */
    int phase;          /* 0: not started or backing off; 1 or 2 */
    struct sk_ballot ballot;
    uint32_t yeas, nays;
    uint32_t answered;  /* bitmask of nodes heard from in this phase */
    uint64_t deadline;  /* phase timeout, or end of backoff */
    size_t n_promises;
    struct promise_rec promises[SK_MAX_NODES];
    struct sk_buf new_value;
    struct sk_lock_reply lock_reply;
    bool waited;        /* the answer came after waiting in the lock's queue */
    bool timed_out;     /* why the last attempt failed */
    bool fast_wanted;   /* skip_phase1 said yes: piggyback the next promise */
    uint32_t piggy_acks; /* accepts that also promised our next ballot */
    uint64_t fill_ms;   /* thrifty: send to the rest after this long; 0: not thrifty */
    uint64_t fill_at;   /* when the rest get this phase's message; 0: done */
    uint32_t sent;      /* bitmask of nodes this phase's message went to */
    uint32_t n_order;   /* peers in the order their answers came */
    uint32_t order[SK_MAX_NODES];
};

/* One entry of a register value's sessions table (see "envelope" below). */
struct session {
    uint8_t holder_len;
    const uint8_t *holder;
    uint64_t seq, client;
    uint8_t status;
    uint64_t token;
    uint8_t by_len; /* the holder named in the answer, when not the requester; BY_NOBODY:
                       the answer named no holder (a not_holder on a free lock) */
    const uint8_t *by;
};

/* Most entries a value can hold: the smallest entry is 27 bytes. */
#define MAX_SESSIONS (SK_VALUE_MAX / 27 + 1)

/* The longest a backoff or a thrifty fill-in delay may be: an hour. */
#define MAX_WAIT_MS (3600u * 1000u)

/* ---------------------------------------------------------------- output */

struct out_persist {
    size_t key, value;
    uint32_t key_len, value_len;
    struct sk_ballot promised, accepted;
};
struct out_send {
    uint32_t to;
    size_t frame;
    uint32_t len;
};
struct out_reply {
    uint64_t req_id;
    uint8_t status;
    bool waited;
    uint64_t token;
    size_t key, holder, text;
    uint32_t key_len;
    struct sk_ballot ballot;
};
struct out_note {
    uint8_t kind;
    size_t key, value, text;
    uint32_t key_len, value_len;
    struct sk_ballot ballot;
    uint64_t req_id;
    uint32_t phase;
};

#define VEC(T)                                                                 \
    struct {                                                                   \
        T *v;                                                                  \
        size_t n, cap;                                                         \
    }

struct sk_node {
    struct sk_config cfg;
    char name[64];
    const struct sk_strategy *st;
    struct sk_rng rng;
    uint64_t now;
    uint32_t majority;
    /* thrifty proposals go to the first majority - 1 of these peers: the
     * order in which they last answered, fastest first */
    uint32_t pref[SK_MAX_NODES];
    /* registers: open addressing, linear probing, pointers stable */
    struct reg **slots;
    size_t n_slots, n_regs;
    size_t n_pending; /* proposals queued or active */
    uint64_t next_seq;
    /* active proposals (those at the head of a register's queue) */
    VEC(struct proposal *) active;
    /* Rejoining after state loss (PROTOCOL.md 7.6). */
    bool member;              /* votes; false while rejoining */
    bool record_dirty;        /* the node record must be persisted */
    int join_phase;           /* 1: asking for epochs; 2: announcing join_epoch */
    uint64_t join_seq, join_at, join_epoch, join_max;
    uint32_t join_ok, join_blank; /* peers (bits) that answered ok / blank this phase */
    struct sk_ballot fence;   /* (epoch << 32, id) of the last rejoin; zero: none */
    uint64_t max_epoch;       /* highest epoch seen in a promise or acknowledged */
    uint32_t ann_from;        /* the last epoch recorded: who announced it, in which JOIN */
    uint64_t ann_seq;
    VEC(struct reg *) fetching;
    VEC(struct reg *) due;
    /* the batch being built, with offsets into arena */
    struct sk_buf arena;
    VEC(struct out_persist) o_persist;
    VEC(struct out_send) o_send;
    VEC(struct out_reply) o_reply;
    VEC(struct out_note) o_note;
    /* the batch handed out, pointers resolved */
    VEC(struct sk_persist) persist;
    VEC(struct sk_send) send;
    VEC(struct sk_reply) reply;
    VEC(struct sk_note) note;
    /* messages to ourselves, delivered in order before an input returns */
    struct sk_buf selfq;
    size_t selfq_head;
    bool draining;
    struct sk_node_stats stats;
    char errmsg[SK_ERRMSG_LEN];
    /* scratch space of one input, allocated on demand (a clone has none
     * until its first input; sk_node_trim frees it) */
    struct work *w;
};

/* Nothing in here outlives the input that uses it. */
struct work {
    uint8_t scratch[SK_FRAME_MAX + 4];
    uint8_t selfbuf[SK_FRAME_MAX + 4];
    uint8_t state_buf[SK_STATE_MAX];
    /* start_phase2's parse of the picked value, and env_write's scratch */
    struct session sessions[MAX_SESSIONS];
    bool keep[MAX_SESSIONS];
};

static int work_ensure(struct sk_node *n)
{
    if (n->w == NULL) {
        n->w = sk__malloc(sizeof *n->w);
    }
    return n->w != NULL ? 0 : SK_ENOMEM;
}

static int vec_grow(void **v, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) {
        return 0;
    }
    size_t c = *cap ? *cap * 2 : 8;
    while (c < need) {
        c *= 2;
    }
    void *p = sk__realloc(*v, c * elem);
    if (p == NULL) {
        return SK_ENOMEM;
    }
    *v = p;
    *cap = c;
    return 0;
}

#define VEC_PUSH(vec, item)                                                    \
    (vec_grow((void **)&(vec).v, &(vec).cap, (vec).n + 1, sizeof *(vec).v) == 0 \
         ? ((vec).v[(vec).n++] = (item), 0)                                    \
         : SK_ENOMEM)

/* Remove the first entry equal to item, keeping the order of the rest (the
 * vectors are iterated in order: deterministic ticks). */
#define VEC_REMOVE(vec, item)                                                  \
    do {                                                                       \
        for (size_t vi_ = 0; vi_ < (vec).n; vi_++) {                           \
            if ((vec).v[vi_] == (item)) {                                      \
                memmove(&(vec).v[vi_], &(vec).v[vi_ + 1],                      \
                        ((vec).n - vi_ - 1) * sizeof *(vec).v);                \
                (vec).n--;                                                     \
                break;                                                         \
            }                                                                  \
        }                                                                      \
    } while (0)

#define VEC_FREE(vec) (sk__free((vec).v), (vec).v = NULL, (vec).n = (vec).cap = 0)

/* Out of memory while building a batch is an invariant we cannot keep
 * (a persist record we cannot hand out must not be followed by its send). */
static void oom(void)
{
    fprintf(stderr, "skinny core: out of memory building an actions batch\n");
    abort();
}

static size_t arena_put(struct sk_node *n, const void *p, size_t len)
{
    size_t off = n->arena.len;
    if (sk__buf_reserve(&n->arena, off + len + 1) != 0) {
        oom();
    }
    if (len) {
        memcpy(n->arena.data + off, p, len);
    }
    n->arena.data[off + len] = 0; /* strings handed out are NUL-terminated */
    n->arena.len = off + len + 1;
    return off;
}

/* r: the register the note is about, or NULL for the whole instance (a
 * rejoin's steps). */
static void note(struct sk_node *n, uint8_t kind, const struct reg *r, struct sk_ballot b,
                 const uint8_t *value, size_t value_len, uint64_t req_id, uint32_t phase,
                 const char *text)
{
    struct out_note o = {0};
    o.kind = kind;
    o.key = r != NULL ? arena_put(n, r->key, r->key_len) : arena_put(n, NULL, 0);
    o.key_len = r != NULL ? r->key_len : 0;
    o.value = arena_put(n, value, value_len);
    o.value_len = (uint32_t)value_len;
    o.text = text != NULL ? arena_put(n, text, strlen(text)) : SIZE_MAX;
    o.ballot = b;
    o.req_id = req_id;
    o.phase = phase;
    if (VEC_PUSH(n->o_note, o) != 0) {
        oom();
    }
}

/* ------------------------------------------------------------- registers */

static uint64_t hash_key(const uint8_t *k, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h = (h ^ k[i]) * 0x100000001b3ull;
    }
    return h;
}

static struct reg **slot_for(struct reg **slots, size_t n_slots, const uint8_t *k, size_t len)
{
    size_t i = (size_t)hash_key(k, len) & (n_slots - 1);
    for (;;) {
        struct reg *r = slots[i];
        if (r == NULL || (r->key_len == len && memcmp(r->key, k, len) == 0)) {
            return &slots[i];
        }
        i = (i + 1) & (n_slots - 1);
    }
}

static struct reg *reg_find(const struct sk_node *n, const uint8_t *k, size_t len)
{
    return *slot_for(n->slots, n->n_slots, k, len);
}

static int reg_grow(struct sk_node *n)
{
    size_t ns = n->n_slots * 2;
    struct reg **s = sk__malloc(ns * sizeof *s);
    if (s == NULL) {
        return SK_ENOMEM;
    }
    memset(s, 0, ns * sizeof *s);
    for (size_t i = 0; i < n->n_slots; i++) {
        struct reg *r = n->slots[i];
        if (r != NULL) {
            *slot_for(s, ns, r->key, r->key_len) = r;
        }
    }
    sk__free(n->slots);
    n->slots = s;
    n->n_slots = ns;
    return 0;
}

static struct reg *reg_get(struct sk_node *n, const uint8_t *k, size_t len)
{
    struct reg **slot = slot_for(n->slots, n->n_slots, k, len);
    if (*slot != NULL) {
        return *slot;
    }
    if ((n->n_regs + 1) * 4 > n->n_slots * 3) {
        if (reg_grow(n) != 0) {
            return NULL;
        }
        slot = slot_for(n->slots, n->n_slots, k, len);
    }
    struct reg *r = sk__malloc(sizeof *r + len);
    if (r == NULL) {
        return NULL;
    }
    memset(r, 0, sizeof *r);
    r->key_len = (uint32_t)len;
    memcpy(r->key, k, len);
    /* an instance that lost its state does not know this register: it
     * must catch up before it votes on it (sk_node_restore clears this) */
    r->fetch = (!n->member || !sk_ballot_is_zero(n->fence)) ? 1 : 0;
    *slot = r;
    n->n_regs++;
    return r;
}

/* ------------------------------------------------------------------ send */

static void selfq_push(struct sk_node *n, const uint8_t *frame, size_t len)
{
    size_t off = n->selfq.len;
    if (sk__buf_reserve(&n->selfq, off + len) != 0) {
        oom();
    }
    memcpy(n->selfq.data + off, frame, len);
    n->selfq.len = off + len;
}

static void send_msg(struct sk_node *n, uint32_t to, struct sk_msg *m)
{
    m->from = n->cfg.id;
    m->to = to;
    int len = sk_msg_encode(m, n->w->scratch, sizeof n->w->scratch);
    if (len < 0) {
        /* Our own message does not encode: sizes are checked on input, so
         * this is a broken invariant. */
        fprintf(stderr, "skinny core: cannot encode %s: %s\n", sk_msg_type_name(m->type),
                sk_strerror(len));
        abort();
    }
    n->stats.msgs_sent++;
    if (to == n->cfg.id) {
        selfq_push(n, n->w->scratch, (size_t)len);
        return;
    }
    struct out_send o = {to, arena_put(n, n->w->scratch, (size_t)len), (uint32_t)len};
    if (VEC_PUSH(n->o_send, o) != 0) {
        oom();
    }
}

static void broadcast(struct sk_node *n, struct sk_msg *m)
{
    /* ourselves first: our own promise is then durable in the same batch
     * as the messages to the others */
    send_msg(n, n->cfg.id, m);
    for (uint32_t i = 1; i <= n->cfg.cluster_size; i++) {
        if (i != n->cfg.id) {
            send_msg(n, i, m);
        }
    }
}

static void persist(struct sk_node *n, const struct reg *r)
{
    if (n->cfg.classic & SK_CLASSIC_NO_PERSIST) {
        return;
    }
    struct out_persist o;
    o.key = arena_put(n, r->key, r->key_len);
    o.key_len = r->key_len;
    o.value = arena_put(n, r->value.data, r->value.len);
    o.value_len = (uint32_t)r->value.len;
    o.promised = r->promised;
    o.accepted = r->accepted;
    if (VEC_PUSH(n->o_persist, o) != 0) {
        oom();
    }
}

/* The node record (key_len 0; see struct sk_persist in sk.h). */
static void persist_record(struct sk_node *n)
{
    n->record_dirty = false;
    if (n->cfg.classic & SK_CLASSIC_NO_PERSIST) {
        return;
    }
    struct sk_persist rec;
    sk_node_record(n, &rec);
    struct out_persist o = {0};
    o.key = arena_put(n, NULL, 0);
    o.value = arena_put(n, NULL, 0);
    o.promised = rec.promised;
    o.accepted = rec.accepted;
    if (VEC_PUSH(n->o_persist, o) != 0) {
        oom();
    }
}

/* Ballots are epoch-major: the high 32 bits of a round are its epoch, and
 * only a rejoining instance opens a new one (PROTOCOL.md 7.6). */
#define EPOCH_OF(b) ((b).round >> 32)

static void saw_epoch(struct sk_node *n, struct sk_ballot b)
{
    if (EPOCH_OF(b) > n->max_epoch) {
        n->max_epoch = EPOCH_OF(b);
    }
}

/* -------------------------------------------------------------- acceptor */

static void reply_to(struct sk_node *n, const struct sk_msg *in, uint8_t type,
                     struct sk_msg *out)
{
    out->type = type;
    out->seq = in->seq;
    out->ballot = in->ballot;
    out->key = in->key;
    out->key_len = in->key_len;
    send_msg(n, in->from, out);
}

/* Paxos Made Simple, P1a: "An acceptor can accept a proposal numbered n iff
 * it has not responded to a prepare request having a number greater than
 * n"; phase 1b: promise only a number greater than any promised before, and
 * answer with the highest-numbered proposal accepted. */
static void acceptor_on_prepare(struct sk_node *n, struct reg *r, const struct sk_msg *m)
{
    struct sk_msg out = {0};
    if (sk_ballot_cmp(m->ballot, r->promised) > 0) {
        r->promised = m->ballot;
        saw_epoch(n, r->promised);
        if (m->ballot.node != n->cfg.id) {
            r->fast = (struct sk_ballot){0, 0}; /* someone else is proposing */
        }
        persist(n, r);
        note(n, SK_NOTE_PROMISED, r, m->ballot, NULL, 0, m->seq, 1, NULL);
        out.other = r->accepted;
        out.value = r->value.data;
        out.value_len = (uint32_t)r->value.len;
        reply_to(n, m, SK_MSG_PROMISE, &out);
    } else {
        out.phase = 1;
        out.other = r->promised;
        note(n, SK_NOTE_REFUSED, r, m->ballot, NULL, 0, m->seq, 1, NULL);
        reply_to(n, m, SK_MSG_NAY, &out);
    }
}

/* Phase 2b: accept unless a higher ballot was promised; accepting also
 * raises the promise (TLA+ Paxos Phase2b: maxBal' = m.bal). The original
 * Skinny did not raise it (flaw F2), reproduced by SK_CLASSIC_NO_RAISE. */
static void acceptor_on_accept(struct sk_node *n, struct reg *r, const struct sk_msg *m)
{
    struct sk_msg out = {0};
    if (sk_ballot_cmp(m->ballot, r->promised) >= 0) {
        if (sk__buf_set(&r->value, m->value, m->value_len) != 0) {
            oom();
        }
        if (!(n->cfg.classic & SK_CLASSIC_NO_RAISE)) {
            r->promised = m->ballot;
            /* The one-round-trip optimisation (CASPaxos 2.2.1): an accept may
             * carry the proposer's next ballot, (round + 1, same node), which
             * the acceptor promises in the same step. */
            if (m->other.node == m->ballot.node && m->other.round == m->ballot.round + 1 &&
                m->ballot.round < UINT64_MAX) {
                r->promised = m->other;
                out.other = m->other;
            }
        }
        r->accepted = m->ballot;
        saw_epoch(n, r->promised);
        persist(n, r);
        note(n, SK_NOTE_ACCEPTED, r, m->ballot, m->value, m->value_len, m->seq, 2, NULL);
        reply_to(n, m, SK_MSG_ACCEPTED, &out);
    } else if (n->cfg.classic & SK_CLASSIC_ACK_REJECTED) {
        note(n, SK_NOTE_REFUSED, r, m->ballot, NULL, 0, m->seq, 2, "acknowledged anyway (classic)");
        reply_to(n, m, SK_MSG_ACCEPTED, &out);
    } else {
        out.phase = 2;
        out.other = r->promised;
        note(n, SK_NOTE_REFUSED, r, m->ballot, NULL, 0, m->seq, 2, NULL);
        reply_to(n, m, SK_MSG_NAY, &out);
    }
}

/* -------------------------------------------------------------- envelope */

/* A register value is an envelope: the sessions table, then the lock state
 * (spec/PROTOCOL.md 9.1). The table remembers, per holder, the last request
 * of that holder applied to this lock, by its identity (seq, client), and the
 * answer it got. Every value a proposer writes descends from the value it
 * picked (CASPaxos), so a request applied in the chain behind a value is
 * either still named in that value's table, or older than a later request of
 * its holder that is, or at most the table's floor (the highest seq it has
 * forgotten). In each case a copy of it can be told apart from a new request:
 * a duplicate gets its answer again, anything else older is stale. */
#define ENV_HDR 11 /* 'S', u16 count, u64 floor */

/* A parsed value. s points at room for MAX_SESSIONS entries, or is NULL
 * when only the floor and the lock state are wanted. */
struct envelope {
    size_t n;
    uint64_t floor;
    struct session *s;
    const uint8_t *state;
    size_t state_len;
};

/* by_len of an entry whose answer named no holder (no by bytes follow) */
#define BY_NOBODY 0xFF
/* status bit of an entry answered after waiting in the lock's queue (its
 * acquire was answered QUEUED first); with GRANTED or REFUSED only */
#define ST_WAITED 0x40

static size_t by_bytes(const struct session *e)
{
    return e->by_len == BY_NOBODY ? 0u : e->by_len;
}

static size_t session_size(const struct session *e)
{
    return 27u + e->holder_len + by_bytes(e);
}

/* (seq, client) order of request identities. */
static int ident_cmp(uint64_t seq_a, uint64_t client_a, uint64_t seq_b, uint64_t client_b)
{
    if (seq_a != seq_b) {
        return seq_a < seq_b ? -1 : 1;
    }
    return client_a < client_b ? -1 : client_a > client_b ? 1 : 0;
}

static int bytes_cmp(const uint8_t *a, size_t la, const uint8_t *b, size_t lb)
{
    int c = memcmp(a, b, la < lb ? la : lb);
    return c != 0 ? c : la < lb ? -1 : la > lb ? 1 : 0;
}

/* Version 1 values ('K': one slot per proposer, tagged with ballots) are read
 * for their lock state only; their slots named attempts, not requests. */
static int env_parse_v1(const uint8_t *v, size_t len, struct envelope *e)
{
    if (len < 2 || v[1] > SK_MAX_NODES) {
        return SK_EFRAME;
    }
    size_t at = 2;
    for (size_t i = 0; i < v[1]; i++) {
        if (len - at < 26 || len - at - 26 < v[at + 25]) {
            return SK_EFRAME;
        }
        at += 26u + v[at + 25];
    }
    e->state = v + at;
    e->state_len = len - at;
    return 0;
}

static bool entry_status_ok(uint8_t st)
{
    uint8_t base = st & (uint8_t)~ST_WAITED;
    if (st & ST_WAITED) {
        return base == SK_ST_GRANTED || base == SK_ST_REFUSED;
    }
    return (base >= SK_ST_GRANTED && base <= SK_ST_NOT_HOLDER) || base == SK_ST_QUEUED;
}

static int env_parse(const uint8_t *v, size_t len, struct envelope *e)
{
    e->n = 0;
    e->floor = 0;
    e->state = v;
    e->state_len = 0;
    if (len == 0) {
        return 0;
    }
    if (v[0] == 'K') {
        return env_parse_v1(v, len, e);
    }
    if (len < ENV_HDR || v[0] != 'S') {
        return SK_EFRAME;
    }
    size_t n = sk__get16(v + 1);
    e->floor = sk__get64(v + 3);
    size_t at = ENV_HDR;
    if (n > MAX_SESSIONS) {
        return SK_EFRAME;
    }
    struct session prev = {0}, cur;
    for (size_t i = 0; i < n; i++) {
        struct session *x = e->s != NULL ? &e->s[i] : &cur;
        if (len - at < 1 || len - at - 1 < v[at]) {
            return SK_EFRAME;
        }
        x->holder_len = v[at];
        x->holder = v + at + 1;
        at += 1u + x->holder_len;
        if (len - at < 26) {
            return SK_EFRAME;
        }
        x->seq = sk__get64(v + at);
        x->client = sk__get64(v + at + 8);
        x->status = v[at + 16];
        x->token = sk__get64(v + at + 17);
        x->by_len = v[at + 25];
        at += 26;
        if (len - at < by_bytes(x) || x->holder_len > SK_HOLDER_MAX ||
            (x->by_len > SK_HOLDER_MAX && x->by_len != BY_NOBODY) ||
            !entry_status_ok(x->status) ||
            x->seq == 0 ||
            x->client == 0 ||
            (i > 0 && bytes_cmp(prev.holder, prev.holder_len, x->holder, x->holder_len) >= 0)) {
            return SK_EFRAME;
        }
        x->by = v + at;
        at += by_bytes(x);
        prev = *x;
    }
    e->n = n;
    e->state = v + at;
    e->state_len = len - at;
    return 0;
}

int sk_value_state(const uint8_t *v, size_t len, const uint8_t **state, size_t *state_len)
{
    struct envelope e = {0};
    int rv = env_parse(v, len, &e);
    *state = rv == 0 ? e.state : NULL;
    *state_len = rv == 0 ? e.state_len : 0;
    return rv;
}

/* env_parse, then the lock state is data (sk_value_check): one parse for
 * both, with the reason in why. */
static int env_parse_checked(const uint8_t *v, size_t len, struct envelope *e, char *why,
                             size_t whylen)
{
    if (env_parse(v, len, e) != 0) {
        if (why != NULL && whylen > 0) {
            snprintf(why, whylen, "not a register value (its sessions table is malformed)");
        }
        return SK_EFRAME;
    }
    return sk_value_check(e->state, e->state_len, why, whylen);
}

int sk_register_value_check(const uint8_t *v, size_t len, char *why, size_t whylen)
{
    struct envelope e = {0};
    return env_parse_checked(v, len, &e, why, whylen);
}

static const struct session *env_find(const struct envelope *e, const uint8_t *holder,
                                      size_t holder_len)
{
    for (size_t i = 0; i < e->n; i++) {
        if (bytes_cmp(e->s[i].holder, e->s[i].holder_len, holder, holder_len) == 0) {
            return &e->s[i];
        }
    }
    return NULL;
}

static uint8_t *session_put(uint8_t *p, const struct session *x)
{
    *p++ = x->holder_len;
    memcpy(p, x->holder, x->holder_len);
    p += x->holder_len;
    p = sk__put64(p, x->seq);
    p = sk__put64(p, x->client);
    *p++ = x->status;
    p = sk__put64(p, x->token);
    *p++ = x->by_len;
    memcpy(p, x->by, by_bytes(x));
    return p + by_bytes(x);
}

/* Write envelope e with `mine` in place of its holder's entry, then the
 * state, into out (SK_VALUE_MAX bytes). When the whole does not fit, the
 * entries with the oldest identities are forgotten first (never mine) and
 * the floor rises to the highest seq forgotten. keep[] is scratch. */
static size_t env_write(const struct envelope *e, const struct session *mine, const uint8_t *state,
                        size_t state_len, uint8_t *out, bool *keep)
{
    size_t total = ENV_HDR + session_size(mine) + state_len;
    uint64_t floor = e->floor;
    for (size_t i = 0; i < e->n; i++) {
        keep[i] = bytes_cmp(e->s[i].holder, e->s[i].holder_len, mine->holder,
                            mine->holder_len) != 0;
        total += keep[i] ? session_size(&e->s[i]) : 0;
    }
    while (total > SK_VALUE_MAX) {
        size_t old = SIZE_MAX;
        for (size_t i = 0; i < e->n; i++) {
            if (keep[i] && (old == SIZE_MAX || ident_cmp(e->s[i].seq, e->s[i].client,
                                                         e->s[old].seq, e->s[old].client) < 0)) {
                old = i;
            }
        }
        if (old == SIZE_MAX) {
            break; /* cannot happen: state and one entry always fit */
        }
        keep[old] = false;
        total -= session_size(&e->s[old]);
        if (e->s[old].seq > floor) {
            floor = e->s[old].seq;
        }
    }
    uint8_t *p = out + ENV_HDR;
    size_t n = 0;
    bool placed = false;
    for (size_t i = 0; i < e->n; i++) {
        if (!placed && bytes_cmp(mine->holder, mine->holder_len, e->s[i].holder,
                                 e->s[i].holder_len) < 0) {
            p = session_put(p, mine);
            placed = true;
            n++;
        }
        if (keep[i]) {
            p = session_put(p, &e->s[i]);
            n++;
        }
    }
    if (!placed) {
        p = session_put(p, mine);
        n++;
    }
    out[0] = 'S';
    sk__put16(out + 1, (uint32_t)n);
    sk__put64(out + 3, floor);
    memcpy(p, state, state_len);
    p += state_len;
    return (size_t)(p - out);
}

/* -------------------------------------------------------------- proposer */

static void hook_ctx(struct sk_node *n, const struct reg *r, struct sk_hook_ctx *ctx)
{
    ctx->node_id = n->cfg.id;
    ctx->node_name = n->name;
    ctx->cluster_size = n->cfg.cluster_size;
    ctx->now_ms = n->now;
    ctx->rng = &n->rng;
    ctx->key = r->key;
    ctx->key_len = r->key_len;
    ctx->errmsg[0] = 0;
}

/* Call hook `fn` of the strategy, or the default's when NULL. */
#define HOOK(n, fn, ...)                                                       \
    ((n)->st->fn != NULL ? (n)->st->fn((n)->st->ud, __VA_ARGS__)               \
                         : sk_strategy_default.fn(NULL, __VA_ARGS__))

static void proposal_free(struct proposal *p)
{
    for (size_t i = 0; i < SK_MAX_NODES; i++) {
        sk__buf_free(&p->promises[i].value);
    }
    sk__buf_free(&p->new_value);
    sk__free(p);
}

static void start_attempt(struct sk_node *n, struct proposal *p);
static void start_fetch(struct sk_node *n, struct reg *r);

static void client_reply(struct sk_node *n, struct proposal *p, uint8_t status, uint64_t token,
                         const char *holder, const char *text)
{
    struct reg *r = p->reg;
    struct out_reply o = {0};
    o.req_id = p->req_id;
    o.status = status;
    o.token = token;
    o.key = arena_put(n, r->key, r->key_len);
    o.key_len = r->key_len;
    o.holder = arena_put(n, holder, holder ? strlen(holder) : 0);
    o.text = arena_put(n, text, text ? strlen(text) : 0);
    o.ballot = p->ballot;
    o.waited = p->waited && (status == SK_ST_GRANTED || status == SK_ST_REFUSED ||
                             status == SK_ST_QUEUED);
    if (VEC_PUSH(n->o_reply, o) != 0) {
        oom();
    }
}

/* The request at the head of its register's queue is done (answered). */
static void finish(struct sk_node *n, struct proposal *p)
{
    struct reg *r = p->reg;
    VEC_REMOVE(n->active, p);
    r->head = p->next;
    if (r->head == NULL) {
        r->tail = NULL;
    }
    n->n_pending--;
    proposal_free(p);
    if (r->head != NULL) {
        VEC_PUSH(n->active, r->head) == 0 ? (void)0 : oom();
        start_attempt(n, r->head);
    }
}

static void fail_hook(struct sk_node *n, struct proposal *p, const char *hook,
                      const struct sk_hook_ctx *ctx)
{
    char text[SK_TEXT_MAX];
    snprintf(text, sizeof text, "%s: %s", hook, ctx->errmsg[0] ? ctx->errmsg : "hook failed");
    n->stats.hook_errors++;
    note(n, SK_NOTE_HOOK_ERROR, p->reg, p->ballot, NULL, 0, p->req_id, (uint32_t)p->phase, text);
    client_reply(n, p, SK_ST_ERROR, 0, NULL, text);
    finish(n, p);
}

static void attempt_failed(struct sk_node *n, struct proposal *p)
{
    struct sk_hook_ctx ctx;
    const char *why = p->timed_out ? "timeout" : "nay";
    hook_ctx(n, p->reg, &ctx);
    note(n, SK_NOTE_CONFLICT, p->reg, p->ballot, NULL, 0, p->req_id, (uint32_t)p->phase, why);
    uint64_t delay = 0;
    bool give_up = false;
    if (HOOK(n, backoff, &ctx, p->attempt + 1, why, &delay, &give_up) != 0) {
        fail_hook(n, p, "backoff", &ctx);
        return;
    }
    if (give_up) {
        char text[128];
        snprintf(text, sizeof text, "gave up after %u attempt%s (last: %s)", p->attempt,
                 p->attempt == 1 ? "" : "s", why);
        client_reply(n, p, p->timed_out ? SK_ST_UNAVAILABLE : SK_ST_CONTENDED, 0, NULL, text);
        finish(n, p);
        return;
    }
    if (delay > MAX_WAIT_MS) {
        delay = MAX_WAIT_MS;
    }
    p->phase = 0;
    p->fill_at = 0;
    p->deadline = n->now + delay;
    note(n, SK_NOTE_BACKOFF, p->reg, (struct sk_ballot){delay, 0}, NULL, 0, p->req_id, 0, why);
}

/* The PREPARE or ACCEPT of p's current phase. */
static void phase_msg(const struct sk_node *n, const struct proposal *p, struct sk_msg *m)
{
    memset(m, 0, sizeof *m);
    m->type = p->phase == 1 ? SK_MSG_PREPARE : SK_MSG_ACCEPT;
    m->seq = p->seq;
    m->ballot = p->ballot;
    m->key = p->reg->key;
    m->key_len = p->reg->key_len;
    if (p->phase == 2) {
        m->value = p->new_value.data;
        m->value_len = (uint32_t)p->new_value.len;
        if (p->fast_wanted && n->cfg.classic == 0 && p->ballot.round < UINT64_MAX) {
            m->other = (struct sk_ballot){p->ballot.round + 1, p->ballot.node};
        }
    }
}

/* Thrifty: the phase's message to every instance it has not gone to yet.
 * Sending the same PREPARE or ACCEPT to more acceptors is always safe; it
 * only costs messages. */
static void fill_in(struct sk_node *n, struct proposal *p)
{
    p->fill_at = 0;
    struct sk_msg m;
    phase_msg(n, p, &m);
    for (uint32_t i = 1; i <= n->cfg.cluster_size; i++) {
        if (!(p->sent & (1u << (i - 1)))) {
            p->sent |= 1u << (i - 1);
            send_msg(n, i, &m);
        }
    }
}

static void begin_phase(struct sk_node *n, struct proposal *p, int phase)
{
    p->phase = phase;
    p->yeas = p->nays = 0;
    p->answered = 0;
    p->n_order = 0;
    p->timed_out = false;
    p->deadline = n->now + n->cfg.phase_timeout_ms;
    if (phase == 2) {
        p->piggy_acks = 0;
    }
    if (p->fill_ms == 0 || n->cfg.cluster_size < 3) {
        struct sk_msg m;
        phase_msg(n, p, &m);
        broadcast(n, &m);
        p->sent = ~0u;
        p->fill_at = 0;
        return;
    }
    /* ourselves first (see broadcast), then the majority - 1 peers that
     * answered fastest last time */
    struct sk_msg m;
    phase_msg(n, p, &m);
    p->sent = 1u << (n->cfg.id - 1);
    send_msg(n, n->cfg.id, &m);
    for (uint32_t i = 0; i + 1 < n->majority; i++) {
        p->sent |= 1u << (n->pref[i] - 1);
        send_msg(n, n->pref[i], &m);
    }
    p->fill_at = n->now + p->fill_ms;
}

/* A phase got its verdict: the peers that answered go to the front of the
 * preference order, in the order they answered; the rest keep theirs. */
static void learn_order(struct sk_node *n, const struct proposal *p)
{
    uint32_t peers = n->cfg.cluster_size - 1, k = 0;
    uint32_t next[SK_MAX_NODES];
    for (uint32_t i = 0; i < p->n_order; i++) {
        next[k++] = p->order[i];
    }
    for (uint32_t i = 0; i < peers; i++) {
        bool seen = false;
        for (uint32_t j = 0; j < p->n_order; j++) {
            seen = seen || p->order[j] == n->pref[i];
        }
        if (!seen) {
            next[k++] = n->pref[i];
        }
    }
    memcpy(n->pref, next, peers * sizeof *next);
}

static void copy_holder_text(char *dst, const uint8_t *src, size_t len)
{
    memcpy(dst, src, len);
    dst[len] = 0;
}

/* Re-commit the picked value unchanged and answer from what it says: the
 * request is a duplicate of one already applied, or stale. Committing it
 * first makes sure the entry the answer rests on is chosen. */
static void recommit(struct sk_node *n, struct proposal *p, int idx)
{
    const struct sk_buf *v = &p->promises[idx].value;
    memcpy(p->new_value.data, v->data, v->len);
    p->new_value.len = v->len;
    begin_phase(n, p, 2);
}

int sk_lock_answer_check(uint8_t op, uint8_t status, uint64_t place, char *why, size_t whylen)
{
    char none[1];
    if (why == NULL || whylen == 0) {
        why = none;
        whylen = sizeof none;
    }
    if (status == SK_ST_QUEUED && !SK_OP_IS_ACQUIRE(op) && op != SK_OP_WAIT) {
        snprintf(why, whylen, "answered \"queued\" to a %s; only an acquire can wait in a queue",
                 sk_op_name(op));
        return SK_EINVAL;
    }
    if (status == SK_ST_QUEUED && place == 0) {
        snprintf(why, whylen, "answered \"queued\" without a place in the queue (reply.position "
                              "must be 1 or more)");
        return SK_EINVAL;
    }
    if (op == SK_OP_WAIT && status != SK_ST_GRANTED && status != SK_ST_QUEUED &&
        status != SK_ST_REFUSED) {
        snprintf(why, whylen,
                 "answered \"%s\" to a wait (op \"wait\": an acquire it had queued, asking "
                 "again); a waiting acquire hears \"granted\", \"queued\" or \"refused\"",
                 sk_status_name(status));
        return SK_EINVAL;
    }
    return 0;
}

static void start_phase2(struct sk_node *n, struct proposal *p)
{
    struct sk_hook_ctx ctx;
    hook_ctx(n, p->reg, &ctx);
    int idx = -1;
    struct sk_promise_view views[SK_MAX_NODES];
    for (size_t i = 0; i < p->n_promises; i++) {
        struct promise_rec *pr = &p->promises[i];
        struct envelope e = {0};
        char why[160];
        if (env_parse_checked(pr->value.data, pr->value.len, &e, why, sizeof why) != 0) {
            snprintf(ctx.errmsg, sizeof ctx.errmsg,
                     "lock '%.*s': the value instance %u holds cannot be read (stored by an "
                     "older version?): %s",
                     (int)(p->reg->key_len < 64 ? p->reg->key_len : 64),
                     (const char *)p->reg->key, pr->from, why);
            fail_hook(n, p, "pick_value", &ctx);
            return;
        }
        views[i].from = pr->from;
        views[i].accepted = pr->accepted;
        views[i].value = e.state;
        views[i].value_len = e.state_len;
    }
    if (p->n_promises > 0) {
        if (HOOK(n, pick_value, &ctx, views, p->n_promises, &idx) != 0) {
            fail_hook(n, p, "pick_value", &ctx);
            return;
        }
        if (idx < -1 || idx >= (int)p->n_promises) {
            snprintf(ctx.errmsg, sizeof ctx.errmsg,
                     "returned index %d, expected -1 (none) or 0..%zu", idx, p->n_promises - 1);
            fail_hook(n, p, "pick_value", &ctx);
            return;
        }
    }
    struct envelope cur = {0};
    cur.s = n->w->sessions;
    if (idx >= 0 && env_parse(p->promises[idx].value.data, p->promises[idx].value.len, &cur) != 0) {
        abort(); /* parsed above */
    }
    if (sk__buf_reserve(&p->new_value, SK_VALUE_MAX) != 0) {
        oom();
    }
    memset(&p->lock_reply, 0, sizeof p->lock_reply);
    struct sk_lock_reply *lr = &p->lock_reply;
    /* Request identity (PROTOCOL.md 7.4): has this holder's request, or a
     * later one of the same holder, been applied in the chain behind the
     * picked value? */
    const struct session *last = env_find(&cur, p->holder, p->holder_len);
    int order = last != NULL ? ident_cmp(p->cseq, p->client, last->seq, last->client)
                             : (p->cseq <= cur.floor ? -1 : 1);
    if (n->cfg.classic & SK_CLASSIC_NO_IDENTITY) {
        order = 1; /* unsafe on purpose: every copy is a new request */
    }
    /* Waiting (PROTOCOL.md 7.4): a copy of a request that was answered
     * QUEUED asks whether its turn came; the lock semantics answer it (op
     * WAIT), and the answer replaces the entry under the same identity. */
    bool wait = order == 0 && last->status == SK_ST_QUEUED;
    p->waited = wait || (order == 0 && (last->status & ST_WAITED));
    if (order == 0 && !wait) {
        lr->status = last->status & (uint8_t)~ST_WAITED;
        lr->token = last->token;
        if (last->by_len == BY_NOBODY) {
            lr->holder[0] = 0;
        } else if (last->by_len > 0) {
            copy_holder_text(lr->holder, last->by, last->by_len);
        } else {
            copy_holder_text(lr->holder, p->holder, p->holder_len);
        }
        snprintf(lr->text, sizeof lr->text, "answered before: this request was already applied");
        recommit(n, p, idx);
        return;
    }
    if (order < 0) {
        lr->status = SK_ST_STALE;
        copy_holder_text(lr->holder, p->holder, p->holder_len);
        if (last != NULL) {
            snprintf(lr->text, sizeof lr->text,
                     "stale: a later request of this holder (seq %llu, client %016llx) was "
                     "applied; this one (seq %llu) changed nothing. Send a new request.",
                     (unsigned long long)last->seq, (unsigned long long)last->client,
                     (unsigned long long)p->cseq);
        } else {
            snprintf(lr->text, sizeof lr->text,
                     "stale: this request (seq %llu) is older than what the lock remembers "
                     "(seq %llu and below are forgotten); it changed nothing now, and an earlier "
                     "copy may have taken effect. Check the lock's status.",
                     (unsigned long long)p->cseq, (unsigned long long)cur.floor);
        }
        recommit(n, p, idx);
        return;
    }
    struct sk_client_req req = {p->req_id, wait ? (uint8_t)SK_OP_WAIT : p->op, p->ttl_ms,
                                p->reg->key, p->reg->key_len, p->holder, p->holder_len,
                                p->client, p->cseq, p->fence};
    struct sk_buf state = {n->w->state_buf, 0, SK_STATE_MAX};
    if (HOOK(n, apply_lock, &ctx, cur.state, cur.state_len, &req, p->ballot, &state, lr) != 0) {
        fail_hook(n, p, "apply_lock", &ctx);
        return;
    }
    if (state.data != n->w->state_buf || state.len > SK_STATE_MAX ||
        ((lr->status < SK_ST_GRANTED || lr->status > SK_ST_NOT_HOLDER) &&
         lr->status != SK_ST_QUEUED)) {
        snprintf(ctx.errmsg, sizeof ctx.errmsg,
                 "returned an invalid result (state of %zu bytes, max %d; status %d)", state.len,
                 SK_STATE_MAX, lr->status);
        fail_hook(n, p, "apply_lock", &ctx);
        return;
    }
    if (sk_lock_answer_check(req.op, lr->status, lr->token, ctx.errmsg, sizeof ctx.errmsg) != 0) {
        fail_hook(n, p, "apply_lock", &ctx);
        return;
    }
    char why[160];
    if (sk_value_check(state.data, state.len, why, sizeof why) != 0) {
        snprintf(ctx.errmsg, sizeof ctx.errmsg, "returned a new state that is not data: %s", why);
        fail_hook(n, p, "apply_lock", &ctx);
        return;
    }
    if (lr->status == SK_ST_GRANTED && lr->token == 0) {
        lr->token = sk_ballot_token(p->ballot);
    }
    size_t hl = strnlen(lr->holder, SK_HOLDER_MAX);
    bool by_other = hl != p->holder_len || memcmp(lr->holder, p->holder, hl) != 0;
    uint8_t est = (uint8_t)(lr->status | (wait && lr->status != SK_ST_QUEUED ? ST_WAITED : 0));
    struct session mine = {(uint8_t)p->holder_len, p->holder, p->cseq, p->client, est,
                           lr->status == SK_ST_GRANTED || lr->status == SK_ST_QUEUED ? lr->token
                                                                                     : 0,
                           (uint8_t)(hl == 0 ? BY_NOBODY : by_other ? hl : 0),
                           (const uint8_t *)lr->holder};
    p->new_value.len = env_write(&cur, &mine, state.data, state.len, p->new_value.data, n->w->keep);
    begin_phase(n, p, 2);
}

static void decided(struct sk_node *n, struct proposal *p)
{
    n->stats.decisions++;
    p->reg->last = p->ballot;
    if (p->fast_wanted && n->cfg.classic == 0 && p->piggy_acks >= n->majority) {
        p->reg->fast = (struct sk_ballot){p->ballot.round + 1, p->ballot.node};
        if (sk__buf_set(&p->reg->fast_value, p->new_value.data, p->new_value.len) != 0) {
            oom();
        }
    }
    note(n, SK_NOTE_DECIDED, p->reg, p->ballot, p->new_value.data, p->new_value.len, p->req_id, 2,
         sk_status_name(p->lock_reply.status));
    const struct sk_lock_reply *lr = &p->lock_reply;
    client_reply(n, p, lr->status, lr->token, lr->holder, lr->text);
    finish(n, p);
}

static void evaluate(struct sk_node *n, struct proposal *p, bool timed_out)
{
    struct sk_hook_ctx ctx;
    hook_ctx(n, p->reg, &ctx);
    int verdict = SK_WAIT;
    if (HOOK(n, enough, &ctx, p->phase, p->yeas, p->nays, timed_out, &verdict) != 0) {
        fail_hook(n, p, "enough", &ctx);
        return;
    }
    if (verdict == SK_WAIT && timed_out) {
        verdict = SK_FAIL; /* a phase cannot wait past its deadline */
    }
    if (verdict == SK_PROCEED) {
        if (p->fill_ms != 0) {
            learn_order(n, p);
        }
        if (p->phase == 1) {
            start_phase2(n, p);
        } else {
            decided(n, p);
        }
    } else if (verdict == SK_FAIL) {
        p->timed_out = timed_out;
        n->stats.timeouts += timed_out;
        if (p->phase == 2 && (n->cfg.classic & SK_CLASSIC_ANSWER_LOCAL)) {
            /* flaw F1: the original answers from its own state whatever the
             * commit phase said */
            decided(n, p);
            return;
        }
        attempt_failed(n, p);
    } else if (verdict != SK_WAIT) {
        snprintf(ctx.errmsg, sizeof ctx.errmsg, "returned verdict %d, expected wait/proceed/fail",
                 verdict);
        fail_hook(n, p, "enough", &ctx);
    }
}

static void start_attempt(struct sk_node *n, struct proposal *p)
{
    struct reg *r = p->reg;
    struct sk_hook_ctx ctx;
    hook_ctx(n, r, &ctx);
    if (!n->member || r->fetch != 0) {
        /* rejoining: propose only once this lock is caught up (a proposer
         * must know its own acceptor's promise); look again after a phase
         * timeout, or as soon as the fetch is done (kick) */
        if (n->member) {
            start_fetch(n, r);
        }
        p->phase = 0;
        p->deadline = n->now + n->cfg.phase_timeout_ms;
        return;
    }
    p->attempt++;
    p->seq = ++n->next_seq;
    n->stats.attempts++;
    p->n_promises = 0;
    bool skip = false;
    if (HOOK(n, skip_phase1, &ctx, &skip) != 0) {
        fail_hook(n, p, "skip_phase1", &ctx);
        return;
    }
    p->fast_wanted = skip;
    p->fill_ms = 0;
    if (HOOK(n, thrifty, &ctx, &p->fill_ms) != 0) {
        fail_hook(n, p, "thrifty", &ctx);
        return;
    }
    if (p->fill_ms > MAX_WAIT_MS) {
        p->fill_ms = MAX_WAIT_MS;
    }
    /* Phase 1 is skipped only on a first attempt, and only while this
     * instance holds a majority's promise of the ballot, given with their
     * accept of the value chosen just before (see acceptor_on_accept). A
     * retry always runs both phases. */
    if (skip && p->attempt == 1 && !sk_ballot_is_zero(r->fast) &&
        sk_ballot_cmp(r->fast, r->last) > 0) {
        p->ballot = r->last = r->fast;
        r->fast = (struct sk_ballot){0, 0};
        struct promise_rec *pr = &p->promises[p->n_promises++];
        pr->from = n->cfg.id;
        pr->accepted = (struct sk_ballot){p->ballot.round - 1, p->ballot.node};
        if (sk__buf_set(&pr->value, r->fast_value.data, r->fast_value.len) != 0) {
            oom();
        }
        note(n, SK_NOTE_ATTEMPT, r, p->ballot, NULL, 0, p->req_id, p->attempt, "phase 1 skipped");
        p->phase = 1;
        start_phase2(n, p);
        return;
    }
    struct sk_ballot_info info = {p->attempt, r->last, r->promised, r->highest,
                                  n->cfg.increment ? n->cfg.increment : n->cfg.id};
    struct sk_ballot b = {0, 0};
    if (HOOK(n, next_ballot, &ctx, &info, &b) != 0) {
        fail_hook(n, p, "next_ballot", &ctx);
        return;
    }
    if (sk_ballot_check(&info, b, n->cfg.id, n->cfg.classic != 0, ctx.errmsg,
                        sizeof ctx.errmsg) != 0) {
        fail_hook(n, p, "next_ballot", &ctx);
        return;
    }
    p->ballot = b;
    r->last = b;
    note(n, SK_NOTE_ATTEMPT, r, b, NULL, 0, p->req_id, p->attempt, NULL);
    begin_phase(n, p, 1);
}

/* Ballots must be unique to this proposer and never reused, or two values
 * could be accepted at one ballot; only a rejoining instance opens an epoch
 * (PROTOCOL.md 7.6), so a ballot may not jump past the epoch of every ballot
 * seen for the lock. Classic mode lets the original's colliding IDs through
 * on purpose. The Lua binding checks with this too, to name the script's
 * line. */
int sk_ballot_check(const struct sk_ballot_info *info, struct sk_ballot b, uint32_t self,
                    bool classic, char *why, size_t whylen)
{
    if (!classic && (b.node != self || sk_ballot_cmp(b, info->last) <= 0 ||
                     sk_ballot_cmp(b, info->promised) <= 0)) {
        snprintf(why, whylen,
                 "returned ballot %llu.%u; it must carry this instance's id %u and exceed both "
                 "its previous ballot %llu.%u and its own promise %llu.%u",
                 (unsigned long long)b.round, b.node, self, (unsigned long long)info->last.round,
                 info->last.node, (unsigned long long)info->promised.round, info->promised.node);
        return SK_EINVAL;
    }
    if (b.round == 0 && b.node == 0) {
        snprintf(why, whylen, "returned the zero ballot");
        return SK_EINVAL;
    }
    uint64_t seen = info->last.round > info->promised.round ? info->last.round
                                                            : info->promised.round;
    seen = info->highest.round > seen ? info->highest.round : seen;
    if (!classic && (b.round >> 32) > (seen >> 32)) {
        snprintf(why, whylen,
                 "returned ballot %llu.%u in epoch %llu, but the highest ballot seen for this "
                 "lock is in epoch %llu (a round's high 32 bits are its epoch; only a "
                 "rejoining instance opens one)",
                 (unsigned long long)b.round, b.node, (unsigned long long)(b.round >> 32),
                 (unsigned long long)(seen >> 32));
        return SK_EINVAL;
    }
    return 0;
}

static struct proposal *find_attempt(const struct sk_msg *m, struct reg *r)
{
    struct proposal *p = r->head;
    if (p == NULL || p->seq != m->seq || p->phase == 0) {
        return NULL;
    }
    if (sk_ballot_cmp(p->ballot, m->ballot) != 0) {
        return NULL;
    }
    return p;
}

static void proposer_on_reply(struct sk_node *n, struct reg *r, const struct sk_msg *m)
{
    if (m->type == SK_MSG_NAY) {
        if (sk_ballot_cmp(m->other, r->highest) > 0) {
            r->highest = m->other;
        }
        r->fast = (struct sk_ballot){0, 0};
    }
    struct proposal *p = find_attempt(m, r);
    if (p == NULL || m->from < 1 || m->from > SK_MAX_NODES) {
        return; /* a late answer to an attempt that is over */
    }
    int want_phase = (m->type == SK_MSG_PROMISE) ? 1 : (m->type == SK_MSG_ACCEPTED) ? 2 : m->phase;
    if (want_phase != p->phase) {
        return;
    }
    uint32_t bit = 1u << (m->from - 1);
    if (p->answered & bit) {
        return; /* duplicate */
    }
    p->answered |= bit;
    if (m->from != n->cfg.id && p->n_order < SK_MAX_NODES) {
        p->order[p->n_order++] = m->from;
    }
    if (m->type == SK_MSG_NAY) {
        p->nays++;
        n->stats.nays++;
        if (p->fill_at != 0) {
            fill_in(n, p); /* the majority it went to cannot all say yes */
        }
    } else {
        p->yeas++;
        if (m->type == SK_MSG_ACCEPTED && m->other.node == p->ballot.node &&
            m->other.round == p->ballot.round + 1) {
            p->piggy_acks++;
        }
        if (m->type == SK_MSG_PROMISE) {
            struct promise_rec *pr = &p->promises[p->n_promises++];
            pr->from = m->from;
            pr->accepted = m->other;
            if (sk__buf_set(&pr->value, m->value, m->value_len) != 0) {
                oom();
            }
        }
    }
    evaluate(n, p, false);
}

/* ---------------------------------------------------------------- rejoin */

/* An instance that lost its state (a wiped disk, a blank restart) must not
 * vote on what it has forgotten: in Paxos one forgetful acceptor can
 * un-choose a value, or break a promise it gave a proposer just before.
 * It rejoins in two steps (PROTOCOL.md 7.6, with the safety argument):
 *
 * 1. It opens a new epoch: asks the others for the highest epoch they know
 *    and announces one above it; once R = N - M + 1 members acknowledged
 *    (each only if it knew none as high), it is a member again with the
 *    fence (epoch << 32, id), higher than every ballot that existed before
 *    it lost its state (ballots are epoch-major and only rejoins open
 *    epochs).
 * 2. Before it votes on a lock (or proposes for it), it fetches that lock's
 *    register from R members, each of which first raises its promise for
 *    the lock to at least the fence, so that it can never again promise or
 *    accept a ballot from before the fence there. It keeps the highest
 *    promise and the value accepted at the highest ballot it heard. */

static uint32_t join_quorum(const struct sk_node *n)
{
    return n->cfg.cluster_size - n->majority + 1;
}

static uint32_t bits(uint32_t x)
{
    uint32_t c = 0;
    for (; x != 0; x &= x - 1) {
        c++;
    }
    return c;
}

static void send_to_peers(struct sk_node *n, struct sk_msg *m)
{
    for (uint32_t i = 1; i <= n->cfg.cluster_size; i++) {
        if (i != n->cfg.id) {
            send_msg(n, i, m);
        }
    }
}

static void join_send(struct sk_node *n)
{
    struct sk_msg m = {0};
    m.type = SK_MSG_JOIN;
    m.phase = (uint8_t)n->join_phase;
    m.seq = n->join_seq;
    if (n->join_phase == 2) {
        m.ballot = (struct sk_ballot){n->join_epoch, 0};
    }
    /* to those that have not answered yet (a second announcement to one
     * that recorded the epoch would be refused as not higher) */
    for (uint32_t i = 1; i <= n->cfg.cluster_size; i++) {
        if (i != n->cfg.id && !(n->join_ok & (1u << (i - 1)))) {
            send_msg(n, i, &m);
        }
    }
    /* resend to those that did not answer after a phase timeout, with a
     * little jitter so two rejoining instances do not keep colliding */
    n->join_at = n->now + n->cfg.phase_timeout_ms +
                 (uint64_t)(sk_rng_unit(&n->rng) * (double)n->cfg.phase_timeout_ms);
}

static void join_begin(struct sk_node *n, int phase)
{
    n->join_phase = phase;
    n->join_seq = ++n->next_seq;
    n->join_ok = n->join_blank = 0;
    if (phase == 1) {
        n->join_max = 0;
    }
    join_send(n);
}

static void start_fetch(struct sk_node *n, struct reg *r)
{
    if (r->fetch == 2 && r->fetch_at > n->now) {
        return; /* under way */
    }
    if (r->fetch != 2 && VEC_PUSH(n->fetching, r) != 0) {
        oom();
    }
    r->fetch = 2;
    r->fetched = 0;
    r->fetch_at = n->now + n->cfg.phase_timeout_ms;
    struct sk_msg m = {0};
    m.type = SK_MSG_FETCH;
    m.ballot = n->fence;
    m.key = r->key;
    m.key_len = r->key_len;
    send_to_peers(n, &m);
}

/* The lock's head request was waiting for its register: go. */
static void kick(struct sk_node *n, struct reg *r)
{
    if (r->head != NULL && r->head->phase == 0 && r->head->attempt == 0) {
        start_attempt(n, r->head);
    }
}

static void became_member(struct sk_node *n)
{
    n->member = true;
    n->fence = (struct sk_ballot){n->join_epoch << 32, n->cfg.id};
    if (n->join_epoch > n->max_epoch) {
        n->max_epoch = n->join_epoch;
    }
    n->join_phase = 0;
    persist_record(n);
    char text[160];
    snprintf(text, sizeof text,
             "rejoined: epoch %llu recorded by %u members; each lock is caught up from %u "
             "members before this instance votes on it",
             (unsigned long long)n->join_epoch, bits(n->join_ok), join_quorum(n));
    note(n, SK_NOTE_REJOIN, NULL, n->fence, NULL, 0, 0, 0, text);
    /* requests that arrived while rejoining can start catching up */
    for (size_t i = 0; i < n->active.n; i++) {
        struct proposal *p = n->active.v[i];
        if (p->phase == 0 && p->attempt == 0) {
            p->deadline = n->now;
        }
    }
}

/* A member answers a rejoining instance. */
static void on_join(struct sk_node *n, const struct sk_msg *m)
{
    struct sk_msg out = {0};
    out.type = SK_MSG_JOIN_OK;
    out.phase = m->phase;
    out.seq = m->seq;
    out.status = SK_JOIN_OK;
    if (!n->member) {
        out.status = SK_JOIN_BLANK;
    } else if (m->phase == 2) {
        bool again = m->from == n->ann_from && m->seq == n->ann_seq &&
                     m->ballot.round == n->max_epoch; /* a duplicate of the one recorded */
        if (m->ballot.round > n->max_epoch && m->ballot.round < (1ull << 32)) {
            n->max_epoch = m->ballot.round;
            n->ann_from = m->from;
            n->ann_seq = m->seq;
            persist_record(n);
        } else if (!again) {
            out.status = SK_JOIN_NEWER;
        }
    }
    out.ballot = (struct sk_ballot){n->max_epoch, 0};
    send_msg(n, m->from, &out);
}

static void on_join_ok(struct sk_node *n, const struct sk_msg *m)
{
    if (n->member || m->seq != n->join_seq || m->phase != n->join_phase) {
        return; /* late, or for an earlier round */
    }
    uint32_t bit = 1u << (m->from - 1);
    if (m->status == SK_JOIN_BLANK) {
        if (!(n->join_blank & bit)) {
            n->join_blank |= bit;
            char text[128];
            snprintf(text, sizeof text,
                     "waiting: instance %u is not a member either (a new cluster starts with "
                     "--bootstrap)",
                     m->from);
            note(n, SK_NOTE_REJOIN, NULL, (struct sk_ballot){0, 0}, NULL, 0, 0, 0, text);
        }
        return;
    }
    if (m->ballot.round > n->join_max) {
        n->join_max = m->ballot.round;
    }
    if (m->status == SK_JOIN_NEWER) {
        if (!(n->join_ok & bit)) {
            join_begin(n, 1); /* someone opened an epoch as high: ask again */
        }
        return;
    }
    n->join_ok |= bit;
    if (bits(n->join_ok) < join_quorum(n)) {
        return;
    }
    if (n->join_phase == 1) {
        uint64_t top = n->join_max > n->max_epoch ? n->join_max : n->max_epoch;
        n->join_epoch = top + 1;
        char text[96];
        snprintf(text, sizeof text, "announcing epoch %llu", (unsigned long long)n->join_epoch);
        note(n, SK_NOTE_REJOIN, NULL, (struct sk_ballot){n->join_epoch << 32, n->cfg.id}, NULL,
             0, 0, 0, text);
        join_begin(n, 2);
    } else {
        became_member(n);
    }
}

/* A member hands a rejoined instance its register for one lock, after
 * raising its promise there to at least the rejoined instance's fence. */
static void on_fetch(struct sk_node *n, struct reg *r, const struct sk_msg *m)
{
    struct sk_msg out = {0};
    out.type = SK_MSG_FETCHED;
    out.seq = m->seq;
    out.key = m->key;
    out.key_len = m->key_len;
    if (!n->member || r->fetch != 0) {
        out.status = SK_JOIN_BLANK; /* nothing trustworthy to give */
        if (n->member) {
            start_fetch(n, r);
        }
    } else {
        out.status = SK_JOIN_OK;
        if (sk_ballot_cmp(m->ballot, r->promised) > 0) {
            r->promised = m->ballot;
            saw_epoch(n, r->promised);
            r->fast = (struct sk_ballot){0, 0};
            persist(n, r);
        }
        out.ballot = r->promised;
        out.other = r->accepted;
        out.value = r->value.data;
        out.value_len = (uint32_t)r->value.len;
    }
    send_msg(n, m->from, &out);
}

static void fetch_done(struct sk_node *n, struct reg *r)
{
    r->fetch = 0;
    VEC_REMOVE(n->fetching, r);
    persist(n, r);
    note(n, SK_NOTE_FETCH, r, r->promised, r->value.data, r->value.len, 0, 0, "caught up");
    kick(n, r);
}

static void on_fetched(struct sk_node *n, struct reg *r, const struct sk_msg *m)
{
    uint32_t bit = 1u << (m->from - 1);
    /* Only an answer whose promise is at least our fence counts: that
     * member can no longer take a ballot from before it for this lock. */
    if (r->fetch != 2 || m->status != SK_JOIN_OK || (r->fetched & bit) ||
        sk_ballot_cmp(m->ballot, n->fence) < 0) {
        return;
    }
    r->fetched |= bit;
    if (sk_ballot_cmp(m->ballot, r->promised) > 0) {
        r->promised = m->ballot;
        saw_epoch(n, r->promised);
    }
    if (sk_ballot_cmp(m->other, r->accepted) > 0) {
        r->accepted = m->other;
        if (sk__buf_set(&r->value, m->value, m->value_len) != 0) {
            oom();
        }
    }
    if (bits(r->fetched) >= join_quorum(n)) {
        fetch_done(n, r);
    }
}

static int dispatch(struct sk_node *n, const struct sk_msg *m)
{
    if (m->type < SK_MSG_PREPARE || m->type > SK_MSG_FETCHED) {
        return SK_ETYPE;
    }
    if (m->from < 1 || m->from > n->cfg.cluster_size || m->to != n->cfg.id) {
        snprintf(n->errmsg, sizeof n->errmsg, "%s from node %u to node %u: not for this cluster",
                 sk_msg_type_name(m->type), m->from, m->to);
        return SK_EINVAL;
    }
    if (m->type == SK_MSG_JOIN) {
        on_join(n, m);
        return 0;
    }
    if (m->type == SK_MSG_JOIN_OK) {
        on_join_ok(n, m);
        return 0;
    }
    /* Values are data (spec/HOOKS.md): what an acceptor would store must be
     * a register value both readers accept. PROMISE values are checked
     * where they are used (start_phase2), so that one stored by an older
     * version fails only the request that reads it. */
    if ((m->type == SK_MSG_ACCEPT || m->type == SK_MSG_FETCHED) && m->value_len > 0) {
        char why[160];
        if (sk_register_value_check(m->value, m->value_len, why, sizeof why) != 0) {
            snprintf(n->errmsg, sizeof n->errmsg, "%s from node %u for lock '%.*s' refused: %s",
                     sk_msg_type_name(m->type), m->from, (int)(m->key_len < 64 ? m->key_len : 64),
                     (const char *)m->key, why);
            return SK_EFRAME;
        }
    }
    struct reg *r = reg_get(n, m->key, m->key_len);
    if (r == NULL) {
        return SK_ENOMEM;
    }
    switch (m->type) {
    case SK_MSG_PREPARE:
    case SK_MSG_ACCEPT:
        if (!n->member) {
            break; /* not voting while rejoining: no answer at all */
        }
        if (r->fetch != 0) {
            start_fetch(n, r); /* and no answer until caught up */
            break;
        }
        if (m->type == SK_MSG_PREPARE) {
            acceptor_on_prepare(n, r, m);
        } else {
            acceptor_on_accept(n, r, m);
        }
        break;
    case SK_MSG_FETCH: on_fetch(n, r, m); break;
    case SK_MSG_FETCHED: on_fetched(n, r, m); break;
    default: proposer_on_reply(n, r, m); break;
    }
    return 0;
}

/* Deliver what we sent ourselves, in order, until there is none left. */
static void drain_self(struct sk_node *n)
{
    if (n->draining) {
        return;
    }
    n->draining = true;
    while (n->selfq_head < n->selfq.len) {
        /* copy the frame out: handling it may append to selfq and move it */
        struct sk_msg m;
        const uint8_t *at = n->selfq.data + n->selfq_head;
        size_t len = (size_t)at[0] << 24 | (size_t)at[1] << 16 | (size_t)at[2] << 8 | at[3];
        len += 4;
        memcpy(n->w->selfbuf, at, len);
        n->selfq_head += len;
        if (sk_msg_decode(n->w->selfbuf, len, &m) != (int)len) {
            abort(); /* we encoded it ourselves */
        }
        dispatch(n, &m);
    }
    n->selfq.len = 0;
    n->selfq_head = 0;
    n->draining = false;
}

/* ------------------------------------------------------------ public API */

struct sk_node *sk_node_new(const struct sk_config *cfg, const struct sk_strategy *st,
                            uint64_t now_ms)
{
    if (cfg->cluster_size < 1 || cfg->cluster_size > SK_MAX_NODES || cfg->id < 1 ||
        cfg->id > cfg->cluster_size) {
        return NULL;
    }
    struct sk_node *n = sk__malloc(sizeof *n);
    if (n == NULL) {
        return NULL;
    }
    memset(n, 0, sizeof *n);
    n->cfg = *cfg;
    snprintf(n->name, sizeof n->name, "%s", cfg->name ? cfg->name : "node");
    n->cfg.name = n->name;
    if (n->cfg.phase_timeout_ms == 0) {
        n->cfg.phase_timeout_ms = 500;
    }
    if (n->cfg.max_inflight == 0) {
        n->cfg.max_inflight = 1024;
    }
    n->st = st != NULL ? st : &sk_strategy_default;
    n->rng.state = cfg->seed ^ (0x5851f42d4c957f2dull * cfg->id);
    n->now = now_ms;
    n->majority = cfg->cluster_size / 2 + 1;
    /* a member from the start (record persisted at the first tick), or
     * rejoining unless restored state says otherwise */
    n->member = !cfg->rejoin || (cfg->classic & SK_CLASSIC_NO_PERSIST) != 0; /* F3: the
                                                 original never rejoined: it forgot, and voted */
    n->record_dirty = n->member;
    n->join_at = now_ms;
    for (uint32_t i = 0; i + 1 < cfg->cluster_size; i++) {
        n->pref[i] = (cfg->id + i) % cfg->cluster_size + 1; /* the next ids, round the ring */
    }
    n->n_slots = 64;
    n->slots = sk__malloc(n->n_slots * sizeof *n->slots);
    if (n->slots == NULL || work_ensure(n) != 0) {
        sk__free(n->slots);
        sk__free(n);
        return NULL;
    }
    memset(n->slots, 0, n->n_slots * sizeof *n->slots);
    return n;
}

/* What only lives during one input (the work area, the batch being built and
 * handed out, messages to itself): freed by sk_node_trim and sk_node_free. */
static void free_between_inputs(struct sk_node *n)
{
    sk__free(n->w);
    n->w = NULL;
    sk__buf_free(&n->arena);
    sk__buf_free(&n->selfq);
    n->selfq_head = 0;
    VEC_FREE(n->due);
    VEC_FREE(n->o_persist);
    VEC_FREE(n->o_send);
    VEC_FREE(n->o_reply);
    VEC_FREE(n->o_note);
    VEC_FREE(n->persist);
    VEC_FREE(n->send);
    VEC_FREE(n->reply);
    VEC_FREE(n->note);
}

void sk_node_free(struct sk_node *n)
{
    if (n == NULL) {
        return;
    }
    for (size_t i = 0; i < n->n_slots; i++) {
        struct reg *r = n->slots[i];
        if (r == NULL) {
            continue;
        }
        struct proposal *p = r->head;
        while (p != NULL) {
            struct proposal *next = p->next;
            proposal_free(p);
            p = next;
        }
        sk__buf_free(&r->value);
        sk__buf_free(&r->fast_value);
        sk__free(r);
    }
    sk__free(n->slots);
    VEC_FREE(n->active);
    VEC_FREE(n->fetching);
    free_between_inputs(n);
    sk__free(n);
}

int sk_node_restore(struct sk_node *n, const struct sk_persist *p)
{
    if (p->key_len > SK_KEY_MAX || p->value_len > SK_VALUE_MAX) {
        return SK_EINVAL;
    }
    if (p->key_len == 0) { /* the node record */
        if (p->accepted.node > 1 || (p->accepted.round >> 32) != 0 ||
            (!sk_ballot_is_zero(p->promised) && p->promised.node != n->cfg.id)) {
            snprintf(n->errmsg, sizeof n->errmsg,
                     "node record: fence %llu.%u, epoch %llu, flags %u: not this instance's",
                     (unsigned long long)p->promised.round, p->promised.node,
                     (unsigned long long)p->accepted.round, p->accepted.node);
            return SK_ECORRUPT;
        }
        n->fence = p->promised;
        if (p->accepted.round > n->max_epoch) {
            n->max_epoch = p->accepted.round;
        }
        if (p->accepted.node == 1) {
            n->member = true; /* a rejoin that finished */
        }
        n->record_dirty = false;
        return 0;
    }
    struct reg *r = reg_get(n, p->key, p->key_len);
    if (r == NULL) {
        return SK_ENOMEM;
    }
    /* registers on disk were voted on: this instance is a member, and this
     * lock is caught up (a rejoined instance stores a register only after
     * fetching it) */
    n->member = true;
    r->fetch = 0;
    saw_epoch(n, p->promised);
    r->promised = p->promised;
    r->accepted = p->accepted;
    if (sk__buf_set(&r->value, p->value, p->value_len) != 0) {
        return SK_ENOMEM;
    }
    return 0;
}

int sk_node_recv(struct sk_node *n, const struct sk_msg *m, uint64_t now_ms)
{
    if (now_ms > n->now) {
        n->now = now_ms;
    }
    n->errmsg[0] = 0;
    if (work_ensure(n) != 0) {
        return SK_ENOMEM;
    }
    int rv = dispatch(n, m);
    drain_self(n);
    return rv;
}

void sk_node_tick(struct sk_node *n, uint64_t now_ms)
{
    if (now_ms > n->now) {
        n->now = now_ms;
    }
    if (work_ensure(n) != 0) {
        oom(); /* a tick has no way to say so; as for a batch */
    }
    if (!n->member && n->join_at <= n->now) {
        if (n->join_phase == 0) {
            join_begin(n, 1);
        } else {
            join_send(n); /* no quorum yet: ask again */
        }
    }
    for (size_t i = 0; i < n->fetching.n; i++) {
        struct reg *r = n->fetching.v[i];
        if (r->fetch_at <= n->now) {
            r->fetch_at = 0;
            start_fetch(n, r);
        }
    }
    drain_self(n);
    /* Handle each register whose head is due once. Handling touches only
     * that register's queue, so a snapshot of registers stays valid; a
     * zero backoff is handled at the next tick, never looped here. */
    n->due.n = 0;
    for (size_t i = 0; i < n->active.n; i++) {
        const struct proposal *p = n->active.v[i];
        if (p->deadline <= n->now || (p->fill_at != 0 && p->fill_at <= n->now)) {
            VEC_PUSH(n->due, p->reg) == 0 ? (void)0 : oom();
        }
    }
    for (size_t i = 0; i < n->due.n; i++) {
        struct proposal *p = n->due.v[i]->head;
        if (p != NULL && p->phase != 0 && p->fill_at != 0 && p->fill_at <= n->now) {
            fill_in(n, p); /* to peers only: this node always had it first */
        }
        if (p == NULL || p->deadline > n->now) {
            continue;
        }
        if (p->phase == 0) {
            start_attempt(n, p);
        } else {
            evaluate(n, p, true);
        }
        drain_self(n);
    }
}

int sk_node_request(struct sk_node *n, const struct sk_client_req *rq, uint64_t now_ms)
{
    if (now_ms > n->now) {
        n->now = now_ms;
    }
    if (rq->key_len < 1 || rq->key_len > SK_KEY_MAX || rq->holder_len > SK_HOLDER_MAX ||
        rq->op < SK_OP_ACQUIRE || rq->op > SK_OP_MAX) {
        snprintf(n->errmsg, sizeof n->errmsg,
                 "bad request: op %u, lock name of %u bytes (1..%d), holder of %u bytes (max %d)",
                 rq->op, rq->key_len, SK_KEY_MAX, rq->holder_len, SK_HOLDER_MAX);
        return SK_EINVAL;
    }
    if (rq->client == 0 || rq->seq == 0) {
        snprintf(n->errmsg, sizeof n->errmsg,
                 "bad request: no identity (client %llu, seq %llu); both must be non-zero",
                 (unsigned long long)rq->client, (unsigned long long)rq->seq);
        return SK_EINVAL;
    }
    if (SK_OP_IS_ACQUIRE(rq->op) && rq->fence != 0) {
        snprintf(n->errmsg, sizeof n->errmsg,
                 "bad request: an acquire names no token (a token names the grant a release "
                 "or renew ends)");
        return SK_EINVAL;
    }
    if (n->n_pending >= n->cfg.max_inflight) {
        return SK_EBUSY;
    }
    if (work_ensure(n) != 0) {
        return SK_ENOMEM;
    }
    struct reg *r = reg_get(n, rq->key, rq->key_len);
    struct proposal *p = sk__malloc(sizeof *p);
    if (r == NULL || p == NULL) {
        sk__free(p);
        return SK_ENOMEM;
    }
    memset(p, 0, sizeof *p);
    p->reg = r;
    p->req_id = rq->req_id;
    p->client = rq->client;
    p->cseq = rq->seq;
    p->fence = rq->fence;
    p->op = rq->op;
    p->ttl_ms = rq->ttl_ms;
    p->holder_len = rq->holder_len;
    if (rq->holder_len) {
        memcpy(p->holder, rq->holder, rq->holder_len);
    }
    if (r->tail != NULL) {
        n->n_pending++;
        r->tail->next = p;
        r->tail = p;
        return 0;
    }
    if (VEC_PUSH(n->active, p) != 0) {
        sk__free(p);
        return SK_ENOMEM;
    }
    n->n_pending++;
    r->head = r->tail = p;
    start_attempt(n, p);
    drain_self(n);
    return 0;
}

void sk_node_set_strategy(struct sk_node *n, const struct sk_strategy *st)
{
    n->st = st != NULL ? st : &sk_strategy_default;
}

bool sk_node_actions(struct sk_node *n, struct sk_actions *out)
{
    if (n->record_dirty) {
        persist_record(n); /* a new member's first batch: after any restore */
    }
    memset(out, 0, sizeof *out);
    const uint8_t *a = n->arena.data;
    n->persist.n = n->send.n = n->reply.n = n->note.n = 0;
    for (size_t i = 0; i < n->o_persist.n; i++) {
        struct out_persist *o = &n->o_persist.v[i];
        struct sk_persist p = {a + o->key, o->key_len, o->promised, o->accepted, a + o->value,
                               o->value_len};
        VEC_PUSH(n->persist, p) == 0 ? (void)0 : oom();
    }
    for (size_t i = 0; i < n->o_send.n; i++) {
        struct out_send *o = &n->o_send.v[i];
        struct sk_send s = {o->to, a + o->frame, o->len};
        VEC_PUSH(n->send, s) == 0 ? (void)0 : oom();
    }
    for (size_t i = 0; i < n->o_reply.n; i++) {
        struct out_reply *o = &n->o_reply.v[i];
        struct sk_reply r = {o->req_id,  o->status, o->token, a + o->key, o->key_len,
                             (const char *)a + o->holder, (const char *)a + o->text, o->ballot,
                             o->waited};
        VEC_PUSH(n->reply, r) == 0 ? (void)0 : oom();
    }
    for (size_t i = 0; i < n->o_note.n; i++) {
        struct out_note *o = &n->o_note.v[i];
        struct sk_note nt = {o->kind, a + o->key, o->key_len, o->ballot, a + o->value,
                             o->value_len, o->req_id, o->phase,
                             o->text == SIZE_MAX ? NULL : (const char *)a + o->text};
        VEC_PUSH(n->note, nt) == 0 ? (void)0 : oom();
    }
    out->persist = n->persist.v;
    out->n_persist = n->persist.n;
    out->send = n->send.v;
    out->n_send = n->send.n;
    out->reply = n->reply.v;
    out->n_reply = n->reply.n;
    out->note = n->note.v;
    out->n_note = n->note.n;
    uint64_t w = NO_WAKEUP;
    for (size_t i = 0; i < n->active.n; i++) {
        const struct proposal *p = n->active.v[i];
        if (p->deadline < w) {
            w = p->deadline;
        }
        if (p->fill_at != 0 && p->fill_at < w) {
            w = p->fill_at;
        }
    }
    if (!n->member && n->join_at < w) {
        w = n->join_at;
    }
    for (size_t i = 0; i < n->fetching.n; i++) {
        if (n->fetching.v[i]->fetch_at < w) {
            w = n->fetching.v[i]->fetch_at;
        }
    }
    out->wakeup_ms = w;
    return out->n_persist || out->n_send || out->n_reply || out->n_note;
}

void sk_node_advance(struct sk_node *n)
{
    n->arena.len = 0;
    n->o_persist.n = n->o_send.n = n->o_reply.n = n->o_note.n = 0;
    n->persist.n = n->send.n = n->reply.n = n->note.n = 0;
}

static void view_of(const struct reg *r, struct sk_register_view *out)
{
    out->key = r->key;
    out->key_len = r->key_len;
    out->promised = r->promised;
    out->accepted = r->accepted;
    out->value = r->value.data;
    out->value_len = (uint32_t)r->value.len;
}

bool sk_node_registers(const struct sk_node *n, size_t *cursor, struct sk_register_view *out)
{
    while (*cursor < n->n_slots) {
        const struct reg *r = n->slots[(*cursor)++];
        if (r != NULL && (r->promised.round || r->promised.node || r->accepted.round)) {
            view_of(r, out);
            return true;
        }
    }
    return false;
}

bool sk_node_register(const struct sk_node *n, const uint8_t *key, uint32_t key_len,
                      struct sk_register_view *out)
{
    const struct reg *r = reg_find(n, key, key_len);
    if (r == NULL) {
        return false;
    }
    view_of(r, out);
    return true;
}

void sk_node_record(const struct sk_node *n, struct sk_persist *out)
{
    memset(out, 0, sizeof *out);
    out->promised = n->fence;
    out->accepted = (struct sk_ballot){n->max_epoch, n->member ? 1u : 0u};
}

bool sk_node_is_member(const struct sk_node *n)
{
    return n->member;
}

const char *sk_node_errmsg(const struct sk_node *n)
{
    return n->errmsg;
}

uint32_t sk_node_id(const struct sk_node *n)
{
    return n->cfg.id;
}

void sk_node_stats(const struct sk_node *n, struct sk_node_stats *out)
{
    *out = n->stats;
}

uint64_t sk_node_now(const struct sk_node *n)
{
    return n->now;
}

/* ------------------------------------------------- clones and digests */

/* Between inputs with nothing pending (sk.h, "clones and digests"). */
static bool quiescent(const struct sk_node *n)
{
    return !n->draining && n->selfq.len == 0 && n->o_persist.n == 0 && n->o_send.n == 0 &&
           n->o_reply.n == 0 && n->o_note.n == 0;
}

void sk_node_trim(struct sk_node *n)
{
    if (!quiescent(n)) {
        return;
    }
    free_between_inputs(n);
}

/* dst is zeroed; a buffer without data stays without. */
static int buf_copy(struct sk_buf *dst, const struct sk_buf *src)
{
    *dst = (struct sk_buf){0};
    return src->data != NULL ? sk__buf_set(dst, src->data, src->len) : 0;
}

static struct proposal *proposal_clone(const struct proposal *p, struct reg *r)
{
    struct proposal *c = sk__malloc(sizeof *c);
    if (c == NULL) {
        return NULL;
    }
    memcpy(c, p, sizeof *c);
    c->next = NULL;
    c->reg = r;
    c->new_value = (struct sk_buf){0};
    for (size_t i = 0; i < SK_MAX_NODES; i++) {
        c->promises[i].value = (struct sk_buf){0};
    }
    int rv = buf_copy(&c->new_value, &p->new_value);
    for (size_t i = 0; i < p->n_promises && rv == 0; i++) {
        rv = buf_copy(&c->promises[i].value, &p->promises[i].value);
    }
    if (rv != 0) {
        proposal_free(c);
        return NULL;
    }
    return c;
}

/* A copy of r with its queue; on failure what was made is linked into the
 * copy, for sk_node_free to release. */
static int reg_clone(const struct reg *r, struct reg **out)
{
    struct reg *c = sk__malloc(sizeof *c + r->key_len);
    *out = c;
    if (c == NULL) {
        return SK_ENOMEM;
    }
    memcpy(c, r, sizeof *c + r->key_len);
    c->value = c->fast_value = (struct sk_buf){0};
    c->head = c->tail = NULL;
    if (buf_copy(&c->value, &r->value) != 0 || buf_copy(&c->fast_value, &r->fast_value) != 0) {
        return SK_ENOMEM;
    }
    for (const struct proposal *p = r->head; p != NULL; p = p->next) {
        struct proposal *q = proposal_clone(p, c);
        if (q == NULL) {
            return SK_ENOMEM;
        }
        if (c->tail != NULL) {
            c->tail->next = q;
        } else {
            c->head = q;
        }
        c->tail = q;
    }
    return 0;
}

struct sk_node *sk_node_clone(const struct sk_node *n)
{
    if (!quiescent(n)) {
        return NULL;
    }
    struct sk_node *c = sk__malloc(sizeof *c);
    if (c == NULL) {
        return NULL;
    }
    memcpy(c, n, sizeof *c);
    c->cfg.name = c->name;
    c->w = NULL;
    c->slots = NULL;
    c->n_regs = 0;
    memset(&c->active, 0, sizeof c->active);
    memset(&c->fetching, 0, sizeof c->fetching);
    memset(&c->due, 0, sizeof c->due);
    c->arena = c->selfq = (struct sk_buf){0};
    c->selfq_head = 0;
    memset(&c->o_persist, 0, sizeof c->o_persist);
    memset(&c->o_send, 0, sizeof c->o_send);
    memset(&c->o_reply, 0, sizeof c->o_reply);
    memset(&c->o_note, 0, sizeof c->o_note);
    memset(&c->persist, 0, sizeof c->persist);
    memset(&c->send, 0, sizeof c->send);
    memset(&c->reply, 0, sizeof c->reply);
    memset(&c->note, 0, sizeof c->note);
    c->slots = sk__malloc(n->n_slots * sizeof *c->slots);
    if (c->slots == NULL) {
        c->n_slots = 0;
        sk_node_free(c);
        return NULL;
    }
    memset(c->slots, 0, n->n_slots * sizeof *c->slots);
    /* the same table size and slots: lookups probe the same way */
    for (size_t i = 0; i < n->n_slots; i++) {
        if (n->slots[i] != NULL) {
            int rv = reg_clone(n->slots[i], &c->slots[i]);
            c->n_regs++;
            if (rv != 0) {
                sk_node_free(c);
                return NULL;
            }
        }
    }
    /* the vectors of registers and attempts, in their order, pointing into
     * the copy (an active attempt is always the head of its register) */
    for (size_t i = 0; i < n->active.n; i++) {
        const struct reg *r = n->active.v[i]->reg;
        if (VEC_PUSH(c->active, reg_find(c, r->key, r->key_len)->head) != 0) {
            sk_node_free(c);
            return NULL;
        }
    }
    for (size_t i = 0; i < n->fetching.n; i++) {
        const struct reg *r = n->fetching.v[i];
        if (VEC_PUSH(c->fetching, reg_find(c, r->key, r->key_len)) != 0) {
            sk_node_free(c);
            return NULL;
        }
    }
    return c;
}

/* A time as its distance ahead of the clock; 0 when already due. */
static uint64_t rel(const struct sk_node *n, uint64_t t)
{
    return t > n->now ? t - n->now : 0;
}

static void hash_ballot(struct sk_hasher *h, struct sk_ballot b)
{
    sk_hash_u64(h, b.round);
    sk_hash_u64(h, b.node);
}

static void hash_buf(struct sk_hasher *h, const struct sk_buf *b)
{
    sk_hash_bytes(h, b->data, b->len);
}

/* What fetch a register made now would start with (reg_get). */
static uint8_t fresh_fetch(const struct sk_node *n)
{
    return (!n->member || !sk_ballot_is_zero(n->fence)) ? 1 : 0;
}

/* Holds nothing: digests like a register never created. */
static bool reg_blank(const struct sk_node *n, const struct reg *r)
{
    return sk_ballot_is_zero(r->promised) && sk_ballot_is_zero(r->accepted) &&
           r->value.len == 0 && sk_ballot_is_zero(r->last) && sk_ballot_is_zero(r->highest) &&
           sk_ballot_is_zero(r->fast) && r->head == NULL && r->fetch != 2 &&
           r->fetch == fresh_fetch(n);
}

static void hash_proposal(struct sk_hasher *h, const struct sk_node *n, const struct proposal *p)
{
    sk_hash_u64(h, p->req_id);
    sk_hash_u64(h, p->client);
    sk_hash_u64(h, p->cseq);
    sk_hash_u64(h, p->fence);
    sk_hash_u64(h, p->op);
    sk_hash_u64(h, p->ttl_ms);
    sk_hash_bytes(h, p->holder, p->holder_len);
    sk_hash_u64(h, p->attempt);
    sk_hash_u64(h, p->seq);
    sk_hash_u64(h, (uint64_t)p->phase);
    hash_ballot(h, p->ballot); /* read in every phase: replies carry it */
    sk_hash_u64(h, rel(n, p->deadline));
    sk_hash_u64(h, p->waited);
    sk_hash_u64(h, p->fast_wanted);
    sk_hash_u64(h, p->fill_ms);
    sk_hash_u64(h, p->fill_at != 0); /* read in any phase for the wakeup */
    sk_hash_u64(h, p->fill_at != 0 ? rel(n, p->fill_at) : 0);
    if (p->phase == 0) {
        return; /* backing off or not started: begin_phase resets the rest */
    }
    sk_hash_u64(h, p->yeas);
    sk_hash_u64(h, p->nays);
    sk_hash_u64(h, p->answered);
    sk_hash_u64(h, p->timed_out);
    sk_hash_u64(h, p->sent);
    if (p->fill_ms != 0) { /* learn_order reads the answer order */
        sk_hash_u64(h, p->n_order);
        for (uint32_t i = 0; i < p->n_order; i++) {
            sk_hash_u64(h, p->order[i]);
        }
    }
    if (p->phase == 1) {
        sk_hash_u64(h, p->n_promises);
        for (size_t i = 0; i < p->n_promises; i++) {
            sk_hash_u64(h, p->promises[i].from);
            hash_ballot(h, p->promises[i].accepted);
            hash_buf(h, &p->promises[i].value);
        }
    } else {
        sk_hash_u64(h, p->piggy_acks);
        hash_buf(h, &p->new_value);
        const struct sk_lock_reply *lr = &p->lock_reply;
        sk_hash_u64(h, lr->status);
        sk_hash_u64(h, lr->token);
        sk_hash_bytes(h, lr->holder, strnlen(lr->holder, sizeof lr->holder));
        sk_hash_bytes(h, lr->text, strnlen(lr->text, sizeof lr->text));
    }
}

static void hash_reg(struct sk_hasher *h, const struct sk_node *n, const struct reg *r)
{
    sk_hash_bytes(h, r->key, r->key_len);
    hash_ballot(h, r->promised);
    hash_ballot(h, r->accepted);
    hash_buf(h, &r->value);
    hash_ballot(h, r->last);
    hash_ballot(h, r->highest);
    hash_ballot(h, r->fast);
    if (!sk_ballot_is_zero(r->fast)) {
        hash_buf(h, &r->fast_value); /* read only with a fast ballot */
    }
    sk_hash_u64(h, r->fetch);
    if (r->fetch == 2) {
        sk_hash_u64(h, r->fetched);
        sk_hash_u64(h, rel(n, r->fetch_at));
    }
    uint64_t queued = 0;
    for (const struct proposal *p = r->head; p != NULL; p = p->next) {
        queued++;
    }
    sk_hash_u64(h, queued);
    for (const struct proposal *p = r->head; p != NULL; p = p->next) {
        hash_proposal(h, n, p);
    }
}

static int reg_ptr_cmp(const void *a, const void *b)
{
    const struct reg *x = *(const struct reg *const *)a, *y = *(const struct reg *const *)b;
    return bytes_cmp(x->key, x->key_len, y->key, y->key_len);
}

/* Position of r among the sorted registers. */
static uint64_t reg_rank(struct reg *const *sorted, size_t count, const struct reg *r)
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = bytes_cmp(sorted[mid]->key, sorted[mid]->key_len, r->key, r->key_len);
        if (c == 0) {
            return mid;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return UINT64_MAX; /* blank: cannot be active or fetching */
}

void sk_node_digest(const struct sk_node *n, uint8_t out[SK_DIGEST_LEN])
{
    struct sk_hasher h;
    sk_hash_init(&h);
    sk_hash_u64(&h, 0x736b6e6f64650001ull); /* "sknode", layout 1 */
    /* the configuration that acts after creation */
    sk_hash_u64(&h, n->cfg.id);
    sk_hash_bytes(&h, n->name, strlen(n->name));
    sk_hash_u64(&h, n->cfg.cluster_size);
    sk_hash_u64(&h, n->cfg.phase_timeout_ms);
    sk_hash_u64(&h, n->cfg.increment);
    sk_hash_u64(&h, n->cfg.classic);
    sk_hash_u64(&h, n->cfg.max_inflight);
    sk_hash_u64(&h, n->rng.state);
    for (uint32_t i = 0; i + 1 < n->cfg.cluster_size; i++) {
        sk_hash_u64(&h, n->pref[i]);
    }
    sk_hash_u64(&h, n->next_seq);
    /* rejoin */
    sk_hash_u64(&h, n->member);
    sk_hash_u64(&h, n->record_dirty);
    sk_hash_u64(&h, (uint64_t)n->join_phase);
    sk_hash_u64(&h, n->join_seq);
    sk_hash_u64(&h, n->member ? 0 : rel(n, n->join_at)); /* a member never reads it */
    sk_hash_u64(&h, n->join_epoch);
    sk_hash_u64(&h, n->join_max);
    sk_hash_u64(&h, n->join_ok);
    sk_hash_u64(&h, n->join_blank);
    hash_ballot(&h, n->fence);
    sk_hash_u64(&h, n->max_epoch);
    sk_hash_u64(&h, n->ann_from);
    sk_hash_u64(&h, n->ann_seq);
    /* registers in key order, blank ones left out */
    struct reg *few[16];
    struct reg **sorted = few;
    if (n->n_regs > 16) {
        sorted = sk__malloc(n->n_regs * sizeof *sorted);
        if (sorted == NULL) {
            oom();
        }
    }
    size_t count = 0;
    for (size_t i = 0; i < n->n_slots; i++) {
        if (n->slots[i] != NULL && !reg_blank(n, n->slots[i])) {
            sorted[count++] = n->slots[i];
        }
    }
    qsort(sorted, count, sizeof *sorted, reg_ptr_cmp);
    sk_hash_u64(&h, count);
    for (size_t i = 0; i < count; i++) {
        hash_reg(&h, n, sorted[i]);
    }
    /* the order a tick walks them in */
    sk_hash_u64(&h, n->active.n);
    for (size_t i = 0; i < n->active.n; i++) {
        sk_hash_u64(&h, reg_rank(sorted, count, n->active.v[i]->reg));
    }
    sk_hash_u64(&h, n->fetching.n);
    for (size_t i = 0; i < n->fetching.n; i++) {
        sk_hash_u64(&h, reg_rank(sorted, count, n->fetching.v[i]));
    }
    if (sorted != few) {
        sk__free(sorted);
    }
    sk_hash_final(&h, out);
}
