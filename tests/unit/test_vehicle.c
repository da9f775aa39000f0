/* Unit tests for can/sim/vehicle.c: the longitudinal model against road
 * loads and energies worked by hand, and energy conservation in the pack
 * (what the cells give = what the terminals deliver + I^2 R). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <string.h>

#include "can/sim/vehicle.h"

static int REL(double a, double b, double tol)
{
	return fabs(a - b) <= tol * fabs(b);
}

static void test_cruise(void **state)
{
	struct vehicle_params p;
	struct vehicle v;
	(void)state;

	vehicle_params_default(&p);
	vehicle_init(&v, &p);
	v.speed_ms = 20;
	for (int i = 0; i < 100000; i++)
		vehicle_drive(&v, 20, 0.001);
	/* F = 0.009 x 1850 x 9.80665 + 0.5 x 1.2 x 0.616 x 20^2
	 *   = 163.2807 + 147.84 = 311.1207 N; P_wheel = 6222.414 W;
	 * P_pack = 6222.414 / 0.88 + 500 = 7570.925 W over 100 s
	 *        = 210.3035 Wh */
	assert_true(REL(v.odo_m, 2000, 1e-12));
	assert_true(REL(v.wheel_pos_wh, 6222.414 * 100 / 3600, 1e-6));
	assert_true(REL(v.discharge_wh, 7570.925 * 100 / 3600, 1e-6));
	assert_true(v.regen_wh == 0);
	/* the current satisfies P = V I with V = OCV - I R */
	assert_true(REL(v.v_term_v * v.i_a, 7570.925, 1e-6));
	assert_true(REL(v.v_term_v, v.ocv_v - v.i_a * p.r_ohm, 1e-12));
	/* conservation */
	assert_true(REL(v.chem_wh, v.discharge_wh - v.regen_wh + v.loss_wh, 1e-9));
	/* SOC fell by the charge drawn: about 20.4 A x 100 s */
	assert_true(REL((p.soc_start - v.soc) * p.capacity_ah * 3600, v.i_a * 100, 1e-3));
}

static void test_braking(void **state)
{
	struct vehicle_params p;
	struct vehicle v;
	(void)state;

	/* 20 m/s to 0 in 10 s, 100 m. Kinetic 0.5 x 1850 x 1.03 x 400 =
	 * 381100 J; rolling 163.2807 N x 100 m = 16328.07 J; drag
	 * 0.5 x 1.2 x 0.616 x integral of v^3 (20^3 x 10 / 4 = 20000) =
	 * 7392 J. At the wheels 357379.93 J = 99.27220 Wh are braked. */
	vehicle_params_default(&p);
	p.regen_max_w = 1e6;
	vehicle_init(&v, &p);
	v.speed_ms = 20;
	for (int i = 1; i <= 10000; i++)
		vehicle_drive(&v, 20 - 20.0 * i / 10000, 0.001);
	assert_true(REL(v.odo_m, 100, 1e-9));
	assert_true(REL(v.wheel_neg_wh, 99.27220, 1e-5));
	assert_true(v.wheel_pos_wh == 0);
	/* to the pack: 0.75 x 99.27220 - 500 W x 10 s = 74.45415 - 1.38889 */
	assert_true(REL(v.regen_wh - v.discharge_wh, 73.06526, 1e-5));
	assert_true(REL(v.chem_wh, v.discharge_wh - v.regen_wh + v.loss_wh, 1e-9));
	assert_true(v.speed_ms == 0);
}

static void test_regen_limit(void **state)
{
	struct vehicle_params p;
	struct vehicle v;
	double min_p = 0;
	(void)state;

	vehicle_params_default(&p);
	p.regen_max_w = 10000;
	vehicle_init(&v, &p);
	v.speed_ms = 30;
	for (int i = 1; i <= 5000; i++) {
		vehicle_drive(&v, 30 - 30.0 * i / 5000, 0.001);
		if (v.p_pack_w < min_p)
			min_p = v.p_pack_w;
	}
	/* the pack never takes more than the limit less the auxiliaries */
	assert_true(min_p >= -10000 + 500 - 1e-6);
	assert_true(min_p <= -10000 + 500 + 1e-6);
}

static void test_charge_and_park(void **state)
{
	struct vehicle_params p;
	struct vehicle v;
	double soc0;
	(void)state;

	vehicle_params_default(&p);
	p.soc_start = 0.2;
	vehicle_init(&v, &p);
	soc0 = v.soc;
	for (int i = 0; i < 3600; i++)
		vehicle_charge(&v, 11000, 1);
	/* 11 kW in, 200 W for the car's own electronics: 10.8 kWh */
	assert_true(REL(v.charged_wh, 10800, 1e-9));
	assert_true(v.soc > soc0 + 0.15);
	assert_true(v.i_a < 0);
	assert_true(REL(v.chem_wh, -v.charged_wh + v.loss_wh, 1e-9));
	vehicle_park(&v, 600);
	assert_true(v.i_a == 0);
	assert_true(v.v_term_v == v.ocv_v);
}

static void test_ocv_and_params(void **state)
{
	struct vehicle_params p;
	(void)state;

	vehicle_params_default(&p);
	assert_true(REL(vehicle_ocv(&p, 0.55), (364.8 + 371.5) / 2, 1e-12));
	assert_true(vehicle_ocv(&p, -1) == 316.8);
	assert_true(vehicle_ocv(&p, 2) == 401.3);
	assert_int_equal(vehicle_param_set(&p, "mass_kg", "2000"), 0);
	assert_true(p.mass_kg == 2000);
	assert_int_equal(vehicle_param_set(&p, "mass_kg", "-1"), -EINVAL);
	assert_int_equal(vehicle_param_set(&p, "mass_kg", "12kg"), -EINVAL);
	assert_int_equal(vehicle_param_set(&p, "drive_eff", "1.5"), -EINVAL);
	assert_int_equal(vehicle_param_set(&p, "wings", "2"), -ENOENT);
	assert_int_equal(vehicle_param_set(&p, "ocv_v", "300,310,320,330,340,350,360,370,380,390,400"), 0);
	assert_true(REL(vehicle_ocv(&p, 0.55), 355, 1e-12));
	/* falling OCV, too few and too many points are refused */
	assert_int_equal(vehicle_param_set(&p, "ocv_v", "300,290,320,330,340,350,360,370,380,390,400"), -EINVAL);
	assert_int_equal(vehicle_param_set(&p, "ocv_v", "300,310"), -EINVAL);
	assert_int_equal(vehicle_param_set(&p, "ocv_v", "300,310,320,330,340,350,360,370,380,390,400,410"), -EINVAL);
	assert_true(REL(vehicle_ocv(&p, 0.55), 355, 1e-12));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cruise),
		cmocka_unit_test(test_braking),
		cmocka_unit_test(test_regen_limit),
		cmocka_unit_test(test_charge_and_park),
		cmocka_unit_test(test_ocv_and_params),
	};
	return cmocka_run_group_tests_name("vehicle", tests, NULL, NULL);
}
