/* Unit tests for crypto/x509.c: device certificates checked against a CA,
 * through mbedTLS and (where built) OpenSSL's libcrypto, which must take
 * the same decisions; validity at a given time, or the window for each
 * record's time; Ed25519 certificates (libcrypto).
 *
 * The certificates are made at test time with the openssl CLI in a
 * temporary folder: a root CA, an intermediate, another root, and device
 * certificates that are good, expired, not yet valid, signed by the other
 * root, with a key usage lacking digitalSignature, without key usage, in
 * DER, behind the intermediate, and with Ed25519, P-384 and RSA keys.
 * The key x509.c extracts is compared with the one openssl prints
 * (SubjectPublicKeyInfo, last 65 bytes), its kid with SHA-256 of that
 * computed by openssl, and it must verify a signature openssl made with
 * the device's private key. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "crypto/x509.h"

static char dir[64];
static const char *lib;                  /* the library under test */
static struct x509_info info;            /* what the last device_key said */
static const char *const libs[] = { "mbedtls", "libcrypto" };
#define N_LIBS (IS_ENABLED(CONFIG_VERIFY_LIBCRYPTO) ? 2 : 1)
#define T2020_06 INT64_C(1590969600)     /* 2020-06-01 */

/* The certificates. Dates are fixed and far apart: valid means
 * 2020..2099, expired 2020..2021, not yet valid 2090..2099. */
static const char gen_sh[] =
	"set -e\n"
	"cat > ca.cnf <<'CNF'\n"
	"[ ca ]\n"
	"default_ca = ca_default\n"
	"[ ca_default ]\n"
	"database = index.txt\n"
	"new_certs_dir = .\n"
	"serial = serial\n"
	"default_md = sha256\n"
	"policy = policy_any\n"
	"unique_subject = no\n"
	"[ policy_any ]\n"
	"commonName = supplied\n"
	"[ req ]\n"
	"distinguished_name = dn\n"
	"prompt = no\n"
	"[ dn ]\n"
	"CN = unused\n"
	"[ v3_root ]\n"
	"basicConstraints = critical, CA:TRUE\n"
	"keyUsage = critical, keyCertSign, cRLSign\n"
	"subjectKeyIdentifier = hash\n"
	"[ v3_inter ]\n"
	"basicConstraints = critical, CA:TRUE, pathlen:0\n"
	"keyUsage = critical, keyCertSign, cRLSign\n"
	"subjectKeyIdentifier = hash\n"
	"authorityKeyIdentifier = keyid\n"
	"[ v3_dev ]\n"
	"basicConstraints = critical, CA:FALSE\n"
	"keyUsage = critical, digitalSignature\n"
	"[ v3_dev_ke ]\n"
	"basicConstraints = critical, CA:FALSE\n"
	"keyUsage = critical, keyEncipherment, keyAgreement\n"
	"[ v3_dev_noku ]\n"
	"basicConstraints = critical, CA:FALSE\n"
	"CNF\n"
	": > index.txt\n"
	"echo 1000 > serial\n"
	"p256() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out \"$1\"; }\n"
	"csr() { openssl req -new -config ca.cnf -key \"$1\" -subj \"/CN=$3\" -out \"$2\"; }\n"
	"issue() { openssl ca -batch -notext -config ca.cnf -cert \"$3.pem\" -keyfile \"$3.key\" "
	"-in \"$1\" -out \"$2\" -extensions \"$4\" -startdate \"$5\" -enddate \"$6\"; }\n"
	"selfsign() { openssl req -x509 -new -config ca.cnf -key \"$1.key\" -subj \"/CN=$2\" "
	"-extensions v3_root -days 36500 -out \"$1.pem\"; }\n"
	"FROM=20200101000000Z; TO=20991231235959Z\n"
	"p256 ca.key; selfsign ca 'Test Root'\n"
	"p256 other.key; selfsign other 'Other Root'\n"
	"p256 inter.key; csr inter.key inter.csr 'Test Intermediate'\n"
	"issue inter.csr inter.pem ca v3_inter $FROM $TO\n"
	"p256 dev.key; csr dev.key dev.csr device\n"
	"issue dev.csr dev.pem ca v3_dev $FROM $TO\n"
	"issue dev.csr expired.pem ca v3_dev $FROM 20210101000000Z\n"
	"issue dev.csr future.pem ca v3_dev 20900101000000Z $TO\n"
	"issue dev.csr ke.pem ca v3_dev_ke $FROM $TO\n"
	"issue dev.csr noku.pem ca v3_dev_noku $FROM $TO\n"
	"issue dev.csr byother.pem other v3_dev $FROM $TO\n"
	"openssl x509 -in dev.pem -outform DER -out dev.der\n"
	"p256 dev2.key; csr dev2.key dev2.csr device2\n"
	"issue dev2.csr dev2.pem inter v3_dev $FROM $TO\n"
	"cat dev2.pem inter.pem > chain.pem\n"
	"openssl genpkey -algorithm ED25519 -out ed.key; csr ed.key ed.csr ed25519\n"
	"issue ed.csr ed.pem ca v3_dev $FROM $TO\n"
	"openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out p384.key\n"
	"csr p384.key p384.csr p384; issue p384.csr p384.pem ca v3_dev $FROM $TO\n"
	"openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa.key\n"
	"csr rsa.key rsa.csr rsa; issue rsa.csr rsa.pem ca v3_dev $FROM $TO\n"
	/* the oracle: the raw P-256 point and the kid, as openssl sees them */
	"openssl pkey -in ed.key -pubout -outform DER | tail -c 32 > ed.raw\n"
	"for c in dev dev2; do\n"
	"  openssl x509 -in $c.pem -pubkey -noout | openssl pkey -pubin -outform DER | tail -c 65 > $c.raw\n"
	"  openssl dgst -sha256 -binary $c.raw | head -c 8 > $c.kid\n"
	"done\n"
	"printf 'a Sig_structure stands in here' > msg\n"
	"openssl dgst -sha256 -sign dev.key -out msg.sig msg\n"
	"printf 'not a certificate\\n' > junk.pem\n";

static void path_of(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", dir, name);
}

static int group_setup(void **state)
{
	char script[128], cmd[512];
	(void)state;

	log_open("test", LOG_TO_STDERR, LOG_ERR);
	snprintf(dir, sizeof(dir), "/tmp/eco2-x509-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	path_of(script, sizeof(script), "gen.sh");
	FILE *f = fopen(script, "w");
	if (!f)
		return -1;
	fputs(gen_sh, f);
	if (fclose(f))
		return -1;
	snprintf(cmd, sizeof(cmd), "cd '%s' && sh gen.sh > gen.log 2>&1", dir);
	if (system(cmd) != 0) {
		snprintf(cmd, sizeof(cmd), "cat '%s/gen.log' >&2", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "test_x509: cannot show %s/gen.log\n", dir);
		fprintf(stderr, "test_x509: making the certificates with openssl failed\n");
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[sizeof(dir) + sizeof(e->d_name) + 1];
	(void)state;

	/* cppcheck-suppress readdirCalled ; single-threaded test */
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	return rmdir(dir);
}

/* The whole of a small file from the temp folder; returns its length. */
static size_t slurp(const char *name, uint8_t *out, size_t max)
{
	char p[128];
	FILE *f;
	size_t n;

	path_of(p, sizeof(p), name);
	f = fopen(p, "rb");
	assert_non_null(f);
	n = fread(out, 1, max, f);
	assert_int_equal(fgetc(f), EOF);
	fclose(f);
	return n;
}

/* ECDSA-Sig-Value (DER SEQUENCE of two INTEGERs) to raw r||s. */
static void der_sig_to_raw(const uint8_t *der, size_t len, uint8_t raw[64])
{
	size_t off = 2;

	assert_true(len > 8 && der[0] == 0x30 && der[1] == len - 2);
	memset(raw, 0, 64);
	for (int half = 0; half < 2; half++) {
		assert_true(off + 2 <= len && der[off] == 0x02);
		size_t n = der[off + 1];
		const uint8_t *v = der + off + 2;
		assert_true(off + 2 + n <= len);
		while (n > 32 && *v == 0)
			v++, n--;
		assert_true(n <= 32);
		memcpy(raw + 32 * half + (32 - n), v, n);
		off += 2 + der[off + 1];
	}
	assert_int_equal(off, len);
}

/* The key matches openssl's view of the certificate `name` (raw point,
 * kid) and, for dev, verifies openssl's signature. */
static void check_key(verify_key_t *k, const char *name, bool check_sig)
{
	uint8_t want[128], got[SIGNER_PUBKEY_MAX], kid_want[16], kid[8];
	char file[32];

	assert_non_null(k);
	assert_int_equal(verify_key_alg(k), COSE_ALG_ES256);
	snprintf(file, sizeof(file), "%s.raw", name);
	assert_int_equal(slurp(file, want, sizeof(want)), 65);
	assert_int_equal(want[0], 0x04);
	assert_int_equal(verify_key_raw(k, got), 65);
	assert_memory_equal(got, want, 65);
	snprintf(file, sizeof(file), "%s.kid", name);
	assert_int_equal(slurp(file, kid_want, sizeof(kid_want)), 8);
	verify_key_kid(k, kid);
	assert_memory_equal(kid, kid_want, 8);

	if (check_sig) {
		uint8_t msg[256], der[128], sig[64];
		size_t mlen = slurp("msg", msg, sizeof(msg));
		size_t dlen = slurp("msg.sig", der, sizeof(der));

		der_sig_to_raw(der, dlen, sig);
		assert_int_equal(verify_sig(k, msg, mlen, sig), 0);
		msg[0] ^= 1;
		assert_int_equal(verify_sig(k, msg, mlen, sig), -EBADE);
	}
}

static int device_key(const char *cert, const char *ca, verify_key_t **k, char *why, size_t why_len)
{
	char c[128], a[128];

	path_of(c, sizeof(c), cert);
	path_of(a, sizeof(a), ca);
	why[0] = 0;
	return x509_device_key(c, a, (int64_t)time(NULL), lib, k, &info, why, why_len);
}

static int subject_key(const char *cert, verify_key_t **k, char *why, size_t why_len)
{
	char c[128];

	path_of(c, sizeof(c), cert);
	why[0] = 0;
	return x509_subject_key(c, k, why, why_len);
}

/* Refused with ret, no key, and a reason naming the certificate file and
 * containing one of the words (case-insensitive, '|'-separated). */
static void expect_refused(int got_ret, int ret, verify_key_t *k, const char *why,
			   const char *cert, const char *words)
{
	char list[128], *save = NULL;
	bool found = false;

	if (got_ret != ret)
		fail_msg("%s: %d, expected %d (%s)", cert, got_ret, ret, why);
	assert_null(k);
	if (!strstr(why, cert))
		fail_msg("%s: the reason does not name the file: \"%s\"", cert, why);
	snprintf(list, sizeof(list), "%s", words);
	for (char *w = strtok_r(list, "|", &save); w && !found; w = strtok_r(NULL, "|", &save))
		found = strcasestr(why, w) != NULL;
	if (!found)
		fail_msg("%s: the reason \"%s\" says none of: %s", cert, why, words);
}

/* ---- x509_device_key ------------------------------------------------------------- */

static void device_good(void)
{
	verify_key_t *k = NULL;
	char why[512];

	assert_int_equal(device_key("dev.pem", "ca.pem", &k, why, sizeof(why)), 0);
	check_key(k, "dev", true);
	verify_key_free(k);

	/* DER as well as PEM */
	assert_int_equal(device_key("dev.der", "ca.pem", &k, why, sizeof(why)), 0);
	check_key(k, "dev", true);
	verify_key_free(k);

	/* no key usage extension at all: allowed */
	assert_int_equal(device_key("noku.pem", "ca.pem", &k, why, sizeof(why)), 0);
	check_key(k, "dev", false);
	verify_key_free(k);

	/* through an intermediate that follows in the device's file */
	assert_int_equal(device_key("chain.pem", "ca.pem", &k, why, sizeof(why)), 0);
	check_key(k, "dev2", false);
	verify_key_free(k);
	assert_string_equal(info.library, lib);
	assert_non_null(strstr(info.subject, "device2"));
	assert_non_null(strstr(info.issuer, "Test Intermediate"));
	assert_string_equal(info.key, "P-256");
	assert_true(info.not_before_s == 1577836800);             /* 2020-01-01 */
}

static void device_refused(void);

static void test_device_good(void **state)
{
	(void)state;
	for (int i = 0; i < N_LIBS; i++) {
		lib = libs[i];
		device_good();
		device_refused();
	}
	lib = NULL;
}

static void device_refused(void)
{
	verify_key_t *k;
	char why[512];
	int ret;

	static const struct {
		const char *cert, *ca;
		const char *words;
	} cases[] = {
		{ "byother.pem", "ca.pem", "CA|trusted|issued" },      /* the wrong CA */
		{ "dev.pem", "other.pem", "CA|trusted|issued" },
		{ "expired.pem", "ca.pem", "expired" },
		{ "future.pem", "ca.pem", "future|not yet valid" },
		{ "ke.pem", "ca.pem", "digitalSignature|key usage" },
		{ "dev2.pem", "ca.pem", "CA|trusted|issued" },         /* intermediate missing */
		{ "p384.pem", "ca.pem", "P-256" },
		/* RSA: too short for mbedTLS's default profile (a 2048-bit
		 * key costs up to 1.5 s to make); subject_key reaches the
		 * P-256 check below */
		{ "rsa.pem", "ca.pem", "P-256|unacceptable key" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		k = (verify_key_t *)&k;   /* must come back NULL */
		ret = device_key(cases[i].cert, cases[i].ca, &k, why, sizeof(why));
		expect_refused(ret, -EKEYREJECTED, k, why, cases[i].cert, cases[i].words);
	}
}

/* Validity at a time, or the window a record's time must lie in. The
 * roots were made today (valid for 100 years); dev.pem is valid
 * 2020..2099, expired.pem 2020..2021. */
static void test_validity(void **state)
{
	verify_key_t *k = NULL;
	char c[128], a[128], why[512];
	int64_t now = (int64_t)time(NULL);
	(void)state;

	path_of(a, sizeof(a), "ca.pem");
	for (int i = 0; i < N_LIBS; i++) {
		path_of(c, sizeof(c), "expired.pem");
		/* for records: accepted, with the window */
		assert_int_equal(x509_device_key(c, a, X509_AT_RECORDS, libs[i], &k, &info, why,
						 sizeof(why)), 0);
		check_key(k, "dev", true);
		verify_key_free(k);
		assert_true(info.not_before_s == 1577836800 && info.not_after_s == 1609459200);
		assert_true(info.chain_to_s == 1609459200);          /* the device's end */
		assert_true(info.chain_from_s > now - 86400 && info.chain_from_s <= now);  /* the root's start */
		/* at a time: in the window, or said which end */
		assert_int_equal(x509_device_key(c, a, now, libs[i], &k, NULL, why, sizeof(why)),
				 -EKEYREJECTED);
		assert_non_null(strstr(why, "expired"));
		assert_int_equal(x509_device_key(c, a, T2020_06, libs[i], &k, NULL, why, sizeof(why)),
				 -EKEYREJECTED);
		assert_non_null(strstr(why, "not yet valid"));       /* the root was not */
		path_of(c, sizeof(c), "dev.pem");
		assert_int_equal(x509_device_key(c, a, now + 86400, libs[i], &k, &info, why,
						 sizeof(why)), 0);
		verify_key_free(k);
		assert_true(info.chain_to_s == 4102444799);           /* 2099-12-31T23:59:59Z */
	}
	/* a library that is not built, or not one */
	assert_int_equal(x509_device_key(c, a, now, "gnutls", &k, NULL, why, sizeof(why)), -ENOTSUP);
	assert_null(k);
}

/* Ed25519: mbedTLS 2.28 cannot parse the certificate ("cannot read or
 * parse", -EIO); OpenSSL can, and gives the key openssl prints. */
static void test_ed25519(void **state)
{
	verify_key_t *k = (verify_key_t *)&k;   /* must come back NULL */
	uint8_t want[64], got[SIGNER_PUBKEY_MAX];
	char why[512];
	int ret;
	(void)state;

	lib = "mbedtls";
	ret = device_key("ed.pem", "ca.pem", &k, why, sizeof(why));
	expect_refused(ret, -EIO, k, why, "ed.pem", "parse");
	lib = NULL;
	ret = device_key("ed.pem", "ca.pem", &k, why, sizeof(why));
	if (!IS_ENABLED(CONFIG_VERIFY_LIBCRYPTO)) {
		expect_refused(ret, -EIO, k, why, "ed.pem", "CONFIG_VERIFY_LIBCRYPTO");
		k = (verify_key_t *)&k;
		ret = subject_key("ed.pem", &k, why, sizeof(why));
		expect_refused(ret, -EIO, k, why, "ed.pem", "parse");
		return;
	}
	if (ret)
		fail_msg("ed.pem: %d %s", ret, why);
	assert_int_equal(verify_key_alg(k), COSE_ALG_EDDSA);
	assert_int_equal(slurp("ed.raw", want, sizeof(want)), 32);
	assert_int_equal(verify_key_raw(k, got), 32);
	assert_memory_equal(got, want, 32);
	assert_string_equal(info.key, "Ed25519");
	assert_string_equal(info.library, "libcrypto");
	verify_key_free(k);
	assert_int_equal(subject_key("ed.pem", &k, why, sizeof(why)), 0);
	assert_int_equal(verify_key_alg(k), COSE_ALG_EDDSA);
	verify_key_free(k);
	/* the wrong CA, through OpenSSL */
	k = (verify_key_t *)&k;
	ret = device_key("ed.pem", "other.pem", &k, why, sizeof(why));
	expect_refused(ret, -EKEYREJECTED, k, why, "ed.pem", "issued");
}

static void test_unreadable(void **state)
{
	verify_key_t *k;
	char why[512];
	int ret;
	(void)state;

	static const struct {
		const char *cert, *ca, *named;
	} cases[] = {
		{ "missing.pem", "ca.pem", "missing.pem" },
		{ "dev.pem", "missing.pem", "missing.pem" },
		{ "junk.pem", "ca.pem", "junk.pem" },
		{ "dev.pem", "junk.pem", "junk.pem" },
		{ "dev.key", "ca.pem", "dev.key" },    /* a key, not a certificate */
		{ "msg.sig", "ca.pem", "msg.sig" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		k = (verify_key_t *)&k;
		ret = device_key(cases[i].cert, cases[i].ca, &k, why, sizeof(why));
		expect_refused(ret, -EIO, k, why, cases[i].named, "read|parse");
	}
	k = (verify_key_t *)&k;
	ret = subject_key("missing.pem", &k, why, sizeof(why));
	expect_refused(ret, -EIO, k, why, "missing.pem", "read|parse");
	k = (verify_key_t *)&k;
	ret = subject_key("junk.pem", &k, why, sizeof(why));
	expect_refused(ret, -EIO, k, why, "junk.pem", "read|parse");
}

/* why gets a message on failure, cut to why_len. */
static void test_short_why(void **state)
{
	verify_key_t *k;
	char why[16];
	(void)state;

	for (size_t len = 1; len <= sizeof(why); len++) {
		char *buf = malloc(len);   /* exactly len: valgrind sees an overrun */
		assert_non_null(buf);
		memset(buf, 'Z', len);
		char c[128], a[128];
		path_of(c, sizeof(c), "expired.pem");
		path_of(a, sizeof(a), "ca.pem");
		assert_int_equal(x509_device_key(c, a, (int64_t)time(NULL), NULL, &k, NULL, buf, len),
				 -EKEYREJECTED);
		assert_null(k);
		assert_int_equal(strlen(buf), len - 1);
		memset(buf, 'Z', len);
		path_of(c, sizeof(c), "missing.pem");
		assert_int_equal(x509_subject_key(c, &k, buf, len), -EIO);
		assert_int_equal(strlen(buf), len - 1);
		free(buf);
	}
}

/* ---- x509_subject_key ------------------------------------------------------------- */

static void test_subject_key(void **state)
{
	verify_key_t *k = NULL;
	char why[512];
	int ret;
	(void)state;

	/* not verified: the same key from certificates x509_device_key
	 * refuses for their dates, issuer or key usage */
	static const char *const certs[] = { "dev.pem", "dev.der", "expired.pem", "future.pem",
					     "byother.pem", "ke.pem", "noku.pem" };
	for (size_t i = 0; i < sizeof(certs) / sizeof(certs[0]); i++) {
		ret = subject_key(certs[i], &k, why, sizeof(why));
		if (ret)
			fail_msg("x509_subject_key(%s) = %d: %s", certs[i], ret, why);
		check_key(k, "dev", i == 0);
		verify_key_free(k);
	}
	/* the first certificate of a chain file */
	assert_int_equal(subject_key("chain.pem", &k, why, sizeof(why)), 0);
	check_key(k, "dev2", false);
	verify_key_free(k);

	/* still only P-256 */
	k = (verify_key_t *)&k;
	ret = subject_key("p384.pem", &k, why, sizeof(why));
	expect_refused(ret, -EKEYREJECTED, k, why, "p384.pem", "P-256");
	k = (verify_key_t *)&k;
	ret = subject_key("rsa.pem", &k, why, sizeof(why));
	expect_refused(ret, -EKEYREJECTED, k, why, "rsa.pem", "P-256");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_device_good),
		cmocka_unit_test(test_validity),
		cmocka_unit_test(test_ed25519),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_short_why),
		cmocka_unit_test(test_subject_key),
	};
	return cmocka_run_group_tests_name("x509", tests, group_setup, group_teardown);
}
