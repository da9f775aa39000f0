/* libFuzzer target for ledger/config.c: any eco2-ledger.conf parses or
 * fails cleanly, every error reported, nothing leaked; a parse that
 * succeeds leaves values inside their documented ranges. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "lib/log.h"
#include "ledger/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct lconf c;

	if (!ready) {
		log_open("fuzz", LOG_TO_STDERR, -1);
		ready = 1;
	}
	if (!lconf_parse(&c, "dir/fuzz.conf", (const char *)data, size)) {
		if (c.connections < 4 || c.body_max < 4096 || c.n_witness > LCONF_WITNESSES_MAX ||
		    c.n_readers > LCONF_READERS_MAX || c.rate < 0)
			abort();
	}
	lconf_free(&c);
	return 0;
}
