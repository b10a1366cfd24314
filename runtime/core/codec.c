/* codec.c - Skinny wire frames (spec/PROTOCOL.md).
 *
 * Every frame has the same fixed header followed by four variable-length
 * fields; a field a message type does not use must be zero or empty, so a
 * second implementation needs one layout and one table (type_fields). */
#include <string.h>

#include "core.h"

#define HDR_LEN 79 /* bytes after the length prefix, before the variable fields */

enum {
    F_PHASE = 1u << 0,
    F_OP = 1u << 1,
    F_STATUS = 1u << 2,
    F_FROM = 1u << 3,
    F_TO = 1u << 4,
    F_SEQ = 1u << 5,
    F_BALLOT = 1u << 6,
    F_OTHER = 1u << 7,
    F_TOKEN = 1u << 8,
    F_TTL = 1u << 9,
    F_KEY = 1u << 10,
    F_HOLDER = 1u << 11,
    F_TEXT = 1u << 12,
    F_VALUE = 1u << 13,
    F_KEY_REQUIRED = 1u << 14,
    F_CLIENT = 1u << 15,
};

#define PEER (F_FROM | F_TO | F_SEQ | F_BALLOT | F_KEY | F_KEY_REQUIRED)

static uint32_t type_fields(int type)
{
    switch (type) {
    case SK_MSG_PREPARE: return PEER;
    case SK_MSG_PROMISE: return PEER | F_OTHER | F_VALUE;
    case SK_MSG_NAY: return PEER | F_PHASE | F_OTHER;
    case SK_MSG_ACCEPT: return PEER | F_OTHER | F_VALUE;
    case SK_MSG_ACCEPTED: return PEER | F_OTHER;
    case SK_MSG_JOIN: return F_PHASE | F_FROM | F_TO | F_SEQ | F_BALLOT;
    case SK_MSG_JOIN_OK: return F_PHASE | F_STATUS | F_FROM | F_TO | F_SEQ | F_BALLOT;
    case SK_MSG_FETCH: return PEER;
    case SK_MSG_FETCHED: return PEER | F_STATUS | F_OTHER | F_VALUE;
    case SK_MSG_CLIENT_REQ:
        return F_OP | F_TO | F_SEQ | F_CLIENT | F_TTL | F_TOKEN | F_KEY | F_KEY_REQUIRED |
               F_HOLDER;
    case SK_MSG_CLIENT_REPLY:
        return F_PHASE | F_STATUS | F_FROM | F_SEQ | F_CLIENT | F_BALLOT | F_TOKEN | F_KEY |
               F_HOLDER | F_TEXT;
    case SK_MSG_STATUS_REQ: return F_TO | F_SEQ | F_KEY;
    case SK_MSG_STATUS_REPLY:
        return F_STATUS | F_FROM | F_SEQ | F_BALLOT | F_OTHER | F_TOKEN | F_KEY | F_HOLDER |
               F_TEXT | F_VALUE;
    case SK_MSG_CONTROL: return F_OP | F_TO | F_SEQ | F_TTL | F_KEY | F_TEXT;
    case SK_MSG_AUTH: return F_PHASE | F_STATUS | F_OP | F_FROM | F_TO | F_VALUE;
    default: return 0;
    }
}

const char *sk_msg_type_name(int type)
{
    switch (type) {
    case SK_MSG_PREPARE: return "prepare";
    case SK_MSG_PROMISE: return "promise";
    case SK_MSG_NAY: return "nay";
    case SK_MSG_ACCEPT: return "accept";
    case SK_MSG_ACCEPTED: return "accepted";
    case SK_MSG_JOIN: return "join";
    case SK_MSG_JOIN_OK: return "join_ok";
    case SK_MSG_FETCH: return "fetch";
    case SK_MSG_FETCHED: return "fetched";
    case SK_MSG_CLIENT_REQ: return "request";
    case SK_MSG_CLIENT_REPLY: return "reply";
    case SK_MSG_STATUS_REQ: return "status_request";
    case SK_MSG_STATUS_REPLY: return "status_reply";
    case SK_MSG_CONTROL: return "control";
    case SK_MSG_AUTH: return "auth";
    default: return "unknown";
    }
}

/* Which fields are set (non-zero / non-empty) in m. */
static uint32_t fields_used(const struct sk_msg *m)
{
    uint32_t f = 0;
    if (m->phase) f |= F_PHASE;
    if (m->op) f |= F_OP;
    if (m->status) f |= F_STATUS;
    if (m->from) f |= F_FROM;
    if (m->to) f |= F_TO;
    if (m->seq) f |= F_SEQ;
    if (m->ballot.round || m->ballot.node) f |= F_BALLOT;
    if (m->other.round || m->other.node) f |= F_OTHER;
    if (m->token) f |= F_TOKEN;
    if (m->ttl_ms) f |= F_TTL;
    if (m->key_len) f |= F_KEY;
    if (m->holder_len) f |= F_HOLDER;
    if (m->text_len) f |= F_TEXT;
    if (m->value_len) f |= F_VALUE;
    if (m->client) f |= F_CLIENT;
    return f;
}

static int check_fields(const struct sk_msg *m)
{
    uint32_t allowed = type_fields(m->type);
    if (allowed == 0) {
        return SK_ETYPE;
    }
    if (m->key_len > SK_KEY_MAX || m->holder_len > SK_HOLDER_MAX ||
        m->text_len > SK_TEXT_MAX || m->value_len > SK_VALUE_MAX) {
        return SK_ETOOBIG;
    }
    uint32_t used = fields_used(m);
    if (used & ~allowed & ~(uint32_t)F_KEY_REQUIRED) {
        return SK_EFRAME;
    }
    if ((allowed & F_KEY_REQUIRED) && m->key_len == 0) {
        return SK_EFRAME;
    }
    if ((m->type == SK_MSG_NAY || m->type == SK_MSG_JOIN || m->type == SK_MSG_JOIN_OK) &&
        m->phase != 1 && m->phase != 2) {
        return SK_EFRAME;
    }
    if ((m->type == SK_MSG_JOIN_OK || m->type == SK_MSG_FETCHED) &&
        (m->status < SK_JOIN_OK || m->status > SK_JOIN_BLANK)) {
        return SK_EFRAME;
    }
    if (m->type == SK_MSG_CLIENT_REQ &&
        (m->op < SK_OP_ACQUIRE || m->op > SK_OP_MAX || m->client == 0 || m->seq == 0 ||
         (SK_OP_IS_ACQUIRE(m->op) && m->token != 0))) {
        return SK_EFRAME; /* no identity, or a fencing token on an acquire */
    }
    if (m->type == SK_MSG_CLIENT_REPLY &&
        (m->status < SK_ST_GRANTED || m->status > SK_ST_QUEUED || m->phase > 1)) {
        return SK_EFRAME;
    }
    if (m->type == SK_MSG_AUTH &&
        (m->phase < 1 || m->phase > 2 || m->status != 1 || m->op < 1 || m->op > 3 ||
         m->value_len != 32)) {
        return SK_EFRAME; /* spec/PROTOCOL.md 11: version 1, role 1..3, a 32-byte value */
    }
    return 0;
}

int sk_msg_encode(const struct sk_msg *m, uint8_t *buf, size_t cap)
{
    int rv = check_fields(m);
    if (rv != 0) {
        return rv;
    }
    size_t body = HDR_LEN + (size_t)m->key_len + m->holder_len + m->text_len + m->value_len;
    if (body > SK_FRAME_MAX) {
        return SK_ETOOBIG;
    }
    if (cap < body + 4) {
        return SK_ENOSPACE;
    }
    uint8_t *p = buf;
    p = sk__put32(p, (uint32_t)body);
    p = sk__put8(p, SK_WIRE_VERSION);
    p = sk__put8(p, m->type);
    p = sk__put8(p, m->phase);
    p = sk__put8(p, m->op);
    p = sk__put8(p, m->status);
    p = sk__put32(p, m->from);
    p = sk__put32(p, m->to);
    p = sk__put64(p, m->seq);
    p = sk__put64(p, m->ballot.round);
    p = sk__put32(p, m->ballot.node);
    p = sk__put64(p, m->other.round);
    p = sk__put32(p, m->other.node);
    p = sk__put64(p, m->token);
    p = sk__put32(p, m->ttl_ms);
    p = sk__put16(p, m->key_len);
    p = sk__put16(p, m->holder_len);
    p = sk__put16(p, m->text_len);
    p = sk__put32(p, m->value_len);
    p = sk__put64(p, m->client);
    p = sk__put32(p, 0); /* reserved */
    if (m->key_len) memcpy(p, m->key, m->key_len);
    p += m->key_len;
    if (m->holder_len) memcpy(p, m->holder, m->holder_len);
    p += m->holder_len;
    if (m->text_len) memcpy(p, m->text, m->text_len);
    p += m->text_len;
    if (m->value_len) memcpy(p, m->value, m->value_len);
    p += m->value_len;
    return (int)(p - buf);
}

int sk_msg_decode(const uint8_t *buf, size_t len, struct sk_msg *m)
{
    if (len < 4) {
        return 0;
    }
    uint32_t body = sk__get32(buf);
    if (body > SK_FRAME_MAX) {
        return SK_ETOOBIG;
    }
    if (body < 2) {
        return SK_ETRUNC;
    }
    if (len < 6) {
        return 0;
    }
    /* Version and type are judged as soon as they arrive, so a peer
     * speaking another protocol is refused without waiting for its body. */
    if (buf[4] != SK_WIRE_VERSION) {
        return SK_EVERSION;
    }
    if (type_fields(buf[5]) == 0) {
        return SK_ETYPE;
    }
    if (body < HDR_LEN) {
        return SK_ETRUNC;
    }
    if (len < (size_t)body + 4) {
        return 0;
    }
    const uint8_t *p = buf + 4;
    memset(m, 0, sizeof *m);
    m->type = p[1];
    m->phase = p[2];
    m->op = p[3];
    m->status = p[4];
    m->from = sk__get32(p + 5);
    m->to = sk__get32(p + 9);
    m->seq = sk__get64(p + 13);
    m->ballot.round = sk__get64(p + 21);
    m->ballot.node = sk__get32(p + 29);
    m->other.round = sk__get64(p + 33);
    m->other.node = sk__get32(p + 41);
    m->token = sk__get64(p + 45);
    m->ttl_ms = sk__get32(p + 53);
    m->key_len = sk__get16(p + 57);
    m->holder_len = sk__get16(p + 59);
    m->text_len = sk__get16(p + 61);
    m->value_len = sk__get32(p + 63);
    m->client = sk__get64(p + 67);
    /* p + 75 .. p + 79 reserved: must be zero */
    if (sk__get32(p + 75) != 0) {
        return SK_EFRAME;
    }
    uint64_t want = (uint64_t)HDR_LEN + m->key_len + m->holder_len + m->text_len + m->value_len;
    if (want != body) {
        return want > body ? SK_ETRUNC : SK_EFRAME;
    }
    const uint8_t *v = p + HDR_LEN;
    m->key = m->key_len ? v : NULL;
    v += m->key_len;
    m->holder = m->holder_len ? v : NULL;
    v += m->holder_len;
    m->text = m->text_len ? v : NULL;
    v += m->text_len;
    m->value = m->value_len ? v : NULL;
    int rv = check_fields(m);
    if (rv != 0) {
        return rv;
    }
    return (int)body + 4;
}
