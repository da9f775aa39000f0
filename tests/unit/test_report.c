/* Unit tests for crypto/report.c: --tz parsing; totals counted from the
 * verified rows only, exactly (integer sums); a record belongs to the day
 * it starts in the zone asked (UTC, a fixed offset, an IANA zone across a
 * DST change); groups per VIN; a later check's failure takes a row out of
 * the totals; the writers escape what a record could smuggle in (a VIN
 * cannot hold markup: the decoder forbids it, but problems quote figures). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/report.h"
#include "tests/unit/records_helper.h"

static void test_tz(void **state)
{
	struct report_tz tz;
	(void)state;

	assert_int_equal(report_tz_parse(&tz, "UTC"), 0);
	assert_true(tz.fixed && tz.offset_s == 0);
	assert_int_equal(report_tz_parse(&tz, "+02:00"), 0);
	assert_true(tz.fixed && tz.offset_s == 7200);
	assert_int_equal(report_tz_parse(&tz, "-05:30"), 0);
	assert_true(tz.offset_s == -19800);
	assert_int_equal(report_tz_parse(&tz, "+2"), -EINVAL);
	assert_int_equal(report_tz_parse(&tz, "+15:00"), -EINVAL);
	assert_int_equal(report_tz_parse(&tz, "Europe/../../etc/passwd"), -EINVAL);
	assert_int_equal(report_tz_parse(&tz, "/etc/localtime"), -EINVAL);
	assert_int_equal(report_tz_parse(&tz, "No/Such_Zone"), -EINVAL);
	if (report_tz_parse(&tz, "Europe/Berlin") == 0) {
		assert_false(tz.fixed);
		assert_string_equal(tz.name, "Europe/Berlin");
	}
}

/* A report of n records of key k, each changed by mod before signing. */
typedef void mod_fn(struct eco2_record *r, unsigned i);

static report_t *build(const char *tz, unsigned n, mod_fn *mod)
{
	struct report_opts o = { .input = "t.cbor", .generator = "test" };
	struct verify_item *it = malloc(sizeof(*it));
	verify_key_t *vk;
	struct tkey k;
	report_t *r;
	uint8_t prev[32] = { 0 };

	assert_non_null(it);
	tkey_ed25519(&k, 40);
	assert_int_equal(verify_key_new(&vk, k.alg, k.pub, 32, NULL), 0);
	assert_int_equal(report_tz_parse(&o.tz, tz), 0);
	assert_int_equal(report_new(&r, &o), 0);
	report_key(r, vk, "--pubkey");
	for (unsigned i = 0; i < n; i++) {
		struct eco2_record e;
		uint8_t *rec;
		size_t len;

		trec_fill(&e, &k, i + 1, prev, 1);
		if (mod)
			mod(&e, i);
		rec = trec_encode(&e, &k, &len);
		verify_item_check(vk, rec, len, it);
		it->tail = false;
		assert_int_equal(report_item(r, it, it->status == 0), (long)i);
		cose_record_sha256(rec, len, prev);
		free(rec);
	}
	verify_key_free(vk);
	free(it);
	return r;
}

static char *json_of(report_t *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(report_write_json(r, f), 0);
	fclose(f);
	return buf;
}

/* 23:30 UTC on 2026-01-01 and then every 30 minutes. */
static void at_2330(struct eco2_record *e, unsigned i)
{
	e->start_s = 1767310200 + (int64_t)i * 1800;   /* 2026-01-01T23:30:00Z */
	e->end_s = e->start_s + 600;
	if (i == 2)
		e->co2_g += 1;                          /* fails: not counted */
}

static void test_days(void **state)
{
	report_t *r;
	char *j;
	(void)state;

	r = build("UTC", 4, at_2330);
	report_finish(r);
	j = json_of(r);
	/* UTC: the first on 01-01, the other three (one failed) on 01-02 */
	assert_non_null(strstr(j, "{\"date\":\"2026-01-01\",\"records\":1,"));
	assert_non_null(strstr(j, "{\"date\":\"2026-01-02\",\"records\":2,"));
	assert_non_null(strstr(j, "\"tz\":\"UTC\""));
	free(j);
	report_free(r);

	r = build("+02:00", 4, at_2330);
	report_finish(r);
	j = json_of(r);
	assert_null(strstr(j, "\"2026-01-01\""));
	assert_non_null(strstr(j, "{\"date\":\"2026-01-02\",\"records\":3,"));
	free(j);
	report_free(r);

	r = build("-01:00", 4, at_2330);
	report_finish(r);
	j = json_of(r);
	assert_non_null(strstr(j, "{\"date\":\"2026-01-01\",\"records\":2,"));   /* 22:30, 23:00 */
	assert_non_null(strstr(j, "{\"date\":\"2026-01-02\",\"records\":1,"));
	free(j);
	report_free(r);
}

/* Europe/Berlin: UTC+1 in winter, +2 in summer; 22:30 UTC on the night of
 * 2026-03-28/29 (clocks go forward at 01:00 UTC on the 29th) and on the
 * night after. */
static void berlin(struct eco2_record *e, unsigned i)
{
	e->start_s = (i ? 1774823400 : 1774737000);     /* 03-29T22:30Z, 03-28T22:30Z */
	e->end_s = e->start_s + 600;
}

static void test_iana_zone(void **state)
{
	struct report_tz tz;
	report_t *r;
	char *j;
	(void)state;

	if (report_tz_parse(&tz, "Europe/Berlin")) {
		skip();
		return;
	}
	r = build("Europe/Berlin", 2, berlin);
	report_finish(r);
	j = json_of(r);
	/* 23:30 CET on the 28th; 00:30 CEST on the 30th */
	assert_non_null(strstr(j, "{\"date\":\"2026-03-28\",\"records\":1,"));
	assert_non_null(strstr(j, "{\"date\":\"2026-03-30\",\"records\":1,"));
	/* the process's TZ is as it was */
	assert_true(!getenv("TZ") || strcmp(getenv("TZ"), "Europe/Berlin"));
	free(j);
	report_free(r);
}

static void vins(struct eco2_record *e, unsigned i)
{
	e->has_vin = i != 3;
	snprintf(e->vin, sizeof(e->vin), "%s", i % 2 ? "WVWZZZ1JZXW000002" : "WVWZZZ1JZXW000001");
}

static void test_totals_and_groups(void **state)
{
	report_t *r;
	char *j;
	(void)state;

	/* seqs 1..6: odd trips of 23266 m, even charging sessions of 41000 Wh */
	r = build("UTC", 6, vins);
	assert_int_equal(report_rows(r), 6);
	report_fail_row(r, 4);                         /* a later check fails seq 5 */
	report_problem(r, 5, "params.approved", "baseline_mg_per_km %d, approved %d", 1, 2);
	report_finish(r);
	assert_false(report_ok(r));
	assert_int_equal(report_problems_total(r), 1);
	j = json_of(r);
	assert_non_null(strstr(j, "\"records\":6,\"verified\":5,\"failed\":1,\"trips\":2,"
				  "\"charging_sessions\":3,\"distance_km\":46.532,"));
	assert_non_null(strstr(j, "\"charged_kwh\":123.000,"));
	/* per VIN: 000001 has seqs 1, 3 (5 failed); 000002 seqs 2, 6; seq 4 none */
	assert_non_null(strstr(j, "{\"vin\":null,\"records\":1,"));
	assert_non_null(strstr(j, "{\"vin\":\"WVWZZZ1JZXW000001\",\"records\":2,\"trips\":2,"));
	assert_non_null(strstr(j, "{\"vin\":\"WVWZZZ1JZXW000002\",\"records\":2,\"trips\":0,"));
	assert_non_null(strstr(j, "\"problems\":[{\"seq\":5,\"code\":\"params.approved\","));
	assert_non_null(strstr(j, "{\"seq\":5,\"decoded\":true,"));
	assert_non_null(strstr(j, "\"verdict\":\"failed\"}"));
	free(j);
	report_free(r);
}

static void test_escaping(void **state)
{
	report_t *r;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	(void)state;

	r = build("UTC", 1, NULL);
	report_problem(r, 1, "x", "<script>alert(1)</script> \"q\" & \x01");
	report_finish(r);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(report_write_html(r, f, NULL, NULL), 0);
	fclose(f);
	assert_null(strstr(buf, "<script"));
	assert_non_null(strstr(buf, "&lt;script&gt;alert(1)&lt;/script&gt; &quot;q&quot; &amp; ?"));
	assert_non_null(strstr(buf, "Content-Security-Policy"));
	free(buf);
	buf = json_of(r);
	assert_non_null(strstr(buf, "\"reason\":\"<script>alert(1)</script> \\\"q\\\" & \\u0001\""));
	free(buf);
	report_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tz),
		cmocka_unit_test(test_days),
		cmocka_unit_test(test_iana_zone),
		cmocka_unit_test(test_totals_and_groups),
		cmocka_unit_test(test_escaping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
