/* metrics — eco2-ledger's counters, gauges and latency histograms, in
 * the Prometheus text exposition format (version 0.0.4) on a separate
 * local port (docs/ledger-api.md, "Metrics"). One instance per process;
 * every field is updated with relaxed atomics from any thread. */
#ifndef ECO2_LEDGER_METRICS_H
#define ECO2_LEDGER_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/compiler.h"

/* Why a record was refused (the ledger's answer names it in words). */
enum lm_reason {
	LM_DECODE,        /* not a well-formed canonical record */
	LM_CLIENT,        /* another device than the client certificate's */
	LM_DEVICE,        /* no registered device */
	LM_GAP,           /* seq after a missing one */
	LM_PREV,          /* prev is not the hash of the previous record */
	LM_REPEAT,        /* the same seq twice in one request */
	LM_FORK,          /* the seq is stored with other bytes */
	LM_SIGNATURE,     /* not signed by the device's key */
	LM_RULES,         /* signed, but breaks a record rule (CO2 figure, ...) */
	LM_REASONS
};

/* Why a request was refused before its records were looked at. */
enum lm_refusal {
	LMR_RATE,         /* 429: the client's request rate */
	LMR_BUSY,         /* 429/503: the device's request in flight, the body
			     memory, no store connection */
	LMR_TOO_LARGE,    /* 413 */
	LMR_LENGTH,       /* 411: no Content-Length */
	LMR_CERT,         /* 403: no or a refused client certificate */
	LMR_DEADLINE,     /* dropped: the request took longer than allowed */
	LMR_REFUSALS
};

#define LM_BUCKETS 14

struct lm_hist {
	_Atomic uint64_t bucket[LM_BUCKETS];   /* cumulative at render time */
	_Atomic uint64_t count;
	_Atomic uint64_t sum_ns;
};

struct lmetrics {
	_Atomic uint64_t accepted, duplicate;
	_Atomic uint64_t refused[LM_REASONS];
	_Atomic uint64_t refusals[LMR_REFUSALS];
	_Atomic uint64_t status[600];           /* answers by HTTP status */
	_Atomic uint64_t checkpoints;           /* checkpoints signed */
	_Atomic uint64_t receipts, receipt_bytes;
	_Atomic uint64_t tree_size;
	_Atomic int64_t connections;
	_Atomic uint64_t forks_seen;
	struct lm_hist ingest, proof;
};

extern struct lmetrics ledger_metrics;

static inline void lm_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

void lm_observe(struct lm_hist *h, uint64_t ns);
/* The exposition text into *out (malloc'd; the caller frees). */
int lm_render(char **out, size_t *len) __must_check;
const char *lm_reason_name(enum lm_reason r);

#endif
