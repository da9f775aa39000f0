/* Unit tests for ledger/limits.c: a token bucket lets a burst through,
 * then one request per 1/rate seconds, and says when the next comes;
 * clients are independent; a full table forgets the least recently seen
 * client and keeps its size; a device may have per_device requests in
 * flight and another after one ends, whatever the collisions in the
 * table; the body budget is never exceeded and comes back whole. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ledger/limits.h"

#define S 1000000000ull

static void test_bucket(void **state)
{
	struct limits_opts o = { .rate = 2, .burst = 5 };
	limits_t *l;
	unsigned retry = 0;
	uint64_t t = 1000 * S;

	(void)state;
	assert_int_equal(limits_new(&l, &o), 0);
	for (int i = 0; i < 5; i++)
		assert_true(limits_take(l, "a", 1, t, &retry));
	assert_false(limits_take(l, "a", 1, t, &retry));
	assert_int_equal(retry, 1);
	/* another client is not affected */
	assert_true(limits_take(l, "b", 1, t, &retry));
	/* half a second brings one token at 2/s */
	assert_true(limits_take(l, "a", 1, t + S / 2, &retry));
	assert_false(limits_take(l, "a", 1, t + S / 2, &retry));
	/* a long pause refills to the burst, not beyond */
	t += 3600 * S;
	for (int i = 0; i < 5; i++)
		assert_true(limits_take(l, "a", 1, t, &retry));
	assert_false(limits_take(l, "a", 1, t, &retry));
	limits_free(l);
	/* a slow rate says how long to wait */
	o.rate = 0.1;
	o.burst = 1;
	assert_int_equal(limits_new(&l, &o), 0);
	assert_true(limits_take(l, "a", 1, t, &retry));
	assert_false(limits_take(l, "a", 1, t, &retry));
	assert_int_equal(retry, 10);
	limits_free(l);
	/* rate 0: no limit */
	o.rate = 0;
	assert_int_equal(limits_new(&l, &o), 0);
	for (int i = 0; i < 1000; i++)
		assert_true(limits_take(l, "a", 1, t, &retry));
	limits_free(l);
}

static void test_table_full(void **state)
{
	struct limits_opts o = { .rate = 1, .burst = 1, .table = 16 };
	limits_t *l;
	unsigned retry;
	uint64_t t = 1000 * S;

	(void)state;
	assert_int_equal(limits_new(&l, &o), 0);
	/* a thousand clients through 16 slots: each new one gets its burst */
	for (unsigned i = 0; i < 1000; i++)
		assert_true(limits_take(l, &i, sizeof(i), t + i, &retry));
	/* the last one is still remembered */
	{
		unsigned last = 999;

		assert_false(limits_take(l, &last, sizeof(last), t + 1000, &retry));
	}
	limits_free(l);
}

static void test_inflight(void **state)
{
	struct limits_opts o = { .per_device = 2, .table = 8 };
	limits_t *l;
	uint8_t kids[20][8];

	(void)state;
	assert_int_equal(limits_new(&l, &o), 0);
	memset(kids, 0, sizeof(kids));
	for (int i = 0; i < 8; i++)
		kids[i][0] = (uint8_t)i;
	assert_true(limits_enter(l, kids[0]));
	assert_true(limits_enter(l, kids[0]));
	assert_false(limits_enter(l, kids[0]));
	limits_leave(l, kids[0]);
	assert_true(limits_enter(l, kids[0]));
	/* fill the table with others, then free them in another order */
	for (int i = 1; i < 8; i++)
		assert_true(limits_enter(l, kids[i]));
	{
		uint8_t more[8] = { 99 };

		assert_false(limits_enter(l, more));     /* no slot left */
	}
	for (int i = 7; i >= 1; i -= 2)
		limits_leave(l, kids[i]);
	for (int i = 2; i < 8; i += 2) {
		/* still counted: one more each, then no more */
		assert_true(limits_enter(l, kids[i]));
		assert_false(limits_enter(l, kids[i]));
	}
	assert_false(limits_enter(l, kids[0]));
	limits_leave(l, kids[0]);
	limits_leave(l, kids[0]);
	assert_true(limits_enter(l, kids[0]));
	limits_free(l);
}

static void test_budget(void **state)
{
	struct limits_opts o = { .body_memory = 1000 };
	limits_t *l;

	(void)state;
	assert_int_equal(limits_new(&l, &o), 0);
	assert_true(limits_reserve(l, 600));
	assert_false(limits_reserve(l, 401));
	assert_true(limits_reserve(l, 400));
	assert_false(limits_reserve(l, 1));
	assert_int_equal(limits_reserved(l), 1000);
	limits_release(l, 600);
	assert_true(limits_reserve(l, 600));
	limits_release(l, 1000);
	assert_int_equal(limits_reserved(l), 0);
	limits_release(l, 5);       /* never below zero */
	assert_int_equal(limits_reserved(l), 0);
	limits_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_table_full),
		cmocka_unit_test(test_inflight),
		cmocka_unit_test(test_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
