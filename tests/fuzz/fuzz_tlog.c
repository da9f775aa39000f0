/* libFuzzer target for crypto/tlog.c (and merkle proof verification):
 * the first byte picks what the rest is fed to — a signed note opened
 * against a log key and a witness key, a checkpoint, a verifier key, a
 * signer key, or an inclusion/consistency proof. Each must parse or fail
 * cleanly; a success must be self-consistent (a parsed checkpoint formats
 * back to the same bytes when it has no extension lines, a parsed key
 * formats back to its text). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "crypto/merkle.h"
#include "crypto/tlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const vkeys[] = {
	"example.com/behind-the-sofa+bed5581b+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
	"witness.example.com/w1+7e6f4aaa+BNdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea",
};

static uint64_t u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tlog_vkey keys[2];
	static int ready;
	const char *s = (const char *)data + 1;
	size_t n = size ? size - 1 : 0;
	char buf[TLOG_NOTE_MAX];

	if (!ready) {
		if (sodium_init() < 0)
			abort();
		for (int i = 0; i < 2; i++)
			if (tlog_vkey_parse(vkeys[i], strlen(vkeys[i]), &keys[i], NULL))
				abort();
		ready = 1;
	}
	if (!size)
		return 0;
	switch (data[0] % 5) {
	case 0: {
		struct tlog_note nt;
		struct tlog_checkpoint c;

		if (!tlog_note_open(s, n, keys, 2, &nt, NULL)) {
			if (!nt.verified || nt.text_len >= n || nt.sigs_off != nt.text_len + 1)
				abort();
			(void)tlog_checkpoint_parse(s, nt.text_len, &c, NULL);
		}
		break;
	}
	case 1: {
		struct tlog_checkpoint c;

		if (!tlog_checkpoint_parse(s, n, &c, NULL)) {
			int len = tlog_checkpoint_format(&c, buf, sizeof(buf));

			if (len < 0 || (size_t)len > n || memcmp(buf, s, (size_t)len))
				abort();
		}
		break;
	}
	case 2: {
		struct tlog_vkey k;

		if (!tlog_vkey_parse(s, n, &k, NULL) && tlog_vkey_format(&k, buf, sizeof(buf)) < 0)
			abort();
		break;
	}
	case 3: {
		struct tlog_skey k;

		if (!tlog_skey_parse(s, n, &k, NULL)) {
			if (tlog_skey_format(&k, buf, sizeof(buf)) < 0)
				abort();
			tlog_skey_wipe(&k);
		}
		break;
	}
	default: {
		/* index/m (8), size/n (8), leaf/h1 (32), root/h2 (32), proof */
		const uint8_t *p = data + 1;

		if (n < 80)
			break;
		{
			uint64_t a = u64(p), b = u64(p + 8);
			size_t cnt = (n - 80) / 32;

			if (cnt > MERKLE_PROOF_MAX)
				cnt = MERKLE_PROOF_MAX;
			{
				merkle_hash_t proof[MERKLE_PROOF_MAX];

				memcpy(proof, p + 80, cnt * 32);
				(void)merkle_verify_inclusion(a, b, p + 16, proof, cnt, p + 48);
				(void)merkle_verify_consistency(a, b, p + 16, p + 48, proof, cnt);
			}
		}
		break;
	}
	}
	return 0;
}
