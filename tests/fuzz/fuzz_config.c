/* fuzz_config.c - libFuzzer target for skinnyd's config parser
 * (runtime/cmd/skinnyd_config.c; `make fuzz`, tests/fuzz/fuzz.mk).
 *
 * An input is the text of a config file, any bytes: it is parsed from an
 * exact-size copy (so reading one byte past the text is caught), and
 *
 *   refused:   the message is not empty, NUL-terminated within the buffer,
 *              and names the file first, then either the place of a JSON
 *              syntax error ("FILE: line L, column C: ..." with L and C
 *              within the text), or a line and the key ("FILE:L: ... key
 *              \"...\"", or the whole text not being an object), or a
 *              missing key; the same text parsed into a buffer too small
 *              for the message gets its beginning, NUL-terminated;
 *   accepted:  the config holds together: its name is one of the cluster's
 *              (id is that position), 1..16 members with non-empty unique
 *              names and unique addresses skd_addr_ok accepts, a listen
 *              address, every number in its documented range, every string
 *              NUL-terminated and without control characters. Written back
 *              as JSON (every key explicit) it parses to the same config.
 *
 * Leaks are LeakSanitizer's to find; recursion is bounded by the parser's
 * nesting limit (SKD_JSON_MAX_DEPTH), so deep inputs must be refused, not
 * crash.
 *
 * Built with -DSK_FUZZ_MAIN the file is a plain program instead
 * (tests/fuzz/fuzz_main.h): `--corpus DIR` writes the seeds (the configs
 * skinny-lab writes, spec/DAEMON.md's example, edge cases), `FILE|DIR...`
 * replays inputs (tests/fuzz/regress/config). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/skinnyd_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FILE_NAME "fuzz/alpha.json"

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fuzz_config: check failed: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}

/* ------------------------------------------------------------ messages */

static void check_message(const char *err, size_t errlen, const uint8_t *text, size_t size)
{
    if (memchr(err, 0, errlen) == NULL) {
        fail("the message is not NUL-terminated within its %zu bytes", errlen);
    }
    if (err[0] == 0) {
        fail("refused without a message");
    }
    size_t fl = strlen(FILE_NAME);
    if (strncmp(err, FILE_NAME, fl) != 0) {
        fail("the message does not start with the file's name: %s", err);
    }
    const char *r = err + fl;
    size_t lines = 1;
    for (size_t i = 0; i < size; i++) {
        lines += text[i] == '\n';
    }
    long line, col;
    int used = 0;
    if (sscanf(r, ": line %ld, column %ld: %n", &line, &col, &used) == 2 && used > 0) {
        if (line < 1 || (size_t)line > lines || col < 1 || (size_t)col > size + 1) {
            fail("line %ld, column %ld is not in the text (%zu lines, %zu bytes): %s", line, col,
                 lines, size, err);
        }
    } else if (sscanf(r, ":%ld: %n", &line, &used) == 1 && used > 0) {
        /* a key's problem, at the line of its value; or the whole text */
        if (line < 1 || (size_t)line > lines) {
            fail("line %ld is not in the text (%zu lines): %s", line, lines, err);
        }
        if (strstr(r, "key \"") == NULL && strncmp(r + used, "expected one JSON object", 24) != 0) {
            fail("the message does not name the key: %s", err);
        }
    } else if (strncmp(r, ": missing key \"", 15) != 0 && strncmp(r, ": larger than ", 14) != 0) {
        fail("the message names neither a place nor a key: %s", err);
    }
}

/* ------------------------------------------------------------- configs */

static void check_str(const char *s, size_t cap, const char *what, bool nonempty)
{
    const char *z = memchr(s, 0, cap);
    if (z == NULL) {
        fail("%s is not NUL-terminated", what);
    }
    if (nonempty && z == s) {
        fail("%s is empty", what);
    }
    for (const char *p = s; p < z; p++) {
        if ((unsigned char)*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r' && *p != '\b' &&
            *p != '\f') {
            fail("%s holds the control character 0x%02x", what, (unsigned)(unsigned char)*p);
        }
    }
}

static void check_range(uint64_t v, uint64_t lo, uint64_t hi, const char *what)
{
    if (v < lo || v > hi) {
        fail("%s is %" PRIu64 ", outside %" PRIu64 "..%" PRIu64, what, v, lo, hi);
    }
}

static void check_config(const struct skd_config *c)
{
    check_str(c->file, sizeof c->file, "file", true);
    check_str(c->name, sizeof c->name, "name", true);
    check_str(c->data_dir, sizeof c->data_dir, "data_dir", true);
    check_str(c->scripts_dir, sizeof c->scripts_dir, "scripts_dir", true);
    check_str(c->listen, sizeof c->listen, "listen", true);
    check_str(c->proposer, sizeof c->proposer, "proposer", false);
    check_str(c->backoff, sizeof c->backoff, "backoff", false);
    check_str(c->lock, sizeof c->lock, "lock", false);
    if (!skd_addr_ok(c->listen)) {
        fail("listen \"%s\" is no address", c->listen);
    }
    if (c->n < 1 || c->n > SK_MAX_NODES || c->id < 1 || c->id > c->n) {
        fail("instance %u of %u", c->id, c->n);
    }
    if (strcmp(c->peers[c->id].name, c->name) != 0) {
        fail("cluster[%u] is \"%s\", not the instance's name", c->id, c->peers[c->id].name);
    }
    for (uint32_t i = 1; i <= c->n; i++) {
        check_str(c->peers[i].name, sizeof c->peers[i].name, "a member's name", true);
        check_str(c->peers[i].address, sizeof c->peers[i].address, "a member's address", true);
        if (!skd_addr_ok(c->peers[i].address)) {
            fail("cluster[%u].address \"%s\" is no address", i, c->peers[i].address);
        }
        for (uint32_t k = 1; k < i; k++) {
            if (strcmp(c->peers[k].name, c->peers[i].name) == 0 ||
                strcmp(c->peers[k].address, c->peers[i].address) == 0) {
                fail("cluster[%u] and cluster[%u] share a name or an address", k, i);
            }
        }
    }
    check_range(c->phase_timeout_ms, 1, 600000, "phase_timeout_ms");
    check_range(c->max_inflight, 1, 1000000, "max_inflight");
    if (c->hook_budget != 0) { /* 0: the strategy's default */
        check_range(c->hook_budget, 1000, 1000000000, "hook_budget");
    }
    check_range(c->max_connections, 1, 100000, "max_connections");
    check_range(c->max_queue_bytes, 65536, 1u << 30, "max_queue_bytes");
    check_range(c->idle_timeout_ms, 100, 86400000, "idle_timeout_ms");
    check_range(c->reconnect_min_ms, 1, 60000, "reconnect_min_ms");
    check_range(c->reconnect_max_ms, 1, 600000, "reconnect_max_ms");
    check_range(c->compact_ratio, 2, 1000, "compact_ratio");
    check_range(c->lock_params.n, 0, SK_PARAMS_MAX, "the number of lock_params");
    for (uint32_t i = 0; i < c->lock_params.n; i++) {
        const struct sk_param *p = &c->lock_params.p[i];
        check_str(p->key, sizeof p->key, "a lock_params key", true);
        check_range(p->type, SK_PARAM_INT, SK_PARAM_BOOL, "a lock_params type");
        if (p->type == SK_PARAM_STR) {
            check_str(p->s, sizeof p->s, "a lock_params string", false);
        } else if (p->type == SK_PARAM_BOOL && p->i != 0 && p->i != 1) {
            fail("lock_params.%s: a boolean of %" PRId64, p->key, p->i);
        }
        for (uint32_t k = 0; k < i; k++) {
            if (strcmp(c->lock_params.p[k].key, p->key) == 0) {
                fail("lock_params.%s given twice", p->key);
            }
        }
    }
}

struct out {
    char *b;
    size_t n, cap;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(o->b + o->n, o->cap - o->n, fmt, ap);
        va_end(ap);
        if (k < 0) {
            abort();
        }
        if ((size_t)k < o->cap - o->n) {
            o->n += (size_t)k;
            return;
        }
        o->cap = 2 * o->cap + (size_t)k;
        char *nb = realloc(o->b, o->cap);
        if (nb == NULL) {
            abort();
        }
        o->b = nb;
    }
}

static void put_str(struct out *o, const char *s)
{
    put(o, "\"");
    for (; *s; s++) {
        switch (*s) {
        case '"': put(o, "\\\""); break;
        case '\\': put(o, "\\\\"); break;
        case '\n': put(o, "\\n"); break;
        case '\t': put(o, "\\t"); break;
        case '\r': put(o, "\\r"); break;
        case '\b': put(o, "\\b"); break;
        case '\f': put(o, "\\f"); break;
        default: put(o, "%c", *s); break;
        }
    }
    put(o, "\"");
}

/* The config as a file that says every key. */
static void write_back(const struct skd_config *c, struct out *o)
{
    put(o, "{\"name\": ");
    put_str(o, c->name);
    put(o, ",\n \"data_dir\": ");
    put_str(o, c->data_dir);
    put(o, ",\n \"scripts_dir\": ");
    put_str(o, c->scripts_dir);
    put(o, ",\n \"listen\": ");
    put_str(o, c->listen);
    if (c->proposer[0]) {
        put(o, ",\n \"proposer\": ");
        put_str(o, c->proposer);
    }
    if (c->backoff[0]) {
        put(o, ",\n \"backoff\": ");
        put_str(o, c->backoff);
    }
    if (c->lock[0]) {
        put(o, ",\n \"lock\": ");
        put_str(o, c->lock);
    }
    put(o, ",\n \"phase_timeout_ms\": %" PRIu64, c->phase_timeout_ms);
    put(o, ", \"max_inflight\": %" PRIu32, c->max_inflight);
    if (c->hook_budget) {
        put(o, ", \"hook_budget\": %" PRIu64, c->hook_budget);
    }
    put(o, ", \"max_connections\": %" PRIu32, c->max_connections);
    put(o, ", \"max_queue_bytes\": %" PRIu64, c->max_queue_bytes);
    put(o, ", \"idle_timeout_ms\": %" PRIu64, c->idle_timeout_ms);
    put(o, ", \"reconnect_min_ms\": %" PRIu64, c->reconnect_min_ms);
    put(o, ", \"reconnect_max_ms\": %" PRIu64, c->reconnect_max_ms);
    put(o, ", \"compact_ratio\": %" PRIu32, c->compact_ratio);
    put(o, ", \"fsync\": %s", c->fsync ? "true" : "false");
    put(o, ", \"send_before_sync\": %s", c->early_send ? "true" : "false");
    put(o, ",\n \"lock_params\": {");
    for (uint32_t i = 0; i < c->lock_params.n; i++) {
        const struct sk_param *p = &c->lock_params.p[i];
        put(o, "%s", i > 0 ? ", " : "");
        put_str(o, p->key);
        if (p->type == SK_PARAM_INT) {
            put(o, ": %" PRId64, p->i);
        } else if (p->type == SK_PARAM_BOOL) {
            put(o, ": %s", p->i ? "true" : "false");
        } else {
            put(o, ": ");
            put_str(o, p->s);
        }
    }
    put(o, "}");
    put(o, ",\n \"cluster\": [");
    for (uint32_t i = 1; i <= c->n; i++) {
        put(o, "%s{\"name\": ", i > 1 ? ", " : "");
        put_str(o, c->peers[i].name);
        put(o, ", \"address\": ");
        put_str(o, c->peers[i].address);
        put(o, "}");
    }
    put(o, "]}\n");
}

static void same_config(const struct skd_config *a, const struct skd_config *b)
{
#define SAME_STR(f)                                                                \
    if (strcmp(a->f, b->f) != 0) {                                                 \
        fail("written back and parsed again, " #f " changed: \"%s\" -> \"%s\"", a->f, b->f); \
    }
#define SAME_NUM(f)                                                                \
    if (a->f != b->f) {                                                            \
        fail("written back and parsed again, " #f " changed");                     \
    }
    SAME_STR(name);
    SAME_STR(data_dir);
    SAME_STR(scripts_dir);
    SAME_STR(listen);
    SAME_STR(proposer);
    SAME_STR(backoff);
    SAME_STR(lock);
    SAME_NUM(id);
    SAME_NUM(n);
    SAME_NUM(phase_timeout_ms);
    SAME_NUM(max_inflight);
    SAME_NUM(hook_budget);
    SAME_NUM(max_connections);
    SAME_NUM(max_queue_bytes);
    SAME_NUM(idle_timeout_ms);
    SAME_NUM(reconnect_min_ms);
    SAME_NUM(reconnect_max_ms);
    SAME_NUM(compact_ratio);
    SAME_NUM(fsync);
    SAME_NUM(early_send);
    for (uint32_t i = 1; i <= a->n; i++) {
        SAME_STR(peers[i].name);
        SAME_STR(peers[i].address);
    }
    SAME_NUM(lock_params.n);
    for (uint32_t i = 0; i < a->lock_params.n; i++) {
        SAME_STR(lock_params.p[i].key);
        SAME_NUM(lock_params.p[i].type);
        SAME_NUM(lock_params.p[i].i);
        SAME_STR(lock_params.p[i].s);
    }
#undef SAME_STR
#undef SAME_NUM
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size copy that is not NUL-terminated */
    char *text = malloc(size ? size : 1);
    if (text == NULL) {
        abort();
    }
    if (size) {
        memcpy(text, data, size);
    }
    static struct skd_config c, again;
    char err[1024];
    memset(err, 0x5a, sizeof err);
    int rv = skd_config_parse(&c, FILE_NAME, text, size, err, sizeof err);
    if (rv != 0 && rv != -1) {
        fail("returned %d", rv);
    }
    if (rv != 0) {
        check_message(err, sizeof err, data, size);
        /* a buffer too small for the message still gets a NUL */
        char small[24];
        memset(small, 0x5a, sizeof small);
        if (skd_config_parse(&again, FILE_NAME, text, size, small, sizeof small) != -1 ||
            memchr(small, 0, sizeof small) == NULL || strncmp(small, err, sizeof small - 1) != 0) {
            fail("the same text parsed again into a small buffer: not the same refusal");
        }
    } else {
        check_config(&c);
        struct out o = {malloc(4096), 0, 4096};
        if (o.b == NULL) {
            abort();
        }
        write_back(&c, &o);
        memset(err, 0x5a, sizeof err);
        if (skd_config_parse(&again, FILE_NAME, o.b, o.n, err, sizeof err) != 0) {
            fail("the config written back is refused: %s\n%s", err, o.b);
        }
        same_config(&c, &again);
        free(o.b);
    }
    free(text);
    return 0;
}

#ifdef SK_FUZZ_MAIN
#include "fuzz_main.h"

/* ---------------------------------------------------------------- seeds */

static void seed(const char *dir, const char *name, const char *text)
{
    fuzz_write_seed(dir, name, text, strlen(text));
}

static int write_corpus(const char *dir)
{
    /* as skinny-lab writes them (runtime/cmd/skinny_lab.c): C defaults... */
    seed(dir, "lab-c-defaults",
         "{\n  \"name\": \"alpha\",\n  \"data_dir\": \"/tmp/lab/alpha/data\",\n"
         "  \"scripts_dir\": \"/src/skinny/scripts\",\n  \"cluster\": [\n"
         "    {\"name\": \"alpha\", \"address\": \"127.0.0.1:7001\"},\n"
         "    {\"name\": \"bravo\", \"address\": \"127.0.0.1:7002\"},\n"
         "    {\"name\": \"charlie\", \"address\": \"127.0.0.1:7003\"}\n  ]\n}\n");
    /* ... and with scripts, a phase timeout, fsync off */
    seed(dir, "lab-scripts",
         "{\n  \"name\": \"bravo\",\n  \"data_dir\": \"/tmp/lab \\\"x\\\"/bravo/data\",\n"
         "  \"scripts_dir\": \"/src/skinny/scripts\",\n"
         "  \"proposer\": \"paxos\", \"backoff\": \"exponential_jitter\", \"lock\": "
         "\"/abs/path/advisory.lua\",\n  \"phase_timeout_ms\": 250,\n  \"fsync\": false,\n"
         "  \"cluster\": [\n    {\"name\": \"alpha\", \"address\": \"127.0.0.1:7001\"},\n"
         "    {\"name\": \"bravo\", \"address\": \"127.0.0.1:7002\"}\n  ]\n}\n");
    /* every key */
    seed(dir, "every-key",
         "{\"name\": \"n1\", \"data_dir\": \"d\", \"scripts_dir\": \"s\", \"listen\": "
         "\"0.0.0.0:7001\", \"proposer\": \"p\", \"backoff\": \"b\", \"lock\": \"l\", "
         "\"phase_timeout_ms\": 600000, \"max_inflight\": 1, \"hook_budget\": 1000, "
         "\"max_connections\": 100000, \"max_queue_bytes\": 65536, \"idle_timeout_ms\": 1e2, "
         "\"reconnect_min_ms\": 1, \"reconnect_max_ms\": 600000, \"compact_ratio\": 1000, "
         "\"fsync\": true, \"send_before_sync\": false, \"cluster\": [{\"name\": \"n1\", "
         "\"address\": \"[::1]:7001\"}, {\"name\": \"n2\", \"address\": \"localhost:7002\"}, "
         "{\"name\": \"n3\", \"address\": \"[fe80::1%lo]:7003\"}]}");
    /* refusals the e2e tier checks (tests/e2e/test_daemons.c) */
    seed(dir, "missing-data-dir",
         "{\"name\": \"a\", \"cluster\": [{\"name\": \"a\", \"address\": \"127.0.0.1:1\"}]}");
    seed(dir, "wrong-type",
         "{\"name\": \"a\", \"data_dir\": \"/tmp/x\", \"phase_timeout_ms\": \"fast\", "
         "\"cluster\": [{\"name\": \"a\", \"address\": \"127.0.0.1:1\"}]}");
    seed(dir, "duplicate-peer",
         "{\"name\": \"a\", \"data_dir\": \"/tmp/x\", \"cluster\": [{\"name\": \"a\", "
         "\"address\": \"127.0.0.1:1\"}, {\"name\": \"a\", \"address\": \"127.0.0.1:2\"}]}");
    seed(dir, "unknown-key", "{\"name\": \"a\", \"data_dir\": \"/tmp/x\", \"colour\": 1}");
    seed(dir, "not-json", "name = 'a'");
    /* edge cases */
    seed(dir, "empty", "");
    seed(dir, "deep",
         "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
    seed(dir, "huge-numbers",
         "{\"name\": \"a\", \"data_dir\": \"x\", \"phase_timeout_ms\": 1e999, \"max_inflight\": "
         "-1e999, \"cluster\": [{\"name\": \"a\", \"address\": \"127.0.0.1:1\"}]}");
    seed(dir, "not-numbers",
         "{\"name\": \"a\", \"data_dir\": \"x\", \"phase_timeout_ms\": -nan, \"cluster\": "
         "[{\"name\": \"a\", \"address\": \"127.0.0.1:1\"}]}");
    seed(dir, "duplicate-key",
         "{\"name\": \"a\", \"data_dir\": \"x\", \"name\": \"b\", \"cluster\": "
         "[{\"name\": \"a\", \"address\": \"127.0.0.1:1\"}]}");
    seed(dir, "cluster-typo",
         "{\"name\": \"a\", \"data_dir\": \"x\", \"cluster\": "
         "[{\"name\": \"a\", \"adress\": \"127.0.0.1:1\"}]}");
    seed(dir, "escapes",
         "{\"name\": \"a\\tb\", \"data_dir\": \"\\/x\\\\y\\\"\\b\\f\\r\\n\", \"cluster\": "
         "[{\"name\": \"a\\tb\", \"address\": \"127.0.0.1:1\"}]}");
    seed(dir, "utf8", "{\"name\": \"\xc3\xa9t\xc3\xa9\", \"data_dir\": \"\xe2\x82\xac\", "
                      "\"cluster\": [{\"name\": \"\xc3\xa9t\xc3\xa9\", \"address\": "
                      "\"127.0.0.1:1\"}]}");
    seed(dir, "bad-utf8", "{\"name\": \"\xc3\x28\", \"data_dir\": \"\xed\xa0\x80\"}");
    static const char nul[] = "{\"name\": \"a\", \"na\0me\": \"b\"}";
    fuzz_write_seed(dir, "embedded-nul", nul, sizeof nul - 1);
    seed(dir, "truncated-literal", "{\"fsync\": tr");
    /* lock parameters (a semaphore's permits), and what is refused in them */
    seed(dir, "lock-params",
         "{\"name\": \"a\", \"data_dir\": \"x\", \"lock\": \"semaphore\", \"lock_params\": "
         "{\"permits\": 3, \"mode\": \"fair\", \"strict\": true, \"neg\": -9007199254740992}, "
         "\"cluster\": [{\"name\": \"a\", \"address\": \"127.0.0.1:1\"}]}");
    seed(dir, "lock-params-nested",
         "{\"name\": \"a\", \"data_dir\": \"x\", \"lock_params\": {\"permits\": [3]}, "
         "\"cluster\": [{\"name\": \"a\", \"address\": \"127.0.0.1:1\"}]}");
    seed(dir, "lock-params-fraction",
         "{\"name\": \"a\", \"data_dir\": \"x\", \"lock_params\": {\"permits\": 2.5, "
         "\"\": 1}, \"cluster\": [{\"name\": \"a\", \"address\": \"127.0.0.1:1\"}]}");
    seed(dir, "truncated-number", "{\"max_inflight\": 12");
    return 0;
}
#endif
