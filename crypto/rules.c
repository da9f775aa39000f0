/* rules — every rule a record's content keeps (docs/record-format.md §5). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/compiler.h"
#include "lib/isotime.h"
#include "crypto/co2.h"
#include "crypto/cose.h"
#include "crypto/es256.h"
#include "crypto/rules.h"
#include "crypto/signer.h"

#define F(x) ECO2_FLAG_##x
#define ODO_EXCUSE   (F(ODO_ROLLBACK) | F(ODO_WRAP))
#define DIST_EXCUSE  (F(ODO_ROLLBACK) | F(ODO_JUMP) | F(ODO_STUCK) | F(ODO_WRAP))
#define CLOCK_EXCUSE (F(CLOCK_JUMP) | F(CLOCK_STUCK))

/* The one table: id, rule, severity in version 1 and 2, excusing flags.
 * docs/record-format.md §5 is this table in prose (test_rules checks that
 * every id here appears there). */
static const struct rules_info table[] = {
	{ "sig.low_s", "an ES256 signature's s is at most n/2 (the one byte form)",
	  RULES_WARN, RULES_FAIL, 0 },
	{ "range.time", "start_s and end_s lie in 0 .. 253402300799 (year 9999)",
	  RULES_FAIL, RULES_FAIL, 0 },
	{ "range.odometer", "odo_start_m and odo_end_m lie in 0 .. 10^11 m",
	  RULES_FAIL, RULES_FAIL, 0 },
	{ "range.distance", "distance_m lies in 0 .. 10^7 m",
	  RULES_FAIL, RULES_FAIL, 0 },
	{ "range.energy", "discharge_wh, regen_wh and charged_wh lie in 0 .. 10^7 Wh",
	  RULES_FAIL, RULES_FAIL, 0 },
	{ "range.params", "baseline and grid factors lie in 0 .. 10^7 mg, efficiency in 1 .. 1000 and T&D loss in 0 .. 1000 per mille",
	  RULES_FAIL, RULES_FAIL, 0 },
	{ "range.odo_step", "odo_step_m lies in 1 .. 2000 m",
	  RULES_OK, RULES_FAIL, 0 },
	{ "software", "the software id is 1 to 47 printable ASCII characters",
	  RULES_OK, RULES_FAIL, 0 },
	{ "vin", "a VIN is 17 characters of ISO 3779 (digits, capitals but I, O, Q)",
	  RULES_WARN, RULES_WARN, 0 },
	{ "flags.reserved", "flag bits 14 and up are zero",
	  RULES_WARN, RULES_FAIL, 0 },
	{ "method", "the methodology is one this verifier knows (eco2-ev-v1)",
	  RULES_FAIL, RULES_FAIL, 0 },
	{ "co2", "a trip's co2_g is exactly what the methodology gives from its fields",
	  RULES_FAIL, RULES_FAIL, 0 },
	{ "charge.fields", "a charging session has no distance, no driving energy and co2_g 0",
	  RULES_FAIL, RULES_FAIL, 0 },
	{ "time.order", "a record does not end before it starts",
	  RULES_FAIL, RULES_FAIL, 0 },
	{ "odo.order", "the odometer does not go back within a record",
	  RULES_FAIL, RULES_FAIL, ODO_EXCUSE },
	{ "odo.distance_over", "distance_m is at most the odometer span plus one odometer step",
	  RULES_WARN, RULES_FAIL, DIST_EXCUSE },
	{ "odo.distance_short", "distance_m is at least the odometer span minus one odometer step",
	  RULES_WARN, RULES_WARN, DIST_EXCUSE },
	{ "speed", "the average speed is at most 300 km/h",
	  RULES_WARN, RULES_WARN, CLOCK_EXCUSE },
	{ "energy.net", "a trip regenerates no more energy than it draws",
	  RULES_WARN, RULES_WARN, 0 },
	{ "chain.time", "a record starts at or after the previous one ends",
	  RULES_WARN, RULES_FAIL, CLOCK_EXCUSE },
	{ "chain.odo_back", "the odometer does not go back from one record to the next",
	  RULES_WARN, RULES_FAIL, ODO_EXCUSE },
	{ "chain.odo_twice", "no odometer span is claimed by two records",
	  RULES_WARN, RULES_FAIL, ODO_EXCUSE },
};

/* What each flag means for the credit (docs/methodology.md §8). */
static const char *const flag_meaning[ECO2_FLAG_BITS] = {
	"an odometer reading went back and was ignored: no negative distance is counted",
	"an odometer step too fast to be true was ignored: no absurd distance is counted",
	"the odometer did not move while the vehicle did: that stretch is measured by speed",
	"a signal went silent: the energy of the gap is missing, not invented (the credit may be too high)",
	"the wall clock stepped: start_s is in the new time base, the duration is true",
	"frames were lost: short holes were bridged by the trapezoid rule",
	"the bus reported errors: figures may be incomplete",
	"the trip continued from a checkpoint after a restart: distance is whole within one step",
	"the odometer counter wrapped and was unwrapped: distance is exact",
	"no energy signal: energy is 0, so the credit counts the baseline only (too high)",
	"no odometer: distance comes from the speed alone",
	"ended by the end of a log or a shutdown: the trip may continue in the next record",
	"the device's saved state failed its check: this record starts afresh after the break",
	"frame times did not advance: durations and energy may be wrong",
};

void rules_result_init(struct rules_result *res)
{
	memset(res, 0, sizeof(*res));
}

const struct rules_finding *rules_first_fail(const struct rules_result *res)
{
	for (unsigned i = 0; i < res->n; i++)
		if (res->f[i].sev == RULES_FAIL)
			return &res->f[i];
	return NULL;
}

const struct rules_info *rules_table(size_t *n)
{
	*n = ARRAY_SIZE(table);
	return table;
}

const struct rules_info *rules_find(const char *id)
{
	for (size_t i = 0; i < ARRAY_SIZE(table); i++)
		if (!strcmp(table[i].id, id))
			return &table[i];
	return NULL;
}

const char *rules_flag_meaning(unsigned bit)
{
	return bit < ECO2_FLAG_BITS ? flag_meaning[bit] : NULL;
}

bool rules_has_odometer(const struct eco2_record *r)
{
	return !(r->flags & ECO2_FLAG_NO_ODOMETER);
}

/* The names of the flags in mask set in r, "odo_rollback, odo_wrap". */
static void flag_list(uint64_t mask, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (unsigned b = 0; b < ECO2_FLAG_BITS && off < len; b++)
		if (mask & (UINT64_C(1) << b)) {
			int k = snprintf(buf + off, len - off, "%s%s", off ? ", " : "",
					 record_flag_name(b));
			if (k < 0)
				break;
			off += (size_t)k;
		}
}

/* Note that rule `id` is broken for record r: its severity for r's
 * version, turned into a warning when one of the rule's excusing flags
 * is set. A rule that does not apply to the version notes nothing. */
static enum rules_sev broken(struct rules_result *res, const struct eco2_record *r,
			     const char *id, const char *fmt, ...) __printf(4, 5);
static enum rules_sev broken(struct rules_result *res, const struct eco2_record *r,
			     const char *id, const char *fmt, ...)
{
	const struct rules_info *ri = rules_find(id);
	struct rules_finding *f;
	enum rules_sev sev;
	uint64_t why = 0;
	va_list ap;
	size_t off;

	if (!ri)
		return RULES_OK;
	sev = r->version >= 2 ? ri->v2 : ri->v1;
	if (sev == RULES_OK)
		return RULES_OK;
	why = r->flags & ri->excused_by;
	if (why)
		sev = RULES_WARN;
	if (sev == RULES_FAIL)
		res->n_fail++;
	else
		res->n_warn++;
	if (res->n == RULES_FINDINGS_MAX) {
		/* Keep the failures: a warning makes room for a failure. */
		unsigned i;

		if (sev != RULES_FAIL)
			return sev;
		for (i = RULES_FINDINGS_MAX; i-- > 0;)
			if (res->f[i].sev != RULES_FAIL)
				break;
		if (i >= RULES_FINDINGS_MAX)
			return sev;
		memmove(&res->f[i], &res->f[i + 1], (res->n - i - 1) * sizeof(res->f[0]));
		res->n--;
	}
	f = &res->f[res->n++];
	f->rule = ri->id;
	f->sev = sev;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
	if (why) {
		char names[96];

		flag_list(why, names, sizeof(names));
		off = strlen(f->msg);
		snprintf(f->msg + off, sizeof(f->msg) - off, " (explained by %s)", names);
	}
	return sev;
}

static bool in(int64_t v, int64_t lo, int64_t hi)
{
	return v >= lo && v <= hi;
}

static enum rules_sev worst(enum rules_sev a, enum rules_sev b)
{
	return a > b ? a : b;
}

/* ISO 3779: 17 of 0-9 and A-Z but I, O and Q. */
static bool vin_ok(const char *v)
{
	size_t n = strlen(v);

	for (size_t i = 0; i < n; i++) {
		char c = v[i];

		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')) ||
		    c == 'I' || c == 'O' || c == 'Q')
			return false;
	}
	return n == 17;
}

static bool software_ok(const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return n >= 1 && n <= ECO2_SOFTWARE_MAX - 1;
}

/* *numbers_ok: every figure within its range (later rules may add and
 * multiply them); *computable: co2_g can be recomputed. */
static enum rules_sev check_ranges(const struct eco2_record *r, struct rules_result *res,
				   bool *numbers_ok, bool *computable)
{
	enum rules_sev w = RULES_OK;

	*computable = true;
	*numbers_ok = in(r->start_s, 0, RULES_TIME_MAX_S) && in(r->end_s, 0, RULES_TIME_MAX_S) &&
		      in(r->odo_start_m, 0, RULES_ODO_MAX_M) && in(r->odo_end_m, 0, RULES_ODO_MAX_M) &&
		      in(r->distance_m, 0, RULES_DISTANCE_MAX_M) &&
		      (r->version < 2 || in(r->odo_step_m, 1, RULES_ODO_STEP_MAX_M));
	if (!in(r->start_s, 0, RULES_TIME_MAX_S) || !in(r->end_s, 0, RULES_TIME_MAX_S))
		w = worst(w, broken(res, r, "range.time",
				    "start_s %" PRId64 " or end_s %" PRId64 " outside 0 .. %" PRId64,
				    r->start_s, r->end_s, RULES_TIME_MAX_S));
	if (!in(r->odo_start_m, 0, RULES_ODO_MAX_M) || !in(r->odo_end_m, 0, RULES_ODO_MAX_M))
		w = worst(w, broken(res, r, "range.odometer",
				    "odometer %" PRId64 " .. %" PRId64 " m outside 0 .. %" PRId64 " m",
				    r->odo_start_m, r->odo_end_m, RULES_ODO_MAX_M));
	if (!in(r->distance_m, 0, RULES_DISTANCE_MAX_M)) {
		*computable = false;
		w = worst(w, broken(res, r, "range.distance",
				    "distance %" PRId64 " m outside 0 .. %" PRId64 " m",
				    r->distance_m, RULES_DISTANCE_MAX_M));
	}
	if (!in(r->discharge_wh, 0, RULES_ENERGY_MAX_WH) || !in(r->regen_wh, 0, RULES_ENERGY_MAX_WH) ||
	    !in(r->charged_wh, 0, RULES_ENERGY_MAX_WH)) {
		*computable = false;
		w = worst(w, broken(res, r, "range.energy",
				    "energy out %" PRId64 ", regen %" PRId64 " or charged %" PRId64
				    " Wh outside 0 .. %" PRId64 " Wh",
				    r->discharge_wh, r->regen_wh, r->charged_wh, RULES_ENERGY_MAX_WH));
	}
	if (!in(r->baseline_mg_per_km, 0, RULES_FACTOR_MAX) ||
	    !in(r->grid_mg_per_kwh, 0, RULES_FACTOR_MAX) ||
	    !in(r->charge_eff_permille, 1, 1000) || !in(r->td_loss_permille, 0, 1000)) {
		*computable = false;
		w = worst(w, broken(res, r, "range.params",
				    "parameters out of range: baseline %" PRId64 " mg/km, grid %" PRId64
				    " mg/kWh, efficiency %" PRId64 ", T&D loss %" PRId64 " per mille",
				    r->baseline_mg_per_km, r->grid_mg_per_kwh,
				    r->charge_eff_permille, r->td_loss_permille));
	}
	if (r->version >= 2 && !in(r->odo_step_m, 1, RULES_ODO_STEP_MAX_M))
		w = worst(w, broken(res, r, "range.odo_step",
				    "odo_step_m %" PRId64 " outside 1 .. %d m",
				    r->odo_step_m, RULES_ODO_STEP_MAX_M));
	if (r->version >= 2 && !software_ok(r->software))
		w = worst(w, broken(res, r, "software",
				    "software id \"%.47s\" is not 1 to 47 printable ASCII characters",
				    r->software));
	if (r->has_vin && !vin_ok(r->vin))
		w = worst(w, broken(res, r, "vin", "VIN \"%.17s\" is not 17 ISO 3779 characters",
				    r->vin));
	if (r->flags >> ECO2_FLAG_BITS)
		w = worst(w, broken(res, r, "flags.reserved",
				    "reserved flag bits set (0x%" PRIx64 ")",
				    r->flags & ~((UINT64_C(1) << ECO2_FLAG_BITS) - 1)));
	return w;
}

static enum rules_sev check_co2(const struct eco2_record *r, struct rules_result *res,
				bool computable)
{
	struct co2_params p = {
		.baseline_mg_per_km = r->baseline_mg_per_km,
		.grid_mg_per_kwh = r->grid_mg_per_kwh,
		.charge_eff_permille = r->charge_eff_permille,
		.td_loss_permille = r->td_loss_permille,
	};
	int64_t g;

	if (!co2_method_known(r->method))
		return broken(res, r, "method", "methodology \"%s\" unknown: co2_g cannot be recomputed",
			      r->method);
	if (r->type != ECO2_REC_TRIP)
		return RULES_OK;      /* charge.fields: co2_g is 0 */
	if (!computable || co2_avoided_g(&p, r->distance_m, r->discharge_wh, r->regen_wh, &g))
		return broken(res, r, "co2",
			      "co2_g cannot be recomputed: distance, energy or parameters out of range");
	if (g != r->co2_g)
		return broken(res, r, "co2",
			      "co2_g %" PRId64 " does not follow from the record's fields (they give %" PRId64 ")",
			      r->co2_g, g);
	return RULES_OK;
}

/* distance against the odometer span, within one step either way. */
static enum rules_sev check_distance(const struct eco2_record *r, struct rules_result *res)
{
	int64_t step = r->version >= 2 ? r->odo_step_m : RULES_V1_ODO_STEP_M;
	int64_t span = r->odo_end_m - r->odo_start_m;   /* both in range: no overflow */
	enum rules_sev w = RULES_OK;

	/* Without an odometer there is no span: no_odometer says so. */
	if (r->type != ECO2_REC_TRIP || !rules_has_odometer(r))
		return RULES_OK;
	if (r->distance_m > span + step)
		w = worst(w, broken(res, r, "odo.distance_over",
				    "distance %" PRId64 " m exceeds the odometer span %" PRId64
				    " m by more than one step (%" PRId64 " m)", r->distance_m, span, step));
	else if (r->distance_m < span - step)
		w = worst(w, broken(res, r, "odo.distance_short",
				    "distance %" PRId64 " m is short of the odometer span %" PRId64
				    " m by more than one step (%" PRId64 " m)", r->distance_m, span, step));
	return w;
}

enum rules_sev rules_check_record(const struct eco2_record *r, struct rules_result *res)
{
	enum rules_sev w;
	bool computable, numbers_ok;
	char a[ISO_UTC_LEN], b[ISO_UTC_LEN];

	w = check_ranges(r, res, &numbers_ok, &computable);
	w = worst(w, check_co2(r, res, computable));
	if (r->type == ECO2_REC_CHARGE &&
	    (r->distance_m || r->discharge_wh || r->regen_wh || r->co2_g))
		w = worst(w, broken(res, r, "charge.fields",
				    "a charging session with distance %" PRId64 " m, energy out %" PRId64
				    " Wh, regen %" PRId64 " Wh, co2_g %" PRId64 " (all must be 0)",
				    r->distance_m, r->discharge_wh, r->regen_wh, r->co2_g));
	if (r->end_s < r->start_s) {
		iso_utc(r->start_s, a);
		iso_utc(r->end_s, b);
		w = worst(w, broken(res, r, "time.order", "ends (%s) before it starts (%s)", b, a));
	}
	/* The odometer and speed rules read figures only once they are in
	 * range (no overflow); records without an odometer skip them. */
	if (!numbers_ok)
		return w;
	if (rules_has_odometer(r) && r->odo_end_m < r->odo_start_m)
		w = worst(w, broken(res, r, "odo.order",
				    "odometer goes back within the record, %" PRId64 " m to %" PRId64 " m",
				    r->odo_start_m, r->odo_end_m));
	w = worst(w, check_distance(r, res));
	if (r->end_s >= r->start_s) {
		/* metres in (duration + 1) s at the top speed, plus a step for
		 * the odometer's quantisation; seconds are truncated. */
		int64_t lim = (r->end_s - r->start_s + 1) * RULES_SPEED_MAX_KMH * 1000 / 3600 +
			      (r->version >= 2 ? r->odo_step_m : RULES_V1_ODO_STEP_M);

		if (r->distance_m > lim)
			w = worst(w, broken(res, r, "speed",
					    "%" PRId64 " m in %" PRId64 " s is faster than %d km/h",
					    r->distance_m, r->end_s - r->start_s, RULES_SPEED_MAX_KMH));
	}
	if (r->type == ECO2_REC_TRIP && r->regen_wh > r->discharge_wh)
		w = worst(w, broken(res, r, "energy.net",
				    "regenerated %" PRId64 " Wh, more than the %" PRId64
				    " Wh drawn (a downhill trip: its net energy counts as negative)",
				    r->regen_wh, r->discharge_wh));
	return w;
}

enum rules_sev rules_check_signature(const struct eco2_record *r, int alg,
				     const uint8_t sig[64], struct rules_result *res)
{
	if (alg != COSE_ALG_ES256 || es256_s_is_low(sig))
		return RULES_OK;
	return broken(res, r, "sig.low_s",
		      "ES256 signature in its high-S form (s > n/2): the record has a second byte form");
}

enum rules_sev rules_check_follow(const struct eco2_record *prev,
				  const struct eco2_record *cur, struct rules_result *res)
{
	enum rules_sev w = RULES_OK;
	char a[ISO_UTC_LEN], b[ISO_UTC_LEN];

	if (cur->start_s < prev->end_s) {
		iso_utc(prev->end_s, a);
		iso_utc(cur->start_s, b);
		w = worst(w, broken(res, cur, "chain.time",
				    "starts (%s) before seq %" PRIu64 " ends (%s)", b, prev->seq, a));
	}
	if (!rules_has_odometer(prev) || !rules_has_odometer(cur) ||
	    !in(prev->odo_start_m, 0, RULES_ODO_MAX_M) || !in(prev->odo_end_m, 0, RULES_ODO_MAX_M) ||
	    !in(cur->odo_start_m, 0, RULES_ODO_MAX_M) || !in(cur->odo_end_m, 0, RULES_ODO_MAX_M))
		return w;
	if (cur->odo_start_m < prev->odo_end_m) {
		int64_t lo = cur->odo_start_m > prev->odo_start_m ? cur->odo_start_m : prev->odo_start_m;
		int64_t hi = cur->odo_end_m < prev->odo_end_m ? cur->odo_end_m : prev->odo_end_m;

		if (lo < hi)
			w = worst(w, broken(res, cur, "chain.odo_twice",
					    "odometer span %" PRId64 " .. %" PRId64 " m already claimed by seq %"
					    PRIu64 " (%" PRId64 " .. %" PRId64 " m)", lo, hi, prev->seq,
					    prev->odo_start_m, prev->odo_end_m));
		else
			w = worst(w, broken(res, cur, "chain.odo_back",
					    "odometer goes back from %" PRId64 " m (end of seq %" PRIu64
					    ") to %" PRId64 " m", prev->odo_end_m, prev->seq,
					    cur->odo_start_m));
	}
	return w;
}
