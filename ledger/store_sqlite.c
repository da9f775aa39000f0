/* store_sqlite — the ledger's store in one SQLite file (WAL, synchronous
 * FULL). Every process and thread that opens the file shares it; the
 * sequencer is SQLite's write lock (BEGIN IMMEDIATE). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "lib/log.h"
#include "ledger/store.h"

#define SCHEMA_VERSION 2

struct sq {
	sqlite3 *db;
	const char *path;
	sqlite3_stmt *st[24];
};

enum {
	S_DEV_GET, S_DEV_PUT, S_HEAD, S_HASHES, S_RECORDS, S_INS_REC, S_INS_NODE,
	S_SET_HEAD, S_SET_SIZE, S_SIZE, S_NODE, S_CK_LATEST, S_CK_GET, S_CK_PUT,
	S_COSIG_PUT, S_COSIGS, S_FORK_COUNT, S_FORK_PUT, S_NODES, S_N
};

static const char *const sql[S_N] = {
	[S_DEV_GET] = "SELECT alg, pub FROM devices WHERE kid = ?1",
	[S_DEV_PUT] = "INSERT INTO devices (kid, alg, pub, spki, cert, registered) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[S_HEAD] = "SELECT seq, hash FROM heads WHERE kid = ?1",
	[S_HASHES] = "SELECT seq, hash, leaf FROM records WHERE kid = ?1 AND seq BETWEEN ?2 AND ?3 ORDER BY seq",
	[S_RECORDS] = "SELECT seq, cose FROM records WHERE kid = ?1 AND seq >= ?2 ORDER BY seq LIMIT ?3",
	[S_INS_REC] = "INSERT INTO records (kid, seq, cose, hash, leaf, received) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[S_INS_NODE] = "INSERT INTO nodes (level, idx, hash) VALUES (?1, ?2, ?3)",
	[S_SET_HEAD] = "INSERT OR REPLACE INTO heads (kid, seq, hash) VALUES (?1, ?2, ?3)",
	[S_SET_SIZE] = "UPDATE tree SET size = ?1 WHERE id = 1",
	[S_SIZE] = "SELECT size FROM tree WHERE id = 1",
	[S_NODE] = "SELECT hash FROM nodes WHERE level = ?1 AND idx = ?2",
	[S_NODES] = "SELECT idx, hash FROM nodes WHERE level = ?1 AND idx BETWEEN ?2 AND ?3 ORDER BY idx",
	[S_CK_LATEST] = "SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1",
	[S_CK_GET] = "SELECT note FROM checkpoints WHERE size = ?1",
	[S_CK_PUT] = "INSERT OR IGNORE INTO checkpoints (size, root, note, signed) VALUES (?1, ?2, ?3, ?4)",
	[S_COSIG_PUT] = "INSERT OR REPLACE INTO cosignatures (size, name, line) VALUES (?1, ?2, ?3)",
	[S_COSIGS] = "SELECT line FROM cosignatures WHERE size = ?1 ORDER BY name",
	[S_FORK_COUNT] = "SELECT count(*) FROM forks WHERE kid = ?1",
	[S_FORK_PUT] = "INSERT OR IGNORE INTO forks (kid, seq, hash, cose, received) VALUES (?1, ?2, ?3, ?4, ?5)",
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS devices ("
	"  kid BLOB PRIMARY KEY, alg INTEGER NOT NULL, pub BLOB NOT NULL, spki BLOB NOT NULL,"
	"  cert BLOB NOT NULL, registered INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS heads (kid BLOB PRIMARY KEY, seq INTEGER NOT NULL, hash BLOB NOT NULL);"
	"CREATE TABLE IF NOT EXISTS records ("
	"  kid BLOB NOT NULL, seq INTEGER NOT NULL, cose BLOB NOT NULL, hash BLOB NOT NULL,"
	"  leaf INTEGER NOT NULL, received INTEGER NOT NULL,"
	"  PRIMARY KEY (kid, seq)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS nodes ("
	"  level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,"
	"  PRIMARY KEY (level, idx)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS tree (id INTEGER PRIMARY KEY CHECK (id = 1), size INTEGER NOT NULL);"
	"INSERT OR IGNORE INTO tree (id, size) VALUES (1, 0);"
	"CREATE TABLE IF NOT EXISTS checkpoints ("
	"  size INTEGER PRIMARY KEY, root BLOB NOT NULL, note TEXT NOT NULL, signed INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS cosignatures ("
	"  size INTEGER NOT NULL, name TEXT NOT NULL, line TEXT NOT NULL, PRIMARY KEY (size, name));"
	"CREATE TABLE IF NOT EXISTS forks ("
	"  kid BLOB NOT NULL, seq INTEGER NOT NULL, hash BLOB NOT NULL, cose BLOB NOT NULL,"
	"  received INTEGER NOT NULL, PRIMARY KEY (kid, seq, hash));"
	"INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', 2);";

static int fail(struct sq *q, const char *what)
{
	log_err("%s: %s: %s", q->path, what, sqlite3_errmsg(q->db));
	return -EIO;
}

static int exec(struct sq *q, const char *s)
{
	char *msg = NULL;

	if (sqlite3_exec(q->db, s, NULL, NULL, &msg) != SQLITE_OK) {
		log_err("%s: %s", q->path, msg ? msg : sqlite3_errmsg(q->db));
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

/* A prepared statement, reset and ready for binding. */
static sqlite3_stmt *st(struct sq *q, int i)
{
	if (!q->st[i] && sqlite3_prepare_v3(q->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					    &q->st[i], NULL) != SQLITE_OK) {
		fail(q, sql[i]);
		return NULL;
	}
	sqlite3_reset(q->st[i]);
	sqlite3_clear_bindings(q->st[i]);
	return q->st[i];
}

static const char *path_of(const char *url)
{
	return !strncmp(url, "sqlite:", 7) ? url + 7 : url;
}

static void sq_disconnect(void *conn)
{
	struct sq *q = conn;

	if (!q)
		return;
	for (int i = 0; i < S_N; i++)
		sqlite3_finalize(q->st[i]);
	sqlite3_close(q->db);
	free(q);
}

static int sq_connect(const struct lstore_opts *o, void **conn)
{
	struct sq *q = calloc(1, sizeof(*q));
	int ret = -EIO;

	*conn = NULL;
	if (!q)
		return -ENOMEM;
	q->path = path_of(o->url);
	if (sqlite3_open_v2(q->path, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		log_err("%s: %s", q->path, q->db ? sqlite3_errmsg(q->db) : "cannot open");
		goto out;
	}
	sqlite3_busy_timeout(q->db, 10000);
	if (exec(q, "PRAGMA journal_mode = WAL") || exec(q, "PRAGMA synchronous = FULL"))
		goto out;
	*conn = q;
	q = NULL;
	ret = 0;
out:
	sq_disconnect(q);
	return ret;
}

static int sq_init(void *conn, const struct lstore_opts *o)
{
	struct sq *q = conn;
	sqlite3_stmt *s = NULL;
	int ret;

	(void)o;
	/* a database of the test peer that came before (no tree): refuse it
	 * rather than serve a tree that misses records */
	if (sqlite3_prepare_v2(q->db, "SELECT 1 FROM sqlite_master WHERE name = 'records' AND "
				      "sql NOT LIKE '%leaf%'", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW) {
		sqlite3_finalize(s);
		log_err("%s: a ledger database without a Merkle tree (schema 1); start from a new file", q->path);
		return -EINVAL;
	}
	sqlite3_finalize(s);
	ret = exec(q, "BEGIN IMMEDIATE");
	if (!ret)
		ret = exec(q, schema);
	if (!ret)
		ret = exec(q, "COMMIT");
	else
		sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

static int sq_device_get(void *conn, const uint8_t kid[8], struct lstore_device *d)
{
	struct sq *q = conn;
	sqlite3_stmt *s = st(q, S_DEV_GET);
	int rc;

	if (!s)
		return -EIO;
	sqlite3_bind_blob(s, 1, kid, 8, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return fail(q, "reading a device");
	memcpy(d->kid, kid, 8);
	d->alg = sqlite3_column_int(s, 0);
	d->pub_len = (size_t)sqlite3_column_bytes(s, 1);
	if (d->pub_len > LSTORE_PUB_MAX)
		return -EIO;
	memcpy(d->pub, sqlite3_column_blob(s, 1), d->pub_len);
	sqlite3_reset(s);
	return 0;
}

static int sq_device_put(void *conn, const struct lstore_device *d, const uint8_t *spki,
			 size_t spki_len, const uint8_t *cert, size_t cert_len, int64_t now_s)
{
	struct sq *q = conn;
	struct lstore_device old;
	sqlite3_stmt *s;
	int ret = sq_device_get(conn, d->kid, &old);

	if (!ret)
		return old.pub_len == d->pub_len && !memcmp(old.pub, d->pub, d->pub_len) ? 1 : -EEXIST;
	if (ret != -ENOENT)
		return ret;
	s = st(q, S_DEV_PUT);
	if (!s)
		return -EIO;
	sqlite3_bind_blob(s, 1, d->kid, 8, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, d->alg);
	sqlite3_bind_blob(s, 3, d->pub, (int)d->pub_len, SQLITE_STATIC);
	sqlite3_bind_blob(s, 4, spki, (int)spki_len, SQLITE_STATIC);
	sqlite3_bind_blob(s, 5, cert, (int)cert_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, now_s);
	if (sqlite3_step(s) != SQLITE_DONE) {
		if (sqlite3_errcode(q->db) == SQLITE_CONSTRAINT)
			return 1;            /* registered meanwhile by another */
		return fail(q, "registering a device");
	}
	return 0;
}

static int sq_head(void *conn, const uint8_t kid[8], uint64_t *seq, uint8_t hash[32])
{
	struct sq *q = conn;
	sqlite3_stmt *s = st(q, S_HEAD);
	int rc;

	if (!s)
		return -EIO;
	sqlite3_bind_blob(s, 1, kid, 8, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		*seq = 0;
		memset(hash, 0, 32);
		return 0;
	}
	if (rc != SQLITE_ROW || sqlite3_column_bytes(s, 1) != 32)
		return fail(q, "reading a head");
	*seq = (uint64_t)sqlite3_column_int64(s, 0);
	memcpy(hash, sqlite3_column_blob(s, 1), 32);
	sqlite3_reset(s);
	return 0;
}

static int sq_hashes(void *conn, const uint8_t kid[8], uint64_t lo, uint64_t hi,
		     lstore_hash_fn *fn, void *ctx)
{
	struct sq *q = conn;
	sqlite3_stmt *s = st(q, S_HASHES);
	int rc, ret = 0;

	if (!s)
		return -EIO;
	sqlite3_bind_blob(s, 1, kid, 8, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (int64_t)lo);
	sqlite3_bind_int64(s, 3, (int64_t)hi);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && !ret) {
		if (sqlite3_column_bytes(s, 1) != 32)
			return fail(q, "a record hash is not 32 bytes");
		ret = fn(ctx, (uint64_t)sqlite3_column_int64(s, 0), sqlite3_column_blob(s, 1),
			 (uint64_t)sqlite3_column_int64(s, 2));
	}
	if (!ret && rc != SQLITE_DONE)
		ret = fail(q, "reading record hashes");
	sqlite3_reset(s);
	return ret;
}

static int sq_records(void *conn, const uint8_t kid[8], uint64_t from, size_t max_n,
		      lstore_rec_fn *fn, void *ctx)
{
	struct sq *q = conn;
	sqlite3_stmt *s = st(q, S_RECORDS);
	int rc, ret = 0;

	if (!s)
		return -EIO;
	sqlite3_bind_blob(s, 1, kid, 8, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (int64_t)from);
	sqlite3_bind_int64(s, 3, (int64_t)max_n);
	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW)
		ret = fn(ctx, (uint64_t)sqlite3_column_int64(s, 0), sqlite3_column_blob(s, 1),
			 (size_t)sqlite3_column_bytes(s, 1));
	if (!ret && rc != SQLITE_DONE)
		ret = fail(q, "reading records");
	sqlite3_reset(s);
	return ret;
}

static int sq_tree_size(void *conn, uint64_t *size)
{
	struct sq *q = conn;
	sqlite3_stmt *s = st(q, S_SIZE);

	if (!s)
		return -EIO;
	if (sqlite3_step(s) != SQLITE_ROW)
		return fail(q, "reading the tree size");
	*size = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return 0;
}

static int sq_seq_begin(void *conn, uint64_t *tree_size)
{
	struct sq *q = conn;
	int ret = exec(q, "BEGIN IMMEDIATE");

	if (ret)
		return ret;
	ret = sq_tree_size(conn, tree_size);
	if (ret)
		sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

static int sq_seq_append(void *conn, const struct lstore_append *a)
{
	struct sq *q = conn;
	sqlite3_stmt *s;

	for (size_t i = 0; i < a->n_recs; i++) {
		const struct lstore_rec *r = &a->recs[i];

		s = st(q, S_INS_REC);
		if (!s)
			return -EIO;
		sqlite3_bind_blob(s, 1, r->kid, 8, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, (int64_t)r->seq);
		sqlite3_bind_blob(s, 3, r->cose, (int)r->len, SQLITE_STATIC);
		sqlite3_bind_blob(s, 4, r->hash, 32, SQLITE_STATIC);
		sqlite3_bind_int64(s, 5, (int64_t)r->leaf);
		sqlite3_bind_int64(s, 6, a->now_s);
		if (sqlite3_step(s) != SQLITE_DONE)
			return fail(q, "storing a record");
	}
	for (size_t i = 0; i < a->n_nodes; i++) {
		s = st(q, S_INS_NODE);
		if (!s)
			return -EIO;
		sqlite3_bind_int(s, 1, (int)a->nodes[i].level);
		sqlite3_bind_int64(s, 2, (int64_t)a->nodes[i].index);
		sqlite3_bind_blob(s, 3, a->nodes[i].hash, 32, SQLITE_STATIC);
		if (sqlite3_step(s) != SQLITE_DONE)
			return fail(q, "storing a tree node");
	}
	for (size_t i = 0; i < a->n_heads; i++) {
		s = st(q, S_SET_HEAD);
		if (!s)
			return -EIO;
		sqlite3_bind_blob(s, 1, a->heads[i].kid, 8, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, (int64_t)a->heads[i].seq);
		sqlite3_bind_blob(s, 3, a->heads[i].hash, 32, SQLITE_STATIC);
		if (sqlite3_step(s) != SQLITE_DONE)
			return fail(q, "storing a head");
	}
	s = st(q, S_SET_SIZE);
	if (!s)
		return -EIO;
	sqlite3_bind_int64(s, 1, (int64_t)a->new_size);
	if (sqlite3_step(s) != SQLITE_DONE)
		return fail(q, "storing the tree size");
	return 0;
}

static int sq_seq_end(void *conn, bool commit)
{
	struct sq *q = conn;

	for (int i = 0; i < S_N; i++)
		if (q->st[i])
			sqlite3_reset(q->st[i]);
	if (commit && !exec(q, "COMMIT"))
		return 0;
	if (!sqlite3_get_autocommit(q->db))
		sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
	return commit ? -EIO : 0;
}

static int sq_node(void *conn, unsigned level, uint64_t index, uint8_t hash[32])
{
	struct sq *q = conn;
	sqlite3_stmt *s = st(q, S_NODE);
	int rc;

	if (!s)
		return -EIO;
	sqlite3_bind_int(s, 1, (int)level);
	sqlite3_bind_int64(s, 2, (int64_t)index);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW || sqlite3_column_bytes(s, 0) != 32)
		return fail(q, "reading a tree node");
	memcpy(hash, sqlite3_column_blob(s, 0), 32);
	sqlite3_reset(s);
	return 0;
}

static int sq_nodes(void *conn, unsigned level, uint64_t lo, uint64_t hi, lstore_node_fn *fn, void *ctx)
{
	struct sq *q = conn;
	sqlite3_stmt *s = st(q, S_NODES);
	int rc, ret = 0;

	if (!s)
		return -EIO;
	sqlite3_bind_int(s, 1, (int)level);
	sqlite3_bind_int64(s, 2, (int64_t)lo);
	sqlite3_bind_int64(s, 3, (int64_t)hi);
	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(s, 1) != 32) {
			ret = fail(q, "a tree node is not 32 bytes");
			break;
		}
		ret = fn(ctx, (uint64_t)sqlite3_column_int64(s, 0), sqlite3_column_blob(s, 1));
	}
	if (!ret && rc != SQLITE_DONE)
		ret = fail(q, "reading tree nodes");
	sqlite3_reset(s);
	return ret;
}

static int copy_text(sqlite3_stmt *s, int col, char *note, size_t cap, size_t *len)
{
	size_t n = (size_t)sqlite3_column_bytes(s, col);

	if (n >= cap)
		return -ENOSPC;
	memcpy(note, sqlite3_column_text(s, col), n);
	note[n] = '\0';
	*len = n;
	return 0;
}

static int sq_checkpoint_latest(void *conn, uint64_t *size, char *note, size_t cap, size_t *len)
{
	struct sq *q = conn;
	sqlite3_stmt *s = st(q, S_CK_LATEST);
	int rc, ret;

	if (!s)
		return -EIO;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return fail(q, "reading the latest checkpoint");
	*size = (uint64_t)sqlite3_column_int64(s, 0);
	ret = copy_text(s, 1, note, cap, len);
	sqlite3_reset(s);
	return ret;
}

static int sq_checkpoint_get(void *conn, uint64_t size, char *note, size_t cap, size_t *len)
{
	struct sq *q = conn;
	sqlite3_stmt *s = st(q, S_CK_GET);
	int rc, ret;

	if (!s)
		return -EIO;
	sqlite3_bind_int64(s, 1, (int64_t)size);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return fail(q, "reading a checkpoint");
	ret = copy_text(s, 0, note, cap, len);
	sqlite3_reset(s);
	return ret;
}

static int sq_checkpoint_put(void *conn, uint64_t size, const uint8_t root[32], const char *note,
			     size_t len, int64_t now_s)
{
	struct sq *q = conn;
	sqlite3_stmt *s = st(q, S_CK_PUT);

	if (!s)
		return -EIO;
	sqlite3_bind_int64(s, 1, (int64_t)size);
	sqlite3_bind_blob(s, 2, root, 32, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, note, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, now_s);
	if (sqlite3_step(s) != SQLITE_DONE)
		return fail(q, "storing a checkpoint");
	return sqlite3_changes(q->db) ? 0 : 1;
}

static int sq_cosig_put(void *conn, uint64_t size, const char *name, const char *line, size_t len)
{
	struct sq *q = conn;
	sqlite3_stmt *s = st(q, S_COSIG_PUT);

	if (!s)
		return -EIO;
	sqlite3_bind_int64(s, 1, (int64_t)size);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, line, (int)len, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE)
		return fail(q, "storing a cosignature");
	return 0;
}

static int sq_cosigs(void *conn, uint64_t size, lstore_line_fn *fn, void *ctx)
{
	struct sq *q = conn;
	sqlite3_stmt *s = st(q, S_COSIGS);
	int rc, ret = 0;

	if (!s)
		return -EIO;
	sqlite3_bind_int64(s, 1, (int64_t)size);
	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW)
		ret = fn(ctx, (const char *)sqlite3_column_text(s, 0), (size_t)sqlite3_column_bytes(s, 0));
	if (!ret && rc != SQLITE_DONE)
		ret = fail(q, "reading cosignatures");
	sqlite3_reset(s);
	return ret;
}

static int sq_fork_put(void *conn, const uint8_t kid[8], uint64_t seq, const uint8_t *cose,
		       size_t len, const uint8_t hash[32], unsigned cap, int64_t now_s)
{
	struct sq *q = conn;
	sqlite3_stmt *s = st(q, S_FORK_COUNT);
	int64_t n;

	if (!s)
		return -EIO;
	sqlite3_bind_blob(s, 1, kid, 8, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_ROW)
		return fail(q, "counting forks");
	n = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (n >= (int64_t)cap)
		return 0;
	s = st(q, S_FORK_PUT);
	if (!s)
		return -EIO;
	sqlite3_bind_blob(s, 1, kid, 8, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (int64_t)seq);
	sqlite3_bind_blob(s, 3, hash, 32, SQLITE_STATIC);
	sqlite3_bind_blob(s, 4, cose, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, now_s);
	if (sqlite3_step(s) != SQLITE_DONE)
		return fail(q, "storing fork evidence");
	return 0;
}

const struct lstore_ops lstore_sqlite_ops = {
	.name = "sqlite",
	.connect = sq_connect,
	.disconnect = sq_disconnect,
	.init = sq_init,
	.device_get = sq_device_get,
	.device_put = sq_device_put,
	.head = sq_head,
	.hashes = sq_hashes,
	.records = sq_records,
	.seq_begin = sq_seq_begin,
	.seq_append = sq_seq_append,
	.seq_end = sq_seq_end,
	.tree_size = sq_tree_size,
	.node = sq_node,
	.nodes = sq_nodes,
	.checkpoint_latest = sq_checkpoint_latest,
	.checkpoint_get = sq_checkpoint_get,
	.checkpoint_put = sq_checkpoint_put,
	.cosig_put = sq_cosig_put,
	.cosigs = sq_cosigs,
	.fork_put = sq_fork_put,
};
