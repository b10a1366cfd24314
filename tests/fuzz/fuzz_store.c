/* fuzz_store.c - libFuzzer target for the file store (runtime/store/
 * filestore.c): loading an acceptor.log, recovering its tail, appending
 * and compacting (`make fuzz`, tests/fuzz/fuzz.mk).
 *
 * An input is three option bytes followed by the bytes of an acceptor.log:
 *
 *   byte 0  bit 0..1  zeros appended to the log: none, 17, 4096 or 70000
 *                     bytes (the last more than one 64 KiB scan block)
 *           bit 2     reseal: rewrite the checksum of every batch the walk
 *                     from offset 0 finds, so that mutated records reach
 *                     the record parser instead of failing the checksum
 *           bit 3     low compaction thresholds (ratio 2, 1 byte), so that
 *                     appends compact by themselves
 *           bit 4     compact explicitly after the appends
 *           bit 5     open once without a source first (check only)
 *           bit 6     the appends include the node record (key_len 0,
 *                     its key pointer NULL, as sk_node_record makes it)
 *           bit 7     the appends carry large values
 *   byte 1            seeds the appends (how many batches, keys, values);
 *                     0xF0 and above: the log grows by the real chunks of
 *                     1 MiB, else by 4 KiB ones (opts.prealloc), so that
 *                     most runs write and read small files
 *   byte 2  bit 0..5  k > 0: the load callback fails at record k (counting
 *                     from 1), with SK_ENOMEM, or with 1 (a positive code:
 *                     the store answers SK_EINVAL) when bit 6 is set
 *           bit 7     an acceptor.log.tmp is left in the directory (a
 *                     compaction the crash interrupted): ignored, removed
 *
 * The log is written to a fresh directory (under /dev/shm when there is
 * one, else $TMPDIR or /tmp; removed after each input) and opened. What
 * must happen is worked out beforehand by a model of the format written
 * from filestore.h alone: the batches that check from offset 0 are the
 * good prefix; a checksummed batch whose records do not parse, or a
 * checksummed batch anywhere in the bad bytes after the prefix, makes the
 * log refused with SK_ECORRUPT; otherwise the bytes after the prefix up to
 * the last nonzero one are a torn tail, reported and zeroed. Then:
 *
 *   refused:  the code is SK_ECORRUPT, the message names the file and
 *             the offset, no record was delivered, and the file is byte for
 *             byte as it was (the store must not destroy the evidence);
 *   failed:   (the load callback failed) with the callback's code, after
 *             exactly the records before it, the message naming the file
 *             and the offset of the batch;
 *   opened:   the records are delivered in log order, exactly the model's
 *             (key within SK_KEY_MAX, value within SK_VALUE_MAX, the node
 *             record without a value), into a table where the last record
 *             per key wins (as sk_node_restore overwrites); the notice names
 *             the file, offset and length of a torn tail, or is empty; the
 *             file keeps its size, the prefix unchanged and the tail zeroed;
 *             the stats agree.
 *
 * An opened store then gets a few batches appended (the table updated
 * first, as the core changes a register before the daemon persists it),
 * compacts (by itself or when asked) from the table through the live
 * iterator, and is closed and opened again: the model must find a clean
 * log, and the records loaded must be exactly the table's, byte for byte.
 *
 * Built with -DSK_FUZZ_MAIN the file is a plain program instead
 * (tests/fuzz/fuzz_main.h): `--corpus DIR` writes the seeds, `FILE|DIR...`
 * replays inputs (tests/fuzz/regress/store). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sk.h"
#include "store/filestore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The format, as filestore.h describes it. */
#define MAGIC 0x534b4231u /* "SKB1" */
#define BATCH_HDR 12
#define REC_HDR 30
#define BATCH_MAX (64u * 1024 * 1024)

#define OPT_TAIL 0x03
#define OPT_RESEAL 0x04
#define OPT_LOW_THRESHOLDS 0x08
#define OPT_COMPACT 0x10
#define OPT_CHECK_FIRST 0x20
#define OPT_NODE_RECORD 0x40
#define OPT_BIG_VALUES 0x80

static const size_t tail_sizes[4] = {0, 17, 4096, 70000};

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fuzz_store: check failed: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        abort();
    }
    return p;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}


/* ------------------------------------------------------------ the model */

struct xrec {
    const uint8_t *key, *value;
    uint32_t key_len, value_len;
    struct sk_ballot promised, accepted;
};

struct model {
    int expect;      /* 0 or SK_ECORRUPT */
    size_t good, nz; /* the good prefix; the last nonzero byte after it, + 1 */
    size_t batches;
    struct xrec *recs;
    size_t n, cap;
};

/* A checksummed batch at off? Its size, or 0. */
static size_t model_batch_at(const uint8_t *d, size_t len, size_t off)
{
    if (len - off < BATCH_HDR || be32(d + off) != MAGIC) {
        return 0;
    }
    uint32_t body = be32(d + off + 4);
    if (body > BATCH_MAX || body > len - off - BATCH_HDR) {
        return 0;
    }
    if (sk_crc32(0, d + off + BATCH_HDR, body) != be32(d + off + 8)) {
        return 0;
    }
    return BATCH_HDR + (size_t)body;
}

/* The records of a batch body; false when they do not parse. */
static bool model_records(struct model *m, const uint8_t *p, size_t len)
{
    size_t off = 0;
    while (off < len) {
        if (len - off < REC_HDR) {
            return false;
        }
        const uint8_t *h = p + off;
        struct xrec r;
        r.promised.round = be64(h);
        r.promised.node = be32(h + 8);
        r.accepted.round = be64(h + 12);
        r.accepted.node = be32(h + 20);
        r.key_len = (uint32_t)h[24] << 8 | h[25];
        r.value_len = be32(h + 26);
        if (r.key_len > SK_KEY_MAX || r.value_len > SK_VALUE_MAX ||
            (r.key_len == 0 && r.value_len != 0) ||
            (uint64_t)r.key_len + r.value_len > len - off - REC_HDR) {
            return false;
        }
        r.key = h + REC_HDR;
        r.value = h + REC_HDR + r.key_len;
        if (m->n == m->cap) {
            m->cap = m->cap ? 2 * m->cap : 64;
            struct xrec *nr = realloc(m->recs, m->cap * sizeof *nr);
            if (nr == NULL) {
                abort();
            }
            m->recs = nr;
        }
        m->recs[m->n++] = r;
        off += REC_HDR + (size_t)r.key_len + r.value_len;
    }
    return true;
}

/* After the last nonzero byte of d[from, len), or from when all are zero. */
static size_t nonzero_end(const uint8_t *d, size_t from, size_t len)
{
    static const uint8_t zero[4096];
    size_t hi = len;
    while (hi > from) {
        size_t n = hi - from < sizeof zero ? hi - from : sizeof zero;
        if (memcmp(d + hi - n, zero, n) != 0) {
            while (d[hi - 1] == 0) {
                hi--;
            }
            return hi;
        }
        hi -= n;
    }
    return from;
}

static void model_run(struct model *m, const uint8_t *d, size_t len)
{
    free(m->recs);
    memset(m, 0, sizeof *m);
    size_t off = 0, n;
    while (off < len && (n = model_batch_at(d, len, off)) != 0) {
        if (!model_records(m, d + off + BATCH_HDR, n - BATCH_HDR)) {
            m->expect = SK_ECORRUPT; /* checksummed, malformed: never ours */
            m->good = off;
            return;
        }
        m->batches++;
        off += n;
    }
    m->good = off;
    m->nz = nonzero_end(d, off, len);
    /* a bad batch with a good one after it: acknowledged data was lost
     * (a batch starts with its nonzero magic, so before nz) */
    for (size_t o = m->good + 1; o < m->nz; o++) {
        if (model_batch_at(d, len, o) != 0) {
            m->expect = SK_ECORRUPT;
            return;
        }
    }
}

/* ------------------------------------------------------ the "registers" */

/* What the core would hold: one record per key, the last one loaded or
 * appended. The node record is the key of length 0. */
struct mrec {
    uint8_t key[SK_KEY_MAX];
    uint32_t key_len;
    struct sk_ballot promised, accepted;
    uint8_t *value;
    uint32_t value_len;
};

struct table {
    struct mrec *r;
    size_t n, cap;
    /* loading: the records the model expects, in order */
    const struct model *expect;
    size_t loads;
    size_t fail_at; /* > 0: the load callback fails at this record */
    int fail_code;
};

static void table_clear(struct table *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->r[i].value);
    }
    free(t->r);
    size_t fail_at = t->fail_at;
    int fail_code = t->fail_code;
    memset(t, 0, sizeof *t);
    t->fail_at = fail_at;
    t->fail_code = fail_code;
}

static struct mrec *table_find(const struct table *t, const uint8_t *key, uint32_t len)
{
    for (size_t i = 0; i < t->n; i++) {
        if (t->r[i].key_len == len && (len == 0 || memcmp(t->r[i].key, key, len) == 0)) {
            return &t->r[i];
        }
    }
    return NULL;
}

static void table_put(struct table *t, const struct sk_persist *p)
{
    if (p->key_len > SK_KEY_MAX || p->value_len > SK_VALUE_MAX ||
        (p->key_len == 0 && p->value_len != 0)) {
        fail("a record out of bounds: key_len %u, value_len %u", p->key_len, p->value_len);
    }
    struct mrec *r = table_find(t, p->key, p->key_len);
    if (r == NULL) {
        if (t->n == t->cap) {
            t->cap = t->cap ? 2 * t->cap : 32;
            struct mrec *nr = realloc(t->r, t->cap * sizeof *nr);
            if (nr == NULL) {
                abort();
            }
            t->r = nr;
        }
        r = &t->r[t->n++];
        memset(r, 0, sizeof *r);
        if (p->key_len) {
            memcpy(r->key, p->key, p->key_len);
        }
        r->key_len = p->key_len;
    }
    free(r->value);
    r->value = NULL;
    r->promised = p->promised;
    r->accepted = p->accepted;
    r->value_len = p->value_len;
    if (p->value_len) {
        r->value = xmalloc(p->value_len);
        memcpy(r->value, p->value, p->value_len);
    }
}

static int t_load(void *ctx, const struct sk_persist *p)
{
    struct table *t = ctx;
    const struct model *m = t->expect;
    if (t->loads >= m->n) {
        fail("load delivered record %zu, the log holds %zu", t->loads + 1, m->n);
    }
    if (t->fail_at > 0 && t->loads + 1 == t->fail_at) {
        return t->fail_code;
    }
    const struct xrec *x = &m->recs[t->loads];
    if (p->key_len != x->key_len || p->value_len != x->value_len ||
        sk_ballot_cmp(p->promised, x->promised) != 0 ||
        sk_ballot_cmp(p->accepted, x->accepted) != 0 ||
        (p->key_len && memcmp(p->key, x->key, p->key_len) != 0) ||
        (p->value_len && (p->value == NULL || memcmp(p->value, x->value, p->value_len) != 0))) {
        fail("load record %zu differs from the log's", t->loads);
    }
    t->loads++;
    table_put(t, p);
    return 0;
}

static bool t_live(void *ctx, size_t *cursor, struct sk_persist *out)
{
    struct table *t = ctx;
    if (*cursor >= t->n) {
        return false;
    }
    const struct mrec *r = &t->r[(*cursor)++];
    memset(out, 0, sizeof *out);
    out->key = r->key_len ? r->key : NULL; /* as sk_node_record leaves it */
    out->key_len = r->key_len;
    out->promised = r->promised;
    out->accepted = r->accepted;
    out->value = r->value_len ? r->value : NULL;
    out->value_len = r->value_len;
    return true;
}

static uint64_t live_size(const struct table *t)
{
    uint64_t n = 0;
    for (size_t i = 0; i < t->n; i++) {
        n += REC_HDR + (uint64_t)t->r[i].key_len + t->r[i].value_len;
    }
    return n;
}

static void table_same(const struct table *a, const struct table *b, const char *when)
{
    if (a->n != b->n) {
        fail("%s: %zu registers came back, %zu were live", when, b->n, a->n);
    }
    for (size_t i = 0; i < a->n; i++) {
        const struct mrec *x = &a->r[i];
        const struct mrec *y = table_find(b, x->key, x->key_len);
        if (y == NULL) {
            fail("%s: the register %zu (key of %u bytes) is lost", when, i, x->key_len);
        }
        if (sk_ballot_cmp(x->promised, y->promised) != 0 ||
            sk_ballot_cmp(x->accepted, y->accepted) != 0 || x->value_len != y->value_len ||
            (x->value_len && memcmp(x->value, y->value, x->value_len) != 0)) {
            fail("%s: the register %zu (key of %u bytes) came back changed", when, i,
                 x->key_len);
        }
    }
}

/* ------------------------------------------------------------ the files */

struct scratch {
    char dir[512];
    char log[600];
};

static void scratch_new(struct scratch *s)
{
    const char *base = "/dev/shm";
    struct stat st;
    if (stat(base, &st) != 0 || !S_ISDIR(st.st_mode) || access(base, W_OK) != 0) {
        base = getenv("TMPDIR");
        if (base == NULL || base[0] == 0) {
            base = "/tmp";
        }
    }
    snprintf(s->dir, sizeof s->dir, "%s/sk-fuzz-store.XXXXXX", base);
    if (mkdtemp(s->dir) == NULL) {
        fprintf(stderr, "fuzz_store: cannot create a directory in %s: %s\n", base,
                strerror(errno));
        abort();
    }
    snprintf(s->log, sizeof s->log, "%s/acceptor.log", s->dir);
}

static void scratch_free(struct scratch *s)
{
    DIR *d = opendir(s->dir);
    if (d != NULL) {
        struct dirent *e;
        char p[1200];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                snprintf(p, sizeof p, "%s/%s", s->dir, e->d_name);
                unlink(p);
            }
        }
        closedir(d);
    }
    if (rmdir(s->dir) != 0) {
        fprintf(stderr, "fuzz_store: cannot remove %s: %s\n", s->dir, strerror(errno));
        abort();
    }
}

static void write_file(const char *path, const uint8_t *d, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        abort();
    }
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, d + done, n - done);
        if (w <= 0) {
            abort();
        }
        done += (size_t)w;
    }
    close(fd);
}

struct fbuf {
    uint8_t *b;
    size_t cap;
};

/* The whole file into f (kept between runs: fresh large buffers would cost
 * more page faults than the store's work); *n its size. */
static uint8_t *read_file(const char *path, struct fbuf *f, size_t *n)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        fail("cannot read back %s: %s", path, strerror(errno));
    }
    *n = (size_t)st.st_size;
    if (*n > f->cap) {
        free(f->b);
        f->cap = *n;
        f->b = xmalloc(*n);
    }
    uint8_t *b = f->b;
    size_t got = 0;
    while (got < *n) {
        ssize_t r = read(fd, b + got, *n - got);
        if (r <= 0) {
            fail("cannot read back %s", path);
        }
        got += (size_t)r;
    }
    close(fd);
    return b;
}

/* ------------------------------------------------------------- opening */

/* Open the log in s and check the outcome against the model of its bytes.
 * Returns the store (NULL when it was rightly refused); t receives the
 * records. with_source false: a check-only open (no callbacks). */
static struct sk_filestore *open_checked(const struct scratch *s,
                                         const struct sk_filestore_opts *o, struct table *t,
                                         bool with_source, bool must_be_clean)
{
    static struct fbuf fb_before, fb_after;
    size_t len;
    uint8_t *before = read_file(s->log, &fb_before, &len);
    struct model m = {0};
    model_run(&m, before, len);
    if (must_be_clean && (m.expect != 0 || m.nz != m.good)) {
        fail("the store left a log that does not read back clean (%s at offset %zu)",
             m.expect ? "refused" : "a tail", m.good);
    }
    table_clear(t);
    t->expect = &m;
    /* what opening must answer: the model's verdict, or the callback's */
    int expect = m.expect;
    bool cb_fails = with_source && m.expect == 0 && t->fail_at > 0 && t->fail_at <= m.n;
    if (cb_fails) {
        expect = t->fail_code > 0 ? SK_EINVAL : t->fail_code;
    }
    struct sk_filestore_source src = {t_load, t_live, t};
    struct sk_filestore *fs = NULL;
    char err[1024];
    memset(err, 'x', sizeof err);
    int rv = sk_filestore_open(&fs, s->dir, o, with_source ? &src : NULL, err, sizeof err);
    if (rv != 0) {
        if (memchr(err, 0, sizeof err) == NULL || err[0] == 0) {
            fail("open failed (%s) without a message", sk_err_name(rv));
        }
        if (strstr(err, s->log) == NULL) {
            fail("the message does not name the file: %s", err);
        }
        if (fs != NULL) {
            fail("open failed but gave a store");
        }
        if (rv != expect) {
            fail("open failed with %s, expected %s: %s", sk_err_name(rv), sk_err_name(expect),
                 err);
        }
        if (cb_fails) {
            if (t->loads != t->fail_at - 1) {
                fail("the load callback failed at record %zu, yet %zu were loaded", t->fail_at,
                     t->loads);
            }
            if (strstr(err, "cannot restore a record of the batch at offset ") == NULL) {
                fail("the message does not say which batch could not be restored: %s", err);
            }
            /* the tail may have been zeroed already: not checked here */
            free(m.recs);
            t->expect = NULL;
            return NULL;
        }
        if (t->loads != 0) {
            fail("a refused log delivered %zu records", t->loads);
        }
        char off[48];
        snprintf(off, sizeof off, "offset %zu", m.good);
        if (strstr(err, off) == NULL) {
            fail("the message does not name the offset %zu: %s", m.good, err);
        }
        size_t after_len;
        uint8_t *after = read_file(s->log, &fb_after, &after_len);
        if (after_len != len || (len && memcmp(before, after, len) != 0)) {
            fail("a refused log was changed on disk (%zu bytes, was %zu)", after_len, len);
        }
        free(m.recs);
        t->expect = NULL;
        return NULL;
    }
    if (expect != 0) {
        fail("a log that must fail to open (%s, offset %zu) was opened", sk_err_name(expect),
             m.good);
    }
    char tmp[700];
    snprintf(tmp, sizeof tmp, "%s.tmp", s->log);
    if (access(tmp, F_OK) == 0) {
        fail("the interrupted compaction's %s is still there", tmp);
    }
    if (with_source && t->loads != m.n) {
        fail("%zu records delivered, the log holds %zu", t->loads, m.n);
    }
    struct sk_filestore_stats st;
    sk_filestore_stats(fs, &st);
    if (st.file_bytes != m.good || st.alloc_bytes != len || st.records != m.n ||
        st.batches != m.batches) {
        fail("stats: end %llu (model %zu), size %llu (%zu), %llu records (%zu), %llu batches "
             "(%zu)",
             (unsigned long long)st.file_bytes, m.good, (unsigned long long)st.alloc_bytes, len,
             (unsigned long long)st.records, m.n, (unsigned long long)st.batches, m.batches);
    }
    if (with_source && (st.live_records != t->n || st.live_bytes != live_size(t))) {
        fail("live size %llu in %llu records, the registers hold %llu in %zu",
             (unsigned long long)st.live_bytes, (unsigned long long)st.live_records,
             (unsigned long long)live_size(t), t->n);
    }
    const char *notice = sk_filestore_notice(fs);
    if (m.nz > m.good) {
        char what[96];
        snprintf(what, sizeof what, "tail of %zu bytes at offset %zu", m.nz - m.good, m.good);
        if (strstr(notice, s->log) == NULL || strstr(notice, what) == NULL) {
            fail("the torn tail (%s) is not reported: \"%s\"", what, notice);
        }
    } else if (notice[0] != 0) {
        fail("a clean log has a notice: %s", notice);
    }
    /* with a torn tail, the only write opening does is zeroing it; a clean
     * log is only read (not checked here: it is the common case, and the
     * cost of reading the file again would halve the runs) */
    if (m.nz > m.good) {
        size_t after_len;
        uint8_t *after = read_file(s->log, &fb_after, &after_len);
        if (after_len != len) {
            fail("opening changed the file's size from %zu to %zu", len, after_len);
        }
        if (memcmp(before, after, m.good) != 0) {
            fail("opening changed the good prefix");
        }
        size_t nz = nonzero_end(after, m.good, len);
        if (nz != m.good) {
            fail("byte %zu after the good prefix (%zu) is not zeroed", nz - 1, m.good);
        }
    }
    free(m.recs);
    t->expect = NULL;
    return fs;
}

/* --------------------------------------------------------- the appends */

struct rng {
    uint64_t s;
};

static uint32_t rnd(struct rng *r, uint32_t below)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return below ? (uint32_t)(r->s % below) : 0;
}

static void append_some(struct sk_filestore *fs, struct table *t, uint8_t opts, uint8_t seed)
{
    struct rng r = {0x9e3779b97f4a7c15ull ^ ((uint64_t)seed << 8 | opts)};
    static uint8_t keys[8][SK_KEY_MAX];
    static uint8_t values[8][SK_VALUE_MAX];
    int batches = 1 + (seed & 3);
    for (int b = 0; b < batches; b++) {
        struct sk_persist p[8];
        int n = 1 + (int)rnd(&r, 8);
        for (int i = 0; i < n; i++) {
            memset(&p[i], 0, sizeof p[i]);
            uint32_t pick = rnd(&r, 4);
            if ((opts & OPT_NODE_RECORD) && i == 0) {
                p[i].key = NULL; /* the node record, as sk_node_record makes it */
                p[i].key_len = 0;
            } else if (pick == 0 && t->n > 0) {
                const struct mrec *old = &t->r[rnd(&r, (uint32_t)t->n)];
                memcpy(keys[i], old->key, old->key_len);
                p[i].key = keys[i];
                p[i].key_len = old->key_len;
            } else {
                p[i].key_len = 1 + (pick == 1 ? rnd(&r, SK_KEY_MAX) : rnd(&r, 12));
                for (uint32_t k = 0; k < p[i].key_len; k++) {
                    keys[i][k] = (uint8_t)('a' + rnd(&r, 4));
                }
                p[i].key = keys[i];
            }
            p[i].promised = (struct sk_ballot){rnd(&r, 1000), rnd(&r, 5)};
            p[i].accepted = (struct sk_ballot){rnd(&r, 1000), rnd(&r, 5)};
            if (p[i].key_len > 0) {
                uint32_t vl = rnd(&r, 3) == 0 ? 0 : rnd(&r, 64);
                if ((opts & OPT_BIG_VALUES) && rnd(&r, 2) == 0) {
                    vl = rnd(&r, SK_VALUE_MAX + 1);
                }
                for (uint32_t k = 0; k < vl; k++) {
                    values[i][k] = (uint8_t)rnd(&r, 256);
                }
                p[i].value = vl ? values[i] : NULL;
                p[i].value_len = vl;
            }
            table_put(t, &p[i]); /* the core's register changes first */
        }
        int rv = sk_filestore_append(fs, p, (size_t)n);
        if (rv != 0) {
            fail("append of %d records failed: %s: %s", n, sk_err_name(rv),
                 sk_filestore_errmsg(fs));
        }
    }
}

/* ----------------------------------------------------------- the target */

/* Recompute the checksum of each batch the walk from offset 0 finds. */
static void reseal(uint8_t *d, size_t len)
{
    size_t off = 0;
    while (len - off >= BATCH_HDR && be32(d + off) == MAGIC) {
        uint32_t body = be32(d + off + 4);
        if (body > len - off - BATCH_HDR) {
            break;
        }
        put32(d + off + 8, sk_crc32(0, d + off + BATCH_HDR, body));
        off += BATCH_HDR + (size_t)body;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3) {
        return 0;
    }
    uint8_t opts = data[0], seed = data[1], faults = data[2];
    size_t log_len = size - 3, tail = tail_sizes[opts & OPT_TAIL];
    uint8_t *log = xmalloc(log_len + tail);
    memcpy(log, data + 3, log_len);
    memset(log + log_len, 0, tail);
    if (opts & OPT_RESEAL) {
        reseal(log, log_len);
    }
    struct scratch s;
    scratch_new(&s);
    write_file(s.log, log, log_len + tail);
    if (faults & 0x80) {
        char tmp[700];
        snprintf(tmp, sizeof tmp, "%s.tmp", s.log);
        write_file(tmp, log, log_len / 2); /* half a compaction */
    }
    free(log);

    struct sk_filestore_opts o = {.no_sync = true, .prealloc = seed >= 0xF0 ? 0 : 4096};
    if (opts & OPT_LOW_THRESHOLDS) {
        o.compact_ratio = 2;
        o.min_compact = 1;
    }
    static struct table t, again;
    if (opts & OPT_CHECK_FIRST) {
        struct sk_filestore *fs = open_checked(&s, &o, &t, false, false);
        sk_filestore_close(fs);
    }
    t.fail_at = faults & 0x3f;
    t.fail_code = (faults & 0x40) ? 1 : SK_ENOMEM;
    struct sk_filestore *fs = open_checked(&s, &o, &t, true, false);
    t.fail_at = 0;
    if (fs != NULL) {
        struct sk_filestore_stats st0, st;
        sk_filestore_stats(fs, &st0);
        if (sk_filestore_append(fs, NULL, 0) != 0) {
            fail("an empty append failed");
        }
        append_some(fs, &t, opts, seed);
        if (opts & OPT_COMPACT) {
            int rv = sk_filestore_compact(fs);
            if (rv != 0) {
                fail("compaction failed: %s: %s", sk_err_name(rv), sk_filestore_errmsg(fs));
            }
        }
        sk_filestore_stats(fs, &st);
        if (st.file_bytes > st.alloc_bytes) {
            fail("the log's end %llu is past the file's size %llu",
                 (unsigned long long)st.file_bytes, (unsigned long long)st.alloc_bytes);
        }
        if (opts & OPT_COMPACT) {
            /* just compacted: the log is the live records, in batches of
             * at most about 64 KiB */
            uint64_t live = live_size(&t);
            if (st.compactions <= st0.compactions || st.live_records != t.n ||
                st.live_bytes != live) {
                fail("compacted: live size %llu in %llu records, the registers hold %llu in %zu",
                     (unsigned long long)st.live_bytes, (unsigned long long)st.live_records,
                     (unsigned long long)live, t.n);
            }
            uint64_t lo = t.n ? live + BATCH_HDR : 0;
            uint64_t hi = t.n ? live + BATCH_HDR * (2 + live / 32768) : 0;
            if (st.file_bytes < lo || st.file_bytes > hi) {
                fail("compacted to %llu bytes, the live records are %llu",
                     (unsigned long long)st.file_bytes, (unsigned long long)live);
            }
        }
        sk_filestore_close(fs);
        /* everything live comes back, byte for byte, from a clean log */
        fs = open_checked(&s, &o, &again, true, true);
        table_same(&t, &again, "after reopening");
        sk_filestore_close(fs);
    }
    table_clear(&t);
    table_clear(&again);
    scratch_free(&s);
    return 0;
}

#ifdef SK_FUZZ_MAIN
#include "fuzz_main.h"

/* ---------------------------------------------------------------- seeds */

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

/* Logs are built here from the format, not by the store. */
struct lb {
    uint8_t buf[65536];
    size_t n;
    size_t batch; /* where the open batch starts */
};

static void lb_begin(struct lb *b)
{
    b->batch = b->n;
    b->n += BATCH_HDR;
}

static void lb_rec(struct lb *b, const char *key, uint64_t pr, uint64_t ar, const char *value)
{
    uint8_t *h = b->buf + b->n;
    size_t kl = strlen(key), vl = value ? strlen(value) : 0;
    put64(h, pr);
    put32(h + 8, 1);
    put64(h + 12, ar);
    put32(h + 20, ar ? 2 : 0);
    h[24] = (uint8_t)(kl >> 8);
    h[25] = (uint8_t)kl;
    put32(h + 26, (uint32_t)vl);
    memcpy(h + REC_HDR, key, kl);
    if (vl) {
        memcpy(h + REC_HDR + kl, value, vl);
    }
    b->n += REC_HDR + kl + vl;
}

static void lb_end(struct lb *b)
{
    uint8_t *h = b->buf + b->batch;
    uint32_t body = (uint32_t)(b->n - b->batch - BATCH_HDR);
    put32(h, MAGIC);
    put32(h + 4, body);
    put32(h + 8, sk_crc32(0, h + BATCH_HDR, body));
}

static void seed3(const char *dir, const char *name, uint8_t opts, uint8_t s, uint8_t faults,
                  const struct lb *b)
{
    static uint8_t in[65536 + 3];
    in[0] = opts;
    in[1] = s;
    in[2] = faults;
    memcpy(in + 3, b->buf, b->n);
    fuzz_write_seed(dir, name, in, b->n + 3);
}

static void seed(const char *dir, const char *name, uint8_t opts, uint8_t s, const struct lb *b)
{
    seed3(dir, name, opts, s, 0, b);
}

/* three batches on a few locks: promises, accepted values, a later promise */
static void three_batches(struct lb *b)
{
    memset(b, 0, sizeof *b);
    lb_begin(b);
    lb_rec(b, "printer", 3, 0, NULL);
    lb_rec(b, "door", 1, 1, "S\0");
    lb_end(b);
    lb_begin(b);
    lb_rec(b, "printer", 5, 5, "held by beaver");
    lb_end(b);
    lb_begin(b);
    lb_rec(b, "door", 7, 1, "S\0");
    lb_rec(b, "kettle", 2, 0, NULL);
    lb_end(b);
}

static int write_corpus(const char *dir)
{
    static struct lb b;
    three_batches(&b);
    seed(dir, "valid", 0, 1, &b);
    seed(dir, "valid-zero-tail", 2, 2, &b);
    seed(dir, "valid-compacting", OPT_LOW_THRESHOLDS | OPT_BIG_VALUES, 3, &b);
    seed(dir, "valid-compact", OPT_COMPACT | OPT_NODE_RECORD | 1, 7, &b);
    seed(dir, "valid-check-first", OPT_CHECK_FIRST | 3, 0, &b);
    seed(dir, "valid-real-chunks", OPT_LOW_THRESHOLDS | OPT_COMPACT, 0xf3, &b);
    seed3(dir, "load-fails-enomem", 0, 1, 3, &b);
    seed3(dir, "load-fails-positive", 2, 1, 0x40 | 2, &b);
    seed3(dir, "leftover-compaction", 0, 1, 0x80, &b);

    /* node records (key_len 0, no value) among the registers */
    memset(&b, 0, sizeof b);
    lb_begin(&b);
    lb_rec(&b, "", 1ull << 32, 1, NULL);
    lb_rec(&b, "printer", 3, 0, NULL);
    lb_end(&b);
    lb_begin(&b);
    lb_rec(&b, "", 1ull << 32 | 2, 3, NULL);
    lb_end(&b);
    seed(dir, "node-records", OPT_NODE_RECORD | OPT_COMPACT, 2, &b);

    /* a torn tail: the last batch cut in half, zeros after it */
    three_batches(&b);
    size_t full = b.n;
    b.n -= 20;
    seed(dir, "torn-tail", 2, 1, &b);
    b.n = full;
    /* a flipped bit in the last batch */
    b.buf[b.n - 3] ^= 0x10;
    seed(dir, "flipped-bit-tail", 1, 1, &b);

    /* a bad batch (its checksum broken) followed by a good one: refused */
    three_batches(&b);
    b.buf[BATCH_HDR + 5] ^= 0xff;
    seed(dir, "bad-then-good", 0, 0, &b);
    /* ... and with zeros between them */
    memset(&b, 0, sizeof b);
    lb_begin(&b);
    lb_rec(&b, "k", 7, 0, NULL);
    lb_end(&b);
    size_t first = b.n;
    b.buf[b.n++] = 1; /* garbage where the next batch should be */
    b.n = first + 200;
    lb_begin(&b);
    lb_rec(&b, "k", 8, 8, "v");
    lb_end(&b);
    seed(dir, "garbage-zeros-then-good", 0, 0, &b);

    /* a checksummed batch whose records do not parse: refused */
    memset(&b, 0, sizeof b);
    lb_begin(&b);
    lb_rec(&b, "k", 7, 0, NULL);
    lb_end(&b);
    lb_begin(&b);
    lb_rec(&b, "k", 8, 0, "value");
    put32(b.buf + b.n - 5 - 1 - 4, 6); /* value_len one past the body */
    lb_end(&b);
    seed(dir, "checksummed-malformed", 0, 0, &b);
    /* the same unsealed: resealed by the option byte */
    b.buf[b.batch + 8] ^= 1;
    seed(dir, "reseal-malformed", OPT_RESEAL, 0, &b);

    /* a key at SK_KEY_MAX and a value at SK_VALUE_MAX */
    memset(&b, 0, sizeof b);
    static char key[SK_KEY_MAX + 1], value[SK_VALUE_MAX + 1];
    memset(key, 'k', SK_KEY_MAX);
    memset(value, 'v', SK_VALUE_MAX);
    lb_begin(&b);
    lb_rec(&b, key, 9, 9, value);
    lb_end(&b);
    seed(dir, "largest-record", OPT_BIG_VALUES | OPT_COMPACT, 5, &b);

    /* nothing; only zeros */
    memset(&b, 0, sizeof b);
    seed(dir, "empty", 0, 0, &b);
    b.n = 300;
    seed(dir, "zeros", 3, 0, &b);
    return 0;
}
#endif
