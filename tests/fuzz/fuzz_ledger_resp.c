/* libFuzzer target for upload/ledger_resp.c: any body must parse or fail
 * cleanly; a success must be self-consistent (bounded lists, NUL-ended
 * reasons), since only a success may mark records uploaded. The head
 * answer's parser gets the same input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "upload/ledger_resp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ledger_resp r;
	char err[96];
	size_t max = size ? data[0] % 16 : 4;

	if (ledger_resp_parse((const char *)data, size, max, &r, err, sizeof(err)) == 0) {
		if (r.n_accepted > max || r.n_duplicate > max || r.n_rejected > max)
			abort();
		for (size_t i = 0; i < r.n_accepted; i++)
			if (!r.accepted[i])
				abort();
		for (size_t i = 0; i < r.n_duplicate; i++)
			if (!r.duplicate[i])
				abort();
		for (size_t i = 0; i < r.n_rejected; i++)
			if (strlen(r.rejected[i].reason) >= LEDGER_REASON_MAX)
				abort();
		ledger_resp_free(&r);
	} else if (!memchr(err, '\0', sizeof(err)) || strncmp(err, "offset ", 7)) {
		abort();
	}
	/* the head answer: the same input */
	uint64_t seq = 0;
	uint8_t hash[32];
	if (ledger_resp_parse_head((const char *)data, size, &seq, hash, err, sizeof(err)) == 0) {
		if (seq > INT64_MAX)
			abort();
	} else if (!memchr(err, '\0', sizeof(err)) || strncmp(err, "offset ", 7)) {
		abort();
	}
	return 0;
}
