/* net.c - framed TCP on libuv (net.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
            if (c->len > 0) {
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
        int rv = sk_msg_decode(c->buf + off, c->len - off, &m);
        if (rv < 0) {
            net->stats.bad_frames++;
            char why[160];
            snprintf(why, sizeof why, "bad frame: %s (%s)", sk_strerror(rv), sk_err_name(rv));
            sk_conn_close(c, why);
            return;
        }
        if (rv == 0) {
            break;
        }
        net->stats.frames_in++;
        net->cb.on_frame(net->cb.ud, c, &m);
        if (c->closing) {
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

int sk_conn_send(struct sk_conn *c, const uint8_t *frame, size_t len)
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
    l->dialing = NULL;
    l->conn = c;
    l->backoff = 0;
    logf_(net, "info", "peer %s (%s) connected", l->name, l->addr);
    l->warned = false;
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (l->pend_len > 0) {
        sk_conn_send(c, l->pend, l->pend_len);
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
