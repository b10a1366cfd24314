/* proc.h - run a command in the end-to-end tiers: its output (stdout and
 * stderr) captured, killed at a deadline. Header-only, like runner.h; the
 * test links cmd/skclient.o (skc_now_ms). */
#ifndef SK_TEST_PROC_H
#define SK_TEST_PROC_H

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/skclient.h"

static inline void sk_test_on_signal_(int s)
{
    (void)s;
    exit(2); /* runs the test's cleanup (atexit) */
}

/* The test's cleanup runs at exit and on SIGINT or SIGTERM; SIGPIPE is
 * ignored. With subreaper, the daemons a lab starts and leaves are
 * re-parented to the test, which can then reap them. */
static inline void sk_test_guard(void (*cleanup)(void), bool subreaper)
{
    atexit(cleanup);
    signal(SIGINT, sk_test_on_signal_);
    signal(SIGTERM, sk_test_on_signal_);
    signal(SIGPIPE, SIG_IGN);
    if (subreaper) {
        prctl(PR_SET_CHILD_SUBREAPER, 1);
    }
}

/* This program is ROOT/BUILD/tests/TIER/NAME: the repository root and the
 * build directory (ROOT/BUILD) from its own path. */
static inline void sk_test_dirs(char *root, size_t root_len, char *build, size_t build_len)
{
    char exe[1024];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    for (int k = 0; k < 3; k++) {
        char *s = strrchr(exe, '/');
        if (s) *s = 0;
    }
    snprintf(build, build_len, "%s", exe);
    char *s = strrchr(exe, '/');
    if (s) *s = 0;
    snprintf(root, root_len, "%s", exe);
}

/* Run argv (NULL-terminated) with its output into out (cap bytes, NUL
 * terminated), killed with SIGKILL at timeout_ms. Returns the exit code,
 * 128 + signal, or -1 on timeout. reap: also collect any other child that
 * has exited (the orphans a killed command leaves are stopped elsewhere). */
static inline int sk_test_run(char *const argv[], char *out, size_t cap, uint64_t timeout_ms,
                              bool reap)
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
        size_t k = (size_t)r < cap - 1 - len ? (size_t)r : cap - 1 - len;
        memcpy(out + len, buf, k);
        len += k;
    }
    out[len] = 0;
    close(p[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    while (reap && waitpid(-1, NULL, WNOHANG) > 0) {
    }
    if (timed_out) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The start time of process pid (field 22 of /proc/PID/stat), or 0 when
 * it is gone or a zombie: with the pid, it names one process for certain. */
static inline unsigned long long sk_test_proc_start(int pid)
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

/* SIGKILL every live process a lab recorded in its pids file (lines "NAME
 * PID START"; the start time must match). Returns how many. */
static inline int sk_test_kill_lab_pids(const char *pids_file)
{
    char line[256];
    FILE *f = fopen(pids_file, "r");
    int n = 0;
    if (f == NULL) return 0;
    while (fgets(line, sizeof line, f)) {
        char name[64];
        int pid;
        unsigned long long st;
        if (sscanf(line, "%63s %d %llu", name, &pid, &st) == 3 && pid > 0 && st != 0 &&
            sk_test_proc_start(pid) == st) {
            kill(pid, SIGKILL);
            n++;
        }
    }
    fclose(f);
    return n;
}

#endif
