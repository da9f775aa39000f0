/* server — eco2-ledger's HTTPS API. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/abstract.h>
#include <microhttpd.h>
#include <sodium.h>

#include "lib/bytes.h"
#include "lib/file.h"
#include "lib/log.h"
#include "crypto/merkle.h"
#include "crypto/receipt.h"
#include "crypto/tlog.h"
#include "crypto/verify.h"
#include "ledger/ingest.h"
#include "ledger/limits.h"
#include "ledger/metrics.h"
#include "ledger/server.h"
#include "ledger/store.h"
#include "ledger/tree.h"

#define PEM_MAX        ((size_t)1 << 20)
#define SMALL_BODY_MAX ((size_t)64 << 10)   /* a certificate, a cosigned note */
#define PAGE_RECORDS   64                   /* records read per page of a stream */
#define RECEIPT_GET_MAX 1000                /* records one GET .../receipt covers */
#define CHAIN_MAX      8                    /* client certificates looked at */

struct lserver {
	const struct lconf *cf;
	struct lfaults f;
	lstore_t *store;
	ingest_t *ingest;
	limits_t *limits;
	struct tlog_skey log_key;
	struct tlog_vkey witness[LCONF_WITNESSES_MAX];
	size_t n_witness;
	gnutls_x509_trust_list_t client_ca, device_ca, reader_ca;
	char *cert_pem, *key_pem, *trust_pem;
	struct MHD_Daemon *d, *metrics;
	unsigned port, metrics_port;
	pthread_t checkpointer;
	bool checkpointer_started, stopping;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static struct log_ratelimit rl_httpd = LOG_RATELIMIT_INIT(10, 5);
static struct log_ratelimit rl_refuse = LOG_RATELIMIT_INIT(10, 20);
static struct log_ratelimit rl_request = LOG_RATELIMIT_INIT(1, 50);

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- answers ---------------------------------------------------------------- */

static enum MHD_Result queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *r)
{
	enum MHD_Result ret = MHD_queue_response(c, status, r);

	MHD_destroy_response(r);
	if (status < 600)
		lm_add(&ledger_metrics.status[status], 1);
	return ret;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
			     const void *body, size_t len, long retry_after)
{
	struct MHD_Response *r;

	r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (retry_after >= 0) {
		char v[24];

		snprintf(v, sizeof(v), "%ld", retry_after);
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, v);
	}
	return queue(c, status, r);
}

/* A JSON string's content: quotes, backslashes and control characters
 * escaped; anything else (UTF-8) as is. */
static size_t json_escape(char *out, size_t cap, const char *s, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 7 < cap; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\') {
			out[o++] = '\\';
			out[o++] = (char)ch;
		} else if (ch == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if (ch < 0x20) {
			o += (size_t)snprintf(out + o, cap - o, "\\u%04x", ch);
		} else {
			out[o++] = (char)ch;
		}
	}
	out[o] = '\0';
	return o;
}

static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, long retry_after,
				   const char *fmt, ...) __printf(4, 5);
static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, long retry_after,
				   const char *fmt, ...)
{
	char msg[256], body[700];
	size_t o;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o = (size_t)snprintf(body, sizeof(body), "{\"error\":\"");
	o += json_escape(body + o, sizeof(body) - o - 3, msg, strlen(msg));
	o += (size_t)snprintf(body + o, sizeof(body) - o, "\"}");
	log_rl(&rl_refuse, LOG_INFO, "event=answer status=%u why=\"%s\"", status, msg);
	return reply(c, status, "application/json", body, o, retry_after);
}

/* ---- who is asking ---------------------------------------------------------- */

struct peer {
	bool cert;               /* presented a certificate */
	bool device;             /* chains to [tls] client_ca, for TLS clients */
	bool reader;             /* chains to [tls] reader_ca */
	uint8_t kid[8];          /* device: its key's kid */
	char cn[128];            /* reader: its subject's common name */
	char addr[INET6_ADDRSTRLEN];
	uint8_t addr_key[17];    /* for the rate limit: family + address */
	size_t addr_key_len;
	const char *why;         /* why a presented certificate is neither */
};

/* SubjectPublicKeyInfo (DER) of a certificate. */
static int cert_spki(gnutls_x509_crt_t crt, gnutls_datum_t *spki)
{
	gnutls_pubkey_t pub;
	int ret;

	if (gnutls_pubkey_init(&pub) < 0)
		return -ENOMEM;
	ret = gnutls_pubkey_import_x509(pub, crt, 0);
	if (!ret)
		ret = gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, spki);
	gnutls_pubkey_deinit(pub);
	return ret < 0 ? -EINVAL : 0;
}

/* The rules a device certificate must meet, for TLS and for
 * registration: it chains to ca now, allows TLS client authentication
 * (an extended key usage extension, when there is one, lists clientAuth),
 * and allows digitalSignature (a key usage extension, when there is one,
 * lists it: the rule eco2-verify --cert applies, crypto/x509.c). */
static const char *check_chain(gnutls_x509_trust_list_t ca, gnutls_x509_crt_t *chain, unsigned n)
{
	gnutls_typed_vdata_st purpose = {
		.type = GNUTLS_DT_KEY_PURPOSE_OID,
		.data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT,
	};
	unsigned status = 0, usage = 0;
	int ku;

	if (gnutls_x509_trust_list_verify_crt2(ca, chain, n, &purpose, 1, 0, &status, NULL) < 0)
		return "cannot be verified";
	if (status & GNUTLS_CERT_PURPOSE_MISMATCH)
		return "its extended key usage does not allow TLS client authentication (clientAuth)";
	if (status & GNUTLS_CERT_EXPIRED)
		return "expired";
	if (status & GNUTLS_CERT_NOT_ACTIVATED)
		return "not yet valid";
	if (status)
		return "does not chain to a trusted CA";
	ku = gnutls_x509_crt_get_key_usage(chain[0], &usage, NULL);
	if (ku >= 0 && !(usage & GNUTLS_KEY_DIGITAL_SIGNATURE))
		return "its key usage does not allow digitalSignature";
	return NULL;
}

static void peer_identify(lserver_t *s, struct MHD_Connection *c, struct peer *p)
{
	const union MHD_ConnectionInfo *ci;
	gnutls_session_t sess;
	const gnutls_datum_t *peers;
	gnutls_x509_crt_t chain[CHAIN_MAX];
	unsigned n = 0, got = 0;

	memset(p, 0, sizeof(*p));
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;

		if (sa->sa_family == AF_INET) {
			const struct sockaddr_in *a = (const void *)sa;

			inet_ntop(AF_INET, &a->sin_addr, p->addr, sizeof(p->addr));
			p->addr_key[0] = 4;
			memcpy(p->addr_key + 1, &a->sin_addr, 4);
			p->addr_key_len = 5;
		} else if (sa->sa_family == AF_INET6) {
			const struct sockaddr_in6 *a = (const void *)sa;

			inet_ntop(AF_INET6, &a->sin6_addr, p->addr, sizeof(p->addr));
			p->addr_key[0] = 6;
			memcpy(p->addr_key + 1, &a->sin6_addr, 16);
			p->addr_key_len = 17;
		}
	}
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!ci || !ci->tls_session)
		return;
	sess = (gnutls_session_t)ci->tls_session;
	peers = gnutls_certificate_get_peers(sess, &n);
	if (!peers || !n)
		return;
	p->cert = true;
	if (n > CHAIN_MAX)
		n = CHAIN_MAX;
	for (; got < n; got++) {
		if (gnutls_x509_crt_init(&chain[got]) < 0) {
			p->why = "out of memory";
			goto out;
		}
		if (gnutls_x509_crt_import(chain[got], &peers[got], GNUTLS_X509_FMT_DER) < 0) {
			gnutls_x509_crt_deinit(chain[got]);
			p->why = "the client certificate cannot be read";
			goto out;
		}
	}
	p->why = check_chain(s->client_ca, chain, got);
	if (!p->why) {
		gnutls_datum_t spki = { NULL, 0 };
		verify_key_t *k = NULL;
		const char *why = NULL;

		if (!cert_spki(chain[0], &spki) && !verify_key_from_spki(&k, spki.data, spki.size, NULL, &why)) {
			verify_key_kid(k, p->kid);
			p->device = true;
		} else {
			p->why = "the client certificate's key is neither P-256 nor Ed25519";
		}
		verify_key_free(k);
		gnutls_free(spki.data);
	}
	if (s->reader_ca) {
		const char *why = check_chain(s->reader_ca, chain, got);
		size_t len = sizeof(p->cn) - 1;

		if (!why && gnutls_x509_crt_get_dn_by_oid(chain[0], GNUTLS_OID_X520_COMMON_NAME, 0, 0,
							   p->cn, &len) >= 0) {
			p->cn[len] = '\0';
			p->reader = true;
		} else if (!p->device && why) {
			p->why = why;
		}
	}
out:
	for (unsigned i = 0; i < got; i++)
		gnutls_x509_crt_deinit(chain[i]);
}

/* ---- requests ----------------------------------------------------------- */

enum route {
	R_NONE, R_RECORDS_POST, R_DEVICE_POST, R_HEAD, R_RECORDS_GET, R_RECEIPT_GET,
	R_CHECKPOINT, R_CONSISTENCY, R_COSIG_POST,
};

struct req {
	enum route route;
	uint64_t start_ns;
	struct peer peer;
	uint8_t kid[8];          /* the device: the client's (POST) or the URL's */
	bool entered;            /* limits_enter done for kid */
	size_t reserved;         /* body budget held */
	uint8_t *body;
	size_t len, cap;
	bool answered;           /* an answer was queued before the body */
	bool dropped;
};

/* "/v1/devices/<kid>/<rest>": the kid, strictly 16 lower-case hex digits. */
static bool url_kid(const char *url, uint8_t kid[8], const char **rest)
{
	const char *p = url + strlen("/v1/devices/");

	for (int i = 0; i < 16; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	if (p[16] != '/' || hex_decode(p, 16, kid, 8))
		return false;
	*rest = p + 16;
	return true;
}

/* A query parameter: a seq or size, decimal digits only (no sign, no
 * blank), below 2^63. -ENOENT when absent, -EINVAL when malformed. */
static int query_u63(struct MHD_Connection *c, const char *name, uint64_t *out)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
	uint64_t x = 0;
	size_t n;

	if (!v)
		return -ENOENT;
	n = strlen(v);
	if (!n || n > 19)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -EINVAL;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	if (x >= MERKLE_SIZE_MAX)
		return -EINVAL;
	*out = x;
	return 0;
}

static bool coin(double p)
{
	if (p <= 0)
		return false;
	if (p >= 1)
		return true;
	return randombytes_uniform(1000000) < (uint32_t)(p * 1000000);
}

static bool may_read(lserver_t *s, const struct peer *p, const uint8_t kid[8])
{
	return (p->device && !memcmp(p->kid, kid, 8)) ||
	       (p->reader && lconf_reader_may(s->cf, p->cn, kid));
}

/* ---- POST /v1/records ----------------------------------------------------- */

struct jbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void jput(struct jbuf *j, const char *s, size_t n)
{
	if (j->oom)
		return;
	if (j->len + n + 1 > j->cap) {
		size_t ncap = j->cap ? j->cap : 4096;
		char *np;

		while (ncap < j->len + n + 1)
			ncap *= 2;
		np = realloc(j->p, ncap);
		if (!np) {
			j->oom = true;
			return;
		}
		j->p = np;
		j->cap = ncap;
	}
	memcpy(j->p + j->len, s, n);
	j->len += n;
	j->p[j->len] = '\0';
}

static void jputf(struct jbuf *j, const char *fmt, ...) __printf(2, 3);
static void jputf(struct jbuf *j, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		jput(j, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static void jput_string(struct jbuf *j, const char *s, size_t len)
{
	char buf[1024];

	jput(j, "\"", 1);
	while (len) {
		size_t chunk = len > 128 ? 128 : len, n = json_escape(buf, sizeof(buf), s, chunk);

		jput(j, buf, n);
		s += chunk;
		len -= chunk;
	}
	jput(j, "\"", 1);
}

static enum MHD_Result post_records(lserver_t *s, struct MHD_Connection *c, struct req *rq)
{
	struct ingest_out out;
	struct jbuf j = { 0 };
	bool drop_after = false;
	size_t na = 0, nd = 0, nr = 0;
	uint64_t t0 = now_ns();
	char kh[17];
	enum MHD_Result mr;
	int ret;

	if (s->f.delay_ms)
		usleep(s->f.delay_ms * 1000u);
	if (coin(s->f.drop_rate)) {
		if (coin(0.5)) {
			log_info("fault: dropping the connection before storing");
			return MHD_NO;
		}
		drop_after = true;
	}
	if (coin(s->f.fail_rate)) {
		log_info("fault: answering %u", s->f.status);
		return reply(c, s->f.status, "application/json", "{\"error\":\"injected failure\"}",
			     28, s->f.retry_after_s);
	}
	ret = ingest_records(s->ingest, rq->body, rq->len, rq->kid, &out);
	lm_observe(&ledger_metrics.ingest, now_ns() - t0);
	if (ret == -ETIMEDOUT) {
		lm_add(&ledger_metrics.refusals[LMR_BUSY], 1);
		return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, 1, "busy: no store connection free");
	}
	if (ret)
		return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, 5, "storage failure");
	if (drop_after) {
		ingest_out_free(&out);
		log_info("fault: dropping the connection after storing");
		return MHD_NO;
	}
	jput(&j, "{\"accepted\":[", 13);
	for (size_t i = 0; i < out.n; i++)
		if (out.res[i].verdict == IV_ACCEPTED)
			jputf(&j, "%s%" PRIu64, na++ ? "," : "", out.res[i].seq);
	jput(&j, "],\"duplicate\":[", 15);
	for (size_t i = 0; i < out.n; i++)
		if (out.res[i].verdict == IV_DUPLICATE)
			jputf(&j, "%s%" PRIu64, nd++ ? "," : "", out.res[i].seq);
	jput(&j, "],\"rejected\":[", 14);
	for (size_t i = 0; i < out.n; i++) {
		if (out.res[i].verdict != IV_REJECTED)
			continue;
		jputf(&j, "%s{\"seq\":%" PRIu64 ",\"reason\":", nr++ ? "," : "", out.res[i].seq);
		jput_string(&j, out.res[i].why, strlen(out.res[i].why));
		jput(&j, "}", 1);
	}
	jput(&j, "]", 1);
	if (out.receipt) {
		jput(&j, ",\"receipt\":", 11);
		jput_string(&j, out.receipt, out.receipt_len);
	}
	jput(&j, "}", 1);
	hex_encode(rq->kid, 8, kh);
	log_rl(&rl_request, LOG_INFO, "event=ingest kid=%s accepted=%zu duplicate=%zu rejected=%zu "
	       "tree_size=%" PRIu64 " receipt_bytes=%zu ms=%.1f", kh, na, nd, nr, out.tree_size,
	       out.receipt_len, (double)(now_ns() - t0) / 1e6);
	ingest_out_free(&out);
	if (j.oom) {
		free(j.p);
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, -1, "out of memory");
	}
	if (coin(s->f.garbage_rate)) {
		size_t cut = j.len > 4 ? randombytes_uniform((uint32_t)j.len - 2) + 1 : 1;

		if (cut < j.len)
			j.p[cut] = "x]{\"0-"[randombytes_uniform(6)];
		j.len = cut + 1;
		log_info("fault: garbage answer");
	}
	/* The answer stays in memory until the client has read it: it counts
	 * against the same budget as bodies. */
	if (!limits_reserve(s->limits, j.len)) {
		free(j.p);
		lm_add(&ledger_metrics.refusals[LMR_BUSY], 1);
		return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, 1, "busy: too many answers in memory "
				   "(the records are stored: send them again)");
	}
	rq->reserved += j.len;
	{
		struct MHD_Response *r = MHD_create_response_from_buffer(j.len, j.p, MHD_RESPMEM_MUST_FREE);

		if (!r) {
			free(j.p);
			return MHD_NO;
		}
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
		mr = queue(c, MHD_HTTP_OK, r);
	}
	/* the body is not needed any more: its budget goes back now */
	free(rq->body);
	rq->body = NULL;
	limits_release(s->limits, rq->cap);
	rq->reserved -= rq->cap;
	rq->cap = 0;
	return mr;
}

/* ---- POST /v1/devices ------------------------------------------------------- */

static enum MHD_Result post_device(lserver_t *s, struct MHD_Connection *c, struct req *rq)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t in = { rq->body, (unsigned)rq->len }, der = { NULL, 0 }, spki = { NULL, 0 };
	struct lstore_device d;
	verify_key_t *k = NULL;
	lstore_conn_t *conn = NULL;
	const char *why = NULL;
	char kh[17], body[64];
	enum MHD_Result mr;
	int ret;

	if (gnutls_x509_crt_init(&crt) < 0)
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, -1, "out of memory");
	if (!rq->len || (gnutls_x509_crt_import(crt, &in, GNUTLS_X509_FMT_PEM) < 0 &&
			 gnutls_x509_crt_import(crt, &in, GNUTLS_X509_FMT_DER) < 0)) {
		mr = reply_error(c, MHD_HTTP_BAD_REQUEST, -1, "body is not an X.509 certificate (PEM or DER)");
		goto out;
	}
	why = check_chain(s->device_ca, &crt, 1);
	if (why) {
		mr = reply_error(c, MHD_HTTP_FORBIDDEN, -1, "device certificate: %s", why);
		goto out;
	}
	if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der) < 0 || cert_spki(crt, &spki) ||
	    verify_key_from_spki(&k, spki.data, spki.size, NULL, &why)) {
		mr = reply_error(c, MHD_HTTP_BAD_REQUEST, -1, "the certificate's key is neither P-256 nor Ed25519");
		goto out;
	}
	memset(&d, 0, sizeof(d));
	verify_key_kid(k, d.kid);
	d.alg = verify_key_alg(k);
	d.pub_len = verify_key_raw(k, d.pub);
	ret = lstore_get(s->store, &conn);
	if (!ret) {
		ret = LSTORE_CALL(conn, device_put, &d, spki.data, spki.size, der.data, der.size,
				  (int64_t)time(NULL));
		lstore_put(s->store, conn, ret == -EIO);
	}
	hex_encode(d.kid, 8, kh);
	if (ret == -EEXIST) {
		mr = reply_error(c, MHD_HTTP_CONFLICT, -1, "kid %s is registered with another key", kh);
		goto out;
	}
	if (ret < 0) {
		mr = reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, 5, "storage failure");
		goto out;
	}
	log_info("event=register kid=%s new=%s", kh, ret ? "no" : "yes");
	snprintf(body, sizeof(body), "{\"kid\":\"%s\"}", kh);
	mr = reply(c, ret ? MHD_HTTP_OK : MHD_HTTP_CREATED, "application/json", body, strlen(body), -1);
out:
	verify_key_free(k);
	gnutls_free(der.data);
	gnutls_free(spki.data);
	gnutls_x509_crt_deinit(crt);
	return mr;
}

/* ---- GET /v1/devices/<kid>/... ----------------------------------------------- */

static enum MHD_Result get_head(lserver_t *s, struct MHD_Connection *c, struct req *rq)
{
	lstore_conn_t *conn;
	struct lstore_device d;
	uint64_t seq = 0;
	uint8_t hash[32];
	char hh[65], body[128];
	int ret = lstore_get(s->store, &conn);

	if (ret)
		return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, 1, "busy");
	ret = LSTORE_CALL(conn, device_get, rq->kid, &d);
	if (!ret)
		ret = LSTORE_CALL(conn, head, rq->kid, &seq, hash);
	lstore_put(s->store, conn, ret == -EIO);
	if (ret == -ENOENT)
		return reply_error(c, MHD_HTTP_NOT_FOUND, -1, "unknown device");
	if (ret)
		return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, 5, "storage failure");
	hex_encode(hash, 32, hh);
	snprintf(body, sizeof(body), "{\"seq\":%" PRIu64 ",\"hash\":\"%s\"}", seq, hh);
	return reply(c, MHD_HTTP_OK, "application/json", body, strlen(body), -1);
}

/* The records of a device, read a page at a time as the client takes
 * them: one page in memory per reader, whatever the chain's length. */
struct stream {
	lserver_t *s;
	uint8_t kid[8];
	uint64_t next;
	uint8_t *buf;
	size_t len, pos, cap;
	bool done;
	uint64_t deadline_ns;
};

static int on_record(void *ctx, uint64_t seq, const uint8_t *cose, size_t len)
{
	struct stream *st = ctx;

	if (st->len + len > st->cap) {
		size_t ncap = st->cap ? st->cap * 2 : 32768;
		uint8_t *nb;

		while (ncap < st->len + len)
			ncap *= 2;
		nb = realloc(st->buf, ncap);
		if (!nb)
			return -ENOMEM;
		st->buf = nb;
		st->cap = ncap;
	}
	memcpy(st->buf + st->len, cose, len);
	st->len += len;
	st->next = seq + 1;
	return 0;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *st = cls;
	size_t n;

	(void)pos;
	if (now_ns() > st->deadline_ns) {
		lm_add(&ledger_metrics.refusals[LMR_DEADLINE], 1);
		return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	if (st->pos == st->len) {
		lstore_conn_t *conn;
		int ret;

		if (st->done)
			return MHD_CONTENT_READER_END_OF_STREAM;
		st->pos = st->len = 0;
		if (lstore_get(st->s->store, &conn))
			return MHD_CONTENT_READER_END_WITH_ERROR;
		ret = LSTORE_CALL(conn, records, st->kid, st->next, PAGE_RECORDS, on_record, st);
		lstore_put(st->s->store, conn, ret == -EIO);
		if (ret)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (st->len < 1)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (st->next >= MERKLE_SIZE_MAX)
			st->done = true;
	}
	n = st->len - st->pos < max ? st->len - st->pos : max;
	memcpy(buf, st->buf + st->pos, n);
	st->pos += n;
	return (ssize_t)n;
}

static void stream_free(void *cls)
{
	struct stream *st = cls;

	free(st->buf);
	free(st);
}

static enum MHD_Result get_records(lserver_t *s, struct MHD_Connection *c, struct req *rq)
{
	struct stream *st;
	struct MHD_Response *r;
	struct lstore_device d;
	lstore_conn_t *conn;
	uint64_t from = 1;
	int ret = query_u63(c, "from", &from);

	if (ret == -EINVAL)
		return reply_error(c, MHD_HTTP_BAD_REQUEST, -1, "from: expected a seq (decimal digits, below 2^63)");
	ret = lstore_get(s->store, &conn);
	if (ret)
		return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, 1, "busy");
	ret = LSTORE_CALL(conn, device_get, rq->kid, &d);
	lstore_put(s->store, conn, ret == -EIO);
	if (ret == -ENOENT)
		return reply_error(c, MHD_HTTP_NOT_FOUND, -1, "unknown device");
	if (ret)
		return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, 5, "storage failure");
	st = calloc(1, sizeof(*st));
	if (!st)
		return MHD_NO;
	st->s = s;
	memcpy(st->kid, rq->kid, 8);
	st->next = from;
	st->deadline_ns = now_ns() + (uint64_t)s->cf->response_timeout_s * 1000000000u;
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_read, st, stream_free);
	if (!r) {
		stream_free(st);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/cbor-seq");
	return queue(c, MHD_HTTP_OK, r);
}

struct seq_leaf {
	struct receipt_entry *e;
	size_t n, cap;
};

static int on_leaf(void *ctx, uint64_t seq, const uint8_t hash[32], uint64_t leaf)
{
	struct seq_leaf *sl = ctx;

	(void)hash;
	if (sl->n == sl->cap)
		return -ENOSPC;
	sl->e[sl->n].seq = seq;
	sl->e[sl->n].index = leaf;
	sl->n++;
	return 0;
}

/* A receipt for seqs from..to of a device against the tree now: proofs
 * from stored subtrees, a checkpoint signed on demand. */
static enum MHD_Result get_receipt(lserver_t *s, struct MHD_Connection *c, struct req *rq)
{
	struct seq_leaf sl = { 0 };
	merkle_hash_t *h = NULL;
	lstore_conn_t *conn = NULL;
	struct lstore_device d;
	uint64_t from = 1, to = 0, head, size;
	uint8_t hh[32], root[32];
	char note[LSTORE_NOTE_MAX], *text = NULL;
	size_t note_len, text_len, nh = 0;
	enum MHD_Result mr;
	int rf = query_u63(c, "from", &from), rt = query_u63(c, "to", &to), ret;

	if (rf == -EINVAL || rt == -EINVAL)
		return reply_error(c, MHD_HTTP_BAD_REQUEST, -1, "from, to: expected seqs (decimal digits, below 2^63)");
	if (!from)
		from = 1;
	ret = lstore_get(s->store, &conn);
	if (ret)
		return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, 1, "busy");
	ret = LSTORE_CALL(conn, device_get, rq->kid, &d);
	if (!ret)
		ret = LSTORE_CALL(conn, head, rq->kid, &head, hh);
	if (ret == -ENOENT) {
		mr = reply_error(c, MHD_HTTP_NOT_FOUND, -1, "unknown device");
		goto out;
	}
	if (ret)
		goto fail;
	if (rt == -ENOENT || to > head)
		to = head;
	if (from > to) {
		mr = reply_error(c, MHD_HTTP_NOT_FOUND, -1, "no stored record in seqs %" PRIu64 "..%" PRIu64,
				 from, to);
		goto out;
	}
	if (to - from >= RECEIPT_GET_MAX) {
		mr = reply_error(c, MHD_HTTP_BAD_REQUEST, -1, "at most %d records per receipt", RECEIPT_GET_MAX);
		goto out;
	}
	sl.cap = (size_t)(to - from + 1);
	sl.e = calloc(sl.cap, sizeof(*sl.e));
	if (!sl.e)
		goto fail;
	ret = LSTORE_CALL(conn, hashes, rq->kid, from, to, on_leaf, &sl);
	if (!ret)
		ret = LSTORE_CALL(conn, tree_size, &size);
	if (ret || !sl.n)
		goto fail;
	{
		uint64_t t0 = now_ns();

		struct ltree_memo memo = { .next = lstore_node_cached, .next_ctx = conn };
		uint64_t lo = UINT64_MAX, hi = 0;

		h = malloc(sl.n * MERKLE_PROOF_MAX * sizeof(*h));
		if (!h)
			goto fail;
		for (size_t i = 0; i < sl.n; i++) {
			lo = sl.e[i].index < lo ? sl.e[i].index : lo;
			hi = sl.e[i].index > hi ? sl.e[i].index : hi;
		}
		ret = ltree_memo_fill(&memo, conn, lo, hi, size);
		for (size_t i = 0; !ret && i < sl.n; i++) {
			sl.e[i].first = nh;
			ret = merkle_inclusion_proof(ltree_memo_node, &memo, sl.e[i].index, size, h + nh,
						     &sl.e[i].n);
			if (ret)
				break;
			nh += sl.e[i].n;
		}
		ltree_memo_free(&memo);
		if (ret)
			goto fail;
		ret = ltree_root(conn, size, root);
		if (!ret)
			ret = ltree_sign(&s->log_key, size, root, note, sizeof(note), &note_len);
		if (!ret)
			ret = receipt_format(rq->kid, sl.e, sl.n, h, note, note_len, &text, &text_len);
		if (ret)
			goto fail;
		lm_add(&ledger_metrics.checkpoints, 1);
		lm_observe(&ledger_metrics.proof, now_ns() - t0);
	}
	mr = reply(c, MHD_HTTP_OK, "text/plain; charset=utf-8", text, text_len, -1);
	goto out;
fail:
	mr = reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, 5, "storage failure");
	ret = -EIO;
out:
	lstore_put(s->store, conn, ret == -EIO);
	free(sl.e);
	free(h);
	free(text);
	return mr;
}

/* ---- the log: checkpoints, consistency, cosignatures ------------------------- */

struct lines {
	char *p;
	size_t len, cap;
};

static int on_line(void *ctx, const char *line, size_t len)
{
	struct lines *l = ctx;

	if (l->len + len + 1 > l->cap)
		return -ENOSPC;
	memcpy(l->p + l->len, line, len);
	l->len += len;
	l->p[l->len] = '\0';
	return 0;
}

static enum MHD_Result get_checkpoint(lserver_t *s, struct MHD_Connection *c)
{
	char note[LSTORE_NOTE_MAX + 8192];
	struct lines l = { note, 0, sizeof(note) };
	lstore_conn_t *conn;
	uint64_t size;
	int ret = lstore_get(s->store, &conn);

	if (ret)
		return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, 1, "busy");
	ret = LSTORE_CALL(conn, checkpoint_latest, &size, note, LSTORE_NOTE_MAX, &l.len);
	if (!ret)
		ret = LSTORE_CALL(conn, cosigs, size, on_line, &l);
	lstore_put(s->store, conn, ret == -EIO);
	if (ret == -ENOENT)
		return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, 1, "no checkpoint signed yet");
	if (ret)
		return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, 5, "storage failure");
	return reply(c, MHD_HTTP_OK, "text/plain; charset=utf-8", note, l.len, -1);
}

static enum MHD_Result get_consistency(lserver_t *s, struct MHD_Connection *c)
{
	merkle_hash_t p[MERKLE_PROOF_MAX];
	char body[MERKLE_PROOF_MAX * 46 + 1];
	lstore_conn_t *conn;
	uint64_t first, second, size;
	size_t n = 0, o = 0;
	int ret;

	if (query_u63(c, "first", &first) || query_u63(c, "second", &second))
		return reply_error(c, MHD_HTTP_BAD_REQUEST, -1,
				   "first, second: expected tree sizes (decimal digits, below 2^63)");
	if (first > second)
		return reply_error(c, MHD_HTTP_BAD_REQUEST, -1, "first is larger than second");
	ret = lstore_get(s->store, &conn);
	if (ret)
		return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, 1, "busy");
	ret = LSTORE_CALL(conn, tree_size, &size);
	if (!ret && second > size) {
		lstore_put(s->store, conn, false);
		return reply_error(c, MHD_HTTP_BAD_REQUEST, -1, "second (%" PRIu64 ") is beyond the tree (%" PRIu64 ")",
				   second, size);
	}
	if (!ret) {
		uint64_t t0 = now_ns();

		ret = merkle_consistency_proof(lstore_node_cached, conn, first, second, p, &n);
		lm_observe(&ledger_metrics.proof, now_ns() - t0);
	}
	lstore_put(s->store, conn, ret == -EIO);
	if (ret)
		return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, 5, "storage failure");
	for (size_t i = 0; i < n; i++) {
		o += (size_t)tlog_b64_encode(p[i], 32, body + o, sizeof(body) - o);
		body[o++] = '\n';
	}
	return reply(c, MHD_HTTP_OK, "text/plain; charset=utf-8", body, o, -1);
}

/* A witness's cosignature of a published checkpoint: kept and served with
 * it (GET /v1/checkpoint). Only lines of the configured witness keys that
 * verify over a checkpoint this ledger stored are kept. */
static enum MHD_Result post_cosignature(lserver_t *s, struct MHD_Connection *c, struct req *rq)
{
	const char *msg = (const char *)rq->body, *why = NULL;
	struct tlog_note nt;
	struct tlog_checkpoint ck;
	char stored[LSTORE_NOTE_MAX];
	lstore_conn_t *conn;
	size_t slen = 0, kept = 0;
	int ret;

	if (!s->n_witness)
		return reply_error(c, MHD_HTTP_NOT_FOUND, -1, "this ledger has no witnesses configured");
	ret = tlog_note_open(msg, rq->len, s->witness, s->n_witness, &nt, &why);
	if (ret == -ENOKEY || ret == -EKEYREJECTED)
		return reply_error(c, MHD_HTTP_FORBIDDEN, -1, "%s", why);
	if (ret || tlog_checkpoint_parse(msg, nt.text_len, &ck, &why))
		return reply_error(c, MHD_HTTP_BAD_REQUEST, -1, "%s", why ? why : "not a checkpoint");
	ret = lstore_get(s->store, &conn);
	if (ret)
		return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, 1, "busy");
	ret = LSTORE_CALL(conn, checkpoint_get, ck.size, stored, sizeof(stored), &slen);
	if (ret == -ENOENT || (!ret && (slen < nt.text_len + 1 || memcmp(stored, msg, nt.text_len) ||
					stored[nt.text_len] != '\n'))) {
		lstore_put(s->store, conn, false);
		return reply_error(c, MHD_HTTP_CONFLICT, -1, "not a checkpoint this ledger published");
	}
	/* the first line of each verified witness */
	for (size_t k = 0; !ret && k < s->n_witness; k++) {
		size_t nl = strlen(s->witness[k].name);

		if (!(nt.verified & (1u << k)))
			continue;
		for (size_t p = nt.sigs_off; p < rq->len;) {
			const char *line = msg + p, *end = memchr(line, '\n', rq->len - p);

			if (!strncmp(line + 4, s->witness[k].name, nl) && line[4 + nl] == ' ') {
				ret = LSTORE_CALL(conn, cosig_put, ck.size, s->witness[k].name, line,
						  (size_t)(end - line) + 1);
				kept++;
				break;
			}
			p = (size_t)(end - msg) + 1;
		}
	}
	lstore_put(s->store, conn, ret == -EIO);
	if (ret)
		return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, 5, "storage failure");
	log_info("event=cosignature size=%" PRIu64 " witnesses=%zu", ck.size, kept);
	return reply(c, MHD_HTTP_OK, "text/plain; charset=utf-8", stored, slen, -1);
}

/* Sign and store a checkpoint of the tree as it is, when it grew: after
 * checking that the stored tree is consistent with the last checkpoint
 * (a ledger never signs two histories). */
static void publish(lserver_t *s)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(60, 2);
	lstore_conn_t *conn;
	uint64_t size, last = 0;
	uint8_t root[32];
	char note[LSTORE_NOTE_MAX];
	size_t len;
	int ret;
	bool have_last;

	if (lstore_get(s->store, &conn))
		return;
	ret = LSTORE_CALL(conn, tree_size, &size);
	if (ret)
		goto out;
	ret = LSTORE_CALL(conn, checkpoint_latest, &last, note, sizeof(note), &len);
	have_last = !ret;
	if (ret && ret != -ENOENT)
		goto out;
	ret = 0;
	if (have_last && last >= size)
		goto out;
	ret = ltree_root(conn, size, root);
	if (ret)
		goto out;
	if (have_last) {
		struct tlog_note nt;
		struct tlog_vkey vk;
		struct tlog_checkpoint old;
		merkle_hash_t p[MERKLE_PROOF_MAX];
		size_t n;

		tlog_skey_public(&s->log_key, &vk);
		if (tlog_note_open(note, len, &vk, 1, &nt, NULL) ||
		    tlog_checkpoint_parse(note, nt.text_len, &old, NULL) ||
		    merkle_consistency_proof(lstore_node_cached, conn, old.size, size, p, &n) ||
		    merkle_verify_consistency(old.size, size, old.root, root, p, n)) {
			log_rl(&rl, LOG_ERR, "event=checkpoint size=%" PRIu64 " msg=\"the stored tree is not "
			       "consistent with checkpoint %" PRIu64 " signed before: not signing\"", size, last);
			ret = -EBADMSG;
			goto out;
		}
	}
	ret = ltree_sign(&s->log_key, size, root, note, sizeof(note), &len);
	if (!ret)
		ret = LSTORE_CALL(conn, checkpoint_put, size, root, note, len, (int64_t)time(NULL));
	if (!ret) {
		lm_add(&ledger_metrics.checkpoints, 1);
		atomic_store_explicit(&ledger_metrics.tree_size, size, memory_order_relaxed);
		log_info("event=checkpoint size=%" PRIu64, size);
	}
	if (ret == 1)
		ret = 0;
out:
	lstore_put(s->store, conn, ret == -EIO);
}

static void *checkpointer(void *arg)
{
	lserver_t *s = arg;

	pthread_mutex_lock(&s->mu);
	while (!s->stopping) {
		struct timespec until;

		pthread_mutex_unlock(&s->mu);
		publish(s);
		pthread_mutex_lock(&s->mu);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += s->cf->checkpoint_interval_s;
		while (!s->stopping && pthread_cond_timedwait(&s->cv, &s->mu, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* ---- the handler ---------------------------------------------------------------- */

static enum route route_of(const char *method, const char *url, uint8_t kid[8], bool *bad_kid)
{
	bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD"), post = !strcmp(method, "POST");
	const char *rest;

	*bad_kid = false;
	if (post && !strcmp(url, "/v1/records"))
		return R_RECORDS_POST;
	if (post && !strcmp(url, "/v1/devices"))
		return R_DEVICE_POST;
	if (post && !strcmp(url, "/v1/checkpoint/cosignature"))
		return R_COSIG_POST;
	if (get && !strcmp(url, "/v1/checkpoint"))
		return R_CHECKPOINT;
	if (get && !strcmp(url, "/v1/proof/consistency"))
		return R_CONSISTENCY;
	if (get && !strncmp(url, "/v1/devices/", 12)) {
		if (!url_kid(url, kid, &rest)) {
			*bad_kid = true;
			return R_NONE;
		}
		if (!strcmp(rest, "/head"))
			return R_HEAD;
		if (!strcmp(rest, "/records"))
			return R_RECORDS_GET;
		if (!strcmp(rest, "/receipt"))
			return R_RECEIPT_GET;
	}
	return R_NONE;
}

/* The first call, with the headers and nothing of the body: everything
 * that can refuse a request is decided here. NULL: go on and read the
 * body; otherwise the answer was queued (its result). */
static enum MHD_Result admit(lserver_t *s, struct MHD_Connection *c, struct req *rq,
			     const char *method, const char *url, bool *answered)
{
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	unsigned retry = 1;
	size_t max = 0, want = 0;
	bool bad_kid;

	*answered = true;
	rq->route = route_of(method, url, rq->kid, &bad_kid);
	peer_identify(s, c, &rq->peer);
	if (!limits_take(s->limits, rq->peer.addr_key, rq->peer.addr_key_len, rq->start_ns, &retry)) {
		lm_add(&ledger_metrics.refusals[LMR_RATE], 1);
		return reply_error(c, MHD_HTTP_TOO_MANY_REQUESTS, retry, "too many requests from %s", rq->peer.addr);
	}
	if (bad_kid)
		return reply_error(c, MHD_HTTP_NOT_FOUND, -1, "kid: expected /v1/devices/<16 lower-case hex digits>/...");
	switch (rq->route) {
	case R_NONE:
		return reply_error(c, MHD_HTTP_NOT_FOUND, -1, "no such resource");
	case R_RECORDS_POST:
		if (!rq->peer.device) {
			lm_add(&ledger_metrics.refusals[LMR_CERT], 1);
			return reply_error(c, MHD_HTTP_FORBIDDEN, -1, "%s",
					   !rq->peer.cert ? "client certificate required (mTLS)" :
					   rq->peer.why ? rq->peer.why : "client certificate refused");
		}
		memcpy(rq->kid, rq->peer.kid, 8);
		max = s->cf->body_max;
		break;
	case R_DEVICE_POST:
	case R_COSIG_POST:
		max = SMALL_BODY_MAX;
		break;
	case R_HEAD:
	case R_RECORDS_GET:
	case R_RECEIPT_GET:
		if (!may_read(s, &rq->peer, rq->kid)) {
			lm_add(&ledger_metrics.refusals[LMR_CERT], 1);
			return reply_error(c, MHD_HTTP_FORBIDDEN, -1, "%s",
					   !rq->peer.cert ? "reading a device's records needs a client certificate "
							    "(the device's, or an authorised certifier's)" :
					   "this client certificate may not read this device");
		}
		break;
	case R_CHECKPOINT:
	case R_CONSISTENCY:
		break;
	}
	if (max) {
		char *end;
		unsigned long long v;

		if (!cl || *cl < '0' || *cl > '9') {
			lm_add(&ledger_metrics.refusals[LMR_LENGTH], 1);
			return reply_error(c, MHD_HTTP_LENGTH_REQUIRED, -1, "Content-Length required");
		}
		errno = 0;
		v = strtoull(cl, &end, 10);
		if (errno || *end || v > max) {
			lm_add(&ledger_metrics.refusals[LMR_TOO_LARGE], 1);
			return reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, -1, "body larger than %zu bytes", max);
		}
		want = (size_t)v;
		if (rq->route == R_RECORDS_POST) {
			if (!limits_take(s->limits, rq->kid, 8, rq->start_ns, &retry)) {
				lm_add(&ledger_metrics.refusals[LMR_RATE], 1);
				return reply_error(c, MHD_HTTP_TOO_MANY_REQUESTS, retry, "too many requests from this device");
			}
			if (!limits_enter(s->limits, rq->kid)) {
				lm_add(&ledger_metrics.refusals[LMR_BUSY], 1);
				return reply_error(c, MHD_HTTP_TOO_MANY_REQUESTS, 1,
						   "this device has a request in progress");
			}
			rq->entered = true;
		}
		if (!limits_reserve(s->limits, want)) {
			lm_add(&ledger_metrics.refusals[LMR_BUSY], 1);
			return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, 1, "busy: too many bodies in memory");
		}
		rq->reserved = want;
		rq->cap = want;
		rq->body = malloc(want ? want : 1);
		if (!rq->body)
			return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, 1, "out of memory");
	}
	*answered = false;
	return MHD_YES;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload_data,
			       size_t *upload_size, void **con_cls)
{
	lserver_t *s = cls;
	struct req *rq = *con_cls;

	(void)version;
	if (!rq) {
		enum MHD_Result mr;
		bool answered;

		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		rq->start_ns = now_ns();
		mr = admit(s, c, rq, method, url, &answered);
		rq->answered = answered;
		return mr;
	}
	if (rq->answered) {
		/* refused before its body: whatever comes is not read */
		*upload_size = 0;
		return MHD_YES;
	}
	if (*upload_size) {
		if (now_ns() - rq->start_ns > (uint64_t)s->cf->request_timeout_s * 1000000000u) {
			lm_add(&ledger_metrics.refusals[LMR_DEADLINE], 1);
			log_rl(&rl_refuse, LOG_INFO, "event=drop addr=%s why=\"the request took longer than %u s\"",
			       rq->peer.addr, s->cf->request_timeout_s);
			rq->dropped = true;
			return MHD_NO;
		}
		if (*upload_size > rq->cap - rq->len) {
			rq->answered = true;
			*upload_size = 0;
			return reply_error(c, MHD_HTTP_BAD_REQUEST, -1, "body longer than its Content-Length");
		}
		memcpy(rq->body + rq->len, upload_data, *upload_size);
		rq->len += *upload_size;
		*upload_size = 0;
		return MHD_YES;
	}
	switch (rq->route) {
	case R_RECORDS_POST:
		return post_records(s, c, rq);
	case R_DEVICE_POST:
		return post_device(s, c, rq);
	case R_COSIG_POST:
		return post_cosignature(s, c, rq);
	case R_HEAD:
		return get_head(s, c, rq);
	case R_RECORDS_GET:
		return get_records(s, c, rq);
	case R_RECEIPT_GET:
		return get_receipt(s, c, rq);
	case R_CHECKPOINT:
		return get_checkpoint(s, c);
	case R_CONSISTENCY:
		return get_consistency(s, c);
	default:
		return reply_error(c, MHD_HTTP_NOT_FOUND, -1, "no such resource");
	}
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	lserver_t *s = cls;
	struct req *rq = *con_cls;

	(void)c;
	(void)toe;
	if (!rq)
		return;
	if (rq->reserved)
		limits_release(s->limits, rq->reserved);
	if (rq->entered)
		limits_leave(s->limits, rq->kid);
	free(rq->body);
	free(rq);
	*con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	(void)cls;
	(void)c;
	(void)socket_context;
	atomic_fetch_add_explicit(&ledger_metrics.connections, code == MHD_CONNECTION_NOTIFY_STARTED ? 1 : -1,
				  memory_order_relaxed);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	log_rl(&rl_httpd, LOG_INFO, "event=httpd msg=\"%s\"", buf);
}

/* ---- metrics ---------------------------------------------------------------------- */

static enum MHD_Result metrics_handler(void *cls, struct MHD_Connection *c, const char *url,
				       const char *method, const char *version, const char *upload_data,
				       size_t *upload_size, void **con_cls)
{
	struct MHD_Response *r;
	enum MHD_Result mr;
	char *text;
	size_t len;

	(void)cls;
	(void)version;
	(void)upload_data;
	(void)upload_size;
	(void)con_cls;
	if (strcmp(method, "GET") || strcmp(url, "/metrics")) {
		r = MHD_create_response_from_buffer(10, (void *)"not found\n", MHD_RESPMEM_PERSISTENT);
		mr = MHD_queue_response(c, MHD_HTTP_NOT_FOUND, r);
		MHD_destroy_response(r);
		return mr;
	}
	if (lm_render(&text, &len))
		return MHD_NO;
	r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; version=0.0.4");
	mr = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return mr;
}

/* ---- start and stop --------------------------------------------------------------- */

static int parse_listen(const char *s, struct sockaddr_storage *ss)
{
	char host[64];
	const char *colon;
	char *end;
	unsigned long port;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		hl = (size_t)(rb - s - 1);
		colon = rb + 1;
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, hl);
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		hl = (size_t)(colon - s);
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, s, hl);
	}
	host[hl] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port > 65535 || colon[1] < '0' || colon[1] > '9')
		return -EINVAL;
	{
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
			a4->sin_family = AF_INET;
			a4->sin_port = htons((uint16_t)port);
			return 0;
		}
		if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
			a6->sin6_family = AF_INET6;
			a6->sin6_port = htons((uint16_t)port);
			return 0;
		}
	}
	return -EINVAL;
}

static int load_trust(const char *what, const char *path, gnutls_x509_trust_list_t *out)
{
	if (gnutls_x509_trust_list_init(out, 0) < 0)
		return -ENOMEM;
	if (gnutls_x509_trust_list_add_trust_file(*out, path, NULL, GNUTLS_X509_FMT_PEM, 0, 0) <= 0) {
		log_err("%s %s: no CA certificate could be read", what, path);
		return -EINVAL;
	}
	return 0;
}

static int load_log_key(lserver_t *s, const char *path)
{
	char *text = NULL;
	size_t len;
	const char *why = NULL;
	int ret = file_read(path, 4096, FILE_PRIVATE, "log key", &text, &len);

	if (ret)
		return ret;
	ret = tlog_skey_parse(text, len, &s->log_key, &why);
	sodium_memzero(text, len);
	free(text);
	if (ret) {
		log_err("log key %s: %s", path, why);
		return ret;
	}
	if (s->log_key.type != TLOG_ED25519) {
		log_err("log key %s: a log signs with an Ed25519 note key (type 0x01), not a witness key", path);
		return -EINVAL;
	}
	return 0;
}

/* Everything lserver_start and --check-config load. */
static int load(lserver_t *s, const struct lconf *cf)
{
	struct sockaddr_storage ss;
	size_t len, l2;
	char *reader_pem = NULL;
	int ret;

	s->cf = cf;
	if (parse_listen(cf->listen, &ss)) {
		log_err("[server] listen %s: expected ADDR:PORT (a.b.c.d:443 or [::1]:443)", cf->listen);
		return -EINVAL;
	}
	if (cf->metrics_listen && parse_listen(cf->metrics_listen, &ss)) {
		log_err("[server] metrics %s: expected ADDR:PORT", cf->metrics_listen);
		return -EINVAL;
	}
	ret = file_read(cf->cert, PEM_MAX, 0, "certificate", &s->cert_pem, &len);
	if (!ret)
		ret = file_read(cf->key, PEM_MAX, 0, "key", &s->key_pem, &len);
	if (!ret)
		ret = file_read(cf->client_ca, PEM_MAX, 0, "client CA", &s->trust_pem, &len);
	if (!ret && cf->reader_ca) {
		ret = file_read(cf->reader_ca, PEM_MAX, 0, "reader CA", &reader_pem, &l2);
		if (!ret) {
			/* TLS asks for certificates of either CA */
			char *both = realloc(s->trust_pem, len + l2 + 2);

			if (!both) {
				ret = -ENOMEM;
			} else {
				s->trust_pem = both;
				both[len] = '\n';
				memcpy(both + len + 1, reader_pem, l2 + 1);
			}
		}
		free(reader_pem);
	}
	if (ret)
		return ret;
	ret = load_trust("[tls] client_ca", cf->client_ca, &s->client_ca);
	if (!ret)
		ret = load_trust("[tls] device_ca", cf->device_ca, &s->device_ca);
	if (!ret && cf->reader_ca)
		ret = load_trust("[tls] reader_ca", cf->reader_ca, &s->reader_ca);
	if (!ret)
		ret = load_log_key(s, cf->log_key);
	for (size_t i = 0; !ret && i < cf->n_witness; i++) {
		const char *why = NULL;

		ret = tlog_vkey_parse(cf->witness[i], strlen(cf->witness[i]), &s->witness[i], &why);
		if (!ret && s->witness[i].type != TLOG_COSIG_V1) {
			why = "a witness key is a cosignature/v1 key (type 0x04)";
			ret = -EINVAL;
		}
		if (ret)
			log_err("[log] witness %s: %s", cf->witness[i], why);
		s->n_witness++;
	}
	if (!ret) {
		struct lstore_opts so = { .url = cf->store, .connections = cf->store_connections,
					  .partitions = cf->partitions };

		ret = lstore_open(&s->store, &so);
	}
	return ret;
}

static void unload(lserver_t *s)
{
	lstore_close(s->store);
	ingest_free(s->ingest);
	limits_free(s->limits);
	if (s->client_ca)
		gnutls_x509_trust_list_deinit(s->client_ca, 1);
	if (s->device_ca)
		gnutls_x509_trust_list_deinit(s->device_ca, 1);
	if (s->reader_ca)
		gnutls_x509_trust_list_deinit(s->reader_ca, 1);
	free(s->cert_pem);
	if (s->key_pem)
		sodium_memzero(s->key_pem, strlen(s->key_pem));
	free(s->key_pem);
	free(s->trust_pem);
	tlog_skey_wipe(&s->log_key);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}

static lserver_t *alloc_server(void)
{
	lserver_t *s = calloc(1, sizeof(*s));
	pthread_condattr_t ca;

	if (!s)
		return NULL;
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	return s;
}

int lserver_check(const struct lconf *cf)
{
	lserver_t *s = alloc_server();
	int ret;

	if (!s)
		return -ENOMEM;
	ret = load(s, cf);
	unload(s);
	return ret;
}

/* The file descriptors the connection limit may use: the soft limit
 * raised to the hard one, less what the store and the process need. */
static unsigned fd_budget(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 256;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur > 128 + 64 ? (unsigned)(rl.rlim_cur - 64) : 64;
}

int lserver_start(lserver_t **out, const struct lconf *cf, const struct lfaults *f)
{
	lserver_t *s = alloc_server();
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *di;
	unsigned conns = cf->connections;
	int ret;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->f = *f;
	ret = load(s, cf);
	if (ret)
		goto fail;
	{
		struct ingest_opts io = { .store = s->store, .log_key = &s->log_key, .workers = cf->workers };
		struct limits_opts lo = { .rate = cf->rate, .burst = cf->burst,
					  .body_memory = cf->body_memory };

		ret = ingest_new(&s->ingest, &io);
		if (!ret)
			ret = limits_new(&s->limits, &lo);
		if (ret)
			goto fail;
	}
	if (conns > fd_budget()) {
		log_warn("[limits] connections %u: only %u file descriptors; limited to that", conns, fd_budget());
		conns = fd_budget();
	}
	(void)parse_listen(cf->listen, &ss);
	s->d = MHD_start_daemon(MHD_USE_TLS | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
				MHD_USE_ERROR_LOG,
				0, NULL, NULL, handler, s,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_HTTPS_MEM_CERT, s->cert_pem,
				MHD_OPTION_HTTPS_MEM_KEY, s->key_pem,
				MHD_OPTION_HTTPS_MEM_TRUST, s->trust_pem,
				MHD_OPTION_HTTPS_PRIORITIES, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2",
				MHD_OPTION_NOTIFY_COMPLETED, completed, s,
				MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
				MHD_OPTION_CONNECTION_LIMIT, conns,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, cf->connections_per_ip,
				MHD_OPTION_CONNECTION_TIMEOUT, cf->idle_timeout_s,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
				MHD_OPTION_THREAD_STACK_SIZE, (size_t)512 << 10,
				MHD_OPTION_LISTEN_BACKLOG_SIZE, 128u,
				MHD_OPTION_END);
	if (!s->d) {
		log_err("cannot listen on %s over TLS (address in use, or bad certificate/key)", cf->listen);
		ret = -EADDRINUSE;
		goto fail;
	}
	di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di ? di->port : 0;
	if (cf->metrics_listen) {
		(void)parse_listen(cf->metrics_listen, &ss);
		s->metrics = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
					      metrics_handler, NULL,
					      MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
					      MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
					      MHD_OPTION_CONNECTION_LIMIT, 16u,
					      MHD_OPTION_CONNECTION_TIMEOUT, 10u,
					      MHD_OPTION_END);
		if (!s->metrics) {
			log_err("[server] metrics %s: cannot listen", cf->metrics_listen);
			ret = -EADDRINUSE;
			goto fail;
		}
		di = MHD_get_daemon_info(s->metrics, MHD_DAEMON_INFO_BIND_PORT);
		s->metrics_port = di ? di->port : 0;
	}
	if (pthread_create(&s->checkpointer, NULL, checkpointer, s)) {
		ret = -EAGAIN;
		goto fail;
	}
	s->checkpointer_started = true;
	*out = s;
	return 0;
fail:
	lserver_stop(s);
	return ret;
}

unsigned lserver_port(const lserver_t *s)
{
	return s->port;
}

unsigned lserver_metrics_port(const lserver_t *s)
{
	return s->metrics_port;
}

void lserver_stop(lserver_t *s)
{
	if (!s)
		return;
	if (s->d)
		MHD_stop_daemon(s->d);
	if (s->metrics)
		MHD_stop_daemon(s->metrics);
	if (s->checkpointer_started) {
		pthread_mutex_lock(&s->mu);
		s->stopping = true;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->checkpointer, NULL);
	}
	unload(s);
}
