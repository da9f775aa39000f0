/* x509 — a device certificate checked against the maker's CA (mbedTLS).
 *
 * An automaker's CA issues each vehicle a certificate for its record key
 * (`eco2ctl pubkey` prints the SubjectPublicKeyInfo to certify). A
 * certifier holding the CA's root checks here that the device certificate
 *   - chains to the CA (intermediates may follow the device certificate in
 *     its PEM file),
 *   - is within its validity period now,
 *   - allows digitalSignature when it carries a key usage extension,
 * and takes the record key from it: P-256 (ES256). mbedTLS 2.28 parses no
 * Ed25519 certificates, so Ed25519 device keys are checked with --pubkey. */
#ifndef ECO2_X509_H
#define ECO2_X509_H

#include <stddef.h>
#include "lib/compiler.h"
#include "crypto/verify.h"

/* 0 with *out the device key (for verify_*); otherwise:
 *   -EIO      a file cannot be read or parsed (why says which)
 *   -EKEYREJECTED  the certificate does not verify: wrong CA, expired or
 *             not yet valid, key usage without digitalSignature, or a key
 *             that is not P-256 (why says which)
 * why[why_len] always gets a message on failure. */
int x509_device_key(const char *cert_path, const char *ca_path,
		    verify_key_t **out, char *why, size_t why_len) __must_check;

/* The subject key alone, certificate NOT verified (to go on checking the
 * records after x509_device_key refused the certificate). Same returns. */
int x509_subject_key(const char *cert_path, verify_key_t **out, char *why,
		     size_t why_len) __must_check;

#endif
