/* Unit tests for agent/trip.c: segmentation, odometer anchoring, wrap,
 * rollback, jumps, stuck odometers, energy split, charging, clock steps
 * and checkpoints. A small generator drives a virtual car whose true
 * distance and energy are known exactly; each test checks the calculator
 * against that truth, not against its own output. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agent/trip.h"

#define T0_NS 1700000000000000000ull   /* 2023-11-14T22:13:20Z */
#define MAX_RECS 16
#define ODO_START_M 12345678.9   /* where rig_init() puts the car */
#define STUCK_DUP 2              /* duplicated frames: well below a stuck clock */

struct rig {
	trip_t *t;
	struct eco2_record recs[MAX_RECS];
	int n;
	uint64_t t_ns;          /* generator clock */
	int64_t stamp_off_ns;   /* added to stamps (a wall-clock step) */
	double odo_true_m;
	double res_m;           /* odometer step */
	double wrap_m;          /* 0: none */
	double odo_add_m;       /* persistent offset on readings */
	int odo_freeze;         /* readings stop changing */
	double odo_frozen_m;
	double speed_kmh;
	double speed_bias;      /* speed signal = true x (1 + bias) */
	int ign;                /* -1: no ignition samples */
	int charging;           /* -1: no charging samples */
	double volt_v;
	double true_dis_wh, true_regen_wh, true_chg_wh;
	unsigned long step;
};

static void emit(const struct eco2_record *rec, void *ctx)
{
	struct rig *r = ctx;

	assert_true(r->n < MAX_RECS);
	r->recs[r->n++] = *rec;
}

static void rig_init(struct rig *r, double res_m, uint32_t roles_off)
{
	struct trip_params p;

	memset(r, 0, sizeof(*r));
	trip_params_default(&p);
	p.roles &= ~roles_off;
	p.odo_wrap_m = 0;
	r->res_m = res_m;
	r->odo_true_m = ODO_START_M;
	r->t_ns = T0_NS;
	r->ign = (roles_off & (1u << ROLE_IGNITION)) ? -1 : 0;
	r->charging = (roles_off & (1u << ROLE_CHARGING)) ? -1 : 0;
	r->volt_v = 400;
	assert_int_equal(trip_new(&p, emit, r, &r->t), 0);
}

static void rig_params(struct rig *r, double wrap_m)
{
	struct trip_params p;

	trip_free(r->t);
	trip_params_default(&p);
	p.odo_wrap_m = wrap_m;
	r->wrap_m = wrap_m;
	assert_int_equal(trip_new(&p, emit, r, &r->t), 0);
}

static void put(struct rig *r, enum eco2_role role, double v)
{
	struct eco2_sample s = {
		.t_ns = (uint64_t)((int64_t)r->t_ns + r->stamp_off_ns),
		.role = role, .value = v,
	};

	trip_sample(r->t, &s);
}

static double odo_reading(const struct rig *r)
{
	double m = r->odo_freeze ? r->odo_frozen_m : r->odo_true_m;
	double q = floor(m / r->res_m) * r->res_m + r->odo_add_m;

	if (r->wrap_m > 0)
		q = fmod(q, r->wrap_m);
	return q;
}

/* Run for secs with the speed going linearly from the current one to
 * kmh_to and the pack giving power_w (negative: taking) at 400 V. Frames:
 * V and I 100 Hz, speed 50 Hz, odometer, ignition, charging 10 Hz. */
static void run(struct rig *r, double secs, double kmh_to, double power_w)
{
	unsigned long n = (unsigned long)llround(secs * 100);
	double v0 = r->speed_kmh;

	for (unsigned long i = 1; i <= n; i++) {
		double f = (double)i / n, v = v0 + (kmh_to - v0) * f;

		r->odo_true_m += (r->speed_kmh + v) / 2 / 3.6 * 0.01;
		r->speed_kmh = v;
		r->t_ns += 10000000;
		r->step++;
		if (power_w > 0)
			r->true_dis_wh += power_w * 0.01 / 3600;
		else if (r->charging == 1)
			r->true_chg_wh -= power_w * 0.01 / 3600;
		else
			r->true_regen_wh -= power_w * 0.01 / 3600;
		put(r, ROLE_PACK_VOLTAGE, r->volt_v);
		put(r, ROLE_PACK_CURRENT, power_w / r->volt_v);
		if (r->step % 2 == 0)
			put(r, ROLE_SPEED, v * (1 + r->speed_bias));
		if (r->step % 10 == 0) {
			put(r, ROLE_ODOMETER, odo_reading(r));
			if (r->ign >= 0)
				put(r, ROLE_IGNITION, r->ign);
			if (r->charging >= 0)
				put(r, ROLE_CHARGING, r->charging);
		}
	}
}

/* Silence: the car sleeps, no frames. */
static void sleep_s(struct rig *r, double secs)
{
	r->t_ns += (uint64_t)(secs * 1e9);
}

/* Ignition on, then 0 to 60 km/h in 10 s drawing 20 kW. */
static void drive_away(struct rig *r)
{
	r->ign = 1;
	run(r, 10, 60, 20000);
}

/* Brake to a stop in 10 s (5 kW regenerated), ignition off, 1 s more:
 * the trip ends. */
static void pull_over(struct rig *r)
{
	run(r, 10, 0, -5000);
	r->ign = 0;
	run(r, 1, 0, 0);
}

/* The true distance driven since rig_init(). */
static double driven_m(const struct rig *r)
{
	return r->odo_true_m - ODO_START_M;
}

static void rig_free(struct rig *r)
{
	trip_free(r->t);
	r->t = NULL;
}

static double trip_dist_truth;

/* A drive: ignition on, accelerate, cruise, brake, ignition off. */
static void simple_drive(struct rig *r, double cruise_kmh, double cruise_s)
{
	double start = r->odo_true_m;

	r->ign = 1;
	run(r, 2, 0, 300);
	run(r, 10, cruise_kmh, 20000);
	run(r, cruise_s, cruise_kmh, 8000);
	run(r, 8, 0, -15000);
	run(r, 2, 0, 300);
	r->ign = 0;
	run(r, 0.5, 0, 0);
	trip_dist_truth = r->odo_true_m - start;
}

static void test_short_trip_coarse_odometer(void **state)
{
	struct rig r;
	(void)state;

	/* 300 m on a 1-km odometer, once with no tick, once across one. */
	for (int k = 0; k < 2; k++) {
		rig_init(&r, 1000, 0);
		r.odo_true_m = k ? 12345900 : 12345100;
		simple_drive(&r, 36, 30 - 5 - 4);
		assert_int_equal(r.n, 1);
		assert_int_equal(r.recs[0].type, ECO2_REC_TRIP);
		assert_true(trip_dist_truth > 290 && trip_dist_truth < 320);
		assert_true(fabs(r.recs[0].distance_m - trip_dist_truth) < 3);
		assert_int_equal(r.recs[0].flags, 0);
		rig_free(&r);
	}
}

static void test_anchored_to_odometer(void **state)
{
	struct rig r;
	(void)state;

	/* A speedometer reading 7 % high must not drift the distance more
	 * than one step from the odometer over 20 km. */
	rig_init(&r, 100, 0);
	r.speed_bias = 0.07;
	simple_drive(&r, 72, 1000);
	assert_int_equal(r.n, 1);
	assert_true(fabs(r.recs[0].distance_m - trip_dist_truth) <= 100);
	assert_true(trip_dist_truth > 19000);
	assert_int_equal(r.recs[0].odo_start_m, 12345600);
	assert_int_equal(r.recs[0].odo_end_m, (int64_t)(floor(r.odo_true_m / 100) * 100));
	rig_free(&r);
}

static void test_energy_split(void **state)
{
	struct rig r;
	(void)state;

	rig_init(&r, 100, 0);
	simple_drive(&r, 50, 60);
	assert_int_equal(r.n, 1);
	/* Power steps between constant levels; the calculator may smear each
	 * step over one 10-ms sample: 20 kW x 5 ms is 0.03 Wh. */
	assert_true(fabs(r.recs[0].discharge_wh - r.true_dis_wh) <= 1);
	assert_true(fabs(r.recs[0].regen_wh - r.true_regen_wh) <= 1);
	assert_true(r.true_regen_wh > 30);
	{
		struct trip_params p;
		int64_t g;

		trip_params_default(&p);
		assert_int_equal(co2_avoided_g(&p.co2, r.recs[0].distance_m, r.recs[0].discharge_wh,
					       r.recs[0].regen_wh, &g), 0);
		assert_int_equal(r.recs[0].co2_g, g);
		assert_string_equal(r.recs[0].method, "eco2-ev-v1");
		assert_int_equal(r.recs[0].baseline_mg_per_km, 169056);
		assert_int_equal(r.recs[0].grid_mg_per_kwh, 530600);
		assert_int_equal(r.recs[0].charge_eff_permille, 900);
	}
	rig_free(&r);
}

static void test_energy_zero_crossing(void **state)
{
	struct trip_params p;
	struct rig r;
	(void)state;

	/* Power ramps linearly from +10 kW to -10 kW over 10 s between two
	 * samples 10 s apart is not allowed (gap); so ramp at 100 Hz: the
	 * trapezoid split at zero must give exactly 10 kW x 5 s / 2 each. */
	rig_init(&r, 100, 0);
	trip_params_default(&p);
	r.ign = 1;
	run(&r, 1, 0, 0);
	for (int i = 0; i <= 1000; i++) {
		double pw = 10000 - 20 * i;

		r.t_ns += 10000000;
		put(&r, ROLE_PACK_VOLTAGE, 400);
		put(&r, ROLE_PACK_CURRENT, pw / 400);
	}
	r.t_ns += 10000000;
	put(&r, ROLE_IGNITION, 0);
	assert_int_equal(r.n, 1);
	/* 10 kW x 5 s / 2 = 25000 J = 6.944 Wh each way */
	assert_int_equal(r.recs[0].discharge_wh, 7);
	assert_int_equal(r.recs[0].regen_wh, 7);
	rig_free(&r);
}

static void test_ignition_segmentation(void **state)
{
	struct rig r;
	int64_t end0;
	(void)state;

	rig_init(&r, 100, 0);
	simple_drive(&r, 50, 100);
	end0 = (int64_t)(r.t_ns / 1000000000);
	sleep_s(&r, 600);
	simple_drive(&r, 80, 200);
	sleep_s(&r, 600);
	simple_drive(&r, 30, 50);
	trip_finish(r.t);
	assert_int_equal(r.n, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(r.recs[i].type, ECO2_REC_TRIP);
		assert_int_equal(r.recs[i].flags, 0);
		assert_true(r.recs[i].end_s > r.recs[i].start_s);
		if (i)
			assert_true(r.recs[i].start_s >= r.recs[i - 1].end_s + 600);
	}
	assert_int_equal(r.recs[0].start_s, T0_NS / 1000000000);
	assert_true(labs((long)(r.recs[0].end_s - end0)) <= 1);
	assert_true(fabs(r.recs[2].distance_m - trip_dist_truth) < 5);
	rig_free(&r);
}

static void test_idle_and_gap_without_ignition(void **state)
{
	struct rig r;
	(void)state;

	rig_init(&r, 100, (1u << ROLE_IGNITION) | (1u << ROLE_CHARGING));
	/* drive, then stand 400 s with frames flowing: idle ends the trip */
	run(&r, 10, 50, 20000);
	run(&r, 100, 50, 8000);
	run(&r, 10, 0, -10000);
	run(&r, 400, 0, 300);
	assert_int_equal(r.n, 1);
	/* drive again, stop, then silence 200 s: the gap ends the trip */
	run(&r, 10, 40, 20000);
	run(&r, 10, 0, -5000);
	sleep_s(&r, 200);
	run(&r, 1, 0, 300);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.recs[0].flags, 0);
	assert_int_equal(r.recs[1].flags, 0);
	assert_true(r.recs[1].distance_m > 100);
	/* nothing open now (no motion since): finishing emits nothing */
	trip_finish(r.t);
	assert_int_equal(r.n, 2);
	rig_free(&r);
}

static void test_no_motion_no_trip(void **state)
{
	struct rig r;
	(void)state;

	rig_init(&r, 100, 0);
	r.ign = 1;
	run(&r, 5, 0, 0);
	r.ign = 0;
	run(&r, 1, 0, 0);
	assert_int_equal(r.n, 0);
	rig_free(&r);
}

static void test_wrap(void **state)
{
	struct rig r;
	(void)state;

	rig_init(&r, 100, 0);
	rig_params(&r, 1000000);   /* a 1000-km counter */
	r.odo_true_m = 999500;
	simple_drive(&r, 60, 60);
	assert_int_equal(r.n, 1);
	assert_true(r.recs[0].flags & ECO2_FLAG_ODO_WRAP);
	assert_false(r.recs[0].flags & ECO2_FLAG_ODO_ROLLBACK);
	assert_true(fabs(r.recs[0].distance_m - trip_dist_truth) <= 100);
	assert_true(r.recs[0].odo_end_m < r.recs[0].odo_start_m);
	rig_free(&r);
}

static void test_glitches(void **state)
{
	struct rig r;
	(void)state;

	/* one reading 100 km ahead */
	rig_init(&r, 100, 0);
	drive_away(&r);
	run(&r, 60, 60, 8000);
	r.odo_add_m = 100000;
	run(&r, 0.1, 60, 8000);
	r.odo_add_m = 0;
	run(&r, 60, 60, 8000);
	pull_over(&r);
	assert_int_equal(r.n, 1);
	assert_true(r.recs[0].flags & ECO2_FLAG_ODO_JUMP);
	assert_true(fabs(r.recs[0].distance_m - driven_m(&r)) <= 100);
	rig_free(&r);

	/* the odometer steps back 5 km for good: flagged, re-based, and the
	 * distance still follows the car */
	rig_init(&r, 100, 0);
	drive_away(&r);
	run(&r, 60, 60, 8000);
	r.odo_add_m = -5000;
	run(&r, 60, 60, 8000);
	pull_over(&r);
	assert_int_equal(r.n, 1);
	assert_true(r.recs[0].flags & ECO2_FLAG_ODO_ROLLBACK);
	assert_true(r.recs[0].distance_m > 0);
	assert_true(fabs(r.recs[0].distance_m - driven_m(&r)) <= 250);
	rig_free(&r);

	/* stuck for 60 s at 60 km/h, then it catches up */
	rig_init(&r, 100, 0);
	drive_away(&r);
	run(&r, 30, 60, 8000);
	r.odo_freeze = 1;
	r.odo_frozen_m = r.odo_true_m;
	run(&r, 60, 60, 8000);
	r.odo_freeze = 0;
	run(&r, 30, 60, 8000);
	pull_over(&r);
	assert_int_equal(r.n, 1);
	assert_true(r.recs[0].flags & ECO2_FLAG_ODO_STUCK);
	assert_false(r.recs[0].flags & (ECO2_FLAG_ODO_JUMP | ECO2_FLAG_ODO_ROLLBACK));
	assert_true(fabs(r.recs[0].distance_m - driven_m(&r)) <= 100);
	rig_free(&r);

	/* stuck from the start for 160 s (more than two of the 1-km steps
	 * assumed before any step is seen), then it catches up: the first
	 * tick covers the whole frozen stretch */
	rig_init(&r, 100, 0);
	r.ign = 1;
	r.odo_freeze = 1;
	r.odo_frozen_m = r.odo_true_m;
	run(&r, 10, 60, 20000);
	run(&r, 150, 60, 8000);
	r.odo_freeze = 0;
	run(&r, 30, 60, 8000);
	pull_over(&r);
	assert_int_equal(r.n, 1);
	assert_true(r.recs[0].flags & ECO2_FLAG_ODO_STUCK);
	assert_true(fabs(r.recs[0].distance_m - driven_m(&r)) <= 100);
	rig_free(&r);

	/* stuck until the end: the speed carries the distance */
	rig_init(&r, 100, 0);
	drive_away(&r);
	r.odo_freeze = 1;
	r.odo_frozen_m = r.odo_true_m;
	run(&r, 60, 60, 8000);
	pull_over(&r);
	assert_int_equal(r.n, 1);
	assert_true(r.recs[0].flags & ECO2_FLAG_ODO_STUCK);
	assert_true(fabs(r.recs[0].distance_m - driven_m(&r)) <= 110);
	rig_free(&r);
}

static void test_charging_session(void **state)
{
	struct rig r;
	(void)state;

	rig_init(&r, 100, 0);
	simple_drive(&r, 50, 100);
	sleep_s(&r, 60);
	r.charging = 1;
	run(&r, 1800, 0, -11000);
	r.charging = 0;
	run(&r, 1, 0, 0);
	sleep_s(&r, 60);
	simple_drive(&r, 50, 100);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.recs[0].type, ECO2_REC_TRIP);
	assert_int_equal(r.recs[1].type, ECO2_REC_CHARGE);
	assert_int_equal(r.recs[2].type, ECO2_REC_TRIP);
	assert_int_equal(r.recs[1].distance_m, 0);
	assert_int_equal(r.recs[1].co2_g, 0);
	assert_true(fabs(r.recs[1].charged_wh - r.true_chg_wh) <= 1);
	assert_true(r.true_chg_wh > 5400);
	/* the charge's energy is not in either trip */
	assert_true(r.recs[2].regen_wh < 100);
	rig_free(&r);
}

static void test_clock_steps(void **state)
{
	struct rig r;
	(void)state;

	/* the log's stamps step back an hour mid-trip */
	rig_init(&r, 100, 0);
	drive_away(&r);
	run(&r, 60, 60, 8000);
	r.stamp_off_ns = -3600 * 1000000000LL;
	run(&r, 60, 60, 8000);
	pull_over(&r);
	assert_int_equal(r.n, 1);
	assert_true(r.recs[0].flags & ECO2_FLAG_CLOCK_JUMP);
	assert_true(fabs(r.recs[0].distance_m - driven_m(&r)) <= 100);
	assert_true(fabs(r.recs[0].discharge_wh - r.true_dis_wh) <= 1);
	/* the start moved into the new time base: duration stays honest
	 * (140 s; the step itself costs one 10-ms sample interval) */
	assert_true(labs((long)(r.recs[0].end_s - r.recs[0].start_s) - 140) <= 1);
	rig_free(&r);

	/* forward an hour while moving, reported by the owner */
	rig_init(&r, 100, 0);
	drive_away(&r);
	run(&r, 60, 60, 8000);
	trip_clock_step(r.t, 3600 * 1000000000LL);
	r.stamp_off_ns = 3600 * 1000000000LL;
	run(&r, 60, 60, 8000);
	pull_over(&r);
	assert_int_equal(r.n, 1);
	assert_true(r.recs[0].flags & ECO2_FLAG_CLOCK_JUMP);
	assert_true(fabs(r.recs[0].distance_m - driven_m(&r)) <= 100);
	assert_true(labs((long)(r.recs[0].end_s - r.recs[0].start_s) - 140) <= 1);
	rig_free(&r);

	/* back an hour, seen in the stamps first, then reported by the
	 * owner: applied once */
	rig_init(&r, 100, 0);
	drive_away(&r);
	run(&r, 60, 60, 8000);
	r.stamp_off_ns = -3600 * 1000000000LL;
	run(&r, 1, 60, 8000);
	trip_clock_step(r.t, -3600 * 1000000000LL + 400000000);
	run(&r, 59, 60, 8000);
	pull_over(&r);
	assert_int_equal(r.n, 1);
	assert_true(r.recs[0].flags & ECO2_FLAG_CLOCK_JUMP);
	assert_false(r.recs[0].flags & ECO2_FLAG_DATA_GAP);
	assert_true(fabs(r.recs[0].distance_m - driven_m(&r)) <= 100);
	assert_true(fabs(r.recs[0].discharge_wh - r.true_dis_wh) <= 1);
	assert_true(labs((long)(r.recs[0].end_s - r.recs[0].start_s) - 140) <= 1);
	rig_free(&r);

	/* forward an hour in a log, unreported: detected while moving */
	rig_init(&r, 100, 0);
	drive_away(&r);
	run(&r, 60, 60, 8000);
	r.stamp_off_ns = 3600 * 1000000000LL;
	run(&r, 60, 60, 8000);
	pull_over(&r);
	assert_int_equal(r.n, 1);
	assert_true(r.recs[0].flags & ECO2_FLAG_CLOCK_JUMP);
	assert_false(r.recs[0].flags & ECO2_FLAG_ODO_JUMP);
	assert_true(fabs(r.recs[0].distance_m - driven_m(&r)) <= 100);
	rig_free(&r);
}

static void test_events(void **state)
{
	struct rig r;
	(void)state;

	rig_init(&r, 100, 0);
	drive_away(&r);
	trip_event(r.t, r.t_ns, CAN_EV_BUS_OFF, 0);
	trip_event(r.t, r.t_ns, CAN_EV_FRAMES_DROPPED, 3);
	pull_over(&r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.recs[0].flags, ECO2_FLAG_BUS_ERROR | ECO2_FLAG_FRAMES_DROPPED);
	rig_free(&r);
}

static void test_impossible_values(void **state)
{
	struct rig r;
	(void)state;

	/* a wiring or decoding error: 1e300 A, -5 V, NaN, a negative
	 * odometer, 5000 km/h: ignored, the figures stay the car's */
	rig_init(&r, 100, 0);
	drive_away(&r);
	put(&r, ROLE_PACK_CURRENT, 1e300);
	put(&r, ROLE_PACK_VOLTAGE, -5);
	put(&r, ROLE_PACK_CURRENT, NAN);
	put(&r, ROLE_ODOMETER, -100);
	put(&r, ROLE_ODOMETER, INFINITY);
	put(&r, ROLE_SPEED, 5000);
	pull_over(&r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.recs[0].flags, 0);
	assert_true(fabs(r.recs[0].discharge_wh - r.true_dis_wh) <= 1);
	assert_true(fabs(r.recs[0].regen_wh - r.true_regen_wh) <= 1);
	assert_true(fabs(r.recs[0].distance_m - driven_m(&r)) <= 100);
	rig_free(&r);
}

/* Frames whose stamps do not advance: the odometer's ticks alone would
 * make a distance with no energy at all. Recorded, and flagged. */
static void test_clock_stuck(void **state)
{
	struct rig r;
	double odo = ODO_START_M;
	(void)state;

	rig_init(&r, 10, 0);
	put(&r, ROLE_IGNITION, 1);
	for (int i = 0; i < 300; i++) {
		odo += 10;
		put(&r, ROLE_SPEED, 50);
		put(&r, ROLE_ODOMETER, odo);
		put(&r, ROLE_PACK_VOLTAGE, 400);
		put(&r, ROLE_PACK_CURRENT, 50);
	}
	put(&r, ROLE_IGNITION, 0);
	assert_int_equal(r.n, 1);
	assert_true(r.recs[0].flags & ECO2_FLAG_CLOCK_STUCK);
	assert_true(r.recs[0].distance_m > 0);      /* the ticks are still counted ... */
	assert_int_equal(r.recs[0].discharge_wh, 0);  /* ... with no energy: hence the flag */
	rig_free(&r);

	/* one duplicated frame in a normal drive is no stuck clock */
	rig_init(&r, 100, 0);
	drive_away(&r);
	for (int i = 0; i < STUCK_DUP; i++)
		put(&r, ROLE_SPEED, r.speed_kmh);
	run(&r, 5, 60, 8000);
	pull_over(&r);
	assert_int_equal(r.n, 1);
	assert_false(r.recs[0].flags & ECO2_FLAG_CLOCK_STUCK);
	rig_free(&r);
}

/* A trip whose every odometer reading was refused (each one behind the
 * last), with no speed and no energy: nothing to count, but it happened
 * and was anomalous: recorded with its flags, not dropped. An ignition
 * cycle with nothing wrong and nothing driven is still no trip. */
static void test_all_anomalous_trip(void **state)
{
	struct rig r;
	(void)state;

	rig_init(&r, 100, 0);
	r.ign = 1;
	for (int i = 0; i < 20; i++) {
		r.odo_add_m -= 1000;   /* every reading a kilometre behind the last */
		run(&r, 1, 0, 0);
	}
	r.ign = 0;
	run(&r, 1, 0, 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.recs[0].distance_m, 0);
	assert_int_equal(r.recs[0].discharge_wh, 0);
	assert_true(r.recs[0].flags & ECO2_FLAG_ODO_ROLLBACK);
	rig_free(&r);

	rig_init(&r, 100, 0);
	r.ign = 1;
	run(&r, 5, 0, 0);
	r.ign = 0;
	run(&r, 1, 0, 0);
	assert_int_equal(r.n, 0);
	rig_free(&r);
}

static void test_gap_inside_trip(void **state)
{
	struct rig r;
	(void)state;

	/* 5 s of nothing while moving: not bridged, flagged; the odometer
	 * still gives the distance */
	rig_init(&r, 100, 0);
	drive_away(&r);
	run(&r, 30, 60, 8000);
	r.odo_true_m += 60 / 3.6 * 5;
	r.true_dis_wh += 8000.0 * 5 / 3600;
	sleep_s(&r, 5);
	run(&r, 30, 60, 8000);
	pull_over(&r);
	assert_int_equal(r.n, 1);
	assert_true(r.recs[0].flags & ECO2_FLAG_DATA_GAP);
	assert_true(fabs(r.recs[0].distance_m - driven_m(&r)) <= 100);
	/* 8 kW x 5 s = 11 Wh not counted, not invented */
	assert_true(r.recs[0].discharge_wh < r.true_dis_wh - 10);
	rig_free(&r);
}

static void test_slow_signals(void **state)
{
	struct trip_params p;
	struct rig r;
	double wh = 0;
	(void)state;

	/* V, I and speed at 1 Hz with a little jitter (J1939 battery PGNs):
	 * integrated without a gap flag; a 6-s hole is a gap. */
	memset(&r, 0, sizeof(r));
	trip_params_default(&p);
	p.roles = (1u << ROLE_ODOMETER) | (1u << ROLE_SPEED) |
		  (1u << ROLE_PACK_VOLTAGE) | (1u << ROLE_PACK_CURRENT);
	for (int hole = 0; hole < 2; hole++) {
		assert_int_equal(trip_new(&p, emit, &r, &r.t), 0);
		r.n = 0;
		r.t_ns = T0_NS;
		wh = 0;
		for (int i = 0; i < 300; i++) {
			uint64_t step = 1000000000ull + (i % 3) * 30000000ull;

			if (hole && i == 150)
				step += 5000000000ull;
			else if (i > 0)
				wh += 10000.0 * step / 1e9 / 3600;
			r.t_ns += step;
			put(&r, ROLE_SPEED, 30);
			put(&r, ROLE_ODOMETER, 5000000 + floor(i * 30 / 3.6 / 10) * 10);
			put(&r, ROLE_PACK_VOLTAGE, 400);
			put(&r, ROLE_PACK_CURRENT, 25);
		}
		trip_finish(r.t);
		assert_int_equal(r.n, 1);
		if (hole) {
			assert_true(r.recs[0].flags & ECO2_FLAG_DATA_GAP);
		} else {
			assert_int_equal(r.recs[0].flags, ECO2_FLAG_ENDED_EARLY);
			assert_true(fabs(r.recs[0].discharge_wh - wh) <= 1);
		}
		rig_free(&r);
	}
}

static void test_checkpoint(void **state)
{
	struct rig r;
	uint8_t *blob;
	size_t len;
	struct trip_params p;
	trip_t *t2;
	(void)state;

	rig_init(&r, 1000, 0);
	drive_away(&r);
	run(&r, 100, 60, 8000);
	assert_true(trip_is_open(r.t));
	assert_int_equal(trip_checkpoint_save(r.t, &blob, &len), 0);
	/* crash: a new calculator from the blob */
	trip_free(r.t);
	trip_params_default(&p);
	assert_int_equal(trip_new(&p, emit, &r, &t2), 0);

	/* corrupt, truncated, wrong version: refused, state unchanged */
	blob[len / 2] ^= 1;
	assert_int_equal(trip_checkpoint_restore(t2, blob, len), -EINVAL);
	blob[len / 2] ^= 1;
	assert_int_equal(trip_checkpoint_restore(t2, blob, len - 1), -EINVAL);
	blob[8] ^= 2;
	assert_int_equal(trip_checkpoint_restore(t2, blob, len), -EINVAL);
	blob[8] ^= 2;
	assert_false(trip_is_open(t2));
	assert_int_equal(trip_checkpoint_restore(t2, blob, len), 0);
	free(blob);
	r.t = t2;
	assert_true(trip_is_open(r.t));
	sleep_s(&r, 3);   /* the restart */
	r.odo_true_m += 50;
	run(&r, 100, 60, 8000);
	pull_over(&r);
	assert_int_equal(r.n, 1);
	assert_true(r.recs[0].flags & ECO2_FLAG_RESUMED);
	assert_true(fabs(r.recs[0].distance_m - driven_m(&r)) <= 1000);
	assert_true(r.recs[0].distance_m > 3000);
	rig_free(&r);
}

static void test_counters(void **state)
{
	struct trip_params p;
	struct rig r;
	(void)state;

	memset(&r, 0, sizeof(r));
	trip_params_default(&p);
	p.roles = (1u << ROLE_ODOMETER) | (1u << ROLE_SPEED) |
		  (1u << ROLE_DISCHARGE_TOTAL) | (1u << ROLE_REGEN_TOTAL);
	assert_int_equal(trip_new(&p, emit, &r, &r.t), 0);
	r.t_ns = T0_NS;
	for (int i = 0; i < 600; i++) {
		r.t_ns += 100000000;
		put(&r, ROLE_SPEED, i < 500 ? 36 : 0);
		put(&r, ROLE_ODOMETER, 1000000 + floor(i * 1.0 / 10) * 10);
		put(&r, ROLE_DISCHARGE_TOTAL, 5000000 + i * 2);
		put(&r, ROLE_REGEN_TOTAL, 700000 + (i > 300 ? 100 : 0));
	}
	trip_finish(r.t);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.recs[0].discharge_wh, 1198);
	assert_int_equal(r.recs[0].regen_wh, 100);
	assert_true(r.recs[0].flags & ECO2_FLAG_ENDED_EARLY);
	assert_false(r.recs[0].flags & ECO2_FLAG_NO_ENERGY);

	/* an hour unseen, in which the counters moved: the next trip starts
	 * from the counters it sees, not from the stale ones */
	r.t_ns += 3600000000000ull;
	for (int i = 0; i < 100; i++) {
		r.t_ns += 100000000;
		put(&r, ROLE_DISCHARGE_TOTAL, 5900000 + i);
		put(&r, ROLE_REGEN_TOTAL, 800000);
		put(&r, ROLE_SPEED, 36);
		put(&r, ROLE_ODOMETER, 2000000 + floor(i * 1.0 / 10) * 10);
	}
	trip_finish(r.t);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.recs[1].discharge_wh, 99);
	assert_int_equal(r.recs[1].regen_wh, 0);
	rig_free(&r);
}

static void test_bad_params(void **state)
{
	struct trip_params p;
	trip_t *t = (trip_t *)1;
	(void)state;

	trip_params_default(&p);
	p.gap_end_s = 0;
	assert_int_equal(trip_new(&p, emit, NULL, &t), -EINVAL);
	assert_null(t);
	trip_params_default(&p);
	p.vin = "TOO-LONG-FOR-A-VIN-0123";
	assert_int_equal(trip_new(&p, emit, NULL, &t), -EINVAL);
	trip_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_short_trip_coarse_odometer),
		cmocka_unit_test(test_anchored_to_odometer),
		cmocka_unit_test(test_energy_split),
		cmocka_unit_test(test_energy_zero_crossing),
		cmocka_unit_test(test_ignition_segmentation),
		cmocka_unit_test(test_idle_and_gap_without_ignition),
		cmocka_unit_test(test_no_motion_no_trip),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_glitches),
		cmocka_unit_test(test_charging_session),
		cmocka_unit_test(test_clock_steps),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_impossible_values),
		cmocka_unit_test(test_clock_stuck),
		cmocka_unit_test(test_all_anomalous_trip),
		cmocka_unit_test(test_gap_inside_trip),
		cmocka_unit_test(test_slow_signals),
		cmocka_unit_test(test_checkpoint),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_bad_params),
	};
	return cmocka_run_group_tests_name("trip", tests, NULL, NULL);
}
