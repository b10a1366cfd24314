/* skinnyd - one Skinny instance: the core driven by libuv TCP, acceptor
 * state in the file store, strategy scripts in a sandboxed Lua state.
 *
 * The loop's rule (etcd's Ready, DESIGN "storage"): the actions the core
 * produced during one loop iteration are drained once; their persist
 * records go to the log as one batch with one fdatasync, and only then are
 * the acceptor frames of that batch (promises, accepteds, nays) sent and
 * the clients answered. The proposer frames (prepares, accepts) leave
 * before the sync, so that the acceptors' syncs overlap this one. See
 * spec/DAEMON.md. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "lua_strategy.h"
#include "lua_value.h"
#include "trace_fmt.h"
#include "net/auth.h"
#include "net/control.h"
#include "net/net.h"
#include "sk.h"
#include "skinnyd_config.h"
#include "store/filestore.h"

enum {
    EXIT_OK = 0,
    EXIT_RUNTIME = 1,
    EXIT_USAGE = 2,
    EXIT_CONFIG = 3,
    EXIT_STORAGE = 4,
    EXIT_NETWORK = 5,
};

/* ============================================================= daemon */

struct pending {
    uint64_t rid;     /* id given to the core */
    uint64_t conn_id; /* client connection */
    uint64_t seq;     /* the client's request: (client, seq) */
    uint64_t client;
};

struct daemon {
    struct skd_config cfg;
    uv_loop_t *loop;
    struct sk_net *net;
    struct sk_node *core;
    struct sk_filestore *store;
    struct skl_strategy *strategy;
    uv_timer_t tick;
    uv_check_t check;
    uv_prepare_t prepare;
    uv_signal_t sig_term, sig_int, sig_hup;
    bool json_log;
    FILE *trace;
    struct sk_buf tbuf;
    struct pending *pend;
    size_t n_pend, cap_pend;
    uint64_t next_rid;
    bool dirty;
    bool stopping;
    int exit_code;
    uint8_t frame[SK_FRAME_MAX + 4];
};

static void dlog(struct daemon *d, const char *level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void json_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            fprintf(f, "\\%c", ch);
        } else if (ch < 0x20) {
            fprintf(f, "\\u%04x", ch);
        } else {
            fputc(ch, f);
        }
    }
}

static void dlog(struct daemon *d, const char *level, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[64];
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    const char *name = d->cfg.name[0] ? d->cfg.name : "skinnyd";
    if (d->json_log) {
        fprintf(stderr, "{\"ts\":\"%s.%03dZ\",\"node\":\"", ts, (int)(tv.tv_usec / 1000));
        json_escape(stderr, name);
        fprintf(stderr, "\",\"level\":\"%s\",\"msg\":\"", level);
        json_escape(stderr, text);
        fprintf(stderr, "\"}\n");
    } else {
        fprintf(stderr, "%s.%03dZ %s %s: %s\n", ts, (int)(tv.tv_usec / 1000), name, level, text);
    }
    fflush(stderr);
}

/* ----------------------------------------------------------- tracing */

static uint64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static const char *node_name(struct daemon *d, uint32_t id)
{
    return id >= 1 && id <= d->cfg.n ? d->cfg.peers[id].name : "?";
}

/* Each trace line is built in d->tbuf by the shared formatter and written
 * whole. */
static void trace_flush(struct daemon *d)
{
    skl_trace_end(&d->tbuf);
    fwrite(d->tbuf.data, 1, d->tbuf.len, d->trace);
    d->tbuf.len = 0;
}

static void trace_msg(struct daemon *d, const char *ev, const struct sk_msg *m, const char *why)
{
    if (d->trace == NULL) {
        return;
    }
    d->tbuf.len = 0;
    skl_trace_msg(&d->tbuf, wall_ms(), ev, 0, node_name(d, m->from), node_name(d, m->to), m, why);
    trace_flush(d);
}

static void trace_frame(struct daemon *d, const char *ev, const uint8_t *frame, size_t len,
                        const char *why)
{
    struct sk_msg m;
    if (d->trace != NULL && sk_msg_decode(frame, len, &m) > 0) {
        trace_msg(d, ev, &m, why);
    }
}

/* What register value v of lock key means, for people: the lock script's
 * describe (spec/HOOKS.md, "Lock hooks"), run protected like every hook,
 * falling back to the C default's text and why. Its own generator: a
 * description never moves the node's. ctx.now is the node's clock, as the
 * core's hooks see it. */
static void describe_value(struct daemon *d, const struct sk_strategy *st, const uint8_t *key,
                           uint32_t key_len, const uint8_t *v, size_t len, char *out, size_t cap)
{
    struct sk_rng rng = {wall_ms()};
    struct sk_hook_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.node_id = d->cfg.id;
    ctx.node_name = d->cfg.name;
    ctx.cluster_size = d->cfg.n;
    ctx.now_ms = uv_now(d->loop);
    ctx.rng = &rng;
    ctx.key = key;
    ctx.key_len = key_len;
    sk_describe(st, &ctx, v, len, out, cap);
}

static void trace_note(struct daemon *d, const struct sk_note *nt)
{
    d->tbuf.len = 0;
    skl_trace_note(&d->tbuf, wall_ms(), d->cfg.name, nt);
    if (nt->kind == SK_NOTE_DECIDED) {
        /* one describe per decision, for the pictures (render.lua) */
        char text[SK_DESCRIBE_MAX];
        describe_value(d, skl_strategy_vtable(d->strategy), nt->key, nt->key_len, nt->value,
                       nt->value_len, text, sizeof text);
        skl_trace_describe(&d->tbuf, text);
    }
    trace_flush(d);
}

static void trace_fault(struct daemon *d, const char *what)
{
    if (d->trace == NULL) {
        return;
    }
    d->tbuf.len = 0;
    skl_trace_fault(&d->tbuf, wall_ms(), d->cfg.name, what);
    trace_flush(d);
    fflush(d->trace);
}

/* ------------------------------------------------------------ driving */

static void on_tick(uv_timer_t *t);

static void send_reply(struct daemon *d, uint64_t conn_id, uint64_t client, uint64_t seq,
                       uint8_t status,
                       uint64_t token, const uint8_t *key, uint32_t key_len, const char *holder,
                       const char *text, struct sk_ballot ballot, bool waited)
{
    struct sk_conn *c = sk_net_conn(d->net, conn_id);
    if (c == NULL) {
        return; /* the client went away */
    }
    struct sk_msg m = {0};
    m.type = SK_MSG_CLIENT_REPLY;
    m.status = status;
    m.from = d->cfg.id;
    m.seq = seq;
    m.client = client;
    m.token = token;
    m.ballot = ballot;
    m.phase = waited ? 1 : 0; /* PROTOCOL.md 4: the acquire waited in the lock's queue */
    m.key = key;
    m.key_len = key_len;
    size_t hl = holder ? strlen(holder) : 0, tl = text ? strlen(text) : 0;
    m.holder = (const uint8_t *)holder;
    m.holder_len = (uint32_t)(hl > SK_HOLDER_MAX ? SK_HOLDER_MAX : hl);
    m.text = (const uint8_t *)text;
    m.text_len = (uint32_t)(tl > SK_TEXT_MAX ? SK_TEXT_MAX : tl);
    int len = sk_msg_encode(&m, d->frame, sizeof d->frame);
    if (len > 0) {
        sk_conn_send(c, d->frame, (size_t)len);
    }
}

/* A proposer's request to the acceptors (PREPARE, ACCEPT): it carries no
 * promise or acceptance of this instance, so it may leave before this
 * batch's sync (spec/DAEMON.md, "proposer frames before the sync"). */
static bool proposer_frame(const uint8_t *frame, size_t len)
{
    struct sk_msg m;
    return sk_msg_decode(frame, len, &m) > 0 &&
           (m.type == SK_MSG_PREPARE || m.type == SK_MSG_ACCEPT);
}

/* The store's load callback: restore one logged record into the core, in
 * log order. */
static int store_load(void *ctx, const struct sk_persist *rec)
{
    struct daemon *d = ctx;
    return sk_node_restore(d->core, rec);
}

/* The store's live iterator for compaction: the node record, then the
 * core's registers (cursor 0 is the record, k + 1 the core's cursor k). */
static bool store_live(void *ctx, size_t *cursor, struct sk_persist *out)
{
    struct daemon *d = ctx;
    if (*cursor == 0) {
        sk_node_record(d->core, out);
        *cursor = 1;
        return true;
    }
    struct sk_register_view v;
    size_t c = *cursor - 1;
    bool more = sk_node_registers(d->core, &c, &v);
    *cursor = c + 1;
    if (!more) {
        return false;
    }
    out->key = v.key;
    out->key_len = v.key_len;
    out->promised = v.promised;
    out->accepted = v.accepted;
    out->value = v.value;
    out->value_len = v.value_len;
    return true;
}

/* Run one batch: send the proposer frames, persist (one write, one
 * fdatasync), then send the acceptor frames and reply to clients. */
static void drain(struct daemon *d)
{
    struct sk_actions a;
    d->dirty = false;
    if (d->core == NULL) {
        return;
    }
    bool any = sk_node_actions(d->core, &a);
    bool early = any && a.n_persist > 0 && d->cfg.early_send;
    /* the frames for one peer (or client) in this batch leave as one sealed
     * record when links are authenticated (net.h, sk_net_cork); the early
     * ones leave before the sync */
    sk_net_cork(d->net);
    for (size_t i = 0; early && i < a.n_send; i++) {
        if (proposer_frame(a.send[i].frame, a.send[i].len)) {
            trace_frame(d, "send", a.send[i].frame, a.send[i].len, NULL);
            sk_net_send_peer(d->net, a.send[i].to, a.send[i].frame, a.send[i].len);
        }
    }
    sk_net_uncork(d->net);
    sk_net_cork(d->net);
    if (any && a.n_persist > 0) {
        int rv = sk_filestore_append(d->store, a.persist, a.n_persist);
        if (rv != 0) {
            /* No promise or acceptance of this batch may leave: one we
             * cannot make durable must not be sent. Stop hard. (Proposer
             * frames may have left: as if we crashed after sending them.) */
            dlog(d, "error", "cannot make acceptor state durable: %s; exiting without sending",
                 sk_filestore_errmsg(d->store));
            exit(EXIT_STORAGE);
        }
        for (size_t i = 0; d->trace && i < a.n_persist; i++) {
            d->tbuf.len = 0;
            skl_trace_persist(&d->tbuf, wall_ms(), d->cfg.name, &a.persist[i]);
            trace_flush(d);
        }
    }
    for (size_t i = 0; any && d->trace && i < a.n_note; i++) {
        trace_note(d, &a.note[i]);
    }
    for (size_t i = 0; any && i < a.n_note; i++) {
        if (a.note[i].kind == SK_NOTE_HOOK_ERROR) {
            dlog(d, "warn", "hook error on lock \"%.*s\": %s", (int)a.note[i].key_len,
                 (const char *)a.note[i].key, a.note[i].text ? a.note[i].text : "");
        } else if (a.note[i].kind == SK_NOTE_REJOIN && a.note[i].text != NULL) {
            /* the steps of rejoining after state loss ("announcing epoch
             * E", "waiting: ...", "rejoined: ..."), so an operator (and
             * skinny torture) can tell when a blank instance is a member */
            dlog(d, "info", "%s", a.note[i].text);
        }
    }
    for (size_t i = 0; any && i < a.n_send; i++) {
        if (early && proposer_frame(a.send[i].frame, a.send[i].len)) {
            continue; /* sent before the sync */
        }
        trace_frame(d, "send", a.send[i].frame, a.send[i].len, NULL);
        sk_net_send_peer(d->net, a.send[i].to, a.send[i].frame, a.send[i].len);
    }
    for (size_t i = 0; any && i < a.n_reply; i++) {
        const struct sk_reply *r = &a.reply[i];
        size_t k;
        for (k = 0; k < d->n_pend && d->pend[k].rid != r->req_id; k++) {
        }
        if (d->trace) {
            d->tbuf.len = 0;
            skl_trace_complete(&d->tbuf, wall_ms(), r->req_id, NULL, d->cfg.name, r->key,
                               r->key_len, sk_status_name(r->status), r->holder, r->token,
                               r->text);
            trace_flush(d);
        }
        if (k == d->n_pend) {
            continue;
        }
        struct pending p = d->pend[k];
        d->pend[k] = d->pend[--d->n_pend];
        send_reply(d, p.conn_id, p.client, p.seq, r->status, r->token, r->key, r->key_len, r->holder,
                   r->text, r->ballot, r->waited);
    }
    sk_net_uncork(d->net);
    if (d->trace) {
        fflush(d->trace);
    }
    uint64_t now = uv_now(d->loop);
    if (a.wakeup_ms != UINT64_MAX) {
        uv_timer_start(&d->tick, on_tick, a.wakeup_ms > now ? a.wakeup_ms - now : 0, 0);
    } else {
        uv_timer_stop(&d->tick);
    }
    if (any) {
        sk_node_advance(d->core);
    }
}

static void on_tick(uv_timer_t *t)
{
    struct daemon *d = t->data;
    sk_node_tick(d->core, uv_now(d->loop));
    drain(d);
}

static void on_check(uv_check_t *h)
{
    struct daemon *d = h->data;
    if (d->dirty) {
        drain(d);
    }
}

static void on_prepare(uv_prepare_t *h)
{
    struct daemon *d = h->data;
    if (d->dirty) {
        drain(d);
    }
}

/* ------------------------------------------------------------ strategy */

static int strategy_open(struct daemon *d, struct skl_strategy **out, char *err, size_t errlen)
{
    struct skl_strategy_config sc = {
        .scripts_dir = d->cfg.scripts_dir,
        .proposer = d->cfg.proposer[0] ? d->cfg.proposer : NULL,
        .backoff = d->cfg.backoff[0] ? d->cfg.backoff : NULL,
        .lock = d->cfg.lock[0] ? d->cfg.lock : NULL,
        .budget = d->cfg.hook_budget,
        .virtual_time = false,
        .params = &d->cfg.lock_params,
    };
    return skl_strategy_open(out, &sc, err, errlen);
}

static int reload(struct daemon *d, char *why, size_t whylen)
{
    struct skl_strategy *s;
    char err[SK_ERRMSG_LEN * 2];
    if (strategy_open(d, &s, err, sizeof err) != 0) {
        snprintf(why, whylen, "reload failed, keeping the old scripts: %s", err);
        dlog(d, "error", "%s", why);
        return -1;
    }
    if (skl_strategy_classic(s) != skl_strategy_classic(d->strategy)) {
        dlog(d, "warn", "reload: the new proposer asks for different classic flags; they take "
                        "effect only on restart");
    }
    sk_node_set_strategy(d->core, skl_strategy_vtable(s));
    skl_strategy_close(d->strategy);
    d->strategy = s;
    snprintf(why, whylen, "scripts reloaded");
    dlog(d, "info", "scripts reloaded (proposer %s, backoff %s, lock %s)",
         d->cfg.proposer[0] ? d->cfg.proposer : "C default",
         d->cfg.backoff[0] ? d->cfg.backoff : "C default",
         d->cfg.lock[0] ? d->cfg.lock : "C default");
    trace_fault(d, "reload");
    return 0;
}

/* -------------------------------------------------------------- frames */

static uint32_t peer_by_name(struct daemon *d, const uint8_t *name, uint32_t len)
{
    for (uint32_t i = 1; i <= d->cfg.n; i++) {
        if (strlen(d->cfg.peers[i].name) == len && memcmp(d->cfg.peers[i].name, name, len) == 0) {
            return i;
        }
    }
    return 0;
}

/* A status answer is made inside the event loop: its descriptions may take
 * this long in all (each describe is bounded by its budget, but a daemon may
 * hold many locks). Past it, the rest get the C default's text and say why. */
#define DESCRIBE_NS_PER_ANSWER (200ull * 1000 * 1000)

static void answer_status(struct daemon *d, struct sk_conn *c, const struct sk_msg *m)
{
    uint64_t describe_ns = 0;
    struct sk_register_view v;
    uint64_t rows = 0;
    size_t cur = 0;
    bool one = m->key_len > 0;
    for (;;) {
        if (one) {
            if (rows > 0 || !sk_node_register(d->core, m->key, m->key_len, &v)) {
                break;
            }
        } else if (!sk_node_registers(d->core, &cur, &v)) {
            break;
        }
        struct sk_msg r = {0};
        r.type = SK_MSG_STATUS_REPLY;
        r.status = SK_STATUS_ROW;
        r.from = d->cfg.id;
        r.seq = m->seq;
        r.ballot = v.promised;
        r.other = v.accepted;
        r.key = v.key;
        r.key_len = v.key_len;
        r.value = v.value;
        r.value_len = v.value_len;
        struct sk_value_field f;
        const uint8_t *st = NULL;
        size_t sl = 0;
        if (v.value_len == 0 || sk_value_state(v.value, v.value_len, &st, &sl) != 0) {
            st = NULL;
            sl = 0;
        }
        if (sk_value_get(st, sl, "holder", &f) == 1 && f.tag == 's' &&
            f.s_len <= SK_HOLDER_MAX) {
            r.holder = f.s;
            r.holder_len = (uint32_t)f.s_len;
        }
        if (sk_value_get(st, sl, "token", &f) == 1 && f.tag == 'i' && f.i > 0) {
            r.token = (uint64_t)f.i;
        }
        /* text: what the state means, by the lock script's describe (the
         * node's name is in the closing frame) */
        char text[SK_DESCRIBE_MAX];
        if (describe_ns < DESCRIBE_NS_PER_ANSWER) {
            uint64_t t0 = uv_hrtime();
            describe_value(d, skl_strategy_vtable(d->strategy), v.key, v.key_len, v.value,
                           v.value_len, text, sizeof text);
            describe_ns += uv_hrtime() - t0;
        } else {
            describe_value(d, &sk_strategy_default, v.key, v.key_len, v.value, v.value_len, text,
                           sizeof text);
            size_t used = strlen(text);
            snprintf(text + used, sizeof text - used,
                     " (describe skipped: this status answer spent its %llu ms on descriptions)",
                     DESCRIBE_NS_PER_ANSWER / 1000000);
        }
        r.text = (const uint8_t *)text;
        r.text_len = (uint32_t)strlen(text);
        int len = sk_msg_encode(&r, d->frame, sizeof d->frame);
        if (len > 0) {
            sk_conn_send(c, d->frame, (size_t)len);
        }
        rows++;
    }
    struct sk_msg e = {0};
    e.type = SK_MSG_STATUS_REPLY;
    e.status = SK_STATUS_END;
    e.from = d->cfg.id;
    e.seq = m->seq;
    e.token = rows;
    e.text = (const uint8_t *)d->cfg.name;
    e.text_len = (uint32_t)strlen(d->cfg.name);
    int len = sk_msg_encode(&e, d->frame, sizeof d->frame);
    if (len > 0) {
        sk_conn_send(c, d->frame, (size_t)len);
    }
}

static void answer_control(struct daemon *d, struct sk_conn *c, const struct sk_msg *m)
{
    char text[SK_TEXT_MAX];
    uint8_t status = SK_ST_GRANTED;
    char target[SK_KEY_MAX + 1];
    snprintf(target, sizeof target, "%.*s", (int)m->key_len, m->key ? (const char *)m->key : "");
    uint32_t peer = peer_by_name(d, m->key, m->key_len);
    bool all = strcmp(target, "*") == 0;
    snprintf(text, sizeof text, "%s", d->cfg.name);
    switch (m->op) {
    case SK_CTL_DROP:
    case SK_CTL_DELAY:
        if (!all && (peer == 0 || peer == d->cfg.id)) {
            status = SK_ST_ERROR;
            snprintf(text, sizeof text, "no peer named \"%s\" (or it is this instance)", target);
            break;
        }
        for (uint32_t i = 1; i <= d->cfg.n; i++) {
            if (i != d->cfg.id && (all || i == peer)) {
                sk_net_fault(d->net, i, m->op == SK_CTL_DROP,
                             m->op == SK_CTL_DELAY ? m->ttl_ms : 0);
            }
        }
        snprintf(text, sizeof text, m->op == SK_CTL_DROP ? "dropping traffic to %s"
                                                         : "delaying traffic to %s by %u ms",
                 target, m->ttl_ms);
        dlog(d, "info", "fault injection: %s", text);
        trace_fault(d, text);
        break;
    case SK_CTL_HEAL:
        sk_net_heal(d->net);
        snprintf(text, sizeof text, "healed: no drops, no delays");
        dlog(d, "info", "fault injection: %s", text);
        trace_fault(d, text);
        break;
    case SK_CTL_RELOAD:
        if (reload(d, text, sizeof text) != 0) {
            status = SK_ST_ERROR;
        }
        break;
    case SK_CTL_PING: break;
    default:
        status = SK_ST_ERROR;
        snprintf(text, sizeof text, "unknown control op %u", m->op);
        break;
    }
    send_reply(d, sk_conn_id(c), 0, m->seq, status, 0, NULL, 0, NULL, text, (struct sk_ballot){0, 0}, false);
}

static void on_frame(void *ud, struct sk_conn *c, const struct sk_msg *m)
{
    struct daemon *d = ud;
    uint64_t now = uv_now(d->loop);
    char why[160];
    switch (m->type) {
    case SK_MSG_PREPARE:
    case SK_MSG_PROMISE:
    case SK_MSG_NAY:
    case SK_MSG_ACCEPT:
    case SK_MSG_ACCEPTED:
    case SK_MSG_JOIN:
    case SK_MSG_JOIN_OK:
    case SK_MSG_FETCH:
    case SK_MSG_FETCHED:
        if (m->to != d->cfg.id || m->from < 1 || m->from > d->cfg.n || m->from == d->cfg.id) {
            snprintf(why, sizeof why,
                     "bad frame: %s from node %u to node %u, but this is node %u of %u",
                     sk_msg_type_name(m->type), m->from, m->to, d->cfg.id, d->cfg.n);
            sk_conn_close(c, why);
            return;
        }
        trace_msg(d, "recv", m, NULL);
        if (sk_node_recv(d->core, m, now) == SK_EFRAME) {
            /* a value that is not data (spec/HOOKS.md): never stored; the
             * sender is broken or hostile, so its connection goes */
            sk_conn_close(c, sk_node_errmsg(d->core));
            return;
        }
        sk_conn_set_peer(c, m->from);
        d->dirty = true;
        return;
    case SK_MSG_CLIENT_REQ: {
        if (d->n_pend == d->cap_pend) {
            size_t cap = d->cap_pend ? d->cap_pend * 2 : 64;
            struct pending *p = realloc(d->pend, cap * sizeof *p);
            if (p == NULL) {
                sk_conn_close(c, "out of memory");
                return;
            }
            d->pend = p;
            d->cap_pend = cap;
        }
        uint64_t rid = ++d->next_rid;
        struct sk_client_req rq = {rid,       m->op,         m->ttl_ms, m->key,  m->key_len,
                                   m->holder, m->holder_len, m->client, m->seq, m->token};
        if (d->trace) {
            d->tbuf.len = 0;
            skl_trace_invoke(&d->tbuf, wall_ms(), rid, sk_conn_addr(c), d->cfg.name, &rq);
            trace_flush(d);
        }
        int rv = sk_node_request(d->core, &rq, now);
        if (rv != 0) {
            const char *t = rv == SK_EBUSY ? "too many requests in flight; retry later"
                                           : sk_node_errmsg(d->core);
            send_reply(d, sk_conn_id(c), m->client, m->seq,
                       rv == SK_EBUSY ? SK_ST_UNAVAILABLE : SK_ST_ERROR, 0, m->key, m->key_len,
                       NULL, t, (struct sk_ballot){0, 0}, false);
            return;
        }
        d->pend[d->n_pend++] = (struct pending){rid, sk_conn_id(c), m->seq, m->client};
        d->dirty = true;
        return;
    }
    case SK_MSG_STATUS_REQ: answer_status(d, c, m); return;
    case SK_MSG_CONTROL: answer_control(d, c, m); return;
    default:
        snprintf(why, sizeof why, "bad frame: unexpected message type %s sent to an instance",
                 sk_msg_type_name(m->type));
        sk_conn_close(c, why);
        return;
    }
}

static void on_net_log(void *ud, const char *level, const char *text)
{
    dlog(ud, level, "%s", text);
}

static void on_net_drop(void *ud, uint32_t peer, const uint8_t *frame, size_t len, const char *why)
{
    (void)peer;
    trace_frame(ud, "drop", frame, len, why);
}

/* ------------------------------------------------------------- signals */

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h)) {
        uv_close(h, NULL);
    }
}

static void stop(struct daemon *d)
{
    if (d->stopping) {
        return;
    }
    d->stopping = true;
    sk_net_close(d->net);
    uv_walk(d->loop, close_walk, NULL);
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct daemon *d = s->data;
    if (signum == SIGHUP) {
        char why[SK_TEXT_MAX];
        dlog(d, "info", "SIGHUP: reloading scripts");
        reload(d, why, sizeof why);
        return;
    }
    dlog(d, "info", "%s: shutting down", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    stop(d);
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: skinnyd --config FILE [--bootstrap] [--trace FILE] [--log-format text|json]\n"
            "               [--check]\n"
            "       skinnyd --keygen FILE\n"
            "\n"
            "Runs one Skinny instance as described by FILE (JSON; see spec/DAEMON.md).\n"
            "  --bootstrap         a NEW cluster's first start: with an empty data directory,\n"
            "                      start as a member with empty state. Without it an empty\n"
            "                      data directory means lost state: the instance rejoins and\n"
            "                      votes only after catching up. Ignored when there is state.\n"
            "                      Never use it for an instance that lost its disk.\n"
            "  --trace FILE        append a JSON-lines event trace to FILE\n"
            "  --log-format FMT    log lines as text (default) or json, on stderr\n"
            "  --check             validate the config, key files and scripts, then exit\n"
            "  --keygen FILE       create a new key file (cluster_key or client_key in the\n"
            "                      config): 32 random bytes as hex, mode 0600; refuses to\n"
            "                      overwrite an existing file\n"
            "Signals: SIGHUP reloads the scripts, SIGTERM/SIGINT shut down cleanly.\n"
            "A listen address that is not loopback needs \"cluster_key\" in the config (or\n"
            "\"insecure\": true); see spec/DAEMON.md, \"Authentication\".\n"
            "Exit codes: 0 clean shutdown, 1 runtime failure, 2 usage, 3 bad config, key\n"
            "file or scripts, 4 storage failure or corrupt state, 5 cannot listen.\n");
}

int main(int argc, char **argv)
{
    static struct daemon dd;
    struct daemon *d = &dd;
    const char *config = NULL, *trace = NULL, *keygen = NULL;
    bool check_only = false, bootstrap = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config = argv[++i];
        } else if (strcmp(argv[i], "--trace") == 0 && i + 1 < argc) {
            trace = argv[++i];
        } else if (strcmp(argv[i], "--log-format") == 0 && i + 1 < argc) {
            const char *f = argv[++i];
            if (strcmp(f, "json") == 0) {
                d->json_log = true;
            } else if (strcmp(f, "text") != 0) {
                fprintf(stderr, "skinnyd: --log-format must be text or json, not \"%s\"\n", f);
                return EXIT_USAGE;
            }
        } else if (strcmp(argv[i], "--keygen") == 0 && i + 1 < argc) {
            keygen = argv[++i];
        } else if (strcmp(argv[i], "--check") == 0) {
            check_only = true;
        } else if (strcmp(argv[i], "--bootstrap") == 0) {
            bootstrap = true;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return EXIT_OK;
        } else {
            fprintf(stderr, "skinnyd: unknown or incomplete argument \"%s\"\n", argv[i]);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (keygen != NULL) {
        char kerr[512];
        if (config != NULL) {
            fprintf(stderr, "skinnyd: --keygen FILE takes no --config\n");
            return EXIT_USAGE;
        }
        if (sk_auth_keygen(keygen, kerr, sizeof kerr) != 0) {
            fprintf(stderr, "skinnyd: --keygen: %s\n", kerr);
            return EXIT_RUNTIME;
        }
        printf("skinnyd: wrote a new key to %s (mode 0600); keep it secret\n", keygen);
        return EXIT_OK;
    }
    if (config == NULL) {
        fprintf(stderr, "skinnyd: --config FILE is required\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    char err[1024];
    if (skd_config_load(&d->cfg, config, err, sizeof err) != 0) {
        dlog(d, "error", "bad config: %s; refusing to start", err);
        return EXIT_CONFIG;
    }
    static uint8_t cluster_key[SK_AUTH_KEY_BYTES], client_key[SK_AUTH_KEY_BYTES];
    bool keyed = d->cfg.cluster_key[0] != 0, client_keyed = d->cfg.client_key[0] != 0;
    if ((keyed || client_keyed) && sk_auth_init() != 0) {
        dlog(d, "error", "libsodium cannot start: no authentication possible; refusing to start");
        return EXIT_CONFIG;
    }
    if (keyed && sk_auth_key_load(d->cfg.cluster_key, "cluster_key", cluster_key, err,
                                  sizeof err) != 0) {
        dlog(d, "error", "%s: %s; refusing to start", config, err);
        return EXIT_CONFIG;
    }
    if (client_keyed && sk_auth_key_load(d->cfg.client_key, "client_key", client_key, err,
                                         sizeof err) != 0) {
        dlog(d, "error", "%s: %s; refusing to start", config, err);
        return EXIT_CONFIG;
    }
    if (!keyed && !skd_addr_loopback(d->cfg.listen)) {
        if (!d->cfg.insecure) {
            dlog(d, "error",
                 "%s: listen address %s is not loopback and there is no \"cluster_key\": anyone "
                 "who reaches the port could forge peer and control frames. Create a key with "
                 "`skinnyd --keygen cluster.key`, copy it to every instance and add "
                 "\"cluster_key\": \"cluster.key\" to every config (or, on a network you "
                 "trust, \"insecure\": true); refusing to start",
                 config, d->cfg.listen);
            return EXIT_CONFIG;
        }
        dlog(d, "warn",
             "INSECURE: no cluster_key and listening on %s (not loopback), as \"insecure\": "
             "true allows: anyone who reaches this port can forge peer and control frames",
             d->cfg.listen);
    }
    if (strategy_open(d, &d->strategy, err, sizeof err) != 0) {
        dlog(d, "error", "%s: cannot load scripts: %s; refusing to start", config, err);
        return EXIT_CONFIG;
    }
    if (check_only) {
        skl_strategy_close(d->strategy);
        printf("%s: ok (instance %s, %u of %u)\n", config, d->cfg.name, d->cfg.id, d->cfg.n);
        return EXIT_OK;
    }
    if (mkdir(d->cfg.data_dir, 0755) != 0 && errno != EEXIST) {
        dlog(d, "error", "%s: key \"data_dir\": cannot create %s: %s", config, d->cfg.data_dir,
             strerror(errno));
        return EXIT_CONFIG;
    }
    d->loop = uv_default_loop();
    uv_update_time(d->loop);
    uint32_t classic = skl_strategy_classic(d->strategy);
    struct sk_config cc = {
        .id = d->cfg.id,
        .name = d->cfg.name,
        .cluster_size = d->cfg.n,
        .phase_timeout_ms = d->cfg.phase_timeout_ms,
        .classic = classic,
        .max_inflight = d->cfg.max_inflight,
        .seed = wall_ms() ^ ((uint64_t)getpid() << 32),
        .rejoin = !bootstrap,
    };
    if (classic) {
        dlog(d, "warn", "CLASSIC MODE (flags 0x%x): this instance reproduces the original "
                        "Skinny's flaws and is UNSAFE",
             classic);
    }
    d->core = sk_node_new(&cc, skl_strategy_vtable(d->strategy), uv_now(d->loop));
    if (d->core == NULL) {
        dlog(d, "error", "out of memory");
        return EXIT_RUNTIME;
    }
    /* The log is replayed straight into the core (the last record per lock
     * wins, as sk_node_restore overwrites), and compaction rewrites it from
     * the core's registers: the store keeps no copy of its own. */
    struct sk_filestore_opts so = {.compact_ratio = d->cfg.compact_ratio, .no_sync = !d->cfg.fsync};
    struct sk_filestore_source src = {store_load, store_live, d};
    int rv = sk_filestore_open(&d->store, d->cfg.data_dir, &so, &src, err, sizeof err);
    if (rv != 0) {
        dlog(d, "error", "%s; refusing to start", err);
        return EXIT_STORAGE;
    }
    if (sk_filestore_notice(d->store)[0]) {
        dlog(d, "warn", "recovery: %s", sk_filestore_notice(d->store));
    }
    if (!d->cfg.fsync) {
        dlog(d, "warn", "fsync is off: acceptor state is NOT durable (testing only)");
    }
    struct sk_filestore_stats fst;
    sk_filestore_stats(d->store, &fst);
    if (trace != NULL) {
        d->trace = fopen(trace, "a");
        if (d->trace == NULL) {
            dlog(d, "error", "cannot open trace file %s: %s", trace, strerror(errno));
            return EXIT_USAGE;
        }
    }
    struct sk_net_config nc = {
        .listen = d->cfg.listen,
        .max_conns = d->cfg.max_connections,
        .max_queue_bytes = d->cfg.max_queue_bytes,
        .idle_timeout_ms = d->cfg.idle_timeout_ms,
        .reconnect_min_ms = d->cfg.reconnect_min_ms,
        .reconnect_max_ms = d->cfg.reconnect_max_ms,
        .cluster_key = keyed ? cluster_key : NULL,
        .client_key = client_keyed ? client_key : NULL,
        .self_id = d->cfg.id,
        .n_nodes = d->cfg.n,
    };
    struct sk_net_callbacks cb = {d, on_frame, on_net_log, on_net_drop};
    d->net = sk_net_new(d->loop, &nc, &cb, err, sizeof err);
    if (d->net == NULL) {
        dlog(d, "error", "%s", err);
        return EXIT_NETWORK;
    }
    for (uint32_t i = 1; i <= d->cfg.n; i++) {
        if (i != d->cfg.id) {
            sk_net_add_peer(d->net, i, d->cfg.peers[i].name, d->cfg.peers[i].address);
        }
    }
    uv_timer_init(d->loop, &d->tick);
    d->tick.data = d;
    uv_check_init(d->loop, &d->check);
    d->check.data = d;
    uv_check_start(&d->check, on_check);
    uv_prepare_init(d->loop, &d->prepare);
    d->prepare.data = d;
    uv_prepare_start(&d->prepare, on_prepare);
    uv_signal_t *sigs[] = {&d->sig_term, &d->sig_int, &d->sig_hup};
    int signums[] = {SIGTERM, SIGINT, SIGHUP};
    for (int i = 0; i < 3; i++) {
        uv_signal_init(d->loop, sigs[i]);
        sigs[i]->data = d;
        uv_signal_start(sigs[i], on_signal, signums[i]);
    }
    signal(SIGPIPE, SIG_IGN);
    memset(cluster_key, 0, sizeof cluster_key); /* net keeps its own copy */
    memset(client_key, 0, sizeof client_key);
    dlog(d, "info", "instance %s (%u of %u) listening on %s; %zu registers restored from %s",
         d->cfg.name, d->cfg.id, d->cfg.n, d->cfg.listen, (size_t)fst.live_records,
         d->cfg.data_dir);
    if (keyed) {
        dlog(d, "info", "peers and control authenticate with the cluster key; client requests "
                        "%s",
             client_keyed ? "must authenticate with the client key" : "are open");
    } else {
        dlog(d, "info", "no cluster_key: peers and control are not authenticated (loopback "
                        "only)");
    }
    if (!sk_node_is_member(d->core)) {
        dlog(d, "warn",
             "%s holds no state: this instance lost it (or was never started): it rejoins, "
             "catching up from %u other instances before it votes (spec/PROTOCOL.md 7.6). If "
             "this is a new cluster's first start, start every instance with --bootstrap",
             d->cfg.data_dir, d->cfg.n - (d->cfg.n / 2 + 1) + 1);
    }
    d->dirty = true; /* the first batch: a member's node record, or the rejoin's start */
    uv_run(d->loop, UV_RUN_DEFAULT);
    uv_loop_close(d->loop);
    sk_node_free(d->core);
    skl_strategy_close(d->strategy);
    sk_filestore_close(d->store);
    free(d->pend);
    free(d->tbuf.data);
    if (d->trace) {
        fclose(d->trace);
    }
    dlog(d, "info", "stopped");
    return d->exit_code;
}
