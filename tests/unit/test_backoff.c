/* Unit tests for upload/backoff.c: the ceiling doubles from base to cap,
 * every wait lies in [0, ceiling], the real random source spreads waits
 * over the whole range, and Retry-After is honoured within the cap. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>

#include "upload/backoff.h"

static uint32_t last_upper;
static uint32_t rand_max(uint32_t upper)
{
	last_upper = upper;
	return upper - 1;
}

static uint32_t rand_zero(uint32_t upper)
{
	last_upper = upper;
	return 0;
}

static void test_ceiling_doubles_to_cap(void **state)
{
	struct backoff b;
	(void)state;

	backoff_init(&b, 100, 1000);
	b.rand = rand_max;
	assert_int_equal(backoff_fail(&b), 100);
	assert_int_equal(last_upper, 101);
	assert_int_equal(backoff_fail(&b), 200);
	assert_int_equal(backoff_fail(&b), 400);
	assert_int_equal(backoff_fail(&b), 800);
	assert_int_equal(backoff_fail(&b), 1000);
	for (int i = 0; i < 200; i++)
		assert_int_equal(backoff_fail(&b), 1000);   /* no overflow */
	backoff_reset(&b);
	assert_int_equal(backoff_ceiling_ms(&b), 100);
	b.rand = rand_zero;
	assert_int_equal(backoff_fail(&b), 0);
}

static void test_full_jitter_spread(void **state)
{
	struct backoff b;
	unsigned buckets[10] = { 0 };
	(void)state;

	/* 10,000 waits of the real source under a 1000 ms ceiling: every
	 * decile gets some (the chance any is empty is ~10 x 0.9^10000). */
	backoff_init(&b, 1000, 1000);
	for (int i = 0; i < 10000; i++) {
		uint32_t w = backoff_fail(&b);

		assert_true(w <= 1000);
		buckets[w == 1000 ? 9 : w / 100]++;
	}
	for (int i = 0; i < 10; i++) {
		assert_true(buckets[i] > 700);
		assert_true(buckets[i] < 1300);
	}
}

static void test_retry_after(void **state)
{
	struct backoff b;
	(void)state;

	backoff_init(&b, 100, 60000);
	assert_int_equal(backoff_retry_after(&b, 2), 2000);
	assert_int_equal(b.failures, 1);
	assert_int_equal(backoff_retry_after(&b, 3600), 60000);
	assert_int_equal(backoff_retry_after(&b, UINT64_MAX), 60000);
	assert_int_equal(backoff_retry_after(&b, 0), 0);
}

static void test_init_bounds(void **state)
{
	struct backoff b;
	(void)state;

	backoff_init(&b, 0, 0);
	assert_int_equal(b.base_ms, 1);
	assert_int_equal(b.cap_ms, 1);
	backoff_init(&b, 500, 100);
	assert_int_equal(b.cap_ms, 500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ceiling_doubles_to_cap),
		cmocka_unit_test(test_full_jitter_spread),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_init_bounds),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
