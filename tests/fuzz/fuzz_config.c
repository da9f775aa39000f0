/* libFuzzer target: the eco2d config parser must report, never crash. */
#include <stddef.h>
#include <stdint.h>

#include "agent/config.h"
#include "lib/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	struct eco2_config cfg;

	if (!quiet) {
		log_open("fuzz", LOG_TO_STDERR, -1);
		quiet = 1;
	}
	(void)config_load_buffer(&cfg, "fuzz.conf", (const char *)data, size);
	config_free(&cfg);
	return 0;
}
