/* test_config.c - skinnyd's config parser (runtime/cmd/skinnyd_config.c):
 * what a good config gives, and that every bad one is refused with a
 * message naming the file and the key or the line and column. The inputs
 * the config fuzzer found or was seeded with are in tests/fuzz/regress/
 * config/ (replayed by the C tier too); the cases here say what each must
 * answer. Texts are parsed from exact-size copies, not NUL-terminated, so
 * that reading past the end shows under `make asan`. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "runner.h"
#include "cmd/skinnyd_config.h"

#define F "conf/alpha.json"
#define ONE_MEMBER "\"cluster\": [{\"name\": \"a\", \"address\": \"127.0.0.1:7001\"}]"

static struct skd_config C;
static char err[1024];

/* Parse text from an exact-size heap copy. */
static int parse_n(const char *text, size_t n)
{
    char *copy = malloc(n ? n : 1);
    if (copy == NULL) {
        abort();
    }
    memcpy(copy, text, n);
    memset(err, 0x5a, sizeof err);
    err[sizeof err - 1] = 0;
    int rv = skd_config_parse(&C, F, copy, n, err, sizeof err);
    free(copy);
    return rv;
}

static int parse(const char *text)
{
    return parse_n(text, strlen(text));
}

/* Refused, with a message that starts with the file and holds want. */
static void refused(const char *text, size_t n, const char *want)
{
    ASSERT_EQ_INT(parse_n(text, n), -1);
    if (strncmp(err, F, strlen(F)) != 0 || strstr(err, want) == NULL) {
        FAIL("message \"%s\" does not start with %s and hold \"%s\"", err, F, want);
    }
}

#define REFUSED(text, want) RUN(refused(text, strlen(text), want))

TEST(config_as_skinny_lab_writes_it)
{
    ASSERT_EQ_INT(parse("{\n  \"name\": \"bravo\",\n  \"data_dir\": \"/tmp/lab/bravo/data\",\n"
                        "  \"scripts_dir\": \"/src/scripts\",\n  \"proposer\": \"paxos\", "
                        "\"backoff\": \"exponential_jitter\", \"lock\": \"advisory\",\n"
                        "  \"phase_timeout_ms\": 250,\n  \"fsync\": false,\n  \"cluster\": [\n"
                        "    {\"name\": \"alpha\", \"address\": \"127.0.0.1:7001\"},\n"
                        "    {\"name\": \"bravo\", \"address\": \"127.0.0.1:7002\"},\n"
                        "    {\"name\": \"charlie\", \"address\": \"127.0.0.1:7003\"}\n  ]\n}\n"),
                  0);
    ASSERT_STR_EQ(C.file, F);
    ASSERT_STR_EQ(C.name, "bravo");
    ASSERT_EQ_INT(C.id, 2);
    ASSERT_EQ_INT(C.n, 3);
    ASSERT_STR_EQ(C.peers[3].name, "charlie");
    ASSERT_STR_EQ(C.peers[3].address, "127.0.0.1:7003");
    ASSERT_STR_EQ(C.listen, "127.0.0.1:7002"); /* its own cluster address */
    ASSERT_STR_EQ(C.data_dir, "/tmp/lab/bravo/data");
    ASSERT_STR_EQ(C.proposer, "paxos");
    ASSERT_STR_EQ(C.lock, "advisory");
    ASSERT_EQ_U64(C.phase_timeout_ms, 250);
    ASSERT_FALSE(C.fsync);
    /* the defaults of spec/DAEMON.md */
    ASSERT_EQ_INT(C.max_inflight, 1024);
    ASSERT_EQ_INT(C.max_connections, 256);
    ASSERT_EQ_U64(C.max_queue_bytes, 1u << 20);
    ASSERT_EQ_U64(C.idle_timeout_ms, 60000);
    ASSERT_EQ_U64(C.reconnect_min_ms, 50);
    ASSERT_EQ_U64(C.reconnect_max_ms, 2000);
    ASSERT_EQ_INT(C.compact_ratio, 4);
    ASSERT_TRUE(C.early_send);
}

TEST(config_load_reads_the_file_and_names_it)
{
    char path[] = "/tmp/sk_config_test.XXXXXX";
    int fd = mkstemp(path);
    ASSERT_TRUE(fd >= 0);
    const char *text = "{\"name\": \"a\", \"data_dir\": \"d\", " ONE_MEMBER "}";
    ASSERT_EQ_INT(write(fd, text, strlen(text)), (int)strlen(text));
    close(fd);
    int rv = skd_config_load(&C, path, err, sizeof err);
    ASSERT_EQ_INT(rv, 0);
    ASSERT_STR_EQ(C.file, path);
    ASSERT_STR_EQ(C.name, "a");
    /* too large for a config: refused unread */
    fd = open(path, O_WRONLY | O_TRUNC);
    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ_INT(ftruncate(fd, SKD_CONFIG_MAX_BYTES + 1), 0);
    close(fd);
    ASSERT_EQ_INT(skd_config_load(&C, path, err, sizeof err), -1);
    ASSERT_TRUE(strstr(err, path) != NULL);
    ASSERT_TRUE(strstr(err, "larger than") != NULL);
    unlink(path);
    ASSERT_EQ_INT(skd_config_load(&C, path, err, sizeof err), -1);
    ASSERT_TRUE(strstr(err, path) != NULL);
    ASSERT_TRUE(strstr(err, "cannot read") != NULL);
}

TEST(config_syntax_errors_name_line_and_column)
{
    REFUSED("{\n  \"name\": \"a\",\n  \"data_dir\" \"d\"\n}", "line 3, column 14: expected ':'");
    REFUSED("", "line 1, column 1: unexpected end of file");
    REFUSED("name = 'a'", "line 1, column 1: unexpected character");
    REFUSED("{\"name\": \"a\"} x", "line 1, column 15: trailing text");
    REFUSED("{\"name\": \"a\n\"}", "line 1, column 12: unterminated string");
    REFUSED("{\"name\": \"\\u0041\"}", "line 1, column 12: unsupported escape");
}

/* The parser reads only the len bytes it is given: a literal or a number
 * cut by the end of the text is refused, never completed from whatever
 * follows in memory (the old parser used strncmp and strtod there). */
TEST(config_text_ending_inside_a_token)
{
    REFUSED("{\"fsync\": tr", "line 1, column 11");
    REFUSED("{\"fsync\": fals", "line 1, column 11");
    REFUSED("{\"max_inflight\": 12", "unexpected end of file");
    REFUSED("{\"max_inflight\": 1e", "bad number");
    REFUSED("{\"name", "unterminated string");
    ASSERT_EQ_INT(parse_n("{\"fsync\": true}", 14), -1); /* the '}' cut off */
}

/* Numbers are JSON's: the old parser took whatever strtod takes, so 0x10
 * was 16, and -nan reached a cast to uint64_t (undefined; `make asan`
 * aborted). Too large ones are out of range. */
TEST(config_numbers_are_json_numbers)
{
    REFUSED("{\"phase_timeout_ms\": 0x10}", "line 1, column 23: expected ',' or '}'");
    REFUSED("{\"phase_timeout_ms\": -nan}", "line 1, column 22: bad number");
    REFUSED("{\"phase_timeout_ms\": inf}", "unexpected character");
    REFUSED("{\"phase_timeout_ms\": 010}", "no leading zeros");
    REFUSED("{\"phase_timeout_ms\": +1}", "unexpected character");
    REFUSED("{\"phase_timeout_ms\": 1.}", "digits must follow '.'");
    REFUSED("{\"phase_timeout_ms\": 100000000000000000000000000000000000000000000000000000000000000"
            "00}",
            "number too long");
    const char *big = "{\"name\": \"a\", \"data_dir\": \"d\", \"phase_timeout_ms\": 1e999, " ONE_MEMBER
                      "}";
    REFUSED(big, ":1: key \"phase_timeout_ms\": expected an integer from 1 to 600000");
    REFUSED("{\"name\": \"a\", \"data_dir\": \"d\", \"max_inflight\": -1e999, " ONE_MEMBER "}",
            "key \"max_inflight\"");
    REFUSED("{\"name\": \"a\", \"data_dir\": \"d\", \"max_inflight\": 2.5, " ONE_MEMBER "}",
            "key \"max_inflight\"");
    ASSERT_EQ_INT(
        parse("{\"name\": \"a\", \"data_dir\": \"d\", \"idle_timeout_ms\": 1.5e3, " ONE_MEMBER "}"),
        0);
    ASSERT_EQ_U64(C.idle_timeout_ms, 1500);
}

/* The old parser kept the first of two equal keys and ignored the other. */
TEST(config_duplicate_keys_are_refused)
{
    REFUSED("{\"name\": \"a\",\n \"data_dir\": \"d\",\n \"name\": \"b\", " ONE_MEMBER "}",
            "line 3, column 2: duplicate key \"name\" (first on line 1)");
    REFUSED("{\"name\": \"a\", \"data_dir\": \"d\", \"cluster\": [{\"name\": \"a\", \"name\": \"b\", "
            "\"address\": \"127.0.0.1:1\"}]}",
            "duplicate key \"name\"");
}

/* A NUL in a string cut the old parser's key short ("na\0me" was "na");
 * control characters and bytes that are not UTF-8 would go to the logs. */
TEST(config_strings_are_utf8_without_control_characters)
{
    static const char nul[] = "{\"na\0me\": \"a\"}";
    RUN(refused(nul, sizeof nul - 1, "line 1, column 5: a NUL byte in a string"));
    REFUSED("{\"name\": \"a\033[31m\"}", "line 1, column 12: a control character");
    REFUSED("{\"name\": \"\xc3\x28\"}", "line 1, column 11: a string that is not UTF-8");
    REFUSED("{\"name\": \"\xed\xa0\x80\"}", "not UTF-8");     /* a surrogate */
    REFUSED("{\"name\": \"\xc0\xaf\"}", "not UTF-8");         /* overlong */
    REFUSED("{\"name\": \"\xf4\x90\x80\x80\"}", "not UTF-8"); /* past U+10FFFF */
    REFUSED("{\"name\": \"\xe2\x82\"}", "not UTF-8");         /* cut short */
    ASSERT_EQ_INT(parse("{\"name\": \"\xc3\xa9t\xc3\xa9\\t\", \"data_dir\": \"\xf0\x9f\x94\x92\", "
                        "\"cluster\": [{\"name\": \"\xc3\xa9t\xc3\xa9\\t\", \"address\": "
                        "\"127.0.0.1:1\"}]}"),
                  0);
    ASSERT_STR_EQ(C.name, "\xc3\xa9t\xc3\xa9\t");
    ASSERT_STR_EQ(C.data_dir, "\xf0\x9f\x94\x92");
}

TEST(config_nesting_is_bounded)
{
    char deep[200];
    /* 32 levels: parsed, then refused for what it is */
    size_t n = 0;
    n += (size_t)snprintf(deep, sizeof deep, "{\"cluster\": ");
    for (int i = 0; i < SKD_JSON_MAX_DEPTH - 1; i++) {
        deep[n++] = '[';
    }
    for (int i = 0; i < SKD_JSON_MAX_DEPTH - 1; i++) {
        deep[n++] = ']';
    }
    deep[n++] = '}';
    RUN(refused(deep, n, "missing key \"name\""));
    /* 33 */
    n = 0;
    for (int i = 0; i <= SKD_JSON_MAX_DEPTH; i++) {
        deep[n++] = '[';
    }
    RUN(refused(deep, n, "line 1, column 33: nested deeper than 32 levels"));
}

TEST(config_key_errors_name_file_line_and_key)
{
    REFUSED("{\"name\": \"a\", \"data_dir\": \"d\",\n \"colour\": 1, " ONE_MEMBER "}",
            ":2: unknown key \"colour\"");
    REFUSED("{\"name\": \"a\", " ONE_MEMBER "}", ": missing key \"data_dir\"");
    REFUSED("{\"name\": \"a\", \"data_dir\": \"d\"}", ": missing key \"cluster\"");
    REFUSED("[1, 2]", ":1: expected one JSON object");
    REFUSED("{\"name\": \"z\", \"data_dir\": \"d\", " ONE_MEMBER "}",
            ":1: key \"name\": \"z\" is not one of the names in \"cluster\"");
    REFUSED("{\"name\": \"a\", \"data_dir\": \"d\", \"fsync\": 1, " ONE_MEMBER "}",
            "key \"fsync\": expected true or false");
    REFUSED("{\"name\": \"a\", \"data_dir\": \"d\", \"cluster\": []}", "key \"cluster\"");
    /* a member's keys: a typo is refused like one at the top */
    REFUSED("{\"name\": \"a\", \"data_dir\": \"d\", \"cluster\": [{\"name\": \"a\",\n \"adress\": "
            "\"127.0.0.1:1\"}]}",
            ":2: key \"cluster[1].adress\": unknown key");
    REFUSED("{\"name\": \"a\", \"data_dir\": \"d\", \"cluster\": [{\"name\": \"a\", \"address\": "
            "\"127.0.0.1:0\"}]}",
            "key \"cluster[1].address\"");
    REFUSED("{\"name\": \"a\", \"data_dir\": \"d\", \"listen\": \"nowhere\", " ONE_MEMBER "}",
            "key \"listen\"");
    /* a long unknown key is shortened, not cut inside a UTF-8 sequence */
    char text[400];
    snprintf(text, sizeof text, "{\"%s\xc3\xa9\xc3\xa9xxxxxxxxxxxxxxxxxxxx\": 1}",
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"); /* 63 */
    REFUSED(text, "unknown key \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\"");
}

/* lock_params: a flat object of integers, strings and booleans, in order;
 * anything else refused naming the file, the line and the key. */
TEST(config_lock_params)
{
    ASSERT_EQ_INT(parse("{\"name\": \"a\", \"data_dir\": \"d\", \"lock_params\": {\"permits\": 3,\n"
                        "\"mode\": \"fair\", \"strict\": false, \"low\": -2}, " ONE_MEMBER "}"),
                  0);
    ASSERT_EQ_INT(C.lock_params.n, 4);
    ASSERT_STR_EQ(C.lock_params.p[0].key, "permits");
    ASSERT_EQ_INT(C.lock_params.p[0].type, SK_PARAM_INT);
    ASSERT_EQ_INT(C.lock_params.p[0].i, 3);
    ASSERT_STR_EQ(C.lock_params.p[1].key, "mode");
    ASSERT_EQ_INT(C.lock_params.p[1].type, SK_PARAM_STR);
    ASSERT_STR_EQ(C.lock_params.p[1].s, "fair");
    ASSERT_EQ_INT(C.lock_params.p[2].type, SK_PARAM_BOOL);
    ASSERT_EQ_INT(C.lock_params.p[2].i, 0);
    ASSERT_EQ_INT(C.lock_params.p[3].i, -2);
    /* none: an empty list */
    ASSERT_EQ_INT(parse("{\"name\": \"a\", \"data_dir\": \"d\", " ONE_MEMBER "}"), 0);
    ASSERT_EQ_INT(C.lock_params.n, 0);
    REFUSED("{\"name\": \"a\", \"data_dir\": \"d\",\n \"lock_params\": [3], " ONE_MEMBER "}",
            ":2: key \"lock_params\": expected an object");
    REFUSED("{\"name\": \"a\", \"data_dir\": \"d\", \"lock_params\": {\n\"permits\": 2.5}, " ONE_MEMBER
            "}",
            ":2: key \"lock_params.permits\": expected an integer");
    REFUSED("{\"name\": \"a\", \"data_dir\": \"d\", \"lock_params\": {\"permits\": {\"n\": 3}}, "
            ONE_MEMBER "}",
            "key \"lock_params.permits\": expected an integer, a string or true/false");
    REFUSED("{\"name\": \"a\", \"data_dir\": \"d\", \"lock_params\": {\"permits\": null}, " ONE_MEMBER
            "}",
            "key \"lock_params.permits\"");
    REFUSED("{\"name\": \"a\", \"data_dir\": \"d\", \"lock_params\": {\"\": 1}, " ONE_MEMBER "}",
            "key \"lock_params.\": a parameter's name is 1 to 32 bytes");
    REFUSED("{\"name\": \"a\", \"data_dir\": \"d\", \"lock_params\": "
            "{\"abcdefghijklmnopqrstuvwxyz0123456\": 1}, " ONE_MEMBER "}",
            "a parameter's name is 1 to 32 bytes");
    /* 17 parameters: one too many */
    char text[1024];
    int n = snprintf(text, sizeof text, "{\"name\": \"a\", \"data_dir\": \"d\", \"lock_params\": {");
    for (int i = 0; i < SK_PARAMS_MAX + 1; i++) {
        n += snprintf(text + n, sizeof text - (size_t)n, "%s\"k%d\": %d", i ? ", " : "", i, i);
    }
    snprintf(text + n, sizeof text - (size_t)n, "}, " ONE_MEMBER "}");
    REFUSED(text, "key \"lock_params\": at most 16 parameters");
}

/* Whatever the message, it is NUL-terminated in the buffer given. */
TEST(config_message_fits_a_small_buffer)
{
    char small[16];
    memset(small, 'x', sizeof small);
    ASSERT_EQ_INT(skd_config_parse(&C, F, "[", 1, small, sizeof small), -1);
    ASSERT_TRUE(memchr(small, 0, sizeof small) != NULL);
    ASSERT_EQ_INT(skd_config_parse(&C, F, NULL, 0, small, sizeof small), -1);
}

TEST(config_addresses)
{
    static const struct {
        const char *addr;
        bool ok;
    } cases[] = {
        {"127.0.0.1:7001", true},     {"0.0.0.0:1", true},         {"localhost:65535", true},
        {"[::1]:7001", true},         {"::1:7001", true},          {"[fe80::1%lo]:7001", true},
        {"10.201.0.3:7003", true},    {"127.0.0.1:0", false},      {"127.0.0.1:65536", false},
        {"127.0.0.1:+7001", false},   {"127.0.0.1: 7001", false},  {"127.0.0.1:", false},
        {"127.0.0.1", false},         {":7001", false},            {"[]:7001", false},
        {"example.com:7001", false},  {"127.0.0.01:7001", false},  {"256.0.0.1:7001", false},
        {"127.0.0.1:007001", false},  {"[127.0.0.1:7001", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TEST_CONTEXT("%s", cases[i].addr);
        ASSERT_EQ_INT(skd_addr_ok(cases[i].addr), cases[i].ok);
    }
}
