/* lstore — eco2-ledger's verified storage (SQLite). */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>

#include "lib/bytes.h"
#include "lib/log.h"
#include "crypto/cose.h"
#include "crypto/verify.h"
#include "tests/ledger/lstore.h"

#define WORKERS_MAX 4

struct dev {
	uint8_t kid[8];
	verify_key_t *key;
	verify_key_t *wkey[WORKERS_MAX];  /* one handle per verifying thread */
	uint64_t seq;
	uint8_t hash[32];
};

struct lstore {
	sqlite3 *db;
	char *path;
	struct dev **devs;
	size_t n_devs;
	unsigned workers;                 /* verifying threads per request */
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS devices ("
	"  kid BLOB PRIMARY KEY, alg INTEGER NOT NULL, spki BLOB NOT NULL,"
	"  cert BLOB NOT NULL, registered INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS records ("
	"  kid BLOB NOT NULL, seq INTEGER NOT NULL, cose BLOB NOT NULL,"
	"  hash BLOB NOT NULL, received INTEGER NOT NULL,"
	"  PRIMARY KEY (kid, seq)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS heads ("
	"  kid BLOB PRIMARY KEY, seq INTEGER NOT NULL, hash BLOB NOT NULL);";

static int exec(lstore_t *s, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_err("%s: %s", s->path, msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

int lstore_open(lstore_t **out, const char *path)
{
	lstore_t *s = calloc(1, sizeof(*s));
	int ret = -ENOMEM;

	if (!s)
		goto out;
	s->path = strdup(path);
	if (!s->path)
		goto out;
	{
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		s->workers = cpus < 1 ? 1 : cpus > WORKERS_MAX ? WORKERS_MAX : (unsigned)cpus;
	}
	ret = -EIO;
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		log_err("%s: %s", path, s->db ? sqlite3_errmsg(s->db) : "cannot open");
		goto out;
	}
	sqlite3_busy_timeout(s->db, 5000);
	ret = exec(s, "PRAGMA journal_mode = WAL");
	if (!ret)
		ret = exec(s, "PRAGMA synchronous = FULL");
	if (!ret)
		ret = exec(s, schema);
	if (ret)
		goto out;
	*out = s;
	s = NULL;
	ret = 0;
out:
	lstore_close(s);
	return ret;
}

void lstore_close(lstore_t *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_devs; i++) {
		verify_key_free(s->devs[i]->key);
		for (unsigned w = 0; w < WORKERS_MAX; w++)
			verify_key_free(s->devs[i]->wkey[w]);
		free(s->devs[i]);
	}
	free(s->devs);
	sqlite3_close(s->db);
	free(s->path);
	free(s);
}

/* The device's key and head, loaded once from the database. NULL: not
 * registered. */
static struct dev *dev_get(lstore_t *s, const uint8_t kid[8])
{
	sqlite3_stmt *st = NULL;
	struct dev *d = NULL, *ret = NULL, **nd;
	const char *err = NULL;

	for (size_t i = 0; i < s->n_devs; i++)
		if (!memcmp(s->devs[i]->kid, kid, 8))
			return s->devs[i];
	d = calloc(1, sizeof(*d));
	if (!d)
		goto out;
	if (sqlite3_prepare_v2(s->db, "SELECT spki FROM devices WHERE kid = ?1", -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_blob(st, 1, kid, 8, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		goto out;
	if (verify_key_from_spki(&d->key, sqlite3_column_blob(st, 0),
				 (size_t)sqlite3_column_bytes(st, 0), NULL, &err)) {
		log_err("device key in %s unusable: %s", s->path, err ? err : "?");
		goto out;
	}
	for (unsigned w = 0; w < s->workers; w++)
		if (verify_key_clone(d->key, &d->wkey[w]))
			goto out;
	sqlite3_finalize(st);
	st = NULL;
	memcpy(d->kid, kid, 8);
	if (sqlite3_prepare_v2(s->db, "SELECT seq, hash FROM heads WHERE kid = ?1", -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_blob(st, 1, kid, 8, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 1) == 32) {
		d->seq = (uint64_t)sqlite3_column_int64(st, 0);
		memcpy(d->hash, sqlite3_column_blob(st, 1), 32);
	}
	/* An array of pointers: sizeof(*nd) is a pointer's size. */
	nd = realloc(s->devs, (s->n_devs + 1) * sizeof(*nd)); /* NOLINT(bugprone-sizeof-expression) */
	if (!nd)
		goto out;
	s->devs = nd;
	s->devs[s->n_devs++] = d;
	ret = d;
	d = NULL;
out:
	if (d) {
		verify_key_free(d->key);
		for (unsigned w = 0; w < WORKERS_MAX; w++)
			verify_key_free(d->wkey[w]);
		free(d);
	}
	sqlite3_finalize(st);
	return ret;
}

int lstore_register(lstore_t *s, const uint8_t *spki, size_t spki_len,
		    const uint8_t *cert_der, size_t cert_len, uint8_t kid_out[8],
		    const char **why)
{
	verify_key_t *k = NULL;
	sqlite3_stmt *st = NULL;
	int ret, rc;

	ret = verify_key_from_spki(&k, spki, spki_len, NULL, why);
	if (ret) {
		if (why && !*why)
			*why = "the certificate's key is neither P-256 nor Ed25519";
		goto out;
	}
	verify_key_kid(k, kid_out);
	if (dev_get(s, kid_out)) {
		ret = 1;
		goto out;
	}
	ret = -EIO;
	if (sqlite3_prepare_v2(s->db, "INSERT INTO devices (kid, alg, spki, cert, registered) "
				      "VALUES (?1, ?2, ?3, ?4, ?5)", -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_blob(st, 1, kid_out, 8, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, verify_key_alg(k));
	sqlite3_bind_blob(st, 3, spki, (int)spki_len, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, cert_der, (int)cert_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (int64_t)time(NULL));
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		log_err("%s: registering a device: %s", s->path, sqlite3_errmsg(s->db));
		if (why)
			*why = "storage failure";
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(st);
	verify_key_free(k);
	return ret;
}

/* Is (kid, seq) stored with exactly these bytes? 1 yes, 0 stored with
 * other bytes, -ENOENT not stored. */
static int stored_same(lstore_t *s, sqlite3_stmt *st, const uint8_t kid[8], uint64_t seq,
		       const uint8_t *buf, size_t len)
{
	int ret = -ENOENT;

	sqlite3_reset(st);
	sqlite3_bind_blob(st, 1, kid, 8, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)seq);
	if (sqlite3_step(st) == SQLITE_ROW)
		ret = (size_t)sqlite3_column_bytes(st, 0) == len &&
		      !memcmp(sqlite3_column_blob(st, 0), buf, len);
	sqlite3_reset(st);
	(void)s;
	return ret;
}

/* One item of a request body. Phase 1 (in order) decodes it and finds its
 * device; phase 2 (in parallel) verifies the signature, canonical form and
 * content rules (crypto/rules.h, through crypto/verify.h); phase 3 (in
 * order) applies the chain rules against the device's head and the
 * stored record before it, and stores it. */
struct item {
	size_t off, len;
	uint64_t seq;
	uint8_t kid[8];
	struct dev *dev;          /* set: verify in phase 2 */
	bool decided;             /* verdict already known after phase 1 */
	struct verify_item vi;
};

struct job {
	const uint8_t *body;
	struct item *items;
	size_t n;
	unsigned w, nw;
};

static void *verify_worker(void *arg)
{
	struct job *j = arg;

	for (size_t i = j->w; i < j->n; i += j->nw) {
		struct item *it = &j->items[i];

		if (it->dev)
			verify_item_check(it->dev->wkey[j->w] ? it->dev->wkey[j->w] : it->dev->key,
					  j->body + it->off, it->len, &it->vi);
	}
	return NULL;
}

static void verify_all(lstore_t *s, const uint8_t *body, struct item *items, size_t n)
{
	struct job jobs[WORKERS_MAX] = { { 0 } };
	pthread_t tid[WORKERS_MAX];
	bool started[WORKERS_MAX] = { false };
	unsigned nw = s->workers;

	if (n < 32 || nw < 1)
		nw = 1;
	for (unsigned w = 0; w < nw; w++)
		jobs[w] = (struct job){ body, items, n, w, nw };
	for (unsigned w = 1; w < nw; w++)
		started[w] = !pthread_create(&tid[w], NULL, verify_worker, &jobs[w]);
	verify_worker(&jobs[0]);
	for (unsigned w = 1; w < nw; w++) {
		if (started[w])
			pthread_join(tid[w], NULL);
		else       /* could not start it: do its share here */
			verify_worker(&jobs[w]);
	}
}

int lstore_ingest(lstore_t *s, const uint8_t *body, size_t len,
		  const uint8_t client_kid[8], struct lstore_result **results,
		  size_t *n_results)
{
	static const uint8_t zero[32];
	sqlite3_stmt *ins = NULL, *sel = NULL, *head = NULL;
	struct verify_splitter sp;
	struct lstore_result *res = NULL;
	struct item *items = NULL;
	size_t n = 0, cap = 0, off, ilen;
	bool tail;
	int ret = -ENOMEM;
	int64_t now = (int64_t)time(NULL);
	struct dev *touched[16];
	size_t n_touched = 0;
	/* heads as they were, to undo in memory if the commit fails */
	struct { struct dev *d; uint64_t seq; uint8_t hash[32]; } undo[16];

	*results = NULL;
	*n_results = 0;

	/* phase 1: split, decode, find the device */
	verify_split_init(&sp, body, len);
	while (verify_split_next(&sp, &off, &ilen, &tail)) {
		struct eco2_record er;
		struct cose_sign1 parts;
		const char *why = NULL;
		struct lstore_result *r;
		struct item *it;
		char kh[17], ch[17];

		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct lstore_result *nr = realloc(res, ncap * sizeof(*nr));
			struct item *ni;

			if (!nr)
				goto out;
			res = nr;
			ni = realloc(items, ncap * sizeof(*ni));
			if (!ni)
				goto out;
			items = ni;
			cap = ncap;
		}
		r = &res[n];
		it = &items[n];
		n++;
		memset(r, 0, sizeof(*r));
		memset(it, 0, sizeof(*it));
		it->off = off;
		it->len = ilen;
		r->verdict = LS_REJECTED;
		it->decided = true;
		if (cose_record_decode(body + off, ilen, &er, &parts, &why)) {
			snprintf(r->reason, sizeof(r->reason), "item at byte %zu: %s", off,
				 why ? why : "not a record");
			continue;
		}
		r->seq = it->seq = er.seq;
		memcpy(it->kid, parts.kid, 8);
		hex_encode(parts.kid, 8, kh);
		if (!client_kid || memcmp(parts.kid, client_kid, 8)) {
			if (client_kid)
				hex_encode(client_kid, 8, ch);
			snprintf(r->reason, sizeof(r->reason),
				 "kid %s: the client certificate (%s) does not belong to this device",
				 kh, client_kid ? ch : "none");
			continue;
		}
		it->decided = false;
		it->dev = dev_get(s, parts.kid);
		if (!it->dev) {
			it->decided = true;
			snprintf(r->reason, sizeof(r->reason),
				 "kid %s: unknown device (POST /v1/devices first)", kh);
			continue;
		}
		if (er.seq <= it->dev->seq)
			it->dev = NULL;   /* a resend: compared with the stored bytes */
	}

	/* phase 2: signatures, canonical form, CO2 figure, in parallel */
	verify_all(s, body, items, n);

	/* phase 3: chain rules and storage, in order, in one transaction */
	ret = -EIO;
	if (exec(s, "BEGIN IMMEDIATE"))
		goto out;
	if (sqlite3_prepare_v2(s->db, "INSERT INTO records (kid, seq, cose, hash, received) "
				      "VALUES (?1, ?2, ?3, ?4, ?5)", -1, &ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, "SELECT cose FROM records WHERE kid = ?1 AND seq = ?2",
			       -1, &sel, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO heads (kid, seq, hash) VALUES (?1, ?2, ?3)",
			       -1, &head, NULL) != SQLITE_OK) {
		log_err("%s: %s", s->path, sqlite3_errmsg(s->db));
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		struct item *it = &items[i];
		struct lstore_result *r = &res[i];
		const uint8_t *rec = body + it->off;
		struct dev *d;

		if (it->decided)
			continue;
		d = dev_get(s, it->kid);      /* cached since phase 1 */
		if (!d)
			continue;
		if (it->seq <= d->seq) {
			int same = stored_same(s, sel, it->kid, it->seq, rec, it->len);

			if (same == 1)
				r->verdict = LS_DUPLICATE;
			else
				snprintf(r->reason, sizeof(r->reason),
					 "seq %llu is already stored with other bytes (a fork)",
					 (unsigned long long)it->seq);
			continue;
		}
		if (it->seq > d->seq + 1) {
			snprintf(r->reason, sizeof(r->reason), "gap: seq %llu, expected seq %llu",
				 (unsigned long long)it->seq, (unsigned long long)d->seq + 1);
			continue;
		}
		if (!it->dev) {      /* not verified in phase 2 (cannot happen) */
			snprintf(r->reason, sizeof(r->reason), "not verified");
			continue;
		}
		if (it->vi.status) {
			snprintf(r->reason, sizeof(r->reason), "%s",
				 it->vi.why ? it->vi.why : "does not verify");
			continue;
		}
		if (memcmp(it->vi.rec.prev, d->seq ? d->hash : zero, 32)) {
			snprintf(r->reason, sizeof(r->reason), d->seq ?
				 "prev is not SHA-256 of the previous record" :
				 "seq 1 must have prev = 32 zero bytes");
			continue;
		}
		/* The rules between records (crypto/rules.h), against the
		 * stored record before it. */
		if (d->seq) {
			int bad = 0;

			sqlite3_reset(sel);
			sqlite3_bind_blob(sel, 1, it->kid, 8, SQLITE_STATIC);
			sqlite3_bind_int64(sel, 2, (int64_t)d->seq);
			if (sqlite3_step(sel) == SQLITE_ROW)
				bad = verify_follows(sqlite3_column_blob(sel, 0),
						     (size_t)sqlite3_column_bytes(sel, 0), &it->vi,
						     r->reason, sizeof(r->reason));
			sqlite3_reset(sel);
			if (bad)
				continue;
		}
		{
			size_t t;

			for (t = 0; t < n_touched && touched[t] != d; t++)
				;
			if (t == n_touched) {
				if (n_touched == ARRAY_SIZE(touched)) {
					snprintf(r->reason, sizeof(r->reason), "too many devices in one request");
					continue;
				}
				touched[n_touched] = d;
				undo[n_touched].d = d;
				undo[n_touched].seq = d->seq;
				memcpy(undo[n_touched].hash, d->hash, 32);
				n_touched++;
			}
		}
		sqlite3_reset(ins);
		sqlite3_bind_blob(ins, 1, it->kid, 8, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 2, (int64_t)it->seq);
		sqlite3_bind_blob(ins, 3, rec, (int)it->len, SQLITE_STATIC);
		sqlite3_bind_blob(ins, 4, it->vi.sha256, 32, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 5, now);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			log_err("%s: storing a record: %s", s->path, sqlite3_errmsg(s->db));
			goto fail;
		}
		sqlite3_reset(ins);
		d->seq = it->seq;
		memcpy(d->hash, it->vi.sha256, 32);
		r->verdict = LS_ACCEPTED;
	}
	for (size_t t = 0; t < n_touched; t++) {
		sqlite3_reset(head);
		sqlite3_bind_blob(head, 1, touched[t]->kid, 8, SQLITE_STATIC);
		sqlite3_bind_int64(head, 2, (int64_t)touched[t]->seq);
		sqlite3_bind_blob(head, 3, touched[t]->hash, 32, SQLITE_STATIC);
		if (sqlite3_step(head) != SQLITE_DONE)
			goto fail;
		sqlite3_reset(head);
	}
	if (exec(s, "COMMIT"))
		goto fail;
	*results = res;
	*n_results = n;
	res = NULL;
	ret = 0;
	goto out;
fail:
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	for (size_t t = 0; t < n_touched; t++) {
		undo[t].d->seq = undo[t].seq;
		memcpy(undo[t].d->hash, undo[t].hash, 32);
	}
	ret = -EIO;
out:
	sqlite3_finalize(ins);
	sqlite3_finalize(sel);
	sqlite3_finalize(head);
	free(items);
	free(res);
	return ret;
}

int lstore_head(lstore_t *s, const uint8_t kid[8], uint64_t *seq, uint8_t hash[32])
{
	struct dev *d = dev_get(s, kid);

	if (!d)
		return -ENOENT;
	*seq = d->seq;
	memcpy(hash, d->hash, 32);
	return 0;
}

int lstore_records(lstore_t *s, const uint8_t kid[8], uint64_t from,
		   uint8_t **out, size_t *out_len)
{
	sqlite3_stmt *st = NULL;
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	int ret = -EIO, rc;

	*out = NULL;
	*out_len = 0;
	if (!dev_get(s, kid))
		return -ENOENT;
	if (sqlite3_prepare_v2(s->db, "SELECT cose FROM records WHERE kid = ?1 AND seq >= ?2 ORDER BY seq",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_blob(st, 1, kid, 8, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)from);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		size_t n = (size_t)sqlite3_column_bytes(st, 0);

		if (len + n > cap) {
			size_t ncap = cap ? cap : 65536;
			uint8_t *nb;

			while (ncap < len + n)
				ncap *= 2;
			nb = realloc(buf, ncap);
			if (!nb) {
				ret = -ENOMEM;
				goto out;
			}
			buf = nb;
			cap = ncap;
		}
		if (n && buf)
			memcpy(buf + len, sqlite3_column_blob(st, 0), n);
		len += n;
	}
	if (rc != SQLITE_DONE)
		goto out;
	*out = buf ? buf : malloc(1);
	if (!*out) {
		ret = -ENOMEM;
		goto out;
	}
	buf = NULL;
	*out_len = len;
	ret = 0;
out:
	free(buf);
	sqlite3_finalize(st);
	return ret;
}
