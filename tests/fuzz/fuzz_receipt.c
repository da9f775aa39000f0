/* libFuzzer target for crypto/receipt.c: any text must parse or fail
 * cleanly, receipt after receipt as in an exported file; a parsed receipt
 * writes back to exactly the bytes it was read from (one text per
 * receipt), and checking it against a key and its records never crashes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "crypto/receipt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char vk[] =
		"example.com/behind-the-sofa+bed5581b+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
	static struct tlog_vkey key;
	static int ready;
	const char *s = (const char *)data;
	size_t off = 0;

	if (!ready) {
		if (sodium_init() < 0 || tlog_vkey_parse(vk, strlen(vk), &key, NULL))
			abort();
		ready = 1;
	}
	while (off < size) {
		struct receipt r;
		struct tlog_checkpoint c;
		char *back;
		size_t len;

		if (receipt_parse(s + off, size - off, &r, NULL))
			break;
		if (!r.len || r.len > size - off || !r.n_entries)
			abort();
		if (receipt_format(r.kid, r.e, r.n_entries, r.hashes, r.note, r.note_len, &back, &len))
			abort();
		if (len != r.len || memcmp(back, s + off, len))
			abort();
		free(back);
		if (!receipt_check(&r, &key, &c, NULL))
			for (size_t i = 0; i < r.n_entries; i++)
				(void)receipt_check_record(&r, i, &c, data, size);
		off += r.len;
		receipt_free(&r);
	}
	return 0;
}
