/* Unit tests for crypto/pkcs11_uri.c: every attribute, %-escapes, vendor
 * attributes, and that each kind of error names its column and reason;
 * and for the token-independent helpers of crypto/signer_pkcs11.c (the
 * real-token paths are tests/integration/crypto_pkcs11_softhsm.sh). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/pkcs11_uri.c"
#include "crypto/signer_pkcs11.c"

static char err[256];

static struct pkcs11_uri *parse_ok(const char *uri)
{
	struct pkcs11_uri *u = NULL;
	int r = pkcs11_uri_parse(&u, uri, err, sizeof(err));

	if (r)
		fail_msg("%s: %s", uri, err);
	assert_non_null(u);
	return u;
}

/* The URI must fail, with a message containing want. */
static void parse_bad(const char *uri, const char *want)
{
	struct pkcs11_uri *u = NULL;
	int r = pkcs11_uri_parse(&u, uri, err, sizeof(err));

	if (r != -EINVAL || u)
		fail_msg("%s: accepted (r=%d)", uri, r);
	if (!strstr(err, want))
		fail_msg("%s: error '%s' does not say '%s'", uri, err, want);
}

static void test_full(void **state)
{
	(void)state;
	struct pkcs11_uri *u = parse_ok(
		"pkcs11:token=eco2%20dev;manufacturer=SoftHSM%20project;serial=3f2a;"
		"model=SoftHSM%20v2;object=device%3bkey;id=%01%02%fF;type=private;"
		"slot-description=Slot%200;slot-manufacturer=acme;slot-id=42;"
		"library-manufacturer=SoftHSM;library-description=Impl;library-version=2.6"
		"?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=12%2634");

	assert_string_equal(u->token, "eco2 dev");
	assert_string_equal(u->manufacturer, "SoftHSM project");
	assert_string_equal(u->serial, "3f2a");
	assert_string_equal(u->model, "SoftHSM v2");
	assert_string_equal(u->object, "device;key");
	assert_int_equal(u->id_len, 3);
	assert_memory_equal(u->id, "\x01\x02\xff", 3);
	assert_int_equal(u->type, PKCS11_URI_TYPE_PRIVATE);
	assert_string_equal(u->slot_description, "Slot 0");
	assert_string_equal(u->slot_manufacturer, "acme");
	assert_true(u->has_slot_id);
	assert_int_equal(u->slot_id, 42);
	assert_string_equal(u->library_manufacturer, "SoftHSM");
	assert_string_equal(u->library_description, "Impl");
	assert_true(u->has_library_version);
	assert_int_equal(u->library_version_major, 2);
	assert_int_equal(u->library_version_minor, 6);
	assert_string_equal(u->module_path, "/usr/lib/softhsm/libsofthsm2.so");
	assert_string_equal(u->pin_value, "12&34");
	assert_null(u->pin_source);
	pkcs11_uri_free(u);
}

static void test_minimal_and_vendor(void **state)
{
	(void)state;
	struct pkcs11_uri *u = parse_ok("pkcs11:");
	assert_null(u->token);
	assert_null(u->id);
	assert_false(u->has_slot_id);
	assert_int_equal(u->type, PKCS11_URI_TYPE_ANY);
	pkcs11_uri_free(u);

	/* Scheme is case-insensitive; x- attributes are ignored; id may hold
	 * a NUL byte; '&' is allowed as is in the path part. */
	u = parse_ok("PKCS11:object=a&b;x-vendor=whatever;id=%00?x-opt=1&slot-id=7");
	assert_string_equal(u->object, "a&b");
	assert_int_equal(u->id_len, 1);
	assert_int_equal(u->id[0], 0);
	assert_int_equal(u->slot_id, 7);
	pkcs11_uri_free(u);

	u = parse_ok("pkcs11:type=cert;library-version=3");
	assert_int_equal(u->type, PKCS11_URI_TYPE_CERT);
	assert_int_equal(u->library_version_major, 3);
	assert_int_equal(u->library_version_minor, 0);
	pkcs11_uri_free(u);

	u = parse_ok("pkcs11:object=?pin-source=file:/etc/eco2/pin");
	assert_string_equal(u->object, "");
	assert_string_equal(u->pin_source, "file:/etc/eco2/pin");
	pkcs11_uri_free(u);
}

static void test_errors(void **state)
{
	(void)state;
	parse_bad("file:/x", "col 1: expected a URI starting with 'pkcs11:'");
	parse_bad("pkcs11", "starting with 'pkcs11:'");
	parse_bad("pkcs11:object=a%zzb", "col 16: '%' must start a %XX escape");
	parse_bad("pkcs11:object=ab%4", "col 17: '%' must start");
	parse_bad("pkcs11:object=ab%", "col 17: '%' must start");
	parse_bad("pkcs11:object=my key", "col 17: ' ' must be %-escaped here (%20)");
	parse_bad("pkcs11:object=a/b", "'/' must be %-escaped here (%2F)");
	parse_bad("pkcs11:object=a\x01", "byte 0x01 must be %-escaped");
	parse_bad("pkcs11:object=a%00", "%00 is not allowed in a text attribute");
	parse_bad("pkcs11:objet=a", "col 8: unknown path attribute 'objet'");
	parse_bad("pkcs11:object=a?module=x", "unknown query attribute 'module'");
	parse_bad("pkcs11:object=a;object=b", "col 17: attribute 'object' given twice");
	parse_bad("pkcs11:id=%01;id=%02", "attribute 'id' given twice");
	parse_bad("pkcs11:object=a;", "empty path attribute");
	parse_bad("pkcs11:;object=a", "col 8: empty path attribute");
	parse_bad("pkcs11:object=a?", "'?' must be followed");
	parse_bad("pkcs11:object=a?pin-value=1&&module-path=/x", "empty query attribute");
	parse_bad("pkcs11:object", "expected name=value");
	parse_bad("pkcs11:=a", "attribute name missing");
	parse_bad("pkcs11:ob.ject=a", "attribute names are letters");
	parse_bad("pkcs11:type=secret", "type=secret: expected public, private");
	parse_bad("pkcs11:slot-id=0x1", "slot-id=0x1: expected a decimal number");
	parse_bad("pkcs11:slot-id=99999999999999999999999", "expected a decimal number");
	parse_bad("pkcs11:slot-id=", "expected a decimal number");
	parse_bad("pkcs11:slot-id=1?slot-id=1", "given twice");
	parse_bad("pkcs11:library-version=2.x", "expected M or M.N");
	parse_bad("pkcs11:library-version=256", "expected M or M.N");
	parse_bad("pkcs11:object=a?pin-value=1&pin-source=file:/p",
		  "pin-value and pin-source are mutually exclusive");
	parse_bad("pkcs11:object=a?module-path=/a b", "' ' must be %-escaped");
}

static void test_too_long(void **state)
{
	(void)state;
	size_t n = PKCS11_URI_MAX + 10;
	char *s = malloc(n + 1);
	assert_non_null(s);
	memcpy(s, "pkcs11:object=", 14);
	memset(s + 14, 'a', n - 14);
	s[n] = '\0';
	parse_bad(s, "longer than");
	free(s);
}

static void test_error_buffer_small(void **state)
{
	(void)state;
	struct pkcs11_uri *u = NULL;
	char small[8];

	assert_int_equal(pkcs11_uri_parse(&u, "pkcs11:bogus=1", small, sizeof(small)), -EINVAL);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(pkcs11_uri_parse(&u, "pkcs11:bogus=1", NULL, 0), -EINVAL);
}

static void test_pin(void **state)
{
	(void)state;
	char path[] = "/tmp/eco2-pin-XXXXXX";
	char uri[128];
	char *pin = NULL;
	struct pkcs11_uri *u;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "s3cret\nsecond line\n", 19), 19);
	close(fd);

	snprintf(uri, sizeof(uri), "pkcs11:object=k?pin-source=file:%s", path);
	u = parse_ok(uri);
	assert_int_equal(pkcs11_uri_pin(u, &pin, err, sizeof(err)), 0);
	assert_string_equal(pin, "s3cret");
	pkcs11_uri_pin_free(pin);
	pkcs11_uri_free(u);

	snprintf(uri, sizeof(uri), "pkcs11:object=k?pin-source=file://%s", path);
	u = parse_ok(uri);
	assert_int_equal(pkcs11_uri_pin(u, &pin, err, sizeof(err)), 0);
	assert_string_equal(pin, "s3cret");
	pkcs11_uri_pin_free(pin);
	pkcs11_uri_free(u);

	u = parse_ok("pkcs11:object=k?pin-value=1234");
	assert_int_equal(pkcs11_uri_pin(u, &pin, err, sizeof(err)), 0);
	assert_string_equal(pin, "1234");
	pkcs11_uri_pin_free(pin);
	pkcs11_uri_free(u);

	u = parse_ok("pkcs11:object=k");
	assert_int_equal(pkcs11_uri_pin(u, &pin, err, sizeof(err)), 0);
	assert_null(pin);
	pkcs11_uri_free(u);

	u = parse_ok("pkcs11:object=k?pin-source=file:relative/pin");
	assert_int_equal(pkcs11_uri_pin(u, &pin, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "expected file:/ABSOLUTE/PATH"));
	pkcs11_uri_free(u);

	unlink(path);
	snprintf(uri, sizeof(uri), "pkcs11:object=k?pin-source=%s", path);
	u = parse_ok(uri);
	assert_int_equal(pkcs11_uri_pin(u, &pin, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
	assert_null(pin);
	pkcs11_uri_pin_free(pin);
	pkcs11_uri_free(u);
}

static void test_ec_point(void **state)
{
	uint8_t in[67], out[65];
	(void)state;

	in[0] = 0x04;
	in[1] = 65;
	in[2] = 0x04;
	for (int i = 3; i < 67; i++)
		in[i] = (uint8_t)i;
	/* DER OCTET STRING around the point, as PKCS#11 says */
	assert_int_equal(unwrap_point(in, 67, 65, out), 0);
	assert_memory_equal(out, in + 2, 65);
	/* the bare point, as some tokens return it */
	assert_int_equal(unwrap_point(in + 2, 65, 65, out), 0);
	assert_memory_equal(out, in + 2, 65);
	/* Ed25519: 32 bytes, wrapped or not */
	in[1] = 32;
	assert_int_equal(unwrap_point(in, 34, 32, out), 0);
	assert_memory_equal(out, in + 2, 32);
	assert_int_equal(unwrap_point(in + 2, 32, 32, out), 0);
	/* wrong lengths, wrong tag */
	assert_int_equal(unwrap_point(in, 66, 65, out), -EINVAL);
	assert_int_equal(unwrap_point(in, 34, 65, out), -EINVAL);
	in[0] = 0x03;
	assert_int_equal(unwrap_point(in, 34, 32, out), -EINVAL);
}

static void test_ec_params(void **state)
{
	static const uint8_t p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
	static const uint8_t ed448[] = { 0x06, 0x03, 0x2b, 0x65, 0x71 };
	(void)state;

	assert_int_equal(p11_params_alg(p256_params, sizeof(p256_params)), COSE_ALG_ES256);
	assert_int_equal(p11_params_alg(ed25519_oid_params, sizeof(ed25519_oid_params)),
			 COSE_ALG_EDDSA);
	assert_int_equal(p11_params_alg(ed25519_name_params, sizeof(ed25519_name_params)),
			 COSE_ALG_EDDSA);
	assert_int_equal(p11_params_alg(p384, sizeof(p384)), 0);
	assert_int_equal(p11_params_alg(ed448, sizeof(ed448)), 0);
	assert_int_equal(p11_params_alg(p256_params, sizeof(p256_params) - 1), 0);
}

static void test_token_fields(void **state)
{
	unsigned char label[32];
	(void)state;

	/* "eco2" blank-padded to 32 bytes, no NUL: a CK_TOKEN_INFO label */
	for (size_t i = 0; i < sizeof(label); i++)
		label[i] = i < 4 ? (unsigned char)"eco2"[i] : ' ';
	assert_true(padded_eq("eco2", label, sizeof(label)));
	assert_true(padded_eq(NULL, label, sizeof(label)));   /* not in the URI */
	assert_false(padded_eq("eco", label, sizeof(label)));
	assert_false(padded_eq("eco2 ", label, sizeof(label)));
	assert_false(padded_eq("eco22", label, sizeof(label)));
	memset(label, 'x', sizeof(label));   /* a full field, no padding */
	char full[33];
	memset(full, 'x', 32);
	full[32] = '\0';
	assert_true(padded_eq(full, label, sizeof(label)));
}

static void test_ckr_names(void **state)
{
	(void)state;
	assert_string_equal(ckr_name(CKR_PIN_INCORRECT), "CKR_PIN_INCORRECT");
	assert_string_equal(ckr_name(CKR_OK), "CKR_OK");
	assert_string_equal(ckr_name(CKR_CURVE_NOT_SUPPORTED), "CKR_CURVE_NOT_SUPPORTED");
	assert_string_equal(ckr_name(CKR_VENDOR_DEFINED | 5), "CKR_VENDOR_DEFINED+0x00000005");
	assert_string_equal(ckr_name(0x7777), "CKR_0x00007777");
}

/* Module loading fails cleanly, naming the module, before any token. */
static void test_module_errors(void **state)
{
	signer_t *s = NULL;
	(void)state;

	log_open("test", LOG_TO_STDERR, LOG_EMERG);
	assert_int_equal(signer_open(&s, "pkcs11:object=k?module-path=/nonexistent/p11.so",
				     NULL), -ENOENT);
	assert_int_equal(signer_open(&s, "pkcs11:object=k?module-path=libc.so.6", NULL),
			 -ENOENT);   /* loads, but has no C_GetFunctionList */
	assert_int_equal(signer_open(&s, "pkcs11:object=k", NULL), -EINVAL);
	assert_int_equal(signer_open(&s, "pkcs11:object=k%zz?module-path=/x.so", NULL), -EINVAL);
	assert_int_equal(signer_open(&s, "pkcs11:object=k?module-name=softhsm2", NULL), -EINVAL);
	assert_int_equal(signer_keygen("pkcs11:object=k?module-path=/nonexistent/p11.so",
				       NULL, COSE_ALG_ES256), -ENOENT);
	assert_null(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_minimal_and_vendor),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_error_buffer_small),
		cmocka_unit_test(test_pin),
		cmocka_unit_test(test_ec_point),
		cmocka_unit_test(test_ec_params),
		cmocka_unit_test(test_token_fields),
		cmocka_unit_test(test_ckr_names),
		cmocka_unit_test(test_module_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
