/* eco2-rec-gen — write a chain of signed records as an export file, for
 * the record tests and benchmarks (built, never installed).
 *
 *   eco2-rec-gen --key URI [--pin PIN] [--count N] [--first-seq N]
 *                [--prev HEX] [--vin VIN] [--version 1|2] [--bad-co2 SEQ]
 *                [--set SEQ:FIELD=V | SEQ:FIELD+=D | SEQ:FIELD-=D]...
 *                [--high-s SEQ] [--resign SEQ=URI] [--forge SEQ=URI]
 *                [--bench] -o OUT
 *
 *   --key URI       the device key (file:PATH or pkcs11:..., crypto/signer.h)
 *   --count N       records to write (default 10); trips and every third a
 *                   charging session, with varying figures that keep every
 *                   rule of crypto/rules.h (times and odometer spans follow
 *                   each other)
 *   --first-seq N, --prev HEX  continue a chain (default 1 and 32 zero bytes)
 *   --version V     record format 1 or 2 (default 2: odometer step 100 m,
 *                   software "eco2-rec-gen/1", a fixed profile hash)
 *   --bad-co2 SEQ   that record's co2_g is off by 50 g, signed by the key and
 *                   chained as usual: only the co2 check can see it
 *   --set SEQ:FIELD=V  that record's field (a struct eco2_record integer
 *                   field by its name: start_s, end_s, odo_start_m, ...,
 *                   flags, type, version, odo_step_m; or software, method,
 *                   vin) set, or moved by +=/-=, before co2_g is computed
 *                   (co2_g itself: after), signed and chained as usual
 *   --high-s SEQ    that ES256 record's signature in its high-S form
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
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/co2.h"
#include "lib/log.h"
#include "crypto/cose.h"
#include "crypto/es256.h"
#include "crypto/signer.h"

#define SETS_MAX 64

struct special {
	uint64_t seq;
	const char *uri;
	signer_t *s;
};

/* --set SEQ:FIELD=V, +=, -= */
struct set {
	uint64_t seq;
	char field[24];
	char op;               /* '=', '+', '-' */
	const char *value;
};

/* The integer fields --set reaches, by name. */
static int64_t *int_field(struct eco2_record *r, const char *name)
{
	static const struct {
		const char *name;
		size_t off;
	} f[] = {
#define I(x) { #x, offsetof(struct eco2_record, x) }
		I(start_s), I(end_s), I(odo_start_m), I(odo_end_m), I(distance_m),
		I(discharge_wh), I(regen_wh), I(co2_g), I(baseline_mg_per_km),
		I(grid_mg_per_kwh), I(charge_eff_permille), I(td_loss_permille),
		I(charged_wh), I(odo_step_m),
#undef I
	};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (!strcmp(name, f[i].name))
			return (int64_t *)((char *)r + f[i].off);
	return NULL;
}

static int parse_set(char *arg, struct set *st)
{
	char *colon = strchr(arg, ':'), *eq;

	if (!colon)
		return -EINVAL;
	*colon = 0;
	eq = strchr(colon + 1, '=');
	if (!eq || eq == colon + 1)
		return -EINVAL;
	st->op = '=';
	if (eq[-1] == '+' || eq[-1] == '-') {
		st->op = eq[-1];
		eq[-1] = 0;
	}
	*eq = 0;
	if (strlen(colon + 1) >= sizeof(st->field))
		return -EINVAL;
	snprintf(st->field, sizeof(st->field), "%s", colon + 1);
	st->value = eq + 1;
	errno = 0;
	st->seq = strtoull(arg, &colon, 10);
	return errno || *colon ? -EINVAL : 0;
}

/* Apply one --set to r; false when the field or value is not known. */
static bool apply_set(struct eco2_record *r, const struct set *st)
{
	int64_t *v = int_field(r, st->field);
	long long x;
	char *end;

	if (!strcmp(st->field, "software") || !strcmp(st->field, "method") ||
	    !strcmp(st->field, "vin")) {
		if (st->op != '=')
			return false;
		if (!strcmp(st->field, "software"))
			snprintf(r->software, sizeof(r->software), "%s", st->value);
		else if (!strcmp(st->field, "method"))
			snprintf(r->method, sizeof(r->method), "%s", st->value);
		else
			r->has_vin = snprintf(r->vin, sizeof(r->vin), "%s", st->value) > 0;
		return true;
	}
	errno = 0;
	x = strtoll(st->value, &end, 0);
	if (errno || *end || end == st->value)
		return false;
	if (!strcmp(st->field, "flags"))
		r->flags = st->op == '=' ? (uint64_t)x : st->op == '+' ? r->flags | (uint64_t)x :
			   r->flags & ~(uint64_t)x;
	else if (!strcmp(st->field, "type"))
		r->type = (uint32_t)x;
	else if (!strcmp(st->field, "version"))
		r->version = (uint32_t)x;
	else if (v)
		*v = st->op == '=' ? x : st->op == '+' ? *v + x : *v - x;
	else
		return false;
	return true;
}

/* ES256: replace s by n - s (the high form of a low one). */
struct high_ctx {
	signer_t *s;
	bool high;
};

static int sign_high(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[SIGNER_SIG_LEN])
{
	struct high_ctx *h = ctx;
	int ret = signer_sign(h->s, msg, len, sig);

	if (ret || !h->high || !es256_s_is_low(sig))
		return ret;
	return es256_other_s(sig);
}

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

/* A plausible record: figures vary with seq but are reproducible. Trips
 * drive at most 61 km at 43 km/h and more, two hours apart; odometer
 * spans 100 km apart: every rule of crypto/rules.h holds. */
static void fill(struct eco2_record *r, const uint8_t kid[8], uint64_t seq,
		 const uint8_t prev[32], const char *vin, unsigned version)
{
	struct co2_params p;
	uint64_t x = seq * 0x9e3779b97f4a7c15ull;
	static const char profile[] = "eco2-rec-gen test profile\n";

	co2_params_from_config(&p, 169.056, 530.6, 0.90, 0.05);
	memset(r, 0, sizeof(*r));
	r->version = version;
	memcpy(r->kid, kid, 8);
	r->seq = seq;
	memcpy(r->prev, prev, 32);
	r->type = seq % 3 == 0 ? ECO2_REC_CHARGE : ECO2_REC_TRIP;
	r->start_s = 1767225600 + (int64_t)seq * 7200;
	r->odo_start_m = 10000000 + (int64_t)seq * 100000;
	if (r->type == ECO2_REC_TRIP) {
		r->distance_m = 1000 + (int64_t)((x >> 20) % 60000);
		r->discharge_wh = r->distance_m * 17 / 100 + 50;
		r->regen_wh = r->discharge_wh / 8;
		r->flags = (x >> 40) % 7 == 0 ? ECO2_FLAG_DATA_GAP : 0;
		r->end_s = r->start_s + 300 + r->distance_m / 12 + (int64_t)(x >> 56);
	} else {
		r->charged_wh = 5000 + (int64_t)((x >> 24) % 50000);
		r->end_s = r->start_s + 600 + (int64_t)(x >> 52);
	}
	r->odo_end_m = r->odo_start_m + r->distance_m;
	if (version >= 2) {
		r->odo_step_m = 100;
		snprintf(r->software, sizeof(r->software), "eco2-rec-gen/1");
		cose_profile_sha256(profile, sizeof(profile) - 1, "", 0, r->profile_sha256);
	}
	snprintf(r->method, sizeof(r->method), "%s", CO2_METHOD_ID);
	r->baseline_mg_per_km = p.baseline_mg_per_km;
	r->grid_mg_per_kwh = p.grid_mg_per_kwh;
	r->charge_eff_permille = p.charge_eff_permille;
	r->td_loss_permille = p.td_loss_permille;
	if (vin) {
		r->has_vin = true;
		snprintf(r->vin, sizeof(r->vin), "%s", vin);
	}
	r->co2_g = 0;
}

/* co2_g from the record's own figures (0 for a charging session, or when
 * they cannot be computed with). */
static void recompute(struct eco2_record *r)
{
	struct co2_params p = { r->baseline_mg_per_km, r->grid_mg_per_kwh,
				r->charge_eff_permille, r->td_loss_permille };

	r->co2_g = 0;
	if (r->type == ECO2_REC_TRIP &&
	    co2_avoided_g(&p, r->distance_m, r->discharge_wh, r->regen_wh, &r->co2_g))
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
		"       [--prev HEX] [--vin VIN] [--version 1|2] [--bad-co2 SEQ]\n"
		"       [--set SEQ:FIELD=V|+=D|-=D]... [--high-s SEQ] [--resign SEQ=URI]\n"
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
		{ "version", required_argument, NULL, 'V' },
		{ "set", required_argument, NULL, 's' },
		{ "high-s", required_argument, NULL, 'S' },
		{ "bench", no_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	const char *key = NULL, *pin = NULL, *out_path = NULL, *vin = NULL;
	uint64_t count = 10, first = 1, bad_co2 = 0, version = ECO2_RECORD_VERSION, high_s = 0;
	struct special resign = { 0 }, forge = { 0 };
	struct set sets[SETS_MAX];
	size_t n_sets = 0;
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
		case 'V': bad = parse_u64(optarg, &version) || version < 1 || version > 2; break;
		case 'S': bad = parse_u64(optarg, &high_s); break;
		case 's': bad = n_sets == SETS_MAX || parse_set(optarg, &sets[n_sets++]); break;
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

		fill(&r, kid, seq, prev, vin, (unsigned)version);
		for (size_t i = 0; i < n_sets; i++)
			if (sets[i].seq == seq && strcmp(sets[i].field, "co2_g") &&
			    !apply_set(&r, &sets[i])) {
				fprintf(stderr, "eco2-rec-gen: --set %s: unknown field or value\n",
					sets[i].field);
				goto out;
			}
		recompute(&r);
		for (size_t i = 0; i < n_sets; i++)
			if (sets[i].seq == seq && !strcmp(sets[i].field, "co2_g"))
				(void)apply_set(&r, &sets[i]);
		if (seq == bad_co2)
			r.co2_g += 50;
		if (seq == high_s) {
			struct high_ctx h = { s, signer_alg(s) == COSE_ALG_ES256 };

			ret = cose_record_encode_with(&r, signer_alg(s), kid, sign_high, &h, &rec, &len);
		} else if (seq == resign.seq && resign.s) {
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
