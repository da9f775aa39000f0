/* Unit tests for lib/isotime.c: UTC seconds as ISO 8601, checked against
 * dates worked out by hand, and the out-of-range fallback. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/isotime.h"

static void test_iso(void **state)
{
	char b[ISO_UTC_LEN];
	(void)state;

	assert_string_equal(iso_utc(0, b), "1970-01-01T00:00:00Z");
	assert_string_equal(iso_utc(1767225600, b), "2026-01-01T00:00:00Z");
	assert_string_equal(iso_utc(1709251199, b), "2024-02-29T23:59:59Z");   /* leap day */
	assert_string_equal(iso_utc(-1, b), "1969-12-31T23:59:59Z");
	assert_string_equal(iso_utc(INT64_C(253402300799), b), "9999-12-31T23:59:59Z");
	assert_string_equal(iso_utc(INT64_C(253402300800), b), "@253402300800");
	assert_string_equal(iso_utc(INT64_MAX, b), "@9223372036854775807");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iso),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
