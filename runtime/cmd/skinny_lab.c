/* skinny-lab - a local lab of real skinnyd daemons on this machine.
 *
 *   skinny-lab up [--size N] [--base-port P] [--proposer X] [--backoff X]
 *                 [--lock X] [--lock-param K=V]... [--phase-timeout MS] [--no-fsync] [--trace]
 *                 [--keep-data] [--c-defaults] [--dir RUNDIR]
 *   skinny-lab status | down | kill NAME | restart NAME [--wipe]
 *   skinny-lab partition A,B / C,D,E | heal | slow NAME 200ms
 *
 * Everything lives in the run directory (default ./.lab, or --dir/--lab
 * DIR, or $SKINNY_LAB): per instance NAME/config.json, NAME/data/ and
 * NAME/skinnyd.log (and NAME/trace.jsonl with --trace); `cluster` (the
 * addresses, comma-separated, read by skinnyctl), `members` (NAME ADDRESS
 * per line), `pids` (NAME PID STARTTIME per line: the daemons this lab
 * started; the start time guards against a recycled PID) and `faults` (the
 * fault injections in force, re-applied to an instance when it restarts).
 *
 * Faults go through the daemons' CONTROL messages (net/control.h): a
 * partition makes each side drop what it sends to the other; `slow NAME D`
 * delays everything NAME sends to its peers by D, so every round trip
 * through NAME takes D longer. No root, no kernel modules.
 *
 * Exit codes: 0 done, 1 failed (the message says why), 64 usage. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/skclient.h"
#include "net/control.h"
#include "sk.h"

enum { LAB_OK = 0, LAB_FAIL = 1, LAB_USAGE = 64 };

static const char *const NAMES[SK_MAX_NODES] = {
    "catbus", "kanta", "mei", "satsuki", "totoro", "chihiro", "haku", "kiki",
    "jiji", "ponyo", "sosuke", "sophie", "howl", "calcifer", "nausicaa", "ashitaka"};

struct member {
    char name[64];
    char addr[80];
    int pid;
    unsigned long long start;
};

struct lab {
    char dir[PATH_MAX];
    int n;
    struct member m[SK_MAX_NODES];
};

static char g_exe_dir[PATH_MAX]; /* where skinny-lab (and skinnyd) live */
static char g_root[PATH_MAX];     /* the project: scripts/ */
/* The lab's cluster key (DIR/cluster.key, made by `up`): every CONTROL
 * frame the lab sends authenticates with it. */
static uint8_t g_key[SK_AUTH_KEY_BYTES];
static bool g_keyed;

/* One control operation on a member, with the lab's key when it has one. */
static int lab_control(const char *addr, int op, const char *key, uint32_t ms,
                       uint64_t timeout_ms, char *out, size_t outlen)
{
    return skc_control_keyed(addr, g_keyed ? g_key : NULL, op, key, ms, timeout_ms, out, outlen);
}

/* Load DIR/cluster.key when there is one (a lab from before keys has
 * none: its control frames go unauthenticated, as its daemons expect). */
static bool lab_key_load(const char *dir)
{
    char p[PATH_MAX + 32], why[512];
    snprintf(p, sizeof p, "%s/cluster.key", dir);
    g_keyed = false;
    if (access(p, F_OK) != 0) {
        return true;
    }
    if (sk_auth_init() != 0 || sk_auth_key_load(p, "the lab's cluster key", g_key, why, sizeof why) != 0) {
        fprintf(stderr, "skinny-lab: %s\n", why);
        return false;
    }
    g_keyed = true;
    return true;
}

/* ------------------------------------------------------------- helpers */

static void die_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "skinny-lab: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see `skinny-lab help`)\n");
    exit(LAB_USAGE);
}

static void path(char *out, size_t cap, const char *dir, const char *a, const char *b)
{
    if (b) {
        snprintf(out, cap, "%s/%s/%s", dir, a, b);
    } else {
        snprintf(out, cap, "%s/%s", dir, a);
    }
}

static int mkdir_p(const char *p)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", p);
    for (char *s = tmp + 1; *s; s++) {
        if (*s == '/') {
            *s = 0;
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
                return -1;
            }
            *s = '/';
        }
    }
    return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p) == 0 || errno == ENOENT ? 0 : -1;
}

static int rm_rf(const char *p)
{
    struct stat st;
    if (lstat(p, &st) != 0) {
        return errno == ENOENT ? 0 : -1;
    }
    return nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The process's start time (clock ticks since boot), or 0 when it is gone
 * or a zombie. */
static unsigned long long proc_start(int pid)
{
    if (pid <= 0) {
        return 0;
    }
    char p[64], buf[2048];
    snprintf(p, sizeof p, "/proc/%d/stat", pid);
    FILE *f = fopen(p, "r");
    if (f == NULL) {
        return 0;
    }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *s = strrchr(buf, ')');
    if (s == NULL || s[1] == 0) {
        return 0;
    }
    char state = s[2];
    if (state == 'Z' || state == 'X' || state == 'x') {
        return 0;
    }
    /* fields after ')': 3 state ... 22 starttime */
    s += 2;
    int field = 3;
    while (*s && field < 22) {
        if (*s == ' ') {
            field++;
        }
        s++;
    }
    return strtoull(s, NULL, 10);
}

static bool alive(const struct member *m)
{
    return m->pid > 0 && m->start != 0 && proc_start(m->pid) == m->start;
}

/* Wait until the member's process is gone (reaping it if it is our child). */
static bool wait_gone(struct member *m, uint64_t ms)
{
    uint64_t end = skc_now_ms() + ms;
    for (;;) {
        waitpid(m->pid, NULL, WNOHANG);
        if (!alive(m)) {
            return true;
        }
        if (skc_now_ms() >= end) {
            return false;
        }
        poll(NULL, 0, 10); /* retry interval within the deadline */
    }
}

/* SIGTERM, then SIGKILL after the deadline. true when it is gone. */
static bool stop_member(struct member *m, uint64_t grace_ms)
{
    if (!alive(m)) {
        return true;
    }
    kill(m->pid, SIGTERM);
    if (wait_gone(m, grace_ms)) {
        return true;
    }
    fprintf(stderr, "skinny-lab: %s (pid %d) did not stop within %llu ms of SIGTERM; "
                    "sending SIGKILL\n",
            m->name, m->pid, (unsigned long long)grace_ms);
    kill(m->pid, SIGKILL);
    return wait_gone(m, 3000);
}

/* ----------------------------------------------------------- lab state */

static void lab_dir_from(struct lab *L, const char *dir_in)
{
    char given[PATH_MAX];
    snprintf(given, sizeof given, "%s", dir_in ? dir_in : "");
    const char *dir = dir_in ? given : NULL;
    if (dir == NULL) {
        dir = getenv("SKINNY_LAB");
    }
    if (dir == NULL || dir[0] == 0) {
        dir = ".lab";
    }
    char abs[PATH_MAX];
    if (realpath(dir, abs) != NULL) {
        snprintf(L->dir, sizeof L->dir, "%s", abs);
    } else {
        snprintf(L->dir, sizeof L->dir, "%s", dir);
    }
}

static int find(const struct lab *L, const char *name)
{
    for (int i = 0; i < L->n; i++) {
        if (strcmp(L->m[i].name, name) == 0) {
            return i;
        }
    }
    return -1;
}

static const char *names_list(const struct lab *L)
{
    static char out[1024];
    out[0] = 0;
    for (int i = 0; i < L->n; i++) {
        size_t k = strlen(out);
        snprintf(out + k, sizeof out - k, "%s%s", i ? ", " : "", L->m[i].name);
    }
    return out;
}

/* Load members and pids. false (with a message) when there is no lab. */
static bool lab_load(struct lab *L, bool need_pids)
{
    char p[PATH_MAX + 32];
    path(p, sizeof p, L->dir, "members", NULL);
    FILE *f = fopen(p, "r");
    if (f == NULL) {
        fprintf(stderr, "skinny-lab: no lab in %s (%s); start one with `skinny lab up`\n", L->dir,
                strerror(errno));
        return false;
    }
    L->n = 0;
    char line[512];
    while (L->n < SK_MAX_NODES && fgets(line, sizeof line, f)) {
        struct member *m = &L->m[L->n];
        memset(m, 0, sizeof *m);
        if (sscanf(line, "%63s %79s", m->name, m->addr) == 2) {
            L->n++;
        }
    }
    fclose(f);
    if (!lab_key_load(L->dir)) {
        return false;
    }
    path(p, sizeof p, L->dir, "pids", NULL);
    f = fopen(p, "r");
    if (f == NULL) {
        if (need_pids) {
            fprintf(stderr, "skinny-lab: the lab in %s is down (no pids file); start it with "
                            "`skinny lab up`\n",
                    L->dir);
            return false;
        }
        return true;
    }
    while (fgets(line, sizeof line, f)) {
        char name[64];
        int pid;
        unsigned long long st;
        if (sscanf(line, "%63s %d %llu", name, &pid, &st) == 3) {
            int i = find(L, name);
            if (i >= 0) {
                L->m[i].pid = pid;
                L->m[i].start = st;
            }
        }
    }
    fclose(f);
    return true;
}

static int write_file(const char *dir, const char *name, const char *text)
{
    char p[PATH_MAX + 32], tmp[PATH_MAX + 40];
    path(p, sizeof p, dir, name, NULL);
    snprintf(tmp, sizeof tmp, "%s.tmp", p);
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        fprintf(stderr, "skinny-lab: cannot write %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    fputs(text, f);
    if (fclose(f) != 0 || rename(tmp, p) != 0) {
        fprintf(stderr, "skinny-lab: cannot write %s: %s\n", p, strerror(errno));
        return -1;
    }
    return 0;
}

static int save_pids(const struct lab *L)
{
    char text[SK_MAX_NODES * 128] = "";
    for (int i = 0; i < L->n; i++) {
        size_t k = strlen(text);
        snprintf(text + k, sizeof text - k, "%s %d %llu\n", L->m[i].name, L->m[i].pid,
                 L->m[i].start);
    }
    return write_file(L->dir, "pids", text);
}

/* ------------------------------------------------------------- faults */

struct fault {
    char kind[8]; /* drop | delay */
    char from[64], to[64];
    unsigned ms;
};

static int faults_load(const struct lab *L, struct fault *out, int cap)
{
    char p[PATH_MAX + 32], line[256];
    path(p, sizeof p, L->dir, "faults", NULL);
    FILE *f = fopen(p, "r");
    int n = 0;
    if (f == NULL) {
        return 0;
    }
    while (n < cap && fgets(line, sizeof line, f)) {
        struct fault *x = &out[n];
        memset(x, 0, sizeof *x);
        int k = sscanf(line, "%7s %63s %63s %u", x->kind, x->from, x->to, &x->ms);
        if (k >= 3) {
            n++;
        }
    }
    fclose(f);
    return n;
}

static int faults_save(const struct lab *L, const struct fault *fs, int n)
{
    static char text[65536];
    text[0] = 0;
    for (int i = 0; i < n; i++) {
        size_t k = strlen(text);
        snprintf(text + k, sizeof text - k, "%s %s %s %u\n", fs[i].kind, fs[i].from, fs[i].to,
                 fs[i].ms);
    }
    return write_file(L->dir, "faults", text);
}

/* Make member i's daemon honour exactly the recorded faults it sends by:
 * heal, then delays, then drops (a drop after a delay wins for that peer). */
static bool apply_faults(const struct lab *L, int i, const struct fault *fs, int n, bool quiet)
{
    const struct member *m = &L->m[i];
    char out[SK_TEXT_MAX + 64];
    if (lab_control(m->addr, SK_CTL_HEAL, NULL, 0, 2000, out, sizeof out) != SK_ST_GRANTED) {
        if (!quiet) {
            fprintf(stderr, "skinny-lab: %s (%s) did not take the fault change: %s%s\n", m->name,
                    m->addr, out, alive(m) ? "" : " (it is down; faults apply when it restarts)");
        }
        return false;
    }
    bool ok = true;
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < n; k++) {
            const struct fault *x = &fs[k];
            bool drop = strcmp(x->kind, "drop") == 0;
            if (strcmp(x->from, m->name) != 0 || drop != (pass == 1)) {
                continue;
            }
            int st = lab_control(m->addr, drop ? SK_CTL_DROP : SK_CTL_DELAY, x->to, x->ms, 2000,
                                 out, sizeof out);
            if (st != SK_ST_GRANTED) {
                fprintf(stderr, "skinny-lab: %s refused \"%s to %s\": %s\n", m->name, x->kind,
                        x->to, out);
                ok = false;
            }
        }
    }
    return ok;
}

/* ---------------------------------------------------------------- spawn */

/* bootstrap: a new cluster's first start (skinnyd --bootstrap); a restart
 * never passes it, so an instance whose data was wiped rejoins */
static int spawn(const struct lab *L, int i, bool trace, bool bootstrap)
{
    const struct member *m = &L->m[i];
    char cfg[PATH_MAX + 96], log[PATH_MAX + 96], tr[PATH_MAX + 96], exe[PATH_MAX + 16];
    snprintf(cfg, sizeof cfg, "%s/%s/config.json", L->dir, m->name);
    snprintf(log, sizeof log, "%s/%s/skinnyd.log", L->dir, m->name);
    snprintf(tr, sizeof tr, "%s/%s/trace.jsonl", L->dir, m->name);
    snprintf(exe, sizeof exe, "%s/skinnyd", g_exe_dir);
    struct stat st;
    bool with_trace = trace || stat(tr, &st) == 0;
    int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (lfd < 0) {
        fprintf(stderr, "skinny-lab: cannot open %s: %s\n", log, strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "skinny-lab: fork: %s\n", strerror(errno));
        close(lfd);
        return -1;
    }
    if (pid == 0) {
        setsid(); /* no controlling terminal: the daemon outlives this shell command */
        signal(SIGPIPE, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0) {
            dup2(nul, 0);
        }
        dup2(lfd, 1);
        dup2(lfd, 2);
        char dir[PATH_MAX + 64];
        snprintf(dir, sizeof dir, "%s/%s", L->dir, m->name);
        if (chdir(dir) != 0) {
            _exit(126);
        }
        char *args[8] = {exe, "--config", cfg};
        int na = 3;
        if (with_trace) {
            args[na++] = "--trace";
            args[na++] = tr;
        }
        if (bootstrap) {
            args[na++] = "--bootstrap";
        }
        args[na] = NULL;
        execv(exe, args);
        fprintf(stderr, "skinny-lab: cannot run %s: %s\n", exe, strerror(errno));
        _exit(127);
    }
    close(lfd);
    return pid;
}

static void log_tail(const struct lab *L, int i)
{
    char log[PATH_MAX + 96], line[1024];
    snprintf(log, sizeof log, "%s/%s/skinnyd.log", L->dir, L->m[i].name);
    FILE *f = fopen(log, "r");
    if (f == NULL) {
        return;
    }
    char tail[8][1024];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        snprintf(tail[n % 8], sizeof tail[0], "%s", line);
        n++;
    }
    fclose(f);
    fprintf(stderr, "  last lines of %s:\n", log);
    for (int k = n > 8 ? n - 8 : 0; k < n; k++) {
        fprintf(stderr, "    %s", tail[k % 8]);
    }
}

/* Wait until member i answers a ping; false if its process ends first. */
static bool wait_up(struct lab *L, int i, uint64_t ms)
{
    uint64_t end = skc_now_ms() + ms;
    struct member *m = &L->m[i];
    char out[SK_TEXT_MAX + 64];
    for (;;) {
        int st = 0;
        if (waitpid(m->pid, &st, WNOHANG) == m->pid) {
            fprintf(stderr, "skinny-lab: %s exited during start-up (%s %d)\n", m->name,
                    WIFEXITED(st) ? "exit code" : "signal",
                    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
            log_tail(L, i);
            m->pid = 0;
            m->start = 0;
            return false;
        }
        if (lab_control(m->addr, SK_CTL_PING, NULL, 0, 500, out, sizeof out) == SK_ST_GRANTED) {
            return true;
        }
        if (skc_now_ms() >= end) {
            fprintf(stderr, "skinny-lab: %s (%s) does not answer after %llu ms\n", m->name,
                    m->addr, (unsigned long long)ms);
            log_tail(L, i);
            return false;
        }
        poll(NULL, 0, 20); /* retry interval within the deadline */
    }
}

static bool start_member(struct lab *L, int i, bool trace, bool bootstrap)
{
    struct member *m = &L->m[i];
    int pid = spawn(L, i, trace, bootstrap);
    if (pid < 0) {
        return false;
    }
    m->pid = pid;
    m->start = proc_start(pid);
    return true;
}

/* ------------------------------------------------------------------ up */

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') {
            fputc('\\', f);
        }
        fputc(*s, f);
    }
    fputc('"', f);
}

/* A script argument: a name stays a name; a path becomes absolute. */
static void script_arg(char *out, size_t cap, const char *v)
{
    char abs[PATH_MAX];
    if (strchr(v, '/') != NULL && v[0] != '/' && realpath(v, abs) != NULL) {
        snprintf(out, cap, "%s", abs);
    } else {
        snprintf(out, cap, "%s", v);
    }
}

static int cmd_up(struct lab *L, int argc, char **argv)
{
    int n = 5, base = 0;
    const char *proposer = "paxos", *backoff = "exponential_jitter", *lock = "advisory";
    long phase = 0;
    bool fsync_on = true, trace = false, keep = false, cdef = false, keyless = false;
    const char *params[SK_PARAMS_MAX]; /* --lock-param K=V, as given */
    int n_params = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--size") == 0 && v) {
            n = atoi(v);
            i++;
            if (n < 1 || n > SK_MAX_NODES) {
                die_usage("--size must be 1..16, not \"%s\"", v);
            }
        } else if (strcmp(a, "--base-port") == 0 && v) {
            base = atoi(v);
            i++;
            if (base < 1 || base > 65535 - SK_MAX_NODES) {
                die_usage("--base-port must be a port number, not \"%s\"", v);
            }
        } else if (strcmp(a, "--proposer") == 0 && v) {
            proposer = v;
            i++;
        } else if (strcmp(a, "--backoff") == 0 && v) {
            backoff = v;
            i++;
        } else if (strcmp(a, "--lock") == 0 && v) {
            lock = v;
            i++;
        } else if (strcmp(a, "--lock-param") == 0 && v) {
            const char *eq = strchr(v, '=');
            if (eq == NULL || eq == v || eq - v > SK_PARAM_KEY_MAX) {
                die_usage("--lock-param needs NAME=VALUE (a name of 1 to 32 bytes), not \"%s\"", v);
            }
            if (n_params >= SK_PARAMS_MAX) {
                die_usage("at most 16 --lock-param (this one: \"%s\")", v);
            }
            params[n_params++] = v;
            i++;
        } else if (strcmp(a, "--phase-timeout") == 0 && v) {
            phase = (long)skc_parse_duration(v);
            i++;
            if (phase < 1 || phase > 600000) {
                die_usage("--phase-timeout must be 1ms..600s, not \"%s\"", v);
            }
        } else if (strcmp(a, "--c-defaults") == 0) {
            cdef = true;
        } else if (strcmp(a, "--no-fsync") == 0) {
            fsync_on = false;
        } else if (strcmp(a, "--trace") == 0) {
            trace = true;
        } else if (strcmp(a, "--keep-data") == 0) {
            keep = true;
        } else if (strcmp(a, "--no-key") == 0) {
            keyless = true;
        } else {
            die_usage("up: unknown or incomplete option \"%s\"", a);
        }
    }
    /* one lab per directory */
    struct lab old = *L;
    char mp[PATH_MAX + 32];
    path(mp, sizeof mp, L->dir, "members", NULL);
    if (access(mp, F_OK) == 0 && lab_load(&old, false)) {
        for (int i = 0; i < old.n; i++) {
            if (alive(&old.m[i])) {
                fprintf(stderr, "skinny-lab: a lab is already up in %s (%s is pid %d); "
                                "run `skinny lab down` first\n",
                        L->dir, old.m[i].name, old.m[i].pid);
                return LAB_FAIL;
            }
        }
    }
    if (mkdir_p(L->dir) != 0) {
        fprintf(stderr, "skinny-lab: cannot create the run directory %s: %s\n", L->dir,
                strerror(errno));
        return LAB_FAIL;
    }
    lab_dir_from(L, L->dir); /* absolute now that it exists */
    /* the cluster key: every lab authenticates its peers and control, as
     * a real cluster must (spec/DAEMON.md, "Authentication") */
    char keyfile[PATH_MAX + 32], kwhy[512];
    snprintf(keyfile, sizeof keyfile, "%s/cluster.key", L->dir);
    if (!keyless) {
        if (sk_auth_init() != 0) {
            fprintf(stderr, "skinny-lab: libsodium cannot start\n");
            return LAB_FAIL;
        }
        if (access(keyfile, F_OK) == 0 &&
            sk_auth_key_load(keyfile, "the lab's cluster key", g_key, kwhy, sizeof kwhy) != 0) {
            unlink(keyfile); /* ours, and unusable: make a new one */
        }
        if (access(keyfile, F_OK) != 0 && sk_auth_keygen(keyfile, kwhy, sizeof kwhy) != 0) {
            fprintf(stderr, "skinny-lab: %s\n", kwhy);
            return LAB_FAIL;
        }
        if (sk_auth_key_load(keyfile, "the lab's cluster key", g_key, kwhy, sizeof kwhy) != 0) {
            fprintf(stderr, "skinny-lab: %s\n", kwhy);
            return LAB_FAIL;
        }
        g_keyed = true;
    } else {
        unlink(keyfile);
        g_keyed = false;
    }
    char pbuf[PATH_MAX], bbuf[PATH_MAX], lbuf[PATH_MAX];
    script_arg(pbuf, sizeof pbuf, proposer);
    script_arg(bbuf, sizeof bbuf, backoff);
    script_arg(lbuf, sizeof lbuf, lock);

    /* ports: hold every free port until all are chosen */
    int hold[SK_MAX_NODES];
    L->n = n;
    for (int i = 0; i < n; i++) {
        struct member *m = &L->m[i];
        memset(m, 0, sizeof *m);
        snprintf(m->name, sizeof m->name, "%s", NAMES[i]);
        int port = base ? base + i : 0;
        hold[i] = -1;
        if (!base) {
            int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            socklen_t al = sizeof a;
            if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
                getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
                fprintf(stderr, "skinny-lab: cannot find a free port: %s\n", strerror(errno));
                return LAB_FAIL;
            }
            port = ntohs(a.sin_port);
            hold[i] = fd;
        }
        snprintf(m->addr, sizeof m->addr, "127.0.0.1:%d", port);
    }

    /* directories and configs */
    char members[SK_MAX_NODES * 160] = "", cluster[SK_MAX_NODES * 96] = "";
    for (int i = 0; i < n; i++) {
        struct member *m = &L->m[i];
        char d[PATH_MAX + 96], p[PATH_MAX + 128];
        snprintf(d, sizeof d, "%s/%s", L->dir, m->name);
        snprintf(p, sizeof p, "%s/data", d);
        if (!keep) {
            rm_rf(p);
            snprintf(p, sizeof p, "%s/skinnyd.log", d);
            unlink(p);
            snprintf(p, sizeof p, "%s/trace.jsonl", d);
            unlink(p);
            snprintf(p, sizeof p, "%s/data", d);
        }
        if (mkdir_p(p) != 0) {
            fprintf(stderr, "skinny-lab: cannot create %s: %s\n", p, strerror(errno));
            return LAB_FAIL;
        }
        snprintf(p, sizeof p, "%s/config.json", d);
        FILE *f = fopen(p, "w");
        if (f == NULL) {
            fprintf(stderr, "skinny-lab: cannot write %s: %s\n", p, strerror(errno));
            return LAB_FAIL;
        }
        fprintf(f, "{\n  \"name\": \"%s\",\n  \"data_dir\": ", m->name);
        snprintf(p, sizeof p, "%s/data", d);
        json_str(f, p);
        fprintf(f, ",\n  \"scripts_dir\": ");
        snprintf(p, sizeof p, "%s/scripts", g_root);
        json_str(f, p);
        if (!cdef) {
            fprintf(f, ",\n  \"proposer\": ");
            json_str(f, pbuf);
            fprintf(f, ", \"backoff\": ");
            json_str(f, bbuf);
            fprintf(f, ", \"lock\": ");
            json_str(f, lbuf);
        }
        if (phase > 0) {
            fprintf(f, ",\n  \"phase_timeout_ms\": %ld", phase);
        }
        if (n_params > 0) {
            /* skinnyd checks them (spec/DAEMON.md "lock_params") */
            fprintf(f, ",\n  \"lock_params\": {");
            for (int k = 0; k < n_params; k++) {
                const char *eq = strchr(params[k], '=');
                char key[SK_PARAM_KEY_MAX + 1];
                snprintf(key, sizeof key, "%.*s", (int)(eq - params[k]), params[k]);
                fprintf(f, "%s", k ? ", " : "");
                json_str(f, key);
                fprintf(f, ": ");
                const char *val = eq + 1;
                size_t sign = val[0] == '-' ? 1 : 0;
                bool digits = val[sign] != 0 &&
                              strspn(val + sign, "0123456789") == strlen(val + sign) &&
                              strlen(val + sign) <= 15;
                if (digits || strcmp(val, "true") == 0 || strcmp(val, "false") == 0) {
                    fprintf(f, "%s", val);
                } else {
                    json_str(f, val);
                }
            }
            fprintf(f, "}");
        }
        if (!fsync_on) {
            fprintf(f, ",\n  \"fsync\": false");
        }
        if (g_keyed) {
            fprintf(f, ",\n  \"cluster_key\": ");
            json_str(f, keyfile);
        }
        fprintf(f, ",\n  \"cluster\": [\n");
        for (int k = 0; k < n; k++) {
            fprintf(f, "    {\"name\": \"%s\", \"address\": \"%s\"}%s\n", L->m[k].name,
                    L->m[k].addr, k + 1 < n ? "," : "");
        }
        fprintf(f, "  ]\n}\n");
        fclose(f);
        size_t k = strlen(members);
        snprintf(members + k, sizeof members - k, "%s %s\n", m->name, m->addr);
        k = strlen(cluster);
        snprintf(cluster + k, sizeof cluster - k, "%s%s", i ? "," : "", m->addr);
    }
    strcat(cluster, "\n");
    if (write_file(L->dir, "members", members) || write_file(L->dir, "cluster", cluster) ||
        write_file(L->dir, "faults", "")) {
        return LAB_FAIL;
    }
    for (int i = 0; i < n; i++) {
        if (hold[i] >= 0) {
            close(hold[i]);
        }
    }
    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        ok = start_member(L, i, trace, true);
    }
    save_pids(L); /* before waiting: a failed start-up can still be cleaned up */
    for (int i = 0; i < n && ok; i++) {
        ok = wait_up(L, i, 10000);
    }
    if (!ok) {
        for (int i = 0; i < n; i++) {
            stop_member(&L->m[i], 3000);
        }
        char p[PATH_MAX + 32];
        path(p, sizeof p, L->dir, "pids", NULL);
        unlink(p);
        fprintf(stderr, "skinny-lab: the lab did not start; every daemon it started is stopped; "
                        "logs in %s/NAME/skinnyd.log\n",
                L->dir);
        return LAB_FAIL;
    }
    char cwd[PATH_MAX];
    const char *shown = L->dir;
    if (getcwd(cwd, sizeof cwd) != NULL && strncmp(L->dir, cwd, strlen(cwd)) == 0 &&
        L->dir[strlen(cwd)] == '/') {
        shown = L->dir + strlen(cwd) + 1;
    }
    if (cdef) {
        printf("lab up: %d instances in %s (the C default strategy, no scripts%s)\n", n, L->dir,
               fsync_on ? "" : ", fsync OFF: not durable");
    } else {
        printf("lab up: %d instances in %s (proposer %s, backoff %s, lock %s%s)\n", n, L->dir,
               proposer, backoff, lock, fsync_on ? "" : ", fsync OFF: not durable");
    }
    printf("  %-10s %-22s %-8s %s\n", "NAME", "ADDRESS", "PID", "LOG");
    for (int i = 0; i < n; i++) {
        printf("  %-10s %-22s %-8d %s/%s/skinnyd.log\n", L->m[i].name, L->m[i].addr,
               L->m[i].pid, shown, L->m[i].name);
    }
    printf("cluster: %s/cluster (skinnyctl reads it from ./.lab, or --lab DIR)\n", shown);
    printf("  export SKINNY_CLUSTER=%s", cluster);
    printf("stop with: skinny lab down%s%s\n", strcmp(shown, ".lab") ? " --dir " : "",
           strcmp(shown, ".lab") ? shown : "");
    return LAB_OK;
}

/* -------------------------------------------------------------- others */

static int cmd_status(struct lab *L)
{
    if (!lab_load(L, false)) {
        return LAB_FAIL;
    }
    struct fault fs[256];
    int nf = faults_load(L, fs, 256);
    printf("lab %s: %d instances\n", L->dir, L->n);
    printf("%-10s %-22s %-8s %-8s %-8s %s\n", "NAME", "ADDRESS", "PID", "PROCESS", "ANSWERS",
           "FAULTS (what it sends)");
    int up = 0;
    for (int i = 0; i < L->n; i++) {
        struct member *m = &L->m[i];
        bool a = alive(m);
        char out[SK_TEXT_MAX + 64];
        bool ans = a && lab_control(m->addr, SK_CTL_PING, NULL, 0, 1000, out, sizeof out) ==
                            SK_ST_GRANTED;
        up += ans;
        char faults[512] = "";
        for (int k = 0; k < nf; k++) {
            if (strcmp(fs[k].from, m->name) != 0) {
                continue;
            }
            size_t l = strlen(faults);
            if (strcmp(fs[k].kind, "drop") == 0) {
                snprintf(faults + l, sizeof faults - l, "%sdrop to %s", l ? ", " : "", fs[k].to);
            } else {
                snprintf(faults + l, sizeof faults - l, "%sdelay %ums to %s", l ? ", " : "",
                         fs[k].ms, strcmp(fs[k].to, "*") ? fs[k].to : "all");
            }
        }
        char pid[16];
        snprintf(pid, sizeof pid, "%d", m->pid);
        /* a daemon that is gone has no PID worth showing (the recorded one
         * may belong to another process by now) */
        printf("%-10s %-22s %-8s %-8s %-8s %s\n", m->name, m->addr, m->pid > 0 && a ? pid : "-",
               a ? "running" : "down", ans ? "yes" : "no", faults[0] ? faults : "-");
    }
    printf("%d of %d answering; a majority is %d\n", up, L->n, L->n / 2 + 1);
    return LAB_OK;
}

static int cmd_down(struct lab *L)
{
    if (!lab_load(L, false)) {
        return LAB_FAIL;
    }
    int stopped = 0, failed = 0;
    bool was[SK_MAX_NODES];
    for (int i = 0; i < L->n; i++) {
        was[i] = alive(&L->m[i]);
        if (was[i]) {
            kill(L->m[i].pid, SIGTERM); /* all at once: they stop in parallel */
        }
    }
    for (int i = 0; i < L->n; i++) {
        struct member *m = &L->m[i];
        if (m->pid <= 0 || m->start == 0) {
            continue;
        }
        if (stop_member(m, 5000)) {
            stopped += was[i];
            m->pid = 0;
            m->start = 0;
        } else {
            fprintf(stderr, "skinny-lab: %s (pid %d) would not stop\n", m->name, m->pid);
            failed++;
        }
    }
    char p[PATH_MAX + 32];
    path(p, sizeof p, L->dir, "pids", NULL);
    if (failed == 0) {
        unlink(p);
        path(p, sizeof p, L->dir, "faults", NULL);
        unlink(p);
    } else {
        save_pids(L);
    }
    printf("lab down: stopped %d daemon%s; logs and data kept in %s\n", stopped,
           stopped == 1 ? "" : "s", L->dir);
    return failed ? LAB_FAIL : LAB_OK;
}

static int member_arg(struct lab *L, const char *name)
{
    int i = find(L, name);
    if (i < 0) {
        fprintf(stderr, "skinny-lab: no instance named \"%s\" in %s (instances: %s)\n", name,
                L->dir, names_list(L));
        exit(LAB_USAGE);
    }
    return i;
}

static int cmd_kill(struct lab *L, int argc, char **argv)
{
    if (argc != 1) {
        die_usage("usage: kill NAME%s", "");
    }
    if (!lab_load(L, true)) {
        return LAB_FAIL;
    }
    int i = member_arg(L, argv[0]);
    struct member *m = &L->m[i];
    if (!alive(m)) {
        printf("%s is already down\n", m->name);
        return LAB_OK;
    }
    int pid = m->pid;
    kill(pid, SIGKILL);
    if (!wait_gone(m, 3000)) {
        fprintf(stderr, "skinny-lab: %s (pid %d) is still there after SIGKILL\n", m->name, pid);
        return LAB_FAIL;
    }
    m->pid = 0;
    m->start = 0;
    save_pids(L);
    printf("killed %s (pid %d) with SIGKILL\n", m->name, pid);
    return LAB_OK;
}

static int cmd_restart(struct lab *L, int argc, char **argv)
{
    const char *name = NULL;
    bool wipe = false;
    for (int k = 0; k < argc; k++) {
        if (strcmp(argv[k], "--wipe") == 0) {
            wipe = true;
        } else if (argv[k][0] == '-' || name != NULL) {
            die_usage("usage: restart NAME [--wipe] (not \"%s\")", argv[k]);
        } else {
            name = argv[k];
        }
    }
    if (name == NULL) {
        die_usage("usage: restart NAME [--wipe]%s", "");
    }
    if (!lab_load(L, false)) {
        return LAB_FAIL;
    }
    int i = member_arg(L, name);
    struct member *m = &L->m[i];
    if (!stop_member(m, 5000)) {
        fprintf(stderr, "skinny-lab: cannot stop %s (pid %d)\n", m->name, m->pid);
        return LAB_FAIL;
    }
    if (wipe) {
        char p[PATH_MAX + 96];
        snprintf(p, sizeof p, "%s/%s/data", L->dir, m->name);
        if (rm_rf(p) != 0 || mkdir_p(p) != 0) {
            fprintf(stderr, "skinny-lab: cannot wipe %s: %s\n", p, strerror(errno));
            return LAB_FAIL;
        }
    }
    bool ok = start_member(L, i, false, false);
    save_pids(L);
    ok = ok && wait_up(L, i, 10000);
    if (!ok) {
        stop_member(m, 3000);
        m->pid = 0;
        m->start = 0;
        save_pids(L);
        return LAB_FAIL;
    }
    struct fault fs[256];
    int nf = faults_load(L, fs, 256);
    bool has = false;
    for (int k = 0; k < nf; k++) {
        has = has || strcmp(fs[k].from, m->name) == 0;
    }
    if (has) {
        apply_faults(L, i, fs, nf, false);
    }
    printf("restarted %s (pid %d)%s%s\n", m->name, m->pid,
           wipe ? " with its data wiped: it has forgotten every promise, and rejoins before it "
                  "votes again" : "",
           has ? "; its faults are re-applied" : "");
    return LAB_OK;
}

static void apply_all(struct lab *L, const struct fault *fs, int nf)
{
    for (int i = 0; i < L->n; i++) {
        if (!alive(&L->m[i])) {
            printf("  %s is down: its faults apply when it restarts\n", L->m[i].name);
            continue;
        }
        apply_faults(L, i, fs, nf, false);
    }
}

static int cmd_partition(struct lab *L, int argc, char **argv)
{
    if (!lab_load(L, true)) {
        return LAB_FAIL;
    }
    char all[2048] = "";
    for (int k = 0; k < argc; k++) {
        size_t l = strlen(all);
        snprintf(all + l, sizeof all - l, "%s ", argv[k]);
    }
    int group[SK_MAX_NODES];
    for (int i = 0; i < L->n; i++) {
        group[i] = -1;
    }
    int ng = 0;
    char *save1 = NULL;
    for (char *g = strtok_r(all, "/", &save1); g; g = strtok_r(NULL, "/", &save1)) {
        char *save2 = NULL;
        bool any = false;
        for (char *nm = strtok_r(g, ", \t", &save2); nm; nm = strtok_r(NULL, ", \t", &save2)) {
            int i = member_arg(L, nm);
            if (group[i] >= 0) {
                die_usage("partition: \"%s\" is in two groups", nm);
            }
            group[i] = ng;
            any = true;
        }
        ng += any;
    }
    if (ng == 0) {
        die_usage("usage: partition A,B / C,D,E (names not listed form one more group)%s", "");
    }
    bool rest = false;
    for (int i = 0; i < L->n; i++) {
        if (group[i] < 0) {
            group[i] = ng;
            rest = true;
        }
    }
    ng += rest;
    if (ng < 2) {
        die_usage("partition: every instance is in one group; nothing to cut%s", "");
    }
    struct fault fs[512];
    int nf = faults_load(L, fs, 256), keep = 0;
    for (int k = 0; k < nf; k++) {
        if (strcmp(fs[k].kind, "drop") != 0) {
            fs[keep++] = fs[k];
        }
    }
    nf = keep;
    for (int a = 0; a < L->n; a++) {
        for (int b = 0; b < L->n; b++) {
            if (group[a] != group[b] && nf < 512) {
                struct fault *x = &fs[nf++];
                memset(x, 0, sizeof *x);
                snprintf(x->kind, sizeof x->kind, "drop");
                snprintf(x->from, sizeof x->from, "%s", L->m[a].name);
                snprintf(x->to, sizeof x->to, "%s", L->m[b].name);
            }
        }
    }
    faults_save(L, fs, nf);
    apply_all(L, fs, nf);
    printf("partitioned:");
    for (int g = 0; g < ng; g++) {
        printf("%s", g ? " /" : "");
        bool first = true;
        for (int i = 0; i < L->n; i++) {
            if (group[i] == g) {
                printf("%s%s", first ? " " : ",", L->m[i].name);
                first = false;
            }
        }
    }
    printf("\n");
    return LAB_OK;
}

static int cmd_heal(struct lab *L)
{
    if (!lab_load(L, true)) {
        return LAB_FAIL;
    }
    faults_save(L, NULL, 0);
    apply_all(L, NULL, 0);
    printf("healed: no drops, no delays\n");
    return LAB_OK;
}

static int cmd_slow(struct lab *L, int argc, char **argv)
{
    if (argc != 2) {
        die_usage("usage: slow NAME DELAY (e.g. slow mei 200ms; 0 clears it)%s", "");
    }
    if (!lab_load(L, true)) {
        return LAB_FAIL;
    }
    int i = member_arg(L, argv[0]);
    int64_t ms = skc_parse_duration(argv[1]);
    if (ms < 0 || ms > 600000) {
        die_usage("slow: DELAY must be a duration like 200ms or 1s, up to 600s, not \"%s\"",
                  argv[1]);
    }
    struct fault fs[512];
    int nf = faults_load(L, fs, 511), keep = 0;
    for (int k = 0; k < nf; k++) {
        if (!(strcmp(fs[k].kind, "delay") == 0 && strcmp(fs[k].from, L->m[i].name) == 0)) {
            fs[keep++] = fs[k];
        }
    }
    nf = keep;
    if (ms > 0) {
        struct fault *x = &fs[nf++];
        memset(x, 0, sizeof *x);
        snprintf(x->kind, sizeof x->kind, "delay");
        snprintf(x->from, sizeof x->from, "%s", L->m[i].name);
        snprintf(x->to, sizeof x->to, "*");
        x->ms = (unsigned)ms;
    }
    faults_save(L, fs, nf);
    if (alive(&L->m[i])) {
        apply_faults(L, i, fs, nf, false);
    } else {
        printf("  %s is down: the delay applies when it restarts\n", L->m[i].name);
    }
    if (ms > 0) {
        printf("slow: everything %s sends to its peers is delayed by %lld ms\n", L->m[i].name,
               (long long)ms);
    } else {
        printf("slow: %s is no longer delayed\n", L->m[i].name);
    }
    return LAB_OK;
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: skinny lab COMMAND [--dir RUNDIR]    (RUNDIR: --dir/--lab, $SKINNY_LAB, or ./.lab)\n"
        "  up [--size N] [--base-port P] [--proposer X] [--backoff X] [--lock X]\n"
        "     [--lock-param NAME=VALUE]... [--phase-timeout MS] [--no-fsync] [--trace]\n"
        "     [--keep-data] [--c-defaults] [--no-key]\n"
        "                          start N (default 5) skinnyd on 127.0.0.1: catbus kanta mei\n"
        "                          satsuki totoro ...; free ports unless --base-port; scripts\n"
        "                          by name (scripts/proposers/X.lua ...) or path (default\n"
        "                          paxos, exponential_jitter, advisory; --c-defaults: none,\n"
        "                          the built-in C strategy); --lock-param: the lock\n"
        "                          script's ctx.params (\"lock_params\" in each config;\n"
        "                          digits: an integer, true/false, else a string);\n"
        "                          --no-fsync: NOT durable; the lab makes a cluster key\n"
        "                          (RUNDIR/cluster.key, mode 0600) that its daemons and\n"
        "                          every lab command use; --no-key: none (unauthenticated)\n"
        "  status                  each instance: process, answering, faults\n"
        "  down                    stop exactly the daemons this lab started (SIGTERM, then\n"
        "                          SIGKILL after 5 s); logs and data stay in RUNDIR\n"
        "  kill NAME               SIGKILL one instance\n"
        "  restart NAME [--wipe]   (re)start it; --wipe deletes its acceptor state first\n"
        "  partition A,B / C,D,E   each group drops what it sends to the others (names not\n"
        "                          listed form one more group); replaces an earlier partition\n"
        "  heal                    clear every partition and delay\n"
        "  slow NAME 200ms         delay everything NAME sends to its peers (0 clears)\n"
        "Exit codes: 0 done, 1 failed, 64 usage.\n");
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    char *s = strrchr(exe, '/');
    if (s) {
        *s = 0;
    }
    snprintf(g_exe_dir, sizeof g_exe_dir, "%s", exe);
    s = strrchr(exe, '/');
    if (s) {
        *s = 0;
    }
    const char *root = getenv("SKINNY_ROOT");
    snprintf(g_root, sizeof g_root, "%s", root && root[0] ? root : exe);

    /* --dir / --lab anywhere; the rest goes to the command */
    const char *dir = NULL;
    char *rest[256];
    int nr = 0;
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "--dir") == 0 || strcmp(argv[i], "--lab") == 0) && i + 1 < argc) {
            dir = argv[++i];
        } else if (nr < 256) {
            rest[nr++] = argv[i];
        }
    }
    if (nr == 0 || strcmp(rest[0], "help") == 0 || strcmp(rest[0], "--help") == 0 ||
        strcmp(rest[0], "-h") == 0) {
        usage(nr == 0 ? stderr : stdout);
        return nr == 0 ? LAB_USAGE : LAB_OK;
    }
    static struct lab L;
    lab_dir_from(&L, dir);
    const char *cmd = rest[0];
    int ac = nr - 1;
    char **av = rest + 1;
    if (strcmp(cmd, "up") == 0) {
        return cmd_up(&L, ac, av);
    }
    if (strcmp(cmd, "status") == 0 && ac == 0) {
        return cmd_status(&L);
    }
    if (strcmp(cmd, "down") == 0 && ac == 0) {
        return cmd_down(&L);
    }
    if (strcmp(cmd, "kill") == 0) {
        return cmd_kill(&L, ac, av);
    }
    if (strcmp(cmd, "restart") == 0) {
        return cmd_restart(&L, ac, av);
    }
    if (strcmp(cmd, "partition") == 0) {
        return cmd_partition(&L, ac, av);
    }
    if (strcmp(cmd, "heal") == 0 && ac == 0) {
        return cmd_heal(&L);
    }
    if (strcmp(cmd, "slow") == 0) {
        return cmd_slow(&L, ac, av);
    }
    fprintf(stderr, "skinny-lab: unknown command or arguments: %s\n", cmd);
    usage(stderr);
    return LAB_USAGE;
}
