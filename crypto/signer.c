/* signer — URI-scheme dispatch over the key back ends, and the helpers
 * every back end shares (kid, SubjectPublicKeyInfo, self-check). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/base64.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>
#include <sodium.h>

#include "lib/log.h"
#include "crypto/signer.h"
#include "crypto/signer_int.h"

static const struct signer_ops *ops_for(const char *uri)
{
	static const struct {
		const char *scheme;
		const char *option;
		const struct signer_ops *ops;
	} table[] = {
		/* A back end left out by Kconfig is not compiled: the constant
		 * condition keeps its table from being referenced at all. */
		{ "file:", "CONFIG_SIGNER_FILE",
		  IS_ENABLED(CONFIG_SIGNER_FILE) ? &signer_file_ops : NULL },
		{ "pkcs11:", "CONFIG_SIGNER_PKCS11",
		  IS_ENABLED(CONFIG_SIGNER_PKCS11) ? &signer_pkcs11_ops : NULL },
	};

	if (!uri) {
		log_err("key: no key URI given");
		return NULL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		if (strncmp(uri, table[i].scheme, strlen(table[i].scheme)))
			continue;
		if (!table[i].ops) {
			log_err("key: %s keys are not built in (%s is off)",
				table[i].scheme, table[i].option);
			return NULL;
		}
		return table[i].ops;
	}
	log_err("key: '%.40s': expected a file:PATH or pkcs11: URI", uri);
	return NULL;
}

int signer_open(signer_t **out, const char *uri, const char *pin)
{
	const struct signer_ops *ops = ops_for(uri);
	struct signer *s = NULL;
	int ret = -EINVAL;

	*out = NULL;
	if (!ops)
		goto out;
	if (sodium_init() < 0) {
		log_err("key: libsodium failed to initialise");
		ret = -EIO;
		goto out;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		ret = -ENOMEM;
		goto out;
	}
	s->ops = ops;
	ret = ops->open(s, uri, pin);
	if (ret < 0)
		goto out;
	if (!((s->alg == COSE_ALG_ES256 && s->pub_len == 65) ||
	      (s->alg == COSE_ALG_EDDSA && s->pub_len == 32))) {
		log_err("key: back end returned an inconsistent key");
		ret = -EPROTO;
		goto out;
	}
	signer_kid_of(s->pub, s->pub_len, s->kid);
	*out = s;
	s = NULL;
	ret = 0;
out:
	signer_close(s);
	return ret;
}

int signer_alg(const signer_t *s)
{
	return s->alg;
}

size_t signer_pubkey(const signer_t *s, uint8_t out[SIGNER_PUBKEY_MAX])
{
	memcpy(out, s->pub, s->pub_len);
	return s->pub_len;
}

void signer_kid(const signer_t *s, uint8_t kid[8])
{
	memcpy(kid, s->kid, 8);
}

int signer_sign(signer_t *s, const uint8_t *msg, size_t len,
		uint8_t sig[SIGNER_SIG_LEN])
{
	return s->ops->sign(s, msg, len, sig);
}

void signer_close(signer_t *s)
{
	if (!s)
		return;
	if (s->ops && s->ops->close)
		s->ops->close(s);
	sodium_memzero(s, sizeof(*s));
	free(s);
}

int signer_keygen(const char *uri, const char *pin, int alg)
{
	const struct signer_ops *ops = ops_for(uri);

	if (!ops)
		return -EINVAL;
	if (alg != COSE_ALG_ES256 && alg != COSE_ALG_EDDSA) {
		log_err("key: algorithm %d: expected ES256 (-7) or EdDSA (-8)", alg);
		return -EINVAL;
	}
	if (sodium_init() < 0)
		return -EIO;
	return ops->keygen(uri, pin, alg);
}

void signer_kid_of(const uint8_t *pub, size_t pub_len, uint8_t kid[8])
{
	uint8_t h[32];

	crypto_hash_sha256(h, pub, pub_len);
	memcpy(kid, h, 8);
}

int signer_alg_from_name(const char *name)
{
	if (!name)
		return 0;
	if (!strcasecmp(name, "es256") || !strcasecmp(name, "p256") ||
	    !strcasecmp(name, "p-256"))
		return COSE_ALG_ES256;
	if (!strcasecmp(name, "ed25519") || !strcasecmp(name, "eddsa"))
		return COSE_ALG_EDDSA;
	return 0;
}

const char *signer_alg_name(int alg)
{
	switch (alg) {
	case COSE_ALG_ES256:
		return "es256";
	case COSE_ALG_EDDSA:
		return "ed25519";
	default:
		return "unknown";
	}
}

/* RFC 8410 §4: SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING (0
 * unused bits) { 32-byte key } } is always these 12 bytes then the key. */
static const uint8_t ed25519_spki_prefix[12] = {
	0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
};

static int ed25519_spki_pem(const uint8_t pub[32], char *out, size_t out_size)
{
	static const char head[] = "-----BEGIN PUBLIC KEY-----\n";
	static const char tail[] = "\n-----END PUBLIC KEY-----\n";
	uint8_t der[44];
	unsigned char b64[64];
	size_t b64_len = 0;

	memcpy(der, ed25519_spki_prefix, sizeof(ed25519_spki_prefix));
	memcpy(der + 12, pub, 32);
	/* 44 bytes are 60 base64 characters: one PEM line. */
	if (mbedtls_base64_encode(b64, sizeof(b64), &b64_len, der, sizeof(der)))
		return -EINVAL;
	int n = snprintf(out, out_size, "%s%.*s%s", head, (int)b64_len,
			 (const char *)b64, tail);
	if (n < 0 || (size_t)n >= out_size)
		return -ENOSPC;
	return 0;
}

static int p256_spki_pem(const uint8_t pub[65], char *out, size_t out_size)
{
	mbedtls_pk_context pk;
	mbedtls_ecp_keypair *ec;
	int ret = -EINVAL;

	mbedtls_pk_init(&pk);
	if (mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)))
		goto out;
	ec = mbedtls_pk_ec(pk);
	if (mbedtls_ecp_group_load(&ec->grp, MBEDTLS_ECP_DP_SECP256R1) ||
	    mbedtls_ecp_point_read_binary(&ec->grp, &ec->Q, pub, 65) ||
	    mbedtls_ecp_check_pubkey(&ec->grp, &ec->Q))
		goto out;
	int r = mbedtls_pk_write_pubkey_pem(&pk, (unsigned char *)out, out_size);
	if (r) {
		ret = -ENOSPC;
		goto out;
	}
	ret = 0;
out:
	mbedtls_pk_free(&pk);
	return ret;
}

int signer_spki_pem(int alg, const uint8_t *pub, size_t pub_len,
		    char *out, size_t out_size)
{
	if (alg == COSE_ALG_EDDSA && pub_len == 32)
		return ed25519_spki_pem(pub, out, out_size);
	if (alg == COSE_ALG_ES256 && pub_len == 65)
		return p256_spki_pem(pub, out, out_size);
	return -EINVAL;
}

static int es256_check(const uint8_t pub[65], const uint8_t *msg, size_t len,
		       const uint8_t sig[64])
{
	mbedtls_ecp_group grp;
	mbedtls_ecp_point q;
	mbedtls_mpi r, s;
	uint8_t h[32];
	int ret = -EBADMSG;

	mbedtls_ecp_group_init(&grp);
	mbedtls_ecp_point_init(&q);
	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	crypto_hash_sha256(h, msg, len);
	if (mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1) ||
	    mbedtls_ecp_point_read_binary(&grp, &q, pub, 65) ||
	    mbedtls_mpi_read_binary(&r, sig, 32) ||
	    mbedtls_mpi_read_binary(&s, sig + 32, 32))
		goto out;
	if (mbedtls_ecdsa_verify(&grp, h, sizeof(h), &q, &r, &s))
		goto out;
	ret = 0;
out:
	mbedtls_mpi_free(&r);
	mbedtls_mpi_free(&s);
	mbedtls_ecp_point_free(&q);
	mbedtls_ecp_group_free(&grp);
	return ret;
}

int signer_check_sig(int alg, const uint8_t *pub, size_t pub_len,
		     const uint8_t *msg, size_t len,
		     const uint8_t sig[SIGNER_SIG_LEN])
{
	if (alg == COSE_ALG_EDDSA && pub_len == 32)
		return crypto_sign_verify_detached(sig, msg, len, pub) ? -EBADMSG : 0;
	if (alg == COSE_ALG_ES256 && pub_len == 65)
		return es256_check(pub, msg, len, sig);
	return -EINVAL;
}

int signer_key_attrs(signer_t *s, struct signer_key_attrs *out)
{
	if (!s->ops->key_attrs)
		return -ENOTSUP;
	return s->ops->key_attrs(s, out);
}

/* ---- state tags (signer.h) ------------------------------------------------ */

static const char tag_context[] = "eco2-agent state tag v1";

static void tag_digest(const uint8_t *msg, size_t len, uint8_t d[32])
{
	crypto_hash_sha256_state h;

	crypto_hash_sha256_init(&h);
	crypto_hash_sha256_update(&h, (const uint8_t *)tag_context, sizeof(tag_context) - 1);
	crypto_hash_sha256_update(&h, msg, len);
	crypto_hash_sha256_final(&h, d);
}

/* The back end's MAC of d: 0, -ENOTSUP (no MAC key) or another -errno. */
static int tag_mac(signer_t *s, const uint8_t d[32], uint8_t out[32])
{
	if (!s->ops->mac)
		return -ENOTSUP;
	return s->ops->mac(s, d, 32, out);
}

int signer_tag(signer_t *s, const uint8_t *msg, size_t len,
	       uint8_t tag[SIGNER_TAG_MAX], size_t *tag_len)
{
	uint8_t d[32];
	int ret;

	*tag_len = 0;
	tag_digest(msg, len, d);
	ret = tag_mac(s, d, tag + 1);
	if (ret == 0) {
		tag[0] = SIGNER_TAG_HMAC;
		*tag_len = 1 + 32;
		return 0;
	}
	if (ret != -ENOTSUP)
		return ret;
	ret = s->ops->sign(s, d, sizeof(d), tag + 1);
	if (ret)
		return ret;
	tag[0] = SIGNER_TAG_SIG;
	*tag_len = 1 + SIGNER_SIG_LEN;
	return 0;
}

int signer_tag_check(signer_t *s, const uint8_t *msg, size_t len,
		     const uint8_t *tag, size_t tag_len)
{
	uint8_t d[32], mac[32];
	int ret;

	if (!tag || tag_len < 1)
		return -EBADMSG;
	tag_digest(msg, len, d);
	if (tag[0] == SIGNER_TAG_HMAC && tag_len == 1 + 32) {
		ret = tag_mac(s, d, mac);
		if (ret == -ENOTSUP)
			return -EBADMSG;   /* made with a MAC key this device lacks */
		if (ret)
			return ret;
		ret = sodium_memcmp(mac, tag + 1, 32) ? -EBADMSG : 0;
		sodium_memzero(mac, sizeof(mac));
		return ret;
	}
	if (tag[0] == SIGNER_TAG_SIG && tag_len == 1 + SIGNER_SIG_LEN)
		return signer_check_sig(s->alg, s->pub, s->pub_len, d, sizeof(d), tag + 1) ?
		       -EBADMSG : 0;
	return -EBADMSG;
}

const char *signer_tag_scheme(signer_t *s)
{
	uint8_t d[32] = { 0 }, mac[32];
	int ret = tag_mac(s, d, mac);

	sodium_memzero(mac, sizeof(mac));
	if (!ret && s->ops->mac_scheme)
		return s->ops->mac_scheme;
	return "signature by the device key (no MAC key)";
}
