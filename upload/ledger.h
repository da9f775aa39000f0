/* ledger — uploads queued records to the ledger over HTTPS (libcurl multi).
 *
 * Never blocks: libcurl's multi interface is driven by the caller's event
 * loop. The loop registers two callbacks; the ledger asks through them to
 * watch a socket or to be woken after a delay, and the loop reports back
 * with ledger_on_fd() / ledger_on_timeout():
 *
 *   ledger_set_loop_callbacks(l, want_fd, want_timeout, loop);
 *   want_fd(fd, LEDGER_IN | LEDGER_OUT, loop)   -> epoll_ctl ADD/MOD
 *   want_fd(fd, 0, loop)                        -> epoll_ctl DEL
 *   want_timeout(ms, loop)   ms >= 0: arm a one-shot timer (0: as soon as
 *                            possible; a timerfd needs 1 ns, as 0 disarms
 *                            it); -1: disarm
 *   on readiness:  ledger_on_fd(l, fd, LEDGER_IN/OUT/ERR bits)
 *   on the timer:  ledger_on_timeout(l)
 *
 * The timer carries both libcurl's timeouts and the back-off delay, so the
 * loop needs one timerfd for the ledger. One batch is in flight at a time:
 * POST /v1/records (application/cbor-seq) with up to batch_records records
 * or batch_bytes bytes; a record is marked uploaded only when the ledger's
 * JSON answer lists its seq as accepted or duplicate and, with
 * receipt_key, its receipt proves it: a checkpoint signed by that key and
 * the record's inclusion proof from its exact bytes (crypto/receipt.h).
 * The receipt is kept in the store with the marks (docs/ledger-api.md).
 *
 * Transport: https:// only (anything else is a configuration error), TLS
 * 1.2 or newer, the CA bundle of [ledger] ca (else the system store), an
 * optional pinned public key, the device certificate and key for mTLS,
 * connect / total / low-speed timeouts, keep-alive, and the proxy of
 * [ledger] proxy or of the environment (https_proxy, no_proxy). Only
 * libcurl's public API: OpenSSL and mbedTLS builds of libcurl both work. */
#ifndef ECO2_LEDGER_H
#define ECO2_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/compiler.h"
#include "upload/queue.h"

#define LEDGER_IN  0x1u
#define LEDGER_OUT 0x2u
#define LEDGER_ERR 0x4u

typedef struct ledger ledger_t;

struct ledger_opts {
	const char *url;            /* https://host[:port][/prefix] */
	const char *ca;             /* CA bundle (PEM); NULL: system store */
	const char *cert;           /* client certificate (PEM); NULL: none */
	const char *key;            /* its key: a file, or a pkcs11: URI */
	const char *key_pin;        /* passphrase / PIN; NULL: none */
	const char *pinned_pubkey;  /* "sha256//b64[;sha256//b64]" or a file */
	const char *proxy;          /* NULL: from the environment; "" none */
	const char *receipt_key;    /* the ledger's verifier key (a C2SP note
				       key, its text or an absolute path to a
				       file holding it): acknowledgements count
				       only with a receipt it signed; NULL: on
				       the ledger's word (a warning) */
	long connect_timeout_s;     /* 0: 10 */
	long timeout_s;             /* whole request; 0: 60 */
	long low_speed_bytes;       /* abort below this rate ... 0: 64 */
	long low_speed_s;           /* ... for this long; 0: 30 */
	size_t batch_records;       /* 0: 500 */
	size_t batch_bytes;         /* 0: 1 MiB */
	uint32_t backoff_base_ms;   /* 0: 1000 */
	uint32_t backoff_max_s;     /* 0: 3600 */
	bool verbose;               /* libcurl's trace to stderr */
	/* The device's kid: with it the uploader reconciles with the ledger
	 * (GET /v1/devices/{kid}/head) before its first batch and after any
	 * "gap" rejection; without it, it trusts the store's marks. */
	bool have_kid;
	uint8_t kid[8];
};

/* Check opts (https:// only, readable files) and set up libcurl. q is
 * borrowed (must outlive the ledger). 0 or -errno (-EINVAL: bad config,
 * logged with the key at fault). */
int ledger_open(ledger_t **out, const struct ledger_opts *opts, queue_t *q) __must_check;
/* Stops any transfer. May call want_fd(fd, 0) / want_timeout(-1) for what
 * it still watches: the loop must stay valid until ledger_close returns
 * (for a SIGHUP reload: close, then open with the new options). */
void ledger_close(ledger_t *l);

typedef void ledger_want_fd_fn(int fd, unsigned events, void *loop);
typedef void ledger_want_timeout_fn(long ms, void *loop);
void ledger_set_loop_callbacks(ledger_t *l, ledger_want_fd_fn *want_fd,
			       ledger_want_timeout_fn *want_timeout, void *loop);

void ledger_on_fd(ledger_t *l, int fd, unsigned events);
void ledger_on_timeout(ledger_t *l);

/* Something was queued or the upload interval passed: start a batch now
 * unless one is in flight or the back-off delay is running. */
void ledger_kick(ledger_t *l);

enum ledger_state {
	LEDGER_IDLE,        /* nothing pending (as far as it knows) */
	LEDGER_SENDING,     /* a batch (or the head request) in flight */
	LEDGER_BACKOFF,     /* waiting after a failure */
	LEDGER_HALTED,      /* the ledger holds what the store does not: nothing is sent */
};

struct ledger_status {
	enum ledger_state state;
	uint64_t batches_ok;
	uint64_t batches_failed;
	uint64_t records_acked;      /* accepted + duplicate */
	uint64_t records_duplicate;
	uint64_t records_rejected;
	uint64_t receipts;           /* receipts checked and kept */
	uint64_t tree_size;          /* the largest checkpoint a receipt named */
	long last_http_status;       /* 0: no HTTP answer */
	uint32_t backoff_ms;         /* the delay being waited */
	bool have_head;              /* the ledger's head was read */
	uint64_t ledger_head;        /* ... its seq */
	uint64_t resent;             /* records marked uploaded the ledger lacked */
	char last_error[256];        /* "" when the last batch succeeded */
};
void ledger_status(const ledger_t *l, struct ledger_status *st);

/* True when the last batch left nothing pending (idle, queue drained). */
bool ledger_drained(const ledger_t *l);

/* True when reconciling found the ledger ahead of the store, or holding
 * another record at a seq the store has (a store restored from an older
 * backup, a fork): the uploader sends nothing, never overwrites, and has
 * said so loudly. Until the next ledger_open. */
bool ledger_halted(const ledger_t *l);

#endif
