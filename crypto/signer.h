/* signer — one small interface over the key back ends.
 *
 *   file:PATH      a key file (Ed25519 via libsodium, P-256 via mbedTLS),
 *                  mode 0600 enforced; for development and head units
 *                  without a secure element (signer_file.c)
 *   pkcs11:...     an RFC 7512 URI naming a key inside a PKCS#11 token
 *                  (TPM 2.0, HSM, secure element); the private key never
 *                  leaves it (signer_pkcs11.c)
 *
 * Each back end fills a struct signer_ops, the way curl's vtls back ends
 * fill struct Curl_ssl. */
#ifndef ECO2_SIGNER_H
#define ECO2_SIGNER_H

#include <stddef.h>
#include <stdint.h>
#include "lib/compiler.h"

/* COSE algorithm identifiers (RFC 9053). */
#define COSE_ALG_ES256  (-7)
#define COSE_ALG_EDDSA  (-8)

#define SIGNER_SIG_LEN      64   /* Ed25519, and ES256 as raw r||s */
#define SIGNER_PUBKEY_MAX   65   /* uncompressed SEC1 P-256 point */

typedef struct signer signer_t;

/* Open the key named by uri. pin: the token PIN, or NULL (for pkcs11: the
 * URI's pin-source= or pin-value= is used). 0 or -errno; errors logged. */
int signer_open(signer_t **out, const char *uri, const char *pin) __must_check;

/* COSE_ALG_ES256 or COSE_ALG_EDDSA. */
int signer_alg(const signer_t *s);

/* The raw public key: 32 bytes for Ed25519, 65 (0x04||X||Y) for P-256. */
size_t signer_pubkey(const signer_t *s, uint8_t out[SIGNER_PUBKEY_MAX]);

/* kid = first 8 bytes of SHA-256 of the raw public key. */
void signer_kid(const signer_t *s, uint8_t kid[8]);

/* Sign msg (the COSE Sig_structure bytes): Ed25519 signs msg itself; ES256
 * signs SHA-256(msg) and returns raw r||s. 0 or -errno. */
int signer_sign(signer_t *s, const uint8_t *msg, size_t len,
		uint8_t sig[SIGNER_SIG_LEN]) __must_check;

void signer_close(signer_t *s);

/* State tags: proof that a piece of saved state (eco2d's checkpoint) was
 * written by this device, so that nothing but the device can make a
 * figure it will later sign (docs/security.md, section 3). With
 *   D = SHA-256("eco2-agent state tag v1" || msg)
 * a tag is one of
 *   0x01 || HMAC-SHA256(K, D)   K a MAC key where the signing key lives: a
 *                               secret-key object in the PKCS#11 token
 *                               (CKM_SHA256_HMAC), or derived from a key
 *                               file's private key (crypto_kdf);
 *   0x02 || signature over D    by the signing key itself, for a token
 *                               without a MAC key (verified with the
 *                               public key).
 * D is 32 bytes, never a COSE Sig_structure: a state tag cannot pass for
 * a record signature, nor the other way round. */
#define SIGNER_TAG_HMAC  0x01
#define SIGNER_TAG_SIG   0x02
#define SIGNER_TAG_MAX   (1 + SIGNER_SIG_LEN)

/* Tag msg: the MAC when the back end has a MAC key, else a signature.
 * *tag_len gets 33 or 65. 0 or -errno (logged by the back end). */
int signer_tag(signer_t *s, const uint8_t *msg, size_t len,
	       uint8_t tag[SIGNER_TAG_MAX], size_t *tag_len) __must_check;

/* 0 when tag is this device's tag over msg (either kind; the MAC compared
 * in constant time); -EBADMSG when it is not, or cannot be checked (a MAC
 * tag and no MAC key); another -errno when the back end failed. */
int signer_tag_check(signer_t *s, const uint8_t *msg, size_t len,
		     const uint8_t *tag, size_t tag_len) __must_check;

/* Which kind signer_tag() makes, for logs: "hmac-sha256 (token secret
 * key)", "hmac-sha256 (derived from the key file)" or "signature (no MAC
 * key in the token)". */
const char *signer_tag_scheme(signer_t *s);

/* Create a new key at uri (file: writes it durably with mode 0600; pkcs11:
 * generates it inside the token, CKA_SENSITIVE and not extractable).
 * alg: COSE_ALG_ES256 or COSE_ALG_EDDSA. */
int signer_keygen(const char *uri, const char *pin, int alg) __must_check;

/* The public key as a PEM SubjectPublicKeyInfo ("-----BEGIN PUBLIC KEY-----",
 * RFC 5480 for P-256, RFC 8410 for Ed25519), NUL-terminated in out.
 * alg: COSE_ALG_ES256 (pub: 65-byte 0x04||X||Y) or COSE_ALG_EDDSA (pub: 32
 * bytes). 0, -EINVAL (wrong length or not a point on P-256) or -ENOSPC
 * (out_size too small; 256 bytes always suffice). */
int signer_spki_pem(int alg, const uint8_t *pub, size_t pub_len,
		    char *out, size_t out_size) __must_check;
#define SIGNER_SPKI_PEM_MAX 256

/* kid from a raw public key: first 8 bytes of SHA-256(pub). */
void signer_kid_of(const uint8_t *pub, size_t pub_len, uint8_t kid[8]);

/* "es256" or "ed25519" to COSE_ALG_*, 0 when unknown; and back. */
int signer_alg_from_name(const char *name);
const char *signer_alg_name(int alg);

#endif
