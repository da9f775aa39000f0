/* upload-fill — appends chained test records to a store (tests, benches).
 *
 *   upload-fill --db FILE --count N [--batch B] [--size BYTES]
 *               [--max-bytes QUOTA] [--forever] [--key URI] [--variant N]
 *
 * With --key (file:PATH or pkcs11:...) each record is a real signed trip
 * record (crypto/cose.h) with a CO2 figure that follows from its fields,
 * chained by SHA-256 of the previous record; --variant N shifts every
 * start time by N seconds (another chain by the same key: a fork). Without it, each record is
 * opaque test bytes: "ECO2TEST" | seq (8 bytes, big
 * endian) | prev hash (32) | filler up to --size (default 200) bytes; its
 * hash is SHA-256 of those bytes (libsodium). B records go in one
 * transaction (default 1: one durable commit per record). --forever keeps
 * appending until killed (crash tests). Prints records/s on stdout.
 * Exit 0, or 1 with the queue's error (ENOSPC is reported as "store full"). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "crypto/co2.h"
#include "lib/log.h"
#include "crypto/cose.h"
#include "crypto/signer.h"
#include "upload/queue.h"

struct fill {
	size_t size;
	signer_t *signer;
	int64_t variant;     /* shifts start_s: a different chain by one key */
	uint8_t kid[8];
	struct co2_params co2;
};

static int make_signed(uint64_t seq, const uint8_t prev[QUEUE_HASH_LEN], struct fill *f,
		       uint8_t **bytes, size_t *len, uint8_t hash[QUEUE_HASH_LEN])
{
	struct eco2_record r = { 0 };
	int ret;

	r.version = ECO2_RECORD_VERSION;
	memcpy(r.kid, f->kid, 8);
	r.seq = seq;
	memcpy(r.prev, prev, 32);
	r.type = ECO2_REC_TRIP;
	r.start_s = 1767225600 + (int64_t)seq * 3600 + f->variant;
	r.end_s = r.start_s + 1800;
	r.distance_m = 10000 + (int64_t)(seq % 977) * 13;
	r.odo_start_m = 1000000 + (int64_t)seq * 25000;   /* spans never overlap */
	r.odo_end_m = r.odo_start_m + r.distance_m;
	r.discharge_wh = 1500 + (int64_t)(seq % 311);
	r.regen_wh = 200 + (int64_t)(seq % 53);
	snprintf(r.method, sizeof(r.method), "%s", CO2_METHOD_ID);
	r.baseline_mg_per_km = f->co2.baseline_mg_per_km;
	r.grid_mg_per_kwh = f->co2.grid_mg_per_kwh;
	r.charge_eff_permille = f->co2.charge_eff_permille;
	r.td_loss_permille = f->co2.td_loss_permille;
	r.odo_step_m = 100;
	snprintf(r.software, sizeof(r.software), "upload-fill/1");
	ret = co2_avoided_g(&f->co2, r.distance_m, r.discharge_wh, r.regen_wh, &r.co2_g);
	if (ret)
		return ret;
	ret = cose_record_encode(&r, f->signer, bytes, len);
	if (ret)
		return ret;
	cose_record_sha256(*bytes, *len, hash);
	return 0;
}

static int make(uint64_t seq, const uint8_t prev[QUEUE_HASH_LEN], void *ctx,
		uint8_t **bytes, size_t *len, uint8_t hash[QUEUE_HASH_LEN])
{
	struct fill *f = ctx;
	size_t n = f->size < 48 ? 48 : f->size;
	uint8_t *b;

	if (f->signer)
		return make_signed(seq, prev, f, bytes, len, hash);
	b = malloc(n);

	if (!b)
		return -ENOMEM;
	memcpy(b, "ECO2TEST", 8);
	for (int i = 0; i < 8; i++)
		b[8 + i] = (uint8_t)(seq >> (56 - 8 * i));
	memcpy(b + 16, prev, QUEUE_HASH_LEN);
	for (size_t i = 48; i < n; i++)
		b[i] = (uint8_t)(seq * 31 + i);
	crypto_hash_sha256(hash, b, n);
	*bytes = b;
	*len = n;
	return 0;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "db", 1, NULL, 'd' }, { "count", 1, NULL, 'n' }, { "batch", 1, NULL, 'b' },
		{ "size", 1, NULL, 's' }, { "max-bytes", 1, NULL, 'q' },
		{ "forever", 0, NULL, 'f' }, { "key", 1, NULL, 'k' },
		{ "variant", 1, NULL, 'V' }, { 0 },
	};
	struct fill f = { .size = 200 };
	struct queue_opts qo = { 0 };
	const char *db = NULL, *key = NULL;
	unsigned long long count = 0, batch = 1, done = 0;
	bool forever = false;
	queue_t *q = NULL;
	double t0;
	int c, ret;
	char *end;

	log_open("upload-fill", LOG_TO_STDERR, LOG_INFO);
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		unsigned long long v = 0;

		if (c != 'd' && c != 'f' && c != 'k' && c != '?') {
			errno = 0;
			v = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end) {
				fprintf(stderr, "upload-fill: %s: expected a number\n", optarg);
				return 2;
			}
		}
		switch (c) {
		case 'd': db = optarg; break;
		case 'n': count = v; break;
		case 'b': batch = v ? v : 1; break;
		case 's': f.size = (size_t)v; break;
		case 'q': qo.max_bytes = (int64_t)v; break;
		case 'f': forever = true; break;
		case 'k': key = optarg; break;
		case 'V': f.variant = (int64_t)v; break;
		default:
			fprintf(stderr, "usage: upload-fill --db FILE --count N [--batch B] [--size BYTES] "
				"[--max-bytes QUOTA] [--forever] [--key URI] [--variant N]\n");
			return 2;
		}
	}
	if (!db || (!count && !forever) || sodium_init() < 0) {
		fprintf(stderr, "upload-fill: --db and --count (or --forever) are required\n");
		return 2;
	}
	if (key) {
		if (signer_open(&f.signer, key, NULL))
			return 1;
		signer_kid(f.signer, f.kid);
		co2_params_from_config(&f.co2, 169.056, 530.6, 0.90, 0.0);
	}
	ret = queue_open(&q, db, &qo);
	if (ret) {
		signer_close(f.signer);
		return 1;
	}
	t0 = mono_s();
	while (forever || done < count) {
		size_t n = 0;
		unsigned long long want = batch;

		if (!forever && count - done < want)
			want = count - done;
		ret = queue_append_batch(q, make, &f, (size_t)want, &n);
		if (ret) {
			fprintf(stderr, "upload-fill: %s after %llu records\n",
				ret == -ENOSPC ? "store full" : strerror(-ret), done);
			queue_close(q);
			signer_close(f.signer);
			return 1;
		}
		done += n;
	}
	{
		double dt = mono_s() - t0;

		printf("upload-fill: %llu records in %.3f s: %.0f records/s (batch %llu)\n",
		       done, dt, dt > 0 ? done / dt : 0.0, batch);
	}
	queue_close(q);
	signer_close(f.signer);
	return 0;
}
