/* libFuzzer target: the trip calculator under arbitrary sample streams and
 * arbitrary checkpoint contents. No crash, no sanitizer report, and no
 * record with a negative distance or energy, whatever comes in.
 *
 * Input: first byte 0 -> the rest is a checkpoint body, wrapped here in a
 * valid header and checksum (so the fuzzer reaches the value checks), then
 * a short drive is fed; otherwise the rest is a sample stream, 11 bytes a
 * sample: u16 time step (units of 1 ms, 0xFFFF = a 1-hour jump forward,
 * 0xFFFE = 1 hour back), u8 role (any value), f64 value (any bits). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bytes.h"
#include "lib/log.h"
#include "agent/trip.h"

/* The blob layout (trip.c): "E2TRIPCK" | u32 version | u32 body length |
 * body | u64 FNV-1a of everything before. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct eco2_record *r, void *ctx)
{
	(void)ctx;
	if (r->distance_m < 0 || r->discharge_wh < 0 || r->regen_wh < 0 || r->charged_wh < 0 ||
	    r->end_s < r->start_s || (r->type != ECO2_REC_TRIP && r->type != ECO2_REC_CHARGE))
		abort();
}

static void drive(trip_t *t, uint64_t t0)
{
	for (int i = 0; i < 50; i++) {
		struct eco2_sample s = { .t_ns = t0 + (uint64_t)i * 20000000u };

		s.role = ROLE_SPEED;
		s.value = 40;
		trip_sample(t, &s);
		s.role = ROLE_ODOMETER;
		s.value = 1000000 + i * 100;
		trip_sample(t, &s);
		s.role = ROLE_PACK_VOLTAGE;
		s.value = 400;
		trip_sample(t, &s);
		s.role = ROLE_PACK_CURRENT;
		s.value = i % 7 ? 30 : -20;
		trip_sample(t, &s);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	struct trip_params p;
	trip_t *t = NULL;
	uint8_t *blob = NULL;
	size_t len = 0;

	if (!quiet) {
		log_open("fuzz", LOG_TO_STDERR, -1);
		quiet = 1;
	}
	if (size < 1)
		return 0;
	trip_params_default(&p);
	p.roles |= (1u << ROLE_DISCHARGE_TOTAL) * (size & 1);
	p.odo_wrap_m = size & 2 ? 1e6 : 0;
	if (trip_new(&p, check, NULL, &t))
		abort();
	if (data[0] == 0) {
		uint8_t *b;
		size_t body, n;
		uint64_t h;

		/* a fresh calculator's blob gives the header and the size */
		if (trip_checkpoint_save(t, &b, &len))
			abort();
		body = len - 24;
		n = size - 1 < body ? size - 1 : body;
		memcpy(b + 16, data + 1, n);
		h = fnv1a64(b, 16 + body);
		for (int i = 0; i < 8; i++)
			b[16 + body + i] = (uint8_t)(h >> (8 * i));
		if (trip_checkpoint_restore(t, b, 16 + body + 8) == 0)
			drive(t, 1700000000000000000ull);
		free(b);
	} else {
		uint64_t now = 1700000000000000000ull;

		for (size_t off = 1; off + 11 <= size; off += 11) {
			struct eco2_sample s;
			uint16_t step;

			memcpy(&step, data + off, 2);
			if (step == 0xFFFF)
				now += 3600000000000ull;
			else if (step == 0xFFFE)
				now -= 3600000000000ull;
			else
				now += (uint64_t)step * 1000000u;
			s.t_ns = now;
			s.role = (enum eco2_role)data[off + 2];
			memcpy(&s.value, data + off + 3, 8);
			trip_sample(t, &s);
			if (data[off + 2] == 0xEE)
				trip_clock_step(t, (int64_t)step * 1000000000);
			if (data[off + 2] == 0xEF)
				trip_event(t, now, CAN_EV_BUS_OFF, 0);
		}
		trip_tick(t, now + 1000000000ull);
	}
	/* a checkpoint round trip, then the end: what a calculator fed with
	 * samples saves must restore (a state restored from arbitrary bytes
	 * may have been pushed past the limits restore enforces) */
	if (trip_checkpoint_save(t, &blob, &len) == 0) {
		trip_t *t2 = NULL;

		if (trip_new(&p, check, NULL, &t2))
			abort();
		if (trip_checkpoint_restore(t2, blob, len) && data[0] != 0)
			abort();
		trip_finish(t2);
		trip_free(t2);
		free(blob);
	}
	trip_finish(t);
	trip_free(t);
	return 0;
}
