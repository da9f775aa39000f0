/* x509 — a device certificate checked against the maker's CA. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "lib/compiler.h"
#include "lib/isotime.h"
#include "crypto/x509.h"
#include "crypto/x509_be.h"

int x509_window_check(const struct x509_info *info, const char *cert_path,
		      int64_t at_s, char *why, size_t why_len)
{
	char at[ISO_UTC_LEN], a[ISO_UTC_LEN], b[ISO_UTC_LEN];

	if (at_s == X509_AT_RECORDS)
		return 0;
	if (at_s >= info->chain_from_s && at_s <= info->chain_to_s)
		return 0;
	iso_utc(at_s, at);
	iso_utc(info->chain_from_s, a);
	iso_utc(info->chain_to_s, b);
	snprintf(why, why_len, "certificate %s: %s at %s (its chain is valid from %s to %s)",
		 cert_path, at_s < info->chain_from_s ? "not yet valid" : "expired", at, a, b);
	return -EKEYREJECTED;
}

/* ---- mbedTLS ------------------------------------------------------------------ */

static int64_t mbed_time(const mbedtls_x509_time *t)
{
	struct tm tm = {
		.tm_year = t->year - 1900, .tm_mon = t->mon - 1, .tm_mday = t->day,
		.tm_hour = t->hour, .tm_min = t->min, .tm_sec = t->sec,
	};

	return (int64_t)timegm(&tm);
}

/* Each certificate of the chain, leaf to root: its validity narrows the
 * window, and the time flags are cleared (the caller decides on time). */
static int window_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	struct x509_info *info = ctx;
	int64_t from = mbed_time(&crt->valid_from), to = mbed_time(&crt->valid_to);

	(void)depth;
	if (from > info->chain_from_s)
		info->chain_from_s = from;
	if (to < info->chain_to_s)
		info->chain_to_s = to;
	*flags &= ~(uint32_t)(MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE);
	return 0;
}

/* The subject's key as a verify key: P-256 here (mbedTLS 2.28 parses no
 * Ed25519 certificate). */
static int subject_key(mbedtls_x509_crt *crt, const char *path, verify_key_t **out,
		       char *why, size_t why_len)
{
	mbedtls_ecp_keypair *ec;
	uint8_t pt[SIGNER_PUBKEY_MAX];
	size_t pt_len;
	int ret;

	if (mbedtls_pk_get_type(&crt->pk) != MBEDTLS_PK_ECKEY ||
	    mbedtls_pk_ec(crt->pk)->grp.id != MBEDTLS_ECP_DP_SECP256R1) {
		snprintf(why, why_len, "certificate %s: the subject key is neither P-256 nor Ed25519",
			 path);
		return -EKEYREJECTED;
	}
	ec = mbedtls_pk_ec(crt->pk);
	if (mbedtls_ecp_point_write_binary(&ec->grp, &ec->Q, MBEDTLS_ECP_PF_UNCOMPRESSED,
					   &pt_len, pt, sizeof(pt))) {
		snprintf(why, why_len, "certificate %s: cannot encode the subject key", path);
		return -EKEYREJECTED;
	}
	ret = verify_key_new(out, COSE_ALG_ES256, pt, pt_len, NULL);
	if (ret) {
		snprintf(why, why_len, "certificate %s: unusable subject key (%s)", path,
			 strerror(-ret));
		return -EKEYREJECTED;
	}
	return 0;
}

static int parse_cert(mbedtls_x509_crt *crt, const char *path, char *why, size_t why_len)
{
	if (!mbedtls_x509_crt_parse_file(crt, path))
		return 0;
	snprintf(why, why_len, "%s: cannot read or parse the certificate "
		 "(PEM or DER X.509 with an RSA or ECDSA key%s)", path,
		 IS_ENABLED(CONFIG_VERIFY_LIBCRYPTO) ? ", or Ed25519" :
		 "; Ed25519 needs a build with CONFIG_VERIFY_LIBCRYPTO");
	return -EIO;
}

static void mbed_info(const mbedtls_x509_crt *crt, struct x509_info *info)
{
	if (mbedtls_x509_dn_gets(info->subject, sizeof(info->subject), &crt->subject) < 0)
		info->subject[0] = 0;
	if (mbedtls_x509_dn_gets(info->issuer, sizeof(info->issuer), &crt->issuer) < 0)
		info->issuer[0] = 0;
	if (mbedtls_x509_serial_gets(info->serial, sizeof(info->serial), &crt->serial) < 0)
		info->serial[0] = 0;
	snprintf(info->key, sizeof(info->key), "P-256");
	info->library = "mbedtls";
	info->not_before_s = mbed_time(&crt->valid_from);
	info->not_after_s = mbed_time(&crt->valid_to);
}

static int mbed_device_key(const char *cert_path, const char *ca_path, int64_t at_s,
			   verify_key_t **out, struct x509_info *info, char *why, size_t why_len)
{
	mbedtls_x509_crt crt, ca;
	uint32_t flags = 0;
	char msg[512];
	int ret = -EIO;

	mbedtls_x509_crt_init(&crt);
	mbedtls_x509_crt_init(&ca);
	if (parse_cert(&crt, cert_path, why, why_len) ||
	    parse_cert(&ca, ca_path, why, why_len))
		goto out;
	ret = -EKEYREJECTED;
	info->chain_from_s = INT64_MIN;
	info->chain_to_s = INT64_MAX;
	if (mbedtls_x509_crt_verify(&crt, &ca, NULL, NULL, &flags, window_cb, info)) {
		size_t n;

		msg[0] = 0;
		if (mbedtls_x509_crt_verify_info(msg, sizeof(msg), "", flags) < 0)
			msg[0] = 0;
		/* one line: "a; b; c" */
		n = strlen(msg);
		while (n && msg[n - 1] == '\n')
			msg[--n] = 0;
		for (char *c = msg; *c; c++)
			if (*c == '\n')
				*c = ';';
		snprintf(why, why_len, "certificate %s does not verify against %s:%s%s%s",
			 cert_path, ca_path, msg[0] ? " " : "", msg,
			 (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED) ? " (not issued by this CA)" : "");
		goto out;
	}
	mbed_info(&crt, info);
	ret = x509_window_check(info, cert_path, at_s, why, why_len);
	if (ret)
		goto out;
	/* 0 also when the certificate has no key usage extension. */
	if (mbedtls_x509_crt_check_key_usage(&crt, MBEDTLS_X509_KU_DIGITAL_SIGNATURE)) {
		snprintf(why, why_len, "certificate %s: key usage does not allow digitalSignature",
			 cert_path);
		ret = -EKEYREJECTED;
		goto out;
	}
	ret = subject_key(&crt, cert_path, out, why, why_len);
out:
	mbedtls_x509_crt_free(&crt);
	mbedtls_x509_crt_free(&ca);
	return ret;
}

static int mbed_subject_key(const char *cert_path, verify_key_t **out, char *why, size_t why_len)
{
	mbedtls_x509_crt crt;
	int ret;

	mbedtls_x509_crt_init(&crt);
	ret = parse_cert(&crt, cert_path, why, why_len);
	if (!ret)
		ret = subject_key(&crt, cert_path, out, why, why_len);
	mbedtls_x509_crt_free(&crt);
	return ret;
}

/* ---- either ------------------------------------------------------------------------ */

int x509_device_key(const char *cert_path, const char *ca_path, int64_t at_s,
		    const char *library, verify_key_t **out, struct x509_info *info,
		    char *why, size_t why_len)
{
	struct x509_info dummy;
	int ret;

	*out = NULL;
	if (!info)
		info = &dummy;
	memset(info, 0, sizeof(*info));
	if (library && strcmp(library, "mbedtls") &&
	    (strcmp(library, "libcrypto") || !IS_ENABLED(CONFIG_VERIFY_LIBCRYPTO))) {
		snprintf(why, why_len, "certificate library %s: not built (mbedtls%s)", library,
			 IS_ENABLED(CONFIG_VERIFY_LIBCRYPTO) ? ", libcrypto" : "");
		return -ENOTSUP;
	}
	if (IS_ENABLED(CONFIG_VERIFY_LIBCRYPTO) && library && !strcmp(library, "libcrypto"))
		return x509_lc_device_key(cert_path, ca_path, at_s, out, info, why, why_len);
	ret = mbed_device_key(cert_path, ca_path, at_s, out, info, why, why_len);
	/* What mbedTLS cannot read (an Ed25519 certificate or CA), OpenSSL
	 * may. */
	if (ret == -EIO && !library && IS_ENABLED(CONFIG_VERIFY_LIBCRYPTO)) {
		memset(info, 0, sizeof(*info));
		ret = x509_lc_device_key(cert_path, ca_path, at_s, out, info, why, why_len);
	}
	return ret;
}

int x509_subject_key(const char *cert_path, verify_key_t **out, char *why, size_t why_len)
{
	int ret;

	*out = NULL;
	ret = mbed_subject_key(cert_path, out, why, why_len);
	if (ret == -EIO && IS_ENABLED(CONFIG_VERIFY_LIBCRYPTO))
		ret = x509_lc_subject_key(cert_path, out, why, why_len);
	return ret;
}
