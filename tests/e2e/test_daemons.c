/* test_daemons.c - end-to-end: real skinnyd processes on 127.0.0.1.
 *
 * Each test starts its own daemons on free ports in a fresh directory and
 * kills exactly the PIDs it started (also on failure: atexit and signal
 * cleanup). Waits are deadlines with retries, never blind sleeps. Daemon
 * logs stay in /tmp/skinny-e2e.* when a test fails. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "runner.h"
#include "cmd/skclient.h"
#include "sk.h"
#include "net/control.h"

#define MAXD 8

static pid_t pids[64];
static int n_pids;
static char skinnyd[1024];
static char root[1024]; /* repo root */

static void kill_all(void)
{
    for (int i = 0; i < n_pids; i++) {
        if (pids[i] > 0) {
            kill(pids[i], SIGKILL);
            waitpid(pids[i], NULL, 0);
            pids[i] = 0;
        }
    }
}

__attribute__((constructor)) static void setup(void)
{
    sk_test_guard(kill_all, false);
    char build[1024];
    sk_test_dirs(root, sizeof root, build, sizeof build);
    snprintf(skinnyd, sizeof skinnyd, "%s/skinnyd", build);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&a, sizeof a);
    socklen_t l = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &l);
    close(fd);
    return ntohs(a.sin_port);
}

/* ------------------------------------------------------------- cluster */

struct cluster {
    int n;
    int ports[MAXD + 1];
    pid_t pid[MAXD + 1];
    bool fake[MAXD + 1]; /* played by the test */
    int lfd[MAXD + 1];   /* the test's listening socket for a fake node */
    char dir[256];
    char extra[512]; /* extra config keys, each ending in a comma */
};

static void write_config(struct cluster *c, int i)
{
    char path[512];
    snprintf(path, sizeof path, "%s/n%d.json", c->dir, i);
    FILE *f = fopen(path, "w");
    fprintf(f, "{\"name\": \"n%d\", \"data_dir\": \"%s/d%d\", \"scripts_dir\": \"%s/scripts\",\n"
               " \"proposer\": \"paxos\", \"backoff\": \"exponential_jitter\", \"lock\": \"advisory\",\n"
               " \"phase_timeout_ms\": 300, \"idle_timeout_ms\": 5000, %s\n \"cluster\": [",
            i, c->dir, i, root, c->extra);
    for (int k = 1; k <= c->n; k++) {
        fprintf(f, "%s{\"name\": \"n%d\", \"address\": \"127.0.0.1:%d\"}", k > 1 ? ", " : "", k,
                c->ports[k]);
    }
    fprintf(f, "]}\n");
    fclose(f);
}

static pid_t spawn(const char *config, const char *log)
{
    pid_t p = fork();
    if (p == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(fd, 2);
        dup2(fd, 1);
        /* --bootstrap: these clusters are new; on a restart the data is there */
        execl(skinnyd, skinnyd, "--config", config, "--bootstrap", (char *)NULL);
        _exit(127);
    }
    pids[n_pids++] = p;
    return p;
}

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static bool wait_port(int port, uint64_t ms)
{
    uint64_t end = now_ms() + ms;
    while (now_ms() < end) {
        int fd = dial(port);
        if (fd >= 0) {
            close(fd);
            return true;
        }
        poll(NULL, 0, 10); /* retry interval, bounded by the deadline */
    }
    return false;
}

static void start_node(struct cluster *c, int i)
{
    char cfg[512], log[512];
    snprintf(cfg, sizeof cfg, "%s/n%d.json", c->dir, i);
    snprintf(log, sizeof log, "%s/n%d.log", c->dir, i);
    c->pid[i] = spawn(cfg, log);
}

static void stop_node(struct cluster *c, int i, int sig)
{
    if (c->pid[i] > 0) {
        kill(c->pid[i], sig);
        waitpid(c->pid[i], NULL, 0);
        for (int k = 0; k < n_pids; k++) {
            if (pids[k] == c->pid[i]) pids[k] = 0;
        }
        c->pid[i] = 0;
    }
}

static int fake_listen(int port);

static bool cluster_start(struct cluster *c, int n, int n_fake)
{
    memset(c->pid, 0, sizeof c->pid);
    c->n = n;
    snprintf(c->dir, sizeof c->dir, "/tmp/skinny-e2e.XXXXXX");
    if (mkdtemp(c->dir) == NULL) return false;
    for (int i = 1; i <= n; i++) {
        c->ports[i] = free_port();
        c->fake[i] = i > n - n_fake;
        c->lfd[i] = c->fake[i] ? fake_listen(c->ports[i]) : -1;
    }
    for (int i = 1; i <= n; i++) {
        if (!c->fake[i]) {
            write_config(c, i);
            start_node(c, i);
        }
    }
    for (int i = 1; i <= n; i++) {
        if (!c->fake[i] && !wait_port(c->ports[i], 5000)) return false;
    }
    return true;
}

static void cluster_stop(struct cluster *c, bool keep)
{
    for (int i = 1; i <= c->n; i++) stop_node(c, i, SIGTERM);
    if (!keep) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", c->dir);
        if (system(cmd) != 0) {
        }
    } else {
        printf("# logs kept in %s\n", c->dir);
    }
}

/* ---------------------------------------------------------------- wire */

struct rd {
    int fd;
    uint8_t buf[2 * (SK_FRAME_MAX + 4)];
    size_t len, off;
};

static int send_msg(int fd, struct sk_msg *m)
{
    uint8_t f[SK_FRAME_MAX + 4];
    int len = sk_msg_encode(m, f, sizeof f);
    if (len < 0) return len;
    return send(fd, f, (size_t)len, MSG_NOSIGNAL) == len ? 0 : -1;
}

/* 1: frame in m; 0: timeout; -1: EOF */
static int read_msg(struct rd *r, struct sk_msg *m, uint64_t ms)
{
    uint64_t end = now_ms() + ms;
    if (r->off) {
        memmove(r->buf, r->buf + r->off, r->len - r->off);
        r->len -= r->off;
        r->off = 0;
    }
    for (;;) {
        int rv = sk_msg_decode(r->buf, r->len, m);
        if (rv > 0) {
            r->off = (size_t)rv;
            return 1;
        }
        if (rv < 0) return -2;
        uint64_t t = now_ms();
        struct pollfd p = {r->fd, POLLIN, 0};
        if (t >= end || poll(&p, 1, (int)(end - t)) <= 0) return 0;
        ssize_t n = recv(r->fd, r->buf + r->len, sizeof r->buf - r->len, 0);
        if (n <= 0) return -1;
        r->len += (size_t)n;
    }
}

struct reply {
    int status;
    uint64_t token;
    char holder[200];
};

static int client(int port, int op, const char *lock, const char *holder, struct reply *out)
{
    static struct rd r;
    int fd = dial(port);
    if (fd < 0) return -1;
    memset(&r, 0, sizeof r);
    r.fd = fd;
    struct sk_msg m = {0};
    m.type = SK_MSG_CLIENT_REQ;
    m.op = (uint8_t)op;
    static uint64_t last_seq;
    uint64_t seq = skc_next_seq(&last_seq);
    m.client = 77;
    m.seq = seq;
    m.key = (const uint8_t *)lock;
    m.key_len = (uint32_t)strlen(lock);
    m.holder = (const uint8_t *)holder;
    m.holder_len = (uint32_t)strlen(holder);
    send_msg(fd, &m);
    int rv = read_msg(&r, &m, 5000);
    close(fd);
    if (rv != 1 || m.type != SK_MSG_CLIENT_REPLY || m.seq != seq || m.client != 77) return -1;
    out->status = m.status;
    out->token = m.token;
    snprintf(out->holder, sizeof out->holder, "%.*s", (int)m.holder_len, (const char *)m.holder);
    return 0;
}

/* Retry while the outcome is unknown (links still connecting). */
static int client_definite(int port, int op, const char *lock, const char *holder,
                           struct reply *out)
{
    uint64_t end = now_ms() + 8000;
    int rv;
    do {
        rv = client(port, op, lock, holder, out);
        if (rv == 0 && sk_status_is_definite(out->status)) return 0;
    } while (now_ms() < end);
    return rv == 0 ? 0 : -1;
}

static bool log_contains(struct cluster *c, int i, const char *needle)
{
    char path[512];
    snprintf(path, sizeof path, "%s/n%d.log", c->dir, i);
    FILE *f = fopen(path, "r");
    if (!f) return false;
    char line[2048];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

static bool wait_log(struct cluster *c, int i, const char *needle, uint64_t ms)
{
    uint64_t end = now_ms() + ms;
    do {
        if (log_contains(c, i, needle)) return true;
        poll(NULL, 0, 10);
    } while (now_ms() < end);
    return false;
}

/* ---------------------------------------------------------------- tests */

TEST(acquire_refuse_release_acquire_on_five)
{
    struct cluster c = {0};
    bool ok = cluster_start(&c, 5, 0);
    if (!ok) {
        cluster_stop(&c, true);
        FAIL("cluster did not start");
    }
    struct reply r;
    int rv = client_definite(c.ports[1], SK_OP_ACQUIRE, "printer", "beaver", &r);
    bool good = rv == 0 && r.status == SK_ST_GRANTED;
    uint64_t t1 = r.token;
    if (good) {
        rv = client_definite(c.ports[3], SK_OP_ACQUIRE, "printer", "otter", &r);
        good = rv == 0 && r.status == SK_ST_REFUSED && strcmp(r.holder, "beaver") == 0;
    }
    if (good) {
        rv = client_definite(c.ports[5], SK_OP_RELEASE, "printer", "otter", &r);
        good = rv == 0 && r.status == SK_ST_NOT_HOLDER;
    }
    if (good) {
        rv = client_definite(c.ports[2], SK_OP_RELEASE, "printer", "beaver", &r);
        good = rv == 0 && r.status == SK_ST_RELEASED;
    }
    uint64_t t2 = 0;
    if (good) {
        rv = client_definite(c.ports[4], SK_OP_ACQUIRE, "printer", "otter", &r);
        good = rv == 0 && r.status == SK_ST_GRANTED;
        t2 = r.token;
    }
    cluster_stop(&c, !good);
    if (!good) {
        FAIL("step failed: rv %d status %s holder %s", rv, sk_status_name(r.status), r.holder);
    }
    ASSERT_LT_U64(t1, t2);
}

/* The test plays nodes 2 and 3: it sends raw PREPAREs to node 1 and reads
 * node 1's answers on the links node 1 dials to "them". */
static int fake_listen(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 8) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Send PREPARE(ballot) as node `from` to node 1; return the answer that
 * arrives on node 1's link to `from`. */
static int prepare_as(struct cluster *c, int lfd, int from, uint64_t round, struct sk_msg *ans,
                      struct rd *r)
{
    int fd = dial(c->ports[1]);
    if (fd < 0) return -1;
    struct sk_msg m = {0};
    m.type = SK_MSG_PREPARE;
    m.from = (uint32_t)from;
    m.to = 1;
    m.seq = 5;
    m.ballot = (struct sk_ballot){round, (uint32_t)from};
    m.key = (const uint8_t *)"printer";
    m.key_len = 7;
    send_msg(fd, &m);
    if (r->fd < 0) {
        struct pollfd p = {lfd, POLLIN, 0};
        if (poll(&p, 1, 5000) <= 0) {
            close(fd);
            return -1;
        }
        r->fd = accept(lfd, NULL, NULL);
    }
    int rv = read_msg(r, ans, 5000);
    close(fd);
    return rv == 1 ? 0 : -1;
}

TEST(kill9_after_promise_still_refuses_lower_ballot)
{
    struct cluster c = {0};
    if (!cluster_start(&c, 3, 2)) {
        cluster_stop(&c, true);
        FAIL("node did not start");
    }
    int l2 = c.lfd[2];
    static struct rd r2;
    memset(&r2, 0, sizeof r2);
    r2.fd = -1;
    struct sk_msg ans;
    bool good = l2 >= 0 && prepare_as(&c, l2, 2, 10, &ans, &r2) == 0 &&
                ans.type == SK_MSG_PROMISE && ans.ballot.round == 10;
    const char *step = "promise of 10.2";
    if (good) {
        stop_node(&c, 1, SIGKILL); /* right after it answered */
        if (r2.fd >= 0) close(r2.fd);
        r2.fd = -1;
        r2.len = r2.off = 0;
        start_node(&c, 1);
        good = wait_port(c.ports[1], 5000);
        step = "restart";
    }
    if (good) {
        good = prepare_as(&c, l2, 2, 5, &ans, &r2) == 0 && ans.type == SK_MSG_NAY &&
               ans.other.round == 10 && ans.other.node == 2;
        step = "nay for 5.2 naming promised 10.2 after restart";
    }
    if (r2.fd >= 0) close(r2.fd);
    if (l2 >= 0) close(l2);
    if (c.lfd[3] >= 0) close(c.lfd[3]);
    cluster_stop(&c, !good);
    if (!good) FAIL("%s: got %s ballot %llu.%u other %llu.%u", step, sk_msg_type_name(ans.type), (unsigned long long)ans.ballot.round, ans.ballot.node, (unsigned long long)ans.other.round, ans.other.node);
}

static bool dropped_after(int port, const uint8_t *bytes, size_t n, bool then_close)
{
    int fd = dial(port);
    if (fd < 0) return false;
    send(fd, bytes, n, MSG_NOSIGNAL);
    if (then_close) {
        shutdown(fd, SHUT_WR);
    }
    struct pollfd p = {fd, POLLIN, 0};
    char b[64];
    bool closed = poll(&p, 1, 3000) > 0 && recv(fd, b, sizeof b, 0) <= 0;
    close(fd);
    return closed;
}

static bool pings(int port)
{
    static struct rd r;
    int fd = dial(port);
    if (fd < 0) return false;
    memset(&r, 0, sizeof r);
    r.fd = fd;
    struct sk_msg m = {0};
    m.type = SK_MSG_CONTROL;
    m.op = SK_CTL_PING;
    m.seq = 9;
    send_msg(fd, &m);
    bool ok = read_msg(&r, &m, 3000) == 1 && m.type == SK_MSG_CLIENT_REPLY &&
              m.status == SK_ST_GRANTED;
    close(fd);
    return ok;
}

TEST(malformed_frames_drop_the_connection_only)
{
    struct cluster c = {0};
    if (!cluster_start(&c, 1, 0)) {
        cluster_stop(&c, true);
        FAIL("node did not start");
    }
    uint8_t good[SK_FRAME_MAX + 4];
    struct sk_msg m = {0};
    m.type = SK_MSG_STATUS_REQ;
    m.seq = 1;
    int glen = sk_msg_encode(&m, good, sizeof good);
    struct {
        const char *name, *reason;
        uint8_t bytes[96];
        size_t len;
        bool close;
    } cases[5] = {
        {"garbage", "bad frame", "\x00\x00\x00\x50GARBAGE-GARBAGE", 20, false},
        {"huge length", "too large", "\x7f\xff\xff\xff\x01\x12", 6, false},
        {"truncated", "truncated", {0}, 30, true},
        {"wrong version", "version", {0}, (size_t)glen, false},
        {"wrong type", "type", {0}, (size_t)glen, false},
    };
    memcpy(cases[2].bytes, good, 30);
    memcpy(cases[3].bytes, good, (size_t)glen);
    cases[3].bytes[4] = 9;
    memcpy(cases[4].bytes, good, (size_t)glen);
    cases[4].bytes[5] = 99;
    for (int i = 0; i < 5; i++) {
        TEST_CONTEXT("%s", cases[i].name);
        if (!dropped_after(c.ports[1], cases[i].bytes, cases[i].len, cases[i].close)) {
            cluster_stop(&c, true);
            FAIL("connection not dropped");
        }
        if (!wait_log(&c, 1, cases[i].reason, 3000) || !wait_log(&c, 1, "127.0.0.1:", 10)) {
            cluster_stop(&c, true);
            FAIL("no logged reason containing \"%s\" and the peer address", cases[i].reason);
        }
        if (!pings(c.ports[1])) {
            cluster_stop(&c, true);
            FAIL("daemon does not answer a client after the bad frame");
        }
    }
    struct reply r;
    int rv = client_definite(c.ports[1], SK_OP_ACQUIRE, "printer", "beaver", &r);
    cluster_stop(&c, rv != 0);
    ASSERT_EQ_INT(rv, 0);
    ASSERT_EQ_INT(r.status, SK_ST_GRANTED);
}

/* One crafted ACCEPT whose value is not data (a NaN table key) used to be
 * stored, and the next acquire of that lock aborted the daemon, again after
 * every restart. Now the acceptor refuses it (spec/HOOKS.md, "Lock state is
 * data"): the connection closes with the reason logged, nothing is stored,
 * and the lock keeps working, before and after a kill -9 and restart. */
TEST(accept_of_a_value_that_is_not_data_is_refused_not_stored)
{
    struct cluster c = {0};
    if (!cluster_start(&c, 3, 0)) {
        cluster_stop(&c, true);
        FAIL("cluster did not start");
    }
    /* an empty sessions table around the lock state {[NaN] = true} */
    static const uint8_t value[] = {'S', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'm', 1,
                                    'd', 0x7f, 0xf8, 0, 0, 0, 0, 0, 0, 't'};
    struct sk_msg m = {0};
    m.type = SK_MSG_ACCEPT;
    m.from = 2;
    m.to = 1;
    m.seq = 1;
    m.ballot.round = 1000000;
    m.ballot.node = 2;
    m.key = (const uint8_t *)"printer";
    m.key_len = 7;
    m.value = value;
    m.value_len = sizeof value;
    uint8_t frame[SK_FRAME_MAX + 4];
    int len = sk_msg_encode(&m, frame, sizeof frame);
    ASSERT_TRUE(len > 0);
    const char *step = NULL;
    struct reply r = {0};
    if (!dropped_after(c.ports[1], frame, (size_t)len, false)) {
        step = "the connection that sent the ACCEPT was not closed";
    } else if (!wait_log(&c, 1, "refused: a table key is NaN", 3000) ||
               !wait_log(&c, 1, "lock 'printer'", 10)) {
        step = "no logged reason naming the lock and the NaN key";
    } else if (client_definite(c.ports[1], SK_OP_ACQUIRE, "printer", "beaver", &r) != 0 ||
               r.status != SK_ST_GRANTED) {
        step = "acquire through the instance that got the frame is not granted";
    } else {
        stop_node(&c, 1, SIGKILL);
        start_node(&c, 1);
        if (!wait_port(c.ports[1], 5000)) {
            step = "the instance did not come back after kill -9";
        } else if (client_definite(c.ports[1], SK_OP_ACQUIRE, "printer", "giraffe", &r) != 0 ||
                   r.status != SK_ST_REFUSED || strcmp(r.holder, "beaver") != 0) {
            step = "after the restart the instance does not answer beaver holds the lock";
        }
    }
    cluster_stop(&c, step != NULL);
    if (step != NULL) {
        FAIL("%s (status %d, holder %s)", step, r.status, r.holder);
    }
}

static int run_config(const char *dir, const char *body, char *out, size_t cap)
{
    char cfg[512], log[512];
    snprintf(cfg, sizeof cfg, "%s/bad.json", dir);
    snprintf(log, sizeof log, "%s/bad.log", dir);
    FILE *f = fopen(cfg, "w");
    fputs(body, f);
    fclose(f);
    unlink(log);
    pid_t p = spawn(cfg, log);
    int st = 0;
    uint64_t end = now_ms() + 5000;
    while (waitpid(p, &st, WNOHANG) == 0) {
        if (now_ms() > end) {
            kill(p, SIGKILL);
            waitpid(p, &st, 0);
            snprintf(out, cap, "still running");
            return -1;
        }
        poll(NULL, 0, 5);
    }
    for (int k = 0; k < n_pids; k++) {
        if (pids[k] == p) pids[k] = 0;
    }
    f = fopen(log, "r");
    size_t n = f ? fread(out, 1, cap - 1, f) : 0;
    out[n] = 0;
    if (f) fclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

TEST(bad_configs_exit_nonzero_naming_the_problem)
{
    char dir[] = "/tmp/skinny-e2e.XXXXXX";
    ASSERT_NOT_NULL(mkdtemp(dir));
    char body[2048], out[4096];
    const char *cl = "\"cluster\": [{\"name\": \"a\", \"address\": \"127.0.0.1:1\"}, "
                     "{\"name\": \"b\", \"address\": \"127.0.0.1:2\"}]";
    struct {
        const char *name, *body, *expect;
    } cases[] = {
        {"missing key", "{\"name\": \"a\", %s}", "\"data_dir\""},
        {"wrong type", "{\"name\": \"a\", \"data_dir\": \"/tmp/x\", \"phase_timeout_ms\": \"fast\", %s}",
         "\"phase_timeout_ms\""},
        {"duplicate peer",
         "{\"name\": \"a\", \"data_dir\": \"/tmp/x\", \"cluster\": [{\"name\": \"a\", \"address\": "
         "\"127.0.0.1:1\"}, {\"name\": \"a\", \"address\": \"127.0.0.1:2\"}]%s}",
         "duplicate peer name"},
        {"unreadable script",
         "{\"name\": \"a\", \"data_dir\": \"/tmp/x\", \"lock\": \"/nonexistent/lock.lua\", %s}",
         "lock.lua"},
        {"unknown key", "{\"name\": \"a\", \"data_dir\": \"/tmp/x\", \"colour\": 1, %s}",
         "\"colour\""},
        {"not json", "name = 'a' %s", "line 1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TEST_CONTEXT("%s", cases[i].name);
        snprintf(body, sizeof body, cases[i].body, strcmp(cases[i].name, "duplicate peer") ? cl : "");
        int rc = run_config(dir, body, out, sizeof out);
        if (rc == 0 || rc == 127 || rc < 0) {
            FAIL("exit code %d, output: %s", rc, out);
        }
        if (strstr(out, cases[i].expect) == NULL || strstr(out, "bad.json") == NULL) {
            FAIL("message does not name \"%s\" and the file: %s", cases[i].expect, out);
        }
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
    }
}
