/* filestore.h - acceptor state made durable on disk.
 *
 * One append-only log per instance (DIR/acceptor.log). Each append is one
 * batch: every register record the core asked for in one loop iteration,
 * written with one write() and made durable with one fdatasync() before the
 * call returns (group commit). A batch is
 *
 *     u32 magic "SKB1" | u32 body length | u32 CRC-32 of the body | body
 *
 * and its body is a sequence of records
 *
 *     u64 promised.round | u32 promised.node | u64 accepted.round |
 *     u32 accepted.node | u16 key_len | u32 value_len | key | value
 *
 * all big-endian. Loading replays the batches in order; the last record per
 * key wins. A batch that fails its checksum or is cut short is only
 * believable as the tail of the log (a write the crash interrupted, which
 * was never acknowledged because its fsync never returned): it is reported
 * (file and offset in sk_filestore_notice) and truncated away. A bad batch
 * followed by a good one means the storage lost acknowledged data; opening
 * then fails with SK_ECORRUPT and a message naming the file and offset,
 * because forgetting a promise would break Paxos (Paxos Made Simple:
 * "an acceptor must remember ... even if it fails and then restarts").
 *
 * Compaction: when the log grows past ratio x the size of its live records
 * (and past min_compact bytes), the live records are written to
 * DIR/acceptor.log.tmp, fsync'd, renamed over the log and the directory is
 * fsync'd. A crash at any point leaves either the old or the new log.
 *
 * POSIX only: no libuv, no Lua. */
#ifndef SK_FILESTORE_H
#define SK_FILESTORE_H

#include "sk.h"

struct sk_filestore;

struct sk_filestore_opts {
    uint32_t compact_ratio; /* compact when size > ratio x live; 0: 4 */
    uint64_t min_compact;   /* never compact below this many bytes; 0: 1 MiB */
    bool no_sync;           /* tests only: skip fdatasync (NOT durable) */
};

/* Open (creating DIR/acceptor.log if missing) and replay the log. On
 * failure returns a negative code (SK_ECORRUPT, SK_EIO, SK_ENOMEM) with a
 * message naming the file in err, and *out is NULL. *out is owned (free
 * with sk_filestore_close). opts may be NULL. Borrows dir. */
int sk_filestore_open(struct sk_filestore **out, const char *dir,
                      const struct sk_filestore_opts *opts, char *err, size_t errlen);
void sk_filestore_close(struct sk_filestore *fs);

/* What recovery had to do ("" when the log was clean), e.g. "truncated a
 * torn tail of 13 bytes at offset 4096 in data/acceptor.log". Borrowed. */
const char *sk_filestore_notice(const struct sk_filestore *fs);

/* Iterate the live registers: *cursor starts at 0. Borrowed until the next
 * append. */
bool sk_filestore_next(const struct sk_filestore *fs, size_t *cursor, struct sk_persist *out);
size_t sk_filestore_count(const struct sk_filestore *fs);

/* Append n records as one batch, durable when this returns 0. Borrows p.
 * On a write or sync error returns SK_EIO with the reason in
 * sk_filestore_errmsg; the caller must then not send what depended on it. */
int sk_filestore_append(struct sk_filestore *fs, const struct sk_persist *p, size_t n);
/* Rewrite the log with only the live records (also done by append). */
int sk_filestore_compact(struct sk_filestore *fs);
const char *sk_filestore_errmsg(const struct sk_filestore *fs);

struct sk_filestore_stats {
    uint64_t file_bytes, live_bytes, batches, records, syncs, compactions;
};
void sk_filestore_stats(const struct sk_filestore *fs, struct sk_filestore_stats *out);

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32). */
uint32_t sk_crc32(uint32_t crc, const void *data, size_t len);

#endif
