/* ledger — uploads queued records over HTTPS with libcurl's multi API. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <sodium.h>

#include "lib/bytes.h"
#include "lib/file.h"
#include "lib/log.h"
#include "crypto/receipt.h"
#include "crypto/tlog.h"
#include "upload/backoff.h"
#include "upload/ledger.h"
#include "upload/ledger_resp.h"

/* A larger answer is not an acknowledgement: room for every record of a
 * batch to be rejected with a reason of a few hundred bytes, or proved by
 * a receipt entry (64 hashes at most), and for the receipt's checkpoint. */
#define RESP_BASE ((size_t)8192)
#define RESP_PER_RECORD ((size_t)3072)
#define PATH_RECORDS "/v1/records"

struct ledger {
	queue_t *q;
	CURLM *multi;
	CURL *easy;
	struct curl_slist *headers;
	char *url;                  /* base + /v1/records */
	char *base;                 /* for messages */
	size_t batch_records, batch_bytes;
	struct backoff bo;

	ledger_want_fd_fn *want_fd;
	ledger_want_timeout_fn *want_timeout;
	void *loop;

	enum ledger_state state;
	bool drained;
	int64_t curl_deadline_ms;   /* -1: none */
	int64_t backoff_deadline_ms;/* -1: none */
	long armed_ms;              /* last value given to want_timeout */

	struct queue_batch batch;   /* in flight */
	char *resp;
	size_t resp_len;
	size_t resp_max;
	bool resp_too_big;
	char errbuf[CURL_ERROR_SIZE];
	struct ledger_status st;
	struct log_ratelimit rl;

	/* Reconciling with the ledger's head (GET /v1/devices/{kid}/head). */
	bool have_kid;
	uint8_t kid[8];
	bool need_head;             /* before the next batch */
	bool head_in_flight;
	CURL *head_easy;
	struct curl_slist *head_headers;
	char *head_url;

	/* Receipts: the ledger's log key ([ledger] receipt_key). */
	bool have_key;
	struct tlog_vkey receipt_key;

	bool no_client_cert;        /* no [ledger] cert: the ledger refuses uploads */
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

/* Tell the loop when to call ledger_on_timeout(): the earlier of libcurl's
 * deadline and the end of the back-off delay. */
static void rearm(ledger_t *l)
{
	int64_t now = mono_ms(), next = -1;
	long ms;

	if (l->curl_deadline_ms >= 0)
		next = l->curl_deadline_ms;
	if (l->backoff_deadline_ms >= 0 && (next < 0 || l->backoff_deadline_ms < next))
		next = l->backoff_deadline_ms;
	ms = next < 0 ? -1 : next <= now ? 0 : (long)(next - now);
	if (l->want_timeout && (ms != l->armed_ms || ms == 0))
		l->want_timeout(ms, l->loop);
	l->armed_ms = ms;
}

static int sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	ledger_t *l = userp;
	unsigned ev = 0;

	(void)e;
	(void)socketp;
	switch (what) {
	case CURL_POLL_IN: ev = LEDGER_IN; break;
	case CURL_POLL_OUT: ev = LEDGER_OUT; break;
	case CURL_POLL_INOUT: ev = LEDGER_IN | LEDGER_OUT; break;
	default: ev = 0; break;     /* CURL_POLL_REMOVE */
	}
	if (l->want_fd)
		l->want_fd((int)s, ev, l->loop);
	return 0;
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	ledger_t *l = userp;

	(void)m;
	l->curl_deadline_ms = timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
	rearm(l);
	return 0;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userp)
{
	ledger_t *l = userp;
	size_t n = size * nmemb;
	char *nb;

	if (l->resp_len + n > l->resp_max) {
		l->resp_too_big = true;
		return 0;     /* aborts the transfer: CURLE_WRITE_ERROR */
	}
	nb = realloc(l->resp, l->resp_len + n + 1);
	if (!nb)
		return 0;
	l->resp = nb;
	memcpy(l->resp + l->resp_len, ptr, n);
	l->resp_len += n;
	l->resp[l->resp_len] = '\0';
	return n;
}

static bool starts_with(const char *s, const char *prefix)
{
	return !strncasecmp(s, prefix, strlen(prefix));
}

#define SETOPT(opt, val) do { \
		CURLcode c_ = curl_easy_setopt(l->easy, opt, val); \
		if (c_ != CURLE_OK) { \
			log_err("ledger: libcurl refused %s: %s", #opt, curl_easy_strerror(c_)); \
			ret = c_ == CURLE_NOT_BUILT_IN || c_ == CURLE_UNKNOWN_OPTION ? -ENOTSUP : -EINVAL; \
			goto out; \
		} \
	} while (0)

static int setup_easy(ledger_t *l, const struct ledger_opts *o)
{
	int ret = -ENOMEM;

	l->easy = curl_easy_init();
	if (!l->easy)
		goto out;
	SETOPT(CURLOPT_URL, l->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(CURLOPT_PROTOCOLS_STR, "https");
	SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "https");
#else
	SETOPT(CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS);
	SETOPT(CURLOPT_REDIR_PROTOCOLS, (long)CURLPROTO_HTTPS);
#endif
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
	if (o->ca)
		SETOPT(CURLOPT_CAINFO, o->ca);
	if (o->pinned_pubkey)
		SETOPT(CURLOPT_PINNEDPUBLICKEY, o->pinned_pubkey);
	l->no_client_cert = !o->cert;
	if (o->cert) {
		SETOPT(CURLOPT_SSLCERT, o->cert);
		SETOPT(CURLOPT_SSLCERTTYPE, "PEM");
	}
	if (o->key) {
		SETOPT(CURLOPT_SSLKEY, o->key);
		/* A pkcs11: URI names a key inside a token (OpenSSL builds of
		 * libcurl load the pkcs11 engine for it). */
		SETOPT(CURLOPT_SSLKEYTYPE, starts_with(o->key, "pkcs11:") ? "ENG" : "PEM");
	}
	if (o->key_pin)
		SETOPT(CURLOPT_KEYPASSWD, o->key_pin);
	if (o->proxy)
		SETOPT(CURLOPT_PROXY, o->proxy);
	SETOPT(CURLOPT_CONNECTTIMEOUT, o->connect_timeout_s > 0 ? o->connect_timeout_s : 10L);
	SETOPT(CURLOPT_TIMEOUT, o->timeout_s > 0 ? o->timeout_s : 60L);
	SETOPT(CURLOPT_LOW_SPEED_LIMIT, o->low_speed_bytes > 0 ? o->low_speed_bytes : 64L);
	SETOPT(CURLOPT_LOW_SPEED_TIME, o->low_speed_s > 0 ? o->low_speed_s : 30L);
	SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_USERAGENT, "eco2-agent/1");
	SETOPT(CURLOPT_ERRORBUFFER, l->errbuf);
	SETOPT(CURLOPT_WRITEFUNCTION, write_cb);
	SETOPT(CURLOPT_WRITEDATA, l);
	SETOPT(CURLOPT_PRIVATE, l);
	if (o->verbose)
		SETOPT(CURLOPT_VERBOSE, 1L);
	l->headers = curl_slist_append(NULL, "Content-Type: application/cbor-seq");
	if (l->headers)
		l->headers = curl_slist_append(l->headers, "Accept: application/json");
	if (l->headers)
		l->headers = curl_slist_append(l->headers, "Expect:");
	if (!l->headers) {
		ret = -ENOMEM;
		goto out;
	}
	SETOPT(CURLOPT_HTTPHEADER, l->headers);
	SETOPT(CURLOPT_POST, 1L);
	ret = 0;
out:
	return ret;
}

/* The head request: the batch handle's transport (TLS, client certificate,
 * timeouts, proxy), a GET of the device's head. */
static int setup_head(ledger_t *l)
{
	char khex[17];

	hex_encode(l->kid, sizeof(l->kid), khex);
	if (asprintf(&l->head_url, "%s/v1/devices/%s/head", l->base, khex) < 0) {
		l->head_url = NULL;
		return -ENOMEM;
	}
	l->head_easy = curl_easy_duphandle(l->easy);
	l->head_headers = curl_slist_append(NULL, "Accept: application/json");
	if (!l->head_easy || !l->head_headers ||
	    curl_easy_setopt(l->head_easy, CURLOPT_URL, l->head_url) != CURLE_OK ||
	    curl_easy_setopt(l->head_easy, CURLOPT_HTTPGET, 1L) != CURLE_OK ||
	    curl_easy_setopt(l->head_easy, CURLOPT_HTTPHEADER, l->head_headers) != CURLE_OK)
		return -ENOMEM;
	return 0;
}

static bool file_readable(const char *what, const char *path)
{
	if (!path || starts_with(path, "pkcs11:") || access(path, R_OK) == 0)
		return true;
	log_err("ledger: %s %s: %s", what, path, strerror(errno));
	return false;
}

/* The ledger's verifier key: its text, or an absolute path to a file. */
static int load_receipt_key(const char *v, struct tlog_vkey *k)
{
	char *text = NULL;
	size_t len;
	const char *why = NULL;
	int ret;

	if (v[0] == '/') {
		if (file_read(v, 4096, 0, "[ledger] receipt_key", &text, &len))
			return -EINVAL;
	} else {
		text = strdup(v);
		if (!text)
			return -ENOMEM;
		len = strlen(text);
	}
	ret = tlog_vkey_parse(text, len, k, &why);
	if (!ret && k->type != TLOG_ED25519) {
		ret = -EINVAL;
		why = "not a ledger's key (a note key of type 0x01)";
	}
	if (ret)
		log_err("[ledger] receipt_key %s: %s", v, why);
	free(text);
	return ret;
}

int ledger_open(ledger_t **out, const struct ledger_opts *o, queue_t *q)
{
	struct tlog_vkey vkey;
	ledger_t *l = NULL;
	int ret = -EINVAL;
	size_t n;

	if (!o->url || !starts_with(o->url, "https://") || !o->url[8]) {
		log_err("[ledger] url = %s: must be an https:// URL (records are never sent in clear)",
			o->url ? o->url : "(unset)");
		goto out;
	}
	if (!file_readable("[ledger] ca", o->ca) || !file_readable("[ledger] cert", o->cert) ||
	    !file_readable("[ledger] key", o->key))
		goto out;
	if (!o->cert != !o->key) {
		log_err("[ledger] cert and key: give both for client authentication, or neither");
		goto out;
	}
	if (o->receipt_key && load_receipt_key(o->receipt_key, &vkey))
		goto out;
	if (!o->receipt_key)
		log_warn("ledger: [ledger] receipt_key is not set: acknowledgements are taken on the "
			 "ledger's word, without a receipt that proves them");
	if (sodium_init() < 0) {
		ret = -EIO;
		goto out;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		ret = -EIO;
		goto out;
	}
	ret = -ENOMEM;
	l = calloc(1, sizeof(*l));
	if (!l)
		goto out;
	l->q = q;
	if (o->receipt_key) {
		l->have_key = true;
		l->receipt_key = vkey;
	}
	l->curl_deadline_ms = -1;
	l->backoff_deadline_ms = -1;
	l->armed_ms = -2;
	l->rl.interval_s = 60;
	l->rl.burst = 5;
	l->batch_records = o->batch_records ? o->batch_records : 500;
	l->batch_bytes = o->batch_bytes ? o->batch_bytes : (size_t)1024 * 1024;
	l->resp_max = RESP_BASE + l->batch_records * RESP_PER_RECORD;
	backoff_init(&l->bo, o->backoff_base_ms ? o->backoff_base_ms : 1000,
		     (o->backoff_max_s ? o->backoff_max_s : 3600) * 1000u);
	l->base = strdup(o->url);
	if (!l->base)
		goto out;
	n = strlen(l->base);
	while (n > 8 && l->base[n - 1] == '/')
		l->base[--n] = '\0';
	l->url = malloc(n + sizeof(PATH_RECORDS));
	if (!l->url)
		goto out;
	memcpy(l->url, l->base, n);
	memcpy(l->url + n, PATH_RECORDS, sizeof(PATH_RECORDS));
	ret = setup_easy(l, o);
	if (ret)
		goto out;
	if (o->have_kid) {
		l->have_kid = true;
		memcpy(l->kid, o->kid, sizeof(l->kid));
		l->need_head = true;   /* reconcile before the first batch */
		ret = setup_head(l);
		if (ret)
			goto out;
	}
	ret = -ENOMEM;
	l->multi = curl_multi_init();
	if (!l->multi)
		goto out;
	curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l);
	curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l);
	curl_multi_setopt(l->multi, CURLMOPT_MAXCONNECTS, 1L);
	*out = l;
	l = NULL;
	ret = 0;
out:
	ledger_close(l);
	return ret;
}

void ledger_close(ledger_t *l)
{
	if (!l)
		return;
	if (l->multi && l->easy && l->state == LEDGER_SENDING && !l->head_in_flight)
		curl_multi_remove_handle(l->multi, l->easy);
	if (l->multi && l->head_easy && l->head_in_flight)
		curl_multi_remove_handle(l->multi, l->head_easy);
	curl_easy_cleanup(l->head_easy);
	curl_slist_free_all(l->head_headers);
	free(l->head_url);
	curl_easy_cleanup(l->easy);
	curl_multi_cleanup(l->multi);
	curl_slist_free_all(l->headers);
	queue_batch_free(&l->batch);
	free(l->resp);
	free(l->url);
	free(l->base);
	free(l);
}

void ledger_set_loop_callbacks(ledger_t *l, ledger_want_fd_fn *want_fd,
			       ledger_want_timeout_fn *want_timeout, void *loop)
{
	l->want_fd = want_fd;
	l->want_timeout = want_timeout;
	l->loop = loop;
}

static void set_error(ledger_t *l, const char *fmt, ...) __printf(2, 3);
static void set_error(ledger_t *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->st.last_error, sizeof(l->st.last_error), fmt, ap);
	va_end(ap);
	{
		unsigned long before = l->rl.suppressed;

		log_rl(&l->rl, LOG_ERR, "ledger %s: %s", l->base, l->st.last_error);
		/* a repeat the rate limit swallowed still reaches debug logs */
		if (l->rl.suppressed != before)
			log_debug("ledger %s: %s", l->base, l->st.last_error);
	}
}

static void start_backoff(ledger_t *l, long retry_after_s)
{
	uint32_t ms;

	if (retry_after_s >= 0)
		ms = backoff_retry_after(&l->bo, (uint64_t)retry_after_s);
	else
		ms = backoff_fail(&l->bo);
	l->st.batches_failed++;
	l->st.backoff_ms = ms;
	l->state = LEDGER_BACKOFF;
	l->backoff_deadline_ms = mono_ms() + ms;
	if (l->batch.n) {
		uint64_t *seqs = malloc(l->batch.n * sizeof(*seqs));

		if (seqs) {
			for (size_t i = 0; i < l->batch.n; i++)
				seqs[i] = l->batch.items[i].seq;
			if (queue_note_failure(l->q, seqs, l->batch.n, wall_s() + (ms + 999) / 1000,
					       l->st.last_error))
				log_debug("ledger: could not note the failed attempt");
			free(seqs);
		}
	}
	log_info("ledger %s: next attempt in %u ms", l->base, ms);
	rearm(l);
}

static void send_next(ledger_t *l);

static bool in_batch(const struct queue_batch *b, uint64_t seq)
{
	size_t lo = 0, hi = b->n;

	/* items are in ascending seq order */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (b->items[mid].seq == seq)
			return true;
		if (b->items[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static const struct queue_item *batch_item(const struct queue_batch *b, uint64_t seq)
{
	size_t lo = 0, hi = b->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (b->items[mid].seq == seq)
			return &b->items[mid];
		if (b->items[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The receipt of a 200 answer against the acknowledged seqs acked[*n]:
 * signed by the ledger's key, and for each seq an inclusion proof from the
 * bytes we sent. Seqs it does not prove are dropped from acked (they stay
 * pending and are sent again); 0 with *qr describing the receipt, or
 * -EBADMSG with why (nothing may be marked). */
static int prove(ledger_t *l, const struct ledger_resp *r, uint64_t *acked, size_t *n,
		 struct queue_receipt *qr, char *why, size_t why_len)
{
	struct receipt rc;
	struct tlog_checkpoint ck;
	const char *w = NULL;
	size_t kept = 0, unproved = 0;
	uint64_t first = UINT64_MAX, last = 0, bad = 0;

	if (!r->receipt) {
		snprintf(why, why_len, "acknowledgement without a receipt");
		return -EBADMSG;
	}
	if (receipt_parse(r->receipt, r->receipt_len, &rc, &w) || rc.len != r->receipt_len) {
		snprintf(why, why_len, "unreadable receipt (%s)", w ? w : "bytes after its end");
		receipt_free(&rc);
		return -EBADMSG;
	}
	if (receipt_check(&rc, &l->receipt_key, &ck, &w)) {
		snprintf(why, why_len, "receipt refused: %s", w);
		receipt_free(&rc);
		return -EBADMSG;
	}
	for (size_t i = 0; i < *n; i++) {
		const struct receipt_entry *e = receipt_find(&rc, acked[i]);
		const struct queue_item *it = batch_item(&l->batch, acked[i]);

		if (!e || !it || receipt_check_record(&rc, (size_t)(e - rc.e), &ck, it->bytes, it->len)) {
			unproved++;
			bad = acked[i];
			continue;
		}
		acked[kept++] = acked[i];
		first = acked[i] < first ? acked[i] : first;
		last = acked[i] > last ? acked[i] : last;
	}
	receipt_free(&rc);
	if (unproved)
		log_rl(&l->rl, LOG_ERR, "ledger %s: the receipt does not prove %zu acknowledged record(s) "
		       "(seq %llu): they stay pending", l->base, unproved, (unsigned long long)bad);
	if (!kept) {
		snprintf(why, why_len, "the receipt proves none of the acknowledged records");
		return -EBADMSG;
	}
	*n = kept;
	*qr = (struct queue_receipt){ first, last, ck.size, r->receipt, r->receipt_len };
	return 0;
}

/* A 200 answer: acknowledge exactly the seqs the ledger lists. */
static void handle_ack(ledger_t *l)
{
	struct ledger_resp r;
	char err[96];
	uint64_t *acked = NULL;
	size_t n = 0;
	int ret;

	ret = ledger_resp_parse(l->resp ? l->resp : "", l->resp_len, l->batch.n, &r,
				err, sizeof(err));
	if (ret) {
		set_error(l, "unreadable acknowledgement (%s); nothing marked uploaded", err);
		start_backoff(l, -1);
		return;
	}
	acked = malloc((r.n_accepted + r.n_duplicate + 1) * sizeof(*acked));
	if (!acked) {
		ledger_resp_free(&r);
		set_error(l, "out of memory");
		start_backoff(l, -1);
		return;
	}
	for (size_t i = 0; i < r.n_accepted + r.n_duplicate; i++) {
		uint64_t s = i < r.n_accepted ? r.accepted[i] : r.duplicate[i - r.n_accepted];

		if (!in_batch(&l->batch, s)) {
			set_error(l, "acknowledgement names seq %llu, which was not sent; "
				  "nothing marked uploaded", (unsigned long long)s);
			free(acked);
			ledger_resp_free(&r);
			start_backoff(l, -1);
			return;
		}
		acked[n++] = s;
	}
	for (size_t i = 0; i < r.n_rejected; i++) {
		log_rl(&l->rl, LOG_ERR, "ledger %s: record %llu rejected: %s", l->base,
		       (unsigned long long)r.rejected[i].seq, r.rejected[i].reason);
		/* The ledger misses records the store believes it has:
		 * ask it where it stands before the next batch. */
		if (l->have_kid && !strncmp(r.rejected[i].reason, "gap", 3))
			l->need_head = true;
	}
	if (l->have_key && n) {
		struct queue_receipt qr;
		char why[200];

		ret = prove(l, &r, acked, &n, &qr, why, sizeof(why));
		if (ret) {
			set_error(l, "%s; nothing marked uploaded", why);
			free(acked);
			ledger_resp_free(&r);
			start_backoff(l, -1);
			return;
		}
		ret = queue_mark_uploaded_receipt(l->q, acked, n, &qr);
		if (!ret) {
			l->st.receipts++;
			if (qr.tree_size > l->st.tree_size)
				l->st.tree_size = qr.tree_size;
		}
	} else {
		ret = queue_mark_uploaded(l->q, acked, n);
	}
	l->st.records_duplicate += r.n_duplicate;
	l->st.records_rejected += r.n_rejected;
	if (ret) {
		set_error(l, "marking %zu records uploaded failed: %s", n, strerror(-ret));
		free(acked);
		ledger_resp_free(&r);
		start_backoff(l, -1);
		return;
	}
	l->st.records_acked += n;
	free(acked);
	if (n < l->batch.n) {
		if (r.n_rejected)
			set_error(l, "%zu of %zu records not acknowledged (first rejection: seq %llu: %s)",
				  l->batch.n - n, l->batch.n,
				  (unsigned long long)r.rejected[0].seq, r.rejected[0].reason);
		else
			set_error(l, "%zu of %zu records not acknowledged", l->batch.n - n, l->batch.n);
		ledger_resp_free(&r);
		start_backoff(l, -1);
		return;
	}
	ledger_resp_free(&r);
	l->st.batches_ok++;
	l->st.last_error[0] = '\0';
	backoff_reset(&l->bo);
	log_debug("ledger %s: %zu records acknowledged", l->base, n);
	queue_batch_free(&l->batch);
	send_next(l);
}

static void printable(char *dst, size_t dst_len, const char *src, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 1 < dst_len; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[o++] = c >= 0x20 && c < 0x7f ? (char)c : ' ';
	}
	dst[o] = '\0';
}

static void transfer_done(ledger_t *l, CURLcode res)
{
	long code = 0, retry_after = -1;
	curl_off_t ra = -1;

	curl_multi_remove_handle(l->multi, l->easy);
	curl_easy_getinfo(l->easy, CURLINFO_RESPONSE_CODE, &code);
	l->st.last_http_status = code;
	if (res != CURLE_OK) {
		/* The ledger refuses a body sent without a client certificate
		 * before reading it (HTTP 403); a client still sending may see
		 * the connection reset instead of the answer. */
		bool cut = res == CURLE_SEND_ERROR || res == CURLE_RECV_ERROR || res == CURLE_GOT_NOTHING;

		set_error(l, "%s%s%s%s; nothing marked uploaded%s", curl_easy_strerror(res),
			  l->errbuf[0] ? " (" : "", l->errbuf, l->errbuf[0] ? ")" : "",
			  cut && l->no_client_cert ?
			  "; no client certificate is configured ([ledger] cert), and the ledger takes records only over mutual TLS" : "");
		start_backoff(l, -1);
		return;
	}
	if (code == 200) {
		handle_ack(l);
		return;
	}
	/* libcurl reports 0 when there was no Retry-After header: treat 0
	 * as absent (the normal back-off then applies). */
	if ((code == 429 || code == 503) &&
	    curl_easy_getinfo(l->easy, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
		retry_after = ra > 86400 ? 86400 : (long)ra;
	{
		char body[161];

		printable(body, sizeof(body), l->resp ? l->resp : "", l->resp_len);
		if (retry_after >= 0)
			set_error(l, "HTTP %ld, Retry-After %ld s: %s", code, retry_after, body);
		else
			set_error(l, "HTTP %ld: %s; nothing marked uploaded", code, body);
	}
	start_backoff(l, retry_after);
}

static void head_done(ledger_t *l, CURLcode res);

static void check_done(ledger_t *l)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(l->multi, &left))) {
		if (m->msg != CURLMSG_DONE || l->state != LEDGER_SENDING)
			continue;
		if (m->easy_handle == l->head_easy && l->head_in_flight)
			head_done(l, m->data.result);
		else if (m->easy_handle == l->easy && !l->head_in_flight)
			transfer_done(l, m->data.result);
	}
}

/* ---- reconciling with the ledger --------------------------------------------
 * The store's marks (uploaded or not) are the uploader's own bookkeeping;
 * the ledger's head is the truth about what it holds. Before the first
 * batch and after a "gap" rejection the uploader reads the head and:
 *   - the ledger holds more than the store, or another record at a seq
 *     the store has: it halts and says so (a store restored from an older
 *     backup, a fork); nothing is sent, nothing on the ledger overwritten;
 *   - otherwise records after the ledger's head are pending again (a
 *     ledger restored from an older backup, marks edited by hand) and
 *     records up to it uploaded, and uploading resumes from there. */

static void halt(ledger_t *l, const char *fmt, ...) __printf(2, 3);
static void halt(ledger_t *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->st.last_error, sizeof(l->st.last_error), fmt, ap);
	va_end(ap);
	log_err("ledger %s: %s", l->base, l->st.last_error);
	log_err("ledger %s: uploading stops until this is resolved (docs/store.md, \"Recovery\"); "
		"records keep being signed and stored", l->base);
	l->state = LEDGER_HALTED;
	l->backoff_deadline_ms = -1;
	rearm(l);
}

static void reconcile(ledger_t *l, uint64_t seq, const uint8_t hash[32])
{
	uint64_t head = 0, repending = 0, acked = 0, missing = 0;
	uint8_t h[QUEUE_HASH_LEN];
	int ret;

	l->st.have_head = true;
	l->st.ledger_head = seq;
	if (queue_ledger_head_put(l->q, seq, wall_s()))
		log_debug("ledger: could not note its head in the store");
	ret = queue_head(l->q, &head, h);
	if (ret) {
		set_error(l, "reading the store's head: %s", strerror(-ret));
		start_backoff(l, -1);
		return;
	}
	if (seq > head) {
		halt(l, "the ledger holds %llu records of this device, the store only %llu: the store "
		     "is older than the ledger (restored from a backup?); the ledger's records are "
		     "never overwritten", (unsigned long long)seq, (unsigned long long)head);
		return;
	}
	ret = seq ? queue_record_hash(l->q, seq, h) : -ENOENT;
	if (!ret && memcmp(h, hash, 32)) {
		halt(l, "the ledger's record %llu is not the store's (the chains forked); the ledger's "
		     "records are never overwritten", (unsigned long long)seq);
		return;
	}
	if (ret && ret != -ENOENT) {
		set_error(l, "reading record %llu: %s", (unsigned long long)seq, strerror(-ret));
		start_backoff(l, -1);
		return;
	}
	ret = queue_resync(l->q, seq, &repending, &acked, &missing);
	if (ret) {
		set_error(l, "marking records after the ledger's head %llu: %s",
			  (unsigned long long)seq, strerror(-ret));
		start_backoff(l, -1);
		return;
	}
	if (missing) {
		halt(l, "the ledger's head is %llu, but records %llu..%llu were pruned from the store "
		     "after an earlier acknowledgement (a ledger restored from an older backup?): the "
		     "ledger would refuse every later record as a gap; restore them from a backup of "
		     "the store or the ledger", (unsigned long long)seq, (unsigned long long)seq + 1,
		     (unsigned long long)seq + missing);
		return;
	}
	if (repending) {
		l->st.resent += repending;
		log_warn("ledger %s: its head is record %llu: %llu records marked uploaded in the store "
			 "are not on the ledger; sending them again", l->base, (unsigned long long)seq,
			 (unsigned long long)repending);
	}
	if (acked)
		log_notice("ledger %s: its head is record %llu: %llu records it holds were not marked "
			   "uploaded; marked now", l->base, (unsigned long long)seq,
			   (unsigned long long)acked);
	log_info("ledger %s: head %llu, store head %llu: in step", l->base,
		 (unsigned long long)seq, (unsigned long long)head);
	l->need_head = false;
	send_next(l);
}

static void head_done(ledger_t *l, CURLcode res)
{
	long code = 0;
	uint64_t seq = 0;
	uint8_t hash[32];
	char err[96], body[161];

	curl_multi_remove_handle(l->multi, l->head_easy);
	l->head_in_flight = false;
	curl_easy_getinfo(l->head_easy, CURLINFO_RESPONSE_CODE, &code);
	l->st.last_http_status = code;
	if (res != CURLE_OK) {
		set_error(l, "reading the ledger's head: %s%s%s%s", curl_easy_strerror(res),
			  l->errbuf[0] ? " (" : "", l->errbuf, l->errbuf[0] ? ")" : "");
		start_backoff(l, -1);
		return;
	}
	if (code != 200) {
		printable(body, sizeof(body), l->resp ? l->resp : "", l->resp_len);
		set_error(l, "reading the ledger's head: HTTP %ld: %s%s", code, body,
			  code == 404 ? " (is this device registered?)" : "");
		start_backoff(l, -1);
		return;
	}
	if (ledger_resp_parse_head(l->resp ? l->resp : "", l->resp_len, &seq, hash, err, sizeof(err))) {
		set_error(l, "the ledger's head is unreadable (%s)", err);
		start_backoff(l, -1);
		return;
	}
	reconcile(l, seq, hash);
}

static void start_head(ledger_t *l)
{
	CURLMcode mc;
	int running;

	queue_batch_free(&l->batch);
	free(l->resp);
	l->resp = NULL;
	l->resp_len = 0;
	l->resp_too_big = false;
	l->errbuf[0] = '\0';
	l->drained = false;
	l->state = LEDGER_SENDING;
	l->head_in_flight = true;
	mc = curl_multi_add_handle(l->multi, l->head_easy);
	if (mc != CURLM_OK) {
		l->head_in_flight = false;
		set_error(l, "libcurl: %s", curl_multi_strerror(mc));
		start_backoff(l, -1);
		return;
	}
	curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(l);
}

static void start_head(ledger_t *l);

static void send_next(ledger_t *l)
{
	CURLMcode mc;
	int ret, running;

	if (l->need_head) {
		start_head(l);
		return;
	}
	queue_batch_free(&l->batch);
	ret = queue_next_batch(l->q, l->batch_records, l->batch_bytes, &l->batch);
	if (ret) {
		set_error(l, "reading the queue: %s", strerror(-ret));
		start_backoff(l, -1);
		return;
	}
	if (!l->batch.n) {
		l->state = LEDGER_IDLE;
		l->drained = true;
		rearm(l);
		return;
	}
	l->drained = false;
	free(l->resp);
	l->resp = NULL;
	l->resp_len = 0;
	l->resp_too_big = false;
	l->errbuf[0] = '\0';
	curl_easy_setopt(l->easy, CURLOPT_POSTFIELDS, (const char *)l->batch.buf);
	curl_easy_setopt(l->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)l->batch.buf_len);
	l->state = LEDGER_SENDING;
	mc = curl_multi_add_handle(l->multi, l->easy);
	if (mc != CURLM_OK) {
		set_error(l, "libcurl: %s", curl_multi_strerror(mc));
		start_backoff(l, -1);
		return;
	}
	log_debug("ledger %s: sending records %llu..%llu (%zu bytes)", l->base,
		  (unsigned long long)l->batch.items[0].seq,
		  (unsigned long long)l->batch.items[l->batch.n - 1].seq, l->batch.buf_len);
	/* Let libcurl start at once rather than waiting for the timer. */
	curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(l);
}

void ledger_kick(ledger_t *l)
{
	if (l->state != LEDGER_IDLE)
		return;
	send_next(l);
}

void ledger_on_fd(ledger_t *l, int fd, unsigned events)
{
	int mask = 0, running;

	if (events & LEDGER_IN)
		mask |= CURL_CSELECT_IN;
	if (events & LEDGER_OUT)
		mask |= CURL_CSELECT_OUT;
	if (events & LEDGER_ERR)
		mask |= CURL_CSELECT_ERR;
	curl_multi_socket_action(l->multi, fd, mask, &running);
	check_done(l);
}

void ledger_on_timeout(ledger_t *l)
{
	int64_t now = mono_ms();
	int running;

	l->armed_ms = -2;
	if (l->curl_deadline_ms >= 0 && l->curl_deadline_ms <= now) {
		l->curl_deadline_ms = -1;
		curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0, &running);
		check_done(l);
	}
	if (l->state == LEDGER_BACKOFF && l->backoff_deadline_ms >= 0 &&
	    l->backoff_deadline_ms <= now) {
		l->backoff_deadline_ms = -1;
		l->state = LEDGER_IDLE;
		send_next(l);
	}
	rearm(l);
}

void ledger_status(const ledger_t *l, struct ledger_status *st)
{
	*st = l->st;
	st->state = l->state;
}

bool ledger_drained(const ledger_t *l)
{
	return l->state == LEDGER_IDLE && l->drained;
}

bool ledger_halted(const ledger_t *l)
{
	return l->state == LEDGER_HALTED;
}
