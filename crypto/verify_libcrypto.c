/* verify back end: ES256 with OpenSSL libcrypto (CONFIG_VERIFY_LIBCRYPTO).
 *
 * eco2-verify runs on certifiers' hosts, where OpenSSL's P-256 verify is
 * about twenty times faster than mbedTLS 2.28's. The message is hashed
 * with SHA-256 here and the digest verified, the signature converted from
 * COSE's raw r||s to the DER ECDSA-Sig-Value libcrypto expects. */
#include <errno.h>
#include <stdlib.h>

#include <mbedtls/sha256.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "crypto/verify_be.h"

struct lc_es256 {
	EVP_PKEY *pkey;
	EVP_PKEY_CTX *ctx;     /* initialised for verify once, reused */
};

static void lc_free(void *be)
{
	struct lc_es256 *l = be;

	if (!l)
		return;
	EVP_PKEY_CTX_free(l->ctx);
	EVP_PKEY_free(l->pkey);
	free(l);
}

static int lc_load(void **be, const uint8_t *pub, size_t len)
{
	struct lc_es256 *l;
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *fctx = NULL;
	int ret = -ENOMEM;

	l = calloc(1, sizeof(*l));
	if (!l)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
						     (char *)"prime256v1", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
						      (void *)pub, len);
	params[2] = OSSL_PARAM_construct_end();
	ret = -EINVAL;
	fctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!fctx || EVP_PKEY_fromdata_init(fctx) <= 0 ||
	    EVP_PKEY_fromdata(fctx, &l->pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto out;
	l->ctx = EVP_PKEY_CTX_new(l->pkey, NULL);
	if (!l->ctx || EVP_PKEY_public_check(l->ctx) <= 0 ||
	    EVP_PKEY_verify_init(l->ctx) <= 0)
		goto out;
	*be = l;
	l = NULL;
	ret = 0;
out:
	EVP_PKEY_CTX_free(fctx);
	lc_free(l);
	return ret;
}

static int lc_verify(void *be, const uint8_t *msg, size_t len,
		     const uint8_t sig[SIGNER_SIG_LEN])
{
	struct lc_es256 *l = be;
	ECDSA_SIG *es = NULL;
	BIGNUM *r, *s;
	uint8_t h[32], der[80], *p = der;
	int der_len, ret = -EBADE;

	if (mbedtls_sha256_ret(msg, len, h, 0))
		goto out;
	r = BN_bin2bn(sig, 32, NULL);
	s = BN_bin2bn(sig + 32, 32, NULL);
	es = ECDSA_SIG_new();
	if (!r || !s || !es || !ECDSA_SIG_set0(es, r, s)) {
		BN_free(r);
		BN_free(s);
		goto out;
	}
	der_len = i2d_ECDSA_SIG(es, NULL);
	if (der_len <= 0 || der_len > (int)sizeof(der))
		goto out;
	der_len = i2d_ECDSA_SIG(es, &p);
	if (der_len > 0 && EVP_PKEY_verify(l->ctx, der, (size_t)der_len, h, sizeof(h)) == 1)
		ret = 0;
out:
	ECDSA_SIG_free(es);
	return ret;
}

const struct verify_ops verify_ops_libcrypto = {
	.name = "libcrypto", .alg = COSE_ALG_ES256,
	.load = lc_load, .verify = lc_verify, .free = lc_free,
};
