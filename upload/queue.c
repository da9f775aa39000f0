/* queue — the durable store of signed records (docs/store.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sqlite3.h>

#include "lib/log.h"
#include "upload/queue.h"

/* Record states. */
enum { REC_PENDING = 0, REC_UPLOADED = 1 };

/* Rejected checkpoints kept for inspection (queue_checkpoint_reject). */
#define REJECTED_KEEP 2

struct queue {
	sqlite3 *db;
	char *path;
	bool read_only;
	int64_t max_bytes;
	int page_size;
	int64_t state_pages;     /* pages of the checkpoint rows: outside the quota */
	int64_t rejected_pages;  /* ... of them, the rejected ones' */
	int64_t ckpt_len;        /* the checkpoint's length; 0: none */
	int64_t state_max_bytes; /* the largest checkpoint the caller writes */
	char *reserve_path;      /* the disk reserve beside the store; NULL: none */
	int64_t reserve_bytes;
	bool reserve_released;   /* given back to save a checkpoint on a full disk */
	bool quota_hit;          /* the last append was refused by the quota */
	struct log_ratelimit rl_reserve;
	sqlite3_stmt *st_head;
	sqlite3_stmt *st_insert;
	sqlite3_stmt *st_set_head;
	sqlite3_stmt *st_next;
	sqlite3_stmt *st_mark;
	sqlite3_stmt *st_fail;
	sqlite3_stmt *st_pages;  /* PRAGMA page_count: the quota check */
	sqlite3_stmt *st_freel;  /* PRAGMA freelist_count */
	int64_t rec_pages_max;   /* an upper bound of the pages in use but the checkpoint's */
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
	/* 1 -> 2: checkpoints whose tag failed, kept for inspection; the
	 * ledger's head as the uploader last saw it; the ledger's receipts
	 * (crypto/receipt.h), kept with the records they prove. */
	"CREATE TABLE checkpoint_rejected ("
	"  id INTEGER PRIMARY KEY,"
	"  blob BLOB NOT NULL,"
	"  t INTEGER NOT NULL,"               /* UTC s: when it was saved */
	"  rejected INTEGER NOT NULL,"        /* UTC s: when it was refused */
	"  why TEXT NOT NULL);"
	"ALTER TABLE agent_state ADD COLUMN ledger_seq INTEGER;"
	"ALTER TABLE agent_state ADD COLUMN ledger_checked INTEGER;"
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
		       "%s: %s: store full (the disk); signed records are kept, will retry",
		       q->path, what);
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

/* Pages a row with `payload` bytes takes beyond its table's root page: its
 * overflow chain (SQLite's file format, "Cell Payload Overflow Pages"). */
static int64_t row_pages(const queue_t *q, int64_t payload)
{
	int64_t u = q->page_size, x = u - 35, m = (u - 12) * 32 / 255 - 23, k, local;

	if (payload <= x)
		return 0;
	k = m + (payload - m) % (u - 4);
	local = k <= x ? k : m;
	return (payload - local + u - 5) / (u - 4);
}

/* A checkpoint row: the blob and its few bytes of record header and time. */
#define STATE_ROW_EXTRA 32

static int64_t quota_pages(const queue_t *q)
{
	int64_t pages = q->max_bytes / q->page_size;

	return pages < 16 ? 16 : pages;
}

/* The quota bounds the records (and everything else in the file) but the
 * checkpoint: that one is bounded by its writer (at most state_max_bytes)
 * and must always fit, so that a finished trip the store cannot take yet
 * survives a stop. SQLite's max_page_count is the hard cap: the quota plus
 * room for the largest checkpoint, a copy of it while it is replaced, and
 * the rejected ones kept for inspection. The records' share is checked in
 * each append (check_quota). */
static int apply_quota(queue_t *q)
{
	char sql[80];
	int64_t pages;

	if (q->max_bytes <= 0 || q->read_only)
		return 0;
	pages = quota_pages(q) + (REJECTED_KEEP + 2) *
		(1 + row_pages(q, q->state_max_bytes + STATE_ROW_EXTRA));
	/* SQLite refuses to go below the current size; that is fine: the
	 * file then simply cannot grow. */
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld", (long long)pages);
	return exec(q, sql);
}

/* Count the pages the checkpoint rows take (after a change to them): the
 * checkpoint's overflow chain (its table's root holds the rest), and for
 * each rejected one a leaf page besides. */
static int count_state_pages(queue_t *q)
{
	sqlite3_stmt *st = NULL;
	int64_t pages = 0;
	int ret;

	ret = stmt(q, "SELECT length(blob), 0 FROM checkpoint UNION ALL "
		      "SELECT length(blob), 1 FROM checkpoint_rejected", "counting the checkpoint", &st);
	q->ckpt_len = 0;
	while (!ret) {
		ret = step_row(q, st, "counting the checkpoint");
		if (ret)
			break;
		pages += row_pages(q, sqlite3_column_int64(st, 0) + STATE_ROW_EXTRA) +
			 sqlite3_column_int64(st, 1);
		if (!sqlite3_column_int64(st, 1))
			q->ckpt_len = sqlite3_column_int64(st, 0);
	}
	if (ret == -ENOENT) {
		q->state_pages = pages;
		q->rejected_pages = pages - (q->ckpt_len ? row_pages(q, q->ckpt_len + STATE_ROW_EXTRA) : 0);
		ret = 0;
	}
	sqlite3_finalize(st);
	return ret;
}

/* The pages in use but the checkpoint's, exactly (inside a transaction:
 * its own pages counted). */
static int record_pages(queue_t *q, int64_t *out)
{
	int64_t pages, freel;
	int rc;

	rc = sqlite3_step(q->st_pages);
	pages = sqlite3_column_int64(q->st_pages, 0);
	sqlite3_reset(q->st_pages);
	if (rc == SQLITE_ROW)
		rc = sqlite3_step(q->st_freel);
	freel = sqlite3_column_int64(q->st_freel, 0);
	sqlite3_reset(q->st_freel);
	if (rc != SQLITE_ROW)
		return sql_fail(q, rc, "counting pages");
	*out = pages - freel - q->state_pages;
	return 0;
}

/* Inside an append's transaction, which added records of `bytes` bytes
 * in all, n of them: the pages in use, but the checkpoint's, stay within
 * the quota; -ENOSPC when they would not. SQLite re-prepares a PRAGMA at
 * each run (a few thousand instructions), so the exact count is taken only
 * when an upper bound of the records' pages (the last exact count plus
 * what each append could have added since) comes near the quota. */
static int check_quota(queue_t *q, size_t bytes, size_t n)
{
	int64_t grow = (int64_t)(bytes / (size_t)(q->page_size - 35) + 2 * n + 1);
	int ret;

	if (q->max_bytes <= 0)
		return 0;
	if (q->rec_pages_max + grow <= quota_pages(q)) {
		q->rec_pages_max += grow;
		return 0;
	}
	ret = record_pages(q, &q->rec_pages_max);
	if (ret)
		return ret;
	if (q->rec_pages_max > quota_pages(q)) {
		q->quota_hit = true;
		return -ENOSPC;
	}
	return 0;
}

/* ---- the disk reserve ------------------------------------------------------
 * A file of zeros beside the store (PATH-reserve) that is given back when
 * the disk is so full that not even the checkpoint can be saved: the room
 * it frees lets the finished records and the open trip be kept through a
 * stop. Filled again once the disk has room. */

static bool disk_has_room(const char *path, int64_t bytes)
{
	struct statvfs v;

	return statvfs(path, &v) == 0 && (int64_t)v.f_bavail * (int64_t)v.f_frsize > 2 * bytes;
}

/* Make the reserve whole: 0, or -errno (logged once). */
static int reserve_fill(queue_t *q)
{
	/* Not const: in .bss it costs the binary nothing, and pages only
	 * ever read map the kernel's zero page. */
	static uint8_t zeros[16384];
	struct stat st;
	int fd, ret = 0;

	if (!q->reserve_path)
		return 0;
	fd = open(q->reserve_path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		goto out;
	}
	if (st.st_size >= q->reserve_bytes) {
		q->reserve_released = false;
		goto out;
	}
	if (!disk_has_room(q->reserve_path, q->reserve_bytes - st.st_size)) {
		ret = -ENOSPC;
		goto out;
	}
	for (int64_t off = st.st_size; off < q->reserve_bytes;) {
		size_t n = (size_t)(q->reserve_bytes - off < (int64_t)sizeof(zeros) ?
				    q->reserve_bytes - off : (int64_t)sizeof(zeros));
		ssize_t w = pwrite(fd, zeros, n, off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			ret = w < 0 ? -errno : -EIO;
			break;
		}
		off += w;
	}
	if (!ret && fdatasync(fd) < 0)
		ret = -errno;
	if (ret)
		(void)ftruncate(fd, st.st_size);   /* no half reserve eats the disk */
	else
		q->reserve_released = false;
out:
	if (fd >= 0)
		close(fd);
	if (ret)
		log_rl(&q->rl_reserve, LOG_WARNING,
		       "%s: cannot keep the %lld-byte disk reserve (%s): on a full disk the checkpoint "
		       "may not be saved", q->reserve_path, (long long)q->reserve_bytes, strerror(-ret));
	return ret;
}

/* Give the reserve back to the disk: true if there was one to give. */
static bool reserve_release(queue_t *q)
{
	struct stat st;
	bool freed = false;
	int fd;

	if (!q->reserve_path)
		return false;
	fd = open(q->reserve_path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return false;
	if (!fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_size > 0 && !ftruncate(fd, 0)) {
		freed = true;
		q->reserve_released = true;
		log_notice("%s: the disk is full: gave back the %lld-byte reserve beside the store",
			   q->path, (long long)st.st_size);
	}
	close(fd);
	return freed;
}

/* A write of the checkpoint rows failed with -ENOSPC. The quota never
 * applies to them, so it is the disk (or a checkpoint beyond
 * state_max_bytes): free what can be freed, one step per call. true when a
 * step was taken and the write is worth another try. */
static bool make_room(queue_t *q, int *step)
{
	switch ((*step)++) {
	case 0:
		/* Move the WAL's pages home and have the next write start it
		 * over from its beginning: it then overwrites room the file
		 * already has instead of asking the disk for more (RESTART,
		 * not TRUNCATE, which would hand that room to whoever fills
		 * the disk). */
		return sqlite3_wal_checkpoint_v2(q->db, NULL, SQLITE_CHECKPOINT_RESTART, NULL,
						 NULL) == SQLITE_OK;
	case 1:
		return reserve_release(q);
	default:
		return false;
	}
}

/* Open the SQLite file and bring it to the current schema. On failure
 * the handle is closed again (q->db NULL): 0 or -errno, logged. */
static int open_db(queue_t *q, const struct queue_opts *opts)
{
	int flags, rc, ret;
	int64_t v;

	flags = SQLITE_OPEN_NOMUTEX;
	flags |= q->read_only ? SQLITE_OPEN_READONLY
			      : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	rc = sqlite3_open_v2(q->path, &q->db, flags, NULL);
	if (rc != SQLITE_OK) {
		ret = sql_errno(rc);
		log_err("%s: cannot open the store: %s", q->path,
			q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc));
		goto out;
	}
	sqlite3_extended_result_codes(q->db, 1);
	sqlite3_busy_timeout(q->db, opts->busy_timeout_ms > 0 ? opts->busy_timeout_ms : 5000);
	/* SQLite quietly opens a file it may not write read-only: a store on
	 * a read-only mount, chattr +i or without write permission. Every
	 * record would then fail for ever: an error now, not a retry loop. */
	if (!q->read_only && sqlite3_db_readonly(q->db, "main") == 1) {
		log_err("%s: the store cannot be written (file mode, owner, chattr +i or a "
			"read-only mount): eco2d must write it", q->path);
		ret = -EROFS;
		goto out;
	}

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
	if (!ret)
		ret = count_state_pages(q);
	if (ret)
		goto out;
out:
	if (ret) {
		sqlite3_close(q->db);
		q->db = NULL;
	}
	return ret;
}

/* The store's path must name a regular file, or nothing yet: opened
 * O_NONBLOCK and checked before SQLite opens it, so that a FIFO, a device
 * or a directory is refused at once rather than hanging or misread. */
static int check_path(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	int ret = 0;

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;   /* created by the writable open */
		ret = -errno;
		log_err("%s: cannot open the store: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		log_err("%s: %s", path, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		ret = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		log_err("%s: the store is not a regular file", path);
	}
	close(fd);
	return ret;
}

int queue_open(queue_t **out, const char *path, const struct queue_opts *opts)
{
	struct queue_opts def = { 0 };
	queue_t *q = NULL;
	int ret = -ENOMEM;

	if (!opts)
		opts = &def;
	ret = check_path(path);
	if (ret)
		return ret;
	ret = -ENOMEM;
	q = calloc(1, sizeof(*q));
	if (!q)
		goto out;
	q->path = strdup(path);
	if (!q->path)
		goto out;
	q->read_only = opts->read_only;
	q->max_bytes = opts->max_bytes;
	q->state_max_bytes = opts->state_max_bytes;
	q->rl_full.interval_s = 60;
	q->rl_full.burst = 1;
	q->rl_reserve.interval_s = 3600;
	q->rl_reserve.burst = 1;
	if (opts->reserve_bytes > 0 && !q->read_only) {
		if (asprintf(&q->reserve_path, "%s-reserve", path) < 0) {
			q->reserve_path = NULL;
			goto out;
		}
		q->reserve_bytes = opts->reserve_bytes;
	}

	ret = open_db(q, opts);
	/* A disk so full that not even the WAL can be made: the reserve is
	 * there for this, once. */
	if ((ret == -ENOSPC || ret == -EIO) && !q->read_only && reserve_release(q))
		ret = open_db(q, opts);
	if (ret)
		goto out;
	if (q->reserve_path)
		(void)reserve_fill(q);   /* a warning when it cannot: not fatal */

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
	if (!ret && !q->read_only && q->max_bytes > 0)
		ret = prepare(q, &q->st_pages, "PRAGMA page_count");
	if (!ret && !q->read_only && q->max_bytes > 0)
		ret = prepare(q, &q->st_freel, "PRAGMA freelist_count");
	if (!ret && q->st_pages)
		ret = record_pages(q, &q->rec_pages_max);
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
	sqlite3_finalize(q->st_pages);
	sqlite3_finalize(q->st_freel);
	sqlite3_close(q->db);
	free(q->reserve_path);
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
	size_t n = 0, bytes_in = 0;
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
		bytes_in += len;
		n++;
	}
	if (n) {
		ret = check_quota(q, bytes_in, n);
		if (ret)
			goto fail;
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
	q->quota_hit = false;
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
	if (ret == -ENOSPC && q->quota_hit)
		log_rl(&q->rl_full, LOG_ERR,
		       "%s: store full (its quota of %lld bytes): %zu record(s) not stored yet; "
		       "nothing was lost, the caller retries", q->path,
		       (long long)q->max_bytes, max);
	else if (ret == -ENOSPC)
		log_rl(&q->rl_full, LOG_ERR,
		       "%s: store full (the disk): %zu record(s) not stored yet; "
		       "nothing was lost, the caller retries", q->path, max);
	else if (!ret && q->rl_full.printed)
		q->rl_full.printed = 0;
	if (!ret && q->reserve_released)
		(void)reserve_fill(q);   /* room again: keep it for the next full disk */
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

static int checkpoint_put_once(queue_t *q, const void *blob, size_t len, int64_t t_s)
{
	sqlite3_stmt *st = NULL;
	int ret, rc;

	ret = stmt(q, "INSERT OR REPLACE INTO checkpoint (id, blob, t) VALUES (1, ?1, ?2)",
		   "saving the checkpoint", &st);
	if (ret)
		goto out;
	sqlite3_bind_blob(st, 1, len ? blob : "", (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, t_s);
	rc = sqlite3_step(st);
	ret = rc == SQLITE_DONE ? 0 : sql_errno(rc);
	if (ret && ret != -ENOSPC)
		ret = sql_fail(q, rc, "saving the checkpoint");
out:
	sqlite3_finalize(st);
	return ret;
}

int queue_checkpoint_put(queue_t *q, const void *blob, size_t len, int64_t t_s)
{
	int ret = -EROFS, step = 0;

	if (q->read_only)
		goto out;
	if (len > INT32_MAX) {
		ret = -EFBIG;
		goto out;
	}
	do
		ret = checkpoint_put_once(q, blob, len, t_s);
	while (ret == -ENOSPC && make_room(q, &step));
	if (!ret) {
		/* no query: the rejected ones did not change */
		q->ckpt_len = (int64_t)len;
		q->state_pages = q->rejected_pages + row_pages(q, (int64_t)len + STATE_ROW_EXTRA);
	} else if (ret == -ENOSPC)
		log_rl(&q->rl_full, LOG_ERR, "%s: saving the checkpoint: the disk is full%s",
		       q->path, q->reserve_path ? " and the reserve is spent" : "");
out:
	return ret;
}

int queue_checkpoint_reject(queue_t *q, const char *why, const void *blob, size_t len,
			    int64_t t_s)
{
	char sql[200];
	sqlite3_stmt *st = NULL;
	int ret = -EROFS, step = 0;

	if (q->read_only)
		return ret;
	if (len > INT32_MAX)
		return -EFBIG;
	snprintf(sql, sizeof(sql), "DELETE FROM checkpoint_rejected WHERE id NOT IN "
		 "(SELECT id FROM checkpoint_rejected ORDER BY id DESC LIMIT %d)", REJECTED_KEEP);
	do {
		ret = exec(q, "BEGIN IMMEDIATE");
		if (ret)
			break;
		ret = stmt(q, "INSERT INTO checkpoint_rejected (blob, t, rejected, why) "
			      "SELECT blob, t, ?1, ?2 FROM checkpoint", "keeping the checkpoint aside", &st);
		if (!ret) {
			sqlite3_bind_int64(st, 1, now_s());
			sqlite3_bind_text(st, 2, why, -1, SQLITE_STATIC);
			ret = step_done(q, st, "keeping the checkpoint aside");
		}
		sqlite3_finalize(st);
		st = NULL;
		if (!ret)
			ret = exec(q, sql);
		if (!ret)
			ret = exec(q, "DELETE FROM checkpoint");
		if (!ret && blob)
			ret = checkpoint_put_once(q, blob, len, t_s);
		if (!ret)
			ret = exec(q, "COMMIT");
		if (ret)
			rollback(q);
	} while (ret == -ENOSPC && make_room(q, &step));
	if (ret)
		log_err("%s: cannot keep the refused checkpoint aside: %s", q->path, strerror(-ret));
	else
		ret = count_state_pages(q);
	return ret;
}

int queue_checkpoint_rejected(queue_t *q, uint64_t *n, int64_t *rejected_s, char *why,
			      size_t why_len)
{
	sqlite3_stmt *st = NULL;
	int ret;

	*n = 0;
	*rejected_s = 0;
	if (why_len)
		why[0] = '\0';
	ret = first_row(q, "SELECT (SELECT count(*) FROM checkpoint_rejected), rejected, why "
			   "FROM checkpoint_rejected ORDER BY id DESC LIMIT 1",
			"reading the rejected checkpoints", &st);
	if (!ret) {
		*n = (uint64_t)sqlite3_column_int64(st, 0);
		*rejected_s = sqlite3_column_int64(st, 1);
		snprintf(why, why_len, "%s", (const char *)sqlite3_column_text(st, 2));
	} else if (ret == -ENOENT) {
		ret = 0;
	}
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
	int ret;

	if (q->read_only)
		return -EROFS;
	ret = exec(q, "DELETE FROM checkpoint");
	return ret ? ret : count_state_pages(q);
}

/* ---- reconciling with the ledger ---------------------------------------------- */

int queue_ledger_head_put(queue_t *q, uint64_t seq, int64_t t_s)
{
	char sql[128];

	if (q->read_only)
		return -EROFS;
	snprintf(sql, sizeof(sql), "UPDATE agent_state SET ledger_seq = %llu, ledger_checked = %lld "
		 "WHERE id = 1", (unsigned long long)seq, (long long)t_s);
	return exec(q, sql);
}

int queue_ledger_head_get(queue_t *q, uint64_t *seq, int64_t *t_s)
{
	sqlite3_stmt *st = NULL;
	int ret;

	*seq = 0;
	*t_s = 0;
	ret = first_row(q, "SELECT ledger_seq, ledger_checked FROM agent_state "
			   "WHERE id = 1 AND ledger_seq IS NOT NULL", "reading the ledger head", &st);
	if (!ret) {
		*seq = (uint64_t)sqlite3_column_int64(st, 0);
		*t_s = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return ret;
}

int queue_record_hash(queue_t *q, uint64_t seq, uint8_t hash[QUEUE_HASH_LEN])
{
	sqlite3_stmt *st = NULL;
	int ret;

	ret = stmt(q, "SELECT hash FROM records WHERE seq = ?1", "reading a record's hash", &st);
	if (!ret) {
		sqlite3_bind_int64(st, 1, (int64_t)seq);
		ret = step_row(q, st, "reading a record's hash");
	}
	if (!ret && sqlite3_column_bytes(st, 0) == QUEUE_HASH_LEN)
		memcpy(hash, sqlite3_column_blob(st, 0), QUEUE_HASH_LEN);
	else if (!ret)
		ret = -EUCLEAN;
	sqlite3_finalize(st);
	return ret;
}

int queue_resync(queue_t *q, uint64_t ledger_seq, uint64_t *repending, uint64_t *acked,
		 uint64_t *missing)
{
	sqlite3_stmt *st = NULL;
	uint64_t head = 0, lowest = 0;
	uint8_t h[QUEUE_HASH_LEN];
	int ret;

	*repending = *acked = *missing = 0;
	if (q->read_only)
		return -EROFS;
	ret = read_head(q, &head, h);
	if (!ret)
		ret = query_u64(q, "SELECT coalesce(min(seq), 0) FROM records", &lowest, NULL);
	if (ret)
		return ret;
	/* Records pruned after an acknowledgement the ledger has since lost
	 * cannot be sent again: say how many. */
	if (ledger_seq < head) {
		uint64_t first_stored = lowest ? lowest : head + 1;

		if (first_stored > ledger_seq + 1)
			*missing = first_stored - (ledger_seq + 1);
	}
	ret = exec(q, "BEGIN IMMEDIATE");
	if (ret)
		return ret;
	ret = stmt(q, "UPDATE records SET state = 0, uploaded = NULL, next_attempt = 0 "
		      "WHERE seq > ?1 AND state = 1", "marking records pending again", &st);
	if (!ret) {
		sqlite3_bind_int64(st, 1, (int64_t)ledger_seq);
		ret = step_done(q, st, "marking records pending again");
		*repending = (uint64_t)sqlite3_changes(q->db);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (!ret)
		ret = stmt(q, "UPDATE records SET state = 1, uploaded = ?2, last_error = NULL "
			      "WHERE seq <= ?1 AND state = 0", "marking records uploaded", &st);
	if (!ret) {
		sqlite3_bind_int64(st, 1, (int64_t)ledger_seq);
		sqlite3_bind_int64(st, 2, now_s());
		ret = step_done(q, st, "marking records uploaded");
		*acked = (uint64_t)sqlite3_changes(q->db);
	}
	sqlite3_finalize(st);
	if (!ret)
		ret = exec(q, "COMMIT");
	if (ret)
		rollback(q);
	return ret;
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
