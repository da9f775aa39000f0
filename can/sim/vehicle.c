/* vehicle — longitudinal EV model (see vehicle.h). */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "can/sim/vehicle.h"

#define G_MS2 9.80665

void vehicle_params_default(struct vehicle_params *p)
{
	/* 96 NMC cells in series, 3.30 V empty to 4.18 V full. */
	static const double ocv[VEHICLE_OCV_POINTS] = {
		316.8, 340.8, 347.5, 353.3, 359.0, 364.8, 371.5, 379.2, 386.9, 393.6, 401.3,
	};

	memset(p, 0, sizeof(*p));
	p->mass_kg = 1850;
	p->inertia_factor = 1.03;
	p->cda_m2 = 0.616;          /* Cd 0.28 x 2.2 m^2 */
	p->crr = 0.009;
	p->air_density = 1.2;
	p->drive_eff = 0.88;
	p->regen_eff = 0.75;
	p->regen_max_w = 60000;
	p->aux_w = 500;
	p->aux_parked_w = 200;
	p->capacity_ah = 170;       /* about 60 kWh */
	p->r_ohm = 0.096;           /* 1 mOhm a cell */
	memcpy(p->ocv_v, ocv, sizeof(ocv));
	p->soc_start = 0.9;
}

static const struct {
	const char *key;
	size_t off;
	double min, max;
} params[] = {
#define P(k, lo, hi) { #k, offsetof(struct vehicle_params, k), lo, hi }
	P(mass_kg, 1, 100000),
	P(inertia_factor, 1, 2),
	P(cda_m2, 0, 20),
	P(crr, 0, 0.1),
	P(air_density, 0, 2),
	P(drive_eff, 0.01, 1),
	P(regen_eff, 0, 1),
	P(regen_max_w, 0, 1e7),
	P(aux_w, 0, 1e5),
	P(aux_parked_w, 0, 1e5),
	P(capacity_ah, 0.1, 1e5),
	P(r_ohm, 1e-6, 10),
	P(soc_start, 0, 1),
#undef P
};

static int parse_double(const char *s, double min, double max, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(*out) || *out < min || *out > max)
		return -EINVAL;
	return 0;
}

int vehicle_param_set(struct vehicle_params *p, const char *key, const char *value)
{
	if (!strcmp(key, "ocv_v")) {
		double v[VEHICLE_OCV_POINTS];
		const char *s = value;

		for (int i = 0; i < VEHICLE_OCV_POINTS; i++) {
			char buf[32];
			size_t n = strcspn(s, ",");

			if (n == 0 || n >= sizeof(buf))
				return -EINVAL;
			memcpy(buf, s, n);
			buf[n] = '\0';
			if (parse_double(buf, 1, 2000, &v[i]))
				return -EINVAL;
			if (i > 0 && v[i] < v[i - 1])
				return -EINVAL;   /* OCV rises with SOC */
			s += n;
			if (i < VEHICLE_OCV_POINTS - 1) {
				if (*s != ',')
					return -EINVAL;
				s++;
			}
		}
		if (*s)
			return -EINVAL;
		memcpy(p->ocv_v, v, sizeof(v));
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(params); i++) {
		double d;

		if (strcmp(key, params[i].key))
			continue;
		if (parse_double(value, params[i].min, params[i].max, &d))
			return -EINVAL;
		memcpy((char *)p + params[i].off, &d, sizeof(d));
		return 0;
	}
	return -ENOENT;
}

void vehicle_params_print(const struct vehicle_params *p, FILE *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(params); i++) {
		double d;

		memcpy(&d, (const char *)p + params[i].off, sizeof(d));
		fprintf(out, "%s = %g\n", params[i].key, d);
	}
	fprintf(out, "ocv_v = ");
	for (int i = 0; i < VEHICLE_OCV_POINTS; i++)
		fprintf(out, "%s%g", i ? "," : "", p->ocv_v[i]);
	fprintf(out, "\n");
}

double vehicle_ocv(const struct vehicle_params *p, double soc)
{
	double x;
	int i;

	if (!(soc > 0))
		return p->ocv_v[0];
	if (soc >= 1)
		return p->ocv_v[VEHICLE_OCV_POINTS - 1];
	x = soc * (VEHICLE_OCV_POINTS - 1);
	i = (int)x;
	return p->ocv_v[i] + (x - i) * (p->ocv_v[i + 1] - p->ocv_v[i]);
}

void vehicle_init(struct vehicle *v, const struct vehicle_params *p)
{
	memset(v, 0, sizeof(*v));
	v->p = *p;
	v->soc = p->soc_start;
	v->ocv_v = vehicle_ocv(p, v->soc);
	v->v_term_v = v->ocv_v;
}

/* Draw pack power p_w (+ = out) for dt_s; returns the power delivered,
 * which is less than asked only beyond the pack's maximum (OCV^2 / 4R). */
static double pack_draw(struct vehicle *v, double p_w, double dt_s)
{
	double ocv = vehicle_ocv(&v->p, v->soc), r = v->p.r_ohm;
	double disc = ocv * ocv - 4 * r * p_w, i, vt, h = dt_s / 3600;

	if (disc < 0)
		disc = 0;
	/* The root with the small current: (ocv - sqrt(disc)) / 2r, written
	 * to stay exact when p_w is near zero. */
	i = 2 * p_w / (ocv + sqrt(disc));
	vt = ocv - i * r;
	v->ocv_v = ocv;
	v->i_a = i;
	v->v_term_v = vt;
	v->p_pack_w = vt * i;
	v->chem_wh += ocv * i * h;
	v->loss_wh += i * i * r * h;
	v->soc -= i * dt_s / 3600 / v->p.capacity_ah;
	return v->p_pack_w;
}

void vehicle_drive(struct vehicle *v, double speed_ms, double dt_s)
{
	const struct vehicle_params *p = &v->p;
	double v0 = v->speed_ms, v1 = speed_ms < 0 ? 0 : speed_ms;
	double vm = (v0 + v1) / 2, a, f, pw, pp, got, h = dt_s / 3600;

	if (!(dt_s > 0))
		return;
	a = (v1 - v0) / dt_s;
	f = p->mass_kg * p->inertia_factor * a + 0.5 * p->air_density * p->cda_m2 * vm * vm;
	if (vm > 0)
		f += p->crr * p->mass_kg * G_MS2;
	pw = f * vm;
	if (pw >= 0) {
		pp = pw / p->drive_eff + p->aux_w;
		v->wheel_pos_wh += pw * h;
	} else {
		double back = -pw * p->regen_eff;

		if (back > p->regen_max_w)
			back = p->regen_max_w;
		pp = -back + p->aux_w;
		v->wheel_neg_wh += -pw * h;
	}
	got = pack_draw(v, pp, dt_s);
	if (got >= 0)
		v->discharge_wh += got * h;
	else
		v->regen_wh += -got * h;
	v->odo_m += vm * dt_s;
	v->speed_ms = v1;
}

void vehicle_charge(struct vehicle *v, double charger_w, double dt_s)
{
	double got;

	if (!(dt_s > 0))
		return;
	v->speed_ms = 0;
	got = pack_draw(v, -charger_w + v->p.aux_parked_w, dt_s);
	if (got < 0)
		v->charged_wh += -got * dt_s / 3600;
}

void vehicle_park(struct vehicle *v, double dt_s)
{
	(void)dt_s;
	v->speed_ms = 0;
	v->i_a = 0;
	v->p_pack_w = 0;
	v->ocv_v = vehicle_ocv(&v->p, v->soc);
	v->v_term_v = v->ocv_v;
}
