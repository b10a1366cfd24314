/* Skinny public C API: the protocol core, its messages and its decisions.
 *
 * libc only. Everything below bindings/ builds against this header; nothing
 * here knows about Lua, sockets or clocks.
 *
 * Ownership words used below: "borrows" (the callee keeps no pointer after the
 * call returns), "takes" (the callee owns it from now on), "returns owned"
 * (the caller frees it with the named function).
 */
#ifndef SK_H
#define SK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- errors */

/* Our codes sit in -9000..-9099, out of the way of errno and libuv codes. */
#define SK_ERRNO_MAP(XX)                                                       \
    XX(EINVAL, -9001, "invalid argument")                                      \
    XX(ENOMEM, -9002, "out of memory")                                         \
    XX(ETRUNC, -9003, "frame truncated")                                       \
    XX(ETOOBIG, -9004, "frame or field too large")                             \
    XX(EVERSION, -9005, "unknown frame version")                               \
    XX(ETYPE, -9006, "unknown message type")                                   \
    XX(EFRAME, -9007, "inconsistent frame")                                    \
    XX(EHOOK, -9008, "strategy hook failed")                                   \
    XX(EBUSY, -9009, "too many requests in flight")                            \
    XX(ENOTFOUND, -9010, "no such node")                                       \
    XX(ECORRUPT, -9011, "stored state corrupt")                                \
    XX(EIO, -9012, "input/output error")                                       \
    XX(ENOSPACE, -9013, "buffer too small")

enum sk_errno {
#define SK__ERR_ENUM(name, val, msg) SK_##name = (val),
    SK_ERRNO_MAP(SK__ERR_ENUM)
#undef SK__ERR_ENUM
};

/* Name ("SK_EINVAL") and message of one of our codes; "SK_UNKNOWN" and
 * "unknown error" for anything else. Returns static strings. */
const char *sk_err_name(int code);
const char *sk_strerror(int code);

#define SK_ERRMSG_LEN 256

/* ---------------------------------------------------------------- limits */

#define SK_MAX_NODES 16
#define SK_KEY_MAX 128      /* lock name bytes */
#define SK_HOLDER_MAX 128   /* holder name bytes */
#define SK_STATE_MAX 4096   /* lock state bytes (what lock scripts see) */
#define SK_VALUE_MAX 8192   /* a register value: the envelope and the lock state */
#define SK_TEXT_MAX 512     /* free text in replies */
#define SK_FRAME_MAX 16384  /* whole frame, length prefix excluded */
#define SK_WIRE_VERSION 2

/* --------------------------------------------------------------- ballots */

/* A ballot is a (round, node) pair compared lexicographically, so two
 * proposers never share one (Paxos Made Simple, section 2.2: "different
 * proposers choose their numbers from disjoint sets"). The zero ballot
 * {0, 0} means "none". Classic mode uses node = 0 on purpose, so ballots can
 * collide as the original's increment IDs did. */
struct sk_ballot {
    uint64_t round;
    uint32_t node;
};

int sk_ballot_cmp(struct sk_ballot a, struct sk_ballot b);
/* For people: "round.node" ("4.3"), or "eE:round.node" ("e1:2.3") when the
 * round is in epoch E > 0 (PROTOCOL.md 6: the high 32 bits of a round are its
 * epoch, the low 32 bits shown after it). Writes at most len bytes, NUL
 * included; returns buf. */
#define SK_BALLOT_STR_MAX 40
char *sk_ballot_str(struct sk_ballot b, char *buf, size_t len);
bool sk_ballot_is_zero(struct sk_ballot b);
/* Fencing token of a ballot: round << 8 | node. Strictly increasing with
 * the ballot order while node < 256. */
uint64_t sk_ballot_token(struct sk_ballot b);

/* -------------------------------------------------------------- messages */

enum sk_msg_type {
    /* between instances */
    SK_MSG_PREPARE = 1,  /* phase 1a: ballot, key */
    SK_MSG_PROMISE = 2,  /* phase 1b: ballot, accepted ballot (other), key, value */
    SK_MSG_NAY = 3,      /* refusal: phase, ballot, promised ballot (other), key */
    SK_MSG_ACCEPT = 4,   /* phase 2a: ballot, key, value; other: next ballot to promise too, or zero */
    SK_MSG_ACCEPTED = 5, /* phase 2b: ballot, key; other: the next ballot it promised too, or zero */
    /* an instance that lost its state rejoining (PROTOCOL.md 7.6) */
    SK_MSG_JOIN = 6,     /* phase 1: "your highest epoch?"; phase 2: announce epoch ballot.round */
    SK_MSG_JOIN_OK = 7,  /* phase, status (sk_join_status), ballot.round: the peer's highest epoch */
    SK_MSG_FETCH = 8,    /* key, ballot: the rejoined instance's fence */
    SK_MSG_FETCHED = 9,  /* status, key, ballot: promised (>= the fence), other: accepted, value */
    /* client <-> instance */
    SK_MSG_CLIENT_REQ = 16,   /* client, seq, op, ttl_ms, token (release/renew: fence), key, holder */
    SK_MSG_CLIENT_REPLY = 17, /* client, seq, status, token, key, holder, text */
    SK_MSG_STATUS_REQ = 18,   /* req_id, key (empty: all locks) */
    SK_MSG_STATUS_REPLY = 19, /* req_id, ballot (promised), other (accepted), key, value, text (a
                                 row: the state's description; the closing frame: node name) */
    SK_MSG_CONTROL = 20,      /* req_id, op (control op), ttl_ms (delay ms), key (peer name), text (argument) */
    SK_MSG_AUTH = 21,         /* the authentication handshake (PROTOCOL.md 11): phase 1 hello, 2 proof;
                               * status: auth version 1; op: role 1..3; from, to; value: 32 bytes */
};

enum sk_join_status {
    SK_JOIN_OK = 1,      /* a member: done (phase 2: the epoch is recorded) */
    SK_JOIN_NEWER = 2,   /* a member whose highest epoch is not below the one announced */
    SK_JOIN_BLANK = 3,   /* not a member yet (rejoining too), or the key is not caught up */
};

enum sk_op {
    SK_OP_ACQUIRE = 1,
    SK_OP_RELEASE = 2,
    SK_OP_RENEW = 3,
    SK_OP_ACQUIRE_SHARED = 4, /* an acquire asking for a shared hold (a reader); the lock
                                 script decides what that means, the C default treats it
                                 as an exclusive acquire */
    /* Not on the wire: a copy of a request whose answer was QUEUED (the same
     * identity, sent again to ask "is it my turn?") reaches the lock's apply
     * as this op (spec/PROTOCOL.md 7.4, "Waiting"). */
    SK_OP_WAIT = 15,
};
#define SK_OP_MAX SK_OP_ACQUIRE_SHARED
/* True for both kinds of acquire (on the wire; not SK_OP_WAIT). */
#define SK_OP_IS_ACQUIRE(op) ((op) == SK_OP_ACQUIRE || (op) == SK_OP_ACQUIRE_SHARED)

/* Lock parameters (spec/HOOKS.md, "ctx"): plain key/value pairs from the lab
 * or the daemon's config, handed to the lock script as ctx.params. The core
 * never reads them; they travel from a config to the Lua strategy binding. */
#define SK_PARAMS_MAX 16
#define SK_PARAM_KEY_MAX 32
#define SK_PARAM_STR_MAX 128
enum sk_param_type { SK_PARAM_INT = 1, SK_PARAM_STR = 2, SK_PARAM_BOOL = 3 };
struct sk_param {
    char key[SK_PARAM_KEY_MAX + 1];
    uint8_t type;                  /* enum sk_param_type */
    int64_t i;                     /* SK_PARAM_INT, and SK_PARAM_BOOL (0 or 1) */
    char s[SK_PARAM_STR_MAX + 1];  /* SK_PARAM_STR */
};
struct sk_params {
    uint32_t n;
    struct sk_param p[SK_PARAMS_MAX];
};

enum sk_status {
    SK_ST_GRANTED = 1,     /* acquire or renew took effect; token set */
    SK_ST_REFUSED = 2,     /* held by someone else; holder set */
    SK_ST_RELEASED = 3,    /* release took effect */
    SK_ST_NOT_HOLDER = 4,  /* release or renew by someone who does not hold it */
    SK_ST_CONTENDED = 5,   /* gave up after conflicts: outcome unknown */
    SK_ST_UNAVAILABLE = 6, /* no majority answered in time: outcome unknown */
    SK_ST_ERROR = 7,       /* a hook failed: text says which script and line */
    SK_ST_STALE = 8,       /* a newer request of this holder was applied (or this one is
                              older than the register remembers): this request changed
                              nothing now and never will; whether an earlier copy of it
                              took effect is unknown */
    SK_ST_QUEUED = 9,      /* the acquire waits in the lock's queue (token: its place, 1 =
                              next); it took effect, its outcome comes later: send the same
                              request again (same identity) to hear granted, queued or
                              refused (PROTOCOL.md 7.4, "Waiting") */
};

const char *sk_op_name(int op);
const char *sk_status_name(int status);
/* True when the status says the operation certainly did / did not happen.
 * QUEUED is neither definite nor settled: the request took effect (it joined
 * the queue) but its outcome is still to come. */
bool sk_status_is_definite(int status);
/* True when no copy of the request can take effect any more (definite
 * statuses and STALE): a client may stop retrying it. */
bool sk_status_is_settled(int status);

/* One decoded frame. Pointers borrow from the buffer that was decoded (or
 * from whoever filled the struct for encoding). Fields a type does not use
 * are zero / empty; the decoder refuses frames where they are not. */
struct sk_msg {
    uint8_t type;
    uint8_t phase;  /* NAY: 1 or 2; CLIENT_REPLY: 1 when the acquire waited in the lock's
                       queue before this answer (sk_reply.waited), else 0 */
    uint8_t op;     /* CLIENT_REQ: enum sk_op; CONTROL: control op */
    uint8_t status; /* CLIENT_REPLY: enum sk_status */
    uint32_t from;  /* node ids; 0 for clients */
    uint32_t to;
    uint64_t seq;   /* proposer attempt id (peer msgs); client msgs: the request's
                       sequence number (CLIENT_REQ/REPLY: its identity with client) */
    struct sk_ballot ballot;
    struct sk_ballot other;
    uint64_t token;  /* CLIENT_REPLY */
    uint32_t ttl_ms; /* CLIENT_REQ, CONTROL */
    uint64_t client; /* CLIENT_REQ, CLIENT_REPLY: the client's id (non-zero) */
    const uint8_t *key;
    uint32_t key_len;
    const uint8_t *holder;
    uint32_t holder_len;
    const uint8_t *value;
    uint32_t value_len;
    const uint8_t *text;
    uint32_t text_len;
};

/* Encode m as one frame (4-byte big-endian length prefix included) into
 * buf. Returns the frame's total size, or SK_ETOOBIG / SK_ENOSPACE /
 * SK_EINVAL. Borrows everything. */
int sk_msg_encode(const struct sk_msg *m, uint8_t *buf, size_t cap);
/* Decode the frame at buf[0..len). On success returns the number of bytes
 * consumed (prefix included) and fills m with pointers into buf. Returns 0
 * when more bytes are needed (len shorter than the prefix says), or a
 * negative SK_E* code for a frame that must be refused. */
int sk_msg_decode(const uint8_t *buf, size_t len, struct sk_msg *m);
const char *sk_msg_type_name(int type);

/* ------------------------------------------------------------ lock state */

/* Lock state travels as opaque bytes. Skinny's own scripts and the C
 * defaults write them in the "sk value" encoding below, so a Lua table and
 * the C default see the same state; the core never looks inside.
 *
 * A value is one tagged item:
 *   'n'                       nil
 *   't' / 'f'                 true / false
 *   'i' zigzag-varint         64-bit integer
 *   'd' 8 bytes big-endian    IEEE-754 double
 *   's' varint len, bytes     string
 *   'm' varint count, count x (key item, value item)   table, keys sorted
 * Empty bytes mean "no state yet" (a free lock). */
struct sk_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
};

/* A reader over an encoded value; see value.c for the helpers. */
struct sk_value_field {
    const char *name; /* borrowed, not NUL-terminated */
    size_t name_len;
    char tag;         /* 's', 'i', 't', 'f', 'd', 'm', 'n' */
    int64_t i;
    double d;
    const uint8_t *s; /* string bytes or nested encoding */
    size_t s_len;
};

/* Find the string-keyed field `name` in the top-level table of an encoded
 * value. Returns 1 and fills f when found, 0 when absent, SK_EFRAME when the
 * encoding is broken. */
int sk_value_get(const uint8_t *v, size_t len, const char *name, struct sk_value_field *f);
/* Check that v is a lock state: empty (free), or one table that is plain
 * data as a Lua table can hold it: keys strings or integers, in increasing
 * order (integers first, then strings bytewise) and each once; no nil
 * values; tables nested at most 16 deep; varints of at most 64 bits; no
 * bytes left over. The Lua reader (bindings/lua_value.c) accepts exactly
 * these, so both readers agree (spec/HOOKS.md, "Lock state is data").
 * Returns 0, or SK_EFRAME with the reason and byte offset in why (which
 * may be NULL). */
int sk_value_check(const uint8_t *v, size_t len, char *why, size_t whylen);
/* sk_value_check without the reason. */
int sk_value_validate(const uint8_t *v, size_t len);

/* A tiny writer for flat tables with string keys (enough for the C
 * defaults). Fields must be added in sorted key order. */
struct sk_value_writer {
    uint8_t *buf;
    size_t cap;
    size_t len;
    size_t count_pos;
    uint32_t count;
    int err;
};
void sk_value_begin(struct sk_value_writer *w, uint8_t *buf, size_t cap);
void sk_value_put_str(struct sk_value_writer *w, const char *key, const uint8_t *s, size_t len);
void sk_value_put_int(struct sk_value_writer *w, const char *key, int64_t i);
/* Returns the encoded length, or a negative SK_E* code. */
int sk_value_end(struct sk_value_writer *w);

/* A lock state as JSON, for people and tools: tables are objects with
 * string keys (the integer key 3 becomes "3"), NaN and infinities null,
 * strings escaped so that the text is valid JSON whatever their bytes (a
 * byte that is not part of valid UTF-8 becomes \u00XX). Empty bytes (free)
 * are null. The text goes out through put(ud, bytes, n), which returns 0 or
 * an error that stops the writing. Returns 0, SK_EFRAME (nothing written)
 * when v is not a lock state (sk_value_check), or put's error. */
typedef int (*sk_put_fn)(void *ud, const void *p, size_t n);
int sk_value_json(const uint8_t *v, size_t len, sk_put_fn put, void *ud);
/* One string as a JSON string (quotes included), escaped as above. */
int sk_json_string(const uint8_t *s, size_t n, sk_put_fn put, void *ud);
/* sk_value_json into buf (cap bytes, always NUL-terminated): returns 0,
 * SK_EFRAME (buf empty), or SK_ENOSPACE with the text cut at cap - 1. */
int sk_value_json_text(const uint8_t *v, size_t len, char *buf, size_t cap);

/* A register's value is an envelope around the lock state: the sessions
 * table, then the lock state (spec/PROTOCOL.md 9.1; values of version 1,
 * tagged 'K', are still read for their lock state). Empty bytes mean no
 * value. Returns 0 and points *state at the lock state, or SK_EFRAME for a
 * value that is not an envelope. */
int sk_value_state(const uint8_t *v, size_t len, const uint8_t **state, size_t *state_len);
/* Check a whole register value: the envelope, then its lock state with
 * sk_value_check. An acceptor stores only values that pass (a peer's ACCEPT
 * or FETCHED carrying anything else is refused). Returns 0, or SK_EFRAME
 * with the reason in why (may be NULL). */
int sk_register_value_check(const uint8_t *v, size_t len, char *why, size_t whylen);

/* ------------------------------------------------------------ strategies */

struct sk_rng {
    uint64_t state;
};
uint64_t sk_rng_next(struct sk_rng *r);  /* splitmix64 */
double sk_rng_unit(struct sk_rng *r);    /* [0, 1) */

/* What every hook gets: who and when. errmsg is where a failing hook says
 * what went wrong (script, line and reason). */
struct sk_hook_ctx {
    uint32_t node_id;
    const char *node_name;
    uint32_t cluster_size;
    uint64_t now_ms;
    struct sk_rng *rng;
    const uint8_t *key;
    size_t key_len;
    char errmsg[SK_ERRMSG_LEN];
};

/* What next_ballot knows. */
struct sk_ballot_info {
    uint32_t attempt;           /* 1 for the first attempt of a request */
    struct sk_ballot last;      /* this proposer's previous ballot for the key */
    struct sk_ballot promised;  /* this instance's own acceptor promise for the key */
    struct sk_ballot highest;   /* highest ballot seen in any nay or promise for the key */
    uint32_t increment;         /* classic mode: this instance's configured increment */
};

/* Check the ballot next_ballot returned (runtime/core/node.c): outside
 * classic mode it must carry `self`, exceed info->last and info->promised,
 * and open no epoch past the highest ballot seen; never the zero ballot.
 * Returns 0, or SK_EINVAL with the reason ("returned ballot ...") in why. */
/* The rules for waiting (PROTOCOL.md 7.4), checked on every apply_lock
 * result (runtime/core/node.c) and by the Lua binding, which adds the
 * script's line: QUEUED answers only an acquire or a wait (SK_OP_WAIT), with
 * a place >= 1; a wait hears only GRANTED, QUEUED or REFUSED. Returns 0, or
 * SK_EINVAL with the reason ("answered ...") in why. */
int sk_lock_answer_check(uint8_t op, uint8_t status, uint64_t place, char *why, size_t whylen);

int sk_ballot_check(const struct sk_ballot_info *info, struct sk_ballot b, uint32_t self,
                    bool classic, char *why, size_t whylen);

/* One promise as pick_value sees it. */
struct sk_promise_view {
    uint32_t from;
    struct sk_ballot accepted;
    const uint8_t *value;
    size_t value_len;
};

enum sk_verdict { SK_WAIT = 0, SK_PROCEED = 1, SK_FAIL = 2 };

/* A client operation. (client, seq) is its identity, chosen by the client
 * and kept unchanged on every retry and on every instance it is sent to;
 * both must be non-zero. A holder's requests are ordered by (seq, client):
 * a register applies a request at most once and never after a later one of
 * the same holder (spec/PROTOCOL.md section 7.4). req_id is the driver's own
 * handle for the reply and means nothing to the register. */
struct sk_client_req {
    uint64_t req_id;
    uint8_t op;         /* enum sk_op */
    uint32_t ttl_ms;    /* leases; 0: none */
    const uint8_t *key; /* borrowed */
    uint32_t key_len;
    const uint8_t *holder;
    uint32_t holder_len;
    uint64_t client;    /* the client's id */
    uint64_t seq;       /* grows with every new request of the client */
    uint64_t fence;     /* release/renew: the token of the grant it ends; 0: none */
};

struct sk_lock_reply {
    uint8_t status; /* GRANTED, REFUSED, RELEASED, NOT_HOLDER; QUEUED for an acquire or
                       a WAIT (then token is the place in the queue, >= 1) */
    char holder[SK_HOLDER_MAX + 1];
    uint64_t token; /* for GRANTED: may be left 0, the core fills the ballot's token */
    char text[SK_TEXT_MAX];
};

/* The decisions a student may change. Every hook returns 0, or SK_EHOOK
 * with ctx->errmsg filled; a failing hook fails that one attempt only.
 * A NULL hook means the C default. Hooks are pure functions of their
 * arguments, ctx->now_ms and ctx->rng. */
struct sk_strategy {
    void *ud;
    int (*next_ballot)(void *ud, struct sk_hook_ctx *ctx, const struct sk_ballot_info *info,
                       struct sk_ballot *out);
    /* phase 1 or 2; yeas/nays so far out of cluster_size; timed_out when
     * the phase deadline passed. Sets *verdict. */
    int (*enough)(void *ud, struct sk_hook_ctx *ctx, int phase, uint32_t yeas, uint32_t nays,
                  bool timed_out, int *verdict);
    /* Choose which promise's value to carry forward: index into p, or -1
     * for "no value yet" (free lock). */
    int (*pick_value)(void *ud, struct sk_hook_ctx *ctx, const struct sk_promise_view *p,
                      size_t count, int *index);
    /* May this attempt skip phase 1? Only honoured when the core still
     * holds a majority promise for the ballot (see proposer.c). */
    int (*skip_phase1)(void *ud, struct sk_hook_ctx *ctx, bool *skip);
    /* Thrifty: send each phase's PREPARE or ACCEPT only to a majority (this
     * instance and the peers that answered fastest before), and to the rest
     * when no verdict came within *fill_ms or a nay arrived. *fill_ms = 0
     * (the default): send to every instance at once. */
    int (*thrifty)(void *ud, struct sk_hook_ctx *ctx, uint64_t *fill_ms);
    /* Delay before attempt `attempt` (>= 2), or give up. why: "nay" or "timeout". */
    int (*backoff)(void *ud, struct sk_hook_ctx *ctx, uint32_t attempt, const char *why,
                   uint64_t *delay_ms, bool *give_up);
    /* The lock semantics: from the current state (may be empty) and the
     * request, the new state (written into out, at most out->cap bytes) and
     * the reply. ballot is the ballot this change will be committed at. */
    int (*apply_lock)(void *ud, struct sk_hook_ctx *ctx, const uint8_t *state, size_t state_len,
                      const struct sk_client_req *req, struct sk_ballot ballot,
                      struct sk_buf *out, struct sk_lock_reply *reply);
    /* For people: a short text saying what lock state `state` (empty: free)
     * means, written into out (cap bytes, NUL included; status tables pass
     * SK_DESCRIBE_MAX): "free", "held by beaver (token 257)", "2 of 3
     * permits: beaver, otter". Changes nothing; called for status tables and
     * traces, never on the request path. Use sk_describe to call it. */
    int (*describe_lock)(void *ud, struct sk_hook_ctx *ctx, const uint8_t *state, size_t len,
                         char *out, size_t cap);
};

/* The C defaults: correct Paxos, jittered exponential backoff, advisory
 * locks with owner-checked release. */
extern const struct sk_strategy sk_strategy_default;

/* A description of a lock state fits a STATUS_REPLY's text. */
#define SK_DESCRIBE_MAX SK_TEXT_MAX

/* Describe register value v (an envelope, or empty: free) for people, with
 * st's describe_lock (NULL: the default's) on the lock state inside. Always
 * writes a NUL-terminated text into out (cap bytes). When the hook fails,
 * the default's description followed by " (describe failed: <why>)"; when
 * v is not a register value or its state is not data, "unreadable value:
 * <why>". Returns 0, or SK_EHOOK / SK_EFRAME when out says what went wrong
 * instead. ctx->key names the lock; ctx->errmsg is overwritten. */
int sk_describe(const struct sk_strategy *st, struct sk_hook_ctx *ctx, const uint8_t *v,
                size_t len, char *out, size_t cap);

/* -------------------------------------------------------------- the node */

/* Classic mode switches: each reproduces one flaw of the original Skinny
 * (spec/PROTOCOL.md 7.5). All off means correct. */
enum sk_classic_flag {
    SK_CLASSIC_ANSWER_LOCAL = 1u << 0,  /* F1: answer the client whatever phase 2 said */
    SK_CLASSIC_NO_RAISE = 1u << 1,      /* F2: accept does not raise the promise */
    SK_CLASSIC_NO_PERSIST = 1u << 2,    /* F3: no durable state (no persist actions) */
    SK_CLASSIC_ACK_REJECTED = 1u << 3,  /* F5: acknowledge a rejected accept */
    SK_CLASSIC_NO_IDENTITY = 1u << 4,   /* no request identity: every copy of a request is
                                           applied as new (a late copy can undo a later
                                           request; the original had no identity at all) */
};

struct sk_config {
    uint32_t id;             /* 1..cluster_size */
    const char *name;        /* borrowed for the node's life */
    uint32_t cluster_size;   /* instances are 1..cluster_size */
    uint64_t phase_timeout_ms;
    uint32_t increment;      /* classic ballots; 0 means id */
    uint32_t classic;        /* enum sk_classic_flag bits */
    uint32_t max_inflight;   /* queued client requests; 0 means 1024 */
    uint64_t seed;           /* for the node's rng */
    /* Start blank: unless sk_node_restore loads state that says this
     * instance is a member (a node record, or any register), it rejoins
     * (PROTOCOL.md 7.6) and votes only once it has caught up. false: a
     * member from the start (a new cluster's first start; or, unsafe, a
     * blank instance voting at once as the original did). */
    bool rejoin;
};

/* A persisted acceptor register: what must be durable before the
 * messages of the same batch are sent. A record with key_len 0 is the
 * node record (no register has an empty key): promised is the fence of the
 * instance's last rejoin (zero if none), accepted.round the highest epoch
 * it has seen or acknowledged, accepted.node 1 for a member. */
struct sk_persist {
    const uint8_t *key;
    uint32_t key_len;
    struct sk_ballot promised;
    struct sk_ballot accepted;
    const uint8_t *value;
    uint32_t value_len;
};

struct sk_send {
    uint32_t to;
    const uint8_t *frame; /* encoded, prefix included */
    uint32_t len;
};

struct sk_reply {
    uint64_t req_id;
    uint8_t status;
    uint64_t token;
    const uint8_t *key;
    uint32_t key_len;
    const char *holder;
    const char *text;
    struct sk_ballot ballot; /* the ballot that decided it (zero if none) */
    bool waited;             /* the answer (granted, refused or queued) is to a wait: the
                                acquire had joined the lock's queue before it, even if the
                                client never heard that answer (PROTOCOL.md 7.4) */
};

/* Things worth a trace line that are not messages. */
enum sk_note_kind {
    SK_NOTE_PROMISED = 1, /* acceptor promised ballot */
    SK_NOTE_ACCEPTED = 2, /* acceptor accepted ballot, value */
    SK_NOTE_REFUSED = 3,  /* acceptor sent a nay */
    SK_NOTE_DECIDED = 4,  /* proposer got a majority of accepts: value chosen at ballot */
    SK_NOTE_ATTEMPT = 5,  /* proposer starts an attempt at ballot */
    SK_NOTE_CONFLICT = 6, /* proposer's attempt failed (text: why) */
    SK_NOTE_HOOK_ERROR = 7,
    SK_NOTE_BACKOFF = 8,  /* proposer waits (ballot.round = delay ms) */
    SK_NOTE_REJOIN = 9,   /* rejoining after state loss: a step (text), ballot: the fence */
    SK_NOTE_FETCH = 10,   /* a rejoined instance caught up one register (key, ballot: promised) */
};

struct sk_note {
    uint8_t kind;
    const uint8_t *key;
    uint32_t key_len;
    struct sk_ballot ballot;
    const uint8_t *value;
    uint32_t value_len;
    uint64_t req_id;
    uint32_t phase;
    const char *text;
};

/* One batch of work the driver must do, in this order: make every persist
 * durable, then send and reply. Everything is borrowed until
 * sk_node_advance(). */
struct sk_actions {
    const struct sk_persist *persist;
    size_t n_persist;
    const struct sk_send *send;
    size_t n_send;
    const struct sk_reply *reply;
    size_t n_reply;
    const struct sk_note *note;
    size_t n_note;
    uint64_t wakeup_ms; /* call sk_node_tick at this time; UINT64_MAX: none */
};

struct sk_node;

/* Returns owned (free with sk_node_free), or NULL when out of memory.
 * Borrows cfg (copies it) and st (the table must outlive the node). */
struct sk_node *sk_node_new(const struct sk_config *cfg, const struct sk_strategy *st,
                            uint64_t now_ms);
void sk_node_free(struct sk_node *n);

/* Load one durable register (or the node record) before any step. */
int sk_node_restore(struct sk_node *n, const struct sk_persist *p);

/* Inputs. Each may queue actions. Time is an input: the core never reads a
 * clock. */
int sk_node_recv(struct sk_node *n, const struct sk_msg *m, uint64_t now_ms);
void sk_node_tick(struct sk_node *n, uint64_t now_ms);
int sk_node_request(struct sk_node *n, const struct sk_client_req *r, uint64_t now_ms);

/* Swap the strategy (script reload). In-flight attempts keep going with the
 * new one. */
void sk_node_set_strategy(struct sk_node *n, const struct sk_strategy *st);

/* Outputs. Returns false when there is nothing to do. */
bool sk_node_actions(struct sk_node *n, struct sk_actions *out);
void sk_node_advance(struct sk_node *n);

/* Read-only view of the acceptor state, for status tables. */
struct sk_register_view {
    const uint8_t *key;
    uint32_t key_len;
    struct sk_ballot promised;
    struct sk_ballot accepted;
    const uint8_t *value;
    uint32_t value_len;
};
/* Iterate: *cursor starts at 0; returns false at the end. */
bool sk_node_registers(const struct sk_node *n, size_t *cursor, struct sk_register_view *out);
/* The node record as it should be stored (see struct sk_persist). */
void sk_node_record(const struct sk_node *n, struct sk_persist *out);
/* Rejoin state, for status tables: false while rejoining after state loss. */
bool sk_node_is_member(const struct sk_node *n);
bool sk_node_register(const struct sk_node *n, const uint8_t *key, uint32_t key_len,
                      struct sk_register_view *out);
const char *sk_node_errmsg(const struct sk_node *n);
uint32_t sk_node_id(const struct sk_node *n);
/* Counters since creation. */
struct sk_node_stats {
    uint64_t attempts, decisions, nays, timeouts, hook_errors, msgs_sent;
};
void sk_node_stats(const struct sk_node *n, struct sk_node_stats *out);

/* ------------------------------------------------- clones and digests */

/* For searching a node's states (runtime/explore/): copy a node, and name
 * its state by a digest.
 *
 * Both are only defined between inputs: after sk_node_advance (or before the
 * first sk_node_actions) and before the next sk_node_recv / sk_node_tick /
 * sk_node_request, with no batch pending (sk_node_actions would return
 * false apart from the node record of a new member, which is state and is
 * copied and digested as such).
 *
 * sk_node_clone returns owned (sk_node_free) a deep copy that, fed the same
 * inputs at the same times, produces byte-identical batches to the original
 * from then on: registers, their request queues, the active attempts with
 * their promises and values, the fast and last ballots, the rejoin state,
 * the rng, the clock, the stats and the last error message are copied. The
 * strategy table is shared, not copied: hooks are pure functions of their
 * arguments, ctx->now_ms and ctx->rng (see struct sk_strategy), so two
 * nodes may call the same table. Scratch space is not copied (a clone
 * allocates it at its first input). Returns NULL when out of memory, or
 * when a batch is pending or an input is under way.
 *
 * sk_node_digest writes a 128-bit digest (SK_DIGEST_LEN bytes) of the
 * node's canonical state: everything that can change what the node does
 * next. Two nodes with equal digests and the same strategy table produce
 * the same batches when each is given the same inputs at the same offsets
 * from its own clock: times in inputs (now_ms) and in outputs (wakeup_ms)
 * read relative to the node's last time, not as absolute values. So the
 * digest does not contain the clock itself: each timer (a phase deadline, a
 * backoff, a thrifty fill-in, a rejoin or fetch resend) is digested as its
 * distance from the clock, and a timer already due as 0 (every due timer
 * fires at the next tick whatever its age). This is sound for strategies
 * that read ctx->now_ms only as differences (the C defaults never read
 * it); a lock script that stores absolute times in lock state (leases) is
 * not covered: include the clock yourself (sk_node_now) for those.
 *
 * Left out, because they cannot change behaviour: the stats counters, the
 * last error message, the register table's size and slot order (registers
 * are digested in key order), allocation addresses and capacities, the
 * arena of consumed batches, scratch space, and what a phase no longer
 * reads (an attempt's promises outside phase 1, its new value and lock
 * answer outside phase 2, its vote counts while backing off, a fast value
 * without a fast ballot, a register's fetch progress when not fetching).
 * A register that exists but holds nothing (no promise, no accepted value,
 * no ballots, no requests, not fetching) digests like one never created,
 * since it would be created exactly so. Left in: the configuration that
 * acts after creation (id, name, cluster size, phase timeout, increment,
 * classic flags, max in flight), the rng state, the attempt counter whose
 * ids go out on the wire, and the order of the active attempts and of the
 * registers being fetched (a tick walks them in that order).
 *
 * Why 128 bits: a search compares digests only, so a collision would
 * silently merge two states; at 10^9 states the chance of one is about
 * 10^18 / 2^129, negligible, and the visited set stays at 16 bytes per
 * state. The hash is not cryptographic (runtime/core/digest.c). */
#define SK_DIGEST_LEN 16
struct sk_node *sk_node_clone(const struct sk_node *n);
void sk_node_digest(const struct sk_node *n, uint8_t out[SK_DIGEST_LEN]);
/* Free the scratch space and batch buffers of a node between inputs (as
 * for sk_node_clone; with a batch pending it does nothing), to keep many
 * idle nodes small; the next input allocates them again. Changes no
 * state. */
void sk_node_trim(struct sk_node *n);
/* The node's clock: the latest now_ms it was given. */
uint64_t sk_node_now(const struct sk_node *n);

/* The streaming hash behind sk_node_digest, for digests of larger states
 * (a searched cluster). Feed words and byte strings; a byte string is
 * length-prefixed, so the boundaries count. */
struct sk_hasher {
    uint64_t a, b, words;
};
void sk_hash_init(struct sk_hasher *h);
void sk_hash_u64(struct sk_hasher *h, uint64_t w);
void sk_hash_bytes(struct sk_hasher *h, const void *p, size_t len);
void sk_hash_final(const struct sk_hasher *h, uint8_t out[SK_DIGEST_LEN]);

/* Allocation hooks, so tests can count and fail allocations. */
struct sk_allocator {
    void *(*malloc)(size_t size);
    void *(*realloc)(void *p, size_t size);
    void (*free)(void *p);
};
void sk_set_allocator(const struct sk_allocator *a); /* NULL restores libc */

#endif
