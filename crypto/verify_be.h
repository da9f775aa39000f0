/* verify back ends — the function table each signature back end fills
 * (internal to verify.c and its back-end files). */
#ifndef ECO2_VERIFY_BE_H
#define ECO2_VERIFY_BE_H

#include <stddef.h>
#include <stdint.h>
#include "crypto/signer.h"

struct verify_ops {
	const char *name;
	int alg;                       /* COSE_ALG_* it verifies */
	/* Load a raw public key (already length-checked); 0, -EINVAL, -ENOMEM. */
	int (*load)(void **be, const uint8_t *pub, size_t len);
	/* 0 when sig is a valid signature of msg (the Sig_structure; ES256
	 * back ends hash it with SHA-256 first), else -EBADE. */
	int (*verify)(void *be, const uint8_t *msg, size_t len,
		      const uint8_t sig[SIGNER_SIG_LEN]);
	void (*free)(void *be);
};

/* OpenSSL libcrypto ES256 (verify_libcrypto.c, CONFIG_VERIFY_LIBCRYPTO). */
extern const struct verify_ops verify_ops_libcrypto;

#endif
