/* eco2-ledger — the reference ledger server (docs/ledger-api.md): HTTPS
 * with client-certificate authentication (libmicrohttpd + GnuTLS), SQLite
 * storage, and every record verified on ingest with crypto/verify.h.
 * A test peer with fault injection; not installed. See usage() for the
 * command line. */
#include <errno.h>
#include <ctype.h>
#include <getopt.h>
#include <pthread.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/abstract.h>
#include <microhttpd.h>
#include <sodium.h>

#include "lib/bytes.h"
#include "lib/file.h"
#include "lib/log.h"
#include "crypto/verify.h"
#include "tests/ledger/lstore.h"

#define BODY_MAX ((size_t)64 * 1024 * 1024)
#define PEM_MAX  ((size_t)1 << 20)   /* a certificate, key or CA bundle */

struct faults {
	double fail_rate;          /* answer --status instead of processing */
	unsigned status;           /* default 500 */
	long retry_after_s;        /* -1: no header */
	unsigned delay_ms;
	double drop_rate;          /* close the connection without answering */
	double garbage_rate;       /* store, then answer with a malformed body */
};

struct server {
	lstore_t *store;
	gnutls_x509_trust_list_t device_ca;
	struct faults f;
	unsigned long requests;
};

struct req {
	uint8_t *body;
	size_t len;
	bool too_big;
};

static void usage(FILE *out)
{
	fputs(
"usage: eco2-ledger --listen ADDR:PORT --cert FILE --key FILE --client-ca FILE\n"
"                   --device-ca FILE --db FILE [fault options]\n"
"\n"
"The reference ledger (docs/ledger-api.md). Serves HTTPS only, asks every\n"
"client for a certificate, verifies every record on ingest (signature,\n"
"canonical form, seq continuity, prev-hash, CO2 figure) and stores it in\n"
"SQLite. Runs in the foreground, logs to stderr, exits 0 on SIGTERM/SIGINT.\n"
"\n"
"  --listen ADDR:PORT    address to listen on (IPv4 a.b.c.d:p or [v6]:p;\n"
"                        port 0 picks a free port, printed on stderr)\n"
"  --cert FILE           server certificate chain (PEM)\n"
"  --key FILE            its private key (PEM)\n"
"  --client-ca FILE      CAs (PEM) that TLS client certificates must chain to;\n"
"                        records are accepted only from a verified client\n"
"                        certificate whose public key is the device's (kid)\n"
"  --device-ca FILE      automaker CAs (PEM) for POST /v1/devices\n"
"  --db FILE             SQLite database (created if missing)\n"
"\n"
"Fault injection (tests), each applied per POST /v1/records:\n"
"  --fail-rate P         with probability P (0..1) answer --status instead\n"
"  --status CODE         the failure status (default 500)\n"
"  --retry-after S       send Retry-After: S with the failure status\n"
"  --delay-ms N          wait N ms before answering\n"
"  --drop-connection P   with probability P close the connection without an\n"
"                        answer (half the time before storing, half after)\n"
"  --garbage P           with probability P store the records, then answer\n"
"                        200 with a malformed body\n"
"  --help                this text\n"
"\n"
"Endpoints: POST /v1/records, GET /v1/devices/KID/records?from=SEQ,\n"
"GET /v1/devices/KID/head, POST /v1/devices (docs/ledger-api.md).\n", out);
}

static bool coin(double p)
{
	if (p <= 0)
		return false;
	if (p >= 1)
		return true;
	return randombytes_uniform(1000000) < (uint32_t)(p * 1000000);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
			     const void *body, size_t len, long retry_after)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (retry_after >= 0) {
		char v[24];

		snprintf(v, sizeof(v), "%ld", retry_after);
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, v);
	}
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
	char body[320];
	size_t o = 0;

	o += (size_t)snprintf(body, sizeof(body), "{\"error\":\"");
	for (const char *p = msg; *p && o + 8 < sizeof(body); p++)
		body[o++] = *p == '"' || *p == '\\' ? '\'' : (unsigned char)*p < 0x20 ? ' ' : *p;
	o += (size_t)snprintf(body + o, sizeof(body) - o, "\"}");
	log_info("answer %u: %s", status, msg);
	return reply(c, status, "application/json", body, o, -1);
}

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

/* The kid of the connection's verified client certificate. */
static int client_kid(struct MHD_Connection *c, uint8_t kid[8], const char **why)
{
	const union MHD_ConnectionInfo *ci;
	gnutls_session_t sess;
	const gnutls_datum_t *peers;
	unsigned int n = 0, status = 0;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t spki = { NULL, 0 };
	verify_key_t *k = NULL;
	int ret = -EACCES;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!ci || !ci->tls_session) {
		*why = "not a TLS connection";
		goto out;
	}
	sess = (gnutls_session_t)ci->tls_session;
	peers = gnutls_certificate_get_peers(sess, &n);
	if (!peers || !n) {
		*why = "client certificate required (mTLS)";
		goto out;
	}
	if (gnutls_certificate_verify_peers2(sess, &status) < 0 || status) {
		*why = "client certificate does not verify against --client-ca";
		goto out;
	}
	if (gnutls_x509_crt_init(&crt) < 0 ||
	    gnutls_x509_crt_import(crt, &peers[0], GNUTLS_X509_FMT_DER) < 0 ||
	    cert_spki(crt, &spki)) {
		*why = "client certificate unreadable";
		goto out;
	}
	if (verify_key_from_spki(&k, spki.data, spki.size, NULL, why)) {
		*why = "client certificate key is neither P-256 nor Ed25519";
		goto out;
	}
	verify_key_kid(k, kid);
	ret = 0;
out:
	verify_key_free(k);
	gnutls_free(spki.data);
	if (crt)
		gnutls_x509_crt_deinit(crt);
	return ret;
}

/* Append s to a growing JSON buffer. */
struct jbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void jput(struct jbuf *j, const char *fmt, ...) __printf(2, 3);
static void jput(struct jbuf *j, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (j->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(j->p ? j->p + j->len : NULL, j->p ? j->cap - j->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			j->oom = true;
			return;
		}
		if (j->p && j->len + (size_t)n < j->cap) {
			j->len += (size_t)n;
			return;
		}
		size_t ncap = j->cap ? j->cap * 2 : 4096;
		while (ncap <= j->len + (size_t)n)
			ncap *= 2;
		char *np = realloc(j->p, ncap);
		if (!np) {
			j->oom = true;
			return;
		}
		j->p = np;
		j->cap = ncap;
	}
}

static enum MHD_Result post_records(struct server *s, struct MHD_Connection *c, struct req *rq)
{
	struct lstore_result *res = NULL;
	size_t n = 0, na = 0, nd = 0, nr = 0;
	struct jbuf j = { 0 };
	uint8_t kid[8];
	const char *why = NULL;
	bool drop_after = false, garbage;
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
	if (rq->too_big)
		return reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "body larger than 64 MiB");
	if (client_kid(c, kid, &why))
		return reply_error(c, MHD_HTTP_FORBIDDEN, why);
	ret = lstore_ingest(s->store, rq->body, rq->len, kid, &res, &n);
	if (ret)
		return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "storage failure");
	if (drop_after) {
		free(res);
		log_info("fault: dropping the connection after storing");
		return MHD_NO;
	}
	garbage = coin(s->f.garbage_rate);
	jput(&j, "{\"accepted\":[");
	for (size_t i = 0; i < n; i++)
		if (res[i].verdict == LS_ACCEPTED)
			jput(&j, "%s%" PRIu64, na++ ? "," : "", res[i].seq);
	jput(&j, "],\"duplicate\":[");
	for (size_t i = 0; i < n; i++)
		if (res[i].verdict == LS_DUPLICATE)
			jput(&j, "%s%" PRIu64, nd++ ? "," : "", res[i].seq);
	jput(&j, "],\"rejected\":[");
	for (size_t i = 0; i < n; i++) {
		if (res[i].verdict != LS_REJECTED)
			continue;
		jput(&j, "%s{\"seq\":%" PRIu64 ",\"reason\":\"", nr++ ? "," : "", res[i].seq);
		for (const char *p = res[i].reason; *p; p++)
			jput(&j, "%c", *p == '"' || *p == '\\' ? '\'' : (unsigned char)*p < 0x20 ? ' ' : *p);
		jput(&j, "\"}");
		log_info("rejected seq %" PRIu64 ": %s", res[i].seq, res[i].reason);
	}
	jput(&j, "]}");
	free(res);
	if (j.oom) {
		free(j.p);
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	}
	log_info("POST /v1/records: %zu accepted, %zu duplicate, %zu rejected", na, nd, nr);
	if (garbage) {
		/* a truncated, then corrupted acknowledgement */
		size_t cut = j.len > 4 ? randombytes_uniform((uint32_t)j.len - 2) + 1 : 1;

		if (cut < j.len)
			j.p[cut] = "x]{\"0-"[randombytes_uniform(6)];
		j.len = cut + 1;
		log_info("fault: garbage answer");
	}
	mr = reply(c, MHD_HTTP_OK, "application/json", j.p, j.len, -1);
	free(j.p);
	return mr;
}

static enum MHD_Result post_device(struct server *s, struct MHD_Connection *c, struct req *rq)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t in = { rq->body, (unsigned)rq->len }, der = { NULL, 0 }, spki = { NULL, 0 };
	unsigned int vstatus = 0;
	uint8_t kid[8];
	char kh[17], body[64];
	const char *why = NULL;
	enum MHD_Result mr;
	int ret;

	if (gnutls_x509_crt_init(&crt) < 0)
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	if (gnutls_x509_crt_import(crt, &in, GNUTLS_X509_FMT_PEM) < 0 &&
	    gnutls_x509_crt_import(crt, &in, GNUTLS_X509_FMT_DER) < 0) {
		mr = reply_error(c, MHD_HTTP_BAD_REQUEST, "body is not an X.509 certificate (PEM or DER)");
		goto out;
	}
	if (gnutls_x509_trust_list_verify_crt(s->device_ca, &crt, 1, 0, &vstatus, NULL) < 0 ||
	    vstatus) {
		gnutls_datum_t msg = { NULL, 0 };
		char text[200];

		gnutls_certificate_verification_status_print(vstatus, GNUTLS_CRT_X509, &msg, 0);
		snprintf(text, sizeof(text), "device certificate does not verify against --device-ca: %s",
			 msg.data ? (char *)msg.data : "?");
		gnutls_free(msg.data);
		mr = reply_error(c, MHD_HTTP_FORBIDDEN, text);
		goto out;
	}
	if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der) < 0 || cert_spki(crt, &spki)) {
		mr = reply_error(c, MHD_HTTP_BAD_REQUEST, "certificate unreadable");
		goto out;
	}
	ret = lstore_register(s->store, spki.data, spki.size, der.data, der.size, kid, &why);
	if (ret < 0) {
		mr = reply_error(c, ret == -EIO ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_BAD_REQUEST,
				 why ? why : "cannot register");
		goto out;
	}
	hex_encode(kid, 8, kh);
	log_info("device %s %s", kh, ret ? "already registered" : "registered");
	snprintf(body, sizeof(body), "{\"kid\":\"%s\"}", kh);
	mr = reply(c, ret ? MHD_HTTP_OK : MHD_HTTP_CREATED, "application/json", body, strlen(body), -1);
out:
	gnutls_free(der.data);
	gnutls_free(spki.data);
	gnutls_x509_crt_deinit(crt);
	return mr;
}

static enum MHD_Result get_device(struct server *s, struct MHD_Connection *c, const char *url)
{
	const char *rest = url + strlen("/v1/devices/");
	char khex[17];
	uint8_t kid[8];
	const char *slash = strchr(rest, '/');

	if (!slash || slash - rest != 16)
		return reply_error(c, MHD_HTTP_NOT_FOUND, "expected /v1/devices/<16 hex digits>/...");
	memcpy(khex, rest, 16);
	khex[16] = '\0';
	if (hex_decode(khex, strlen(khex), kid, 8))
		return reply_error(c, MHD_HTTP_NOT_FOUND, "kid: expected 16 hex digits");
	if (!strcmp(slash, "/head")) {
		uint64_t seq;
		uint8_t hash[32];
		char hh[65], body[128];

		if (lstore_head(s->store, kid, &seq, hash))
			return reply_error(c, MHD_HTTP_NOT_FOUND, "unknown device");
		hex_encode(hash, 32, hh);
		snprintf(body, sizeof(body), "{\"seq\":%" PRIu64 ",\"hash\":\"%s\"}", seq, hh);
		return reply(c, MHD_HTTP_OK, "application/json", body, strlen(body), -1);
	}
	if (!strcmp(slash, "/records")) {
		const char *from_s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "from");
		uint64_t from = 1;
		uint8_t *buf = NULL;
		size_t len = 0;
		struct MHD_Response *r;
		enum MHD_Result mr;
		int ret;

		if (from_s) {
			char *end;

			errno = 0;
			from = strtoull(from_s, &end, 10);
			if (errno || end == from_s || *end || *from_s == '-')
				return reply_error(c, MHD_HTTP_BAD_REQUEST, "from: expected a seq");
		}
		ret = lstore_records(s->store, kid, from, &buf, &len);
		if (ret == -ENOENT)
			return reply_error(c, MHD_HTTP_NOT_FOUND, "unknown device");
		if (ret)
			return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "storage failure");
		r = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
		if (!r) {
			free(buf);
			return MHD_NO;
		}
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/cbor-seq");
		mr = MHD_queue_response(c, MHD_HTTP_OK, r);
		MHD_destroy_response(r);
		return mr;
	}
	return reply_error(c, MHD_HTTP_NOT_FOUND, "no such resource");
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version,
			       const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct server *s = cls;
	struct req *rq = *con_cls;
	bool is_post = !strcmp(method, "POST");

	(void)version;
	if (!rq) {
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		return MHD_YES;
	}
	if (is_post && *upload_size) {
		if (rq->len + *upload_size > BODY_MAX) {
			rq->too_big = true;
		} else {
			uint8_t *nb = realloc(rq->body, rq->len + *upload_size);

			if (!nb)
				return MHD_NO;
			rq->body = nb;
			memcpy(rq->body + rq->len, upload_data, *upload_size);
			rq->len += *upload_size;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	s->requests++;
	if (is_post && !strcmp(url, "/v1/records"))
		return post_records(s, c, rq);
	if (is_post && !strcmp(url, "/v1/devices"))
		return post_device(s, c, rq);
	if (!strcmp(method, "GET") && !strncmp(url, "/v1/devices/", 12))
		return get_device(s, c, url);
	return reply_error(c, MHD_HTTP_NOT_FOUND, "no such resource");
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (rq) {
		free(rq->body);
		free(rq);
	}
	*con_cls = NULL;
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
	log_info("httpd: %s", buf);
}

static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sl)
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
			return -1;
		hl = (size_t)(rb - s - 1);
		colon = rb + 1;
		if (hl >= sizeof(host))
			return -1;
		memcpy(host, s + 1, hl);
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -1;
		hl = (size_t)(colon - s);
		if (hl >= sizeof(host))
			return -1;
		memcpy(host, s, hl);
	}
	host[hl] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port > 65535)
		return -1;
	{
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
			a4->sin_family = AF_INET;
			a4->sin_port = htons((uint16_t)port);
			*sl = sizeof(*a4);
			return 0;
		}
		if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
			a6->sin6_family = AF_INET6;
			a6->sin6_port = htons((uint16_t)port);
			*sl = sizeof(*a6);
			return 0;
		}
	}
	return -1;
}

static int parse_prob(const char *opt, const char *v, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(v, &end);
	if (errno || end == v || *end || !(*out >= 0 && *out <= 1)) {
		log_err("%s %s: expected a probability between 0 and 1", opt, v);
		return -1;
	}
	return 0;
}

static int parse_uint(const char *opt, const char *v, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(v, &end, 10);
	if (errno || end == v || *end || *v == '-' || *out > max) {
		log_err("%s %s: expected an integer between 0 and %lu", opt, v, max);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "listen", 1, NULL, 'l' }, { "cert", 1, NULL, 'c' }, { "key", 1, NULL, 'k' },
		{ "client-ca", 1, NULL, 'C' }, { "device-ca", 1, NULL, 'D' }, { "db", 1, NULL, 'd' },
		{ "fail-rate", 1, NULL, 'f' }, { "status", 1, NULL, 's' },
		{ "retry-after", 1, NULL, 'r' }, { "delay-ms", 1, NULL, 'w' },
		{ "drop-connection", 1, NULL, 'x' }, { "garbage", 1, NULL, 'g' },
		{ "help", 0, NULL, 'h' }, { 0 },
	};
	const char *listen = NULL, *cert = NULL, *key = NULL, *client_ca = NULL,
		   *device_ca = NULL, *db = NULL;
	struct server s = { .f = { .status = 500, .retry_after_s = -1 } };
	char *cert_pem = NULL, *key_pem = NULL, *ca_pem = NULL;
	size_t len;
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	struct MHD_Daemon *d = NULL;
	const union MHD_DaemonInfo *di;
	sigset_t set;
	unsigned long v;
	int c, sig = 0, ret = 1;

	log_open("eco2-ledger", LOG_TO_STDERR, LOG_INFO);
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'l': listen = optarg; break;
		case 'c': cert = optarg; break;
		case 'k': key = optarg; break;
		case 'C': client_ca = optarg; break;
		case 'D': device_ca = optarg; break;
		case 'd': db = optarg; break;
		case 'f': if (parse_prob("--fail-rate", optarg, &s.f.fail_rate)) return 2; break;
		case 'x': if (parse_prob("--drop-connection", optarg, &s.f.drop_rate)) return 2; break;
		case 'g': if (parse_prob("--garbage", optarg, &s.f.garbage_rate)) return 2; break;
		case 's':
			if (parse_uint("--status", optarg, 599, &v) || v < 100)
				return 2;
			s.f.status = (unsigned)v;
			break;
		case 'r':
			if (parse_uint("--retry-after", optarg, 86400, &v))
				return 2;
			s.f.retry_after_s = (long)v;
			break;
		case 'w':
			if (parse_uint("--delay-ms", optarg, 600000, &v))
				return 2;
			s.f.delay_ms = (unsigned)v;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || !listen || !cert || !key || !client_ca || !device_ca || !db) {
		log_err("--listen, --cert, --key, --client-ca, --device-ca and --db are required");
		usage(stderr);
		return 2;
	}
	if (parse_listen(listen, &ss, &sl)) {
		log_err("--listen %s: expected ADDR:PORT (a.b.c.d:443 or [::1]:443)", listen);
		return 2;
	}
	if (sodium_init() < 0 || gnutls_global_init() < 0)
		return 1;
	if (file_read(cert, PEM_MAX, 0, NULL, &cert_pem, &len) ||
	    file_read(key, PEM_MAX, 0, NULL, &key_pem, &len) ||
	    file_read(client_ca, PEM_MAX, 0, NULL, &ca_pem, &len))
		goto out;
	if (gnutls_x509_trust_list_init(&s.device_ca, 0) < 0 ||
	    gnutls_x509_trust_list_add_trust_file(s.device_ca, device_ca, NULL,
						  GNUTLS_X509_FMT_PEM, 0, 0) <= 0) {
		log_err("--device-ca %s: no CA certificate could be read", device_ca);
		goto out;
	}
	if (lstore_open(&s.store, db))
		goto out;

	/* SIGTERM/SIGINT are taken with sigwait() by this thread; block them
	 * before libmicrohttpd starts its thread so it inherits the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	d = MHD_start_daemon(MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
			     0, NULL, NULL, handler, &s,
			     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
			     MHD_OPTION_HTTPS_MEM_CERT, cert_pem,
			     MHD_OPTION_HTTPS_MEM_KEY, key_pem,
			     MHD_OPTION_HTTPS_MEM_TRUST, ca_pem,
			     MHD_OPTION_HTTPS_PRIORITIES, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2",
			     MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
			     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(1024 * 1024),
			     MHD_OPTION_END);
	if (!d) {
		log_err("cannot listen on %s over TLS (address in use, or bad certificate/key)", listen);
		goto out;
	}
	di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	log_notice("listening on %s (port %u), database %s", listen, di ? di->port : 0, db);
	while (sigwait(&set, &sig) == 0) {
		if (sig == SIGTERM || sig == SIGINT)
			break;
	}
	log_notice("signal %d: stopping after %lu requests", sig, s.requests);
	ret = 0;
out:
	if (d)
		MHD_stop_daemon(d);
	lstore_close(s.store);
	if (s.device_ca)
		gnutls_x509_trust_list_deinit(s.device_ca, 1);
	free(cert_pem);
	if (key_pem)
		sodium_memzero(key_pem, strlen(key_pem));
	free(key_pem);
	free(ca_pem);
	gnutls_global_deinit();
	return ret;
}
