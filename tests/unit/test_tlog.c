/* Unit tests for crypto/tlog.c against published vectors:
 *   keys        golang.org/x/mod sumdb/note's PeterNeumann and EnochRoot keys
 *               (note_test.go): key ids, vkey and skey texts, every
 *               substring and single-byte change of a vkey refused
 *   notes       the signed note of note_test.go byte for byte; its TestOpen
 *               expectations (one trusted key of two, none trusted, 101
 *               lines, a corrupted known signature) and malformed notes
 *   checkpoints C2SP tlog-checkpoint's example body and the empty tree
 *   cosignatures transparency-dev/formats' cosignature/v1 key id (remora),
 *               and a checkpoint signed by the log (the PeterNeumann seed as
 *               example.com/behind-the-sofa) and cosigned by a witness (RFC
 *               8032 §7.1 test 1's key), both deterministic, byte for byte;
 *               a cosignature never verifies as a plain note signature */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "lib/bytes.h"
#include "crypto/tlog.h"

static const char peter_skey[] =
	"PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
static const char peter_vkey[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
static const char enoch_vkey[] = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
static const char text[] =
	"If you think cryptography is the answer to your problem,\n"
	"then you don't know what your problem is.\n";
static const char peter_line[] =
	"\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
static const char enoch_line[] =
	"\xe2\x80\x94 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

static struct tlog_vkey vk(const char *s)
{
	struct tlog_vkey k;
	const char *why = NULL;

	if (tlog_vkey_parse(s, strlen(s), &k, &why))
		fail_msg("%s: %s", s, why);
	return k;
}

static void test_keys(void **state)
{
	struct tlog_skey sk;
	struct tlog_vkey pk, v;
	char buf[TLOG_SKEY_MAX];
	uint8_t seed[32];

	(void)state;
	assert_int_equal(tlog_skey_parse(peter_skey, strlen(peter_skey), &sk, NULL), 0);
	assert_int_equal(sk.id, 0xc74f20a3);
	assert_int_equal(sk.type, TLOG_ED25519);
	assert_string_equal(sk.name, "PeterNeumann");
	assert_int_equal(hex_decode("810a1402d5146c8d84f2443330f54080ebf98ee17d9c74f6252fc5d5c7283173",
				    64, seed, 32), 0);
	assert_memory_equal(sk.sk, seed, 32);
	{
		uint8_t pub[32];

		assert_int_equal(hex_decode("1a5cd907143c384c41e830c5bce12aa8817ec5649aaabf2c31388b35b2d744d6",
					    64, pub, 32), 0);
		assert_memory_equal(sk.pub, pub, 32);
	}
	tlog_skey_public(&sk, &pk);
	assert_int_equal(tlog_vkey_format(&pk, buf, sizeof(buf)), (int)strlen(peter_vkey));
	assert_string_equal(buf, peter_vkey);
	assert_int_equal(tlog_skey_format(&sk, buf, sizeof(buf)), (int)strlen(peter_skey));
	assert_string_equal(buf, peter_skey);
	v = vk(peter_vkey);
	assert_int_equal(v.id, 0xc74f20a3);
	assert_memory_equal(v.pub, sk.pub, 32);
	v = vk(enoch_vkey);
	assert_int_equal(v.id, 0xaf0cfe78);
	/* a cosignature/v1 key id (transparency-dev/formats) */
	v = vk("remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2");
	assert_int_equal(v.type, TLOG_COSIG_V1);
	/* surrounding white space (a file's newline) is not part of the key */
	{
		char s[200];

		snprintf(s, sizeof(s), "  %s\n", peter_vkey);
		assert_int_equal(tlog_vkey_parse(s, strlen(s), &v, NULL), 0);
	}
	tlog_skey_wipe(&sk);
}

static void test_bad_vkeys(void **state)
{
	struct tlog_vkey v;
	size_t n = strlen(peter_vkey);
	const char *why;

	(void)state;
	/* every proper substring */
	for (size_t a = 0; a < n; a++)
		for (size_t b = a; b <= n; b++) {
			if (a == 0 && b == n)
				continue;
			/* trimming only removes white space, which the key has none of */
			assert_int_equal(tlog_vkey_parse(peter_vkey + a, b - a, &v, NULL), -EINVAL);
		}
	/* every single-byte increment */
	for (size_t i = 0; i < n; i++) {
		char s[128];

		memcpy(s, peter_vkey, n + 1);
		s[i]++;
		assert_int_equal(tlog_vkey_parse(s, n, &v, NULL), -EINVAL);
	}
	/* an unknown algorithm (0x65), its id adjusted to match */
	why = NULL;
	assert_int_equal(tlog_vkey_parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
					 66, &v, &why), -EINVAL);
	assert_non_null(strstr(why, "type"));
	/* a key of the wrong length */
	assert_int_equal(tlog_vkey_parse("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10",
					 64, &v, NULL), -EINVAL);
	/* names */
	assert_false(tlog_name_valid("a b", 3));
	assert_false(tlog_name_valid("a+b", 3));
	assert_false(tlog_name_valid("", 0));
	assert_false(tlog_name_valid("a\xc2\xa0" "b", 4));       /* U+00A0 */
	assert_false(tlog_name_valid("a\xe3\x80\x80" "b", 5));   /* U+3000 */
	assert_false(tlog_name_valid("a\xff", 2));
	assert_true(tlog_name_valid("example.com/log42", 17));
	assert_true(tlog_name_valid("caf\xc3\xa9", 5));
}

static void test_sign_vector(void **state)
{
	struct tlog_skey sk;
	char line[TLOG_SIGLINE_MAX];

	(void)state;
	assert_int_equal(tlog_skey_parse(peter_skey, strlen(peter_skey), &sk, NULL), 0);
	assert_int_equal(tlog_sign_line(text, strlen(text), &sk, line, sizeof(line)),
			 (int)strlen(peter_line));
	assert_string_equal(line, peter_line);
	/* text that is no note text */
	assert_int_equal(tlog_sign_line("no newline", 10, &sk, line, sizeof(line)), -EINVAL);
	assert_int_equal(tlog_sign_line("a\n\n", 3, &sk, line, sizeof(line)), -EINVAL);
	assert_int_equal(tlog_sign_line("a\tb\n", 4, &sk, line, sizeof(line)), -EINVAL);
	/* too small a buffer */
	assert_int_equal(tlog_sign_line(text, strlen(text), &sk, line, 20), -ENOSPC);
	/* a plain key makes no cosignature */
	assert_int_equal(tlog_cosign_line(text, strlen(text), &sk, 1, line, sizeof(line)), -EINVAL);
	tlog_skey_wipe(&sk);
}

static char *note(const char *t, const char *sigs)
{
	size_t n = strlen(t) + 1 + strlen(sigs) + 1;
	char *m = malloc(n);

	assert_non_null(m);
	snprintf(m, n, "%s\n%s", t, sigs);
	return m;
}

static void test_open(void **state)
{
	struct tlog_vkey keys[2] = { vk(peter_vkey), vk(enoch_vkey) };
	struct tlog_note nt;
	char sigs[512], *m;
	const char *why;

	(void)state;
	snprintf(sigs, sizeof(sigs), "%s%s", peter_line, enoch_line);
	m = note(text, sigs);
	/* only Peter trusted: verifies, Enoch's line passed over */
	assert_int_equal(tlog_note_open(m, strlen(m), keys, 1, &nt, NULL), 0);
	assert_int_equal(nt.verified, 1);
	assert_int_equal(nt.n_sigs, 2);
	assert_int_equal(nt.text_len, strlen(text));
	assert_memory_equal(m, text, nt.text_len);
	/* both */
	assert_int_equal(tlog_note_open(m, strlen(m), keys, 2, &nt, NULL), 0);
	assert_int_equal(nt.verified, 3);
	/* Enoch alone */
	assert_int_equal(tlog_note_open(m, strlen(m), keys + 1, 1, &nt, NULL), 0);
	assert_int_equal(nt.verified, 1);
	/* none trusted */
	assert_int_equal(tlog_note_open(m, strlen(m), NULL, 0, &nt, NULL), -ENOKEY);
	/* a known key's corrupted signature rejects the note */
	{
		char *bad = strdup(m);
		char *p = strstr(bad, "x08go");

		p[10] = p[10] == 'A' ? 'B' : 'A';
		why = NULL;
		assert_int_equal(tlog_note_open(bad, strlen(bad), keys, 1, &nt, &why), -EKEYREJECTED);
		/* but not when that key is not asked for */
		assert_int_equal(tlog_note_open(bad, strlen(bad), keys + 1, 1, &nt, NULL), 0);
		free(bad);
	}
	free(m);
	/* 100 lines are fine, 101 are not */
	{
		size_t cap = 200 * 101 + 256, o;
		char *many = malloc(cap);

		assert_non_null(many);
		for (int lines = 101; lines >= 100; lines--) {
			o = (size_t)snprintf(many, cap, "%s\n", text);
			for (int i = 0; i < lines - 1; i++)
				o += (size_t)snprintf(many + o, cap - o, "%s", enoch_line);
			snprintf(many + o, cap - o, "%s", peter_line);
			assert_int_equal(tlog_note_open(many, strlen(many), keys, 1, &nt, NULL),
					 lines == 101 ? -EBADMSG : 0);
		}
		free(many);
	}
}

static void test_malformed(void **state)
{
	struct tlog_vkey keys[1] = { vk(peter_vkey) };
	struct tlog_note nt;
	char buf[1024];
	const char *cases[8];
	size_t pl = strlen(peter_line);
	int n = 0;

	(void)state;
	cases[n++] = text;                                   /* the text alone */
	snprintf(buf, sizeof(buf), "%s\n", text);
	cases[n++] = strdup(buf);                            /* and a blank line */
	snprintf(buf, sizeof(buf), "%s\n%.*s", text, (int)(pl - 1), peter_line);
	cases[n++] = strdup(buf);                            /* no final newline */
	snprintf(buf, sizeof(buf), "\x01%s\n%s", text, peter_line);
	cases[n++] = strdup(buf);                            /* a control byte */
	snprintf(buf, sizeof(buf), "\xff%s\n%s", text, peter_line);
	cases[n++] = strdup(buf);                            /* not UTF-8 */
	snprintf(buf, sizeof(buf), "%s\n\xe2\x80\x94 Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n", text);
	cases[n++] = strdup(buf);                            /* a name with a space */
	snprintf(buf, sizeof(buf), "%s\n%sabc\n", text, peter_line);
	cases[n++] = strdup(buf);                            /* a line after the signatures */
	snprintf(buf, sizeof(buf), "%s\n- PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n", text);
	cases[n++] = strdup(buf);                            /* a hyphen, not an em dash */
	for (int i = 0; i < n; i++) {
		const char *why = NULL;

		assert_int_equal(tlog_note_open(cases[i], strlen(cases[i]), keys, 1, &nt, &why), -EBADMSG);
		assert_non_null(why);
		if (i)
			free((char *)cases[i]);
	}
}

static void test_checkpoint(void **state)
{
	static const char ckpt[] = "example.com/behind-the-sofa\n20852163\n"
				   "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
	static const char empty[] = "log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";
	struct tlog_checkpoint c;
	char buf[TLOG_CHECKPOINT_MAX + 1];
	uint8_t root[32];
	const char *bad[] = {
		"log\n00\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
		"log\n01\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
		"log\n-1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
		"log\n 1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
		"log\n9223372036854775808\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
		"log\n99999999999999999999\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
		"log\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\n",
		"log\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=\n",     /* trailing bits */
		"log\n1\nAAAA\n",
		"log\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
		"log\n1\n",
		"log with space\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
		"\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
		"log\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n",
		"log\r\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
	};

	(void)state;
	assert_int_equal(tlog_checkpoint_parse(ckpt, strlen(ckpt), &c, NULL), 0);
	assert_string_equal(c.origin, "example.com/behind-the-sofa");
	assert_int_equal(c.size, 20852163);
	assert_int_equal(hex_decode("0ac5186a91863e8e1d90c808014aa89bf5da8e3ee1d9f07630f0378f68f1ab62",
				    64, root, 32), 0);
	assert_memory_equal(c.root, root, 32);
	assert_int_equal(tlog_checkpoint_format(&c, buf, sizeof(buf)), (int)strlen(ckpt));
	assert_string_equal(buf, ckpt);
	assert_int_equal(tlog_checkpoint_parse(empty, strlen(empty), &c, NULL), 0);
	assert_int_equal(c.size, 0);
	crypto_hash_sha256(root, NULL, 0);
	assert_memory_equal(c.root, root, 32);
	{
		static const char ext[] = "log\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\nan extension\n";

		assert_int_equal(tlog_checkpoint_parse(ext, strlen(ext), &c, NULL), 0);
		assert_int_equal(c.size, 5);
	}
	{
		static const char max[] = "log\n9223372036854775807\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";

		assert_int_equal(tlog_checkpoint_parse(max, strlen(max), &c, NULL), 0);
		assert_int_equal(c.size, UINT64_C(9223372036854775807));
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		const char *why = NULL;

		if (tlog_checkpoint_parse(bad[i], strlen(bad[i]), &c, &why) != -EBADMSG)
			fail_msg("accepted bad checkpoint %zu", i);
		assert_non_null(why);
	}
}

static void test_cosigned_checkpoint(void **state)
{
	static const char log_skey[] =
		"PRIVATE+KEY+example.com/behind-the-sofa+bed5581b+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
	static const char log_vkey[] =
		"example.com/behind-the-sofa+bed5581b+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
	static const char wit_skey[] =
		"PRIVATE+KEY+witness.example.com/w1+7e6f4aaa+BJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g";
	static const char wit_vkey[] =
		"witness.example.com/w1+7e6f4aaa+BNdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea";
	static const char body[] = "example.com/behind-the-sofa\n20852163\n"
				   "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
	static const char want[] =
		"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
		"\xe2\x80\x94 example.com/behind-the-sofa vtVYG5/3L9NHv4CxP0XTzEcSuWnwY/BYfHU7NnQPhQyrEuH+AqeHvF+HXNvu8ujR9RQHE17Tcer4sDE9uIi/Yx6ihwc=\n"
		"\xe2\x80\x94 witness.example.com/w1 fm9KqgAAAABkGFDL+TPmh4BYuAjsYRoqMJCWb/gWJaeRF/kmm5tlCr9sJ57DLErur7K0yDXc2ArN+TIuotuB/HbuL3AJsp3bv/aNCQ==\n";
	struct tlog_skey ls, ws, generated;
	struct tlog_vkey keys[3];
	struct tlog_note nt;
	char msg[1024], line[TLOG_SIGLINE_MAX], kt[TLOG_VKEY_MAX];
	size_t o;

	(void)state;
	assert_int_equal(tlog_skey_parse(log_skey, strlen(log_skey), &ls, NULL), 0);
	assert_int_equal(tlog_skey_parse(wit_skey, strlen(wit_skey), &ws, NULL), 0);
	assert_int_equal(ws.type, TLOG_COSIG_V1);
	tlog_skey_public(&ws, &keys[1]);
	assert_true(tlog_vkey_format(&keys[1], kt, sizeof(kt)) > 0);
	assert_string_equal(kt, wit_vkey);
	o = (size_t)snprintf(msg, sizeof(msg), "%s\n", body);
	assert_true(tlog_sign_line(body, strlen(body), &ls, line, sizeof(line)) > 0);
	o += (size_t)snprintf(msg + o, sizeof(msg) - o, "%s", line);
	assert_true(tlog_cosign_line(body, strlen(body), &ws, 1679315147, line, sizeof(line)) > 0);
	snprintf(msg + o, sizeof(msg) - o, "%s", line);
	assert_string_equal(msg, want);

	keys[0] = vk(log_vkey);
	keys[1] = vk(wit_vkey);
	/* the witness's key as a plain note key: same public key, type 0x01 */
	keys[2] = keys[1];
	keys[2].type = TLOG_ED25519;
	keys[2].id = tlog_key_id(keys[2].name, strlen(keys[2].name), TLOG_ED25519, keys[2].pub);
	assert_int_equal(tlog_note_open(msg, strlen(msg), keys, 2, &nt, NULL), 0);
	assert_int_equal(nt.verified, 3);
	assert_int_equal(nt.cosig_time[1], 1679315147);
	/* the cosignature line's id is the 0x04 key's: a 0x01 key of the same
	 * name does not match it, so the note is not signed by keys[2] */
	assert_int_equal(tlog_note_open(msg, strlen(msg), keys + 2, 1, &nt, NULL), -ENOKEY);
	/* forced onto the same id, the bytes do not verify as a note signature */
	keys[2].id = keys[1].id;
	assert_int_equal(tlog_note_open(msg, strlen(msg), keys + 2, 1, &nt, NULL), -EKEYREJECTED);
	/* another time in the cosignature breaks it */
	{
		char *bad = strdup(msg);
		char *p = strstr(bad, "fm9KqgAAAABkGFDL");

		p[15] = 'M';
		assert_int_equal(tlog_note_open(bad, strlen(bad), keys + 1, 1, &nt, NULL), -EKEYREJECTED);
		free(bad);
	}
	/* a generated key round-trips through its texts */
	assert_int_equal(tlog_skey_generate("w.example/2", TLOG_COSIG_V1, &generated), 0);
	{
		char st[TLOG_SKEY_MAX];
		struct tlog_skey back;

		assert_true(tlog_skey_format(&generated, st, sizeof(st)) > 0);
		assert_int_equal(tlog_skey_parse(st, strlen(st), &back, NULL), 0);
		assert_memory_equal(&back, &generated, sizeof(back));
	}
	assert_int_equal(tlog_skey_generate("bad name", TLOG_ED25519, &generated), -EINVAL);
	assert_int_equal(tlog_skey_generate("ok", 0x02, &generated), -EINVAL);
	tlog_skey_wipe(&ls);
	tlog_skey_wipe(&ws);
}

static void test_b64(void **state)
{
	uint8_t out[8];

	(void)state;
	assert_int_equal(tlog_b64_decode("AAAA", 4, out, sizeof(out)), 3);
	assert_int_equal(tlog_b64_decode("AA==", 4, out, sizeof(out)), 1);
	assert_int_equal(tlog_b64_decode("AB==", 4, out, sizeof(out)), -EINVAL);  /* trailing bits */
	assert_int_equal(tlog_b64_decode("AA=", 3, out, sizeof(out)), -EINVAL);
	assert_int_equal(tlog_b64_decode("AA", 2, out, sizeof(out)), -EINVAL);
	assert_int_equal(tlog_b64_decode("A-A_", 4, out, sizeof(out)), -EINVAL);
	assert_int_equal(tlog_b64_decode("AAAA AAA", 8, out, sizeof(out)), -EINVAL);
	assert_int_equal(tlog_b64_decode("AAAAAAAAAAAA", 12, out, 4), -EINVAL);  /* too long */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_bad_vkeys),
		cmocka_unit_test(test_sign_vector),
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_checkpoint),
		cmocka_unit_test(test_cosigned_checkpoint),
		cmocka_unit_test(test_b64),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
