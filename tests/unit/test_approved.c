/* Unit tests for crypto/approved.c: the --require-params file: periods
 * parsed and found by time, every malformed line reported as file:line,
 * and records checked against the period they start in (methodology
 * figures, software, profile), version 1 records included. */
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

#include "lib/log.h"
#include "crypto/approved.h"
#include "tests/unit/records_helper.h"

static const char good[] =
	"# approved for 2026\n"
	"[period 2026-01-01 2027-01-01]\n"
	"method = eco2-ev-v1\n"
	"baseline_mg_per_km = 169056\n"
	"grid_mg_per_kwh = 530600\n"
	"charge_eff_permille = 900\n"
	"td_loss_permille = 50\n"
	"software = eco2d/0.1, eco2-test/1\n"
	"software = eco2d/0.2\n"
	"\n"
	"[period 2025-01-01 2026-01-01]\n"
	"method = eco2-ev-v1\n"
	"baseline_mg_per_km = 170000\n"
	"grid_mg_per_kwh = 530600\n"
	"charge_eff_permille = 900\n"
	"td_loss_permille = 50\n"
	"profile_sha256 = 1111111111111111111111111111111111111111111111111111111111111111\n";

static void test_parse_and_find(void **state)
{
	struct approved a;
	(void)state;

	assert_int_equal(approved_parse(&a, "t.params", good, strlen(good)), 0);
	assert_int_equal(a.n, 2);
	/* sorted by their start, whatever their order in the file */
	assert_true(a.p[0].from_s == 1735689600);           /* 2025-01-01 */
	assert_true(a.p[0].to_s == 1767225600);             /* 2026-01-01 */
	assert_true(a.p[1].from_s == 1767225600);
	assert_int_equal(a.p[0].line, 11);
	assert_int_equal(a.p[1].line, 2);
	assert_int_equal(a.p[1].n_software, 3);
	assert_string_equal(a.p[1].software[1], "eco2-test/1");
	assert_int_equal(a.p[0].n_profile, 1);
	assert_true(a.p[1].td_loss_permille == 50);
	assert_ptr_equal(approved_find(&a, 1767225600), &a.p[1]);   /* inclusive start */
	assert_ptr_equal(approved_find(&a, 1767225599), &a.p[0]);   /* exclusive end */
	assert_null(approved_find(&a, 1735689599));
	assert_null(approved_find(&a, 1798761600));                 /* 2027-01-01 */
	approved_free(&a);
}

static void test_check(void **state)
{
	struct approved a;
	struct tkey k;
	struct eco2_record r;
	char why[256];
	(void)state;

	tkey_ed25519(&k, 30);
	assert_int_equal(approved_parse(&a, "t.params", good, strlen(good)), 0);
	trec_fill(&r, &k, 1, NULL, 0);
	r.start_s = 1767225600 + 3600;                      /* in 2026 */
	assert_int_equal(approved_check(&a, &r, why, sizeof(why)), 0);
	r.grid_mg_per_kwh = 530601;
	assert_int_equal(approved_check(&a, &r, why, sizeof(why)), -EDOM);
	assert_non_null(strstr(why, "grid_mg_per_kwh 530601, approved 530600 (t.params:2)"));
	trec_fill(&r, &k, 1, NULL, 0);
	r.start_s = 1767225600 + 3600;
	snprintf(r.software, sizeof(r.software), "eco2d/9.9");
	assert_int_equal(approved_check(&a, &r, why, sizeof(why)), -EDOM);
	assert_non_null(strstr(why, "software \"eco2d/9.9\" is not approved"));
	trec_v1(&r);                                        /* names no software */
	assert_int_equal(approved_check(&a, &r, why, sizeof(why)), -EDOM);
	assert_non_null(strstr(why, "version 1"));
	/* 2025: baseline 170000 approved, and only profile 11..11 */
	trec_fill(&r, &k, 1, NULL, 0);
	r.start_s = 1750000000;
	assert_int_equal(approved_check(&a, &r, why, sizeof(why)), -EDOM);
	assert_non_null(strstr(why, "baseline_mg_per_km 169056, approved 170000 (t.params:11)"));
	r.baseline_mg_per_km = 170000;
	assert_int_equal(approved_check(&a, &r, why, sizeof(why)), 0);
	r.profile_sha256[5] = 0;
	assert_int_equal(approved_check(&a, &r, why, sizeof(why)), -EDOM);
	assert_non_null(strstr(why, "vehicle profile"));
	snprintf(r.method, sizeof(r.method), "other");
	assert_int_equal(approved_check(&a, &r, why, sizeof(why)), -EDOM);
	assert_non_null(strstr(why, "methodology \"other\""));
	r.start_s = 100;                                    /* in no period */
	assert_int_equal(approved_check(&a, &r, why, sizeof(why)), -ENOENT);
	approved_free(&a);
}

/* Every bad line is reported, with its line number, and the file fails. */
static void test_errors(void **state)
{
	static const struct {
		const char *text, *said;
	} cases[] = {
		{ "method = x\n", ":1: method: outside a [period" },
		{ "[period 2026-01-01]\nmethod = x\n", ":1: [period 2026-01-01]: expected [period FROM TO]" },
		{ "[period 2026-02-01 2026-01-01]\nmethod = x\n", ":1: [period 2026-02-01 2026-01-01]: the period ends before" },
		{ "[other]\nmethod = x\n", ":1: [other]: expected [period FROM TO]" },
		{ "[period 2026-01-01 2027-01-01]\nmethod = eco2-ev-v1\n", ":1: [period 2026-01-01 2027-01-01]: baseline_mg_per_km is required" },
		{ "[period 2026-01-01 2027-01-01]\nbaseline_mg_per_km = 1.5\n", ":2: baseline_mg_per_km: an integer from 0 to 10000000" },
		{ "[period 2026-01-01 2027-01-01]\ncharge_eff_permille = 0\n", ":2: charge_eff_permille: an integer from 1 to 1000" },
		{ "[period 2026-01-01 2027-01-01]\nmethod = a\nmethod = b\n", ":3: method: given twice" },
		{ "[period 2026-01-01 2027-01-01]\nbogus = 1\n", ":2: bogus: unknown key" },
		{ "[period 2026-01-01 2027-01-01]\nprofile_sha256 = 12\n", ":2: profile_sha256: \"12\" is not 64 hex digits" },
		{ "# nothing\n", "no [period FROM TO] section" },
		{ "[period 2026-01-01 2026-06-01]\nmethod=m\nbaseline_mg_per_km=1\ngrid_mg_per_kwh=1\ncharge_eff_permille=1\ntd_loss_permille=1\n"
		  "[period 2026-05-01 2026-07-01]\nmethod=m\nbaseline_mg_per_km=1\ngrid_mg_per_kwh=1\ncharge_eff_permille=1\ntd_loss_permille=1\n",
		  ":7: this period overlaps the one on line 1" },
		{ "[period 2026-01-01 2027-01-01]\njust words\n", ":2: expected '[period FROM TO]' or 'key = value'" },
	};
	char path[] = "/tmp/eco2-approved-XXXXXX";
	int fd = mkstemp(path);
	(void)state;

	assert_true(fd >= 0);
	close(fd);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct approved a;
		char log[4096] = "";
		FILE *f;
		size_t n;

		int saved = dup(2), ret;

		assert_true(saved >= 0);
		fflush(stderr);
		assert_non_null(freopen(path, "w+", stderr));
		log_open("test", LOG_TO_STDERR, LOG_ERR);
		ret = approved_parse(&a, "t.params", cases[i].text, strlen(cases[i].text));
		fflush(stderr);
		assert_true(dup2(saved, 2) == 2);
		close(saved);
		assert_int_equal(ret, -EINVAL);
		f = fopen(path, "r");
		assert_non_null(f);
		n = fread(log, 1, sizeof(log) - 1, f);
		log[n] = 0;
		fclose(f);
		if (!strstr(log, cases[i].said))
			fail_msg("case %zu: wanted \"%s\" in \"%s\"", i, cases[i].said, log);
		assert_int_equal(a.n, 0);
	}
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_and_find),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
