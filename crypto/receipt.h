/* receipt — the ledger's proof that it holds a batch of a device's
 * records: a signed checkpoint of its Merkle tree and, for each record,
 * the record's leaf index and inclusion proof (docs/ledger-api.md,
 * "Receipts"). The ledger writes one per accepted batch, eco2d checks it
 * before it marks the records uploaded and keeps it, `eco2ctl export
 * --receipts` writes the kept ones, and eco2-verify checks them against
 * the records. Text, so a certifier can read it:
 *
 *   eco2-receipt/v1
 *   kid 62b53916165c0b48
 *   5 17 <base64 hash> <base64 hash> ...     seq, leaf index, proof
 *   6 18 <base64 hash> ...                   (seqs ascending)
 *                                            a blank line
 *   example.com/eco2/v1                      the checkpoint: a signed
 *   19                                       note (crypto/tlog.h)
 *   <base64 root>
 *
 *   — example.com/eco2/v1 <base64 signature>
 *
 * A record's leaf is its COSE_Sign1 bytes exactly as stored, hashed as
 * RFC 9162 hashes leaves (crypto/merkle.h). A file of receipts is receipts
 * one after another. Parsed strictly and bounded; fuzzed
 * (tests/fuzz/fuzz_receipt.c). */
#ifndef ECO2_RECEIPT_H
#define ECO2_RECEIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/compiler.h"
#include "crypto/merkle.h"
#include "crypto/tlog.h"

#define RECEIPT_ENTRIES_MAX 10000         /* records one receipt covers */
#define RECEIPT_MAX ((size_t)8 << 20)     /* bytes of one receipt */

struct receipt_entry {
	uint64_t seq;
	uint64_t index;            /* the record's leaf index in the tree */
	size_t first;              /* its proof: hashes[first, first + n) */
	size_t n;
};

struct receipt {
	uint8_t kid[8];
	struct receipt_entry *e;   /* n_entries, seq ascending */
	size_t n_entries;
	merkle_hash_t *hashes;
	const char *note;          /* the signed checkpoint, in the parsed text */
	size_t note_len;
	size_t len;                /* bytes of the text this receipt took */
};

/* Parse the receipt at the start of buf[len] (more may follow it). 0, or
 * -EBADMSG with *why (static) saying what, -ENOMEM. The note is only
 * delimited here; receipt_check opens it. Free with receipt_free. */
int receipt_parse(const char *buf, size_t len, struct receipt *out, const char **why) __must_check;
void receipt_free(struct receipt *r);

/* Open the receipt's note with log_key (whose name must be the
 * checkpoint's origin) and check every entry's index and proof length
 * against its size; *c gets the checkpoint. 0, -EBADMSG / -EKEYREJECTED
 * / -ENOKEY with *why. */
int receipt_check(const struct receipt *r, const struct tlog_vkey *log_key,
		  struct tlog_checkpoint *c, const char **why) __must_check;

/* Is rec[len] the record of entry i, included in the tree of c? 0 or
 * -EBADMSG. */
int receipt_check_record(const struct receipt *r, size_t i, const struct tlog_checkpoint *c,
			 const uint8_t *rec, size_t len) __must_check;

/* The entry for seq, or NULL. */
const struct receipt_entry *receipt_find(const struct receipt *r, uint64_t seq);

/* Write a receipt: kid, n entries (their proofs in hashes), the signed
 * note. *out is malloc'd (NUL-terminated; the caller frees). 0, -EINVAL
 * (no entry, seqs not ascending, a note that is no note), -ENOMEM. */
int receipt_format(const uint8_t kid[8], const struct receipt_entry *e, size_t n,
		   const merkle_hash_t *hashes, const char *note, size_t note_len,
		   char **out, size_t *out_len) __must_check;

#endif
