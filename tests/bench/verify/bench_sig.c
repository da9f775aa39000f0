/* eco2-bench-sig — bare signature checks per second through each back end
 * (verify_sig on one Sig_structure-sized message), next to which
 * bench_verify.sh puts the whole record pipeline's rate measured at the
 * same moment: their ratio is the pipeline's overhead, which a busy
 * machine does not blur the way it blurs either rate (built, never
 * installed).
 *
 *   eco2-bench-sig [SECONDS]   (default 2 per back end)
 *
 * Prints "backend=NAME alg=ALG verify_per_cpu_s=R n=N" per back end, CPU
 * time of this thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/sha256.h>
#include <sodium.h>

#include "crypto/cose.h"
#include "crypto/verify.h"

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int rng(void *ctx, unsigned char *buf, size_t len)
{
	(void)ctx;
	randombytes_buf(buf, len);
	return 0;
}

int main(int argc, char **argv)
{
	uint8_t msg[300], sig_ed[64], sig_p[64], pub_ed[32], sk_ed[64], pub_p[65], h[32];
	mbedtls_ecp_keypair ec;
	mbedtls_mpi r, s;
	double secs = argc > 1 ? strtod(argv[1], NULL) : 2.0;
	size_t plen;

	if (sodium_init() < 0 || secs <= 0)
		return 2;
	randombytes_buf(msg, sizeof(msg));
	crypto_sign_keypair(pub_ed, sk_ed);
	crypto_sign_detached(sig_ed, NULL, msg, sizeof(msg), sk_ed);
	mbedtls_ecp_keypair_init(&ec);
	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	if (mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, &ec, rng, NULL) ||
	    mbedtls_ecp_point_write_binary(&ec.grp, &ec.Q, MBEDTLS_ECP_PF_UNCOMPRESSED,
					   &plen, pub_p, sizeof(pub_p)) ||
	    mbedtls_sha256_ret(msg, sizeof(msg), h, 0) ||
	    mbedtls_ecdsa_sign(&ec.grp, &r, &s, &ec.d, h, 32, rng, NULL) ||
	    mbedtls_mpi_write_binary(&r, sig_p, 32) || mbedtls_mpi_write_binary(&s, sig_p + 32, 32))
		return 1;

	for (int a = 0; a < 2; a++) {
		int alg = a ? COSE_ALG_ES256 : COSE_ALG_EDDSA;
		const char *const *names = verify_backends(alg);

		for (; *names; names++) {
			verify_key_t *k;
			unsigned long n = 0;
			double t0, t;

			if (verify_key_new(&k, alg, a ? pub_p : pub_ed, a ? 65 : 32, *names))
				return 1;
			t0 = cpu_s();
			do {
				for (int i = 0; i < 10; i++, n++)
					if (verify_sig(k, msg, sizeof(msg), a ? sig_p : sig_ed))
						return 1;
				t = cpu_s() - t0;
			} while (t < secs);
			printf("backend=%s alg=%s verify_per_cpu_s=%.0f n=%lu\n", *names,
			       a ? "ES256" : "EdDSA", (double)n / t, n);
			verify_key_free(k);
		}
	}
	mbedtls_ecp_keypair_free(&ec);
	mbedtls_mpi_free(&r);
	mbedtls_mpi_free(&s);
	return 0;
}
