/* skclient.c - blocking client frames with deadlines (see skclient.h). */
#include "cmd/skclient.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t skc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t skc_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t skc_client_id(void)
{
    uint64_t id = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, &id, sizeof id) != (ssize_t)sizeof id) {
            id = 0;
        }
        close(fd);
    }
    if (id == 0) { /* no urandom: time and pid are unique enough on one host */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        id = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^
             ((uint64_t)getpid() << 40);
    }
    return id != 0 ? id : 1;
}

uint64_t skc_next_seq(uint64_t *last)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t us = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
    *last = us > *last ? us : *last + 1;
    return *last;
}

static int left_ms(uint64_t deadline)
{
    uint64_t t = skc_now_ms();
    if (t >= deadline) {
        return 0;
    }
    uint64_t d = deadline - t;
    return d > 1000000 ? 1000000 : (int)d;
}

int skc_parse_addr(const char *s, struct sockaddr_storage *sa, socklen_t *len)
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
    memset(sa, 0, sizeof *sa);
    char *h = host;
    size_t hl = strlen(h);
    if (h[0] == '[') {
        if (hl < 3 || h[hl - 1] != ']') {
            return -1;
        }
        h[hl - 1] = 0;
        h++;
    }
    if (strcmp(h, "localhost") == 0) {
        h = "127.0.0.1";
    }
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

int skc_dial(struct skc_conn *c, const char *addr, uint64_t deadline, char *why, size_t wl)
{
    c->fd = -1;
    c->len = c->off = 0;
    c->sealed = false;
    c->plain_len = c->plain_off = 0;
    struct sockaddr_storage sa;
    socklen_t sl;
    if (skc_parse_addr(addr, &sa, &sl) != 0) {
        snprintf(why, wl, "bad address \"%s\" (expected host:port)", addr);
        return -1;
    }
    int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(why, wl, "socket: %s", strerror(errno));
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&sa, sl) != 0 && errno != EINPROGRESS) {
        snprintf(why, wl, "%s", strerror(errno));
        close(fd);
        return -1;
    }
    struct pollfd p = {fd, POLLOUT, 0};
    int rv;
    do {
        rv = poll(&p, 1, left_ms(deadline));
    } while (rv < 0 && errno == EINTR);
    if (rv <= 0) {
        snprintf(why, wl, "connect timed out");
        close(fd);
        return -1;
    }
    int soerr = 0;
    socklen_t el = sizeof soerr;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &el);
    if (soerr != 0) {
        snprintf(why, wl, "%s", strerror(soerr));
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->fd = fd;
    return 0;
}

void skc_close(struct skc_conn *c)
{
    if (c->fd >= 0) {
        close(c->fd);
    }
    c->fd = -1;
    c->len = c->off = 0;
    if (c->sealed) {
        sk_auth_wipe(&c->auth);
    }
    c->sealed = false;
    c->plain_len = c->plain_off = 0;
}

static int send_bytes(struct skc_conn *c, const uint8_t *p, size_t n, uint64_t deadline, char *why,
                      size_t wl)
{
    while (n > 0) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
            snprintf(why, wl, "send failed: %s", strerror(errno));
            return -1;
        }
        struct pollfd pf = {c->fd, POLLOUT, 0};
        if (poll(&pf, 1, left_ms(deadline)) <= 0 && skc_now_ms() >= deadline) {
            snprintf(why, wl, "send timed out");
            return -1;
        }
    }
    return 0;
}

int skc_auth(struct skc_conn *c, const uint8_t key[SK_AUTH_KEY_BYTES], int role,
             uint64_t deadline, char *why, size_t wl)
{
    uint8_t hello[4 + 79 + 32];
    if (sk_auth_init() != 0) {
        snprintf(why, wl, "libsodium cannot start");
        return -1;
    }
    int n = sk_auth_dial(&c->auth, key, role, 0, 0, hello, sizeof hello);
    if (n < 0 || send_bytes(c, hello, (size_t)n, deadline, why, wl) != 0) {
        if (n < 0) {
            snprintf(why, wl, "cannot encode a hello");
        }
        return -1;
    }
    struct sk_msg h, p;
    uint8_t hv[32];
    int rv = skc_recv(c, &h, deadline, why, wl);
    if (rv == 1 && h.type == SK_MSG_AUTH) {
        memcpy(hv, h.value, 32); /* the next receive may move the buffer */
        h.value = hv;
        rv = skc_recv(c, &p, deadline, why, wl);
    }
    if (rv != 1 || h.type != SK_MSG_AUTH || p.type != SK_MSG_AUTH) {
        if (rv == 1 && h.type == SK_MSG_CLIENT_REPLY) {
            snprintf(why, wl, "the instance answered our hello with: %.*s", (int)h.text_len,
                     h.text ? (const char *)h.text : "");
        } else if (rv >= 0) {
            snprintf(why, wl, "the instance refused the %s handshake (it holds no such key, or "
                              "another one: its log says why)",
                     sk_auth_role_name(role));
        }
        sk_auth_wipe(&c->auth);
        return -1;
    }
    uint8_t proof[4 + 79 + 32];
    n = sk_auth_dialer_finish(&c->auth, &h, &p, proof, sizeof proof, why, wl);
    if (n < 0 || send_bytes(c, proof, (size_t)n, deadline, why, wl) != 0) {
        sk_auth_wipe(&c->auth);
        return -1;
    }
    c->sealed = true;
    return 0;
}

int skc_key_from(const char *path, const char *env, const char *what,
                 uint8_t key[SK_AUTH_KEY_BYTES], char *why, size_t wl)
{
    if (path == NULL || path[0] == 0) {
        path = env != NULL ? getenv(env) : NULL;
    }
    if (path == NULL || path[0] == 0) {
        return 0;
    }
    if (sk_auth_init() != 0) {
        snprintf(why, wl, "libsodium cannot start");
        return -1;
    }
    return sk_auth_key_load(path, what, key, why, wl) == 0 ? 1 : -1;
}

int skc_send(struct skc_conn *c, const struct sk_msg *m, uint64_t deadline, char *why, size_t wl)
{
    uint8_t frame[SK_FRAME_MAX + 4], sealed[SK_FRAME_MAX + 4 + SK_AUTH_TAG_BYTES];
    int len = sk_msg_encode(m, frame, sizeof frame);
    if (len < 0) {
        snprintf(why, wl, "cannot encode the request: %s", sk_strerror(len));
        return -1;
    }
    if (c->sealed) {
        int sl = sk_auth_seal(&c->auth, frame, (size_t)len, sealed, sizeof sealed);
        if (sl < 0) {
            snprintf(why, wl, "cannot seal the request: %s", sk_strerror(sl));
            return -1;
        }
        return send_bytes(c, sealed, (size_t)sl, deadline, why, wl);
    }
    return send_bytes(c, frame, (size_t)len, deadline, why, wl);
}

int skc_recv(struct skc_conn *c, struct sk_msg *m, uint64_t deadline, char *why, size_t wl)
{
    if (c->off > 0) {
        memmove(c->buf, c->buf + c->off, c->len - c->off);
        c->len -= c->off;
        c->off = 0;
    }
    for (;;) {
        int rv;
        if (c->sealed && c->plain_off < c->plain_len) {
            /* the next frame of the record last opened */
            rv = sk_msg_decode(c->plain + c->plain_off, c->plain_len - c->plain_off, m);
            if (rv <= 0) {
                snprintf(why, wl, "a sealed record from the instance ends mid-frame");
                return -1;
            }
            c->plain_off += (size_t)rv;
            return 1;
        }
        if (c->sealed) {
            rv = sk_auth_sealed_len(c->buf, c->len);
            if (rv < 0) {
                snprintf(why, wl, "bad sealed frame from the instance: %s", sk_strerror(rv));
                return -1;
            }
            if (rv > 0 && (size_t)rv <= c->len) {
                int pl = sk_auth_open(&c->auth, c->buf, (size_t)rv, c->plain, sizeof c->plain);
                if (pl < 0) {
                    snprintf(why, wl, "a frame from the instance failed authentication");
                    return -1;
                }
                c->off = (size_t)rv;
                c->plain_len = (size_t)pl;
                c->plain_off = 0;
                continue; /* its first frame, above */
            }
            rv = 0;
        } else {
            rv = sk_msg_decode(c->buf, c->len, m);
        }
        if (rv < 0) {
            snprintf(why, wl, "bad frame from the instance: %s", sk_strerror(rv));
            return -1;
        }
        if (rv > 0) {
            c->off = (size_t)rv;
            return 1;
        }
        struct pollfd pf = {c->fd, POLLIN, 0};
        int pr = poll(&pf, 1, left_ms(deadline));
        if (pr < 0 && errno == EINTR) {
            if (skc_now_ms() < deadline) {
                continue;
            }
        }
        if (pr <= 0) {
            snprintf(why, wl, "no answer in time");
            return 0;
        }
        ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
        if (n <= 0) {
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                continue;
            }
            snprintf(why, wl, "connection closed by the instance");
            return 0;
        }
        c->len += (size_t)n;
    }
}

int skc_call(struct skc_conn *c, const struct sk_msg *req, struct sk_msg *rep, uint64_t deadline,
             char *why, size_t wl)
{
    if (skc_send(c, req, deadline, why, wl) != 0) {
        return -1;
    }
    for (;;) {
        int rv = skc_recv(c, rep, deadline, why, wl);
        if (rv <= 0) {
            return rv;
        }
        if (rep->type == SK_MSG_CLIENT_REPLY && rep->seq == req->seq) {
            return 1;
        }
    }
}

int skc_control(const char *addr, int op, const char *key, uint32_t ms, uint64_t timeout_ms,
                char *out, size_t outlen)
{
    return skc_control_keyed(addr, NULL, op, key, ms, timeout_ms, out, outlen);
}

int skc_control_keyed(const char *addr, const uint8_t *ckey, int op, const char *key, uint32_t ms,
                      uint64_t timeout_ms, char *out, size_t outlen)
{
    static struct skc_conn c;
    uint64_t deadline = skc_now_ms() + timeout_ms;
    if (skc_dial(&c, addr, deadline, out, outlen) != 0) {
        return -1;
    }
    if (ckey != NULL && skc_auth(&c, ckey, SK_AUTH_CONTROL, deadline, out, outlen) != 0) {
        skc_close(&c);
        return -1;
    }
    struct sk_msg m = {0}, r;
    m.type = SK_MSG_CONTROL;
    m.op = (uint8_t)op;
    m.seq = (uint64_t)skc_now_us();
    m.ttl_ms = ms;
    if (key != NULL) {
        m.key = (const uint8_t *)key;
        m.key_len = (uint32_t)strlen(key);
    }
    int rv = skc_call(&c, &m, &r, deadline, out, outlen);
    int status = -1;
    if (rv == 1) {
        status = r.status;
        snprintf(out, outlen, "%.*s", (int)r.text_len, r.text ? (const char *)r.text : "");
    }
    skc_close(&c);
    return status;
}

int64_t skc_parse_duration(const char *s)
{
    if (s == NULL || *s == 0) {
        return -1;
    }
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0 || !isfinite(v)) {
        return -1;
    }
    double mul;
    if (*end == 0 || strcmp(end, "ms") == 0) {
        mul = 1;
    } else if (strcmp(end, "s") == 0) {
        mul = 1000;
    } else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0) {
        mul = 60000;
    } else if (strcmp(end, "h") == 0) {
        mul = 3600000;
    } else {
        return -1;
    }
    double ms = v * mul;
    if (ms > 9.0e15) {
        return -1;
    }
    return (int64_t)(ms + 0.5);
}
