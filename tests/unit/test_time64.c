/* test_time64 — timestamps past 2038 survive on every target, 32-bit armhf
 * above all (built with -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64; `make
 * check-cross ARCH=armhf` runs this under qemu-arm-static).
 *
 * The oracle for calendar dates is days_from_civil() below: proleptic
 * Gregorian arithmetic in int64_t that never touches time_t or the C
 * library, so a libc or ABI that truncates time_t to 32 bits disagrees
 * with it. 2^31 s is 2038-01-19T03:14:08Z, 4102444800 s is
 * 2100-01-01T00:00:00Z (fits uint32 but not int32: the classic sign
 * trap), 2^32 s is 2106-02-07T06:28:16Z (fits neither). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/trip.h"
#include "crypto/cose.h"
#include "crypto/verify.h"
#include "crypto/record.h"
#include "tests/unit/records_helper.h"

/* The build promises these on every target; fail the build, not the run,
 * when a toolchain or flag change breaks the promise. */
_Static_assert(sizeof(time_t) == 8, "time_t must be 64-bit (-D_TIME_BITS=64)");
_Static_assert(sizeof(off_t) == 8, "off_t must be 64-bit (-D_FILE_OFFSET_BITS=64)");

#define T_2038 INT64_C(2147483648)        /* 2038-01-19T03:14:08Z */
#define T_2100 INT64_C(4102444800)        /* 2100-01-01T00:00:00Z */
#define T_2106 INT64_C(4294967296)        /* 2106-02-07T06:28:16Z */

/* Days since 1970-01-01 of y-m-d (proleptic Gregorian): eras of 400
 * years, March-based years so that the leap day ends the year. */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int64_t civil_s(int64_t y, int64_t mo, int64_t d, int64_t h, int64_t mi, int64_t s)
{
	return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

static void test_widths(void **state)
{
	struct timespec ts;
	struct stat st;
	(void)state;

	assert_int_equal(sizeof(time_t), 8);
	assert_int_equal(sizeof(off_t), 8);
	assert_int_equal(sizeof(ts.tv_sec), 8);
	assert_int_equal(sizeof(st.st_mtim.tv_sec), 8);
	assert_int_equal(sizeof(st.st_size), 8);
}

static void test_oracle_anchors(void **state)
{
	(void)state;

	/* The oracle itself, on dates whose epoch seconds are well known. */
	assert_int_equal(civil_s(1970, 1, 1, 0, 0, 0), 0);
	assert_int_equal(civil_s(2000, 3, 1, 0, 0, 0), INT64_C(951868800));
	assert_int_equal(civil_s(2038, 1, 19, 3, 14, 8), T_2038);
	assert_int_equal(civil_s(2100, 1, 1, 0, 0, 0), T_2100);
	assert_int_equal(civil_s(2106, 2, 7, 6, 28, 16), T_2106);
}

/* gmtime_r, timegm and strftime agree with the oracle across 2038 and
 * 2106 and up to 2200, every 997,331 s (a step that visits every hour,
 * weekday and month end over the range). */
static void test_libc_calendar(void **state)
{
	int64_t t;
	unsigned int n = 0;
	(void)state;

	for (t = T_2038 - INT64_C(86400) * 366; t < civil_s(2200, 1, 1, 0, 0, 0); t += 997331) {
		time_t tt = (time_t)t;
		struct tm tm;
		char got[40], want[40];

		assert_int_equal((int64_t)tt, t);
		assert_non_null(gmtime_r(&tt, &tm));
		assert_int_equal(civil_s(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
					 tm.tm_hour, tm.tm_min, tm.tm_sec), t);
		assert_int_equal((int64_t)timegm(&tm), t);
		assert_int_not_equal(strftime(got, sizeof(got), "%Y-%m-%dT%H:%M:%SZ", &tm), 0);
		snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		assert_string_equal(got, want);
		n++;
	}
	assert_true(n > 5000);

	/* And the named instants, formatted. */
	{
		const int64_t ts[] = { T_2038, T_2100, T_2106 };
		const char *const iso[] = { "2038-01-19T03:14:08Z", "2100-01-01T00:00:00Z",
					    "2106-02-07T06:28:16Z" };
		for (size_t i = 0; i < 3; i++) {
			time_t tt = (time_t)ts[i];
			struct tm tm;
			char buf[40];

			assert_non_null(gmtime_r(&tt, &tm));
			strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
			assert_string_equal(buf, iso[i]);
		}
	}
}

/* The kernel path: set a file's times past 2038 and read them back
 * (utimensat/statx with 64-bit times on a 32-bit ABI). */
static void test_file_times(void **state)
{
	char path[] = "/tmp/eco2-time64-XXXXXX";
	struct timespec ts[2];
	struct stat st;
	int fd;
	(void)state;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	ts[0].tv_sec = (time_t)T_2106;
	ts[0].tv_nsec = 5;
	ts[1].tv_sec = (time_t)T_2100;
	ts[1].tv_nsec = 123456789;
	assert_int_equal(futimens(fd, ts), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal((int64_t)st.st_mtim.tv_sec, T_2100);
	assert_int_equal(st.st_mtim.tv_nsec, 123456789);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal((int64_t)st.st_mtim.tv_sec, T_2100);
	/* A file offset past 4 GiB: sparse, so nothing is written. */
	assert_int_equal((int64_t)lseek(fd, INT64_C(5) << 30, SEEK_SET), INT64_C(5) << 30);
	close(fd);
	unlink(path);
}

/* ns since the epoch (can/sample.h t_ns) in 2100 and its UTC seconds. */
static void test_sample_ns(void **state)
{
	uint64_t t_ns = (uint64_t)T_2100 * 1000000000u + 999999999u;
	struct timespec now;
	(void)state;

	assert_int_equal((int64_t)(t_ns / 1000000000u), T_2100);
	/* The clock itself reads as 64-bit seconds (and is after 2020). */
	assert_int_equal(clock_gettime(CLOCK_REALTIME, &now), 0);
	assert_true((int64_t)now.tv_sec > INT64_C(1577836800));
}

/* A record starting 2100-01-01 round-trips through COSE encode, decode
 * and verify; its start_s is CBOR uint32 (0x1a f4 86 57 00), which a
 * 32-bit signed path would turn negative. */
static void record_roundtrip(int64_t start_s, const uint8_t *want_cbor, size_t want_len)
{
	struct tkey k;
	struct eco2_record r, back;
	struct cose_sign1 parts;
	const char *why = NULL;
	uint8_t *rec;
	size_t len;

	tkey_ed25519(&k, 7);
	trec_fill(&r, &k, 1, NULL, 0);
	r.start_s = start_s;
	r.end_s = start_s + 1800;
	rec = trec_encode(&r, &k, &len);

	assert_int_equal(cose_record_decode(rec, len, &back, &parts, &why), 0);
	assert_int_equal(back.start_s, start_s);
	assert_int_equal(back.end_s, start_s + 1800);
	assert_non_null(memmem(parts.payload, parts.payload_len, want_cbor, want_len));
	assert_int_equal(verify_record_pubkey(rec, len, k.alg, k.pub, k.pub_len, &back, &why), 0);
	assert_int_equal(back.start_s, start_s);
	free(rec);
	tkey_free(&k);
}

static void test_record_2100(void **state)
{
	/* key 5, then uint32 4102444800 */
	static const uint8_t k5_2100[] = { 0x05, 0x1a, 0xf4, 0x86, 0x57, 0x00 };
	/* key 5, then uint64 2^32 */
	static const uint8_t k5_2106[] = { 0x05, 0x1b, 0, 0, 0, 1, 0, 0, 0, 0 };
	(void)state;

	record_roundtrip(T_2100, k5_2100, sizeof(k5_2100));
	record_roundtrip(T_2106, k5_2106, sizeof(k5_2106));
}

struct emitted {
	unsigned int n;
	struct eco2_record rec;
};

static void on_record(const struct eco2_record *rec, void *ctx)
{
	struct emitted *e = ctx;

	e->n++;
	e->rec = *rec;
}

static void sample(trip_t *t, int64_t s, uint32_t ms, enum eco2_role role, double v)
{
	struct eco2_sample smp = {
		.t_ns = (uint64_t)s * 1000000000u + (uint64_t)ms * 1000000u,
		.role = role,
		.value = v,
	};

	trip_sample(t, &smp);
}

/* The trip calculator fed kernel-style timestamps in 2100: a 10-minute
 * drive at 60 km/h ending with ignition off yields one record whose
 * start_s/end_s are those seconds. */
static void test_trip_2100(void **state)
{
	struct trip_params p;
	struct emitted e = { 0 };
	trip_t *t = NULL;
	const int64_t t0 = T_2100 + 3600;
	int64_t s, odo_m = 5000000;
	(void)state;

	trip_params_default(&p);
	p.roles = (1u << ROLE_ODOMETER) | (1u << ROLE_SPEED) | (1u << ROLE_IGNITION);
	p.odo_resolution_m = 100;
	assert_int_equal(trip_new(&p, on_record, &e, &t), 0);

	sample(t, t0, 0, ROLE_IGNITION, 1);
	for (s = 0; s <= 600; s++) {
		sample(t, t0 + s, 100, ROLE_SPEED, 60);
		if (s % 6 == 0) {   /* 60 km/h = 100 m per 6 s */
			odo_m += s ? 100 : 0;
			sample(t, t0 + s, 200, ROLE_ODOMETER, (double)odo_m);
		}
	}
	sample(t, t0 + 601, 0, ROLE_IGNITION, 0);
	trip_finish(t);

	assert_int_equal(e.n, 1);
	assert_int_equal(e.rec.type, ECO2_REC_TRIP);
	assert_int_equal(e.rec.start_s, t0);
	assert_true(e.rec.end_s >= t0 + 600 && e.rec.end_s <= t0 + 601);
	assert_int_equal(e.rec.distance_m, 10000);
	trip_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_widths),
		cmocka_unit_test(test_oracle_anchors),
		cmocka_unit_test(test_libc_calendar),
		cmocka_unit_test(test_file_times),
		cmocka_unit_test(test_sample_ns),
		cmocka_unit_test(test_record_2100),
		cmocka_unit_test(test_trip_2100),
	};

	return cmocka_run_group_tests_name("time64", tests, NULL, NULL);
}
