/* es256 — low-S normalisation of ES256 signatures. */
#include <errno.h>
#include <string.h>

#include <mbedtls/bignum.h>

#include "crypto/es256.h"

/* The order n of P-256 (SEC 2 v2, section 2.4.2; FIPS 186-4 D.1.2.3) and
 * n / 2 rounded down, big-endian. */
static const uint8_t p256_n[32] = {
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
	0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};
static const uint8_t p256_half_n[32] = {
	0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00,
	0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42,
	0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
};

bool es256_s_is_low(const uint8_t sig[64])
{
	/* Big-endian byte strings of equal length compare as numbers. */
	return memcmp(sig + 32, p256_half_n, 32) <= 0;
}

int es256_normalize_s(uint8_t sig[64])
{
	static const uint8_t zero[32];

	if (!memcmp(sig + 32, zero, 32) || memcmp(sig + 32, p256_n, 32) >= 0)
		return -EINVAL;
	return es256_s_is_low(sig) ? 0 : es256_other_s(sig);
}

int es256_other_s(uint8_t sig[64])
{
	static const uint8_t zero[32];
	mbedtls_mpi n, s;
	int ret = -EINVAL;

	if (!memcmp(sig + 32, zero, 32) || memcmp(sig + 32, p256_n, 32) >= 0)
		return -EINVAL;
	mbedtls_mpi_init(&n);
	mbedtls_mpi_init(&s);
	ret = -ENOMEM;
	if (mbedtls_mpi_read_binary(&n, p256_n, 32) ||
	    mbedtls_mpi_read_binary(&s, sig + 32, 32) ||
	    mbedtls_mpi_sub_mpi(&s, &n, &s) ||
	    mbedtls_mpi_write_binary(&s, sig + 32, 32))
		goto out;
	ret = 0;
out:
	mbedtls_mpi_free(&n);
	mbedtls_mpi_free(&s);
	return ret;
}
