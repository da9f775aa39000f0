/* libFuzzer target: the --require-params file parser (crypto/approved.c)
 * must report, never crash; what it accepts has sorted periods that do
 * not overlap, and every time in them is found again by approved_find. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "crypto/approved.h"
#include "lib/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	struct approved a;

	if (!quiet) {
		log_open("fuzz", LOG_TO_STDERR, -1);
		quiet = 1;
	}
	if (approved_parse(&a, "fuzz.params", (const char *)data, size))
		return 0;
	for (size_t i = 0; i < a.n; i++) {
		if (a.p[i].to_s <= a.p[i].from_s || (i && a.p[i].from_s < a.p[i - 1].to_s))
			abort();
		if (approved_find(&a, a.p[i].from_s) != &a.p[i] ||
		    approved_find(&a, a.p[i].to_s - 1) != &a.p[i])
			abort();
	}
	approved_free(&a);
	return 0;
}
