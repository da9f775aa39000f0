/* queue — the durable store of signed records waiting for the ledger.
 *
 * One SQLite file (docs/store.md) in WAL mode. Every commit that stores a
 * record is synchronous=FULL: once queue_append() returns 0 the record
 * survives a power cut. The queue knows nothing of CAN, trips or COSE: a
 * record is opaque bytes with a sequence number and a 32-byte hash that the
 * caller computes (SHA-256 of the bytes, the next record's prev-hash).
 *
 * Chain safety: queue_append() reads the chain head (last seq, last hash),
 * asks the caller to build and sign record seq+1 over that prev-hash, stores
 * it and advances the head in ONE transaction. A crash at any point leaves
 * either the old head or the new head with its record; never a gap or a
 * fork.
 *
 * A queue handle is used from one thread. Several processes may open the
 * same file: one writer (eco2d) and read-only readers (eco2ctl). */
#ifndef ECO2_QUEUE_H
#define ECO2_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/compiler.h"

#define QUEUE_HASH_LEN 32
#define QUEUE_SCHEMA_VERSION 2

typedef struct queue queue_t;

struct queue_opts {
	/* Quota on the database file, 0: none. It bounds everything but the
	 * checkpoint (queue_checkpoint_put), which must always fit: that
	 * one's size is bounded by its writer, at most state_max_bytes. */
	int64_t max_bytes;
	int64_t state_max_bytes;
	/* A file of this many zeros beside the store (PATH-reserve), given
	 * back to save the checkpoint when the disk is full; 0: none. */
	int64_t reserve_bytes;
	bool read_only;        /* eco2ctl: never writes, never migrates */
	int busy_timeout_ms;   /* 0: 5000 */
};

/* Open (creating and migrating when writable) the store at path. path
 * must be a regular file or not exist: anything else (a FIFO, a device, a
 * directory) is refused before SQLite touches it (-EINVAL, -EISDIR). A
 * writable open of a file that cannot be written (mode, chattr +i, a
 * read-only mount) is -EROFS. A writable open runs PRAGMA quick_check
 * first (time in proportion to the file: about a second per few hundred
 * MB): a damaged file gives -EUCLEAN with the damage logged and
 * docs/store.md's recovery steps named; the file is not touched. A
 * read-only open skips the check. -ENOSPC when the disk is full while
 * creating. 0 or -errno; *out is set only on success. */
int queue_open(queue_t **out, const char *path,
	       const struct queue_opts *opts) __must_check;
void queue_close(queue_t *q);

/* Build record `seq` (1, 2, 3, ...) chained to prev (the previous record's
 * hash; all zero for seq 1). On success return 0 with *bytes (malloc'd; the
 * queue frees it), *len and hash (SHA-256 of *bytes) set. Return
 * QUEUE_MAKE_DONE to end a batch early, or -errno to abort it (nothing of
 * the batch is stored). Called inside the store's write transaction: it
 * must not call back into the queue. */
#define QUEUE_MAKE_DONE 1
typedef int queue_make_fn(uint64_t seq, const uint8_t prev[QUEUE_HASH_LEN],
			  void *ctx, uint8_t **bytes, size_t *len,
			  uint8_t hash[QUEUE_HASH_LEN]);

/* Append one record (see above). *seq_out (may be NULL) gets its seq.
 * 0 on success; -ENOSPC when the quota or the disk is full (nothing was
 * stored, the head is unchanged: retry later, the record will be rebuilt
 * with the same seq); -EBUSY when another writer holds the lock longer
 * than busy_timeout; -EROFS on a read-only handle; the make_fn's error. */
int queue_append(queue_t *q, queue_make_fn *make, void *ctx,
		 uint64_t *seq_out) __must_check;

/* The same for up to max records in one transaction (one fsync): make is
 * called for each until it returns QUEUE_MAKE_DONE or max is reached.
 * *n_out (may be NULL) gets how many were stored: all or nothing. */
int queue_append_batch(queue_t *q, queue_make_fn *make, void *ctx,
		       size_t max, size_t *n_out) __must_check;

/* The chain head: last seq (0: empty chain) and its hash (zeros). */
int queue_head(queue_t *q, uint64_t *seq, uint8_t hash[QUEUE_HASH_LEN]) __must_check;

/* One record read for upload. */
struct queue_item {
	uint64_t seq;
	size_t len;
	const uint8_t *bytes;    /* points into the batch's buffer */
};

/* A batch: the oldest pending records in seq order, copied out of SQLite
 * so the caller may keep it while the database changes. Free with
 * queue_batch_free(). */
struct queue_batch {
	size_t n;
	struct queue_item *items;
	uint8_t *buf;            /* the records' bytes, back to back */
	size_t buf_len;
};

/* Read up to max_records pending records totalling at most max_bytes
 * (at least one record is returned even when it alone is bigger, so a
 * large record cannot wedge the queue). An index scan of the pending
 * records (never a table scan). n == 0: nothing pending. */
int queue_next_batch(queue_t *q, size_t max_records, size_t max_bytes,
		     struct queue_batch *out) __must_check;
void queue_batch_free(struct queue_batch *b);

/* Mark the given seqs uploaded (acknowledged by the ledger: accepted or
 * duplicate). Seqs not pending are ignored. One transaction, committed
 * without its own fsync (synchronous=NORMAL): a mark lost to a power cut
 * only sends the record again, which the ledger reports as a duplicate. */
int queue_mark_uploaded(queue_t *q, const uint64_t *seqs, size_t n) __must_check;

/* The ledger's receipt for a batch (crypto/receipt.h): the text as
 * received, the seqs it proves and its checkpoint's tree size. */
struct queue_receipt {
	uint64_t first_seq, last_seq;
	uint64_t tree_size;
	const char *text;
	size_t len;
};

/* As queue_mark_uploaded, and keep the receipt that proves those seqs, in
 * the same transaction: a record is never marked without its receipt. A
 * receipt is deleted with the last record it proves (quota pruning). */
int queue_mark_uploaded_receipt(queue_t *q, const uint64_t *seqs, size_t n,
				const struct queue_receipt *r) __must_check;

/* The kept receipts that prove any seq >= from, in the order received
 * (eco2ctl export --receipts): fn's non-zero return stops the walk. */
typedef int queue_receipt_fn(const struct queue_receipt *r, void *ctx);
int queue_receipts_walk(queue_t *q, uint64_t from, queue_receipt_fn *fn, void *ctx) __must_check;

/* Note a failed attempt for the given seqs: attempts += 1, next attempt at
 * next_attempt_s (UTC seconds), last error text (may be NULL). */
int queue_note_failure(queue_t *q, const uint64_t *seqs, size_t n,
		       int64_t next_attempt_s, const char *error) __must_check;

/* Counts for status and tests. */
struct queue_stats {
	uint64_t last_seq;       /* chain head */
	uint64_t pending;        /* records not yet acknowledged */
	uint64_t pending_bytes;
	uint64_t uploaded;       /* still stored and acknowledged */
	uint64_t oldest_pending_seq;   /* 0: none */
	int64_t last_upload_s;   /* UTC; 0: never */
	uint64_t db_bytes;       /* pages in use x page size */
};
int queue_stats(queue_t *q, struct queue_stats *st) __must_check;

/* The open-trip checkpoint: an opaque blob owned by the trip calculator.
 * put replaces it durably; get returns -ENOENT when there is none, else a
 * malloc'd copy (caller frees) and the time it was written (UTC s). */
int queue_checkpoint_put(queue_t *q, const void *blob, size_t len,
			 int64_t t_s) __must_check;
int queue_checkpoint_get(queue_t *q, void **blob, size_t *len,
			 int64_t *t_s) __must_check;
int queue_checkpoint_clear(queue_t *q) __must_check;
/* put and reject never fail on the quota (the checkpoint is outside it);
 * on a full disk they first truncate the WAL, then give back the reserve
 * (queue_opts.reserve_bytes), and only then fail with -ENOSPC (logged). */

/* A checkpoint that failed its check: move it to checkpoint_rejected with
 * why (the newest two are kept for inspection) and put blob (NULL: none)
 * in its place, in one transaction. */
int queue_checkpoint_reject(queue_t *q, const char *why, const void *blob, size_t len,
			    int64_t t_s) __must_check;
/* How many are kept, and the newest's time (UTC s) and reason. */
int queue_checkpoint_rejected(queue_t *q, uint64_t *n, int64_t *rejected_s, char *why,
			      size_t why_len) __must_check;

/* The ledger's head for this device as the uploader last read it, and
 * when (UTC s). get: -ENOENT when it never has. */
int queue_ledger_head_put(queue_t *q, uint64_t seq, int64_t t_s) __must_check;
int queue_ledger_head_get(queue_t *q, uint64_t *seq, int64_t *t_s) __must_check;

/* The stored hash of record seq; -ENOENT when it is not (or no longer)
 * stored. */
int queue_record_hash(queue_t *q, uint64_t seq, uint8_t hash[QUEUE_HASH_LEN]) __must_check;

/* Make the marks agree with a ledger whose head is ledger_seq (not beyond
 * the store's head: the caller checks): records after it are pending again
 * (*repending of them had been marked uploaded), records up to it are
 * uploaded (*acked newly). *missing: records after ledger_seq the store no
 * longer holds (pruned once acknowledged), which cannot be sent again. One
 * transaction. */
int queue_resync(queue_t *q, uint64_t ledger_seq, uint64_t *repending, uint64_t *acked,
		 uint64_t *missing) __must_check;

/* Named 64-bit counters kept with the store (frames dropped, uploads
 * failed, ...): add delta (creating the name at 0) / read (0 if absent). */
int queue_counter_add(queue_t *q, const char *name, int64_t delta) __must_check;
int queue_counter_get(queue_t *q, const char *name, int64_t *value) __must_check;

/* The error of the newest pending record whose upload failed (what the
 * ledger or the network said), its seq and when it is tried next (UTC s),
 * for eco2ctl status. -ENOENT when no pending record has failed. */
int queue_last_error(queue_t *q, char *buf, size_t len, uint64_t *seq,
		     int64_t *next_attempt_s) __must_check;

/* Read stored records from seq `from` in order, whatever their state (for
 * eco2ctl export): fn is called for each; a non-zero return stops the walk
 * and is returned. */
typedef int queue_walk_fn(uint64_t seq, const uint8_t *bytes, size_t len,
			  void *ctx);
int queue_walk(queue_t *q, uint64_t from, queue_walk_fn *fn, void *ctx) __must_check;

/* The SQL the next batch is read with, for tests that check its plan. */
extern const char queue_sql_next_batch[];

#endif
