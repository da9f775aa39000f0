/* verify — checking records and chains of records against a device key.
 *
 * Used by eco2-verify (a certifier's tool that trusts nobody) and by the
 * ledger server. Three layers:
 *
 *   verify_key_t   a public key loaded once into a signature back end:
 *                  "sodium" (Ed25519), "mbedtls" (ES256, always built, the
 *                  ECU build) and "libcrypto" (ES256 via OpenSSL, about
 *                  twenty times faster than mbedTLS 2.28, when
 *                  CONFIG_VERIFY_LIBCRYPTO=y). Back ends sit behind one
 *                  small function table.
 *   verify_record  one record on its own, or against an expected seq and
 *                  prev (the ledger's check when a record arrives).
 *   verify_chain   a stream of records in file order: seq continuity, the
 *                  prev-hash chain, and a problem report per seq for
 *                  anything wrong (eco2-verify).
 *
 * Threads: a verify_key_t is used by one thread at a time (mbedTLS caches
 * tables inside its group); give each thread its own (verify_key_clone).
 * Reasons (*why) point to static or thread-local strings, valid until the
 * same thread's next call into verify or cose. */
#ifndef ECO2_VERIFY_H
#define ECO2_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/compiler.h"
#include "crypto/record.h"
#include "crypto/rules.h"
#include "crypto/signer.h"

typedef struct verify_key verify_key_t;

/* Load a raw public key: alg COSE_ALG_EDDSA with 32 bytes, or
 * COSE_ALG_ES256 with 65 bytes 0x04||X||Y (checked to be on the curve).
 * backend: "sodium", "mbedtls", "libcrypto", or NULL for the fastest built
 * for alg. 0, -EINVAL (bad key or alg), -ENOTSUP (back end not built or
 * not for alg), -ENOMEM. */
int verify_key_new(verify_key_t **out, int alg, const uint8_t *pub,
		   size_t pub_len, const char *backend) __must_check;

/* Load a PEM SubjectPublicKeyInfo ("-----BEGIN PUBLIC KEY-----") for P-256
 * or Ed25519. On failure *err (may be NULL) gets a reason. 0, -EINVAL,
 * -ENOTSUP, -ENOMEM. */
int verify_key_from_pem(verify_key_t **out, const char *pem, size_t len,
			const char *backend, const char **err) __must_check;

/* From the DER SubjectPublicKeyInfo. */
int verify_key_from_spki(verify_key_t **out, const uint8_t *der, size_t len,
			 const char *backend, const char **err) __must_check;

/* A second handle on the same key for another thread. */
int verify_key_clone(const verify_key_t *k, verify_key_t **out) __must_check;

int verify_key_alg(const verify_key_t *k);
/* The raw public key (32 or 65 bytes); returns its length. */
size_t verify_key_raw(const verify_key_t *k, uint8_t out[SIGNER_PUBKEY_MAX]);
void verify_key_kid(const verify_key_t *k, uint8_t kid[8]);
const char *verify_key_backend(const verify_key_t *k);
void verify_key_free(verify_key_t *k);

/* The back ends built for alg, NULL-terminated, fastest first. */
const char *const *verify_backends(int alg);

/* The bare signature check over msg (the Sig_structure): 0, or -EBADE. */
int verify_sig(verify_key_t *k, const uint8_t *msg, size_t len,
	       const uint8_t sig[SIGNER_SIG_LEN]) __must_check;

/* ---- one record ---------------------------------------------------------- */

/* One record checked on its own: decode (strict, canonical), kid and alg
 * against the key, the signature, then the content rules of
 * crypto/rules.h (the signature's byte form, ranges, type, flags, times,
 * odometer, distance and the exact co2_g). Never fails as a call: the
 * outcome is in the struct. */
struct verify_item {
	int status;            /* 0 or as verify_record's return */
	const char *code;      /* when status != 0: "format", "key",
				  "signature", or the id of the first rule
				  broken (crypto/rules.h) */
	const char *why;       /* reason when status != 0 (static string, or
				  it->why_buf); a rule's reason begins with its
				  id: "co2: co2_g 2107 does not follow ..." */
	char why_buf[256];
	bool decoded;          /* rec holds what the bytes decode to */
	bool signed_ok;        /* made by this key (kid, alg and signature) */
	bool tail;             /* framing: bytes that followed a record
				  without a record start (verify_split_next) */
	struct eco2_record rec;
	struct rules_result rules;   /* the content rules' findings, failures
					and warnings (when signed_ok) */
	uint8_t sha256[32];    /* of the item's bytes */
	size_t len;
};

void verify_item_check(verify_key_t *k, const uint8_t *buf, size_t len,
		       struct verify_item *it);

/* The ledger's check when a record arrives: everything verify_item_check
 * does, then seq == expect_seq and prev == expect_prev (expect_seq 0 and
 * expect_prev NULL skip those; seq 1's prev must be 32 zero bytes in any
 * case). out and sha256_out (the record's hash, the
 * next expect_prev) may be NULL.
 *   0             good
 *   -EBADMSG      not a well-formed canonical record
 *   -EKEYREJECTED alg or kid are not this key's
 *   -EBADE        signature does not verify
 *   -EDOM         a content rule fails (signed by the key; *why names it)
 *   -ENOTSUP      unknown methodology (signed by the key)
 *   -EILSEQ       seq or prev are not the expected ones (signed by the key;
 *                 *out tells a duplicate, seq < expect_seq, from a gap)
 * *out is filled whenever the record decoded; *why says what failed. */
int verify_record(verify_key_t *k, const uint8_t *buf, size_t len,
		  uint64_t expect_seq, const uint8_t expect_prev[32],
		  struct eco2_record *out, uint8_t sha256_out[32],
		  const char **why) __must_check;

/* The rules between records (crypto/rules.h rules_check_follow) for the
 * record in it, checked by verify_item_check, after the record before it
 * in its chain, prev_buf (bytes already verified, as a ledger stores
 * them). 0 when no FAIL rule breaks (warnings are not reported here);
 * -EDOM with why[why_len] = "<rule>: <reason>"; -EINVAL when prev_buf
 * does not decode. */
int verify_follows(const uint8_t *prev_buf, size_t prev_len, const struct verify_item *it,
		   char *why, size_t why_len) __must_check;

/* ---- framing: a CBOR sequence of records (RFC 8742) --------------------- */

/* Splits a file into record-sized items. A well-formed file splits exactly
 * at record boundaries. After damage (a flipped length, a broken tag) the
 * splitter resynchronises on the next record start (the fixed bytes
 * D2 84 4D A2 01 26|27 04 48 every record begins with), so one damaged
 * record costs one item, not the rest of the file. */
struct verify_splitter {
	const uint8_t *buf;
	size_t len;
	size_t off;
	bool next_is_tail;
};

void verify_split_init(struct verify_splitter *sp, const uint8_t *buf, size_t len);
/* Next item: true with its offset, length and tail flag (see
 * verify_item), false at the end. */
bool verify_split_next(struct verify_splitter *sp, size_t *off, size_t *len,
		       bool *tail);

/* ---- a chain ------------------------------------------------------------- */

typedef struct verify_chain verify_chain_t;

/* What the chain reports, once per problem or warning, in the order found.
 * seq is the record's (for a record that could not be trusted, the seq its
 * position in the chain says). code is stable, for programs: a rule id
 * from crypto/rules.h, or "format", "key", "signature", "chain.missing",
 * "chain.order", "chain.duplicate", "chain.fork", "chain.prev",
 * "chain.tail". reason is a sentence fragment for people ("signature does
 * not verify", "missing", "prev is not SHA-256 of seq 4", ...). */
struct verify_event {
	uint64_t seq;
	bool warning;          /* a WARN rule: the record still counts */
	const char *code;
	const char *reason;    /* valid during the call */
};
typedef void verify_event_fn(void *ctx, const struct verify_event *ev);

int verify_chain_new(verify_chain_t **out, verify_event_fn *fn, void *ctx) __must_check;

/* Feed items in file order (each from verify_item_check). The chain
 * starts at seq 1 with prev = 32 zero bytes. Returns true when the item is
 * a good member of the chain (count it in summaries): signed by the key,
 * in sequence, linked, breaking no FAIL rule on its own or after the
 * record before it (crypto/rules.h); a record signed by the key but out
 * of place, with a wrong co2_g or impossible figures is reported and
 * returns false. A second, different record at a seq already seen is
 * reported as a fork, with both hashes. A damaged record costs one
 * problem: runs of damaged items of any length are placed by counting
 * them. */
bool verify_chain_push(verify_chain_t *c, const struct verify_item *it);

/* End of input: reports missing seqs and anything still held back.
 * Returns the number of problems reported in all. */
unsigned long verify_chain_finish(verify_chain_t *c);

void verify_chain_free(verify_chain_t *c);

/* Decode and check the signature against a raw public key (32 bytes
 * Ed25519, or 65 bytes 0x04||X||Y P-256) for alg: one record's origin,
 * not its co2_g or its place in a chain (verify_record checks those).
 * Verifies with the default back end (see verify.h); for many records,
 * prefer a verify_key_t.
 *   0             the record is well formed, canonical, made by this key
 *   -EBADMSG      not a well-formed canonical record (*why says what)
 *   -EKEYREJECTED alg or kid differ from the key's
 *   -EBADE        the signature does not verify
 *   -EINVAL       alg or the public key itself is unusable
 * out (may be NULL) is filled whenever decoding succeeded. */
int verify_record_pubkey(const uint8_t *buf, size_t len, int alg,
			 const uint8_t *pubkey, size_t pubkey_len,
			 struct eco2_record *out, const char **why) __must_check;

#endif
