/* signer_int — what signer.c shares with its back ends (not a public API).
 *
 * signer.c owns struct signer and the URI-scheme dispatch; a back end fills
 * the common fields (alg, pub) in its open() and keeps its own state behind
 * `priv`. */
#ifndef ECO2_SIGNER_INT_H
#define ECO2_SIGNER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "crypto/signer.h"

struct signer {
	const struct signer_ops *ops;
	int alg;                          /* COSE_ALG_* */
	uint8_t pub[SIGNER_PUBKEY_MAX];   /* raw: 32 (Ed25519) or 65 (P-256) */
	size_t pub_len;
	uint8_t kid[8];                   /* filled by signer.c after open() */
	void *priv;                       /* the back end's state */
};

struct signer_key_attrs {
	bool sensitive, extractable, always_sensitive, never_extractable;
};

struct signer_ops {
	const char *scheme;               /* "file:", "pkcs11:" (with the colon) */
	/* Fill s->alg, s->pub, s->pub_len and s->priv; 0 or -errno, logged. */
	int (*open)(struct signer *s, const char *uri, const char *pin);
	int (*sign)(struct signer *s, const uint8_t *msg, size_t len,
		    uint8_t sig[SIGNER_SIG_LEN]);
	/* Free s->priv (NULL allowed) and wipe what it held. */
	void (*close)(struct signer *s);
	int (*keygen)(const char *uri, const char *pin, int alg);
	/* Optional: see signer_key_attrs(). */
	int (*key_attrs)(struct signer *s, struct signer_key_attrs *out);
	/* Optional: HMAC-SHA256 of msg under the back end's MAC key (see
	 * signer_tag() in signer.h). -ENOTSUP when it has none: signer.c
	 * then tags with a signature. mac_scheme names the key for logs. */
	int (*mac)(struct signer *s, const uint8_t *msg, size_t len, uint8_t out[32]);
	const char *mac_scheme;
};

extern const struct signer_ops signer_file_ops;
extern const struct signer_ops signer_pkcs11_ops;

/* Verify a signature made by s against its own public key (mbedTLS for
 * ES256, libsodium for Ed25519): 0 when valid, -EBADMSG when not. Back ends
 * use it to prove at open time that the public key they found belongs to
 * the private key (a token may hold a stale public object under one id). */
int signer_check_sig(int alg, const uint8_t *pub, size_t pub_len,
		     const uint8_t *msg, size_t len,
		     const uint8_t sig[SIGNER_SIG_LEN]) __must_check;

/* Attributes of a PKCS#11 private key as the token reports them (for
 * tests). -ENOTSUP for a back end without them (a key file). */
int signer_key_attrs(signer_t *s, struct signer_key_attrs *out) __must_check;

#endif
