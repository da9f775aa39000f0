/* ledger_check — what a certifier checks of a device's export against the
 * ledger's receipts (eco2-verify --ledger-key --receipts), and how a
 * certifier witnesses the ledger's checkpoints (eco2-verify --cosign).
 *
 * Given the ledger's verifier key, the receipts eco2d kept and exported,
 * and the export itself:
 *   - every receipt's checkpoint is signed by the ledger's key, and every
 *     entry's inclusion proof leads from the exported record of that seq
 *     (its exact bytes) to the signed root: the ledger holds that record;
 *   - the export holds every seq from 1 up to the latest receipted one: a
 *     receipted record withheld, and any seq past the export's last up to
 *     the latest receipted one, is named here; a gap between two exported
 *     records is the chain check's (verify_chain_push: "missing");
 *   - the checkpoints agree with each other: two of one size have one
 *     root, and with --ledger URL consistency proofs fetched from the
 *     ledger (RFC 9162 §2.1.4) link each to the next and to the checkpoint
 *     the ledger publishes now; a ledger that showed the device one
 *     history and shows another now is caught;
 *   - with --witness-key, the published checkpoint carries a valid
 *     cosignature of each witness (the certifier's own, when it witnesses).
 * Problems go to the caller's callback with the seq they concern (0: the
 * receipts or the ledger as a whole), as eco2-verify reports its own. */
#ifndef ECO2_LEDGER_CHECK_H
#define ECO2_LEDGER_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/compiler.h"

#define LCHECK_WITNESSES_MAX 8

struct lcheck_opts {
	const char *ledger_key;       /* verifier key text or a file holding it */
	const char *receipts;         /* the receipts file (eco2ctl export --receipts) */
	const char *ledger_url;       /* https://host:port: consistency proofs, the
					 published checkpoint; NULL: offline */
	const char *ca;               /* CA bundle for the ledger's TLS; NULL: system */
	const char *witness_keys[LCHECK_WITNESSES_MAX];
	size_t n_witness;
	/* witnessing (--cosign) */
	const char *witness_skey;     /* the witness's signer key file */
	const char *witness_state;    /* its last cosigned checkpoint (a file) */
	const char *witness_keygen;   /* a name: make a witness key, print its vkey */
	bool cosign;
};

typedef void lcheck_problem_fn(void *ctx, uint64_t seq, const char *reason);

struct lcheck_summary {
	size_t receipts, proved, checkpoints;
	uint64_t last_seq;            /* the latest receipted seq */
	uint64_t largest_size;        /* the largest checkpoint checked */
	bool consistency_checked;     /* with the ledger's proofs */
	size_t witnessed;             /* witnesses whose cosignature verified */
};

/* Is any option of this module set (so eco2-verify runs it)? */
bool lcheck_wanted(const struct lcheck_opts *o);

/* The checks above over the export records[len] (a CBOR sequence). 0
 * when they ran (problems, if any, reported through fn); -errno when they
 * could not (a file or the key unreadable; logged). */
int lcheck_run(const struct lcheck_opts *o, const uint8_t *records, size_t len,
	       lcheck_problem_fn *fn, void *ctx, struct lcheck_summary *sum) __must_check;

/* --witness-keygen NAME / --cosign: the witness's own modes (no export).
 * Exit status for eco2-verify: 0 done, 1 refused (an inconsistent or
 * badly signed checkpoint: nothing cosigned), 2 usage or I/O. */
int lcheck_witness_main(const struct lcheck_opts *o);

#endif
