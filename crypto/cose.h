/* cose — a trip or charging-session record as a tagged COSE_Sign1
 * (RFC 9052), byte for byte as docs/record-format.md describes:
 *
 *   18([ h'A2 01 <alg> 04 48 <kid:8>',    protected {1: alg, 4: kid}
 *        {},                               unprotected: empty
 *        h'<payload>',                     deterministic CBOR map, keys 0..23
 *        h'<signature:64>' ])              Ed25519, or ES256 as raw r||s
 *
 * signed bytes (Sig_structure) = ["Signature1", protected, h'', payload].
 *
 * Encoding is deterministic (RFC 8949 §4.2.1), so a record has exactly one
 * valid byte form; the decoder refuses any other (it re-encodes what it
 * decoded and compares), which is what lets a hash chain over the bytes
 * mean something. */
#ifndef ECO2_COSE_H
#define ECO2_COSE_H

#include <stddef.h>
#include <stdint.h>
#include "lib/compiler.h"
#include "crypto/record.h"
#include "crypto/signer.h"

/* Upper bound of an encoded record (a full one is about 360 bytes). The
 * decoder refuses anything longer before looking inside. */
#define COSE_RECORD_MAX 512
/* Upper bound of a Sig_structure for a record. */
#define COSE_SIG_STRUCT_MAX 512

#define COSE_TAG_SIGN1 18

/* The parts of a decoded record, pointing into the caller's bytes. */
struct cose_sign1 {
	int alg;                       /* COSE_ALG_ES256 or COSE_ALG_EDDSA */
	uint8_t kid[8];                /* protected header kid */
	const uint8_t *prot;           /* protected header bytes (bstr content) */
	size_t prot_len;
	const uint8_t *payload;        /* payload bytes (bstr content) */
	size_t payload_len;
	const uint8_t *sig;            /* SIGNER_SIG_LEN bytes */
};

/* Sign callback: sign msg (the Sig_structure) with the key the record
 * names; Ed25519 signs msg itself, ES256 signs SHA-256(msg) and returns raw
 * r||s. 0 or -errno. */
typedef int cose_sign_fn(void *ctx, const uint8_t *msg, size_t len,
			 uint8_t sig[SIGNER_SIG_LEN]);

/* Encode and sign r. r->kid must equal kid (the signer's) and r->version
 * be 1 or 2 (eco2d writes ECO2_RECORD_VERSION; 1 is for test vectors and
 * tools); key 19 is written only when r->has_vin, key 20 only when r->type
 * is ECO2_REC_CHARGE (a trip with charged_wh != 0 is refused rather than
 * losing the figure), keys 21 to 23 only in version 2. Content rules
 * (crypto/rules.h) are the caller's: the encoder signs what it is given. On success *out (malloc'd, the caller
 * frees) holds the tagged COSE_Sign1 and *out_len its length.
 * 0, -EINVAL (a field that cannot be encoded; logged), -ENOMEM, or the sign
 * callback's error. */
int cose_record_encode_with(const struct eco2_record *r, int alg,
			    const uint8_t kid[8], cose_sign_fn *sign, void *ctx,
			    uint8_t **out, size_t *out_len) __must_check;

static inline int cose_signer_sign_cb(void *ctx, const uint8_t *msg, size_t len,
				      uint8_t sig[SIGNER_SIG_LEN])
{
	return signer_sign((signer_t *)ctx, msg, len, sig);
}

/* As cose_record_encode_with, signing with s (its alg and kid). Inline so
 * that code which only decodes or verifies (eco2-verify, the ledger, the
 * fuzzer) does not link the signer back ends. */
static inline __must_check int
cose_record_encode(const struct eco2_record *r, signer_t *s, uint8_t **out,
		   size_t *out_len)
{
	uint8_t kid[8];

	signer_kid(s, kid);
	return cose_record_encode_with(r, signer_alg(s), kid,
				       cose_signer_sign_cb, s, out, out_len);
}

/* The payload alone (deterministic CBOR map) into buf[cap]. 0, -EINVAL
 * (as above) or -ENOSPC. */
int cose_payload_encode(const struct eco2_record *r, uint8_t *buf, size_t cap,
			size_t *len) __must_check;

/* Sig_structure ["Signature1", protected, h'', payload] into buf[cap].
 * Returns its length, or 0 when it does not fit. */
size_t cose_sig_structure(const uint8_t *prot, size_t prot_len,
			  const uint8_t *payload, size_t payload_len,
			  uint8_t *buf, size_t cap);

/* Decode a record strictly. Refuses, with *why (a static string) saying
 * what: more than COSE_RECORD_MAX bytes, a missing or other tag than 18,
 * any structure but [bstr, {}, bstr, bstr(64)], a protected header other
 * than {1: -7|-8, 4: bstr(8)}, a payload with a missing, unknown (> 20 in
 * version 1, > 23 in version 2), duplicate or out-of-order key, a value of
 * the wrong type or integer range, a version other than 1 or 2, a type
 * other than 1 or 2, key 20 in a trip or
 * missing in a charging session, payload kid != protected kid, truncation,
 * trailing bytes, and any byte form that is not the canonical encoding of
 * what it decodes to. The signature is NOT checked here.
 * 0 or -EBADMSG. out and parts may be NULL; parts point into buf.
 * *why names the byte offset and payload key, e.g. "byte 57: payload key
 * 12 (co2_g): integer expected"; it points to a static or thread-local
 * string, valid until this thread's next call into cose or verify. */
int cose_record_decode(const uint8_t *buf, size_t len, struct eco2_record *out,
		       struct cose_sign1 *parts, const char **why) __must_check;

/* SHA-256 of a record's complete encoded bytes: the next record's prev. */
void cose_record_sha256(const uint8_t *buf, size_t len, uint8_t out[32]);

/* The name of anomaly flag bit `bit` (ECO2_FLAG_*: "odo_rollback", ...),
 * as docs/record-format.md lists them; NULL for a bit not defined. */
const char *record_flag_name(unsigned bit);

/* A version 2 record's profile_sha256 (key 23): SHA-256 over the profile
 * file's bytes and its DBC's, each preceded by its length as 8 bytes
 * big-endian (docs/record-format.md §2):
 *   SHA-256( len(profile) || profile || len(dbc) || dbc ) */
void cose_profile_sha256(const void *profile, size_t profile_len, const void *dbc,
			 size_t dbc_len, uint8_t out[32]);

/* kid = first 8 bytes of SHA-256 of the raw public key. */
void cose_kid(const uint8_t *pubkey, size_t len, uint8_t kid[8]);

#endif
