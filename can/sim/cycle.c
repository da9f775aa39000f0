/* cycle — drive-cycle CSV parser (see cycle.h). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/file.h"
#include "lib/log.h"
#include "can/sim/cycle.h"

#define MAX_FILE_BYTES   (64u << 20)
#define MAX_ERRORS       20   /* then one summary line */

struct cycle {
	struct cycle_point *pts;
	size_t n, cap;
};

struct parser {
	const char *name;
	size_t line;
	unsigned errors;
};

__printf(3, 4)
static void perr(struct parser *ps, size_t col, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	ps->errors++;
	if (ps->errors > MAX_ERRORS)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_err("%s:%zu:%zu: %s", ps->name, ps->line, col, msg);
}

/* A decimal number from s[0..len): digits, one optional point, an optional
 * exponent; no sign (times and speeds are never negative: a '-' gets its
 * own message), no inf/nan, no hex. */
static int parse_number(const char *s, size_t len, double *out)
{
	char buf[64];
	char *end;
	size_t i = 0;
	bool digits = false;

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	while (i < len && s[i] >= '0' && s[i] <= '9') {
		i++;
		digits = true;
	}
	if (i < len && s[i] == '.') {
		i++;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			i++;
			digits = true;
		}
	}
	if (!digits)
		return -EINVAL;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= len || s[i] < '0' || s[i] > '9')
			return -EINVAL;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i != len)
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	*out = strtod(buf, &end);
	if (errno || end != buf + len || !isfinite(*out))
		return -EINVAL;
	return 0;
}

static int push(struct cycle *c, double t_s, double v)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct cycle_point *p;

		if (cap > CYCLE_MAX_POINTS)
			cap = CYCLE_MAX_POINTS;
		p = realloc(c->pts, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		c->pts = p;
		c->cap = cap;
	}
	c->pts[c->n].t_s = t_s;
	c->pts[c->n].speed_kmh = v;
	c->n++;
	return 0;
}

/* One field of a sample line: [s, s+len) at column col. */
static bool field(struct parser *ps, const char *s, size_t len, size_t col,
		  const char *what, double max, double *out)
{
	if (len > 0 && s[0] == '-') {
		perr(ps, col, "%s: expected a number >= 0, got a negative one", what);
		return false;
	}
	if (parse_number(s, len, out)) {
		perr(ps, col, "%s: expected a decimal number, got \"%.*s\"", what,
		     (int)(len > 32 ? 32 : len), s);
		return false;
	}
	if (*out > max) {
		perr(ps, col, "%s: %g is out of range (at most %g)", what, *out, max);
		return false;
	}
	return true;
}

int cycle_parse(const char *name, const char *text, size_t len, cycle_t **out)
{
	struct parser ps = { .name = name ? name : "<cycle>" };
	struct cycle *c;
	size_t pos = 0;
	bool header_ok = true;
	int ret = -ENOMEM;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		goto out;
	while (pos < len) {
		const char *l = text + pos;
		const char *nl = memchr(l, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - l) : len - pos;
		size_t i = 0, comma;
		double t_s, v;

		pos += ll + (nl ? 1 : 0);
		ps.line++;
		if (ll > 0 && l[ll - 1] == '\r')
			ll--;
		if (memchr(l, '\0', ll)) {
			perr(&ps, (size_t)((const char *)memchr(l, '\0', ll) - l) + 1,
			     "expected text, got a NUL byte");
			continue;
		}
		while (i < ll && (l[i] == ' ' || l[i] == '\t'))
			i++;
		if (i == ll || l[i] == '#')
			continue;
		if (ll - i >= 6 && !memcmp(l + i, "time_s", 6)) {
			size_t j = i + 16;

			if (!header_ok) {
				perr(&ps, i + 1, "expected a sample \"T,V\"; the header comes only before the first sample");
				continue;
			}
			if (ll - i < 16 || memcmp(l + i, "time_s,speed_kmh", 16)) {
				perr(&ps, i + 1, "expected the header \"time_s,speed_kmh\"");
				continue;
			}
			while (j < ll && (l[j] == ' ' || l[j] == '\t'))
				j++;
			if (j != ll) {
				perr(&ps, j + 1, "expected the end of the header line");
				continue;
			}
			header_ok = false;
			continue;
		}
		header_ok = false;
		{
			const char *cm = memchr(l + i, ',', ll - i);

			if (!cm) {
				perr(&ps, ll + 1, "expected \",\" and a speed after the time");
				continue;
			}
			comma = (size_t)(cm - l);
		}
		if (memchr(l + comma + 1, ',', ll - comma - 1)) {
			perr(&ps, (size_t)((const char *)memchr(l + comma + 1, ',', ll - comma - 1) - l) + 1,
			     "expected two fields, got a third");
			continue;
		}
		{
			size_t te = comma, vs = comma + 1, ve = ll;

			while (te > i && (l[te - 1] == ' ' || l[te - 1] == '\t'))
				te--;
			while (vs < ll && (l[vs] == ' ' || l[vs] == '\t'))
				vs++;
			while (ve > vs && (l[ve - 1] == ' ' || l[ve - 1] == '\t'))
				ve--;
			if (!field(&ps, l + i, te - i, i + 1, "time_s", CYCLE_MAX_T_S, &t_s))
				continue;
			if (!field(&ps, l + vs, ve - vs, vs + 1, "speed_kmh", CYCLE_MAX_KMH, &v))
				continue;
			if (c->n > 0 && !(t_s > c->pts[c->n - 1].t_s)) {
				perr(&ps, i + 1, "time_s: expected more than %g (the previous sample), got %g",
				     c->pts[c->n - 1].t_s, t_s);
				continue;
			}
		}
		if (c->n >= CYCLE_MAX_POINTS) {
			perr(&ps, 1, "too many samples (at most %u)", (unsigned)CYCLE_MAX_POINTS);
			break;
		}
		if (push(c, t_s, v))
			goto out;
	}
	if (ps.errors == 0 && c->n < 2) {
		ps.line++;
		perr(&ps, 1, "expected at least two samples, got %zu", c->n);
	}
	if (ps.errors > MAX_ERRORS)
		log_err("%s: %u errors in all", ps.name, ps.errors);
	if (ps.errors) {
		ret = -EINVAL;
		goto out;
	}
	*out = c;
	c = NULL;
	ret = 0;
out:
	cycle_free(c);
	return ret;
}

int cycle_load(const char *path, cycle_t **out)
{
	char *buf = NULL;
	size_t len = 0;
	int ret;

	*out = NULL;
	ret = file_read(path, MAX_FILE_BYTES, 0, NULL, &buf, &len);
	if (!ret)
		ret = cycle_parse(path, buf, len, out);
	free(buf);
	return ret;
}

void cycle_free(cycle_t *c)
{
	if (!c)
		return;
	free(c->pts);
	free(c);
}

size_t cycle_count(const cycle_t *c)
{
	return c->n;
}

const struct cycle_point *cycle_points(const cycle_t *c)
{
	return c->pts;
}

double cycle_duration_s(const cycle_t *c)
{
	return c->n ? c->pts[c->n - 1].t_s - c->pts[0].t_s : 0;
}

double cycle_speed_kmh(const cycle_t *c, double t_s)
{
	size_t lo = 0, hi;
	double t;

	if (c->n == 0)
		return 0;
	t = t_s + c->pts[0].t_s;
	if (t < c->pts[0].t_s || t > c->pts[c->n - 1].t_s)
		return 0;
	hi = c->n - 1;
	/* invariant: pts[lo].t_s <= t <= pts[hi].t_s */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->pts[mid].t_s <= t)
			lo = mid;
		else
			hi = mid;
	}
	if (hi == lo)
		return c->pts[lo].speed_kmh;
	{
		const struct cycle_point *a = &c->pts[lo], *b = &c->pts[hi];
		double f = (t - a->t_s) / (b->t_s - a->t_s);

		return a->speed_kmh + f * (b->speed_kmh - a->speed_kmh);
	}
}

double cycle_distance_m(const cycle_t *c)
{
	double d = 0;

	for (size_t i = 1; i < c->n; i++)
		d += (c->pts[i - 1].speed_kmh + c->pts[i].speed_kmh) / 2 / 3.6 *
		     (c->pts[i].t_s - c->pts[i - 1].t_s);
	return d;
}
