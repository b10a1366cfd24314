/* test_nemesis.c - the nemesis tier: `bin/skinny torture` (scripts/skinny/
 * torture.lua) against a lab of five real skinnyd processes on 127.0.0.1.
 * Six clients fail over from instance to instance on three locks (one of
 * them leases) while the nemesis SIGKILLs and restarts instances, slows
 * them for seconds and partitions them, never a majority down at once (some
 * restarts are blank: the instance lost its state and rejoins); the
 * clients' history must pass `bin/skinny check`. The checks are believed
 * because they fail where they should: the same history with a double grant
 * appended, and a run against a lock script that grants everything.
 *
 * Each run's lab lives in a fresh /tmp/skinny-nemesis.* directory (kept when
 * a test fails). This process is a child subreaper, so the daemons the lab
 * starts are re-parented to it; on exit (failure and signals included) it
 * SIGKILLs exactly the PIDs its labs recorded (start time checked). Waits
 * are deadlines. SKINNY_NEMESIS_DURATION (default 20s) sets the long run. */
#define SK_TEST_NO_MAIN
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runner.h"
#include "cmd/skclient.h"

static char g_root[1024];
static char g_dirs[8][256];
static int g_n_dirs;

/* ----------------------------------------------------------- clean-up */

static unsigned long long proc_start(int pid)
{
    char p[64], buf[2048];
    snprintf(p, sizeof p, "/proc/%d/stat", pid);
    FILE *f = fopen(p, "r");
    if (f == NULL) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *s = strrchr(buf, ')');
    if (s == NULL || s[1] == 0 || s[2] == 'Z' || s[2] == 'X') return 0;
    s += 2;
    for (int field = 3; *s && field < 22; s++) {
        if (*s == ' ') field++;
    }
    return strtoull(s, NULL, 10);
}

/* SIGKILL every live process a lab recorded (the start time must match). */
static void kill_lab_pids(const char *dir)
{
    char p[512], line[256];
    snprintf(p, sizeof p, "%s/lab/pids", dir);
    FILE *f = fopen(p, "r");
    if (f == NULL) return;
    while (fgets(line, sizeof line, f)) {
        char name[64];
        int pid;
        unsigned long long st;
        if (sscanf(line, "%63s %d %llu", name, &pid, &st) == 3 && pid > 0 && st != 0 &&
            proc_start(pid) == st) {
            kill(pid, SIGKILL);
        }
    }
    fclose(f);
}

static void cleanup(void)
{
    for (int i = 0; i < g_n_dirs; i++) kill_lab_pids(g_dirs[i]);
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
}

static void on_sig(int s)
{
    (void)s;
    exit(2); /* runs cleanup */
}

__attribute__((constructor)) static void setup(void)
{
    atexit(cleanup);
    signal(SIGINT, on_sig);
    signal(SIGTERM, on_sig);
    signal(SIGPIPE, SIG_IGN);
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    char exe[1024];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    for (int k = 0; k < 3; k++) { /* ROOT/BUILD/tests/nemesis/NAME */
        char *s = strrchr(exe, '/');
        if (s) *s = 0;
    }
    char *s = strrchr(exe, '/');
    setenv("SKINNY_BUILD", s ? s + 1 : "build", 0);
    if (s) *s = 0;
    snprintf(g_root, sizeof g_root, "%s", exe);
    /* under `make asan` the Lua C module needs the sanitizer runtime first */
    const char *pre = getenv("SKINNY_ASAN_PRELOAD");
    if (pre && pre[0]) {
        setenv("LD_PRELOAD", pre, 1);
        setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
    }
}

/* ------------------------------------------------------------ processes */

#define OUTCAP 262144
static char g_out[OUTCAP];

/* Run argv (NULL-terminated), output (stdout and stderr) into g_out, killed
 * at the deadline. Returns the exit code, 128+signal, or -1 on timeout. The
 * daemons a killed run leaves are stopped by cleanup() from the lab's pids. */
static int run(char *const argv[], uint64_t timeout_ms)
{
    int p[2];
    if (pipe(p) != 0) return -1;
    fcntl(p[0], F_SETFD, FD_CLOEXEC);
    fcntl(p[1], F_SETFD, FD_CLOEXEC);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        execv(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    size_t len = 0;
    uint64_t end = skc_now_ms() + timeout_ms;
    bool timed_out = false;
    for (;;) {
        uint64_t now = skc_now_ms();
        if (now >= end) {
            timed_out = true;
            kill(pid, SIGKILL);
            break;
        }
        struct pollfd pf = {p[0], POLLIN, 0};
        if (poll(&pf, 1, (int)(end - now)) <= 0) continue;
        char buf[4096];
        ssize_t r = read(p[0], buf, sizeof buf);
        if (r <= 0) break;
        size_t k = (size_t)r < OUTCAP - 1 - len ? (size_t)r : OUTCAP - 1 - len;
        memcpy(g_out + len, buf, k);
        len += k;
    }
    g_out[len] = 0;
    close(p[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    if (timed_out) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* bin/skinny ARGS... */
static int skinny(uint64_t timeout_ms, ...)
{
    char exe[1100];
    snprintf(exe, sizeof exe, "%s/bin/skinny", g_root);
    char *argv[40] = {exe};
    int n = 1;
    va_list ap;
    va_start(ap, timeout_ms);
    for (char *a; n < 39 && (a = va_arg(ap, char *)) != NULL;) argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    return run(argv, timeout_ms);
}

static bool new_dir(char *dir, size_t cap)
{
    snprintf(dir, cap, "/tmp/skinny-nemesis.XXXXXX");
    if (mkdtemp(dir) == NULL) return false;
    if (g_n_dirs < 8) snprintf(g_dirs[g_n_dirs++], sizeof g_dirs[0], "%s", dir);
    return true;
}

static void rm_dir(const char *dir, bool keep)
{
    if (keep) {
        printf("# kept %s\n", dir);
        return;
    }
    if (strncmp(dir, "/tmp/skinny-nemesis.", 20) != 0) return;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
    }
}

/* Print the output as TAP comments. */
static void show(const char *out)
{
    for (const char *l = out; *l;) {
        const char *nl = strchr(l, '\n');
        int len = nl ? (int)(nl - l) : (int)strlen(l);
        printf("# %.*s\n", len, l);
        l = nl ? nl + 1 : l + len;
    }
}

/* The number after `key` in out, or -1. */
static double number_after(const char *out, const char *key)
{
    const char *p = strstr(out, key);
    return p ? strtod(p + strlen(key), NULL) : -1;
}

#define STEP(cond, ...)                                                                 \
    if (good && !(cond)) {                                                              \
        good = false;                                                                   \
        sk_test_fail(__FILE__, __LINE__, __VA_ARGS__);                                  \
    }

/* --------------------------------------------------------------- tests */

TEST(nemesis_six_failing_over_clients_three_locks_history_passes_the_checkers)
{
    char dir[256], labdir[300], hist[300], seed[32];
    ASSERT_TRUE(new_dir(dir, sizeof dir));
    snprintf(labdir, sizeof labdir, "%s/lab", dir);
    snprintf(hist, sizeof hist, "%s/history.jsonl", dir);
    snprintf(seed, sizeof seed, "%u", (unsigned)time(NULL));
    const char *dur = getenv("SKINNY_NEMESIS_DURATION");
    char duration[32];
    snprintf(duration, sizeof duration, "%s", dur && dur[0] ? dur : "20s");
    int64_t dur_ms = skc_parse_duration(duration);
    ASSERT_TRUE(dur_ms > 0);
    bool good = true;
    int rc = skinny((uint64_t)dur_ms + 60000, "torture", "--duration", duration, "--clients",
                    "6", "--locks", "3", "--seed", seed, "--dir", labdir, "--history", hist,
                    NULL);
    show(g_out);
    STEP(rc == 0, "skinny torture: exit %d (want 0: every check holds)", rc);
    double ops = number_after(g_out, "operations: ");
    double rate = number_after(g_out, " s (");
    const char *d = strstr(g_out, "definite ");
    double share = d ? number_after(d, "(") : -1;
    double kills = number_after(g_out, "nemesis: ");
    double restarts = number_after(g_out, "kills, ");
    double blank = number_after(g_out, "restarts (");
    double rejoined = number_after(g_out, "blank, ");
    double resends = number_after(g_out, "failover: ");
    double viol = number_after(g_out, "violations: ");
    printf("# operations %.0f, %.1f ops/s, %.1f%% definite, %.0f kills, %.0f restarts "
           "(%.0f blank, %.0f rejoined), %.0f resends, %.0f violations\n",
           ops, rate, share, kills, restarts, blank, rejoined, resends, viol);
    STEP(ops >= 20.0 * (double)dur_ms / 1000, "only %.0f operations in %s: the test tested little",
         ops, duration);
    STEP(share >= 50, "only %.1f%% of the operations had a definite outcome", share);
    STEP(restarts >= 1 && kills >= 1, "the nemesis killed %.0f and restarted %.0f", kills,
         restarts);
    /* blank restarts are on by default (the first restart is one): the
     * instance lost its state and must rejoin before it votes */
    STEP(blank >= 1 && rejoined >= 1, "%.0f blank restarts, %.0f rejoined: want at least one",
         blank, rejoined);
    STEP(viol == 0, "%.0f violations", viol);
    /* the same history, checked by the command a user runs */
    if (good) {
        rc = skinny(120000, "check", hist, NULL);
        STEP(rc == 0 && strstr(g_out, "FAIL") == NULL, "bin/skinny check %s: exit %d: %s",
             hist, rc, g_out);
    }
    /* and it fails when it should: two grants of one lock to different
     * holders, one after the other, appended */
    if (good) {
        FILE *f = fopen(hist, "a");
        ASSERT_NOT_NULL(f);
        uint64_t t = (uint64_t)dur_ms + 600000;
        fprintf(f,
                "{\"t\":%llu,\"ev\":\"invoke\",\"req\":1,\"client\":\"m1\",\"node\":\"catbus\","
                "\"op\":\"acquire\",\"lock\":\"printer\",\"holder\":\"mallory\",\"ttl\":3600000}\n"
                "{\"t\":%llu,\"ev\":\"complete\",\"req\":1,\"client\":\"m1\",\"node\":\"catbus\","
                "\"lock\":\"printer\",\"status\":\"granted\",\"holder\":\"mallory\","
                "\"token\":999999999999}\n"
                "{\"t\":%llu,\"ev\":\"invoke\",\"req\":2,\"client\":\"m2\",\"node\":\"kanta\","
                "\"op\":\"acquire\",\"lock\":\"printer\",\"holder\":\"eve\",\"ttl\":3600000}\n"
                "{\"t\":%llu,\"ev\":\"complete\",\"req\":2,\"client\":\"m2\",\"node\":\"kanta\","
                "\"lock\":\"printer\",\"status\":\"granted\",\"holder\":\"eve\","
                "\"token\":999999999998}\n",
                (unsigned long long)t, (unsigned long long)t + 1, (unsigned long long)t + 2,
                (unsigned long long)t + 3);
        fclose(f);
        rc = skinny(120000, "check", hist, NULL);
        STEP(rc == 1 && strstr(g_out, "FAIL  single holder") != NULL,
             "bin/skinny check passed a history with a double grant appended: exit %d: %s", rc,
             g_out);
    }
    rm_dir(dir, !good);
}

TEST(nemesis_against_a_lock_script_that_grants_everything_fails)
{
    char dir[256], labdir[300], hist[300], script[1200];
    ASSERT_TRUE(new_dir(dir, sizeof dir));
    snprintf(labdir, sizeof labdir, "%s/lab", dir);
    snprintf(hist, sizeof hist, "%s/history.jsonl", dir);
    snprintf(script, sizeof script, "%s/spec/testdata/unsafe/always_grant.lua", g_root);
    bool good = true;
    int rc = skinny(60000, "torture", "--duration", "3s", "--clients", "6", "--locks", "3",
                    "--lock", script, "--dir", labdir, "--history", hist, NULL);
    STEP(rc == 1, "skinny torture against always_grant.lua: exit %d (want 1): %s", rc, g_out);
    STEP(strstr(g_out, "FAIL  single holder") != NULL && strstr(g_out, "violations: 0") == NULL,
         "the checkers did not catch two holders at once: %s", g_out);
    for (const char *l = g_out; good && *l;) { /* the summary, not the commands */
        const char *nl = strchr(l, '\n');
        int len = nl ? (int)(nl - l) : (int)strlen(l);
        if (strncmp(l, "operations", 10) == 0 || strncmp(l, "  FAIL", 6) == 0 ||
            strncmp(l, "violations", 10) == 0) {
            printf("# %.*s\n", len, l);
        }
        l = nl ? nl + 1 : l + len;
    }
    rm_dir(dir, !good);
}

/* The runner's loop (tests in file order). */
int main(void)
{
    struct sk_test_state *s = &sk_test_state_;
    const char *filter = getenv("TEST_FILTER");
    unsigned passed = 0, failed = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    qsort(s->tests, s->n, sizeof s->tests[0], sk_test_cmp_line);
    for (size_t i = 0; i < s->n; i++) {
        const struct sk_test_case *t = &s->tests[i];
        if (filter != NULL && filter[0] != 0 && strstr(t->name, filter) == NULL) continue;
        s->failed = false;
        s->msg[0] = 0;
        s->ctx[0] = 0;
        t->fn();
        if (s->failed) {
            printf("not ok - %s: %s\n", t->name, s->msg);
            failed++;
        } else {
            printf("ok - %s\n", t->name);
            passed++;
        }
        fflush(stdout);
    }
    printf("%u passed, %u failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
