/* store_pg — the ledger's store in PostgreSQL (libpq), for fleets: any
 * number of eco2-ledger processes on one database. Each (kid, seq) is
 * stored once (the primary key); appends to the Merkle tree are
 * serialised by one transaction-scoped advisory lock, taken before the
 * tree size and the heads are read and released by COMMIT or ROLLBACK.
 * Statements are prepared once per connection, parameters and results
 * travel in binary, and an append's rows go in one pipeline (one round
 * trip). docs/ledger-api.md, "PostgreSQL", says how to run it. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <libpq-fe.h>

#include "lib/log.h"
#include "ledger/store.h"

/* pg_advisory_xact_lock keys: 'eco2' and 'seq' / 'init' */
#define LOCK_SEQ  "SELECT pg_advisory_xact_lock(1701015346, 7562609)"
#define LOCK_INIT "SELECT pg_advisory_xact_lock(1701015346, 1768843636)"

enum { T_BYTEA = 17, T_INT8 = 20, T_INT2 = 21, T_INT4 = 23, T_TEXT = 25 };

struct stmt {
	const char *name, *sql;
	int n;
	unsigned types[8];
};

enum {
	P_DEV_GET, P_DEV_PUT, P_HEAD, P_HASHES, P_RECORDS, P_INS_REC, P_INS_NODE, P_SET_HEAD,
	P_SET_SIZE, P_SIZE, P_NODE, P_CK_LATEST, P_CK_GET, P_CK_PUT, P_COSIG_PUT, P_COSIGS,
	P_FORK_COUNT, P_FORK_PUT, P_NODES, P_N
};

static const struct stmt stmts[P_N] = {
	[P_DEV_GET] = { "dev_get", "SELECT alg, pub FROM devices WHERE kid = $1", 1, { T_BYTEA } },
	[P_DEV_PUT] = { "dev_put", "INSERT INTO devices (kid, alg, pub, spki, cert, registered) "
		"VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (kid) DO NOTHING", 6,
		{ T_BYTEA, T_INT4, T_BYTEA, T_BYTEA, T_BYTEA, T_INT8 } },
	[P_HEAD] = { "head", "SELECT seq, hash FROM heads WHERE kid = $1", 1, { T_BYTEA } },
	[P_HASHES] = { "hashes", "SELECT seq, hash, leaf FROM records WHERE kid = $1 AND seq BETWEEN $2 AND $3 "
		"ORDER BY seq", 3, { T_BYTEA, T_INT8, T_INT8 } },
	[P_RECORDS] = { "records", "SELECT seq, cose FROM records WHERE kid = $1 AND seq >= $2 "
		"ORDER BY seq LIMIT $3", 3, { T_BYTEA, T_INT8, T_INT8 } },
	[P_INS_REC] = { "ins_rec", "INSERT INTO records (kid, seq, cose, hash, leaf, received) "
		"VALUES ($1, $2, $3, $4, $5, $6)", 6, { T_BYTEA, T_INT8, T_BYTEA, T_BYTEA, T_INT8, T_INT8 } },
	[P_INS_NODE] = { "ins_node", "INSERT INTO nodes (level, idx, hash) VALUES ($1, $2, $3)", 3,
		{ T_INT2, T_INT8, T_BYTEA } },
	[P_SET_HEAD] = { "set_head", "INSERT INTO heads (kid, seq, hash) VALUES ($1, $2, $3) "
		"ON CONFLICT (kid) DO UPDATE SET seq = excluded.seq, hash = excluded.hash", 3,
		{ T_BYTEA, T_INT8, T_BYTEA } },
	[P_SET_SIZE] = { "set_size", "UPDATE tree SET size = $1 WHERE id = 1", 1, { T_INT8 } },
	[P_SIZE] = { "size", "SELECT size FROM tree WHERE id = 1", 0, { 0 } },
	[P_NODE] = { "node", "SELECT hash FROM nodes WHERE level = $1 AND idx = $2", 2, { T_INT2, T_INT8 } },
	[P_NODES] = { "nodes", "SELECT idx, hash FROM nodes WHERE level = $1 AND idx BETWEEN $2 AND $3 ORDER BY idx",
		3, { T_INT2, T_INT8, T_INT8 } },
	[P_CK_LATEST] = { "ck_latest", "SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1", 0, { 0 } },
	[P_CK_GET] = { "ck_get", "SELECT note FROM checkpoints WHERE size = $1", 1, { T_INT8 } },
	[P_CK_PUT] = { "ck_put", "INSERT INTO checkpoints (size, root, note, signed) VALUES ($1, $2, $3, $4) "
		"ON CONFLICT (size) DO NOTHING", 4, { T_INT8, T_BYTEA, T_TEXT, T_INT8 } },
	[P_COSIG_PUT] = { "cosig_put", "INSERT INTO cosignatures (size, name, line) VALUES ($1, $2, $3) "
		"ON CONFLICT (size, name) DO UPDATE SET line = excluded.line", 3, { T_INT8, T_TEXT, T_TEXT } },
	[P_COSIGS] = { "cosigs", "SELECT line FROM cosignatures WHERE size = $1 ORDER BY name", 1, { T_INT8 } },
	[P_FORK_COUNT] = { "fork_count", "SELECT count(*) FROM forks WHERE kid = $1", 1, { T_BYTEA } },
	[P_FORK_PUT] = { "fork_put", "INSERT INTO forks (kid, seq, hash, cose, received) VALUES ($1, $2, $3, $4, $5) "
		"ON CONFLICT DO NOTHING", 5, { T_BYTEA, T_INT8, T_BYTEA, T_BYTEA, T_INT8 } },
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value bigint NOT NULL);"
	"CREATE TABLE IF NOT EXISTS devices ("
	"  kid bytea PRIMARY KEY, alg integer NOT NULL, pub bytea NOT NULL, spki bytea NOT NULL,"
	"  cert bytea NOT NULL, registered bigint NOT NULL);"
	"CREATE TABLE IF NOT EXISTS heads (kid bytea PRIMARY KEY, seq bigint NOT NULL, hash bytea NOT NULL);"
	"CREATE TABLE IF NOT EXISTS nodes ("
	"  level smallint NOT NULL, idx bigint NOT NULL, hash bytea NOT NULL, PRIMARY KEY (level, idx));"
	"CREATE TABLE IF NOT EXISTS tree (id integer PRIMARY KEY CHECK (id = 1), size bigint NOT NULL);"
	"INSERT INTO tree (id, size) VALUES (1, 0) ON CONFLICT DO NOTHING;"
	"CREATE TABLE IF NOT EXISTS checkpoints ("
	"  size bigint PRIMARY KEY, root bytea NOT NULL, note text NOT NULL, signed bigint NOT NULL);"
	"CREATE TABLE IF NOT EXISTS cosignatures ("
	"  size bigint NOT NULL, name text NOT NULL, line text NOT NULL, PRIMARY KEY (size, name));"
	"CREATE TABLE IF NOT EXISTS forks ("
	"  kid bytea NOT NULL, seq bigint NOT NULL, hash bytea NOT NULL, cose bytea NOT NULL,"
	"  received bigint NOT NULL, PRIMARY KEY (kid, seq, hash));"
	"INSERT INTO meta (key, value) VALUES ('schema', 2) ON CONFLICT DO NOTHING;";

#define RECORDS_COLS "kid bytea NOT NULL, seq bigint NOT NULL, cose bytea NOT NULL, hash bytea NOT NULL," \
	" leaf bigint NOT NULL, received bigint NOT NULL, PRIMARY KEY (kid, seq)"

struct pg {
	PGconn *c;
	bool prepared;      /* this session's statements are prepared */
};

/* Binary parameters for one statement. */
struct args {
	const char *v[8];
	int len[8], fmt[8];
	int n;
	uint8_t buf[8][8];
};

static void a_bytes(struct args *a, const void *p, size_t n)
{
	a->v[a->n] = p;
	a->len[a->n] = (int)n;
	a->fmt[a->n++] = 1;
}

static void a_int(struct args *a, int64_t v, int width)
{
	uint8_t *b = a->buf[a->n];

	for (int i = 0; i < width; i++)
		b[i] = (uint8_t)((uint64_t)v >> (8 * (width - 1 - i)));
	a_bytes(a, b, (size_t)width);
}

static void a_text(struct args *a, const char *s, size_t n)
{
	a->v[a->n] = s;
	a->len[a->n] = (int)n;
	a->fmt[a->n++] = 0;
}

static int64_t r_int(const PGresult *r, int row, int col)
{
	const uint8_t *p = (const uint8_t *)PQgetvalue(r, row, col);
	int len = PQgetlength(r, row, col);
	uint64_t v = 0;

	for (int i = 0; i < len; i++)
		v = v << 8 | p[i];
	if (len == 4)
		return (int32_t)v;
	if (len == 2)
		return (int16_t)v;
	return (int64_t)v;
}

static int pq_fail(struct pg *q, const PGresult *r, const char *what)
{
	const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(q->c);
	size_t n = strlen(msg);

	while (n && msg[n - 1] == '\n')
		n--;
	log_err("postgresql: %s: %.*s", what, (int)n, msg);
	return -EIO;
}

/* Run prepared statement i; *res (caller clears) on success. */
static int run(struct pg *q, int i, const struct args *a, PGresult **res)
{
	PGresult *r = PQexecPrepared(q->c, stmts[i].name, a ? a->n : 0, a ? a->v : NULL,
				     a ? a->len : NULL, a ? a->fmt : NULL, 1);
	ExecStatusType st = PQresultStatus(r);

	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		int ret = pq_fail(q, r, stmts[i].name);

		PQclear(r);
		return ret;
	}
	if (res)
		*res = r;
	else
		PQclear(r);
	return 0;
}

static int exec_sql(struct pg *q, const char *sql)
{
	PGresult *r = PQexec(q->c, sql);
	ExecStatusType st = PQresultStatus(r);
	int ret = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		ret = pq_fail(q, r, sql);
	PQclear(r);
	return ret;
}

static const char *conninfo_of(const char *url)
{
	/* "postgresql:key=value ..." passes a conninfo string */
	if (!strncmp(url, "postgresql:", 11) && strncmp(url, "postgresql://", 13))
		return url + 11;
	return url;
}

static void pg_disconnect(void *conn)
{
	struct pg *q = conn;

	if (!q)
		return;
	PQfinish(q->c);
	free(q);
}

static int pg_connect(const struct lstore_opts *o, void **conn)
{
	struct pg *q = calloc(1, sizeof(*q));
	int ret = -EIO;

	*conn = NULL;
	if (!q)
		return -ENOMEM;
	q->c = PQconnectdb(conninfo_of(o->url));
	if (!q->c || PQstatus(q->c) != CONNECTION_OK) {
		pq_fail(q, NULL, "connecting");
		goto out;
	}
	if (exec_sql(q, "SET synchronous_commit = on; SET client_min_messages = warning"))
		goto out;
	*conn = q;
	q = NULL;
	ret = 0;
out:
	pg_disconnect(q);
	return ret;
}

static int prepare_all(struct pg *q)
{
	for (int i = 0; i < P_N; i++) {
		PGresult *r = PQprepare(q->c, stmts[i].name, stmts[i].sql, stmts[i].n, stmts[i].types);

		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			int ret = pq_fail(q, r, stmts[i].name);

			PQclear(r);
			return ret;
		}
		PQclear(r);
	}
	return 0;
}

static int pg_init(void *conn, const struct lstore_opts *o)
{
	struct pg *q = conn;
	char sql[512];
	int ret;

	/* every process runs this at start: one at a time */
	ret = exec_sql(q, "BEGIN");
	if (!ret)
		ret = exec_sql(q, LOCK_INIT);
	if (!ret)
		ret = exec_sql(q, schema);
	if (!ret) {
		if (o->partitions > 1)
			snprintf(sql, sizeof(sql), "CREATE TABLE IF NOT EXISTS records (%s) "
				 "PARTITION BY HASH (kid)", RECORDS_COLS);
		else
			snprintf(sql, sizeof(sql), "CREATE TABLE IF NOT EXISTS records (%s)", RECORDS_COLS);
		ret = exec_sql(q, sql);
	}
	for (unsigned i = 0; !ret && o->partitions > 1 && i < o->partitions; i++) {
		snprintf(sql, sizeof(sql), "CREATE TABLE IF NOT EXISTS records_p%u PARTITION OF records "
			 "FOR VALUES WITH (MODULUS %u, REMAINDER %u)", i, o->partitions, i);
		ret = exec_sql(q, sql);
	}
	if (!ret)
		ret = exec_sql(q, "COMMIT");
	else
		exec_sql(q, "ROLLBACK");
	return ret;
}

/* Statements are prepared on a connection's first use (after init made
 * the tables); a connection that failed is replaced by the pool, with a
 * new session. */
static int ready(struct pg *q)
{
	int ret;

	if (q->prepared)
		return 0;
	ret = prepare_all(q);
	q->prepared = !ret;
	return ret;
}

#define READY(q) do { int r_ = ready(q); if (r_) return r_; } while (0)

static int pg_device_get(void *conn, const uint8_t kid[8], struct lstore_device *d)
{
	struct pg *q = conn;
	struct args a = { .n = 0 };
	PGresult *r = NULL;
	int ret;

	READY(q);
	a_bytes(&a, kid, 8);
	ret = run(q, P_DEV_GET, &a, &r);
	if (ret)
		return ret;
	if (!PQntuples(r)) {
		ret = -ENOENT;
	} else if ((size_t)PQgetlength(r, 0, 1) > LSTORE_PUB_MAX) {
		ret = -EIO;
	} else {
		memcpy(d->kid, kid, 8);
		d->alg = (int)r_int(r, 0, 0);
		d->pub_len = (size_t)PQgetlength(r, 0, 1);
		memcpy(d->pub, PQgetvalue(r, 0, 1), d->pub_len);
	}
	PQclear(r);
	return ret;
}

static int pg_device_put(void *conn, const struct lstore_device *d, const uint8_t *spki,
			 size_t spki_len, const uint8_t *cert, size_t cert_len, int64_t now_s)
{
	struct pg *q = conn;
	struct args a = { .n = 0 };
	struct lstore_device old;
	PGresult *r = NULL;
	int ret;

	READY(q);
	a_bytes(&a, d->kid, 8);
	a_int(&a, d->alg, 4);
	a_bytes(&a, d->pub, d->pub_len);
	a_bytes(&a, spki, spki_len);
	a_bytes(&a, cert, cert_len);
	a_int(&a, now_s, 8);
	ret = run(q, P_DEV_PUT, &a, &r);
	if (ret)
		return ret;
	ret = strtol(PQcmdTuples(r), NULL, 10) == 1 ? 0 : 1;
	PQclear(r);
	if (ret == 1) {
		ret = pg_device_get(conn, d->kid, &old);
		if (!ret)
			ret = old.pub_len == d->pub_len && !memcmp(old.pub, d->pub, d->pub_len) ? 1 : -EEXIST;
	}
	return ret;
}

static int pg_head(void *conn, const uint8_t kid[8], uint64_t *seq, uint8_t hash[32])
{
	struct pg *q = conn;
	struct args a = { .n = 0 };
	PGresult *r = NULL;
	int ret;

	READY(q);
	a_bytes(&a, kid, 8);
	ret = run(q, P_HEAD, &a, &r);
	if (ret)
		return ret;
	*seq = 0;
	memset(hash, 0, 32);
	if (PQntuples(r)) {
		if (PQgetlength(r, 0, 1) != 32) {
			ret = -EIO;
		} else {
			*seq = (uint64_t)r_int(r, 0, 0);
			memcpy(hash, PQgetvalue(r, 0, 1), 32);
		}
	}
	PQclear(r);
	return ret;
}

static int pg_hashes(void *conn, const uint8_t kid[8], uint64_t lo, uint64_t hi,
		     lstore_hash_fn *fn, void *ctx)
{
	struct pg *q = conn;
	struct args a = { .n = 0 };
	PGresult *r = NULL;
	int ret;

	READY(q);
	a_bytes(&a, kid, 8);
	a_int(&a, (int64_t)lo, 8);
	a_int(&a, (int64_t)hi, 8);
	ret = run(q, P_HASHES, &a, &r);
	for (int i = 0; !ret && i < PQntuples(r); i++) {
		if (PQgetlength(r, i, 1) != 32) {
			ret = -EIO;
			break;
		}
		ret = fn(ctx, (uint64_t)r_int(r, i, 0), (const uint8_t *)PQgetvalue(r, i, 1),
			 (uint64_t)r_int(r, i, 2));
	}
	if (r)
		PQclear(r);
	return ret;
}

static int pg_records(void *conn, const uint8_t kid[8], uint64_t from, size_t max_n,
		      lstore_rec_fn *fn, void *ctx)
{
	struct pg *q = conn;
	struct args a = { .n = 0 };
	PGresult *r = NULL;
	int ret;

	READY(q);
	a_bytes(&a, kid, 8);
	a_int(&a, (int64_t)from, 8);
	a_int(&a, (int64_t)max_n, 8);
	ret = run(q, P_RECORDS, &a, &r);
	for (int i = 0; !ret && i < PQntuples(r); i++)
		ret = fn(ctx, (uint64_t)r_int(r, i, 0), (const uint8_t *)PQgetvalue(r, i, 1),
			 (size_t)PQgetlength(r, i, 1));
	if (r)
		PQclear(r);
	return ret;
}

static int pg_tree_size(void *conn, uint64_t *size)
{
	struct pg *q = conn;
	PGresult *r = NULL;
	int ret;

	READY(q);
	ret = run(q, P_SIZE, NULL, &r);
	if (ret)
		return ret;
	if (PQntuples(r) != 1)
		ret = -EIO;
	else
		*size = (uint64_t)r_int(r, 0, 0);
	PQclear(r);
	return ret;
}

static int pg_seq_begin(void *conn, uint64_t *tree_size)
{
	struct pg *q = conn;
	int ret;

	READY(q);
	ret = exec_sql(q, "BEGIN");
	if (!ret)
		ret = exec_sql(q, LOCK_SEQ);
	if (!ret)
		ret = pg_tree_size(conn, tree_size);
	if (ret)
		exec_sql(q, "ROLLBACK");
	return ret;
}

/* One row of the append pipeline. */
static int pipe_send(struct pg *q, int i, const struct args *a)
{
	if (!PQsendQueryPrepared(q->c, stmts[i].name, a->n, a->v, a->len, a->fmt, 1))
		return pq_fail(q, NULL, stmts[i].name);
	return 0;
}

static int pg_seq_append(void *conn, const struct lstore_append *ap)
{
	struct pg *q = conn;
	int ret = 0;
	PGresult *r = NULL;

	if (!PQenterPipelineMode(q->c))
		return pq_fail(q, NULL, "entering pipeline mode");
	for (size_t i = 0; !ret && i < ap->n_recs; i++) {
		struct args a = { .n = 0 };

		a_bytes(&a, ap->recs[i].kid, 8);
		a_int(&a, (int64_t)ap->recs[i].seq, 8);
		a_bytes(&a, ap->recs[i].cose, ap->recs[i].len);
		a_bytes(&a, ap->recs[i].hash, 32);
		a_int(&a, (int64_t)ap->recs[i].leaf, 8);
		a_int(&a, ap->now_s, 8);
		ret = pipe_send(q, P_INS_REC, &a);
	}
	for (size_t i = 0; !ret && i < ap->n_nodes; i++) {
		struct args a = { .n = 0 };

		a_int(&a, (int64_t)ap->nodes[i].level, 2);
		a_int(&a, (int64_t)ap->nodes[i].index, 8);
		a_bytes(&a, ap->nodes[i].hash, 32);
		ret = pipe_send(q, P_INS_NODE, &a);
	}
	for (size_t i = 0; !ret && i < ap->n_heads; i++) {
		struct args a = { .n = 0 };

		a_bytes(&a, ap->heads[i].kid, 8);
		a_int(&a, (int64_t)ap->heads[i].seq, 8);
		a_bytes(&a, ap->heads[i].hash, 32);
		ret = pipe_send(q, P_SET_HEAD, &a);
	}
	if (!ret) {
		struct args a = { .n = 0 };

		a_int(&a, (int64_t)ap->new_size, 8);
		ret = pipe_send(q, P_SET_SIZE, &a);
	}
	if (!PQpipelineSync(q->c) && !ret)
		ret = pq_fail(q, NULL, "pipeline sync");
	/* every result, then the sync point; the first error is the answer */
	for (;;) {
		r = PQgetResult(q->c);
		if (!r) {
			/* the end of one statement's results, or a lost server */
			if (PQstatus(q->c) != CONNECTION_OK) {
				if (!ret)
					ret = pq_fail(q, NULL, "appending");
				break;
			}
			continue;
		}
		if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			break;
		}
		if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_PIPELINE_ABORTED &&
		    !ret)
			ret = pq_fail(q, r, "appending");
		else if (PQresultStatus(r) == PGRES_PIPELINE_ABORTED && !ret)
			ret = -EIO;
		PQclear(r);
	}
	if (!PQexitPipelineMode(q->c) && !ret)
		ret = pq_fail(q, NULL, "leaving pipeline mode");
	return ret;
}

static int pg_seq_end(void *conn, bool commit)
{
	struct pg *q = conn;

	if (commit)
		return exec_sql(q, "COMMIT");
	exec_sql(q, "ROLLBACK");
	return 0;
}

static int pg_node(void *conn, unsigned level, uint64_t index, uint8_t hash[32])
{
	struct pg *q = conn;
	struct args a = { .n = 0 };
	PGresult *r = NULL;
	int ret;

	READY(q);
	a_int(&a, (int64_t)level, 2);
	a_int(&a, (int64_t)index, 8);
	ret = run(q, P_NODE, &a, &r);
	if (ret)
		return ret;
	if (!PQntuples(r))
		ret = -ENOENT;
	else if (PQgetlength(r, 0, 0) != 32)
		ret = -EIO;
	else
		memcpy(hash, PQgetvalue(r, 0, 0), 32);
	PQclear(r);
	return ret;
}

static int pg_nodes(void *conn, unsigned level, uint64_t lo, uint64_t hi, lstore_node_fn *fn, void *ctx)
{
	struct pg *q = conn;
	struct args a = { .n = 0 };
	PGresult *r = NULL;
	int ret;

	READY(q);
	a_int(&a, (int64_t)level, 2);
	a_int(&a, (int64_t)lo, 8);
	a_int(&a, (int64_t)hi, 8);
	ret = run(q, P_NODES, &a, &r);
	for (int i = 0; !ret && i < PQntuples(r); i++) {
		if (PQgetlength(r, i, 1) != 32) {
			ret = -EIO;
			break;
		}
		ret = fn(ctx, (uint64_t)r_int(r, i, 0), (const uint8_t *)PQgetvalue(r, i, 1));
	}
	if (r)
		PQclear(r);
	return ret;
}

static int copy_text(const PGresult *r, int col, char *note, size_t cap, size_t *len)
{
	size_t n = (size_t)PQgetlength(r, 0, col);

	if (n >= cap)
		return -ENOSPC;
	memcpy(note, PQgetvalue(r, 0, col), n);
	note[n] = '\0';
	*len = n;
	return 0;
}

static int pg_checkpoint_latest(void *conn, uint64_t *size, char *note, size_t cap, size_t *len)
{
	struct pg *q = conn;
	PGresult *r = NULL;
	int ret;

	READY(q);
	ret = run(q, P_CK_LATEST, NULL, &r);
	if (ret)
		return ret;
	if (!PQntuples(r)) {
		ret = -ENOENT;
	} else {
		*size = (uint64_t)r_int(r, 0, 0);
		ret = copy_text(r, 1, note, cap, len);
	}
	PQclear(r);
	return ret;
}

static int pg_checkpoint_get(void *conn, uint64_t size, char *note, size_t cap, size_t *len)
{
	struct pg *q = conn;
	struct args a = { .n = 0 };
	PGresult *r = NULL;
	int ret;

	READY(q);
	a_int(&a, (int64_t)size, 8);
	ret = run(q, P_CK_GET, &a, &r);
	if (ret)
		return ret;
	ret = PQntuples(r) ? copy_text(r, 0, note, cap, len) : -ENOENT;
	PQclear(r);
	return ret;
}

static int pg_checkpoint_put(void *conn, uint64_t size, const uint8_t root[32], const char *note,
			     size_t len, int64_t now_s)
{
	struct pg *q = conn;
	struct args a = { .n = 0 };
	PGresult *r = NULL;
	int ret;

	READY(q);
	a_int(&a, (int64_t)size, 8);
	a_bytes(&a, root, 32);
	a_text(&a, note, len);
	a_int(&a, now_s, 8);
	ret = run(q, P_CK_PUT, &a, &r);
	if (ret)
		return ret;
	ret = strtol(PQcmdTuples(r), NULL, 10) == 1 ? 0 : 1;
	PQclear(r);
	return ret;
}

static int pg_cosig_put(void *conn, uint64_t size, const char *name, const char *line, size_t len)
{
	struct pg *q = conn;
	struct args a = { .n = 0 };

	READY(q);
	a_int(&a, (int64_t)size, 8);
	a_text(&a, name, strlen(name));
	a_text(&a, line, len);
	return run(q, P_COSIG_PUT, &a, NULL);
}

static int pg_cosigs(void *conn, uint64_t size, lstore_line_fn *fn, void *ctx)
{
	struct pg *q = conn;
	struct args a = { .n = 0 };
	PGresult *r = NULL;
	int ret;

	READY(q);
	a_int(&a, (int64_t)size, 8);
	ret = run(q, P_COSIGS, &a, &r);
	for (int i = 0; !ret && i < PQntuples(r); i++)
		ret = fn(ctx, PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0));
	if (r)
		PQclear(r);
	return ret;
}

static int pg_fork_put(void *conn, const uint8_t kid[8], uint64_t seq, const uint8_t *cose,
		       size_t len, const uint8_t hash[32], unsigned cap, int64_t now_s)
{
	struct pg *q = conn;
	struct args a = { .n = 0 };
	PGresult *r = NULL;
	int64_t n;
	int ret;

	READY(q);
	a_bytes(&a, kid, 8);
	ret = run(q, P_FORK_COUNT, &a, &r);
	if (ret)
		return ret;
	n = r_int(r, 0, 0);
	PQclear(r);
	if (n >= (int64_t)cap)
		return 0;
	memset(&a, 0, sizeof(a));
	a_bytes(&a, kid, 8);
	a_int(&a, (int64_t)seq, 8);
	a_bytes(&a, hash, 32);
	a_bytes(&a, cose, len);
	a_int(&a, now_s, 8);
	return run(q, P_FORK_PUT, &a, NULL);
}

const struct lstore_ops lstore_pg_ops = {
	.name = "postgresql",
	.connect = pg_connect,
	.disconnect = pg_disconnect,
	.init = pg_init,
	.device_get = pg_device_get,
	.device_put = pg_device_put,
	.head = pg_head,
	.hashes = pg_hashes,
	.records = pg_records,
	.seq_begin = pg_seq_begin,
	.seq_append = pg_seq_append,
	.seq_end = pg_seq_end,
	.tree_size = pg_tree_size,
	.node = pg_node,
	.nodes = pg_nodes,
	.checkpoint_latest = pg_checkpoint_latest,
	.checkpoint_get = pg_checkpoint_get,
	.checkpoint_put = pg_checkpoint_put,
	.cosig_put = pg_cosig_put,
	.cosigs = pg_cosigs,
	.fork_put = pg_fork_put,
};
