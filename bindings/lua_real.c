/* lua_real.c - the C half of skinny.real (see lua_real.h).
 *
 * Everything here is plain POSIX: non-blocking TCP sockets and poll(). No
 * libuv (bindings/ is built into the Lua module, which must not need it).
 *
 *   real.now() -> ms             CLOCK_MONOTONIC milliseconds
 *   real.wall() -> ms            CLOCK_REALTIME milliseconds since the epoch
 *   real.mkdtemp(template)       a fresh directory (template ends in XXXXXX)
 *   real.conn(addr) -> conn      a client connection, opened on first use
 *     conn:send_req(seq, op, lock, holder, ttl_ms, client, fence) -> true, reopened | nil, why
 *     conn:close(), conn:is_open()
 *   real.poll({conn, ...}, ms)   wait up to ms for traffic; returns a list of
 *       {conn = i, seq =, status =, token =, holder =, text =}  (a CLIENT_REPLY)
 *       {conn = i, error = why}                                  (connection lost)
 *   real.status(addr, ms [, lock]) -> name, rows | nil, why
 *       rows: {{lock =, promised = "r.n", accepted = "r.n", state = table|nil}}
 *   real.control(addr, op, key, ms_arg, timeout_ms [, keyfile]) -> status, text | nil, why
 *       (keyfile: the cluster key; the request authenticates, spec/PROTOCOL.md 11)
 *   real.trace_invoke(t, req, client, node, op, lock, holder, ttl [, attempt, resend_of]) -> line
 *       (a resend: attempt 2, 3, ... and resend_of, the req of the op's first send,
 *       as the simulator traces it)
 *   real.trace_complete(t, req, client, node, lock, status, holder, token, text) -> line
 *   real.trace_late(same arguments) -> line   an answer the client no longer waited for
 *   real.trace_fault(t, node, what) -> line
 *   real.guard(skinny_lab, dir, keep), real.unguard(dir): at process exit,
 *       run `skinny_lab down --dir dir` for every guarded lab not yet closed,
 *       then remove dir unless keep. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "lua_real.h"
#include "lua_value.h"
#include "net/auth.h"
#include "net/control.h"
#include "sk.h"
#include "trace_fmt.h"

#define CONN_MT "skinny.real.Conn"
#define INBUF (2 * (SK_FRAME_MAX + 4))

/* ---------------------------------------------------------------- clocks */

static int64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + (int64_t)ts.tv_nsec / 1000000;
}

static int l_now(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)clock_ms(CLOCK_MONOTONIC));
    return 1;
}

static int l_wall(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)clock_ms(CLOCK_REALTIME));
    return 1;
}

/* real.wall_us() -> microseconds of the wall clock: the base of request
 * sequence numbers, as skinnyctl's (spec/PROTOCOL.md 7.4) */
static int l_wall_us(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    lua_pushinteger(L, (lua_Integer)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
    return 1;
}

/* real.client_id() -> a random non-zero 64-bit client id (as an integer) */
static int l_client_id(lua_State *L)
{
    uint64_t id = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, &id, sizeof id) != (ssize_t)sizeof id) {
            id = 0;
        }
        close(fd);
    }
    if (id == 0) {
        id = (uint64_t)clock_ms(CLOCK_REALTIME) << 20 ^ (uint64_t)getpid();
    }
    lua_pushinteger(L, (lua_Integer)(id != 0 ? id : 1));
    return 1;
}

static int l_mkdtemp(lua_State *L)
{
    const char *tmpl = luaL_checkstring(L, 1);
    char buf[PATH_MAX];
    if (strlen(tmpl) >= sizeof buf) {
        return luaL_argerror(L, 1, "path too long");
    }
    snprintf(buf, sizeof buf, "%s", tmpl);
    if (mkdtemp(buf) == NULL) {
        lua_pushnil(L);
        lua_pushfstring(L, "cannot create %s: %s", tmpl, strerror(errno));
        return 2;
    }
    lua_pushstring(L, buf);
    return 1;
}

/* ------------------------------------------------------------- addresses */

/* "a.b.c.d:port" or "[v6]:port"; 0 or -1. */
static int parse_addr(const char *s, struct sockaddr_storage *sa, socklen_t *len)
{
    char host[80];
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s || (size_t)(colon - s) >= sizeof host) {
        return -1;
    }
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end != 0 || end == colon + 1 || port < 1 || port > 65535) {
        return -1;
    }
    char *h = host;
    size_t hl = strlen(h);
    if (h[0] == '[' && hl >= 3 && h[hl - 1] == ']') {
        h[hl - 1] = 0;
        h++;
    }
    if (strcmp(h, "localhost") == 0) {
        h = "127.0.0.1";
    }
    memset(sa, 0, sizeof *sa);
    struct sockaddr_in *a4 = (struct sockaddr_in *)sa;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)sa;
    if (inet_pton(AF_INET, h, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *len = sizeof *a4;
        return 0;
    }
    if (inet_pton(AF_INET6, h, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *len = sizeof *a6;
        return 0;
    }
    return -1;
}

/* ----------------------------------------------------------- connections */

struct rconn {
    int fd; /* -1: closed */
    bool connecting;
    char addr[96];
    uint8_t *out;
    size_t out_len, out_cap;
    size_t in_len;
    uint8_t in[INBUF];
};

static void rc_close(struct rconn *c)
{
    if (c->fd >= 0) {
        close(c->fd);
    }
    c->fd = -1;
    c->connecting = false;
    c->out_len = 0;
    c->in_len = 0;
}

/* Start a non-blocking connect. 0 (connected or in progress) or -1. */
static int rc_open(struct rconn *c, char *why, size_t wl)
{
    struct sockaddr_storage sa;
    socklen_t sl;
    if (parse_addr(c->addr, &sa, &sl) != 0) {
        snprintf(why, wl, "bad address \"%s\"", c->addr);
        return -1;
    }
    int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(why, wl, "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->fd = fd;
    c->in_len = 0;
    c->out_len = 0;
    if (connect(fd, (struct sockaddr *)&sa, sl) == 0) {
        c->connecting = false;
        return 0;
    }
    if (errno == EINPROGRESS || errno == EINTR) {
        c->connecting = true;
        return 0;
    }
    snprintf(why, wl, "cannot connect to %s: %s", c->addr, strerror(errno));
    rc_close(c);
    return -1;
}

/* A pending connect finished (poll said writable or error). 0 or -1. */
static int rc_finish_connect(struct rconn *c, char *why, size_t wl)
{
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0) {
        err = errno;
    }
    if (err != 0) {
        snprintf(why, wl, "cannot connect to %s: %s", c->addr, strerror(err));
        rc_close(c);
        return -1;
    }
    c->connecting = false;
    return 0;
}

/* Write what is queued, as far as the socket takes it. 0 or -1. */
static int rc_flush(struct rconn *c, char *why, size_t wl)
{
    size_t off = 0;
    while (off < c->out_len) {
        ssize_t n = send(c->fd, c->out + off, c->out_len - off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;
            }
            snprintf(why, wl, "connection to %s lost: %s", c->addr, strerror(errno));
            rc_close(c);
            return -1;
        }
        off += (size_t)n;
    }
    memmove(c->out, c->out + off, c->out_len - off);
    c->out_len -= off;
    return 0;
}

static int rc_queue_bytes(struct rconn *c, const uint8_t *frame, size_t len, char *why,
                          size_t wl)
{
    if (c->out_cap - c->out_len < (size_t)len) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap - c->out_len < (size_t)len) {
            cap *= 2;
        }
        uint8_t *p = realloc(c->out, cap);
        if (p == NULL) {
            snprintf(why, wl, "out of memory");
            return -1;
        }
        c->out = p;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, frame, (size_t)len);
    c->out_len += (size_t)len;
    return 0;
}

static int rc_queue(struct rconn *c, const struct sk_msg *m, char *why, size_t wl)
{
    uint8_t frame[SK_FRAME_MAX + 4];
    int len = sk_msg_encode(m, frame, sizeof frame);
    if (len < 0) {
        snprintf(why, wl, "cannot encode the request: %s", sk_strerror(len));
        return -1;
    }
    return rc_queue_bytes(c, frame, (size_t)len, why, wl);
}

/* Read what the socket has. 0, or -1 when the connection ended or failed. */
static int rc_read(struct rconn *c, char *why, size_t wl)
{
    for (;;) {
        if (c->in_len == sizeof c->in) {
            return 0; /* full: the caller decodes, then reads again */
        }
        ssize_t n = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);
        if (n > 0) {
            c->in_len += (size_t)n;
            continue;
        }
        if (n == 0) {
            snprintf(why, wl, "%s closed the connection", c->addr);
            return -1;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return 0;
        }
        snprintf(why, wl, "connection to %s lost: %s", c->addr, strerror(errno));
        return -1;
    }
}

/* Decode the frame at the start of c->in. 1 with m (borrowing c->in) and
 * *used set, 0 when more bytes are needed, -1 for a frame the codec refuses. */
static int rc_frame(struct rconn *c, struct sk_msg *m, size_t *used, char *why, size_t wl)
{
    int rv = sk_msg_decode(c->in, c->in_len, m);
    if (rv > 0) {
        *used = (size_t)rv;
        return 1;
    }
    if (rv == 0) {
        return 0;
    }
    snprintf(why, wl, "bad frame from %s: %s", c->addr, sk_strerror(rv));
    return -1;
}

static void rc_consume(struct rconn *c, size_t used)
{
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
}

static struct rconn *check_conn(lua_State *L, int idx)
{
    return luaL_checkudata(L, idx, CONN_MT);
}

static int l_conn(lua_State *L)
{
    size_t al;
    const char *addr = luaL_checklstring(L, 1, &al);
    struct rconn *c = lua_newuserdatauv(L, sizeof *c, 0);
    memset(c, 0, offsetof(struct rconn, in));
    c->fd = -1;
    luaL_argcheck(L, al < sizeof c->addr, 1, "address too long");
    snprintf(c->addr, sizeof c->addr, "%s", addr);
    luaL_setmetatable(L, CONN_MT);
    return 1;
}

static int op_code(const char *op)
{
    if (strcmp(op, "acquire") == 0) {
        return SK_OP_ACQUIRE;
    }
    if (strcmp(op, "release") == 0) {
        return SK_OP_RELEASE;
    }
    if (strcmp(op, "renew") == 0) {
        return SK_OP_RENEW;
    }
    if (strcmp(op, "acquire_shared") == 0) {
        return SK_OP_ACQUIRE_SHARED;
    }
    return 0;
}

/* Has the instance closed or reset this connection (it crashed, or closed
 * an idle connection)? Unread replies are left where they are. */
static bool rc_stale(struct rconn *c)
{
    struct pollfd p = {c->fd, POLLIN, 0};
    if (poll(&p, 1, 0) <= 0) {
        return false;
    }
    if (p.revents & (POLLERR | POLLNVAL)) {
        return true;
    }
    uint8_t b;
    ssize_t n = recv(c->fd, &b, 1, MSG_PEEK);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* conn:send_req(seq, op, lock, holder, ttl_ms, client, fence) -> true, reopened | nil, why
 * ((client, seq): the request's identity; fence: a release's or renew's token, or 0)
 * (reopened: the old connection had ended; requests sent on it are lost) */
static int l_conn_send_req(lua_State *L)
{
    struct rconn *c = check_conn(L, 1);
    lua_Integer seq = luaL_checkinteger(L, 2);
    const char *op = luaL_checkstring(L, 3);
    size_t kl, hl;
    const char *key = luaL_checklstring(L, 4, &kl);
    const char *holder = luaL_checklstring(L, 5, &hl);
    lua_Integer ttl = luaL_optinteger(L, 6, 0);
    lua_Integer client = luaL_checkinteger(L, 7);
    lua_Integer fence = luaL_optinteger(L, 8, 0);
    int code = op_code(op);
    luaL_argcheck(L, code != 0, 3, "acquire, release, renew or acquire_shared");
    luaL_argcheck(L, seq != 0, 2, "a non-zero sequence number");
    luaL_argcheck(L, client != 0, 7, "a non-zero client id");
    luaL_argcheck(L, fence == 0 || !SK_OP_IS_ACQUIRE(code), 8, "an acquire carries no token");
    luaL_argcheck(L, kl >= 1 && kl <= SK_KEY_MAX, 4, "a lock name of 1 to 128 bytes");
    luaL_argcheck(L, hl <= SK_HOLDER_MAX, 5, "a holder name of at most 128 bytes");
    luaL_argcheck(L, ttl >= 0 && ttl <= UINT32_MAX, 6, "ttl out of range");
    char why[256];
    bool reopened = false;
    if (c->fd >= 0 && !c->connecting && rc_stale(c)) {
        rc_close(c);
        reopened = true;
    }
    if (c->fd < 0 && rc_open(c, why, sizeof why) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, why);
        return 2;
    }
    struct sk_msg m = {0};
    m.type = SK_MSG_CLIENT_REQ;
    m.op = (uint8_t)code;
    m.seq = (uint64_t)seq;
    m.client = (uint64_t)client;
    m.token = (uint64_t)fence;
    m.ttl_ms = (uint32_t)ttl;
    m.key = (const uint8_t *)key;
    m.key_len = (uint32_t)kl;
    m.holder = (const uint8_t *)holder;
    m.holder_len = (uint32_t)hl;
    if (rc_queue(c, &m, why, sizeof why) != 0 ||
        (!c->connecting && rc_flush(c, why, sizeof why) != 0)) {
        lua_pushnil(L);
        lua_pushstring(L, why);
        return 2;
    }
    lua_pushboolean(L, 1);
    lua_pushboolean(L, reopened);
    return 2;
}

static int l_conn_close(lua_State *L)
{
    rc_close(check_conn(L, 1));
    return 0;
}

static int l_conn_is_open(lua_State *L)
{
    lua_pushboolean(L, check_conn(L, 1)->fd >= 0);
    return 1;
}

static int l_conn_gc(lua_State *L)
{
    struct rconn *c = check_conn(L, 1);
    rc_close(c);
    free(c->out);
    c->out = NULL;
    c->out_cap = 0;
    return 0;
}

static void push_error_event(lua_State *L, lua_Integer i, const char *why, lua_Integer *k)
{
    lua_createtable(L, 0, 2);
    lua_pushinteger(L, i);
    lua_setfield(L, -2, "conn");
    lua_pushstring(L, why);
    lua_setfield(L, -2, "error");
    lua_rawseti(L, -2, ++*k);
}

static void push_str_field(lua_State *L, const char *name, const uint8_t *s, uint32_t len)
{
    if (len > 0) {
        lua_pushlstring(L, (const char *)s, len);
        lua_setfield(L, -2, name);
    }
}

/* Hand every complete CLIENT_REPLY in c->in to Lua. 0, or -1 (bad frame). */
static int drain_replies(lua_State *L, struct rconn *c, lua_Integer i, lua_Integer *k, char *why,
                         size_t wl)
{
    for (;;) {
        struct sk_msg m;
        size_t used;
        int rv = rc_frame(c, &m, &used, why, wl);
        if (rv < 0) {
            return -1;
        }
        if (rv == 0) {
            return 0;
        }
        if (m.type == SK_MSG_CLIENT_REPLY) {
            lua_createtable(L, 0, 6);
            lua_pushinteger(L, i);
            lua_setfield(L, -2, "conn");
            lua_pushinteger(L, (lua_Integer)m.seq);
            lua_setfield(L, -2, "seq");
            lua_pushstring(L, sk_status_name(m.status));
            lua_setfield(L, -2, "status");
            if (m.token) {
                lua_pushinteger(L, (lua_Integer)m.token);
                lua_setfield(L, -2, "token");
            }
            push_str_field(L, "holder", m.holder, m.holder_len);
            push_str_field(L, "text", m.text, m.text_len);
            push_str_field(L, "lock", m.key, m.key_len);
            if (m.phase == 1) {
                lua_pushboolean(L, 1);
                lua_setfield(L, -2, "waited");
            }
            lua_rawseti(L, -2, ++*k);
        }
        rc_consume(c, used);
    }
}

/* real.poll(conns, timeout_ms) -> events */
static int l_poll(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer timeout = luaL_optinteger(L, 2, 0);
    if (timeout < 0) {
        timeout = 0;
    }
    if (timeout > 60000) {
        timeout = 60000;
    }
    lua_Integer n = (lua_Integer)luaL_len(L, 1);
    struct pollfd *fds = lua_newuserdatauv(L, sizeof *fds * (size_t)(n > 0 ? n : 1), 0);
    struct rconn **cs = lua_newuserdatauv(L, sizeof *cs * (size_t)(n > 0 ? n : 1), 0);
    lua_Integer *idx = lua_newuserdatauv(L, sizeof *idx * (size_t)(n > 0 ? n : 1), 0);
    nfds_t nf = 0;
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, i);
        struct rconn *c = check_conn(L, -1);
        lua_pop(L, 1); /* the table keeps it alive */
        if (c->fd < 0) {
            continue;
        }
        fds[nf].fd = c->fd;
        fds[nf].events = (short)(POLLIN | (c->connecting || c->out_len > 0 ? POLLOUT : 0));
        fds[nf].revents = 0;
        cs[nf] = c;
        idx[nf] = i;
        nf++;
    }
    lua_newtable(L);
    lua_Integer k = 0;
    int rv;
    do {
        rv = poll(nf ? fds : NULL, nf, (int)timeout);
    } while (rv < 0 && errno == EINTR);
    if (rv <= 0) {
        return 1;
    }
    char why[256];
    for (nfds_t j = 0; j < nf; j++) {
        struct rconn *c = cs[j];
        short re = fds[j].revents;
        if (re == 0 || c->fd < 0) {
            continue;
        }
        if (c->connecting) {
            if (!(re & (POLLOUT | POLLERR | POLLHUP))) {
                continue;
            }
            if (rc_finish_connect(c, why, sizeof why) != 0) {
                push_error_event(L, idx[j], why, &k);
                continue;
            }
        }
        if (c->out_len > 0 && rc_flush(c, why, sizeof why) != 0) {
            push_error_event(L, idx[j], why, &k);
            continue;
        }
        if (re & (POLLIN | POLLHUP | POLLERR)) {
            for (;;) {
                int rr = rc_read(c, why, sizeof why);
                bool full = c->in_len == sizeof c->in;
                char bad[256];
                if (drain_replies(L, c, idx[j], &k, bad, sizeof bad) != 0) {
                    rc_close(c);
                    push_error_event(L, idx[j], bad, &k);
                    break;
                }
                if (rr != 0) {
                    rc_close(c);
                    push_error_event(L, idx[j], why, &k);
                    break;
                }
                if (!full) {
                    break;
                }
            }
        }
    }
    return 1;
}

/* --------------------------------------------- blocking calls with deadline */

static int left(int64_t deadline)
{
    int64_t d = deadline - clock_ms(CLOCK_MONOTONIC);
    return d <= 0 ? 0 : (d > 600000 ? 600000 : (int)d);
}

/* Wait until c is connected and its queue is written. 0 or -1. */
static int sync_flush(struct rconn *c, int64_t deadline, char *why, size_t wl)
{
    while (c->connecting || c->out_len > 0) {
        struct pollfd p = {c->fd, POLLOUT, 0};
        int ms = left(deadline);
        int rv = poll(&p, 1, ms);
        if (rv < 0 && errno == EINTR) {
            continue;
        }
        if (rv <= 0) {
            snprintf(why, wl, "%s did not accept the request in time", c->addr);
            return -1;
        }
        if (c->connecting && rc_finish_connect(c, why, wl) != 0) {
            return -1;
        }
        if (rc_flush(c, why, wl) != 0) {
            return -1;
        }
    }
    return 0;
}

static int sync_send(struct rconn *c, const struct sk_msg *m, int64_t deadline, char *why,
                     size_t wl)
{
    if (rc_open(c, why, wl) != 0 || rc_queue(c, m, why, wl) != 0) {
        return -1;
    }
    return sync_flush(c, deadline, why, wl);
}

/* Wait until c is readable by the deadline (an interrupted wait is
 * resumed), then read what came. 0, or -1 with why. */
static int wait_read(struct rconn *c, int64_t deadline, char *why, size_t wl)
{
    for (;;) {
        struct pollfd p = {c->fd, POLLIN, 0};
        int pr = poll(&p, 1, left(deadline));
        if (pr < 0 && errno == EINTR) {
            continue;
        }
        if (pr <= 0) {
            snprintf(why, wl, "no answer from %s in time", c->addr);
            return -1;
        }
        return rc_read(c, why, wl);
    }
}

/* Next frame by the deadline: 1 (m borrows c->in; consume *used after),
 * or -1 with why. */
static int sync_recv(struct rconn *c, struct sk_msg *m, size_t *used, int64_t deadline, char *why,
                     size_t wl)
{
    for (;;) {
        int rv = rc_frame(c, m, used, why, wl);
        if (rv != 0) {
            return rv;
        }
        if (wait_read(c, deadline, why, wl) != 0) {
            return -1;
        }
    }
}

static void push_ballot(lua_State *L, struct sk_ballot b)
{
    lua_pushfstring(L, "%I.%I", (lua_Integer)b.round, (lua_Integer)b.node);
}

/* real.status(addr, timeout_ms [, lock]) -> name, rows | nil, why
 * rows: { {lock=, promised=, accepted=, describe=, state= | state_error=}, ... } */
static int l_status(lua_State *L)
{
    const char *addr = luaL_checkstring(L, 1);
    lua_Integer timeout = luaL_checkinteger(L, 2);
    size_t kl = 0;
    const char *key = luaL_optlstring(L, 3, "", &kl);
    luaL_argcheck(L, kl <= SK_KEY_MAX, 3, "lock name too long");
    struct rconn *c = lua_newuserdatauv(L, sizeof *c, 0);
    memset(c, 0, offsetof(struct rconn, in));
    c->fd = -1;
    snprintf(c->addr, sizeof c->addr, "%s", addr);
    luaL_setmetatable(L, CONN_MT); /* closed by __gc if we raise */
    int64_t deadline = clock_ms(CLOCK_MONOTONIC) + timeout;
    char why[256];
    struct sk_msg req = {0};
    req.type = SK_MSG_STATUS_REQ;
    req.seq = 1;
    req.key = (const uint8_t *)key;
    req.key_len = (uint32_t)kl;
    if (sync_send(c, &req, deadline, why, sizeof why) != 0) {
        rc_close(c);
        lua_pushnil(L);
        lua_pushstring(L, why);
        return 2;
    }
    lua_newtable(L); /* rows */
    int rows = lua_gettop(L);
    lua_Integer n = 0;
    char name[SK_TEXT_MAX + 1] = "";
    for (;;) {
        struct sk_msg m;
        size_t used;
        if (sync_recv(c, &m, &used, deadline, why, sizeof why) != 1) {
            rc_close(c);
            lua_pushnil(L);
            lua_pushstring(L, why);
            return 2;
        }
        if (m.type == SK_MSG_STATUS_REPLY && m.seq == req.seq) {
            if (m.status == SK_STATUS_END) {
                /* the closing frame's text is the node's name */
                snprintf(name, sizeof name, "%.*s", (int)m.text_len, (const char *)m.text);
                break;
            }
            lua_createtable(L, 0, 5);
            /* a row's text: what its state means (the lock script's describe) */
            lua_pushlstring(L, (const char *)m.text, m.text_len);
            lua_setfield(L, -2, "describe");
            lua_pushlstring(L, (const char *)m.key, m.key_len);
            lua_setfield(L, -2, "lock");
            push_ballot(L, m.ballot);
            lua_setfield(L, -2, "promised");
            push_ballot(L, m.other);
            lua_setfield(L, -2, "accepted");
            const uint8_t *st;
            size_t st_len;
            char bad[160] = "not a register value";
            if (m.value_len == 0) {
                /* no value: a free lock */
            } else if (sk_value_state(m.value, m.value_len, &st, &st_len) == 0 &&
                       skl_value_push(L, st, st_len, bad, sizeof bad) == 0) {
                lua_setfield(L, -2, "state");
            } else {
                lua_pushstring(L, bad);
                lua_setfield(L, -2, "state_error");
            }
            lua_rawseti(L, rows, ++n);
        }
        rc_consume(c, used);
    }
    rc_close(c);
    lua_pushstring(L, name);
    lua_pushvalue(L, rows);
    return 2;
}

/* Wait until c->in holds n bytes. 0, or -1 with why. */
static int sync_fill(struct rconn *c, size_t n, int64_t deadline, char *why, size_t wl)
{
    while (c->in_len < n) {
        if (wait_read(c, deadline, why, wl) != 0) {
            return -1;
        }
    }
    return 0;
}

/* One control request authenticated with the cluster key in keyfile
 * (spec/PROTOCOL.md 11): the handshake, the sealed request, the sealed
 * reply. Pushes status, text or nil, why. */
static int keyed_control(lua_State *L, struct rconn *c, const char *keyfile,
                         const struct sk_msg *req, int64_t deadline)
{
    char why[512];
    static struct sk_auth a;
    static uint8_t key[SK_AUTH_KEY_BYTES], plain[SK_AUTH_RECORD_MAX], frame[SK_FRAME_MAX + 4],
        sealed[SK_FRAME_MAX + 4 + SK_AUTH_TAG_BYTES];
    int rv = -1, n;
    struct sk_msg h, p;
    uint8_t hv[32];
    size_t used;
    if (sk_auth_init() != 0) {
        snprintf(why, sizeof why, "libsodium cannot start");
        goto out;
    }
    if (sk_auth_key_load(keyfile, "cluster key", key, why, sizeof why) != 0) {
        goto out;
    }
    n = sk_auth_dial(&a, key, SK_AUTH_CONTROL, 0, 0, frame, sizeof frame);
    if (n < 0 || rc_open(c, why, sizeof why) != 0 ||
        rc_queue_bytes(c, frame, (size_t)n, why, sizeof why) != 0 ||
        sync_flush(c, deadline, why, sizeof why) != 0) {
        goto out;
    }
    if (sync_recv(c, &h, &used, deadline, why, sizeof why) != 1) {
        goto out;
    }
    if (h.type != SK_MSG_AUTH) {
        snprintf(why, sizeof why, "%s refused the control handshake", c->addr);
        goto out;
    }
    memcpy(hv, h.value, 32);
    h.value = hv;
    rc_consume(c, used);
    if (sync_recv(c, &p, &used, deadline, why, sizeof why) != 1) {
        goto out;
    }
    n = sk_auth_dialer_finish(&a, &h, &p, frame, sizeof frame, why, sizeof why);
    rc_consume(c, used);
    if (n < 0 || rc_queue_bytes(c, frame, (size_t)n, why, sizeof why) != 0) {
        goto out;
    }
    n = sk_msg_encode(req, frame, sizeof frame);
    int sl = n < 0 ? n : sk_auth_seal(&a, frame, (size_t)n, sealed, sizeof sealed);
    if (sl < 0 || rc_queue_bytes(c, sealed, (size_t)sl, why, sizeof why) != 0 ||
        sync_flush(c, deadline, why, sizeof why) != 0) {
        goto out;
    }
    for (;;) {
        if (sync_fill(c, 4, deadline, why, sizeof why) != 0) {
            goto out;
        }
        int want = sk_auth_sealed_len(c->in, c->in_len);
        if (want <= 0) {
            snprintf(why, sizeof why, "bad sealed frame from %s", c->addr);
            goto out;
        }
        if (sync_fill(c, (size_t)want, deadline, why, sizeof why) != 0) {
            goto out;
        }
        int pl = sk_auth_open(&a, c->in, (size_t)want, plain, sizeof plain);
        if (pl < 0) {
            snprintf(why, sizeof why, "a frame from %s failed authentication", c->addr);
            goto out;
        }
        rc_consume(c, (size_t)want);
        /* a record holds one or more whole frames */
        for (int off = 0; off < pl;) {
            struct sk_msg m;
            int fr = sk_msg_decode(plain + off, (size_t)(pl - off), &m);
            if (fr <= 0) {
                snprintf(why, sizeof why, "a bad sealed record from %s", c->addr);
                goto out;
            }
            off += fr;
            if (m.type == SK_MSG_CLIENT_REPLY && m.seq == req->seq) {
                lua_pushstring(L, sk_status_name(m.status));
                lua_pushlstring(L, (const char *)m.text, m.text_len);
                rv = 0;
                goto out;
            }
        }
    }
out:
    sk_auth_wipe(&a);
    memset(key, 0, sizeof key);
    rc_close(c);
    if (rv != 0) {
        lua_pushnil(L);
        lua_pushstring(L, why);
    }
    return 2;
}

/* real.control(addr, op, key, ms, timeout_ms [, keyfile]) -> status, text | nil, why
 * keyfile: the cluster key file; the request then authenticates. */
static int l_control(lua_State *L)
{

    const char *addr = luaL_checkstring(L, 1);
    lua_Integer op = luaL_checkinteger(L, 2);
    size_t kl = 0;
    const char *key = luaL_optlstring(L, 3, "", &kl);
    lua_Integer ms = luaL_optinteger(L, 4, 0);
    lua_Integer timeout = luaL_optinteger(L, 5, 2000);
    luaL_argcheck(L, op >= 1 && op <= 255, 2, "a control op");
    luaL_argcheck(L, kl <= SK_KEY_MAX, 3, "name too long");
    luaL_argcheck(L, ms >= 0 && ms <= UINT32_MAX, 4, "ms out of range");
    struct rconn *c = lua_newuserdatauv(L, sizeof *c, 0);
    memset(c, 0, offsetof(struct rconn, in));
    c->fd = -1;
    snprintf(c->addr, sizeof c->addr, "%s", addr);
    luaL_setmetatable(L, CONN_MT);
    int64_t deadline = clock_ms(CLOCK_MONOTONIC) + timeout;
    char why[256];
    struct sk_msg req = {0};
    req.type = SK_MSG_CONTROL;
    req.op = (uint8_t)op;
    req.seq = 1;
    req.ttl_ms = (uint32_t)ms;
    req.key = (const uint8_t *)key;
    req.key_len = (uint32_t)kl;
    const char *keyfile = luaL_optstring(L, 6, NULL);
    if (keyfile != NULL) {
        return keyed_control(L, c, keyfile, &req, deadline);
    }
    if (sync_send(c, &req, deadline, why, sizeof why) != 0) {
        rc_close(c);
        lua_pushnil(L);
        lua_pushstring(L, why);
        return 2;
    }
    for (;;) {
        struct sk_msg m;
        size_t used;
        if (sync_recv(c, &m, &used, deadline, why, sizeof why) != 1) {
            rc_close(c);
            lua_pushnil(L);
            lua_pushstring(L, why);
            return 2;
        }
        if (m.type == SK_MSG_CLIENT_REPLY && m.seq == req.seq) {
            lua_pushstring(L, sk_status_name(m.status));
            lua_pushlstring(L, (const char *)m.text, m.text_len);
            rc_close(c);
            return 2;
        }
        rc_consume(c, used);
    }
}

/* ----------------------------------------------------------------- trace */

static uint64_t check_u64(lua_State *L, int idx)
{
    lua_Integer v = luaL_checkinteger(L, idx);
    return v < 0 ? 0 : (uint64_t)v;
}

static int push_line(lua_State *L, struct sk_buf *b)
{
    skl_trace_end(b);
    lua_pushlstring(L, (const char *)b->data, b->len);
    free(b->data);
    return 1;
}

/* real.trace_invoke(t, req, client, node, op, lock, holder, ttl [, attempt, resend_of]) -> line
 * A resend (attempt > 1) names the req of its op's first send, as the
 * simulator's invoke events do (skl_trace_resend). */
static int l_trace_invoke(lua_State *L)
{
    uint64_t t = check_u64(L, 1), req = check_u64(L, 2);
    const char *client = luaL_checkstring(L, 3);
    const char *node = luaL_checkstring(L, 4);
    int op = op_code(luaL_checkstring(L, 5));
    size_t kl, hl;
    const char *key = luaL_checklstring(L, 6, &kl);
    const char *holder = luaL_checklstring(L, 7, &hl);
    lua_Integer ttl = luaL_optinteger(L, 8, 0);
    lua_Integer attempt = luaL_optinteger(L, 9, 1);
    lua_Integer resend_of = luaL_optinteger(L, 10, 0);
    luaL_argcheck(L, op != 0, 5, "acquire, release or renew");
    luaL_argcheck(L, attempt >= 1 && attempt <= UINT32_MAX, 9, "attempt: 1 or more");
    luaL_argcheck(L, (attempt == 1) == (resend_of == 0) && resend_of >= 0, 10,
                  "a resend (attempt > 1) names its first send, and only a resend does");
    struct sk_client_req r = {req,
                              (uint8_t)op,
                              ttl > 0 && ttl <= UINT32_MAX ? (uint32_t)ttl : 0,
                              (const uint8_t *)key,
                              (uint32_t)kl,
                              (const uint8_t *)holder,
                              (uint32_t)hl,
                              0,
                              0,
                              0};
    struct sk_buf b = {0};
    skl_trace_invoke(&b, t, req, client, node, &r);
    if (attempt > 1) {
        skl_trace_resend(&b, (uint32_t)attempt, (uint64_t)resend_of);
    }
    return push_line(L, &b);
}

/* real.trace_complete(t, req, client, node, lock, status, holder, token, text[, waited]) -> line
 * real.trace_late(the same) -> line: the answer to an attempt given up on */
static int trace_answer(lua_State *L, bool late)
{
    uint64_t t = check_u64(L, 1), req = check_u64(L, 2);
    const char *client = luaL_checkstring(L, 3);
    const char *node = luaL_checkstring(L, 4);
    size_t kl;
    const char *key = luaL_checklstring(L, 5, &kl);
    const char *status = luaL_checkstring(L, 6);
    const char *holder = luaL_optstring(L, 7, NULL);
    lua_Integer token = luaL_optinteger(L, 8, 0);
    const char *text = luaL_optstring(L, 9, NULL);
    struct sk_buf b = {0};
    (late ? skl_trace_late : skl_trace_complete)(&b, t, req, client, node, (const uint8_t *)key,
                                                 kl, status, holder,
                                                 token > 0 ? (uint64_t)token : 0, text);
    if (lua_toboolean(L, 10)) {
        skl_trace_printf(&b, ",\"waited\":true");
    }
    return push_line(L, &b);
}

static int l_trace_complete(lua_State *L)
{
    return trace_answer(L, false);
}

static int l_trace_late(lua_State *L)
{
    return trace_answer(L, true);
}

/* real.trace_fault(t, node, what) -> line */
static int l_trace_fault(lua_State *L)
{
    uint64_t t = check_u64(L, 1);
    const char *node = luaL_checkstring(L, 2);
    const char *what = luaL_checkstring(L, 3);
    struct sk_buf b = {0};
    skl_trace_fault(&b, t, node, what);
    return push_line(L, &b);
}

/* ------------------------------------------------- stop labs at exit */

#define MAX_GUARDS 64

static struct guard {
    bool used;
    char bin[PATH_MAX];
    char dir[PATH_MAX];
    bool keep;
} g_guards[MAX_GUARDS];
static bool g_atexit;

/* Run argv[0] with argv, output to /dev/null, and wait for it. */
static void run_quietly(char *const argv[])
{
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    if (pid > 0) {
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
    }
}

/* Runs at exit() (os.exit included) or when the module is unloaded: every
 * lab still up is stopped by its own skinny-lab, which signals exactly the
 * daemons it recorded, and its run directory goes (unless kept). */
static void stop_guarded_labs(void)
{
    for (int i = 0; i < MAX_GUARDS; i++) {
        struct guard *g = &g_guards[i];
        if (!g->used) {
            continue;
        }
        g->used = false;
        char down[] = "down", dirflag[] = "--dir";
        char *lab_argv[] = {g->bin, down, dirflag, g->dir, NULL};
        run_quietly(lab_argv);
        if (!g->keep) {
            char rm[] = "/bin/rm", rf[] = "-rf", dd[] = "--";
            char *rm_argv[] = {rm, rf, dd, g->dir, NULL};
            run_quietly(rm_argv);
        }
    }
}

static int l_guard(lua_State *L)
{
    const char *bin = luaL_checkstring(L, 1);
    const char *dir = luaL_checkstring(L, 2);
    bool keep = lua_toboolean(L, 3);
    luaL_argcheck(L, strlen(bin) < PATH_MAX, 1, "path too long");
    luaL_argcheck(L, strlen(dir) < PATH_MAX, 2, "path too long");
    if (!g_atexit) {
        if (atexit(stop_guarded_labs) != 0) {
            return luaL_error(L, "cannot register the exit hook");
        }
        g_atexit = true;
    }
    for (int i = 0; i < MAX_GUARDS; i++) {
        if (!g_guards[i].used) {
            g_guards[i].used = true;
            snprintf(g_guards[i].bin, sizeof g_guards[i].bin, "%s", bin);
            snprintf(g_guards[i].dir, sizeof g_guards[i].dir, "%s", dir);
            g_guards[i].keep = keep;
            lua_pushboolean(L, 1);
            return 1;
        }
    }
    return luaL_error(L, "more than %d real labs open at once", MAX_GUARDS);
}

static int l_unguard(lua_State *L)
{
    const char *dir = luaL_checkstring(L, 1);
    for (int i = 0; i < MAX_GUARDS; i++) {
        if (g_guards[i].used && strcmp(g_guards[i].dir, dir) == 0) {
            g_guards[i].used = false;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- module */

static const luaL_Reg conn_methods[] = {
    {"send_req", l_conn_send_req},
    {"close", l_conn_close},
    {"is_open", l_conn_is_open},
    {NULL, NULL},
};

static const luaL_Reg funcs[] = {
    {"now", l_now},
    {"wall", l_wall},
    {"wall_us", l_wall_us},
    {"client_id", l_client_id},
    {"mkdtemp", l_mkdtemp},
    {"conn", l_conn},
    {"poll", l_poll},
    {"status", l_status},
    {"control", l_control},
    {"trace_invoke", l_trace_invoke},
    {"trace_complete", l_trace_complete},
    {"trace_late", l_trace_late},
    {"trace_fault", l_trace_fault},
    {"guard", l_guard},
    {"unguard", l_unguard},
    {NULL, NULL},
};

int luaopen_skinny_real(lua_State *L)
{
    if (luaL_newmetatable(L, CONN_MT)) {
        luaL_newlib(L, conn_methods);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, l_conn_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    luaL_newlib(L, funcs);
    lua_pushinteger(L, SK_CTL_DROP);
    lua_setfield(L, -2, "CTL_DROP");
    lua_pushinteger(L, SK_CTL_DELAY);
    lua_setfield(L, -2, "CTL_DELAY");
    lua_pushinteger(L, SK_CTL_HEAL);
    lua_setfield(L, -2, "CTL_HEAL");
    lua_pushinteger(L, SK_CTL_RELOAD);
    lua_setfield(L, -2, "CTL_RELOAD");
    lua_pushinteger(L, SK_CTL_PING);
    lua_setfield(L, -2, "CTL_PING");
    return 1;
}
