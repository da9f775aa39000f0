/* x509 — a device certificate checked against the maker's CA. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "crypto/x509.h"

/* The subject's P-256 key as a verify key. */
static int subject_key(mbedtls_x509_crt *crt, const char *path, verify_key_t **out,
		       char *why, size_t why_len)
{
	mbedtls_ecp_keypair *ec;
	uint8_t pt[SIGNER_PUBKEY_MAX];
	size_t pt_len;
	int ret;

	if (mbedtls_pk_get_type(&crt->pk) != MBEDTLS_PK_ECKEY ||
	    mbedtls_pk_ec(crt->pk)->grp.id != MBEDTLS_ECP_DP_SECP256R1) {
		snprintf(why, why_len, "certificate %s: the subject key is not P-256", path);
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
		 "(PEM or DER X.509 with an RSA or ECDSA key)", path);
	return -EIO;
}

int x509_subject_key(const char *cert_path, verify_key_t **out, char *why, size_t why_len)
{
	mbedtls_x509_crt crt;
	int ret;

	*out = NULL;
	mbedtls_x509_crt_init(&crt);
	ret = parse_cert(&crt, cert_path, why, why_len);
	if (!ret)
		ret = subject_key(&crt, cert_path, out, why, why_len);
	mbedtls_x509_crt_free(&crt);
	return ret;
}

int x509_device_key(const char *cert_path, const char *ca_path,
		    verify_key_t **out, char *why, size_t why_len)
{
	mbedtls_x509_crt crt, ca;
	uint32_t flags = 0;
	char info[512];
	int ret = -EIO;

	*out = NULL;
	mbedtls_x509_crt_init(&crt);
	mbedtls_x509_crt_init(&ca);
	if (parse_cert(&crt, cert_path, why, why_len) ||
	    parse_cert(&ca, ca_path, why, why_len))
		goto out;
	ret = -EKEYREJECTED;
	if (mbedtls_x509_crt_verify(&crt, &ca, NULL, NULL, &flags, NULL, NULL)) {
		size_t n;

		info[0] = 0;
		if (mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags) < 0)
			info[0] = 0;
		/* one line: "a; b; c" */
		n = strlen(info);
		while (n && info[n - 1] == '\n')
			info[--n] = 0;
		for (char *c = info; *c; c++)
			if (*c == '\n')
				*c = ';';
		snprintf(why, why_len, "certificate %s does not verify against %s:%s%s%s",
			 cert_path, ca_path, info[0] ? " " : "", info,
			 (flags & MBEDTLS_X509_BADCERT_EXPIRED) ? " (expired)" :
			 (flags & MBEDTLS_X509_BADCERT_FUTURE) ? " (not yet valid)" :
			 (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED) ? " (not issued by this CA)" : "");
		goto out;
	}
	/* 0 also when the certificate has no key usage extension. */
	if (mbedtls_x509_crt_check_key_usage(&crt, MBEDTLS_X509_KU_DIGITAL_SIGNATURE)) {
		snprintf(why, why_len, "certificate %s: key usage does not allow digitalSignature",
			 cert_path);
		goto out;
	}
	ret = subject_key(&crt, cert_path, out, why, why_len);
out:
	mbedtls_x509_crt_free(&crt);
	mbedtls_x509_crt_free(&ca);
	return ret;
}
