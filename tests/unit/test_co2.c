/* Unit tests for agent/co2.c: the methodology's integer arithmetic against
 * figures worked by hand, and its rounding rule. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "crypto/co2.h"

static void test_defaults_from_config(void **state)
{
	struct co2_params p;
	(void)state;

	co2_params_from_config(&p, 7.2 * 2348 / 100, 530.6, 0.90, 0);
	assert_int_equal(p.baseline_mg_per_km, 169056);
	assert_int_equal(p.grid_mg_per_kwh, 530600);
	assert_int_equal(p.charge_eff_permille, 900);
	assert_int_equal(p.td_loss_permille, 0);
}

static void test_worked_example(void **state)
{
	struct co2_params p = { 169056, 530600, 900, 0 };
	int64_t g;
	(void)state;

	/* 23,266 m: BE = 23.266 x 169.056 = 3933.257 g.
	 * 3,500 Wh out, 400 Wh regen: 3.1 kWh / 0.9 x 530.6 = 1827.622 g.
	 * ER = 2105.635 -> 2106 g. */
	assert_int_equal(co2_avoided_g(&p, 23266, 3500, 400, &g), 0);
	assert_int_equal(g, 2106);
	/* No distance, energy used (a charging-only or idle record): negative. */
	assert_int_equal(co2_avoided_g(&p, 0, 900, 0, &g), 0);
	/* 0.9 kWh / 0.9 x 530.6 = 530.6 -> -531 (half away from zero) */
	assert_int_equal(g, -531);
}

static void test_rounding_half_away(void **state)
{
	/* baseline 1 g/km: BE = distance_m / 1000 g exactly. */
	struct co2_params p = { 1000, 0, 1000, 0 };
	int64_t g;
	(void)state;

	assert_int_equal(co2_avoided_g(&p, 1500, 0, 0, &g), 0);
	assert_int_equal(g, 2);
	assert_int_equal(co2_avoided_g(&p, 1499, 0, 0, &g), 0);
	assert_int_equal(g, 1);
	assert_int_equal(co2_avoided_g(&p, 2500, 0, 0, &g), 0);
	assert_int_equal(g, 3);
	/* grid 1 g/kWh at 100 %: PE = Wh / 1000 g. */
	struct co2_params q = { 0, 1000, 1000, 0 };
	assert_int_equal(co2_avoided_g(&q, 0, 1500, 0, &g), 0);
	assert_int_equal(g, -2);
	assert_int_equal(co2_avoided_g(&q, 0, 1499, 0, &g), 0);
	assert_int_equal(g, -1);
	/* Regen larger than discharge makes PE negative, ER larger. */
	assert_int_equal(co2_avoided_g(&q, 0, 0, 2500, &g), 0);
	assert_int_equal(g, 3);
}

static void test_td_loss(void **state)
{
	struct co2_params p = { 0, 500000, 1000, 50 };
	int64_t g;
	(void)state;

	/* 10 kWh x 500 g x 1.05 = 5250 g */
	assert_int_equal(co2_avoided_g(&p, 0, 10000, 0, &g), 0);
	assert_int_equal(g, -5250);
}

static void test_refused(void **state)
{
	struct co2_params p = { 169056, 530600, 900, 0 };
	int64_t g = 77;
	(void)state;

	assert_int_equal(co2_avoided_g(&p, -1, 0, 0, &g), -EINVAL);
	p.charge_eff_permille = 0;
	assert_int_equal(co2_avoided_g(&p, 1, 0, 0, &g), -EINVAL);
	p.charge_eff_permille = 900;
	assert_int_equal(co2_avoided_g(&p, INT64_MAX / 2, 0, 0, &g), -ERANGE);
	assert_int_equal(g, 77);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_from_config),
		cmocka_unit_test(test_worked_example),
		cmocka_unit_test(test_rounding_half_away),
		cmocka_unit_test(test_td_loss),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests_name("co2", tests, NULL, NULL);
}
