/* x509 back end: OpenSSL libcrypto (CONFIG_VERIFY_LIBCRYPTO), which reads
 * the Ed25519 certificates mbedTLS 2.28 cannot. The same decisions as the
 * mbedTLS path of x509.c: the chain to the CA with OpenSSL's
 * X509_verify_cert (time left out, the window taken from every
 * certificate of the chain), key usage, a P-256 or Ed25519 subject key. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "lib/file.h"
#include "crypto/x509.h"
#include "crypto/x509_be.h"

/* Every certificate in a PEM file (or the one in a DER file); NULL with
 * why when there is none. */
static STACK_OF(X509) *read_certs(const char *path, char *why, size_t why_len)
{
	STACK_OF(X509) *sk = NULL;
	char *buf = NULL;
	size_t len = 0;
	BIO *b = NULL;
	X509 *x;

	if (file_read(path, X509_FILE_MAX, 0, NULL, &buf, &len))
		goto fail;
	sk = sk_X509_new_null();
	b = BIO_new_mem_buf(buf, (int)len);
	if (!sk || !b)
		goto fail;
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			goto fail;
		}
	if (!sk_X509_num(sk)) {
		const unsigned char *p = (const unsigned char *)buf;

		x = d2i_X509(NULL, &p, (long)len);
		if (!x || p != (const unsigned char *)buf + len || !sk_X509_push(sk, x)) {
			X509_free(x);
			goto fail;
		}
	}
	ERR_clear_error();
	BIO_free(b);
	free(buf);
	return sk;
fail:
	ERR_clear_error();
	snprintf(why, why_len, "%s: cannot read or parse the certificate (PEM or DER X.509)", path);
	sk_X509_pop_free(sk, X509_free);
	BIO_free(b);
	free(buf);
	return NULL;
}

static int64_t asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (!ASN1_TIME_to_tm(t, &tm))
		return 0;
	return (int64_t)timegm(&tm);
}

/* The subject key: P-256 or Ed25519, through its DER SubjectPublicKeyInfo. */
static int subject_key(X509 *crt, const char *path, verify_key_t **out, struct x509_info *info,
		       char *why, size_t why_len)
{
	EVP_PKEY *pk = X509_get0_pubkey(crt);
	unsigned char *der = NULL;
	const char *err = NULL;
	int n, ret;

	n = pk ? i2d_PUBKEY(pk, &der) : -1;
	if (n <= 0) {
		snprintf(why, why_len, "certificate %s: cannot read the subject key", path);
		return -EKEYREJECTED;
	}
	ret = verify_key_from_spki(out, der, (size_t)n, NULL, &err);
	OPENSSL_free(der);
	if (ret) {
		snprintf(why, why_len, "certificate %s: the subject key is neither P-256 nor Ed25519 (%s)",
			 path, err ? err : "unusable");
		return -EKEYREJECTED;
	}
	if (info)
		snprintf(info->key, sizeof(info->key), "%s",
			 verify_key_alg(*out) == COSE_ALG_EDDSA ? "Ed25519" : "P-256");
	return 0;
}

static void name_of(const X509_NAME *nm, char *buf, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	long n;

	buf[0] = 0;
	if (!b)
		return;
	if (X509_NAME_print_ex(b, nm, 0, XN_FLAG_RFC2253) >= 0) {
		n = BIO_get_mem_data(b, &p);
		if (n > 0)
			snprintf(buf, len, "%.*s", (int)n, p);
	}
	BIO_free(b);
}

static void lc_info(X509 *crt, struct x509_info *info)
{
	const ASN1_INTEGER *serial = X509_get0_serialNumber(crt);
	BIGNUM *bn = serial ? ASN1_INTEGER_to_BN(serial, NULL) : NULL;
	char *hex = bn ? BN_bn2hex(bn) : NULL;

	name_of(X509_get_subject_name(crt), info->subject, sizeof(info->subject));
	name_of(X509_get_issuer_name(crt), info->issuer, sizeof(info->issuer));
	snprintf(info->serial, sizeof(info->serial), "%s", hex ? hex : "");
	OPENSSL_free(hex);
	BN_free(bn);
	info->library = "libcrypto";
	info->not_before_s = asn1_time(X509_get0_notBefore(crt));
	info->not_after_s = asn1_time(X509_get0_notAfter(crt));
}

int x509_lc_device_key(const char *cert_path, const char *ca_path, int64_t at_s,
		       verify_key_t **out, struct x509_info *info, char *why, size_t why_len)
{
	STACK_OF(X509) *certs = NULL, *cas = NULL, *untrusted = NULL, *chain;
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509 *leaf;
	int ret = -EIO;

	*out = NULL;
	certs = read_certs(cert_path, why, why_len);
	if (!certs)
		goto out;
	cas = read_certs(ca_path, why, why_len);
	if (!cas)
		goto out;
	ret = -ENOMEM;
	store = X509_STORE_new();
	ctx = X509_STORE_CTX_new();
	untrusted = sk_X509_new_null();
	if (!store || !ctx || !untrusted)
		goto out;
	for (int i = 0; i < sk_X509_num(cas); i++)
		if (!X509_STORE_add_cert(store, sk_X509_value(cas, i)))
			goto out;
	leaf = sk_X509_value(certs, 0);
	for (int i = 1; i < sk_X509_num(certs); i++)
		if (!sk_X509_push(untrusted, sk_X509_value(certs, i)))
			goto out;
	if (!X509_STORE_CTX_init(ctx, store, leaf, untrusted))
		goto out;
	/* Time is decided below, against the window, as on the mbedTLS path. */
	X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx), X509_V_FLAG_NO_CHECK_TIME);
	ret = -EKEYREJECTED;
	if (X509_verify_cert(ctx) != 1) {
		int e = X509_STORE_CTX_get_error(ctx);

		snprintf(why, why_len, "certificate %s does not verify against %s: %s%s", cert_path,
			 ca_path, X509_verify_cert_error_string(e),
			 e == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
			 e == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
			 e == X509_V_ERR_CERT_SIGNATURE_FAILURE ? " (not issued by this CA)" : "");
		goto out;
	}
	lc_info(leaf, info);
	info->chain_from_s = INT64_MIN;
	info->chain_to_s = INT64_MAX;
	chain = X509_STORE_CTX_get0_chain(ctx);
	for (int i = 0; chain && i < sk_X509_num(chain); i++) {
		X509 *c = sk_X509_value(chain, i);
		int64_t from = asn1_time(X509_get0_notBefore(c)), to = asn1_time(X509_get0_notAfter(c));

		if (from > info->chain_from_s)
			info->chain_from_s = from;
		if (to < info->chain_to_s)
			info->chain_to_s = to;
	}
	ret = x509_window_check(info, cert_path, at_s, why, why_len);
	if (ret)
		goto out;
	if ((X509_get_extension_flags(leaf) & EXFLAG_KUSAGE) &&
	    !(X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE)) {
		snprintf(why, why_len, "certificate %s: key usage does not allow digitalSignature",
			 cert_path);
		ret = -EKEYREJECTED;
		goto out;
	}
	ret = subject_key(leaf, cert_path, out, info, why, why_len);
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	sk_X509_free(untrusted);
	sk_X509_pop_free(certs, X509_free);
	sk_X509_pop_free(cas, X509_free);
	return ret;
}

int x509_lc_subject_key(const char *cert_path, verify_key_t **out, char *why, size_t why_len)
{
	STACK_OF(X509) *certs;
	int ret;

	*out = NULL;
	certs = read_certs(cert_path, why, why_len);
	if (!certs)
		return -EIO;
	ret = subject_key(sk_X509_value(certs, 0), cert_path, out, NULL, why, why_len);
	sk_X509_pop_free(certs, X509_free);
	return ret;
}
