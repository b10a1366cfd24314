/* explore.h - exhaustive exploration of a small cluster: breadth-first
 * search over the states of real sk_node cores, with state hashing.
 *
 * Design note
 * ===========
 *
 * A configuration is
 *   - N nodes (3 by default), each a real core (struct sk_node) running one
 *     strategy table (NULL: the C defaults), members from the start, no
 *     durable-state faults;
 *   - the messages in flight: a multiset of encoded frames, each addressed
 *     to a node (what the nodes' batches sent; a node's messages to itself
 *     are delivered inside the core before an input returns, so they are
 *     not interleaved);
 *   - each client's progress: clients send their operations (acquire,
 *     release) one after the other, each to one chosen node, the next only
 *     once the previous one was answered; every answer is recorded;
 *   - the fault budget used: messages dropped (at most max_drops) and
 *     duplicated (at most max_dups).
 *
 * The transitions out of a configuration are every one of
 *   - deliver one message in flight (any of them: this is the
 *     interleaving, and reordering comes with it);
 *   - drop one message (while the budget lasts);
 *   - duplicate one message (idem);
 *   - send a client's next operation to its node;
 *   - fire a node's timer: the node's clock jumps to its wakeup and it is
 *     ticked. Time is abstract: each node has its own clock, which moves
 *     only when its timer fires, so a timeout may come at any point of the
 *     interleaving, as an asynchronous network allows. Safety must hold for
 *     all of them; what timing would forbid (two clocks far apart, a
 *     timeout before a message an hour old) is explored too: a superset of
 *     real runs, which is the right side to err on for safety, and the
 *     wrong one for leases (which the explorer does not check).
 *   Only whole jumps to the wakeup are explored, not time passing part of
 *   the way: a node's timers then keep their order. With one lock a node
 *   has one timer at a time (its request's deadline, or backoff), so
 *   nothing is lost; with several locks on one node, orders of their
 *   timers other than by deadline would not be explored.
 * The batches a step produces are folded back in: sends join the messages
 * in flight, replies are recorded for their client, persist records and
 * notes are dropped (no crash is explored, so durability is not at stake),
 * the wakeup is kept for the timer transition.
 *
 * The digest of a configuration hashes (128 bits, sk_hasher) the nodes'
 * digests in id order (sk_node_digest: canonical, timers relative to each
 * node's clock, stats left out), the sorted multiset of frames in flight
 * (frames are interned: equal bytes to the same node, same id), every
 * client's progress and answers, and the budget used. Two configurations
 * with one digest have the same future, so the second is not expanded. The
 * search keeps a set of digests, and for each distinct configuration its
 * parent and the step that reached it (for the path); configurations
 * themselves are kept only on the BFS frontier (the last level allowed by
 * the depth bound is checked, not kept), and their nodes are shared:
 * a step clones only the node it touches, and node states with one digest
 * are stored once (a node table keyed by node digest, refcounted).
 *
 * Invariant, on every configuration reached: no two clients hold the lock
 * at once. A client holds it from a GRANTED answer to an acquire until it
 * sends a release (not until the release is answered: from the send, the
 * lock may be granted again). With two acquires and no release: at most one
 * GRANTED. A violation stops the search and returns the path from the
 * initial configuration: BFS makes it a shortest one.
 *
 * Loss adds no violation of this invariant that delay does not already
 * give: a dropped message is one never delivered, and no transition ever
 * forces a delivery, so every node and client state reachable with drops is
 * reachable without them (the message still in flight), and the invariant
 * reads only node and client states. Drops are explored anyway, as the
 * budget asks; they cost search time, not coverage. Duplication does add
 * behaviour (a frame delivered twice).
 *
 * Histories: with a checker (cfg.check), every configuration a client
 * answer arrives in, and every one where the search ends (no step enabled,
 * or the depth bound), has its clients' history checked: the
 * linearizability and fencing checkers of a run, as invariants. A configuration carries the order of its
 * client events, but the digest leaves it out (the order does not change
 * the future), so of two paths to one configuration whose client events
 * came in different orders, only the first one's history is checked: the
 * history check covers every configuration, not every order of events.
 * (Putting the order in the digest would make it exact, at up to
 * (2k)!/(k!)^2 times the states for k events per client.)
 *
 * Bounds: a depth (steps from the initial configuration) and a number of
 * distinct configurations. Reaching either is reported (bound_hit), and a
 * clean result is then "no violation within these bounds", not a proof.
 * Without timers the default space is finite; with timers it is too with the
 * C defaults (a proposer gives up after 8 attempts), but large.
 *
 * Faults beyond the network, each with its own budget:
 *   - failover (max_failovers): a client whose current request has no
 *     answer yet, or only an indefinite one (contended, unavailable), sends
 *     the same request (same identity: client id and sequence number) to
 *     another node, as skinnyctl and the lab clients do. The first answer
 *     heard is the answer, unless it was indefinite: then a later one
 *     replaces it. A client moves on after any answer.
 *   - a crash with state (max_crashes): a node stops and starts again at
 *     once from what it had made durable. The core asks for every register
 *     change to be durable before the batch's messages are sent, and a step
 *     here applies a whole batch, so the durable state between steps is the
 *     node's registers and node record (nothing under classic NO_PERSIST).
 *     Requests it held are lost (their clients may fail over); messages in
 *     flight to it stay in flight and reach the new incarnation.
 *   - a crash with state lost (max_wipes): the node starts blank and rejoins
 *     (PROTOCOL.md 7.6) before it votes; with blank_votes, it votes at once
 *     as the original did (unsafe, to show why).
 *   Down time is not a separate state: a node down for a while is a node
 *   whose messages are delayed (or dropped), which the interleavings hold.
 *
 * Not explored: partitions as such (a partition is a set of drops), leases
 * and clock skew, more than one lock, waiting (queued answers). No symmetry reduction: node
 * ids are in the ballots and clients are tied to nodes, so swapping nodes
 * or clients is not obviously a symmetry of the state; none is claimed.
 *
 * For Lua (a later step): sk_node_clone shares the strategy table, and the
 * digest assumes hooks are pure functions of their arguments, ctx->now_ms
 * and ctx->rng. A Lua strategy keeps a Lua state per instance; the
 * explorer will need either one Lua state per node whose globals the
 * scripts do not mutate between hooks (checked, or enforced by the
 * sandbox), or the script's state made part of the node digest and of the
 * clone. The node's name, id and cluster size are already in the digest.
 * Everything below runs on any sk_strategy, so the binding only has to
 * supply a table and say it is pure.
 *
 * Everything here is single-threaded and does no I/O; printing goes
 * through a callback. */
#ifndef SK_EXPLORE_H
#define SK_EXPLORE_H

#include "sk.h"

#define SK_EXPLORE_MAX_NODES 7
#define SK_EXPLORE_MAX_CLIENTS 4
#define SK_EXPLORE_MAX_OPS 4

struct sk_explore_client {
    uint32_t node;   /* the instance it sends every operation to (1..nodes) */
    const char *holder; /* NULL: "c1", "c2", ... */
    uint32_t n_ops;
    uint8_t ops[SK_EXPLORE_MAX_OPS]; /* SK_OP_ACQUIRE or SK_OP_RELEASE */
};

/* The clients' history at one configuration, for a history checker: what
 * each client sent and heard, and in which order (event numbers from 1 over
 * all clients: a request's invoke, its last answer's arrival). */
struct sk_explore_history {
    uint32_t n_clients;
    bool truncated; /* more events than the order keeps: times are missing */
    struct {
        uint32_t n_sent; /* operations sent (the last one may be unanswered) */
        uint8_t op[SK_EXPLORE_MAX_OPS];
        uint8_t status[SK_EXPLORE_MAX_OPS]; /* 0: no answer */
        uint8_t by[SK_EXPLORE_MAX_OPS];     /* refused: the holder's client index + 1; 0 */
        uint32_t token[SK_EXPLORE_MAX_OPS];
        uint32_t invoke[SK_EXPLORE_MAX_OPS];
        uint32_t complete[SK_EXPLORE_MAX_OPS]; /* 0: none */
    } c[SK_EXPLORE_MAX_CLIENTS];
};

/* Returns true when the history is fine, false (and what) for a violation. */
typedef bool (*sk_explore_check_fn)(void *ud, const struct sk_explore_history *h, char *what,
                                    size_t len);

struct sk_explore_config {
    uint32_t nodes;              /* 0: 3 */
    const struct sk_strategy *st; /* NULL: sk_strategy_default */
    uint32_t classic;            /* enum sk_classic_flag bits, for every node */
    uint64_t phase_timeout_ms;   /* 0: 100 */
    uint64_t seed;               /* the nodes' rng seed */
    uint32_t n_clients;
    struct sk_explore_client clients[SK_EXPLORE_MAX_CLIENTS];
    uint32_t max_drops, max_dups;
    uint32_t max_failovers;      /* resends of a request to another node, in all */
    uint32_t max_crashes;        /* crash + restart with the durable state, in all */
    uint32_t max_wipes;          /* crash + restart with the state lost, in all */
    bool blank_votes;            /* a wiped node votes at once (UNSAFE: the original) */
    bool no_timers;              /* true: never fire a timer */
    uint32_t max_depth;          /* 0: no bound */
    uint64_t max_states;         /* distinct configurations; 0: no bound */
    /* Optional: a history checker, called on every configuration a client
     * answer arrives in or the search ends at (no step, the depth bound). */
    sk_explore_check_fn check;
    void *check_ud;
};

enum sk_explore_kind {
    SK_X_DELIVER = 1, /* arg: frame id */
    SK_X_DROP = 2,    /* arg: frame id */
    SK_X_DUP = 3,     /* arg: frame id */
    SK_X_REQUEST = 4, /* arg: client index */
    SK_X_TIMER = 5,   /* arg: node id */
    SK_X_FAILOVER = 6, /* arg: client index << 8 | node id */
    SK_X_CRASH = 7,   /* arg: node id (restarts with its durable state) */
    SK_X_WIPE = 8,    /* arg: node id (restarts blank) */
};

struct sk_explore_step {
    uint8_t kind;
    uint32_t arg;
};

struct sk_explore_result {
    uint64_t expanded;    /* configurations whose successors were generated */
    uint64_t transitions; /* successors generated (steps taken) */
    uint64_t distinct;    /* distinct configurations reached */
    uint64_t node_states; /* distinct node states reached (node table) */
    uint32_t depth;       /* the deepest level reached */
    bool depth_bound;     /* a configuration at max_depth had successors */
    bool state_bound;     /* stopped at max_states */
    double seconds;
    uint64_t histories;   /* calls of the history checker */
    uint64_t hook_errors; /* script (hook) failures met in the search's steps */
    char hook_error[256]; /* the first one's text (script and line), or "" */
    bool violation;
    char what[256];       /* the violation, for people */
    size_t path_len;      /* steps of the counterexample */
    struct sk_explore_step *path; /* owned by the explorer */
};

struct sk_explorer;

/* Returns owned (sk_explore_free), or NULL when the configuration is
 * invalid (why says what) or memory runs out. Borrows cfg (copied; holder
 * strings and the strategy table must outlive the explorer). */
struct sk_explorer *sk_explore_new(const struct sk_explore_config *cfg, char *why,
                                   size_t whylen);
void sk_explore_free(struct sk_explorer *x);

/* Search. Returns 0 (the result says what was found) or SK_ENOMEM. */
int sk_explore_run(struct sk_explorer *x, struct sk_explore_result *out);

/* Replay a path from the initial configuration and write it for people,
 * one line a step with what it caused (messages sent, answers), through
 * put (sk.h). Returns 0, put's error, SK_EINVAL for a step that is not
 * enabled where it is taken, or SK_ENOMEM. *violated (may be NULL) tells
 * whether the invariant fails at the end. */
int sk_explore_replay(struct sk_explorer *x, const struct sk_explore_step *path, size_t len,
                      sk_put_fn put, void *ud, bool *violated);

/* Replay a path from the initial configuration as simulator events
 * (sim/sim.h: send, recv, drop, dup, note, persist, invoke, complete,
 * fault), step k at time k ms, so the counterexample becomes a trace like a
 * simulated run's (the binding formats it; render.lua draws it). Node n is
 * "n<n>" in events' text, clients are indexed from 1. Returns 0, SK_EINVAL
 * for a step not enabled where it is taken, or SK_ENOMEM. */
struct sk_sim_event;
int sk_explore_events(struct sk_explorer *x, const struct sk_explore_step *path, size_t len,
                      void (*cb)(void *ud, const struct sk_sim_event *ev), void *ud);

/* Node i's name ("n1", ...) and client c's holder (c from 0). */
const char *sk_explore_node_name(const struct sk_explorer *x, uint32_t i);
const char *sk_explore_client_name(const struct sk_explorer *x, uint32_t c);

/* One step for people ("deliver PREPARE 1.1 from 1 to 2"). */
void sk_explore_step_text(const struct sk_explorer *x, struct sk_explore_step s, char *buf,
                          size_t len);

#endif
