/* server — eco2-ledger's HTTPS API (docs/ledger-api.md) over
 * libmicrohttpd and GnuTLS: client certificates checked before any body
 * is read, every request bounded (connections, rates, body sizes, body
 * memory, deadlines), reads streamed and authorised, a checkpoint
 * published at an interval, metrics on their own local port. */
#ifndef ECO2_LEDGER_SERVER_H
#define ECO2_LEDGER_SERVER_H

#include <stdbool.h>
#include "lib/compiler.h"
#include "ledger/config.h"

/* Fault injection for tests, per POST /v1/records. */
struct lfaults {
	double fail_rate;          /* answer status instead of processing */
	unsigned status;           /* default 500 */
	long retry_after_s;        /* -1: no header */
	unsigned delay_ms;
	double drop_rate;          /* close without an answer (before or after storing) */
	double garbage_rate;       /* store, then answer 200 with a damaged body */
};

typedef struct lserver lserver_t;

/* Load what cf names (certificates, keys, store) and start listening.
 * 0 or -errno (logged). */
int lserver_start(lserver_t **out, const struct lconf *cf, const struct lfaults *f) __must_check;
/* The port the API listens on (after port 0 picked one). */
unsigned lserver_port(const lserver_t *s);
unsigned lserver_metrics_port(const lserver_t *s);
void lserver_stop(lserver_t *s);

/* --check-config: everything lserver_start loads, loaded and checked,
 * nothing started (the store is opened, and created if missing). */
int lserver_check(const struct lconf *cf) __must_check;

#endif
