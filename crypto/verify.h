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

/* Does r->co2_g follow from the record's own fields (its methodology,
 * parameters, distance and energies) within +-1 g? 0; -EDOM when it does
 * not (*expect_g = the recomputed figure); -ENOTSUP for a methodology this
 * build does not know; -EINVAL/-ERANGE when the fields cannot be computed
 * with (negative distance, efficiency 0, overflow). */
int verify_co2(const struct eco2_record *r, int64_t *expect_g) __must_check;

/* One record checked on its own: decode (strict, canonical), kid and alg
 * against the key, the signature, and co2_g. Never fails as a call: the
 * outcome is in the struct. */
struct verify_item {
	int status;            /* 0 or as verify_record's return */
	const char *why;       /* reason when status != 0 (static string, or
				  it->why_buf) */
	char why_buf[160];
	bool decoded;          /* rec holds what the bytes decode to */
	bool signed_ok;        /* made by this key (kid, alg and signature) */
	bool tail;             /* framing: bytes that followed a record
				  without a record start (verify_split_next) */
	struct eco2_record rec;
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
 *   -EDOM         co2_g does not follow from the fields (signed by the key)
 *   -ENOTSUP      unknown methodology (signed by the key)
 *   -EILSEQ       seq or prev are not the expected ones (signed by the key;
 *                 *out tells a duplicate, seq < expect_seq, from a gap)
 * *out is filled whenever the record decoded; *why says what failed. */
int verify_record(verify_key_t *k, const uint8_t *buf, size_t len,
		  uint64_t expect_seq, const uint8_t expect_prev[32],
		  struct eco2_record *out, uint8_t sha256_out[32],
		  const char **why) __must_check;

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

/* Called once per problem, in the order found; seq is the record's (for a
 * record that could not be trusted, the seq its position in the chain
 * says); reason is a complete sentence fragment ("signature does not
 * verify", "missing", "prev is not SHA-256 of seq 4", ...). */
typedef void verify_problem_fn(void *ctx, uint64_t seq, const char *reason);

int verify_chain_new(verify_chain_t **out, verify_problem_fn *fn, void *ctx) __must_check;

/* Feed items in file order (each from verify_item_check). The chain
 * starts at seq 1 with prev = 32 zero bytes. Returns true when the item is
 * a good member of the chain (count it in summaries): signed by the key,
 * in sequence, linked; a record signed by the key but out of place or with
 * a wrong co2_g is reported and returns false. */
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
