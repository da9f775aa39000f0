/* x509 back ends — what x509.c shares with x509_libcrypto.c (internal). */
#ifndef ECO2_X509_BE_H
#define ECO2_X509_BE_H

#include "crypto/x509.h"

/* Certificate files are read whole, with this bound. */
#define X509_FILE_MAX ((size_t)256 * 1024)

/* OpenSSL libcrypto (x509_libcrypto.c, CONFIG_VERIFY_LIBCRYPTO): as
 * x509_device_key and x509_subject_key. */
int x509_lc_device_key(const char *cert_path, const char *ca_path, int64_t at_s,
		       verify_key_t **out, struct x509_info *info, char *why,
		       size_t why_len);
int x509_lc_subject_key(const char *cert_path, verify_key_t **out, char *why,
			size_t why_len);

/* The validity decision both take: at_s within info's chain window (or
 * X509_AT_RECORDS). 0, or -EKEYREJECTED with why saying which end. */
int x509_window_check(const struct x509_info *info, const char *cert_path,
		      int64_t at_s, char *why, size_t why_len);

#endif
