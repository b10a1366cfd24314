/* test_filestore.c - the durable acceptor log: write, reopen, the
 * preallocated zero tail, torn tail, flipped bit, corrupt middle batch,
 * malformed records, compaction, logs of the format without a zero tail.
 *
 * The store keeps no records of its own: loading hands them to a callback
 * and compaction reads the live ones from an iterator. Here both are backed
 * by a small table (struct mirror) standing in for the core's registers:
 * the test updates it with every record it appends, as the core holds a
 * register's state before the daemon persists it. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
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
        if (m->r[i].key_len == len && (len == 0 || memcmp(m->r[i].key, key, len) == 0)) {
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
        if (p->key_len) {
            memcpy(r->key, p->key, p->key_len);
        }
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
    /* the node record's key is NULL, as sk_node_record makes it */
    out->key = r->key_len ? (const uint8_t *)r->key : NULL;
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

#define CHUNK (1u << 20) /* the store's preallocation unit */

static struct sk_filestore_stats stats(const struct sk_filestore *fs)
{
    struct sk_filestore_stats st;
    sk_filestore_stats(fs, &st);
    return st;
}

/* The log's logical end: after its last batch. */
static off_t log_end(const struct sk_filestore *fs)
{
    return (off_t)stats(fs).file_bytes;
}

static bool put_at(const void *b, size_t n, off_t at)
{
    int fd = open(logpath, O_WRONLY);
    bool ok = fd >= 0 && pwrite(fd, b, n, at) == (ssize_t)n;
    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

static bool get_at(void *b, size_t n, off_t at)
{
    int fd = open(logpath, O_RDONLY);
    bool ok = fd >= 0 && pread(fd, b, n, at) == (ssize_t)n;
    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

/* Are the bytes of the file in [from, to) all zero? */
static bool zero_range(off_t from, off_t to)
{
    uint8_t b[4096];
    while (from < to) {
        size_t n = to - from < (off_t)sizeof b ? (size_t)(to - from) : sizeof b;
        if (!get_at(b, n, from)) {
            return false;
        }
        for (size_t i = 0; i < n; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        from += (off_t)n;
    }
    return true;
}

/* The file as it holds batches and a zero tail: the tail is at least as
 * large as promised and the file a whole number of chunks. */
static bool well_laid_out(const struct sk_filestore *fs)
{
    struct sk_filestore_stats st = stats(fs);
    off_t size = file_size();
    return size > 0 && (uint64_t)size == st.alloc_bytes && st.file_bytes <= st.alloc_bytes &&
           size % CHUNK == 0 && zero_range((off_t)st.file_bytes, size);
}

/* A fresh log of two batches, both on key "k": (7, 0) and then
 * (round, round, "value"); where the second begins and ends. */
static void log_of_two(uint64_t round, off_t *good, off_t *full)
{
    char err[512];
    struct sk_filestore *fs;
    fresh_dir();
    ASSERT_EQ_INT(open_fs(&fs, &fast, err, sizeof err), 0);
    struct sk_persist a = rec("k", 7, 0, NULL);
    ASSERT_EQ_INT(append(fs, &a, 1), 0);
    *good = log_end(fs);
    struct sk_persist b = rec("k", round, round, "value");
    ASSERT_EQ_INT(append(fs, &b, 1), 0);
    *full = log_end(fs);
    sk_filestore_close(fs);
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
    /* two batches, then zeros to the end of one preallocated chunk */
    ASSERT_EQ_U64(st.file_bytes, (12 + 37 + 35) + (12 + 41));
    ASSERT_EQ_U64(st.alloc_bytes, CHUNK);
    ASSERT_EQ_U64(st.extensions, 1);
    ASSERT_EQ_U64(st.syncs, 3); /* the extension's and one per batch */
    ASSERT_TRUE(well_laid_out(fs));
    uint64_t end = st.file_bytes;
    sk_filestore_close(fs);

    ASSERT_EQ_INT(open_fs(&fs, NULL, err, sizeof err), 0);
    ASSERT_STR_EQ(sk_filestore_notice(fs), ""); /* the zero tail is no torn tail */
    ASSERT_EQ_U64(stats(fs).file_bytes, end);
    ASSERT_EQ_U64(stats(fs).alloc_bytes, CHUNK);
    ASSERT_EQ_INT(file_size(), CHUNK);
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

/* The node record (sk.h: key_len 0, no value) is logged, reloaded and
 * kept by compaction like a register; a key_len 0 record with a value is
 * no record at all. */
TEST(filestore_keeps_the_node_record)
{
    char err[512];
    struct sk_filestore *fs;
    fresh_dir();
    ASSERT_EQ_INT(open_fs(&fs, NULL, err, sizeof err), 0);
    struct sk_persist node = rec("", (1ull << 32), 1, NULL);
    struct sk_persist b1[2] = {node, rec("printer", 3, 0, NULL)};
    ASSERT_EQ_INT(append(fs, b1, 2), 0);
    struct sk_persist bad = rec("", 1, 1, "v");
    ASSERT_TRUE(append(fs, &bad, 1) != 0);
    sk_filestore_close(fs);
    ASSERT_EQ_INT(open_fs(&fs, NULL, err, sizeof err), 0);
    const struct mrec *r = lookup("");
    ASSERT_NOT_NULL(r);
    ASSERT_EQ_U64(r->promised.round, 1ull << 32);
    ASSERT_EQ_INT(r->value_len, 0);
    ASSERT_NOT_NULL(lookup("printer"));
    sk_filestore_close(fs);
    rm_dir();
}

/* The core's node record (sk_node_record) has a NULL key: appending it and
 * compacting it must not hand NULL to memcpy (undefined even for 0 bytes;
 * `make asan` aborts on it). Found by tests/fuzz/fuzz_store.c:
 * tests/fuzz/regress/store/node-record-null-key-append-compact. */
TEST(filestore_node_record_with_a_null_key)
{
    char err[512];
    struct sk_filestore *fs;
    fresh_dir();
    ASSERT_EQ_INT(open_fs(&fs, &fast, err, sizeof err), 0);
    struct sk_persist node = {0};
    node.promised = (struct sk_ballot){7, 0};
    node.accepted = (struct sk_ballot){3, 1};
    struct sk_persist b[2] = {node, rec("printer", 3, 0, NULL)};
    ASSERT_EQ_INT(append(fs, b, 2), 0);
    ASSERT_EQ_INT(sk_filestore_compact(fs), 0); /* from the live iterator: NULL again */
    sk_filestore_close(fs);
    ASSERT_EQ_INT(open_fs(&fs, &fast, err, sizeof err), 0);
    ASSERT_EQ_INT(M.n, 2);
    const struct mrec *r = lookup("");
    ASSERT_NOT_NULL(r);
    ASSERT_EQ_U64(r->promised.round, 7);
    ASSERT_EQ_U64(r->accepted.round, 3);
    ASSERT_EQ_INT(r->accepted.node, 1);
    ASSERT_EQ_INT(r->value_len, 0);
    sk_filestore_close(fs);
    rm_dir();
}

TEST(filestore_torn_tail_is_reported_and_zeroed)
{
    char err[512];
    struct sk_filestore *fs;
    off_t good, full;
    RUN(log_of_two(9, &good, &full));
    /* a crash mid-write: only the first half of the second batch reached
     * the preallocated space, the rest of it is still zeros */
    uint8_t z[64] = {0};
    ASSERT_TRUE(full - good <= (off_t)sizeof z);
    off_t half = good + (full - good) / 2;
    ASSERT_TRUE(put_at(z, (size_t)(full - half), half));

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
    ASSERT_EQ_INT(log_end(fs), good);
    ASSERT_EQ_INT(file_size(), CHUNK); /* zeroed, not truncated */
    ASSERT_TRUE(zero_range(good, CHUNK));
    ASSERT_TRUE(well_laid_out(fs));
    /* appending after recovery lands right after the good prefix and
     * survives a reopen */
    struct sk_persist b = rec("k", 9, 9, "value");
    ASSERT_EQ_INT(append(fs, &b, 1), 0);
    ASSERT_EQ_INT(log_end(fs), full);
    ASSERT_EQ_U64(stats(fs).extensions, 0); /* the tail had room */
    sk_filestore_close(fs);
    ASSERT_EQ_INT(open_fs(&fs, &fast, err, sizeof err), 0);
    ASSERT_STR_EQ(sk_filestore_notice(fs), "");
    p = lookup("k");
    ASSERT_NOT_NULL(p);
    ASSERT_EQ_U64(p->promised.round, 9);
    ASSERT_EQ_INT(M.loads, 2);
    sk_filestore_close(fs);
    rm_dir();
}

TEST(filestore_garbage_in_the_zero_tail_is_reported_and_zeroed)
{
    char err[512];
    struct sk_filestore *fs;
    fresh_dir();
    ASSERT_EQ_INT(open_fs(&fs, &fast, err, sizeof err), 0);
    struct sk_persist a[2] = {rec("k", 7, 0, NULL), rec("door", 3, 3, "open")};
    ASSERT_EQ_INT(append(fs, a, 2), 0);
    off_t good = log_end(fs);
    sk_filestore_close(fs);
    /* a torn batch in the preallocated space: nonzero garbage, then zeros */
    uint8_t junk[50];
    for (size_t i = 0; i < sizeof junk; i++) {
        junk[i] = (uint8_t)(0xa5 ^ (i * 37));
    }
    junk[sizeof junk - 1] = 0xff;
    ASSERT_TRUE(put_at(junk, sizeof junk, good));

    ASSERT_EQ_INT(open_fs(&fs, &fast, err, sizeof err), 0);
    const char *n = sk_filestore_notice(fs);
    ASSERT_TRUE(strstr(n, "acceptor.log") != NULL);
    ASSERT_TRUE(strstr(n, "tail of 50 bytes") != NULL);
    char off[32];
    snprintf(off, sizeof off, "offset %lld", (long long)good);
    ASSERT_TRUE(strstr(n, off) != NULL);
    ASSERT_EQ_INT(M.loads, 2);
    ASSERT_EQ_INT(log_end(fs), good);
    ASSERT_TRUE(zero_range(good, good + (off_t)sizeof junk)); /* on disk already */
    ASSERT_TRUE(well_laid_out(fs));
    /* shorter than the garbage: nothing of it may be left behind */
    struct sk_persist b = rec("k", 9, 0, NULL);
    ASSERT_EQ_INT(append(fs, &b, 1), 0);
    ASSERT_EQ_INT(log_end(fs), good + 12 + 31);
    ASSERT_TRUE(well_laid_out(fs));
    sk_filestore_close(fs);
    ASSERT_EQ_INT(open_fs(&fs, &fast, err, sizeof err), 0);
    ASSERT_STR_EQ(sk_filestore_notice(fs), "");
    ASSERT_EQ_INT(M.loads, 3);
    ASSERT_EQ_U64(lookup("k")->promised.round, 9);
    ASSERT_EQ_U64(lookup("door")->promised.round, 3);
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
    off_t good = log_end(fs);
    sk_filestore_close(fs);
    ASSERT_TRUE(put_at("SKB", 3, good)); /* 3 bytes of the next header */
    ASSERT_EQ_INT(open_fs(&fs, &fast, err, sizeof err), 0);
    ASSERT_TRUE(strstr(sk_filestore_notice(fs), "tail of 3 bytes") != NULL);
    ASSERT_EQ_INT(log_end(fs), good);
    ASSERT_TRUE(well_laid_out(fs));
    ASSERT_EQ_U64(lookup("k")->promised.round, 7);
    sk_filestore_close(fs);
    rm_dir();
}

TEST(filestore_zeros_are_never_a_batch)
{
    char err[512];
    struct sk_filestore *fs;
    fresh_dir();
    /* a log of nothing but zeros (a crash right after the first extension)
     * is an empty log */
    uint8_t *z = calloc(1, CHUNK);
    ASSERT_NOT_NULL(z);
    int fd = open(logpath, O_WRONLY | O_CREAT, 0644);
    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ_INT(write(fd, z, CHUNK), (int)CHUNK);
    close(fd);
    free(z);
    ASSERT_EQ_INT(open_fs(&fs, &fast, err, sizeof err), 0);
    ASSERT_STR_EQ(sk_filestore_notice(fs), "");
    ASSERT_EQ_INT(M.loads, 0);
    ASSERT_EQ_U64(stats(fs).file_bytes, 0);
    ASSERT_EQ_U64(stats(fs).alloc_bytes, CHUNK);
    struct sk_persist a = rec("k", 7, 0, NULL);
    ASSERT_EQ_INT(append(fs, &a, 1), 0);
    ASSERT_EQ_U64(stats(fs).extensions, 0);
    ASSERT_EQ_INT(file_size(), CHUNK);
    sk_filestore_close(fs);
    ASSERT_EQ_INT(open_fs(&fs, &fast, err, sizeof err), 0);
    ASSERT_STR_EQ(sk_filestore_notice(fs), "");
    ASSERT_EQ_INT(M.loads, 1);
    sk_filestore_close(fs);
    rm_dir();
}

/* Acknowledged batches lost, a later one still there: whether the hole
 * reads as garbage or as zeros, the zeros between must not hide it. */
static void lost_batch_case(bool garbage)
{
    char err[512];
    struct sk_filestore *fs;
    off_t good, full;
    RUN(log_of_two(8, &good, &full));
    uint8_t batch[64], z[64] = {0};
    size_t bn = (size_t)(full - good);
    ASSERT_TRUE(bn <= sizeof batch);
    ASSERT_TRUE(get_at(batch, bn, good));
    ASSERT_TRUE(put_at(z, bn, good));
    if (garbage) {
        ASSERT_TRUE(put_at("\x01garbage", 8, good));
    }
    off_t later = good + 8192; /* the valid batch, far into the zeros */
    ASSERT_TRUE(put_at(batch, bn, later));
    off_t size = file_size();
    err[0] = 0;
    ASSERT_EQ_INT(open_fs(&fs, &fast, err, sizeof err), SK_ECORRUPT);
    ASSERT_NULL(fs);
    ASSERT_TRUE(strstr(err, "acceptor.log") != NULL);
    char off[64];
    snprintf(off, sizeof off, "offset %lld followed by a valid one at offset %lld",
             (long long)good, (long long)later);
    ASSERT_TRUE(strstr(err, off) != NULL);
    ASSERT_EQ_INT(M.loads, 0);        /* a refused log delivers nothing */
    ASSERT_EQ_INT(file_size(), size); /* and is left as it was */
    uint8_t again[64];
    ASSERT_TRUE(get_at(again, bn, later));
    ASSERT_MEM_EQ(again, batch, bn);
    rm_dir();
}

TEST(filestore_garbage_zeros_then_a_valid_batch_refuses_to_open)
{
    RUN(lost_batch_case(true));
}

TEST(filestore_zeros_then_a_valid_batch_refuses_to_open)
{
    RUN(lost_batch_case(false));
}

TEST(filestore_old_log_without_zero_tail_opens_and_appends)
{
    char err[512];
    struct sk_filestore *fs;
    fresh_dir();
    ASSERT_EQ_INT(open_fs(&fs, &fast, err, sizeof err), 0);
    struct sk_persist a[2] = {rec("k", 7, 0, NULL), rec("door", 3, 3, "open")};
    ASSERT_EQ_INT(append(fs, a, 2), 0);
    struct sk_persist b = rec("k", 8, 8, "v");
    ASSERT_EQ_INT(append(fs, &b, 1), 0);
    off_t end = log_end(fs);
    sk_filestore_close(fs);
    /* as the previous version wrote it: the file ends at its last batch */
    ASSERT_EQ_INT(truncate(logpath, end), 0);

    ASSERT_EQ_INT(open_fs(&fs, &fast, err, sizeof err), 0);
    ASSERT_STR_EQ(sk_filestore_notice(fs), "");
    ASSERT_EQ_INT(M.loads, 3);
    ASSERT_EQ_U64(stats(fs).file_bytes, (uint64_t)end);
    ASSERT_EQ_U64(stats(fs).alloc_bytes, (uint64_t)end);
    struct sk_persist c = rec("k", 9, 9, "w");
    ASSERT_EQ_INT(append(fs, &c, 1), 0);
    ASSERT_EQ_U64(stats(fs).extensions, 1);
    ASSERT_EQ_INT(log_end(fs), end + 12 + 32);
    ASSERT_TRUE(well_laid_out(fs));
    ASSERT_TRUE(file_size() - log_end(fs) >= (off_t)CHUNK / 2);
    sk_filestore_close(fs);
    ASSERT_EQ_INT(open_fs(&fs, &fast, err, sizeof err), 0);
    ASSERT_STR_EQ(sk_filestore_notice(fs), "");
    ASSERT_EQ_INT(M.loads, 4);
    ASSERT_EQ_U64(lookup("k")->promised.round, 9);
    ASSERT_EQ_U64(lookup("door")->promised.round, 3);
    sk_filestore_close(fs);

    /* the previous version's torn tail: the file ends inside a batch */
    ASSERT_EQ_INT(truncate(logpath, end + 20), 0);
    ASSERT_EQ_INT(open_fs(&fs, &fast, err, sizeof err), 0);
    ASSERT_TRUE(strstr(sk_filestore_notice(fs), "tail of 20 bytes") != NULL);
    ASSERT_EQ_INT(M.loads, 3);
    ASSERT_EQ_INT(log_end(fs), end);
    ASSERT_TRUE(zero_range(end, end + 20));
    ASSERT_EQ_INT(append(fs, &c, 1), 0);
    sk_filestore_close(fs);
    ASSERT_EQ_INT(open_fs(&fs, &fast, err, sizeof err), 0);
    ASSERT_STR_EQ(sk_filestore_notice(fs), "");
    ASSERT_EQ_INT(M.loads, 4);
    ASSERT_EQ_U64(lookup("k")->promised.round, 9);
    sk_filestore_close(fs);
    rm_dir();
}

TEST(filestore_appends_across_chunks_extend_the_file)
{
    char err[512];
    struct sk_filestore *fs;
    fresh_dir();
    ASSERT_EQ_INT(sk_filestore_open(&fs, dir, &fast, NULL, err, sizeof err), 0);
    /* about 12.7 KB per batch: the 83rd crosses the first chunk */
    char value[97];
    memset(value, 'v', 96);
    value[96] = 0;
    struct sk_persist ps[100];
    uint64_t n = 0;
    for (int b = 0; b < 120; b++) {
        for (int i = 0; i < 100; i++) {
            ps[i] = rec("lock", (uint64_t)b * 100 + (uint64_t)i + 1, 0, value);
        }
        ASSERT_EQ_INT(sk_filestore_append(fs, ps, 100), 0);
        n += 100;
        ASSERT_TRUE(well_laid_out(fs) || b % 16 != 0); /* checked now and then */
    }
    struct sk_filestore_stats st = stats(fs);
    ASSERT_EQ_U64(st.extensions, 2);
    ASSERT_EQ_U64(st.alloc_bytes, 2 * CHUNK);
    ASSERT_TRUE(st.file_bytes > CHUNK);
    ASSERT_TRUE(well_laid_out(fs));
    /* a batch bigger than a chunk grows the file by more than one */
    static struct sk_persist big[10000];
    for (int i = 0; i < 10000; i++) {
        big[i] = rec("lock", 1000000 + (uint64_t)i, 0, value);
    }
    ASSERT_EQ_INT(sk_filestore_append(fs, big, 10000), 0);
    n += 10000;
    st = stats(fs);
    ASSERT_EQ_U64(st.extensions, 3);
    ASSERT_TRUE(st.file_bytes > 2 * CHUNK + CHUNK / 4);
    ASSERT_TRUE(well_laid_out(fs));
    uint64_t end = st.file_bytes, alloc = st.alloc_bytes;
    sk_filestore_close(fs);
    ASSERT_EQ_INT(sk_filestore_open(&fs, dir, &fast, NULL, err, sizeof err), 0);
    ASSERT_STR_EQ(sk_filestore_notice(fs), "");
    st = stats(fs);
    ASSERT_EQ_U64(st.records, n);
    ASSERT_EQ_U64(st.batches, 121);
    ASSERT_EQ_U64(st.file_bytes, end);
    ASSERT_EQ_U64(st.alloc_bytes, alloc);
    sk_filestore_close(fs);
    rm_dir();
}

TEST(filestore_failed_extension_leaves_the_log_usable)
{
    char err[512];
    struct sk_filestore *fs;
    fresh_dir();
    ASSERT_EQ_INT(sk_filestore_open(&fs, dir, &fast, NULL, err, sizeof err), 0);
    struct sk_persist a = rec("k", 7, 0, NULL);
    ASSERT_EQ_INT(sk_filestore_append(fs, &a, 1), 0);
    uint64_t end = stats(fs).file_bytes;
    /* the file may not grow past its first chunk: the extension fails */
    struct rlimit old;
    ASSERT_EQ_INT(getrlimit(RLIMIT_FSIZE, &old), 0);
    struct rlimit lim = {CHUNK, old.rlim_max};
    void (*was)(int) = signal(SIGXFSZ, SIG_IGN);
    ASSERT_EQ_INT(setrlimit(RLIMIT_FSIZE, &lim), 0);
    /* about 1.6 MB: more than the chunk holds */
    static struct sk_persist big[20000];
    for (int i = 0; i < 20000; i++) {
        big[i] = rec("k", 8, 8, "a value of some length to fill the chunk up with");
    }
    int rv = sk_filestore_append(fs, big, 20000);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, was);
    ASSERT_EQ_INT(rv, SK_EIO);
    ASSERT_TRUE(strstr(sk_filestore_errmsg(fs), "extend") != NULL);
    ASSERT_EQ_U64(stats(fs).file_bytes, end);
    ASSERT_EQ_U64(stats(fs).alloc_bytes, CHUNK);
    /* later appends still work, the big one too */
    struct sk_persist b = rec("k", 9, 0, NULL);
    ASSERT_EQ_INT(sk_filestore_append(fs, &b, 1), 0);
    ASSERT_EQ_INT(sk_filestore_append(fs, big, 20000), 0);
    ASSERT_TRUE(well_laid_out(fs));
    sk_filestore_close(fs);
    ASSERT_EQ_INT(sk_filestore_open(&fs, dir, &fast, NULL, err, sizeof err), 0);
    ASSERT_STR_EQ(sk_filestore_notice(fs), "");
    ASSERT_EQ_U64(stats(fs).records, 20002);
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
    off_t end = log_end(fs);
    sk_filestore_close(fs);
    uint8_t byte;
    ASSERT_TRUE(get_at(&byte, 1, end - 3));
    byte ^= 0x10;
    ASSERT_TRUE(put_at(&byte, 1, end - 3));
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
    off_t second = log_end(fs);
    struct sk_persist b = rec("k", 8, 0, NULL);
    ASSERT_EQ_INT(append(fs, &b, 1), 0);
    struct sk_persist c = rec("k", 9, 0, NULL);
    ASSERT_EQ_INT(append(fs, &c, 1), 0);
    sk_filestore_close(fs);
    off_t size = file_size();
    uint8_t byte = 0xff;
    ASSERT_TRUE(put_at(&byte, 1, second + 14));
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
    off_t second = log_end(fs);
    sk_filestore_close(fs);
    /* a batch with a correct checksum whose body is not records */
    uint8_t batch[12 + 5] = {'S', 'K', 'B', '1', 0, 0, 0, 5};
    memcpy(batch + 12, "hello", 5);
    uint32_t crc = sk_crc32(0, batch + 12, 5);
    for (int i = 0; i < 4; i++) {
        batch[8 + i] = (uint8_t)(crc >> (24 - 8 * i));
    }
    ASSERT_TRUE(put_at(batch, sizeof batch, second));
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
    ASSERT_TRUE(well_laid_out(fs));
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
    off_t before = log_end(fs);
    ASSERT_EQ_INT(sk_filestore_compact(fs), 0);
    off_t after = log_end(fs);
    ASSERT_LT_U64((uint64_t)after, (uint64_t)before);
    struct sk_filestore_stats st;
    sk_filestore_stats(fs, &st);
    ASSERT_EQ_U64(st.compactions, 1);
    ASSERT_EQ_U64(st.live_records, 3000);
    /* the new log came with its zero tail */
    ASSERT_TRUE(well_laid_out(fs));
    ASSERT_TRUE(st.alloc_bytes - st.file_bytes >= CHUNK);
    uint64_t ext = st.extensions;
    /* an append after the compaction lands on the new log, no extension */
    struct sk_persist last = rec("lock-000007", 3, 3, "last");
    ASSERT_EQ_INT(append(fs, &last, 1), 0);
    ASSERT_EQ_U64(stats(fs).extensions, ext);
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
    ASSERT_EQ_INT(open_fs(&fs, &o, err, sizeof err), 0);
    off_t before = log_end(fs);
    ASSERT_EQ_INT(M.n, 1);
    ASSERT_EQ_U64(M.r[0].promised.round, 200);
    struct sk_persist p = rec("k", 201, 201, "state");
    ASSERT_EQ_INT(append(fs, &p, 1), 0);
    sk_filestore_stats(fs, &st);
    ASSERT_EQ_U64(st.compactions, 1);
    ASSERT_LT_U64((uint64_t)log_end(fs), (uint64_t)before);
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
