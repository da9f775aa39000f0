/* Unit tests for can/sim/cycle.c: the drive-cycle CSV grammar, its error
 * messages (file:line:col) and the trapezoid distance, checked against
 * hand sums and the published lengths of the shipped WLTC and NEDC. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "can/sim/cycle.h"

static char last_err[512];
static int n_err;

static void capture(int level, const char *msg, void *ctx)
{
	(void)ctx;
	if (level <= LOG_ERR) {
		snprintf(last_err, sizeof(last_err), "%s", msg);
		n_err++;
	}
}

static int parse(const char *text, cycle_t **c)
{
	last_err[0] = '\0';
	n_err = 0;
	return cycle_parse("t.csv", text, strlen(text), c);
}

static void test_good(void **state)
{
	cycle_t *c;
	(void)state;

	assert_int_equal(parse("# WLTC-like\n\ntime_s,speed_kmh\r\n  # more\n0,0\r\n10,36\n20,36\n30,0\n", &c), 0);
	assert_int_equal(cycle_count(c), 4);
	assert_true(fabs(cycle_duration_s(c) - 30) < 1e-12);
	/* 0->10 m/s in 10 s: 50 m; 10 s at 10 m/s: 100 m; 10->0: 50 m */
	assert_true(fabs(cycle_distance_m(c) - 200) < 1e-9);
	assert_true(fabs(cycle_speed_kmh(c, 5) - 18) < 1e-12);
	assert_true(fabs(cycle_speed_kmh(c, 15) - 36) < 1e-12);
	assert_true(cycle_speed_kmh(c, 31) == 0);
	assert_true(cycle_speed_kmh(c, -1) == 0);
	cycle_free(c);

	/* no header, blanks around fields, exponents, fractional times,
	 * a time line that starts late (speed is relative to the first) */
	assert_int_equal(parse("5 , 0\n5.5,1.5e1\n6.25, 20 \n", &c), 0);
	assert_int_equal(cycle_count(c), 3);
	assert_true(fabs(cycle_speed_kmh(c, 0.5) - 15) < 1e-12);
	cycle_free(c);
}

static void test_errors(void **state)
{
	static const struct {
		const char *text;
		const char *where;   /* prefix of the message */
		const char *what;    /* part of it */
	} cases[] = {
		{ "0,0\n1,-3\n", "t.csv:2:3:", "negative" },
		{ "0,0\n1,abc\n", "t.csv:2:3:", "decimal number" },
		{ "0,0\n1\n", "t.csv:2:2:", "\",\"" },
		{ "0,0\n1,2,3\n", "t.csv:2:4:", "third" },
		{ "0,0\n1,5\n1,6\n", "t.csv:3:1:", "more than 1" },
		{ "0,0\n2,5\n1,6\n", "t.csv:3:1:", "more than 2" },
		{ "0,0\ntime_s,speed_kmh\n1,1\n", "t.csv:2:1:", "header comes only before" },
		{ "time_s,speed\n0,0\n1,1\n", "t.csv:1:1:", "header" },
		{ "time_s,speed_kmh x\n0,0\n1,1\n", "t.csv:1:18:", "end of the header" },
		{ "0,0\n1,501\n", "t.csv:2:3:", "out of range" },
		{ "0,0\n1,nan\n", "t.csv:2:3:", "decimal number" },
		{ "0,0\n1,inf\n", "t.csv:2:3:", "decimal number" },
		{ "0,0\n1,0x10\n", "t.csv:2:3:", "decimal number" },
		{ "0,0\n1,1e\n", "t.csv:2:3:", "decimal number" },
		{ "0,0\n", "t.csv:2:1:", "at least two" },
		{ "# only a comment\n", "t.csv:2:1:", "at least two" },
		{ "", "t.csv:1:1:", "at least two" },
		{ "0,0\n1,1 # note\n", "t.csv:2:3:", "decimal number" },
	};
	cycle_t *c;
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = (cycle_t *)1;
		assert_int_equal(parse(cases[i].text, &c), -EINVAL);
		assert_null(c);
		if (strncmp(last_err, cases[i].where, strlen(cases[i].where)) ||
		    !strstr(last_err, cases[i].what))
			fail_msg("case %zu: got \"%s\"", i, last_err);
	}
	/* a NUL inside a line */
	{
		static const char nul[] = "0,0\n1,\0\n2,0\n";

		assert_int_equal(cycle_parse("t.csv", nul, sizeof(nul) - 1, &c), -EINVAL);
		assert_non_null(strstr(last_err, "t.csv:2:3: expected text"));
	}
	/* every bad line is reported, not only the first */
	assert_int_equal(parse("0,0\n1,x\n2,y\n3,0\n", &c), -EINVAL);
	assert_int_equal(n_err, 2);
}

static void test_shipped(void **state)
{
	static const struct {
		const char *name;
		double km, dur_s;
	} cycles[] = {
		/* published: WLTC class 3b 23.266 km in 1800 s (UN GTR 15);
		 * the NEDC trace, 1 Hz trapezoid, 11.0132 km in 1180 s */
		{ "wltc_class3b.csv", 23.266, 1800 },
		{ "nedc.csv", 11.013, 1180 },
	};
	const char *src = getenv("ECO2_SRC");
	char path[4096];
	cycle_t *c;
	(void)state;

	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/can/sim/cycles/%s", src ? src : ".", cycles[i].name);
		assert_int_equal(cycle_load(path, &c), 0);
		assert_true(fabs(cycle_distance_m(c) / 1000 - cycles[i].km) < 0.0005);
		assert_true(fabs(cycle_duration_s(c) - cycles[i].dur_s) < 1e-9);
		cycle_free(c);
	}
	assert_true(cycle_load("/nonexistent/cycle.csv", &c) < 0);
	assert_true(cycle_load("/", &c) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_shipped),
	};

	log_open("test_cycle", LOG_TO_STDERR, LOG_DEBUG);
	log_set_hook(capture, NULL);
	return cmocka_run_group_tests_name("cycle", tests, NULL, NULL);
}
