/* Test keys and records for test_cose and test_verify: keys made in
 * memory and signing done directly with libsodium / mbedTLS, so that these
 * tests stand apart from the signer back ends. */
#ifndef ECO2_TEST_RECORDS_HELPER_H
#define ECO2_TEST_RECORDS_HELPER_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/sha256.h>
#include <sodium.h>

#include "crypto/co2.h"
#include "crypto/cose.h"
#include "crypto/es256.h"
#include "crypto/record.h"

struct tkey {
	int alg;
	uint8_t sk[crypto_sign_SECRETKEYBYTES];   /* Ed25519 */
	mbedtls_ecp_keypair ec;                   /* P-256 */
	uint8_t pub[SIGNER_PUBKEY_MAX];
	size_t pub_len;
	uint8_t kid[8];
	bool high_s;                              /* ES256: leave s as signed */
};

static inline int trng(void *ctx, unsigned char *buf, size_t len)
{
	(void)ctx;
	randombytes_buf(buf, len);
	return 0;
}

/* Ed25519 from a seed of 32 copies of seed_byte: the same key every run. */
static inline void tkey_ed25519(struct tkey *k, uint8_t seed_byte)
{
	uint8_t seed[32];

	memset(k, 0, sizeof(*k));
	if (sodium_init() < 0)
		abort();
	memset(seed, seed_byte, sizeof(seed));
	crypto_sign_seed_keypair(k->pub, k->sk, seed);
	k->alg = COSE_ALG_EDDSA;
	k->pub_len = 32;
	cose_kid(k->pub, k->pub_len, k->kid);
}

/* A fresh random P-256 key. */
static inline void tkey_p256(struct tkey *k)
{
	memset(k, 0, sizeof(*k));
	if (sodium_init() < 0)
		abort();
	mbedtls_ecp_keypair_init(&k->ec);
	if (mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, &k->ec, trng, NULL) ||
	    mbedtls_ecp_point_write_binary(&k->ec.grp, &k->ec.Q,
					   MBEDTLS_ECP_PF_UNCOMPRESSED, &k->pub_len,
					   k->pub, sizeof(k->pub)))
		abort();
	k->alg = COSE_ALG_ES256;
	cose_kid(k->pub, k->pub_len, k->kid);
}

static inline void tkey_free(struct tkey *k)
{
	if (k->alg == COSE_ALG_ES256)
		mbedtls_ecp_keypair_free(&k->ec);
}

static inline int tkey_sign(void *ctx, const uint8_t *msg, size_t len,
			    uint8_t sig[SIGNER_SIG_LEN])
{
	struct tkey *k = ctx;
	uint8_t h[32];
	mbedtls_mpi r, s;
	int ret = 0;

	if (k->alg == COSE_ALG_EDDSA)
		return crypto_sign_detached(sig, NULL, msg, len, k->sk) ? -EIO : 0;
	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	if (mbedtls_sha256_ret(msg, len, h, 0) ||
	    mbedtls_ecdsa_sign(&k->ec.grp, &r, &s, &k->ec.d, h, 32, trng, NULL) ||
	    mbedtls_mpi_write_binary(&r, sig, 32) ||
	    mbedtls_mpi_write_binary(&s, sig + 32, 32) ||
	    (!k->high_s && es256_normalize_s(sig)))
		ret = -EIO;
	mbedtls_mpi_free(&r);
	mbedtls_mpi_free(&s);
	return ret;
}

/* A plausible trip (odd seq) or charging session (even seq when
 * mix is set), co2_g computed by the methodology. */
static inline void trec_fill(struct eco2_record *r, const struct tkey *k,
			     uint64_t seq, const uint8_t prev[32], int mix)
{
	struct co2_params p = { 169056, 530600, 900, 50 };

	memset(r, 0, sizeof(*r));
	r->version = ECO2_RECORD_VERSION;
	memcpy(r->kid, k->kid, 8);
	r->seq = seq;
	if (prev)
		memcpy(r->prev, prev, 32);
	r->type = mix && !(seq & 1) ? ECO2_REC_CHARGE : ECO2_REC_TRIP;
	r->start_s = 1760000000 + (int64_t)seq * 3600;
	r->end_s = r->start_s + 1800;
	r->odo_start_m = 12000000 + (int64_t)seq * 25000;
	r->odo_end_m = r->odo_start_m + 23266;
	r->distance_m = 23266;
	r->discharge_wh = 3500;
	r->regen_wh = 400;
	snprintf(r->method, sizeof(r->method), "%s", CO2_METHOD_ID);
	r->baseline_mg_per_km = p.baseline_mg_per_km;
	r->grid_mg_per_kwh = p.grid_mg_per_kwh;
	r->charge_eff_permille = p.charge_eff_permille;
	r->td_loss_permille = p.td_loss_permille;
	if (r->type == ECO2_REC_CHARGE) {
		r->odo_end_m = r->odo_start_m;
		r->distance_m = 0;
		r->discharge_wh = 0;
		r->regen_wh = 0;
		r->charged_wh = 41000;
	}
	if (co2_avoided_g(&p, r->distance_m, r->discharge_wh, r->regen_wh, &r->co2_g))
		abort();
	r->odo_step_m = 100;
	snprintf(r->software, sizeof(r->software), "%s", "eco2-test/1");
	memset(r->profile_sha256, 0x11, sizeof(r->profile_sha256));
}

/* The same record in format version 1 (no keys 21 to 23). */
static inline void trec_v1(struct eco2_record *r)
{
	r->version = 1;
	r->odo_step_m = 0;
	memset(r->software, 0, sizeof(r->software));
	memset(r->profile_sha256, 0, sizeof(r->profile_sha256));
}

/* Encode r signed by k; aborts on failure (a test bug). */
static inline uint8_t *trec_encode(const struct eco2_record *r, struct tkey *k,
				   size_t *len)
{
	uint8_t *out;

	if (cose_record_encode_with(r, k->alg, k->kid, tkey_sign, k, &out, len))
		abort();
	return out;
}

/* A chain of n records signed by k as one CBOR sequence (malloc'd);
 * offs[i] is the offset of seq i+1 (offs[n] = total length). */
static inline uint8_t *trec_chain(struct tkey *k, unsigned n, size_t *offs, size_t *len)
{
	uint8_t prev[32] = { 0 }, *all = NULL;
	size_t total = 0;

	for (unsigned i = 0; i < n; i++) {
		struct eco2_record r;
		uint8_t *one;
		size_t one_len;

		trec_fill(&r, k, i + 1, prev, 1);
		one = trec_encode(&r, k, &one_len);
		all = realloc(all, total + one_len);
		if (!all)
			abort();
		memcpy(all + total, one, one_len);
		if (offs)
			offs[i] = total;
		total += one_len;
		cose_record_sha256(one, one_len, prev);
		free(one);
	}
	if (offs)
		offs[n] = total;
	*len = total;
	return all;
}

#endif
