/* daemon_bench.c - real skinnyd daemons on loopback: latency of an
 * uncontended acquire+release cycle through the compiled client library
 * (runtime/cmd/skclient.c) over one kept-alive connection, and the
 * daemons' resident memory idle and after many distinct locks.
 *
 *   build/bench/daemon_bench [--size N] [--cycles N] [--locks N]
 *   make bench-daemon
 *
 * For each configuration (Lua scripts or the C default strategy; fsync on
 * or off; with the lab's cluster key, as every lab has, and for the Lua
 * configurations once more without it: the cost of authentication) it
 * starts a lab with build/skinny-lab in a fresh directory
 * ./.bench-lab.XXXXXX (the current directory's disk, so fsync costs what it
 * costs there), measures, and stops exactly that lab (also on ctrl-c).
 * Numbers are printed, never asserted. See bench/README-daemon.md. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/skclient.h"
#include "sk.h"

static char g_build[PATH_MAX];
static char g_dir[PATH_MAX]; /* the current lab's parent directory; "" when none */

/* skinny-lab --dir DIR/lab ARGS... (output to DIR/lab.out) */
static int lab(const char *const *args)
{
    char exe[PATH_MAX + 16], lab_dir[PATH_MAX + 8], out[PATH_MAX + 16];
    snprintf(exe, sizeof exe, "%s/skinny-lab", g_build);
    snprintf(lab_dir, sizeof lab_dir, "%s/lab", g_dir);
    snprintf(out, sizeof out, "%s/lab.out", g_dir);
    const char *argv[16] = {exe, "--dir", lab_dir};
    int n = 3;
    while (*args && n < 15) argv[n++] = *args++;
    argv[n] = NULL;
    fflush(NULL);
    pid_t p = fork();
    if (p == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    waitpid(p, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void lab_gone(void)
{
    if (g_dir[0] == 0) {
        return;
    }
    const char *down[] = {"down", NULL};
    lab(down);
    if (strstr(g_dir, "/.bench-lab.") != NULL) {
        char cmd[PATH_MAX + 32];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
        if (system(cmd) != 0) {
        }
    }
    g_dir[0] = 0;
}

static void on_sig(int s)
{
    (void)s;
    exit(130); /* atexit: lab_gone */
}

struct members {
    int n;
    char addr[SK_MAX_NODES][80];
    int pid[SK_MAX_NODES];
};

static bool read_members(struct members *m)
{
    char p[PATH_MAX + 32], line[256], name[64];
    memset(m, 0, sizeof *m);
    snprintf(p, sizeof p, "%s/lab/members", g_dir);
    FILE *f = fopen(p, "r");
    if (f == NULL) return false;
    while (m->n < SK_MAX_NODES && fgets(line, sizeof line, f)) {
        if (sscanf(line, "%63s %79s", name, m->addr[m->n]) == 2) m->n++;
    }
    fclose(f);
    snprintf(p, sizeof p, "%s/lab/pids", g_dir);
    f = fopen(p, "r");
    if (f == NULL) return false;
    for (int i = 0; i < m->n && fgets(line, sizeof line, f); i++) {
        unsigned long long st;
        if (sscanf(line, "%63s %d %llu", name, &m->pid[i], &st) != 3) return false;
    }
    fclose(f);
    return true;
}

static long rss_kb(int pid)
{
    char p[64], line[256];
    snprintf(p, sizeof p, "/proc/%d/status", pid);
    FILE *f = fopen(p, "r");
    long kb = -1;
    if (f == NULL) return -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0) kb = atol(line + 6);
    }
    fclose(f);
    return kb;
}

static void print_rss(const char *label, const struct members *m)
{
    long lo = -1, hi = -1;
    for (int i = 0; i < m->n; i++) {
        long kb = rss_kb(m->pid[i]);
        if (lo < 0 || kb < lo) lo = kb;
        if (kb > hi) hi = kb;
    }
    printf("  VmRSS %-34s catbus %6.1f MiB   all %d: %.1f..%.1f MiB\n", label,
           (double)rss_kb(m->pid[0]) / 1024.0, m->n, (double)lo / 1024.0, (double)hi / 1024.0);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static struct skc_conn g_conn;

/* One request on the kept-alive connection; the reply status or -1. */
static int call(uint64_t seq, int op, const char *lock, uint64_t *token)
{
    struct sk_msg q = {0}, r;
    q.type = SK_MSG_CLIENT_REQ;
    q.op = (uint8_t)op;
    q.seq = seq;
    q.client = 1;
    q.key = (const uint8_t *)lock;
    q.key_len = (uint32_t)strlen(lock);
    q.holder = (const uint8_t *)"beaver";
    q.holder_len = 6;
    char why[256];
    if (skc_call(&g_conn, &q, &r, skc_now_ms() + 5000, why, sizeof why) != 1) {
        fprintf(stderr, "daemon_bench: %s\n", why);
        return -1;
    }
    if (token) *token = r.token;
    return r.status;
}

/* Acquire n distinct locks with up to `window` requests in flight; returns
 * the number granted. Failed ones are retried. */
static long many_locks(long n, int window, double *secs)
{
    uint64_t t0 = skc_now_us();
    long next = 0, granted = 0, inflight = 0;
    long *retry = malloc((size_t)n * sizeof *retry), n_retry = 0;
    long *by_seq = malloc((size_t)(n * 4 + 16) * sizeof *by_seq);
    uint64_t seq = 1000000;
    char why[256];
    while (granted < n) {
        while (inflight < window && (next < n || n_retry > 0)) {
            long idx = n_retry > 0 ? retry[--n_retry] : next++;
            char lock[32];
            snprintf(lock, sizeof lock, "lock-%06ld", idx);
            struct sk_msg q = {0};
            q.type = SK_MSG_CLIENT_REQ;
            q.op = SK_OP_ACQUIRE;
            q.seq = ++seq;
            q.client = 1;
            by_seq[seq - 1000000] = idx;
            q.key = (const uint8_t *)lock;
            q.key_len = (uint32_t)strlen(lock);
            q.holder = (const uint8_t *)"beaver";
            q.holder_len = 6;
            if (skc_send(&g_conn, &q, skc_now_ms() + 5000, why, sizeof why) != 0) {
                fprintf(stderr, "daemon_bench: %s\n", why);
                goto out;
            }
            inflight++;
            if (seq - 1000000 >= (uint64_t)(n * 4 + 8)) {
                fprintf(stderr, "daemon_bench: too many retries\n");
                goto out;
            }
        }
        if (inflight == 0) break;
        struct sk_msg r;
        if (skc_recv(&g_conn, &r, skc_now_ms() + 10000, why, sizeof why) != 1) {
            fprintf(stderr, "daemon_bench: %s\n", why);
            goto out;
        }
        if (r.type != SK_MSG_CLIENT_REPLY) continue;
        inflight--;
        if (r.status == SK_ST_GRANTED) {
            granted++;
        } else {
            retry[n_retry++] = by_seq[r.seq - 1000000];
        }
    }
out:
    *secs = (double)(skc_now_us() - t0) / 1e6;
    free(retry);
    free(by_seq);
    return granted;
}

struct config {
    const char *label;
    const char *flags[4];
};

int main(int argc, char **argv)
{
    int size = 5;
    long cycles = 2000, locks = 100000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--size") == 0 && i + 1 < argc) {
            size = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--cycles") == 0 && i + 1 < argc) {
            cycles = atol(argv[++i]);
        } else if (strcmp(argv[i], "--locks") == 0 && i + 1 < argc) {
            locks = atol(argv[++i]);
        } else {
            fprintf(stderr, "usage: daemon_bench [--size N] [--cycles N] [--locks N]\n");
            return 64;
        }
    }
    if (size < 1 || size > SK_MAX_NODES || cycles < 10 || locks < 0) {
        fprintf(stderr, "daemon_bench: --size 1..16, --cycles >= 10, --locks >= 0\n");
        return 64;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    for (int k = 0; k < 2; k++) { /* BUILD/bench/daemon_bench */
        char *s = strrchr(exe, '/');
        if (s) *s = 0;
    }
    snprintf(g_build, sizeof g_build, "%s", exe);
    atexit(lab_gone);
    signal(SIGINT, on_sig);
    signal(SIGTERM, on_sig);
    signal(SIGPIPE, SIG_IGN);

    static const struct config cfgs[] = {
        {"Lua scripts (paxos, advisory), fsync", {NULL}},
        {"Lua scripts (paxos, advisory), no fsync", {"--no-fsync", NULL}},
        {"C default strategy, fsync", {"--c-defaults", NULL}},
        {"C default strategy, no fsync", {"--c-defaults", "--no-fsync", NULL}},
        /* the cost of authentication: the first two again, without the
         * lab's cluster key (peer links unauthenticated, unsealed) */
        {"Lua scripts (paxos, advisory), fsync, no key", {"--no-key", NULL}},
        {"Lua scripts (paxos, advisory), no fsync, no key", {"--no-fsync", "--no-key", NULL}},
    };
    printf("skinnyd on loopback: %d instances; %ld acquire+release cycles per configuration,\n"
           "one kept-alive connection to catbus (the proposer), lock \"bench\", no contention\n\n",
           size, cycles);
    uint64_t *lat = malloc((size_t)cycles * sizeof *lat);
    for (size_t c = 0; c < sizeof cfgs / sizeof cfgs[0]; c++) {
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof cwd) == NULL) return 1;
        snprintf(g_dir, sizeof g_dir, "%s/.bench-lab.XXXXXX", cwd);
        if (mkdtemp(g_dir) == NULL) {
            fprintf(stderr, "daemon_bench: mkdtemp: %s\n", strerror(errno));
            return 1;
        }
        char sz[16];
        snprintf(sz, sizeof sz, "%d", size);
        const char *up[12] = {"up", "--size", sz};
        int k = 3;
        for (int f = 0; cfgs[c].flags[f]; f++) up[k++] = cfgs[c].flags[f];
        up[k] = NULL;
        if (lab(up) != 0) {
            fprintf(stderr, "daemon_bench: the lab did not start; see %s/lab.out\n", g_dir);
            return 1;
        }
        struct members m;
        if (!read_members(&m)) {
            fprintf(stderr, "daemon_bench: cannot read the lab's members\n");
            return 1;
        }
        printf("%s\n", cfgs[c].label);
        if (c == 0) print_rss("idle", &m);
        char why[256];
        if (skc_dial(&g_conn, m.addr[0], skc_now_ms() + 5000, why, sizeof why) != 0) {
            fprintf(stderr, "daemon_bench: %s: %s\n", m.addr[0], why);
            return 1;
        }
        /* warm up: links connected, first ballots promised */
        uint64_t seq = 1, end = skc_now_ms() + 10000;
        int warm = 0;
        while (warm < 200 && skc_now_ms() < end) {
            int st = call(seq++, SK_OP_ACQUIRE, "bench", NULL);
            if (st == SK_ST_GRANTED && call(seq++, SK_OP_RELEASE, "bench", NULL) == SK_ST_RELEASED) {
                warm++;
            }
        }
        long bad = 0;
        for (long i = 0; i < cycles; i++) {
            uint64_t t0 = skc_now_us();
            int a = call(seq++, SK_OP_ACQUIRE, "bench", NULL);
            int r = call(seq++, SK_OP_RELEASE, "bench", NULL);
            lat[i] = skc_now_us() - t0;
            bad += a != SK_ST_GRANTED || r != SK_ST_RELEASED;
        }
        qsort(lat, (size_t)cycles, sizeof *lat, cmp_u64);
        double sum = 0;
        for (long i = 0; i < cycles; i++) sum += (double)lat[i];
        printf("  cycle latency: p50 %7.3f ms   p99 %7.3f ms   mean %7.3f ms   max %7.3f ms"
               "   (%ld not granted/released)\n",
               (double)lat[cycles / 2] / 1000, (double)lat[(cycles * 99) / 100] / 1000,
               sum / (double)cycles / 1000, (double)lat[cycles - 1] / 1000, bad);
        if (c == 0 && locks > 0) {
            double secs;
            long got = many_locks(locks, 256, &secs);
            printf("  %ld distinct locks acquired in %.1f s (%.0f/s, 256 in flight)\n", got, secs,
                   (double)got / secs);
            print_rss("after those locks", &m);
            char p[PATH_MAX + 64];
            snprintf(p, sizeof p, "%s/lab/catbus/data/acceptor.log", g_dir);
            struct stat st;
            if (stat(p, &st) == 0) {
                /* the file ends in a zero-filled tail (filestore.h): its
                 * size is what the log holds on disk, rounded up to MiB */
                printf("  catbus acceptor.log: %.1f MiB on disk\n", (double)st.st_size / 1048576.0);
            }
        }
        skc_close(&g_conn);
        lab_gone();
        printf("\n");
    }
    free(lat);
    return 0;
}
