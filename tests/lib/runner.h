/* runner.h - a tiny header-only test runner for Skinny's C tests.
 *
 * Contract (tools/test.sh relies on it): a test binary runs every test it
 * registered, prints one line per test
 *
 *     ok - NAME
 *     not ok - NAME: FILE:LINE: MESSAGE
 *
 * and ends with exactly one line "N passed, N failed". It exits 0 iff no
 * test failed. The environment variable TEST_FILTER, when set and not
 * empty, runs only the tests whose name contains it (the others are not
 * counted).
 *
 * Use:
 *
 *     #include "runner.h"
 *
 *     TEST(codec_round_trip)
 *     {
 *         ASSERT_EQ_INT(sk_msg_decode(buf, len, &m), len);
 *     }
 *
 * The header defines main() unless SK_TEST_NO_MAIN is defined, in which
 * case call sk_test_run_all() from your own main.
 *
 * Every ASSERT_* fails the current test and returns from the enclosing
 * function, which must therefore return void. A helper that asserts is
 * called with RUN(helper(...)), which returns from the caller too when the
 * helper failed. Only the first failure of a test is reported.
 * TEST_CONTEXT("type %s", name) labels the case a loop is on; a failure
 * then ends with " [type prepare]".
 *
 * Tests register themselves from a constructor and run in source order
 * (sorted by line), whatever order the constructors happen to run in.
 */
#ifndef SK_TEST_RUNNER_H
#define SK_TEST_RUNNER_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SK_TEST_MAX
#define SK_TEST_MAX 1024
#endif

struct sk_test_case {
    const char *name;
    void (*fn)(void);
    int line;
};

struct sk_test_state {
    struct sk_test_case tests[SK_TEST_MAX];
    size_t n;
    bool overflow;
    bool failed;   /* the current test failed */
    char msg[1024]; /* its first failure: "file:line: message" */
    char ctx[256];  /* TEST_CONTEXT of the current test, appended to it */
};

/* One instance per test binary (tests are one translation unit). */
static struct sk_test_state sk_test_state_;

static inline void sk_test_register(const char *name, void (*fn)(void), int line)
{
    struct sk_test_state *s = &sk_test_state_;
    if (s->n == SK_TEST_MAX) {
        s->overflow = true;
        return;
    }
    s->tests[s->n].name = name;
    s->tests[s->n].fn = fn;
    s->tests[s->n].line = line;
    s->n++;
}

static inline bool sk_test_failed(void)
{
    return sk_test_state_.failed;
}

__attribute__((format(printf, 3, 4))) static inline void sk_test_fail(const char *file, int line,
                                                                      const char *fmt, ...)
{
    struct sk_test_state *s = &sk_test_state_;
    if (s->failed) {
        return; /* keep the first failure */
    }
    s->failed = true;
    int k = snprintf(s->msg, sizeof s->msg, "%s:%d: ", file, line);
    if (k < 0 || (size_t)k >= sizeof s->msg) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->msg + k, sizeof s->msg - (size_t)k, fmt, ap);
    va_end(ap);
    if (s->ctx[0] != 0) {
        size_t used = strlen(s->msg);
        snprintf(s->msg + used, sizeof s->msg - used, " [%s]", s->ctx);
    }
    /* the report is one line */
    for (char *c = s->msg; *c; c++) {
        if (*c == '\n' || *c == '\r') {
            *c = ' ';
        }
    }
}

/* Say what the test is doing (a loop's current case); failures then end
 * with " [context]". Cleared before each test. */
__attribute__((format(printf, 1, 2))) static inline void sk_test_context(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sk_test_state_.ctx, sizeof sk_test_state_.ctx, fmt, ap);
    va_end(ap);
}
#define TEST_CONTEXT(...) sk_test_context(__VA_ARGS__)

static inline int sk_test_cmp_line(const void *a, const void *b)
{
    const struct sk_test_case *x = a, *y = b;
    return (x->line > y->line) - (x->line < y->line);
}

static inline int sk_test_run_all(void)
{
    struct sk_test_state *s = &sk_test_state_;
    const char *filter = getenv("TEST_FILTER");
    unsigned passed = 0, failed = 0;
    setvbuf(stdout, NULL, _IOLBF, 0); /* a crash still shows how far we got */
    qsort(s->tests, s->n, sizeof s->tests[0], sk_test_cmp_line);
    if (s->overflow) {
        printf("not ok - runner: more than %d tests registered; raise SK_TEST_MAX\n",
               SK_TEST_MAX);
        failed++;
    }
    for (size_t i = 0; i < s->n; i++) {
        const struct sk_test_case *t = &s->tests[i];
        if (filter != NULL && filter[0] != 0 && strstr(t->name, filter) == NULL) {
            continue;
        }
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
    fflush(stdout);
    return failed == 0 ? 0 : 1;
}

#define TEST(name)                                                                     \
    static void sk_test_fn_##name(void);                                               \
    __attribute__((constructor)) static void sk_test_reg_##name(void)                  \
    {                                                                                  \
        sk_test_register(#name, sk_test_fn_##name, __LINE__);                          \
    }                                                                                  \
    static void sk_test_fn_##name(void)

/* Fail the current test with a message and return. */
#define FAIL(...)                                                                      \
    do {                                                                               \
        sk_test_fail(__FILE__, __LINE__, __VA_ARGS__);                                 \
        return;                                                                        \
    } while (0)

/* Run a helper that may assert; return too when it failed. */
#define RUN(call)                                                                      \
    do {                                                                               \
        call;                                                                          \
        if (sk_test_failed()) {                                                        \
            return;                                                                    \
        }                                                                              \
    } while (0)

#define ASSERT_TRUE(cond)                                                              \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            FAIL("expected true: %s", #cond);                                          \
        }                                                                              \
    } while (0)

#define ASSERT_FALSE(cond)                                                             \
    do {                                                                               \
        if (cond) {                                                                    \
            FAIL("expected false: %s", #cond);                                         \
        }                                                                              \
    } while (0)

#define ASSERT_EQ_INT(a, b)                                                            \
    do {                                                                               \
        intmax_t sk_a_ = (intmax_t)(a), sk_b_ = (intmax_t)(b);                         \
        if (sk_a_ != sk_b_) {                                                          \
            FAIL("%s == %s: %jd != %jd", #a, #b, sk_a_, sk_b_);                        \
        }                                                                              \
    } while (0)

#define ASSERT_NE_INT(a, b)                                                            \
    do {                                                                               \
        intmax_t sk_a_ = (intmax_t)(a), sk_b_ = (intmax_t)(b);                         \
        if (sk_a_ == sk_b_) {                                                          \
            FAIL("%s != %s: both %jd", #a, #b, sk_a_);                                 \
        }                                                                              \
    } while (0)

/* Unsigned 64-bit values (tokens, rounds) printed as such. */
#define ASSERT_EQ_U64(a, b)                                                            \
    do {                                                                               \
        uint64_t sk_a_ = (uint64_t)(a), sk_b_ = (uint64_t)(b);                         \
        if (sk_a_ != sk_b_) {                                                          \
            FAIL("%s == %s: %" PRIu64 " != %" PRIu64, #a, #b, sk_a_, sk_b_);           \
        }                                                                              \
    } while (0)

#define ASSERT_LT_U64(a, b)                                                            \
    do {                                                                               \
        uint64_t sk_a_ = (uint64_t)(a), sk_b_ = (uint64_t)(b);                         \
        if (!(sk_a_ < sk_b_)) {                                                        \
            FAIL("%s < %s: %" PRIu64 " >= %" PRIu64, #a, #b, sk_a_, sk_b_);            \
        }                                                                              \
    } while (0)

/* NUL-terminated strings; NULL is equal only to NULL. */
#define ASSERT_STR_EQ(a, b)                                                            \
    do {                                                                               \
        const char *sk_a_ = (a), *sk_b_ = (b);                                         \
        if ((sk_a_ == NULL) != (sk_b_ == NULL) ||                                      \
            (sk_a_ != NULL && strcmp(sk_a_, sk_b_) != 0)) {                            \
            FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b, sk_a_ ? sk_a_ : "(null)",       \
                 sk_b_ ? sk_b_ : "(null)");                                            \
        }                                                                              \
    } while (0)

/* n bytes at a and b; reports the first differing offset. */
#define ASSERT_MEM_EQ(a, b, n)                                                         \
    do {                                                                               \
        const unsigned char *sk_a_ = (const unsigned char *)(a);                       \
        const unsigned char *sk_b_ = (const unsigned char *)(b);                       \
        size_t sk_n_ = (size_t)(n);                                                    \
        if (sk_n_ > 0 && (sk_a_ == NULL || sk_b_ == NULL)) {                           \
            FAIL("%s == %s (%zu bytes): NULL pointer", #a, #b, sk_n_);                 \
        }                                                                              \
        for (size_t sk_i_ = 0; sk_i_ < sk_n_; sk_i_++) {                               \
            if (sk_a_[sk_i_] != sk_b_[sk_i_]) {                                        \
                FAIL("%s == %s (%zu bytes): first difference at offset %zu: "          \
                     "0x%02x != 0x%02x",                                               \
                     #a, #b, sk_n_, sk_i_, sk_a_[sk_i_], sk_b_[sk_i_]);                \
            }                                                                          \
        }                                                                              \
    } while (0)

#define ASSERT_NULL(p) ASSERT_TRUE((p) == NULL)
#define ASSERT_NOT_NULL(p) ASSERT_TRUE((p) != NULL)

#ifndef SK_TEST_NO_MAIN
int main(void)
{
    return sk_test_run_all();
}
#endif

#endif
