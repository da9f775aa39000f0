/* report — eco2-verify's findings as text, JSON and one HTML page. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "lib/bytes.h"
#include "lib/isotime.h"
#include "crypto/approved.h"
#include "crypto/cbor.h"
#include "crypto/cose.h"
#include "crypto/report.h"
#include "crypto/rules.h"

#define SETS_MAX 1024            /* distinct parameter sets, VINs, origins */
#define FLAGGED_HTML_MAX 5000    /* flagged records listed in the HTML page */
#define PROGRESS_EVERY 4096

struct note {
	uint64_t seq;
	size_t order;
	char code[24];
	char *reason;
};

struct notes {
	struct note *v;
	size_t n, cap, total;
};

struct pset {
	char method[ECO2_METHOD_MAX];
	int64_t baseline_mg_per_km, grid_mg_per_kwh, charge_eff_permille, td_loss_permille;
	size_t rows, counted, approved, refused;
	uint64_t first_seq, last_seq;
};

struct origin {
	uint8_t version;
	char software[ECO2_SOFTWARE_MAX];
	uint8_t profile[32];
	size_t rows;
	uint64_t first_seq, last_seq;
};

struct totals {
	size_t records, trips, charges;
	int64_t distance_m, discharge_wh, regen_wh, charged_wh, co2_g;
	int64_t first_s, last_s;
	bool have_time;
	uint64_t flags;
};

struct group {
	int32_t key;             /* a day: y*10000 + m*100 + d; a vehicle: VIN index */
	struct totals t;
};

struct report {
	struct report_opts o;
	/* the key and certificate */
	int alg;
	char kid[17];
	char pub[2 * SIGNER_PUBKEY_MAX + 1];
	const char *backend, *source;
	bool have_cert, cert_ok;
	struct x509_info cert;
	char cert_problem[512];
	int64_t cert_at_s;
	const struct approved *approved;
	/* what was found */
	struct report_row *rows;
	size_t n_rows, cap_rows;
	uint8_t *approval;       /* per row: 0 not checked, 1 approved, 2 not */
	struct pset *psets;
	size_t n_psets;
	struct origin *origins;
	size_t n_origins;
	char (*vins)[ECO2_VIN_MAX];
	size_t n_vins;
	struct notes problems, warnings;
	size_t order;
	bool oom;
	/* after report_finish */
	struct totals all;
	size_t failed, warned_rows;
	struct group *days, *vehicles;
	size_t n_days, n_vehicles;
	uint64_t flag_count[ECO2_FLAG_BITS];
};

/* ---- time zones ------------------------------------------------------------------ */

int report_tz_parse(struct report_tz *tz, const char *s)
{
	const char *dir = getenv("TZDIR");
	char path[512];
	struct stat st;
	unsigned h, m;
	char sign, end;

	memset(tz, 0, sizeof(*tz));
	if (!strcmp(s, "UTC") || !strcmp(s, "Z") || !strcmp(s, "utc")) {
		snprintf(tz->name, sizeof(tz->name), "UTC");
		tz->fixed = true;
		return 0;
	}
	if (sscanf(s, "%c%2u:%2u%c", &sign, &h, &m, &end) == 3 && (sign == '+' || sign == '-') &&
	    strlen(s) == 6 && h <= 14 && m < 60) {
		snprintf(tz->name, sizeof(tz->name), "%s", s);
		tz->fixed = true;
		tz->offset_s = (int32_t)(h * 3600 + m * 60);
		if (sign == '-')
			tz->offset_s = -tz->offset_s;
		return 0;
	}
	/* An IANA name: letters, digits, '_', '-', '+', '/', and no "..". */
	if (!*s || strlen(s) >= sizeof(tz->name) || strstr(s, "..") || s[0] == '/')
		return -EINVAL;
	for (const char *c = s; *c; c++)
		if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
		      *c == '_' || *c == '-' || *c == '+' || *c == '/'))
			return -EINVAL;
	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", s);
	if (stat(path, &st) || !S_ISREG(st.st_mode))
		return -EINVAL;
	snprintf(tz->name, sizeof(tz->name), "%s", s);
	return 0;
}

/* The calendar day t falls on in tz, as y*10000 + m*100 + d. */
static int32_t day_of(const struct report_tz *tz, int64_t t)
{
	struct tm tm;
	time_t tt;

	if (tz->fixed) {
		tt = (time_t)(t + tz->offset_s);
		if (!gmtime_r(&tt, &tm))
			return 0;
	} else {
		tt = (time_t)t;
		if (!localtime_r(&tt, &tm))
			return 0;
	}
	return (int32_t)((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday);
}

/* ---- building ------------------------------------------------------------------------ */

int report_new(report_t **out, const struct report_opts *o)
{
	report_t *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r)
		return -ENOMEM;
	r->o = *o;
	r->cert_at_s = X509_AT_RECORDS;
	r->vins = calloc(SETS_MAX, sizeof(*r->vins));
	r->psets = calloc(SETS_MAX, sizeof(*r->psets));
	r->origins = calloc(SETS_MAX, sizeof(*r->origins));
	if (!r->vins || !r->psets || !r->origins) {
		report_free(r);
		return -ENOMEM;
	}
	r->n_vins = 1;           /* index 0: no VIN */
	*out = r;
	return 0;
}

static void notes_free(struct notes *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i].reason);
	free(ns->v);
}

void report_free(report_t *r)
{
	if (!r)
		return;
	free(r->rows);
	free(r->approval);
	free(r->psets);
	free(r->origins);
	free(r->vins);
	notes_free(&r->problems);
	notes_free(&r->warnings);
	free(r->days);
	free(r->vehicles);
	free(r);
}

void report_key(report_t *r, verify_key_t *key, const char *source)
{
	uint8_t kid[8], pub[SIGNER_PUBKEY_MAX];
	size_t n;

	r->alg = verify_key_alg(key);
	verify_key_kid(key, kid);
	hex_encode(kid, 8, r->kid);
	n = verify_key_raw(key, pub);
	hex_encode(pub, n, r->pub);
	r->backend = verify_key_backend(key);
	r->source = source;
}

void report_certificate(report_t *r, const struct x509_info *info, bool ok,
			const char *problem, int64_t at_s)
{
	r->have_cert = true;
	if (info)
		r->cert = *info;
	r->cert_ok = ok;
	snprintf(r->cert_problem, sizeof(r->cert_problem), "%s", problem ? problem : "");
	r->cert_at_s = at_s;
}

void report_approved(report_t *r, const struct approved *a)
{
	r->approved = a;
}

static void add_note(report_t *r, struct notes *ns, uint64_t seq, const char *code,
		     const char *reason)
{
	struct note *v;

	ns->total++;
	if (ns->n == REPORT_LIST_MAX)
		return;
	if (ns->n == ns->cap) {
		size_t cap = ns->cap ? ns->cap * 2 : 64;

		v = realloc(ns->v, cap * sizeof(*v));
		if (!v) {
			r->oom = true;
			return;
		}
		ns->v = v;
		ns->cap = cap;
	}
	v = &ns->v[ns->n];
	v->seq = seq;
	v->order = r->order++;
	snprintf(v->code, sizeof(v->code), "%s", code ? code : "");
	v->reason = strdup(reason);
	if (!v->reason) {
		r->oom = true;
		return;
	}
	ns->n++;
}

void report_event(report_t *r, const struct verify_event *ev)
{
	add_note(r, ev->warning ? &r->warnings : &r->problems, ev->seq, ev->code, ev->reason);
}

void report_problem(report_t *r, uint64_t seq, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	add_note(r, &r->problems, seq, code, msg);
}

static uint32_t pset_of(report_t *r, const struct eco2_record *e)
{
	static __thread size_t last;   /* consecutive records share one */
	size_t i;

	for (size_t k = 0; k < r->n_psets; k++) {
		struct pset *p;

		i = (last + k) % r->n_psets;
		p = &r->psets[i];
		if (!strcmp(p->method, e->method) && p->baseline_mg_per_km == e->baseline_mg_per_km &&
		    p->grid_mg_per_kwh == e->grid_mg_per_kwh &&
		    p->charge_eff_permille == e->charge_eff_permille &&
		    p->td_loss_permille == e->td_loss_permille)
			return (uint32_t)(last = i);
	}
	if (r->n_psets == SETS_MAX)
		return SETS_MAX - 1;     /* the last set stands for the rest */
	i = r->n_psets++;
	snprintf(r->psets[i].method, sizeof(r->psets[i].method), "%s", e->method);
	r->psets[i].baseline_mg_per_km = e->baseline_mg_per_km;
	r->psets[i].grid_mg_per_kwh = e->grid_mg_per_kwh;
	r->psets[i].charge_eff_permille = e->charge_eff_permille;
	r->psets[i].td_loss_permille = e->td_loss_permille;
	r->psets[i].first_seq = e->seq;
	return (uint32_t)(last = i);
}

static uint32_t origin_of(report_t *r, const struct eco2_record *e)
{
	size_t i;

	for (i = r->n_origins; i-- > 0;)
		if (r->origins[i].version == e->version && !strcmp(r->origins[i].software, e->software) &&
		    !memcmp(r->origins[i].profile, e->profile_sha256, 32))
			return (uint32_t)i;
	if (r->n_origins == SETS_MAX)
		return SETS_MAX - 1;
	i = r->n_origins++;
	r->origins[i].version = (uint8_t)e->version;
	memcpy(r->origins[i].software, e->software, sizeof(e->software));
	memcpy(r->origins[i].profile, e->profile_sha256, 32);
	r->origins[i].first_seq = e->seq;
	return (uint32_t)i;
}

static uint32_t vin_of(report_t *r, const struct eco2_record *e)
{
	size_t i;

	if (!e->has_vin)
		return 0;
	for (i = r->n_vins; i-- > 1;)
		if (!strcmp(r->vins[i], e->vin))
			return (uint32_t)i;
	if (r->n_vins == SETS_MAX)
		return SETS_MAX - 1;
	i = r->n_vins++;
	memcpy(r->vins[i], e->vin, sizeof(e->vin));
	return (uint32_t)i;
}

long report_item(report_t *r, const struct verify_item *it, bool counted)
{
	struct report_row *w;
	const struct eco2_record *e = &it->rec;

	if (it->tail)
		return -ENOENT;
	if (r->n_rows == r->cap_rows) {
		size_t cap = r->cap_rows ? r->cap_rows * 2 : 1024;
		struct report_row *nr = realloc(r->rows, cap * sizeof(*nr));
		uint8_t *na;

		if (!nr) {
			r->oom = true;
			return -ENOMEM;
		}
		r->rows = nr;
		na = realloc(r->approval, cap);
		if (!na) {
			r->oom = true;
			return -ENOMEM;
		}
		r->approval = na;
		r->cap_rows = cap;
	}
	w = &r->rows[r->n_rows];
	memset(w, 0, sizeof(*w));
	r->approval[r->n_rows] = 0;
	w->decoded = it->decoded;
	w->signed_ok = it->signed_ok;
	w->counted = counted;
	w->warnings = it->rules.n_warn;
	if (it->decoded) {
		w->seq = e->seq;
		w->version = (uint8_t)e->version;
		w->type = (uint8_t)e->type;
		w->start_s = e->start_s;
		w->end_s = e->end_s;
		w->odo_start_m = e->odo_start_m;
		w->odo_end_m = e->odo_end_m;
		w->distance_m = e->distance_m;
		w->discharge_wh = e->discharge_wh;
		w->regen_wh = e->regen_wh;
		w->charged_wh = e->charged_wh;
		w->co2_g = e->co2_g;
		w->flags = e->flags;
		w->odo_step_m = e->odo_step_m > INT32_MAX ? INT32_MAX :
				e->odo_step_m < INT32_MIN ? INT32_MIN : (int32_t)e->odo_step_m;
		w->params = pset_of(r, e);
		w->origin = origin_of(r, e);
		w->vin = vin_of(r, e);
	}
	return (long)r->n_rows++;
}

void report_fail_row(report_t *r, size_t row)
{
	if (row < r->n_rows)
		r->rows[row].counted = false;
}

size_t report_rows(const report_t *r)
{
	return r->n_rows;
}

const struct report_row *report_row(const report_t *r, size_t i)
{
	return i < r->n_rows ? &r->rows[i] : NULL;
}

void report_row_record(const report_t *r, size_t i, struct eco2_record *out)
{
	const struct report_row *w = &r->rows[i];
	const struct pset *p = &r->psets[w->params];
	const struct origin *o = &r->origins[w->origin];

	memset(out, 0, sizeof(*out));
	out->version = w->version;
	out->seq = w->seq;
	out->type = w->type;
	out->start_s = w->start_s;
	out->end_s = w->end_s;
	out->odo_start_m = w->odo_start_m;
	out->odo_end_m = w->odo_end_m;
	out->distance_m = w->distance_m;
	out->discharge_wh = w->discharge_wh;
	out->regen_wh = w->regen_wh;
	out->charged_wh = w->charged_wh;
	out->co2_g = w->co2_g;
	out->flags = w->flags;
	out->odo_step_m = w->odo_step_m;
	memcpy(out->method, p->method, sizeof(out->method));
	out->baseline_mg_per_km = p->baseline_mg_per_km;
	out->grid_mg_per_kwh = p->grid_mg_per_kwh;
	out->charge_eff_permille = p->charge_eff_permille;
	out->td_loss_permille = p->td_loss_permille;
	memcpy(out->software, o->software, sizeof(out->software));
	memcpy(out->profile_sha256, o->profile, 32);
	if (w->vin) {
		out->has_vin = true;
		memcpy(out->vin, r->vins[w->vin], sizeof(out->vin));
	}
}

void report_row_approved(report_t *r, size_t i, bool ok)
{
	if (i < r->n_rows)
		r->approval[i] = ok ? 1 : 2;
}

/* ---- counting ------------------------------------------------------------------------- */

static void total_add(struct totals *t, const struct report_row *w)
{
	t->records++;
	if (w->type == ECO2_REC_TRIP)
		t->trips++;
	else
		t->charges++;
	t->distance_m += w->distance_m;
	t->discharge_wh += w->discharge_wh;
	t->regen_wh += w->regen_wh;
	t->charged_wh += w->charged_wh;
	t->co2_g += w->co2_g;
	t->flags |= w->flags;
	if (!t->have_time || w->start_s < t->first_s)
		t->first_s = w->start_s;
	if (!t->have_time || w->end_s > t->last_s)
		t->last_s = w->end_s;
	t->have_time = true;
}

static int note_cmp(const void *a, const void *b)
{
	const struct note *x = a, *y = b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

struct keyed {
	int32_t key;
	uint32_t row;
};

static int keyed_cmp(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->row < y->row ? -1 : x->row > y->row;
}

/* Groups of counted rows by key (day or VIN), in key order. */
static struct group *group_rows(report_t *r, bool by_day, size_t *n_out)
{
	struct keyed *k = malloc((r->n_rows ? r->n_rows : 1) * sizeof(*k));
	struct group *g = NULL;
	size_t n = 0, ng = 0;
	char *old_tz = NULL;

	*n_out = 0;
	if (!k)
		goto out;
	if (by_day && !r->o.tz.fixed) {
		const char *cur = getenv("TZ");

		old_tz = cur ? strdup(cur) : NULL;
		setenv("TZ", r->o.tz.name, 1);
		tzset();
	}
	for (size_t i = 0; i < r->n_rows; i++)
		if (r->rows[i].counted)
			k[n++] = (struct keyed){ by_day ? day_of(&r->o.tz, r->rows[i].start_s) :
						 (int32_t)r->rows[i].vin, (uint32_t)i };
	if (by_day && !r->o.tz.fixed) {
		if (old_tz)
			setenv("TZ", old_tz, 1);
		else
			unsetenv("TZ");
		tzset();
		free(old_tz);
	}
	if (n > 1)
		qsort(k, n, sizeof(*k), keyed_cmp);
	g = calloc(n ? n : 1, sizeof(*g));
	if (!g)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (!ng || g[ng - 1].key != k[i].key)
			g[ng++].key = k[i].key;
		total_add(&g[ng - 1].t, &r->rows[k[i].row]);
	}
	*n_out = ng;
out:
	if (!g && n)
		r->oom = true;
	free(k);
	return g;
}

void report_finish(report_t *r)
{
	memset(&r->all, 0, sizeof(r->all));
	r->failed = r->warned_rows = 0;
	memset(r->flag_count, 0, sizeof(r->flag_count));
	for (size_t i = 0; i < r->n_psets; i++)
		r->psets[i].rows = r->psets[i].counted = r->psets[i].approved = r->psets[i].refused = 0;
	for (size_t i = 0; i < r->n_origins; i++)
		r->origins[i].rows = 0;
	for (size_t i = 0; i < r->n_rows; i++) {
		const struct report_row *w = &r->rows[i];

		if (w->counted) {
			total_add(&r->all, w);
			for (unsigned b = 0; b < ECO2_FLAG_BITS; b++)
				if (w->flags & (UINT64_C(1) << b))
					r->flag_count[b]++;
		} else {
			r->failed++;
		}
		if (w->warnings)
			r->warned_rows++;
		if (w->decoded && w->signed_ok) {
			struct pset *p = &r->psets[w->params];
			struct origin *o = &r->origins[w->origin];

			p->rows++;
			p->counted += w->counted;
			p->approved += r->approval[i] == 1;
			p->refused += r->approval[i] == 2;
			if (w->seq < p->first_seq)
				p->first_seq = w->seq;
			if (w->seq > p->last_seq)
				p->last_seq = w->seq;
			o->rows++;
			if (w->seq < o->first_seq)
				o->first_seq = w->seq;
			if (w->seq > o->last_seq)
				o->last_seq = w->seq;
		}
	}
	if (r->problems.n > 1)
		qsort(r->problems.v, r->problems.n, sizeof(*r->problems.v), note_cmp);
	if (r->warnings.n > 1)
		qsort(r->warnings.v, r->warnings.n, sizeof(*r->warnings.v), note_cmp);
	free(r->days);
	free(r->vehicles);
	r->days = group_rows(r, true, &r->n_days);
	r->vehicles = group_rows(r, false, &r->n_vehicles);
}

bool report_ok(const report_t *r)
{
	return r->problems.total == 0;
}

size_t report_problems_total(const report_t *r)
{
	return r->problems.total;
}

/* ---- formatting helpers ---------------------------------------------------------------- */

/* v / 1000 with three decimals, exactly: "-1.234". */
static const char *milli(int64_t v, char buf[32])
{
	uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	snprintf(buf, 32, "%s%" PRIu64 ".%03" PRIu64, v < 0 ? "-" : "", a / 1000, a % 1000);
	return buf;
}

#define iso iso_utc

static const char *day_str(int32_t key, char buf[16])
{
	snprintf(buf, 16, "%04d-%02d-%02d", key / 10000, key / 100 % 100, key % 100);
	return buf;
}

static const char *alg_name(int alg)
{
	return alg == COSE_ALG_ES256 ? "ES256" : alg == COSE_ALG_EDDSA ? "EdDSA" : "?";
}

static const char *type_name(const struct report_row *w)
{
	return !w->decoded ? "?" : w->type == ECO2_REC_TRIP ? "trip" : "charge";
}

static void flag_name(unsigned bit, char *buf, size_t len)
{
	if (record_flag_name(bit))
		snprintf(buf, len, "%s", record_flag_name(bit));
	else
		snprintf(buf, len, "bit%u", bit);
}

/* Flags as "a,b" (sep ",") into buf; "" when none. */
static const char *flags_str(uint64_t flags, const char *sep, char *buf, size_t len)
{
	size_t off = 0;
	char fl[16];

	buf[0] = 0;
	for (unsigned bit = 0; bit < 64 && off < len; bit++)
		if (flags & (UINT64_C(1) << bit)) {
			int k;

			flag_name(bit, fl, sizeof(fl));
			k = snprintf(buf + off, len - off, "%s%s", off ? sep : "", fl);
			if (k < 0)
				break;
			off += (size_t)k;
		}
	return buf;
}

static const char *verdict_of(const struct report_row *w)
{
	return w->counted ? (w->warnings ? "ok, warned" : "ok") : "FAILED";
}

/* A JSON string; bytes of invalid UTF-8 become '?'. */
static void json_str(FILE *f, const char *s)
{
	size_t n = strlen(s);
	bool utf8 = cbor_utf8_valid((const uint8_t *)s, n);

	fputc('"', f);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(f, "\\%c", *c);
		else if (*c < 0x20 || *c == 0x7f)
			fprintf(f, "\\u%04x", *c);
		else if (*c >= 0x80 && !utf8)
			fputc('?', f);
		else
			fputc(*c, f);
	}
	fputc('"', f);
}

/* HTML text; invalid UTF-8 becomes '?'. */
static void html_str(FILE *f, const char *s)
{
	size_t n = strlen(s);
	bool utf8 = cbor_utf8_valid((const uint8_t *)s, n);

	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		switch (*c) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default:
			if (*c < 0x20 || *c == 0x7f || (*c >= 0x80 && !utf8))
				fputc('?', f);
			else
				fputc(*c, f);
		}
	}
}

/* The notes about seq, as a range [*lo, *hi) of ns (sorted by seq). */
static void notes_for(const struct notes *ns, uint64_t seq, size_t *lo, size_t *hi)
{
	size_t a = 0, b = ns->n;

	while (a < b) {
		size_t m = a + (b - a) / 2;

		if (ns->v[m].seq < seq)
			a = m + 1;
		else
			b = m;
	}
	*lo = a;
	while (a < ns->n && ns->v[a].seq == seq)
		a++;
	*hi = a;
}

static const char *tz_label(const report_t *r)
{
	return r->o.tz.name[0] ? r->o.tz.name : "UTC";
}

/* ---- text ------------------------------------------------------------------------------- */

static void text_totals(FILE *f, const char *label, const struct totals *t)
{
	char a[32], b[32], c[32], d[32];

	fprintf(f, "%-12s %7zu %6zu %7zu %12s %10s %10s %12s\n", label, t->records, t->trips,
		t->charges, milli(t->distance_m, a), milli(t->discharge_wh - t->regen_wh, b),
		milli(t->charged_wh, c), milli(t->co2_g, d));
}

int report_write_text(report_t *r, FILE *f, bool problems_to_stderr)
{
	char a[32], b[32], c[32], d[32], e[32], g[32], fl[1024];
	const struct totals *t = &r->all;
	size_t flags_w = 5;

	/* Problems first, one line each, as eco2-verify always printed them. */
	for (size_t i = 0; problems_to_stderr && i < r->problems.n; i++) {
		if (r->problems.v[i].seq)
			fprintf(stderr, "eco2-verify: seq %" PRIu64 ": %s\n", r->problems.v[i].seq,
				r->problems.v[i].reason);
		else
			fprintf(stderr, "eco2-verify: %s\n", r->problems.v[i].reason);
	}
	if (!report_ok(r))
		fprintf(f, "result:             FAILED, %zu problem%s%s\n", r->problems.total,
			r->problems.total == 1 ? "" : "s",
			r->problems.total > r->problems.n ? " (the first 100000 listed)" : "");
	else
		fprintf(f, "result:             verified\n");
	fprintf(f, "key:                %s kid %s (%s)\n", alg_name(r->alg), r->kid,
		r->source ? r->source : "");
	if (r->have_cert) {
		fprintf(f, "certificate:        %s, issued by %s, serial %s, %s\n",
			r->cert.subject, r->cert.issuer, r->cert.serial, r->cert_ok ? "verified" : "FAILED");
		fprintf(f, "                    valid %s to %s, checked %s%s\n",
			iso(r->cert.not_before_s, a), iso(r->cert.not_after_s, b),
			r->cert_at_s == X509_AT_RECORDS ? "at each record's time" : "at ",
			r->cert_at_s == X509_AT_RECORDS ? "" : iso(r->cert_at_s, c));
	}
	fprintf(f, "records:            %zu (%zu verified, %zu failed, %zu with warnings)\n",
		r->n_rows, t->records, r->failed, r->warned_rows);
	fprintf(f, "trips:              %zu\n", t->trips);
	fprintf(f, "charging sessions:  %zu\n", t->charges);
	fprintf(f, "distance:           %s km\n", milli(t->distance_m, a));
	fprintf(f, "energy:             %s kWh net from the pack (%s out, %s regenerated), %s kWh charged\n",
		milli(t->discharge_wh - t->regen_wh, a), milli(t->discharge_wh, b),
		milli(t->regen_wh, c), milli(t->charged_wh, d));
	fprintf(f, "CO2 avoided:        %s kg\n", milli(t->co2_g, a));
	if (t->have_time)
		fprintf(f, "first:              %s\nlast:               %s\n", iso(t->first_s, a),
			iso(t->last_s, b));
	else
		fprintf(f, "first:              -\nlast:               -\n");
	flags_str(t->flags, ", ", fl, sizeof(fl));
	fprintf(f, "flags:              %s\n", fl[0] ? fl : "none");
	fprintf(f, "totals count verified records only.\n");

	fprintf(f, "\nper day (%s; a record belongs to the day it starts):\n", tz_label(r));
	fprintf(f, "%-12s %7s %6s %7s %12s %10s %10s %12s\n", "date", "records", "trips",
		"charges", "km", "kWh net", "kWh chg", "kg CO2");
	for (size_t i = 0; i < r->n_days; i++)
		text_totals(f, day_str(r->days[i].key, a), &r->days[i].t);
	fprintf(f, "\nper vehicle:\n");
	fprintf(f, "%-17s %7s %6s %7s %12s %10s %10s %12s\n", "VIN", "records", "trips",
		"charges", "km", "kWh net", "kWh chg", "kg CO2");
	for (size_t i = 0; i < r->n_vehicles; i++) {
		const struct group *v = &r->vehicles[i];

		fprintf(f, "%-17s", v->key ? r->vins[v->key] : "(none)");
		text_totals(f, "", &v->t);
	}

	fprintf(f, "\nparameters used:\n");
	for (size_t i = 0; i < r->n_psets; i++) {
		const struct pset *p = &r->psets[i];

		fprintf(f, "  %s: baseline %" PRId64 " mg/km, grid %" PRId64 " mg/kWh, efficiency %"
			PRId64 ", T&D loss %" PRId64 " per mille: %zu records (seq %" PRIu64 "..%" PRIu64 ")%s\n",
			p->method, p->baseline_mg_per_km, p->grid_mg_per_kwh, p->charge_eff_permille,
			p->td_loss_permille, p->rows, p->first_seq, p->last_seq,
			!r->approved ? "" : p->refused ? ", NOT APPROVED for some" : ", approved");
	}
	for (size_t i = 0; i < r->n_origins; i++) {
		const struct origin *o = &r->origins[i];

		hex_encode(o->profile, 32, fl);
		if (o->version >= 2)
			fprintf(f, "  software %s, profile %s: %zu records\n", o->software, fl, o->rows);
		else
			fprintf(f, "  version 1 records (no software or profile named): %zu\n", o->rows);
	}

	for (unsigned bit = 0, shown = 0; bit < ECO2_FLAG_BITS; bit++) {
		if (!r->flag_count[bit])
			continue;
		if (!shown++)
			fprintf(f, "\nflags, and what they mean for the credit:\n");
		fprintf(f, "  %-14s %6" PRIu64 "  %s\n", record_flag_name(bit), r->flag_count[bit],
			rules_flag_meaning(bit));
	}

	if (r->warnings.total) {
		fprintf(f, "\nwarnings (%zu):\n", r->warnings.total);
		for (size_t i = 0; i < r->warnings.n; i++)
			fprintf(f, "  seq %" PRIu64 ": %s\n", r->warnings.v[i].seq, r->warnings.v[i].reason);
	}

	for (size_t i = 0; i < r->n_rows; i++) {
		size_t w = strlen(flags_str(r->rows[i].flags, ",", fl, sizeof(fl)));

		if (w > flags_w)
			flags_w = w > 60 ? 60 : w;
	}
	fprintf(f, "\nrecords:\n%6s %-6s %-20s %-20s %10s %9s %9s %9s %8s %-*s %s\n", "seq", "type",
		"start", "end", "km", "kWh out", "regen", "charged", "g CO2", (int)flags_w, "flags",
		"verdict");
	for (size_t i = 0; i < r->n_rows; i++) {
		const struct report_row *w = &r->rows[i];

		if (!w->decoded) {
			fprintf(f, "%6s %-6s %-20s %-20s %10s %9s %9s %9s %8s %-*s %s\n", "?", "?", "-",
				"-", "-", "-", "-", "-", "-", (int)flags_w, "-", verdict_of(w));
			continue;
		}
		fprintf(f, "%6" PRIu64 " %-6s %-20s %-20s %10s %9s %9s %9s %8" PRId64 " %-*s %s\n", w->seq,
			type_name(w), iso(w->start_s, a), iso(w->end_s, b), milli(w->distance_m, c),
			milli(w->discharge_wh, d), milli(w->regen_wh, e), milli(w->charged_wh, g),
			w->co2_g, (int)flags_w, flags_str(w->flags, ",", fl, sizeof(fl))[0] ? fl : "-",
			verdict_of(w));
	}
	return fflush(f) || ferror(f) ? -EIO : 0;
}

/* ---- JSON ------------------------------------------------------------------------------- */

/* The totals' members; "records" (verified records) unless top (where
 * "records" counts what the file holds). */
static void json_totals(FILE *f, const struct totals *t, bool top)
{
	char a[32], b[32], c[32], d[32], e[32], g[32], h[32];

	if (!top)
		fprintf(f, "\"records\":%zu,", t->records);
	fprintf(f, "\"trips\":%zu,\"charging_sessions\":%zu,\"distance_km\":%s,"
		"\"energy_kwh\":%s,\"discharge_kwh\":%s,\"regen_kwh\":%s,\"charged_kwh\":%s,"
		"\"co2_g\":%" PRId64 ",\"co2_kg\":%s,",
		t->trips, t->charges, milli(t->distance_m, a),
		milli(t->discharge_wh - t->regen_wh, b), milli(t->discharge_wh, c),
		milli(t->regen_wh, d), milli(t->charged_wh, e), t->co2_g, milli(t->co2_g, g));
	if (t->have_time)
		fprintf(f, "\"first_time\":\"%s\",\"last_time\":\"%s\"", iso(t->first_s, a),
			iso(t->last_s, h));
	else
		fprintf(f, "\"first_time\":null,\"last_time\":null");
}

static void json_flags(FILE *f, uint64_t flags)
{
	char fl[16];
	bool any = false;

	fputc('[', f);
	for (unsigned bit = 0; bit < 64; bit++)
		if (flags & (UINT64_C(1) << bit)) {
			flag_name(bit, fl, sizeof(fl));
			fprintf(f, "%s\"%s\"", any ? "," : "", fl);
			any = true;
		}
	fputc(']', f);
}

static void json_notes(FILE *f, const char *name, const struct notes *ns)
{
	fprintf(f, "\"%s_total\":%zu,\"%s\":[", name, ns->total, name);
	for (size_t i = 0; i < ns->n; i++) {
		fprintf(f, "%s{\"seq\":%" PRIu64 ",\"code\":", i ? "," : "", ns->v[i].seq);
		json_str(f, ns->v[i].code);
		fprintf(f, ",\"reason\":");
		json_str(f, ns->v[i].reason);
		fputc('}', f);
	}
	fputc(']', f);
}

int report_write_json(report_t *r, FILE *f)
{
	char a[32], b[32], c[32], d[32], h[65];

	fprintf(f, "{\"report\":\"eco2-verify\",\"report_version\":1,\"generator\":");
	json_str(f, r->o.generator ? r->o.generator : "eco2-verify");
	fprintf(f, ",\"input\":");
	json_str(f, r->o.input ? r->o.input : "");
	fprintf(f, ",\"ok\":%s,\"verdict\":\"%s\",\"alg\":\"%s\",\"kid\":\"%s\",",
		report_ok(r) ? "true" : "false", report_ok(r) ? "verified" : "failed",
		alg_name(r->alg), r->kid);
	fprintf(f, "\"key\":{\"alg\":\"%s\",\"kid\":\"%s\",\"public_key\":\"%s\",\"backend\":\"%s\","
		"\"source\":\"%s\"},", alg_name(r->alg), r->kid, r->pub, r->backend ? r->backend : "",
		r->source ? r->source : "");
	if (r->have_cert) {
		fprintf(f, "\"certificate\":{\"subject\":");
		json_str(f, r->cert.subject);
		fprintf(f, ",\"issuer\":");
		json_str(f, r->cert.issuer);
		fprintf(f, ",\"serial\":");
		json_str(f, r->cert.serial);
		fprintf(f, ",\"key\":\"%s\",\"library\":\"%s\",\"not_before\":\"%s\",\"not_after\":\"%s\","
			"\"checked_at\":%s%s%s,\"ok\":%s,\"problem\":",
			r->cert.key, r->cert.library ? r->cert.library : "",
			iso(r->cert.not_before_s, a), iso(r->cert.not_after_s, b),
			r->cert_at_s == X509_AT_RECORDS ? "" : "\"",
			r->cert_at_s == X509_AT_RECORDS ? "\"each record's time\"" : iso(r->cert_at_s, c),
			r->cert_at_s == X509_AT_RECORDS ? "" : "\"", r->cert_ok ? "true" : "false");
		if (r->cert_problem[0])
			json_str(f, r->cert_problem);
		else
			fputs("null", f);
		fputs("},", f);
	} else {
		fputs("\"certificate\":null,", f);
	}
	fprintf(f, "\"records\":%zu,\"verified\":%zu,\"failed\":%zu,", r->n_rows, r->all.records,
		r->failed);
	json_totals(f, &r->all, true);
	fprintf(f, ",\"flags\":");
	json_flags(f, r->all.flags);
	fprintf(f, ",\"tz\":");
	json_str(f, tz_label(r));
	fprintf(f, ",\"days\":[");
	for (size_t i = 0; i < r->n_days; i++) {
		fprintf(f, "%s{\"date\":\"%s\",", i ? "," : "", day_str(r->days[i].key, a));
		json_totals(f, &r->days[i].t, false);
		fputc('}', f);
	}
	fprintf(f, "],\"vehicles\":[");
	for (size_t i = 0; i < r->n_vehicles; i++) {
		fprintf(f, "%s{\"vin\":", i ? "," : "");
		if (r->vehicles[i].key)
			json_str(f, r->vins[r->vehicles[i].key]);
		else
			fputs("null", f);
		fputc(',', f);
		json_totals(f, &r->vehicles[i].t, false);
		fputc('}', f);
	}
	fprintf(f, "],\"parameters\":[");
	for (size_t i = 0; i < r->n_psets; i++) {
		const struct pset *p = &r->psets[i];

		fprintf(f, "%s{\"method\":", i ? "," : "");
		json_str(f, p->method);
		fprintf(f, ",\"baseline_mg_per_km\":%" PRId64 ",\"grid_mg_per_kwh\":%" PRId64
			",\"charge_eff_permille\":%" PRId64 ",\"td_loss_permille\":%" PRId64
			",\"records\":%zu,\"verified\":%zu,\"first_seq\":%" PRIu64 ",\"last_seq\":%" PRIu64
			",\"approved\":%s}", p->baseline_mg_per_km, p->grid_mg_per_kwh,
			p->charge_eff_permille, p->td_loss_permille, p->rows, p->counted, p->first_seq,
			p->last_seq, !r->approved ? "null" : p->refused ? "false" : "true");
	}
	fprintf(f, "],\"origins\":[");
	for (size_t i = 0; i < r->n_origins; i++) {
		const struct origin *o = &r->origins[i];

		fprintf(f, "%s{\"version\":%u,\"software\":", i ? "," : "", o->version);
		if (o->version >= 2) {
			json_str(f, o->software);
			hex_encode(o->profile, 32, h);
			fprintf(f, ",\"profile_sha256\":\"%s\"", h);
		} else {
			fputs("null,\"profile_sha256\":null", f);
		}
		fprintf(f, ",\"records\":%zu,\"first_seq\":%" PRIu64 ",\"last_seq\":%" PRIu64 "}",
			o->rows, o->first_seq, o->last_seq);
	}
	fputs("],\"approved_parameters\":", f);
	if (r->approved) {
		fputs("{\"file\":", f);
		json_str(f, r->approved->name);
		fputs(",\"periods\":[", f);
		for (size_t i = 0; i < r->approved->n; i++) {
			const struct approved_period *p = &r->approved->p[i];

			fprintf(f, "%s{\"from\":\"%s\",\"to\":\"%s\",\"method\":", i ? "," : "",
				iso(p->from_s, a), iso(p->to_s, b));
			json_str(f, p->method);
			fprintf(f, ",\"baseline_mg_per_km\":%" PRId64 ",\"grid_mg_per_kwh\":%" PRId64
				",\"charge_eff_permille\":%" PRId64 ",\"td_loss_permille\":%" PRId64
				",\"software\":[", p->baseline_mg_per_km, p->grid_mg_per_kwh,
				p->charge_eff_permille, p->td_loss_permille);
			for (unsigned k = 0; k < p->n_software; k++) {
				fputs(k ? "," : "", f);
				json_str(f, p->software[k]);
			}
			fputs("],\"profile_sha256\":[", f);
			for (unsigned k = 0; k < p->n_profile; k++) {
				hex_encode(p->profile[k], 32, h);
				fprintf(f, "%s\"%s\"", k ? "," : "", h);
			}
			fputs("]}", f);
		}
		fputs("]}", f);
	} else {
		fputs("null", f);
	}
	fputs(",\"rows\":[", f);
	for (size_t i = 0; i < r->n_rows; i++) {
		const struct report_row *w = &r->rows[i];

		fputs(i ? ",{" : "{", f);
		if (!w->decoded) {
			fprintf(f, "\"seq\":null,\"decoded\":false,\"verdict\":\"failed\"}");
			continue;
		}
		fprintf(f, "\"seq\":%" PRIu64 ",\"decoded\":true,\"version\":%u,\"type\":\"%s\","
			"\"start\":\"%s\",\"end\":\"%s\",\"vin\":", w->seq, w->version, type_name(w),
			iso(w->start_s, a), iso(w->end_s, b));
		if (w->vin)
			json_str(f, r->vins[w->vin]);
		else
			fputs("null", f);
		fprintf(f, ",\"odo_start_m\":%" PRId64 ",\"odo_end_m\":%" PRId64 ",\"odo_step_m\":",
			w->odo_start_m, w->odo_end_m);
		if (w->version >= 2)
			fprintf(f, "%" PRId32, w->odo_step_m);
		else
			fputs("null", f);
		fprintf(f, ",\"distance_km\":%s,\"discharge_kwh\":%s,\"regen_kwh\":%s,\"charged_kwh\":%s,"
			"\"co2_g\":%" PRId64 ",\"flags\":", milli(w->distance_m, a),
			milli(w->discharge_wh, b), milli(w->regen_wh, c), milli(w->charged_wh, d),
			w->co2_g);
		json_flags(f, w->flags);
		fprintf(f, ",\"signed\":%s,\"warnings\":%" PRIu32 ",\"verdict\":\"%s\"}",
			w->signed_ok ? "true" : "false", w->warnings, w->counted ? "verified" : "failed");
	}
	fputs("],", f);
	json_notes(f, "problems", &r->problems);
	fputc(',', f);
	json_notes(f, "warnings", &r->warnings);
	fputs("}\n", f);
	return fflush(f) || ferror(f) ? -EIO : 0;
}

/* ---- HTML -------------------------------------------------------------------------------- */

static const char css[] =
	"body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:0 16px 48px;color:#1b1b1b}"
	"h1{font-size:28px;margin:0}h2{font-size:19px;margin:32px 0 8px;border-bottom:1px solid #ccc}"
	"#verdict{padding:18px 20px;margin:16px 0;border-radius:6px;color:#fff}"
	"#verdict.ok{background:#1d7a36}#verdict.fail{background:#b3261e}#verdict p{margin:4px 0 0}"
	"table{border-collapse:collapse;margin:6px 0}td,th{padding:3px 8px;border-bottom:1px solid #e3e3e3;text-align:left}"
	"td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}tr.failed td{background:#fbe9e7}"
	"tr.warned td{background:#fff8e1}code{font-size:12px;word-break:break-all}"
	"svg{display:block;margin:8px 0;max-width:100%;height:auto}svg text{font:11px sans-serif;fill:#333}"
	".km{fill:#2f6db3}.co2{fill:#2e8b57}.pt{fill:#7b3fa0}.axis{stroke:#888;stroke-width:1}"
	".grid{stroke:#e5e5e5;stroke-width:1}dl{display:grid;grid-template-columns:max-content auto;gap:2px 16px}"
	"dt{font-weight:600}dd{margin:0}footer{margin-top:40px;color:#666;font-size:12px}"
	"#record-table td:nth-child(1),#record-table td:nth-child(n+5):nth-child(-n+9)"
	"{text-align:right;font-variant-numeric:tabular-nums}";

static void html_th(FILE *f, const char *const *cols, const bool *num, size_t n)
{
	fputs("<thead><tr>", f);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "<th%s>", num[i] ? " class=\"n\"" : "");
		html_str(f, cols[i]);
		fputs("</th>", f);
	}
	fputs("</tr></thead>", f);
}

static void html_totals_row(FILE *f, const char *label, const struct totals *t)
{
	char a[32], b[32], c[32], d[32];

	fputs("<tr><td>", f);
	html_str(f, label);
	fprintf(f, "</td><td class=\"n\">%zu</td><td class=\"n\">%zu</td><td class=\"n\">%zu</td>"
		"<td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td></tr>\n",
		t->records, t->trips, t->charges, milli(t->distance_m, a),
		milli(t->discharge_wh - t->regen_wh, b), milli(t->charged_wh, c), milli(t->co2_g, d));
}

static const char *const totals_cols[] = { "", "records", "trips", "charging sessions", "km",
					   "kWh net from the pack", "kWh charged", "kg CO2 avoided" };
static const bool totals_num[] = { false, true, true, true, true, true, true, true };

/* A "nice" axis maximum and step for values up to v (> 0). */
static void axis(double v, double *max, double *step)
{
	double p = 1;

	if (!(v > 0))
		v = 1;
	while (p * 10 <= v)
		p *= 10;
	while (p > v)
		p /= 10;
	*step = v / p <= 2 ? p / 2 : v / p <= 5 ? p : 2 * p;
	*max = *step;
	while (*max < v)
		*max += *step;
}

/* One panel of the daily chart: bars of values[i] for each day. */
static void html_bars(FILE *f, const report_t *r, int y0, int h, const double *v,
		      const char *cls, const char *label)
{
	const int left = 64, width = 840;
	double vmax = 0, max, step;
	double bw = r->n_days ? (double)width / (double)r->n_days : width;

	for (size_t i = 0; i < r->n_days; i++)
		if (v[i] > vmax)
			vmax = v[i];
	axis(vmax, &max, &step);
	fprintf(f, "<text x=\"0\" y=\"%d\">%s</text>", y0 - 6, label);
	for (int tick = 0; tick * step <= max + step / 2; tick++) {
		double g = tick * step;
		int y = y0 + h - (int)(g / max * h + 0.5);

		fprintf(f, "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>"
			"<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%g</text>",
			left, left + width, y, y, left - 4, y + 4, g);
	}
	for (size_t i = 0; i < r->n_days; i++) {
		double bh = v[i] > 0 ? v[i] / max * h : 0;
		char d[16];

		fprintf(f, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">"
			"<title>%s: %g</title></rect>", cls, left + bw * (double)i + bw * 0.1,
			y0 + h - bh, bw * 0.8 > 0.5 ? bw * 0.8 : 0.5, bh, day_str(r->days[i].key, d), v[i]);
	}
	fprintf(f, "<line class=\"axis\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>", left, left + width,
		y0 + h, y0 + h);
}

static void html_daily_chart(FILE *f, const report_t *r)
{
	double *km = calloc(r->n_days ? r->n_days : 1, sizeof(*km));
	double *kg = calloc(r->n_days ? r->n_days : 1, sizeof(*kg));
	const int ph = 150;
	char a[16], b[16];

	if (!km || !kg) {
		fputs("<p>(chart left out: out of memory)</p>", f);
		goto out;
	}
	for (size_t i = 0; i < r->n_days; i++) {
		km[i] = (double)r->days[i].t.distance_m / 1000.0;
		kg[i] = (double)r->days[i].t.co2_g / 1000.0;
	}
	fprintf(f, "<svg id=\"chart-daily\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 920 %d\" "
		"role=\"img\" aria-label=\"distance and CO2 avoided per day\">", 2 * ph + 90);
	html_bars(f, r, 24, ph, km, "km", "km per day");
	html_bars(f, r, 24 + ph + 40, ph, kg, "co2", "kg CO2 avoided per day");
	if (r->n_days)
		fprintf(f, "<text x=\"64\" y=\"%d\">%s</text><text x=\"904\" y=\"%d\" text-anchor=\"end\">%s</text>",
			2 * ph + 84, day_str(r->days[0].key, a), 2 * ph + 84,
			day_str(r->days[r->n_days - 1].key, b));
	fputs("</svg>\n", f);
out:
	free(km);
	free(kg);
}

/* Net energy per 100 km of each verified trip of at least 100 m, in time
 * order: one point each (a single path, so 100,000 trips stay small). */
static void html_energy_chart(FILE *f, const report_t *r)
{
	const int left = 64, width = 840, top = 20, h = 220;
	size_t n = 0, k = 0;
	double vmax = 0, vmin = 0, max, step, lo;

	for (size_t i = 0; i < r->n_rows; i++) {
		const struct report_row *w = &r->rows[i];

		if (w->counted && w->type == ECO2_REC_TRIP && w->distance_m >= 100) {
			double v = (double)(w->discharge_wh - w->regen_wh) * 100.0 / (double)w->distance_m;

			if (v > vmax)
				vmax = v;
			if (v < vmin)
				vmin = v;
			n++;
		}
	}
	axis(vmax > -vmin ? vmax : -vmin, &max, &step);
	lo = vmin < 0 ? -max : 0;
	fprintf(f, "<svg id=\"chart-energy\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 920 %d\" "
		"role=\"img\" aria-label=\"energy per 100 km per trip\">", h + 60);
	fprintf(f, "<text x=\"0\" y=\"12\">kWh per 100 km (net from the pack), %zu trip%s</text>", n,
		n == 1 ? "" : "s");
	for (int tick = 0; lo + tick * step <= max + step / 2; tick++) {
		double g = lo + tick * step;
		int y = top + h - (int)((g - lo) / (max - lo) * h + 0.5);

		fprintf(f, "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>"
			"<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%g</text>", left, left + width, y, y,
			left - 4, y + 4, g);
	}
	fprintf(f, "<line class=\"axis\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>", left, left + width,
		top + h, top + h);
	fputs("<path class=\"pt\" d=\"", f);
	for (size_t i = 0; i < r->n_rows; i++) {
		const struct report_row *w = &r->rows[i];

		if (w->counted && w->type == ECO2_REC_TRIP && w->distance_m >= 100) {
			double v = (double)(w->discharge_wh - w->regen_wh) * 100.0 / (double)w->distance_m;
			double x = left + (n > 1 ? (double)k * width / (double)(n - 1) : width / 2.0);
			double y = top + h - (v - lo) / (max - lo) * h;

			fprintf(f, "M%.1f %.1fh3v3h-3z", x - 1.5, y - 1.5);
			k++;
		}
	}
	fprintf(f, "\"/><text x=\"%d\" y=\"%d\">first trip</text><text x=\"%d\" y=\"%d\" "
		"text-anchor=\"end\">last trip</text></svg>\n", left, top + h + 18, left + width, top + h + 18);
}

int report_write_html(report_t *r, FILE *f, report_progress_fn *progress, void *ctx)
{
	char a[32], b[32], c[32], d[32], e[32], g[32], fl[1024], h[65];
	const struct totals *t = &r->all;
	size_t listed = 0;

	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "style-src 'unsafe-inline'\"><meta name=\"viewport\" content=\"width=device-width\">"
	      "<title>eco2-verify: ", f);
	html_str(f, r->o.input ? r->o.input : "");
	fprintf(f, "</title><style>%s</style></head><body>\n", css);

	/* The verdict first. */
	fprintf(f, "<header id=\"verdict\" class=\"%s\"><h1 id=\"verdict-text\">%s</h1><p>",
		report_ok(r) ? "ok" : "fail", report_ok(r) ? "Verified" : "Failed");
	if (report_ok(r))
		fprintf(f, "All %zu records verified against the device key%s.", r->n_rows,
			r->warned_rows ? "; some carry warnings, listed below" : "");
	else
		fprintf(f, "%zu problem%s found; %zu of %zu records verified and counted.",
			r->problems.total, r->problems.total == 1 ? "" : "s", t->records, r->n_rows);
	fputs("</p><p>", f);
	html_str(f, r->o.input ? r->o.input : "");
	fprintf(f, " &middot; key %s <code>%s</code></p></header>\n", alg_name(r->alg), r->kid);

	fputs("<section id=\"totals\"><h2>Totals</h2><p>Verified records only.</p><table>", f);
	html_th(f, totals_cols, totals_num, ARRAY_SIZE(totals_cols));
	fputs("<tbody>", f);
	html_totals_row(f, "all", t);
	fputs("</tbody></table>", f);
	if (t->have_time)
		fprintf(f, "<p>From %s to %s; %s kWh out of the pack, %s kWh regenerated.</p>",
			iso(t->first_s, a), iso(t->last_s, b), milli(t->discharge_wh, c),
			milli(t->regen_wh, d));
	fputs("</section>\n", f);

	fprintf(f, "<section id=\"daily\"><h2>Per day</h2><p>A record belongs to the day it starts (%s).</p>",
		tz_label(r));
	html_daily_chart(f, r);
	fputs("<table id=\"days\">", f);
	html_th(f, totals_cols, totals_num, ARRAY_SIZE(totals_cols));
	fputs("<tbody>", f);
	for (size_t i = 0; i < r->n_days; i++)
		html_totals_row(f, day_str(r->days[i].key, a), &r->days[i].t);
	fputs("</tbody></table></section>\n", f);

	fputs("<section id=\"efficiency\"><h2>Energy per 100 km, per trip</h2>", f);
	html_energy_chart(f, r);
	fputs("</section>\n", f);

	fputs("<section id=\"vehicles\"><h2>Per vehicle</h2><table>", f);
	html_th(f, totals_cols, totals_num, ARRAY_SIZE(totals_cols));
	fputs("<tbody>", f);
	for (size_t i = 0; i < r->n_vehicles; i++)
		html_totals_row(f, r->vehicles[i].key ? r->vins[r->vehicles[i].key] : "(no VIN)",
				&r->vehicles[i].t);
	fputs("</tbody></table></section>\n", f);

	/* Flags and what they mean, then the records that carry them. */
	fputs("<section id=\"flagged\"><h2>Flagged records</h2>"
	      "<table id=\"flag-meanings\"><thead><tr><th>flag</th><th class=\"n\">records</th>"
	      "<th>what it means for the credit</th></tr></thead><tbody>", f);
	for (unsigned bit = 0; bit < ECO2_FLAG_BITS; bit++)
		if (r->flag_count[bit])
			fprintf(f, "<tr><td><code>%s</code></td><td class=\"n\">%" PRIu64 "</td><td>%s</td></tr>",
				record_flag_name(bit), r->flag_count[bit], rules_flag_meaning(bit));
	fputs("</tbody></table><table id=\"flagged-records\"><thead><tr><th class=\"n\">seq</th>"
	      "<th>flags</th><th>verdict</th><th>findings</th></tr></thead><tbody>", f);
	for (size_t i = 0; i < r->n_rows && listed < FLAGGED_HTML_MAX; i++) {
		const struct report_row *w = &r->rows[i];
		size_t lo, hi, wlo, whi;

		if (!w->decoded || (!w->flags && w->counted && !w->warnings))
			continue;
		listed++;
		fprintf(f, "<tr class=\"%s\"><td class=\"n\">%" PRIu64 "</td><td>",
			w->counted ? (w->warnings ? "warned" : "") : "failed", w->seq);
		html_str(f, flags_str(w->flags, ", ", fl, sizeof(fl)));
		fprintf(f, "</td><td>%s</td><td>", verdict_of(w));
		notes_for(&r->problems, w->seq, &lo, &hi);
		notes_for(&r->warnings, w->seq, &wlo, &whi);
		for (size_t k = lo; k < hi; k++) {
			fputs("<div>", f);
			html_str(f, r->problems.v[k].reason);
			fputs("</div>", f);
		}
		for (size_t k = wlo; k < whi; k++) {
			fputs("<div>warning: ", f);
			html_str(f, r->warnings.v[k].reason);
			fputs("</div>", f);
		}
		fputs("</td></tr>\n", f);
	}
	fputs("</tbody></table>", f);
	if (listed == FLAGGED_HTML_MAX)
		fprintf(f, "<p>The first %d are listed; the records table below has them all.</p>",
			FLAGGED_HTML_MAX);
	fputs("</section>\n", f);

	fprintf(f, "<section id=\"problems\"><h2>Problems (%zu)</h2>", r->problems.total);
	if (r->problems.n) {
		fputs("<table><thead><tr><th class=\"n\">seq</th><th>code</th><th>reason</th></tr></thead><tbody>", f);
		for (size_t i = 0; i < r->problems.n; i++) {
			fprintf(f, "<tr class=\"failed\"><td class=\"n\">%" PRIu64 "</td><td><code>",
				r->problems.v[i].seq);
			html_str(f, r->problems.v[i].code);
			fputs("</code></td><td>", f);
			html_str(f, r->problems.v[i].reason);
			fputs("</td></tr>\n", f);
		}
		fputs("</tbody></table>", f);
		if (r->problems.total > r->problems.n)
			fprintf(f, "<p>The first %zu are listed.</p>", r->problems.n);
	} else {
		fputs("<p>None.</p>", f);
	}
	fputs("</section>\n", f);

	fputs("<section id=\"parameters\"><h2>Parameters used</h2><table><thead><tr><th>method</th>"
	      "<th class=\"n\">baseline mg/km</th><th class=\"n\">grid mg/kWh</th>"
	      "<th class=\"n\">charge efficiency &permil;</th><th class=\"n\">T&amp;D loss &permil;</th>"
	      "<th class=\"n\">records</th><th>seqs</th><th>approved</th></tr></thead><tbody>", f);
	for (size_t i = 0; i < r->n_psets; i++) {
		const struct pset *p = &r->psets[i];

		fputs("<tr><td>", f);
		html_str(f, p->method);
		fprintf(f, "</td><td class=\"n\">%" PRId64 "</td><td class=\"n\">%" PRId64 "</td>"
			"<td class=\"n\">%" PRId64 "</td><td class=\"n\">%" PRId64 "</td><td class=\"n\">%zu</td>"
			"<td>%" PRIu64 " to %" PRIu64 "</td><td>%s</td></tr>", p->baseline_mg_per_km,
			p->grid_mg_per_kwh, p->charge_eff_permille, p->td_loss_permille, p->rows,
			p->first_seq, p->last_seq,
			!r->approved ? "not checked (no --require-params)" :
			p->refused ? (p->approved ? "not for every period" : "no") : "yes");
	}
	fputs("</tbody></table>", f);
	if (r->approved) {
		fputs("<h3>Approved (", f);
		html_str(f, r->approved->name);
		fputs(")</h3><table><thead><tr><th>from</th><th>to</th><th>method</th><th class=\"n\">baseline</th>"
		      "<th class=\"n\">grid</th><th class=\"n\">efficiency</th><th class=\"n\">T&amp;D</th>"
		      "<th>software</th></tr></thead><tbody>", f);
		for (size_t i = 0; i < r->approved->n; i++) {
			const struct approved_period *p = &r->approved->p[i];

			fprintf(f, "<tr><td>%s</td><td>%s</td><td>", iso(p->from_s, a), iso(p->to_s, b));
			html_str(f, p->method);
			fprintf(f, "</td><td class=\"n\">%" PRId64 "</td><td class=\"n\">%" PRId64 "</td>"
				"<td class=\"n\">%" PRId64 "</td><td class=\"n\">%" PRId64 "</td><td>",
				p->baseline_mg_per_km, p->grid_mg_per_kwh, p->charge_eff_permille,
				p->td_loss_permille);
			for (unsigned k = 0; k < p->n_software; k++) {
				fputs(k ? ", " : "", f);
				html_str(f, p->software[k]);
			}
			fputs(p->n_software ? "</td></tr>" : "any</td></tr>", f);
		}
		fputs("</tbody></table>", f);
	}
	fputs("<h3>Software and vehicle profile</h3><table><thead><tr><th>format</th><th>software</th>"
	      "<th>profile SHA-256</th><th class=\"n\">records</th></tr></thead><tbody>", f);
	for (size_t i = 0; i < r->n_origins; i++) {
		const struct origin *o = &r->origins[i];

		fprintf(f, "<tr><td>version %u</td><td>", o->version);
		if (o->version >= 2) {
			html_str(f, o->software);
			hex_encode(o->profile, 32, h);
			fprintf(f, "</td><td><code>%s</code>", h);
		} else {
			fputs("(not named)</td><td>(not named)", f);
		}
		fprintf(f, "</td><td class=\"n\">%zu</td></tr>", o->rows);
	}
	fputs("</tbody></table></section>\n", f);

	fputs("<section id=\"key\"><h2>Key and certificate</h2><dl>", f);
	fprintf(f, "<dt>algorithm</dt><dd>%s</dd><dt>kid</dt><dd><code>%s</code></dd>"
		"<dt>public key</dt><dd><code>%s</code></dd><dt>from</dt><dd>%s</dd>"
		"<dt>verified with</dt><dd>%s</dd>", alg_name(r->alg), r->kid, r->pub,
		r->source ? r->source : "", r->backend ? r->backend : "");
	if (r->have_cert) {
		fputs("<dt>certificate</dt><dd>", f);
		html_str(f, r->cert.subject);
		fputs("</dd><dt>issuer</dt><dd>", f);
		html_str(f, r->cert.issuer);
		fputs("</dd><dt>serial</dt><dd><code>", f);
		html_str(f, r->cert.serial);
		fprintf(f, "</code></dd><dt>valid</dt><dd>%s to %s</dd><dt>checked</dt><dd>%s%s</dd>"
			"<dt>verdict</dt><dd id=\"cert-verdict\">%s", iso(r->cert.not_before_s, a),
			iso(r->cert.not_after_s, b),
			r->cert_at_s == X509_AT_RECORDS ? "at each record's time" : "at ",
			r->cert_at_s == X509_AT_RECORDS ? "" : iso(r->cert_at_s, c),
			r->cert_ok ? "chains to the CA" : "FAILED: ");
		if (!r->cert_ok)
			html_str(f, r->cert_problem);
		fputs("</dd>", f);
	}
	fputs("</dl></section>\n", f);

	fprintf(f, "<section id=\"records\"><h2>Records (%zu)</h2><table id=\"record-table\">", r->n_rows);
	{
		static const char *const cols[] = { "seq", "type", "start (UTC)", "end (UTC)", "km",
						    "kWh out", "kWh regen", "kWh charged", "g CO2",
						    "flags", "verdict" };
		static const bool num[] = { true, false, false, false, true, true, true, true, true,
					    false, false };

		html_th(f, cols, num, ARRAY_SIZE(cols));
	}
	fputs("<tbody>\n", f);
	for (size_t i = 0; i < r->n_rows; i++) {
		const struct report_row *w = &r->rows[i];

		if (progress && i % PROGRESS_EVERY == 0)
			progress(ctx, i, r->n_rows);
		if (!w->decoded) {
			fputs("<tr class=\"failed\"><td>?</td><td colspan=\"9\">not a readable "
			      "record</td><td>FAILED</td></tr>\n", f);
			continue;
		}
		/* 100,000 rows make most of the page: the cells carry no
		 * attributes (the style aligns the numeric columns). */
		fprintf(f, "<tr%s><td>%" PRIu64 "</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
			"<td>%s</td><td>%s</td><td>%s</td><td>%" PRId64 "</td><td>%s</td><td>%s</td></tr>\n",
			w->counted ? (w->warnings ? " class=\"warned\"" : "") : " class=\"failed\"",
			w->seq, type_name(w), iso(w->start_s, a), iso(w->end_s, b),
			milli(w->distance_m, c), milli(w->discharge_wh, d), milli(w->regen_wh, e),
			milli(w->charged_wh, g), w->co2_g, flags_str(w->flags, ", ", fl, sizeof(fl)),
			verdict_of(w));
	}
	if (progress)
		progress(ctx, r->n_rows, r->n_rows);
	fputs("</tbody></table></section>\n<footer>", f);
	html_str(f, r->o.generator ? r->o.generator : "eco2-verify");
	fputs(". The rules are those of docs/record-format.md; flag meanings those of "
	      "docs/methodology.md.</footer></body></html>\n", f);
	return fflush(f) || ferror(f) ? -EIO : 0;
}
