/* queue — the durable store of signed records (docs/store.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sqlite3.h>

#include "lib/log.h"
#include "upload/queue.h"

/* Record states. */
enum { REC_PENDING = 0, REC_UPLOADED = 1 };

struct queue {
	sqlite3 *db;
	char *path;
	bool read_only;
	int64_t max_bytes;
	int page_size;
	sqlite3_stmt *st_head;
	sqlite3_stmt *st_insert;
	sqlite3_stmt *st_set_head;
	sqlite3_stmt *st_next;
	sqlite3_stmt *st_mark;
	sqlite3_stmt *st_fail;
	struct log_ratelimit rl_full;
};

const char queue_sql_next_batch[] =
	"SELECT seq, cose FROM records WHERE state = 0 ORDER BY seq LIMIT ?1";

/* Forward migrations: migrations[v] takes the schema from version v to
 * v + 1. Never edit a released step; add a new one. */
static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE records ("
	"  seq INTEGER PRIMARY KEY,"          /* 1, 2, 3, ... */
	"  cose BLOB NOT NULL,"               /* the signed record, as sent */
	"  hash BLOB NOT NULL,"               /* SHA-256(cose), 32 bytes */
	"  state INTEGER NOT NULL DEFAULT 0," /* 0 pending, 1 uploaded */
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_attempt INTEGER NOT NULL DEFAULT 0," /* UTC s */
	"  created INTEGER NOT NULL,"         /* UTC s */
	"  uploaded INTEGER,"                 /* UTC s */
	"  last_error TEXT);"
	"CREATE INDEX records_pending ON records(seq) WHERE state = 0;"
	"CREATE TABLE checkpoint ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  blob BLOB NOT NULL,"
	"  t INTEGER NOT NULL);"
	"CREATE TABLE agent_state ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  last_seq INTEGER NOT NULL,"
	"  last_hash BLOB NOT NULL,"
	"  last_upload INTEGER NOT NULL DEFAULT 0);"
	"INSERT INTO agent_state (id, last_seq, last_hash) VALUES (1, 0, zeroblob(32));"
	"CREATE TABLE counters ("
	"  name TEXT PRIMARY KEY,"
	"  value INTEGER NOT NULL) WITHOUT ROWID;",
	/* 1 -> 2: the ledger's receipts (crypto/receipt.h), kept with the
	 * records they prove */
	"CREATE TABLE receipts ("
	"  id INTEGER PRIMARY KEY,"
	"  first_seq INTEGER NOT NULL,"       /* the seqs it proves: */
	"  last_seq INTEGER NOT NULL,"        /* first_seq..last_seq */
	"  tree_size INTEGER NOT NULL,"       /* its checkpoint's size */
	"  receipt BLOB NOT NULL,"            /* the text, as received */
	"  received INTEGER NOT NULL);"       /* UTC s */
	"CREATE INDEX receipts_last ON receipts(last_seq);",
};

static int64_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

/* SQLite result code -> -errno. */
static int sql_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EUCLEAN;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	default:
		return -EIO;
	}
}

static int sql_fail(queue_t *q, int rc, const char *what)
{
	int err = sql_errno(rc);

	if (err == -ENOSPC)
		log_rl(&q->rl_full, LOG_ERR,
		       "%s: %s: store full (quota %lld bytes or disk); signed records are kept, will retry",
		       q->path, what, (long long)q->max_bytes);
	else
		log_err("%s: %s: %s", q->path, what, sqlite3_errmsg(q->db));
	return err ? err : -EIO;
}

static int exec(queue_t *q, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(q->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		int err = sql_errno(rc);

		if (err != -ENOSPC)
			log_err("%s: %s: %s", q->path, sql, msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return err ? err : -EIO;
	}
	return 0;
}

/* After a failed statement inside BEGIN: SQLite may already have rolled
 * back (SQLITE_FULL, SQLITE_IOERR); roll back only if still open. */
static void rollback(queue_t *q)
{
	if (!sqlite3_get_autocommit(q->db))
		sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
}

static int prepare(queue_t *q, sqlite3_stmt **st, const char *sql)
{
	int rc = sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);

	if (rc != SQLITE_OK)
		return sql_fail(q, rc, "prepare");
	return 0;
}

/* A one-off statement (the hot ones are prepared once, see prepare()):
 * 0, or -errno (logged, naming what). The caller finalizes *st (NULL if it
 * did not prepare) in every case. */
static int stmt(queue_t *q, const char *sql, const char *what, sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v2(q->db, sql, -1, st, NULL);

	return rc == SQLITE_OK ? 0 : sql_fail(q, rc, what);
}

/* Step st to its next row: 0 on a row, -ENOENT when there is none, or
 * -errno (logged, naming what). */
static int step_row(queue_t *q, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? -ENOENT : sql_fail(q, rc, what);
}

/* Step a statement that returns no row: 0 or -errno (logged). */
static int step_done(queue_t *q, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	return rc == SQLITE_DONE ? 0 : sql_fail(q, rc, what);
}

/* Prepare sql and step to its first row: 0 with *st on that row, -ENOENT
 * when there is none, or -errno (logged, naming what). The caller
 * finalizes *st in every case. */
static int first_row(queue_t *q, const char *sql, const char *what, sqlite3_stmt **st)
{
	int ret = stmt(q, sql, what, st);

	return ret ? ret : step_row(q, *st, what);
}

/* The first row of sql: column 0 into *a and, when b is not NULL, column 1
 * into *b. 0, or -errno (logged) when it does not prepare or gives no row. */
static int query_u64(queue_t *q, const char *sql, uint64_t *a, uint64_t *b)
{
	sqlite3_stmt *st = NULL;
	int ret = first_row(q, sql, sql, &st);

	if (ret == -ENOENT) {
		log_err("%s: %s: no row", q->path, sql);
		ret = -EIO;
	}
	if (!ret) {
		*a = (uint64_t)sqlite3_column_int64(st, 0);
		if (b)
			*b = (uint64_t)sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return ret;
}

/* An integer pragma's value, signed (user_version may be negative). */
static int pragma_int(queue_t *q, const char *sql, int64_t *v)
{
	uint64_t u;
	int ret = query_u64(q, sql, &u, NULL);

	if (!ret)
		*v = (int64_t)u;
	return ret;
}

/* quick_check: "ok" or a list of problems. */
static int check_integrity(queue_t *q)
{
	sqlite3_stmt *st = NULL;
	int ret, rc;
	bool ok = false;

	ret = stmt(q, "PRAGMA quick_check(20)", "quick_check", &st);
	if (ret)
		goto out;
	ret = -EUCLEAN;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *msg = (const char *)sqlite3_column_text(st, 0);

		if (msg && !strcmp(msg, "ok")) {
			ok = true;
			continue;
		}
		log_err("%s: quick_check: %s", q->path, msg ? msg : "?");
	}
	if (rc != SQLITE_DONE) {
		log_err("%s: quick_check: %s", q->path, sqlite3_errmsg(q->db));
		ok = false;
	}
	if (!ok) {
		log_err("%s: the store is damaged; it is left untouched (see docs/store.md, \"Recovery\")",
			q->path);
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

static int migrate(queue_t *q)
{
	int64_t v = 0;
	int ret = pragma_int(q, "PRAGMA user_version", &v);
	char sql[64];

	if (ret)
		return ret;
	if (v > (int64_t)ARRAY_SIZE(migrations)) {
		log_err("%s: schema version %lld is newer than this program's %zu",
			q->path, (long long)v, ARRAY_SIZE(migrations));
		return -EPROTO;
	}
	if (v == (int64_t)ARRAY_SIZE(migrations))
		return 0;
	if (q->read_only) {
		log_err("%s: schema version %lld needs migrating; open it read-write once",
			q->path, (long long)v);
		return -EPROTO;
	}
	for (; v < (int64_t)ARRAY_SIZE(migrations); v++) {
		ret = exec(q, "BEGIN IMMEDIATE");
		if (ret)
			return ret;
		ret = exec(q, migrations[v]);
		if (!ret) {
			snprintf(sql, sizeof(sql), "PRAGMA user_version = %lld", (long long)v + 1);
			ret = exec(q, sql);
		}
		if (!ret)
			ret = exec(q, "COMMIT");
		if (ret) {
			rollback(q);
			log_err("%s: migrating the schema to version %lld failed",
				q->path, (long long)v + 1);
			return ret;
		}
		log_info("%s: schema at version %lld", q->path, (long long)v + 1);
	}
	return 0;
}

static int apply_quota(queue_t *q)
{
	char sql[80];
	int64_t pages;

	if (q->max_bytes <= 0 || q->read_only)
		return 0;
	pages = q->max_bytes / q->page_size;
	if (pages < 16)
		pages = 16;
	/* SQLite refuses to go below the current size; that is fine: the
	 * file then simply cannot grow. */
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld", (long long)pages);
	return exec(q, sql);
}

int queue_open(queue_t **out, const char *path, const struct queue_opts *opts)
{
	struct queue_opts def = { 0 };
	queue_t *q = NULL;
	int flags, rc, ret = -ENOMEM;
	int64_t v;

	if (!opts)
		opts = &def;
	q = calloc(1, sizeof(*q));
	if (!q)
		goto out;
	q->path = strdup(path);
	if (!q->path)
		goto out;
	q->read_only = opts->read_only;
	q->max_bytes = opts->max_bytes;
	q->rl_full.interval_s = 60;
	q->rl_full.burst = 1;

	flags = SQLITE_OPEN_NOMUTEX;
	flags |= q->read_only ? SQLITE_OPEN_READONLY
			      : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	rc = sqlite3_open_v2(path, &q->db, flags, NULL);
	if (rc != SQLITE_OK) {
		ret = sql_errno(rc);
		log_err("%s: cannot open the store: %s", path,
			q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc));
		goto out;
	}
	sqlite3_extended_result_codes(q->db, 1);
	sqlite3_busy_timeout(q->db, opts->busy_timeout_ms > 0 ? opts->busy_timeout_ms : 5000);

	if (!q->read_only) {
		/* WAL: readers (eco2ctl) never block the writer; FULL: the WAL
		 * is fsync'd at every commit, so a stored record is durable. */
		ret = exec(q, "PRAGMA journal_mode = WAL");
		if (ret)
			goto out;
		ret = exec(q, "PRAGMA synchronous = FULL");
		if (ret)
			goto out;
	}
	/* A small page cache: batches are read once, in order, so a large
	 * cache buys nothing and costs RSS on a head unit. */
	ret = exec(q, "PRAGMA cache_size = -512");
	if (ret)
		goto out;
	ret = exec(q, "PRAGMA foreign_keys = ON");
	if (ret)
		goto out;
	/* The writer checks at start-up; a read-only tool (eco2ctl status)
	 * must answer fast beside a running daemon and cannot repair anyway:
	 * damage still surfaces as errors on the pages it reads. */
	if (!q->read_only) {
		ret = check_integrity(q);
		if (ret)
			goto out;
	}
	ret = migrate(q);
	if (ret)
		goto out;
	ret = pragma_int(q, "PRAGMA page_size", &v);
	if (ret)
		goto out;
	q->page_size = (int)v;
	ret = apply_quota(q);
	if (ret)
		goto out;

	ret = prepare(q, &q->st_head, "SELECT last_seq, last_hash FROM agent_state WHERE id = 1");
	if (!ret)
		ret = prepare(q, &q->st_next, queue_sql_next_batch);
	if (!ret && !q->read_only)
		ret = prepare(q, &q->st_insert,
			      "INSERT INTO records (seq, cose, hash, created) VALUES (?1, ?2, ?3, ?4)");
	if (!ret && !q->read_only)
		ret = prepare(q, &q->st_set_head,
			      "UPDATE agent_state SET last_seq = ?1, last_hash = ?2 WHERE id = 1");
	if (!ret && !q->read_only)
		ret = prepare(q, &q->st_mark,
			      "UPDATE records SET state = 1, uploaded = ?2, last_error = NULL "
			      "WHERE seq = ?1 AND state = 0");
	if (!ret && !q->read_only)
		ret = prepare(q, &q->st_fail,
			      "UPDATE records SET attempts = attempts + 1, next_attempt = ?2, "
			      "last_error = ?3 WHERE seq = ?1 AND state = 0");
	if (ret)
		goto out;
	*out = q;
	q = NULL;
	ret = 0;
out:
	queue_close(q);
	return ret;
}

void queue_close(queue_t *q)
{
	if (!q)
		return;
	sqlite3_finalize(q->st_head);
	sqlite3_finalize(q->st_insert);
	sqlite3_finalize(q->st_set_head);
	sqlite3_finalize(q->st_next);
	sqlite3_finalize(q->st_mark);
	sqlite3_finalize(q->st_fail);
	sqlite3_close(q->db);
	free(q->path);
	free(q);
}

static int read_head(queue_t *q, uint64_t *seq, uint8_t hash[QUEUE_HASH_LEN])
{
	int ret = -EIO;
	int rc;

	sqlite3_reset(q->st_head);
	rc = sqlite3_step(q->st_head);
	if (rc != SQLITE_ROW) {
		ret = rc == SQLITE_DONE ? -EUCLEAN : sql_fail(q, rc, "reading the chain head");
		if (ret == -EUCLEAN)
			log_err("%s: the chain head row is missing", q->path);
		goto out;
	}
	if (sqlite3_column_bytes(q->st_head, 1) != QUEUE_HASH_LEN) {
		log_err("%s: the chain head hash is not %d bytes", q->path, QUEUE_HASH_LEN);
		ret = -EUCLEAN;
		goto out;
	}
	*seq = (uint64_t)sqlite3_column_int64(q->st_head, 0);
	memcpy(hash, sqlite3_column_blob(q->st_head, 1), QUEUE_HASH_LEN);
	ret = 0;
out:
	sqlite3_reset(q->st_head);
	return ret;
}

int queue_head(queue_t *q, uint64_t *seq, uint8_t hash[QUEUE_HASH_LEN])
{
	return read_head(q, seq, hash);
}

/* Free space for new records by deleting the oldest acknowledged ones
 * (the ledger holds them). Returns how many were deleted, or -errno. */
static int prune_uploaded(queue_t *q)
{
	int ret;

	int n;

	ret = exec(q, "DELETE FROM records WHERE seq IN (SELECT seq FROM records "
		      "WHERE state = 1 ORDER BY seq LIMIT 1000)");
	if (ret)
		return ret;
	n = sqlite3_changes(q->db);
	/* receipts go with the last of the records they prove */
	ret = exec(q, "DELETE FROM receipts WHERE last_seq < (SELECT coalesce(min(seq), 9223372036854775807) "
		      "FROM records)");
	return ret ? ret : n;
}

static int append_batch_once(queue_t *q, queue_make_fn *make, void *ctx,
			     size_t max, size_t *n_out)
{
	uint8_t prev[QUEUE_HASH_LEN], hash[QUEUE_HASH_LEN];
	uint64_t seq;
	size_t n = 0;
	int ret, rc;
	int64_t t = now_s();

	ret = exec(q, "BEGIN IMMEDIATE");
	if (ret)
		goto fail;
	ret = read_head(q, &seq, prev);
	if (ret)
		goto fail;
	while (n < max) {
		uint8_t *bytes = NULL;
		size_t len = 0;

		memset(hash, 0, sizeof(hash));
		ret = make(seq + 1, prev, ctx, &bytes, &len, hash);
		if (ret == QUEUE_MAKE_DONE) {
			free(bytes);
			break;
		}
		if (ret) {
			free(bytes);
			goto fail;
		}
		if (!bytes || !len || len > INT32_MAX) {
			free(bytes);
			log_err("%s: record %llu: the encoder returned no bytes",
				q->path, (unsigned long long)seq + 1);
			ret = -EINVAL;
			goto fail;
		}
		sqlite3_reset(q->st_insert);
		sqlite3_bind_int64(q->st_insert, 1, (int64_t)(seq + 1));
		sqlite3_bind_blob(q->st_insert, 2, bytes, (int)len, free);
		sqlite3_bind_blob(q->st_insert, 3, hash, QUEUE_HASH_LEN, SQLITE_TRANSIENT);
		sqlite3_bind_int64(q->st_insert, 4, t);
		rc = sqlite3_step(q->st_insert);
		sqlite3_clear_bindings(q->st_insert);
		sqlite3_reset(q->st_insert);
		if (rc != SQLITE_DONE) {
			ret = sql_errno(rc);
			if (ret != -ENOSPC)
				ret = sql_fail(q, rc, "storing a record");
			goto fail;
		}
		seq++;
		memcpy(prev, hash, QUEUE_HASH_LEN);
		n++;
	}
	if (n) {
		sqlite3_reset(q->st_set_head);
		sqlite3_bind_int64(q->st_set_head, 1, (int64_t)seq);
		sqlite3_bind_blob(q->st_set_head, 2, prev, QUEUE_HASH_LEN, SQLITE_TRANSIENT);
		rc = sqlite3_step(q->st_set_head);
		sqlite3_reset(q->st_set_head);
		if (rc != SQLITE_DONE) {
			ret = sql_errno(rc);
			if (ret != -ENOSPC)
				ret = sql_fail(q, rc, "advancing the chain head");
			goto fail;
		}
	}
	ret = exec(q, "COMMIT");
	if (ret)
		goto fail;
	*n_out = n;
	return 0;
fail:
	rollback(q);
	*n_out = 0;
	return ret ? ret : -EIO;
}

int queue_append_batch(queue_t *q, queue_make_fn *make, void *ctx,
		       size_t max, size_t *n_out)
{
	size_t n = 0;
	int ret;

	if (q->read_only) {
		ret = -EROFS;
		goto out;
	}
	ret = append_batch_once(q, make, ctx, max, &n);
	if (ret == -ENOSPC) {
		/* Quota or disk full: make room from records the ledger already
		 * holds, then try once more. Pending records are never dropped. */
		int pruned = prune_uploaded(q);

		if (pruned > 0) {
			log_notice("%s: pruned %d uploaded records to make room", q->path, pruned);
			ret = append_batch_once(q, make, ctx, max, &n);
		}
	}
	if (ret == -ENOSPC && q->max_bytes > 0)
		log_rl(&q->rl_full, LOG_ERR,
		       "%s: store full (quota %lld bytes, or the disk): %zu record(s) not stored yet; "
		       "nothing was lost, the caller retries", q->path,
		       (long long)q->max_bytes, max);
	else if (ret == -ENOSPC)
		log_rl(&q->rl_full, LOG_ERR,
		       "%s: store full (the disk): %zu record(s) not stored yet; "
		       "nothing was lost, the caller retries", q->path, max);
	else if (!ret && q->rl_full.printed)
		q->rl_full.printed = 0;
out:
	if (n_out)
		*n_out = n;
	return ret;
}

int queue_append(queue_t *q, queue_make_fn *make, void *ctx, uint64_t *seq_out)
{
	size_t n = 0;
	int ret = queue_append_batch(q, make, ctx, 1, &n);

	if (!ret && n != 1)
		ret = -ENODATA;    /* the encoder said DONE for a single record */
	if (!ret && seq_out) {
		uint8_t h[QUEUE_HASH_LEN];

		ret = read_head(q, seq_out, h);
	}
	return ret;
}

void queue_batch_free(struct queue_batch *b)
{
	if (!b)
		return;
	free(b->items);
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

int queue_next_batch(queue_t *q, size_t max_records, size_t max_bytes,
		     struct queue_batch *out)
{
	struct queue_batch b = { 0 };
	size_t cap = 0;
	int ret = -ENOMEM, rc;

	memset(out, 0, sizeof(*out));
	if (!max_records)
		return 0;
	b.items = calloc(max_records, sizeof(*b.items));
	if (!b.items)
		goto out;
	sqlite3_reset(q->st_next);
	sqlite3_bind_int64(q->st_next, 1, (int64_t)max_records);
	while ((rc = sqlite3_step(q->st_next)) == SQLITE_ROW) {
		size_t len = (size_t)sqlite3_column_bytes(q->st_next, 1);
		const void *p = sqlite3_column_blob(q->st_next, 1);

		if (b.n && b.buf_len + len > max_bytes)
			break;
		if (b.buf_len + len > cap) {
			size_t ncap = cap ? cap : 4096;
			uint8_t *nb;

			while (ncap < b.buf_len + len)
				ncap *= 2;
			nb = realloc(b.buf, ncap);
			if (!nb)
				goto out;
			b.buf = nb;
			cap = ncap;
		}
		if (len && b.buf && p)
			memcpy(b.buf + b.buf_len, p, len);
		b.items[b.n].seq = (uint64_t)sqlite3_column_int64(q->st_next, 0);
		b.items[b.n].len = len;
		b.buf_len += len;
		b.n++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		ret = sql_fail(q, rc, "reading the upload batch");
		goto out;
	}
	/* pointers only now that buf no longer moves */
	for (size_t i = 0, off = 0; i < b.n; off += b.items[i].len, i++)
		b.items[i].bytes = b.buf + off;
	*out = b;
	memset(&b, 0, sizeof(b));
	ret = 0;
out:
	sqlite3_reset(q->st_next);
	queue_batch_free(&b);
	return ret;
}

static int update_seqs(queue_t *q, sqlite3_stmt *st, const uint64_t *seqs, size_t n,
		       int64_t v, const char *text, bool is_mark, const struct queue_receipt *receipt)
{
	int ret, rc;
	size_t changed = 0;

	if (q->read_only)
		return -EROFS;
	if (!n)
		return 0;
	/* Upload marks need no fsync of their own: a mark lost to a power cut
	 * only makes the record go once more, and the ledger answers
	 * "duplicate". So the event loop is not held up by a flush here; the
	 * next record commit (FULL) flushes these too. */
	ret = exec(q, "PRAGMA synchronous = NORMAL");
	if (ret)
		return ret;
	ret = exec(q, "BEGIN IMMEDIATE");
	if (ret)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, (int64_t)seqs[i]);
		sqlite3_bind_int64(st, 2, v);
		if (!is_mark) {
			if (text)
				sqlite3_bind_text(st, 3, text, -1, SQLITE_TRANSIENT);
			else
				sqlite3_bind_null(st, 3);
		}
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE) {
			ret = sql_fail(q, rc, is_mark ? "marking records uploaded"
						      : "noting a failed upload");
			goto fail;
		}
		changed += (size_t)sqlite3_changes(q->db);
	}
	if (receipt) {
		const struct queue_receipt *r = receipt;
		sqlite3_stmt *ins = NULL;

		ret = stmt(q, "INSERT INTO receipts (first_seq, last_seq, tree_size, receipt, received) "
			      "VALUES (?1, ?2, ?3, ?4, ?5)", "keeping a receipt", &ins);
		if (!ret) {
			sqlite3_bind_int64(ins, 1, (int64_t)r->first_seq);
			sqlite3_bind_int64(ins, 2, (int64_t)r->last_seq);
			sqlite3_bind_int64(ins, 3, (int64_t)r->tree_size);
			sqlite3_bind_blob(ins, 4, r->text, (int)r->len, SQLITE_STATIC);
			sqlite3_bind_int64(ins, 5, v);
			ret = step_done(q, ins, "keeping a receipt");
		}
		sqlite3_finalize(ins);
		if (ret)
			goto fail;
	}
	if (is_mark && changed) {
		char sql[96];

		snprintf(sql, sizeof(sql), "UPDATE agent_state SET last_upload = %lld WHERE id = 1",
			 (long long)v);
		ret = exec(q, sql);
		if (ret)
			goto fail;
	}
	ret = exec(q, "COMMIT");
	if (ret)
		goto fail;
	return exec(q, "PRAGMA synchronous = FULL");
fail:
	rollback(q);
	(void)exec(q, "PRAGMA synchronous = FULL");
	return ret ? ret : -EIO;
}

int queue_mark_uploaded(queue_t *q, const uint64_t *seqs, size_t n)
{
	return update_seqs(q, q->st_mark, seqs, n, now_s(), NULL, true, NULL);
}

int queue_mark_uploaded_receipt(queue_t *q, const uint64_t *seqs, size_t n,
				const struct queue_receipt *r)
{
	if (!n || !r || !r->len)
		return -EINVAL;
	return update_seqs(q, q->st_mark, seqs, n, now_s(), NULL, true, r);
}

int queue_receipts_walk(queue_t *q, uint64_t from, queue_receipt_fn *fn, void *ctx)
{
	sqlite3_stmt *st = NULL;
	int ret;

	ret = stmt(q, "SELECT first_seq, last_seq, tree_size, receipt FROM receipts "
		      "WHERE last_seq >= ?1 ORDER BY id", "reading receipts", &st);
	if (ret)
		goto out;
	sqlite3_bind_int64(st, 1, (int64_t)from);
	for (;;) {
		struct queue_receipt r;

		ret = step_row(q, st, "reading receipts");
		if (ret)
			break;
		r.first_seq = (uint64_t)sqlite3_column_int64(st, 0);
		r.last_seq = (uint64_t)sqlite3_column_int64(st, 1);
		r.tree_size = (uint64_t)sqlite3_column_int64(st, 2);
		r.text = sqlite3_column_blob(st, 3);
		r.len = (size_t)sqlite3_column_bytes(st, 3);
		ret = fn(&r, ctx);
		if (ret)
			goto out;
	}
	if (ret == -ENOENT)
		ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

int queue_note_failure(queue_t *q, const uint64_t *seqs, size_t n,
		       int64_t next_attempt_s, const char *error)
{
	return update_seqs(q, q->st_fail, seqs, n, next_attempt_s, error, false, NULL);
}

int queue_stats(queue_t *q, struct queue_stats *st)
{
	uint8_t h[QUEUE_HASH_LEN];
	uint64_t pages = 0, freel = 0, lu = 0;
	int ret;

	memset(st, 0, sizeof(*st));
	ret = read_head(q, &st->last_seq, h);
	if (!ret)
		ret = query_u64(q, "SELECT count(*), coalesce(sum(length(cose)), 0) FROM records "
				   "WHERE state = 0", &st->pending, &st->pending_bytes);
	if (!ret)
		ret = query_u64(q, "SELECT count(*) FROM records WHERE state = 1",
				&st->uploaded, NULL);
	if (!ret)
		ret = query_u64(q, "SELECT coalesce(min(seq), 0) FROM records WHERE state = 0",
				&st->oldest_pending_seq, NULL);
	if (!ret)
		ret = query_u64(q, "SELECT last_upload FROM agent_state WHERE id = 1", &lu, NULL);
	if (!ret)
		ret = query_u64(q, "PRAGMA page_count", &pages, NULL);
	if (!ret)
		ret = query_u64(q, "PRAGMA freelist_count", &freel, NULL);
	st->last_upload_s = (int64_t)lu;
	st->db_bytes = (pages - freel) * (uint64_t)q->page_size;
	return ret;
}

int queue_checkpoint_put(queue_t *q, const void *blob, size_t len, int64_t t_s)
{
	sqlite3_stmt *st = NULL;
	int ret = -EROFS;

	if (q->read_only)
		goto out;
	if (len > INT32_MAX) {
		ret = -EFBIG;
		goto out;
	}
	ret = stmt(q, "INSERT OR REPLACE INTO checkpoint (id, blob, t) VALUES (1, ?1, ?2)",
		   "saving the checkpoint", &st);
	if (ret)
		goto out;
	sqlite3_bind_blob(st, 1, len ? blob : "", (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, t_s);
	ret = step_done(q, st, "saving the checkpoint");
out:
	sqlite3_finalize(st);
	return ret;
}

int queue_checkpoint_get(queue_t *q, void **blob, size_t *len, int64_t *t_s)
{
	sqlite3_stmt *st = NULL;
	int ret = -EIO;
	size_t n;

	*blob = NULL;
	*len = 0;
	ret = first_row(q, "SELECT blob, t FROM checkpoint WHERE id = 1", "reading the checkpoint",
			&st);
	if (ret)
		goto out;
	n = (size_t)sqlite3_column_bytes(st, 0);
	*blob = malloc(n ? n : 1);
	if (!*blob) {
		ret = -ENOMEM;
		goto out;
	}
	if (n)
		memcpy(*blob, sqlite3_column_blob(st, 0), n);
	*len = n;
	if (t_s)
		*t_s = sqlite3_column_int64(st, 1);
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

int queue_checkpoint_clear(queue_t *q)
{
	if (q->read_only)
		return -EROFS;
	return exec(q, "DELETE FROM checkpoint");
}

int queue_counter_add(queue_t *q, const char *name, int64_t delta)
{
	sqlite3_stmt *st = NULL;
	int ret = -EROFS;

	if (q->read_only)
		goto out;
	ret = stmt(q, "INSERT INTO counters (name, value) VALUES (?1, ?2) "
		      "ON CONFLICT (name) DO UPDATE SET value = value + ?2", "updating a counter", &st);
	if (ret)
		goto out;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, delta);
	ret = step_done(q, st, "updating a counter");
out:
	sqlite3_finalize(st);
	return ret;
}

int queue_counter_get(queue_t *q, const char *name, int64_t *value)
{
	sqlite3_stmt *st = NULL;
	int ret;

	*value = 0;
	ret = stmt(q, "SELECT value FROM counters WHERE name = ?1", "reading a counter", &st);
	if (ret)
		goto out;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	ret = step_row(q, st, "reading a counter");
	if (!ret)
		*value = sqlite3_column_int64(st, 0);
	else if (ret == -ENOENT)
		ret = 0;   /* never counted: 0 */
out:
	sqlite3_finalize(st);
	return ret;
}

int queue_last_error(queue_t *q, char *buf, size_t len, uint64_t *seq,
		     int64_t *next_attempt_s)
{
	sqlite3_stmt *st = NULL;
	int ret = -EIO;

	ret = first_row(q, "SELECT seq, last_error, next_attempt FROM records "
			"WHERE state = 0 AND last_error IS NOT NULL ORDER BY seq DESC LIMIT 1",
			"reading the last upload error", &st);
	if (ret)
		goto out;
	*seq = (uint64_t)sqlite3_column_int64(st, 0);
	snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 1));
	*next_attempt_s = sqlite3_column_int64(st, 2);
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

int queue_walk(queue_t *q, uint64_t from, queue_walk_fn *fn, void *ctx)
{
	sqlite3_stmt *st = NULL;
	int ret;

	ret = stmt(q, "SELECT seq, cose FROM records WHERE seq >= ?1 ORDER BY seq",
		   "reading records", &st);
	if (ret)
		goto out;
	sqlite3_bind_int64(st, 1, (int64_t)from);
	for (;;) {
		ret = step_row(q, st, "reading records");
		if (ret)
			break;
		ret = fn((uint64_t)sqlite3_column_int64(st, 0), sqlite3_column_blob(st, 1),
			 (size_t)sqlite3_column_bytes(st, 1), ctx);
		if (ret)
			goto out;
	}
	if (ret == -ENOENT)
		ret = 0;   /* every row walked */
out:
	sqlite3_finalize(st);
	return ret;
}
