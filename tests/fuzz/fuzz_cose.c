/* libFuzzer target: the COSE/CBOR record reader, the splitter and the
 * chain must report, never crash, never read past the input, and never
 * accept bytes that are not the canonical encoding of what they decode to.
 * Inputs are taken both as one record and as an export (CBOR sequence)
 * checked against a fixed Ed25519 key (seed 32 x 0x01, the key of
 * docs/record-format.md's example, so seeds signed by it reach the
 * signature, the content rules and the chain checks). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "crypto/cose.h"
#include "crypto/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* public key for the seed 32 x 0x01 */
static const uint8_t fuzz_pub[32] = {
	0x8a, 0x88, 0xe3, 0xdd, 0x74, 0x09, 0xf1, 0x95, 0xfd, 0x52, 0xdb, 0x2d,
	0x3c, 0xba, 0x5d, 0x72, 0xca, 0x67, 0x09, 0xbf, 0x1d, 0x94, 0x12, 0x1b,
	0xf3, 0x74, 0x88, 0x01, 0xb4, 0x0f, 0x6f, 0x5c,
};

static void ignore(void *ctx, const struct verify_event *ev)
{
	/* touch every byte of it; every event has a code */
	(*(size_t *)ctx) += strlen(ev->reason) + strlen(ev->code);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static verify_key_t *key;
	struct eco2_record r;
	struct cose_sign1 parts;
	struct verify_splitter sp;
	verify_chain_t *chain = NULL;
	struct verify_item *it;
	const char *why = NULL;
	size_t off, len, sum = 0;
	bool tail;

	if (!key) {
		log_open("fuzz", LOG_TO_STDERR, -1);
		if (verify_key_new(&key, COSE_ALG_EDDSA, fuzz_pub, sizeof(fuzz_pub), NULL))
			abort();
	}

	/* One record: a success must re-encode to exactly the input. */
	if (!cose_record_decode(data, size, &r, &parts, &why)) {
		uint8_t payload[COSE_RECORD_MAX];
		size_t plen;

		if (cose_payload_encode(&r, payload, sizeof(payload), &plen) ||
		    plen != parts.payload_len || memcmp(payload, parts.payload, plen))
			abort();
	} else if (!why || !why[0]) {
		abort();
	}

	/* An export. */
	it = malloc(sizeof(*it));
	if (!it || verify_chain_new(&chain, ignore, &sum)) {
		free(it);
		return 0;
	}
	verify_split_init(&sp, data, size);
	while (verify_split_next(&sp, &off, &len, &tail)) {
		if (!len || off + len > size)
			abort();
		verify_item_check(key, data + off, len, it);
		it->tail = tail;
		(void)verify_chain_push(chain, it);
	}
	(void)verify_chain_finish(chain);
	verify_chain_free(chain);
	free(it);
	return 0;
}
