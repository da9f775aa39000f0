/* verify — records and chains of records against a device key. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/pem.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <sodium.h>

#include "lib/bytes.h"
#include "crypto/co2.h"
#include "crypto/cbor.h"
#include "crypto/cose.h"
#include "crypto/verify.h"
#include "crypto/verify_be.h"
#include "crypto/rules.h"

struct verify_key {
	const struct verify_ops *ops;
	void *be;
	int alg;
	uint8_t pub[SIGNER_PUBKEY_MAX];
	size_t pub_len;
	uint8_t kid[8];
};

static __thread char why_tls[256];

/* ---- back end: libsodium Ed25519 ----------------------------------------- */

static int ed_load(void **be, const uint8_t *pub, size_t len)
{
	uint8_t *k;

	if (sodium_init() < 0)
		return -EINVAL;
	k = malloc(len);
	if (!k)
		return -ENOMEM;
	memcpy(k, pub, len);
	*be = k;
	return 0;
}

static int ed_verify(void *be, const uint8_t *msg, size_t len,
			 const uint8_t sig[SIGNER_SIG_LEN])
{
	return crypto_sign_verify_detached(sig, msg, len, be) ? -EBADE : 0;
}

static void ed_free(void *be)
{
	free(be);
}

static const struct verify_ops verify_ops_sodium = {
	.name = "sodium", .alg = COSE_ALG_EDDSA,
	.load = ed_load, .verify = ed_verify, .free = ed_free,
};

/* ---- back end: mbedTLS ES256 ----------------------------------------------- */

struct mbed_es256 {
	mbedtls_ecp_group grp;
	mbedtls_ecp_point q;
	mbedtls_mpi r, s;
};

static void mbed_free(void *be)
{
	struct mbed_es256 *m = be;

	if (!m)
		return;
	mbedtls_ecp_group_free(&m->grp);
	mbedtls_ecp_point_free(&m->q);
	mbedtls_mpi_free(&m->r);
	mbedtls_mpi_free(&m->s);
	free(m);
}

static int mbed_load(void **be, const uint8_t *pub, size_t len)
{
	struct mbed_es256 *m;
	int ret = -ENOMEM;

	m = calloc(1, sizeof(*m));
	if (!m)
		goto out;
	mbedtls_ecp_group_init(&m->grp);
	mbedtls_ecp_point_init(&m->q);
	mbedtls_mpi_init(&m->r);
	mbedtls_mpi_init(&m->s);
	ret = -EINVAL;
	if (mbedtls_ecp_group_load(&m->grp, MBEDTLS_ECP_DP_SECP256R1) ||
	    mbedtls_ecp_point_read_binary(&m->grp, &m->q, pub, len) ||
	    mbedtls_ecp_check_pubkey(&m->grp, &m->q))
		goto out;
	*be = m;
	m = NULL;
	ret = 0;
out:
	mbed_free(m);
	return ret;
}

static int mbed_verify(void *be, const uint8_t *msg, size_t len,
		       const uint8_t sig[SIGNER_SIG_LEN])
{
	struct mbed_es256 *m = be;
	uint8_t h[32];

	if (mbedtls_sha256_ret(msg, len, h, 0) ||
	    mbedtls_mpi_read_binary(&m->r, sig, 32) ||
	    mbedtls_mpi_read_binary(&m->s, sig + 32, 32))
		return -EBADE;
	return mbedtls_ecdsa_verify(&m->grp, h, sizeof(h), &m->q, &m->r, &m->s) ?
	       -EBADE : 0;
}

static const struct verify_ops verify_ops_mbedtls = {
	.name = "mbedtls", .alg = COSE_ALG_ES256,
	.load = mbed_load, .verify = mbed_verify, .free = mbed_free,
};

/* ---- keys ------------------------------------------------------------------ */

static const char *const backends_eddsa[] = { "sodium", NULL };
static const char *const backends_es256_lc[] = { "libcrypto", "mbedtls", NULL };
static const char *const backends_es256[] = { "mbedtls", NULL };

const char *const *verify_backends(int alg)
{
	if (alg == COSE_ALG_EDDSA)
		return backends_eddsa;
	if (alg == COSE_ALG_ES256)
		return IS_ENABLED(CONFIG_VERIFY_LIBCRYPTO) ? backends_es256_lc : backends_es256;
	return NULL;
}

static const struct verify_ops *find_ops(int alg, const char *name)
{
	const struct verify_ops *ops[3] = { NULL };
	size_t n = 0;

	/* Fastest first: the NULL name takes the first that fits. */
	if (IS_ENABLED(CONFIG_VERIFY_LIBCRYPTO))
		ops[n++] = &verify_ops_libcrypto;
	ops[n++] = &verify_ops_mbedtls;
	ops[n++] = &verify_ops_sodium;
	for (size_t i = 0; i < n; i++)
		if (ops[i]->alg == alg && (!name || !strcmp(name, ops[i]->name)))
			return ops[i];
	return NULL;
}

int verify_key_new(verify_key_t **out, int alg, const uint8_t *pub,
		   size_t pub_len, const char *backend)
{
	verify_key_t *k = NULL;
	int ret = -EINVAL;

	*out = NULL;
	if ((alg == COSE_ALG_EDDSA && pub_len != 32) ||
	    (alg == COSE_ALG_ES256 && (pub_len != 65 || pub[0] != 0x04)) ||
	    (alg != COSE_ALG_EDDSA && alg != COSE_ALG_ES256))
		goto out;
	ret = -ENOMEM;
	k = calloc(1, sizeof(*k));
	if (!k)
		goto out;
	ret = -ENOTSUP;
	k->ops = find_ops(alg, backend);
	if (!k->ops)
		goto out;
	ret = k->ops->load(&k->be, pub, pub_len);
	if (ret)
		goto out;
	k->alg = alg;
	memcpy(k->pub, pub, pub_len);
	k->pub_len = pub_len;
	cose_kid(pub, pub_len, k->kid);
	*out = k;
	k = NULL;
out:
	verify_key_free(k);
	return ret;
}

int verify_key_clone(const verify_key_t *k, verify_key_t **out)
{
	return verify_key_new(out, k->alg, k->pub, k->pub_len, k->ops->name);
}

int verify_key_alg(const verify_key_t *k)
{
	return k->alg;
}

size_t verify_key_raw(const verify_key_t *k, uint8_t out[SIGNER_PUBKEY_MAX])
{
	memcpy(out, k->pub, k->pub_len);
	return k->pub_len;
}

void verify_key_kid(const verify_key_t *k, uint8_t kid[8])
{
	memcpy(kid, k->kid, 8);
}

const char *verify_key_backend(const verify_key_t *k)
{
	return k->ops->name;
}

void verify_key_free(verify_key_t *k)
{
	if (!k)
		return;
	if (k->be)
		k->ops->free(k->be);
	free(k);
}

int verify_sig(verify_key_t *k, const uint8_t *msg, size_t len,
	       const uint8_t sig[SIGNER_SIG_LEN])
{
	return k->ops->verify(k->be, msg, len, sig);
}

/* mbedTLS 2.28 has no Ed25519, so it cannot parse an Ed25519
 * SubjectPublicKeyInfo. That DER is fixed (RFC 8410 §4): SEQUENCE {
 * SEQUENCE { OID 1.3.101.112 }, BIT STRING (0 unused bits) <32 bytes> },
 * i.e. these 12 bytes then the raw key; it is recognised here byte for
 * byte rather than parsed. */
static const uint8_t ed25519_spki_prefix[12] = {
	0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
};

int verify_key_from_spki(verify_key_t **out, const uint8_t *der, size_t len,
			 const char *backend, const char **err)
{
	mbedtls_pk_context pk;
	uint8_t pt[SIGNER_PUBKEY_MAX];
	size_t pt_len;
	const char *dummy;
	int ret = -EINVAL;

	if (!err)
		err = &dummy;
	*out = NULL;
	mbedtls_pk_init(&pk);
	if (len == sizeof(ed25519_spki_prefix) + 32 &&
	    !memcmp(der, ed25519_spki_prefix, sizeof(ed25519_spki_prefix))) {
		ret = verify_key_new(out, COSE_ALG_EDDSA, der + 12, 32, backend);
		if (ret)
			*err = "unusable Ed25519 key";
		goto out;
	}
	if (mbedtls_pk_parse_public_key(&pk, der, len)) {
		*err = "not a SubjectPublicKeyInfo for P-256 or Ed25519";
		goto out;
	}
	if (mbedtls_pk_get_type(&pk) != MBEDTLS_PK_ECKEY ||
	    mbedtls_pk_ec(pk)->grp.id != MBEDTLS_ECP_DP_SECP256R1) {
		*err = "public key is neither P-256 nor Ed25519";
		goto out;
	}
	if (mbedtls_ecp_point_write_binary(&mbedtls_pk_ec(pk)->grp, &mbedtls_pk_ec(pk)->Q,
					   MBEDTLS_ECP_PF_UNCOMPRESSED, &pt_len,
					   pt, sizeof(pt))) {
		*err = "cannot encode the P-256 point";
		goto out;
	}
	ret = verify_key_new(out, COSE_ALG_ES256, pt, pt_len, backend);
	if (ret)
		*err = ret == -ENOTSUP ? "verification back end not built" : "unusable P-256 key";
out:
	mbedtls_pk_free(&pk);
	return ret;
}

int verify_key_from_pem(verify_key_t **out, const char *pem, size_t len,
			const char *backend, const char **err)
{
	mbedtls_pem_context ctx;
	char *z = NULL;
	size_t used;
	const char *dummy;
	int ret = -ENOMEM;

	if (!err)
		err = &dummy;
	*out = NULL;
	mbedtls_pem_init(&ctx);
	z = malloc(len + 1);      /* mbedTLS wants a terminated string */
	if (!z) {
		*err = "out of memory";
		goto out;
	}
	memcpy(z, pem, len);
	z[len] = 0;
	ret = -EINVAL;
	if (mbedtls_pem_read_buffer(&ctx, "-----BEGIN PUBLIC KEY-----",
				    "-----END PUBLIC KEY-----",
				    (const unsigned char *)z, NULL, 0, &used)) {
		*err = "no PEM \"PUBLIC KEY\" block (SubjectPublicKeyInfo) found";
		goto out;
	}
	ret = verify_key_from_spki(out, ctx.buf, ctx.buflen, backend, err);
out:
	mbedtls_pem_free(&ctx);
	free(z);
	return ret;
}

/* ---- one record -------------------------------------------------------------- */

void verify_item_check(verify_key_t *k, const uint8_t *buf, size_t len,
		       struct verify_item *it)
{
	struct cose_sign1 parts;
	uint8_t tbs[COSE_SIG_STRUCT_MAX];
	size_t tbs_len;
	const struct rules_finding *f;
	const char *why = NULL;
	char a[17], b[17];
	int ret;

	it->status = 0;
	it->code = NULL;
	it->why = NULL;
	it->why_buf[0] = 0;
	it->decoded = false;
	it->signed_ok = false;
	it->len = len;
	rules_result_init(&it->rules);
	cose_record_sha256(buf, len, it->sha256);

	ret = cose_record_decode(buf, len, &it->rec, &parts, &why);
	if (ret) {
		it->status = -EBADMSG;
		it->code = "format";
		snprintf(it->why_buf, sizeof(it->why_buf), "%s", why);
		goto out;
	}
	it->decoded = true;
	if (parts.alg != k->alg) {
		it->status = -EKEYREJECTED;
		it->code = "key";
		snprintf(it->why_buf, sizeof(it->why_buf),
			 "alg %d is not the key's (%d)", parts.alg, k->alg);
		goto out;
	}
	if (memcmp(parts.kid, k->kid, 8)) {
		hex_encode(parts.kid, 8, a);
		hex_encode(k->kid, 8, b);
		it->status = -EKEYREJECTED;
		it->code = "key";
		snprintf(it->why_buf, sizeof(it->why_buf),
			 "kid %s is not this key's (%s): another key's record", a, b);
		goto out;
	}
	tbs_len = cose_sig_structure(parts.prot, parts.prot_len, parts.payload,
				     parts.payload_len, tbs, sizeof(tbs));
	if (!tbs_len || k->ops->verify(k->be, tbs, tbs_len, parts.sig)) {
		it->status = -EBADE;
		it->code = "signature";
		snprintf(it->why_buf, sizeof(it->why_buf), "signature does not verify");
		goto out;
	}
	it->signed_ok = true;
	/* The content rules (crypto/rules.h), the same the daemon applied
	 * before signing and the ledger applies on ingest. */
	rules_check_signature(&it->rec, parts.alg, parts.sig, &it->rules);
	rules_check_record(&it->rec, &it->rules);
	f = rules_first_fail(&it->rules);
	if (f) {
		it->status = strcmp(f->rule, "method") ? -EDOM : -ENOTSUP;
		it->code = f->rule;
		if (it->rules.n_fail > 1)
			snprintf(it->why_buf, sizeof(it->why_buf), "%s: %s (and %u more)",
				 f->rule, f->msg, it->rules.n_fail - 1);
		else
			snprintf(it->why_buf, sizeof(it->why_buf), "%s: %s", f->rule, f->msg);
	}
out:
	if (it->status)
		it->why = it->why_buf;
}

int verify_record(verify_key_t *k, const uint8_t *buf, size_t len,
		  uint64_t expect_seq, const uint8_t expect_prev[32],
		  struct eco2_record *out, uint8_t sha256_out[32],
		  const char **why)
{
	struct verify_item *it;
	int ret = -ENOMEM;

	it = malloc(sizeof(*it));
	if (!it) {
		if (why)
			*why = "out of memory";
		goto out;
	}
	verify_item_check(k, buf, len, it);
	ret = it->status;
	if (it->decoded && out)
		*out = it->rec;
	if (sha256_out)
		memcpy(sha256_out, it->sha256, 32);
	if (ret && !it->signed_ok)
		goto done;
	if (expect_seq && it->rec.seq != expect_seq) {
		ret = -EILSEQ;
		snprintf(it->why_buf, sizeof(it->why_buf), "seq %" PRIu64 ", expected %" PRIu64,
			 it->rec.seq, expect_seq);
	} else if (it->rec.seq == 1 && !sodium_is_zero(it->rec.prev, 32)) {
		ret = -EILSEQ;
		snprintf(it->why_buf, sizeof(it->why_buf), "prev of seq 1 is not 32 zero bytes");
	} else if (expect_prev && memcmp(it->rec.prev, expect_prev, 32)) {
		ret = -EILSEQ;
		snprintf(it->why_buf, sizeof(it->why_buf),
			 "prev is not SHA-256 of the previous record");
	}
done:
	if (ret && why) {
		snprintf(why_tls, sizeof(why_tls), "%s", it->why_buf);
		*why = why_tls;
	}
out:
	free(it);
	return ret;
}

int verify_follows(const uint8_t *prev_buf, size_t prev_len, const struct verify_item *it,
		   char *why, size_t why_len)
{
	struct eco2_record prev;
	struct rules_result res;
	const struct rules_finding *f;
	const char *dummy;

	if (!it->signed_ok)
		return 0;
	if (cose_record_decode(prev_buf, prev_len, &prev, NULL, &dummy)) {
		snprintf(why, why_len, "the previous record does not decode");
		return -EINVAL;
	}
	rules_result_init(&res);
	rules_check_follow(&prev, &it->rec, &res);
	f = rules_first_fail(&res);
	if (!f)
		return 0;
	snprintf(why, why_len, "%s: %s", f->rule, f->msg);
	return -EDOM;
}

/* ---- framing ------------------------------------------------------------------ */

/* Every record starts 18([h'A2 01 <alg> 04 48 ...: tag 18, array of 4,
 * a 13-byte bstr holding {1: -7|-8, 4: h'<8 bytes>'}. */
static bool is_record_start(const uint8_t *p, size_t left)
{
	return left >= 8 && p[0] == 0xd2 && p[1] == 0x84 && p[2] == 0x4d &&
	       p[3] == 0xa2 && p[4] == 0x01 && (p[5] == 0x26 || p[5] == 0x27) &&
	       p[6] == 0x04 && p[7] == 0x48;
}

static size_t find_record_start(const uint8_t *buf, size_t len, size_t from)
{
	while (from < len) {
		const uint8_t *p = memchr(buf + from, 0xd2, len - from);

		if (!p)
			break;
		from = (size_t)(p - buf);
		if (is_record_start(p, len - from))
			return from;
		from++;
	}
	return len;
}

void verify_split_init(struct verify_splitter *sp, const uint8_t *buf, size_t len)
{
	sp->buf = buf;
	sp->len = len;
	sp->off = 0;
	sp->next_is_tail = false;
}

bool verify_split_next(struct verify_splitter *sp, size_t *off, size_t *len,
		       bool *tail)
{
	struct cbor_rd rd;
	size_t left, next, end = 0;

	if (sp->off >= sp->len)
		return false;
	left = sp->len - sp->off;
	*off = sp->off;
	*tail = sp->next_is_tail;
	sp->next_is_tail = false;
	next = find_record_start(sp->buf, sp->len, sp->off + 1);
	/* A record's extent by its structure, looking no further than a
	 * record can be long: a huge length prefix is simply "too long".
	 * Bytes that do not begin like a record (a tail, damage) are one
	 * item up to the next record start, whatever CBOR they may hold. */
	cbor_rd_init(&rd, sp->buf + sp->off, left < COSE_RECORD_MAX + 1 ? left : COSE_RECORD_MAX + 1);
	if (is_record_start(sp->buf + sp->off, left) && !cbor_skip(&rd, 4))
		end = sp->off + rd.off;
	if (end && end <= next) {
		/* Ends at the next record start or before it; bytes between
		 * it and the next record start come as a tail item. */
		*len = end - sp->off;
		sp->next_is_tail = end < next;
	} else {
		*len = next - sp->off;
	}
	sp->off += *len;
	return true;
}

/* ---- chain ---------------------------------------------------------------------- */

#define PENDING_MAX 64
#define MISSING_MAX 4096

struct pending {
	bool decoded;
	uint64_t claimed;
	const char *code;
	char why[288];
};

struct missing {
	uint64_t first, last;
};

/* The records signed by the key, by seq: a second one at a seq is a
 * duplicate when its bytes are the same, a fork when they differ. Open
 * addressing; seq 0 (never a record's) marks an empty slot; the first 16
 * bytes of each SHA-256 are kept (to tell two signed records apart, not
 * to resist an attacker, who would need the key to sign either). */
struct seen {
	uint64_t seq;
	uint8_t h[16];
};

struct verify_chain {
	verify_event_fn *fn;
	void *ctx;
	uint64_t expect;               /* the next seq in order */
	bool max_done;                 /* seq 2^64-1 taken: nothing can follow */
	uint8_t prev[32];              /* SHA-256 of the last good member */
	bool last_failed;              /* the previous item was not a member */
	bool have_last;                /* last: the record before the next */
	struct eco2_record last;
	/* Items that could not be trusted since the last signed record:
	 * nskip in all, the newest npend of them kept (a ring from phead). */
	struct pending pend[PENDING_MAX];
	size_t npend, phead;
	uint64_t nskip;
	struct missing *miss;
	size_t nmiss;
	struct seen *seen;
	size_t seen_n, seen_cap;       /* cap: a power of two, or 0 */
	unsigned long problems;
};

static void event(verify_chain_t *c, uint64_t seq, bool warning, const char *code,
		  const char *fmt, ...) __printf(5, 6);
static void event(verify_chain_t *c, uint64_t seq, bool warning, const char *code,
		  const char *fmt, ...)
{
	struct verify_event ev = { .seq = seq, .warning = warning, .code = code };
	char msg[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!warning)
		c->problems++;
	ev.reason = msg;
	if (c->fn)
		c->fn(c->ctx, &ev);
}

int verify_chain_new(verify_chain_t **out, verify_event_fn *fn, void *ctx)
{
	verify_chain_t *c;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->miss = calloc(MISSING_MAX, sizeof(*c->miss));
	if (!c->miss) {
		free(c);
		return -ENOMEM;
	}
	c->fn = fn;
	c->ctx = ctx;
	c->expect = 1;
	*out = c;
	return 0;
}

static size_t seen_slot(const struct verify_chain *c, uint64_t seq)
{
	size_t mask = c->seen_cap - 1;
	size_t i = (size_t)((seq * UINT64_C(0x9e3779b97f4a7c15)) >> 17) & mask;

	while (c->seen[i].seq && c->seen[i].seq != seq)
		i = (i + 1) & mask;
	return i;
}

/* The hash kept for seq, or NULL. */
static const uint8_t *seen_get(const struct verify_chain *c, uint64_t seq)
{
	size_t i;

	if (!c->seen_cap)
		return NULL;
	i = seen_slot(c, seq);
	return c->seen[i].seq ? c->seen[i].h : NULL;
}

/* Remember seq's hash; without memory the fork check degrades to the
 * duplicate report, nothing else changes. */
static void seen_put(struct verify_chain *c, uint64_t seq, const uint8_t h[32])
{
	size_t i;

	if (c->seen_n + 1 > c->seen_cap / 2) {
		size_t cap = c->seen_cap ? c->seen_cap * 2 : 1024;
		struct seen *old = c->seen, *nw = calloc(cap, sizeof(*nw));
		size_t old_cap = c->seen_cap;

		if (!nw)
			return;
		c->seen = nw;
		c->seen_cap = cap;
		for (size_t j = 0; j < old_cap; j++)
			if (old[j].seq)
				c->seen[seen_slot(c, old[j].seq)] = old[j];
		free(old);
	}
	i = seen_slot(c, seq);
	if (!c->seen[i].seq)
		c->seen_n++;
	c->seen[i].seq = seq;
	memcpy(c->seen[i].h, h, 16);
}

static void pending_report(verify_chain_t *c, const struct pending *p, uint64_t seq)
{
	if (p->decoded && p->claimed != seq)
		event(c, seq, false, p->code, "%s (the record claims seq %" PRIu64 ")", p->why, p->claimed);
	else
		event(c, seq, false, p->code, "%s", p->why);
}

/* Items that could not be trusted, held until the next signed record
 * tells where they sat. fill: they stand exactly in the gap before it, so
 * each takes the seq of its position; otherwise they were inserted, and
 * each is named by the seq it claims (or its position when unreadable).
 * Those no longer kept were reported when they left the ring. */
static void flush_pending(verify_chain_t *c, bool fill)
{
	uint64_t first = c->nskip - c->npend;     /* index of the oldest kept */

	for (size_t i = 0; i < c->npend; i++) {
		const struct pending *p = &c->pend[(c->phead + i) % PENDING_MAX];
		uint64_t pos = c->expect + first + i;

		pending_report(c, p, fill ? pos : (p->decoded ? p->claimed : c->expect));
	}
	if (fill)
		c->expect += c->nskip;
	c->npend = 0;
	c->phead = 0;
	c->nskip = 0;
}

static void missing_report(verify_chain_t *c, size_t i)
{
	struct missing *m = &c->miss[i];

	if (m->first == m->last)
		event(c, m->first, false, "chain.missing", "missing");
	else
		event(c, m->first, false, "chain.missing",
		      "missing (seq %" PRIu64 " to %" PRIu64 ", %" PRIu64 " records)",
		      m->first, m->last, m->last - m->first + 1);
}

static void missing_add(verify_chain_t *c, uint64_t first, uint64_t last)
{
	if (c->nmiss == MISSING_MAX) {
		/* Too many gaps to remember: report the oldest now. */
		missing_report(c, 0);
		memmove(c->miss, c->miss + 1, (MISSING_MAX - 1) * sizeof(*c->miss));
		c->nmiss--;
	}
	c->miss[c->nmiss].first = first;
	c->miss[c->nmiss].last = last;
	c->nmiss++;
}

/* true when seq was missing (and is no longer). */
static bool missing_take(verify_chain_t *c, uint64_t seq)
{
	for (size_t i = 0; i < c->nmiss; i++) {
		struct missing *m = &c->miss[i];

		if (seq < m->first || seq > m->last)
			continue;
		if (m->first == m->last) {
			memmove(m, m + 1, (c->nmiss - i - 1) * sizeof(*m));
			c->nmiss--;
		} else if (seq == m->first) {
			m->first++;
		} else if (seq == m->last) {
			m->last--;
		} else {
			uint64_t last = m->last;

			m->last = seq - 1;
			missing_add(c, seq + 1, last);
		}
		return true;
	}
	return false;
}

static void hex16(const uint8_t *h, char out[33])
{
	hex_encode(h, 16, out);
}

/* A record signed by the key at a seq already passed. */
static void out_of_place(verify_chain_t *c, const struct verify_item *it)
{
	const struct eco2_record *r = &it->rec;
	const uint8_t *h = seen_get(c, r->seq);
	char a[33], b[33];

	if (h && memcmp(h, it->sha256, 16)) {
		hex16(h, a);
		hex16(it->sha256, b);
		event(c, r->seq, false, "chain.fork",
		      "fork: the key signed two different records at seq %" PRIu64
		      ": seq %" PRIu64 " sha256 %s... and seq %" PRIu64 " sha256 %s...",
		      r->seq, r->seq, a, r->seq, b);
	} else if (h) {
		event(c, r->seq, false, "chain.duplicate",
		      "duplicate: seq %" PRIu64 " appears again", r->seq);
	} else if (missing_take(c, r->seq)) {
		event(c, r->seq, false, "chain.order",
		      "out of order: found after seq %" PRIu64, c->expect - 1);
	} else {
		event(c, r->seq, false, "chain.order",
		      "out of order: found after seq %" PRIu64 ", where a damaged record stood",
		      c->expect - 1);
	}
}

bool verify_chain_push(verify_chain_t *c, const struct verify_item *it)
{
	const struct eco2_record *r = &it->rec;
	bool linked, good = true;
	uint64_t gap;

	if (!it->signed_ok) {
		struct pending *p;

		/* Bytes after a damaged record are part of its damage. */
		if (it->tail && c->last_failed)
			return false;
		if (c->npend == PENDING_MAX) {
			/* Report the oldest now, by the seq it claims or its
			 * position; the count still says how many stood in a
			 * gap, so the records after them are placed right. */
			struct pending *o = &c->pend[c->phead];
			uint64_t idx = c->nskip - c->npend;

			pending_report(c, o, o->decoded ? o->claimed : c->expect + idx);
			c->phead = (c->phead + 1) % PENDING_MAX;
			c->npend--;
		}
		p = &c->pend[(c->phead + c->npend) % PENDING_MAX];
		c->npend++;
		c->nskip++;
		p->decoded = it->decoded;
		p->claimed = it->decoded ? r->seq : 0;
		if (it->tail) {
			p->code = "chain.tail";
			snprintf(p->why, sizeof(p->why),
				 "%zu bytes after the previous record are not a record (%s)",
				 it->len, it->why ? it->why : "?");
		} else {
			p->code = it->code ? it->code : "format";
			snprintf(p->why, sizeof(p->why), "%s", it->why ? it->why : "not verified");
		}
		c->last_failed = true;
		return false;
	}
	c->last_failed = false;

	if (r->seq < c->expect || (r->seq == UINT64_MAX && c->max_done)) {
		flush_pending(c, false);
		out_of_place(c, it);
		return false;
	}

	gap = r->seq - c->expect;
	if (c->nskip && gap == c->nskip) {
		flush_pending(c, true);
		linked = false;   /* its prev is a record we could not trust */
	} else {
		flush_pending(c, false);
		if (gap)
			missing_add(c, c->expect, r->seq - 1);
		/* Across a gap the previous record is unknown; after inserted
		 * items that were not members it is still the last good one. */
		linked = !gap;
	}
	if (linked && memcmp(r->prev, c->prev, 32)) {
		good = false;
		if (r->seq == 1)
			event(c, r->seq, false, "chain.prev", "prev of seq 1 is not 32 zero bytes");
		else
			event(c, r->seq, false, "chain.prev",
			      "prev is not SHA-256 of seq %" PRIu64 ": the chain is broken", r->seq - 1);
	}
	if (r->seq == UINT64_MAX)
		c->max_done = true;
	else
		c->expect = r->seq + 1;
	memcpy(c->prev, it->sha256, 32);
	seen_put(c, r->seq, it->sha256);
	if (it->status) {
		good = false;
		event(c, r->seq, false, it->code ? it->code : "format", "%s",
		      it->why ? it->why : "not verified");
	} else {
		struct rules_result res;
		const struct rules_finding *f;

		/* The record's own warnings, then the rules against the record
		 * before it: a failure there is this record's one problem. */
		for (unsigned i = 0; i < it->rules.n; i++)
			event(c, r->seq, true, it->rules.f[i].rule, "%s: %s",
			      it->rules.f[i].rule, it->rules.f[i].msg);
		rules_result_init(&res);
		if (c->have_last)
			rules_check_follow(&c->last, r, &res);
		f = rules_first_fail(&res);
		if (f && good) {
			good = false;
			event(c, r->seq, false, f->rule, "%s: %s", f->rule, f->msg);
		}
		for (unsigned i = 0; i < res.n; i++)
			if (res.f[i].sev == RULES_WARN)
				event(c, r->seq, true, res.f[i].rule, "%s: %s",
				      res.f[i].rule, res.f[i].msg);
	}
	c->last = *r;
	c->have_last = true;
	return good;
}

unsigned long verify_chain_finish(verify_chain_t *c)
{
	/* Damaged records at the end sat where the next seqs belong. */
	flush_pending(c, true);
	for (size_t i = 0; i < c->nmiss; i++)
		missing_report(c, i);
	c->nmiss = 0;
	return c->problems;
}

void verify_chain_free(verify_chain_t *c)
{
	if (!c)
		return;
	free(c->miss);
	free(c->seen);
	free(c);
}

int verify_record_pubkey(const uint8_t *buf, size_t len, int alg,
		       const uint8_t *pubkey, size_t pubkey_len,
		       struct eco2_record *out, const char **why)
{
	verify_key_t *k = NULL;
	int ret;

	ret = verify_key_new(&k, alg, pubkey, pubkey_len, NULL);
	if (ret) {
		if (why)
			*why = "unusable public key or alg";
		if (ret != -ENOMEM)
			ret = -EINVAL;
		goto out;
	}
	ret = verify_record(k, buf, len, 0, NULL, out, NULL, why);
	/* Only the signature is asked about here, not the methodology. */
	if (ret == -EDOM || ret == -ENOTSUP)
		ret = 0;
out:
	verify_key_free(k);
	return ret;
}
