/* Unit tests for crypto/signer.c and crypto/signer_file.c: key file round
 * trips (keygen -> load -> sign -> verify, the verification done here with
 * libsodium and mbedTLS directly), RFC 8032's test vector, file modes,
 * refusal to overwrite, the kid and the PEM SubjectPublicKeyInfo. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/base64.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <sodium.h>

#include "lib/log.h"
#include "crypto/es256.h"
#include "crypto/signer.h"

static char dir[64];
static char path[128];
static char uri[160];

static int setup(void **state)
{
	(void)state;
	log_open("test", LOG_TO_STDERR, LOG_EMERG);   /* errors are expected */
	snprintf(dir, sizeof(dir), "/tmp/eco2-signer-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/device.key", dir);
	snprintf(uri, sizeof(uri), "file:%s", path);
	return sodium_init() < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[sizeof(dir) + sizeof(e->d_name) + 1];

	/* cppcheck-suppress readdirCalled ; single-threaded test */
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
	return 0;
}

/* Independent ES256 check: SHA-256 and ECDSA verify straight from mbedTLS. */
static int p256_verify(const uint8_t pub[65], const uint8_t *msg, size_t len,
		       const uint8_t sig[64])
{
	mbedtls_ecp_group grp;
	mbedtls_ecp_point q;
	mbedtls_mpi r, s;
	uint8_t h[32];
	int ret;

	mbedtls_ecp_group_init(&grp);
	mbedtls_ecp_point_init(&q);
	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	ret = mbedtls_sha256_ret(msg, len, h, 0);
	if (!ret)
		ret = mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1);
	if (!ret)
		ret = mbedtls_ecp_point_read_binary(&grp, &q, pub, 65);
	if (!ret)
		ret = mbedtls_mpi_read_binary(&r, sig, 32);
	if (!ret)
		ret = mbedtls_mpi_read_binary(&s, sig + 32, 32);
	if (!ret)
		ret = mbedtls_ecdsa_verify(&grp, h, 32, &q, &r, &s);
	mbedtls_mpi_free(&r);
	mbedtls_mpi_free(&s);
	mbedtls_ecp_point_free(&q);
	mbedtls_ecp_group_free(&grp);
	return ret;
}

static int verify(int alg, const uint8_t *pub, const uint8_t *msg, size_t len,
		  const uint8_t sig[64])
{
	if (alg == COSE_ALG_EDDSA)
		return crypto_sign_verify_detached(sig, msg, len, pub);
	return p256_verify(pub, msg, len, sig);
}

static void round_trip(int alg)
{
	signer_t *s = NULL;
	uint8_t pub[SIGNER_PUBKEY_MAX], kid[8], h[32], sig[64], sig2[64];
	uint8_t msg[300];
	struct stat st;

	randombytes_buf(msg, sizeof(msg));
	umask(0);   /* the key must still come out 0600 */
	assert_int_equal(signer_keygen(uri, NULL, alg), 0);
	umask(022);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	assert_int_equal(signer_open(&s, uri, NULL), 0);
	assert_int_equal(signer_alg(s), alg);
	size_t n = signer_pubkey(s, pub);
	assert_int_equal(n, alg == COSE_ALG_EDDSA ? 32 : 65);
	if (alg == COSE_ALG_ES256)
		assert_int_equal(pub[0], 0x04);

	/* kid = SHA-256(raw public key)[0..8) */
	signer_kid(s, kid);
	crypto_hash_sha256(h, pub, n);
	assert_memory_equal(kid, h, 8);

	assert_int_equal(signer_sign(s, msg, sizeof(msg), sig), 0);
	assert_int_equal(verify(alg, pub, msg, sizeof(msg), sig), 0);
	/* Both are deterministic (RFC 8032; RFC 6979 for ES256). */
	assert_int_equal(signer_sign(s, msg, sizeof(msg), sig2), 0);
	assert_memory_equal(sig, sig2, 64);
	/* The check above can fail: a changed message or signature must not pass. */
	msg[17] ^= 1;
	assert_int_not_equal(verify(alg, pub, msg, sizeof(msg), sig), 0);
	msg[17] ^= 1;
	sig[40] ^= 0x80;
	assert_int_not_equal(verify(alg, pub, msg, sizeof(msg), sig), 0);
	/* ES256: every signature in the one low-S form (s <= n/2); about
	 * half of 32 unnormalised ones would be high. */
	for (int i = 0; alg == COSE_ALG_ES256 && i < 32; i++) {
		msg[0] = (uint8_t)i;
		assert_int_equal(signer_sign(s, msg, sizeof(msg), sig), 0);
		assert_int_equal(verify(alg, pub, msg, sizeof(msg), sig), 0);
		assert_true(es256_s_is_low(sig));
	}
	signer_close(s);

	/* Re-opening the file gives the same key. */
	uint8_t pub2[SIGNER_PUBKEY_MAX];
	assert_int_equal(signer_open(&s, uri, NULL), 0);
	assert_int_equal(signer_pubkey(s, pub2), n);
	assert_memory_equal(pub, pub2, n);
	signer_close(s);
}

/* State tags (signer_tag): the file key's MAC recomputed here from its
 * definition (crypto_kdf of the private key, HMAC-SHA256 of the tag
 * digest); deterministic per message; any change refused; a signature
 * over the tag digest accepted as the other kind, one over the raw
 * message or by another key not. */
static void tag_digest(const uint8_t *msg, size_t len, uint8_t d[32])
{
	static const char ctx[] = "eco2-agent state tag v1";
	crypto_hash_sha256_state h;

	crypto_hash_sha256_init(&h);
	crypto_hash_sha256_update(&h, (const uint8_t *)ctx, sizeof(ctx) - 1);
	crypto_hash_sha256_update(&h, msg, len);
	crypto_hash_sha256_final(&h, d);
}

/* The private key's 32 bytes as the file holds them: the Ed25519 seed
 * (PKCS#8 DER, last 32 bytes) or the P-256 scalar (mbedTLS parses it). */
static void private_bytes(int alg, uint8_t out[32])
{
	mbedtls_pk_context pk;
	FILE *f = fopen(path, "rb");
	unsigned char pem[2048] = { 0 }, der[64];
	size_t n, dn = 0;

	assert_non_null(f);
	n = fread(pem, 1, sizeof(pem) - 1, f);
	fclose(f);
	if (alg == COSE_ALG_EDDSA) {
		const char *b = strstr((char *)pem, "\n") + 1, *e = strstr(b, "-----END");
		char b64[128];
		size_t k = 0;

		for (const char *c = b; c < e; c++)
			if (*c != '\n')
				b64[k++] = *c;
		assert_int_equal(mbedtls_base64_decode(der, sizeof(der), &dn, (unsigned char *)b64, k), 0);
		assert_int_equal(dn, 48);
		memcpy(out, der + 16, 32);
		return;
	}
	mbedtls_pk_init(&pk);
	assert_int_equal(mbedtls_pk_parse_key(&pk, pem, n + 1, NULL, 0), 0);
	assert_int_equal(mbedtls_mpi_write_binary(&mbedtls_pk_ec(pk)->d, out, 32), 0);
	mbedtls_pk_free(&pk);
}

static void state_tags(int alg, const char *other_uri)
{
	signer_t *s = NULL, *o = NULL;
	uint8_t msg[1000], tag[SIGNER_TAG_MAX], tag2[SIGNER_TAG_MAX], want[33];
	uint8_t master[32], key[32], d[32];
	size_t len = 0, len2 = 0;

	randombytes_buf(msg, sizeof(msg));
	assert_int_equal(signer_keygen(uri, NULL, alg), 0);
	assert_int_equal(signer_keygen(other_uri, NULL, alg), 0);
	assert_int_equal(signer_open(&s, uri, NULL), 0);
	assert_int_equal(signer_open(&o, other_uri, NULL), 0);
	assert_non_null(strstr(signer_tag_scheme(s), "derived from the key file"));

	assert_int_equal(signer_tag(s, msg, sizeof(msg), tag, &len), 0);
	assert_int_equal(len, 33);
	private_bytes(alg, master);
	assert_int_equal(crypto_kdf_derive_from_key(key, 32, 1, "eco2stat", master), 0);
	tag_digest(msg, sizeof(msg), d);
	want[0] = SIGNER_TAG_HMAC;
	crypto_auth_hmacsha256(want + 1, d, 32, key);
	assert_memory_equal(tag, want, 33);
	assert_int_equal(signer_tag(s, msg, sizeof(msg), tag2, &len2), 0);
	assert_memory_equal(tag, tag2, 33);
	assert_int_equal(signer_tag_check(s, msg, sizeof(msg), tag, len), 0);

	/* any change: the message, the tag, its kind, its length, the key */
	for (size_t i = 0; i < sizeof(msg); i += 37) {
		msg[i] ^= 1;
		assert_int_equal(signer_tag_check(s, msg, sizeof(msg), tag, len), -EBADMSG);
		msg[i] ^= 1;
	}
	for (size_t i = 0; i < len; i++) {
		tag[i] ^= 0x40;
		assert_int_equal(signer_tag_check(s, msg, sizeof(msg), tag, len), -EBADMSG);
		tag[i] ^= 0x40;
	}
	assert_int_equal(signer_tag_check(s, msg, sizeof(msg), tag, len - 1), -EBADMSG);
	assert_int_equal(signer_tag_check(s, msg, sizeof(msg), tag, 0), -EBADMSG);
	assert_int_equal(signer_tag_check(o, msg, sizeof(msg), tag, len), -EBADMSG);
	assert_int_equal(signer_tag(s, msg, sizeof(msg) - 1, tag2, &len2), 0);
	assert_memory_not_equal(tag, tag2, 33);

	/* the signature kind: over the tag digest, by this key */
	tag2[0] = SIGNER_TAG_SIG;
	assert_int_equal(signer_sign(s, d, 32, tag2 + 1), 0);
	assert_int_equal(signer_tag_check(s, msg, sizeof(msg), tag2, 65), 0);
	assert_int_equal(signer_tag_check(s, msg, sizeof(msg), tag2, 33), -EBADMSG);
	assert_int_equal(signer_sign(o, d, 32, tag2 + 1), 0);
	assert_int_equal(signer_tag_check(s, msg, sizeof(msg), tag2, 65), -EBADMSG);
	assert_int_equal(signer_sign(s, msg, sizeof(msg), tag2 + 1), 0);
	assert_int_equal(signer_tag_check(s, msg, sizeof(msg), tag2, 65), -EBADMSG);
	sodium_memzero(master, sizeof(master));
	signer_close(s);
	signer_close(o);
}

static void test_state_tags(void **state)
{
	char other[sizeof(dir) + 32];
	(void)state;

	snprintf(other, sizeof(other), "file:%s/other-ed.key", dir);
	state_tags(COSE_ALG_EDDSA, other);
	unlink(path);
	snprintf(other, sizeof(other), "file:%s/other-p256.key", dir);
	state_tags(COSE_ALG_ES256, other);
}

static void test_ed25519_round_trip(void **state)
{
	(void)state;
	round_trip(COSE_ALG_EDDSA);
}

static void test_p256_round_trip(void **state)
{
	(void)state;
	round_trip(COSE_ALG_ES256);
}

static void write_file(const char *p, const char *text, mode_t mode)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* RFC 8032 §7.1 TEST 1, the key written as RFC 8410 PKCS#8 PEM (base64 of
 * 302e020100300506032b657004220420 || seed). */
static void test_rfc8032_vector(void **state)
{
	static const char pem[] =
		"-----BEGIN PRIVATE KEY-----\n"
		"MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/Vpguo" "RK9JLsLMRESc"
		"VpezJpGXA7rAMcrn9g\n"
		"-----END PRIVATE KEY-----\n";
	uint8_t pub[SIGNER_PUBKEY_MAX], sig[64], want_pub[32], want_sig[64];
	signer_t *s = NULL;
	(void)state;

	assert_int_equal(sodium_hex2bin(want_pub, 32,
		"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
		64, NULL, NULL, NULL), 0);
	assert_int_equal(sodium_hex2bin(want_sig, 64,
		"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
		"5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
		128, NULL, NULL, NULL), 0);
	write_file(path, pem, 0600);
	assert_int_equal(signer_open(&s, uri, NULL), 0);
	assert_int_equal(signer_alg(s), COSE_ALG_EDDSA);
	assert_int_equal(signer_pubkey(s, pub), 32);
	assert_memory_equal(pub, want_pub, 32);
	assert_int_equal(signer_sign(s, (const uint8_t *)"", 0, sig), 0);
	assert_memory_equal(sig, want_sig, 64);
	signer_close(s);
}

static void test_mode_refused(void **state)
{
	static const mode_t bad[] = { 0644, 0640, 0604, 0660, 0602 };
	signer_t *s = NULL;
	(void)state;

	assert_int_equal(signer_keygen(uri, NULL, COSE_ALG_EDDSA), 0);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(chmod(path, bad[i]), 0);
		assert_int_equal(signer_open(&s, uri, NULL), -EACCES);
		assert_null(s);
	}
	assert_int_equal(chmod(path, 0400), 0);   /* stricter is fine */
	assert_int_equal(signer_open(&s, uri, NULL), 0);
	signer_close(s);
}

static void test_no_overwrite(void **state)
{
	char before[512], after[512];
	(void)state;

	assert_int_equal(signer_keygen(uri, NULL, COSE_ALG_ES256), 0);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(before, 1, sizeof(before), f);
	fclose(f);
	assert_int_equal(signer_keygen(uri, NULL, COSE_ALG_EDDSA), -EEXIST);
	assert_int_equal(signer_keygen(uri, NULL, COSE_ALG_ES256), -EEXIST);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fread(after, 1, sizeof(after), f), n);
	fclose(f);
	assert_memory_equal(before, after, n);

	/* Nothing but the key is left in the directory (no tmp files). */
	DIR *d = opendir(dir);
	struct dirent *e;
	int files = 0;
	/* cppcheck-suppress readdirCalled ; single-threaded test */
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			files++;
	closedir(d);
	assert_int_equal(files, 1);
}

static void test_bad_inputs(void **state)
{
	signer_t *s = NULL;
	char u2[200];
	(void)state;

	assert_int_equal(signer_open(&s, "tpm:whatever", NULL), -EINVAL);
	assert_int_equal(signer_open(&s, NULL, NULL), -EINVAL);
	assert_int_equal(signer_keygen(uri, NULL, -35), -EINVAL);
	assert_int_equal(signer_open(&s, uri, NULL), -ENOENT);

	write_file(path, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", 0600);
	assert_int_equal(signer_open(&s, uri, NULL), -EINVAL);
	write_file(path, "not a key at all", 0600);
	assert_int_equal(signer_open(&s, uri, NULL), -EINVAL);
	assert_null(s);
	char *big = malloc(9000);
	assert_non_null(big);
	memset(big, 'A', 8999);
	big[8999] = '\0';
	write_file(path, big, 0600);
	free(big);
	assert_int_equal(signer_open(&s, uri, NULL), -EFBIG);

	/* A directory is not a key file; a missing directory fails keygen. */
	snprintf(u2, sizeof(u2), "file:%s", dir);
	assert_int_equal(signer_open(&s, u2, NULL), -EINVAL);
	snprintf(u2, sizeof(u2), "file:%s/missing/k.key", dir);
	assert_int_equal(signer_keygen(u2, NULL, COSE_ALG_EDDSA), -ENOENT);
	assert_int_equal(signer_keygen("file:", NULL, COSE_ALG_EDDSA), -EINVAL);
}

static void test_spki_pem(void **state)
{
	char pem[SIGNER_SPKI_PEM_MAX];
	uint8_t pub[SIGNER_PUBKEY_MAX], der[64];
	signer_t *s = NULL;
	size_t n, dlen = 0;
	(void)state;

	/* Ed25519: 12-byte RFC 8410 prefix then the key, one base64 line. */
	assert_int_equal(signer_keygen(uri, NULL, COSE_ALG_EDDSA), 0);
	assert_int_equal(signer_open(&s, uri, NULL), 0);
	n = signer_pubkey(s, pub);
	assert_int_equal(signer_spki_pem(signer_alg(s), pub, n, pem, sizeof(pem)), 0);
	assert_int_equal(strncmp(pem, "-----BEGIN PUBLIC KEY-----\n", 27), 0);
	assert_int_equal(mbedtls_base64_decode(der, sizeof(der), &dlen,
					       (const unsigned char *)pem + 27, 60), 0);
	assert_int_equal(dlen, 44);
	assert_memory_equal(der, "\x30\x2a\x30\x05\x06\x03\x2b\x65\x70\x03\x21\x00", 12);
	assert_memory_equal(der + 12, pub, 32);
	assert_string_equal(pem + 87, "\n-----END PUBLIC KEY-----\n");
	assert_int_equal(signer_spki_pem(signer_alg(s), pub, n, pem, 40), -ENOSPC);
	signer_close(s);
	unlink(path);

	/* P-256: mbedTLS reads it back as the same point. */
	mbedtls_pk_context pk;
	uint8_t q[65];
	size_t qlen = 0;
	assert_int_equal(signer_keygen(uri, NULL, COSE_ALG_ES256), 0);
	assert_int_equal(signer_open(&s, uri, NULL), 0);
	n = signer_pubkey(s, pub);
	assert_int_equal(signer_spki_pem(signer_alg(s), pub, n, pem, sizeof(pem)), 0);
	mbedtls_pk_init(&pk);
	assert_int_equal(mbedtls_pk_parse_public_key(&pk, (const unsigned char *)pem,
						     strlen(pem) + 1), 0);
	assert_int_equal(mbedtls_ecp_point_write_binary(&mbedtls_pk_ec(pk)->grp,
		&mbedtls_pk_ec(pk)->Q, MBEDTLS_ECP_PF_UNCOMPRESSED, &qlen, q, sizeof(q)), 0);
	assert_int_equal(qlen, 65);
	assert_memory_equal(q, pub, 65);
	mbedtls_pk_free(&pk);
	/* Not a point on the curve; wrong lengths. */
	pub[10] ^= 1;
	assert_int_equal(signer_spki_pem(COSE_ALG_ES256, pub, 65, pem, sizeof(pem)), -EINVAL);
	assert_int_equal(signer_spki_pem(COSE_ALG_ES256, pub, 32, pem, sizeof(pem)), -EINVAL);
	assert_int_equal(signer_spki_pem(COSE_ALG_EDDSA, pub, 65, pem, sizeof(pem)), -EINVAL);
	signer_close(s);
}

static void test_alg_names(void **state)
{
	(void)state;
	assert_int_equal(signer_alg_from_name("es256"), COSE_ALG_ES256);
	assert_int_equal(signer_alg_from_name("ED25519"), COSE_ALG_EDDSA);
	assert_int_equal(signer_alg_from_name("rsa"), 0);
	assert_int_equal(signer_alg_from_name(NULL), 0);
	assert_string_equal(signer_alg_name(COSE_ALG_ES256), "es256");
	assert_string_equal(signer_alg_name(COSE_ALG_EDDSA), "ed25519");
	signer_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ed25519_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_p256_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rfc8032_vector, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_overwrite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_inputs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spki_pem, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_tags, setup, teardown),
		cmocka_unit_test(test_alg_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
