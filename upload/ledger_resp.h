/* ledger_resp — strict parser for the ledger's answer to POST /v1/records
 * (docs/ledger-api.md):
 *
 *   {"accepted":[1,2],"duplicate":[3],"rejected":[{"seq":4,"reason":"gap"}],
 *    "receipt":"eco2-receipt/v1\nkid ..."}
 *
 * Grammar: one JSON object (RFC 8259) with at most the four members above,
 * each at most once and each optional (absent = empty); seqs are integers
 * in [1, 2^63 - 1] without sign, fraction, exponent or leading zero; a
 * rejected entry has exactly "seq" and "reason" (a string, any escapes
 * valid in JSON; kept up to LEDGER_REASON_MAX - 1 bytes); a rejection's
 * seq may also be 0 (an item the ledger could not decode); the receipt is
 * text (crypto/receipt.h) in a string whose only escapes are \" \\ \/
 * \n and \u00XX of a printable ASCII character, kept whole (its checks
 * are the receipt's own, upload/ledger.c). Whitespace is
 * allowed between tokens; nothing but whitespace after the object.
 * Anything else, including unknown members, is an error: a response we do
 * not fully understand acknowledges nothing. */
#ifndef ECO2_LEDGER_RESP_H
#define ECO2_LEDGER_RESP_H

#include <stddef.h>
#include <stdint.h>
#include "lib/compiler.h"

#define LEDGER_REASON_MAX 128

struct ledger_reject {
	uint64_t seq;
	char reason[LEDGER_REASON_MAX];   /* NUL-terminated, control chars replaced */
};

struct ledger_resp {
	uint64_t *accepted;
	size_t n_accepted;
	uint64_t *duplicate;
	size_t n_duplicate;
	struct ledger_reject *rejected;
	size_t n_rejected;
	char *receipt;                    /* NUL-terminated; NULL when absent */
	size_t receipt_len;
};

/* Parse len bytes of buf. max_entries bounds each list (the batch size: a
 * longer list is an error). On error returns -EBADMSG and writes
 * "offset N: what was expected" into err (may be NULL). *out is filled only
 * on success; free with ledger_resp_free(). */
int ledger_resp_parse(const char *buf, size_t len, size_t max_entries,
		      struct ledger_resp *out, char *err, size_t err_len) __must_check;
void ledger_resp_free(struct ledger_resp *r);

/* The answer to GET /v1/devices/{kid}/head:
 *
 *   {"seq":1000,"hash":"7642...2307"}
 *
 * exactly these two members, once each, in either order: seq an integer in
 * [0, 2^63 - 1] (0: no records yet), hash 64 hex digits. Anything else is
 * -EBADMSG with "offset N: what was expected" in err. */
int ledger_resp_parse_head(const char *buf, size_t len, uint64_t *seq, uint8_t hash[32],
			   char *err, size_t err_len) __must_check;

#endif
