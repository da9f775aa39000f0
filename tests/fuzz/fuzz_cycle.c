/* libFuzzer target: the drive-cycle CSV parser must report, never crash,
 * and what it accepts must keep its promises. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "lib/log.h"
#include "can/sim/cycle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	cycle_t *c = NULL;

	if (!quiet) {
		log_open("fuzz", LOG_TO_STDERR, -1);
		quiet = 1;
	}
	if (cycle_parse("fuzz.csv", (const char *)data, size, &c) == 0) {
		const struct cycle_point *p = cycle_points(c);
		size_t n = cycle_count(c);

		if (n < 2)
			abort();
		for (size_t i = 0; i < n; i++) {
			if (p[i].t_s < 0 || p[i].t_s > CYCLE_MAX_T_S || p[i].speed_kmh < 0 ||
			    p[i].speed_kmh > CYCLE_MAX_KMH || (i && !(p[i].t_s > p[i - 1].t_s)))
				abort();
		}
		if (!(cycle_distance_m(c) >= 0) || !(cycle_speed_kmh(c, cycle_duration_s(c) / 2) >= 0))
			abort();
	}
	cycle_free(c);
	return 0;
}
