/* sim.h - a deterministic simulated cluster: virtual clock, one event
 * queue ordered by (time, seq), seeded faults. Drives real sk_node cores.
 *
 * Nothing here reads a clock or an unseeded random source: a run replays
 * exactly from its seed. */
#ifndef SK_SIM_H
#define SK_SIM_H

#include "sk.h"

enum sk_latency_kind {
    SK_LAT_CONST = 0,   /* a ms */
    SK_LAT_UNIFORM = 1, /* a..b ms */
    SK_LAT_EXP = 2,     /* a + exponential with mean b ms */
};

struct sk_link {
    uint8_t kind;
    double a, b;
    double loss;       /* probability a message is dropped */
    double dup;        /* probability a message is delivered twice */
    double reorder;    /* probability a message gets extra delay ... */
    double reorder_ms; /* ... uniform in 0..reorder_ms */
    bool blocked;      /* partitioned: every message dropped */
};

enum sk_sim_ev {
    SK_EV_SEND = 1,     /* node -> peer, msg, msg_id */
    SK_EV_RECV = 2,     /* peer -> node, msg, msg_id */
    SK_EV_DROP = 3,     /* msg_id, text: loss | partition | crashed */
    SK_EV_DUP = 4,      /* msg_id duplicated */
    SK_EV_NOTE = 5,     /* node, note */
    SK_EV_INVOKE = 6,   /* client, node, req */
    SK_EV_COMPLETE = 7, /* client, node, reply (status may be a timeout) */
    SK_EV_FAULT = 8,    /* node (0: links), text */
    SK_EV_PERSIST = 9,  /* node, persist */
    SK_EV_LATE = 10,    /* client, node, reply: an answer that reached its client after
                           the client had stopped waiting for it (ignored by the client) */
    SK_EV_CLIENT_DROP = 11, /* client, node, msg_id = req id, way (1 the request, 2 the
                               answer), text: loss | cut */
};

#define SK_ST_TIMEOUT 100 /* client gave up waiting: outcome unknown */
#define SK_ST_DOWN 101    /* fail-fast clients: the instance was down (connection refused,
                             or reset by a crash with the request in hand): outcome unknown */

struct sk_sim_event {
    uint64_t t;
    uint8_t kind;
    uint32_t node;
    uint32_t peer;
    uint64_t msg_id;
    uint32_t client;
    const struct sk_msg *msg;
    const struct sk_note *note;
    const struct sk_client_req *req;
    const struct sk_reply *reply;
    const struct sk_persist *persist;
    const char *text;
    uint64_t resend_of; /* SK_EV_INVOKE: 0, or the req id of the request's first send */
    uint32_t attempt;   /* SK_EV_INVOKE: 1 for a first send, 2, 3, ... for resends */
    uint8_t way;        /* SK_EV_CLIENT_DROP: enum sk_client_way (one bit) */
};

typedef void (*sk_sim_event_cb)(void *ud, const struct sk_sim_event *ev);

struct sk_sim;

/* Returns owned (free with sk_sim_free), or NULL. */
struct sk_sim *sk_sim_new(uint64_t seed);
void sk_sim_free(struct sk_sim *s);

/* Nodes get ids 1, 2, ... in the order added. cfg->id must be the next id;
 * cfg->name is copied; st must outlive the node (or be replaced). */
int sk_sim_add_node(struct sk_sim *s, const struct sk_config *cfg, const struct sk_strategy *st);
void sk_sim_set_strategy(struct sk_sim *s, uint32_t node, const struct sk_strategy *st);
uint32_t sk_sim_size(const struct sk_sim *s);
/* The running core of a node, or NULL while it is crashed. Borrowed. */
struct sk_node *sk_sim_node(struct sk_sim *s, uint32_t node);

/* Events go to cb (may be NULL). */
void sk_sim_on_event(struct sk_sim *s, sk_sim_event_cb cb, void *ud);

uint64_t sk_sim_now(const struct sk_sim *s);
/* A node's clock: the virtual time plus its skew (what its hooks see as now). */
uint64_t sk_sim_local_now(const struct sk_sim *s, uint32_t node);

/* Links: from/to 0 means every node. Client links use set_client_link. */
void sk_sim_set_link(struct sk_sim *s, uint32_t from, uint32_t to, const struct sk_link *l);
void sk_sim_get_link(const struct sk_sim *s, uint32_t from, uint32_t to, struct sk_link *out);

/* Client links, per (client, instance) and way. A client's request travels
 * on its link to the instance, the answer on the link back. Both start as
 * SK_LAT_CONST at the client latency (1 ms), nothing lost. Latency kinds,
 * loss, reorder (extra delay) and blocked work as for instance links;
 * duplication is not modelled (dup is ignored). A lost or blocked request
 * or answer is an SK_EV_CLIENT_DROP event: the client hears nothing. */
enum sk_client_way {
    SK_CLIENT_REQUESTS = 1, /* client -> instance */
    SK_CLIENT_ANSWERS = 2,  /* instance -> client */
    SK_CLIENT_BOTH = 3,
};
/* Which fields of an sk_link a set changes (the others keep their value). */
enum sk_link_field {
    SK_LINK_LATENCY = 1, /* kind, a, b */
    SK_LINK_LOSS = 2,
    SK_LINK_DUP = 4,
    SK_LINK_REORDER = 8, /* reorder, reorder_ms */
    SK_LINK_BLOCKED = 16,
    SK_LINK_ALL = 31,
};
/* client 0: every client (those to come too); node 0: every instance;
 * ways: enum sk_client_way bits; fields: enum sk_link_field bits. Returns 0,
 * SK_EINVAL (node out of range, no way) or SK_ENOMEM. */
int sk_sim_set_client_link(struct sk_sim *s, uint32_t client, uint32_t node, int ways,
                           const struct sk_link *l, int fields);
/* The link one way (SK_CLIENT_REQUESTS or SK_CLIENT_ANSWERS) between client
 * and node (client 0: what clients without links of their own get). */
void sk_sim_get_client_link(const struct sk_sim *s, uint32_t client, uint32_t node, int way,
                            struct sk_link *out);
/* Every client link (both ways) becomes SK_LAT_CONST at ms; loss and the
 * rest are kept. */
void sk_sim_set_client_latency(struct sk_sim *s, uint64_t ms);

/* Faults, effective now. */
int sk_sim_crash(struct sk_sim *s, uint32_t node);
/* amnesia: the node's store is wiped first; it then rejoins before voting
 * (PROTOCOL.md 7.6). sk_sim_restart_ex with rejoin = false: a blank node
 * votes at once, as the original did (unsafe on purpose). */
int sk_sim_restart(struct sk_sim *s, uint32_t node, bool amnesia);
int sk_sim_restart_ex(struct sk_sim *s, uint32_t node, bool amnesia, bool rejoin);
int sk_sim_pause(struct sk_sim *s, uint32_t node);
int sk_sim_resume(struct sk_sim *s, uint32_t node);
int sk_sim_skew(struct sk_sim *s, uint32_t node, int64_t ms);
bool sk_sim_is_up(const struct sk_sim *s, uint32_t node);
/* Record a fault decided elsewhere (e.g. link changes) in the trace. */
void sk_sim_fault_note(struct sk_sim *s, uint32_t node, const char *text);

/* A client request to `node`, sent now; the answer (or a timeout after
 * timeout_ms) arrives as an SK_EV_COMPLETE event and is queued for
 * sk_sim_next_reply. Borrows req. Returns 0 or SK_E*. Request ids are 1,
 * 2, ... in the order sent (failed calls take none).
 *
 * Once the client stopped waiting (its timeout), the request still travels
 * and runs: a copy on the wire is not recalled. Its answer, if one comes,
 * is an SK_EV_LATE event and is not queued. */
int sk_sim_request(struct sk_sim *s, uint32_t client, uint32_t node,
                   const struct sk_client_req *req, uint64_t timeout_ms);

struct sk_sim_req_opts {
    uint64_t timeout_ms; /* the client stops waiting after this; 0: never */
    uint64_t resend_of;  /* 0, or the id of the first send of this same request (a
                            failover: same client and seq, another attempt) */
    uint32_t attempt;    /* 1 for a first send; 2, 3, ... for resends (0 counts as 1) */
    bool fail_fast;      /* like a real client on TCP: an instance that is down when
                            the request arrives, or that crashes holding it, answers
                            SK_ST_DOWN (refused or reset connection) at once */
};
int sk_sim_request_opts(struct sk_sim *s, uint32_t client, uint32_t node,
                        const struct sk_client_req *req, const struct sk_sim_req_opts *o);

struct sk_sim_reply {
    uint64_t req_id;
    uint32_t client;
    uint32_t node;
    uint8_t status; /* enum sk_status or SK_ST_TIMEOUT */
    uint64_t token;
    uint64_t t;
    bool waited; /* sk_reply.waited: the acquire waited in the lock's queue */
    char holder[SK_HOLDER_MAX + 1];
    char text[SK_TEXT_MAX];
};
/* Pop the oldest unread reply. Returns false when there is none. */
bool sk_sim_next_reply(struct sk_sim *s, struct sk_sim_reply *out);

/* A user timer: sk_sim_run stops when it fires and reports its cookie. */
void sk_sim_at(struct sk_sim *s, uint64_t t, uint64_t cookie);

enum sk_sim_stop {
    SK_SIM_TIME = 0,  /* reached `until` (now == until) */
    SK_SIM_TIMER = 1, /* a user timer fired; *cookie set */
    SK_SIM_REPLY = 2, /* a reply arrived and stop_on_reply was set */
    SK_SIM_IDLE = 3,  /* nothing left to do before `until` (now == until) */
};
int sk_sim_run(struct sk_sim *s, uint64_t until, bool stop_on_reply, uint64_t *cookie);

struct sk_sim_stats {
    uint64_t events, delivered, dropped, duplicated, sent;
};
void sk_sim_stats(const struct sk_sim *s, struct sk_sim_stats *out);

#endif
