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
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "runner.h"
#include "cmd/skclient.h"

static char g_root[1024];
static char g_dirs[8][256];
static int g_n_dirs;

/* ----------------------------------------------------------- clean-up */

/* SIGKILL every live process a lab recorded (tests/lib/proc.h). */
static void kill_lab_pids(const char *dir)
{
    char p[512];
    snprintf(p, sizeof p, "%s/lab/pids", dir);
    sk_test_kill_lab_pids(p);
}

static void cleanup(void)
{
    for (int i = 0; i < g_n_dirs; i++) kill_lab_pids(g_dirs[i]);
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
}

__attribute__((constructor)) static void setup(void)
{
    sk_test_guard(cleanup, true);
    char build[1024];
    sk_test_dirs(g_root, sizeof g_root, build, sizeof build);
    const char *s = strrchr(build, '/');
    setenv("SKINNY_BUILD", s ? s + 1 : "build", 0);
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

/* Run argv, output into g_out (tests/lib/proc.h). The daemons a killed run
 * leaves are stopped by cleanup() from the lab's pids. */
static int run(char *const argv[], uint64_t timeout_ms)
{
    return sk_test_run(argv, g_out, OUTCAP, timeout_ms, true);
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
