/* filestore.h - acceptor state made durable on disk.
 *
 * One append-only log per instance (DIR/acceptor.log): batches, then zero
 * bytes up to the end of the file. Each append is one batch: every register
 * record the core asked for in one loop iteration, written with one write()
 * and made durable with one fdatasync() before the call returns (group
 * commit). A batch is
 *
 *     u32 magic "SKB1" | u32 body length | u32 CRC-32 of the body | body
 *
 * and its body is a sequence of records
 *
 *     u64 promised.round | u32 promised.node | u64 accepted.round |
 *     u32 accepted.node | u16 key_len | u32 value_len | key | value
 *
 * (key_len 0 with no value is the instance's node record: its fence and
 * epoch after a rejoin, see struct sk_persist in sk.h.)
 *
 * all big-endian. The store keeps no copy of the records in memory: the
 * acceptor's registers (the core's) are the only one.
 *
 * The zeros are preallocated space: an append writes its batch over them,
 * right after the last batch (the log's logical end, file_bytes), so the
 * file's size does not change and on ext4 fdatasync writes the data without
 * a journal commit (as PostgreSQL zero-fills its WAL segments). When a batch
 * does not fit, the file is first extended by writing (not fallocating:
 * unwritten extents would again need a metadata change to convert) zeros up
 * to the next multiple of 1 MiB past at least one more MiB, and synced. A
 * log without a zero tail (as earlier versions wrote) is read the same way.
 * Zeros never pass for a batch: the magic is nonzero.
 *
 * Loading reads the log twice, a batch at a time (memory bounded by the
 * largest batch). The first pass checks every batch (magic, length,
 * checksum, record layout) and decides where the good prefix ends; the
 * second hands every record of that prefix, in log order, to the caller's
 * load callback, which restores them in order so that the last record per
 * key wins. So a log that is refused delivers nothing.
 *
 * After the good prefix, bytes that are all zero are the preallocated tail
 * (found by scanning back from the end of the file for the last nonzero
 * byte, so a clean start reads the tail once). A batch that fails its
 * checksum or is cut short (nonzero bytes, then only zeros) is only
 * believable as the tail of the log (a write the crash interrupted, which
 * was never acknowledged because its fsync never returned): it is reported
 * (file and offset in sk_filestore_notice) and overwritten with zeros,
 * which become preallocated space again. A failed append zeroes what it
 * wrote likewise (best effort). A bad batch followed
 * by a good one means the storage lost acknowledged data; opening then
 * fails with SK_ECORRUPT and a message naming the file and offset, because
 * forgetting a promise would break Paxos (Paxos Made Simple: "an acceptor
 * must remember ... even if it fails and then restarts").
 *
 * Compaction: the live records come from the caller's live iterator (the
 * core's registers). The store measures the live size with it after
 * loading and after each compaction; when the log grows past ratio x that
 * size (and past min_compact bytes) it measures again and, if the log is
 * still past ratio x live, writes the live records as batches of at most
 * about 64 KiB to DIR/acceptor.log.tmp followed by at least 1 MiB of zeros,
 * fsyncs it, renames it over the log and fsyncs the directory. The sizes
 * compared are logical (file_bytes), never the preallocated file size. A
 * crash at any point leaves either the old or the new log, each holding
 * every live register. Without a live iterator the store never compacts.
 *
 * POSIX only: no libuv, no Lua. */
#ifndef SK_FILESTORE_H
#define SK_FILESTORE_H

#include "sk.h"

struct sk_filestore;

/* Loading: one record, in log order. A nonzero return stops loading and
 * sk_filestore_open fails with that code (SK_EINVAL for a positive one, or
 * for SK_ECORRUPT, which is kept for logs that do not parse). */
typedef int (*sk_filestore_load_fn)(void *ctx, const struct sk_persist *rec);
/* Compaction: the live registers, one per call; *cursor starts at 0.
 * Returns false at the end. What *out points to is borrowed until the next
 * call. Must list every register whose state was made durable, with at
 * least that state. */
typedef bool (*sk_filestore_live_fn)(void *ctx, size_t *cursor, struct sk_persist *out);

struct sk_filestore_source {
    sk_filestore_load_fn load; /* NULL: records are checked, not delivered */
    sk_filestore_live_fn live; /* NULL: never compact */
    void *ctx;
};

struct sk_filestore_opts {
    uint32_t compact_ratio; /* compact when size > ratio x live; 0: 4 */
    uint64_t min_compact;   /* never compact below this many bytes; 0: 1 MiB */
    bool no_sync;           /* tests only: skip fdatasync (NOT durable) */
    uint32_t prealloc;      /* tests only: grow by zero chunks of this many
                               bytes (at least 4096); 0: 1 MiB. Keeps the
                               files of a fuzzer's many runs small */
};

/* Open (creating DIR/acceptor.log if missing) and replay the log into
 * src->load, then measure the live size with src->live. On failure returns
 * a negative code (SK_ECORRUPT, SK_EIO, SK_ENOMEM, or the load callback's)
 * with a message naming the file in err, and *out is NULL; the callback is
 * called only once the whole log has been checked (it may still have been
 * called when it fails itself or on an I/O error while loading). *out is
 * owned (free with sk_filestore_close). opts and src may be NULL; *src is
 * copied, its ctx must outlive the store. Borrows dir. */
int sk_filestore_open(struct sk_filestore **out, const char *dir,
                      const struct sk_filestore_opts *opts,
                      const struct sk_filestore_source *src, char *err, size_t errlen);
void sk_filestore_close(struct sk_filestore *fs);

/* What recovery had to do ("" when the log was clean), e.g. "data/acceptor.
 * log: discarded a torn or corrupt tail of 13 bytes at offset 4096 ...".
 * Borrowed. */
const char *sk_filestore_notice(const struct sk_filestore *fs);

/* Append n records as one batch, durable when this returns 0. Borrows p.
 * On a write or sync error returns SK_EIO with the reason in
 * sk_filestore_errmsg; the caller must then not send what depended on it. */
int sk_filestore_append(struct sk_filestore *fs, const struct sk_persist *p, size_t n);
/* Rewrite the log with only the live records from src->live (also done by
 * append). SK_EINVAL without a live iterator. On failure the old log is
 * intact and still in use. */
int sk_filestore_compact(struct sk_filestore *fs);
const char *sk_filestore_errmsg(const struct sk_filestore *fs);

/* file_bytes: the log's logical end (after its last batch); alloc_bytes:
 * the file's size, zeros past file_bytes. live_bytes, live_records: as last
 * measured (after loading, at the last compaction or compaction check); 0
 * without a live iterator. batches and records count those loaded and
 * appended; syncs the appends' fdatasyncs (extensions included, counted
 * with no_sync too); extensions the times an append grew the file. */
struct sk_filestore_stats {
    uint64_t file_bytes, alloc_bytes, live_bytes, live_records, batches, records, syncs,
        compactions, extensions;
};
void sk_filestore_stats(const struct sk_filestore *fs, struct sk_filestore_stats *out);

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32). */
uint32_t sk_crc32(uint32_t crc, const void *data, size_t len);

#endif
