/* libFuzzer target: the DBC parser must report, never crash; whatever
 * loads must be consistent (every signal fits 64 bytes, every switch chain
 * ends, lookups find what iteration finds). */
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>

#include "lib/log.h"
#include "can/dbc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	dbc_t *dbc = NULL;
	uint8_t payload[64] = { 0 };

	if (!quiet) {
		log_open("fuzz", LOG_TO_STDERR, -1);
		quiet = 1;
	}
	if (dbc_load_buffer(&dbc, "fuzz.dbc", (const char *)data, size))
		return 0;
	for (unsigned i = 0; i < dbc_message_count(dbc); i++) {
		const struct dbc_message *m = dbc_message_at(dbc, i);
		if (!dbc_find_message(dbc, m->id, m->is_ext))
			abort();
		for (unsigned j = 0; j < m->n_signals; j++) {
			const struct dbc_signal *s = &m->signals[j];
			uint64_t raw;
			unsigned depth = 0;
			if (s->message != m || s->index != j || dbc_find_signal(m, s->name) != s)
				abort();
			if (dbc_extract_raw(s, payload, sizeof(payload), &raw))
				abort();   /* the parser must refuse what does not fit 64 bytes */
			if (dbc_encode_signal(s, 1.5, payload, sizeof(payload)) == -ERANGE)
				abort();
			for (const struct dbc_signal *p = s->mux_switch; p; p = p->mux_switch)
				if (++depth > m->n_signals)
					abort();
		}
	}
	dbc_free(dbc);
	return 0;
}
