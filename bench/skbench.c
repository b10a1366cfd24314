/* skbench.c - the C side of `make bench` (bench/README.md): the physical
 * limits of this machine, and Skinny driven through the compiled client
 * library (runtime/cmd/skclient.c) over kept-alive connections.
 *
 *   skbench rtt [-n N] [-spin]           loopback TCP round trip, 64 bytes;
 *                                        -spin: both sides poll instead of
 *                                        sleeping in read (no wake-ups)
 *   skbench sync DIR [-n N] [-procs K]   append 128 bytes + fdatasync in DIR;
 *                                        with K > 1, K-1 other processes append
 *                                        and sync their own files meanwhile (a
 *                                        cluster's instances share one disk);
 *                                        -prealloc: overwrite a zero-filled file
 *                                        in place instead (skinnyd's log)
 *   skbench ports K                      K free loopback TCP ports
 *   skbench cycle ADDR [-n N] [-warm W]  acquire+release of one lock
 *   skbench distinct ADDR [-clients C] [-secs S]
 *                                        C clients, one connection and one lock
 *                                        each, acquire+release in a loop
 *   skbench contended ADDR [-clients C] [-secs S]
 *                                        C clients on one lock: acquire; on a
 *                                        grant, release; a refusal is counted
 *   skbench cli SKINNYCTL CLUSTER [-n N] acquire+release, one skinnyctl process
 *                                        per operation
 *   skbench many ADDR [-n N]             acquire N distinct locks, 256 in flight
 *
 * Output: "key value" lines; "lat_us" is followed by every measured latency
 * in microseconds (cycles for rtt/sync/cycle/cli, operations otherwise).
 * The etcd side (bench/etcd/etcdbench.go) prints the same keys. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/skclient.h"
#include "sk.h"

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "skbench: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(1);
}

/* ---------------------------------------------------------- latencies */

struct lat {
    uint64_t *v;
    size_t n, cap;
};

static void lat_add(struct lat *l, uint64_t us)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4096;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (l->v == NULL) die("%s", "out of memory");
    }
    l->v[l->n++] = us;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void report(struct lat *l, long grants, long refusals, long errors)
{
    qsort(l->v, l->n, sizeof *l->v, cmp_u64);
    printf("grants %ld\nrefusals %ld\nerrors %ld\nops %zu\nlat_us", grants, refusals, errors, l->n);
    for (size_t i = 0; i < l->n; i++) printf(" %" PRIu64, l->v[i]);
    printf("\n");
}

/* ------------------------------------------------------ physical limit */

/* Read exactly n bytes. spin: never sleep in the kernel, poll with
 * MSG_DONTWAIT instead, so no wake-up of a sleeping process (or of an idle
 * virtual CPU) is part of what is measured. */
static bool read_full(int s, char *buf, size_t n, bool spin)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv(s, buf + got, n - got, spin ? MSG_DONTWAIT : 0);
        if (r < 0 && spin && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        if (r <= 0) return false;
        got += (size_t)r;
    }
    return true;
}

static void mode_rtt(long n, bool spin)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(ls, 1) != 0 ||
        getsockname(ls, (struct sockaddr *)&sa, &sl) != 0) {
        die("rtt: cannot listen on 127.0.0.1: %s", strerror(errno));
    }
    char buf[64] = {0};
    pid_t child = fork();
    if (child == 0) { /* the echo side: another process, as a peer is */
        int s = accept(ls, NULL, NULL);
        setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        for (;;) {
            if (!read_full(s, buf, sizeof buf, spin)) _exit(0);
            if (write(s, buf, sizeof buf) != (ssize_t)sizeof buf) _exit(0);
        }
    }
    close(ls);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, (struct sockaddr *)&sa, sizeof sa) != 0) die("rtt: connect: %s", strerror(errno));
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct lat l = {0};
    for (long i = 0; i < n + n / 10; i++) {
        uint64_t t0 = skc_now_us();
        if (write(s, buf, sizeof buf) != (ssize_t)sizeof buf) die("%s", "rtt: write");
        if (!read_full(s, buf, sizeof buf, spin)) die("%s", "rtt: read");
        if (i >= n / 10) lat_add(&l, skc_now_us() - t0); /* first tenth: warm-up */
    }
    close(s);
    waitpid(child, NULL, 0);
    report(&l, (long)l.n, 0, 0);
}

#define PREALLOC (4L << 20)

/* prealloc: the file is first filled with PREALLOC zero bytes and synced,
 * and the records overwrite it in place (round and round), as skinnyd's
 * log does; else each record is appended, growing the file. */
static void sync_loop(const char *dir, long n, struct lat *l, bool prealloc)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/skbench-sync.XXXXXX", dir);
    int fd = mkstemp(p);
    if (fd < 0) die("sync: cannot create a file in %s", dir);
    unlink(p);
    char rec[128];
    if (prealloc) {
        static char zero[64 * 1024];
        for (long at = 0; at < PREALLOC; at += (long)sizeof zero) {
            if (write(fd, zero, sizeof zero) != (ssize_t)sizeof zero) die("sync: %s", strerror(errno));
        }
        if (fdatasync(fd) != 0) die("sync: %s", strerror(errno));
    }
    memset(rec, 'x', sizeof rec);
    for (long i = 0; i < n + n / 10; i++) {
        uint64_t t0 = skc_now_us();
        off_t at = prealloc ? (off_t)((i * (long)sizeof rec) % PREALLOC) : lseek(fd, 0, SEEK_END);
        if (pwrite(fd, rec, sizeof rec, at) != (ssize_t)sizeof rec || fdatasync(fd) != 0) {
            die("sync: %s", strerror(errno));
        }
        if (l && i >= n / 10) lat_add(l, skc_now_us() - t0);
    }
    close(fd);
}

static void mode_sync(const char *dir, long n, int procs, bool prealloc)
{
    pid_t kids[64];
    int nk = 0;
    for (; nk < procs - 1 && nk < 64; nk++) {
        kids[nk] = fork();
        if (kids[nk] == 0) {
            sync_loop(dir, LONG_MAX / 2, NULL, prealloc); /* until killed */
            _exit(0);
        }
    }
    struct lat l = {0};
    sync_loop(dir, n, &l, prealloc);
    for (int k = 0; k < nk; k++) {
        kill(kids[k], SIGKILL);
        waitpid(kids[k], NULL, 0);
    }
    report(&l, (long)l.n, 0, 0);
}

static void mode_ports(int k)
{
    int fds[64];
    for (int i = 0; i < k && i < 64; i++) {
        struct sockaddr_in sa = {0};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t sl = sizeof sa;
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&sa, sizeof sa) != 0 ||
            getsockname(fds[i], (struct sockaddr *)&sa, &sl) != 0) {
            die("ports: %s", strerror(errno));
        }
        printf("%s%u", i ? " " : "", ntohs(sa.sin_port));
    }
    printf("\n");
    for (int i = 0; i < k && i < 64; i++) close(fds[i]);
}

/* -------------------------------------------------------------- Skinny */

/* Request identity (PROTOCOL.md 7.4): a holder's requests must grow across
 * processes too (benchmark runs reuse a lab), so each process numbers its
 * requests from the wall clock at its start. */
static uint64_t g_seq_base;

static void req(struct sk_msg *q, uint64_t seq, int op, const char *lock, const char *holder)
{
    if (g_seq_base == 0) {
        uint64_t last = 0;
        g_seq_base = skc_next_seq(&last);
    }
    memset(q, 0, sizeof *q);
    q->type = SK_MSG_CLIENT_REQ;
    q->op = (uint8_t)op;
    q->seq = g_seq_base + seq;
    q->client = 1;
    q->key = (const uint8_t *)lock;
    q->key_len = (uint32_t)strlen(lock);
    q->holder = (const uint8_t *)holder;
    q->holder_len = (uint32_t)strlen(holder);
}

static int call(struct skc_conn *c, uint64_t seq, int op, const char *lock)
{
    struct sk_msg q, r;
    req(&q, seq, op, lock, "beaver");
    char why[256];
    if (skc_call(c, &q, &r, skc_now_ms() + 5000, why, sizeof why) != 1) die("%s", why);
    return r.status;
}

static void dial(struct skc_conn *c, const char *addr)
{
    char why[256];
    if (skc_dial(c, addr, skc_now_ms() + 5000, why, sizeof why) != 0) die("dial: %s", why);
}

static void mode_cycle(const char *addr, long n, long warm)
{
    static struct skc_conn c;
    dial(&c, addr);
    struct lat l = {0};
    long bad = 0;
    uint64_t seq = 1;
    for (long i = 0; i < warm + n; i++) {
        uint64_t t0 = skc_now_us();
        int a = call(&c, seq++, SK_OP_ACQUIRE, "bench");
        int r = a == SK_ST_GRANTED ? call(&c, seq++, SK_OP_RELEASE, "bench") : -1;
        if (i >= warm) {
            lat_add(&l, skc_now_us() - t0);
            bad += r != SK_ST_RELEASED;
        }
    }
    skc_close(&c);
    report(&l, (long)l.n - bad, 0, bad);
}

struct client {
    struct skc_conn c;
    char lock[32], holder[32];
    bool releasing;
    uint64_t t0, seq;
};

/* distinct (shared = false) or contended (shared = true) */
static void mode_load(const char *addr, int nc, double secs, bool shared)
{
    struct client *cl = calloc((size_t)nc, sizeof *cl);
    struct pollfd *pf = calloc((size_t)nc, sizeof *pf);
    if (cl == NULL || pf == NULL) die("%s", "out of memory");
    char why[256];
    struct lat l = {0};
    long grants = 0, refusals = 0, errors = 0;
    for (int i = 0; i < nc; i++) {
        dial(&cl[i].c, addr);
        snprintf(cl[i].lock, sizeof cl[i].lock, shared ? "contended" : "d-%d", i);
        snprintf(cl[i].holder, sizeof cl[i].holder, "client-%d", i);
        pf[i].fd = cl[i].c.fd;
        pf[i].events = POLLIN;
    }
    uint64_t start = skc_now_us(), end = start + (uint64_t)(secs * 1e6);
    for (int i = 0; i < nc; i++) {
        struct sk_msg q;
        req(&q, ++cl[i].seq, SK_OP_ACQUIRE, cl[i].lock, cl[i].holder);
        cl[i].t0 = skc_now_us();
        if (skc_send(&cl[i].c, &q, skc_now_ms() + 5000, why, sizeof why) != 0) die("%s", why);
    }
    int active = nc;
    while (active > 0) {
        int r = poll(pf, (nfds_t)nc, 5000);
        if (r <= 0) die("%s", "no reply in 5 s");
        for (int i = 0; i < nc; i++) {
            if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            struct client *c = &cl[i];
            struct sk_msg m;
            if (skc_recv(&c->c, &m, skc_now_ms() + 5000, why, sizeof why) != 1) die("%s", why);
            if (m.type != SK_MSG_CLIENT_REPLY || m.seq != g_seq_base + c->seq) continue;
            uint64_t now = skc_now_us();
            lat_add(&l, now - c->t0);
            int op = SK_OP_ACQUIRE;
            if (!c->releasing) {
                if (m.status == SK_ST_GRANTED) {
                    grants++;
                    op = SK_OP_RELEASE;
                } else if (m.status == SK_ST_REFUSED) {
                    refusals++;
                } else {
                    errors++;
                }
            } else if (m.status != SK_ST_RELEASED) {
                errors++;
            }
            c->releasing = op == SK_OP_RELEASE;
            if (now >= end && !c->releasing) { /* done: never leave a lock held */
                pf[i].fd = -1;
                active--;
                continue;
            }
            struct sk_msg q;
            req(&q, ++c->seq, op, c->lock, c->holder);
            c->t0 = skc_now_us();
            if (skc_send(&c->c, &q, skc_now_ms() + 5000, why, sizeof why) != 0) die("%s", why);
        }
    }
    printf("secs %.3f\n", (double)(skc_now_us() - start) / 1e6);
    for (int i = 0; i < nc; i++) skc_close(&cl[i].c);
    report(&l, grants, refusals, errors);
    free(cl);
    free(pf);
}

static int run_ctl(const char *ctl, const char *cluster, const char *op)
{
    pid_t p = fork();
    if (p == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        execl(ctl, ctl, "--cluster", cluster, op, "beaver", "--lock", "cli", (char *)NULL);
        _exit(127);
    }
    int st = 0;
    waitpid(p, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void mode_cli(const char *ctl, const char *cluster, long n)
{
    struct lat l = {0};
    long bad = 0;
    for (long i = 0; i < n + 2; i++) {
        uint64_t t0 = skc_now_us();
        int a = run_ctl(ctl, cluster, "acquire");
        int r = run_ctl(ctl, cluster, "release");
        if (i >= 2) {
            lat_add(&l, skc_now_us() - t0);
            bad += a != 0 || r != 0;
        }
    }
    report(&l, (long)l.n - bad, 0, bad);
}

static void mode_many(const char *addr, long n)
{
    static struct skc_conn c;
    dial(&c, addr);
    char why[256];
    long next = 0, granted = 0, inflight = 0, sent = 0;
    long *retry = malloc((size_t)n * sizeof *retry), n_retry = 0;
    long *by_seq = malloc((size_t)(n * 4 + 16) * sizeof *by_seq);
    uint64_t t0 = skc_now_us();
    while (granted < n) {
        while (inflight < 256 && (next < n || n_retry > 0)) {
            long idx = n_retry > 0 ? retry[--n_retry] : next++;
            char lock[32];
            snprintf(lock, sizeof lock, "lock-%06ld", idx);
            if (sent >= n * 4 + 8) die("%s", "many: too many retries");
            by_seq[sent] = idx;
            struct sk_msg q;
            req(&q, (uint64_t)++sent, SK_OP_ACQUIRE, lock, "beaver");
            if (skc_send(&c, &q, skc_now_ms() + 5000, why, sizeof why) != 0) die("%s", why);
            inflight++;
        }
        if (inflight == 0) break;
        struct sk_msg r;
        if (skc_recv(&c, &r, skc_now_ms() + 10000, why, sizeof why) != 1) die("%s", why);
        if (r.type != SK_MSG_CLIENT_REPLY) continue;
        inflight--;
        if (r.status == SK_ST_GRANTED) {
            granted++;
        } else {
            retry[n_retry++] = by_seq[r.seq - g_seq_base - 1];
        }
    }
    printf("secs %.3f\ngrants %ld\n", (double)(skc_now_us() - t0) / 1e6, granted);
    skc_close(&c);
    free(retry);
    free(by_seq);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: skbench rtt|sync DIR|cycle ADDR|distinct ADDR|contended ADDR|"
                        "cli SKINNYCTL CLUSTER|many ADDR [-n N] [-warm W] [-clients C] [-secs S]\n");
        return 64;
    }
    const char *mode = argv[1], *pos[2] = {NULL, NULL};
    long n = 1000, warm = 100;
    int clients = 64, procs = 1;
    bool prealloc = false, spin = false;
    double secs = 5;
    int np = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            n = atol(argv[++i]);
        } else if (strcmp(argv[i], "-warm") == 0 && i + 1 < argc) {
            warm = atol(argv[++i]);
        } else if (strcmp(argv[i], "-clients") == 0 && i + 1 < argc) {
            clients = atoi(argv[++i]);
        } else if (strcmp(argv[i], "-procs") == 0 && i + 1 < argc) {
            procs = atoi(argv[++i]);
        } else if (strcmp(argv[i], "-spin") == 0) {
            spin = true;
        } else if (strcmp(argv[i], "-prealloc") == 0) {
            prealloc = true;
        } else if (strcmp(argv[i], "-secs") == 0 && i + 1 < argc) {
            secs = atof(argv[++i]);
        } else if (np < 2) {
            pos[np++] = argv[i];
        } else {
            die("unexpected argument %s", argv[i]);
        }
    }
    if (n < 1 || clients < 1 || secs <= 0) die("%s", "-n, -clients and -secs must be positive");
    signal(SIGPIPE, SIG_IGN);
    if (strcmp(mode, "rtt") == 0) {
        mode_rtt(n, spin);
    } else if (strcmp(mode, "sync") == 0 && pos[0]) {
        mode_sync(pos[0], n, procs, prealloc);
    } else if (strcmp(mode, "ports") == 0 && pos[0]) {
        mode_ports(atoi(pos[0]));
    } else if (strcmp(mode, "cycle") == 0 && pos[0]) {
        mode_cycle(pos[0], n, warm);
    } else if (strcmp(mode, "distinct") == 0 && pos[0]) {
        mode_load(pos[0], clients, secs, false);
    } else if (strcmp(mode, "contended") == 0 && pos[0]) {
        mode_load(pos[0], clients, secs, true);
    } else if (strcmp(mode, "cli") == 0 && pos[1]) {
        mode_cli(pos[0], pos[1], n);
    } else if (strcmp(mode, "many") == 0 && pos[0]) {
        mode_many(pos[0], n);
    } else {
        die("unknown mode or missing argument: %s", mode);
    }
    return 0;
}
