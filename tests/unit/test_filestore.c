/* test_filestore.c - the durable acceptor log: write, reopen, torn tail,
 * corrupt middle batch, compaction. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner.h"
#include "sk.h"
#include "store/filestore.h"

static char dir[256];
static char logpath[300];

static void fresh_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/sk_fs_test.XXXXXX");
    if (mkdtemp(dir) == NULL) {
        abort();
    }
    snprintf(logpath, sizeof logpath, "%s/acceptor.log", dir);
}

static void rm_dir(void)
{
    unlink(logpath);
    char tmp[320];
    snprintf(tmp, sizeof tmp, "%s.tmp", logpath);
    unlink(tmp);
    rmdir(dir);
}

static struct sk_persist rec(const char *key, uint64_t pr, uint64_t ar, const char *value)
{
    struct sk_persist p = {0};
    p.key = (const uint8_t *)key;
    p.key_len = (uint32_t)strlen(key);
    p.promised = (struct sk_ballot){pr, 1};
    p.accepted = (struct sk_ballot){ar, 2};
    p.value = (const uint8_t *)value;
    p.value_len = value ? (uint32_t)strlen(value) : 0;
    return p;
}

static const struct sk_filestore_opts fast = {.no_sync = true};

/* find key in the store; returns false when absent */
static bool lookup(struct sk_filestore *fs, const char *key, struct sk_persist *out)
{
    size_t cur = 0;
    while (sk_filestore_next(fs, &cur, out)) {
        if (out->key_len == strlen(key) && memcmp(out->key, key, out->key_len) == 0) {
            return true;
        }
    }
    return false;
}

static off_t file_size(void)
{
    struct stat st;
    return stat(logpath, &st) == 0 ? st.st_size : -1;
}

TEST(crc32_known_vector)
{
    ASSERT_EQ_U64(sk_crc32(0, "123456789", 9), 0xcbf43926u);
}

TEST(filestore_write_reopen_last_wins)
{
    char err[512];
    struct sk_filestore *fs;
    fresh_dir();
    ASSERT_EQ_INT(sk_filestore_open(&fs, dir, NULL, err, sizeof err), 0);
    ASSERT_EQ_INT(sk_filestore_count(fs), 0);
    struct sk_persist b1[2] = {rec("printer", 3, 0, NULL), rec("door", 1, 1, "x")};
    ASSERT_EQ_INT(sk_filestore_append(fs, b1, 2), 0);
    struct sk_persist b2[1] = {rec("printer", 5, 5, "held")};
    ASSERT_EQ_INT(sk_filestore_append(fs, b2, 1), 0);
    sk_filestore_close(fs);

    ASSERT_EQ_INT(sk_filestore_open(&fs, dir, NULL, err, sizeof err), 0);
    ASSERT_STR_EQ(sk_filestore_notice(fs), "");
    ASSERT_EQ_INT(sk_filestore_count(fs), 2);
    struct sk_persist p;
    ASSERT_TRUE(lookup(fs, "printer", &p));
    ASSERT_EQ_U64(p.promised.round, 5);
    ASSERT_EQ_U64(p.accepted.round, 5);
    ASSERT_EQ_INT(p.accepted.node, 2);
    ASSERT_EQ_INT(p.value_len, 4);
    ASSERT_MEM_EQ(p.value, "held", 4);
    ASSERT_TRUE(lookup(fs, "door", &p));
    ASSERT_EQ_U64(p.promised.round, 1);
    sk_filestore_close(fs);
    rm_dir();
}

TEST(filestore_torn_tail_is_reported_and_truncated)
{
    char err[512];
    struct sk_filestore *fs;
    fresh_dir();
    ASSERT_EQ_INT(sk_filestore_open(&fs, dir, &fast, err, sizeof err), 0);
    struct sk_persist a = rec("k", 7, 0, NULL);
    ASSERT_EQ_INT(sk_filestore_append(fs, &a, 1), 0);
    off_t good = file_size();
    struct sk_persist b = rec("k", 9, 9, "value");
    ASSERT_EQ_INT(sk_filestore_append(fs, &b, 1), 0);
    off_t full = file_size();
    sk_filestore_close(fs);
    /* cut the second batch in half: a crash mid-write */
    ASSERT_EQ_INT(truncate(logpath, good + (full - good) / 2), 0);

    ASSERT_EQ_INT(sk_filestore_open(&fs, dir, &fast, err, sizeof err), 0);
    const char *n = sk_filestore_notice(fs);
    ASSERT_TRUE(strstr(n, "acceptor.log") != NULL);
    char off[32];
    snprintf(off, sizeof off, "offset %lld", (long long)good);
    ASSERT_TRUE(strstr(n, off) != NULL);
    struct sk_persist p;
    ASSERT_TRUE(lookup(fs, "k", &p));
    ASSERT_EQ_U64(p.promised.round, 7); /* the torn batch is not believed */
    ASSERT_EQ_INT(file_size(), good);   /* and is gone from the file */
    /* appending after recovery works and survives a reopen */
    ASSERT_EQ_INT(sk_filestore_append(fs, &b, 1), 0);
    sk_filestore_close(fs);
    ASSERT_EQ_INT(sk_filestore_open(&fs, dir, &fast, err, sizeof err), 0);
    ASSERT_STR_EQ(sk_filestore_notice(fs), "");
    ASSERT_TRUE(lookup(fs, "k", &p));
    ASSERT_EQ_U64(p.promised.round, 9);
    sk_filestore_close(fs);
    rm_dir();
}

TEST(filestore_flipped_bit_in_tail_is_not_believed)
{
    char err[512];
    struct sk_filestore *fs;
    fresh_dir();
    ASSERT_EQ_INT(sk_filestore_open(&fs, dir, &fast, err, sizeof err), 0);
    struct sk_persist a = rec("k", 7, 0, NULL);
    ASSERT_EQ_INT(sk_filestore_append(fs, &a, 1), 0);
    struct sk_persist b = rec("k", 900, 0, NULL);
    ASSERT_EQ_INT(sk_filestore_append(fs, &b, 1), 0);
    sk_filestore_close(fs);
    off_t size = file_size();
    int fd = open(logpath, O_RDWR);
    ASSERT_TRUE(fd >= 0);
    uint8_t byte;
    ASSERT_EQ_INT(pread(fd, &byte, 1, size - 3), 1);
    byte ^= 0x10;
    ASSERT_EQ_INT(pwrite(fd, &byte, 1, size - 3), 1);
    close(fd);
    ASSERT_EQ_INT(sk_filestore_open(&fs, dir, &fast, err, sizeof err), 0);
    ASSERT_TRUE(strstr(sk_filestore_notice(fs), "corrupt tail") != NULL);
    struct sk_persist p;
    ASSERT_TRUE(lookup(fs, "k", &p));
    ASSERT_EQ_U64(p.promised.round, 7);
    sk_filestore_close(fs);
    rm_dir();
}

TEST(filestore_corrupt_middle_refuses_to_open)
{
    char err[512];
    struct sk_filestore *fs;
    fresh_dir();
    ASSERT_EQ_INT(sk_filestore_open(&fs, dir, &fast, err, sizeof err), 0);
    struct sk_persist a = rec("k", 7, 0, NULL);
    ASSERT_EQ_INT(sk_filestore_append(fs, &a, 1), 0);
    off_t second = file_size();
    struct sk_persist b = rec("k", 8, 0, NULL);
    ASSERT_EQ_INT(sk_filestore_append(fs, &b, 1), 0);
    struct sk_persist c = rec("k", 9, 0, NULL);
    ASSERT_EQ_INT(sk_filestore_append(fs, &c, 1), 0);
    sk_filestore_close(fs);
    int fd = open(logpath, O_RDWR);
    ASSERT_TRUE(fd >= 0);
    uint8_t byte = 0xff;
    ASSERT_EQ_INT(pwrite(fd, &byte, 1, second + 14), 1);
    close(fd);
    err[0] = 0;
    ASSERT_EQ_INT(sk_filestore_open(&fs, dir, &fast, err, sizeof err), SK_ECORRUPT);
    ASSERT_NULL(fs);
    ASSERT_TRUE(strstr(err, "acceptor.log") != NULL);
    char off[32];
    snprintf(off, sizeof off, "offset %lld", (long long)second);
    ASSERT_TRUE(strstr(err, off) != NULL);
    rm_dir();
}

TEST(filestore_compaction_keeps_live_state)
{
    char err[512];
    struct sk_filestore *fs;
    fresh_dir();
    struct sk_filestore_opts o = {.no_sync = true, .compact_ratio = 2, .min_compact = 1024};
    ASSERT_EQ_INT(sk_filestore_open(&fs, dir, &o, err, sizeof err), 0);
    char key[16];
    for (uint64_t i = 1; i <= 500; i++) {
        snprintf(key, sizeof key, "lock%d", (int)(i % 5));
        struct sk_persist p = rec(key, i, i, "state");
        ASSERT_EQ_INT(sk_filestore_append(fs, &p, 1), 0);
    }
    struct sk_filestore_stats st;
    sk_filestore_stats(fs, &st);
    ASSERT_TRUE(st.compactions > 0);
    ASSERT_TRUE(st.file_bytes <= 2 * (st.live_bytes + 12) + 1024);
    sk_filestore_close(fs);
    ASSERT_EQ_INT(sk_filestore_open(&fs, dir, &o, err, sizeof err), 0);
    ASSERT_EQ_INT(sk_filestore_count(fs), 5);
    struct sk_persist p;
    ASSERT_TRUE(lookup(fs, "lock0", &p));
    ASSERT_EQ_U64(p.promised.round, 500);
    ASSERT_TRUE(lookup(fs, "lock1", &p));
    ASSERT_EQ_U64(p.promised.round, 496);
    sk_filestore_close(fs);
    rm_dir();
}

TEST(filestore_missing_dir_is_named)
{
    char err[512];
    struct sk_filestore *fs;
    ASSERT_EQ_INT(sk_filestore_open(&fs, "/nonexistent/skinny", NULL, err, sizeof err), SK_EIO);
    ASSERT_TRUE(strstr(err, "/nonexistent/skinny") != NULL);
}
