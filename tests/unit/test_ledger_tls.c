/* Unit tests for upload/ledger_tls.c: which libcurl TLS back ends take a
 * client key from a PKCS#11 token, read from curl_version_info()'s
 * ssl_version as libcurl prints it (one back end; several, the active one
 * outside parentheses), and the configuration check on this process's
 * own libcurl. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "upload/ledger_tls.h"

static void test_backends(void **state)
{
	static const struct {
		const char *v;
		bool token;
	} cases[] = {
		{ "OpenSSL/3.0.11", true },
		{ "GnuTLS/3.7.9", true },
		{ "mbedTLS/2.28.3", false },
		{ "wolfSSL/5.5.4", false },
		{ "BearSSL", false },
		{ "rustls-ffi/0.8.2/rustls/0.20.4", false },
		{ "Schannel", false },
		/* MultiSSL builds: the active back end is outside parentheses */
		{ "(OpenSSL/3.0.11) mbedTLS/2.28.3", false },
		{ "(mbedTLS/2.28.3) OpenSSL/3.0.11", true },
		{ "(OpenSSL/3.0.11) (GnuTLS/3.7.9) Schannel", false },
		{ "(OpenSSL/3.0.11", false },
		{ "OpenSSL", false },
		{ "", false },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = ledger_tls_token_keys(cases[i].v);

		if (got != cases[i].token)
			fail_msg("\"%s\": %d, expected %d", cases[i].v, got, cases[i].token);
	}
	assert_false(ledger_tls_token_keys(NULL));
}

static void test_check_key_here(void **state)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	const char *be = v->ssl_version ? v->ssl_version : "";
	char why[256];
	int ret;
	(void)state;

	assert_string_equal(ledger_tls_backend(), be);
	/* files and no key at all are every back end's business */
	assert_int_equal(ledger_tls_check_key(NULL, why, sizeof(why)), 0);
	assert_int_equal(ledger_tls_check_key("/etc/eco2/keys/tls.key", why, sizeof(why)), 0);
	assert_string_equal(why, "");

	ret = ledger_tls_check_key("pkcs11:token=t;object=dev;type=private", why, sizeof(why));
	if (!strncmp(be, "OpenSSL/", 8) || !strncmp(be, "GnuTLS/", 7)) {
		assert_int_equal(ret, 0);
	} else {
		assert_int_equal(ret, -ENOTSUP);
		assert_non_null(strstr(why, be));
	}
	/* a short buffer is cut, never overrun */
	ret = ledger_tls_check_key("pkcs11:object=dev", why, 8);
	assert_true(strlen(why) < 8);
	(void)ret;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backends),
		cmocka_unit_test(test_check_key_here),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
