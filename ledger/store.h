/* store — eco2-ledger's storage behind one small function table, as
 * SQLite's sqlite3_vfs: a back end is a file with a `const struct
 * lstore_ops`, chosen by the store URL's scheme:
 *
 *   sqlite:PATH  or a plain path      store_sqlite.c (one file; the default)
 *   postgresql://...  postgres://...  store_pg.c (libpq; many ledgers on
 *                                     one database)
 *
 * What is stored (docs/ledger-api.md, "Storage"): registered devices, each
 * device's records and chain head, the Merkle tree of all records as its
 * perfect subtrees (level, index) -> hash, the tree's size, the signed
 * checkpoints and the witnesses' cosignatures, and evidence of forks.
 *
 * One sequencer. Appending to the tree is serialised across every process
 * that shares the store: lstore_seq_begin() takes the store's one append
 * lock (SQLite: BEGIN IMMEDIATE, the database's write lock; PostgreSQL: a
 * transaction-scoped advisory lock, pg_advisory_xact_lock) and returns the
 * tree size; lstore_seq_end() commits or rolls back and releases it. Heads
 * and the tree read inside are authoritative; everything else (verifying
 * signatures, building answers) happens outside.
 *
 * A connection (lstore_conn_t) is used by one thread at a time; a store
 * holds a pool of them (lstore_get / lstore_put). Functions return 0 or
 * -errno: -ENOENT (not stored), -EIO (the back end failed; logged),
 * -ENOMEM, -ETIMEDOUT (no connection free in time). */
#ifndef ECO2_LEDGER_STORE_H
#define ECO2_LEDGER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/compiler.h"

#define LSTORE_PUB_MAX 65             /* a raw P-256 or Ed25519 public key */
#define LSTORE_NOTE_MAX 4096          /* a checkpoint note as the log signs it */

typedef struct lstore lstore_t;
typedef struct lstore_conn lstore_conn_t;

struct lstore_device {
	uint8_t kid[8];
	int alg;                      /* COSE_ALG_ES256 or COSE_ALG_EDDSA */
	uint8_t pub[LSTORE_PUB_MAX];
	size_t pub_len;
};

/* A record to store, leaf `leaf` of the tree. Pointers are the caller's. */
struct lstore_rec {
	const uint8_t *kid;
	uint64_t seq;
	const uint8_t *cose;
	size_t len;
	const uint8_t *hash;          /* SHA-256 of the bytes: the next prev */
	uint64_t leaf;
};

/* A perfect subtree: 2^level leaves from index << level. */
struct lstore_node {
	unsigned level;
	uint64_t index;
	uint8_t hash[32];
};

struct lstore_head {
	uint8_t kid[8];
	uint64_t seq;
	uint8_t hash[32];
};

/* One sequenced append: the records, the subtrees they complete, the new
 * heads and the tree's new size. */
struct lstore_append {
	const struct lstore_rec *recs;
	size_t n_recs;
	const struct lstore_node *nodes;
	size_t n_nodes;
	const struct lstore_head *heads;
	size_t n_heads;
	uint64_t new_size;
	int64_t now_s;
};

/* Callbacks for reads that return many rows. Return 0 to go on, anything
 * else to stop (it is returned). */
typedef int lstore_hash_fn(void *ctx, uint64_t seq, const uint8_t hash[32], uint64_t leaf);
typedef int lstore_rec_fn(void *ctx, uint64_t seq, const uint8_t *cose, size_t len);
typedef int lstore_line_fn(void *ctx, const char *line, size_t len);
typedef int lstore_node_fn(void *ctx, uint64_t index, const uint8_t hash[32]);

struct lstore_opts {
	const char *url;              /* see above */
	unsigned connections;         /* the pool; 0: 4 */
	unsigned partitions;          /* PostgreSQL: records hash-partitioned by
					 kid into this many (0: none), when the
					 schema is created */
	unsigned wait_ms;             /* for a free connection; 0: 5000 */
};

/* The table a back end fills in. conn is the back end's own. */
struct lstore_ops {
	const char *name;
	int (*connect)(const struct lstore_opts *o, void **conn);
	void (*disconnect)(void *conn);
	/* create what is missing (run once, by one connection) */
	int (*init)(void *conn, const struct lstore_opts *o);

	int (*device_get)(void *conn, const uint8_t kid[8], struct lstore_device *d);
	/* 0 registered now, 1 already with this key, -EEXIST with another */
	int (*device_put)(void *conn, const struct lstore_device *d, const uint8_t *spki,
			  size_t spki_len, const uint8_t *cert, size_t cert_len, int64_t now_s);
	int (*head)(void *conn, const uint8_t kid[8], uint64_t *seq, uint8_t hash[32]);
	/* stored hashes of kid's seqs lo..hi, ascending */
	int (*hashes)(void *conn, const uint8_t kid[8], uint64_t lo, uint64_t hi,
		      lstore_hash_fn *fn, void *ctx);
	/* up to max_n records of kid from seq `from`, ascending */
	int (*records)(void *conn, const uint8_t kid[8], uint64_t from, size_t max_n,
		       lstore_rec_fn *fn, void *ctx);

	int (*seq_begin)(void *conn, uint64_t *tree_size);
	int (*seq_append)(void *conn, const struct lstore_append *a);
	int (*seq_end)(void *conn, bool commit);

	int (*tree_size)(void *conn, uint64_t *size);
	int (*node)(void *conn, unsigned level, uint64_t index, uint8_t hash[32]);
	/* the stored subtrees of a level with indices lo..hi, ascending */
	int (*nodes)(void *conn, unsigned level, uint64_t lo, uint64_t hi, lstore_node_fn *fn, void *ctx);

	/* the latest stored checkpoint: its size and note (-ENOENT: none) */
	int (*checkpoint_latest)(void *conn, uint64_t *size, char *note, size_t cap, size_t *len);
	int (*checkpoint_get)(void *conn, uint64_t size, char *note, size_t cap, size_t *len);
	/* 0 stored, 1 a checkpoint of that size was there already */
	int (*checkpoint_put)(void *conn, uint64_t size, const uint8_t root[32], const char *note,
			      size_t len, int64_t now_s);
	/* one cosignature line per (size, witness name); replaces */
	int (*cosig_put)(void *conn, uint64_t size, const char *name, const char *line, size_t len);
	int (*cosigs)(void *conn, uint64_t size, lstore_line_fn *fn, void *ctx);

	/* evidence: a record signed by the device for a seq stored with other
	 * bytes (kept once per (kid, seq, hash), at most `cap` per device) */
	int (*fork_put)(void *conn, const uint8_t kid[8], uint64_t seq, const uint8_t *cose,
			size_t len, const uint8_t hash[32], unsigned cap, int64_t now_s);
};

extern const struct lstore_ops lstore_sqlite_ops;
#if IS_ENABLED(CONFIG_LEDGER_POSTGRES)
extern const struct lstore_ops lstore_pg_ops;
#endif

/* Open the store of o->url: its schema created if missing, a pool of
 * connections. -EINVAL for a URL no back end takes (logged). */
int lstore_open(lstore_t **out, const struct lstore_opts *o) __must_check;
void lstore_close(lstore_t *s);
const char *lstore_backend(const lstore_t *s);

/* Borrow a connection (waits up to o->wait_ms: -ETIMEDOUT) and give it
 * back. After a -EIO the pool reconnects it before its next use. */
int lstore_get(lstore_t *s, lstore_conn_t **c) __must_check;
void lstore_put(lstore_t *s, lstore_conn_t *c, bool failed);

/* The calls, on a borrowed connection. */
const struct lstore_ops *lstore_conn_ops(lstore_conn_t *c);
void *lstore_conn_raw(lstore_conn_t *c);

#define LSTORE_CALL(c, fn, ...) (lstore_conn_ops(c)->fn(lstore_conn_raw(c), __VA_ARGS__))

/* A merkle_node_fn over a connection, through the store's cache of
 * immutable subtree hashes (ctx: an lstore_conn_t). */
int lstore_node_cached(void *conn, unsigned level, uint64_t index, uint8_t out[32]);

#endif
