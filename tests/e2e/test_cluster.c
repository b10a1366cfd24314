/* test_cluster.c - end-to-end: labs of real skinnyd processes driven by
 * skinny-lab and skinnyctl (the programs a user runs), failures by SIGKILL,
 * a failing lock script, a history under random kills checked by
 * `bin/skinny check`, and a three-host cluster in network namespaces.
 *
 * Every lab lives in a fresh /tmp/skinny-e2e.* directory on free 127.0.0.1
 * ports. This process is a child subreaper, so the daemons skinny-lab
 * starts are re-parented to it; on exit (also on failure or a signal) it
 * SIGKILLs exactly the PIDs recorded in its labs' pids files (checking each
 * one's start time) and the namespaces it created are deleted. Waits are
 * deadlines with retries. A failed test keeps its directory. */
#define SK_TEST_NO_MAIN
#define _XOPEN_SOURCE 700 /* posix_openpt */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "runner.h"
#include "cmd/skclient.h"
#include "net/auth.h"
#include "net/control.h"
#include "sk.h"

static char g_build[1024]; /* ROOT/BUILD */
static char g_root[1024];
static char g_skip[512];   /* set by a test that cannot run here */

#define SKIP(...)                                                                       \
    do {                                                                                \
        snprintf(g_skip, sizeof g_skip, __VA_ARGS__);                                   \
        return;                                                                         \
    } while (0)

/* A checked step: on failure, record it and skip the remaining steps (the
 * test still stops its lab and keeps the directory). */
#define STEP(cond, ...)                                                                 \
    if (good && !(cond)) {                                                              \
        good = false;                                                                   \
        sk_test_fail(__FILE__, __LINE__, __VA_ARGS__);                                  \
    }

/* ----------------------------------------------------------- clean-up */

static char g_labs[32][256];
static int g_n_labs;
static char g_netns[8][64];
static int g_n_netns;
static pid_t g_pids[64]; /* processes started directly (netns test) */
static int g_n_pids;

/* SIGKILL every live process a lab recorded (tests/lib/proc.h). */
static int kill_lab_pids(const char *dir)
{
    char p[512];
    snprintf(p, sizeof p, "%s/pids", dir);
    return sk_test_kill_lab_pids(p);
}

static void reap(void)
{
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
}

static void cleanup(void)
{
    for (int i = 0; i < g_n_labs; i++) {
        kill_lab_pids(g_labs[i]);
    }
    for (int i = 0; i < g_n_pids; i++) {
        if (g_pids[i] > 0) {
            kill(g_pids[i], SIGKILL);
            waitpid(g_pids[i], NULL, 0);
        }
    }
    for (int i = 0; i < g_n_netns; i++) {
        char cmd[160];
        snprintf(cmd, sizeof cmd, "ip netns del %s 2>/dev/null", g_netns[i]);
        if (system(cmd) != 0) {
        }
    }
    g_n_netns = 0;
    reap();
}

__attribute__((constructor)) static void setup(void)
{
    sk_test_guard(cleanup, true);
    sk_test_dirs(g_root, sizeof g_root, g_build, sizeof g_build);
    const char *s = strrchr(g_build, '/');
    setenv("SKINNY_BUILD", s ? s + 1 : "build", 0);
}

/* ------------------------------------------------------------ processes */

/* Run argv, output into out (tests/lib/proc.h). */
static int run(char *const argv[], char *out, size_t cap, uint64_t timeout_ms)
{
    return sk_test_run(argv, out, cap, timeout_ms, false);
}

#define OUTCAP 16384
static char g_out[OUTCAP];

/* skinny-lab --dir DIR ARGS... */
static int lab(const char *dir, ...)
{
    char exe[1100];
    snprintf(exe, sizeof exe, "%s/skinny-lab", g_build);
    char *argv[32] = {exe, "--dir", (char *)dir};
    int n = 3;
    va_list ap;
    va_start(ap, dir);
    for (char *a; n < 31 && (a = va_arg(ap, char *)) != NULL;) argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    int rc = run(argv, g_out, sizeof g_out, 20000);
    reap();
    return rc;
}

/* skinnyctl [--lab DIR | --cluster ADDRS] ARGS... */
static int ctl_v(const char *where, bool is_lab, va_list ap)
{
    char exe[1100];
    snprintf(exe, sizeof exe, "%s/skinnyctl", g_build);
    char *argv[32] = {exe, is_lab ? "--lab" : "--cluster", (char *)where};
    int n = 3;
    for (char *a; n < 31 && (a = va_arg(ap, char *)) != NULL;) argv[n++] = a;
    argv[n] = NULL;
    return run(argv, g_out, sizeof g_out, 20000);
}

static int ctl(const char *where, bool is_lab, ...)
{
    va_list ap;
    va_start(ap, is_lab);
    int rc = ctl_v(where, is_lab, ap);
    va_end(ap);
    return rc;
}

/* Retry a command until it exits with want (a cluster still electing,
 * links still connecting), within ms. */
static int ctl_until(int want, uint64_t ms, const char *where, bool is_lab, ...)
{
    uint64_t end = skc_now_ms() + ms;
    int rc;
    for (;;) {
        va_list ap;
        va_start(ap, is_lab);
        rc = ctl_v(where, is_lab, ap);
        va_end(ap);
        if (rc == want || skc_now_ms() >= end) return rc;
        poll(NULL, 0, 20); /* retry interval within the deadline */
    }
}

static bool new_dir(char *dir, size_t cap)
{
    snprintf(dir, cap, "/tmp/skinny-e2e.XXXXXX");
    if (mkdtemp(dir) == NULL) return false;
    return true;
}

/* A new lab directory, registered for clean-up. */
static bool new_lab(char *dir, size_t cap)
{
    if (!new_dir(dir, cap)) return false;
    if (g_n_labs < 32) snprintf(g_labs[g_n_labs++], sizeof g_labs[0], "%s/lab", dir);
    strncat(dir, "/lab", cap - strlen(dir) - 1);
    return true;
}

static void rm_dir(const char *dir, bool keep)
{
    if (keep) {
        printf("# kept %s\n", dir);
        return;
    }
    char parent[512], cmd[600];
    snprintf(parent, sizeof parent, "%s", dir);
    char *s = strstr(parent, "/lab");
    if (s && strcmp(s, "/lab") == 0) *s = 0;
    if (strncmp(parent, "/tmp/skinny-e2e.", 16) != 0) return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", parent);
    if (system(cmd) != 0) {
    }
}

/* Members of a lab: names, addresses, pids. */
struct lab_m {
    int n;
    char name[16][64];
    char addr[16][80];
    int pid[16];
};

static bool lab_read(const char *dir, struct lab_m *m)
{
    char p[512], line[256];
    memset(m, 0, sizeof *m);
    snprintf(p, sizeof p, "%s/members", dir);
    FILE *f = fopen(p, "r");
    if (f == NULL) return false;
    while (m->n < 16 && fgets(line, sizeof line, f)) {
        if (sscanf(line, "%63s %79s", m->name[m->n], m->addr[m->n]) == 2) m->n++;
    }
    fclose(f);
    snprintf(p, sizeof p, "%s/pids", dir);
    f = fopen(p, "r");
    if (f == NULL) return true;
    while (fgets(line, sizeof line, f)) {
        char name[64];
        int pid;
        unsigned long long st;
        if (sscanf(line, "%63s %d %llu", name, &pid, &st) == 3) {
            for (int i = 0; i < m->n; i++) {
                if (strcmp(m->name[i], name) == 0) m->pid[i] = pid;
            }
        }
    }
    fclose(f);
    return true;
}

/* Processes whose command line mentions s (zombies have none). */
static int procs_mentioning(const char *s, int *first)
{
    DIR *d = opendir("/proc");
    int n = 0;
    if (d == NULL) return -1;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        int pid = atoi(e->d_name);
        if (pid <= 0 || pid == getpid()) continue;
        char p[64], buf[4096];
        snprintf(p, sizeof p, "/proc/%d/cmdline", pid);
        FILE *f = fopen(p, "r");
        if (f == NULL) continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        for (size_t i = 0; i < len; i++) {
            if (buf[i] == 0) buf[i] = ' ';
        }
        buf[len] = 0;
        if (strstr(buf, s) != NULL) {
            if (n++ == 0 && first) *first = pid;
        }
    }
    closedir(d);
    return n;
}

/* --------------------------------------------------------------- tests */

TEST(lab_up_kill_restart_partition_down_leaves_no_process)
{
    char dir[256];
    ASSERT_TRUE(new_lab(dir, sizeof dir));
    int rc = lab(dir, "up", "--size", "3", "--phase-timeout", "100ms", "--no-fsync", NULL);
    if (rc != 0) FAIL("lab up: exit %d: %s", rc, g_out);
    if (strstr(g_out, "catbus") == NULL || strstr(g_out, "mei") == NULL) {
        FAIL("lab up does not name its instances: %s", g_out);
    }
    struct lab_m m;
    ASSERT_TRUE(lab_read(dir, &m));
    ASSERT_EQ_INT(m.n, 3);
    for (int i = 0; i < 3; i++) {
        if (m.pid[i] <= 0 || sk_test_proc_start(m.pid[i]) == 0) FAIL("%s has no live pid", m.name[i]);
    }
    rc = lab(dir, "up", NULL);
    if (rc == 0 || strstr(g_out, "already up") == NULL) {
        FAIL("a second lab up in the same directory: exit %d: %s", rc, g_out);
    }
    rc = ctl_until(0, 5000, dir, true, "acquire", "beaver", "--lock", "printer", NULL);
    if (rc != 0) FAIL("acquire through the lab's cluster file: exit %d: %s", rc, g_out);

    rc = lab(dir, "kill", "mei", NULL);
    if (rc != 0) FAIL("lab kill mei: exit %d: %s", rc, g_out);
    if (sk_test_proc_start(m.pid[2]) != 0) FAIL("mei (pid %d) still runs after lab kill", m.pid[2]);
    rc = lab(dir, "status", NULL);
    if (rc != 0 || strstr(g_out, "down") == NULL) FAIL("lab status after kill: %s", g_out);
    rc = lab(dir, "restart", "mei", NULL);
    if (rc != 0) FAIL("lab restart mei: exit %d: %s", rc, g_out);
    rc = lab(dir, "status", NULL);
    if (rc != 0 || strstr(g_out, "3 of 3 answering") == NULL) {
        FAIL("lab status after restart: %s", g_out);
    }
    /* catbus alone on one side: it cannot get a majority; kanta and mei can */
    rc = lab(dir, "partition", "catbus", "/", "kanta,mei", NULL);
    if (rc != 0) FAIL("lab partition: exit %d: %s", rc, g_out);
    char catbus[100], kanta[100];
    snprintf(catbus, sizeof catbus, "%s", m.addr[0]);
    snprintf(kanta, sizeof kanta, "%s", m.addr[1]);
    rc = ctl(catbus, false, "--timeout", "1500ms", "acquire", "otter", "--lock", "scanner", NULL);
    if (rc != 2) FAIL("acquire at an isolated catbus: exit %d (want 2): %s", rc, g_out);
    rc = ctl_until(0, 5000, kanta, false, "acquire", "otter", "--lock", "plotter", NULL);
    if (rc != 0) FAIL("acquire on the majority side: exit %d: %s", rc, g_out);
    rc = lab(dir, "slow", "kanta", "50ms", NULL);
    if (rc != 0) FAIL("lab slow: exit %d: %s", rc, g_out);
    rc = lab(dir, "heal", NULL);
    if (rc != 0) FAIL("lab heal: exit %d: %s", rc, g_out);
    rc = ctl_until(0, 5000, catbus, false, "acquire", "otter", "--lock", "stapler", NULL);
    if (rc != 0) FAIL("acquire at catbus after heal: exit %d: %s", rc, g_out);

    ASSERT_TRUE(lab_read(dir, &m));
    rc = lab(dir, "down", NULL);
    if (rc != 0) FAIL("lab down: exit %d: %s", rc, g_out);
    if (strstr(g_out, "stopped 3 daemons") == NULL) FAIL("lab down: %s", g_out);
    for (int i = 0; i < 3; i++) {
        if (sk_test_proc_start(m.pid[i]) != 0) FAIL("%s (pid %d) survived lab down", m.name[i], m.pid[i]);
    }
    int first = 0;
    int left = procs_mentioning(dir, &first);
    if (left != 0) FAIL("%d process(es) mentioning %s left after down (pid %d)", left, dir, first);
    rc = lab(dir, "status", NULL);
    rm_dir(dir, false);
}

TEST(two_of_five_killed_granted_three_killed_unavailable_restarted_recovers)
{
    char dir[256];
    ASSERT_TRUE(new_lab(dir, sizeof dir));
    int rc = lab(dir, "up", "--phase-timeout", "200ms", NULL);
    if (rc != 0) FAIL("lab up: exit %d: %s", rc, g_out);
    const char *step = "";
    bool good = true;
    rc = ctl_until(0, 5000, dir, true, "acquire", "beaver", "--lock", "printer", NULL);
    STEP(rc == 0, "first acquire: exit %d: %s", rc, g_out);
    rc = lab(dir, "kill", "catbus", NULL);
    STEP(rc == 0, "kill catbus: %s", g_out);
    rc = lab(dir, "kill", "kanta", NULL);
    STEP(rc == 0, "kill kanta: %s", g_out);
    /* skinnyctl meets two refused connections first, then fails over */
    rc = ctl(dir, true, "--timeout", "3s", "acquire", "otter", "--lock", "scanner", NULL);
    STEP(rc == 0 && strstr(g_out, "granted") != NULL,
         "two of five down: acquire: exit %d: %s", rc, g_out);
    rc = ctl(dir, true, "acquire", "otter", "--lock", "printer", NULL);
    STEP(rc == 1 && strstr(g_out, "beaver") != NULL, "two down: refused for beaver's lock: "
         "exit %d: %s", rc, g_out);
    rc = lab(dir, "kill", "mei", NULL);
    STEP(rc == 0, "kill mei: %s", g_out);
    uint64_t t0 = skc_now_ms();
    rc = ctl(dir, true, "--timeout", "2s", "acquire", "giraffe", "--lock", "stapler", NULL);
    uint64_t took = skc_now_ms() - t0;
    STEP(rc == 2, "three of five down: exit %d (want 2, unavailable): %s", rc, g_out);
    STEP(took < 2000 + 1500, "three down: unavailable after %llu ms, client timeout 2000 ms",
         (unsigned long long)took);
    step = "restart";
    rc = lab(dir, "restart", "catbus", NULL);
    STEP(rc == 0, "restart catbus: %s", g_out);
    rc = lab(dir, "restart", "kanta", NULL);
    STEP(rc == 0, "restart kanta: %s", g_out);
    rc = lab(dir, "restart", "mei", NULL);
    STEP(rc == 0, "restart mei: %s", g_out);
    rc = ctl_until(0, 8000, dir, true, "acquire", "giraffe", "--lock", "stapler", NULL);
    STEP(rc == 0, "after restart: acquire: exit %d: %s", rc, g_out);
    rc = ctl(dir, true, "acquire", "otter", "--lock", "printer", NULL);
    STEP(rc == 1 && strstr(g_out, "beaver") != NULL,
         "after restart, beaver's grant survived: exit %d: %s", rc, g_out);
    rc = ctl(dir, true, "release", "beaver", "--lock", "printer", NULL);
    STEP(rc == 0, "after restart: release: exit %d: %s", rc, g_out);
    (void)step;
    lab(dir, "down", NULL);
    rm_dir(dir, !good);
}

TEST(failing_lock_script_answers_with_script_and_line_and_reload_heals)
{
    char dir[256];
    ASSERT_TRUE(new_lab(dir, sizeof dir));
    int rc = lab(dir, "up", "--size", "3", "--no-fsync", NULL);
    if (rc != 0) FAIL("lab up: exit %d: %s", rc, g_out);
    struct lab_m m;
    ASSERT_TRUE(lab_read(dir, &m));
    /* point mei at a lock script that raises, in the test's directory */
    char script[512], cfg[512], text[8192];
    snprintf(script, sizeof script, "%s/../failing_lock.lua", dir);
    FILE *f = fopen(script, "w");
    ASSERT_NOT_NULL(f);
    fputs("-- a lock script with a bug\nlocal M = {}\nfunction M.apply(state, req, ctx)\n"
          "  error(\"the printer is on fire\")\nend\nreturn M\n", f);
    fclose(f);
    snprintf(cfg, sizeof cfg, "%s/mei/config.json", dir);
    f = fopen(cfg, "r");
    ASSERT_NOT_NULL(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    char *lk = strstr(text, "\"lock\": \"advisory\"");
    ASSERT_NOT_NULL(lk);
    char fixed[9000];
    snprintf(fixed, sizeof fixed, "%.*s\"lock\": \"%s\"%s", (int)(lk - text), text, script,
             lk + strlen("\"lock\": \"advisory\""));
    f = fopen(cfg, "w");
    fputs(fixed, f);
    fclose(f);
    rc = lab(dir, "restart", "mei", NULL);
    if (rc != 0) FAIL("restart mei with the failing script: %s", g_out);

    bool good = true;
    char mei[100], catbus[100];
    snprintf(mei, sizeof mei, "%s", m.addr[2]);
    snprintf(catbus, sizeof catbus, "%s", m.addr[0]);
    rc = ctl_until(3, 5000, mei, false, "acquire", "beaver", "--lock", "printer", NULL);
    STEP(rc == 3, "acquire at mei: exit %d (want 3, error): %s", rc, g_out);
    STEP(strstr(g_out, "failing_lock.lua:4:") != NULL && strstr(g_out, "on fire") != NULL,
         "the error does not name the script and line: %s", g_out);
    /* control needs the lab's cluster key (skinny-lab up made it) */
    char ckey[400];
    snprintf(ckey, sizeof ckey, "%s/cluster.key", dir);
    rc = ctl(mei, false, "ping", NULL);
    STEP(rc == 3 && strstr(g_out, "--cluster-key") != NULL,
         "a ping without the cluster key: exit %d: %s", rc, g_out);
    rc = ctl(mei, false, "--cluster-key", ckey, "ping", NULL);
    STEP(rc == 0, "mei stopped answering after the error: %s", g_out);
    rc = ctl(mei, false, "status", NULL);
    STEP(rc == 0 && strstr(g_out, "mei") != NULL, "status at mei: %s", g_out);
    /* mei still serves as an acceptor: catbus proposes with a good script */
    rc = ctl_until(0, 5000, catbus, false, "acquire", "otter", "--lock", "scanner", NULL);
    STEP(rc == 0, "acquire at catbus while mei's script fails: exit %d: %s", rc, g_out);
    /* fix the script, reload mei */
    f = fopen(script, "w");
    fputs("-- fixed\nlocal M = {}\nfunction M.apply(state, req, ctx)\n"
          "  if state and state.holder and state.holder ~= req.holder then\n"
          "    return state, { status = req.op == 'acquire' and 'refused' or 'not_holder', holder = state.holder }\n"
          "  end\n"
          "  if req.op == 'release' then return nil, { status = 'released' } end\n"
          "  local s = state or { holder = req.holder, token = req.token }\n"
          "  return s, { status = 'granted', holder = s.holder, token = s.token }\n"
          "end\nreturn M\n", f);
    fclose(f);
    rc = ctl(mei, false, "--cluster-key", ckey, "reload", NULL);
    STEP(rc == 0 && strstr(g_out, "reloaded") != NULL, "reload mei: exit %d: %s", rc, g_out);
    rc = ctl_until(0, 5000, mei, false, "acquire", "beaver", "--lock", "printer", NULL);
    STEP(rc == 0, "acquire at mei after the reload: exit %d: %s", rc, g_out);
    rc = ctl(mei, false, "acquire", "otter", "--lock", "printer", NULL);
    STEP(rc == 1, "the fixed script refuses a second holder: exit %d: %s", rc, g_out);
    lab(dir, "down", NULL);
    rm_dir(dir, !good);
}

TEST(ttl_reaches_the_lease_script)
{
    char dir[256];
    ASSERT_TRUE(new_lab(dir, sizeof dir));
    int rc = lab(dir, "up", "--size", "3", "--lock", "lease", "--no-fsync", NULL);
    if (rc != 0) FAIL("lab up: exit %d: %s", rc, g_out);
    bool good = true;
    rc = ctl_until(0, 5000, dir, true, "acquire", "beaver", "--lock", "printer", "--ttl", "2s", NULL);
    STEP(rc == 0, "acquire --ttl 2s: exit %d: %s", rc, g_out);
    rc = ctl(dir, true, "--json", "acquire", "otter", "--lock", "printer", NULL);
    /* "lease ends in N ms" with N <= 2000 (the default would be 10000) */
    const char *p = strstr(g_out, "lease ends in ");
    long left = p ? atol(p + 14) : -1;
    STEP(rc == 1 && left > 0 && left <= 2000, "the lease does not end within 2 s: exit %d: %s",
         rc, g_out);
    lab(dir, "down", NULL);
    rm_dir(dir, !good);
}

static int count(const char *hay, size_t len, const char *needle)
{
    int n = 0;
    size_t nl = strlen(needle);
    for (size_t i = 0; i + nl <= len; i++) {
        if (memcmp(hay + i, needle, nl) == 0) n++;
    }
    return n;
}

/* Read the pty into buf until pred holds or the deadline passes. */
static size_t pty_read(int fd, char *buf, size_t len, size_t cap, uint64_t ms, const char *until)
{
    uint64_t end = skc_now_ms() + ms;
    while (skc_now_ms() < end) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, 50) > 0) {
            ssize_t r = read(fd, buf + len, cap - 1 - len);
            if (r <= 0) break;
            len += (size_t)r;
            buf[len] = 0;
        }
        if (until && count(buf, len, until) > 0) break;
    }
    return len;
}

TEST(status_watch_redraws_in_place_on_a_terminal)
{
    char dir[256];
    ASSERT_TRUE(new_lab(dir, sizeof dir));
    int rc = lab(dir, "up", "--size", "3", "--no-fsync", NULL);
    if (rc != 0) FAIL("lab up: exit %d: %s", rc, g_out);
    int mfd = posix_openpt(O_RDWR | O_NOCTTY);
    ASSERT_TRUE(mfd >= 0 && grantpt(mfd) == 0 && unlockpt(mfd) == 0);
    char slave[128];
    snprintf(slave, sizeof slave, "%s", ptsname(mfd));
    char exe[1100];
    snprintf(exe, sizeof exe, "%s/skinnyctl", g_build);
    pid_t p = fork();
    if (p == 0) {
        int sfd = open(slave, O_RDWR);
        dup2(sfd, 1);
        dup2(sfd, 2);
        execl(exe, exe, "--lab", dir, "status", "--watch", (char *)NULL);
        _exit(127);
    }
    g_pids[g_n_pids++] = p;
    static char buf[65536];
    size_t len = pty_read(mfd, buf, 0, sizeof buf, 3000, "ctrl-c");
    bool good = true;
    STEP(len > 0 && strstr(buf, "free") == NULL, "first frame: %s", buf);
    rc = ctl_until(0, 5000, dir, true, "acquire", "beaver", "--lock", "printer", NULL);
    STEP(rc == 0, "acquire: %s", g_out);
    /* a later frame shows the new holder on every instance */
    uint64_t end = skc_now_ms() + 3000;
    while (good && count(buf, len, "beaver") < 3 && skc_now_ms() < end) {
        len = pty_read(mfd, buf, len, sizeof buf, 600, NULL);
    }
    STEP(count(buf, len, "beaver") >= 3, "no frame shows beaver holding printer: %s", buf);
    int homes = count(buf, len, "\033[H");
    STEP(homes >= 3, "only %d cursor-home redraws", homes);
    STEP(count(buf, len, "\033[2J") == 1, "the screen is cleared more than once (flicker)");
    STEP(count(buf, len, "\033[K") >= 2 * homes, "lines do not clear their own tails");
    kill(p, SIGINT);
    int st = 0;
    uint64_t dl = skc_now_ms() + 3000;
    while (waitpid(p, &st, WNOHANG) == 0 && skc_now_ms() < dl) poll(NULL, 0, 10);
    bool exited = skc_now_ms() < dl;
    if (!exited) {
        kill(p, SIGKILL);
        waitpid(p, &st, 0);
    }
    g_pids[--g_n_pids] = 0;
    STEP(exited && WIFEXITED(st) && WEXITSTATUS(st) == 0, "watch did not end cleanly on SIGINT");
    close(mfd);
    lab(dir, "down", NULL);
    rm_dir(dir, !good);
}

/* --------------------------------------- a late copy of an old release */

static uint64_t token_in(const char *out)
{
    const char *p = strstr(out, "fencing token ");
    return p ? strtoull(p + 14, NULL, 10) : 0;
}

/* Does the instance's trace hold a complete event with this status? */
static bool trace_has(const char *dir, const char *name, const char *needle)
{
    char p[512], line[4096];
    snprintf(p, sizeof p, "%s/%s/trace.jsonl", dir, name);
    FILE *f = fopen(p, "r");
    bool found = false;
    if (f == NULL) return false;
    while (!found && fgets(line, sizeof line, f)) {
        found = strstr(line, "\"ev\":\"complete\"") != NULL && strstr(line, needle) != NULL;
    }
    fclose(f);
    return found;
}

/* Reproduction 1 of the at-most-once issue. heron holds L (granted through
 * kanta); catbus is slowed so that heron's release through catbus goes
 * unanswered and skinnyctl resends it to kanta (released); heron acquires L
 * again through kanta; catbus, no longer slow, then runs its queued copy of
 * the old release. That copy must change nothing (stale: a later request of
 * heron was applied), so beaver is refused and heron's next release is
 * released. With fence: the releases name their grant's token, and a release
 * naming the first grant is refused as not_holder. */
static void late_copy_of_an_old_release(bool fence, const char *unsafe_proposer)
{
    char dir[256], proposer[1200];
    ASSERT_TRUE(new_lab(dir, sizeof dir));
    snprintf(proposer, sizeof proposer, "%s/%s", g_root, unsafe_proposer ? unsafe_proposer : "");
    int rc = unsafe_proposer
                 ? lab(dir, "up", "--trace", "--no-fsync", "--proposer", proposer, NULL)
                 : lab(dir, "up", "--trace", "--no-fsync", NULL);
    if (rc != 0) FAIL("lab up: exit %d: %s", rc, g_out);
    struct lab_m m;
    ASSERT_TRUE(lab_read(dir, &m));
    char kanta[100], both[200], t1s[32], t2s[32];
    snprintf(kanta, sizeof kanta, "%s", m.addr[1]);
    snprintf(both, sizeof both, "%s,%s", m.addr[0], m.addr[1]); /* CATBUS,KANTA */
    bool good = true;
    rc = ctl_until(0, 5000, kanta, false, "acquire", "heron", "--lock", "L", NULL);
    uint64_t t1 = token_in(g_out);
    STEP(rc == 0 && t1 != 0, "heron's first acquire through kanta: exit %d: %s", rc, g_out);
    snprintf(t1s, sizeof t1s, "%llu", (unsigned long long)t1);
    rc = lab(dir, "slow", "catbus", "1500ms", NULL);
    STEP(rc == 0, "lab slow catbus 1500ms: exit %d: %s", rc, g_out);
    if (fence) {
        rc = ctl(both, false, "--timeout", "2s", "release", "heron", "--lock", "L", "--token", t1s,
                 NULL);
    } else {
        rc = ctl(both, false, "--timeout", "2s", "release", "heron", "--lock", "L", NULL);
    }
    STEP(rc == 0 && strstr(g_out, "released") != NULL &&
             strstr(g_out, "sending the same request to the next instance") != NULL,
         "release with catbus silent: want released after failing over to kanta, got exit %d: %s",
         rc, g_out);
    rc = ctl(kanta, false, "acquire", "heron", "--lock", "L", NULL);
    uint64_t t2 = token_in(g_out);
    STEP(rc == 0 && t2 > t1, "heron's second acquire: exit %d, token %llu after %llu: %s", rc,
         (unsigned long long)t2, (unsigned long long)t1, g_out);
    snprintf(t2s, sizeof t2s, "%llu", (unsigned long long)t2);
    rc = lab(dir, "slow", "catbus", "0", NULL);
    STEP(rc == 0, "lab slow catbus 0: exit %d: %s", rc, g_out);
    /* catbus runs its queued copy of the old release once its messages flow */
    const char *late = unsafe_proposer ? "\"status\":\"released\"" : "\"status\":\"stale\"";
    uint64_t end = skc_now_ms() + 10000;
    bool ran = false;
    while (good && !(ran = trace_has(dir, "catbus", late)) && skc_now_ms() < end) {
        poll(NULL, 0, 50); /* retry interval within the deadline */
    }
    STEP(ran, "catbus never answered its copy of the old release (%s) within 10 s", late);
    if (unsafe_proposer) {
        /* without request identity the late copy released heron's new grant */
        rc = ctl(dir, true, "acquire", "beaver", "--lock", "L", NULL);
        STEP(rc == 0, "without request identity beaver should be granted (the bug this test "
                      "catches), got exit %d: %s", rc, g_out);
        lab(dir, "down", NULL);
        rm_dir(dir, !good);
        return;
    }
    rc = ctl(dir, true, "acquire", "beaver", "--lock", "L", NULL);
    STEP(rc == 1 && strstr(g_out, "held by heron") != NULL,
         "beaver after the late copy: want refused (heron holds), got exit %d: %s", rc, g_out);
    if (fence) {
        rc = ctl(dir, true, "release", "heron", "--lock", "L", "--token", t1s, NULL);
        STEP(rc == 1 && strstr(g_out, "does not hold") != NULL &&
                 strstr(g_out, "names an earlier grant") != NULL,
             "release naming the first grant's token: want not_holder, got exit %d: %s", rc,
             g_out);
        rc = ctl(dir, true, "release", "heron", "--lock", "L", "--token", t2s, NULL);
    } else {
        rc = ctl(dir, true, "release", "heron", "--lock", "L", NULL);
    }
    STEP(rc == 0 && strstr(g_out, "released") != NULL,
         "heron's last release: want released, got exit %d: %s", rc, g_out);
    lab(dir, "down", NULL);
    rm_dir(dir, !good);
}

TEST(slow_instance_runs_an_old_release_late_it_is_stale_and_heron_keeps_the_lock)
{
    late_copy_of_an_old_release(false, NULL);
}

TEST(with_tokens_the_late_release_is_stale_and_the_first_grants_token_is_not_holder)
{
    late_copy_of_an_old_release(true, NULL);
}

/* The test is only believed because it fails where it should: the same
 * steps without request identity grant beaver the lock heron holds. */
TEST(without_request_identity_the_late_release_frees_herons_new_grant)
{
    late_copy_of_an_old_release(false, "spec/testdata/unsafe/no_identity.lua");
}

/* ------------------------------------------------- history under kills */

struct cl {
    const char *name, *holder;
    struct skc_conn conn;
    bool busy;
    uint64_t req, deadline, seq;
    int node;
    const char *lock;
    int op;
    bool holds[2];
};

static const char *LOCKS[2] = {"a", "b"};

static FILE *g_trace;
static uint64_t g_t0;
static uint64_t g_req;
static int g_definite_grants, g_timeouts;

static uint64_t tms(void)
{
    return skc_now_ms() - g_t0;
}

static void complete(struct cl *c, struct lab_m *m, const char *status, const char *holder,
                     uint64_t token)
{
    fprintf(g_trace,
            "{\"t\":%llu,\"ev\":\"complete\",\"req\":%llu,\"client\":\"%s\",\"node\":\"%s\","
            "\"lock\":\"%s\",\"status\":\"%s\"",
            (unsigned long long)tms(), (unsigned long long)c->req, c->name, m->name[c->node],
            c->lock, status);
    if (holder && holder[0]) fprintf(g_trace, ",\"holder\":\"%s\"", holder);
    if (token) fprintf(g_trace, ",\"token\":%llu", (unsigned long long)token);
    fprintf(g_trace, "}\n");
    int li = c->lock == LOCKS[0] ? 0 : 1;
    if (strcmp(status, "granted") == 0) {
        c->holds[li] = true;
        g_definite_grants++;
    } else if (strcmp(status, "released") == 0 || strcmp(status, "not_holder") == 0 ||
               strcmp(status, "refused") == 0) {
        c->holds[li] = false;
    } else if (strcmp(status, "timeout") == 0) {
        g_timeouts++;
    }
    skc_close(&c->conn);
    c->busy = false;
}

static uint32_t g_rng = 12345;

static uint32_t rnd(uint32_t n)
{
    g_rng = g_rng * 1103515245u + 12345u;
    return (g_rng >> 8) % n;
}

/* Start the client's next operation at a random instance that accepts a
 * connection. */
static void start_op(struct cl *c, struct lab_m *m, uint64_t timeout_ms)
{
    char why[200];
    for (int tries = 0; tries < m->n; tries++) {
        int node = (int)rnd((uint32_t)m->n);
        if (skc_dial(&c->conn, m->addr[node], skc_now_ms() + 200, why, sizeof why) != 0) {
            continue; /* refused: nothing was sent, nothing to record */
        }
        int li = (int)rnd(2);
        bool release = c->holds[li] ? rnd(10) < 7 : rnd(10) < 3;
        c->node = node;
        c->lock = LOCKS[li];
        c->op = release ? SK_OP_RELEASE : SK_OP_ACQUIRE;
        c->req = ++g_req;
        struct sk_msg q = {0};
        q.type = SK_MSG_CLIENT_REQ;
        q.op = (uint8_t)c->op;
        q.seq = ++c->seq;
        q.client = (uint64_t)(uintptr_t)c; /* one id per client, non-zero */
        q.key = (const uint8_t *)c->lock;
        q.key_len = 1;
        q.holder = (const uint8_t *)c->holder;
        q.holder_len = (uint32_t)strlen(c->holder);
        fprintf(g_trace,
                "{\"t\":%llu,\"ev\":\"invoke\",\"req\":%llu,\"client\":\"%s\",\"node\":\"%s\","
                "\"op\":\"%s\",\"lock\":\"%s\",\"holder\":\"%s\"}\n",
                (unsigned long long)tms(), (unsigned long long)c->req, c->name, m->name[node],
                release ? "release" : "acquire", c->lock, c->holder);
        c->busy = true;
        c->deadline = skc_now_ms() + timeout_ms;
        if (skc_send(&c->conn, &q, c->deadline, why, sizeof why) != 0) {
            complete(c, m, "timeout", NULL, 0);
        }
        return;
    }
}

/* Read what arrived for a busy client; complete it on a reply, a closed
 * connection (the instance died: outcome unknown) or its deadline. */
static void poll_op(struct cl *c, struct lab_m *m)
{
    char why[200];
    struct sk_msg r;
    int rv = skc_recv(&c->conn, &r, skc_now_ms(), why, sizeof why);
    if (rv == 1 && r.type == SK_MSG_CLIENT_REPLY && r.seq == c->seq) {
        char holder[SK_HOLDER_MAX + 1];
        snprintf(holder, sizeof holder, "%.*s", (int)r.holder_len, (const char *)r.holder);
        complete(c, m, sk_status_name(r.status), holder, r.token);
        return;
    }
    if (rv == 0 && strstr(why, "closed") != NULL) {
        complete(c, m, "timeout", NULL, 0);
        return;
    }
    if (rv < 0 || skc_now_ms() >= c->deadline) {
        complete(c, m, "timeout", NULL, 0);
    }
}

static void run_clients(struct cl *cs, int n, struct lab_m *m, uint64_t until, uint64_t timeout_ms)
{
    while (skc_now_ms() < until) {
        struct pollfd pf[8];
        for (int i = 0; i < n; i++) {
            if (!cs[i].busy) start_op(&cs[i], m, timeout_ms);
            pf[i].fd = cs[i].busy ? cs[i].conn.fd : -1;
            pf[i].events = POLLIN;
            pf[i].revents = 0;
        }
        poll(pf, (nfds_t)n, 20);
        for (int i = 0; i < n; i++) {
            if (cs[i].busy) poll_op(&cs[i], m);
        }
    }
}

TEST(random_sigkills_under_three_clients_history_passes_the_checkers)
{
    char dir[256], trace[300];
    ASSERT_TRUE(new_lab(dir, sizeof dir));
    int rc = lab(dir, "up", "--phase-timeout", "100ms", NULL);
    if (rc != 0) FAIL("lab up: exit %d: %s", rc, g_out);
    struct lab_m m;
    ASSERT_TRUE(lab_read(dir, &m));
    snprintf(trace, sizeof trace, "%s/../history.jsonl", dir);
    g_trace = fopen(trace, "w");
    ASSERT_NOT_NULL(g_trace);
    g_t0 = skc_now_ms();
    g_rng = (uint32_t)time(NULL);
    printf("# seed %u\n", g_rng);
    static struct cl cs[3] = {{.name = "c1", .holder = "beaver"},
                              {.name = "c2", .holder = "otter"},
                              {.name = "c3", .holder = "giraffe"}};
    for (int i = 0; i < 3; i++) cs[i].conn.fd = -1;
    bool down[16] = {false};
    int n_down = 0, kills = 0;
    uint64_t end = skc_now_ms() + 4000;
    bool good = true;
    while (good && skc_now_ms() < end) {
        run_clients(cs, 3, &m, skc_now_ms() + 150 + rnd(250), 800);
        /* kill a random live instance while at most two are down, else
         * restart a random dead one */
        int k = (int)rnd(5);
        if (n_down < 2 && !down[k]) {
            rc = lab(dir, "kill", m.name[k], NULL);
            STEP(rc == 0, "kill %s: %s", m.name[k], g_out);
            down[k] = true;
            n_down++;
            kills++;
        } else if (down[k] || n_down == 2) {
            while (!down[k]) k = (k + 1) % 5;
            rc = lab(dir, "restart", m.name[k], NULL);
            STEP(rc == 0, "restart %s: %s", m.name[k], g_out);
            down[k] = false;
            n_down--;
        }
    }
    for (int k = 0; good && k < 5; k++) {
        if (down[k]) {
            rc = lab(dir, "restart", m.name[k], NULL);
            STEP(rc == 0, "restart %s: %s", m.name[k], g_out);
        }
    }
    /* everyone up again: a little more traffic, then wait for stragglers */
    run_clients(cs, 3, &m, skc_now_ms() + 1000, 2000);
    uint64_t drain = skc_now_ms() + 3000;
    while (skc_now_ms() < drain && (cs[0].busy || cs[1].busy || cs[2].busy)) {
        struct pollfd pf[3];
        for (int i = 0; i < 3; i++) {
            pf[i] = (struct pollfd){cs[i].busy ? cs[i].conn.fd : -1, POLLIN, 0};
        }
        poll(pf, 3, 20);
        for (int i = 0; i < 3; i++) {
            if (cs[i].busy) poll_op(&cs[i], &m);
        }
    }
    fclose(g_trace);
    printf("# %llu operations, %d definite grants, %d timeouts, %d kills\n",
           (unsigned long long)g_req, g_definite_grants, g_timeouts, kills);
    STEP(g_definite_grants >= 5, "only %d definite grants: the test tested little",
         g_definite_grants);
    STEP(kills >= 3, "only %d kills", kills);
    char skinny[1100];
    snprintf(skinny, sizeof skinny, "%s/bin/skinny", g_root);
    char *argv[] = {skinny, "check", trace, NULL};
    /* under `make asan` the Lua C module needs the sanitizer runtime first */
    const char *pre = getenv("SKINNY_ASAN_PRELOAD");
    if (pre && pre[0]) {
        setenv("LD_PRELOAD", pre, 1);
        setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
    }
    if (good) {
        rc = run(argv, g_out, sizeof g_out, 30000);
        STEP(rc == 0, "bin/skinny check %s: exit %d: %s", trace, rc, g_out);
        for (char *l = g_out; good && *l;) {
            char *nl = strchr(l, '\n');
            printf("# %.*s\n", nl ? (int)(nl - l) : (int)strlen(l), l);
            l = nl ? nl + 1 : l + strlen(l);
        }
    }
    /* the checker is only believed when it fails when it should: two
     * grants of "a" to different holders one after the other */
    if (good) {
        FILE *f = fopen(trace, "a");
        uint64_t t = tms() + 10;
        fprintf(f,
                "{\"t\":%llu,\"ev\":\"invoke\",\"req\":900001,\"client\":\"c1\",\"node\":\"catbus\",\"op\":\"acquire\",\"lock\":\"a\",\"holder\":\"mallory\"}\n"
                "{\"t\":%llu,\"ev\":\"complete\",\"req\":900001,\"client\":\"c1\",\"node\":\"catbus\",\"lock\":\"a\",\"status\":\"granted\",\"holder\":\"mallory\",\"token\":999999999}\n"
                "{\"t\":%llu,\"ev\":\"invoke\",\"req\":900002,\"client\":\"c2\",\"node\":\"kanta\",\"op\":\"acquire\",\"lock\":\"a\",\"holder\":\"eve\"}\n"
                "{\"t\":%llu,\"ev\":\"complete\",\"req\":900002,\"client\":\"c2\",\"node\":\"kanta\",\"lock\":\"a\",\"status\":\"granted\",\"holder\":\"eve\",\"token\":999999998}\n",
                (unsigned long long)t, (unsigned long long)t + 1, (unsigned long long)t + 2,
                (unsigned long long)t + 3);
        fclose(f);
        rc = run(argv, g_out, sizeof g_out, 30000);
        STEP(rc == 1, "bin/skinny check passed a history with a double grant: exit %d: %s", rc,
             g_out);
    }
    lab(dir, "down", NULL);
    rm_dir(dir, !good);
}

/* ------------------------------------------------------ authentication */

/* Bytes as they are, on c. 0 or -1. */
static int raw_send(struct skc_conn *c, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) {
            if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
                poll(NULL, 0, 1);
                continue;
            }
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Did the instance close c without answering (within ms)? */
static bool closed_unanswered(struct skc_conn *c, uint64_t ms)
{
    struct sk_msg m;
    char why[256];
    int rv = skc_recv(c, &m, skc_now_ms() + ms, why, sizeof why);
    return rv == 0 && strstr(why, "closed") != NULL;
}

static int encode_ping(uint8_t *out, size_t cap, uint64_t seq)
{
    struct sk_msg m = {0};
    m.type = SK_MSG_CONTROL;
    m.op = SK_CTL_PING;
    m.seq = seq;
    return sk_msg_encode(&m, out, cap);
}

/* Lines of a file containing s. */
static int lines_with(const char *file, const char *s)
{
    FILE *f = fopen(file, "r");
    if (f == NULL) return -1;
    char line[2048];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, s) != NULL) n++;
    }
    fclose(f);
    return n;
}

/* The reproduction, on a keyed lab: beaver holds "printer"; a
 * stranger sends one ACCEPT (ballot 1000000.2, "printer", empty value:
 * free) to three of five instances. Without keys that was a double grant;
 * now each connection is closed unanswered and giraffe is refused. */
TEST(keyed_lab_a_strangers_accepts_to_three_of_five_grant_nothing)
{
    char dir[256];
    ASSERT_TRUE(new_lab(dir, sizeof dir));
    int rc = lab(dir, "up", "--size", "5", "--no-fsync", NULL);
    if (rc != 0) FAIL("lab up: exit %d: %s", rc, g_out);
    struct lab_m m;
    ASSERT_TRUE(lab_read(dir, &m));
    bool good = true;
    rc = ctl_until(0, 5000, dir, true, "acquire", "beaver", "--lock", "printer", NULL);
    STEP(rc == 0, "beaver's acquire: exit %d: %s", rc, g_out);
    static struct skc_conn c;
    char why[256];
    for (int i = 0; good && i < 3; i++) {
        struct sk_msg a = {0};
        a.type = SK_MSG_ACCEPT;
        a.from = (uint32_t)((i + 1) % 5 + 1);
        a.to = (uint32_t)(i + 1);
        a.seq = 1;
        a.ballot.round = 1000000;
        a.ballot.node = 2;
        a.key = (const uint8_t *)"printer";
        a.key_len = 7;
        STEP(skc_dial(&c, m.addr[i], skc_now_ms() + 2000, why, sizeof why) == 0, "dial %s: %s",
             m.addr[i], why);
        STEP(skc_send(&c, &a, skc_now_ms() + 2000, why, sizeof why) == 0, "send: %s", why);
        STEP(closed_unanswered(&c, 3000), "%s kept the stranger's connection open", m.name[i]);
        skc_close(&c);
    }
    for (int i = 0; good && i < 3; i++) {
        rc = ctl(m.addr[i], false, "acquire", "giraffe", "--lock", "printer", NULL);
        STEP(rc == 1 && strstr(g_out, "beaver") != NULL,
             "giraffe at %s after the stranger's accepts: exit %d (want 1, refused): %s",
             m.name[i], rc, g_out);
    }
    char log[400];
    snprintf(log, sizeof log, "%s/catbus/skinnyd.log", dir);
    STEP(lines_with(log, "has not authenticated") >= 1, "catbus's log does not say why");
    lab(dir, "down", NULL);
    rm_dir(dir, !good);
}

/* A keyed instance, spoken to as an intruder and as an operator holding
 * the key: every frame that fails closes the connection unanswered, and
 * the lab keeps serving. */
TEST(keyed_daemon_refuses_replayed_reordered_tampered_and_wrong_key_frames)
{
    char dir[256];
    ASSERT_TRUE(new_lab(dir, sizeof dir));
    int rc = lab(dir, "up", "--size", "3", "--no-fsync", NULL);
    if (rc != 0) FAIL("lab up: exit %d: %s", rc, g_out);
    struct lab_m m;
    ASSERT_TRUE(lab_read(dir, &m));
    char kp[400], why[256];
    snprintf(kp, sizeof kp, "%s/cluster.key", dir);
    uint8_t key[SK_AUTH_KEY_BYTES], wrong[SK_AUTH_KEY_BYTES];
    ASSERT_EQ_INT(sk_auth_init(), 0);
    ASSERT_EQ_INT(sk_auth_key_load(kp, "cluster key", key, why, sizeof why), 0);
    memcpy(wrong, key, sizeof wrong);
    wrong[0] ^= 1;
    bool good = true;
    static struct skc_conn c;
    static uint8_t f[SK_FRAME_MAX + 4], s1[SK_FRAME_MAX + 64], s2[SK_FRAME_MAX + 64];
    const char *a = m.addr[0];
    int refusals = 0;
    /* the operator: a sealed ping is answered; the same bytes again are a
     * replay */
    STEP(skc_dial(&c, a, skc_now_ms() + 2000, why, sizeof why) == 0 &&
             skc_auth(&c, key, SK_AUTH_CONTROL, skc_now_ms() + 2000, why, sizeof why) == 0,
         "control handshake with the lab's key: %s", why);
    int n = encode_ping(f, sizeof f, 7);
    int n1 = sk_auth_seal(&c.auth, f, (size_t)n, s1, sizeof s1);
    STEP(n1 > 0 && raw_send(&c, s1, (size_t)n1) == 0, "send a sealed ping");
    struct sk_msg r;
    rc = skc_recv(&c, &r, skc_now_ms() + 2000, why, sizeof why);
    STEP(rc == 1 && r.type == SK_MSG_CLIENT_REPLY && r.status == SK_ST_GRANTED &&
             r.text_len == strlen(m.name[0]) && memcmp(r.text, m.name[0], r.text_len) == 0,
         "the sealed ping's answer: rc %d %s", rc, why);
    STEP(raw_send(&c, s1, (size_t)n1) == 0 && closed_unanswered(&c, 3000),
         "a replayed sealed frame was not refused");
    refusals++;
    skc_close(&c);
    /* reordered: the second sealed frame before the first */
    STEP(skc_dial(&c, a, skc_now_ms() + 2000, why, sizeof why) == 0 &&
             skc_auth(&c, key, SK_AUTH_CONTROL, skc_now_ms() + 2000, why, sizeof why) == 0,
         "handshake: %s", why);
    n1 = sk_auth_seal(&c.auth, f, (size_t)n, s1, sizeof s1);
    int n2 = sk_auth_seal(&c.auth, f, (size_t)n, s2, sizeof s2);
    STEP(raw_send(&c, s2, (size_t)n2) == 0 && closed_unanswered(&c, 3000),
         "a reordered sealed frame was not refused");
    refusals++;
    skc_close(&c);
    /* tampered: one bit of the ciphertext */
    STEP(skc_dial(&c, a, skc_now_ms() + 2000, why, sizeof why) == 0 &&
             skc_auth(&c, key, SK_AUTH_CONTROL, skc_now_ms() + 2000, why, sizeof why) == 0,
         "handshake: %s", why);
    n1 = sk_auth_seal(&c.auth, f, (size_t)n, s1, sizeof s1);
    s1[12] ^= 0x10;
    STEP(raw_send(&c, s1, (size_t)n1) == 0 && closed_unanswered(&c, 3000),
         "a tampered sealed frame was not refused");
    refusals++;
    skc_close(&c);
    /* the wrong key: the handshake fails at our end, and says why */
    STEP(skc_dial(&c, a, skc_now_ms() + 2000, why, sizeof why) == 0, "dial: %s", why);
    rc = skc_auth(&c, wrong, SK_AUTH_CONTROL, skc_now_ms() + 2000, why, sizeof why);
    STEP(rc == -1 && strstr(why, "does not match our key") != NULL,
         "a handshake with the wrong key: rc %d: %s", rc, why);
    skc_close(&c);
    /* a truncated handshake: half a hello, then the connection ends */
    {
        static struct sk_auth d;
        uint8_t hello[256];
        int hn = sk_auth_dial(&d, key, SK_AUTH_CONTROL, 0, 0, hello, sizeof hello);
        STEP(skc_dial(&c, a, skc_now_ms() + 2000, why, sizeof why) == 0 &&
                 raw_send(&c, hello, (size_t)hn / 2) == 0,
             "half a hello: %s", why);
        skc_close(&c);
        refusals++;
    }
    /* a CONTROL drop without the key: refused with the reason, closed */
    STEP(skc_dial(&c, a, skc_now_ms() + 2000, why, sizeof why) == 0, "dial: %s", why);
    {
        struct sk_msg d = {0};
        d.type = SK_MSG_CONTROL;
        d.op = SK_CTL_DROP;
        d.seq = 9;
        d.key = (const uint8_t *)"*";
        d.key_len = 1;
        rc = skc_call(&c, &d, &r, skc_now_ms() + 2000, why, sizeof why);
        STEP(rc == 1 && r.status == SK_ST_ERROR && r.text_len > 0 &&
                 strstr((const char *)r.text, "cluster key") != NULL,
             "an unkeyed control drop: rc %d %s", rc, why);
        STEP(closed_unanswered(&c, 3000), "the unkeyed control connection stayed open");
        refusals++;
    }
    skc_close(&c);
    /* a burst of forged peer frames: closed, and logged at most once a
     * second (checked only when the burst took under 0.9 s) */
    char log[400];
    snprintf(log, sizeof log, "%s/catbus/skinnyd.log", dir);
    poll(NULL, 0, 0);
    int before = lines_with(log, "authentication: closing connection");
    uint64_t t0 = skc_now_ms();
    struct sk_msg p = {0};
    p.type = SK_MSG_PREPARE;
    p.from = 2;
    p.to = 1;
    p.seq = 1;
    p.ballot.round = 5;
    p.ballot.node = 2;
    p.key = (const uint8_t *)"printer";
    p.key_len = 7;
    for (int i = 0; good && i < 10; i++) {
        STEP(skc_dial(&c, a, skc_now_ms() + 2000, why, sizeof why) == 0 &&
                 skc_send(&c, &p, skc_now_ms() + 2000, why, sizeof why) == 0 &&
                 closed_unanswered(&c, 3000),
             "forged prepare %d was not refused: %s", i, why);
        skc_close(&c);
        refusals++;
    }
    uint64_t took = skc_now_ms() - t0;
    int during = lines_with(log, "authentication: closing connection") - before;
    STEP(during >= 0 && (took >= 900 || during <= 1),
         "%d refusal lines for a burst of 10 in %llu ms (want at most 1)", during,
         (unsigned long long)took);
    /* one more refusal once a second has passed: its line counts the rest */
    uint64_t end = skc_now_ms() + 5000;
    while (good && lines_with(log, "more refusals not logged") < 1 && skc_now_ms() < end) {
        poll(NULL, 0, 100); /* retry interval within the deadline */
        if (skc_dial(&c, a, skc_now_ms() + 2000, why, sizeof why) == 0) {
            skc_send(&c, &p, skc_now_ms() + 2000, why, sizeof why);
            closed_unanswered(&c, 1000);
            refusals++;
            skc_close(&c);
        }
    }
    STEP(lines_with(log, "more refusals not logged") >= 1, "no line counts the suppressed ones");
    STEP(lines_with(log, "authentication") <= refusals + 20, "more refusal lines than refusals");
    /* the lab still serves */
    rc = ctl_until(0, 5000, dir, true, "acquire", "beaver", "--lock", "printer", NULL);
    STEP(rc == 0, "acquire after the refusals: exit %d: %s", rc, g_out);
    rc = ctl(dir, true, "drop", "catbus", "kanta", NULL);
    STEP(rc == 0, "the lab's own control (its key from the lab dir): exit %d: %s", rc, g_out);
    rc = ctl(dir, true, "heal", NULL);
    STEP(rc == 0, "heal: exit %d: %s", rc, g_out);
    lab(dir, "down", NULL);
    rm_dir(dir, !good);
}

/* skinnyd --keygen, the key file checks at start, and safe by default: a
 * listen address that is not loopback needs a cluster_key, or "insecure":
 * true (a warning). Nothing here listens: every refusal comes first, and
 * --check stops before the socket. */
TEST(keygen_key_file_refusals_and_safe_by_default)
{
    char dir[256];
    ASSERT_TRUE(new_dir(dir, sizeof dir));
    char exe[1100], kp[400], cfg[400];
    snprintf(exe, sizeof exe, "%s/skinnyd", g_build);
    snprintf(kp, sizeof kp, "%s/cluster.key", dir);
    snprintf(cfg, sizeof cfg, "%s/a.json", dir);
    bool good = true;
    char *kg[] = {exe, "--keygen", kp, NULL};
    int rc = run(kg, g_out, sizeof g_out, 5000);
    struct stat st;
    STEP(rc == 0 && stat(kp, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_size == 65,
         "--keygen: exit %d: %s", rc, g_out);
    STEP(strstr(g_out, "wrote") != NULL, "--keygen says nothing: %s", g_out);
    rc = run(kg, g_out, sizeof g_out, 5000);
    STEP(rc != 0 && strstr(g_out, "already exists") != NULL, "--keygen over a key: exit %d: %s",
         rc, g_out);
    /* a config per case: listen on every address, one member elsewhere */
    const char *cases[][2] = {
        {"", "no cluster_key"},
        {"\"insecure\": true,", "insecure"},
        {"\"cluster_key\": \"cluster.key\",", "relative key"},
    };
    for (int i = 0; good && i < 3; i++) {
        FILE *f = fopen(cfg, "w");
        ASSERT_NOT_NULL(f);
        fprintf(f, "{\"name\": \"a\", \"data_dir\": \"%s/data\", \"scripts_dir\": \"%s/scripts\","
                   " \"listen\": \"0.0.0.0:7999\", %s \"cluster\": [{\"name\": \"a\","
                   " \"address\": \"10.9.9.9:7999\"}]}\n",
                dir, g_root, cases[i][0]);
        fclose(f);
        char *argv[] = {exe, "--config", cfg, "--check", NULL};
        rc = run(argv, g_out, sizeof g_out, 5000);
        if (i == 0) {
            STEP(rc == 3 && strstr(g_out, "not loopback") != NULL &&
                     strstr(g_out, "cluster_key") != NULL && strstr(g_out, "--keygen") != NULL,
                 "no key on 0.0.0.0: exit %d (want 3): %s", rc, g_out);
        } else if (i == 1) {
            STEP(rc == 0 && strstr(g_out, "INSECURE") != NULL,
                 "insecure: exit %d, want 0 and a warning: %s", rc, g_out);
        } else {
            STEP(rc == 0 && strstr(g_out, "INSECURE") == NULL, "keyed: exit %d: %s", rc, g_out);
            chmod(kp, 0644);
            rc = run(argv, g_out, sizeof g_out, 5000);
            STEP(rc == 3 && strstr(g_out, kp) != NULL && strstr(g_out, "chmod 600") != NULL,
                 "a key readable by others: exit %d (want 3): %s", rc, g_out);
            chmod(kp, 0600);
            FILE *k = fopen(kp, "w");
            fputs("not a key\n", k);
            fclose(k);
            rc = run(argv, g_out, sizeof g_out, 5000);
            STEP(rc == 3 && strstr(g_out, "64 lowercase hex") != NULL,
                 "a key file that is no key: exit %d (want 3): %s", rc, g_out);
            unlink(kp);
            rc = run(argv, g_out, sizeof g_out, 5000);
            STEP(rc == 3 && strstr(g_out, kp) != NULL && strstr(g_out, "--keygen") != NULL,
                 "a missing key file: exit %d (want 3): %s", rc, g_out);
        }
    }
    rm_dir(dir, !good);
}

/* ---------------------------------------------- three hosts in netns */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    return run(argv, g_out, sizeof g_out, 10000);
}

/* Run in namespace ns (a child process: setns(2) into /run/netns/ns) as
 * an intruder on alpha's port: a forged ACCEPTED, a recorded keyed session
 * replayed byte for byte, a CONTROL drop without the key. Returns a bit
 * per attack that was NOT refused (0: all refused), or 64 on setup
 * failure. key: the cluster key, to record a genuine session first (what
 * an eavesdropper would capture). */
static int intruder(const char *ns, const char *addr, const uint8_t *key)
{
    pid_t p = fork();
    if (p < 0) return 64;
    if (p > 0) {
        int st = 0;
        waitpid(p, &st, 0);
        return WIFEXITED(st) ? WEXITSTATUS(st) : 64;
    }
    char path[200], why[256];
    snprintf(path, sizeof path, "/run/netns/%s", ns);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || syscall(SYS_setns, fd, 0x40000000 /* CLONE_NEWNET */) != 0) _exit(64);
    static struct skc_conn c;
    int bad = 0;
    /* 1: a forged ACCEPTED, "from" bravo */
    struct sk_msg m = {0};
    m.type = SK_MSG_ACCEPTED;
    m.from = 2;
    m.to = 1;
    m.seq = 1;
    m.ballot.round = 1000000;
    m.ballot.node = 1;
    m.key = (const uint8_t *)"printer";
    m.key_len = 7;
    if (skc_dial(&c, addr, skc_now_ms() + 2000, why, sizeof why) != 0) _exit(64);
    if (skc_send(&c, &m, skc_now_ms() + 2000, why, sizeof why) != 0 || !closed_unanswered(&c, 3000)) bad |= 1;
    skc_close(&c);
    /* 2: a genuine control session recorded (hello, proof, a sealed drop),
     * then replayed on a new connection */
    static uint8_t rec[2048], f[512];
    size_t rl = 0;
    static struct sk_auth a;
    int n = sk_auth_dial(&a, key, SK_AUTH_CONTROL, 0, 0, rec, sizeof rec);
    if (n < 0 || skc_dial(&c, addr, skc_now_ms() + 2000, why, sizeof why) != 0 ||
        raw_send(&c, rec, (size_t)n) != 0) _exit(64);
    rl = (size_t)n;
    struct sk_msg h, pr;
    uint8_t hv[32];
    if (skc_recv(&c, &h, skc_now_ms() + 2000, why, sizeof why) != 1 || h.type != SK_MSG_AUTH) _exit(64);
    memcpy(hv, h.value, 32);
    h.value = hv;
    if (skc_recv(&c, &pr, skc_now_ms() + 2000, why, sizeof why) != 1) _exit(64);
    n = sk_auth_dialer_finish(&a, &h, &pr, rec + rl, sizeof rec - rl, why, sizeof why);
    if (n < 0 || raw_send(&c, rec + rl, (size_t)n) != 0) _exit(64);
    rl += (size_t)n;
    struct sk_msg d = {0};
    d.type = SK_MSG_CONTROL;
    d.op = SK_CTL_DROP;
    d.seq = 5;
    d.key = (const uint8_t *)"nobody"; /* no such peer: harmless when honoured */
    d.key_len = 6;
    n = sk_msg_encode(&d, f, sizeof f);
    n = sk_auth_seal(&a, f, (size_t)n, rec + rl, sizeof rec - rl);
    if (n < 0 || raw_send(&c, rec + rl, (size_t)n) != 0) _exit(64);
    rl += (size_t)n;
    c.sealed = true;
    c.auth = a;
    struct sk_msg r;
    if (skc_recv(&c, &r, skc_now_ms() + 2000, why, sizeof why) != 1) _exit(64); /* answered */
    skc_close(&c);
    if (skc_dial(&c, addr, skc_now_ms() + 2000, why, sizeof why) != 0) _exit(64);
    if (raw_send(&c, rec, rl) != 0) _exit(64);
    /* the instance answers the replayed hello (a fresh nonce), then
     * refuses the stale proof: no answer to the drop ever comes */
    bool answered = false;
    for (;;) {
        int rv = skc_recv(&c, &r, skc_now_ms() + 3000, why, sizeof why);
        if (rv != 1) break;
        if (r.type != SK_MSG_AUTH) answered = true;
    }
    if (answered || strstr(why, "closed") == NULL) bad |= 2;
    skc_close(&c);
    /* 4: a CONTROL drop without the key */
    d.key = (const uint8_t *)"*";
    d.key_len = 1;
    if (skc_dial(&c, addr, skc_now_ms() + 2000, why, sizeof why) != 0) _exit(64);
    int rv = skc_call(&c, &d, &r, skc_now_ms() + 2000, why, sizeof why);
    if (rv != 1 || r.status != SK_ST_ERROR || !closed_unanswered(&c, 3000)) bad |= 4;
    skc_close(&c);
    _exit(bad);
}

/* Wait (deadline ms) until file has a line containing s. */
static bool log_says(const char *file, const char *s, uint64_t ms)
{
    uint64_t end = skc_now_ms() + ms;
    for (;;) {
        if (lines_with(file, s) > 0) return true;
        if (skc_now_ms() >= end) return false;
        poll(NULL, 0, 50); /* retry interval within the deadline */
    }
}

TEST(three_hosts_in_network_namespaces)
{
    if (geteuid() != 0) SKIP("network namespaces need root (running as uid %d)", (int)geteuid());
    char ns[4][64];
    for (int i = 0; i < 4; i++) {
        snprintf(ns[i], sizeof ns[i], "skinny-e2e-%d-%c", (int)getpid(), i < 3 ? 'a' + i : 'x');
    }
    /* the switch namespace first: a bridge all hosts hang off */
    int rc = sh("ip netns add %s", ns[3]);
    if (rc != 0) SKIP("`ip netns add` does not work here: %s", g_out);
    snprintf(g_netns[g_n_netns++], sizeof g_netns[0], "%s", ns[3]);
    /* the switch namespace is also the fourth host (10.201.0.9): a client
     * without the client key, and an intruder */
    rc = sh("ip -n %s link add br0 type bridge && ip -n %s link set br0 up && "
            "ip -n %s addr add 10.201.0.9/24 dev br0 && ip -n %s link set lo up",
            ns[3], ns[3], ns[3], ns[3]);
    if (rc != 0) {
        cleanup();
        SKIP("cannot create a bridge in a namespace: %s", g_out);
    }
    for (int i = 0; i < 3; i++) {
        rc = sh("ip netns add %s", ns[i]);
        if (rc != 0) FAIL("ip netns add %s: %s", ns[i], g_out);
        snprintf(g_netns[g_n_netns++], sizeof g_netns[0], "%s", ns[i]);
        rc = sh("ip -n %s link add eth0 type veth peer name v%d netns %s && "
                "ip -n %s link set v%d master br0 && ip -n %s link set v%d up && "
                "ip -n %s addr add 10.201.0.%d/24 dev eth0 && ip -n %s link set eth0 up && "
                "ip -n %s link set lo up",
                ns[i], i, ns[3], ns[3], i, ns[3], i, ns[i], i + 1, ns[i], ns[i]);
        if (rc != 0) {
            cleanup();
            SKIP("cannot wire namespace %s (veth/bridge): %s", ns[i], g_out);
        }
    }
    char dir[256];
    ASSERT_TRUE(new_dir(dir, sizeof dir));
    /* keys: the cluster's, the clients', and a wrong one */
    char exe0[1100];
    snprintf(exe0, sizeof exe0, "%s/skinnyd", g_build);
    rc = sh("cd %s && %s --keygen cluster.key && %s --keygen client.key && %s --keygen wrong.key",
            dir, exe0, exe0, exe0);
    if (rc != 0) FAIL("--keygen: %s", g_out);
    char ckey[400], kkey[400];
    snprintf(ckey, sizeof ckey, "%s/cluster.key", dir);
    snprintf(kkey, sizeof kkey, "%s/client.key", dir);
    uint8_t key[SK_AUTH_KEY_BYTES];
    char kwhy[256];
    ASSERT_EQ_INT(sk_auth_init(), 0);
    if (sk_auth_key_load(ckey, "cluster key", key, kwhy, sizeof kwhy) != 0) FAIL("%s", kwhy);
    const char *names[3] = {"alpha", "bravo", "charlie"};
    char cluster[256] = "";
    for (int i = 0; i < 3; i++) {
        char p[400];
        snprintf(p, sizeof p, "%s/%s.json", dir, names[i]);
        FILE *f = fopen(p, "w");
        ASSERT_NOT_NULL(f);
        /* no "listen": each binds its own cluster address, which exists
         * only inside its namespace */
        /* key paths relative to the config's directory */
        fprintf(f, "{\"name\": \"%s\", \"data_dir\": \"%s/%s\", \"scripts_dir\": \"%s/scripts\",\n"
                   " \"cluster_key\": \"cluster.key\", \"client_key\": \"client.key\",\n"
                   " \"lock\": \"advisory\", \"phase_timeout_ms\": 300, \"cluster\": [",
                names[i], dir, names[i], g_root);
        for (int k = 0; k < 3; k++) {
            fprintf(f, "%s{\"name\": \"%s\", \"address\": \"10.201.0.%d:7100\"}", k ? ", " : "",
                    names[k], k + 1);
        }
        fprintf(f, "]}\n");
        fclose(f);
        snprintf(cluster + strlen(cluster), sizeof cluster - strlen(cluster), "%s10.201.0.%d:7100",
                 i ? "," : "", i + 1);
    }
    for (int i = 0; i < 3; i++) {
        char cfg[400], log[400], exe[1100];
        snprintf(cfg, sizeof cfg, "%s/%s.json", dir, names[i]);
        snprintf(log, sizeof log, "%s/%s.log", dir, names[i]);
        snprintf(exe, sizeof exe, "%s/skinnyd", g_build);
        pid_t p = fork();
        if (p == 0) {
            int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
            dup2(fd, 1);
            dup2(fd, 2);
            /* ip netns exec enters the namespace and execs: same pid */
            execlp("ip", "ip", "netns", "exec", ns[i], exe, "--config", cfg, "--bootstrap",
                   (char *)NULL);
            _exit(127);
        }
        g_pids[g_n_pids++] = p;
    }
    bool good = true;
    char ctlexe[1100];
    snprintf(ctlexe, sizeof ctlexe, "%s/skinnyctl", g_build);
    /* a client inside alpha's namespace talks to all three hosts */
    uint64_t end = skc_now_ms() + 8000;
    do {
        rc = sh("ip netns exec %s %s --cluster %s --key %s --timeout 2s acquire beaver --lock printer",
                ns[0], ctlexe, cluster, kkey);
    } while (rc != 0 && skc_now_ms() < end && poll(NULL, 0, 50) == 0);
    STEP(rc == 0 && strstr(g_out, "granted") != NULL, "acquire across namespaces: exit %d: %s",
         rc, g_out);
    /* from charlie's namespace: refused, held by beaver */
    rc = sh("ip netns exec %s %s --cluster 10.201.0.3:7100 --key %s acquire otter --lock printer",
            ns[2], ctlexe, kkey);
    STEP(rc == 1 && strstr(g_out, "beaver") != NULL, "refusal at charlie: exit %d: %s", rc,
         g_out);
    rc = sh("SKINNY_KEY=%s ip netns exec %s %s --cluster %s status", kkey, ns[1], ctlexe, cluster);
    STEP(rc == 0 && strstr(g_out, "charlie") != NULL && strstr(g_out, "alpha") != NULL,
         "status from bravo: exit %d: %s", rc, g_out);
    /* a fourth host without the client key is refused, and told why */
    rc = sh("ip netns exec %s %s --cluster %s acquire otter --lock scanner", ns[3], ctlexe,
            cluster);
    STEP(rc == 3 && strstr(g_out, "requires a client key") != NULL &&
             strstr(g_out, "--key") != NULL,
         "a client without the key: exit %d (want 3): %s", rc, g_out);
    /* an intruder there: forged ACCEPTED, a replayed session, an unkeyed
     * control drop, all refused */
    rc = intruder(ns[3], "10.201.0.1:7100", key);
    STEP(rc == 0, "the intruder's attacks not refused (bits: 1 forged accepted, 2 replay, "
                  "4 control drop; 64 setup): %d", rc);
    char alog[400];
    snprintf(alog, sizeof alog, "%s/alpha.log", dir);
    STEP(lines_with(alog, "authentication: closing connection 10.201.0.9") >= 1,
         "alpha's log does not name the intruder's address");
    /* and the cluster keeps serving */
    rc = sh("ip netns exec %s %s --cluster %s --key %s acquire otter --lock scanner", ns[1],
            ctlexe, cluster, kkey);
    STEP(rc == 0 && strstr(g_out, "granted") != NULL, "acquire after the intruder: exit %d: %s",
         rc, g_out);
    /* charlie restarted with the wrong key cannot join, and says why */
    kill(g_pids[2], SIGTERM);
    waitpid(g_pids[2], NULL, 0);
    {
        char cfg[400], wcfg[400], log[400], exe[1100];
        snprintf(cfg, sizeof cfg, "%s/charlie.json", dir);
        snprintf(wcfg, sizeof wcfg, "%s/charlie-wrong.json", dir);
        rc = sh("sed 's/: \"cluster.key\"/: \"wrong.key\"/' %s > %s", cfg, wcfg);
        snprintf(log, sizeof log, "%s/charlie-wrong.log", dir);
        snprintf(exe, sizeof exe, "%s/skinnyd", g_build);
        pid_t p = fork();
        if (p == 0) {
            int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
            dup2(fd, 1);
            dup2(fd, 2);
            execlp("ip", "ip", "netns", "exec", ns[2], exe, "--config", wcfg, (char *)NULL);
            _exit(127);
        }
        g_pids[2] = p;
        STEP(log_says(log, "does not match our key", 8000),
             "charlie with the wrong key does not say why it cannot join");
        rc = sh("ip netns exec %s %s --cluster 10.201.0.3:7100 --key %s --timeout 1s acquire "
                "owl --lock radio",
                ns[2], ctlexe, kkey);
        STEP(rc == 2, "charlie with the wrong key settled a request alone: exit %d: %s", rc,
             g_out);
        rc = sh("ip netns exec %s %s --cluster 10.201.0.1:7100,10.201.0.2:7100 --key %s acquire "
                "owl --lock radio",
                ns[0], ctlexe, kkey);
        STEP(rc == 0, "alpha and bravo serve without charlie: exit %d: %s", rc, g_out);
    }
    /* the loopback of this (the test's) namespace does not reach them */
    rc = ctl("127.0.0.1:7100", false, "--timeout", "300ms", "ping", NULL);
    STEP(rc != 0, "a daemon in a namespace answered on the host's loopback: %s", g_out);
    for (int i = 0; i < g_n_pids; i++) {
        kill(g_pids[i], SIGTERM);
        waitpid(g_pids[i], NULL, 0);
        g_pids[i] = 0;
    }
    g_n_pids = 0;
    cleanup(); /* the namespaces */
    char leftover[64];
    snprintf(leftover, sizeof leftover, "skinny-e2e-%d-", (int)getpid());
    sh("ip netns list");
    STEP(strstr(g_out, leftover) == NULL, "namespaces left behind: %s", g_out);
    rm_dir(dir, !good);
}

/* The runner's loop, plus skips: "# skip NAME: why" and ", N skipped". */
int main(void)
{
    struct sk_test_state *s = &sk_test_state_;
    const char *filter = getenv("TEST_FILTER");
    unsigned passed = 0, failed = 0, skipped = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    qsort(s->tests, s->n, sizeof s->tests[0], sk_test_cmp_line);
    for (size_t i = 0; i < s->n; i++) {
        const struct sk_test_case *t = &s->tests[i];
        if (filter != NULL && filter[0] != 0 && strstr(t->name, filter) == NULL) continue;
        s->failed = false;
        s->msg[0] = 0;
        s->ctx[0] = 0;
        g_skip[0] = 0;
        t->fn();
        if (s->failed) {
            printf("not ok - %s: %s\n", t->name, s->msg);
            failed++;
        } else if (g_skip[0]) {
            printf("# skip %s: %s\n", t->name, g_skip);
            skipped++;
        } else {
            printf("ok - %s\n", t->name);
            passed++;
        }
        fflush(stdout);
    }
    if (skipped) {
        printf("%u passed, %u failed, %u skipped\n", passed, failed, skipped);
    } else {
        printf("%u passed, %u failed\n", passed, failed);
    }
    return failed == 0 ? 0 : 1;
}
