/* test_value.c - the "sk value" encoding of lock state (sk.h,
 * spec/PROTOCOL.md section "Lock state"): the writer, the field reader and
 * the validator. */
#include <string.h>

#include "runner.h"
#include "sk.h"

static uint8_t buf[8192];

/* Encode {name = i} with the writer and read it back. */
static void int_round_trip(int64_t i)
{
    struct sk_value_writer w;
    sk_value_begin(&w, buf, sizeof buf);
    sk_value_put_int(&w, "n", i);
    int len = sk_value_end(&w);
    ASSERT_TRUE(len > 0);
    ASSERT_EQ_INT(sk_value_validate(buf, (size_t)len), 0);
    struct sk_value_field f;
    memset(&f, 0, sizeof f);
    ASSERT_EQ_INT(sk_value_get(buf, (size_t)len, "n", &f), 1);
    ASSERT_EQ_INT(f.tag, 'i');
    if (f.i != i) {
        FAIL("int %lld read back as %lld", (long long)i, (long long)f.i);
    }
}

TEST(writer_strings_and_ints_read_back)
{
    struct sk_value_writer w;
    sk_value_begin(&w, buf, sizeof buf);
    sk_value_put_str(&w, "holder", (const uint8_t *)"beaver", 6);
    sk_value_put_int(&w, "token", 4353);
    int len = sk_value_end(&w);
    ASSERT_TRUE(len > 0);
    ASSERT_EQ_INT(buf[0], 'm');
    ASSERT_EQ_INT(sk_value_validate(buf, (size_t)len), 0);

    struct sk_value_field f;
    ASSERT_EQ_INT(sk_value_get(buf, (size_t)len, "holder", &f), 1);
    ASSERT_EQ_INT(f.tag, 's');
    ASSERT_EQ_INT(f.s_len, 6);
    ASSERT_MEM_EQ(f.s, "beaver", 6);
    ASSERT_EQ_INT(f.name_len, 6);
    ASSERT_MEM_EQ(f.name, "holder", 6);

    ASSERT_EQ_INT(sk_value_get(buf, (size_t)len, "token", &f), 1);
    ASSERT_EQ_INT(f.tag, 'i');
    ASSERT_EQ_INT(f.i, 4353);
}

TEST(writer_exact_bytes)
{
    /* {a = "b", n = -1}: 'm', count in a fixed 5-byte varint slot, then
     * key/value items; -1 zigzags to 1 */
    static const uint8_t want[] = {'m', 0x82, 0x80, 0x80, 0x80, 0x00, 's', 1, 'a',
                                   's', 1,    'b',  's',  1,    'n',  'i', 0x01};
    struct sk_value_writer w;
    sk_value_begin(&w, buf, sizeof buf);
    sk_value_put_str(&w, "a", (const uint8_t *)"b", 1);
    sk_value_put_int(&w, "n", -1);
    ASSERT_EQ_INT(sk_value_end(&w), sizeof want);
    ASSERT_MEM_EQ(buf, want, sizeof want);
}

TEST(ints_round_trip_including_extremes)
{
    static const int64_t vals[] = {0,          1,          -1,         2,         -2,
                                   63,         -64,        64,         -65,       127,
                                   128,        300,        -300,       1 << 20,   4353,
                                   INT32_MAX,  INT32_MIN,  INT64_MAX,  INT64_MIN, INT64_MAX - 1,
                                   INT64_MIN + 1};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        TEST_CONTEXT("int %lld", (long long)vals[i]);
        RUN(int_round_trip(vals[i]));
    }
}

TEST(strings_empty_binary_and_long)
{
    static uint8_t big[4000];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)i; /* NULs included */
    struct sk_value_writer w;
    sk_value_begin(&w, buf, sizeof buf);
    sk_value_put_str(&w, "a", (const uint8_t *)"", 0);
    sk_value_put_str(&w, "b", big, sizeof big);
    sk_value_put_str(&w, "c", (const uint8_t *)"x\0y", 3);
    int len = sk_value_end(&w);
    ASSERT_TRUE(len > 0);
    ASSERT_EQ_INT(sk_value_validate(buf, (size_t)len), 0);
    struct sk_value_field f;
    ASSERT_EQ_INT(sk_value_get(buf, (size_t)len, "a", &f), 1);
    ASSERT_EQ_INT(f.tag, 's');
    ASSERT_EQ_INT(f.s_len, 0);
    ASSERT_EQ_INT(sk_value_get(buf, (size_t)len, "b", &f), 1);
    ASSERT_EQ_INT(f.s_len, sizeof big);
    ASSERT_MEM_EQ(f.s, big, sizeof big);
    ASSERT_EQ_INT(sk_value_get(buf, (size_t)len, "c", &f), 1);
    ASSERT_EQ_INT(f.s_len, 3);
    ASSERT_MEM_EQ(f.s, "x\0y", 3);
}

TEST(missing_field_returns_zero)
{
    struct sk_value_writer w;
    sk_value_begin(&w, buf, sizeof buf);
    sk_value_put_str(&w, "holder", (const uint8_t *)"beaver", 6);
    int len = sk_value_end(&w);
    ASSERT_TRUE(len > 0);
    struct sk_value_field f;
    ASSERT_EQ_INT(sk_value_get(buf, (size_t)len, "token", &f), 0);
    ASSERT_EQ_INT(sk_value_get(buf, (size_t)len, "holde", &f), 0);
    ASSERT_EQ_INT(sk_value_get(buf, (size_t)len, "holders", &f), 0);
    ASSERT_EQ_INT(sk_value_get(buf, (size_t)len, "", &f), 0);
    /* empty bytes: a free lock, no fields at all, and valid */
    ASSERT_EQ_INT(sk_value_get(buf, 0, "holder", &f), 0);
    ASSERT_EQ_INT(sk_value_validate(buf, 0), 0);
    /* an empty table */
    sk_value_begin(&w, buf, sizeof buf);
    len = sk_value_end(&w);
    ASSERT_EQ_INT(len, 6);
    ASSERT_EQ_INT(sk_value_validate(buf, (size_t)len), 0);
    ASSERT_EQ_INT(sk_value_get(buf, (size_t)len, "holder", &f), 0);
}

TEST(writer_refuses_a_buffer_too_small)
{
    struct sk_value_writer w;
    uint8_t small[16];
    sk_value_begin(&w, small, sizeof small);
    sk_value_put_str(&w, "holder", (const uint8_t *)"beaver", 6); /* 6 + 8 + 8 bytes */
    ASSERT_EQ_INT(sk_value_end(&w), SK_ENOSPACE);
    sk_value_begin(&w, small, 3); /* not even the count slot */
    ASSERT_EQ_INT(sk_value_end(&w), SK_ENOSPACE);
    /* an exact fit works: 6 + (1+1+1) + (1+1+1) */
    sk_value_begin(&w, small, 12);
    sk_value_put_str(&w, "a", (const uint8_t *)"b", 1);
    ASSERT_EQ_INT(sk_value_end(&w), 12);
}

/* Hand-encoded values the writer cannot produce. */
TEST(reader_other_tags_and_non_minimal_varints)
{
    /* {d = 1.5, f = false, t = true, z = {}} */
    static const uint8_t v[] = {'m', 4,   's', 1,   'd', 'd', 0x3f, 0xf8, 0, 0,   0, 0, 0,
                                0,   's', 1,   'f', 'f', 's', 1,    't',  't', 's', 1, 'z',
                                'm', 0};
    ASSERT_EQ_INT(sk_value_validate(v, sizeof v), 0);
    struct sk_value_field f;
    ASSERT_EQ_INT(sk_value_get(v, sizeof v, "d", &f), 1);
    ASSERT_EQ_INT(f.tag, 'd');
    ASSERT_TRUE(f.d == 1.5);
    ASSERT_EQ_INT(sk_value_get(v, sizeof v, "f", &f), 1);
    ASSERT_EQ_INT(f.tag, 'f');
    ASSERT_EQ_INT(sk_value_get(v, sizeof v, "t", &f), 1);
    ASSERT_EQ_INT(f.tag, 't');
    ASSERT_EQ_INT(sk_value_get(v, sizeof v, "z", &f), 1);
    ASSERT_EQ_INT(f.tag, 'm');
    ASSERT_EQ_INT(f.s_len, 2); /* the nested encoding itself */
    ASSERT_MEM_EQ(f.s, "m\0", 2);

    /* count 1 as 0x81 0x00, and 300 (zigzag 600) as 0xd8 0x84 0x00: both
     * non-minimal varints, which readers accept */
    static const uint8_t nm[] = {'m', 0x81, 0x00, 's', 1, 'x', 'i', 0xd8, 0x84, 0x00};
    ASSERT_EQ_INT(sk_value_validate(nm, sizeof nm), 0);
    ASSERT_EQ_INT(sk_value_get(nm, sizeof nm, "x", &f), 1);
    ASSERT_EQ_INT(f.i, 300);
    /* a lock state is a table: top-level scalars are refused */
    ASSERT_EQ_INT(sk_value_validate((const uint8_t *)"n", 1), SK_EFRAME);
    ASSERT_EQ_INT(sk_value_validate((const uint8_t *)"s\x02hi", 4), SK_EFRAME);
}

TEST(reader_non_table_is_refused_by_get)
{
    struct sk_value_field f;
    ASSERT_EQ_INT(sk_value_get((const uint8_t *)"s\x01x", 3, "x", &f), SK_EFRAME);
    ASSERT_EQ_INT(sk_value_get((const uint8_t *)"i\x02", 2, "x", &f), SK_EFRAME);
    /* a table whose items are broken before the wanted field */
    ASSERT_EQ_INT(sk_value_get((const uint8_t *)"m\x01s\x05", 4, "x", &f), SK_EFRAME);
    ASSERT_EQ_INT(sk_value_get((const uint8_t *)"m", 1, "x", &f), SK_EFRAME);
}

struct broken {
    const char *why;  /* what the case shows */
    const char *says; /* what the checker's reason must contain */
    const char *bytes;
    size_t len;
};

#define BROKEN(why, says, lit) {why, says, lit, sizeof lit - 1}
/* a table {k = <item>} around a broken item */
#define IN_K "m\x01s\x01k"

TEST(validate_refuses_broken_encodings)
{
    static const struct broken cases[] = {
        BROKEN("bad tag", "must be a table", "x"),
        BROKEN("bad tag inside a table", "unknown tag", IN_K "?"),
        BROKEN("upper-case tag", "must be a table", "S\x01k"),
        BROKEN("truncated varint", "cut short", IN_K "i\x80"),
        BROKEN("truncated varint, several bytes", "cut short", IN_K "i\xff\xff\xff"),
        BROKEN("varint longer than 64 bits", "wider than 64 bits",
               IN_K "i\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01"),
        BROKEN("varint whose tenth byte overflows", "wider than 64 bits",
               IN_K "i\x80\x80\x80\x80\x80\x80\x80\x80\x80\x02"),
        BROKEN("varint missing", "cut short", IN_K "i"),
        BROKEN("string longer than the buffer", "longer than the bytes left", IN_K "s\x05" "abc"),
        BROKEN("string length huge", "longer than the bytes left",
               IN_K "s\xff\xff\xff\xff\xff\xff\xff\xff\x7f" "abc"),
        BROKEN("string length missing", "cut short", IN_K "s"),
        BROKEN("double short of 8 bytes", "float is cut short", IN_K "d\x3f\xf8\0\0\0\0\0"),
        BROKEN("table count over its items", "cut short", "m\x02s\x01kt"),
        BROKEN("table count huge", "more entries than there are bytes", "m\xff\xff\xff\xff\x0f"),
        BROKEN("table key without a value", "cut short", "m\x01s\x01k"),
        BROKEN("trailing bytes after the value", "left over", "m\x00m\x00"),
        BROKEN("trailing bytes after a table", "left over", "m\x00n"),
        /* well formed, but not data a Lua table can hold */
        BROKEN("a NaN key", "key is NaN", "m\x01" "d\x7f\xf8\0\0\0\0\0\0" "t"),
        BROKEN("a float key", "key is a float", "m\x01" "d\x3f\xf8\0\0\0\0\0\0" "t"),
        BROKEN("a nil key", "key is a nil", "m\x01nt"),
        BROKEN("a boolean key", "key is a boolean", "m\x01tt"),
        BROKEN("a table key", "key is a table", "m\x01m\x00t"),
        BROKEN("a nil value", "value is nil", "m\x01s\x01kn"),
        BROKEN("a repeated key", "repeated or out of order", "m\x02s\x01kts\x01kf"),
        BROKEN("string keys out of order", "repeated or out of order", "m\x02s\x01lts\x01kf"),
        BROKEN("a string key before an integer", "repeated or out of order", "m\x02s\x01kti\x02f"),
        BROKEN("integer keys out of order", "repeated or out of order", "m\x02i\x04ti\x02f"),
        BROKEN("a top-level nil", "must be a table", "n"),
        BROKEN("a top-level integer", "not an integer", "i\x02"),
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TEST_CONTEXT("%s", cases[i].why);
        char why[160];
        int rv = sk_value_check((const uint8_t *)cases[i].bytes, cases[i].len, why, sizeof why);
        ASSERT_EQ_INT(rv, SK_EFRAME);
        ASSERT_NOT_NULL(strstr(why, cases[i].says));
        ASSERT_NOT_NULL(strstr(why, "(byte "));
        ASSERT_EQ_INT(sk_value_validate((const uint8_t *)cases[i].bytes, cases[i].len), SK_EFRAME);
    }
    /* what the Lua writer produces passes: integers (negative first) before
     * strings, NaN and infinities as values, nested tables */
    static const uint8_t ok[] = {'m', 4, 'i', 3, 't', 'i', 2, 'f', 's', 1, 'a',
                                 'd', 0x7f, 0xf8, 0, 0, 0, 0, 0, 0, 's', 1, 'b', 'm', 0};
    char why[160];
    ASSERT_EQ_INT(sk_value_check(ok, sizeof ok, why, sizeof why), 0);
    ASSERT_STR_EQ(why, "");
}

/* depth tables, each {k = <next>}, around a true: the true sits at depth
 * `depth` (the outer table is depth 0). */
static size_t nested(uint8_t *out, int depth)
{
    size_t n = 0;
    for (int i = 0; i < depth; i++) {
        out[n++] = 'm';
        out[n++] = 1;
        out[n++] = 's';
        out[n++] = 1;
        out[n++] = 'k';
    }
    out[n++] = 't';
    return n;
}

TEST(validate_limits_nesting_to_16)
{
    size_t n = nested(buf, 16);
    ASSERT_EQ_INT(sk_value_validate(buf, n), 0);
    n = nested(buf, 17);
    ASSERT_EQ_INT(sk_value_validate(buf, n), SK_EFRAME);
    /* very deep input is refused without exhausting the stack */
    n = nested(buf, 1000);
    ASSERT_EQ_INT(sk_value_validate(buf, n), SK_EFRAME);
    /* get only looks one level down, so deep values under other keys do
     * not stop it from finding a field */
    struct sk_value_field f;
    n = nested(buf, 16);
    ASSERT_EQ_INT(sk_value_get(buf, n, "k", &f), 1);
    ASSERT_EQ_INT(f.tag, 'm');
}

TEST(validate_accepts_every_prefix_only_when_complete)
{
    /* a well-formed value is refused at every strict prefix: no prefix of
     * an encoding is itself a complete value of a table */
    struct sk_value_writer w;
    sk_value_begin(&w, buf, sizeof buf);
    sk_value_put_str(&w, "holder", (const uint8_t *)"beaver", 6);
    sk_value_put_int(&w, "token", INT64_MIN);
    int len = sk_value_end(&w);
    ASSERT_TRUE(len > 0);
    for (int i = 1; i < len; i++) {
        TEST_CONTEXT("prefix of %d bytes", i);
        ASSERT_EQ_INT(sk_value_validate(buf, (size_t)i), SK_EFRAME);
    }
    TEST_CONTEXT("whole");
    ASSERT_EQ_INT(sk_value_validate(buf, (size_t)len), 0);
}

/* ------------------------------------------- JSON (skinnyctl status --json) */

/* sk_value_json into a string (the fixed-buffer sink), checking what it
 * returned. */
static char json_out[4096];
#define JSON_OF(v, len, want_rv)                                                            \
    do {                                                                                    \
        int json_rv = sk_value_json_text((v), (len), json_out, sizeof json_out);            \
        ASSERT_EQ_INT(json_rv, (want_rv));                                                  \
    } while (0)

TEST(json_of_a_flat_state_and_of_free)
{
    struct sk_value_writer w;
    sk_value_begin(&w, buf, sizeof buf);
    sk_value_put_str(&w, "holder", (const uint8_t *)"beaver", 6);
    sk_value_put_int(&w, "token", 257);
    int len = sk_value_end(&w);
    JSON_OF(buf, (size_t)len, 0);
    ASSERT_STR_EQ(json_out, "{\"holder\":\"beaver\",\"token\":257}");
    JSON_OF(NULL, 0, 0);
    ASSERT_STR_EQ(json_out, "null");
}

TEST(json_nested_tables_integer_keys_floats_and_booleans)
{
    /* {[1] = "beaver", [-2] = true, holders = {[1] = "otter"}, x = 1.5,
     * nan = 0/0, big = 1e300}; integer keys first, then strings bytewise */
    static const uint8_t v[] = {
        'm', 6,
        'i', 0x03, 't',                                    /* -2 = true */
        'i', 0x02, 's', 6, 'b', 'e', 'a', 'v', 'e', 'r',   /* 1 = "beaver" */
        's', 3, 'b', 'i', 'g', 'd', 0x7e, 0x37, 0xe4, 0x3c, 0x88, 0x00, 0x75, 0x9c,
        's', 7, 'h', 'o', 'l', 'd', 'e', 'r', 's',
        'm', 1, 'i', 0x02, 's', 5, 'o', 't', 't', 'e', 'r',
        's', 3, 'n', 'a', 'n', 'd', 0x7f, 0xf8, 0, 0, 0, 0, 0, 0,
        's', 1, 'x', 'd', 0x3f, 0xf8, 0, 0, 0, 0, 0, 0,
    };
    ASSERT_EQ_INT(sk_value_validate(v, sizeof v), 0);
    JSON_OF(v, sizeof v, 0);
    ASSERT_STR_EQ(json_out, "{\"-2\":true,\"1\":\"beaver\",\"big\":1.0000000000000001e+300,"
                  "\"holders\":{\"1\":\"otter\"},\"nan\":null,\"x\":1.5}");
}

TEST(json_strings_are_escaped_and_invalid_utf8_becomes_latin1_escapes)
{
    /* {s = "a\"b\\c\n\x01\x7f é \xff\xc3"}: quote, backslash, control
     * characters and DEL escaped; é (valid UTF-8) kept; a lone \xff and a
     * cut sequence \xc3 at the end escaped byte by byte */
    static const uint8_t v[] = {'m', 1, 's', 1, 's', 's', 15, 'a', '"', 'b', '\\', 'c', '\n',
                                0x01, 0x7f, ' ', 0xc3, 0xa9, ' ', 0xff, 0xc3, 'd'};
    ASSERT_EQ_INT(sk_value_validate(v, sizeof v), 0);
    JSON_OF(v, sizeof v, 0);
    ASSERT_STR_EQ(json_out, "{\"s\":\"a\\\"b\\\\c\\u000a\\u0001\\u007f \xc3\xa9 \\u00ff\\u00c3d\"}");
    /* a surrogate (ED A0 80) and an overlong '/' (C0 AF) are not UTF-8 */
    static const uint8_t w[] = {'m', 1, 's', 1, 's', 's', 5, 0xed, 0xa0, 0x80, 0xc0, 0xaf};
    JSON_OF(w, sizeof w, 0);
    ASSERT_STR_EQ(json_out, "{\"s\":\"\\u00ed\\u00a0\\u0080\\u00c0\\u00af\"}");
}

TEST(json_refuses_what_is_not_a_lock_state_and_cuts_at_the_buffer)
{
    /* not data: a bare integer, a truncated table, a float key */
    static const uint8_t bare[] = {'i', 2};
    static const uint8_t cut[] = {'m', 2, 's', 1, 'a'};
    static const uint8_t fkey[] = {'m', 1, 'd', 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 't'};
    JSON_OF(bare, sizeof bare, SK_EFRAME);
    ASSERT_STR_EQ(json_out, "");
    JSON_OF(cut, sizeof cut, SK_EFRAME);
    ASSERT_STR_EQ(json_out, "");
    JSON_OF(fkey, sizeof fkey, SK_EFRAME);
    ASSERT_STR_EQ(json_out, "");
    struct sk_value_writer w;
    sk_value_begin(&w, buf, sizeof buf);
    sk_value_put_str(&w, "holder", (const uint8_t *)"beaver", 6);
    int len = sk_value_end(&w);
    char small[10];
    ASSERT_EQ_INT(sk_value_json_text(buf, (size_t)len, small, sizeof small), SK_ENOSPACE);
    ASSERT_STR_EQ(small, "{\"holder\"");
}

/* ----------------------------------------------- descriptions (sk_describe) */

/* A register value: an empty envelope (no sessions) around state. */
static size_t reg_value(uint8_t *out, const uint8_t *state, size_t len)
{
    memset(out, 0, 11);
    out[0] = 'S';
    memcpy(out + 11, state, len);
    return 11 + len;
}

static struct sk_hook_ctx describe_ctx(void)
{
    static struct sk_rng rng = {1};
    struct sk_hook_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.node_id = 1;
    ctx.node_name = "catbus";
    ctx.cluster_size = 3;
    ctx.rng = &rng;
    ctx.key = (const uint8_t *)"printer";
    ctx.key_len = 7;
    return ctx;
}

TEST(default_description_free_held_and_a_state_it_does_not_know)
{
    struct sk_hook_ctx ctx = describe_ctx();
    char out[SK_DESCRIBE_MAX];
    uint8_t reg[512];
    ASSERT_EQ_INT(sk_describe(NULL, &ctx, NULL, 0, out, sizeof out), 0);
    ASSERT_STR_EQ(out, "free");
    struct sk_value_writer w;
    sk_value_begin(&w, buf, sizeof buf);
    sk_value_put_str(&w, "holder", (const uint8_t *)"beaver", 6);
    sk_value_put_int(&w, "token", 257);
    int len = sk_value_end(&w);
    size_t n = reg_value(reg, buf, (size_t)len);
    ASSERT_EQ_INT(sk_describe(&sk_strategy_default, &ctx, reg, n, out, sizeof out), 0);
    ASSERT_STR_EQ(out, "held by beaver (token 257)");
    /* a semaphore's {holders = {"beaver", "otter"}} is not free */
    static const uint8_t sem[] = {'m', 1, 's', 7, 'h', 'o', 'l', 'd', 'e', 'r', 's',
                                  'm', 2, 'i', 2, 's', 1, 'b', 'i', 4, 's', 1, 'o'};
    n = reg_value(reg, sem, sizeof sem);
    ASSERT_EQ_INT(sk_describe(NULL, &ctx, reg, n, out, sizeof out), 0);
    ASSERT_STR_EQ(out, "state {\"holders\":{\"1\":\"b\",\"2\":\"o\"}}");
    /* too long for the room: cut with "..." */
    char small[16];
    ASSERT_EQ_INT(sk_describe(NULL, &ctx, reg, n, small, sizeof small), 0);
    ASSERT_STR_EQ(small, "state {\"hold...");
    /* a holder with a newline is one line of text */
    sk_value_begin(&w, buf, sizeof buf);
    sk_value_put_str(&w, "holder", (const uint8_t *)"bea\nver", 7);
    len = sk_value_end(&w);
    n = reg_value(reg, buf, (size_t)len);
    ASSERT_EQ_INT(sk_describe(NULL, &ctx, reg, n, out, sizeof out), 0);
    ASSERT_STR_EQ(out, "held by bea ver");
}

static int describe_fails(void *ud, struct sk_hook_ctx *ctx, const uint8_t *state, size_t len,
                          char *out, size_t cap)
{
    (void)ud;
    (void)state;
    (void)len;
    snprintf(out, cap, "half written");
    snprintf(ctx->errmsg, SK_ERRMSG_LEN, "mine.lua:3: no description for you");
    return SK_EHOOK;
}

static int describe_long(void *ud, struct sk_hook_ctx *ctx, const uint8_t *state, size_t len,
                         char *out, size_t cap)
{
    (void)ud;
    (void)ctx;
    (void)state;
    (void)len;
    /* fills the room with 2-byte characters, then snprintf cuts the last */
    memset(out, 0, cap);
    for (size_t i = 0; i + 2 < cap; i += 2) {
        out[i] = (char)0xc3;
        out[i + 1] = (char)0xa9;
    }
    out[cap - 2] = (char)0xc3;
    return 0;
}

TEST(a_failing_describe_falls_back_to_the_default_and_says_why)
{
    struct sk_hook_ctx ctx = describe_ctx();
    struct sk_strategy st = sk_strategy_default;
    st.describe_lock = describe_fails;
    char out[SK_DESCRIBE_MAX];
    ASSERT_EQ_INT(sk_describe(&st, &ctx, NULL, 0, out, sizeof out), SK_EHOOK);
    ASSERT_STR_EQ(out, "free (describe failed: mine.lua:3: no description for you)");
    /* a description cut inside a UTF-8 sequence loses the partial one */
    st.describe_lock = describe_long;
    ASSERT_EQ_INT(sk_describe(&st, &ctx, NULL, 0, out, sizeof out), 0);
    ASSERT_EQ_INT(strlen(out), sizeof out - 2);
    ASSERT_EQ_INT((unsigned char)out[strlen(out) - 1], 0xa9);
}

TEST(describe_of_a_value_that_is_not_readable_says_so)
{
    struct sk_hook_ctx ctx = describe_ctx();
    char out[SK_DESCRIBE_MAX];
    static const uint8_t junk[] = {'X', 1, 2};
    ASSERT_EQ_INT(sk_describe(NULL, &ctx, junk, sizeof junk, out, sizeof out), SK_EFRAME);
    ASSERT_STR_EQ(out, "unreadable value: not a register value");
    uint8_t reg[64];
    static const uint8_t bare[] = {'i', 2};
    size_t n = reg_value(reg, bare, sizeof bare);
    ASSERT_EQ_INT(sk_describe(NULL, &ctx, reg, n, out, sizeof out), SK_EFRAME);
    ASSERT_TRUE(strncmp(out, "unreadable value: a lock state must be a table", 46) == 0);
}
