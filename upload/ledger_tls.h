/* ledger_tls — what the TLS back end of the libcurl eco2d runs with can do
 * for the ledger connection.
 *
 * A device key inside a PKCS#11 token ([ledger] key = pkcs11:...) reaches
 * TLS only through libcurl's OpenSSL back end (which loads OpenSSL's
 * pkcs11 engine for it) or its GnuTLS back end (PKCS#11 URLs through
 * p11-kit). The mbedTLS, wolfSSL, BearSSL and rustls back ends read
 * CURLOPT_SSLKEY as a file name only: with them such a key fails every
 * upload, so the configuration refuses it up front. */
#ifndef ECO2_LEDGER_TLS_H
#define ECO2_LEDGER_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include "lib/compiler.h"

/* The active TLS back end as curl_version_info() names it
 * ("mbedTLS/2.28.3", "OpenSSL/3.0.11"); "" for a libcurl without TLS. */
const char *ledger_tls_backend(void);

/* Whether the back end named by ssl_version loads a client key from a
 * pkcs11: URI. ssl_version is curl_version_info()'s: with several back ends
 * built in, the active one is the name outside parentheses
 * ("(OpenSSL/3.0.11) mbedTLS/2.28.3" runs mbedTLS). NULL: false. */
bool ledger_tls_token_keys(const char *ssl_version);

/* 0 when key (a [ledger] key: a file, or a pkcs11: URI; NULL: none) can be
 * used by this process's libcurl; -ENOTSUP for a pkcs11: URI it cannot
 * load, with the reason in why (why_len bytes, always terminated). */
int ledger_tls_check_key(const char *key, char *why, size_t why_len) __must_check;

#endif
