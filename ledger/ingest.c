/* ingest — POST /v1/records: cheap refusals, signatures, one sequenced
 * append, a receipt. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/bytes.h"
#include "lib/log.h"
#include "crypto/cose.h"
#include "crypto/merkle.h"
#include "crypto/receipt.h"
#include "crypto/verify.h"
#include "ledger/ingest.h"

#define WORKERS_MAX 8
#define DEVCACHE_SLOTS 4096           /* devices whose keys stay loaded */

struct devcache {
	pthread_mutex_t mu;
	struct lstore_device *d;
	bool *used;
	size_t n;
};

struct ingest {
	struct ingest_opts o;
	struct devcache dc;
	struct ltree_cache tc;
};

static struct log_ratelimit rl_reject = LOG_RATELIMIT_INIT(10, 20);
static struct log_ratelimit rl_fork = LOG_RATELIMIT_INIT(60, 10);

int ingest_new(ingest_t **out, const struct ingest_opts *o)
{
	ingest_t *g = calloc(1, sizeof(*g));

	*out = NULL;
	if (!g)
		return -ENOMEM;
	g->o = *o;
	if (!g->o.workers) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		g->o.workers = cpus < 1 ? 1 : (unsigned)cpus;
	}
	if (g->o.workers > WORKERS_MAX)
		g->o.workers = WORKERS_MAX;
	if (!g->o.fork_evidence_max)
		g->o.fork_evidence_max = 16;
	pthread_mutex_init(&g->dc.mu, NULL);
	g->dc.d = calloc(DEVCACHE_SLOTS, sizeof(*g->dc.d));
	g->dc.used = calloc(DEVCACHE_SLOTS, sizeof(*g->dc.used));
	if (!g->dc.d || !g->dc.used) {
		ingest_free(g);
		return -ENOMEM;
	}
	ltree_cache_init(&g->tc);
	*out = g;
	return 0;
}

void ingest_free(ingest_t *g)
{
	if (!g)
		return;
	free(g->dc.d);
	free(g->dc.used);
	pthread_mutex_destroy(&g->dc.mu);
	free(g);
}

struct ltree_cache *ingest_tree_cache(ingest_t *g)
{
	return &g->tc;
}

void ingest_out_free(struct ingest_out *out)
{
	if (!out)
		return;
	free(out->res);
	free(out->receipt);
	memset(out, 0, sizeof(*out));
}

/* ---- the device's key, loaded once per process ---------------------------- */

static size_t dc_slot(const uint8_t kid[8])
{
	uint64_t h = 0;

	memcpy(&h, kid, 8);
	return (size_t)((h * 0x9e3779b97f4a7c15ull) >> 52) % DEVCACHE_SLOTS;
}

static int device_get(ingest_t *g, lstore_conn_t *c, const uint8_t kid[8], struct lstore_device *d)
{
	struct devcache *dc = &g->dc;
	size_t s = dc_slot(kid);
	int ret;

	pthread_mutex_lock(&dc->mu);
	for (size_t i = 0; i < DEVCACHE_SLOTS && dc->used[s]; i++, s = (s + 1) % DEVCACHE_SLOTS)
		if (!memcmp(dc->d[s].kid, kid, 8)) {
			*d = dc->d[s];
			pthread_mutex_unlock(&dc->mu);
			return 0;
		}
	pthread_mutex_unlock(&dc->mu);
	ret = LSTORE_CALL(c, device_get, kid, d);
	if (ret)
		return ret;
	pthread_mutex_lock(&dc->mu);
	if (dc->n >= DEVCACHE_SLOTS * 3 / 4) {     /* full: start again */
		memset(dc->used, 0, DEVCACHE_SLOTS * sizeof(*dc->used));
		dc->n = 0;
	}
	s = dc_slot(kid);
	while (dc->used[s] && memcmp(dc->d[s].kid, kid, 8))
		s = (s + 1) % DEVCACHE_SLOTS;
	if (!dc->used[s]) {
		dc->used[s] = true;
		dc->d[s] = *d;
		dc->n++;
	}
	pthread_mutex_unlock(&dc->mu);
	return 0;
}

/* ---- the items of a request ----------------------------------------------- */

enum item_state {
	IT_DECIDED,       /* its verdict is final */
	IT_VERIFY,        /* next in the chain: verify, then append */
	IT_FORK,          /* rejected as a fork; verify it to keep it as evidence */
};

struct item {
	size_t off, len;
	uint64_t seq;
	uint8_t sha[32];             /* SHA-256 of the bytes */
	uint8_t prev[32];
	uint64_t leaf;               /* accepted or duplicate: its leaf index */
	enum item_state state;
	struct verify_item vi;
};

static void reject(struct ingest_result *r, enum lm_reason why, const char *fmt, ...) __printf(3, 4);
static void reject(struct ingest_result *r, enum lm_reason why, const char *fmt, ...)
{
	va_list ap;

	r->verdict = IV_REJECTED;
	r->reason = why;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
}

/* The one place a record's own rules are checked on ingest: the
 * signature by the device's key, the canonical encoding and every rule of
 * docs/record-format.md that crypto/verify.c enforces (as eco2-verify and
 * eco2d do). The chain rules (seq, prev) are the ledger's, around it. */
static void ingest_verify_record(verify_key_t *k, const uint8_t *buf, size_t len,
				 struct verify_item *vi)
{
	verify_item_check(k, buf, len, vi);
}

struct job {
	verify_key_t *key;
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

		if (it->state == IT_VERIFY || it->state == IT_FORK)
			ingest_verify_record(j->key, j->body + it->off, it->len, &it->vi);
	}
	return NULL;
}

static int verify_all(ingest_t *g, const struct lstore_device *d, const uint8_t *body,
		      struct item *items, size_t n, size_t n_verify)
{
	verify_key_t *keys[WORKERS_MAX] = { NULL };
	struct job jobs[WORKERS_MAX];
	pthread_t tid[WORKERS_MAX];
	bool started[WORKERS_MAX] = { false };
	unsigned nw = n_verify >= 32 ? g->o.workers : 1;
	int ret = 0;

	if (!n_verify)
		return 0;
	for (unsigned w = 0; w < nw; w++) {
		ret = verify_key_new(&keys[w], d->alg, d->pub, d->pub_len, NULL);
		if (ret) {
			if (!w)
				goto out;
			nw = w;
			ret = 0;
			break;
		}
	}
	for (unsigned w = 0; w < nw; w++)
		jobs[w] = (struct job){ keys[w], body, items, n, w, nw };
	for (unsigned w = 1; w < nw; w++)
		started[w] = !pthread_create(&tid[w], NULL, verify_worker, &jobs[w]);
	verify_worker(&jobs[0]);
	for (unsigned w = 1; w < nw; w++) {
		if (started[w])
			pthread_join(tid[w], NULL);
		else
			verify_worker(&jobs[w]);
	}
out:
	for (unsigned w = 0; w < WORKERS_MAX; w++)
		verify_key_free(keys[w]);
	return ret;
}

static enum lm_reason verify_reason(int status)
{
	switch (status) {
	case -EBADE:
	case -EKEYREJECTED:
		return LM_SIGNATURE;
	case -EBADMSG:
		return LM_DECODE;
	default:
		return LM_RULES;
	}
}

/* Stored hashes of a device's seqs, matched to the items asking: the
 * candidates sorted by seq, walked along with the rows (ascending). */
struct match {
	struct item *items;
	struct ingest_result *res;
	size_t *cand, n, pos;
};

static int on_hash(void *ctx, uint64_t seq, const uint8_t hash[32], uint64_t leaf)
{
	struct match *m = ctx;

	while (m->pos < m->n && m->items[m->cand[m->pos]].seq < seq)
		m->pos++;
	for (size_t k = m->pos; k < m->n && m->items[m->cand[k]].seq == seq; k++) {
		size_t i = m->cand[k];
		struct item *it = &m->items[i];

		if (!memcmp(it->sha, hash, 32)) {
			m->res[i].verdict = IV_DUPLICATE;
			m->res[i].why[0] = '\0';
			it->leaf = leaf;
		} else {
			reject(&m->res[i], LM_FORK, "seq %" PRIu64 " is already stored with other bytes (a fork)",
			       seq);
			it->state = IT_FORK;
		}
	}
	return 0;
}

static bool is_candidate(const struct item *it, const struct ingest_result *r)
{
	return it->state == IT_DECIDED && r->verdict == IV_REJECTED && r->reason == LM_FORK &&
	       !strcmp(r->why, "?");
}

static struct item *sort_items;

static int cand_cmp(const void *a, const void *b)
{
	uint64_t x = sort_items[*(const size_t *)a].seq, y = sort_items[*(const size_t *)b].seq;

	return x < y ? -1 : x > y;
}

/* Items marked "?" (seq at or below a head) become duplicates or forks by
 * the stored hashes; a seq the store does not have is a fork too (it
 * cannot be: the head is above it). Few rows per item, whatever the seqs. */
static int classify_stored(lstore_conn_t *c, const uint8_t kid[8], struct item *items,
			   struct ingest_result *res, size_t n)
{
	static pthread_mutex_t sort_mu = PTHREAD_MUTEX_INITIALIZER;
	struct match m = { items, res, NULL, 0, 0 };
	uint64_t lo, hi;
	int ret = 0;

	for (size_t i = 0; i < n; i++)
		m.n += is_candidate(&items[i], &res[i]);
	if (!m.n)
		return 0;
	m.cand = malloc(m.n * sizeof(*m.cand));
	if (!m.cand)
		return -ENOMEM;
	m.n = 0;
	for (size_t i = 0; i < n; i++)
		if (is_candidate(&items[i], &res[i]))
			m.cand[m.n++] = i;
	pthread_mutex_lock(&sort_mu);      /* qsort has no context argument */
	sort_items = items;
	qsort(m.cand, m.n, sizeof(*m.cand), cand_cmp);
	pthread_mutex_unlock(&sort_mu);
	lo = items[m.cand[0]].seq;
	hi = items[m.cand[m.n - 1]].seq;
	if (hi - lo < 4 * m.n) {
		ret = LSTORE_CALL(c, hashes, kid, lo, hi, on_hash, &m);
	} else {
		for (size_t k = 0; !ret && k < m.n; k++) {
			m.pos = k;
			ret = LSTORE_CALL(c, hashes, kid, items[m.cand[k]].seq, items[m.cand[k]].seq, on_hash, &m);
		}
	}
	for (size_t k = 0; k < m.n; k++) {
		size_t i = m.cand[k];

		if (is_candidate(&items[i], &res[i]))
			reject(&res[i], LM_FORK, "seq %" PRIu64 " is not stored below the head", items[i].seq);
	}
	free(m.cand);
	return ret;
}

static void mark_stored(struct item *it, struct ingest_result *r)
{
	/* decided by classify_stored */
	it->state = IT_DECIDED;
	r->verdict = IV_REJECTED;
	r->reason = LM_FORK;
	snprintf(r->why, sizeof(r->why), "?");
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct receipt_entry *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The record a candidate follows: the batch's last accepted one, or the
 * device's stored head (read once, when first needed). */
struct prev_rec {
	const uint8_t *buf;
	size_t len;
	uint64_t head_seq;
	uint8_t *stored;              /* the head's bytes, owned */
};

static int keep_stored(void *ctx, uint64_t seq, const uint8_t *cose, size_t len)
{
	struct prev_rec *pv = ctx;

	(void)seq;
	pv->stored = malloc(len ? len : 1);
	if (!pv->stored)
		return -ENOMEM;
	memcpy(pv->stored, cose, len);
	pv->buf = pv->stored;
	pv->len = len;
	return 0;
}

/* The rules between records (crypto/rules.h, as eco2-verify and eco2d
 * apply them), against the record before: a record that starts before it
 * ends, or claims an odometer span again, is refused with the rule's id.
 * true when refused. */
static bool follows_check(lstore_conn_t *c, const uint8_t kid[8], struct prev_rec *pv,
			  const uint8_t *body, struct item *it, struct ingest_result *r)
{
	char why[sizeof(r->why)];

	(void)body;
	if (!pv->buf && pv->head_seq &&
	    LSTORE_CALL(c, records, kid, pv->head_seq, 1, keep_stored, pv))
		log_rl(&rl_reject, LOG_WARNING, "the record before seq %" PRIu64 " cannot be read: "
		       "the rules between records are not applied to it", it->seq);
	if (!pv->buf)
		return false;
	if (!verify_follows(pv->buf, pv->len, &it->vi, why, sizeof(why)))
		return false;
	reject(r, LM_RULES, "%s", why);
	return true;
}

/* Proofs of every acknowledged item in the tree of the batch's end, a
 * checkpoint of it signed, the receipt written. */
static int make_receipt(ingest_t *g, struct ltree_batch *b, const uint8_t kid[8], struct item *items,
			const struct ingest_result *res, size_t n, struct ingest_out *out)
{
	struct receipt_entry *e = NULL;
	merkle_hash_t *h = NULL;
	struct ltree_memo memo = { .next = ltree_batch_node, .next_ctx = b };
	size_t ne = 0, nh = 0;
	uint64_t size = b->now.size, t0 = now_ns(), lo = UINT64_MAX, hi = 0;
	uint8_t root[32];
	char note[LSTORE_NOTE_MAX];
	size_t note_len;
	int ret = -ENOMEM;

	for (size_t i = 0; i < n; i++)
		if (res[i].verdict != IV_REJECTED) {
			ne++;
			nh += merkle_inclusion_len(items[i].leaf, size);
		}
	if (!ne)
		return 0;
	/* resent records' proofs come from the store: their subtrees read a
	 * level at a time */
	for (size_t i = 0; i < n; i++)
		if (res[i].verdict == IV_DUPLICATE) {
			lo = items[i].leaf < lo ? items[i].leaf : lo;
			hi = items[i].leaf > hi ? items[i].leaf : hi;
		}
	if (lo <= hi && ltree_memo_fill(&memo, b->conn, lo, hi, b->start)) {
		ret = -EIO;
		goto out;
	}
	e = calloc(ne, sizeof(*e));
	h = malloc((nh ? nh : 1) * sizeof(*h));
	if (!e || !h)
		goto out;
	ne = nh = 0;
	for (size_t i = 0; i < n; i++) {
		if (res[i].verdict == IV_REJECTED)
			continue;
		e[ne].seq = items[i].seq;
		e[ne].index = items[i].leaf;
		e[ne].first = nh;
		ret = merkle_inclusion_proof(ltree_memo_node, &memo, items[i].leaf, size, h + nh, &e[ne].n);
		if (ret) {
			log_err("inclusion proof of leaf %" PRIu64 " in %" PRIu64 ": %s", items[i].leaf, size,
				strerror(-ret));
			ret = -EIO;
			goto out;
		}
		nh += e[ne].n;
		ne++;
	}
	/* duplicates may come in any order, and twice: sorted, once */
	qsort(e, ne, sizeof(*e), entry_cmp);
	{
		size_t k = 0;

		for (size_t i = 0; i < ne; i++)
			if (!k || e[i].seq != e[k - 1].seq)
				e[k++] = e[i];
		ne = k;
	}
	merkle_compact_root(&b->now, root);
	ret = ltree_sign(g->o.log_key, size, root, note, sizeof(note), &note_len);
	if (ret)
		goto out;
	lm_add(&ledger_metrics.checkpoints, 1);
	ret = receipt_format(kid, e, ne, h, note, note_len, &out->receipt, &out->receipt_len);
	if (!ret) {
		lm_add(&ledger_metrics.receipts, 1);
		lm_add(&ledger_metrics.receipt_bytes, out->receipt_len);
	}
	lm_observe(&ledger_metrics.proof, now_ns() - t0);
out:
	ltree_memo_free(&memo);
	free(e);
	free(h);
	return ret;
}

int ingest_records(ingest_t *g, const uint8_t *body, size_t len, const uint8_t client_kid[8],
		   struct ingest_out *out)
{
	static const uint8_t zero[32];
	struct verify_splitter sp;
	struct item *items = NULL;
	struct ingest_result *res = NULL;
	struct lstore_device dev;
	struct lstore_rec *recs = NULL;
	struct ltree_batch b;
	struct prev_rec pv = { 0 };
	lstore_conn_t *c = NULL;
	size_t n = 0, cap = 0, off, ilen, n_verify = 0, n_chain = 0, n_recs = 0;
	uint64_t head_seq, exp_seq, tree_size;
	uint8_t head_hash[32], exp_prev[32];
	char kh[17];
	bool tail, have_dev = false, in_seq = false, broken = false, failed = false, acked = false;
	int ret = -ENOMEM;

	memset(out, 0, sizeof(*out));
	memset(&b, 0, sizeof(b));
	hex_encode(client_kid, 8, kh);

	/* 1. split and decode: nothing but CBOR */
	verify_split_init(&sp, body, len);
	while (verify_split_next(&sp, &off, &ilen, &tail)) {
		struct eco2_record er;
		struct cose_sign1 parts;
		const char *why = NULL;

		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct item *ni = realloc(items, ncap * sizeof(*ni));
			struct ingest_result *nr;

			if (!ni)
				goto out;
			items = ni;
			nr = realloc(res, ncap * sizeof(*nr));
			if (!nr)
				goto out;
			res = nr;
			cap = ncap;
		}
		memset(&items[n], 0, sizeof(items[n]));
		memset(&res[n], 0, sizeof(res[n]));
		items[n].off = off;
		items[n].len = ilen;
		items[n].state = IT_DECIDED;
		if (cose_record_decode(body + off, ilen, &er, &parts, &why)) {
			reject(&res[n], LM_DECODE, "item at byte %zu: %s", off, why ? why : "not a record");
		} else if (memcmp(parts.kid, client_kid, 8)) {
			char ih[17];

			hex_encode(parts.kid, 8, ih);
			res[n].seq = er.seq;
			reject(&res[n], LM_CLIENT, "kid %s: the client certificate (%s) does not belong to this device",
			       ih, kh);
		} else {
			items[n].seq = res[n].seq = er.seq;
			memcpy(items[n].prev, er.prev, 32);
			cose_record_sha256(body + off, ilen, items[n].sha);
			items[n].state = IT_VERIFY;     /* provisional */
		}
		n++;
	}

	ret = lstore_get(g->o.store, &c);
	if (ret)
		goto out;

	/* 2. the device and its head, read without the lock */
	for (size_t i = 0; i < n && !have_dev; i++)
		if (items[i].state == IT_VERIFY) {
			ret = device_get(g, c, client_kid, &dev);
			if (ret == -ENOENT) {
				for (size_t k = 0; k < n; k++)
					if (items[k].state == IT_VERIFY) {
						items[k].state = IT_DECIDED;
						reject(&res[k], LM_DEVICE, "kid %s: unknown device (POST /v1/devices first)", kh);
					}
				break;
			}
			if (ret)
				goto fail;
			have_dev = true;
		}
	if (have_dev) {
		ret = LSTORE_CALL(c, head, client_kid, &head_seq, head_hash);
		if (ret)
			goto fail;
		/* 3. the cheap refusals, in body order, before any signature */
		exp_seq = head_seq + 1;
		memcpy(exp_prev, head_seq ? head_hash : zero, 32);
		for (size_t i = 0; i < n; i++) {
			struct item *it = &items[i];

			if (it->state != IT_VERIFY)
				continue;
			if (it->seq <= head_seq) {
				mark_stored(it, &res[i]);
			} else if (broken || it->seq > exp_seq) {
				it->state = IT_DECIDED;
				reject(&res[i], LM_GAP, "gap: seq %" PRIu64 ", expected seq %" PRIu64, it->seq, exp_seq);
			} else if (it->seq < exp_seq) {
				it->state = IT_DECIDED;
				reject(&res[i], LM_REPEAT, "seq %" PRIu64 " appears twice in the request", it->seq);
			} else if (memcmp(it->prev, exp_prev, 32)) {
				it->state = IT_DECIDED;
				reject(&res[i], LM_PREV, "%s", exp_seq == 1 ?
				       "seq 1 must have prev = 32 zero bytes" :
				       "prev is not SHA-256 of the previous record");
				broken = true;     /* what follows cannot link either */
			} else {
				n_chain++;
				exp_seq++;
				memcpy(exp_prev, it->sha, 32);
			}
		}
		broken = false;
		ret = classify_stored(c, client_kid, items, res, n);
		if (ret)
			goto fail;
		n_verify = n_chain;
		for (size_t i = 0; i < n; i++)
			n_verify += items[i].state == IT_FORK;
		/* 4. signatures, canonical form, record rules: outside any lock */
		ret = verify_all(g, &dev, body, items, n, n_verify);
		if (ret)
			goto fail;
	}

	/* 5. the sequenced part: fresh heads, leaves, one commit */
	if (n_chain) {
		recs = calloc(n, sizeof(*recs));
		if (!recs) {
			ret = -ENOMEM;
			goto fail;
		}
		ret = LSTORE_CALL(c, seq_begin, &tree_size);
		if (ret)
			goto fail;
		in_seq = true;
		ret = ltree_batch_begin(&b, &g->tc, c, tree_size);
		if (!ret)
			ret = LSTORE_CALL(c, head, client_kid, &head_seq, head_hash);
		if (ret)
			goto fail;
		exp_seq = head_seq + 1;
		memcpy(exp_prev, head_seq ? head_hash : zero, 32);
		pv.head_seq = head_seq;
		for (size_t i = 0; i < n; i++) {
			struct item *it = &items[i];
			uint8_t leaf[32];

			if (it->state != IT_VERIFY)
				continue;
			it->state = IT_DECIDED;
			if (it->vi.status) {
				reject(&res[i], verify_reason(it->vi.status), "%s",
				       it->vi.why ? it->vi.why : "does not verify");
				broken = true;
			} else if (it->seq <= head_seq) {
				/* stored meanwhile by another ledger process */
				mark_stored(it, &res[i]);
			} else if (broken || it->seq != exp_seq) {
				reject(&res[i], LM_GAP, "gap: seq %" PRIu64 ", expected seq %" PRIu64, it->seq, exp_seq);
			} else if (memcmp(it->prev, exp_prev, 32)) {
				reject(&res[i], LM_PREV, "prev is not SHA-256 of the previous record");
				broken = true;
			} else if (follows_check(c, client_kid, &pv, body, it, &res[i])) {
				broken = true;    /* what follows would follow a refused record */
			} else {
				pv.buf = body + it->off;
				pv.len = it->len;
				merkle_leaf_hash(body + it->off, it->len, leaf);
				ret = ltree_batch_add(&b, leaf, &it->leaf);
				if (ret)
					goto fail;
				recs[n_recs++] = (struct lstore_rec){ client_kid, it->seq, body + it->off, it->len,
								      it->sha, it->leaf };
				res[i].verdict = IV_ACCEPTED;
				exp_seq++;
				memcpy(exp_prev, it->sha, 32);
			}
		}
		ret = classify_stored(c, client_kid, items, res, n);
		if (ret)
			goto fail;
		if (n_recs) {
			struct lstore_head h;
			struct lstore_append a = {
				.recs = recs, .n_recs = n_recs, .nodes = b.nodes, .n_nodes = b.n_nodes,
				.heads = &h, .n_heads = 1, .new_size = b.now.size, .now_s = (int64_t)time(NULL),
			};

			memcpy(h.kid, client_kid, 8);
			h.seq = exp_seq - 1;
			memcpy(h.hash, exp_prev, 32);
			ret = LSTORE_CALL(c, seq_append, &a);
			if (ret)
				goto fail;
		}
		in_seq = false;
		ret = LSTORE_CALL(c, seq_end, true);
		if (ret)
			goto fail;
		if (n_recs)
			ltree_batch_commit(&b, &g->tc);
	}
	for (size_t i = 0; i < n; i++)
		acked |= res[i].verdict != IV_REJECTED;
	if (!n_chain && acked) {
		/* nothing to append: the receipt is for the tree as it is */
		ret = LSTORE_CALL(c, tree_size, &tree_size);
		if (!ret)
			ret = ltree_batch_begin(&b, &g->tc, c, tree_size);
		if (ret)
			goto fail;
	}
	if (n_chain || acked)
		atomic_store_explicit(&ledger_metrics.tree_size, b.now.size, memory_order_relaxed);

	/* 6. the receipt, then the evidence of forks */
	out->tree_size = b.now.size;
	ret = make_receipt(g, &b, client_kid, items, res, n, out);
	if (ret)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		struct item *it = &items[i];

		if (it->state == IT_FORK && !it->vi.status) {
			lm_add(&ledger_metrics.forks_seen, 1);
			log_rl(&rl_fork, LOG_WARNING, "event=fork kid=%s seq=%" PRIu64
			       " msg=\"a record signed by the device for a stored seq, with other bytes\"",
			       kh, it->seq);
			if (LSTORE_CALL(c, fork_put, client_kid, it->seq, body + it->off, it->len, it->sha,
					g->o.fork_evidence_max, (int64_t)time(NULL)))
				log_warn("event=fork kid=%s seq=%" PRIu64 " msg=\"evidence not stored\"", kh, it->seq);
		}
	}
	for (size_t i = 0; i < n; i++) {
		switch (res[i].verdict) {
		case IV_ACCEPTED:
			out->accepted++;
			break;
		case IV_DUPLICATE:
			out->duplicate++;
			break;
		default:
			out->rejected++;
			lm_add(&ledger_metrics.refused[res[i].reason], 1);
			log_rl(&rl_reject, LOG_INFO, "event=reject kid=%s seq=%" PRIu64 " reason=%s why=\"%s\"",
			       kh, res[i].seq, lm_reason_name(res[i].reason), res[i].why);
		}
	}
	lm_add(&ledger_metrics.accepted, out->accepted);
	lm_add(&ledger_metrics.duplicate, out->duplicate);
	out->res = res;
	out->n = n;
	res = NULL;
	ret = 0;
	goto out;
fail:
	failed = true;
	if (in_seq)
		(void)LSTORE_CALL(c, seq_end, false);
	ingest_out_free(out);
	if (ret != -ETIMEDOUT && ret != -ENOMEM)
		ret = -EIO;
out:
	lstore_put(g->o.store, c, failed && ret == -EIO);
	ltree_batch_free(&b);
	free(pv.stored);
	free(recs);
	free(items);
	free(res);
	return ret;
}
