/* skinnyctl - talk to a Skinny cluster: acquire, release, status, control.
 *
 * Plain blocking sockets with poll() deadlines; no libuv needed. A request
 * goes to the first instance of --cluster that answers; when one cannot be
 * reached or does not answer in time, the next is tried (failover). Exit
 * codes (spec/DAEMON.md):
 *   0  done: granted, released, status read, control applied
 *   1  refused: the lock is held by someone else, or release by a non-holder
 *   2  unavailable: no instance answered, no majority, contended (outcome unknown)
 *   3  error: an instance answered with an error (a failing script, a bad request)
 *  64  usage
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "net/control.h"
#include "sk.h"

enum { CTL_OK = 0, CTL_REFUSED = 1, CTL_UNAVAILABLE = 2, CTL_ERROR = 3, CTL_USAGE = 64 };

#define MAX_ADDRS 32

struct ctl {
    char *addrs[MAX_ADDRS];
    int n_addrs;
    int timeout_ms;
    bool json;
    const char *lock;
    uint32_t ttl_ms;
    uint64_t seq;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int parse_addr(const char *s, struct sockaddr_storage *sa, socklen_t *len)
{
    char host[80];
    const char *colon = strrchr(s, ':');
    if (colon == NULL || (size_t)(colon - s) >= sizeof host) {
        return -1;
    }
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    int port = atoi(colon + 1);
    memset(sa, 0, sizeof *sa);
    char *h = host;
    if (h[0] == '[') {
        h++;
        h[strlen(h) - 1] = 0;
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

/* Connect with a deadline. Returns the fd or -1 with why filled. */
static int dial(const char *addr, uint64_t deadline, char *why, size_t wl)
{
    struct sockaddr_storage sa;
    socklen_t sl;
    if (parse_addr(addr, &sa, &sl) != 0) {
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
    uint64_t n = now_ms();
    int rv = poll(&p, 1, deadline > n ? (int)(deadline - n) : 0);
    int soerr = 0;
    socklen_t el = sizeof soerr;
    if (rv <= 0) {
        snprintf(why, wl, "connect timed out");
        close(fd);
        return -1;
    }
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &el);
    if (soerr != 0) {
        snprintf(why, wl, "%s", strerror(soerr));
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int send_all(int fd, const uint8_t *p, size_t n, uint64_t deadline)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
            return -1;
        }
        struct pollfd pf = {fd, POLLOUT, 0};
        uint64_t t = now_ms();
        if (t >= deadline || poll(&pf, 1, (int)(deadline - t)) <= 0) {
            return -1;
        }
    }
    return 0;
}

struct reader {
    int fd;
    uint8_t buf[2 * (SK_FRAME_MAX + 4)];
    size_t len, off;
};

/* Read the next frame. 1 with m filled (borrowing r->buf until the next
 * call), 0 on timeout or EOF, -1 on a bad frame. */
static int read_frame(struct reader *r, struct sk_msg *m, uint64_t deadline, char *why, size_t wl)
{
    if (r->off > 0) {
        memmove(r->buf, r->buf + r->off, r->len - r->off);
        r->len -= r->off;
        r->off = 0;
    }
    for (;;) {
        int rv = sk_msg_decode(r->buf, r->len, m);
        if (rv < 0) {
            snprintf(why, wl, "bad frame from the instance: %s", sk_strerror(rv));
            return -1;
        }
        if (rv > 0) {
            r->off = (size_t)rv;
            return 1;
        }
        uint64_t t = now_ms();
        struct pollfd pf = {r->fd, POLLIN, 0};
        if (t >= deadline || poll(&pf, 1, (int)(deadline - t)) <= 0) {
            snprintf(why, wl, "no answer in time");
            return 0;
        }
        ssize_t n = recv(r->fd, r->buf + r->len, sizeof r->buf - r->len, 0);
        if (n <= 0) {
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                continue;
            }
            snprintf(why, wl, "connection closed by the instance");
            return 0;
        }
        r->len += (size_t)n;
    }
}

static void json_str(const char *key, const void *s, size_t n, bool comma)
{
    printf("%s\"%s\":\"", comma ? "," : "", key);
    const uint8_t *p = s;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '"' || p[i] == '\\') {
            printf("\\%c", p[i]);
        } else if (p[i] < 0x20) {
            printf("\\u%04x", p[i]);
        } else {
            putchar(p[i]);
        }
    }
    putchar('"');
}

/* ------------------------------------------------------------ requests */

static int exit_for(int status)
{
    switch (status) {
    case SK_ST_GRANTED:
    case SK_ST_RELEASED: return CTL_OK;
    case SK_ST_REFUSED:
    case SK_ST_NOT_HOLDER: return CTL_REFUSED;
    case SK_ST_CONTENDED:
    case SK_ST_UNAVAILABLE: return CTL_UNAVAILABLE;
    default: return CTL_ERROR;
    }
}

/* One request/reply with failover over the cluster. */
static int request(struct ctl *c, struct sk_msg *req, int only, const char *what)
{
    char why[256] = "";
    char last[512] = "no instances given";
    for (int i = 0; i < c->n_addrs; i++) {
        if (only >= 0 && i != only) {
            continue;
        }
        const char *addr = c->addrs[i];
        uint64_t deadline = now_ms() + (uint64_t)c->timeout_ms;
        int fd = dial(addr, deadline, why, sizeof why);
        if (fd < 0) {
            snprintf(last, sizeof last, "%s: %s", addr, why);
            if (!c->json) {
                fprintf(stderr, "skinnyctl: %s; trying the next instance\n", last);
            }
            continue;
        }
        req->seq = ++c->seq;
        uint8_t frame[SK_FRAME_MAX + 4];
        int len = sk_msg_encode(req, frame, sizeof frame);
        if (len < 0) {
            fprintf(stderr, "skinnyctl: cannot encode the request: %s\n", sk_strerror(len));
            close(fd);
            return CTL_USAGE;
        }
        static struct reader r;
        memset(&r, 0, sizeof r);
        r.fd = fd;
        struct sk_msg m;
        int rv = send_all(fd, frame, (size_t)len, deadline) == 0
                     ? read_frame(&r, &m, deadline, why, sizeof why)
                     : (snprintf(why, sizeof why, "send failed"), 0);
        close(fd);
        if (rv <= 0) {
            snprintf(last, sizeof last, "%s: %s", addr, why);
            if (!c->json) {
                fprintf(stderr, "skinnyctl: %s; trying the next instance\n", last);
            }
            continue;
        }
        if (m.type != SK_MSG_CLIENT_REPLY || m.seq != req->seq) {
            snprintf(last, sizeof last, "%s: unexpected answer %s", addr, sk_msg_type_name(m.type));
            continue;
        }
        int code = exit_for(m.status);
        if (c->json) {
            printf("{\"op\":\"%s\",\"status\":\"%s\"", what, sk_status_name(m.status));
            json_str("instance", addr, strlen(addr), true);
            if (m.key_len) json_str("lock", m.key, m.key_len, true);
            if (m.holder_len) json_str("holder", m.holder, m.holder_len, true);
            if (m.token) printf(",\"token\":%" PRIu64, m.token);
            if (m.text_len) json_str("text", m.text, m.text_len, true);
            printf(",\"exit\":%d}\n", code);
        } else {
            const char *lk = c->lock;
            switch (m.status) {
            case SK_ST_GRANTED:
                if (req->type == SK_MSG_CONTROL) {
                    printf("%s: %.*s\n", addr, (int)m.text_len, (const char *)m.text);
                } else {
                    printf("granted: %s holds \"%s\" (fencing token %" PRIu64 ")\n",
                           req->holder ? (const char *)req->holder : "?", lk, m.token);
                }
                break;
            case SK_ST_RELEASED: printf("released: \"%s\" is free\n", lk); break;
            case SK_ST_REFUSED:
                printf("refused: \"%s\" is held by %.*s\n", lk, (int)m.holder_len,
                       (const char *)m.holder);
                break;
            case SK_ST_NOT_HOLDER:
                printf("refused: %.*s does not hold \"%s\"%s%.*s\n", (int)req->holder_len,
                       (const char *)req->holder, lk, m.holder_len ? "; it is held by " : "",
                       (int)m.holder_len, (const char *)m.holder);
                break;
            default:
                printf("%s: %.*s\n", sk_status_name(m.status), (int)m.text_len,
                       (const char *)m.text);
                break;
            }
        }
        return code;
    }
    if (c->json) {
        printf("{\"op\":\"%s\",\"status\":\"unavailable\"", what);
        json_str("text", last, strlen(last), true);
        printf(",\"exit\":%d}\n", CTL_UNAVAILABLE);
    } else {
        fprintf(stderr, "skinnyctl: unavailable: no instance answered (last: %s)\n", last);
    }
    return CTL_UNAVAILABLE;
}

static void fmt_ballot(char *out, size_t len, struct sk_ballot b)
{
    if (sk_ballot_is_zero(b)) {
        snprintf(out, len, "-");
    } else {
        snprintf(out, len, "%" PRIu64 ".%" PRIu32, b.round, b.node);
    }
}

static int status(struct ctl *c)
{
    int answered = 0;
    bool first = true;
    if (c->json) {
        printf("[");
    } else {
        printf("%-12s %-16s %-12s %-12s %-16s %s\n", "NAME", "LOCK", "PROMISED", "ACCEPTED",
               "HOLDER", "LAST SEEN");
    }
    for (int i = 0; i < c->n_addrs; i++) {
        const char *addr = c->addrs[i];
        char why[256];
        uint64_t deadline = now_ms() + (uint64_t)c->timeout_ms;
        int fd = dial(addr, deadline, why, sizeof why);
        struct sk_msg req = {0};
        req.type = SK_MSG_STATUS_REQ;
        req.seq = ++c->seq;
        if (fd < 0) {
            goto unreachable;
        }
        {
            if (c->lock != NULL && strcmp(c->lock, "*") != 0) {
                req.key = (const uint8_t *)c->lock;
                req.key_len = (uint32_t)strlen(c->lock);
            }
            uint8_t frame[SK_FRAME_MAX + 4];
            int len = sk_msg_encode(&req, frame, sizeof frame);
            static struct reader r;
            memset(&r, 0, sizeof r);
            r.fd = fd;
            if (len < 0 || send_all(fd, frame, (size_t)len, deadline) != 0) {
                snprintf(why, sizeof why, "send failed");
                close(fd);
                goto unreachable;
            }
            int rows = 0;
            for (;;) {
                struct sk_msg m;
                int rv = read_frame(&r, &m, deadline, why, sizeof why);
                if (rv <= 0 || m.type != SK_MSG_STATUS_REPLY) {
                    break;
                }
                char name[80];
                snprintf(name, sizeof name, "%.*s", (int)m.text_len, (const char *)m.text);
                if (m.status == SK_STATUS_END) {
                    if (rows == 0 && !c->json) {
                        printf("%-12s %-16s %-12s %-12s %-16s %s\n", name, "(none)", "-", "-",
                               "-", "now");
                    }
                    answered++;
                    rows = -1;
                    break;
                }
                rows++;
                char pb[48], ab[48];
                fmt_ballot(pb, sizeof pb, m.ballot);
                fmt_ballot(ab, sizeof ab, m.other);
                if (c->json) {
                    printf("%s{", first ? "" : ",");
                    first = false;
                    json_str("name", m.text, m.text_len, false);
                    json_str("address", addr, strlen(addr), true);
                    json_str("lock", m.key, m.key_len, true);
                    printf(",\"promised\":\"%s\",\"accepted\":\"%s\"", pb, ab);
                    if (m.holder_len) json_str("holder", m.holder, m.holder_len, true);
                    if (m.token) printf(",\"token\":%" PRIu64, m.token);
                    printf(",\"reachable\":true}");
                } else {
                    printf("%-12s %-16.*s %-12s %-12s %-16.*s %s\n", name, (int)m.key_len,
                           (const char *)m.key, pb, ab, m.holder_len ? (int)m.holder_len : 4,
                           m.holder_len ? (const char *)m.holder : "free", "now");
                }
            }
            close(fd);
            if (rows == -1) {
                continue;
            }
            snprintf(why, sizeof why, "incomplete status answer");
        }
    unreachable:
        if (c->json) {
            printf("%s{", first ? "" : ",");
            first = false;
            json_str("address", addr, strlen(addr), false);
            printf(",\"reachable\":false");
            json_str("error", why, strlen(why), true);
            printf("}");
        } else {
            printf("%-12s %-16s %-12s %-12s %-16s unreachable (%s)\n", addr, "?", "?", "?", "?",
                   why);
        }
    }
    if (c->json) {
        printf("]\n");
    }
    return answered > 0 ? CTL_OK : CTL_UNAVAILABLE;
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: skinnyctl [--cluster HOST:PORT,...] [--timeout MS] [--json] COMMAND\n"
            "commands:\n"
            "  acquire HOLDER [--lock NAME] [--ttl MS]   take the lock (default name \"lock\")\n"
            "  release HOLDER [--lock NAME]              give it back\n"
            "  status [--lock NAME]                      every instance's registers\n"
            "  reload [INDEX]                            reload scripts (all, or instance INDEX)\n"
            "  drop INDEX PEER | delay INDEX PEER MS | heal INDEX   fault injection at\n"
            "                                            instance INDEX (1-based in --cluster);\n"
            "                                            PEER is a name or \"*\"\n"
            "  ping [INDEX]\n"
            "The cluster comes from --cluster or $SKINNY_CLUSTER.\n"
            "Exit codes: 0 done, 1 refused, 2 unavailable/outcome unknown, 3 error, 64 usage.\n");
}

int main(int argc, char **argv)
{
    struct ctl c = {0};
    c.timeout_ms = 3000;
    c.lock = NULL;
    const char *cluster = getenv("SKINNY_CLUSTER");
    const char *pos[8];
    int n_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--cluster") == 0 && i + 1 < argc) {
            cluster = argv[++i];
        } else if (strcmp(a, "--timeout") == 0 && i + 1 < argc) {
            c.timeout_ms = atoi(argv[++i]);
        } else if (strcmp(a, "--json") == 0) {
            c.json = true;
        } else if (strcmp(a, "--lock") == 0 && i + 1 < argc) {
            c.lock = argv[++i];
        } else if (strcmp(a, "--ttl") == 0 && i + 1 < argc) {
            c.ttl_ms = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return CTL_OK;
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "skinnyctl: unknown or incomplete option \"%s\"\n", a);
            usage(stderr);
            return CTL_USAGE;
        } else if (n_pos < 8) {
            pos[n_pos++] = a;
        }
    }
    if (n_pos == 0) {
        usage(stderr);
        return CTL_USAGE;
    }
    if (cluster == NULL || cluster[0] == 0) {
        fprintf(stderr, "skinnyctl: no cluster: give --cluster HOST:PORT,... or set "
                        "SKINNY_CLUSTER\n");
        return CTL_USAGE;
    }
    if (c.timeout_ms <= 0) {
        fprintf(stderr, "skinnyctl: --timeout must be a positive number of milliseconds\n");
        return CTL_USAGE;
    }
    char *cl = strdup(cluster);
    for (char *tok = strtok(cl, ","); tok && c.n_addrs < MAX_ADDRS; tok = strtok(NULL, ",")) {
        c.addrs[c.n_addrs++] = tok;
    }
    c.seq = (uint64_t)getpid() << 20;
    const char *cmd = pos[0];
    struct sk_msg req = {0};
    int rv;
    if (strcmp(cmd, "acquire") == 0 || strcmp(cmd, "release") == 0) {
        if (n_pos != 2) {
            fprintf(stderr, "skinnyctl: %s needs exactly one HOLDER\n", cmd);
            return CTL_USAGE;
        }
        if (c.lock == NULL) {
            c.lock = "lock";
        }
        req.type = SK_MSG_CLIENT_REQ;
        req.op = cmd[0] == 'a' ? SK_OP_ACQUIRE : SK_OP_RELEASE;
        req.ttl_ms = c.ttl_ms;
        req.key = (const uint8_t *)c.lock;
        req.key_len = (uint32_t)strlen(c.lock);
        req.holder = (const uint8_t *)pos[1];
        req.holder_len = (uint32_t)strlen(pos[1]);
        if (req.key_len == 0 || req.key_len > SK_KEY_MAX || req.holder_len > SK_HOLDER_MAX) {
            fprintf(stderr, "skinnyctl: lock name must be 1..%d bytes, holder at most %d\n",
                    SK_KEY_MAX, SK_HOLDER_MAX);
            return CTL_USAGE;
        }
        rv = request(&c, &req, -1, cmd);
    } else if (strcmp(cmd, "status") == 0) {
        rv = status(&c);
    } else if (strcmp(cmd, "reload") == 0 || strcmp(cmd, "ping") == 0 ||
               strcmp(cmd, "heal") == 0 || strcmp(cmd, "drop") == 0 ||
               strcmp(cmd, "delay") == 0) {
        req.type = SK_MSG_CONTROL;
        int idx = -1;
        if (n_pos >= 2) {
            idx = atoi(pos[1]) - 1;
            if (idx < 0 || idx >= c.n_addrs) {
                fprintf(stderr, "skinnyctl: INDEX must be 1..%d\n", c.n_addrs);
                return CTL_USAGE;
            }
        }
        if (strcmp(cmd, "reload") == 0) {
            req.op = SK_CTL_RELOAD;
        } else if (strcmp(cmd, "ping") == 0) {
            req.op = SK_CTL_PING;
        } else if (strcmp(cmd, "heal") == 0) {
            req.op = SK_CTL_HEAL;
        } else {
            req.op = cmd[1] == 'r' ? SK_CTL_DROP : SK_CTL_DELAY;
            if (n_pos < (req.op == SK_CTL_DROP ? 3 : 4) || idx < 0) {
                fprintf(stderr, "skinnyctl: usage: drop INDEX PEER | delay INDEX PEER MS\n");
                return CTL_USAGE;
            }
            req.key = (const uint8_t *)pos[2];
            req.key_len = (uint32_t)strlen(pos[2]);
            if (req.op == SK_CTL_DELAY) {
                req.ttl_ms = (uint32_t)strtoul(pos[3], NULL, 10);
            }
        }
        if (idx < 0 && (req.op == SK_CTL_RELOAD || req.op == SK_CTL_HEAL)) {
            rv = CTL_OK;
            for (int i = 0; i < c.n_addrs; i++) {
                int r1 = request(&c, &req, i, cmd);
                rv = r1 > rv ? r1 : rv;
            }
        } else {
            rv = request(&c, &req, idx, cmd);
        }
    } else {
        fprintf(stderr, "skinnyctl: unknown command \"%s\"\n", cmd);
        usage(stderr);
        rv = CTL_USAGE;
    }
    free(cl);
    return rv;
}
