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

struct rec {
    struct sk_ballot promised, accepted;
    uint32_t key_len, value_len;
    uint8_t *key;   /* owned */
    uint8_t *value; /* owned, may be NULL */
};

struct sk_filestore {
    int fd;
    char path[4096];
    char tmp_path[4096];
    char dir[4096];
    struct sk_filestore_opts opts;
    struct rec *recs;
    size_t n, cap;
    size_t *index; /* open addressing: rec index + 1, 0 empty */
    size_t n_index;
    uint64_t file_bytes, live_bytes;
    struct sk_filestore_stats stats;
    uint8_t *wbuf;
    size_t wcap;
    char notice[512];
    char errmsg[SK_ERRMSG_LEN];
};

/* ----------------------------------------------------------------- CRC */

uint32_t sk_crc32(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = data;
    crc = ~crc;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

/* -------------------------------------------------------------- bytes */

static uint8_t *put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--) {
        *p++ = (uint8_t)(v >> (8 * i));
    }
    return p;
}

static uint8_t *put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        *p++ = (uint8_t)(v >> (8 * i));
    }
    return p;
}

static uint32_t get16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* -------------------------------------------------------------- index */

static uint64_t hash_key(const uint8_t *k, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h = (h ^ k[i]) * 1099511628211ull;
    }
    return h;
}

static size_t *slot_for(size_t *index, size_t n_index, const struct rec *recs, const uint8_t *k,
                        size_t len)
{
    size_t i = (size_t)hash_key(k, len) & (n_index - 1);
    for (;;) {
        size_t v = index[i];
        if (v == 0) {
            return &index[i];
        }
        const struct rec *r = &recs[v - 1];
        if (r->key_len == len && memcmp(r->key, k, len) == 0) {
            return &index[i];
        }
        i = (i + 1) & (n_index - 1);
    }
}

static int index_grow(struct sk_filestore *fs)
{
    size_t n = fs->n_index ? fs->n_index * 2 : 64;
    size_t *idx = sk__malloc(n * sizeof *idx);
    if (idx == NULL) {
        return SK_ENOMEM;
    }
    memset(idx, 0, n * sizeof *idx);
    for (size_t i = 0; i < fs->n; i++) {
        *slot_for(idx, n, fs->recs, fs->recs[i].key, fs->recs[i].key_len) = i + 1;
    }
    sk__free(fs->index);
    fs->index = idx;
    fs->n_index = n;
    return 0;
}

static uint64_t rec_size(uint32_t key_len, uint32_t value_len)
{
    return REC_HDR + (uint64_t)key_len + value_len;
}

/* Remember p as the key's latest record. */
static int put_rec(struct sk_filestore *fs, const struct sk_persist *p)
{
    if ((fs->n + 1) * 2 > fs->n_index && index_grow(fs) != 0) {
        return SK_ENOMEM;
    }
    size_t *slot = slot_for(fs->index, fs->n_index, fs->recs, p->key, p->key_len);
    uint8_t *value = NULL;
    if (p->value_len) {
        value = sk__malloc(p->value_len);
        if (value == NULL) {
            return SK_ENOMEM;
        }
        memcpy(value, p->value, p->value_len);
    }
    struct rec *r;
    if (*slot != 0) {
        r = &fs->recs[*slot - 1];
        fs->live_bytes -= rec_size(r->key_len, r->value_len);
        sk__free(r->value);
    } else {
        if (fs->n == fs->cap) {
            size_t cap = fs->cap ? fs->cap * 2 : 64;
            struct rec *v = sk__realloc(fs->recs, cap * sizeof *v);
            if (v == NULL) {
                sk__free(value);
                return SK_ENOMEM;
            }
            fs->recs = v;
            fs->cap = cap;
        }
        uint8_t *key = sk__malloc(p->key_len ? p->key_len : 1);
        if (key == NULL) {
            sk__free(value);
            return SK_ENOMEM;
        }
        memcpy(key, p->key, p->key_len);
        r = &fs->recs[fs->n++];
        r->key = key;
        r->key_len = p->key_len;
        *slot = fs->n;
    }
    r->promised = p->promised;
    r->accepted = p->accepted;
    r->value = value;
    r->value_len = p->value_len;
    fs->live_bytes += rec_size(r->key_len, r->value_len);
    return 0;
}

/* ------------------------------------------------------------- replay */

/* Is there a well-formed batch at data[off..len)? Returns its total size or
 * 0. */
static size_t batch_at(const uint8_t *data, size_t len, size_t off)
{
    if (len - off < BATCH_HDR || get32(data + off) != BATCH_MAGIC) {
        return 0;
    }
    uint32_t body = get32(data + off + 4);
    if (body > BATCH_MAX || body > len - off - BATCH_HDR) {
        return 0;
    }
    if (sk_crc32(0, data + off + BATCH_HDR, body) != get32(data + off + 8)) {
        return 0;
    }
    return BATCH_HDR + (size_t)body;
}

/* Parse one checksummed batch body into records. */
static int replay_body(struct sk_filestore *fs, const uint8_t *p, size_t len)
{
    size_t off = 0;
    while (off < len) {
        if (len - off < REC_HDR) {
            return SK_ECORRUPT;
        }
        const uint8_t *h = p + off;
        struct sk_persist rec;
        rec.promised.round = get64(h);
        rec.promised.node = get32(h + 8);
        rec.accepted.round = get64(h + 12);
        rec.accepted.node = get32(h + 20);
        rec.key_len = get16(h + 24);
        rec.value_len = get32(h + 26);
        if (rec.key_len == 0 || rec.key_len > SK_KEY_MAX || rec.value_len > SK_VALUE_MAX ||
            len - off - REC_HDR < (size_t)rec.key_len + rec.value_len) {
            return SK_ECORRUPT;
        }
        rec.key = h + REC_HDR;
        rec.value = rec.value_len ? h + REC_HDR + rec.key_len : NULL;
        int rv = put_rec(fs, &rec);
        if (rv != 0) {
            return rv;
        }
        fs->stats.records++;
        off += REC_HDR + (size_t)rec.key_len + rec.value_len;
    }
    return 0;
}

static int read_all(int fd, uint8_t **out, size_t *len)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        return -errno;
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = sk__malloc(n ? n : 1);
    if (buf == NULL) {
        return SK_ENOMEM;
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, buf + got, n - got, (off_t)got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            int e = r < 0 ? -errno : SK_EIO;
            sk__free(buf);
            return e;
        }
        got += (size_t)r;
    }
    *out = buf;
    *len = n;
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

static int replay(struct sk_filestore *fs, char *err, size_t errlen)
{
    uint8_t *data = NULL;
    size_t len = 0;
    int rv = read_all(fs->fd, &data, &len);
    if (rv != 0) {
        snprintf(err, errlen, "cannot read %s: %s", fs->path,
                 rv == SK_ENOMEM ? "out of memory" : strerror(-rv));
        return rv == SK_ENOMEM ? rv : SK_EIO;
    }
    size_t off = 0;
    while (off < len) {
        size_t sz = batch_at(data, len, off);
        if (sz == 0) {
            break;
        }
        rv = replay_body(fs, data + off + BATCH_HDR, sz - BATCH_HDR);
        if (rv == SK_ECORRUPT) {
            /* the checksum matched but the records do not parse: written
             * by something else, never by us */
            snprintf(err, errlen,
                     "%s: batch at offset %zu passes its checksum but holds malformed records; "
                     "refusing to guess (move the file away to start this instance empty, "
                     "which forgets its promises)",
                     fs->path, off);
            sk__free(data);
            return SK_ECORRUPT;
        }
        if (rv != 0) {
            snprintf(err, errlen, "%s: out of memory while loading", fs->path);
            sk__free(data);
            return rv;
        }
        fs->stats.batches++;
        off += sz;
    }
    if (off < len) {
        /* A bad batch. Only a tail nobody acknowledged may be dropped: look
         * for any good batch after it. */
        for (size_t o = off + 1; o + BATCH_HDR <= len; o++) {
            if (batch_at(data, len, o) != 0) {
                snprintf(err, errlen,
                         "%s: corrupt batch at offset %zu followed by a valid one at offset %zu: "
                         "acknowledged state was lost; refusing to start (move the file away to "
                         "start this instance empty, which forgets its promises)",
                         fs->path, off, o);
                sk__free(data);
                return SK_ECORRUPT;
            }
        }
        snprintf(fs->notice, sizeof fs->notice,
                 "%s: discarded a torn or corrupt tail of %zu bytes at offset %zu (a write "
                 "interrupted by a crash; it was never acknowledged)",
                 fs->path, len - off, off);
        if (ftruncate(fs->fd, (off_t)off) != 0 || fdatasync(fs->fd) != 0) {
            snprintf(err, errlen, "%s: cannot truncate the corrupt tail at offset %zu: %s",
                     fs->path, off, strerror(errno));
            sk__free(data);
            return SK_EIO;
        }
    }
    sk__free(data);
    fs->file_bytes = off;
    return 0;
}

/* --------------------------------------------------------------- API */

int sk_filestore_open(struct sk_filestore **out, const char *dir,
                      const struct sk_filestore_opts *opts, char *err, size_t errlen)
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
    if (fs->opts.compact_ratio == 0) {
        fs->opts.compact_ratio = 4;
    }
    if (fs->opts.min_compact == 0) {
        fs->opts.min_compact = 1u << 20;
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
    for (size_t i = 0; i < fs->n; i++) {
        sk__free(fs->recs[i].key);
        sk__free(fs->recs[i].value);
    }
    sk__free(fs->recs);
    sk__free(fs->index);
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

size_t sk_filestore_count(const struct sk_filestore *fs)
{
    return fs->n;
}

bool sk_filestore_next(const struct sk_filestore *fs, size_t *cursor, struct sk_persist *out)
{
    if (*cursor >= fs->n) {
        return false;
    }
    const struct rec *r = &fs->recs[(*cursor)++];
    out->key = r->key;
    out->key_len = r->key_len;
    out->promised = r->promised;
    out->accepted = r->accepted;
    out->value = r->value;
    out->value_len = r->value_len;
    return true;
}

void sk_filestore_stats(const struct sk_filestore *fs, struct sk_filestore_stats *out)
{
    *out = fs->stats;
    out->file_bytes = fs->file_bytes;
    out->live_bytes = fs->live_bytes;
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

/* Encode records as one batch into fs->wbuf; returns its size. */
static int encode_batch(struct sk_filestore *fs, const struct sk_persist *p, size_t n,
                        size_t *size)
{
    size_t body = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i].key_len == 0 || p[i].key_len > SK_KEY_MAX || p[i].value_len > SK_VALUE_MAX) {
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
        return SK_ENOMEM;
    }
    uint8_t *w = fs->wbuf + BATCH_HDR;
    for (size_t i = 0; i < n; i++) {
        w = put64(w, p[i].promised.round);
        w = put32(w, p[i].promised.node);
        w = put64(w, p[i].accepted.round);
        w = put32(w, p[i].accepted.node);
        w = put16(w, p[i].key_len);
        w = put32(w, p[i].value_len);
        memcpy(w, p[i].key, p[i].key_len);
        w += p[i].key_len;
        if (p[i].value_len) {
            memcpy(w, p[i].value, p[i].value_len);
        }
        w += p[i].value_len;
    }
    put32(fs->wbuf, BATCH_MAGIC);
    put32(fs->wbuf + 4, (uint32_t)body);
    put32(fs->wbuf + 8, sk_crc32(0, fs->wbuf + BATCH_HDR, body));
    *size = BATCH_HDR + body;
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
    rv = write_all(fs->fd, fs->wbuf, size, (off_t)fs->file_bytes);
    if (rv == 0 && !fs->opts.no_sync && fdatasync(fs->fd) != 0) {
        rv = -errno;
    }
    if (rv != 0) {
        snprintf(fs->errmsg, sizeof fs->errmsg, "cannot write %s: %s", fs->path, strerror(-rv));
        /* cut off whatever part of the batch made it, so the next append
         * does not land behind garbage */
        if (ftruncate(fs->fd, (off_t)fs->file_bytes) != 0) {
            /* the next open reports the tail */
        }
        return SK_EIO;
    }
    fs->file_bytes += size;
    fs->stats.batches++;
    fs->stats.syncs++;
    for (size_t i = 0; i < n; i++) {
        if (put_rec(fs, &p[i]) != 0) {
            return SK_ENOMEM;
        }
        fs->stats.records++;
    }
    if (fs->file_bytes > fs->opts.min_compact &&
        fs->file_bytes > (uint64_t)fs->opts.compact_ratio * (fs->live_bytes + BATCH_HDR)) {
        if (sk_filestore_compact(fs) != 0) {
            /* the old log is intact and still durable: not fatal */
            return 0;
        }
    }
    return 0;
}

int sk_filestore_compact(struct sk_filestore *fs)
{
    /* the live records as one batch (records never exceed BATCH_MAX in
     * practice: 100,000 locks of 100 bytes is 10 MB) */
    struct sk_persist *all = sk__malloc((fs->n ? fs->n : 1) * sizeof *all);
    if (all == NULL) {
        return SK_ENOMEM;
    }
    size_t cur = 0, k = 0;
    while (sk_filestore_next(fs, &cur, &all[k])) {
        k++;
    }
    size_t size = 0;
    int rv = k ? encode_batch(fs, all, k, &size) : 0;
    sk__free(all);
    if (rv != 0) {
        return rv;
    }
    int fd = open(fs->tmp_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(fs->errmsg, sizeof fs->errmsg, "compaction: cannot create %s: %s",
                 fs->tmp_path, strerror(errno));
        return SK_EIO;
    }
    rv = write_all(fd, fs->wbuf, size, 0);
    if (rv == 0 && !fs->opts.no_sync && fsync(fd) != 0) {
        rv = -errno;
    }
    if (rv == 0 && rename(fs->tmp_path, fs->path) != 0) {
        rv = -errno;
    }
    if (rv != 0) {
        snprintf(fs->errmsg, sizeof fs->errmsg, "compaction of %s failed: %s", fs->path,
                 strerror(-rv));
        close(fd);
        unlink(fs->tmp_path);
        return SK_EIO;
    }
    if (!fs->opts.no_sync && sync_dir(fs->dir) != 0) {
        /* the rename may not be durable yet, but both files hold the live
         * state, so either is correct after a crash */
    }
    close(fs->fd);
    fs->fd = fd;
    fs->file_bytes = size;
    fs->stats.compactions++;
    return 0;
}
