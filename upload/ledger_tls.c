/* ledger_tls — the TLS back end of this process's libcurl. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <curl/curl.h>

#include "upload/ledger_tls.h"

const char *ledger_tls_backend(void)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

	return v && v->ssl_version ? v->ssl_version : "";
}

/* Back ends whose CURLOPT_SSLKEY takes a PKCS#11 URI (lib/vtls/openssl.c
 * loads the pkcs11 engine for it; lib/vtls/gtls.c hands the name to
 * gnutls_certificate_set_x509_key_file2, which opens pkcs11: URLs). */
static const char *const token_backends[] = { "OpenSSL/", "GnuTLS/" };

bool ledger_tls_token_keys(const char *ssl_version)
{
	const char *p = ssl_version;

	if (!p)
		return false;
	/* Skip the back ends built in but not active: "(Name/x.y) ". */
	while (*p == ' ' || *p == '(') {
		if (*p == '(') {
			p = strchr(p, ')');
			if (!p)
				return false;
		}
		p++;
	}
	for (size_t i = 0; i < sizeof(token_backends) / sizeof(token_backends[0]); i++)
		if (!strncmp(p, token_backends[i], strlen(token_backends[i])))
			return true;
	return false;
}

int ledger_tls_check_key(const char *key, char *why, size_t why_len)
{
	const char *be;

	if (why_len)
		why[0] = '\0';
	if (!key || strncmp(key, "pkcs11:", 7))
		return 0;
	be = ledger_tls_backend();
	if (ledger_tls_token_keys(be))
		return 0;
	snprintf(why, why_len,
		 "a key in a PKCS#11 token needs libcurl with OpenSSL or GnuTLS; this one uses %s, "
		 "which reads keys from files only", *be ? be : "no TLS");
	return -ENOTSUP;
}
