/* Unit tests for crypto/es256.c: low-S normalisation keeps a signature
 * valid (checked with mbedTLS's own ECDSA verify), lands at or below n/2,
 * is the identity on a low-S signature, and refuses s = 0 and s >= n. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include <mbedtls/bignum.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <sodium.h>

#include "crypto/es256.h"

static int rng(void *ctx, unsigned char *buf, size_t len)
{
	(void)ctx;
	randombytes_buf(buf, len);
	return 0;
}

static int check(mbedtls_ecp_keypair *k, const uint8_t h[32], const uint8_t sig[64])
{
	mbedtls_mpi r, s;
	int ret;

	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	ret = mbedtls_mpi_read_binary(&r, sig, 32) || mbedtls_mpi_read_binary(&s, sig + 32, 32) ||
	      mbedtls_ecdsa_verify(&k->grp, h, 32, &k->Q, &r, &s);
	mbedtls_mpi_free(&r);
	mbedtls_mpi_free(&s);
	return ret;
}

static void test_normalize(void **state)
{
	mbedtls_ecp_keypair k;
	int high = 0, low = 0;

	(void)state;
	assert_true(sodium_init() >= 0);
	mbedtls_ecp_keypair_init(&k);
	assert_int_equal(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, &k, rng, NULL), 0);
	/* ECDSA's s is uniform in [1, n): about half the signatures are
	 * high; 64 make it certain beyond doubt that both kinds are seen. */
	for (int i = 0; i < 64; i++) {
		uint8_t h[32], sig[64], orig[64];
		mbedtls_mpi r, s, n, sum;

		randombytes_buf(h, sizeof(h));
		mbedtls_mpi_init(&r);
		mbedtls_mpi_init(&s);
		mbedtls_mpi_init(&n);
		mbedtls_mpi_init(&sum);
		assert_int_equal(mbedtls_ecdsa_sign(&k.grp, &r, &s, &k.d, h, 32, rng, NULL), 0);
		assert_int_equal(mbedtls_mpi_write_binary(&r, sig, 32), 0);
		assert_int_equal(mbedtls_mpi_write_binary(&s, sig + 32, 32), 0);
		memcpy(orig, sig, 64);
		assert_int_equal(check(&k, h, sig), 0);
		if (es256_s_is_low(sig))
			low++;
		else
			high++;
		assert_int_equal(es256_normalize_s(sig), 0);
		assert_true(es256_s_is_low(sig));
		assert_memory_equal(sig, orig, 32);            /* r unchanged */
		assert_int_equal(check(&k, h, sig), 0);         /* still valid */
		if (memcmp(sig, orig, 64)) {
			/* the other form: s' = n - s, so s + s' = n */
			mbedtls_mpi sp;

			mbedtls_mpi_init(&sp);
			assert_int_equal(mbedtls_mpi_read_binary(&sp, sig + 32, 32), 0);
			assert_int_equal(mbedtls_mpi_add_mpi(&sum, &s, &sp), 0);
			assert_int_equal(mbedtls_mpi_cmp_mpi(&sum, &k.grp.N), 0);
			mbedtls_mpi_free(&sp);
		}
		/* Normalising twice changes nothing. */
		memcpy(orig, sig, 64);
		assert_int_equal(es256_normalize_s(sig), 0);
		assert_memory_equal(sig, orig, 64);
		mbedtls_mpi_free(&r);
		mbedtls_mpi_free(&s);
		mbedtls_mpi_free(&n);
		mbedtls_mpi_free(&sum);
	}
	assert_true(high > 0 && low > 0);
	mbedtls_ecp_keypair_free(&k);
}

static void test_bounds(void **state)
{
	mbedtls_ecp_group g;
	uint8_t sig[64] = { 0 }, half[32];
	mbedtls_mpi x;

	(void)state;
	mbedtls_ecp_group_init(&g);
	mbedtls_mpi_init(&x);
	assert_int_equal(mbedtls_ecp_group_load(&g, MBEDTLS_ECP_DP_SECP256R1), 0);
	/* s = 0 and s = n are no signatures */
	assert_int_equal(es256_normalize_s(sig), -EINVAL);
	assert_int_equal(mbedtls_mpi_write_binary(&g.N, sig + 32, 32), 0);
	assert_int_equal(es256_normalize_s(sig), -EINVAL);
	/* n/2 (rounded down) is low, n/2 + 1 is high and becomes n/2 */
	assert_int_equal(mbedtls_mpi_copy(&x, &g.N), 0);
	assert_int_equal(mbedtls_mpi_shift_r(&x, 1), 0);
	assert_int_equal(mbedtls_mpi_write_binary(&x, sig + 32, 32), 0);
	memcpy(half, sig + 32, 32);
	assert_true(es256_s_is_low(sig));
	assert_int_equal(mbedtls_mpi_add_int(&x, &x, 1), 0);
	assert_int_equal(mbedtls_mpi_write_binary(&x, sig + 32, 32), 0);
	assert_false(es256_s_is_low(sig));
	assert_int_equal(es256_normalize_s(sig), 0);
	assert_memory_equal(sig + 32, half, 32);
	/* s = 1 stays, s = n - 1 becomes 1 */
	memset(sig + 32, 0, 32);
	sig[63] = 1;
	assert_int_equal(es256_normalize_s(sig), 0);
	assert_int_equal(sig[63], 1);
	assert_int_equal(mbedtls_mpi_sub_int(&x, &g.N, 1), 0);
	assert_int_equal(mbedtls_mpi_write_binary(&x, sig + 32, 32), 0);
	assert_int_equal(es256_normalize_s(sig), 0);
	for (int i = 32; i < 63; i++)
		assert_int_equal(sig[i], 0);
	assert_int_equal(sig[63], 1);
	mbedtls_mpi_free(&x);
	mbedtls_ecp_group_free(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
