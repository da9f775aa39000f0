/* ingest — what eco2-ledger does with POST /v1/records: decide each
 * record, store the good ones as leaves of the tree, and answer with a
 * receipt (docs/ledger-api.md).
 *
 * The order of the work is the defence: first what costs nothing (decode,
 * the client certificate's device, seq against the head, prev against the
 * previous record, duplicates by hash), then the signatures of what is
 * left (in parallel, outside any lock), then the short sequenced part
 * (the store's append lock: fresh heads, leaf indices, one commit), then
 * proofs and a signed checkpoint. */
#ifndef ECO2_LEDGER_INGEST_H
#define ECO2_LEDGER_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/compiler.h"
#include "crypto/tlog.h"
#include "ledger/metrics.h"
#include "ledger/store.h"
#include "ledger/tree.h"

typedef struct ingest ingest_t;

struct ingest_opts {
	lstore_t *store;
	const struct tlog_skey *log_key;   /* signs the receipts' checkpoints */
	unsigned workers;                  /* signature threads per request; 0: cores, <= 8 */
	unsigned fork_evidence_max;        /* kept per device; 0: 16 */
};

int ingest_new(ingest_t **out, const struct ingest_opts *o) __must_check;
void ingest_free(ingest_t *g);
/* The process's compact-range cache, shared with the checkpointer. */
struct ltree_cache *ingest_tree_cache(ingest_t *g);

enum ingest_verdict { IV_ACCEPTED, IV_DUPLICATE, IV_REJECTED };

struct ingest_result {
	enum ingest_verdict verdict;
	enum lm_reason reason;            /* when rejected */
	uint64_t seq;                     /* 0 when the item did not decode */
	char why[160];
};

struct ingest_out {
	struct ingest_result *res;        /* one per item, in body order */
	size_t n;
	char *receipt;                    /* NULL when nothing was acknowledged */
	size_t receipt_len;
	uint64_t tree_size;
	size_t accepted, duplicate, rejected;
};

/* Decide and store the records of body[len] (a CBOR sequence) sent over a
 * connection authenticated as client_kid. 0 with *out filled (free with
 * ingest_out_free), or -EIO / -ETIMEDOUT / -ENOMEM: nothing stored. */
int ingest_records(ingest_t *g, const uint8_t *body, size_t len, const uint8_t client_kid[8],
		   struct ingest_out *out) __must_check;
void ingest_out_free(struct ingest_out *out);

#endif
