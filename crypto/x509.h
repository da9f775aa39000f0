/* x509 — a device certificate checked against the maker's CA.
 *
 * An automaker's CA issues each vehicle a certificate for its record key
 * (`eco2ctl pubkey` prints the SubjectPublicKeyInfo to certify). A
 * certifier holding the CA's root checks here that the device certificate
 *   - chains to the CA (intermediates may follow the device certificate in
 *     its PEM file),
 *   - was valid at the time asked, or, for records, gives the window each
 *     record's time must lie in (an archived record stays verifiable after
 *     its certificate expires: what matters is when it was signed),
 *   - allows digitalSignature when it carries a key usage extension,
 * and takes the record key from it: P-256 (ES256) or Ed25519.
 *
 * Two libraries read certificates: mbedTLS (every build) and, where
 * CONFIG_VERIFY_LIBCRYPTO is on, OpenSSL's libcrypto, which also reads the
 * Ed25519 certificates mbedTLS 2.28 cannot. Both check the chain's
 * signatures and take the same decisions here. */
#ifndef ECO2_X509_H
#define ECO2_X509_H

#include <stddef.h>
#include <stdint.h>
#include "lib/compiler.h"
#include "crypto/verify.h"

/* at_s for "do not check the validity now: give its window". */
#define X509_AT_RECORDS INT64_MIN

struct x509_info {
	char subject[160];         /* the device certificate's, RFC 4514-ish */
	char issuer[160];
	char serial[80];           /* hex */
	char key[16];              /* "P-256" or "Ed25519" */
	const char *library;       /* "mbedtls" or "libcrypto" */
	int64_t not_before_s;      /* the device certificate's validity, UTC s */
	int64_t not_after_s;
	int64_t chain_from_s;      /* the window every certificate of the chain */
	int64_t chain_to_s;        /* (device, intermediates, root) is valid in */
};

/* 0 with *out the device key (for verify_*), *info filled; otherwise:
 *   -EIO           a file cannot be read or parsed (why says which)
 *   -EKEYREJECTED  the certificate does not verify: wrong CA, outside its
 *                  validity at at_s, key usage without digitalSignature,
 *                  or a key that is neither P-256 nor Ed25519 (why says
 *                  which)
 *   -ENOTSUP       library names one not built
 * at_s: UTC seconds to check every certificate of the chain's validity
 * at, or X509_AT_RECORDS not to (then check each record's time against
 * info->chain_from_s .. chain_to_s). library: "mbedtls", "libcrypto", or
 * NULL for mbedTLS, then libcrypto (if built) for what mbedTLS cannot
 * read. why[why_len] always gets a message on failure. info may be NULL. */
int x509_device_key(const char *cert_path, const char *ca_path, int64_t at_s,
		    const char *library, verify_key_t **out, struct x509_info *info,
		    char *why, size_t why_len) __must_check;

/* The subject key alone, certificate NOT verified (to go on checking the
 * records after x509_device_key refused the certificate). Same returns. */
int x509_subject_key(const char *cert_path, verify_key_t **out, char *why,
		     size_t why_len) __must_check;

#endif
