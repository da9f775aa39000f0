/* eco2-sign-test — drive crypto/signer.h from the integration tests and
 * benchmarks (built, never installed).
 *
 *   eco2-sign-test --uri URI [--pin PIN] [--info] [--attrs]
 *                  [--in MSG --out SIG] [--bench N]
 *     --info    "alg=es256 kid=HEX pub=HEX" on stdout (raw public key)
 *     --attrs   "sensitive=1 extractable=0 always_sensitive=1
 *               never_extractable=1" as the token reports the private key
 *     --in/--out  sign the bytes of MSG, write the 64 raw signature bytes
 *     --bench N   sign N 300-byte messages (a Sig_structure's size), print
 *               "records_per_s=R n=N seconds=S"
 *     --shared  open a second signer on the same key, close the first, and
 *               sign with the second (a module shared by two signers must
 *               stay initialised); prints "shared=ok"
 *     --tag       with --in/--out: write the state tag (signer_tag) of MSG
 *               instead of a signature
 *     --tag-check TAG  with --in: "tag=ok" (exit 0) or "tag=bad" (exit 1)
 *     --tag-scheme  print the kind of tag this key makes
 *     --tag-bench N  tag N messages of --size bytes (default 1024), print
 *               "tags_per_s=R ms_per_tag=M n=N bytes=B"
 * Exit 0 done, 1 failed, 2 usage. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "lib/file.h"
#include "lib/log.h"
#include "crypto/signer.h"
#include "crypto/signer_int.h"

static void hex(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", b[i]);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "uri", required_argument, NULL, 'u' },
		{ "pin", required_argument, NULL, 'p' },
		{ "in", required_argument, NULL, 'i' },
		{ "out", required_argument, NULL, 'o' },
		{ "info", no_argument, NULL, 'I' },
		{ "attrs", no_argument, NULL, 'A' },
		{ "bench", required_argument, NULL, 'b' },
		{ "shared", no_argument, NULL, 'S' },
		{ "tag", no_argument, NULL, 't' },
		{ "tag-check", required_argument, NULL, 'T' },
		{ "tag-scheme", no_argument, NULL, 'K' },
		{ "tag-bench", required_argument, NULL, 'B' },
		{ "size", required_argument, NULL, 'z' },
		{ NULL, 0, NULL, 0 },
	};
	const char *uri = NULL, *pin = NULL, *in = NULL, *out = NULL, *tag_check = NULL;
	bool info = false, attrs = false, shared = false, tag = false, tag_scheme = false;
	long bench = 0, tag_bench = 0, size = 1024;
	signer_t *s = NULL;
	uint8_t sig[SIGNER_SIG_LEN];
	int c, ret = 1;

	log_open("eco2-sign-test", LOG_TO_STDERR, LOG_WARNING);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'u': uri = optarg; break;
		case 'p': pin = optarg; break;
		case 'i': in = optarg; break;
		case 'o': out = optarg; break;
		case 'I': info = true; break;
		case 'A': attrs = true; break;
		case 'S': shared = true; break;
		case 't': tag = true; break;
		case 'T': tag_check = optarg; break;
		case 'K': tag_scheme = true; break;
		case 'b':
		case 'B':
		case 'z': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v <= 0)
				goto usage;
			*(c == 'b' ? &bench : c == 'B' ? &tag_bench : &size) = v;
			break;
		}
		default:
			goto usage;
		}
	}
	if (!uri || optind != argc || (!in != !(out || tag_check)) || (out && tag_check) ||
	    (tag && !out) || size > (64 << 20))
		goto usage;
	if (signer_open(&s, uri, pin) < 0)
		return 1;
	if (info) {
		uint8_t pub[SIGNER_PUBKEY_MAX], kid[8];
		size_t n = signer_pubkey(s, pub);
		signer_kid(s, kid);
		printf("alg=%s kid=", signer_alg_name(signer_alg(s)));
		hex(kid, sizeof(kid));
		printf(" pub=");
		hex(pub, n);
		printf("\n");
	}
	if (attrs) {
		struct signer_key_attrs a;
		if (signer_key_attrs(s, &a) < 0)
			goto out;
		printf("sensitive=%d extractable=%d always_sensitive=%d never_extractable=%d\n",
		       a.sensitive, a.extractable, a.always_sensitive, a.never_extractable);
	}
	if (tag_scheme)
		printf("%s\n", signer_tag_scheme(s));
	if (in && (tag || tag_check)) {
		uint8_t t[SIGNER_TAG_MAX];
		size_t tlen = 0;
		char *msg = NULL, *tb = NULL;
		size_t len = 0, tblen = 0;
		int r;
		if (file_read(in, 64 << 20, 0, NULL, &msg, &len) < 0)
			goto out;
		if (tag_check) {
			if (file_read(tag_check, SIGNER_TAG_MAX, 0, NULL, &tb, &tblen) < 0) {
				free(msg);
				goto out;
			}
			r = signer_tag_check(s, (const uint8_t *)msg, len, (const uint8_t *)tb, tblen);
			free(msg);
			free(tb);
			printf("tag=%s\n", r ? "bad" : "ok");
			if (r)
				goto out;
		} else {
			r = signer_tag(s, (const uint8_t *)msg, len, t, &tlen);
			free(msg);
			FILE *f = r ? NULL : fopen(out, "wb");
			if (!f || fwrite(t, 1, tlen, f) != tlen || fclose(f))
				goto out;
		}
	} else if (in) {
		char *msg = NULL;
		size_t len = 0;
		if (file_read(in, 64 << 20, 0, NULL, &msg, &len) < 0) {
			fprintf(stderr, "eco2-sign-test: %s: cannot read\n", in);
			goto out;
		}
		int r = signer_sign(s, (const uint8_t *)msg, len, sig);
		free(msg);
		if (r < 0)
			goto out;
		FILE *f = fopen(out, "wb");
		if (!f || fwrite(sig, 1, sizeof(sig), f) != sizeof(sig) || fclose(f)) {
			fprintf(stderr, "eco2-sign-test: %s: cannot write\n", out);
			goto out;
		}
	}
	if (shared) {
		static const uint8_t m[] = "shared module";
		uint8_t pub[SIGNER_PUBKEY_MAX];
		signer_t *s2 = NULL;
		if (signer_open(&s2, uri, pin) < 0)
			goto out;
		signer_close(s);
		s = s2;
		size_t n = signer_pubkey(s, pub);
		if (signer_sign(s, m, sizeof(m), sig) < 0 ||
		    signer_check_sig(signer_alg(s), pub, n, m, sizeof(m), sig) < 0)
			goto out;
		printf("shared=ok\n");
	}
	if (bench) {
		uint8_t msg[300];
		randombytes_buf(msg, sizeof(msg));
		double t0 = now_s();
		for (long i = 0; i < bench; i++) {
			msg[0] = (uint8_t)i;   /* a different record each time */
			if (signer_sign(s, msg, sizeof(msg), sig) < 0)
				goto out;
		}
		double dt = now_s() - t0;
		printf("records_per_s=%.0f n=%ld seconds=%.3f\n", bench / dt, bench, dt);
	}
	if (tag_bench) {
		uint8_t *msg = malloc((size_t)size), t[SIGNER_TAG_MAX];
		size_t tlen;
		if (!msg)
			goto out;
		randombytes_buf(msg, (size_t)size);
		double t0 = now_s();
		for (long i = 0; i < tag_bench; i++) {
			msg[0] = (uint8_t)i;
			if (signer_tag(s, msg, (size_t)size, t, &tlen) < 0) {
				free(msg);
				goto out;
			}
		}
		double dt = now_s() - t0;
		free(msg);
		printf("tags_per_s=%.0f ms_per_tag=%.3f n=%ld bytes=%ld\n", tag_bench / dt,
		       dt * 1000 / tag_bench, tag_bench, size);
	}
	ret = 0;
out:
	signer_close(s);
	return ret;
usage:
	fprintf(stderr, "usage: eco2-sign-test --uri URI [--pin PIN] [--info] [--attrs] "
		"[--in MSG (--out SIG [--tag] | --tag-check TAG)] [--bench N] [--shared]\n"
		"       [--tag-scheme] [--tag-bench N [--size BYTES]]\n");
	return 2;
}
