/* bench-decode — throughput of the CAN decode hot path (not installed).
 *
 *   bench-decode DBC LOG MSG.SIG[,MSG.SIG...] [PASSES]
 *
 * Decodes the frames of LOG with a subset decoder of the listed signals
 * (as a vehicle profile does) three ways: binary (frames already in
 * memory, as from SocketCAN), text (candump lines in memory parsed, then
 * decoded) and reader (canlog_next() streaming the file, as a replay). Prints
 * "binary_frames N", "binary_ns_per_frame X", "text_ns_per_line X", ...
 * one figure a line. The passes live in noinline functions so that
 * `valgrind --tool=callgrind --toggle-collect=bench_*_pass` counts
 * instructions of exactly the decode work. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "can/canlog.h"
#include "can/dbc.h"
#include "can/decode.h"

#define MAX_SIGS 64

static double sink;   /* keeps the compiler from dropping the work */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

__attribute__((noinline)) size_t bench_binary_pass(const decoder_t *d, const struct can_frame_rec *f,
						   size_t n);
__attribute__((noinline)) size_t bench_text_pass(const decoder_t *d, const char *text, size_t len);
__attribute__((noinline)) size_t bench_reader_pass(const decoder_t *d, const char *path);

/* The replay path: canlog_next() from the file (page cache), then decode. */
__attribute__((noinline)) size_t bench_reader_pass(const decoder_t *d, const char *path)
{
	struct decode_value out[16];
	struct can_frame_rec f;
	canlog_reader_t *r;
	size_t values = 0;
	double acc = 0;

	if (canlog_open(&r, path))
		return 0;
	while (canlog_next(r, &f) == 1) {
		if (f.flags & (CANREC_RTR | CANREC_ERR))
			continue;
		int k = decode_frame(d, f.id, f.flags & CANREC_EXT, f.data, f.len, out, ARRAY_SIZE(out), NULL);
		for (int j = 0; j < k; j++)
			acc += out[j].value;
		values += (size_t)k;
	}
	canlog_close(r);
	sink += acc;
	return values;
}

__attribute__((noinline)) size_t bench_binary_pass(const decoder_t *d, const struct can_frame_rec *f,
						   size_t n)
{
	struct decode_value out[16];
	size_t values = 0;
	double acc = 0;

	for (size_t i = 0; i < n; i++) {
		int k = decode_frame(d, f[i].id, f[i].flags & CANREC_EXT, f[i].data, f[i].len, out,
				     ARRAY_SIZE(out), NULL);
		for (int j = 0; j < k; j++)
			acc += out[j].value;
		values += (size_t)k;
	}
	sink += acc;
	return values;
}

__attribute__((noinline)) size_t bench_text_pass(const decoder_t *d, const char *text, size_t len)
{
	struct decode_value out[16];
	struct can_frame_rec f;
	const char *p = text, *end = text + len;
	size_t values = 0;
	double acc = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (canlog_parse_line(p, ll, &f, NULL) == 0 && !(f.flags & (CANREC_RTR | CANREC_ERR))) {
			int k = decode_frame(d, f.id, f.flags & CANREC_EXT, f.data, f.len, out,
					     ARRAY_SIZE(out), NULL);
			for (int j = 0; j < k; j++)
				acc += out[j].value;
			values += (size_t)k;
		}
		p += ll + 1;
	}
	sink += acc;
	return values;
}

int main(int argc, char **argv)
{
	const struct dbc_signal *sigs[MAX_SIGS];
	size_t nsig = 0, nframes = 0, cap = 0, text_len = 0, text_lines = 0;
	struct can_frame_rec *frames = NULL;
	canlog_reader_t *rd = NULL;
	decoder_t *dec = NULL;
	dbc_t *dbc = NULL;
	char *text = NULL;
	int ret = 1;

	log_open("bench-decode", LOG_TO_STDERR, LOG_WARNING);
	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: bench-decode DBC LOG MSG.SIG[,MSG.SIG...] [PASSES]\n");
		return 2;
	}
	long passes = argc == 5 ? strtol(argv[4], NULL, 10) : 20;
	if (passes < 1)
		passes = 1;
	if (dbc_load(&dbc, argv[1]))
		goto out;
	for (char *s = argv[3], *e; s && *s && nsig < MAX_SIGS; s = e ? e + 1 : NULL) {
		e = strchr(s, ',');
		if (e)
			*e = '\0';
		sigs[nsig] = dbc_lookup(dbc, s);
		if (!sigs[nsig]) {
			fprintf(stderr, "bench-decode: %s: no such signal\n", s);
			goto out;
		}
		nsig++;
	}
	if (decoder_new_subset(&dec, dbc, sigs, NULL, nsig))
		goto out;

	/* frames into memory (binary path) and the raw text (text path) */
	if (canlog_open(&rd, argv[2]))
		goto out;
	for (;;) {
		if (nframes == cap) {
			cap = cap ? cap * 2 : 4096;
			struct can_frame_rec *nf = realloc(frames, cap * sizeof(*frames));
			if (!nf)
				goto out;
			frames = nf;
		}
		int r = canlog_next(rd, &frames[nframes]);
		if (r < 0)
			goto out;
		if (r == 0)
			break;
		nframes++;
	}
	FILE *f = fopen(argv[2], "re");
	if (!f)
		goto out;
	fseek(f, 0, SEEK_END);
	long sz = ftell(f);
	fseek(f, 0, SEEK_SET);
	text = malloc((size_t)sz + 1);
	if (!text || fread(text, 1, (size_t)sz, f) != (size_t)sz) {
		fclose(f);
		goto out;
	}
	fclose(f);
	text_len = (size_t)sz;
	for (size_t i = 0; i < text_len; i++)
		text_lines += text[i] == '\n';

	size_t values = bench_binary_pass(dec, frames, nframes);   /* warm-up */
	uint64_t t0 = now_ns();
	for (long i = 0; i < passes; i++)
		bench_binary_pass(dec, frames, nframes);
	uint64_t t1 = now_ns();
	double bin_ns = (double)(t1 - t0) / ((double)nframes * (double)passes);

	bench_text_pass(dec, text, text_len);
	t0 = now_ns();
	for (long i = 0; i < passes; i++)
		bench_text_pass(dec, text, text_len);
	t1 = now_ns();
	double text_ns = (double)(t1 - t0) / ((double)text_lines * (double)passes);

	bench_reader_pass(dec, argv[2]);
	t0 = now_ns();
	for (long i = 0; i < passes; i++)
		bench_reader_pass(dec, argv[2]);
	t1 = now_ns();
	double reader_ns = (double)(t1 - t0) / ((double)text_lines * (double)passes);

	printf("signals %zu\n", nsig);
	printf("frames %zu\n", nframes);
	printf("values_per_pass %zu\n", values);
	printf("binary_ns_per_frame %.2f\n", bin_ns);
	printf("binary_frames_per_s %.0f\n", 1e9 / bin_ns);
	printf("text_ns_per_line %.2f\n", text_ns);
	printf("text_lines_per_s %.0f\n", 1e9 / text_ns);
	printf("reader_ns_per_line %.2f\n", reader_ns);
	printf("reader_lines_per_s %.0f\n", 1e9 / reader_ns);
	ret = sink == 12345.6789 ? 3 : 0;   /* never true; uses the sink */
out:
	canlog_close(rd);
	free(frames);
	free(text);
	decoder_free(dec);
	dbc_free(dbc);
	return ret;
}
