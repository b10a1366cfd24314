/* test_codec.c - the wire codec (spec/PROTOCOL.md) against a second,
 * independent writer of the same layout.
 *
 * raw_frame() below builds frames byte by byte from the layout in the spec,
 * without the codec, so the tests can both check what sk_msg_encode writes
 * and hand sk_msg_decode frames the encoder would never produce. */
#include <string.h>

#include "runner.h"
#include "sk.h"

#define HDR 79 /* fixed header, bytes after the length prefix (version 2) */
#define BIG (SK_FRAME_MAX + 64)

/* ------------------------------------------------------------ the spec */

/* The per-type field table of spec/PROTOCOL.md, restated here on purpose
 * (not taken from codec.c) so a change to either is caught. */
enum {
    T_PHASE,
    T_OP,
    T_STATUS,
    T_FROM,
    T_TO,
    T_SEQ,
    T_BALLOT,
    T_OTHER,
    T_TOKEN,
    T_TTL,
    T_CLIENT,
    T_KEY,
    T_HOLDER,
    T_TEXT,
    T_VALUE,
    T_NFIELDS
};
#define B(f) (1u << (f))
#define PEER_FIELDS (B(T_FROM) | B(T_TO) | B(T_SEQ) | B(T_BALLOT) | B(T_KEY))

static const char *const field_name[T_NFIELDS] = {
    "phase", "op",     "status", "from", "to",     "seq",  "ballot", "other",
    "token", "ttl_ms", "client", "key",  "holder", "text", "value",
};

/* allowed: the fields the type may carry ("may be set"); required: those
 * that must be non-zero / non-empty ("required"). The range rules of check
 * 15 (phase, op, status, no token on an acquire) are tested one by one. */
struct type_spec {
    uint8_t type;
    const char *name;
    unsigned allowed;
    unsigned required;
};

static const struct type_spec types[] = {
    {SK_MSG_PREPARE, "prepare", PEER_FIELDS, B(T_KEY)},
    {SK_MSG_PROMISE, "promise", PEER_FIELDS | B(T_OTHER) | B(T_VALUE), B(T_KEY)},
    {SK_MSG_NAY, "nay", PEER_FIELDS | B(T_PHASE) | B(T_OTHER), B(T_KEY)},
    {SK_MSG_ACCEPT, "accept", PEER_FIELDS | B(T_OTHER) | B(T_VALUE), B(T_KEY)},
    {SK_MSG_ACCEPTED, "accepted", PEER_FIELDS | B(T_OTHER), B(T_KEY)},
    {SK_MSG_CLIENT_REQ, "request",
     B(T_OP) | B(T_TO) | B(T_SEQ) | B(T_CLIENT) | B(T_TTL) | B(T_TOKEN) | B(T_KEY) | B(T_HOLDER),
     B(T_KEY) | B(T_CLIENT) | B(T_SEQ)},
    {SK_MSG_CLIENT_REPLY, "reply",
     B(T_PHASE) | B(T_STATUS) | B(T_FROM) | B(T_SEQ) | B(T_CLIENT) | B(T_BALLOT) | B(T_TOKEN) | B(T_KEY) |
         B(T_HOLDER) | B(T_TEXT),
     0},
    {SK_MSG_STATUS_REQ, "status_request", B(T_TO) | B(T_SEQ) | B(T_KEY), 0},
    {SK_MSG_STATUS_REPLY, "status_reply",
     B(T_STATUS) | B(T_FROM) | B(T_SEQ) | B(T_BALLOT) | B(T_OTHER) | B(T_TOKEN) | B(T_KEY) |
         B(T_HOLDER) | B(T_TEXT) | B(T_VALUE),
     0},
    {SK_MSG_CONTROL, "control",
     B(T_OP) | B(T_TO) | B(T_SEQ) | B(T_TTL) | B(T_KEY) | B(T_TEXT), 0},
    /* rejoining after state loss (PROTOCOL.md 7.6); phase and status
     * ranges are checked in their own tests */
    {SK_MSG_JOIN, "join", B(T_PHASE) | B(T_FROM) | B(T_TO) | B(T_SEQ) | B(T_BALLOT), 0},
    {SK_MSG_JOIN_OK, "join_ok",
     B(T_PHASE) | B(T_STATUS) | B(T_FROM) | B(T_TO) | B(T_SEQ) | B(T_BALLOT), 0},
    {SK_MSG_FETCH, "fetch", PEER_FIELDS, B(T_KEY)},
    {SK_MSG_FETCHED, "fetched", PEER_FIELDS | B(T_STATUS) | B(T_OTHER) | B(T_VALUE), B(T_KEY)},
};
#define N_TYPES (sizeof types / sizeof types[0])

/* Field contents: recognisable patterns, binary bytes included (keys and
 * values are opaque). */
static uint8_t key_bytes[SK_KEY_MAX + 1];
static uint8_t holder_bytes[SK_HOLDER_MAX + 1];
static uint8_t text_bytes[SK_TEXT_MAX + 1];
static uint8_t value_bytes[SK_VALUE_MAX + 1];

static void fill_patterns(void)
{
    for (size_t i = 0; i < sizeof key_bytes; i++) key_bytes[i] = (uint8_t)(0x10 + i * 7);
    for (size_t i = 0; i < sizeof holder_bytes; i++) holder_bytes[i] = (uint8_t)('a' + i % 26);
    for (size_t i = 0; i < sizeof text_bytes; i++) text_bytes[i] = (uint8_t)(i * 13);
    for (size_t i = 0; i < sizeof value_bytes; i++) value_bytes[i] = (uint8_t)(255 - i % 251);
}

enum size_mode { SIZE_MIN, SIZE_MAX_ };

/* A message of type t with every allowed field set: to their largest
 * values (SIZE_MAX_) or to the smallest a valid frame may carry. */
static void fill_msg(struct sk_msg *m, const struct type_spec *t, enum size_mode mode)
{
    bool max = mode == SIZE_MAX_;
    memset(m, 0, sizeof *m);
    fill_patterns();
    m->type = t->type;
    unsigned a = t->allowed;
    if (a & B(T_PHASE)) m->phase = max && t->type != SK_MSG_CLIENT_REPLY ? 2 : 1;
    if (a & B(T_OP)) m->op = t->type == SK_MSG_CLIENT_REQ ? (max ? SK_OP_RENEW : SK_OP_ACQUIRE)
                                                          : (max ? 255 : 0);
    if (a & B(T_STATUS)) {
        m->status = t->type == SK_MSG_CLIENT_REPLY ? (max ? SK_ST_QUEUED : SK_ST_GRANTED)
                    : (t->type == SK_MSG_JOIN_OK || t->type == SK_MSG_FETCHED)
                        ? (max ? SK_JOIN_BLANK : SK_JOIN_OK)
                        : (max ? 255 : 0);
    }
    if (max) {
        if (a & B(T_FROM)) m->from = 0xA1B2C3D4u;
        if (a & B(T_TO)) m->to = 0xFFFFFFFFu;
        if (a & B(T_SEQ)) m->seq = UINT64_MAX;
        if (a & B(T_BALLOT)) m->ballot = (struct sk_ballot){UINT64_MAX, 0xFFFFFFFFu};
        if (a & B(T_OTHER)) m->other = (struct sk_ballot){0x0102030405060708ull, 0x0A0B0C0Du};
        if (a & B(T_TOKEN)) m->token = UINT64_MAX;
        if (a & B(T_TTL)) m->ttl_ms = 0xFFFFFFFFu;
        if (a & B(T_CLIENT)) m->client = 0x8877665544332211ull; /* byte order shows */
        if (a & B(T_KEY)) m->key = key_bytes, m->key_len = SK_KEY_MAX;
        if (a & B(T_HOLDER)) m->holder = holder_bytes, m->holder_len = SK_HOLDER_MAX;
        if (a & B(T_TEXT)) m->text = text_bytes, m->text_len = SK_TEXT_MAX;
        if (a & B(T_VALUE)) m->value = value_bytes, m->value_len = SK_VALUE_MAX;
    } else {
        if (t->required & B(T_KEY)) m->key = key_bytes, m->key_len = 1;
        if (t->required & B(T_SEQ)) m->seq = 1;
        if (t->required & B(T_CLIENT)) m->client = 1;
    }
}

/* Layout of spec/PROTOCOL.md, section "The fixed header", written out
 * without the codec. Lengths in the header and the variable bytes that
 * follow are independent, so inconsistent frames can be built. */
struct raw {
    uint32_t body; /* 0: HDR + var_len */
    uint8_t version, type, phase, op, status;
    uint32_t from, to;
    uint64_t seq, ballot_round;
    uint32_t ballot_node;
    uint64_t other_round;
    uint32_t other_node;
    uint64_t token;
    uint32_t ttl_ms;
    uint32_t key_len, holder_len, text_len, value_len;
    uint64_t client;
    uint32_t reserved;
    const uint8_t *var;
    size_t var_len;
};

static uint8_t *be(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--) {
        *p++ = (uint8_t)(v >> (8 * i));
    }
    return p;
}

static size_t raw_frame(uint8_t *out, const struct raw *r)
{
    uint8_t *p = out;
    p = be(p, r->body ? r->body : HDR + r->var_len, 4);
    p = be(p, r->version, 1);
    p = be(p, r->type, 1);
    p = be(p, r->phase, 1);
    p = be(p, r->op, 1);
    p = be(p, r->status, 1);
    p = be(p, r->from, 4);
    p = be(p, r->to, 4);
    p = be(p, r->seq, 8);
    p = be(p, r->ballot_round, 8);
    p = be(p, r->ballot_node, 4);
    p = be(p, r->other_round, 8);
    p = be(p, r->other_node, 4);
    p = be(p, r->token, 8);
    p = be(p, r->ttl_ms, 4);
    p = be(p, r->key_len, 2);
    p = be(p, r->holder_len, 2);
    p = be(p, r->text_len, 2);
    p = be(p, r->value_len, 4);
    p = be(p, r->client, 8);
    p = be(p, r->reserved, 4);
    if (p - out != 4 + HDR) {
        abort(); /* the layout above is wrong */
    }
    if (r->var_len) {
        memcpy(p, r->var, r->var_len);
    }
    return 4 + HDR + r->var_len;
}

/* The raw description of a message, variable fields in wire order
 * (key, holder, text, value) copied into var. */
static void raw_of(struct raw *r, const struct sk_msg *m, uint8_t *var)
{
    memset(r, 0, sizeof *r);
    r->version = SK_WIRE_VERSION;
    r->type = m->type;
    r->phase = m->phase;
    r->op = m->op;
    r->status = m->status;
    r->from = m->from;
    r->to = m->to;
    r->seq = m->seq;
    r->ballot_round = m->ballot.round;
    r->ballot_node = m->ballot.node;
    r->other_round = m->other.round;
    r->other_node = m->other.node;
    r->token = m->token;
    r->ttl_ms = m->ttl_ms;
    r->key_len = m->key_len;
    r->holder_len = m->holder_len;
    r->text_len = m->text_len;
    r->value_len = m->value_len;
    r->client = m->client;
    size_t n = 0;
    if (m->key_len) memcpy(var + n, m->key, m->key_len), n += m->key_len;
    if (m->holder_len) memcpy(var + n, m->holder, m->holder_len), n += m->holder_len;
    if (m->text_len) memcpy(var + n, m->text, m->text_len), n += m->text_len;
    if (m->value_len) memcpy(var + n, m->value, m->value_len), n += m->value_len;
    r->var = var;
    r->var_len = n;
}

/* A valid raw PREPARE to start refusal tests from. */
static void raw_prepare(struct raw *r)
{
    memset(r, 0, sizeof *r);
    r->version = SK_WIRE_VERSION;
    r->type = SK_MSG_PREPARE;
    r->from = 1;
    r->to = 2;
    r->seq = 7;
    r->ballot_round = 5;
    r->ballot_node = 1;
    r->key_len = 4;
    r->var = (const uint8_t *)"lock";
    r->var_len = 4;
}

static uint8_t frame[BIG], frame2[BIG], var[BIG];

/* ------------------------------------------------------------- helpers */

static void assert_same_msg(const struct sk_msg *a, const struct sk_msg *b)
{
    ASSERT_EQ_INT(a->type, b->type);
    ASSERT_EQ_INT(a->phase, b->phase);
    ASSERT_EQ_INT(a->op, b->op);
    ASSERT_EQ_INT(a->status, b->status);
    ASSERT_EQ_U64(a->from, b->from);
    ASSERT_EQ_U64(a->to, b->to);
    ASSERT_EQ_U64(a->seq, b->seq);
    ASSERT_EQ_U64(a->ballot.round, b->ballot.round);
    ASSERT_EQ_U64(a->ballot.node, b->ballot.node);
    ASSERT_EQ_U64(a->other.round, b->other.round);
    ASSERT_EQ_U64(a->other.node, b->other.node);
    ASSERT_EQ_U64(a->token, b->token);
    ASSERT_EQ_U64(a->ttl_ms, b->ttl_ms);
    ASSERT_EQ_U64(a->client, b->client);
    ASSERT_EQ_INT(a->key_len, b->key_len);
    ASSERT_EQ_INT(a->holder_len, b->holder_len);
    ASSERT_EQ_INT(a->text_len, b->text_len);
    ASSERT_EQ_INT(a->value_len, b->value_len);
    ASSERT_MEM_EQ(a->key, b->key, a->key_len);
    ASSERT_MEM_EQ(a->holder, b->holder, a->holder_len);
    ASSERT_MEM_EQ(a->text, b->text, a->text_len);
    ASSERT_MEM_EQ(a->value, b->value, a->value_len);
}

/* Encode m, compare with the independent writer, decode, compare fields,
 * re-encode, compare bytes. */
static void round_trip(const struct sk_msg *m)
{
    int n = sk_msg_encode(m, frame, sizeof frame);
    ASSERT_TRUE(n > 0);
    size_t want = 4 + HDR + (size_t)m->key_len + m->holder_len + m->text_len + m->value_len;
    ASSERT_EQ_INT(n, want);

    struct raw r;
    raw_of(&r, m, var);
    ASSERT_EQ_INT(raw_frame(frame2, &r), want);
    ASSERT_MEM_EQ(frame, frame2, want);

    struct sk_msg d;
    memset(&d, 0xAB, sizeof d);
    ASSERT_EQ_INT(sk_msg_decode(frame, (size_t)n, &d), n);
    RUN(assert_same_msg(&d, m));
    /* variable fields point into the buffer, in wire order */
    const uint8_t *at = frame + 4 + HDR;
    if (d.key_len) ASSERT_TRUE(d.key == at);
    at += d.key_len;
    if (d.holder_len) ASSERT_TRUE(d.holder == at);
    at += d.holder_len;
    if (d.text_len) ASSERT_TRUE(d.text == at);
    at += d.text_len;
    if (d.value_len) ASSERT_TRUE(d.value == at);

    ASSERT_EQ_INT(sk_msg_encode(&d, frame2, sizeof frame2), n);
    ASSERT_MEM_EQ(frame, frame2, (size_t)n);
}

static int decode_raw(const struct raw *r)
{
    size_t n = raw_frame(frame, r);
    struct sk_msg m;
    return sk_msg_decode(frame, n, &m);
}

/* ---------------------------------------------------------- round trips */

TEST(round_trip_every_type_max_sizes)
{
    for (size_t i = 0; i < N_TYPES; i++) {
        struct sk_msg m;
        TEST_CONTEXT("type %s, max sizes", types[i].name);
        fill_msg(&m, &types[i], SIZE_MAX_);
        RUN(round_trip(&m));
    }
}

TEST(round_trip_every_type_min_sizes)
{
    for (size_t i = 0; i < N_TYPES; i++) {
        struct sk_msg m;
        TEST_CONTEXT("type %s, min sizes", types[i].name);
        fill_msg(&m, &types[i], SIZE_MIN);
        RUN(round_trip(&m));
    }
}

TEST(round_trip_status_reply_all_fields_at_max)
{
    /* the one type carrying all four variable fields: the largest frame */
    struct sk_msg m;
    fill_msg(&m, &types[8], SIZE_MAX_);
    ASSERT_EQ_INT(m.type, SK_MSG_STATUS_REPLY);
    RUN(round_trip(&m));
    ASSERT_EQ_INT(sk_msg_encode(&m, frame, sizeof frame),
                  4 + HDR + SK_KEY_MAX + SK_HOLDER_MAX + SK_TEXT_MAX + SK_VALUE_MAX);
    /* the largest valid body the spec names: 79 + 128 + 128 + 512 + 8192 */
    ASSERT_EQ_INT(sk_msg_encode(&m, frame, sizeof frame), 4 + 9039);
}

TEST(round_trip_nay_both_phases_and_empty_value_promise)
{
    struct sk_msg m = {0};
    m.type = SK_MSG_NAY;
    m.from = 3;
    m.to = 1;
    m.seq = 9;
    m.ballot = (struct sk_ballot){4, 1};
    m.other = (struct sk_ballot){6, 2};
    m.key = (const uint8_t *)"k";
    m.key_len = 1;
    for (uint8_t ph = 1; ph <= 2; ph++) {
        m.phase = ph;
        RUN(round_trip(&m));
    }
    /* a promise from an acceptor that accepted nothing: zero other, no value */
    struct sk_msg p = {0};
    p.type = SK_MSG_PROMISE;
    p.from = 2;
    p.to = 1;
    p.seq = 1;
    p.ballot = (struct sk_ballot){1, 1};
    p.key = (const uint8_t *)"k";
    p.key_len = 1;
    RUN(round_trip(&p));
}

TEST(round_trip_every_client_op_and_status)
{
    struct sk_msg m = {0};
    m.type = SK_MSG_CLIENT_REQ;
    m.to = 1;
    m.seq = 42;
    m.client = 0xC0FFEE;
    m.key = (const uint8_t *)"door";
    m.key_len = 4;
    m.holder = (const uint8_t *)"beaver";
    m.holder_len = 6;
    for (uint8_t op = SK_OP_ACQUIRE; op <= SK_OP_MAX; op++) {
        TEST_CONTEXT("op %u", op);
        m.op = op;
        RUN(round_trip(&m));
    }
    struct sk_msg r = {0};
    r.type = SK_MSG_CLIENT_REPLY;
    r.seq = 42;
    r.client = 0xC0FFEE;
    r.from = 1;
    for (uint8_t st = SK_ST_GRANTED; st <= SK_ST_STALE; st++) {
        TEST_CONTEXT("status %u", st);
        r.status = st;
        RUN(round_trip(&r));
    }
}

/* The client id sits at body offset 67, big-endian, and survives a round
 * trip on a request and on its reply; the reserved u32 follows at 75. */
TEST(round_trip_client_field_on_request_and_reply)
{
    static const uint8_t want_client[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
    struct sk_msg m = {0};
    m.type = SK_MSG_CLIENT_REQ;
    m.op = SK_OP_ACQUIRE;
    m.to = 3;
    m.seq = 5;
    m.client = 0x0123456789abcdefull;
    m.key = (const uint8_t *)"door";
    m.key_len = 4;
    m.holder = (const uint8_t *)"beaver";
    m.holder_len = 6;
    RUN(round_trip(&m));
    int n = sk_msg_encode(&m, frame, sizeof frame);
    ASSERT_EQ_INT(n, 4 + HDR + 4 + 6);
    ASSERT_MEM_EQ(frame + 4 + 67, want_client, 8);
    ASSERT_MEM_EQ(frame + 4 + 75, "\0\0\0\0", 4);
    struct sk_msg d;
    ASSERT_EQ_INT(sk_msg_decode(frame, (size_t)n, &d), n);
    ASSERT_EQ_U64(d.client, 0x0123456789abcdefull);
    ASSERT_EQ_U64(d.seq, 5);

    /* the reply echoes client and seq */
    struct sk_msg r = {0};
    r.type = SK_MSG_CLIENT_REPLY;
    r.status = SK_ST_GRANTED;
    r.from = 3;
    r.seq = d.seq;
    r.client = d.client;
    r.ballot = (struct sk_ballot){2, 3};
    r.token = 0x203;
    r.key = d.key;
    r.key_len = d.key_len;
    r.holder = d.holder;
    r.holder_len = d.holder_len;
    RUN(round_trip(&r));
    n = sk_msg_encode(&r, frame2, sizeof frame2);
    ASSERT_TRUE(n > 0);
    ASSERT_MEM_EQ(frame2 + 4 + 67, want_client, 8);
    ASSERT_EQ_INT(sk_msg_decode(frame2, (size_t)n, &d), n);
    ASSERT_EQ_U64(d.client, 0x0123456789abcdefull);
    ASSERT_EQ_U64(d.seq, 5);
    ASSERT_EQ_INT(d.status, SK_ST_GRANTED);

    /* the largest client id too: every bit of the u64 is carried */
    m.client = UINT64_MAX;
    RUN(round_trip(&m));
    r.client = UINT64_MAX;
    RUN(round_trip(&r));
}

/* The worked example of spec/PROTOCOL.md, byte for byte. */
TEST(spec_worked_example_prepare)
{
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x53,                         /* body length 83 */
        0x02,                                           /* version 2 */
        0x01,                                           /* type PREPARE */
        0x00, 0x00, 0x00,                               /* phase, op, status */
        0x00, 0x00, 0x00, 0x01,                         /* from 1 */
        0x00, 0x00, 0x00, 0x02,                         /* to 2 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, /* seq 7 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, /* ballot round 5 */
        0x00, 0x00, 0x00, 0x01,                         /* ballot node 1 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* other round */
        0x00, 0x00, 0x00, 0x00,                         /* other node */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* token */
        0x00, 0x00, 0x00, 0x00,                         /* ttl_ms */
        0x00, 0x04,                                     /* key_len 4 */
        0x00, 0x00,                                     /* holder_len */
        0x00, 0x00,                                     /* text_len */
        0x00, 0x00, 0x00, 0x00,                         /* value_len */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* client (none) */
        0x00, 0x00, 0x00, 0x00,                         /* reserved */
        0x6c, 0x6f, 0x63, 0x6b,                         /* key "lock" */
    };
    ASSERT_EQ_INT(sizeof want, 87);
    struct sk_msg m = {0};
    m.type = SK_MSG_PREPARE;
    m.from = 1;
    m.to = 2;
    m.seq = 7;
    m.ballot = (struct sk_ballot){5, 1};
    m.key = (const uint8_t *)"lock";
    m.key_len = 4;
    uint8_t buf[128];
    ASSERT_EQ_INT(sk_msg_encode(&m, buf, sizeof buf), sizeof want);
    ASSERT_MEM_EQ(buf, want, sizeof want);

    struct sk_msg d;
    ASSERT_EQ_INT(sk_msg_decode(want, sizeof want, &d), sizeof want);
    RUN(assert_same_msg(&d, &m));
    ASSERT_STR_EQ(sk_msg_type_name(d.type), "prepare");
}

/* ------------------------------------------------------------ framing */

TEST(partial_input_returns_zero_for_every_prefix)
{
    for (size_t i = 0; i < N_TYPES; i++) {
        for (int mode = SIZE_MIN; mode <= SIZE_MAX_; mode++) {
            struct sk_msg m, d;
            fill_msg(&m, &types[i], (enum size_mode)mode);
            int n = sk_msg_encode(&m, frame, sizeof frame);
            ASSERT_TRUE(n > 0);
            for (int len = 0; len < n; len++) {
                int rv = sk_msg_decode(frame, (size_t)len, &d);
                if (rv != 0) {
                    FAIL("type %s: prefix of %d of %d bytes decoded to %d (%s)", types[i].name,
                         len, n, rv, sk_err_name(rv));
                }
            }
            ASSERT_EQ_INT(sk_msg_decode(frame, (size_t)n, &d), n);
        }
    }
}

TEST(two_concatenated_frames_decode_one_at_a_time)
{
    struct sk_msg a, b, d;
    fill_msg(&a, &types[1], SIZE_MAX_); /* promise, with a value */
    fill_msg(&b, &types[0], SIZE_MIN);  /* prepare */
    int na = sk_msg_encode(&a, frame, sizeof frame);
    ASSERT_TRUE(na > 0);
    int nb = sk_msg_encode(&b, frame + na, sizeof frame - (size_t)na);
    ASSERT_TRUE(nb > 0);
    ASSERT_EQ_INT(sk_msg_decode(frame, (size_t)(na + nb), &d), na);
    RUN(assert_same_msg(&d, &a));
    ASSERT_EQ_INT(sk_msg_decode(frame + na, (size_t)nb, &d), nb);
    RUN(assert_same_msg(&d, &b));
    /* the first frame followed by a partial second still consumes the first */
    ASSERT_EQ_INT(sk_msg_decode(frame, (size_t)(na + 5), &d), na);
}

TEST(refuse_length_prefix_over_frame_max)
{
    static const uint32_t lens[] = {SK_FRAME_MAX + 1, 0x10000, 0x7fffffff, 0xffffffff};
    struct sk_msg m;
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        uint8_t buf[4];
        be(buf, lens[i], 4);
        /* refused from the prefix alone, before the body arrives */
        ASSERT_EQ_INT(sk_msg_decode(buf, 4, &m), SK_ETOOBIG);
    }
    /* exactly SK_FRAME_MAX is a legal length: wait for the rest */
    struct raw r;
    raw_prepare(&r);
    r.body = SK_FRAME_MAX;
    size_t n = raw_frame(frame, &r);
    ASSERT_EQ_INT(sk_msg_decode(frame, n, &m), 0);
}

TEST(refuse_truncated_header)
{
    /* a body too short to hold the fixed header, all of it present */
    struct raw r;
    raw_prepare(&r);
    raw_frame(frame, &r);
    struct sk_msg m;
    for (uint32_t body = 2; body < HDR; body++) {
        be(frame, body, 4);
        int rv = sk_msg_decode(frame, 4 + body, &m);
        if (rv != SK_ETRUNC) {
            FAIL("body of %u bytes: got %d (%s), want SK_ETRUNC", body, rv, sk_err_name(rv));
        }
        /* refused as soon as version and type are in, whatever follows */
        ASSERT_EQ_INT(sk_msg_decode(frame, 6, &m), SK_ETRUNC);
    }
}

TEST(refuse_body_shorter_than_version_and_type)
{
    struct sk_msg m;
    for (uint32_t body = 0; body < 2; body++) {
        uint8_t buf[8] = {0};
        be(buf, body, 4);
        buf[4] = SK_WIRE_VERSION;
        ASSERT_EQ_INT(sk_msg_decode(buf, 4, &m), SK_ETRUNC);
        ASSERT_EQ_INT(sk_msg_decode(buf, sizeof buf, &m), SK_ETRUNC);
    }
}

TEST(refuse_unknown_version)
{
    static const uint8_t versions[] = {0, 1, 3, 0x7f, 0xff};
    struct raw r;
    struct sk_msg m;
    for (size_t i = 0; i < sizeof versions; i++) {
        raw_prepare(&r);
        r.version = versions[i];
        ASSERT_EQ_INT(decode_raw(&r), SK_EVERSION);
        /* judged as soon as the version byte is in */
        ASSERT_EQ_INT(sk_msg_decode(frame, 5, &m), 0);
        ASSERT_EQ_INT(sk_msg_decode(frame, 6, &m), SK_EVERSION);
    }
}

/* A frame of protocol version 1, as a peer that was not upgraded sends it:
 * version byte 1 and the 71-byte header of version 1, which is the header
 * above without `client` (its reserved u32 sat at offset 67). Such a frame
 * is refused with SK_EVERSION as soon as its version byte is in, whatever
 * its type and length, so a daemon closes the connection to an old peer
 * instead of misreading its frames (spec/PROTOCOL.md section 1, "What an
 * older peer gets"). */
static size_t v1_frame(uint8_t *out, const struct sk_msg *m)
{
    struct raw r;
    raw_of(&r, m, var);
    size_t n = raw_frame(out, &r);
    /* cut `client` (body offsets 67..74) out; the rest keeps its place */
    memmove(out + 4 + 67, out + 4 + 75, n - (4 + 75));
    n -= 8;
    be(out, n - 4, 4);
    out[4] = 1;
    return n;
}

TEST(refuse_version_1_frame_of_an_old_peer)
{
    /* the worked example of the version-1 spec, byte for byte: a PREPARE
     * from 1 to 2, seq 7, ballot 5.1, key "lock" */
    static const uint8_t old_prepare[] = {
        0x00, 0x00, 0x00, 0x4b,                         /* body length 75 */
        0x01,                                           /* version 1 */
        0x01,                                           /* type PREPARE */
        0x00, 0x00, 0x00,                               /* phase, op, status */
        0x00, 0x00, 0x00, 0x01,                         /* from 1 */
        0x00, 0x00, 0x00, 0x02,                         /* to 2 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, /* seq 7 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, /* ballot round 5 */
        0x00, 0x00, 0x00, 0x01,                         /* ballot node 1 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* other round */
        0x00, 0x00, 0x00, 0x00,                         /* other node */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* token */
        0x00, 0x00, 0x00, 0x00,                         /* ttl_ms */
        0x00, 0x04,                                     /* key_len 4 */
        0x00, 0x00,                                     /* holder_len */
        0x00, 0x00,                                     /* text_len */
        0x00, 0x00, 0x00, 0x00,                         /* value_len */
        0x00, 0x00, 0x00, 0x00,                         /* reserved (no client) */
        0x6c, 0x6f, 0x63, 0x6b,                         /* key "lock" */
    };
    ASSERT_EQ_INT(sizeof old_prepare, 79);
    struct sk_msg m, d;
    memset(&m, 0, sizeof m);
    m.type = SK_MSG_PREPARE;
    m.from = 1;
    m.to = 2;
    m.seq = 7;
    m.ballot = (struct sk_ballot){5, 1};
    m.key = (const uint8_t *)"lock";
    m.key_len = 4;
    /* the v1 writer below reproduces it, so it can be trusted for the rest */
    ASSERT_EQ_INT(v1_frame(frame, &m), sizeof old_prepare);
    ASSERT_MEM_EQ(frame, old_prepare, sizeof old_prepare);
    /* its 75-byte body is shorter than a version-2 header: still EVERSION,
     * not ETRUNC, because the version is judged first */
    ASSERT_EQ_INT(sk_msg_decode(old_prepare, sizeof old_prepare, &d), SK_EVERSION);
    ASSERT_EQ_INT(sk_msg_decode(old_prepare, 5, &d), 0);
    ASSERT_EQ_INT(sk_msg_decode(old_prepare, 6, &d), SK_EVERSION);

    /* every type an old peer or client may send, at both sizes */
    for (size_t i = 0; i < N_TYPES; i++) {
        for (int mode = SIZE_MIN; mode <= SIZE_MAX_; mode++) {
            TEST_CONTEXT("version-1 %s, %s", types[i].name, mode == SIZE_MIN ? "min" : "max");
            fill_msg(&m, &types[i], (enum size_mode)mode);
            m.client = 0; /* version 1 had no client id */
            size_t n = v1_frame(frame, &m);
            ASSERT_EQ_INT(frame[4], 1);
            ASSERT_EQ_INT(sk_msg_decode(frame, n, &d), SK_EVERSION);
            ASSERT_EQ_INT(sk_msg_decode(frame, 6, &d), SK_EVERSION);
        }
    }
}

/* JOIN and JOIN_OK need phase 1 or 2; JOIN_OK and FETCHED a status 1..3
 * (sk_join_status). */
TEST(refuse_join_phase_and_status_out_of_range)
{
    struct sk_msg m = {0};
    m.type = SK_MSG_JOIN;
    m.from = 1;
    m.to = 2;
    ASSERT_EQ_INT(sk_msg_encode(&m, frame, sizeof frame), SK_EFRAME); /* phase 0 */
    m.phase = 3;
    ASSERT_EQ_INT(sk_msg_encode(&m, frame, sizeof frame), SK_EFRAME);
    m.phase = 2;
    ASSERT_TRUE(sk_msg_encode(&m, frame, sizeof frame) > 0);
    m.type = SK_MSG_JOIN_OK;
    ASSERT_EQ_INT(sk_msg_encode(&m, frame, sizeof frame), SK_EFRAME); /* status 0 */
    m.status = 4;
    ASSERT_EQ_INT(sk_msg_encode(&m, frame, sizeof frame), SK_EFRAME);
    m.status = SK_JOIN_BLANK;
    int n = sk_msg_encode(&m, frame, sizeof frame);
    ASSERT_TRUE(n > 0);
    struct sk_msg d;
    ASSERT_EQ_INT(sk_msg_decode(frame, (size_t)n, &d), n);
    ASSERT_EQ_INT(d.status, SK_JOIN_BLANK);
    frame[4 + 4] = 9; /* status byte, on the wire */
    ASSERT_EQ_INT(sk_msg_decode(frame, (size_t)n, &d), SK_EFRAME);
    m = (struct sk_msg){0};
    m.type = SK_MSG_FETCHED;
    m.from = 1;
    m.key = (const uint8_t *)"k";
    m.key_len = 1;
    ASSERT_EQ_INT(sk_msg_encode(&m, frame, sizeof frame), SK_EFRAME); /* status 0 */
    m.status = SK_JOIN_OK;
    ASSERT_TRUE(sk_msg_encode(&m, frame, sizeof frame) > 0);
}

/* AUTH (type 21, PROTOCOL.md 11): the handshake's hello and proof. Its
 * value is exactly 32 bytes, its phase 1 or 2, its status (the auth
 * version) 1 and its op (the role) 1..3; anything else is refused. */
TEST(auth_frame_round_trips_and_its_refusals)
{
    static const uint8_t v32[33] = {1, 2, 3};
    struct sk_msg m = {0}, d;
    m.type = SK_MSG_AUTH;
    m.phase = 1;
    m.status = 1;
    m.op = 1;
    m.from = 2;
    m.to = 3;
    m.value = v32;
    m.value_len = 32;
    int n = sk_msg_encode(&m, frame, sizeof frame);
    ASSERT_EQ_INT(n, 4 + 79 + 32);
    ASSERT_EQ_INT(sk_msg_decode(frame, (size_t)n, &d), n);
    ASSERT_EQ_INT(d.type, SK_MSG_AUTH);
    ASSERT_EQ_INT(d.from, 2);
    ASSERT_EQ_INT(d.value_len, 32);
    ASSERT_STR_EQ(sk_msg_type_name(SK_MSG_AUTH), "auth");
    struct sk_msg bad;
    uint8_t raw[256];
    for (int c = 0; c < 8; c++) {
        TEST_CONTEXT("case %d", c);
        bad = m;
        switch (c) {
        case 0: bad.value_len = 31; break;
        case 1: bad.value_len = 33; break;
        case 2: bad.phase = 0; break;
        case 3: bad.phase = 3; break;
        case 4: bad.status = 2; break;
        case 5: bad.op = 0; break;
        case 6: bad.op = 4; break;
        case 7: bad.seq = 1; break; /* a field AUTH may not carry */
        }
        ASSERT_EQ_INT(sk_msg_encode(&bad, frame, sizeof frame), SK_EFRAME);
        /* the decoder refuses the same bytes: patch a valid frame */
        int k = sk_msg_encode(&m, raw, sizeof raw);
        ASSERT_EQ_INT(k, n);
        switch (c) {
        case 0:
        case 1: continue; /* a length change is a different frame; the encoder's check suffices */
        case 2: raw[4 + 2] = 0; break;
        case 3: raw[4 + 2] = 3; break;
        case 4: raw[4 + 4] = 2; break;
        case 5: raw[4 + 3] = 0; break;
        case 6: raw[4 + 3] = 4; break;
        case 7: raw[4 + 20] = 1; break;
        }
        ASSERT_EQ_INT(sk_msg_decode(raw, (size_t)k, &d), SK_EFRAME);
    }
}

TEST(refuse_unknown_type)
{
    static const uint8_t bad[] = {0, 10, 11, 15, 22, 64, 255};
    struct raw r;
    struct sk_msg m;
    for (size_t i = 0; i < sizeof bad; i++) {
        raw_prepare(&r);
        r.type = bad[i];
        ASSERT_EQ_INT(decode_raw(&r), SK_ETYPE);
        ASSERT_EQ_INT(sk_msg_decode(frame, 6, &m), SK_ETYPE);
        m = (struct sk_msg){0};
        m.type = bad[i];
        ASSERT_EQ_INT(sk_msg_encode(&m, frame, sizeof frame), SK_ETYPE);
    }
}

/* Set field f of a raw frame to something non-zero / non-empty. */
static void raw_set_field(struct raw *r, int f)
{
    switch (f) {
    case T_PHASE: r->phase = 1; break;
    case T_OP: r->op = 1; break;
    case T_STATUS: r->status = 1; break;
    case T_FROM: r->from = 1; break;
    case T_TO: r->to = 1; break;
    case T_SEQ: r->seq = 1; break;
    case T_BALLOT: r->ballot_node = 1; break;
    case T_OTHER: r->other_round = 1; break;
    case T_TOKEN: r->token = 1; break;
    case T_TTL: r->ttl_ms = 1; break;
    case T_CLIENT: r->client = 1; break;
    default: {
        /* a variable field: rebuild the variable bytes in wire order */
        uint32_t *lens[] = {&r->key_len, &r->holder_len, &r->text_len, &r->value_len};
        *lens[f - T_KEY] = 3;
        size_t n = 0;
        uint8_t *v = var;
        for (int i = 0; i < 4; i++) {
            memset(v + n, 'a' + i, *lens[i]);
            n += *lens[i];
        }
        r->var = v;
        r->var_len = n;
    }
    }
}

/* A minimal valid raw frame of type t (only what it must carry). A
 * request is a release, so that every field it may carry can be set on it
 * alone (an acquire may not carry a token). */
static void raw_minimal(struct raw *r, const struct type_spec *t)
{
    memset(r, 0, sizeof *r);
    r->version = SK_WIRE_VERSION;
    r->type = t->type;
    if (t->type == SK_MSG_NAY || t->type == SK_MSG_JOIN || t->type == SK_MSG_JOIN_OK) r->phase = 1;
    if (t->type == SK_MSG_JOIN_OK || t->type == SK_MSG_FETCHED) r->status = SK_JOIN_OK;
    if (t->type == SK_MSG_CLIENT_REQ) r->op = SK_OP_RELEASE;
    if (t->type == SK_MSG_CLIENT_REPLY) r->status = SK_ST_GRANTED;
    if (t->required & B(T_SEQ)) r->seq = 1;
    if (t->required & B(T_CLIENT)) r->client = 1;
    if (t->required & B(T_KEY)) {
        r->key_len = 1;
        r->var = (const uint8_t *)"k";
        r->var_len = 1;
    }
}

TEST(refuse_field_the_type_must_not_carry)
{
    for (size_t i = 0; i < N_TYPES; i++) {
        const struct type_spec *t = &types[i];
        struct raw r;
        raw_minimal(&r, t);
        int rv = decode_raw(&r);
        if (rv <= 0) {
            FAIL("minimal %s refused: %d (%s)", t->name, rv, sk_err_name(rv));
        }
        for (int f = 0; f < T_NFIELDS; f++) {
            raw_minimal(&r, t);
            raw_set_field(&r, f);
            rv = decode_raw(&r);
            bool allowed = (t->allowed & B(f)) != 0;
            if (allowed && rv <= 0) {
                FAIL("%s with %s: refused with %d (%s), but the type carries it", t->name,
                     field_name[f], rv, sk_err_name(rv));
            }
            if (!allowed && rv != SK_EFRAME) {
                FAIL("%s with %s: got %d (%s), want SK_EFRAME", t->name, field_name[f], rv,
                     sk_err_name(rv));
            }
            if (!allowed) {
                /* the encoder refuses to write it, too */
                struct sk_msg m;
                fill_msg(&m, t, SIZE_MIN);
                switch (f) {
                case T_PHASE: m.phase = 1; break;
                case T_OP: m.op = 1; break;
                case T_STATUS: m.status = 1; break;
                case T_FROM: m.from = 1; break;
                case T_TO: m.to = 1; break;
                case T_SEQ: m.seq = 1; break;
                case T_BALLOT: m.ballot.round = 1; break;
                case T_OTHER: m.other.node = 1; break;
                case T_TOKEN: m.token = 1; break;
                case T_TTL: m.ttl_ms = 1; break;
                case T_CLIENT: m.client = 1; break;
                case T_KEY: m.key = (const uint8_t *)"k", m.key_len = 1; break;
                case T_HOLDER: m.holder = (const uint8_t *)"h", m.holder_len = 1; break;
                case T_TEXT: m.text = (const uint8_t *)"t", m.text_len = 1; break;
                default: m.value = (const uint8_t *)"v", m.value_len = 1; break;
                }
                rv = sk_msg_encode(&m, frame, sizeof frame);
                if (rv != SK_EFRAME) {
                    FAIL("encode %s with %s: got %d, want SK_EFRAME", t->name, field_name[f], rv);
                }
            }
        }
    }
}

TEST(refuse_value_on_prepare_and_phase_on_promise)
{
    /* the two examples of the brief, spelled out */
    struct raw r;
    raw_prepare(&r);
    r.value_len = 2;
    r.var = (const uint8_t *)"lockvv";
    r.var_len = 6;
    ASSERT_EQ_INT(decode_raw(&r), SK_EFRAME);

    raw_prepare(&r);
    r.type = SK_MSG_PROMISE;
    r.phase = 1;
    ASSERT_EQ_INT(decode_raw(&r), SK_EFRAME);
    r.phase = 0;
    ASSERT_TRUE(decode_raw(&r) > 0);
}

TEST(refuse_nay_phase_other_than_1_or_2)
{
    static const uint8_t bad[] = {0, 3, 4, 255};
    struct raw r;
    for (size_t i = 0; i < sizeof bad; i++) {
        raw_prepare(&r);
        r.type = SK_MSG_NAY;
        r.phase = bad[i];
        ASSERT_EQ_INT(decode_raw(&r), SK_EFRAME);
        struct sk_msg m;
        fill_msg(&m, &types[2], SIZE_MIN);
        m.phase = bad[i];
        ASSERT_EQ_INT(sk_msg_encode(&m, frame, sizeof frame), SK_EFRAME);
    }
    raw_prepare(&r);
    r.type = SK_MSG_NAY;
    r.phase = 1;
    ASSERT_TRUE(decode_raw(&r) > 0);
    r.phase = 2;
    ASSERT_TRUE(decode_raw(&r) > 0);
}

TEST(refuse_empty_key_where_required)
{
    for (size_t i = 0; i < N_TYPES; i++) {
        const struct type_spec *t = &types[i];
        bool key_required = (t->required & B(T_KEY)) != 0;
        struct raw r;
        raw_minimal(&r, t);
        r.key_len = 0;
        r.var_len = 0;
        int rv = decode_raw(&r);
        if (key_required && rv != SK_EFRAME) {
            FAIL("%s with an empty key: got %d, want SK_EFRAME", t->name, rv);
        }
        if (!key_required && rv <= 0) {
            FAIL("%s with an empty key: refused %d, but it may be empty", t->name, rv);
        }
        struct sk_msg m;
        fill_msg(&m, t, SIZE_MIN);
        m.key_len = 0;
        rv = sk_msg_encode(&m, frame, sizeof frame);
        if (key_required && rv != SK_EFRAME) {
            FAIL("encode %s with an empty key: got %d, want SK_EFRAME", t->name, rv);
        }
    }
}

TEST(refuse_lengths_not_summing_to_the_body)
{
    struct raw r;
    /* fields claim more than the body holds */
    raw_prepare(&r);
    r.key_len = 5;
    ASSERT_EQ_INT(decode_raw(&r), SK_ETRUNC);
    raw_prepare(&r);
    r.type = SK_MSG_PROMISE;
    r.value_len = 0xffffffffu; /* would wrap a 32-bit sum */
    ASSERT_EQ_INT(decode_raw(&r), SK_ETRUNC);
    /* fields claim less than the body holds: trailing bytes */
    raw_prepare(&r);
    r.key_len = 3;
    ASSERT_EQ_INT(decode_raw(&r), SK_EFRAME);
    raw_prepare(&r);
    r.var = (const uint8_t *)"lockXX";
    r.var_len = 6;
    ASSERT_EQ_INT(decode_raw(&r), SK_EFRAME);
}

TEST(refuse_reserved_bytes_non_zero)
{
    for (int i = 0; i < 4; i++) {
        struct raw r;
        raw_prepare(&r);
        r.reserved = 1u << (8 * i);
        ASSERT_EQ_INT(decode_raw(&r), SK_EFRAME);
    }
}

/* op 4 is a shared acquire since it was added: the first bad one is 5 */
TEST(refuse_client_request_bad_op_and_reply_bad_status)
{
    /* 15 is SK_OP_WAIT: the core's own op for a queued acquire asked again,
     * never a client's */
    static const uint8_t bad_ops[] = {0, 5, 9, SK_OP_WAIT, 255};
    for (size_t i = 0; i < sizeof bad_ops; i++) {
        struct raw r;
        raw_minimal(&r, &types[5]);
        r.op = bad_ops[i];
        ASSERT_EQ_INT(decode_raw(&r), SK_EFRAME);
        struct sk_msg m;
        fill_msg(&m, &types[5], SIZE_MIN);
        m.op = bad_ops[i];
        ASSERT_EQ_INT(sk_msg_encode(&m, frame, sizeof frame), SK_EFRAME);
    }
    static const uint8_t bad_status[] = {0, 10, 255};
    for (size_t i = 0; i < sizeof bad_status; i++) {
        struct raw r;
        raw_minimal(&r, &types[6]);
        r.status = bad_status[i];
        ASSERT_EQ_INT(decode_raw(&r), SK_EFRAME);
        struct sk_msg m;
        fill_msg(&m, &types[6], SIZE_MIN);
        m.status = bad_status[i];
        ASSERT_EQ_INT(sk_msg_encode(&m, frame, sizeof frame), SK_EFRAME);
    }
}

TEST(reply_status_8_stale_and_9_queued_accepted_10_refused)
{
    struct raw r;
    struct sk_msg m;
    raw_minimal(&r, &types[6]);
    ASSERT_EQ_INT(types[6].type, SK_MSG_CLIENT_REPLY);
    r.status = 8;
    ASSERT_EQ_INT(SK_ST_STALE, 8);
    ASSERT_EQ_INT(decode_raw(&r), 4 + HDR);
    fill_msg(&m, &types[6], SIZE_MIN);
    m.status = 8;
    ASSERT_EQ_INT(sk_msg_encode(&m, frame, sizeof frame), 4 + HDR);
    ASSERT_STR_EQ(sk_status_name(SK_ST_STALE), "stale");

    r.status = 9;
    ASSERT_EQ_INT(SK_ST_QUEUED, 9);
    ASSERT_EQ_INT(decode_raw(&r), 4 + HDR);
    ASSERT_STR_EQ(sk_status_name(SK_ST_QUEUED), "queued");
    ASSERT_FALSE(sk_status_is_definite(SK_ST_QUEUED) || sk_status_is_settled(SK_ST_QUEUED));
    r.status = 10;
    ASSERT_EQ_INT(decode_raw(&r), SK_EFRAME);
    m.status = 10;
    ASSERT_EQ_INT(sk_msg_encode(&m, frame, sizeof frame), SK_EFRAME);
    /* phase on a reply says the acquire waited in the queue: 0 or 1 only */
    r.status = SK_ST_GRANTED;
    r.phase = 1;
    ASSERT_EQ_INT(decode_raw(&r), 4 + HDR);
    r.phase = 2;
    ASSERT_EQ_INT(decode_raw(&r), SK_EFRAME);
}

/* A request must carry its identity: client and seq both non-zero, for
 * every op. Refused by the decoder and by the encoder, with SK_EFRAME. */
TEST(refuse_client_request_without_client_or_seq)
{
    static const struct {
        uint64_t client, seq;
    } bad[] = {{0, 1}, {1, 0}, {0, 0}, {0, UINT64_MAX}, {UINT64_MAX, 0}};
    for (uint8_t op = SK_OP_ACQUIRE; op <= SK_OP_MAX; op++) {
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            TEST_CONTEXT("op %u, client %llu, seq %llu", op, (unsigned long long)bad[i].client,
                         (unsigned long long)bad[i].seq);
            struct raw r;
            raw_minimal(&r, &types[5]);
            ASSERT_EQ_INT(types[5].type, SK_MSG_CLIENT_REQ);
            r.op = op;
            r.client = bad[i].client;
            r.seq = bad[i].seq;
            ASSERT_EQ_INT(decode_raw(&r), SK_EFRAME);
            struct sk_msg m;
            fill_msg(&m, &types[5], SIZE_MAX_);
            m.op = op;
            m.token = 0;
            m.client = bad[i].client;
            m.seq = bad[i].seq;
            ASSERT_EQ_INT(sk_msg_encode(&m, frame, sizeof frame), SK_EFRAME);
            /* the same with both set is fine */
            r.client = r.seq = 1;
            ASSERT_TRUE(decode_raw(&r) > 0);
            m.client = m.seq = 1;
            ASSERT_TRUE(sk_msg_encode(&m, frame, sizeof frame) > 0);
        }
    }
    /* a reply need not carry them: refusing it would lose the answer */
    struct raw r;
    raw_minimal(&r, &types[6]);
    ASSERT_EQ_U64(r.client, 0);
    ASSERT_EQ_U64(r.seq, 0);
    ASSERT_TRUE(decode_raw(&r) > 0);
}

/* An acquire may not carry a fencing token (it has no grant to end); a
 * release or renew may, naming the grant it ends. */
TEST(refuse_acquire_with_token_accept_release_and_renew_with_one)
{
    static const uint64_t tokens[] = {1, 257, UINT64_MAX};
    for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++) {
        TEST_CONTEXT("token %llu", (unsigned long long)tokens[i]);
        struct raw r;
        raw_minimal(&r, &types[5]);
        r.op = SK_OP_ACQUIRE;
        r.token = tokens[i];
        ASSERT_EQ_INT(decode_raw(&r), SK_EFRAME);
        struct sk_msg m;
        fill_msg(&m, &types[5], SIZE_MIN);
        ASSERT_EQ_INT(m.op, SK_OP_ACQUIRE);
        m.token = tokens[i];
        ASSERT_EQ_INT(sk_msg_encode(&m, frame, sizeof frame), SK_EFRAME);

        for (uint8_t op = SK_OP_RELEASE; op <= SK_OP_RENEW; op++) {
            raw_minimal(&r, &types[5]);
            r.op = op;
            r.token = tokens[i];
            ASSERT_EQ_INT(decode_raw(&r), 4 + HDR + 1);
            struct sk_msg d;
            ASSERT_EQ_INT(sk_msg_decode(frame, 4 + HDR + 1, &d), 4 + HDR + 1);
            ASSERT_EQ_U64(d.token, tokens[i]);
            m.op = op;
            RUN(round_trip(&m));
        }
    }
    /* an acquire without a token is of course fine */
    struct raw r;
    raw_minimal(&r, &types[5]);
    r.op = SK_OP_ACQUIRE;
    ASSERT_TRUE(decode_raw(&r) > 0);
}

/* A shared acquire (a reader's) is an acquire on the wire: it round-trips
 * with its own op code, carries no token, and the codes past it are refused
 * by the decoder and the encoder alike. */
TEST(shared_acquire_is_an_acquire_and_ops_past_it_are_refused)
{
    ASSERT_EQ_INT(SK_OP_ACQUIRE_SHARED, 4);
    ASSERT_STR_EQ(sk_op_name(SK_OP_ACQUIRE_SHARED), "acquire_shared");
    struct raw r;
    raw_minimal(&r, &types[5]);
    r.op = SK_OP_ACQUIRE_SHARED;
    int n = decode_raw(&r);
    ASSERT_TRUE(n > 0);
    struct sk_msg d;
    ASSERT_EQ_INT(sk_msg_decode(frame, (size_t)n, &d), n);
    ASSERT_EQ_INT(d.op, SK_OP_ACQUIRE_SHARED);
    r.token = 7;
    ASSERT_EQ_INT(decode_raw(&r), SK_EFRAME);
    struct sk_msg m;
    fill_msg(&m, &types[5], SIZE_MIN);
    m.op = SK_OP_ACQUIRE_SHARED;
    m.token = 7;
    ASSERT_EQ_INT(sk_msg_encode(&m, frame, sizeof frame), SK_EFRAME);
    m.token = 0;
    RUN(round_trip(&m));
    for (unsigned op = SK_OP_MAX + 1; op <= 255; op++) {
        TEST_CONTEXT("op %u", op);
        raw_minimal(&r, &types[5]);
        r.op = (uint8_t)op;
        ASSERT_EQ_INT(decode_raw(&r), SK_EFRAME);
        m.op = (uint8_t)op;
        ASSERT_EQ_INT(sk_msg_encode(&m, frame, sizeof frame), SK_EFRAME);
    }
    raw_minimal(&r, &types[5]);
    r.op = 0;
    ASSERT_EQ_INT(decode_raw(&r), SK_EFRAME);
}

TEST(refuse_field_over_its_limit)
{
    /* consistent lengths, body under SK_FRAME_MAX, one field one byte too long */
    static const struct {
        int field;
        uint32_t len;
    } over[] = {
        {T_KEY, SK_KEY_MAX + 1},
        {T_HOLDER, SK_HOLDER_MAX + 1},
        {T_TEXT, SK_TEXT_MAX + 1},
        {T_VALUE, SK_VALUE_MAX + 1},
        {T_VALUE, SK_FRAME_MAX - HDR}, /* the whole frame is the value */
    };
    for (size_t i = 0; i < sizeof over / sizeof over[0]; i++) {
        struct raw r;
        memset(&r, 0, sizeof r);
        r.version = SK_WIRE_VERSION;
        r.type = SK_MSG_STATUS_REPLY; /* carries all four */
        memset(var, 'z', over[i].len);
        switch (over[i].field) {
        case T_KEY: r.key_len = over[i].len; break;
        case T_HOLDER: r.holder_len = over[i].len; break;
        case T_TEXT: r.text_len = over[i].len; break;
        default: r.value_len = over[i].len; break;
        }
        r.var = var;
        r.var_len = over[i].len;
        ASSERT_EQ_INT(decode_raw(&r), SK_ETOOBIG);

        struct sk_msg m = {0};
        m.type = SK_MSG_STATUS_REPLY;
        switch (over[i].field) {
        case T_KEY: m.key = var, m.key_len = over[i].len; break;
        case T_HOLDER: m.holder = var, m.holder_len = over[i].len; break;
        case T_TEXT: m.text = var, m.text_len = over[i].len; break;
        default: m.value = var, m.value_len = over[i].len; break;
        }
        ASSERT_EQ_INT(sk_msg_encode(&m, frame, sizeof frame), SK_ETOOBIG);
    }
}

TEST(encode_refuses_a_buffer_too_small)
{
    struct sk_msg m;
    fill_msg(&m, &types[3], SIZE_MAX_); /* accept with a max value */
    int n = sk_msg_encode(&m, frame, sizeof frame);
    ASSERT_TRUE(n > 0);
    ASSERT_EQ_INT(sk_msg_encode(&m, frame2, (size_t)n - 1), SK_ENOSPACE);
    ASSERT_EQ_INT(sk_msg_encode(&m, frame2, 0), SK_ENOSPACE);
    ASSERT_EQ_INT(sk_msg_encode(&m, frame2, (size_t)n), n);
    ASSERT_MEM_EQ(frame, frame2, (size_t)n);
}

/* -------------------------------------------------------------- names */

TEST(error_names_and_messages)
{
    ASSERT_STR_EQ(sk_err_name(SK_ETRUNC), "SK_ETRUNC");
    ASSERT_STR_EQ(sk_strerror(SK_ETRUNC), "frame truncated");
    ASSERT_STR_EQ(sk_err_name(SK_ETOOBIG), "SK_ETOOBIG");
    ASSERT_STR_EQ(sk_strerror(SK_ETOOBIG), "frame or field too large");
    ASSERT_STR_EQ(sk_err_name(SK_EVERSION), "SK_EVERSION");
    ASSERT_STR_EQ(sk_strerror(SK_EVERSION), "unknown frame version");
    ASSERT_STR_EQ(sk_err_name(SK_ETYPE), "SK_ETYPE");
    ASSERT_STR_EQ(sk_err_name(SK_EFRAME), "SK_EFRAME");
    ASSERT_STR_EQ(sk_strerror(SK_EFRAME), "inconsistent frame");
    ASSERT_STR_EQ(sk_err_name(SK_ENOMEM), "SK_ENOMEM");
    ASSERT_STR_EQ(sk_strerror(SK_ENOMEM), "out of memory");
    ASSERT_STR_EQ(sk_err_name(0), "SK_UNKNOWN");
    ASSERT_STR_EQ(sk_strerror(0), "unknown error");
    ASSERT_STR_EQ(sk_err_name(-9000), "SK_UNKNOWN");
    ASSERT_STR_EQ(sk_err_name(-22), "SK_UNKNOWN");
    ASSERT_STR_EQ(sk_strerror(-9099), "unknown error");

    /* every code of the map: in our block, named after itself, distinct */
#define CHECK_CODE(name, val, msg)                                                     \
    ASSERT_TRUE((val) <= -9000 && (val) > -9100);                                      \
    ASSERT_STR_EQ(sk_err_name(val), "SK_" #name);                                      \
    ASSERT_STR_EQ(sk_strerror(val), msg);                                              \
    ASSERT_EQ_INT(SK_##name, val);
    SK_ERRNO_MAP(CHECK_CODE)
#undef CHECK_CODE
}

TEST(type_op_and_status_names)
{
    for (size_t i = 0; i < N_TYPES; i++) {
        ASSERT_STR_EQ(sk_msg_type_name(types[i].type), types[i].name);
    }
    ASSERT_STR_EQ(sk_msg_type_name(0), "unknown");
    ASSERT_STR_EQ(sk_op_name(SK_OP_ACQUIRE), "acquire");
    ASSERT_STR_EQ(sk_op_name(SK_OP_RELEASE), "release");
    ASSERT_STR_EQ(sk_op_name(SK_OP_RENEW), "renew");
    ASSERT_STR_EQ(sk_op_name(9), "unknown");
    ASSERT_STR_EQ(sk_status_name(SK_ST_GRANTED), "granted");
    ASSERT_STR_EQ(sk_status_name(SK_ST_NOT_HOLDER), "not_holder");
    ASSERT_STR_EQ(sk_status_name(SK_ST_UNAVAILABLE), "unavailable");
    ASSERT_TRUE(sk_status_is_definite(SK_ST_GRANTED));
    ASSERT_TRUE(sk_status_is_definite(SK_ST_NOT_HOLDER));
    ASSERT_FALSE(sk_status_is_definite(SK_ST_CONTENDED));
    ASSERT_FALSE(sk_status_is_definite(SK_ST_UNAVAILABLE));
    ASSERT_FALSE(sk_status_is_definite(SK_ST_ERROR));
    ASSERT_FALSE(sk_status_is_definite(0));
}

/* A status row (spec/PROTOCOL.md 4): a description as long as sk_describe
 * writes (SK_DESCRIBE_MAX - 1 bytes) in text, beside a full key, holder
 * and register value, encodes and decodes back; the description fits the
 * codec's text limit. */
TEST(status_row_carries_a_description_at_its_limit)
{
    ASSERT_TRUE(SK_DESCRIBE_MAX - 1 <= SK_TEXT_MAX);
    static uint8_t key[SK_KEY_MAX], holder[SK_HOLDER_MAX], text[SK_DESCRIBE_MAX - 1],
        value[SK_VALUE_MAX];
    memset(key, 'k', sizeof key);
    memset(holder, 'h', sizeof holder);
    memset(text, 'd', sizeof text);
    memcpy(text, "2 of 3 permits: ", 16);
    memset(value, 'v', sizeof value);
    struct sk_msg m = {0};
    m.type = SK_MSG_STATUS_REPLY;
    m.status = 1;
    m.from = 3;
    m.seq = 9;
    m.ballot = (struct sk_ballot){4, 3};
    m.other = (struct sk_ballot){4, 3};
    m.token = 1027;
    m.key = key, m.key_len = sizeof key;
    m.holder = holder, m.holder_len = sizeof holder;
    m.text = text, m.text_len = sizeof text;
    m.value = value, m.value_len = sizeof value;
    int n = sk_msg_encode(&m, frame, sizeof frame);
    ASSERT_TRUE(n > 0);
    struct sk_msg d;
    ASSERT_EQ_INT(sk_msg_decode(frame, (size_t)n, &d), n);
    ASSERT_EQ_INT(d.text_len, sizeof text);
    ASSERT_MEM_EQ(d.text, text, sizeof text);
    ASSERT_EQ_INT(d.value_len, sizeof value);
    ASSERT_EQ_INT(d.key_len, sizeof key);
    ASSERT_EQ_INT(d.holder_len, sizeof holder);
    /* the closing frame: the node's name in text, no key */
    struct sk_msg e = {0};
    e.type = SK_MSG_STATUS_REPLY;
    e.status = 2;
    e.token = 1;
    e.text = (const uint8_t *)"catbus", e.text_len = 6;
    n = sk_msg_encode(&e, frame, sizeof frame);
    ASSERT_TRUE(n > 0);
    ASSERT_EQ_INT(sk_msg_decode(frame, (size_t)n, &d), n);
    ASSERT_EQ_INT(d.key_len, 0);
    ASSERT_MEM_EQ(d.text, "catbus", 6);
}
