/* net.c - framed TCP on libuv (net.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/auth.h"
#include "net/control.h"
#include "net/net.h"

#define READ_CAP (2 * (SK_FRAME_MAX + 4))

struct link;

struct sk_conn {
    uv_tcp_t tcp; /* first: the handle's data is not needed to find us */
    uv_timer_t idle;
    struct sk_net *net;
    struct sk_conn *next, *prev;
    uint64_t id;
    char addr[80];
    uint8_t *buf;
    size_t len;
    size_t queued;
    uint32_t peer;
    bool accepted;
    bool reading;
    bool closing;
    int open; /* handles not yet closed */
    struct link *link;
    uv_connect_t creq;
    /* authentication (auth.h): NULL until a handshake starts */
    struct sk_auth *auth;
    int astate;              /* enum conn_auth */
    uint8_t *plain;          /* one opened frame, for sk_msg_decode */
    struct sk_msg hello;     /* the dialer keeps the listener's hello ... */
    uint8_t hello_value[32]; /* ... until its proof arrives */
    bool said_something;     /* a frame arrived (a hello must come first) */
    uint8_t *stage;          /* frames to seal as one record at sk_net_uncork */
    size_t stage_len;
};

enum conn_auth {
    AUTH_NONE = 0,      /* plain: no handshake (yet) */
    AUTH_DIAL_HELLO,    /* our link: hello sent, waiting for the listener's hello */
    AUTH_DIAL_PROOF,    /* our link: waiting for the listener's proof */
    AUTH_ACCEPT_PROOF,  /* accepted: our hello and proof sent, waiting for the dialer's proof */
    AUTH_DONE,          /* sealed both ways */
};

struct link {
    struct sk_net *net;
    uint32_t id;
    char name[64];
    char addr[80];
    struct sockaddr_storage sa;
    struct sk_conn *conn; /* connected, or NULL */
    struct sk_conn *dialing;
    uv_timer_t retry;
    uint64_t backoff;
    bool drop;
    uint64_t delay_ms;
    bool warned;
    bool used;
    uint8_t *pend; /* frames queued while the first dial is in progress */
    size_t pend_len;
};

struct delayed {
    uv_timer_t t;
    struct delayed *next, *prev;
    struct sk_net *net;
    uint32_t peer;
    size_t len;
    uint8_t data[];
};

struct wreq {
    uv_write_t req;
    struct sk_conn *c;
    size_t len;
    uint8_t data[];
};

struct sk_net {
    uv_loop_t *loop;
    uv_tcp_t listener;
    struct sk_net_config cfg;
    struct sk_net_callbacks cb;
    struct sk_conn *conns;
    uint32_t n_accepted;
    uint64_t next_id;
    struct link links[SK_MAX_NODES + 1];
    struct delayed *delayed;
    int open; /* handles not yet closed, the net's own included */
    bool closing;
    struct sk_net_stats stats;
    bool has_cluster_key, has_client_key;
    uint8_t cluster_key[SK_AUTH_KEY_BYTES], client_key[SK_AUTH_KEY_BYTES];
    uint64_t auth_log_ms;     /* when the last refusal was logged */
    uint64_t auth_suppressed; /* refusals not logged since */
    bool corked;              /* sk_net_cork: sealed sends are staged */
};

static void logf_(struct sk_net *net, const char *level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void logf_(struct sk_net *net, const char *level, const char *fmt, ...)
{
    char line[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (net->cb.log != NULL) {
        net->cb.log(net->cb.ud, level, line);
    }
}

static void net_unref(struct sk_net *net)
{
    if (--net->open == 0) {
        memset(net->cluster_key, 0, sizeof net->cluster_key);
        memset(net->client_key, 0, sizeof net->client_key);
        free(net);
    }
}

/* ------------------------------------------------------------- address */

int sk_net_parse_addr(const char *s, struct sockaddr_storage *out)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s || colon[1] == 0) {
        return UV_EINVAL;
    }
    size_t hl = (size_t)(colon - s);
    const char *h = s;
    if (s[0] == '[' && colon[-1] == ']') {
        h = s + 1;
        hl -= 2;
    }
    if (hl >= sizeof host) {
        return UV_EINVAL;
    }
    memcpy(host, h, hl);
    host[hl] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end != 0 || port < 0 || port > 65535) {
        return UV_EINVAL;
    }
    memset(out, 0, sizeof *out);
    if (strcmp(host, "localhost") == 0) {
        snprintf(host, sizeof host, "127.0.0.1");
    }
    if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)out) == 0) {
        return 0;
    }
    if (uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)out) == 0) {
        return 0;
    }
    return UV_EINVAL;
}

static void addr_name(const struct sockaddr_storage *sa, char *out, size_t len)
{
    char ip[64] = "?";
    int port = 0;
    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        uv_ip4_name(a, ip, sizeof ip);
        port = ntohs(a->sin_port);
        snprintf(out, len, "%s:%d", ip, port);
    } else if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
        uv_ip6_name(a, ip, sizeof ip);
        port = ntohs(a->sin6_port);
        snprintf(out, len, "[%s]:%d", ip, port);
    } else {
        snprintf(out, len, "?");
    }
}

/* ---------------------------------------------------------- connections */

static void link_schedule(struct link *l, struct sk_net *net);

static void conn_handle_closed(uv_handle_t *h)
{
    struct sk_conn *c = h->data;
    if (--c->open > 0) {
        return;
    }
    struct sk_net *net = c->net;
    if (c->prev) {
        c->prev->next = c->next;
    } else if (net->conns == c) {
        net->conns = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    if (c->accepted) {
        net->n_accepted--;
    }
    if (c->auth != NULL) {
        sk_auth_wipe(c->auth);
        free(c->auth);
    }
    free(c->plain);
    free(c->stage);
    free(c->buf);
    free(c);
    net_unref(net);
}

void sk_conn_close(struct sk_conn *c, const char *reason)
{
    if (c->closing) {
        return;
    }
    c->closing = true;
    struct sk_net *net = c->net;
    if (reason != NULL) {
        logf_(net, "warn", "closing connection %s%s: %s", c->addr,
              c->link ? " (peer link)" : "", reason);
    }
    struct link *l = c->link;
    if (l != NULL) {
        if (l->conn == c) {
            l->conn = NULL;
        }
        if (l->dialing == c) {
            l->dialing = NULL;
            l->pend_len = 0; /* the dial failed: what waited for it is lost */
        }
        if (!net->closing) {
            link_schedule(l, net);
        }
    }
    uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
    uv_close((uv_handle_t *)&c->idle, conn_handle_closed);
}

static struct sk_conn *conn_new(struct sk_net *net)
{
    struct sk_conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return NULL;
    }
    c->buf = malloc(READ_CAP);
    if (c->buf == NULL) {
        free(c);
        return NULL;
    }
    c->net = net;
    c->id = ++net->next_id;
    uv_tcp_init(net->loop, &c->tcp);
    uv_timer_init(net->loop, &c->idle);
    c->tcp.data = c;
    c->idle.data = c;
    c->open = 2;
    net->open++;
    c->next = net->conns;
    if (net->conns) {
        net->conns->prev = c;
    }
    net->conns = c;
    return c;
}

static void on_idle(uv_timer_t *t)
{
    struct sk_conn *c = t->data;
    char why[96];
    snprintf(why, sizeof why, "idle for %llu ms%s", (unsigned long long)c->net->cfg.idle_timeout_ms,
             c->len ? " with a partial frame (truncated)" : "");
    sk_conn_close(c, why);
}

static void touch(struct sk_conn *c)
{
    if (c->accepted && c->peer == 0 && !c->closing) {
        uv_timer_start(&c->idle, on_idle, c->net->cfg.idle_timeout_ms, 0);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct sk_conn *c = h->data;
    buf->base = (char *)c->buf + c->len;
    buf->len = READ_CAP - c->len;
}

/* ------------------------------------------------------- authentication */

static int conn_send_raw(struct sk_conn *c, const uint8_t *frame, size_t len);
static void conn_flush_stage(struct sk_conn *c);
static void link_authenticated(struct sk_conn *c);

/* A connection refused for authentication: closed, and logged at most once
 * a second per daemon (a flood of them must not flood the log), with the
 * count of those not logged since. */
static void auth_refuse(struct sk_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void auth_refuse(struct sk_conn *c, const char *fmt, ...)
{
    struct sk_net *net = c->net;
    net->stats.auth_failures++;
    uint64_t now = uv_now(net->loop);
    if (net->auth_log_ms == 0 || now >= net->auth_log_ms + 1000) {
        char why[400];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, sizeof why, fmt, ap);
        va_end(ap);
        char more[80] = "";
        if (net->auth_suppressed > 0) {
            snprintf(more, sizeof more, " (and %llu more refusals not logged since the last line)",
                     (unsigned long long)net->auth_suppressed);
        }
        logf_(net, "warn", "authentication: closing connection %s%s: %s%s", c->addr,
              c->link ? " (peer link)" : "", why, more);
        net->auth_log_ms = now ? now : 1;
        net->auth_suppressed = 0;
    } else {
        net->auth_suppressed++;
    }
    sk_conn_close(c, NULL);
}

static bool peer_type(int t)
{
    return t >= SK_MSG_PREPARE && t <= SK_MSG_FETCHED;
}

static bool client_type(int t)
{
    return t == SK_MSG_CLIENT_REQ || t == SK_MSG_STATUS_REQ;
}

/* A plain answer to a request we refuse, so that a person sees why: a
 * CLIENT_REPLY with status ERROR, the request's seq, the reason as text. */
static void refuse_plain(struct sk_conn *c, const struct sk_msg *m, const char *text)
{
    struct sk_msg r = {0};
    r.type = SK_MSG_CLIENT_REPLY;
    r.status = SK_ST_ERROR;
    r.from = c->net->cfg.self_id;
    r.seq = m->seq;
    r.client = m->type == SK_MSG_CLIENT_REQ ? m->client : 0;
    r.text = (const uint8_t *)text;
    r.text_len = (uint32_t)strlen(text);
    uint8_t frame[SK_TEXT_MAX + 200];
    int n = sk_msg_encode(&r, frame, sizeof frame);
    if (n > 0) {
        conn_send_raw(c, frame, (size_t)n);
    }
}

static bool conn_auth_alloc(struct sk_conn *c)
{
    if (c->auth == NULL) {
        c->auth = calloc(1, sizeof *c->auth);
        c->plain = malloc(SK_FRAME_MAX + 4);
    }
    return c->auth != NULL && c->plain != NULL;
}

/* A hello on an accepted connection: check the claim, answer with our
 * hello and proof. */
static void accept_hello(struct sk_conn *c, const struct sk_msg *m)
{
    struct sk_net *net = c->net;
    const uint8_t *key = NULL;
    if (m->phase != 1 || c->said_something || !c->accepted) {
        auth_refuse(c, "an unexpected auth frame (phase %u)", m->phase);
        return;
    }
    if (m->op == SK_AUTH_CLIENT) {
        if (!net->has_client_key) {
            auth_refuse(c, "a client handshake, but this instance has no client_key (its client "
                           "requests are open: connect without a key)");
            return;
        }
        key = net->client_key;
    } else {
        if (!net->has_cluster_key) {
            auth_refuse(c, "a %s handshake, but this instance has no cluster_key",
                        sk_auth_role_name(m->op));
            return;
        }
        key = net->cluster_key;
    }
    if (m->op == SK_AUTH_PEER &&
        (m->from < 1 || m->from > net->cfg.n_nodes || m->from == net->cfg.self_id ||
         m->to != net->cfg.self_id)) {
        auth_refuse(c, "a peer handshake from instance %u to instance %u, but this is instance %u "
                       "of %u",
                    m->from, m->to, net->cfg.self_id, net->cfg.n_nodes);
        return;
    }
    if (m->op != SK_AUTH_PEER && m->from != 0) {
        auth_refuse(c, "a %s handshake that claims instance %u", sk_auth_role_name(m->op),
                    m->from);
        return;
    }
    if (!conn_auth_alloc(c)) {
        sk_conn_close(c, "out of memory");
        return;
    }
    uint8_t out[2 * (4 + 79 + 32)];
    int n = sk_auth_accept(c->auth, key, m, net->cfg.self_id, out, sizeof out);
    if (n < 0 || conn_send_raw(c, out, (size_t)n) != 0) {
        sk_conn_close(c, "cannot answer a handshake");
        return;
    }
    c->astate = AUTH_ACCEPT_PROOF;
}

/* An AUTH frame, in whatever state the connection is. */
static void on_auth_frame(struct sk_conn *c, const struct sk_msg *m)
{
    struct sk_net *net = c->net;
    char why[256];
    switch (c->astate) {
    case AUTH_NONE: accept_hello(c, m); return;
    case AUTH_ACCEPT_PROOF:
        if (sk_auth_listener_finish(c->auth, m, why, sizeof why) != 0) {
            auth_refuse(c, "%s handshake failed: %s", sk_auth_role_name(c->auth->role), why);
            return;
        }
        c->astate = AUTH_DONE;
        net->stats.auth_ok++;
        if (c->auth->role == SK_AUTH_PEER) {
            sk_conn_set_peer(c, c->auth->dialer_id);
        }
        return;
    case AUTH_DIAL_HELLO:
        if (m->phase != 1) {
            auth_refuse(c, "the peer answered our hello with something else");
            return;
        }
        c->hello = *m;
        memcpy(c->hello_value, m->value, 32);
        c->hello.value = c->hello_value;
        c->astate = AUTH_DIAL_PROOF;
        return;
    case AUTH_DIAL_PROOF: {
        uint8_t out[4 + 79 + 32];
        int n = sk_auth_dialer_finish(c->auth, &c->hello, m, out, sizeof out, why, sizeof why);
        if (n < 0) {
            auth_refuse(c, "peer %s failed authentication: %s", c->link ? c->link->name : "?",
                        why);
            return;
        }
        if (conn_send_raw(c, out, (size_t)n) != 0) {
            sk_conn_close(c, "cannot send our proof");
            return;
        }
        c->astate = AUTH_DONE;
        net->stats.auth_ok++;
        link_authenticated(c);
        return;
    }
    default: auth_refuse(c, "an auth frame after the handshake"); return;
    }
}

/* Is m allowed on c? Closes c (and says why) when not. */
static bool frame_allowed(struct sk_conn *c, const struct sk_msg *m)
{
    struct sk_net *net = c->net;
    if (c->astate == AUTH_DONE) {
        int role = c->auth->role;
        if (role == SK_AUTH_PEER) {
            if (!peer_type(m->type) || m->from != c->auth->dialer_id) {
                auth_refuse(c, "a %s frame from instance %u on a link authenticated as instance "
                               "%u",
                            sk_msg_type_name(m->type), m->from, c->auth->dialer_id);
                return false;
            }
            return true;
        }
        if (client_type(m->type) || (role == SK_AUTH_CONTROL && m->type == SK_MSG_CONTROL)) {
            return true;
        }
        auth_refuse(c, "a %s frame on a connection authenticated as %s",
                    sk_msg_type_name(m->type), sk_auth_role_name(role));
        return false;
    }
    if (c->astate != AUTH_NONE) {
        auth_refuse(c, "a %s frame before the handshake ended", sk_msg_type_name(m->type));
        return false;
    }
    if (peer_type(m->type) && net->has_cluster_key) {
        auth_refuse(c, "a %s frame (from instance %u) on a connection that has not "
                       "authenticated",
                    sk_msg_type_name(m->type), m->from);
        return false;
    }
    if (m->type == SK_MSG_CONTROL && net->has_cluster_key) {
        refuse_plain(c, m, "control requires the cluster key: pass --cluster-key FILE "
                           "(or set SKINNY_CLUSTER_KEY)");
        auth_refuse(c, "a control frame on a connection that has not authenticated");
        return false;
    }
    if (client_type(m->type) && net->has_client_key) {
        refuse_plain(c, m, "this instance requires a client key: pass --key FILE (or set "
                           "SKINNY_KEY)");
        auth_refuse(c, "a %s without the client key", sk_msg_type_name(m->type));
        return false;
    }
    return true;
}

/* One decoded frame: the handshake's, or the callback's when allowed.
 * false when the connection is closing (stop reading its buffer). */
static bool dispatch(struct sk_conn *c, const struct sk_msg *m)
{
    struct sk_net *net = c->net;
    net->stats.frames_in++;
    if (m->type == SK_MSG_AUTH) {
        on_auth_frame(c, m);
    } else if (frame_allowed(c, m)) {
        net->cb.on_frame(net->cb.ud, c, m);
    }
    c->said_something = true;
    return !c->closing;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct sk_conn *c = s->data;
    struct sk_net *net = c->net;
    if (c->closing) {
        return;
    }
    if (nread < 0) {
        if (nread == UV_EOF) {
            if (c->astate != AUTH_NONE && c->astate != AUTH_DONE) {
                auth_refuse(c, "the other end closed the connection during the handshake "
                               "(does it hold the same key?)");
            } else if (c->len > 0) {
                net->stats.bad_frames++;
                char why[128];
                snprintf(why, sizeof why,
                         "bad frame: connection ended mid-frame (truncated, %zu bytes pending)",
                         c->len);
                sk_conn_close(c, why);
            } else {
                sk_conn_close(c, c->link ? "peer closed the link" : NULL);
            }
        } else {
            sk_conn_close(c, uv_strerror((int)nread));
        }
        return;
    }
    c->len += (size_t)nread;
    touch(c);
    size_t off = 0;
    while (off < c->len) {
        struct sk_msg m;
        int rv;
        if (c->astate == AUTH_DONE) {
            int sl = sk_auth_sealed_len(c->buf + off, c->len - off);
            if (sl < 0) {
                auth_refuse(c, "a sealed frame with an impossible length (%s)", sk_err_name(sl));
                return;
            }
            if (sl == 0 || (size_t)sl > c->len - off) {
                break;
            }
            int pl = sk_auth_open(c->auth, c->buf + off, (size_t)sl, c->plain, SK_AUTH_RECORD_MAX);
            if (pl < 0) {
                auth_refuse(c, "a frame failed authentication (tampered, replayed, reordered or "
                               "sealed under another key)");
                return;
            }
            /* a record holds whole frames only */
            for (int poff = 0; poff < pl;) {
                int fr = sk_msg_decode(c->plain + poff, (size_t)(pl - poff), &m);
                if (fr <= 0) {
                    net->stats.bad_frames++;
                    char why[160];
                    snprintf(why, sizeof why, "bad frame: %s (%s)",
                             fr < 0 ? sk_strerror(fr) : "a sealed record ends mid-frame",
                             fr < 0 ? sk_err_name(fr) : "SK_ETRUNC");
                    sk_conn_close(c, why);
                    return;
                }
                if (!dispatch(c, &m)) {
                    return;
                }
                poff += fr;
            }
            off += (size_t)sl;
            continue;
        } else {
            rv = sk_msg_decode(c->buf + off, c->len - off, &m);
            if (rv < 0) {
                net->stats.bad_frames++;
                char why[160];
                snprintf(why, sizeof why, "bad frame: %s (%s)", sk_strerror(rv), sk_err_name(rv));
                if (c->astate != AUTH_NONE || net->has_cluster_key) {
                    auth_refuse(c, "%s", why);
                } else {
                    sk_conn_close(c, why);
                }
                return;
            }
            if (rv == 0) {
                break;
            }
        }
        if (!dispatch(c, &m)) {
            return;
        }
        off += (size_t)rv;
    }
    if (off > 0) {
        memmove(c->buf, c->buf + off, c->len - off);
        c->len -= off;
    }
}

static void on_written(uv_write_t *req, int status)
{
    struct wreq *w = (struct wreq *)req;
    struct sk_conn *c = w->c;
    c->queued -= w->len;
    free(w);
    if (status < 0 && status != UV_ECANCELED && !c->closing) {
        char why[128];
        snprintf(why, sizeof why, "write failed: %s", uv_strerror(status));
        sk_conn_close(c, why);
    }
}

/* Queue bytes as they are (a handshake frame, or one already sealed). */
static int conn_send_raw(struct sk_conn *c, const uint8_t *frame, size_t len)
{
    if (c->closing) {
        return UV_ECANCELED;
    }
    if (c->queued + len > c->net->cfg.max_queue_bytes) {
        c->net->stats.dropped_queue++;
        return SK_EBUSY;
    }
    struct wreq *w = malloc(sizeof *w + len);
    if (w == NULL) {
        return SK_ENOMEM;
    }
    w->c = c;
    w->len = len;
    memcpy(w->data, frame, len);
    uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)len);
    int rv = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written);
    if (rv != 0) {
        free(w);
        return rv;
    }
    c->queued += len;
    c->net->stats.frames_out++;
    return 0;
}

int sk_conn_send(struct sk_conn *c, const uint8_t *frame, size_t len)
{
    if (c->astate != AUTH_NONE && c->astate != AUTH_DONE) {
        return UV_ECANCELED; /* nothing but the handshake before it ends */
    }
    if (c->net->corked && !c->closing) {
        /* staged: written with the others at sk_net_uncork, in one write
         * (sealed as one record on an authenticated connection) */
        if (c->stage_len + len > SK_AUTH_RECORD_MAX) {
            conn_flush_stage(c);
        }
        if (c->stage == NULL) {
            c->stage = malloc(SK_AUTH_RECORD_MAX);
        }
        if (c->stage != NULL && c->stage_len + len <= SK_AUTH_RECORD_MAX) {
            memcpy(c->stage + c->stage_len, frame, len);
            c->stage_len += len;
            return 0;
        }
    }
    if (c->astate == AUTH_NONE) {
        return conn_send_raw(c, frame, len);
    }
    uint8_t sealed[SK_AUTH_RECORD_MAX + 4 + SK_AUTH_TAG_BYTES];
    int n = sk_auth_seal(c->auth, frame, len, sealed, sizeof sealed);
    if (n < 0) {
        return n;
    }
    return conn_send_raw(c, sealed, (size_t)n);
}

static void conn_flush_stage(struct sk_conn *c)
{
    if (c->stage_len == 0) {
        return;
    }
    size_t len = c->stage_len;
    c->stage_len = 0;
    if (c->closing) {
        return;
    }
    if (c->astate == AUTH_NONE) {
        conn_send_raw(c, c->stage, len);
        return;
    }
    if (c->astate != AUTH_DONE) {
        return;
    }
    uint8_t sealed[SK_AUTH_RECORD_MAX + 4 + SK_AUTH_TAG_BYTES];
    int n = sk_auth_seal(c->auth, c->stage, len, sealed, sizeof sealed);
    if (n > 0) {
        conn_send_raw(c, sealed, (size_t)n);
    }
}

void sk_net_cork(struct sk_net *net)
{
    net->corked = true;
}

void sk_net_uncork(struct sk_net *net)
{
    net->corked = false;
    for (struct sk_conn *c = net->conns; c; c = c->next) {
        conn_flush_stage(c);
    }
}

int sk_conn_role(const struct sk_conn *c)
{
    return c->astate == AUTH_DONE ? c->auth->role : 0;
}

uint64_t sk_conn_id(const struct sk_conn *c)
{
    return c->id;
}

const char *sk_conn_addr(const struct sk_conn *c)
{
    return c->addr;
}

void sk_conn_set_peer(struct sk_conn *c, uint32_t peer)
{
    if (c->peer == 0 && peer != 0) {
        c->peer = peer;
        uv_timer_stop(&c->idle);
    }
}

struct sk_conn *sk_net_conn(struct sk_net *net, uint64_t id)
{
    for (struct sk_conn *c = net->conns; c; c = c->next) {
        if (c->id == id) {
            return c->closing ? NULL : c;
        }
    }
    return NULL;
}

/* -------------------------------------------------------------- listen */

static void on_connection(uv_stream_t *server, int status)
{
    struct sk_net *net = server->data;
    if (status < 0) {
        logf_(net, "warn", "accept failed: %s", uv_strerror(status));
        return;
    }
    struct sk_conn *c = conn_new(net);
    if (c == NULL) {
        logf_(net, "error", "out of memory accepting a connection");
        return;
    }
    c->accepted = true;
    net->n_accepted++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        sk_conn_close(c, "accept failed");
        return;
    }
    struct sockaddr_storage sa;
    int sl = sizeof sa;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&sa, &sl) == 0) {
        addr_name(&sa, c->addr, sizeof c->addr);
    } else {
        snprintf(c->addr, sizeof c->addr, "?");
    }
    net->stats.accepted++;
    if (net->n_accepted > net->cfg.max_conns) {
        net->stats.refused_conns++;
        char why[96];
        snprintf(why, sizeof why, "too many connections (max_connections %u)",
                 net->cfg.max_conns);
        sk_conn_close(c, why);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    touch(c);
}

static void listener_closed(uv_handle_t *h)
{
    net_unref(h->data);
}

struct sk_net *sk_net_new(uv_loop_t *loop, const struct sk_net_config *cfg,
                          const struct sk_net_callbacks *cb, char *err, size_t errlen)
{
    struct sockaddr_storage sa;
    if (sk_net_parse_addr(cfg->listen, &sa) != 0) {
        snprintf(err, errlen, "listen address \"%s\" is not host:port with a numeric host",
                 cfg->listen);
        return NULL;
    }
    struct sk_net *net = calloc(1, sizeof *net);
    if (net == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    net->loop = loop;
    net->cfg = *cfg;
    net->cfg.listen = NULL;
    net->cb = *cb;
    if (!net->cfg.max_conns) net->cfg.max_conns = 256;
    if (!net->cfg.max_queue_bytes) net->cfg.max_queue_bytes = 1u << 20;
    if (!net->cfg.idle_timeout_ms) net->cfg.idle_timeout_ms = 60000;
    if (!net->cfg.reconnect_min_ms) net->cfg.reconnect_min_ms = 50;
    if (!net->cfg.reconnect_max_ms) net->cfg.reconnect_max_ms = 2000;
    net->cfg.cluster_key = net->cfg.client_key = NULL;
    if (cfg->cluster_key != NULL || cfg->client_key != NULL) {
        if (sk_auth_init() != 0) {
            snprintf(err, errlen, "libsodium cannot start: no authentication possible");
            free(net);
            return NULL;
        }
    }
    if (cfg->cluster_key != NULL) {
        memcpy(net->cluster_key, cfg->cluster_key, SK_AUTH_KEY_BYTES);
        net->has_cluster_key = true;
    }
    if (cfg->client_key != NULL) {
        memcpy(net->client_key, cfg->client_key, SK_AUTH_KEY_BYTES);
        net->has_client_key = true;
    }
    uv_tcp_init(loop, &net->listener);
    net->listener.data = net;
    net->open = 2; /* the listener and the net itself */
    int rv = uv_tcp_bind(&net->listener, (const struct sockaddr *)&sa, 0);
    if (rv == 0) {
        rv = uv_listen((uv_stream_t *)&net->listener, 128, on_connection);
    }
    if (rv != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", cfg->listen, uv_strerror(rv));
        sk_net_close(net);
        return NULL;
    }
    return net;
}

/* --------------------------------------------------------------- peers */

static void link_dial(struct link *l, struct sk_net *net);

static void on_retry(uv_timer_t *t)
{
    struct link *l = t->data;
    link_dial(l, l->net);
}

static void link_schedule(struct link *l, struct sk_net *net)
{
    if (net->closing || uv_is_active((uv_handle_t *)&l->retry)) {
        return;
    }
    uint64_t d = l->backoff ? l->backoff : net->cfg.reconnect_min_ms;
    l->backoff = d * 2 > net->cfg.reconnect_max_ms ? net->cfg.reconnect_max_ms : d * 2;
    uv_timer_start(&l->retry, on_retry, d, 0);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct sk_conn *c = req->data;
    struct sk_net *net = c->net;
    struct link *l = c->link;
    if (c->closing) {
        return;
    }
    if (status < 0) {
        if (!l->warned) {
            logf_(net, "warn", "peer %s (%s) unreachable: %s; retrying with backoff", l->name,
                  l->addr, uv_strerror(status));
            l->warned = true;
        }
        sk_conn_close(c, NULL);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (net->has_cluster_key) {
        /* the link is up once the handshake ends (link_authenticated);
         * until then frames for the peer wait in l->pend */
        uint8_t hello[4 + 79 + 32];
        int n = -1;
        if (conn_auth_alloc(c)) {
            n = sk_auth_dial(c->auth, net->cluster_key, SK_AUTH_PEER, net->cfg.self_id, l->id,
                             hello, sizeof hello);
        }
        if (n < 0 || conn_send_raw(c, hello, (size_t)n) != 0) {
            sk_conn_close(c, "cannot start the handshake");
            return;
        }
        c->astate = AUTH_DIAL_HELLO;
        return;
    }
    link_authenticated(c);
}

/* Our link c is ready for frames: connected, and authenticated when the
 * cluster has a key. What waited for it leaves now. */
static void link_authenticated(struct sk_conn *c)
{
    struct sk_net *net = c->net;
    struct link *l = c->link;
    l->dialing = NULL;
    l->conn = c;
    l->backoff = 0;
    logf_(net, "info", "peer %s (%s) connected%s", l->name, l->addr,
          c->astate == AUTH_DONE ? " and authenticated" : "");
    l->warned = false;
    if (l->pend_len > 0) {
        /* one write of many frames: sealed one by one */
        size_t off = 0;
        while (off + 4 <= l->pend_len) {
            size_t fl = 4 + ((size_t)l->pend[off] << 24 | (size_t)l->pend[off + 1] << 16 |
                             (size_t)l->pend[off + 2] << 8 | l->pend[off + 3]);
            if (off + fl > l->pend_len) {
                break;
            }
            sk_conn_send(c, l->pend + off, fl);
            off += fl;
        }
        l->pend_len = 0;
    }
}

static void link_dial(struct link *l, struct sk_net *net)
{
    if (net->closing || l->conn != NULL || l->dialing != NULL) {
        return;
    }
    struct sk_conn *c = conn_new(net);
    if (c == NULL) {
        link_schedule(l, net);
        return;
    }
    c->link = l;
    c->peer = l->id;
    snprintf(c->addr, sizeof c->addr, "%s", l->addr);
    c->creq.data = c;
    l->dialing = c;
    int rv = uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&l->sa, on_connect);
    if (rv != 0) {
        if (!l->warned) {
            logf_(net, "warn", "peer %s (%s): cannot connect: %s", l->name, l->addr,
                  uv_strerror(rv));
            l->warned = true;
        }
        sk_conn_close(c, NULL);
    }
}

static void retry_closed(uv_handle_t *h)
{
    struct link *l = h->data;
    free(l->pend);
    l->pend = NULL;
    net_unref(l->net);
}

int sk_net_add_peer(struct sk_net *net, uint32_t id, const char *name, const char *addr)
{
    if (id < 1 || id > SK_MAX_NODES || net->links[id].used) {
        return SK_EINVAL;
    }
    struct link *l = &net->links[id];
    if (sk_net_parse_addr(addr, &l->sa) != 0) {
        return SK_EINVAL;
    }
    l->used = true;
    l->net = net;
    l->id = id;
    snprintf(l->name, sizeof l->name, "%s", name);
    snprintf(l->addr, sizeof l->addr, "%s", addr);
    uv_timer_init(net->loop, &l->retry);
    l->retry.data = l;
    net->open++;
    link_dial(l, net);
    return 0;
}

#define LINK_PEND_MAX (64u * 1024)

static void send_now(struct sk_net *net, uint32_t id, const uint8_t *frame, size_t len)
{
    struct link *l = &net->links[id];
    if (l->conn == NULL) {
        /* Known down (waiting out a backoff): drop, Paxos tolerates loss.
         * Otherwise dial and keep the frame until the dial ends. */
        if (!uv_is_active((uv_handle_t *)&l->retry)) {
            link_dial(l, net);
        }
        if (l->dialing != NULL && l->pend_len + len <= LINK_PEND_MAX) {
            if (l->pend == NULL) {
                l->pend = malloc(LINK_PEND_MAX);
            }
            if (l->pend != NULL) {
                memcpy(l->pend + l->pend_len, frame, len);
                l->pend_len += len;
                return;
            }
        }
        if (net->cb.on_drop) {
            net->cb.on_drop(net->cb.ud, id, frame, len, "not-connected");
        }
        return;
    }
    if (sk_conn_send(l->conn, frame, len) != 0 && net->cb.on_drop) {
        net->cb.on_drop(net->cb.ud, id, frame, len, "queue-full");
    }
}

static void delayed_closed(uv_handle_t *h)
{
    struct delayed *d = h->data;
    struct sk_net *net = d->net;
    free(d);
    net_unref(net);
}

static void delayed_unlink_close(struct delayed *d)
{
    struct sk_net *net = d->net;
    if (d->prev) {
        d->prev->next = d->next;
    } else {
        net->delayed = d->next;
    }
    if (d->next) {
        d->next->prev = d->prev;
    }
    uv_close((uv_handle_t *)&d->t, delayed_closed);
}

static void on_delayed(uv_timer_t *t)
{
    struct delayed *d = t->data;
    send_now(d->net, d->peer, d->data, d->len);
    delayed_unlink_close(d);
}

void sk_net_send_peer(struct sk_net *net, uint32_t id, const uint8_t *frame, size_t len)
{
    if (id < 1 || id > SK_MAX_NODES || !net->links[id].used || net->closing) {
        return;
    }
    struct link *l = &net->links[id];
    if (l->drop) {
        if (net->cb.on_drop) {
            net->cb.on_drop(net->cb.ud, id, frame, len, "fault-drop");
        }
        return;
    }
    if (l->delay_ms == 0) {
        send_now(net, id, frame, len);
        return;
    }
    struct delayed *d = malloc(sizeof *d + len);
    if (d == NULL) {
        return;
    }
    memset(d, 0, sizeof *d);
    d->net = net;
    d->peer = id;
    d->len = len;
    memcpy(d->data, frame, len);
    uv_timer_init(net->loop, &d->t);
    d->t.data = d;
    net->open++;
    d->next = net->delayed;
    if (net->delayed) {
        net->delayed->prev = d;
    }
    net->delayed = d;
    uv_timer_start(&d->t, on_delayed, l->delay_ms, 0);
}

int sk_net_fault(struct sk_net *net, uint32_t id, bool drop, uint64_t delay_ms)
{
    if (id < 1 || id > SK_MAX_NODES || !net->links[id].used) {
        return SK_ENOTFOUND;
    }
    net->links[id].drop = drop;
    net->links[id].delay_ms = delay_ms;
    return 0;
}

void sk_net_heal(struct sk_net *net)
{
    for (uint32_t i = 1; i <= SK_MAX_NODES; i++) {
        net->links[i].drop = false;
        net->links[i].delay_ms = 0;
    }
}

bool sk_net_peer_connected(const struct sk_net *net, uint32_t id)
{
    return id >= 1 && id <= SK_MAX_NODES && net->links[id].conn != NULL;
}

void sk_net_stats(const struct sk_net *net, struct sk_net_stats *out)
{
    *out = net->stats;
}

void sk_net_close(struct sk_net *net)
{
    if (net->closing) {
        return;
    }
    net->closing = true;
    uv_close((uv_handle_t *)&net->listener, listener_closed);
    for (struct sk_conn *c = net->conns; c; c = c->next) {
        sk_conn_close(c, NULL);
    }
    for (uint32_t i = 1; i <= SK_MAX_NODES; i++) {
        if (net->links[i].used) {
            uv_close((uv_handle_t *)&net->links[i].retry, retry_closed);
        }
    }
    while (net->delayed) {
        delayed_unlink_close(net->delayed);
    }
    net_unref(net); /* the net's own reference */
}
