/* approved — approved methodology parameters per period (INI, libinih). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ini.h>

#include "lib/bytes.h"
#include "lib/file.h"
#include "lib/ini_lines.h"
#include "lib/log.h"
#include "crypto/approved.h"

#define APPROVED_FILE_MAX ((size_t)1 << 20)

/* Keys of a period, as bits of `seen`. */
enum { K_METHOD, K_BASELINE, K_GRID, K_EFF, K_TD, K_SOFTWARE, K_PROFILE, K_N };
static const char *const keys[K_N] = {
	"method", "baseline_mg_per_km", "grid_mg_per_kwh", "charge_eff_permille",
	"td_loss_permille", "software", "profile_sha256",
};
#define REQUIRED ((1u << K_SOFTWARE) - 1)

struct pstate {
	struct approved *a;
	struct ini_lines in;
	struct approved_period *cur;
	char section[INI_MAX_LINE + 1];   /* the section of cur */
	unsigned seen;                /* keys of cur set */
	unsigned errors;
	bool in_period;               /* false before the first key */
	bool oom;
};

static void perr(struct pstate *st, unsigned line, const char *fmt, ...) __printf(3, 4);
static void perr(struct pstate *st, unsigned line, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_err("%s:%u: %s", st->a->name, line, msg);
	st->errors++;
}

/* "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ" to UTC seconds. */
static int parse_time(const char *s, size_t n, int64_t *out)
{
	struct tm tm = { 0 };
	char buf[32];
	const char *end;
	time_t t;

	if (n != 10 && n != 20)
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = 0;
	end = strptime(buf, n == 10 ? "%Y-%m-%d" : "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return -EINVAL;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*out = (int64_t)t;
	return 0;
}

static int parse_int(const char *v, int64_t lo, int64_t hi, int64_t *out)
{
	char *end;
	long long x;

	errno = 0;
	x = strtoll(v, &end, 10);
	if (errno || end == v || *end || x < lo || x > hi)
		return -EINVAL;
	*out = x;
	return 0;
}

/* The line of the section header above the current line: libinih tells
 * of a section with its first key only. */
static unsigned header_line(const struct pstate *st)
{
	const char *b = st->in.buf;
	size_t i = 0, n = st->in.len;
	unsigned line = 1, last = st->in.line;

	while (i < n && line <= st->in.line) {
		size_t j = i;

		while (j < n && (b[j] == ' ' || b[j] == '\t'))
			j++;
		if (j < n && b[j] == '[')
			last = line;
		while (i < n && b[i] != '\n')
			i++;
		i++;
		line++;
	}
	return last;
}

/* The period just read: every required key given. */
static void close_period(struct pstate *st)
{
	if (!st->cur || (st->seen & REQUIRED) == REQUIRED)
		return;
	for (unsigned k = 0; k < K_SOFTWARE; k++)
		if (!(st->seen & (1u << k)))
			perr(st, st->cur->line, "[%s]: %s is required", st->section, keys[k]);
}

/* "[period FROM TO]" */
static void on_section(struct pstate *st, const char *section)
{
	struct approved *a = st->a;
	struct approved_period *p, *np;
	const char *f, *t;
	size_t fl, tl;
	unsigned line = header_line(st);

	close_period(st);
	st->in_period = true;
	st->seen = 0;
	snprintf(st->section, sizeof(st->section), "%s", section);
	if (strncmp(section, "period ", 7)) {
		perr(st, line, "[%s]: expected [period FROM TO]", section);
		st->cur = NULL;
		return;
	}
	f = section + 7;
	fl = strcspn(f, " ");
	t = f + fl + strspn(f + fl, " ");
	tl = strcspn(t, " ");
	if (a->n == APPROVED_PERIODS_MAX) {
		perr(st, line, "more than %d periods", APPROVED_PERIODS_MAX);
		st->cur = NULL;
		return;
	}
	np = realloc(a->p, (a->n + 1) * sizeof(*a->p));
	if (!np) {
		st->oom = true;
		st->cur = NULL;
		return;
	}
	a->p = np;
	p = &a->p[a->n++];
	memset(p, 0, sizeof(*p));
	p->line = line;
	st->cur = p;
	if (parse_time(f, fl, &p->from_s) || parse_time(t, tl, &p->to_s) || t[tl]) {
		perr(st, line, "[%s]: expected [period FROM TO], each YYYY-MM-DD or "
		     "YYYY-MM-DDTHH:MM:SSZ (UTC)", section);
		return;
	}
	if (p->to_s <= p->from_s)
		perr(st, line, "[%s]: the period ends before it begins", section);
}

/* A comma-separated list into the period's software or profile list. */
static void on_list(struct pstate *st, unsigned k, const char *value)
{
	struct approved_period *p = st->cur;
	const char *v = value;

	while (*v) {
		size_t n;

		v += strspn(v, " \t,");
		n = strcspn(v, ",");
		while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			n--;
		if (!n)
			break;
		if ((k == K_SOFTWARE ? p->n_software : p->n_profile) == APPROVED_LIST_MAX) {
			perr(st, st->in.line, "%s: at most %d entries", keys[k], APPROVED_LIST_MAX);
			return;
		}
		if (k == K_SOFTWARE) {
			if (n >= ECO2_SOFTWARE_MAX) {
				perr(st, st->in.line, "software: \"%.*s\" is longer than %d characters",
				     (int)n, v, ECO2_SOFTWARE_MAX - 1);
				return;
			}
			memcpy(p->software[p->n_software], v, n);
			p->software[p->n_software++][n] = 0;
		} else {
			if (hex_decode(v, n, p->profile[p->n_profile], 32)) {
				perr(st, st->in.line, "profile_sha256: \"%.*s\" is not 64 hex digits",
				     (int)(n > 70 ? 70 : n), v);
				return;
			}
			p->n_profile++;
		}
		v += n;
	}
}

static int on_value(void *user, const char *section, const char *name, const char *value)
{
	struct pstate *st = user;
	struct approved_period *p = st->cur;
	unsigned k;

	if (!*section) {
		perr(st, st->in.line, "%s: outside a [period FROM TO] section", name);
		return 1;
	}
	if (!st->in_period || strcmp(section, st->section)) {
		on_section(st, section);
		if (st->oom)
			return 0;
		p = st->cur;
	}
	if (!p)
		return 1;              /* its header was reported */
	for (k = 0; k < K_N && strcmp(name, keys[k]); k++)
		;
	if (k == K_N) {
		perr(st, st->in.line, "%s: unknown key (expected method, baseline_mg_per_km, "
		     "grid_mg_per_kwh, charge_eff_permille, td_loss_permille, software or "
		     "profile_sha256)", name);
		return 1;
	}
	/* software and profile_sha256 may take several lines */
	if ((st->seen & (1u << k)) && k < K_SOFTWARE) {
		perr(st, st->in.line, "%s: given twice in this period", name);
		return 1;
	}
	st->seen |= 1u << k;
	switch (k) {
	case K_METHOD:
		if (!*value || strlen(value) >= sizeof(p->method))
			perr(st, st->in.line, "method: 1 to %zu characters expected",
			     sizeof(p->method) - 1);
		else
			snprintf(p->method, sizeof(p->method), "%s", value);
		break;
	case K_BASELINE:
	case K_GRID:
	case K_EFF:
	case K_TD: {
		int64_t *dst = k == K_BASELINE ? &p->baseline_mg_per_km :
			       k == K_GRID ? &p->grid_mg_per_kwh :
			       k == K_EFF ? &p->charge_eff_permille : &p->td_loss_permille;
		int64_t lo = k == K_EFF ? 1 : 0, hi = k >= K_EFF ? 1000 : 10000000;

		if (parse_int(value, lo, hi, dst))
			perr(st, st->in.line, "%s: an integer from %" PRId64 " to %" PRId64
			     " expected, not \"%s\"", name, lo, hi, value);
		break;
	}
	default:
		on_list(st, k, value);
		break;
	}
	return 1;
}

static void too_long(void *ctx, unsigned line, int max)
{
	perr(ctx, line, "line longer than %d characters", max);
}

static int by_from(const void *x, const void *y)
{
	const struct approved_period *a = x, *b = y;

	return a->from_s < b->from_s ? -1 : a->from_s > b->from_s;
}

int approved_parse(struct approved *a, const char *name, const char *text, size_t len)
{
	struct pstate st = { .a = a };
	int r;

	memset(a, 0, sizeof(*a));
	snprintf(a->name, sizeof(a->name), "%s", name);
	st.in.buf = text;
	st.in.len = len;
	st.in.too_long = too_long;
	st.in.ctx = &st;
	r = ini_parse_stream(ini_lines_read, &st.in, on_value, &st);
	if (st.oom || r < 0) {
		approved_free(a);
		return -ENOMEM;
	}
	if (r > 0)
		perr(&st, (unsigned)r, "expected '[period FROM TO]' or 'key = value'");
	close_period(&st);
	if (!a->n && !st.errors)
		perr(&st, st.in.line, "no [period FROM TO] section");
	if (a->n > 1)
		qsort(a->p, a->n, sizeof(*a->p), by_from);
	for (size_t i = 1; i < a->n; i++)
		if (a->p[i].from_s < a->p[i - 1].to_s)
			perr(&st, a->p[i].line, "this period overlaps the one on line %u",
			     a->p[i - 1].line);
	if (st.errors) {
		approved_free(a);
		return -EINVAL;
	}
	return 0;
}

int approved_load(struct approved *a, const char *path)
{
	char *text = NULL;
	size_t len = 0;
	int ret;

	memset(a, 0, sizeof(*a));
	ret = file_read(path, APPROVED_FILE_MAX, FILE_STREAM, "approved parameters", &text, &len);
	if (ret)
		return ret;
	ret = approved_parse(a, path, text, len);
	free(text);
	return ret;
}

void approved_free(struct approved *a)
{
	if (!a)
		return;
	free(a->p);
	a->p = NULL;
	a->n = 0;
}

const struct approved_period *approved_find(const struct approved *a, int64_t t)
{
	size_t lo = 0, hi = a->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (a->p[mid].to_s <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < a->n && a->p[lo].from_s <= t ? &a->p[lo] : NULL;
}

int approved_check(const struct approved *a, const struct eco2_record *r, char *why,
		   size_t why_len)
{
	const struct approved_period *p = approved_find(a, r->start_s);
	char h[65];
	bool ok;

	if (!p) {
		snprintf(why, why_len, "no approved parameters in %s for a record starting at %" PRId64,
			 a->name, r->start_s);
		return -ENOENT;
	}
#define DIFF(field, label)                                                                  \
	if (r->field != p->field) {                                                         \
		snprintf(why, why_len, label " %" PRId64 ", approved %" PRId64 " (%s:%u)",       \
			 r->field, p->field, a->name, p->line);                              \
		return -EDOM;                                                               \
	}
	if (strcmp(r->method, p->method)) {
		snprintf(why, why_len, "methodology \"%s\", approved \"%s\" (%s:%u)", r->method,
			 p->method, a->name, p->line);
		return -EDOM;
	}
	DIFF(baseline_mg_per_km, "baseline_mg_per_km")
	DIFF(grid_mg_per_kwh, "grid_mg_per_kwh")
	DIFF(charge_eff_permille, "charge_eff_permille")
	DIFF(td_loss_permille, "td_loss_permille")
#undef DIFF
	if (p->n_software) {
		ok = false;
		for (unsigned i = 0; i < p->n_software && !ok; i++)
			ok = r->version >= 2 && !strcmp(r->software, p->software[i]);
		if (!ok) {
			snprintf(why, why_len, "software \"%s\" is not approved (%s:%u)",
				 r->version >= 2 ? r->software : "(none: a version 1 record)",
				 a->name, p->line);
			return -EDOM;
		}
	}
	if (p->n_profile) {
		ok = false;
		for (unsigned i = 0; i < p->n_profile && !ok; i++)
			ok = r->version >= 2 && !memcmp(r->profile_sha256, p->profile[i], 32);
		if (!ok) {
			hex_encode(r->profile_sha256, 32, h);
			snprintf(why, why_len, "vehicle profile %s is not approved (%s:%u)",
				 r->version >= 2 ? h : "(none: a version 1 record)", a->name, p->line);
			return -EDOM;
		}
	}
	return 0;
}
