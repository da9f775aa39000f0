/* libFuzzer target: the vehicle profile parser must report, never crash.
 * Relative DBC paths resolve in the shipped profiles folder ($ECO2_SRC),
 * so seeds reach unit resolution and decoder construction as well. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/log.h"
#include "can/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[4096];
	profile_t *p = NULL;

	if (!dir[0]) {
		const char *src = getenv("ECO2_SRC");
		log_open("fuzz", LOG_TO_STDERR, -1);
		snprintf(dir, sizeof(dir), "%s/can/profiles", src ? src : ".");
	}
	if (profile_load_buffer(&p, "fuzz.profile", (const char *)data, size, dir) == 0) {
		/* A profile that loads must answer its queries. */
		struct socketcan_id ids[64];
		struct can_frame_rec f = { .len = 8 };
		struct eco2_sample s[ROLE_COUNT];
		(void)!profile_filters(p, ids, 64);
		for (unsigned r = 0; r < ROLE_COUNT; r++)
			if (profile_encode(p, (enum eco2_role)r, 1.0, f.data, 8, &f.id, NULL) == 0)
				(void)profile_decode(p, &f, s, ROLE_COUNT);
	}
	profile_free(p);
	return 0;
}
