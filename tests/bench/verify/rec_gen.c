/* eco2-rec-gen — write a chain of signed records as an export file, for
 * the record tests and benchmarks (built, never installed).
 *
 *   eco2-rec-gen --key URI [--pin PIN] [--count N] [--first-seq N]
 *                [--prev HEX] [--vin VIN] [--bad-co2 SEQ]
 *                [--resign SEQ=URI] [--forge SEQ=URI] [--bench] -o OUT
 *
 *   --key URI       the device key (file:PATH or pkcs11:..., crypto/signer.h)
 *   --count N       records to write (default 10); trips and every third a
 *                   charging session, with varying figures
 *   --first-seq N, --prev HEX  continue a chain (default 1 and 32 zero bytes)
 *   --bad-co2 SEQ   that record's co2_g is off by 50 g, signed by the key and
 *                   chained as usual: only the co2 check can see it
 *   --resign SEQ=URI  that record signed by another key, with that key's kid
 *   --forge SEQ=URI   that record signed by another key, claiming the
 *                   device's kid
 *   --bench         print "records_per_s=R n=N seconds=S" (encode + sign) on
 *                   stderr
 * The last record's SHA-256 goes to stderr as "last_hash=HEX".
 * Exit 0 done, 1 failed, 2 usage. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/co2.h"
#include "lib/log.h"
#include "crypto/cose.h"
#include "crypto/signer.h"

struct special {
	uint64_t seq;
	const char *uri;
	signer_t *s;
};

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || end == s || *end || s[0] == '-' ? -EINVAL : 0;
}

static int parse_special(char *arg, struct special *sp)
{
	char *eq = strchr(arg, '=');

	if (!eq)
		return -EINVAL;
	*eq = 0;
	sp->uri = eq + 1;
	return parse_u64(arg, &sp->seq);
}

static int parse_hex32(const char *h, uint8_t out[32])
{
	if (strlen(h) != 64)
		return -EINVAL;
	for (size_t i = 0; i < 32; i++) {
		unsigned v;

		if (sscanf(h + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* A plausible record: figures vary with seq but are reproducible. */
static void fill(struct eco2_record *r, const uint8_t kid[8], uint64_t seq,
		 const uint8_t prev[32], const char *vin)
{
	struct co2_params p;
	uint64_t x = seq * 0x9e3779b97f4a7c15ull;

	co2_params_from_config(&p, 169.056, 530.6, 0.90, 0.05);
	memset(r, 0, sizeof(*r));
	r->version = ECO2_RECORD_VERSION;
	memcpy(r->kid, kid, 8);
	r->seq = seq;
	memcpy(r->prev, prev, 32);
	r->type = seq % 3 == 0 ? ECO2_REC_CHARGE : ECO2_REC_TRIP;
	r->start_s = 1767225600 + (int64_t)seq * 7200;
	r->end_s = r->start_s + 600 + (int64_t)(x >> 52);
	r->odo_start_m = 10000000 + (int64_t)seq * 40000;
	if (r->type == ECO2_REC_TRIP) {
		r->distance_m = 1000 + (int64_t)((x >> 20) % 60000);
		r->discharge_wh = r->distance_m * 17 / 100 + 50;
		r->regen_wh = r->discharge_wh / 8;
		r->flags = (x >> 40) % 7 == 0 ? ECO2_FLAG_DATA_GAP : 0;
	} else {
		r->charged_wh = 5000 + (int64_t)((x >> 24) % 50000);
	}
	r->odo_end_m = r->odo_start_m + r->distance_m;
	snprintf(r->method, sizeof(r->method), "%s", CO2_METHOD_ID);
	r->baseline_mg_per_km = p.baseline_mg_per_km;
	r->grid_mg_per_kwh = p.grid_mg_per_kwh;
	r->charge_eff_permille = p.charge_eff_permille;
	r->td_loss_permille = p.td_loss_permille;
	if (vin) {
		r->has_vin = true;
		snprintf(r->vin, sizeof(r->vin), "%s", vin);
	}
	if (co2_avoided_g(&p, r->distance_m, r->discharge_wh, r->regen_wh, &r->co2_g))
		r->co2_g = 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr, "usage: eco2-rec-gen --key URI [--pin PIN] [--count N] [--first-seq N]\n"
		"       [--prev HEX] [--vin VIN] [--bad-co2 SEQ] [--resign SEQ=URI]\n"
		"       [--forge SEQ=URI] [--bench] -o OUT\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "pin", required_argument, NULL, 'P' },
		{ "count", required_argument, NULL, 'n' },
		{ "first-seq", required_argument, NULL, 'f' },
		{ "prev", required_argument, NULL, 'p' },
		{ "vin", required_argument, NULL, 'v' },
		{ "bad-co2", required_argument, NULL, 'c' },
		{ "resign", required_argument, NULL, 'r' },
		{ "forge", required_argument, NULL, 'F' },
		{ "bench", no_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	const char *key = NULL, *pin = NULL, *out_path = NULL, *vin = NULL;
	uint64_t count = 10, first = 1, bad_co2 = 0;
	struct special resign = { 0 }, forge = { 0 };
	uint8_t prev[32] = { 0 }, kid[8];
	signer_t *s = NULL;
	bool bench = false;
	FILE *out = NULL;
	double t0;
	int opt, status = 2;

	log_open("eco2-rec-gen", LOG_TO_STDERR, LOG_WARNING);
	while ((opt = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		int bad = 0;

		switch (opt) {
		case 'k': key = optarg; break;
		case 'P': pin = optarg; break;
		case 'o': out_path = optarg; break;
		case 'v': vin = optarg; break;
		case 'b': bench = true; break;
		case 'n': bad = parse_u64(optarg, &count); break;
		case 'f': bad = parse_u64(optarg, &first) || !first; break;
		case 'c': bad = parse_u64(optarg, &bad_co2); break;
		case 'p': bad = parse_hex32(optarg, prev); break;
		case 'r': bad = parse_special(optarg, &resign); break;
		case 'F': bad = parse_special(optarg, &forge); break;
		default: bad = 1; break;
		}
		if (bad) {
			usage();
			goto out;
		}
	}
	if (!key || !out_path || optind != argc) {
		usage();
		goto out;
	}
	status = 1;
	if (signer_open(&s, key, pin) ||
	    (resign.uri && signer_open(&resign.s, resign.uri, pin)) ||
	    (forge.uri && signer_open(&forge.s, forge.uri, pin)))
		goto out;
	signer_kid(s, kid);
	out = fopen(out_path, "wb");
	if (!out) {
		fprintf(stderr, "eco2-rec-gen: %s: %s\n", out_path, strerror(errno));
		goto out;
	}
	t0 = now_s();
	for (uint64_t seq = first; seq < first + count; seq++) {
		struct eco2_record r;
		uint8_t *rec = NULL;
		size_t len;
		int ret;

		fill(&r, kid, seq, prev, vin);
		if (seq == bad_co2)
			r.co2_g += 50;
		if (seq == resign.seq && resign.s) {
			signer_kid(resign.s, r.kid);
			ret = cose_record_encode(&r, resign.s, &rec, &len);
		} else if (seq == forge.seq && forge.s) {
			ret = cose_record_encode_with(&r, signer_alg(forge.s), kid,
						      cose_signer_sign_cb, forge.s, &rec, &len);
		} else {
			ret = cose_record_encode(&r, s, &rec, &len);
		}
		if (ret) {
			fprintf(stderr, "eco2-rec-gen: seq %" PRIu64 ": %s\n", seq, strerror(-ret));
			goto out;
		}
		if (fwrite(rec, 1, len, out) != len) {
			fprintf(stderr, "eco2-rec-gen: %s: write failed\n", out_path);
			free(rec);
			goto out;
		}
		cose_record_sha256(rec, len, prev);
		free(rec);
	}
	if (bench) {
		double dt = now_s() - t0;

		fprintf(stderr, "records_per_s=%.0f n=%" PRIu64 " seconds=%.3f\n",
			dt > 0 ? (double)count / dt : 0.0, count, dt);
	}
	if (fclose(out)) {
		out = NULL;
		fprintf(stderr, "eco2-rec-gen: %s: %s\n", out_path, strerror(errno));
		goto out;
	}
	out = NULL;
	fprintf(stderr, "last_hash=");
	for (int i = 0; i < 32; i++)
		fprintf(stderr, "%02x", prev[i]);
	fprintf(stderr, "\n");
	status = 0;
out:
	if (out)
		fclose(out);
	signer_close(s);
	signer_close(resign.s);
	signer_close(forge.s);
	return status;
}
