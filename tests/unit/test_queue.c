/* Unit tests for upload/queue.c against real SQLite files: the chain head
 * advances with each record in one transaction, a failing encoder or a full
 * store leaves nothing half-done, batches come out in seq order within
 * their limits through an index (checked with EXPLAIN QUERY PLAN and
 * SQLite's own step counters on a million rows), only acknowledged seqs
 * are marked, read-only handles cannot write, and a damaged file is
 * refused. The test includes queue.c to reach the handle's SQLite
 * connection. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sodium.h>

#include "upload/queue.c"

struct maker {
	size_t size;          /* bytes per record */
	int fail_at;          /* return -EIO at this call (1-based); 0 never */
	int calls;
	uint64_t seen_seq[64];
	uint8_t seen_prev[64][32];
};

static int make(uint64_t seq, const uint8_t prev[QUEUE_HASH_LEN], void *ctx,
		uint8_t **bytes, size_t *len, uint8_t hash[QUEUE_HASH_LEN])
{
	struct maker *m = ctx;
	uint8_t *b;

	m->calls++;
	if (m->fail_at && m->calls == m->fail_at)
		return -EIO;
	if (m->calls <= 64) {
		m->seen_seq[m->calls - 1] = seq;
		memcpy(m->seen_prev[m->calls - 1], prev, 32);
	}
	b = malloc(m->size);
	if (!b)
		return -ENOMEM;
	memset(b, (int)(seq & 0xff), m->size);
	memcpy(b, &seq, sizeof(seq));
	crypto_hash_sha256(hash, b, m->size);
	*bytes = b;
	*len = m->size;
	return 0;
}

static char *tmpdb(void)
{
	char *dir = strdup("/tmp/test_queue.XXXXXX");
	char *path;

	assert_non_null(mkdtemp(dir));
	path = malloc(strlen(dir) + 16);
	snprintf(path, strlen(dir) + 16, "%s/q.db", dir);
	free(dir);
	return path;
}

static void rmdb(char *path)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "rm -rf \"$(dirname '%s')\"", path);
	if (system(buf))
		print_message("# could not remove %s\n", path);
	free(path);
}

/* Each test gets a fresh folder with a store path in *state; the folder
 * goes in the teardown, so a failing test leaves nothing behind. */
static int setup(void **state)
{
	*state = tmpdb();
	return 0;
}

static int teardown(void **state)
{
	rmdb(*state);
	return 0;
}

static int64_t sql_int(queue_t *q, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(q->db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void test_schema_and_pragmas(void **state)
{
	char *path = *state;
	queue_t *q = NULL;
	sqlite3_stmt *st;

	assert_int_equal(queue_open(&q, path, NULL), 0);
	assert_int_equal(sql_int(q, "PRAGMA user_version"), QUEUE_SCHEMA_VERSION);
	assert_int_equal(sql_int(q, "PRAGMA synchronous"), 2);    /* FULL */
	assert_int_equal(sqlite3_prepare_v2(q->db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	queue_close(q);
	/* reopening an up-to-date store migrates nothing and keeps data */
	assert_int_equal(queue_open(&q, path, NULL), 0);
	assert_int_equal(sql_int(q, "SELECT count(*) FROM agent_state"), 1);
	/* a store from a newer program is refused, not rewritten */
	assert_int_equal(sqlite3_exec(q->db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	queue_close(q);
	q = NULL;
	assert_int_equal(queue_open(&q, path, NULL), -EPROTO);
	assert_null(q);
}

static void test_append_chains(void **state)
{
	char *path = *state;
	struct maker m = { .size = 100 };
	uint8_t head[32], zero[32] = { 0 }, h1[32];
	uint64_t seq = 0;
	size_t n = 0;
	queue_t *q = NULL;

	assert_int_equal(queue_open(&q, path, NULL), 0);
	assert_int_equal(queue_head(q, &seq, head), 0);
	assert_int_equal(seq, 0);
	assert_memory_equal(head, zero, 32);

	assert_int_equal(queue_append(q, make, &m, &seq), 0);
	assert_int_equal(seq, 1);
	assert_int_equal(m.seen_seq[0], 1);
	assert_memory_equal(m.seen_prev[0], zero, 32);
	assert_int_equal(queue_head(q, &seq, h1), 0);

	/* a batch: each record is chained to the one before it */
	assert_int_equal(queue_append_batch(q, make, &m, 10, &n), 0);
	assert_int_equal(n, 10);
	assert_int_equal(m.seen_seq[1], 2);
	assert_memory_equal(m.seen_prev[1], h1, 32);
	for (int i = 2; i < 11; i++) {
		uint8_t b[100], h[32];
		uint64_t s = m.seen_seq[i - 1];

		memset(b, (int)(s & 0xff), sizeof(b));
		memcpy(b, &s, sizeof(s));
		crypto_hash_sha256(h, b, sizeof(b));
		assert_int_equal(m.seen_seq[i], s + 1);
		assert_memory_equal(m.seen_prev[i], h, 32);
	}
	assert_int_equal(queue_head(q, &seq, head), 0);
	assert_int_equal(seq, 11);
	assert_int_equal(sql_int(q, "SELECT count(*) FROM records"), 11);

	/* an encoder failing mid-batch: nothing of the batch is stored */
	m.calls = 0;
	m.fail_at = 3;
	assert_int_equal(queue_append_batch(q, make, &m, 5, &n), -EIO);
	assert_int_equal(n, 0);
	assert_int_equal(queue_head(q, &seq, h1), 0);
	assert_int_equal(seq, 11);
	assert_memory_equal(h1, head, 32);
	assert_int_equal(sql_int(q, "SELECT count(*) FROM records"), 11);
	/* and the next append takes seq 12 over the same head */
	m.calls = 0;
	m.fail_at = 0;
	assert_int_equal(queue_append(q, make, &m, &seq), 0);
	assert_int_equal(seq, 12);
	assert_memory_equal(m.seen_prev[0], head, 32);
	queue_close(q);
}

static void test_batches_and_marks(void **state)
{
	char *path = *state;
	struct maker m = { .size = 100 };
	struct queue_batch b;
	struct queue_stats st;
	size_t n;
	queue_t *q = NULL;

	assert_int_equal(queue_open(&q, path, NULL), 0);
	assert_int_equal(queue_next_batch(q, 10, 1 << 20, &b), 0);
	assert_int_equal(b.n, 0);
	queue_batch_free(&b);
	assert_int_equal(queue_append_batch(q, make, &m, 20, &n), 0);

	assert_int_equal(queue_next_batch(q, 5, 1 << 20, &b), 0);
	assert_int_equal(b.n, 5);
	for (size_t i = 0; i < b.n; i++) {
		assert_int_equal(b.items[i].seq, i + 1);
		assert_int_equal(b.items[i].len, 100);
		assert_memory_equal(b.items[i].bytes, &b.items[i].seq, 8);
		assert_ptr_equal(b.items[i].bytes, b.buf + 100 * i);  /* a cbor-seq body */
	}
	assert_int_equal(b.buf_len, 500);
	queue_batch_free(&b);
	/* byte limit: 250 bytes hold two records */
	assert_int_equal(queue_next_batch(q, 10, 250, &b), 0);
	assert_int_equal(b.n, 2);
	queue_batch_free(&b);
	/* one record bigger than the limit still goes alone */
	assert_int_equal(queue_next_batch(q, 10, 10, &b), 0);
	assert_int_equal(b.n, 1);
	queue_batch_free(&b);

	/* only the listed seqs are marked; unknown seqs are ignored */
	uint64_t acked[] = { 1, 2, 4, 999 };
	assert_int_equal(queue_mark_uploaded(q, acked, 4), 0);
	assert_int_equal(queue_next_batch(q, 3, 1 << 20, &b), 0);
	assert_int_equal(b.n, 3);
	assert_int_equal(b.items[0].seq, 3);
	assert_int_equal(b.items[1].seq, 5);
	assert_int_equal(b.items[2].seq, 6);
	queue_batch_free(&b);
	assert_int_equal(queue_stats(q, &st), 0);
	assert_int_equal(st.last_seq, 20);
	assert_int_equal(st.pending, 17);
	assert_int_equal(st.pending_bytes, 1700);
	assert_int_equal(st.uploaded, 3);
	assert_int_equal(st.oldest_pending_seq, 3);
	assert_true(st.last_upload_s > 0);

	/* record commits stay synchronous=FULL after a (NORMAL) mark */
	assert_int_equal(sql_int(q, "PRAGMA synchronous"), 2);

	uint64_t failed[] = { 3, 5 };
	assert_int_equal(queue_note_failure(q, failed, 2, 12345, "HTTP 500"), 0);
	assert_int_equal(queue_note_failure(q, failed, 1, 12346, NULL), 0);
	assert_int_equal(sql_int(q, "SELECT attempts FROM records WHERE seq = 3"), 2);
	assert_int_equal(sql_int(q, "SELECT attempts FROM records WHERE seq = 5"), 1);
	assert_int_equal(sql_int(q, "SELECT next_attempt FROM records WHERE seq = 3"), 12346);
	queue_close(q);
}

/* The next batch of 500 starts at first_seq and costs in proportion to
 * the rows returned: at most one scan step per row (it steps through the
 * pending index, not the stored records) and under 40 VM steps per row.
 * what, when not NULL, labels the VM step count printed. */
static void batch_of_500_costs(queue_t *q, uint64_t first_seq, const char *what)
{
	struct queue_batch b;

	sqlite3_stmt_status(q->st_next, SQLITE_STMTSTATUS_FULLSCAN_STEP, 1);
	sqlite3_stmt_status(q->st_next, SQLITE_STMTSTATUS_VM_STEP, 1);
	assert_int_equal(queue_next_batch(q, 500, 1 << 20, &b), 0);
	assert_int_equal(b.n, 500);
	assert_int_equal(b.items[0].seq, first_seq);
	assert_int_equal(b.items[499].seq, first_seq + 499);
	queue_batch_free(&b);
	assert_true(sqlite3_stmt_status(q->st_next, SQLITE_STMTSTATUS_FULLSCAN_STEP, 0) <= 500);
	if (what)
		print_message("# VM steps for %s: %d\n", what,
			      sqlite3_stmt_status(q->st_next, SQLITE_STMTSTATUS_VM_STEP, 0));
	assert_true(sqlite3_stmt_status(q->st_next, SQLITE_STMTSTATUS_VM_STEP, 0) < 500 * 40);
}

/* The next batch is read through records_pending even with a million
 * rows, 999,000 of them already uploaded: the plan names the index, and
 * SQLite counts scan steps and VM steps in proportion to the rows
 * returned, not to the rows stored. */
static void test_next_batch_is_index_scan(void **state)
{
	char *path = *state;
	queue_t *q = NULL;
	sqlite3_stmt *st;
	bool uses_index = false;

	assert_int_equal(queue_open(&q, path, NULL), 0);
	assert_int_equal(sqlite3_exec(q->db,
		"PRAGMA synchronous = OFF;"
		"BEGIN;"
		"WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 1000000) "
		"INSERT INTO records (seq, cose, hash, state, created) "
		"SELECT n, randomblob(16), zeroblob(32), n <= 999000, 0 FROM s;"
		"COMMIT; ANALYZE;", NULL, NULL, NULL), SQLITE_OK);

	char sql[256];
	snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", queue_sql_next_batch);
	assert_int_equal(sqlite3_prepare_v2(q->db, sql, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *detail = (const char *)sqlite3_column_text(st, 3);

		print_message("# plan: %s\n", detail);
		/* "SCAN records" alone is a table scan; a scan of the
		 * partial index visits pending rows only */
		if (strstr(detail, "SCAN records"))
			assert_non_null(strstr(detail, "USING INDEX records_pending"));
		assert_null(strstr(detail, "TEMP B-TREE"));
		if (strstr(detail, "records_pending"))
			uses_index = true;
	}
	sqlite3_finalize(st);
	assert_true(uses_index);

	batch_of_500_costs(q, 999001, "500 of 1,000 pending rows among 1,000,000");

	/* a million pending records: the same plan, the same cost */
	assert_int_equal(sqlite3_exec(q->db, "UPDATE records SET state = 0; ANALYZE;",
				      NULL, NULL, NULL), SQLITE_OK);
	batch_of_500_costs(q, 1, NULL);
	queue_close(q);
}

static void test_quota_full_and_recovery(void **state)
{
	char *path = *state;
	struct queue_opts o = { .max_bytes = (int64_t)128 * 1024 };
	struct maker m = { .size = 1000 };
	struct queue_batch b;
	uint64_t seq = 0, seq_full = 0;
	uint8_t head[32] = { 0 }, head2[32] = { 0 };
	size_t n;
	int ret = 0, stored = 0;
	queue_t *q = NULL;

	assert_int_equal(queue_open(&q, path, &o), 0);
	while (stored < 10000) {
		ret = queue_append(q, make, &m, &seq);
		if (ret)
			break;
		stored++;
	}
	assert_int_equal(ret, -ENOSPC);
	assert_true(stored > 50);
	assert_int_equal(queue_head(q, &seq_full, head), 0);
	assert_int_equal(seq_full, (uint64_t)stored);
	/* a full store still reads, and is intact */
	assert_int_equal(sql_int(q, "SELECT count(*) FROM records"), stored);
	{
		sqlite3_stmt *st;

		assert_int_equal(sqlite3_prepare_v2(q->db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
		sqlite3_finalize(st);
	}
	/* pending records are never dropped to make room */
	assert_int_equal(queue_append_batch(q, make, &m, 5, &n), -ENOSPC);
	assert_int_equal(n, 0);
	assert_int_equal(queue_head(q, &seq, head2), 0);
	assert_int_equal(seq, seq_full);
	assert_memory_equal(head, head2, 32);

	/* once the ledger has acknowledged records, their space is reused */
	assert_int_equal(queue_next_batch(q, 20, 1 << 20, &b), 0);
	{
		uint64_t acked[20];

		for (size_t i = 0; i < b.n; i++)
			acked[i] = b.items[i].seq;
		assert_int_equal(queue_mark_uploaded(q, acked, b.n), 0);
	}
	queue_batch_free(&b);
	assert_int_equal(queue_append(q, make, &m, &seq), 0);
	assert_int_equal(seq, seq_full + 1);
	assert_int_equal(sql_int(q, "SELECT min(seq) FROM records"), 21);
	queue_close(q);

	/* a larger quota: appends go on from the same head */
	o.max_bytes = (int64_t)1024 * 1024;
	assert_int_equal(queue_open(&q, path, &o), 0);
	assert_int_equal(queue_append_batch(q, make, &m, 50, &n), 0);
	assert_int_equal(n, 50);
	assert_int_equal(queue_head(q, &seq, head), 0);
	assert_int_equal(seq, seq_full + 51);
	queue_close(q);
}

static void test_read_only(void **state)
{
	char *path = *state;
	struct queue_opts ro = { .read_only = true };
	struct maker m = { .size = 10 };
	struct queue_stats st;
	queue_t *w = NULL, *r = NULL;
	uint64_t s = 1;
	size_t n;

	assert_int_equal(queue_open(&w, path, NULL), 0);
	assert_int_equal(queue_append_batch(w, make, &m, 3, &n), 0);
	/* a reader beside the open writer (eco2ctl while eco2d runs) */
	assert_int_equal(queue_open(&r, path, &ro), 0);
	assert_int_equal(queue_stats(r, &st), 0);
	assert_int_equal(st.pending, 3);
	assert_int_equal(queue_append(r, make, &m, NULL), -EROFS);
	assert_int_equal(queue_mark_uploaded(r, &s, 1), -EROFS);
	assert_int_equal(queue_checkpoint_put(r, "x", 1, 1), -EROFS);
	assert_int_equal(queue_append_batch(w, make, &m, 2, &n), 0);
	assert_int_equal(queue_stats(r, &st), 0);
	assert_int_equal(st.pending, 5);
	queue_close(r);
	queue_close(w);
}

static void test_checkpoint_and_counters(void **state)
{
	char *path = *state;
	queue_t *q = NULL;
	void *blob = NULL;
	size_t len = 0;
	int64_t t = 0, v = 0;

	assert_int_equal(queue_open(&q, path, NULL), 0);
	assert_int_equal(queue_checkpoint_get(q, &blob, &len, &t), -ENOENT);
	assert_int_equal(queue_checkpoint_put(q, "trip-1", 6, 1000), 0);
	assert_int_equal(queue_checkpoint_put(q, "trip-22", 7, 2000), 0);
	assert_int_equal(queue_checkpoint_get(q, &blob, &len, &t), 0);
	assert_int_equal(len, 7);
	assert_memory_equal(blob, "trip-22", 7);
	assert_int_equal(t, 2000);
	free(blob);
	assert_int_equal(queue_checkpoint_clear(q), 0);
	assert_int_equal(queue_checkpoint_get(q, &blob, &len, &t), -ENOENT);

	assert_int_equal(queue_counter_get(q, "frames_dropped", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(queue_counter_add(q, "frames_dropped", 5), 0);
	assert_int_equal(queue_counter_add(q, "frames_dropped", -2), 0);
	assert_int_equal(queue_counter_get(q, "frames_dropped", &v), 0);
	assert_int_equal(v, 3);
	queue_close(q);
}

/* The quota bounds the records, never the checkpoint: with the records at
 * the quota a checkpoint of 200 KB still goes in, and the records' share
 * of the file stays within the quota. A checkpoint beyond what the writer
 * said it would write (state_max_bytes) is held by the hard cap. */
static void test_checkpoint_outside_quota(void **state)
{
	char *path = *state;
	struct queue_opts o = { .max_bytes = (int64_t)128 * 1024, .state_max_bytes = 256 * 1024 };
	struct maker m = { .size = 1000 };
	uint8_t *big = calloc(1, 4u << 20);
	int64_t quota_pages, pages, freel;
	int ret = 0;
	queue_t *q = NULL;

	assert_non_null(big);
	assert_int_equal(queue_open(&q, path, &o), 0);
	while (!ret)
		ret = queue_append(q, make, &m, NULL);
	assert_int_equal(ret, -ENOSPC);
	assert_true(q->quota_hit);
	quota_pages = o.max_bytes / q->page_size;
	for (size_t len = 1000; len <= 200000; len *= 2) {
		memset(big, (int)len, len);
		assert_int_equal(queue_checkpoint_put(q, big, len, (int64_t)len), 0);
		assert_int_equal(queue_append(q, make, &m, NULL), -ENOSPC);
		pages = sql_int(q, "PRAGMA page_count");
		freel = sql_int(q, "PRAGMA freelist_count");
		/* the file holds the records' quota and the checkpoint beside */
		assert_true(pages - freel - q->state_pages <= quota_pages);
		assert_true(q->state_pages >= (int64_t)(len / (size_t)q->page_size));
	}
	/* the checkpoint gone, the records still may not pass the quota */
	assert_int_equal(queue_checkpoint_clear(q), 0);
	ret = 0;
	for (int i = 0; i < 200 && !ret; i++)
		ret = queue_append(q, make, &m, NULL);
	assert_int_equal(ret, -ENOSPC);
	assert_true(sql_int(q, "PRAGMA page_count") - sql_int(q, "PRAGMA freelist_count") <=
		    quota_pages + 1);
	/* far beyond the writer's own bound: the hard cap refuses it */
	assert_int_equal(queue_checkpoint_put(q, big, 4u << 20, 1), -ENOSPC);
	queue_close(q);
	free(big);
}

/* A refused checkpoint moves aside with its reason, the new one takes its
 * place in the same transaction, and only the newest two are kept. */
static void test_checkpoint_reject(void **state)
{
	char *path = *state;
	queue_t *q = NULL;
	void *blob = NULL;
	size_t len = 0;
	int64_t t = 0, when = 0;
	uint64_t n = 0;
	char why[64];

	assert_int_equal(queue_open(&q, path, NULL), 0);
	assert_int_equal(queue_checkpoint_rejected(q, &n, &when, why, sizeof(why)), 0);
	assert_int_equal(n, 0);
	assert_int_equal(queue_checkpoint_put(q, "forged", 6, 1000), 0);
	assert_int_equal(queue_checkpoint_reject(q, "its tag does not verify", "fresh", 5, 2000), 0);
	assert_int_equal(queue_checkpoint_get(q, &blob, &len, &t), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(blob, "fresh", 5);
	free(blob);
	assert_int_equal(queue_checkpoint_rejected(q, &n, &when, why, sizeof(why)), 0);
	assert_int_equal(n, 1);
	assert_string_equal(why, "its tag does not verify");
	assert_true(when > 0);
	assert_int_equal(sql_int(q, "SELECT t FROM checkpoint_rejected"), 1000);
	assert_int_equal(sql_int(q, "SELECT length(blob) FROM checkpoint_rejected"), 6);
	for (int i = 0; i < 3; i++)
		assert_int_equal(queue_checkpoint_reject(q, "again", NULL, 0, 0), 0);
	assert_int_equal(queue_checkpoint_get(q, &blob, &len, &t), -ENOENT);
	assert_int_equal(queue_checkpoint_rejected(q, &n, &when, why, sizeof(why)), 0);
	assert_int_equal(n, 2);
	queue_close(q);
}

/* Reconciling with a ledger head: marks follow the ledger, records the
 * store pruned after an acknowledgement are counted as missing. */
static void test_resync(void **state)
{
	char *path = *state;
	struct maker m = { .size = 50 };
	uint64_t seqs[10], re, ack, miss, seq;
	uint8_t h[32], h2[32];
	struct queue_stats st;
	int64_t t;
	queue_t *q = NULL;
	size_t n;

	assert_int_equal(queue_open(&q, path, NULL), 0);
	assert_int_equal(queue_ledger_head_get(q, &seq, &t), -ENOENT);
	assert_int_equal(queue_append_batch(q, make, &m, 10, &n), 0);
	for (int i = 0; i < 10; i++)
		seqs[i] = (uint64_t)i + 1;
	assert_int_equal(queue_mark_uploaded(q, seqs, 10), 0);
	/* a ledger restored to head 4: 5..10 go again */
	assert_int_equal(queue_resync(q, 4, &re, &ack, &miss), 0);
	assert_int_equal(re, 6);
	assert_int_equal(ack, 0);
	assert_int_equal(miss, 0);
	assert_int_equal(queue_stats(q, &st), 0);
	assert_int_equal(st.pending, 6);
	assert_int_equal(st.oldest_pending_seq, 5);
	/* a ledger ahead of the marks: up to 7 is uploaded */
	assert_int_equal(queue_resync(q, 7, &re, &ack, &miss), 0);
	assert_int_equal(re, 0);
	assert_int_equal(ack, 3);
	assert_int_equal(queue_stats(q, &st), 0);
	assert_int_equal(st.pending, 3);
	/* records 1..5 pruned, then a ledger restored to head 2 */
	assert_int_equal(queue_mark_uploaded(q, seqs, 10), 0);
	assert_int_equal(sqlite3_exec(q->db, "DELETE FROM records WHERE seq <= 5", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(queue_resync(q, 2, &re, &ack, &miss), 0);
	assert_int_equal(miss, 3);
	assert_int_equal(re, 5);
	/* the stored hash of a record, and none for a pruned one */
	assert_int_equal(queue_record_hash(q, 5, h), -ENOENT);
	assert_int_equal(queue_record_hash(q, 10, h), 0);
	assert_int_equal(queue_head(q, &seq, h2), 0);
	assert_memory_equal(h, h2, 32);
	/* the ledger's head as last read */
	assert_int_equal(queue_ledger_head_put(q, 9, 12345), 0);
	assert_int_equal(queue_ledger_head_get(q, &seq, &t), 0);
	assert_int_equal(seq, 9);
	assert_int_equal(t, 12345);
	queue_close(q);
}

/* Only a regular file (or nothing yet) is a store; one that cannot be
 * written is refused at open, not retried. */
static void test_store_path(void **state)
{
	char *path = *state, p[600];
	queue_t *q = NULL;
	int fd;

	snprintf(p, sizeof(p), "%s.fifo", path);
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(queue_open(&q, p, NULL), -EINVAL);   /* at once: no blocking open */
	unlink(p);
	snprintf(p, sizeof(p), "%s.dir", path);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(queue_open(&q, p, NULL), -EISDIR);
	rmdir(p);
	assert_int_equal(queue_open(&q, "/dev/zero", NULL), -EINVAL);
	assert_null(q);
	/* immutable (chattr +i) where the file system and privileges allow */
	assert_int_equal(queue_open(&q, path, NULL), 0);
	queue_close(q);
	q = NULL;
	snprintf(p, sizeof(p), "chattr +i '%s' 2>/dev/null", path);
	if (system(p) == 0) {
		assert_int_equal(queue_open(&q, path, NULL), -EROFS);
		snprintf(p, sizeof(p), "chattr -i '%s'", path);
		assert_int_equal(system(p), 0);
	} else {
		print_message("# chattr +i refused here: the immutable case is not run\n");
	}
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	close(fd);
}

/* The disk reserve: made at open, given back when asked, made whole again
 * after the next stored record. */
static void test_reserve(void **state)
{
	char *path = *state, rp[600];
	struct queue_opts o = { .reserve_bytes = 64 * 1024 };
	struct maker m = { .size = 10 };
	struct stat st;
	queue_t *q = NULL;

	snprintf(rp, sizeof(rp), "%s-reserve", path);
	assert_int_equal(queue_open(&q, path, &o), 0);
	assert_int_equal(stat(rp, &st), 0);
	assert_int_equal(st.st_size, 64 * 1024);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(reserve_release(q));
	assert_int_equal(stat(rp, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_false(reserve_release(q));   /* nothing left to give */
	assert_int_equal(queue_append(q, make, &m, NULL), 0);
	assert_int_equal(stat(rp, &st), 0);
	assert_int_equal(st.st_size, 64 * 1024);
	queue_close(q);
}

static int walk_cb(uint64_t seq, const uint8_t *bytes, size_t len, void *ctx)
{
	uint64_t *next = ctx;

	assert_int_equal(seq, *next);
	assert_int_equal(len, 10);
	assert_memory_equal(bytes, &seq, 8);
	(*next)++;
	return seq == 7 ? 42 : 0;
}

static void test_walk(void **state)
{
	char *path = *state;
	struct maker m = { .size = 10 };
	queue_t *q = NULL;
	uint64_t next = 4, acked = 5;
	size_t n;

	assert_int_equal(queue_open(&q, path, NULL), 0);
	assert_int_equal(queue_append_batch(q, make, &m, 9, &n), 0);
	assert_int_equal(queue_mark_uploaded(q, &acked, 1), 0);
	/* uploaded records are still exported; the callback's value stops it */
	assert_int_equal(queue_walk(q, 4, walk_cb, &next), 42);
	assert_int_equal(next, 8);
	queue_close(q);
}

static int receipt_cb(const struct queue_receipt *r, void *ctx)
{
	char *out = ctx;
	size_t n = strlen(out);

	snprintf(out + n, 256 - n, "%llu-%llu@%llu:%.*s;", (unsigned long long)r->first_seq,
		 (unsigned long long)r->last_seq, (unsigned long long)r->tree_size, (int)r->len, r->text);
	return 0;
}

/* Receipts are kept in the transaction that marks their records, read
 * back by seq, and go with the last record they prove when pruned; a
 * version 1 store gains the table on its first writable open. */
static void test_receipts(void **state)
{
	char *path = *state;
	struct maker m = { .size = 10 };
	queue_t *q = NULL;
	uint64_t s12[2] = { 1, 2 }, s35[3] = { 3, 4, 5 };
	struct queue_receipt r1 = { 1, 2, 7, "first", 5 }, r2 = { 3, 5, 10, "second", 6 };
	char out[256] = "";
	struct queue_stats st;
	size_t n;

	assert_int_equal(queue_open(&q, path, NULL), 0);
	assert_int_equal(queue_append_batch(q, make, &m, 8, &n), 0);
	assert_int_equal(queue_mark_uploaded_receipt(q, s12, 2, &r1), 0);
	assert_int_equal(queue_mark_uploaded_receipt(q, s35, 3, &r2), 0);
	assert_int_equal(queue_mark_uploaded_receipt(q, s35, 0, &r2), -EINVAL);
	assert_int_equal(queue_stats(q, &st), 0);
	assert_int_equal(st.uploaded, 5);
	assert_int_equal(queue_receipts_walk(q, 1, receipt_cb, out), 0);
	assert_string_equal(out, "1-2@7:first;3-5@10:second;");
	out[0] = '\0';
	assert_int_equal(queue_receipts_walk(q, 3, receipt_cb, out), 0);
	assert_string_equal(out, "3-5@10:second;");
	/* pruning the uploaded records 1..5 takes the receipt of 1..2; one
	 * that also proves record 6, still stored, stays */
	assert_int_equal(exec(q, "UPDATE receipts SET last_seq = 6 WHERE first_seq = 3"), 0);
	assert_int_equal(prune_uploaded(q), 5);
	out[0] = '\0';
	assert_int_equal(queue_receipts_walk(q, 0, receipt_cb, out), 0);
	assert_string_equal(out, "3-6@10:second;");
	queue_close(q);
	/* a version 1 store migrates */
	assert_int_equal(queue_open(&q, path, NULL), 0);
	assert_int_equal(exec(q, "DROP TABLE receipts; DROP TABLE checkpoint_rejected; "
			      "ALTER TABLE agent_state DROP COLUMN ledger_seq; "
			      "ALTER TABLE agent_state DROP COLUMN ledger_checked; "
			      "PRAGMA user_version = 1"), 0);
	queue_close(q);
	assert_int_equal(queue_open(&q, path, NULL), 0);
	assert_int_equal(sql_int(q, "PRAGMA user_version"), 2);
	assert_int_equal(sql_int(q, "SELECT count(*) FROM receipts"), 0);
	assert_int_equal(sql_int(q, "SELECT count(*) FROM checkpoint_rejected"), 0);
	assert_int_equal(sql_int(q, "SELECT count(ledger_seq) FROM agent_state"), 0);
	queue_close(q);
}

static void test_damaged_store_refused(void **state)
{
	char *path = *state;
	struct maker m = { .size = 3000 };
	queue_t *q = NULL;
	size_t n;
	int fd;
	uint8_t junk[4096];

	assert_int_equal(queue_open(&q, path, NULL), 0);
	assert_int_equal(queue_append_batch(q, make, &m, 200, &n), 0);
	queue_close(q);
	q = NULL;
	/* fold the WAL in, then overwrite the middle of the b-tree pages */
	{
		sqlite3 *db;

		assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE",
					      NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
	}
	memset(junk, 0xA5, sizeof(junk));
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, junk, sizeof(junk), (off_t)4096 * 3), (ssize_t)sizeof(junk));
	assert_int_equal(pwrite(fd, junk, sizeof(junk), (off_t)4096 * 40), (ssize_t)sizeof(junk));
	close(fd);
	assert_int_equal(queue_open(&q, path, NULL), -EUCLEAN);
	assert_null(q);

	/* not a database at all */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	assert_int_equal(queue_open(&q, path, NULL), -EUCLEAN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_schema_and_pragmas, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_chains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batches_and_marks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_batch_is_index_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quota_full_and_recovery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_and_counters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_outside_quota, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_reject, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reserve, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_store_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receipts, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	log_open("test_queue", LOG_TO_STDERR, LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
