/* Unit tests for crypto/rules.c: each rule passes a genuine record and
 * fails (or warns about) the record that breaks it, with its id; the
 * severity follows the format version; a flag that explains the figures
 * turns a failure into a warning; co2_g is exact (no gram either way);
 * and every rule id is documented in docs/record-format.md. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/co2.h"
#include "crypto/rules.h"
#include "tests/unit/records_helper.h"

static struct tkey key;

/* A genuine v2 trip (odd seq) or charging session (even seq). */
static void rec(struct eco2_record *r, uint64_t seq)
{
	trec_fill(r, &key, seq, NULL, 1);
}

static void recompute(struct eco2_record *r)
{
	struct co2_params p = { r->baseline_mg_per_km, r->grid_mg_per_kwh,
				r->charge_eff_permille, r->td_loss_permille };

	if (r->type == ECO2_REC_TRIP)
		assert_int_equal(co2_avoided_g(&p, r->distance_m, r->discharge_wh,
					       r->regen_wh, &r->co2_g), 0);
}

/* The record's own rules give exactly `sev` for rule `id` (RULES_OK:
 * nothing at all). */
static void expect(const struct eco2_record *r, const char *id, enum rules_sev sev)
{
	struct rules_result res;
	enum rules_sev w;
	bool found = false;

	rules_result_init(&res);
	w = rules_check_record(r, &res);
	if (sev == RULES_OK) {
		if (res.n)
			fail_msg("wanted no finding, got %s: %s", res.f[0].rule, res.f[0].msg);
		assert_int_equal(w, RULES_OK);
		return;
	}
	for (unsigned i = 0; i < res.n; i++)
		if (!strcmp(res.f[i].rule, id)) {
			if (res.f[i].sev != sev)
				fail_msg("%s: severity %d, wanted %d (%s)", id, res.f[i].sev, sev,
					 res.f[i].msg);
			found = true;
		}
	if (!found)
		fail_msg("%s not found (%u findings%s%s)", id, res.n, res.n ? ", first " : "",
			 res.n ? res.f[0].rule : "");
	assert_true(w >= sev);
}

static void test_genuine(void **state)
{
	struct eco2_record r;
	(void)state;

	for (uint64_t seq = 1; seq < 5; seq++) {
		rec(&r, seq);
		expect(&r, NULL, RULES_OK);
		trec_v1(&r);
		expect(&r, NULL, RULES_OK);
	}
}

static void test_co2_exact(void **state)
{
	struct eco2_record r;
	int64_t g;
	(void)state;

	rec(&r, 1);
	g = r.co2_g;
	expect(&r, NULL, RULES_OK);
	r.co2_g = g + 1;                   /* one gram off either way fails */
	expect(&r, "co2", RULES_FAIL);
	r.co2_g = g - 1;
	expect(&r, "co2", RULES_FAIL);
	trec_v1(&r);                       /* in version 1 as well */
	expect(&r, "co2", RULES_FAIL);
	r.co2_g = INT64_MIN;               /* no overflow in the comparison */
	expect(&r, "co2", RULES_FAIL);
	rec(&r, 1);
	snprintf(r.method, sizeof(r.method), "eco2-ev-v2");
	expect(&r, "method", RULES_FAIL);
	rec(&r, 1);
	r.charge_eff_permille = 0;
	expect(&r, "range.params", RULES_FAIL);
	expect(&r, "co2", RULES_FAIL);     /* cannot be recomputed */

	/* Half a gram goes away from zero, as docs/methodology.md §3 says:
	 * 1 m at 500 g/km, efficiency 1000 per mille = 0.5 g -> 1 g (a
	 * half-to-even rounding would give 0). */
	rec(&r, 1);
	r.distance_m = 1;
	r.odo_end_m = r.odo_start_m + 1;
	r.discharge_wh = r.regen_wh = 0;
	r.baseline_mg_per_km = 500000;
	r.charge_eff_permille = 1000;
	r.co2_g = 1;
	expect(&r, NULL, RULES_OK);
	r.co2_g = 0;
	expect(&r, "co2", RULES_FAIL);
	r.distance_m = 5;                  /* 2.5 g -> 3 */
	r.odo_end_m = r.odo_start_m + 5;
	r.co2_g = 3;
	expect(&r, NULL, RULES_OK);
	r.co2_g = 2;
	expect(&r, "co2", RULES_FAIL);
}

static void test_ranges(void **state)
{
	struct eco2_record r;
	(void)state;

	rec(&r, 1);
	r.start_s = -1;
	expect(&r, "range.time", RULES_FAIL);
	rec(&r, 1);
	r.end_s = RULES_TIME_MAX_S + 1;
	expect(&r, "range.time", RULES_FAIL);
	rec(&r, 1);
	r.odo_end_m = RULES_ODO_MAX_M + 1;
	expect(&r, "range.odometer", RULES_FAIL);
	rec(&r, 1);
	r.distance_m = -5;
	expect(&r, "range.distance", RULES_FAIL);
	/* 1,000,000 km with the odometer unchanged */
	rec(&r, 1);
	r.distance_m = 1000000000;
	r.odo_end_m = r.odo_start_m;
	expect(&r, "range.distance", RULES_FAIL);
	rec(&r, 1);
	r.regen_wh = -1;
	expect(&r, "range.energy", RULES_FAIL);
	rec(&r, 2);
	r.charged_wh = RULES_ENERGY_MAX_WH + 1;
	expect(&r, "range.energy", RULES_FAIL);
	rec(&r, 1);
	r.td_loss_permille = 1001;
	expect(&r, "range.params", RULES_FAIL);
	rec(&r, 1);
	r.grid_mg_per_kwh = -1;
	expect(&r, "range.params", RULES_FAIL);
	/* version 2's own fields */
	rec(&r, 1);
	r.odo_step_m = 0;
	expect(&r, "range.odo_step", RULES_FAIL);
	r.odo_step_m = RULES_ODO_STEP_MAX_M + 1;
	expect(&r, "range.odo_step", RULES_FAIL);
	rec(&r, 1);
	r.software[0] = 0;
	expect(&r, "software", RULES_FAIL);
	snprintf(r.software, sizeof(r.software), "eco2d\x01");
	expect(&r, "software", RULES_FAIL);
	/* VIN: a warning in both versions */
	rec(&r, 1);
	r.has_vin = true;
	snprintf(r.vin, sizeof(r.vin), "WVWZZZ1JZXW000001");
	expect(&r, NULL, RULES_OK);
	snprintf(r.vin, sizeof(r.vin), "WVWZZZ1JZXW00000O");
	expect(&r, "vin", RULES_WARN);
	snprintf(r.vin, sizeof(r.vin), "SHORT");
	trec_v1(&r);
	expect(&r, "vin", RULES_WARN);
}

static void test_flags_reserved(void **state)
{
	struct eco2_record r;
	(void)state;

	rec(&r, 1);
	r.flags = ECO2_FLAG_CLOCK_STUCK | ECO2_FLAG_STATE_BREAK;   /* the last defined */
	expect(&r, NULL, RULES_OK);
	r.flags = UINT64_C(1) << ECO2_FLAG_BITS;
	expect(&r, "flags.reserved", RULES_FAIL);
	r.flags = UINT64_C(1) << 63;
	expect(&r, "flags.reserved", RULES_FAIL);
	trec_v1(&r);                       /* version 1: reported, not failed */
	expect(&r, "flags.reserved", RULES_WARN);
}

static void test_charge_fields(void **state)
{
	struct eco2_record r;
	(void)state;

	rec(&r, 2);
	assert_int_equal(r.type, ECO2_REC_CHARGE);
	expect(&r, NULL, RULES_OK);
	r.distance_m = 5000;               /* driving distance and a CO2 figure */
	r.odo_end_m = r.odo_start_m + 5000;
	expect(&r, "charge.fields", RULES_FAIL);
	rec(&r, 2);
	r.co2_g = 845;
	expect(&r, "charge.fields", RULES_FAIL);
	rec(&r, 2);
	r.discharge_wh = 10;
	trec_v1(&r);
	expect(&r, "charge.fields", RULES_FAIL);
}

static void test_time_and_odometer(void **state)
{
	struct eco2_record r;
	(void)state;

	rec(&r, 1);
	r.end_s = r.start_s - 1;           /* ends before it starts */
	expect(&r, "time.order", RULES_FAIL);
	r.end_s = r.start_s;               /* a zero-length record is fine... */
	r.distance_m = 10;                 /* ...at walking pace */
	r.odo_end_m = r.odo_start_m + 10;
	recompute(&r);
	expect(&r, NULL, RULES_OK);
	r.distance_m = 200;                /* 200 m in 1 s: 720 km/h */
	r.odo_end_m = r.odo_start_m + 200;
	recompute(&r);
	expect(&r, "speed", RULES_WARN);
	r.flags = ECO2_FLAG_CLOCK_JUMP;
	expect(&r, "speed", RULES_WARN);   /* explained, still shown */

	rec(&r, 1);
	r.odo_end_m = r.odo_start_m - 1000;   /* odometer back within the record */
	r.distance_m = 0;
	recompute(&r);
	expect(&r, "odo.order", RULES_FAIL);
	r.flags = ECO2_FLAG_ODO_ROLLBACK;
	expect(&r, "odo.order", RULES_WARN);
	r.flags = ECO2_FLAG_ODO_WRAP;
	expect(&r, "odo.order", RULES_WARN);
	r.flags = ECO2_FLAG_NO_ODOMETER;   /* no readings: nothing to compare */
	expect(&r, NULL, RULES_OK);
}

static void test_distance(void **state)
{
	struct eco2_record r;
	(void)state;

	rec(&r, 1);                        /* span 23266, step 100 */
	r.distance_m = 23266 + 100;        /* exactly one step over: fine */
	recompute(&r);
	expect(&r, NULL, RULES_OK);
	r.distance_m = 23266 + 101;
	recompute(&r);
	expect(&r, "odo.distance_over", RULES_FAIL);
	r.distance_m = 23266 + 5000;       /* 5 km over, with a matching co2_g */
	recompute(&r);
	expect(&r, "odo.distance_over", RULES_FAIL);
	for (unsigned bit = 0; bit < ECO2_FLAG_BITS; bit++) {
		uint64_t f = UINT64_C(1) << bit;
		bool excuses = f & (ECO2_FLAG_ODO_ROLLBACK | ECO2_FLAG_ODO_JUMP |
				    ECO2_FLAG_ODO_STUCK | ECO2_FLAG_ODO_WRAP);

		r.flags = f;
		if (f == ECO2_FLAG_NO_ODOMETER)
			expect(&r, NULL, RULES_OK);
		else
			expect(&r, "odo.distance_over", excuses ? RULES_WARN : RULES_FAIL);
	}
	r.flags = 0;
	r.distance_m = 23266 - 101;        /* short: claims less, a warning */
	recompute(&r);
	expect(&r, "odo.distance_short", RULES_WARN);
	r.distance_m = 23266 - 100;
	recompute(&r);
	expect(&r, NULL, RULES_OK);
	/* version 1 carries no step: 1000 m is assumed, and it only warns */
	rec(&r, 1);
	trec_v1(&r);
	r.distance_m = 23266 + 1000;
	recompute(&r);
	expect(&r, NULL, RULES_OK);
	r.distance_m = 23266 + 1001;
	recompute(&r);
	expect(&r, "odo.distance_over", RULES_WARN);
	/* net energy may be negative (downhill): a warning */
	rec(&r, 1);
	r.regen_wh = r.discharge_wh + 1;
	recompute(&r);
	expect(&r, "energy.net", RULES_WARN);
}

static void test_signature_form(void **state)
{
	struct eco2_record r;
	struct rules_result res;
	uint8_t sig[64];
	(void)state;

	rec(&r, 1);
	memset(sig, 0xff, sizeof(sig));    /* s > n/2 */
	rules_result_init(&res);
	assert_int_equal(rules_check_signature(&r, COSE_ALG_ES256, sig, &res), RULES_FAIL);
	assert_string_equal(res.f[0].rule, "sig.low_s");
	trec_v1(&r);
	rules_result_init(&res);
	assert_int_equal(rules_check_signature(&r, COSE_ALG_ES256, sig, &res), RULES_WARN);
	rules_result_init(&res);
	assert_int_equal(rules_check_signature(&r, COSE_ALG_EDDSA, sig, &res), RULES_OK);
	memset(sig + 32, 0x11, 32);
	rules_result_init(&res);
	assert_int_equal(rules_check_signature(&r, COSE_ALG_ES256, sig, &res), RULES_OK);
	assert_int_equal(res.n, 0);
}

static enum rules_sev follow(const struct eco2_record *p, const struct eco2_record *c,
			     const char *id)
{
	struct rules_result res;
	enum rules_sev w;

	rules_result_init(&res);
	w = rules_check_follow(p, c, &res);
	if (id) {
		assert_true(res.n >= 1);
		assert_string_equal(res.f[0].rule, id);
		assert_non_null(strstr(res.f[0].msg, "seq"));
	} else {
		assert_int_equal(res.n, 0);
	}
	return w;
}

static void test_follow(void **state)
{
	struct eco2_record p, c;
	(void)state;

	rec(&p, 1);
	rec(&c, 2);                        /* a charging session after the trip */
	assert_int_equal(follow(&p, &c, NULL), RULES_OK);
	rec(&c, 3);
	assert_int_equal(follow(&p, &c, NULL), RULES_OK);

	/* starts before the previous one ends: overlapping trips */
	c.start_s = p.end_s - 1;
	assert_int_equal(follow(&p, &c, "chain.time"), RULES_FAIL);
	c.flags = ECO2_FLAG_CLOCK_JUMP;    /* the clock stepped back: explained */
	assert_int_equal(follow(&p, &c, "chain.time"), RULES_WARN);
	trec_v1(&c);                       /* version 1: only shown */
	c.flags = 0;
	assert_int_equal(follow(&p, &c, "chain.time"), RULES_WARN);

	/* two trips claiming the same odometer span */
	rec(&c, 3);
	c.odo_start_m = p.odo_start_m;
	c.odo_end_m = p.odo_end_m;
	assert_int_equal(follow(&p, &c, "chain.odo_twice"), RULES_FAIL);
	c.odo_start_m = p.odo_end_m - 1;   /* one metre of overlap */
	c.odo_end_m = p.odo_end_m + 23265;
	assert_int_equal(follow(&p, &c, "chain.odo_twice"), RULES_FAIL);
	c.odo_start_m = p.odo_end_m;       /* touching is fine */
	assert_int_equal(follow(&p, &c, NULL), RULES_OK);
	/* wholly behind: the odometer went back */
	c.odo_start_m = p.odo_start_m - 50000;
	c.odo_end_m = c.odo_start_m + 23266;
	assert_int_equal(follow(&p, &c, "chain.odo_back"), RULES_FAIL);
	c.flags = ECO2_FLAG_ODO_ROLLBACK;
	assert_int_equal(follow(&p, &c, "chain.odo_back"), RULES_WARN);
	c.flags = ECO2_FLAG_NO_ODOMETER;   /* no readings: not compared */
	assert_int_equal(follow(&p, &c, NULL), RULES_OK);
	c.flags = 0;
	p.flags = ECO2_FLAG_NO_ODOMETER;
	assert_int_equal(follow(&p, &c, NULL), RULES_OK);
}

/* Every rule in the table is documented, by id, in the record format. */
static void test_documented(void **state)
{
	const char *src = getenv("ECO2_SRC");
	const struct rules_info *t;
	char path[4096], *doc;
	size_t n, len;
	FILE *f;
	(void)state;

	snprintf(path, sizeof(path), "%s/docs/record-format.md", src ? src : ".");
	f = fopen(path, "r");
	if (!f)
		fail_msg("%s: cannot open (set ECO2_SRC to the source tree)", path);
	doc = calloc(1, 1 << 20);
	assert_non_null(doc);
	len = fread(doc, 1, (1 << 20) - 1, f);
	fclose(f);
	assert_true(len > 0);
	t = rules_table(&n);
	assert_true(n >= 20);
	for (size_t i = 0; i < n; i++) {
		char want[64];

		snprintf(want, sizeof(want), "`%s`", t[i].id);
		if (!strstr(doc, want))
			fail_msg("rule %s is not documented in %s", t[i].id, path);
		assert_ptr_equal(rules_find(t[i].id), &t[i]);
	}
	for (unsigned b = 0; b < ECO2_FLAG_BITS; b++)
		assert_non_null(rules_flag_meaning(b));
	assert_null(rules_flag_meaning(ECO2_FLAG_BITS));
	free(doc);
}

static int setup(void **state)
{
	(void)state;
	tkey_ed25519(&key, 21);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_genuine),
		cmocka_unit_test(test_co2_exact),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_flags_reserved),
		cmocka_unit_test(test_charge_fields),
		cmocka_unit_test(test_time_and_odometer),
		cmocka_unit_test(test_distance),
		cmocka_unit_test(test_signature_form),
		cmocka_unit_test(test_follow),
		cmocka_unit_test(test_documented),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
