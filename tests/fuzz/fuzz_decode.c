/* fuzz_decode.c - libFuzzer target for the frame decoder and the node
 * behind it (`make fuzz`, tests/fuzz/fuzz.mk).
 *
 * An input is one byte of network flags followed by a byte stream as a
 * connection would deliver it. Frames are decoded one after another until
 * the stream ends, is incomplete, or a frame is refused (a daemon closes
 * the connection there). Every frame that decodes must re-encode to exactly
 * the bytes it was decoded from. Peer messages and client requests addressed
 * to one of three fresh nodes are then fed to it, and the nodes talk to each
 * other over links the flag byte may cut, so injected replies matter:
 *
 *   bit 0..5  drop the link 1->2, 1->3, 2->1, 2->3, 3->1, 3->2
 *   bit 6     classic mode (every flaw switched on)
 *   bit 7     time passes between frames (phase timeouts, backoff)
 *
 * Everything the nodes send must decode and re-encode too, every reply must
 * carry a status from sk.h, and (outside classic mode) every message an
 * acceptor takes must leave its register within the Paxos rules: the
 * promise and the accepted ballot never go down, and the promise is never
 * below the accepted ballot.
 *
 * Built with -DSK_FUZZ_MAIN (and without -fsanitize=fuzzer) the file is a
 * plain program instead (tests/fuzz/fuzz_main.h):
 *   fuzz_decode_seed --corpus DIR   write the seed corpus (a few valid
 *                                   streams of protocol version 2, and one
 *                                   frame of version 1)
 *   fuzz_decode_seed FILE|DIR...    run inputs through the target (replay
 *                                   a crash, or tests/fuzz/regress/decode)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The strategy each node runs: the C default here; fuzz_lua.c includes this
 * file with its own fuzz_strategy (the shipped Lua scripts). */
#ifndef SK_FUZZ_LUA
#define fuzz_strategy(id, flags) NULL
#endif

#define NODES 3
#define HDR_LEN 79 /* fixed header of protocol version 2 (spec/PROTOCOL.md) */
#define MAX_DELIVERIES 512
#define MAX_TICKS 64

static void die(const char *what, const struct sk_msg *m, int rv)
{
    fprintf(stderr, "fuzz_decode: %s (type %u, rv %d %s)\n", what, m != NULL ? m->type : 0u, rv,
            sk_err_name(rv));
    abort();
}

/* A decoded frame must be exactly what the encoder writes for it. */
static void check_reencode(const struct sk_msg *m, const uint8_t *at, int used)
{
    static uint8_t out[SK_FRAME_MAX + 4];
    int n = sk_msg_encode(m, out, sizeof out);
    if (n != used) {
        die("decoded frame re-encodes to another length", m, n);
    }
    if (memcmp(out, at, (size_t)used) != 0) {
        die("decoded frame re-encodes to other bytes", m, n);
    }
}

static bool refusal_is_known(int rv)
{
    return rv == SK_ETRUNC || rv == SK_ETOOBIG || rv == SK_EVERSION || rv == SK_ETYPE ||
           rv == SK_EFRAME;
}

/* ------------------------------------------------------------ network */

struct queued {
    uint32_t to;
    uint32_t len;
    uint8_t *frame;
};

struct net {
    struct sk_node *n[NODES + 1];
    uint8_t flags;
    uint64_t now;
    struct queued q[MAX_DELIVERIES];
    size_t nq;
    size_t delivered;
};

static bool link_up(const struct net *net, uint32_t from, uint32_t to)
{
    static const int bit[NODES + 1][NODES + 1] = {
        {-1, -1, -1, -1}, {-1, -1, 0, 1}, {-1, 2, -1, 3}, {-1, 4, 5, -1}};
    return (net->flags & (1u << bit[from][to])) == 0;
}

/* Hand m to node id and check the acceptor rules on its register. */
static int recv_checked(struct net *net, uint32_t id, const struct sk_msg *m)
{
    struct sk_register_view v;
    struct sk_ballot promised = {0, 0}, accepted = {0, 0};
    if (m->key_len > 0 && sk_node_register(net->n[id], m->key, m->key_len, &v)) {
        promised = v.promised;
        accepted = v.accepted;
    }
    int rv = sk_node_recv(net->n[id], m, net->now);
    if ((net->flags & 0x40) || m->key_len == 0 ||
        !sk_node_register(net->n[id], m->key, m->key_len, &v)) {
        return rv;
    }
    if (sk_ballot_cmp(v.promised, promised) < 0) {
        die("an acceptor's promise went down", m, rv);
    }
    if (sk_ballot_cmp(v.accepted, accepted) < 0) {
        die("an acceptor's accepted ballot went down", m, rv);
    }
    if (sk_ballot_cmp(v.promised, v.accepted) < 0) {
        die("an acceptor promised less than it accepted", m, rv);
    }
    return rv;
}

/* Describe every register of node id as a status answer would (sk_describe:
 * the shipped lock script's describe in fuzz_lua, the C default here), on
 * whatever states the input left: the text must be one NUL-terminated line
 * within its room, whether describe worked or fell back. */
static void describe_all(struct net *net, uint32_t id)
{
    const struct sk_strategy *st = fuzz_strategy(id, net->flags);
    struct sk_rng rng = {1};
    size_t cur = 0;
    struct sk_register_view v;
    while (sk_node_registers(net->n[id], &cur, &v)) {
        struct sk_hook_ctx ctx;
        memset(&ctx, 0, sizeof ctx);
        ctx.node_id = id;
        ctx.node_name = "fuzz";
        ctx.cluster_size = NODES;
        ctx.now_ms = net->now;
        ctx.rng = &rng;
        ctx.key = v.key;
        ctx.key_len = v.key_len;
        char text[SK_DESCRIBE_MAX + 1];
        text[SK_DESCRIBE_MAX] = 'x'; /* must stay untouched */
        int rv = sk_describe(st, &ctx, v.value, v.value_len, text, SK_DESCRIBE_MAX);
        size_t len = strnlen(text, SK_DESCRIBE_MAX);
        if ((rv != 0 && rv != SK_EHOOK && rv != SK_EFRAME) || len == 0 ||
            len >= SK_DESCRIBE_MAX || text[SK_DESCRIBE_MAX] != 'x') {
            die("sk_describe wrote no text, or past its room", NULL, rv);
        }
        for (size_t i = 0; i < len; i++) {
            if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f) {
                die("a description holds a control character", NULL, rv);
            }
        }
    }
}

/* Take one node's batches: check them, queue what crosses a live link. */
static void drain(struct net *net, uint32_t id)
{
    struct sk_actions a;
    while (sk_node_actions(net->n[id], &a)) {
        for (size_t i = 0; i < a.n_persist; i++) {
            /* key_len 0 is the node record, which has no value (sk.h) */
            const struct sk_persist *p = &a.persist[i];
            if (p->key_len > SK_KEY_MAX || p->value_len > SK_VALUE_MAX ||
                (p->key_len == 0 && p->value_len != 0)) {
                die("persist record out of bounds", NULL, 0);
            }
        }
        for (size_t i = 0; i < a.n_send; i++) {
            struct sk_msg m;
            int rv = sk_msg_decode(a.send[i].frame, a.send[i].len, &m);
            if (rv != (int)a.send[i].len) {
                die("a frame the node sent does not decode", NULL, rv);
            }
            check_reencode(&m, a.send[i].frame, rv);
            if (m.from != id || m.to != a.send[i].to || m.to < 1 || m.to > NODES || m.to == id) {
                die("a frame the node sent is misaddressed", &m, 0);
            }
            if (!link_up(net, id, m.to) || net->nq == MAX_DELIVERIES) {
                continue;
            }
            struct queued *qd = &net->q[net->nq];
            qd->frame = malloc(a.send[i].len);
            if (qd->frame == NULL) {
                abort();
            }
            memcpy(qd->frame, a.send[i].frame, a.send[i].len);
            qd->len = a.send[i].len;
            qd->to = m.to;
            net->nq++;
        }
        for (size_t i = 0; i < a.n_reply; i++) {
            if (a.reply[i].status < SK_ST_GRANTED || a.reply[i].status > SK_ST_STALE) {
                fprintf(stderr, "fuzz_decode: reply with status %u\n", a.reply[i].status);
                abort();
            }
            if (a.reply[i].holder == NULL || strlen(a.reply[i].holder) > SK_HOLDER_MAX) {
                die("reply holder missing or too long", NULL, 0);
            }
        }
        sk_node_advance(net->n[id]);
    }
}

/* Deliver queued frames in order until the network is quiet, within a
 * budget (duelling proposers may otherwise go on for a while). */
static void pump(struct net *net)
{
    size_t head = 0;
    for (uint32_t id = 1; id <= NODES; id++) {
        drain(net, id);
    }
    while (head < net->nq && net->delivered < MAX_DELIVERIES) {
        struct queued *qd = &net->q[head++];
        struct sk_msg m;
        if (sk_msg_decode(qd->frame, qd->len, &m) != (int)qd->len) {
            abort();
        }
        int rv = recv_checked(net, qd->to, &m);
        if (rv != 0) {
            die("a node refused a frame another node sent", &m, rv);
        }
        net->delivered++;
        drain(net, qd->to);
    }
    for (size_t i = 0; i < net->nq; i++) {
        free(net->q[i].frame);
    }
    net->nq = 0;
}

static void feed(struct net *net, const struct sk_msg *m)
{
    if (m->to < 1 || m->to > NODES) {
        return;
    }
    struct sk_node *n = net->n[m->to];
    if (m->type >= SK_MSG_PREPARE && m->type <= SK_MSG_ACCEPTED) {
        /* refusals (from outside the cluster) are fine; crashes are not */
        (void)recv_checked(net, m->to, m);
    } else if (m->type == SK_MSG_CLIENT_REQ) {
        struct sk_client_req rq = {m->seq,    m->op,         m->ttl_ms, m->key,  m->key_len,
                                   m->holder, m->holder_len, m->client, m->seq, m->token};
        (void)sk_node_request(n, &rq, net->now);
    } else {
        return;
    }
    pump(net);
}

/* Let time pass to each next wakeup, a bounded number of times. */
static void settle(struct net *net)
{
    for (int i = 0; i < MAX_TICKS; i++) {
        uint64_t wake = UINT64_MAX;
        for (uint32_t id = 1; id <= NODES; id++) {
            struct sk_actions a;
            sk_node_actions(net->n[id], &a);
            if (a.wakeup_ms < wake) {
                wake = a.wakeup_ms;
            }
        }
        if (wake == UINT64_MAX) {
            return;
        }
        if (wake > net->now) {
            net->now = wake;
        }
        for (uint32_t id = 1; id <= NODES; id++) {
            sk_node_tick(net->n[id], net->now);
        }
        pump(net);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    static struct net net;
    memset(&net, 0, sizeof net);
    net.flags = data[0];
    for (uint32_t id = 1; id <= NODES; id++) {
        struct sk_config cfg = {0};
        cfg.id = id;
        cfg.cluster_size = NODES;
        cfg.phase_timeout_ms = 50;
        cfg.classic = (net.flags & 0x40) ? (SK_CLASSIC_ANSWER_LOCAL | SK_CLASSIC_NO_RAISE |
                                            SK_CLASSIC_NO_PERSIST | SK_CLASSIC_ACK_REJECTED)
                                         : 0;
        cfg.seed = 7;
        net.n[id] = sk_node_new(&cfg, fuzz_strategy(id, net.flags), 0);
        if (net.n[id] == NULL) {
            abort();
        }
    }
    size_t off = 1;
    while (off < size) {
        struct sk_msg m;
        int rv = sk_msg_decode(data + off, size - off, &m);
        if (rv == 0) {
            break; /* incomplete: a connection would wait for more */
        }
        if (rv < 0) {
            if (!refusal_is_known(rv)) {
                die("decode returned an unknown error", NULL, rv);
            }
            break; /* refused: a daemon closes the connection */
        }
        if ((size_t)rv > size - off || rv < 4 + HDR_LEN) {
            die("decode consumed an impossible length", &m, rv);
        }
        check_reencode(&m, data + off, rv);
        feed(&net, &m);
        off += (size_t)rv;
        if (net.flags & 0x80) {
            net.now += 20;
            for (uint32_t id = 1; id <= NODES; id++) {
                sk_node_tick(net.n[id], net.now);
            }
            pump(&net);
        }
    }
    settle(&net);
    for (uint32_t id = 1; id <= NODES; id++) {
        describe_all(&net, id);
        sk_node_free(net.n[id]);
    }
    return 0;
}

#ifdef SK_FUZZ_MAIN
#include "fuzz_main.h"

/* ------------------------------------------------- seeds and replay */

static size_t put(uint8_t *buf, size_t at, const struct sk_msg *m)
{
    int n = sk_msg_encode(m, buf + at, 65536 - at);
    if (n <= 0) {
        fprintf(stderr, "fuzz_seed: cannot encode a seed %s: %s\n", sk_msg_type_name(m->type),
                sk_strerror(n));
        exit(1);
    }
    return at + (size_t)n;
}

static struct sk_msg peer(uint8_t type, uint32_t from, uint32_t to, uint64_t seq,
                          uint64_t round, uint32_t node)
{
    struct sk_msg m = {0};
    m.type = type;
    m.from = from;
    m.to = to;
    m.seq = seq;
    m.ballot.round = round;
    m.ballot.node = node;
    m.key = (const uint8_t *)"lock";
    m.key_len = 4;
    return m;
}

/* A request carries its identity: the client's id and its seq, both
 * non-zero, unchanged when the same request is sent again. fence is the
 * token of the grant a release or renew ends (0: none; never on an acquire). */
static struct sk_msg request(uint32_t to, uint64_t client, uint64_t seq, uint8_t op,
                             uint64_t fence, const char *holder)
{
    struct sk_msg m = {0};
    m.type = SK_MSG_CLIENT_REQ;
    m.to = to;
    m.client = client;
    m.seq = seq;
    m.op = op;
    m.token = fence;
    m.key = (const uint8_t *)"lock";
    m.key_len = 4;
    m.holder = (const uint8_t *)holder;
    m.holder_len = (uint32_t)strlen(holder);
    return m;
}

/* Client ids of the seeds' two holders. */
#define BEAVER 0xbea7e5ull
#define GIRAFFE 0x61AFFEull

static int write_corpus(const char *dir)
{
    static uint8_t buf[65536];
    size_t n;
    struct sk_msg m;
    /* a register value with an empty sessions table and no lock state:
     * 'S', no entries, floor 0 (spec/PROTOCOL.md section 9) */
    static const uint8_t empty_env[] = {'S', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

    /* one frame of each type, alone */
    static const uint8_t types[] = {SK_MSG_PREPARE,      SK_MSG_PROMISE,      SK_MSG_NAY,
                                    SK_MSG_ACCEPT,       SK_MSG_ACCEPTED,     SK_MSG_CLIENT_REQ,
                                    SK_MSG_CLIENT_REPLY, SK_MSG_STATUS_REQ,   SK_MSG_STATUS_REPLY,
                                    SK_MSG_CONTROL,      SK_MSG_AUTH};
    static const uint8_t nonce[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                      17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
    for (size_t i = 0; i < sizeof types; i++) {
        m = peer(types[i], 2, 1, 1, 1, 2);
        switch (types[i]) {
        case SK_MSG_PROMISE:
            m.other.round = 1;
            m.other.node = 3;
            m.value = empty_env;
            m.value_len = sizeof empty_env;
            break;
        case SK_MSG_NAY:
            m.phase = 1;
            m.other.round = 9;
            m.other.node = 3;
            break;
        case SK_MSG_ACCEPT:
            m.value = empty_env;
            m.value_len = sizeof empty_env;
            break;
        case SK_MSG_CLIENT_REQ: m = request(1, BEAVER, 1, SK_OP_ACQUIRE, 0, "beaver"); break;
        case SK_MSG_CLIENT_REPLY:
            m = (struct sk_msg){0};
            m.type = types[i];
            m.status = SK_ST_GRANTED;
            m.from = 1;
            m.client = BEAVER;
            m.seq = 1;
            m.token = 257;
            m.holder = (const uint8_t *)"beaver";
            m.holder_len = 6;
            break;
        case SK_MSG_STATUS_REQ:
            m = (struct sk_msg){0};
            m.type = types[i];
            m.to = 1;
            m.seq = 2;
            break;
        case SK_MSG_STATUS_REPLY:
            m = (struct sk_msg){0};
            m.type = types[i];
            m.from = 1;
            m.seq = 2;
            m.text = (const uint8_t *)"one";
            m.text_len = 3;
            break;
        case SK_MSG_AUTH: /* a peer hello from 2 to 1 (PROTOCOL.md 11) */
            m = (struct sk_msg){0};
            m.type = types[i];
            m.phase = 1;
            m.status = 1;
            m.op = 1;
            m.from = 2;
            m.to = 1;
            m.value = nonce;
            m.value_len = 32;
            break;
        case SK_MSG_CONTROL:
            m = (struct sk_msg){0};
            m.type = types[i];
            m.op = 1;
            m.to = 1;
            m.seq = 3;
            m.ttl_ms = 100;
            m.key = (const uint8_t *)"two";
            m.key_len = 3;
            break;
        default: break;
        }
        buf[0] = 0;
        n = put(buf, 1, &m);
        char name[64];
        snprintf(name, sizeof name, "one-%s", sk_msg_type_name(types[i]));
        fuzz_write_seed(dir, name, buf, n);
    }

    /* a whole lock life over a working network: beaver is granted at
     * ballot 1.1 (token 257), giraffe is refused, beaver renews and then
     * releases, naming its grant by that token */
    buf[0] = 0;
    n = 1;
    struct sk_msg rq = request(1, BEAVER, 1, SK_OP_ACQUIRE, 0, "beaver");
    n = put(buf, n, &rq);
    rq = request(2, GIRAFFE, 1, SK_OP_ACQUIRE, 0, "giraffe");
    n = put(buf, n, &rq);
    rq = request(3, BEAVER, 2, SK_OP_RENEW, 257, "beaver");
    n = put(buf, n, &rq);
    rq = request(3, BEAVER, 3, SK_OP_RELEASE, 257, "beaver");
    n = put(buf, n, &rq);
    fuzz_write_seed(dir, "life", buf, n);

    /* the same request sent again, to another instance (a client retrying
     * after a lost reply): same client and seq, answered from the sessions
     * table instead of being applied twice; then an older request of the
     * same holder arriving late, which is stale */
    buf[0] = 0;
    n = 1;
    rq = request(1, BEAVER, 5, SK_OP_ACQUIRE, 0, "beaver");
    n = put(buf, n, &rq);
    rq = request(2, BEAVER, 5, SK_OP_ACQUIRE, 0, "beaver");
    n = put(buf, n, &rq);
    rq = request(3, BEAVER, 4, SK_OP_RELEASE, 0, "beaver");
    n = put(buf, n, &rq);
    fuzz_write_seed(dir, "retry", buf, n);

    /* node 1 cut off; the test plays nodes 2 and 3 answering its first
     * attempt (seq 1, ballot 1.1): promises carrying an accepted value (its
     * sessions table names giraffe's granted request, its lock state says
     * giraffe holds the lock with token 258), then accepts. The same once
     * more with the value in the envelope of version 1, which is still
     * read for its lock state. */
    static const uint8_t state[] = {'m', 0x82, 0x80, 0x80, 0x80, 0, 's', 6, 'h', 'o', 'l', 'd',
                                    'e', 'r', 's', 7, 'g', 'i', 'r', 'a', 'f', 'f', 'e', 's', 5,
                                    't', 'o', 'k', 'e', 'n', 'i', 0x84, 0x04};
    static const uint8_t env_head[] = {
        'S', 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,                  /* one entry, floor 0 */
        7, 'g', 'i', 'r', 'a', 'f', 'f', 'e', 0, 0, 0, 0, 0, 0, 0, 1, /* holder, seq 1 */
        0, 0, 0, 0, 0, 0x61, 0xAF, 0xFE, SK_ST_GRANTED,     /* client GIRAFFE, granted */
        0, 0, 0, 0, 0, 0, 1, 2, 0};                          /* token 258, no other holder */
    static const uint8_t env_v1_head[] = {
        'K', 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, SK_ST_GRANTED,
        0,   0, 0, 0, 0, 0, 1, 2, 7, 'g', 'i', 'r', 'a', 'f', 'f', 'e'};
    static uint8_t env[sizeof env_head + sizeof state];
    static uint8_t env_v1[sizeof env_v1_head + sizeof state];
    memcpy(env, env_head, sizeof env_head);
    memcpy(env + sizeof env_head, state, sizeof state);
    memcpy(env_v1, env_v1_head, sizeof env_v1_head);
    memcpy(env_v1 + sizeof env_v1_head, state, sizeof state);
    for (int v1 = 0; v1 <= 1; v1++) {
        buf[0] = 0x3f;
        n = 1;
        rq = request(1, BEAVER, 1, SK_OP_ACQUIRE, 0, "beaver");
        n = put(buf, n, &rq);
        m = peer(SK_MSG_PROMISE, 2, 1, 1, 1, 1);
        m.other.round = 0;
        m.other.node = 2;
        m.value = v1 ? env_v1 : env;
        m.value_len = v1 ? (uint32_t)sizeof env_v1 : (uint32_t)sizeof env;
        n = put(buf, n, &m);
        m = peer(SK_MSG_PROMISE, 3, 1, 1, 1, 1);
        n = put(buf, n, &m);
        m = peer(SK_MSG_ACCEPTED, 2, 1, 1, 1, 1);
        n = put(buf, n, &m);
        m = peer(SK_MSG_ACCEPTED, 3, 1, 1, 1, 1);
        n = put(buf, n, &m);
        fuzz_write_seed(dir, v1 ? "answers-v1" : "answers", buf, n);
    }

    /* the same, but the promised value's sessions table already names
     * this very request (beaver, seq 1, client BEAVER, granted with token
     * 257): it is answered from the entry and not applied again. Then the
     * same with a later request of beaver in the entry (seq 2): stale. */
    for (int later = 0; later <= 1; later++) {
        buf[0] = 0x3f;
        n = 1;
        rq = request(1, BEAVER, 1, SK_OP_ACQUIRE, 0, "beaver");
        n = put(buf, n, &rq);
        static uint8_t own[] = {
            'S', 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,              /* one entry, floor 0 */
            6, 'b', 'e', 'a', 'v', 'e', 'r', 0, 0, 0, 0, 0, 0, 0, 1, /* holder, seq 1 */
            0, 0, 0, 0, 0, 0xbe, 0xa7, 0xe5, SK_ST_GRANTED, /* client BEAVER, granted */
            0, 0, 0, 0, 0, 0, 1, 1, 0};                     /* token 257, no other holder */
        own[25] = later ? 2 : 1;
        m = peer(SK_MSG_PROMISE, 2, 1, 1, 1, 1);
        m.other.round = 0;
        m.other.node = 2;
        m.value = own;
        m.value_len = sizeof own;
        n = put(buf, n, &m);
        m = peer(SK_MSG_ACCEPTED, 2, 1, 1, 1, 1);
        n = put(buf, n, &m);
        fuzz_write_seed(dir, later ? "own-entry-stale" : "own-entry", buf, n);
    }

    /* the acceptor of node 1 driven by hand: prepare, accept, late accept */
    buf[0] = 0x3f;
    n = 1;
    m = peer(SK_MSG_PREPARE, 2, 1, 1, 6, 2);
    n = put(buf, n, &m);
    m = peer(SK_MSG_ACCEPT, 3, 1, 2, 10, 3);
    m.value = empty_env;
    m.value_len = sizeof empty_env;
    n = put(buf, n, &m);
    m = peer(SK_MSG_ACCEPT, 2, 1, 3, 8, 2);
    m.value = empty_env;
    m.value_len = sizeof empty_env;
    n = put(buf, n, &m);
    fuzz_write_seed(dir, "acceptor", buf, n);
    buf[0] = 0x40; /* the same, classic */
    fuzz_write_seed(dir, "acceptor-classic", buf, n);

    /* accepts carrying the next ballot (the one-round-trip optimisation),
     * one of them at the top of the round range */
    static const uint64_t rounds[] = {5, UINT64_MAX - 1};
    for (int i = 0; i < 2; i++) {
        buf[0] = 0x3f;
        n = 1;
        m = peer(SK_MSG_ACCEPT, 2, 1, 1, rounds[i], 2);
        m.other.round = rounds[i] + 1;
        m.other.node = 2;
        m.value = empty_env;
        m.value_len = sizeof empty_env;
        n = put(buf, n, &m);
        m = peer(SK_MSG_PREPARE, 3, 1, 2, 6, 3);
        n = put(buf, n, &m);
        fuzz_write_seed(dir, i == 0 ? "piggyback" : "piggyback-top", buf, n);
    }

    /* duelling proposers with time passing */
    buf[0] = 0x80;
    n = 1;
    rq = request(1, BEAVER, 1, SK_OP_ACQUIRE, 0, "beaver");
    n = put(buf, n, &rq);
    rq = request(2, GIRAFFE, 1, SK_OP_ACQUIRE, 0, "giraffe");
    n = put(buf, n, &rq);
    fuzz_write_seed(dir, "duel", buf, n);

    /* a peer that was not upgraded: a PREPARE of protocol version 1 (the
     * 71-byte header, without client) is refused with SK_EVERSION, and
     * nothing after it on the connection is read */
    static const uint8_t v1_prepare[] = {
        0, 0, 0, 0x4b, 1, SK_MSG_PREPARE, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1,
        0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'l', 'o', 'c', 'k'};
    if (sk_msg_decode(v1_prepare, sizeof v1_prepare, &m) != SK_EVERSION) {
        fprintf(stderr, "fuzz_seed: the version-1 seed is not refused with SK_EVERSION\n");
        exit(1);
    }
    buf[0] = 0;
    memcpy(buf + 1, v1_prepare, sizeof v1_prepare);
    n = 1 + sizeof v1_prepare;
    rq = request(1, BEAVER, 1, SK_OP_ACQUIRE, 0, "beaver");
    n = put(buf, n, &rq);
    fuzz_write_seed(dir, "old-peer", buf, n);
    return 0;
}

#endif
