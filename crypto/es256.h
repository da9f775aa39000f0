/* es256 — the one byte form of an ES256 signature (docs/record-format.md).
 *
 * ECDSA has two valid signatures for every one it makes: (r, s) and
 * (r, n - s), n the order of P-256. A record must have exactly one byte
 * form (its hash chains the next record), so every signer writes the
 * "low-S" one, s <= n / 2 (as Bitcoin's BIP 62 and libsecp256k1 do), and
 * a verifier refuses the other in a version 2 record.
 *
 * sig is the raw COSE form r || s, each 32 bytes big-endian. */
#ifndef ECO2_ES256_H
#define ECO2_ES256_H

#include <stdbool.h>
#include <stdint.h>
#include "lib/compiler.h"

/* Whether s (sig[32..64)) is at most n / 2. A constant-table compare of
 * public data: no secret is involved. */
bool es256_s_is_low(const uint8_t sig[64]);

/* Replace s by n - s when s > n / 2 (mbedTLS big-number arithmetic); the
 * result verifies exactly when the input did. 0, or -EINVAL for s = 0 or
 * s >= n (not a signature), -ENOMEM. */
int es256_normalize_s(uint8_t sig[64]) __must_check;

/* The other form, s -> n - s, whichever s is (for test vectors that must
 * carry a high s). Same returns. */
int es256_other_s(uint8_t sig[64]) __must_check;

#endif
