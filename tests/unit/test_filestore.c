/* test_filestore.c - the durable acceptor log: write, reopen, torn tail,
 * flipped bit, corrupt middle batch, malformed records, compaction.
 *
 * The store keeps no records of its own: loading hands them to a callback
 * and compaction reads the live ones from an iterator. Here both are backed
 * by a small table (struct mirror) standing in for the core's registers:
 * the test updates it with every record it appends, as the core holds a
 * register's state before the daemon persists it. */
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

/* ---------------------------------------------------------- the "core" */

#define MIRROR_MAX 4096

struct mrec {
    char key[40];
    uint32_t key_len;
    struct sk_ballot promised, accepted;
    uint8_t value[96];
    uint32_t value_len;
};

struct mirror {
    struct mrec r[MIRROR_MAX];
    size_t n;
    size_t loads;  /* records the load callback was given */
    int fail_load; /* return this from the load callback (0: succeed) */
};

static struct mirror M;

static struct mrec *mirror_find(struct mirror *m, const char *key, size_t len)
{
    for (size_t i = 0; i < m->n; i++) {
        if (m->r[i].key_len == len && memcmp(m->r[i].key, key, len) == 0) {
            return &m->r[i];
        }
    }
    return NULL;
}

/* Overwrite the key's register, as sk_node_restore does. */
static void mirror_put(struct mirror *m, const struct sk_persist *p)
{
    struct mrec *r = mirror_find(m, (const char *)p->key, p->key_len);
    if (r == NULL) {
        if (m->n == MIRROR_MAX || p->key_len > sizeof r->key) {
            abort();
        }
        r = &m->r[m->n++];
        memcpy(r->key, p->key, p->key_len);
        r->key_len = p->key_len;
    }
    if (p->value_len > sizeof r->value) {
        abort();
    }
    r->promised = p->promised;
    r->accepted = p->accepted;
    if (p->value_len) {
        memcpy(r->value, p->value, p->value_len);
    }
    r->value_len = p->value_len;
}

static int m_load(void *ctx, const struct sk_persist *p)
{
    struct mirror *m = ctx;
    if (m->fail_load) {
        return m->fail_load;
    }
    m->loads++;
    mirror_put(m, p);
    return 0;
}

static bool m_live(void *ctx, size_t *cursor, struct sk_persist *out)
{
    struct mirror *m = ctx;
    if (*cursor >= m->n) {
        return false;
    }
    const struct mrec *r = &m->r[(*cursor)++];
    out->key = (const uint8_t *)r->key;
    out->key_len = r->key_len;
    out->promised = r->promised;
    out->accepted = r->accepted;
    out->value = r->value_len ? r->value : NULL;
    out->value_len = r->value_len;
    return true;
}

static const struct sk_filestore_source src = {m_load, m_live, &M};

/* Open with an empty mirror, which the log is then replayed into. */
static int open_fs(struct sk_filestore **fs, const struct sk_filestore_opts *o, char *err,
                   size_t errlen)
{
    memset(&M, 0, sizeof M);
    return sk_filestore_open(fs, dir, o, &src, err, errlen);
}

/* The core changes its register, then the daemon persists it. */
static int append(struct sk_filestore *fs, const struct sk_persist *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        mirror_put(&M, &p[i]);
    }
    return sk_filestore_append(fs, p, n);
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

static const struct mrec *lookup(const char *key)
{
    return mirror_find(&M, key, strlen(key));
}

static off_t file_size(void)
{
    struct stat st;
    return stat(logpath, &st) == 0 ? st.st_size : -1;
}

/* ---------------------------------------------------------------- tests */

TEST(crc32_known_vector)
{
    ASSERT_EQ_U64(sk_crc32(0, "123456789", 9), 0xcbf43926u);
    const char *fox = "The quick brown fox jumps over the lazy dog";
    ASSERT_EQ_U64(sk_crc32(0, fox, strlen(fox)), 0x414fa339u);
    /* incremental, as zlib */
    ASSERT_EQ_U64(sk_crc32(sk_crc32(0, fox, 10), fox + 10, strlen(fox) - 10), 0x414fa339u);
}

TEST(filestore_write_reopen_last_wins)
{
    char err[512];
    struct sk_filestore *fs;
    fresh_dir();
    ASSERT_EQ_INT(open_fs(&fs, NULL, err, sizeof err), 0);
    ASSERT_EQ_INT(M.loads, 0);
    struct sk_persist b1[2] = {rec("printer", 3, 0, NULL), rec("door", 1, 1, "x")};
    ASSERT_EQ_INT(append(fs, b1, 2), 0);
    struct sk_persist b2[1] = {rec("printer", 5, 5, "held")};
    ASSERT_EQ_INT(append(fs, b2, 1), 0);
    struct sk_filestore_stats st;
    sk_filestore_stats(fs, &st);
    ASSERT_EQ_U64(st.records, 3);
    ASSERT_EQ_U64(st.batches, 2);
    ASSERT_EQ_U64(st.file_bytes, (uint64_t)file_size());
    sk_filestore_close(fs);

    ASSERT_EQ_INT(open_fs(&fs, NULL, err, sizeof err), 0);
    ASSERT_STR_EQ(sk_filestore_notice(fs), "");
    ASSERT_EQ_INT(M.loads, 3); /* every record, in log order */
    ASSERT_EQ_INT(M.n, 2);
    const struct mrec *p = lookup("printer");
    ASSERT_NOT_NULL(p);
    ASSERT_EQ_U64(p->promised.round, 5);
    ASSERT_EQ_U64(p->accepted.round, 5);
    ASSERT_EQ_INT(p->accepted.node, 2);
    ASSERT_EQ_INT(p->value_len, 4);
    ASSERT_MEM_EQ(p->value, "held", 4);
    p = lookup("door");
    ASSERT_NOT_NULL(p);
    ASSERT_EQ_U64(p->promised.round, 1);
    sk_filestore_stats(fs, &st);
    ASSERT_EQ_U64(st.live_records, 2); /* measured with the live iterator */
    ASSERT_EQ_U64(st.live_bytes, (30 + 7 + 4) + (30 + 4 + 1));
    sk_filestore_close(fs);
    rm_dir();
}

TEST(filestore_torn_tail_is_reported_and_truncated)
{
    char err[512];
    struct sk_filestore *fs;
    fresh_dir();
    ASSERT_EQ_INT(open_fs(&fs, &fast, err, sizeof err), 0);
    struct sk_persist a = rec("k", 7, 0, NULL);
    ASSERT_EQ_INT(append(fs, &a, 1), 0);
    off_t good = file_size();
    struct sk_persist b = rec("k", 9, 9, "value");
    ASSERT_EQ_INT(append(fs, &b, 1), 0);
    off_t full = file_size();
    sk_filestore_close(fs);
    /* cut the second batch in half: a crash mid-write */
    ASSERT_EQ_INT(truncate(logpath, good + (full - good) / 2), 0);

    ASSERT_EQ_INT(open_fs(&fs, &fast, err, sizeof err), 0);
    const char *n = sk_filestore_notice(fs);
    ASSERT_TRUE(strstr(n, "acceptor.log") != NULL);
    char off[32];
    snprintf(off, sizeof off, "offset %lld", (long long)good);
    ASSERT_TRUE(strstr(n, off) != NULL);
    const struct mrec *p = lookup("k");
    ASSERT_NOT_NULL(p);
    ASSERT_EQ_U64(p->promised.round, 7); /* the torn batch is not believed */
    ASSERT_EQ_INT(M.loads, 1);
    ASSERT_EQ_INT(file_size(), good); /* and is gone from the file */
    /* appending after recovery works and survives a reopen */
    ASSERT_EQ_INT(append(fs, &b, 1), 0);
    sk_filestore_close(fs);
    ASSERT_EQ_INT(open_fs(&fs, &fast, err, sizeof err), 0);
    ASSERT_STR_EQ(sk_filestore_notice(fs), "");
    p = lookup("k");
    ASSERT_NOT_NULL(p);
    ASSERT_EQ_U64(p->promised.round, 9);
    sk_filestore_close(fs);
    rm_dir();
}

TEST(filestore_torn_header_is_a_tail_too)
{
    char err[512];
    struct sk_filestore *fs;
    fresh_dir();
    ASSERT_EQ_INT(open_fs(&fs, &fast, err, sizeof err), 0);
    struct sk_persist a = rec("k", 7, 0, NULL);
    ASSERT_EQ_INT(append(fs, &a, 1), 0);
    off_t good = file_size();
    sk_filestore_close(fs);
    int fd = open(logpath, O_WRONLY | O_APPEND);
    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ_INT(write(fd, "SKB", 3), 3); /* 3 bytes of the next header */
    close(fd);
    ASSERT_EQ_INT(open_fs(&fs, &fast, err, sizeof err), 0);
    ASSERT_TRUE(strstr(sk_filestore_notice(fs), "tail of 3 bytes") != NULL);
    ASSERT_EQ_INT(file_size(), good);
    ASSERT_EQ_U64(lookup("k")->promised.round, 7);
    sk_filestore_close(fs);
    rm_dir();
}

TEST(filestore_flipped_bit_in_tail_is_not_believed)
{
    char err[512];
    struct sk_filestore *fs;
    fresh_dir();
    ASSERT_EQ_INT(open_fs(&fs, &fast, err, sizeof err), 0);
    struct sk_persist a = rec("k", 7, 0, NULL);
    ASSERT_EQ_INT(append(fs, &a, 1), 0);
    struct sk_persist b = rec("k", 900, 0, NULL);
    ASSERT_EQ_INT(append(fs, &b, 1), 0);
    sk_filestore_close(fs);
    off_t size = file_size();
    int fd = open(logpath, O_RDWR);
    ASSERT_TRUE(fd >= 0);
    uint8_t byte;
    ASSERT_EQ_INT(pread(fd, &byte, 1, size - 3), 1);
    byte ^= 0x10;
    ASSERT_EQ_INT(pwrite(fd, &byte, 1, size - 3), 1);
    close(fd);
    ASSERT_EQ_INT(open_fs(&fs, &fast, err, sizeof err), 0);
    ASSERT_TRUE(strstr(sk_filestore_notice(fs), "corrupt tail") != NULL);
    const struct mrec *p = lookup("k");
    ASSERT_NOT_NULL(p);
    ASSERT_EQ_U64(p->promised.round, 7);
    ASSERT_EQ_INT(M.loads, 1);
    sk_filestore_close(fs);
    rm_dir();
}

TEST(filestore_corrupt_middle_refuses_to_open)
{
    char err[512];
    struct sk_filestore *fs;
    fresh_dir();
    ASSERT_EQ_INT(open_fs(&fs, &fast, err, sizeof err), 0);
    struct sk_persist a = rec("k", 7, 0, NULL);
    ASSERT_EQ_INT(append(fs, &a, 1), 0);
    off_t second = file_size();
    struct sk_persist b = rec("k", 8, 0, NULL);
    ASSERT_EQ_INT(append(fs, &b, 1), 0);
    struct sk_persist c = rec("k", 9, 0, NULL);
    ASSERT_EQ_INT(append(fs, &c, 1), 0);
    sk_filestore_close(fs);
    off_t size = file_size();
    int fd = open(logpath, O_RDWR);
    ASSERT_TRUE(fd >= 0);
    uint8_t byte = 0xff;
    ASSERT_EQ_INT(pwrite(fd, &byte, 1, second + 14), 1);
    close(fd);
    err[0] = 0;
    ASSERT_EQ_INT(open_fs(&fs, &fast, err, sizeof err), SK_ECORRUPT);
    ASSERT_NULL(fs);
    ASSERT_TRUE(strstr(err, "acceptor.log") != NULL);
    char off[32];
    snprintf(off, sizeof off, "offset %lld", (long long)second);
    ASSERT_TRUE(strstr(err, off) != NULL);
    ASSERT_EQ_INT(M.loads, 0);        /* a refused log delivers nothing */
    ASSERT_EQ_INT(file_size(), size); /* and is left as it was */
    rm_dir();
}

TEST(filestore_checksummed_garbage_refuses_to_open)
{
    char err[512];
    struct sk_filestore *fs;
    fresh_dir();
    ASSERT_EQ_INT(open_fs(&fs, &fast, err, sizeof err), 0);
    struct sk_persist a = rec("k", 7, 0, NULL);
    ASSERT_EQ_INT(append(fs, &a, 1), 0);
    off_t second = file_size();
    sk_filestore_close(fs);
    /* a batch with a correct checksum whose body is not records */
    uint8_t batch[12 + 5] = {'S', 'K', 'B', '1', 0, 0, 0, 5};
    memcpy(batch + 12, "hello", 5);
    uint32_t crc = sk_crc32(0, batch + 12, 5);
    for (int i = 0; i < 4; i++) {
        batch[8 + i] = (uint8_t)(crc >> (24 - 8 * i));
    }
    int fd = open(logpath, O_WRONLY | O_APPEND);
    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ_INT(write(fd, batch, sizeof batch), (int)sizeof batch);
    close(fd);
    ASSERT_EQ_INT(open_fs(&fs, &fast, err, sizeof err), SK_ECORRUPT);
    ASSERT_NULL(fs);
    char off[32];
    snprintf(off, sizeof off, "offset %lld", (long long)second);
    ASSERT_TRUE(strstr(err, off) != NULL);
    ASSERT_TRUE(strstr(err, "malformed") != NULL);
    ASSERT_EQ_INT(M.loads, 0);
    rm_dir();
}

TEST(filestore_load_callback_failure_fails_open)
{
    char err[512];
    struct sk_filestore *fs;
    fresh_dir();
    ASSERT_EQ_INT(open_fs(&fs, &fast, err, sizeof err), 0);
    struct sk_persist a = rec("k", 7, 0, NULL);
    ASSERT_EQ_INT(append(fs, &a, 1), 0);
    sk_filestore_close(fs);
    memset(&M, 0, sizeof M);
    M.fail_load = SK_ENOMEM;
    ASSERT_EQ_INT(sk_filestore_open(&fs, dir, &fast, &src, err, sizeof err), SK_ENOMEM);
    ASSERT_NULL(fs);
    ASSERT_TRUE(strstr(err, "acceptor.log") != NULL);
    ASSERT_TRUE(strstr(err, "out of memory") != NULL);
    rm_dir();
}

TEST(filestore_compaction_keeps_live_state)
{
    char err[512];
    struct sk_filestore *fs;
    fresh_dir();
    struct sk_filestore_opts o = {.no_sync = true, .compact_ratio = 2, .min_compact = 1024};
    ASSERT_EQ_INT(open_fs(&fs, &o, err, sizeof err), 0);
    char key[16];
    for (uint64_t i = 1; i <= 500; i++) {
        snprintf(key, sizeof key, "lock%d", (int)(i % 5));
        struct sk_persist p = rec(key, i, i, "state");
        ASSERT_EQ_INT(append(fs, &p, 1), 0);
    }
    struct sk_filestore_stats st;
    sk_filestore_stats(fs, &st);
    ASSERT_TRUE(st.compactions > 0);
    ASSERT_EQ_U64(st.file_bytes, (uint64_t)file_size());
    ASSERT_EQ_U64(st.live_records, 5);
    ASSERT_EQ_U64(st.live_bytes, 5 * (30 + 5 + 5));
    /* at most about one live size past ratio x live before the next one */
    ASSERT_TRUE(st.file_bytes <= 3 * (st.live_bytes + 12) + 1024);
    sk_filestore_close(fs);
    ASSERT_EQ_INT(open_fs(&fs, &o, err, sizeof err), 0);
    ASSERT_STR_EQ(sk_filestore_notice(fs), "");
    ASSERT_EQ_INT(M.n, 5);
    const struct mrec *p = lookup("lock0");
    ASSERT_NOT_NULL(p);
    ASSERT_EQ_U64(p->promised.round, 500);
    p = lookup("lock1");
    ASSERT_NOT_NULL(p);
    ASSERT_EQ_U64(p->promised.round, 496);
    ASSERT_MEM_EQ(p->value, "state", 5);
    sk_filestore_close(fs);
    rm_dir();
}

TEST(filestore_compaction_of_many_locks_writes_bounded_batches)
{
    char err[512];
    struct sk_filestore *fs;
    fresh_dir();
    ASSERT_EQ_INT(open_fs(&fs, &fast, err, sizeof err), 0);
    /* 3000 locks of about 110 bytes each, in batches of 100, twice: a
     * promise, then an accepted value */
    char keys[100][24];
    char value[80];
    memset(value, 'v', sizeof value - 1);
    value[sizeof value - 1] = 0;
    for (int round = 1; round <= 2; round++) {
        for (int b = 0; b < 30; b++) {
            struct sk_persist ps[100];
            for (int i = 0; i < 100; i++) {
                snprintf(keys[i], sizeof keys[i], "lock-%06d", b * 100 + i);
                ps[i] = rec(keys[i], (uint64_t)round, round == 2 ? 2 : 0,
                            round == 2 ? value : NULL);
            }
            ASSERT_EQ_INT(append(fs, ps, 100), 0);
        }
    }
    off_t before = file_size();
    ASSERT_EQ_INT(sk_filestore_compact(fs), 0);
    off_t after = file_size();
    ASSERT_LT_U64((uint64_t)after, (uint64_t)before);
    struct sk_filestore_stats st;
    sk_filestore_stats(fs, &st);
    ASSERT_EQ_U64(st.compactions, 1);
    ASSERT_EQ_U64(st.live_records, 3000);
    ASSERT_EQ_U64(st.file_bytes, (uint64_t)after);
    /* an append after the compaction lands on the new log */
    struct sk_persist last = rec("lock-000007", 3, 3, "last");
    ASSERT_EQ_INT(append(fs, &last, 1), 0);
    sk_filestore_close(fs);

    ASSERT_EQ_INT(open_fs(&fs, &fast, err, sizeof err), 0);
    ASSERT_STR_EQ(sk_filestore_notice(fs), "");
    ASSERT_EQ_INT(M.n, 3000);
    ASSERT_EQ_INT(M.loads, 3001); /* one record per lock, plus the last append */
    sk_filestore_stats(fs, &st);
    /* ~330 KB of live records in batches of at most about 64 KiB */
    ASSERT_TRUE(st.batches >= 6);
    const struct mrec *p = lookup("lock-002999");
    ASSERT_NOT_NULL(p);
    ASSERT_EQ_U64(p->accepted.round, 2);
    ASSERT_EQ_INT(p->value_len, sizeof value - 1);
    p = lookup("lock-000007");
    ASSERT_NOT_NULL(p);
    ASSERT_EQ_U64(p->promised.round, 3);
    ASSERT_MEM_EQ(p->value, "last", 4);
    sk_filestore_close(fs);
    rm_dir();
}

TEST(filestore_leftover_compaction_file_is_ignored)
{
    char err[512];
    struct sk_filestore *fs;
    fresh_dir();
    ASSERT_EQ_INT(open_fs(&fs, &fast, err, sizeof err), 0);
    struct sk_persist a = rec("k", 7, 0, NULL);
    ASSERT_EQ_INT(append(fs, &a, 1), 0);
    sk_filestore_close(fs);
    /* a crash during compaction, before the rename */
    char tmp[320];
    snprintf(tmp, sizeof tmp, "%s.tmp", logpath);
    int fd = open(tmp, O_WRONLY | O_CREAT, 0644);
    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ_INT(write(fd, "SKB1partial", 11), 11);
    close(fd);
    ASSERT_EQ_INT(open_fs(&fs, &fast, err, sizeof err), 0);
    ASSERT_STR_EQ(sk_filestore_notice(fs), "");
    ASSERT_EQ_U64(lookup("k")->promised.round, 7);
    ASSERT_TRUE(access(tmp, F_OK) != 0);
    sk_filestore_close(fs);
    rm_dir();
}

TEST(filestore_without_live_iterator_never_compacts)
{
    char err[512];
    struct sk_filestore *fs;
    fresh_dir();
    struct sk_filestore_opts o = {.no_sync = true, .compact_ratio = 2, .min_compact = 1024};
    ASSERT_EQ_INT(sk_filestore_open(&fs, dir, &o, NULL, err, sizeof err), 0);
    for (uint64_t i = 1; i <= 200; i++) {
        struct sk_persist p = rec("k", i, i, "state");
        ASSERT_EQ_INT(sk_filestore_append(fs, &p, 1), 0);
    }
    struct sk_filestore_stats st;
    sk_filestore_stats(fs, &st);
    ASSERT_EQ_U64(st.compactions, 0);
    ASSERT_EQ_INT(sk_filestore_compact(fs), SK_EINVAL);
    sk_filestore_close(fs);
    /* a NULL load callback only checks the log */
    ASSERT_EQ_INT(sk_filestore_open(&fs, dir, &o, NULL, err, sizeof err), 0);
    sk_filestore_stats(fs, &st);
    ASSERT_EQ_U64(st.records, 200);
    sk_filestore_close(fs);
    /* reopened with a live iterator, a log already past ratio x live is
     * compacted at the next append */
    off_t before = file_size();
    ASSERT_EQ_INT(open_fs(&fs, &o, err, sizeof err), 0);
    ASSERT_EQ_INT(M.n, 1);
    ASSERT_EQ_U64(M.r[0].promised.round, 200);
    struct sk_persist p = rec("k", 201, 201, "state");
    ASSERT_EQ_INT(append(fs, &p, 1), 0);
    sk_filestore_stats(fs, &st);
    ASSERT_EQ_U64(st.compactions, 1);
    ASSERT_LT_U64((uint64_t)file_size(), (uint64_t)before);
    sk_filestore_close(fs);
    ASSERT_EQ_INT(open_fs(&fs, &o, err, sizeof err), 0);
    ASSERT_EQ_U64(lookup("k")->promised.round, 201);
    sk_filestore_close(fs);
    rm_dir();
}

TEST(filestore_missing_dir_is_named)
{
    char err[512];
    struct sk_filestore *fs;
    ASSERT_EQ_INT(sk_filestore_open(&fs, "/nonexistent/skinny", NULL, NULL, err, sizeof err),
                  SK_EIO);
    ASSERT_TRUE(strstr(err, "/nonexistent/skinny") != NULL);
}
