/* net.h - framed TCP on libuv for skinnyd.
 *
 * A struct sk_net owns one listening socket, the connections it accepted
 * and the links it dials to peers. Every connection reads length-prefixed
 * frames (sk_msg_decode) into a buffer bounded by SK_FRAME_MAX; a frame the
 * codec refuses, an oversized length, or a connection that ends mid-frame
 * closes that connection, and the reason (naming the remote address) goes
 * to the log callback. Writes go through a per-connection queue bounded in
 * bytes; a frame that does not fit is dropped and counted (the protocol
 * tolerates loss; clients retry on timeout).
 *
 * Peer links are dialled with exponential backoff between reconnect_min_ms
 * and reconnect_max_ms and only written to; the peer's replies arrive on
 * the connection it dialled to us. Fault injection (drop, delay) applies to
 * what we send on a link.
 *
 * With a cluster key (sk_net_config), every connection that sends peer or
 * CONTROL frames first runs the handshake of net/auth.h; after it, every
 * frame both ways is sealed, and the connection may carry only its role's
 * frames (a peer's `from` bound to the instance it proved to be). What
 * fails closes the connection and is logged at most once a second.
 *
 * Memory: handles are freed only in their close callbacks (libuv's rule).
 * sk_net_close() closes everything; run the loop until it returns to finish. */
#ifndef SK_NET_H
#define SK_NET_H

#include <uv.h>

#include "sk.h"

struct sk_net;
struct sk_conn;

struct sk_net_config {
    const char *listen;           /* "host:port"; borrowed during init */
    uint32_t max_conns;           /* accepted connections; 0: 256 */
    size_t max_queue_bytes;       /* per connection write queue; 0: 1 MiB */
    uint64_t idle_timeout_ms;     /* accepted connections that say nothing; 0: 60000 */
    uint64_t reconnect_min_ms;    /* 0: 50 */
    uint64_t reconnect_max_ms;    /* 0: 2000 */
    /* Authentication (net/auth.h, spec/PROTOCOL.md 11). cluster_key: 32
     * bytes or NULL (no authentication: every connection may send
     * anything, as before keys). With it, peer links and CONTROL must
     * authenticate and a peer frame on any other connection closes it.
     * client_key: 32 bytes or NULL (client requests open); with it,
     * client requests must authenticate too. Both copied. */
    const uint8_t *cluster_key;
    const uint8_t *client_key;
    uint32_t self_id;  /* this instance's id, bound into every handshake */
    uint32_t n_nodes;  /* the cluster's size: a peer claims an id 1..n_nodes */
};

struct sk_net_callbacks {
    void *ud;
    /* One decoded frame. m borrows the read buffer until the callback
     * returns. The callback may call sk_conn_close(c). */
    void (*on_frame)(void *ud, struct sk_conn *c, const struct sk_msg *m);
    /* A line for the log: level is "info", "warn" or "error". */
    void (*log)(void *ud, const char *level, const char *text);
    /* A frame we dropped or delayed by fault injection (for traces);
     * may be NULL. why: "fault-drop", "queue-full", "not-connected". */
    void (*on_drop)(void *ud, uint32_t peer, const uint8_t *frame, size_t len, const char *why);
};

/* Returns owned (free by sk_net_close, then running the loop), or NULL
 * with the reason in err. Binds and listens. */
struct sk_net *sk_net_new(uv_loop_t *loop, const struct sk_net_config *cfg,
                          const struct sk_net_callbacks *cb, char *err, size_t errlen);
void sk_net_close(struct sk_net *net);

/* Add a peer link to dial (id 1..SK_MAX_NODES). Borrows name and addr. */
int sk_net_add_peer(struct sk_net *net, uint32_t id, const char *name, const char *addr);
/* Send a frame to a peer: through its link, honouring faults. Copies. */
void sk_net_send_peer(struct sk_net *net, uint32_t id, const uint8_t *frame, size_t len);
/* Faults on our sends to a peer: drop everything, or delay by ms (0: none). */
int sk_net_fault(struct sk_net *net, uint32_t id, bool drop, uint64_t delay_ms);
void sk_net_heal(struct sk_net *net);
bool sk_net_peer_connected(const struct sk_net *net, uint32_t id);

/* Accepted connections. ids are unique for the life of net. */
uint64_t sk_conn_id(const struct sk_conn *c);
const char *sk_conn_addr(const struct sk_conn *c);
struct sk_conn *sk_net_conn(struct sk_net *net, uint64_t id); /* NULL when gone */
/* The role the connection authenticated as (SK_AUTH_*), or 0. */
int sk_conn_role(const struct sk_conn *c);
/* Mark the connection as a peer's (no idle timeout). */
void sk_conn_set_peer(struct sk_conn *c, uint32_t peer);
int sk_conn_send(struct sk_conn *c, const uint8_t *frame, size_t len); /* copies */
/* Between sk_net_cork and sk_net_uncork, frames sent on a connection are
 * staged (up to SK_FRAME_MAX + 4 bytes per connection, then written), and
 * uncork writes each connection's staged frames at once: one write, and on
 * an authenticated connection one sealed record (fewer syscalls, seals and
 * opens: a daemon corks around one batch of sends). A staged batch that
 * does not fit the connection's write queue is dropped whole and counted
 * in dropped_queue (on_drop is not called for it). */
void sk_net_cork(struct sk_net *net);
void sk_net_uncork(struct sk_net *net);
void sk_conn_close(struct sk_conn *c, const char *reason);

/* Parse "host:port" (IPv4 or IPv6 literal in brackets). 0 or UV_EINVAL. */
int sk_net_parse_addr(const char *s, struct sockaddr_storage *out);

struct sk_net_stats {
    uint64_t accepted, refused_conns, bad_frames, frames_in, frames_out, dropped_queue;
    uint64_t auth_ok, auth_failures; /* handshakes completed; refusals (handshake or frame) */
};
void sk_net_stats(const struct sk_net *net, struct sk_net_stats *out);

#endif
