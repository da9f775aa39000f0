/* Unit tests for crypto/ledger_check.c, on inputs built here with the
 * project's own blocks: a device's chain of records (Ed25519, signed in
 * the test), the ledger's tree over them among other devices' leaves
 * (crypto/merkle.c), its checkpoints signed by a ledger key and cosigned by
 * a witness key made here (crypto/tlog.c), and receipts written by
 * crypto/receipt.c. A ledger answering over HTTPS (mbedTLS, a certificate
 * made here, in a forked child) serves the published checkpoint and
 * consistency proofs from one tree or another, and takes cosignatures.
 *
 * lcheck_run: a genuine set is accepted (offline and with the ledger's
 * proofs and a witness); a tampered proof, another ledger key, a fork of
 * one size (offline) or of two sizes (with the ledger's proofs), a record
 * withheld (the last one, one in the middle), a record whose bytes differ,
 * another device's receipt, truncated or garbage receipts and export, an
 * uncosigned or badly signed published checkpoint are each named; bad
 * options and keys are refused. lcheck_witness_main: a witness key is made,
 * a checkpoint cosigned and the cosignature verifies (not with another
 * key, not over another checkpoint); a fork, an older checkpoint and a
 * badly signed one are refused, usage errors are usage errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <curl/curl.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <sodium.h>

#include "lib/log.h"
#include "crypto/ledger_check.h"
#include "crypto/merkle.h"
#include "crypto/receipt.h"
#include "crypto/tlog.h"
#include "tests/unit/test_util.h"
#include "tests/unit/records_helper.h"

#define NREC   12       /* the device's records, seqs 1..NREC */
#define LEAVES 18       /* the ledger's tree, other devices' leaves among them */
#define ORIGIN "ledger.example/eco2"

/* Where seq s sits in the tree: leaves 0-2 and 7 are another device's,
 * seqs 1-4 at 3-6, 5-12 at 8-15, 16-17 another device's again. */
static uint64_t leaf_of(uint64_t s)
{
	return s <= 4 ? s + 2 : s + 3;
}

struct ttree {
	struct merkle_compact c;
	uint8_t nodes[6][LEAVES][32];
};

static struct tkey dev, dev2;
static uint8_t *chain, *chain2;
static size_t offs[NREC + 1], chain_len, chain2_len;
static struct ttree tree_a, tree_b;     /* the ledger's history, and a fork at leaf 7 */
static struct tlog_skey lkey, lkey_other, wkey, wkey_other;
static struct tlog_vkey lvkey, wvkey, wvkey_other;
static char lvtext[TLOG_VKEY_MAX], wvtext[TLOG_VKEY_MAX], wvtext_other[TLOG_VKEY_MAX];
static char dir[64], path_receipts[128], path_ca[128], path_posted[128], url[64];

/* ---- the ledger's trees, checkpoints and receipts ------------------------- */

static void emit(void *ctx, unsigned level, uint64_t index, const uint8_t h[32])
{
	struct ttree *t = ctx;

	memcpy(t->nodes[level][index], h, 32);
}

static int node(void *ctx, unsigned level, uint64_t index, uint8_t out[32])
{
	const struct ttree *t = ctx;

	if (level >= 6 || ((index + 1) << level) > t->c.size)
		return -ENOENT;
	memcpy(out, t->nodes[level][index], 32);
	return 0;
}

/* The tree of the device's chain among foreign leaves; fork: leaf 7 is
 * another foreign record. */
static void tree_build(struct ttree *t, bool fork)
{
	merkle_compact_init(&t->c);
	for (uint64_t i = 0; i < LEAVES; i++) {
		uint8_t h[32], foreign[16];
		uint64_t s = i <= 2 ? 0 : i <= 6 ? i - 2 : i == 7 ? 0 : i <= 15 ? i - 3 : 0;

		if (s) {
			merkle_leaf_hash(chain + offs[s - 1], offs[s] - offs[s - 1], h);
		} else {
			memset(foreign, fork && i == 7 ? 'F' : 'a' + (int)i, sizeof(foreign));
			merkle_leaf_hash(foreign, sizeof(foreign), h);
		}
		assert_int_equal(merkle_compact_append(&t->c, h, emit, t), 0);
	}
}

/* The checkpoint of t at size signed by k (and cosigned by w, if any) into
 * note; its length. */
static size_t note_for(const struct ttree *t, uint64_t size, const struct tlog_skey *k,
		       const struct tlog_skey *w, char *note, size_t cap)
{
	struct tlog_checkpoint c;
	int n, l, m = 0;

	memset(&c, 0, sizeof(c));
	snprintf(c.origin, sizeof(c.origin), "%s", ORIGIN);
	c.size = size;
	assert_int_equal(merkle_root(node, (void *)t, size, c.root), 0);
	n = tlog_checkpoint_format(&c, note, cap);
	assert_true(n > 0);
	note[n++] = '\n';
	l = tlog_sign_line(note, (size_t)n - 1, k, note + n, cap - (size_t)n);
	assert_true(l > 0);
	if (w) {
		m = tlog_cosign_line(note, (size_t)n - 1, w, 1760000000, note + n + l,
				     cap - (size_t)n - (size_t)l);
		assert_true(m > 0);
	}
	return (size_t)n + (size_t)l + (size_t)m;
}

/* A receipt of t at size for seqs first..last signed by k; bad_seq (if
 * not 0) gets one hash of its proof changed. Appended to *all. */
static void receipt_add(char **all, size_t *all_len, const struct ttree *t, uint64_t size,
			uint64_t first, uint64_t last, const struct tlog_skey *k,
			const uint8_t kid[8], uint64_t bad_seq)
{
	struct receipt_entry e[NREC];
	merkle_hash_t h[NREC * MERKLE_PROOF_MAX];
	char note[1024], *out;
	size_t nl = note_for(t, size, k, NULL, note, sizeof(note)), nh = 0, len;

	for (uint64_t s = first; s <= last; s++) {
		struct receipt_entry *x = &e[s - first];

		x->seq = s;
		x->index = leaf_of(s);
		x->first = nh;
		assert_int_equal(merkle_inclusion_proof(node, (void *)t, x->index, size, h + nh, &x->n), 0);
		assert_true(x->n > 0);
		if (s == bad_seq)
			h[nh][5] ^= 0x20;
		nh += x->n;
	}
	assert_int_equal(receipt_format(kid, e, last - first + 1, h, note, nl, &out, &len), 0);
	*all = realloc(*all, *all_len + len + 1);
	assert_non_null(*all);
	memcpy(*all + *all_len, out, len);
	*all_len += len;
	free(out);
}

/* 0600: a witness's signer key must be */
static void write_file(const char *path, const void *p, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* Three receipts into *out: seqs 1-4 at size 7, 5-8 at 12 (of tree mid,
 * signed by mid_key, bad_seq's proof changed), 9-12 at 16. */
static void receipts_three(char **out, size_t *len, const struct ttree *mid,
			   const struct tlog_skey *mid_key, uint64_t bad_seq)
{
	*out = NULL;
	*len = 0;
	receipt_add(out, len, &tree_a, 7, 1, 4, &lkey, dev.kid, 0);
	receipt_add(out, len, mid, 12, 5, 8, mid_key, dev.kid, bad_seq);
	receipt_add(out, len, &tree_a, 16, 9, 12, &lkey, dev.kid, 0);
}

/* The genuine three. */
static void receipts_genuine(char **out, size_t *len)
{
	receipts_three(out, len, &tree_a, &lkey, 0);
}

/* The chain without seq s (0: all of it). */
static uint8_t *export_without(uint64_t s, size_t *len)
{
	uint8_t *p = malloc(chain_len);
	size_t n = 0;

	assert_non_null(p);
	for (uint64_t i = 1; i <= NREC; i++) {
		if (i == s)
			continue;
		memcpy(p + n, chain + offs[i - 1], offs[i] - offs[i - 1]);
		n += offs[i] - offs[i - 1];
	}
	*len = n;
	return p;
}

/* ---- what lcheck_run reports ---------------------------------------------- */

struct problems {
	unsigned n;
	uint64_t seq[64];
	char reason[64][512];
};

static void on_problem(void *ctx, uint64_t seq, const char *reason)
{
	struct problems *p = ctx;

	if (p->n < 64) {
		p->seq[p->n] = seq;
		snprintf(p->reason[p->n], sizeof(p->reason[0]), "%s", reason);
	}
	p->n++;
}

/* Was seq named for a reason holding what? */
static bool named(const struct problems *p, uint64_t seq, const char *what)
{
	for (unsigned i = 0; i < p->n && i < 64; i++)
		if (p->seq[i] == seq && strstr(p->reason[i], what))
			return true;
	return false;
}

static void opts_offline(struct lcheck_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->ledger_key = lvtext;
	o->receipts = path_receipts;
}

/* lcheck_run over receipts[rlen] and the export; its return. */
static int run(const struct lcheck_opts *o, const char *receipts, size_t rlen, const uint8_t *exp,
	       size_t elen, struct problems *p, struct lcheck_summary *sum)
{
	memset(p, 0, sizeof(*p));
	write_file(path_receipts, receipts, rlen);
	return lcheck_run(o, exp, elen, on_problem, p, sum);
}

/* ---- a ledger over HTTPS ---------------------------------------------------- */

static struct {
	const struct ttree *tree;     /* consistency proofs from this tree */
	char note[2048];              /* GET /v1/checkpoint */
	size_t note_len;
	bool garbage_proofs;
} srv;
static mbedtls_x509_crt srv_crt;
static mbedtls_pk_context srv_pk;
static pid_t srv_pid;

/* An EC key and a self-signed certificate for 127.0.0.1 (the client's
 * CA file too). */
static void cert_make(void)
{
	/* subjectAltName: DNS localhost, IP 127.0.0.1 */
	static const unsigned char san[] = { 0x30, 0x11, 0x82, 0x09, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's',
					     't', 0x87, 0x04, 127, 0, 0, 1 };
	mbedtls_x509write_cert w;
	mbedtls_mpi serial;
	unsigned char pem[4096];

	mbedtls_pk_init(&srv_pk);
	assert_int_equal(mbedtls_pk_setup(&srv_pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)), 0);
	assert_int_equal(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(srv_pk), trng, NULL), 0);
	mbedtls_x509write_crt_init(&w);
	mbedtls_mpi_init(&serial);
	assert_int_equal(mbedtls_mpi_lset(&serial, 1), 0);
	mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&w, &srv_pk);
	mbedtls_x509write_crt_set_issuer_key(&w, &srv_pk);
	assert_int_equal(mbedtls_x509write_crt_set_subject_name(&w, "CN=localhost"), 0);
	assert_int_equal(mbedtls_x509write_crt_set_issuer_name(&w, "CN=localhost"), 0);
	assert_int_equal(mbedtls_x509write_crt_set_serial(&w, &serial), 0);
	assert_int_equal(mbedtls_x509write_crt_set_validity(&w, "20200101000000", "20991231235959"), 0);
	assert_int_equal(mbedtls_x509write_crt_set_basic_constraints(&w, 1, 0), 0);
	assert_int_equal(mbedtls_x509write_crt_set_extension(&w, MBEDTLS_OID_SUBJECT_ALT_NAME,
							     MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME),
							     0, san, sizeof(san)), 0);
	assert_int_equal(mbedtls_x509write_crt_pem(&w, pem, sizeof(pem), trng, NULL), 0);
	write_file(path_ca, pem, strlen((char *)pem));
	mbedtls_x509_crt_init(&srv_crt);
	assert_int_equal(mbedtls_x509_crt_parse(&srv_crt, pem, strlen((char *)pem) + 1), 0);
	mbedtls_x509write_crt_free(&w);
	mbedtls_mpi_free(&serial);
}

/* The answer to one request (head and body in req[len]) into out. */
static size_t answer(const char *req, size_t len, char *out, size_t cap)
{
	char body[8192];
	size_t bl = 0;
	int status = 200;
	uint64_t m, n;

	if (!strncmp(req, "GET /v1/checkpoint ", 19)) {
		memcpy(body, srv.note, srv.note_len);
		bl = srv.note_len;
	} else if (sscanf(req, "GET /v1/proof/consistency?first=%" SCNu64 "&second=%" SCNu64, &m, &n) == 2) {
		merkle_hash_t p[MERKLE_PROOF_MAX];
		size_t np = 0;

		if (srv.garbage_proofs || merkle_consistency_proof(node, (void *)srv.tree, m, n, p, &np)) {
			bl = (size_t)snprintf(body, sizeof(body), "not a proof\n");
		} else {
			for (size_t i = 0; i < np; i++) {
				int l = tlog_b64_encode(p[i], 32, body + bl, sizeof(body) - bl);

				if (l < 0)
					_exit(3);
				bl += (size_t)l;
				body[bl++] = '\n';
			}
		}
	} else if (!strncmp(req, "POST /v1/checkpoint/cosignature ", 32)) {
		const char *b = strstr(req, "\r\n\r\n");
		int fd = open(path_posted, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (!b || fd < 0 || write(fd, b + 4, len - (size_t)(b + 4 - req)) < 0)
			_exit(3);
		close(fd);
	} else {
		status = 404;
	}
	return (size_t)snprintf(out, cap, "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%.*s",
				status, bl, (int)bl, body);
}

/* Serve one connection; a request whose body is Content-Length long. */
static void serve_one(mbedtls_ssl_config *conf, mbedtls_net_context *lis)
{
	mbedtls_net_context cl;
	mbedtls_ssl_context ssl;
	char req[16384], out[16384];
	size_t len = 0, want = 0, n;

	mbedtls_net_init(&cl);
	mbedtls_ssl_init(&ssl);
	if (mbedtls_net_accept(lis, &cl, NULL, 0, NULL))
		_exit(3);
	if (mbedtls_ssl_setup(&ssl, conf))
		goto out;
	mbedtls_ssl_set_bio(&ssl, &cl, mbedtls_net_send, mbedtls_net_recv, NULL);
	if (mbedtls_ssl_handshake(&ssl))
		goto out;
	while (len < sizeof(req) - 1) {
		const char *end, *cl_hdr;
		int r = mbedtls_ssl_read(&ssl, (unsigned char *)req + len, sizeof(req) - 1 - len);

		if (r <= 0)
			goto out;
		len += (size_t)r;
		req[len] = '\0';
		end = strstr(req, "\r\n\r\n");
		if (!end)
			continue;
		cl_hdr = strstr(req, "\r\nContent-Length:");
		want = (size_t)(end + 4 - req) + (cl_hdr && cl_hdr < end ? strtoul(cl_hdr + 17, NULL, 10) : 0);
		if (len >= want)
			break;
	}
	n = answer(req, len, out, sizeof(out));
	for (size_t w = 0; w < n;) {
		int r = mbedtls_ssl_write(&ssl, (unsigned char *)out + w, n - w);

		if (r <= 0)
			break;
		w += (size_t)r;
	}
	mbedtls_ssl_close_notify(&ssl);
out:
	mbedtls_ssl_free(&ssl);
	mbedtls_net_free(&cl);
}

/* Start the ledger (srv as set now) in a child; url gets its address. */
static void ledger_start(void)
{
	mbedtls_net_context lis;
	struct sockaddr_in a;
	socklen_t al = sizeof(a);

	mbedtls_net_init(&lis);
	assert_int_equal(mbedtls_net_bind(&lis, "127.0.0.1", "0", MBEDTLS_NET_PROTO_TCP), 0);
	assert_int_equal(getsockname(lis.fd, (struct sockaddr *)&a, &al), 0);
	snprintf(url, sizeof(url), "https://127.0.0.1:%u", ntohs(a.sin_port));
	unlink(path_posted);
	fflush(NULL);
	srv_pid = fork();
	assert_true(srv_pid >= 0);
	if (!srv_pid) {
		mbedtls_ssl_config conf;

		/* gone with the test, whatever becomes of it */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() == 1)
			_exit(3);
		mbedtls_ssl_config_init(&conf);
		if (mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
						MBEDTLS_SSL_PRESET_DEFAULT))
			_exit(3);
		mbedtls_ssl_conf_rng(&conf, trng, NULL);
		if (mbedtls_ssl_conf_own_cert(&conf, &srv_crt, &srv_pk))
			_exit(3);
		for (;;)
			serve_one(&conf, &lis);
	}
	close(lis.fd);          /* not mbedtls_net_free: its shutdown() is the child's too */
}

static void ledger_stop(void)
{
	int st;
	pid_t pid = srv_pid;

	srv_pid = 0;
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
}

/* A test that failed with its ledger running leaves none behind. */
static int teardown(void **state)
{
	(void)state;
	if (srv_pid > 0)
		ledger_stop();
	return 0;
}

/* The ledger serves t's proofs and its checkpoint at size signed by k,
 * cosigned by w (if any). */
static void ledger_serves(const struct ttree *t, uint64_t size, const struct tlog_skey *k,
			  const struct tlog_skey *w)
{
	memset(&srv, 0, sizeof(srv));
	srv.tree = t;
	srv.note_len = note_for(t, size, k, w, srv.note, sizeof(srv.note));
	ledger_start();
}

static void opts_online(struct lcheck_opts *o)
{
	opts_offline(o);
	o->ledger_url = url;
	o->ca = path_ca;
}

/* ---- lcheck_wanted ----------------------------------------------------------- */

/* Any one option, and only an option, makes eco2-verify run the module. */
static void test_wanted(void **state)
{
	struct lcheck_opts o;

	(void)state;
	memset(&o, 0, sizeof(o));
	assert_false(lcheck_wanted(&o));
	o.ca = path_ca;                    /* not on its own */
	assert_false(lcheck_wanted(&o));
	o.ca = NULL;
	o.ledger_key = lvtext;
	assert_true(lcheck_wanted(&o));
	memset(&o, 0, sizeof(o));
	o.receipts = path_receipts;
	assert_true(lcheck_wanted(&o));
	memset(&o, 0, sizeof(o));
	o.ledger_url = "https://x";
	assert_true(lcheck_wanted(&o));
	memset(&o, 0, sizeof(o));
	o.n_witness = 1;
	assert_true(lcheck_wanted(&o));
	memset(&o, 0, sizeof(o));
	o.cosign = true;
	assert_true(lcheck_wanted(&o));
	memset(&o, 0, sizeof(o));
	o.witness_keygen = "w";
	assert_true(lcheck_wanted(&o));
}

/* ---- lcheck_run offline ------------------------------------------------------- */

/* The genuine set: three receipts prove all twelve records, no problem;
 * the key may be given as a file too. */
static void test_genuine(void **state)
{
	struct lcheck_opts o;
	struct lcheck_summary sum;
	struct problems p;
	char *r, kpath[160];
	size_t rl;

	(void)state;
	receipts_genuine(&r, &rl);
	opts_offline(&o);
	assert_int_equal(run(&o, r, rl, chain, chain_len, &p, &sum), 0);
	assert_int_equal(p.n, 0);
	assert_int_equal(sum.receipts, 3);
	assert_int_equal(sum.proved, NREC);
	assert_int_equal(sum.checkpoints, 3);
	assert_int_equal(sum.last_seq, NREC);
	assert_int_equal(sum.largest_size, 16);
	assert_false(sum.consistency_checked);
	assert_int_equal(sum.witnessed, 0);
	/* the ledger's key from a file (with its newline) */
	snprintf(kpath, sizeof(kpath), "%s/log.vkey", dir);
	{
		char t[TLOG_VKEY_MAX + 1];
		int n = snprintf(t, sizeof(t), "%s\n", lvtext);

		write_file(kpath, t, (size_t)n);
	}
	o.ledger_key = kpath;
	assert_int_equal(run(&o, r, rl, chain, chain_len, &p, &sum), 0);
	assert_int_equal(p.n, 0);
	assert_int_equal(sum.proved, NREC);
	/* a receipt repeated (eco2d kept it twice): still one history */
	receipt_add(&r, &rl, &tree_a, 12, 5, 8, &lkey, dev.kid, 0);
	assert_int_equal(run(&o, r, rl, chain, chain_len, &p, &sum), 0);
	assert_int_equal(p.n, 0);
	assert_int_equal(sum.receipts, 4);
	assert_int_equal(sum.checkpoints, 3);
	unlink(kpath);
	free(r);
}

/* One hash of seq 6's proof changed: seq 6 alone is named, the rest proved. */
static void test_tampered_proof(void **state)
{
	struct lcheck_opts o;
	struct lcheck_summary sum;
	struct problems p;
	char *r;
	size_t rl;

	(void)state;
	receipts_three(&r, &rl, &tree_a, &lkey, 6);
	opts_offline(&o);
	assert_int_equal(run(&o, r, rl, chain, chain_len, &p, &sum), 0);
	assert_int_equal(p.n, 1);
	assert_true(named(&p, 6, "inclusion proof does not lead"));
	assert_int_equal(sum.proved, NREC - 1);
	free(r);
}

/* The middle receipt's checkpoint signed by another key of the same name:
 * named at its first seq, its records not proved. */
static void test_other_key(void **state)
{
	struct lcheck_opts o;
	struct lcheck_summary sum;
	struct problems p;
	char *r;
	size_t rl;

	(void)state;
	receipts_three(&r, &rl, &tree_a, &lkey_other, 0);
	opts_offline(&o);
	assert_int_equal(run(&o, r, rl, chain, chain_len, &p, &sum), 0);
	assert_int_equal(p.n, 1);
	assert_true(named(&p, 5, "a receipt's checkpoint (seqs 5..8)"));
	assert_int_equal(sum.proved, NREC - 4);
	assert_int_equal(sum.checkpoints, 2);
	/* the key given is a witness's (type 0x04): refused */
	o.ledger_key = wvtext;
	assert_int_equal(run(&o, r, rl, chain, chain_len, &p, &sum), -EINVAL);
	o.ledger_key = "no key at all";
	assert_int_equal(run(&o, r, rl, chain, chain_len, &p, &sum), -EINVAL);
	assert_int_equal(p.n, 0);
	free(r);
}

/* Two receipts of size 12 with different roots (each proving its records
 * in its own tree): the fork is caught offline. */
static void test_fork_same_size(void **state)
{
	struct lcheck_opts o;
	struct lcheck_summary sum;
	struct problems p;
	char *r;
	size_t rl;

	(void)state;
	receipts_genuine(&r, &rl);
	receipt_add(&r, &rl, &tree_b, 12, 5, 8, &lkey, dev.kid, 0);
	opts_offline(&o);
	assert_int_equal(run(&o, r, rl, chain, chain_len, &p, &sum), 0);
	assert_int_equal(p.n, 1);
	assert_true(named(&p, 0, "two checkpoints of size 12 with different roots"));
	assert_int_equal(sum.proved, NREC + 4);
	free(r);
}

/* The last receipted record withheld, then one in the middle: each named
 * as held by the ledger but not exported. */
static void test_withheld(void **state)
{
	struct lcheck_opts o;
	struct lcheck_summary sum;
	struct problems p;
	char *r;
	size_t rl, el;
	uint8_t *e;

	(void)state;
	receipts_genuine(&r, &rl);
	opts_offline(&o);
	e = export_without(NREC, &el);
	assert_int_equal(run(&o, r, rl, e, el, &p, &sum), 0);
	assert_int_equal(p.n, 1);
	assert_true(named(&p, NREC, "withheld"));
	assert_int_equal(sum.last_seq, NREC);
	assert_int_equal(sum.proved, NREC - 1);
	free(e);
	e = export_without(6, &el);
	assert_int_equal(run(&o, r, rl, e, el, &p, &sum), 0);
	assert_int_equal(p.n, 1);
	assert_true(named(&p, 6, "withheld"));
	free(e);
	/* the export ends at seq 8 while seqs 11-12 are receipted and 9-10
	 * are not: 9 and 10 missing, 11 and 12 withheld */
	free(r);
	r = NULL;
	rl = 0;
	receipt_add(&r, &rl, &tree_a, 7, 1, 4, &lkey, dev.kid, 0);
	receipt_add(&r, &rl, &tree_a, 16, 11, 12, &lkey, dev.kid, 0);
	assert_int_equal(run(&o, r, rl, chain, offs[8], &p, &sum), 0);
	assert_int_equal(p.n, 4);
	assert_true(named(&p, 9, "missing from the export, which must reach seq 12"));
	assert_true(named(&p, 10, "missing from the export"));
	assert_true(named(&p, 11, "withheld"));
	assert_true(named(&p, 12, "withheld"));
	free(r);
}

/* The export's seq 7 re-signed with another software version: the receipt's
 * proof does not lead from its bytes; seq 7 alone is named. */
static void test_other_bytes(void **state)
{
	struct lcheck_opts o;
	struct lcheck_summary sum;
	struct problems p;
	struct eco2_record rec;
	struct cose_sign1 parts;
	uint8_t *one, *e;
	size_t ol, rl, el = 0;
	char *r;

	(void)state;
	assert_int_equal(cose_record_decode(chain + offs[6], offs[7] - offs[6], &rec, &parts, NULL), 0);
	assert_int_equal(rec.seq, 7);
	snprintf(rec.software, sizeof(rec.software), "%s", "eco2-test/2");
	one = trec_encode(&rec, &dev, &ol);
	e = malloc(chain_len + ol);
	assert_non_null(e);
	memcpy(e, chain, offs[6]);
	memcpy(e + offs[6], one, ol);
	memcpy(e + offs[6] + ol, chain + offs[7], chain_len - offs[7]);
	el = offs[6] + ol + chain_len - offs[7];
	receipts_genuine(&r, &rl);
	opts_offline(&o);
	assert_int_equal(run(&o, r, rl, e, el, &p, &sum), 0);
	assert_int_equal(p.n, 1);
	assert_true(named(&p, 7, "not the record the ledger holds"));
	assert_int_equal(sum.proved, NREC - 1);
	free(one);
	free(e);
	free(r);
}

/* Receipts of another device's kid: the entries are named as another
 * device's, and two kids in one file are named. */
static void test_other_device(void **state)
{
	struct lcheck_opts o;
	struct lcheck_summary sum;
	struct problems p;
	char *r = NULL;
	size_t rl = 0;

	(void)state;
	receipt_add(&r, &rl, &tree_a, 7, 1, 4, &lkey, dev.kid, 0);
	receipt_add(&r, &rl, &tree_a, 12, 5, 8, &lkey, dev2.kid, 0);
	opts_offline(&o);
	assert_int_equal(run(&o, r, rl, chain, offs[8], &p, &sum), 0);
	assert_true(named(&p, 0, "receipts of two devices in one file"));
	for (uint64_t s = 5; s <= 8; s++)
		assert_true(named(&p, s, "for another device"));
	assert_int_equal(p.n, 5);
	assert_int_equal(sum.proved, 4);
	/* the other device's own export under our receipts: nothing proved */
	assert_int_equal(run(&o, r, rl, chain2, chain2_len, &p, &sum), 0);
	assert_int_equal(sum.proved, 0);
	assert_true(p.n >= 8);
	free(r);
}

/* Truncated and garbage receipts, a garbage export, an empty receipts
 * file, a missing one and missing options. */
static void test_garbage(void **state)
{
	static const char junk[] = "eco2-receipt/v1\nkid zz\n1 0\n";
	struct lcheck_opts o;
	struct lcheck_summary sum;
	struct problems p;
	char *r;
	size_t rl, first, second;

	(void)state;
	opts_offline(&o);
	receipts_genuine(&r, &rl);
	{
		char *one = NULL;
		size_t ol = 0;

		receipt_add(&one, &ol, &tree_a, 7, 1, 4, &lkey, dev.kid, 0);
		first = ol;
		receipt_add(&one, &ol, &tree_a, 12, 5, 8, &lkey, dev.kid, 0);
		second = ol;
		free(one);
	}
	/* cut within the second receipt: the first counts, the cut named at
	 * its byte, nothing after it read */
	for (size_t cut = first + 1; cut < second; cut += 7) {
		assert_int_equal(run(&o, r, cut, chain, offs[4], &p, &sum), 0);
		assert_int_equal(sum.receipts, 1);
		assert_int_equal(sum.proved, 4);
		assert_int_equal(p.n, 1);
		assert_int_equal(p.seq[0], 0);
		if (!strstr(p.reason[0], "receipts, byte "))
			fail_msg("cut at %zu: %s", cut, p.reason[0]);
	}
	/* garbage first: no receipt at all */
	assert_int_equal(run(&o, junk, sizeof(junk) - 1, chain, chain_len, &p, &sum), 0);
	assert_true(named(&p, 0, "receipts, byte 0"));
	assert_true(named(&p, 0, "no receipt"));
	assert_int_equal(sum.receipts, 0);
	assert_int_equal(run(&o, "\n\n", 2, chain, chain_len, &p, &sum), 0);
	assert_int_equal(p.n, 1);
	assert_true(named(&p, 0, "no receipt"));
	/* the export garbage or cut: the records it lost are withheld */
	{
		uint8_t g[256];

		memset(g, 0xff, sizeof(g));
		assert_int_equal(run(&o, r, rl, g, sizeof(g), &p, &sum), 0);
		assert_int_equal(p.n, NREC);
		assert_int_equal(sum.proved, 0);
		assert_int_equal(run(&o, r, rl, chain, offs[NREC] - 3, &p, &sum), 0);
		assert_true(named(&p, NREC, "withheld"));
		assert_int_equal(sum.proved, NREC - 1);
	}
	/* what cannot run */
	unlink(path_receipts);
	assert_int_equal(lcheck_run(&o, chain, chain_len, on_problem, &p, &sum), -EIO);
	o.receipts = NULL;
	assert_int_equal(lcheck_run(&o, chain, chain_len, on_problem, &p, &sum), -EINVAL);
	opts_offline(&o);
	o.witness_keys[0] = wvtext;
	o.n_witness = 1;
	assert_int_equal(lcheck_run(&o, chain, chain_len, on_problem, &p, &sum), -EINVAL);
	free(r);
}

/* ---- lcheck_run with the ledger ------------------------------------------------- */

/* The ledger's proofs link 7, 12, 16 and its published 18; the witness
 * cosigned it: no problem, consistency checked, one witness. */
static void test_online_genuine(void **state)
{
	struct lcheck_opts o;
	struct lcheck_summary sum;
	struct problems p;
	char *r;
	size_t rl;

	(void)state;
	receipts_genuine(&r, &rl);
	ledger_serves(&tree_a, LEAVES, &lkey, &wkey);
	opts_online(&o);
	o.witness_keys[0] = wvtext;
	o.n_witness = 1;
	assert_int_equal(run(&o, r, rl, chain, chain_len, &p, &sum), 0);
	assert_int_equal(p.n, 0);
	assert_true(sum.consistency_checked);
	assert_int_equal(sum.witnessed, 1);
	assert_int_equal(sum.checkpoints, 4);
	assert_int_equal(sum.largest_size, LEAVES);
	assert_int_equal(sum.proved, NREC);
	/* another witness's key of the same name: not cosigned by it */
	o.witness_keys[0] = wvtext_other;
	assert_int_equal(run(&o, r, rl, chain, chain_len, &p, &sum), 0);
	assert_int_equal(p.n, 1);
	assert_true(named(&p, 0, "is not cosigned by witness"));
	assert_int_equal(sum.witnessed, 0);
	ledger_stop();
	/* published without a cosignature */
	ledger_serves(&tree_a, LEAVES, &lkey, NULL);
	o.witness_keys[0] = wvtext;
	assert_int_equal(run(&o, r, rl, chain, chain_len, &p, &sum), 0);
	assert_int_equal(p.n, 1);
	assert_true(named(&p, 0, "checkpoint of size 18 is not cosigned"));
	ledger_stop();
	free(r);
}

/* The middle receipt from a fork (leaf 7 another): offline nothing shows;
 * the ledger's proofs do not link 7 to it nor it to 16. */
static void test_online_fork(void **state)
{
	struct lcheck_opts o;
	struct lcheck_summary sum;
	struct problems p;
	char *r;
	size_t rl;

	(void)state;
	receipts_three(&r, &rl, &tree_b, &lkey, 0);
	opts_offline(&o);
	assert_int_equal(run(&o, r, rl, chain, chain_len, &p, &sum), 0);
	assert_int_equal(p.n, 0);
	assert_int_equal(sum.proved, NREC);
	ledger_serves(&tree_a, LEAVES, &lkey, NULL);
	opts_online(&o);
	assert_int_equal(run(&o, r, rl, chain, chain_len, &p, &sum), 0);
	assert_true(named(&p, 0, "sizes 12 and 16 are not consistent"));
	assert_int_equal(p.n, 2);
	assert_true(named(&p, 0, "sizes 7 and 12 are not consistent"));
	ledger_stop();
	/* a ledger answering garbage for proofs: not consistent either */
	free(r);
	receipts_genuine(&r, &rl);
	memset(&srv, 0, sizeof(srv));
	srv.tree = &tree_a;
	srv.note_len = note_for(&tree_a, LEAVES, &lkey, NULL, srv.note, sizeof(srv.note));
	srv.garbage_proofs = true;
	ledger_start();
	assert_int_equal(run(&o, r, rl, chain, chain_len, &p, &sum), 0);
	assert_int_equal(p.n, 3);
	assert_true(named(&p, 0, "sizes 7 and 12 are not consistent"));
	ledger_stop();
	free(r);
}

/* A published checkpoint signed by another key, a garbage one, and no
 * ledger at all: named, consistency unprovable. */
static void test_online_bad_published(void **state)
{
	struct lcheck_opts o;
	struct lcheck_summary sum;
	struct problems p;
	char *r;
	size_t rl;

	(void)state;
	receipts_genuine(&r, &rl);
	opts_online(&o);
	ledger_serves(&tree_a, LEAVES, &lkey_other, NULL);
	assert_int_equal(run(&o, r, rl, chain, chain_len, &p, &sum), 0);
	assert_true(named(&p, 0, "published checkpoint cannot be fetched or verified"));
	assert_int_equal(p.n, 1);
	assert_int_equal(sum.largest_size, 16);
	ledger_stop();
	memset(&srv, 0, sizeof(srv));
	srv.tree = &tree_a;
	srv.note_len = (size_t)snprintf(srv.note, sizeof(srv.note), "%s\n18\nnot a root\n", ORIGIN);
	ledger_start();
	assert_int_equal(run(&o, r, rl, chain, chain_len, &p, &sum), 0);
	assert_true(named(&p, 0, "published checkpoint cannot be fetched or verified"));
	ledger_stop();
	/* nobody listening: the checkpoint and every proof unfetchable */
	assert_int_equal(run(&o, r, rl, chain, chain_len, &p, &sum), 0);
	assert_true(named(&p, 0, "published checkpoint cannot be fetched"));
	assert_true(named(&p, 0, "no consistency proof from size 7 to 12"));
	assert_int_equal(p.n, 3);
	free(r);
}

/* ---- witnessing ----------------------------------------------------------------- */

static void witness_opts(struct lcheck_opts *o, const char *skey, const char *state)
{
	memset(o, 0, sizeof(*o));
	o->ledger_url = url;
	o->ca = path_ca;
	o->ledger_key = lvtext;
	o->witness_skey = skey;
	o->witness_state = state;
	o->cosign = true;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p = calloc(1, 65536);

	assert_non_null(f);
	assert_non_null(p);
	*len = fread(p, 1, 65535, f);
	fclose(f);
	return p;
}

/* --witness-keygen writes a 0600 signer key whose public key it prints;
 * a second run will not overwrite it; a name with '+' is refused. */
static void test_witness_keygen(void **state)
{
	struct lcheck_opts o;
	struct tlog_skey k;
	struct tlog_vkey v, printed;
	char skey[160], out[160], *t;
	size_t len;
	struct stat st;
	int saved, fd;

	(void)state;
	snprintf(skey, sizeof(skey), "%s/w.skey", dir);
	snprintf(out, sizeof(out), "%s/w.out", dir);
	memset(&o, 0, sizeof(o));
	o.witness_keygen = "certifier.example/witness";
	o.witness_skey = skey;
	fflush(stdout);
	saved = dup(1);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, 1);
	close(fd);
	assert_int_equal(lcheck_witness_main(&o), 0);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	assert_int_equal(stat(skey, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	t = slurp(skey, &len);
	assert_int_equal(tlog_skey_parse(t, len, &k, NULL), 0);
	assert_int_equal(k.type, TLOG_COSIG_V1);
	assert_string_equal(k.name, "certifier.example/witness");
	tlog_skey_public(&k, &v);
	free(t);
	t = slurp(out, &len);
	assert_int_equal(tlog_vkey_parse(t, len, &printed, NULL), 0);
	assert_memory_equal(printed.pub, v.pub, 32);
	assert_int_equal(printed.id, v.id);
	free(t);
	/* never over an existing key; names checked */
	assert_int_equal(lcheck_witness_main(&o), 2);
	unlink(skey);
	o.witness_keygen = "bad+name";
	assert_int_equal(lcheck_witness_main(&o), 2);
	o.witness_keygen = "w";
	o.witness_skey = NULL;
	assert_int_equal(lcheck_witness_main(&o), 2);
	unlink(out);
	tlog_skey_wipe(&k);
}

/* Cosigning: first with no state, then from a state of size 16 (consistent
 * by the ledger's proof). The cosignature posted verifies with the
 * witness's key, not another's, and not over another checkpoint; the state
 * becomes the cosigned checkpoint. */
static void test_witness_cosign(void **state)
{
	struct lcheck_opts o;
	struct tlog_note nt;
	char skey[160], wstate[160], text[TLOG_SKEY_MAX + 2], *posted, *st, other[2048], *line;
	size_t pl, sl, ol;
	int n;

	(void)state;
	snprintf(skey, sizeof(skey), "%s/w2.skey", dir);
	snprintf(wstate, sizeof(wstate), "%s/w2.state", dir);
	n = tlog_skey_format(&wkey, text, sizeof(text));
	assert_true(n > 0);
	write_file(skey, text, (size_t)n);
	unlink(wstate);
	ledger_serves(&tree_a, 16, &lkey, NULL);
	witness_opts(&o, skey, wstate);
	assert_int_equal(lcheck_witness_main(&o), 0);
	ledger_stop();
	posted = slurp(path_posted, &pl);
	assert_memory_equal(posted, srv.note, srv.note_len);
	assert_int_equal(tlog_note_open(posted, pl, &wvkey, 1, &nt, NULL), 0);
	assert_int_equal(nt.verified, 1);
	assert_int_equal(tlog_note_open(posted, pl, &lvkey, 1, &nt, NULL), 0);
	st = slurp(wstate, &sl);
	assert_int_equal(sl, nt.text_len);
	assert_memory_equal(st, posted, sl);
	free(st);
	/* another witness key: not its cosignature */
	assert_int_equal(tlog_note_open(posted, pl, &wvkey_other, 1, &nt, NULL), -ENOKEY);
	/* the cosignature line under another checkpoint (size 18) */
	line = strstr(posted, "\n\n") + 2;
	line = strchr(line, '\n') + 1;          /* past the ledger's line */
	ol = note_for(&tree_a, LEAVES, &lkey, NULL, other, sizeof(other));
	assert_true(ol + strlen(line) < sizeof(other));
	memcpy(other + ol, line, strlen(line) + 1);
	assert_int_equal(tlog_note_open(other, strlen(other), &wvkey, 1, &nt, NULL), -EKEYREJECTED);
	free(posted);

	/* from the state of size 16 to 18 */
	ledger_serves(&tree_a, LEAVES, &lkey, NULL);
	assert_int_equal(lcheck_witness_main(&o), 0);
	ledger_stop();
	posted = slurp(path_posted, &pl);
	assert_int_equal(tlog_note_open(posted, pl, &wvkey, 1, &nt, NULL), 0);
	assert_memory_equal(posted, srv.note, srv.note_len);
	st = slurp(wstate, &sl);
	assert_int_equal(sl, nt.text_len);
	assert_memory_equal(st, srv.note, sl);
	free(st);
	free(posted);
	unlink(wstate);
	unlink(skey);
}

/* Refused, nothing cosigned and the state kept: the ledger now on a fork
 * of the state, older than it, signed by another key; usage errors. */
static void test_witness_refused(void **state)
{
	struct lcheck_opts o;
	char skey[160], wstate[160], text[TLOG_SKEY_MAX + 2], note[1024], *st;
	size_t nl, sl;
	int n;

	(void)state;
	snprintf(skey, sizeof(skey), "%s/w3.skey", dir);
	snprintf(wstate, sizeof(wstate), "%s/w3.state", dir);
	n = tlog_skey_format(&wkey, text, sizeof(text));
	assert_true(n > 0);
	write_file(skey, text, (size_t)n);
	witness_opts(&o, skey, wstate);
	/* the state: the fork's checkpoint of size 12 */
	assert_true(note_for(&tree_b, 12, &lkey, NULL, note, sizeof(note)) > 0);
	nl = (size_t)(strstr(note, "\n\n") + 1 - note);
	write_file(wstate, note, nl);
	ledger_serves(&tree_a, LEAVES, &lkey, NULL);
	messages[0] = '\0';
	assert_int_equal(lcheck_witness_main(&o), 1);
	assert_non_null(strstr(messages, "INCONSISTENT with the one of size 12"));
	assert_int_equal(access(path_posted, F_OK), -1);
	ledger_stop();
	st = slurp(wstate, &sl);
	assert_int_equal(sl, nl);
	assert_memory_equal(st, note, nl);
	free(st);
	/* the ledger older than the state */
	ledger_serves(&tree_b, 11, &lkey, NULL);
	messages[0] = '\0';
	assert_int_equal(lcheck_witness_main(&o), 1);
	assert_non_null(strstr(messages, "older than the one witnessed before"));
	assert_int_equal(access(path_posted, F_OK), -1);
	ledger_stop();
	/* signed by another key */
	ledger_serves(&tree_b, LEAVES, &lkey_other, NULL);
	assert_int_equal(lcheck_witness_main(&o), 1);
	assert_int_equal(access(path_posted, F_OK), -1);
	ledger_stop();
	/* a state that is no checkpoint */
	write_file(wstate, "garbage\n", 8);
	assert_int_equal(lcheck_witness_main(&o), 2);
	/* usage: no state given; the ledger's key as the witness's */
	o.witness_state = NULL;
	assert_int_equal(lcheck_witness_main(&o), 2);
	o.witness_state = wstate;
	unlink(wstate);
	n = tlog_skey_format(&lkey, text, sizeof(text));
	assert_true(n > 0);
	write_file(skey, text, (size_t)n);
	assert_int_equal(lcheck_witness_main(&o), 2);
	assert_int_equal(access(wstate, F_OK), -1);
	unlink(skey);
}

static int group_setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	snprintf(dir, sizeof(dir), "/tmp/test_ledger_check.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path_receipts, sizeof(path_receipts), "%s/receipts", dir);
	snprintf(path_ca, sizeof(path_ca), "%s/ca.pem", dir);
	snprintf(path_posted, sizeof(path_posted), "%s/posted", dir);
	tkey_ed25519(&dev, 7);
	tkey_ed25519(&dev2, 8);
	chain = trec_chain(&dev, NREC, offs, &chain_len);
	chain2 = trec_chain(&dev2, 8, NULL, &chain2_len);
	tree_build(&tree_a, false);
	tree_build(&tree_b, true);
	if (tlog_skey_generate(ORIGIN, TLOG_ED25519, &lkey) ||
	    tlog_skey_generate(ORIGIN, TLOG_ED25519, &lkey_other) ||
	    tlog_skey_generate("certifier.example/witness", TLOG_COSIG_V1, &wkey) ||
	    tlog_skey_generate("certifier.example/witness", TLOG_COSIG_V1, &wkey_other))
		return -1;
	tlog_skey_public(&lkey, &lvkey);
	tlog_skey_public(&wkey, &wvkey);
	tlog_skey_public(&wkey_other, &wvkey_other);
	if (tlog_vkey_format(&lvkey, lvtext, sizeof(lvtext)) < 0 ||
	    tlog_vkey_format(&wvkey, wvtext, sizeof(wvtext)) < 0 ||
	    tlog_vkey_format(&wvkey_other, wvtext_other, sizeof(wvtext_other)) < 0)
		return -1;
	cert_make();
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	free(chain);
	free(chain2);
	mbedtls_x509_crt_free(&srv_crt);
	mbedtls_pk_free(&srv_pk);
	unlink(path_receipts);
	unlink(path_ca);
	unlink(path_posted);
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_wanted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_genuine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tampered_proof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fork_same_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_withheld, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_online_genuine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_online_fork, setup, teardown),
		cmocka_unit_test_setup_teardown(test_online_bad_published, setup, teardown),
		cmocka_unit_test_setup_teardown(test_witness_keygen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_witness_cosign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_witness_refused, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
