/* fuzz_main.h - the plain program every fuzz target is also built as
 * (tests/fuzz/fuzz.mk): the same file compiled with -DSK_FUZZ_MAIN and
 * without -fsanitize=fuzzer, by clang (FUZZ_B/fuzz_NAME_seed) or by the
 * project's compiler and flags (build/tests/fuzz/fuzz_NAME_replay, which
 * the C test tier runs).
 *
 * A target declares LLVMFuzzerTestOneInput, then includes this header
 * inside #ifdef SK_FUZZ_MAIN, followed by its seed code, which defines
 *
 *     static int write_corpus(const char *dir);
 *
 * writing the target's seeds with fuzz_write_seed. The program:
 *
 *     PROG --corpus DIR   writes the seed corpus into DIR (created if needed)
 *     PROG PATH...        runs every input (a directory stands for the files
 *                         in it, in name order) through the target
 *
 * Replaying prints "ok - PATH" or "not ok - PATH: why" per input and ends
 * with "N passed, N failed" (tools/test.sh counts it); it exits 0 iff every
 * input passed. Each input runs in a child process, so one that crashes or
 * aborts fails alone and the others still run; one that runs longer than
 * FUZZ_REPLAY_TIMEOUT seconds (a hang) is killed and fails. */
#ifndef SK_FUZZ_MAIN_H
#define SK_FUZZ_MAIN_H

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef FUZZ_REPLAY_TIMEOUT
#define FUZZ_REPLAY_TIMEOUT 20
#endif
#define FUZZ_INPUT_MAX (4u << 20) /* larger replay inputs are refused, not cut */

static int write_corpus(const char *dir);

/* Write one seed as DIR/NAME; exits on failure (a seed run is a build step). */
static inline void fuzz_write_seed(const char *dir, const char *name, const void *buf,
                                   size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || (len > 0 && fwrite(buf, 1, len, f) != len) || fclose(f) != 0) {
        fprintf(stderr, "fuzz: cannot write the seed %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

struct fuzz_tally {
    int passed, failed;
};

/* Run one input file in a child process; print its line. */
static inline void fuzz_replay_file(const char *path, struct fuzz_tally *t)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        printf("not ok - %s: cannot open: %s\n", path, strerror(errno));
        t->failed++;
        return;
    }
    uint8_t *buf = malloc(FUZZ_INPUT_MAX + 1);
    if (buf == NULL) {
        fclose(f);
        printf("not ok - %s: out of memory\n", path);
        t->failed++;
        return;
    }
    size_t n = fread(buf, 1, FUZZ_INPUT_MAX + 1, f);
    fclose(f);
    if (n > FUZZ_INPUT_MAX) {
        free(buf);
        printf("not ok - %s: larger than %u bytes\n", path, FUZZ_INPUT_MAX);
        t->failed++;
        return;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        free(buf);
        printf("not ok - %s: fork: %s\n", path, strerror(errno));
        t->failed++;
        return;
    }
    if (pid == 0) {
        alarm(FUZZ_REPLAY_TIMEOUT);
        /* an exact-size copy, as libFuzzer passes it, so that reading one
         * byte past the input is caught here too */
        uint8_t *in = malloc(n ? n : 1);
        if (in == NULL) {
            _exit(3);
        }
        memcpy(in, buf, n);
        free(buf);
        LLVMFuzzerTestOneInput(in, n);
        free(in);
        exit(0); /* exit, not _exit: LeakSanitizer reports at exit */
    }
    free(buf);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        printf("ok - %s\n", path);
        t->passed++;
    } else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM) {
        printf("not ok - %s: still running after %d s (a hang)\n", path, FUZZ_REPLAY_TIMEOUT);
        t->failed++;
    } else if (WIFSIGNALED(st)) {
        printf("not ok - %s: killed by signal %d (%s)\n", path, WTERMSIG(st),
               strsignal(WTERMSIG(st)));
        t->failed++;
    } else {
        printf("not ok - %s: exit status %d (a sanitizer report is above)\n", path,
               WEXITSTATUS(st));
        t->failed++;
    }
}

static inline int fuzz_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A directory: each regular file in it, in name order (hidden files skipped). */
static inline void fuzz_replay_dir(const char *dir, struct fuzz_tally *t)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        printf("not ok - %s: cannot open: %s\n", dir, strerror(errno));
        t->failed++;
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (nn == NULL) {
                abort();
            }
            names = nn;
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        names[n] = malloc(len);
        if (names[n] == NULL) {
            abort();
        }
        snprintf(names[n], len, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    if (n > 0) {
        qsort(names, n, sizeof *names, fuzz_name_cmp);
    }
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            fuzz_replay_file(names[i], t);
        }
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--corpus") == 0) {
        if (mkdir(argv[2], 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "%s: cannot create %s: %s\n", argv[0], argv[2], strerror(errno));
            return 1;
        }
        return write_corpus(argv[2]);
    }
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: %s --corpus DIR | FILE_OR_DIR...\n", argv[0]);
        return 2;
    }
    struct fuzz_tally t = {0, 0};
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            fuzz_replay_dir(argv[i], &t);
        } else {
            fuzz_replay_file(argv[i], &t);
        }
    }
    printf("%d passed, %d failed\n", t.passed, t.failed);
    return t.failed == 0 ? 0 : 1;
}

#endif
