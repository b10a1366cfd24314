/* filestore.c - the durable acceptor log (filestore.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "store/filestore.h"

#define BATCH_MAGIC 0x534b4231u /* "SKB1" */
#define BATCH_HDR 12
#define REC_HDR 30
#define BATCH_MAX (64u * 1024 * 1024)
#define COMPACT_BATCH (64u * 1024) /* compaction writes batches of about this size */
#define WBUF_KEEP (256u * 1024)    /* a bigger write buffer is freed after use */
#define PREALLOC (1u << 20)        /* the log grows by zero-filled chunks of this size */
#define PREALLOC_MIN 4096u         /* the smallest chunk a test may ask for */
#define ZBLOCK (64u * 1024)        /* zeros are written and scanned a block at a time */

static const uint8_t zeros[ZBLOCK];

struct sk_filestore {
    int fd;
    char path[4096];
    char tmp_path[4096];
    char dir[4096];
    struct sk_filestore_opts opts;
    struct sk_filestore_source src;
    uint64_t file_bytes;               /* the log's logical end: after the last batch */
    uint64_t alloc_bytes;              /* the file's size; zeros from file_bytes on */
    uint64_t live_bytes, live_records; /* as last measured */
    uint64_t next_check;               /* measure live again past this size */
    struct sk_filestore_stats stats;
    uint8_t *wbuf;
    size_t wcap;
    char notice[512];
    char errmsg[SK_ERRMSG_LEN];
};

/* ----------------------------------------------------------------- CRC */

static uint32_t crc_table[256];
static bool crc_ready;

uint32_t sk_crc32(uint32_t crc, const void *data, size_t len)
{
    if (!crc_ready) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) {
                c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
            }
            crc_table[i] = c;
        }
        crc_ready = true;
    }
    const uint8_t *p = data;
    crc = ~crc;
    for (size_t i = 0; i < len; i++) {
        crc = crc_table[(crc ^ p[i]) & 0xffu] ^ (crc >> 8);
    }
    return ~crc;
}

/* ------------------------------------------------------------ records */

static uint64_t rec_size(uint32_t key_len, uint32_t value_len)
{
    return REC_HDR + (uint64_t)key_len + value_len;
}

/* key_len 0 is the node record (sk.h), which has no value */
static bool rec_ok(const struct sk_persist *p)
{
    return p->key_len <= SK_KEY_MAX && p->value_len <= SK_VALUE_MAX &&
           (p->key_len > 0 || p->value_len == 0);
}

static uint8_t *put_rec(uint8_t *w, const struct sk_persist *p)
{
    w = sk__put64(w, p->promised.round);
    w = sk__put32(w, p->promised.node);
    w = sk__put64(w, p->accepted.round);
    w = sk__put32(w, p->accepted.node);
    w = sk__put16(w, p->key_len);
    w = sk__put32(w, p->value_len);
    /* the node record's key may be NULL (sk_node_record leaves it so), and
     * memcpy from NULL is undefined even for 0 bytes */
    if (p->key_len) {
        memcpy(w, p->key, p->key_len);
    }
    w += p->key_len;
    if (p->value_len) {
        memcpy(w, p->value, p->value_len);
    }
    return w + p->value_len;
}

/* Write the header of the batch whose body of body bytes follows b. */
static void seal_batch(uint8_t *b, size_t body)
{
    sk__put32(b, BATCH_MAGIC);
    sk__put32(b + 4, (uint32_t)body);
    sk__put32(b + 8, sk_crc32(0, b + BATCH_HDR, body));
}

static int wbuf_reserve(struct sk_filestore *fs, size_t need)
{
    if (need <= fs->wcap) {
        return 0;
    }
    size_t cap = fs->wcap ? fs->wcap : 4096;
    while (cap < need) {
        cap *= 2;
    }
    uint8_t *b = sk__realloc(fs->wbuf, cap);
    if (b == NULL) {
        return SK_ENOMEM;
    }
    fs->wbuf = b;
    fs->wcap = cap;
    return 0;
}

/* A large write buffer (a big batch) is not kept between batches. */
static void wbuf_trim(struct sk_filestore *fs)
{
    if (fs->wcap > WBUF_KEEP) {
        sk__free(fs->wbuf);
        fs->wbuf = NULL;
        fs->wcap = 0;
    }
}

/* ------------------------------------------------------------- replay */

/* Is there a well-formed batch at data[off..len)? Returns its total size or
 * 0. */
static size_t batch_at(const uint8_t *data, size_t len, size_t off)
{
    if (len - off < BATCH_HDR || sk__get32(data + off) != BATCH_MAGIC) {
        return 0;
    }
    uint32_t body = sk__get32(data + off + 4);
    if (body > BATCH_MAX || body > len - off - BATCH_HDR) {
        return 0;
    }
    if (sk_crc32(0, data + off + BATCH_HDR, body) != sk__get32(data + off + 8)) {
        return 0;
    }
    return BATCH_HDR + (size_t)body;
}

/* Parse one checksummed batch body; hand each record to the load callback
 * when deliver, else only check the layout. SK_ECORRUPT: malformed. */
static int replay_body(struct sk_filestore *fs, const uint8_t *p, size_t len, bool deliver)
{
    size_t off = 0;
    while (off < len) {
        if (len - off < REC_HDR) {
            return SK_ECORRUPT;
        }
        const uint8_t *h = p + off;
        struct sk_persist rec;
        rec.promised.round = sk__get64(h);
        rec.promised.node = sk__get32(h + 8);
        rec.accepted.round = sk__get64(h + 12);
        rec.accepted.node = sk__get32(h + 20);
        rec.key_len = sk__get16(h + 24);
        rec.value_len = sk__get32(h + 26);
        if (!rec_ok(&rec) || len - off - REC_HDR < (size_t)rec.key_len + rec.value_len) {
            return SK_ECORRUPT;
        }
        rec.key = h + REC_HDR;
        rec.value = rec.value_len ? h + REC_HDR + rec.key_len : NULL;
        if (deliver) {
            if (fs->src.load != NULL) {
                int rv = fs->src.load(fs->src.ctx, &rec);
                if (rv != 0) {
                    /* SK_ECORRUPT is reserved here for malformed records */
                    return rv > 0 || rv == SK_ECORRUPT ? SK_EINVAL : rv;
                }
            }
            fs->stats.records++;
        }
        off += REC_HDR + (size_t)rec.key_len + rec.value_len;
    }
    return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n, off_t at)
{
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, at);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0) {
            return -errno;
        }
        p += w;
        n -= (size_t)w;
        at += w;
    }
    return 0;
}

/* Write zero bytes over [from, to) of fd: real zeros, not fallocate, so
 * that later writes there change no metadata (an unwritten extent would
 * have to be converted, a journal commit again). */
static int write_zeros(int fd, uint64_t from, uint64_t to)
{
    while (from < to) {
        size_t n = to - from < ZBLOCK ? (size_t)(to - from) : ZBLOCK;
        int rv = write_all(fd, zeros, n, (off_t)from);
        if (rv != 0) {
            return rv;
        }
        from += n;
    }
    return 0;
}

/* The size to grow a log to so that it holds need bytes: whole chunks, at
 * least floor. */
static uint64_t grow_to(uint64_t need, uint64_t floor, uint64_t chunk)
{
    uint64_t n = need > floor ? need : floor;
    return (n + chunk - 1) / chunk * chunk;
}

/* Read exactly n bytes at offset at: 0, -errno, or SK_EIO when the file is
 * shorter than expected. */
static int read_at(int fd, uint8_t *buf, size_t n, off_t at)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, buf + got, n - got, at + (off_t)got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return r < 0 ? -errno : SK_EIO;
        }
        got += (size_t)r;
    }
    return 0;
}

static int sync_dir(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd < 0) {
        return -errno;
    }
    int rv = fsync(dfd) == 0 ? 0 : -errno;
    close(dfd);
    return rv;
}

static void io_error(struct sk_filestore *fs, int rv, char *err, size_t errlen)
{
    snprintf(err, errlen, "cannot read %s: %s", fs->path,
             rv == SK_ENOMEM ? "out of memory"
             : rv == SK_EIO  ? "the file changed while loading"
                             : strerror(-rv));
}

/* One pass over the batches in [0, len), a batch at a time through *buf.
 * Stops at the first bad batch (its offset in *end; len when none). With
 * deliver, the records go to the load callback. Returns 0, or an error with
 * err filled (SK_ECORRUPT for a well-checksummed batch that does not
 * parse). */
static int pass(struct sk_filestore *fs, size_t len, bool deliver, uint8_t **buf, size_t *cap,
                size_t *end, char *err, size_t errlen)
{
    size_t off = 0;
    uint8_t hdr[BATCH_HDR];
    while (off < len) {
        if (len - off < BATCH_HDR) {
            break;
        }
        int rv = read_at(fs->fd, hdr, BATCH_HDR, (off_t)off);
        if (rv != 0) {
            io_error(fs, rv, err, errlen);
            return SK_EIO;
        }
        uint32_t body = sk__get32(hdr + 4);
        if (sk__get32(hdr) != BATCH_MAGIC || body > BATCH_MAX || body > len - off - BATCH_HDR) {
            break;
        }
        if (body > *cap) {
            uint8_t *b = sk__realloc(*buf, body);
            if (b == NULL) {
                snprintf(err, errlen, "%s: out of memory while loading", fs->path);
                return SK_ENOMEM;
            }
            *buf = b;
            *cap = body;
        }
        rv = read_at(fs->fd, *buf, body, (off_t)(off + BATCH_HDR));
        if (rv != 0) {
            io_error(fs, rv, err, errlen);
            return SK_EIO;
        }
        if (sk_crc32(0, *buf, body) != sk__get32(hdr + 8)) {
            break;
        }
        rv = replay_body(fs, *buf, body, deliver);
        if (rv == SK_ECORRUPT) {
            /* the checksum matched but the records do not parse: written
             * by something else, never by us */
            snprintf(err, errlen,
                     "%s: batch at offset %zu passes its checksum but holds malformed records; "
                     "refusing to guess (move the file away to start this instance empty, "
                     "which forgets its promises)",
                     fs->path, off);
            return SK_ECORRUPT;
        }
        if (rv != 0) {
            snprintf(err, errlen, "%s: cannot restore a record of the batch at offset %zu: %s",
                     fs->path, off, sk_strerror(rv));
            return rv;
        }
        if (deliver) {
            fs->stats.batches++;
        }
        off += BATCH_HDR + (size_t)body;
    }
    *end = off;
    return 0;
}

/* Where the bytes of [from, len) that are not zero end: the offset after
 * the last nonzero byte, or from when they are all zero (the preallocated
 * tail). Reads backwards a block at a time. */
static int nonzero_end(struct sk_filestore *fs, size_t from, size_t len, size_t *end, char *err,
                       size_t errlen)
{
    uint8_t *buf = sk__malloc(ZBLOCK);
    if (buf == NULL) {
        snprintf(err, errlen, "%s: out of memory while loading", fs->path);
        return SK_ENOMEM;
    }
    *end = from;
    size_t hi = len;
    while (hi > from) {
        size_t n = hi - from < ZBLOCK ? hi - from : ZBLOCK;
        int rv = read_at(fs->fd, buf, n, (off_t)(hi - n));
        if (rv != 0) {
            io_error(fs, rv, err, errlen);
            sk__free(buf);
            return SK_EIO;
        }
        if (buf[0] != 0 || memcmp(buf, buf + 1, n - 1) != 0) {
            size_t i = n;
            while (buf[i - 1] == 0) {
                i--;
            }
            *end = hi - n + i;
            break;
        }
        hi -= n;
    }
    sk__free(buf);
    return 0;
}

/* A bad batch at off; nonzero bytes up to nz, then zeros up to len. Only a
 * tail nobody acknowledged may be dropped: look for any good batch after
 * it. A batch starts with its nonzero magic, so before nz; it may end in
 * the zeros. */
static int check_tail(struct sk_filestore *fs, size_t off, size_t nz, size_t len, char *err,
                      size_t errlen)
{
    size_t n = len - off;
    if (n - (nz - off) > BATCH_HDR + BATCH_MAX) {
        n = nz - off + BATCH_HDR + BATCH_MAX;
    }
    uint8_t *rest = sk__malloc(n ? n : 1);
    if (rest == NULL) {
        snprintf(err, errlen, "%s: out of memory while loading", fs->path);
        return SK_ENOMEM;
    }
    int rv = read_at(fs->fd, rest, n, (off_t)off);
    if (rv != 0) {
        io_error(fs, rv, err, errlen);
        sk__free(rest);
        return SK_EIO;
    }
    for (size_t o = 1; o < nz - off && o + BATCH_HDR <= n; o++) {
        if (batch_at(rest, n, o) != 0) {
            snprintf(err, errlen,
                     "%s: corrupt batch at offset %zu followed by a valid one at offset %zu: "
                     "acknowledged state was lost; refusing to start (move the file away to "
                     "start this instance empty, which forgets its promises)",
                     fs->path, off, off + o);
            sk__free(rest);
            return SK_ECORRUPT;
        }
    }
    sk__free(rest);
    return 0;
}

static int measure_live(struct sk_filestore *fs);

static int replay(struct sk_filestore *fs, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(fs->fd, &st) != 0) {
        snprintf(err, errlen, "cannot read %s: %s", fs->path, strerror(errno));
        return SK_EIO;
    }
    size_t len = (size_t)st.st_size, good = 0;
    uint8_t *buf = NULL;
    size_t cap = 0;
    /* first pass: check everything, deliver nothing */
    int rv = pass(fs, len, false, &buf, &cap, &good, err, errlen);
    /* past the good prefix: zeros (the preallocated tail), or a torn or
     * corrupt batch and then zeros */
    size_t nz = good;
    if (rv == 0 && good < len) {
        rv = nonzero_end(fs, good, len, &nz, err, errlen);
    }
    if (rv == 0 && nz > good) {
        rv = check_tail(fs, good, nz, len, err, errlen);
        if (rv == 0) {
            snprintf(fs->notice, sizeof fs->notice,
                     "%s: discarded a torn or corrupt tail of %zu bytes at offset %zu (a write "
                     "interrupted by a crash; it was never acknowledged)",
                     fs->path, nz - good, good);
            /* zeroed, not truncated: the file keeps its preallocated size */
            int zr = write_zeros(fs->fd, good, nz);
            if (zr == 0 && fdatasync(fs->fd) != 0) {
                zr = -errno;
            }
            if (zr != 0) {
                snprintf(err, errlen, "%s: cannot clear the corrupt tail at offset %zu: %s",
                         fs->path, good, strerror(-zr));
                rv = SK_EIO;
            }
        }
    }
    /* second pass: deliver the good prefix */
    size_t end = 0;
    if (rv == 0) {
        rv = pass(fs, good, true, &buf, &cap, &end, err, errlen);
    }
    if (rv == 0 && end != good) {
        snprintf(err, errlen, "cannot read %s: the file changed while loading", fs->path);
        rv = SK_EIO;
    }
    sk__free(buf);
    if (rv != 0) {
        return rv;
    }
    fs->file_bytes = good;
    fs->alloc_bytes = len;
    rv = measure_live(fs);
    if (rv != 0) {
        snprintf(err, errlen, "%s: %s", fs->path, fs->errmsg);
    }
    return rv;
}

/* --------------------------------------------------------------- API */

int sk_filestore_open(struct sk_filestore **out, const char *dir,
                      const struct sk_filestore_opts *opts,
                      const struct sk_filestore_source *src, char *err, size_t errlen)
{
    *out = NULL;
    struct sk_filestore *fs = sk__malloc(sizeof *fs);
    if (fs == NULL) {
        snprintf(err, errlen, "out of memory");
        return SK_ENOMEM;
    }
    memset(fs, 0, sizeof *fs);
    fs->fd = -1;
    if (opts != NULL) {
        fs->opts = *opts;
    }
    if (src != NULL) {
        fs->src = *src;
    }
    if (fs->opts.compact_ratio == 0) {
        fs->opts.compact_ratio = 4;
    }
    if (fs->opts.min_compact == 0) {
        fs->opts.min_compact = 1u << 20;
    }
    if (fs->opts.prealloc == 0) {
        fs->opts.prealloc = PREALLOC;
    } else if (fs->opts.prealloc < PREALLOC_MIN) {
        fs->opts.prealloc = PREALLOC_MIN;
    }
    if (strlen(dir) + 32 > sizeof fs->path) {
        snprintf(err, errlen, "data directory path too long");
        sk__free(fs);
        return SK_EINVAL;
    }
    snprintf(fs->dir, sizeof fs->dir, "%s", dir);
    snprintf(fs->path, sizeof fs->path, "%s/acceptor.log", dir);
    snprintf(fs->tmp_path, sizeof fs->tmp_path, "%s/acceptor.log.tmp", dir);
    struct stat st;
    int st_rv = stat(dir, &st);
    if (st_rv != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "data directory %s: %s", dir,
                 st_rv != 0 ? strerror(errno) : "not a directory");
        sk__free(fs);
        return SK_EIO;
    }
    unlink(fs->tmp_path); /* a compaction the crash interrupted */
    bool existed = access(fs->path, F_OK) == 0;
    fs->fd = open(fs->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fs->fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", fs->path, strerror(errno));
        sk__free(fs);
        return SK_EIO;
    }
    if (!existed && !fs->opts.no_sync && (fsync(fs->fd) != 0 || sync_dir(dir) != 0)) {
        snprintf(err, errlen, "cannot sync new %s: %s", fs->path, strerror(errno));
        sk_filestore_close(fs);
        return SK_EIO;
    }
    int rv = replay(fs, err, errlen);
    if (rv != 0) {
        sk_filestore_close(fs);
        return rv;
    }
    *out = fs;
    return 0;
}

void sk_filestore_close(struct sk_filestore *fs)
{
    if (fs == NULL) {
        return;
    }
    if (fs->fd >= 0) {
        close(fs->fd);
    }
    sk__free(fs->wbuf);
    sk__free(fs);
}

const char *sk_filestore_notice(const struct sk_filestore *fs)
{
    return fs->notice;
}

const char *sk_filestore_errmsg(const struct sk_filestore *fs)
{
    return fs->errmsg;
}

void sk_filestore_stats(const struct sk_filestore *fs, struct sk_filestore_stats *out)
{
    *out = fs->stats;
    out->file_bytes = fs->file_bytes;
    out->alloc_bytes = fs->alloc_bytes;
    out->live_bytes = fs->live_bytes;
    out->live_records = fs->live_records;
}

/* Encode records as one batch into fs->wbuf; returns its size. */
static int encode_batch(struct sk_filestore *fs, const struct sk_persist *p, size_t n,
                        size_t *size)
{
    size_t body = 0;
    for (size_t i = 0; i < n; i++) {
        if (!rec_ok(&p[i])) {
            snprintf(fs->errmsg, sizeof fs->errmsg, "record %zu: bad sizes", i);
            return SK_EINVAL;
        }
        body += (size_t)rec_size(p[i].key_len, p[i].value_len);
    }
    if (body > BATCH_MAX) {
        snprintf(fs->errmsg, sizeof fs->errmsg, "batch of %zu bytes too large", body);
        return SK_ETOOBIG;
    }
    if (wbuf_reserve(fs, BATCH_HDR + body) != 0) {
        snprintf(fs->errmsg, sizeof fs->errmsg, "out of memory");
        return SK_ENOMEM;
    }
    uint8_t *w = fs->wbuf + BATCH_HDR;
    for (size_t i = 0; i < n; i++) {
        w = put_rec(w, &p[i]);
    }
    seal_batch(fs->wbuf, body);
    *size = BATCH_HDR + body;
    return 0;
}

/* Past this log size the live size is measured again: ratio x live, and
 * after a check that did not compact at least one live size of appends
 * later, so that walking the live records costs O(1) per appended byte. */
static void set_next_check(struct sk_filestore *fs, bool checked)
{
    uint64_t at_ratio = (uint64_t)fs->opts.compact_ratio * (fs->live_bytes + BATCH_HDR);
    uint64_t grown = fs->file_bytes + fs->live_bytes + BATCH_HDR;
    fs->next_check = checked && grown > at_ratio ? grown : at_ratio;
}

/* Walk the live records to learn their size. */
static int measure_live(struct sk_filestore *fs)
{
    fs->live_bytes = fs->live_records = 0;
    if (fs->src.live == NULL) {
        fs->next_check = UINT64_MAX;
        return 0;
    }
    size_t cur = 0;
    struct sk_persist p;
    while (fs->src.live(fs->src.ctx, &cur, &p)) {
        if (!rec_ok(&p)) {
            snprintf(fs->errmsg, sizeof fs->errmsg, "a live record has bad sizes");
            return SK_EINVAL;
        }
        fs->live_bytes += rec_size(p.key_len, p.value_len);
        fs->live_records++;
    }
    set_next_check(fs, false);
    return 0;
}

/* Grow the log with written, synced zeros so that it holds need bytes: a
 * chunk, or more for a bigger batch. On failure the zeros written so far
 * are harmless and alloc_bytes is unchanged. */
static int extend(struct sk_filestore *fs, uint64_t need)
{
    uint64_t to = grow_to(need, fs->alloc_bytes + fs->opts.prealloc, fs->opts.prealloc);
    int rv = write_zeros(fs->fd, fs->alloc_bytes, to);
    if (rv == 0 && !fs->opts.no_sync && fdatasync(fs->fd) != 0) {
        rv = -errno;
    }
    if (rv != 0) {
        snprintf(fs->errmsg, sizeof fs->errmsg, "cannot extend %s to %llu bytes: %s", fs->path,
                 (unsigned long long)to, strerror(-rv));
        return SK_EIO;
    }
    fs->alloc_bytes = to;
    fs->stats.extensions++;
    fs->stats.syncs++;
    return 0;
}

int sk_filestore_append(struct sk_filestore *fs, const struct sk_persist *p, size_t n)
{
    if (n == 0) {
        return 0;
    }
    fs->errmsg[0] = 0;
    size_t size;
    int rv = encode_batch(fs, p, n, &size);
    if (rv != 0) {
        return rv;
    }
    if (fs->file_bytes + size > fs->alloc_bytes) {
        rv = extend(fs, fs->file_bytes + size);
        if (rv != 0) {
            wbuf_trim(fs);
            return rv;
        }
    }
    /* into the zeros: the file's size does not change, so fdatasync
     * writes the data without committing metadata */
    rv = write_all(fs->fd, fs->wbuf, size, (off_t)fs->file_bytes);
    if (rv == 0 && !fs->opts.no_sync && fdatasync(fs->fd) != 0) {
        rv = -errno;
    }
    wbuf_trim(fs);
    if (rv != 0) {
        snprintf(fs->errmsg, sizeof fs->errmsg, "cannot write %s: %s", fs->path, strerror(-rv));
        /* zero whatever part of the batch made it, so the next append does
         * not land behind garbage (best effort: else the next open reports
         * the tail) */
        if (write_zeros(fs->fd, fs->file_bytes, fs->file_bytes + size) == 0 &&
            !fs->opts.no_sync && fdatasync(fs->fd) != 0) {
            /* as above */
        }
        return SK_EIO;
    }
    fs->file_bytes += size;
    fs->stats.batches++;
    fs->stats.syncs++;
    fs->stats.records += n;
    if (fs->file_bytes > fs->opts.min_compact && fs->file_bytes > fs->next_check) {
        /* the old log is intact and still durable whatever happens here */
        if (measure_live(fs) != 0 ||
            fs->file_bytes <= (uint64_t)fs->opts.compact_ratio * (fs->live_bytes + BATCH_HDR) ||
            sk_filestore_compact(fs) != 0) {
            set_next_check(fs, true);
        }
    }
    return 0;
}

/* Write the batch in fs->wbuf (body bytes) at *at of fd. */
static int flush_batch(struct sk_filestore *fs, int fd, size_t body, uint64_t *at)
{
    seal_batch(fs->wbuf, body);
    int rv = write_all(fd, fs->wbuf, BATCH_HDR + body, (off_t)*at);
    *at += BATCH_HDR + body;
    return rv;
}

int sk_filestore_compact(struct sk_filestore *fs)
{
    if (fs->src.live == NULL) {
        snprintf(fs->errmsg, sizeof fs->errmsg, "compaction: no live records to write from");
        return SK_EINVAL;
    }
    int fd = open(fs->tmp_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(fs->errmsg, sizeof fs->errmsg, "compaction: cannot create %s: %s",
                 fs->tmp_path, strerror(errno));
        return SK_EIO;
    }
    /* the live records as batches of about COMPACT_BATCH bytes */
    uint64_t at = 0, live = 0, count = 0;
    size_t body = 0, cur = 0;
    struct sk_persist p;
    int rv = 0;
    while (rv == 0 && fs->src.live(fs->src.ctx, &cur, &p)) {
        if (!rec_ok(&p)) {
            snprintf(fs->errmsg, sizeof fs->errmsg, "compaction: a live record has bad sizes");
            rv = SK_EINVAL;
            break;
        }
        size_t sz = (size_t)rec_size(p.key_len, p.value_len);
        if (body > 0 && BATCH_HDR + body + sz > COMPACT_BATCH) {
            rv = flush_batch(fs, fd, body, &at);
            body = 0;
        }
        if (rv == 0 && wbuf_reserve(fs, BATCH_HDR + body + sz) != 0) {
            snprintf(fs->errmsg, sizeof fs->errmsg, "compaction: out of memory");
            rv = SK_ENOMEM;
        }
        if (rv == 0) {
            put_rec(fs->wbuf + BATCH_HDR + body, &p);
            body += sz;
            live += sz;
            count++;
        }
    }
    if (rv == 0 && body > 0) {
        rv = flush_batch(fs, fd, body, &at);
    }
    wbuf_trim(fs);
    /* the new log gets its zero tail before the sync, so the first append
     * after the rename does not have to extend it */
    uint64_t alloc = grow_to(at + fs->opts.prealloc, 0, fs->opts.prealloc);
    if (rv == 0) {
        rv = write_zeros(fd, at, alloc);
    }
    if (rv == 0 && !fs->opts.no_sync && fsync(fd) != 0) {
        rv = -errno;
    }
    if (rv == 0 && rename(fs->tmp_path, fs->path) != 0) {
        rv = -errno;
    }
    if (rv != 0) {
        if (rv != SK_EINVAL && rv != SK_ENOMEM) {
            snprintf(fs->errmsg, sizeof fs->errmsg, "compaction of %s failed: %s", fs->path,
                     strerror(-rv));
            rv = SK_EIO;
        }
        close(fd);
        unlink(fs->tmp_path);
        return rv;
    }
    if (!fs->opts.no_sync && sync_dir(fs->dir) != 0) {
        /* the rename may not be durable yet, but both files hold the live
         * state, so either is correct after a crash */
    }
    close(fs->fd);
    fs->fd = fd;
    fs->file_bytes = at;
    fs->alloc_bytes = alloc;
    fs->live_bytes = live;
    fs->live_records = count;
    set_next_check(fs, false);
    fs->stats.compactions++;
    return 0;
}
